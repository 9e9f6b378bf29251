/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD Key Distribution Service client.
 *
 * Every object KDS serves is immutable for its URL except the CRLs, so the
 * cache mirrors the URL path and keeps VCEKs and chains forever; a cached CRL
 * is used only until its nextUpdate.  Nothing is cached before it parses as
 * what the URL promises, and HTTP error bodies are never kept.
 *
 * URL shapes and the Turin differences: AMD VCEK/KDS spec 57230 and the notes
 * in kds.h.
 *
 * SEV (legacy): the ASK-signed CEK (KDS /cek/id/<GET_ID hex>) is cached like
 * the other KDS objects; AMD's ask_ark_<product>.cert comes from another host
 * (sev_ca_url) and is cached as sev/ask_ark_<product>.cert.  Both are
 * immutable; both are checked (a CEK signed by an ASK; ASK then ARK, the ARK
 * pinned for the product and signing the ASK) before caching and on reading
 * back.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sevattest/bytes.h"
#include "sevattest/encoding.h"
#include "sevattest/kds.h"

#include "internal.h"

#ifndef SEVATTEST_VERSION_STRING
#error "SEVATTEST_VERSION_STRING comes from meson.build"
#endif

#define KDS_MAX_BODY ((size_t)1 << 20) /* no KDS object comes close to 1 MiB */
#define KDS_DEFAULT_RETRIES 4u
#define KDS_DEFAULT_TIMEOUT_S 30u
#define KDS_DEFAULT_MAX_BACKOFF_S 60u
#define KDS_MAX_REDIRECTS 5L
#define KDS_PATH_MAX 512

struct sa_kds {
	char *base_url;  /* no trailing slash */
	char *sev_ca_url; /* where ask_ark_<product>.cert lives; no trailing slash */
	char *cache_dir; /* NULL: no cache */
	bool offline;
	unsigned max_retries, timeout_s, max_backoff_s;
};

enum kind { KIND_VCEK, KIND_CHAIN, KIND_CRL, KIND_CEK, KIND_SEV_CA };

/* One object to fetch: where it is, where it is cached and what it must be. */
struct target {
	const char *base;      /* k->base_url or k->sev_ca_url */
	const char *path;      /* URL path below base, starting with '/' */
	const char *cache_rel; /* file below the cache directory, without extension */
	enum kind kind;
	sa_product p;           /* SNP objects */
	bool vlek;              /* SNP chains and CRLs */
	sa_sev_product sev;     /* KIND_SEV_CA */
};

static const char *kind_name(enum kind kind, bool vlek)
{
	switch (kind) {
	case KIND_VCEK: return "VCEK";
	case KIND_CHAIN: return vlek ? "VLEK certificate chain (ASVK, ARK)" : "VCEK certificate chain (ASK, ARK)";
	case KIND_CRL: return vlek ? "VLEK CRL" : "VCEK CRL";
	case KIND_CEK: return "ASK-signed CEK";
	case KIND_SEV_CA: return "SEV CA file (ASK, ARK in AMD's format)";
	}
	return "object";
}

/* ---- options and lifetime ---------------------------------------------- */

static char *dup_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, na);
	memcpy(s + na, b, nb + 1);
	return s;
}

