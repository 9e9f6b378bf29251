/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest measure: the expected launch measurement of an OVMF guest (SNP
 * MEASUREMENT, or the SEV / SEV-ES launch digest).  Thin over sa_measure;
 * the work here is reading files and printing.
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

/* Largest OVMF image, kernel or initrd read (OVMF must also fit below 4 GiB). */
#define MEASURE_MAX_FILE (2048u * 1024u * 1024u)

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
	      "  --vcpus N              number of vCPUs (snp, seves; default 1)\n"
	      "  --vcpu-type NAME       EPYC, EPYC-v1..v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin, ...\n"
	      "  --vcpu-family F --vcpu-model M --vcpu-stepping S\n"
	      "                         the vCPU signature by number instead of by name\n"
	      "  --vcpu-sig HEX         the vCPU signature (CPUID 1 EAX) itself\n"
	      "  --vmm-type TYPE        qemu (default), ec2 or gce\n"
	      "  --guest-features HEX   SEV_FEATURES of the SNP VMSAs (default 0x1)\n"
	      "  --kernel FILE          measured direct boot: the kernel (needs OVMF kernel-hashes support)\n"
	      "  --initrd FILE          ... the initrd\n"
	      "  --append TEXT          ... the kernel command line\n"
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

static int parse_hex_u64(const char *opt, const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 16);
	if (errno || end == text || *end || text[0] == '-')
		return cli_usage_error(V, "--%s '%s': expected a hexadecimal number (0x... or ...)", opt, text);
	*out = v;
	return 0;
}

typedef struct files {
	uint8_t *ovmf, *kernel, *initrd;
} files;

