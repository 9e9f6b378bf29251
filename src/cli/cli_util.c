/* SPDX-License-Identifier: Apache-2.0 */
/* Shared command-line helpers: exit codes, error printing, reading reports in any encoding. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sevattest/encoding.h"
#include "sevattest/error.h"

#include "cli.h"

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sevattest %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'sevattest help %s' for usage.\n", verb);
	return CLI_EXIT_USAGE;
}

int cli_input_error(const char *verb, const sa_error *err)
{
	fprintf(stderr, "sevattest %s: %s\n", verb, err && err->msg[0] ? err->msg : "failed (no detail)");
	return CLI_EXIT_USAGE;
}


sa_status cli_read_file(const char *path, uint8_t **out, size_t *out_len, sa_error *err)
{
	if (!path || !*path)
		return sa_error_set(err, SA_ERR_ARG, "no input file given");
	if (strcmp(path, "-") == 0)
		return sa_read_fd(STDIN_FILENO, "standard input", CLI_MAX_INPUT, out, out_len, err);
	return sa_read_file(path, CLI_MAX_INPUT, out, out_len, err);
}

static const char *display_name(const char *path) { return strcmp(path, "-") == 0 ? "standard input" : path; }

sa_status cli_read_report_ex(const char *path, sa_input_format fmt, int64_t offset, uint8_t out[SA_SNP_REPORT_SIZE],
			     sa_input_format *detected, sa_error *err)
{
	uint8_t *raw = NULL, *dec = NULL;
	size_t raw_len = 0, dec_len = 0;
	sa_input_format found = SA_INPUT_BINARY;
	sa_status s = cli_read_file(path, &raw, &raw_len, err);
	if (s != SA_OK)
		return s;
	s = sa_decode_input(raw, raw_len, fmt, SA_SNP_REPORT_SIZE, &dec, &dec_len, &found, err);
	free(raw);
	if (s != SA_OK)
		return sa_error_wrap(err, s, "%s", display_name(path));
	if (detected)
		*detected = found;

	const char *name = display_name(path);
	char how[48] = "";
	if (found != SA_INPUT_BINARY)
		snprintf(how, sizeof(how), " (after %s decoding)", sa_input_format_name(found));
	size_t start = 0;
	if (offset < 0) {
		if (dec_len < SA_SNP_REPORT_SIZE)
			s = sa_error_set(err, SA_ERR_TRUNCATED,
					 "%s holds %zu bytes%s, an SNP attestation report is %d (0x%X) bytes: "
					 "truncated",
					 name, dec_len, how, SA_SNP_REPORT_SIZE, SA_SNP_REPORT_SIZE);
		else if (dec_len > SA_SNP_REPORT_SIZE)
			s = sa_error_set(err, SA_ERR_TRAILING,
					 "%s holds %zu bytes%s, more than one report (%d); pass --report-offset to say "
					 "where the report starts",
					 name, dec_len, how, SA_SNP_REPORT_SIZE);
	} else if ((uint64_t)offset > dec_len) {
		s = sa_error_set(err, SA_ERR_TRUNCATED, "--report-offset %lld is past the end of %s (%zu bytes%s)",
				 (long long)offset, name, dec_len, how);
	} else if (dec_len - (size_t)offset < SA_SNP_REPORT_SIZE) {
		s = sa_error_set(err, SA_ERR_TRUNCATED,
				 "--report-offset %lld: %s holds %zu bytes%s, so only %zu remain there, an SNP "
				 "attestation report needs %d (0x%X)",
				 (long long)offset, name, dec_len, how, dec_len - (size_t)offset, SA_SNP_REPORT_SIZE,
				 SA_SNP_REPORT_SIZE);
	} else {
		start = (size_t)offset;
	}
	if (s == SA_OK)
		memcpy(out, dec + start, SA_SNP_REPORT_SIZE);
	free(dec);
	return s;
}

sa_status cli_read_report(const char *path, sa_input_format fmt, int64_t offset, uint8_t out[SA_SNP_REPORT_SIZE],
			  sa_error *err)
{
	return cli_read_report_ex(path, fmt, offset, out, NULL, err);
}

sa_status cli_parse_input_format(const char *text, sa_input_format *out, sa_error *err)
{
	static const struct {
		const char *name;
		sa_input_format fmt;
	} names[] = {
		{"auto", SA_INPUT_AUTO}, {"binary", SA_INPUT_BINARY}, {"bin", SA_INPUT_BINARY},
		{"hex", SA_INPUT_HEX},   {"base64", SA_INPUT_BASE64}, {"b64", SA_INPUT_BASE64},
	};
	for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(text, names[i].name) == 0) {
			*out = names[i].fmt;
			return SA_OK;
		}
	}
	return sa_error_set(err, SA_ERR_ARG, "--format '%s': expected auto, binary, hex or base64",
			    text ? text : "");
}

sa_status cli_parse_offset(const char *text, const char *option, int64_t *out, sa_error *err)
{
	if (!text || !*text)
		return sa_error_set(err, SA_ERR_ARG, "%s: expected a byte offset (decimal or 0x...)", option);
	int base = 10;
	const char *digits = text;
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		digits = text + 2;
	}
	/* strtoull accepts signs and leading blanks; an offset is digits only. */
	for (const char *p = digits; *p; p++) {
		int ok = base == 16 ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
				    : (*p >= '0' && *p <= '9');
		if (!ok)
			return sa_error_set(err, SA_ERR_ARG, "%s '%s': expected a byte offset (decimal or 0x...)",
					    option, text);
	}
	if (!*digits)
		return sa_error_set(err, SA_ERR_ARG, "%s '%s': expected a byte offset (decimal or 0x...)", option,
				    text);
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, base);
	if (errno != 0 || v > CLI_MAX_INPUT)
		return sa_error_set(err, SA_ERR_RANGE, "%s '%s': offset must be at most %u (the input size limit)",
				    option, text, CLI_MAX_INPUT);
	*out = (int64_t)v;
	return SA_OK;
}

