/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP X.509 certificates (ARK, ASK, ASVK, VCEK, VLEK).
 *
 * OpenSSL parses the X.509 structure and checks signatures; AMD's private
 * extensions (1.3.6.1.4.1.3704.1.*) are decoded by our own DER reader, and
 * written with our own writer when we issue certificates, so both directions
 * share one table of arcs.  The chain profile is AMD's only: RSASSA-PSS with
 * SHA-384, MGF1-SHA-384 and salt length 48 (VCEK/KDS spec 57230).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sevattest/bytes.h"
#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "sevattest/der.h"
#include "sevattest/encoding.h"

#include "internal.h"

#define AMD_OID_PREFIX "1.3.6.1.4.1.3704.1."
#define CERT_FILE_MAX (1u << 20) /* 1 MiB: a KDS chain is about 5 KiB */
#define PSS_SALT_LEN 48

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

const char *sa_cert_role_name(sa_cert_role role)
{
	switch (role) {
	case SA_ROLE_ARK: return "ARK";
	case SA_ROLE_ASK: return "ASK";
	case SA_ROLE_ASVK: return "ASVK";
	case SA_ROLE_VCEK: return "VCEK";
	case SA_ROLE_VLEK: return "VLEK";
	case SA_ROLE_UNKNOWN: break;
	}
	return "unknown";
}

char *sa_time_format(time_t t, char *buf, size_t cap)
{
	if (!buf || cap == 0)
		return buf;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, cap, "(time %lld)", (long long)t);
		return buf;
	}
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	return buf;
}

/* The first OpenSSL error as text (for messages); clears the queue. */
static const char *ossl_detail(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "no detail from OpenSSL");
	ERR_clear_error();
	return buf;
}

static const char *cn_of(const sa_cert *c) { return c->subject_cn[0] ? c->subject_cn : "(certificate without CN)"; }

/* Copy a name's CN, replacing anything but printable ASCII so it is safe in messages and JSON. */
static void name_cn(const X509_NAME *name, char *out, size_t cap)
{
	out[0] = '\0';
	if (!name)
		return;
	int n = X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)cap);
	if (n < 0) {
		out[0] = '\0';
		ERR_clear_error();
		return;
	}
	out[cap - 1] = '\0';
	for (size_t i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7E)
			out[i] = '?';
}

static sa_status asn1_time_to_time_t(const ASN1_TIME *t, time_t *out, const char *what, const char *cn,
				     sa_error *err)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_FORMAT, "%s: %s is not a valid time", cn, what);
	}
	*out = timegm(&tm);
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* AMD extensions: one table for parsing and issuing                          */
/* ------------------------------------------------------------------------- */

enum amd_kind { AK_STRUCT_VERSION, AK_PRODUCT_NAME, AK_SPL, AK_HWID, AK_CSP_ID };

struct amd_arc {
	const char *arc;  /* after 1.3.6.1.4.1.3704.1. */
	const char *name; /* for messages: "AMD extension <name> (<oid>)" */
	enum amd_kind kind;
	unsigned spl;     /* AK_SPL: 1 bl, 2 tee, 3 snp, 4..7 spl_n, 8 ucode, 9 fmc */
};

static const struct amd_arc amd_arcs[] = {
	{"1", "structVersion", AK_STRUCT_VERSION, 0},
	{"2", "productName", AK_PRODUCT_NAME, 0},
	{"3.1", "blSPL", AK_SPL, 1},
	{"3.2", "teeSPL", AK_SPL, 2},
	{"3.3", "snpSPL", AK_SPL, 3},
	{"3.4", "spl_4", AK_SPL, 4},
	{"3.5", "spl_5", AK_SPL, 5},
	{"3.6", "spl_6", AK_SPL, 6},
	{"3.7", "spl_7", AK_SPL, 7},
	{"3.8", "ucodeSPL", AK_SPL, 8},
	{"3.9", "fmcSPL", AK_SPL, 9},
	{"4", "hwID", AK_HWID, 0},
	{"5", "csp_id", AK_CSP_ID, 0},
};

static const struct amd_arc *amd_arc_find(const char *arc)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(amd_arcs); i++)
		if (strcmp(amd_arcs[i].arc, arc) == 0)
			return &amd_arcs[i];
	return NULL;
}

static const struct amd_arc *amd_arc_spl(unsigned spl)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(amd_arcs); i++)
		if (amd_arcs[i].kind == AK_SPL && amd_arcs[i].spl == spl)
			return &amd_arcs[i];
	return NULL;
}

/* Presence flag and value slot of an SPL within sa_amd_ext. */
static bool spl_present(const sa_amd_ext *e, unsigned spl)
{
	switch (spl) {
	case 1: return e->has_bl;
	case 2: return e->has_tee;
	case 3: return e->has_snp;
	case 8: return e->has_ucode;
	case 9: return e->has_fmc;
	default: return spl >= 4 && spl <= 7 && (e->spl_present & (1u << spl));
	}
}

static uint8_t spl_value(const sa_amd_ext *e, unsigned spl)
{
	switch (spl) {
	case 1: return e->bl;
	case 2: return e->tee;
	case 3: return e->snp;
	case 8: return e->ucode;
	case 9: return e->fmc;
	default: return spl >= 4 && spl <= 7 ? e->spl[spl] : 0;
	}
}

static void spl_set(sa_amd_ext *e, unsigned spl, uint8_t v)
{
	switch (spl) {
	case 1:
		e->has_bl = true;
		e->bl = v;
		break;
	case 2:
		e->has_tee = true;
		e->tee = v;
		break;
	case 3:
		e->has_snp = true;
		e->snp = v;
		break;
	case 8:
		e->has_ucode = true;
		e->ucode = v;
		break;
	case 9:
		e->has_fmc = true;
		e->fmc = v;
		break;
	default:
		if (spl >= 4 && spl <= 7) {
			e->spl_present |= (uint8_t)(1u << spl);
			e->spl[spl] = v;
		}
		break;
	}
}

