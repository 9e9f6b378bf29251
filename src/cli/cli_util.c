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
