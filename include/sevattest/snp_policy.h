/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP guest policy (u64) and PLATFORM_INFO (u64) bits, with stable names. */
#ifndef SEVATTEST_SNP_POLICY_H
#define SEVATTEST_SNP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Guest policy (SNP ABI spec 56860, "Guest Policy"). */
#define SA_POLICY_ABI_MINOR_MASK 0xFFull
#define SA_POLICY_ABI_MAJOR_SHIFT 8
#define SA_POLICY_ABI_MAJOR_MASK (0xFFull << 8)
#define SA_POLICY_SMT (1ull << 16)
#define SA_POLICY_RESERVED_MBO (1ull << 17) /* must be one */
#define SA_POLICY_MIGRATE_MA (1ull << 18)
#define SA_POLICY_DEBUG (1ull << 19)
#define SA_POLICY_SINGLE_SOCKET (1ull << 20)
#define SA_POLICY_CXL_ALLOW (1ull << 21)
#define SA_POLICY_MEM_AES_256_XTS (1ull << 22)
#define SA_POLICY_RAPL_DIS (1ull << 23)
#define SA_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define SA_POLICY_PAGE_SWAP_DISABLE (1ull << 25)
#define SA_POLICY_DEFINED_MASK 0x3FFFFFFull /* bits 25:0 */

/* PLATFORM_INFO. */
#define SA_PLATFORM_SMT_EN (1ull << 0)
#define SA_PLATFORM_TSME_EN (1ull << 1)
#define SA_PLATFORM_ECC_EN (1ull << 2)
#define SA_PLATFORM_RAPL_DIS (1ull << 3)
#define SA_PLATFORM_CIPHERTEXT_HIDING_EN (1ull << 4)
#define SA_PLATFORM_ALIAS_CHECK_COMPLETE (1ull << 5)
#define SA_PLATFORM_SEV_TIO_EN (1ull << 7)

typedef struct sa_bit_name {
	unsigned bit;
	const char *name; /* stable, lowercase with dashes: "migrate-ma" */
	const char *desc;
} sa_bit_name;

/* Tables of the named single-bit flags (ABI version fields are not in them). */
const sa_bit_name *sa_policy_bits(size_t *count);
const sa_bit_name *sa_platform_info_bits(size_t *count);

/* Parse "debug,migrate-ma,smt" (names from the table or "bitN") into a mask. */
SA_MUST_USE sa_status sa_bits_parse(const sa_bit_name *table, size_t count, const char *list, uint64_t *mask,
				    const char *field, sa_error *err);
/* "smt,reserved-mbo,debug" for the set bits (unnamed set bits as "bitN"); returns buf. */
char *sa_bits_format(const sa_bit_name *table, size_t count, uint64_t value, uint64_t skip_mask, char *buf,
		     size_t cap);

static inline unsigned sa_policy_abi_major(uint64_t p) { return (unsigned)((p >> 8) & 0xFF); }
static inline unsigned sa_policy_abi_minor(uint64_t p) { return (unsigned)(p & 0xFF); }

/*
 * Validate a policy as SNP_LAUNCH_START does: bit 17 must be one and bits 63:26
 * must be zero.  Returns SA_ERR_FORMAT with the offending bit named.
 */
SA_MUST_USE sa_status sa_policy_check_wellformed(uint64_t policy, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