static bool amd_arc_present(const sa_amd_ext *e, const struct amd_arc *a)
{
	switch (a->kind) {
	case AK_STRUCT_VERSION: return e->has_struct_version;
	case AK_PRODUCT_NAME: return e->has_product_name;
	case AK_SPL: return spl_present(e, a->spl);
	case AK_HWID: return e->has_hwid;
	case AK_CSP_ID: return e->has_csp_id;
	}
	return false;
}

static bool printable_ascii(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return false;
	return true;
}

/* A string TLV whose tag is one of `tags`, copied NUL-terminated into out[cap]. */
static sa_status read_string(sa_reader *r, const uint8_t *tags, size_t ntags, const char *expected, char *out,
			     size_t cap, const char *field, sa_error *err)
{
	uint8_t tag;
	sa_reader c;
	SA_TRY(sa_der_read_tlv(r, &tag, &c, field, err));
	bool ok = false;
	for (size_t i = 0; i < ntags; i++)
		ok = ok || tag == tags[i];
	SA_ENSURE(ok, err, SA_ERR_FORMAT, "%s: DER tag 0x%02x, expected %s", field, tag, expected);
	size_t n = sa_reader_remaining(&c);
	SA_ENSURE(n < cap, err, SA_ERR_RANGE, "%s: string of %zu bytes, at most %zu allowed", field, n, cap - 1);
	const uint8_t *p;
	SA_TRY(sa_read_view(&c, &p, n, field, err));
	SA_ENSURE(printable_ascii(p, n), err, SA_ERR_FORMAT, "%s: string holds bytes other than printable ASCII",
		  field);
	memcpy(out, p, n);
	out[n] = '\0';
	return SA_OK;
}

static sa_status parse_hwid(const uint8_t *value, size_t len, sa_amd_ext *ext, const char *field, sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, value, len);
	/* Two encodings exist: the raw chip id (KDS, and every real certificate we
	 * have), or a DER OCTET STRING around it.  The length tells them apart:
	 * a raw id is exactly 8 or 64 bytes, a wrapped one 2 more. */
	if ((len == 2 + 64 || len == 2 + 8) && value[0] == SA_DER_OCTET_STRING && value[1] == len - 2) {
		sa_reader c;
		SA_TRY(sa_der_expect(&r, SA_DER_OCTET_STRING, &c, field, err));
		SA_TRY(sa_read_bytes(&c, ext->hwid, len - 2, field, err));
		SA_TRY(sa_reader_expect_end(&c, field, err));
		ext->hwid_len = len - 2;
		ext->hwid_encoding = SA_HWID_OCTET_STRING;
	} else if (len == 64 || len == 8) {
		SA_TRY(sa_read_bytes(&r, ext->hwid, len, field, err));
		ext->hwid_len = len;
		ext->hwid_encoding = SA_HWID_RAW;
	} else {
		return sa_error_set(err, SA_ERR_FORMAT,
				    "%s: %zu bytes, expected a chip id of 64 bytes (Milan, Genoa) or 8 bytes (Turin), "
				    "raw or as a DER OCTET STRING",
				    field, len);
	}
	SA_TRY(sa_reader_expect_end(&r, field, err));
	ext->has_hwid = true;
	return SA_OK;
}

sa_status sa_amd_ext_parse_value(const char *arc, const uint8_t *value, size_t len, sa_amd_ext *ext,
				 sa_error *err)
{
	SA_ENSURE(arc && ext && (value || len == 0), err, SA_ERR_ARG, "AMD extension: missing argument");
	const struct amd_arc *a = amd_arc_find(arc);
	if (!a)
		return SA_OK; /* unknown arcs are ignored */
	char field[96];
	snprintf(field, sizeof(field), "AMD extension %s (" AMD_OID_PREFIX "%s)", a->name, a->arc);
	SA_ENSURE(!amd_arc_present(ext, a), err, SA_ERR_FORMAT, "%s: appears more than once", field);

	sa_reader r;
	sa_reader_init(&r, value, len);
	switch (a->kind) {
	case AK_STRUCT_VERSION: {
		uint64_t v;
		SA_TRY(sa_der_read_uint(&r, &v, field, err));
		SA_TRY(sa_reader_expect_end(&r, field, err));
		ext->struct_version = v;
		ext->has_struct_version = true;
		return SA_OK;
	}
	case AK_PRODUCT_NAME: {
		static const uint8_t tags[] = {SA_DER_IA5STRING};
		char tmp[sizeof(ext->product_name)] = {0};
		SA_TRY(read_string(&r, tags, SA_ARRAY_LEN(tags), "0x16 (IA5String)", tmp, sizeof(tmp), field, err));
		SA_TRY(sa_reader_expect_end(&r, field, err));
		memcpy(ext->product_name, tmp, sizeof(tmp));
		ext->has_product_name = true;
		return SA_OK;
	}
	case AK_SPL: {
		uint64_t v;
		SA_TRY(sa_der_read_uint(&r, &v, field, err));
		SA_TRY(sa_reader_expect_end(&r, field, err));
		SA_ENSURE(v <= 255, err, SA_ERR_RANGE, "%s: %llu does not fit a security patch level (0..255)", field,
			  (unsigned long long)v);
		spl_set(ext, a->spl, (uint8_t)v);
		return SA_OK;
	}
	case AK_HWID: return parse_hwid(value, len, ext, field, err);
	case AK_CSP_ID: {
		static const uint8_t tags[] = {SA_DER_IA5STRING, SA_DER_UTF8STRING, SA_DER_PRINTABLESTRING};
		char tmp[sizeof(ext->csp_id)] = {0};
		SA_TRY(read_string(&r, tags, SA_ARRAY_LEN(tags), "IA5String, UTF8String or PrintableString", tmp,
				   sizeof(tmp), field, err));
		SA_TRY(sa_reader_expect_end(&r, field, err));
		memcpy(ext->csp_id, tmp, sizeof(tmp));
		ext->has_csp_id = true;
		return SA_OK;
	}
	}
	return SA_OK;
}

