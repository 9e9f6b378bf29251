/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV legacy crypto against known answers, byte for byte: the KDF, HMAC and
 * key-wrap vectors of amd-formats.md §1.7 (virtee/sev session tests), sevctl's
 * LAUNCH_MEASURE vectors M1-M4 and LAUNCH_SECRET vectors (vectors README §4.3),
 * sev-tool's measurement KAT (§4.4); then the session round trip with every
 * tampering refused by name, the secret table, the ATTESTATION report codec,
 * signature and tampering, PLATFORM_STATUS and the guest policy.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sevattest/cert.h"
#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/measure.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "testutil.h"

#define SEVCTL "virtee-sevctl/tests/data/"
#define OVMF_TRIMMED SEVCTL "OVMF.amdsev.fd_trimmed_edk2-ovmf-20220126gitbb1bba3d77-4.el9"

static uint8_t *b64(const char *text, size_t want)
{
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(sa_base64_decode_alloc(text, strlen(text), 0, &out, &len, "test", NULL), SA_OK);
	assert_int_equal(len, want);
	return out;
}

static uint8_t *vec(const char *rel, size_t want)
{
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(tu_read_vector(rel, &out, &len), 0);
	if (want)
		assert_int_equal(len, want);
	return out;
}

static void assert_b64(const uint8_t *data, size_t len, const char *expected)
{
	char *s = sa_base64_encode(data, len);
	assert_non_null(s);
	assert_string_equal(s, expected);
	free(s);
}

/* ---- KDF, HMAC, key wrap (§1.7) ---- */

static void test_kdf_vectors(void **state)
{
	(void)state;
	uint8_t zero[16] = {0}, master[16], kek[16], kik[16], want[16];
	assert_int_equal(sa_sev_kdf(zero, 16, "sev-master-secret", zero, 16, master, 16, NULL), SA_OK);
	tu_hex("ab4d269fcc62bedb4511d56c386ce706", want, 16);
	assert_memory_equal(master, want, 16);
	assert_int_equal(sa_sev_kdf(master, 16, "sev-kek", NULL, 0, kek, 16, NULL), SA_OK);
	tu_hex("b6abfbfb75ea1ea74ed8750b8afdb973", want, 16);
	assert_memory_equal(kek, want, 16);
	assert_int_equal(sa_sev_kdf(master, 16, "sev-kik", NULL, 0, kik, 16, NULL), SA_OK);
	tu_hex("53b524bf5669a363f365c864acba8572", want, 16);
	assert_memory_equal(kik, want, 16);
	/* Longer outputs are the blocks concatenated: the first 16 bytes change with L. */
	uint8_t long_out[40];
	assert_int_equal(sa_sev_kdf(zero, 16, "sev-master-secret", zero, 16, long_out, sizeof(long_out), NULL), SA_OK);
	assert_memory_not_equal(long_out, master, 16);
	sa_error e = {0};
	assert_int_equal(sa_sev_kdf(zero, 16, "x", NULL, 0, long_out, 0, &e), SA_ERR_RANGE);
	assert_int_equal(sa_sev_kdf(NULL, 16, "x", NULL, 0, long_out, 16, &e), SA_ERR_ARG);
}

/* virtee/sev session test: Z = 16 zero bytes, nonce, IV, TEK, TIK zero, policy 0. */
static void test_session_wrap_vector(void **state)
{
	(void)state;
	uint8_t zero[16] = {0}, want[32];
	sa_sev_tks tks;
	memset(&tks, 0, sizeof(tks));
	sa_sev_session s;
	assert_int_equal(sa_sev_session_wrap(zero, 16, zero, zero, &tks, 0, &s, NULL), SA_OK);
	tu_hex("2137bc7f9bb8bd7c3e55a576a15d3454b3856b8ba27afadf46dcfee9f02c02c4", want, 32);
	assert_memory_equal(s.wrap_tk, want, 32);
	tu_hex("3176c0752738bd9d5e86689534020f528c088f16238826b000b327dee6aeed7d", want, 32);
	assert_memory_equal(s.wrap_mac, want, 32);
	/* policy_mac = HMAC-SHA256(16 zero bytes, 4 zero bytes): the §1.7 HMAC vector. */
	tu_hex("aa7855e13839dd767cd5da7c1ff5036540c9264b7a803029315e55375287b4af", want, 32);
	assert_memory_equal(s.policy_mac, want, 32);
	assert_memory_equal(s.nonce, zero, 16);
	assert_memory_equal(s.wrap_iv, zero, 16);

	/* Encode/decode round trip, fields at their offsets. */
	uint8_t buf[SA_SEV_SESSION_SIZE];
	sa_sev_session_encode(&s, buf);
	assert_memory_equal(buf + 0x10, s.wrap_tk, 32);
	assert_memory_equal(buf + 0x40, s.wrap_mac, 32);
	assert_memory_equal(buf + 0x60, s.policy_mac, 32);
	sa_sev_session d;
	assert_int_equal(sa_sev_session_decode(buf, sizeof(buf), &d, NULL), SA_OK);
	assert_memory_equal(&d, &s, sizeof(s));
	sa_error e = {0};
	assert_int_equal(sa_sev_session_decode(buf, sizeof(buf) - 1, &d, &e), SA_ERR_TRUNCATED);
	uint8_t big[SA_SEV_SESSION_SIZE + 1] = {0};
	assert_int_equal(sa_sev_session_decode(big, sizeof(big), &d, &e), SA_ERR_TRAILING);

	/* Unwrap: keys back; each MAC checked by name. */
	sa_sev_tks back;
	memset(&back, 0xAA, sizeof(back));
	assert_int_equal(sa_sev_session_unwrap(zero, 16, &s, 0, &back, NULL), SA_OK);
	assert_memory_equal(&back, &tks, sizeof(tks));
	sa_sev_session t = s;
	t.wrap_tk[3] ^= 1;
	memset(&back, 0xAA, sizeof(back));
	sa_sev_tks before = back;
	assert_int_equal(sa_sev_session_unwrap(zero, 16, &t, 0, &back, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "wrap_mac"));
	assert_memory_equal(&back, &before, sizeof(back)); /* bad input changes nothing */
	assert_int_equal(sa_sev_session_unwrap(zero, 16, &s, 1, &back, &e), SA_ERR_POLICY);
	assert_non_null(strstr(e.msg, "policy_mac"));
	uint8_t other_z[16] = {1};
	assert_int_equal(sa_sev_session_unwrap(other_z, 16, &s, 0, &back, &e), SA_ERR_VERIFY);
}

