/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "sevattest/bytes.h"

#include "internal.h"

void sa_reader_init(sa_reader *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->off = 0;
}

size_t sa_reader_remaining(const sa_reader *r) { return r->len - r->off; }
size_t sa_reader_offset(const sa_reader *r) { return r->off; }

/* The single bounds check every read goes through. */
static sa_status need(const sa_reader *r, size_t n, const char *field, sa_error *err)
{
	SA_ENSURE(n <= r->len - r->off, err, SA_ERR_TRUNCATED,
		  "%s: needs %zu byte%s at offset 0x%zx, only %zu remain", field ? field : "field", n,
		  n == 1 ? "" : "s", r->off, r->len - r->off);
	return SA_OK;
}

sa_status sa_read_view(sa_reader *r, const uint8_t **out, size_t n, const char *field, sa_error *err)
{
	SA_TRY(need(r, n, field, err));
	*out = r->data + r->off;
	r->off += n;
	return SA_OK;
}

sa_status sa_read_bytes(sa_reader *r, void *out, size_t n, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, n, field, err));
	if (n)
		memcpy(out, p, n);
	return SA_OK;
}

sa_status sa_read_skip(sa_reader *r, size_t n, const char *field, sa_error *err)
{
	const uint8_t *p;
	return sa_read_view(r, &p, n, field, err);
}

sa_status sa_read_sub(sa_reader *r, size_t n, sa_reader *sub, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, n, field, err));
	sa_reader_init(sub, p, n);
	return SA_OK;
}

sa_status sa_read_u8(sa_reader *r, uint8_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 1, field, err));
	*out = p[0];
	return SA_OK;
}

sa_status sa_read_u16(sa_reader *r, uint16_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 2, field, err));
	*out = (uint16_t)(p[0] | (uint16_t)p[1] << 8);
	return SA_OK;
}

sa_status sa_read_u32(sa_reader *r, uint32_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 4, field, err));
	*out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return SA_OK;
}

sa_status sa_read_u64(sa_reader *r, uint64_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 8, field, err));
	*out = sa_le64(p);
	return SA_OK;
}

sa_status sa_read_u16_be(sa_reader *r, uint16_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 2, field, err));
	*out = (uint16_t)((uint16_t)p[0] << 8 | p[1]);
	return SA_OK;
}

sa_status sa_read_u32_be(sa_reader *r, uint32_t *out, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, 4, field, err));
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return SA_OK;
}

sa_status sa_reader_expect_end(const sa_reader *r, const char *what, sa_error *err)
{
	SA_ENSURE(r->off == r->len, err, SA_ERR_TRAILING, "%s: %zu unexpected trailing byte%s after offset 0x%zx",
		  what ? what : "input", r->len - r->off, r->len - r->off == 1 ? "" : "s", r->off);
	return SA_OK;
}

void sa_writer_init(sa_writer *w, void *buf, size_t cap)
{
	w->data = buf;
	w->cap = buf ? cap : 0;
	w->off = 0;
}

size_t sa_writer_offset(const sa_writer *w) { return w->off; }

static sa_status room(const sa_writer *w, size_t n, const char *field, sa_error *err)
{
	SA_ENSURE(n <= w->cap - w->off, err, SA_ERR_RANGE,
		  "%s: needs %zu bytes of room at offset 0x%zx, only %zu left", field ? field : "field", n, w->off,
		  w->cap - w->off);
	return SA_OK;
}

sa_status sa_write_bytes(sa_writer *w, const void *src, size_t n, const char *field, sa_error *err)
{
	SA_TRY(room(w, n, field, err));
	if (n)
		memcpy(w->data + w->off, src, n);
	w->off += n;
	return SA_OK;
}

sa_status sa_write_zeros(sa_writer *w, size_t n, const char *field, sa_error *err)
{
	SA_TRY(room(w, n, field, err));
	if (n)
		memset(w->data + w->off, 0, n);
	w->off += n;
	return SA_OK;
}

