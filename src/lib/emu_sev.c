/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated AMD Secure Processor's legacy firmware: SEV and SEV-ES
 * platform and launch commands (SEV API spec 55766), beside the SNP firmware
 * of emu.c, over the state of emu_state.c and the keys of emu_keys.c.  The
 * certificate, session, measurement, secret and report formats are those of
 * sev_cert.c and sev.c, which the guest owner's side uses too.
 *
 * State directory (in addition to emu_state.c's):
 *   sev.json                 generation of the identity files, owner flag, CONFIG_ES (0644)
 *   keys/sev-<n>.pem         PEK, PDH and (self-owned) OCA private keys, PKCS#8 PEM (0600)
 *   certs/sev-<n>.certs      OCA ‖ PEK ‖ PDH, 3 x 0x824 bytes (0644)
 *   certs/sev_ask_ark.cert   the AMD-format ASK ‖ ARK (as AMD's ask_ark_<product>.cert)
 *   guests/<h>.sev.json      an SEV guest from LAUNCH_MEASURE on (0600)
 *   guests/<h>.sev.keys      its TEK, TIK and injected secrets (0600)
 * A change of identity writes generation n+1's key and certificate files,
 * then sev.json naming n+1 (the commit), then removes generation n; files of
 * other generations are removed when the identity is loaded.
 *
 * Firmware choices where the specification leaves room or the emulator
 * models less than hardware:
 *
 * - API version: the platform's current firmware version (PLATFORM_STATUS
 *   reports its major.minor.build; one PSP firmware serves SEV and SNP, and
 *   the SNP defaults are 1.55.x, above the 0.23 that ATTESTATION needs).  The
 *   OCA, PEK and PDH certificates carry it; the CEK carries 0.14, as real CEKs.
 * - CEK: derived from the chip secret (emu_keys.c); exported unsigned by
 *   PDH_CERT_EXPORT, ASK-signed by the emulator's KDS (sa_emu_sev_export_amd).
 *   The ARK and ASK in AMD's format are the RSA keys of the X.509 ARK/ASK,
 *   each with a random 16-byte KEY_ID, made at creation or, for a state
 *   directory made before SEV support, on first use (from keys/ark.pem).
 * - Platform state: INIT while no SEV guest exists, WORKING otherwise (SNP
 *   guests do not count; GUEST_COUNT counts SEV guests).  Commands and the
 *   states they accept: PLATFORM_STATUS, GET_ID, PEK_CSR, PDH_CERT_EXPORT,
 *   PDH_GEN, LAUNCH_*: INIT or WORKING; FACTORY_RESET, PEK_GEN,
 *   PEK_CERT_IMPORT and the CONFIG_ES re-INIT: INIT only.
 *   Otherwise INVALID_PLATFORM_STATE.  FLAGS: bit 0 OWNER (external OCA),
 *   bit 8 CONFIG_ES.
 * - PEK_CERT_IMPORT on a platform whose OCA is already external is
 *   ALREADY_OWNED (PEK_GEN first returns it to self-owned).  Both
 *   certificates must be 0x824 bytes (INVALID_LENGTH); one that does not
 *   decode, an OCA that is not a self-signed ECDSA OCA certificate, or a PEK
 *   whose signed part differs from the PEK_CSR's is INVALID_CERTIFICATE; a
 *   self-signature or OCA signature that does not verify is BAD_SIGNATURE.
 * - LAUNCH_START: policy bits 15:6 set is INVALID_PARAM; an API minimum above
 *   the firmware's, or ES without CONFIG_ES, is POLICY_FAILURE.  GODH and
 *   session come together or not at all (INVALID_PARAM), at 0x824 and 0x80
 *   bytes (INVALID_LENGTH); a GODH that does not decode or is not an ECDH PDH
 *   certificate is INVALID_CERTIFICATE; a session whose wrap MAC or policy
 *   MAC does not verify is BAD_MEASUREMENT.  Without a session the firmware
 *   draws its own TEK and TIK.
 * - LAUNCH_UPDATE_DATA: a non-zero multiple of 16 bytes (INVALID_LENGTH);
 *   LAUNCH_UPDATE_VMSA: 4096 bytes (INVALID_LENGTH), only with the ES policy
 *   bit (POLICY_FAILURE); both only in LUPDATE.  The launch digest is SHA-256
 *   over everything measured, in order.
 * - LAUNCH_MEASURE: LUPDATE -> LSECRET, a fresh random MNONCE each time.
 *   LAUNCH_SECRET: LSECRET only; a header of 0x34 bytes and a payload of a
 *   non-zero multiple of 16 bytes up to 16 KiB (INVALID_LENGTH); a header
 *   with COMPRESSED set is INVALID_PARAM; a MAC that does not verify is
 *   BAD_MEASUREMENT; at most 16 secrets per guest (RESOURCE_LIMIT).
 *   LAUNCH_FINISH: LSECRET -> RUNNING (a launch must be measured first).
 * - ATTESTATION: LSECRET or RUNNING; with an API below 0.23 INVALID_COMMAND.
 * - DECOMMISSION: any guest state; the keys and secrets are wiped.
 * - Length probes: a NULL buffer or a length below what is needed answers
 *   INVALID_LENGTH with the needed length written back, after the handle and
 *   state checks, and changes nothing.  A NULL length pointer (or mnonce) is
 *   INVALID_PARAM.
 * - Unknown or decommissioned handles (and SNP guests' handles) are
 *   INVALID_GUEST; a command in the wrong guest state is INVALID_GUEST_STATE.
 * - A command whose state cannot be written changes nothing and reports
 *   HWSEV_RET_PLATFORM with SA_ERR_IO, as in emu.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sevattest/cert.h"
#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/emu.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"

#include "emu_internal.h"
#include "internal.h"

#define AMD_FILE "certs/sev_ask_ark.cert"
#define CEK_API_MAJOR 0
#define CEK_API_MINOR 14
#define ATTESTATION_API_MINOR 23 /* ATTESTATION exists from API 0.23 */
#define VMSA_SIZE 4096
#define ID_SIZE 64

/* ------------------------------------------------------------------------- */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------- */

static const char *gstate_name(uint8_t s)
{
	switch (s) {
	case SA_EMU_SEV_GSTATE_UNINIT: return "UNINIT";
	case SA_EMU_SEV_GSTATE_LUPDATE: return "LUPDATE";
	case SA_EMU_SEV_GSTATE_LSECRET: return "LSECRET";
	case SA_EMU_SEV_GSTATE_RUNNING: return "RUNNING";
	}
	return "unknown";
}

/* A command needs *fw; callers may pass NULL. */
#define FW_OUT(fw_status) uint32_t fw_local_, *fw = (fw_status) ? (fw_status) : &fw_local_

emu_sev_guest *emu_sev_find(const sa_emu *e, uint32_t handle)
{
	for (size_t i = 0; i < e->n_sev_guests; i++)
		if (e->sev_guests[i]->handle == handle)
			return e->sev_guests[i];
	return NULL;
}

uint32_t emu_sev_live_count(const sa_emu *e)
{
	uint32_t n = 0;
	for (size_t i = 0; i < e->n_sev_guests; i++)
		if (!e->sev_guests[i]->decommissioned)
			n++;
	return n;
}

static bool api_at_least(const sa_emu *e, unsigned major, unsigned minor)
{
	return e->p.current_fw.major > major || (e->p.current_fw.major == major && e->p.current_fw.minor >= minor);
}

/* Only INIT (no SEV guest) is accepted. */
static sa_status need_init(const sa_emu *e, const char *cmd, uint32_t *fw, sa_error *err)
{
	uint32_t n = emu_sev_live_count(e);
	if (n)
		return emu_fw_fail(SA_FW_INVALID_PLATFORM_STATE, fw, err,
				   "%s: the platform is WORKING (%" PRIu32 " SEV guest%s), expected INIT", cmd, n,
				   n == 1 ? "" : "s");
	return SA_OK;
}

/* A length probe: SA_OK if cap (of buf) holds need, else INVALID_LENGTH with *len = need. */
static sa_status probe(const uint8_t *buf, uint32_t *len, uint32_t need, const char *cmd, const char *what,
		       uint32_t *fw, sa_error *err)
{
	if (!len)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: no %s length", cmd, what);
	if (buf && *len >= need)
		return SA_OK;
	uint32_t had = *len;
	*len = need;
	return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err, "%s: %s buffer of %" PRIu32 " bytes%s, needs %" PRIu32, cmd,
			   what, buf ? had : 0, buf ? "" : " (none)", need);
}

/* An empty signature slot, as firmware leaves one. */
static void slot_clear(sa_sev_sig *s)
{
	memset(s, 0, sizeof(*s));
	s->usage = SA_SEV_USAGE_INVALID;
	s->algo = SA_SEV_ALGO_INVALID;
}

static sa_status cert_bytes(const sa_sev_cert *c, uint8_t *out, sa_error *err)
{
	return sa_sev_cert_encode(c, out, err);
}

/* ------------------------------------------------------------------------- */
/* The AMD-format ARK and ASK                                                 */
/* ------------------------------------------------------------------------- */

static sa_status key_is(EVP_PKEY *a, EVP_PKEY *b, const char *what, sa_error *err)
{
	SA_ENSURE(a && b && EVP_PKEY_eq(a, b) == 1, err, SA_ERR_FORMAT, "%s: the public keys differ", what);
	return SA_OK;
}

static sa_status amd_check(const sa_emu *e, const sa_amd_cert *ark, const sa_amd_cert *ask, sa_error *err)
{
	SA_ENSURE(ark->key_usage == SA_SEV_USAGE_ARK && ark->has_signature, err, SA_ERR_FORMAT,
		  "%s: the second certificate is not a signed ARK (KEY_USAGE 0x%04" PRIx32 ")", AMD_FILE,
		  ark->key_usage);
	SA_ENSURE(ask->key_usage == SA_SEV_USAGE_ASK, err, SA_ERR_FORMAT,
		  "%s: the first certificate is not an ASK (KEY_USAGE 0x%04" PRIx32 ")", AMD_FILE, ask->key_usage);
	sa_status st = sa_amd_cert_verify(ark, ark, err);
	if (st == SA_OK)
		st = sa_amd_cert_verify(ask, ark, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", AMD_FILE);
	EVP_PKEY *k = NULL;
	SA_TRY(sa_amd_cert_pubkey(ark, &k, err));
	st = key_is(k, e->ark->pubkey, AMD_FILE " ARK and certs/ark.pem", err);
	EVP_PKEY_free(k);
	k = NULL;
	if (st == SA_OK && (st = sa_amd_cert_pubkey(ask, &k, err)) == SA_OK)
		st = key_is(k, e->ask_key, AMD_FILE " ASK and keys/ask.pem", err);
	EVP_PKEY_free(k);
	return st;
}

static sa_status amd_load(sa_emu *e, sa_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(emu_read(e->dir, AMD_FILE, 2 * SA_AMD_CERT_MAX, &buf, &len, err));
	sa_reader r;
	sa_reader_init(&r, buf, len);
	sa_amd_cert ark, ask;
	sa_status st = sa_amd_cert_read(&r, &ask, err);
	if (st == SA_OK)
		st = sa_amd_cert_read(&r, &ark, err);
	if (st == SA_OK)
		st = sa_reader_expect_end(&r, AMD_FILE, err);
	free(buf);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", AMD_FILE);
	SA_TRY(amd_check(e, &ark, &ask, err));
	e->sev.ark = ark;
	e->sev.ask = ask;
	e->sev.have_amd = true;
	return SA_OK;
}

/* The AMD-format ARK and ASK of the X.509 ARK/ASK keys, with random KEY_IDs; needs keys/ark.pem. */
static sa_status amd_make(sa_emu *e, sa_error *err)
{
	SA_ENSURE(emu_exists(e->dir, "keys/ark.pem"), err, SA_ERR_NOT_FOUND,
		  "SEV: keys/ark.pem is absent, so this state directory cannot make its AMD-format ARK and ASK "
		  "(they are signed with the ARK's private key); create a new platform");
	EVP_PKEY *ark_key = NULL;
	SA_TRY(emu_key_load(e->dir, "keys/ark.pem", &ark_key, err));
	sa_status st = key_is(ark_key, e->ark->pubkey, "keys/ark.pem and certs/ark.pem", err);
	uint8_t ark_id[16], ask_id[16];
	if (st == SA_OK && (RAND_bytes(ark_id, sizeof(ark_id)) != 1 || RAND_bytes(ask_id, sizeof(ask_id)) != 1))
		st = sa_crypto_error(err, "SEV: cannot draw the ARK/ASK KEY_IDs");
	sa_amd_cert ark, ask;
	if (st == SA_OK)
		st = sa_amd_cert_init(&ark, SA_SEV_USAGE_ARK, ark_id, ark_id, ark_key, err);
	if (st == SA_OK)
		st = sa_amd_cert_sign(&ark, ark_key, err);
	if (st == SA_OK)
		st = sa_amd_cert_init(&ask, SA_SEV_USAGE_ASK, ask_id, ark_id, e->ask_key, err);
	if (st == SA_OK)
		st = sa_amd_cert_sign(&ask, ark_key, err);
	EVP_PKEY_free(ark_key);
	uint8_t buf[2 * SA_AMD_CERT_MAX];
	size_t n1 = 0, n2 = 0;
	if (st == SA_OK)
		st = sa_amd_cert_encode(&ask, buf, sizeof(buf), &n1, err);
	if (st == SA_OK)
		st = sa_amd_cert_encode(&ark, buf + n1, sizeof(buf) - n1, &n2, err);
	if (st == SA_OK)
		st = emu_write(e->dir, AMD_FILE, buf, n1 + n2, 0644, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "SEV: AMD-format ARK and ASK");
	e->sev.ark = ark;
	e->sev.ask = ask;
	e->sev.have_amd = true;
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* The platform identity: CEK, OCA, PEK, PDH                                  */
/* ------------------------------------------------------------------------- */

static void ident_free(emu_sev_platform *s)
{
	EVP_PKEY_free(s->oca_key);
	EVP_PKEY_free(s->pek_key);
	EVP_PKEY_free(s->pdh_key);
	s->oca_key = s->pek_key = s->pdh_key = NULL;
}

/* A fresh key and its certificate (API version of the firmware, both slots empty). */
static sa_status cert_new(const sa_emu *e, uint32_t usage, uint32_t algo, EVP_PKEY **key, sa_sev_cert *c,
			  sa_error *err)
{
	EVP_PKEY *k = NULL;
	SA_TRY(sa_key_generate_p384(&k, err));
	sa_status st = sa_sev_cert_init(c, usage, algo, e->p.current_fw.major, e->p.current_fw.minor, k, err);
	if (st != SA_OK) {
		EVP_PKEY_free(k);
		return st;
	}
	*key = k;
	return SA_OK;
}

static sa_status oca_make(const sa_emu *e, emu_sev_platform *n, sa_error *err)
{
	SA_TRY(cert_new(e, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, &n->oca_key, &n->oca, err));
	return sa_sev_cert_sign(&n->oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, n->oca_key, err);
}

/* A PEK signed by the (self-owned) OCA, then by the CEK: slot 1 OCA, slot 2 CEK, as real PEKs. */
static sa_status pek_make(const sa_emu *e, emu_sev_platform *n, sa_error *err)
{
	SA_TRY(cert_new(e, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, &n->pek_key, &n->pek, err));
	SA_TRY(sa_sev_cert_sign(&n->pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, n->oca_key, err));
	return sa_sev_cert_sign(&n->pek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, e->sev.cek_key, err);
}

static sa_status pdh_make(const sa_emu *e, emu_sev_platform *n, sa_error *err)
{
	SA_TRY(cert_new(e, SA_SEV_USAGE_PDH, SA_SEV_ALGO_ECDH_SHA256, &n->pdh_key, &n->pdh, err));
	return sa_sev_cert_sign(&n->pdh, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, n->pek_key, err);
}

/* The links of an identity: OCA self-signed, OCA -> PEK, CEK -> PEK, PEK -> PDH, keys matching. */
static sa_status ident_check(const emu_sev_platform *s, const emu_sev_platform *n, const char *what, sa_error *err)
{
	SA_ENSURE(n->oca.pub_key_usage == SA_SEV_USAGE_OCA && n->pek.pub_key_usage == SA_SEV_USAGE_PEK &&
		      n->pdh.pub_key_usage == SA_SEV_USAGE_PDH,
		  err, SA_ERR_FORMAT, "%s: expected the OCA, PEK and PDH certificates in this order", what);
	sa_status st = sa_sev_cert_verify(&n->oca, &n->oca, err);
	if (st == SA_OK)
		st = sa_sev_cert_verify(&n->pek, &n->oca, err);
	if (st == SA_OK)
		st = sa_sev_cert_verify(&n->pek, &s->cek, err);
	if (st == SA_OK)
		st = sa_sev_cert_verify(&n->pdh, &n->pek, err);
	EVP_PKEY *k = NULL;
	if (st == SA_OK && (st = sa_sev_cert_pubkey(&n->pek, &k, err)) == SA_OK)
		st = key_is(k, n->pek_key, "PEK key and certificate", err);
	EVP_PKEY_free(k);
	k = NULL;
	if (st == SA_OK && (st = sa_sev_cert_pubkey(&n->pdh, &k, err)) == SA_OK)
		st = key_is(k, n->pdh_key, "PDH key and certificate", err);
	EVP_PKEY_free(k);
	k = NULL;
	if (st == SA_OK && n->oca_key && (st = sa_sev_cert_pubkey(&n->oca, &k, err)) == SA_OK)
		st = key_is(k, n->oca_key, "OCA key and certificate", err);
	EVP_PKEY_free(k);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", what);
	return SA_OK;
}

static void ident_rels(uint32_t gen, char *krel, char *crel, size_t cap)
{
	snprintf(krel, cap, "keys/sev-%" PRIu32 ".pem", gen);
	snprintf(crel, cap, "certs/sev-%" PRIu32 ".certs", gen);
}

static sa_status ident_load(sa_emu *e, const emu_sev_meta *m, emu_sev_platform *n, sa_error *err)
{
	char krel[48], crel[48];
	ident_rels(m->generation, krel, crel, sizeof(krel));
	EVP_PKEY *keys[3] = {NULL, NULL, NULL};
	size_t nkeys = m->owner_external ? 2 : 3;
	SA_TRY(emu_keys_load(e->dir, krel, keys, nkeys, err));
	n->pek_key = keys[0];
	n->pdh_key = keys[1];
	n->oca_key = keys[2];
	uint8_t *buf = NULL;
	size_t len = 0;
	sa_status st = emu_read(e->dir, crel, 3 * SA_SEV_CERT_SIZE, &buf, &len, err);
	if (st == SA_OK) {
		sa_reader r;
		sa_reader_init(&r, buf, len);
		st = sa_sev_cert_read(&r, &n->oca, err);
		if (st == SA_OK)
			st = sa_sev_cert_read(&r, &n->pek, err);
		if (st == SA_OK)
			st = sa_sev_cert_read(&r, &n->pdh, err);
		if (st == SA_OK)
			st = sa_reader_expect_end(&r, crel, err);
		free(buf);
		if (st != SA_OK)
			st = sa_error_wrap(err, st, "%s", crel);
	}
	if (st == SA_OK)
		st = ident_check(&e->sev, n, crel, err);
	if (st != SA_OK)
		ident_free(n);
	return st;
}

/*
 * Make n (with meta n->meta) the platform's identity: its files under the
 * next generation, then sev.json.  On success e->sev takes n's keys (n is
 * left empty); on failure nothing changed.
 */
static sa_status ident_commit(sa_emu *e, emu_sev_platform *n, sa_error *err)
{
	emu_sev_meta m = n->meta;
	SA_ENSURE(e->sev.meta.generation < UINT32_MAX, err, SA_ERR_RANGE, "SEV: identity generations exhausted");
	m.generation = e->sev.meta.generation + 1;
	m.owner_external = n->oca_key == NULL;
	char krel[48], crel[48];
	ident_rels(m.generation, krel, crel, sizeof(krel));
	EVP_PKEY *keys[3] = {n->pek_key, n->pdh_key, n->oca_key};
	uint8_t certs[3 * SA_SEV_CERT_SIZE];
	sa_status st = cert_bytes(&n->oca, certs, err);
	if (st == SA_OK)
		st = cert_bytes(&n->pek, certs + SA_SEV_CERT_SIZE, err);
	if (st == SA_OK)
		st = cert_bytes(&n->pdh, certs + 2 * SA_SEV_CERT_SIZE, err);
	if (st == SA_OK)
		st = emu_keys_save(e->dir, krel, keys, m.owner_external ? 2 : 3, err);
	if (st == SA_OK)
		st = emu_write(e->dir, crel, certs, sizeof(certs), 0644, err);
	if (st == SA_OK)
		st = emu_sev_meta_save(e, &m, err);
	if (st != SA_OK) {
		emu_remove_quiet(e->dir, krel);
		emu_remove_quiet(e->dir, crel);
		return st;
	}
	if (e->sev.meta.generation) {
		char okrel[48], ocrel[48];
		ident_rels(e->sev.meta.generation, okrel, ocrel, sizeof(okrel));
		emu_remove_quiet(e->dir, okrel);
		emu_remove_quiet(e->dir, ocrel);
	}
	ident_free(&e->sev);
	e->sev.meta = m;
	e->sev.oca_key = n->oca_key;
	e->sev.pek_key = n->pek_key;
	e->sev.pdh_key = n->pdh_key;
	e->sev.oca = n->oca;
	e->sev.pek = n->pek;
	e->sev.pdh = n->pdh;
	n->oca_key = n->pek_key = n->pdh_key = NULL;
	e->sev.ready = true;
	return SA_OK;
}

/* A new self-owned OCA (or the current one, keep_oca), a new PEK and PDH. */
static sa_status ident_regen(sa_emu *e, bool keep_oca, sa_error *err)
{
	emu_sev_platform n;
	memset(&n, 0, sizeof(n));
	n.meta = e->sev.meta;
	sa_status st = SA_OK;
	if (keep_oca) {
		n.oca = e->sev.oca;
		n.oca_key = e->sev.oca_key;
		if (EVP_PKEY_up_ref(n.oca_key) != 1)
			st = sa_crypto_error(err, "SEV: cannot reference the OCA key");
	} else {
		st = oca_make(e, &n, err);
	}
	if (st == SA_OK)
		st = pek_make(e, &n, err);
	if (st == SA_OK)
		st = pdh_make(e, &n, err);
	if (st == SA_OK)
		st = ident_commit(e, &n, err);
	ident_free(&n);
	return st;
}

/* The CEK, the AMD-format roots and the identity: loaded, or made the first time. */
static sa_status sev_ready(sa_emu *e, sa_error *err)
{
	if (e->sev.ready)
		return SA_OK;
	if (!e->sev.cek_key) {
		EVP_PKEY *k = NULL;
		SA_TRY(emu_sev_cek_derive(e, &k, err));
		sa_status st = sa_sev_cert_init(&e->sev.cek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, CEK_API_MAJOR,
						CEK_API_MINOR, k, err);
		if (st != SA_OK) {
			EVP_PKEY_free(k);
			return st;
		}
		e->sev.cek_key = k;
	}
	if (!e->sev.have_amd)
		SA_TRY(emu_exists(e->dir, AMD_FILE) ? amd_load(e, err) : amd_make(e, err));
	emu_sev_meta m;
	sa_status st = emu_sev_meta_load(e->dir, &m, err);
	if (st == SA_ERR_NOT_FOUND) {
		/* First use: a self-owned identity with SEV-ES enabled, as the kernel INITs. */
		memset(&e->sev.meta, 0, sizeof(e->sev.meta));
		e->sev.meta.config_es = true;
		st = ident_regen(e, false, err);
		if (st == SA_OK) {
			emu_remove_generations(e, "keys", "sev-", ".pem", e->sev.meta.generation);
			emu_remove_generations(e, "certs", "sev-", ".certs", e->sev.meta.generation);
		}
		return st;
	}
	SA_TRY(st);
	emu_sev_platform n;
	memset(&n, 0, sizeof(n));
	SA_TRY(ident_load(e, &m, &n, err));
	ident_free(&e->sev);
	e->sev.meta = m;
	e->sev.oca_key = n.oca_key;
	e->sev.pek_key = n.pek_key;
	e->sev.pdh_key = n.pdh_key;
	e->sev.oca = n.oca;
	e->sev.pek = n.pek;
	e->sev.pdh = n.pdh;
	e->sev.ready = true;
	emu_remove_generations(e, "keys", "sev-", ".pem", m.generation);
	emu_remove_generations(e, "certs", "sev-", ".certs", m.generation);
	return SA_OK;
}

/* sev_ready for a firmware command: a failure is HWSEV_RET_PLATFORM. */
static sa_status ready_fw(sa_emu *e, const char *cmd, uint32_t *fw, sa_error *err)
{
	sa_status st = sev_ready(e, err);
	if (st != SA_OK) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return sa_error_wrap(err, st, "%s: the SEV platform identity is not available (firmware status %s)",
				     cmd, sa_fw_status_name(SA_FW_HWSEV_RET_PLATFORM));
	}
	return SA_OK;
}

sa_status emu_sev_create(sa_emu *e, sa_error *err) { return sev_ready(e, err); }

sa_status emu_sev_open(sa_emu *e, sa_error *err)
{
	/* A state directory made before SEV support gets its identity on first use. */
	if (emu_exists(e->dir, "sev.json"))
		SA_TRY(sev_ready(e, err));
	return emu_sev_guests_load(e, err);
}

void emu_sev_free(sa_emu *e)
{
	for (size_t i = 0; i < e->n_sev_guests; i++)
		emu_sev_guest_free(e->sev_guests[i]);
	free(e->sev_guests);
	e->sev_guests = NULL;
	e->n_sev_guests = e->cap_sev_guests = 0;
	ident_free(&e->sev);
	EVP_PKEY_free(e->sev.cek_key);
	OPENSSL_cleanse(&e->sev, sizeof(e->sev));
}

/* ------------------------------------------------------------------------- */
/* Platform commands                                                          */
/* ------------------------------------------------------------------------- */

static sa_status platform_status(sa_emu *e, sa_sev_platform_status *out, uint32_t *fw, sa_error *err)
{
	SA_TRY(ready_fw(e, "PLATFORM_STATUS", fw, err));
	memset(out, 0, sizeof(*out));
	out->api_major = e->p.current_fw.major;
	out->api_minor = e->p.current_fw.minor;
	out->build = e->p.current_fw.build;
	out->guest_count = emu_sev_live_count(e);
	out->state = out->guest_count ? SA_SEV_STATE_WORKING : SA_SEV_STATE_INIT;
	out->owner_external = e->sev.meta.owner_external;
	out->config_es = e->sev.meta.config_es;
	out->flags = (out->owner_external ? 1u : 0u) | (out->config_es ? 0x100u : 0u);
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_platform_status(sa_emu *e, sa_sev_platform_status *out, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e || !out)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PLATFORM_STATUS: missing emulator or output");
	EMU_LOCKED(e, platform_status(e, out, fw, err));
}

static sa_status reinit(sa_emu *e, bool config_es, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "INIT";
	SA_TRY(ready_fw(e, cmd, fw, err));
	SA_TRY(need_init(e, cmd, fw, err));
	emu_sev_meta m = e->sev.meta;
	m.config_es = config_es;
	sa_status st = emu_sev_meta_save(e, &m, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, cmd);
	e->sev.meta = m;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_reinit(sa_emu *e, bool config_es, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "INIT: no emulator");
	EMU_LOCKED(e, reinit(e, config_es, fw, err));
}

/* FACTORY_RESET (keep_oca false) and PEK_GEN (keep a self-owned OCA). */
static sa_status regen(sa_emu *e, bool pek_gen, uint32_t *fw, sa_error *err)
{
	const char *cmd = pek_gen ? "PEK_GEN" : "FACTORY_RESET";
	SA_TRY(ready_fw(e, cmd, fw, err));
	SA_TRY(need_init(e, cmd, fw, err));
	sa_status st = ident_regen(e, pek_gen && !e->sev.meta.owner_external, err);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, cmd);
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_factory_reset(sa_emu *e, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "FACTORY_RESET: no emulator");
	EMU_LOCKED(e, regen(e, false, fw, err));
}

sa_status sa_emu_sev_pek_gen(sa_emu *e, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PEK_GEN: no emulator");
	EMU_LOCKED(e, regen(e, true, fw, err));
}

/* A copy of the current identity sharing its keys (references taken). */
static sa_status ident_share(const sa_emu *e, emu_sev_platform *n, sa_error *err)
{
	memset(n, 0, sizeof(*n));
	n->meta = e->sev.meta;
	n->oca = e->sev.oca;
	n->pek = e->sev.pek;
	n->pdh = e->sev.pdh;
	EVP_PKEY *src[2] = {e->sev.oca_key, e->sev.pek_key};
	EVP_PKEY **dst[2] = {&n->oca_key, &n->pek_key};
	for (size_t i = 0; i < 2; i++) {
		if (src[i] && EVP_PKEY_up_ref(src[i]) != 1) {
			ident_free(n);
			return sa_crypto_error(err, "SEV: cannot reference a key");
		}
		*dst[i] = src[i];
	}
	return SA_OK;
}

static sa_status pdh_gen(sa_emu *e, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "PDH_GEN";
	SA_TRY(ready_fw(e, cmd, fw, err));
	emu_sev_platform n;
	SA_TRY(ident_share(e, &n, err));
	sa_status st = pdh_make(e, &n, err);
	if (st == SA_OK)
		st = ident_commit(e, &n, err);
	ident_free(&n);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, cmd);
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_pdh_gen(sa_emu *e, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PDH_GEN: no emulator");
	EMU_LOCKED(e, pdh_gen(e, fw, err));
}

/* The PEK certificate without signatures: what PEK_CSR returns and PEK_CERT_IMPORT expects signed. */
static void pek_csr_of(const sa_emu *e, sa_sev_cert *csr)
{
	*csr = e->sev.pek;
	slot_clear(&csr->sig[0]);
	slot_clear(&csr->sig[1]);
}

static sa_status pek_csr(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "PEK_CSR";
	SA_TRY(ready_fw(e, cmd, fw, err));
	SA_TRY(probe(buf, len, SA_SEV_CERT_SIZE, cmd, "CSR", fw, err));
	sa_sev_cert csr;
	pek_csr_of(e, &csr);
	uint8_t out[SA_SEV_CERT_SIZE];
	sa_status st = cert_bytes(&csr, out, err);
	if (st != SA_OK) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	memcpy(buf, out, sizeof(out));
	*len = SA_SEV_CERT_SIZE;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_pek_csr(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PEK_CSR: no emulator");
	EMU_LOCKED(e, pek_csr(e, buf, len, fw, err));
}

/* The OCA's slot of an imported PEK: the one whose usage is OCA, verified; INVALID_CERTIFICATE / BAD_SIGNATURE. */
static sa_status import_check(const sa_emu *e, const sa_sev_cert *pek, const sa_sev_cert *oca, uint32_t *fw,
			      sa_error *err)
{
	static const char cmd[] = "PEK_CERT_IMPORT";
	sa_error why;
	if (oca->pub_key_usage != SA_SEV_USAGE_OCA ||
	    (oca->pub_key_algo != SA_SEV_ALGO_ECDSA_SHA256 && oca->pub_key_algo != SA_SEV_ALGO_ECDSA_SHA384))
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err,
				   "%s: the OCA certificate has usage %s (0x%04" PRIx32 ") and algorithm %s, expected "
				   "an ECDSA OCA",
				   cmd, sa_sev_usage_name(oca->pub_key_usage), oca->pub_key_usage,
				   sa_sev_algo_name(oca->pub_key_algo));
	sa_status st = sa_sev_cert_verify(oca, oca, &why);
	if (st == SA_ERR_NOT_FOUND)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: the OCA is not self-signed: %s", cmd,
				   why.msg);
	if (st != SA_OK)
		return emu_fw_fail(SA_FW_BAD_SIGNATURE, fw, err, "%s: the OCA's self-signature: %s", cmd, why.msg);
	/* The signed part must be the platform's CSR: same version, API, usage, algorithm and key. */
	sa_sev_cert csr;
	pek_csr_of(e, &csr);
	uint8_t want[SA_SEV_CERT_SIZE], got[SA_SEV_CERT_SIZE];
	SA_TRY(cert_bytes(&csr, want, err));
	SA_TRY(cert_bytes(pek, got, err));
	if (memcmp(want, got, SA_SEV_CERT_SIGNED_LEN) != 0)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err,
				   "%s: the PEK certificate's signed part (bytes 0x000..0x413) is not the platform's "
				   "PEK_CSR",
				   cmd);
	st = sa_sev_cert_verify(pek, oca, &why);
	if (st == SA_ERR_NOT_FOUND)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: the PEK carries no OCA signature: %s", cmd,
				   why.msg);
	if (st != SA_OK)
		return emu_fw_fail(SA_FW_BAD_SIGNATURE, fw, err, "%s: the OCA's signature of the PEK: %s", cmd,
				   why.msg);
	return SA_OK;
}