/* ---- LAUNCH_MEASURE ---- */

static void check_blob(const uint8_t tik[16], sa_sev_measure_input *in, const char *expected_b64)
{
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	sa_error e = {0};
	if (sa_sev_measure_blob(tik, in, blob, &e) != SA_OK)
		fail_msg("%s", e.msg);
	assert_b64(blob, sizeof(blob), expected_b64);
	/* The owner's check accepts it, and names LAUNCH_MEASURE when one byte differs. */
	sa_sev_measure_input v = *in;
	memset(v.mnonce, 0, 16);
	assert_int_equal(sa_sev_measure_verify(tik, &v, blob, sizeof(blob), NULL), SA_OK);
	assert_memory_equal(v.mnonce, in->mnonce, 16);
	v.policy ^= 1;
	assert_int_equal(sa_sev_measure_verify(tik, &v, blob, sizeof(blob), &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "LAUNCH_MEASURE"));
	v.policy ^= 1;
	blob[5] ^= 0x80;
	assert_int_equal(sa_sev_measure_verify(tik, &v, blob, sizeof(blob), &e), SA_ERR_VERIFY);
	assert_int_equal(sa_sev_measure_verify(tik, &v, blob, sizeof(blob) - 1, &e), SA_ERR_TRUNCATED);
}

static void test_measure_m1(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *tik = vec(SEVCTL "measurement/tik1.bin", 16);
	uint8_t *nonce = b64("wxP6tRHCFrFQWxsuqZA8QA==", 16);
	uint8_t *ld = b64("xkvRAfyaSizgonxAjZIAkR8TmolUabBKQKb6KJCDDSM=", 32);
	sa_sev_measure_input in = {.api_major = 1, .api_minor = 40, .build = 40, .policy = 0x03};
	memcpy(in.launch_digest, ld, 32);
	memcpy(in.mnonce, nonce, 16);
	check_blob(tik, &in, "lswbxWxI9gckya16JQvdFtpYmNO4b+3inAPpqsgoBI7DE/q1EcIWsVBbGy6pkDxA");
	free(tik);
	free(nonce);
	free(ld);
}

