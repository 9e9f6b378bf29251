/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated AMD Secure Processor: SNP firmware commands and guest
 * requests (SNP ABI spec 56860), over the state kept by emu_state.c and the
 * keys of emu_keys.c.
 *
 * Firmware choices where the specification leaves room or the emulator
 * models less than hardware (each is a fact a caller can rely on):
 *
 * - Platform: one socket, SMT and TSME enabled (PLATFORM_INFO = SMT_EN |
 *   TSME_EN = 0x3); RAPL and ciphertext hiding not enabled.  The API version
 *   a guest policy is checked against is the current firmware's major.minor.
 * - SNP_LAUNCH_START refuses with POLICY_FAILURE a policy that is not well
 *   formed (bit 17 clear, bits 63:26 set), asks for a newer ABI than the
 *   firmware's, forbids SMT while SMT is enabled, or requires RAPL disabled
 *   or ciphertext hiding, which this platform does not provide.  Other bits
 *   (MIGRATE_MA, DEBUG, SINGLE_SOCKET, CXL_ALLOW, MEM_AES_256_XTS,
 *   PAGE_SWAP_DISABLE) are accepted and reported; there is no migration
 *   agent.  Each guest gets fresh random VMPCK0-3 and VMRK (RAND_priv_bytes)
 *   and a random REPORT_ID; REPORT_ID_MA is all 0xFF (no migration agent).
 * - SNP_LAUNCH_UPDATE: page types 1..6 and a 4 KiB aligned GPA, else
 *   INVALID_PARAM; NORMAL, VMSA and CPUID pages need their contents, ZERO and
 *   UNMEASURED pages must come without.  VMSA pages are measured at GPA
 *   0xFFFFFFFFF000 whatever GPA the caller names, as firmware does.  The
 *   SECRETS page is accepted once per guest (again: INVALID_PARAM); firmware
 *   fills it (version 3, VMPCK0-3, everything else zero).  CPUID pages are
 *   taken as given: the emulator does not validate CPUID values yet, and
 *   writes nothing back.  Both are measured with zero contents.
 * - SNP_LAUNCH_FINISH: an ID block needs its ID_AUTH_INFO (and AUTHOR_KEY_EN
 *   an ID block), else INVALID_PARAM.  The ID block is checked in this order:
 *   VERSION 1, ID_KEY_ALGO (and with an author key AUTH_KEY_ALGO) 1 (ECDSA
 *   P-384/SHA-384), else INVALID_PARAM (as for the other bad parameters);
 *   ID_BLOCK_SIG must verify over the 0x60 ID block bytes with ID_KEY, and
 *   with AUTHOR_KEY_EN ID_KEY_SIG over the 0x404 ID_KEY bytes with
 *   AUTHOR_KEY, else BAD_SIGNATURE (also when a key's CURVE is not 2 or its
 *   point is not on P-384: the signature cannot be verified); then its LD
 *   must equal the launch digest (BAD_MEASUREMENT) and its POLICY the launch
 *   policy (POLICY_FAILURE).  Reserved bytes of ID_AUTH_INFO are not checked.
 *   ID_KEY_DIGEST and AUTHOR_KEY_DIGEST are SHA-384 of the 0x404-byte public
 *   keys as given; without AUTHOR_KEY_EN the author key is ignored and its
 *   digest zero.
 * - Guest requests (MSG_VERSION 1; MSG_KEY_REQ also 2): the VMPCK is the
 *   header's MSG_VMPCK and belongs to the VMPL of the same number.  Message
 *   errors (header, sequence number, authentication, unknown type or
 *   version) get INVALID_PARAM and no response, and the counter stays.  Errors
 *   in an authenticated request's payload are answered, in the response's
 *   STATUS: INVALID_PARAM (malformed payload, VMPL below the VMPCK's or above
 *   3, KEY_SEL 3, GUEST_SVN above the guest's, TCB_VERSION above the
 *   COMMITTED_TCB, LAUNCH_MIT_VECTOR asked for without the 0x28-byte request
 *   or naming mitigations the guest was not launched with) or INVALID_KEY
 *   (the VLEK is selected but none is usable).  The PSP's counter is
 *   persisted before the response is returned, so a restart cannot replay.
 * - Reports are version 5 on Turin and 3 on Milan and Genoa (the layouts
 *   their 1.55 firmware emits with CPUID fields), signed over bytes
 *   0..0x29F with ECDSA P-384/SHA-384 by the VCEK of the REPORTED_TCB or the
 *   VLEK.  KEY_SEL 0 picks the VLEK when one is usable.  A VLEK is usable
 *   while the REPORTED_TCB equals the TCB it was loaded for (it is a
 *   versioned key); after a TCB change, load a new one.  A report signed by
 *   the VLEK carries a zero CHIP_ID, as does any report with MASK_CHIP_ID.
 *   With MASK_CHIP_KEY the VCEK does not sign: SIGNING_KEY is 7 (none) and
 *   the signature zero (MASK_CHIP_KEY does not change derived keys).  MIT
 *   vectors are zero.
 * - MSG_KEY_REQ: ROOT_KEY_SELECT 0 derives from the chip key (the VLEK when
 *   KEY_SEL picks it) of the TCB_VERSION the guest names when it selects
 *   TCB_VERSION (bit 5), else of the COMMITTED_TCB; ROOT_KEY_SELECT 1
 *   derives from the guest's VMRK, which firmware generates at launch for a
 *   guest without a migration agent.  The SNP ABI spec bounds TCB_VERSION by
 *   the COMMITTED_TCB and GUEST_SVN by the guest's SVN; both bounds are
 *   checked whether or not the field is selected.  See emu_keys.c for the KDF.
 * - SNP_SET_CONFIG: a REPORTED_TCB with non-zero reserved bytes or above the
 *   CURRENT_TCB in any component is INVALID_PARAM.
 * - Firmware update: a new CURRENT_TCB below the COMMITTED_TCB or a version
 *   below the committed one is refused with BAD_SVN (anti-rollback); a
 *   REPORTED_TCB above the new CURRENT_TCB is lowered to it.
 * - A command whose state cannot be written changes nothing and reports
 *   HWSEV_RET_PLATFORM with SA_ERR_IO.
 * - Unknown or decommissioned handles are INVALID_GUEST; a command in the
 *   wrong guest state is INVALID_GUEST_STATE.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/idblock.h"
#include "sevattest/snp_policy.h"

#include "emu_internal.h"
#include "internal.h"

#define ID_BLOCK_SIZE 0x60
#define ID_AUTH_SIZE 0x1000
#define EXT_CERTS_MAX (1024 * 1024)
#define GFS_TCB_VERSION (1ull << 5)
#define GFS_LAUNCH_MIT (1ull << 6)
#define GFS_DEFINED 0x7Full

/* ------------------------------------------------------------------------- */
/* Status plumbing                                                            */
/* ------------------------------------------------------------------------- */

static sa_status status_for(uint32_t fw)
{
	switch (fw) {
	case SA_FW_SUCCESS: return SA_OK;
	case SA_FW_INVALID_PLATFORM_STATE:
	case SA_FW_INVALID_GUEST_STATE: return SA_ERR_STATE;
	case SA_FW_BAD_SIGNATURE:
	case SA_FW_BAD_MEASUREMENT: return SA_ERR_VERIFY;
	default: return SA_ERR_ARG;
	}
}