int cli_kds_option(struct cli_kds *k, const char *opt, const char *arg)
{
	if (!strcmp(opt, "offline"))
		k->offline = true;
	else if (!strcmp(opt, "no-kds"))
		k->no_kds = true;
	else if (!strcmp(opt, "kds-url"))
		k->url = arg;
	else if (!strcmp(opt, "amd-ca-url"))
		k->sev_ca_url = arg;
	else if (!strcmp(opt, "cache-dir"))
		k->cache_dir = arg;
	else
		return -1;
	return 0;
}

int cli_kds_check(const char *verb, const struct cli_kds *k)
{
	if (k->offline && k->no_kds)
		return cli_usage_error(verb, "--offline and --no-kds exclude each other");
	return 0;
}

int cli_kds_open(const char *verb, const struct cli_kds *k, sa_kds **out)
{
	*out = NULL;
	int rc = cli_kds_check(verb, k);
	if (rc || k->no_kds)
		return rc;
	sa_kds_opts o = {.base_url = k->url, .sev_ca_url = k->sev_ca_url, .cache_dir = k->cache_dir,
			 .offline = k->offline};
	sa_error e;
	if (sa_kds_new(&o, out, &e) != SA_OK)
		return cli_input_error(verb, &e);
	return 0;
}

void cli_getopt_reset(void)
{
	/* glibc re-initialises completely when optind is 0. */
	optind = 0;
	opterr = 1;
}

const char *cli_opt_name(const struct option *opts, int val)
{
	for (const struct option *o = opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

int cli_parse_u32(const char *verb, const char *opt, const char *text, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || end == text || *end || text[0] == '-' || v > max)
		return cli_usage_error(verb, "--%s '%s': expected a number from 0 to %" PRIu32, opt, text, max);
	*out = (uint32_t)v;
	return 0;
}

int cli_parse_hex_u64(const char *verb, const char *opt, const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 16);
	if (errno || end == text || *end || text[0] == '-')
		return cli_usage_error(verb, "--%s '%s': expected a hexadecimal number (0x... or ...)", opt, text);
	*out = v;
	return 0;
}

int cli_parse_hex_padded(const char *verb, const char *opt, const char *text, uint8_t *out, size_t cap)
{
	const char *o = text;
	size_t n = strlen(o);
	if (n > 2 && o[0] == '0' && (o[1] == 'x' || o[1] == 'X')) {
		o += 2;
		n -= 2;
	}
	if (n == 0 || n > 2 * cap || n % 2)
		return cli_usage_error(verb, "--%s '%s': expected 1 to %zu bytes of hex", opt, text, cap);
	uint8_t buf[256];
	sa_error e;
	if (cap > sizeof(buf))
		return cli_usage_error(verb, "--%s: at most %zu bytes", opt, sizeof(buf));
	char name[64];
	snprintf(name, sizeof(name), "--%s", opt);
	if (sa_hex_decode_exact(o, n, buf, n / 2, name, &e) != SA_OK)
		return cli_usage_error(verb, "%s", e.msg);
	memset(out, 0, cap);
	memcpy(out, buf, n / 2);
	return 0;
}

void cli_guest_init(struct cli_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->vcpus = 1;
	g->vmm = SA_VMM_QEMU;
	g->guest_features = SA_DEFAULT_GUEST_FEATURES;
}

