/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A QMP server for one guest of the emulated platform, answering as QEMU 7.2
 * does (see include/sevattest/qmp.h).  QEMU's texts are reproduced where the
 * behaviour is QEMU's; what QEMU cannot do (the generic attestation command)
 * is sevattest's own and documented in the header.
 *
 * Errors QEMU would take from the kernel carry the kernel's return: -5 (EIO)
 * with the firmware status for a firmware failure; -1 (EPERM) and firmware
 * status 0 when KVM refuses a legacy SEV command on an SNP guest (an
 * inference from KVM's code: it accepts only SNP commands once a VM is SNP).
 */
#include "sevattest/qmp.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"
#include "json_internal.h"
#include "qmp_internal.h"
#include "sevattest/encoding.h"
#include "sevattest/sev.h"

/* The QEMU version this server answers as (the semantics of Debian 12's 7.2). */
#define QMP_EMU_MAJOR 7
#define QMP_EMU_MINOR 2
#define QMP_EMU_MICRO 0
#define QMP_EMU_PACKAGE "sevattest-emu"
#define QMP_EMU_CBITPOS 51
#define QMP_EMU_REDUCED_PHYS_BITS 1

#define KERNEL_EIO (-5)
#define KERNEL_EPERM (-1)

/* QEMU 7.2's sev_fw_errlist: firmware status -> text ("unknown error" beyond the table). */
static const char *const fw_errlist[] = {
	"",
	"Platform state is invalid",
	"Guest state is invalid",
	"Platform configuration is invalid",
	"Buffer too small",
	"Platform is already owned",
	"Certificate is invalid",
	"Policy is not allowed",
	"Guest is not active",
	"Invalid address",
	"Bad signature",
	"Bad measurement",
	"ASID is already owned",
	"Invalid ASID",
	"WBINVD is required",
	"DF_FLUSH is required",
	"Guest handle is invalid",
	"Invalid command",
	"Guest is active",
	"Hardware error",
	"Hardware unsafe",
	"Feature not supported",
	"Invalid parameter",
	"Required firmware resource depleted",
	"Part-specific integrity check failure",
};

static const char *fw_error_str(uint32_t code)
{
	return code < SA_ARRAY_LEN(fw_errlist) ? fw_errlist[code] : "unknown error";
}

typedef enum guest_kind { GUEST_NONE, GUEST_SEV, GUEST_SNP } guest_kind;

/* What the VMM knows of an SNP guest (copied under the emulator's lock). */
typedef sa_emu_snp_guest_info snp_info;

typedef struct srv {
	int fd;
	sa_emu *e;
	uint32_t handle;
	bool negotiated;
	bool quit;
	json_object *events[4]; /* queued for after the reply */
	size_t n_events;
} srv;

/* A QMP error reply in the making. */
typedef struct qerr {
	const char *cls;
	char desc[SA_ERROR_MSG_MAX];
} qerr;

static int fail(qerr *q, const char *cls, const char *fmt, ...) SA_PRINTF(3, 4);
static int fail(qerr *q, const char *cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	q->cls = cls;
	vsnprintf(q->desc, sizeof(q->desc), fmt, ap);
	va_end(ap);
	return -1;
}

#define GENERIC "GenericError"
#define NOT_FOUND "CommandNotFound"
#define NOMEM(q) fail((q), GENERIC, "out of memory")

static bool snp_info_get(sa_emu *e, uint32_t handle, snp_info *out)
{
	return sa_emu_snp_guest_info_get(e, handle, out, NULL) == SA_OK;
}

static guest_kind kind_of(const srv *s)
{
	if (s->handle == 0)
		return GUEST_NONE;
	if (sa_emu_is_sev_guest(s->e, s->handle))
		return GUEST_SEV;
	snp_info si;
	return snp_info_get(s->e, s->handle, &si) ? GUEST_SNP : GUEST_NONE;
}

/* The LAUNCH_MEASURE blob QEMU keeps from machine-init-done: MEASURE ‖ MNONCE (LSECRET and later). */
static bool sev_measure_blob(sa_emu *e, uint32_t handle, uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE])
{
	return sa_emu_sev_measure_blob(e, handle, blob, NULL) == SA_OK;
}

/* ---- JSON helpers ------------------------------------------------------------------ */


static json_object *b64_string(const uint8_t *data, size_t len)
{
	char *t = sa_base64_encode(data, len);
	if (t == NULL)
		return NULL;
	json_object *v = json_object_new_string(t);
	free(t);
	return v;
}

static json_object *timestamp_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	json_object *ts = json_object_new_object();
	if (ts == NULL)
		return NULL;
	if (!sa_json_add(ts, "seconds", json_object_new_int64(tv.tv_sec)) ||
	    !sa_json_add(ts, "microseconds", json_object_new_int64(tv.tv_usec))) {
		json_object_put(ts);
		return NULL;
	}
	return ts;
}

