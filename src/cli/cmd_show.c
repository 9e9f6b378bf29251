/* SPDX-License-Identifier: Apache-2.0 */
/* sevattest show report|cert|sev-cert: every field of a report or certificate, decoded for people or as JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sevattest/bytes.h"
#include "sevattest/cert.h"
#include "sevattest/encoding.h"
#include "sevattest/json.h"
#include "sevattest/product.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"

#include "cli.h"

#define VERB "show"
#define LABEL_W 24   /* label column, colon included */
#define HEX_PER_LINE 32 /* bytes of hex per output line */

static const char show_usage[] =
	"Usage: sevattest show report FILE [--json] [--product NAME] [--format FORMAT] [--report-offset N]\n"
	"       sevattest show cert FILE [--json]\n"
	"       sevattest show sev-cert FILE [--json]\n"
	"\n"
	"Print every field of an SNP attestation report, or of each certificate in a\n"
	"file (PEM bundle or one DER certificate), decoded.  sev-cert: AMD's own\n"
	"formats for SEV/SEV-ES: a 0x824-byte SEV certificate (OCA, PEK, PDH, CEK) or\n"
	"a bundle of them (PEK, OCA, CEK as PDH_CERT_EXPORT returns), or AMD CA\n"
	"certificates (ARK, ASK, ask_ark_<product>.cert); raw binary, hex or base64.\n"
	"FILE may be '-' for standard input.  Nothing is verified: use 'sevattest\n"
	"verify' for that.\n"
	"\n"
	"Options:\n"
	"  --json                 print JSON instead of text (for cert and sev-cert: an array, one object per\n"
	"                         certificate)\n"
	"  --product NAME         Milan, Genoa or Turin: the TCB layout to decode with when the report does\n"
	"                         not name its product (version 2 reports have no CPUID fields)\n" CLI_REPORT_INPUT_HELP
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 printed; 2 bad usage or unreadable input.\n";

/* ---- text output helpers ---- */

