/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV and SEV-ES (legacy) launch and attestation: guest policy, the
 * LAUNCH_START session (ECDH P-384, SP 800-108 KDF, AES-128-CTR key wrap,
 * HMAC-SHA256), LAUNCH_MEASURE, LAUNCH_SECRET and its secret table, the
 * ATTESTATION report and PLATFORM_STATUS.  Both the guest owner's tools and
 * the emulated firmware call these, so they agree on every byte.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "sevattest/cert.h"
#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/sev.h"

#include "internal.h"

/* ---- guest policy ---------------------------------------------------------- */

static const struct {
	const char *name, *upper;
	uint32_t bit;
} policy_bits[] = {
	{"nodbg", "NODBG", SA_SEV_POLICY_NODBG},    {"noks", "NOKS", SA_SEV_POLICY_NOKS},
	{"es", "ES", SA_SEV_POLICY_ES},             {"nosend", "NOSEND", SA_SEV_POLICY_NOSEND},
	{"domain", "DOMAIN", SA_SEV_POLICY_DOMAIN}, {"sev", "SEV", SA_SEV_POLICY_SEV},
};

sa_status sa_sev_policy_bit_parse(const char *name, uint32_t *bit, sa_error *err)
{
	SA_ENSURE(name && bit, err, SA_ERR_ARG, "SEV policy bit: missing name");
	for (size_t i = 0; i < SA_ARRAY_LEN(policy_bits); i++)
		if (strcasecmp(name, policy_bits[i].name) == 0) {
			*bit = policy_bits[i].bit;
			return SA_OK;
		}
	return sa_error_set(err, SA_ERR_ARG, "SEV policy bit '%s': expected nodbg, noks, es, nosend, domain or sev",
			    name);
}

sa_status sa_sev_policy_parse(const char *text, uint32_t *out, sa_error *err)
{
	SA_ENSURE(text && out && text[0], err, SA_ERR_ARG, "SEV policy: empty");
	uint32_t policy = 0;
	if (isdigit((unsigned char)text[0])) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(text, &end, 0);
		SA_ENSURE(errno == 0 && *end == '\0' && v <= UINT32_MAX, err, SA_ERR_ARG,
			  "SEV policy '%s': expected a u32 (decimal or 0x...) or a list of nodbg,noks,es,nosend,domain,sev",
			  text);
		policy = (uint32_t)v;
	} else {
		const char *p = text;
		while (*p) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			char name[16];
			SA_ENSURE(n > 0 && n < sizeof(name), err, SA_ERR_ARG,
				  "SEV policy '%s': empty or overlong bit name in the list", text);
			memcpy(name, p, n);
			name[n] = '\0';
			uint32_t bit;
			SA_TRY(sa_sev_policy_bit_parse(name, &bit, err));
			policy |= bit;
			p += n;
			if (*p == ',') {
				p++;
				SA_ENSURE(*p, err, SA_ERR_ARG, "SEV policy '%s': trailing comma", text);
			}
		}
	}
	SA_ENSURE((policy & SA_SEV_POLICY_RESERVED) == 0, err, SA_ERR_ARG,
		  "SEV policy 0x%08x: reserved bits 15:6 must be zero (found 0x%04x)", policy,
		  policy & SA_SEV_POLICY_RESERVED);
	*out = policy;
	return SA_OK;
}

char *sa_sev_policy_str(uint32_t policy, char *buf, size_t cap)
{
	if (!buf || cap == 0)
		return buf;
	buf[0] = '\0';
	size_t off = 0;
#define APPEND(...)                                                                                                \
	do {                                                                                                       \
		int n_ = snprintf(buf + off, cap - off, __VA_ARGS__);                                              \
		if (n_ < 0 || (size_t)n_ >= cap - off)                                                             \
			return buf;                                                                                \
		off += (size_t)n_;                                                                                 \
	} while (0)
	bool any = false;
	for (size_t i = 0; i < SA_ARRAY_LEN(policy_bits); i++)
		if (policy & policy_bits[i].bit) {
			APPEND("%s%s", any ? "|" : "", policy_bits[i].upper);
			any = true;
		}
	if (!any)
		APPEND("none");
	if (policy & SA_SEV_POLICY_RESERVED)
		APPEND(" reserved=0x%04x", policy & SA_SEV_POLICY_RESERVED);
	APPEND(" api>=%u.%u", (unsigned)SA_SEV_POLICY_API_MAJOR(policy), (unsigned)SA_SEV_POLICY_API_MINOR(policy));
#undef APPEND
	return buf;
}

/* ---- HMAC, AES-128-CTR ------------------------------------------------------------ */

typedef struct part {
	const void *data;
	size_t len;
} part;

/* HMAC-SHA256(key, parts[0] ‖ ... ‖ parts[n-1]). */
static sa_status hmac_sha256(const uint8_t *key, size_t key_len, const part *parts, size_t n, uint8_t out[32],
			     const char *what, sa_error *err)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
			       OSSL_PARAM_construct_end()};
	bool ok = ctx && EVP_MAC_init(ctx, key, key_len, params) == 1;
	for (size_t i = 0; ok && i < n; i++)
		ok = parts[i].len == 0 || EVP_MAC_update(ctx, parts[i].data, parts[i].len) == 1;
	size_t out_len = 0;
	ok = ok && EVP_MAC_final(ctx, out, &out_len, 32) == 1 && out_len == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (!ok)
		return sa_crypto_error(err, "HMAC-SHA256 (%s) failed", what);
	return SA_OK;
}

