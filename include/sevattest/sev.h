/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV and SEV-ES (legacy) launch and attestation, both ends in one place: the
 * guest owner's tools and the emulated firmware call the same functions, so
 * the two cannot disagree on a byte.
 *
 *   policy        the u32 guest policy (NODBG, NOKS, ES, NOSEND, DOMAIN, SEV,
 *                 API minimum)
 *   session       LAUNCH_START's key agreement: the guest owner's DH (GODH)
 *                 certificate and the 0x80-byte session buffer carrying the
 *                 wrapped TEK and TIK; firmware unwraps them with its PDH key
 *   measure       LAUNCH_MEASURE: HMAC-SHA256 under the TIK over
 *                 0x04 ‖ API major ‖ minor ‖ build ‖ policy ‖ launch digest ‖ mnonce
 *   secret        LAUNCH_SECRET: the 0x34-byte packet header and the payload,
 *                 AES-128-CTR under the TEK, HMAC-SHA256 under the TIK; and
 *                 the secret table (GUID-keyed entries) OVMF reads
 *   report        ATTESTATION (API >= 0.23): 0xD0 bytes, signed by the PEK
 *   platform      PLATFORM_STATUS as /dev/sev returns it
 *
 * Byte layouts: ../shared/notes/amd-formats.md §1.7 and §5.3.  All
 * cryptography goes through OpenSSL EVP; keys are wiped with OPENSSL_cleanse.
 */
#ifndef SEVATTEST_SEV_H
#define SEVATTEST_SEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sevattest/error.h"
#include "sevattest/sev_cert.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- guest policy ---------------------------------------------------------- */

#define SA_SEV_POLICY_NODBG (1u << 0)
#define SA_SEV_POLICY_NOKS (1u << 1)
#define SA_SEV_POLICY_ES (1u << 2)
#define SA_SEV_POLICY_NOSEND (1u << 3)
#define SA_SEV_POLICY_DOMAIN (1u << 4)
#define SA_SEV_POLICY_SEV (1u << 5)
#define SA_SEV_POLICY_RESERVED 0x0000FFC0u /* bits 15:6, must be zero */
#define SA_SEV_POLICY_API_MAJOR(p) (((p) >> 16) & 0xFFu)
#define SA_SEV_POLICY_API_MINOR(p) (((p) >> 24) & 0xFFu)

/* One bit by name: "nodbg", "noks", "es", "nosend", "domain", "sev" (case-insensitive). */
SA_MUST_USE sa_status sa_sev_policy_bit_parse(const char *name, uint32_t *bit, sa_error *err);
/* A comma-separated list of bit names, or a number (0x... or decimal). */
SA_MUST_USE sa_status sa_sev_policy_parse(const char *text, uint32_t *out, sa_error *err);
/* "NODBG|NOKS|ES api>=1.0" into buf. */
char *sa_sev_policy_str(uint32_t policy, char *buf, size_t cap);

/* ---- session (LAUNCH_START) ------------------------------------------------ */

#define SA_SEV_SESSION_SIZE 0x80
#define SA_SEV_NONCE_SIZE 16
#define SA_SEV_KEY_SIZE 16 /* TEK and TIK: AES-128 / HMAC keys */

typedef struct sa_sev_tks {
	uint8_t tek[SA_SEV_KEY_SIZE]; /* transport encryption key */
	uint8_t tik[SA_SEV_KEY_SIZE]; /* transport integrity key */
} sa_sev_tks;

void sa_sev_tks_wipe(sa_sev_tks *k);

typedef struct sa_sev_session {
	uint8_t nonce[16];
	uint8_t wrap_tk[32];
	uint8_t wrap_iv[16];
	uint8_t wrap_mac[32];
	uint8_t policy_mac[32];
} sa_sev_session;

SA_MUST_USE sa_status sa_sev_session_decode(const uint8_t *buf, size_t len, sa_sev_session *out, sa_error *err);
void sa_sev_session_encode(const sa_sev_session *s, uint8_t out[SA_SEV_SESSION_SIZE]);

/*
 * NIST SP 800-108 KDF in counter mode with HMAC-SHA256, as SEV uses it:
 * block_i = HMAC(key, u32le(i) ‖ label ‖ 0x00 ‖ context ‖ u32le(out_len * 8)).
 */
SA_MUST_USE sa_status sa_sev_kdf(const uint8_t *key, size_t key_len, const char *label, const uint8_t *context,
				 size_t context_len, uint8_t *out, size_t out_len, sa_error *err);

/*
 * The guest owner's side: given the platform's PDH certificate (already
 * verified by the caller), make the GODH certificate (usage PDH, ECDH-SHA256,
 * the API version of the PDH), the session buffer for policy, and the TEK/TIK.
 * godh_key: the owner's P-384 key, or NULL to generate one (then *godh_out,
 * if non-NULL, receives it).  tks_in: the TEK/TIK to wrap, or NULL for random.
 * nonce, wrap_iv: NULL for random (tests pass fixed values).
 */