/* Queue event name (data may be NULL: QEMU then leaves "data" out). */
static void queue_event(srv *s, const char *name, json_object *data)
{
	json_object *ev = json_object_new_object();
	if (ev == NULL || s->n_events == SA_ARRAY_LEN(s->events) || !sa_json_add(ev, "event", json_object_new_string(name)) ||
	    (data != NULL && !sa_json_add(ev, "data", json_object_get(data))) || !sa_json_add(ev, "timestamp", timestamp_now())) {
		json_object_put(ev);
		json_object_put(data);
		return;
	}
	json_object_put(data);
	s->events[s->n_events++] = ev;
}

/* ---- GLib's lenient base64 (g_base64_decode), as QEMU decodes mnonce and the secret ---- */

/* The rank of c in the base64 alphabet, '=' counting 0 as in GLib; -1 outside. */
static int b64_rank(uint8_t c)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != 0 ? memchr(alphabet, c, sizeof(alphabet) - 1) : NULL;
	return p != NULL ? (int)(p - alphabet) : c == '=' ? 0 : -1;
}

/*
 * Characters outside the alphabet are skipped; every four characters give
 * three bytes, minus one for each of the last two that is '='; a trailing
 * incomplete group is dropped.  out needs len / 4 * 3 bytes.
 */
static size_t glib_base64_decode(const char *text, size_t len, uint8_t *out)
{
	size_t n = 0;
	uint32_t v = 0;
	unsigned i = 0;
	uint8_t last0 = 0, last1 = 0;
	for (size_t k = 0; k < len; k++) {
		uint8_t c = (uint8_t)text[k];
		int rank = b64_rank(c);
		if (rank < 0)
			continue;
		last1 = last0;
		last0 = c;
		v = (v << 6) | (uint32_t)rank;
		if (++i == 4) {
			out[n++] = (uint8_t)(v >> 16);
			if (last1 != '=')
				out[n++] = (uint8_t)(v >> 8);
			if (last0 != '=')
				out[n++] = (uint8_t)v;
			i = 0;
			v = 0;
		}
	}
	return n;
}

/* Decode into a new buffer (free()); NULL on allocation failure. */
static uint8_t *glib_base64_alloc(json_object *str, size_t *out_len)
{
	size_t len = (size_t)json_object_get_string_len(str);
	uint8_t *out = malloc(len / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	*out_len = glib_base64_decode(json_object_get_string(str), len, out);
	return out;
}

/* ---- arguments, checked as QEMU's input visitor does ----------------------------------- */

typedef enum arg_type { ARG_STR, ARG_U64, ARG_STRLIST } arg_type;

typedef struct arg_spec {
	const char *name;
	arg_type type;
	bool optional;
} arg_spec;

static int check_args(json_object *args, const arg_spec *spec, size_t n, qerr *q)
{
	for (size_t i = 0; i < n; i++) {
		json_object *v = NULL;
		if (args == NULL || !json_object_object_get_ex(args, spec[i].name, &v)) {
			if (spec[i].optional)
				continue;
			return fail(q, GENERIC, "Parameter '%s' is missing", spec[i].name);
		}
		switch (spec[i].type) {
		case ARG_STR:
			if (!json_object_is_type(v, json_type_string))
				return fail(q, GENERIC, "Invalid parameter type for '%s', expected: string", spec[i].name);
			break;
		case ARG_U64:
			if (!json_object_is_type(v, json_type_int) ||
			    (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0))
				return fail(q, GENERIC, "Invalid parameter type for '%s', expected: uint64", spec[i].name);
			break;
		case ARG_STRLIST:
			if (!json_object_is_type(v, json_type_array))
				return fail(q, GENERIC, "Invalid parameter type for '%s', expected: array", spec[i].name);
			for (size_t k = 0; k < json_object_array_length(v); k++) {
				if (!json_object_is_type(json_object_array_get_idx(v, k), json_type_string))
					return fail(q, GENERIC,
						    "Invalid parameter type for '%s[%zu]', expected: string",
						    spec[i].name, k);
			}
			break;
		}
	}
	if (args != NULL) {
		json_object_object_foreach(args, key, val)
		{
			(void)val;
			bool known = false;
			for (size_t i = 0; i < n && !known; i++)
				known = strcmp(key, spec[i].name) == 0;
			if (!known)
				return fail(q, GENERIC, "Parameter '%s' is unexpected", key);
		}
	}
	return 0;
}

static json_object *arg(json_object *args, const char *name)
{
	json_object *v = NULL;
	return args != NULL && json_object_object_get_ex(args, name, &v) ? v : NULL;
}

/* ---- commands ----------------------------------------------------------------- */

typedef int (*cmd_fn)(srv *s, json_object *args, json_object **ret, qerr *q);

static int cmd_capabilities(srv *s, json_object *args, json_object **ret, qerr *q)
{
	json_object *en = arg(args, "enable");
	/* The greeting offers no capability, so any asked for is unavailable. */
	if (en != NULL && json_object_array_length(en) > 0)
		return fail(q, GENERIC, "Capability '%s' not available",
			    json_object_get_string(json_object_array_get_idx(en, 0)));
	s->negotiated = true;
	*ret = json_object_new_object();
	return *ret ? 0 : NOMEM(q);
}

static json_object *version_object(void)
{
	json_object *v = json_object_new_object(), *qemu = json_object_new_object();
	if (v == NULL || qemu == NULL || !sa_json_add(qemu, "micro", json_object_new_int(QMP_EMU_MICRO)) ||
	    !sa_json_add(qemu, "minor", json_object_new_int(QMP_EMU_MINOR)) ||
	    !sa_json_add(qemu, "major", json_object_new_int(QMP_EMU_MAJOR))) {
		json_object_put(v);
		json_object_put(qemu);
		return NULL;
	}
	if (!sa_json_add(v, "qemu", qemu) || !sa_json_add(v, "package", json_object_new_string(QMP_EMU_PACKAGE))) {
		json_object_put(v);
		return NULL;
	}
	return v;
}

static int cmd_query_version(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)s;
	(void)args;
	*ret = version_object();
	return *ret ? 0 : NOMEM(q);
}

