/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier against real AMD evidence (../shared/vectors, README §1, §6):
 * every real report verifies under AMD's pinned roots, and every documented
 * negative fails at the documented check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/sevattest.h"
#include "testutil.h"

#define GSG "google-go-sev-guest/"
#define TRUSTEE "confidential-containers-trustee/deps/verifier/"
#define TAV "microsoft-TEE-Attestation-Verification/"
#define VSEV "virtee-sev/"

struct vcase {
	const char *id;
	const char *report;
	const char *vek;
	const char *chain[2];
	sa_product product;
};

static const struct vcase valid[] = {
	{"R1", GSG "verify/testdata/attestation.bin", GSG "verify/testdata/vcek.testcer",
	 {GSG "verify/trust/ask_ark_milan.pem"}, SA_PRODUCT_MILAN},
	{"R2", "derived/virtee_sev_report_milan.bin", VSEV "tests/certs_data/vcek_milan.der",
	 {GSG "verify/trust/ask_ark_milan.pem"}, SA_PRODUCT_MILAN},
	{"R3", TRUSTEE "test_data/snp/test-report.bin", TRUSTEE "test_data/snp/test-vcek.der",
	 {TRUSTEE "src/snp/milan_ask_ark_asvk.pem"}, SA_PRODUCT_MILAN},
	{"R4", TRUSTEE "test_data/snp/test-vlek-report.bin", TRUSTEE "test_data/snp/test-vlek.der",
	 {GSG "verify/trust/ask_ark_milan_vlek.pem"}, SA_PRODUCT_MILAN},
	{"R4 (trustee bundle)", TRUSTEE "test_data/snp/test-vlek-report.bin", TRUSTEE "test_data/snp/test-vlek.der",
	 {TRUSTEE "src/snp/milan_ask_ark_asvk.pem"}, SA_PRODUCT_MILAN},
	{"R5", "derived/trustee_az_milan_hcl_report_snp.bin", TRUSTEE "test_data/az-snp-vtpm/vcek.pem", {NULL},
	 SA_PRODUCT_MILAN},
	{"R6", "derived/trustee_az_genoa_hcl_report_snp.bin", TRUSTEE "test_data/az-snp-vtpm/vcek-genoa.pem",
	 {GSG "verify/trust/ask_ark_genoa.pem"}, SA_PRODUCT_GENOA},
	{"R7", "derived/trustee_e2e_evidence_report.bin", "derived/trustee_e2e_evidence_vcek.der",
	 {VSEV "src/certs/snp/builtin/genoa/ask.pem", VSEV "src/certs/snp/builtin/genoa/ark.pem"}, SA_PRODUCT_GENOA},
	{"R8", TAV "tests/test_data/milan_attestation_report.bin", TAV "tests/test_data/milan_vcek.pem",
	 {VSEV "src/certs/snp/builtin/milan/ask.pem", VSEV "src/certs/snp/builtin/milan/ark.pem"}, SA_PRODUCT_MILAN},
	{"R8 (second VCEK)", TAV "tests/test_data/milan_attestation_report.bin", TAV "src/crypto/test_data/milan_vcek.pem",
	 {VSEV "src/certs/snp/builtin/milan/ask.pem", VSEV "src/certs/snp/builtin/milan/ark.pem"}, SA_PRODUCT_MILAN},
	{"R9", TAV "tests/test_data/genoa_attestation_report.bin", TAV "tests/test_data/genoa_vcek.pem",
	 {VSEV "src/certs/snp/builtin/genoa/ask.pem", VSEV "src/certs/snp/builtin/genoa/ark.pem"}, SA_PRODUCT_GENOA},
	{"R10", TAV "tests/test_data/turin_attestation_report.bin", TAV "tests/test_data/turin_vcek.pem",
	 {VSEV "src/certs/snp/builtin/turin/ask.pem", VSEV "src/certs/snp/builtin/turin/ark.pem"}, SA_PRODUCT_TURIN},
	{"R10 (go-sev-guest chain)", TAV "tests/test_data/turin_attestation_report.bin", TAV "tests/test_data/turin_vcek.pem",
	 {GSG "verify/trust/ask_ark_turin_vcek.pem"}, SA_PRODUCT_TURIN},
};

struct loaded {
	uint8_t *report;
	size_t len;
	sa_trust *trust;
};

