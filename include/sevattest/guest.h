/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest side: ask the platform for attestation reports, derived keys and
 * the host's certificates, through whichever interface the guest has:
 *
 *   sev-guest  /dev/sev-guest ioctls (SNP_GET_REPORT, SNP_GET_DERIVED_KEY,
 *              SNP_GET_EXT_REPORT) with the kernel's uapi structures; the
 *              kernel holds the VMPCK and seals the messages.
 *   tsm        configfs-tsm (/sys/kernel/config/tsm/report): reports only.
 *   emu        the emulated platform's guest channel (a unix socket per VM):
 *              this library seals every message itself with the VMPCK from
 *              the guest's secrets page, with the Linux driver's semantics
 *              (guest_msg.h: sequence numbers, the key wiped on any failure).
 *
 * Busy answers from the host are retried with a bound; an extended request
 * whose certificate buffer is too small is retried once with the size the
 * host asked for.
 */
#ifndef SEVATTEST_GUEST_H
#define SEVATTEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"
#include "sevattest/guest_msg.h"
#include "sevattest/report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sa_guest_backend {
	SA_GUEST_AUTO = 0, /* sev-guest if /dev/sev-guest exists, else tsm if configfs-tsm exists */
	SA_GUEST_SEV_GUEST,
	SA_GUEST_TSM,
	SA_GUEST_EMU,
} sa_guest_backend;

const char *sa_guest_backend_name(sa_guest_backend b); /* "auto", "sev-guest", "tsm", "emu" */

typedef struct sa_guest_opts {
	sa_guest_backend backend;
	const char *emu_socket;   /* SA_GUEST_EMU: the VM's guest channel socket */
	const char *dev_path;     /* default /dev/sev-guest */
	const char *tsm_path;     /* default /sys/kernel/config/tsm/report */
	uint8_t vmpck_id;         /* SA_GUEST_EMU: which VMPCK to use (0..3); the kernel chooses for sev-guest */
	unsigned busy_timeout_ms; /* total time to keep retrying a busy host; 0 means 60000 (the kernel's) */
	unsigned busy_interval_ms;/* pause between busy retries; 0 means 2000 (the kernel's) */
} sa_guest_opts;

typedef struct sa_guest sa_guest;

/* Parse "auto", "sev-guest", "tsm", "emu:SOCKET" (the CLI's --backend). */
SA_MUST_USE sa_status sa_guest_backend_parse(const char *text, sa_guest_opts *opts, sa_error *err);

SA_MUST_USE sa_status sa_guest_open(const sa_guest_opts *opts, sa_guest **out, sa_error *err);
void sa_guest_close(sa_guest *g);
sa_guest_backend sa_guest_kind(const sa_guest *g);

/*
 * The last firmware and VMM errors the host returned (exitinfo2's halves),
 * 0 when none.  Every failing call also names them in its message.
 */
void sa_guest_last_error(const sa_guest *g, uint32_t *fw_error, uint32_t *vmm_error);

/* An attestation report with report_data (64 bytes) at vmpl; key_sel as in MSG_REPORT_REQ
 * (0 = the platform's choice); the report is exactly SA_SNP_REPORT_SIZE bytes. */
SA_MUST_USE sa_status sa_guest_get_report(sa_guest *g, const uint8_t report_data[64], uint32_t vmpl,
					  uint32_t key_sel, uint8_t report[SA_SNP_REPORT_SIZE], sa_error *err);
/* The same plus the host's certificate table (GHCB format; *certs malloc'ed, may be empty). */
SA_MUST_USE sa_status sa_guest_get_ext_report(sa_guest *g, const uint8_t report_data[64], uint32_t vmpl,
					      uint32_t key_sel, uint8_t report[SA_SNP_REPORT_SIZE], uint8_t **certs,
					      size_t *certs_len, sa_error *err);
/* A derived key (MSG_KEY_REQ); not available through tsm. The caller wipes key. */
SA_MUST_USE sa_status sa_guest_get_derived_key(sa_guest *g, const sa_key_req *req, uint8_t key[32], sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