static void field(const char *label, const char *fmt, ...) SA_PRINTF(2, 3);
static void field(const char *label, const char *fmt, ...)
{
	char l[64];
	snprintf(l, sizeof(l), "%s:", label);
	printf("%-*s ", LABEL_W, l);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Hex of n bytes, HEX_PER_LINE bytes a line, continuation lines under the value column. */
static void field_hex(const char *label, const uint8_t *data, size_t n)
{
	if (sa_all_zero(data, n)) {
		field(label, "all zero (%zu bytes)", n);
		return;
	}
	char buf[2 * HEX_PER_LINE + 1];
	for (size_t off = 0; off < n; off += HEX_PER_LINE) {
		size_t k = n - off < HEX_PER_LINE ? n - off : HEX_PER_LINE;
		sa_hex_encode(data + off, k, buf);
		if (off == 0)
			field(label, "%s", buf);
		else
			printf("%-*s %s\n", LABEL_W, "", buf);
	}
}

static void field_tcb(const char *label, uint64_t raw, bool turin)
{
	sa_tcb t = sa_tcb_decode(raw, turin);
	char parts[80];
	sa_tcb_format(&t, parts, sizeof(parts));
	if (t.reserved_nonzero)
		field(label, "0x%016" PRIx64 " (%s; reserved bytes non-zero, mask 0x%02x)", raw, parts,
		      t.reserved_nonzero);
	else
		field(label, "0x%016" PRIx64 " (%s)", raw, parts);
}

/* One line per named bit ("yes"/"no" and its description), then any unnamed set bits. */
static void field_bits(const sa_bit_name *table, size_t count, uint64_t value, uint64_t also_known)
{
	uint64_t named = also_known;
	for (size_t i = 0; i < count; i++) {
		uint64_t m = 1ull << table[i].bit;
		named |= m;
		char l[64];
		snprintf(l, sizeof(l), "  %s", table[i].name);
		field(l, "%-3s  (bit %u: %s)", value & m ? "yes" : "no", table[i].bit, table[i].desc);
	}
	uint64_t unknown = value & ~named;
	if (unknown) {
		char names[512];
		sa_bits_format(table, count, unknown, 0, names, sizeof(names));
		field("  other bits set", "0x%" PRIx64 " (%s)", unknown, names);
	} else {
		field("  other bits set", "none");
	}
}

/* ---- show report ---- */

struct report_opts {
	bool json;
	bool have_product;
	sa_product product;
	sa_input_format fmt;
	int64_t offset;
};

static void print_report_text(const char *path, const sa_snp_report *r, const struct report_opts *o,
			      sa_input_format detected)
{
	char where[64] = "";
	if (o->offset >= 0)
		snprintf(where, sizeof(where), ", report at byte offset %" PRId64, o->offset);
	field("Input", "%s (%s%s)", strcmp(path, "-") == 0 ? "standard input" : path, sa_input_format_name(detected),
	      where);

	/* Product: the report's CPUID (v3+) first, then --product; it picks the TCB layout. */
	sa_product cpuid = sa_snp_report_cpuid_product(r);
	sa_product used = cpuid != SA_PRODUCT_UNKNOWN ? cpuid : o->product;
	bool turin = sa_product_turin_layout(used);
	if (cpuid != SA_PRODUCT_UNKNOWN)
		field("Product", "%s (from the report's CPUID: family 0x%02x, model 0x%02x)", sa_product_name(cpuid),
		      r->cpuid_fam_id, r->cpuid_mod_id);
	else if (o->have_product && sa_snp_report_has_cpuid(r))
		field("Product", "%s (from --product; the report's CPUID family 0x%02x model 0x%02x is not one this "
				 "tool knows)",
		      sa_product_name(used), r->cpuid_fam_id, r->cpuid_mod_id);
	else if (o->have_product)
		field("Product", "%s (from --product; version %u reports carry no CPUID fields)", sa_product_name(used),
		      r->version);
	else if (sa_snp_report_has_cpuid(r))
		field("Product", "unknown (CPUID family 0x%02x model 0x%02x not recognised; pass --product; TCBs "
				 "decoded with the Milan/Genoa layout)",
		      r->cpuid_fam_id, r->cpuid_mod_id);
	else
		field("Product", "unknown (version %u reports carry no CPUID fields; pass --product; TCBs decoded "
				 "with the Milan/Genoa layout)",
		      r->version);
	field("TCB layout", "%s", turin ? "Turin (fmc, bl, tee, snp, ucode)" : "Milan/Genoa (bl, tee, snp, ucode)");

	field("VERSION", "%u%s", r->version,
	      r->version > SA_SNP_REPORT_MAX_VERSION ? " (newer than this tool knows; decoded as version 5)" : "");
	field("GUEST_SVN", "%u", r->guest_svn);
	field("POLICY", "0x%" PRIx64, r->policy);
	field("  abi", "%u.%u (ABI_MAJOR.ABI_MINOR)", sa_policy_abi_major(r->policy), sa_policy_abi_minor(r->policy));
	size_t np;
	const sa_bit_name *pbits = sa_policy_bits(&np);
	field_bits(pbits, np, r->policy, SA_POLICY_ABI_MAJOR_MASK | SA_POLICY_ABI_MINOR_MASK);
	field_hex("FAMILY_ID", r->family_id, sizeof(r->family_id));
	field_hex("IMAGE_ID", r->image_id, sizeof(r->image_id));
	field("VMPL", "%u", r->vmpl);
	field("SIGNATURE_ALGO", "%u (%s)", r->signature_algo,
	      r->signature_algo == SA_SNP_SIG_ALGO_ECDSA_P384_SHA384 ? "ECDSA P-384 with SHA-384" : "unknown");
	field_tcb("CURRENT_TCB", r->current_tcb, turin);
	field("PLATFORM_INFO", "0x%" PRIx64, r->platform_info);
	size_t nplat;
	const sa_bit_name *platbits = sa_platform_info_bits(&nplat);
	field_bits(platbits, nplat, r->platform_info, 0);
	field("KEY_INFO", "0x%" PRIx32, r->key_info);
	field("  AUTHOR_KEY_EN", "%s", r->key_info & SA_KEYINFO_AUTHOR_KEY_EN ? "yes" : "no");
	field("  MASK_CHIP_KEY", "%s", r->key_info & SA_KEYINFO_MASK_CHIP_KEY ? "yes" : "no");
	field("  SIGNING_KEY", "%s (%u)", sa_signing_key_name(sa_snp_report_signing_key(r)),
	      sa_snp_report_signing_key(r));
	field_hex("REPORT_DATA", r->report_data, sizeof(r->report_data));
	field_hex("MEASUREMENT", r->measurement, sizeof(r->measurement));
	field_hex("HOST_DATA", r->host_data, sizeof(r->host_data));
	field_hex("ID_KEY_DIGEST", r->id_key_digest, sizeof(r->id_key_digest));
	field_hex("AUTHOR_KEY_DIGEST", r->author_key_digest, sizeof(r->author_key_digest));
	field_hex("REPORT_ID", r->report_id, sizeof(r->report_id));
	field_hex("REPORT_ID_MA", r->report_id_ma, sizeof(r->report_id_ma));
	field_tcb("REPORTED_TCB", r->reported_tcb, turin);
	if (sa_snp_report_has_cpuid(r)) {
		field("CPUID_FAM_ID", "0x%02x", r->cpuid_fam_id);
		field("CPUID_MOD_ID", "0x%02x", r->cpuid_mod_id);
		field("CPUID_STEP", "0x%02x", r->cpuid_step);
	} else {
		field("CPUID", "not in version %u reports", r->version);
	}
	field_hex("CHIP_ID", r->chip_id, sizeof(r->chip_id));
	field_tcb("COMMITTED_TCB", r->committed_tcb, turin);
	field("CURRENT firmware", "%u.%u.%u (CURRENT_MAJOR.MINOR.BUILD)", r->current.major, r->current.minor,
	      r->current.build);
	field("COMMITTED firmware", "%u.%u.%u (COMMITTED_MAJOR.MINOR.BUILD)", r->committed.major, r->committed.minor,
	      r->committed.build);
	field_tcb("LAUNCH_TCB", r->launch_tcb, turin);
	if (sa_snp_report_has_mit_vectors(r)) {
		field("LAUNCH_MIT_VECTOR", "0x%" PRIx64, r->launch_mit_vector);
		field("CURRENT_MIT_VECTOR", "0x%" PRIx64, r->current_mit_vector);
	} else {
		field("MIT vectors", "not in version %u reports", r->version);
	}
	field_hex("SIGNATURE.R (LE)", r->sig_r, sizeof(r->sig_r));
	field_hex("SIGNATURE.S (LE)", r->sig_s, sizeof(r->sig_s));

	sa_reserved_finding f[32];
	size_t nf = sa_snp_report_findings(r, f, sizeof(f) / sizeof(f[0]));
	if (nf > sizeof(f) / sizeof(f[0]))
		nf = sizeof(f) / sizeof(f[0]);
	field("Reserved bytes", "%s", nf ? "NOT all zero (warnings below)" : "all zero");
	if (o->have_product && cpuid != SA_PRODUCT_UNKNOWN && o->product != cpuid)
		printf("WARNING: --product %s ignored: the report's CPUID says %s\n", sa_product_name(o->product),
		       sa_product_name(cpuid));
	for (size_t i = 0; i < nf; i++) {
		if (f[i].mbz)
			printf("WARNING: %s: %zu byte(s) at 0x%03zx are not zero; they must be zero in a version %u "
			       "report\n",
			       f[i].name, f[i].length, f[i].offset, r->version);
		else
			printf("WARNING: %s: %zu byte(s) at 0x%03zx are not zero; version %u is newer than this tool "
			       "knows (%d), they may hold fields it cannot name\n",
			       f[i].name, f[i].length, f[i].offset, r->version, SA_SNP_REPORT_MAX_VERSION);
	}
}

static int show_report(const char *path, const struct report_opts *o)
{
	uint8_t buf[SA_SNP_REPORT_SIZE];
	sa_error err = {0};
	sa_input_format detected = SA_INPUT_BINARY;
	if (cli_read_report_ex(path, o->fmt, o->offset, buf, &detected, &err) != SA_OK)
		return cli_input_error(VERB, &err);
	sa_snp_report r;
	if (sa_snp_report_decode(buf, sizeof(buf), &r, &err) != SA_OK) {
		sa_error_wrap(&err, err.code, "%s", strcmp(path, "-") == 0 ? "standard input" : path);
		return cli_input_error(VERB, &err);
	}
	if (o->json) {
		char *s = sa_snp_report_to_json(&r, o->product);
		if (!s) {
			fprintf(stderr, "sevattest %s: out of memory rendering JSON\n", VERB);
			return CLI_EXIT_USAGE;
		}
		puts(s);
		free(s);
	} else {
		print_report_text(path, &r, o, detected);
	}
	return CLI_EXIT_OK;
}

/* ---- show cert ---- */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

/* Text for one certificate, read back from its JSON so both outputs always agree. */
static void print_cert_text(json_object *c, size_t i, size_t n)
{
	printf("Certificate %zu of %zu:\n", i + 1, n);
	const char *step = jstr(c, "stepping");
	field("  Role", "%s", jstr(c, "role"));
	field("  Subject CN", "%s", jstr(c, "subject_cn"));
	field("  Issuer CN", "%s", jstr(c, "issuer_cn"));
	field("  Serial", "%s", jstr(c, "serial") ? jstr(c, "serial") : "(none)");
	field("  Not before", "%s", jstr(c, "not_before"));
	field("  Not after", "%s", jstr(c, "not_after"));
	field("  SHA-256 fingerprint", "%s", jstr(c, "fingerprint_sha256"));
	field("  Key", "%s", jstr(c, "key_type"));
	field("  Product", "%s%s%s", jstr(c, "product"), step ? ", stepping " : "", step ? step : "");

	static const struct {
		const char *key, *label;
	} ext_names[] = {
		{"struct_version", "structVersion (.1)"}, {"product_name", "productName (.2)"},
		{"bl_spl", "blSPL (.3.1)"},               {"tee_spl", "teeSPL (.3.2)"},
		{"snp_spl", "snpSPL (.3.3)"},             {"spl_4", "spl_4 (.3.4)"},
		{"spl_5", "spl_5 (.3.5)"},                {"spl_6", "spl_6 (.3.6)"},
		{"spl_7", "spl_7 (.3.7)"},                {"ucode_spl", "ucodeSPL (.3.8)"},
		{"fmc_spl", "fmcSPL (.3.9)"},             {"csp_id", "csp_id (.5)"},
	};
	json_object *ext = NULL;
	if (!json_object_object_get_ex(c, "amd_extensions", &ext) || !ext || json_object_object_length(ext) == 0) {
		field("  AMD extensions", "none");
		return;
	}
	field("  AMD extensions", "(OIDs under 1.3.6.1.4.1.3704.1)");
	for (size_t k = 0; k < sizeof(ext_names) / sizeof(ext_names[0]); k++) {
		const char *v = jstr(ext, ext_names[k].key);
		if (!v)
			continue;
		char l[64];
		snprintf(l, sizeof(l), "    %s", ext_names[k].label);
		field(l, "%s", v);
	}
	json_object *hw = NULL;
	if (json_object_object_get_ex(ext, "hwid", &hw) && hw) {
		const char *enc = jstr(hw, "encoding");
		field("    hwID (.4)", "%s (%s bytes, %s)", jstr(hw, "hex"), jstr(hw, "length"),
		      enc && strcmp(enc, "octet-string") == 0 ? "DER OCTET STRING" : "raw bytes");
	}
}

static int show_cert(const char *path, bool json)
{
	uint8_t *data = NULL;
	size_t len = 0;
	sa_error err = {0};
	if (cli_read_file(path, &data, &len, &err) != SA_OK)
		return cli_input_error(VERB, &err);
	sa_cert_list list = {0};
	sa_status s = sa_cert_parse_any(data, len, &list, &err);
	free(data);
	if (s == SA_OK && list.n == 0)
		s = sa_error_set(&err, SA_ERR_NOT_FOUND, "no certificate found");
	if (s != SA_OK) {
		sa_cert_list_free(&list);
		sa_error_wrap(&err, err.code, "%s", strcmp(path, "-") == 0 ? "standard input" : path);
		return cli_input_error(VERB, &err);
	}

	int rc = CLI_EXIT_OK;
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < list.n; i++) {
		char *t = sa_cert_to_json(list.v[i]);
		json_object *o = t ? json_tokener_parse(t) : NULL;
		free(t);
		if (!o || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			arr = NULL;
		}
	}
	if (!arr) {
		fprintf(stderr, "sevattest %s: out of memory rendering certificates\n", VERB);
		rc = CLI_EXIT_USAGE;
	} else if (json) {
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		size_t n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar('\n');
			print_cert_text(json_object_array_get_idx(arr, i), i, n);
		}
	}
	json_object_put(arr);
	sa_cert_list_free(&list);
	return rc;
}

