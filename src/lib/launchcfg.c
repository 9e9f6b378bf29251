/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QEMU's -object sev-guest / sev-snp-guest option (launchcfg.h): the keyval
 * and JSON syntaxes into one list of (key, value) entries, then the schema's
 * properties taken from it in QEMU's order (qom-type, id, the common
 * properties, the type's own), then whatever is left is unexpected.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sevattest/encoding.h"
#include "sevattest/launchcfg.h"
#include "sevattest/sev.h"

#include "internal.h"

#define MAX_ENTRIES 64
#define KEY_MAX 127 /* keyval's limit on a key fragment */

typedef enum vkind {
	V_STR,    /* keyval value, or JSON string */
	V_INT,    /* JSON integer (text kept) */
	V_NUM,    /* JSON number with fraction or exponent */
	V_BOOL,   /* JSON true/false */
	V_NULL,   /* JSON null */
	V_NESTED, /* JSON object or array */
} vkind;

typedef struct entry {
	char key[KEY_MAX + 1];
	vkind kind;
	char *text; /* V_STR: the value; V_INT, V_NUM: the literal (into the arena) */
	bool b;
	bool kv;   /* from keyval: a V_STR to convert to the property's type */
	bool used; /* taken by a property */
} entry;

typedef struct entries {
	entry v[MAX_ENTRIES];
	size_t n;
	char *arena; /* values, NUL-terminated, one after another; as long as the input + 1 */
	size_t arena_used;
} entries;

const char *sa_launchcfg_type_name(sa_launchcfg_type type)
{
	switch (type) {
	case SA_LAUNCHCFG_SEV: return "sev-guest";
	case SA_LAUNCHCFG_SNP: return "sev-snp-guest";
	}
	return "?";
}

/* ---- building the entry list ------------------------------------------------ */

static sa_status add_entry(entries *es, const char *key, size_t key_len, vkind kind, entry **out, sa_error *err)
{
	SA_ENSURE(key_len <= KEY_MAX, err, SA_ERR_FORMAT, "Parameter '%.*s' is too long", (int)key_len, key);
	for (size_t i = 0; i < es->n; i++)
		SA_ENSURE(strlen(es->v[i].key) != key_len || memcmp(es->v[i].key, key, key_len), err, SA_ERR_ARG,
			  "Parameter '%.*s' is given twice (QEMU would take the last; refused here)", (int)key_len,
			  key);
	SA_ENSURE(es->n < MAX_ENTRIES, err, SA_ERR_RANGE, "more than %d parameters", MAX_ENTRIES);
	entry *e = &es->v[es->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, key_len);
	e->key[key_len] = '\0';
	e->kind = kind;
	*out = e;
	return SA_OK;
}

/* Start a value in the arena (the arena is as long as the input, so values always fit). */
static char *arena_begin(entries *es) { return es->arena + es->arena_used; }

static void arena_put(entries *es, char c) { es->arena[es->arena_used++] = c; }

/* keyval (util/keyval.c): key-vals with the implied first key qom-type. */
static sa_status parse_keyval(const char *s, const char *end, entries *es, sa_error *err)
{
	bool first = true;
	while (s < end) {
		const char *key = s;
		size_t klen = 0;
		while (key + klen < end && key[klen] != '=' && key[klen] != ',')
			klen++;
		bool implied = first && klen > 0 && (key + klen == end || key[klen] != '=');
		first = false;
		const char *kname = implied ? "qom-type" : key;
		size_t kname_len = implied ? strlen("qom-type") : klen;
		if (!implied) {
			/* a key fragment is a QAPI name (a letter, then letters, digits, '-', '_'); '.' nests */
			bool ok = klen > 0;
			for (size_t i = 0; ok && i < klen; i++) {
				unsigned char c = (unsigned char)key[i];
				bool frag_start = i == 0 || key[i - 1] == '.';
				ok = frag_start ? isalpha(c) || (i > 0 && isdigit(c))
						: isalnum(c) || c == '-' || c == '_' || c == '.';
			}
			SA_ENSURE(ok, err, SA_ERR_FORMAT, "Invalid parameter '%.*s'", (int)klen, key);
			SA_ENSURE(key + klen < end && key[klen] == '=', err, SA_ERR_FORMAT,
				  "Expected '=' after parameter '%.*s'", (int)klen, key);
			s = key + klen + 1;
		}
		entry *e;
		SA_TRY(add_entry(es, kname, kname_len, V_STR, &e, err));
		e->kv = true;
		e->text = arena_begin(es);
		while (s < end) {
			if (*s == ',') {
				s++;
				if (s == end || *s != ',')
					break;
			}
			SA_ENSURE(*s != '\0', err, SA_ERR_FORMAT, "parameter '%s': a NUL byte in its value", e->key);
			arena_put(es, *s++);
		}
		arena_put(es, '\0');
	}
	return SA_OK;
}

