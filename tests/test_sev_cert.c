/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD-format SEV certificates (0x824) and ARK/ASK certificates: the real
 * Naples/Rome/Milan/Genoa/Turin data of the vectors README §3 and N7
 * (round trips, pins, both chains and their documented failures), signing
 * and verification with fresh keys, every class of malformed input, and the
 * crypto.h ECDSA helpers the codecs use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sevattest/cert.h"
#include "sevattest/sevattest.h"
#include "testutil.h"

#define BUILTIN "virtee-sev/src/certs/sev/builtin/"
#define NAPLES "virtee-sev/tests/naples/"
#define ROME "virtee-sev/tests/rome/"
#define MILAN "virtee-sev/at-af6a30b29ee6/tests/milan/"
#define NAPLES2 "virtee-sev/at-b0aa2b0b6f81/src/certs/tests/naples/"
#define CEK_UNS "virtee-sev/at-ae3a24ab7c3d/src/certs/naples/cek.uns.cert"

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *vec(const char *rel, size_t *len)
{
	uint8_t *b = NULL;
	if (tu_read_vector(rel, &b, len) != 0)
		fail_msg("vector %s is missing", rel);
	return b;
}

static sa_sev_cert sev_vec(const char *rel)
{
	size_t len = 0;
	uint8_t *b = vec(rel, &len);
	sa_sev_cert c;
	sa_error err;
	if (sa_sev_cert_decode(b, len, &c, &err) != SA_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(b);
	return c;
}

static sa_amd_cert amd_vec(const char *rel)
{
	size_t len = 0;
	uint8_t *b = vec(rel, &len);
	sa_amd_cert c;
	sa_error err;
	if (sa_amd_cert_decode(b, len, &c, &err) != SA_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(b);
	return c;
}

static sa_amd_cert builtin(const char *product, const char *which)
{
	char rel[128];
	snprintf(rel, sizeof(rel), BUILTIN "%s/%s.cert", product, which);
	return amd_vec(rel);
}

/* Run the chain check; return the verdict (caller frees). */
static void run_chain(const sa_sev_chain *ch, const sa_sev_trust *t, sa_verdict *v)
{
	sa_error err;
	sa_verdict_init(v);
	assert_int_equal(sa_sev_chain_check(ch, t, v, &err), SA_OK);
	sa_verdict_conclude(v);
}

static const sa_check *check_of(const sa_verdict *v, const char *id)
{
	const sa_check *c = sa_verdict_find(v, id);
	if (!c)
		fail_msg("no check %s", id);
	return c;
}

static void expect_status(const sa_verdict *v, const char *id, sa_check_status st)
{
	const sa_check *c = check_of(v, id);
	if (c->status != st)
		fail_msg("%s: %s (%s), expected %s", id, sa_check_status_name(c->status), c->summary,
			 sa_check_status_name(st));
}

/* The whole text of a check (summary and the full message when cut). */
static int check_mentions(const sa_verdict *v, const char *id, const char *needle)
{
	const sa_check *c = check_of(v, id);
	return strstr(c->summary, needle) != NULL || strstr(c->actual, needle) != NULL;
}

/* Decode must fail with code, and the message must contain needle. */
static void expect_sev_reject(const uint8_t *buf, size_t len, sa_status code, const char *needle)
{
	sa_sev_cert c;
	memset(&c, 0xA5, sizeof(c));
	sa_sev_cert before = c;
	sa_error err;
	sa_status st = sa_sev_cert_decode(buf, len, &c, &err);
	if (st != code)
		fail_msg("decode: %s (%s), expected %s", sa_status_name(st), st ? err.msg : "ok", sa_status_name(code));
	if (needle && !strstr(err.msg, needle))
		fail_msg("message '%s' does not name '%s'", err.msg, needle);
	assert_memory_equal(&c, &before, sizeof(c)); /* bad input changes nothing */
}

static void expect_amd_reject(const uint8_t *buf, size_t len, sa_status code, const char *needle)
{
	sa_amd_cert c;
	sa_error err;
	sa_status st = sa_amd_cert_decode(buf, len, &c, &err);
	if (st != code)
		fail_msg("decode: %s (%s), expected %s", sa_status_name(st), st ? err.msg : "ok", sa_status_name(code));
	if (needle && !strstr(err.msg, needle))
		fail_msg("message '%s' does not name '%s'", err.msg, needle);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static EVP_PKEY *rsa_key(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *p384(void)
{
	EVP_PKEY *k = NULL;
	sa_error err;
	assert_int_equal(sa_key_generate_p384(&k, &err), SA_OK);
	return k;
}

/* ---- crypto.h ------------------------------------------------------------- */

static void test_ecdsa_le(void **state)
{
	(void)state;
	sa_error err;
	EVP_PKEY *k = p384(), *other = p384();
	const uint8_t msg[] = "the signed bytes";
	uint8_t r[72], s[72];
	for (int d = 0; d < 2; d++) {
		const char *md = d ? "SHA384" : "SHA256";
		assert_int_equal(sa_ecdsa_sign_le(k, md, msg, sizeof(msg), r, s, 72, &err), SA_OK);
		assert_true(sa_all_zero(r + 48, 24) && sa_all_zero(s + 48, 24));
		assert_int_equal(sa_ecdsa_verify_le(k, md, msg, sizeof(msg), r, s, 72, &err), SA_OK);
		/* the other digest, another key, a changed message or signature: no */
		assert_int_equal(sa_ecdsa_verify_le(k, d ? "SHA256" : "SHA384", msg, sizeof(msg), r, s, 72, &err),
				 SA_ERR_VERIFY);
		assert_int_equal(sa_ecdsa_verify_le(other, md, msg, sizeof(msg), r, s, 72, &err), SA_ERR_VERIFY);
		assert_int_equal(sa_ecdsa_verify_le(k, md, msg, sizeof(msg) - 1, r, s, 72, &err), SA_ERR_VERIFY);
		r[3] ^= 1;
		assert_int_equal(sa_ecdsa_verify_le(k, md, msg, sizeof(msg), r, s, 72, &err), SA_ERR_VERIFY);
	}
	assert_int_equal(sa_ecdsa_sign_le(k, "MD5", msg, sizeof(msg), r, s, 72, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_ecdsa_verify_le(k, NULL, msg, sizeof(msg), r, s, 72, &err), SA_ERR_UNSUPPORTED);
	/* the P-384/SHA-384 wrappers are the same signature */
	assert_int_equal(sa_ecdsa_p384_sign_le(k, msg, sizeof(msg), r, s, &err), SA_OK);
	assert_int_equal(sa_ecdsa_verify_le(k, "SHA384", msg, sizeof(msg), r, s, 72, &err), SA_OK);
	assert_int_equal(sa_ecdsa_p384_verify_le(k, msg, sizeof(msg), r, s, &err), SA_OK);
	/* an RSA key is not an ECDSA key */
	EVP_PKEY *rsa = rsa_key(1024);
	assert_int_equal(sa_ecdsa_sign_le(rsa, "SHA256", msg, sizeof(msg), r, s, 72, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_ecdsa_verify_le(rsa, "SHA256", msg, sizeof(msg), r, s, 72, &err), SA_ERR_UNSUPPORTED);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* ---- names ---------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	sa_error err;
	sa_sev_product p;
	const char *names[] = {"naples", "ROME", "Milan", "genoa", "turin"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sa_sev_product_parse(names[i], &p, &err), SA_OK);
		assert_int_equal(p, SA_SEV_PRODUCT_NAPLES + i);
		assert_true(strcasecmp(sa_sev_product_name(p), names[i]) == 0);
	}
	assert_int_equal(sa_sev_product_parse("siena", &p, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "siena"));
	assert_string_equal(sa_sev_product_name(SA_SEV_PRODUCT_UNKNOWN), "unknown");
	assert_int_equal(sa_sev_product_snp(SA_SEV_PRODUCT_NAPLES), SA_PRODUCT_UNKNOWN);
	assert_int_equal(sa_sev_product_snp(SA_SEV_PRODUCT_ROME), SA_PRODUCT_UNKNOWN);
	assert_int_equal(sa_sev_product_snp(SA_SEV_PRODUCT_MILAN), SA_PRODUCT_MILAN);
	assert_int_equal(sa_sev_product_snp(SA_SEV_PRODUCT_GENOA), SA_PRODUCT_GENOA);
	assert_int_equal(sa_sev_product_snp(SA_SEV_PRODUCT_TURIN), SA_PRODUCT_TURIN);
	assert_string_equal(sa_sev_usage_name(0x1001), "OCA");
	assert_string_equal(sa_sev_usage_name(0x1002), "PEK");
	assert_string_equal(sa_sev_usage_name(0x1003), "PDH");
	assert_string_equal(sa_sev_usage_name(0x1004), "CEK");
	assert_string_equal(sa_sev_usage_name(0x0), "ARK");
	assert_string_equal(sa_sev_usage_name(0x13), "ASK");
	assert_string_equal(sa_sev_usage_name(0x1000), "none");
	assert_string_equal(sa_sev_usage_name(0x2000), "unknown");
	assert_string_equal(sa_sev_algo_name(0x2), "ECDSA-SHA256");
	assert_string_equal(sa_sev_algo_name(0x103), "ECDH-SHA384");
	assert_string_equal(sa_sev_algo_name(0x101), "RSA-SHA384");
	assert_string_equal(sa_sev_algo_name(0x7), "unknown");
}

/* ---- vectors: decode, round trip ---------------------------------------- */

static const char *sev_files[] = {
	NAPLES "cek.cert",  NAPLES "pek.cert",  NAPLES "oca.cert",  NAPLES "pdh.cert",  ROME "cek.cert",
	ROME "pek.cert",    ROME "oca.cert",    ROME "pdh.cert",    MILAN "cek.cert",   MILAN "pek.cert",
	MILAN "oca.cert",   MILAN "pdh.cert",   NAPLES2 "pek.cert", NAPLES2 "oca.cert", NAPLES2 "pdh.cert",
	CEK_UNS,
};

static void test_sev_vectors_round_trip(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	for (size_t i = 0; i < sizeof(sev_files) / sizeof(sev_files[0]); i++) {
		size_t len = 0;
		uint8_t *b = vec(sev_files[i], &len);
		sa_sev_cert c;
		uint8_t out[SA_SEV_CERT_SIZE];
		assert_int_equal(sa_sev_cert_decode(b, len, &c, &err), SA_OK);
		assert_int_equal(c.version, 1);
		assert_int_equal(sa_sev_cert_encode(&c, out, &err), SA_OK);
		assert_memory_equal(out, b, SA_SEV_CERT_SIZE);
		EVP_PKEY *k = NULL;
		assert_int_equal(sa_sev_cert_pubkey(&c, &k, &err), SA_OK);
		assert_int_equal(sa_key_require_p384(k, "test", &err), SA_OK);
		EVP_PKEY_free(k);
		free(b);
	}
	sa_sev_cert cek = sev_vec(NAPLES "cek.cert"), pdh = sev_vec(NAPLES "pdh.cert");
	assert_int_equal(cek.pub_key_usage, SA_SEV_USAGE_CEK);
	assert_int_equal(cek.api_major, 0);
	assert_int_equal(cek.api_minor, 14);
	assert_int_equal(cek.sig[0].usage, SA_SEV_USAGE_ASK);
	assert_int_equal(cek.sig[0].algo, SA_SEV_ALGO_RSA_SHA256);
	assert_int_equal(sa_sev_cert_sig_count(&cek), 1);
	assert_int_equal(pdh.pub_key_algo, SA_SEV_ALGO_ECDH_SHA256);
	assert_int_equal(sev_vec(ROME "cek.cert").sig[0].algo, SA_SEV_ALGO_RSA_SHA384);
	assert_int_equal(sev_vec(MILAN "pek.cert").api_minor, 28);
}

static void test_amd_vectors_round_trip(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const char *prod[] = {"naples", "rome", "milan", "genoa", "turin"};
	sa_error err;
	for (int i = 0; i < 5; i++) {
		for (int w = 0; w < 2; w++) {
			char rel[128];
			snprintf(rel, sizeof(rel), BUILTIN "%s/%s.cert", prod[i], w ? "ask" : "ark");
			size_t len = 0;
			uint8_t *b = vec(rel, &len);
			sa_amd_cert c;
			assert_int_equal(sa_amd_cert_decode(b, len, &c, &err), SA_OK);
			assert_int_equal(len, i == 0 ? 832 : 1600);
			assert_int_equal(c.encoded_len, len);
			assert_true(c.has_signature);
			assert_int_equal(c.key_usage, w ? SA_SEV_USAGE_ASK : SA_SEV_USAGE_ARK);
			assert_int_equal(c.modulus_bits, i == 0 ? 2048 : 4096);
			uint8_t out[SA_AMD_CERT_MAX];
			size_t n = 0;
			assert_int_equal(sa_amd_cert_encode(&c, out, sizeof(out), &n, &err), SA_OK);
			assert_int_equal(n, len);
			assert_memory_equal(out, b, len);
			/* too small an output buffer is refused */
			assert_int_equal(sa_amd_cert_encode(&c, out, len - 1, &n, &err), SA_ERR_RANGE);
			free(b);
		}
	}
	/* AMD's ask_ark_milan.cert (ASK ‖ ARK) through the file reader: two certificates */
	char path[512];
	assert_non_null(tu_vector_path("google-go-sev-guest/at-f77f64d0c290/verify/trust/ask_ark_milan.sevcert", path,
				       sizeof(path)));
	sa_amd_cert two[3];
	size_t count = 0;
	assert_int_equal(sa_amd_cert_read_file(path, two, 3, &count, &err), SA_OK);
	assert_int_equal(count, 2);
	assert_int_equal(two[0].key_usage, SA_SEV_USAGE_ASK);
	assert_int_equal(two[1].key_usage, SA_SEV_USAGE_ARK);
	assert_int_equal(sa_amd_cert_verify(&two[0], &two[1], &err), SA_OK);
	assert_int_equal(sa_amd_cert_read_file(path, two, 1, &count, &err), SA_ERR_TRAILING);
}

static void test_pins_recomputed(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const char *prod[] = {"naples", "rome", "milan", "genoa", "turin"};
	size_t n = 0;
	const sa_sev_ark_pin *pins = sa_sev_ark_pins(&n);
	assert_int_equal(n, 5);
	sa_error err;
	for (int i = 0; i < 5; i++) {
		sa_amd_cert ark = builtin(prod[i], "ark"), ask = builtin(prod[i], "ask");
		uint8_t fp[32];
		assert_int_equal(sa_amd_cert_fingerprint(&ark, fp, &err), SA_OK);
		assert_int_equal(pins[i].product, SA_SEV_PRODUCT_NAPLES + i);
		assert_memory_equal(pins[i].fingerprint, fp, 32);
		assert_memory_equal(pins[i].key_id, ark.key_id, 16);
		assert_ptr_equal(sa_sev_ark_pin_match(&ark), &pins[i]);
		assert_null(sa_sev_ark_pin_match(&ask));
		/* self-signature and ARK -> ASK verify; the reverse does not */
		assert_int_equal(sa_amd_cert_verify(&ark, &ark, &err), SA_OK);
		assert_int_equal(sa_amd_cert_verify(&ask, &ark, &err), SA_OK);
		assert_int_equal(sa_amd_cert_verify(&ark, &ask, &err), SA_ERR_VERIFY);
		/* a changed modulus byte breaks the pin */
		ark.modulus[100] ^= 1;
		assert_null(sa_sev_ark_pin_match(&ark));
	}
	/* the well-known key ids of the vectors README */
	uint8_t id[16];
	tu_hex("1bb987c359494606b174945601c9ea5b", id, 16);
	assert_memory_equal(pins[0].key_id, id, 16);
	tu_hex("d05c3a8bde484904b49552422ceb3942", id, 16);
	assert_memory_equal(pins[4].key_id, id, 16);
}

static void test_naples_unsigned_ark(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	size_t blen = 0, slen = 0, flen = 0;
	uint8_t *bad = vec(NAPLES "ark.cert.bad", &blen), *sig = vec(NAPLES "ark.cert.sig", &slen);
	uint8_t *full = vec(BUILTIN "naples/ark.cert", &flen);
	assert_int_equal(blen, 576);
	assert_int_equal(blen + slen, flen);
	assert_memory_equal(full, bad, blen);
	assert_memory_equal(full + blen, sig, slen);
	sa_amd_cert ark;
	assert_int_equal(sa_amd_cert_decode(bad, blen, &ark, &err), SA_OK);
	assert_false(ark.has_signature);
	assert_int_equal(ark.signed_len, 576);
	assert_int_equal(ark.encoded_len, 576);
	uint8_t out[SA_AMD_CERT_MAX];
	size_t n = 0;
	assert_int_equal(sa_amd_cert_encode(&ark, out, sizeof(out), &n, &err), SA_OK);
	assert_int_equal(n, 576);
	assert_memory_equal(out, bad, 576);
	const sa_sev_ark_pin *pin = sa_sev_ark_pin_match(&ark);
	assert_non_null(pin);
	assert_int_equal(pin->product, SA_SEV_PRODUCT_NAPLES);
	assert_string_equal(pin->name, "ARK-Naples");
	assert_int_equal(sa_amd_cert_verify(&ark, &ark, &err), SA_ERR_NOT_FOUND);
	/* accepted as the pinned anchor of the Naples chain */
	sa_amd_cert ask = builtin("naples", "ask");
	sa_sev_cert cek = sev_vec(NAPLES "cek.cert"), pek = sev_vec(NAPLES "pek.cert"), oca = sev_vec(NAPLES "oca.cert");
	sa_sev_chain ch = {.ark = &ark, .ask = &ask, .cek = &cek, .pek = &pek, .oca = &oca};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_PASS);
	assert_true(check_mentions(&v, "sev.chain.ark", "unsigned"));
	assert_true(v.verified);
	sa_verdict_free(&v);
	/* 575 bytes or a partial signature: truncated */
	expect_amd_reject(bad, blen - 1, SA_ERR_TRUNCATED, "MODULUS");
	expect_amd_reject(full, flen - 1, SA_ERR_TRUNCATED, "SIGNATURE");
	free(bad);
	free(sig);
	free(full);
}

static void test_cek_unsigned_same_key(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_sev_cert uns = sev_vec(CEK_UNS), cek = sev_vec(NAPLES "cek.cert"), pek = sev_vec(NAPLES "pek.cert");
	assert_int_equal(sa_sev_cert_sig_count(&uns), 0);
	assert_int_equal(uns.sig[0].usage, SA_SEV_USAGE_INVALID);
	assert_true(sa_sev_cert_same_key(&uns, &cek));
	assert_false(sa_sev_cert_same_key(&uns, &pek));
	uint8_t a[32], b[32];
	sa_error err;
	assert_int_equal(sa_sev_cert_key_fingerprint(&uns, a, &err), SA_OK);
	assert_int_equal(sa_sev_cert_key_fingerprint(&cek, b, &err), SA_OK);
	assert_memory_equal(a, b, 32);
	/* the unsigned CEK still signs the PEK (same key) but has no ASK signature */
	assert_int_equal(sa_sev_cert_verify(&pek, &uns, &err), SA_OK);
	sa_amd_cert ask = builtin("naples", "ask");
	assert_int_equal(sa_sev_cert_verify_by_ask(&uns, &ask, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "no ASK signature"));
}

/* ---- vectors: the chains (§3, N7) --------------------------------------- */

static void full_chain(const char *product, const char *dir, bool expect_verified)
{
	char rel[160];
	sa_amd_cert ark = builtin(product, "ark"), ask = builtin(product, "ask");
	snprintf(rel, sizeof(rel), "%scek.cert", dir);
	sa_sev_cert cek = sev_vec(rel);
	snprintf(rel, sizeof(rel), "%spek.cert", dir);
	sa_sev_cert pek = sev_vec(rel);
	snprintf(rel, sizeof(rel), "%soca.cert", dir);
	sa_sev_cert oca = sev_vec(rel);
	snprintf(rel, sizeof(rel), "%spdh.cert", dir);
	sa_sev_cert pdh = sev_vec(rel);
	sa_sev_chain ch = {.ark = &ark, .ask = &ask, .cek = &cek, .pek = &pek, .oca = &oca, .pdh = &pdh};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	const char *ids[] = {"sev.chain.ark",   "sev.chain.ask", "sev.chain.cek", "sev.chain.pek_cek",
			     "sev.chain.oca",   "sev.chain.pek_oca", "sev.chain.pdh", "sev.product"};
	for (size_t i = 0; i < 8; i++)
		expect_status(&v, ids[i], SA_CHECK_PASS);
	assert_int_equal(v.verified, expect_verified);
	assert_true(check_mentions(&v, "sev.product", sa_sev_product_name(sa_sev_ark_pin_match(&ark)->product)));
	sa_verdict_free(&v);

	/* the owner's OCA named as trusted: still verified; the chain without its own OCA uses it */
	sa_sev_trust t = {.trusted_oca = &oca};
	ch.oca = NULL;
	run_chain(&ch, &t, &v);
	assert_true(v.verified);
	sa_verdict_free(&v);
	/* the wrong product expected */
	sa_sev_trust wrong = {.product = strcmp(product, "naples") ? SA_SEV_PRODUCT_NAPLES : SA_SEV_PRODUCT_ROME};
	ch.oca = &oca;
	run_chain(&ch, &wrong, &v);
	expect_status(&v, "sev.product", SA_CHECK_FAIL);
	assert_false(v.verified);
	sa_verdict_free(&v);
}

static void test_chain_naples(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	full_chain("naples", NAPLES, true);
}

static void test_chain_rome(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	full_chain("rome", ROME, true);
}

static void test_chain_milan(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	full_chain("milan", MILAN, true);
}

static void test_cross_product_cek(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	/* Rome ASK -> Naples CEK */
	sa_amd_cert rark = builtin("rome", "ark"), rask = builtin("rome", "ask");
	sa_sev_cert ncek = sev_vec(NAPLES "cek.cert"), npek = sev_vec(NAPLES "pek.cert"),
		    noca = sev_vec(NAPLES "oca.cert");
	assert_int_equal(sa_sev_cert_verify_by_ask(&ncek, &rask, &err), SA_ERR_VERIFY);
	sa_sev_chain ch = {.ark = &rark, .ask = &rask, .cek = &ncek, .pek = &npek, .oca = &noca};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.ask", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.cek", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_PASS);
	assert_false(v.verified);
	assert_ptr_equal(sa_verdict_first_failure(&v), sa_verdict_find(&v, "sev.chain.cek"));
	sa_verdict_free(&v);
	/* the same slot with the algorithm forced to Rome's: the RSA-PSS signature itself fails */
	ncek.sig[0].algo = SA_SEV_ALGO_RSA_SHA384;
	assert_int_equal(sa_sev_cert_verify_by_ask(&ncek, &rask, &err), SA_ERR_VERIFY);
	/* Naples, Rome, Genoa ASK -> Milan CEK */
	sa_sev_cert mcek = sev_vec(MILAN "cek.cert");
	const char *other[] = {"naples", "rome", "genoa"};
	for (int i = 0; i < 3; i++) {
		sa_amd_cert ask = builtin(other[i], "ask");
		sa_status st = sa_sev_cert_verify_by_ask(&mcek, &ask, &err);
		assert_int_equal(st, SA_ERR_VERIFY);
	}
	sa_amd_cert mask = builtin("milan", "ask");
	assert_int_equal(sa_sev_cert_verify_by_ask(&mcek, &mask, &err), SA_OK);
	/* Turin's too */
	sa_amd_cert task = builtin("turin", "ask");
	assert_int_equal(sa_sev_cert_verify_by_ask(&mcek, &task, &err), SA_ERR_VERIFY);
}

static void test_reversed_ask_ark(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	sa_amd_cert ark = builtin("rome", "ark"), ask = builtin("rome", "ask");
	assert_int_equal(sa_amd_cert_verify(&ark, &ask, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "ASK"));
	/* ARK and ASK swapped in the chain: the "ARK" is no pin, the link fails */
	sa_sev_cert cek = sev_vec(ROME "cek.cert"), pek = sev_vec(ROME "pek.cert"), oca = sev_vec(ROME "oca.cert");
	sa_sev_chain ch = {.ark = &ask, .ask = &ark, .cek = &cek, .pek = &pek, .oca = &oca};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.ask", SA_CHECK_FAIL);
	assert_false(v.verified);
	sa_verdict_free(&v);
	/* an ASK signature check whose certifying id matches but whose signature is by the ASK: fails */
	sa_amd_cert fake = ark;
	memcpy(fake.certifying_id, ask.key_id, 16);
	assert_int_equal(sa_amd_cert_verify(&fake, &ask, &err), SA_ERR_VERIFY);
}

static void test_unsigned_cek_bundle(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	char path[512];
	assert_non_null(tu_vector_path(NAPLES2 "pek_oca_cek.cert", path, sizeof(path)));
	sa_sev_cert b[4];
	size_t n = 0;
	assert_int_equal(sa_sev_cert_read_file_all(path, b, 4, &n, &err), SA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(b[0].pub_key_usage, SA_SEV_USAGE_PEK);
	assert_int_equal(b[1].pub_key_usage, SA_SEV_USAGE_OCA);
	assert_int_equal(b[2].pub_key_usage, SA_SEV_USAGE_CEK);
	assert_int_equal(sa_sev_cert_sig_count(&b[2]), 0);
	/* read_file wants exactly one certificate */
	sa_sev_cert one;
	assert_int_equal(sa_sev_cert_read_file(path, &one, &err), SA_ERR_TRAILING);
	assert_non_null(strstr(err.msg, "3 SEV certificates"));
	assert_int_equal(sa_sev_cert_read_file_all(path, b, 2, &n, &err), SA_ERR_TRAILING);

	sa_sev_cert pdh = sev_vec(NAPLES2 "pdh.cert");
	sa_amd_cert ark = builtin("naples", "ark"), ask = builtin("naples", "ask");
	sa_sev_chain ch = {.ark = &ark, .ask = &ask, .cek = &b[2], .pek = &b[0], .oca = &b[1], .pdh = &pdh};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.ask", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.cek", SA_CHECK_FAIL);
	assert_true(check_mentions(&v, "sev.chain.cek", "no ASK signature"));
	assert_true(check_mentions(&v, "sev.chain.cek", "KDS"));
	assert_true(check_mentions(&v, "sev.chain.cek", "kdsintf.amd.com/cek/id/"));
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.oca", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.pek_oca", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.pdh", SA_CHECK_PASS);
	assert_false(v.verified);
	sa_verdict_free(&v);
	/* the separate files of the same platform agree with the bundle */
	sa_sev_cert pek = sev_vec(NAPLES2 "pek.cert"), oca = sev_vec(NAPLES2 "oca.cert");
	assert_memory_equal(&pek, &b[0], sizeof(pek));
	assert_memory_equal(&oca, &b[1], sizeof(oca));
}

static void test_missing_links(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_amd_cert ark = builtin("rome", "ark"), ask = builtin("rome", "ask");
	sa_sev_cert cek = sev_vec(ROME "cek.cert"), pek = sev_vec(ROME "pek.cert");
	sa_sev_chain ch = {.ark = &ark, .ask = &ask, .cek = &cek, .pek = &pek};
	sa_verdict v;
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.oca", SA_CHECK_FAIL);
	assert_true(check_mentions(&v, "sev.chain.oca", "no OCA"));
	expect_status(&v, "sev.chain.pek_oca", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.pdh", SA_CHECK_SKIP);
	expect_status(&v, "sev.chain.cek", SA_CHECK_PASS);
	assert_false(v.verified);
	sa_verdict_free(&v);
	sa_sev_chain empty = {0};
	run_chain(&empty, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.ask", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.cek", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_FAIL);
	assert_false(v.verified);
	sa_verdict_free(&v);
	/* roles swapped: a PEK given as the OCA */
	sa_sev_cert oca = sev_vec(ROME "oca.cert");
	sa_sev_chain swapped = {.ark = &ark, .ask = &ask, .cek = &cek, .pek = &oca, .oca = &pek};
	run_chain(&swapped, NULL, &v);
	expect_status(&v, "sev.chain.oca", SA_CHECK_FAIL);
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_FAIL);
	assert_false(v.verified);
	sa_verdict_free(&v);
}

/* ---- fresh keys: an emulator-style PKI ----------------------------------- */

typedef struct pki {
	EVP_PKEY *ark_key, *ask_key, *cek_key, *pek_key, *oca_key, *pdh_key;
	sa_amd_cert ark, ask;
	sa_sev_cert cek, pek, oca, pdh;
} pki;

static void make_pki(pki *p, unsigned bits)
{
	sa_error err;
	uint8_t ark_id[16], ask_id[16];
	memset(ark_id, 0x11, 16);
	memset(ask_id, 0x22, 16);
	p->ark_key = rsa_key(bits);
	p->ask_key = rsa_key(bits);
	assert_int_equal(sa_amd_cert_init(&p->ark, SA_SEV_USAGE_ARK, ark_id, ark_id, p->ark_key, &err), SA_OK);
	assert_int_equal(sa_amd_cert_sign(&p->ark, p->ark_key, &err), SA_OK);
	assert_int_equal(sa_amd_cert_init(&p->ask, SA_SEV_USAGE_ASK, ask_id, ark_id, p->ask_key, &err), SA_OK);
	assert_int_equal(sa_amd_cert_sign(&p->ask, p->ark_key, &err), SA_OK);
	p->cek_key = p384();
	p->pek_key = p384();
	p->oca_key = p384();
	p->pdh_key = p384();
	assert_int_equal(sa_sev_cert_init(&p->cek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, 0, 14, p->cek_key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign_by_ask(&p->cek, &p->ask, p->ask_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&p->oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, p->oca_key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign(&p->oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, p->oca_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&p->pek, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, p->pek_key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign(&p->pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, p->oca_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign(&p->pek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, p->cek_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&p->pdh, SA_SEV_USAGE_PDH, SA_SEV_ALGO_ECDH_SHA256, 1, 55, p->pdh_key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign(&p->pdh, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, p->pek_key, &err), SA_OK);
}

static void free_pki(pki *p)
{
	EVP_PKEY_free(p->ark_key);
	EVP_PKEY_free(p->ask_key);
	EVP_PKEY_free(p->cek_key);
	EVP_PKEY_free(p->pek_key);
	EVP_PKEY_free(p->oca_key);
	EVP_PKEY_free(p->pdh_key);
}

static void test_fresh_chain_custom_root(void **state)
{
	(void)state;
	sa_error err;
	pki p;
	make_pki(&p, 2048);
	assert_int_equal(p.ark.encoded_len, 832);
	assert_int_equal(p.cek.sig[0].algo, SA_SEV_ALGO_RSA_SHA256);
	assert_int_equal(sa_sev_cert_verify_by_ask(&p.cek, &p.ask, &err), SA_OK);
	sa_sev_chain ch = {.ark = &p.ark, .ask = &p.ask, .cek = &p.cek, .pek = &p.pek, .oca = &p.oca, .pdh = &p.pdh};
	sa_verdict v;
	/* not pinned: only trusted when named */
	run_chain(&ch, NULL, &v);
	expect_status(&v, "sev.chain.ark", SA_CHECK_FAIL);
	assert_true(check_mentions(&v, "sev.chain.ark", "not a pinned AMD ARK"));
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_PASS);
	assert_false(v.verified);
	sa_verdict_free(&v);
	sa_sev_trust t = {.roots = &p.ark, .n_roots = 1};
	run_chain(&ch, &t, &v);
	assert_true(v.verified);
	expect_status(&v, "sev.product", SA_CHECK_SKIP);
	sa_verdict_free(&v);
	/* named roots replace the pins: AMD's Milan ARK is then not trusted */
	if (tu_vectors_dir()) {
		sa_amd_cert mark = builtin("milan", "ark"), mask = builtin("milan", "ask");
		sa_sev_chain amd = {.ark = &mark, .ask = &mask, .cek = &p.cek, .pek = &p.pek, .oca = &p.oca};
		run_chain(&amd, &t, &v);
		expect_status(&v, "sev.chain.ark", SA_CHECK_FAIL);
		assert_true(check_mentions(&v, "sev.chain.ark", "named roots"));
		sa_verdict_free(&v);
	}

	/* the trusted OCA */
	t.trusted_oca = &p.oca;
	run_chain(&ch, &t, &v);
	assert_true(v.verified);
	sa_verdict_free(&v);

	/* a PEK re-signed by a foreign OCA */
	EVP_PKEY *foreign_key = p384();
	sa_sev_cert foreign, pek2;
	assert_int_equal(sa_sev_cert_init(&foreign, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, foreign_key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign(&foreign, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, foreign_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&pek2, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, p.pek_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign(&pek2, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, foreign_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign(&pek2, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, p.cek_key, &err), SA_OK);
	/* chain carries the foreign OCA: sev.chain.oca fails */
	sa_sev_chain f1 = ch;
	f1.pek = &pek2;
	f1.oca = &foreign;
	run_chain(&f1, &t, &v);
	expect_status(&v, "sev.chain.oca", SA_CHECK_FAIL);
	assert_true(check_mentions(&v, "sev.chain.oca", "foreign OCA"));
	expect_status(&v, "sev.chain.pek_oca", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.pek_cek", SA_CHECK_PASS);
	assert_false(v.verified);
	sa_verdict_free(&v);
	/* chain carries the owner's OCA: sev.chain.pek_oca fails */
	sa_sev_chain f2 = ch;
	f2.pek = &pek2;
	run_chain(&f2, &t, &v);
	expect_status(&v, "sev.chain.oca", SA_CHECK_PASS);
	expect_status(&v, "sev.chain.pek_oca", SA_CHECK_FAIL);
	assert_true(check_mentions(&v, "sev.chain.pek_oca", "not signed by this OCA"));
	assert_false(v.verified);
	sa_verdict_free(&v);
	EVP_PKEY_free(foreign_key);

	/* a third signature has no slot; a PDH cannot sign */
	assert_int_equal(sa_sev_cert_sign(&p.pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, p.oca_key, &err),
			 SA_ERR_STATE);
	assert_int_equal(sa_sev_cert_verify(&p.pek, &p.pdh, &err), SA_ERR_VERIFY);
	/* sign_by_ask with a key that is not the ASK's */
	sa_sev_cert c2;
	assert_int_equal(sa_sev_cert_init(&c2, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, 0, 14, p.cek_key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign_by_ask(&c2, &p.ask, p.ark_key, &err), SA_ERR_ARG);
	assert_int_equal(sa_sev_cert_sig_count(&c2), 0);
	free_pki(&p);
}

static void test_fresh_rsa(void **state)
{
	(void)state;
	sa_error err;
	/* RSA-4096 AMD certificates (Rome and later), SHA-384 */
	EVP_PKEY *k4 = rsa_key(4096), *k2 = rsa_key(2048);
	uint8_t id[16] = {1};
	sa_amd_cert ark, ask;
	assert_int_equal(sa_amd_cert_init(&ark, SA_SEV_USAGE_ARK, id, id, k4, &err), SA_OK);
	assert_int_equal(ark.signed_len, 0x40 + 1024);
	assert_int_equal(sa_amd_cert_sign(&ark, k4, &err), SA_OK);
	assert_int_equal(ark.encoded_len, 1600);
	assert_int_equal(sa_amd_cert_verify(&ark, &ark, &err), SA_OK);
	/* a 2048-bit issuer cannot sign a 4096-bit subject */
	assert_int_equal(sa_amd_cert_sign(&ark, k2, &err), SA_ERR_UNSUPPORTED);
	uint8_t buf[SA_AMD_CERT_MAX];
	size_t n = 0;
	sa_amd_cert back;
	assert_int_equal(sa_amd_cert_encode(&ark, buf, sizeof(buf), &n, &err), SA_OK);
	assert_int_equal(sa_amd_cert_decode(buf, n, &back, &err), SA_OK);
	assert_int_equal(sa_amd_cert_verify(&back, &back, &err), SA_OK);
	/* an ASK-2048 under a 4096 ARK is refused at signing */
	uint8_t id2[16] = {2};
	assert_int_equal(sa_amd_cert_init(&ask, SA_SEV_USAGE_ASK, id2, id, k2, &err), SA_OK);
	assert_int_equal(sa_amd_cert_sign(&ask, k4, &err), SA_ERR_UNSUPPORTED);
	/* a CEK signed by a 4096-bit ASK: RSA-SHA384 */
	assert_int_equal(sa_amd_cert_init(&ask, SA_SEV_USAGE_ASK, id2, id, k4, &err), SA_OK);
	EVP_PKEY *ck = p384();
	sa_sev_cert cek;
	assert_int_equal(sa_sev_cert_init(&cek, SA_SEV_USAGE_CEK, SA_SEV_ALGO_ECDSA_SHA256, 0, 14, ck, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign_by_ask(&cek, &ask, k4, &err), SA_OK);
	assert_int_equal(cek.sig[0].algo, SA_SEV_ALGO_RSA_SHA384);
	assert_int_equal(sa_sev_cert_verify_by_ask(&cek, &ask, &err), SA_OK);
	cek.sig[0].sig[511] ^= 1; /* the signature's last byte */
	assert_int_equal(sa_sev_cert_verify_by_ask(&cek, &ask, &err), SA_ERR_VERIFY);

	/* SEV certificates with RSA keys: RSA-SHA256 (2048) and RSA-SHA384 (4096) */
	EVP_PKEY *keys[2] = {k2, k4};
	uint32_t algos[2] = {SA_SEV_ALGO_RSA_SHA256, SA_SEV_ALGO_RSA_SHA384};
	for (int i = 0; i < 2; i++) {
		sa_sev_cert oca, pek;
		assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, algos[i], 1, 0, keys[i], &err), SA_OK);
		assert_int_equal(sa_sev_cert_sign(&oca, SA_SEV_USAGE_OCA, algos[i], keys[i], &err), SA_OK);
		assert_int_equal(sa_sev_cert_verify(&oca, &oca, &err), SA_OK);
		uint8_t enc[SA_SEV_CERT_SIZE];
		sa_sev_cert back2;
		assert_int_equal(sa_sev_cert_encode(&oca, enc, &err), SA_OK);
		assert_int_equal(sa_sev_cert_decode(enc, sizeof(enc), &back2, &err), SA_OK);
		assert_memory_equal(&back2, &oca, sizeof(oca));
		EVP_PKEY *pub = NULL;
		assert_int_equal(sa_sev_cert_pubkey(&oca, &pub, &err), SA_OK);
		assert_int_equal(EVP_PKEY_eq(pub, keys[i]), 1);
		EVP_PKEY_free(pub);
		assert_int_equal(sa_sev_cert_init(&pek, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA384, 1, 0, ck, &err), SA_OK);
		assert_int_equal(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, algos[i], keys[i], &err), SA_OK);
		assert_int_equal(sa_sev_cert_verify(&pek, &oca, &err), SA_OK);
		pek.pub_key[7] ^= 1;
		assert_int_equal(sa_sev_cert_verify(&pek, &oca, &err), SA_ERR_VERIFY);
		/* the algorithm must fit the key */
		assert_int_equal(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, keys[i], &err),
				 SA_ERR_UNSUPPORTED);
	}
	/* ECDSA-SHA384 by an EC OCA */
	sa_sev_cert oca, pek;
	EVP_PKEY *ok = p384();
	assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA384, 1, 0, ok, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&pek, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA384, 1, 0, ck, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA384, ok, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&pek, &oca, &err), SA_OK);
	/* the RSA sizes other than 2048/4096 are refused at init */
	EVP_PKEY *k1 = rsa_key(1024);
	assert_int_equal(sa_amd_cert_init(&ask, SA_SEV_USAGE_ASK, id2, id, k1, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_RSA_SHA256, 1, 0, k1, &err),
			 SA_ERR_UNSUPPORTED);
	/* and an EC key is not an AMD CA key, nor an RSA SEV key */
	assert_int_equal(sa_amd_cert_init(&ask, SA_SEV_USAGE_ASK, id2, id, ok, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_RSA_SHA256, 1, 0, ok, &err),
			 SA_ERR_UNSUPPORTED);
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, 1, 0, p256, &err),
			 SA_ERR_UNSUPPORTED);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k4);
}

/* ---- mutations ------------------------------------------------------------ */

static void test_sev_mutations(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	size_t len = 0;
	uint8_t *orig = vec(ROME "pek.cert", &len);
	sa_sev_cert oca = sev_vec(ROME "oca.cert"), cek = sev_vec(ROME "cek.cert");
	uint8_t b[SA_SEV_CERT_SIZE + 1];
	sa_sev_cert c;

	/* truncated, trailing */
	expect_sev_reject(orig, len - 1, SA_ERR_TRUNCATED, "0x824");
	expect_sev_reject(orig, 0, SA_ERR_TRUNCATED, NULL);
	memcpy(b, orig, len);
	b[len] = 0;
	expect_sev_reject(b, len + 1, SA_ERR_TRAILING, "0x824");
	/* version */
	memcpy(b, orig, len);
	put32(b, 2);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "VERSION at 0x000");
	/* usage */
	memcpy(b, orig, len);
	put32(b + 8, 0x2000);
	expect_sev_reject(b, len, SA_ERR_FORMAT, "PUB_KEY_USAGE at 0x008");
	put32(b + 8, 0x13);
	expect_sev_reject(b, len, SA_ERR_FORMAT, "PUB_KEY_USAGE at 0x008");
	/* algorithm: unknown, or ECDH for a PEK */
	memcpy(b, orig, len);
	put32(b + 0xC, 0x4);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "PUB_KEY_ALGO at 0x00C");
	put32(b + 0xC, SA_SEV_ALGO_ECDH_SHA256);
	expect_sev_reject(b, len, SA_ERR_FORMAT, "PUB_KEY_ALGO at 0x00C");
	/* bad curve */
	memcpy(b, orig, len);
	put32(b + 0x10, 1);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "CURVE at 0x010");
	/* coordinates >= 2^384 */
	memcpy(b, orig, len);
	b[0x14 + 48] = 1;
	expect_sev_reject(b, len, SA_ERR_RANGE, "QX at 0x014");
	memcpy(b, orig, len);
	b[0x14 + 72 + 71] = 0x80;
	expect_sev_reject(b, len, SA_ERR_RANGE, "QY at 0x05c");
	/* RSA key sizes: 3072 and 1024 refused, RSA with bytes above its size refused */
	memcpy(b, orig, len);
	put32(b + 0xC, SA_SEV_ALGO_RSA_SHA256);
	put32(b + 0x10, 3072);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "MODULUS_SIZE at 0x010");
	put32(b + 0x10, 1024);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "MODULUS_SIZE at 0x010");
	put32(b + 0x10, 2048);
	memset(b + 0x14, 0, 0x400);
	b[0x14 + 512 + 300] = 1;
	expect_sev_reject(b, len, SA_ERR_RANGE, "MODULUS at 0x214");
	/* signature slot usage and algorithm */
	memcpy(b, orig, len);
	put32(b + 0x414, 0x1003);
	expect_sev_reject(b, len, SA_ERR_FORMAT, "SIG1_USAGE at 0x414");
	memcpy(b, orig, len);
	put32(b + 0x620, SA_SEV_ALGO_ECDH_SHA256);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "SIG2_ALGO at 0x620");
	memcpy(b, orig, len);
	put32(b + 0x418, 0x55);
	expect_sev_reject(b, len, SA_ERR_UNSUPPORTED, "SIG1_ALGO at 0x418");

	/* decodes, but does not verify */
	assert_int_equal(sa_sev_cert_decode(orig, len, &c, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&c, &oca, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&c, &cek, &err), SA_OK);
	/* a flipped byte in the signed part (API_MINOR, then the key) */
	unsigned verified_flips = 0;
	for (size_t off = 0; off < SA_SEV_CERT_SIGNED_LEN; off += 0x101) {
		memcpy(b, orig, len);
		b[off == 0 ? 5 : off] ^= 0x01;
		if (sa_sev_cert_decode(b, len, &c, &err) != SA_OK)
			continue; /* some flips make it undecodable: also a rejection */
		assert_int_equal(sa_sev_cert_verify(&c, &oca, &err), SA_ERR_VERIFY);
		assert_int_equal(sa_sev_cert_verify(&c, &cek, &err), SA_ERR_VERIFY);
		verified_flips++;
	}
	assert_true(verified_flips >= 4);
	/* a flipped byte in each signature */
	memcpy(b, orig, len);
	b[0x41C + 10] ^= 0x40;
	b[0x624 + 72 + 3] ^= 0x02;
	assert_int_equal(sa_sev_cert_decode(b, len, &c, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&c, &oca, &err), SA_ERR_VERIFY);
	assert_int_equal(sa_sev_cert_verify(&c, &cek, &err), SA_ERR_VERIFY);
	/* the wrong usage in the slot: no OCA signature */
	assert_int_equal(sa_sev_cert_decode(orig, len, &c, &err), SA_OK);
	c.sig[0].usage = SA_SEV_USAGE_PEK;
	assert_int_equal(sa_sev_cert_verify(&c, &oca, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "OCA"));
	/* the wrong algorithm in the slot */
	assert_int_equal(sa_sev_cert_decode(orig, len, &c, &err), SA_OK);
	c.sig[0].algo = SA_SEV_ALGO_ECDSA_SHA384;
	assert_int_equal(sa_sev_cert_verify(&c, &oca, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "algorithm"));
	/* encode refuses what decode refuses */
	assert_int_equal(sa_sev_cert_decode(orig, len, &c, &err), SA_OK);
	c.pub_key_usage = 0x2000;
	assert_int_equal(sa_sev_cert_encode(&c, b, &err), SA_ERR_FORMAT);
	/* a point off the curve decodes (the codec checks ranges) but has no key */
	assert_int_equal(sa_sev_cert_decode(orig, len, &c, &err), SA_OK);
	c.pub_key[4] ^= 1;
	EVP_PKEY *k = NULL;
	assert_int_equal(sa_sev_cert_pubkey(&c, &k, &err), SA_ERR_FORMAT);
	assert_null(k);
	/* a reader that fails keeps its position */
	sa_reader r;
	sa_reader_init(&r, orig, len - 1);
	assert_int_equal(sa_sev_cert_read(&r, &c, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_reader_offset(&r), 0);
	memcpy(b, orig, len);
	put32(b, 9);
	sa_reader_init(&r, b, len);
	assert_int_equal(sa_sev_cert_read(&r, &c, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_reader_offset(&r), 0);
	free(orig);
}

static void test_amd_mutations(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	size_t len = 0;
	uint8_t *orig = vec(BUILTIN "rome/ask.cert", &len);
	sa_amd_cert ark = builtin("rome", "ark"), c;
	uint8_t b[SA_AMD_CERT_MAX + 8];

	memcpy(b, orig, len);
	put32(b, 2);
	expect_amd_reject(b, len, SA_ERR_UNSUPPORTED, "VERSION at 0x00");
	memcpy(b, orig, len);
	put32(b + 0x24, 0x1004);
	expect_amd_reject(b, len, SA_ERR_FORMAT, "KEY_USAGE at 0x24");
	memcpy(b, orig, len);
	put32(b + 0x38, 3072);
	expect_amd_reject(b, len, SA_ERR_UNSUPPORTED, "PUB_EXP_SIZE at 0x38");
	memcpy(b, orig, len);
	put32(b + 0x3C, 1024);
	expect_amd_reject(b, len, SA_ERR_UNSUPPORTED, "MODULUS_SIZE at 0x3C");
	put32(b + 0x3C, 0xFFFFFFF8u);
	expect_amd_reject(b, len, SA_ERR_UNSUPPORTED, "MODULUS_SIZE at 0x3C");
	expect_amd_reject(orig, 0x3F, SA_ERR_TRUNCATED, "header");
	expect_amd_reject(orig, 0x40 + 100, SA_ERR_TRUNCATED, "PUB_EXP");
	memcpy(b, orig, len);
	b[len] = 7;
	expect_amd_reject(b, len + 1, SA_ERR_TRAILING, NULL);

	/* flips in the signed part and the signature */
	size_t offs[] = {0x04, 0x14, 0x28, 0x40, 0x40 + 600, len - 1};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(b, orig, len);
		b[offs[i]] ^= 0x10;
		assert_int_equal(sa_amd_cert_decode(b, len, &c, &err), SA_OK);
		assert_int_equal(sa_amd_cert_verify(&c, &ark, &err), SA_ERR_VERIFY);
	}
	/* an unsigned ASK */
	assert_int_equal(sa_amd_cert_decode(orig, 0x40 + 1024, &c, &err), SA_OK);
	assert_false(c.has_signature);
	assert_int_equal(sa_amd_cert_verify(&c, &ark, &err), SA_ERR_NOT_FOUND);
	assert_null(sa_sev_ark_pin_match(&c));
	free(orig);
}

