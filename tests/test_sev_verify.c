/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV / SEV-ES report verifier on synthetic evidence: a chain made here
 * with fresh keys (ARK and ASK RSA-2048, CEK, OCA, PEK ECDSA P-384, PDH ECDH),
 * the ARK named as a custom root, and a PEK-signed report.  Every negative
 * fails at its named check.
 *
 * Also a helper for tests/test_cli_owner.sh (no hidden CLI verb needed):
 *   test_sev_verify --write-chain DIR     the chain files, the PDH and PEK
 *                                         keys, a foreign OCA, a signed report
 *   test_sev_verify --open-session CHAIN DIR NAME POLICY
 *                                         the firmware's side: open
 *                                         DIR/NAME_{godh,session}.b64 with the
 *                                         PDH key CHAIN/pdh.pem, compare with
 *                                         DIR/NAME_t{e,i}k.bin
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/sev_verify.h"
#include "sevattest/verify.h"
#include "testutil.h"

typedef struct chain {
	EVP_PKEY *ark_key, *ask_key, *cek_key, *oca_key, *pek_key, *pdh_key, *oca2_key;
	sa_amd_cert ark, ask;
	sa_sev_cert cek, oca, pek, pdh, oca2, pek2; /* pek2: the same PEK key signed by the foreign OCA2 and the CEK */
	uint8_t report[SA_SEV_REPORT_SIZE];
	uint8_t mnonce[16], digest[32];
	uint32_t policy;
} chain;

static EVP_PKEY *rsa2048(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *p384(void)
{
	EVP_PKEY *k = NULL;
	assert_int_equal(sa_key_generate_p384(&k, NULL), SA_OK);
	return k;
}

static void ok(sa_status st, const sa_error *e)
{
	if (st != SA_OK)
		fail_msg("%s", e->msg);
}

static void sign_pek(sa_sev_cert *pek, EVP_PKEY *pek_key, EVP_PKEY *oca_key, EVP_PKEY *cek_key)
{
	sa_error e = {0};
	ok(sa_sev_cert_init(pek, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, pek_key, &e), &e);
	ok(sa_sev_cert_sign(pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, oca_key, &e), &e);
	ok(sa_sev_cert_sign(pek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, cek_key, &e), &e);
}

static void make_chain(chain *c)
{
	memset(c, 0, sizeof(*c));
	sa_error e = {0};
	c->ark_key = rsa2048();
	c->ask_key = rsa2048();
	c->cek_key = p384();
	c->oca_key = p384();
	c->pek_key = p384();
	c->pdh_key = p384();
	c->oca2_key = p384();
	uint8_t ark_id[16], ask_id[16];
	memset(ark_id, 0xA1, 16);
	memset(ask_id, 0xA2, 16);
	ok(sa_amd_cert_init(&c->ark, SA_SEV_USAGE_ARK, ark_id, ark_id, c->ark_key, &e), &e);
	ok(sa_amd_cert_sign(&c->ark, c->ark_key, &e), &e);
	ok(sa_amd_cert_init(&c->ask, SA_SEV_USAGE_ASK, ask_id, ark_id, c->ask_key, &e), &e);
	ok(sa_amd_cert_sign(&c->ask, c->ark_key, &e), &e);
	ok(sa_sev_cert_init(&c->cek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, 0, 14, c->cek_key, &e), &e);
	ok(sa_sev_cert_sign_by_ask(&c->cek, &c->ask, c->ask_key, &e), &e);
	ok(sa_sev_cert_init(&c->oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, c->oca_key, &e), &e);
	ok(sa_sev_cert_sign(&c->oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, c->oca_key, &e), &e);
	ok(sa_sev_cert_init(&c->oca2, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, c->oca2_key, &e), &e);
	ok(sa_sev_cert_sign(&c->oca2, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, c->oca2_key, &e), &e);
	sign_pek(&c->pek, c->pek_key, c->oca_key, c->cek_key);
	sign_pek(&c->pek2, c->pek_key, c->oca2_key, c->cek_key);
	ok(sa_sev_cert_init(&c->pdh, SA_SEV_USAGE_PDH, SA_SEV_ALGO_ECDH_SHA256, 1, 55, c->pdh_key, &e), &e);
	ok(sa_sev_cert_sign(&c->pdh, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, c->pek_key, &e), &e);

	for (int i = 0; i < 16; i++)
		c->mnonce[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < 32; i++)
		c->digest[i] = (uint8_t)(0xC0 + i);
	c->policy = SA_SEV_POLICY_NODBG | SA_SEV_POLICY_NOKS | SA_SEV_POLICY_ES | 0x17010000u; /* API >= 1.23 */
	sa_sev_report r;
	memset(&r, 0, sizeof(r));
	memcpy(r.mnonce, c->mnonce, 16);
	memcpy(r.launch_digest, c->digest, 32);
	r.policy = c->policy;
	ok(sa_sev_report_sign(&r, c->pek_key, &e), &e);
	ok(sa_sev_report_encode(&r, c->report, &e), &e);
}

static void free_chain(chain *c)
{
	EVP_PKEY *keys[] = {c->ark_key, c->ask_key, c->cek_key, c->oca_key, c->pek_key, c->pdh_key, c->oca2_key};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
}

static chain *shared;

static int setup(void **state)
{
	(void)state;
	shared = malloc(sizeof(*shared));
	if (!shared)
		return -1;
	make_chain(shared);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free_chain(shared);
	free(shared);
	return 0;
}

typedef struct run {
	sa_sev_evidence ev;
	sa_sev_trust trust;
	sa_sev_appraisal a;
	uint8_t report[SA_SEV_REPORT_SIZE];
	uint8_t mnonce[16];
	uint8_t meas[2][32];
} run;

static void run_init(run *r, const chain *c)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->report, c->report, sizeof(r->report));
	memcpy(r->mnonce, c->mnonce, 16);
	r->ev.report = r->report;
	r->ev.report_len = sizeof(r->report);
	r->ev.chain = (sa_sev_chain){.ark = &c->ark, .ask = &c->ask, .cek = &c->cek, .pek = &c->pek, .oca = &c->oca,
				     .pdh = &c->pdh};
	r->trust.roots = &c->ark;
	r->trust.n_roots = 1;
	r->a.mnonce = r->mnonce;
	r->a.measurements = (const uint8_t(*)[32])r->meas;
}