/* ---- JSON (one flat object) ------------------------------------------------- */

typedef struct jcur {
	const char *p, *end, *start;
} jcur;

static void jws(jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static sa_status jerr(const jcur *c, const char *what, sa_error *err)
{
	return sa_error_set(err, SA_ERR_FORMAT, "JSON: %s at offset %zu", what, (size_t)(c->p - c->start));
}

/* The value of a hex digit (isxdigit(ch) holds). */
static unsigned xdigit(char ch)
{
	return isdigit((unsigned char)ch) ? (unsigned)(ch - '0') : (unsigned)(tolower((unsigned char)ch) - 'a' + 10);
}

static sa_status j4hex(jcur *c, unsigned *out, sa_error *err)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++, c->p++) {
		if (c->p >= c->end || !isxdigit((unsigned char)*c->p))
			return jerr(c, "bad \\u escape", err);
		v = v << 4 | xdigit(*c->p);
	}
	*out = v;
	return SA_OK;
}

static void put_utf8(entries *es, unsigned cp)
{
	if (cp < 0x80) {
		arena_put(es, (char)cp);
	} else if (cp < 0x800) {
		arena_put(es, (char)(0xC0 | cp >> 6));
		arena_put(es, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		arena_put(es, (char)(0xE0 | cp >> 12));
		arena_put(es, (char)(0x80 | ((cp >> 6) & 0x3F)));
		arena_put(es, (char)(0x80 | (cp & 0x3F)));
	} else {
		arena_put(es, (char)(0xF0 | cp >> 18));
		arena_put(es, (char)(0x80 | ((cp >> 12) & 0x3F)));
		arena_put(es, (char)(0x80 | ((cp >> 6) & 0x3F)));
		arena_put(es, (char)(0x80 | (cp & 0x3F)));
	}
}

/* A JSON string at c->p (the opening quote) into the arena; *out points at it.  An escape never
 * takes more bytes than its source text, so the arena (the input's length) is enough. */
static sa_status jstring(jcur *c, entries *es, char **out, sa_error *err)
{
	c->p++;
	char *s = arena_begin(es);
	for (;;) {
		if (c->p >= c->end)
			return jerr(c, "unterminated string", err);
		unsigned char ch = (unsigned char)*c->p++;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return jerr(c, "control character in a string", err);
		if (ch != '\\') {
			arena_put(es, (char)ch);
			continue;
		}
		if (c->p >= c->end)
			return jerr(c, "unterminated string", err);
		char esc = *c->p++;
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *k = esc ? strchr(from, esc) : NULL;
		if (k) {
			arena_put(es, to[k - from]);
			continue;
		}
		if (esc != 'u')
			return jerr(c, "bad escape in a string", err);
		unsigned cp;
		SA_TRY(j4hex(c, &cp, err));
		if (cp >= 0xD800 && cp < 0xDC00) {
			unsigned lo;
			if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
				return jerr(c, "unpaired surrogate", err);
			c->p += 2;
			SA_TRY(j4hex(c, &lo, err));
			if (lo < 0xDC00 || lo > 0xDFFF)
				return jerr(c, "unpaired surrogate", err);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			return jerr(c, "unpaired surrogate", err);
		}
		if (cp == 0)
			return jerr(c, "\\u0000 in a string", err);
		put_utf8(es, cp);
	}
	arena_put(es, '\0');
	*out = s;
	return SA_OK;
}

/* Skip a nested object or array (strings inside may hold brackets). */
static sa_status jskip_nested(jcur *c, sa_error *err)
{
	int depth = 0;
	do {
		if (c->p >= c->end)
			return jerr(c, "unterminated object or array", err);
		char ch = *c->p++;
		if (ch == '{' || ch == '[') {
			if (++depth > 32)
				return jerr(c, "nesting deeper than 32", err);
		} else if (ch == '}' || ch == ']') {
			depth--;
		} else if (ch == '"') {
			while (c->p < c->end && *c->p != '"')
				c->p += *c->p == '\\' && c->end - c->p > 1 ? 2 : 1;
			if (c->p >= c->end)
				return jerr(c, "unterminated string", err);
			c->p++;
		}
	} while (depth > 0);
	return SA_OK;
}

static bool jlit(jcur *c, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n))
		return false;
	c->p += n;
	return true;
}