typedef struct sa_sev_session_params {
	const sa_sev_cert *pdh;
	uint32_t policy;
	EVP_PKEY *godh_key;
	const sa_sev_tks *tks_in;
	const uint8_t *nonce;   /* 16 */
	const uint8_t *wrap_iv; /* 16 */
} sa_sev_session_params;

SA_MUST_USE sa_status sa_sev_session_create(const sa_sev_session_params *p, sa_sev_cert *godh_cert,
					    sa_sev_session *session, sa_sev_tks *tks, EVP_PKEY **godh_out,
					    sa_error *err);
/*
 * The firmware's side: with the PDH private key and the owner's GODH
 * certificate, derive the master secret, KEK and KIK; check wrap_mac
 * (SA_ERR_VERIFY "session wrap_mac"), unwrap the TEK/TIK, check policy_mac
 * against policy (SA_ERR_POLICY "session policy_mac").  Constant-time compares.
 */
SA_MUST_USE sa_status sa_sev_session_open(EVP_PKEY *pdh_key, const sa_sev_cert *godh_cert,
					  const sa_sev_session *session, uint32_t policy, sa_sev_tks *tks,
					  sa_error *err);
/*
 * The two halves after the key agreement, given the shared secret Z (48 bytes
 * from ECDH; any length for the known-answer tests): master = KDF(Z,
 * "sev-master-secret", nonce), KEK/KIK = KDF(master, "sev-kek"/"sev-kik", ""),
 * WRAP_TK = AES-128-CTR(KEK, wrap_iv, TEK ‖ TIK), WRAP_MAC = HMAC(KIK,
 * WRAP_TK), POLICY_MAC = HMAC(TIK, policy).  Unwrap checks both MACs as
 * sa_sev_session_open says.
 */
SA_MUST_USE sa_status sa_sev_session_wrap(const uint8_t *z, size_t z_len, const uint8_t nonce[16],
					  const uint8_t wrap_iv[16], const sa_sev_tks *tks, uint32_t policy,
					  sa_sev_session *out, sa_error *err);
SA_MUST_USE sa_status sa_sev_session_unwrap(const uint8_t *z, size_t z_len, const sa_sev_session *session,
					    uint32_t policy, sa_sev_tks *tks, sa_error *err);

/* ---- LAUNCH_MEASURE ------------------------------------------------------------ */

#define SA_SEV_MEASURE_BLOB_SIZE 0x30 /* MEASURE(32) ‖ MNONCE(16) */

typedef struct sa_sev_measure_input {
	uint8_t api_major, api_minor, build;
	uint32_t policy;
	uint8_t launch_digest[32];
	uint8_t mnonce[16];
} sa_sev_measure_input;

/* MEASURE = HMAC-SHA256(TIK, 0x04 ‖ ...) (API < 0.17: without the first four bytes, as sev-tool). */
SA_MUST_USE sa_status sa_sev_measure_compute(const uint8_t tik[SA_SEV_KEY_SIZE], const sa_sev_measure_input *in,
					     uint8_t measure[32], sa_error *err);
/* blob = MEASURE ‖ MNONCE */
SA_MUST_USE sa_status sa_sev_measure_blob(const uint8_t tik[SA_SEV_KEY_SIZE], const sa_sev_measure_input *in,
					  uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE], sa_error *err);
/*
 * The guest owner's check of a LAUNCH_MEASURE blob: in->mnonce is taken from
 * the blob; SA_ERR_VERIFY naming "LAUNCH_MEASURE" when the HMAC differs
 * (compared in constant time).
 */
SA_MUST_USE sa_status sa_sev_measure_verify(const uint8_t tik[SA_SEV_KEY_SIZE], sa_sev_measure_input *in,
					    const uint8_t *blob, size_t blob_len, sa_error *err);

/* ---- LAUNCH_SECRET --------------------------------------------------------------- */

#define SA_SEV_SECRET_HDR_SIZE 0x34 /* FLAGS u32 ‖ IV[16] ‖ MAC[32] */
#define SA_SEV_SECRET_MAX 16384     /* what QEMU/OVMF's secret area takes */

typedef struct sa_sev_secret_hdr {
	uint32_t flags; /* bit 0: COMPRESSED (not supported, must be 0) */
	uint8_t iv[16];
	uint8_t mac[32];
} sa_sev_secret_hdr;

SA_MUST_USE sa_status sa_sev_secret_hdr_decode(const uint8_t *buf, size_t len, sa_sev_secret_hdr *out,
					       sa_error *err);
void sa_sev_secret_hdr_encode(const sa_sev_secret_hdr *h, uint8_t out[SA_SEV_SECRET_HDR_SIZE]);

/*
 * The guest owner packages plaintext (len a multiple of 16, <= SA_SEV_SECRET_MAX):
 * ciphertext = AES-128-CTR(TEK, IV, plaintext); MAC = HMAC-SHA256(TIK, 0x01 ‖
 * FLAGS ‖ IV ‖ GUEST_LEN ‖ TRANS_LEN ‖ ciphertext ‖ MEASURE) where MEASURE is
 * the launch measurement (NULL when the firmware API is below 0.17: omitted).
 * iv NULL = random.  ciphertext has len bytes.
 */
