/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP ID block and ID authentication information (SNP ABI spec 56860,
 * SNP_LAUNCH_FINISH): the guest owner's signed statement of the expected
 * launch digest, family and image id, guest SVN and policy, which firmware
 * checks at launch finish and whose key digests appear in every report.
 *
 * Layouts (all integers little-endian):
 *   ID_BLOCK (0x60): LD[48] FAMILY_ID[16] IMAGE_ID[16] VERSION u32 (=1)
 *     GUEST_SVN u32 POLICY u64.
 *   ID_AUTH_INFO (0x1000): ID_KEY_ALGO u32 @0, AUTH_KEY_ALGO u32 @4, reserved,
 *     ID_BLOCK_SIG[0x200] @0x40, ID_KEY[0x404] @0x240, reserved,
 *     ID_KEY_SIG[0x200] @0x680, AUTHOR_KEY[0x404] @0x880, reserved to 0x1000.
 *   Signature (0x200): R[72] S[72] little-endian, reserved[0x170].
 *   ECDSA public key (0x404): CURVE u32 (2 = P-384), QX[72] QY[72]
 *     little-endian zero-padded, reserved[0x370].
 *
 * ID_BLOCK_SIG is ECDSA P-384/SHA-384 by the ID key over the 0x60 ID block
 * bytes; ID_KEY_SIG is by the author key over the 0x404 ID_KEY bytes.  A key
 * digest (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST in the report) is SHA-384 of the
 * 0x404 public key bytes.
 */
#ifndef SEVATTEST_IDBLOCK_H
#define SEVATTEST_IDBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_ID_BLOCK_SIZE 0x60
#define SA_ID_AUTH_SIZE 0x1000
#define SA_ECDSA_PUBKEY_SIZE 0x404
#define SA_SNP_SIGNATURE_SIZE 0x200
#define SA_ID_BLOCK_VERSION 1
#define SA_ECDSA_CURVE_P256 1
#define SA_ECDSA_CURVE_P384 2
#define SA_ID_ALGO_ECDSA_P384_SHA384 1
/* The guest policy sev-snp-measure and virtee/sev put in an ID block by default. */
#define SA_ID_BLOCK_DEFAULT_POLICY 0x30000ull

typedef struct sa_id_block {
	uint8_t ld[48];
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
} sa_id_block;

typedef struct sa_snp_signature {
	uint8_t r[72]; /* little-endian */
	uint8_t s[72];
	uint8_t reserved[0x170];
} sa_snp_signature;

typedef struct sa_ecdsa_pubkey {
	uint32_t curve;
	uint8_t qx[72]; /* little-endian, zero-padded */
	uint8_t qy[72];
	uint8_t reserved[0x370];
} sa_ecdsa_pubkey;

typedef struct sa_id_auth {
	uint32_t id_key_algo;
	uint32_t auth_key_algo;
	uint8_t reserved_008[0x38];
	sa_snp_signature id_block_sig;
	sa_ecdsa_pubkey id_key;
	uint8_t reserved_644[0x3C];
	sa_snp_signature id_key_sig;
	sa_ecdsa_pubkey author_key;
	uint8_t reserved_c84[0x37C];
} sa_id_auth;

/* Codecs: decoding needs exactly the structure's size (SA_ERR_TRUNCATED / SA_ERR_TRAILING). */
SA_MUST_USE sa_status sa_id_block_decode(const uint8_t *buf, size_t len, sa_id_block *out, sa_error *err);
SA_MUST_USE sa_status sa_id_block_encode(const sa_id_block *in, uint8_t out[SA_ID_BLOCK_SIZE], sa_error *err);
SA_MUST_USE sa_status sa_id_auth_decode(const uint8_t *buf, size_t len, sa_id_auth *out, sa_error *err);
SA_MUST_USE sa_status sa_id_auth_encode(const sa_id_auth *in, uint8_t out[SA_ID_AUTH_SIZE], sa_error *err);
SA_MUST_USE sa_status sa_ecdsa_pubkey_decode(const uint8_t *buf, size_t len, sa_ecdsa_pubkey *out, sa_error *err);
SA_MUST_USE sa_status sa_ecdsa_pubkey_encode(const sa_ecdsa_pubkey *in, uint8_t out[SA_ECDSA_PUBKEY_SIZE],
					     sa_error *err);

/* An ID block with VERSION 1, the given launch digest and POLICY 0x30000, everything else zero. */
void sa_id_block_init(sa_id_block *b, const uint8_t ld[48]);

/* The AMD form of an EC P-384 key (public or private; SA_ERR_UNSUPPORTED for other curves). */
SA_MUST_USE sa_status sa_ecdsa_pubkey_from_evp(EVP_PKEY *key, sa_ecdsa_pubkey *out, sa_error *err);
/*
 * An EVP_PKEY (public only) from the AMD form: CURVE must be 2 (P-384, else
 * SA_ERR_UNSUPPORTED), the coordinates below 2^384 and a point on the curve
 * (else SA_ERR_FORMAT).  Reserved bytes are not checked (the digest covers them).
 */
SA_MUST_USE sa_status sa_ecdsa_pubkey_to_evp(const sa_ecdsa_pubkey *in, EVP_PKEY **out, sa_error *err);

/*
 * An EC P-384 private key from PEM (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE
 * KEY", unencrypted): SA_ERR_FORMAT if none can be read, SA_ERR_UNSUPPORTED
 * for another key type or curve.  EVP_PKEY_free() it.
 */
SA_MUST_USE sa_status sa_p384_private_key_from_pem(const uint8_t *pem, size_t len, EVP_PKEY **out, sa_error *err);

/* SHA-384 of the 0x404-byte encoding: the report's ID_KEY_DIGEST / AUTHOR_KEY_DIGEST. */
SA_MUST_USE sa_status sa_ecdsa_pubkey_digest(const sa_ecdsa_pubkey *key, uint8_t out[48], sa_error *err);
/* The same for an EC P-384 EVP_PKEY. */
SA_MUST_USE sa_status sa_key_digest_of_evp(EVP_PKEY *key, uint8_t out[48], sa_error *err);

/*
 * Build the ID_AUTH_INFO for an ID block: ID_BLOCK_SIG by id_key (private),
 * ID_KEY its public key and ID_KEY_ALGO 1; with author_key (may be NULL)
 * also ID_KEY_SIG and AUTHOR_KEY, and AUTH_KEY_ALGO 1 (else 0 and the author
 * fields zero).  ECDSA signatures are randomized: out differs between calls.
 */
SA_MUST_USE sa_status sa_id_auth_sign(const sa_id_block *block, EVP_PKEY *id_key, EVP_PKEY *author_key,
				      sa_id_auth *out, sa_error *err);

/*
 * Check an ID block's signature: ID_KEY_ALGO must be 1 (SA_ERR_UNSUPPORTED),
 * ID_KEY a valid P-384 key (SA_ERR_UNSUPPORTED / SA_ERR_FORMAT) and
 * ID_BLOCK_SIG verify over block (0x60 bytes) with it (SA_ERR_VERIFY).
 */
SA_MUST_USE sa_status sa_id_block_verify(const uint8_t block[SA_ID_BLOCK_SIZE], const sa_id_auth *auth,
					 sa_error *err);
/* Check ID_KEY_SIG: AUTH_KEY_ALGO 1, AUTHOR_KEY valid, its signature over the 0x404 ID_KEY bytes. */
SA_MUST_USE sa_status sa_id_key_verify(const sa_id_auth *auth, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