static sa_status jnumber(jcur *c, entries *es, entry *e, sa_error *err)
{
	const char *b = c->p;
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end || !isdigit((unsigned char)*c->p))
		return jerr(c, "bad value", err);
	if (*c->p == '0' && c->end - c->p > 1 && isdigit((unsigned char)c->p[1]))
		return jerr(c, "a number with a leading zero", err);
	while (c->p < c->end && isdigit((unsigned char)*c->p))
		c->p++;
	e->kind = V_INT;
	if (c->p < c->end && *c->p == '.') {
		e->kind = V_NUM;
		c->p++;
		if (c->p >= c->end || !isdigit((unsigned char)*c->p))
			return jerr(c, "bad number", err);
		while (c->p < c->end && isdigit((unsigned char)*c->p))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		e->kind = V_NUM;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || !isdigit((unsigned char)*c->p))
			return jerr(c, "bad number", err);
		while (c->p < c->end && isdigit((unsigned char)*c->p))
			c->p++;
	}
	e->text = arena_begin(es);
	for (const char *q = b; q < c->p; q++)
		arena_put(es, *q);
	arena_put(es, '\0');
	return SA_OK;
}

static sa_status parse_json(const char *text, const char *end, entries *es, sa_error *err)
{
	jcur c = {text, end, text};
	jws(&c);
	if (c.p >= c.end || *c.p != '{')
		return jerr(&c, "expected '{'", err);
	c.p++;
	jws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			jws(&c);
			if (c.p >= c.end || *c.p != '"')
				return jerr(&c, "expected a key string", err);
			char *key;
			SA_TRY(jstring(&c, es, &key, err));
			jws(&c);
			if (c.p >= c.end || *c.p != ':')
				return jerr(&c, "expected ':'", err);
			c.p++;
			jws(&c);
			entry *e;
			SA_TRY(add_entry(es, key, strlen(key), V_STR, &e, err));
			if (c.p >= c.end)
				return jerr(&c, "expected a value", err);
			if (*c.p == '"') {
				SA_TRY(jstring(&c, es, &e->text, err));
			} else if (*c.p == '{' || *c.p == '[') {
				e->kind = V_NESTED;
				SA_TRY(jskip_nested(&c, err));
			} else if (jlit(&c, "true")) {
				e->kind = V_BOOL;
				e->b = true;
			} else if (jlit(&c, "false")) {
				e->kind = V_BOOL;
			} else if (jlit(&c, "null")) {
				e->kind = V_NULL;
			} else {
				SA_TRY(jnumber(&c, es, e, err));
			}
			jws(&c);
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				continue;
			}
			if (c.p < c.end && *c.p == '}') {
				c.p++;
				break;
			}
			return jerr(&c, "expected ',' or '}'", err);
		}
	}
	jws(&c);
	if (c.p != c.end)
		return jerr(&c, "trailing text after the object", err);
	return SA_OK;
}

/* ---- typed property access (QEMU's qobject input visitor) --------------------- */

static entry *take(entries *es, const char *key)
{
	for (size_t i = 0; i < es->n; i++) {
		if (!strcmp(es->v[i].key, key)) {
			es->v[i].used = true;
			return &es->v[i];
		}
	}
	return NULL;
}