/* AES-128-CTR (encryption and decryption are the same). */
static sa_status aes128_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
			    uint8_t *out, const char *what, sa_error *err)
{
	SA_ENSURE(len <= INT32_MAX, err, SA_ERR_RANGE, "AES-128-CTR (%s): %zu bytes, too long", what, len);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	bool ok = c && EVP_EncryptInit_ex2(c, EVP_aes_128_ctr(), key, iv, NULL) == 1 &&
		  (len == 0 || EVP_EncryptUpdate(c, out, &n1, in, (int)len) == 1) &&
		  EVP_EncryptFinal_ex(c, out + n1, &n2) == 1 && (size_t)n1 + (size_t)n2 == len;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return sa_crypto_error(err, "AES-128-CTR (%s) failed", what);
	return SA_OK;
}

static sa_status random_bytes(uint8_t *out, size_t n, const char *what, sa_error *err)
{
	if (RAND_bytes(out, (int)n) != 1)
		return sa_crypto_error(err, "random %s", what);
	return SA_OK;
}

/* ---- fixed-size wire structures --------------------------------------------------------------- */

/* Decode exactly size bytes of layout into obj (the caller's temporary: copied out only on success). */
static sa_status decode_exact(const uint8_t *buf, size_t len, size_t size, const sa_field *layout, size_t n, void *obj,
			      const char *what, sa_error *err)
{
	SA_ENSURE(buf, err, SA_ERR_ARG, "%s: missing input", what);
	SA_ENSURE(len == size, err, len < size ? SA_ERR_TRUNCATED : SA_ERR_TRAILING, "%s: %zu bytes, expected 0x%zx (%zu)",
		  what, len, size, size);
	sa_reader r;
	sa_reader_init(&r, buf, len);
	return sa_read_fields(&r, layout, n, obj, what, err);
}

/* Encode obj into exactly size bytes (fixed layouts into a buffer of their size cannot fail; zeros if they did). */
static void encode_exact(const sa_field *layout, size_t n, const void *obj, uint8_t *out, size_t size, const char *what)
{
	sa_writer w;
	sa_writer_init(&w, out, size);
	if (sa_write_fields(&w, layout, n, obj, what, NULL) != SA_OK)
		memset(out, 0, size);
}

/* ---- KDF ---------------------------------------------------------------------------- */

sa_status sa_sev_kdf(const uint8_t *key, size_t key_len, const char *label, const uint8_t *context,
		     size_t context_len, uint8_t *out, size_t out_len, sa_error *err)
{
	SA_ENSURE(key && label && out && (context || context_len == 0), err, SA_ERR_ARG, "SEV KDF: missing input");
	SA_ENSURE(out_len > 0 && out_len <= 32u * 256u, err, SA_ERR_RANGE, "SEV KDF: output length %zu, expected 1..8192",
		  out_len);
	uint8_t bits[4], ctr[4], block[32];
	uint32_t l_bits = (uint32_t)(out_len * 8);
	for (int i = 0; i < 4; i++)
		bits[i] = (uint8_t)(l_bits >> (8 * i));
	static const uint8_t zero = 0;
	size_t done = 0;
	for (uint32_t i = 1; done < out_len; i++) {
		for (int b = 0; b < 4; b++)
			ctr[b] = (uint8_t)(i >> (8 * b));
		part parts[] = {{ctr, 4}, {label, strlen(label)}, {&zero, 1}, {context, context_len}, {bits, 4}};
		sa_status st = hmac_sha256(key, key_len, parts, SA_ARRAY_LEN(parts), block, "SEV KDF", err);
		if (st != SA_OK) {
			OPENSSL_cleanse(out, out_len);
			OPENSSL_cleanse(block, sizeof(block));
			return st;
		}
		size_t take = out_len - done < 32 ? out_len - done : 32;
		memcpy(out + done, block, take);
		done += take;
	}
	OPENSSL_cleanse(block, sizeof(block));
	return SA_OK;
}

/* ---- session ---------------------------------------------------------------------------- */

void sa_sev_tks_wipe(sa_sev_tks *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

#define SF(off, kind, m, name) SA_FIELD(sa_sev_session, off, SA_FIELD_##kind, m, name)
static const sa_field session_layout[] = {
	SF(0x00, BYTES, nonce, "session NONCE"),       SF(0x10, BYTES, wrap_tk, "session WRAP_TK"),
	SF(0x30, BYTES, wrap_iv, "session WRAP_IV"),   SF(0x40, BYTES, wrap_mac, "session WRAP_MAC"),
	SF(0x60, BYTES, policy_mac, "session POLICY_MAC"),
};
#undef SF

sa_status sa_sev_session_decode(const uint8_t *buf, size_t len, sa_sev_session *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "session buffer: missing output");
	sa_sev_session s;
	SA_TRY(decode_exact(buf, len, SA_SEV_SESSION_SIZE, session_layout, SA_ARRAY_LEN(session_layout), &s,
			    "session buffer", err));
	*out = s;
	return SA_OK;
}

void sa_sev_session_encode(const sa_sev_session *s, uint8_t out[SA_SEV_SESSION_SIZE])
{
	encode_exact(session_layout, SA_ARRAY_LEN(session_layout), s, out, SA_SEV_SESSION_SIZE, "session buffer");
}

