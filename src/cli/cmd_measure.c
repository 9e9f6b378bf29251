/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest measure: the expected launch measurement of an OVMF guest (SNP
 * MEASUREMENT, or the SEV / SEV-ES launch digest).  Thin over sa_measure;
 * the work here is printing (the inputs: struct cli_guest, shared with
 * `emu vm launch --ovmf`, which maps them read-only).
 *
 * Exit: 0 printed; 1 the inputs were read but cannot be measured as asked
 * (e.g. a kernel given for an OVMF without kernel-hashes support, vector N8);
 * 2 bad usage, or an unreadable or malformed file.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/sevattest.h"

#include "cli.h"

static const char *const V = "measure";

static void usage(FILE *f)
{
	fputs("usage: sevattest measure --mode MODE --ovmf FILE [options]\n"
	      "\n"
	      "Compute the expected launch measurement of a guest booted with OVMF, as sev-snp-measure does.\n"
	      "Exit: 0 printed, 1 these inputs cannot be measured as asked (e.g. a kernel for an OVMF without\n"
	      "kernel-hashes support), 2 bad usage or an unreadable or malformed file.\n"
	      "\n"
	      "  --mode MODE            snp (48-byte SNP MEASUREMENT), snp:ovmf-hash (the digest of the OVMF\n"
	      "                         pages alone, for --snp-ovmf-hash), seves or sev (32-byte SHA-256)\n"
	      "  --ovmf FILE            the OVMF image (OVMF.fd), mapped to end at 4 GiB\n"
	      CLI_GUEST_HELP
	      "  --snp-ovmf-hash HEX    start from this snp:ovmf-hash value instead of hashing OVMF's pages\n"
	      "  --output-format FMT    hex (default) or base64\n"
	      "  --json                 print JSON with the intermediate values\n"
	      "  --verbose              print every page folded into the SNP digest to standard error\n"
	      "                         (index, page type, GPA, contents SHA-384, digest after)\n"
	      "\n"
	      "EC2 follows sev-snp-measure 0.0.13 (VMSA RDX 0x600); virtee/sev differs (RDX 0).\n",
	      f);
}

enum {
	O_MODE = 256,
	O_OVMF,
	O_VCPUS,
	O_VCPU_TYPE,
	O_FAMILY,
	O_MODEL,
	O_STEPPING,
	O_SIG,
	O_VMM,
	O_FEATURES,
	O_KERNEL,
	O_INITRD,
	O_APPEND,
	O_OVMF_HASH,
	O_OUTFMT,
	O_JSON,
	O_VERBOSE,
};