static sa_status type_error(const entry *e, const char *expected, sa_error *err)
{
	return sa_error_set(err, SA_ERR_ARG, "Invalid parameter type for '%s', expected: %s", e->key, expected);
}

/* keyval: the whole text as C strtoull with base 0 reads it (qemu_strtou64), a sign refused;
 * JSON: an integer literal.  max: UINT32_MAX (tname "uint32_t") or UINT64_MAX. */
static sa_status get_uint(const entry *e, uint64_t max, const char *tname, uint64_t *out, sa_error *err)
{
	if (!e->kv && e->kind != V_INT)
		return type_error(e, "integer", err);
	const char *s = e->text;
	if (e->kv) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '+')
			s++;
	}
	SA_ENSURE(*s != '-', err, SA_ERR_ARG,
		  "Parameter '%s' expects %s, got '%s' (negative: QEMU would wrap it around, refused here)", e->key,
		  tname, e->text);
	unsigned base = 10;
	if (e->kv && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (e->kv && s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	bool ok = *s != '\0';
	uint64_t v = 0;
	for (; ok && *s; s++) {
		unsigned d = isxdigit((unsigned char)*s) ? xdigit(*s) : 16;
		ok = d < base;
		if (ok && v > (UINT64_MAX - d) / base)
			return sa_error_set(err, SA_ERR_RANGE, "Parameter '%s' expects %s, got '%s' (more than 64 bits)",
					    e->key, tname, e->text);
		v = v * base + (ok ? d : 0);
	}
	SA_ENSURE(ok, err, SA_ERR_ARG, "Parameter '%s' expects integer, got '%s'%s", e->key, e->text,
		  base == 8 ? " (a leading 0 makes it octal, as in QEMU)" : "");
	SA_ENSURE(v <= max, err, SA_ERR_RANGE, "Parameter '%s' expects %s, got '%s'", e->key, tname, e->text);
	*out = v;
	return SA_OK;
}

static sa_status get_u32(entries *es, const char *key, bool *has, uint32_t *out, sa_error *err)
{
	entry *e = take(es, key);
	if (!e)
		return SA_OK;
	uint64_t v;
	SA_TRY(get_uint(e, UINT32_MAX, "uint32_t", &v, err));
	*out = (uint32_t)v;
	*has = true;
	return SA_OK;
}

static sa_status get_u64(entries *es, const char *key, bool *has, uint64_t *out, sa_error *err)
{
	entry *e = take(es, key);
	if (!e)
		return SA_OK;
	SA_TRY(get_uint(e, UINT64_MAX, "uint64", out, err));
	*has = true;
	return SA_OK;
}

/* keyval: on/yes/true/y, off/no/false/n (qapi_bool_parse); JSON: true/false. */
static sa_status get_bool(entries *es, const char *key, bool *has, bool *out, sa_error *err)
{
	entry *e = take(es, key);
	if (!e)
		return SA_OK;
	if (!e->kv) {
		if (e->kind != V_BOOL)
			return type_error(e, "boolean", err);
		*out = e->b;
	} else {
		static const char *const yes[] = {"on", "yes", "true", "y"}, *const no[] = {"off", "no", "false", "n"};
		bool found = false;
		for (size_t i = 0; i < SA_ARRAY_LEN(yes) && !found; i++) {
			found = !strcmp(e->text, yes[i]) || !strcmp(e->text, no[i]);
			if (found)
				*out = !strcmp(e->text, yes[i]);
		}
		SA_ENSURE(found, err, SA_ERR_ARG, "Parameter '%s' expects 'on' or 'off', got '%s'", e->key, e->text);
	}
	*has = true;
	return SA_OK;
}

/* A string property; NULL when absent. */
static sa_status get_str(entries *es, const char *key, const char **out, sa_error *err)
{
	entry *e = take(es, key);
	*out = NULL;
	if (!e)
		return SA_OK;
	if (!e->kv && e->kind != V_STR)
		return type_error(e, "string", err);
	*out = e->text;
	return SA_OK;
}

static sa_status get_path(entries *es, const char *key, bool *has, char out[SA_LAUNCHCFG_PATH_MAX + 1],
			  sa_error *err)
{
	const char *s;
	SA_TRY(get_str(es, key, &s, err));
	if (!s)
		return SA_OK;
	size_t n = strlen(s);
	SA_ENSURE(n <= SA_LAUNCHCFG_PATH_MAX, err, SA_ERR_RANGE, "Parameter '%s': %zu characters, at most %d", key, n,
		  SA_LAUNCHCFG_PATH_MAX);
	memcpy(out, s, n + 1);
	*has = true;
	return SA_OK;
}

/*
 * A base64 property (QEMU's qbase64_decode, here strict RFC 4648) of exactly want bytes, or of
 * at most want bytes when !exact; the size messages are sev.c's.
 */
static sa_status get_b64(entries *es, const char *key, size_t want, bool exact, bool *has, uint8_t *out,
			 size_t *out_len, sa_error *err)
{
	const char *s;
	SA_TRY(get_str(es, key, &s, err));
	if (!s)
		return SA_OK;
	uint8_t *buf;
	size_t n;
	SA_TRY(sa_base64_decode_alloc(s, strlen(s), 0, &buf, &n, key, err));
	sa_status st = SA_OK;
	if (exact && n > want && want == SA_LAUNCHCFG_GOSVW_SIZE)
		st = sa_error_set(err, SA_ERR_RANGE, "%s: parameter length of %zu exceeds max of %zu", key, n, want);
	else if (exact && n != want)
		st = sa_error_set(err, SA_ERR_RANGE, "%s: parameter length of %zu not equal to %zu", key, n, want);
	else if (!exact && n > want)
		st = sa_error_set(err, SA_ERR_RANGE, "%s: parameter length:ID_AUTH %zu exceeds max of %zu", key, n,
				  want);
	if (st == SA_OK) {
		memset(out, 0, want);
		if (n)
			memcpy(out, buf, n);
		if (out_len)
			*out_len = n;
		*has = true;
	}
	free(buf);
	return st;
}

/* QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
	if (!isalpha((unsigned char)id[0]))
		return false;
	for (const char *p = id + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

static sa_status build(entries *es, sa_launchcfg *cfg, sa_error *err)
{
	const char *type, *id;
	SA_TRY(get_str(es, "qom-type", &type, err));
	SA_ENSURE(type, err, SA_ERR_ARG, "Parameter 'qom-type' is missing");
	if (!strcmp(type, "sev-guest"))
		cfg->type = SA_LAUNCHCFG_SEV;
	else if (!strcmp(type, "sev-snp-guest"))
		cfg->type = SA_LAUNCHCFG_SNP;
	else
		return sa_error_set(err, SA_ERR_ARG,
				    "Parameter 'qom-type' does not accept value '%s' (expected sev-guest or sev-snp-guest)",
				    type);
	SA_TRY(get_str(es, "id", &id, err));
	SA_ENSURE(id, err, SA_ERR_ARG, "Parameter 'id' is missing");
	SA_ENSURE(id_wellformed(id), err, SA_ERR_ARG,
		  "Invalid object identifier '%s' (identifiers consist of letters, digits, '-', '.', '_', starting "
		  "with a letter)",
		  id);
	size_t idn = strlen(id);
	SA_ENSURE(idn <= SA_LAUNCHCFG_ID_MAX, err, SA_ERR_RANGE, "Parameter 'id': %zu characters, at most %d", idn,
		  SA_LAUNCHCFG_ID_MAX);
	memcpy(cfg->id, id, idn + 1);

	/* SevCommonProperties */
	bool has_rpb = false;
	SA_TRY(get_path(es, "sev-device", &cfg->has_sev_device, cfg->sev_device, err));
	SA_TRY(get_u32(es, "cbitpos", &cfg->has_cbitpos, &cfg->cbitpos, err));
	SA_TRY(get_u32(es, "reduced-phys-bits", &has_rpb, &cfg->reduced_phys_bits, err));
	SA_ENSURE(has_rpb, err, SA_ERR_ARG, "Parameter 'reduced-phys-bits' is missing");
	SA_TRY(get_bool(es, "kernel-hashes", &cfg->has_kernel_hashes, &cfg->kernel_hashes, err));

	if (cfg->type == SA_LAUNCHCFG_SEV) {
		uint32_t pol = 0;
		SA_TRY(get_path(es, "dh-cert-file", &cfg->has_dh_cert_file, cfg->dh_cert_file, err));
		SA_TRY(get_path(es, "session-file", &cfg->has_session_file, cfg->session_file, err));
		SA_TRY(get_u32(es, "policy", &cfg->has_policy, &pol, err));
		cfg->policy = cfg->has_policy ? pol : SA_LAUNCHCFG_SEV_DEFAULT_POLICY;
		SA_TRY(get_u32(es, "handle", &cfg->has_handle, &cfg->handle, err));
		const char *lvt;
		SA_TRY(get_str(es, "legacy-vm-type", &lvt, err));
		if (lvt) {
			static const char *const names[] = {"auto", "on", "off"};
			bool found = false;
			for (size_t i = 0; i < SA_ARRAY_LEN(names) && !found; i++)
				if ((found = !strcmp(lvt, names[i])))
					cfg->legacy_vm_type = (sa_on_off_auto)i;
			SA_ENSURE(found, err, SA_ERR_ARG,
				  "Parameter 'legacy-vm-type' does not accept value '%s' (expected on, off or auto)", lvt);
			cfg->has_legacy_vm_type = true;
		}
	} else {
		SA_TRY(get_u64(es, "policy", &cfg->has_policy, &cfg->policy, err));
		if (!cfg->has_policy)
			cfg->policy = SA_LAUNCHCFG_SNP_DEFAULT_POLICY;
		SA_TRY(get_u64(es, "init-flags", &cfg->has_init_flags, &cfg->init_flags, err));
		SA_TRY(get_b64(es, "guest-visible-workarounds", SA_LAUNCHCFG_GOSVW_SIZE, true, &cfg->has_gosvw,
			       cfg->gosvw, NULL, err));
		SA_TRY(get_b64(es, "id-block", SA_LAUNCHCFG_ID_BLOCK_SIZE, true, &cfg->has_id_block, cfg->id_block, NULL,
			       err));
		SA_TRY(get_b64(es, "id-auth", SA_LAUNCHCFG_ID_AUTH_SIZE, false, &cfg->has_id_auth, cfg->id_auth,
			       &cfg->id_auth_len, err));
		SA_TRY(get_bool(es, "author-key-enabled", &cfg->has_author_key_enabled, &cfg->author_key_enabled,
				err));
		SA_TRY(get_b64(es, "host-data", SA_LAUNCHCFG_HOST_DATA_SIZE, true, &cfg->has_host_data, cfg->host_data,
			       NULL, err));
		SA_TRY(get_bool(es, "vcek-disabled", &cfg->has_vcek_disabled, &cfg->vcek_disabled, err));
	}
	for (size_t i = 0; i < es->n; i++)
		SA_ENSURE(es->v[i].used, err, SA_ERR_ARG, "Parameter '%s' is unexpected (%s has no such property)",
			  es->v[i].key, sa_launchcfg_type_name(cfg->type));
	/* sev_common_kvm_init's check */
	SA_ENSURE(cfg->reduced_phys_bits >= 1 && cfg->reduced_phys_bits <= 63, err, SA_ERR_RANGE,
		  "reduced-phys-bits: %u is out of range (QEMU accepts 1 to 63)", (unsigned)cfg->reduced_phys_bits);
	return SA_OK;
}

