/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP report verification.
 *
 * Phases, each adding checks to the verdict:
 *   1. Decode     the report through the codec (malformed input is an error,
 *                 not a verdict).
 *   2. Report     version, signature algorithm, key info, reserved bytes.
 *   3. Product    from CPUID (v3+), the user, or the VEK's productName (v2).
 *   4. Chain      root (pin or named root) -> ASK|ASVK -> VCEK|VLEK, with
 *                 validity at the trust store's clock.
 *   5. Signature  ECDSA P-384/SHA-384 over bytes 0..0x29F by the VEK.
 *   6. Binding    REPORTED_TCB equals the VEK's SPLs; CHIP_ID equals hwID.
 *   7. Appraisal  the relying party's demands (sa_snp_appraisal).
 * Checks run even after an earlier failure where their inputs exist, so the
 * output shows everything that is wrong, not just the first thing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/kds.h"
#include "sevattest/snp_policy.h"
#include "sevattest/verify.h"

#include "internal.h"
#include "trust_internal.h"

const char *sa_check_status_name(sa_check_status s)
{
	switch (s) {
	case SA_CHECK_PASS: return "pass";
	case SA_CHECK_FAIL: return "fail";
	case SA_CHECK_WARN: return "warn";
	case SA_CHECK_SKIP: return "skip";
	}
	return "unknown";
}

void sa_verdict_init(sa_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->stepping = SA_STEPPING_UNKNOWN;
	v->product_source = "none";
}

void sa_verdict_free(sa_verdict *v)
{
	free(v->checks);
	v->checks = NULL;
	v->n = v->cap = 0;
}

const sa_check *sa_verdict_first_failure(const sa_verdict *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->checks[i].status == SA_CHECK_FAIL)
			return &v->checks[i];
	return NULL;
}

const sa_check *sa_verdict_find(const sa_verdict *v, const char *id)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->checks[i].id, id) == 0)
			return &v->checks[i];
	return NULL;
}

void sa_snp_appraisal_init(sa_snp_appraisal *a)
{
	memset(a, 0, sizeof(*a));
	a->vmpl = -1;
	a->max_vmpl = -1;
	a->stepping = SA_STEPPING_UNKNOWN;
}

sa_check *sa_verdict_add(sa_verdict *v, const char *id, sa_check_status st, const char *fmt, ...)
{
	static _Thread_local sa_check sink;
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 32;
		sa_check *nv = realloc(v->checks, nc * sizeof(*nv));
		if (!nv) {
			v->incomplete = true;
			v->verified = false;
			memset(&sink, 0, sizeof(sink));
			return &sink;
		}
		v->checks = nv;
		v->cap = nc;
	}
	sa_check *c = &v->checks[v->n++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->summary, sizeof(c->summary), fmt, ap);
	va_end(ap);
	return c;
}

void sa_check_set_ev(sa_check *c, const char *expected, const char *actual)
{
	if (expected)
		snprintf(c->expected, sizeof(c->expected), "%s", expected);
	if (actual)
		snprintf(c->actual, sizeof(c->actual), "%s", actual);
}

void sa_verdict_conclude(sa_verdict *v)
{
	v->verified = !v->incomplete && v->n > 0 && sa_verdict_first_failure(v) == NULL;
}

static void hexs(const uint8_t *p, size_t n, char *out) { sa_hex_encode(p, n, out); }

/* ---- phase 3: product ------------------------------------------------- */

sa_product sa_snp_report_product(const sa_snp_report *r, sa_product user, const sa_cert *vek, const char **source)
{
	sa_product p = sa_snp_report_cpuid_product(r);
	const char *src = "cpuid";
	if (p == SA_PRODUCT_UNKNOWN && user != SA_PRODUCT_UNKNOWN) {
		p = user;
		src = "user";
	}
	if (p == SA_PRODUCT_UNKNOWN && vek && vek->product != SA_PRODUCT_UNKNOWN) {
		p = vek->product;
		src = "vek";
	}
	if (p == SA_PRODUCT_UNKNOWN)
		src = "none";
	if (source)
		*source = src;
	return p;
}

/* ---- phase 4: chain --------------------------------------------------- */

static sa_status verify_sig_memo(sa_trust *t, const sa_cert *child, const sa_cert *issuer, sa_error *err)
{
	if (sa_trust_memo_has(t, child, issuer))
		return SA_OK;
	SA_TRY(sa_cert_verify_signed_by(child, issuer, err));
	sa_trust_memo_add(t, child, issuer);
	return SA_OK;
}