sa_status emu_fw_fail(uint32_t status, uint32_t *fw, sa_error *err, const char *fmt, ...)
{
	*fw = status;
	char reason[SA_ERROR_MSG_MAX - 48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return sa_error_set(err, status_for(status), "%s (firmware status %s, 0x%02x)", reason,
			    sa_fw_status_name(status), status);
}

sa_status emu_fw_io(sa_status st, uint32_t *fw, sa_error *err, const char *cmd)
{
	*fw = SA_FW_HWSEV_RET_PLATFORM;
	return sa_error_wrap(err, st, "%s: state not written, nothing changed (firmware status %s, 0x%02x)", cmd,
			     sa_fw_status_name(SA_FW_HWSEV_RET_PLATFORM), SA_FW_HWSEV_RET_PLATFORM);
}

sa_status emu_fw_ok(uint32_t *fw)
{
	*fw = SA_FW_SUCCESS;
	return SA_OK;
}

static emu_guest *find_guest(const sa_emu *e, uint32_t handle)
{
	for (size_t i = 0; i < e->n_guests; i++)
		if (e->guests[i]->handle == handle)
			return e->guests[i];
	return NULL;
}

/* A live guest (not decommissioned), or INVALID_GUEST. */
static sa_status live_guest(const sa_emu *e, uint32_t handle, const char *cmd, emu_guest **out, uint32_t *fw,
			    sa_error *err)
{
	emu_guest *g = find_guest(e, handle);
	if (!g || g->state == EMU_GUEST_DECOMMISSIONED)
		return emu_fw_fail(SA_FW_INVALID_GUEST, fw, err, "%s: no guest with handle %" PRIu32 "%s", cmd, handle,
			       g ? " (decommissioned)" : "");
	*out = g;
	return SA_OK;
}

/* Persist a changed copy of a guest, then make it the guest. */
static sa_status guest_commit(sa_emu *e, emu_guest *g, emu_guest *copy, sa_error *err)
{
	sa_status st = emu_guest_save(e, copy, err);
	if (st == SA_OK)
		memcpy(g, copy, sizeof(*g));
	OPENSSL_cleanse(copy, sizeof(*copy));
	return st;
}

static bool vlek_usable(const sa_emu *e) { return e->p.vlek_loaded && e->p.vlek_tcb == e->p.reported_tcb; }

static bool abi_newer(unsigned major, unsigned minor, sa_fw_version fw)
{
	return major > fw.major || (major == fw.major && minor > fw.minor);
}

static bool fw_older(sa_fw_version a, sa_fw_version b)
{
	unsigned va = (unsigned)a.major << 16 | (unsigned)a.minor << 8 | a.build;
	unsigned vb = (unsigned)b.major << 16 | (unsigned)b.minor << 8 | b.build;
	return va < vb;
}

/* ------------------------------------------------------------------------- */
/* Platform                                                                   */
/* ------------------------------------------------------------------------- */

static sa_status platform_status(sa_emu *e, sa_emu_status *out)
{
	memset(out, 0, sizeof(*out));
	out->product = e->p.product;
	memcpy(out->chip_id, e->p.chip_id, sizeof(out->chip_id));
	out->current_tcb = e->p.current_tcb;
	out->reported_tcb = e->p.reported_tcb;
	out->committed_tcb = e->p.committed_tcb;
	out->current = e->p.current_fw;
	out->committed = e->p.committed_fw;
	for (size_t i = 0; i < e->n_guests; i++)
		if (e->guests[i]->state != EMU_GUEST_DECOMMISSIONED)
			out->guest_count++;
	out->guest_count += emu_sev_live_count(e);
	out->mask_chip_id = e->p.mask_chip_id;
	out->mask_chip_key = e->p.mask_chip_key;
	out->vlek_loaded = e->p.vlek_loaded;
	return SA_OK;
}

sa_status sa_emu_platform_status(sa_emu *e, sa_emu_status *out, sa_error *err)
{
	SA_ENSURE(e && out, err, SA_ERR_ARG, "platform status: missing emulator or output");
	EMU_LOCKED(e, platform_status(e, out));
}

sa_status sa_emu_export_root(sa_emu *e, char **pem, sa_error *err)
{
	SA_ENSURE(e && pem, err, SA_ERR_ARG, "export root: missing emulator or output");
	EMU_LOCKED(e, sa_cert_to_pem(e->ark, pem, err));
}

static sa_status export_chain(sa_emu *e, bool vlek, char **pem, sa_error *err)
{
	char *a = NULL, *b = NULL;
	SA_TRY(sa_cert_to_pem(vlek ? e->asvk : e->ask, &a, err));
	sa_status st = sa_cert_to_pem(e->ark, &b, err);
	if (st == SA_OK) {
		size_t la = strlen(a), lb = strlen(b);
		char *s = malloc(la + lb + 1);
		if (!s) {
			st = sa_error_set(err, SA_ERR_NOMEM, "export chain: out of memory");
		} else {
			memcpy(s, a, la);
			memcpy(s + la, b, lb + 1);
			*pem = s;
		}
	}
	free(a);
	free(b);
	return st;
}

sa_status sa_emu_export_chain(sa_emu *e, bool vlek, char **pem, sa_error *err)
{
	SA_ENSURE(e && pem, err, SA_ERR_ARG, "export chain: missing emulator or output");
	EMU_LOCKED(e, export_chain(e, vlek, pem, err));
}

static sa_status export_vek(sa_emu *e, bool vlek, uint8_t **der, size_t *len, sa_error *err)
{
	if (vlek) {
		SA_ENSURE(e->p.vlek_loaded && e->vlek, err, SA_ERR_NOT_FOUND, "export VLEK: no VLEK is loaded");
		return sa_cert_to_der(e->vlek, der, len, err);
	}
	SA_TRY(emu_vcek_ensure(e, e->p.reported_tcb, err));
	return sa_cert_to_der(e->vcek, der, len, err);
}

sa_status sa_emu_export_vek(sa_emu *e, bool vlek, uint8_t **der, size_t *len, sa_error *err)
{
	SA_ENSURE(e && der && len, err, SA_ERR_ARG, "export VEK: missing emulator or output");
	EMU_LOCKED(e, export_vek(e, vlek, der, len, err));
}

static sa_status set_config(sa_emu *e, uint64_t reported, bool mask_id, bool mask_key, uint32_t *fw, sa_error *err)
{
	sa_error why;
	if (emu_tcb_check(e->p.product, reported, "REPORTED_TCB", &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_SET_CONFIG: %s", why.msg);
	if (!emu_tcb_le(e->p.product, reported, e->p.current_tcb)) {
		char r[96], c[96];
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			       "SNP_SET_CONFIG: REPORTED_TCB %s exceeds the CURRENT_TCB %s, expected no component "
			       "above it",
			       emu_tcb_str(e->p.product, reported, r, sizeof(r)),
			       emu_tcb_str(e->p.product, e->p.current_tcb, c, sizeof(c)));
	}
	/* The VCEK of the new REPORTED_TCB first, so it is there once the change is. */
	sa_status st = emu_vcek_ensure(e, reported, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, "SNP_SET_CONFIG");
	emu_platform p = e->p;
	p.reported_tcb = reported;
	p.mask_chip_id = mask_id;
	p.mask_chip_key = mask_key;
	if ((st = emu_platform_save(e, &p, err)) != SA_OK)
		return emu_fw_io(st, fw, err, "SNP_SET_CONFIG");
	e->p = p;
	return emu_fw_ok(fw);
}

sa_status sa_emu_set_config(sa_emu *e, uint64_t reported_tcb, bool mask_chip_id, bool mask_chip_key,
			    uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_SET_CONFIG: no emulator");
	EMU_LOCKED(e, set_config(e, reported_tcb, mask_chip_id, mask_chip_key, fw, err));
}

static sa_status update_firmware(sa_emu *e, uint64_t tcb, sa_fw_version ver, uint32_t *fw, sa_error *err)
{
	sa_error why;
	if (emu_tcb_check(e->p.product, tcb, "CURRENT_TCB", &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "firmware update: %s", why.msg);
	char a[96], b[96];
	if (!emu_tcb_le(e->p.product, e->p.committed_tcb, tcb))
		return emu_fw_fail(SA_FW_BAD_SVN, fw, err,
			       "firmware update: TCB %s is below the COMMITTED_TCB %s in some component (rollback)",
			       emu_tcb_str(e->p.product, tcb, a, sizeof(a)),
			       emu_tcb_str(e->p.product, e->p.committed_tcb, b, sizeof(b)));
	if (fw_older(ver, e->p.committed_fw))
		return emu_fw_fail(SA_FW_BAD_SVN, fw, err,
			       "firmware update: version %u.%u.%u is older than the committed %u.%u.%u", ver.major,
			       ver.minor, ver.build, e->p.committed_fw.major, e->p.committed_fw.minor,
			       e->p.committed_fw.build);
	emu_platform p = e->p;
	p.current_tcb = tcb;
	p.current_fw = ver;
	if (!emu_tcb_le(p.product, p.reported_tcb, tcb))
		p.reported_tcb = tcb;
	sa_status st = emu_vcek_ensure(e, p.reported_tcb, err);
	if (st == SA_OK)
		st = emu_platform_save(e, &p, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, "firmware update");
	e->p = p;
	return emu_fw_ok(fw);
}

sa_status sa_emu_update_firmware(sa_emu *e, uint64_t current_tcb, sa_fw_version fw_version, uint32_t *fw_status,
				 sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "firmware update: no emulator");
	EMU_LOCKED(e, update_firmware(e, current_tcb, fw_version, fw, err));
}

static sa_status commit(sa_emu *e, uint32_t *fw, sa_error *err)
{
	emu_platform p = e->p;
	p.committed_tcb = p.current_tcb;
	p.committed_fw = p.current_fw;
	sa_status st = emu_platform_save(e, &p, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, "SNP_COMMIT");
	e->p = p;
	return emu_fw_ok(fw);
}

sa_status sa_emu_commit(sa_emu *e, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_COMMIT: no emulator");
	EMU_LOCKED(e, commit(e, fw, err));
}

static sa_status vlek_load(sa_emu *e, const char *csp_id, uint32_t *fw, sa_error *err)
{
	bool printable = csp_id && *csp_id && strlen(csp_id) <= EMU_CSP_ID_MAX;
	for (const char *c = csp_id; printable && *c; c++)
		printable = *c >= 0x20 && *c <= 0x7E;
	if (!printable)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			       "VLEK load: csp_id must be 1 to %d printable ASCII characters", EMU_CSP_ID_MAX);
	SA_ENSURE(e->p.vlek_generation < UINT32_MAX, err, SA_ERR_RANGE, "VLEK load: generation counter exhausted");
	EVP_PKEY *key = NULL;
	sa_cert *cert = NULL;
	sa_status st = emu_vlek_issue(e, csp_id, &key, &cert, err);
	if (st != SA_OK) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	emu_platform p = e->p;
	p.vlek_loaded = true;
	p.vlek_generation = e->p.vlek_generation + 1;
	p.vlek_tcb = e->p.reported_tcb;
	snprintf(p.vlek_csp_id, sizeof(p.vlek_csp_id), "%s", csp_id);
	char krel[64], crel[64];
	snprintf(krel, sizeof(krel), "keys/vlek-%" PRIu32 ".pem", p.vlek_generation);
	snprintf(crel, sizeof(crel), "certs/vlek-%" PRIu32 ".der", p.vlek_generation);
	/* Key and certificate under the new generation, then platform.json names it. */
	st = emu_key_save(e->dir, krel, key, err);
	if (st == SA_OK)
		st = emu_cert_save(e->dir, crel, cert, false, err);
	if (st == SA_OK)
		st = emu_platform_save(e, &p, err);
	if (st != SA_OK) {
		emu_remove_quiet(e->dir, krel);
		emu_remove_quiet(e->dir, crel);
		EVP_PKEY_free(key);
		sa_cert_free(cert);
		return emu_fw_io(st, fw, err, "VLEK load");
	}
	if (e->p.vlek_loaded) {
		snprintf(krel, sizeof(krel), "keys/vlek-%" PRIu32 ".pem", e->p.vlek_generation);
		snprintf(crel, sizeof(crel), "certs/vlek-%" PRIu32 ".der", e->p.vlek_generation);
		emu_remove_quiet(e->dir, krel);
		emu_remove_quiet(e->dir, crel);
	}
	EVP_PKEY_free(e->vlek_key);
	sa_cert_free(e->vlek);
	e->vlek_key = key;
	e->vlek = cert;
	e->p = p;
	return emu_fw_ok(fw);
}

sa_status sa_emu_vlek_load(sa_emu *e, const char *csp_id, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "VLEK load: no emulator");
	EMU_LOCKED(e, vlek_load(e, csp_id, fw, err));
}