sa_status sa_launchcfg_parse(const char *text, size_t len, sa_launchcfg *out, sa_error *err)
{
	SA_ENSURE(out && (text || !len), err, SA_ERR_ARG, "launch configuration: no text");
	SA_ENSURE(len <= SA_LAUNCHCFG_MAX_TEXT, err, SA_ERR_RANGE, "launch configuration: %zu bytes, at most %d", len,
		  SA_LAUNCHCFG_MAX_TEXT);
	entries *es = calloc(1, sizeof(*es));
	sa_launchcfg *cfg = calloc(1, sizeof(*cfg));
	char *arena = malloc(len + 1);
	sa_status st;
	if (!es || !cfg || !arena) {
		st = sa_error_set(err, SA_ERR_NOMEM, "launch configuration: out of memory");
		goto out;
	}
	es->arena = arena;
	if (len && text[0] == '{')
		st = parse_json(text, text + len, es, err);
	else
		st = parse_keyval(text, text + len, es, err);
	if (st == SA_OK)
		st = build(es, cfg, err);
	if (st == SA_OK)
		memcpy(out, cfg, sizeof(*cfg));
out:
	if (cfg) {
		OPENSSL_cleanse(cfg, sizeof(*cfg));
		free(cfg);
	}
	if (arena) {
		OPENSSL_cleanse(arena, len + 1);
		free(arena);
	}
	free(es);
	return st;
}

