/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest verify: verify an SEV-SNP attestation report and appraise it
 * against the relying party's demands.  Thin over sa_verify_snp_report; the
 * only work done here is turning options into an sa_snp_appraisal, gathering
 * certificates (files, a directory, the KDS cache or KDS itself) and printing
 * the verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sevattest/sevattest.h"

#include "cli.h"

static const char *const V = "verify";

static void usage(FILE *f)
{
	fputs("usage: sevattest verify --report FILE [options]\n"
	      "\n"
	      "Verify an SEV-SNP attestation report: the certificate chain from AMD's root (pinned)\n"
	      "through the ASK or ASVK to the VCEK or VLEK, the report's signature, the binding of\n"
	      "REPORTED_TCB and CHIP_ID to the certificate, and whatever the options below demand.\n"
	      "Prints one line per check. Exit: 0 verified, 1 rejected, 2 bad usage or unreadable input.\n"
	      "\n"
	      "Evidence and trust:\n"
	      "  --report FILE          the report (binary, hex or base64; \"-\" for standard input)\n" CLI_REPORT_INPUT_HELP
	      "  --vcek FILE            the VCEK or VLEK (DER or PEM; a PEM bundle may also carry the chain)\n"
	      "  --chain FILE           ASK (or ASVK) and ARK, PEM, as KDS's cert_chain returns them\n"
	      "  --certs DIR            a directory of certificates (*.pem, *.crt, *.cer, *.der)\n"
	      "  --product NAME         Milan, Genoa or Turin (needed for version 2 reports without a VEK)\n"
	      "  --trust-root FILE      trust these self-signed roots instead of AMD's pinned ARKs\n"
	      CLI_KDS_HELP
	      "  --check-crl            fetch the product's CRL and refuse a revoked ASK/ASVK\n"
	      "  --at TIME              check validity at TIME (YYYY-MM-DD[THH:MM:SSZ] or @unix-seconds)\n"
	      "  --no-validity          do not check certificate validity periods\n"
	      "  --json                 print the verdict as JSON\n"
	      "\n"
	      "Appraisal (each is checked only when given):\n"
	      "  --report-data HEX      REPORT_DATA, 64 bytes\n"
	      "  --host-data HEX        HOST_DATA, 32 bytes\n"
	      "  --measurement HEX      an accepted MEASUREMENT, 48 bytes (repeatable)\n"
	      "  --family-id HEX, --image-id HEX     16 bytes each\n"
	      "  --chip-id HEX          CHIP_ID, 64 bytes\n"
	      "  --report-id HEX        REPORT_ID, 32 bytes\n"
	      "  --id-key-digest HEX    an accepted ID key digest, 48 bytes (repeatable)\n"
	      "  --author-key-digest HEX  an accepted author key digest, 48 bytes (repeatable)\n"
	      "  --require-id-block     the guest must have been launched with an ID block\n"
	      "  --require-author-key   the ID block must be signed by an author key\n"
	      "  --min-tcb TCB          minimum for CURRENT, REPORTED and COMMITTED TCB\n"
	      "  --min-current-tcb TCB, --min-reported-tcb TCB, --min-committed-tcb TCB, --min-launch-tcb TCB\n"
	      "                         TCB is bl=N,tee=N,snp=N,ucode=N[,fmc=N] or a raw u64\n"
	      "  --min-guest-svn N      --min-build N      --min-version MAJOR.MINOR\n"
	      "  --deny-provisional     the committed firmware and TCB must equal the current ones\n"
	      "  --min-report-version N\n"
	      "  --vmpl N               the report must come from VMPL N;  --max-vmpl N: from VMPL 0..N\n"
	      "  --policy-deny LIST     guest policy bits that must be clear, e.g. debug,migrate-ma,smt\n"
	      "  --policy-require LIST  guest policy bits that must be set\n"
	      "  --min-abi MAJOR.MINOR  minimum ABI the guest policy demands\n"
	      "  --platform-deny LIST, --platform-require LIST   PLATFORM_INFO bits, e.g. smt-en,tsme-en\n"
	      "  --min-launch-mit HEX, --min-current-mit HEX       mitigation vector bits (version 5)\n"
	      "  --stepping N           the product stepping required\n"
	      "  --signer vcek|vlek|any the signing key type allowed (default any)\n"
	      "  --strict-reserved      reject non-zero reserved bytes even in newer report versions\n",
	      f);
}

