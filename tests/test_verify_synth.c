/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier against reports built and signed in the test with a
 * throw-away chain (ARK -> ASK -> VCEK, ARK -> ASVK -> VLEK) issued by
 * sa_cert_issue: the same path the emulated platform uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/sevattest.h"
#include "testutil.h"

struct pki {
	sa_product product;
	EVP_PKEY *ark_key, *ask_key, *asvk_key, *vcek_key, *vlek_key;
	sa_cert *ark, *ask, *asvk, *vcek, *vlek;
	uint8_t chip_id[64];
	sa_tcb tcb;
};

static struct pki pkis[2]; /* Milan and Turin */
static const time_t T0 = 1700000000; /* 2023-11-14 */

static sa_cert *issue(sa_cert_role role, sa_product p, uint64_t serial, EVP_PKEY *subject, const sa_cert *issuer,
		      EVP_PKEY *issuer_key, const sa_amd_ext *ext)
{
	sa_cert_template t = {.role = role, .product = p, .serial = serial, .not_before = T0 - 86400,
			      .not_after = T0 + 86400 * 365, .subject_key = subject, .issuer = issuer,
			      .issuer_key = issuer_key, .ext = ext};
	sa_cert *c = NULL;
	sa_error err;
	sa_status st = sa_cert_issue(&t, &c, &err);
	if (st != SA_OK)
		fail_msg("issue %s: %s", sa_cert_role_name(role), err.msg);
	return c;
}

static void make_pki(struct pki *k, sa_product p)
{
	sa_error err;
	k->product = p;
	assert_int_equal(sa_key_generate_rsa(2048, &k->ark_key, &err), SA_OK);
	assert_int_equal(sa_key_generate_rsa(2048, &k->ask_key, &err), SA_OK);
	assert_int_equal(sa_key_generate_rsa(2048, &k->asvk_key, &err), SA_OK);
	assert_int_equal(sa_key_generate_p384(&k->vcek_key, &err), SA_OK);
	assert_int_equal(sa_key_generate_p384(&k->vlek_key, &err), SA_OK);
	for (int i = 0; i < 64; i++)
		k->chip_id[i] = (uint8_t)(0xA0 + i);
	bool turin = sa_product_turin_layout(p);
	if (turin)
		memset(k->chip_id + 8, 0, 56);
	k->tcb = (sa_tcb){.turin_layout = turin, .fmc = turin ? 2 : 0, .bl = 7, .tee = 1, .snp = 22, .ucode = 0xd5};
	k->tcb.raw = sa_tcb_encode(&k->tcb);
	k->ark = issue(SA_ROLE_ARK, p, 0x10000, k->ark_key, NULL, k->ark_key, NULL);
	k->ask = issue(SA_ROLE_ASK, p, 0x10001, k->ask_key, k->ark, k->ark_key, NULL);
	k->asvk = issue(SA_ROLE_ASVK, p, 0x10002, k->asvk_key, k->ark, k->ark_key, NULL);
	sa_amd_ext x = {0};
	x.has_struct_version = true;
	x.struct_version = turin ? 1 : 0;
	x.has_product_name = true;
	snprintf(x.product_name, sizeof(x.product_name), "%s%s", sa_product_name(p), turin ? "" : "-B0");
	x.has_bl = x.has_tee = x.has_snp = x.has_ucode = true;
	x.has_fmc = turin;
	x.fmc = k->tcb.fmc;
	x.bl = k->tcb.bl;
	x.tee = k->tcb.tee;
	x.snp = k->tcb.snp;
	x.ucode = k->tcb.ucode;
	x.has_hwid = true;
	x.hwid_len = sa_product_hwid_len(p);
	memcpy(x.hwid, k->chip_id, x.hwid_len);
	k->vcek = issue(SA_ROLE_VCEK, p, 0, k->vcek_key, k->ask, k->ask_key, &x);
	x.has_hwid = false;
	x.hwid_len = 0;
	x.has_csp_id = true;
	snprintf(x.csp_id, sizeof(x.csp_id), "CN=test.example");
	k->vlek = issue(SA_ROLE_VLEK, p, 0, k->vlek_key, k->asvk, k->asvk_key, &x);
}

