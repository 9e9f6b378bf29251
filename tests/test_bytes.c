/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/bytes.h"
#include "sevattest/der.h"
#include "sevattest/encoding.h"
#include "testutil.h"

static void reader_reads_little_endian(void **state)
{
	(void)state;
	const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	sa_reader r;
	sa_reader_init(&r, buf, sizeof(buf));
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;
	assert_int_equal(sa_read_u8(&r, &a, "a", NULL), SA_OK);
	assert_int_equal(sa_read_u16(&r, &b, "b", NULL), SA_OK);
	assert_int_equal(sa_read_u32(&r, &c, "c", NULL), SA_OK);
	assert_int_equal(sa_read_u64(&r, &d, "d", NULL), SA_OK);
	assert_int_equal(a, 0x01);
	assert_int_equal(b, 0x0302);
	assert_int_equal(c, 0x07060504u);
	assert_true(d == 0x0f0e0d0c0b0a0908ull);
	assert_int_equal(sa_reader_remaining(&r), 0);
	assert_int_equal(sa_reader_expect_end(&r, "buf", NULL), SA_OK);
}

static void reader_refuses_overrun_and_names_field(void **state)
{
	(void)state;
	const uint8_t buf[5] = {0};
	sa_reader r;
	sa_reader_init(&r, buf, sizeof(buf));
	uint32_t v;
	sa_error err;
	assert_int_equal(sa_read_u32(&r, &v, "first", &err), SA_OK);
	assert_int_equal(sa_read_u32(&r, &v, "SECOND_FIELD", &err), SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "SECOND_FIELD"));
	assert_non_null(strstr(err.msg, "only 1 remain"));
	/* A failed read consumes nothing. */
	assert_int_equal(sa_reader_remaining(&r), 1);
	sa_reader sub;
	assert_int_equal(sa_read_sub(&r, SIZE_MAX, &sub, "huge", &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_read_skip(&r, 2, "skip", &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_reader_expect_end(&r, "buf", &err), SA_ERR_TRAILING);
}

static void writer_round_trip_and_overflow(void **state)
{
	(void)state;
	uint8_t buf[14];
	sa_writer w;
	sa_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(sa_write_u16(&w, 0xBEEF, "x", NULL), SA_OK);
	assert_int_equal(sa_write_u32(&w, 0xDEADBEEF, "y", NULL), SA_OK);
	assert_int_equal(sa_write_u64(&w, 0x0123456789ABCDEFull, "z", NULL), SA_OK);
	sa_error err;
	assert_int_equal(sa_write_u8(&w, 1, "overflow", &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "overflow"));
	sa_reader r;
	sa_reader_init(&r, buf, sizeof(buf));
	uint16_t a;
	uint32_t b;
	uint64_t c;
	assert_int_equal(sa_read_u16(&r, &a, "x", NULL), SA_OK);
	assert_int_equal(sa_read_u32(&r, &b, "y", NULL), SA_OK);
	assert_int_equal(sa_read_u64(&r, &c, "z", NULL), SA_OK);
	assert_int_equal(a, 0xBEEF);
	assert_int_equal(b, 0xDEADBEEFu);
	assert_true(c == 0x0123456789ABCDEFull);
}

static void size_arithmetic_detects_overflow(void **state)
{
	(void)state;
	size_t out;
	assert_false(sa_add_size(SIZE_MAX, 1, &out));
	assert_true(sa_add_size(1, 2, &out) && out == 3);
	assert_false(sa_mul_size(SIZE_MAX / 2 + 1, 2, &out));
	assert_true(sa_mul_size(0, SIZE_MAX, &out) && out == 0);
}

static void ct_equal_and_all_zero(void **state)
{
	(void)state;
	uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5}, z[3] = {0};
	assert_true(sa_ct_equal(a, a, 4));
	assert_false(sa_ct_equal(a, b, 4));
	assert_true(sa_all_zero(z, 3));
	assert_false(sa_all_zero(a, 4));
}

static void der_integers(void **state)
{
	(void)state;
	sa_reader r;
	uint64_t v;
	sa_error err;
	const uint8_t ok[] = {0x02, 0x02, 0x00, 0xDB};
	sa_reader_init(&r, ok, sizeof(ok));
	assert_int_equal(sa_der_read_uint(&r, &v, "ucodeSPL", &err), SA_OK);
	assert_int_equal(v, 219);
	const uint8_t neg[] = {0x02, 0x01, 0x80};
	sa_reader_init(&r, neg, sizeof(neg));
	assert_int_equal(sa_der_read_uint(&r, &v, "x", &err), SA_ERR_RANGE);
	const uint8_t nonmin[] = {0x02, 0x02, 0x00, 0x01};
	sa_reader_init(&r, nonmin, sizeof(nonmin));
	assert_int_equal(sa_der_read_uint(&r, &v, "x", &err), SA_ERR_FORMAT);
	const uint8_t longlen_short[] = {0x04, 0x81, 0x05, 1, 2, 3, 4, 5};
	sa_reader_init(&r, longlen_short, sizeof(longlen_short));
	sa_reader c;
	assert_int_equal(sa_der_expect(&r, 0x04, &c, "x", &err), SA_ERR_FORMAT);
	const uint8_t trunc[] = {0x04, 0x10, 1, 2};
	sa_reader_init(&r, trunc, sizeof(trunc));
	assert_int_equal(sa_der_expect(&r, 0x04, &c, "x", &err), SA_ERR_TRUNCATED);
	const uint8_t wrongtag[] = {0x16, 0x01, 'a'};
	sa_reader_init(&r, wrongtag, sizeof(wrongtag));
	assert_int_equal(sa_der_expect(&r, 0x04, &c, "x", &err), SA_ERR_FORMAT);
}