/* ---- show sev-cert ---- */

/* The library's JSON text of one certificate as an object (NULL when out of memory); frees text. */
static json_object *parse_rendering(char *text)
{
	json_object *o = text ? json_tokener_parse(text) : NULL;
	free(text);
	return o;
}

static const char *jget(json_object *o, const char *key, const char *dflt)
{
	const char *v = jstr(o, key);
	return v ? v : dflt;
}

/* A long hex string under a label, HEX_PER_LINE bytes a line. */
static void field_hexstr(const char *label, const char *hex)
{
	size_t n = strlen(hex), step = 2 * HEX_PER_LINE;
	for (size_t off = 0; off < n || off == 0; off += step) {
		int k = (int)(n - off < step ? n - off : step);
		if (off == 0)
			printf("%-*s %.*s\n", LABEL_W, label[0] ? label : "", k, hex + off);
		else
			printf("%-*s %.*s\n", LABEL_W, "", k, hex + off);
		if (n == 0)
			break;
	}
}

static void field_hexkey(json_object *o, const char *key, const char *label)
{
	char l[64];
	snprintf(l, sizeof(l), "%s:", label);
	const char *v = jstr(o, key);
	field_hexstr(l, v ? v : "(none)");
}

static void print_sev_cert_text(json_object *c)
{
	field("  Format", "%s at byte %s", jget(c, "format", "?"), jget(c, "offset", "?"));
	field("  VERSION", "%s", jget(c, "version", "?"));
	field("  API version", "%s (API_MAJOR.API_MINOR of the firmware that made it)", jget(c, "api_version", "?"));
	field("  reserved", "%s", jget(c, "reserved", "?"));
	field("  PUB_KEY_USAGE", "%s (%s)", jget(c, "usage_raw", "?"), jget(c, "usage", "?"));
	field("  PUB_KEY_ALGO", "%s (%s)", jget(c, "algorithm_raw", "?"), jget(c, "algorithm", "?"));
	json_object *k = NULL;
	if (json_object_object_get_ex(c, "public_key", &k) && k) {
		field("  PUB_KEY", "%s", jget(k, "type", "?"));
		if (jstr(k, "curve")) {
			field("    CURVE", "%s", jget(k, "curve", "?"));
			field_hexkey(k, "qx", "    QX (big-endian)");
			field_hexkey(k, "qy", "    QY (big-endian)");
			field("    reserved", "%s", json_object_get_boolean(json_object_object_get(k, "reserved_zero"))
							 ? "all zero"
							 : "NOT all zero");
		} else {
			field("    MODULUS_SIZE", "%s bits", jget(k, "modulus_bits", "?"));
			field_hexkey(k, "exponent", "    PUB_EXP (big-endian)");
			field_hexkey(k, "modulus", "    MODULUS (big-endian)");
		}
		field("    SHA-256 of PUB_KEY", "%s", jget(k, "fingerprint_sha256", "?"));
	}
	json_object *sigs = NULL;
	if (!json_object_object_get_ex(c, "signatures", &sigs) || !sigs)
		return;
	for (size_t i = 0; i < json_object_array_length(sigs); i++) {
		json_object *s = json_object_array_get_idx(sigs, i);
		char l[64];
		snprintf(l, sizeof(l), "  SIG%s", jget(s, "slot", "?"));
		if (json_object_get_boolean(json_object_object_get(s, "empty"))) {
			field(l, "empty (USAGE %s, ALGO %s)", jget(s, "usage_raw", "?"), jget(s, "algorithm_raw", "?"));
			continue;
		}
		field(l, "by %s (%s), %s (%s)", jget(s, "usage", "?"), jget(s, "usage_raw", "?"), jget(s, "algorithm", "?"),
		      jget(s, "algorithm_raw", "?"));
		if (jstr(s, "r")) {
			field_hexkey(s, "r", "    R (big-endian)");
			field_hexkey(s, "s", "    S (big-endian)");
		} else {
			char sl[64];
			snprintf(sl, sizeof(sl), "    RSA-PSS, %s bytes", jget(s, "signature_bytes", "?"));
			field_hexkey(s, "signature", sl);
		}
	}
}