/* ------------------------------------------------------------------------- */
/* Launch                                                                     */
/* ------------------------------------------------------------------------- */

static sa_status check_policy(const sa_emu *e, uint64_t policy, uint32_t *fw, sa_error *err)
{
	sa_error why;
	if (sa_policy_check_wellformed(policy, &why) != SA_OK)
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err, "SNP_LAUNCH_START: %s", why.msg);
	unsigned maj = sa_policy_abi_major(policy), min = sa_policy_abi_minor(policy);
	if (abi_newer(maj, min, e->p.current_fw))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
			       "SNP_LAUNCH_START: policy requires ABI %u.%u, the firmware implements %u.%u", maj, min,
			       e->p.current_fw.major, e->p.current_fw.minor);
	if (!(policy & SA_POLICY_SMT) && (e->p.platform_info & SA_PLATFORM_SMT_EN))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
			       "SNP_LAUNCH_START: policy 0x%llx forbids SMT (bit 16 clear) but SMT is enabled on the "
			       "platform",
			       (unsigned long long)policy);
	if ((policy & SA_POLICY_RAPL_DIS) && !(e->p.platform_info & SA_PLATFORM_RAPL_DIS))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
			       "SNP_LAUNCH_START: policy requires RAPL disabled (bit 23) but RAPL is enabled on the "
			       "platform");
	if ((policy & SA_POLICY_CIPHERTEXT_HIDING) && !(e->p.platform_info & SA_PLATFORM_CIPHERTEXT_HIDING_EN))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
			       "SNP_LAUNCH_START: policy requires ciphertext hiding (bit 24), which the platform has "
			       "not "
			       "enabled");
	return SA_OK;
}

