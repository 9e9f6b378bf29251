/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF firmware images as the SEV launch calculators read them.
 *
 * The image (OVMF.fd or OVMF_CODE.fd) is mapped so that it ends at 4 GiB:
 * its GPA is 0x100000000 - length.  Its last bytes carry a GUIDed table
 * (EDK2 ResetVectorVtf0.asm): the footer entry (GUID 96b582de-...) occupies
 * [len-0x32, len-0x20) and its u16 length is the size of the whole table;
 * every entry, read backwards, is data ‖ u16 length (data + 18) ‖ GUID (16
 * bytes, EFI mixed-endian).  The entries used here:
 *   00f771de-...  u32 SEV-ES AP reset vector (bits 15:0 IP, 31:16 CS base)
 *   dc886566-...  u32 offset from the end of the image of the SEV metadata
 *   7255371f-...  u32 base, u32 size of the kernel-hashes table area
 * The SEV metadata (OvmfSevMetadata.asm) is "ASEV" ‖ u32 size ‖ u32 version
 * (1) ‖ u32 count, then count × {u32 gpa, u32 size, u32 type}.
 *
 * Everything is read through the bounds-checked reader; a malformed image
 * (no footer, a table entry running past the table, metadata outside the
 * image, zero or too many sections, an unknown section type) is refused with
 * an error naming the field.  Unlike sev-snp-measure, an image without the
 * footer table is an error rather than an empty table.
 */
#ifndef SEVATTEST_OVMF_H
#define SEVATTEST_OVMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SEV metadata section types. */
typedef enum sa_ovmf_section_type {
	SA_OVMF_SNP_SEC_MEM = 1,
	SA_OVMF_SNP_SECRETS = 2,
	SA_OVMF_CPUID = 3,
	SA_OVMF_SVSM_CAA = 4,
	SA_OVMF_SNP_KERNEL_HASHES = 0x10,
} sa_ovmf_section_type;

/* "SNP_SEC_MEM", ... or "unknown". */
const char *sa_ovmf_section_type_name(uint32_t type);

/* Most SEV metadata sections accepted (edk2 images carry 6 or 7). */
#define SA_OVMF_MAX_SECTIONS 64
/* Largest image: it must fit below 4 GiB. */
#define SA_OVMF_MAX_SIZE 0x100000000ull

typedef struct sa_ovmf_section {
	uint32_t gpa;
	uint32_t size;
	uint32_t type;
} sa_ovmf_section;

typedef struct sa_ovmf {
	const uint8_t *data; /* the caller's image (not copied) */
	size_t len;
	uint64_t gpa; /* 4 GiB - len */

	bool has_reset_block;
	uint32_t sev_es_reset_eip; /* 0 if absent */

	bool has_hashes_table;
	uint32_t hashes_table_base;
	uint32_t hashes_table_size;

	bool has_metadata;
	size_t n_sections;
	sa_ovmf_section sections[SA_OVMF_MAX_SECTIONS];
} sa_ovmf;

/*
 * Parse image (len bytes, a non-zero multiple of 4096 up to 4 GiB).  out
 * points into image, which must outlive it.  Errors: SA_ERR_ARG (length),
 * SA_ERR_FORMAT / SA_ERR_TRUNCATED / SA_ERR_RANGE (malformed table or
 * metadata), SA_ERR_UNSUPPORTED (metadata version, section type).
 */
SA_MUST_USE sa_status sa_ovmf_parse(const uint8_t *image, size_t len, sa_ovmf *out, sa_error *err);

/* The first entry of the footer table with GUID guid (canonical text form); NULL if absent. */
SA_MUST_USE sa_status sa_ovmf_find_entry(const uint8_t *image, size_t len, const char *guid, const uint8_t **data,
					 size_t *data_len, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
