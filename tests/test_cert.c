/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "testutil.h"

#define TRUSTEE "confidential-containers-trustee/deps/verifier/test_data/snp/"
#define GSG_TRUST "google-go-sev-guest/verify/trust/"
#define TAV "microsoft-TEE-Attestation-Verification/"

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* Parse a vector file into list (asserts success). */
static void load_list(const char *rel, sa_cert_list *list)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(tu_read_vector(rel, &buf, &len), 0);
	sa_error err;
	sa_status st = sa_cert_parse_any(buf, len, list, &err);
	if (st != SA_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(buf);
}

/* The first certificate of a vector file (caller frees). */
static sa_cert *load_first(const char *rel)
{
	sa_cert_list l = {0};
	load_list(rel, &l);
	assert_true(l.n >= 1);
	sa_cert *c = sa_cert_list_take(&l, 0);
	sa_cert_list_free(&l);
	return c;
}

/* ------------------------------------------------------------------------- */
/* 1. Every VEK in the vectors, with the values of README §1.1 and §2         */
/* ------------------------------------------------------------------------- */

struct vek_case {
	const char *path;
	sa_cert_role role;
	sa_product product;
	int stepping;
	const char *product_name;
	uint64_t struct_version;
	int bl, tee, snp, ucode, fmc; /* fmc -1: absent */
	uint8_t spl_present;
	const char *hwid; /* hex, NULL for a VLEK */
	sa_hwid_encoding hwid_encoding;
	const char *csp_id;
	const char *sha256; /* of the file, when it is DER (README §12) */
};

static const struct vek_case vek_cases[] = {
	{"google-go-sev-guest/verify/testdata/vcek.testcer", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 2, 0,
	 5, 68, -1, 0xF0,
	 "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f6"
	 "3c9b610c5068b006b5d",
	 SA_HWID_RAW, NULL, "0d057f9b6e29a69eda9c0154b259567d291c1c08d73a11e9d31ace07c435b6d8"},
	{"virtee-sev/tests/certs_data/vcek_milan.der", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 3, 0, 8, 115,
	 -1, 0xF0,
	 "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72"
	 "b082e2f87a44d541eb6",
	 SA_HWID_RAW, NULL, "3bbfb6ee259f75a95d13168cfdf2e034181bb93c7c016825731cbe8ea16c95e1"},
	{TRUSTEE "test-vcek.der", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 3, 0, 8, 115, -1, 0xF0,
	 "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea8"
	 "2301135a170e477524e",
	 SA_HWID_RAW, NULL, "3430987528a9feebc90c1ba5cfac5849926ace82ae652a1bbf464d33bdc36d45"},
	{TRUSTEE "test-vlek.der", SA_ROLE_VLEK, SA_PRODUCT_MILAN, SA_STEPPING_UNKNOWN, "Milan", 0, 4, 0, 24, 217, -1,
	 0xF0, NULL, SA_HWID_NONE, "CN=cc-us-east-2.amazonaws.com",
	 "296a7c99053efe4b1e480bb76d421fd24633d245f3e34708399a18a7713b7a7c"},
	{"confidential-containers-trustee/deps/verifier/test_data/az-snp-vtpm/vcek.pem", SA_ROLE_VCEK, SA_PRODUCT_MILAN,
	 0, "Milan-B0", 0, 3, 0, 8, 115, -1, 0xF0,
	 "19752a447db501a32ade46428a46e92639bd3515dbb45e2e67bbcb0934ffcf1f3e3c004ccb4a99c9fa7e4ffb09da6b324ac58acedaf67"
	 "9f24ba7db5f838c6cca",
	 SA_HWID_RAW, NULL, NULL},
	{"confidential-containers-trustee/deps/verifier/test_data/az-snp-vtpm/vcek-genoa.pem", SA_ROLE_VCEK,
	 SA_PRODUCT_GENOA, SA_STEPPING_UNKNOWN, "Genoa", 0, 10, 0, 23, 84, -1, 0xF0,
	 "0506ffba875e939c2729d20c74eb72b4c5ba6bf7ea1faaa640141f12c6d64782fb487f68ce69dcd021e914cc0d9244327bc121f0242d6"
	 "470903ad1d4aaea4ad1",
	 SA_HWID_RAW, NULL, NULL},
	{"derived/trustee_e2e_evidence_vcek.der", SA_ROLE_VCEK, SA_PRODUCT_GENOA, SA_STEPPING_UNKNOWN, "Genoa", 0, 10,
	 0, 23, 25, -1, 0xF0,
	 "371c55d6d15cb50f16dc31d39a24e300caaabff4431e841111429b73ec45ad67ea6e687ffae7bf84b54a5d0e6d79b3ef6ff0bd8b4cff9"
	 "4c2163af5c5de8718e8",
	 SA_HWID_RAW, NULL, "71cdcd49d922dcf959cb9667b5fbd1c18af80dfddfdc5a1eefa9e577461f4903"},
	{TAV "tests/test_data/milan_vcek.pem", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 4, 0, 24, 219, -1,
	 0xF0,
	 "4ffb5cb4fd594f3fee6528fc3fb10370bb38abe89dcd5ba2cf0ab6a11df2ca282add516bef45a890a8c9f9732bdca68f9f3f16c42e846"
	 "030a800295dbeb19ba5",
	 SA_HWID_RAW, NULL, NULL},
	{TAV "src/crypto/test_data/milan_vcek.pem", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 4, 0, 24, 219, -1,
	 0xF0,
	 "4ffb5cb4fd594f3fee6528fc3fb10370bb38abe89dcd5ba2cf0ab6a11df2ca282add516bef45a890a8c9f9732bdca68f9f3f16c42e846"
	 "030a800295dbeb19ba5",
	 SA_HWID_RAW, NULL, NULL},
	{TAV "tests/test_data/genoa_vcek.pem", SA_ROLE_VCEK, SA_PRODUCT_GENOA, SA_STEPPING_UNKNOWN, "Genoa", 0, 10, 0,
	 23, 84, -1, 0xF0,
	 "b1e24a27bbc3a4d58090d8b89851dce3b8031544be249b9ac17132bb222b027622347ee4d0fe4f689efdfc47a68cefc686cbb448d0143"
	 "6506ee1e28010cab7c0",
	 SA_HWID_RAW, NULL, NULL},
	{TAV "tests/test_data/turin_vcek.pem", SA_ROLE_VCEK, SA_PRODUCT_TURIN, SA_STEPPING_UNKNOWN, "Turin", 1, 1, 1, 4,
	 81, 1, 0xE0, "59790fb1c39f35c1", SA_HWID_RAW, NULL, NULL},
	{"virtee-sev/tests/certs_data/vcek_turin.der", SA_ROLE_VCEK, SA_PRODUCT_TURIN, SA_STEPPING_UNKNOWN, "Turin", 1,
	 0, 0, 0, 9, 0, 0xE0, "1e550a8ee5cf9f4d", SA_HWID_RAW, NULL,
	 "a4a6abff1c435f214cfbc35e4dadae55e467454d53dc417251b3ff1a169fd7fb"},
	/* N2a / N2b: both hwID encodings. */
	{TRUSTEE "test-vcek-invalid-legacy.der", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 3, 0, 10, 169, -1,
	 0xF0,
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435"
	 "363738393a3b3c3d3e3f",
	 SA_HWID_RAW, NULL, "cee96955153de19a8c5af84d9d8c9452fa8d6bdfc2fb897972e43cc5051ccbf4"},
	{TRUSTEE "test-vcek-invalid-new.der", SA_ROLE_VCEK, SA_PRODUCT_MILAN, 0, "Milan-B0", 0, 0, 0, 0, 30, -1, 0xF0,
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435"
	 "363738393a3b3c3d3e3f",
	 SA_HWID_OCTET_STRING, NULL, "f875ab6fb518d27b07897528f320346abe1a152c0d731d15e42092339acce889"},
};

