/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest guest: what a guest asks its platform for, through the guest
 * library (guest.h): an attestation report for a nonce, a derived key, the
 * host's certificates.  Backends: /dev/sev-guest, configfs-tsm, or an
 * emulated VM's guest channel (emu:SOCKET).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sevattest/cert.h"
#include "sevattest/encoding.h"
#include "sevattest/guest.h"
#include "sevattest/guest_msg.h"
#include "sevattest/tcb.h"

#include "cli.h"

static const char *const V = "guest";

static const char guest_usage[] =
	"Usage: sevattest guest report [--data HEX | --random] [--vmpl N] [--key-sel vcek|vlek|auto] [--out FILE]\n"
	"                              [--certs-out DIR] [--extended] [--backend B] [--vmpck N] [--json]\n"
	"       sevattest guest key [--root vcek|vmrk] [--fields LIST] [--vmpl N] [--svn N] [--tcb TCB]\n"
	"                           [--key-sel vcek|vlek|auto] [--launch-mit HEX] [--backend B] [--vmpck N] [--json]\n"
	"       sevattest guest certs --out DIR [--backend B] [--vmpck N]\n"
	"\n"
	"Ask the SEV-SNP platform, from inside a guest, for an attestation report, a derived key or the\n"
	"host's certificates.  Every request is encrypted and authenticated with the guest's VMPCK; a\n"
	"reply that fails its checks means the host is not to be trusted, and the key is then wiped for\n"
	"good (the kernel does the same for /dev/sev-guest).\n"
	"\n"
	"  report        an attestation report with REPORT_DATA = the nonce; prints the nonce in hex and\n"
	"                writes the report (binary) to --out, or prints it in hex\n"
	"  key           a key derived from the platform's chip key (or the VM root key) and the guest\n"
	"                fields chosen; prints it in hex\n"
	"  certs         the certificates the host hands out with extended reports (ARK, ASK, VCEK...)\n"
	"\n"
	"Options:\n"
	"  --backend B            auto (default: /dev/sev-guest, else configfs-tsm), sev-guest, tsm,\n"
	"                         or emu:SOCKET, an emulated VM's guest channel (`sevattest emu vm launch`)\n"
	"  --vmpck N              emu: the VMPCK (0..3) to use (default 0); the kernel picks for sev-guest\n"
	"  --data HEX             REPORT_DATA, up to 64 bytes (zero-padded)\n"
	"  --random               a fresh random 64-byte nonce (the default)\n"
	"  --vmpl N               the VMPL to report or derive for (0..3, default 0)\n"
	"  --key-sel K            the signing/root key: auto (default: the VLEK if loaded), vcek, vlek\n"
	"  --out FILE             report: the report, 1184 bytes; certs: the directory\n"
	"  --certs-out DIR        also fetch the host's certificates (an extended request) and write them\n"
	"                         as ark.pem, ask.pem (asvk.pem beside a VLEK), vcek.pem, vlek.pem,\n"
	"                         crl.der, or GUID.bin for other entries\n"
	"  --extended             an extended request even without --certs-out\n"
	"  --root R               key: vcek (the chip key or VLEK, default) or vmrk (the VM root key)\n"
	"  --fields LIST          key: guest fields mixed in, from policy, image-id, family-id,\n"
	"                         measurement, guest-svn, tcb, launch-mit (comma-separated)\n"
	"  --svn N                key: GUEST_SVN, at most the guest's (default 0)\n"
	"  --tcb TCB              key: TCB_VERSION (bl=N,tee=N,snp=N,ucode=N[,fmc=N] or a raw u64), at most\n"
	"                         the COMMITTED_TCB (default 0)\n"
	"  --launch-mit HEX       key: LAUNCH_MIT_VECTOR (sends the longer request)\n"
	"  --json                 print JSON\n"
	"\n"
	"Exit status: 0 success; 1 the platform or host refused or failed; 2 bad usage.\n";

