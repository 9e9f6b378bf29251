/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD's SEV certificate (0x824 bytes) and AMD CA certificate (ARK/ASK)
 * formats, their signatures, the pinned ARKs and the two SEV chains.
 * Layouts: shared notes amd-formats.md §5.1, §5.2; contract: sev_cert.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/idblock.h"
#include "sevattest/sev_cert.h"
#include "sevattest/verify.h"

#include "internal.h"

/* ---- products ------------------------------------------------------------ */

static const struct {
	sa_sev_product p;
	const char *name;
	sa_product snp;
} products[] = {
	{SA_SEV_PRODUCT_NAPLES, "Naples", SA_PRODUCT_UNKNOWN},
	{SA_SEV_PRODUCT_ROME, "Rome", SA_PRODUCT_UNKNOWN},
	{SA_SEV_PRODUCT_MILAN, "Milan", SA_PRODUCT_MILAN},
	{SA_SEV_PRODUCT_GENOA, "Genoa", SA_PRODUCT_GENOA},
	{SA_SEV_PRODUCT_TURIN, "Turin", SA_PRODUCT_TURIN},
};

const char *sa_sev_product_name(sa_sev_product p)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(products); i++)
		if (products[i].p == p)
			return products[i].name;
	return "unknown";
}

sa_status sa_sev_product_parse(const char *name, sa_sev_product *out, sa_error *err)
{
	SA_ENSURE(name && out, err, SA_ERR_ARG, "SEV product: no name given");
	for (size_t i = 0; i < SA_ARRAY_LEN(products); i++) {
		if (strcasecmp(name, products[i].name) == 0) {
			*out = products[i].p;
			return SA_OK;
		}
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED,
			    "SEV product '%s': expected naples, rome, milan, genoa or turin", name);
}

sa_product sa_sev_product_snp(sa_sev_product p)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(products); i++)
		if (products[i].p == p)
			return products[i].snp;
	return SA_PRODUCT_UNKNOWN;
}

/* ---- usages and algorithms ----------------------------------------------- */

const char *sa_sev_usage_name(uint32_t usage)
{
	switch (usage) {
	case SA_SEV_USAGE_ARK: return "ARK";
	case SA_SEV_USAGE_ASK: return "ASK";
	case SA_SEV_USAGE_INVALID: return "none";
	case SA_SEV_USAGE_OCA: return "OCA";
	case SA_SEV_USAGE_PEK: return "PEK";
	case SA_SEV_USAGE_PDH: return "PDH";
	case SA_SEV_USAGE_CEK: return "CEK";
	default: return "unknown";
	}
}

const char *sa_sev_algo_name(uint32_t algo)
{
	switch (algo) {
	case SA_SEV_ALGO_INVALID: return "none";
	case SA_SEV_ALGO_RSA_SHA256: return "RSA-SHA256";
	case SA_SEV_ALGO_ECDSA_SHA256: return "ECDSA-SHA256";
	case SA_SEV_ALGO_ECDH_SHA256: return "ECDH-SHA256";
	case SA_SEV_ALGO_RSA_SHA384: return "RSA-SHA384";
	case SA_SEV_ALGO_ECDSA_SHA384: return "ECDSA-SHA384";
	case SA_SEV_ALGO_ECDH_SHA384: return "ECDH-SHA384";
	default: return "unknown";
	}
}

static bool algo_is_rsa(uint32_t a) { return a == SA_SEV_ALGO_RSA_SHA256 || a == SA_SEV_ALGO_RSA_SHA384; }
static bool algo_is_ecdsa(uint32_t a) { return a == SA_SEV_ALGO_ECDSA_SHA256 || a == SA_SEV_ALGO_ECDSA_SHA384; }
static bool algo_is_ecdh(uint32_t a) { return a == SA_SEV_ALGO_ECDH_SHA256 || a == SA_SEV_ALGO_ECDH_SHA384; }
bool sa_sev_algo_is_ec(uint32_t a) { return algo_is_ecdsa(a) || algo_is_ecdh(a); }
static bool algo_can_sign(uint32_t a) { return algo_is_rsa(a) || algo_is_ecdsa(a); }
static const char *algo_digest(uint32_t a) { return (a & 0x100u) ? "SHA384" : "SHA256"; }

/* The usages that sign SEV certificates. */
static bool usage_can_sign(uint32_t u)
{
	return u == SA_SEV_USAGE_ASK || u == SA_SEV_USAGE_OCA || u == SA_SEV_USAGE_PEK || u == SA_SEV_USAGE_CEK;
}

/* RSA-PSS digest by modulus size: SHA-256 for 2048 bits, SHA-384 for 4096. */
static const char *rsa_digest_for_bits(uint32_t bits) { return bits == 2048 ? "SHA256" : "SHA384"; }

/* ---- RSA helpers (keys and RSA-PSS signatures with little-endian integers) ---- */

/* An RSA public key from little-endian exponent and modulus. */
static sa_status rsa_from_le(const uint8_t *exp, size_t exp_len, const uint8_t *mod, size_t mod_len, const char *what,
			     EVP_PKEY **out, sa_error *err)
{
	BIGNUM *n = BN_lebin2bn(mod, (int)mod_len, NULL), *e = BN_lebin2bn(exp, (int)exp_len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	sa_status st = SA_OK;
	if (!n || !e || !bld) {
		st = sa_crypto_error(err, "%s: cannot build the RSA key", what);
	} else if (BN_is_zero(n) || BN_is_zero(e) || !BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e)) {
		st = sa_error_set(err, SA_ERR_FORMAT, "%s: RSA modulus and exponent must be odd and above 1", what);
	} else if (BN_num_bits(n) != (int)(mod_len * 8)) {
		st = sa_error_set(err, SA_ERR_FORMAT, "%s: RSA modulus has %d bits, expected %zu", what, BN_num_bits(n),
				  mod_len * 8);
	} else if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
		   OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
		   !(params = OSSL_PARAM_BLD_to_param(bld)) || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
		   EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		st = sa_crypto_error(err, "%s: cannot build the RSA key", what);
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	if (st != SA_OK) {
		EVP_PKEY_free(key);
		return st;
	}
	*out = key;
	return SA_OK;
}

/* Modulus bits of an RSA key, 0 if it is not RSA. */
static uint32_t rsa_bits(EVP_PKEY *key)
{
	if (!key || !EVP_PKEY_is_a(key, "RSA"))
		return 0;
	int bits = EVP_PKEY_get_bits(key);
	return bits > 0 ? (uint32_t)bits : 0;
}