sa_status sa_amd_ext_parse(const X509 *x509, sa_amd_ext *ext, sa_error *err)
{
	SA_ENSURE(x509 && ext, err, SA_ERR_ARG, "AMD extensions: missing argument");
	memset(ext, 0, sizeof(*ext));
	const size_t plen = strlen(AMD_OID_PREFIX);
	int n = X509_get_ext_count(x509);
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(x509, i);
		if (!e)
			continue;
		char oid[80];
		int olen = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
		/* An OID too long for the buffer cannot be one of ours. */
		if (olen <= 0 || (size_t)olen >= sizeof(oid) || strncmp(oid, AMD_OID_PREFIX, plen) != 0)
			continue;
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
		const uint8_t *p = v ? ASN1_STRING_get0_data(v) : NULL;
		int vlen = v ? ASN1_STRING_length(v) : 0;
		SA_ENSURE(p && vlen >= 0, err, SA_ERR_FORMAT, "AMD extension %s: no value", oid);
		SA_TRY(sa_amd_ext_parse_value(oid + plen, p, (size_t)vlen, ext, err));
	}
	ERR_clear_error();
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* Parsing certificates                                                       */
/* ------------------------------------------------------------------------- */

/* "<prefix><Product>" with the exact KDS product spelling. */
static bool cn_product_suffix(const char *cn, const char *prefix, sa_product *p)
{
	static const sa_product all[] = {SA_PRODUCT_MILAN, SA_PRODUCT_GENOA, SA_PRODUCT_TURIN};
	size_t n = strlen(prefix);
	if (strncmp(cn, prefix, n) != 0)
		return false;
	for (size_t i = 0; i < SA_ARRAY_LEN(all); i++) {
		if (strcmp(cn + n, sa_product_name(all[i])) == 0) {
			*p = all[i];
			return true;
		}
	}
	return false;
}

static void classify(sa_cert *c)
{
	const char *cn = c->subject_cn;
	sa_product p = SA_PRODUCT_UNKNOWN;
	c->role = SA_ROLE_UNKNOWN;
	c->product = SA_PRODUCT_UNKNOWN;
	c->stepping = SA_STEPPING_UNKNOWN;
	if (strcmp(cn, "SEV-VCEK") == 0)
		c->role = SA_ROLE_VCEK;
	else if (strcmp(cn, "SEV-VLEK") == 0)
		c->role = SA_ROLE_VLEK;
	else if (cn_product_suffix(cn, "ARK-", &p))
		c->role = SA_ROLE_ARK;
	else if (cn_product_suffix(cn, "SEV-VLEK-", &p))
		c->role = SA_ROLE_ASVK;
	else if (cn_product_suffix(cn, "SEV-", &p))
		c->role = SA_ROLE_ASK;

	if (c->role == SA_ROLE_ARK || c->role == SA_ROLE_ASK || c->role == SA_ROLE_ASVK) {
		c->product = p;
	} else if (c->ext.has_product_name) {
		/* An unknown productName leaves the product unknown; callers decide. */
		int step = SA_STEPPING_UNKNOWN;
		if (sa_product_parse(c->ext.product_name, &p, &step, NULL) == SA_OK) {
			c->product = p;
			c->stepping = step;
		}
	}
}

/* Extensions that contradict the role named by the CN. */
static sa_status cross_check(const sa_cert *c, sa_error *err)
{
	const char *cn = cn_of(c);
	SA_ENSURE(!(c->role == SA_ROLE_VCEK && c->ext.has_csp_id), err, SA_ERR_FORMAT,
		  "%s: carries csp_id, an extension only VLEKs have", cn);
	SA_ENSURE(!(c->role == SA_ROLE_VLEK && c->ext.has_hwid), err, SA_ERR_FORMAT,
		  "%s: carries hwID, an extension only VCEKs have", cn);
	if (c->ext.has_hwid && c->product != SA_PRODUCT_UNKNOWN) {
		size_t want = sa_product_hwid_len(c->product);
		SA_ENSURE(c->ext.hwid_len == want, err, SA_ERR_FORMAT,
			  "%s: hwID of %zu bytes, %s chip ids are %zu bytes", cn, c->ext.hwid_len,
			  sa_product_name(c->product), want);
	}
	return SA_OK;
}

static sa_status fill_cert(sa_cert *c, sa_error *err)
{
	X509 *x = c->x509;
	name_cn(X509_get_subject_name(x), c->subject_cn, sizeof(c->subject_cn));
	name_cn(X509_get_issuer_name(x), c->issuer_cn, sizeof(c->issuer_cn));
	const char *cn = cn_of(c);

	c->pubkey = X509_get_pubkey(x);
	if (!c->pubkey) {
		char d[256];
		return sa_error_set(err, SA_ERR_UNSUPPORTED, "%s: cannot decode the public key (%s)", cn,
				    ossl_detail(d, sizeof(d)));
	}

	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (n <= 0)
		return sa_crypto_error(err, "%s: cannot DER-encode the certificate", cn);
	sa_status st = sa_sha256(der, (size_t)n, c->fingerprint, err);
	OPENSSL_free(der);
	SA_TRY(st);

	SA_TRY(asn1_time_to_time_t(X509_get0_notBefore(x), &c->not_before, "notBefore", cn, err));
	SA_TRY(asn1_time_to_time_t(X509_get0_notAfter(x), &c->not_after, "notAfter", cn, err));

	st = sa_amd_ext_parse(x, &c->ext, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", cn);
	classify(c);
	return cross_check(c, err);
}

sa_status sa_cert_from_x509(X509 *x509, sa_cert **out, sa_error *err)
{
	if (!x509 || !out) {
		X509_free(x509);
		return sa_error_set(err, SA_ERR_ARG, "certificate: missing argument");
	}
	sa_cert *c = calloc(1, sizeof(*c));
	if (!c) {
		X509_free(x509);
		return sa_error_set(err, SA_ERR_NOMEM, "certificate: out of memory");
	}
	c->x509 = x509;
	sa_status st = fill_cert(c, err);
	ERR_clear_error();
	if (st != SA_OK) {
		sa_cert_free(c);
		return st;
	}
	*out = c;
	return SA_OK;
}

sa_status sa_cert_from_der(const uint8_t *der, size_t len, sa_cert **out, sa_error *err)
{
	SA_ENSURE(out && (der || len == 0), err, SA_ERR_ARG, "certificate: missing argument");
	SA_ENSURE(len > 0, err, SA_ERR_TRUNCATED, "certificate: empty input");
	SA_ENSURE(len <= LONG_MAX, err, SA_ERR_RANGE, "certificate: %zu bytes is too large", len);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		char d[256];
		return sa_error_set(err, SA_ERR_FORMAT, "certificate: not a DER X.509 certificate (%s)",
				    ossl_detail(d, sizeof(d)));
	}
	size_t used = (size_t)(p - der);
	if (used != len) {
		X509_free(x);
		return sa_error_set(err, SA_ERR_TRAILING, "certificate: %zu unexpected bytes after the %zu-byte DER "
							  "certificate",
				    len - used, used);
	}
	return sa_cert_from_x509(x, out, err);
}