static void verify(run *r, sa_verdict *v)
{
	sa_verdict_init(v);
	sa_error e = {0};
	ok(sa_verify_sev_report(&r->ev, &r->trust, &r->a, v, &e), &e);
}

static sa_check_status status_of(const sa_verdict *v, const char *id)
{
	const sa_check *c = sa_verdict_find(v, id);
	if (!c)
		fail_msg("no check %s", id);
	return c->status;
}

/* The verdict is rejected, and the first failure is id. */
static void expect_first_failure(const sa_verdict *v, const char *id)
{
	assert_false(v->verified);
	const sa_check *f = sa_verdict_first_failure(v);
	assert_non_null(f);
	if (strcmp(f->id, id) != 0)
		fail_msg("first failure %s (%s), expected %s", f->id, f->summary, id);
}

static void test_good(void **state)
{
	(void)state;
	run r;
	run_init(&r, shared);
	memcpy(r.meas[0], (uint8_t[32]){0}, 32);
	memcpy(r.meas[1], shared->digest, 32);
	r.a.n_measurements = 2;
	r.a.policy_require = SA_SEV_POLICY_NODBG | SA_SEV_POLICY_ES;
	r.a.policy_forbid = SA_SEV_POLICY_NOSEND;
	r.a.has_api_min = true;
	r.a.api_min_major = 1;
	r.a.api_min_minor = 23;
	r.trust.trusted_oca = &shared->oca;
	sa_verdict v;
	verify(&r, &v);
	const sa_check *f = sa_verdict_first_failure(&v);
	if (f)
		fail_msg("%s: %s (%s / %s)", f->id, f->summary, f->expected, f->actual);
	assert_true(v.verified);
	const char *pass[] = {"sev.chain.ark",    "sev.chain.ask",          "sev.chain.cek",       "sev.chain.pek_cek",
			      "sev.chain.oca",    "sev.chain.pek_oca",      "sev.chain.pdh",       "sev.report.signature",
			      "sev.report.sig_usage", "sev.report.mnonce", "sev.report.measurement", "sev.policy.require",
			      "sev.policy.forbid", "sev.policy.api_min"};
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		if (status_of(&v, pass[i]) != SA_CHECK_PASS)
			fail_msg("%s did not pass: %s", pass[i], sa_verdict_find(&v, pass[i])->summary);
	/* The binding caveat is always there, as a warning that does not reject. */
	const sa_check *b = sa_verdict_find(&v, "sev.binding");
	assert_non_null(b);
	assert_int_equal(b->status, SA_CHECK_WARN);
	assert_non_null(strstr(b->summary, "not bound to a particular guest"));
	assert_non_null(strstr(b->summary, "not identity"));
	sa_verdict_free(&v);

	/* Nothing demanded beyond the mnonce: skips, still verified. */
	run_init(&r, shared);
	verify(&r, &v);
	assert_true(v.verified);
	assert_int_equal(status_of(&v, "sev.report.measurement"), SA_CHECK_SKIP);
	assert_int_equal(status_of(&v, "sev.policy.require"), SA_CHECK_SKIP);
	assert_int_equal(status_of(&v, "sev.policy.forbid"), SA_CHECK_SKIP);
	assert_int_equal(status_of(&v, "sev.policy.api_min"), SA_CHECK_SKIP);
	sa_verdict_free(&v);
}

