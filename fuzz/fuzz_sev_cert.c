/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for AMD's SEV certificate formats (sev_cert.h).
 *
 * The input goes to both codecs: as one 0x824-byte SEV certificate, as a
 * bundle of them read one after the other, and as a run of AMD CA
 * certificates (ARK/ASK, signed or the unsigned form).  Whatever decodes must
 * encode back to exactly the bytes it came from; then the keys are built,
 * the signatures checked against each other and the chain check run over
 * what was found, as a verifier would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "sevattest/sev_cert.h"
#include "sevattest/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEV 4
#define MAX_AMD 3

static sa_amd_cert amd[MAX_AMD]; /* 1.6 KB each: kept off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sa_error err;
	uint8_t out[SA_AMD_CERT_MAX > SA_SEV_CERT_SIZE ? SA_AMD_CERT_MAX : SA_SEV_CERT_SIZE];

	/* One SEV certificate: exact length, round trip. */
	sa_sev_cert one;
	if (sa_sev_cert_decode(data, size, &one, &err) == SA_OK) {
		if (sa_sev_cert_encode(&one, out, &err) != SA_OK || memcmp(out, data, SA_SEV_CERT_SIZE) != 0)
			__builtin_trap();
		EVP_PKEY *k = NULL;
		if (sa_sev_cert_pubkey(&one, &k, &err) == SA_OK)
			EVP_PKEY_free(k);
		/* a self-signature that verifies sits in a slot */
		if (sa_sev_cert_verify(&one, &one, &err) == SA_OK && sa_sev_cert_sig_count(&one) == 0)
			__builtin_trap();
		if (sa_sev_cert_sig_count(&one) > 2 || !sa_sev_cert_same_key(&one, &one))
			__builtin_trap();
	}

	/* A bundle: certificates one after the other; each consumes exactly 0x824 bytes and round-trips. */
	sa_sev_cert sev[MAX_SEV];
	size_t nsev = 0;
	sa_reader r;
	sa_reader_init(&r, data, size);
	while (nsev < MAX_SEV) {
		size_t at = sa_reader_offset(&r);
		if (sa_sev_cert_read(&r, &sev[nsev], &err) != SA_OK) {
			if (sa_reader_offset(&r) != at) /* a failed read keeps its position */
				__builtin_trap();
			break;
		}
		if (sa_reader_offset(&r) != at + SA_SEV_CERT_SIZE || sa_sev_cert_encode(&sev[nsev], out, &err) != SA_OK ||
		    memcmp(out, data + at, SA_SEV_CERT_SIZE) != 0)
			__builtin_trap();
		nsev++;
	}

	/* AMD CA certificates: each round-trips to the bytes it was read from. */
	size_t namd = 0;
	sa_reader_init(&r, data, size);
	while (namd < MAX_AMD) {
		size_t at = sa_reader_offset(&r);
		if (sa_amd_cert_read(&r, &amd[namd], &err) != SA_OK) {
			if (sa_reader_offset(&r) != at)
				__builtin_trap();
			break;
		}
		const sa_amd_cert *c = &amd[namd];
		size_t n = 0;
		if (sa_reader_offset(&r) - at != c->encoded_len || c->signed_len > c->encoded_len ||
		    sa_amd_cert_encode(c, out, sizeof(out), &n, &err) != SA_OK || n != c->encoded_len ||
		    memcmp(out, data + at, n) != 0)
			__builtin_trap();
		uint8_t fp[32];
		if (sa_amd_cert_fingerprint(c, fp, &err) != SA_OK)
			__builtin_trap();
		(void)sa_sev_ark_pin_match(c);
		EVP_PKEY *k = NULL;
		if (sa_amd_cert_pubkey(c, &k, &err) == SA_OK)
			EVP_PKEY_free(k);
		namd++;
	}
	for (size_t i = 0; i < namd; i++) {
		/* only a signed certificate verifies; only a CEK is signed by an ASK */
		if (sa_amd_cert_verify(&amd[i], &amd[namd - 1], &err) == SA_OK && !amd[i].has_signature)
			__builtin_trap();
		for (size_t j = 0; j < nsev; j++)
			if (sa_sev_cert_verify_by_ask(&sev[j], &amd[i], &err) == SA_OK &&
			    sev[j].pub_key_usage != SA_SEV_USAGE_CEK)
				__builtin_trap();
	}

	/* The chain check over what was found, roles by usage. */
	if (nsev > 0 || namd > 0) {
		sa_sev_chain ch;
		memset(&ch, 0, sizeof(ch));
		for (size_t i = 0; i < namd; i++) {
			if (amd[i].key_usage == SA_SEV_USAGE_ARK && !ch.ark)
				ch.ark = &amd[i];
			else if (!ch.ask)
				ch.ask = &amd[i];
		}
		for (size_t i = 0; i < nsev; i++) {
			const sa_sev_cert *c = &sev[i];
			switch (c->pub_key_usage) {
			case SA_SEV_USAGE_CEK: ch.cek = c; break;
			case SA_SEV_USAGE_PEK: ch.pek = c; break;
			case SA_SEV_USAGE_OCA: ch.oca = c; break;
			default: ch.pdh = c; break;
			}
		}
		sa_sev_trust t;
		memset(&t, 0, sizeof(t));
		if (namd > 0 && (size & 1)) { /* sometimes as a named root */
			t.roots = &amd[0];
			t.n_roots = 1;
		}
		if (nsev > 1)
			t.trusted_oca = &sev[1];
		sa_verdict v;
		sa_verdict_init(&v);
		if (sa_sev_chain_check(&ch, &t, &v, &err) != SA_OK)
			__builtin_trap();
		sa_verdict_conclude(&v);
		/* a chain without the ARK, ASK, CEK, PEK or OCA never verifies */
		if (v.verified && (!ch.ark || !ch.ask || !ch.cek || !ch.pek || !(ch.oca || t.trusted_oca)))
			__builtin_trap();
		sa_verdict_free(&v);
	}
	ERR_clear_error();
	return 0;
}