/* ---- files ---------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_files(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_error err;
	char *dir = tu_tmpdir(), path[1024];
	size_t len = 0;
	uint8_t *pek = vec(NAPLES "pek.cert", &len);
	sa_sev_cert want = sev_vec(NAPLES "pek.cert"), got;

	/* raw binary */
	char vp[512];
	assert_non_null(tu_vector_path(NAPLES "pek.cert", vp, sizeof(vp)));
	assert_int_equal(sa_sev_cert_read_file(vp, &got, &err), SA_OK);
	assert_memory_equal(&got, &want, sizeof(got));
	/* base64 with line breaks (as QEMU and sevctl write them) */
	char *b64 = sa_base64_encode(pek, len);
	assert_non_null(b64);
	size_t bl = strlen(b64);
	char *wrapped = malloc(bl + bl / 64 + 2);
	size_t o = 0;
	for (size_t i = 0; i < bl; i++) {
		wrapped[o++] = b64[i];
		if (i % 64 == 63)
			wrapped[o++] = '\n';
	}
	wrapped[o++] = '\n';
	wrapped[o] = 0;
	snprintf(path, sizeof(path), "%s/pek.b64", dir);
	write_text(path, wrapped);
	memset(&got, 0, sizeof(got));
	assert_int_equal(sa_sev_cert_read_file(path, &got, &err), SA_OK);
	assert_memory_equal(&got, &want, sizeof(got));
	/* base64 garbage: bad padding, bad characters, non-zero pad bits */
	const char *bad[] = {"AAAA=AAA", "!!!!", "QUJDRA=\n", "QUI=QUI="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(path, bad[i]);
		assert_int_not_equal(sa_sev_cert_read_file(path, &got, &err), SA_OK);
	}
	/* valid base64 of the wrong length */
	b64[100] = 0;
	write_text(path, b64);
	assert_int_equal(sa_sev_cert_read_file(path, &got, &err), SA_ERR_TRUNCATED);
	/* a missing file */
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(sa_sev_cert_read_file(path, &got, &err), SA_ERR_NOT_FOUND);
	sa_amd_cert a[2];
	size_t n = 0;
	assert_int_equal(sa_amd_cert_read_file(path, a, 2, &n, &err), SA_ERR_NOT_FOUND);
	/* AMD certs in base64 */
	size_t alen = 0;
	uint8_t *ask = vec(BUILTIN "naples/ask.cert", &alen);
	char *ab = sa_base64_encode(ask, alen);
	snprintf(path, sizeof(path), "%s/ask.b64", dir);
	write_text(path, ab);
	assert_int_equal(sa_amd_cert_read_file(path, a, 2, &n, &err), SA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].key_usage, SA_SEV_USAGE_ASK);
	write_text(path, "");
	assert_int_equal(sa_amd_cert_read_file(path, a, 2, &n, &err), SA_ERR_TRUNCATED);
	free(ab);
	free(ask);
	free(wrapped);
	free(b64);
	free(pek);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_le),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sev_vectors_round_trip),
		cmocka_unit_test(test_amd_vectors_round_trip),
		cmocka_unit_test(test_pins_recomputed),
		cmocka_unit_test(test_naples_unsigned_ark),
		cmocka_unit_test(test_cek_unsigned_same_key),
		cmocka_unit_test(test_chain_naples),
		cmocka_unit_test(test_chain_rome),
		cmocka_unit_test(test_chain_milan),
		cmocka_unit_test(test_cross_product_cek),
		cmocka_unit_test(test_reversed_ask_ark),
		cmocka_unit_test(test_unsigned_cek_bundle),
		cmocka_unit_test(test_missing_links),
		cmocka_unit_test(test_fresh_chain_custom_root),
		cmocka_unit_test(test_fresh_rsa),
		cmocka_unit_test(test_sev_mutations),
		cmocka_unit_test(test_amd_mutations),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