static void usage_sev(FILE *f);

enum {
	O_REPORT = 256, O_FORMAT, O_OFFSET, O_VCEK, O_CHAIN, O_CERTS, O_PRODUCT, O_TRUST_ROOT, O_KDS,
	O_CHECK_CRL, O_AT, O_NO_VALIDITY, O_JSON, O_REPORT_DATA, O_HOST_DATA,
	O_MEASUREMENT, O_FAMILY_ID, O_IMAGE_ID, O_CHIP_ID, O_REPORT_ID, O_ID_KEY, O_AUTHOR_KEY, O_REQ_ID_BLOCK,
	O_REQ_AUTHOR, O_MIN_TCB, O_MIN_CUR, O_MIN_REP, O_MIN_COM, O_MIN_LAUNCH, O_MIN_SVN, O_MIN_BUILD,
	O_MIN_VERSION, O_DENY_PROV, O_MIN_RV, O_VMPL, O_MAX_VMPL, O_POL_DENY, O_POL_REQ, O_MIN_ABI, O_PLAT_DENY,
	O_PLAT_REQ, O_MIN_LMIT, O_MIN_CMIT, O_STEPPING, O_SIGNER, O_STRICT, O_HELP,
};

static const struct option opts[] = {
	{"report", required_argument, NULL, O_REPORT},
	{"format", required_argument, NULL, O_FORMAT},
	{"report-offset", required_argument, NULL, O_OFFSET},
	{"vcek", required_argument, NULL, O_VCEK},
	{"chain", required_argument, NULL, O_CHAIN},
	{"certs", required_argument, NULL, O_CERTS},
	{"product", required_argument, NULL, O_PRODUCT},
	{"trust-root", required_argument, NULL, O_TRUST_ROOT},
	CLI_KDS_OPTIONS(O_KDS),
	{"check-crl", no_argument, NULL, O_CHECK_CRL},
	{"at", required_argument, NULL, O_AT},
	{"no-validity", no_argument, NULL, O_NO_VALIDITY},
	{"json", no_argument, NULL, O_JSON},
	{"report-data", required_argument, NULL, O_REPORT_DATA},
	{"host-data", required_argument, NULL, O_HOST_DATA},
	{"measurement", required_argument, NULL, O_MEASUREMENT},
	{"family-id", required_argument, NULL, O_FAMILY_ID},
	{"image-id", required_argument, NULL, O_IMAGE_ID},
	{"chip-id", required_argument, NULL, O_CHIP_ID},
	{"report-id", required_argument, NULL, O_REPORT_ID},
	{"id-key-digest", required_argument, NULL, O_ID_KEY},
	{"author-key-digest", required_argument, NULL, O_AUTHOR_KEY},
	{"require-id-block", no_argument, NULL, O_REQ_ID_BLOCK},
	{"require-author-key", no_argument, NULL, O_REQ_AUTHOR},
	{"min-tcb", required_argument, NULL, O_MIN_TCB},
	{"min-current-tcb", required_argument, NULL, O_MIN_CUR},
	{"min-reported-tcb", required_argument, NULL, O_MIN_REP},
	{"min-committed-tcb", required_argument, NULL, O_MIN_COM},
	{"min-launch-tcb", required_argument, NULL, O_MIN_LAUNCH},
	{"min-guest-svn", required_argument, NULL, O_MIN_SVN},
	{"min-build", required_argument, NULL, O_MIN_BUILD},
	{"min-version", required_argument, NULL, O_MIN_VERSION},
	{"deny-provisional", no_argument, NULL, O_DENY_PROV},
	{"min-report-version", required_argument, NULL, O_MIN_RV},
	{"vmpl", required_argument, NULL, O_VMPL},
	{"max-vmpl", required_argument, NULL, O_MAX_VMPL},
	{"policy-deny", required_argument, NULL, O_POL_DENY},
	{"policy-require", required_argument, NULL, O_POL_REQ},
	{"min-abi", required_argument, NULL, O_MIN_ABI},
	{"platform-deny", required_argument, NULL, O_PLAT_DENY},
	{"platform-require", required_argument, NULL, O_PLAT_REQ},
	{"min-launch-mit", required_argument, NULL, O_MIN_LMIT},
	{"min-current-mit", required_argument, NULL, O_MIN_CMIT},
	{"stepping", required_argument, NULL, O_STEPPING},
	{"signer", required_argument, NULL, O_SIGNER},
	{"strict-reserved", no_argument, NULL, O_STRICT},
	{"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

#define MAX_LIST 16

/* Everything the options ask for, parsed before any work is done. */
struct args {
	const char *report, *vcek, *chain, *certs, *trust_root;
	struct cli_kds kds;
	sa_input_format format;
	int64_t offset;
	bool check_crl, json;
	time_t at;
	sa_snp_appraisal a;
	uint8_t report_data[64], host_data[32], family_id[16], image_id[16], chip_id[64], report_id[32];
	uint8_t measurements[MAX_LIST][48], id_keys[MAX_LIST][48], author_keys[MAX_LIST][48];
	/* TCB minimums are parsed once the product (and so the layout) is known. */
	const char *min_tcb, *min_cur, *min_rep, *min_com, *min_launch;
};

static int parse_hex(const char *opt, const char *text, uint8_t *out, size_t n)
{
	sa_error e;
	char field[64];
	snprintf(field, sizeof(field), "--%s", opt);
	if (sa_hex_decode_exact(text, strlen(text), out, n, field, &e) != SA_OK)
		return cli_usage_error(V, "%s", e.msg);
	return 0;
}

static int parse_pair(const char *opt, const char *text, uint8_t *maj, uint8_t *min)
{
	unsigned a, b;
	char extra;
	if (sscanf(text, "%u.%u%c", &a, &b, &extra) != 2 || a > 255 || b > 255)
		return cli_usage_error(V, "--%s '%s': expected MAJOR.MINOR, each 0..255", opt, text);
	*maj = (uint8_t)a;
	*min = (uint8_t)b;
	return 0;
}

static int parse_bits(const char *opt, const char *text, bool policy, uint64_t *out)
{
	size_t n;
	const sa_bit_name *t = policy ? sa_policy_bits(&n) : sa_platform_info_bits(&n);
	sa_error e;
	char field[64];
	snprintf(field, sizeof(field), "--%s", opt);
	if (sa_bits_parse(t, n, text, out, field, &e) != SA_OK)
		return cli_usage_error(V, "%s", e.msg);
	return 0;
}

static int parse_time(const char *text, time_t *out)
{
	if (text[0] == '@') {
		char *end;
		errno = 0;
		long long v = strtoll(text + 1, &end, 10);
		if (errno || end == text + 1 || *end || v < 0)
			return cli_usage_error(V, "--at '%s': expected @unix-seconds", text);
		*out = (time_t)v;
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	char extra;
	int n = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		       &tm.tm_min, &tm.tm_sec, &extra);
	if (!(n == 6 || (n == 3 && strlen(text) == 10)) || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return cli_usage_error(V, "--at '%s': expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @unix-seconds",
				       text);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

static int add_digest(const char *opt, const char *text, uint8_t (*list)[48], size_t *n)
{
	if (*n == MAX_LIST)
		return cli_usage_error(V, "--%s given more than %d times", opt, MAX_LIST);
	if (parse_hex(opt, text, list[*n], 48))
		return CLI_EXIT_USAGE;
	(*n)++;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *g)
{
	memset(g, 0, sizeof(*g));
	sa_snp_appraisal_init(&g->a);
	g->offset = -1;
	uint32_t u;
	uint64_t bits;
	sa_error e;
	int c, idx = 0;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		const char *o = optarg;
		int rc = 0;
		switch (c) {
		case O_REPORT: g->report = o; break;
		case O_FORMAT:
			if (cli_parse_input_format(o, &g->format, &e) != SA_OK)
				return cli_usage_error(V, "%s", e.msg);
			break;
		case O_OFFSET:
			if (cli_parse_offset(o, "--report-offset", &g->offset, &e) != SA_OK)
				return cli_usage_error(V, "%s", e.msg);
			break;
		case O_VCEK: g->vcek = o; break;
		case O_CHAIN: g->chain = o; break;
		case O_CERTS: g->certs = o; break;
		case O_PRODUCT: {
			int step;
			if (sa_product_parse(o, &g->a.product, &step, &e) != SA_OK)
				return cli_usage_error(V, "--product: %s", e.msg);
			if (step != SA_STEPPING_UNKNOWN)
				g->a.stepping = step;
			break;
		}
		case O_TRUST_ROOT: g->trust_root = o; break;
		case O_KDS: (void)cli_kds_option(&g->kds, opts[idx].name, o); break;
		case O_CHECK_CRL: g->check_crl = true; break;
		case O_AT: rc = parse_time(o, &g->at); break;
		case O_NO_VALIDITY: g->a.skip_validity = true; break;
		case O_JSON: g->json = true; break;
		case O_REPORT_DATA:
			rc = parse_hex("report-data", o, g->report_data, 64);
			g->a.report_data = g->report_data;
			break;
		case O_HOST_DATA:
			rc = parse_hex("host-data", o, g->host_data, 32);
			g->a.host_data = g->host_data;
			break;
		case O_MEASUREMENT: rc = add_digest("measurement", o, g->measurements, &g->a.n_measurements); break;
		case O_FAMILY_ID:
			rc = parse_hex("family-id", o, g->family_id, 16);
			g->a.family_id = g->family_id;
			break;
		case O_IMAGE_ID:
			rc = parse_hex("image-id", o, g->image_id, 16);
			g->a.image_id = g->image_id;
			break;
		case O_CHIP_ID:
			rc = parse_hex("chip-id", o, g->chip_id, 64);
			g->a.chip_id = g->chip_id;
			break;
		case O_REPORT_ID:
			rc = parse_hex("report-id", o, g->report_id, 32);
			g->a.report_id = g->report_id;
			break;
		case O_ID_KEY: rc = add_digest("id-key-digest", o, g->id_keys, &g->a.n_id_key_digests); break;
		case O_AUTHOR_KEY:
			rc = add_digest("author-key-digest", o, g->author_keys, &g->a.n_author_key_digests);
			break;
		case O_REQ_ID_BLOCK: g->a.require_id_block = true; break;
		case O_REQ_AUTHOR: g->a.require_author_key = true; break;
		case O_MIN_TCB: g->min_tcb = o; break;
		case O_MIN_CUR: g->min_cur = o; break;
		case O_MIN_REP: g->min_rep = o; break;
		case O_MIN_COM: g->min_com = o; break;
		case O_MIN_LAUNCH: g->min_launch = o; break;
		case O_MIN_SVN:
			rc = cli_parse_u32(V, "min-guest-svn", o, UINT32_MAX, &u);
			g->a.has_min_guest_svn = true;
			g->a.min_guest_svn = (uint32_t)u;
			break;
		case O_MIN_BUILD:
			rc = cli_parse_u32(V, "min-build", o, 255, &u);
			g->a.has_min_build = true;
			g->a.min_build = (uint8_t)u;
			break;
		case O_MIN_VERSION:
			rc = parse_pair("min-version", o, &g->a.min_major, &g->a.min_minor);
			g->a.has_min_version = true;
			break;
		case O_DENY_PROV: g->a.deny_provisional = true; break;
		case O_MIN_RV:
			rc = cli_parse_u32(V, "min-report-version", o, UINT32_MAX, &u);
			g->a.has_min_report_version = true;
			g->a.min_report_version = (uint32_t)u;
			break;
		case O_VMPL:
			rc = cli_parse_u32(V, "vmpl", o, 3, &u);
			g->a.vmpl = (int)u;
			break;
		case O_MAX_VMPL:
			rc = cli_parse_u32(V, "max-vmpl", o, 3, &u);
			g->a.max_vmpl = (int)u;
			break;
		case O_POL_DENY:
			rc = parse_bits("policy-deny", o, true, &bits);
			g->a.policy_deny |= bits;
			break;
		case O_POL_REQ:
			rc = parse_bits("policy-require", o, true, &bits);
			g->a.policy_require |= bits;
			break;
		case O_MIN_ABI:
			rc = parse_pair("min-abi", o, &g->a.min_abi_major, &g->a.min_abi_minor);
			g->a.has_min_abi = true;
			break;
		case O_PLAT_DENY:
			rc = parse_bits("platform-deny", o, false, &bits);
			g->a.platform_deny |= bits;
			break;
		case O_PLAT_REQ:
			rc = parse_bits("platform-require", o, false, &bits);
			g->a.platform_require |= bits;
			break;
		case O_MIN_LMIT:
		case O_MIN_CMIT: {
			char *end;
			errno = 0;
			unsigned long long m = strtoull(o, &end, 16);
			if (errno || end == o || *end || o[0] == '-')
				return cli_usage_error(V, "--%s '%s': expected a hex bit mask",
						       c == O_MIN_LMIT ? "min-launch-mit" : "min-current-mit", o);
			if (c == O_MIN_LMIT) {
				g->a.has_min_launch_mit = true;
				g->a.min_launch_mit = m;
			} else {
				g->a.has_min_current_mit = true;
				g->a.min_current_mit = m;
			}
			break;
		}
		case O_STEPPING:
			rc = cli_parse_u32(V, "stepping", o, 255, &u);
			g->a.stepping = (int)u;
			break;
		case O_SIGNER:
			if (!strcmp(o, "vcek"))
				g->a.signer = SA_SIGNER_VCEK_ONLY;
			else if (!strcmp(o, "vlek"))
				g->a.signer = SA_SIGNER_VLEK_ONLY;
			else if (!strcmp(o, "any"))
				g->a.signer = SA_SIGNER_ANY;
			else
				return cli_usage_error(V, "--signer '%s': expected vcek, vlek or any", o);
			break;
		case O_STRICT: g->a.strict_reserved = true; break;
		case 'h':
		case O_HELP:
			usage(stdout);
			usage_sev(stdout);
			return -1;
		default: return cli_usage_error(V, "unknown option");
		}
		if (rc)
			return rc;
	}
	/* The lists live in g; the appraisal points at them whatever their count. */
	g->a.measurements = (const uint8_t(*)[48])g->measurements;
	g->a.id_key_digests = (const uint8_t(*)[48])g->id_keys;
	g->a.author_key_digests = (const uint8_t(*)[48])g->author_keys;
	if (optind < argc)
		return cli_usage_error(V, "unexpected argument '%s'", argv[optind]);
	if (!g->report)
		return cli_usage_error(V, "--report FILE is required");
	if (cli_kds_check(V, &g->kds))
		return CLI_EXIT_USAGE;
	if (g->check_crl && g->kds.no_kds)
		return cli_usage_error(V, "--check-crl needs KDS (the cache at least); drop --no-kds");
	return 0;
}

static int parse_min(const char *opt, const char *text, bool turin, sa_tcb_min *m)
{
	if (!text)
		return 0;
	sa_error e;
	if (sa_tcb_parse(text, turin, &m->min, &e) != SA_OK)
		return cli_usage_error(V, "--%s: %s", opt, e.msg);
	m->set = true;
	return 0;
}

static const char *mark(sa_check_status s)
{
	switch (s) {
	case SA_CHECK_PASS: return "\u2713";
	case SA_CHECK_FAIL: return "\u2717";
	case SA_CHECK_WARN: return "!";
	case SA_CHECK_SKIP: return "-";
	}
	return "?";
}

void cli_print_checks(const sa_verdict *v)
{
	for (size_t i = 0; i < v->n; i++) {
		const sa_check *c = &v->checks[i];
		printf("%s %-28s %s", mark(c->status), c->id, c->summary);
		if (c->expected[0] || c->actual[0])
			printf(" (expected %s, actual %s)", c->expected[0] ? c->expected : "-",
			       c->actual[0] ? c->actual : "-");
		putchar('\n');
	}
}

static void print_verdict(const sa_verdict *v, bool custom_root)
{
	cli_print_checks(v);
	if (custom_root)
		printf("note: trusted through a root named with --trust-root, not AMD's pinned ARK\n");
	const sa_check *f = sa_verdict_first_failure(v);
	if (!v->verified)
		printf("REJECTED: %s\n", f ? f->summary : "no checks ran");
	else if (custom_root)
		printf("VERIFIED: version %u report signed by the %s of a %s platform under the named root\n",
		       v->report.version, sa_cert_role_name(v->signer_role), sa_product_name(v->product));
	else
		printf("VERIFIED: version %u report signed by the %s of a genuine AMD %s platform\n", v->report.version,
		       sa_cert_role_name(v->signer_role), sa_product_name(v->product));
}

/* ---- SEV / SEV-ES (legacy) reports: verify --sev-report ---------------------------------------- */

static void usage_sev(FILE *f)
{
	fputs("\n"
	      "SEV and SEV-ES (legacy) attestation reports:\n"
	      "usage: sevattest verify --sev-report FILE --mnonce B64 (certificates) [options]\n"
	      "\n"
	      "Verify an ATTESTATION report (0xD0 bytes, binary or base64, as QEMU's query-sev-attestation-report\n"
	      "gives it): the chains ARK -> ASK -> CEK -> PEK and OCA -> PEK (and PEK -> PDH), the report's\n"
	      "signature by the PEK, its MNONCE, and the options below. Such a report is not bound to one guest\n"
	      "by hardware: it proves the platform and the image, not the guest's identity.\n"
	      "\n"
	      "  --sev-report FILE      the report (\"-\" for standard input)\n" CLI_SEV_CERTS_HELP
	      "  --mnonce B64           the MNONCE the relying party sent (16 bytes, base64 or hex; required)\n"
	      "  --measurement HEX      an accepted launch digest, 32 bytes (repeatable)\n"
	      "  --policy-deny LIST     capabilities the guest policy must not allow: debug, key-sharing, send,\n"
	      "                         non-es, non-domain, non-sev\n"
	      "  --policy-require LIST  policy bits that must be set: nodbg, noks, es, nosend, domain, sev\n"
	      "  --api-min MAJ.MIN      the policy's firmware API minimum must be at least this\n"
	      "  --json                 print the verdict as JSON\n",
	      f);
}

/* --policy-deny names capabilities; each is denied by setting its policy bit. */
static int parse_sev_deny(const char *text, uint32_t *out)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} caps[] = {{"debug", SA_SEV_POLICY_NODBG},  {"key-sharing", SA_SEV_POLICY_NOKS}, {"send", SA_SEV_POLICY_NOSEND},
		    {"non-es", SA_SEV_POLICY_ES},     {"non-domain", SA_SEV_POLICY_DOMAIN}, {"non-sev", SA_SEV_POLICY_SEV}};
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i = 0;
		while (i < sizeof(caps) / sizeof(caps[0]) && !(strlen(caps[i].name) == n && !strncasecmp(p, caps[i].name, n)))
			i++;
		if (n == 0 || i == sizeof(caps) / sizeof(caps[0]))
			return cli_usage_error(V, "--policy-deny '%s': expected a list of debug, key-sharing, send, non-es, "
						  "non-domain, non-sev",
					       text);
		*out |= caps[i].bit;
		p += n;
		if (*p == ',' && !*++p)
			return cli_usage_error(V, "--policy-deny '%s': trailing comma", text);
	}
	return 0;
}

