/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON renderings of reports, certificates and verdicts (json-c).
 *
 * Conventions: byte strings are lowercase hex without a prefix; bit fields and
 * u64 words are "0x"-prefixed lowercase hex strings (a u64 does not survive a
 * JSON double); small counters are numbers; keys are snake_case, except the
 * policy and platform-info bit names, which are the stable names of
 * sa_policy_bits / sa_platform_info_bits ("migrate-ma"), the same names the
 * CLI's options take.  Optional members are left out rather than set to null,
 * except where null says "not known" (stepping, vek_fingerprint_sha256).
 *
 * Allocation failure anywhere makes the whole rendering return NULL.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sevattest/cert.h"
#include "sevattest/encoding.h"
#include "sevattest/json.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"
#include "sevattest/verify.h"

#include "internal.h"
#include "json_internal.h"

/* Builder state: one flag that any failed allocation raises. */
typedef struct jb {
	bool oom;
} jb;

static json_object *new_obj(jb *b)
{
	json_object *o = json_object_new_object();
	if (!o)
		b->oom = true;
	return o;
}

static json_object *new_arr(jb *b)
{
	json_object *o = json_object_new_array();
	if (!o)
		b->oom = true;
	return o;
}

bool sa_json_add(json_object *o, const char *key, json_object *v)
{
	if (!o || !v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Add v under key (taking ownership of v); a NULL parent or value is an allocation failure. */
static void put(jb *b, json_object *parent, const char *key, json_object *v)
{
	if (!sa_json_add(parent, key, v))
		b->oom = true;
}

static void append(jb *b, json_object *arr, json_object *v)
{
	if (!arr || !v || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		b->oom = true;
	}
}

/* An explicit JSON null (json-c represents null as a NULL object). */
static void put_null(jb *b, json_object *parent, const char *key)
{
	if (!parent || json_object_object_add(parent, key, NULL) != 0)
		b->oom = true;
}

static void put_str(jb *b, json_object *o, const char *key, const char *s)
{
	put(b, o, key, json_object_new_string(s));
}

/* A fixed char array that should hold a NUL-terminated string; never read past cap. */
static void put_strn(jb *b, json_object *o, const char *key, const char *s, size_t cap)
{
	put(b, o, key, json_object_new_string_len(s, (int)strnlen(s, cap)));
}

static void put_int(jb *b, json_object *o, const char *key, int64_t v) { put(b, o, key, json_object_new_int64(v)); }

static void put_bool(jb *b, json_object *o, const char *key, bool v) { put(b, o, key, json_object_new_boolean(v)); }

#define HEX_MAX_BYTES 128

static void put_hex(jb *b, json_object *o, const char *key, const void *data, size_t n)
{
	char buf[2 * HEX_MAX_BYTES + 1];
	if (n > HEX_MAX_BYTES) {
		b->oom = true; /* programming error; never reached with the fixed fields below */
		return;
	}
	put_str(b, o, key, sa_hex_encode(data, n, buf));
}

static void put_u64hex(jb *b, json_object *o, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	put_str(b, o, key, buf);
}

static char *finish(jb *b, json_object *root)
{
	char *out = NULL;
	if (root && !b->oom) {
		const char *s =
			json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (s)
			out = strdup(s);
	}
	json_object_put(root);
	return out;
}

/* ---- report ---- */

static json_object *tcb_json(jb *b, uint64_t raw, bool turin)
{
	sa_tcb t = sa_tcb_decode(raw, turin);
	json_object *o = new_obj(b);
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016" PRIx64, raw); /* padded: byte positions carry meaning */
	put_str(b, o, "raw", buf);
	if (turin)
		put_int(b, o, "fmc", t.fmc);
	put_int(b, o, "bl", t.bl);
	put_int(b, o, "tee", t.tee);
	put_int(b, o, "snp", t.snp);
	put_int(b, o, "ucode", t.ucode);
	return o;
}

/* Into o: every named bit as a boolean, then the set bits that have no name (outside also_known). */
static json_object *put_bits(jb *b, json_object *o, const sa_bit_name *table, size_t count, uint64_t value,
			     uint64_t also_known)
{
	uint64_t named = also_known;
	for (size_t i = 0; i < count; i++) {
		uint64_t m = 1ull << table[i].bit;
		named |= m;
		put_bool(b, o, table[i].name, (value & m) != 0);
	}
	put_u64hex(b, o, "unknown_bits", value & ~named);
	return o;
}

static void put_fw(jb *b, json_object *o, const char *key, const sa_fw_version *v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->build);
	put_str(b, o, key, buf);
}

char *sa_snp_report_to_json(const sa_snp_report *r, sa_product product)
{
	if (!r)
		return NULL;
	jb b = {false};
	json_object *root = new_obj(&b);

	/* The product decides the TCB layout: the report's CPUID first, then the caller's. */
	sa_product cpuid = sa_snp_report_cpuid_product(r);
	sa_product used = cpuid != SA_PRODUCT_UNKNOWN ? cpuid : product;
	const char *source = cpuid != SA_PRODUCT_UNKNOWN ? "cpuid" : product != SA_PRODUCT_UNKNOWN ? "user" : "none";
	bool turin = sa_product_turin_layout(used);
	json_object *prod = new_obj(&b);
	put_str(&b, prod, "name", sa_product_name(used));
	put_str(&b, prod, "source", source);
	put_str(&b, prod, "tcb_layout", turin ? "turin" : "milan-genoa");
	if (cpuid != SA_PRODUCT_UNKNOWN && product != SA_PRODUCT_UNKNOWN && product != cpuid)
		put_str(&b, prod, "ignored_argument", sa_product_name(product));
	put(&b, root, "product", prod);

	put_int(&b, root, "version", r->version);
	put_int(&b, root, "guest_svn", r->guest_svn);

	put_u64hex(&b, root, "policy", r->policy);
	size_t np;
	const sa_bit_name *pbits = sa_policy_bits(&np);
	json_object *pol = new_obj(&b);
	put_int(&b, pol, "abi_major", sa_policy_abi_major(r->policy));
	put_int(&b, pol, "abi_minor", sa_policy_abi_minor(r->policy));
	put(&b, root, "policy_decoded",
	    put_bits(&b, pol, pbits, np, r->policy, SA_POLICY_ABI_MAJOR_MASK | SA_POLICY_ABI_MINOR_MASK));

	put_hex(&b, root, "family_id", r->family_id, sizeof(r->family_id));
	put_hex(&b, root, "image_id", r->image_id, sizeof(r->image_id));
	put_int(&b, root, "vmpl", r->vmpl);
	put_int(&b, root, "signature_algo", r->signature_algo);
	put_str(&b, root, "signature_algo_name",
		r->signature_algo == SA_SNP_SIG_ALGO_ECDSA_P384_SHA384 ? "ecdsa-p384-sha384" : "unknown");
	put(&b, root, "current_tcb", tcb_json(&b, r->current_tcb, turin));

	put_u64hex(&b, root, "platform_info", r->platform_info);
	size_t nplat;
	const sa_bit_name *platbits = sa_platform_info_bits(&nplat);
	put(&b, root, "platform_info_decoded", put_bits(&b, new_obj(&b), platbits, nplat, r->platform_info, 0));

	json_object *ki = new_obj(&b);
	put_u64hex(&b, ki, "raw", r->key_info);
	put_bool(&b, ki, "author_key_en", (r->key_info & SA_KEYINFO_AUTHOR_KEY_EN) != 0);
	put_bool(&b, ki, "mask_chip_key", (r->key_info & SA_KEYINFO_MASK_CHIP_KEY) != 0);
	put_str(&b, ki, "signing_key", sa_signing_key_name(sa_snp_report_signing_key(r)));
	put(&b, root, "key_info", ki);

	put_hex(&b, root, "report_data", r->report_data, sizeof(r->report_data));
	put_hex(&b, root, "measurement", r->measurement, sizeof(r->measurement));
	put_hex(&b, root, "host_data", r->host_data, sizeof(r->host_data));
	put_hex(&b, root, "id_key_digest", r->id_key_digest, sizeof(r->id_key_digest));
	put_hex(&b, root, "author_key_digest", r->author_key_digest, sizeof(r->author_key_digest));
	put_hex(&b, root, "report_id", r->report_id, sizeof(r->report_id));
	put_hex(&b, root, "report_id_ma", r->report_id_ma, sizeof(r->report_id_ma));
	put(&b, root, "reported_tcb", tcb_json(&b, r->reported_tcb, turin));
	if (sa_snp_report_has_cpuid(r)) {
		json_object *c = new_obj(&b);
		put_int(&b, c, "family", r->cpuid_fam_id);
		put_int(&b, c, "model", r->cpuid_mod_id);
		put_int(&b, c, "stepping", r->cpuid_step);
		put(&b, root, "cpuid", c);
	}
	put_hex(&b, root, "chip_id", r->chip_id, sizeof(r->chip_id));
	put(&b, root, "committed_tcb", tcb_json(&b, r->committed_tcb, turin));
	put_fw(&b, root, "current_firmware", &r->current);
	put_fw(&b, root, "committed_firmware", &r->committed);
	put(&b, root, "launch_tcb", tcb_json(&b, r->launch_tcb, turin));
	if (sa_snp_report_has_mit_vectors(r)) {
		put_u64hex(&b, root, "launch_mit_vector", r->launch_mit_vector);
		put_u64hex(&b, root, "current_mit_vector", r->current_mit_vector);
	}

	/* r and s exactly as stored: 72-byte little-endian integers. */
	json_object *sig = new_obj(&b);
	put_hex(&b, sig, "r", r->sig_r, sizeof(r->sig_r));
	put_hex(&b, sig, "s", r->sig_s, sizeof(r->sig_s));
	put(&b, root, "signature", sig);

	sa_reserved_finding f[32];
	size_t nf = sa_snp_report_findings(r, f, SA_ARRAY_LEN(f));
	if (nf > SA_ARRAY_LEN(f))
		nf = SA_ARRAY_LEN(f);
	json_object *fa = new_arr(&b);
	for (size_t i = 0; i < nf; i++) {
		json_object *e = new_obj(&b);
		put_int(&b, e, "offset", (int64_t)f[i].offset);
		put_int(&b, e, "length", (int64_t)f[i].length);
		put_str(&b, e, "name", f[i].name ? f[i].name : "");
		put_bool(&b, e, "must_be_zero", f[i].mbz);
		append(&b, fa, e);
	}
	put(&b, root, "reserved_findings", fa);
	return finish(&b, root);
}

/* ---- certificates ---- */

/* "0x10001"; serials are arbitrary-size integers (KDS VCEKs use 0). */
static void put_serial(jb *b, json_object *o, const sa_cert *c)
{
	const ASN1_INTEGER *ai = c->x509 ? X509_get0_serialNumber(c->x509) : NULL;
	BIGNUM *bn = ai ? ASN1_INTEGER_to_BN(ai, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	BN_free(bn);
	if (!hex) {
		if (ai)
			b->oom = true;
		else
			put_null(b, o, "serial");
		return;
	}
	bool neg = hex[0] == '-';
	const char *digits = neg ? hex + 1 : hex;
	while (digits[0] == '0' && digits[1])
		digits++;
	size_t n = strlen(digits);
	char *s = malloc(n + 4);
	if (s) {
		snprintf(s, n + 4, "%s0x%s", neg ? "-" : "", digits);
		for (char *p = s; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		put_str(b, o, "serial", s);
		free(s);
	} else {
		b->oom = true;
	}
	OPENSSL_free(hex);
}

static void put_key_type(jb *b, json_object *o, EVP_PKEY *key)
{
	char buf[64] = "none";
	if (key) {
		int id = EVP_PKEY_get_base_id(key);
		if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
			snprintf(buf, sizeof(buf), "%s-%d", id == EVP_PKEY_RSA ? "RSA" : "RSA-PSS",
				 EVP_PKEY_get_bits(key));
		} else if (id == EVP_PKEY_EC) {
			char group[48] = "";
			size_t glen = 0;
			if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
				snprintf(group, sizeof(group), "unknown");
			if (strcmp(group, "secp384r1") == 0)
				snprintf(buf, sizeof(buf), "EC-P384");
			else if (strcmp(group, "prime256v1") == 0)
				snprintf(buf, sizeof(buf), "EC-P256");
			else
				snprintf(buf, sizeof(buf), "EC-%s", group);
		} else {
			const char *name = EVP_PKEY_get0_type_name(key);
			snprintf(buf, sizeof(buf), "%s", name ? name : "unknown");
		}
	}
	put_str(b, o, "key_type", buf);
}

static const char *hwid_encoding_name(sa_hwid_encoding e)
{
	switch (e) {
	case SA_HWID_RAW: return "raw";
	case SA_HWID_OCTET_STRING: return "octet-string";
	case SA_HWID_NONE: break;
	}
	return "none";
}

static json_object *amd_ext_json(jb *b, const sa_amd_ext *x)
{
	json_object *o = new_obj(b);
	if (x->has_struct_version)
		put_int(b, o, "struct_version", x->struct_version > INT64_MAX ? INT64_MAX : (int64_t)x->struct_version);
	if (x->has_product_name)
		put_strn(b, o, "product_name", x->product_name, sizeof(x->product_name));
	if (x->has_bl)
		put_int(b, o, "bl_spl", x->bl);
	if (x->has_tee)
		put_int(b, o, "tee_spl", x->tee);
	if (x->has_snp)
		put_int(b, o, "snp_spl", x->snp);
	for (unsigned i = 4; i <= 7; i++) {
		if (x->spl_present & (1u << i)) {
			char key[8];
			snprintf(key, sizeof(key), "spl_%u", i);
			put_int(b, o, key, x->spl[i]);
		}
	}
	if (x->has_ucode)
		put_int(b, o, "ucode_spl", x->ucode);
	if (x->has_fmc)
		put_int(b, o, "fmc_spl", x->fmc);
	if (x->has_hwid) {
		json_object *h = new_obj(b);
		size_t n = x->hwid_len <= sizeof(x->hwid) ? x->hwid_len : sizeof(x->hwid);
		put_hex(b, h, "hex", x->hwid, n);
		put_int(b, h, "length", (int64_t)n);
		put_str(b, h, "encoding", hwid_encoding_name(x->hwid_encoding));
		put(b, o, "hwid", h);
	}
	if (x->has_csp_id)
		put_strn(b, o, "csp_id", x->csp_id, sizeof(x->csp_id));
	return o;
}

static json_object *cert_json(jb *b, const sa_cert *c)
{
	json_object *o = new_obj(b);
	char t[32];
	put_str(b, o, "role", sa_cert_role_name(c->role));
	put_strn(b, o, "subject_cn", c->subject_cn, sizeof(c->subject_cn));
	put_strn(b, o, "issuer_cn", c->issuer_cn, sizeof(c->issuer_cn));
	put_serial(b, o, c);
	put_str(b, o, "not_before", sa_time_format(c->not_before, t, sizeof(t)));
	put_str(b, o, "not_after", sa_time_format(c->not_after, t, sizeof(t)));
	put_hex(b, o, "fingerprint_sha256", c->fingerprint, sizeof(c->fingerprint));
	put_key_type(b, o, c->pubkey);
	put_str(b, o, "product", sa_product_name(c->product));
	if (c->stepping == SA_STEPPING_UNKNOWN)
		put_null(b, o, "stepping");
	else
		put_int(b, o, "stepping", c->stepping);
	put(b, o, "amd_extensions", amd_ext_json(b, &c->ext));
	return o;
}

char *sa_cert_to_json(const sa_cert *c)
{
	if (!c)
		return NULL;
	jb b = {false};
	return finish(&b, cert_json(&b, c));
}

/* ---- verdicts ---- */

static void put_nonempty(jb *b, json_object *o, const char *key, const char *s, size_t cap)
{
	if (s && strnlen(s, cap) > 0)
		put_strn(b, o, key, s, cap);
}

char *sa_verdict_to_json(const sa_verdict *v)
{
	if (!v)
		return NULL;
	jb b = {false};
	json_object *root = new_obj(&b);
	put_bool(&b, root, "verified", v->verified);
	put_str(&b, root, "product", sa_product_name(v->product));
	put_str(&b, root, "product_source", v->product_source ? v->product_source : "none");
	if (v->stepping == SA_STEPPING_UNKNOWN)
		put_null(&b, root, "stepping");
	else
		put_int(&b, root, "stepping", v->stepping);
	put_str(&b, root, "signer_role", sa_cert_role_name(v->signer_role));
	if (v->have_vek)
		put_hex(&b, root, "vek_fingerprint_sha256", v->vek_fingerprint, sizeof(v->vek_fingerprint));
	else
		put_null(&b, root, "vek_fingerprint_sha256");
	json_object *arr = new_arr(&b);
	for (size_t i = 0; v->checks && i < v->n; i++) {
		const sa_check *c = &v->checks[i];
		json_object *e = new_obj(&b);
		if (c->id)
			put_str(&b, e, "id", c->id);
		put_str(&b, e, "status", sa_check_status_name(c->status));
		put_nonempty(&b, e, "summary", c->summary, sizeof(c->summary));
		put_nonempty(&b, e, "expected", c->expected, sizeof(c->expected));
		put_nonempty(&b, e, "actual", c->actual, sizeof(c->actual));
		append(&b, arr, e);
	}
	put(&b, root, "checks", arr);
	return finish(&b, root);
}

/* ---- SEV and AMD CA certificates (AMD formats) ---------------------------------------- */

/* Integers of AMD's formats are little-endian; shown as hex numbers (big-endian, no leading zero bytes). */
static char *le_number_hex(const uint8_t *le, size_t n)
{
	while (n > 1 && le[n - 1] == 0)
		n--;
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", le[n - 1 - i]);
	return s;
}

static bool jfmt(json_object *o, const char *key, const char *fmt, ...) SA_PRINTF(3, 4);
static bool jfmt(json_object *o, const char *key, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sa_json_add(o, key, json_object_new_string(buf));
}

static bool jbytes(json_object *o, const char *key, const uint8_t *data, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return false;
	sa_hex_encode(data, n, s);
	bool ok = sa_json_add(o, key, json_object_new_string(s));
	free(s);
	return ok;
}

static bool jnumber(json_object *o, const char *key, const uint8_t *le, size_t n)
{
	char *s = le_number_hex(le, n);
	bool ok = s && sa_json_add(o, key, json_object_new_string(s));
	free(s);
	return ok;
}

/* The used width of an RSA signature slot: 256 bytes when the upper half is zero, else 512. */
static size_t rsa_sig_width(const uint8_t sig[SA_SEV_SIG_SIZE])
{
	return sa_all_zero(sig + 256, SA_SEV_SIG_SIZE - 256) ? 256 : SA_SEV_SIG_SIZE;
}

static json_object *sev_cert_json(const sa_sev_cert *c, size_t offset)
{
	json_object *o = json_object_new_object(), *key = json_object_new_object(), *sigs = json_object_new_array();
	bool ok = o && key && sigs;
	ok = ok && jfmt(o, "format", "SEV certificate (0x824)") && sa_json_add(o, "offset", json_object_new_int64((int64_t)offset));
	ok = ok && sa_json_add(o, "version", json_object_new_int64(c->version));
	ok = ok && jfmt(o, "api_version", "%u.%u", c->api_major, c->api_minor);
	ok = ok && jfmt(o, "reserved", "0x%04x", c->reserved);
	ok = ok && jfmt(o, "usage", "%s", sa_sev_usage_name(c->pub_key_usage)) &&
	     jfmt(o, "usage_raw", "0x%x", c->pub_key_usage);
	ok = ok && jfmt(o, "algorithm", "%s", sa_sev_algo_name(c->pub_key_algo)) &&
	     jfmt(o, "algorithm_raw", "0x%x", c->pub_key_algo);
	const uint8_t *k = c->pub_key;
	uint32_t k0 = (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
	if (sa_sev_algo_is_ec(c->pub_key_algo)) {
		ok = ok && jfmt(key, "type", "EC %s", k0 == 2 ? "P-384" : "unknown curve");
		ok = ok && sa_json_add(key, "curve", json_object_new_int64(k0));
		ok = ok && jnumber(key, "qx", k + 4, 72) && jnumber(key, "qy", k + 4 + 72, 72);
		ok = ok && sa_json_add(key, "reserved_zero", json_object_new_boolean(sa_all_zero(k + 4 + 144, 0x404 - 4 - 144)));
	} else {
		ok = ok && jfmt(key, "type", "RSA-%u", k0);
		ok = ok && sa_json_add(key, "modulus_bits", json_object_new_int64(k0));
		ok = ok && jnumber(key, "exponent", k + 4, 512) && jnumber(key, "modulus", k + 4 + 512, 512);
	}
	uint8_t fp[32];
	sa_error err;
	ok = ok && sa_sev_cert_key_fingerprint(c, fp, &err) == SA_OK && jbytes(key, "fingerprint_sha256", fp, 32);
	ok = ok && sa_json_add(o, "public_key", key);
	if (!ok)
		key = NULL;
	for (unsigned i = 0; ok && i < 2; i++) {
		const sa_sev_sig *s = &c->sig[i];
		json_object *j = json_object_new_object();
		ok = j && sa_json_add(j, "slot", json_object_new_int(1 + (int)i)) &&
		     jfmt(j, "usage", "%s", sa_sev_usage_name(s->usage)) && jfmt(j, "usage_raw", "0x%x", s->usage) &&
		     jfmt(j, "algorithm", "%s", sa_sev_algo_name(s->algo)) && jfmt(j, "algorithm_raw", "0x%x", s->algo);
		if (ok && s->usage == SA_SEV_USAGE_INVALID) {
			ok = sa_json_add(j, "empty", json_object_new_boolean(true)) &&
			     sa_json_add(j, "all_zero", json_object_new_boolean(sa_all_zero(s->sig, sizeof(s->sig))));
		} else if (ok && (s->algo == SA_SEV_ALGO_ECDSA_SHA256 || s->algo == SA_SEV_ALGO_ECDSA_SHA384)) {
			ok = sa_json_add(j, "empty", json_object_new_boolean(false)) && jnumber(j, "r", s->sig, 72) &&
			     jnumber(j, "s", s->sig + 72, 72);
		} else if (ok) {
			size_t w = rsa_sig_width(s->sig);
			ok = sa_json_add(j, "empty", json_object_new_boolean(false)) &&
			     sa_json_add(j, "signature_bytes", json_object_new_int64((int64_t)w)) &&
			     jnumber(j, "signature", s->sig, w);
		}
		if (!ok || json_object_array_add(sigs, j) != 0) {
			json_object_put(j);
			ok = false;
		}
	}
	ok = ok && sa_json_add(o, "signatures", sigs);
	if (!ok) {
		json_object_put(o);
		json_object_put(key);
		json_object_put(sigs);
		return NULL;
	}
	return o;
}

static json_object *amd_cert_json(const sa_amd_cert *c, size_t offset)
{
	json_object *o = json_object_new_object();
	bool ok = o != NULL;
	ok = ok && jfmt(o, "format", "AMD CA certificate (%zu bytes)", c->encoded_len) &&
	     sa_json_add(o, "offset", json_object_new_int64((int64_t)offset));
	ok = ok && sa_json_add(o, "version", json_object_new_int64(c->version));
	ok = ok && jbytes(o, "key_id", c->key_id, 16) && jbytes(o, "certifying_id", c->certifying_id, 16);
	ok = ok && sa_json_add(o, "self_certified", json_object_new_boolean(memcmp(c->key_id, c->certifying_id, 16) == 0));
	ok = ok && jfmt(o, "usage", "%s", sa_sev_usage_name(c->key_usage)) && jfmt(o, "usage_raw", "0x%x", c->key_usage);
	ok = ok && jbytes(o, "reserved", c->reserved, sizeof(c->reserved));
	ok = ok && sa_json_add(o, "pub_exp_bits", json_object_new_int64(c->pub_exp_bits)) &&
	     sa_json_add(o, "modulus_bits", json_object_new_int64(c->modulus_bits));
	ok = ok && jnumber(o, "exponent", c->pub_exp, c->pub_exp_bits / 8) &&
	     jnumber(o, "modulus", c->modulus, c->modulus_bits / 8);
	ok = ok && sa_json_add(o, "signed_bytes", json_object_new_int64((int64_t)c->signed_len));
	if (ok && c->has_signature)
		ok = jfmt(o, "signature_scheme", "RSASSA-PSS, %s, salt = digest length",
			  c->modulus_bits == 2048 ? "SHA-256" : "SHA-384") &&
		     jnumber(o, "signature", c->signature, c->modulus_bits / 8);
	else if (ok)
		ok = json_object_object_add(o, "signature", NULL) == 0; /* JSON null: the unsigned form */
	uint8_t fp[32];
	sa_error err;
	ok = ok && sa_amd_cert_fingerprint(c, fp, &err) == SA_OK && jbytes(o, "fingerprint_sha256", fp, 32);
	const sa_sev_ark_pin *pin = sa_sev_ark_pin_match(c);
	if (ok && pin)
		ok = jfmt(o, "pin", "%s", pin->name) && jfmt(o, "product", "%s", sa_sev_product_name(pin->product));
	/* an ASK: the product of the pinned ARK whose key id certified it */
	size_t npins = 0;
	const sa_sev_ark_pin *pins = sa_sev_ark_pins(&npins);
	for (size_t i = 0; ok && !pin && i < npins; i++)
		if (c->key_usage == SA_SEV_USAGE_ASK && memcmp(pins[i].key_id, c->certifying_id, 16) == 0)
			ok = jfmt(o, "issuer_pin", "%s", pins[i].name) &&
			     jfmt(o, "product", "%s", sa_sev_product_name(pins[i].product));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static char *render(json_object *o)
{
	if (!o)
		return NULL;
	const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = t ? strdup(t) : NULL;
	json_object_put(o);
	return out;
}

char *sa_sev_cert_to_json(const sa_sev_cert *c, size_t offset) { return render(sev_cert_json(c, offset)); }

char *sa_amd_cert_to_json(const sa_amd_cert *c, size_t offset) { return render(amd_cert_json(c, offset)); }
