/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulator's state directory: creation, opening, and the files it keeps.
 *
 *   platform.json            product, chip id, TCBs, firmware versions, SET_CONFIG
 *                            bits, next guest handle, the loaded VLEK (0644)
 *   lock                     flock()ed while an sa_emu has the directory open
 *   keys/chip_secret         48 random bytes: the root of VCEKs and chip keys (0600)
 *   keys/ark.pem ask.pem asvk.pem   RSA private keys, PKCS#8 PEM (0600)
 *   keys/vlek-<n>.pem        the VLEK of generation n (0600)
 *   certs/ark.pem ask.pem asvk.pem  issued once at creation (0644)
 *   certs/vcek-<tcb>.der     VCEK certificates, a cache (re-issued if damaged)
 *   certs/vlek-<n>.der       the VLEK certificate of generation n
 *   ext_certs.bin            the platform-wide extended-request certificate table
 *   guests/<h>.json          one guest context (0600)
 *   guests/<h>.keys          its VMPCK0-3 and VMRK (binary, 0600)
 *   guests/<h>.certs         its extended-request certificate table
 *   sev.json, keys/sev-<n>.pem, certs/sev-<n>.certs, certs/sev_ask_ark.cert,
 *   guests/<h>.sev.json, guests/<h>.sev.keys   the legacy SEV firmware's (see emu_sev.c)
 *
 * Crash consistency: every file is replaced atomically (temporary file,
 * fsync, rename, fsync of the directory), and where a change spans several
 * files the one that commits it is written last: a guest's keys, then its
 * JSON, then platform.json's next_handle; a VLEK's key and certificate under
 * a new generation number, then platform.json naming that generation.  What
 * a crash can leave behind (temporary files, keys of a guest whose JSON was
 * never written, files of an older VLEK generation) is removed on open.
 * Creation builds the whole directory beside the target and renames it into
 * place, so a half-created state directory never exists.
 *
 * Everything read back is validated: a damaged or edited file gives an error
 * naming the file and field, never a crash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/encoding.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"

#include "emu_internal.h"
#include "internal.h"
#include "json_internal.h"

#define PLATFORM_FILE "platform.json"
#define PLATFORM_FORMAT "sevattest-emu-platform"
#define GUEST_FORMAT "sevattest-emu-guest"
#define STATE_VERSION 1
#define KEYS_MAGIC "SAEMUGK1"
#define KEYS_FILE_SIZE (8 + SA_VMPCK_COUNT * SA_VMPCK_LEN + EMU_VMRK_LEN)
#define JSON_MAX (1024 * 1024)
#define CERT_MAX (256 * 1024)
#define ROOT_YEARS 25
#define SERIAL_ARK 0x10000
#define SERIAL_ASK 0x10001
#define SERIAL_ASVK 0x10002

/* ------------------------------------------------------------------------- */
/* Files                                                                      */
/* ------------------------------------------------------------------------- */

sa_status emu_path(const char *dir, const char *rel, char *buf, size_t cap, sa_error *err)
{
	int n = snprintf(buf, cap, "%s/%s", dir, rel);
	SA_ENSURE(n > 0 && (size_t)n < cap, err, SA_ERR_RANGE, "path %s/%s is longer than %zu bytes", dir, rel,
		  cap - 1);
	return SA_OK;
}

