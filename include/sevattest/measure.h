/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Expected launch measurements: what a guest owner compares the report's
 * MEASUREMENT (SNP) or the LAUNCH_MEASURE digest (SEV, SEV-ES) against.
 * Follows sev-snp-measure (0.0.13) where calculators differ:
 *   - EC2 VMSAs carry RDX = 0x600 (sev-snp-measure; virtee/sev uses 0), so
 *     the EC2 vectors S10/S11 reproduce and virtee/sev's EC2 values do not;
 *   - MXCSR 0x1F80 and x87 FCW 0x37F in QEMU VMSAs (host kernels 6.10+);
 *   - GCE measures SNP_SEC_MEM as UNMEASURED pages, one per 4 KiB;
 *   - an AP reset vector of 0 with more than one vCPU is an error.
 *
 * Modes:
 *   SNP            48-byte SNP launch digest (OVMF pages, metadata sections,
 *                  one VMSA per vCPU), through sa_gctx
 *   SNP_OVMF_HASH  the launch digest after the OVMF pages only (a seed)
 *   SEVES          SHA-256(OVMF ‖ [hashes table] ‖ VMSA × vCPUs), SEV_FEATURES 0
 *   SEV            SHA-256(OVMF ‖ [hashes table])
 */
#ifndef SEVATTEST_MEASURE_H
#define SEVATTEST_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_VMSA_SIZE 4096
#define SA_SEV_HASHES_TABLE_SIZE 176
#define SA_BSP_EIP 0xFFFFFFF0u
#define SA_DEFAULT_GUEST_FEATURES 0x1ull

typedef enum sa_measure_mode {
	SA_MEASURE_SNP = 0,
	SA_MEASURE_SNP_OVMF_HASH = 1,
	SA_MEASURE_SEVES = 2,
	SA_MEASURE_SEV = 3,
} sa_measure_mode;

typedef enum sa_vmm_type {
	SA_VMM_QEMU = 0,
	SA_VMM_EC2 = 1,
	SA_VMM_GCE = 2,
} sa_vmm_type;

/* "snp", "snp:ovmf-hash", "seves", "sev" <-> mode. */
SA_MUST_USE sa_status sa_measure_mode_parse(const char *text, sa_measure_mode *out, sa_error *err);
const char *sa_measure_mode_name(sa_measure_mode mode);
/* "qemu", "ec2", "gce" (case-insensitive) <-> vmm type. */
SA_MUST_USE sa_status sa_vmm_type_parse(const char *text, sa_vmm_type *out, sa_error *err);
const char *sa_vmm_type_name(sa_vmm_type vmm);

/*
 * The vCPU signature (CPUID 1 EAX) a VMSA's RDX carries:
 * ext_family<<20 | ext_model<<16 | family_low<<8 | model_low<<4 | stepping, with
 * family_low = min(family, 0xF) and ext_family = family - 0xF above 0xF.
 * family 0..0x10E, model 0..0xFF, stepping 0..0xF.
 */
SA_MUST_USE sa_status sa_vcpu_sig(unsigned family, unsigned model, unsigned stepping, uint32_t *sig,
				  sa_error *err);
/* By QEMU CPU model name: EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome(-v1..v4), EPYC-Milan(-v1..v2),
 * EPYC-Genoa(-v1), EPYC-Turin(-v1) (case-insensitive). */
SA_MUST_USE sa_status sa_vcpu_sig_by_name(const char *name, uint32_t *sig, sa_error *err);

/*
 * Build one 4096-byte VMSA page field by field: the reset state of a vCPU
 * starting at eip (SA_BSP_EIP for the BSP, the OVMF AP reset vector for the
 * others) as vmm sets it up, with RDX = vcpu_sig (QEMU) and SEV_FEATURES =
 * sev_features (pass 0 for SEV-ES).
 */
SA_MUST_USE sa_status sa_vmsa_build(sa_vmm_type vmm, uint32_t eip, uint32_t vcpu_sig, uint64_t sev_features,
				    uint8_t page[SA_VMSA_SIZE], sa_error *err);

/*
 * The QEMU SEV kernel-hashes table (176 bytes, padded): SHA-256 of cmdline ‖
 * NUL (cmdline NULL = ""), of the initrd (NULL = empty) and of the kernel.
 */
SA_MUST_USE sa_status sa_sev_hashes_table(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
					  size_t initrd_len, const char *cmdline,
					  uint8_t out[SA_SEV_HASHES_TABLE_SIZE], sa_error *err);

/* Called for every page folded into an SNP digest (contents: zeros for unhashed types). */
typedef void (*sa_measure_trace_fn)(void *ctx, size_t index, uint8_t page_type, uint64_t gpa,
				    const uint8_t contents[48], const uint8_t ld_after[48]);