sa_status sa_write_u8(sa_writer *w, uint8_t v, const char *field, sa_error *err)
{
	return sa_write_bytes(w, &v, 1, field, err);
}

sa_status sa_write_u16(sa_writer *w, uint16_t v, const char *field, sa_error *err)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	return sa_write_bytes(w, b, 2, field, err);
}

sa_status sa_write_u32(sa_writer *w, uint32_t v, const char *field, sa_error *err)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return sa_write_bytes(w, b, 4, field, err);
}

sa_status sa_write_u64(sa_writer *w, uint64_t v, const char *field, sa_error *err)
{
	uint8_t b[8];
	sa_put_le64(b, v);
	return sa_write_bytes(w, b, 8, field, err);
}

sa_status sa_read_fields(sa_reader *r, const sa_field *layout, size_t n, void *obj, const char *what,
			     sa_error *err)
{
	uint8_t *base = obj;
	size_t start = sa_reader_offset(r);
	for (size_t i = 0; i < n; i++) {
		const sa_field *f = &layout[i];
		void *dst = base + f->member;
		size_t at = sa_reader_offset(r) - start;
		SA_ENSURE(at == f->off, err, SA_ERR_STATE, "%s layout: %s at 0x%zx, table says 0x%zx", what,
			  f->name, at, f->off);
		switch (f->kind) {
		case SA_FIELD_U8: SA_TRY(sa_read_u8(r, dst, f->name, err)); break;
		case SA_FIELD_U16: {
			uint16_t v;
			SA_TRY(sa_read_u16(r, &v, f->name, err));
			memcpy(dst, &v, sizeof(v));
			break;
		}
		case SA_FIELD_U32: {
			uint32_t v;
			SA_TRY(sa_read_u32(r, &v, f->name, err));
			memcpy(dst, &v, sizeof(v));
			break;
		}
		case SA_FIELD_U64: {
			uint64_t v;
			SA_TRY(sa_read_u64(r, &v, f->name, err));
			memcpy(dst, &v, sizeof(v));
			break;
		}
		case SA_FIELD_BYTES: SA_TRY(sa_read_bytes(r, dst, f->size, f->name, err)); break;
		}
	}
	return SA_OK;
}

sa_status sa_write_fields(sa_writer *w, const sa_field *layout, size_t n, const void *obj, const char *what,
			     sa_error *err)
{
	const uint8_t *base = obj;
	size_t start = sa_writer_offset(w);
	for (size_t i = 0; i < n; i++) {
		const sa_field *f = &layout[i];
		const void *src = base + f->member;
		size_t at = sa_writer_offset(w) - start;
		SA_ENSURE(at == f->off, err, SA_ERR_STATE, "%s layout: %s at 0x%zx, table says 0x%zx", what,
			  f->name, at, f->off);
		switch (f->kind) {
		case SA_FIELD_U8: SA_TRY(sa_write_u8(w, *(const uint8_t *)src, f->name, err)); break;
		case SA_FIELD_U16: {
			uint16_t v;
			memcpy(&v, src, sizeof(v));
			SA_TRY(sa_write_u16(w, v, f->name, err));
			break;
		}
		case SA_FIELD_U32: {
			uint32_t v;
			memcpy(&v, src, sizeof(v));
			SA_TRY(sa_write_u32(w, v, f->name, err));
			break;
		}
		case SA_FIELD_U64: {
			uint64_t v;
			memcpy(&v, src, sizeof(v));
			SA_TRY(sa_write_u64(w, v, f->name, err));
			break;
		}
		case SA_FIELD_BYTES: SA_TRY(sa_write_bytes(w, src, f->size, f->name, err)); break;
		}
	}
	return SA_OK;
}

uint64_t sa_le64(const uint8_t b[8])
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

void sa_put_le64(uint8_t b[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

bool sa_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

bool sa_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	return acc == 0;
}

bool sa_add_size(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return false;
	*out = a + b;
	return true;
}

bool sa_mul_size(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}
