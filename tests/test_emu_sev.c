/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated legacy SEV / SEV-ES firmware: platform commands (status,
 * certificates, ownership), launch commands and their firmware statuses,
 * persistence, and the end-to-end flow a guest owner runs, checked with the
 * library's own owner-side functions and verifier.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "sevattest/emu.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/sev_verify.h"
#include "sevattest/sevattest.h"
#include "testutil.h"

#define CERT SA_SEV_CERT_SIZE
#define ES_POLICY (SA_SEV_POLICY_NODBG | SA_SEV_POLICY_NOKS | SA_SEV_POLICY_ES)

/* ---- helpers ------------------------------------------------------------ */

static void expect_fw(sa_status st, uint32_t fw, sa_status want_st, uint32_t want_fw, const sa_error *err,
		      const char *what)
{
	if (st != want_st || fw != want_fw)
		fail_msg("%s: got %s / firmware 0x%02x (%s), expected %s / 0x%02x (%s): %s", what, sa_status_name(st),
			 fw, sa_fw_status_name(fw), sa_status_name(want_st), want_fw, sa_fw_status_name(want_fw),
			 st == SA_OK ? "" : err->msg);
}

#define EXPECT_FW(call, want_st, want_fw)                                                                              \
	do {                                                                                                           \
		fw = 0xFFu;                                                                                            \
		sa_status expect_st_ = (call);                                                                         \
		expect_fw(expect_st_, fw, want_st, want_fw, &err, #call);                                              \
	} while (0)
#define OK_FW(call) EXPECT_FW(call, SA_OK, SA_FW_SUCCESS)

#define OK(call)                                                                                                       \
	do {                                                                                                           \
		sa_status ok_st_ = (call);                                                                             \
		if (ok_st_ != SA_OK)                                                                                   \
			fail_msg("%s: %s: %s", #call, sa_status_name(ok_st_), err.msg);                               \
	} while (0)

/* What PDH_CERT_EXPORT returns, decoded. */
struct exported {
	sa_sev_cert pdh, pek, oca, cek;
	uint8_t pdh_raw[CERT], chain_raw[3 * CERT];
};

static void export_certs(sa_emu *e, struct exported *x)
{
	sa_error err;
	uint32_t fw, pl = CERT, cl = 3 * CERT;
	OK_FW(sa_emu_sev_pdh_cert_export(e, x->pdh_raw, &pl, x->chain_raw, &cl, &fw, &err));
	assert_int_equal(pl, CERT);
	assert_int_equal(cl, 3 * CERT);
	OK(sa_sev_cert_decode(x->pdh_raw, CERT, &x->pdh, &err));
	OK(sa_sev_cert_decode(x->chain_raw, CERT, &x->pek, &err));
	OK(sa_sev_cert_decode(x->chain_raw + CERT, CERT, &x->oca, &err));
	OK(sa_sev_cert_decode(x->chain_raw + 2 * CERT, CERT, &x->cek, &err));
}

/* The emulator's KDS: AMD-format ARK, ASK and the ASK-signed CEK. */
struct kds {
	sa_amd_cert ark, ask;
	sa_sev_cert cek;
};

static void kds_get(sa_emu *e, struct kds *k)
{
	sa_error err;
	uint8_t ark[SA_AMD_CERT_MAX], ask[SA_AMD_CERT_MAX], cek[CERT];
	size_t al = 0, sl = 0;
	OK(sa_emu_sev_export_amd(e, ark, &al, ask, &sl, cek, &err));
	OK(sa_amd_cert_decode(ark, al, &k->ark, &err));
	OK(sa_amd_cert_decode(ask, sl, &k->ask, &err));
	OK(sa_sev_cert_decode(cek, CERT, &k->cek, &err));
}

/* A chain check of the exported certificates with the emulator's ARK as root. */
static bool chain_ok(const struct kds *k, const struct exported *x, const sa_sev_cert *trusted_oca, sa_verdict *v)
{
	sa_error err;
	sa_sev_chain c = {.ark = &k->ark, .ask = &k->ask, .cek = &k->cek, .pek = &x->pek, .oca = &x->oca, .pdh = &x->pdh};
	sa_sev_trust t = {.roots = &k->ark, .n_roots = 1, .trusted_oca = trusted_oca};
	sa_verdict_init(v);
	OK(sa_sev_chain_check(&c, &t, v, &err));
	sa_verdict_conclude(v);
	return v->verified;
}

static void print_failures(const sa_verdict *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->checks[i].status == SA_CHECK_FAIL)
			print_message("  %s: %s (expected %s, got %s)\n", v->checks[i].id, v->checks[i].summary,
				      v->checks[i].expected, v->checks[i].actual);
}

static sa_check_status check_of(const sa_verdict *v, const char *id)
{
	const sa_check *c = sa_verdict_find(v, id);
	if (!c)
		fail_msg("no check %s in the verdict", id);
	return c->status;
}

static uint32_t status_guests(sa_emu *e, uint8_t *state)
{
	sa_error err;
	uint32_t fw;
	sa_sev_platform_status s;
	OK_FW(sa_emu_sev_platform_status(e, &s, &fw, &err));
	if (state)
		*state = s.state;
	return s.guest_count;
}

/* An OCA of the platform owner's own. */
static void external_oca(EVP_PKEY **key, sa_sev_cert *oca)
{
	sa_error err;
	OK(sa_key_generate_p384(key, &err));
	OK(sa_sev_cert_init(oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, *key, &err));
	OK(sa_sev_cert_sign(oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, *key, &err));
}

static bool file_exists(const tu_plat *p, const char *rel)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	return stat(path, &st) == 0;
}

static void file_remove(const tu_plat *p, const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	unlink(path);
}

/* A launch without a session (firmware-chosen TEK/TIK), up to LUPDATE. */
static uint32_t launch_plain(sa_emu *e, uint32_t policy)
{
	sa_error err;
	uint32_t fw, h = 0;
	OK_FW(sa_emu_sev_launch_start(e, policy, NULL, 0, NULL, 0, &h, &fw, &err));
	return h;
}

