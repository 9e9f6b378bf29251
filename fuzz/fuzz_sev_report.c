/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SEV legacy buffers of sev.h.  The first byte picks
 * the decoder, the rest is its input:
 *   0  ATTESTATION report         decodes only at 0xD0 bytes; re-encodes to the input
 *   1  session buffer (0x80)      re-encodes to the input; unwrapped under a fixed
 *                                 secret, a session that opens re-wraps to the input
 *   2  LAUNCH_SECRET header       re-encodes to the input; header ‖ ciphertext opened
 *                                 under fixed keys (the MAC decides, no crash)
 *   3  secret table               entries lie inside the input; rebuilt from them, the
 *                                 table matches the input up to its length field
 *   4  PLATFORM_STATUS (12)       re-encodes to the input
 *   5  LAUNCH_MEASURE blob        checked under a fixed TIK (no crash)
 *   6  GUID / policy text         a parsed GUID prints and parses back the same;
 *                                 policy parse and print do not overrun
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "sevattest/sev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_z[48] = {1, 2, 3, 4, 5, 6, 7, 8};
static const sa_sev_tks fixed_tks = {{0x11}, {0x22}};

static void fuzz_report(const uint8_t *d, size_t n)
{
	sa_sev_report r;
	if (sa_sev_report_decode(d, n, &r, NULL) != SA_OK)
		return;
	uint8_t out[SA_SEV_REPORT_SIZE];
	if (n != SA_SEV_REPORT_SIZE || sa_sev_report_encode(&r, out, NULL) != SA_OK || memcmp(out, d, n) != 0)
		__builtin_trap();
}

static void fuzz_session(const uint8_t *d, size_t n)
{
	sa_sev_session s;
	if (sa_sev_session_decode(d, n, &s, NULL) != SA_OK)
		return;
	uint8_t out[SA_SEV_SESSION_SIZE];
	sa_sev_session_encode(&s, out);
	if (n != SA_SEV_SESSION_SIZE || memcmp(out, d, n) != 0)
		__builtin_trap();
	sa_sev_tks tks;
	if (sa_sev_session_unwrap(fixed_z, sizeof(fixed_z), &s, 0, &tks, NULL) != SA_OK)
		return;
	sa_sev_session again;
	if (sa_sev_session_wrap(fixed_z, sizeof(fixed_z), s.nonce, s.wrap_iv, &tks, 0, &again, NULL) != SA_OK ||
	    memcmp(&again, &s, sizeof(s)) != 0)
		__builtin_trap();
}

static void fuzz_secret(const uint8_t *d, size_t n)
{
	sa_sev_secret_hdr h;
	size_t hn = n < SA_SEV_SECRET_HDR_SIZE ? n : SA_SEV_SECRET_HDR_SIZE;
	if (sa_sev_secret_hdr_decode(d, hn, &h, NULL) != SA_OK)
		return;
	uint8_t out[SA_SEV_SECRET_HDR_SIZE];
	sa_sev_secret_hdr_encode(&h, out);
	if (memcmp(out, d, SA_SEV_SECRET_HDR_SIZE) != 0)
		__builtin_trap();
	size_t len = n - SA_SEV_SECRET_HDR_SIZE;
	uint8_t *plain = malloc(len ? len : 1);
	if (!plain)
		return;
	(void)sa_sev_secret_open(&fixed_tks, NULL, &h, d + SA_SEV_SECRET_HDR_SIZE, len, plain, NULL);
	free(plain);
}

static void fuzz_table(const uint8_t *d, size_t n)
{
	sa_sev_secret_entry e[16];
	size_t count = 0;
	if (sa_sev_secret_table_parse(d, n, e, 16, &count, NULL) != SA_OK)
		return;
	for (size_t i = 0; i < count; i++)
		if (e[i].data < d || e[i].len > n || e[i].data + e[i].len > d + n)
			__builtin_trap();
	uint8_t *t = NULL;
	size_t tl = 0;
	if (sa_sev_secret_table_build(e, count, &t, &tl, NULL) != SA_OK)
		return; /* larger than the secret area */
	uint32_t total = (uint32_t)d[16] | (uint32_t)d[17] << 8 | (uint32_t)d[18] << 16 | (uint32_t)d[19] << 24;
	if (total > tl || total > n || memcmp(t, d, total) != 0)
		__builtin_trap();
	free(t);
}

static void fuzz_status(const uint8_t *d, size_t n)
{
	sa_sev_platform_status s;
	if (sa_sev_platform_status_decode(d, n, &s, NULL) != SA_OK)
		return;
	uint8_t out[SA_SEV_STATUS_SIZE];
	sa_sev_platform_status_encode(&s, out);
	if (n != SA_SEV_STATUS_SIZE || memcmp(out, d, n) != 0)
		__builtin_trap();
}

static void fuzz_measure(const uint8_t *d, size_t n)
{
	sa_sev_measure_input in;
	memset(&in, 0, sizeof(in));
	if (n > 0) {
		in.api_minor = d[0];
		in.policy = d[0];
	}
	(void)sa_sev_measure_verify(fixed_tks.tik, &in, d, n, NULL);
}

static void fuzz_text(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	uint8_t g[16], g2[16];
	char str[37];
	if (sa_efi_guid_parse(s, g, NULL) == SA_OK) {
		sa_efi_guid_str(g, str);
		if (sa_efi_guid_parse(str, g2, NULL) != SA_OK || memcmp(g, g2, 16) != 0)
			__builtin_trap();
	}
	uint32_t p;
	char buf[24];
	if (sa_sev_policy_parse(s, &p, NULL) == SA_OK) {
		sa_sev_policy_str(p, buf, sizeof(buf));
		if (!memchr(buf, 0, sizeof(buf)))
			__builtin_trap();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	switch (data[0] % 7) {
	case 0: fuzz_report(d, n); break;
	case 1: fuzz_session(d, n); break;
	case 2: fuzz_secret(d, n); break;
	case 3: fuzz_table(d, n); break;
	case 4: fuzz_status(d, n); break;
	case 5: fuzz_measure(d, n); break;
	default: fuzz_text(d, n); break;
	}
	ERR_clear_error();
	return 0;
}