/* Running as QEMU says it: a SEV guest before LAUNCH_FINISH is paused in "prelaunch". */
static bool vm_running(const srv *s)
{
	sa_emu_sev_guest_info gi;
	sa_error err;
	if (kind_of(s) == GUEST_SEV && sa_emu_sev_guest_info_get(s->e, s->handle, &gi, &err) == SA_OK)
		return gi.state == SA_EMU_SEV_GSTATE_RUNNING;
	return true;
}

static int cmd_query_status(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	bool running = vm_running(s);
	json_object *o = json_object_new_object();
	if (o == NULL || !sa_json_add(o, "status", json_object_new_string(running ? "running" : "prelaunch")) ||
	    !sa_json_add(o, "singlestep", json_object_new_boolean(0)) || !sa_json_add(o, "running", json_object_new_boolean(running))) {
		json_object_put(o);
		return NOMEM(q);
	}
	*ret = o;
	return 0;
}

static int cmd_cont(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	if (!vm_running(s)) {
		uint32_t fw = 0;
		sa_error err;
		/* QEMU's sev_vm_state_change: LAUNCH_FINISH when the guest first runs. */
		if (sa_emu_sev_launch_finish(s->e, s->handle, &fw, &err) != SA_OK)
			return fail(q, GENERIC, "sev_launch_finish: LAUNCH_FINISH ret=%d fw_error=%u '%s'", KERNEL_EIO,
				    fw, fw_error_str(fw));
		queue_event(s, "RESUME", NULL);
	}
	*ret = json_object_new_object();
	return *ret ? 0 : NOMEM(q);
}

static int cmd_quit(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	json_object *data = json_object_new_object();
	if (data == NULL || !sa_json_add(data, "guest", json_object_new_boolean(0)) ||
	    !sa_json_add(data, "reason", json_object_new_string("host-qmp-quit"))) {
		json_object_put(data);
		return NOMEM(q);
	}
	queue_event(s, "SHUTDOWN", data);
	s->quit = true;
	*ret = json_object_new_object();
	return *ret ? 0 : NOMEM(q);
}

static const char *sev_state_name(uint8_t state)
{
	static const char *const names[] = {"uninit", "launch-update", "launch-secret", "running"};
	return state < SA_ARRAY_LEN(names) ? names[state] : "uninit";
}

