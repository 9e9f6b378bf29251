/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the guest message protocol: both ends' decoders on
 * arbitrary bytes.
 *
 * The input is fed, whole, to:
 *  - sa_gmsg_hdr_decode: a header that decodes re-encodes to the input's first 0x60 bytes;
 *  - sa_gmsg_open under a fixed key: what opens re-seals to the same bytes, apart from
 *    the ones the tag does not cover (AUTHTAG[16..31], reserved 0x28..0x2F);
 *  - a fresh guest channel (same key, counter 0) with a MSG_REPORT_REQ pending, as the
 *    response: on success the counter is 2 and the payload is MSG_SZ bytes; on failure the
 *    key is all zero, the channel disabled and the next request refused;
 *  - sa_gmsg_psp_open_request with a fixed PSP context (counter 0): on success the counter
 *    is the request's seqno (1) and the status SUCCESS; otherwise INVALID_PARAM, counter 0;
 *  - the payload codecs (report and key requests and responses, secrets page): what decodes
 *    re-encodes to exactly the input (the report response: to its first 0x4C0 bytes, the
 *    rest being zero padding);
 *  - sa_cert_table_decode: every blob lies inside the input, and re-encoding then decoding
 *    gives the same entries.
 * abort() on a violated property, so libFuzzer records a crash.
 *
 * Seeds that reach past the tag check are messages sealed under FUZZ_KEY below (seqno 2,
 * MSG_REPORT_RSP, version 1, VMPCK0 for the channel; seqno 1, MSG_REPORT_REQ for the PSP).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/guest_msg.h"
#include "sevattest/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "fuzz_guest_msg: property violated: %s (%s:%d)\n", #cond, __FILE__,   \
				__LINE__);                                                                     \
			abort();                                                                               \
		}                                                                                              \
	} while (0)

/* 00 01 02 .. 1f */
static const uint8_t FUZZ_KEY[SA_VMPCK_LEN] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
					       0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
					       0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static uint8_t payload[SA_GMSG_PAGE_SIZE];
static uint8_t msg[SA_GMSG_PAGE_SIZE + 64];

static int unauthenticated(size_t off)
{
	return (off >= 0x10 && off < 0x20) || (off >= 0x28 && off < 0x30);
}

static void check_header(const uint8_t *data, size_t size)
{
	sa_gmsg_hdr h;
	sa_error err;
	if (sa_gmsg_hdr_decode(data, size, &h, &err) != SA_OK) {
		CHECK(size < SA_GMSG_HDR_SIZE);
		return;
	}
	uint8_t out[SA_GMSG_HDR_SIZE];
	CHECK(sa_gmsg_hdr_encode(&h, out, &err) == SA_OK);
	CHECK(memcmp(out, data, SA_GMSG_HDR_SIZE) == 0);
}

static void check_open(const uint8_t *data, size_t size)
{
	sa_gmsg_hdr h;
	sa_error err;
	size_t plen = 12345;
	memset(payload, 0xEE, sizeof(payload));
	if (sa_gmsg_open(FUZZ_KEY, data, size, &h, payload, sizeof(payload), &plen, &err) != SA_OK) {
		CHECK(plen == 0);
		CHECK(err.msg[0] != '\0');
		for (size_t i = 0; i < sizeof(payload); i++)
			CHECK(payload[i] == 0xEE);
		return;
	}
	CHECK(plen == h.msg_sz && SA_GMSG_HDR_SIZE + plen <= size);
	if (h.msg_seqno == 0 || h.msg_vmpck >= SA_VMPCK_COUNT)
		return; /* authentic, but seal refuses these */
	size_t len;
	CHECK(sa_gmsg_seal(FUZZ_KEY, h.msg_seqno, h.msg_type, h.msg_version, h.msg_vmpck, payload, plen, msg,
			   sizeof(msg), &len, &err) == SA_OK);
	CHECK(len == SA_GMSG_HDR_SIZE + plen);
	for (size_t i = 0; i < len; i++)
		CHECK(unauthenticated(i) || msg[i] == data[i]);
}

static void check_channel(const uint8_t *data, size_t size)
{
	static const uint8_t req[SA_REPORT_REQ_SIZE]; /* all zero: a valid MSG_REPORT_REQ */
	sa_gmsg_channel ch;
	sa_error err;
	size_t len, plen = 12345;
	CHECK(sa_gmsg_channel_init(&ch, FUZZ_KEY, 0, 0, &err) == SA_OK);
	CHECK(sa_gmsg_channel_request(&ch, SA_MSG_REPORT_REQ, 1, req, sizeof(req), msg, sizeof(msg), &len, &err) ==
	      SA_OK);
	CHECK(ch.pending && ch.pending_seqno == 1);
	sa_status st = sa_gmsg_channel_response(&ch, data, size, payload, sizeof(payload), &plen, &err);
	if (st == SA_OK) {
		CHECK(ch.seqno == 2 && !ch.pending && !ch.disabled);
		CHECK(plen <= SA_GMSG_MAX_PAYLOAD && SA_GMSG_HDR_SIZE + plen <= size);
		sa_report_rsp r;
		if (sa_report_rsp_decode(payload, plen, &r, &err) == SA_OK && r.report_size) {
			sa_snp_report rep;
			(void)sa_snp_report_decode(r.report, sizeof(r.report), &rep, &err);
		}
		sa_gmsg_channel_wipe(&ch);
		return;
	}
	CHECK(st == SA_ERR_VERIFY);
	CHECK(plen == 0);
	CHECK(ch.disabled && !ch.pending && ch.seqno == 0);
	CHECK(sa_all_zero(ch.vmpck, sizeof(ch.vmpck)));
	CHECK(sa_gmsg_channel_request(&ch, SA_MSG_REPORT_REQ, 1, req, sizeof(req), msg, sizeof(msg), &len, &err) ==
	      SA_ERR_STATE);
}