static sa_status pek_cert_import(sa_emu *e, const uint8_t *pek_buf, uint32_t pek_len, const uint8_t *oca_buf,
				 uint32_t oca_len, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "PEK_CERT_IMPORT";
	SA_TRY(ready_fw(e, cmd, fw, err));
	SA_TRY(need_init(e, cmd, fw, err));
	if (e->sev.meta.owner_external)
		return emu_fw_fail(SA_FW_ALREADY_OWNED, fw, err,
				   "%s: the platform is already owned by an imported OCA (PEK_GEN makes it self-owned)",
				   cmd);
	if (!pek_buf || !oca_buf)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: missing PEK or OCA certificate", cmd);
	if (pek_len != SA_SEV_CERT_SIZE || oca_len != SA_SEV_CERT_SIZE)
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err,
				   "%s: PEK of %" PRIu32 " bytes and OCA of %" PRIu32 ", expected 0x824 (%d) each", cmd,
				   pek_len, oca_len, SA_SEV_CERT_SIZE);
	sa_sev_cert pek, oca;
	sa_error why;
	if (sa_sev_cert_decode(oca_buf, oca_len, &oca, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: OCA: %s", cmd, why.msg);
	if (sa_sev_cert_decode(pek_buf, pek_len, &pek, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: PEK: %s", cmd, why.msg);
	sa_status st = import_check(e, &pek, &oca, fw, err);
	if (st != SA_OK) {
		if (*fw == SA_FW_SUCCESS)
			*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	/* The firmware keeps the OCA's signature in slot 1 and adds its CEK's in slot 2. */
	emu_sev_platform n;
	SA_TRY(ident_share(e, &n, err));
	EVP_PKEY_free(n.oca_key);
	n.oca_key = NULL;
	n.oca = oca;
	pek_csr_of(e, &n.pek);
	n.pek.sig[0] = pek.sig[0].usage == SA_SEV_USAGE_OCA ? pek.sig[0] : pek.sig[1];
	st = sa_sev_cert_sign(&n.pek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, e->sev.cek_key, err);
	if (st == SA_OK)
		st = pdh_make(e, &n, err);
	if (st == SA_OK)
		st = ident_commit(e, &n, err);
	ident_free(&n);
	if (st != SA_OK)
		return emu_fw_io(st, fw, err, cmd);
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_pek_cert_import(sa_emu *e, const uint8_t *pek, uint32_t pek_len, const uint8_t *oca,
				     uint32_t oca_len, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	*fw = SA_FW_SUCCESS;
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PEK_CERT_IMPORT: no emulator");
	EMU_LOCKED(e, pek_cert_import(e, pek, pek_len, oca, oca_len, fw, err));
}

static sa_status pdh_cert_export(sa_emu *e, uint8_t *pdh, uint32_t *pdh_len, uint8_t *chain, uint32_t *chain_len,
				 uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "PDH_CERT_EXPORT";
	SA_TRY(ready_fw(e, cmd, fw, err));
	if (!pdh_len || !chain_len)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: missing PDH or chain length", cmd);
	bool short_pdh = !pdh || *pdh_len < SA_SEV_CERT_SIZE;
	bool short_chain = !chain || *chain_len < 3 * SA_SEV_CERT_SIZE;
	if (short_pdh || short_chain) {
		uint32_t had_pdh = pdh ? *pdh_len : 0, had_chain = chain ? *chain_len : 0;
		*pdh_len = SA_SEV_CERT_SIZE;
		*chain_len = 3 * SA_SEV_CERT_SIZE;
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err,
				   "%s: PDH buffer of %" PRIu32 " bytes and chain buffer of %" PRIu32
				   ", need %d and %d",
				   cmd, had_pdh, had_chain, SA_SEV_CERT_SIZE, 3 * SA_SEV_CERT_SIZE);
	}
	uint8_t p[SA_SEV_CERT_SIZE], c[3 * SA_SEV_CERT_SIZE];
	sa_status st = cert_bytes(&e->sev.pdh, p, err);
	if (st == SA_OK)
		st = cert_bytes(&e->sev.pek, c, err);
	if (st == SA_OK)
		st = cert_bytes(&e->sev.oca, c + SA_SEV_CERT_SIZE, err);
	if (st == SA_OK)
		st = cert_bytes(&e->sev.cek, c + 2 * SA_SEV_CERT_SIZE, err);
	if (st != SA_OK) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	memcpy(pdh, p, sizeof(p));
	memcpy(chain, c, sizeof(c));
	*pdh_len = SA_SEV_CERT_SIZE;
	*chain_len = 3 * SA_SEV_CERT_SIZE;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_pdh_cert_export(sa_emu *e, uint8_t *pdh, uint32_t *pdh_len, uint8_t *chain, uint32_t *chain_len,
				     uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "PDH_CERT_EXPORT: no emulator");
	EMU_LOCKED(e, pdh_cert_export(e, pdh, pdh_len, chain, chain_len, fw, err));
}

static sa_status get_id(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw, sa_error *err)
{
	SA_TRY(probe(buf, len, ID_SIZE, "GET_ID", "ID", fw, err));
	memcpy(buf, e->p.chip_id, ID_SIZE);
	*len = ID_SIZE;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_get_id(sa_emu *e, uint8_t *buf, uint32_t *len, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "GET_ID: no emulator");
	EMU_LOCKED(e, get_id(e, buf, len, fw, err));
}

static sa_status export_amd(sa_emu *e, uint8_t *ark, size_t *ark_len, uint8_t *ask, size_t *ask_len,
			    uint8_t cek[SA_SEV_CERT_SIZE], sa_error *err)
{
	SA_TRY(sev_ready(e, err));
	sa_sev_cert c = e->sev.cek;
	size_t n1 = 0, n2 = 0;
	SA_TRY(sa_sev_cert_sign_by_ask(&c, &e->sev.ask, e->ask_key, err));
	uint8_t out[SA_SEV_CERT_SIZE];
	SA_TRY(cert_bytes(&c, out, err));
	SA_TRY(sa_amd_cert_encode(&e->sev.ark, ark, SA_AMD_CERT_MAX, &n1, err));
	SA_TRY(sa_amd_cert_encode(&e->sev.ask, ask, SA_AMD_CERT_MAX, &n2, err));
	memcpy(cek, out, sizeof(out));
	*ark_len = n1;
	*ask_len = n2;
	return SA_OK;
}

sa_status sa_emu_sev_export_amd(sa_emu *e, uint8_t *ark, size_t *ark_len, uint8_t *ask, size_t *ask_len,
				uint8_t cek[0x824], sa_error *err)
{
	SA_ENSURE(e && ark && ark_len && ask && ask_len && cek, err, SA_ERR_ARG,
		  "SEV KDS export: missing emulator or output");
	EMU_LOCKED(e, export_amd(e, ark, ark_len, ask, ask_len, cek, err));
}

/* ------------------------------------------------------------------------- */
/* Guests                                                                     */
/* ------------------------------------------------------------------------- */

static sa_status sev_guest(const sa_emu *e, uint32_t handle, const char *cmd, emu_sev_guest **out, uint32_t *fw,
			   sa_error *err)
{
	emu_sev_guest *g = emu_sev_find(e, handle);
	if (!g || g->decommissioned)
		return emu_fw_fail(SA_FW_INVALID_GUEST, fw, err, "%s: no SEV guest with handle %" PRIu32 "%s", cmd,
				   handle, g ? " (decommissioned)" : "");
	*out = g;
	return SA_OK;
}

static sa_status guest_state(const emu_sev_guest *g, const char *cmd, uint8_t want, uint8_t also, uint32_t *fw,
			     sa_error *err)
{
	if (g->state == want || g->state == also)
		return SA_OK;
	if (want == also)
		return emu_fw_fail(SA_FW_INVALID_GUEST_STATE, fw, err, "%s: guest %" PRIu32 " is %s, expected %s", cmd,
				   g->handle, gstate_name(g->state), gstate_name(want));
	return emu_fw_fail(SA_FW_INVALID_GUEST_STATE, fw, err, "%s: guest %" PRIu32 " is %s, expected %s or %s", cmd,
			   g->handle, gstate_name(g->state), gstate_name(want), gstate_name(also));
}

/* LAUNCH_START's policy checks. */
static sa_status policy_check(const sa_emu *e, uint32_t policy, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_START";
	if (policy & SA_SEV_POLICY_RESERVED)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err,
				   "%s: policy 0x%08" PRIx32 " sets reserved bits 15:6 (0x%04" PRIx32 "), expected zero",
				   cmd, policy, policy & SA_SEV_POLICY_RESERVED);
	unsigned maj = SA_SEV_POLICY_API_MAJOR(policy), min = SA_SEV_POLICY_API_MINOR(policy);
	if (!api_at_least(e, maj, min))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
				   "%s: policy requires API %u.%u, the firmware implements %u.%u", cmd, maj, min,
				   e->p.current_fw.major, e->p.current_fw.minor);
	if ((policy & SA_SEV_POLICY_ES) && !e->sev.meta.config_es)
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
				   "%s: policy 0x%08" PRIx32 " asks for SEV-ES, but the platform was initialised "
				   "without CONFIG_ES",
				   cmd, policy);
	return SA_OK;
}

/* The guest owner's session, opened with the PDH key, or firmware-chosen TEK/TIK. */
static sa_status session_keys(const sa_emu *e, uint32_t policy, const uint8_t *godh, size_t godh_len,
			      const uint8_t *session, size_t session_len, sa_sev_tks *tks, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_START";
	if (!godh != !session)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: a GODH certificate needs its session and back",
				   cmd);
	if (!godh) {
		if (RAND_priv_bytes(tks->tek, sizeof(tks->tek)) != 1 || RAND_priv_bytes(tks->tik, sizeof(tks->tik)) != 1) {
			*fw = SA_FW_HWSEV_RET_PLATFORM;
			return sa_crypto_error(err, "%s: random generator failed", cmd);
		}
		return SA_OK;
	}
	if (godh_len != SA_SEV_CERT_SIZE || session_len != SA_SEV_SESSION_SIZE)
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err,
				   "%s: GODH of %zu bytes and session of %zu, expected %d and %d", cmd, godh_len,
				   session_len, SA_SEV_CERT_SIZE, SA_SEV_SESSION_SIZE);
	sa_error why;
	sa_sev_cert gc;
	if (sa_sev_cert_decode(godh, godh_len, &gc, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: GODH: %s", cmd, why.msg);
	if (gc.pub_key_usage != SA_SEV_USAGE_PDH ||
	    (gc.pub_key_algo != SA_SEV_ALGO_ECDH_SHA256 && gc.pub_key_algo != SA_SEV_ALGO_ECDH_SHA384))
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err,
				   "%s: GODH has usage %s and algorithm %s, expected an ECDH PDH certificate", cmd,
				   sa_sev_usage_name(gc.pub_key_usage), sa_sev_algo_name(gc.pub_key_algo));
	sa_sev_session s;
	if (sa_sev_session_decode(session, session_len, &s, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: session: %s", cmd, why.msg);
	sa_status st = sa_sev_session_open(e->sev.pdh_key, &gc, &s, policy, tks, &why);
	OPENSSL_cleanse(&s, sizeof(s));
	switch (st) {
	case SA_OK: return SA_OK;
	case SA_ERR_VERIFY:
	case SA_ERR_POLICY:
		return emu_fw_fail(SA_FW_BAD_MEASUREMENT, fw, err, "%s: the session does not verify: %s", cmd,
				   why.msg);
	case SA_ERR_NOMEM:
	case SA_ERR_CRYPTO:
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return sa_error_set(err, st, "%s: %s", cmd, why.msg);
	default:
		return emu_fw_fail(SA_FW_INVALID_CERTIFICATE, fw, err, "%s: GODH key: %s", cmd, why.msg);
	}
}

static sa_status launch_start(sa_emu *e, uint32_t policy, const uint8_t *godh, size_t godh_len,
			      const uint8_t *session, size_t session_len, uint32_t *handle, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_START";
	SA_TRY(ready_fw(e, cmd, fw, err));
	SA_TRY(policy_check(e, policy, fw, err));
	emu_sev_guest *g = calloc(1, sizeof(*g));
	if (!g)
		return emu_fw_fail(SA_FW_RESOURCE_LIMIT, fw, err, "%s: out of memory", cmd);
	sa_status st = session_keys(e, policy, godh, godh_len, session, session_len, &g->tks, fw, err);
	uint32_t h = 0;
	if (st == SA_OK)
		st = emu_handle_pick(e, cmd, &h, fw, err);
	if (st == SA_OK) {
		g->handle = h;
		g->state = SA_EMU_SEV_GSTATE_LUPDATE;
		g->policy = policy;
		g->ld_ctx = EVP_MD_CTX_new();
		if (!g->ld_ctx || EVP_DigestInit_ex(g->ld_ctx, EVP_sha256(), NULL) != 1) {
			*fw = SA_FW_HWSEV_RET_PLATFORM;
			st = sa_crypto_error(err, "%s: SHA-256 is not available", cmd);
		}
	}
	if (st == SA_OK && (st = emu_sev_guests_push(e, g, err)) == SA_OK) {
		/* The guest lives in memory until LAUNCH_MEASURE; its handle is spent on disk now. */
		emu_platform p = e->p;
		p.next_handle = h + 1;
		st = emu_platform_save(e, &p, err);
		if (st == SA_OK) {
			e->p = p;
			*handle = h;
			return emu_fw_ok(fw);
		}
		e->n_sev_guests--;
		st = emu_fw_io(st, fw, err, cmd);
	} else if (st == SA_ERR_NOMEM && *fw == SA_FW_SUCCESS) {
		*fw = SA_FW_RESOURCE_LIMIT;
	}
	emu_sev_guest_free(g);
	return st;
}

sa_status sa_emu_sev_launch_start(sa_emu *e, uint32_t policy, const uint8_t *godh, size_t godh_len,
				  const uint8_t *session, size_t session_len, uint32_t *handle, uint32_t *fw_status,
				  sa_error *err)
{
	FW_OUT(fw_status);
	*fw = SA_FW_SUCCESS;
	if (!e || !handle)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_START: missing emulator or handle output");
	EMU_LOCKED(e, launch_start(e, policy, godh, godh_len, session, session_len, handle, fw, err));
}

/* Fold data into the launch digest; on failure the digest is as it was. */
static sa_status digest_fold(emu_sev_guest *g, const uint8_t *data, size_t len, const char *cmd, uint32_t *fw,
			     sa_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_MD_CTX_copy_ex(c, g->ld_ctx) != 1 || EVP_DigestUpdate(c, data, len) != 1) {
		EVP_MD_CTX_free(c);
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return sa_crypto_error(err, "%s: SHA-256 failed", cmd);
	}
	EVP_MD_CTX_free(g->ld_ctx);
	g->ld_ctx = c;
	return SA_OK;
}

/* The digest so far (g->ld_ctx unchanged). */
static sa_status digest_peek(const emu_sev_guest *g, uint8_t out[32], sa_error *err)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;
	sa_status st = SA_OK;
	if (!c || EVP_MD_CTX_copy_ex(c, g->ld_ctx) != 1 || EVP_DigestFinal_ex(c, out, &n) != 1 || n != 32)
		st = sa_crypto_error(err, "SEV launch digest: SHA-256 failed");
	EVP_MD_CTX_free(c);
	return st;
}

