/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sevattest/bytes.h"
#include "sevattest/encoding.h"

#include "internal.h"

static const char hexdig[] = "0123456789abcdef";

char *sa_hex_encode(const void *data, size_t n, char *out)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[b[i] >> 4];
		out[2 * i + 1] = hexdig[b[i] & 0xF];
	}
	out[2 * n] = '\0';
	return out;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Decode hex into out (cap bytes) or count only when out is NULL. */
static sa_status hex_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *n_out,
			    const char *field, sa_error *err)
{
	size_t i = 0, n = 0;
	int hi = -1;
	while (i < len && is_ws((unsigned char)text[i]))
		i++;
	if (len - i >= 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (is_ws(c))
			continue;
		int v = hexval(c);
		SA_ENSURE(v >= 0, err, SA_ERR_FORMAT, "%s: character '%c' at position %zu is not a hex digit", field,
			  c >= 0x20 && c < 0x7F ? c : '?', i);
		if (hi < 0) {
			hi = v;
		} else {
			if (out) {
				SA_ENSURE(n < cap, err, SA_ERR_RANGE, "%s: more than %zu bytes of hex", field, cap);
				out[n] = (uint8_t)(hi << 4 | v);
			}
			n++;
			hi = -1;
		}
	}
	SA_ENSURE(hi < 0, err, SA_ERR_FORMAT, "%s: odd number of hex digits", field);
	*n_out = n;
	return SA_OK;
}

sa_status sa_hex_decode_exact(const char *text, size_t text_len, uint8_t *out, size_t want, const char *field,
			      sa_error *err)
{
	size_t n;
	SA_TRY(hex_decode(text, text_len, NULL, 0, &n, field, err));
	SA_ENSURE(n == want, err, SA_ERR_FORMAT, "%s: %zu bytes of hex, expected exactly %zu", field, n, want);
	return hex_decode(text, text_len, out, want, &n, field, err);
}

sa_status sa_hex_decode_alloc(const char *text, size_t text_len, uint8_t **out, size_t *out_len, const char *field,
			      sa_error *err)
{
	size_t n;
	SA_TRY(hex_decode(text, text_len, NULL, 0, &n, field, err));
	uint8_t *buf = malloc(n ? n : 1);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "%s: out of memory", field);
	sa_status s = hex_decode(text, text_len, buf, n, &n, field, err);
	if (s != SA_OK) {
		free(buf);
		return s;
	}
	*out = buf;
	*out_len = n;
	return SA_OK;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

sa_status sa_base64_decode_alloc(const char *text, size_t text_len, int allow_ws, uint8_t **out, size_t *out_len,
				 const char *field, sa_error *err)
{
	/* First pass: collect the significant characters' count and validate. */
	size_t sig = 0;
	for (size_t i = 0; i < text_len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (is_ws(c)) {
			SA_ENSURE(allow_ws, err, SA_ERR_FORMAT, "%s: whitespace at position %zu in base64", field, i);
			continue;
		}
		SA_ENSURE(b64val(c) >= 0 || c == '=', err, SA_ERR_FORMAT,
			  "%s: character '%c' at position %zu is not base64", field, c >= 0x20 && c < 0x7F ? c : '?',
			  i);
		sig++;
	}
	SA_ENSURE(sig % 4 == 0, err, SA_ERR_FORMAT, "%s: base64 length %zu is not a multiple of 4", field, sig);
	size_t cap = sig / 4 * 3;
	uint8_t *buf = malloc(cap ? cap : 1);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "%s: out of memory", field);
	size_t n = 0, q = 0, pad = 0;
	uint32_t acc = 0;
	sa_status st = SA_OK;
	for (size_t i = 0; i < text_len && st == SA_OK; i++) {
		unsigned char c = (unsigned char)text[i];
		if (is_ws(c))
			continue;
		if (c == '=') {
			pad++;
			acc <<= 6;
		} else {
			if (pad) {
				st = sa_error_set(err, SA_ERR_FORMAT, "%s: data after '=' padding at position %zu", field,
						  i);
				break;
			}
			acc = acc << 6 | (uint32_t)b64val(c);
		}
		if (++q == 4) {
			if (pad > 2) {
				st = sa_error_set(err, SA_ERR_FORMAT, "%s: too much '=' padding", field);
				break;
			}
			if ((pad == 1 && (acc & 0xFF)) || (pad == 2 && (acc & 0xFFFF))) {
				st = sa_error_set(err, SA_ERR_FORMAT, "%s: non-canonical base64 (non-zero pad bits)",
						  field);
				break;
			}
			buf[n++] = (uint8_t)(acc >> 16);
			if (pad < 2)
				buf[n++] = (uint8_t)(acc >> 8);
			if (pad < 1)
				buf[n++] = (uint8_t)acc;
			q = 0;
			acc = 0;
			if (pad)
				pad = 3; /* anything after a padded quad is an error */
		}
	}
	if (st != SA_OK) {
		free(buf);
		return st;
	}
	*out = buf;
	*out_len = n;
	return SA_OK;
}