/* M2, M3 (SEV) and M4 (SEV-ES with sevctl's real VMSAs): the digest from sa_measure. */
static void test_measure_m2_m4(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	uint8_t *tik = vec(SEVCTL "measurement/tik1.bin", 16);
	uint8_t *ovmf = NULL, *kernel = NULL, *initrd = NULL;
	size_t ovmf_len = 0, kernel_len = 0, initrd_len = 0;
	assert_int_equal(tu_read_vector(OVMF_TRIMMED, &ovmf, &ovmf_len), 0);
	assert_int_equal(tu_read_vector(SEVCTL "measurement/vmlinuz-fake", &kernel, &kernel_len), 0);
	assert_int_equal(tu_read_vector(SEVCTL "measurement/initrd-fake", &initrd, &initrd_len), 0);
	uint8_t *vmsa0 = vec(SEVCTL "vmsa0.bin", SA_VMSA_SIZE), *vmsa1 = vec(SEVCTL "vmsa1.bin", SA_VMSA_SIZE);
	uint8_t *nonce = b64("wxP6tRHCFrFQWxsuqZA8QA==", 16);

	sa_measure_params p = {.mode = SA_MEASURE_SEV, .ovmf = ovmf, .ovmf_len = ovmf_len};
	sa_measure_result r;
	sa_sev_measure_input in = {.api_major = 1, .api_minor = 40, .build = 40, .policy = 0x03};
	memcpy(in.mnonce, nonce, 16);
	assert_int_equal(sa_measure(&p, &r, NULL), SA_OK);
	memcpy(in.launch_digest, r.digest, 32);
	check_blob(tik, &in, "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA");

	p.has_kernel = true;
	p.kernel = kernel;
	p.kernel_len = kernel_len;
	p.initrd = initrd;
	p.initrd_len = initrd_len;
	p.cmdline = "foo bar baz fake kernel=cmdline";
	assert_int_equal(sa_measure(&p, &r, NULL), SA_OK);
	memcpy(in.launch_digest, r.digest, 32);
	check_blob(tik, &in, "h3auYbWQnVW7EGLWN4Hf9SN0oEYMPU2sK4bLnefWPwvDE/q1EcIWsVBbGy6pkDxA");

	/* M4: SEV-ES, 4 vCPUs, the VMSAs given; mnonce = the last 16 bytes of the expected blob. */
	const char *m4 = "/o0nzDKE5XgtVnUZWPhUea/WZYrTKLExR7KCwuMdbActvpWfXTFk21KMZIAAhQny";
	uint8_t *m4_blob = b64(m4, 48);
	sa_measure_params q = {.mode = SA_MEASURE_SEVES, .ovmf = ovmf, .ovmf_len = ovmf_len, .vcpus = 4,
			       .vmsa_bsp = vmsa0, .vmsa_ap = vmsa1};
	assert_int_equal(sa_measure(&q, &r, NULL), SA_OK);
	sa_sev_measure_input es = {.api_major = 1, .api_minor = 49, .build = 6, .policy = 0x05};
	memcpy(es.launch_digest, r.digest, 32);
	memcpy(es.mnonce, m4_blob + 32, 16);
	check_blob(tik, &es, m4);
	/* Given VMSAs: the AP page is needed for more than one vCPU; only mode seves takes them. */
	sa_error e = {0};
	q.vmsa_ap = NULL;
	assert_int_equal(sa_measure(&q, &r, &e), SA_ERR_ARG);
	assert_non_null(strstr(e.msg, "AP VMSA"));
	q.vcpus = 1;
	assert_int_equal(sa_measure(&q, &r, NULL), SA_OK);
	q.mode = SA_MEASURE_SEV;
	assert_int_equal(sa_measure(&q, &r, &e), SA_ERR_ARG);
	assert_non_null(strstr(e.msg, "seves"));

	free(tik);
	free(ovmf);
	free(kernel);
	free(initrd);
	free(vmsa0);
	free(vmsa1);
	free(nonce);
	free(m4_blob);
}

/* sev-tool's KAT (§4.4), and the API < 0.17 form without the first four bytes. */
static void test_measure_sevtool(void **state)
{
	(void)state;
	uint8_t tik[16], want[32], m[32];
	tu_hex("66320db73158a35a255d051758e95ed4", tik, 16);
	sa_sev_measure_input in = {.api_major = 0, .api_minor = 0x12, .build = 0x0f, .policy = 0};
	tu_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", in.launch_digest, 32);
	tu_hex("4fbe0bedbad6c86ae8f68971d103e554", in.mnonce, 16);
	assert_int_equal(sa_sev_measure_compute(tik, &in, m, NULL), SA_OK);
	tu_hex("6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea", want, 32);
	assert_memory_equal(m, want, 32);

	in.api_minor = 16;
	assert_int_equal(sa_sev_measure_compute(tik, &in, m, NULL), SA_OK);
	uint8_t msg[4 + 32 + 16] = {0};
	memcpy(msg + 4, in.launch_digest, 32);
	memcpy(msg + 36, in.mnonce, 16);
	size_t n = 0;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, tik, 16, msg, sizeof(msg), want, 32, &n));
	assert_memory_equal(m, want, 32);
}

/* ---- LAUNCH_SECRET (sevctl secretbuild) ---- */

typedef struct secret_case {
	const char *guid, *file;
} secret_case;