/* The default cache directory, or NULL (no usable environment) with *oom = false. */
static char *default_cache_dir(bool *oom)
{
	*oom = false;
	char *s = NULL;
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	/* XDG: a relative XDG_CACHE_HOME is invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		s = dup_join(xdg, "/sevattest/kds");
	else if (home && home[0] == '/')
		s = dup_join(home, "/.cache/sevattest/kds");
	else
		return NULL;
	*oom = s == NULL;
	return s;
}

static sa_status check_url(const char *what, const char *url, sa_error *err)
{
	SA_ENSURE(strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0, err, SA_ERR_ARG,
		  "%s '%s': expected an http:// or https:// URL", what, url);
	return SA_OK;
}

/* A copy of url without trailing slashes, or NULL (out of memory). */
static char *dup_url(const char *url)
{
	char *s = strdup(url);
	size_t n = s ? strlen(s) : 0;
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

sa_status sa_kds_new(const sa_kds_opts *opts, sa_kds **out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "KDS client: no output pointer");
	*out = NULL;
	sa_kds_opts o = {0};
	if (opts)
		o = *opts;
	SA_ENSURE(!(o.offline && o.no_cache), err, SA_ERR_ARG,
		  "KDS client: offline mode needs the cache, but the cache is disabled (no_cache)");
	const char *base = o.base_url ? o.base_url : SA_KDS_DEFAULT_BASE_URL;
	const char *ca = o.sev_ca_url ? o.sev_ca_url : SA_KDS_DEFAULT_SEV_CA_URL;
	SA_TRY(check_url("KDS base URL", base, err));
	SA_TRY(check_url("SEV CA URL", ca, err));
	sa_kds *k = calloc(1, sizeof(*k));
	SA_ENSURE(k, err, SA_ERR_NOMEM, "out of memory creating the KDS client");
	k->offline = o.offline;
	k->max_retries = o.max_retries ? o.max_retries : KDS_DEFAULT_RETRIES;
	k->timeout_s = o.timeout_s ? o.timeout_s : KDS_DEFAULT_TIMEOUT_S;
	k->max_backoff_s = o.max_backoff_s ? o.max_backoff_s : KDS_DEFAULT_MAX_BACKOFF_S;
	k->base_url = dup_url(base);
	k->sev_ca_url = dup_url(ca);
	if (!k->base_url || !k->sev_ca_url) {
		sa_kds_free(k);
		return sa_error_set(err, SA_ERR_NOMEM, "out of memory creating the KDS client");
	}
	if (!o.no_cache) {
		bool oom = false;
		if (o.cache_dir && o.cache_dir[0])
			k->cache_dir = strdup(o.cache_dir);
		else
			k->cache_dir = default_cache_dir(&oom);
		if ((o.cache_dir && o.cache_dir[0] && !k->cache_dir) || oom) {
			sa_kds_free(k);
			return sa_error_set(err, SA_ERR_NOMEM, "out of memory creating the KDS client");
		}
		if (!k->cache_dir && o.offline) {
			sa_kds_free(k);
			return sa_error_set(err, SA_ERR_ARG,
					    "KDS client: offline mode needs a cache directory, but neither "
					    "XDG_CACHE_HOME nor HOME is set to an absolute path; pass one explicitly");
		}
	}
	*out = k;
	return SA_OK;
}

void sa_kds_free(sa_kds *k)
{
	if (!k)
		return;
	free(k->base_url);
	free(k->sev_ca_url);
	free(k->cache_dir);
	free(k);
}

/* ---- paths ----------------------------------------------------------------- */

static sa_status put_path(char *out, size_t cap, const char *what, sa_error *err, const char *fmt, ...)
	SA_PRINTF(5, 6);

static sa_status put_path(char *out, size_t cap, const char *what, sa_error *err, const char *fmt, ...)
{
	SA_ENSURE(out && cap > 0, err, SA_ERR_ARG, "%s: no output buffer", what);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	SA_ENSURE(n >= 0, err, SA_ERR_RANGE, "%s: cannot format the path", what);
	if ((size_t)n >= cap) {
		out[0] = '\0';
		return sa_error_set(err, SA_ERR_RANGE, "%s: the path needs %d bytes, the buffer holds %zu", what, n + 1,
				    cap);
	}
	return SA_OK;
}

static sa_status check_product(sa_product p, sa_error *err)
{
	SA_ENSURE(p == SA_PRODUCT_MILAN || p == SA_PRODUCT_GENOA || p == SA_PRODUCT_TURIN, err, SA_ERR_ARG,
		  "KDS: product unknown; pass --product (Milan, Genoa or Turin)");
	return SA_OK;
}

sa_status sa_kds_vcek_path(sa_product p, const uint8_t chip_id[64], const sa_tcb *reported, char *out, size_t cap,
			   sa_error *err)
{
	SA_TRY(check_product(p, err));
	SA_ENSURE(chip_id && reported, err, SA_ERR_ARG, "KDS VCEK path: no CHIP_ID or REPORTED_TCB given");
	size_t hwid_len = sa_product_hwid_len(p);
	SA_ENSURE(!sa_all_zero(chip_id, hwid_len), err, SA_ERR_NOT_FOUND,
		  "KDS VCEK path: CHIP_ID is all zeros (the guest policy or platform masks the chip id, "
		  "MASK_CHIP_ID), so the VCEK cannot be looked up; pass it with --vcek");
	bool turin = sa_product_turin_layout(p);
	/* Trust the named fields when they were decoded for this product's layout, else re-decode the raw value. */
	sa_tcb t = reported->turin_layout == turin ? *reported : sa_tcb_decode_for(reported->raw, p);
	char hwid[2 * 64 + 1];
	sa_hex_encode(chip_id, hwid_len, hwid);
	if (turin)
		return put_path(out, cap, "KDS VCEK path", err,
				"/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", sa_product_name(p),
				hwid, t.fmc, t.bl, t.tee, t.snp, t.ucode);
	return put_path(out, cap, "KDS VCEK path", err, "/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			sa_product_name(p), hwid, t.bl, t.tee, t.snp, t.ucode);
}

sa_status sa_kds_chain_path(sa_product p, bool vlek, char *out, size_t cap, sa_error *err)
{
	SA_TRY(check_product(p, err));
	return put_path(out, cap, "KDS chain path", err, "/%s/v1/%s/cert_chain", vlek ? "vlek" : "vcek",
			sa_product_name(p));
}

sa_status sa_kds_crl_path(sa_product p, bool vlek, char *out, size_t cap, sa_error *err)
{
	SA_TRY(check_product(p, err));
	return put_path(out, cap, "KDS CRL path", err, "/%s/v1/%s/crl", vlek ? "vlek" : "vcek", sa_product_name(p));
}

/*
 * Cache file for a URL path: the path below the cache directory, the query (if
 * any) as a file name inside a directory named after the last path segment,
 * '&' spelled '_', and an extension for the content type.
 */
static sa_status cache_file(const sa_kds *k, const char *path, const char *ext, char **out, sa_error *err)
{
	size_t n = strlen(k->cache_dir) + strlen(path) + strlen(ext) + 2;
	char *s = malloc(n);
	SA_ENSURE(s, err, SA_ERR_NOMEM, "out of memory building the cache path for %s", path);
	size_t off = (size_t)snprintf(s, n, "%s/", k->cache_dir);
	for (const char *c = path[0] == '/' ? path + 1 : path; *c; c++) {
		char ch = *c;
		if (ch == '?')
			ch = '/';
		else if (ch == '&')
			ch = '_';
		/* Paths are built here from hex, decimal and fixed names; refuse anything else. */
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
		      ch == '_' || ch == '=')) {
			free(s);
			return sa_error_set(err, SA_ERR_ARG,
					    "KDS path '%s': character '%c' cannot go into a cache file name", path,
					    ch >= 0x20 && ch < 0x7F ? ch : '?');
		}
		s[off++] = ch;
	}
	memcpy(s + off, ext, strlen(ext) + 1);
	*out = s;
	return SA_OK;
}

/* mkdir -p of every directory above file, mode 0700. */
static sa_status make_parents(const char *file, sa_error *err)
{
	char *d = strdup(file);
	SA_ENSURE(d, err, SA_ERR_NOMEM, "out of memory creating the directories of %s", file);
	for (char *c = d + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(d, 0700) != 0 && errno != EEXIST) {
			int e = errno;
			sa_status st =
				sa_error_set(err, SA_ERR_IO, "cannot create cache directory %s: %s", d, strerror(e));
			free(d);
			return st;
		}
		struct stat st;
		if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
			sa_status r = sa_error_set(err, SA_ERR_IO, "cache path %s exists but is not a directory", d);
			free(d);
			return r;
		}
		*c = '/';
	}
	free(d);
	return SA_OK;
}

/* ---- validation ------------------------------------------------------------ */

static time_t asn1_time_to_time_t(const ASN1_TIME *t, bool *ok)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	*ok = t && ASN1_TIME_to_tm(t, &tm) == 1;
	return *ok ? timegm(&tm) : 0;
}

static char *asn1_time_str(const ASN1_TIME *t, char *buf, size_t cap)
{
	bool ok;
	time_t v = asn1_time_to_time_t(t, &ok);
	if (!ok) {
		snprintf(buf, cap, "(unreadable time)");
		return buf;
	}
	return sa_time_format(v, buf, cap);
}

