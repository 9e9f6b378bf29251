/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest host: the SEV platform owner's commands on /dev/sev or the
 * emulator (sevhost.h), the emulated guests' attestation reports, signing the
 * PEK with the owner's OCA key offline, and `host qmp` (cmd_qmp.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "sevattest/emu_client.h"
#include "sevattest/encoding.h"
#include "sevattest/idblock.h"
#include "sevattest/kds.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/sevhost.h"

#include "cli.h"

#define V "host"
#define KEY_FILE_MAX (64u * 1024u)

static const char host_usage[] =
	"Usage: sevattest host [--backend B] COMMAND [options]\n"
	"\n"
	"The SEV platform owner's commands (SEV and SEV-ES, the legacy platform) on /dev/sev or the\n"
	"emulator, and the emulator's SEV guests.\n"
	"\n"
	"Commands:\n"
	"  status [--json]                 API version, build, state, owner (self or external), SEV-ES, guests\n"
	"  reset                           FACTORY_RESET: new self-owned OCA, PEK and PDH\n"
	"  pek-gen                         PEK_GEN: a new PEK (and PDH); an imported OCA is dropped\n"
	"  pdh-gen                         PDH_GEN: a new PDH signed by the PEK\n"
	"  pek-csr --out FILE              PEK_CSR: the PEK certificate signing request (0x824 bytes)\n"
	"  sign-pek --csr FILE --oca-key PEM [--oca-cert FILE | --oca-out FILE] --out FILE\n"
	"                                  offline: sign the CSR with the platform owner's OCA key (P-384);\n"
	"                                  without --oca-cert a self-signed OCA certificate is made and\n"
	"                                  written to --oca-out\n"
	"  pek-import --pek FILE --oca FILE\n"
	"                                  PEK_CERT_IMPORT: take the OCA as the platform's owner\n"
	"  export-certs --out-dir DIR [--full [--product NAME] [KDS options]]\n"
	"                                  PDH_CERT_EXPORT into pdh.cert pek.cert oca.cert cek.cert (the CEK\n"
	"                                  as firmware gives it: not signed by AMD); --full adds ask.cert and\n"
	"                                  ark.cert and the ASK-signed cek.cert: the emulator's, or on /dev/sev\n"
	"                                  AMD's (the CEK from KDS by GET_ID, ask_ark_<product>.cert for the\n"
	"                                  product whose ASK signs it, or --product Naples|Rome|Milan|Genoa|Turin;\n"
	"                                  cache first)\n"
	"  get-id [--out FILE] [--json]    GET_ID: the chip's ID (hex), as KDS's cek/id URL takes it\n"
	"  report --vm HANDLE --mnonce B64 [--out FILE]\n"
	"                                  emulator only: the ATTESTATION report (0xD0 bytes) of a running\n"
	"                                  SEV guest for the 16-byte MNONCE (strict base64); base64 on\n"
	"                                  standard output without --out\n"
	"  qmp ...                         talk QMP to a VM (sevattest host qmp --help)\n"
	"\n"
	"Options:\n"
	"  --backend B            auto (default: /dev/sev), dev:PATH or emu:SOCKET (an emulator's host\n"
	"                         socket, e.g. STATE/run/host.sock)\n"
	"  --timeout MS           bound on each emulator call (default 30000)\n"
	"\n"
	"KDS options (export-certs --full on /dev/sev):\n" CLI_KDS_HELP
	"\n"
	"Certificate files are SEV certificates of 0x824 bytes, binary or base64.  The commands that\n"
	"change the platform need /dev/sev opened for writing (root).\n"
	"\n"
	"Exit status: 0 success; 1 the firmware refused the command; 2 bad usage, unreadable input, or no\n"
	"platform to talk to.\n";

enum {
	O_BACKEND = 256, O_TIMEOUT, O_JSON, O_OUT, O_OUT_DIR, O_FULL, O_PEK, O_OCA, O_CSR, O_OCA_KEY, O_OCA_CERT,
	O_OCA_OUT, O_VM, O_MNONCE, O_HELP, O_PRODUCT, O_KDS,
};

