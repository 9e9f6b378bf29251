/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP ATTESTATION_REPORT (0x4A0 bytes), versions 2 to 5, decoded and
 * encoded field by field.  Every byte has a home in sa_snp_report, reserved
 * areas included, so decode followed by encode reproduces the input exactly.
 * The emulator encodes with this codec; the verifier decodes with it.
 */
#ifndef SEVATTEST_REPORT_H
#define SEVATTEST_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"
#include "sevattest/product.h"
#include "sevattest/tcb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_SNP_REPORT_SIZE 0x4A0
#define SA_SNP_REPORT_SIGNED_SIZE 0x2A0 /* bytes covered by the signature */
#define SA_SNP_REPORT_MIN_VERSION 2
#define SA_SNP_REPORT_MAX_VERSION 5     /* newest layout this codec knows */
#define SA_SNP_SIG_ALGO_ECDSA_P384_SHA384 1
#define SA_SNP_SIG_COMPONENT_SIZE 72

/* KEY_INFO (0x48) */
#define SA_KEYINFO_AUTHOR_KEY_EN (1u << 0)
#define SA_KEYINFO_MASK_CHIP_KEY (1u << 1)
#define SA_KEYINFO_SIGNING_KEY_SHIFT 2
#define SA_KEYINFO_SIGNING_KEY_MASK (7u << 2)
#define SA_KEYINFO_MBZ_MASK 0xFFFFFFE0u

typedef enum sa_signing_key {
	SA_SIGNING_KEY_VCEK = 0,
	SA_SIGNING_KEY_VLEK = 1,
	SA_SIGNING_KEY_NONE = 7,
} sa_signing_key;

const char *sa_signing_key_name(unsigned key); /* "VCEK", "VLEK", "none", "reserved" */

typedef struct sa_fw_version {
	uint8_t major, minor, build;
} sa_fw_version;

typedef struct sa_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t key_info;
	uint8_t reserved_04c[4];
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	uint8_t cpuid_fam_id; /* version >= 3; reserved before */
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t reserved_18b[21];
	uint8_t chip_id[64];
	uint64_t committed_tcb;
	sa_fw_version current;
	uint8_t reserved_1eb;
	sa_fw_version committed;
	uint8_t reserved_1ef;
	uint64_t launch_tcb;
	uint64_t launch_mit_vector;  /* version >= 5; reserved before */
	uint64_t current_mit_vector; /* version >= 5; reserved before */
	uint8_t reserved_208[0x98];
	uint8_t sig_r[SA_SNP_SIG_COMPONENT_SIZE]; /* little-endian, zero-padded */
	uint8_t sig_s[SA_SNP_SIG_COMPONENT_SIZE];
	uint8_t sig_reserved[0x170];
} sa_snp_report;

/* Decode exactly SA_SNP_REPORT_SIZE bytes.  Versions below 2 are refused; later
 * versions decode with the newest known layout (see sa_snp_report_findings). */
SA_MUST_USE sa_status sa_snp_report_decode(const uint8_t *buf, size_t len, sa_snp_report *out, sa_error *err);
/* Encode into exactly SA_SNP_REPORT_SIZE bytes. */
SA_MUST_USE sa_status sa_snp_report_encode(const sa_snp_report *r, uint8_t *out, size_t cap, sa_error *err);

static inline unsigned sa_snp_report_signing_key(const sa_snp_report *r)
{
	return (r->key_info & SA_KEYINFO_SIGNING_KEY_MASK) >> SA_KEYINFO_SIGNING_KEY_SHIFT;
}
static inline bool sa_snp_report_has_cpuid(const sa_snp_report *r) { return r->version >= 3; }
static inline bool sa_snp_report_has_mit_vectors(const sa_snp_report *r) { return r->version >= 5; }

/*
 * The product the report names through its CPUID fields (v3+), or
 * SA_PRODUCT_UNKNOWN for v2 reports and unrecognised family/model.
 */
sa_product sa_snp_report_cpuid_product(const sa_snp_report *r);

/*
 * Reserved-byte findings.  A finding is a reserved region (or MBZ bit field)
 * that holds non-zero bytes.  `mbz` is true where the report's own version
 * defines the region as must-be-zero; false where the report is newer than
 * this codec and the bytes may be fields we do not know.
 */
typedef struct sa_reserved_finding {
	size_t offset;
	size_t length;
	const char *name;
	bool mbz;
} sa_reserved_finding;

size_t sa_snp_report_findings(const sa_snp_report *r, sa_reserved_finding *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