static sa_status parse_crl(const uint8_t *der, size_t len, X509_CRL **out, sa_error *err)
{
	SA_ENSURE(der && len > 0, err, SA_ERR_FORMAT, "CRL: empty input, expected a DER X.509 CRL");
	SA_ENSURE(len <= LONG_MAX, err, SA_ERR_RANGE, "CRL: %zu bytes is too large", len);
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (!crl) {
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_FORMAT, "CRL: %zu bytes that do not parse as a DER X.509 CRL", len);
	}
	size_t used = (size_t)(p - der);
	if (used != len) {
		X509_CRL_free(crl);
		return sa_error_set(err, SA_ERR_TRAILING, "CRL: %zu bytes after the DER CRL (%zu bytes)", len - used,
				    used);
	}
	*out = crl;
	return SA_OK;
}

static bool starts_with_pem(const uint8_t *d, size_t len)
{
	size_t i = 0;
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	return len - i >= 11 && memcmp(d + i, "-----BEGIN ", 11) == 0;
}

static sa_status validate_vcek(const uint8_t *d, size_t len, sa_product p, sa_error *err)
{
	SA_ENSURE(len > 0 && len <= LONG_MAX, err, SA_ERR_FORMAT, "VCEK: empty response, expected a DER certificate");
	const unsigned char *q = d;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	if (!x) {
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_FORMAT,
				    "VCEK: %zu bytes that do not parse as one DER X.509 certificate", len);
	}
	size_t used = (size_t)(q - d);
	X509_free(x);
	SA_ENSURE(used == len, err, SA_ERR_TRAILING, "VCEK: %zu bytes after the DER certificate (%zu bytes)",
		  len - used, used);
	sa_cert *c = NULL;
	SA_TRY(sa_cert_from_der(d, len, &c, err));
	sa_cert_role role = c->role;
	sa_product cp = c->product;
	char cn[sizeof(c->subject_cn)];
	memcpy(cn, c->subject_cn, sizeof(cn));
	sa_cert_free(c);
	SA_ENSURE(role == SA_ROLE_VCEK, err, SA_ERR_FORMAT, "VCEK: the certificate is a %s (CN=%s), expected a VCEK",
		  sa_cert_role_name(role), cn);
	SA_ENSURE(cp == p, err, SA_ERR_FORMAT, "VCEK: the certificate is for product %s, expected %s",
		  sa_product_name(cp), sa_product_name(p));
	return SA_OK;
}

static sa_status validate_chain(const uint8_t *d, size_t len, sa_product p, bool vlek, sa_error *err)
{
	SA_ENSURE(starts_with_pem(d, len), err, SA_ERR_FORMAT,
		  "certificate chain: expected PEM certificates (%s then ARK)", vlek ? "ASVK" : "ASK");
	sa_cert_list list = {0};
	sa_status st = sa_cert_parse_any(d, len, &list, err);
	if (st != SA_OK) {
		sa_cert_list_free(&list);
		return sa_error_wrap(err, st, "certificate chain");
	}
	sa_cert_role want_mid = vlek ? SA_ROLE_ASVK : SA_ROLE_ASK;
	if (list.n != 2) {
		size_t n = list.n;
		sa_cert_list_free(&list);
		return sa_error_set(err, SA_ERR_FORMAT, "certificate chain: %zu certificates, expected 2 (%s then ARK)",
				    n, sa_cert_role_name(want_mid));
	}
	const sa_cert *mid = list.v[0], *ark = list.v[1];
	if (mid->role != want_mid || ark->role != SA_ROLE_ARK) {
		st = sa_error_set(err, SA_ERR_FORMAT,
				  "certificate chain: holds %s (CN=%s) then %s (CN=%s), expected %s then ARK",
				  sa_cert_role_name(mid->role), mid->subject_cn, sa_cert_role_name(ark->role),
				  ark->subject_cn, sa_cert_role_name(want_mid));
	} else if (mid->product != p || ark->product != p) {
		st = sa_error_set(err, SA_ERR_FORMAT,
				  "certificate chain: the %s is for %s and the ARK for %s, expected %s",
				  sa_cert_role_name(want_mid), sa_product_name(mid->product),
				  sa_product_name(ark->product), sa_product_name(p));
	}
	sa_cert_list_free(&list);
	return st;
}