int cli_guest_option(const char *verb, struct cli_guest *g, const char *opt, const char *arg)
{
	sa_error e;
	if (!strcmp(opt, "ovmf"))
		g->ovmf = arg;
	else if (!strcmp(opt, "kernel"))
		g->kernel = arg;
	else if (!strcmp(opt, "initrd"))
		g->initrd = arg;
	else if (!strcmp(opt, "append"))
		g->append = arg;
	else if (!strcmp(opt, "vcpu-type"))
		g->vcpu_type = arg;
	else if (!strcmp(opt, "vcpus"))
		return cli_parse_u32(verb, opt, arg, CLI_GUEST_MAX_VCPUS, &g->vcpus);
	else if (!strcmp(opt, "vcpu-family")) {
		g->have_fms[0] = true;
		return cli_parse_u32(verb, opt, arg, 0x10E, &g->family);
	}
	else if (!strcmp(opt, "vcpu-model")) {
		g->have_fms[1] = true;
		return cli_parse_u32(verb, opt, arg, 0xFF, &g->model);
	}
	else if (!strcmp(opt, "vcpu-stepping")) {
		g->have_fms[2] = true;
		return cli_parse_u32(verb, opt, arg, 0xF, &g->stepping);
	}
	else if (!strcmp(opt, "guest-features"))
		return cli_parse_hex_u64(verb, opt, arg, &g->guest_features);
	else if (!strcmp(opt, "vmm-type")) {
		if (sa_vmm_type_parse(arg, &g->vmm, &e) != SA_OK)
			return cli_usage_error(verb, "--vmm-type: %s", e.msg);
	} else if (!strcmp(opt, "vcpu-sig")) {
		uint64_t v = 0;
		int rc = cli_parse_hex_u64(verb, opt, arg, &v);
		if (rc)
			return rc;
		if (v > UINT32_MAX)
			return cli_usage_error(verb, "--vcpu-sig '%s': expected at most 32 bits", arg);
		g->sig = (uint32_t)v;
		g->have_sig = true;
	} else
		return -1;
	return 0;
}

static int map_input(const char *verb, const char *what, const char *path, const uint8_t **buf, size_t *len)
{
	sa_error e;
	if (sa_map_file(path, CLI_GUEST_MAX_FILE, buf, len, &e) != SA_OK) {
		fprintf(stderr, "sevattest %s: %s %s: %s\n", verb, what, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int cli_guest_params(const char *verb, struct cli_guest *g, sa_measure_params *p)
{
	sa_error e;
	if (!g->ovmf)
		return cli_usage_error(verb, "--ovmf is required");
	bool any_fms = g->have_fms[0] || g->have_fms[1] || g->have_fms[2];
	if (any_fms && !(g->have_fms[0] && g->have_fms[1] && g->have_fms[2]))
		return cli_usage_error(verb, "--vcpu-family, --vcpu-model and --vcpu-stepping go together");
	if ((g->vcpu_type != NULL) + any_fms + g->have_sig > 1)
		return cli_usage_error(verb, "give the vCPU as one of --vcpu-type, --vcpu-family/model/stepping "
					     "or --vcpu-sig");
	bool needs_vcpu = (p->mode == SA_MEASURE_SNP || p->mode == SA_MEASURE_SEVES) && g->vmm == SA_VMM_QEMU;
	if (needs_vcpu && !g->vcpu_type && !any_fms && !g->have_sig)
		return cli_usage_error(verb, "mode %s with VMM qemu needs the vCPU: --vcpu-type, "
					     "--vcpu-family/model/stepping or --vcpu-sig",
				       sa_measure_mode_name(p->mode));
	if (g->vcpu_type && sa_vcpu_sig_by_name(g->vcpu_type, &g->sig, &e) != SA_OK)
		return cli_usage_error(verb, "--vcpu-type: %s", e.msg);
	if (any_fms && sa_vcpu_sig(g->family, g->model, g->stepping, &g->sig, &e) != SA_OK)
		return cli_usage_error(verb, "%s", e.msg);
	if (g->vcpus < 1)
		return cli_usage_error(verb, "--vcpus must be at least 1");
	if ((g->initrd || g->append) && !g->kernel)
		return cli_usage_error(verb, "--initrd and --append are measured only with --kernel");
	p->vcpu_sig = g->sig;
	p->vcpus = g->vcpus;
	p->vmm = g->vmm;
	p->guest_features = g->guest_features;
	p->cmdline = g->append;
	int rc;
	if ((rc = map_input(verb, "--ovmf", g->ovmf, &g->ovmf_map, &g->ovmf_len)) != 0)
		return rc;
	p->ovmf = g->ovmf_map;
	p->ovmf_len = g->ovmf_len;
	if (g->kernel) {
		if ((rc = map_input(verb, "--kernel", g->kernel, &g->kernel_map, &g->kernel_len)) != 0)
			return rc;
		p->kernel = g->kernel_map;
		p->kernel_len = g->kernel_len;
		p->has_kernel = true;
	}
	if (g->initrd) {
		if ((rc = map_input(verb, "--initrd", g->initrd, &g->initrd_map, &g->initrd_len)) != 0)
			return rc;
		p->initrd = g->initrd_map;
		p->initrd_len = g->initrd_len;
	}
	return 0;
}

void cli_guest_free(struct cli_guest *g)
{
	sa_unmap_file(g->ovmf_map, g->ovmf_len);
	sa_unmap_file(g->kernel_map, g->kernel_len);
	sa_unmap_file(g->initrd_map, g->initrd_len);
	g->ovmf_map = g->kernel_map = g->initrd_map = NULL;
	g->ovmf_len = g->kernel_len = g->initrd_len = 0;
}
