/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest messages: header and payload codecs, AES-256-GCM with the documented
 * IV and AAD, the guest channel and the PSP end against a malicious
 * hypervisor, the certificate table and the secrets page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sevattest/bytes.h"
#include "sevattest/guest_msg.h"
#include "sevattest/report.h"
#include "testutil.h"

#define MSG_CAP SA_GMSG_PAGE_SIZE
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t KEY[SA_VMPCK_LEN] = {0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
					  0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
					  0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0xa5};

static void assert_msg_has(const sa_error *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("error message \"%s\" does not mention \"%s\"", err->msg, needle);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31u + (i >> 8));
}

/* ---- names ------------------------------------------------------------------- */

static void names(void **state)
{
	(void)state;
	assert_string_equal(sa_gmsg_type_name(SA_MSG_REPORT_REQ), "MSG_REPORT_REQ");
	assert_string_equal(sa_gmsg_type_name(SA_MSG_TSC_INFO_RSP), "MSG_TSC_INFO_RSP");
	assert_string_equal(sa_gmsg_type_name(15), "unknown");
	assert_string_equal(sa_gmsg_type_name(0), "unknown");
	for (unsigned t = 1; t <= 18; t++)
		if (t != 15 && t != 16)
			assert_string_not_equal(sa_gmsg_type_name(t), "unknown");
	assert_string_equal(sa_fw_status_name(SA_FW_SUCCESS), "SUCCESS");
	assert_string_equal(sa_fw_status_name(SA_FW_INVALID_PARAM), "INVALID_PARAM");
	assert_string_equal(sa_fw_status_name(SA_FW_INVALID_KEY), "INVALID_KEY");
	assert_string_equal(sa_fw_status_name(SA_FW_AEAD_OFLOW), "AEAD_OFLOW");
	for (uint32_t s = 0; s <= 0x27; s++)
		if (s != 0x1E && s != 0x1F)
			assert_string_not_equal(sa_fw_status_name(s), "unknown");
	assert_string_equal(sa_fw_status_name(0x1E), "unknown");
	assert_string_equal(sa_fw_status_name(0x28), "unknown");
}

/* ---- header -------------------------------------------------------------------- */

static void header_round_trip_and_offsets(void **state)
{
	(void)state;
	uint8_t buf[SA_GMSG_HDR_SIZE + 3];
	fill(buf, sizeof(buf), 7);
	sa_gmsg_hdr h;
	sa_error err;
	/* Only the first 0x60 bytes are the header; a payload may follow. */
	assert_int_equal(sa_gmsg_hdr_decode(buf, sizeof(buf), &h, &err), SA_OK);
	assert_memory_equal(h.authtag, buf, 32);
	assert_true(h.msg_seqno == sa_le64(buf + 0x20));
	assert_memory_equal(h.reserved_028, buf + 0x28, 8);
	assert_int_equal(h.algo, buf[0x30]);
	assert_int_equal(h.hdr_version, buf[0x31]);
	assert_int_equal(h.hdr_sz, buf[0x32] | buf[0x33] << 8);
	assert_int_equal(h.msg_type, buf[0x34]);
	assert_int_equal(h.msg_version, buf[0x35]);
	assert_int_equal(h.msg_sz, buf[0x36] | buf[0x37] << 8);
	assert_memory_equal(h.reserved_038, buf + 0x38, 4);
	assert_int_equal(h.msg_vmpck, buf[0x3C]);
	assert_memory_equal(h.reserved_03d, buf + 0x3D, 35);
	uint8_t out[SA_GMSG_HDR_SIZE];
	assert_int_equal(sa_gmsg_hdr_encode(&h, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_GMSG_HDR_SIZE);
	for (size_t len = 0; len < SA_GMSG_HDR_SIZE; len++)
		assert_int_equal(sa_gmsg_hdr_decode(buf, len, &h, &err), SA_ERR_TRUNCATED);
}

/* ---- known answer: the header bytes, IV and AAD --------------------------------- */

/* Computed independently (Python cryptography's AESGCM) from the documented layout. */
static const char KAT_CT[] = "b4b5607d8d604f5e2ed9a27b89cbf9a64a3e184646bd8941719cca50f985d0becae741c5ade74b46";
static const char KAT_TAG[] = "633f8a54590e4d2168d47149491d4a4c";

static void known_answer(void **state)
{
	(void)state;
	uint8_t key[32], payload[40];
	for (size_t i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	const uint64_t seqno = 0x0102030405060708ull;
	uint8_t msg[256];
	size_t len;
	sa_error err;
	assert_int_equal(sa_gmsg_seal(key, seqno, SA_MSG_REPORT_REQ, 1, 2, payload, sizeof(payload), msg, sizeof(msg),
				      &len, &err),
			 SA_OK);
	assert_int_equal(len, 0x60 + sizeof(payload));

	/* The header, byte for byte (the tag is checked below). */
	uint8_t want[SA_GMSG_HDR_SIZE];
	memset(want, 0, sizeof(want));
	const uint8_t seq_le[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	memcpy(want + 0x20, seq_le, 8);
	want[0x30] = 1;    /* ALGO AES-256-GCM */
	want[0x31] = 1;    /* HDR_VERSION */
	want[0x32] = 0x60; /* HDR_SZ */
	want[0x34] = 5;    /* MSG_TYPE */
	want[0x35] = 1;    /* MSG_VERSION */
	want[0x36] = 40;   /* MSG_SZ */
	want[0x3C] = 2;    /* MSG_VMPCK */
	assert_memory_equal(msg + 0x10, want + 0x10, SA_GMSG_HDR_SIZE - 0x10);

	uint8_t ct[40], tag[16];
	tu_hex(KAT_CT, ct, sizeof(ct));
	tu_hex(KAT_TAG, tag, sizeof(tag));
	assert_memory_equal(msg, tag, 16);
	assert_memory_equal(msg + 0x60, ct, sizeof(ct));

	/* Decrypt with EVP directly: IV = seqno LE || 0^4, AAD = header 0x30..0x5F. */
	uint8_t iv[12] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0};
	uint8_t pt[40];
	int outl = 0, finl = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_non_null(c);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &outl, msg + 0x30, 48), 1);
	assert_int_equal(EVP_DecryptUpdate(c, pt, &outl, msg + 0x60, 40), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pt + outl, &finl), 1);
	EVP_CIPHER_CTX_free(c);
	assert_memory_equal(pt, payload, sizeof(payload));

	/* And our own open. */
	sa_gmsg_hdr h;
	uint8_t got[64];
	size_t glen;
	assert_int_equal(sa_gmsg_open(key, msg, len, &h, got, sizeof(got), &glen, &err), SA_OK);
	assert_int_equal(glen, sizeof(payload));
	assert_memory_equal(got, payload, sizeof(payload));
	assert_true(h.msg_seqno == seqno);
	assert_int_equal(h.msg_vmpck, 2);

	/* An empty payload seals and opens too. */
	assert_int_equal(sa_gmsg_seal(key, 1, SA_MSG_TSC_INFO_REQ, 1, 0, NULL, 0, msg, sizeof(msg), &len, &err), SA_OK);
	assert_int_equal(len, 0x60);
	assert_int_equal(sa_gmsg_open(key, msg, len, &h, NULL, 0, &glen, &err), SA_OK);
	assert_int_equal(glen, 0);
}

