/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification of SEV / SEV-ES evidence: the ATTESTATION report (0xD0 bytes)
 * with the platform's certificates.  The chains are sev_cert.c's
 * (sa_sev_chain_check); here the report is checked against the PEK and the
 * relying party's demands, one sa_check per step (ids in sev_verify.h).
 */
#include <stdio.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/encoding.h"
#include "sevattest/sev_verify.h"

#include "internal.h"

static void check_sig_fields(sa_verdict *v, const sa_sev_report *r)
{
	bool usage_ok = r->sig_usage == SA_SEV_USAGE_PEK;
	bool algo_ok = r->sig_algo == SA_SEV_ALGO_ECDSA_SHA256 || r->sig_algo == SA_SEV_ALGO_ECDSA_SHA384;
	char actual[96];
	snprintf(actual, sizeof(actual), "SIG_USAGE 0x%04x (%s), SIG_ALGO 0x%04x (%s)", r->sig_usage,
		 sa_sev_usage_name(r->sig_usage), r->sig_algo, sa_sev_algo_name(r->sig_algo));
	if (usage_ok && algo_ok)
		sa_verdict_add(v, "sev.report.sig_usage", SA_CHECK_PASS, "the report names the PEK and an ECDSA algorithm");
	else
		sa_check_set_ev(sa_verdict_add(v, "sev.report.sig_usage", SA_CHECK_FAIL,
					       "the report's signer is not the PEK with an ECDSA algorithm"),
				"SIG_USAGE 0x1002 (PEK), SIG_ALGO 0x0002 or 0x0102 (ECDSA)", actual);
}

static void check_signature(sa_verdict *v, const sa_sev_report *r, const sa_sev_cert *pek)
{
	if (!pek) {
		sa_verdict_add(v, "sev.report.signature", SA_CHECK_FAIL,
			       "no PEK certificate: the report's signature cannot be checked");
		return;
	}
	sa_error e;
	if (sa_sev_report_verify_sig(r, pek, &e) == SA_OK)
		sa_verdict_add(v, "sev.report.signature", SA_CHECK_PASS,
			       "the PEK signed the report (bytes 0x00..0x33, %s)", sa_sev_algo_name(r->sig_algo));
	else
		sa_check_set_ev(sa_verdict_add(v, "sev.report.signature", SA_CHECK_FAIL,
					       "the report's signature does not verify under the PEK"),
				"a valid signature by the PEK", e.msg);
}

static void check_mnonce(sa_verdict *v, const sa_sev_report *r, const uint8_t *want)
{
	char exp[33] = "", act[33];
	sa_hex_encode(r->mnonce, 16, act);
	if (!want) {
		sa_check_set_ev(sa_verdict_add(v, "sev.report.mnonce", SA_CHECK_FAIL,
					       "no MNONCE given: without one the report's freshness is unknown"),
				"the relying party's MNONCE", act);
		return;
	}
	sa_hex_encode(want, 16, exp);
	if (sa_ct_equal(r->mnonce, want, 16))
		sa_verdict_add(v, "sev.report.mnonce", SA_CHECK_PASS, "MNONCE is the relying party's");
	else
		sa_check_set_ev(sa_verdict_add(v, "sev.report.mnonce", SA_CHECK_FAIL,
					       "MNONCE differs from the relying party's (a replayed or foreign report)"),
				exp, act);
}

static void check_measurement(sa_verdict *v, const sa_sev_report *r, const sa_sev_appraisal *a)
{
	if (a->n_measurements == 0 || !a->measurements) {
		sa_verdict_add(v, "sev.report.measurement", SA_CHECK_SKIP, "no expected launch digest given");
		return;
	}
	for (size_t i = 0; i < a->n_measurements; i++)
		if (memcmp(a->measurements[i], r->launch_digest, 32) == 0) {
			sa_verdict_add(v, "sev.report.measurement", SA_CHECK_PASS,
				       "LAUNCH_DIGEST is accepted digest %zu of %zu", i + 1, a->n_measurements);
			return;
		}
	char exp[65 + 48], act[65];
	sa_hex_encode(a->measurements[0], 32, exp);
	if (a->n_measurements > 1)
		snprintf(exp + 64, sizeof(exp) - 64, " (or %zu more)", a->n_measurements - 1);
	sa_hex_encode(r->launch_digest, 32, act);
	sa_check_set_ev(sa_verdict_add(v, "sev.report.measurement", SA_CHECK_FAIL,
				       "LAUNCH_DIGEST is none of the %zu accepted digests", a->n_measurements),
			exp, act);
}