sa_status emu_handle_pick(const sa_emu *e, const char *cmd, uint32_t *handle, uint32_t *fw, sa_error *err)
{
	uint32_t h = e->p.next_handle;
	/* A handle whose file exists is never reused (a crash may have left one beyond next_handle). */
	char rel[32], srel[32];
	for (;; h++) {
		snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".json", h);
		snprintf(srel, sizeof(srel), "guests/%" PRIu32 ".sev.json", h);
		if (h == UINT32_MAX || (!find_guest(e, h) && !emu_sev_find(e, h) && !emu_exists(e->dir, rel) &&
					!emu_exists(e->dir, srel)))
			break;
	}
	if (h == UINT32_MAX)
		return emu_fw_fail(SA_FW_RESOURCE_LIMIT, fw, err, "%s: guest handles exhausted", cmd);
	*handle = h;
	return SA_OK;
}

static sa_status launch_start(sa_emu *e, uint64_t policy, uint32_t *handle, uint32_t *fw, sa_error *err)
{
	SA_TRY(check_policy(e, policy, fw, err));
	uint32_t h;
	SA_TRY(emu_handle_pick(e, "SNP_LAUNCH_START", &h, fw, err));
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".json", h);
	emu_guest *g = calloc(1, sizeof(*g));
	if (!g)
		return emu_fw_fail(SA_FW_RESOURCE_LIMIT, fw, err, "SNP_LAUNCH_START: out of memory");
	g->handle = h;
	g->state = EMU_GUEST_LAUNCHING;
	g->policy = policy;
	g->launch_tcb = e->p.current_tcb;
	sa_gctx_init(&g->gctx, NULL);
	memset(g->report_id_ma, 0xFF, sizeof(g->report_id_ma));
	sa_status st = SA_OK;
	if (RAND_priv_bytes(&g->vmpck[0][0], sizeof(g->vmpck)) != 1 || RAND_priv_bytes(g->vmrk, sizeof(g->vmrk)) != 1 ||
	    RAND_bytes(g->report_id, sizeof(g->report_id)) != 1)
		st = sa_crypto_error(err, "SNP_LAUNCH_START: random generator failed");

	/* Keys, then the guest, then next_handle: each step leaves a consistent directory. */
	emu_platform p = e->p;
	p.next_handle = h + 1;
	bool wrote_guest = false;
	if (st == SA_OK)
		st = emu_guest_save_keys(e, g, err);
	if (st == SA_OK) {
		st = emu_guest_save(e, g, err);
		wrote_guest = st == SA_OK;
	}
	if (st == SA_OK)
		st = emu_platform_save(e, &p, err);
	if (st == SA_OK && e->n_guests == e->cap_guests) {
		size_t cap = e->cap_guests ? 2 * e->cap_guests : 16;
		emu_guest **v = realloc(e->guests, cap * sizeof(*v));
		if (!v) {
			st = sa_error_set(err, SA_ERR_NOMEM, "SNP_LAUNCH_START: out of memory");
		} else {
			e->guests = v;
			e->cap_guests = cap;
		}
	}
	if (st != SA_OK) {
		char krel[32];
		snprintf(krel, sizeof(krel), "guests/%" PRIu32 ".keys", h);
		if (wrote_guest)
			emu_remove_quiet(e->dir, rel);
		emu_remove_quiet(e->dir, krel);
		emu_guest_free(g);
		return emu_fw_io(st, fw, err, "SNP_LAUNCH_START");
	}
	e->guests[e->n_guests++] = g;
	e->p = p;
	*handle = h;
	return emu_fw_ok(fw);
}

sa_status sa_emu_launch_start(sa_emu *e, uint64_t policy, uint32_t *handle, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e || !handle)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_START: missing emulator or handle output");
	EMU_LOCKED(e, launch_start(e, policy, handle, fw, err));
}

static sa_status secrets_page(const emu_guest *g, uint8_t out[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	sa_secrets_page s;
	memset(&s, 0, sizeof(s));
	s.version = 3;
	memcpy(s.vmpck, g->vmpck, sizeof(s.vmpck));
	sa_status st = sa_secrets_page_encode(&s, out, err);
	sa_secrets_page_wipe(&s);
	OPENSSL_cleanse(&s, sizeof(s));
	return st;
}

static sa_status launch_update(sa_emu *e, uint32_t handle, uint8_t type, uint64_t gpa, const uint8_t *page,
			       uint8_t *out_page, uint32_t *fw, sa_error *err)
{
	emu_guest *g;
	SA_TRY(live_guest(e, handle, "SNP_LAUNCH_UPDATE", &g, fw, err));
	if (g->state != EMU_GUEST_LAUNCHING)
		return emu_fw_fail(SA_FW_INVALID_GUEST_STATE, fw, err,
			       "SNP_LAUNCH_UPDATE: guest %" PRIu32 " is %s, expected launching", handle,
			       emu_guest_state_name(g->state));
	if (type < SA_PAGE_NORMAL || type > SA_PAGE_CPUID)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			       "SNP_LAUNCH_UPDATE: page type %u is reserved, expected 1 (NORMAL) to 6 (CPUID)", type);
	if (gpa & (SA_PAGE_SIZE - 1))
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_UPDATE: GPA 0x%llx is not 4 KiB aligned",
			       (unsigned long long)gpa);
	bool needs_page = type == SA_PAGE_NORMAL || type == SA_PAGE_VMSA || type == SA_PAGE_CPUID;
	bool refuses_page = type == SA_PAGE_ZERO || type == SA_PAGE_UNMEASURED;
	if (needs_page && !page)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_UPDATE: a %s page needs its contents",
			       sa_page_type_name(type));
	if (refuses_page && page)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_UPDATE: a %s page comes without contents",
			       sa_page_type_name(type));
	if (type == SA_PAGE_SECRETS && g->has_secrets)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			       "SNP_LAUNCH_UPDATE: guest %" PRIu32 " already has its SECRETS page (at GPA 0x%llx)",
			       handle, (unsigned long long)g->secrets_gpa);

	emu_guest c = *g;
	sa_status st;
	sa_error why;
	switch (type) {
	case SA_PAGE_NORMAL: st = sa_gctx_update_page(&c.gctx, type, gpa, page, &why); break;
	case SA_PAGE_VMSA: st = sa_gctx_update_page(&c.gctx, type, SA_VMSA_GPA, page, &why); break;
	default: st = sa_gctx_update_page(&c.gctx, type, gpa, NULL, &why); break;
	}
	if (st != SA_OK) {
		OPENSSL_cleanse(&c, sizeof(c));
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return sa_error_set(err, st, "SNP_LAUNCH_UPDATE: %s", why.msg);
	}
	c.pages++;
	uint8_t secrets[SA_SECRETS_PAGE_SIZE];
	if (type == SA_PAGE_SECRETS) {
		c.has_secrets = true;
		c.secrets_gpa = gpa;
		if (out_page && (st = secrets_page(&c, secrets, err)) != SA_OK) {
			OPENSSL_cleanse(&c, sizeof(c));
			*fw = SA_FW_HWSEV_RET_PLATFORM;
			return st;
		}
	}
	if ((st = guest_commit(e, g, &c, err)) != SA_OK) {
		OPENSSL_cleanse(secrets, sizeof(secrets));
		return emu_fw_io(st, fw, err, "SNP_LAUNCH_UPDATE");
	}
	if (type == SA_PAGE_SECRETS && out_page)
		memcpy(out_page, secrets, sizeof(secrets));
	OPENSSL_cleanse(secrets, sizeof(secrets));
	return emu_fw_ok(fw);
}