static void put_le32(uint8_t b[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* master = KDF(Z, "sev-master-secret", nonce); KEK, KIK = KDF(master, "sev-kek" / "sev-kik", ""). */
static sa_status derive_kek_kik(const uint8_t *z, size_t z_len, const uint8_t nonce[16], uint8_t kek[16],
				uint8_t kik[16], sa_error *err)
{
	uint8_t master[16];
	sa_status st = sa_sev_kdf(z, z_len, "sev-master-secret", nonce, 16, master, sizeof(master), err);
	if (st == SA_OK)
		st = sa_sev_kdf(master, sizeof(master), "sev-kek", NULL, 0, kek, 16, err);
	if (st == SA_OK)
		st = sa_sev_kdf(master, sizeof(master), "sev-kik", NULL, 0, kik, 16, err);
	OPENSSL_cleanse(master, sizeof(master));
	return st;
}

static sa_status policy_mac(const uint8_t tik[16], uint32_t policy, uint8_t out[32], sa_error *err)
{
	uint8_t p[4];
	put_le32(p, policy);
	part parts[] = {{p, 4}};
	return hmac_sha256(tik, 16, parts, 1, out, "session policy_mac", err);
}

sa_status sa_sev_session_wrap(const uint8_t *z, size_t z_len, const uint8_t nonce[16], const uint8_t wrap_iv[16],
			      const sa_sev_tks *tks, uint32_t policy, sa_sev_session *out, sa_error *err)
{
	SA_ENSURE(z && z_len && nonce && wrap_iv && tks && out, err, SA_ERR_ARG, "session wrap: missing input");
	uint8_t kek[16], kik[16], plain[32];
	sa_sev_session s;
	memcpy(s.nonce, nonce, 16);
	memcpy(s.wrap_iv, wrap_iv, 16);
	memcpy(plain, tks->tek, 16);
	memcpy(plain + 16, tks->tik, 16);
	sa_status st = derive_kek_kik(z, z_len, nonce, kek, kik, err);
	if (st == SA_OK)
		st = aes128_ctr(kek, wrap_iv, plain, sizeof(plain), s.wrap_tk, "session wrap_tk", err);
	if (st == SA_OK) {
		part parts[] = {{s.wrap_tk, sizeof(s.wrap_tk)}};
		st = hmac_sha256(kik, sizeof(kik), parts, 1, s.wrap_mac, "session wrap_mac", err);
	}
	if (st == SA_OK)
		st = policy_mac(tks->tik, policy, s.policy_mac, err);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(kik, sizeof(kik));
	OPENSSL_cleanse(plain, sizeof(plain));
	if (st == SA_OK)
		*out = s;
	return st;
}

sa_status sa_sev_session_unwrap(const uint8_t *z, size_t z_len, const sa_sev_session *session, uint32_t policy,
				sa_sev_tks *tks, sa_error *err)
{
	SA_ENSURE(z && z_len && session && tks, err, SA_ERR_ARG, "session unwrap: missing input");
	uint8_t kek[16], kik[16], mac[32], plain[32];
	sa_sev_tks k;
	sa_status st = derive_kek_kik(z, z_len, session->nonce, kek, kik, err);
	if (st == SA_OK) {
		part parts[] = {{session->wrap_tk, sizeof(session->wrap_tk)}};
		st = hmac_sha256(kik, sizeof(kik), parts, 1, mac, "session wrap_mac", err);
	}
	if (st == SA_OK && !sa_ct_equal(mac, session->wrap_mac, sizeof(mac)))
		st = sa_error_set(err, SA_ERR_VERIFY,
				  "session wrap_mac: HMAC-SHA256 under the KIK over WRAP_TK does not match "
				  "(wrong PDH key, GODH certificate or nonce, or a tampered session buffer)");
	if (st == SA_OK)
		st = aes128_ctr(kek, session->wrap_iv, session->wrap_tk, sizeof(plain), plain, "session unwrap", err);
	if (st == SA_OK) {
		memcpy(k.tek, plain, 16);
		memcpy(k.tik, plain + 16, 16);
		st = policy_mac(k.tik, policy, mac, err);
	}
	if (st == SA_OK && !sa_ct_equal(mac, session->policy_mac, sizeof(mac)))
		st = sa_error_set(err, SA_ERR_POLICY,
				  "session policy_mac: HMAC-SHA256 under the TIK over policy 0x%08x does not match "
				  "(the session was made for another policy)",
				  policy);
	if (st == SA_OK)
		*tks = k;
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(kik, sizeof(kik));
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(mac, sizeof(mac));
	sa_sev_tks_wipe(&k);
	return st;
}

/* Z = ECDH(priv, peer): the 48-byte big-endian X coordinate, as OpenSSL derives it. */
static sa_status ecdh_p384(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[48], sa_error *err)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t len = 48;
	bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
		  EVP_PKEY_derive(c, z, &len) == 1 && len == 48;
	EVP_PKEY_CTX_free(c);
	if (!ok) {
		OPENSSL_cleanse(z, 48);
		return sa_crypto_error(err, "ECDH P-384 key agreement failed");
	}
	return SA_OK;
}

/* A certificate fit for key agreement: usage PDH, an ECDH algorithm, a P-384 key. */
static sa_status dh_cert_key(const sa_sev_cert *c, const char *what, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(c->pub_key_usage == SA_SEV_USAGE_PDH, err, SA_ERR_UNSUPPORTED,
		  "%s certificate PUB_KEY_USAGE at 0x008: expected 0x%04x (PDH), got 0x%04x (%s)", what,
		  SA_SEV_USAGE_PDH, c->pub_key_usage, sa_sev_usage_name(c->pub_key_usage));
	SA_ENSURE(c->pub_key_algo == SA_SEV_ALGO_ECDH_SHA256 || c->pub_key_algo == SA_SEV_ALGO_ECDH_SHA384, err,
		  SA_ERR_UNSUPPORTED, "%s certificate PUB_KEY_ALGO at 0x00C: expected 0x0003 or 0x0103 (ECDH), got 0x%04x (%s)",
		  what, c->pub_key_algo, sa_sev_algo_name(c->pub_key_algo));
	EVP_PKEY *k = NULL;
	sa_status st = sa_sev_cert_pubkey(c, &k, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s certificate public key", what);
	st = sa_key_require_p384(k, what, err);
	if (st != SA_OK) {
		EVP_PKEY_free(k);
		return st;
	}
	*out = k;
	return SA_OK;
}

sa_status sa_sev_session_create(const sa_sev_session_params *p, sa_sev_cert *godh_cert, sa_sev_session *session,
				sa_sev_tks *tks, EVP_PKEY **godh_out, sa_error *err)
{
	SA_ENSURE(p && p->pdh && godh_cert && session && tks, err, SA_ERR_ARG, "session create: missing input");
	SA_ENSURE((p->policy & SA_SEV_POLICY_RESERVED) == 0, err, SA_ERR_ARG,
		  "session create: policy 0x%08x has reserved bits 15:6 set", p->policy);
	EVP_PKEY *pdh = NULL, *godh = p->godh_key;
	SA_TRY(dh_cert_key(p->pdh, "PDH", &pdh, err));
	sa_status st = SA_OK;
	if (godh)
		st = sa_key_require_p384(godh, "GODH key", err);
	else
		st = sa_key_generate_p384(&godh, err);
	uint8_t z[48], nonce[16], iv[16];
	sa_sev_tks k;
	sa_sev_cert cert;
	sa_sev_session s;
	if (st == SA_OK)
		st = ecdh_p384(godh, pdh, z, err);
	if (st == SA_OK) {
		if (p->nonce)
			memcpy(nonce, p->nonce, 16);
		else
			st = random_bytes(nonce, 16, "session nonce", err);
	}
	if (st == SA_OK) {
		if (p->wrap_iv)
			memcpy(iv, p->wrap_iv, 16);
		else
			st = random_bytes(iv, 16, "session wrap IV", err);
	}
	if (st == SA_OK) {
		if (p->tks_in)
			k = *p->tks_in;
		else
			st = random_bytes((uint8_t *)&k, sizeof(k), "TEK and TIK", err);
	}
	if (st == SA_OK)
		st = sa_sev_session_wrap(z, sizeof(z), nonce, iv, &k, p->policy, &s, err);
	if (st == SA_OK)
		st = sa_sev_cert_init(&cert, SA_SEV_USAGE_PDH, SA_SEV_ALGO_ECDH_SHA256, p->pdh->api_major,
				      p->pdh->api_minor, godh, err);
	if (st == SA_OK) {
		*godh_cert = cert;
		*session = s;
		*tks = k;
		if (!p->godh_key && godh_out) {
			*godh_out = godh;
			godh = NULL;
		}
	}
	OPENSSL_cleanse(z, sizeof(z));
	sa_sev_tks_wipe(&k);
	if (!p->godh_key)
		EVP_PKEY_free(godh);
	EVP_PKEY_free(pdh);
	return st;
}

sa_status sa_sev_session_open(EVP_PKEY *pdh_key, const sa_sev_cert *godh_cert, const sa_sev_session *session,
			      uint32_t policy, sa_sev_tks *tks, sa_error *err)
{
	SA_ENSURE(pdh_key && godh_cert && session && tks, err, SA_ERR_ARG, "session open: missing input");
	SA_TRY(sa_key_require_p384(pdh_key, "PDH key", err));
	EVP_PKEY *godh = NULL;
	SA_TRY(dh_cert_key(godh_cert, "GODH", &godh, err));
	uint8_t z[48];
	sa_status st = ecdh_p384(pdh_key, godh, z, err);
	if (st == SA_OK)
		st = sa_sev_session_unwrap(z, sizeof(z), session, policy, tks, err);
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_free(godh);
	return st;
}

/* ---- LAUNCH_MEASURE ------------------------------------------------------------------- */

sa_status sa_sev_measure_compute(const uint8_t tik[SA_SEV_KEY_SIZE], const sa_sev_measure_input *in,
				 uint8_t measure[32], sa_error *err)
{
	SA_ENSURE(tik && in && measure, err, SA_ERR_ARG, "LAUNCH_MEASURE: missing input");
	uint8_t head[4] = {0x04, in->api_major, in->api_minor, in->build}, pol[4];
	put_le32(pol, in->policy);
	/* Firmware before API 0.17 left out the context byte and the version (sev-tool). */
	bool old = in->api_major == 0 && in->api_minor < 17;
	part parts[] = {{head, old ? 0 : 4}, {pol, 4}, {in->launch_digest, 32}, {in->mnonce, 16}};
	return hmac_sha256(tik, SA_SEV_KEY_SIZE, parts, SA_ARRAY_LEN(parts), measure, "LAUNCH_MEASURE", err);
}

sa_status sa_sev_measure_blob(const uint8_t tik[SA_SEV_KEY_SIZE], const sa_sev_measure_input *in,
			      uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE], sa_error *err)
{
	uint8_t m[32];
	SA_TRY(sa_sev_measure_compute(tik, in, m, err));
	memcpy(blob, m, 32);
	memcpy(blob + 32, in->mnonce, 16);
	return SA_OK;
}

sa_status sa_sev_measure_verify(const uint8_t tik[SA_SEV_KEY_SIZE], sa_sev_measure_input *in, const uint8_t *blob,
				size_t blob_len, sa_error *err)
{
	SA_ENSURE(tik && in && blob, err, SA_ERR_ARG, "LAUNCH_MEASURE: missing input");
	SA_ENSURE(blob_len == SA_SEV_MEASURE_BLOB_SIZE, err, blob_len < SA_SEV_MEASURE_BLOB_SIZE ? SA_ERR_TRUNCATED : SA_ERR_TRAILING,
		  "LAUNCH_MEASURE blob: %zu bytes, expected 0x30 (MEASURE 32 ‖ MNONCE 16)", blob_len);
	sa_sev_measure_input m = *in;
	memcpy(m.mnonce, blob + 32, 16);
	uint8_t want[32];
	SA_TRY(sa_sev_measure_compute(tik, &m, want, err));
	SA_ENSURE(sa_ct_equal(want, blob, 32), err, SA_ERR_VERIFY,
		  "LAUNCH_MEASURE: the MEASURE HMAC does not match the expected launch digest, API version, build and "
		  "policy under this TIK");
	memcpy(in->mnonce, blob + 32, 16);
	return SA_OK;
}

/* ---- LAUNCH_SECRET ------------------------------------------------------------------------- */

#define HF(off, kind, m, name) SA_FIELD(sa_sev_secret_hdr, off, SA_FIELD_##kind, m, name)
static const sa_field secret_hdr_layout[] = {
	HF(0x00, U32, flags, "secret header FLAGS"),
	HF(0x04, BYTES, iv, "secret header IV"),
	HF(0x14, BYTES, mac, "secret header MAC"),
};
#undef HF

sa_status sa_sev_secret_hdr_decode(const uint8_t *buf, size_t len, sa_sev_secret_hdr *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "LAUNCH_SECRET header: missing output");
	sa_sev_secret_hdr h;
	SA_TRY(decode_exact(buf, len, SA_SEV_SECRET_HDR_SIZE, secret_hdr_layout, SA_ARRAY_LEN(secret_hdr_layout), &h,
			    "LAUNCH_SECRET header", err));
	SA_ENSURE(h.flags == 0, err, SA_ERR_UNSUPPORTED,
		  "LAUNCH_SECRET header FLAGS at 0x00: expected 0 (COMPRESSED is not supported), got 0x%08x", h.flags);
	*out = h;
	return SA_OK;
}