/* Exponent and modulus of an RSA key as little-endian fields of exactly `len` bytes each. */
static sa_status rsa_to_le(EVP_PKEY *key, uint8_t *exp, uint8_t *mod, size_t len, const char *what, sa_error *err)
{
	BIGNUM *n = NULL, *e = NULL;
	sa_status st = SA_OK;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		st = sa_crypto_error(err, "%s: cannot read the RSA key", what);
	else if (BN_bn2lebinpad(n, mod, (int)len) != (int)len || BN_bn2lebinpad(e, exp, (int)len) != (int)len)
		st = sa_error_set(err, SA_ERR_RANGE, "%s: RSA key wider than %zu bytes", what, len);
	BN_free(n);
	BN_free(e);
	return st;
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

/* Set RSA-PSS padding, salt = digest length (MGF1 with the same digest) on a sign/verify context. */
static bool pss_setup(EVP_PKEY_CTX *pctx)
{
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

/* RSA-PSS verification of a little-endian signature of exactly the key's size. */
static sa_status rsa_pss_verify_le(EVP_PKEY *key, const char *md, const uint8_t *msg, size_t msg_len,
				   const uint8_t *sig_le, size_t sig_len, const char *what, sa_error *err)
{
	uint8_t be[512];
	SA_ENSURE(sig_len <= sizeof(be) && EVP_PKEY_get_size(key) == (int)sig_len, err, SA_ERR_VERIFY,
		  "%s: RSA signature of %zu bytes, the key needs %d", what, sig_len, EVP_PKEY_get_size(key));
	reverse_copy(be, sig_le, sig_len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	sa_status st = SA_OK;
	if (!ctx || EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL) != 1 || !pss_setup(pctx)) {
		st = sa_crypto_error(err, "%s: cannot start RSA-PSS verification", what);
	} else if (EVP_DigestVerify(ctx, be, sig_len, msg, msg_len) != 1) {
		ERR_clear_error();
		st = sa_error_set(err, SA_ERR_VERIFY, "%s: RSA-PSS/%s signature does not verify", what, md);
	}
	EVP_MD_CTX_free(ctx);
	return st;
}

/* RSA-PSS signature, written little-endian into sig_le (the key's size, at most cap bytes). */
static sa_status rsa_pss_sign_le(EVP_PKEY *key, const char *md, const uint8_t *msg, size_t msg_len, uint8_t *sig_le,
				 size_t cap, size_t *sig_len, const char *what, sa_error *err)
{
	uint8_t be[512];
	size_t n = 0;
	int size = EVP_PKEY_get_size(key);
	SA_ENSURE(size > 0 && (size_t)size <= cap && (size_t)size <= sizeof(be), err, SA_ERR_UNSUPPORTED,
		  "%s: RSA key of %d bytes, expected at most %zu", what, size, cap);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	sa_status st = SA_OK;
	n = sizeof(be);
	if (!ctx || EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL) != 1 || !pss_setup(pctx) ||
	    EVP_DigestSign(ctx, be, &n, msg, msg_len) != 1)
		st = sa_crypto_error(err, "%s: RSA-PSS signing failed", what);
	EVP_MD_CTX_free(ctx);
	if (st != SA_OK)
		return st;
	SA_ENSURE(n == (size_t)size, err, SA_ERR_CRYPTO, "%s: RSA-PSS signature of %zu bytes, expected %d", what, n,
		  size);
	reverse_copy(sig_le, be, n);
	*sig_len = n;
	return SA_OK;
}

/* ---- the 0x824-byte SEV certificate ---------------------------------------- */

static const sa_field sev_cert_layout[] = {
	SA_FIELD(sa_sev_cert, 0x000, SA_FIELD_U32, version, "VERSION"),
	SA_FIELD(sa_sev_cert, 0x004, SA_FIELD_U8, api_major, "API_MAJOR"),
	SA_FIELD(sa_sev_cert, 0x005, SA_FIELD_U8, api_minor, "API_MINOR"),
	SA_FIELD(sa_sev_cert, 0x006, SA_FIELD_U16, reserved, "reserved"),
	SA_FIELD(sa_sev_cert, 0x008, SA_FIELD_U32, pub_key_usage, "PUB_KEY_USAGE"),
	SA_FIELD(sa_sev_cert, 0x00C, SA_FIELD_U32, pub_key_algo, "PUB_KEY_ALGO"),
	SA_FIELD(sa_sev_cert, 0x010, SA_FIELD_BYTES, pub_key, "PUB_KEY"),
	SA_FIELD(sa_sev_cert, 0x414, SA_FIELD_U32, sig[0].usage, "SIG1_USAGE"),
	SA_FIELD(sa_sev_cert, 0x418, SA_FIELD_U32, sig[0].algo, "SIG1_ALGO"),
	SA_FIELD(sa_sev_cert, 0x41C, SA_FIELD_BYTES, sig[0].sig, "SIG1"),
	SA_FIELD(sa_sev_cert, 0x61C, SA_FIELD_U32, sig[1].usage, "SIG2_USAGE"),
	SA_FIELD(sa_sev_cert, 0x620, SA_FIELD_U32, sig[1].algo, "SIG2_ALGO"),
	SA_FIELD(sa_sev_cert, 0x624, SA_FIELD_BYTES, sig[1].sig, "SIG2"),
};

/* Offsets inside PUB_KEY (relative to the certificate). */
#define PK_OFF 0x010u
#define PK_EC_QX (4u)
#define PK_EC_QY (4u + 72u)
#define PK_RSA_EXP (4u)
#define PK_RSA_MOD (4u + 512u)

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The key fields must fit the algorithm: P-384 with coordinates < 2^384, or RSA-2048/4096. */
static sa_status check_pub_key(const sa_sev_cert *c, sa_error *err)
{
	const uint8_t *k = c->pub_key;
	if (sa_sev_algo_is_ec(c->pub_key_algo)) {
		uint32_t curve = le32(k);
		SA_ENSURE(curve == SA_ECDSA_CURVE_P384, err, SA_ERR_UNSUPPORTED,
			  "SEV cert PUB_KEY CURVE at 0x%03x: expected 2 (P-384), got %u", PK_OFF, curve);
		SA_ENSURE(sa_all_zero(k + PK_EC_QX + 48, 24), err, SA_ERR_RANGE,
			  "SEV cert PUB_KEY QX at 0x%03x: expected a P-384 coordinate below 2^384, bytes 48..71 are not zero",
			  PK_OFF + PK_EC_QX);
		SA_ENSURE(sa_all_zero(k + PK_EC_QY + 48, 24), err, SA_ERR_RANGE,
			  "SEV cert PUB_KEY QY at 0x%03x: expected a P-384 coordinate below 2^384, bytes 48..71 are not zero",
			  PK_OFF + PK_EC_QY);
		return SA_OK;
	}
	uint32_t bits = le32(k);
	SA_ENSURE(bits == 2048 || bits == 4096, err, SA_ERR_UNSUPPORTED,
		  "SEV cert PUB_KEY MODULUS_SIZE at 0x%03x: expected 2048 or 4096 bits, got %u", PK_OFF, bits);
	SA_ENSURE(sa_all_zero(k + PK_RSA_MOD + bits / 8, 512 - bits / 8), err, SA_ERR_RANGE,
		  "SEV cert PUB_KEY MODULUS at 0x%03x: expected %u bits, higher bytes are not zero", PK_OFF + PK_RSA_MOD,
		  bits);
	SA_ENSURE(sa_all_zero(k + PK_RSA_EXP + bits / 8, 512 - bits / 8), err, SA_ERR_RANGE,
		  "SEV cert PUB_KEY PUB_EXP at 0x%03x: expected at most %u bits, higher bytes are not zero",
		  PK_OFF + PK_RSA_EXP, bits);
	return SA_OK;
}

static sa_status check_sev_cert(const sa_sev_cert *c, sa_error *err)
{
	SA_ENSURE(c->version == 1, err, SA_ERR_UNSUPPORTED, "SEV cert VERSION at 0x000: expected 1, got %u",
		  c->version);
	SA_ENSURE(c->pub_key_usage >= SA_SEV_USAGE_OCA && c->pub_key_usage <= SA_SEV_USAGE_CEK, err, SA_ERR_FORMAT,
		  "SEV cert PUB_KEY_USAGE at 0x008: expected 0x1001..0x1004 (OCA, PEK, PDH, CEK), got 0x%x",
		  c->pub_key_usage);
	uint32_t a = c->pub_key_algo;
	SA_ENSURE(algo_is_rsa(a) || sa_sev_algo_is_ec(a), err, SA_ERR_UNSUPPORTED,
		  "SEV cert PUB_KEY_ALGO at 0x00C: expected 0x1, 0x2, 0x3, 0x101, 0x102 or 0x103, got 0x%x", a);
	if (c->pub_key_usage == SA_SEV_USAGE_PDH)
		SA_ENSURE(algo_is_ecdh(a), err, SA_ERR_FORMAT,
			  "SEV cert PUB_KEY_ALGO at 0x00C: a PDH key is ECDH (0x3 or 0x103), got 0x%x (%s)", a,
			  sa_sev_algo_name(a));
	else
		SA_ENSURE(!algo_is_ecdh(a), err, SA_ERR_FORMAT,
			  "SEV cert PUB_KEY_ALGO at 0x00C: a %s key signs (RSA or ECDSA), got 0x%x (%s)",
			  sa_sev_usage_name(c->pub_key_usage), a, sa_sev_algo_name(a));
	SA_TRY(check_pub_key(c, err));
	for (unsigned i = 0; i < 2; i++) {
		const sa_sev_sig *s = &c->sig[i];
		unsigned off = i == 0 ? 0x414 : 0x61C;
		if (s->usage == SA_SEV_USAGE_INVALID) {
			SA_ENSURE(s->algo == SA_SEV_ALGO_INVALID || algo_can_sign(s->algo), err, SA_ERR_UNSUPPORTED,
				  "SEV cert SIG%u_ALGO at 0x%03x: expected 0 or a signature algorithm, got 0x%x", i + 1,
				  off + 4, s->algo);
			continue;
		}
		SA_ENSURE(usage_can_sign(s->usage), err, SA_ERR_FORMAT,
			  "SEV cert SIG%u_USAGE at 0x%03x: expected 0x1000 (empty), 0x13 (ASK), 0x1001 (OCA), 0x1002 "
			  "(PEK) or 0x1004 (CEK), got 0x%x",
			  i + 1, off, s->usage);
		SA_ENSURE(algo_can_sign(s->algo), err, SA_ERR_UNSUPPORTED,
			  "SEV cert SIG%u_ALGO at 0x%03x: expected 0x1, 0x2, 0x101 or 0x102, got 0x%x", i + 1, off + 4,
			  s->algo);
	}
	return SA_OK;
}

sa_status sa_sev_cert_read(sa_reader *r, sa_sev_cert *out, sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "SEV cert: no input or output");
	size_t at = sa_reader_offset(r), left = sa_reader_remaining(r);
	SA_ENSURE(left >= SA_SEV_CERT_SIZE, err, SA_ERR_TRUNCATED,
		  "SEV cert at offset %zu: %zu bytes left, expected 0x824 (2084)", at, left);
	sa_reader tmp = *r;
	sa_sev_cert c;
	SA_TRY(sa_read_fields(&tmp, sev_cert_layout, SA_ARRAY_LEN(sev_cert_layout), &c, "SEV cert", err));
	SA_TRY(check_sev_cert(&c, err));
	*out = c;
	*r = tmp;
	return SA_OK;
}

