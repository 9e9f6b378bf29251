/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sevattest/crypto.h"

#include "internal.h"

sa_status sa_crypto_error(sa_error *err, const char *fmt, ...)
{
	char prefix[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	unsigned long e = ERR_get_error();
	char detail[256] = "no detail from OpenSSL";
	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	return sa_error_set(err, SA_ERR_CRYPTO, "%s (%s)", prefix, detail);
}

static sa_status digest(const char *name, const void *data, size_t len, uint8_t *out, sa_error *err)
{
	unsigned int n = 0;
	const EVP_MD *md = strcmp(name, "SHA384") == 0 ? EVP_sha384() : EVP_sha256();
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return sa_crypto_error(err, "%s failed", name);
	return SA_OK;
}

sa_status sa_sha384(const void *data, size_t len, uint8_t out[48], sa_error *err)
{
	return digest("SHA384", data, len, out, err);
}

sa_status sa_sha256(const void *data, size_t len, uint8_t out[32], sa_error *err)
{
	return digest("SHA256", data, len, out, err);
}

/* BIGNUM from a little-endian field. */
static BIGNUM *bn_from_le(const uint8_t *p, size_t n) { return BN_lebin2bn(p, (int)n, NULL); }

sa_status sa_ecdsa_sig_le_to_der(const uint8_t *r, const uint8_t *s, size_t width, uint8_t **der, size_t *der_len,
				 sa_error *err)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = bn_from_le(r, width), *bs = bn_from_le(s, width);
	if (!sig || !br || !bs) {
		ECDSA_SIG_free(sig);
		BN_free(br);
		BN_free(bs);
		return sa_crypto_error(err, "cannot build ECDSA signature");
	}
	ECDSA_SIG_set0(sig, br, bs); /* takes br, bs */
	unsigned char *buf = NULL;
	int n = i2d_ECDSA_SIG(sig, &buf);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return sa_crypto_error(err, "cannot encode ECDSA signature");
	*der = buf; /* OPENSSL_free */
	*der_len = (size_t)n;
	return SA_OK;
}

sa_status sa_ecdsa_sig_der_to_le(const uint8_t *der, size_t der_len, uint8_t *r, uint8_t *s, size_t width,
				 sa_error *err)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig)
		return sa_crypto_error(err, "cannot decode ECDSA signature");
	const BIGNUM *br, *bs;
	ECDSA_SIG_get0(sig, &br, &bs);
	int ok = BN_bn2lebinpad(br, r, (int)width) == (int)width && BN_bn2lebinpad(bs, s, (int)width) == (int)width;
	ECDSA_SIG_free(sig);
	SA_ENSURE(ok, err, SA_ERR_RANGE, "ECDSA signature component wider than %zu bytes", width);
	return SA_OK;
}

sa_status sa_ecdsa_p384_verify_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, const uint8_t r[72],
				  const uint8_t s[72], sa_error *err)
{
	SA_ENSURE(key && EVP_PKEY_is_a(key, "EC"), err, SA_ERR_UNSUPPORTED,
		  "signing key is not an EC key (expected ECDSA P-384)");
	char group[32] = "";
	size_t glen = 0;
	SA_ENSURE(EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &glen) == 1 &&
			  strcmp(group, "secp384r1") == 0,
		  err, SA_ERR_UNSUPPORTED, "signing key is on curve '%s', expected secp384r1 (P-384)",
		  group[0] ? group : "?");
	uint8_t *der = NULL;
	size_t der_len = 0;
	SA_TRY(sa_ecdsa_sig_le_to_der(r, s, 72, &der, &der_len, err));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	sa_status st;
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key) != 1) {
		st = sa_crypto_error(err, "cannot start ECDSA verification");
	} else {
		int rc = EVP_DigestVerify(ctx, der, der_len, msg, msg_len);
		if (rc == 1) {
			st = SA_OK;
		} else {
			ERR_clear_error();
			st = sa_error_set(err, SA_ERR_VERIFY, "ECDSA P-384/SHA-384 signature does not verify");
		}
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return st;
}

sa_status sa_ecdsa_p384_sign_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, uint8_t r[72], uint8_t s[72],
				sa_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[160];
	size_t der_len = sizeof(der);
	sa_status st = SA_OK;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, msg, msg_len) != 1)
		st = sa_crypto_error(err, "ECDSA P-384 signing failed");
	EVP_MD_CTX_free(ctx);
	if (st != SA_OK)
		return st;
	return sa_ecdsa_sig_der_to_le(der, der_len, r, s, 72, err);
}
