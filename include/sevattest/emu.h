/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated AMD Secure Processor (SEV-SNP firmware) with real
 * cryptography, byte-exact structures and a persistent state directory.
 *
 * Its root of trust is its own (ARK and ASK RSA-4096 in AMD's profile,
 * generated once at creation); a verifier trusts it only when the user names
 * it (sevattest verify --trust-root).  Commands report firmware status codes
 * (SA_FW_* in guest_msg.h) exactly where real firmware would.
 *
 * Every state change is written atomically (temporary file, fsync, rename), so
 * a crash at any point leaves the directory consistent: the old or the new
 * state, never a mix.  All functions are thread-safe on one sa_emu.
 *
 * Return convention for firmware commands: *fw_status always receives the
 * firmware status; the function returns SA_OK iff it is SA_FW_SUCCESS,
 * otherwise SA_ERR_STATE (wrong platform/guest state), SA_ERR_ARG (bad
 * parameter or length), SA_ERR_VERIFY (bad signature/measurement) or
 * SA_ERR_IO (the state could not be written; nothing changed), with err naming
 * the firmware status and the reason.
 */
#ifndef SEVATTEST_EMU_H
#define SEVATTEST_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"
#include "sevattest/guest_msg.h"
#include "sevattest/product.h"
#include "sevattest/report.h"
#include "sevattest/tcb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_emu sa_emu;

typedef struct sa_emu_create_opts {
	sa_product product;      /* SA_PRODUCT_UNKNOWN means Milan */
	const uint8_t *chip_id;  /* 64 bytes, or NULL for random (Turin: 8 random bytes, then zeros) */
	bool has_tcb;
	sa_tcb tcb;              /* current = reported = committed; default: a recent TCB for the product */
	bool has_fw;
	sa_fw_version fw;        /* default 1.55.<n> */
	unsigned rsa_bits;       /* ARK/ASK/ASVK modulus; 0 means 4096 (tests may pass 2048) */
} sa_emu_create_opts;

/* Create a new platform in state_dir (created 0700; must be absent or empty). */
SA_MUST_USE sa_status sa_emu_create(const char *state_dir, const sa_emu_create_opts *opts, sa_error *err);
SA_MUST_USE sa_status sa_emu_open(const char *state_dir, sa_emu **out, sa_error *err);
void sa_emu_close(sa_emu *e);

typedef struct sa_emu_status {
	sa_product product;
	uint8_t chip_id[64];
	uint64_t current_tcb, reported_tcb, committed_tcb;
	sa_fw_version current, committed;
	uint32_t guest_count;      /* guests launched and not decommissioned */
	bool mask_chip_id, mask_chip_key;
	bool vlek_loaded;
} sa_emu_status;

SA_MUST_USE sa_status sa_emu_platform_status(sa_emu *e, sa_emu_status *out, sa_error *err);

/* The root of trust, for `sevattest verify --trust-root`: the ARK as PEM. */
SA_MUST_USE sa_status sa_emu_export_root(sa_emu *e, char **pem, sa_error *err);
/* KDS cert_chain form: ASK (or ASVK) then ARK, PEM. */
SA_MUST_USE sa_status sa_emu_export_chain(sa_emu *e, bool vlek, char **pem, sa_error *err);
/* The VCEK for the platform's REPORTED_TCB (DER), as KDS would serve it; or the loaded VLEK. */
SA_MUST_USE sa_status sa_emu_export_vek(sa_emu *e, bool vlek, uint8_t **der, size_t *len, sa_error *err);

/* SNP_SET_CONFIG: REPORTED_TCB (must not exceed the current TCB) and the mask bits. */
SA_MUST_USE sa_status sa_emu_set_config(sa_emu *e, uint64_t reported_tcb, bool mask_chip_id, bool mask_chip_key,
					uint32_t *fw_status, sa_error *err);
/* A firmware update: a new CURRENT TCB/version (as after a new firmware image is loaded). */
SA_MUST_USE sa_status sa_emu_update_firmware(sa_emu *e, uint64_t current_tcb, sa_fw_version fw, uint32_t *fw_status,
					     sa_error *err);