sa_status sa_emu_launch_update(sa_emu *e, uint32_t handle, uint8_t page_type, uint64_t gpa, const uint8_t *page,
			       uint8_t *out_page, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_UPDATE: no emulator");
	EMU_LOCKED(e, launch_update(e, handle, page_type, gpa, page, out_page, fw, err));
}

/*
 * Check an ID block as firmware does and record its fields in c: the
 * structures must decode (INVALID_PARAM), VERSION be 1 and ID_KEY_ALGO (and
 * with an author key AUTH_KEY_ALGO) 1 (INVALID_PARAM); ID_BLOCK_SIG must
 * verify with ID_KEY and, with AUTHOR_KEY_EN, ID_KEY_SIG with AUTHOR_KEY
 * (BAD_SIGNATURE, also for a key that is not a P-384 point); then LD must
 * equal the launch digest (BAD_MEASUREMENT) and POLICY the launch policy
 * (POLICY_FAILURE).
 */
static sa_status id_block_apply(const emu_guest *g, const uint8_t *block, const uint8_t *auth, bool author_key_en,
				emu_guest *c, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "SNP_LAUNCH_FINISH";
	sa_id_block b;
	sa_id_auth *a = OPENSSL_malloc(sizeof(*a));
	if (!a) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return sa_error_set(err, SA_ERR_NOMEM, "%s: out of memory", cmd);
	}
	sa_error why;
	sa_status st = SA_OK;
	if (sa_id_block_decode(block, ID_BLOCK_SIZE, &b, &why) != SA_OK ||
	    sa_id_auth_decode(auth, ID_AUTH_SIZE, a, &why) != SA_OK)
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: %s", cmd, why.msg);
	else if (b.version != SA_ID_BLOCK_VERSION)
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: ID block VERSION is %" PRIu32 ", expected 1", cmd,
			     b.version);
	else if (a->id_key_algo != SA_ID_ALGO_ECDSA_P384_SHA384)
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			     "%s: ID_KEY_ALGO is %" PRIu32 ", expected 1 (ECDSA P-384 with SHA-384)", cmd,
			     a->id_key_algo);
	else if (author_key_en && a->auth_key_algo != SA_ID_ALGO_ECDSA_P384_SHA384)
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			     "%s: AUTH_KEY_ALGO is %" PRIu32 ", expected 1 (ECDSA P-384 with SHA-384)", cmd,
			     a->auth_key_algo);
	else if (sa_id_block_verify(block, a, &why) != SA_OK)
		st = emu_fw_fail(SA_FW_BAD_SIGNATURE, fw, err, "%s: %s", cmd, why.msg);
	else if (author_key_en && sa_id_key_verify(a, &why) != SA_OK)
		st = emu_fw_fail(SA_FW_BAD_SIGNATURE, fw, err, "%s: %s", cmd, why.msg);
	else if (memcmp(b.ld, g->gctx.ld, sizeof(b.ld)) != 0) {
		char got[97], want[97];
		sa_hex_encode(b.ld, sizeof(b.ld), got);
		sa_hex_encode(g->gctx.ld, sizeof(g->gctx.ld), want);
		st = emu_fw_fail(SA_FW_BAD_MEASUREMENT, fw, err, "%s: the ID block's LD %s differs from the launch digest %s",
			     cmd, got, want);
	} else if (b.policy != g->policy)
		st = emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
			     "%s: the ID block's POLICY 0x%llx differs from the launch policy 0x%llx", cmd,
			     (unsigned long long)b.policy, (unsigned long long)g->policy);
	if (st == SA_OK) {
		/* Digests of the keys as given (all 0x404 bytes; the codec round-trips them exactly). */
		st = sa_ecdsa_pubkey_digest(&a->id_key, c->id_key_digest, err);
		if (st == SA_OK && author_key_en)
			st = sa_ecdsa_pubkey_digest(&a->author_key, c->author_key_digest, err);
		if (st != SA_OK)
			*fw = SA_FW_HWSEV_RET_PLATFORM;
	}
	OPENSSL_free(a);
	if (st != SA_OK)
		return st;
	memcpy(c->family_id, b.family_id, sizeof(c->family_id));
	memcpy(c->image_id, b.image_id, sizeof(c->image_id));
	c->guest_svn = b.guest_svn;
	c->id_block_en = true;
	c->author_key_en = author_key_en;
	return SA_OK;
}

static sa_status launch_finish(sa_emu *e, uint32_t handle, const uint8_t *id_block, const uint8_t *id_auth,
			       bool author_key_en, const uint8_t host_data[32], uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "SNP_LAUNCH_FINISH";
	emu_guest *g;
	SA_TRY(live_guest(e, handle, cmd, &g, fw, err));
	if (g->state != EMU_GUEST_LAUNCHING)
		return emu_fw_fail(SA_FW_INVALID_GUEST_STATE, fw, err, "%s: guest %" PRIu32 " is %s, expected launching",
			       cmd, handle, emu_guest_state_name(g->state));
	if (id_block && !id_auth)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: an ID block needs its ID_AUTH_INFO", cmd);
	if (!id_block && (id_auth || author_key_en))
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: ID_AUTH_INFO and AUTHOR_KEY_EN need an ID block",
			       cmd);
	emu_guest c = *g;
	sa_status st = id_block ? id_block_apply(g, id_block, id_auth, author_key_en, &c, fw, err) : SA_OK;
	if (st == SA_OK) {
		if (host_data)
			memcpy(c.host_data, host_data, sizeof(c.host_data));
		c.state = EMU_GUEST_RUNNING;
		if ((st = guest_commit(e, g, &c, err)) != SA_OK)
			return emu_fw_io(st, fw, err, cmd);
		return emu_fw_ok(fw);
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return st;
}

sa_status sa_emu_launch_finish(sa_emu *e, uint32_t handle, const uint8_t *id_block, const uint8_t *id_auth,
			       bool author_key_en, const uint8_t host_data[32], uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	*fw = SA_FW_SUCCESS;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_LAUNCH_FINISH: no emulator");
	EMU_LOCKED(e, launch_finish(e, handle, id_block, id_auth, author_key_en, host_data, fw, err));
}

