/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP report verification and appraisal.
 *
 * Flow: bytes -> sa_snp_report_decode -> chain (ARK pin/root -> ASK|ASVK ->
 * VCEK|VLEK) -> report signature -> VEK binding (TCB, CHIP_ID, product) ->
 * the relying party's appraisal options.  Every step adds one sa_check to the
 * verdict with a stable id, so a person (or a program reading JSON) sees
 * exactly which check failed and what was expected.
 */
#ifndef SEVATTEST_VERIFY_H
#define SEVATTEST_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/cert.h"
#include "sevattest/report.h"
#include "sevattest/tcb.h"
#include "sevattest/trust.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sa_check_status {
	SA_CHECK_PASS = 0,
	SA_CHECK_FAIL,
	SA_CHECK_WARN, /* noteworthy, does not reject */
	SA_CHECK_SKIP, /* not applicable or not requested */
} sa_check_status;

const char *sa_check_status_name(sa_check_status s); /* "pass", "fail", "warn", "skip" */

typedef struct sa_check {
	const char *id;     /* stable, e.g. "report.signature", "tcb.reported_matches_vek" */
	sa_check_status status;
	char summary[160];  /* one line for people */
	char expected[320]; /* may be empty */
	char actual[320];   /* may be empty */
} sa_check;

typedef struct sa_verdict {
	sa_check *checks;
	size_t n, cap;
	bool verified;       /* true iff no check failed */
	sa_product product;  /* as determined */
	int stepping;        /* SA_STEPPING_UNKNOWN if not known */
	const char *product_source; /* "cpuid", "vek", "user", "none" */
	sa_snp_report report;
	bool have_report;
	sa_cert_role signer_role;
	uint8_t vek_fingerprint[32];
	bool have_vek;
	bool incomplete;     /* a check could not be recorded (out of memory): never verified */
} sa_verdict;

void sa_verdict_init(sa_verdict *v);
void sa_verdict_free(sa_verdict *v);
/* The first failed check, or NULL. */
const sa_check *sa_verdict_first_failure(const sa_verdict *v);
const sa_check *sa_verdict_find(const sa_verdict *v, const char *id);

/*
 * Append a check (id must outlive the verdict: a string literal); fmt gives its
 * summary.  Returns the check so expected/actual can be filled in; if it cannot
 * be stored the verdict is marked incomplete and a scratch check is returned.
 * Shared by the SNP and SEV verifiers and the SEV chain check.
 */
sa_check *sa_verdict_add(sa_verdict *v, const char *id, sa_check_status st, const char *fmt, ...) SA_PRINTF(4, 5);
/* Copy expected and actual (either may be NULL) into the check. */
void sa_check_set_ev(sa_check *c, const char *expected, const char *actual);
/* verified := at least one check, none failed, nothing lost. */
void sa_verdict_conclude(sa_verdict *v);

typedef enum sa_signer_req {
	SA_SIGNER_ANY = 0,
	SA_SIGNER_VCEK_ONLY,
	SA_SIGNER_VLEK_ONLY,
} sa_signer_req;

typedef struct sa_tcb_min {
	bool set;
	sa_tcb min; /* parts compared component-wise */
} sa_tcb_min;

/* What the relying party demands beyond authenticity.  Zero-init = no demands. */
typedef struct sa_snp_appraisal {
	const uint8_t *report_data;      /* 64 bytes */
	const uint8_t *host_data;        /* 32 */
	const uint8_t (*measurements)[48]; /* accepted measurements (any of) */
	size_t n_measurements;
	const uint8_t *family_id;        /* 16 */
	const uint8_t *image_id;         /* 16 */
	const uint8_t *chip_id;          /* 64 */
	const uint8_t *report_id;        /* 32 */
	const uint8_t (*id_key_digests)[48]; /* trusted ID keys (any of) */
	size_t n_id_key_digests;
	const uint8_t (*author_key_digests)[48];
	size_t n_author_key_digests;
	bool require_id_block;   /* ID_KEY_DIGEST non-zero */
	bool require_author_key; /* AUTHOR_KEY_EN set and digest non-zero */

	sa_tcb_min min_current_tcb, min_reported_tcb, min_committed_tcb, min_launch_tcb;
	bool has_min_guest_svn;
	uint32_t min_guest_svn;
	bool has_min_build;
	uint8_t min_build;           /* CURRENT_BUILD and COMMITTED_BUILD */
	bool has_min_version;
	uint8_t min_major, min_minor; /* CURRENT and COMMITTED firmware major.minor */
	bool deny_provisional;       /* committed firmware and TCB must equal current */
	bool has_min_report_version;
	uint32_t min_report_version;

	int vmpl;               /* exact VMPL required, or -1 for any */
	int max_vmpl;           /* highest VMPL accepted, or -1 for any */
	uint64_t policy_deny;   /* guest policy bits that must be clear */
	uint64_t policy_require;/* guest policy bits that must be set */
	bool has_min_abi;
	uint8_t min_abi_major, min_abi_minor;
	uint64_t platform_deny;
	uint64_t platform_require;
	bool has_min_launch_mit, has_min_current_mit;
	uint64_t min_launch_mit, min_current_mit; /* bits that must be present (v5) */

	sa_product product;     /* required/assumed product, SA_PRODUCT_UNKNOWN = any */
	int stepping;           /* required stepping, or SA_STEPPING_UNKNOWN */
	sa_signer_req signer;
	bool strict_reserved;   /* reject non-zero reserved bytes even in newer report versions */
	bool skip_validity;     /* do not check certificate validity periods */
	const uint8_t *crl_der; /* the product's KDS CRL (DER): the intermediate must not be revoked */
	size_t crl_len;
} sa_snp_appraisal;

/* Zero the appraisal and set the "any" sentinels (vmpl = -1, stepping unknown). */
void sa_snp_appraisal_init(sa_snp_appraisal *a);

/*
 * Verify a report.  Returns SA_OK when the checks ran (the verdict says
 * whether the report passed); an error only when the input cannot be
 * verified at all (report bytes malformed: SA_ERR_TRUNCATED, SA_ERR_TRAILING,
 * SA_ERR_UNSUPPORTED).  Certificates come from trust (sa_trust_vek first,
 * then its pool).
 */
SA_MUST_USE sa_status sa_verify_snp_report(const uint8_t *report, size_t len, sa_trust *trust,
					   const sa_snp_appraisal *a, sa_verdict *out, sa_error *err);

/*
 * Product a report should be verified as: CPUID fields (v3+), else the user's
 * choice, else the VEK's productName.  Exposed so tools (the KDS client) agree
 * with the verifier.
 */
sa_product sa_snp_report_product(const sa_snp_report *r, sa_product user, const sa_cert *vek,
				 const char **source);

#ifdef __cplusplus
}
#endif
#endif