void sa_cert_free(sa_cert *c)
{
	if (!c)
		return;
	EVP_PKEY_free(c->pubkey);
	X509_free(c->x509);
	free(c);
}

/* ------------------------------------------------------------------------- */
/* Lists                                                                      */
/* ------------------------------------------------------------------------- */

static sa_status list_reserve(sa_cert_list *list, size_t extra, sa_error *err)
{
	size_t need;
	SA_ENSURE(sa_add_size(list->n, extra, &need), err, SA_ERR_RANGE, "certificate list: too many certificates");
	if (need <= list->cap)
		return SA_OK;
	size_t cap = list->cap ? list->cap : 4;
	while (cap < need) {
		SA_ENSURE(sa_mul_size(cap, 2, &cap), err, SA_ERR_RANGE, "certificate list: too many certificates");
	}
	size_t bytes;
	SA_ENSURE(sa_mul_size(cap, sizeof(*list->v), &bytes), err, SA_ERR_RANGE,
		  "certificate list: too many certificates");
	sa_cert **v = realloc(list->v, bytes);
	SA_ENSURE(v, err, SA_ERR_NOMEM, "certificate list: out of memory");
	list->v = v;
	list->cap = cap;
	return SA_OK;
}

sa_status sa_cert_list_push(sa_cert_list *list, sa_cert *c, sa_error *err)
{
	if (!list || !c) {
		sa_cert_free(c);
		return sa_error_set(err, SA_ERR_ARG, "certificate list: missing argument");
	}
	sa_status st = list_reserve(list, 1, err);
	if (st != SA_OK) {
		sa_cert_free(c); /* ownership was passed to us */
		return st;
	}
	list->v[list->n++] = c;
	return SA_OK;
}

void sa_cert_list_free(sa_cert_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		sa_cert_free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
}

sa_cert *sa_cert_list_take(sa_cert_list *list, size_t i)
{
	if (!list || i >= list->n)
		return NULL;
	sa_cert *c = list->v[i];
	memmove(&list->v[i], &list->v[i + 1], (list->n - i - 1) * sizeof(*list->v));
	list->n--;
	return c;
}

/* ------------------------------------------------------------------------- */
/* DER or PEM input                                                           */
/* ------------------------------------------------------------------------- */