static sa_status sync_dir(const char *d, sa_error *err)
{
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	SA_ENSURE(fd >= 0, err, SA_ERR_IO, "cannot open directory %s: %s", d, strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	SA_ENSURE(rc == 0, err, SA_ERR_IO, "cannot sync directory %s: %s", d, strerror(e));
	return SA_OK;
}

/* The directory part of path ("." for a bare name). */
static sa_status parent_of(const char *path, char *buf, size_t cap, sa_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(buf, cap, ".");
		return SA_OK;
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	SA_ENSURE(n < cap, err, SA_ERR_RANGE, "path %s is too long", path);
	memcpy(buf, path, n);
	buf[n] = '\0';
	return SA_OK;
}

static sa_status sync_parent(const char *path, sa_error *err)
{
	char d[EMU_PATH_MAX];
	SA_TRY(parent_of(path, d, sizeof(d), err));
	return sync_dir(d, err);
}

sa_status emu_write(const char *dir, const char *rel, const void *data, size_t len, int mode, sa_error *err)
{
	char path[EMU_PATH_MAX];
	SA_TRY(emu_path(dir, rel, path, sizeof(path), err));
	SA_TRY(sa_write_file_atomic(path, data, len, mode, err));
	return sync_parent(path, err);
}

sa_status emu_remove(const char *dir, const char *rel, sa_error *err)
{
	char path[EMU_PATH_MAX];
	SA_TRY(emu_path(dir, rel, path, sizeof(path), err));
	if (unlink(path) != 0) {
		SA_ENSURE(errno == ENOENT, err, SA_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
		return SA_OK;
	}
	return sync_parent(path, err);
}

void emu_remove_quiet(const char *dir, const char *rel) { (void)!emu_remove(dir, rel, NULL); }

sa_status emu_read(const char *dir, const char *rel, size_t max, uint8_t **out, size_t *len, sa_error *err)
{
	char path[EMU_PATH_MAX];
	SA_TRY(emu_path(dir, rel, path, sizeof(path), err));
	return sa_read_file(path, max, out, len, err);
}

bool emu_exists(const char *dir, const char *rel)
{
	char path[EMU_PATH_MAX];
	struct stat st;
	return emu_path(dir, rel, path, sizeof(path), NULL) == SA_OK && lstat(path, &st) == 0;
}

/* Read a file holding a secret into one allocation of its exact size (no copies left behind). */
static sa_status read_secret(const char *dir, const char *rel, size_t max, uint8_t **out, size_t *len, sa_error *err)
{
	char path[EMU_PATH_MAX];
	SA_TRY(emu_path(dir, rel, path, sizeof(path), err));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	SA_ENSURE(fd >= 0, err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "cannot open %s: %s", path,
		  strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 || (size_t)st.st_size > max) {
		close(fd);
		return sa_error_set(err, SA_ERR_FORMAT, "%s: expected a regular file of at most %zu bytes", path, max);
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = OPENSSL_malloc(n ? n : 1);
	if (!buf) {
		close(fd);
		return sa_error_set(err, SA_ERR_NOMEM, "out of memory reading %s", path);
	}
	size_t off = 0;
	while (off < n) {
		ssize_t r = read(fd, buf + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	int e = errno;
	close(fd);
	if (off != n) {
		OPENSSL_clear_free(buf, n ? n : 1);
		return sa_error_set(err, SA_ERR_IO, "cannot read %s: %s", path, off < n ? strerror(e) : "file changed");
	}
	*out = buf;
	*len = n;
	return SA_OK;
}

static void secret_free(uint8_t *buf, size_t len)
{
	if (buf)
		OPENSSL_clear_free(buf, len ? len : 1);
}

/* mkstemp's suffix: ".tmp" and six characters of [A-Za-z0-9]. */
static bool is_tmp_leftover(const char *name)
{
	size_t n = strlen(name);
	if (n < 11 || memcmp(name + n - 10, ".tmp", 4) != 0)
		return false;
	for (size_t i = n - 6; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static void clean_tmp_in(const char *d)
{
	DIR *dp = opendir(d);
	if (!dp)
		return;
	bool removed = false;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (!is_tmp_leftover(de->d_name))
			continue;
		char path[EMU_PATH_MAX];
		if (emu_path(d, de->d_name, path, sizeof(path), NULL) == SA_OK && unlink(path) == 0)
			removed = true;
	}
	closedir(dp);
	if (removed)
		(void)sync_dir(d, NULL);
}

void emu_clean_tmp(const char *dir)
{
	static const char *const subs[] = {"keys", "certs", "guests"};
	clean_tmp_in(dir);
	for (size_t i = 0; i < SA_ARRAY_LEN(subs); i++) {
		char d[EMU_PATH_MAX];
		if (emu_path(dir, subs[i], d, sizeof(d), NULL) == SA_OK)
			clean_tmp_in(d);
	}
}

/* ------------------------------------------------------------------------- */
/* Keys and certificates                                                      */
/* ------------------------------------------------------------------------- */

sa_status emu_keys_save(const char *dir, const char *rel, EVP_PKEY *const *keys, size_t n, sa_error *err)
{
	BIO *b = BIO_new(BIO_s_secmem()); /* cleansed when freed */
	if (!b)
		return sa_crypto_error(err, "%s: cannot create a memory BIO", rel);
	char *mem = NULL;
	long len = 0;
	bool ok = n > 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = keys[i] && PEM_write_bio_PrivateKey(b, keys[i], NULL, NULL, 0, NULL, NULL) == 1;
	sa_status st;
	if (!ok || (len = BIO_get_mem_data(b, &mem)) <= 0 || !mem)
		st = sa_crypto_error(err, "%s: cannot PEM-encode the private key", rel);
	else
		st = emu_write(dir, rel, mem, (size_t)len, 0600, err);
	BIO_free(b);
	return st;
}

sa_status emu_key_save(const char *dir, const char *rel, EVP_PKEY *key, sa_error *err)
{
	return emu_keys_save(dir, rel, &key, 1, err);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

sa_status emu_keys_load(const char *dir, const char *rel, EVP_PKEY **keys, size_t n, sa_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(read_secret(dir, rel, 64 * 1024, &buf, &len, err));
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	size_t got = 0;
	EVP_PKEY *k = NULL;
	while (b && got <= n && (k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)) != NULL) {
		if (got < n)
			keys[got] = k;
		else
			EVP_PKEY_free(k);
		got++;
	}
	BIO_free(b);
	secret_free(buf, len);
	if (got != n) {
		for (size_t i = 0; i < got && i < n; i++) {
			EVP_PKEY_free(keys[i]);
			keys[i] = NULL;
		}
		return sa_crypto_error(err, "%s/%s: expected %zu unencrypted PEM private key%s, found %zu", dir, rel,
				       n, n == 1 ? "" : "s", got);
	}
	ERR_clear_error(); /* the read that ends the loop leaves "no start line" */
	return SA_OK;
}

sa_status emu_key_load(const char *dir, const char *rel, EVP_PKEY **out, sa_error *err)
{
	return emu_keys_load(dir, rel, out, 1, err);
}

sa_status emu_cert_save(const char *dir, const char *rel, const sa_cert *c, bool pem, sa_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (pem) {
		char *s = NULL;
		SA_TRY(sa_cert_to_pem(c, &s, err));
		data = (uint8_t *)s;
		len = strlen(s);
	} else {
		SA_TRY(sa_cert_to_der(c, &data, &len, err));
	}
	sa_status st = emu_write(dir, rel, data, len, 0644, err);
	free(data);
	return st;
}

sa_status emu_cert_load(const char *dir, const char *rel, sa_cert **out, sa_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(emu_read(dir, rel, CERT_MAX, &buf, &len, err));
	sa_cert_list list = {0};
	sa_status st = sa_cert_parse_any(buf, len, &list, err);
	free(buf);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s/%s", dir, rel);
	if (list.n != 1) {
		size_t n = list.n;
		sa_cert_list_free(&list);
		return sa_error_set(err, SA_ERR_FORMAT, "%s/%s: holds %zu certificates, expected one", dir, rel, n);
	}
	*out = sa_cert_list_take(&list, 0);
	sa_cert_list_free(&list);
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* TCB helpers                                                                */
/* ------------------------------------------------------------------------- */

sa_status emu_tcb_check(sa_product p, uint64_t raw, const char *what, sa_error *err)
{
	sa_tcb t = sa_tcb_decode_for(raw, p);
	SA_ENSURE(!t.reserved_nonzero, err, SA_ERR_ARG,
		  "%s 0x%016llx has non-zero reserved bytes (mask 0x%02x) in the %s TCB layout, expected zero", what,
		  (unsigned long long)raw, t.reserved_nonzero, sa_product_name(p));
	return SA_OK;
}

bool emu_tcb_le(sa_product p, uint64_t a, uint64_t b)
{
	sa_tcb ta = sa_tcb_decode_for(a, p), tb = sa_tcb_decode_for(b, p);
	return sa_tcb_at_least(&tb, &ta);
}

char *emu_tcb_str(sa_product p, uint64_t raw, char *buf, size_t cap)
{
	sa_tcb t = sa_tcb_decode_for(raw, p);
	char parts[96];
	snprintf(buf, cap, "0x%016llx (%s)", (unsigned long long)raw, sa_tcb_format(&t, parts, sizeof(parts)));
	return buf;
}

/* ------------------------------------------------------------------------- */
/* JSON                                                                       */
/* ------------------------------------------------------------------------- */


static json_object *jhex(const uint8_t *b, size_t n)
{
	char buf[2 * 64 + 1];
	if (n > 64)
		return NULL;
	return json_object_new_string(sa_hex_encode(b, n, buf));
}

static json_object *ju64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *jfw(sa_fw_version v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u.%u.%u", v.major, v.minor, v.build);
	return json_object_new_string(buf);
}

static sa_status jwrite(const char *dir, const char *rel, json_object *o, int mode, sa_error *err)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(o,
							  JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	SA_ENSURE(s, err, SA_ERR_NOMEM, "%s: out of memory rendering JSON", rel);
	char *buf = malloc(len + 1);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "%s: out of memory rendering JSON", rel);
	memcpy(buf, s, len);
	buf[len] = '\n';
	sa_status st = emu_write(dir, rel, buf, len + 1, mode, err);
	free(buf);
	return st;
}

static sa_status jparse(const char *file, const uint8_t *buf, size_t len, json_object **out, sa_error *err)
{
	SA_ENSURE(len <= JSON_MAX, err, SA_ERR_RANGE, "%s: %zu bytes, at most %d", file, len, JSON_MAX);
	json_tokener *tok = json_tokener_new();
	SA_ENSURE(tok, err, SA_ERR_NOMEM, "%s: out of memory parsing JSON", file);
	json_object *o = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		return sa_error_set(err, SA_ERR_FORMAT, "%s: not valid JSON (%s)", file,
				    je == json_tokener_continue ? "truncated" : json_tokener_error_desc(je));
	}
	for (size_t i = end; i < len; i++) {
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\t' && buf[i] != '\r') {
			json_object_put(o);
			return sa_error_set(err, SA_ERR_FORMAT, "%s: unexpected data after the JSON object at byte %zu",
					    file, i);
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return sa_error_set(err, SA_ERR_FORMAT, "%s: expected a JSON object", file);
	}
	*out = o;
	return SA_OK;
}

/* Read and parse dir/rel (a JSON object). */
static sa_status jload(const char *dir, const char *rel, json_object **out, sa_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(emu_read(dir, rel, JSON_MAX, &buf, &len, err));
	sa_status st = jparse(rel, buf, len, out, err);
	free(buf);
	return st;
}

static const char *jtype_desc(json_type t)
{
	switch (t) {
	case json_type_boolean: return "true or false";
	case json_type_int: return "an integer";
	case json_type_string: return "a string";
	case json_type_array: return "an array";
	case json_type_object: return "an object";
	default: return "of another type";
	}
}

static sa_status jfield(json_object *o, const char *key, json_type type, json_object **v, const char *file,
			sa_error *err)
{
	json_object *x = NULL;
	SA_ENSURE(json_object_object_get_ex(o, key, &x) && x, err, SA_ERR_FORMAT, "%s: field '%s' is missing", file,
		  key);
	SA_ENSURE(json_object_is_type(x, type), err, SA_ERR_FORMAT, "%s: field '%s' must be %s", file, key,
		  jtype_desc(type));
	*v = x;
	return SA_OK;
}

static sa_status jcheck_keys(json_object *o, const char *const *allowed, size_t n, const char *file, sa_error *err)
{
	struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		SA_ENSURE(known, err, SA_ERR_FORMAT, "%s: unknown field '%.60s'", file, key);
	}
	return SA_OK;
}

static sa_status jget_str(json_object *o, const char *key, const char **out, const char *file, sa_error *err)
{
	json_object *v;
	SA_TRY(jfield(o, key, json_type_string, &v, file, err));
	*out = json_object_get_string(v);
	return SA_OK;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static sa_status jget_hex(json_object *o, const char *key, uint8_t *out, size_t n, const char *file, sa_error *err)
{
	const char *s;
	SA_TRY(jget_str(o, key, &s, file, err));
	SA_ENSURE(strlen(s) == 2 * n && all_hex(s, 2 * n), err, SA_ERR_FORMAT,
		  "%s: field '%s' must be %zu hex digits (%zu bytes)", file, key, 2 * n, n);
	return sa_hex_decode_exact(s, 2 * n, out, n, key, err);
}

static sa_status jget_u64(json_object *o, const char *key, uint64_t *out, const char *file, sa_error *err)
{
	const char *s;
	SA_TRY(jget_str(o, key, &s, file, err));
	size_t n = strlen(s);
	SA_ENSURE(n >= 3 && n <= 18 && s[0] == '0' && s[1] == 'x' && all_hex(s + 2, n - 2), err, SA_ERR_FORMAT,
		  "%s: field '%s' must be a 0x-prefixed hex u64, got '%.40s'", file, key, s);
	*out = strtoull(s + 2, NULL, 16);
	return SA_OK;
}

static sa_status jget_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out, const char *file,
			  sa_error *err)
{
	json_object *v = NULL;
	SA_TRY(jfield(o, key, json_type_int, &v, file, err));
	errno = 0;
	int64_t x = json_object_get_int64(v);
	SA_ENSURE(errno == 0 && x >= min && x <= max, err, SA_ERR_FORMAT,
		  "%s: field '%s' is %" PRId64 ", expected %" PRId64 " to %" PRId64, file, key, x, min, max);
	*out = x;
	return SA_OK;
}

static sa_status jget_u32(json_object *o, const char *key, uint32_t min, uint32_t max, uint32_t *out, const char *file,
			  sa_error *err)
{
	int64_t x = 0;
	SA_TRY(jget_int(o, key, min, max, &x, file, err));
	*out = (uint32_t)x;
	return SA_OK;
}

static sa_status jget_bool(json_object *o, const char *key, bool *out, const char *file, sa_error *err)
{
	json_object *v;
	SA_TRY(jfield(o, key, json_type_boolean, &v, file, err));
	*out = json_object_get_boolean(v) != 0;
	return SA_OK;
}

static sa_status jget_fw(json_object *o, const char *key, sa_fw_version *out, const char *file, sa_error *err)
{
	const char *s;
	SA_TRY(jget_str(o, key, &s, file, err));
	unsigned v[3];
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		char *end;
		SA_ENSURE(*p >= '0' && *p <= '9', err, SA_ERR_FORMAT,
			  "%s: field '%s' must be major.minor.build, got '%.40s'", file, key, s);
		unsigned long x = strtoul(p, &end, 10);
		SA_ENSURE(x <= 255 && end - p <= 3 && (i == 2 ? *end == '\0' : *end == '.'), err, SA_ERR_FORMAT,
			  "%s: field '%s' must be major.minor.build (each 0..255), got '%.40s'", file, key, s);
		v[i] = (unsigned)x;
		p = end + (i < 2);
	}
	*out = (sa_fw_version){.major = (uint8_t)v[0], .minor = (uint8_t)v[1], .build = (uint8_t)v[2]};
	return SA_OK;
}

static sa_status jget_format(json_object *o, const char *want, const char *file, sa_error *err)
{
	const char *s;
	SA_TRY(jget_str(o, "format", &s, file, err));
	SA_ENSURE(strcmp(s, want) == 0, err, SA_ERR_FORMAT, "%s: format is '%.60s', expected '%s'", file, s, want);
	int64_t v;
	SA_TRY(jget_int(o, "version", STATE_VERSION, STATE_VERSION, &v, file, err));
	return SA_OK;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7E)
			return false;
	return true;
}

/* ------------------------------------------------------------------------- */
/* platform.json                                                              */
/* ------------------------------------------------------------------------- */

sa_status emu_platform_save(const sa_emu *e, const emu_platform *p, sa_error *err)
{
	json_object *o = json_object_new_object();
	bool ok = o != NULL;
	ok = ok && sa_json_add(o, "format", json_object_new_string(PLATFORM_FORMAT));
	ok = ok && sa_json_add(o, "version", json_object_new_int(STATE_VERSION));
	ok = ok && sa_json_add(o, "product", json_object_new_string(sa_product_name(p->product)));
	ok = ok && sa_json_add(o, "chip_id", jhex(p->chip_id, sizeof(p->chip_id)));
	ok = ok && sa_json_add(o, "cpuid_family", json_object_new_int(p->cpuid_fam));
	ok = ok && sa_json_add(o, "cpuid_model", json_object_new_int(p->cpuid_mod));
	ok = ok && sa_json_add(o, "cpuid_stepping", json_object_new_int(p->cpuid_step));
	ok = ok && sa_json_add(o, "platform_info", ju64(p->platform_info));
	ok = ok && sa_json_add(o, "current_tcb", ju64(p->current_tcb));
	ok = ok && sa_json_add(o, "reported_tcb", ju64(p->reported_tcb));
	ok = ok && sa_json_add(o, "committed_tcb", ju64(p->committed_tcb));
	ok = ok && sa_json_add(o, "current_fw", jfw(p->current_fw));
	ok = ok && sa_json_add(o, "committed_fw", jfw(p->committed_fw));
	ok = ok && sa_json_add(o, "mask_chip_id", json_object_new_boolean(p->mask_chip_id));
	ok = ok && sa_json_add(o, "mask_chip_key", json_object_new_boolean(p->mask_chip_key));
	ok = ok && sa_json_add(o, "next_handle", json_object_new_int64(p->next_handle));
	ok = ok && sa_json_add(o, "created", json_object_new_int64(p->created));
	if (ok && p->vlek_loaded) {
		json_object *v = json_object_new_object();
		ok = sa_json_add(o, "vlek", v);
		ok = ok && sa_json_add(v, "generation", json_object_new_int64(p->vlek_generation));
		ok = ok && sa_json_add(v, "tcb", ju64(p->vlek_tcb));
		ok = ok && sa_json_add(v, "csp_id", json_object_new_string(p->vlek_csp_id));
	}
	sa_status st = ok ? jwrite(e->dir, PLATFORM_FILE, o, 0644, err)
			  : sa_error_set(err, SA_ERR_NOMEM, "%s: out of memory building JSON", PLATFORM_FILE);
	json_object_put(o);
	return st;
}

static sa_status platform_from_json(json_object *o, emu_platform *p, const char *f, sa_error *err)
{
	static const char *const keys[] = {
	    "format",         "version",       "product",       "chip_id",      "cpuid_family",  "cpuid_model",
	    "cpuid_stepping", "platform_info", "current_tcb",   "reported_tcb", "committed_tcb", "current_fw",
	    "committed_fw",   "mask_chip_id",  "mask_chip_key", "next_handle",  "created",       "vlek",
	};
	SA_TRY(jcheck_keys(o, keys, SA_ARRAY_LEN(keys), f, err));
	SA_TRY(jget_format(o, PLATFORM_FORMAT, f, err));
	const char *prod;
	SA_TRY(jget_str(o, "product", &prod, f, err));
	int stepping = SA_STEPPING_UNKNOWN;
	SA_ENSURE(sa_product_parse(prod, &p->product, &stepping, NULL) == SA_OK && stepping == SA_STEPPING_UNKNOWN &&
		      strcmp(prod, sa_product_name(p->product)) == 0,
		  err, SA_ERR_FORMAT, "%s: product '%.40s' is not one of Milan, Genoa, Turin", f, prod);
	SA_TRY(jget_hex(o, "chip_id", p->chip_id, sizeof(p->chip_id), f, err));
	size_t hl = sa_product_hwid_len(p->product);
	SA_ENSURE(sa_all_zero(p->chip_id + hl, sizeof(p->chip_id) - hl), err, SA_ERR_FORMAT,
		  "%s: chip_id of a %s has only %zu bytes, the rest must be zero", f, prod, hl);
	uint32_t x;
	SA_TRY(jget_u32(o, "cpuid_family", 0, 255, &x, f, err));
	p->cpuid_fam = (uint8_t)x;
	SA_TRY(jget_u32(o, "cpuid_model", 0, 255, &x, f, err));
	p->cpuid_mod = (uint8_t)x;
	SA_TRY(jget_u32(o, "cpuid_stepping", 0, 255, &x, f, err));
	p->cpuid_step = (uint8_t)x;
	SA_ENSURE(sa_product_from_cpuid(p->cpuid_fam, p->cpuid_mod) == p->product, err, SA_ERR_FORMAT,
		  "%s: CPUID family 0x%02x model 0x%02x is not a %s", f, p->cpuid_fam, p->cpuid_mod, prod);
	SA_TRY(jget_u64(o, "platform_info", &p->platform_info, f, err));
	SA_TRY(jget_u64(o, "current_tcb", &p->current_tcb, f, err));
	SA_TRY(jget_u64(o, "reported_tcb", &p->reported_tcb, f, err));
	SA_TRY(jget_u64(o, "committed_tcb", &p->committed_tcb, f, err));
	sa_error e2;
	static const char *const tcb_names[] = {"current_tcb", "reported_tcb", "committed_tcb"};
	const uint64_t tcbs[] = {p->current_tcb, p->reported_tcb, p->committed_tcb};
	for (size_t i = 0; i < 3; i++)
		if (emu_tcb_check(p->product, tcbs[i], tcb_names[i], &e2) != SA_OK)
			return sa_error_set(err, SA_ERR_FORMAT, "%s: %s", f, e2.msg);
	SA_ENSURE(emu_tcb_le(p->product, p->reported_tcb, p->current_tcb), err, SA_ERR_FORMAT,
		  "%s: reported_tcb exceeds current_tcb in some component", f);
	SA_ENSURE(emu_tcb_le(p->product, p->committed_tcb, p->current_tcb), err, SA_ERR_FORMAT,
		  "%s: committed_tcb exceeds current_tcb in some component", f);
	SA_TRY(jget_fw(o, "current_fw", &p->current_fw, f, err));
	SA_TRY(jget_fw(o, "committed_fw", &p->committed_fw, f, err));
	SA_TRY(jget_bool(o, "mask_chip_id", &p->mask_chip_id, f, err));
	SA_TRY(jget_bool(o, "mask_chip_key", &p->mask_chip_key, f, err));
	SA_TRY(jget_u32(o, "next_handle", 1, UINT32_MAX, &p->next_handle, f, err));
	SA_TRY(jget_int(o, "created", 0, INT64_MAX, &p->created, f, err));
	json_object *v = NULL;
	p->vlek_loaded = json_object_object_get_ex(o, "vlek", &v);
	if (p->vlek_loaded) {
		SA_TRY(jfield(o, "vlek", json_type_object, &v, f, err));
		static const char *const vkeys[] = {"generation", "tcb", "csp_id"};
		SA_TRY(jcheck_keys(v, vkeys, SA_ARRAY_LEN(vkeys), f, err));
		SA_TRY(jget_u32(v, "generation", 1, UINT32_MAX, &p->vlek_generation, f, err));
		SA_TRY(jget_u64(v, "tcb", &p->vlek_tcb, f, err));
		const char *csp;
		SA_TRY(jget_str(v, "csp_id", &csp, f, err));
		SA_ENSURE(*csp && strlen(csp) <= EMU_CSP_ID_MAX && printable(csp), err, SA_ERR_FORMAT,
			  "%s: vlek.csp_id must be 1 to %d printable ASCII characters", f, EMU_CSP_ID_MAX);
		snprintf(p->vlek_csp_id, sizeof(p->vlek_csp_id), "%s", csp);
	}
	return SA_OK;
}

sa_status emu_platform_load(const char *dir, emu_platform *p, sa_error *err)
{
	SA_ENSURE(emu_exists(dir, PLATFORM_FILE), err, SA_ERR_NOT_FOUND,
		  "%s has no %s: not an emulator state directory", dir, PLATFORM_FILE);
	json_object *o = NULL;
	SA_TRY(jload(dir, PLATFORM_FILE, &o, err));
	sa_status st;
	memset(p, 0, sizeof(*p));
	st = platform_from_json(o, p, PLATFORM_FILE, err);
	json_object_put(o);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Guests                                                                     */
/* ------------------------------------------------------------------------- */

const char *emu_guest_state_name(emu_guest_state s)
{
	switch (s) {
	case EMU_GUEST_LAUNCHING: return "launching";
	case EMU_GUEST_RUNNING: return "running";
	case EMU_GUEST_DECOMMISSIONED: return "decommissioned";
	}
	return "unknown";
}

void emu_guest_free(emu_guest *g)
{
	if (!g)
		return;
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
}

sa_status emu_guest_save(const sa_emu *e, const emu_guest *g, sa_error *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".json", g->handle);
	json_object *o = json_object_new_object();
	bool ok = o != NULL;
	ok = ok && sa_json_add(o, "format", json_object_new_string(GUEST_FORMAT));
	ok = ok && sa_json_add(o, "version", json_object_new_int(STATE_VERSION));
	ok = ok && sa_json_add(o, "handle", json_object_new_int64(g->handle));
	ok = ok && sa_json_add(o, "state", json_object_new_string(emu_guest_state_name(g->state)));
	ok = ok && sa_json_add(o, "policy", ju64(g->policy));
	ok = ok && sa_json_add(o, "launch_tcb", ju64(g->launch_tcb));
	ok = ok && sa_json_add(o, "measurement", jhex(g->gctx.ld, sizeof(g->gctx.ld)));
	ok = ok && sa_json_add(o, "pages", json_object_new_int64(g->pages));
	if (g->has_secrets)
		ok = ok && sa_json_add(o, "secrets_gpa", ju64(g->secrets_gpa));
	ok = ok && sa_json_add(o, "host_data", jhex(g->host_data, sizeof(g->host_data)));
	ok = ok && sa_json_add(o, "id_block", json_object_new_boolean(g->id_block_en));
	ok = ok && sa_json_add(o, "author_key", json_object_new_boolean(g->author_key_en));
	ok = ok && sa_json_add(o, "family_id", jhex(g->family_id, sizeof(g->family_id)));
	ok = ok && sa_json_add(o, "image_id", jhex(g->image_id, sizeof(g->image_id)));
	ok = ok && sa_json_add(o, "guest_svn", json_object_new_int64(g->guest_svn));
	ok = ok && sa_json_add(o, "id_key_digest", jhex(g->id_key_digest, sizeof(g->id_key_digest)));
	ok = ok && sa_json_add(o, "author_key_digest", jhex(g->author_key_digest, sizeof(g->author_key_digest)));
	ok = ok && sa_json_add(o, "report_id", jhex(g->report_id, sizeof(g->report_id)));
	ok = ok && sa_json_add(o, "report_id_ma", jhex(g->report_id_ma, sizeof(g->report_id_ma)));
	json_object *seq = ok ? json_object_new_array() : NULL;
	ok = ok && sa_json_add(o, "seqno", seq);
	for (size_t i = 0; ok && i < SA_VMPCK_COUNT; i++) {
		json_object *n = json_object_new_int64((int64_t)g->seqno[i]);
		ok = n && json_object_array_add(seq, n) == 0;
		if (!ok)
			json_object_put(n);
	}
	sa_status st = ok ? jwrite(e->dir, rel, o, 0600, err)
			  : sa_error_set(err, SA_ERR_NOMEM, "%s: out of memory building JSON", rel);
	json_object_put(o);
	return st;
}

sa_status emu_guest_save_keys(const sa_emu *e, const emu_guest *g, sa_error *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".keys", g->handle);
	uint8_t buf[KEYS_FILE_SIZE];
	memcpy(buf, KEYS_MAGIC, 8);
	memcpy(buf + 8, g->vmpck, sizeof(g->vmpck));
	memcpy(buf + 8 + sizeof(g->vmpck), g->vmrk, sizeof(g->vmrk));
	sa_status st = emu_write(e->dir, rel, buf, sizeof(buf), 0600, err);
	OPENSSL_cleanse(buf, sizeof(buf));
	return st;
}

static sa_status guest_keys_load(const char *dir, emu_guest *g, sa_error *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".keys", g->handle);
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(read_secret(dir, rel, KEYS_FILE_SIZE, &buf, &len, err));
	sa_status st = SA_OK;
	if (len != KEYS_FILE_SIZE || memcmp(buf, KEYS_MAGIC, 8) != 0) {
		st = sa_error_set(err, SA_ERR_FORMAT, "%s: expected %d bytes starting with %s", rel, KEYS_FILE_SIZE,
				  KEYS_MAGIC);
	} else {
		memcpy(g->vmpck, buf + 8, sizeof(g->vmpck));
		memcpy(g->vmrk, buf + 8 + sizeof(g->vmpck), sizeof(g->vmrk));
	}
	secret_free(buf, len);
	return st;
}

