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

/* What the hypervisor knows of an SNP guest (the QMP server reports it). */
typedef struct sa_emu_snp_guest_info {
	uint32_t handle;
	bool running;            /* LAUNCH_FINISH done */
	uint64_t policy;
	uint8_t measurement[48]; /* the launch digest (final once running) */
	uint8_t host_data[32];
	bool id_block_en, author_key_en;
	uint8_t id_key_digest[48], author_key_digest[48];
} sa_emu_snp_guest_info;

/* SA_ERR_NOT_FOUND for a handle that is not a live SNP guest. */
SA_MUST_USE sa_status sa_emu_snp_guest_info_get(sa_emu *e, uint32_t handle, sa_emu_snp_guest_info *out,
						sa_error *err);

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

/* SNP_DECOMMISSION (SNP guests) and DECOMMISSION (SEV guests). */
SA_MUST_USE sa_status sa_emu_decommission(sa_emu *e, uint32_t handle, uint32_t *fw_status, sa_error *err);

/* ---- SEV and SEV-ES (legacy) firmware (emu_sev.c) ----------------------------------
 *
 * The legacy platform beside SNP, as one PSP runs both.  Platform identity:
 * the CEK is derived from the chip secret (it survives FACTORY_RESET, as on
 * hardware) and, like real firmware, is exported unsigned; the ASK-signed CEK
 * comes from the emulator's "KDS" (sa_emu_sev_export_amd).  The emulator's
 * ARK and ASK keys are the same RSA keys as its X.509 ARK/ASK, in AMD's
 * format too, as AMD's are.  The OCA is self-owned (generated) until
 * PEK_CERT_IMPORT installs an external one.
 *
 * Platform state: INIT after create/open (the kernel initialises the PSP on
 * demand); WORKING while any SEV guest exists; FACTORY_RESET and PEK_GEN need
 * INIT (INVALID_PLATFORM_STATE otherwise, as the kernel's -EBUSY).
 *
 * Length probes, as the real commands: a buffer length below what is needed
 * (NULL buffer, length 0 included) answers INVALID_LENGTH with the needed
 * length written back, and changes nothing.
 *
 * SEV guests share the handle space with SNP guests.  A guest still
 * launching (before LAUNCH_MEASURE) lives in memory only: the SHA-256 state
 * of its launch digest is not persisted, so a daemon restart drops it, as a
 * platform reset drops a launch on hardware.  From LAUNCH_MEASURE on it is
 * persisted (digest, policy, state, TEK/TIK in the keys file).
 * DECOMMISSION (sa_emu_decommission) wipes a guest's TEK/TIK and secrets.
 * The statuses each command answers, and why, are listed in emu_sev.c.
 */

typedef struct sa_sev_platform_status sa_sev_platform_status; /* sev.h */

SA_MUST_USE sa_status sa_emu_sev_platform_status(sa_emu *e, sa_sev_platform_status *out, uint32_t *fw_status,
						 sa_error *err);
/*
 * SHUTDOWN then INIT with or without CONFIG_ES (INIT's flag 0; the platform
 * starts with it set): without it, LAUNCH_START refuses an ES policy with
 * POLICY_FAILURE.  Needs INIT (no SEV guest), else INVALID_PLATFORM_STATE.
 */
SA_MUST_USE sa_status sa_emu_sev_reinit(sa_emu *e, bool config_es, uint32_t *fw_status, sa_error *err);
/* New self-owned OCA, PEK, PDH. */
SA_MUST_USE sa_status sa_emu_sev_factory_reset(sa_emu *e, uint32_t *fw_status, sa_error *err);
/* New PEK (signed by the current OCA, if self-owned, and by the CEK) and a new PDH; an imported OCA is dropped. */
SA_MUST_USE sa_status sa_emu_sev_pek_gen(sa_emu *e, uint32_t *fw_status, sa_error *err);
/* New PDH signed by the PEK. */
SA_MUST_USE sa_status sa_emu_sev_pdh_gen(sa_emu *e, uint32_t *fw_status, sa_error *err);
/* The PEK certificate signing request (the PEK certificate, both slots empty) into buf (*len in/out). */
SA_MUST_USE sa_status sa_emu_sev_pek_csr(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw_status,
					 sa_error *err);
/*
 * PEK_CERT_IMPORT: pek (0x824) is the CSR signed by oca (0x824, self-signed):
 * the key must be the platform's PEK, the OCA's signature must verify (else
 * INVALID_CERTIFICATE / BAD_SIGNATURE); the firmware then adds the CEK
 * signature, takes the OCA as owner (flags bit 0) and makes a new PDH.
 */
SA_MUST_USE sa_status sa_emu_sev_pek_cert_import(sa_emu *e, const uint8_t *pek, uint32_t pek_len, const uint8_t *oca,
						 uint32_t oca_len, uint32_t *fw_status, sa_error *err);
/* PDH_CERT_EXPORT: PDH (0x824) and the chain PEK ‖ OCA ‖ CEK (3 x 0x824, CEK unsigned); both probed. */
SA_MUST_USE sa_status sa_emu_sev_pdh_cert_export(sa_emu *e, uint8_t *pdh, uint32_t *pdh_len, uint8_t *chain,
						 uint32_t *chain_len, uint32_t *fw_status, sa_error *err);