static void seal_open_refusals(void **state)
{
	(void)state;
	uint8_t msg[MSG_CAP], pt[MSG_CAP];
	size_t len, plen;
	sa_error err;
	uint8_t payload[64];
	fill(payload, sizeof(payload), 1);
	assert_int_equal(sa_gmsg_seal(KEY, 0, 5, 1, 0, payload, 64, msg, sizeof(msg), &len, &err), SA_ERR_ARG);
	assert_msg_has(&err, "MSG_SEQNO 0");
	assert_int_equal(sa_gmsg_seal(KEY, 1, 5, 1, 4, payload, 64, msg, sizeof(msg), &len, &err), SA_ERR_ARG);
	assert_int_equal(sa_gmsg_seal(KEY, 1, 5, 1, 0, pt, SA_GMSG_MAX_PAYLOAD + 1, msg, sizeof(msg) + 1, &len, &err),
			 SA_ERR_RANGE);
	assert_int_equal(sa_gmsg_seal(KEY, 1, 5, 1, 0, payload, 64, msg, 0x60 + 63, &len, &err), SA_ERR_RANGE);
	assert_int_equal(sa_gmsg_seal(KEY, 1, 5, 1, 0, payload, 64, msg, 0x60 + 64, &len, &err), SA_OK);

	/* Header checks, named, before any decryption; nothing written to the payload. */
	struct {
		size_t off;
		uint8_t val;
		const char *name;
	} bad[] = {
		{0x30, 2, "ALGO"},    {0x31, 2, "HDR_VERSION"}, {0x32, 0x61, "HDR_SZ"},  {0x33, 1, "HDR_SZ"},
		{0x38, 1, "0x38"},    {0x3B, 1, "0x3B"},        {0x3D, 1, "0x3D"},       {0x5F, 0x80, "0x5F"},
		{0x37, 0x10, "MSG_SZ"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		uint8_t m[0x60 + 64];
		memcpy(m, msg, sizeof(m));
		m[bad[i].off] = bad[i].val;
		memset(pt, 0xEE, 64);
		assert_int_equal(sa_gmsg_open(KEY, m, sizeof(m), NULL, pt, sizeof(pt), &plen, &err), SA_ERR_FORMAT);
		assert_msg_has(&err, bad[i].name);
		assert_int_equal(plen, 0);
		assert_int_equal(pt[0], 0xEE);
	}
	/* MSG_SZ beyond the message, or beyond the payload buffer. */
	assert_int_equal(sa_gmsg_open(KEY, msg, 0x60 + 63, NULL, pt, sizeof(pt), &plen, &err), SA_ERR_TRUNCATED);
	assert_msg_has(&err, "MSG_SZ");
	assert_int_equal(sa_gmsg_open(KEY, msg, 0x60 + 64, NULL, pt, 63, &plen, &err), SA_ERR_RANGE);
	/* Wrong key: SA_ERR_VERIFY and the payload untouched. */
	uint8_t other[32];
	memcpy(other, KEY, 32);
	other[31] ^= 1;
	memset(pt, 0xEE, sizeof(pt));
	assert_int_equal(sa_gmsg_open(other, msg, 0x60 + 64, NULL, pt, sizeof(pt), &plen, &err), SA_ERR_VERIFY);
	assert_msg_has(&err, "does not authenticate");
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(pt[i], 0xEE);
	/* A whole page with the message at its start opens (bytes past MSG_SZ are ignored). */
	memset(msg + 0x60 + 64, 0x77, sizeof(msg) - 0x60 - 64);
	assert_int_equal(sa_gmsg_open(KEY, msg, sizeof(msg), NULL, pt, sizeof(pt), &plen, &err), SA_OK);
	assert_memory_equal(pt, payload, 64);
}

/* ---- the guest channel and the PSP --------------------------------------------- */

struct pair {
	sa_gmsg_channel ch;
	sa_gmsg_psp_ctx psp;
};

static void pair_init(struct pair *p, uint64_t seqno)
{
	assert_int_equal(sa_gmsg_channel_init(&p->ch, KEY, 0, seqno, NULL), SA_OK);
	memset(&p->psp, 0, sizeof(p->psp));
	memcpy(p->psp.vmpck, KEY, 32);
	p->psp.vmpck_id = 0;
	p->psp.seqno = seqno;
}

/* The request payload and the PSP's answer used by most exchanges. */
static void report_req_bytes(uint8_t out[SA_REPORT_REQ_SIZE], unsigned seed)
{
	sa_report_req r;
	memset(&r, 0, sizeof(r));
	fill(r.report_data, sizeof(r.report_data), seed);
	r.key_sel = 1;
	assert_int_equal(sa_report_req_encode(&r, out, NULL), SA_OK);
}

static void report_rsp_bytes(uint8_t out[SA_REPORT_RSP_SIZE], unsigned seed)
{
	sa_report_rsp r;
	memset(&r, 0, sizeof(r));
	r.report_size = SA_SNP_REPORT_SIZE;
	fill(r.report, sizeof(r.report), seed);
	assert_int_equal(sa_report_rsp_encode(&r, out, NULL), SA_OK);
}

/* The guest seals the MSG_REPORT_REQ payload rq into req. */
static void guest_request(sa_gmsg_channel *ch, const uint8_t rq[SA_REPORT_REQ_SIZE], uint8_t req[MSG_CAP],
			  size_t *req_len)
{
	sa_error err;
	if (sa_gmsg_channel_request(ch, SA_MSG_REPORT_REQ, 1, rq, SA_REPORT_REQ_SIZE, req, MSG_CAP, req_len, &err) !=
	    SA_OK)
		fail_msg("request refused: %s", err.msg);
}

/* Guest seals a report request into req; the PSP opens it and seals its answer into rsp. */
static void exchange_to_response(struct pair *p, uint8_t *req, size_t *req_len, uint8_t *rsp, size_t *rsp_len,
				 unsigned seed)
{
	uint8_t rq[SA_REPORT_REQ_SIZE], rs[SA_REPORT_RSP_SIZE], got[MSG_CAP];
	report_req_bytes(rq, seed);
	report_rsp_bytes(rs, seed);
	sa_error err;
	assert_int_equal(sa_gmsg_channel_request(&p->ch, SA_MSG_REPORT_REQ, 1, rq, sizeof(rq), req, MSG_CAP, req_len,
						 &err),
			 SA_OK);
	sa_gmsg_hdr h;
	size_t glen;
	uint32_t fw = 0xFFFF;
	if (sa_gmsg_psp_open_request(&p->psp, req, *req_len, &h, got, sizeof(got), &glen, &fw, &err) != SA_OK)
		fail_msg("PSP refused: %s", err.msg);
	assert_int_equal(fw, SA_FW_SUCCESS);
	assert_int_equal(glen, sizeof(rq));
	assert_memory_equal(got, rq, sizeof(rq));
	assert_int_equal(h.msg_type, SA_MSG_REPORT_REQ);
	assert_int_equal(sa_gmsg_psp_seal_response(&p->psp, &h, rs, sizeof(rs), rsp, MSG_CAP, rsp_len, &err), SA_OK);
}

static void full_exchange(struct pair *p, unsigned seed, uint8_t *rsp_out, size_t *rsp_len_out)
{
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP], want[SA_REPORT_RSP_SIZE];
	size_t req_len, rsp_len, plen;
	sa_error err;
	exchange_to_response(p, req, &req_len, rsp, &rsp_len, seed);
	if (sa_gmsg_channel_response(&p->ch, rsp, rsp_len, pt, sizeof(pt), &plen, &err) != SA_OK)
		fail_msg("guest refused: %s", err.msg);
	report_rsp_bytes(want, seed);
	assert_int_equal(plen, sizeof(want));
	assert_memory_equal(pt, want, sizeof(want));
	if (rsp_out) {
		memcpy(rsp_out, rsp, rsp_len);
		*rsp_len_out = rsp_len;
	}
}

/* The channel was wiped and refuses every later call without sealing anything. */
static void assert_disabled(sa_gmsg_channel *ch)
{
	assert_true(ch->disabled);
	assert_false(ch->pending);
	assert_true(sa_all_zero(ch->vmpck, sizeof(ch->vmpck)));
	uint8_t out[MSG_CAP], payload[16] = {0};
	memset(out, 0xCC, sizeof(out));
	size_t len = 99;
	sa_error err;
	assert_int_equal(sa_gmsg_channel_request(ch, SA_MSG_REPORT_REQ, 1, payload, sizeof(payload), out, sizeof(out),
						 &len, &err),
			 SA_ERR_STATE);
	assert_msg_has(&err, "VMPCK0 is disabled after ");
	assert_msg_has(&err, "an IV must never be reused");
	assert_int_equal(len, 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xCC);
	assert_int_equal(sa_gmsg_channel_response(ch, out, sizeof(out), out, sizeof(out), &len, &err), SA_ERR_STATE);
	/* The wiped key cannot be used to start again. */
	sa_gmsg_channel again;
	assert_int_equal(sa_gmsg_channel_init(&again, ch->vmpck, ch->vmpck_id, ch->seqno, &err), SA_ERR_ARG);
	assert_msg_has(&err, "all zero");
}