sa_status sa_sev_cert_decode(const uint8_t *buf, size_t len, sa_sev_cert *out, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "SEV cert: no input");
	SA_ENSURE(len >= SA_SEV_CERT_SIZE, err, SA_ERR_TRUNCATED, "SEV cert: %zu bytes, expected 0x824 (2084)", len);
	SA_ENSURE(len == SA_SEV_CERT_SIZE, err, SA_ERR_TRAILING, "SEV cert: %zu bytes, expected 0x824 (2084)", len);
	sa_reader r;
	sa_reader_init(&r, buf, len);
	return sa_sev_cert_read(&r, out, err);
}

sa_status sa_sev_cert_encode(const sa_sev_cert *c, uint8_t out[SA_SEV_CERT_SIZE], sa_error *err)
{
	SA_ENSURE(c && out, err, SA_ERR_ARG, "SEV cert: no input or output");
	SA_TRY(check_sev_cert(c, err));
	sa_writer w;
	sa_writer_init(&w, out, SA_SEV_CERT_SIZE);
	return sa_write_fields(&w, sev_cert_layout, SA_ARRAY_LEN(sev_cert_layout), c, "SEV cert", err);
}

sa_status sa_sev_cert_pubkey(const sa_sev_cert *c, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(c && out, err, SA_ERR_ARG, "SEV cert: no input or output");
	*out = NULL;
	SA_TRY(check_sev_cert(c, err));
	if (sa_sev_algo_is_ec(c->pub_key_algo)) {
		sa_ecdsa_pubkey pk;
		SA_TRY(sa_ecdsa_pubkey_decode(c->pub_key, sizeof(c->pub_key), &pk, err));
		sa_status st = sa_ecdsa_pubkey_to_evp(&pk, out, err);
		if (st != SA_OK)
			return sa_error_wrap(err, st, "SEV cert %s PUB_KEY at 0x010", sa_sev_usage_name(c->pub_key_usage));
		return SA_OK;
	}
	uint32_t bytes = le32(c->pub_key) / 8;
	return rsa_from_le(c->pub_key + PK_RSA_EXP, bytes, c->pub_key + PK_RSA_MOD, bytes, "SEV cert PUB_KEY", out,
			   err);
}