static sa_status guest_from_json(json_object *o, emu_guest *g, const char *f, sa_error *err)
{
	static const char *const keys[] = {
	    "format",        "version",           "handle",    "state",        "policy",
	    "launch_tcb",    "measurement",       "pages",     "secrets_gpa",  "host_data",
	    "id_block",      "author_key",        "family_id", "image_id",     "guest_svn",
	    "id_key_digest", "author_key_digest", "report_id", "report_id_ma", "seqno",
	};
	SA_TRY(jcheck_keys(o, keys, SA_ARRAY_LEN(keys), f, err));
	SA_TRY(jget_format(o, GUEST_FORMAT, f, err));
	uint32_t handle;
	SA_TRY(jget_u32(o, "handle", 1, UINT32_MAX, &handle, f, err));
	SA_ENSURE(handle == g->handle, err, SA_ERR_FORMAT, "%s: handle is %" PRIu32 ", the file name says %" PRIu32, f,
		  handle, g->handle);
	const char *state;
	SA_TRY(jget_str(o, "state", &state, f, err));
	bool known = false;
	for (int s = EMU_GUEST_LAUNCHING; s <= EMU_GUEST_DECOMMISSIONED && !known; s++) {
		if (strcmp(state, emu_guest_state_name((emu_guest_state)s)) == 0) {
			g->state = (emu_guest_state)s;
			known = true;
		}
	}
	SA_ENSURE(known, err, SA_ERR_FORMAT, "%s: state '%.40s' is not launching, running or decommissioned", f, state);
	SA_TRY(jget_u64(o, "policy", &g->policy, f, err));
	sa_error e2;
	if (sa_policy_check_wellformed(g->policy, &e2) != SA_OK)
		return sa_error_set(err, SA_ERR_FORMAT, "%s: %s", f, e2.msg);
	SA_TRY(jget_u64(o, "launch_tcb", &g->launch_tcb, f, err));
	SA_TRY(jget_hex(o, "measurement", g->gctx.ld, sizeof(g->gctx.ld), f, err));
	SA_TRY(jget_u32(o, "pages", 0, UINT32_MAX, &g->pages, f, err));
	json_object *v = NULL;
	g->has_secrets = json_object_object_get_ex(o, "secrets_gpa", &v);
	if (g->has_secrets) {
		SA_TRY(jget_u64(o, "secrets_gpa", &g->secrets_gpa, f, err));
		SA_ENSURE((g->secrets_gpa & (SA_PAGE_SIZE - 1)) == 0, err, SA_ERR_FORMAT,
			  "%s: secrets_gpa is not page aligned", f);
	}
	SA_TRY(jget_hex(o, "host_data", g->host_data, sizeof(g->host_data), f, err));
	SA_TRY(jget_bool(o, "id_block", &g->id_block_en, f, err));
	SA_TRY(jget_bool(o, "author_key", &g->author_key_en, f, err));
	SA_ENSURE(!g->author_key_en || g->id_block_en, err, SA_ERR_FORMAT, "%s: author_key is set without id_block", f);
	SA_TRY(jget_hex(o, "family_id", g->family_id, sizeof(g->family_id), f, err));
	SA_TRY(jget_hex(o, "image_id", g->image_id, sizeof(g->image_id), f, err));
	SA_TRY(jget_u32(o, "guest_svn", 0, UINT32_MAX, &g->guest_svn, f, err));
	SA_TRY(jget_hex(o, "id_key_digest", g->id_key_digest, sizeof(g->id_key_digest), f, err));
	SA_TRY(jget_hex(o, "author_key_digest", g->author_key_digest, sizeof(g->author_key_digest), f, err));
	SA_TRY(jget_hex(o, "report_id", g->report_id, sizeof(g->report_id), f, err));
	SA_TRY(jget_hex(o, "report_id_ma", g->report_id_ma, sizeof(g->report_id_ma), f, err));
	json_object *seq;
	SA_TRY(jfield(o, "seqno", json_type_array, &seq, f, err));
	SA_ENSURE(json_object_array_length(seq) == SA_VMPCK_COUNT, err, SA_ERR_FORMAT,
		  "%s: seqno must hold %d counters", f, SA_VMPCK_COUNT);
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++) {
		json_object *n = json_object_array_get_idx(seq, i);
		errno = 0;
		int64_t x = n && json_object_is_type(n, json_type_int) ? json_object_get_int64(n) : -1;
		SA_ENSURE(errno == 0 && x >= 0 && x < INT64_MAX, err, SA_ERR_FORMAT,
			  "%s: seqno[%zu] must be a non-negative integer", f, i);
		g->seqno[i] = (uint64_t)x;
	}
	return SA_OK;
}

