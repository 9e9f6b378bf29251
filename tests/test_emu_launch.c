/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated launch from real inputs: the SNP page plan (sa_snp_page_plan)
 * sent page by page through the emulated SNP_LAUNCH_UPDATE gives the launch
 * digest sa_measure predicts, and the vectors' known answers.  Inputs: the
 * sev-snp-measure AmdSev fixture with kernel hashes (S1, S6, S10, S12, S13:
 * qemu, ec2, gce; 1 and 4 vCPUs) and Debian's OVMF (package ovmf), which has
 * SEV metadata but no SNP_KERNEL_HASHES section, so it is launched without a
 * kernel (1, 2, 8 and 64 vCPUs) and a kernel for it is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sevattest/emu.h"
#include "sevattest/encoding.h"
#include "sevattest/gctx.h"
#include "sevattest/measure.h"
#include "sevattest/sevattest.h"
#include "testutil.h"

#define AMDSEV "virtee-sev-snp-measure/tests/fixtures/ovmf_AmdSev_suffix.bin"
#define DEBIAN_OVMF "/usr/share/OVMF/OVMF_CODE.fd"
#define CMDLINE "console=ttyS0 loglevel=7"
#define POLICY 0x30000ull

/* The launcher's page function: one SNP_LAUNCH_UPDATE per planned page; a zero CPUID page. */
struct launch {
	sa_emu *e;
	uint32_t handle;
	size_t pages;
};

static sa_status send_page(void *ctx, uint8_t type, uint64_t gpa, const uint8_t *contents, sa_error *err)
{
	static const uint8_t zero_page[SA_PAGE_SIZE];
	struct launch *l = ctx;
	uint32_t fw = 0;
	if (type == SA_PAGE_CPUID && !contents)
		contents = zero_page;
	sa_status st = sa_emu_launch_update(l->e, l->handle, type, gpa, contents, NULL, &fw, err);
	if (st == SA_OK)
		l->pages++;
	return st;
}

/* Launch p's plan on the emulator, check the digest equals sa_measure's (and expected_hex when given). */
static void launch_and_compare(sa_emu *e, const sa_measure_params *p, const char *what, const char *expected_hex)
{
	sa_measure_result r;
	sa_error err = {0};
	if (sa_measure(p, &r, &err) != SA_OK)
		fail_msg("%s: measure: %s", what, err.msg);
	struct launch l = {.e = e};
	uint32_t fw = 0;
	if (sa_emu_launch_start(e, POLICY, &l.handle, &fw, &err) != SA_OK)
		fail_msg("%s: LAUNCH_START: %s", what, err.msg);
	sa_snp_plan_info info;
	if (sa_snp_page_plan(p, send_page, &l, &info, &err) != SA_OK)
		fail_msg("%s: plan: %s", what, err.msg);
	if (sa_emu_launch_finish(e, l.handle, NULL, NULL, false, NULL, &fw, &err) != SA_OK)
		fail_msg("%s: LAUNCH_FINISH: %s", what, err.msg);
	uint8_t ld[48];
	if (sa_emu_guest_measurement(e, l.handle, ld, &err) != SA_OK)
		fail_msg("%s: measurement: %s", what, err.msg);
	char got[97], want[97];
	sa_hex_encode(ld, sizeof(ld), got);
	sa_hex_encode(r.digest, r.digest_len, want);
	if (strcmp(got, want) != 0)
		fail_msg("%s: emulated launch digest %s, sa_measure %s", what, got, want);
	if (expected_hex && strcmp(got, expected_hex) != 0)
		fail_msg("%s: emulated launch digest %s, expected %s", what, got, expected_hex);
	assert_int_equal(l.pages, r.pages);
	assert_true(info.has_secrets);
	assert_int_equal(sa_emu_decommission(e, l.handle, &fw, &err), SA_OK);
}