sa_status sa_sev_cert_init(sa_sev_cert *c, uint32_t usage, uint32_t algo, uint8_t api_major, uint8_t api_minor,
			   EVP_PKEY *key, sa_error *err)
{
	SA_ENSURE(c && key, err, SA_ERR_ARG, "SEV cert: no certificate or key");
	sa_sev_cert n;
	memset(&n, 0, sizeof(n));
	n.version = 1;
	n.api_major = api_major;
	n.api_minor = api_minor;
	n.pub_key_usage = usage;
	n.pub_key_algo = algo;
	for (unsigned i = 0; i < 2; i++) {
		n.sig[i].usage = SA_SEV_USAGE_INVALID;
		n.sig[i].algo = SA_SEV_ALGO_INVALID;
	}
	if (sa_sev_algo_is_ec(algo)) {
		SA_TRY(sa_key_require_p384(key, "SEV cert key", err));
		sa_ecdsa_pubkey pk;
		SA_TRY(sa_ecdsa_pubkey_from_evp(key, &pk, err));
		SA_TRY(sa_ecdsa_pubkey_encode(&pk, n.pub_key, err));
	} else if (algo_is_rsa(algo)) {
		uint32_t bits = rsa_bits(key);
		SA_ENSURE(bits == 2048 || bits == 4096, err, SA_ERR_UNSUPPORTED,
			  "SEV cert key: expected RSA-2048 or RSA-4096 for algorithm 0x%x, got %s (%u bits)", algo,
			  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?", bits);
		put_le32(n.pub_key, bits);
		SA_TRY(rsa_to_le(key, n.pub_key + PK_RSA_EXP, n.pub_key + PK_RSA_MOD, bits / 8, "SEV cert key", err));
	}
	SA_TRY(check_sev_cert(&n, err));
	*c = n;
	return SA_OK;
}

bool sa_sev_cert_same_key(const sa_sev_cert *a, const sa_sev_cert *b)
{
	if (!a || !b || sa_sev_algo_is_ec(a->pub_key_algo) != sa_sev_algo_is_ec(b->pub_key_algo))
		return false;
	/* EC: CURVE, QX, QY; RSA: the whole field (size, exponent, modulus). */
	size_t n = sa_sev_algo_is_ec(a->pub_key_algo) ? 4 + 72 + 72 : SA_SEV_PUBKEY_SIZE;
	return memcmp(a->pub_key, b->pub_key, n) == 0;
}

unsigned sa_sev_cert_sig_count(const sa_sev_cert *c)
{
	unsigned n = 0;
	for (unsigned i = 0; c && i < 2; i++)
		n += c->sig[i].usage != SA_SEV_USAGE_INVALID;
	return n;
}

sa_status sa_sev_cert_key_fingerprint(const sa_sev_cert *c, uint8_t out[32], sa_error *err)
{
	SA_ENSURE(c && out, err, SA_ERR_ARG, "SEV cert: no input or output");
	return sa_sha256(c->pub_key, sizeof(c->pub_key), out, err);
}

/* Sign msg into slot with key by algorithm algo (ECDSA: r,s LE of 72 bytes; RSA: PSS LE). */
static sa_status slot_sign(sa_sev_sig *slot, uint32_t usage, uint32_t algo, EVP_PKEY *key, const uint8_t *msg,
			   size_t msg_len, sa_error *err)
{
	sa_sev_sig s;
	memset(&s, 0, sizeof(s));
	s.usage = usage;
	s.algo = algo;
	if (algo_is_ecdsa(algo)) {
		SA_TRY(sa_key_require_p384(key, "SEV cert signing key", err));
		SA_TRY(sa_ecdsa_sign_le(key, algo_digest(algo), msg, msg_len, s.sig, s.sig + 72, 72, err));
	} else {
		size_t n = 0;
		uint32_t bits = rsa_bits(key);
		SA_ENSURE(bits == 2048 || bits == 4096, err, SA_ERR_UNSUPPORTED,
			  "SEV cert signing key: expected RSA-2048 or RSA-4096 for %s, got %u bits",
			  sa_sev_algo_name(algo), bits);
		SA_TRY(rsa_pss_sign_le(key, algo_digest(algo), msg, msg_len, s.sig, sizeof(s.sig), &n,
				       "SEV cert signature", err));
	}
	*slot = s;
	return SA_OK;
}

/* Verify slot's signature over msg by key. */
static sa_status slot_verify(const sa_sev_sig *slot, EVP_PKEY *key, const uint8_t *msg, size_t msg_len,
			     const char *what, sa_error *err)
{
	if (algo_is_ecdsa(slot->algo)) {
		sa_status st = sa_ecdsa_verify_le(key, algo_digest(slot->algo), msg, msg_len, slot->sig, slot->sig + 72,
						  72, err);
		return st == SA_OK ? SA_OK : sa_error_wrap(err, st, "%s", what);
	}
	int size = EVP_PKEY_get_size(key);
	SA_ENSURE(size > 0 && size <= SA_SEV_SIG_SIZE, err, SA_ERR_UNSUPPORTED, "%s: RSA key of %d bytes", what, size);
	SA_ENSURE(sa_all_zero(slot->sig + size, SA_SEV_SIG_SIZE - (size_t)size), err, SA_ERR_VERIFY,
		  "%s: bytes after the %d-byte RSA signature are not zero", what, size);
	return rsa_pss_verify_le(key, algo_digest(slot->algo), msg, msg_len, slot->sig, (size_t)size, what, err);
}

/* First empty slot of c, or NULL. */
static sa_sev_sig *empty_slot(sa_sev_cert *c)
{
	for (unsigned i = 0; i < 2; i++)
		if (c->sig[i].usage == SA_SEV_USAGE_INVALID)
			return &c->sig[i];
	return NULL;
}

sa_status sa_sev_cert_sign(sa_sev_cert *c, uint32_t signer_usage, uint32_t algo, EVP_PKEY *key, sa_error *err)
{
	SA_ENSURE(c && key, err, SA_ERR_ARG, "SEV cert signing: no certificate or key");
	SA_ENSURE(signer_usage == SA_SEV_USAGE_OCA || signer_usage == SA_SEV_USAGE_PEK ||
			  signer_usage == SA_SEV_USAGE_CEK,
		  err, SA_ERR_ARG, "SEV cert signing: signer usage 0x%x, expected OCA, PEK or CEK (ASK: sign_by_ask)",
		  signer_usage);
	SA_ENSURE(algo_can_sign(algo), err, SA_ERR_UNSUPPORTED,
		  "SEV cert signing: algorithm 0x%x, expected 0x1, 0x2, 0x101 or 0x102", algo);
	SA_ENSURE(algo_is_ecdsa(algo) == (EVP_PKEY_is_a(key, "EC") == 1), err, SA_ERR_UNSUPPORTED,
		  "SEV cert signing: algorithm %s does not fit a %s key", sa_sev_algo_name(algo),
		  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
	uint8_t buf[SA_SEV_CERT_SIZE];
	SA_TRY(sa_sev_cert_encode(c, buf, err));
	sa_sev_sig *slot = empty_slot(c);
	SA_ENSURE(slot, err, SA_ERR_STATE, "SEV cert (%s): both signature slots are in use",
		  sa_sev_usage_name(c->pub_key_usage));
	return slot_sign(slot, signer_usage, algo, key, buf, SA_SEV_CERT_SIGNED_LEN, err);
}

/* The slot of subject signed by usage, or NULL. */
static const sa_sev_sig *find_slot(const sa_sev_cert *subject, uint32_t usage)
{
	for (unsigned i = 0; i < 2; i++)
		if (subject->sig[i].usage == usage)
			return &subject->sig[i];
	return NULL;
}

sa_status sa_sev_cert_verify(const sa_sev_cert *subject, const sa_sev_cert *issuer, sa_error *err)
{
	SA_ENSURE(subject && issuer, err, SA_ERR_ARG, "SEV cert verification: no subject or issuer");
	const char *sname = sa_sev_usage_name(subject->pub_key_usage), *iname = sa_sev_usage_name(issuer->pub_key_usage);
	SA_ENSURE(algo_can_sign(issuer->pub_key_algo), err, SA_ERR_VERIFY,
		  "SEV cert %s: the issuer %s has a %s key, which does not sign", sname, iname,
		  sa_sev_algo_name(issuer->pub_key_algo));
	uint8_t buf[SA_SEV_CERT_SIZE];
	SA_TRY(sa_sev_cert_encode(subject, buf, err));
	const sa_sev_sig *slot = find_slot(subject, issuer->pub_key_usage);
	SA_ENSURE(slot, err, SA_ERR_NOT_FOUND,
		  "SEV cert %s: no signature slot of usage %s (0x%x); the slots hold %s and %s", sname, iname,
		  issuer->pub_key_usage, sa_sev_usage_name(subject->sig[0].usage),
		  sa_sev_usage_name(subject->sig[1].usage));
	SA_ENSURE(slot->algo == issuer->pub_key_algo, err, SA_ERR_VERIFY,
		  "SEV cert %s: the %s signature's algorithm is 0x%x (%s), expected the %s key's 0x%x (%s)", sname,
		  iname, slot->algo, sa_sev_algo_name(slot->algo), iname, issuer->pub_key_algo,
		  sa_sev_algo_name(issuer->pub_key_algo));
	EVP_PKEY *key = NULL;
	SA_TRY(sa_sev_cert_pubkey(issuer, &key, err));
	char what[64];
	snprintf(what, sizeof(what), "SEV cert %s signed by %s", sname, iname);
	sa_status st = slot_verify(slot, key, buf, SA_SEV_CERT_SIGNED_LEN, what, err);
	EVP_PKEY_free(key);
	return st;
}

/* ---- AMD CA certificates (ARK, ASK) ---------------------------------------- */

static const sa_field amd_hdr_layout[] = {
	SA_FIELD(sa_amd_cert, 0x00, SA_FIELD_U32, version, "VERSION"),
	SA_FIELD(sa_amd_cert, 0x04, SA_FIELD_BYTES, key_id, "KEY_ID"),
	SA_FIELD(sa_amd_cert, 0x14, SA_FIELD_BYTES, certifying_id, "CERTIFYING_ID"),
	SA_FIELD(sa_amd_cert, 0x24, SA_FIELD_U32, key_usage, "KEY_USAGE"),
	SA_FIELD(sa_amd_cert, 0x28, SA_FIELD_BYTES, reserved, "reserved"),
	SA_FIELD(sa_amd_cert, 0x38, SA_FIELD_U32, pub_exp_bits, "PUB_EXP_SIZE"),
	SA_FIELD(sa_amd_cert, 0x3C, SA_FIELD_U32, modulus_bits, "MODULUS_SIZE"),
};

static sa_status check_amd_hdr(const sa_amd_cert *c, sa_error *err)
{
	SA_ENSURE(c->version == 1, err, SA_ERR_UNSUPPORTED, "AMD cert VERSION at 0x00: expected 1, got %u", c->version);
	SA_ENSURE(c->key_usage == SA_SEV_USAGE_ARK || c->key_usage == SA_SEV_USAGE_ASK, err, SA_ERR_FORMAT,
		  "AMD cert KEY_USAGE at 0x24: expected 0x0 (ARK) or 0x13 (ASK), got 0x%x", c->key_usage);
	SA_ENSURE(c->pub_exp_bits == 2048 || c->pub_exp_bits == 4096, err, SA_ERR_UNSUPPORTED,
		  "AMD cert PUB_EXP_SIZE at 0x38: expected 2048 or 4096 bits, got %u", c->pub_exp_bits);
	SA_ENSURE(c->modulus_bits == 2048 || c->modulus_bits == 4096, err, SA_ERR_UNSUPPORTED,
		  "AMD cert MODULUS_SIZE at 0x3C: expected 2048 or 4096 bits, got %u", c->modulus_bits);
	return SA_OK;
}

sa_status sa_amd_cert_read(sa_reader *r, sa_amd_cert *out, sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "AMD cert: no input or output");
	SA_ENSURE(sa_reader_remaining(r) >= SA_AMD_CERT_HDR_SIZE, err, SA_ERR_TRUNCATED,
		  "AMD cert at offset %zu: %zu bytes left, expected a 0x40-byte header", sa_reader_offset(r),
		  sa_reader_remaining(r));
	sa_reader tmp = *r;
	sa_amd_cert *c = calloc(1, sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory");
	sa_status st = sa_read_fields(&tmp, amd_hdr_layout, SA_ARRAY_LEN(amd_hdr_layout), c, "AMD cert", err);
	if (st == SA_OK)
		st = check_amd_hdr(c, err);
	size_t eb = c->pub_exp_bits / 8, mb = c->modulus_bits / 8;
	if (st == SA_OK)
		st = sa_read_bytes(&tmp, c->pub_exp, eb, "AMD cert PUB_EXP", err);
	if (st == SA_OK)
		st = sa_read_bytes(&tmp, c->modulus, mb, "AMD cert MODULUS", err);
	if (st == SA_OK) {
		c->signed_len = SA_AMD_CERT_HDR_SIZE + eb + mb;
		c->has_signature = sa_reader_remaining(&tmp) != 0;
		if (c->has_signature)
			st = sa_read_bytes(&tmp, c->signature, mb, "AMD cert SIGNATURE", err);
		c->encoded_len = c->signed_len + (c->has_signature ? mb : 0);
	}
	if (st == SA_OK) {
		*out = *c;
		*r = tmp;
	}
	free(c);
	return st;
}

sa_status sa_amd_cert_decode(const uint8_t *buf, size_t len, sa_amd_cert *out, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "AMD cert: no input");
	sa_reader r;
	sa_reader_init(&r, buf, len);
	sa_amd_cert *c = malloc(sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory");
	sa_status st = sa_amd_cert_read(&r, c, err);
	if (st == SA_OK)
		st = sa_reader_expect_end(&r, "AMD cert", err);
	if (st == SA_OK)
		*out = *c;
	free(c);
	return st;
}

/* The signed part (header, exponent, modulus) into w. */
static sa_status amd_write_signed(const sa_amd_cert *c, sa_writer *w, sa_error *err)
{
	SA_TRY(check_amd_hdr(c, err));
	SA_TRY(sa_write_fields(w, amd_hdr_layout, SA_ARRAY_LEN(amd_hdr_layout), c, "AMD cert", err));
	SA_TRY(sa_write_bytes(w, c->pub_exp, c->pub_exp_bits / 8, "AMD cert PUB_EXP", err));
	return sa_write_bytes(w, c->modulus, c->modulus_bits / 8, "AMD cert MODULUS", err);
}

sa_status sa_amd_cert_encode(const sa_amd_cert *c, uint8_t *out, size_t cap, size_t *out_len, sa_error *err)
{
	SA_ENSURE(c && out && out_len, err, SA_ERR_ARG, "AMD cert: no input or output");
	sa_writer w;
	sa_writer_init(&w, out, cap);
	SA_TRY(amd_write_signed(c, &w, err));
	if (c->has_signature)
		SA_TRY(sa_write_bytes(&w, c->signature, c->modulus_bits / 8, "AMD cert SIGNATURE", err));
	*out_len = sa_writer_offset(&w);
	return SA_OK;
}

sa_status sa_amd_cert_pubkey(const sa_amd_cert *c, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(c && out, err, SA_ERR_ARG, "AMD cert: no input or output");
	*out = NULL;
	SA_TRY(check_amd_hdr(c, err));
	return rsa_from_le(c->pub_exp, c->pub_exp_bits / 8, c->modulus, c->modulus_bits / 8,
			   c->key_usage == SA_SEV_USAGE_ARK ? "AMD cert (ARK) key" : "AMD cert (ASK) key", out, err);
}

sa_status sa_amd_cert_init(sa_amd_cert *c, uint32_t key_usage, const uint8_t key_id[16],
			   const uint8_t certifying_id[16], EVP_PKEY *key, sa_error *err)
{
	SA_ENSURE(c && key_id && certifying_id && key, err, SA_ERR_ARG, "AMD cert: missing argument");
	uint32_t bits = rsa_bits(key);
	SA_ENSURE(bits == 2048 || bits == 4096, err, SA_ERR_UNSUPPORTED,
		  "AMD cert key: expected RSA-2048 or RSA-4096, got %s (%u bits)",
		  EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?", bits);
	sa_amd_cert *n = calloc(1, sizeof(*n));
	SA_ENSURE(n, err, SA_ERR_NOMEM, "out of memory");
	n->version = 1;
	memcpy(n->key_id, key_id, 16);
	memcpy(n->certifying_id, certifying_id, 16);
	n->key_usage = key_usage;
	n->pub_exp_bits = bits;
	n->modulus_bits = bits;
	sa_status st = check_amd_hdr(n, err);
	if (st == SA_OK)
		st = rsa_to_le(key, n->pub_exp, n->modulus, bits / 8, "AMD cert key", err);
	if (st == SA_OK) {
		n->signed_len = SA_AMD_CERT_HDR_SIZE + 2 * (size_t)(bits / 8);
		n->encoded_len = n->signed_len;
		*c = *n;
	}
	free(n);
	return st;
}

/* The signed part of c into a buffer of SA_AMD_CERT_MAX bytes. */
static sa_status amd_signed_bytes(const sa_amd_cert *c, uint8_t buf[SA_AMD_CERT_MAX], size_t *len, sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, buf, SA_AMD_CERT_MAX);
	SA_TRY(amd_write_signed(c, &w, err));
	*len = sa_writer_offset(&w);
	return SA_OK;
}

sa_status sa_amd_cert_sign(sa_amd_cert *c, EVP_PKEY *issuer_key, sa_error *err)
{
	SA_ENSURE(c && issuer_key, err, SA_ERR_ARG, "AMD cert signing: no certificate or key");
	SA_TRY(check_amd_hdr(c, err));
	uint32_t bits = rsa_bits(issuer_key);
	SA_ENSURE(bits == c->modulus_bits, err, SA_ERR_UNSUPPORTED,
		  "AMD cert signing: issuer key has %u bits, expected RSA-%u (the subject's modulus size)", bits,
		  c->modulus_bits);
	uint8_t buf[SA_AMD_CERT_MAX], sig[512];
	size_t len = 0, sig_len = 0;
	SA_TRY(amd_signed_bytes(c, buf, &len, err));
	SA_TRY(rsa_pss_sign_le(issuer_key, rsa_digest_for_bits(bits), buf, len, sig, sizeof(sig), &sig_len,
			       "AMD cert signature", err));
	memset(c->signature, 0, sizeof(c->signature));
	memcpy(c->signature, sig, sig_len);
	c->has_signature = true;
	c->signed_len = len;
	c->encoded_len = len + sig_len;
	return SA_OK;
}

static const char *amd_role(const sa_amd_cert *c) { return c->key_usage == SA_SEV_USAGE_ARK ? "ARK" : "ASK"; }

sa_status sa_amd_cert_verify(const sa_amd_cert *subject, const sa_amd_cert *issuer, sa_error *err)
{
	SA_ENSURE(subject && issuer, err, SA_ERR_ARG, "AMD cert verification: no subject or issuer");
	SA_TRY(check_amd_hdr(subject, err));
	SA_TRY(check_amd_hdr(issuer, err));
	char sid[33], cid[33], iid[33];
	sa_hex_encode(subject->key_id, 16, sid);
	sa_hex_encode(subject->certifying_id, 16, cid);
	sa_hex_encode(issuer->key_id, 16, iid);
	SA_ENSURE(issuer->key_usage == SA_SEV_USAGE_ARK, err, SA_ERR_VERIFY,
		  "AMD cert %s %s: the issuer %s has usage ASK (0x13); only the ARK signs AMD certificates",
		  amd_role(subject), sid, iid);
	SA_ENSURE(memcmp(subject->certifying_id, issuer->key_id, 16) == 0, err, SA_ERR_VERIFY,
		  "AMD cert %s %s: CERTIFYING_ID is %s, expected the issuer's KEY_ID %s", amd_role(subject), sid, cid,
		  iid);
	SA_ENSURE(subject->has_signature, err, SA_ERR_NOT_FOUND, "AMD cert %s %s: unsigned (no SIGNATURE)",
		  amd_role(subject), sid);
	SA_ENSURE(subject->modulus_bits == issuer->modulus_bits, err, SA_ERR_VERIFY,
		  "AMD cert %s %s: signature of %u bits, the issuer's key has %u", amd_role(subject), sid,
		  subject->modulus_bits, issuer->modulus_bits);
	uint8_t buf[SA_AMD_CERT_MAX];
	size_t len = 0;
	SA_TRY(amd_signed_bytes(subject, buf, &len, err));
	EVP_PKEY *key = NULL;
	SA_TRY(sa_amd_cert_pubkey(issuer, &key, err));
	char what[96];
	snprintf(what, sizeof(what), "AMD cert %s %s signed by ARK %s", amd_role(subject), sid, iid);
	sa_status st = rsa_pss_verify_le(key, rsa_digest_for_bits(issuer->modulus_bits), buf, len, subject->signature,
					 issuer->modulus_bits / 8, what, err);
	EVP_PKEY_free(key);
	return st;
}

/* The CEK algorithm an ASK signs with. */
static uint32_t ask_algo(const sa_amd_cert *ask)
{
	return ask->modulus_bits == 2048 ? SA_SEV_ALGO_RSA_SHA256 : SA_SEV_ALGO_RSA_SHA384;
}

sa_status sa_sev_cert_verify_by_ask(const sa_sev_cert *cek, const sa_amd_cert *ask, sa_error *err)
{
	SA_ENSURE(cek && ask, err, SA_ERR_ARG, "CEK verification: no CEK or ASK");
	SA_TRY(check_amd_hdr(ask, err));
	SA_ENSURE(ask->key_usage == SA_SEV_USAGE_ASK, err, SA_ERR_VERIFY,
		  "CEK verification: the issuer has usage %s (0x%x), expected ASK (0x13)", amd_role(ask), ask->key_usage);
	uint8_t buf[SA_SEV_CERT_SIZE];
	SA_TRY(sa_sev_cert_encode(cek, buf, err));
	SA_ENSURE(cek->pub_key_usage == SA_SEV_USAGE_CEK, err, SA_ERR_VERIFY,
		  "CEK verification: the certificate has usage %s (0x%x), expected CEK (0x1004)",
		  sa_sev_usage_name(cek->pub_key_usage), cek->pub_key_usage);
	const sa_sev_sig *slot = find_slot(cek, SA_SEV_USAGE_ASK);
	SA_ENSURE(slot, err, SA_ERR_NOT_FOUND,
		  "the CEK carries no ASK signature (slots: %s, %s); fetch the ASK-signed CEK from AMD's KDS: "
		  SA_SEV_KDS_CEK_URL "<GET_ID hex>",
		  sa_sev_usage_name(cek->sig[0].usage), sa_sev_usage_name(cek->sig[1].usage));
	uint32_t want = ask_algo(ask);
	SA_ENSURE(slot->algo == want, err, SA_ERR_VERIFY,
		  "CEK: the ASK signature's algorithm is 0x%x (%s), expected 0x%x (%s) for this RSA-%u ASK: not signed "
		  "by this ASK (another product's?)",
		  slot->algo, sa_sev_algo_name(slot->algo), want, sa_sev_algo_name(want), ask->modulus_bits);
	EVP_PKEY *key = NULL;
	SA_TRY(sa_amd_cert_pubkey(ask, &key, err));
	sa_status st = slot_verify(slot, key, buf, SA_SEV_CERT_SIGNED_LEN, "CEK signed by ASK", err);
	EVP_PKEY_free(key);
	return st;
}

sa_status sa_sev_cert_sign_by_ask(sa_sev_cert *cek, const sa_amd_cert *ask, EVP_PKEY *ask_key, sa_error *err)
{
	SA_ENSURE(cek && ask && ask_key, err, SA_ERR_ARG, "CEK signing: missing argument");
	SA_TRY(check_amd_hdr(ask, err));
	SA_ENSURE(ask->key_usage == SA_SEV_USAGE_ASK, err, SA_ERR_ARG, "CEK signing: the issuer is not an ASK (0x%x)",
		  ask->key_usage);
	EVP_PKEY *pub = NULL;
	SA_TRY(sa_amd_cert_pubkey(ask, &pub, err));
	int same = EVP_PKEY_eq(pub, ask_key);
	EVP_PKEY_free(pub);
	ERR_clear_error();
	SA_ENSURE(same == 1, err, SA_ERR_ARG, "CEK signing: the private key is not the ASK certificate's key");
	uint8_t buf[SA_SEV_CERT_SIZE];
	SA_TRY(sa_sev_cert_encode(cek, buf, err));
	sa_sev_sig *slot = empty_slot(cek);
	SA_ENSURE(slot, err, SA_ERR_STATE, "CEK signing: both signature slots are in use");
	return slot_sign(slot, SA_SEV_USAGE_ASK, ask_algo(ask), ask_key, buf, SA_SEV_CERT_SIGNED_LEN, err);
}

sa_status sa_amd_cert_fingerprint(const sa_amd_cert *c, uint8_t out[32], sa_error *err)
{
	SA_ENSURE(c && out, err, SA_ERR_ARG, "AMD cert: no input or output");
	uint8_t buf[SA_AMD_CERT_MAX];
	size_t len = 0;
	SA_TRY(amd_signed_bytes(c, buf, &len, err));
	return sa_sha256(buf, len, out, err);
}

/*
 * AMD's ARKs in their AMD format (virtee/sev src/certs/sev/builtin/<product>/ark.cert; the vectors
 * README §3): key id and SHA-256 of the signed part; tests/test_sev_cert.c recomputes them.
 */
static const sa_sev_ark_pin ark_pins[] = {
	{SA_SEV_PRODUCT_NAPLES, "ARK-Naples",
	 {0x1b, 0xb9, 0x87, 0xc3, 0x59, 0x49, 0x46, 0x06, 0xb1, 0x74, 0x94, 0x56, 0x01, 0xc9, 0xea, 0x5b},
	 {0x8e, 0xfd, 0xdc, 0xaa, 0xf8, 0x49, 0x90, 0xcf, 0x63, 0x54, 0xd9, 0x36, 0x37, 0xbe, 0x27, 0x02,
	  0x20, 0xcf, 0x15, 0x79, 0x73, 0x32, 0xb3, 0xd9, 0x18, 0xc3, 0xb8, 0xcc, 0x77, 0x34, 0x9f, 0x31}},
	{SA_SEV_PRODUCT_ROME, "ARK-Rome",
	 {0xe6, 0x00, 0x21, 0x22, 0xfb, 0x58, 0x41, 0x93, 0x99, 0xd1, 0x5f, 0xee, 0x7b, 0x13, 0x13, 0x51},
	 {0xae, 0x24, 0x56, 0xaf, 0x6c, 0x6a, 0xd2, 0x34, 0xba, 0xdd, 0x6c, 0x75, 0xe5, 0x89, 0x15, 0xbe,
	  0x61, 0x56, 0x82, 0x86, 0x76, 0x60, 0x83, 0x85, 0x3b, 0xf6, 0x68, 0xe6, 0xe2, 0x39, 0x77, 0xc3}},
	{SA_SEV_PRODUCT_MILAN, "ARK-Milan",
	 {0x94, 0xc3, 0x8e, 0x41, 0x77, 0xd0, 0x47, 0x92, 0x92, 0xa7, 0xae, 0x67, 0x1d, 0x08, 0x3f, 0xb6},
	 {0x26, 0x3b, 0x13, 0xfd, 0x31, 0x70, 0xc6, 0xff, 0xbb, 0x0b, 0x4f, 0x01, 0xf0, 0x98, 0x48, 0xdc,
	  0x08, 0xa8, 0xdc, 0x1e, 0x96, 0x37, 0xd4, 0x7e, 0x42, 0xcb, 0xe6, 0xc1, 0x35, 0xe4, 0xaf, 0x12}},
	{SA_SEV_PRODUCT_GENOA, "ARK-Genoa",
	 {0x9f, 0x9d, 0x4a, 0x8f, 0xe7, 0x61, 0x45, 0x65, 0x99, 0xf6, 0x94, 0x6c, 0x4c, 0x01, 0x0f, 0x3a},
	 {0x97, 0x3d, 0xf6, 0x26, 0x5e, 0x1b, 0x40, 0xcf, 0x88, 0x83, 0x30, 0x5c, 0x1f, 0x6a, 0x6c, 0xd2,
	  0x54, 0x97, 0x94, 0x46, 0xac, 0xb4, 0x0b, 0xd3, 0x96, 0x94, 0x6b, 0x2f, 0x19, 0xe7, 0x51, 0xe9}},
	{SA_SEV_PRODUCT_TURIN, "ARK-Turin",
	 {0xd0, 0x5c, 0x3a, 0x8b, 0xde, 0x48, 0x49, 0x04, 0xb4, 0x95, 0x52, 0x42, 0x2c, 0xeb, 0x39, 0x42},
	 {0x89, 0x32, 0x76, 0x96, 0xf8, 0x08, 0x2b, 0x20, 0xf5, 0xa5, 0x88, 0x56, 0x5a, 0xdc, 0x26, 0xd4,
	  0x78, 0xe1, 0xc6, 0xd5, 0x61, 0x53, 0xc1, 0xde, 0x65, 0x6e, 0x63, 0x39, 0x6b, 0x8f, 0x8e, 0x20}},
};

const sa_sev_ark_pin *sa_sev_ark_pins(size_t *count)
{
	if (count)
		*count = SA_ARRAY_LEN(ark_pins);
	return ark_pins;
}

const sa_sev_ark_pin *sa_sev_ark_pin_match(const sa_amd_cert *ark)
{
	uint8_t fp[32];
	if (!ark || ark->key_usage != SA_SEV_USAGE_ARK || sa_amd_cert_fingerprint(ark, fp, NULL) != SA_OK)
		return NULL;
	for (size_t i = 0; i < SA_ARRAY_LEN(ark_pins); i++)
		if (memcmp(ark_pins[i].key_id, ark->key_id, 16) == 0 && memcmp(ark_pins[i].fingerprint, fp, 32) == 0)
			return &ark_pins[i];
	return NULL;
}

/* ---- files --------------------------------------------------------------- */

/* The largest certificate file read: PDH ‖ PEK ‖ OCA ‖ CEK in base64 with line breaks, with room to spare. */
#define CERT_FILE_MAX (64u * 1024u)

/* Read a file and decode it from raw binary or base64 (hex, too: sa_decode_input's automatic mode). */
static sa_status read_cert_file(const char *path, size_t hint, uint8_t **out, size_t *out_len, sa_error *err)
{
	SA_ENSURE(path && out && out_len, err, SA_ERR_ARG, "certificate file: missing argument");
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	SA_TRY(sa_read_file(path, CERT_FILE_MAX, &raw, &raw_len, err));
	sa_status st = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, hint, out, out_len, NULL, err);
	free(raw);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", path);
	return SA_OK;
}

sa_status sa_sev_cert_read_file_all(const char *path, sa_sev_cert *out, size_t max, size_t *count, sa_error *err)
{
	SA_ENSURE(out && count && max > 0, err, SA_ERR_ARG, "SEV cert file: no output");
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(read_cert_file(path, SA_SEV_CERT_SIZE, &buf, &len, err));
	size_t n = len / SA_SEV_CERT_SIZE;
	sa_sev_cert *tmp = NULL;
	sa_status st = SA_OK;
	if (len == 0 || len % SA_SEV_CERT_SIZE != 0)
		st = sa_error_set(err, len < SA_SEV_CERT_SIZE ? SA_ERR_TRUNCATED : SA_ERR_TRAILING,
				  "%s: %zu bytes, expected a multiple of 0x824 (2084), one SEV certificate each", path,
				  len);
	else if (n > max)
		st = sa_error_set(err, SA_ERR_TRAILING, "%s: %zu SEV certificates, expected at most %zu", path, n,
				  max);
	else if (!(tmp = calloc(n, sizeof(*tmp))))
		st = sa_error_set(err, SA_ERR_NOMEM, "out of memory");
	sa_reader r;
	sa_reader_init(&r, buf, len);
	for (size_t i = 0; st == SA_OK && i < n; i++)
		if ((st = sa_sev_cert_read(&r, &tmp[i], err)) != SA_OK)
			st = sa_error_wrap(err, st, "%s: certificate %zu", path, i + 1);
	if (st == SA_OK) {
		memcpy(out, tmp, n * sizeof(*tmp));
		*count = n;
	}
	free(tmp);
	free(buf);
	return st;
}

sa_status sa_sev_cert_read_file(const char *path, sa_sev_cert *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "SEV cert file: no output");
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(read_cert_file(path, SA_SEV_CERT_SIZE, &buf, &len, err));
	sa_status st;
	if (len > SA_SEV_CERT_SIZE && len % SA_SEV_CERT_SIZE == 0)
		st = sa_error_set(err, SA_ERR_TRAILING, "%s: a bundle of %zu SEV certificates, expected one", path,
				  len / SA_SEV_CERT_SIZE);
	else if ((st = sa_sev_cert_decode(buf, len, out, err)) != SA_OK)
		st = sa_error_wrap(err, st, "%s", path);
	free(buf);
	return st;
}