/* ---- the counter journal (guests/<handle>.seq) ---- */

#define SEQ_MAGIC "SASEQ\x01\0\0"
#define SEQ_SLOT_SIZE 512 /* one slot per sector, so a torn write touches one slot only */
#define SEQ_FILE_SIZE (2 * SEQ_SLOT_SIZE)
#define SEQ_BODY_SIZE (8 + 8 + 8 * SA_VMPCK_COUNT)
#define SEQ_RECORD_SIZE (SEQ_BODY_SIZE + 32)

static sa_status seq_encode(uint64_t gen, const uint64_t seqno[SA_VMPCK_COUNT], uint8_t out[SEQ_RECORD_SIZE],
			    sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, SEQ_RECORD_SIZE);
	SA_TRY(sa_write_bytes(&w, SEQ_MAGIC, 8, "seq magic", err));
	SA_TRY(sa_write_u64(&w, gen, "seq generation", err));
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++)
		SA_TRY(sa_write_u64(&w, seqno[i], "seq counter", err));
	uint8_t digest[32];
	SA_TRY(sa_sha256(out, SEQ_BODY_SIZE, digest, err));
	return sa_write_bytes(&w, digest, sizeof(digest), "seq digest", err);
}

/* Decode one slot; false if it is not a valid record (never written, torn, or damaged). */
static bool seq_decode(const uint8_t *slot, size_t len, uint64_t *gen, uint64_t seqno[SA_VMPCK_COUNT])
{
	sa_reader r;
	sa_reader_init(&r, slot, len);
	const uint8_t *magic, *digest;
	uint8_t want[32];
	if (sa_read_view(&r, &magic, 8, "seq magic", NULL) != SA_OK || memcmp(magic, SEQ_MAGIC, 8) != 0)
		return false;
	if (sa_read_u64(&r, gen, "seq generation", NULL) != SA_OK)
		return false;
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++)
		if (sa_read_u64(&r, &seqno[i], "seq counter", NULL) != SA_OK)
			return false;
	if (sa_read_view(&r, &digest, 32, "seq digest", NULL) != SA_OK || sa_sha256(slot, SEQ_BODY_SIZE, want, NULL))
		return false;
	return memcmp(digest, want, 32) == 0 && *gen > 0;
}

sa_status emu_seqno_begin(sa_emu *e, emu_guest *g, const uint64_t seqno[SA_VMPCK_COUNT], bool *pending,
			  sa_error *err)
{
	*pending = false;
	char rel[32], path[EMU_PATH_MAX];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".seq", g->handle);
	SA_TRY(emu_path(e->dir, rel, path, sizeof(path), err));
	uint64_t gen = g->seq_gen + 1;
	uint8_t rec[SEQ_RECORD_SIZE];
	SA_TRY(seq_encode(gen, seqno, rec, err));
	bool created = false;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = fd >= 0;
	}
	SA_ENSURE(fd >= 0, err, SA_ERR_IO, "%s: cannot open: %s", rel, strerror(errno));
	off_t at = (off_t)(gen & 1) * SEQ_SLOT_SIZE;
	ssize_t w = pwrite(fd, rec, sizeof(rec), at);
	int e1 = w == (ssize_t)sizeof(rec) ? 0 : (w < 0 ? errno : EIO);
	if (!e1 && created && ftruncate(fd, SEQ_FILE_SIZE) != 0)
		e1 = errno;
	if (e1) {
		close(fd);
		return sa_error_set(err, SA_ERR_IO, "%s: cannot write the message counters: %s", rel, strerror(e1));
	}
	/* From here the sequence number is consumed, whether or not a response follows. */
	memcpy(g->seqno, seqno, sizeof(g->seqno));
	g->seq_gen = gen;
	if (created) {
		/* The first record: file and name must be durable; done here, once per guest. */
		e1 = fdatasync(fd) == 0 ? 0 : errno;
		if (close(fd) != 0 && !e1)
			e1 = errno;
		SA_ENSURE(!e1, err, SA_ERR_IO, "%s: cannot sync the message counters: %s", rel, strerror(e1));
		return sync_parent(path, err);
	}
	emu_syncer_submit(&e->syncer, fd);
	*pending = true;
	return SA_OK;
}