char *sa_base64_encode(const void *data, size_t n)
{
	const uint8_t *b = data;
	size_t outlen;
	if (!sa_mul_size((n + 2) / 3, 4, &outlen) || !sa_add_size(outlen, 1, &outlen))
		return NULL;
	char *out = malloc(outlen);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			v |= b[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

sa_status sa_read_fd(int fd, const char *name, size_t max_len, uint8_t **out, size_t *out_len, sa_error *err)
{
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "out of memory reading %s", name);
	for (;;) {
		if (n == cap) {
			if (cap > max_len) {
				free(buf);
				return sa_error_set(err, SA_ERR_RANGE, "%s is larger than %zu bytes", name, max_len);
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return sa_error_set(err, SA_ERR_NOMEM, "out of memory reading %s", name);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return sa_error_set(err, SA_ERR_IO, "cannot read %s: %s", name, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max_len) {
		free(buf);
		return sa_error_set(err, SA_ERR_RANGE, "%s is larger than %zu bytes", name, max_len);
	}
	*out = buf;
	*out_len = n;
	return SA_OK;
}

sa_status sa_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len, sa_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	SA_ENSURE(fd >= 0, err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "cannot open %s: %s", path,
		  strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		return sa_error_set(err, SA_ERR_IO, "cannot read %s: %s", path, strerror(e));
	}
	sa_status s = sa_read_fd(fd, path, max_len, out, out_len, err);
	close(fd);
	return s;
}

/* The view of an empty file: valid, never dereferenced, never unmapped. */
static const uint8_t empty_view[1];

/* A non-regular file (pipe, character device): read it, then copy into an anonymous mapping so
 * that sa_unmap_file can release every view the same way. */
static sa_status map_by_reading(int fd, const char *path, size_t max_len, const uint8_t **data, size_t *len,
				sa_error *err)
{
	uint8_t *buf;
	size_t n;
	SA_TRY(sa_read_fd(fd, path, max_len, &buf, &n, err));
	if (n == 0) {
		free(buf);
		*data = empty_view;
		*len = 0;
		return SA_OK;
	}
	void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		free(buf);
		return sa_error_set(err, e == ENOMEM ? SA_ERR_NOMEM : SA_ERR_IO, "cannot map %s: %s", path,
				    strerror(e));
	}
	memcpy(m, buf, n);
	free(buf);
	if (mprotect(m, n, PROT_READ) != 0) {
		int e = errno;
		munmap(m, n);
		return sa_error_set(err, SA_ERR_IO, "cannot map %s: %s", path, strerror(e));
	}
	*data = m;
	*len = n;
	return SA_OK;
}

sa_status sa_map_file(const char *path, size_t max_len, const uint8_t **data, size_t *len, sa_error *err)
{
	SA_ENSURE(path && data && len, err, SA_ERR_ARG, "sa_map_file: NULL argument");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	SA_ENSURE(fd >= 0, err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "cannot open %s: %s", path,
		  strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return sa_error_set(err, SA_ERR_IO, "cannot read %s: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return sa_error_set(err, SA_ERR_IO, "cannot read %s: %s", path, strerror(EISDIR));
	}
	sa_status s;
	if (!S_ISREG(st.st_mode)) {
		s = map_by_reading(fd, path, max_len, data, len, err);
		close(fd);
		return s;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_len) {
		close(fd);
		return sa_error_set(err, SA_ERR_RANGE, "%s is larger than %zu bytes", path, max_len);
	}
	size_t n = (size_t)st.st_size;
	if (n == 0) {
		close(fd);
		*data = empty_view;
		*len = 0;
		return SA_OK;
	}
	void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd); /* the mapping keeps the file open */
	if (m == MAP_FAILED)
		return sa_error_set(err, e == ENOMEM ? SA_ERR_NOMEM : SA_ERR_IO, "cannot map %s: %s", path,
				    strerror(e));
	/* Advice only (distinct values, not flags): read ahead, front to back. */
	(void)madvise(m, n, MADV_SEQUENTIAL);
	(void)madvise(m, n, MADV_WILLNEED);
	*data = m;
	*len = n;
	return SA_OK;
}

void sa_unmap_file(const uint8_t *data, size_t len)
{
	if (!data || len == 0 || data == empty_view)
		return;
	munmap((void *)(uintptr_t)data, len);
}

sa_status sa_write_file_atomic(const char *path, const void *data, size_t len, int mode, sa_error *err)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	SA_ENSURE(tmp, err, SA_ERR_NOMEM, "out of memory writing %s", path);
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return sa_error_set(err, SA_ERR_IO, "cannot create a temporary file beside %s: %s", path, strerror(e));
	}
	const uint8_t *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			return sa_error_set(err, SA_ERR_IO, "cannot write %s: %s", path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		return sa_error_set(err, SA_ERR_IO, "cannot write %s: %s", path, strerror(e));
	}
	free(tmp);
	return SA_OK;
}