static void measure(sa_emu *e, uint32_t h, uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE])
{
	sa_error err;
	uint32_t fw, len = SA_SEV_MEASURE_BLOB_SIZE;
	OK_FW(sa_emu_sev_launch_measure(e, h, blob, &len, &fw, &err));
	assert_int_equal(len, SA_SEV_MEASURE_BLOB_SIZE);
}

/* ---- platform ------------------------------------------------------------ */

static void platform_status_initial(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	sa_sev_platform_status s;
	OK_FW(sa_emu_sev_platform_status(p.e, &s, &fw, &err));
	sa_emu_status es;
	OK(sa_emu_platform_status(p.e, &es, &err));
	assert_int_equal(s.api_major, es.current.major);
	assert_int_equal(s.api_minor, es.current.minor);
	assert_int_equal(s.build, es.current.build);
	assert_true(s.api_major > 1 || (s.api_major == 1 && s.api_minor >= 49));
	assert_int_equal(s.state, SA_SEV_STATE_INIT);
	assert_false(s.owner_external);
	assert_true(s.config_es);
	assert_int_equal(s.flags, 0x100);
	assert_int_equal(s.guest_count, 0);
	/* The 12-byte form round-trips. */
	uint8_t raw[SA_SEV_STATUS_SIZE];
	sa_sev_platform_status back;
	sa_sev_platform_status_encode(&s, raw);
	OK(sa_sev_platform_status_decode(raw, sizeof(raw), &back, &err));
	assert_int_equal(back.flags, s.flags);
	EXPECT_FW(sa_emu_sev_platform_status(p.e, NULL, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	tu_plat_free(&p);
}

static void get_id_probe(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw, len = 0;
	uint8_t id[64];
	memset(id, 0xAB, sizeof(id));
	EXPECT_FW(sa_emu_sev_get_id(p.e, NULL, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(len, 64);
	len = 63;
	EXPECT_FW(sa_emu_sev_get_id(p.e, id, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(len, 64);
	assert_int_equal(id[0], 0xAB); /* nothing written */
	EXPECT_FW(sa_emu_sev_get_id(p.e, id, NULL, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	len = 100;
	OK_FW(sa_emu_sev_get_id(p.e, id, &len, &fw, &err));
	assert_int_equal(len, 64);
	sa_emu_status es;
	OK(sa_emu_platform_status(p.e, &es, &err));
	assert_memory_equal(id, es.chip_id, 64);
	tu_plat_free(&p);
}

static void pdh_export_and_chain(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	uint8_t pdh[CERT], chain[3 * CERT];
	memset(pdh, 0x5A, sizeof(pdh));
	uint32_t pl = 0, cl = 0;
	EXPECT_FW(sa_emu_sev_pdh_cert_export(p.e, NULL, &pl, NULL, &cl, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(pl, CERT);
	assert_int_equal(cl, 3 * CERT);
	pl = CERT;
	cl = 3 * CERT - 1;
	EXPECT_FW(sa_emu_sev_pdh_cert_export(p.e, pdh, &pl, chain, &cl, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(cl, 3 * CERT);
	assert_int_equal(pdh[0], 0x5A); /* nothing written */
	EXPECT_FW(sa_emu_sev_pdh_cert_export(p.e, pdh, NULL, chain, &cl, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);

	struct exported x;
	export_certs(p.e, &x);
	assert_int_equal(x.pdh.pub_key_usage, SA_SEV_USAGE_PDH);
	assert_int_equal(x.pdh.pub_key_algo, SA_SEV_ALGO_ECDH_SHA256);
	assert_int_equal(x.pek.pub_key_usage, SA_SEV_USAGE_PEK);
	assert_int_equal(x.oca.pub_key_usage, SA_SEV_USAGE_OCA);
	assert_int_equal(x.cek.pub_key_usage, SA_SEV_USAGE_CEK);
	/* As real firmware: the CEK is unsigned (API 0.14), the PEK has OCA then CEK signatures. */
	assert_int_equal(sa_sev_cert_sig_count(&x.cek), 0);
	assert_int_equal(x.cek.api_major, 0);
	assert_int_equal(x.cek.api_minor, 14);
	assert_int_equal(x.pek.sig[0].usage, SA_SEV_USAGE_OCA);
	assert_int_equal(x.pek.sig[1].usage, SA_SEV_USAGE_CEK);

	struct kds k;
	kds_get(p.e, &k);
	assert_true(sa_sev_cert_same_key(&k.cek, &x.cek));
	OK(sa_sev_cert_verify_by_ask(&k.cek, &k.ask, &err));
	OK(sa_amd_cert_verify(&k.ask, &k.ark, &err));
	OK(sa_amd_cert_verify(&k.ark, &k.ark, &err));
	assert_memory_equal(k.ask.certifying_id, k.ark.key_id, 16);
	assert_memory_not_equal(k.ask.key_id, k.ark.key_id, 16);

	sa_verdict v;
	if (!chain_ok(&k, &x, NULL, &v)) {
		print_failures(&v);
		fail_msg("the exported chain does not verify");
	}
	sa_verdict_free(&v);
	/* The CEK as PDH_CERT_EXPORT gives it (unsigned) does not reach the ASK: the KDS copy is needed. */
	struct kds k2 = k;
	k2.cek = x.cek;
	assert_false(chain_ok(&k2, &x, NULL, &v));
	assert_int_equal(check_of(&v, "sev.chain.cek"), SA_CHECK_FAIL);
	sa_verdict_free(&v);
	tu_plat_free(&p);
}

static void amd_roots_are_the_x509_keys(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	struct kds k;
	kds_get(p.e, &k);
	char *pem = NULL;
	OK(sa_emu_export_root(p.e, &pem, &err));
	sa_cert_list list = {0};
	OK(sa_cert_parse_any((const uint8_t *)pem, strlen(pem), &list, &err));
	free(pem);
	assert_int_equal(list.n, 1);
	EVP_PKEY *ark = NULL;
	OK(sa_amd_cert_pubkey(&k.ark, &ark, &err));
	assert_int_equal(EVP_PKEY_eq(ark, list.v[0]->pubkey), 1);
	EVP_PKEY_free(ark);
	sa_cert_list_free(&list);
	/* KEY_IDs persist. */
	tu_plat_reopen(&p);
	struct kds k2;
	kds_get(p.e, &k2);
	assert_memory_equal(k.ark.key_id, k2.ark.key_id, 16);
	assert_memory_equal(k.ask.key_id, k2.ask.key_id, 16);
	assert_memory_equal(k.ark.modulus, k2.ark.modulus, sizeof(k.ark.modulus));
	tu_plat_free(&p);
}

static void factory_reset_keeps_cek(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	struct exported a, b, c;
	export_certs(p.e, &a);
	OK_FW(sa_emu_sev_pdh_gen(p.e, &fw, &err));
	export_certs(p.e, &b);
	assert_true(sa_sev_cert_same_key(&a.pek, &b.pek));
	assert_false(sa_sev_cert_same_key(&a.pdh, &b.pdh));
	OK(sa_sev_cert_verify(&b.pdh, &b.pek, &err));

	OK_FW(sa_emu_sev_factory_reset(p.e, &fw, &err));
	export_certs(p.e, &c);
	assert_memory_equal(a.chain_raw + 2 * CERT, c.chain_raw + 2 * CERT, CERT); /* the CEK */
	assert_false(sa_sev_cert_same_key(&a.pek, &c.pek));
	assert_false(sa_sev_cert_same_key(&a.oca, &c.oca));
	assert_false(sa_sev_cert_same_key(&b.pdh, &c.pdh));
	struct kds k;
	kds_get(p.e, &k);
	sa_verdict v;
	assert_true(chain_ok(&k, &c, NULL, &v));
	sa_verdict_free(&v);

	/* PEK_GEN keeps a self-owned OCA, changes PEK and PDH. */
	OK_FW(sa_emu_sev_pek_gen(p.e, &fw, &err));
	struct exported d;
	export_certs(p.e, &d);
	assert_true(sa_sev_cert_same_key(&c.oca, &d.oca));
	assert_false(sa_sev_cert_same_key(&c.pek, &d.pek));
	assert_false(sa_sev_cert_same_key(&c.pdh, &d.pdh));
	assert_true(chain_ok(&k, &d, NULL, &v));
	sa_verdict_free(&v);

	/* The identity survives a reopen, and old generations' files are gone. */
	tu_plat_reopen(&p);
	struct exported e2;
	export_certs(p.e, &e2);
	assert_memory_equal(d.pdh_raw, e2.pdh_raw, CERT);
	assert_memory_equal(d.chain_raw, e2.chain_raw, 3 * CERT);
	assert_false(file_exists(&p, "keys/sev-1.pem"));
	assert_false(file_exists(&p, "certs/sev-1.certs"));
	tu_plat_free(&p);
}

static void pek_csr_and_import(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	uint8_t csr_raw[CERT];
	uint32_t len = 16;
	EXPECT_FW(sa_emu_sev_pek_csr(p.e, csr_raw, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(len, CERT);
	OK_FW(sa_emu_sev_pek_csr(p.e, csr_raw, &len, &fw, &err));
	sa_sev_cert csr;
	OK(sa_sev_cert_decode(csr_raw, CERT, &csr, &err));
	assert_int_equal(sa_sev_cert_sig_count(&csr), 0);
	struct exported before;
	export_certs(p.e, &before);
	assert_true(sa_sev_cert_same_key(&csr, &before.pek));

	EVP_PKEY *oca_key = NULL;
	sa_sev_cert oca;
	external_oca(&oca_key, &oca);
	sa_sev_cert pek = csr;
	OK(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, oca_key, &err));
	uint8_t pek_raw[CERT], oca_raw[CERT];
	OK(sa_sev_cert_encode(&pek, pek_raw, &err));
	OK(sa_sev_cert_encode(&oca, oca_raw, &err));

	/* Misuse first: each leaves the platform as it was. */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT - 1, oca_raw, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, NULL, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	uint8_t bad[CERT];
	memcpy(bad, oca_raw, CERT);
	bad[0] = 7; /* VERSION */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, bad, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_CERTIFICATE);
	memcpy(bad, oca_raw, CERT);
	bad[0x41C + 5] ^= 1; /* the OCA's self-signature */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, bad, CERT, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_SIGNATURE);
	memcpy(bad, pek_raw, CERT);
	bad[0x41C + 5] ^= 1; /* the OCA's signature of the PEK */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, bad, CERT, oca_raw, CERT, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_SIGNATURE);
	/* A PEK that is not the platform's. */
	EVP_PKEY *other = NULL;
	sa_sev_cert stranger;
	OK(sa_key_generate_p384(&other, &err));
	OK(sa_sev_cert_init(&stranger, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, csr.api_major, csr.api_minor, other,
			    &err));
	OK(sa_sev_cert_sign(&stranger, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, oca_key, &err));
	OK(sa_sev_cert_encode(&stranger, bad, &err));
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, bad, CERT, oca_raw, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_CERTIFICATE);
	EVP_PKEY_free(other);
	/* An "OCA" that is a PEK certificate. */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, pek_raw, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_CERTIFICATE);
	/* The CSR without the OCA's signature. */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, csr_raw, CERT, oca_raw, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_CERTIFICATE);
	struct exported same;
	export_certs(p.e, &same);
	assert_memory_equal(before.chain_raw, same.chain_raw, 3 * CERT);
	assert_memory_equal(before.pdh_raw, same.pdh_raw, CERT);

	/* Not in WORKING. */
	uint32_t h = launch_plain(p.e, 0);
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, oca_raw, CERT, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_PLATFORM_STATE);
	OK_FW(sa_emu_decommission(p.e, h, &fw, &err));

	OK_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, oca_raw, CERT, &fw, &err));
	sa_sev_platform_status s;
	OK_FW(sa_emu_sev_platform_status(p.e, &s, &fw, &err));
	assert_true(s.owner_external);
	assert_int_equal(s.flags & 1, 1);
	struct exported x;
	export_certs(p.e, &x);
	assert_memory_equal(x.chain_raw + CERT, oca_raw, CERT);
	assert_true(sa_sev_cert_same_key(&x.pek, &before.pek));
	assert_false(sa_sev_cert_same_key(&x.pdh, &before.pdh)); /* a new PDH */
	struct kds k;
	kds_get(p.e, &k);
	sa_verdict v;
	if (!chain_ok(&k, &x, &oca, &v)) {
		print_failures(&v);
		fail_msg("the imported chain does not verify");
	}
	sa_verdict_free(&v);
	/* Trusting another OCA fails at sev.chain.oca. */
	EVP_PKEY *k3 = NULL;
	sa_sev_cert oca3;
	external_oca(&k3, &oca3);
	assert_false(chain_ok(&k, &x, &oca3, &v));
	assert_int_equal(check_of(&v, "sev.chain.oca"), SA_CHECK_FAIL);
	sa_verdict_free(&v);
	EVP_PKEY_free(k3);

	/* Owned: a second import is refused; the owner flag survives a reopen. */
	EXPECT_FW(sa_emu_sev_pek_cert_import(p.e, pek_raw, CERT, oca_raw, CERT, &fw, &err), SA_ERR_ARG,
		  SA_FW_ALREADY_OWNED);
	tu_plat_reopen(&p);
	OK_FW(sa_emu_sev_platform_status(p.e, &s, &fw, &err));
	assert_true(s.owner_external);
	struct exported y;
	export_certs(p.e, &y);
	assert_memory_equal(x.chain_raw, y.chain_raw, 3 * CERT);

	/* PEK_GEN drops the imported OCA: self-owned again. */
	OK_FW(sa_emu_sev_pek_gen(p.e, &fw, &err));
	OK_FW(sa_emu_sev_platform_status(p.e, &s, &fw, &err));
	assert_false(s.owner_external);
	export_certs(p.e, &y);
	assert_false(sa_sev_cert_same_key(&y.oca, &oca));
	assert_true(chain_ok(&k, &y, NULL, &v));
	sa_verdict_free(&v);
	EVP_PKEY_free(oca_key);
	tu_plat_free(&p);
}

static void platform_states(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	uint8_t st = 0;
	uint32_t h = launch_plain(p.e, 0);
	assert_int_equal(status_guests(p.e, &st), 1);
	assert_int_equal(st, SA_SEV_STATE_WORKING);
	sa_emu_status es;
	OK(sa_emu_platform_status(p.e, &es, &err));
	assert_int_equal(es.guest_count, 1);
	assert_true(sa_emu_is_sev_guest(p.e, h));
	EXPECT_FW(sa_emu_sev_factory_reset(p.e, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_PLATFORM_STATE);
	EXPECT_FW(sa_emu_sev_pek_gen(p.e, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_PLATFORM_STATE);
	EXPECT_FW(sa_emu_sev_reinit(p.e, false, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_PLATFORM_STATE);
	/* Allowed while WORKING. */
	OK_FW(sa_emu_sev_pdh_gen(p.e, &fw, &err));
	uint8_t csr[CERT];
	uint32_t len = CERT;
	OK_FW(sa_emu_sev_pek_csr(p.e, csr, &len, &fw, &err));
	/* SNP and SEV guests share the handle space. */
	uint32_t snp = 0;
	OK_FW(sa_emu_launch_start(p.e, 0x30000, &snp, &fw, &err));
	assert_true(snp > h);
	assert_false(sa_emu_is_sev_guest(p.e, snp));
	uint8_t data[16] = {0};
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, snp, data, sizeof(data), &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_GUEST);
	OK(sa_emu_platform_status(p.e, &es, &err));
	assert_int_equal(es.guest_count, 2);
	assert_int_equal(status_guests(p.e, NULL), 1);
	uint32_t h2 = launch_plain(p.e, 0);
	assert_true(h2 > snp);
	OK_FW(sa_emu_decommission(p.e, h, &fw, &err));
	OK_FW(sa_emu_decommission(p.e, h2, &fw, &err));
	EXPECT_FW(sa_emu_decommission(p.e, h2, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	assert_int_equal(status_guests(p.e, &st), 0);
	assert_int_equal(st, SA_SEV_STATE_INIT);
	OK_FW(sa_emu_sev_factory_reset(p.e, &fw, &err));
	tu_plat_free(&p);
}

static void launch_start_checks(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw, h = 0;
	EXPECT_FW(sa_emu_sev_launch_start(p.e, 0x40, NULL, 0, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_sev_launch_start(p.e, 0x8000, NULL, 0, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	uint32_t too_new = (uint32_t)(9u << 16); /* API 9.0 */
	EXPECT_FW(sa_emu_sev_launch_start(p.e, too_new, NULL, 0, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE);
	OK_FW(sa_emu_sev_reinit(p.e, false, &fw, &err));
	sa_sev_platform_status s;
	OK_FW(sa_emu_sev_platform_status(p.e, &s, &fw, &err));
	assert_false(s.config_es);
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, NULL, 0, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE);
	tu_plat_reopen(&p); /* CONFIG_ES is persisted */
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, NULL, 0, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE);
	OK_FW(sa_emu_sev_reinit(p.e, true, &fw, &err));

	/* Sessions. */
	struct exported x;
	export_certs(p.e, &x);
	sa_sev_session_params sp = {.pdh = &x.pdh, .policy = ES_POLICY};
	sa_sev_cert godh;
	sa_sev_session sess;
	sa_sev_tks tks;
	OK(sa_sev_session_create(&sp, &godh, &sess, &tks, NULL, &err));
	uint8_t g[CERT], sb[SA_SEV_SESSION_SIZE];
	OK(sa_sev_cert_encode(&godh, g, &err));
	sa_sev_session_encode(&sess, sb);
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, g, CERT, NULL, 0, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, g, CERT - 4, sb, sizeof(sb), &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, g, CERT, sb, sizeof(sb) - 1, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	uint8_t bad[CERT];
	memcpy(bad, g, CERT);
	bad[8] = 0x99; /* PUB_KEY_USAGE */
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, bad, CERT, sb, sizeof(sb), &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_CERTIFICATE);
	/* The owner made the session for another policy: the policy MAC fails. */
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY | SA_SEV_POLICY_NOSEND, g, CERT, sb, sizeof(sb), &h, &fw,
					  &err),
		  SA_ERR_VERIFY, SA_FW_BAD_MEASUREMENT);
	uint8_t sb2[SA_SEV_SESSION_SIZE];
	memcpy(sb2, sb, sizeof(sb2));
	sb2[16 + 32 + 16] ^= 1; /* wrap_mac */
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, g, CERT, sb2, sizeof(sb2), &h, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_MEASUREMENT);
	/* A session for an older PDH does not open after PDH_GEN. */
	OK_FW(sa_emu_sev_pdh_gen(p.e, &fw, &err));
	EXPECT_FW(sa_emu_sev_launch_start(p.e, ES_POLICY, g, CERT, sb, sizeof(sb), &h, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_MEASUREMENT);
	assert_int_equal(status_guests(p.e, NULL), 0);
	sa_sev_tks_wipe(&tks);
	tu_plat_free(&p);
}

static void launch_misuse(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw;
	uint8_t data[64], vmsa[4096];
	memset(data, 1, sizeof(data));
	memset(vmsa, 2, sizeof(vmsa));
	uint32_t h = launch_plain(p.e, SA_SEV_POLICY_NODBG);
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, h + 100, data, 16, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, h, data, 0, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, h, data, 17, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, h, NULL, 16, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_sev_launch_update_vmsa(p.e, h, vmsa, sizeof(vmsa), &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE);
	sa_emu_sev_guest_info gi;
	OK(sa_emu_sev_guest_info_get(p.e, h, &gi, &err));
	uint8_t empty[32];
	OK(sa_sha256("", 0, empty, &err));
	assert_memory_equal(gi.launch_digest, empty, 32); /* nothing was measured */
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LUPDATE);
	OK_FW(sa_emu_sev_launch_update_data(p.e, h, data, sizeof(data), &fw, &err));

	/* Commands for later states. */
	uint8_t hdr[SA_SEV_SECRET_HDR_SIZE] = {0}, ct[16] = {0};
	EXPECT_FW(sa_emu_sev_launch_secret(p.e, h, hdr, sizeof(hdr), ct, sizeof(ct), 0, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);
	EXPECT_FW(sa_emu_sev_launch_finish(p.e, h, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_GUEST_STATE);
	uint8_t mn[16] = {0}, rep[SA_SEV_REPORT_SIZE];
	uint32_t len = sizeof(rep);
	EXPECT_FW(sa_emu_sev_attestation(p.e, h, mn, rep, &len, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_GUEST_STATE);

	/* The measure probe changes nothing. */
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	len = 0;
	EXPECT_FW(sa_emu_sev_launch_measure(p.e, h, NULL, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(len, SA_SEV_MEASURE_BLOB_SIZE);
	len = SA_SEV_MEASURE_BLOB_SIZE - 1;
	EXPECT_FW(sa_emu_sev_launch_measure(p.e, h, blob, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	OK(sa_emu_sev_guest_info_get(p.e, h, &gi, &err));
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LUPDATE);
	uint8_t want[32];
	OK(sa_sha256(data, sizeof(data), want, &err));
	assert_memory_equal(gi.launch_digest, want, 32);
	measure(p.e, h, blob);
	/* Another guest of the same image and policy: the same digest, a fresh MNONCE, another MEASURE. */
	uint32_t twin = launch_plain(p.e, SA_SEV_POLICY_NODBG);
	OK_FW(sa_emu_sev_launch_update_data(p.e, twin, data, sizeof(data), &fw, &err));
	uint8_t blob2[SA_SEV_MEASURE_BLOB_SIZE];
	measure(p.e, twin, blob2);
	assert_memory_not_equal(blob + 32, blob2 + 32, 16);
	assert_memory_not_equal(blob, blob2, 32);
	OK(sa_emu_sev_guest_info_get(p.e, twin, &gi, &err));
	assert_memory_equal(gi.launch_digest, want, 32);
	OK(sa_emu_sev_guest_info_get(p.e, h, &gi, &err));
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LSECRET);
	assert_memory_equal(gi.launch_digest, want, 32);
	EXPECT_FW(sa_emu_sev_launch_update_data(p.e, h, data, 16, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);
	len = sizeof(blob);
	EXPECT_FW(sa_emu_sev_launch_measure(p.e, h, blob, &len, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_GUEST_STATE);

	/* LAUNCH_SECRET lengths and MACs. */
	EXPECT_FW(sa_emu_sev_launch_secret(p.e, h, hdr, sizeof(hdr) - 1, ct, sizeof(ct), 0, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_launch_secret(p.e, h, hdr, sizeof(hdr), ct, 15, 0, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	EXPECT_FW(sa_emu_sev_launch_secret(p.e, h, hdr, sizeof(hdr), ct, sizeof(ct), 0, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_MEASUREMENT);
	OK(sa_emu_sev_guest_info_get(p.e, h, &gi, &err));
	assert_int_equal(gi.secrets, 0);

	/* ATTESTATION probes. */
	len = 0x10;
	EXPECT_FW(sa_emu_sev_attestation(p.e, h, mn, rep, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_LENGTH);
	assert_int_equal(len, SA_SEV_REPORT_SIZE);
	EXPECT_FW(sa_emu_sev_attestation(p.e, h, NULL, rep, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	OK_FW(sa_emu_sev_attestation(p.e, h, mn, rep, &len, &fw, &err));
	OK_FW(sa_emu_sev_launch_finish(p.e, h, &fw, &err));
	EXPECT_FW(sa_emu_sev_launch_finish(p.e, h, &fw, &err), SA_ERR_STATE, SA_FW_INVALID_GUEST_STATE);
	EXPECT_FW(sa_emu_sev_launch_secret(p.e, h, hdr, sizeof(hdr), ct, sizeof(ct), 0, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);
	OK_FW(sa_emu_sev_attestation(p.e, h, mn, rep, &len, &fw, &err));

	/* Decommissioned: the handle is gone for every command. */
	OK_FW(sa_emu_decommission(p.e, h, &fw, &err));
	EXPECT_FW(sa_emu_sev_attestation(p.e, h, mn, rep, &len, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	assert_int_equal(sa_emu_sev_guest_info_get(p.e, h, &gi, &err), SA_ERR_NOT_FOUND);
	tu_plat_free(&p);
}

/* ---- the guest owner's flow ----------------------------------------------- */

struct owner_run {
	tu_plat p;
	struct exported x;
	struct kds k;
	sa_sev_tks tks;
	uint32_t h;
	uint8_t digest[32];
	uint8_t measure[32];
	uint8_t report[SA_SEV_REPORT_SIZE];
	uint8_t mnonce[16];
};

static const char SECRET_TEXT[] = "the disk key: 0123456789abcdef!"; /* 32 bytes with the NUL */

static void owner_flow(struct owner_run *r)
{
	sa_error err;
	uint32_t fw;
	tu_plat_create(&r->p, SA_PRODUCT_MILAN);
	sa_emu *e = r->p.e;
	/* The owner takes the platform's PDH after checking both chains. */
	export_certs(e, &r->x);
	kds_get(e, &r->k);
	sa_verdict v;
	assert_true(chain_ok(&r->k, &r->x, NULL, &v));
	sa_verdict_free(&v);
	sa_sev_session_params sp = {.pdh = &r->x.pdh, .policy = ES_POLICY};
	sa_sev_cert godh;
	sa_sev_session sess;
	OK(sa_sev_session_create(&sp, &godh, &sess, &r->tks, NULL, &err));
	uint8_t g[CERT], sb[SA_SEV_SESSION_SIZE];
	OK(sa_sev_cert_encode(&godh, g, &err));
	sa_sev_session_encode(&sess, sb);
	OK_FW(sa_emu_sev_launch_start(e, ES_POLICY, g, CERT, sb, sizeof(sb), &r->h, &fw, &err));

	/* The image and two VMSAs; the digest is SHA-256 over all of it, in order. */
	uint8_t image[4096 + 4096 * 2];
	for (size_t i = 0; i < 4096; i++)
		image[i] = (uint8_t)(i * 7);
	memset(image + 4096, 0x11, 4096);
	memset(image + 8192, 0x22, 4096);
	OK_FW(sa_emu_sev_launch_update_data(e, r->h, image, 4096, &fw, &err));
	OK_FW(sa_emu_sev_launch_update_vmsa(e, r->h, image + 4096, 4096, &fw, &err));
	EXPECT_FW(sa_emu_sev_launch_update_vmsa(e, r->h, image + 8192, 4095, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);
	OK_FW(sa_emu_sev_launch_update_vmsa(e, r->h, image + 8192, 4096, &fw, &err));
	OK(sa_sha256(image, sizeof(image), r->digest, &err));

	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	measure(e, r->h, blob);
	sa_sev_platform_status s;
	OK_FW(sa_emu_sev_platform_status(e, &s, &fw, &err));
	sa_sev_measure_input in = {.api_major = s.api_major, .api_minor = s.api_minor, .build = s.build,
				   .policy = ES_POLICY};
	memcpy(in.launch_digest, r->digest, 32);
	OK(sa_sev_measure_verify(r->tks.tik, &in, blob, sizeof(blob), &err));
	memcpy(r->measure, blob, 32);
	/* A different expected digest is refused by the owner. */
	sa_sev_measure_input in2 = in;
	in2.launch_digest[0] ^= 1;
	assert_int_equal(sa_sev_measure_verify(r->tks.tik, &in2, blob, sizeof(blob), &err), SA_ERR_VERIFY);

	/* The owner's secret. */
	sa_sev_secret_hdr hdr;
	uint8_t ct[32], hraw[SA_SEV_SECRET_HDR_SIZE];
	OK(sa_sev_secret_package(&r->tks, r->measure, NULL, (const uint8_t *)SECRET_TEXT, sizeof(SECRET_TEXT), &hdr, ct,
				 &err));
	sa_sev_secret_hdr_encode(&hdr, hraw);
	uint8_t tampered[32];
	memcpy(tampered, ct, sizeof(ct));
	tampered[3] ^= 0x40;
	EXPECT_FW(sa_emu_sev_launch_secret(e, r->h, hraw, sizeof(hraw), tampered, sizeof(tampered), 0x800000, &fw,
					   &err),
		  SA_ERR_VERIFY, SA_FW_BAD_MEASUREMENT);
	OK_FW(sa_emu_sev_launch_secret(e, r->h, hraw, sizeof(hraw), ct, sizeof(ct), 0x800000, &fw, &err));
	uint8_t *pt = NULL;
	size_t pl = 0;
	uint64_t gpa = 0;
	OK(sa_emu_sev_guest_secret(e, r->h, 0, &pt, &pl, &gpa, &err));
	assert_int_equal(pl, sizeof(SECRET_TEXT));
	assert_memory_equal(pt, SECRET_TEXT, pl);
	assert_int_equal(gpa, 0x800000);
	free(pt);
	assert_int_equal(sa_emu_sev_guest_secret(e, r->h, 1, &pt, &pl, &gpa, &err), SA_ERR_NOT_FOUND);
	/* Up to 16 secrets a guest; the last one is the page the guest reads at 0x900000. */
	for (uint64_t i = 1; i < 16; i++) {
		OK(sa_sev_secret_package(&r->tks, r->measure, NULL, (const uint8_t *)SECRET_TEXT, sizeof(SECRET_TEXT),
					 &hdr, ct, &err));
		sa_sev_secret_hdr_encode(&hdr, hraw);
		OK_FW(sa_emu_sev_launch_secret(e, r->h, hraw, sizeof(hraw), ct, sizeof(ct), 0x800000 + i * 0x10000, &fw,
					       &err));
	}
	EXPECT_FW(sa_emu_sev_launch_secret(e, r->h, hraw, sizeof(hraw), ct, sizeof(ct), 0xA00000, &fw, &err),
		  SA_ERR_ARG, SA_FW_RESOURCE_LIMIT);
	OK_FW(sa_emu_sev_launch_finish(e, r->h, &fw, &err));

	for (size_t i = 0; i < 16; i++)
		r->mnonce[i] = (uint8_t)(0xA0 + i);
	uint32_t len = sizeof(r->report);
	OK_FW(sa_emu_sev_attestation(e, r->h, r->mnonce, r->report, &len, &fw, &err));
	assert_int_equal(len, SA_SEV_REPORT_SIZE);
}

static void verify_report(const struct owner_run *r, const uint8_t *report, const sa_sev_cert *pek,
			  const uint8_t mnonce[16], sa_verdict *v)
{
	sa_error err;
	const uint8_t(*ms)[32] = &r->digest;
	sa_sev_evidence ev = {.report = report,
			      .report_len = SA_SEV_REPORT_SIZE,
			      .chain = {.ark = &r->k.ark,
					.ask = &r->k.ask,
					.cek = &r->k.cek,
					.pek = pek,
					.oca = &r->x.oca,
					.pdh = &r->x.pdh}};
	sa_sev_trust t = {.roots = &r->k.ark, .n_roots = 1};
	sa_sev_appraisal a = {.mnonce = mnonce,
			      .measurements = ms,
			      .n_measurements = 1,
			      .policy_require = SA_SEV_POLICY_ES | SA_SEV_POLICY_NODBG};
	sa_verdict_init(v);
	OK(sa_verify_sev_report(&ev, &t, &a, v, &err));
}

static void done_when_flow(void **state)
{
	(void)state;
	struct owner_run r;
	owner_flow(&r);
	sa_verdict v;
	verify_report(&r, r.report, &r.x.pek, r.mnonce, &v);
	if (!v.verified) {
		print_failures(&v);
		fail_msg("the ATTESTATION report does not verify");
	}
	assert_int_equal(check_of(&v, "sev.chain.pek_cek"), SA_CHECK_PASS);
	assert_int_equal(check_of(&v, "sev.chain.pek_oca"), SA_CHECK_PASS);
	assert_int_equal(check_of(&v, "sev.chain.cek"), SA_CHECK_PASS);
	assert_int_equal(check_of(&v, "sev.report.measurement"), SA_CHECK_PASS);
	sa_verdict_free(&v);

	/* A wrong mnonce. */
	uint8_t other[16];
	memcpy(other, r.mnonce, 16);
	other[15] ^= 0xFF;
	verify_report(&r, r.report, &r.x.pek, other, &v);
	assert_false(v.verified);
	assert_int_equal(sa_verdict_first_failure(&v) ? 1 : 0, 1);
	assert_int_equal(check_of(&v, "sev.report.mnonce"), SA_CHECK_FAIL);
	assert_int_equal(check_of(&v, "sev.report.signature"), SA_CHECK_PASS);
	sa_verdict_free(&v);

	/* A changed policy byte breaks the PEK's signature. */
	uint8_t bad[SA_SEV_REPORT_SIZE];
	memcpy(bad, r.report, sizeof(bad));
	bad[0x30] ^= SA_SEV_POLICY_NOSEND;
	verify_report(&r, bad, &r.x.pek, r.mnonce, &v);
	assert_false(v.verified);
	assert_int_equal(check_of(&v, "sev.report.signature"), SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* The PEK re-signed by a foreign OCA (the chain still names the platform's OCA). */
	EVP_PKEY *fk = NULL;
	sa_sev_cert foca;
	external_oca(&fk, &foca);
	sa_sev_cert pek = r.x.pek;
	pek.sig[0].usage = SA_SEV_USAGE_INVALID;
	pek.sig[0].algo = SA_SEV_ALGO_INVALID;
	memset(pek.sig[0].sig, 0, sizeof(pek.sig[0].sig));
	sa_error err;
	OK(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, fk, &err));
	verify_report(&r, r.report, &pek, r.mnonce, &v);
	assert_false(v.verified);
	assert_int_equal(check_of(&v, "sev.chain.pek_oca"), SA_CHECK_FAIL);
	assert_int_equal(check_of(&v, "sev.chain.pek_cek"), SA_CHECK_PASS);
	assert_int_equal(check_of(&v, "sev.report.signature"), SA_CHECK_PASS);
	sa_verdict_free(&v);
	EVP_PKEY_free(fk);

	sa_sev_tks_wipe(&r.tks);
	tu_plat_free(&r.p);
}

static void reopen_keeps_guests(void **state)
{
	(void)state;
	struct owner_run r;
	owner_flow(&r);
	sa_error err;
	uint32_t fw;
	uint32_t measured = launch_plain(r.p.e, 0);
	uint8_t data[32] = {3};
	OK_FW(sa_emu_sev_launch_update_data(r.p.e, measured, data, sizeof(data), &fw, &err));
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	measure(r.p.e, measured, blob);
	uint32_t launching = launch_plain(r.p.e, 0);
	OK_FW(sa_emu_sev_launch_update_data(r.p.e, launching, data, sizeof(data), &fw, &err));

	tu_plat_reopen(&r.p);
	sa_emu *e = r.p.e;
	sa_emu_sev_guest_info gi;
	OK(sa_emu_sev_guest_info_get(e, r.h, &gi, &err));
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_RUNNING);
	assert_int_equal(gi.policy, ES_POLICY);
	assert_memory_equal(gi.launch_digest, r.digest, 32);
	assert_int_equal(gi.secrets, 16);
	uint8_t *pt = NULL;
	size_t pl = 0;
	uint64_t gpa = 0;
	OK(sa_emu_sev_guest_secret(e, r.h, 15, &pt, &pl, &gpa, &err));
	assert_memory_equal(pt, SECRET_TEXT, sizeof(SECRET_TEXT));
	assert_int_equal(gpa, 0x800000 + 15 * 0x10000);
	free(pt);
	OK(sa_emu_sev_guest_info_get(e, measured, &gi, &err));
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LSECRET);
	/* The launching guest did not survive; its handle is not reused. */
	assert_int_equal(sa_emu_sev_guest_info_get(e, launching, &gi, &err), SA_ERR_NOT_FOUND);
	assert_false(sa_emu_is_sev_guest(e, launching));
	uint32_t next = launch_plain(e, 0);
	assert_true(next > launching);
	assert_int_equal(status_guests(e, NULL), 3);

	/* The report after the reopen still verifies (same PEK, same digest). */
	uint8_t rep[SA_SEV_REPORT_SIZE];
	uint32_t len = sizeof(rep);
	OK_FW(sa_emu_sev_attestation(e, r.h, r.mnonce, rep, &len, &fw, &err));
	sa_verdict v;
	verify_report(&r, rep, &r.x.pek, r.mnonce, &v);
	assert_true(v.verified);
	sa_verdict_free(&v);

	/* Decommission wipes the keys, for good. */
	char rel[64];
	snprintf(rel, sizeof(rel), "guests/%u.sev.keys", r.h);
	assert_true(file_exists(&r.p, rel));
	OK_FW(sa_emu_decommission(e, r.h, &fw, &err));
	assert_false(file_exists(&r.p, rel));
	assert_int_equal(sa_emu_sev_guest_secret(e, r.h, 0, &pt, &pl, &gpa, &err), SA_ERR_NOT_FOUND);
	tu_plat_reopen(&r.p);
	assert_int_equal(sa_emu_sev_guest_info_get(r.p.e, r.h, &gi, &err), SA_ERR_NOT_FOUND);
	assert_true(sa_emu_is_sev_guest(r.p.e, r.h)); /* known, decommissioned */
	EXPECT_FW(sa_emu_decommission(r.p.e, r.h, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	assert_int_equal(status_guests(r.p.e, NULL), 1);
	sa_sev_tks_wipe(&r.tks);
	tu_plat_free(&r.p);
}

/* ---- state directories -------------------------------------------------------- */

/* Remove every SEV file, as in a state directory made before SEV support. */
static void strip_sev(const tu_plat *p)
{
	file_remove(p, "sev.json");
	file_remove(p, "certs/sev_ask_ark.cert");
	static const char *const subs[] = {"keys", "certs"};
	for (size_t i = 0; i < 2; i++) {
		char d[1024];
		snprintf(d, sizeof(d), "%s/%s", p->dir, subs[i]);
		DIR *dp = opendir(d);
		assert_non_null(dp);
		struct dirent *de;
		while ((de = readdir(dp)) != NULL) {
			if (strncmp(de->d_name, "sev-", 4) == 0) {
				char rel[512];
				snprintf(rel, sizeof(rel), "%s/%s", subs[i], de->d_name);
				file_remove(p, rel);
			}
		}
		closedir(dp);
	}
}

static void old_state_dir(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_emu_close(p.e);
	p.e = NULL;
	strip_sev(&p);
	tu_plat_reopen(&p);
	assert_false(file_exists(&p, "sev.json"));
	struct exported x;
	export_certs(p.e, &x); /* made on first use */
	assert_true(file_exists(&p, "sev.json"));
	struct kds k;
	kds_get(p.e, &k);
	sa_verdict v;
	assert_true(chain_ok(&k, &x, NULL, &v));
	sa_verdict_free(&v);

	/* Without the ARK's key the AMD-format roots cannot be made: a clear error, SNP unaffected. */
	sa_emu_close(p.e);
	p.e = NULL;
	strip_sev(&p);
	file_remove(&p, "keys/ark.pem");
	tu_plat_reopen(&p);
	sa_error err;
	uint32_t fw, pl = CERT, cl = 3 * CERT;
	uint8_t pdh[CERT], chain[3 * CERT];
	EXPECT_FW(sa_emu_sev_pdh_cert_export(p.e, pdh, &pl, chain, &cl, &fw, &err), SA_ERR_NOT_FOUND,
		  SA_FW_HWSEV_RET_PLATFORM);
	assert_non_null(strstr(err.msg, "keys/ark.pem"));
	uint32_t snp = 0;
	OK_FW(sa_emu_launch_start(p.e, 0x30000, &snp, &fw, &err));
	tu_plat_free(&p);
}

static void damaged_sev_state_is_refused(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_emu_close(p.e);
	p.e = NULL;
	char path[1024];
	snprintf(path, sizeof(path), "%s/sev.json", p.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"format\": \"sevattest-emu-sev\", \"version\": 1, \"generation\": 1, \"owner_external\": true, "
	      "\"config_es\": true}\n",
	      f);
	fclose(f);
	sa_error err;
	/* owner_external: the keys file holds three keys where two are expected. */
	assert_int_not_equal(sa_emu_open(p.dir, &p.e, &err), SA_OK);
	assert_null(p.e);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"format\": \"sevattest-emu-sev\", \"version\": 1, \"generation\": 9, \"owner_external\": false, "
	      "\"config_es\": true}\n",
	      f);
	fclose(f);
	assert_int_equal(sa_emu_open(p.dir, &p.e, &err), SA_ERR_NOT_FOUND);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"format\": \"sevattest-emu-sev\", \"version\": 1, \"generation\": 1, \"owner_external\": false, "
	      "\"config_es\": true, \"extra\": 1}\n",
	      f);
	fclose(f);
	assert_int_equal(sa_emu_open(p.dir, &p.e, &err), SA_ERR_FORMAT);
	tu_rmtree(p.tmp);
	free(p.tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(platform_status_initial),
	    cmocka_unit_test(get_id_probe),
	    cmocka_unit_test(pdh_export_and_chain),
	    cmocka_unit_test(amd_roots_are_the_x509_keys),
	    cmocka_unit_test(factory_reset_keeps_cek),
	    cmocka_unit_test(pek_csr_and_import),
	    cmocka_unit_test(platform_states),
	    cmocka_unit_test(launch_start_checks),
	    cmocka_unit_test(launch_misuse),
	    cmocka_unit_test(done_when_flow),
	    cmocka_unit_test(reopen_keeps_guests),
	    cmocka_unit_test(old_state_dir),
	    cmocka_unit_test(damaged_sev_state_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