static void print_amd_cert_text(json_object *c)
{
	field("  Format", "%s at byte %s", jget(c, "format", "?"), jget(c, "offset", "?"));
	field("  VERSION", "%s", jget(c, "version", "?"));
	field("  KEY_ID", "%s", jget(c, "key_id", "?"));
	field("  CERTIFYING_ID", "%s%s", jget(c, "certifying_id", "?"),
	      json_object_get_boolean(json_object_object_get(c, "self_certified")) ? " (itself)" : "");
	field("  KEY_USAGE", "%s (%s)", jget(c, "usage_raw", "?"), jget(c, "usage", "?"));
	field("  reserved", "%s", jget(c, "reserved", "?"));
	field("  PUB_EXP_SIZE", "%s bits", jget(c, "pub_exp_bits", "?"));
	field("  MODULUS_SIZE", "%s bits", jget(c, "modulus_bits", "?"));
	field_hexkey(c, "exponent", "  PUB_EXP (big-endian)");
	field_hexkey(c, "modulus", "  MODULUS (big-endian)");
	if (jstr(c, "signature")) {
		field("  SIGNATURE", "%s", jget(c, "signature_scheme", "?"));
		field_hexkey(c, "signature", "    (big-endian)");
	} else {
		field("  SIGNATURE", "none (the unsigned form, as AMD publishes the Naples ARK)");
	}
	field("  Signed bytes", "%s", jget(c, "signed_bytes", "?"));
	field("  SHA-256 (signed part)", "%s", jget(c, "fingerprint_sha256", "?"));
	if (jstr(c, "pin"))
		field("  Pinned", "yes: %s (%s)", jstr(c, "pin"), jget(c, "product", "?"));
	else if (jstr(c, "issuer_pin"))
		field("  Pinned", "no; certified by %s (%s)", jstr(c, "issuer_pin"), jget(c, "product", "?"));
	else
		field("  Pinned", "no (not one of AMD's ARKs)");
}