/* SNP_COMMIT: COMMITTED_TCB/version := CURRENT. */
SA_MUST_USE sa_status sa_emu_commit(sa_emu *e, uint32_t *fw_status, sa_error *err);
/* SNP_VLEK_LOAD equivalent: a VLEK for the reported TCB, issued by the ASVK, for csp_id. */
SA_MUST_USE sa_status sa_emu_vlek_load(sa_emu *e, const char *csp_id, uint32_t *fw_status, sa_error *err);

/* SNP_LAUNCH_START: policy validated as firmware does. */
SA_MUST_USE sa_status sa_emu_launch_start(sa_emu *e, uint64_t policy, uint32_t *handle, uint32_t *fw_status,
					  sa_error *err);
/*
 * SNP_LAUNCH_UPDATE for one 4 KiB page.  page is the contents for NORMAL, VMSA,
 * SECRETS (ignored: firmware fills it) and CPUID pages, NULL for ZERO and
 * UNMEASURED.  For SECRETS, out_page (4096, may be NULL) receives the page
 * firmware wrote: version 3, VMPCK0-3.
 */
SA_MUST_USE sa_status sa_emu_launch_update(sa_emu *e, uint32_t handle, uint8_t page_type, uint64_t gpa,
					   const uint8_t *page, uint8_t *out_page, uint32_t *fw_status,
					   sa_error *err);
/*
 * SNP_LAUNCH_FINISH: stores HOST_DATA and, with an ID block (id_block 0x60 and
 * id_auth 0x1000, see idblock.h), checks it as firmware does: the ID block's
 * signature by the ID key (and, with author_key_en, the ID key's signature by
 * the author key) else BAD_SIGNATURE; its launch digest equals the guest's
 * else BAD_MEASUREMENT; its policy equals the launch policy else
 * POLICY_FAILURE.  Reports then carry ID_KEY_DIGEST, AUTHOR_KEY_DIGEST
 * (AUTHOR_KEY_EN), FAMILY_ID, IMAGE_ID and GUEST_SVN.
 */
SA_MUST_USE sa_status sa_emu_launch_finish(sa_emu *e, uint32_t handle, const uint8_t *id_block,
					   const uint8_t *id_auth, bool author_key_en, const uint8_t host_data[32],
					   uint32_t *fw_status, sa_error *err);

/* The guest's secrets page (as written at SNP_LAUNCH_UPDATE SECRETS). */
SA_MUST_USE sa_status sa_emu_guest_secrets(sa_emu *e, uint32_t handle, uint8_t page[SA_SECRETS_PAGE_SIZE],
					   sa_error *err);
/* The launch digest so far (for tests and tools). */
SA_MUST_USE sa_status sa_emu_guest_measurement(sa_emu *e, uint32_t handle, uint8_t ld[48], sa_error *err);

/*
 * SNP_GUEST_REQUEST: one sealed request message in, one sealed response out
 * (resp_cap >= SA_GMSG_PAGE_SIZE).  Handles MSG_REPORT_REQ and MSG_KEY_REQ.
 * A request that is malformed, replayed (sequence number other than the
 * firmware's counter + 1), fails to authenticate, or has a type the emulator
 * does not implement gets a firmware error status and no response; the
 * firmware's counter does not move.  (Which status real firmware returns for
 * each of these is not public; the emulator uses INVALID_PARAM, and
 * INVALID_GUEST_STATE for a guest that is not running.)
 */
SA_MUST_USE sa_status sa_emu_guest_request(sa_emu *e, uint32_t handle, const uint8_t *req, size_t req_len,
					   uint8_t *resp, size_t resp_cap, size_t *resp_len, uint32_t *fw_status,
					   sa_error *err);

/* The hypervisor's certificate table for extended requests (GHCB cert table bytes),
 * per guest, or platform-wide with handle 0.  NULL/0 clears it. */
SA_MUST_USE sa_status sa_emu_set_ext_certs(sa_emu *e, uint32_t handle, const uint8_t *table, size_t len,
					   sa_error *err);
/* The table an extended request of this guest receives: the guest's, else the platform's,
 * else one built from the emulator's own ARK, ASK and VCEK (or ASVK and VLEK). */
SA_MUST_USE sa_status sa_emu_get_ext_certs(sa_emu *e, uint32_t handle, uint8_t **table, size_t *len, sa_error *err);

/* SNP_DECOMMISSION. */
SA_MUST_USE sa_status sa_emu_decommission(sa_emu *e, uint32_t handle, uint32_t *fw_status, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