static void check_secret(const secret_case *cases, size_t n, const char *hdr_b64, const char *payload_b64)
{
	uint8_t *tik = vec(SEVCTL "secret/tik1.bin", 16), *tek = vec(SEVCTL "secret/tek1.bin", 16);
	uint8_t *blob = b64("TLeA7607lZQntLjRY1/i+sbtdSZ+75zxpz4Px9hzpBLwItF5Q2o4prA++3ZZv9ZS", 48);
	uint8_t *iv = b64("rFR07U3TLH2YnsUj2SVZ7A==", 16);
	sa_sev_tks tks;
	memcpy(tks.tek, tek, 16);
	memcpy(tks.tik, tik, 16);
	sa_sev_secret_entry entries[2];
	uint8_t *data[2] = {NULL, NULL};
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sa_efi_guid_parse(cases[i].guid, entries[i].guid, NULL), SA_OK);
		assert_int_equal(tu_read_vector(cases[i].file, &data[i], &entries[i].len), 0);
		entries[i].data = data[i];
	}
	uint8_t *table = NULL;
	size_t table_len = 0;
	assert_int_equal(sa_sev_secret_table_build(entries, n, &table, &table_len, NULL), SA_OK);
	assert_int_equal(table_len % 16, 0);
	uint8_t *ct = malloc(table_len);
	assert_non_null(ct);
	sa_sev_secret_hdr hdr;
	assert_int_equal(sa_sev_secret_package(&tks, blob, iv, table, table_len, &hdr, ct, NULL), SA_OK);
	uint8_t hbuf[SA_SEV_SECRET_HDR_SIZE];
	sa_sev_secret_hdr_encode(&hdr, hbuf);
	assert_b64(hbuf, sizeof(hbuf), hdr_b64);
	assert_b64(ct, table_len, payload_b64);

	/* The firmware's side opens it; the table parses back to the entries. */
	sa_sev_secret_hdr h2;
	assert_int_equal(sa_sev_secret_hdr_decode(hbuf, sizeof(hbuf), &h2, NULL), SA_OK);
	uint8_t *plain = malloc(table_len);
	assert_non_null(plain);
	assert_int_equal(sa_sev_secret_open(&tks, blob, &h2, ct, table_len, plain, NULL), SA_OK);
	assert_memory_equal(plain, table, table_len);
	sa_sev_secret_entry parsed[4];
	size_t np = 0;
	assert_int_equal(sa_sev_secret_table_parse(plain, table_len, parsed, 4, &np, NULL), SA_OK);
	assert_int_equal(np, n);
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(parsed[i].guid, entries[i].guid, 16);
		assert_int_equal(parsed[i].len, entries[i].len);
		assert_memory_equal(parsed[i].data, entries[i].data, entries[i].len);
		char s[37];
		sa_efi_guid_str(parsed[i].guid, s);
		assert_string_equal(s, cases[i].guid);
	}
	/* Tampering: ciphertext, IV, measurement, TIK each break the MAC; plaintext untouched. */
	sa_error e = {0};
	memset(plain, 0x5A, table_len);
	ct[0] ^= 1;
	assert_int_equal(sa_sev_secret_open(&tks, blob, &h2, ct, table_len, plain, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "LAUNCH_SECRET MAC"));
	assert_int_equal(plain[0], 0x5A);
	ct[0] ^= 1;
	h2.iv[0] ^= 1;
	assert_int_equal(sa_sev_secret_open(&tks, blob, &h2, ct, table_len, plain, &e), SA_ERR_VERIFY);
	h2.iv[0] ^= 1;
	assert_int_equal(sa_sev_secret_open(&tks, NULL, &h2, ct, table_len, plain, &e), SA_ERR_VERIFY);
	sa_sev_tks bad = tks;
	bad.tik[15] ^= 1;
	assert_int_equal(sa_sev_secret_open(&bad, blob, &h2, ct, table_len, plain, &e), SA_ERR_VERIFY);
	/* Flags other than 0 (COMPRESSED) are refused when decoding. */
	hbuf[0] = 1;
	assert_int_equal(sa_sev_secret_hdr_decode(hbuf, sizeof(hbuf), &h2, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "FLAGS"));
	assert_int_equal(sa_sev_secret_hdr_decode(hbuf, sizeof(hbuf) - 1, &h2, &e), SA_ERR_TRUNCATED);
	for (size_t i = 0; i < n; i++)
		free(data[i]);
	free(table);
	free(ct);
	free(plain);
	free(tik);
	free(tek);
	free(blob);
	free(iv);
}

static void test_secret_vectors(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	const secret_case one[] = {{"736869e5-84f0-4973-92ec-06879ce3da0b", SEVCTL "secret/secret1.txt"}};
	check_secret(one, 1, "AAAAAKxUdO1N0yx9mJ7FI9klWey8FSzeYQ4X8K71VzNKLU/KQsIsQxLjtbhaPUewqshX5Q==",
		     "0U3e5PcXv0UW+H4tSBFKOdCYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCCwD/2w5cPA==");
	const secret_case two[] = {{"736869e5-84f0-4973-92ec-06879ce3da0b", SEVCTL "secret/secret1.txt"},
				   {"736869e5-aaaa-4973-92ec-06879ce3da0b", SEVCTL "secret/secret2.txt"}};
	check_secret(two, 2, "AAAAAKxUdO1N0yx9mJ7FI9klWeyZ3r0dOEKHUOhIRqzGYYvTJgdMtBPL1nK6GD9aGET7Ng==",
		     "0U3e5PcXv0UW+H4tSBFKObWYfKE1+j38Bc2fuO16mYiyI+sWx7INfn+lgYj56GL12yyinDa+lVfCC+WWs332lpLNUX1ZI3YK7vYgtys4X+uGxEIlkIQ90v8/w8ZFmQMe");
}