static sa_status launch_update(sa_emu *e, uint32_t handle, bool vmsa, const uint8_t *data, size_t len, uint32_t *fw,
			       sa_error *err)
{
	const char *cmd = vmsa ? "LAUNCH_UPDATE_VMSA" : "LAUNCH_UPDATE_DATA";
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	SA_TRY(guest_state(g, cmd, SA_EMU_SEV_GSTATE_LUPDATE, SA_EMU_SEV_GSTATE_LUPDATE, fw, err));
	if (vmsa && !(g->policy & SA_SEV_POLICY_ES))
		return emu_fw_fail(SA_FW_POLICY_FAILURE, fw, err,
				   "%s: guest %" PRIu32 " has policy 0x%08" PRIx32 " without ES; only SEV-ES guests "
				   "have an encrypted VMSA",
				   cmd, handle, g->policy);
	if (!data)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: no data", cmd);
	if (vmsa ? len != VMSA_SIZE : (len == 0 || len % 16 != 0))
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err, "%s: %zu bytes, expected %s", cmd, len,
				   vmsa ? "4096" : "a non-zero multiple of 16");
	SA_TRY(digest_fold(g, data, len, cmd, fw, err));
	if (vmsa)
		g->vmsas++;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_launch_update_data(sa_emu *e, uint32_t handle, const uint8_t *data, size_t len,
					uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_UPDATE_DATA: no emulator");
	EMU_LOCKED(e, launch_update(e, handle, false, data, len, fw, err));
}

