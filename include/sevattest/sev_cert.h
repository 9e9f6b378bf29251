/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD's own certificate formats for SEV and SEV-ES (SEV API 0.24,
 * appendices B and C), and the two chains that SEV evidence rests on:
 *
 *   ARK -> ASK -> CEK -> PEK -> PDH     (device identity: AMD signs the CEK)
 *         OCA ---------> PEK            (platform owner: the OCA signs the PEK)
 *
 * Two formats:
 *   - the AMD CA certificate of the ARK and ASK (RSA-2048 on Naples, RSA-4096
 *     later; RSASSA-PSS, SHA-256 for a 2048-bit issuer and SHA-384 for a
 *     4096-bit one, salt = digest length; integers little-endian);
 *   - the 0x824-byte SEV certificate of the OCA, PEK, PDH and CEK (P-384
 *     ECDSA/ECDH keys with little-endian coordinates, or RSA; two signature
 *     slots; the signed bytes are 0x000..0x413).
 *
 * Quirks of real data: AMD's published Naples ARK is 576 bytes, without its
 * self-signature (it is accepted as a trust anchor by its pin); the CEK that
 * PDH_CERT_EXPORT returns is unsigned (both slots empty), and the ASK-signed
 * CEK comes from AMD's KDS (https://kdsintf.amd.com/cek/id/<GET_ID hex>).
 *
 * Trust: the ARKs of Naples, Rome, Milan, Genoa and Turin are pinned by the
 * SHA-256 of their *signed part* (everything before the signature), so the
 * unsigned and signed forms of the Naples ARK have one pin.  A root the user
 * names (an emulator's) replaces the pins, as in the SNP verifier.
 */
#ifndef SEVATTEST_SEV_CERT_H
#define SEVATTEST_SEV_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sevattest/bytes.h"
#include "sevattest/error.h"
#include "sevattest/product.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sa_verdict; /* verify.h */

/* ---- products ------------------------------------------------------------ */

/* SEV generations (SNP's sa_product covers Milan and later only). */
typedef enum sa_sev_product {
	SA_SEV_PRODUCT_UNKNOWN = 0,
	SA_SEV_PRODUCT_NAPLES,
	SA_SEV_PRODUCT_ROME,
	SA_SEV_PRODUCT_MILAN,
	SA_SEV_PRODUCT_GENOA,
	SA_SEV_PRODUCT_TURIN,
} sa_sev_product;

const char *sa_sev_product_name(sa_sev_product p); /* "Naples", ..., "unknown" */
/* Case-insensitive "naples", "rome", "milan", "genoa", "turin". */
SA_MUST_USE sa_status sa_sev_product_parse(const char *name, sa_sev_product *out, sa_error *err);
/* The SNP product of a Milan/Genoa/Turin platform, else SA_PRODUCT_UNKNOWN. */
sa_product sa_sev_product_snp(sa_sev_product p);

/* ---- usages and algorithms ----------------------------------------------- */

#define SA_SEV_USAGE_ARK 0x0000u
#define SA_SEV_USAGE_ASK 0x0013u
#define SA_SEV_USAGE_INVALID 0x1000u /* an empty signature slot */
#define SA_SEV_USAGE_OCA 0x1001u
#define SA_SEV_USAGE_PEK 0x1002u
#define SA_SEV_USAGE_PDH 0x1003u
#define SA_SEV_USAGE_CEK 0x1004u

#define SA_SEV_ALGO_INVALID 0x0000u
#define SA_SEV_ALGO_RSA_SHA256 0x0001u
#define SA_SEV_ALGO_ECDSA_SHA256 0x0002u
#define SA_SEV_ALGO_ECDH_SHA256 0x0003u
#define SA_SEV_ALGO_RSA_SHA384 0x0101u
#define SA_SEV_ALGO_ECDSA_SHA384 0x0102u
#define SA_SEV_ALGO_ECDH_SHA384 0x0103u

/* "OCA", "PEK", "PDH", "CEK", "ARK", "ASK", "none" (0x1000), or "unknown". */
const char *sa_sev_usage_name(uint32_t usage);
/* "RSA-SHA256", "ECDSA-SHA256", "ECDH-SHA256", ..., or "unknown". */
const char *sa_sev_algo_name(uint32_t algo);
/* True for the ECDSA and ECDH algorithms (an EC P-384 key), false for RSA and unknown ones. */
bool sa_sev_algo_is_ec(uint32_t algo);

/* ---- the 0x824-byte SEV certificate ---------------------------------------- */

#define SA_SEV_CERT_SIZE 0x824
#define SA_SEV_CERT_SIGNED_LEN 0x414
#define SA_SEV_PUBKEY_SIZE 0x404
#define SA_SEV_SIG_SIZE 0x200

typedef struct sa_sev_sig {
	uint32_t usage; /* the signer's usage; SA_SEV_USAGE_INVALID = empty slot */
	uint32_t algo;
	uint8_t sig[SA_SEV_SIG_SIZE]; /* ECDSA: r[72] LE, s[72] LE, zeros; RSA: signature LE */
} sa_sev_sig;

typedef struct sa_sev_cert {
	uint32_t version; /* 1 */
	uint8_t api_major, api_minor;
	uint16_t reserved;
	uint32_t pub_key_usage;
	uint32_t pub_key_algo;
	uint8_t pub_key[SA_SEV_PUBKEY_SIZE]; /* EC: curve u32, qx[72] LE, qy[72] LE, zeros; RSA: bits u32, exp[512] LE, mod[512] LE */
	sa_sev_sig sig[2];
} sa_sev_cert;

/*
 * Decode exactly SA_SEV_CERT_SIZE bytes (SA_ERR_TRUNCATED / SA_ERR_TRAILING
 * otherwise).  Checks version 1, a known usage and algorithm, the key fields
 * consistent with the algorithm (EC: curve 2 = P-384, coordinates < 2^384;
 * RSA: 2048 or 4096 bits) and the signature slots' usages/algorithms known
 * or empty.  Errors name the field and offset.
 */
SA_MUST_USE sa_status sa_sev_cert_decode(const uint8_t *buf, size_t len, sa_sev_cert *out, sa_error *err);
/* Read one certificate from r (for bundles such as PEK ‖ OCA ‖ CEK). */
SA_MUST_USE sa_status sa_sev_cert_read(sa_reader *r, sa_sev_cert *out, sa_error *err);
SA_MUST_USE sa_status sa_sev_cert_encode(const sa_sev_cert *c, uint8_t out[SA_SEV_CERT_SIZE], sa_error *err);

/* The public key as an EVP_PKEY (EC P-384 or RSA). */
SA_MUST_USE sa_status sa_sev_cert_pubkey(const sa_sev_cert *c, EVP_PKEY **out, sa_error *err);
/*
 * A fresh certificate for key (EC P-384 for OCA/PEK/CEK with ECDSA-SHA256 and
 * for PDH/GODH with ECDH-SHA256, as firmware makes them): version 1, the API
 * version given, both signature slots empty.
 */
SA_MUST_USE sa_status sa_sev_cert_init(sa_sev_cert *c, uint32_t usage, uint32_t algo, uint8_t api_major,
				       uint8_t api_minor, EVP_PKEY *key, sa_error *err);
/* True when the two certificates carry the same public key (usage and algorithm aside). */
bool sa_sev_cert_same_key(const sa_sev_cert *a, const sa_sev_cert *b);
/* Number of non-empty signature slots. */
unsigned sa_sev_cert_sig_count(const sa_sev_cert *c);
/* SHA-256 of the 0x404-byte PUB_KEY field: the key's fingerprint in messages and `show sev-cert`. */
SA_MUST_USE sa_status sa_sev_cert_key_fingerprint(const sa_sev_cert *c, uint8_t out[32], sa_error *err);

/*
 * Sign c with the private key of a signer whose usage is signer_usage (OCA,
 * PEK, CEK) into the first empty slot (SA_ERR_STATE if both are used).
 * algo: ECDSA_SHA256/ECDSA_SHA384 for an EC key.
 */
SA_MUST_USE sa_status sa_sev_cert_sign(sa_sev_cert *c, uint32_t signer_usage, uint32_t algo, EVP_PKEY *key,
				       sa_error *err);
/*
 * Verify that issuer signed subject: the slot whose usage equals the issuer's
 * usage (SA_ERR_NOT_FOUND, naming both, if none) must carry the issuer key's
 * algorithm and verify over bytes 0..0x413 (SA_ERR_VERIFY).  Self-signed OCA:
 * subject == issuer.
 */
SA_MUST_USE sa_status sa_sev_cert_verify(const sa_sev_cert *subject, const sa_sev_cert *issuer, sa_error *err);

/* ---- AMD CA certificates (ARK, ASK) ---------------------------------------- */

#define SA_AMD_CERT_MAX 0x640
#define SA_AMD_CERT_HDR_SIZE 0x40

typedef struct sa_amd_cert {
	uint32_t version; /* 1 */
	uint8_t key_id[16];
	uint8_t certifying_id[16];
	uint32_t key_usage; /* SA_SEV_USAGE_ARK or SA_SEV_USAGE_ASK */
	uint8_t reserved[16];
	uint32_t pub_exp_bits;  /* 2048 or 4096 */
	uint32_t modulus_bits;  /* 2048 or 4096 */
	uint8_t pub_exp[512];   /* LE, pub_exp_bits / 8 bytes used */
	uint8_t modulus[512];   /* LE, modulus_bits / 8 bytes used */
	bool has_signature;     /* false: the 576-byte unsigned Naples ARK */
	uint8_t signature[512]; /* LE, modulus_bits / 8 bytes used */
	size_t signed_len;      /* bytes covered by the signature (0x40 + exp + modulus) */
	size_t encoded_len;     /* signed_len, plus the signature when present */
} sa_amd_cert;

/*
 * Decode one AMD CA certificate from the reader: the header, exponent and
 * modulus; then the signature (modulus size) unless the reader is exhausted
 * right after the modulus (the unsigned form).  A whole file holding
 * ASK ‖ ARK (AMD's ask_ark_<product>.cert) is read by calling this twice.
 */
SA_MUST_USE sa_status sa_amd_cert_read(sa_reader *r, sa_amd_cert *out, sa_error *err);
/* One certificate, exactly len bytes. */
SA_MUST_USE sa_status sa_amd_cert_decode(const uint8_t *buf, size_t len, sa_amd_cert *out, sa_error *err);
/* Encode into out (cap >= c->encoded_len); *out_len = encoded_len. */
SA_MUST_USE sa_status sa_amd_cert_encode(const sa_amd_cert *c, uint8_t *out, size_t cap, size_t *out_len,
					 sa_error *err);
SA_MUST_USE sa_status sa_amd_cert_pubkey(const sa_amd_cert *c, EVP_PKEY **out, sa_error *err);
/*
 * A certificate for an RSA key (2048 or 4096 bits), unsigned, with signed_len
 * and encoded_len set; sa_amd_cert_sign then adds the signature by issuer_key
 * (RSA-PSS as above; the issuer's modulus must have the subject's size).
 */
SA_MUST_USE sa_status sa_amd_cert_init(sa_amd_cert *c, uint32_t key_usage, const uint8_t key_id[16],
				       const uint8_t certifying_id[16], EVP_PKEY *key, sa_error *err);
SA_MUST_USE sa_status sa_amd_cert_sign(sa_amd_cert *c, EVP_PKEY *issuer_key, sa_error *err);
/*
 * issuer signed subject: certifying_id == issuer's key_id, usages ARK->ASK or
 * ARK->ARK, the RSA-PSS signature verifies.  An unsigned subject is
 * SA_ERR_NOT_FOUND.
 */
SA_MUST_USE sa_status sa_amd_cert_verify(const sa_amd_cert *subject, const sa_amd_cert *issuer, sa_error *err);
/* The ASK signed the CEK: CEK slot of usage ASK, algorithm RSA_SHA256 (2048-bit ASK) or RSA_SHA384 (4096). */
SA_MUST_USE sa_status sa_sev_cert_verify_by_ask(const sa_sev_cert *cek, const sa_amd_cert *ask, sa_error *err);
/* Sign a CEK with an ASK private key into its first empty slot (used by the emulated KDS). */
SA_MUST_USE sa_status sa_sev_cert_sign_by_ask(sa_sev_cert *cek, const sa_amd_cert *ask, EVP_PKEY *ask_key,
					      sa_error *err);

/* SHA-256 over the signed part of an AMD CA certificate: the pin of an ARK. */
SA_MUST_USE sa_status sa_amd_cert_fingerprint(const sa_amd_cert *c, uint8_t out[32], sa_error *err);

typedef struct sa_sev_ark_pin {
	sa_sev_product product;
	const char *name; /* "ARK-Naples" */
	uint8_t key_id[16];
	uint8_t fingerprint[32];
} sa_sev_ark_pin;

/* AMD's pinned AMD-format ARKs (Naples, Rome, Milan, Genoa, Turin). */
const sa_sev_ark_pin *sa_sev_ark_pins(size_t *count);
/* Where AMD's KDS serves the ASK-signed CEK of a chip: this prefix, then GET_ID's 64 bytes in hex. */
#define SA_SEV_KDS_CEK_URL "https://kdsintf.amd.com/cek/id/"

/* The pin an ARK matches (key id and fingerprint), or NULL. */
const sa_sev_ark_pin *sa_sev_ark_pin_match(const sa_amd_cert *ark);

/* ---- files --------------------------------------------------------------- */

/*
 * The certificate files a user hands over: a SEV certificate (0x824), a bundle
 * of them (PEK ‖ OCA ‖ CEK as PDH_CERT_EXPORT returns, or PDH ‖ PEK ‖ OCA ‖ CEK),
 * AMD CA certificates (ASK, ARK, ASK ‖ ARK); raw binary or base64 (QEMU's
 * query-sev-capabilities and session files are base64).
 */
/* Exactly one SEV certificate (a bundle is SA_ERR_TRAILING, naming how many it holds). */
SA_MUST_USE sa_status sa_sev_cert_read_file(const char *path, sa_sev_cert *out, sa_error *err);
/* A bundle of 1..max SEV certificates, in file order; *count = how many. */
SA_MUST_USE sa_status sa_sev_cert_read_file_all(const char *path, sa_sev_cert *out, size_t max, size_t *count,
						sa_error *err);
/* 1..max AMD CA certificates (ASK ‖ ARK gives 2), in file order; *count = how many. */
SA_MUST_USE sa_status sa_amd_cert_read_file(const char *path, sa_amd_cert *out, size_t max, size_t *count,
					    sa_error *err);

/* ---- the chains ------------------------------------------------------------ */

/* What a verifier has in hand; absent members are simply not checked. */
typedef struct sa_sev_chain {
	const sa_amd_cert *ark, *ask;
	const sa_sev_cert *cek, *pek, *oca, *pdh;
} sa_sev_chain;

typedef struct sa_sev_trust {
	/* custom roots (e.g. the emulator's ARK): when n_roots > 0 the pins are not used */
	const sa_amd_cert *roots;
	size_t n_roots;
	/* the OCA the user trusts (a platform owner's): when set, the chain's OCA must carry this key */
	const sa_sev_cert *trusted_oca;
	sa_sev_product product; /* expected product, or UNKNOWN (taken from the ARK's pin) */
} sa_sev_trust;

/*
 * Check both chains, adding one check per link to out (see verify.h) with
 * these stable ids:
 *   sev.chain.ark         the ARK is pinned (or a named root); its self-signature, if present
 *   sev.chain.ask         ARK -> ASK
 *   sev.chain.cek         ASK -> CEK (fails for an unsigned CEK, naming the KDS as its source)
 *   sev.chain.pek_cek     CEK -> PEK
 *   sev.chain.oca         OCA self-signature (and equal to trust->trusted_oca when given)
 *   sev.chain.pek_oca     OCA -> PEK
 *   sev.chain.pdh         PEK -> PDH (only when a PDH is given)
 * and sev.product (the product the ARK identifies).  A link whose inputs are
 * missing is a failed check naming what is missing (the ARK/ASK/CEK/PEK/OCA
 * are all required for a verified verdict), except the PDH, which is skipped.
 */
SA_MUST_USE sa_status sa_sev_chain_check(const sa_sev_chain *chain, const sa_sev_trust *trust,
					 struct sa_verdict *out, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