/* A SEV certificate or a bundle of them when the size is a multiple of 0x824, else AMD CA certificates. */
static int show_sev_cert(const char *path, bool json)
{
	uint8_t *raw = NULL, *data = NULL;
	size_t raw_len = 0, len = 0;
	sa_error err = {0};
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	if (cli_read_file(path, &raw, &raw_len, &err) != SA_OK)
		return cli_input_error(VERB, &err);
	sa_status s = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, SA_SEV_CERT_SIZE, &data, &len, NULL, &err);
	free(raw);
	if (s != SA_OK) {
		sa_error_wrap(&err, err.code, "%s", name);
		return cli_input_error(VERB, &err);
	}
	json_object *arr = json_object_new_array();
	/* SEV certificates come in multiples of 0x824 bytes and carry their usage (0x1001..0x1004) at byte 8,
	 * where an AMD CA certificate has key id bytes: a truncated SEV certificate is still reported as one. */
	uint32_t usage8 = len >= 12 ? (uint32_t)data[8] | (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 |
					      (uint32_t)data[11] << 24
				    : 0;
	bool sev = len > 0 && (len % SA_SEV_CERT_SIZE == 0 || (usage8 >= SA_SEV_USAGE_OCA && usage8 <= SA_SEV_USAGE_CEK));
	sa_reader r;
	sa_reader_init(&r, data, len);
	if (len == 0)
		s = sa_error_set(&err, SA_ERR_TRUNCATED, "empty, expected a SEV or AMD CA certificate");
	while (s == SA_OK && arr && sa_reader_remaining(&r) > 0) {
		size_t at = sa_reader_offset(&r);
		json_object *o = NULL;
		if (sev) {
			sa_sev_cert c;
			if ((s = sa_sev_cert_read(&r, &c, &err)) == SA_OK)
				o = parse_rendering(sa_sev_cert_to_json(&c, at));
		} else {
			sa_amd_cert *c = malloc(sizeof(*c));
			if (!c)
				s = sa_error_set(&err, SA_ERR_NOMEM, "out of memory");
			else if ((s = sa_amd_cert_read(&r, c, &err)) == SA_OK)
				o = parse_rendering(sa_amd_cert_to_json(c, at));
			free(c);
		}
		if (s != SA_OK) {
			sa_error_wrap(&err, err.code, "certificate %zu at byte %zu (%s)", json_object_array_length(arr) + 1,
				      at, sev ? "a multiple of 0x824 bytes: read as SEV certificates" : "read as AMD CA certificates");
			break;
		}
		if (!o || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			s = sa_error_set(&err, SA_ERR_NOMEM, "out of memory rendering certificates");
		}
	}
	free(data);
	if (!arr)
		s = sa_error_set(&err, SA_ERR_NOMEM, "out of memory rendering certificates");
	if (s != SA_OK) {
		json_object_put(arr);
		sa_error_wrap(&err, err.code, "%s", name);
		return cli_input_error(VERB, &err);
	}
	if (json) {
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		size_t n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			json_object *c = json_object_array_get_idx(arr, i);
			if (i)
				putchar('\n');
			printf("Certificate %zu of %zu: %s\n", i + 1, n, jget(c, "usage", "?"));
			if (sev)
				print_sev_cert_text(c);
			else
				print_amd_cert_text(c);
		}
	}
	json_object_put(arr);
	return CLI_EXIT_OK;
}

