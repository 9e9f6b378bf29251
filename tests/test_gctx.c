/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SNP launch digest against a per-page trace of a real launch
 * (sev-snp-measure, mode snp, one vCPU): every intermediate digest, the final
 * one, and the bytes of the first PAGE_INFO.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/gctx.h"
#include "testutil.h"

#define TRACE "derived/sev_snp_measure_trace_snp_default.txt"
#define TRACE_ROWS_MAX 64

struct row {
	unsigned type;
	unsigned long long gpa;
	uint8_t contents[48];
	uint8_t ld_after[48];
};

struct trace {
	struct row rows[TRACE_ROWS_MAX];
	size_t n;
	uint8_t first_page_info[SA_PAGE_INFO_SIZE];
	bool have_first;
	uint8_t final[48];
	bool have_final;
};

static void parse_trace(struct trace *t)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(TRACE, &buf, &len), 0);
	char *text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, buf, len);
	text[len] = '\0';
	free(buf);
	memset(t, 0, sizeof(*t));
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static const char first[] = "# first PAGE_INFO (0x70 bytes): ";
		static const char fin[] = "# final ";
		if (!strncmp(line, first, strlen(first))) {
			tu_hex(line + strlen(first), t->first_page_info, sizeof(t->first_page_info));
			t->have_first = true;
			continue;
		}
		if (!strncmp(line, fin, strlen(fin))) {
			tu_hex(line + strlen(fin), t->final, sizeof(t->final));
			t->have_final = true;
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		unsigned idx;
		char contents[97], ld[97];
		struct row *r = &t->rows[t->n];
		assert_true(t->n < TRACE_ROWS_MAX);
		assert_int_equal(sscanf(line, "%u %u %llx %96s %96s", &idx, &r->type, &r->gpa, contents, ld), 5);
		assert_int_equal(idx, t->n);
		tu_hex(contents, r->contents, 48);
		tu_hex(ld, r->ld_after, 48);
		t->n++;
	}
	free(text);
	/* 1 OVMF page, 31 metadata pages, 1 VMSA (amd-formats.md 1.3). */
	assert_int_equal(t->n, 33);
	assert_true(t->have_first);
	assert_true(t->have_final);
}

static void assert_digest(const uint8_t got[48], const uint8_t want[48], size_t row)
{
	if (memcmp(got, want, 48) != 0) {
		char g[97], w[97];
		fail_msg("row %zu: digest %s, expected %s", row, sa_hex_encode(got, 48, g), sa_hex_encode(want, 48, w));
	}
}

static void trace_known_answer(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct trace *t = malloc(sizeof(*t));
	assert_non_null(t);
	parse_trace(t);
	sa_gctx g;
	sa_gctx_init(&g, NULL);
	sa_error err;
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		sa_status st = sa_gctx_update_digest(&g, (uint8_t)r->type, r->gpa, r->contents, &err);
		if (st != SA_OK)
			fail_msg("row %zu: %s", i, err.msg);
		assert_digest(g.ld, r->ld_after, i);
	}
	assert_digest(g.ld, t->final, t->n);

	/* The first PAGE_INFO, byte for byte. */
	uint8_t zero[48] = {0}, info[SA_PAGE_INFO_SIZE];
	assert_int_equal(sa_page_info_encode(zero, t->rows[0].contents, (uint8_t)t->rows[0].type, 0, NULL,
					     t->rows[0].gpa, info, &err),
			 SA_OK);
	assert_memory_equal(info, t->first_page_info, SA_PAGE_INFO_SIZE);
	/* Its SHA-384 is the first digest of the trace. */
	uint8_t d[48];
	assert_int_equal(sa_sha384(info, sizeof(info), d, &err), SA_OK);
	assert_digest(d, t->rows[0].ld_after, 0);
	free(t);
}

/* The rows without contents go through sa_gctx_update_page with no page and give the same digests. */
static void trace_through_update_page(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct trace *t = malloc(sizeof(*t));
	assert_non_null(t);
	parse_trace(t);
	sa_error err;
	sa_gctx g;
	sa_gctx_init(&g, t->rows[0].ld_after); /* seeded, as with --snp-ovmf-hash */
	for (size_t i = 1; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		if (r->type == SA_PAGE_NORMAL || r->type == SA_PAGE_VMSA) {
			assert_int_equal(sa_gctx_update_digest(&g, (uint8_t)r->type, r->gpa, r->contents, &err), SA_OK);
		} else {
			uint8_t zero[48] = {0};
			assert_memory_equal(r->contents, zero, 48);
			assert_int_equal(sa_gctx_update_page(&g, (uint8_t)r->type, r->gpa, NULL, &err), SA_OK);
		}
		assert_digest(g.ld, r->ld_after, i);
	}
	free(t);
}

