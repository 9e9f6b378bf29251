/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV platform owner's commands (SEV API "platform management"), on one
 * of two backends:
 *
 *   "auto"          /dev/sev
 *   "dev:PATH"      the Linux PSP driver's device at PATH: SEV_ISSUE_CMD
 *                   ioctls (linux/psp-sev.h), each argument structure
 *                   encoded field by field into a byte buffer
 *   "emu:SOCKET"    the emulated platform's host socket (emu_client.h)
 *
 * The kernel's rules, which the emulator shares: the commands that change
 * the platform (FACTORY_RESET, PEK_GEN, PEK_CSR, PDH_GEN, PEK_CERT_IMPORT,
 * and PDH_CERT_EXPORT when the platform must first be initialised) need the
 * device opened for writing, else -EPERM; a firmware failure is -EIO with the
 * firmware status in the command's error field.  The calls that fetch a
 * buffer of the firmware's choosing (PEK_CSR, PDH_CERT_EXPORT, GET_ID) probe
 * its length first (length 0, answered INVALID_LENGTH with the length
 * needed), then fetch.
 *
 * Return convention: *fw_status (may be NULL) receives the firmware status,
 * or SA_SEV_HOST_NO_FW when no firmware status came back (the ioctl failed
 * before the firmware ran; the daemon failed).  The functions return SA_OK iff
 * the command succeeded; a firmware failure maps to SA_ERR_STATE (platform or
 * guest state), SA_ERR_ARG (lengths, parameters), SA_ERR_VERIFY (certificates,
 * signatures) or SA_ERR_IO, and err names the command, the firmware status
 * and, for the device, the errno.
 */
#ifndef SEVATTEST_SEVHOST_H
#define SEVATTEST_SEVHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/emu_client.h"
#include "sevattest/error.h"
#include "sevattest/sev.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_SEV_HOST_DEFAULT_DEV "/dev/sev"
#define SA_SEV_HOST_NO_FW 0xFFFFFFFFu /* the kernel's SEV_RET_NO_FW_CALL */
#define SA_SEV_HOST_ID_MAX 0x4000u    /* the longest GET_ID answer accepted (SEV_FW_BLOB_MAX_SIZE) */

typedef enum sa_sev_host_kind {
	SA_SEV_HOST_DEV = 1,
	SA_SEV_HOST_EMU = 2,
} sa_sev_host_kind;

typedef struct sa_sev_host sa_sev_host;

/*
 * Open a backend.  writable: open the device read-write (the commands that
 * change the platform need it; status and GET_ID do not).  timeout_ms bounds
 * each emulator call (< 0: no bound; ignored for the device).  A spec of
 * another form is SA_ERR_ARG naming the three accepted forms.
 */
SA_MUST_USE sa_status sa_sev_host_open(const char *spec, bool writable, int timeout_ms, sa_sev_host **out,
				       sa_error *err);
void sa_sev_host_close(sa_sev_host *h);
sa_sev_host_kind sa_sev_host_get_kind(const sa_sev_host *h);
/* The device path or the socket path. */
const char *sa_sev_host_path(const sa_sev_host *h);
/* The emulator connection of an "emu:" backend (for its emulator-only commands), else NULL. */
sa_emu_client *sa_sev_host_emu(sa_sev_host *h);

SA_MUST_USE sa_status sa_sev_host_status(sa_sev_host *h, sa_sev_platform_status *st, uint32_t *fw_status,
					 sa_error *err);
SA_MUST_USE sa_status sa_sev_host_factory_reset(sa_sev_host *h, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_sev_host_pek_gen(sa_sev_host *h, uint32_t *fw_status, sa_error *err);
SA_MUST_USE sa_status sa_sev_host_pdh_gen(sa_sev_host *h, uint32_t *fw_status, sa_error *err);
/* The PEK certificate signing request (an SEV certificate, both signature slots empty). */
SA_MUST_USE sa_status sa_sev_host_pek_csr(sa_sev_host *h, uint8_t csr[SA_SEV_CERT_SIZE], uint32_t *fw_status,
					  sa_error *err);
/* The PEK signed by the OCA, and the OCA (self-signed). */
SA_MUST_USE sa_status sa_sev_host_pek_cert_import(sa_sev_host *h, const uint8_t pek[SA_SEV_CERT_SIZE],
						  const uint8_t oca[SA_SEV_CERT_SIZE], uint32_t *fw_status,
						  sa_error *err);
/* The PDH and the chain PEK ‖ OCA ‖ CEK (the CEK as firmware holds it: unsigned by the ASK). */
SA_MUST_USE sa_status sa_sev_host_pdh_cert_export(sa_sev_host *h, uint8_t pdh[SA_SEV_CERT_SIZE],
						  uint8_t chain[3 * SA_SEV_CERT_SIZE], uint32_t *fw_status,
						  sa_error *err);
/* GET_ID2: the ID (malloc'ed; 64 bytes per socket on hardware), as KDS's cek/id URL takes it. */
SA_MUST_USE sa_status sa_sev_host_get_id(sa_sev_host *h, uint8_t **id, size_t *len, uint32_t *fw_status,
					 sa_error *err);

/* How a firmware status maps onto the library's codes (the table above). */
sa_status sa_sev_host_fw_code(uint32_t fw_status);

#ifdef __cplusplus
}
#endif
#endif
