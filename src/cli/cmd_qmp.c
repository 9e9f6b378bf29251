/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest host qmp: QEMU's SEV attestation commands over its QMP socket
 * (qmp.h), for real QEMU or an emulated VM's ".qmp" socket.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "sevattest/encoding.h"
#include "sevattest/qmp.h"

#include "cli.h"

static const char *const V = "host qmp";

static const char qmp_usage[] =
	"Usage: sevattest host qmp --socket PATH [--timeout MS] [--json] COMMAND [options]\n"
	"\n"
	"Ask QEMU (or an emulated VM's .qmp socket) over QMP for SEV attestation evidence.\n"
	"\n"
	"Commands:\n"
	"  report --mnonce B64 [--out FILE]\n"
	"                 query-sev-attestation-report: the SEV report (208 bytes) for the 16-byte mnonce;\n"
	"                 written to FILE (binary) or printed in base64\n"
	"  generic-report [--mnonce B64] [--out FILE]\n"
	"                 query-attestation-report (sevattest's emulator): prints the answer as JSON;\n"
	"                 --out writes the SEV report it carries (binary)\n"
	"  sev-info       query-sev: the guest's SEV state\n"
	"  capabilities [--out-dir DIR]\n"
	"                 query-sev-capabilities; DIR receives pdh.cert, cert-chain.cert and cpu0-id.bin\n"
	"  launch-measure query-sev-launch-measure: the LAUNCH_MEASURE blob (MEASURE and MNONCE)\n"
	"  inject-secret --header FILE --secret FILE [--gpa N]\n"
	"                 sev-inject-launch-secret: the packet header (0x34 bytes) and the encrypted secret\n"
	"  cont           start the VM (an SEV guest then gets LAUNCH_FINISH)\n"
	"  raw JSON       any command: JSON is {\"execute\": NAME, \"arguments\": {...}}; prints the return\n"
	"\n"
	"Options:\n"
	"  --socket PATH  the QMP unix socket (QEMU's -qmp unix:PATH,server=on,wait=off)\n"
	"  --timeout MS   how long to wait for each answer (default 10000)\n"
	"  --json         print JSON\n"
	"\n"
	"Exit status: 0 success; 1 QEMU answered with an error (printed as \"qmp: CLASS: desc\");\n"
	"2 bad usage, or the connection or protocol failed.\n";

enum { O_SOCKET = 256, O_TIMEOUT, O_JSON, O_MNONCE, O_OUT, O_OUT_DIR, O_HEADER, O_SECRET, O_GPA, O_HELP };