static sa_status guest_secrets(sa_emu *e, uint32_t handle, uint8_t page[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	emu_guest *g = find_guest(e, handle);
	SA_ENSURE(g && g->state != EMU_GUEST_DECOMMISSIONED, err, SA_ERR_NOT_FOUND,
		  "guest secrets: no guest with handle %" PRIu32, handle);
	SA_ENSURE(g->has_secrets, err, SA_ERR_STATE, "guest secrets: guest %" PRIu32 " has no SECRETS page yet",
		  handle);
	return secrets_page(g, page, err);
}

sa_status sa_emu_guest_secrets(sa_emu *e, uint32_t handle, uint8_t page[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	SA_ENSURE(e && page, err, SA_ERR_ARG, "guest secrets: missing emulator or output");
	EMU_LOCKED(e, guest_secrets(e, handle, page, err));
}

static sa_status guest_measurement(sa_emu *e, uint32_t handle, uint8_t ld[48], sa_error *err)
{
	emu_guest *g = find_guest(e, handle);
	SA_ENSURE(g && g->state != EMU_GUEST_DECOMMISSIONED, err, SA_ERR_NOT_FOUND,
		  "guest measurement: no guest with handle %" PRIu32, handle);
	memcpy(ld, g->gctx.ld, 48);
	return SA_OK;
}

sa_status sa_emu_guest_measurement(sa_emu *e, uint32_t handle, uint8_t ld[48], sa_error *err)
{
	SA_ENSURE(e && ld, err, SA_ERR_ARG, "guest measurement: missing emulator or output");
	EMU_LOCKED(e, guest_measurement(e, handle, ld, err));
}

static sa_status snp_guest_info(sa_emu *e, uint32_t handle, sa_emu_snp_guest_info *out, sa_error *err)
{
	const emu_guest *g = find_guest(e, handle);
	SA_ENSURE(g && g->state != EMU_GUEST_DECOMMISSIONED, err, SA_ERR_NOT_FOUND,
		  "SNP guest info: no SNP guest with handle %" PRIu32, handle);
	memset(out, 0, sizeof(*out));
	out->handle = g->handle;
	out->running = g->state == EMU_GUEST_RUNNING;
	out->policy = g->policy;
	memcpy(out->measurement, g->gctx.ld, sizeof(out->measurement));
	memcpy(out->host_data, g->host_data, sizeof(out->host_data));
	out->id_block_en = g->id_block_en;
	out->author_key_en = g->author_key_en;
	memcpy(out->id_key_digest, g->id_key_digest, sizeof(out->id_key_digest));
	memcpy(out->author_key_digest, g->author_key_digest, sizeof(out->author_key_digest));
	return SA_OK;
}

sa_status sa_emu_snp_guest_info_get(sa_emu *e, uint32_t handle, sa_emu_snp_guest_info *out, sa_error *err)
{
	SA_ENSURE(e && out, err, SA_ERR_ARG, "SNP guest info: missing emulator or output");
	EMU_LOCKED(e, snp_guest_info(e, handle, out, err));
}

static sa_status decommission(sa_emu *e, uint32_t handle, uint32_t *fw, sa_error *err)
{
	emu_guest *g;
	SA_TRY(live_guest(e, handle, "SNP_DECOMMISSION", &g, fw, err));
	emu_guest c = *g;
	c.state = EMU_GUEST_DECOMMISSIONED;
	OPENSSL_cleanse(c.vmpck, sizeof(c.vmpck));
	OPENSSL_cleanse(c.vmrk, sizeof(c.vmrk));
	sa_status st = guest_commit(e, g, &c, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, "SNP_DECOMMISSION");
	/* The JSON says decommissioned; what is left is removed now or on the next open. */
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".keys", handle);
	emu_remove_quiet(e->dir, rel);
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".certs", handle);
	emu_remove_quiet(e->dir, rel);
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".seq", handle);
	emu_remove_quiet(e->dir, rel);
	return emu_fw_ok(fw);
}

sa_status sa_emu_decommission(sa_emu *e, uint32_t handle, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "SNP_DECOMMISSION: no emulator");
	pthread_mutex_lock(&e->mu);
	sa_status st = emu_sev_find(e, handle) ? emu_sev_decommission(e, handle, fw, err)
					       : decommission(e, handle, fw, err);
	pthread_mutex_unlock(&e->mu);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Guest requests                                                             */
/* ------------------------------------------------------------------------- */

/* The signer KEY_SEL picks, or a status for the response. */
static uint32_t pick_signer(const sa_emu *e, uint32_t key_sel, emu_root_key *out)
{
	switch (key_sel) {
	case 0: *out = vlek_usable(e) ? EMU_ROOT_VLEK : EMU_ROOT_VCEK; return SA_FW_SUCCESS;
	case 1: *out = EMU_ROOT_VCEK; return SA_FW_SUCCESS;
	case 2:
		if (!vlek_usable(e))
			return SA_FW_INVALID_KEY;
		*out = EMU_ROOT_VLEK;
		return SA_FW_SUCCESS;
	}
	return SA_FW_INVALID_PARAM;
}

static sa_status build_report(sa_emu *e, const emu_guest *g, const sa_report_req *req, emu_root_key signer,
			      uint8_t out[SA_SNP_REPORT_SIZE], sa_error *err)
{
	const emu_platform *p = &e->p;
	sa_snp_report r;
	memset(&r, 0, sizeof(r));
	r.version = p->product == SA_PRODUCT_TURIN ? 5 : 3;
	r.guest_svn = g->guest_svn;
	r.policy = g->policy;
	memcpy(r.family_id, g->family_id, 16);
	memcpy(r.image_id, g->image_id, 16);
	r.vmpl = req->vmpl;
	r.signature_algo = SA_SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r.current_tcb = p->current_tcb;
	r.platform_info = p->platform_info;
	bool sign_vcek = signer == EMU_ROOT_VCEK && !p->mask_chip_key;
	unsigned signing_key = signer == EMU_ROOT_VLEK ? SA_SIGNING_KEY_VLEK
			       : sign_vcek             ? SA_SIGNING_KEY_VCEK
						       : SA_SIGNING_KEY_NONE;
	r.key_info = (g->author_key_en ? SA_KEYINFO_AUTHOR_KEY_EN : 0) |
		     (p->mask_chip_key ? SA_KEYINFO_MASK_CHIP_KEY : 0) | signing_key << SA_KEYINFO_SIGNING_KEY_SHIFT;
	memcpy(r.report_data, req->report_data, 64);
	memcpy(r.measurement, g->gctx.ld, 48);
	memcpy(r.host_data, g->host_data, 32);
	memcpy(r.id_key_digest, g->id_key_digest, 48);
	memcpy(r.author_key_digest, g->author_key_digest, 48);
	memcpy(r.report_id, g->report_id, 32);
	memcpy(r.report_id_ma, g->report_id_ma, 32);
	r.reported_tcb = p->reported_tcb;
	r.cpuid_fam_id = p->cpuid_fam;
	r.cpuid_mod_id = p->cpuid_mod;
	r.cpuid_step = p->cpuid_step;
	if (!p->mask_chip_id && signer == EMU_ROOT_VCEK)
		memcpy(r.chip_id, p->chip_id, 64);
	r.committed_tcb = p->committed_tcb;
	r.current = p->current_fw;
	r.committed = p->committed_fw;
	r.launch_tcb = g->launch_tcb;
	SA_TRY(sa_snp_report_encode(&r, out, SA_SNP_REPORT_SIZE, err));
	if (signing_key == SA_SIGNING_KEY_NONE)
		return SA_OK; /* MASK_CHIP_KEY: the signature stays zero */
	EVP_PKEY *key = NULL;
	if (signer == EMU_ROOT_VLEK) {
		key = e->vlek_key;
	} else {
		SA_TRY(emu_vcek_ensure(e, p->reported_tcb, err));
		key = e->vcek_key;
	}
	SA_TRY(sa_ecdsa_p384_sign_le(key, out, SA_SNP_REPORT_SIGNED_SIZE, r.sig_r, r.sig_s, err));
	return sa_snp_report_encode(&r, out, SA_SNP_REPORT_SIZE, err);
}

