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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/encoding.h"
#include "sevattest/error.h"
#include "sevattest/kds.h"
#include "sevattest/measure.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/verify.h"

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
int cmd_owner(int argc, char **argv);
int cmd_host(int argc, char **argv);
/* `sevattest host qmp ...` (cmd_qmp.c): argv[0] is "qmp". */
int cmd_host_qmp(int argc, char **argv);

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

/* A hexadecimal u64 (0x... or ...) for option --opt of verb; prints a usage error and returns CLI_EXIT_USAGE. */
int cli_parse_hex_u64(const char *verb, const char *opt, const char *text, uint64_t *out);

/*
 * 1 to cap bytes of hex (optionally 0x...) for option --opt of verb into out[cap], zero-padded on the right;
 * prints a usage error and returns CLI_EXIT_USAGE, else 0.
 */
int cli_parse_hex_padded(const char *verb, const char *opt, const char *text, uint8_t *out, size_t cap);

/*
 * The guest a launch measurement describes, as options: shared by `measure`
 * (which predicts the digest) and `emu vm launch --ovmf` (which launches it),
 * so both read the same inputs the same way.  Options (CLI_GUEST_HELP):
 * ovmf, vcpus, vcpu-type, vcpu-family, vcpu-model, vcpu-stepping, vcpu-sig,
 * vmm-type, guest-features, kernel, initrd, append.
 */
#define CLI_GUEST_MAX_FILE (2048u * 1024u * 1024u) /* largest OVMF, kernel or initrd read */
#define CLI_GUEST_MAX_VCPUS 1024u

struct cli_guest {
	const char *ovmf, *kernel, *initrd, *append, *vcpu_type;
	uint32_t vcpus, family, model, stepping, sig;
	bool have_fms[3], have_sig;
	sa_vmm_type vmm;
	uint64_t guest_features;
	/* mapped read-only (sa_map_file) by cli_guest_params, released by cli_guest_free */
	const uint8_t *ovmf_map, *kernel_map, *initrd_map;
	size_t ovmf_len, kernel_len, initrd_len;
};

#define CLI_GUEST_HELP                                                                                             \
	"  --vcpus N              number of vCPUs (default 1, at most 1024)\n"                                       \
	"  --vcpu-type NAME       EPYC, EPYC-v1..v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin, ...\n"          \
	"  --vcpu-family F --vcpu-model M --vcpu-stepping S\n"                                                       \
	"                         the vCPU signature by number instead of by name\n"                                \
	"  --vcpu-sig HEX         the vCPU signature (CPUID 1 EAX) itself\n"                                         \
	"  --vmm-type TYPE        qemu (default), ec2 or gce\n"                                                      \
	"  --guest-features HEX   SEV_FEATURES of the SNP VMSAs (default 0x1)\n"                                     \
	"  --kernel FILE          measured direct boot: the kernel (needs OVMF kernel-hashes support)\n"            \
	"  --initrd FILE          ... the initrd\n"                                                                  \
	"  --append TEXT          ... the kernel command line\n"

/* Defaults: 1 vCPU, VMM qemu, guest features 0x1. */
void cli_guest_init(struct cli_guest *g);
/* Take option --opt (its long name) with arg: 0 taken, CLI_EXIT_USAGE bad value, -1 not a guest option. */
int cli_guest_option(const char *verb, struct cli_guest *g, const char *opt, const char *arg);
/*
 * Check the options together (the vCPU given one way; with VMM qemu, given at all for the modes that build
 * VMSAs; --initrd and --append only with --kernel), map the files and fill p (mode already set).
 * 0 or CLI_EXIT_USAGE (message printed).
 */
int cli_guest_params(const char *verb, struct cli_guest *g, sa_measure_params *p);
void cli_guest_free(struct cli_guest *g);

/* Reset getopt/getopt_long before a verb parses its options (verbs may run after one another). */
void cli_getopt_reset(void);

/*
 * KDS options, shared by `verify` (SNP and --sev-report), `owner session` and `host export-certs
 * --full` (CLI_KDS_HELP): offline, no-kds, kds-url, amd-ca-url, cache-dir.
 */
struct cli_kds {
	const char *url, *sev_ca_url, *cache_dir;
	bool offline, no_kds;
};

#define CLI_KDS_HELP                                                                                               \
	"  --offline              use only the KDS cache, never the network\n"                                      \
	"  --no-kds               neither the KDS cache nor the network\n"                                           \
	"  --kds-url URL          KDS base URL (default " SA_KDS_DEFAULT_BASE_URL ")\n"                            \
	"  --amd-ca-url URL       SEV (legacy): where AMD's ask_ark_<product>.cert files are\n"                      \
	"                         (default " SA_KDS_DEFAULT_SEV_CA_URL ")\n"                                       \
	"  --cache-dir DIR        KDS cache (default $XDG_CACHE_HOME/sevattest/kds)\n"

#define CLI_KDS_OPTIONS(val)                                                                                       \
	{"offline", no_argument, NULL, (val)}, {"no-kds", no_argument, NULL, (val)},                               \
	{"kds-url", required_argument, NULL, (val)}, {"amd-ca-url", required_argument, NULL, (val)},              \
	{"cache-dir", required_argument, NULL, (val)}