enum {
	O_DATA = 256, O_RANDOM, O_VMPL, O_KEY_SEL, O_OUT, O_CERTS_OUT, O_EXTENDED, O_BACKEND, O_VMPCK, O_JSON, O_ROOT,
	O_FIELDS, O_SVN, O_TCB, O_LAUNCH_MIT, O_HELP,
};

static const struct option opts[] = {
	{"data", required_argument, NULL, O_DATA},
	{"random", no_argument, NULL, O_RANDOM},
	{"vmpl", required_argument, NULL, O_VMPL},
	{"key-sel", required_argument, NULL, O_KEY_SEL},
	{"out", required_argument, NULL, O_OUT},
	{"certs-out", required_argument, NULL, O_CERTS_OUT},
	{"extended", no_argument, NULL, O_EXTENDED},
	{"backend", required_argument, NULL, O_BACKEND},
	{"vmpck", required_argument, NULL, O_VMPCK},
	{"json", no_argument, NULL, O_JSON},
	{"root", required_argument, NULL, O_ROOT},
	{"fields", required_argument, NULL, O_FIELDS},
	{"svn", required_argument, NULL, O_SVN},
	{"tcb", required_argument, NULL, O_TCB},
	{"launch-mit", required_argument, NULL, O_LAUNCH_MIT},
	{"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *sub;
	sa_guest_opts g;
	uint8_t data[64];
	bool has_data, random, extended, json;
	uint32_t vmpl, key_sel;
	const char *out, *certs_out;
	sa_key_req key;
};

static bool allowed(const char *sub, int opt)
{
	switch (opt) {
	case O_BACKEND:
	case O_VMPCK:
	case O_HELP:
	case O_OUT: return true;
	case O_JSON:
	case O_VMPL:
	case O_KEY_SEL: return strcmp(sub, "certs") != 0;
	case O_DATA:
	case O_RANDOM:
	case O_CERTS_OUT:
	case O_EXTENDED: return strcmp(sub, "report") == 0;
	case O_ROOT:
	case O_FIELDS:
	case O_SVN:
	case O_TCB:
	case O_LAUNCH_MIT: return strcmp(sub, "key") == 0;
	}
	return false;
}

static int parse_fields(const char *text, uint64_t *out)
{
	static const char *const names[] = {"policy",    "image-id", "family-id",  "measurement",
					    "guest-svn", "tcb",      "launch-mit"};
	*out = 0;
	char buf[256];
	if (strlen(text) >= sizeof(buf))
		return cli_usage_error(V, "--fields: too long");
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(t, names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return cli_usage_error(V,
					       "--fields: '%s' is not a guest field; expected policy, image-id, "
					       "family-id, measurement, guest-svn, tcb or launch-mit",
					       t);
		*out |= 1ull << i;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(guest_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : -1;
	}
	static const char *const subs[] = {"report", "key", "certs"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i]))
			a->sub = subs[i];
	if (!a->sub)
		return cli_usage_error(V, "unknown subcommand '%s' (expected report, key or certs)", argv[1]);
	int sargc = argc - 1;
	char **sargv = argv + 1;
	sa_error e;
	int c, rc = 0;
	cli_getopt_reset();
	while ((c = getopt_long(sargc, sargv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?' || c == ':')
			return cli_usage_error(V, "%s: bad option", a->sub);
		if (!allowed(a->sub, c))
			return cli_usage_error(V, "%s does not take --%s", a->sub, cli_opt_name(opts, c));
		const char *o = optarg;
		switch (c) {
		case O_DATA:
			if (cli_parse_hex_padded(V, "data", o, a->data, sizeof(a->data)))
				return CLI_EXIT_USAGE;
			a->has_data = true;
			break;
		case O_RANDOM: a->random = true; break;
		case O_VMPL: rc = cli_parse_u32(V, "vmpl", o, 3, &a->vmpl); break;
		case O_KEY_SEL:
			if (!strcmp(o, "auto"))
				a->key_sel = 0;
			else if (!strcmp(o, "vcek"))
				a->key_sel = 1;
			else if (!strcmp(o, "vlek"))
				a->key_sel = 2;
			else
				return cli_usage_error(V, "--key-sel '%s': expected auto, vcek or vlek", o);
			break;
		case O_OUT: a->out = o; break;
		case O_CERTS_OUT: a->certs_out = o; break;
		case O_EXTENDED: a->extended = true; break;
		case O_BACKEND:
			if (sa_guest_backend_parse(o, &a->g, &e) != SA_OK)
				return cli_usage_error(V, "%s", e.msg);
			break;
		case O_VMPCK: {
			uint32_t v;
			rc = cli_parse_u32(V, "vmpck", o, SA_VMPCK_COUNT - 1, &v);
			a->g.vmpck_id = (uint8_t)v;
			break;
		}
		case O_JSON: a->json = true; break;
		case O_ROOT:
			if (!strcmp(o, "vcek"))
				a->key.root_key_select = 0;
			else if (!strcmp(o, "vmrk"))
				a->key.root_key_select = 1;
			else
				return cli_usage_error(V, "--root '%s': expected vcek or vmrk", o);
			break;
		case O_FIELDS: rc = parse_fields(o, &a->key.guest_field_select); break;
		case O_SVN: rc = cli_parse_u32(V, "svn", o, UINT32_MAX, &a->key.guest_svn); break;
		case O_TCB: {
			sa_tcb t;
			if (sa_tcb_parse(o, strstr(o, "fmc") != NULL, &t, &e) != SA_OK)
				return cli_usage_error(V, "--tcb: %s", e.msg);
			a->key.tcb_version = t.raw;
			break;
		}
		case O_LAUNCH_MIT: {
			char *end;
			errno = 0;
			unsigned long long m = strtoull(o, &end, 16);
			if (errno || end == o || *end || o[0] == '-')
				return cli_usage_error(V, "--launch-mit '%s': expected a hex bit mask", o);
			a->key.has_launch_mit_vector = true;
			a->key.launch_mit_vector = m;
			break;
		}
		case O_HELP: fputs(guest_usage, stdout); return -1;
		}
		if (rc)
			return rc;
	}
	if (optind < sargc)
		return cli_usage_error(V, "%s: unexpected argument '%s'", a->sub, sargv[optind]);
	if (a->has_data && a->random)
		return cli_usage_error(V, "--data and --random exclude each other");
	if (!strcmp(a->sub, "certs") && !a->out)
		return cli_usage_error(V, "certs: --out DIR is required");
	a->key.vmpl = a->vmpl;
	a->key.key_sel = a->key_sel;
	return 0;
}

static int failed(const char *what, const sa_guest *g, const sa_error *err)
{
	uint32_t fw = 0, vmm = 0;
	if (g)
		sa_guest_last_error(g, &fw, &vmm);
	fprintf(stderr, "sevattest %s: %s: %s\n", V, what, err->msg);
	if (fw || vmm)
		fprintf(stderr, "sevattest %s: the host's last answer: firmware error 0x%x (%s), VMM error %u\n", V, fw,
			fw ? sa_fw_status_name(fw) : "none", vmm);
	return CLI_EXIT_REJECTED;
}

static sa_status open_guest(const struct args *a, sa_guest **g, sa_error *err) { return sa_guest_open(&a->g, g, err); }

/* ---- the certificate table ---- */

struct cert_out {
	char name[48];
	char file[4096];
	size_t bytes;
};

static const char *entry_name(const sa_cert_table *t, const sa_cert_entry *e, bool *pem)
{
	*pem = true;
	if (!memcmp(e->guid, SA_CERT_GUID_ARK, 16))
		return "ark";
	if (!memcmp(e->guid, SA_CERT_GUID_ASK, 16))
		return sa_cert_table_find(t, SA_CERT_GUID_VLEK) && !sa_cert_table_find(t, SA_CERT_GUID_VCEK) ? "asvk"
													 : "ask";
	if (!memcmp(e->guid, SA_CERT_GUID_VCEK, 16))
		return "vcek";
	if (!memcmp(e->guid, SA_CERT_GUID_VLEK, 16))
		return "vlek";
	*pem = false;
	if (!memcmp(e->guid, SA_CERT_GUID_CRL, 16))
		return "crl";
	return NULL;
}

static void guid_text(const uint8_t g[16], char out[37])
{
	static const char hx[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hx[g[i] >> 4];
		out[k++] = hx[g[i] & 15];
	}
	out[k] = '\0';
}

/* Write each entry of the table into dir (certificates as PEM). */
static int write_certs(const char *dir, const uint8_t *table, size_t len, struct cert_out *outs, size_t *n_out)
{
	sa_error err;
	sa_cert_table t;
	*n_out = 0;
	if (sa_cert_table_decode(table, len, &t, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: the host's certificate table: %s\n", V, err.msg);
		return CLI_EXIT_REJECTED;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "sevattest %s: cannot create %s: %s\n", V, dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < t.n; i++) {
		const sa_cert_entry *e = &t.e[i];
		bool pem;
		const char *name = entry_name(&t, e, &pem);
		char guid[37];
		guid_text(e->guid, guid);
		struct cert_out *o = &outs[(*n_out)++];
		snprintf(o->name, sizeof(o->name), "%s", name ? name : guid);
		char *text = NULL;
		sa_cert *c = NULL;
		if (pem && (sa_cert_from_der(e->data, e->len, &c, &err) != SA_OK ||
			    sa_cert_to_pem(c, &text, &err) != SA_OK)) {
			fprintf(stderr, "sevattest %s: the %s entry is not a certificate (%s); writing it as DER\n", V,
				o->name, err.msg);
			pem = false;
		}
		sa_cert_free(c);
		const char *ext = pem ? "pem" : name ? "der" : "bin";
		int k = snprintf(o->file, sizeof(o->file), "%s/%s.%s", dir, o->name, ext);
		if (k < 0 || (size_t)k >= sizeof(o->file)) {
			free(text);
			fprintf(stderr, "sevattest %s: %s: path too long\n", V, dir);
			return CLI_EXIT_USAGE;
		}
		const void *data = pem ? (const void *)text : (const void *)e->data;
		o->bytes = pem ? strlen(text) : e->len;
		sa_status s = sa_write_file_atomic(o->file, data, o->bytes, 0644, &err);
		free(text);
		if (s != SA_OK)
			return cli_input_error(V, &err);
	}
	return CLI_EXIT_OK;
}

static json_object *certs_json(const struct cert_out *outs, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(outs[i].name));
		json_object_object_add(o, "file", json_object_new_string(outs[i].file));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)outs[i].bytes));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* ---- report ---- */

