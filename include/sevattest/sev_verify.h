/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification of SEV / SEV-ES attestation evidence: an ATTESTATION report
 * (0xD0 bytes, PEK-signed) with the platform's PEK, CEK, OCA and AMD's ASK/ARK.
 *
 * Checks (stable ids, in sa_verdict, see verify.h):
 *   the chain checks of sa_sev_chain_check (sev.chain.*, sev.product)
 *   sev.report.signature     the PEK signed bytes 0x00..0x33
 *   sev.report.sig_usage     SIG_USAGE is the PEK (0x1002), SIG_ALGO an ECDSA algorithm
 *   sev.report.mnonce        MNONCE equals the relying party's (required input)
 *   sev.report.measurement   LAUNCH_DIGEST is one of the expected digests (when given)
 *   sev.policy.require       policy bits that must be set (NODBG, NOKS, ES, NOSEND, DOMAIN, SEV);
 *                            the CLI's --policy-deny names capabilities (debug, key-sharing,
 *                            send, non-es, non-domain, non-sev) and maps them to these bits
 *   sev.policy.forbid        policy bits that must be clear
 *   sev.policy.api_min       the policy's API minimum is at least the demanded one
 *   sev.binding              always a warning: SEV(-ES) reports are not bound to one guest by
 *                            hardware (any guest of the platform, or the host, can obtain a
 *                            PEK-signed report of any launch digest's guest; the mnonce only
 *                            proves freshness), so they prove platform and image, not identity
 */
#ifndef SEVATTEST_SEV_VERIFY_H
#define SEVATTEST_SEV_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_sev_appraisal {
	const uint8_t *mnonce;                 /* 16 bytes: required */
	const uint8_t (*measurements)[32];     /* accepted launch digests (any of); none = not checked */
	size_t n_measurements;
	uint32_t policy_require;               /* SA_SEV_POLICY_* bits that must be set */
	uint32_t policy_forbid;                /* bits that must be clear */
	bool has_api_min;
	uint8_t api_min_major, api_min_minor;  /* the policy's API minimum must be >= this */
} sa_sev_appraisal;

typedef struct sa_sev_evidence {
	const uint8_t *report; /* SA_SEV_REPORT_SIZE bytes */
	size_t report_len;
	sa_sev_chain chain;    /* PEK, CEK, OCA, ASK, ARK (PDH optional) */
} sa_sev_evidence;

/*
 * Verify.  SA_OK when the checks ran (the verdict says whether the evidence
 * passed); an error only when the report bytes cannot be decoded.
 * The verdict's `report` members are SNP's and stay unset.
 */
SA_MUST_USE sa_status sa_verify_sev_report(const sa_sev_evidence *ev, const sa_sev_trust *trust,
					   const sa_sev_appraisal *a, sa_verdict *out, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