static void check_validity(sa_verdict *v, const char *id, const sa_cert *c, time_t now, bool skip)
{
	char nb[32], na[32], nw[32];
	sa_time_format(c->not_before, nb, sizeof(nb));
	sa_time_format(c->not_after, na, sizeof(na));
	sa_time_format(now, nw, sizeof(nw));
	char range[96];
	snprintf(range, sizeof(range), "%s .. %s", nb, na);
	if (skip) {
		sa_check *k = sa_verdict_add(v, id, SA_CHECK_SKIP, "%s validity not checked (as requested)", c->subject_cn);
		sa_check_set_ev(k, range, nw);
		return;
	}
	sa_error e;
	if (sa_cert_check_validity(c, now, &e) == SA_OK) {
		sa_check *k = sa_verdict_add(v, id, SA_CHECK_PASS, "%s is within its validity period", c->subject_cn);
		sa_check_set_ev(k, range, nw);
	} else {
		sa_check *k = sa_verdict_add(v, id, SA_CHECK_FAIL, "%s", e.msg);
		sa_check_set_ev(k, range, nw);
	}
}

/* Pick the root for product p; records the root check. */
static const sa_cert *find_root(sa_verdict *v, sa_trust *t, sa_product p)
{
	const sa_cert *roots[8];
	size_t n = sa_trust_roots(t, p, roots, 8);
	if (n > 0) {
		const sa_cert *root = roots[0];
		char fp[65];
		hexs(root->fingerprint, 32, fp);
		bool custom = sa_trust_has_custom_roots(t);
		sa_check *k = sa_verdict_add(v, "chain.root", SA_CHECK_PASS,
				  custom ? "root %s is a trust root named by the user"
					 : "root %s matches the pinned AMD fingerprint",
				  root->subject_cn);
		/* Pinned mode matched the pin byte for byte, so expected = actual. */
		sa_check_set_ev(k, custom ? "a root named with --trust-root" : fp, fp);
		return root;
	}
	/* Explain why there is none. */
	const sa_cert *arks[8];
	size_t na = sa_trust_find(t, SA_ROLE_ARK, p, arks, 8);
	if (sa_trust_has_custom_roots(t)) {
		sa_verdict_add(v, "chain.root", SA_CHECK_FAIL, "no trust root for %s among the roots named with --trust-root",
		    sa_product_name(p));
	} else if (na > 0) {
		char fp[65], want[65] = "";
		hexs(arks[0]->fingerprint, 32, fp);
		size_t np;
		const sa_ark_pin *pins = sa_ark_pins(&np);
		for (size_t i = 0; i < np; i++)
			if (pins[i].product == p)
				hexs(pins[i].fingerprint, 32, want);
		sa_check *k = sa_verdict_add(v, "chain.root", SA_CHECK_FAIL,
				  "%s does not match the pinned AMD ARK fingerprint; refused as a root",
				  arks[0]->subject_cn);
		sa_check_set_ev(k, want, fp);
	} else {
		sa_verdict_add(v, "chain.root", SA_CHECK_FAIL,
		    "no ARK for %s: pass the KDS chain with --chain FILE or --certs DIR, or allow a KDS fetch",
		    sa_product_name(p));
	}
	return NULL;
}

static const sa_cert *find_intermediate(sa_verdict *v, sa_trust *t, const sa_cert *root, sa_product p,
					sa_cert_role role)
{
	const sa_cert *cands[16];
	size_t n = sa_trust_find(t, role, p, cands, 16);
	if (n > 16)
		n = 16;
	sa_error e = {0};
	for (size_t i = 0; i < n; i++) {
		if (verify_sig_memo(t, cands[i], root, &e) == SA_OK) {
			sa_verdict_add(v, "chain.intermediate", SA_CHECK_PASS, "%s is signed by %s", cands[i]->subject_cn,
			    root->subject_cn);
			return cands[i];
		}
	}
	if (n > 0) {
		sa_verdict_add(v, "chain.intermediate", SA_CHECK_FAIL, "%s", e.msg);
		return NULL;
	}
	const char *want = role == SA_ROLE_ASVK ? "ASVK (SEV-VLEK-<product>)" : "ASK (SEV-<product>)";
	sa_cert_role other = role == SA_ROLE_ASVK ? SA_ROLE_ASK : SA_ROLE_ASVK;
	const sa_cert *o[1];
	if (sa_trust_find(t, other, p, o, 1) > 0)
		sa_verdict_add(v, "chain.intermediate", SA_CHECK_FAIL,
		    "no %s for %s; found %s, which signs %s, not the %s this report needs", want, sa_product_name(p),
		    o[0]->subject_cn, other == SA_ROLE_ASK ? "VCEKs" : "VLEKs", role == SA_ROLE_ASVK ? "VLEK" : "VCEK");
	else
		sa_verdict_add(v, "chain.intermediate", SA_CHECK_FAIL, "no %s for %s among the certificates supplied", want,
		    sa_product_name(p));
	return NULL;
}

