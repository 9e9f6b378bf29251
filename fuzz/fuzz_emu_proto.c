/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for sevattest-emu's request parser (emu_proto.h): the frame
 * header, then every command's request decoder and every command's reply
 * decoder (success and error bodies) on the same bytes.
 *
 * Input: byte 0 picks the frame status for the reply decoders (0,
 * INVALID_LENGTH, whose replies to the SEV probing commands carry the lengths
 * needed, or another non-zero status); the rest is the payload, and also a
 * whole frame.  The SEV (legacy) commands are among sa_ep_commands().
 *
 * Properties checked (abort() on violation, so libFuzzer records a crash):
 *  - a request or reply that decodes re-encodes to exactly the input bytes
 *    (the codec is canonical: one encoding per value);
 *  - a decoded request's views (page, ID block, data, certificates, VMSA,
 *    secret header) and a reply's (data, certs, CEK) lie inside the input;
 *  - a refused request maps to a firmware-style status (never success);
 *  - a frame that decodes has a payload of exactly its length field less 4.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/emu_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "fuzz_emu_proto: property violated: %s (%s:%d)\n", #cond, __FILE__,  \
				__LINE__);                                                                     \
			abort();                                                                               \
		}                                                                                              \
	} while (0)

static uint8_t out[SA_EP_MAX_PAYLOAD];
static sa_ep_reply rep;

static int inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	return !p || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void check_request(uint16_t cmd, const uint8_t *p, size_t n)
{
	sa_ep_request q;
	sa_error err;
	sa_status s = sa_ep_request_decode(cmd, p, n, &q, &err);
	if (s != SA_OK) {
		CHECK(err.msg[0]);
		uint16_t st = sa_ep_decode_status(cmd, s);
		CHECK(st == SA_FW_INVALID_LENGTH || st == SA_FW_INVALID_PARAM || st == SA_FW_INVALID_COMMAND);
		return;
	}
	CHECK(inside(q.page, SA_EP_PAGE_SIZE, p, n));
	CHECK(inside(q.id_block, SA_EP_ID_BLOCK_SIZE, p, n));
	CHECK(inside(q.id_auth, SA_EP_ID_AUTH_SIZE, p, n));
	CHECK(inside(q.data, q.data_len, p, n));
	CHECK(inside(q.cert1, q.cert1_len, p, n) && inside(q.cert2, q.cert2_len, p, n));
	CHECK(inside(q.vmsa, SA_EP_SEV_VMSA_SIZE, p, n));
	CHECK(inside(q.secret_hdr, SA_EP_SEV_SECRET_HDR_SIZE, p, n));
	CHECK(q.buf_len <= SA_EP_SEV_PROBE_MAX && q.buf_len2 <= SA_EP_SEV_PROBE_MAX);
	CHECK(q.vmpck_id < SA_VMPCK_COUNT && q.cert_pages <= SA_EP_MAX_CERT_PAGES);
	size_t len;
	CHECK(sa_ep_request_encode(&q, out, sizeof(out), &len, &err) == SA_OK);
	CHECK(len == n && memcmp(out, p, n) == 0);
}

static void check_reply(uint16_t cmd, uint16_t status, const uint8_t *p, size_t n)
{
	sa_error err;
	if (sa_ep_reply_decode(cmd, status, p, n, &rep, &err) != SA_OK)
		return;
	CHECK(inside(rep.data, rep.data_len, p, n));
	CHECK(inside(rep.certs, rep.certs_len, p, n));
	CHECK(inside(rep.cek, SA_EP_SEV_CERT_SIZE, p, n));
	CHECK(rep.sev_guest.state <= SA_EMU_SEV_GSTATE_RUNNING);
	CHECK(rep.n_vms <= SA_EP_MAX_VMS);
	CHECK(strlen(rep.err_msg) < sizeof(rep.err_msg));
	size_t len;
	CHECK(sa_ep_reply_encode(&rep, out, sizeof(out), &len, &err) == SA_OK);
	CHECK(len == n && memcmp(out, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint16_t status = !(data[0] & 1) ? 0
			  : data[0] & 2  ? SA_FW_INVALID_LENGTH
					 : (uint16_t)(SA_FW_INVALID_PARAM + (data[0] >> 2));
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	size_t n_cmds;
	const uint16_t *cmds = sa_ep_commands(&n_cmds);
	for (size_t i = 0; i < n_cmds; i++) {
		check_request(cmds[i], p, n);
		check_reply(cmds[i], status, p, n);
	}
	/* A command no one knows. */
	check_request(0x4242, p, n);
	check_reply(0x4242, status, p, n);

	/* The same bytes as a whole frame, as the daemon reads it, then its payload as that command's request. */
	sa_ep_frame_hdr h;
	const uint8_t *payload;
	size_t plen;
	sa_error err;
	if (sa_ep_frame_decode(data, size, &h, &payload, &plen, &err) == SA_OK) {
		CHECK(h.len >= 4 && plen == h.len - 4 && plen + SA_EP_FRAME_HDR_SIZE == size);
		CHECK(sa_ep_cmd_name(h.cmd) != NULL && sa_ep_status_name(h.status) != NULL);
		check_request(h.cmd, payload, plen);
	}
	return 0;
}