static void free_pki(struct pki *k)
{
	EVP_PKEY_free(k->ark_key);
	EVP_PKEY_free(k->ask_key);
	EVP_PKEY_free(k->asvk_key);
	EVP_PKEY_free(k->vcek_key);
	EVP_PKEY_free(k->vlek_key);
	sa_cert_free(k->ark);
	sa_cert_free(k->ask);
	sa_cert_free(k->asvk);
	sa_cert_free(k->vcek);
	sa_cert_free(k->vlek);
}

static int setup(void **state)
{
	(void)state;
	make_pki(&pkis[0], SA_PRODUCT_MILAN);
	make_pki(&pkis[1], SA_PRODUCT_TURIN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free_pki(&pkis[0]);
	free_pki(&pkis[1]);
	return 0;
}

/* A plausible report for the PKI's chip, unsigned. */
static sa_snp_report base_report(const struct pki *k, bool vlek)
{
	sa_snp_report r;
	memset(&r, 0, sizeof(r));
	r.version = k->product == SA_PRODUCT_TURIN ? 5 : 3;
	r.policy = 0x30000;
	r.signature_algo = 1;
	r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = k->tcb.raw;
	r.platform_info = SA_PLATFORM_SMT_EN | SA_PLATFORM_TSME_EN;
	r.key_info = (vlek ? SA_SIGNING_KEY_VLEK : SA_SIGNING_KEY_VCEK) << SA_KEYINFO_SIGNING_KEY_SHIFT;
	r.cpuid_fam_id = k->product == SA_PRODUCT_TURIN ? 0x1A : 0x19;
	r.cpuid_mod_id = k->product == SA_PRODUCT_TURIN ? 0x02 : 0x01;
	r.cpuid_step = 1;
	memcpy(r.chip_id, k->chip_id, 64);
	if (vlek)
		memset(r.chip_id, 0, 64);
	r.current = r.committed = (sa_fw_version){.major = 1, .minor = 55, .build = 40};
	memset(r.report_data, 0x5A, 64);
	memset(r.measurement, 0x4D, 48);
	return r;
}

static void sign(sa_snp_report *r, EVP_PKEY *key, uint8_t out[SA_SNP_REPORT_SIZE])
{
	sa_error err;
	assert_int_equal(sa_snp_report_encode(r, out, SA_SNP_REPORT_SIZE, &err), SA_OK);
	assert_int_equal(sa_ecdsa_p384_sign_le(key, out, SA_SNP_REPORT_SIGNED_SIZE, r->sig_r, r->sig_s, &err), SA_OK);
	assert_int_equal(sa_snp_report_encode(r, out, SA_SNP_REPORT_SIZE, &err), SA_OK);
}

/* A trust store that names the PKI's root (as --trust-root does) and holds its certificates. */
static sa_trust *trust_for(const struct pki *k, bool with_root, bool vlek)
{
	sa_trust *t;
	sa_error err;
	assert_int_equal(sa_trust_new(&t, &err), SA_OK);
	sa_cert_list roots = {0}, pool = {0};
	uint8_t *der;
	size_t len;
	const sa_cert *certs[] = {k->ark, vlek ? k->asvk : k->ask, vlek ? k->vlek : k->vcek};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sa_cert_to_der(certs[i], &der, &len, &err), SA_OK);
		assert_int_equal(sa_cert_parse_any(der, len, i == 0 && with_root ? &roots : &pool, &err), SA_OK);
		free(der);
	}
	if (with_root)
		assert_int_equal(sa_trust_set_roots(t, &roots, &err), SA_OK);
	assert_int_equal(sa_trust_add(t, &pool, &err), SA_OK);
	sa_cert_list_free(&roots);
	sa_cert_list_free(&pool);
	sa_trust_set_time(t, T0);
	return t;
}