static bool vek_matches_report(const sa_cert *c, const sa_snp_report *r, sa_product p)
{
	sa_tcb t = sa_tcb_decode_for(r->reported_tcb, p);
	if (!c->ext.has_bl || !c->ext.has_tee || !c->ext.has_snp || !c->ext.has_ucode)
		return false;
	if (c->ext.bl != t.bl || c->ext.tee != t.tee || c->ext.snp != t.snp || c->ext.ucode != t.ucode)
		return false;
	if (t.turin_layout && (!c->ext.has_fmc || c->ext.fmc != t.fmc))
		return false;
	if (c->role == SA_ROLE_VCEK) {
		size_t hl = sa_product_hwid_len(p);
		if (!c->ext.has_hwid || c->ext.hwid_len != hl || memcmp(c->ext.hwid, r->chip_id, hl) != 0)
			return false;
	}
	return true;
}

/* The user's VEK, else the pool VEK of the right role that matches the report. */
static const sa_cert *find_vek(const sa_trust *t, const sa_snp_report *r, sa_product p, sa_cert_role role)
{
	if (sa_trust_vek(t))
		return sa_trust_vek(t);
	const sa_cert *cands[32];
	size_t n = sa_trust_find(t, role, SA_PRODUCT_UNKNOWN, cands, 32);
	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++)
		if (vek_matches_report(cands[i], r, p))
			return cands[i];
	return n == 1 ? cands[0] : NULL; /* a lone VEK: let the binding checks say what is wrong */
}

/* ---- phase 6: binding ------------------------------------------------- */

static void check_tcb_binding(sa_verdict *v, const sa_snp_report *r, const sa_cert *vek, sa_product p)
{
	sa_tcb t = sa_tcb_decode_for(r->reported_tcb, p);
	char rep[96], want[96];
	sa_tcb_format(&t, rep, sizeof(rep));
	const sa_amd_ext *x = &vek->ext;
	if (!(x->has_bl && x->has_tee && x->has_snp && x->has_ucode) || (t.turin_layout && !x->has_fmc)) {
		sa_verdict_add(v, "tcb.reported_matches_vek", SA_CHECK_FAIL,
		    "%s lacks SPL extensions, so its TCB cannot be compared with REPORTED_TCB", vek->subject_cn);
		return;
	}
	sa_tcb vt = {.turin_layout = t.turin_layout, .fmc = x->fmc, .bl = x->bl, .tee = x->tee, .snp = x->snp,
		     .ucode = x->ucode};
	sa_tcb_format(&vt, want, sizeof(want));
	bool eq = vt.bl == t.bl && vt.tee == t.tee && vt.snp == t.snp && vt.ucode == t.ucode &&
		  (!t.turin_layout || vt.fmc == t.fmc);
	sa_check *k = sa_verdict_add(v, "tcb.reported_matches_vek", eq ? SA_CHECK_PASS : SA_CHECK_FAIL,
			  eq ? "REPORTED_TCB equals the %s's SPLs" : "REPORTED_TCB differs from the %s's SPLs",
			  sa_cert_role_name(vek->role));
	sa_check_set_ev(k, want, rep);
	if (t.reserved_nonzero)
		sa_verdict_add(v, "tcb.reserved", SA_CHECK_WARN, "REPORTED_TCB 0x%016llx has non-zero reserved bytes (mask 0x%02x)",
		    (unsigned long long)t.raw, t.reserved_nonzero);
}

static void check_chip_binding(sa_verdict *v, const sa_snp_report *r, const sa_cert *vek, sa_product p)
{
	if (vek->role == SA_ROLE_VLEK) {
		sa_verdict_add(v, "chip_id.matches_vek", SA_CHECK_SKIP, "a VLEK is not bound to one chip; CHIP_ID not compared");
		return;
	}
	if (sa_all_zero(r->chip_id, sizeof(r->chip_id))) {
		sa_verdict_add(v, "chip_id.matches_vek", SA_CHECK_SKIP, "CHIP_ID is masked (all zero); not compared");
		return;
	}
	size_t hl = sa_product_hwid_len(p);
	char want[129], got[129];
	if (!vek->ext.has_hwid) {
		sa_verdict_add(v, "chip_id.matches_vek", SA_CHECK_FAIL, "%s has no hwID extension", vek->subject_cn);
		return;
	}
	hexs(vek->ext.hwid, vek->ext.hwid_len, want);
	hexs(r->chip_id, hl, got);
	bool eq = vek->ext.hwid_len == hl && memcmp(vek->ext.hwid, r->chip_id, hl) == 0;
	sa_check *k = sa_verdict_add(v, "chip_id.matches_vek", eq ? SA_CHECK_PASS : SA_CHECK_FAIL,
			  eq ? "CHIP_ID%s equals the VCEK's hwID" : "CHIP_ID%s differs from the VCEK's hwID",
			  hl == 8 ? " (first 8 bytes, Turin)" : "");
	sa_check_set_ev(k, want, got);
}

/* ---- phase 7: appraisal ----------------------------------------------- */