static const struct option opts[] = {
	{"mode", required_argument, NULL, O_MODE},
	{"ovmf", required_argument, NULL, O_OVMF},
	{"vcpus", required_argument, NULL, O_VCPUS},
	{"vcpu-type", required_argument, NULL, O_VCPU_TYPE},
	{"vcpu-family", required_argument, NULL, O_FAMILY},
	{"vcpu-model", required_argument, NULL, O_MODEL},
	{"vcpu-stepping", required_argument, NULL, O_STEPPING},
	{"vcpu-sig", required_argument, NULL, O_SIG},
	{"vmm-type", required_argument, NULL, O_VMM},
	{"guest-features", required_argument, NULL, O_FEATURES},
	{"kernel", required_argument, NULL, O_KERNEL},
	{"initrd", required_argument, NULL, O_INITRD},
	{"append", required_argument, NULL, O_APPEND},
	{"snp-ovmf-hash", required_argument, NULL, O_OVMF_HASH},
	{"output-format", required_argument, NULL, O_OUTFMT},
	{"json", no_argument, NULL, O_JSON},
	{"verbose", no_argument, NULL, O_VERBOSE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void trace_page(void *ctx, size_t index, uint8_t page_type, uint64_t gpa, const uint8_t contents[48],
		       const uint8_t ld_after[48])
{
	FILE *f = ctx;
	char c[97], ld[97];
	fprintf(f, "%zu %u 0x%" PRIx64 " %s %s\n", index, page_type, gpa, sa_hex_encode(contents, 48, c),
		sa_hex_encode(ld_after, 48, ld));
}

static void print_json_hex(const char *key, const uint8_t *b, size_t n, bool comma)
{
	char hex[2 * SA_SEV_HASHES_TABLE_SIZE + 1];
	printf("  \"%s\": \"%s\"%s\n", key, sa_hex_encode(b, n, hex), comma ? "," : "");
}

static int run(int argc, char **argv, struct cli_guest *g)
{
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	const char *mode = NULL, *outfmt = "hex";
	bool json = false, verbose = false;
	uint8_t seed[48];
	sa_error e;
	int c, rc;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *o = optarg;
		switch (c) {
		case O_MODE: mode = o; break;
		case O_OVMF_HASH:
			if (sa_hex_decode_exact(o, strlen(o), seed, sizeof(seed), "--snp-ovmf-hash", &e) != SA_OK)
				return cli_usage_error(V, "%s", e.msg);
			p.ovmf_hash = seed;
			break;
		case O_OUTFMT: outfmt = o; break;
		case O_JSON: json = true; break;
		case O_VERBOSE: verbose = true; break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		default:
			/* --ovmf, the vCPU, VMM and direct-boot options: shared with `emu vm launch` */
			rc = c >= O_OVMF && c <= O_APPEND ? cli_guest_option(V, g, cli_opt_name(opts, c), o) : -1;
			if (rc < 0)
				return cli_usage_error(V, "unknown option");
			if (rc)
				return rc;
		}
	}
	if (optind < argc)
		return cli_usage_error(V, "unexpected argument '%s'", argv[optind]);
	if (!mode)
		return cli_usage_error(V, "--mode is required (snp, snp:ovmf-hash, seves or sev)");
	if (sa_measure_mode_parse(mode, &p.mode, &e) != SA_OK)
		return cli_usage_error(V, "--mode: %s", e.msg);
	if (!g->ovmf)
		return cli_usage_error(V, "--ovmf is required");
	if (strcmp(outfmt, "hex") != 0 && strcmp(outfmt, "base64") != 0)
		return cli_usage_error(V, "--output-format '%s': expected hex or base64", outfmt);
	if (p.ovmf_hash && p.mode != SA_MEASURE_SNP)
		return cli_usage_error(V, "--snp-ovmf-hash applies to --mode snp only");
	if ((rc = cli_guest_params(V, g, &p)) != 0)
		return rc;
	if (verbose) {
		p.trace = trace_page;
		p.trace_ctx = stderr;
	}
	sa_measure_result r;
	if (sa_measure(&p, &r, &e) != SA_OK) {
		fprintf(stderr, "sevattest %s: %s\n", V, e.msg);
		return e.code == SA_ERR_UNSUPPORTED ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
	}
	char *b64 = NULL;
	char hex[97];
	const char *text;
	if (strcmp(outfmt, "base64") == 0) {
		b64 = sa_base64_encode(r.digest, r.digest_len);
		if (!b64) {
			fprintf(stderr, "sevattest %s: out of memory\n", V);
			return CLI_EXIT_USAGE;
		}
		text = b64;
	} else {
		text = sa_hex_encode(r.digest, r.digest_len, hex);
	}
	if (!json) {
		puts(text);
		free(b64);
		return CLI_EXIT_OK;
	}
	printf("{\n  \"mode\": \"%s\",\n  \"measurement\": \"%s\",\n", sa_measure_mode_name(p.mode), text);
	free(b64);
	if (p.mode == SA_MEASURE_SNP || p.mode == SA_MEASURE_SEVES)
		printf("  \"vcpus\": %u,\n  \"vcpu_sig\": \"0x%" PRIx32 "\",\n  \"vmm_type\": \"%s\",\n", p.vcpus,
		       p.vcpu_sig, sa_vmm_type_name(p.vmm));
	if (p.mode == SA_MEASURE_SNP)
		printf("  \"guest_features\": \"0x%" PRIx64 "\",\n  \"pages\": %zu,\n", p.guest_features, r.pages);
	if (r.has_ovmf_hash && p.mode == SA_MEASURE_SNP)
		print_json_hex("ovmf_hash", r.ovmf_hash, 48, true);
	if (r.has_bsp_vmsa)
		print_json_hex("bsp_vmsa_sha384", r.bsp_vmsa_sha384, 48, true);
	if (r.has_ap_vmsa)
		print_json_hex("ap_vmsa_sha384", r.ap_vmsa_sha384, 48, true);
	if (r.has_hashes_table)
		print_json_hex("hashes_table", r.hashes_table, sizeof(r.hashes_table), true);
	printf("  \"digest_bytes\": %zu\n}\n", r.digest_len);
	return CLI_EXIT_OK;
}

int cmd_measure(int argc, char **argv)
{
	struct cli_guest g;
	cli_guest_init(&g);
	int rc = run(argc, argv, &g);
	cli_guest_free(&g);
	return rc;
}