static sa_verdict verify(sa_trust *t, const uint8_t *bytes, const sa_snp_appraisal *a)
{
	sa_verdict v;
	sa_verdict_init(&v);
	sa_error err;
	sa_status st = sa_verify_snp_report(bytes, SA_SNP_REPORT_SIZE, t, a, &v, &err);
	if (st != SA_OK)
		fail_msg("verify: %s", err.msg);
	return v;
}

static void expect(const sa_verdict *v, const char *id, sa_check_status want)
{
	const sa_check *k = sa_verdict_find(v, id);
	if (!k || k->status != want) {
		for (size_t i = 0; i < v->n; i++)
			fprintf(stderr, "  %s %s: %s\n", sa_check_status_name(v->checks[i].status), v->checks[i].id,
				v->checks[i].summary);
		fail_msg("check %s is %s, expected %s", id, k ? sa_check_status_name(k->status) : "absent",
			 sa_check_status_name(want));
	}
}

static void named_root_verifies_vcek_and_vlek(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		for (int vlek = 0; vlek < 2; vlek++) {
			struct pki *k = &pkis[i];
			sa_snp_report r = base_report(k, vlek);
			uint8_t bytes[SA_SNP_REPORT_SIZE];
			sign(&r, vlek ? k->vlek_key : k->vcek_key, bytes);
			sa_trust *t = trust_for(k, true, vlek);
			sa_verdict v = verify(t, bytes, NULL);
			if (!v.verified)
				expect(&v, "none", SA_CHECK_PASS);
			assert_int_equal(v.product, k->product);
			assert_int_equal(v.signer_role, vlek ? SA_ROLE_VLEK : SA_ROLE_VCEK);
			expect(&v, "chip_id.matches_vek", vlek ? SA_CHECK_SKIP : SA_CHECK_PASS);
			sa_verdict_free(&v);
			sa_trust_free(t);
		}
	}
}

/* The emulator's root is trusted only when named: under the pins it is refused. */
static void unnamed_root_is_refused(void **state)
{
	(void)state;
	struct pki *k = &pkis[0];
	sa_snp_report r = base_report(k, false);
	uint8_t bytes[SA_SNP_REPORT_SIZE];
	sign(&r, k->vcek_key, bytes);
	sa_trust *t = trust_for(k, false, false);
	sa_verdict v = verify(t, bytes, NULL);
	assert_false(v.verified);
	expect(&v, "chain.root", SA_CHECK_FAIL);
	assert_non_null(strstr(sa_verdict_find(&v, "chain.root")->summary, "pinned"));
	expect(&v, "report.signature", SA_CHECK_PASS);
	sa_verdict_free(&v);
	sa_trust_free(t);
}