static void check_bytes(sa_verdict *v, const char *id, const char *name, const uint8_t *want, const uint8_t *got,
			size_t n)
{
	char w[129], g[129];
	hexs(want, n, w);
	hexs(got, n, g);
	bool eq = memcmp(want, got, n) == 0;
	sa_check *k = sa_verdict_add(v, id, eq ? SA_CHECK_PASS : SA_CHECK_FAIL, eq ? "%s is as expected" : "%s differs", name);
	sa_check_set_ev(k, w, g);
}

static void check_any_of(sa_verdict *v, const char *id, const char *name, const uint8_t (*list)[48], size_t n,
			 const uint8_t got[48])
{
	char g[97], w[320];
	hexs(got, 48, g);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(list[i], got, 48) == 0)
			found = true;
	if (n == 1)
		hexs(list[0], 48, w);
	else
		snprintf(w, sizeof(w), "one of %zu accepted values", n);
	sa_check *k = sa_verdict_add(v, id, found ? SA_CHECK_PASS : SA_CHECK_FAIL,
			  found ? "%s is an accepted value" : "%s is not an accepted value", name);
	sa_check_set_ev(k, w, g);
}

static void check_min_tcb(sa_verdict *v, const char *id, const char *name, uint64_t raw, sa_product p,
			  const sa_tcb_min *m)
{
	if (!m->set)
		return;
	sa_tcb t = sa_tcb_decode_for(raw, p);
	sa_tcb min = m->min;
	min.turin_layout = t.turin_layout;
	char got[96], want[96];
	sa_tcb_format(&t, got, sizeof(got));
	sa_tcb_format(&min, want, sizeof(want));
	bool ok = sa_tcb_at_least(&t, &min);
	sa_check *k = sa_verdict_add(v, id, ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			  ok ? "%s meets the minimum" : "%s is below the minimum", name);
	char w2[110];
	snprintf(w2, sizeof(w2), ">= %s", want);
	sa_check_set_ev(k, w2, got);
}

static void check_fw(sa_verdict *v, const sa_snp_report *r, const sa_snp_appraisal *a)
{
	char want[64], got[64];
	if (a->has_min_build) {
		bool ok = r->current.build >= a->min_build && r->committed.build >= a->min_build;
		snprintf(want, sizeof(want), ">= %u", a->min_build);
		snprintf(got, sizeof(got), "current %u, committed %u", r->current.build, r->committed.build);
		sa_check_set_ev(sa_verdict_add(v, "firmware.min_build", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "firmware build meets the minimum" : "firmware build is below the minimum"),
		       want, got);
	}
	if (a->has_min_version) {
		unsigned min = (unsigned)a->min_major << 8 | a->min_minor;
		unsigned cur = (unsigned)r->current.major << 8 | r->current.minor;
		unsigned com = (unsigned)r->committed.major << 8 | r->committed.minor;
		bool ok = cur >= min && com >= min;
		snprintf(want, sizeof(want), ">= %u.%u", a->min_major, a->min_minor);
		snprintf(got, sizeof(got), "current %u.%u, committed %u.%u", r->current.major, r->current.minor,
			 r->committed.major, r->committed.minor);
		sa_check_set_ev(sa_verdict_add(v, "firmware.min_version", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "firmware version meets the minimum" : "firmware version is below the minimum"),
		       want, got);
	}
	if (a->deny_provisional) {
		bool ok = r->current.major == r->committed.major && r->current.minor == r->committed.minor &&
			  r->current.build == r->committed.build && r->current_tcb == r->committed_tcb;
		snprintf(want, sizeof(want), "committed = current");
		snprintf(got, sizeof(got), "current %u.%u.%u, committed %u.%u.%u", r->current.major, r->current.minor,
			 r->current.build, r->committed.major, r->committed.minor, r->committed.build);
		sa_check_set_ev(sa_verdict_add(v, "firmware.committed", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "running firmware is committed" : "running firmware is provisional (not committed)"),
		       want, got);
	}
}

/* Bits of value that must be clear (deny) and that must be set (require). */
static void check_bits(sa_verdict *v, const char *deny_id, const char *require_id, const char *what,
		       const sa_bit_name *bits, size_t nb, uint64_t value, uint64_t deny, uint64_t require)
{
	char buf[150], want[160], got[64];
	snprintf(got, sizeof(got), "0x%llx", (unsigned long long)value);
	if (deny) {
		uint64_t bad = value & deny;
		sa_bits_format(bits, nb, deny, 0, buf, sizeof(buf));
		snprintf(want, sizeof(want), "clear: %s", buf);
		sa_bits_format(bits, nb, bad, 0, buf, sizeof(buf));
		sa_check_set_ev(bad ? sa_verdict_add(v, deny_id, SA_CHECK_FAIL, "%s sets bits the relying party refuses: %s", what, buf)
			   : sa_verdict_add(v, deny_id, SA_CHECK_PASS, "%s sets none of the refused bits", what),
		       want, got);
	}
	if (require) {
		uint64_t miss = require & ~value;
		sa_bits_format(bits, nb, require, 0, buf, sizeof(buf));
		snprintf(want, sizeof(want), "set: %s", buf);
		sa_bits_format(bits, nb, miss, 0, buf, sizeof(buf));
		sa_check_set_ev(miss ? sa_verdict_add(v, require_id, SA_CHECK_FAIL, "%s lacks required bits: %s", what, buf)
			    : sa_verdict_add(v, require_id, SA_CHECK_PASS, "%s sets every required bit", what),
		       want, got);
	}
}