sa_status sa_amd_cert_read_file(const char *path, sa_amd_cert *out, size_t max, size_t *count, sa_error *err)
{
	SA_ENSURE(out && count && max > 0, err, SA_ERR_ARG, "AMD cert file: no output");
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(read_cert_file(path, 0, &buf, &len, err));
	/* Each certificate takes at least the 576 bytes of the unsigned Naples ARK. */
	size_t cap = len / (SA_AMD_CERT_HDR_SIZE + 2 * 256) + 1;
	if (cap > max)
		cap = max;
	sa_amd_cert *tmp = calloc(cap, sizeof(*tmp));
	sa_status st = SA_OK;
	if (!tmp)
		st = sa_error_set(err, SA_ERR_NOMEM, "out of memory");
	else if (len == 0)
		st = sa_error_set(err, SA_ERR_TRUNCATED, "%s: empty, expected an AMD certificate", path);
	sa_reader r;
	sa_reader_init(&r, buf, len);
	size_t n = 0;
	for (; st == SA_OK && sa_reader_remaining(&r) > 0; n++) {
		if (n == cap) {
			st = sa_error_set(err, SA_ERR_TRAILING, "%s: more than %zu AMD certificates", path, max);
			break;
		}
		size_t at = sa_reader_offset(&r);
		if ((st = sa_amd_cert_read(&r, &tmp[n], err)) != SA_OK)
			st = sa_error_wrap(err, st, "%s: AMD certificate %zu at offset %zu", path, n + 1, at);
	}
	if (st == SA_OK) {
		memcpy(out, tmp, n * sizeof(*tmp));
		*count = n;
	}
	free(tmp);
	free(buf);
	return st;
}