static int parse_sev_require(const char *text, uint32_t *out)
{
	uint32_t bits;
	sa_error e;
	if (sa_sev_policy_parse(text, &bits, &e) != SA_OK)
		return cli_usage_error(V, "--policy-require: %s", e.msg);
	if (bits & 0xFFFF0000u)
		return cli_usage_error(V, "--policy-require '%s': policy bits only (the API minimum is --api-min)", text);
	*out |= bits;
	return 0;
}

/* A report of exactly 0xD0 bytes, binary or base64. */
static int read_sev_report(const char *path, uint8_t out[SA_SEV_REPORT_SIZE])
{
	uint8_t *raw = NULL, *dec = NULL;
	size_t raw_len = 0, dec_len = 0;
	sa_error e;
	sa_status st = cli_read_file(path, &raw, &raw_len, &e);
	if (st == SA_OK)
		st = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, SA_SEV_REPORT_SIZE, &dec, &dec_len, NULL, &e);
	if (st == SA_OK && dec_len != SA_SEV_REPORT_SIZE)
		st = sa_error_set(&e, dec_len < SA_SEV_REPORT_SIZE ? SA_ERR_TRUNCATED : SA_ERR_TRAILING,
				  "SEV report: %zu bytes, expected 0xD0 (208)", dec_len);
	if (st == SA_OK)
		memcpy(out, dec, SA_SEV_REPORT_SIZE);
	free(raw);
	free(dec);
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: --sev-report %s: %s\n", V, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int parse_mnonce(const char *text, uint8_t out[16])
{
	size_t n = strlen(text);
	if (n == 32 && sa_hex_decode_exact(text, n, out, 16, "--mnonce", NULL) == SA_OK)
		return 0;
	uint8_t *d = NULL;
	size_t dl = 0;
	if (sa_base64_decode_alloc(text, n, 0, &d, &dl, "--mnonce", NULL) != SA_OK || dl != 16) {
		free(d);
		return cli_usage_error(V, "--mnonce '%s': expected 16 bytes as base64 or hex", text);
	}
	memcpy(out, d, 16);
	free(d);
	return 0;
}