sa_status sa_launchcfg_parse_file(const char *path, sa_launchcfg *out, sa_error *err)
{
	SA_ENSURE(path, err, SA_ERR_ARG, "launch configuration: no file");
	uint8_t *buf;
	size_t len;
	SA_TRY(sa_read_file(path, SA_LAUNCHCFG_MAX_TEXT + 2, &buf, &len, err));
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	sa_status st = sa_launchcfg_parse((const char *)buf, len, out, err);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", path);
	return SA_OK;
}

static sa_status load_b64_file(const char *prop, const char *path, uint8_t *out, size_t want, const char *what,
			       sa_error *err)
{
	uint8_t *text, *bin = NULL;
	size_t tlen, n = 0;
	SA_TRY(sa_read_file(path, 1u << 20, &text, &tlen, err));
	sa_status st = sa_base64_decode_alloc((const char *)text, tlen, 1, &bin, &n, path, err);
	free(text);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", prop);
	if (n != want)
		st = sa_error_set(err, SA_ERR_RANGE, "%s: %s decodes to %zu bytes, expected 0x%zx (%zu, %s)", prop, path, n,
				  want, want, what);
	else
		memcpy(out, bin, want);
	OPENSSL_cleanse(bin, n);
	free(bin);
	return st;
}

sa_status sa_launchcfg_load_files(sa_launchcfg *cfg, sa_error *err)
{
	SA_ENSURE(cfg, err, SA_ERR_ARG, "launch configuration: none");
	if (cfg->type != SA_LAUNCHCFG_SEV)
		return SA_OK;
	uint8_t godh[SA_LAUNCHCFG_GODH_SIZE], session[SA_LAUNCHCFG_SESSION_SIZE];
	sa_status st = SA_OK;
	if (cfg->has_dh_cert_file)
		st = load_b64_file("dh-cert-file", cfg->dh_cert_file, godh, sizeof(godh), "the GODH certificate", err);
	if (st == SA_OK && cfg->has_session_file)
		st = load_b64_file("session-file", cfg->session_file, session, sizeof(session), "the session buffer",
				   err);
	if (st == SA_OK) {
		if (cfg->has_dh_cert_file) {
			memcpy(cfg->godh, godh, sizeof(godh));
			cfg->godh_loaded = true;
		}
		if (cfg->has_session_file) {
			memcpy(cfg->session, session, sizeof(session));
			cfg->session_loaded = true;
		}
	}
	OPENSSL_cleanse(session, sizeof(session));
	return st;
}