/* What KDS serves at /cek/id/<ID>: one 0x824-byte CEK certificate carrying the ASK's signature. */
static sa_status validate_cek(const uint8_t *d, size_t len, sa_error *err)
{
	sa_sev_cert *c = malloc(sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory checking a CEK");
	sa_status st = sa_sev_cert_decode(d, len, c, err);
	if (st == SA_OK && c->pub_key_usage != SA_SEV_USAGE_CEK)
		st = sa_error_set(err, SA_ERR_FORMAT, "CEK: PUB_KEY_USAGE at 0x008 is 0x%04x (%s), expected 0x1004 (CEK)",
				  c->pub_key_usage, sa_sev_usage_name(c->pub_key_usage));
	if (st == SA_OK && c->sig[0].usage != SA_SEV_USAGE_ASK && c->sig[1].usage != SA_SEV_USAGE_ASK)
		st = sa_error_set(err, SA_ERR_FORMAT,
				  "CEK: neither signature slot (usages 0x%04x, 0x%04x) holds the ASK's (0x0013); "
				  "KDS serves the CEK signed by the ASK",
				  c->sig[0].usage, c->sig[1].usage);
	free(c);
	return st;
}

/*
 * AMD's ask_ark_<product>.cert: ASK then ARK in AMD's CA format, nothing after;
 * the ARK is the product's pinned one and it signed the ASK.
 */
static sa_status decode_sev_ca(const uint8_t *d, size_t len, sa_sev_product p, sa_amd_cert *ask, sa_amd_cert *ark,
			       sa_error *err)
{
	const char *name = sa_sev_product_name(p);
	sa_reader r;
	sa_reader_init(&r, d, len);
	sa_status st = sa_amd_cert_read(&r, ask, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "SEV CA file for %s: the ASK", name);
	st = sa_amd_cert_read(&r, ark, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "SEV CA file for %s: the ARK after the ASK (%zu bytes)", name,
				     ask->encoded_len);
	SA_TRY(sa_reader_expect_end(&r, "SEV CA file (ASK, ARK)", err));
	SA_ENSURE(ask->key_usage == SA_SEV_USAGE_ASK && ark->key_usage == SA_SEV_USAGE_ARK, err, SA_ERR_FORMAT,
		  "SEV CA file for %s: KEY_USAGE 0x%04x then 0x%04x, expected 0x0013 (ASK) then 0x0000 (ARK)", name,
		  ask->key_usage, ark->key_usage);
	const sa_sev_ark_pin *pin = sa_sev_ark_pin_match(ark);
	SA_ENSURE(pin, err, SA_ERR_VERIFY, "SEV CA file for %s: the ARK matches none of AMD's pinned ARKs", name);
	SA_ENSURE(pin->product == p, err, SA_ERR_VERIFY, "SEV CA file for %s: the ARK is %s's (%s)", name,
		  sa_sev_product_name(pin->product), pin->name);
	st = sa_amd_cert_verify(ask, ark, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "SEV CA file for %s: ARK -> ASK", name);
	return SA_OK;
}

static sa_status validate_sev_ca(const uint8_t *d, size_t len, sa_sev_product p, sa_error *err)
{
	sa_amd_cert *c = malloc(2 * sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory checking a SEV CA file");
	sa_status st = decode_sev_ca(d, len, p, &c[0], &c[1], err);
	free(c);
	return st;
}

static sa_status validate(const struct target *t, const uint8_t *d, size_t len, sa_error *err)
{
	switch (t->kind) {
	case KIND_VCEK: return validate_vcek(d, len, t->p, err);
	case KIND_CHAIN: return validate_chain(d, len, t->p, t->vlek, err);
	case KIND_CEK: return validate_cek(d, len, err);
	case KIND_SEV_CA: return validate_sev_ca(d, len, t->sev, err);
	case KIND_CRL: {
		X509_CRL *crl = NULL;
		SA_TRY(parse_crl(d, len, &crl, err));
		X509_CRL_free(crl);
		return SA_OK;
	}
	}
	return sa_error_set(err, SA_ERR_STATE, "KDS: unknown object kind");
}

/* A cached CRL is usable until its nextUpdate; *expired_at says when it expired. */
static sa_status crl_fresh(const uint8_t *d, size_t len, time_t now, bool *fresh, time_t *expired_at, sa_error *err)
{
	X509_CRL *crl = NULL;
	SA_TRY(parse_crl(d, len, &crl, err));
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	*fresh = true;
	*expired_at = 0;
	if (next) {
		bool ok;
		time_t t = asn1_time_to_time_t(next, &ok);
		*fresh = ok && t >= now;
		*expired_at = t;
	}
	X509_CRL_free(crl);
	return SA_OK;
}

/* ---- HTTP ------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_FAILED_INIT;

static void curl_init_once(void) { curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

struct body {
	uint8_t *data;
	size_t len, cap;
	bool too_large;
};

struct headers {
	bool has_retry_after;
	unsigned long retry_after;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n;
	if (!sa_mul_size(size, nmemb, &n) || n > KDS_MAX_BODY - b->len) {
		b->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > KDS_MAX_BODY)
			cap = KDS_MAX_BODY;
		uint8_t *nd = realloc(b->data, cap);
		if (!nd)
			return 0;
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct headers *h = ud;
	size_t n = size * nitems; /* size is always 1 for headers */
	static const char name[] = "retry-after:";
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		h->has_retry_after = false; /* a new response (after a redirect) */
		return n;
	}
	if (n < sizeof(name) - 1 || strncasecmp(buf, name, sizeof(name) - 1) != 0)
		return n;
	size_t i = sizeof(name) - 1;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	unsigned long v = 0;
	size_t digits = 0;
	for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++, digits++)
		if (v < 86400)
			v = v * 10 + (unsigned long)(buf[i] - '0');
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	/* Only the delta-seconds form; an HTTP-date falls back to exponential back-off. */
	if (digits > 0 && i == n) {
		h->has_retry_after = true;
		h->retry_after = v;
	}
	return n;
}

/* One GET.  Transport failures are errors; any HTTP status is returned in *status. */
static sa_status http_get_once(const sa_kds *k, const char *url, long *status, struct body *b, struct headers *h,
			       sa_error *err)
{
	CURL *c = curl_easy_init();
	SA_ENSURE(c, err, SA_ERR_NOMEM, "GET %s: cannot create a curl handle", url);
	char errbuf[CURL_ERROR_SIZE];
	errbuf[0] = '\0';
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                                              \
	do {                                                                                                       \
		if (rc == CURLE_OK)                                                                                \
			rc = curl_easy_setopt(c, opt, val);                                                        \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, KDS_MAX_REDIRECTS);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT, (long)k->timeout_s);
	SET(CURLOPT_CONNECTTIMEOUT, (long)k->timeout_s);
	SET(CURLOPT_USERAGENT, "sevattest/" SEVATTEST_VERSION_STRING);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)KDS_MAX_BODY);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, b);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, h);