static int do_report(struct args *a)
{
	sa_error err;
	if (!a->has_data && RAND_bytes(a->data, sizeof(a->data)) != 1) {
		fprintf(stderr, "sevattest %s: no random bytes for the nonce\n", V);
		return CLI_EXIT_REJECTED;
	}
	sa_guest *g;
	if (open_guest(a, &g, &err) != SA_OK)
		return failed("opening the guest interface", NULL, &err);
	uint8_t report[SA_SNP_REPORT_SIZE];
	uint8_t *table = NULL;
	size_t table_len = 0;
	bool ext = a->extended || a->certs_out;
	sa_status s = ext ? sa_guest_get_ext_report(g, a->data, a->vmpl, a->key_sel, report, &table, &table_len, &err)
			  : sa_guest_get_report(g, a->data, a->vmpl, a->key_sel, report, &err);
	if (s != SA_OK) {
		int rc = failed("report", g, &err);
		sa_guest_close(g);
		return rc;
	}
	const char *backend = sa_guest_backend_name(sa_guest_kind(g));
	sa_guest_close(g);

	int rc = CLI_EXIT_OK;
	struct cert_out outs[SA_CERT_TABLE_MAX];
	size_t n_out = 0;
	if (a->out && sa_write_file_atomic(a->out, report, sizeof(report), 0644, &err) != SA_OK)
		rc = cli_input_error(V, &err);
	if (!rc && a->certs_out)
		rc = write_certs(a->certs_out, table, table_len, outs, &n_out);
	free(table);
	if (rc)
		return rc;

	char nonce[129];
	sa_hex_encode(a->data, sizeof(a->data), nonce);
	char *rhex = malloc(2 * sizeof(report) + 1);
	if (!rhex) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	sa_hex_encode(report, sizeof(report), rhex);
	if (a->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "backend", json_object_new_string(backend));
		json_object_object_add(o, "report_data", json_object_new_string(nonce));
		if (a->out)
			json_object_object_add(o, "report_file", json_object_new_string(a->out));
		else
			json_object_object_add(o, "report", json_object_new_string(rhex));
		if (ext)
			json_object_object_add(o, "certificate_table_bytes", json_object_new_int64((int64_t)table_len));
		if (a->certs_out)
			json_object_object_add(o, "certs", certs_json(outs, n_out));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("report_data: %s\n", nonce);
		if (a->out)
			printf("report:      %s (%zu bytes, through %s)\n", a->out, sizeof(report), backend);
		else
			printf("report:      %s\n", rhex);
		if (ext)
			printf("certificates: a table of %zu bytes from the host\n", table_len);
		for (size_t i = 0; i < n_out; i++)
			printf("  %-6s %s\n", outs[i].name, outs[i].file);
	}
	free(rhex);
	return CLI_EXIT_OK;
}