void sa_sev_secret_hdr_encode(const sa_sev_secret_hdr *h, uint8_t out[SA_SEV_SECRET_HDR_SIZE])
{
	encode_exact(secret_hdr_layout, SA_ARRAY_LEN(secret_hdr_layout), h, out, SA_SEV_SECRET_HDR_SIZE,
		     "LAUNCH_SECRET header");
}

static sa_status secret_len_check(size_t len, sa_error *err)
{
	SA_ENSURE(len > 0 && len % 16 == 0 && len <= SA_SEV_SECRET_MAX, err, SA_ERR_RANGE,
		  "LAUNCH_SECRET: %zu bytes, expected a non-zero multiple of 16 up to %d", len, SA_SEV_SECRET_MAX);
	return SA_OK;
}

static sa_status secret_mac(const sa_sev_tks *tks, const uint8_t *measure, uint32_t flags, const uint8_t iv[16],
			    const uint8_t *ct, size_t len, uint8_t mac[32], sa_error *err)
{
	uint8_t ctx = 0x01, f[4], l[4];
	put_le32(f, flags);
	put_le32(l, (uint32_t)len);
	/* GUEST_LEN and TRANS_LEN: both the length (no compression). */
	part parts[] = {{&ctx, 1}, {f, 4}, {iv, 16}, {l, 4}, {l, 4}, {ct, len}, {measure, measure ? 32 : 0}};
	return hmac_sha256(tks->tik, SA_SEV_KEY_SIZE, parts, SA_ARRAY_LEN(parts), mac, "LAUNCH_SECRET MAC", err);
}

sa_status sa_sev_secret_package(const sa_sev_tks *tks, const uint8_t *measure, const uint8_t *iv,
				const uint8_t *plaintext, size_t len, sa_sev_secret_hdr *hdr, uint8_t *ciphertext,
				sa_error *err)
{
	SA_ENSURE(tks && plaintext && hdr && ciphertext, err, SA_ERR_ARG, "LAUNCH_SECRET: missing input");
	SA_TRY(secret_len_check(len, err));
	sa_sev_secret_hdr h;
	memset(&h, 0, sizeof(h));
	if (iv)
		memcpy(h.iv, iv, 16);
	else
		SA_TRY(random_bytes(h.iv, 16, "LAUNCH_SECRET IV", err));
	sa_status st = aes128_ctr(tks->tek, h.iv, plaintext, len, ciphertext, "LAUNCH_SECRET", err);
	if (st == SA_OK)
		st = secret_mac(tks, measure, h.flags, h.iv, ciphertext, len, h.mac, err);
	if (st != SA_OK) {
		OPENSSL_cleanse(ciphertext, len);
		return st;
	}
	*hdr = h;
	return SA_OK;
}

sa_status sa_sev_secret_open(const sa_sev_tks *tks, const uint8_t *measure, const sa_sev_secret_hdr *hdr,
			     const uint8_t *ciphertext, size_t len, uint8_t *plaintext, sa_error *err)
{
	SA_ENSURE(tks && hdr && ciphertext && plaintext, err, SA_ERR_ARG, "LAUNCH_SECRET: missing input");
	SA_TRY(secret_len_check(len, err));
	SA_ENSURE(hdr->flags == 0, err, SA_ERR_UNSUPPORTED,
		  "LAUNCH_SECRET header FLAGS: expected 0 (COMPRESSED is not supported), got 0x%08x", hdr->flags);
	uint8_t mac[32];
	SA_TRY(secret_mac(tks, measure, hdr->flags, hdr->iv, ciphertext, len, mac, err));
	SA_ENSURE(sa_ct_equal(mac, hdr->mac, sizeof(mac)), err, SA_ERR_VERIFY,
		  "LAUNCH_SECRET MAC: HMAC-SHA256 under the TIK does not match (wrong TIK or measurement, or a "
		  "tampered packet)");
	sa_status st = aes128_ctr(tks->tek, hdr->iv, ciphertext, len, plaintext, "LAUNCH_SECRET", err);
	if (st != SA_OK)
		OPENSSL_cleanse(plaintext, len);
	return st;
}

/* ---- secret table ---------------------------------------------------------------------------- */

/* 1e74f542-71dd-4d66-963e-ef4287ff173b in EFI byte order. */
static const uint8_t secret_table_guid[16] = {0x42, 0xf5, 0x74, 0x1e, 0xdd, 0x71, 0x66, 0x4d,
					      0x96, 0x3e, 0xef, 0x42, 0x87, 0xff, 0x17, 0x3b};
#define SECRET_ENTRY_HDR 20 /* GUID ‖ u32 length */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

sa_status sa_efi_guid_parse(const char *text, uint8_t out[16], sa_error *err)
{
	SA_ENSURE(text && out, err, SA_ERR_ARG, "GUID: missing input");
	uint8_t b[16]; /* in string order */
	size_t n = 0;
	bool ok = strlen(text) == 36;
	for (size_t i = 0; ok && i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			ok = text[i] == '-';
			continue;
		}
		int hi = hexval(text[i]), lo = hexval(text[i + 1]);
		ok = hi >= 0 && lo >= 0;
		if (ok)
			b[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	SA_ENSURE(ok && n == 16, err, SA_ERR_ARG, "GUID '%s': expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex)", text);
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (int i = 0; i < 16; i++)
		out[i] = b[order[i]];
	return SA_OK;
}

void sa_efi_guid_str(const uint8_t guid[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", guid[3], guid[2],
		 guid[1], guid[0], guid[5], guid[4], guid[7], guid[6], guid[8], guid[9], guid[10], guid[11], guid[12],
		 guid[13], guid[14], guid[15]);
}

sa_status sa_sev_secret_table_build(const sa_sev_secret_entry *entries, size_t n, uint8_t **out, size_t *len,
				    sa_error *err)
{
	SA_ENSURE(out && len && (entries || n == 0), err, SA_ERR_ARG, "secret table: missing input");
	size_t total = SECRET_ENTRY_HDR;
	for (size_t i = 0; i < n; i++) {
		SA_ENSURE(entries[i].data || entries[i].len == 0, err, SA_ERR_ARG, "secret table entry %zu: missing data",
			  i);
		size_t e;
		SA_ENSURE(sa_add_size(entries[i].len, SECRET_ENTRY_HDR, &e) && e <= UINT32_MAX &&
				  sa_add_size(total, e, &total),
			  err, SA_ERR_RANGE, "secret table entry %zu: %zu bytes, too long", i, entries[i].len);
	}
	size_t padded;
	SA_ENSURE(sa_add_size(total, 15, &padded), err, SA_ERR_RANGE, "secret table: too long");
	padded &= ~(size_t)15;
	SA_ENSURE(padded <= SA_SEV_SECRET_MAX, err, SA_ERR_RANGE,
		  "secret table: %zu bytes (%zu padded) exceed the %d bytes of the guest's secret area", total, padded,
		  SA_SEV_SECRET_MAX);
	uint8_t *buf = calloc(1, padded);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "secret table: out of memory");
	sa_writer w;
	sa_writer_init(&w, buf, padded);
	sa_status st = sa_write_bytes(&w, secret_table_guid, 16, "secret table GUID", err);
	if (st == SA_OK)
		st = sa_write_u32(&w, (uint32_t)total, "secret table length", err);
	for (size_t i = 0; st == SA_OK && i < n; i++) {
		st = sa_write_bytes(&w, entries[i].guid, 16, "secret entry GUID", err);
		if (st == SA_OK)
			st = sa_write_u32(&w, (uint32_t)(entries[i].len + SECRET_ENTRY_HDR), "secret entry length", err);
		if (st == SA_OK)
			st = sa_write_bytes(&w, entries[i].data, entries[i].len, "secret entry data", err);
	}
	if (st != SA_OK) {
		OPENSSL_cleanse(buf, padded);
		free(buf);
		return st;
	}
	*out = buf;
	*len = padded;
	return SA_OK;
}

sa_status sa_sev_secret_table_parse(const uint8_t *buf, size_t len, sa_sev_secret_entry *entries, size_t max,
				    size_t *n, sa_error *err)
{
	SA_ENSURE(buf && n && (entries || max == 0), err, SA_ERR_ARG, "secret table: missing input");
	sa_reader r;
	sa_reader_init(&r, buf, len);
	uint8_t guid[16];
	uint32_t total;
	SA_TRY(sa_read_bytes(&r, guid, 16, "secret table GUID", err));
	SA_ENSURE(memcmp(guid, secret_table_guid, 16) == 0, err, SA_ERR_FORMAT,
		  "secret table GUID at 0x00: expected 1e74f542-71dd-4d66-963e-ef4287ff173b");
	SA_TRY(sa_read_u32(&r, &total, "secret table length", err));
	SA_ENSURE(total >= SECRET_ENTRY_HDR && total <= len, err, SA_ERR_FORMAT,
		  "secret table length at 0x10: %u, expected 20..%zu (the buffer)", total, len);
	sa_reader body;
	sa_reader_init(&body, buf + SECRET_ENTRY_HDR, total - SECRET_ENTRY_HDR);
	size_t count = 0;
	while (sa_reader_remaining(&body) > 0) {
		size_t at = SECRET_ENTRY_HDR + sa_reader_offset(&body);
		sa_sev_secret_entry e;
		uint32_t elen;
		SA_TRY(sa_read_bytes(&body, e.guid, 16, "secret entry GUID", err));
		SA_TRY(sa_read_u32(&body, &elen, "secret entry length", err));
		SA_ENSURE(elen >= SECRET_ENTRY_HDR && elen - SECRET_ENTRY_HDR <= sa_reader_remaining(&body), err,
			  SA_ERR_FORMAT, "secret entry at 0x%zx: length %u, expected 20..%zu", at, elen,
			  sa_reader_remaining(&body) + SECRET_ENTRY_HDR);
		e.len = elen - SECRET_ENTRY_HDR;
		SA_TRY(sa_read_view(&body, &e.data, e.len, "secret entry data", err));
		SA_ENSURE(count < max, err, SA_ERR_RANGE, "secret table: more than %zu entries", max);
		entries[count++] = e;
	}
	*n = count;
	return SA_OK;
}

/* ---- ATTESTATION report ------------------------------------------------------------------------ */

#define RF(off, kind, m, name) SA_FIELD(sa_sev_report, off, SA_FIELD_##kind, m, name)
static const sa_field report_layout[] = {
	RF(0x00, BYTES, mnonce, "MNONCE"),    RF(0x10, BYTES, launch_digest, "LAUNCH_DIGEST"),
	RF(0x30, U32, policy, "POLICY"),      RF(0x34, U32, sig_usage, "SIG_USAGE"),
	RF(0x38, U32, sig_algo, "SIG_ALGO"),  RF(0x3C, U32, reserved, "reserved"),
	RF(0x40, BYTES, sig_r, "SIG R"),      RF(0x88, BYTES, sig_s, "SIG S"),
};
#undef RF

sa_status sa_sev_report_decode(const uint8_t *buf, size_t len, sa_sev_report *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "SEV report: missing output");
	sa_sev_report rep;
	SA_TRY(decode_exact(buf, len, SA_SEV_REPORT_SIZE, report_layout, SA_ARRAY_LEN(report_layout), &rep,
			    "SEV attestation report", err));
	*out = rep;
	return SA_OK;
}

sa_status sa_sev_report_encode(const sa_sev_report *r, uint8_t out[SA_SEV_REPORT_SIZE], sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "SEV report: missing input");
	sa_writer w;
	sa_writer_init(&w, out, SA_SEV_REPORT_SIZE);
	return sa_write_fields(&w, report_layout, SA_ARRAY_LEN(report_layout), r, "SEV report", err);
}

/* The digest an ECDSA SIG_ALGO names, or NULL. */
static const char *ecdsa_digest(uint32_t algo)
{
	switch (algo) {
	case SA_SEV_ALGO_ECDSA_SHA256: return "SHA256";
	case SA_SEV_ALGO_ECDSA_SHA384: return "SHA384";
	default: return NULL;
	}
}

sa_status sa_sev_report_sign(sa_sev_report *r, EVP_PKEY *pek_key, sa_error *err)
{
	SA_ENSURE(r && pek_key, err, SA_ERR_ARG, "SEV report sign: missing input");
	SA_TRY(sa_key_require_p384(pek_key, "PEK", err));
	sa_sev_report s = *r;
	s.sig_usage = SA_SEV_USAGE_PEK;
	s.sig_algo = SA_SEV_ALGO_ECDSA_SHA256;
	uint8_t buf[SA_SEV_REPORT_SIZE];
	SA_TRY(sa_sev_report_encode(&s, buf, err));
	SA_TRY(sa_ecdsa_sign_le(pek_key, "SHA256", buf, SA_SEV_REPORT_SIGNED_LEN, s.sig_r, s.sig_s, sizeof(s.sig_r),
				err));
	*r = s;
	return SA_OK;
}

sa_status sa_sev_report_verify_sig(const sa_sev_report *r, const sa_sev_cert *pek, sa_error *err)
{
	SA_ENSURE(r && pek, err, SA_ERR_ARG, "SEV report verify: missing input");
	SA_ENSURE(pek->pub_key_usage == SA_SEV_USAGE_PEK, err, SA_ERR_ARG,
		  "SEV report verify: the signer certificate has usage 0x%04x (%s), expected 0x1002 (PEK)",
		  pek->pub_key_usage, sa_sev_usage_name(pek->pub_key_usage));
	SA_ENSURE(r->sig_usage == SA_SEV_USAGE_PEK, err, SA_ERR_VERIFY,
		  "SEV report SIG_USAGE at 0x34: expected 0x1002 (PEK), got 0x%04x (%s)", r->sig_usage,
		  sa_sev_usage_name(r->sig_usage));
	const char *md = ecdsa_digest(r->sig_algo);
	SA_ENSURE(md, err, SA_ERR_VERIFY, "SEV report SIG_ALGO at 0x38: expected 0x0002 or 0x0102 (ECDSA), got 0x%04x (%s)",
		  r->sig_algo, sa_sev_algo_name(r->sig_algo));
	SA_ENSURE(r->sig_algo == pek->pub_key_algo, err, SA_ERR_VERIFY,
		  "SEV report SIG_ALGO at 0x38: 0x%04x (%s), but the PEK's algorithm is 0x%04x (%s)", r->sig_algo,
		  sa_sev_algo_name(r->sig_algo), pek->pub_key_algo, sa_sev_algo_name(pek->pub_key_algo));
	uint8_t buf[SA_SEV_REPORT_SIZE];
	SA_TRY(sa_sev_report_encode(r, buf, err));
	EVP_PKEY *k = NULL;
	SA_TRY(sa_sev_cert_pubkey(pek, &k, err));
	sa_status st = sa_ecdsa_verify_le(k, md, buf, SA_SEV_REPORT_SIGNED_LEN, r->sig_r, r->sig_s, sizeof(r->sig_r),
					  err);
	EVP_PKEY_free(k);
	if (st == SA_ERR_VERIFY)
		return sa_error_wrap(err, st, "SEV report signature by the PEK over bytes 0x00..0x33");
	return st;
}

/* ---- PLATFORM_STATUS ------------------------------------------------------------------------------ */

const char *sa_sev_state_name(uint8_t state)
{
	switch (state) {
	case SA_SEV_STATE_UNINIT: return "UNINIT";
	case SA_SEV_STATE_INIT: return "INIT";
	case SA_SEV_STATE_WORKING: return "WORKING";
	default: return "unknown";
	}
}

typedef struct status_wire {
	uint8_t api_major, api_minor, state;
	uint32_t flags;
	uint8_t build;
	uint32_t guest_count;
} status_wire;

#define PF(off, kind, m, name) SA_FIELD(status_wire, off, SA_FIELD_##kind, m, name)
static const sa_field status_layout[] = {
	PF(0x0, U8, api_major, "PLATFORM_STATUS api_major"), PF(0x1, U8, api_minor, "PLATFORM_STATUS api_minor"),
	PF(0x2, U8, state, "PLATFORM_STATUS state"),         PF(0x3, U32, flags, "PLATFORM_STATUS flags"),
	PF(0x7, U8, build, "PLATFORM_STATUS build"),         PF(0x8, U32, guest_count, "PLATFORM_STATUS guest_count"),
};
#undef PF

#define STATUS_FLAG_OWNER 0x1u
#define STATUS_FLAG_CONFIG_ES 0x100u

sa_status sa_sev_platform_status_decode(const uint8_t *buf, size_t len, sa_sev_platform_status *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "PLATFORM_STATUS: missing output");
	status_wire w;
	SA_TRY(decode_exact(buf, len, SA_SEV_STATUS_SIZE, status_layout, SA_ARRAY_LEN(status_layout), &w,
			    "PLATFORM_STATUS", err));
	sa_sev_platform_status s = {
		.api_major = w.api_major,
		.api_minor = w.api_minor,
		.state = w.state,
		.owner_external = (w.flags & STATUS_FLAG_OWNER) != 0,
		.config_es = (w.flags & STATUS_FLAG_CONFIG_ES) != 0,
		.flags = w.flags,
		.build = w.build,
		.guest_count = w.guest_count,
	};
	*out = s;
	return SA_OK;
}

void sa_sev_platform_status_encode(const sa_sev_platform_status *s, uint8_t out[SA_SEV_STATUS_SIZE])
{
	status_wire w = {
		.api_major = s->api_major,
		.api_minor = s->api_minor,
		.state = s->state,
		.flags = (s->flags & ~(STATUS_FLAG_OWNER | STATUS_FLAG_CONFIG_ES)) |
			 (s->owner_external ? STATUS_FLAG_OWNER : 0) | (s->config_es ? STATUS_FLAG_CONFIG_ES : 0),
		.build = s->build,
		.guest_count = s->guest_count,
	};
	encode_exact(status_layout, SA_ARRAY_LEN(status_layout), &w, out, SA_SEV_STATUS_SIZE, "PLATFORM_STATUS");
}