static int cmd_query_sev(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	sa_error err;
	uint32_t fw = 0;
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NOMEM(q);
	bool ok;
	switch (kind_of(s)) {
	case GUEST_SEV: {
		sa_sev_platform_status ps;
		sa_emu_sev_guest_info gi;
		if (sa_emu_sev_platform_status(s->e, &ps, &fw, &err) != SA_OK ||
		    sa_emu_sev_guest_info_get(s->e, s->handle, &gi, &err) != SA_OK) {
			json_object_put(o);
			return fail(q, GENERIC, "SEV: %s", err.msg);
		}
		/* QEMU 7.2's flat SevInfo. */
		ok = sa_json_add(o, "enabled", json_object_new_boolean(1)) &&
		     sa_json_add(o, "api-major", json_object_new_int(ps.api_major)) &&
		     sa_json_add(o, "api-minor", json_object_new_int(ps.api_minor)) &&
		     sa_json_add(o, "build-id", json_object_new_int(ps.build)) &&
		     sa_json_add(o, "policy", json_object_new_int64(gi.policy)) &&
		     sa_json_add(o, "state", json_object_new_string(sev_state_name(gi.state))) &&
		     sa_json_add(o, "handle", json_object_new_int64(gi.handle));
		break;
	}
	case GUEST_SNP: {
		sa_emu_status st;
		snp_info si;
		if (sa_emu_platform_status(s->e, &st, &err) != SA_OK || !snp_info_get(s->e, s->handle, &si)) {
			json_object_put(o);
			return fail(q, GENERIC, "SEV: the guest is gone");
		}
		/* QEMU 9.1's union (7.2 has no SNP): sev-type "sev-snp" and snp-policy. */
		ok = sa_json_add(o, "enabled", json_object_new_boolean(1)) &&
		     sa_json_add(o, "api-major", json_object_new_int(st.current.major)) &&
		     sa_json_add(o, "api-minor", json_object_new_int(st.current.minor)) &&
		     sa_json_add(o, "build-id", json_object_new_int(st.current.build)) &&
		     sa_json_add(o, "state", json_object_new_string(si.running ? "running" : "launch-update")) &&
		     sa_json_add(o, "sev-type", json_object_new_string("sev-snp")) &&
		     sa_json_add(o, "snp-policy", json_object_new_uint64(si.policy));
		break;
	}
	default:
		ok = sa_json_add(o, "enabled", json_object_new_boolean(0)) && sa_json_add(o, "api-minor", json_object_new_int(0)) &&
		     sa_json_add(o, "handle", json_object_new_int(0)) && sa_json_add(o, "state", json_object_new_string("uninit")) &&
		     sa_json_add(o, "api-major", json_object_new_int(0)) && sa_json_add(o, "build-id", json_object_new_int(0)) &&
		     sa_json_add(o, "policy", json_object_new_int(0));
		break;
	}
	if (!ok) {
		json_object_put(o);
		return NOMEM(q);
	}
	*ret = o;
	return 0;
}

static int cmd_query_sev_capabilities(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	sa_error err;
	uint32_t fw = 0, pdh_len = 0, chain_len = 0, id_len = 0;
	/* Both probed first, as QEMU's sev_get_pdh_info and sev_get_cpu0_id do. */
	if (sa_emu_sev_pdh_cert_export(s->e, NULL, &pdh_len, NULL, &chain_len, &fw, &err) == SA_OK ||
	    fw != SA_FW_INVALID_LENGTH)
		return fail(q, GENERIC, "SEV: Failed to export PDH cert ret=%d fw_err=%u (%s)", KERNEL_EIO, fw,
			    fw_error_str(fw));
	uint8_t *pdh = malloc(pdh_len ? pdh_len : 1), *chain = malloc(chain_len ? chain_len : 1);
	uint8_t *id = NULL;
	json_object *o = NULL;
	int rc;
	if (pdh == NULL || chain == NULL) {
		rc = NOMEM(q);
		goto out;
	}
	if (sa_emu_sev_pdh_cert_export(s->e, pdh, &pdh_len, chain, &chain_len, &fw, &err) != SA_OK) {
		rc = fail(q, GENERIC, "SEV: Failed to export PDH cert ret=%d fw_err=%u (%s)", KERNEL_EIO, fw,
			  fw_error_str(fw));
		goto out;
	}
	if (sa_emu_sev_get_id(s->e, NULL, &id_len, &fw, &err) == SA_OK || fw != SA_FW_INVALID_LENGTH) {
		rc = fail(q, GENERIC, "SEV: Failed to get ID ret=%d fw_err=%u (%s)", KERNEL_EIO, fw, fw_error_str(fw));
		goto out;
	}
	id = malloc(id_len ? id_len : 1);
	if (id == NULL) {
		rc = NOMEM(q);
		goto out;
	}
	if (sa_emu_sev_get_id(s->e, id, &id_len, &fw, &err) != SA_OK) {
		rc = fail(q, GENERIC, "SEV: Failed to get ID ret=%d fw_err=%u (%s)", KERNEL_EIO, fw, fw_error_str(fw));
		goto out;
	}
	o = json_object_new_object();
	/* cpu0-id: the first socket's 64-byte ID (QEMU 7.1+). */
	if (o == NULL || !sa_json_add(o, "pdh", b64_string(pdh, pdh_len)) ||
	    !sa_json_add(o, "cert-chain", b64_string(chain, chain_len)) ||
	    !sa_json_add(o, "cpu0-id", b64_string(id, id_len < 64 ? id_len : 64)) ||
	    !sa_json_add(o, "cbitpos", json_object_new_int(QMP_EMU_CBITPOS)) ||
	    !sa_json_add(o, "reduced-phys-bits", json_object_new_int(QMP_EMU_REDUCED_PHYS_BITS))) {
		rc = NOMEM(q);
		goto out;
	}
	*ret = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	free(pdh);
	free(chain);
	free(id);
	return rc;
}

static int cmd_query_sev_launch_measure(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)args;
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	if (kind_of(s) != GUEST_SEV || !sev_measure_blob(s->e, s->handle, blob))
		return fail(q, GENERIC, "SEV launch measurement is not available");
	json_object *o = json_object_new_object();
	if (o == NULL || !sa_json_add(o, "data", b64_string(blob, sizeof(blob)))) {
		json_object_put(o);
		return NOMEM(q);
	}
	*ret = o;
	return 0;
}

