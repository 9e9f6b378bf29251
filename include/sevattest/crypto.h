/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thin helpers over OpenSSL EVP for the signature formats AMD uses: ECDSA
 * P-384 signatures carried as two 72-byte little-endian integers.
 */
#ifndef SEVATTEST_CRYPTO_H
#define SEVATTEST_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SHA-384 / SHA-256 of a buffer. */
SA_MUST_USE sa_status sa_sha384(const void *data, size_t len, uint8_t out[48], sa_error *err);
SA_MUST_USE sa_status sa_sha256(const void *data, size_t len, uint8_t out[32], sa_error *err);

/* Convert AMD little-endian r,s (each `width` bytes) to a DER ECDSA-Sig-Value. */
SA_MUST_USE sa_status sa_ecdsa_sig_le_to_der(const uint8_t *r, const uint8_t *s, size_t width, uint8_t **der,
					     size_t *der_len, sa_error *err);
/* And back: DER to little-endian r,s zero-padded to `width` bytes each. */
SA_MUST_USE sa_status sa_ecdsa_sig_der_to_le(const uint8_t *der, size_t der_len, uint8_t *r, uint8_t *s,
					     size_t width, sa_error *err);

/* SA_OK if key (non-NULL) is an EC key on P-384; SA_ERR_UNSUPPORTED naming `what` otherwise. */
SA_MUST_USE sa_status sa_key_require_p384(EVP_PKEY *key, const char *what, sa_error *err);

/*
 * Verify an ECDSA signature with SHA-384 by an EC P-384 key, the signature given
 * as little-endian r,s of 72 bytes.  SA_ERR_VERIFY when it does not verify.
 */
SA_MUST_USE sa_status sa_ecdsa_p384_verify_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len,
					      const uint8_t r[72], const uint8_t s[72], sa_error *err);
/* Sign with SHA-384 by an EC P-384 private key into little-endian r,s. */
SA_MUST_USE sa_status sa_ecdsa_p384_sign_le(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, uint8_t r[72],
					    uint8_t s[72], sa_error *err);

/*
 * The same for any EC key and digest ("SHA256" or "SHA384"), r and s given as
 * `width`-byte little-endian integers (SEV certificates and reports: 72).
 */
SA_MUST_USE sa_status sa_ecdsa_verify_le(EVP_PKEY *key, const char *digest, const uint8_t *msg, size_t msg_len,
					 const uint8_t *r, const uint8_t *s, size_t width, sa_error *err);
SA_MUST_USE sa_status sa_ecdsa_sign_le(EVP_PKEY *key, const char *digest, const uint8_t *msg, size_t msg_len,
				       uint8_t *r, uint8_t *s, size_t width, sa_error *err);
/* Key generation: cert.h (sa_key_generate_p384); AMD's 0x404-byte public key codec: idblock.h. */

/* Record OpenSSL's error queue into err, after a prefix. Clears the queue. */
sa_status sa_crypto_error(sa_error *err, const char *fmt, ...) SA_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif
