/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ID block, ID_AUTH_INFO and the 0x404-byte ECDSA key: known-answer vectors
 * (virtee/sev, sev-snp-measure, LIT sev-snp-utils; vectors README §5), codec
 * round trips and truncations, signatures, and the emulated
 * SNP_LAUNCH_FINISH checking an ID block as firmware does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sevattest/sevattest.h"
#include "testutil.h"

#define VIRTEE "virtee-sev/tests/measurement/"
#define SSM "virtee-sev-snp-measure/tests/keyfile/"
#define LIT "LIT-Protocol-sev-snp-utils/resources/test/identity/"

/* ---- helpers ------------------------------------------------------------ */

static EVP_PKEY *load_key(const char *rel)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	if (tu_read_vector(rel, &pem, &len) != 0)
		fail_msg("vector %s is missing", rel);
	EVP_PKEY *k = NULL;
	sa_error err;
	if (sa_p384_private_key_from_pem(pem, len, &k, &err) != SA_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(pem);
	return k;
}

static void b64(const char *text, uint8_t **out, size_t *len)
{
	sa_error err;
	if (sa_base64_decode_alloc(text, strlen(text), 1, out, len, "test", &err) != SA_OK)
		fail_msg("base64: %s", err.msg);
}

static void assert_digest_b64(EVP_PKEY *k, const char *want)
{
	uint8_t d[48];
	sa_error err;
	assert_int_equal(sa_key_digest_of_evp(k, d, &err), SA_OK);
	char *got = sa_base64_encode(d, sizeof(d));
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void assert_digest_hex(const sa_ecdsa_pubkey *k, const char *want)
{
	uint8_t d[48];
	char hex[97];
	sa_error err;
	assert_int_equal(sa_ecdsa_pubkey_digest(k, d, &err), SA_OK);
	assert_string_equal(sa_hex_encode(d, sizeof(d), hex), want);
}

/* The ID block of virtee/sev tests/id-block.rs. */
static const char VIRTEE_LD[] =
    "a14d638341e5674628fe1e02fbedebe5e5ab4faf1dd72d8966068e615bb99efd13d214b35c231715b38e263dc6059745";
static const char VIRTEE_BLOCK_B64[] =
    "oU1jg0HlZ0Yo/h4C++3r5eWrT68d1y2JZgaOYVu5nv0T0hSzXCMXFbOOJj3GBZdFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA";
static const char VIRTEE_ID_DIGEST[] = "WfssaG36T+9J84M5qndckAUcKNVzg93DuvO160sUlt87DbvcuuX+J2d6ZEggdz/i";
static const char VIRTEE_AUTHOR_DIGEST[] = "7tgRafsMteDsNHlPEo/U4MSkb2fGWhrfqB/LJLzAiMJyNpt//D6ytq9qQoShs2xf";

static void virtee_block(uint8_t out[SA_ID_BLOCK_SIZE])
{
	uint8_t ld[48];
	tu_hex(VIRTEE_LD, ld, sizeof(ld));
	sa_id_block b;
	sa_id_block_init(&b, ld);
	sa_error err;
	assert_int_equal(sa_id_block_encode(&b, out, &err), SA_OK);
}

/* ---- vectors -------------------------------------------------------------- */

static void virtee_id_block(void **state)
{
	(void)state;
	uint8_t blk[SA_ID_BLOCK_SIZE];
	virtee_block(blk);
	char *got = sa_base64_encode(blk, sizeof(blk));
	assert_string_equal(got, VIRTEE_BLOCK_B64);
	free(got);

	TU_REQUIRE_VECTORS();
	EVP_PKEY *id = load_key(VIRTEE "test_id_key.pem"), *author = load_key(VIRTEE "test_auth_key.pem");
	assert_digest_b64(id, VIRTEE_ID_DIGEST);
	assert_digest_b64(author, VIRTEE_AUTHOR_DIGEST);

	/* The complete ID_AUTH_INFO: both signatures verify, its keys are the two PEM keys. */
	uint8_t *buf = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	assert_int_equal(tu_read_vector(VIRTEE "test_auth_block.bin", &buf, &len), 0);
	assert_int_equal(len, SA_ID_AUTH_SIZE);
	sa_id_auth a;
	sa_error err;
	assert_int_equal(sa_id_auth_decode(buf, len, &a, &err), SA_OK);
	assert_int_equal(a.id_key_algo, 1);
	assert_int_equal(a.auth_key_algo, 1);
	assert_int_equal(a.id_key.curve, SA_ECDSA_CURVE_P384);
	if (sa_id_block_verify(blk, &a, &err) != SA_OK)
		fail_msg("ID_BLOCK_SIG: %s", err.msg);
	if (sa_id_key_verify(&a, &err) != SA_OK)
		fail_msg("ID_KEY_SIG: %s", err.msg);
	sa_ecdsa_pubkey k;
	assert_int_equal(sa_ecdsa_pubkey_from_evp(id, &k, &err), SA_OK);
	assert_memory_equal(&k, &a.id_key, sizeof(k));
	assert_int_equal(sa_ecdsa_pubkey_from_evp(author, &k, &err), SA_OK);
	assert_memory_equal(&k, &a.author_key, sizeof(k));
	/* Round trip, byte for byte. */
	uint8_t again[SA_ID_AUTH_SIZE];
	assert_int_equal(sa_id_auth_encode(&a, again, &err), SA_OK);
	assert_memory_equal(again, buf, SA_ID_AUTH_SIZE);
	/* test_id_sig.bin and test_auth_sig.bin are its two signature fields. */
	assert_int_equal(tu_read_vector(VIRTEE "test_id_sig.bin", &sig, &sig_len), 0);
	assert_int_equal(sig_len, SA_SNP_SIGNATURE_SIZE);
	assert_memory_equal(sig, a.id_block_sig.r, 72);
	assert_memory_equal(sig + 72, a.id_block_sig.s, 72);
	assert_memory_equal(sig + 144, a.id_block_sig.reserved, sizeof(a.id_block_sig.reserved));
	free(sig);
	assert_int_equal(tu_read_vector(VIRTEE "test_auth_sig.bin", &sig, &sig_len), 0);
	assert_int_equal(sig_len, SA_SNP_SIGNATURE_SIZE);
	assert_memory_equal(sig, a.id_key_sig.r, 72);
	assert_memory_equal(sig + 72, a.id_key_sig.s, 72);
	assert_memory_equal(sig + 144, a.id_key_sig.reserved, sizeof(a.id_key_sig.reserved));
	free(sig);

	/* A flipped byte in either signature, the block or the signed key is refused. */
	sa_id_auth bad = a;
	bad.id_block_sig.r[0] ^= 1;
	assert_int_equal(sa_id_block_verify(blk, &bad, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "ID_BLOCK_SIG"));
	bad = a;
	bad.id_key_sig.s[5] ^= 0x80;
	assert_int_equal(sa_id_key_verify(&bad, &err), SA_ERR_VERIFY);
	assert_non_null(strstr(err.msg, "ID_KEY_SIG"));
	bad = a;
	bad.id_key.reserved[0] = 1; /* signed: the author's signature covers all 0x404 bytes */
	assert_int_equal(sa_id_key_verify(&bad, &err), SA_ERR_VERIFY);
	uint8_t blk2[SA_ID_BLOCK_SIZE];
	memcpy(blk2, blk, sizeof(blk2));
	blk2[0x54] ^= 1;
	assert_int_equal(sa_id_block_verify(blk2, &a, &err), SA_ERR_VERIFY);
	/* Algorithms other than 1, a curve other than P-384, a point off the curve. */
	bad = a;
	bad.id_key_algo = 2;
	assert_int_equal(sa_id_block_verify(blk, &bad, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "ID_KEY_ALGO is 2, expected 1"));
	bad = a;
	bad.auth_key_algo = 0;
	assert_int_equal(sa_id_key_verify(&bad, &err), SA_ERR_UNSUPPORTED);
	bad = a;
	bad.id_key.curve = 1;
	assert_int_equal(sa_id_block_verify(blk, &bad, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "CURVE is 1, expected 2"));
	bad = a;
	bad.id_key.qy[0] ^= 1;
	assert_int_equal(sa_id_block_verify(blk, &bad, &err), SA_ERR_FORMAT);
	bad = a;
	bad.author_key.qx[60] = 1;
	assert_int_equal(sa_id_key_verify(&bad, &err), SA_ERR_FORMAT);

	free(buf);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
}

static void sev_snp_measure(void **state)
{
	(void)state;
	/* snp-create-id-block --measurement B28F... : the deterministic ID block. */
	static const char ld_b64[] = "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t";
	static const char want[] =
	    "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA";
	uint8_t *ld = NULL;
	size_t ld_len = 0;
	b64(ld_b64, &ld, &ld_len);
	assert_int_equal(ld_len, 48);
	sa_id_block b;
	sa_id_block_init(&b, ld);
	free(ld);
	uint8_t blk[SA_ID_BLOCK_SIZE];
	sa_error err;
	assert_int_equal(sa_id_block_encode(&b, blk, &err), SA_OK);
	char *got = sa_base64_encode(blk, sizeof(blk));
	assert_string_equal(got, want);
	free(got);

	TU_REQUIRE_VECTORS();
	EVP_PKEY *id = load_key(SSM "id_key_test.pem"), *author = load_key(SSM "author_key_test.pem");
	assert_digest_b64(id, "hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU");
	assert_digest_b64(author, "YxEcNLv8Ckk4+aAJvQdJgNgXIyPmFZnJ/TNtqGcySOHcqY0L6PdjdqEGuK/UwKBX");
	/* Our own ID_AUTH_INFO for it verifies (the upstream one is randomized). */
	sa_id_auth a;
	assert_int_equal(sa_id_auth_sign(&b, id, author, &a, &err), SA_OK);
	assert_int_equal(sa_id_block_verify(blk, &a, &err), SA_OK);
	assert_int_equal(sa_id_key_verify(&a, &err), SA_OK);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
}

static void lit(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *txt = NULL, *blk = NULL, *auth = NULL;
	size_t len = 0, blk_len = 0, auth_len = 0;
	sa_error err;
	assert_int_equal(tu_read_vector(LIT "id_block.b64", &txt, &len), 0);
	assert_int_equal(sa_base64_decode_alloc((const char *)txt, len, 1, &blk, &blk_len, "id_block.b64", &err), SA_OK);
	free(txt);
	assert_int_equal(tu_read_vector(LIT "auth_info.b64", &txt, &len), 0);
	assert_int_equal(sa_base64_decode_alloc((const char *)txt, len, 1, &auth, &auth_len, "auth_info.b64", &err),
			 SA_OK);
	free(txt);
	sa_id_block b;
	assert_int_equal(sa_id_block_decode(blk, blk_len, &b, &err), SA_OK);
	assert_int_equal(b.version, 1);
	assert_int_equal(b.policy, 0x30000);
	sa_id_auth a;
	assert_int_equal(sa_id_auth_decode(auth, auth_len, &a, &err), SA_OK);

	/* Upstream's key coordinates (little-endian QX) and digests. */
	uint8_t qx[48];
	tu_hex("485215abb30f7a2f89794c0ae30345ea3846c5439d6ff89265ea862505be7bc2e4d642c2f94a6c1b813ffd66fb21ff64", qx, 48);
	assert_memory_equal(a.id_key.qx, qx, 48);
	tu_hex("3441ad9a5aa58abf5416d6ae05d6527feb1eb0ee8c86898f43c6be011239dd7f0c3ccec59c89e323b8f3fa1ef5a2ba0a", qx, 48);
	assert_memory_equal(a.author_key.qx, qx, 48);
	static const char id_hex[] =
	    "64a7dce6dcc44a98f0db95301dec5d33def24ffd71df2911663dd8603e18a6831ac6fafd2b67d983b338305db818516c";
	static const char author_hex[] =
	    "bbb27d63ea847e0412b5b07ccdd673a46212545aceaf6b87521467ab66b982ead7901a9a190bdd1ffacf656c7ac1e9cc";
	assert_digest_hex(&a.id_key, id_hex);
	assert_digest_hex(&a.author_key, author_hex);
	/* The PEM keys are the keys in the structure. */
	EVP_PKEY *id = load_key(LIT "id-key.pem"), *author = load_key(LIT "author-key.pem");
	sa_ecdsa_pubkey k;
	assert_int_equal(sa_ecdsa_pubkey_from_evp(id, &k, &err), SA_OK);
	assert_digest_hex(&k, id_hex);
	assert_int_equal(sa_ecdsa_pubkey_from_evp(author, &k, &err), SA_OK);
	assert_digest_hex(&k, author_hex);
	/* Both signatures verify. */
	if (sa_id_block_verify(blk, &a, &err) != SA_OK)
		fail_msg("LIT ID_BLOCK_SIG: %s", err.msg);
	if (sa_id_key_verify(&a, &err) != SA_OK)
		fail_msg("LIT ID_KEY_SIG: %s", err.msg);
	/* Round trips. */
	uint8_t again[SA_ID_AUTH_SIZE];
	assert_int_equal(sa_id_auth_encode(&a, again, &err), SA_OK);
	assert_memory_equal(again, auth, SA_ID_AUTH_SIZE);
	assert_int_equal(sa_id_block_encode(&b, again, &err), SA_OK);
	assert_memory_equal(again, blk, SA_ID_BLOCK_SIZE);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	free(blk);
	free(auth);
}

/* ---- codecs ---------------------------------------------------------------- */

static void truncations_refused(void **state)
{
	(void)state;
	uint8_t *buf = calloc(1, SA_ID_AUTH_SIZE + 1);
	assert_non_null(buf);
	sa_id_block b;
	sa_id_auth *a = malloc(sizeof(*a));
	assert_non_null(a);
	sa_ecdsa_pubkey k;
	sa_error err;
	for (size_t n = 0; n < SA_ID_BLOCK_SIZE; n++)
		assert_int_equal(sa_id_block_decode(buf, n, &b, &err), SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "ID_BLOCK"));
	assert_int_equal(sa_id_block_decode(buf, SA_ID_BLOCK_SIZE + 1, &b, &err), SA_ERR_TRAILING);
	for (size_t n = 0; n < SA_ID_AUTH_SIZE; n++)
		assert_int_equal(sa_id_auth_decode(buf, n, a, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_id_auth_decode(buf, SA_ID_AUTH_SIZE + 1, a, &err), SA_ERR_TRAILING);
	for (size_t n = 0; n < SA_ECDSA_PUBKEY_SIZE; n++)
		assert_int_equal(sa_ecdsa_pubkey_decode(buf, n, &k, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_ecdsa_pubkey_decode(buf, SA_ECDSA_PUBKEY_SIZE + 1, &k, &err), SA_ERR_TRAILING);
	assert_int_equal(sa_id_block_decode(NULL, 0, &b, &err), SA_ERR_TRUNCATED);

	/* Round trips of arbitrary bytes: every byte lands in a field. */
	for (size_t i = 0; i < SA_ID_AUTH_SIZE; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint8_t out[SA_ID_AUTH_SIZE];
	assert_int_equal(sa_id_block_decode(buf, SA_ID_BLOCK_SIZE, &b, &err), SA_OK);
	assert_int_equal(sa_id_block_encode(&b, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_ID_BLOCK_SIZE);
	assert_int_equal(b.version, 0x48413a33u); /* bytes 0x50..0x53: 0x33 0x3a 0x41 0x48 */
	assert_int_equal(sa_id_auth_decode(buf, SA_ID_AUTH_SIZE, a, &err), SA_OK);
	assert_int_equal(sa_id_auth_encode(a, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_ID_AUTH_SIZE);
	assert_int_equal(sa_ecdsa_pubkey_decode(buf + 0x240, SA_ECDSA_PUBKEY_SIZE, &k, &err), SA_OK);
	assert_memory_equal(&k, &a->id_key, sizeof(k));
	assert_int_equal(sa_ecdsa_pubkey_encode(&k, out, &err), SA_OK);
	assert_memory_equal(out, buf + 0x240, SA_ECDSA_PUBKEY_SIZE);
	assert_int_equal(sa_ecdsa_pubkey_decode(buf + 0x880, SA_ECDSA_PUBKEY_SIZE, &k, &err), SA_OK);
	assert_memory_equal(&k, &a->author_key, sizeof(k));
	free(a);
	free(buf);
}

static void sign_and_verify(void **state)
{
	(void)state;
	EVP_PKEY *id = EVP_EC_gen("P-384"), *author = EVP_EC_gen("P-384"), *p256 = EVP_EC_gen("P-256");
	assert_non_null(id);
	assert_non_null(author);
	assert_non_null(p256);
	uint8_t ld[48];
	memset(ld, 0x5A, sizeof(ld));
	sa_id_block b;
	sa_id_block_init(&b, ld);
	b.guest_svn = 3;
	uint8_t blk[SA_ID_BLOCK_SIZE];
	sa_error err;
	assert_int_equal(sa_id_block_encode(&b, blk, &err), SA_OK);
	sa_id_auth a;
	/* Without an author key: AUTH_KEY_ALGO 0 and zero author fields. */
	assert_int_equal(sa_id_auth_sign(&b, id, NULL, &a, &err), SA_OK);
	assert_int_equal(a.auth_key_algo, 0);
	assert_true(sa_all_zero(&a.author_key, sizeof(a.author_key)));
	assert_int_equal(sa_id_block_verify(blk, &a, &err), SA_OK);
	assert_int_equal(sa_id_key_verify(&a, &err), SA_ERR_UNSUPPORTED);
	/* With one. */
	assert_int_equal(sa_id_auth_sign(&b, id, author, &a, &err), SA_OK);
	assert_int_equal(sa_id_block_verify(blk, &a, &err), SA_OK);
	assert_int_equal(sa_id_key_verify(&a, &err), SA_OK);
	/* The AMD key form converts back to the same key. */
	EVP_PKEY *pub = NULL;
	assert_int_equal(sa_ecdsa_pubkey_to_evp(&a.id_key, &pub, &err), SA_OK);
	assert_int_equal(EVP_PKEY_eq(pub, id), 1);
	EVP_PKEY_free(pub);
	/* Swapped keys do not verify. */
	sa_id_auth swapped = a;
	swapped.id_key = a.author_key;
	assert_int_equal(sa_id_block_verify(blk, &swapped, &err), SA_ERR_VERIFY);
	/* Every signature byte matters (r and s, a sample of positions). */
	for (size_t i = 0; i < 72; i += 7) {
		sa_id_auth t = a;
		t.id_block_sig.r[i] ^= 0x01;
		assert_int_not_equal(sa_id_block_verify(blk, &t, &err), SA_OK);
		t = a;
		t.id_block_sig.s[i] ^= 0x10;
		assert_int_not_equal(sa_id_block_verify(blk, &t, &err), SA_OK);
	}
	/* P-256 keys are refused. */
	assert_int_equal(sa_id_auth_sign(&b, p256, NULL, &a, &err), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "secp384r1"));
	sa_ecdsa_pubkey k;
	assert_int_equal(sa_ecdsa_pubkey_from_evp(p256, &k, &err), SA_ERR_UNSUPPORTED);
	/* Garbage PEM. */
	EVP_PKEY *none = NULL;
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	assert_int_equal(sa_p384_private_key_from_pem((const uint8_t *)junk, strlen(junk), &none, &err), SA_ERR_FORMAT);
	assert_null(none);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	EVP_PKEY_free(p256);
}

/* ---- the emulated SNP_LAUNCH_FINISH ------------------------------------------ */

#define POLICY 0x30000ull

/* Start a guest and measure one page and the SECRETS page; ld receives the launch digest. */
static uint32_t launch_start(sa_emu *e, uint8_t ld[48])
{
	uint32_t h = 0, fw = 0;
	sa_error err;
	if (sa_emu_launch_start(e, POLICY, &h, &fw, &err) != SA_OK)
		fail_msg("launch start: %s", err.msg);
	uint8_t page[SA_PAGE_SIZE];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 5);
	assert_int_equal(sa_emu_launch_update(e, h, SA_PAGE_NORMAL, 0x100000, page, NULL, &fw, &err), SA_OK);
	assert_int_equal(sa_emu_launch_update(e, h, SA_PAGE_SECRETS, 0x80D000, NULL, NULL, &fw, &err), SA_OK);
	assert_int_equal(sa_emu_guest_measurement(e, h, ld, &err), SA_OK);
	return h;
}

struct signed_block {
	uint8_t block[SA_ID_BLOCK_SIZE];
	uint8_t auth[SA_ID_AUTH_SIZE];
};

static void sign_block(const sa_id_block *b, EVP_PKEY *id, EVP_PKEY *author, struct signed_block *out)
{
	sa_error err;
	sa_id_auth *a = malloc(sizeof(*a));
	assert_non_null(a);
	assert_int_equal(sa_id_block_encode(b, out->block, &err), SA_OK);
	assert_int_equal(sa_id_auth_sign(b, id, author, a, &err), SA_OK);
	assert_int_equal(sa_id_auth_encode(a, out->auth, &err), SA_OK);
	free(a);
}

static void expect_finish(sa_emu *e, uint32_t h, const struct signed_block *s, bool author_en, uint32_t want_fw)
{
	uint32_t fw = 0xFFFF;
	sa_error err;
	uint8_t hd[32] = {0};
	sa_status st = sa_emu_launch_finish(e, h, s->block, s->auth, author_en, hd, &fw, &err);
	if (fw != want_fw)
		fail_msg("firmware 0x%02x (%s), expected 0x%02x (%s): %s", fw, sa_fw_status_name(fw), want_fw,
			 sa_fw_status_name(want_fw), st == SA_OK ? "" : err.msg);
	assert_int_equal(st == SA_OK, want_fw == SA_FW_SUCCESS);
}

/* A report through a sealed guest message on VMPCK0. */
static void get_report(sa_emu *e, uint32_t h, uint8_t out[SA_SNP_REPORT_SIZE])
{
	sa_error err;
	uint8_t secrets[SA_SECRETS_PAGE_SIZE];
	assert_int_equal(sa_emu_guest_secrets(e, h, secrets, &err), SA_OK);
	sa_secrets_page sp;
	assert_int_equal(sa_secrets_page_decode(secrets, sizeof(secrets), &sp, &err), SA_OK);
	sa_gmsg_channel ch;
	assert_int_equal(sa_gmsg_channel_init(&ch, sp.vmpck[0], 0, 0, &err), SA_OK);
	sa_report_req q;
	memset(&q, 0, sizeof(q));
	memset(q.report_data, 0xAB, sizeof(q.report_data));
	uint8_t payload[SA_REPORT_REQ_SIZE], req[SA_GMSG_PAGE_SIZE], resp[SA_GMSG_PAGE_SIZE], rsp[SA_GMSG_MAX_PAYLOAD];
	size_t req_len = 0, resp_len = 0, rsp_len = 0;
	uint32_t fw = 0xFFFF;
	assert_int_equal(sa_report_req_encode(&q, payload, &err), SA_OK);
	assert_int_equal(sa_gmsg_channel_request(&ch, SA_MSG_REPORT_REQ, 1, payload, sizeof(payload), req, sizeof(req),
						 &req_len, &err),
			 SA_OK);
	if (sa_emu_guest_request(e, h, req, req_len, resp, sizeof(resp), &resp_len, &fw, &err) != SA_OK)
		fail_msg("guest request: %s", err.msg);
	assert_int_equal(sa_gmsg_channel_response(&ch, resp, resp_len, rsp, sizeof(rsp), &rsp_len, &err), SA_OK);
	sa_report_rsp r;
	assert_int_equal(sa_report_rsp_decode(rsp, rsp_len, &r, &err), SA_OK);
	assert_int_equal(r.status, SA_FW_SUCCESS);
	memcpy(out, r.report, SA_SNP_REPORT_SIZE);
	sa_gmsg_channel_wipe(&ch);
	sa_secrets_page_wipe(&sp);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Verify as a relying party: the emulator's root, chain and VCEK, plus the ID block demands. */
static void assert_verifies(tu_plat *p, const uint8_t *report, const sa_snp_appraisal *a)
{
	sa_error err;
	char *pem = NULL, root[600], chain[600];
	assert_int_equal(sa_emu_export_root(p->e, &pem, &err), SA_OK);
	snprintf(root, sizeof(root), "%s/root.pem", p->tmp);
	write_file(root, pem);
	free(pem);
	assert_int_equal(sa_emu_export_chain(p->e, false, &pem, &err), SA_OK);
	snprintf(chain, sizeof(chain), "%s/chain.pem", p->tmp);
	write_file(chain, pem);
	free(pem);
	uint8_t *der = NULL;
	size_t der_len = 0;
	assert_int_equal(sa_emu_export_vek(p->e, false, &der, &der_len, &err), SA_OK);
	sa_trust *t = NULL;
	sa_cert *vek = NULL;
	assert_int_equal(sa_trust_new(&t, &err), SA_OK);
	if (sa_trust_set_roots_file(t, root, &err) != SA_OK || sa_trust_add_file(t, chain, &err) != SA_OK)
		fail_msg("trust: %s", err.msg);
	assert_int_equal(sa_cert_from_der(der, der_len, &vek, &err), SA_OK);
	free(der);
	assert_int_equal(sa_trust_set_vek(t, vek, &err), SA_OK);
	sa_verdict v;
	sa_verdict_init(&v);
	assert_int_equal(sa_verify_snp_report(report, SA_SNP_REPORT_SIZE, t, a, &v, &err), SA_OK);
	if (!v.verified) {
		for (size_t i = 0; i < v.n; i++)
			fprintf(stderr, "  %s %s: %s\n", sa_check_status_name(v.checks[i].status), v.checks[i].id,
				v.checks[i].summary);
		fail_msg("the report does not verify");
	}
	assert_int_equal(sa_verdict_find(&v, "author_key_digest")->status, SA_CHECK_PASS);
	assert_int_equal(sa_verdict_find(&v, "id_key_digest")->status, SA_CHECK_PASS);
	sa_verdict_free(&v);
	sa_trust_free(t);
	unlink(root);
	unlink(chain);
}

static void emulated_launch_finish(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	EVP_PKEY *id = EVP_EC_gen("P-384"), *author = EVP_EC_gen("P-384"), *other = EVP_EC_gen("P-384");
	assert_non_null(id);
	assert_non_null(author);
	assert_non_null(other);
	sa_error err;
	uint8_t ld[48];
	uint32_t h = launch_start(p.e, ld);
	sa_id_block b;
	sa_id_block_init(&b, ld);
	b.policy = POLICY;
	memset(b.family_id, 0xFA, sizeof(b.family_id));
	memset(b.image_id, 0x1D, sizeof(b.image_id));
	b.guest_svn = 42;
	struct signed_block *s = malloc(sizeof(*s));
	assert_non_null(s);

	/* A flipped signature byte: BAD_SIGNATURE (ID_BLOCK_SIG; ID_KEY_SIG with the author key enabled). */
	sign_block(&b, id, author, s);
	s->auth[0x40] ^= 1; /* ID_BLOCK_SIG.R */
	expect_finish(p.e, h, s, true, SA_FW_BAD_SIGNATURE);
	expect_finish(p.e, h, s, false, SA_FW_BAD_SIGNATURE);
	sign_block(&b, id, author, s);
	s->auth[0x6C8] ^= 1; /* ID_KEY_SIG.S */
	expect_finish(p.e, h, s, true, SA_FW_BAD_SIGNATURE);
	/* The ID block signed by another key than the ID_KEY named. */
	sign_block(&b, other, author, s);
	{
		sa_ecdsa_pubkey k;
		assert_int_equal(sa_ecdsa_pubkey_from_evp(id, &k, &err), SA_OK);
		assert_int_equal(sa_ecdsa_pubkey_encode(&k, s->auth + 0x240, &err), SA_OK);
	}
	expect_finish(p.e, h, s, false, SA_FW_BAD_SIGNATURE);
	/* A tampered block. */
	sign_block(&b, id, author, s);
	s->block[0x54] ^= 1;
	expect_finish(p.e, h, s, true, SA_FW_BAD_SIGNATURE);
	/* Properly signed, but the wrong launch digest or policy. */
	b.ld[47] ^= 0x80;
	sign_block(&b, id, author, s);
	expect_finish(p.e, h, s, true, SA_FW_BAD_MEASUREMENT);
	b.ld[47] ^= 0x80;
	b.policy = POLICY | SA_POLICY_DEBUG;
	sign_block(&b, id, author, s);
	expect_finish(p.e, h, s, true, SA_FW_POLICY_FAILURE);
	b.policy = POLICY;
	/* Another algorithm. */
	sign_block(&b, id, author, s);
	s->auth[0] = 2;
	expect_finish(p.e, h, s, true, SA_FW_INVALID_PARAM);
	s->auth[0] = 1;
	s->auth[4] = 0;
	expect_finish(p.e, h, s, true, SA_FW_INVALID_PARAM);
	s->auth[4] = 1;

	/* Success: the report carries the digests, the ids and the SVN, and verifies. */
	expect_finish(p.e, h, s, true, SA_FW_SUCCESS);
	uint8_t report[SA_SNP_REPORT_SIZE];
	get_report(p.e, h, report);
	sa_snp_report r;
	assert_int_equal(sa_snp_report_decode(report, sizeof(report), &r, &err), SA_OK);
	uint8_t id_dig[1][48], author_dig[1][48];
	assert_int_equal(sa_key_digest_of_evp(id, id_dig[0], &err), SA_OK);
	assert_int_equal(sa_key_digest_of_evp(author, author_dig[0], &err), SA_OK);
	assert_memory_equal(r.id_key_digest, id_dig[0], 48);
	assert_memory_equal(r.author_key_digest, author_dig[0], 48);
	assert_true(r.key_info & SA_KEYINFO_AUTHOR_KEY_EN);
	assert_memory_equal(r.family_id, b.family_id, 16);
	assert_memory_equal(r.image_id, b.image_id, 16);
	assert_int_equal(r.guest_svn, 42);
	assert_memory_equal(r.measurement, ld, 48);
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.id_key_digests = (const uint8_t(*)[48])id_dig;
	a.n_id_key_digests = 1;
	a.author_key_digests = (const uint8_t(*)[48])author_dig;
	a.n_author_key_digests = 1;
	a.require_id_block = true;
	a.require_author_key = true;
	a.family_id = b.family_id;
	a.image_id = b.image_id;
	a.has_min_guest_svn = true;
	a.min_guest_svn = 42;
	a.measurements = (const uint8_t(*)[48])ld;
	a.n_measurements = 1;
	assert_verifies(&p, report, &a);

	/* Without AUTHOR_KEY_EN the author fields are ignored: a bad ID_KEY_SIG is accepted, no author digest. */
	h = launch_start(p.e, ld);
	sa_id_block_init(&b, ld);
	sign_block(&b, id, author, s);
	s->auth[0x6C8] ^= 1;
	expect_finish(p.e, h, s, false, SA_FW_SUCCESS);
	get_report(p.e, h, report);
	assert_int_equal(sa_snp_report_decode(report, sizeof(report), &r, &err), SA_OK);
	assert_memory_equal(r.id_key_digest, id_dig[0], 48);
	assert_true(sa_all_zero(r.author_key_digest, 48));
	assert_false(r.key_info & SA_KEYINFO_AUTHOR_KEY_EN);

	free(s);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	EVP_PKEY_free(other);
	tu_plat_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(virtee_id_block),       cmocka_unit_test(sev_snp_measure),
	    cmocka_unit_test(lit),                   cmocka_unit_test(truncations_refused),
	    cmocka_unit_test(sign_and_verify),       cmocka_unit_test(emulated_launch_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