/* secret3 (16343 B) and secret4 (16344 B) both fit the 16 KiB area exactly; one byte more does not. */
static void test_secret_size_limit(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	size_t lens[2];
	for (int i = 0; i < 2; i++) {
		uint8_t *d = NULL;
		size_t n = 0;
		assert_int_equal(tu_read_vector(i ? SEVCTL "secret/secret4.txt" : SEVCTL "secret/secret3.txt", &d, &n), 0);
		sa_sev_secret_entry e = {.data = d, .len = n};
		assert_int_equal(sa_efi_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0b", e.guid, NULL), SA_OK);
		uint8_t *t = NULL;
		assert_int_equal(sa_sev_secret_table_build(&e, 1, &t, &lens[i], NULL), SA_OK);
		assert_true(lens[i] <= SA_SEV_SECRET_MAX && lens[i] % 16 == 0);
		free(t);
		if (i == 1) {
			uint8_t *big = calloc(1, n + 1);
			assert_non_null(big);
			e.data = big;
			e.len = n + 1;
			sa_error err = {0};
			t = NULL;
			assert_int_equal(sa_sev_secret_table_build(&e, 1, &t, &lens[0], &err), SA_ERR_RANGE);
			assert_null(t);
			free(big);
		}
		free(d);
	}
	assert_int_equal(lens[0], SA_SEV_SECRET_MAX);
}

static void test_secret_table_malformed(void **state)
{
	(void)state;
	uint8_t d[5] = {1, 2, 3, 4, 5};
	sa_sev_secret_entry e = {.data = d, .len = sizeof(d)};
	assert_int_equal(sa_efi_guid_parse("736869E5-84F0-4973-92EC-06879CE3DA0B", e.guid, NULL), SA_OK);
	static const uint8_t efi[16] = {0xe5, 0x69, 0x68, 0x73, 0xf0, 0x84, 0x73, 0x49,
					0x92, 0xec, 0x06, 0x87, 0x9c, 0xe3, 0xda, 0x0b};
	assert_memory_equal(e.guid, efi, 16);
	uint8_t *t = NULL;
	size_t len = 0;
	assert_int_equal(sa_sev_secret_table_build(&e, 1, &t, &len, NULL), SA_OK);
	assert_int_equal(len, 48); /* 20 + 25 = 45, padded */
	assert_int_equal(t[16], 45);
	assert_int_equal(t[36], 25);
	sa_sev_secret_entry out[1];
	size_t n = 0;
	sa_error err = {0};
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 1, &n, NULL), SA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 0, &n, &err), SA_ERR_RANGE);
	t[0] ^= 1;
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 1, &n, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "GUID"));
	t[0] ^= 1;
	t[16] = 200; /* table length past the buffer */
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 1, &n, &err), SA_ERR_FORMAT);
	t[16] = 45;
	t[36] = 26; /* entry length past the table */
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 1, &n, &err), SA_ERR_FORMAT);
	t[36] = 19; /* entry shorter than its header */
	assert_int_equal(sa_sev_secret_table_parse(t, len, out, 1, &n, &err), SA_ERR_FORMAT);
	t[36] = 25;
	assert_int_equal(sa_sev_secret_table_parse(t, 30, out, 1, &n, &err), SA_ERR_FORMAT);
	assert_int_equal(sa_sev_secret_table_parse(t, 10, out, 1, &n, &err), SA_ERR_TRUNCATED);
	free(t);
	uint8_t g[16];
	assert_int_equal(sa_efi_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0", g, &err), SA_ERR_ARG);
	assert_int_equal(sa_efi_guid_parse("736869e5x84f0-4973-92ec-06879ce3da0b", g, &err), SA_ERR_ARG);
	assert_int_equal(sa_efi_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0g", g, &err), SA_ERR_ARG);
	/* Package refuses lengths the firmware does not take. */
	sa_sev_tks tks;
	memset(&tks, 1, sizeof(tks));
	uint8_t pt[32] = {0}, ct[32];
	sa_sev_secret_hdr h;
	assert_int_equal(sa_sev_secret_package(&tks, NULL, NULL, pt, 17, &h, ct, &err), SA_ERR_RANGE);
	assert_int_equal(sa_sev_secret_package(&tks, NULL, NULL, pt, 0, &h, ct, &err), SA_ERR_RANGE);
	/* Random IV, API < 0.17 (no measurement): round trip. */
	assert_int_equal(sa_sev_secret_package(&tks, NULL, NULL, pt, 32, &h, ct, NULL), SA_OK);
	uint8_t back[32];
	assert_int_equal(sa_sev_secret_open(&tks, NULL, &h, ct, 32, back, NULL), SA_OK);
	assert_memory_equal(back, pt, 32);
}

/* ---- session create/open with real ECDH ---- */

static void make_pdh(EVP_PKEY **key, sa_sev_cert *cert)
{
	assert_int_equal(sa_key_generate_p384(key, NULL), SA_OK);
	sa_error e = {0};
	if (sa_sev_cert_init(cert, SA_SEV_USAGE_PDH, SA_SEV_ALGO_ECDH_SHA256, 1, 55, *key, &e) != SA_OK)
		fail_msg("%s", e.msg);
}

static void test_session_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *pdh_key = NULL;
	sa_sev_cert pdh;
	make_pdh(&pdh_key, &pdh);
	uint32_t policy = SA_SEV_POLICY_NODBG | SA_SEV_POLICY_NOKS | SA_SEV_POLICY_ES;
	sa_sev_session_params p = {.pdh = &pdh, .policy = policy};
	sa_sev_cert godh;
	sa_sev_session s;
	sa_sev_tks tks, fw;
	EVP_PKEY *godh_key = NULL;
	sa_error e = {0};
	if (sa_sev_session_create(&p, &godh, &s, &tks, &godh_key, &e) != SA_OK)
		fail_msg("%s", e.msg);
	assert_non_null(godh_key);
	assert_int_equal(godh.pub_key_usage, SA_SEV_USAGE_PDH);
	assert_int_equal(godh.pub_key_algo, SA_SEV_ALGO_ECDH_SHA256);
	assert_int_equal(godh.api_major, 1);
	assert_int_equal(godh.api_minor, 55);
	assert_int_equal(sa_sev_session_open(pdh_key, &godh, &s, policy, &fw, &e), SA_OK);
	assert_memory_equal(&fw, &tks, sizeof(tks));

	/* Through the wire forms: the GODH certificate and the session buffer. */
	uint8_t cbuf[SA_SEV_CERT_SIZE], sbuf[SA_SEV_SESSION_SIZE];
	assert_int_equal(sa_sev_cert_encode(&godh, cbuf, NULL), SA_OK);
	sa_sev_session_encode(&s, sbuf);
	sa_sev_cert godh2;
	sa_sev_session s2;
	assert_int_equal(sa_sev_cert_decode(cbuf, sizeof(cbuf), &godh2, NULL), SA_OK);
	assert_int_equal(sa_sev_session_decode(sbuf, sizeof(sbuf), &s2, NULL), SA_OK);
	assert_int_equal(sa_sev_session_open(pdh_key, &godh2, &s2, policy, &fw, NULL), SA_OK);
	assert_memory_equal(&fw, &tks, sizeof(tks));

	/* Given keys and fixed nonce/IV: deterministic, same GODH key reused. */
	sa_sev_tks fixed;
	memset(fixed.tek, 0x11, 16);
	memset(fixed.tik, 0x22, 16);
	uint8_t nonce[16] = {3}, iv[16] = {4};
	sa_sev_session_params q = {.pdh = &pdh, .policy = policy, .godh_key = godh_key, .tks_in = &fixed,
				   .nonce = nonce, .wrap_iv = iv};
	sa_sev_session a, b;
	sa_sev_cert ga, gb;
	assert_int_equal(sa_sev_session_create(&q, &ga, &a, &tks, NULL, NULL), SA_OK);
	assert_int_equal(sa_sev_session_create(&q, &gb, &b, &tks, NULL, NULL), SA_OK);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(sa_sev_cert_same_key(&ga, &godh));
	assert_memory_equal(&tks, &fixed, sizeof(tks));
	assert_memory_equal(a.nonce, nonce, 16);
	assert_memory_equal(a.wrap_iv, iv, 16);

	/* Tampering, each refused by name, the output left alone. */
	memset(&fw, 0x77, sizeof(fw));
	sa_sev_tks untouched = fw;
	sa_sev_session t = s;
	t.wrap_mac[0] ^= 1;
	assert_int_equal(sa_sev_session_open(pdh_key, &godh, &t, policy, &fw, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "wrap_mac"));
	t = s;
	t.nonce[0] ^= 1;
	assert_int_equal(sa_sev_session_open(pdh_key, &godh, &t, policy, &fw, &e), SA_ERR_VERIFY);
	assert_int_equal(sa_sev_session_open(pdh_key, &godh, &s, policy | SA_SEV_POLICY_NOSEND, &fw, &e),
			 SA_ERR_POLICY);
	assert_non_null(strstr(e.msg, "policy_mac"));
	t = s;
	t.policy_mac[31] ^= 1;
	assert_int_equal(sa_sev_session_open(pdh_key, &godh, &t, policy, &fw, &e), SA_ERR_POLICY);
	EVP_PKEY *other = NULL;
	sa_sev_cert other_cert;
	make_pdh(&other, &other_cert);
	assert_int_equal(sa_sev_session_open(other, &godh, &s, policy, &fw, &e), SA_ERR_VERIFY); /* wrong PDH key */
	assert_non_null(strstr(e.msg, "wrap_mac"));
	sa_sev_cert bad = godh;
	bad.pub_key[0] = 3; /* curve 3 (P-521's id), not P-384 */
	assert_int_not_equal(sa_sev_session_open(pdh_key, &bad, &s, policy, &fw, &e), SA_OK);
	assert_non_null(strstr(e.msg, "GODH"));
	bad = godh;
	bad.pub_key_usage = SA_SEV_USAGE_PEK;
	assert_int_equal(sa_sev_session_open(pdh_key, &bad, &s, policy, &fw, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "GODH certificate PUB_KEY_USAGE"));
	bad = godh;
	bad.pub_key_algo = SA_SEV_ALGO_ECDSA_SHA256;
	assert_int_equal(sa_sev_session_open(pdh_key, &bad, &s, policy, &fw, &e), SA_ERR_UNSUPPORTED);
	assert_memory_equal(&fw, &untouched, sizeof(fw));
	/* The owner refuses a PDH that is not a key-agreement certificate, and reserved policy bits. */
	sa_sev_cert not_pdh = pdh;
	not_pdh.pub_key_usage = SA_SEV_USAGE_PEK;
	p.pdh = &not_pdh;
	assert_int_equal(sa_sev_session_create(&p, &godh, &s, &tks, NULL, &e), SA_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "PDH certificate PUB_KEY_USAGE"));
	p.pdh = &pdh;
	p.policy = 0x40;
	assert_int_equal(sa_sev_session_create(&p, &godh, &s, &tks, NULL, &e), SA_ERR_ARG);

	EVP_PKEY_free(other);
	EVP_PKEY_free(godh_key);
	EVP_PKEY_free(pdh_key);
}