const char *sa_input_format_name(sa_input_format f)
{
	switch (f) {
	case SA_INPUT_AUTO: return "auto";
	case SA_INPUT_BINARY: return "binary";
	case SA_INPUT_HEX: return "hex";
	case SA_INPUT_BASE64: return "base64";
	}
	return "unknown";
}

static sa_input_format sniff(const uint8_t *in, size_t len)
{
	bool hex = true, b64 = true, any = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		if (is_ws(c))
			continue;
		any = true;
		if (hexval(c) < 0 && !(i + 1 < len && c == '0' && (in[i + 1] == 'x')) &&
		    !(c == 'x' && i > 0 && in[i - 1] == '0'))
			hex = false;
		if (b64val(c) < 0 && c != '=')
			b64 = false;
		if (!hex && !b64)
			return SA_INPUT_BINARY;
	}
	if (!any)
		return SA_INPUT_BINARY;
	return hex ? SA_INPUT_HEX : SA_INPUT_BASE64;
}

sa_status sa_decode_input(const uint8_t *in, size_t in_len, sa_input_format fmt, size_t binary_hint, uint8_t **out,
			  size_t *out_len, sa_input_format *detected, sa_error *err)
{
	if (fmt == SA_INPUT_AUTO) {
		/* Text first: a binary structure made only of hex or base64 characters
		 * is vanishingly unlikely, while text of exactly binary_hint bytes is not. */
		sa_input_format guess = sniff(in, in_len);
		if (guess != SA_INPUT_BINARY) {
			sa_status st = sa_decode_input(in, in_len, guess, binary_hint, out, out_len, detected, err);
			if (st == SA_OK || !(binary_hint && in_len == binary_hint))
				return st;
		}
		fmt = SA_INPUT_BINARY;
	}
	if (detected)
		*detected = fmt;
	switch (fmt) {
	case SA_INPUT_HEX:
		return sa_hex_decode_alloc((const char *)in, in_len, out, out_len, "hex input", err);
	case SA_INPUT_BASE64:
		return sa_base64_decode_alloc((const char *)in, in_len, 1, out, out_len, "base64 input", err);
	case SA_INPUT_BINARY:
	case SA_INPUT_AUTO:
		break;
	}
	uint8_t *buf = malloc(in_len ? in_len : 1);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "out of memory");
	if (in_len)
		memcpy(buf, in, in_len);
	*out = buf;
	*out_len = in_len;
	return SA_OK;
}