static int cmd_inject_secret(srv *s, json_object *args, json_object **ret, qerr *q)
{
	guest_kind k = kind_of(s);
	if (k == GUEST_NONE)
		return fail(q, GENERIC, "SEV not enabled for guest");
	json_object *gpa_v = arg(args, "gpa");
	/* The emulated guest has no OVMF image whose SEV secret block would give the address. */
	if (gpa_v == NULL)
		return fail(q, GENERIC, "SEV: no secret area found in OVMF, gpa must be specified.");
	uint64_t gpa = json_object_get_uint64(gpa_v);
	uint8_t state;
	if (k == GUEST_SNP) {
		snp_info si;
		state = snp_info_get(s->e, s->handle, &si) && si.running ? SA_EMU_SEV_GSTATE_RUNNING
									  : SA_EMU_SEV_GSTATE_LUPDATE;
	} else {
		sa_emu_sev_guest_info gi;
		sa_error err;
		state = sa_emu_sev_guest_info_get(s->e, s->handle, &gi, &err) == SA_OK ? gi.state
											: SA_EMU_SEV_GSTATE_UNINIT;
	}
	if (state != SA_EMU_SEV_GSTATE_LSECRET)
		return fail(q, GENERIC, "SEV: Not in correct state. (LSECRET) %x", state);
	size_t hdr_len = 0, data_len = 0;
	uint8_t *hdr = glib_base64_alloc(arg(args, "packet-header"), &hdr_len);
	uint8_t *data = glib_base64_alloc(arg(args, "secret"), &data_len);
	int rc = 0;
	if (hdr == NULL || data == NULL) {
		rc = NOMEM(q);
	} else if (hdr_len == 0) {
		rc = fail(q, GENERIC, "SEV: Failed to decode sequence header");
	} else if (data_len == 0) {
		rc = fail(q, GENERIC, "SEV: Failed to decode data");
	} else {
		uint32_t fw = 0;
		sa_error err;
		if (sa_emu_sev_launch_secret(s->e, s->handle, hdr, hdr_len, data, data_len, gpa, &fw, &err) != SA_OK)
			rc = fail(q, GENERIC, "SEV: failed to inject secret ret=%d fw_error=%u '%s'", KERNEL_EIO, fw,
				  fw_error_str(fw));
	}
	if (data != NULL)
		OPENSSL_cleanse(data, data_len);
	free(hdr);
	free(data);
	if (rc == 0) {
		*ret = json_object_new_object();
		rc = *ret ? 0 : NOMEM(q);
	}
	return rc;
}

/* QEMU's sev_get_attestation_report after the enabled check: mnonce, the length probe, the fetch. */
static int sev_report(srv *s, guest_kind k, json_object *mnonce_v, uint8_t report[SA_SEV_REPORT_SIZE], qerr *q)
{
	uint8_t mnonce[16];
	if (mnonce_v != NULL) {
		size_t len = 0;
		uint8_t *buf = glib_base64_alloc(mnonce_v, &len);
		if (buf == NULL)
			return NOMEM(q);
		if (len != sizeof(mnonce)) {
			free(buf);
			return fail(q, GENERIC, "SEV: mnonce must be %zu bytes (got %zu)", sizeof(mnonce), len);
		}
		memcpy(mnonce, buf, sizeof(mnonce));
		free(buf);
	} else if (RAND_bytes(mnonce, sizeof(mnonce)) != 1) {
		return fail(q, GENERIC, "SEV: no random mnonce");
	}
	if (k == GUEST_SNP)
		return fail(q, GENERIC, "SEV: Failed to query the attestation report length ret=%d fw_err=%d (%s)",
			    KERNEL_EPERM, 0, fw_error_str(0));
	uint32_t fw = 0, len = 0;
	sa_error err;
	if (sa_emu_sev_attestation(s->e, s->handle, mnonce, NULL, &len, &fw, &err) == SA_OK ||
	    fw != SA_FW_INVALID_LENGTH)
		return fail(q, GENERIC, "SEV: Failed to query the attestation report length ret=%d fw_err=%u (%s)",
			    KERNEL_EIO, fw, fw_error_str(fw));
	if (len != SA_SEV_REPORT_SIZE)
		return fail(q, GENERIC, "SEV: Failed to get attestation report ret=%d fw_err=%u (%s)", KERNEL_EIO,
			    (unsigned)SA_FW_INVALID_LENGTH, fw_error_str(SA_FW_INVALID_LENGTH));
	if (sa_emu_sev_attestation(s->e, s->handle, mnonce, report, &len, &fw, &err) != SA_OK)
		return fail(q, GENERIC, "SEV: Failed to get attestation report ret=%d fw_err=%u (%s)", KERNEL_EIO, fw,
			    fw_error_str(fw));
	return 0;
}