static const struct option opts[] = {
	{"socket", required_argument, NULL, O_SOCKET},   {"timeout", required_argument, NULL, O_TIMEOUT},
	{"json", no_argument, NULL, O_JSON},             {"mnonce", required_argument, NULL, O_MNONCE},
	{"out", required_argument, NULL, O_OUT},         {"out-dir", required_argument, NULL, O_OUT_DIR},
	{"header", required_argument, NULL, O_HEADER},   {"secret", required_argument, NULL, O_SECRET},
	{"gpa", required_argument, NULL, O_GPA},         {"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *sub, *raw, *socket, *mnonce, *out, *out_dir, *header, *secret;
	uint32_t timeout;
	uint64_t gpa;
	bool has_gpa, json;
	uint8_t mnonce_bytes[16]; /* --mnonce, decoded before connecting */
};

static bool allowed(const char *sub, int opt)
{
	switch (opt) {
	case O_MNONCE: return !strcmp(sub, "report") || !strcmp(sub, "generic-report");
	case O_OUT: return !strcmp(sub, "report") || !strcmp(sub, "generic-report");
	case O_OUT_DIR: return !strcmp(sub, "capabilities");
	case O_HEADER:
	case O_SECRET:
	case O_GPA: return !strcmp(sub, "inject-secret");
	default: return true;
	}
}

static int parse_mnonce(const char *text, uint8_t mnonce[16])
{
	uint8_t *buf = NULL;
	size_t len = 0;
	sa_error e;
	if (sa_base64_decode_alloc(text, strlen(text), 0, &buf, &len, "--mnonce", &e) != SA_OK)
		return cli_usage_error(V, "%s", e.msg);
	if (len != 16) {
		free(buf);
		return cli_usage_error(V, "--mnonce: expected 16 bytes (base64), got %zu", len);
	}
	memcpy(mnonce, buf, 16);
	free(buf);
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->timeout = 10000;
	int seen[O_HELP + 1] = {0};
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?')
			return CLI_EXIT_USAGE;
		seen[c] = 1;
		switch (c) {
		case O_HELP: fputs(qmp_usage, stdout); return -1;
		case O_SOCKET: a->socket = optarg; break;
		case O_TIMEOUT:
			if (cli_parse_u32(V, "timeout", optarg, 3600000, &a->timeout))
				return CLI_EXIT_USAGE;
			if (a->timeout == 0)
				return cli_usage_error(V, "--timeout: expected 1..3600000 ms, got 0");
			break;
		case O_JSON: a->json = true; break;
		case O_MNONCE: a->mnonce = optarg; break;
		case O_OUT: a->out = optarg; break;
		case O_OUT_DIR: a->out_dir = optarg; break;
		case O_HEADER: a->header = optarg; break;
		case O_SECRET: a->secret = optarg; break;
		case O_GPA: {
			char *end = NULL;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (optarg[0] == '-' || errno || end == optarg || *end)
				return cli_usage_error(V, "--gpa: expected an address (decimal or 0x...), got '%s'",
						       optarg);
			a->gpa = v;
			a->has_gpa = true;
			break;
		}
		default: return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(qmp_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	static const char *const subs[] = {"report",         "generic-report", "sev-info", "capabilities",
					   "launch-measure", "inject-secret",  "cont",     "raw"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[optind], subs[i]))
			a->sub = subs[i];
	if (a->sub == NULL)
		return cli_usage_error(V,
				       "unknown command '%s' (expected report, generic-report, sev-info, "
				       "capabilities, launch-measure, inject-secret, cont or raw)",
				       argv[optind]);
	int want_pos = !strcmp(a->sub, "raw") ? 2 : 1;
	if (argc - optind != want_pos)
		return cli_usage_error(V, "%s: %s", a->sub,
				       want_pos == 2 ? "expected one JSON argument" : "unexpected extra argument");
	if (want_pos == 2)
		a->raw = argv[optind + 1];
	for (int o = O_SOCKET; o < O_HELP; o++)
		if (seen[o] && !allowed(a->sub, o))
			return cli_usage_error(V, "--%s does not apply to %s", cli_opt_name(opts, o), a->sub);
	if (a->socket == NULL)
		return cli_usage_error(V, "--socket PATH is required");
	if (!strcmp(a->sub, "report") && a->mnonce == NULL)
		return cli_usage_error(V, "report: --mnonce B64 is required (16 bytes, base64)");
	if (a->mnonce != NULL && parse_mnonce(a->mnonce, a->mnonce_bytes))
		return CLI_EXIT_USAGE;
	if (!strcmp(a->sub, "inject-secret") && (a->header == NULL || a->secret == NULL))
		return cli_usage_error(V, "inject-secret: --header FILE and --secret FILE are required");
	return 0;
}

/* QEMU's answer (exit 1) or a failure to talk to it (exit 2). */
static int qmp_failed(sa_status st, const sa_error *e)
{
	if (st == SA_ERR_STATE) {
		fprintf(stderr, "qmp: %s\n", e->msg);
		return CLI_EXIT_REJECTED;
	}
	fprintf(stderr, "sevattest %s: %s\n", V, e->msg);
	return CLI_EXIT_USAGE;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int write_out(const char *path, const uint8_t *data, size_t len)
{
	sa_error e;
	if (sa_write_file_atomic(path, data, len, 0644, &e) != SA_OK)
		return cli_input_error(V, &e);
	return 0;
}

static int print_b64(const char *label, const uint8_t *data, size_t len, bool json)
{
	char *b64 = sa_base64_encode(data, len);
	if (b64 == NULL) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	if (json)
		printf("{\"%s\": \"%s\"}\n", label, b64);
	else
		printf("%s\n", b64);
	free(b64);
	return 0;
}

static int do_report(sa_qmp *q, const struct args *a)
{
	uint8_t *rep = NULL;
	size_t len = 0;
	sa_error e;
	sa_status st = sa_qmp_query_sev_attestation_report(q, a->mnonce_bytes, &rep, &len, NULL, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	int rc = a->out ? write_out(a->out, rep, len) : print_b64("data", rep, len, a->json);
	if (rc == 0 && a->out && a->json)
		printf("{\"out\": \"%s\", \"length\": %zu}\n", a->out, len);
	free(rep);
	return rc;
}

static int do_generic(sa_qmp *q, const struct args *a)
{
	sa_error e;
	json_object *ret = NULL;
	sa_status st = sa_qmp_query_attestation_report(q, a->mnonce ? a->mnonce_bytes : NULL, &ret, NULL, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	int rc = 0;
	if (a->out != NULL) {
		uint8_t *rep = NULL;
		size_t len = 0;
		st = sa_qmp_attestation_sev_data(ret, &rep, &len, &e);
		if (st == SA_OK) {
			rc = write_out(a->out, rep, len);
			free(rep);
		} else {
			rc = qmp_failed(st, &e);
		}
	}
	if (rc == 0)
		print_json(ret);
	json_object_put(ret);
	return rc;
}

static int do_sev_info(sa_qmp *q, const struct args *a)
{
	sa_qmp_sev_info si;
	sa_error e;
	if (a->json) {
		json_object *ret = NULL;
		sa_status st = sa_qmp_execute(q, "query-sev", NULL, &ret, NULL, &e);
		if (st != SA_OK)
			return qmp_failed(st, &e);
		print_json(ret);
		json_object_put(ret);
		return 0;
	}
	sa_status st = sa_qmp_query_sev(q, &si, NULL, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	printf("enabled: %s\n", si.enabled ? "true" : "false");
	printf("type: %s\n", si.sev_type);
	printf("state: %s\n", si.state);
	printf("api: %u.%u (build %u)\n", si.api_major, si.api_minor, si.build_id);
	if (!strcmp(si.sev_type, "sev-snp")) {
		printf("snp-policy: 0x%" PRIx64 "\n", si.snp_policy);
	} else {
		printf("policy: 0x%" PRIx32 "\n", si.policy);
		printf("handle: %" PRIu32 "\n", si.handle);
	}
	return 0;
}

static int do_caps(sa_qmp *q, const struct args *a)
{
	sa_qmp_sev_caps c;
	sa_error e;
	sa_status st = sa_qmp_query_sev_capabilities(q, &c, NULL, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	int rc = 0;
	if (a->out_dir != NULL) {
		if (mkdir(a->out_dir, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "sevattest %s: --out-dir %s: %s\n", V, a->out_dir, strerror(errno));
			sa_qmp_sev_caps_free(&c);
			return CLI_EXIT_USAGE;
		}
		const struct {
			const char *name;
			const uint8_t *data;
			size_t len;
		} files[] = {{"pdh.cert", c.pdh, c.pdh_len},
			     {"cert-chain.cert", c.cert_chain, c.cert_chain_len},
			     {"cpu0-id.bin", c.cpu0_id, c.cpu0_id_len}};
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && rc == 0; i++) {
			if (files[i].data == NULL)
				continue;
			char path[PATH_MAX];
			if (snprintf(path, sizeof(path), "%s/%s", a->out_dir, files[i].name) >= (int)sizeof(path)) {
				rc = cli_usage_error(V, "--out-dir: path too long");
				break;
			}
			rc = write_out(path, files[i].data, files[i].len);
		}
	}
	if (rc == 0) {
		char *id = c.cpu0_id ? sa_base64_encode(c.cpu0_id, c.cpu0_id_len) : NULL;
		if (a->json)
			printf("{\"pdh-length\": %zu, \"cert-chain-length\": %zu, \"cpu0-id\": \"%s\", "
			       "\"cbitpos\": %u, \"reduced-phys-bits\": %u}\n",
			       c.pdh_len, c.cert_chain_len, id ? id : "", c.cbitpos, c.reduced_phys_bits);
		else
			printf("pdh: %zu bytes\ncert-chain: %zu bytes\ncpu0-id: %s\ncbitpos: %u\nreduced-phys-bits: %u\n",
			       c.pdh_len, c.cert_chain_len, id ? id : "(not given)", c.cbitpos, c.reduced_phys_bits);
		free(id);
	}
	sa_qmp_sev_caps_free(&c);
	return rc;
}

static int do_measure(sa_qmp *q, const struct args *a)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	sa_error e;
	sa_status st = sa_qmp_query_sev_launch_measure(q, &blob, &len, NULL, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	int rc = 0;
	if (len != 48) {
		fprintf(stderr, "sevattest %s: LAUNCH_MEASURE blob: expected 48 bytes, got %zu\n", V, len);
		rc = CLI_EXIT_USAGE;
	} else {
		char m[65], n[33];
		sa_hex_encode(blob, 32, m);
		sa_hex_encode(blob + 32, 16, n);
		if (a->json)
			printf("{\"measure\": \"%s\", \"mnonce\": \"%s\"}\n", m, n);
		else
			printf("measure: %s\nmnonce: %s\n", m, n);
	}
	free(blob);
	return rc;
}

static int do_inject(sa_qmp *q, const struct args *a)
{
	uint8_t *hdr = NULL, *sec = NULL;
	size_t hdr_len = 0, sec_len = 0;
	sa_error e;
	if (cli_read_file(a->header, &hdr, &hdr_len, &e) != SA_OK)
		return cli_input_error(V, &e);
	if (cli_read_file(a->secret, &sec, &sec_len, &e) != SA_OK) {
		free(hdr);
		return cli_input_error(V, &e);
	}
	sa_status st = sa_qmp_sev_inject_launch_secret(q, hdr, hdr_len, sec, sec_len, a->has_gpa, a->gpa, NULL, &e);
	free(hdr);
	free(sec);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	if (!a->json)
		puts("secret injected");
	else
		puts("{}");
	return 0;
}

static int do_raw(sa_qmp *q, const struct args *a)
{
	/* The user's JSON goes through the same bounded reader as the peer's. */
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 0, 0);
	json_object *req = NULL;
	sa_error e;
	sa_status st = sa_qmp_reader_next(&r, (const uint8_t *)a->raw, strlen(a->raw), &req, &e);
	size_t rest = sa_qmp_reader_pending(&r);
	sa_qmp_reader_free(&r);
	if (st != SA_OK || req == NULL || rest != 0) {
		json_object_put(req);
		return cli_usage_error(V, "raw: expected one JSON object%s%s", st != SA_OK ? ": " : "",
				       st != SA_OK ? e.msg : "");
	}
	json_object *exec = NULL, *args = NULL;
	int rc = 0;
	if (!json_object_object_get_ex(req, "execute", &exec) || !json_object_is_type(exec, json_type_string))
		rc = cli_usage_error(V, "raw: the object needs \"execute\": NAME");
	else if (json_object_object_get_ex(req, "arguments", &args) && !json_object_is_type(args, json_type_object))
		rc = cli_usage_error(V, "raw: \"arguments\" must be an object");
	if (rc == 0) {
		json_object *ret = NULL;
		st = sa_qmp_execute(q, json_object_get_string(exec), args, &ret, NULL, &e);
		if (st != SA_OK)
			rc = qmp_failed(st, &e);
		else
			print_json(ret);
		json_object_put(ret);
	}
	json_object_put(req);
	return rc;
}

int cmd_host_qmp(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	sa_qmp *q = NULL;
	sa_error e;
	sa_status st = sa_qmp_connect(a.socket, (int)a.timeout, &q, &e);
	if (st != SA_OK)
		return qmp_failed(st, &e);
	if (!strcmp(a.sub, "report"))
		rc = do_report(q, &a);
	else if (!strcmp(a.sub, "generic-report"))
		rc = do_generic(q, &a);
	else if (!strcmp(a.sub, "sev-info"))
		rc = do_sev_info(q, &a);
	else if (!strcmp(a.sub, "capabilities"))
		rc = do_caps(q, &a);
	else if (!strcmp(a.sub, "launch-measure"))
		rc = do_measure(q, &a);
	else if (!strcmp(a.sub, "inject-secret"))
		rc = do_inject(q, &a);
	else if (!strcmp(a.sub, "raw"))
		rc = do_raw(q, &a);
	else {
		json_object *ret = NULL;
		st = sa_qmp_execute(q, "cont", NULL, &ret, NULL, &e);
		rc = st == SA_OK ? 0 : qmp_failed(st, &e);
		json_object_put(ret);
		if (rc == 0 && !a.json)
			puts("the VM runs");
		else if (rc == 0)
			puts("{}");
	}
	sa_qmp_close(q);
	return rc;
}