#undef SET
	if (rc != CURLE_OK) {
		curl_easy_cleanup(c);
		return sa_error_set(err, SA_ERR_NETWORK, "GET %s: cannot configure curl: %s", url,
				    curl_easy_strerror(rc));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (b->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return sa_error_set(err, SA_ERR_RANGE,
				    "GET %s: the response is larger than %zu bytes, more than any KDS object", url,
				    KDS_MAX_BODY);
	if (rc != CURLE_OK)
		return sa_error_set(err, SA_ERR_NETWORK, "GET %s failed: %s", url,
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return SA_OK;
}

/* Sleep whole seconds, resuming after signals. */
static void sleep_seconds(unsigned s)
{
	struct timespec req = {.tv_sec = (time_t)s, .tv_nsec = 0}, rem;
	while (nanosleep(&req, &rem) != 0 && errno == EINTR)
		req = rem;
}

/* GET with back-off on 429/503; on success *out holds the 200 body. */
static sa_status http_get(const sa_kds *k, const char *url, const struct target *t, uint8_t **out, size_t *out_len,
			  sa_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	SA_ENSURE(curl_init_status == CURLE_OK, err, SA_ERR_NETWORK, "cannot initialise libcurl: %s",
		  curl_easy_strerror(curl_init_status));
	for (unsigned attempt = 0;; attempt++) {
		struct body b = {0};
		struct headers h = {0};
		long status = 0;
		sa_status st = http_get_once(k, url, &status, &b, &h, err);
		if (st != SA_OK) {
			free(b.data);
			return st;
		}
		if (status == 200) {
			if (!b.data) { /* empty body: give the caller a valid pointer */
				b.data = malloc(1);
				SA_ENSURE(b.data, err, SA_ERR_NOMEM, "out of memory reading %s", url);
			}
			*out = b.data;
			*out_len = b.len;
			return SA_OK;
		}
		free(b.data); /* never keep an error body */
		if (status == 404)
			return sa_error_set(err, SA_ERR_NOT_FOUND, "%s has no %s for this %s (HTTP 404): %s",
					    t->kind == KIND_SEV_CA ? "AMD" : "KDS", kind_name(t->kind, t->vlek),
					    t->kind == KIND_VCEK ? "chip and TCB"
					    : t->kind == KIND_CEK ? "chip ID (GET_ID)"
								  : "product",
					    url);
		if (status != 429 && status != 503)
			return sa_error_set(err, SA_ERR_NETWORK, "KDS answered HTTP %ld, expected 200: %s", status,
					    url);
		if (attempt >= k->max_retries)
			return sa_error_set(err, SA_ERR_NETWORK,
					    "KDS answered HTTP %ld (%s) to all %u attempts; try again later: %s",
					    status, status == 429 ? "rate limited" : "unavailable", attempt + 1, url);
		unsigned long wait = h.has_retry_after ? h.retry_after : 1ul << (attempt < 16 ? attempt : 16);
		if (wait > k->max_backoff_s)
			wait = k->max_backoff_s;
		sleep_seconds((unsigned)wait);
	}
}

/* ---- fetch through the cache ------------------------------------------------ */

enum cache_result { CACHE_HIT, CACHE_MISS, CACHE_BAD, CACHE_EXPIRED };

/* Look file up; on CACHE_HIT *out holds it, otherwise why says what was wrong. */
static enum cache_result cache_lookup(const char *file, const struct target *t, uint8_t **out, size_t *out_len,
				      sa_error *why)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	sa_status st = sa_read_file(file, KDS_MAX_BODY, &buf, &n, why);
	if (st == SA_ERR_NOT_FOUND)
		return CACHE_MISS;
	if (st == SA_OK)
		st = validate(t, buf, n, why);
	if (st != SA_OK) {
		free(buf);
		return CACHE_BAD;
	}
	if (t->kind == KIND_CRL) {
		bool fresh = false;
		time_t expired_at = 0;
		st = crl_fresh(buf, n, time(NULL), &fresh, &expired_at, why);
		if (st != SA_OK || !fresh) {
			char when[32];
			if (st == SA_OK)
				sa_error_set(why, SA_ERR_NOT_FOUND, "cached CRL %s expired at %s", file,
					     sa_time_format(expired_at, when, sizeof(when)));
			free(buf);
			return st == SA_OK ? CACHE_EXPIRED : CACHE_BAD;
		}
	}
	*out = buf;
	*out_len = n;
	return CACHE_HIT;
}

static const char *cache_ext(enum kind kind)
{
	switch (kind) {
	case KIND_CHAIN: return ".pem";
	case KIND_CEK:
	case KIND_SEV_CA: return ".cert";
	case KIND_VCEK:
	case KIND_CRL: break;
	}
	return ".der";
}

static sa_status fetch(sa_kds *k, const struct target *t, uint8_t **out, size_t *out_len, sa_error *err)
{
	SA_ENSURE(k && out && out_len, err, SA_ERR_ARG, "KDS fetch: no client or output pointer");
	size_t ulen = strlen(t->base) + strlen(t->path) + 1;
	char *url = malloc(ulen);
	SA_ENSURE(url, err, SA_ERR_NOMEM, "out of memory building the URL for %s", t->path);
	snprintf(url, ulen, "%s%s", t->base, t->path);
	const char *what = kind_name(t->kind, t->vlek);
	char *file = NULL;
	sa_status st = SA_OK;
	if (k->cache_dir) {
		st = cache_file(k, t->cache_rel, cache_ext(t->kind), &file, err);
		if (st != SA_OK)
			goto done;
		sa_error why = {0};
		enum cache_result cr = cache_lookup(file, t, out, out_len, &why);
		if (cr == CACHE_HIT)
			goto done;
		if (k->offline) {
			if (cr == CACHE_EXPIRED)
				st = sa_error_set(err, SA_ERR_NOT_FOUND,
						  "%s and offline mode is on, so %s cannot be refreshed", why.msg, url);
			else if (cr == CACHE_MISS)
				st = sa_error_set(err, SA_ERR_NOT_FOUND,
						  "offline mode: %s (the %s) is not in the cache (%s)", url, what,
						  file);
			else
				st = sa_error_set(err, why.code, "offline mode: cached %s %s is unusable: %s",
						  what, file, why.msg);
			goto done;
		}
		/* Missing, damaged or expired: fetch again and overwrite. */
	}
	uint8_t *body = NULL;
	size_t blen = 0;
	st = http_get(k, url, t, &body, &blen, err);
	if (st != SA_OK)
		goto done;
	st = validate(t, body, blen, err);
	if (st != SA_OK) {
		free(body);
		st = sa_error_wrap(err, st, "response for %s is not a valid %s (not cached)", url, what);
		goto done;
	}
	/*
	 * A cache that cannot be written costs a refetch next time, not this
	 * verification, so a write failure is not an error.
	 */
	if (file) {
		sa_error werr;
		if (make_parents(file, &werr) == SA_OK && sa_write_file_atomic(file, body, blen, 0600, &werr) != SA_OK)
			werr.code = SA_OK; /* ignored on purpose, see above */
	}
	*out = body;
	*out_len = blen;
done:
	free(file);
	free(url);
	return st;
}

/* An SNP object at path below the KDS base URL, cached under the same path. */
static sa_status fetch_snp(sa_kds *k, const char *path, enum kind kind, sa_product p, bool vlek, uint8_t **out,
			   size_t *out_len, sa_error *err)
{
	SA_ENSURE(k, err, SA_ERR_ARG, "KDS fetch: no client");
	struct target t = {.base = k->base_url, .path = path, .cache_rel = path, .kind = kind, .p = p, .vlek = vlek};
	return fetch(k, &t, out, out_len, err);
}

sa_status sa_kds_fetch_vcek(sa_kds *k, sa_product p, const uint8_t chip_id[64], const sa_tcb *reported,
			    uint8_t **out, size_t *out_len, sa_error *err)
{
	char path[KDS_PATH_MAX];
	SA_TRY(sa_kds_vcek_path(p, chip_id, reported, path, sizeof(path), err));
	return fetch_snp(k, path, KIND_VCEK, p, false, out, out_len, err);
}

sa_status sa_kds_fetch_chain(sa_kds *k, sa_product p, bool vlek, uint8_t **out, size_t *out_len, sa_error *err)
{
	char path[KDS_PATH_MAX];
	SA_TRY(sa_kds_chain_path(p, vlek, path, sizeof(path), err));
	return fetch_snp(k, path, KIND_CHAIN, p, vlek, out, out_len, err);
}

sa_status sa_kds_fetch_crl(sa_kds *k, sa_product p, bool vlek, uint8_t **out, size_t *out_len, sa_error *err)
{
	char path[KDS_PATH_MAX];
	SA_TRY(sa_kds_crl_path(p, vlek, path, sizeof(path), err));
	return fetch_snp(k, path, KIND_CRL, p, vlek, out, out_len, err);
}

/* ---- SEV (legacy): the CEK by chip ID, AMD's ASK and ARK ---------------------- */

sa_status sa_kds_cek_path(const uint8_t *id, size_t id_len, char *out, size_t cap, sa_error *err)
{
	SA_ENSURE(id && id_len > 0, err, SA_ERR_ARG, "KDS CEK path: no chip ID (GET_ID) given");
	SA_ENSURE(id_len % SA_KDS_SEV_ID_SIZE == 0 && id_len <= 2 * SA_KDS_SEV_ID_SIZE, err, SA_ERR_FORMAT,
		  "KDS CEK path: the chip ID (GET_ID) is %zu bytes, expected 64 (one socket) or 128 (two)", id_len);
	/* A two-socket GET_ID holds socket 0 then socket 1; KDS is asked for socket 0's, as sev-tool does. */
	SA_ENSURE(!sa_all_zero(id, SA_KDS_SEV_ID_SIZE), err, SA_ERR_FORMAT,
		  "KDS CEK path: the chip ID (GET_ID) is all zeros");
	char hex[2 * SA_KDS_SEV_ID_SIZE + 1];
	sa_hex_encode(id, SA_KDS_SEV_ID_SIZE, hex);
	return put_path(out, cap, "KDS CEK path", err, "/cek/id/%s", hex);
}

/* The file name part of ask_ark_<name>.cert. */
static const char *sev_ca_name(sa_sev_product p)
{
	switch (p) {
	case SA_SEV_PRODUCT_NAPLES: return "naples";
	case SA_SEV_PRODUCT_ROME: return "rome";
	case SA_SEV_PRODUCT_MILAN: return "milan";
	case SA_SEV_PRODUCT_GENOA: return "genoa";
	case SA_SEV_PRODUCT_TURIN: return "turin";
	case SA_SEV_PRODUCT_UNKNOWN: break;
	}
	return NULL;
}

sa_status sa_kds_sev_ca_path(sa_sev_product p, char *out, size_t cap, sa_error *err)
{
	const char *name = sev_ca_name(p);
	SA_ENSURE(name, err, SA_ERR_ARG, "SEV CA path: product unknown; pass --product (Naples, Rome, Milan, Genoa "
					 "or Turin)");
	return put_path(out, cap, "SEV CA path", err, "/ask_ark_%s.cert", name);
}

sa_status sa_kds_fetch_cek(sa_kds *k, const uint8_t *id, size_t id_len, sa_sev_cert *out, sa_error *err)
{
	SA_ENSURE(k && out, err, SA_ERR_ARG, "KDS CEK: no client or output");
	char path[KDS_PATH_MAX];
	SA_TRY(sa_kds_cek_path(id, id_len, path, sizeof(path), err));
	struct target t = {.base = k->base_url, .path = path, .cache_rel = path, .kind = KIND_CEK};
	uint8_t *d = NULL;
	size_t len = 0;
	SA_TRY(fetch(k, &t, &d, &len, err));
	sa_status st = sa_sev_cert_decode(d, len, out, err); /* validated already: cannot fail */
	free(d);
	return st;
}

sa_status sa_kds_fetch_sev_ca(sa_kds *k, sa_sev_product p, sa_amd_cert *ask, sa_amd_cert *ark, sa_error *err)
{
	SA_ENSURE(k && ask && ark, err, SA_ERR_ARG, "SEV CA: no client or output");
	char path[KDS_PATH_MAX], rel[KDS_PATH_MAX];
	SA_TRY(sa_kds_sev_ca_path(p, path, sizeof(path), err));
	SA_TRY(put_path(rel, sizeof(rel), "SEV CA cache path", err, "sev/ask_ark_%s", sev_ca_name(p)));
	struct target t = {.base = k->sev_ca_url, .path = path, .cache_rel = rel, .kind = KIND_SEV_CA, .sev = p};
	uint8_t *d = NULL;
	size_t len = 0;
	SA_TRY(fetch(k, &t, &d, &len, err));
	sa_amd_cert *c = malloc(2 * sizeof(*c));
	sa_status st = c ? decode_sev_ca(d, len, p, &c[0], &c[1], err)
			 : sa_error_set(err, SA_ERR_NOMEM, "out of memory decoding the SEV CA file");
	if (st == SA_OK) {
		*ask = c[0];
		*ark = c[1];
	}
	free(c);
	free(d);
	return st;
}

sa_status sa_kds_sev_ca_for_cek(sa_kds *k, const sa_sev_cert *cek, sa_sev_product p, sa_amd_cert *ask,
				sa_amd_cert *ark, sa_sev_product *found, sa_error *err)
{
	SA_ENSURE(k && cek && ask && ark, err, SA_ERR_ARG, "SEV CA: no client, CEK or output");
	size_t n = 0;
	const sa_sev_ark_pin *pins = sa_sev_ark_pins(&n);
	sa_amd_cert *c = malloc(2 * sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory fetching the SEV CA file");
	char tried[256] = "";
	size_t off = 0;
	sa_status st = SA_ERR_NOT_FOUND;
	bool fatal = false;
	size_t checked = 0; /* products whose file was had, so that their ASK was tried on the CEK */
	for (size_t i = 0; i < n; i++) {
		sa_sev_product q = pins[i].product;
		if (p != SA_SEV_PRODUCT_UNKNOWN && q != p)
			continue;
		sa_error e = {0};
		st = sa_kds_fetch_sev_ca(k, q, &c[0], &c[1], &e);
		if (st == SA_OK) {
			checked++;
			st = sa_sev_cert_verify_by_ask(cek, &c[0], &e);
		}
		if (st == SA_OK) {
			*ask = c[0];
			*ark = c[1];
			if (found)
				*found = q;
			break;
		}
		/* Only "not this product" moves on: a network or cache failure is reported as it is. */
		if (p != SA_SEV_PRODUCT_UNKNOWN || (st != SA_ERR_NOT_FOUND && st != SA_ERR_VERIFY)) {
			*err = e;
			fatal = true;
			break;
		}
		int w = snprintf(tried + off, sizeof(tried) - off, "%s%s (%s)", off ? "; " : "", sa_sev_product_name(q),
				 e.msg);
		if (w > 0)
			off = (size_t)w < sizeof(tried) - off ? off + (size_t)w : sizeof(tried) - 1;
	}
	free(c);
	if (st != SA_OK && !fatal && checked == 0)
		return sa_error_set(err, SA_ERR_NOT_FOUND, "no pinned product's SEV CA file could be had: %s", tried);
	if (st != SA_OK && !fatal)
		return sa_error_set(err, SA_ERR_NOT_FOUND, "no pinned product's ASK signs this CEK: %s", tried);
	return st;
}

/* ---- completing a trust pool ------------------------------------------------ */

#define POOL_SCAN_MAX 256

static bool vcek_matches(const sa_cert *c, const uint8_t chip_id[64], size_t hwid_len, const sa_tcb *t)
{
	const sa_amd_ext *e = &c->ext;
	if (!e->has_hwid || e->hwid_len != hwid_len || memcmp(e->hwid, chip_id, hwid_len) != 0)
		return false;
	if (!e->has_bl || !e->has_tee || !e->has_snp || !e->has_ucode)
		return false;
	if (e->bl != t->bl || e->tee != t->tee || e->snp != t->snp || e->ucode != t->ucode)
		return false;
	if (t->turin_layout && (!e->has_fmc || e->fmc != t->fmc))
		return false;
	return true;
}

static sa_status add_fetched(sa_trust *trust, const uint8_t *data, size_t len, const char *what, sa_error *err)
{
	sa_cert_list list = {0};
	sa_status st = sa_cert_parse_any(data, len, &list, err);
	if (st == SA_OK)
		st = sa_trust_add(trust, &list, err);
	sa_cert_list_free(&list);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "adding the fetched %s to the trust pool", what);
	return SA_OK;
}

sa_status sa_kds_complete_trust(sa_kds *k, const sa_snp_report *r, sa_product p, sa_trust *trust, sa_error *err)
{
	SA_ENSURE(k && r && trust, err, SA_ERR_ARG, "KDS: no client, report or trust pool");
	SA_TRY(check_product(p, err));
	unsigned key = sa_snp_report_signing_key(r);
	SA_ENSURE(key == SA_SIGNING_KEY_VCEK || key == SA_SIGNING_KEY_VLEK, err, SA_ERR_UNSUPPORTED,
		  "report KEY_INFO.SIGNING_KEY is %u (%s), expected 0 (VCEK) or 1 (VLEK): no endorsement key to fetch",
		  key, sa_signing_key_name(key));
	bool vlek = key == SA_SIGNING_KEY_VLEK;
	const sa_cert *found[POOL_SCAN_MAX];

	if (!sa_trust_vek(trust)) {
		sa_tcb t = sa_tcb_decode_for(r->reported_tcb, p);
		bool have = false;
		if (vlek) {
			have = sa_trust_find(trust, SA_ROLE_VLEK, p, found, POOL_SCAN_MAX) > 0;
			SA_ENSURE(have, err, SA_ERR_NOT_FOUND,
				  "the report is signed by a VLEK, and a VLEK cannot be fetched from KDS without "
				  "cloud-provider credentials; pass it with --vcek");
		} else {
			size_t hwid_len = sa_product_hwid_len(p);
			size_t n = sa_trust_find(trust, SA_ROLE_VCEK, p, found, POOL_SCAN_MAX);
			for (size_t i = 0; i < n && i < POOL_SCAN_MAX && !have; i++)
				have = vcek_matches(found[i], r->chip_id, hwid_len, &t);
		}
		if (!have) {
			uint8_t *der = NULL;
			size_t len = 0;
			SA_TRY(sa_kds_fetch_vcek(k, p, r->chip_id, &t, &der, &len, err));
			sa_status st = add_fetched(trust, der, len, "VCEK", err);
			free(der);
			SA_TRY(st);
		}
	}

	sa_cert_role mid = vlek ? SA_ROLE_ASVK : SA_ROLE_ASK;
	bool have_ark = sa_trust_find(trust, SA_ROLE_ARK, p, found, POOL_SCAN_MAX) > 0 ||
			sa_trust_roots(trust, p, found, POOL_SCAN_MAX) > 0;
	bool have_mid = sa_trust_find(trust, mid, p, found, POOL_SCAN_MAX) > 0;
	if (!have_ark || !have_mid) {
		uint8_t *pem = NULL;
		size_t len = 0;
		SA_TRY(sa_kds_fetch_chain(k, p, vlek, &pem, &len, err));
		sa_status st = add_fetched(trust, pem, len, "certificate chain", err);
		free(pem);
		SA_TRY(st);
	}
	return SA_OK;
}

/* ---- CRL check ------------------------------------------------------------- */

/* "0x10001": the serial in lowercase hex without leading zeros. */
static char *serial_str(const X509 *x, char *buf, size_t cap)
{
	snprintf(buf, cap, "(unreadable)");
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (!bn)
		return buf;
	char *hex = BN_bn2hex(bn);
	if (hex) {
		const char *h = hex;
		bool neg = *h == '-';
		if (neg)
			h++;
		while (h[0] == '0' && h[1])
			h++;
		size_t o = (size_t)snprintf(buf, cap, "%s0x", neg ? "-" : "");
		for (; *h && o + 1 < cap; h++)
			buf[o++] = (char)(*h >= 'A' && *h <= 'F' ? *h - 'A' + 'a' : *h);
		buf[o < cap ? o : cap - 1] = '\0';
		OPENSSL_free(hex);
	}
	BN_free(bn);
	return buf;
}

static int algor_nid(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR_get0(&obj, NULL, NULL, a);
	return obj ? OBJ_obj2nid(obj) : NID_undef;
}

/* AMD's profile: RSASSA-PSS, SHA-384, MGF1 with SHA-384, salt 48, trailer 1. */
static sa_status check_pss_profile(const X509_ALGOR *alg, const char *what, sa_error *err)
{
	int nid = algor_nid(alg);
	SA_ENSURE(nid == NID_rsassaPss, err, SA_ERR_VERIFY, "%s: signature algorithm is %s, expected RSASSA-PSS", what,
		  nid == NID_undef ? "unknown" : OBJ_nid2ln(nid));
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	SA_ENSURE(ptype == V_ASN1_SEQUENCE && pval, err, SA_ERR_VERIFY,
		  "%s: RSASSA-PSS parameters are absent, expected SHA-384 / MGF1-SHA-384 / salt 48", what);
	const ASN1_STRING *seq = pval;
	const unsigned char *q = ASN1_STRING_get0_data(seq);
	RSA_PSS_PARAMS *pss = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(seq));
	if (!pss) {
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_VERIFY, "%s: RSASSA-PSS parameters do not parse", what);
	}
	sa_status st = SA_OK;
	int hash = pss->hashAlgorithm ? algor_nid(pss->hashAlgorithm) : NID_sha1;
	int mgf = pss->maskGenAlgorithm ? algor_nid(pss->maskGenAlgorithm) : NID_mgf1;
	int mgf_hash = NID_sha1;
	if (pss->maskGenAlgorithm) {
		int mtype = V_ASN1_UNDEF;
		const void *mval = NULL;
		X509_ALGOR_get0(NULL, &mtype, &mval, pss->maskGenAlgorithm);
		mgf_hash = NID_undef;
		if (mtype == V_ASN1_SEQUENCE && mval) {
			const ASN1_STRING *ms = mval;
			const unsigned char *mq = ASN1_STRING_get0_data(ms);
			X509_ALGOR *mh = d2i_X509_ALGOR(NULL, &mq, ASN1_STRING_length(ms));
			if (mh) {
				mgf_hash = algor_nid(mh);
				X509_ALGOR_free(mh);
			} else {
				ERR_clear_error();
			}
		}
	}
	long salt = pss->saltLength ? ASN1_INTEGER_get(pss->saltLength) : 20;
	long trailer = pss->trailerField ? ASN1_INTEGER_get(pss->trailerField) : 1;
	if (hash != NID_sha384)
		st = sa_error_set(err, SA_ERR_VERIFY, "%s: RSASSA-PSS hash is %s, expected SHA-384", what,
				  hash == NID_undef ? "unknown" : OBJ_nid2sn(hash));
	else if (mgf != NID_mgf1 || mgf_hash != NID_sha384)
		st = sa_error_set(err, SA_ERR_VERIFY,
				  "%s: RSASSA-PSS mask generation is %s with %s, expected MGF1 with SHA-384", what,
				  mgf == NID_undef ? "unknown" : OBJ_nid2sn(mgf),
				  mgf_hash == NID_undef ? "unknown" : OBJ_nid2sn(mgf_hash));
	else if (salt != 48)
		st = sa_error_set(err, SA_ERR_VERIFY, "%s: RSASSA-PSS salt length is %ld, expected 48", what, salt);
	else if (trailer != 1)
		st = sa_error_set(err, SA_ERR_VERIFY, "%s: RSASSA-PSS trailer field is %ld, expected 1", what, trailer);
	RSA_PSS_PARAMS_free(pss);
	return st;
}