static void good_exchange_advances_counters(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 0);
	full_exchange(&p, 1, NULL, NULL);
	assert_true(p.ch.seqno == 2);
	assert_true(p.psp.seqno == 2);
	assert_false(p.ch.pending);
	full_exchange(&p, 2, NULL, NULL);
	assert_true(p.ch.seqno == 4);
	assert_true(p.psp.seqno == 4);
	/* From a counter taken from the secrets page. */
	pair_init(&p, 41);
	full_exchange(&p, 3, NULL, NULL);
	assert_true(p.ch.seqno == 43 && p.psp.seqno == 43);
	/* A response delivered in a whole page opens. */
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
	size_t req_len, rsp_len, plen;
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 4);
	memset(rsp + rsp_len, 0, MSG_CAP - rsp_len);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, MSG_CAP, pt, sizeof(pt), &plen, NULL), SA_OK);
	assert_true(p.ch.seqno == 45);
	sa_gmsg_channel_wipe(&p.ch);
	assert_disabled(&p.ch);
}

/* What a single-bit flip at offset off of a response must be reported as (NULL: accepted). */
static const char *flip_names(size_t off)
{
	if (off < 0x10)
		return "does not authenticate"; /* the tag */
	if (off < 0x20)
		return NULL; /* AUTHTAG[16..31]: not covered by the tag, ignored as by the driver */
	if (off < 0x28)
		return "response MSG_SEQNO";
	if (off < 0x30)
		return NULL; /* reserved 0x28..0x2F: outside the AAD, ignored */
	switch (off) {
	case 0x30: return "ALGO is";
	case 0x31: return "HDR_VERSION is";
	case 0x32:
	case 0x33: return "HDR_SZ is";
	case 0x34: return "response MSG_TYPE";
	case 0x35: return "response MSG_VERSION";
	case 0x36:
	case 0x37: return "MSG_SZ"; /* too large: named; smaller: the tag fails (MSG_SZ is in the AAD) */
	case 0x3C: return "response MSG_VMPCK";
	}
	if (off < SA_GMSG_HDR_SIZE)
		return "reserved byte";
	return "does not authenticate"; /* ciphertext */
}

static void hv_flips_every_response_bit(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 0);
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP], want[SA_REPORT_RSP_SIZE];
	size_t req_len, rsp_len, plen;
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 9);
	report_rsp_bytes(want, 9);
	assert_int_equal(rsp_len, 0x60 + SA_REPORT_RSP_SIZE);
	size_t refused = 0, accepted = 0;
	for (size_t bit = 0; bit < rsp_len * 8; bit++) {
		size_t off = bit / 8;
		uint8_t m[MSG_CAP];
		memcpy(m, rsp, rsp_len);
		m[off] ^= (uint8_t)(1u << (bit % 8));
		/* A fresh guest that sent the same request (GCM is deterministic: the same bytes). */
		sa_gmsg_channel ch;
		uint8_t rq[SA_REPORT_REQ_SIZE], again[MSG_CAP];
		size_t again_len;
		report_req_bytes(rq, 9);
		assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, 0, NULL), SA_OK);
		guest_request(&ch, rq, again, &again_len);
		assert_int_equal(again_len, req_len);
		assert_memory_equal(again, req, req_len);
		memset(pt, 0xEE, sizeof(pt));
		sa_error err;
		sa_status st = sa_gmsg_channel_response(&ch, m, rsp_len, pt, sizeof(pt), &plen, &err);
		const char *name = flip_names(off);
		if (!name) {
			if (st != SA_OK)
				fail_msg("bit %zu (offset 0x%zx): unauthenticated byte refused: %s", bit, off, err.msg);
			assert_memory_equal(pt, want, sizeof(want));
			accepted++;
			continue;
		}
		if (st != SA_ERR_VERIFY)
			fail_msg("bit %zu (offset 0x%zx): status %d, expected SA_ERR_VERIFY", bit, off, st);
		if (!strstr(err.msg, name))
			fail_msg("bit %zu (offset 0x%zx): \"%s\" does not name %s", bit, off, err.msg, name);
		assert_msg_has(&err, "wiped");
		for (size_t i = 0; i < sizeof(pt); i++)
			if (pt[i] != 0xEE)
				fail_msg("bit %zu: payload byte %zu written on failure", bit, i);
		assert_int_equal(plen, 0);
		assert_true(ch.seqno == 0);
		assert_string_not_equal(ch.disabled_reason, "");
		assert_disabled(&ch);
		refused++;
	}
	assert_int_equal(accepted, (16 + 8) * 8);
	assert_int_equal(refused, rsp_len * 8 - accepted);
}

static void hv_replays_and_reorders(void **state)
{
	(void)state;
	/* Record two good responses. */
	struct pair p;
	pair_init(&p, 0);
	uint8_t rsp1[MSG_CAP], rsp2[MSG_CAP], req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
	size_t rsp1_len, rsp2_len, req_len, rsp_len, plen;
	full_exchange(&p, 1, rsp1, &rsp1_len);
	full_exchange(&p, 2, rsp2, &rsp2_len);
	sa_error err;

	/* Replay: the second request is answered with the first response. */
	pair_init(&p, 0);
	full_exchange(&p, 1, NULL, NULL);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 2);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp1, rsp1_len, pt, sizeof(pt), &plen, &err), SA_ERR_VERIFY);
	assert_msg_has(&err, "response MSG_SEQNO 2, expected 4");
	assert_true(p.ch.seqno == 2);
	assert_disabled(&p.ch);
	/* The genuine response arriving afterwards is refused too. */
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, sizeof(pt), &plen, &err), SA_ERR_STATE);

	/* Reorder: the first request is answered with the second response. */
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp2, rsp2_len, pt, sizeof(pt), &plen, &err), SA_ERR_VERIFY);
	assert_msg_has(&err, "response MSG_SEQNO 4, expected 2");
	assert_disabled(&p.ch);

	/* Substitution: a response to a different request type at the same sequence number (another
	 * session under the same key, e.g. after a rollback) is refused by MSG_TYPE. */
	struct pair q;
	pair_init(&q, 0);
	uint8_t kq[SA_KEY_REQ_SIZE], kr[SA_KEY_RSP_SIZE] = {0}, got[MSG_CAP], key_rsp[MSG_CAP];
	size_t key_rsp_len, glen;
	sa_key_req k;
	memset(&k, 0, sizeof(k));
	size_t kql;
	assert_int_equal(sa_key_req_encode(&k, kq, sizeof(kq), &kql, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_request(&q.ch, SA_MSG_KEY_REQ, 1, kq, kql, req, sizeof(req), &req_len, NULL),
			 SA_OK);
	sa_gmsg_hdr h;
	uint32_t fw;
	assert_int_equal(sa_gmsg_psp_open_request(&q.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, NULL), SA_OK);
	assert_int_equal(sa_gmsg_psp_seal_response(&q.psp, &h, kr, sizeof(kr), key_rsp, sizeof(key_rsp), &key_rsp_len,
						   NULL),
			 SA_OK);
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, key_rsp, key_rsp_len, pt, sizeof(pt), &plen, &err),
			 SA_ERR_VERIFY);
	assert_msg_has(&err, "response MSG_TYPE 4 (MSG_KEY_RSP), expected 6 (MSG_REPORT_RSP)");
	assert_disabled(&p.ch);

	/* The guest's own request reflected back as a "response". */
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, req, req_len, pt, sizeof(pt), &plen, &err), SA_ERR_VERIFY);
	assert_msg_has(&err, "MSG_SEQNO 1, expected 2");
	assert_disabled(&p.ch);
}