static sa_status parse_pem(const uint8_t *data, size_t len, sa_cert_list *tmp, sa_error *err)
{
	SA_ENSURE(len <= INT_MAX, err, SA_ERR_RANGE, "certificate input: %zu bytes is too large", len);
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return sa_crypto_error(err, "certificate input: cannot create a memory BIO");
	sa_status st = SA_OK;
	for (size_t block = 1;; block++) {
		char *name = NULL, *header = NULL;
		unsigned char *body = NULL;
		long blen = 0;
		ERR_clear_error();
		if (!PEM_read_bio(bio, &name, &header, &body, &blen)) {
			unsigned long e = ERR_peek_last_error();
			bool no_more = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
			char d[256];
			ossl_detail(d, sizeof(d));
			if (no_more && tmp->n > 0)
				break;
			if (no_more)
				st = sa_error_set(err, SA_ERR_FORMAT,
						  "certificate input: neither a DER certificate nor PEM (no "
						  "\"-----BEGIN CERTIFICATE-----\" line)");
			else
				st = sa_error_set(err, SA_ERR_FORMAT,
						  "certificate input: PEM block %zu is malformed (%s)", block, d);
			break;
		}
		if (strcmp(name, "CERTIFICATE") != 0) {
			st = sa_error_set(err, SA_ERR_FORMAT,
					  "certificate input: PEM block %zu is \"%.64s\", expected \"CERTIFICATE\"",
					  block, name);
		} else if (header && header[0]) {
			st = sa_error_set(err, SA_ERR_FORMAT,
					  "certificate input: PEM block %zu has headers, expected none", block);
		} else {
			sa_cert *c = NULL;
			st = sa_cert_from_der(body, (size_t)blen, &c, err);
			if (st == SA_OK)
				st = sa_cert_list_push(tmp, c, err);
			else
				st = sa_error_wrap(err, st, "certificate input: PEM block %zu", block);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(body, blen > 0 ? (size_t)blen : 0); /* may be a private key */
		if (st != SA_OK)
			break;
	}
	BIO_free(bio);
	ERR_clear_error();
	return st;
}

sa_status sa_cert_parse_any(const uint8_t *data, size_t len, sa_cert_list *list, sa_error *err)
{
	SA_ENSURE(list && (data || len == 0), err, SA_ERR_ARG, "certificate input: missing argument");
	SA_ENSURE(len > 0, err, SA_ERR_TRUNCATED, "certificate input: empty");
	sa_cert_list tmp = {0};
	sa_status st;
	if (data[0] == SA_DER_SEQUENCE) {
		/* Binary: exactly one DER certificate. */
		sa_cert *c = NULL;
		st = sa_cert_from_der(data, len, &c, err);
		if (st == SA_OK)
			st = sa_cert_list_push(&tmp, c, err);
	} else {
		st = parse_pem(data, len, &tmp, err);
	}
	/* All or nothing: list gains every certificate or none. */
	if (st == SA_OK)
		st = list_reserve(list, tmp.n, err);
	if (st == SA_OK) {
		for (size_t i = 0; i < tmp.n; i++)
			list->v[list->n++] = tmp.v[i];
		tmp.n = 0;
	}
	sa_cert_list_free(&tmp);
	return st;
}

sa_status sa_cert_load_file(const char *path, sa_cert_list *list, sa_error *err)
{
	SA_ENSURE(path && list, err, SA_ERR_ARG, "certificate file: missing argument");
	uint8_t *buf = NULL;
	size_t len = 0;
	SA_TRY(sa_read_file(path, CERT_FILE_MAX, &buf, &len, err));
	sa_status st = sa_cert_parse_any(buf, len, list, err);
	free(buf);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", path);
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* Verification                                                               */
/* ------------------------------------------------------------------------- */

static const char *hash_name(int nid)
{
	switch (nid) {
	case NID_sha1: return "SHA-1";
	case NID_sha224: return "SHA-224";
	case NID_sha256: return "SHA-256";
	case NID_sha384: return "SHA-384";
	case NID_sha512: return "SHA-512";
	case NID_undef: return "?";
	}
	const char *s = OBJ_nid2sn(nid);
	return s ? s : "?";
}

/* A hash AlgorithmIdentifier that must be SHA-384 with absent or NULL parameters. */
static int algor_hash_nid(const X509_ALGOR *a, bool *params_ok)
{
	const ASN1_OBJECT *obj = NULL;
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	*params_ok = ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
	return obj ? OBJ_obj2nid(obj) : NID_undef;
}

/*
 * Check child's signatureAlgorithm is RSASSA-PSS(SHA-384, MGF1-SHA-384, salt 48,
 * trailer 1).  On mismatch *desc names what it is.
 */
static bool pss_params_ok(const X509 *x, char *desc, size_t cap)
{
	const X509_ALGOR *alg = NULL;
	X509_get0_signature(NULL, &alg, x);
	const ASN1_OBJECT *obj = NULL;
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	if (!alg) {
		snprintf(desc, cap, "missing");
		return false;
	}
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	int nid = obj ? OBJ_obj2nid(obj) : NID_undef;
	if (nid != NID_rsassaPss) {
		char oid[80] = "?";
		if (obj)
			OBJ_obj2txt(oid, sizeof(oid), obj, 0);
		snprintf(desc, cap, "%s", oid);
		return false;
	}
	if (ptype != V_ASN1_SEQUENCE) {
		snprintf(desc, cap, "RSASSA-PSS without parameters (SHA-1, salt 20)");
		return false;
	}
	RSA_PSS_PARAMS *pss = ASN1_item_unpack(pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
	if (!pss) {
		ERR_clear_error();
		snprintf(desc, cap, "RSASSA-PSS with undecodable parameters");
		return false;
	}
	bool ok = true;
	/* Absent fields take RFC 4055 defaults: SHA-1, MGF1-SHA-1, salt 20, trailer 1. */
	bool hp_ok = true;
	int hash = pss->hashAlgorithm ? algor_hash_nid(pss->hashAlgorithm, &hp_ok) : NID_sha1;
	ok = ok && hash == NID_sha384 && hp_ok;

	int mgf_hash = NID_sha1;
	bool mgf_ok = true;
	if (pss->maskGenAlgorithm) {
		const ASN1_OBJECT *mobj = NULL;
		int mptype = V_ASN1_UNDEF;
		const void *mpval = NULL;
		X509_ALGOR_get0(&mobj, &mptype, &mpval, pss->maskGenAlgorithm);
		mgf_hash = NID_undef;
		if (!mobj || OBJ_obj2nid(mobj) != NID_mgf1 || mptype != V_ASN1_SEQUENCE) {
			mgf_ok = false;
		} else {
			X509_ALGOR *mh = ASN1_item_unpack(mpval, ASN1_ITEM_rptr(X509_ALGOR));
			if (mh) {
				bool mp_ok = true;
				mgf_hash = algor_hash_nid(mh, &mp_ok);
				mgf_ok = mp_ok;
				X509_ALGOR_free(mh);
			} else {
				mgf_ok = false;
			}
		}
	}
	ok = ok && mgf_ok && mgf_hash == NID_sha384;

	int64_t salt = 20, trailer = 1;
	bool ints_ok = (!pss->saltLength || ASN1_INTEGER_get_int64(&salt, pss->saltLength) == 1) &&
		       (!pss->trailerField || ASN1_INTEGER_get_int64(&trailer, pss->trailerField) == 1);
	ok = ok && ints_ok && salt == PSS_SALT_LEN && trailer == 1;
	if (!ok) {
		if (!ints_ok || !hp_ok)
			snprintf(desc, cap, "RSASSA-PSS with malformed parameters");
		else if (!mgf_ok)
			snprintf(desc, cap, "RSASSA-PSS with %s and a mask generation function other than MGF1",
				 hash_name(hash));
		else if (trailer != 1)
			snprintf(desc, cap, "RSASSA-PSS with trailer field %lld", (long long)trailer);
		else
			snprintf(desc, cap, "RSASSA-PSS with %s, MGF1-%s, salt %lld", hash_name(hash),
				 hash_name(mgf_hash), (long long)salt);
	}
	RSA_PSS_PARAMS_free(pss);
	ERR_clear_error();
	return ok;
}

sa_status sa_cert_verify_signed_by(const sa_cert *child, const sa_cert *issuer, sa_error *err)
{
	SA_ENSURE(child && issuer && child->x509 && issuer->x509 && issuer->pubkey, err, SA_ERR_ARG,
		  "certificate verification: missing argument");
	const char *ccn = cn_of(child), *icn = cn_of(issuer);
	SA_ENSURE(X509_NAME_cmp(X509_get_issuer_name(child->x509), X509_get_subject_name(issuer->x509)) == 0, err,
		  SA_ERR_VERIFY, "%s: issuer name (CN=%s) does not equal the subject name of %s", ccn,
		  child->issuer_cn[0] ? child->issuer_cn : "(none)", icn);
	char desc[160];
	if (!pss_params_ok(child->x509, desc, sizeof(desc)))
		return sa_error_set(err, SA_ERR_VERIFY,
				    "%s: signature algorithm is %s, expected RSASSA-PSS with SHA-384, MGF1-SHA-384, "
				    "salt 48",
				    ccn, desc);
	SA_ENSURE(EVP_PKEY_is_a(issuer->pubkey, "RSA"), err, SA_ERR_VERIFY, "%s: key of %s is %s, expected RSA", ccn,
		  icn, EVP_PKEY_get0_type_name(issuer->pubkey) ? EVP_PKEY_get0_type_name(issuer->pubkey) : "unknown");
	ERR_clear_error();
	int rc = X509_verify(child->x509, issuer->pubkey);
	ERR_clear_error();
	SA_ENSURE(rc == 1, err, SA_ERR_VERIFY, "signature of %s by %s does not verify", ccn, icn);
	return SA_OK;
}

sa_status sa_cert_check_validity(const sa_cert *c, time_t now, sa_error *err)
{
	SA_ENSURE(c && c->x509, err, SA_ERR_ARG, "certificate validity: missing argument");
	char b1[32], b2[32];
	const char *cn = cn_of(c);
	int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(c->x509), now);
	int na = ASN1_TIME_cmp_time_t(X509_get0_notAfter(c->x509), now);
	ERR_clear_error();
	SA_ENSURE(nb != -2 && na != -2, err, SA_ERR_FORMAT, "%s: validity period cannot be compared", cn);
	SA_ENSURE(nb <= 0, err, SA_ERR_VERIFY, "%s is not valid before %s (now %s)", cn,
		  sa_time_format(c->not_before, b1, sizeof(b1)), sa_time_format(now, b2, sizeof(b2)));
	SA_ENSURE(na >= 0, err, SA_ERR_VERIFY, "%s is not valid after %s (now %s)", cn,
		  sa_time_format(c->not_after, b1, sizeof(b1)), sa_time_format(now, b2, sizeof(b2)));
	return SA_OK;
}

/* ------------------------------------------------------------------------- */
/* Output                                                                     */
/* ------------------------------------------------------------------------- */

sa_status sa_cert_to_der(const sa_cert *c, uint8_t **out, size_t *out_len, sa_error *err)
{
	SA_ENSURE(c && c->x509 && out && out_len, err, SA_ERR_ARG, "certificate DER: missing argument");
	int n = i2d_X509(c->x509, NULL);
	if (n <= 0)
		return sa_crypto_error(err, "%s: cannot DER-encode the certificate", cn_of(c));
	uint8_t *buf = malloc((size_t)n);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "certificate DER: out of memory");
	unsigned char *p = buf;
	if (i2d_X509(c->x509, &p) != n) {
		free(buf);
		return sa_crypto_error(err, "%s: cannot DER-encode the certificate", cn_of(c));
	}
	*out = buf;
	*out_len = (size_t)n;
	return SA_OK;
}

sa_status sa_cert_to_pem(const sa_cert *c, char **out, sa_error *err)
{
	SA_ENSURE(c && c->x509 && out, err, SA_ERR_ARG, "certificate PEM: missing argument");
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return sa_crypto_error(err, "certificate PEM: cannot create a memory BIO");
	sa_status st = SA_OK;
	char *mem = NULL;
	long n = 0;
	if (PEM_write_bio_X509(bio, c->x509) != 1 || (n = BIO_get_mem_data(bio, &mem)) <= 0 || !mem) {
		st = sa_crypto_error(err, "%s: cannot PEM-encode the certificate", cn_of(c));
	} else {
		char *s = malloc((size_t)n + 1);
		if (!s) {
			st = sa_error_set(err, SA_ERR_NOMEM, "certificate PEM: out of memory");
		} else {
			memcpy(s, mem, (size_t)n);
			s[n] = '\0';
			*out = s;
		}
	}
	BIO_free(bio);
	return st;
}

/* ------------------------------------------------------------------------- */
/* Issuing                                                                    */
/* ------------------------------------------------------------------------- */

sa_status sa_key_generate_rsa(unsigned bits, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "RSA key generation: missing argument");
	SA_ENSURE(bits >= 2048 && bits <= 16384, err, SA_ERR_ARG, "RSA key generation: %u bits, expected 2048 to 16384",
		  bits);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (!k)
		return sa_crypto_error(err, "RSA-%u key generation failed", bits);
	*out = k;
	return SA_OK;
}

