/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
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

/*
 * SHA-384 and SHA-256 fetched once from the default provider: EVP_sha384() is a legacy
 * descriptor that OpenSSL 3 fetches again on every EVP_Digest (a locked lookup), which costs
 * about a tenth of hashing a 4 KiB page, and measurements hash two digests per page.  The
 * fetched descriptors live for the process (reachable, so not leaks); when the fetch fails the
 * legacy descriptors and EVP_Digest still work.
 */
static EVP_MD *fetched_sha384, *fetched_sha256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
/* Each thread's reusable digest context (EVP_Digest allocates, cleanses and frees one per call). */
static pthread_key_t ctx_key;
static bool have_ctx_key;

static void free_thread_ctx(void *ctx) { EVP_MD_CTX_free(ctx); }

static void fetch_digests(void)
{
	fetched_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	have_ctx_key = pthread_key_create(&ctx_key, free_thread_ctx) == 0;
	ERR_clear_error();
}

static EVP_MD_CTX *thread_ctx(void)
{
	if (!have_ctx_key)
		return NULL;
	EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
	if (ctx)
		return ctx;
	ctx = EVP_MD_CTX_new();
	if (ctx && pthread_setspecific(ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static sa_status digest(const char *name, const void *data, size_t len, uint8_t *out, sa_error *err)
{
	unsigned int n = 0;
	bool is384 = strcmp(name, "SHA384") == 0;
	const EVP_MD *md = NULL;
	EVP_MD_CTX *ctx = NULL;
	if (pthread_once(&fetch_once, fetch_digests) == 0) {
		md = is384 ? fetched_sha384 : fetched_sha256;
		ctx = md ? thread_ctx() : NULL;
	}
	if (ctx) {
		/* Re-initialising a context that already holds this digest reuses its state. */
		if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
		    EVP_DigestFinal_ex(ctx, out, &n) != 1)
			return sa_crypto_error(err, "%s failed", name);
		return SA_OK;
	}
	if (!md)
		md = is384 ? EVP_sha384() : EVP_sha256();
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

sa_status sa_key_require_p384(EVP_PKEY *key, const char *what, sa_error *err)
{
	SA_ENSURE(EVP_PKEY_is_a(key, "EC"), err, SA_ERR_UNSUPPORTED, "%s: not an EC key, expected ECDSA P-384", what);
	char group[32] = "";
	size_t glen = 0;
	SA_ENSURE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) == 1 &&
			  strcmp(group, "secp384r1") == 0,
		  err, SA_ERR_UNSUPPORTED, "%s: curve is '%s', expected secp384r1 (P-384)", what, group[0] ? group : "?");
	return SA_OK;
}

/* "SHA256" or "SHA384" (the digests AMD's formats use); NULL otherwise. */
static const EVP_MD *named_digest(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "SHA384") == 0)
		return EVP_sha384();
	if (strcmp(name, "SHA256") == 0)
		return EVP_sha256();
	return NULL;
}

/* The checks shared by ECDSA signing and verification: an EC key, a known digest, a sane width. */
static sa_status ecdsa_args(EVP_PKEY *key, const char *digest_name, const uint8_t *r, const uint8_t *s, size_t width,
			    const EVP_MD **md, sa_error *err)
{
	SA_ENSURE(EVP_PKEY_is_a(key, "EC"), err, SA_ERR_UNSUPPORTED, "signing key: not an EC key, expected ECDSA");
	*md = named_digest(digest_name);
	SA_ENSURE(*md, err, SA_ERR_UNSUPPORTED, "ECDSA digest '%s': expected SHA256 or SHA384",
		  digest_name ? digest_name : "(none)");
	SA_ENSURE(r && s && width > 0 && width <= 128, err, SA_ERR_ARG, "ECDSA signature: width %zu, expected 1..128",
		  width);
	return SA_OK;
}

sa_status sa_ecdsa_verify_le(EVP_PKEY *key, const char *digest_name, const uint8_t *msg, size_t msg_len,
			     const uint8_t *r, const uint8_t *s, size_t width, sa_error *err)
{
	SA_ENSURE(key, err, SA_ERR_UNSUPPORTED, "signing key: none given (expected ECDSA)");
	const EVP_MD *md = NULL;
	SA_TRY(ecdsa_args(key, digest_name, r, s, width, &md, err));
	uint8_t *der = NULL;
	size_t der_len = 0;
	SA_TRY(sa_ecdsa_sig_le_to_der(r, s, width, &der, &der_len, err));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	sa_status st;
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1) {
		st = sa_crypto_error(err, "cannot start ECDSA verification");
	} else {
		int rc = EVP_DigestVerify(ctx, der, der_len, msg, msg_len);
		if (rc == 1) {
			st = SA_OK;
		} else {
			ERR_clear_error();
			st = sa_error_set(err, SA_ERR_VERIFY, "ECDSA/%s signature does not verify", digest_name);
		}
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return st;
}

sa_status sa_ecdsa_sign_le(EVP_PKEY *key, const char *digest_name, const uint8_t *msg, size_t msg_len, uint8_t *r,
			   uint8_t *s, size_t width, sa_error *err)
{
	SA_ENSURE(key, err, SA_ERR_ARG, "ECDSA signing: no key given");
	const EVP_MD *md = NULL;
	SA_TRY(ecdsa_args(key, digest_name, r, s, width, &md, err));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[320];
	size_t der_len = 0;
	sa_status st = SA_OK;
	/* Ask for the size first: a key on a larger curve than the buffer is refused, not overrun. */
	if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 || EVP_DigestSign(ctx, NULL, &der_len, msg,
											  msg_len) != 1)
		st = sa_crypto_error(err, "ECDSA signing failed");
	else if (der_len > sizeof(der))
		st = sa_error_set(err, SA_ERR_UNSUPPORTED, "ECDSA signing: curve too large (%zu-byte signature)",
				  der_len);
	else if (EVP_DigestSign(ctx, der, &der_len, msg, msg_len) != 1)
		st = sa_crypto_error(err, "ECDSA signing failed");
	EVP_MD_CTX_free(ctx);
	if (st != SA_OK)
		return st;
	return sa_ecdsa_sig_der_to_le(der, der_len, r, s, width, err);
}

sa_status sa_ecdsa_p384_verify_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, const uint8_t r[72],
				  const uint8_t s[72], sa_error *err)
{
	SA_ENSURE(key, err, SA_ERR_UNSUPPORTED, "signing key: none given (expected ECDSA P-384)");
	SA_TRY(sa_key_require_p384(key, "signing key", err));
	return sa_ecdsa_verify_le(key, "SHA384", msg, msg_len, r, s, 72, err);
}

sa_status sa_ecdsa_p384_sign_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, uint8_t r[72], uint8_t s[72],
				sa_error *err)
{
	return sa_ecdsa_sign_le(key, "SHA384", msg, msg_len, r, s, 72, err);
}