sa_status sa_emu_sev_launch_update_vmsa(sa_emu *e, uint32_t handle, const uint8_t *vmsa, size_t len,
					uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_UPDATE_VMSA: no emulator");
	EMU_LOCKED(e, launch_update(e, handle, true, vmsa, len, fw, err));
}

static sa_status launch_measure(sa_emu *e, uint32_t handle, uint8_t *buf, uint32_t *len, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_MEASURE";
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	SA_TRY(guest_state(g, cmd, SA_EMU_SEV_GSTATE_LUPDATE, SA_EMU_SEV_GSTATE_LUPDATE, fw, err));
	SA_TRY(probe(buf, len, SA_SEV_MEASURE_BLOB_SIZE, cmd, "measurement", fw, err));
	emu_sev_guest c = *g; /* shares nothing that the save or a failure frees */
	c.ld_ctx = NULL;
	c.state = SA_EMU_SEV_GSTATE_LSECRET;
	sa_sev_measure_input in = {.api_major = e->p.current_fw.major,
				   .api_minor = e->p.current_fw.minor,
				   .build = e->p.current_fw.build,
				   .policy = g->policy};
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	sa_status st = digest_peek(g, c.launch_digest, err);
	if (st == SA_OK && RAND_bytes(c.mnonce, sizeof(c.mnonce)) != 1)
		st = sa_crypto_error(err, "%s: random generator failed", cmd);
	if (st == SA_OK) {
		memcpy(in.launch_digest, c.launch_digest, 32);
		memcpy(in.mnonce, c.mnonce, 16);
		st = sa_sev_measure_blob(g->tks.tik, &in, blob, err);
	}
	if (st != SA_OK) {
		OPENSSL_cleanse(&c, sizeof(c));
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	memcpy(c.measure, blob, 32);
	/* Keys, then the JSON: from here the guest is persisted. */
	st = emu_sev_guest_save_keys(e, &c, err);
	if (st == SA_OK)
		st = emu_sev_guest_save(e, &c, err);
	if (st != SA_OK) {
		char rel[40];
		snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.keys", handle);
		emu_remove_quiet(e->dir, rel);
		OPENSSL_cleanse(&c, sizeof(c));
		return emu_fw_io(st, fw, err, cmd);
	}
	EVP_MD_CTX_free(g->ld_ctx);
	*g = c;
	OPENSSL_cleanse(&c, sizeof(c));
	memcpy(buf, blob, sizeof(blob));
	*len = SA_SEV_MEASURE_BLOB_SIZE;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_launch_measure(sa_emu *e, uint32_t handle, uint8_t *buf, uint32_t *len, uint32_t *fw_status,
				    sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_MEASURE: no emulator");
	EMU_LOCKED(e, launch_measure(e, handle, buf, len, fw, err));
}

static sa_status launch_secret(sa_emu *e, uint32_t handle, const uint8_t *hdr_buf, size_t hdr_len,
			       const uint8_t *ct, size_t len, uint64_t gpa, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_SECRET";
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	SA_TRY(guest_state(g, cmd, SA_EMU_SEV_GSTATE_LSECRET, SA_EMU_SEV_GSTATE_LSECRET, fw, err));
	if (!hdr_buf || !ct)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: missing header or payload", cmd);
	if (hdr_len != SA_SEV_SECRET_HDR_SIZE || len == 0 || len > SA_SEV_SECRET_MAX || len % 16 != 0)
		return emu_fw_fail(SA_FW_INVALID_LENGTH, fw, err,
				   "%s: header of %zu bytes and payload of %zu, expected %d and a non-zero multiple of "
				   "16 up to %d",
				   cmd, hdr_len, len, SA_SEV_SECRET_HDR_SIZE, SA_SEV_SECRET_MAX);
	if (g->n_secrets >= EMU_SEV_SECRETS_MAX)
		return emu_fw_fail(SA_FW_RESOURCE_LIMIT, fw, err, "%s: guest %" PRIu32 " already has %d secrets", cmd,
				   handle, EMU_SEV_SECRETS_MAX);
	sa_error why;
	sa_sev_secret_hdr hdr;
	if (sa_sev_secret_hdr_decode(hdr_buf, hdr_len, &hdr, &why) != SA_OK)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: %s", cmd, why.msg);
	uint8_t *pt = OPENSSL_malloc(len);
	if (!pt)
		return emu_fw_fail(SA_FW_RESOURCE_LIMIT, fw, err, "%s: out of memory", cmd);
	/* The MAC covers the launch measurement from API 0.17 on. */
	const uint8_t *measure = api_at_least(e, 0, 17) ? g->measure : NULL;
	sa_status st = sa_sev_secret_open(&g->tks, measure, &hdr, ct, len, pt, &why);
	if (st != SA_OK) {
		OPENSSL_clear_free(pt, len);
		if (st == SA_ERR_VERIFY)
			return emu_fw_fail(SA_FW_BAD_MEASUREMENT, fw, err, "%s: %s", cmd, why.msg);
		if (st == SA_ERR_NOMEM || st == SA_ERR_CRYPTO) {
			*fw = SA_FW_HWSEV_RET_PLATFORM;
			return sa_error_set(err, st, "%s: %s", cmd, why.msg);
		}
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: %s", cmd, why.msg);
	}
	uint32_t i = g->n_secrets;
	g->secrets[i] = (emu_sev_secret){.gpa = gpa, .data = pt, .len = len};
	g->n_secrets++;
	st = emu_sev_guest_save_keys(e, g, err);
	if (st != SA_OK) {
		g->n_secrets--;
		OPENSSL_clear_free(pt, len);
		memset(&g->secrets[i], 0, sizeof(g->secrets[i]));
		return emu_fw_io(st, fw, err, cmd);
	}
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_launch_secret(sa_emu *e, uint32_t handle, const uint8_t *hdr, size_t hdr_len,
				   const uint8_t *ciphertext, size_t len, uint64_t gpa, uint32_t *fw_status,
				   sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_SECRET: no emulator");
	EMU_LOCKED(e, launch_secret(e, handle, hdr, hdr_len, ciphertext, len, gpa, fw, err));
}

static sa_status launch_finish(sa_emu *e, uint32_t handle, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "LAUNCH_FINISH";
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	SA_TRY(guest_state(g, cmd, SA_EMU_SEV_GSTATE_LSECRET, SA_EMU_SEV_GSTATE_LSECRET, fw, err));
	g->state = SA_EMU_SEV_GSTATE_RUNNING;
	sa_status st = emu_sev_guest_save(e, g, err);
	if (st != SA_OK) {
		g->state = SA_EMU_SEV_GSTATE_LSECRET;
		return emu_fw_io(st, fw, err, cmd);
	}
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_launch_finish(sa_emu *e, uint32_t handle, uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "LAUNCH_FINISH: no emulator");
	EMU_LOCKED(e, launch_finish(e, handle, fw, err));
}

static sa_status attestation(sa_emu *e, uint32_t handle, const uint8_t mnonce[16], uint8_t *buf, uint32_t *len,
			     uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "ATTESTATION";
	if (!api_at_least(e, 0, ATTESTATION_API_MINOR))
		return emu_fw_fail(SA_FW_INVALID_COMMAND, fw, err, "%s: needs API 0.23, the firmware implements %u.%u",
				   cmd, e->p.current_fw.major, e->p.current_fw.minor);
	SA_TRY(ready_fw(e, cmd, fw, err));
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	SA_TRY(guest_state(g, cmd, SA_EMU_SEV_GSTATE_LSECRET, SA_EMU_SEV_GSTATE_RUNNING, fw, err));
	if (!mnonce)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "%s: no MNONCE", cmd);
	SA_TRY(probe(buf, len, SA_SEV_REPORT_SIZE, cmd, "report", fw, err));
	sa_sev_report r;
	memset(&r, 0, sizeof(r));
	memcpy(r.mnonce, mnonce, sizeof(r.mnonce));
	memcpy(r.launch_digest, g->launch_digest, sizeof(r.launch_digest));
	r.policy = g->policy;
	uint8_t out[SA_SEV_REPORT_SIZE];
	sa_status st = sa_sev_report_sign(&r, e->sev.pek_key, err);
	if (st == SA_OK)
		st = sa_sev_report_encode(&r, out, err);
	if (st != SA_OK) {
		*fw = SA_FW_HWSEV_RET_PLATFORM;
		return st;
	}
	memcpy(buf, out, sizeof(out));
	*len = SA_SEV_REPORT_SIZE;
	return emu_fw_ok(fw);
}

sa_status sa_emu_sev_attestation(sa_emu *e, uint32_t handle, const uint8_t mnonce[16], uint8_t *buf, uint32_t *len,
				 uint32_t *fw_status, sa_error *err)
{
	FW_OUT(fw_status);
	if (!e)
		return emu_fw_fail(SA_FW_INVALID_PARAM, fw, err, "ATTESTATION: no emulator");
	EMU_LOCKED(e, attestation(e, handle, mnonce, buf, len, fw, err));
}

sa_status emu_sev_decommission(sa_emu *e, uint32_t handle, uint32_t *fw, sa_error *err)
{
	static const char cmd[] = "DECOMMISSION";
	emu_sev_guest *g;
	SA_TRY(sev_guest(e, handle, cmd, &g, fw, err));
	if (g->state == SA_EMU_SEV_GSTATE_LUPDATE) {
		/* In memory only: it goes; its handle stays spent (next_handle moved at LAUNCH_START). */
		size_t i = 0;
		while (e->sev_guests[i] != g)
			i++;
		memmove(&e->sev_guests[i], &e->sev_guests[i + 1], (e->n_sev_guests - i - 1) * sizeof(*e->sev_guests));
		e->n_sev_guests--;
		emu_sev_guest_free(g);
		return emu_fw_ok(fw);
	}
	g->decommissioned = true;
	sa_status st = emu_sev_guest_save(e, g, err);
	if (st != SA_OK) {
		g->decommissioned = false;
		return emu_fw_io(st, fw, err, cmd);
	}
	/* The JSON says decommissioned: the keys go now (or on the next open). */
	for (uint32_t i = 0; i < g->n_secrets; i++)
		OPENSSL_clear_free(g->secrets[i].data, g->secrets[i].len);
	memset(g->secrets, 0, sizeof(g->secrets));
	g->n_secrets = 0;
	sa_sev_tks_wipe(&g->tks);
	char rel[40];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.keys", handle);
	emu_remove_quiet(e->dir, rel);
	return emu_fw_ok(fw);
}

static sa_status guest_info(sa_emu *e, uint32_t handle, sa_emu_sev_guest_info *out, sa_error *err)
{
	const emu_sev_guest *g = emu_sev_find(e, handle);
	SA_ENSURE(g && !g->decommissioned, err, SA_ERR_NOT_FOUND, "SEV guest info: no SEV guest with handle %" PRIu32,
		  handle);
	memset(out, 0, sizeof(*out));
	out->handle = g->handle;
	out->policy = g->policy;
	out->state = g->state;
	out->secrets = g->n_secrets;
	if (g->state == SA_EMU_SEV_GSTATE_LUPDATE)
		return digest_peek(g, out->launch_digest, err);
	memcpy(out->launch_digest, g->launch_digest, sizeof(out->launch_digest));
	return SA_OK;
}

sa_status sa_emu_sev_guest_info_get(sa_emu *e, uint32_t handle, sa_emu_sev_guest_info *out, sa_error *err)
{
	SA_ENSURE(e && out, err, SA_ERR_ARG, "SEV guest info: missing emulator or output");
	EMU_LOCKED(e, guest_info(e, handle, out, err));
}

static sa_status measure_blob(sa_emu *e, uint32_t handle, uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE], sa_error *err)
{
	const emu_sev_guest *g = emu_sev_find(e, handle);
	SA_ENSURE(g && !g->decommissioned, err, SA_ERR_NOT_FOUND,
		  "SEV launch measurement: no SEV guest with handle %" PRIu32, handle);
	SA_ENSURE(g->state >= SA_EMU_SEV_GSTATE_LSECRET, err, SA_ERR_STATE,
		  "SEV launch measurement: guest %" PRIu32 " has not been measured yet (state launch-update)", handle);
	memcpy(blob, g->measure, 32);
	memcpy(blob + 32, g->mnonce, 16);
	return SA_OK;
}

sa_status sa_emu_sev_measure_blob(sa_emu *e, uint32_t handle, uint8_t blob[0x30], sa_error *err)
{
	SA_ENSURE(e && blob, err, SA_ERR_ARG, "SEV launch measurement: missing emulator or output");
	EMU_LOCKED(e, measure_blob(e, handle, blob, err));
}

static sa_status guest_secret(sa_emu *e, uint32_t handle, uint32_t index, uint8_t **data, size_t *len, uint64_t *gpa,
			      sa_error *err)
{
	const emu_sev_guest *g = emu_sev_find(e, handle);
	SA_ENSURE(g && !g->decommissioned, err, SA_ERR_NOT_FOUND, "SEV guest secret: no SEV guest with handle %" PRIu32,
		  handle);
	SA_ENSURE(index < g->n_secrets, err, SA_ERR_NOT_FOUND,
		  "SEV guest secret: guest %" PRIu32 " has %" PRIu32 " secret%s, no index %" PRIu32, handle,
		  g->n_secrets, g->n_secrets == 1 ? "" : "s", index);
	const emu_sev_secret *s = &g->secrets[index];
	uint8_t *copy = malloc(s->len);
	SA_ENSURE(copy, err, SA_ERR_NOMEM, "SEV guest secret: out of memory");
	memcpy(copy, s->data, s->len);
	*data = copy;
	*len = s->len;
	if (gpa)
		*gpa = s->gpa;
	return SA_OK;
}

sa_status sa_emu_sev_guest_secret(sa_emu *e, uint32_t handle, uint32_t index, uint8_t **data, size_t *len,
				  uint64_t *gpa, sa_error *err)
{
	SA_ENSURE(e && data && len, err, SA_ERR_ARG, "SEV guest secret: missing emulator or output");
	EMU_LOCKED(e, guest_secret(e, handle, index, data, len, gpa, err));
}

bool sa_emu_is_sev_guest(sa_emu *e, uint32_t handle)
{
	if (!e)
		return false;
	pthread_mutex_lock(&e->mu);
	bool is = emu_sev_find(e, handle) != NULL;
	pthread_mutex_unlock(&e->mu);
	return is;
}