static void check_vek(const struct vek_case *k)
{
	sa_cert *c = load_first(k->path);
	const sa_amd_ext *e = &c->ext;
	if (c->role != k->role)
		fail_msg("%s: role %s", k->path, sa_cert_role_name(c->role));
	assert_string_equal(c->subject_cn, k->role == SA_ROLE_VLEK ? "SEV-VLEK" : "SEV-VCEK");
	assert_int_equal(c->product, k->product);
	assert_int_equal(c->stepping, k->stepping);
	assert_true(e->has_struct_version);
	assert_true(e->struct_version == k->struct_version);
	assert_true(e->has_product_name);
	assert_string_equal(e->product_name, k->product_name);
	assert_true(e->has_bl && e->has_tee && e->has_snp && e->has_ucode);
	assert_int_equal(e->bl, k->bl);
	assert_int_equal(e->tee, k->tee);
	assert_int_equal(e->snp, k->snp);
	assert_int_equal(e->ucode, k->ucode);
	assert_int_equal(e->has_fmc, k->fmc >= 0);
	if (k->fmc >= 0)
		assert_int_equal(e->fmc, k->fmc);
	assert_int_equal(e->spl_present, k->spl_present);
	for (int i = 4; i <= 7; i++)
		assert_int_equal(e->spl[i], 0);
	if (k->hwid) {
		uint8_t want[64];
		size_t n = strlen(k->hwid) / 2;
		tu_hex(k->hwid, want, n);
		assert_true(e->has_hwid);
		assert_int_equal(e->hwid_len, n);
		assert_memory_equal(e->hwid, want, n);
		assert_int_equal(e->hwid_encoding, k->hwid_encoding);
		assert_false(e->has_csp_id);
	} else {
		assert_false(e->has_hwid);
		assert_int_equal(e->hwid_encoding, SA_HWID_NONE);
	}
	if (k->csp_id) {
		assert_true(e->has_csp_id);
		assert_string_equal(e->csp_id, k->csp_id);
	}
	/* Every KDS VEK has serial number 0, which RFC 5280 forbids; we accept it. */
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(c->x509)), 0);
	assert_true(EVP_PKEY_is_a(c->pubkey, "EC"));
	if (k->sha256) {
		uint8_t want[32];
		tu_hex(k->sha256, want, 32);
		assert_memory_equal(c->fingerprint, want, 32);
	}
	sa_cert_free(c);
}

static void vek_vectors_exact_values(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(vek_cases) / sizeof(vek_cases[0]); i++)
		check_vek(&vek_cases[i]);
}

static void vek_issuer_names_and_times(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_cert *c = load_first(TRUSTEE "test-vlek.der");
	assert_string_equal(c->issuer_cn, "SEV-VLEK-Milan");
	assert_true(c->not_before == utc(2024, 12, 10, 22, 14, 21));
	assert_true(c->not_after == utc(2025, 12, 10, 22, 14, 21));
	sa_cert_free(c);
	c = load_first("google-go-sev-guest/verify/testdata/vcek.testcer");
	assert_string_equal(c->issuer_cn, "SEV-Milan");
	assert_true(c->not_before == utc(2022, 9, 24, 0, 55, 28));
	sa_cert_free(c);
}

/* ------------------------------------------------------------------------- */
/* 3. Chains                                                                  */
/* ------------------------------------------------------------------------- */

struct chain_case {
	const char *path;
	sa_cert_role first;
	const char *first_cn;
	sa_product product;
};

static const struct chain_case chain_cases[] = {
	{GSG_TRUST "ask_ark_milan.pem", SA_ROLE_ASK, "SEV-Milan", SA_PRODUCT_MILAN},
	{GSG_TRUST "ask_ark_genoa.pem", SA_ROLE_ASK, "SEV-Genoa", SA_PRODUCT_GENOA},
	{GSG_TRUST "ask_ark_turin_vcek.pem", SA_ROLE_ASK, "SEV-Turin", SA_PRODUCT_TURIN},
	{GSG_TRUST "ask_ark_milan_vlek.pem", SA_ROLE_ASVK, "SEV-VLEK-Milan", SA_PRODUCT_MILAN},
	{GSG_TRUST "ask_ark_genoa_vlek.pem", SA_ROLE_ASVK, "SEV-VLEK-Genoa", SA_PRODUCT_GENOA},
	{GSG_TRUST "ask_ark_turin_vlek.pem", SA_ROLE_ASVK, "SEV-VLEK-Turin", SA_PRODUCT_TURIN},
};

static void chains_verify(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++) {
		const struct chain_case *k = &chain_cases[i];
		sa_cert_list l = {0};
		load_list(k->path, &l);
		assert_int_equal(l.n, 2);
		sa_cert *ask = l.v[0], *ark = l.v[1];
		assert_int_equal(ask->role, k->first);
		assert_string_equal(ask->subject_cn, k->first_cn);
		assert_int_equal(ark->role, SA_ROLE_ARK);
		assert_int_equal(ask->product, k->product);
		assert_int_equal(ark->product, k->product);
		assert_int_equal(ark->stepping, SA_STEPPING_UNKNOWN);
		assert_false(ark->ext.has_product_name);
		sa_error err;
		sa_status st = sa_cert_verify_signed_by(ark, ark, &err);
		if (st != SA_OK)
			fail_msg("%s ARK self: %s", k->path, err.msg);
		st = sa_cert_verify_signed_by(ask, ark, &err);
		if (st != SA_OK)
			fail_msg("%s ARK->ASK: %s", k->path, err.msg);
		assert_int_equal(sa_cert_verify_signed_by(ark, ask, &err), SA_ERR_VERIFY);
		assert_non_null(strstr(err.msg, "issuer name"));
		assert_non_null(strstr(err.msg, k->first_cn));
		assert_int_equal(sa_cert_verify_signed_by(ask, ask, &err), SA_ERR_VERIFY);
		sa_cert_list_free(&l);
	}
}

