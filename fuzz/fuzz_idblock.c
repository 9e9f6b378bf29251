/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the ID_BLOCK, ID_AUTH_INFO and 0x404-byte ECDSA key
 * decoders (idblock.h).  The input is cut at every structure's size: the
 * first 0x60 bytes as an ID block, the whole input as an ID_AUTH_INFO (and as
 * a key), and the 0x404 bytes after the first byte as a key.
 *
 * Properties checked (abort() on violation):
 *  - a structure that decodes re-encodes to exactly the input bytes;
 *  - decoding fails unless the length is exactly the structure's size;
 *  - key conversion and signature checks on decoded structures do not crash,
 *    and a key that converts to an EVP_PKEY converts back to the same
 *    coordinates and curve.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sevattest/idblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
	do {                                                                                                   \
		if (!(cond)) {                                                                                 \
			fprintf(stderr, "fuzz_idblock: property violated: %s (%s:%d)\n", #cond, __FILE__,     \
				__LINE__);                                                                     \
			abort();                                                                               \
		}                                                                                              \
	} while (0)

static void check_key(const uint8_t *data, size_t size)
{
	sa_ecdsa_pubkey k;
	sa_error err;
	sa_status st = sa_ecdsa_pubkey_decode(data, size, &k, &err);
	CHECK((st == SA_OK) == (size == SA_ECDSA_PUBKEY_SIZE));
	if (st != SA_OK)
		return;
	uint8_t out[SA_ECDSA_PUBKEY_SIZE];
	CHECK(sa_ecdsa_pubkey_encode(&k, out, &err) == SA_OK);
	CHECK(memcmp(out, data, size) == 0);
	uint8_t d[48];
	CHECK(sa_ecdsa_pubkey_digest(&k, d, &err) == SA_OK);
	EVP_PKEY *pk = NULL;
	if (sa_ecdsa_pubkey_to_evp(&k, &pk, &err) == SA_OK) {
		sa_ecdsa_pubkey back;
		CHECK(sa_ecdsa_pubkey_from_evp(pk, &back, &err) == SA_OK);
		CHECK(back.curve == k.curve);
		CHECK(memcmp(back.qx, k.qx, sizeof(k.qx)) == 0 && memcmp(back.qy, k.qy, sizeof(k.qy)) == 0);
		EVP_PKEY_free(pk);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sa_error err;
	/* ID block: the first 0x60 bytes (or all of a shorter input). */
	size_t bn = size < SA_ID_BLOCK_SIZE ? size : SA_ID_BLOCK_SIZE;
	sa_id_block b;
	sa_status st = sa_id_block_decode(data, bn, &b, &err);
	CHECK((st == SA_OK) == (bn == SA_ID_BLOCK_SIZE));
	uint8_t blk[SA_ID_BLOCK_SIZE];
	if (st == SA_OK) {
		CHECK(sa_id_block_encode(&b, blk, &err) == SA_OK);
		CHECK(memcmp(blk, data, SA_ID_BLOCK_SIZE) == 0);
	}
	CHECK(sa_id_block_decode(data, size, &b, &err) == SA_OK || size != SA_ID_BLOCK_SIZE);

	/* ID_AUTH_INFO: the whole input. */
	sa_id_auth *a = malloc(sizeof(*a));
	if (!a)
		return 0;
	st = sa_id_auth_decode(data, size, a, &err);
	CHECK((st == SA_OK) == (size == SA_ID_AUTH_SIZE));
	if (st == SA_OK) {
		uint8_t *out = malloc(SA_ID_AUTH_SIZE);
		if (out) {
			CHECK(sa_id_auth_encode(a, out, &err) == SA_OK);
			CHECK(memcmp(out, data, SA_ID_AUTH_SIZE) == 0);
			free(out);
		}
		/* The signature checks must fail cleanly (or pass) on anything. */
		st = sa_id_block_verify(data, a, &err);
		CHECK(st == SA_OK || err.msg[0]);
		st = sa_id_key_verify(a, &err);
		CHECK(st == SA_OK || err.msg[0]);
	}
	free(a);

	/* Keys: the whole input, and 0x404 bytes after the first. */
	check_key(data, size);
	if (size > SA_ECDSA_PUBKEY_SIZE)
		check_key(data + 1, SA_ECDSA_PUBKEY_SIZE);
	return 0;
}
