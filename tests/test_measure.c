/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expected launch measurements against sev-snp-measure's known answers (vectors
 * README §4.2: S1-S13c, S3b, E1, E2, L1-L3, X1), the intermediate values of S1
 * and its per-page trace, the error paths of N8, real SEV-ES VMSAs (sevctl), and
 * malformed OVMF images refused with errors naming the field.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/measure.h"
#include "sevattest/ovmf.h"
#include "testutil.h"

#define FIX "virtee-sev-snp-measure/tests/fixtures/"
#define AMDSEV FIX "ovmf_AmdSev_suffix.bin"
#define OVMFX64 FIX "ovmf_OvmfX64_suffix.bin"
#define TRACE "derived/sev_snp_measure_trace_snp_default.txt"
#define CMDLINE "console=ttyS0 loglevel=7"
#define S3_HASH "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"

typedef struct vec {
	const char *id;
	sa_measure_mode mode;
	const char *fixture;
	unsigned vcpus;
	const char *vcpu_type; /* NULL: none given */
	sa_vmm_type vmm;
	uint64_t features;
	bool kernel, initrd; /* /dev/null */
	const char *cmdline;
	const char *seed;
	const char *expected;
} vec;

static const vec vectors[] = {
	{"S1", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x21, true, true, CMDLINE, NULL,
	 "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
	{"S2", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, true, true, CMDLINE, NULL,
	 "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
	{"S3", SA_MEASURE_SNP_OVMF_HASH, AMDSEV, 1, NULL, SA_VMM_QEMU, 0x1, false, false, NULL, NULL, S3_HASH},
	{"S3b", SA_MEASURE_SNP_OVMF_HASH, OVMFX64, 1, NULL, SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "b91e6fec73d2bcc57ad5fd400a426ce02731c22ea92bc894ce675e7c9921a822977d6cf025b85f8ef4f264bff8839d20"},
	{"S4", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x21, false, false, NULL, NULL,
	 "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
	{"S5", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
	{"S6", SA_MEASURE_SNP, AMDSEV, 4, "EPYC-v4", SA_VMM_QEMU, 0x21, true, true, "", NULL,
	 "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
	{"S7", SA_MEASURE_SNP, AMDSEV, 4, "EPYC-v4", SA_VMM_QEMU, 0x1, true, true, "", NULL,
	 "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
	{"S8", SA_MEASURE_SNP, OVMFX64, 1, "EPYC-v4", SA_VMM_QEMU, 0x21, false, false, NULL, NULL,
	 "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"},
	{"S9", SA_MEASURE_SNP, OVMFX64, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
	{"S10", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_EC2, 0x21, true, true, NULL, NULL,
	 "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
	{"S11", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_EC2, 0x1, true, true, NULL, NULL,
	 "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"},
	{"S12", SA_MEASURE_SNP, AMDSEV, 1, NULL, SA_VMM_GCE, 0x1, true, true, NULL, NULL,
	 "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"},
	{"S13", SA_MEASURE_SNP, AMDSEV, 4, NULL, SA_VMM_GCE, 0x1, true, true, NULL, NULL,
	 "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
	{"S13b", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x21, true, true, NULL, S3_HASH,
	 "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198"},
	{"S13c", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, true, true, NULL, S3_HASH,
	 "ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5"},
	{"E1", SA_MEASURE_SEVES, AMDSEV, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, true, true, "", NULL,
	 "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
	{"E2", SA_MEASURE_SEVES, AMDSEV, 4, "EPYC-v4", SA_VMM_QEMU, 0x1, true, true, "", NULL,
	 "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"},
	{"L1", SA_MEASURE_SEV, AMDSEV, 1, NULL, SA_VMM_QEMU, 0x1, true, true, CMDLINE, NULL,
	 "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
	{"L2", SA_MEASURE_SEV, AMDSEV, 1, NULL, SA_VMM_QEMU, 0x1, true, false, NULL, NULL,
	 "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
	{"L3", SA_MEASURE_SEV, OVMFX64, 1, NULL, SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da"},
	{"X1-Milan", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-Milan", SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "93f767a2bff8fc050ed48cfe6e2dc9bb4c45b2313c48df0159a6b22fdc5633307f93a7ec31cf6fc92a61a2ace3cb9679"},
	{"X1-Genoa", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-Genoa", SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "454918270eabb57fe9588d00df1c3935f71fde1e4ab922981376247b5a3be1eb6faf5cc74c9274c2f54286f09c001698"},
	{"X1-Turin", SA_MEASURE_SNP, AMDSEV, 1, "EPYC-Turin", SA_VMM_QEMU, 0x1, false, false, NULL, NULL,
	 "4450c0703e809d10bad0ff1429817e9e95d0fbf9da316278d4f9acbbab8da5a695a098a90f9cfaaee831e91b6ed4d54c"},
};

static const uint8_t empty_file[1];

/* Parameters of v over image (kernel and initrd are empty files, as /dev/null). */
static void vec_params(const vec *v, const uint8_t *image, size_t len, uint8_t seed[48], sa_measure_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = v->mode;
	p->ovmf = image;
	p->ovmf_len = len;
	p->vcpus = v->vcpus;
	p->vmm = v->vmm;
	p->guest_features = v->features;
	if (v->vcpu_type)
		assert_int_equal(sa_vcpu_sig_by_name(v->vcpu_type, &p->vcpu_sig, NULL), SA_OK);
	p->has_kernel = v->kernel;
	p->kernel = v->kernel ? empty_file : NULL;
	p->initrd = v->initrd ? empty_file : NULL;
	p->cmdline = v->cmdline;
	if (v->seed) {
		tu_hex(v->seed, seed, 48);
		p->ovmf_hash = seed;
	}
}

static void test_vectors(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const vec *v = &vectors[i];
		uint8_t *image = NULL;
		size_t len = 0;
		assert_int_equal(tu_read_vector(v->fixture, &image, &len), 0);
		uint8_t seed[48];
		sa_measure_params p;
		vec_params(v, image, len, seed, &p);
		sa_measure_result r;
		sa_error e = {0};
		sa_status st = sa_measure(&p, &r, &e);
		if (st != SA_OK)
			fail_msg("%s: %s", v->id, e.msg);
		char hex[97];
		sa_hex_encode(r.digest, r.digest_len, hex);
		if (strcmp(hex, v->expected) != 0)
			fail_msg("%s: got %s, expected %s", v->id, hex, v->expected);
		free(image);
	}
}

static void test_s1_intermediates(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *image = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(AMDSEV, &image, &len), 0);
	uint8_t page_digest[48], want[48];
	assert_int_equal(sa_sha384(image, len, page_digest, NULL), SA_OK);
	tu_hex("161ace084859674ded7322ad102eb33f49457e0f7845a8f9ad0e03a59eac3e3e360f8b78345363feaeac956ebba2d894",
	       want, 48);
	assert_memory_equal(page_digest, want, 48);

	/* S1 with 0x1 features and two vCPUs gives both VMSA digests of the notes. */
	vec v = vectors[1];
	v.vcpus = 2;
	sa_measure_params p;
	vec_params(&v, image, len, NULL, &p);
	sa_measure_result r;
	assert_int_equal(sa_measure(&p, &r, NULL), SA_OK);
	assert_true(r.has_bsp_vmsa && r.has_ap_vmsa && r.has_hashes_table && r.has_ovmf_hash);
	tu_hex("77920c4c629ff47e90c0e174fc1ad0eb6fa664f88cd4739488058a8c6cb1a77b3856f55378e9518d0da99452d51c553a",
	       want, 48);
	assert_memory_equal(r.bsp_vmsa_sha384, want, 48);
	tu_hex("8413b852790765a310d95867a8b00bfca3a802b5a80830044b45e253fe96222657e11e53fcf63eb0e0afd722385bf7b4",
	       want, 48);
	assert_memory_equal(r.ap_vmsa_sha384, want, 48);
	tu_hex(S3_HASH, want, 48);
	assert_memory_equal(r.ovmf_hash, want, 48);
	uint8_t table[SA_SEV_HASHES_TABLE_SIZE];
	tu_hex("06d63894224fc94cb479a793d411fd21a800"
	       "d82dd09720bd944caa78e7714d36ab2a3200321c8eec6a77bad179511397f913a083067ad8cb737bb260aacbfe8df70fc50a"
	       "31f7ba442f3ad74b9af141e29169781d3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	       "3794e74dd2ab7f42b835d5b172d2045b3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	       "0000000000000000",
	       table, sizeof(table));
	assert_memory_equal(r.hashes_table, table, sizeof(table));
	uint8_t direct[SA_SEV_HASHES_TABLE_SIZE];
	assert_int_equal(sa_sev_hashes_table(empty_file, 0, NULL, 0, CMDLINE, direct, NULL), SA_OK);
	assert_memory_equal(direct, table, sizeof(table));
	free(image);
}

typedef struct trace_buf {
	char *text;
	size_t len, cap;
} trace_buf;

static void trace_cb(void *ctx, size_t index, uint8_t page_type, uint64_t gpa, const uint8_t contents[48],
		     const uint8_t ld_after[48])
{
	trace_buf *t = ctx;
	char c[97], ld[97], line[256];
	int n = snprintf(line, sizeof(line), "%zu %u 0x%llx %s %s\n", index, page_type, (unsigned long long)gpa,
			 sa_hex_encode(contents, 48, c), sa_hex_encode(ld_after, 48, ld));
	assert_true(n > 0 && (size_t)n < sizeof(line));
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->text = realloc(t->text, t->cap);
		assert_non_null(t->text);
	}
	memcpy(t->text + t->len, line, (size_t)n + 1);
	t->len += (size_t)n;
}

static void test_s1_trace(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *file = NULL, *image = NULL;
	size_t file_len = 0, len = 0;
	assert_int_equal(tu_read_vector(TRACE, &file, &file_len), 0);
	assert_int_equal(tu_read_vector(AMDSEV, &image, &len), 0);
	/* The data lines of the trace (comments dropped). */
	char *want = calloc(file_len + 1, 1);
	assert_non_null(want);
	size_t w = 0;
	for (size_t i = 0; i < file_len;) {
		size_t j = i;
		while (j < file_len && file[j] != '\n')
			j++;
		if (file[i] != '#' && j > i) {
			memcpy(want + w, file + i, j - i);
			w += j - i;
			want[w++] = '\n';
		}
		i = j + 1;
	}
	trace_buf t = {NULL, 0, 0};
	sa_measure_params p;
	vec_params(&vectors[0], image, len, NULL, &p);
	p.trace = trace_cb;
	p.trace_ctx = &t;
	sa_measure_result r;
	assert_int_equal(sa_measure(&p, &r, NULL), SA_OK);
	assert_int_equal(r.pages, 33);
	assert_non_null(t.text);
	assert_string_equal(t.text, want);
	free(t.text);
	free(want);
	free(file);
	free(image);
}

static void expect_measure_error(const char *fixture, sa_measure_mode mode, sa_status code, const char *msg)
{
	uint8_t *image = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(fixture, &image, &len), 0);
	vec v = {"N8", mode, fixture, 1, "EPYC-v4", SA_VMM_QEMU, 0x1, true, false, NULL, NULL, ""};
	sa_measure_params p;
	vec_params(&v, image, len, NULL, &p);
	sa_measure_result r;
	sa_error e = {0};
	assert_int_equal(sa_measure(&p, &r, &e), code);
	assert_string_equal(e.msg, msg);
	free(image);
}

static void test_n8(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	expect_measure_error(OVMFX64, SA_MEASURE_SNP, SA_ERR_UNSUPPORTED,
			     "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
	expect_measure_error(OVMFX64, SA_MEASURE_SEVES, SA_ERR_UNSUPPORTED,
			     "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
	expect_measure_error(OVMFX64, SA_MEASURE_SEV, SA_ERR_UNSUPPORTED,
			     "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
}

/* The fixtures' geometry (vectors README §4.1). */
static void test_fixture_geometry(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *image = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(AMDSEV, &image, &len), 0);
	sa_ovmf o;
	assert_int_equal(sa_ovmf_parse(image, len, &o, NULL), SA_OK);
	assert_int_equal(o.gpa, 0xFFFFF000ull);
	assert_true(o.has_reset_block);
	assert_int_equal(o.sev_es_reset_eip, 0x0080B004);
	assert_true(o.has_hashes_table);
	assert_int_equal(o.hashes_table_base, 0x810C00);
	assert_int_equal(o.hashes_table_size, 0x400);
	static const sa_ovmf_section amdsev[] = {{0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1}, {0x80D000, 0x1000, 2},
						 {0x80E000, 0x1000, 3}, {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 0x10},
						 {0x811000, 0xF000, 1}};
	assert_true(o.has_metadata);
	assert_int_equal(o.n_sections, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(o.sections[i].gpa, amdsev[i].gpa);
		assert_int_equal(o.sections[i].size, amdsev[i].size);
		assert_int_equal(o.sections[i].type, amdsev[i].type);
	}
	free(image);
	assert_int_equal(tu_read_vector(OVMFX64, &image, &len), 0);
	assert_int_equal(sa_ovmf_parse(image, len, &o, NULL), SA_OK);
	assert_int_equal(o.n_sections, 6);
	assert_int_equal(o.sections[5].gpa, 0x810000);
	assert_int_equal(o.sections[5].size, 0x10000);
	assert_int_equal(o.sections[5].type, 1);
	assert_true(o.has_hashes_table);
	assert_int_equal(o.hashes_table_base, 0);
	assert_int_equal(o.hashes_table_size, 0);
	free(image);
}

/* sevctl's real SEV-ES VMSAs (Milan, older KVM: MXCSR and FCW 0) against ours with those two fields cleared. */
static void test_sevctl_vmsas(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	static const char *const files[] = {"virtee-sevctl/tests/data/vmsa0.bin", "virtee-sevctl/tests/data/vmsa1.bin"};
	uint32_t sig;
	assert_int_equal(sa_vcpu_sig(25, 1, 1, &sig, NULL), SA_OK);
	assert_int_equal(sig, 0xA00F11);
	for (size_t i = 0; i < 2; i++) {
		uint8_t *real = NULL;
		size_t len = 0;
		assert_int_equal(tu_read_vector(files[i], &real, &len), 0);
		assert_int_equal(len, SA_VMSA_SIZE);
		uint8_t page[SA_VMSA_SIZE];
		assert_int_equal(sa_vmsa_build(SA_VMM_QEMU, i == 0 ? SA_BSP_EIP : 0x0080B004, sig, 0, page, NULL), SA_OK);
		assert_int_equal(page[0x408], 0x80); /* MXCSR 0x1F80 */
		assert_int_equal(page[0x409], 0x1F);
		assert_int_equal(page[0x410], 0x7F); /* FCW 0x37F */
		assert_int_equal(page[0x411], 0x03);
		memset(page + 0x408, 0, 4);
		memset(page + 0x410, 0, 2);
		assert_memory_equal(page, real, SA_VMSA_SIZE);
		free(real);
	}
}

static void test_vcpu_types(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		unsigned f, m, s;
		uint32_t sig;
	} t[] = {
		{"EPYC", 23, 1, 2, 0x800F12},        {"EPYC-v4", 23, 1, 2, 0x800F12},    {"epyc-rome", 23, 49, 0, 0x830F10},
		{"EPYC-Milan", 25, 1, 1, 0xA00F11},  {"EPYC-Genoa", 25, 17, 0, 0xA10F10}, {"EPYC-Turin", 26, 0, 0, 0xB00F00},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t a = 0, b = 0;
		assert_int_equal(sa_vcpu_sig_by_name(t[i].name, &a, NULL), SA_OK);
		assert_int_equal(sa_vcpu_sig(t[i].f, t[i].m, t[i].s, &b, NULL), SA_OK);
		assert_int_equal(a, t[i].sig);
		assert_int_equal(b, t[i].sig);
	}
	sa_error e;
	uint32_t sig;
	assert_int_equal(sa_vcpu_sig_by_name("EPYC-Bogus", &sig, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "EPYC-Bogus"));
	assert_int_equal(sa_vcpu_sig(25, 256, 0, &sig, &e), SA_ERR_RANGE);
	assert_int_equal(sa_vcpu_sig(25, 1, 16, &sig, &e), SA_ERR_RANGE);
	sa_measure_mode m;
	assert_int_equal(sa_measure_mode_parse("snp:ovmf-hash", &m, NULL), SA_OK);
	assert_int_equal(m, SA_MEASURE_SNP_OVMF_HASH);
	assert_int_equal(sa_measure_mode_parse("snp:svsm", &m, &e), SA_ERR_ARG);
	sa_vmm_type vmm;
	assert_int_equal(sa_vmm_type_parse("EC2", &vmm, NULL), SA_OK);
	assert_int_equal(vmm, SA_VMM_EC2);
	assert_int_equal(sa_vmm_type_parse("krun", &vmm, &e), SA_ERR_ARG);
}

/* ---- synthetic images ---------------------------------------------------------------------------- */

#define IMG 4096
#define FOOTER_START (IMG - 0x20 - 18)

static void guid_le(const char *text, uint8_t out[16])
{
	uint8_t be[16];
	char hex[33];
	size_t n = 0;
	for (const char *p = text; *p; p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = '\0';
	tu_hex(hex, be, 16);
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (size_t i = 0; i < 16; i++)
		out[i] = be[order[i]];
}

typedef struct img {
	uint8_t b[IMG];
	size_t pos; /* where the next entry (going down) ends */
} img;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void set_table_len(img *m, uint16_t len) { put16(m->b + FOOTER_START, len); }

static void img_init(img *m)
{
	memset(m->b, 0, sizeof(m->b));
	guid_le("96b582de-1fb2-45f7-baea-a366c55a082d", m->b + FOOTER_START + 2);
	m->pos = FOOTER_START;
	set_table_len(m, 18);
}

/* Add an entry below the previous ones, with entry length len_field (normally n + 18). */
static void img_entry(img *m, const char *guid, const uint8_t *data, size_t n, uint16_t len_field)
{
	m->pos -= 18;
	put16(m->b + m->pos, len_field);
	guid_le(guid, m->b + m->pos + 2);
	m->pos -= n;
	memcpy(m->b + m->pos, data, n);
	set_table_len(m, (uint16_t)(FOOTER_START + 18 - m->pos));
}

#define META_OFF 0x100 /* metadata header at image offset 0x100 */

/* A well-formed image: reset block, hashes table entry, metadata with count sections of type type. */
static void img_good(img *m, uint32_t count, uint32_t type)
{
	img_init(m);
	uint8_t d[8];
	put32(d, 0x0080B004);
	img_entry(m, "00f771de-1a7e-4fcb-890e-68c77e2fb44e", d, 4, 22);
	put32(d, 0x810C00);
	put32(d + 4, 0x400);
	img_entry(m, "7255371f-3a3b-4b04-927b-1da6efa8d454", d, 8, 26);
	put32(d, IMG - META_OFF);
	img_entry(m, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4, 22);
	uint8_t *h = m->b + META_OFF;
	memcpy(h, "ASEV", 4);
	put32(h + 4, 16 + 12 * count);
	put32(h + 8, 1);
	put32(h + 12, count);
	for (uint32_t i = 0; i < count && i < 64; i++) {
		put32(h + 16 + 12 * i, 0x800000 + 0x1000 * i);
		put32(h + 20 + 12 * i, 0x1000);
		put32(h + 24 + 12 * i, type);
	}
}

static void expect_parse(const img *m, size_t len, sa_status code, const char *needle)
{
	sa_ovmf o;
	sa_error e = {0};
	sa_status st = sa_ovmf_parse(m->b, len, &o, &e);
	if (st != code || !strstr(e.msg, needle))
		fail_msg("parse: status %d (%s), expected %d with '%s'", st, e.msg, code, needle);
}

static void test_synthetic_good(void **state)
{
	(void)state;
	img m;
	img_good(&m, 3, SA_OVMF_SNP_SEC_MEM);
	sa_ovmf o;
	sa_error e = {0};
	if (sa_ovmf_parse(m.b, IMG, &o, &e) != SA_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(o.sev_es_reset_eip, 0x0080B004);
	assert_int_equal(o.hashes_table_base, 0x810C00);
	assert_int_equal(o.n_sections, 3);
	assert_int_equal(o.sections[2].gpa, 0x802000);
	const uint8_t *data;
	size_t n;
	assert_int_equal(sa_ovmf_find_entry(m.b, IMG, "7255371f-3a3b-4b04-927b-1da6efa8d454", &data, &n, NULL), SA_OK);
	assert_int_equal(n, 8);
	assert_int_equal(sa_ovmf_find_entry(m.b, IMG, "4c2eb361-7d9b-4cc3-8081-127c90d3d294", &data, &n, NULL), SA_OK);
	assert_null(data);
	/* It measures: 1 OVMF page, 3 ZERO pages, 2 VMSAs. */
	sa_measure_params p = {.mode = SA_MEASURE_SNP, .ovmf = m.b, .ovmf_len = IMG, .vcpus = 2, .vcpu_sig = 0x800F12,
			       .guest_features = 1};
	sa_measure_result r;
	assert_int_equal(sa_measure(&p, &r, NULL), SA_OK);
	assert_int_equal(r.pages, 6);
	/* No SNP_KERNEL_HASHES section: a kernel is refused. */
	p.has_kernel = true;
	p.kernel = empty_file;
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_UNSUPPORTED);
	/* Misuse. */
	p.has_kernel = false;
	p.vcpus = 0;
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_RANGE);
	p.vcpus = 1;
	p.mode = SA_MEASURE_SEV;
	uint8_t seed[48] = {0};
	p.ovmf_hash = seed;
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_ARG);
}

static void test_malformed(void **state)
{
	(void)state;
	img m;
	/* Lengths. */
	img_good(&m, 1, 1);
	expect_parse(&m, 0, SA_ERR_ARG, "multiple of 4096");
	expect_parse(&m, 100, SA_ERR_ARG, "multiple of 4096");
	/* No footer (all zero, or a truncated image whose end is not the footer). */
	img_init(&m);
	memset(m.b, 0, IMG);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "footer GUID");
	/* Footer table length running before the image, or below a header. */
	img_good(&m, 1, 1);
	set_table_len(&m, 0xFFFF);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "footer table length is 65535");
	set_table_len(&m, 17);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "footer table length is 17");
	set_table_len(&m, 18 + 10); /* covers part of an entry header only */
	expect_parse(&m, IMG, SA_ERR_FORMAT, "expected at least 18");
	/* An entry whose length overruns the table, or is shorter than its header. */
	img_init(&m);
	uint8_t d[8] = {0};
	img_entry(&m, "00f771de-1a7e-4fcb-890e-68c77e2fb44e", d, 4, 200);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "length 200, expected 18 to 22");
	img_init(&m);
	img_entry(&m, "00f771de-1a7e-4fcb-890e-68c77e2fb44e", d, 4, 5);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "length 5");
	/* An entry too short for its value. */
	img_init(&m);
	img_entry(&m, "00f771de-1a7e-4fcb-890e-68c77e2fb44e", d, 2, 20);
	expect_parse(&m, IMG, SA_ERR_TRUNCATED, "reset block");
	img_init(&m);
	img_entry(&m, "7255371f-3a3b-4b04-927b-1da6efa8d454", d, 4, 22);
	expect_parse(&m, IMG, SA_ERR_TRUNCATED, "hashes table size");
	/* Metadata offset out of range. */
	img_init(&m);
	put32(d, IMG + 1);
	img_entry(&m, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4, 22);
	expect_parse(&m, IMG, SA_ERR_RANGE, "metadata offset");
	img_init(&m);
	put32(d, 8);
	img_entry(&m, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4, 22);
	expect_parse(&m, IMG, SA_ERR_RANGE, "metadata offset");
	img_init(&m);
	put32(d, 0xFFFFFFFF);
	img_entry(&m, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4, 22);
	expect_parse(&m, IMG, SA_ERR_RANGE, "metadata offset");
	/* Metadata: signature, version, counts, size, types. */
	img_good(&m, 1, 1);
	memcpy(m.b + META_OFF, "XSEV", 4);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "expected \"ASEV\"");
	img_good(&m, 1, 1);
	put32(m.b + META_OFF + 8, 2);
	expect_parse(&m, IMG, SA_ERR_UNSUPPORTED, "version is 2");
	img_good(&m, 0, 1);
	expect_parse(&m, IMG, SA_ERR_RANGE, "section count is 0");
	img_good(&m, 1, 1);
	put32(m.b + META_OFF + 12, 0xFFFFFFFF);
	expect_parse(&m, IMG, SA_ERR_RANGE, "section count is 4294967295");
	img_good(&m, 1, 1);
	put32(m.b + META_OFF + 12, 65);
	expect_parse(&m, IMG, SA_ERR_RANGE, "expected 1 to 64");
	img_good(&m, 2, 1);
	put32(m.b + META_OFF + 4, 20);
	expect_parse(&m, IMG, SA_ERR_FORMAT, "size is 20");
	img_good(&m, 2, 1);
	put32(m.b + META_OFF + 4, 0x7FFFFFFF);
	expect_parse(&m, IMG, SA_ERR_TRUNCATED, "SEV metadata");
	img_good(&m, 2, 7);
	expect_parse(&m, IMG, SA_ERR_UNSUPPORTED, "type 0x7");
	/* Sections the SNP digest cannot take: unaligned size. */
	img_good(&m, 1, 1);
	put32(m.b + META_OFF + 20, 0x1800);
	sa_measure_params p = {.mode = SA_MEASURE_SNP, .ovmf = m.b, .ovmf_len = IMG, .vcpus = 1, .vcpu_sig = 0x800F12};
	sa_measure_result r;
	sa_error e = {0};
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_FORMAT);
	assert_non_null(strstr(e.msg, "size 0x1800"));
	/* More than one vCPU without an AP reset vector. */
	img_init(&m);
	put32(d, IMG - META_OFF);
	img_entry(&m, "dc886566-984a-4798-a75e-5585a7bf67cc", d, 4, 22);
	memcpy(m.b + META_OFF, "ASEV", 4);
	put32(m.b + META_OFF + 4, 28);
	put32(m.b + META_OFF + 8, 1);
	put32(m.b + META_OFF + 12, 1);
	put32(m.b + META_OFF + 16, 0x800000);
	put32(m.b + META_OFF + 20, 0x1000);
	put32(m.b + META_OFF + 24, 1);
	p.vcpus = 2;
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "AP reset vector"));
	p.vcpus = 1;
	assert_int_equal(sa_measure(&p, &r, &e), SA_OK);
}


/*
 * sevctl M2/M3 (vectors README §4.3): the SEV launch digest of a RHEL OVMF
 * (no SEV metadata) with and without kernel hashes, checked through
 * LAUNCH_MEASURE = HMAC-SHA256(TIK, 0x04 ‖ api 1.40 ‖ build 40 ‖ policy 3 ‖ LD ‖
 * MNONCE), MNONCE being the last 16 bytes of the expected blob.
 */
static void check_launch_measure(const sa_measure_params *p, const char *expected_b64)
{
	uint8_t *tik = NULL, *blob = NULL;
	size_t tik_len = 0, blob_len = 0;
	assert_int_equal(tu_read_vector("virtee-sevctl/tests/data/measurement/tik1.bin", &tik, &tik_len), 0);
	assert_int_equal(tik_len, 16);
	assert_int_equal(sa_base64_decode_alloc(expected_b64, strlen(expected_b64), 0, &blob, &blob_len, "blob", NULL),
			 SA_OK);
	assert_int_equal(blob_len, 48);
	sa_measure_result r;
	sa_error e = {0};
	if (sa_measure(p, &r, &e) != SA_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(r.digest_len, 32);
	uint8_t msg[1 + 3 + 4 + 32 + 16] = {0x04, 1, 40, 40, 3, 0, 0, 0};
	memcpy(msg + 8, r.digest, 32);
	memcpy(msg + 40, blob + 32, 16);
	uint8_t mac[32];
	size_t mac_len = 0;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, tik, tik_len, msg, sizeof(msg), mac, sizeof(mac),
				  &mac_len));
	assert_int_equal(mac_len, 32);
	assert_memory_equal(mac, blob, 32);
	free(tik);
	free(blob);
}

static void test_sevctl_launch_digests(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *image = NULL, *kernel = NULL, *initrd = NULL;
	size_t len = 0, kernel_len = 0, initrd_len = 0;
	assert_int_equal(tu_read_vector("virtee-sevctl/tests/data/OVMF.amdsev.fd_trimmed_edk2-ovmf-20220126gitbb1bba3d77-4.el9",
					&image, &len),
			 0);
	assert_int_equal(tu_read_vector("virtee-sevctl/tests/data/measurement/vmlinuz-fake", &kernel, &kernel_len), 0);
	assert_int_equal(tu_read_vector("virtee-sevctl/tests/data/measurement/initrd-fake", &initrd, &initrd_len), 0);
	sa_ovmf o;
	assert_int_equal(sa_ovmf_parse(image, len, &o, NULL), SA_OK);
	assert_false(o.has_metadata);
	assert_int_equal(o.sev_es_reset_eip, 0x80B004);
	assert_int_equal(o.hashes_table_base, 0x80CC00);
	assert_int_equal(o.hashes_table_size, 0x400);
	sa_measure_params p = {.mode = SA_MEASURE_SEV, .ovmf = image, .ovmf_len = len};
	check_launch_measure(&p, "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA"); /* M2 */
	p.has_kernel = true;
	p.kernel = kernel;
	p.kernel_len = kernel_len;
	p.initrd = initrd;
	p.initrd_len = initrd_len;
	p.cmdline = "foo bar baz fake kernel=cmdline";
	check_launch_measure(&p, "h3auYbWQnVW7EGLWN4Hf9SN0oEYMPU2sK4bLnefWPwvDE/q1EcIWsVBbGy6pkDxA"); /* M3 */
	/* No SEV metadata: SNP refuses it. */
	p.mode = SA_MEASURE_SNP;
	p.vcpus = 1;
	sa_measure_result r;
	sa_error e = {0};
	assert_int_equal(sa_measure(&p, &r, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "no SEV metadata"));
	free(image);
	free(kernel);
	free(initrd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),       cmocka_unit_test(test_s1_intermediates),
		cmocka_unit_test(test_s1_trace),      cmocka_unit_test(test_n8),
		cmocka_unit_test(test_fixture_geometry), cmocka_unit_test(test_sevctl_vmsas),
		cmocka_unit_test(test_vcpu_types),    cmocka_unit_test(test_synthetic_good),
		cmocka_unit_test(test_malformed),     cmocka_unit_test(test_sevctl_launch_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