static const struct option opts[] = {
	{"backend", required_argument, NULL, O_BACKEND}, {"timeout", required_argument, NULL, O_TIMEOUT},
	{"json", no_argument, NULL, O_JSON},             {"out", required_argument, NULL, O_OUT},
	{"out-dir", required_argument, NULL, O_OUT_DIR}, {"full", no_argument, NULL, O_FULL},
	{"pek", required_argument, NULL, O_PEK},         {"oca", required_argument, NULL, O_OCA},
	{"csr", required_argument, NULL, O_CSR},         {"oca-key", required_argument, NULL, O_OCA_KEY},
	{"oca-cert", required_argument, NULL, O_OCA_CERT}, {"oca-out", required_argument, NULL, O_OCA_OUT},
	{"vm", required_argument, NULL, O_VM},           {"mnonce", required_argument, NULL, O_MNONCE},
	{"product", required_argument, NULL, O_PRODUCT}, CLI_KDS_OPTIONS(O_KDS),
	{"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0},
};

struct args {
	const char *sub;
	const char *backend, *out, *out_dir, *pek, *oca, *csr, *oca_key, *oca_cert, *oca_out, *mnonce;
	int timeout_ms;
	bool json, full, has_vm;
	uint32_t vm;
	sa_sev_product product;
	struct cli_kds kds;
	bool kds_given;
};

/* Which options each command takes (--backend, --timeout and --help: all but sign-pek's offline work). */
static bool allowed(const char *sub, int opt)
{
	bool offline = !strcmp(sub, "sign-pek");
	switch (opt) {
	case O_HELP: return true;
	case O_BACKEND:
	case O_TIMEOUT: return !offline;
	case O_JSON: return !strcmp(sub, "status") || !strcmp(sub, "get-id");
	case O_OUT: return !strcmp(sub, "pek-csr") || !strcmp(sub, "get-id") || !strcmp(sub, "report") || offline;
	case O_OUT_DIR:
	case O_FULL:
	case O_PRODUCT:
	case O_KDS: return !strcmp(sub, "export-certs");
	case O_PEK:
	case O_OCA: return !strcmp(sub, "pek-import");
	case O_CSR:
	case O_OCA_KEY:
	case O_OCA_CERT:
	case O_OCA_OUT: return offline;
	case O_VM:
	case O_MNONCE: return !strcmp(sub, "report");
	}
	return false;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->backend = "auto";
	a->timeout_ms = SA_EMU_CLIENT_TIMEOUT_MS;
	static const char *const subs[] = {"status",     "reset",        "pek-gen", "pdh-gen", "pek-csr",
					   "pek-import", "export-certs", "get-id",  "report",  "sign-pek"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[0], subs[i]))
			a->sub = subs[i];
	if (!a->sub)
		return cli_usage_error(V, "unknown command '%s'", argv[0]);
	cli_getopt_reset();
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?' || c == ':')
			return cli_usage_error(V, "%s: bad option", a->sub);
		if (!allowed(a->sub, c))
			return cli_usage_error(V, "%s does not take --%s", a->sub, cli_opt_name(opts, c));
		const char *o = optarg;
		switch (c) {
		case O_BACKEND: a->backend = o; break;
		case O_TIMEOUT: {
			uint32_t t;
			int rc = cli_parse_u32(V, "timeout", o, 3600000, &t);
			if (rc)
				return rc;
			a->timeout_ms = (int)t;
			break;
		}
		case O_JSON: a->json = true; break;
		case O_OUT: a->out = o; break;
		case O_OUT_DIR: a->out_dir = o; break;
		case O_FULL: a->full = true; break;
		case O_PEK: a->pek = o; break;
		case O_OCA: a->oca = o; break;
		case O_CSR: a->csr = o; break;
		case O_OCA_KEY: a->oca_key = o; break;
		case O_OCA_CERT: a->oca_cert = o; break;
		case O_OCA_OUT: a->oca_out = o; break;
		case O_VM: {
			int rc = cli_parse_u32(V, "vm", o, UINT32_MAX, &a->vm);
			if (rc)
				return rc;
			a->has_vm = true;
			break;
		}
		case O_MNONCE: a->mnonce = o; break;
		case O_PRODUCT: {
			sa_error e;
			if (sa_sev_product_parse(o, &a->product, &e) != SA_OK)
				return cli_usage_error(V, "--product: %s", e.msg);
			a->kds_given = true;
			break;
		}
		case O_KDS:
			(void)cli_kds_option(&a->kds, opts[idx].name, o);
			a->kds_given = true;
			break;
		case O_HELP: fputs(host_usage, stdout); return -1;
		}
	}
	if (optind < argc)
		return cli_usage_error(V, "%s: unexpected argument '%s'", a->sub, argv[optind]);
	const char *s = a->sub;
	if (!strcmp(s, "pek-csr") && !a->out)
		return cli_usage_error(V, "pek-csr: --out FILE is required");
	if (!strcmp(s, "pek-import") && (!a->pek || !a->oca))
		return cli_usage_error(V, "pek-import: --pek FILE and --oca FILE are required");
	if (!strcmp(s, "export-certs") && !a->out_dir)
		return cli_usage_error(V, "export-certs: --out-dir DIR is required");
	if (a->kds_given && !a->full)
		return cli_usage_error(V, "export-certs: --product and the KDS options go with --full");
	if (a->full && cli_kds_check(V, &a->kds))
		return CLI_EXIT_USAGE;
	if (a->full && a->kds.no_kds)
		return cli_usage_error(V, "export-certs --full: AMD's certificates come from KDS (the cache at least); "
					  "drop --no-kds");
	if (!strcmp(s, "report") && (!a->has_vm || !a->mnonce))
		return cli_usage_error(V, "report: --vm HANDLE and --mnonce B64 are required");
	if (!strcmp(s, "sign-pek")) {
		if (!a->csr || !a->oca_key || !a->out)
			return cli_usage_error(V, "sign-pek: --csr FILE, --oca-key PEM and --out FILE are required");
		if (!a->oca_cert == !a->oca_out)
			return cli_usage_error(V, "sign-pek: give either --oca-cert FILE (the OCA's certificate) or "
						  "--oca-out FILE (where the new self-signed one goes)");
	}
	if (!strcmp(s, "get-id") && a->json && a->out)
		return cli_usage_error(V, "get-id: --json and --out exclude each other");
	return 0;
}

