/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SNP launch digest: LD = SHA-384(PAGE_INFO) for every measured page.
 *
 * PAGE_INFO is written field by field through the bounds-checked writer in the
 * firmware's byte order (SNP ABI spec 56860, SNP_LAUNCH_UPDATE; AMD sev-tool
 * snp_launch_update_page_info): 0x64 reserved, 0x65 VMPL1_PERMS, 0x66
 * VMPL2_PERMS, 0x67 VMPL3_PERMS.  Some calculators put the permissions in the
 * opposite order; with all permissions zero (as every launch measures them)
 * the bytes are the same.
 */
#include <stdbool.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/gctx.h"

#include "internal.h"

const char *sa_page_type_name(unsigned type)
{
	switch (type) {
	case SA_PAGE_NORMAL: return "NORMAL";
	case SA_PAGE_VMSA: return "VMSA";
	case SA_PAGE_ZERO: return "ZERO";
	case SA_PAGE_UNMEASURED: return "UNMEASURED";
	case SA_PAGE_SECRETS: return "SECRETS";
	case SA_PAGE_CPUID: return "CPUID";
	}
	return "reserved";
}

void sa_gctx_init(sa_gctx *g, const uint8_t *seed48)
{
	if (seed48)
		memcpy(g->ld, seed48, sizeof(g->ld));
	else
		memset(g->ld, 0, sizeof(g->ld));
}

static bool page_type_known(unsigned type) { return type >= SA_PAGE_NORMAL && type <= SA_PAGE_CPUID; }

/* NORMAL and VMSA pages are measured by their contents; the others by 48 zero bytes. */
static bool page_type_hashed(unsigned type) { return type == SA_PAGE_NORMAL || type == SA_PAGE_VMSA; }

sa_status sa_page_info_encode(const uint8_t digest_cur[48], const uint8_t contents[48], uint8_t page_type, uint8_t imi,
			      const uint8_t vmpl_perms[3], uint64_t gpa, uint8_t out[SA_PAGE_INFO_SIZE], sa_error *err)
{
	SA_ENSURE(digest_cur && contents && out, err, SA_ERR_ARG, "PAGE_INFO: missing digest, contents or output");
	SA_ENSURE(imi <= 1, err, SA_ERR_RANGE, "PAGE_INFO: IMI_PAGE is %u, expected 0 or 1", imi);
	static const uint8_t no_perms[3] = {0, 0, 0};
	const uint8_t *perms = vmpl_perms ? vmpl_perms : no_perms;
	sa_writer w;
	sa_writer_init(&w, out, SA_PAGE_INFO_SIZE);
	SA_TRY(sa_write_bytes(&w, digest_cur, 48, "PAGE_INFO.DIGEST_CUR", err));
	SA_TRY(sa_write_bytes(&w, contents, 48, "PAGE_INFO.CONTENTS", err));
	SA_TRY(sa_write_u16(&w, SA_PAGE_INFO_SIZE, "PAGE_INFO.LENGTH", err));
	SA_TRY(sa_write_u8(&w, page_type, "PAGE_INFO.PAGE_TYPE", err));
	SA_TRY(sa_write_u8(&w, imi, "PAGE_INFO.IMI_PAGE", err));
	SA_TRY(sa_write_u8(&w, 0, "PAGE_INFO reserved (0x64)", err));
	SA_TRY(sa_write_u8(&w, perms[0], "PAGE_INFO.VMPL1_PERMS", err));
	SA_TRY(sa_write_u8(&w, perms[1], "PAGE_INFO.VMPL2_PERMS", err));
	SA_TRY(sa_write_u8(&w, perms[2], "PAGE_INFO.VMPL3_PERMS", err));
	SA_TRY(sa_write_u64(&w, gpa, "PAGE_INFO.GPA", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_PAGE_INFO_SIZE, err, SA_ERR_STATE,
		  "PAGE_INFO: encoded %zu bytes, expected %d", sa_writer_offset(&w), SA_PAGE_INFO_SIZE);
	return SA_OK;
}

sa_status sa_gctx_update_digest(sa_gctx *g, uint8_t page_type, uint64_t gpa, const uint8_t contents[48], sa_error *err)
{
	SA_ENSURE(g && contents, err, SA_ERR_ARG, "launch digest update: missing context or contents digest");
	SA_ENSURE(page_type_known(page_type), err, SA_ERR_ARG,
		  "launch digest update: page type %u is reserved, expected 1 (NORMAL) to 6 (CPUID)", page_type);
	SA_ENSURE((gpa & (SA_PAGE_SIZE - 1)) == 0, err, SA_ERR_ARG,
		  "launch digest update: %s page GPA 0x%llx is not 4 KiB aligned", sa_page_type_name(page_type),
		  (unsigned long long)gpa);
	uint8_t info[SA_PAGE_INFO_SIZE];
	SA_TRY(sa_page_info_encode(g->ld, contents, page_type, 0, NULL, gpa, info, err));
	uint8_t ld[48];
	SA_TRY(sa_sha384(info, sizeof(info), ld, err));
	memcpy(g->ld, ld, sizeof(ld));
	return SA_OK;
}

sa_status sa_gctx_update_page(sa_gctx *g, uint8_t page_type, uint64_t gpa, const uint8_t *page, sa_error *err)
{
	SA_ENSURE(g, err, SA_ERR_ARG, "launch digest update: missing context");
	SA_ENSURE(page_type_known(page_type), err, SA_ERR_ARG,
		  "launch digest update: page type %u is reserved, expected 1 (NORMAL) to 6 (CPUID)", page_type);
	uint8_t contents[48] = {0};
	if (page_type_hashed(page_type)) {
		SA_ENSURE(page, err, SA_ERR_ARG, "launch digest update: a %s page needs its %d bytes of contents",
			  sa_page_type_name(page_type), SA_PAGE_SIZE);
		SA_TRY(sa_sha384(page, SA_PAGE_SIZE, contents, err));
	} else {
		SA_ENSURE(!page, err, SA_ERR_ARG,
			  "launch digest update: a %s page is measured without contents, expected no page data",
			  sa_page_type_name(page_type));
	}
	return sa_gctx_update_digest(g, page_type, gpa, contents, err);
}