static void test_wrong_mnonce(void **state)
{
	(void)state;
	run r;
	run_init(&r, shared);
	r.mnonce[15] ^= 1;
	sa_verdict v;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.mnonce");
	assert_int_equal(status_of(&v, "sev.report.signature"), SA_CHECK_PASS);
	sa_verdict_free(&v);
	/* No mnonce at all is a failure too (freshness unknown). */
	run_init(&r, shared);
	r.a.mnonce = NULL;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.mnonce");
	sa_verdict_free(&v);
}

static void test_tampered_policy(void **state)
{
	(void)state;
	run r;
	run_init(&r, shared);
	r.report[0x30] ^= SA_SEV_POLICY_NODBG; /* the guest now "allows debugging" */
	sa_verdict v;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.signature");
	sa_verdict_free(&v);
	/* The digest too. */
	run_init(&r, shared);
	r.report[0x20] ^= 0x40;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.signature");
	sa_verdict_free(&v);
	/* SIG_USAGE says CEK: named, and the signature check fails too. */
	run_init(&r, shared);
	r.report[0x34] = 0x04;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.sig_usage");
	assert_int_equal(status_of(&v, "sev.report.signature"), SA_CHECK_FAIL);
	sa_verdict_free(&v);
}

static void test_foreign_oca(void **state)
{
	(void)state;
	/* The PEK re-signed by a foreign OCA, presented with that OCA; the user trusts the real owner's OCA. */
	run r;
	run_init(&r, shared);
	r.ev.chain.pek = &shared->pek2;
	r.ev.chain.oca = &shared->oca2;
	r.trust.trusted_oca = &shared->oca;
	sa_verdict v;
	verify(&r, &v);
	expect_first_failure(&v, "sev.chain.oca");
	assert_int_equal(status_of(&v, "sev.chain.pek_cek"), SA_CHECK_PASS);
	sa_verdict_free(&v);
	/* ... or presented with the real OCA: then the PEK's OCA signature fails. */
	run_init(&r, shared);
	r.ev.chain.pek = &shared->pek2;
	r.trust.trusted_oca = &shared->oca;
	verify(&r, &v);
	expect_first_failure(&v, "sev.chain.pek_oca");
	sa_verdict_free(&v);
	/* Without a trusted OCA the foreign chain is self-consistent: it passes, as documented. */
	run_init(&r, shared);
	r.ev.chain.pek = &shared->pek2;
	r.ev.chain.oca = &shared->oca2;
	verify(&r, &v);
	assert_true(v.verified);
	sa_verdict_free(&v);
}

static void test_measurement_mismatch(void **state)
{
	(void)state;
	run r;
	run_init(&r, shared);
	memcpy(r.meas[0], shared->digest, 32);
	r.meas[0][31] ^= 1;
	r.a.n_measurements = 1;
	sa_verdict v;
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.measurement");
	const sa_check *c = sa_verdict_find(&v, "sev.report.measurement");
	char hex[65];
	sa_hex_encode(shared->digest, 32, hex);
	assert_string_equal(c->actual, hex);
	sa_verdict_free(&v);
}