typedef struct sa_measure_params {
	sa_measure_mode mode;
	const uint8_t *ovmf; /* the whole image */
	size_t ovmf_len;
	unsigned vcpus;           /* SNP and SEV-ES: >= 1 */
	uint32_t vcpu_sig;        /* SNP and SEV-ES */
	sa_vmm_type vmm;          /* SNP and SEV-ES */
	uint64_t guest_features;  /* SNP: SEV_FEATURES of every VMSA */
	bool has_kernel;          /* measured direct boot: kernel (may be empty), initrd, cmdline */
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL = none */
	size_t initrd_len;
	const char *cmdline; /* NULL = none */
	const uint8_t *ovmf_hash; /* SNP: 48-byte precomputed digest of the OVMF pages, or NULL */
	/* SEV-ES: the VMSA pages themselves (SA_VMSA_SIZE bytes each, e.g. saved from a real launch) instead
	 * of built ones: vmsa_bsp for vCPU 0, vmsa_ap for every other vCPU (needed when vcpus > 1); both
	 * NULL = build them from vcpu_sig and vmm */
	const uint8_t *vmsa_bsp;
	const uint8_t *vmsa_ap;
	sa_measure_trace_fn trace; /* optional */
	void *trace_ctx;
} sa_measure_params;

typedef struct sa_measure_result {
	uint8_t digest[48];
	size_t digest_len; /* 48 (SNP) or 32 (SEV, SEV-ES) */
	size_t pages;      /* SNP: PAGE_INFO updates folded in */
	bool has_ovmf_hash; /* SNP: ovmf_hash is the digest after the OVMF pages */
	uint8_t ovmf_hash[48];
	bool has_hashes_table;
	uint8_t hashes_table[SA_SEV_HASHES_TABLE_SIZE];
	bool has_bsp_vmsa, has_ap_vmsa; /* SHA-384 of the VMSA pages (SNP, SEV-ES) */
	uint8_t bsp_vmsa_sha384[48];
	uint8_t ap_vmsa_sha384[48];
} sa_measure_result;

/*
 * The SNP launch as a page plan: every page QEMU + OVMF hand to
 * SNP_LAUNCH_UPDATE, in launch order, for mode snp (mode snp:ovmf-hash: the
 * OVMF pages only; with p->ovmf_hash the OVMF pages are left out, the seed
 * stands for them).  sa_measure folds this plan into the launch digest and the
 * emulated launch (`sevattest emu vm launch --ovmf`) sends it, so the two
 * agree by construction.  In order:
 *   1. every 4 KiB page of OVMF as NORMAL, at 4 GiB - len + offset;
 *   2. the SEV metadata sections in table order: SNP_SEC_MEM as ZERO pages
 *      (UNMEASURED for GCE), SNP_SECRETS as one SECRETS page, CPUID as one
 *      CPUID page (EC2: all CPUID pages after the loop), SVSM_CAA as ZERO
 *      pages, SNP_KERNEL_HASHES as one NORMAL page holding the hashes table
 *      at base & 0xFFF when a kernel is given, else ZERO pages;
 *   3. one VMSA page per vCPU (BSP at 0xFFFFFFF0, APs at the reset vector),
 *      each named at GPA SA_VMSA_GPA, where firmware measures it.
 * contents is the page (4096 bytes) for NORMAL and VMSA pages and NULL for
 * ZERO, UNMEASURED, SECRETS and CPUID pages (measured with zero contents; a
 * launcher supplies the CPUID table itself).  contents is valid only during
 * the call.  A non-SA_OK return from fn stops the plan with that status.
 */
typedef sa_status (*sa_snp_page_fn)(void *ctx, uint8_t page_type, uint64_t gpa, const uint8_t *contents,
				    sa_error *err);

typedef struct sa_snp_plan_info {
	size_t ovmf_pages;     /* the OVMF pages that open the plan (0 with p->ovmf_hash); set before the first page */
	bool has_hashes_table; /* a kernel was given: the table in the SNP_KERNEL_HASHES page */
	uint8_t hashes_table[SA_SEV_HASHES_TABLE_SIZE];
	bool has_secrets;      /* the GPA of the (first) SNP_SECRETS section, from the metadata */
	uint64_t secrets_gpa;
} sa_snp_plan_info;

/* Run the plan for p (mode snp or snp:ovmf-hash) through fn; info (may be NULL) receives what it used. */
SA_MUST_USE sa_status sa_snp_page_plan(const sa_measure_params *p, sa_snp_page_fn fn, void *ctx,
				       sa_snp_plan_info *info, sa_error *err);

/*
 * Compute the expected measurement.  Errors name the cause, e.g. a kernel
 * given for an image without kernel-hashes support (SA_ERR_UNSUPPORTED).
 */
SA_MUST_USE sa_status sa_measure(const sa_measure_params *p, sa_measure_result *out, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