static void check_policy(sa_verdict *v, const sa_snp_report *r, const sa_snp_appraisal *a)
{
	size_t nb;
	const sa_bit_name *bits = sa_policy_bits(&nb);
	check_bits(v, "policy.deny", "policy.require", "guest policy", bits, nb, r->policy, a->policy_deny,
		   a->policy_require);
	if (a->has_min_abi) {
		char want[32], got[32];
		unsigned maj = sa_policy_abi_major(r->policy), min = sa_policy_abi_minor(r->policy);
		bool ok = maj > a->min_abi_major || (maj == a->min_abi_major && min >= a->min_abi_minor);
		snprintf(want, sizeof(want), ">= %u.%u", a->min_abi_major, a->min_abi_minor);
		snprintf(got, sizeof(got), "%u.%u", maj, min);
		sa_check_set_ev(sa_verdict_add(v, "policy.min_abi", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "guest policy's minimum ABI meets the requirement"
			      : "guest policy's minimum ABI is below the requirement"),
		       want, got);
	}
}

static void check_platform(sa_verdict *v, const sa_snp_report *r, const sa_snp_appraisal *a)
{
	size_t nb;
	const sa_bit_name *bits = sa_platform_info_bits(&nb);
	check_bits(v, "platform.deny", "platform.require", "platform info", bits, nb, r->platform_info,
		   a->platform_deny, a->platform_require);
}

static void check_mit(sa_verdict *v, const char *id, const char *name, const sa_snp_report *r, uint64_t have,
		      uint64_t need)
{
	char want[40], got[40];
	snprintf(want, sizeof(want), "bits 0x%llx set", (unsigned long long)need);
	if (!sa_snp_report_has_mit_vectors(r)) {
		snprintf(got, sizeof(got), "report version %u", r->version);
		sa_check_set_ev(sa_verdict_add(v, id, SA_CHECK_FAIL, "%s is absent before report version 5", name), want, got);
		return;
	}
	snprintf(got, sizeof(got), "0x%llx", (unsigned long long)have);
	bool ok = (have & need) == need;
	sa_check_set_ev(sa_verdict_add(v, id, ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
		   ok ? "%s has every required mitigation" : "%s lacks required mitigations", name),
	       want, got);
}