static void trustee_three_cert_chains(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	static const char *const files[] = {
		"confidential-containers-trustee/deps/verifier/src/snp/milan_ask_ark_asvk.pem",
		"confidential-containers-trustee/deps/verifier/src/snp/genoa_ask_ark_asvk.pem",
		"confidential-containers-trustee/deps/verifier/src/snp/turin_ask_ark_asvk.pem",
	};
	for (size_t i = 0; i < 3; i++) {
		sa_cert_list l = {0};
		load_list(files[i], &l);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.v[0]->role, SA_ROLE_ASK);
		assert_int_equal(l.v[1]->role, SA_ROLE_ARK);
		assert_int_equal(l.v[2]->role, SA_ROLE_ASVK);
		assert_int_equal(sa_cert_verify_signed_by(l.v[0], l.v[1], NULL), SA_OK);
		assert_int_equal(sa_cert_verify_signed_by(l.v[2], l.v[1], NULL), SA_OK);
		assert_int_equal(sa_cert_verify_signed_by(l.v[1], l.v[1], NULL), SA_OK);
		sa_cert_list_free(&l);
	}
}

static void veks_under_their_chains(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_cert_list milan = {0}, genoa = {0}, mvlek = {0}, turin = {0};
	load_list(GSG_TRUST "ask_ark_milan.pem", &milan);
	load_list(GSG_TRUST "ask_ark_genoa.pem", &genoa);
	load_list(GSG_TRUST "ask_ark_milan_vlek.pem", &mvlek);
	load_list(GSG_TRUST "ask_ark_turin_vcek.pem", &turin);
	sa_error err;

	sa_cert *r1 = load_first("google-go-sev-guest/verify/testdata/vcek.testcer");
	assert_int_equal(sa_cert_verify_signed_by(r1, milan.v[0], &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(r1, genoa.v[0], &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "SEV-VCEK"));
	assert_non_null(strstr(err.msg, "SEV-Genoa"));
	/* A VEK is not signed by an ARK. */
	assert_int_equal(sa_cert_verify_signed_by(r1, milan.v[1], &err), SA_ERR_VERIFY);

	sa_cert *r4 = load_first(TRUSTEE "test-vlek.der");
	assert_int_equal(sa_cert_verify_signed_by(r4, mvlek.v[0], &err), SA_OK);
	/* N4: the VLEK checked against the ASK instead of the ASVK. */
	assert_int_equal(sa_cert_verify_signed_by(r4, milan.v[0], &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "SEV-VLEK"));
	assert_non_null(strstr(err.msg, "SEV-Milan"));

	/* R10 and the lone virtee Turin VCEK under the Turin chain. */
	sa_cert *t1 = load_first(TAV "tests/test_data/turin_vcek.pem");
	sa_cert *t2 = load_first("virtee-sev/tests/certs_data/vcek_turin.der");
	assert_int_equal(sa_cert_verify_signed_by(t1, turin.v[0], &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(t2, turin.v[0], &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(t1, milan.v[0], &err), SA_ERR_VERIFY);

	/* N2a/N2b: same names as a real VCEK, but the ASK did not sign them. */
	sa_cert *n2a = load_first(TRUSTEE "test-vcek-invalid-legacy.der");
	sa_cert *n2b = load_first(TRUSTEE "test-vcek-invalid-new.der");
	assert_int_equal(sa_cert_verify_signed_by(n2a, milan.v[0], &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "signature of SEV-VCEK by SEV-Milan does not verify");
	assert_int_equal(sa_cert_verify_signed_by(n2b, milan.v[0], &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "signature of SEV-VCEK by SEV-Milan does not verify");
	assert_int_equal(ERR_peek_error(), 0);

	/* The R5 bundle holds VCEK, ASK and ARK. */
	sa_cert_list az = {0};
	load_list("confidential-containers-trustee/deps/verifier/test_data/az-snp-vtpm/vcek.pem", &az);
	assert_int_equal(az.n, 3);
	assert_int_equal(az.v[1]->role, SA_ROLE_ASK);
	assert_int_equal(az.v[2]->role, SA_ROLE_ARK);
	assert_int_equal(sa_cert_verify_signed_by(az.v[0], az.v[1], &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(az.v[1], az.v[2], &err), SA_OK);
	sa_cert_list_free(&az);

	sa_cert_free(r1);
	sa_cert_free(r4);
	sa_cert_free(t1);
	sa_cert_free(t2);
	sa_cert_free(n2a);
	sa_cert_free(n2b);
	sa_cert_list_free(&milan);
	sa_cert_list_free(&genoa);
	sa_cert_list_free(&mvlek);
	sa_cert_list_free(&turin);
}

static void tampered_vek_is_refused(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_cert_list milan = {0};
	load_list(GSG_TRUST "ask_ark_milan.pem", &milan);
	uint8_t *buf;
	size_t len;
	assert_int_equal(tu_read_vector("virtee-sev/tests/certs_data/vcek_milan.der", &buf, &len), 0);
	sa_cert *c = NULL;
	sa_error err;
	assert_int_equal(sa_cert_from_der(buf, len, &c, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(c, milan.v[0], &err), SA_OK);
	sa_cert_free(c);

	/* A flipped byte inside the TBS: either unparseable or unverifiable. */
	buf[40] ^= 0xff;
	c = NULL;
	sa_status st = sa_cert_from_der(buf, len, &c, &err);
	if (st == SA_OK) {
		assert_int_equal(sa_cert_verify_signed_by(c, milan.v[0], &err), SA_ERR_VERIFY);
		sa_cert_free(c);
	} else {
		assert_null(c);
	}
	buf[40] ^= 0xff;

	/* A flipped bit in the signature value parses but does not verify. */
	buf[len - 1] ^= 0x01;
	assert_int_equal(sa_cert_from_der(buf, len, &c, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(c, milan.v[0], &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "signature of SEV-VCEK by SEV-Milan does not verify");
	sa_cert_free(c);
	free(buf);
	sa_cert_list_free(&milan);
}

/* ------------------------------------------------------------------------- */
/* 4. Validity                                                                */
/* ------------------------------------------------------------------------- */

static void validity_window(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_cert *c = load_first(TRUSTEE "test-vlek.der");
	sa_error err;
	assert_int_equal(sa_cert_check_validity(c, utc(2025, 6, 1, 0, 0, 0), &err), SA_OK);
	assert_int_equal(sa_cert_check_validity(c, utc(2026, 1, 1, 0, 0, 0), &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "SEV-VLEK is not valid after 2025-12-10T22:14:21Z (now 2026-01-01T00:00:00Z)");
	assert_int_equal(sa_cert_check_validity(c, utc(2024, 1, 1, 0, 0, 0), &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "SEV-VLEK is not valid before 2024-12-10T22:14:21Z (now 2024-01-01T00:00:00Z)");
	/* Both bounds are inclusive. */
	assert_int_equal(sa_cert_check_validity(c, c->not_before, &err), SA_OK);
	assert_int_equal(sa_cert_check_validity(c, c->not_after, &err), SA_OK);
	assert_int_equal(sa_cert_check_validity(c, c->not_after + 1, &err), SA_ERR_VERIFY);
	assert_int_equal(sa_cert_check_validity(c, c->not_before - 1, &err), SA_ERR_VERIFY);
	sa_cert_free(c);
}

static void time_format(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(sa_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(sa_time_format(utc(2024, 12, 10, 22, 14, 21), buf, 21), "2024-12-10T22:14:21Z");
	assert_string_equal(sa_time_format(utc(2024, 12, 10, 22, 14, 21), buf, 5), "2024");
	assert_string_equal(sa_cert_role_name(SA_ROLE_ASVK), "ASVK");
	assert_string_equal(sa_cert_role_name(SA_ROLE_UNKNOWN), "unknown");
}

/* ------------------------------------------------------------------------- */
/* 5. Malformed input                                                         */
/* ------------------------------------------------------------------------- */

static void truncated_and_garbage_der(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	assert_int_equal(tu_read_vector("google-go-sev-guest/verify/testdata/vcek.testcer", &buf, &len), 0);
	sa_cert_list l = {0};
	sa_error err;
	for (size_t n = 0; n < len; n++) {
		sa_cert *c = NULL;
		assert_int_not_equal(sa_cert_from_der(buf, n, &c, &err), SA_OK);
		assert_null(c);
		assert_int_not_equal(sa_cert_parse_any(buf, n, &l, &err), SA_OK);
		assert_int_equal(l.n, 0);
	}
	/* One extra byte is trailing data. */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	sa_cert *c = NULL;
	assert_int_equal(sa_cert_from_der(longer, len + 1, &c, &err), SA_ERR_TRAILING);
	assert_int_equal(sa_cert_parse_any(longer, len + 1, &l, &err), SA_ERR_TRAILING);
	free(longer);
	/* Every single-byte corruption either parses or fails cleanly. */
	for (size_t i = 0; i < len; i += 7) {
		buf[i] ^= 0x5a;
		if (sa_cert_from_der(buf, len, &c, &err) == SA_OK)
			sa_cert_free(c);
		buf[i] ^= 0x5a;
	}
	free(buf);

	/* Pseudo-random garbage, with and without a leading SEQUENCE tag. */
	uint8_t g[512];
	uint32_t x = 12345;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(g); i++) {
			x = x * 1103515245u + 12345u;
			g[i] = (uint8_t)(x >> 16);
		}
		if (round & 1)
			g[0] = 0x30;
		size_t n = 1 + (size_t)(round * 37) % sizeof(g);
		assert_int_not_equal(sa_cert_parse_any(g, n, &l, &err), SA_OK);
		assert_int_equal(l.n, 0);
	}
	ERR_clear_error();
}

static void pem_errors(void **state)
{
	(void)state;
	sa_cert_list l = {0};
	sa_error err;
	assert_int_equal(sa_cert_parse_any((const uint8_t *)"", 0, &l, &err), SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(sa_cert_parse_any(NULL, 0, &l, &err), SA_ERR_TRUNCATED);
	const char *text = "hello, this is not a certificate\n";
	assert_int_equal(sa_cert_parse_any((const uint8_t *)text, strlen(text), &l, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "BEGIN CERTIFICATE"));
	const char *bad64 = "-----BEGIN CERTIFICATE-----\nMII*not*base64!!\n-----END CERTIFICATE-----\n";
	assert_int_equal(sa_cert_parse_any((const uint8_t *)bad64, strlen(bad64), &l, &err), SA_ERR_FORMAT);
	const char *noend = "-----BEGIN CERTIFICATE-----\nMIIB\n";
	assert_int_equal(sa_cert_parse_any((const uint8_t *)noend, strlen(noend), &l, &err), SA_ERR_FORMAT);
	/* Valid base64 that is not a certificate. */
	const char *notcert = "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
	assert_int_equal(sa_cert_parse_any((const uint8_t *)notcert, strlen(notcert), &l, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "PEM block 1"));

	/* A private key block is refused, naming its type. */
	EVP_PKEY *k = NULL;
	assert_int_equal(sa_key_generate_p384(&k, &err), SA_OK);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	char *mem;
	long n = BIO_get_mem_data(bio, &mem);
	assert_int_equal(sa_cert_parse_any((const uint8_t *)mem, (size_t)n, &l, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "\"PRIVATE KEY\""));
	assert_int_equal(l.n, 0);
	BIO_free(bio);
	EVP_PKEY_free(k);
	assert_int_equal(ERR_peek_error(), 0);
	sa_cert_list_free(&l);
}

static void pem_bundle_is_all_or_nothing(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *chain;
	size_t clen;
	assert_int_equal(tu_read_vector(GSG_TRUST "ask_ark_milan.pem", &chain, &clen), 0);
	const char *tail = "-----BEGIN RSA PRIVATE KEY-----\nAAECAwQF\n-----END RSA PRIVATE KEY-----\n";
	size_t tlen = strlen(tail);
	uint8_t *both = malloc(clen + tlen);
	memcpy(both, chain, clen);
	memcpy(both + clen, tail, tlen);
	sa_cert_list l = {0};
	sa_error err;
	/* A list already holding one certificate keeps exactly that on failure. */
	load_list("google-go-sev-guest/verify/testdata/vcek.testcer", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(sa_cert_parse_any(both, clen + tlen, &l, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "PEM block 3"));
	assert_non_null(strstr(err.msg, "RSA PRIVATE KEY"));
	assert_int_equal(l.n, 1);
	/* And gains both on success, after what it had. */
	assert_int_equal(sa_cert_parse_any(chain, clen, &l, &err), SA_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0]->role, SA_ROLE_VCEK);
	assert_int_equal(l.v[2]->role, SA_ROLE_ARK);
	sa_cert *ask = sa_cert_list_take(&l, 1);
	assert_int_equal(ask->role, SA_ROLE_ASK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[1]->role, SA_ROLE_ARK);
	assert_null(sa_cert_list_take(&l, 2));
	sa_cert_free(ask);
	sa_cert_list_free(&l);
	assert_int_equal(l.n, 0);
	free(both);
	free(chain);
}

static void load_file(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	char path[4096];
	sa_cert_list l = {0};
	sa_error err;
	tu_vector_path(GSG_TRUST "ask_ark_turin_vlek.pem", path, sizeof(path));
	assert_int_equal(sa_cert_load_file(path, &l, &err), SA_OK);
	assert_int_equal(l.n, 2);
	tu_vector_path("virtee-sev/tests/certs_data/vcek_turin.der", path, sizeof(path));
	assert_int_equal(sa_cert_load_file(path, &l, &err), SA_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[2]->role, SA_ROLE_VCEK);
	tu_vector_path("no/such/file.pem", path, sizeof(path));
	assert_int_equal(sa_cert_load_file(path, &l, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "no/such/file.pem"));
	/* A non-certificate file names itself in the error. */
	tu_vector_path("google-go-sev-guest/testing/data/keys/ark_private_key.pem", path, sizeof(path));
	assert_int_equal(sa_cert_load_file(path, &l, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "ark_private_key.pem"));
	assert_non_null(strstr(err.msg, "PRIVATE KEY"));
	assert_int_equal(l.n, 3);
	sa_cert_list_free(&l);
}

static sa_status pv(const char *arc, const char *hex, sa_amd_ext *e, sa_error *err)
{
	uint8_t b[300];
	size_t n = strlen(hex) / 2;
	if (n)
		tu_hex(hex, b, n);
	return sa_amd_ext_parse_value(arc, b, n, e, err);
}

static void ext_value_errors(void **state)
{
	(void)state;
	sa_amd_ext e;
	sa_error err;
	memset(&e, 0, sizeof(e));
	assert_int_equal(pv("3.1", "0201ff", &e, &err), SA_ERR_RANGE); /* negative */
	assert_non_null(strstr(err.msg, "blSPL"));
	assert_non_null(strstr(err.msg, "1.3.6.1.4.1.3704.1.3.1"));
	assert_int_equal(pv("3.8", "02020100", &e, &err), SA_ERR_RANGE); /* 256 */
	assert_non_null(strstr(err.msg, "ucodeSPL"));
	assert_non_null(strstr(err.msg, "256"));
	assert_int_equal(pv("3.3", "040105", &e, &err), SA_ERR_FORMAT); /* wrong tag */
	assert_non_null(strstr(err.msg, "snpSPL"));
	assert_int_equal(pv("3.2", "02010500", &e, &err), SA_ERR_TRAILING);
	assert_non_null(strstr(err.msg, "teeSPL"));
	assert_int_equal(pv("3.9", "02020005", &e, &err), SA_ERR_FORMAT); /* non-minimal */
	assert_non_null(strstr(err.msg, "fmcSPL"));
	assert_int_equal(pv("3.4", "0201", &e, &err), SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "spl_4"));
	assert_int_equal(pv("3.5", "", &e, &err), SA_ERR_TRUNCATED);
	assert_int_equal(pv("4", "00010203040506", &e, &err), SA_ERR_FORMAT); /* 7 bytes */
	assert_non_null(strstr(err.msg, "hwID"));
	assert_int_equal(pv("4", "040700010203040506", &e, &err), SA_ERR_FORMAT);
	assert_int_equal(pv("1", "040100", &e, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "structVersion"));
	assert_int_equal(pv("2", "02014d", &e, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "productName"));
	assert_int_equal(pv("2", "16024d0a", &e, &err), SA_ERR_FORMAT); /* control character */
	assert_int_equal(pv("2", "0c054d696c616e", &e, &err), SA_ERR_FORMAT); /* UTF8String */
	assert_int_equal(pv("2", "16054d696c616e00", &e, &err), SA_ERR_TRAILING);
	assert_int_equal(pv("5", "0201", &e, &err), SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "csp_id"));
	/* Nothing was recorded by the failures. */
	sa_amd_ext zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&e, &zero, sizeof(e));

	/* Good values, and unknown arcs ignored. */
	assert_int_equal(pv("9", "ffff", &e, &err), SA_OK);
	assert_int_equal(pv("3.10", "0201ff", &e, &err), SA_OK);
	assert_memory_equal(&e, &zero, sizeof(e));
	assert_int_equal(pv("1", "020a01ffffffffffffffffff", &e, &err), SA_ERR_RANGE);
	assert_int_equal(pv("1", "0203007fff", &e, &err), SA_ERR_FORMAT); /* non-minimal */
	assert_int_equal(pv("1", "020900ffffffffffffffff", &e, &err), SA_OK);
	assert_true(e.has_struct_version && e.struct_version == UINT64_MAX);
	assert_int_equal(pv("3.8", "020200ff", &e, &err), SA_OK);
	assert_int_equal(e.ucode, 255);
	assert_int_equal(pv("3.8", "020101", &e, &err), SA_ERR_FORMAT); /* duplicate */
	assert_non_null(strstr(err.msg, "more than once"));
	assert_int_equal(pv("3.6", "020107", &e, &err), SA_OK);
	assert_int_equal(e.spl_present, 1u << 6);
	assert_int_equal(e.spl[6], 7);
	assert_int_equal(pv("5", "0c0341423d", &e, &err), SA_OK); /* UTF8String accepted */
	assert_string_equal(e.csp_id, "AB=");
	memset(&e, 0, sizeof(e));
	assert_int_equal(pv("5", "13024142", &e, &err), SA_OK); /* PrintableString */
	memset(&e, 0, sizeof(e));
	assert_int_equal(pv("5", "04024142", &e, &err), SA_ERR_FORMAT);
	/* csp_id longer than 255 characters. */
	uint8_t big[2 + 2 + 256];
	big[0] = 0x16;
	big[1] = 0x82;
	big[2] = 0x01;
	big[3] = 0x00;
	memset(big + 4, 'a', 256);
	assert_int_equal(sa_amd_ext_parse_value("5", big, sizeof(big), &e, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "csp_id"));
	/* 255 characters fit (long-form length 81 ff); one more byte is trailing. */
	big[0] = 0x16;
	big[1] = 0x81;
	big[2] = 0xFF;
	memset(big + 3, 'a', 256);
	assert_int_equal(sa_amd_ext_parse_value("5", big, 3 + 255 + 1, &e, &err), SA_ERR_TRAILING);
	memset(&e, 0, sizeof(e));
	assert_int_equal(sa_amd_ext_parse_value("5", big, 3 + 255, &e, &err), SA_OK);
	assert_int_equal(strlen(e.csp_id), 255);

	/* hwID: both encodings, both lengths. */
	uint8_t raw[66];
	for (int i = 0; i < 64; i++)
		raw[i] = (uint8_t)i;
	memset(&e, 0, sizeof(e));
	assert_int_equal(sa_amd_ext_parse_value("4", raw, 8, &e, &err), SA_OK);
	assert_int_equal(e.hwid_len, 8);
	assert_int_equal(e.hwid_encoding, SA_HWID_RAW);
	uint8_t wrapped[66] = {0x04, 0x40};
	memcpy(wrapped + 2, raw, 64);
	memset(&e, 0, sizeof(e));
	assert_int_equal(sa_amd_ext_parse_value("4", wrapped, 66, &e, &err), SA_OK);
	assert_int_equal(e.hwid_len, 64);
	assert_int_equal(e.hwid_encoding, SA_HWID_OCTET_STRING);
	assert_memory_equal(e.hwid, raw, 64);
	wrapped[1] = 0x08;
	memset(&e, 0, sizeof(e));
	assert_int_equal(sa_amd_ext_parse_value("4", wrapped, 10, &e, &err), SA_OK);
	assert_int_equal(e.hwid_len, 8);
	assert_int_equal(e.hwid_encoding, SA_HWID_OCTET_STRING);
	memset(&e, 0, sizeof(e));
	assert_int_equal(sa_amd_ext_parse_value("4", wrapped, 66, &e, &err), SA_ERR_FORMAT); /* 04 08 + 64 */
	assert_int_equal(sa_amd_ext_parse_value(NULL, raw, 8, &e, &err), SA_ERR_ARG);
}

/* ------------------------------------------------------------------------- */
/* 6. Issuing                                                                 */
/* ------------------------------------------------------------------------- */

static EVP_PKEY *rsa_a, *rsa_b, *rsa_c, *ec_a;

static int keys_setup(void **state)
{
	(void)state;
	sa_error err;
	if (sa_key_generate_rsa(2048, &rsa_a, &err) != SA_OK || sa_key_generate_rsa(2048, &rsa_b, &err) != SA_OK ||
	    sa_key_generate_rsa(2048, &rsa_c, &err) != SA_OK || sa_key_generate_p384(&ec_a, &err) != SA_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int keys_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(rsa_c);
	EVP_PKEY_free(ec_a);
	return 0;
}

static sa_cert *issue(sa_cert_role role, sa_product p, const sa_cert *issuer, EVP_PKEY *subject_key,
		      EVP_PKEY *issuer_key, const sa_amd_ext *ext, uint64_t serial)
{
	sa_cert_template t;
	memset(&t, 0, sizeof(t));
	t.role = role;
	t.product = p;
	t.serial = serial;
	t.not_before = utc(2024, 1, 1, 0, 0, 0);
	t.not_after = utc(2049, 1, 1, 0, 0, 0);
	t.subject_key = subject_key;
	t.issuer = issuer;
	t.issuer_key = issuer_key;
	t.ext = ext;
	sa_cert *c = NULL;
	sa_error err;
	sa_status st = sa_cert_issue(&t, &c, &err);
	if (st != SA_OK)
		fail_msg("issue %s: %s", sa_cert_role_name(role), err.msg);
	return c;
}

/* DER and PEM round trips keep every parsed field. */
static void round_trip(const sa_cert *c)
{
	sa_error err;
	uint8_t *der = NULL;
	size_t dlen = 0;
	assert_int_equal(sa_cert_to_der(c, &der, &dlen, &err), SA_OK);
	uint8_t fp[32];
	assert_int_equal(sa_sha256(der, dlen, fp, &err), SA_OK);
	assert_memory_equal(fp, c->fingerprint, 32);
	sa_cert *d = NULL;
	assert_int_equal(sa_cert_from_der(der, dlen, &d, &err), SA_OK);
	assert_memory_equal(&d->ext, &c->ext, sizeof(c->ext));
	assert_int_equal(d->role, c->role);
	assert_int_equal(d->product, c->product);
	assert_int_equal(d->stepping, c->stepping);
	assert_string_equal(d->subject_cn, c->subject_cn);
	assert_true(d->not_before == c->not_before && d->not_after == c->not_after);
	sa_cert_free(d);
	free(der);

	char *pem = NULL;
	assert_int_equal(sa_cert_to_pem(c, &pem, &err), SA_OK);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	sa_cert_list l = {0};
	assert_int_equal(sa_cert_parse_any((const uint8_t *)pem, strlen(pem), &l, &err), SA_OK);
	assert_int_equal(l.n, 1);
	assert_memory_equal(l.v[0]->fingerprint, c->fingerprint, 32);
	assert_memory_equal(&l.v[0]->ext, &c->ext, sizeof(c->ext));
	sa_cert_list_free(&l);
	free(pem);
}

static void issue_milan_chain(void **state)
{
	(void)state;
	sa_error err;
	sa_cert *ark = issue(SA_ROLE_ARK, SA_PRODUCT_MILAN, NULL, rsa_a, NULL, NULL, 0x10000);
	sa_cert *ask = issue(SA_ROLE_ASK, SA_PRODUCT_MILAN, ark, rsa_b, rsa_a, NULL, 0x10001);
	assert_string_equal(ark->subject_cn, "ARK-Milan");
	assert_string_equal(ark->issuer_cn, "ARK-Milan");
	assert_string_equal(ask->subject_cn, "SEV-Milan");
	assert_string_equal(ask->issuer_cn, "ARK-Milan");
	assert_int_equal(ark->role, SA_ROLE_ARK);
	assert_int_equal(ask->role, SA_ROLE_ASK);
	assert_int_equal(ask->product, SA_PRODUCT_MILAN);
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(ask->x509)), 0x10001);
	assert_int_equal(X509_get_version(ask->x509), X509_VERSION_3);
	assert_true(X509_check_ca(ark->x509) >= 1);
	assert_true(X509_check_ca(ask->x509) >= 1);
	assert_true(ark->not_before == utc(2024, 1, 1, 0, 0, 0));
	assert_true(ark->not_after == utc(2049, 1, 1, 0, 0, 0));

	sa_amd_ext ext;
	memset(&ext, 0, sizeof(ext));
	ext.has_struct_version = true;
	ext.has_product_name = true;
	strcpy(ext.product_name, "Milan-B0");
	ext.has_bl = ext.has_tee = ext.has_snp = ext.has_ucode = true;
	ext.bl = 3;
	ext.snp = 8;
	ext.ucode = 115;
	ext.spl_present = 0xF0;
	ext.has_hwid = true;
	ext.hwid_len = 64;
	ext.hwid_encoding = SA_HWID_OCTET_STRING;
	for (int i = 0; i < 64; i++)
		ext.hwid[i] = (uint8_t)(0xA0 ^ i);
	sa_cert *vcek = issue(SA_ROLE_VCEK, SA_PRODUCT_MILAN, ask, ec_a, rsa_b, &ext, 0);
	assert_int_equal(vcek->role, SA_ROLE_VCEK);
	assert_string_equal(vcek->issuer_cn, "SEV-Milan");
	assert_int_equal(vcek->product, SA_PRODUCT_MILAN);
	assert_int_equal(vcek->stepping, 0);
	assert_memory_equal(&vcek->ext, &ext, sizeof(ext));
	assert_int_equal(X509_check_ca(vcek->x509), 0);
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(vcek->x509)), 0);
	/* The AMD extensions are not critical. */
	assert_int_equal(X509_get_ext_count(vcek->x509), 11);
	for (int i = 0; i < X509_get_ext_count(vcek->x509); i++)
		assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(vcek->x509, i)), 0);

	assert_int_equal(sa_cert_verify_signed_by(ark, ark, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(ask, ark, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(vcek, ask, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(vcek, ark, &err), SA_ERR_VERIFY);
	assert_int_equal(sa_cert_verify_signed_by(ark, ask, &err), SA_ERR_VERIFY);
	assert_int_equal(sa_cert_check_validity(vcek, utc(2030, 1, 1, 0, 0, 0), &err), SA_OK);
	round_trip(ark);
	round_trip(ask);
	round_trip(vcek);

	/* Same names, another key: the signature check itself must fail. */
	sa_cert *ark2 = issue(SA_ROLE_ARK, SA_PRODUCT_MILAN, NULL, rsa_c, NULL, NULL, 0x10000);
	assert_int_equal(sa_cert_verify_signed_by(ask, ark2, &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg, "signature of SEV-Milan by ARK-Milan does not verify");
	assert_int_equal(sa_cert_verify_signed_by(ark2, ark, &err), SA_ERR_VERIFY);

	/* Signed by the ARK's key but naming the ASK as issuer: the names must match too. */
	sa_cert *misnamed = issue(SA_ROLE_VCEK, SA_PRODUCT_MILAN, ask, ec_a, rsa_a, &ext, 0);
	assert_int_equal(X509_verify(misnamed->x509, ark->pubkey), 1);
	assert_int_equal(sa_cert_verify_signed_by(misnamed, ark, &err), SA_ERR_VERIFY);
	assert_string_equal(err.msg,
			    "SEV-VCEK: issuer name (CN=SEV-Milan) does not equal the subject name of ARK-Milan");
	sa_cert_free(misnamed);

	/* An issuer whose key is not RSA. */
	sa_cert *odd = issue(SA_ROLE_ASK, SA_PRODUCT_MILAN, vcek, rsa_b, rsa_a, NULL, 7);
	assert_int_equal(sa_cert_verify_signed_by(odd, vcek, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "expected RSA"));
	assert_int_equal(ERR_peek_error(), 0);

	/* Milan/Genoa VEKs always carry spl_4..7, as KDS issues them. */
	ext.spl_present = 0;
	sa_cert *vcek2 = issue(SA_ROLE_VCEK, SA_PRODUCT_MILAN, ask, ec_a, rsa_b, &ext, 0);
	assert_int_equal(vcek2->ext.spl_present, 0xF0);
	ext.spl_present = 0xF0;
	assert_memory_equal(&vcek2->ext, &ext, sizeof(ext));

	sa_cert_free(odd);
	sa_cert_free(vcek2);
	sa_cert_free(ark2);
	sa_cert_free(vcek);
	sa_cert_free(ask);
	sa_cert_free(ark);
}

static void issue_turin_and_vlek(void **state)
{
	(void)state;
	sa_error err;
	sa_cert *ark = issue(SA_ROLE_ARK, SA_PRODUCT_TURIN, NULL, rsa_a, rsa_a, NULL, 0x30000);
	sa_cert *ask = issue(SA_ROLE_ASK, SA_PRODUCT_TURIN, ark, rsa_b, rsa_a, NULL, 0x30001);
	sa_cert *asvk = issue(SA_ROLE_ASVK, SA_PRODUCT_TURIN, ark, rsa_c, rsa_a, NULL, 0x30101);
	assert_string_equal(ark->subject_cn, "ARK-Turin");
	assert_string_equal(asvk->subject_cn, "SEV-VLEK-Turin");
	assert_int_equal(asvk->role, SA_ROLE_ASVK);
	assert_int_equal(asvk->product, SA_PRODUCT_TURIN);

	sa_amd_ext ext;
	memset(&ext, 0, sizeof(ext));
	ext.has_struct_version = true;
	ext.struct_version = 1;
	ext.has_product_name = true;
	strcpy(ext.product_name, "Turin");
	ext.has_bl = ext.has_tee = ext.has_snp = ext.has_ucode = ext.has_fmc = true;
	ext.fmc = 1;
	ext.bl = 1;
	ext.tee = 1;
	ext.snp = 4;
	ext.ucode = 81;
	ext.spl_present = 0xE0;
	ext.has_hwid = true;
	ext.hwid_len = 8;
	ext.hwid_encoding = SA_HWID_RAW;
	tu_hex("59790fb1c39f35c1", ext.hwid, 8);
	sa_cert *vcek = issue(SA_ROLE_VCEK, SA_PRODUCT_TURIN, ask, ec_a, rsa_b, &ext, 0);
	assert_memory_equal(&vcek->ext, &ext, sizeof(ext));
	assert_int_equal(vcek->product, SA_PRODUCT_TURIN);
	assert_int_equal(vcek->stepping, SA_STEPPING_UNKNOWN);
	assert_int_equal(sa_cert_verify_signed_by(vcek, ask, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(ask, ark, &err), SA_OK);
	round_trip(vcek);

	/* The same with the wrapped hwID encoding. */
	ext.hwid_encoding = SA_HWID_OCTET_STRING;
	sa_cert *vcek_w = issue(SA_ROLE_VCEK, SA_PRODUCT_TURIN, ask, ec_a, rsa_b, &ext, 0);
	assert_memory_equal(&vcek_w->ext, &ext, sizeof(ext));

	sa_amd_ext vx;
	memset(&vx, 0, sizeof(vx));
	vx.has_struct_version = true;
	vx.struct_version = 1;
	vx.has_product_name = true;
	strcpy(vx.product_name, "Turin");
	vx.has_bl = vx.has_tee = vx.has_snp = vx.has_ucode = vx.has_fmc = true;
	vx.snp = 3;
	vx.has_csp_id = true;
	strcpy(vx.csp_id, "CN=cc-us-east-2.amazonaws.com");
	sa_cert *vlek = issue(SA_ROLE_VLEK, SA_PRODUCT_TURIN, asvk, ec_a, rsa_c, &vx, 0);
	assert_int_equal(vlek->role, SA_ROLE_VLEK);
	assert_memory_equal(&vlek->ext, &vx, sizeof(vx));
	assert_int_equal(sa_cert_verify_signed_by(vlek, asvk, &err), SA_OK);
	assert_int_equal(sa_cert_verify_signed_by(vlek, ask, &err), SA_ERR_VERIFY);
	round_trip(vlek);

	sa_cert_free(vlek);
	sa_cert_free(vcek_w);
	sa_cert_free(vcek);
	sa_cert_free(asvk);
	sa_cert_free(ask);
	sa_cert_free(ark);
}

static void issue_rejects_bad_templates(void **state)
{
	(void)state;
	sa_error err;
	sa_cert *c = NULL;
	sa_cert_template t;
	memset(&t, 0, sizeof(t));
	t.role = SA_ROLE_ARK;
	t.product = SA_PRODUCT_GENOA;
	t.subject_key = ec_a;
	t.not_before = 0;
	t.not_after = 1000;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG); /* EC issuer key */
	assert_non_null(strstr(err.msg, "RSA"));
	t.subject_key = rsa_a;
	t.not_before = 2000;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG);
	t.not_before = 0;
	t.role = SA_ROLE_VCEK;
	t.issuer_key = rsa_a;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG); /* VCEK without extensions */
	sa_amd_ext ext;
	memset(&ext, 0, sizeof(ext));
	ext.has_product_name = true;
	strcpy(ext.product_name, "Genoa");
	ext.has_hwid = true;
	ext.hwid_len = 8; /* Genoa ids are 64 bytes */
	t.ext = &ext;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "hwID"));
	ext.hwid_len = 64;
	strcpy(ext.product_name, "Milan");
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "productName"));
	strcpy(ext.product_name, "Genoa");
	ext.has_csp_id = true;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG);
	ext.has_csp_id = false;
	t.role = SA_ROLE_ASK;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG); /* extensions on an ASK */
	t.role = SA_ROLE_UNKNOWN;
	t.ext = NULL;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_ERR_ARG);
	t.role = SA_ROLE_VCEK;
	t.ext = &ext;
	t.subject_cn = "My Test VCEK";
	t.subject_key = ec_a;
	assert_int_equal(sa_cert_issue(&t, &c, &err), SA_OK);
	assert_string_equal(c->subject_cn, "My Test VCEK");
	assert_int_equal(c->role, SA_ROLE_UNKNOWN); /* not a KDS name, still parses */
	assert_int_equal(c->product, SA_PRODUCT_GENOA);
	sa_cert_free(c);
	assert_int_equal(sa_key_generate_rsa(512, &t.subject_key, &err), SA_ERR_ARG);
}

