/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SNP launch digest (GCTX.LD): firmware folds every page it measures into
 * LD = SHA-384(PAGE_INFO), a 0x70-byte structure of the previous digest, the
 * page's contents digest, its type and GPA.  One place for the emulated
 * SNP_LAUNCH_UPDATE and for expected-measurement calculators.
 *
 * PAGE_INFO (firmware order, AMD ASPFW/sev-tool): 0x00 DIGEST_CUR[48],
 * 0x30 CONTENTS[48], 0x60 LENGTH u16 = 0x70, 0x62 PAGE_TYPE u8, 0x63 IMI_PAGE
 * (bit 0), 0x64 reserved, 0x65 VMPL1_PERMS, 0x66 VMPL2_PERMS, 0x67 VMPL3_PERMS,
 * 0x68 GPA u64.  CONTENTS is SHA-384 of the page for NORMAL and VMSA pages and
 * zero for ZERO, UNMEASURED, SECRETS and CPUID pages.  VMSA pages are measured
 * at GPA 0xFFFFFFFFF000.
 */
#ifndef SEVATTEST_GCTX_H
#define SEVATTEST_GCTX_H

#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_PAGE_SIZE 4096
#define SA_PAGE_INFO_SIZE 0x70
#define SA_VMSA_GPA 0xFFFFFFFFF000ull

typedef enum sa_page_type {
	SA_PAGE_NORMAL = 1,
	SA_PAGE_VMSA = 2,
	SA_PAGE_ZERO = 3,
	SA_PAGE_UNMEASURED = 4,
	SA_PAGE_SECRETS = 5,
	SA_PAGE_CPUID = 6,
} sa_page_type;

const char *sa_page_type_name(unsigned type); /* "NORMAL", ... or "reserved" */

typedef struct sa_gctx {
	uint8_t ld[48];
} sa_gctx;

/* Start from 48 zero bytes, or from seed (an OVMF-hash seed). */
void sa_gctx_init(sa_gctx *g, const uint8_t *seed48);

/* Encode one PAGE_INFO. */
SA_MUST_USE sa_status sa_page_info_encode(const uint8_t digest_cur[48], const uint8_t contents[48], uint8_t page_type,
					  uint8_t imi, const uint8_t vmpl_perms[3], uint64_t gpa,
					  uint8_t out[SA_PAGE_INFO_SIZE], sa_error *err);

/*
 * Fold one page in.  page (4096 bytes) is hashed for NORMAL and VMSA pages and
 * must be NULL for the others (their CONTENTS are zero).  gpa must be page
 * aligned; unknown page types are refused (SA_ERR_ARG).
 */
SA_MUST_USE sa_status sa_gctx_update_page(sa_gctx *g, uint8_t page_type, uint64_t gpa, const uint8_t *page,
					  sa_error *err);
/* The same with the contents digest given (for callers that hash pages themselves). */
SA_MUST_USE sa_status sa_gctx_update_digest(sa_gctx *g, uint8_t page_type, uint64_t gpa,
					    const uint8_t contents[48], sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