/* MSG_REPORT_REQ -> MSG_REPORT_RSP payload. */
static sa_status handle_report(sa_emu *e, const emu_guest *g, uint8_t vmpck_id, const uint8_t *payload, size_t len,
			       uint8_t *rsp, size_t *rsp_len, sa_error *err)
{
	sa_report_rsp r;
	memset(&r, 0, sizeof(r));
	sa_report_req req;
	emu_root_key signer = EMU_ROOT_VCEK;
	if (sa_report_req_decode(payload, len, &req, NULL) != SA_OK || req.vmpl < vmpck_id || req.vmpl > 3)
		r.status = SA_FW_INVALID_PARAM;
	else
		r.status = pick_signer(e, req.key_sel, &signer);
	if (r.status == SA_FW_SUCCESS) {
		r.report_size = SA_SNP_REPORT_SIZE;
		SA_TRY(build_report(e, g, &req, signer, r.report, err));
	}
	SA_TRY(sa_report_rsp_encode(&r, rsp, err));
	*rsp_len = SA_REPORT_RSP_SIZE;
	return SA_OK;
}

/* The status of a key request (SA_FW_SUCCESS if it can be served). */
static uint32_t check_key_req(const sa_emu *e, const emu_guest *g, uint8_t vmpck_id, const sa_key_req *q,
			      emu_root_key *root)
{
	if (q->root_key_select > 1 || q->vmpl < vmpck_id || q->vmpl > 3 || (q->guest_field_select & ~GFS_DEFINED))
		return SA_FW_INVALID_PARAM;
	if ((q->guest_field_select & GFS_LAUNCH_MIT) &&
	    (!q->has_launch_mit_vector || q->launch_mit_vector != 0 /* the guest launched with no mitigations */))
		return SA_FW_INVALID_PARAM;
	if (q->guest_svn > g->guest_svn)
		return SA_FW_INVALID_PARAM;
	if (emu_tcb_check(e->p.product, q->tcb_version, "TCB_VERSION", NULL) != SA_OK ||
	    !emu_tcb_le(e->p.product, q->tcb_version, e->p.committed_tcb))
		return SA_FW_INVALID_PARAM;
	if (q->key_sel > 2)
		return SA_FW_INVALID_PARAM;
	if (q->root_key_select == 1) {
		*root = EMU_ROOT_VMRK; /* KEY_SEL chooses between VCEK and VLEK only */
		return SA_FW_SUCCESS;
	}
	return pick_signer(e, q->key_sel, root);
}

/* MSG_KEY_REQ -> MSG_KEY_RSP payload. */
static sa_status handle_key(sa_emu *e, const emu_guest *g, uint8_t vmpck_id, const uint8_t *payload, size_t len,
			    uint8_t *rsp, size_t *rsp_len, sa_error *err)
{
	sa_key_rsp r;
	memset(&r, 0, sizeof(r));
	sa_key_req req;
	emu_root_key root = EMU_ROOT_VCEK;
	if (sa_key_req_decode(payload, len, &req, NULL) != SA_OK)
		r.status = SA_FW_INVALID_PARAM;
	else
		r.status = check_key_req(e, g, vmpck_id, &req, &root);
	sa_status st = SA_OK;
	if (r.status == SA_FW_SUCCESS)
		st = emu_derive_guest_key(e, g, root, &req, r.derived_key, err);
	if (st == SA_OK)
		st = sa_key_rsp_encode(&r, rsp, err);
	if (st == SA_OK)
		*rsp_len = SA_KEY_RSP_SIZE;
	OPENSSL_cleanse(&r, sizeof(r));
	return st;
}

static sa_status guest_request(sa_emu *e, uint32_t handle, const uint8_t *req, size_t req_len, uint8_t *resp,
			       size_t resp_cap, size_t *resp_len, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "SNP_GUEST_REQUEST";
	emu_guest *g;
	SA_TRY(live_guest(e, handle, cmd, &g, fw, err));
	if (g->state != EMU_GUEST_RUNNING)
		return emu_fw_fail(SA_FW_INVALID_GUEST_STATE, fw, err, "%s: guest %" PRIu32 " is %s, expected running", cmd,
			       handle, emu_guest_state_name(g->state));
	if (req_len > SA_GMSG_PAGE_SIZE || resp_cap < SA_GMSG_PAGE_SIZE)
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err,
			       "%s: request of %zu bytes and response buffer of %zu, expected at most and at least %d",
			       cmd, req_len, resp_cap, SA_GMSG_PAGE_SIZE);
	sa_error why;
	sa_gmsg_hdr hdr;
	if (sa_gmsg_hdr_decode(req, req_len, &hdr, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: %s", cmd, why.msg);
	if (hdr.msg_vmpck >= SA_VMPCK_COUNT)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: MSG_VMPCK is %u, expected 0 to 3", cmd,
			       hdr.msg_vmpck);

	uint8_t id = hdr.msg_vmpck;
	sa_gmsg_psp_ctx ctx;
	memcpy(ctx.vmpck, g->vmpck[id], SA_VMPCK_LEN);
	ctx.vmpck_id = id;
	ctx.seqno = g->seqno[id];
	uint8_t payload[SA_GMSG_MAX_PAYLOAD];
	uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
	size_t plen = 0, rlen = 0;
	uint32_t open_status = SA_FW_SUCCESS;
	sa_status st =
	    sa_gmsg_psp_open_request(&ctx, req, req_len, &hdr, payload, sizeof(payload), &plen, &open_status, &why);
	bool sync_pending = false;
	if (st == SA_OK) {
		/* The response will carry the request's seqno + 1.  Consume it on disk now: the
		 * data sync then overlaps the report's signature, and after a crash the PSP never
		 * seals a different response under a sequence number (an AES-GCM IV) it used. */
		uint64_t seq[SA_VMPCK_COUNT];
		memcpy(seq, g->seqno, sizeof(seq));
		seq[id] = ctx.seqno + 1;
		st = emu_seqno_begin(e, g, seq, &sync_pending, err);
		if (st != SA_OK)
			st = emu_fw_io(st, fw, err, cmd);
	} else {
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: %s", cmd, why.msg);
	}
	if (st != SA_OK) {
		/* refused, or the counter could not be written: no response */
	} else if (hdr.msg_type == SA_MSG_REPORT_REQ && hdr.msg_version == 1) {
		st = handle_report(e, g, id, payload, plen, rsp, &rlen, err);
	} else if (hdr.msg_type == SA_MSG_KEY_REQ && (hdr.msg_version == 1 || hdr.msg_version == 2)) {
		st = handle_key(e, g, id, payload, plen, rsp, &rlen, err);
	} else {
		st = emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			     "%s: %s (type %u) version %u is not implemented, expected MSG_REPORT_REQ or MSG_KEY_REQ",
			     cmd, sa_gmsg_type_name(hdr.msg_type), hdr.msg_type, hdr.msg_version);
	}
	OPENSSL_cleanse(payload, sizeof(payload));
	if (st == SA_OK)
		st = sa_gmsg_psp_seal_response(&ctx, &hdr, rsp, rlen, resp, resp_cap, resp_len, err);
	OPENSSL_cleanse(rsp, sizeof(rsp));
	/* The counter is durable before the response leaves. */
	sa_error sync_err;
	sa_status synced = emu_seqno_end(e, g, sync_pending, &sync_err);
	if (st == SA_OK && synced != SA_OK) {
		OPENSSL_cleanse(resp, resp_cap);
		*resp_len = 0;
		if (err)
			*err = sync_err;
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		st = sa_error_wrap(err, synced, "%s: the message counter is not durable, so no response leaves "
				   "(the sequence number is consumed; firmware status %s)", cmd,
				   sa_fw_status_name(SA_FW_HWSEV_RET_PLATFORM));
	} else if (st != SA_OK && *fw == SA_FW_SUCCESS) {
		*fw = SA_FW_HWSEV_RET_PLATFORM; /* the emulator itself failed (crypto, memory) */
	}
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	return st == SA_OK ? emu_fw_ok(fw) : st;
}