/* ---- the chains ------------------------------------------------------------ */

/* A failed check whose summary is prefix + the error (the whole text also in `actual` when it is cut). */
static void fail_with(sa_verdict *v, const char *id, const char *prefix, const sa_error *e)
{
	sa_check *c = sa_verdict_add(v, id, SA_CHECK_FAIL, "%s%s", prefix, e->msg);
	if (c && strlen(prefix) + strlen(e->msg) >= sizeof(c->summary))
		sa_check_set_ev(c, NULL, e->msg);
}

/* Record a link: pass when st is SA_OK, else a failure carrying e's message. */
static void add_link(sa_verdict *v, const char *id, sa_status st, const sa_error *e, const char *pass_msg)
{
	if (st == SA_OK)
		(void)sa_verdict_add(v, id, SA_CHECK_PASS, "%s", pass_msg);
	else
		fail_with(v, id, "", e);
}

static void add_missing(sa_verdict *v, const char *id, const char *what)
{
	(void)sa_verdict_add(v, id, SA_CHECK_FAIL, "cannot check: no %s given", what);
}

/* Does ark equal one of the named roots (the same signed part)? */
static bool root_match(const sa_amd_cert *ark, const sa_sev_trust *t)
{
	uint8_t fp[32], rfp[32];
	if (sa_amd_cert_fingerprint(ark, fp, NULL) != SA_OK)
		return false;
	for (size_t i = 0; i < t->n_roots; i++)
		if (sa_amd_cert_fingerprint(&t->roots[i], rfp, NULL) == SA_OK && memcmp(fp, rfp, 32) == 0)
			return true;
	return false;
}

