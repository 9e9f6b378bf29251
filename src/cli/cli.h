/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the sevattest command-line verbs (not installed).
 *
 * Exit codes, the same for every verb:
 *   0  verified / success
 *   1  rejected: the evidence was read and judged, and it failed
 *   2  bad usage or unreadable input (the evidence could not be judged)
 */
#ifndef SEVATTEST_CLI_H
#define SEVATTEST_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "sevattest/encoding.h"
#include "sevattest/error.h"
#include "sevattest/report.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_REJECTED 1
#define CLI_EXIT_USAGE 2

/* Largest input file any verb reads (report, certificates), standard input included. */
#define CLI_MAX_INPUT (16u * 1024u * 1024u)

/* The options of cli_read_report, worded the same in every verb's --help. */
#define CLI_REPORT_INPUT_HELP                                                                                      \
	"  --format FORMAT        encoding of FILE: auto (default), binary, hex or base64\n"                         \
	"  --report-offset N      the report starts N bytes into the decoded input (decimal or 0x...),\n"           \
	"                         e.g. 32 for an Azure HCL report; needed when the input holds more\n"           \
	"                         than one report's 1184 bytes\n"

/* Verbs: each takes argv[0] = its own name and returns an exit code. */
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_emu(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_idblock(int argc, char **argv);

/*
 * Print "sevattest <verb>: <message>" and a hint to run `sevattest help <verb>`
 * to stderr; returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *verb, const char *fmt, ...) SA_PRINTF(2, 3);

/* Print "sevattest <verb>: <err->msg>" to stderr; returns CLI_EXIT_USAGE (unreadable input). */
int cli_input_error(const char *verb, const sa_error *err);

/* Read a whole file of at most CLI_MAX_INPUT bytes ("-" = standard input); free() *out. */
SA_MUST_USE sa_status cli_read_file(const char *path, uint8_t **out, size_t *out_len, sa_error *err);

/*
 * Read one SNP report from path ("-" = standard input): decode it per fmt
 * (SA_INPUT_AUTO takes exactly 1184 bytes as binary, else sniffs hex/base64),
 * then, with offset >= 0, take bytes [offset, offset + 1184) of the decoded
 * input; with offset < 0 the decoded input must be exactly one report.
 * Errors: SA_ERR_TRUNCATED (too short, or the offset runs past the end),
 * SA_ERR_TRAILING (more than one report and no offset), and those of reading
 * and decoding.  detected (may be NULL) receives the encoding found.
 */
SA_MUST_USE sa_status cli_read_report_ex(const char *path, sa_input_format fmt, int64_t offset,
					 uint8_t out[SA_SNP_REPORT_SIZE], sa_input_format *detected, sa_error *err);
SA_MUST_USE sa_status cli_read_report(const char *path, sa_input_format fmt, int64_t offset,
				      uint8_t out[SA_SNP_REPORT_SIZE], sa_error *err);

/* "auto", "binary", "hex", "base64" (also "bin", "b64"). */
SA_MUST_USE sa_status cli_parse_input_format(const char *text, sa_input_format *out, sa_error *err);

/* A byte offset: decimal or 0x-prefixed hex, 0 .. CLI_MAX_INPUT.  option names it in errors. */
SA_MUST_USE sa_status cli_parse_offset(const char *text, const char *option, int64_t *out, sa_error *err);

/* The long name of option value val in opts ("?" if none), for messages. */
struct option;
const char *cli_opt_name(const struct option *opts, int val);

/*
 * An unsigned number (decimal or 0x...) from 0 to max for option --opt of verb;
 * on error prints a usage error and returns CLI_EXIT_USAGE, else 0.
 */
int cli_parse_u32(const char *verb, const char *opt, const char *text, uint32_t max, uint32_t *out);

/* Reset getopt/getopt_long before a verb parses its options (verbs may run after one another). */
void cli_getopt_reset(void);

#endif