static void hv_oversize_and_truncated(void **state)
{
	(void)state;
	struct pair p;
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
	size_t req_len, rsp_len, plen;
	sa_error err;

	/* MSG_SZ larger than the caller's buffer (the driver's msg_sz + authsize > buffer). */
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, SA_REPORT_RSP_SIZE - 1, &plen, &err),
			 SA_ERR_VERIFY);
	assert_msg_has(&err, "MSG_SZ 1216 exceeds the caller's 1215-byte payload buffer");
	assert_disabled(&p.ch);

	/* An authentic but oversized answer from the PSP (4000 bytes) against a 0x4C0 buffer. */
	pair_init(&p, 0);
	uint8_t rq[SA_REPORT_REQ_SIZE], big[SA_GMSG_MAX_PAYLOAD] = {0}, got[MSG_CAP];
	report_req_bytes(rq, 1);
	guest_request(&p.ch, rq, req, &req_len);
	sa_gmsg_hdr h;
	size_t glen;
	uint32_t fw;
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, NULL), SA_OK);
	assert_int_equal(sa_gmsg_psp_seal_response(&p.psp, &h, big, sizeof(big), rsp, sizeof(rsp), &rsp_len, NULL),
			 SA_OK);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, SA_REPORT_RSP_SIZE, &plen, &err),
			 SA_ERR_VERIFY);
	assert_msg_has(&err, "MSG_SZ 4000 exceeds");
	assert_disabled(&p.ch);

	/* Every truncation of a good response. */
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	for (size_t len = 0; len < rsp_len; len++) {
		sa_gmsg_channel ch;
		uint8_t again[MSG_CAP];
		size_t again_len;
		assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, 0, NULL), SA_OK);
		guest_request(&ch, rq, again, &again_len);
		assert_int_equal(sa_gmsg_channel_response(&ch, rsp, len, pt, sizeof(pt), &plen, &err), SA_ERR_VERIFY);
		assert_msg_has(&err, len < SA_GMSG_HDR_SIZE ? "header" : "carries only");
		assert_disabled(&ch);
	}
}

static void transport_failure_disables(void **state)
{
	(void)state;
	struct pair p;
	uint8_t req[MSG_CAP];
	size_t req_len;
	uint8_t rq[SA_REPORT_REQ_SIZE];
	report_req_bytes(rq, 1);
	pair_init(&p, 0);
	guest_request(&p.ch, rq, req, &req_len);
	sa_gmsg_channel_fail(&p.ch, "VMM error 2 (BUSY) past the retry limit");
	assert_string_equal(p.ch.disabled_reason, "VMM error 2 (BUSY) past the retry limit");
	assert_disabled(&p.ch);
	/* A second failure keeps the first reason. */
	sa_gmsg_channel_fail(&p.ch, "later");
	assert_string_equal(p.ch.disabled_reason, "VMM error 2 (BUSY) past the retry limit");
}

static void psp_refuses_bad_requests(void **state)
{
	(void)state;
	struct pair p;
	uint8_t req[MSG_CAP], rsp[MSG_CAP], got[MSG_CAP];
	size_t req_len, rsp_len, glen;
	sa_gmsg_hdr h;
	uint32_t fw;
	sa_error err;

	/* Replayed request: INVALID_PARAM, counter unchanged. */
	pair_init(&p, 0);
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	assert_true(p.psp.seqno == 2);
	fw = 0;
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, &err),
			 SA_ERR_VERIFY);
	assert_int_equal(fw, SA_FW_INVALID_PARAM);
	assert_msg_has(&err, "INVALID_PARAM");
	assert_msg_has(&err, "MSG_SEQNO 1, expected 3: replayed");
	assert_true(p.psp.seqno == 2);
	/* Sealing a second response to the same request (IV seqno 2 again) is refused. */
	h.msg_seqno = 1;
	assert_int_equal(sa_gmsg_psp_seal_response(&p.psp, &h, got, 16, rsp, sizeof(rsp), &rsp_len, &err),
			 SA_ERR_STATE);
	assert_true(p.psp.seqno == 2);

	/* Wrong key. */
	pair_init(&p, 0);
	p.psp.vmpck[5] ^= 0x40;
	uint8_t rq[SA_REPORT_REQ_SIZE];
	report_req_bytes(rq, 1);
	guest_request(&p.ch, rq, req, &req_len);
	memset(got, 0xEE, sizeof(got));
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, &err),
			 SA_ERR_VERIFY);
	assert_int_equal(fw, SA_FW_INVALID_PARAM);
	assert_msg_has(&err, "does not authenticate");
	assert_true(p.psp.seqno == 0);
	assert_int_equal(got[0], 0xEE);

	/* A request that skips ahead. */
	pair_init(&p, 0);
	p.ch.seqno = 2;
	guest_request(&p.ch, rq, req, &req_len);
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, &err),
			 SA_ERR_VERIFY);
	assert_int_equal(fw, SA_FW_INVALID_PARAM);
	assert_msg_has(&err, "MSG_SEQNO 3, expected 1: skips ahead");
	assert_true(p.psp.seqno == 0);

	/* Another VMPCK's id. */
	pair_init(&p, 0);
	assert_int_equal(sa_gmsg_channel_init(&p.ch, KEY, 1, 0, NULL), SA_OK);
	guest_request(&p.ch, rq, req, &req_len);
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, &err),
			 SA_ERR_VERIFY);
	assert_msg_has(&err, "MSG_VMPCK 1, expected 0");

	/* MSG_SEQNO 0 (patched in; the tag would fail too, but the header check names it first). */
	pair_init(&p, 0);
	guest_request(&p.ch, rq, req, &req_len);
	req[0x20] = 0;
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, &err),
			 SA_ERR_VERIFY);
	assert_msg_has(&err, "MSG_SEQNO 0 is never valid");

	/* Every bit of a request: refused with INVALID_PARAM (counter unchanged) unless unauthenticated. */
	pair_init(&p, 0);
	guest_request(&p.ch, rq, req, &req_len);
	for (size_t bit = 0; bit < req_len * 8; bit++) {
		size_t off = bit / 8;
		uint8_t m[MSG_CAP];
		memcpy(m, req, req_len);
		m[off] ^= (uint8_t)(1u << (bit % 8));
		sa_gmsg_psp_ctx psp = p.psp;
		fw = 0xFF;
		sa_status st = sa_gmsg_psp_open_request(&psp, m, req_len, &h, got, sizeof(got), &glen, &fw, &err);
		bool unauthenticated = (off >= 0x10 && off < 0x20) || (off >= 0x28 && off < 0x30);
		if (unauthenticated) {
			assert_int_equal(st, SA_OK);
			assert_int_equal(fw, SA_FW_SUCCESS);
			continue;
		}
		if (st == SA_OK)
			fail_msg("request bit %zu (offset 0x%zx) accepted", bit, off);
		assert_int_equal(fw, SA_FW_INVALID_PARAM);
		assert_true(psp.seqno == 0);
	}
	/* A truncated request. */
	for (size_t len = 0; len < req_len; len++) {
		sa_gmsg_psp_ctx psp = p.psp;
		assert_int_not_equal(sa_gmsg_psp_open_request(&psp, req, len, &h, got, sizeof(got), &glen, &fw, &err),
				     SA_OK);
		assert_int_equal(fw, SA_FW_INVALID_PARAM);
	}
}

/* Record every sealed (key, seqno): requests and responses share one key, so seqnos must never repeat. */
static void no_iv_reuse_over_a_long_exchange(void **state)
{
	(void)state;
	enum { N = 1500 };
	static uint8_t used[2 * N + 2];
	memset(used, 0, sizeof(used));
	struct pair p;
	pair_init(&p, 0);
	for (unsigned i = 0; i < N; i++) {
		uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
		size_t req_len, rsp_len, plen;
		exchange_to_response(&p, req, &req_len, rsp, &rsp_len, i);
		sa_gmsg_hdr hq, hr;
		assert_int_equal(sa_gmsg_hdr_decode(req, req_len, &hq, NULL), SA_OK);
		assert_int_equal(sa_gmsg_hdr_decode(rsp, rsp_len, &hr, NULL), SA_OK);
		assert_true(hq.msg_seqno >= 1 && hq.msg_seqno < sizeof(used));
		assert_true(hr.msg_seqno >= 1 && hr.msg_seqno < sizeof(used));
		if (used[hq.msg_seqno]++ || used[hr.msg_seqno]++)
			fail_msg("IV (seqno) reused at exchange %u", i);
		assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, sizeof(pt), &plen, NULL), SA_OK);
	}
	for (size_t s = 1; s <= 2 * N; s++)
		assert_int_equal(used[s], 1);
	assert_true(p.ch.seqno == 2 * N && p.psp.seqno == 2 * N);

	/* After a failure the guest seals nothing more (assert_disabled checks the output stays untouched). */
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
	size_t req_len, rsp_len, plen;
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	rsp[0x70] ^= 1;
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, sizeof(pt), &plen, NULL), SA_ERR_VERIFY);
	assert_disabled(&p.ch);
	assert_true(p.ch.seqno == 2 * N); /* the counter did not move past the failed exchange */
}

