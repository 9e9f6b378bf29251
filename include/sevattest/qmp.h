/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QEMU Machine Protocol (QMP): a bounded reader for the JSON stream, a client
 * for QEMU's SEV attestation commands, and a server that answers those
 * commands for a guest of the emulated platform as QEMU would.
 *
 * Wire (docs/interop/qmp-spec.rst): the server greets with
 *   {"QMP": {"version": {"qemu": {"major", "minor", "micro"}, "package"}, "capabilities": [...]}}
 * and accepts nothing but `qmp_capabilities` until it is negotiated.  The
 * client sends {"execute": NAME, "arguments": {...}, "id": ANY}; the server
 * answers {"return": ..., "id": ...} or {"error": {"class", "desc"}, "id": ...}
 * with the id echoed verbatim, and may interleave asynchronous
 * {"event": NAME, "data": {...}, "timestamp": {"seconds", "microseconds"}}.
 *
 * The reader (every byte from the peer goes through sa_qmp_reader_next):
 * messages are JSON objects delimited by their own braces (QEMU's streamer
 * counts braces and brackets, not newlines); whitespace between them is
 * skipped.  Limits: a message at most max_size bytes (default 1 MiB, QEMU's
 * own is 64 MiB), nesting at most max_depth (default 32, QEMU's 1024).
 * A message is rejected (SA_ERR_FORMAT, the message dropped, the stream
 * continues) when it is not valid strict JSON (json-c's strict mode with
 * UTF-8 validation), is not an object at the top level, contains a raw
 * control character or a \u0000 escape inside a string (QEMU rejects both),
 * has a 'single-quoted' string (an extension QEMU accepts; strict JSON not),
 * or has a duplicate key in any object (QEMU's parser rejects duplicates;
 * json-c would keep the last silently, so we count members while scanning).
 * A message over the size or depth limit is SA_ERR_RANGE and poisons the
 * stream: the connection must be closed.
 */
#ifndef SEVATTEST_QMP_H
#define SEVATTEST_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sevattest/emu.h"
#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the reader ----------------------------------------------------------- */

#define SA_QMP_MAX_MESSAGE_DEFAULT (1u << 20)
#define SA_QMP_MAX_DEPTH_DEFAULT 32u

typedef struct sa_qmp_reader {
	uint8_t *buf;       /* bytes received and not yet consumed */
	size_t len, cap;
	size_t max_size;    /* bytes per message */
	unsigned max_depth; /* nesting of objects and arrays */
	bool poisoned;      /* a limit was exceeded: nothing more is read */
} sa_qmp_reader;

/* max_size 0 / max_depth 0: the defaults; max_depth at most 1000. */
void sa_qmp_reader_init(sa_qmp_reader *r, size_t max_size, unsigned max_depth);
void sa_qmp_reader_free(sa_qmp_reader *r);
/*
 * Add n received bytes and take the next whole message, if there is one:
 * *msg receives it (the caller's reference, json_object_put it) or NULL when
 * more bytes are needed.  Call again with n = 0 to take further messages
 * already buffered.  SA_ERR_FORMAT: one malformed message was consumed and
 * dropped (err says why; the next call continues after it).  SA_ERR_RANGE:
 * a limit was exceeded; every later call fails the same way.
 */
SA_MUST_USE sa_status sa_qmp_reader_next(sa_qmp_reader *r, const uint8_t *data, size_t n, json_object **msg,
					 sa_error *err);
/* Bytes buffered after the last whole message (an incomplete message). */
size_t sa_qmp_reader_pending(const sa_qmp_reader *r);

/* ---- the client ------------------------------------------------------------- */

typedef struct sa_qmp sa_qmp;

typedef struct sa_qmp_greeting {
	unsigned major, minor, micro;
	char package[128];
	bool oob; /* "oob" among the capabilities offered (never enabled by us) */
} sa_qmp_greeting;

/* QEMU's error, as received (class e.g. "GenericError", "CommandNotFound"). */
typedef struct sa_qmp_error {
	char cls[64];
	char desc[SA_ERROR_MSG_MAX - 80];
} sa_qmp_error;

/*
 * Connect to QEMU's QMP unix socket, read the greeting and negotiate
 * capabilities.  timeout_ms (0: 10 s) bounds every wait for the peer.
 * Errors: SA_ERR_IO (connect, read, write, timeout, early close),
 * SA_ERR_FORMAT (a malformed greeting or reply), SA_ERR_RANGE (limits),
 * SA_ERR_STATE (QEMU refused the negotiation: err "CLASS: desc").
 */
SA_MUST_USE sa_status sa_qmp_connect(const char *path, int timeout_ms, sa_qmp **out, sa_error *err);
/* The same over an already connected stream socket (taken over: closed by sa_qmp_close, even on error). */
SA_MUST_USE sa_status sa_qmp_open_fd(int fd, int timeout_ms, sa_qmp **out, sa_error *err);
void sa_qmp_close(sa_qmp *q);
const sa_qmp_greeting *sa_qmp_get_greeting(const sa_qmp *q);

/*
 * Execute a command: args (borrowed, NULL for none) must be an object.  The
 * request carries a fresh id ("sevattest-N"); events and replies with another
 * id read meanwhile are kept as events (a reply to someone else is not ours).
 * *ret (may be NULL) receives the "return" value (the caller's reference).
 * SA_ERR_STATE means QEMU answered with an error, and only that: err->msg is
 * "CLASS: desc" and qerr (may be NULL) receives both parts unchanged.
 */
SA_MUST_USE sa_status sa_qmp_execute(sa_qmp *q, const char *command, json_object *args, json_object **ret,
				     sa_qmp_error *qerr, sa_error *err);

/* Asynchronous events (and replies with ids not ours) received so far, oldest first; at most 64 kept. */
size_t sa_qmp_event_count(const sa_qmp *q);
json_object *sa_qmp_event_get(const sa_qmp *q, size_t i); /* borrowed */
void sa_qmp_events_clear(sa_qmp *q);

/* query-sev: the 7.2 flat shape (sev_type "sev") or the 9.1+ union. */
typedef struct sa_qmp_sev_info {
	bool enabled;
	uint8_t api_major, api_minor, build_id;
	char state[32];     /* "uninit", "launch-update", "launch-secret", "running", ... */
	char sev_type[16];  /* "sev" (also when QEMU does not say, before 9.1) or "sev-snp" */
	uint32_t policy, handle; /* sev */
	uint64_t snp_policy;     /* sev-snp */
} sa_qmp_sev_info;

typedef struct sa_qmp_sev_caps {
	uint8_t *pdh, *cert_chain, *cpu0_id; /* decoded; cpu0_id NULL before QEMU 7.1 */
	size_t pdh_len, cert_chain_len, cpu0_id_len;
	uint32_t cbitpos, reduced_phys_bits;
} sa_qmp_sev_caps;
void sa_qmp_sev_caps_free(sa_qmp_sev_caps *c);

SA_MUST_USE sa_status sa_qmp_query_sev(sa_qmp *q, sa_qmp_sev_info *out, sa_qmp_error *qerr, sa_error *err);
SA_MUST_USE sa_status sa_qmp_query_sev_capabilities(sa_qmp *q, sa_qmp_sev_caps *out, sa_qmp_error *qerr,
						    sa_error *err);
/* The LAUNCH_MEASURE blob (malloc'd). */
SA_MUST_USE sa_status sa_qmp_query_sev_launch_measure(sa_qmp *q, uint8_t **data, size_t *len, sa_qmp_error *qerr,
						      sa_error *err);
/* sev-inject-launch-secret: header and secret base64-encoded by us; gpa only if has_gpa. */
SA_MUST_USE sa_status sa_qmp_sev_inject_launch_secret(sa_qmp *q, const uint8_t *hdr, size_t hdr_len,
						      const uint8_t *secret, size_t secret_len, bool has_gpa,
						      uint64_t gpa, sa_qmp_error *qerr, sa_error *err);
/* query-sev-attestation-report: mnonce (16 bytes) base64-encoded by us; the report (malloc'd). */
SA_MUST_USE sa_status sa_qmp_query_sev_attestation_report(sa_qmp *q, const uint8_t mnonce[16], uint8_t **report,
							  size_t *len, sa_qmp_error *qerr, sa_error *err);
/*
 * query-attestation-report (sevattest's generic command, see the server):
 * mnonce NULL to leave it out.  *ret receives the return object; its "sev"
 * member's "data" is the whole SEV report (sa_qmp_attestation_sev_data).
 */
SA_MUST_USE sa_status sa_qmp_query_attestation_report(sa_qmp *q, const uint8_t *mnonce, json_object **ret,
						      sa_qmp_error *qerr, sa_error *err);
/* The "sev" member's "data", decoded (malloc'd); SA_ERR_NOT_FOUND without a "sev" member. */
SA_MUST_USE sa_status sa_qmp_attestation_sev_data(json_object *ret, uint8_t **report, size_t *len, sa_error *err);

/* ---- the server for emulated guests ------------------------------------------------ */

/*
 * Serve one QMP connection for guest `handle` of the emulated platform (0 or
 * an unknown handle: a VM without SEV) until the peer closes it or sends
 * `quit`, with QEMU 7.2's behaviour and texts.  The greeting says
 * {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": "sevattest-emu"}.
 * Commands: qmp_capabilities, query-commands, query-status, query-version,
 * cont, quit, query-sev, query-sev-capabilities, query-sev-launch-measure,
 * sev-inject-launch-secret, query-sev-attestation-report, and the generic
 * query-attestation-report {mnonce?} -> {sev?: {...}, snp?: {...}}.
 * For an SNP guest query-sev answers with QEMU 9.1's union shape (sev-type
 * "sev-snp", snp-policy), query-sev-attestation-report fails as KVM refuses
 * the legacy command for SNP guests, and the generic command's "snp" carries
 * what the VMM knows (the hypervisor cannot ask SNP firmware for a report):
 * policy, measurement, host-data, the ID and author key digests, and the
 * certificate table served to the guest.
 * An SEV guest still launching (launch-update) gets its LAUNCH_MEASURE when
 * a connection starts, as QEMU takes it at machine-init-done; it then waits
 * in launch-secret ("prelaunch") until `cont` runs LAUNCH_FINISH and sends
 * a RESUME event.  `quit` answers {} and a SHUTDOWN event, then the server
 * returns; the guest itself is left as it is (the daemon owns it).
 * idle_timeout_ms (0: none) ends a connection silent that long.
 * Returns SA_OK when the peer closed or quit, SA_ERR_IO on a socket failure or
 * idle timeout, SA_ERR_RANGE when the peer exceeded the reader's limits.
 * The fd is not closed.
 */
sa_status sa_qmp_serve_emu(int fd, sa_emu *e, uint32_t handle, int idle_timeout_ms, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
