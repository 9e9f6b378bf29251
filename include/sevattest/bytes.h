/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one bounds-checked reader and writer that every wire codec uses.
 *
 * A reader is a cursor over an immutable buffer.  Every read checks the
 * remaining length first and names the field in its error, so no codec does
 * pointer arithmetic of its own.  Multi-byte integers are little-endian
 * (AMD's and PCIe's wire order) unless the function name says _be.
 */
#ifndef SEVATTEST_BYTES_H
#define SEVATTEST_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_reader {
	const uint8_t *data;
	size_t len;
	size_t off;
} sa_reader;

typedef struct sa_writer {
	uint8_t *data;
	size_t cap;
	size_t off;
} sa_writer;

void sa_reader_init(sa_reader *r, const void *data, size_t len);
size_t sa_reader_remaining(const sa_reader *r);
size_t sa_reader_offset(const sa_reader *r);

SA_MUST_USE sa_status sa_read_u8(sa_reader *r, uint8_t *out, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_read_u16(sa_reader *r, uint16_t *out, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_read_u32(sa_reader *r, uint32_t *out, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_read_u64(sa_reader *r, uint64_t *out, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_read_u16_be(sa_reader *r, uint16_t *out, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_read_u32_be(sa_reader *r, uint32_t *out, const char *field, sa_error *err);
/* Copy n bytes into out. */
SA_MUST_USE sa_status sa_read_bytes(sa_reader *r, void *out, size_t n, const char *field, sa_error *err);
/* Point *out at the next n bytes without copying. */
SA_MUST_USE sa_status sa_read_view(sa_reader *r, const uint8_t **out, size_t n, const char *field,
				   sa_error *err);
SA_MUST_USE sa_status sa_read_skip(sa_reader *r, size_t n, const char *field, sa_error *err);
/* Split off the next n bytes as a reader of their own. */
SA_MUST_USE sa_status sa_read_sub(sa_reader *r, size_t n, sa_reader *sub, const char *field,
				  sa_error *err);
/* Fail with SA_ERR_TRAILING unless every byte was consumed. */
SA_MUST_USE sa_status sa_reader_expect_end(const sa_reader *r, const char *what, sa_error *err);

void sa_writer_init(sa_writer *w, void *buf, size_t cap);
size_t sa_writer_offset(const sa_writer *w);
SA_MUST_USE sa_status sa_write_u8(sa_writer *w, uint8_t v, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_write_u16(sa_writer *w, uint16_t v, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_write_u32(sa_writer *w, uint32_t v, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_write_u64(sa_writer *w, uint64_t v, const char *field, sa_error *err);
SA_MUST_USE sa_status sa_write_bytes(sa_writer *w, const void *src, size_t n, const char *field,
				     sa_error *err);
SA_MUST_USE sa_status sa_write_zeros(sa_writer *w, size_t n, const char *field, sa_error *err);

/*
 * Table-driven codecs: a wire structure described once as a table of fields,
 * walked by both decode and encode so the two directions cannot disagree.  Each
 * field's wire offset (relative to where the walk starts) is asserted while
 * walking; integers are little-endian; SA_FIELD_BYTES copies `size` bytes.
 */
typedef enum sa_field_kind {
	SA_FIELD_U8,
	SA_FIELD_U16,
	SA_FIELD_U32,
	SA_FIELD_U64,
	SA_FIELD_BYTES,
} sa_field_kind;

typedef struct sa_field {
	size_t off;         /* wire offset from the start of the structure */
	size_t size;        /* the member's size (= its wire size) */
	sa_field_kind kind;
	size_t member;      /* offsetof in the C structure */
	const char *name;   /* for error messages: "CHIP_ID" */
} sa_field;

/* A field of C structure `type`, member m, at wire offset off. */
#define SA_FIELD(type, off, kind, m, name) {(off), sizeof(((type *)0)->m), (kind), offsetof(type, m), (name)}

/* Decode the n fields of layout into obj; what names the structure in errors. */
SA_MUST_USE sa_status sa_read_fields(sa_reader *r, const sa_field *layout, size_t n, void *obj, const char *what,
				     sa_error *err);
/* Encode obj's n fields of layout. */
SA_MUST_USE sa_status sa_write_fields(sa_writer *w, const sa_field *layout, size_t n, const void *obj,
				      const char *what, sa_error *err);

/* Little-endian helpers for fixed arrays already bounds-checked by the caller. */
uint64_t sa_le64(const uint8_t b[8]);
void sa_put_le64(uint8_t b[8], uint64_t v);

/* True if all n bytes are zero. */
bool sa_all_zero(const void *p, size_t n);

/* Constant-time comparison of secrets: true when equal. */
bool sa_ct_equal(const void *a, const void *b, size_t n);

/* Overflow-checked size arithmetic: false on overflow. */
bool sa_add_size(size_t a, size_t b, size_t *out);
bool sa_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