/* The platform answered no (a firmware status): 1; anything else (no platform, I/O, bad data): 2. */
static int host_failed(const sa_error *err, uint32_t fw)
{
	fprintf(stderr, "sevattest %s: %s\n", V, err->msg);
	return fw != SA_SEV_HOST_NO_FW && fw != SA_FW_SUCCESS ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
}

static int write_out(const char *path, const void *data, size_t len)
{
	sa_error err;
	if (sa_write_file_atomic(path, data, len, 0644, &err) != SA_OK)
		return cli_input_error(V, &err);
	return CLI_EXIT_OK;
}

/* ---- status ---- */

static int print_status(const struct args *a, const sa_sev_platform_status *st)
{
	const char *owner = st->owner_external ? "external" : "self";
	if (a->json) {
		char ver[16];
		snprintf(ver, sizeof(ver), "%u.%u", st->api_major, st->api_minor);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "api_version", json_object_new_string(ver));
		json_object_object_add(o, "api_major", json_object_new_int(st->api_major));
		json_object_object_add(o, "api_minor", json_object_new_int(st->api_minor));
		json_object_object_add(o, "build", json_object_new_int(st->build));
		json_object_object_add(o, "state", json_object_new_string(sa_sev_state_name(st->state)));
		json_object_object_add(o, "owner", json_object_new_string(owner));
		json_object_object_add(o, "es", json_object_new_boolean(st->config_es));
		json_object_object_add(o, "flags", json_object_new_int64(st->flags));
		json_object_object_add(o, "guest_count", json_object_new_int64(st->guest_count));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return CLI_EXIT_OK;
	}
	printf("API version  %u.%u\n", st->api_major, st->api_minor);
	printf("build        %u\n", st->build);
	printf("state        %s\n", sa_sev_state_name(st->state));
	printf("owner        %s\n", owner);
	printf("SEV-ES       %s\n", st->config_es ? "enabled" : "disabled");
	printf("guests       %u\n", st->guest_count);
	return CLI_EXIT_OK;
}