static void hex_and_base64(void **state)
{
	(void)state;
	uint8_t out[4];
	sa_error err;
	assert_int_equal(sa_hex_decode_exact("0xdeadBEEF", 10, out, 4, "h", &err), SA_OK);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(out[3], 0xef);
	assert_int_equal(sa_hex_decode_exact("dead", 4, out, 4, "h", &err), SA_ERR_FORMAT);
	assert_int_equal(sa_hex_decode_exact("deadbeeg", 8, out, 4, "h", &err), SA_ERR_FORMAT);
	assert_int_equal(sa_hex_decode_exact("deadbee", 7, out, 4, "h", &err), SA_ERR_FORMAT);

	const char *cases[][2] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYmFy", "foobar"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d;
		size_t n;
		assert_int_equal(sa_base64_decode_alloc(cases[i][0], strlen(cases[i][0]), 0, &d, &n, "b", &err), SA_OK);
		assert_int_equal(n, strlen(cases[i][1]));
		assert_memory_equal(d, cases[i][1], n);
		char *enc = sa_base64_encode(d, n);
		assert_string_equal(enc, cases[i][0]);
		free(enc);
		free(d);
	}
	const char *bad[] = {"Zg=", "Zh==", "Z===", "Zg==Zg==", "Zm9v!", "Zg= ="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *d = NULL;
		size_t n;
		assert_int_not_equal(sa_base64_decode_alloc(bad[i], strlen(bad[i]), 0, &d, &n, "b", &err), SA_OK);
		assert_null(d);
	}
}

static void decode_input_detects_format(void **state)
{
	(void)state;
	uint8_t *out;
	size_t n;
	sa_input_format f;
	const char *hex = "0102 0304\n";
	assert_int_equal(sa_decode_input((const uint8_t *)hex, strlen(hex), SA_INPUT_AUTO, 4, &out, &n, &f, NULL),
			 SA_OK);
	assert_int_equal(f, SA_INPUT_HEX);
	assert_int_equal(n, 4);
	free(out);
	const char *b64 = "AQIDBA==\n";
	assert_int_equal(sa_decode_input((const uint8_t *)b64, strlen(b64), SA_INPUT_AUTO, 4, &out, &n, &f, NULL),
			 SA_OK);
	assert_int_equal(f, SA_INPUT_BASE64);
	assert_int_equal(n, 4);
	assert_int_equal(out[3], 4);
	free(out);
	/* Hex text exactly as long as the binary structure is still hex. */
	const char *hex4 = "0a0b";
	assert_int_equal(sa_decode_input((const uint8_t *)hex4, 4, SA_INPUT_AUTO, 4, &out, &n, &f, NULL), SA_OK);
	assert_int_equal(f, SA_INPUT_HEX);
	assert_int_equal(n, 2);
	free(out);
	/* Text-looking bytes that do not decode fall back to binary at the binary size. */
	const char *odd = "abc";
	assert_int_equal(sa_decode_input((const uint8_t *)odd, 3, SA_INPUT_AUTO, 3, &out, &n, &f, NULL), SA_OK);
	assert_int_equal(f, SA_INPUT_BINARY);
	free(out);
	assert_int_not_equal(sa_decode_input((const uint8_t *)odd, 3, SA_INPUT_AUTO, 4, &out, &n, &f, NULL), SA_OK);
	const uint8_t bin[4] = {0xff, 0, 1, 2};
	assert_int_equal(sa_decode_input(bin, 4, SA_INPUT_AUTO, 4, &out, &n, &f, NULL), SA_OK);
	assert_int_equal(f, SA_INPUT_BINARY);
	free(out);
}

static void write_test_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void map_file_views(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char path[4200];
	const uint8_t *data;
	size_t len;
	sa_error err;

	/* An empty file is a valid zero-length view. */
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_test_file(path, NULL, 0);
	data = NULL;
	len = 99;
	assert_int_equal(sa_map_file(path, 16, &data, &len, &err), SA_OK);
	assert_non_null(data);
	assert_int_equal(len, 0);
	sa_unmap_file(data, len);

	/* A normal file, larger than a page, maps byte for byte; max_len equal to its size is enough. */
	size_t n = 3 * 4096 + 123;
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	snprintf(path, sizeof(path), "%s/normal", dir);
	write_test_file(path, buf, n);
	assert_int_equal(sa_map_file(path, n, &data, &len, &err), SA_OK);
	assert_int_equal(len, n);
	assert_memory_equal(data, buf, n);
	sa_unmap_file(data, len);

	/* Larger than max_len. */
	assert_int_equal(sa_map_file(path, n - 1, &data, &len, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "larger than"));

	/* Missing, and a directory. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(sa_map_file(path, n, &data, &len, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "missing"));
	assert_int_equal(sa_map_file(dir, n, &data, &len, &err), SA_ERR_IO);

	/* Not a regular file: /dev/null reads as empty. */
	assert_int_equal(sa_map_file("/dev/null", 16, &data, &len, &err), SA_OK);
	assert_int_equal(len, 0);
	sa_unmap_file(data, len);

	/* NULL and zero-length views release as no-ops. */
	sa_unmap_file(NULL, 0);

	free(buf);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader_reads_little_endian),
		cmocka_unit_test(reader_refuses_overrun_and_names_field),
		cmocka_unit_test(writer_round_trip_and_overflow),
		cmocka_unit_test(size_arithmetic_detects_overflow),
		cmocka_unit_test(ct_equal_and_all_zero),
		cmocka_unit_test(der_integers),
		cmocka_unit_test(hex_and_base64),
		cmocka_unit_test(decode_input_detects_format),
		cmocka_unit_test(map_file_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