static void appraise(sa_verdict *v, const sa_snp_report *r, sa_product p, const sa_snp_appraisal *a)
{
	char want[96], got[96];
	if (a->report_data)
		check_bytes(v, "report_data", "REPORT_DATA", a->report_data, r->report_data, 64);
	if (a->host_data)
		check_bytes(v, "host_data", "HOST_DATA", a->host_data, r->host_data, 32);
	if (a->n_measurements)
		check_any_of(v, "measurement", "MEASUREMENT", a->measurements, a->n_measurements, r->measurement);
	if (a->family_id)
		check_bytes(v, "family_id", "FAMILY_ID", a->family_id, r->family_id, 16);
	if (a->image_id)
		check_bytes(v, "image_id", "IMAGE_ID", a->image_id, r->image_id, 16);
	if (a->chip_id)
		check_bytes(v, "chip_id", "CHIP_ID", a->chip_id, r->chip_id, 64);
	if (a->report_id)
		check_bytes(v, "report_id", "REPORT_ID", a->report_id, r->report_id, 32);
	if (a->n_id_key_digests)
		check_any_of(v, "id_key_digest", "ID_KEY_DIGEST", a->id_key_digests, a->n_id_key_digests,
			     r->id_key_digest);
	if (a->n_author_key_digests) {
		if (!(r->key_info & SA_KEYINFO_AUTHOR_KEY_EN))
			sa_verdict_add(v, "author_key_digest", SA_CHECK_FAIL,
			    "an author key is demanded but AUTHOR_KEY_EN is clear in KEY_INFO");
		else
			check_any_of(v, "author_key_digest", "AUTHOR_KEY_DIGEST", a->author_key_digests,
				     a->n_author_key_digests, r->author_key_digest);
	}
	if (a->require_id_block) {
		bool ok = !sa_all_zero(r->id_key_digest, 48);
		sa_verdict_add(v, "id_block.required", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
		    ok ? "the guest was launched with an ID block" : "the guest was launched without an ID block");
	}
	if (a->require_author_key) {
		bool ok = (r->key_info & SA_KEYINFO_AUTHOR_KEY_EN) && !sa_all_zero(r->author_key_digest, 48);
		sa_verdict_add(v, "author_key.required", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
		    ok ? "the ID block was signed by an author key" : "the ID block was not signed by an author key");
	}
	check_min_tcb(v, "tcb.min_current", "CURRENT_TCB", r->current_tcb, p, &a->min_current_tcb);
	check_min_tcb(v, "tcb.min_reported", "REPORTED_TCB", r->reported_tcb, p, &a->min_reported_tcb);
	check_min_tcb(v, "tcb.min_committed", "COMMITTED_TCB", r->committed_tcb, p, &a->min_committed_tcb);
	check_min_tcb(v, "tcb.min_launch", "LAUNCH_TCB", r->launch_tcb, p, &a->min_launch_tcb);
	if (a->has_min_guest_svn) {
		bool ok = r->guest_svn >= a->min_guest_svn;
		snprintf(want, sizeof(want), ">= %u", a->min_guest_svn);
		snprintf(got, sizeof(got), "%u", r->guest_svn);
		sa_check_set_ev(sa_verdict_add(v, "guest_svn", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "GUEST_SVN meets the minimum" : "GUEST_SVN is below the minimum"),
		       want, got);
	}
	check_fw(v, r, a);
	if (a->has_min_report_version) {
		bool ok = r->version >= a->min_report_version;
		snprintf(want, sizeof(want), ">= %u", a->min_report_version);
		snprintf(got, sizeof(got), "%u", r->version);
		sa_check_set_ev(sa_verdict_add(v, "report.min_version", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "report version meets the minimum" : "report version is below the minimum"),
		       want, got);
	}
	if (a->vmpl >= 0) {
		bool ok = r->vmpl == (uint32_t)a->vmpl;
		snprintf(want, sizeof(want), "%d", a->vmpl);
		snprintf(got, sizeof(got), "%u", r->vmpl);
		sa_check_set_ev(sa_verdict_add(v, "vmpl", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "the report was requested at the expected VMPL" : "the report was requested at another VMPL"),
		       want, got);
	}
	if (a->max_vmpl >= 0) {
		bool ok = r->vmpl <= (uint32_t)a->max_vmpl;
		snprintf(want, sizeof(want), "<= %d", a->max_vmpl);
		snprintf(got, sizeof(got), "%u", r->vmpl);
		sa_check_set_ev(sa_verdict_add(v, "vmpl.max", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "VMPL is privileged enough" : "the report was requested at a less privileged VMPL"),
		       want, got);
	}
	check_policy(v, r, a);
	check_platform(v, r, a);
	if (a->has_min_launch_mit)
		check_mit(v, "mit.launch", "LAUNCH_MIT_VECTOR", r, r->launch_mit_vector, a->min_launch_mit);
	if (a->has_min_current_mit)
		check_mit(v, "mit.current", "CURRENT_MIT_VECTOR", r, r->current_mit_vector, a->min_current_mit);
}

/* ---- phase 2: report sanity ------------------------------------------- */

static void check_report_fields(sa_verdict *v, const sa_snp_report *r, const sa_snp_appraisal *a)
{
	char got[32];
	snprintf(got, sizeof(got), "%u", r->version);
	if (r->version <= SA_SNP_REPORT_MAX_VERSION)
		sa_check_set_ev(sa_verdict_add(v, "report.version", SA_CHECK_PASS, "report version %u is known", r->version), "2..5", got);
	else
		sa_check_set_ev(sa_verdict_add(v, "report.version", SA_CHECK_WARN,
			   "report version %u is newer than this verifier knows; decoded with the version %d layout",
			   r->version, SA_SNP_REPORT_MAX_VERSION),
		       "2..5", got);

	snprintf(got, sizeof(got), "%u", r->signature_algo);
	bool algo = r->signature_algo == SA_SNP_SIG_ALGO_ECDSA_P384_SHA384;
	sa_check_set_ev(sa_verdict_add(v, "report.signature_algo", algo ? SA_CHECK_PASS : SA_CHECK_FAIL,
		   algo ? "signature algorithm is ECDSA P-384 with SHA-384"
			: "signature algorithm is not ECDSA P-384 with SHA-384"),
	       "1", got);

	sa_reserved_finding f[16];
	size_t nf = sa_snp_report_findings(r, f, 16);
	if (nf > 16)
		nf = 16;
	if (nf == 0)
		sa_verdict_add(v, "report.reserved", SA_CHECK_PASS, "reserved fields are zero");
	for (size_t i = 0; i < nf; i++) {
		bool fail = f[i].mbz || a->strict_reserved;
		char where[48];
		snprintf(where, sizeof(where), "offset 0x%zx, %zu bytes", f[i].offset, f[i].length);
		sa_check_set_ev(sa_verdict_add(v, "report.reserved", fail ? SA_CHECK_FAIL : SA_CHECK_WARN,
			   fail ? "%s must be zero in report version %u but is not"
				: "%s is not zero (a field newer than this verifier, version %u?)",
			   f[i].name, r->version),
		       "zero", where);
	}

	unsigned sk = sa_snp_report_signing_key(r);
	if (r->key_info & SA_KEYINFO_MASK_CHIP_KEY)
		sa_verdict_add(v, "report.signed", SA_CHECK_FAIL,
		    "MASK_CHIP_KEY is set: the firmware did not sign this report (signature is zero)");
	else if (sk == SA_SIGNING_KEY_NONE)
		sa_verdict_add(v, "report.signed", SA_CHECK_FAIL, "SIGNING_KEY is 'none': this report is not signed");
	else if (sk != SA_SIGNING_KEY_VCEK && sk != SA_SIGNING_KEY_VLEK)
		sa_verdict_add(v, "report.signed", SA_CHECK_FAIL, "SIGNING_KEY is the reserved value %u", sk);
	else
		sa_verdict_add(v, "report.signed", SA_CHECK_PASS, "report is signed by the %s", sa_signing_key_name(sk));

	if (a->signer == SA_SIGNER_VCEK_ONLY || a->signer == SA_SIGNER_VLEK_ONLY) {
		unsigned want = a->signer == SA_SIGNER_VCEK_ONLY ? SA_SIGNING_KEY_VCEK : SA_SIGNING_KEY_VLEK;
		bool ok = sk == want;
		sa_check_set_ev(sa_verdict_add(v, "report.signer_allowed", ok ? SA_CHECK_PASS : SA_CHECK_FAIL,
			   ok ? "signing key type is allowed" : "signing key type is not allowed"),
		       sa_signing_key_name(want), sa_signing_key_name(sk));
	}
}