/* ---- ATTESTATION report ---- */

static void test_report(void **state)
{
	(void)state;
	EVP_PKEY *pek_key = NULL, *other = NULL;
	assert_int_equal(sa_key_generate_p384(&pek_key, NULL), SA_OK);
	assert_int_equal(sa_key_generate_p384(&other, NULL), SA_OK);
	sa_sev_cert pek;
	assert_int_equal(sa_sev_cert_init(&pek, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, pek_key, NULL), SA_OK);
	sa_sev_report r;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 16; i++)
		r.mnonce[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		r.launch_digest[i] = (uint8_t)(0xA0 + i);
	r.policy = 0x00010005;
	sa_error e = {0};
	if (sa_sev_report_sign(&r, pek_key, &e) != SA_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(r.sig_usage, SA_SEV_USAGE_PEK);
	assert_int_equal(r.sig_algo, SA_SEV_ALGO_ECDSA_SHA256);
	assert_int_equal(sa_sev_report_verify_sig(&r, &pek, &e), SA_OK);

	uint8_t buf[SA_SEV_REPORT_SIZE];
	assert_int_equal(sa_sev_report_encode(&r, buf, NULL), SA_OK);
	assert_memory_equal(buf, r.mnonce, 16);
	assert_memory_equal(buf + 0x10, r.launch_digest, 32);
	assert_int_equal(buf[0x30], 0x05);
	assert_int_equal(buf[0x32], 0x01);
	assert_int_equal(buf[0x34], 0x02);
	assert_int_equal(buf[0x35], 0x10);
	assert_int_equal(buf[0x38], 0x02);
	assert_memory_equal(buf + 0x40, r.sig_r, 72);
	assert_memory_equal(buf + 0x88, r.sig_s, 72);
	/* The signature is over bytes 0x00..0x33 with SHA-256: check it independently. */
	assert_int_equal(sa_ecdsa_verify_le(pek_key, "SHA256", buf, 0x34, buf + 0x40, buf + 0x88, 72, NULL), SA_OK);
	sa_sev_report d;
	assert_int_equal(sa_sev_report_decode(buf, sizeof(buf), &d, NULL), SA_OK);
	assert_memory_equal(&d, &r, sizeof(r));
	assert_int_equal(sa_sev_report_decode(buf, sizeof(buf) - 1, &d, &e), SA_ERR_TRUNCATED);
	uint8_t big[SA_SEV_REPORT_SIZE + 1];
	memcpy(big, buf, sizeof(buf));
	big[SA_SEV_REPORT_SIZE] = 0;
	assert_int_equal(sa_sev_report_decode(big, sizeof(big), &d, &e), SA_ERR_TRAILING);

	/* Tampering. */
	sa_sev_report t = r;
	t.policy ^= 1;
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	t = r;
	t.mnonce[0] ^= 1;
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	t = r;
	t.reserved = 1; /* outside the signed bytes: still verifies */
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_OK);
	t = r;
	t.sig_usage = SA_SEV_USAGE_CEK;
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "SIG_USAGE"));
	t = r;
	t.sig_algo = SA_SEV_ALGO_RSA_SHA256;
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "SIG_ALGO"));
	t = r;
	t.sig_algo = SA_SEV_ALGO_ECDSA_SHA384;
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	sa_sev_cert wrong;
	assert_int_equal(sa_sev_cert_init(&wrong, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA256, 1, 55, other, NULL), SA_OK);
	assert_int_equal(sa_sev_report_verify_sig(&r, &wrong, &e), SA_ERR_VERIFY);
	assert_non_null(strstr(e.msg, "PEK"));
	/* A PEK with ECDSA-SHA384: the report is verified with SHA-384. */
	sa_sev_cert pek384;
	assert_int_equal(sa_sev_cert_init(&pek384, SA_SEV_USAGE_PEK, SA_SEV_ALGO_ECDSA_SHA384, 1, 55, pek_key, NULL),
			 SA_OK);
	t = r;
	t.sig_algo = SA_SEV_ALGO_ECDSA_SHA384;
	assert_int_equal(sa_sev_report_encode(&t, buf, NULL), SA_OK);
	assert_int_equal(sa_ecdsa_sign_le(pek_key, "SHA384", buf, 0x34, t.sig_r, t.sig_s, 72, NULL), SA_OK);
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek384, NULL), SA_OK);
	assert_int_equal(sa_sev_report_verify_sig(&t, &pek, &e), SA_ERR_VERIFY);
	EVP_PKEY_free(pek_key);
	EVP_PKEY_free(other);
}