sa_status sa_emu_guest_request(sa_emu *e, uint32_t handle, const uint8_t *req, size_t req_len, uint8_t *resp,
			       size_t resp_cap, size_t *resp_len, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw_local;
	uint32_t *fw = fw_status ? fw_status : &fw_local;
	*fw = SA_FW_SUCCESS;
	if (!e || !req || !resp || !resp_len)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
			       "SNP_GUEST_REQUEST: missing emulator, request or response");
	*resp_len = 0;
	EMU_LOCKED(e, guest_request(e, handle, req, req_len, resp, resp_cap, resp_len, fw, err));
}

/* ------------------------------------------------------------------------- */
/* Extended-request certificates                                              */
/* ------------------------------------------------------------------------- */

static sa_status ext_certs_rel(const sa_emu *e, uint32_t handle, char *rel, size_t cap, sa_error *err)
{
	if (handle == 0) {
		snprintf(rel, cap, "ext_certs.bin");
		return SA_OK;
	}
	const emu_guest *g = find_guest(e, handle);
	SA_ENSURE(g && g->state != EMU_GUEST_DECOMMISSIONED, err, SA_ERR_NOT_FOUND,
		  "certificate table: no guest with handle %" PRIu32, handle);
	snprintf(rel, cap, "guests/%" PRIu32 ".certs", handle);
	return SA_OK;
}

static sa_status set_ext_certs(sa_emu *e, uint32_t handle, const uint8_t *table, size_t len, sa_error *err)
{
	char rel[40];
	SA_TRY(ext_certs_rel(e, handle, rel, sizeof(rel), err));
	if (!table || !len)
		return emu_remove(e->dir, rel, err);
	SA_ENSURE(len <= EXT_CERTS_MAX, err, SA_ERR_RANGE, "certificate table: %zu bytes, at most %d", len,
		  EXT_CERTS_MAX);
	sa_cert_table t;
	sa_status st = sa_cert_table_decode(table, len, &t, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "certificate table");
	return emu_write(e->dir, rel, table, len, 0600, err);
}

sa_status sa_emu_set_ext_certs(sa_emu *e, uint32_t handle, const uint8_t *table, size_t len, sa_error *err)
{
	SA_ENSURE(e, err, SA_ERR_ARG, "certificate table: no emulator");
	EMU_LOCKED(e, set_ext_certs(e, handle, table, len, err));
}

/* A stored table, validated again; SA_ERR_NOT_FOUND if there is none. */
static sa_status read_ext_certs(const sa_emu *e, const char *rel, uint8_t **table, size_t *len, sa_error *err)
{
	if (!emu_exists(e->dir, rel))
		return sa_error_set(err, SA_ERR_NOT_FOUND, "%s: absent", rel);
	uint8_t *buf = NULL;
	size_t n = 0;
	SA_TRY(emu_read(e->dir, rel, EXT_CERTS_MAX, &buf, &n, err));
	sa_cert_table t;
	sa_status st = sa_cert_table_decode(buf, n, &t, err);
	if (st != SA_OK) {
		free(buf);
		return sa_error_wrap(err, st, "%s", rel);
	}
	*table = buf;
	*len = n;
	return SA_OK;
}

/* ARK, ASK and VCEK, or ARK, ASVK and VLEK when KEY_SEL 0 would pick the VLEK. */
static sa_status build_ext_certs(sa_emu *e, uint8_t **table, size_t *len, sa_error *err)
{
	bool vlek = vlek_usable(e);
	if (!vlek)
		SA_TRY(emu_vcek_ensure(e, e->p.reported_tcb, err));
	const sa_cert *certs[3] = {e->ark, vlek ? e->asvk : e->ask, vlek ? e->vlek : e->vcek};
	const uint8_t *guids[3] = {SA_CERT_GUID_ARK, SA_CERT_GUID_ASK, vlek ? SA_CERT_GUID_VLEK : SA_CERT_GUID_VCEK};
	uint8_t *der[3] = {NULL, NULL, NULL};
	size_t der_len[3] = {0, 0, 0};
	sa_cert_table t;
	memset(&t, 0, sizeof(t));
	sa_status st = SA_OK;
	size_t bound = 4 * 24;
	for (size_t i = 0; i < 3 && st == SA_OK; i++) {
		st = sa_cert_to_der(certs[i], &der[i], &der_len[i], err);
		if (st == SA_OK) {
			memcpy(t.e[i].guid, guids[i], 16);
			t.e[i].data = der[i];
			t.e[i].len = der_len[i];
			t.n = i + 1;
			bound += der_len[i];
		}
	}
	uint8_t *out = NULL;
	size_t needed = 0;
	if (st == SA_OK && !(out = malloc(bound)))
		st = sa_error_set(err, SA_ERR_NOMEM, "certificate table: out of memory");
	if (st == SA_OK)
		st = sa_cert_table_encode(&t, out, bound, &needed, err);
	for (size_t i = 0; i < 3; i++)
		free(der[i]);
	if (st != SA_OK) {
		free(out);
		return st;
	}
	*table = out;
	*len = needed;
	return SA_OK;
}

static sa_status get_ext_certs(sa_emu *e, uint32_t handle, uint8_t **table, size_t *len, sa_error *err)
{
	char rel[40];
	if (handle != 0) {
		SA_TRY(ext_certs_rel(e, handle, rel, sizeof(rel), err));
		sa_status st = read_ext_certs(e, rel, table, len, err);
		if (st != SA_ERR_NOT_FOUND)
			return st;
	}
	sa_status st = read_ext_certs(e, "ext_certs.bin", table, len, err);
	if (st != SA_ERR_NOT_FOUND)
		return st;
	return build_ext_certs(e, table, len, err);
}

sa_status sa_emu_get_ext_certs(sa_emu *e, uint32_t handle, uint8_t **table, size_t *len, sa_error *err)
{
	SA_ENSURE(e && table && len, err, SA_ERR_ARG, "certificate table: missing emulator or output");
	EMU_LOCKED(e, get_ext_certs(e, handle, table, len, err));
}