sa_status emu_seqno_end(sa_emu *e, const emu_guest *g, bool pending, sa_error *err)
{
	if (!pending)
		return SA_OK;
	int e1 = emu_syncer_wait(&e->syncer);
	SA_ENSURE(!e1, err, SA_ERR_IO, "guests/%" PRIu32 ".seq: cannot sync the message counters: %s", g->handle,
		  strerror(e1));
	return SA_OK;
}

/* Merge the journal into g: each counter becomes the larger of the two. */
static sa_status seq_load(const char *dir, emu_guest *g, sa_error *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".seq", g->handle);
	if (!emu_exists(dir, rel))
		return SA_OK; /* no request answered since the JSON was written */
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(emu_read(dir, rel, SEQ_FILE_SIZE, &buf, &len, err));
	uint64_t best_gen = 0, best[SA_VMPCK_COUNT] = {0};
	for (size_t slot = 0; slot < 2; slot++) {
		uint64_t gen, seq[SA_VMPCK_COUNT];
		size_t off = slot * SEQ_SLOT_SIZE;
		if (off < len && seq_decode(buf + off, len - off, &gen, seq) && gen > best_gen) {
			best_gen = gen;
			memcpy(best, seq, sizeof(best));
		}
	}
	free(buf);
	SA_ENSURE(best_gen > 0, err, SA_ERR_FORMAT,
		  "%s: no valid counter record (both slots damaged); refusing to guess the PSP's message counters", rel);
	g->seq_gen = best_gen;
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++)
		if (best[i] > g->seqno[i])
			g->seqno[i] = best[i];
	return SA_OK;
}

static sa_status guest_load(const char *dir, uint32_t handle, emu_guest **out, sa_error *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".json", handle);
	json_object *o = NULL;
	SA_TRY(jload(dir, rel, &o, err));
	sa_status st;
	emu_guest *g = calloc(1, sizeof(*g));
	if (!g) {
		json_object_put(o);
		return sa_error_set(err, SA_ERR_NOMEM, "out of memory loading %s", rel);
	}
	g->handle = handle;
	st = guest_from_json(o, g, rel, err);
	json_object_put(o);
	if (st == SA_OK && g->state != EMU_GUEST_DECOMMISSIONED)
		st = guest_keys_load(dir, g, err);
	if (st == SA_OK && g->state != EMU_GUEST_DECOMMISSIONED)
		st = seq_load(dir, g, err);
	if (st != SA_OK) {
		emu_guest_free(g);
		return st;
	}
	*out = g;
	return SA_OK;
}

/* "<handle><suffix>" with a canonical decimal handle in 1..2^32-1. */
static bool parse_handle_name(const char *name, const char *suffix, uint32_t *handle)
{
	size_t n = strlen(name), sl = strlen(suffix);
	if (n <= sl || n - sl > 10 || strcmp(name + n - sl, suffix) != 0 || name[0] == '0')
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n - sl; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return false;
	*handle = (uint32_t)v;
	return true;
}

static const emu_guest *find_loaded(const sa_emu *e, uint32_t handle)
{
	for (size_t i = 0; i < e->n_guests; i++)
		if (e->guests[i]->handle == handle)
			return e->guests[i];
	return NULL;
}

static int guest_cmp(const void *a, const void *b)
{
	const emu_guest *ga = *(const emu_guest *const *)a, *gb = *(const emu_guest *const *)b;
	return ga->handle < gb->handle ? -1 : ga->handle > gb->handle;
}

static sa_status guests_push(sa_emu *e, emu_guest *g, sa_error *err)
{
	if (e->n_guests == e->cap_guests) {
		size_t cap = e->cap_guests ? 2 * e->cap_guests : 16;
		emu_guest **v = realloc(e->guests, cap * sizeof(*v));
		SA_ENSURE(v, err, SA_ERR_NOMEM, "out of memory loading guests");
		e->guests = v;
		e->cap_guests = cap;
	}
	e->guests[e->n_guests++] = g;
	return SA_OK;
}

/* Keys and certificate tables of guests that are gone: a launch that crashed before its JSON, or a decommission. */
static void remove_orphans(sa_emu *e, DIR *dp)
{
	rewinddir(dp);
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		uint32_t h;
		if (!parse_handle_name(de->d_name, ".keys", &h) && !parse_handle_name(de->d_name, ".certs", &h) &&
		    !parse_handle_name(de->d_name, ".seq", &h))
			continue;
		const emu_guest *g = find_loaded(e, h);
		if (!g || g->state == EMU_GUEST_DECOMMISSIONED) {
			char rel[320];
			snprintf(rel, sizeof(rel), "guests/%s", de->d_name);
			emu_remove_quiet(e->dir, rel);
		}
	}
}

sa_status emu_guests_load(sa_emu *e, sa_error *err)
{
	char gdir[EMU_PATH_MAX];
	SA_TRY(emu_path(e->dir, "guests", gdir, sizeof(gdir), err));
	DIR *dp = opendir(gdir);
	SA_ENSURE(dp, err, SA_ERR_IO, "cannot open %s: %s", gdir, strerror(errno));
	sa_status st = SA_OK;
	struct dirent *de;
	while (st == SA_OK && (de = readdir(dp)) != NULL) {
		uint32_t h;
		if (!parse_handle_name(de->d_name, ".json", &h))
			continue;
		emu_guest *g = NULL;
		st = guest_load(e->dir, h, &g, err);
		if (st == SA_OK && (st = guests_push(e, g, err)) != SA_OK)
			emu_guest_free(g);
		if (st == SA_OK && h >= e->p.next_handle)
			e->p.next_handle = h == UINT32_MAX ? h : h + 1; /* a guest written before next_handle moved */
	}
	if (st == SA_OK) {
		if (e->n_guests > 1)
			qsort(e->guests, e->n_guests, sizeof(*e->guests), guest_cmp);
		remove_orphans(e, dp);
	}
	closedir(dp);
	return st;
}

/* ------------------------------------------------------------------------- */
/* SEV / SEV-ES (legacy) state                                                */
/* ------------------------------------------------------------------------- */

#define SEV_META_FILE "sev.json"
#define SEV_META_FORMAT "sevattest-emu-sev"
#define SEV_GUEST_FORMAT "sevattest-emu-sev-guest"
#define SEV_KEYS_MAGIC "SAEMUSK1"
#define SEV_SECRET_REC 12 /* u64 gpa, u32 len */
#define SEV_KEYS_MAX (8 + 2 * SA_SEV_KEY_SIZE + 4 + EMU_SEV_SECRETS_MAX * (SEV_SECRET_REC + SA_SEV_SECRET_MAX))

sa_status emu_sev_meta_save(const sa_emu *e, const emu_sev_meta *m, sa_error *err)
{
	json_object *o = json_object_new_object();
	bool ok = o != NULL;
	ok = ok && sa_json_add(o, "format", json_object_new_string(SEV_META_FORMAT));
	ok = ok && sa_json_add(o, "version", json_object_new_int(STATE_VERSION));
	ok = ok && sa_json_add(o, "generation", json_object_new_int64(m->generation));
	ok = ok && sa_json_add(o, "owner_external", json_object_new_boolean(m->owner_external));
	ok = ok && sa_json_add(o, "config_es", json_object_new_boolean(m->config_es));
	sa_status st = ok ? jwrite(e->dir, SEV_META_FILE, o, 0644, err)
			  : sa_error_set(err, SA_ERR_NOMEM, "%s: out of memory building JSON", SEV_META_FILE);
	json_object_put(o);
	return st;
}

sa_status emu_sev_meta_load(const char *dir, emu_sev_meta *m, sa_error *err)
{
	if (!emu_exists(dir, SEV_META_FILE))
		return sa_error_set(err, SA_ERR_NOT_FOUND, "%s/%s: absent", dir, SEV_META_FILE);
	json_object *o = NULL;
	SA_TRY(jload(dir, SEV_META_FILE, &o, err));
	sa_status st;
	static const char *const keys[] = {"format", "version", "generation", "owner_external", "config_es"};
	const char *f = SEV_META_FILE;
	emu_sev_meta x;
	memset(&x, 0, sizeof(x));
	st = jcheck_keys(o, keys, SA_ARRAY_LEN(keys), f, err);
	if (st == SA_OK)
		st = jget_format(o, SEV_META_FORMAT, f, err);
	if (st == SA_OK)
		st = jget_u32(o, "generation", 1, UINT32_MAX, &x.generation, f, err);
	if (st == SA_OK)
		st = jget_bool(o, "owner_external", &x.owner_external, f, err);
	if (st == SA_OK)
		st = jget_bool(o, "config_es", &x.config_es, f, err);
	json_object_put(o);
	if (st == SA_OK)
		*m = x;
	return st;
}

static const char *sev_gstate_name(uint8_t state, bool decommissioned)
{
	if (decommissioned)
		return "decommissioned";
	switch (state) {
	case SA_EMU_SEV_GSTATE_LUPDATE: return "launch-update";
	case SA_EMU_SEV_GSTATE_LSECRET: return "launch-secret";
	case SA_EMU_SEV_GSTATE_RUNNING: return "running";
	}
	return "unknown";
}