static void channel_limits(void **state)
{
	(void)state;
	sa_gmsg_channel ch;
	uint8_t out[MSG_CAP], payload[8] = {1};
	size_t len;
	sa_error err;

	assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 4, 0, &err), SA_ERR_ARG);
	uint8_t zero[32] = {0};
	assert_int_equal(sa_gmsg_channel_init(&ch, zero, 0, 0, &err), SA_ERR_ARG);

	/* Re-initialising from the channel's own key (the source is inside the channel). */
	assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, 5, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_init(&ch, ch.vmpck, 0, 5, &err), SA_OK);
	assert_memory_equal(ch.vmpck, KEY, sizeof(KEY));

	/* A counter whose successor wraps to 0. */
	assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, UINT64_MAX, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_request(&ch, 5, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_RANGE);
	assert_msg_has(&err, "wrap to 0");
	/* The kernel's 32-bit limit. */
	assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, 0xFFFFFFFEu, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_request(&ch, 5, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_RANGE);
	assert_msg_has(&err, "4294967295");
	assert_false(ch.pending);
	assert_int_equal(sa_gmsg_channel_init(&ch, KEY, 0, 1ull << 32, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_request(&ch, 5, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_RANGE);

	/* The last usable exchange: request 0xFFFFFFFE, response 0xFFFFFFFF, then no more. */
	struct pair p;
	pair_init(&p, 0xFFFFFFFDu);
	full_exchange(&p, 1, NULL, NULL);
	assert_true(p.ch.seqno == 0xFFFFFFFFu);
	assert_int_equal(sa_gmsg_channel_request(&p.ch, 5, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_RANGE);
	assert_false(p.ch.disabled);

	/* One request at a time; a response needs a request. */
	pair_init(&p, 0);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, out, sizeof(out), out, sizeof(out), &len, &err), SA_ERR_STATE);
	assert_msg_has(&err, "no request is pending");
	assert_false(p.ch.disabled);
	uint8_t req[MSG_CAP], rsp[MSG_CAP], pt[MSG_CAP];
	size_t req_len, rsp_len, plen;
	exchange_to_response(&p, req, &req_len, rsp, &rsp_len, 1);
	memset(out, 0xCC, sizeof(out));
	assert_int_equal(sa_gmsg_channel_request(&p.ch, 5, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_STATE);
	assert_msg_has(&err, "MSG_SEQNO 1 still awaits its response");
	assert_int_equal(out[0x20], 0xCC);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, sizeof(pt), &plen, &err), SA_OK);

	/* Arguments the channel refuses without changing state. */
	assert_int_equal(sa_gmsg_channel_request(&p.ch, 5, 0, payload, 8, out, sizeof(out), &len, &err), SA_ERR_ARG);
	assert_msg_has(&err, "MSG_VERSION 0");
	assert_int_equal(sa_gmsg_channel_request(&p.ch, 255, 1, payload, 8, out, sizeof(out), &len, &err), SA_ERR_ARG);
	assert_int_equal(sa_gmsg_channel_request(&p.ch, 5, 1, payload, 8, out, 0x60 + 7, &len, &err), SA_ERR_RANGE);
	assert_false(p.ch.pending);
	assert_false(p.ch.disabled);
	full_exchange(&p, 2, NULL, NULL);
	assert_true(p.ch.seqno == 4);
}

/* ---- payloads ------------------------------------------------------------------- */

static void report_req_codec(void **state)
{
	(void)state;
	uint8_t buf[SA_REPORT_REQ_SIZE + 1] = {0};
	fill(buf, 64, 3);
	buf[0x40] = 2;    /* VMPL */
	buf[0x44] = 2;    /* KEY_SEL VLEK */
	sa_report_req r;
	sa_error err;
	assert_int_equal(sa_report_req_decode(buf, SA_REPORT_REQ_SIZE, &r, &err), SA_OK);
	assert_memory_equal(r.report_data, buf, 64);
	assert_int_equal(r.vmpl, 2);
	assert_int_equal(r.key_sel, 2);
	uint8_t out[SA_REPORT_REQ_SIZE];
	assert_int_equal(sa_report_req_encode(&r, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_REPORT_REQ_SIZE);
	for (size_t len = 0; len < SA_REPORT_REQ_SIZE; len++)
		assert_int_equal(sa_report_req_decode(buf, len, &r, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_report_req_decode(buf, SA_REPORT_REQ_SIZE + 1, &r, &err), SA_ERR_TRAILING);
	/* MBZ: bits 31:2 of the word at 0x44 and every reserved byte. */
	for (unsigned bit = 2; bit < 32; bit++) {
		uint8_t b[SA_REPORT_REQ_SIZE];
		memcpy(b, buf, sizeof(b));
		b[0x44 + bit / 8] |= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sa_report_req_decode(b, sizeof(b), &r, &err), SA_ERR_FORMAT);
		assert_msg_has(&err, "bits 31:2 are reserved");
	}
	for (size_t off = 0x48; off < SA_REPORT_REQ_SIZE; off++) {
		uint8_t b[SA_REPORT_REQ_SIZE];
		char name[32];
		memcpy(b, buf, sizeof(b));
		b[off] = 0x10;
		assert_int_equal(sa_report_req_decode(b, sizeof(b), &r, &err), SA_ERR_FORMAT);
		snprintf(name, sizeof(name), "reserved byte 0x%02zX", off);
		assert_msg_has(&err, name);
	}
	buf[0x44] = 3;
	assert_int_equal(sa_report_req_decode(buf, SA_REPORT_REQ_SIZE, &r, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "KEY_SEL is 3 (reserved)");
	/* The encoder refuses what the decoder refuses. */
	memset(&r, 0, sizeof(r));
	r.key_sel = 3;
	assert_int_equal(sa_report_req_encode(&r, out, &err), SA_ERR_RANGE);
	r.key_sel = 4;
	assert_int_equal(sa_report_req_encode(&r, out, &err), SA_ERR_RANGE);
	r.key_sel = 0;
	r.reserved[23] = 1;
	assert_int_equal(sa_report_req_encode(&r, out, &err), SA_ERR_RANGE);
	assert_msg_has(&err, "0x5F");
}

static void report_rsp_codec(void **state)
{
	(void)state;
	uint8_t buf[SA_GMSG_MAX_PAYLOAD + 1] = {0};
	report_rsp_bytes(buf, 5);
	buf[0x08] = 0x42; /* reserved bytes of a response are carried, not checked */
	sa_report_rsp r;
	sa_error err;
	assert_int_equal(sa_report_rsp_decode(buf, SA_REPORT_RSP_SIZE, &r, &err), SA_OK);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.report_size, 0x4A0);
	assert_int_equal(r.reserved[0], 0x42);
	assert_memory_equal(r.report, buf + 0x20, SA_SNP_REPORT_SIZE);
	uint8_t out[SA_REPORT_RSP_SIZE];
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_REPORT_RSP_SIZE);
	for (size_t len = 0; len < SA_REPORT_RSP_SIZE; len++)
		assert_int_equal(sa_report_rsp_decode(buf, len, &r, &err), SA_ERR_TRUNCATED);
	/* Zero padding up to a whole payload (the uapi buffer) is accepted; anything else is not. */
	assert_int_equal(sa_report_rsp_decode(buf, SA_GMSG_MAX_PAYLOAD, &r, &err), SA_OK);
	assert_int_equal(sa_report_rsp_decode(buf, SA_GMSG_MAX_PAYLOAD + 1, &r, &err), SA_ERR_TRAILING);
	buf[SA_REPORT_RSP_SIZE + 3] = 1;
	assert_int_equal(sa_report_rsp_decode(buf, SA_GMSG_MAX_PAYLOAD, &r, &err), SA_ERR_TRAILING);
	assert_msg_has(&err, "byte 0x4C3 is 0x01");
	buf[SA_REPORT_RSP_SIZE + 3] = 0;

	/* STATUS SUCCESS needs the report. */
	buf[4] = 0;
	buf[5] = 0;
	assert_int_equal(sa_report_rsp_decode(buf, SA_REPORT_RSP_SIZE, &r, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "REPORT_SIZE is 0x0 with STATUS SUCCESS, expected 0x4A0");
	/* An error status without a report: just the 0x20 bytes, or zero padding after them. */
	uint8_t e[SA_REPORT_RSP_SIZE] = {0};
	e[0] = SA_FW_INVALID_PARAM;
	assert_int_equal(sa_report_rsp_decode(e, 0x20, &r, &err), SA_OK);
	assert_int_equal(r.status, SA_FW_INVALID_PARAM);
	assert_int_equal(r.report_size, 0);
	assert_true(sa_all_zero(r.report, sizeof(r.report)));
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_OK);
	assert_memory_equal(out, e, sizeof(e));
	assert_int_equal(sa_report_rsp_decode(e, sizeof(e), &r, &err), SA_OK);
	e[4] = 0x10;
	assert_int_equal(sa_report_rsp_decode(e, sizeof(e), &r, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "REPORT_SIZE is 0x10 with STATUS 0x16 (INVALID_PARAM), expected 0 or 0x4A0");
	for (size_t len = 0; len < 0x20; len++)
		assert_int_equal(sa_report_rsp_decode(e, len, &r, &err), SA_ERR_TRUNCATED);
	/* The encoder refuses a report it could not decode back. */
	memset(&r, 0, sizeof(r));
	r.status = SA_FW_INVALID_KEY;
	r.report[7] = 1;
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_ERR_ARG);
	r.report_size = 0x4A0;
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_OK);
	r.status = 0;
	r.report_size = 0;
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_ERR_RANGE);
}