static int read_input(const char *what, const char *path, uint8_t **buf, size_t *len)
{
	sa_error e;
	if (sa_read_file(path, MEASURE_MAX_FILE, buf, len, &e) != SA_OK) {
		fprintf(stderr, "sevattest %s: %s %s: %s\n", V, what, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static void print_json_hex(const char *key, const uint8_t *b, size_t n, bool comma)
{
	char hex[2 * SA_SEV_HASHES_TABLE_SIZE + 1];
	printf("  \"%s\": \"%s\"%s\n", key, sa_hex_encode(b, n, hex), comma ? "," : "");
}

static int run(int argc, char **argv, files *fl)
{
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	p.vcpus = 1;
	p.vmm = SA_VMM_QEMU;
	p.guest_features = SA_DEFAULT_GUEST_FEATURES;
	const char *mode = NULL, *ovmf = NULL, *type = NULL, *kernel = NULL, *initrd = NULL, *outfmt = "hex";
	uint32_t family = 0, model = 0, stepping = 0, vcpus = 1, sig = 0;
	bool have_fms[3] = {false, false, false}, have_sig = false, json = false, verbose = false;
	uint8_t seed[48];
	sa_error e;
	int c, rc;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *o = optarg;
		rc = 0;
		switch (c) {
		case O_MODE: mode = o; break;
		case O_OVMF: ovmf = o; break;
		case O_VCPUS: rc = cli_parse_u32(V, "vcpus", o, 1024, &vcpus); break;
		case O_VCPU_TYPE: type = o; break;
		case O_FAMILY:
			rc = cli_parse_u32(V, "vcpu-family", o, 0x10E, &family);
			have_fms[0] = true;
			break;
		case O_MODEL:
			rc = cli_parse_u32(V, "vcpu-model", o, 0xFF, &model);
			have_fms[1] = true;
			break;
		case O_STEPPING:
			rc = cli_parse_u32(V, "vcpu-stepping", o, 0xF, &stepping);
			have_fms[2] = true;
			break;
		case O_SIG: {
			uint64_t v = 0;
			rc = parse_hex_u64("vcpu-sig", o, &v);
			if (!rc && v > UINT32_MAX)
				rc = cli_usage_error(V, "--vcpu-sig '%s': expected at most 32 bits", o);
			sig = (uint32_t)v;
			have_sig = true;
			break;
		}
		case O_VMM:
			if (sa_vmm_type_parse(o, &p.vmm, &e) != SA_OK)
				return cli_usage_error(V, "--vmm-type: %s", e.msg);
			break;
		case O_FEATURES: rc = parse_hex_u64("guest-features", o, &p.guest_features); break;
		case O_KERNEL: kernel = o; break;
		case O_INITRD: initrd = o; break;
		case O_APPEND: p.cmdline = o; break;
		case O_OVMF_HASH:
			if (sa_hex_decode_exact(o, strlen(o), seed, sizeof(seed), "--snp-ovmf-hash", &e) != SA_OK)
				return cli_usage_error(V, "%s", e.msg);
			p.ovmf_hash = seed;
			break;
		case O_OUTFMT: outfmt = o; break;
		case O_JSON: json = true; break;
		case O_VERBOSE: verbose = true; break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		default: return cli_usage_error(V, "unknown option");
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(V, "unexpected argument '%s'", argv[optind]);
	if (!mode)
		return cli_usage_error(V, "--mode is required (snp, snp:ovmf-hash, seves or sev)");
	if (sa_measure_mode_parse(mode, &p.mode, &e) != SA_OK)
		return cli_usage_error(V, "--mode: %s", e.msg);
	if (!ovmf)
		return cli_usage_error(V, "--ovmf is required");
	if (strcmp(outfmt, "hex") != 0 && strcmp(outfmt, "base64") != 0)
		return cli_usage_error(V, "--output-format '%s': expected hex or base64", outfmt);
	bool any_fms = have_fms[0] || have_fms[1] || have_fms[2];
	if (any_fms && !(have_fms[0] && have_fms[1] && have_fms[2]))
		return cli_usage_error(V, "--vcpu-family, --vcpu-model and --vcpu-stepping go together");
	if ((type != NULL) + any_fms + have_sig > 1)
		return cli_usage_error(V, "give the vCPU as one of --vcpu-type, --vcpu-family/model/stepping or --vcpu-sig");
	bool needs_vcpu = (p.mode == SA_MEASURE_SNP || p.mode == SA_MEASURE_SEVES) && p.vmm == SA_VMM_QEMU;
	if (needs_vcpu && !type && !any_fms && !have_sig)
		return cli_usage_error(V, "mode %s with VMM qemu needs the vCPU: --vcpu-type, --vcpu-family/model/stepping "
					  "or --vcpu-sig",
				       mode);
	if (type && sa_vcpu_sig_by_name(type, &sig, &e) != SA_OK)
		return cli_usage_error(V, "--vcpu-type: %s", e.msg);
	if (any_fms && sa_vcpu_sig(family, model, stepping, &sig, &e) != SA_OK)
		return cli_usage_error(V, "%s", e.msg);
	p.vcpu_sig = sig;
	if (vcpus < 1)
		return cli_usage_error(V, "--vcpus must be at least 1");
	p.vcpus = vcpus;
	if ((initrd || p.cmdline) && !kernel)
		return cli_usage_error(V, "--initrd and --append are measured only with --kernel");
	if (p.ovmf_hash && p.mode != SA_MEASURE_SNP)
		return cli_usage_error(V, "--snp-ovmf-hash applies to --mode snp only");

	size_t len;
	if ((rc = read_input("--ovmf", ovmf, &fl->ovmf, &len)) != 0)
		return rc;
	p.ovmf = fl->ovmf;
	p.ovmf_len = len;
	if (kernel) {
		if ((rc = read_input("--kernel", kernel, &fl->kernel, &p.kernel_len)) != 0)
			return rc;
		p.kernel = fl->kernel;
		p.has_kernel = true;
	}
	if (initrd) {
		if ((rc = read_input("--initrd", initrd, &fl->initrd, &p.initrd_len)) != 0)
			return rc;
		p.initrd = fl->initrd;
	}
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
	files fl = {NULL, NULL, NULL};
	int rc = run(argc, argv, &fl);
	free(fl.ovmf);
	free(fl.kernel);
	free(fl.initrd);
	return rc;
}