/* ---- certificates from files ---- */

/* One SEV certificate file of the expected usage, re-encoded (binary or base64 in, 0x824 bytes out). */
static int read_cert(const char *opt, const char *path, uint32_t usage, sa_sev_cert *c,
		     uint8_t out[SA_SEV_CERT_SIZE])
{
	sa_error err;
	if (sa_sev_cert_read_file(path, c, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: --%s %s\n", V, opt, err.msg);
		return CLI_EXIT_USAGE;
	}
	if (c->pub_key_usage != usage) {
		fprintf(stderr, "sevattest %s: --%s %s: PUB_KEY_USAGE 0x%04x (%s), expected 0x%04x (%s)\n", V, opt, path,
			c->pub_key_usage, sa_sev_usage_name(c->pub_key_usage), usage, sa_sev_usage_name(usage));
		return CLI_EXIT_USAGE;
	}
	if (out && sa_sev_cert_encode(c, out, &err) != SA_OK)
		return cli_input_error(V, &err);
	return CLI_EXIT_OK;
}

/* ---- sign-pek (offline) ---- */

static int load_oca_key(const char *path, EVP_PKEY **key)
{
	sa_error err;
	uint8_t *pem = NULL;
	size_t len = 0;
	sa_status s = sa_read_file(path, KEY_FILE_MAX, &pem, &len, &err);
	if (s == SA_OK) {
		s = sa_p384_private_key_from_pem(pem, len, key, &err);
		OPENSSL_cleanse(pem, len);
	}
	free(pem);
	if (s != SA_OK) {
		fprintf(stderr, "sevattest %s: --oca-key %s: %s\n", V, path, err.msg);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* The OCA certificate: the given one (its key must be the OCA key's, self-signed) or a new self-signed one. */
static int oca_cert_for(const struct args *a, const sa_sev_cert *csr, EVP_PKEY *key, sa_sev_cert *oca)
{
	sa_error err;
	sa_sev_cert mine;
	if (sa_sev_cert_init(&mine, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, csr->api_major, csr->api_minor, key,
			     &err) != SA_OK)
		return cli_input_error(V, &err);
	if (!a->oca_cert) {
		if (sa_sev_cert_sign(&mine, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, key, &err) != SA_OK)
			return cli_input_error(V, &err);
		*oca = mine;
		return CLI_EXIT_OK;
	}
	int rc = read_cert("oca-cert", a->oca_cert, SA_SEV_USAGE_OCA, oca, NULL);
	if (rc)
		return rc;
	if (!sa_sev_cert_same_key(oca, &mine)) {
		fprintf(stderr, "sevattest %s: --oca-cert %s: its public key is not the key of --oca-key %s\n", V,
			a->oca_cert, a->oca_key);
		return CLI_EXIT_USAGE;
	}
	if (sa_sev_cert_verify(oca, oca, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: --oca-cert %s: not self-signed: %s\n", V, a->oca_cert, err.msg);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

static int do_sign_pek(const struct args *a)
{
	sa_error err;
	sa_sev_cert pek, oca;
	int rc = read_cert("csr", a->csr, SA_SEV_USAGE_PEK, &pek, NULL);
	if (rc)
		return rc;
	if (sa_sev_cert_sig_count(&pek) != 0) {
		fprintf(stderr, "sevattest %s: --csr %s: %u signature(s), a PEK_CSR has none\n", V, a->csr,
			sa_sev_cert_sig_count(&pek));
		return CLI_EXIT_USAGE;
	}
	EVP_PKEY *key = NULL;
	rc = load_oca_key(a->oca_key, &key);
	if (rc)
		return rc;
	rc = oca_cert_for(a, &pek, key, &oca);
	uint8_t pek_out[SA_SEV_CERT_SIZE], oca_out[SA_SEV_CERT_SIZE];
	if (!rc && (sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, key, &err) != SA_OK ||
		    sa_sev_cert_encode(&pek, pek_out, &err) != SA_OK || sa_sev_cert_encode(&oca, oca_out, &err) != SA_OK))
		rc = cli_input_error(V, &err);
	EVP_PKEY_free(key);
	if (!rc && a->oca_out)
		rc = write_out(a->oca_out, oca_out, sizeof(oca_out));
	if (!rc)
		rc = write_out(a->out, pek_out, sizeof(pek_out));
	if (!rc)
		fprintf(stderr, "signed PEK written to %s%s%s\n", a->out, a->oca_out ? "; new OCA certificate to " : "",
			a->oca_out ? a->oca_out : "");
	return rc;
}

/* ---- export-certs ---- */

static int write_in_dir(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cli_usage_error(V, "--out-dir %s: path too long", dir);
	return write_out(path, data, len);
}

/*
 * /dev/sev: the ASK-signed CEK from KDS by the chip's GET_ID (it must carry the key of the CEK
 * firmware exported, cek in and out), then AMD's ASK and ARK for the product whose ASK signs it.
 */
static int fetch_amd(const struct args *a, sa_sev_host *h, uint8_t cek[SA_SEV_CERT_SIZE], uint8_t *ark,
		     size_t *ark_len, uint8_t *ask, size_t *ask_len)
{
	sa_error err;
	uint32_t fw = SA_SEV_HOST_NO_FW;
	uint8_t *id = NULL;
	size_t id_len = 0;
	if (sa_sev_host_get_id(h, &id, &id_len, &fw, &err) != SA_OK)
		return host_failed(&err, fw);
	sa_kds *k = NULL;
	int rc = cli_kds_open(V, &a->kds, &k);
	sa_sev_cert *c = malloc(2 * sizeof(*c));
	sa_amd_cert *ca = malloc(2 * sizeof(*ca));
	sa_sev_product found = SA_SEV_PRODUCT_UNKNOWN;
	sa_status st = c && ca ? SA_OK : sa_error_set(&err, SA_ERR_NOMEM, "out of memory");
	if (rc == 0 && st == SA_OK)
		st = sa_sev_cert_decode(cek, SA_SEV_CERT_SIZE, &c[0], &err);
	if (rc == 0 && st == SA_OK)
		st = sa_kds_fetch_cek(k, id, id_len, &c[1], &err);
	if (rc == 0 && st == SA_OK && !sa_sev_cert_same_key(&c[0], &c[1]))
		st = sa_error_set(&err, SA_ERR_VERIFY,
				  "the CEK KDS serves for this GET_ID carries another key than the platform's CEK");
	if (rc == 0 && st == SA_OK)
		st = sa_kds_sev_ca_for_cek(k, &c[1], a->product, &ca[0], &ca[1], &found, &err);
	if (rc == 0 && st == SA_OK)
		st = sa_sev_cert_encode(&c[1], cek, &err);
	if (rc == 0 && st == SA_OK)
		st = sa_amd_cert_encode(&ca[0], ask, SA_AMD_CERT_MAX, ask_len, &err);
	if (rc == 0 && st == SA_OK)
		st = sa_amd_cert_encode(&ca[1], ark, SA_AMD_CERT_MAX, ark_len, &err);
	if (rc == 0 && st != SA_OK) {
		fprintf(stderr, "sevattest %s: export-certs --full: %s\n", V, err.msg);
		rc = CLI_EXIT_USAGE;
	}
	if (rc == 0)
		fprintf(stderr, "export-certs --full: the ASK-signed CEK from KDS, the ASK and ARK of %s\n",
			sa_sev_product_name(found));
	free(c);
	free(ca);
	free(id);
	sa_kds_free(k);
	return rc;
}

static int do_export(const struct args *a, sa_sev_host *h)
{
	sa_error err;
	uint32_t fw = SA_SEV_HOST_NO_FW;
	uint8_t pdh[SA_SEV_CERT_SIZE], chain[3 * SA_SEV_CERT_SIZE];
	uint8_t ark[SA_AMD_CERT_MAX], ask[SA_AMD_CERT_MAX], cek[SA_SEV_CERT_SIZE];
	size_t ark_len = 0, ask_len = 0;
	if (sa_sev_host_pdh_cert_export(h, pdh, chain, &fw, &err) != SA_OK)
		return host_failed(&err, fw);
	memcpy(cek, chain + 2 * SA_SEV_CERT_SIZE, SA_SEV_CERT_SIZE);
	if (a->full && sa_sev_host_get_kind(h) != SA_SEV_HOST_EMU) {
		int rc = fetch_amd(a, h, cek, ark, &ark_len, ask, &ask_len);
		if (rc)
			return rc;
	} else if (a->full && sa_emu_client_sev_export_amd(sa_sev_host_emu(h), ark, &ark_len, ask, &ask_len, cek,
							   &err) != SA_OK) {
		return host_failed(&err, SA_SEV_HOST_NO_FW);
	}
	if (mkdir(a->out_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "sevattest %s: --out-dir %s: %s\n", V, a->out_dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	int rc = write_in_dir(a->out_dir, "pdh.cert", pdh, SA_SEV_CERT_SIZE);
	if (!rc)
		rc = write_in_dir(a->out_dir, "pek.cert", chain, SA_SEV_CERT_SIZE);
	if (!rc)
		rc = write_in_dir(a->out_dir, "oca.cert", chain + SA_SEV_CERT_SIZE, SA_SEV_CERT_SIZE);
	if (!rc)
		rc = write_in_dir(a->out_dir, "cek.cert", cek, SA_SEV_CERT_SIZE);
	if (!rc && a->full)
		rc = write_in_dir(a->out_dir, "ask.cert", ask, ask_len);
	if (!rc && a->full)
		rc = write_in_dir(a->out_dir, "ark.cert", ark, ark_len);
	if (!rc)
		fprintf(stderr, "wrote pdh.cert pek.cert oca.cert cek.cert%s to %s\n",
			a->full ? " ask.cert ark.cert (cek.cert signed by the ASK)" : "", a->out_dir);
	return rc;
}

/* ---- get-id, report ---- */

static int do_get_id(const struct args *a, sa_sev_host *h)
{
	sa_error err;
	uint32_t fw = SA_SEV_HOST_NO_FW;
	uint8_t *id = NULL;
	size_t len = 0;
	if (sa_sev_host_get_id(h, &id, &len, &fw, &err) != SA_OK)
		return host_failed(&err, fw);
	int rc = CLI_EXIT_OK;
	char *hex = malloc(2 * len + 1);
	if (a->out) {
		rc = write_out(a->out, id, len);
	} else if (!hex) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		rc = CLI_EXIT_USAGE;
	} else if (a->json) {
		sa_hex_encode(id, len, hex);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(hex));
		json_object_object_add(o, "length", json_object_new_int64((int64_t)len));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		puts(sa_hex_encode(id, len, hex));
	}
	free(hex);
	free(id);
	return rc;
}

static int do_report(const struct args *a, sa_sev_host *h)
{
	sa_error err;
	sa_emu_client *c = sa_sev_host_emu(h);
	if (!c)
		return cli_usage_error(V, "report: only on the emulator (--backend emu:SOCKET); on real hardware ask "
					  "the VMM (sevattest host qmp report)");
	uint8_t *nonce = NULL;
	size_t n = 0;
	if (sa_base64_decode_alloc(a->mnonce, strlen(a->mnonce), 0, &nonce, &n, "--mnonce", &err) != SA_OK)
		return cli_usage_error(V, "report: %s", err.msg);
	if (n != SA_SEV_NONCE_SIZE) {
		free(nonce);
		return cli_usage_error(V, "report: --mnonce: %zu bytes, expected %d (base64 of 16 bytes)", n,
				       SA_SEV_NONCE_SIZE);
	}
	uint8_t report[SA_SEV_REPORT_SIZE];
	uint32_t fw = SA_EP_STATUS_DAEMON;
	sa_status s = sa_emu_client_sev_attestation(c, a->vm, nonce, report, &fw, &err);
	free(nonce);
	if (s != SA_OK)
		return host_failed(&err, fw == SA_EP_STATUS_DAEMON ? SA_SEV_HOST_NO_FW : fw);
	if (a->out)
		return write_out(a->out, report, sizeof(report));
	char *b64 = sa_base64_encode(report, sizeof(report));
	if (!b64) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	puts(b64);
	free(b64);
	return CLI_EXIT_OK;
}

/* ---- dispatch ---- */

static int run(const struct args *a)
{
	const char *s = a->sub;
	if (!strcmp(s, "sign-pek"))
		return do_sign_pek(a);
	/* Only status, get-id and export-certs work without write access (as the kernel rules). */
	bool writable = strcmp(s, "status") && strcmp(s, "get-id") && strcmp(s, "export-certs") && strcmp(s, "report");
	uint8_t pek[SA_SEV_CERT_SIZE], oca[SA_SEV_CERT_SIZE];
	if (!strcmp(s, "pek-import")) {
		/* Read and check the inputs before touching the platform. */
		sa_sev_cert c;
		int rc = read_cert("pek", a->pek, SA_SEV_USAGE_PEK, &c, pek);
		if (!rc)
			rc = read_cert("oca", a->oca, SA_SEV_USAGE_OCA, &c, oca);
		if (rc)
			return rc;
	}
	sa_sev_host *h = NULL;
	sa_error err;
	if (sa_sev_host_open(a->backend, writable, a->timeout_ms, &h, &err) != SA_OK)
		return cli_input_error(V, &err);
	int rc = CLI_EXIT_OK;
	uint32_t fw = SA_SEV_HOST_NO_FW;
	sa_status st = SA_OK;
	if (!strcmp(s, "status")) {
		sa_sev_platform_status ps;
		st = sa_sev_host_status(h, &ps, &fw, &err);
		if (st == SA_OK)
			rc = print_status(a, &ps);
	} else if (!strcmp(s, "reset")) {
		st = sa_sev_host_factory_reset(h, &fw, &err);
	} else if (!strcmp(s, "pek-gen")) {
		st = sa_sev_host_pek_gen(h, &fw, &err);
	} else if (!strcmp(s, "pdh-gen")) {
		st = sa_sev_host_pdh_gen(h, &fw, &err);
	} else if (!strcmp(s, "pek-csr")) {
		uint8_t csr[SA_SEV_CERT_SIZE];
		st = sa_sev_host_pek_csr(h, csr, &fw, &err);
		if (st == SA_OK)
			rc = write_out(a->out, csr, sizeof(csr));
	} else if (!strcmp(s, "pek-import")) {
		st = sa_sev_host_pek_cert_import(h, pek, oca, &fw, &err);
	} else if (!strcmp(s, "export-certs")) {
		rc = do_export(a, h);
	} else if (!strcmp(s, "get-id")) {
		rc = do_get_id(a, h);
	} else {
		rc = do_report(a, h);
	}
	sa_sev_host_close(h);
	if (st != SA_OK)
		return host_failed(&err, fw);
	return rc;
}

int cmd_host(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(host_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	/* `host [--backend B] COMMAND ...`: a leading --backend joins the command's own options. */
	const char *backend = NULL;
	int first = 1;
	if (!strcmp(argv[1], "--backend")) {
		if (argc < 3)
			return cli_usage_error(V, "--backend: expected auto, dev:PATH or emu:SOCKET");
		backend = argv[2];
		first = 3;
	} else if (!strncmp(argv[1], "--backend=", 10)) {
		backend = argv[1] + 10;
		first = 2;
	}
	if (first >= argc)
		return cli_usage_error(V, "expected a command after --backend %s", backend);
	if (!strcmp(argv[first], "qmp")) {
		if (backend)
			return cli_usage_error(V, "qmp talks to a VM's QMP socket (--socket PATH), not to --backend");
		return cmd_host_qmp(argc - first, argv + first);
	}
	struct args a;
	int rc = parse_args(argc - first, argv + first, &a);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (backend && strcmp(a.backend, "auto") == 0)
		a.backend = backend;
	return run(&a);
}
