/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/report.h"
#include "sevattest/snp_policy.h"
#include "testutil.h"

/* Every real report in the vectors (README §1 and §7). */
static const char *const real_reports[] = {
	"google-go-sev-guest/verify/testdata/attestation.bin",
	"derived/virtee_sev_report_milan.bin",
	"confidential-containers-trustee/deps/verifier/test_data/snp/test-report.bin",
	"confidential-containers-trustee/deps/verifier/test_data/snp/test-vlek-report.bin",
	"derived/trustee_az_milan_hcl_report_snp.bin",
	"derived/trustee_az_genoa_hcl_report_snp.bin",
	"derived/trustee_e2e_evidence_report.bin",
	"microsoft-TEE-Attestation-Verification/tests/test_data/milan_attestation_report.bin",
	"microsoft-TEE-Attestation-Verification/tests/test_data/genoa_attestation_report.bin",
	"microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin",
	"LIT-Protocol-sev-snp-utils/resources/test/guest_report.bin",
};

static void real_reports_round_trip_byte_exact(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(real_reports) / sizeof(real_reports[0]); i++) {
		uint8_t *buf;
		size_t len;
		assert_int_equal(tu_read_vector(real_reports[i], &buf, &len), 0);
		sa_snp_report r;
		sa_error err;
		sa_status st = sa_snp_report_decode(buf, len, &r, &err);
		if (st != SA_OK)
			fail_msg("%s: %s", real_reports[i], err.msg);
		uint8_t out[SA_SNP_REPORT_SIZE];
		assert_int_equal(sa_snp_report_encode(&r, out, sizeof(out), &err), SA_OK);
		assert_memory_equal(out, buf, SA_SNP_REPORT_SIZE);
		/* Real reports from versions we know have no non-zero reserved bytes. */
		sa_reserved_finding f[8];
		size_t nf = sa_snp_report_findings(&r, f, 8);
		if (nf)
			fail_msg("%s: unexpected reserved finding %s", real_reports[i], f[0].name);
		free(buf);
	}
}

static void turin_v5_fields(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	assert_int_equal(
		tu_read_vector("microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin", &buf,
			       &len),
		0);
	sa_snp_report r;
	assert_int_equal(sa_snp_report_decode(buf, len, &r, NULL), SA_OK);
	assert_int_equal(r.version, 5);
	assert_int_equal(r.guest_svn, 2);
	assert_true(r.policy == 0x3001f);
	assert_true(r.platform_info == 0x65);
	assert_int_equal(r.cpuid_fam_id, 0x1a);
	assert_int_equal(r.cpuid_mod_id, 0x02);
	assert_int_equal(r.cpuid_step, 0x01);
	assert_int_equal(sa_snp_report_cpuid_product(&r), SA_PRODUCT_TURIN);
	assert_true(r.reported_tcb == 0x5100000004010101ull);
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_TURIN);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bl, 1);
	assert_int_equal(t.tee, 1);
	assert_int_equal(t.snp, 4);
	assert_int_equal(t.ucode, 81);
	assert_int_equal(t.reserved_nonzero, 0);
	assert_true(r.launch_mit_vector == 0x3f && r.current_mit_vector == 0x3f);
	assert_int_equal(r.current.major, 1);
	assert_int_equal(r.current.minor, 55);
	assert_int_equal(r.current.build, 65);
	uint8_t chip8[8];
	tu_hex("59790fb1c39f35c1", chip8, 8);
	assert_memory_equal(r.chip_id, chip8, 8);
	assert_true(sa_all_zero(r.chip_id + 8, 56));
	assert_int_equal(sa_snp_report_signing_key(&r), SA_SIGNING_KEY_VCEK);
	free(buf);
}

static void vlek_v3_fields(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	assert_int_equal(
		tu_read_vector("confidential-containers-trustee/deps/verifier/test_data/snp/test-vlek-report.bin", &buf,
			       &len),
		0);
	sa_snp_report r;
	assert_int_equal(sa_snp_report_decode(buf, len, &r, NULL), SA_OK);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.vmpl, 1);
	assert_int_equal(sa_snp_report_signing_key(&r), SA_SIGNING_KEY_VLEK);
	assert_int_equal(sa_snp_report_cpuid_product(&r), SA_PRODUCT_MILAN);
	assert_true(sa_all_zero(r.chip_id, 64));
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_MILAN);
	assert_int_equal(t.bl, 4);
	assert_int_equal(t.snp, 24);
	assert_int_equal(t.ucode, 217);
	free(buf);
}

static void malformed_reports_are_refused(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	sa_snp_report r;
	sa_error err;
	assert_int_equal(tu_read_vector("LIT-Protocol-sev-snp-utils/resources/test/guest_report_bad_sig.bin", &buf, &len),
			 0);
	assert_int_equal(len, 1185);
	assert_int_equal(sa_snp_report_decode(buf, len, &r, &err), SA_ERR_TRAILING);
	assert_non_null(strstr(err.msg, "1184"));
	free(buf);
	assert_int_equal(tu_read_vector("LIT-Protocol-sev-snp-utils/resources/test/guest_report_corrupt.bin", &buf, &len),
			 0);
	assert_int_equal(sa_snp_report_decode(buf, len, &r, &err), SA_ERR_TRUNCATED);
	free(buf);
}