static void binding_and_header_checks(void **state)
{
	(void)state;
	struct pki *k = &pkis[1]; /* Turin: FMC and 8-byte chip ids */
	sa_trust *t = trust_for(k, true, false);
	uint8_t bytes[SA_SNP_REPORT_SIZE];

	sa_snp_report r = base_report(k, false);
	sa_tcb other = k->tcb;
	other.fmc++;
	r.reported_tcb = sa_tcb_encode(&other);
	sign(&r, k->vcek_key, bytes);
	sa_verdict v = verify(t, bytes, NULL);
	expect(&v, "tcb.reported_matches_vek", SA_CHECK_FAIL);
	expect(&v, "report.signature", SA_CHECK_PASS);
	sa_verdict_free(&v);

	r = base_report(k, false);
	r.chip_id[7] ^= 1;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	expect(&v, "chip_id.matches_vek", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* Bytes past the first eight do not take part for Turin. */
	r = base_report(k, false);
	r.chip_id[9] = 0x77;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	expect(&v, "chip_id.matches_vek", SA_CHECK_PASS);
	sa_verdict_free(&v);

	r = base_report(k, false);
	r.key_info |= SA_KEYINFO_MASK_CHIP_KEY;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	assert_false(v.verified);
	expect(&v, "report.signed", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	r = base_report(k, false);
	r.signature_algo = 2;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	expect(&v, "report.signature_algo", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* Reserved bytes: fail in a known version, warn in a newer one. */
	r = base_report(k, false);
	r.reserved_208[0x18] = 1;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	expect(&v, "report.reserved", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	r.version = 6;
	sign(&r, k->vcek_key, bytes);
	v = verify(t, bytes, NULL);
	assert_true(v.verified);
	expect(&v, "report.reserved", SA_CHECK_WARN);
	expect(&v, "report.version", SA_CHECK_WARN);
	sa_verdict_free(&v);
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.strict_reserved = true;
	v = verify(t, bytes, &a);
	expect(&v, "report.reserved", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* Signed by the wrong key. */
	r = base_report(k, false);
	sign(&r, pkis[0].vcek_key, bytes);
	v = verify(t, bytes, NULL);
	expect(&v, "report.signature", SA_CHECK_FAIL);
	sa_verdict_free(&v);

	/* Certificates outside their validity period. */
	r = base_report(k, false);
	sign(&r, k->vcek_key, bytes);
	sa_trust_set_time(t, T0 + 86400 * 400);
	v = verify(t, bytes, NULL);
	expect(&v, "chain.vek_validity", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	a.strict_reserved = false;
	a.skip_validity = true;
	v = verify(t, bytes, &a);
	assert_true(v.verified);
	expect(&v, "chain.vek_validity", SA_CHECK_SKIP);
	sa_verdict_free(&v);
	sa_trust_free(t);
}

static void appraisal_each_demand(void **state)
{
	(void)state;
	struct pki *k = &pkis[0];
	sa_trust *t = trust_for(k, true, false);
	uint8_t bytes[SA_SNP_REPORT_SIZE];
	sa_snp_report r = base_report(k, false);
	r.guest_svn = 4;
	r.vmpl = 1;
	r.policy = 0x30000 | SA_POLICY_DEBUG | (2u << 8) | 1;
	r.key_info |= SA_KEYINFO_AUTHOR_KEY_EN;
	memset(r.id_key_digest, 0x1D, 48);
	memset(r.author_key_digest, 0xA7, 48);
	memset(r.host_data, 0x0D, 32);
	memset(r.family_id, 0xF1, 16);
	memset(r.image_id, 0x1A, 16);
	r.committed.build = 39;
	sign(&r, k->vcek_key, bytes);

	uint8_t good48[1][48], bad48[1][48], host[32], fam[16], img[16];
	memset(good48[0], 0x1D, 48);
	memset(bad48[0], 0x1E, 48);
	memset(host, 0x0D, 32);
	memset(fam, 0xF1, 16);
	memset(img, 0x1A, 16);
	uint8_t author[1][48];
	memset(author[0], 0xA7, 48);

	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.id_key_digests = (const uint8_t(*)[48])good48;
	a.n_id_key_digests = 1;
	a.author_key_digests = (const uint8_t(*)[48])author;
	a.n_author_key_digests = 1;
	a.host_data = host;
	a.family_id = fam;
	a.image_id = img;
	a.require_id_block = a.require_author_key = true;
	a.max_vmpl = 1;
	a.has_min_abi = true;
	a.min_abi_major = 2;
	a.min_abi_minor = 1;
	a.policy_require = SA_POLICY_SMT;
	a.platform_require = SA_PLATFORM_TSME_EN;
	a.platform_deny = SA_PLATFORM_ECC_EN;
	a.min_launch_tcb.set = true;
	a.min_launch_tcb.min = k->tcb;
	sa_verdict v = verify(t, bytes, &a);
	if (!v.verified)
		expect(&v, "none", SA_CHECK_PASS);
	sa_verdict_free(&v);

	/* One wrong demand at a time; each names its check. */
	struct {
		const char *id;
		void (*mut)(sa_snp_appraisal *);
	} cases[] = {
		{"id_key_digest", NULL}, {"policy.deny", NULL}, {"vmpl.max", NULL}, {"policy.min_abi", NULL},
		{"platform.deny", NULL}, {"firmware.committed", NULL}, {"firmware.min_build", NULL},
		{"report.signer_allowed", NULL}, {"report.min_version", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sa_snp_appraisal b = a;
		switch (i) {
		case 0: b.id_key_digests = (const uint8_t(*)[48])bad48; break;
		case 1: b.policy_deny = SA_POLICY_DEBUG; break;
		case 2: b.max_vmpl = 0; break;
		case 3: b.min_abi_minor = 2; break;
		case 4: b.platform_deny = SA_PLATFORM_SMT_EN; break;
		case 5: b.deny_provisional = true; break;
		case 6:
			b.has_min_build = true;
			b.min_build = 40; /* committed build is 39 */
			break;
		case 7: b.signer = SA_SIGNER_VLEK_ONLY; break;
		case 8:
			b.has_min_report_version = true;
			b.min_report_version = 5;
			break;
		}
		v = verify(t, bytes, &b);
		assert_false(v.verified);
		expect(&v, cases[i].id, SA_CHECK_FAIL);
		sa_verdict_free(&v);
	}
	sa_trust_free(t);
}

/* A user VEK from another chip: the binding checks say why. */
static void foreign_vek(void **state)
{
	(void)state;
	struct pki *k = &pkis[0];
	sa_snp_report r = base_report(k, false);
	uint8_t bytes[SA_SNP_REPORT_SIZE];
	sign(&r, k->vcek_key, bytes);
	sa_trust *t = trust_for(k, true, false);
	uint8_t *der;
	size_t len;
	sa_error err;
	assert_int_equal(sa_cert_to_der(pkis[1].vcek, &der, &len, &err), SA_OK);
	sa_cert *c;
	assert_int_equal(sa_cert_from_der(der, len, &c, &err), SA_OK);
	free(der);
	assert_int_equal(sa_trust_set_vek(t, c, &err), SA_OK);
	sa_verdict v = verify(t, bytes, NULL);
	assert_false(v.verified);
	expect(&v, "vek.product", SA_CHECK_FAIL);
	expect(&v, "chain.vek", SA_CHECK_FAIL);
	expect(&v, "report.signature", SA_CHECK_FAIL);
	sa_verdict_free(&v);
	sa_trust_free(t);
}

/* Trust roots that are not self-signed are refused and change nothing. */
static void bad_trust_root_changes_nothing(void **state)
{
	(void)state;
	sa_trust *t;
	sa_error err;
	assert_int_equal(sa_trust_new(&t, &err), SA_OK);
	uint8_t *der;
	size_t len;
	assert_int_equal(sa_cert_to_der(pkis[0].ask, &der, &len, &err), SA_OK);
	sa_cert_list l = {0};
	assert_int_equal(sa_cert_parse_any(der, len, &l, &err), SA_OK);
	free(der);
	assert_int_equal(sa_trust_set_roots(t, &l, &err), SA_ERR_VERIFY);
	assert_false(sa_trust_has_custom_roots(t));
	sa_cert_list_free(&l);
	sa_trust_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(named_root_verifies_vcek_and_vlek),
		cmocka_unit_test(unnamed_root_is_refused),
		cmocka_unit_test(binding_and_header_checks),
		cmocka_unit_test(appraisal_each_demand),
		cmocka_unit_test(foreign_vek),
		cmocka_unit_test(bad_trust_root_changes_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