/* sev.product from the ARK's pin (NULL: not pinned) and the product the caller expects. */
static void check_product(const sa_sev_ark_pin *pin, const sa_sev_trust *t, sa_verdict *v)
{
	if (!pin) {
		(void)sa_verdict_add(v, "sev.product", SA_CHECK_SKIP, "%s%s",
				     t->product ? "taken as given: " : "not identified (the ARK matches no AMD pin)",
				     t->product ? sa_sev_product_name(t->product) : "");
		return;
	}
	if (t->product && t->product != pin->product) {
		sa_check *c = sa_verdict_add(v, "sev.product", SA_CHECK_FAIL, "the ARK is %s's, expected %s",
					     sa_sev_product_name(pin->product), sa_sev_product_name(t->product));
		if (c)
			sa_check_set_ev(c, sa_sev_product_name(t->product), sa_sev_product_name(pin->product));
		return;
	}
	(void)sa_verdict_add(v, "sev.product", SA_CHECK_PASS, "%s (from the ARK pin)", sa_sev_product_name(pin->product));
}

/* sev.chain.ark and sev.product. */
static void check_ark(const sa_amd_cert *ark, const sa_sev_trust *t, sa_verdict *v)
{
	sa_error e;
	if (!ark) {
		add_missing(v, "sev.chain.ark", "ARK");
		(void)sa_verdict_add(v, "sev.product", SA_CHECK_SKIP, "no ARK to identify the product");
		return;
	}
	char kid[33], fph[65];
	uint8_t fp[32];
	sa_hex_encode(ark->key_id, 16, kid);
	if (sa_amd_cert_fingerprint(ark, fp, &e) != SA_OK) {
		fail_with(v, "sev.chain.ark", "ARK: ", &e);
		check_product(NULL, t, v);
		return;
	}
	sa_hex_encode(fp, 32, fph);
	const sa_sev_ark_pin *pin = NULL;
	bool anchored = false;
	if (ark->key_usage != SA_SEV_USAGE_ARK) {
		sa_check *c = sa_verdict_add(v, "sev.chain.ark", SA_CHECK_FAIL,
					     "the certificate given as ARK (key id %s) has usage ASK (0x13)", kid);
		if (c)
			sa_check_set_ev(c, "KEY_USAGE 0x0 (ARK)", "KEY_USAGE 0x13 (ASK)");
	} else if (t->n_roots > 0) {
		anchored = root_match(ark, t);
		if (!anchored) {
			sa_check *c = sa_verdict_add(v, "sev.chain.ark", SA_CHECK_FAIL,
						     "ARK %s is not one of the %zu named roots", kid, t->n_roots);
			if (c)
				sa_check_set_ev(c, "a named root", fph);
		}
	} else {
		pin = sa_sev_ark_pin_match(ark);
		anchored = pin != NULL;
		if (!anchored) {
			sa_check *c = sa_verdict_add(v, "sev.chain.ark", SA_CHECK_FAIL,
						     "ARK %s is not a pinned AMD ARK (SHA-256 of its signed part: %s)", kid,
						     fph);
			if (c)
				sa_check_set_ev(c, "the ARK of Naples, Rome, Milan, Genoa or Turin", fph);
		}
	}
	if (anchored && ark->has_signature) {
		if (sa_amd_cert_verify(ark, ark, &e) == SA_OK)
			(void)sa_verdict_add(v, "sev.chain.ark", SA_CHECK_PASS, "ARK %s is %s; its self-signature verifies",
					     kid, pin ? pin->name : "a named root");
		else
			fail_with(v, "sev.chain.ark", "ARK self-signature: ", &e);
	} else if (anchored) {
		(void)sa_verdict_add(v, "sev.chain.ark", SA_CHECK_PASS,
				     "ARK %s is %s (unsigned form, trusted as an anchor)", kid,
				     pin ? pin->name : "a named root");
	}
	check_product(pin, t, v);
}

