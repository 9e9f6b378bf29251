/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCB_VERSION: a u64 of security patch levels whose byte layout depends on
 * the product.  Milan/Genoa: byte0 BL, 1 TEE, 6 SNP, 7 UCODE.  Turin:
 * byte0 FMC, 1 BL, 2 TEE, 3 SNP, 7 UCODE.  Other bytes are reserved.
 */
#ifndef SEVATTEST_TCB_H
#define SEVATTEST_TCB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/product.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_tcb {
	uint64_t raw;
	bool turin_layout;
	uint8_t fmc; /* Turin layout only; 0 otherwise */
	uint8_t bl;
	uint8_t tee;
	uint8_t snp;
	uint8_t ucode;
	uint8_t reserved_nonzero; /* bitmask of reserved bytes (bit i = byte i) that are non-zero */
} sa_tcb;

sa_tcb sa_tcb_decode(uint64_t raw, bool turin_layout);
sa_tcb sa_tcb_decode_for(uint64_t raw, sa_product p);
/* Build raw from the named parts (reserved bytes zero). */
uint64_t sa_tcb_encode(const sa_tcb *t);

/* Component-wise a >= min (every SPL at least the minimum; FMC only in the Turin layout). */
bool sa_tcb_at_least(const sa_tcb *a, const sa_tcb *min);

/* "bl=3 tee=0 snp=8 ucode=115" (with "fmc=N " first for Turin); returns buf. */
char *sa_tcb_format(const sa_tcb *t, char *buf, size_t cap);

/* Parse "bl=3,tee=0,snp=8,ucode=115[,fmc=1]" or a raw u64 ("0x7308000000000003"). */
SA_MUST_USE sa_status sa_tcb_parse(const char *text, bool turin_layout, sa_tcb *out, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