sa_status emu_sev_guest_save(const sa_emu *e, const emu_sev_guest *g, sa_error *err)
{
	char rel[40];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.json", g->handle);
	SA_ENSURE(g->state != SA_EMU_SEV_GSTATE_LUPDATE, err, SA_ERR_STATE,
		  "%s: a guest still launching is not persisted", rel);
	json_object *o = json_object_new_object();
	bool ok = o != NULL;
	ok = ok && sa_json_add(o, "format", json_object_new_string(SEV_GUEST_FORMAT));
	ok = ok && sa_json_add(o, "version", json_object_new_int(STATE_VERSION));
	ok = ok && sa_json_add(o, "handle", json_object_new_int64(g->handle));
	ok = ok && sa_json_add(o, "state", json_object_new_string(sev_gstate_name(g->state, g->decommissioned)));
	ok = ok && sa_json_add(o, "policy", json_object_new_int64(g->policy));
	ok = ok && sa_json_add(o, "vmsas", json_object_new_int64(g->vmsas));
	ok = ok && sa_json_add(o, "launch_digest", jhex(g->launch_digest, sizeof(g->launch_digest)));
	ok = ok && sa_json_add(o, "measure", jhex(g->measure, sizeof(g->measure)));
	ok = ok && sa_json_add(o, "mnonce", jhex(g->mnonce, sizeof(g->mnonce)));
	sa_status st = ok ? jwrite(e->dir, rel, o, 0600, err)
			  : sa_error_set(err, SA_ERR_NOMEM, "%s: out of memory building JSON", rel);
	json_object_put(o);
	return st;
}

sa_status emu_sev_guest_save_keys(const sa_emu *e, const emu_sev_guest *g, sa_error *err)
{
	char rel[40];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.keys", g->handle);
	SA_ENSURE(g->n_secrets <= EMU_SEV_SECRETS_MAX, err, SA_ERR_RANGE, "%s: %" PRIu32 " secrets, at most %d", rel,
		  g->n_secrets, EMU_SEV_SECRETS_MAX);
	size_t cap = 8 + 2 * SA_SEV_KEY_SIZE + 4;
	for (uint32_t i = 0; i < g->n_secrets; i++)
		cap += SEV_SECRET_REC + g->secrets[i].len; /* each len <= SA_SEV_SECRET_MAX: no overflow */
	uint8_t *buf = OPENSSL_malloc(cap);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "%s: out of memory", rel);
	sa_writer w;
	sa_writer_init(&w, buf, cap);
	sa_status st = sa_write_bytes(&w, SEV_KEYS_MAGIC, 8, "magic", err);
	if (st == SA_OK)
		st = sa_write_bytes(&w, g->tks.tek, SA_SEV_KEY_SIZE, "TEK", err);
	if (st == SA_OK)
		st = sa_write_bytes(&w, g->tks.tik, SA_SEV_KEY_SIZE, "TIK", err);
	if (st == SA_OK)
		st = sa_write_u32(&w, g->n_secrets, "secret count", err);
	for (uint32_t i = 0; st == SA_OK && i < g->n_secrets; i++) {
		st = sa_write_u64(&w, g->secrets[i].gpa, "secret GPA", err);
		if (st == SA_OK)
			st = sa_write_u32(&w, (uint32_t)g->secrets[i].len, "secret length", err);
		if (st == SA_OK)
			st = sa_write_bytes(&w, g->secrets[i].data, g->secrets[i].len, "secret", err);
	}
	if (st == SA_OK)
		st = emu_write(e->dir, rel, buf, cap, 0600, err);
	OPENSSL_clear_free(buf, cap);
	return st;
}

static sa_status sev_keys_decode(const uint8_t *buf, size_t len, emu_sev_guest *g, const char *f, sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	const uint8_t *magic;
	SA_TRY(sa_read_view(&r, &magic, 8, "magic", err));
	SA_ENSURE(memcmp(magic, SEV_KEYS_MAGIC, 8) == 0, err, SA_ERR_FORMAT, "%s: does not start with %s", f,
		  SEV_KEYS_MAGIC);
	SA_TRY(sa_read_bytes(&r, g->tks.tek, SA_SEV_KEY_SIZE, "TEK", err));
	SA_TRY(sa_read_bytes(&r, g->tks.tik, SA_SEV_KEY_SIZE, "TIK", err));
	uint32_t n;
	SA_TRY(sa_read_u32(&r, &n, "secret count", err));
	SA_ENSURE(n <= EMU_SEV_SECRETS_MAX, err, SA_ERR_FORMAT, "%s: %" PRIu32 " secrets, at most %d", f, n,
		  EMU_SEV_SECRETS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		emu_sev_secret *x = &g->secrets[i];
		uint32_t slen;
		const uint8_t *data;
		SA_TRY(sa_read_u64(&r, &x->gpa, "secret GPA", err));
		SA_TRY(sa_read_u32(&r, &slen, "secret length", err));
		SA_ENSURE(slen > 0 && slen <= SA_SEV_SECRET_MAX && slen % 16 == 0, err, SA_ERR_FORMAT,
			  "%s: secret %" PRIu32 " has %" PRIu32 " bytes, expected a multiple of 16 in 16..%d", f, i,
			  slen, SA_SEV_SECRET_MAX);
		SA_TRY(sa_read_view(&r, &data, slen, "secret", err));
		x->data = OPENSSL_malloc(slen);
		SA_ENSURE(x->data, err, SA_ERR_NOMEM, "%s: out of memory", f);
		memcpy(x->data, data, slen);
		x->len = slen;
		g->n_secrets = i + 1;
	}
	return sa_reader_expect_end(&r, f, err);
}

static sa_status sev_guest_from_json(json_object *o, emu_sev_guest *g, const char *f, sa_error *err)
{
	static const char *const keys[] = {"format",        "version", "handle", "state", "policy", "vmsas",
					   "launch_digest", "measure", "mnonce"};
	SA_TRY(jcheck_keys(o, keys, SA_ARRAY_LEN(keys), f, err));
	SA_TRY(jget_format(o, SEV_GUEST_FORMAT, f, err));
	uint32_t handle;
	SA_TRY(jget_u32(o, "handle", 1, UINT32_MAX, &handle, f, err));
	SA_ENSURE(handle == g->handle, err, SA_ERR_FORMAT, "%s: handle is %" PRIu32 ", the file name says %" PRIu32, f,
		  handle, g->handle);
	const char *state;
	SA_TRY(jget_str(o, "state", &state, f, err));
	if (strcmp(state, "decommissioned") == 0) {
		g->decommissioned = true;
	} else if (strcmp(state, sev_gstate_name(SA_EMU_SEV_GSTATE_LSECRET, false)) == 0) {
		g->state = SA_EMU_SEV_GSTATE_LSECRET;
	} else {
		SA_ENSURE(strcmp(state, sev_gstate_name(SA_EMU_SEV_GSTATE_RUNNING, false)) == 0, err, SA_ERR_FORMAT,
			  "%s: state '%.40s' is not launch-secret, running or decommissioned", f, state);
		g->state = SA_EMU_SEV_GSTATE_RUNNING;
	}
	SA_TRY(jget_u32(o, "policy", 0, UINT32_MAX, &g->policy, f, err));
	SA_ENSURE(!(g->policy & SA_SEV_POLICY_RESERVED), err, SA_ERR_FORMAT,
		  "%s: policy 0x%08" PRIx32 " has reserved bits 15:6 set", f, g->policy);
	SA_TRY(jget_u32(o, "vmsas", 0, UINT32_MAX, &g->vmsas, f, err));
	SA_ENSURE(!g->vmsas || (g->policy & SA_SEV_POLICY_ES), err, SA_ERR_FORMAT,
		  "%s: %" PRIu32 " VMSAs measured for a policy without ES", f, g->vmsas);
	SA_TRY(jget_hex(o, "launch_digest", g->launch_digest, sizeof(g->launch_digest), f, err));
	SA_TRY(jget_hex(o, "measure", g->measure, sizeof(g->measure), f, err));
	return jget_hex(o, "mnonce", g->mnonce, sizeof(g->mnonce), f, err);
}

static sa_status sev_guest_load(const char *dir, uint32_t handle, emu_sev_guest **out, sa_error *err)
{
	char rel[40];
	snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.json", handle);
	json_object *o = NULL;
	SA_TRY(jload(dir, rel, &o, err));
	sa_status st;
	emu_sev_guest *g = calloc(1, sizeof(*g));
	if (!g) {
		json_object_put(o);
		return sa_error_set(err, SA_ERR_NOMEM, "out of memory loading %s", rel);
	}
	g->handle = handle;
	st = sev_guest_from_json(o, g, rel, err);
	json_object_put(o);
	if (st == SA_OK && !g->decommissioned) {
		snprintf(rel, sizeof(rel), "guests/%" PRIu32 ".sev.keys", handle);
		uint8_t *buf = NULL;
		size_t len = 0;
		st = read_secret(dir, rel, SEV_KEYS_MAX, &buf, &len, err);
		if (st == SA_OK) {
			st = sev_keys_decode(buf, len, g, rel, err);
			secret_free(buf, len);
		}
	}
	if (st != SA_OK) {
		emu_sev_guest_free(g);
		return st;
	}
	*out = g;
	return SA_OK;
}

void emu_sev_guest_free(emu_sev_guest *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; i < g->n_secrets && i < EMU_SEV_SECRETS_MAX; i++)
		if (g->secrets[i].data)
			OPENSSL_clear_free(g->secrets[i].data, g->secrets[i].len);
	EVP_MD_CTX_free(g->ld_ctx);
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
}

static int sev_guest_cmp(const void *a, const void *b)
{
	const emu_sev_guest *ga = *(const emu_sev_guest *const *)a, *gb = *(const emu_sev_guest *const *)b;
	return ga->handle < gb->handle ? -1 : ga->handle > gb->handle;
}

sa_status emu_sev_guests_push(sa_emu *e, emu_sev_guest *g, sa_error *err)
{
	if (e->n_sev_guests == e->cap_sev_guests) {
		size_t cap = e->cap_sev_guests ? 2 * e->cap_sev_guests : 16;
		emu_sev_guest **v = realloc(e->sev_guests, cap * sizeof(*v));
		SA_ENSURE(v, err, SA_ERR_NOMEM, "out of memory loading SEV guests");
		e->sev_guests = v;
		e->cap_sev_guests = cap;
	}
	e->sev_guests[e->n_sev_guests++] = g;
	return SA_OK;
}