/* A role check on a SEV certificate: its usage must be want. */
static sa_status want_usage(const sa_sev_cert *c, uint32_t want, const char *role, sa_error *e)
{
	SA_ENSURE(c->pub_key_usage == want, e, SA_ERR_VERIFY, "the certificate given as %s has usage %s (0x%x)", role,
		  sa_sev_usage_name(c->pub_key_usage), c->pub_key_usage);
	return SA_OK;
}

static sa_status link_sev(const sa_sev_cert *subject, uint32_t su, const char *sr, const sa_sev_cert *issuer,
			  uint32_t iu, const char *ir, sa_error *e)
{
	SA_TRY(want_usage(subject, su, sr, e));
	SA_TRY(want_usage(issuer, iu, ir, e));
	return sa_sev_cert_verify(subject, issuer, e);
}

/* sev.chain.oca: self-signed, and the trusted OCA when one is named. */
static void check_oca(const sa_sev_cert *oca, const sa_sev_trust *t, sa_verdict *v)
{
	sa_error e;
	if (link_sev(oca, SA_SEV_USAGE_OCA, "OCA", oca, SA_SEV_USAGE_OCA, "OCA", &e) != SA_OK) {
		fail_with(v, "sev.chain.oca", "OCA self-signature: ", &e);
		return;
	}
	if (!t->trusted_oca) {
		(void)sa_verdict_add(v, "sev.chain.oca", SA_CHECK_PASS,
				     "the OCA's self-signature verifies (no trusted OCA named)");
		return;
	}
	uint8_t a[32], b[32];
	char ah[65] = "?", bh[65] = "?";
	if (sa_sev_cert_key_fingerprint(oca, a, NULL) == SA_OK)
		sa_hex_encode(a, 32, ah);
	if (sa_sev_cert_key_fingerprint(t->trusted_oca, b, NULL) == SA_OK)
		sa_hex_encode(b, 32, bh);
	if (sa_sev_cert_same_key(oca, t->trusted_oca)) {
		(void)sa_verdict_add(v, "sev.chain.oca", SA_CHECK_PASS, "the OCA is the trusted OCA (key %.16s...)", ah);
		return;
	}
	sa_check *c = sa_verdict_add(v, "sev.chain.oca", SA_CHECK_FAIL,
				     "the chain's OCA is a foreign OCA, not the trusted OCA: the platform's PEK is "
				     "certified by another owner");
	if (c)
		sa_check_set_ev(c, bh, ah);
}

sa_status sa_sev_chain_check(const sa_sev_chain *chain, const sa_sev_trust *trust, sa_verdict *out, sa_error *err)
{
	SA_ENSURE(chain && out, err, SA_ERR_ARG, "SEV chain check: no chain or verdict");
	sa_sev_trust none;
	memset(&none, 0, sizeof(none));
	const sa_sev_trust *t = trust ? trust : &none;
	SA_ENSURE(t->n_roots == 0 || t->roots, err, SA_ERR_ARG, "SEV chain check: %zu roots but no array", t->n_roots);
	sa_error e;
	sa_status st;

	check_ark(chain->ark, t, out);

	if (!chain->ask || !chain->ark) {
		add_missing(out, "sev.chain.ask", chain->ask ? "ARK" : "ASK");
	} else {
		st = chain->ask->key_usage == SA_SEV_USAGE_ASK
			     ? sa_amd_cert_verify(chain->ask, chain->ark, &e)
			     : sa_error_set(&e, SA_ERR_VERIFY, "the certificate given as ASK has usage ARK (0x0)");
		add_link(out, "sev.chain.ask", st, &e, "the ARK signed the ASK");
	}

	if (!chain->cek || !chain->ask) {
		add_missing(out, "sev.chain.cek", chain->cek ? "ASK" : "CEK");
	} else {
		st = sa_sev_cert_verify_by_ask(chain->cek, chain->ask, &e);
		add_link(out, "sev.chain.cek", st, &e, "the ASK signed the CEK (RSA-PSS)");
	}

	if (!chain->pek || !chain->cek) {
		add_missing(out, "sev.chain.pek_cek", chain->pek ? "CEK" : "PEK");
	} else {
		st = link_sev(chain->pek, SA_SEV_USAGE_PEK, "PEK", chain->cek, SA_SEV_USAGE_CEK, "CEK", &e);
		add_link(out, "sev.chain.pek_cek", st, &e, "the CEK signed the PEK");
	}

	/* Without an OCA in the chain, the trusted OCA is the one the PEK must carry. */
	const sa_sev_cert *oca = chain->oca ? chain->oca : t->trusted_oca;
	if (!oca)
		add_missing(out, "sev.chain.oca", "OCA");
	else
		check_oca(oca, t, out);

	if (!chain->pek || !oca) {
		add_missing(out, "sev.chain.pek_oca", chain->pek ? "OCA" : "PEK");
	} else {
		st = link_sev(chain->pek, SA_SEV_USAGE_PEK, "PEK", oca, SA_SEV_USAGE_OCA, "OCA", &e);
		if (st == SA_OK)
			(void)sa_verdict_add(out, "sev.chain.pek_oca", SA_CHECK_PASS, "the OCA signed the PEK");
		else
			fail_with(out, "sev.chain.pek_oca", "the PEK is not signed by this OCA (a foreign OCA's?): ", &e);
	}

	if (!chain->pdh) {
		(void)sa_verdict_add(out, "sev.chain.pdh", SA_CHECK_SKIP, "no PDH given");
	} else if (!chain->pek) {
		add_missing(out, "sev.chain.pdh", "PEK");
	} else {
		st = link_sev(chain->pdh, SA_SEV_USAGE_PDH, "PDH", chain->pek, SA_SEV_USAGE_PEK, "PEK", &e);
		add_link(out, "sev.chain.pdh", st, &e, "the PEK signed the PDH");
	}
	return SA_OK;
}