static int cmd_sev_attestation_report(srv *s, json_object *args, json_object **ret, qerr *q)
{
	guest_kind k = kind_of(s);
	if (k == GUEST_NONE)
		return fail(q, GENERIC, "SEV is not enabled");
	uint8_t report[SA_SEV_REPORT_SIZE];
	if (sev_report(s, k, arg(args, "mnonce"), report, q) != 0)
		return -1;
	json_object *o = json_object_new_object();
	if (o == NULL || !sa_json_add(o, "data", b64_string(report, sizeof(report)))) {
		json_object_put(o);
		return NOMEM(q);
	}
	*ret = o;
	return 0;
}

static json_object *sev_report_object(const uint8_t raw[SA_SEV_REPORT_SIZE])
{
	sa_sev_report r;
	sa_error err;
	if (sa_sev_report_decode(raw, SA_SEV_REPORT_SIZE, &r, &err) != SA_OK)
		return NULL;
	json_object *o = json_object_new_object(), *sig = json_object_new_object();
	bool ok = o != NULL && sig != NULL && sa_json_add(sig, "r", b64_string(r.sig_r, sizeof(r.sig_r))) &&
		  sa_json_add(sig, "s", b64_string(r.sig_s, sizeof(r.sig_s)));
	if (!ok) {
		json_object_put(sig);
		json_object_put(o);
		return NULL;
	}
	ok = sa_json_add(o, "mnonce", b64_string(r.mnonce, sizeof(r.mnonce))) &&
	     sa_json_add(o, "launch-digest", b64_string(r.launch_digest, sizeof(r.launch_digest))) &&
	     sa_json_add(o, "policy", json_object_new_int64(r.policy)) &&
	     sa_json_add(o, "sig-usage", json_object_new_int64(r.sig_usage)) &&
	     sa_json_add(o, "sig-algo", json_object_new_int64(r.sig_algo)) && sa_json_add(o, "signature", sig) &&
	     sa_json_add(o, "data", b64_string(raw, SA_SEV_REPORT_SIZE));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *snp_object(srv *s, qerr *q)
{
	snp_info si;
	uint8_t ld[48];
	sa_error err;
	if (!snp_info_get(s->e, s->handle, &si) || sa_emu_guest_measurement(s->e, s->handle, ld, &err) != SA_OK) {
		fail(q, GENERIC, "SEV: the guest is gone");
		return NULL;
	}
	uint8_t *certs = NULL;
	size_t certs_len = 0;
	if (sa_emu_get_ext_certs(s->e, s->handle, &certs, &certs_len, &err) != SA_OK) {
		fail(q, GENERIC, "SEV-SNP: no certificate table: %s", err.msg);
		return NULL;
	}
	json_object *o = json_object_new_object();
	bool ok = o != NULL && sa_json_add(o, "policy", json_object_new_uint64(si.policy)) &&
		  sa_json_add(o, "measurement", b64_string(ld, sizeof(ld))) &&
		  sa_json_add(o, "host-data", b64_string(si.host_data, sizeof(si.host_data))) &&
		  (!si.id_block_en || sa_json_add(o, "id-key-digest", b64_string(si.id_key_digest, 48))) &&
		  (!si.author_key_en || sa_json_add(o, "author-key-digest", b64_string(si.author_key_digest, 48))) &&
		  sa_json_add(o, "certs", b64_string(certs, certs_len));
	free(certs);
	if (!ok) {
		json_object_put(o);
		NOMEM(q);
		return NULL;
	}
	return o;
}

static int cmd_attestation_report(srv *s, json_object *args, json_object **ret, qerr *q)
{
	guest_kind k = kind_of(s);
	if (k == GUEST_NONE)
		return fail(q, GENERIC, "SEV is not enabled");
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NOMEM(q);
	if (k == GUEST_SEV) {
		uint8_t report[SA_SEV_REPORT_SIZE];
		if (sev_report(s, k, arg(args, "mnonce"), report, q) != 0) {
			json_object_put(o);
			return -1;
		}
		if (!sa_json_add(o, "sev", sev_report_object(report))) {
			json_object_put(o);
			return fail(q, GENERIC, "SEV: the firmware's report does not decode");
		}
	} else {
		json_object *mn = arg(args, "mnonce");
		size_t len = 0;
		uint8_t *buf = mn != NULL ? glib_base64_alloc(mn, &len) : NULL;
		free(buf);
		/* The same rule for mnonce as SEV guests; an SNP guest's reports come from the guest itself. */
		if (mn != NULL && len != 16) {
			json_object_put(o);
			return fail(q, GENERIC, "SEV: mnonce must be 16 bytes (got %zu)", len);
		}
		json_object *snp = snp_object(s, q);
		if (snp == NULL || !sa_json_add(o, "snp", snp)) {
			json_object_put(o);
			return -1;
		}
	}
	*ret = o;
	return 0;
}

static const arg_spec args_caps[] = {{"enable", ARG_STRLIST, true}};
static const arg_spec args_inject[] = {
	{"packet-header", ARG_STR, false},
	{"secret", ARG_STR, false},
	{"gpa", ARG_U64, true},
};
static const arg_spec args_mnonce[] = {{"mnonce", ARG_STR, false}};
static const arg_spec args_mnonce_opt[] = {{"mnonce", ARG_STR, true}};

typedef struct cmd_def {
	const char *name;
	const arg_spec *args;
	size_t n_args;
	cmd_fn fn;
} cmd_def;

static int cmd_query_commands(srv *s, json_object *args, json_object **ret, qerr *q);

#define CMD(n, a, f) {n, a, SA_ARRAY_LEN(a), f}
#define CMD0(n, f) {n, NULL, 0, f}
static const cmd_def commands[] = {
	CMD("qmp_capabilities", args_caps, cmd_capabilities),
	CMD0("query-commands", cmd_query_commands),
	CMD0("query-version", cmd_query_version),
	CMD0("query-status", cmd_query_status),
	CMD0("cont", cmd_cont),
	CMD0("quit", cmd_quit),
	CMD0("query-sev", cmd_query_sev),
	CMD0("query-sev-capabilities", cmd_query_sev_capabilities),
	CMD0("query-sev-launch-measure", cmd_query_sev_launch_measure),
	CMD("sev-inject-launch-secret", args_inject, cmd_inject_secret),
	CMD("query-sev-attestation-report", args_mnonce, cmd_sev_attestation_report),
	CMD("query-attestation-report", args_mnonce_opt, cmd_attestation_report),
};

static int cmd_query_commands(srv *s, json_object *args, json_object **ret, qerr *q)
{
	(void)s;
	(void)args;
	json_object *list = json_object_new_array();
	if (list == NULL)
		return NOMEM(q);
	for (size_t i = 0; i < SA_ARRAY_LEN(commands); i++) {
		json_object *c = json_object_new_object();
		if (c == NULL || !sa_json_add(c, "name", json_object_new_string(commands[i].name)) ||
		    json_object_array_add(list, c) != 0) {
			json_object_put(c);
			json_object_put(list);
			return NOMEM(q);
		}
	}
	*ret = list;
	return 0;
}

/* ---- dispatch -------------------------------------------------------------------- */

/* Echo the request's id, whatever JSON value it is (null included). */
static bool put_id(json_object *r, bool has_id, json_object *id)
{
	return !has_id || json_object_object_add(r, "id", json_object_get(id)) == 0;
}

static json_object *error_reply(const qerr *q, bool has_id, json_object *id)
{
	json_object *r = json_object_new_object(), *e = json_object_new_object();
	if (r == NULL || e == NULL || !sa_json_add(e, "class", json_object_new_string(q->cls)) ||
	    !sa_json_add(e, "desc", json_object_new_string(q->desc))) {
		json_object_put(r);
		json_object_put(e);
		return NULL;
	}
	if (!sa_json_add(r, "error", e) || !put_id(r, has_id, id)) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

/* The reply to one request (NULL only when out of memory). */
static json_object *dispatch(srv *s, json_object *req)
{
	qerr q = {0};
	json_object *id = NULL, *exec = NULL, *args = NULL, *ret = NULL;
	bool oob = false;
	int rc = 0;
	bool has_id = json_object_object_get_ex(req, "id", &id);
	json_object_object_foreach(req, key, val)
	{
		if (strcmp(key, "execute") == 0 || strcmp(key, "exec-oob") == 0) {
			if (!json_object_is_type(val, json_type_string)) {
				rc = fail(&q, GENERIC, "QMP input member '%s' must be a string", key);
				break;
			}
			exec = val;
			oob = key[4] == '-';
		} else if (strcmp(key, "arguments") == 0) {
			if (!json_object_is_type(val, json_type_object)) {
				rc = fail(&q, GENERIC, "QMP input member 'arguments' must be an object");
				break;
			}
			args = val;
		} else if (strcmp(key, "id") != 0) {
			rc = fail(&q, GENERIC, "QMP input member '%s' is unexpected", key);
			break;
		}
	}
	if (rc == 0 && exec == NULL)
		rc = fail(&q, GENERIC, "Expected either 'execute' or 'exec-oob'");
	const cmd_def *cmd = NULL;
	if (rc == 0) {
		const char *name = json_object_get_string(exec);
		for (size_t i = 0; i < SA_ARRAY_LEN(commands) && cmd == NULL; i++)
			if (strcmp(commands[i].name, name) == 0)
				cmd = &commands[i];
		if (!s->negotiated && (cmd == NULL || cmd->fn != cmd_capabilities))
			rc = fail(&q, NOT_FOUND, "Expecting capabilities negotiation with 'qmp_capabilities'");
		else if (cmd == NULL)
			rc = fail(&q, NOT_FOUND, "The command %s has not been found", name);
		else if (s->negotiated && cmd->fn == cmd_capabilities)
			rc = fail(&q, NOT_FOUND, "Capabilities negotiation is already complete, command ignored");
		else if (oob)
			rc = fail(&q, GENERIC, "The command %s does not support OOB", name);
	}
	if (rc == 0)
		rc = check_args(args, cmd->args, cmd->n_args, &q);
	if (rc == 0)
		rc = cmd->fn(s, args, &ret, &q);
	if (rc != 0)
		return error_reply(&q, has_id, id);
	json_object *r = json_object_new_object();
	if (r == NULL || !sa_json_add(r, "return", ret) || !put_id(r, has_id, id)) {
		if (r == NULL)
			json_object_put(ret);
		json_object_put(r);
		return NULL;
	}
	return r;
}

static sa_status send_owned(int fd, json_object *msg, sa_error *err)
{
	SA_ENSURE(msg != NULL, err, SA_ERR_NOMEM, "QMP server: out of memory");
	sa_status st = qmp_send(fd, msg, err);
	json_object_put(msg);
	return st;
}

static sa_status send_greeting(int fd, sa_error *err)
{
	json_object *g = json_object_new_object(), *qmp = json_object_new_object();
	json_object *caps = json_object_new_array();
	bool ok = g != NULL && qmp != NULL && caps != NULL && sa_json_add(qmp, "version", version_object()) &&
		  sa_json_add(qmp, "capabilities", caps);
	if (!ok) {
		if (qmp == NULL || !json_object_object_get_ex(qmp, "capabilities", NULL))
			json_object_put(caps);
		json_object_put(qmp);
		json_object_put(g);
		return sa_error_set(err, SA_ERR_NOMEM, "QMP server: out of memory");
	}
	if (!sa_json_add(g, "QMP", qmp)) {
		json_object_put(g);
		return sa_error_set(err, SA_ERR_NOMEM, "QMP server: out of memory");
	}
	return send_owned(fd, g, err);
}

/* QEMU takes LAUNCH_MEASURE at machine-init-done, before QMP serves: do it for a guest still launching. */
static void machine_init_done(srv *s)
{
	sa_emu_sev_guest_info gi;
	sa_error err;
	if (kind_of(s) != GUEST_SEV || sa_emu_sev_guest_info_get(s->e, s->handle, &gi, &err) != SA_OK ||
	    gi.state != SA_EMU_SEV_GSTATE_LUPDATE)
		return;
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	uint32_t len = sizeof(blob), fw = 0;
	/* A failure leaves the guest launching; commands then answer as QEMU does for that state. */
	if (sa_emu_sev_launch_measure(s->e, s->handle, blob, &len, &fw, &err) != SA_OK)
		return;
}

sa_status sa_qmp_serve_emu(int fd, sa_emu *e, uint32_t handle, int idle_timeout_ms, sa_error *err)
{
	SA_ENSURE(fd >= 0 && e != NULL, err, SA_ERR_ARG, "QMP server: bad argument");
	srv s = {.fd = fd, .e = e, .handle = handle};
	machine_init_done(&s);
	SA_TRY(send_greeting(fd, err));
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 0, 0);
	sa_status st = SA_OK;
	uint8_t chunk[4096];
	size_t n = 0;
	while (st == SA_OK && !s.quit) {
		json_object *msg = NULL;
		sa_error rerr;
		sa_status rs = sa_qmp_reader_next(&r, chunk, n, &msg, &rerr);
		n = 0;
		if (rs != SA_OK) {
			qerr q = {.cls = GENERIC};
			snprintf(q.desc, sizeof(q.desc), "%s", rerr.msg);
			st = send_owned(fd, error_reply(&q, false, NULL), err);
			if (st == SA_OK && rs == SA_ERR_RANGE)
				st = sa_error_set(err, rs, "QMP server: %s", rerr.msg);
			continue;
		}
		if (msg != NULL) {
			json_object *reply = dispatch(&s, msg);
			json_object_put(msg);
			st = send_owned(fd, reply, err);
			for (size_t i = 0; i < s.n_events; i++) {
				if (st == SA_OK)
					st = qmp_send(fd, s.events[i], err);
				json_object_put(s.events[i]);
			}
			s.n_events = 0;
			continue;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, idle_timeout_ms > 0 ? idle_timeout_ms : -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			st = sa_error_set(err, SA_ERR_IO, "QMP server: poll: %s", strerror(errno));
			break;
		}
		if (pr == 0) {
			st = sa_error_set(err, SA_ERR_IO, "QMP server: idle for %d ms", idle_timeout_ms);
			break;
		}
		ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			st = sa_error_set(err, SA_ERR_IO, "QMP server: read: %s", strerror(errno));
			break;
		}
		if (got == 0)
			break; /* the peer closed */
		n = (size_t)got;
	}
	sa_qmp_reader_free(&r);
	return st;
}