static void key_req_codec(void **state)
{
	(void)state;
	uint8_t buf[SA_KEY_REQ_SIZE_MIT + 1] = {0};
	buf[0x00] = 0x05;                 /* ROOT_KEY_SELECT 1, KEY_SEL 2 */
	buf[0x08] = 0x7F;                 /* GUEST_FIELD_SELECT: every defined bit */
	buf[0x10] = 1;                    /* VMPL */
	buf[0x14] = 9;                    /* GUEST_SVN */
	fill(buf + 0x18, 8, 0x33);        /* TCB_VERSION */
	fill(buf + 0x20, 8, 0x44);        /* LAUNCH_MIT_VECTOR */
	sa_key_req k;
	sa_error err;
	uint8_t out[SA_KEY_REQ_SIZE_MIT];
	size_t olen;
	for (int mit = 0; mit <= 1; mit++) {
		size_t size = mit ? SA_KEY_REQ_SIZE_MIT : SA_KEY_REQ_SIZE;
		assert_int_equal(sa_key_req_decode(buf, size, &k, &err), SA_OK);
		assert_int_equal(k.root_key_select, 1);
		assert_int_equal(k.key_sel, 2);
		assert_true(k.guest_field_select == 0x7F);
		assert_int_equal(k.vmpl, 1);
		assert_int_equal(k.guest_svn, 9);
		assert_true(k.tcb_version == sa_le64(buf + 0x18));
		assert_int_equal(k.has_launch_mit_vector, mit);
		assert_true(k.launch_mit_vector == (mit ? sa_le64(buf + 0x20) : 0));
		assert_int_equal(sa_key_req_encode(&k, out, size - 1, &olen, &err), SA_ERR_RANGE);
		assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_OK);
		assert_int_equal(olen, size);
		assert_memory_equal(out, buf, size);
	}
	for (size_t len = 0; len <= SA_KEY_REQ_SIZE_MIT + 1; len++) {
		if (len == SA_KEY_REQ_SIZE || len == SA_KEY_REQ_SIZE_MIT)
			continue;
		assert_int_equal(sa_key_req_decode(buf, len, &k, &err),
				 len > SA_KEY_REQ_SIZE_MIT ? SA_ERR_TRAILING : SA_ERR_TRUNCATED);
	}
	/* MBZ: bits 31:3 of word 0, the reserved word at 4, GUEST_FIELD_SELECT bits 63:7. */
	for (unsigned bit = 3; bit < 32; bit++) {
		uint8_t b[SA_KEY_REQ_SIZE];
		memcpy(b, buf, sizeof(b));
		b[bit / 8] |= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sa_key_req_decode(b, sizeof(b), &k, &err), SA_ERR_FORMAT);
		assert_msg_has(&err, "bits 31:3 are reserved");
	}
	for (unsigned bit = 0; bit < 32; bit++) {
		uint8_t b[SA_KEY_REQ_SIZE];
		memcpy(b, buf, sizeof(b));
		b[4 + bit / 8] |= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sa_key_req_decode(b, sizeof(b), &k, &err), SA_ERR_FORMAT);
		assert_msg_has(&err, "reserved word at 0x04");
	}
	for (unsigned bit = 7; bit < 64; bit++) {
		uint8_t b[SA_KEY_REQ_SIZE];
		memcpy(b, buf, sizeof(b));
		b[8 + bit / 8] |= (uint8_t)(1u << (bit % 8));
		assert_int_equal(sa_key_req_decode(b, sizeof(b), &k, &err), SA_ERR_FORMAT);
		assert_msg_has(&err, "GUEST_FIELD_SELECT");
		assert_msg_has(&err, "bits 63:7");
	}
	buf[0] = 0x06; /* KEY_SEL 3 */
	assert_int_equal(sa_key_req_decode(buf, SA_KEY_REQ_SIZE, &k, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "KEY_SEL is 3 (reserved)");
	/* The encoder refuses what it cannot represent. */
	memset(&k, 0, sizeof(k));
	k.root_key_select = 2;
	assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_ERR_RANGE);
	k.root_key_select = 0;
	k.key_sel = 3;
	assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_ERR_RANGE);
	k.key_sel = 0;
	k.guest_field_select = 0x80;
	assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_ERR_RANGE);
	k.guest_field_select = 0;
	k.launch_mit_vector = 1;
	assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_ERR_ARG);
	k.launch_mit_vector = 0;
	k.reserved_04 = 1;
	assert_int_equal(sa_key_req_encode(&k, out, sizeof(out), &olen, &err), SA_ERR_RANGE);
}