SA_MUST_USE sa_status sa_sev_secret_package(const sa_sev_tks *tks, const uint8_t *measure, const uint8_t *iv,
					    const uint8_t *plaintext, size_t len, sa_sev_secret_hdr *hdr,
					    uint8_t *ciphertext, sa_error *err);
/* The firmware's side: check the MAC (SA_ERR_VERIFY, constant time), then decrypt into plaintext (len bytes). */
SA_MUST_USE sa_status sa_sev_secret_open(const sa_sev_tks *tks, const uint8_t *measure, const sa_sev_secret_hdr *hdr,
					 const uint8_t *ciphertext, size_t len, uint8_t *plaintext, sa_error *err);

/*
 * The secret table OVMF parses from the injected area (sevctl's format):
 * header GUID 1e74f542-71dd-4d66-963e-ef4287ff173b, u32 total length, then
 * entries {GUID, u32 length (20 + data), data}, zero-padded to a multiple of
 * 16 (the table length counts the header and entries, not the padding).
 * GUIDs in EFI byte order (first three fields little-endian).
 */
typedef struct sa_sev_secret_entry {
	uint8_t guid[16]; /* EFI byte order */
	const uint8_t *data;
	size_t len;
} sa_sev_secret_entry;

/* "736869e5-84f0-4973-92ec-06879ce3da0b" <-> 16 bytes in EFI order. */
SA_MUST_USE sa_status sa_efi_guid_parse(const char *text, uint8_t out[16], sa_error *err);
void sa_efi_guid_str(const uint8_t guid[16], char out[37]);

/* Build the table into *out (malloc'd, *len a multiple of 16). */
SA_MUST_USE sa_status sa_sev_secret_table_build(const sa_sev_secret_entry *entries, size_t n, uint8_t **out,
						size_t *len, sa_error *err);
/* Parse a table (entries point into buf); at most max entries. */
SA_MUST_USE sa_status sa_sev_secret_table_parse(const uint8_t *buf, size_t len, sa_sev_secret_entry *entries,
						size_t max, size_t *n, sa_error *err);

/* ---- ATTESTATION report ------------------------------------------------------------ */

#define SA_SEV_REPORT_SIZE 0xD0
#define SA_SEV_REPORT_SIGNED_LEN 0x34

typedef struct sa_sev_report {
	uint8_t mnonce[16];
	uint8_t launch_digest[32];
	uint32_t policy;
	uint32_t sig_usage; /* SA_SEV_USAGE_PEK */
	uint32_t sig_algo;  /* SA_SEV_ALGO_ECDSA_SHA256 */
	uint32_t reserved;
	uint8_t sig_r[72], sig_s[72]; /* little-endian, at 0x40 and 0x88 */
} sa_sev_report;

/* Exactly SA_SEV_REPORT_SIZE bytes. */
SA_MUST_USE sa_status sa_sev_report_decode(const uint8_t *buf, size_t len, sa_sev_report *out, sa_error *err);
SA_MUST_USE sa_status sa_sev_report_encode(const sa_sev_report *r, uint8_t out[SA_SEV_REPORT_SIZE], sa_error *err);
/* Fill sig_usage = PEK, sig_algo = ECDSA-SHA256 and the signature over bytes 0x00..0x33 by the PEK key. */
SA_MUST_USE sa_status sa_sev_report_sign(sa_sev_report *r, EVP_PKEY *pek_key, sa_error *err);
/* The PEK (its certificate) signed the report: usage/algorithm as the PEK's, signature over 0x00..0x33. */
SA_MUST_USE sa_status sa_sev_report_verify_sig(const sa_sev_report *r, const sa_sev_cert *pek, sa_error *err);

/* ---- PLATFORM_STATUS ------------------------------------------------------------------ */

#define SA_SEV_STATE_UNINIT 0
#define SA_SEV_STATE_INIT 1
#define SA_SEV_STATE_WORKING 2

typedef struct sa_sev_platform_status {
	uint8_t api_major, api_minor;
	uint8_t state;        /* SA_SEV_STATE_* */
	bool owner_external;  /* flags bit 0: the OCA was imported */
	bool config_es;       /* flags bit 8: SEV-ES enabled */
	uint32_t flags;       /* as reported */
	uint8_t build;
	uint32_t guest_count;
} sa_sev_platform_status;

const char *sa_sev_state_name(uint8_t state); /* "UNINIT", "INIT", "WORKING", "unknown" */

/* The 12-byte packed sev_user_data_status of linux/psp-sev.h. */
#define SA_SEV_STATUS_SIZE 12
SA_MUST_USE sa_status sa_sev_platform_status_decode(const uint8_t *buf, size_t len, sa_sev_platform_status *out,
						    sa_error *err);
void sa_sev_platform_status_encode(const sa_sev_platform_status *s, uint8_t out[SA_SEV_STATUS_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
