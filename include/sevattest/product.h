/* SPDX-License-Identifier: Apache-2.0 */
/* AMD EPYC generations that implement SEV-SNP, and how to tell which one made a report. */
#ifndef SEVATTEST_PRODUCT_H
#define SEVATTEST_PRODUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sa_product {
	SA_PRODUCT_UNKNOWN = 0,
	SA_PRODUCT_MILAN,
	SA_PRODUCT_GENOA,
	SA_PRODUCT_TURIN,
} sa_product;

#define SA_STEPPING_UNKNOWN (-1)

/* KDS spelling: "Milan", "Genoa", "Turin"; "unknown" otherwise. */
const char *sa_product_name(sa_product p);

/*
 * Parse "Milan", "genoa", "Milan-B0", "Genoa-B2"...  The stepping suffix
 * <letter><digit> maps to the digit (AMD's B0 = stepping 0, B1 = 1, B2 = 2),
 * as KDS productName values do; no suffix gives SA_STEPPING_UNKNOWN.
 */
SA_MUST_USE sa_status sa_product_parse(const char *name, sa_product *product, int *stepping, sa_error *err);

/* From the report's CPUID_FAM_ID / CPUID_MOD_ID bytes (report version 3 and later). */
sa_product sa_product_from_cpuid(uint8_t family, uint8_t model);

/* Turin and later use the TCB_VERSION layout with an FMC field and 8-byte hwIDs. */
bool sa_product_turin_layout(sa_product p);

/* Bytes of CHIP_ID that identify the chip in the VCEK's hwID and the KDS URL. */
size_t sa_product_hwid_len(sa_product p);

#ifdef __cplusplus
}
#endif
#endif