/* ---- phase 3 checks ----------------------------------------------------- */

static sa_product determine_product(sa_verdict *v, const sa_snp_report *r, const sa_snp_appraisal *a,
				    const sa_cert *vek)
{
	const char *src;
	sa_product p = sa_snp_report_product(r, a->product, vek, &src);
	v->product = p;
	v->product_source = src;
	sa_product cpu = sa_snp_report_cpuid_product(r);
	if (p == SA_PRODUCT_UNKNOWN) {
		if (sa_snp_report_has_cpuid(r))
			sa_verdict_add(v, "product", SA_CHECK_FAIL,
			    "CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product; pass --product",
			    r->cpuid_fam_id, r->cpuid_mod_id);
		else
			sa_verdict_add(v, "product", SA_CHECK_FAIL,
			    "a version %u report does not name its product; pass --product or a VEK", r->version);
		return p;
	}
	sa_verdict_add(v, "product", SA_CHECK_PASS, "product %s (from %s)", sa_product_name(p),
	    !strcmp(src, "cpuid") ? "the report's CPUID fields" : !strcmp(src, "user") ? "--product" : "the VEK");
	if (cpu != SA_PRODUCT_UNKNOWN && a->product != SA_PRODUCT_UNKNOWN && a->product != cpu)
		sa_check_set_ev(sa_verdict_add(v, "product.expected", SA_CHECK_FAIL, "the report is from another product than required"),
		       sa_product_name(a->product), sa_product_name(cpu));
	/* Stepping: CPUID_STEP (v3+), else the VEK's productName suffix. */
	if (sa_snp_report_has_cpuid(r))
		v->stepping = r->cpuid_step;
	else if (vek && vek->stepping != SA_STEPPING_UNKNOWN)
		v->stepping = vek->stepping;
	if (a->stepping != SA_STEPPING_UNKNOWN) {
		char want[16], got[16];
		snprintf(want, sizeof(want), "%d", a->stepping);
		snprintf(got, sizeof(got), "%d", v->stepping);
		if (v->stepping == SA_STEPPING_UNKNOWN)
			sa_verdict_add(v, "product.stepping", SA_CHECK_FAIL,
			    "expected product stepping %d, but the stepping is not known", a->stepping);
		else if (v->stepping != a->stepping)
			sa_check_set_ev(sa_verdict_add(v, "product.stepping", SA_CHECK_FAIL, "expected product stepping %d, got %d",
				   a->stepping, v->stepping),
			       want, got);
		else
			sa_check_set_ev(sa_verdict_add(v, "product.stepping", SA_CHECK_PASS, "product stepping is %d", v->stepping), want,
			       got);
	}
	return p;
}