static void page_contents_are_hashed(void **state)
{
	(void)state;
	uint8_t *page = malloc(SA_PAGE_SIZE);
	assert_non_null(page);
	for (size_t i = 0; i < SA_PAGE_SIZE; i++)
		page[i] = (uint8_t)(i * 7 + 3);
	sa_error err;
	uint8_t h[48];
	assert_int_equal(sa_sha384(page, SA_PAGE_SIZE, h, &err), SA_OK);
	for (uint8_t type = SA_PAGE_NORMAL; type <= SA_PAGE_VMSA; type++) {
		sa_gctx a, b;
		sa_gctx_init(&a, NULL);
		sa_gctx_init(&b, NULL);
		assert_int_equal(sa_gctx_update_page(&a, type, 0x7000, page, &err), SA_OK);
		assert_int_equal(sa_gctx_update_digest(&b, type, 0x7000, h, &err), SA_OK);
		assert_memory_equal(a.ld, b.ld, 48);
		/* Contents, type and GPA each change the digest. */
		sa_gctx c;
		sa_gctx_init(&c, NULL);
		assert_int_equal(sa_gctx_update_digest(&c, type, 0x8000, h, &err), SA_OK);
		assert_memory_not_equal(a.ld, c.ld, 48);
	}
	sa_gctx n, v;
	sa_gctx_init(&n, NULL);
	sa_gctx_init(&v, NULL);
	assert_int_equal(sa_gctx_update_page(&n, SA_PAGE_NORMAL, 0x7000, page, &err), SA_OK);
	assert_int_equal(sa_gctx_update_page(&v, SA_PAGE_VMSA, 0x7000, page, &err), SA_OK);
	assert_memory_not_equal(n.ld, v.ld, 48);
	free(page);
}

/* PAGE_INFO in the firmware's order: 0x64 reserved, 0x65 VMPL1, 0x66 VMPL2, 0x67 VMPL3, then the GPA. */
static void page_info_layout(void **state)
{
	(void)state;
	uint8_t cur[48], contents[48], out[SA_PAGE_INFO_SIZE];
	memset(cur, 0x11, sizeof(cur));
	memset(contents, 0x22, sizeof(contents));
	const uint8_t perms[3] = {0xA1, 0xA2, 0xA3};
	sa_error err;
	assert_int_equal(sa_page_info_encode(cur, contents, SA_PAGE_CPUID, 1, perms, 0x0123456789ABC000ull, out, &err),
			 SA_OK);
	assert_memory_equal(out, cur, 48);
	assert_memory_equal(out + 0x30, contents, 48);
	const uint8_t tail[] = {0x70, 0x00, 0x06, 0x01, 0x00, 0xA1, 0xA2, 0xA3,
				0x00, 0xC0, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
	assert_memory_equal(out + 0x60, tail, sizeof(tail));
	assert_int_equal(sa_page_info_encode(cur, contents, SA_PAGE_NORMAL, 2, NULL, 0, out, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "IMI_PAGE"));
}

static void errors_leave_digest_unchanged(void **state)
{
	(void)state;
	sa_error err;
	sa_gctx g;
	uint8_t seed[48];
	memset(seed, 0x5A, sizeof(seed));
	sa_gctx_init(&g, seed);
	uint8_t zero[48] = {0};
	uint8_t page[SA_PAGE_SIZE] = {0};

	assert_int_equal(sa_gctx_update_digest(&g, 0, 0x1000, zero, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "page type 0"));
	assert_int_equal(sa_gctx_update_digest(&g, 7, 0x1000, zero, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "page type 7"));
	assert_int_equal(sa_gctx_update_page(&g, 0xFF, 0x1000, NULL, &err), SA_ERR_ARG);
	assert_int_equal(sa_gctx_update_digest(&g, SA_PAGE_ZERO, 0x1234, zero, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "not 4 KiB aligned"));
	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_NORMAL, 0x1800, page, &err), SA_ERR_ARG);
	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_NORMAL, 0x1000, NULL, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "NORMAL page needs"));
	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_VMSA, SA_VMSA_GPA, NULL, &err), SA_ERR_ARG);
	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_ZERO, 0x1000, page, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "without contents"));
	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_SECRETS, 0x1000, page, &err), SA_ERR_ARG);
	assert_int_equal(sa_gctx_update_digest(&g, SA_PAGE_ZERO, 0x1000, NULL, &err), SA_ERR_ARG);
	assert_memory_equal(g.ld, seed, 48);

	assert_int_equal(sa_gctx_update_page(&g, SA_PAGE_UNMEASURED, 0x1000, NULL, &err), SA_OK);
	assert_memory_not_equal(g.ld, seed, 48);
}

static void page_type_names(void **state)
{
	(void)state;
	static const char *const names[] = {"reserved",   "NORMAL",  "VMSA",  "ZERO",
					    "UNMEASURED", "SECRETS", "CPUID", "reserved"};
	for (unsigned i = 0; i < 8; i++)
		assert_string_equal(sa_page_type_name(i), names[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(trace_known_answer),
	    cmocka_unit_test(trace_through_update_page),
	    cmocka_unit_test(page_contents_are_hashed),
	    cmocka_unit_test(page_info_layout),
	    cmocka_unit_test(errors_leave_digest_unchanged),
	    cmocka_unit_test(page_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