/* ---- PLATFORM_STATUS, policy ---- */

static void test_platform_status(void **state)
{
	(void)state;
	/* api 1.55, WORKING, owner external + CONFIG_ES, build 21, 3 guests */
	const uint8_t raw[12] = {1, 55, 2, 0x01, 0x01, 0, 0, 21, 3, 0, 0, 0};
	sa_sev_platform_status s;
	assert_int_equal(sa_sev_platform_status_decode(raw, sizeof(raw), &s, NULL), SA_OK);
	assert_int_equal(s.api_major, 1);
	assert_int_equal(s.api_minor, 55);
	assert_int_equal(s.state, SA_SEV_STATE_WORKING);
	assert_string_equal(sa_sev_state_name(s.state), "WORKING");
	assert_true(s.owner_external);
	assert_true(s.config_es);
	assert_int_equal(s.flags, 0x101);
	assert_int_equal(s.build, 21);
	assert_int_equal(s.guest_count, 3);
	uint8_t back[12];
	sa_sev_platform_status_encode(&s, back);
	assert_memory_equal(back, raw, 12);
	s.owner_external = false;
	s.config_es = false;
	sa_sev_platform_status_encode(&s, back);
	assert_int_equal(back[3], 0);
	assert_int_equal(back[4], 0);
	sa_error e = {0};
	assert_int_equal(sa_sev_platform_status_decode(raw, 11, &s, &e), SA_ERR_TRUNCATED);
	assert_int_equal(sa_sev_platform_status_decode(raw, 13, &s, &e), SA_ERR_TRAILING);
	assert_string_equal(sa_sev_state_name(9), "unknown");
	assert_string_equal(sa_sev_state_name(0), "UNINIT");
}