static char *name_str(const X509_NAME *n, char *buf, size_t cap)
{
	if (!n || !X509_NAME_oneline(n, buf, (int)cap))
		snprintf(buf, cap, "(unreadable name)");
	return buf;
}

static sa_status crl_check(X509_CRL *crl, const sa_cert *ark, const sa_cert *cert, time_t now, sa_error *err)
{
	const char *crlname = ark->subject_cn[0] ? ark->subject_cn : "ARK";
	char a[256], b[256];
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark->x509)) != 0)
		return sa_error_set(err, SA_ERR_VERIFY, "CRL: issuer %s is not the ARK's subject %s",
				    name_str(X509_CRL_get_issuer(crl), a, sizeof(a)),
				    name_str(X509_get_subject_name(ark->x509), b, sizeof(b)));
	const ASN1_BIT_STRING *sig = NULL;
	const X509_ALGOR *alg = NULL;
	X509_CRL_get0_signature(crl, &sig, &alg);
	SA_TRY(check_pss_profile(alg, "CRL", err));
	SA_ENSURE(ark->pubkey && EVP_PKEY_get_base_id(ark->pubkey) == EVP_PKEY_RSA, err, SA_ERR_VERIFY,
		  "CRL: the %s key is not an RSA key, so it cannot have signed the CRL", crlname);
	int v = X509_CRL_verify(crl, ark->pubkey);
	ERR_clear_error();
	SA_ENSURE(v == 1, err, SA_ERR_VERIFY, "CRL: signature does not verify under the %s key", crlname);

	const ASN1_TIME *this_update = X509_CRL_get0_lastUpdate(crl);
	const ASN1_TIME *next_update = X509_CRL_get0_nextUpdate(crl);
	char nowbuf[32];
	sa_time_format(now, nowbuf, sizeof(nowbuf));
	SA_ENSURE(this_update, err, SA_ERR_VERIFY, "CRL: thisUpdate is missing");
	int c = ASN1_TIME_cmp_time_t(this_update, now);
	SA_ENSURE(c != -2, err, SA_ERR_VERIFY, "CRL: thisUpdate cannot be read");
	SA_ENSURE(c <= 0, err, SA_ERR_VERIFY, "CRL: thisUpdate %s is after the check time %s (not yet valid)",
		  asn1_time_str(this_update, a, sizeof(a)), nowbuf);
	if (next_update) {
		c = ASN1_TIME_cmp_time_t(next_update, now);
		SA_ENSURE(c != -2, err, SA_ERR_VERIFY, "CRL: nextUpdate cannot be read");
		SA_ENSURE(c >= 0, err, SA_ERR_VERIFY, "CRL: expired: nextUpdate %s is before the check time %s",
			  asn1_time_str(next_update, a, sizeof(a)), nowbuf);
	}

	X509_REVOKED *rev = NULL;
	int found = X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(cert->x509));
	if (found == 1) {
		const char *who = cert->subject_cn[0] ? cert->subject_cn : sa_cert_role_name(cert->role);
		return sa_error_set(err, SA_ERR_VERIFY, "%s (serial %s) is revoked since %s by the %s CRL", who,
				    serial_str(cert->x509, a, sizeof(a)),
				    asn1_time_str(rev ? X509_REVOKED_get0_revocationDate(rev) : NULL, b, sizeof(b)),
				    crlname);
	}
	return SA_OK;
}

sa_status sa_crl_check(const uint8_t *crl_der, size_t len, const sa_cert *ark, const sa_cert *cert, time_t now,
		       sa_error *err)
{
	SA_ENSURE(ark && ark->x509 && cert && cert->x509, err, SA_ERR_ARG, "CRL check: no ARK or certificate given");
	X509_CRL *crl = NULL;
	if (parse_crl(crl_der, len, &crl, err) != SA_OK)
		return sa_error_wrap(err, SA_ERR_VERIFY, "CRL check");
	sa_status st = crl_check(crl, ark, cert, now, err);
	X509_CRL_free(crl);
	return st;
}