/* Build a certificate directly with OpenSSL, signed by key with the given digest and padding. */
static sa_cert *openssl_signed(const sa_cert *issuer, EVP_PKEY *key, const EVP_MD *md, int pss_salt)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 5), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	X509_NAME *n = X509_get_subject_name(x);
	const unsigned char *cn = (const unsigned char *)"SEV-Milan";
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer->x509)), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	assert_int_equal(EVP_DigestSignInit(m, &pctx, md, NULL, key), 1);
	if (pss_salt >= 0) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0);
	}
	assert_true(X509_sign_ctx(x, m) > 0);
	EVP_MD_CTX_free(m);
	sa_cert *c = NULL;
	sa_error err;
	assert_int_equal(sa_cert_from_x509(x, &c, &err), SA_OK);
	return c;
}

static void only_amd_pss_profile_verifies(void **state)
{
	(void)state;
	sa_error err;
	sa_cert *ark = issue(SA_ROLE_ARK, SA_PRODUCT_MILAN, NULL, rsa_a, NULL, NULL, 1);

	/* The signatures are genuine, by the right key: only the algorithm is wrong. */
	sa_cert *v15 = openssl_signed(ark, rsa_a, EVP_sha256(), -1);
	assert_int_equal(X509_verify(v15->x509, ark->pubkey), 1);
	assert_int_equal(sa_cert_verify_signed_by(v15, ark, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "sha256WithRSAEncryption"));
	assert_non_null(strstr(err.msg, "expected RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48"));
	sa_cert_free(v15);

	sa_cert *v15_384 = openssl_signed(ark, rsa_a, EVP_sha384(), -1);
	assert_int_equal(sa_cert_verify_signed_by(v15_384, ark, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "sha384WithRSAEncryption"));
	sa_cert_free(v15_384);

	sa_cert *salt32 = openssl_signed(ark, rsa_a, EVP_sha384(), 32);
	assert_int_equal(X509_verify(salt32->x509, ark->pubkey), 1);
	assert_int_equal(sa_cert_verify_signed_by(salt32, ark, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 32"));
	sa_cert_free(salt32);

	sa_cert *sha256 = openssl_signed(ark, rsa_a, EVP_sha256(), 48);
	assert_int_equal(sa_cert_verify_signed_by(sha256, ark, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 48"));
	sa_cert_free(sha256);

	/* The exact profile, built the same way, verifies. */
	sa_cert *good = openssl_signed(ark, rsa_a, EVP_sha384(), 48);
	assert_int_equal(sa_cert_verify_signed_by(good, ark, &err), SA_OK);
	sa_cert_free(good);
	assert_int_equal(ERR_peek_error(), 0);
	sa_cert_free(ark);
}

static void list_push_take(void **state)
{
	(void)state;
	sa_error err;
	sa_cert_list l = {0};
	sa_cert *ark = issue(SA_ROLE_ARK, SA_PRODUCT_GENOA, NULL, rsa_a, NULL, NULL, 0x20000);
	for (int i = 0; i < 9; i++) {
		uint8_t *der;
		size_t n;
		assert_int_equal(sa_cert_to_der(ark, &der, &n, &err), SA_OK);
		sa_cert *c = NULL;
		assert_int_equal(sa_cert_from_der(der, n, &c, &err), SA_OK);
		free(der);
		assert_int_equal(sa_cert_list_push(&l, c, &err), SA_OK);
	}
	assert_int_equal(l.n, 9);
	assert_true(l.cap >= 9);
	sa_cert *last = sa_cert_list_take(&l, 8);
	assert_non_null(last);
	assert_int_equal(last->role, SA_ROLE_ARK);
	assert_int_equal(last->product, SA_PRODUCT_GENOA);
	sa_cert_free(last);
	assert_int_equal(sa_cert_list_push(&l, NULL, &err), SA_ERR_ARG);
	assert_int_equal(l.n, 8);
	sa_cert_list_free(&l);
	sa_cert_list_free(&l);
	sa_cert_free(NULL);
	sa_cert_free(ark);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vek_vectors_exact_values),
		cmocka_unit_test(vek_issuer_names_and_times),
		cmocka_unit_test(chains_verify),
		cmocka_unit_test(trustee_three_cert_chains),
		cmocka_unit_test(veks_under_their_chains),
		cmocka_unit_test(tampered_vek_is_refused),
		cmocka_unit_test(validity_window),
		cmocka_unit_test(time_format),
		cmocka_unit_test(truncated_and_garbage_der),
		cmocka_unit_test(pem_errors),
		cmocka_unit_test(pem_bundle_is_all_or_nothing),
		cmocka_unit_test(load_file),
		cmocka_unit_test(ext_value_errors),
		cmocka_unit_test(issue_milan_chain),
		cmocka_unit_test(issue_turin_and_vlek),
		cmocka_unit_test(issue_rejects_bad_templates),
		cmocka_unit_test(only_amd_pss_profile_verifies),
		cmocka_unit_test(list_push_take),
	};
	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