static void test_policy_checks(void **state)
{
	(void)state;
	/* A guest whose policy allows debugging (NODBG clear), checked with --policy-deny debug. */
	chain *c = shared;
	sa_sev_report rep;
	assert_int_equal(sa_sev_report_decode(c->report, sizeof(c->report), &rep, NULL), SA_OK);
	rep.policy &= ~SA_SEV_POLICY_NODBG;
	assert_int_equal(sa_sev_report_sign(&rep, c->pek_key, NULL), SA_OK);
	run r;
	run_init(&r, c);
	assert_int_equal(sa_sev_report_encode(&rep, r.report, NULL), SA_OK);
	r.a.policy_require = SA_SEV_POLICY_NODBG;
	sa_verdict v;
	verify(&r, &v);
	expect_first_failure(&v, "sev.policy.require");
	assert_non_null(strstr(sa_verdict_find(&v, "sev.policy.require")->summary, "NODBG"));
	assert_int_equal(status_of(&v, "sev.report.signature"), SA_CHECK_PASS);
	sa_verdict_free(&v);

	run_init(&r, c);
	r.a.policy_forbid = SA_SEV_POLICY_ES;
	verify(&r, &v);
	expect_first_failure(&v, "sev.policy.forbid");
	assert_non_null(strstr(sa_verdict_find(&v, "sev.policy.forbid")->summary, "ES"));
	sa_verdict_free(&v);

	run_init(&r, c);
	r.a.has_api_min = true;
	r.a.api_min_major = 1;
	r.a.api_min_minor = 24;
	verify(&r, &v);
	expect_first_failure(&v, "sev.policy.api_min");
	assert_string_equal(sa_verdict_find(&v, "sev.policy.api_min")->actual, "1.23");
	sa_verdict_free(&v);
}

static void test_chain_and_input_errors(void **state)
{
	(void)state;
	run r;
	sa_verdict v;
	/* No named root: the synthetic ARK is not one of AMD's pins. */
	run_init(&r, shared);
	r.trust.roots = NULL;
	r.trust.n_roots = 0;
	verify(&r, &v);
	expect_first_failure(&v, "sev.chain.ark");
	sa_verdict_free(&v);
	/* No PEK: both its links and the report signature fail. */
	run_init(&r, shared);
	r.ev.chain.pek = NULL;
	verify(&r, &v);
	assert_false(v.verified);
	assert_int_equal(status_of(&v, "sev.report.signature"), SA_CHECK_FAIL);
	sa_verdict_free(&v);
	/* A report signed by another key. */
	run_init(&r, shared);
	sa_sev_report rep;
	assert_int_equal(sa_sev_report_decode(shared->report, sizeof(shared->report), &rep, NULL), SA_OK);
	assert_int_equal(sa_sev_report_sign(&rep, shared->oca_key, NULL), SA_OK);
	assert_int_equal(sa_sev_report_encode(&rep, r.report, NULL), SA_OK);
	verify(&r, &v);
	expect_first_failure(&v, "sev.report.signature");
	sa_verdict_free(&v);
	/* Undecodable report: an error, not a verdict. */
	run_init(&r, shared);
	r.ev.report_len = SA_SEV_REPORT_SIZE - 1;
	sa_verdict_init(&v);
	sa_error e = {0};
	assert_int_equal(sa_verify_sev_report(&r.ev, &r.trust, &r.a, &v, &e), SA_ERR_TRUNCATED);
	assert_int_equal(v.n, 0);
	sa_verdict_free(&v);
}

/* ---- helpers for tests/test_cli_owner.sh ---- */

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	sa_error e;
	if (sa_write_file_atomic(p, data, len, 0600, &e) != SA_OK) {
		fprintf(stderr, "%s: %s\n", p, e.msg);
		return 1;
	}
	return 0;
}

static int write_sev(const char *dir, const char *name, const sa_sev_cert *c)
{
	uint8_t b[SA_SEV_CERT_SIZE];
	if (sa_sev_cert_encode(c, b, NULL) != SA_OK)
		return 1;
	return write_file(dir, name, b, sizeof(b));
}

static int write_amd(const char *dir, const char *name, const sa_amd_cert *c)
{
	uint8_t b[SA_AMD_CERT_MAX];
	size_t n = 0;
	if (sa_amd_cert_encode(c, b, sizeof(b), &n, NULL) != SA_OK)
		return 1;
	return write_file(dir, name, b, n);
}

static int write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		return 1;
	int ok_ = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(f) != 0 || !ok_;
}