sa_status sa_verify_snp_report(const uint8_t *report, size_t len, sa_trust *trust, const sa_snp_appraisal *a,
			       sa_verdict *out, sa_error *err)
{
	SA_ENSURE(trust && out, err, SA_ERR_ARG, "verify: trust store and verdict are required");
	sa_snp_appraisal none;
	if (!a) {
		sa_snp_appraisal_init(&none);
		a = &none;
	}
	sa_verdict *v = out;
	/* Phase 1: decode.  Malformed input is an error, not a verdict. */
	SA_TRY(sa_snp_report_decode(report, len, &v->report, err));
	v->have_report = true;
	const sa_snp_report *r = &v->report;

	/* Phase 2. */
	check_report_fields(v, r, a);
	unsigned sk = sa_snp_report_signing_key(r);
	sa_cert_role vek_role = sk == SA_SIGNING_KEY_VLEK ? SA_ROLE_VLEK : SA_ROLE_VCEK;
	sa_cert_role mid_role = vek_role == SA_ROLE_VLEK ? SA_ROLE_ASVK : SA_ROLE_ASK;
	v->signer_role = vek_role;

	/* Phase 3: the product may come from the VEK for v2 reports; look the VEK
	 * up with the best product guess first. */
	const char *src0;
	sa_product guess = sa_snp_report_product(r, a->product, sa_trust_vek(trust), &src0);
	const sa_cert *vek = find_vek(trust, r, guess, vek_role);
	sa_product p = determine_product(v, r, a, vek);
	if (vek && p != SA_PRODUCT_UNKNOWN && vek->product != SA_PRODUCT_UNKNOWN && vek->product != p)
		sa_check_set_ev(sa_verdict_add(v, "vek.product", SA_CHECK_FAIL, "the %s is for another product than the report",
			   vek->subject_cn),
		       sa_product_name(p), sa_product_name(vek->product));

	/* Phase 4: chain. */
	time_t now = sa_trust_now(trust);
	const sa_cert *root = p != SA_PRODUCT_UNKNOWN ? find_root(v, trust, p) : NULL;
	if (!root && p == SA_PRODUCT_UNKNOWN)
		sa_verdict_add(v, "chain.root", SA_CHECK_SKIP, "root not selected: product unknown");
	const sa_cert *mid = NULL;
	if (root) {
		sa_error e;
		if (verify_sig_memo(trust, root, root, &e) == SA_OK)
			sa_verdict_add(v, "chain.root_self_signature", SA_CHECK_PASS, "%s is self-signed", root->subject_cn);
		else
			sa_verdict_add(v, "chain.root_self_signature", SA_CHECK_FAIL, "%s", e.msg);
		check_validity(v, "chain.root_validity", root, now, a->skip_validity);
		mid = find_intermediate(v, trust, root, p, mid_role);
		if (mid)
			check_validity(v, "chain.intermediate_validity", mid, now, a->skip_validity);
		if (mid && a->crl_der) {
			if (sa_crl_check(a->crl_der, a->crl_len, root, mid, now, &e) == SA_OK)
				sa_verdict_add(v, "chain.crl", SA_CHECK_PASS, "%s is not revoked by the %s CRL", mid->subject_cn,
				    root->subject_cn);
			else
				sa_verdict_add(v, "chain.crl", SA_CHECK_FAIL, "%s", e.msg);
		}
	}
	if (!vek) {
		sa_verdict_add(v, "chain.vek", SA_CHECK_FAIL,
		    "no %s for this report: pass it with --vcek FILE, put it in --certs DIR, or allow a KDS fetch",
		    sa_cert_role_name(vek_role));
	} else {
		v->have_vek = true;
		memcpy(v->vek_fingerprint, vek->fingerprint, 32);
		if (vek->role != vek_role)
			sa_check_set_ev(sa_verdict_add(v, "vek.role", SA_CHECK_FAIL, "the report is signed by a %s but the certificate is a %s",
				   sa_cert_role_name(vek_role), sa_cert_role_name(vek->role)),
			       sa_cert_role_name(vek_role), sa_cert_role_name(vek->role));
		if (mid) {
			sa_error e;
			if (verify_sig_memo(trust, vek, mid, &e) == SA_OK)
				sa_verdict_add(v, "chain.vek", SA_CHECK_PASS, "%s is signed by %s", vek->subject_cn,
				    mid->subject_cn);
			else
				sa_verdict_add(v, "chain.vek", SA_CHECK_FAIL, "%s", e.msg);
		} else {
			sa_verdict_add(v, "chain.vek", SA_CHECK_SKIP, "%s not checked: no verified intermediate", vek->subject_cn);
		}
		check_validity(v, "chain.vek_validity", vek, now, a->skip_validity);

		/* Phase 5: signature. */
		sa_error e;
		if (sa_ecdsa_p384_verify_le(vek->pubkey, report, SA_SNP_REPORT_SIGNED_SIZE, r->sig_r, r->sig_s, &e) ==
		    SA_OK)
			sa_verdict_add(v, "report.signature", SA_CHECK_PASS, "report signature verifies with the %s",
			    sa_cert_role_name(vek->role));
		else
			sa_verdict_add(v, "report.signature", SA_CHECK_FAIL, "report signature does not verify with the %s: %s",
			    sa_cert_role_name(vek->role), e.msg);

		/* Phase 6: binding. */
		if (p != SA_PRODUCT_UNKNOWN) {
			check_tcb_binding(v, r, vek, p);
			check_chip_binding(v, r, vek, p);
		}
	}

	/* Phase 7. */
	if (p != SA_PRODUCT_UNKNOWN)
		appraise(v, r, p, a);

	sa_verdict_conclude(v);
	return SA_OK;
}