static void synthetic_every_length_and_version(void **state)
{
	(void)state;
	uint8_t buf[SA_SNP_REPORT_SIZE + 1];
	memset(buf, 0, sizeof(buf));
	sa_snp_report r;
	sa_error err;
	for (size_t n = 0; n < SA_SNP_REPORT_SIZE; n += 37)
		assert_int_equal(sa_snp_report_decode(buf, n, &r, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_snp_report_decode(buf, sizeof(buf), &r, &err), SA_ERR_TRAILING);
	for (uint32_t v = 0; v < 2; v++) {
		buf[0] = (uint8_t)v;
		assert_int_equal(sa_snp_report_decode(buf, SA_SNP_REPORT_SIZE, &r, &err), SA_ERR_UNSUPPORTED);
		assert_non_null(strstr(err.msg, "VERSION"));
	}
	/* A later version decodes; its unknown bytes are findings, not MBZ violations. */
	buf[0] = 6;
	buf[0x220] = 0x42;
	assert_int_equal(sa_snp_report_decode(buf, SA_SNP_REPORT_SIZE, &r, &err), SA_OK);
	sa_reserved_finding f[4];
	assert_int_equal(sa_snp_report_findings(&r, f, 4), 1);
	assert_int_equal(f[0].offset, 0x208);
	assert_false(f[0].mbz);
	/* The same byte in a v3 report is an MBZ violation. */
	buf[0] = 3;
	assert_int_equal(sa_snp_report_decode(buf, SA_SNP_REPORT_SIZE, &r, &err), SA_OK);
	assert_int_equal(sa_snp_report_findings(&r, f, 4), 1);
	assert_true(f[0].mbz);
	/* MIT vectors are reserved in v3 and defined in v5. */
	buf[0x220] = 0;
	buf[0x1F8] = 1;
	assert_int_equal(sa_snp_report_decode(buf, SA_SNP_REPORT_SIZE, &r, &err), SA_OK);
	assert_int_equal(sa_snp_report_findings(&r, f, 4), 1);
	assert_int_equal(f[0].offset, 0x1F8);
	buf[0] = 5;
	assert_int_equal(sa_snp_report_decode(buf, SA_SNP_REPORT_SIZE, &r, &err), SA_OK);
	assert_int_equal(sa_snp_report_findings(&r, f, 4), 0);
	assert_true(r.launch_mit_vector == 1);
}

static void encode_places_every_field(void **state)
{
	(void)state;
	sa_snp_report r;
	memset(&r, 0, sizeof(r));
	r.version = 5;
	r.guest_svn = 0x11223344;
	r.policy = 0x30000;
	r.vmpl = 2;
	r.signature_algo = 1;
	r.key_info = SA_KEYINFO_AUTHOR_KEY_EN | (SA_SIGNING_KEY_VLEK << SA_KEYINFO_SIGNING_KEY_SHIFT);
	r.report_data[0] = 0xAA;
	r.measurement[47] = 0xBB;
	r.chip_id[63] = 0xCC;
	r.current = (sa_fw_version){.major = 1, .minor = 55, .build = 7};
	r.committed = (sa_fw_version){.major = 1, .minor = 54, .build = 3};
	r.current_mit_vector = 0x0102030405060708ull;
	r.sig_r[0] = 0xDD;
	r.sig_s[71] = 0xEE;
	uint8_t out[SA_SNP_REPORT_SIZE];
	assert_int_equal(sa_snp_report_encode(&r, out, sizeof(out), NULL), SA_OK);
	assert_int_equal(out[0x000], 5);
	assert_int_equal(out[0x004], 0x44);
	assert_int_equal(out[0x007], 0x11);
	assert_int_equal(out[0x00A], 0x03);
	assert_int_equal(out[0x030], 2);
	assert_int_equal(out[0x034], 1);
	assert_int_equal(out[0x048], 0x05);
	assert_int_equal(out[0x050], 0xAA);
	assert_int_equal(out[0x0BF], 0xBB);
	assert_int_equal(out[0x1DF], 0xCC);
	assert_int_equal(out[0x1E8], 7);
	assert_int_equal(out[0x1E9], 55);
	assert_int_equal(out[0x1EA], 1);
	assert_int_equal(out[0x1EC], 3);
	assert_int_equal(out[0x1ED], 54);
	assert_int_equal(out[0x200], 0x08);
	assert_int_equal(out[0x207], 0x01);
	assert_int_equal(out[0x2A0], 0xDD);
	assert_int_equal(out[0x32F], 0xEE);
	sa_snp_report back;
	assert_int_equal(sa_snp_report_decode(out, sizeof(out), &back, NULL), SA_OK);
	assert_memory_equal(&back, &r, sizeof(r));
	assert_int_equal(sa_snp_report_encode(&r, out, sizeof(out) - 1, NULL), SA_ERR_RANGE);
}

static void tcb_layouts_and_parsing(void **state)
{
	(void)state;
	sa_tcb t = sa_tcb_decode(0x7308000000000003ull, false);
	assert_int_equal(t.bl, 3);
	assert_int_equal(t.tee, 0);
	assert_int_equal(t.snp, 8);
	assert_int_equal(t.ucode, 0x73);
	assert_true(sa_tcb_encode(&t) == 0x7308000000000003ull);
	sa_tcb p;
	assert_int_equal(sa_tcb_parse("bl=3,tee=0,snp=8,ucode=115", false, &p, NULL), SA_OK);
	assert_true(p.raw == 0x7308000000000003ull);
	assert_true(sa_tcb_at_least(&t, &p));
	p.snp = 9;
	assert_false(sa_tcb_at_least(&t, &p));
	sa_error err;
	assert_int_equal(sa_tcb_parse("bl=3,fmc=1", false, &p, &err), SA_ERR_FORMAT);
	assert_int_equal(sa_tcb_parse("bl=256", false, &p, &err), SA_ERR_FORMAT);
	assert_int_equal(sa_tcb_parse("foo=1", false, &p, &err), SA_ERR_FORMAT);
	assert_int_equal(sa_tcb_parse("fmc=1,bl=1,tee=1,snp=4,ucode=81", true, &p, &err), SA_OK);
	assert_true(p.raw == 0x5100000004010101ull);
	sa_tcb legacy_reserved = sa_tcb_decode(0x0000000100000000ull, false);
	assert_int_equal(legacy_reserved.reserved_nonzero, 1 << 4);
}

static void product_names_and_cpuid(void **state)
{
	(void)state;
	sa_product p;
	int step;
	assert_int_equal(sa_product_parse("Milan-B0", &p, &step, NULL), SA_OK);
	assert_int_equal(p, SA_PRODUCT_MILAN);
	assert_int_equal(step, 0);
	assert_int_equal(sa_product_parse("genoa", &p, &step, NULL), SA_OK);
	assert_int_equal(p, SA_PRODUCT_GENOA);
	assert_int_equal(step, SA_STEPPING_UNKNOWN);
	assert_int_equal(sa_product_parse("Genoa-B2", &p, &step, NULL), SA_OK);
	assert_int_equal(step, 2);
	assert_int_not_equal(sa_product_parse("Naples", &p, &step, NULL), SA_OK);
	assert_int_not_equal(sa_product_parse("Milanx", &p, &step, NULL), SA_OK);
	assert_int_not_equal(sa_product_parse("Milan-B", &p, &step, NULL), SA_OK);
	assert_int_equal(sa_product_from_cpuid(0x19, 0x01), SA_PRODUCT_MILAN);
	assert_int_equal(sa_product_from_cpuid(0x19, 0x11), SA_PRODUCT_GENOA);
	assert_int_equal(sa_product_from_cpuid(0x19, 0xA0), SA_PRODUCT_GENOA);
	assert_int_equal(sa_product_from_cpuid(0x1A, 0x02), SA_PRODUCT_TURIN);
	assert_int_equal(sa_product_from_cpuid(0x17, 0x31), SA_PRODUCT_UNKNOWN);
}

static void policy_bits(void **state)
{
	(void)state;
	size_t n;
	const sa_bit_name *t = sa_policy_bits(&n);
	uint64_t m;
	sa_error err;
	assert_int_equal(sa_bits_parse(t, n, "debug,migrate-ma,smt", &m, "deny", &err), SA_OK);
	assert_true(m == (SA_POLICY_DEBUG | SA_POLICY_MIGRATE_MA | SA_POLICY_SMT));
	assert_int_equal(sa_bits_parse(t, n, "debug,nope", &m, "deny", &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "nope"));
	assert_int_equal(sa_bits_parse(t, n, "bit40", &m, "deny", &err), SA_OK);
	assert_true(m == 1ull << 40);
	char buf[128];
	assert_string_equal(sa_bits_format(t, n, 0xB0000, 0, buf, sizeof(buf)), "smt,reserved-mbo,debug");
	assert_int_equal(sa_policy_check_wellformed(0x30000, NULL), SA_OK);
	assert_int_equal(sa_policy_check_wellformed(0x10000, &err), SA_ERR_FORMAT);
	assert_int_equal(sa_policy_check_wellformed(0x30000 | (1ull << 30), &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "bit 30"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_reports_round_trip_byte_exact),
		cmocka_unit_test(turin_v5_fields),
		cmocka_unit_test(vlek_v3_fields),
		cmocka_unit_test(malformed_reports_are_refused),
		cmocka_unit_test(synthetic_every_length_and_version),
		cmocka_unit_test(encode_places_every_field),
		cmocka_unit_test(tcb_layouts_and_parsing),
		cmocka_unit_test(product_names_and_cpuid),
		cmocka_unit_test(policy_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
