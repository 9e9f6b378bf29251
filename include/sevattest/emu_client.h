/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of sevattest-emu (emu_proto.h): one connection to the host socket
 * or to one VM's guest channel, and one function per command.  Used by the
 * CLI (`sevattest emu ...`) and by the guest library's emu backend.
 *
 * Every call is one request and one reply, bounded by the client's timeout.
 * A reply with a non-zero status fails with the daemon's error code and
 * message ("LAUNCH_START: POLICY_FAILURE: ..."); *fw_status, where a function
 * has it (it may be NULL), receives the reply's status: 0, a firmware status
 * (SA_FW_*), or SA_EP_STATUS_DAEMON, which is also what it gets when no reply
 * arrived.  A client is used by one thread at a time.
 */
#ifndef SEVATTEST_EMU_CLIENT_H
#define SEVATTEST_EMU_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/emu.h"
#include "sevattest/emu_proto.h"
#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_EMU_CLIENT_TIMEOUT_MS 30000

typedef struct sa_emu_client sa_emu_client;

/* Connect to a daemon socket within timeout_ms (< 0: no bound); the same bound then applies to each call. */
SA_MUST_USE sa_status sa_emu_client_connect(const char *socket_path, int timeout_ms, sa_emu_client **out,
					    sa_error *err);
void sa_emu_client_close(sa_emu_client *c);
void sa_emu_client_set_timeout(sa_emu_client *c, int timeout_ms);
const char *sa_emu_client_path(const sa_emu_client *c);

/*
 * The general exchange: encode req, send, receive the reply into *rep (whose
 * data/certs point into the client's buffer until the next call).  SA_OK iff
 * a reply arrived and its status is 0; a failed reply's status is in
 * rep->status, and err carries the daemon's code and message.
 */
SA_MUST_USE sa_status sa_emu_client_call(sa_emu_client *c, const sa_ep_request *req, sa_ep_reply *rep,
					 sa_error *err);

/* ---- host socket ---- */
SA_MUST_USE sa_status sa_emu_client_status(sa_emu_client *c, sa_emu_status *st, uint32_t *pid, uint32_t *channels,
					   sa_error *err);