/* ---- canonical text ------------------------------------------------------------ */

typedef struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->n <= n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->n <= n && cap < ((size_t)1 << 30))
			cap *= 2;
		char *p = cap - b->n > n ? realloc(b->p, cap) : NULL;
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* ",key=value" with the value's commas doubled. */
static void sb_prop(sbuf *b, const char *key, const char *value)
{
	sb_put(b, ",", 1);
	sb_put(b, key, strlen(key));
	sb_put(b, "=", 1);
	for (const char *v = value; *v; v++)
		sb_put(b, *v == ',' ? ",," : v, *v == ',' ? 2 : 1);
}

/* A number as QEMU spells it: hex (0x...) or decimal. */
static void sb_num(sbuf *b, const char *key, bool hex, uint64_t v)
{
	char t[32];
	if (hex)
		snprintf(t, sizeof(t), "0x%llx", (unsigned long long)v);
	else
		snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
	sb_prop(b, key, t);
}

static void sb_bool(sbuf *b, const char *key, bool v) { sb_prop(b, key, v ? "on" : "off"); }

static void sb_b64(sbuf *b, const char *key, const uint8_t *data, size_t n)
{
	char *t = sa_base64_encode(data, n);
	if (!t) {
		b->oom = true;
		return;
	}
	sb_prop(b, key, t);
	free(t);
}