/* The flag names of bits ("NODBG|ES"), without the API part of sa_sev_policy_str. */
static const char *bits_str(uint32_t bits, char *buf, size_t cap)
{
	sa_sev_policy_str(bits & 0xFFFFu, buf, cap);
	char *sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
	return buf;
}

static void check_bits(sa_verdict *v, const char *id, uint32_t policy, uint32_t demand, bool must_set)
{
	char want[96], act[96], diff[96], exp[112];
	if (!demand) {
		sa_verdict_add(v, id, SA_CHECK_SKIP, must_set ? "no policy bits required" : "no policy bits forbidden");
		return;
	}
	uint32_t wrong = must_set ? demand & ~policy : demand & policy;
	bits_str(demand, want, sizeof(want));
	if (!wrong) {
		sa_verdict_add(v, id, SA_CHECK_PASS, must_set ? "the guest policy sets %s" : "the guest policy leaves %s clear",
			       want);
		return;
	}
	snprintf(exp, sizeof(exp), "%s: %s", must_set ? "set" : "clear", want);
	sa_sev_policy_str(policy, act, sizeof(act));
	bits_str(wrong, diff, sizeof(diff));
	sa_check_set_ev(sa_verdict_add(v, id, SA_CHECK_FAIL,
				       must_set ? "the guest policy leaves %s clear" : "the guest policy sets %s", diff),
			exp, act);
}

static void check_policy(sa_verdict *v, uint32_t policy, const sa_sev_appraisal *a)
{
	char exp[96], act[96];
	check_bits(v, "sev.policy.require", policy, a->policy_require, true);
	check_bits(v, "sev.policy.forbid", policy, a->policy_forbid, false);
	if (!a->has_api_min) {
		sa_verdict_add(v, "sev.policy.api_min", SA_CHECK_SKIP, "no minimum firmware API demanded");
		return;
	}
	unsigned maj = SA_SEV_POLICY_API_MAJOR(policy), min = SA_SEV_POLICY_API_MINOR(policy);
	snprintf(exp, sizeof(exp), "policy API minimum >= %u.%u", a->api_min_major, a->api_min_minor);
	snprintf(act, sizeof(act), "%u.%u", maj, min);
	if (maj > a->api_min_major || (maj == a->api_min_major && min >= a->api_min_minor))
		sa_verdict_add(v, "sev.policy.api_min", SA_CHECK_PASS,
			       "the guest policy demands firmware API %u.%u or later", maj, min);
	else
		sa_check_set_ev(sa_verdict_add(v, "sev.policy.api_min", SA_CHECK_FAIL,
					       "the guest policy lets the guest run on firmware older than %u.%u",
					       a->api_min_major, a->api_min_minor),
				exp, act);
}

sa_status sa_verify_sev_report(const sa_sev_evidence *ev, const sa_sev_trust *trust, const sa_sev_appraisal *a,
			       sa_verdict *out, sa_error *err)
{
	SA_ENSURE(ev && ev->report && trust && a && out, err, SA_ERR_ARG,
		  "SEV verify: evidence, trust, appraisal and verdict are required");
	sa_sev_report r;
	SA_TRY(sa_sev_report_decode(ev->report, ev->report_len, &r, err));
	SA_TRY(sa_sev_chain_check(&ev->chain, trust, out, err));
	check_sig_fields(out, &r);
	check_signature(out, &r, ev->chain.pek);
	check_mnonce(out, &r, a->mnonce);
	check_measurement(out, &r, a);
	check_policy(out, r.policy, a);
	sa_check_set_ev(sa_verdict_add(out, "sev.binding", SA_CHECK_WARN,
				       "SEV(-ES) reports are not bound to a particular guest by hardware: they prove "
				       "platform and image, not identity"),
			"a report bound to this guest",
			"not bound: any guest of this platform, or its host, can obtain a PEK-signed report for this "
			"launch digest; MNONCE proves freshness only");
	sa_verdict_conclude(out);
	return SA_OK;
}