sa_status emu_sev_guests_load(sa_emu *e, sa_error *err)
{
	char gdir[EMU_PATH_MAX];
	SA_TRY(emu_path(e->dir, "guests", gdir, sizeof(gdir), err));
	DIR *dp = opendir(gdir);
	SA_ENSURE(dp, err, SA_ERR_IO, "cannot open %s: %s", gdir, strerror(errno));
	sa_status st = SA_OK;
	struct dirent *de;
	while (st == SA_OK && (de = readdir(dp)) != NULL) {
		uint32_t h;
		if (!parse_handle_name(de->d_name, ".sev.json", &h))
			continue;
		if (find_loaded(e, h)) {
			st = sa_error_set(err, SA_ERR_FORMAT, "guests/%s: handle %" PRIu32 " is also an SNP guest",
					  de->d_name, h);
			break;
		}
		emu_sev_guest *g = NULL;
		st = sev_guest_load(e->dir, h, &g, err);
		if (st == SA_OK && (st = emu_sev_guests_push(e, g, err)) != SA_OK)
			emu_sev_guest_free(g);
		if (st == SA_OK && h >= e->p.next_handle)
			e->p.next_handle = h == UINT32_MAX ? h : h + 1;
	}
	if (st == SA_OK) {
		if (e->n_sev_guests > 1)
			qsort(e->sev_guests, e->n_sev_guests, sizeof(*e->sev_guests), sev_guest_cmp);
		/* Keys of guests that are gone: a crash before the JSON, or a decommission. */
		rewinddir(dp);
		while ((de = readdir(dp)) != NULL) {
			uint32_t h;
			if (!parse_handle_name(de->d_name, ".sev.keys", &h))
				continue;
			const emu_sev_guest *g = emu_sev_find(e, h);
			if (!g || g->decommissioned) {
				char rel[320];
				snprintf(rel, sizeof(rel), "guests/%s", de->d_name);
				emu_remove_quiet(e->dir, rel);
			}
		}
	}
	closedir(dp);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Create                                                                     */
/* ------------------------------------------------------------------------- */

struct product_defaults {
	sa_product product;
	sa_tcb tcb;
	sa_fw_version fw;
	uint8_t fam, mod, step;
};

/* Recent values seen in AMD reports of each generation. */
static const struct product_defaults defaults[] = {
    {SA_PRODUCT_MILAN, {.bl = 4, .tee = 0, .snp = 24, .ucode = 219}, {1, 55, 29}, 0x19, 0x01, 0x01},
    {SA_PRODUCT_GENOA, {.bl = 10, .tee = 0, .snp = 23, .ucode = 84}, {1, 55, 40}, 0x19, 0x11, 0x01},
    {SA_PRODUCT_TURIN,
     {.turin_layout = true, .fmc = 1, .bl = 1, .tee = 1, .snp = 4, .ucode = 81},
     {1, 55, 65},
     0x1A,
     0x02,
     0x01},
};

static sa_status platform_init(const sa_emu_create_opts *o, emu_platform *p, sa_error *err)
{
	memset(p, 0, sizeof(*p));
	p->product = o->product == SA_PRODUCT_UNKNOWN ? SA_PRODUCT_MILAN : o->product;
	const struct product_defaults *d = NULL;
	for (size_t i = 0; i < SA_ARRAY_LEN(defaults); i++)
		if (defaults[i].product == p->product)
			d = &defaults[i];
	SA_ENSURE(d, err, SA_ERR_ARG, "emulator: product %d is not Milan, Genoa or Turin", (int)o->product);
	size_t hl = sa_product_hwid_len(p->product);
	if (o->chip_id) {
		SA_ENSURE(sa_all_zero(o->chip_id + hl, 64 - hl), err, SA_ERR_ARG,
			  "emulator: a %s chip id has %zu bytes, bytes %zu..63 must be zero",
			  sa_product_name(p->product), hl, hl);
		memcpy(p->chip_id, o->chip_id, 64);
	} else if (RAND_bytes(p->chip_id, (int)hl) != 1) {
		return sa_crypto_error(err, "emulator: cannot draw a random chip id");
	}
	if (o->has_tcb) {
		sa_tcb t = o->tcb;
		t.turin_layout = sa_product_turin_layout(p->product);
		if (!t.turin_layout)
			t.fmc = 0;
		p->current_tcb = t.raw ? t.raw : sa_tcb_encode(&t);
		SA_TRY(emu_tcb_check(p->product, p->current_tcb, "emulator: TCB", err));
	} else {
		p->current_tcb = sa_tcb_encode(&d->tcb);
	}
	p->reported_tcb = p->committed_tcb = p->current_tcb;
	p->current_fw = p->committed_fw = o->has_fw ? o->fw : d->fw;
	p->cpuid_fam = d->fam;
	p->cpuid_mod = d->mod;
	p->cpuid_step = d->step;
	/* SMT and TSME enabled, as on a typical host (PLATFORM_INFO 0x3). */
	p->platform_info = SA_PLATFORM_SMT_EN | SA_PLATFORM_TSME_EN;
	p->next_handle = 1;
	p->created = (int64_t)time(NULL);
	return SA_OK;
}

static sa_status dir_is_empty(const char *path, bool *empty, sa_error *err)
{
	DIR *dp = opendir(path);
	SA_ENSURE(dp, err, SA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	*empty = true;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(dp);
	return SA_OK;
}

/* Remove a directory tree we created (two levels deep at most). */
static void rmtree(const char *path, int depth)
{
	DIR *dp = opendir(path);
	if (dp) {
		struct dirent *de;
		while ((de = readdir(dp)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char sub[EMU_PATH_MAX];
			struct stat st;
			if (emu_path(path, de->d_name, sub, sizeof(sub), NULL) != SA_OK || lstat(sub, &st) != 0)
				continue;
			if (S_ISDIR(st.st_mode) && depth > 0)
				rmtree(sub, depth - 1);
			else
				unlink(sub);
		}
		closedir(dp);
	}
	rmdir(path);
}

static sa_status issue_root(const sa_emu *e, sa_cert_role role, uint64_t serial, EVP_PKEY *key, EVP_PKEY *ark_key,
			    sa_cert **out, sa_error *err)
{
	sa_cert_template t = {.role = role,
			      .product = e->p.product,
			      .serial = serial,
			      .subject_key = key,
			      .issuer = role == SA_ROLE_ARK ? NULL : e->ark,
			      .issuer_key = ark_key};
	emu_validity(ROOT_YEARS, role == SA_ROLE_ARK ? 0 : e->ark->not_after, &t.not_before, &t.not_after);
	return sa_cert_issue(&t, out, err);
}

/* Everything of a new platform, written into e->dir (a fresh private directory). */
static sa_status populate(sa_emu *e, unsigned rsa_bits, sa_error *err)
{
	static const char *const subs[] = {"keys", "certs", "guests"};
	for (size_t i = 0; i < SA_ARRAY_LEN(subs); i++) {
		char d[EMU_PATH_MAX];
		SA_TRY(emu_path(e->dir, subs[i], d, sizeof(d), err));
		SA_ENSURE(mkdir(d, 0700) == 0, err, SA_ERR_IO, "cannot create %s: %s", d, strerror(errno));
	}
	if (RAND_priv_bytes(e->chip_secret, sizeof(e->chip_secret)) != 1)
		return sa_crypto_error(err, "cannot draw the chip secret");
	SA_TRY(emu_write(e->dir, "keys/chip_secret", e->chip_secret, sizeof(e->chip_secret), 0600, err));

	EVP_PKEY *ark_key = NULL;
	sa_status st = sa_key_generate_rsa(rsa_bits, &ark_key, err);
	if (st == SA_OK)
		st = sa_key_generate_rsa(rsa_bits, &e->ask_key, err);
	if (st == SA_OK)
		st = sa_key_generate_rsa(rsa_bits, &e->asvk_key, err);
	if (st == SA_OK)
		st = emu_key_save(e->dir, "keys/ark.pem", ark_key, err);
	if (st == SA_OK)
		st = emu_key_save(e->dir, "keys/ask.pem", e->ask_key, err);
	if (st == SA_OK)
		st = emu_key_save(e->dir, "keys/asvk.pem", e->asvk_key, err);
	if (st == SA_OK)
		st = issue_root(e, SA_ROLE_ARK, SERIAL_ARK, ark_key, ark_key, &e->ark, err);
	if (st == SA_OK)
		st = issue_root(e, SA_ROLE_ASK, SERIAL_ASK, e->ask_key, ark_key, &e->ask, err);
	if (st == SA_OK)
		st = issue_root(e, SA_ROLE_ASVK, SERIAL_ASVK, e->asvk_key, ark_key, &e->asvk, err);
	EVP_PKEY_free(ark_key); /* the ARK key stays on disk only: nothing is signed with it after creation */
	if (st == SA_OK)
		st = emu_cert_save(e->dir, "certs/ark.pem", e->ark, true, err);
	if (st == SA_OK)
		st = emu_cert_save(e->dir, "certs/ask.pem", e->ask, true, err);
	if (st == SA_OK)
		st = emu_cert_save(e->dir, "certs/asvk.pem", e->asvk, true, err);
	if (st == SA_OK)
		st = emu_vcek_ensure(e, e->p.reported_tcb, err);
	if (st == SA_OK)
		st = emu_sev_create(e, err);
	/* platform.json last: it is what makes the directory a state directory. */
	if (st == SA_OK)
		st = emu_platform_save(e, &e->p, err);
	return st;
}

static void emu_free(sa_emu *e, bool mutex)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_guests; i++)
		emu_guest_free(e->guests[i]);
	free(e->guests);
	emu_sev_free(e);
	sa_cert_free(e->ark);
	sa_cert_free(e->ask);
	sa_cert_free(e->asvk);
	sa_cert_free(e->vcek);
	sa_cert_free(e->vlek);
	EVP_PKEY_free(e->ask_key);
	EVP_PKEY_free(e->asvk_key);
	EVP_PKEY_free(e->vcek_key);
	EVP_PKEY_free(e->vlek_key);
	OPENSSL_cleanse(e->chip_secret, sizeof(e->chip_secret));
	if (e->lock_fd >= 0)
		close(e->lock_fd); /* releases the flock */
	emu_syncer_destroy(&e->syncer);
	if (mutex)
		pthread_mutex_destroy(&e->mu);
	free(e->dir);
	free(e);
}

/* state_dir without trailing slashes. */
static sa_status normalise_dir(const char *in, char *out, size_t cap, sa_error *err)
{
	size_t n = strlen(in);
	while (n > 1 && in[n - 1] == '/')
		n--;
	SA_ENSURE(n > 0 && n + 16 < cap, err, SA_ERR_ARG, "emulator: state directory path is empty or too long");
	SA_ENSURE(!(n == 1 && in[0] == '/'), err, SA_ERR_ARG,
		  "emulator: the root directory cannot be a state directory");
	memcpy(out, in, n);
	out[n] = '\0';
	return SA_OK;
}

sa_status sa_emu_create(const char *state_dir, const sa_emu_create_opts *opts, sa_error *err)
{
	SA_ENSURE(state_dir, err, SA_ERR_ARG, "emulator: no state directory given");
	sa_emu_create_opts none = {0};
	if (!opts)
		opts = &none;
	char target[EMU_PATH_MAX];
	SA_TRY(normalise_dir(state_dir, target, sizeof(target), err));
	struct stat st;
	if (stat(target, &st) == 0) {
		SA_ENSURE(S_ISDIR(st.st_mode), err, SA_ERR_STATE, "emulator: %s exists and is not a directory", target);
		bool empty = false;
		SA_TRY(dir_is_empty(target, &empty, err));
		SA_ENSURE(empty, err, SA_ERR_STATE, "emulator: %s is not empty, expected an absent or empty directory",
			  target);
	} else {
		SA_ENSURE(errno == ENOENT, err, SA_ERR_IO, "emulator: cannot examine %s: %s", target, strerror(errno));
	}

	sa_emu *e = calloc(1, sizeof(*e));
	SA_ENSURE(e, err, SA_ERR_NOMEM, "emulator: out of memory");
	e->lock_fd = -1;
	sa_status s = platform_init(opts, &e->p, err);
	char tmp[EMU_PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.newXXXXXX", target);
	if (s == SA_OK && !mkdtemp(tmp))
		s = sa_error_set(err, SA_ERR_IO, "emulator: cannot create a directory beside %s: %s", target,
				 strerror(errno));
	bool made = s == SA_OK;
	if (s == SA_OK && !(e->dir = strdup(tmp)))
		s = sa_error_set(err, SA_ERR_NOMEM, "emulator: out of memory");
	if (s == SA_OK)
		s = populate(e, opts->rsa_bits ? opts->rsa_bits : 4096, err);
	if (s == SA_OK && rename(tmp, target) != 0)
		s = sa_error_set(err, SA_ERR_IO, "emulator: cannot move the new state into %s: %s", target,
				 strerror(errno));
	if (s == SA_OK)
		s = sync_parent(target, err);
	else if (made)
		rmtree(tmp, 2);
	emu_free(e, false);
	return s;
}

/* ------------------------------------------------------------------------- */
/* Open and close                                                             */
/* ------------------------------------------------------------------------- */

static sa_status check_key_matches(EVP_PKEY *key, const sa_cert *c, const char *what, sa_error *err)
{
	SA_ENSURE(EVP_PKEY_eq(key, c->pubkey) == 1, err, SA_ERR_FORMAT,
		  "keys/%s.pem does not belong to certs/%s (the public keys differ)", what, what);
	return SA_OK;
}

static sa_status load_root_cert(sa_emu *e, const char *rel, sa_cert_role role, const sa_cert *issuer, sa_cert **out,
				sa_error *err)
{
	SA_TRY(emu_cert_load(e->dir, rel, out, err));
	const sa_cert *c = *out;
	SA_ENSURE(c->role == role && c->product == e->p.product, err, SA_ERR_FORMAT,
		  "%s: is a %s of %s, expected a %s of %s", rel, sa_cert_role_name(c->role),
		  sa_product_name(c->product), sa_cert_role_name(role), sa_product_name(e->p.product));
	sa_status st = sa_cert_verify_signed_by(c, issuer ? issuer : c, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", rel);
	return SA_OK;
}

static sa_status load_vlek(sa_emu *e, sa_error *err)
{
	char krel[64], crel[64];
	snprintf(krel, sizeof(krel), "keys/vlek-%" PRIu32 ".pem", e->p.vlek_generation);
	snprintf(crel, sizeof(crel), "certs/vlek-%" PRIu32 ".der", e->p.vlek_generation);
	SA_TRY(emu_key_load(e->dir, krel, &e->vlek_key, err));
	SA_TRY(emu_cert_load(e->dir, crel, &e->vlek, err));
	const sa_cert *c = e->vlek;
	SA_ENSURE(c->role == SA_ROLE_VLEK && c->ext.has_csp_id && strcmp(c->ext.csp_id, e->p.vlek_csp_id) == 0, err,
		  SA_ERR_FORMAT, "%s: expected the VLEK of '%s' named in %s", crel, e->p.vlek_csp_id, PLATFORM_FILE);
	SA_ENSURE(EVP_PKEY_eq(e->vlek_key, c->pubkey) == 1, err, SA_ERR_FORMAT, "%s does not belong to %s", krel, crel);
	sa_status st = sa_cert_verify_signed_by(c, e->asvk, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", crel);
	return SA_OK;
}

void emu_remove_generations(const sa_emu *e, const char *sub, const char *prefix, const char *suffix, uint32_t keep)
{
	char d[EMU_PATH_MAX];
	if (emu_path(e->dir, sub, d, sizeof(d), NULL) != SA_OK)
		return;
	DIR *dp = opendir(d);
	if (!dp)
		return;
	size_t pl = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		uint32_t gen;
		if (strncmp(de->d_name, prefix, pl) != 0 || !parse_handle_name(de->d_name + pl, suffix, &gen) ||
		    gen == keep)
			continue;
		char rel[320];
		snprintf(rel, sizeof(rel), "%s/%s", sub, de->d_name);
		emu_remove_quiet(e->dir, rel);
	}
	closedir(dp);
}

/* Files of VLEK generations other than the current one (a crash between writing them and platform.json). */
static void remove_stale_vleks(sa_emu *e)
{
	uint32_t keep = e->p.vlek_loaded ? e->p.vlek_generation : 0;
	emu_remove_generations(e, "keys", "vlek-", ".pem", keep);
	emu_remove_generations(e, "certs", "vlek-", ".der", keep);
}

static sa_status lock_dir(sa_emu *e, sa_error *err)
{
	char path[EMU_PATH_MAX];
	SA_TRY(emu_path(e->dir, "lock", path, sizeof(path), err));
	e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	SA_ENSURE(e->lock_fd >= 0, err, SA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (flock(e->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		SA_ENSURE(errno != EWOULDBLOCK, err, SA_ERR_STATE, "%s is in use by another emulator instance", e->dir);
		return sa_error_set(err, SA_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
	}
	return SA_OK;
}

static sa_status open_state(sa_emu *e, sa_error *err)
{
	SA_ENSURE(emu_exists(e->dir, PLATFORM_FILE), err, SA_ERR_NOT_FOUND,
		  "%s has no %s: not an emulator state directory", e->dir, PLATFORM_FILE);
	SA_TRY(lock_dir(e, err));
	emu_clean_tmp(e->dir);
	SA_TRY(emu_platform_load(e->dir, &e->p, err));

	uint8_t *secret = NULL;
	size_t len = 0;
	SA_TRY(read_secret(e->dir, "keys/chip_secret", 4096, &secret, &len, err));
	bool ok = len == sizeof(e->chip_secret);
	if (ok)
		memcpy(e->chip_secret, secret, len);
	secret_free(secret, len);
	SA_ENSURE(ok, err, SA_ERR_FORMAT, "keys/chip_secret: %zu bytes, expected %zu", len, sizeof(e->chip_secret));

	SA_TRY(load_root_cert(e, "certs/ark.pem", SA_ROLE_ARK, NULL, &e->ark, err));
	SA_TRY(load_root_cert(e, "certs/ask.pem", SA_ROLE_ASK, e->ark, &e->ask, err));
	SA_TRY(load_root_cert(e, "certs/asvk.pem", SA_ROLE_ASVK, e->ark, &e->asvk, err));
	SA_TRY(emu_key_load(e->dir, "keys/ask.pem", &e->ask_key, err));
	SA_TRY(check_key_matches(e->ask_key, e->ask, "ask", err));
	SA_TRY(emu_key_load(e->dir, "keys/asvk.pem", &e->asvk_key, err));
	SA_TRY(check_key_matches(e->asvk_key, e->asvk, "asvk", err));
	if (e->p.vlek_loaded)
		SA_TRY(load_vlek(e, err));
	remove_stale_vleks(e);
	SA_TRY(emu_vcek_ensure(e, e->p.reported_tcb, err));
	SA_TRY(emu_guests_load(e, err));
	return emu_sev_open(e, err);
}

sa_status sa_emu_open(const char *state_dir, sa_emu **out, sa_error *err)
{
	SA_ENSURE(state_dir && out, err, SA_ERR_ARG, "emulator: missing state directory or output");
	struct stat st;
	if (stat(state_dir, &st) != 0)
		return sa_error_set(err, errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "emulator: cannot open %s: %s",
				    state_dir, strerror(errno));
	SA_ENSURE(S_ISDIR(st.st_mode), err, SA_ERR_ARG, "emulator: %s is not a directory", state_dir);
	SA_ENSURE(!(st.st_mode & 022), err, SA_ERR_STATE,
		  "emulator: %s is writable by group or others (mode %03o), expected 0700", state_dir,
		  (unsigned)(st.st_mode & 0777));
	sa_emu *e = calloc(1, sizeof(*e));
	SA_ENSURE(e, err, SA_ERR_NOMEM, "emulator: out of memory");
	e->lock_fd = -1;
	if (pthread_mutex_init(&e->mu, NULL) != 0) {
		free(e);
		return sa_error_set(err, SA_ERR_NOMEM, "emulator: cannot create a mutex");
	}
	sa_status si = emu_syncer_init(&e->syncer, err);
	if (si != SA_OK) {
		pthread_mutex_destroy(&e->mu);
		free(e);
		return si;
	}
	sa_status s = (e->dir = strdup(state_dir)) ? open_state(e, err)
						   : sa_error_set(err, SA_ERR_NOMEM, "emulator: out of memory");
	if (s != SA_OK) {
		emu_free(e, true);
		return sa_error_wrap(err, s, "emulator state %s", state_dir);
	}
	*out = e;
	return SA_OK;
}

void sa_emu_close(sa_emu *e) { emu_free(e, true); }