static int write_chain(const char *dir)
{
	chain *c = malloc(sizeof(*c));
	if (!c)
		return 1;
	make_chain(c);
	int rc = write_amd(dir, "ark.cert", &c->ark) | write_amd(dir, "ask.cert", &c->ask) |
		 write_sev(dir, "cek.cert", &c->cek) | write_sev(dir, "oca.cert", &c->oca) |
		 write_sev(dir, "pek.cert", &c->pek) | write_sev(dir, "pdh.cert", &c->pdh) |
		 write_sev(dir, "oca2.cert", &c->oca2) | write_sev(dir, "pek2.cert", &c->pek2) |
		 write_key(dir, "pdh.pem", c->pdh_key) | write_key(dir, "pek.pem", c->pek_key) |
		 write_file(dir, "report.bin", c->report, sizeof(c->report));
	char hex[65];
	sa_hex_encode(c->digest, 32, hex);
	rc |= write_file(dir, "digest.hex", hex, 64);
	char *m = sa_base64_encode(c->mnonce, 16);
	rc |= !m || write_file(dir, "mnonce.b64", m, strlen(m));
	free(m);
	free_chain(c);
	free(c);
	return rc;
}

static int read_b64_file(const char *dir, const char *name, uint8_t **out, size_t *len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	sa_error e;
	int rc = sa_read_file(p, 1 << 20, &raw, &raw_len, &e) != SA_OK ||
		 sa_base64_decode_alloc((char *)raw, raw_len, 1, out, len, name, &e) != SA_OK;
	if (rc)
		fprintf(stderr, "%s: %s\n", p, e.msg);
	free(raw);
	return rc;
}

static int open_session(const char *chain_dir, const char *dir, const char *name, const char *policy_text)
{
	char p[4096], f[512];
	uint8_t *pem = NULL, *godh_b = NULL, *sess_b = NULL, *tek = NULL, *tik = NULL;
	size_t pem_len = 0, gl = 0, sl = 0, tek_len = 0, tik_len = 0;
	EVP_PKEY *pdh = NULL;
	sa_sev_cert godh;
	sa_sev_session s;
	sa_sev_tks tks;
	uint32_t policy = 0;
	sa_error e = {0};
	int rc = 1;
	snprintf(p, sizeof(p), "%s/pdh.pem", chain_dir);
	if (sa_read_file(p, 1 << 20, &pem, &pem_len, &e) != SA_OK)
		goto out;
	BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
	pdh = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	snprintf(f, sizeof(f), "%s_godh.b64", name);
	if (!pdh || read_b64_file(dir, f, &godh_b, &gl))
		goto out;
	snprintf(f, sizeof(f), "%s_session.b64", name);
	if (read_b64_file(dir, f, &sess_b, &sl))
		goto out;
	snprintf(p, sizeof(p), "%s/%s_tek.bin", dir, name);
	if (sa_read_file(p, 64, &tek, &tek_len, &e) != SA_OK || tek_len != 16)
		goto out;
	snprintf(p, sizeof(p), "%s/%s_tik.bin", dir, name);
	if (sa_read_file(p, 64, &tik, &tik_len, &e) != SA_OK || tik_len != 16)
		goto out;
	if (sa_sev_policy_parse(policy_text, &policy, &e) != SA_OK ||
	    sa_sev_cert_decode(godh_b, gl, &godh, &e) != SA_OK || sa_sev_session_decode(sess_b, sl, &s, &e) != SA_OK ||
	    sa_sev_session_open(pdh, &godh, &s, policy, &tks, &e) != SA_OK)
		goto out;
	rc = memcmp(tks.tek, tek, 16) != 0 || memcmp(tks.tik, tik, 16) != 0;
	if (rc)
		fprintf(stderr, "open-session: the firmware's TEK/TIK differ from the owner's files\n");
	else
		printf("session opened: TEK and TIK match\n");
out:
	if (rc && e.msg[0])
		fprintf(stderr, "open-session: %s\n", e.msg);
	EVP_PKEY_free(pdh);
	free(pem);
	free(godh_b);
	free(sess_b);
	free(tek);
	free(tik);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-chain"))
		return write_chain(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "--open-session"))
		return open_session(argv[2], argv[3], argv[4], argv[5]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),           cmocka_unit_test(test_wrong_mnonce),
		cmocka_unit_test(test_tampered_policy), cmocka_unit_test(test_foreign_oca),
		cmocka_unit_test(test_measurement_mismatch), cmocka_unit_test(test_policy_checks),
		cmocka_unit_test(test_chain_and_input_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