#define SEV_MAX_MEAS 16

static int verify_sev(int argc, char **argv)
{
	enum { S_REPORT = 300, S_MNONCE, S_MEAS, S_DENY, S_REQ, S_API, S_JSON, S_HELP, S_CERT };
	static const struct option sopts[] = {
		{"sev-report", required_argument, NULL, S_REPORT}, {"mnonce", required_argument, NULL, S_MNONCE},
		{"measurement", required_argument, NULL, S_MEAS},  {"policy-deny", required_argument, NULL, S_DENY},
		{"policy-require", required_argument, NULL, S_REQ}, {"api-min", required_argument, NULL, S_API},
		{"json", no_argument, NULL, S_JSON},                {"help", no_argument, NULL, S_HELP},
		CLI_SEV_CERT_OPTIONS(S_CERT),
		{NULL, 0, NULL, 0},
	};
	struct cli_sev_certs *c = malloc(sizeof(*c));
	if (!c) {
		fprintf(stderr, "sevattest verify: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	cli_sev_certs_init(c);
	sa_sev_appraisal a;
	memset(&a, 0, sizeof(a));
	uint8_t mnonce[16], meas[SEV_MAX_MEAS][32], report[SA_SEV_REPORT_SIZE];
	const char *report_path = NULL;
	bool json = false, have_mnonce = false;
	int rc = 0, ch, idx = 0;
	cli_getopt_reset();
	while (rc == 0 && (ch = getopt_long(argc, argv, "h", sopts, &idx)) != -1) {
		switch (ch) {
		case S_REPORT: report_path = optarg; break;
		case S_MNONCE:
			rc = parse_mnonce(optarg, mnonce);
			have_mnonce = true;
			break;
		case S_MEAS:
			if (a.n_measurements == SEV_MAX_MEAS)
				rc = cli_usage_error(V, "--measurement given more than %d times", SEV_MAX_MEAS);
			else if ((rc = parse_hex("measurement", optarg, meas[a.n_measurements], 32)) == 0)
				a.n_measurements++;
			break;
		case S_DENY: rc = parse_sev_deny(optarg, &a.policy_require); break;
		case S_REQ: rc = parse_sev_require(optarg, &a.policy_require); break;
		case S_API:
			rc = parse_pair("api-min", optarg, &a.api_min_major, &a.api_min_minor);
			a.has_api_min = true;
			break;
		case S_JSON: json = true; break;
		case S_CERT: rc = cli_sev_certs_option(V, c, sopts[idx].name, optarg); break;
		case 'h':
		case S_HELP:
			usage(stdout);
			usage_sev(stdout);
			rc = -1;
			break;
		default: rc = cli_usage_error(V, "unknown option (for --sev-report; see sevattest help verify)"); break;
		}
	}
	if (rc == 0 && optind < argc)
		rc = cli_usage_error(V, "unexpected argument '%s'", argv[optind]);
	if (rc == 0 && !report_path)
		rc = cli_usage_error(V, "--sev-report FILE is required");
	if (rc == 0 && !have_mnonce)
		rc = cli_usage_error(V, "--mnonce is required: without it a replayed report cannot be told apart");
	if (rc == 0)
		rc = read_sev_report(report_path, report);
	if (rc == 0)
		rc = cli_sev_certs_complete(V, c);
	if (rc) {
		free(c);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	a.mnonce = mnonce;
	a.measurements = (const uint8_t(*)[32])meas;
	sa_sev_evidence ev = {.report = report, .report_len = sizeof(report)};
	sa_sev_trust trust;
	cli_sev_certs_chain(c, &ev.chain, &trust);
	sa_verdict v;
	sa_verdict_init(&v);
	sa_error e;
	if (sa_verify_sev_report(&ev, &trust, &a, &v, &e) != SA_OK) {
		rc = cli_input_error(V, &e);
	} else if (json) {
		char *js = sa_verdict_to_json(&v);
		if (js) {
			puts(js);
			free(js);
			rc = v.verified ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
		} else {
			fprintf(stderr, "sevattest verify: out of memory\n");
			rc = CLI_EXIT_USAGE;
		}
	} else {
		cli_print_checks(&v);
		if (trust.n_roots)
			printf("note: trusted through a root named with --trust-root, not AMD's pinned ARK\n");
		const sa_check *f = sa_verdict_first_failure(&v);
		if (!v.verified)
			printf("REJECTED: %s\n", f ? f->summary : "no checks ran");
		else
			printf("VERIFIED: SEV attestation report signed by the PEK of a platform certified by %s; it proves "
			       "the platform and the launch digest, not the guest's identity\n",
			       trust.n_roots ? "the named root" : "AMD");
		rc = v.verified ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
	}
	sa_verdict_free(&v);
	free(c);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--sev-report") || !strncmp(argv[i], "--sev-report=", 13))
			return verify_sev(argc, argv);
	struct args g;
	int rc = parse_args(argc, argv, &g);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;

	sa_error err;
	uint8_t report[SA_SNP_REPORT_SIZE];
	if (cli_read_report(g.report, g.format, g.offset, report, &err) != SA_OK)
		return cli_input_error(V, &err);
	sa_snp_report r;
	if (sa_snp_report_decode(report, sizeof(report), &r, &err) != SA_OK)
		return cli_input_error(V, &err);

	sa_trust *t = NULL;
	sa_kds *k = NULL;
	uint8_t *crl = NULL;
	size_t crl_len = 0;
	sa_verdict v;
	sa_verdict_init(&v);
	rc = CLI_EXIT_USAGE;
	if (sa_trust_new(&t, &err) != SA_OK)
		goto input_error;
	if (g.at)
		sa_trust_set_time(t, g.at);
	if (g.trust_root && sa_trust_set_roots_file(t, g.trust_root, &err) != SA_OK)
		goto input_error;
	if (g.chain && sa_trust_add_file(t, g.chain, &err) != SA_OK)
		goto input_error;
	if (g.certs && sa_trust_add_dir(t, g.certs, &err) != SA_OK)
		goto input_error;
	if (g.vcek && sa_trust_add_vek_file(t, g.vcek, &err) != SA_OK)
		goto input_error;

	const char *src;
	sa_product p = sa_snp_report_product(&r, g.a.product, sa_trust_vek(t), &src);
	bool turin = sa_product_turin_layout(p);
	if (parse_min("min-tcb", g.min_tcb, turin, &g.a.min_current_tcb) ||
	    parse_min("min-tcb", g.min_tcb, turin, &g.a.min_reported_tcb) ||
	    parse_min("min-tcb", g.min_tcb, turin, &g.a.min_committed_tcb) ||
	    parse_min("min-current-tcb", g.min_cur, turin, &g.a.min_current_tcb) ||
	    parse_min("min-reported-tcb", g.min_rep, turin, &g.a.min_reported_tcb) ||
	    parse_min("min-committed-tcb", g.min_com, turin, &g.a.min_committed_tcb) ||
	    parse_min("min-launch-tcb", g.min_launch, turin, &g.a.min_launch_tcb))
		goto out;

	if (!g.kds.no_kds && p != SA_PRODUCT_UNKNOWN) {
		if ((rc = cli_kds_open(V, &g.kds, &k)) != 0)
			goto out;
		rc = CLI_EXIT_USAGE;
		/* Missing pieces are not fatal here: the verdict names what is absent. */
		if (sa_kds_complete_trust(k, &r, p, t, &err) != SA_OK)
			fprintf(stderr, "sevattest verify: KDS: %s\n", err.msg);
		if (g.check_crl) {
			bool vlek = sa_snp_report_signing_key(&r) == SA_SIGNING_KEY_VLEK;
			if (sa_kds_fetch_crl(k, p, vlek, &crl, &crl_len, &err) != SA_OK) {
				fprintf(stderr, "sevattest verify: --check-crl: %s\n", err.msg);
				rc = CLI_EXIT_REJECTED;
				goto out;
			}
			g.a.crl_der = crl;
			g.a.crl_len = crl_len;
		}
	}

	if (sa_verify_snp_report(report, sizeof(report), t, &g.a, &v, &err) != SA_OK)
		goto input_error;
	if (g.json) {
		char *js = sa_verdict_to_json(&v);
		if (!js) {
			fprintf(stderr, "sevattest verify: out of memory\n");
			goto out;
		}
		puts(js);
		free(js);
	} else {
		print_verdict(&v, sa_trust_has_custom_roots(t));
	}
	rc = v.verified ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
	goto out;

input_error:
	rc = cli_input_error(V, &err);
out:
	sa_verdict_free(&v);
	free(crl);
	sa_kds_free(k);
	sa_trust_free(t);
	return rc;
}