sa_status sa_key_generate_p384(EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "P-384 key generation: missing argument");
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!k)
		return sa_crypto_error(err, "EC P-384 key generation failed");
	*out = k;
	return SA_OK;
}

/* DER TLV with a definite length (short or long form) through the writer. */
static sa_status der_put_tlv(sa_writer *w, uint8_t tag, const void *content, size_t n, sa_error *err)
{
	SA_TRY(sa_write_u8(w, tag, "DER tag", err));
	if (n < 0x80) {
		SA_TRY(sa_write_u8(w, (uint8_t)n, "DER length", err));
	} else if (n <= 0xFF) {
		SA_TRY(sa_write_u8(w, 0x81, "DER length", err));
		SA_TRY(sa_write_u8(w, (uint8_t)n, "DER length", err));
	} else {
		SA_ENSURE(n <= 0xFFFF, err, SA_ERR_RANGE, "DER value of %zu bytes is too long", n);
		SA_TRY(sa_write_u8(w, 0x82, "DER length", err));
		SA_TRY(sa_write_u8(w, (uint8_t)(n >> 8), "DER length", err));
		SA_TRY(sa_write_u8(w, (uint8_t)n, "DER length", err));
	}
	return sa_write_bytes(w, content, n, "DER value", err);
}

/* Minimal DER INTEGER of a non-negative value. */
static sa_status der_put_uint(sa_writer *w, uint64_t v, sa_error *err)
{
	uint8_t b[9];
	size_t n = 0;
	int top = 7;
	while (top > 0 && ((v >> (8 * top)) & 0xFF) == 0)
		top--;
	if ((v >> (8 * top)) & 0x80)
		b[n++] = 0;
	for (int i = top; i >= 0; i--)
		b[n++] = (uint8_t)(v >> (8 * i));
	return der_put_tlv(w, SA_DER_INTEGER, b, n, err);
}

static sa_status add_ext_raw(X509 *x, const char *oid, const uint8_t *val, size_t len, bool critical,
			     const char *what, sa_error *err)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	sa_status st = SA_OK;
	if (!obj || !os || len > INT_MAX || !ASN1_OCTET_STRING_set(os, val, (int)len) ||
	    !(e = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os)) || !X509_add_ext(x, e, -1))
		st = sa_crypto_error(err, "cannot add extension %s", what);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return st;
}