static void key_rsp_codec(void **state)
{
	(void)state;
	uint8_t buf[SA_KEY_RSP_SIZE + 1];
	fill(buf, sizeof(buf), 11);
	sa_key_rsp k;
	sa_error err;
	assert_int_equal(sa_key_rsp_decode(buf, SA_KEY_RSP_SIZE, &k, &err), SA_OK);
	assert_int_equal(k.status, buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24);
	assert_memory_equal(k.reserved, buf + 4, 28);
	assert_memory_equal(k.derived_key, buf + 0x20, 32);
	uint8_t out[SA_KEY_RSP_SIZE];
	assert_int_equal(sa_key_rsp_encode(&k, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_KEY_RSP_SIZE);
	for (size_t len = 0; len < SA_KEY_RSP_SIZE; len++)
		assert_int_equal(sa_key_rsp_decode(buf, len, &k, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_key_rsp_decode(buf, sizeof(buf), &k, &err), SA_ERR_TRAILING);
}

/* ---- real vectors ----------------------------------------------------------------- */

static void vector_report_rsp(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	assert_int_equal(
		tu_read_vector("LIT-Protocol-sev-snp-utils/resources/test/snp_report_msg_resp.bin", &buf, &len), 0);
	assert_int_equal(len, 4000);
	sa_report_rsp r;
	sa_error err;
	/* The payload proper. */
	if (sa_report_rsp_decode(buf, SA_REPORT_RSP_SIZE, &r, &err) != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(r.status, SA_FW_SUCCESS);
	assert_int_equal(r.report_size, SA_SNP_REPORT_SIZE);
	sa_snp_report rep;
	if (sa_snp_report_decode(r.report, sizeof(r.report), &rep, &err) != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(rep.version, 2);
	uint8_t out[SA_REPORT_RSP_SIZE];
	assert_int_equal(sa_report_rsp_encode(&r, out, &err), SA_OK);
	assert_memory_equal(out, buf, sizeof(out));
	/* The whole 4000-byte uapi buffer: the rest is zero padding, accepted with the same result. */
	sa_report_rsp whole;
	assert_int_equal(sa_report_rsp_decode(buf, len, &whole, &err), SA_OK);
	assert_memory_equal(&whole, &r, sizeof(r));
	/* And through a guest message round trip. */
	struct pair p;
	pair_init(&p, 0);
	uint8_t rq[SA_REPORT_REQ_SIZE], req[MSG_CAP], rsp[MSG_CAP], got[MSG_CAP], pt[MSG_CAP];
	size_t req_len, rsp_len, glen, plen;
	report_req_bytes(rq, 0);
	guest_request(&p.ch, rq, req, &req_len);
	sa_gmsg_hdr h;
	uint32_t fw;
	assert_int_equal(sa_gmsg_psp_open_request(&p.psp, req, req_len, &h, got, sizeof(got), &glen, &fw, NULL), SA_OK);
	assert_int_equal(sa_gmsg_psp_seal_response(&p.psp, &h, buf, len, rsp, sizeof(rsp), &rsp_len, NULL), SA_OK);
	assert_int_equal(sa_gmsg_channel_response(&p.ch, rsp, rsp_len, pt, sizeof(pt), &plen, NULL), SA_OK);
	assert_int_equal(plen, 4000);
	assert_int_equal(sa_report_rsp_decode(pt, plen, &whole, &err), SA_OK);
	free(buf);
}

static void vector_key_rsp(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *buf;
	size_t len;
	const char *name = "LIT-Protocol-sev-snp-utils/resources/test/snp_derived_key_msg_resp.bin";
	assert_int_equal(tu_read_vector(name, &buf, &len), 0);
	sa_key_rsp k;
	sa_error err;
	if (sa_key_rsp_decode(buf, len, &k, &err) != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(k.status, 0);
	assert_true(sa_all_zero(k.reserved, sizeof(k.reserved)));
	uint8_t want[32];
	tu_hex("c479fbdb80a40801a4bc42ab9865950f469e9ed1b0e81be482b857dbc57d1d3d", want, 32);
	assert_memory_equal(k.derived_key, want, 32);
	uint8_t out[SA_KEY_RSP_SIZE];
	assert_int_equal(sa_key_rsp_encode(&k, out, &err), SA_OK);
	assert_memory_equal(out, buf, SA_KEY_RSP_SIZE);
	free(buf);
}

/* ---- certificate table ----------------------------------------------------------- */

static void cert_guids(void **state)
{
	(void)state;
	struct {
		const uint8_t *g;
		const char *hex;
	} v[] = {
		{SA_CERT_GUID_ARK, "c0b406a4a803495297433fb6014cd0ae"},
		{SA_CERT_GUID_ASK, "4ab7b379bbac4fe4a02f05aef327c782"},
		{SA_CERT_GUID_VCEK, "63da758de6644564adc5f4b93be8accd"},
		{SA_CERT_GUID_VLEK, "a8074bc2a25a483eaae639c045a0b8a1"},
		{SA_CERT_GUID_CRL, "92f81bc358114d3d97ffd19f88dc67ea"},
	};
	for (size_t i = 0; i < ARRAY_LEN(v); i++) {
		uint8_t want[16];
		tu_hex(v[i].hex, want, 16);
		assert_memory_equal(v[i].g, want, 16);
	}
}

static void cert_table_codec(void **state)
{
	(void)state;
	uint8_t ark[100], ask[7], vcek[1];
	fill(ark, sizeof(ark), 1);
	fill(ask, sizeof(ask), 2);
	fill(vcek, sizeof(vcek), 3);
	sa_cert_table t;
	memset(&t, 0, sizeof(t));
	memcpy(t.e[0].guid, SA_CERT_GUID_ARK, 16);
	t.e[0].data = ark;
	t.e[0].len = sizeof(ark);
	memcpy(t.e[1].guid, SA_CERT_GUID_ASK, 16);
	t.e[1].data = ask;
	t.e[1].len = sizeof(ask);
	memcpy(t.e[2].guid, SA_CERT_GUID_VCEK, 16);
	t.e[2].data = vcek;
	t.e[2].len = sizeof(vcek);
	t.n = 3;
	size_t need;
	sa_error err;
	const size_t total = 4 * 24 + 108;
	/* Size query and too-small buffers set *needed. */
	assert_int_equal(sa_cert_table_encode(&t, NULL, 0, &need, &err), SA_ERR_RANGE);
	assert_int_equal(need, total);
	uint8_t buf[4096];
	memset(buf, 0xAB, sizeof(buf));
	assert_int_equal(sa_cert_table_encode(&t, buf, total - 1, &need, &err), SA_ERR_RANGE);
	assert_int_equal(need, total);
	assert_int_equal(sa_cert_table_encode(&t, buf, sizeof(buf), &need, &err), SA_OK);
	assert_int_equal(need, total);
	/* Layout: entries, terminator, packed blobs. */
	assert_memory_equal(buf, SA_CERT_GUID_ARK, 16);
	assert_int_equal(buf[16], 96);
	assert_int_equal(buf[20], 100);
	assert_int_equal(buf[24 + 16], 196);
	assert_int_equal(buf[48 + 16], 203);
	assert_true(sa_all_zero(buf + 72, 24));
	assert_memory_equal(buf + 96, ark, sizeof(ark));
	assert_int_equal(buf[total], 0xAB);

	sa_cert_table d;
	assert_int_equal(sa_cert_table_decode(buf, total, &d, &err), SA_OK);
	assert_int_equal(d.n, 3);
	const sa_cert_entry *e = sa_cert_table_find(&d, SA_CERT_GUID_ASK);
	assert_non_null(e);
	assert_int_equal(e->len, sizeof(ask));
	assert_memory_equal(e->data, ask, sizeof(ask));
	assert_ptr_equal(e->data, buf + 196);
	assert_null(sa_cert_table_find(&d, SA_CERT_GUID_VLEK));
	/* Decode then encode is byte-exact for a packed table. */
	uint8_t again[4096];
	assert_int_equal(sa_cert_table_encode(&d, again, sizeof(again), &need, &err), SA_OK);
	assert_memory_equal(again, buf, total);
	/* Trailing page bytes are fine; every truncation is not. */
	assert_int_equal(sa_cert_table_decode(buf, sizeof(buf), &d, &err), SA_OK);
	for (size_t len = 0; len < total; len++)
		assert_int_equal(sa_cert_table_decode(buf, len, &d, &err), SA_ERR_TRUNCATED);

	/* Empty table: just the terminator. */
	uint8_t z[24] = {0};
	assert_int_equal(sa_cert_table_decode(z, sizeof(z), &d, &err), SA_OK);
	assert_int_equal(d.n, 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(sa_cert_table_encode(&t, again, sizeof(again), &need, &err), SA_OK);
	assert_int_equal(need, 24);
	assert_true(sa_all_zero(again, 24));
}

static void put_entry(uint8_t *p, const uint8_t guid[16], uint32_t off, uint32_t len)
{
	memcpy(p, guid, 16);
	for (int i = 0; i < 4; i++) {
		p[16 + i] = (uint8_t)(off >> (8 * i));
		p[20 + i] = (uint8_t)(len >> (8 * i));
	}
}

static void cert_table_refusals(void **state)
{
	(void)state;
	uint8_t buf[2048] = {0};
	sa_cert_table d;
	sa_error err;
	/* Offset inside the table. */
	put_entry(buf, SA_CERT_GUID_VCEK, 24, 4);
	assert_int_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "63da758d-e664-4564-adc5-f4b93be8accd");
	assert_msg_has(&err, "inside the table");
	/* Past the buffer; and the overflow-prone extreme. */
	put_entry(buf, SA_CERT_GUID_VCEK, 48, 153);
	assert_int_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_ERR_TRUNCATED);
	assert_msg_has(&err, "past the 200-byte buffer");
	put_entry(buf, SA_CERT_GUID_VCEK, 48, 152);
	assert_int_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_OK);
	put_entry(buf, SA_CERT_GUID_VCEK, 0xFFFFFFFFu, 0xFFFFFFFFu);
	assert_int_not_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_OK);
	/* Null GUID with a non-zero length. */
	static const uint8_t null_guid[16];
	put_entry(buf, null_guid, 48, 1);
	assert_int_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "null GUID");
	/* The same GUID twice. */
	put_entry(buf, SA_CERT_GUID_ARK, 72, 1);
	put_entry(buf + 24, SA_CERT_GUID_ARK, 73, 1);
	assert_int_equal(sa_cert_table_decode(buf, 200, &d, &err), SA_ERR_FORMAT);
	assert_msg_has(&err, "both have GUID c0b406a4-a803-4952-9743-3fb6014cd0ae");
	/* No terminator. */
	memset(buf, 0, sizeof(buf));
	put_entry(buf, SA_CERT_GUID_ARK, 24, 0);
	assert_int_equal(sa_cert_table_decode(buf, 24, &d, &err), SA_ERR_TRUNCATED);
	assert_msg_has(&err, "terminating entry");
	/* 16 entries are fine, 17 are not. */
	memset(buf, 0, sizeof(buf));
	for (unsigned i = 0; i < 17; i++) {
		uint8_t g[16];
		memcpy(g, SA_CERT_GUID_CRL, 16);
		g[15] = (uint8_t)i;
		put_entry(buf + 24 * i, g, 18 * 24, 0);
	}
	assert_int_equal(sa_cert_table_decode(buf, sizeof(buf), &d, &err), SA_ERR_RANGE);
	assert_msg_has(&err, "more than 16 entries");
	memset(buf + 16 * 24, 0, 24);
	for (unsigned i = 0; i < 16; i++) {
		uint8_t g[16];
		memcpy(g, SA_CERT_GUID_CRL, 16);
		g[15] = (uint8_t)i;
		put_entry(buf + 24 * i, g, 17 * 24, 1);
	}
	assert_int_equal(sa_cert_table_decode(buf, sizeof(buf), &d, &err), SA_OK);
	assert_int_equal(d.n, 16);
	/* The encoder refuses null or repeated GUIDs and more than 16 entries. */
	sa_cert_table t;
	memset(&t, 0, sizeof(t));
	t.n = 1;
	size_t need;
	uint8_t out[256];
	assert_int_equal(sa_cert_table_encode(&t, out, sizeof(out), &need, &err), SA_ERR_ARG);
	memcpy(t.e[0].guid, SA_CERT_GUID_ARK, 16);
	memcpy(t.e[1].guid, SA_CERT_GUID_ARK, 16);
	t.n = 2;
	assert_int_equal(sa_cert_table_encode(&t, out, sizeof(out), &need, &err), SA_ERR_ARG);
	t.n = SA_CERT_TABLE_MAX + 1;
	assert_int_equal(sa_cert_table_encode(&t, out, sizeof(out), &need, &err), SA_ERR_RANGE);
}

/* ---- secrets page ------------------------------------------------------------------ */

static void secrets_page_bytes(uint8_t page[SA_SECRETS_PAGE_SIZE], uint32_t version)
{
	memset(page, 0, SA_SECRETS_PAGE_SIZE);
	page[0] = (uint8_t)version;
	page[4] = 1;                             /* IMI_EN */
	page[8] = 0x11;                          /* FMS */
	page[9] = 0x0F;
	page[10] = 0xA0;
	fill(page + 0x10, 16, 0x10);             /* GOSVW */
	for (int i = 0; i < 4; i++)
		fill(page + 0x20 + 32 * i, 32, (unsigned)(0x80 + i)); /* VMPCK0..3 */
	page[0xA0] = 7;                          /* msg_seqno_0 */
	fill(page + 0x100, 64, 0x21);            /* VMSA_TWEAK_BITMAP */
	page[0x160] = 0x34;                      /* TSC_FACTOR */
	page[0x161] = 0x12;
}

static void secrets_page_codec(void **state)
{
	(void)state;
	static uint8_t page[SA_SECRETS_PAGE_SIZE + 1];
	static sa_secrets_page p;
	static uint8_t out[SA_SECRETS_PAGE_SIZE];
	sa_error err;
	for (uint32_t version = 2; version <= 4; version++) {
		secrets_page_bytes(page, version);
		assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &p, &err), SA_OK);
		assert_int_equal(p.version, version);
		assert_int_equal(p.imi_en, 1);
		assert_int_equal(p.fms, 0xA00F11);
		assert_memory_equal(p.gosvw, page + 0x10, 16);
		for (int i = 0; i < 4; i++)
			assert_memory_equal(p.vmpck[i], page + 0x20 + 32 * i, 32);
		assert_int_equal(p.guest_os_area[0], 7);
		assert_memory_equal(p.vmsa_tweak_bitmap, page + 0x100, 64);
		assert_int_equal(p.tsc_factor, 0x1234);
		assert_int_equal(sa_secrets_page_encode(&p, out, &err), SA_OK);
		assert_memory_equal(out, page, SA_SECRETS_PAGE_SIZE);
	}
	/* Every byte has a home: a page of arbitrary bytes round-trips. */
	fill(page, SA_SECRETS_PAGE_SIZE, 99);
	page[0] = 3;
	page[1] = page[2] = page[3] = 0;
	assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &p, &err), SA_OK);
	assert_int_equal(sa_secrets_page_encode(&p, out, &err), SA_OK);
	assert_memory_equal(out, page, SA_SECRETS_PAGE_SIZE);
	/* Wipe clears the four keys and nothing else. */
	sa_secrets_page_wipe(&p);
	assert_true(sa_all_zero(p.vmpck, sizeof(p.vmpck)));
	assert_memory_equal(p.gosvw, page + 0x10, 16);
	for (uint32_t version = 0; version < 2; version++) {
		secrets_page_bytes(page, version);
		assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &p, &err), SA_ERR_UNSUPPORTED);
		assert_msg_has(&err, "VERSION");
	}
	secrets_page_bytes(page, 3);
	for (size_t len = 0; len < SA_SECRETS_PAGE_SIZE; len++)
		assert_int_equal(sa_secrets_page_decode(page, len, &p, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE + 1, &p, &err), SA_ERR_TRAILING);
	memset(&p, 0, sizeof(p));
	p.version = 1;
	assert_int_equal(sa_secrets_page_encode(&p, out, &err), SA_ERR_UNSUPPORTED);
	/* A channel from the page's VMPCK0 and counter talks to a PSP holding the same key. */
	secrets_page_bytes(page, 3);
	assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &p, &err), SA_OK);
	sa_gmsg_channel ch;
	assert_int_equal(sa_gmsg_channel_init(&ch, p.vmpck[0], 0, p.guest_os_area[0], &err), SA_OK);
	sa_secrets_page_wipe(&p);
	assert_true(ch.seqno == 7);
	sa_gmsg_channel_wipe(&ch);
	assert_true(sa_all_zero(ch.vmpck, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(header_round_trip_and_offsets),
		cmocka_unit_test(known_answer),
		cmocka_unit_test(seal_open_refusals),
		cmocka_unit_test(good_exchange_advances_counters),
		cmocka_unit_test(hv_flips_every_response_bit),
		cmocka_unit_test(hv_replays_and_reorders),
		cmocka_unit_test(hv_oversize_and_truncated),
		cmocka_unit_test(transport_failure_disables),
		cmocka_unit_test(psp_refuses_bad_requests),
		cmocka_unit_test(no_iv_reuse_over_a_long_exchange),
		cmocka_unit_test(channel_limits),
		cmocka_unit_test(report_req_codec),
		cmocka_unit_test(report_rsp_codec),
		cmocka_unit_test(key_req_codec),
		cmocka_unit_test(key_rsp_codec),
		cmocka_unit_test(vector_report_rsp),
		cmocka_unit_test(vector_key_rsp),
		cmocka_unit_test(cert_guids),
		cmocka_unit_test(cert_table_codec),
		cmocka_unit_test(cert_table_refusals),
		cmocka_unit_test(secrets_page_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