static const struct fixture_case {
	const char *id;
	unsigned vcpus;
	sa_vmm_type vmm;
	const char *vcpu_type; /* NULL: signature 0 (EC2 and GCE ignore it) */
	uint64_t features;
	const char *cmdline;
	const char *expected; /* NULL: no vector, compared with sa_measure only */
} fixture_cases[] = {
	{"S1", 1, SA_VMM_QEMU, "EPYC-v4", 0x21, CMDLINE,
	 "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
	{"S6", 4, SA_VMM_QEMU, "EPYC-v4", 0x21, "",
	 "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
	{"S10", 1, SA_VMM_EC2, "EPYC-v4", 0x21, NULL,
	 "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
	{"ec2 x4", 4, SA_VMM_EC2, "EPYC-v4", 0x21, CMDLINE, NULL},
	{"S12", 1, SA_VMM_GCE, NULL, 0x1, NULL,
	 "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"},
	{"S13", 4, SA_VMM_GCE, NULL, 0x1, NULL,
	 "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
};

static void test_fixture_kernel_hashes(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *image = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(AMDSEV, &image, &len), 0);
	tu_plat pl;
	tu_plat_create(&pl, SA_PRODUCT_MILAN);
	static const uint8_t empty[1];
	for (size_t i = 0; i < sizeof(fixture_cases) / sizeof(fixture_cases[0]); i++) {
		const struct fixture_case *c = &fixture_cases[i];
		sa_measure_params p;
		memset(&p, 0, sizeof(p));
		p.mode = SA_MEASURE_SNP;
		p.ovmf = image;
		p.ovmf_len = len;
		p.vcpus = c->vcpus;
		p.vmm = c->vmm;
		p.guest_features = c->features;
		sa_error err;
		if (c->vcpu_type && sa_vcpu_sig_by_name(c->vcpu_type, &p.vcpu_sig, &err) != SA_OK)
			fail_msg("%s: %s", c->id, err.msg);
		p.has_kernel = true; /* kernel and initrd: /dev/null */
		p.kernel = empty;
		p.initrd = empty;
		p.cmdline = c->cmdline;
		launch_and_compare(pl.e, &p, c->id, c->expected);
	}
	tu_plat_free(&pl);
	free(image);
}

static int read_debian(uint8_t **image, size_t *len)
{
	if (access(DEBIAN_OVMF, R_OK) != 0) {
		print_message("skipping: %s is absent (install Debian's ovmf package)\n", DEBIAN_OVMF);
		return -1;
	}
	sa_error err;
	if (sa_read_file(DEBIAN_OVMF, 64u << 20, image, len, &err) != SA_OK)
		fail_msg("%s: %s", DEBIAN_OVMF, err.msg);
	return 0;
}

static void test_debian_ovmf(void **state)
{
	(void)state;
	uint8_t *image = NULL;
	size_t len = 0;
	if (read_debian(&image, &len) != 0) {
		skip();
		return;
	}
	tu_plat pl;
	tu_plat_create(&pl, SA_PRODUCT_MILAN);
	static const unsigned counts[] = {1, 2, 8, 64};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		sa_measure_params p;
		memset(&p, 0, sizeof(p));
		p.mode = SA_MEASURE_SNP;
		p.ovmf = image;
		p.ovmf_len = len;
		p.vcpus = counts[i];
		p.vmm = SA_VMM_QEMU;
		p.guest_features = SA_DEFAULT_GUEST_FEATURES;
		sa_error err;
		assert_int_equal(sa_vcpu_sig_by_name("EPYC-Milan", &p.vcpu_sig, &err), SA_OK);
		char what[64];
		snprintf(what, sizeof(what), "Debian OVMF, %u vCPUs", counts[i]);
		launch_and_compare(pl.e, &p, what, NULL);
	}
	tu_plat_free(&pl);
	free(image);
}

static sa_status count_page(void *ctx, uint8_t type, uint64_t gpa, const uint8_t *contents, sa_error *err)
{
	(void)type;
	(void)gpa;
	(void)contents;
	(void)err;
	(*(size_t *)ctx)++;
	return SA_OK;
}

/* Debian's image has no SNP_KERNEL_HASHES section: the plan refuses a kernel, naming the section. */
static void test_debian_ovmf_refuses_kernel(void **state)
{
	(void)state;
	uint8_t *image = NULL;
	size_t len = 0;
	if (read_debian(&image, &len) != 0) {
		skip();
		return;
	}
	static const uint8_t empty[1];
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	p.mode = SA_MEASURE_SNP;
	p.ovmf = image;
	p.ovmf_len = len;
	p.vcpus = 1;
	p.guest_features = SA_DEFAULT_GUEST_FEATURES;
	p.has_kernel = true;
	p.kernel = empty;
	size_t pages = 0;
	sa_error err = {0};
	assert_int_equal(sa_snp_page_plan(&p, NULL, &pages, NULL, &err), SA_ERR_ARG); /* no page function */
	assert_int_equal(sa_snp_page_plan(&p, count_page, &pages, NULL, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "SNP_KERNEL_HASHES"));
	assert_int_equal(pages, len / SA_PAGE_SIZE); /* the OVMF pages came first */
	sa_measure_result r;
	assert_int_equal(sa_measure(&p, &r, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "SNP_KERNEL_HASHES"));
	free(image);
}

/* SEV and SEV-ES have no page plan: refused before any page. */
static void test_plan_refuses_sev(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *image = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(AMDSEV, &image, &len), 0);
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	p.mode = SA_MEASURE_SEVES;
	p.ovmf = image;
	p.ovmf_len = len;
	p.vcpus = 1;
	struct launch l = {0};
	sa_error err = {0};
	assert_int_equal(sa_snp_page_plan(&p, send_page, &l, NULL, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "expected snp or snp:ovmf-hash"));
	assert_int_equal(l.pages, 0);
	free(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_kernel_hashes),
		cmocka_unit_test(test_debian_ovmf),
		cmocka_unit_test(test_debian_ovmf_refuses_kernel),
		cmocka_unit_test(test_plan_refuses_sev),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
