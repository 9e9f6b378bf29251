/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SNP report codec and the evidence decoders.
 *
 * Properties checked (abort() on violation, so libFuzzer records a crash):
 *  - a report that decodes re-encodes to exactly the input bytes;
 *  - reserved-byte findings stay inside the report;
 *  - a TCB with no reserved byte set re-encodes to its raw value, in both layouts;
 *  - strict base64 that decodes re-encodes to exactly the input;
 *  - lowercase hex without whitespace that decodes re-encodes to exactly the input.
 * Everything else (hex/base64 sniffing, malformed input) must simply not crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/encoding.h"
#include "sevattest/product.h"
#include "sevattest/report.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "fuzz_report: property violated: %s (%s:%d)\n", #cond, __FILE__,      \
				__LINE__);                                                                     \
			abort();                                                                               \
		}                                                                                              \
	} while (0)

static void check_tcb(uint64_t raw)
{
	char buf[96];
	for (int turin = 0; turin <= 1; turin++) {
		sa_tcb t = sa_tcb_decode(raw, turin);
		CHECK(t.raw == raw);
		sa_tcb_format(&t, buf, sizeof(buf));
		CHECK(strlen(buf) < sizeof(buf));
		if (!t.reserved_nonzero)
			CHECK(sa_tcb_encode(&t) == raw);
		CHECK(sa_tcb_at_least(&t, &t));
	}
}

static void check_report(const uint8_t *data, size_t size)
{
	sa_snp_report r;
	sa_error err;
	if (sa_snp_report_decode(data, size, &r, &err) != SA_OK)
		return;

	uint8_t out[SA_SNP_REPORT_SIZE];
	CHECK(sa_snp_report_encode(&r, out, sizeof(out), &err) == SA_OK);
	CHECK(size == SA_SNP_REPORT_SIZE);
	CHECK(memcmp(out, data, size) == 0);

	sa_reserved_finding f[16];
	size_t n = sa_snp_report_findings(&r, f, sizeof(f) / sizeof(f[0]));
	for (size_t i = 0; i < n && i < sizeof(f) / sizeof(f[0]); i++) {
		CHECK(f[i].name && f[i].name[0]);
		CHECK(f[i].length > 0 && f[i].offset + f[i].length <= SA_SNP_REPORT_SIZE);
	}

	check_tcb(r.current_tcb);
	check_tcb(r.reported_tcb);
	check_tcb(r.committed_tcb);
	check_tcb(r.launch_tcb);

	sa_product p = sa_snp_report_cpuid_product(&r);
	CHECK(sa_product_name(p) != NULL);
	CHECK(sa_signing_key_name(sa_snp_report_signing_key(&r)) != NULL);
	sa_status st = sa_policy_check_wellformed(r.policy, &err);
	CHECK(st == SA_OK || err.msg[0]);

	size_t nbits;
	char bits[512];
	const sa_bit_name *pt = sa_policy_bits(&nbits);
	sa_bits_format(pt, nbits, r.policy, SA_POLICY_ABI_MAJOR_MASK | SA_POLICY_ABI_MINOR_MASK, bits, sizeof(bits));
	pt = sa_platform_info_bits(&nbits);
	sa_bits_format(pt, nbits, r.platform_info, 0, bits, sizeof(bits));
}

static void check_decoders(const uint8_t *data, size_t size)
{
	sa_error err;
	uint8_t *out = NULL;
	size_t out_len = 0;
	sa_input_format detected;

	/* What the CLI does with an evidence file: sniff, decode, then parse. */
	if (sa_decode_input(data, size, SA_INPUT_AUTO, SA_SNP_REPORT_SIZE, &out, &out_len, &detected, &err) ==
	    SA_OK) {
		CHECK(sa_input_format_name(detected) != NULL);
		if (detected != SA_INPUT_BINARY)
			check_report(out, out_len);
		free(out);
	}

	/* Strict base64 is canonical: decoding then encoding gives the input back. */
	out = NULL;
	if (sa_base64_decode_alloc((const char *)data, size, 0, &out, &out_len, "fuzz", &err) == SA_OK) {
		char *again = sa_base64_encode(out, out_len);
		CHECK(again != NULL);
		CHECK(strlen(again) == size && memcmp(again, data, size) == 0);
		free(again);
		free(out);
	}

	/* Hex: plain lowercase digits round-trip exactly. */
	out = NULL;
	if (sa_hex_decode_alloc((const char *)data, size, &out, &out_len, "fuzz", &err) == SA_OK) {
		int plain = 1;
		for (size_t i = 0; i < size && plain; i++)
			plain = (data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f');
		if (plain) {
			char *again = malloc(2 * out_len + 1);
			CHECK(again != NULL);
			sa_hex_encode(out, out_len, again);
			CHECK(2 * out_len == size && memcmp(again, data, size) == 0);
			free(again);
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_report(data, size);
	check_decoders(data, size);
	return 0;
}