/* ---- entry ---- */

int cmd_show(int argc, char **argv)
{
	enum { OPT_JSON = 1000, OPT_PRODUCT, OPT_FORMAT, OPT_OFFSET };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"product", required_argument, NULL, OPT_PRODUCT},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"report-offset", required_argument, NULL, OPT_OFFSET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct report_opts o = {.fmt = SA_INPUT_AUTO, .offset = -1, .product = SA_PRODUCT_UNKNOWN};
	bool report_only_opt = false;
	const char *report_only_name = NULL;
	sa_error err = {0};
	int c;

	cli_getopt_reset();
	opterr = 0; /* we word the errors ourselves */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(show_usage, stdout); return CLI_EXIT_OK;
		case OPT_JSON: o.json = true; break;
		case OPT_PRODUCT:
			if (sa_product_parse(optarg, &o.product, NULL, &err) != SA_OK)
				return cli_usage_error(VERB, "--product: %s", err.msg);
			o.have_product = true;
			report_only_opt = true;
			report_only_name = "--product";
			break;
		case OPT_FORMAT:
			if (cli_parse_input_format(optarg, &o.fmt, &err) != SA_OK)
				return cli_usage_error(VERB, "%s", err.msg);
			report_only_opt = true;
			report_only_name = "--format";
			break;
		case OPT_OFFSET:
			if (cli_parse_offset(optarg, "--report-offset", &o.offset, &err) != SA_OK)
				return cli_usage_error(VERB, "%s", err.msg);
			report_only_opt = true;
			report_only_name = "--report-offset";
			break;
		case ':': return cli_usage_error(VERB, "option '%s' needs a value", argv[optind - 1]);
		default: return cli_usage_error(VERB, "unknown option '%s'", argv[optind - 1]);
		}
	}
	int rest = argc - optind;
	if (rest < 1)
		return cli_usage_error(VERB, "expected 'report FILE' or 'cert FILE' (or 'sev-cert FILE')");
	const char *what = argv[optind];
	if (strcmp(what, "report") != 0 && strcmp(what, "cert") != 0 && strcmp(what, "certs") != 0 &&
	    strcmp(what, "sev-cert") != 0)
		return cli_usage_error(VERB, "unknown object '%s' (expected 'report', 'cert' or 'sev-cert')", what);
	if (rest < 2)
		return cli_usage_error(VERB, "%s: expected a FILE (or '-' for standard input)", what);
	if (rest > 2)
		return cli_usage_error(VERB, "unexpected argument '%s' after FILE", argv[optind + 2]);
	const char *path = argv[optind + 1];
	if (strcmp(what, "report") == 0)
		return show_report(path, &o);
	if (report_only_opt)
		return cli_usage_error(VERB, "%s applies to 'show report' only", report_only_name);
	if (strcmp(what, "sev-cert") == 0)
		return show_sev_cert(path, o.json);
	return show_cert(path, o.json);
}