/* Take option --opt (its long name) with arg: 0 taken, -1 not a KDS option. */
int cli_kds_option(struct cli_kds *k, const char *opt, const char *arg);
/* --offline with --no-kds: a usage error (printed; CLI_EXIT_USAGE), else 0. */
int cli_kds_check(const char *verb, const struct cli_kds *k);
/* The client the options ask for (*out NULL with --no-kds): 0, or CLI_EXIT_USAGE (message printed). */
int cli_kds_open(const char *verb, const struct cli_kds *k, sa_kds **out);

/*
 * SEV (legacy) certificates from files, shared by `verify --sev-report` and `owner session`
 * (cmd_owner.c).  Options (CLI_SEV_CERTS_HELP): pdh, pek, oca, cek (SEV certificates or bundles
 * such as PEK ‖ OCA ‖ CEK; each certificate is taken by its usage), ask, ark, amd-chain (AMD CA
 * certificates), certs DIR, trust-root ARKFILE, trusted-oca FILE; binary or base64; and what
 * cli_sev_certs_complete fetches by: product, id, and the KDS options.
 */
#define CLI_SEV_MAX_ROOTS 8
struct cli_sev_certs {
	sa_sev_cert pdh, pek, oca, cek, trusted_oca;
	bool have_pdh, have_pek, have_oca, have_cek, have_trusted_oca;
	sa_amd_cert ask, ark, roots[CLI_SEV_MAX_ROOTS];
	bool have_ask, have_ark;
	size_t n_roots;
	/* What cli_sev_certs_complete may fetch: --product, --id (GET_ID), the KDS options. */
	sa_sev_product product;
	uint8_t id[2 * SA_KDS_SEV_ID_SIZE];
	size_t id_len;
	struct cli_kds kds;
};

#define CLI_SEV_CERTS_HELP                                                                                         \
	"  --pdh FILE, --pek FILE, --oca FILE, --cek FILE\n"                                                        \
	"                         the platform's SEV certificates (binary or base64; a file may be a bundle\n"     \
	"                         such as PEK ‖ OCA ‖ CEK from PDH_CERT_EXPORT: each is taken by its usage)\n"     \
	"  --ask FILE, --ark FILE AMD's ASK and ARK (AMD CA format)\n"                                              \
	"  --amd-chain FILE       ASK ‖ ARK in one file (AMD's ask_ark_<product>.cert)\n"                          \
	"  --certs DIR            pdh.cert pek.cert oca.cert cek.cert ask.cert ark.cert from DIR (those present)\n" \
	"  --trust-root FILE      trust this ARK (e.g. an emulator's) instead of AMD's pinned ARKs\n"              \
	"  --trusted-oca FILE     the platform owner's OCA: the chain's OCA must carry its key\n"                    \
	"  --product NAME         Naples, Rome, Milan, Genoa or Turin: whose ASK and ARK to fetch when no\n"       \
	"                         --ask/--ark/--trust-root is given (default: the product whose ASK signs\n"      \
	"                         the CEK)\n"                                                                        \
	"  --id HEX               the chip's GET_ID (sevattest host get-id): fetch the ASK-signed CEK from\n"     \
	"                         KDS when the CEK given is unsigned (as PDH_CERT_EXPORT gives it)\n" CLI_KDS_HELP

/* The getopt_long entries of those options, all with value val (the handler passes the long name on). */
#define CLI_SEV_CERT_OPTIONS(val)                                                                                  \
	{"pdh", required_argument, NULL, (val)}, {"pek", required_argument, NULL, (val)},                          \
	{"oca", required_argument, NULL, (val)}, {"cek", required_argument, NULL, (val)},                          \
	{"ask", required_argument, NULL, (val)}, {"ark", required_argument, NULL, (val)},                          \
	{"amd-chain", required_argument, NULL, (val)}, {"certs", required_argument, NULL, (val)},                  \
	{"trust-root", required_argument, NULL, (val)}, {"trusted-oca", required_argument, NULL, (val)},          \
	{"product", required_argument, NULL, (val)}, {"id", required_argument, NULL, (val)},                      \
	CLI_KDS_OPTIONS(val)

void cli_sev_certs_init(struct cli_sev_certs *c);
/* Take option --opt (its long name) with path: 0 taken, CLI_EXIT_USAGE (message printed), -1 not a certificate option. */
int cli_sev_certs_option(const char *verb, struct cli_sev_certs *c, const char *opt, const char *path);
/*
 * Fill in from KDS (cache first) what the files left out, unless a --trust-root is named (the
 * emulator's chain never comes from AMD) or --no-kds: the ASK-signed CEK for --id when the CEK is
 * unsigned, and the ASK and ARK (for --product, else the product whose ASK signs the CEK).  A fetch
 * that fails is reported on stderr and leaves the gap for the chain check to name.  0, or
 * CLI_EXIT_USAGE (bad options; printed).
 */
int cli_sev_certs_complete(const char *verb, struct cli_sev_certs *c);
/* The chain and trust the certificates make (pointers into c). */
void cli_sev_certs_chain(const struct cli_sev_certs *c, sa_sev_chain *chain, sa_sev_trust *trust);

/* Print a verdict's checks, one line each (shared by every verify flavour). */
void cli_print_checks(const sa_verdict *v);

#endif