/* Build a trust store from a case; the clock is one day after the VEK was issued. */
static void load(const struct vcase *c, struct loaded *l)
{
	char path[4096];
	sa_error err;
	assert_int_equal(tu_read_vector(c->report, &l->report, &l->len), 0);
	assert_int_equal(sa_trust_new(&l->trust, &err), SA_OK);
	for (size_t i = 0; i < 2 && c->chain[i]; i++) {
		sa_status st = sa_trust_add_file(l->trust, tu_vector_path(c->chain[i], path, sizeof(path)), &err);
		if (st != SA_OK)
			fail_msg("%s: chain %s: %s", c->id, c->chain[i], err.msg);
	}
	if (c->vek) {
		sa_status st = sa_trust_add_vek_file(l->trust, tu_vector_path(c->vek, path, sizeof(path)), &err);
		if (st != SA_OK)
			fail_msg("%s: VEK %s: %s", c->id, c->vek, err.msg);
		sa_trust_set_time(l->trust, sa_trust_vek(l->trust)->not_before + 86400);
	}
}

static void unload(struct loaded *l)
{
	free(l->report);
	sa_trust_free(l->trust);
}

static void dump(const char *id, const sa_verdict *v)
{
	for (size_t i = 0; i < v->n; i++)
		fprintf(stderr, "  %s %s %s: %s (expected %s, actual %s)\n", id, sa_check_status_name(v->checks[i].status),
			v->checks[i].id, v->checks[i].summary, v->checks[i].expected, v->checks[i].actual);
}

static void run(const struct vcase *c, const sa_snp_appraisal *a, const uint8_t *report, size_t len,
		struct loaded *l, sa_verdict *v)
{
	sa_error err;
	sa_verdict_init(v);
	sa_status st = sa_verify_snp_report(report ? report : l->report, report ? len : l->len, l->trust, a, v, &err);
	if (st != SA_OK)
		fail_msg("%s: %s", c->id, err.msg);
}

static void expect_status(const char *id, const sa_verdict *v, const char *check, sa_check_status want)
{
	const sa_check *k = sa_verdict_find(v, check);
	if (!k || k->status != want) {
		dump(id, v);
		fail_msg("%s: check %s is %s, expected %s", id, check, k ? sa_check_status_name(k->status) : "absent",
			 sa_check_status_name(want));
	}
}

static void every_real_report_verifies(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct vcase *c = &valid[i];
		struct loaded l;
		load(c, &l);
		sa_verdict v;
		run(c, NULL, NULL, 0, &l, &v);
		if (!v.verified) {
			dump(c->id, &v);
			fail_msg("%s did not verify", c->id);
		}
		assert_int_equal(v.product, c->product);
		expect_status(c->id, &v, "chain.root", SA_CHECK_PASS);
		expect_status(c->id, &v, "chain.intermediate", SA_CHECK_PASS);
		expect_status(c->id, &v, "chain.vek", SA_CHECK_PASS);
		expect_status(c->id, &v, "report.signature", SA_CHECK_PASS);
		expect_status(c->id, &v, "tcb.reported_matches_vek", SA_CHECK_PASS);
		sa_verdict_free(&v);
		unload(&l);
	}
}