sa_status sa_launchcfg_format(const sa_launchcfg *cfg, char **out, sa_error *err)
{
	SA_ENSURE(cfg && out, err, SA_ERR_ARG, "launch configuration: none");
	SA_ENSURE(cfg->type == SA_LAUNCHCFG_SEV || cfg->type == SA_LAUNCHCFG_SNP, err, SA_ERR_ARG,
		  "launch configuration: type %d is neither sev-guest nor sev-snp-guest", (int)cfg->type);
	sbuf b = {0};
	const char *type = sa_launchcfg_type_name(cfg->type);
	sb_put(&b, type, strlen(type));
	sb_prop(&b, "id", cfg->id);
	if (cfg->has_sev_device)
		sb_prop(&b, "sev-device", cfg->sev_device);
	if (cfg->has_cbitpos)
		sb_num(&b, "cbitpos", false, cfg->cbitpos);
	sb_num(&b, "reduced-phys-bits", false, cfg->reduced_phys_bits);
	if (cfg->has_kernel_hashes)
		sb_bool(&b, "kernel-hashes", cfg->kernel_hashes);
	if (cfg->type == SA_LAUNCHCFG_SEV) {
		if (cfg->has_dh_cert_file)
			sb_prop(&b, "dh-cert-file", cfg->dh_cert_file);
		if (cfg->has_session_file)
			sb_prop(&b, "session-file", cfg->session_file);
		if (cfg->has_policy)
			sb_num(&b, "policy", true, cfg->policy);
		if (cfg->has_handle)
			sb_num(&b, "handle", false, cfg->handle);
		if (cfg->has_legacy_vm_type)
			sb_prop(&b, "legacy-vm-type",
				cfg->legacy_vm_type == SA_ON ? "on" : cfg->legacy_vm_type == SA_OFF ? "off" : "auto");
	} else {
		if (cfg->has_policy)
			sb_num(&b, "policy", true, cfg->policy);
		if (cfg->has_init_flags)
			sb_num(&b, "init-flags", true, cfg->init_flags);
		if (cfg->has_gosvw)
			sb_b64(&b, "guest-visible-workarounds", cfg->gosvw, sizeof(cfg->gosvw));
		if (cfg->has_id_block)
			sb_b64(&b, "id-block", cfg->id_block, sizeof(cfg->id_block));
		if (cfg->has_id_auth)
			sb_b64(&b, "id-auth", cfg->id_auth,
			       cfg->id_auth_len <= sizeof(cfg->id_auth) ? cfg->id_auth_len : sizeof(cfg->id_auth));
		if (cfg->has_author_key_enabled)
			sb_bool(&b, "author-key-enabled", cfg->author_key_enabled);
		if (cfg->has_host_data)
			sb_b64(&b, "host-data", cfg->host_data, sizeof(cfg->host_data));
		if (cfg->has_vcek_disabled)
			sb_bool(&b, "vcek-disabled", cfg->vcek_disabled);
	}
	if (b.oom) {
		free(b.p);
		return sa_error_set(err, SA_ERR_NOMEM, "launch configuration: out of memory");
	}
	*out = b.p;
	return SA_OK;
}

bool sa_launchcfg_is_es(const sa_launchcfg *cfg)
{
	return cfg && cfg->type == SA_LAUNCHCFG_SEV && (cfg->policy & SA_SEV_POLICY_ES);
}

void sa_launchcfg_clear(sa_launchcfg *cfg)
{
	if (cfg)
		OPENSSL_cleanse(cfg, sizeof(*cfg));
}