static sa_status add_amd_ext(X509 *x, const struct amd_arc *a, const sa_amd_ext *e, sa_product product,
			     sa_error *err)
{
	uint8_t buf[2 + 2 + 256 + 8];
	sa_writer w;
	sa_writer_init(&w, buf, sizeof(buf));
	switch (a->kind) {
	case AK_STRUCT_VERSION: SA_TRY(der_put_uint(&w, e->struct_version, err)); break;
	case AK_PRODUCT_NAME:
		SA_TRY(der_put_tlv(&w, SA_DER_IA5STRING, e->product_name, strnlen(e->product_name, 63), err));
		break;
	case AK_SPL: SA_TRY(der_put_uint(&w, spl_value(e, a->spl), err)); break;
	case AK_HWID:
		if (e->hwid_encoding == SA_HWID_RAW)
			SA_TRY(sa_write_bytes(&w, e->hwid, sa_product_hwid_len(product), "hwID", err));
		else
			SA_TRY(der_put_tlv(&w, SA_DER_OCTET_STRING, e->hwid, sa_product_hwid_len(product), err));
		break;
	case AK_CSP_ID: SA_TRY(der_put_tlv(&w, SA_DER_IA5STRING, e->csp_id, strnlen(e->csp_id, 255), err)); break;
	}
	char oid[64], what[96];
	snprintf(oid, sizeof(oid), AMD_OID_PREFIX "%s", a->arc);
	snprintf(what, sizeof(what), "%s (%s)", a->name, oid);
	return add_ext_raw(x, oid, buf, sa_writer_offset(&w), false, what, err);
}

/* The template's extensions, checked against its role and product. */
static sa_status check_vek_ext(const sa_cert_template *t, const sa_amd_ext *e, sa_error *err)
{
	const char *role = sa_cert_role_name(t->role);
	SA_ENSURE(t->product != SA_PRODUCT_UNKNOWN, err, SA_ERR_ARG, "issue %s: product is unknown", role);
	SA_ENSURE(e->has_product_name, err, SA_ERR_ARG, "issue %s: extensions lack productName", role);
	SA_ENSURE(strnlen(e->product_name, sizeof(e->product_name)) < sizeof(e->product_name) &&
			  printable_ascii((const uint8_t *)e->product_name, strlen(e->product_name)),
		  err, SA_ERR_ARG, "issue %s: productName must be printable ASCII", role);
	sa_product p = SA_PRODUCT_UNKNOWN;
	SA_ENSURE(sa_product_parse(e->product_name, &p, NULL, NULL) == SA_OK && p == t->product, err, SA_ERR_ARG,
		  "issue %s: productName '%s' does not name %s", role, e->product_name, sa_product_name(t->product));
	if (t->role == SA_ROLE_VCEK) {
		SA_ENSURE(e->has_hwid && !e->has_csp_id, err, SA_ERR_ARG,
			  "issue VCEK: extensions need hwID and must not have csp_id");
		SA_ENSURE(e->hwid_len == sa_product_hwid_len(t->product), err, SA_ERR_ARG,
			  "issue VCEK: hwID of %zu bytes, %s chip ids are %zu bytes", e->hwid_len,
			  sa_product_name(t->product), sa_product_hwid_len(t->product));
	} else {
		SA_ENSURE(e->has_csp_id && !e->has_hwid, err, SA_ERR_ARG,
			  "issue VLEK: extensions need csp_id and must not have hwID");
		SA_ENSURE(strnlen(e->csp_id, sizeof(e->csp_id)) < sizeof(e->csp_id) &&
				  printable_ascii((const uint8_t *)e->csp_id, strlen(e->csp_id)),
			  err, SA_ERR_ARG, "issue VLEK: csp_id must be printable ASCII");
	}
	return SA_OK;
}

/*
 * AMD extensions in KDS order.  Milan/Genoa: structVersion, productName, bl, tee,
 * spl_4..7 (always, 0 unless set, as KDS issues them), snp, ucode, [fmc], hwID|csp_id.
 * Turin: structVersion, productName, fmc, bl, tee, snp, the spl_4..7 present, ucode, ...
 */
static sa_status add_vek_exts(X509 *x, const sa_cert_template *t, sa_error *err)
{
	sa_amd_ext e = *t->ext;
	bool turin = sa_product_turin_layout(t->product);
	static const unsigned milan_order[] = {1, 2, 4, 5, 6, 7, 3, 8, 9};
	static const unsigned turin_order[] = {9, 1, 2, 3, 4, 5, 6, 7, 8};
	const unsigned *order = turin ? turin_order : milan_order;
	if (!turin)
		e.spl_present |= 0xF0;

	if (e.has_struct_version)
		SA_TRY(add_amd_ext(x, amd_arc_find("1"), &e, t->product, err));
	SA_TRY(add_amd_ext(x, amd_arc_find("2"), &e, t->product, err));
	for (size_t i = 0; i < SA_ARRAY_LEN(milan_order); i++) {
		if (spl_present(&e, order[i]))
			SA_TRY(add_amd_ext(x, amd_arc_spl(order[i]), &e, t->product, err));
	}
	if (e.has_hwid)
		SA_TRY(add_amd_ext(x, amd_arc_find("4"), &e, t->product, err));
	if (e.has_csp_id)
		SA_TRY(add_amd_ext(x, amd_arc_find("5"), &e, t->product, err));
	return SA_OK;
}

static sa_status add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value, sa_error *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	sa_status st = SA_OK;
	if (!e || !X509_add_ext(x, e, -1))
		st = sa_crypto_error(err, "cannot add extension %s = %s", OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(e);
	return st;
}

/* OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices, CN=<cn>, as KDS names them. */
static sa_status set_amd_name(X509_NAME *name, const char *cn, sa_error *err)
{
	static const struct {
		int nid;
		const char *value;
	} rdn[] = {
		{NID_organizationalUnitName, "Engineering"}, {NID_countryName, "US"},
		{NID_localityName, "Santa Clara"},           {NID_stateOrProvinceName, "CA"},
		{NID_organizationName, "Advanced Micro Devices"},
	};
	for (size_t i = 0; i < SA_ARRAY_LEN(rdn); i++) {
		const unsigned char *v = (const unsigned char *)rdn[i].value;
		if (!X509_NAME_add_entry_by_NID(name, rdn[i].nid, MBSTRING_UTF8, v, -1, -1, 0))
			return sa_crypto_error(err, "cannot build the certificate name");
	}
	if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		return sa_crypto_error(err, "cannot set the certificate CN '%s'", cn);
	return SA_OK;
}

static sa_status sign_pss(X509 *x, EVP_PKEY *key, sa_error *err)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	sa_status st = SA_OK;
	if (!mctx || EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, PSS_SALT_LEN) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) <= 0 || X509_sign_ctx(x, mctx) <= 0)
		st = sa_crypto_error(err, "RSASSA-PSS signing of the certificate failed");
	EVP_MD_CTX_free(mctx);
	return st;
}

static const char *default_cn(sa_cert_role role, sa_product p, char *buf, size_t cap)
{
	switch (role) {
	case SA_ROLE_ARK: snprintf(buf, cap, "ARK-%s", sa_product_name(p)); break;
	case SA_ROLE_ASK: snprintf(buf, cap, "SEV-%s", sa_product_name(p)); break;
	case SA_ROLE_ASVK: snprintf(buf, cap, "SEV-VLEK-%s", sa_product_name(p)); break;
	case SA_ROLE_VCEK: snprintf(buf, cap, "SEV-VCEK"); break;
	case SA_ROLE_VLEK: snprintf(buf, cap, "SEV-VLEK"); break;
	case SA_ROLE_UNKNOWN: snprintf(buf, cap, "unknown"); break;
	}
	return buf;
}

static sa_status build_cert(X509 *x, const sa_cert_template *t, EVP_PKEY *ikey, sa_error *err)
{
	char cnbuf[64];
	const char *cn = t->subject_cn ? t->subject_cn : default_cn(t->role, t->product, cnbuf, sizeof(cnbuf));
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), t->serial) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), t->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), t->not_after) ||
	    !X509_set_pubkey(x, t->subject_key))
		return sa_crypto_error(err, "issue %s: cannot set the certificate fields", cn);
	SA_TRY(set_amd_name(X509_get_subject_name(x), cn, err));
	if (t->issuer) {
		if (!X509_set_issuer_name(x, X509_get_subject_name(t->issuer->x509)))
			return sa_crypto_error(err, "issue %s: cannot set the issuer name", cn);
	} else if (!X509_set_issuer_name(x, X509_get_subject_name(x))) {
		return sa_crypto_error(err, "issue %s: cannot set the issuer name", cn);
	}
	X509 *issuer_x = t->issuer ? t->issuer->x509 : x;
	switch (t->role) {
	case SA_ROLE_ARK:
		SA_TRY(add_conf_ext(x, issuer_x, NID_basic_constraints, "critical,CA:TRUE", err));
		SA_TRY(add_conf_ext(x, issuer_x, NID_key_usage, "critical,keyCertSign,cRLSign", err));
		break;
	case SA_ROLE_ASK:
	case SA_ROLE_ASVK:
		SA_TRY(add_conf_ext(x, issuer_x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", err));
		SA_TRY(add_conf_ext(x, issuer_x, NID_key_usage, "critical,keyCertSign,cRLSign", err));
		break;
	case SA_ROLE_VCEK:
	case SA_ROLE_VLEK: SA_TRY(add_vek_exts(x, t, err)); break;
	case SA_ROLE_UNKNOWN: break;
	}
	return sign_pss(x, ikey, err);
}

sa_status sa_cert_issue(const sa_cert_template *t, sa_cert **out, sa_error *err)
{
	SA_ENSURE(t && out && t->subject_key, err, SA_ERR_ARG, "issue certificate: missing template or subject key");
	const char *role = sa_cert_role_name(t->role);
	SA_ENSURE(t->role != SA_ROLE_UNKNOWN, err, SA_ERR_ARG, "issue certificate: role is unknown");
	SA_ENSURE(t->not_before <= t->not_after, err, SA_ERR_ARG, "issue %s: not_before is after not_after", role);
	EVP_PKEY *ikey = t->issuer_key ? t->issuer_key : (t->issuer ? NULL : t->subject_key);
	SA_ENSURE(ikey, err, SA_ERR_ARG, "issue %s: no issuer key", role);
	SA_ENSURE(EVP_PKEY_is_a(ikey, "RSA"), err, SA_ERR_ARG, "issue %s: issuer key is %s, expected RSA", role,
		  EVP_PKEY_get0_type_name(ikey) ? EVP_PKEY_get0_type_name(ikey) : "unknown");
	SA_ENSURE(!t->issuer || t->issuer->x509, err, SA_ERR_ARG, "issue %s: issuer certificate is empty", role);
	bool vek = t->role == SA_ROLE_VCEK || t->role == SA_ROLE_VLEK;
	SA_ENSURE(!vek || t->ext, err, SA_ERR_ARG, "issue %s: AMD extensions are required", role);
	SA_ENSURE(vek || !t->ext, err, SA_ERR_ARG, "issue %s: AMD extensions are only for VCEK and VLEK", role);
	if (vek)
		SA_TRY(check_vek_ext(t, t->ext, err));
	else
		SA_ENSURE(t->product != SA_PRODUCT_UNKNOWN || t->subject_cn, err, SA_ERR_ARG,
			  "issue %s: product is unknown and no subject CN given", role);

	X509 *x = X509_new();
	if (!x)
		return sa_crypto_error(err, "issue %s: out of memory", role);
	sa_status st = build_cert(x, t, ikey, err);
	unsigned char *der = NULL;
	int n = 0;
	if (st == SA_OK && (n = i2d_X509(x, &der)) <= 0)
		st = sa_crypto_error(err, "issue %s: cannot DER-encode the certificate", role);
	X509_free(x);
	/* Re-parse the DER so an issued certificate is exactly what a verifier sees. */
	if (st == SA_OK)
		st = sa_cert_from_der(der, (size_t)n, out, err);
	OPENSSL_free(der);
	ERR_clear_error();
	return st;
}
