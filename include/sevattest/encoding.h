/* SPDX-License-Identifier: Apache-2.0 */
/* Text encodings (hex, strict base64) and reading evidence files in any of them. */
#ifndef SEVATTEST_ENCODING_H
#define SEVATTEST_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lowercase hex of n bytes into out (needs 2n+1 bytes); returns out. */
char *sa_hex_encode(const void *data, size_t n, char *out);

/* Decode hex (whitespace ignored, optional 0x prefix) into exactly want bytes. */
SA_MUST_USE sa_status sa_hex_decode_exact(const char *text, size_t text_len, uint8_t *out, size_t want,
					  const char *field, sa_error *err);

/* Decode hex of any length into a new buffer (free() it). */
SA_MUST_USE sa_status sa_hex_decode_alloc(const char *text, size_t text_len, uint8_t **out, size_t *out_len,
					  const char *field, sa_error *err);

/* Strict RFC 4648 base64 (with padding; whitespace and newlines between quads allowed
 * only if allow_ws).  Rejects bad characters, bad padding and non-zero pad bits. */
SA_MUST_USE sa_status sa_base64_decode_alloc(const char *text, size_t text_len, int allow_ws, uint8_t **out,
					     size_t *out_len, const char *field, sa_error *err);

/* Base64 with padding; returns a malloc'ed NUL-terminated string or NULL on OOM. */
char *sa_base64_encode(const void *data, size_t n);

/* Read an open descriptor to its end (at most max_len bytes); name is for messages. */
SA_MUST_USE sa_status sa_read_fd(int fd, const char *name, size_t max_len, uint8_t **out, size_t *out_len,
				 sa_error *err);

/* Read a whole file (at most max_len bytes, else SA_ERR_RANGE) into a malloc'ed buffer. */
SA_MUST_USE sa_status sa_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len,
				   sa_error *err);

/*
 * Map a whole file read-only (mmap PROT_READ, MAP_PRIVATE; at most max_len bytes, else
 * SA_ERR_RANGE).  An empty file is a valid zero-length view.  A file that is not a regular file
 * (a pipe, /dev/null) is read and then served from an anonymous mapping.  The file may change
 * under a mapping (the caller's to avoid); release with sa_unmap_file(*data, *len).
 * Errors: SA_ERR_NOT_FOUND (no such file), SA_ERR_IO, SA_ERR_RANGE, SA_ERR_NOMEM.
 */
SA_MUST_USE sa_status sa_map_file(const char *path, size_t max_len, const uint8_t **data, size_t *len,
				  sa_error *err);

/* Release a view from sa_map_file (NULL or zero-length: nothing to do). */
void sa_unmap_file(const uint8_t *data, size_t len);

/* Write a whole file atomically (temporary file in the same directory, fsync, rename). */
SA_MUST_USE sa_status sa_write_file_atomic(const char *path, const void *data, size_t len, int mode,
					   sa_error *err);

typedef enum sa_input_format {
	SA_INPUT_AUTO = 0,
	SA_INPUT_BINARY,
	SA_INPUT_HEX,
	SA_INPUT_BASE64,
} sa_input_format;

const char *sa_input_format_name(sa_input_format f);

/*
 * Decode evidence that may be raw binary, hex text or base64 text.
 * With SA_INPUT_AUTO: text made only of hex digits and whitespace is hex, text
 * in the base64 alphabet is base64, anything else binary; text that fails to
 * decode is taken as binary only if its length equals binary_hint.
 * *detected tells which.
 */
SA_MUST_USE sa_status sa_decode_input(const uint8_t *in, size_t in_len, sa_input_format fmt, size_t binary_hint,
				      uint8_t **out, size_t *out_len, sa_input_format *detected, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