/* GET_ID: the 64-byte ID of the one socket (the chip ID, as KDS's cek/id URL takes it); probed. */
SA_MUST_USE sa_status sa_emu_sev_get_id(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw_status, sa_error *err);
/*
 * The emulator's KDS for SEV: its AMD-format ARK and ASK (each SA_AMD_CERT_MAX
 * bytes at most; *ark_len, *ask_len set) and the CEK signed by the ASK (0x824).
 */
SA_MUST_USE sa_status sa_emu_sev_export_amd(sa_emu *e, uint8_t *ark, size_t *ark_len, uint8_t *ask, size_t *ask_len,
					    uint8_t cek[0x824], sa_error *err);

/* LAUNCH_START: godh (0x824) and session (0x80) both NULL: the firmware picks its own TEK/TIK. */
SA_MUST_USE sa_status sa_emu_sev_launch_start(sa_emu *e, uint32_t policy, const uint8_t *godh, size_t godh_len,
					      const uint8_t *session, size_t session_len, uint32_t *handle,
					      uint32_t *fw_status, sa_error *err);
/* LAUNCH_UPDATE_DATA: len a non-zero multiple of 16, folded into the launch digest. */
SA_MUST_USE sa_status sa_emu_sev_launch_update_data(sa_emu *e, uint32_t handle, const uint8_t *data, size_t len,
						    uint32_t *fw_status, sa_error *err);
/* LAUNCH_UPDATE_VMSA (SEV-ES policy only): one 4096-byte VMSA, folded into the digest. */
SA_MUST_USE sa_status sa_emu_sev_launch_update_vmsa(sa_emu *e, uint32_t handle, const uint8_t *vmsa, size_t len,
						    uint32_t *fw_status, sa_error *err);
/* LAUNCH_MEASURE: the 0x30-byte blob MEASURE ‖ MNONCE (fresh mnonce); probed.  Guest -> LSECRET. */
SA_MUST_USE sa_status sa_emu_sev_launch_measure(sa_emu *e, uint32_t handle, uint8_t *buf, uint32_t *len,
						uint32_t *fw_status, sa_error *err);
/* LAUNCH_SECRET: header (0x34), ciphertext; the MAC must verify under the TIK (BAD_MEASUREMENT otherwise). */
SA_MUST_USE sa_status sa_emu_sev_launch_secret(sa_emu *e, uint32_t handle, const uint8_t *hdr, size_t hdr_len,
					       const uint8_t *ciphertext, size_t len, uint64_t gpa, uint32_t *fw_status,
					       sa_error *err);
/* LAUNCH_FINISH: guest -> RUNNING. */
SA_MUST_USE sa_status sa_emu_sev_launch_finish(sa_emu *e, uint32_t handle, uint32_t *fw_status, sa_error *err);
/* ATTESTATION (API >= 0.23): the 0xD0 report of mnonce, signed by the PEK; in LSECRET or RUNNING; probed. */
SA_MUST_USE sa_status sa_emu_sev_attestation(sa_emu *e, uint32_t handle, const uint8_t mnonce[16], uint8_t *buf,
					     uint32_t *len, uint32_t *fw_status, sa_error *err);

typedef struct sa_emu_sev_guest_info {
	uint32_t handle;
	uint32_t policy;
	uint8_t state;          /* SA_EMU_SEV_GSTATE_* */
	uint8_t launch_digest[32]; /* final from LAUNCH_MEASURE on; the digest so far before */
	uint32_t secrets;       /* LAUNCH_SECRET packets injected */
} sa_emu_sev_guest_info;

/* Guest states, numbered as QEMU's SevState: uninit, launch-update, launch-secret, running. */
#define SA_EMU_SEV_GSTATE_UNINIT 0
#define SA_EMU_SEV_GSTATE_LUPDATE 1
#define SA_EMU_SEV_GSTATE_LSECRET 2
#define SA_EMU_SEV_GSTATE_RUNNING 3

/* SA_ERR_NOT_FOUND for a handle that is not a (live) SEV guest. */
SA_MUST_USE sa_status sa_emu_sev_guest_info_get(sa_emu *e, uint32_t handle, sa_emu_sev_guest_info *out,
						sa_error *err);
/* The blob LAUNCH_MEASURE returned (MEASURE ‖ MNONCE), as QEMU keeps it; SA_ERR_STATE before LAUNCH_MEASURE. */
SA_MUST_USE sa_status sa_emu_sev_measure_blob(sa_emu *e, uint32_t handle, uint8_t blob[0x30], sa_error *err);
/* The plaintext of the index-th injected secret and its GPA (malloc'd), as the guest would read it. */
SA_MUST_USE sa_status sa_emu_sev_guest_secret(sa_emu *e, uint32_t handle, uint32_t index, uint8_t **data, size_t *len,
					      uint64_t *gpa, sa_error *err);
/* True if handle is an SEV/SEV-ES guest (not SNP), live or decommissioned (its commands then answer INVALID_GUEST). */
bool sa_emu_is_sev_guest(sa_emu *e, uint32_t handle);

#ifdef __cplusplus
}
#endif
#endif
