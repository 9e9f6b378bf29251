/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the certificate parsers.
 *
 * The whole input goes to sa_cert_parse_any (one DER certificate or PEM
 * blocks).  In addition, the first byte selects one of AMD's extension arcs
 * and the rest is decoded as that extension's DER value, so the extension
 * decoders are reached without OpenSSL having to accept a whole certificate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "sevattest/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const arcs[] = {
	"1", "2", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4", "5",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sa_error err;
	sa_cert_list list = {0};
	if (sa_cert_parse_any(data, size, &list, &err) == SA_OK) {
		for (size_t i = 0; i < list.n; i++) {
			const sa_cert *c = list.v[i];
			/* Exercise what a verifier does next with a parsed certificate. */
			(void)sa_cert_check_validity(c, 1700000000, &err);
			(void)sa_cert_verify_signed_by(c, c, &err);
			if (i + 1 < list.n)
				(void)sa_cert_verify_signed_by(c, list.v[i + 1], &err);
			char *pem = NULL;
			if (sa_cert_to_pem(c, &pem, &err) == SA_OK)
				free(pem);
		}
	}
	sa_cert_list_free(&list);

	if (size >= 1) {
		const char *arc = arcs[data[0] % (sizeof(arcs) / sizeof(arcs[0]))];
		sa_amd_ext ext;
		memset(&ext, 0, sizeof(ext));
		if (sa_amd_ext_parse_value(arc, data + 1, size - 1, &ext, &err) == SA_OK) {
			/* A decoded string is always NUL-terminated inside its field. */
			if (ext.has_product_name && memchr(ext.product_name, 0, sizeof(ext.product_name)) == NULL)
				__builtin_trap();
			if (ext.has_csp_id && memchr(ext.csp_id, 0, sizeof(ext.csp_id)) == NULL)
				__builtin_trap();
			if (ext.has_hwid && ext.hwid_len != 8 && ext.hwid_len != 64)
				__builtin_trap();
		}
	}
	ERR_clear_error();
	return 0;
}