/* R4 is a VLEK report: CHIP_ID is masked and the VLEK is bound to no chip. */
static void vlek_report_binding(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct loaded l;
	load(&valid[3], &l);
	sa_verdict v;
	run(&valid[3], NULL, NULL, 0, &l, &v);
	assert_true(v.verified);
	assert_int_equal(v.signer_role, SA_ROLE_VLEK);
	expect_status("R4", &v, "chip_id.matches_vek", SA_CHECK_SKIP);
	sa_verdict_free(&v);
	/* The VLEK expired on 2025-12-10. */
	sa_trust_set_time(l.trust, 1767225600); /* 2026-01-01 */
	run(&valid[3], NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status("R4", &v, "chain.vek_validity", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	unload(&l);
}

static void turin_compares_first_eight_chip_bytes(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct loaded l;
	load(&valid[11], &l);
	sa_verdict v;
	run(&valid[11], NULL, NULL, 0, &l, &v);
	assert_true(v.verified);
	const sa_check *k = sa_verdict_find(&v, "chip_id.matches_vek");
	assert_non_null(k);
	assert_int_equal(k->status, SA_CHECK_PASS);
	assert_string_equal(k->actual, "59790fb1c39f35c1");
	sa_verdict_free(&v);
	unload(&l);
}

/* N1: Milan report with the Genoa VCEK and chain. */
static void n1_cross_product(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const struct vcase c = {"N1", TAV "tests/test_data/milan_attestation_report.bin", TAV "tests/test_data/genoa_vcek.pem",
				{VSEV "src/certs/snp/builtin/genoa/ask.pem", VSEV "src/certs/snp/builtin/genoa/ark.pem"},
				SA_PRODUCT_MILAN};
	struct loaded l;
	load(&c, &l);
	sa_verdict v;
	run(&c, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status(c.id, &v, "report.signature", SA_CHECK_FAIL);
	expect_status(c.id, &v, "vek.product", SA_CHECK_FAIL);
	expect_status(c.id, &v, "chain.root", SA_CHECK_FAIL); /* no Milan ARK supplied */
	sa_verdict_free(&v);
	unload(&l);
}

/* N2a/N2b: tampered VCEKs (both hwID encodings) parse, then fail. */
static void n2_tampered_vceks(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const char *veks[] = {TRUSTEE "test_data/snp/test-vcek-invalid-legacy.der",
			      TRUSTEE "test_data/snp/test-vcek-invalid-new.der"};
	for (size_t i = 0; i < 2; i++) {
		const struct vcase c = {i ? "N2b" : "N2a", TRUSTEE "test_data/snp/test-report.bin", veks[i],
					{GSG "verify/trust/ask_ark_milan.pem"}, SA_PRODUCT_MILAN};
		struct loaded l;
		load(&c, &l);
		sa_verdict v;
		run(&c, NULL, NULL, 0, &l, &v);
		assert_false(v.verified);
		expect_status(c.id, &v, "chain.root", SA_CHECK_PASS);
		expect_status(c.id, &v, "chain.intermediate", SA_CHECK_PASS);
		expect_status(c.id, &v, "chain.vek", SA_CHECK_FAIL);
		expect_status(c.id, &v, "report.signature", SA_CHECK_FAIL);
		expect_status(c.id, &v, "chip_id.matches_vek", SA_CHECK_FAIL);
		sa_verdict_free(&v);
		unload(&l);
	}
}

/* N3: malformed files are input errors, not verdicts. */
static void n3_malformed(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const char *files[] = {"LIT-Protocol-sev-snp-utils/resources/test/guest_report_bad_sig.bin",
			       "LIT-Protocol-sev-snp-utils/resources/test/guest_report_corrupt.bin"};
	const sa_status want[] = {SA_ERR_TRAILING, SA_ERR_TRUNCATED};
	for (size_t i = 0; i < 2; i++) {
		uint8_t *buf;
		size_t len;
		assert_int_equal(tu_read_vector(files[i], &buf, &len), 0);
		sa_trust *t;
		assert_int_equal(sa_trust_new(&t, NULL), SA_OK);
		sa_verdict v;
		sa_verdict_init(&v);
		sa_error err;
		assert_int_equal(sa_verify_snp_report(buf, len, t, NULL, &v, &err), want[i]);
		assert_false(v.verified);
		sa_verdict_free(&v);
		sa_trust_free(t);
		free(buf);
	}
}

/* N4: the VLEK report against the VCEK chain (ASK instead of ASVK). */
static void n4_vlek_under_ask(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const struct vcase c = {"N4", TRUSTEE "test_data/snp/test-vlek-report.bin", TRUSTEE "test_data/snp/test-vlek.der",
				{GSG "verify/trust/ask_ark_milan.pem"}, SA_PRODUCT_MILAN};
	struct loaded l;
	load(&c, &l);
	sa_verdict v;
	run(&c, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status(c.id, &v, "chain.intermediate", SA_CHECK_FAIL);
	assert_non_null(strstr(sa_verdict_find(&v, "chain.intermediate")->summary, "ASVK"));
	sa_verdict_free(&v);
	unload(&l);
}

/* N5: R1 allows debugging; and its VCEK names stepping B0. */
static void n5_policy_and_stepping(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct loaded l;
	load(&valid[0], &l);
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.policy_deny = SA_POLICY_DEBUG;
	sa_verdict v;
	run(&valid[0], &a, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status("N5", &v, "policy.deny", SA_CHECK_FAIL);
	expect_status("N5", &v, "report.signature", SA_CHECK_PASS);
	sa_verdict_free(&v);

	sa_snp_appraisal_init(&a);
	a.stepping = 12;
	run(&valid[0], &a, NULL, 0, &l, &v);
	assert_false(v.verified);
	const sa_check *k = sa_verdict_find(&v, "product.stepping");
	assert_non_null(k);
	assert_string_equal(k->summary, "expected product stepping 12, got 0");
	sa_verdict_free(&v);
	a.stepping = 0;
	run(&valid[0], &a, NULL, 0, &l, &v);
	assert_true(v.verified);
	sa_verdict_free(&v);
	unload(&l);
}

static sa_verdict mutate_and_verify(const struct vcase *c, size_t off, uint8_t x)
{
	struct loaded l;
	load(c, &l);
	l.report[off] ^= x;
	sa_verdict v;
	run(c, NULL, NULL, 0, &l, &v);
	unload(&l);
	return v;
}

/* N6: tampering with report bytes and certificates. */
static void n6_tampering(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_verdict v = mutate_and_verify(&valid[1], 21, 0x80); /* R2 POLICY */
	assert_false(v.verified);
	expect_status("N6 R2[21]", &v, "report.signature", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	for (size_t i = 2; i <= 3; i++) { /* R3 and R4 */
		v = mutate_and_verify(&valid[i], 42, 0x01);
		assert_false(v.verified);
		expect_status(valid[i].id, &v, "report.signature", SA_CHECK_FAIL);
		sa_verdict_free(&v);
		v = mutate_and_verify(&valid[i], 0x180, 0x01); /* REPORTED_TCB */
		assert_false(v.verified);
		expect_status(valid[i].id, &v, "tcb.reported_matches_vek", SA_CHECK_FAIL);
		expect_status(valid[i].id, &v, "report.signature", SA_CHECK_FAIL);
		sa_verdict_free(&v);
	}
	v = mutate_and_verify(&valid[8], 100, 0xFF); /* R8 */
	assert_false(v.verified);
	expect_status("N6 R8[100]", &v, "report.signature", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* R2's VCEK with DER byte 40 flipped: unparseable or failing the chain. */
	uint8_t *der;
	size_t len;
	assert_int_equal(tu_read_vector(VSEV "tests/certs_data/vcek_milan.der", &der, &len), 0);
	der[40] ^= 0xFF;
	sa_cert *c = NULL;
	sa_error err;
	if (sa_cert_from_der(der, len, &c, &err) == SA_OK) {
		struct loaded l;
		const struct vcase nochain = {"N6 vcek[40]", valid[1].report, NULL, {GSG "verify/trust/ask_ark_milan.pem"},
					      SA_PRODUCT_MILAN};
		load(&nochain, &l);
		assert_int_equal(sa_trust_set_vek(l.trust, c, &err), SA_OK);
		sa_trust_set_time(l.trust, 1700000000);
		run(&nochain, NULL, NULL, 0, &l, &v);
		assert_false(v.verified);
		expect_status("N6 vcek[40]", &v, "chain.vek", SA_CHECK_FAIL);
		sa_verdict_free(&v);
		unload(&l);
	}
	free(der);
}

/* TAV's negatives: an ASK offered as the ARK, and a Genoa ASK under the Milan ARK. */
static void n6_wrong_chain_members(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const struct vcase ask_as_ark = {"ASK as ARK", valid[8].report, valid[8].vek,
					 {VSEV "src/certs/snp/builtin/milan/ask.pem"}, SA_PRODUCT_MILAN};
	struct loaded l;
	load(&ask_as_ark, &l);
	sa_verdict v;
	run(&ask_as_ark, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status(ask_as_ark.id, &v, "chain.root", SA_CHECK_FAIL);
	expect_status(ask_as_ark.id, &v, "report.signature", SA_CHECK_PASS);
	sa_verdict_free(&v);
	unload(&l);

	const struct vcase genoa_ask = {"milan_genoa_ask", valid[8].report, valid[8].vek,
					{VSEV "src/certs/snp/builtin/genoa/ask.pem", VSEV "src/certs/snp/builtin/milan/ark.pem"},
					SA_PRODUCT_MILAN};
	load(&genoa_ask, &l);
	run(&genoa_ask, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status(genoa_ask.id, &v, "chain.intermediate", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	unload(&l);
}

/* A v2 report needs its product from somewhere: the VEK, or the user. */
static void v2_product_sources(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct loaded l;
	load(&valid[0], &l);
	sa_verdict v;
	run(&valid[0], NULL, NULL, 0, &l, &v);
	assert_string_equal(v.product_source, "vek");
	sa_verdict_free(&v);
	unload(&l);
	/* Without a VEK and without --product the product is unknown. */
	const struct vcase novek = {"R1 no VEK", valid[0].report, NULL, {GSG "verify/trust/ask_ark_milan.pem"},
				    SA_PRODUCT_MILAN};
	load(&novek, &l);
	run(&novek, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status("R1 no VEK", &v, "product", SA_CHECK_FAIL);
	expect_status("R1 no VEK", &v, "chain.vek", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.product = SA_PRODUCT_MILAN;
	run(&novek, &a, NULL, 0, &l, &v);
	assert_string_equal(v.product_source, "user");
	expect_status("R1 --product", &v, "chain.root", SA_CHECK_PASS);
	sa_verdict_free(&v);
	unload(&l);
}

/* Appraisal options on a real report: each one passes with the right value and fails with a wrong one. */
static void appraisal_on_real_report(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct loaded l;
	load(&valid[8], &l); /* R8: v3, HOST_DATA and ID_KEY_DIGEST set */
	uint8_t host[32], idk[1][48], meas[2][48];
	tu_hex("4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10", host, 32);
	tu_hex("0ad79ceb0b648b0e6a90d8aa9f6ea24c33a968b6632085353145e8b19a4741a2dab9ba342e13be4fc0d225e889cc1a58", idk[0],
	       48);
	memset(meas[0], 0x11, 48);
	tu_hex("5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1", meas[1],
	       48);
	uint8_t zero64[64] = {0};
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.host_data = host;
	a.id_key_digests = (const uint8_t(*)[48])idk;
	a.n_id_key_digests = 1;
	a.measurements = (const uint8_t(*)[48])meas;
	a.n_measurements = 2;
	a.report_data = zero64;
	a.require_id_block = true;
	a.has_min_guest_svn = true;
	a.min_guest_svn = 2;
	a.vmpl = 0;
	a.policy_deny = SA_POLICY_DEBUG | SA_POLICY_MIGRATE_MA;
	a.has_min_version = true;
	a.min_major = 1;
	a.min_minor = 55;
	a.has_min_build = true;
	a.min_build = 29;
	a.min_reported_tcb.set = true;
	a.min_reported_tcb.min = (sa_tcb){.bl = 4, .tee = 0, .snp = 24, .ucode = 219};
	a.signer = SA_SIGNER_VCEK_ONLY;
	a.product = SA_PRODUCT_MILAN;
	sa_verdict v;
	run(&valid[8], &a, NULL, 0, &l, &v);
	if (!v.verified)
		dump("R8 appraisal", &v);
	assert_true(v.verified);
	sa_verdict_free(&v);

	/* Now a few demands the report does not meet. */
	a.min_reported_tcb.min.snp = 25;
	a.has_min_guest_svn = true;
	a.min_guest_svn = 3;
	a.require_author_key = true;
	a.vmpl = 1;
	a.product = SA_PRODUCT_GENOA;
	a.has_min_launch_mit = true;
	a.min_launch_mit = 1;
	run(&valid[8], &a, NULL, 0, &l, &v);
	assert_false(v.verified);
	expect_status("R8 appraisal", &v, "tcb.min_reported", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "guest_svn", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "author_key.required", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "vmpl", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "product.expected", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "mit.launch", SA_CHECK_FAIL);
	expect_status("R8 appraisal", &v, "host_data", SA_CHECK_PASS);
	sa_verdict_free(&v);
	unload(&l);
}

/* Without any chain the pinned mode has no root; a KDS-less run says what to pass. */
static void missing_chain_is_explained(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const struct vcase c = {"no chain", valid[11].report, valid[11].vek, {NULL}, SA_PRODUCT_TURIN};
	struct loaded l;
	load(&c, &l);
	sa_verdict v;
	run(&c, NULL, NULL, 0, &l, &v);
	assert_false(v.verified);
	const sa_check *k = sa_verdict_find(&v, "chain.root");
	assert_non_null(k);
	assert_non_null(strstr(k->summary, "--chain"));
	sa_verdict_free(&v);
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_real_report_verifies),
		cmocka_unit_test(vlek_report_binding),
		cmocka_unit_test(turin_compares_first_eight_chip_bytes),
		cmocka_unit_test(n1_cross_product),
		cmocka_unit_test(n2_tampered_vceks),
		cmocka_unit_test(n3_malformed),
		cmocka_unit_test(n4_vlek_under_ask),
		cmocka_unit_test(n5_policy_and_stepping),
		cmocka_unit_test(n6_tampering),
		cmocka_unit_test(n6_wrong_chain_members),
		cmocka_unit_test(v2_product_sources),
		cmocka_unit_test(appraisal_on_real_report),
		cmocka_unit_test(missing_chain_is_explained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