/* PEM, malloc'ed and NUL-terminated. */
SA_MUST_USE sa_status sa_emu_client_export_root(sa_emu_client *c, char **pem, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_export_chain(sa_emu_client *c, bool vlek, char **pem, sa_error *err);
/* DER, malloc'ed. */
SA_MUST_USE sa_status sa_emu_client_export_vek(sa_emu_client *c, bool vlek, uint8_t **der, size_t *len,
					       sa_error *err);
SA_MUST_USE sa_status sa_emu_client_launch_start(sa_emu_client *c, uint64_t policy, uint32_t *handle,
						 uint32_t *fw_status, sa_error *err);
/* page: 4096 bytes, or NULL (ZERO, UNMEASURED; SECRETS, whose contents firmware writes). */
SA_MUST_USE sa_status sa_emu_client_launch_update(sa_emu_client *c, uint32_t handle, uint8_t page_type, uint64_t gpa,
						  const uint8_t *page, uint32_t *fw_status, sa_error *err);
/* id_block (0x60) and id_auth (0x1000) together or both NULL; ld and socket (may be NULL) receive
 * the launch digest and the VM's guest channel path. */
SA_MUST_USE sa_status sa_emu_client_launch_finish(sa_emu_client *c, uint32_t handle, const uint8_t *id_block,
						  const uint8_t *id_auth, bool author_key_en,
						  const uint8_t host_data[32], uint8_t ld[48],
						  char socket[SA_EP_PATH_MAX + 1], uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_set_ext_certs(sa_emu_client *c, uint32_t handle, const uint8_t *table,
						  size_t len, sa_error *err);
/* The daemon's VMs (malloc'ed array, at most SA_EP_MAX_VMS; *total counts them all). */
SA_MUST_USE sa_status sa_emu_client_vm_list(sa_emu_client *c, sa_ep_vm_info **vms, size_t *n, uint32_t *total,
					    sa_error *err);
SA_MUST_USE sa_status sa_emu_client_decommission(sa_emu_client *c, uint32_t handle, uint32_t *fw_status,
						 sa_error *err);
SA_MUST_USE sa_status sa_emu_client_set_config(sa_emu_client *c, uint64_t reported_tcb, bool mask_chip_id,
					       bool mask_chip_key, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_update_firmware(sa_emu_client *c, uint64_t current_tcb, sa_fw_version fw,
						    uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_commit(sa_emu_client *c, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_vlek_load(sa_emu_client *c, const char *csp_id, uint32_t *fw_status,
					      sa_error *err);
/* Ask the daemon to exit (it replies first). */
SA_MUST_USE sa_status sa_emu_client_shutdown(sa_emu_client *c, sa_error *err);

/* ---- host socket: SEV and SEV-ES (legacy) firmware ----
 *
 * One call per sa_emu_sev_* function (emu.h).  The calls that fetch a buffer
 * of the firmware's choosing probe first (length 0, expecting INVALID_LENGTH
 * with the length needed) and then fetch, as QEMU and sevctl do with
 * /dev/sev; a length that is not what the caller's buffer holds is an
 * SA_ERR_FORMAT error.  Certificates are SA_EP_SEV_CERT_SIZE (0x824) bytes.
 */
SA_MUST_USE sa_status sa_emu_client_sev_status(sa_emu_client *c, sa_sev_platform_status *st, uint32_t *fw_status,
					       sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_factory_reset(sa_emu_client *c, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_pek_gen(sa_emu_client *c, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_pdh_gen(sa_emu_client *c, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_pek_csr(sa_emu_client *c, uint8_t csr[SA_EP_SEV_CERT_SIZE],
						uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_pek_cert_import(sa_emu_client *c, const uint8_t pek[SA_EP_SEV_CERT_SIZE],
							const uint8_t oca[SA_EP_SEV_CERT_SIZE], uint32_t *fw_status,
							sa_error *err);
/* PDH, and the chain PEK ‖ OCA ‖ CEK. */
SA_MUST_USE sa_status sa_emu_client_sev_pdh_cert_export(sa_emu_client *c, uint8_t pdh[SA_EP_SEV_CERT_SIZE],
							uint8_t chain[3 * SA_EP_SEV_CERT_SIZE], uint32_t *fw_status,
							sa_error *err);
/* The ID (malloc'ed, *len bytes: 64 on the emulator). */
SA_MUST_USE sa_status sa_emu_client_sev_get_id(sa_emu_client *c, uint8_t **id, size_t *len, uint32_t *fw_status,
					       sa_error *err);
/* The emulator's KDS: ARK and ASK in AMD's format (buffers of SA_AMD_CERT_MAX; *_len set) and the
 * ASK-signed CEK. */
SA_MUST_USE sa_status sa_emu_client_sev_export_amd(sa_emu_client *c, uint8_t *ark, size_t *ark_len, uint8_t *ask,
						   size_t *ask_len, uint8_t cek[SA_EP_SEV_CERT_SIZE], sa_error *err);
/* godh (0x824) and session (0x80) both NULL: the firmware picks its own TEK/TIK. */
SA_MUST_USE sa_status sa_emu_client_sev_launch_start(sa_emu_client *c, uint32_t policy, const uint8_t *godh,
						     size_t godh_len, const uint8_t *session, size_t session_len,
						     uint32_t *handle, uint32_t *fw_status, sa_error *err);
/* len: a non-zero multiple of 16 (checked before anything is sent); sent in chunks of at most
 * SA_EP_SEV_DATA_CHUNK bytes, each a multiple of 16. */
SA_MUST_USE sa_status sa_emu_client_sev_launch_update_data(sa_emu_client *c, uint32_t handle, const uint8_t *data,
							   size_t len, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_launch_update_vmsa(sa_emu_client *c, uint32_t handle,
							   const uint8_t vmsa[SA_EP_SEV_VMSA_SIZE],
							   uint32_t *fw_status, sa_error *err);
/* MEASURE ‖ MNONCE. */
SA_MUST_USE sa_status sa_emu_client_sev_launch_measure(sa_emu_client *c, uint32_t handle,
						       uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE], uint32_t *fw_status,
						       sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_launch_secret(sa_emu_client *c, uint32_t handle,
						      const uint8_t hdr[SA_EP_SEV_SECRET_HDR_SIZE], const uint8_t *ct,
						      size_t len, uint64_t gpa, uint32_t *fw_status, sa_error *err);
/* qmp_path (may be NULL) receives the VM's QMP socket (cap bytes, SA_EP_PATH_MAX + 1 always suffice). */
SA_MUST_USE sa_status sa_emu_client_sev_launch_finish(sa_emu_client *c, uint32_t handle, char *qmp_path, size_t cap,
						      uint32_t *fw_status, sa_error *err);
/* The 0xD0 attestation report of mnonce. */
SA_MUST_USE sa_status sa_emu_client_sev_attestation(sa_emu_client *c, uint32_t handle, const uint8_t mnonce[16],
						    uint8_t report[SA_SEV_REPORT_SIZE], uint32_t *fw_status,
						    sa_error *err);
SA_MUST_USE sa_status sa_emu_client_sev_guest_info(sa_emu_client *c, uint32_t handle, sa_emu_sev_guest_info *out,
						   sa_error *err);

/* ---- guest channel ---- */

/* The VM's handle and its secrets page as the guest sees it (the caller wipes page). */
SA_MUST_USE sa_status sa_emu_client_hello(sa_emu_client *c, uint32_t *handle, uint8_t page[SA_SECRETS_PAGE_SIZE],
					  sa_error *err);

/* What the hypervisor returned for one guest request. */
typedef struct sa_emu_guest_rsp {
	uint32_t fw_error;     /* SW_EXITINFO2 low half */
	uint32_t vmm_error;    /* SW_EXITINFO2 high half: SA_VMM_ERR_INVALID_LEN, SA_VMM_ERR_BUSY */
	uint32_t pages_needed; /* extended requests answered INVALID_LEN */
	uint8_t msg[SA_GMSG_PAGE_SIZE];
	size_t msg_len;        /* 0: no response message */
} sa_emu_guest_rsp;

/*
 * One SNP_GUEST_REQUEST / SNP_EXT_GUEST_REQUEST.  SA_OK when the exchange
 * happened, whatever fw_error and vmm_error say (the caller judges them);
 * certs (may be NULL) receives a malloc'ed copy of the certificate table.
 */
SA_MUST_USE sa_status sa_emu_client_guest_request(sa_emu_client *c, const uint8_t *msg, size_t len,
						  sa_emu_guest_rsp *out, sa_error *err);
SA_MUST_USE sa_status sa_emu_client_ext_guest_request(sa_emu_client *c, uint32_t cert_pages, const uint8_t *msg,
						      size_t len, sa_emu_guest_rsp *out, uint8_t **certs,
						      size_t *certs_len, sa_error *err);
/* The guest wiped VMPCK id: the daemon zeroes it in the VM's secrets page for good. */
SA_MUST_USE sa_status sa_emu_client_disable_vmpck(sa_emu_client *c, uint8_t vmpck_id, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