/* ---- key ---- */

static int do_key(struct args *a)
{
	sa_error err;
	sa_guest *g;
	if (open_guest(a, &g, &err) != SA_OK)
		return failed("opening the guest interface", NULL, &err);
	uint8_t key[32];
	sa_status s = sa_guest_get_derived_key(g, &a->key, key, &err);
	int rc = s == SA_OK ? CLI_EXIT_OK : failed("derived key", g, &err);
	sa_guest_close(g);
	if (rc)
		return rc;
	char hex[65];
	sa_hex_encode(key, sizeof(key), hex);
	OPENSSL_cleanse(key, sizeof(key));
	if (a->json)
		printf("{\n  \"key\": \"%s\"\n}\n", hex);
	else
		printf("%s\n", hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	return CLI_EXIT_OK;
}

/* ---- certs ---- */

static int do_certs(struct args *a)
{
	sa_error err;
	sa_guest *g;
	if (RAND_bytes(a->data, sizeof(a->data)) != 1) {
		fprintf(stderr, "sevattest %s: no random bytes for the nonce\n", V);
		return CLI_EXIT_REJECTED;
	}
	if (open_guest(a, &g, &err) != SA_OK)
		return failed("opening the guest interface", NULL, &err);
	uint8_t report[SA_SNP_REPORT_SIZE];
	uint8_t *table = NULL;
	size_t len = 0;
	sa_status s = sa_guest_get_ext_report(g, a->data, 0, 0, report, &table, &len, &err);
	int rc = s == SA_OK ? CLI_EXIT_OK : failed("extended report", g, &err);
	sa_guest_close(g);
	if (rc)
		return rc;
	struct cert_out outs[SA_CERT_TABLE_MAX];
	size_t n = 0;
	rc = write_certs(a->out, table, len, outs, &n);
	free(table);
	if (rc)
		return rc;
	if (n == 0)
		printf("the host supplied no certificates\n");
	for (size_t i = 0; i < n; i++)
		printf("%-6s %s (%zu bytes)\n", outs[i].name, outs[i].file, outs[i].bytes);
	return CLI_EXIT_OK;
}

int cmd_guest(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (!strcmp(a.sub, "report"))
		return do_report(&a);
	if (!strcmp(a.sub, "key"))
		return do_key(&a);
	return do_certs(&a);
}