static void check_psp(const uint8_t *data, size_t size)
{
	sa_gmsg_psp_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.vmpck, FUZZ_KEY, sizeof(ctx.vmpck));
	sa_gmsg_hdr h;
	sa_error err;
	size_t plen = 12345, len;
	uint32_t fw = 0xFFFFFFFFu;
	sa_status st = sa_gmsg_psp_open_request(&ctx, data, size, &h, payload, sizeof(payload), &plen, &fw, &err);
	if (st != SA_OK) {
		CHECK(fw == SA_FW_INVALID_PARAM && ctx.seqno == 0 && plen == 0);
		return;
	}
	CHECK(fw == SA_FW_SUCCESS && ctx.seqno == 1 && h.msg_seqno == 1 && h.msg_vmpck == 0 && plen == h.msg_sz);
	sa_report_req rq;
	sa_key_req kq;
	(void)sa_report_req_decode(payload, plen, &rq, &err);
	(void)sa_key_req_decode(payload, plen, &kq, &err);
	/* The response goes out once, with seqno 2. */
	static const uint8_t rsp[16];
	st = sa_gmsg_psp_seal_response(&ctx, &h, rsp, sizeof(rsp), msg, sizeof(msg), &len, &err);
	if (h.msg_type == UINT8_MAX) {
		CHECK(st == SA_ERR_ARG);
		return;
	}
	CHECK(st == SA_OK && ctx.seqno == 2);
	CHECK(sa_gmsg_psp_seal_response(&ctx, &h, rsp, sizeof(rsp), msg, sizeof(msg), &len, &err) == SA_ERR_STATE);
}

static void check_payloads(const uint8_t *data, size_t size)
{
	sa_error err;
	static uint8_t out[SA_SECRETS_PAGE_SIZE];

	sa_report_req rq;
	if (sa_report_req_decode(data, size, &rq, &err) == SA_OK) {
		CHECK(size == SA_REPORT_REQ_SIZE);
		CHECK(sa_report_req_encode(&rq, out, &err) == SA_OK);
		CHECK(memcmp(out, data, size) == 0);
	}

	sa_report_rsp rs;
	if (sa_report_rsp_decode(data, size, &rs, &err) == SA_OK) {
		CHECK(size >= SA_REPORT_RSP_HDR_SIZE + rs.report_size && size <= SA_GMSG_MAX_PAYLOAD);
		CHECK(sa_report_rsp_encode(&rs, out, &err) == SA_OK);
		size_t n = size < SA_REPORT_RSP_SIZE ? size : SA_REPORT_RSP_SIZE;
		CHECK(memcmp(out, data, n) == 0);
		CHECK(sa_all_zero(out + n, SA_REPORT_RSP_SIZE - n));
		CHECK(sa_all_zero(data + n, size - n));
	}

	sa_key_req kq;
	if (sa_key_req_decode(data, size, &kq, &err) == SA_OK) {
		size_t len;
		CHECK(sa_key_req_encode(&kq, out, SA_KEY_REQ_SIZE_MIT, &len, &err) == SA_OK);
		CHECK(len == size && memcmp(out, data, size) == 0);
	}

	sa_key_rsp ks;
	if (sa_key_rsp_decode(data, size, &ks, &err) == SA_OK) {
		CHECK(size == SA_KEY_RSP_SIZE);
		CHECK(sa_key_rsp_encode(&ks, out, &err) == SA_OK);
		CHECK(memcmp(out, data, size) == 0);
	}

	static sa_secrets_page sp;
	if (sa_secrets_page_decode(data, size, &sp, &err) == SA_OK) {
		CHECK(size == SA_SECRETS_PAGE_SIZE && sp.version >= 2);
		CHECK(sa_secrets_page_encode(&sp, out, &err) == SA_OK);
		CHECK(memcmp(out, data, size) == 0);
		sa_secrets_page_wipe(&sp);
		CHECK(sa_all_zero(sp.vmpck, sizeof(sp.vmpck)));
	}
}

static void check_cert_table(const uint8_t *data, size_t size)
{
	sa_cert_table t, again;
	sa_error err;
	if (sa_cert_table_decode(data, size, &t, &err) != SA_OK)
		return;
	CHECK(t.n <= SA_CERT_TABLE_MAX);
	size_t sum = 0;
	for (size_t i = 0; i < t.n; i++) {
		CHECK(t.e[i].data >= data + (t.n + 1) * 24);
		CHECK(t.e[i].len <= size && t.e[i].data + t.e[i].len <= data + size);
		CHECK(sa_cert_table_find(&t, t.e[i].guid) == &t.e[i]);
		sum += t.e[i].len;
	}
	size_t need;
	CHECK(sa_cert_table_encode(&t, NULL, 0, &need, &err) == SA_ERR_RANGE); /* the size query */
	CHECK(need == (t.n + 1) * 24 + sum);
	uint8_t *buf = malloc(need);
	CHECK(buf != NULL);
	CHECK(sa_cert_table_encode(&t, buf, need, &need, &err) == SA_OK);
	CHECK(sa_cert_table_decode(buf, need, &again, &err) == SA_OK);
	CHECK(again.n == t.n);
	for (size_t i = 0; i < t.n; i++) {
		CHECK(memcmp(again.e[i].guid, t.e[i].guid, 16) == 0);
		CHECK(again.e[i].len == t.e[i].len);
		CHECK(t.e[i].len == 0 || memcmp(again.e[i].data, t.e[i].data, t.e[i].len) == 0);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_header(data, size);
	check_open(data, size);
	check_channel(data, size);
	check_psp(data, size);
	check_payloads(data, size);
	check_cert_table(data, size);
	return 0;
}