static void test_policy(void **state)
{
	(void)state;
	uint32_t p = 0;
	sa_error e = {0};
	assert_int_equal(sa_sev_policy_parse("nodbg,NOKS,es", &p, NULL), SA_OK);
	assert_int_equal(p, 0x7);
	assert_int_equal(sa_sev_policy_parse("0x00010005", &p, NULL), SA_OK);
	assert_int_equal(p, 0x10005);
	assert_int_equal(sa_sev_policy_parse("3", &p, NULL), SA_OK);
	assert_int_equal(p, 3);
	assert_int_equal(sa_sev_policy_parse("nodbg,,es", &p, &e), SA_ERR_ARG);
	assert_int_equal(sa_sev_policy_parse("nodbg,", &p, &e), SA_ERR_ARG);
	assert_int_equal(sa_sev_policy_parse("debug", &p, &e), SA_ERR_ARG);
	assert_non_null(strstr(e.msg, "debug"));
	assert_int_equal(sa_sev_policy_parse("0x40", &p, &e), SA_ERR_ARG); /* reserved bit 6 */
	assert_non_null(strstr(e.msg, "reserved"));
	assert_int_equal(sa_sev_policy_parse("0x1ffffffff", &p, &e), SA_ERR_ARG);
	assert_int_equal(sa_sev_policy_parse("12abc", &p, &e), SA_ERR_ARG);
	assert_int_equal(p, 3); /* unchanged by the failures */
	uint32_t bit;
	assert_int_equal(sa_sev_policy_bit_parse("Domain", &bit, NULL), SA_OK);
	assert_int_equal(bit, SA_SEV_POLICY_DOMAIN);
	char buf[96];
	assert_string_equal(sa_sev_policy_str(0x01000007, buf, sizeof(buf)), "NODBG|NOKS|ES api>=0.1");
	assert_string_equal(sa_sev_policy_str(0, buf, sizeof(buf)), "none api>=0.0");
	assert_string_equal(sa_sev_policy_str(0x00010038 | 0x80, buf, sizeof(buf)),
			    "NOSEND|DOMAIN|SEV reserved=0x0080 api>=1.0");
	char tiny[6];
	sa_sev_policy_str(0x7, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdf_vectors),        cmocka_unit_test(test_session_wrap_vector),
		cmocka_unit_test(test_measure_m1),         cmocka_unit_test(test_measure_m2_m4),
		cmocka_unit_test(test_measure_sevtool),    cmocka_unit_test(test_secret_vectors),
		cmocka_unit_test(test_secret_size_limit),  cmocka_unit_test(test_secret_table_malformed),
		cmocka_unit_test(test_session_roundtrip),  cmocka_unit_test(test_report),
		cmocka_unit_test(test_platform_status),    cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
