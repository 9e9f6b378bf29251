/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest emu: create an emulated SEV-SNP platform, run its daemon
 * (sevattest-emu), look at it, export its root of trust, and launch and stop
 * SNP guests on it, or the SNP, SEV or SEV-ES guest a QEMU -object option
 * describes (launchcfg.h).  Thin over sa_emu_create and the daemon's client API.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "sevattest/emu.h"
#include "sevattest/emu_client.h"
#include "sevattest/encoding.h"
#include "sevattest/gctx.h"
#include "sevattest/launchcfg.h"
#include "sevattest/measure.h"
#include "sevattest/ovmf.h"
#include "sevattest/product.h"
#include "sevattest/sev.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"

#include "cli.h"

static const char *const V = "emu";

#define DEFAULT_POLICY (SA_POLICY_SMT | SA_POLICY_RESERVED_MBO) /* 0x30000: SMT allowed, ABI 0.0 */
#define START_WAIT_MS 15000
#define STOP_WAIT_MS 15000

static const char emu_usage[] =
	"Usage: sevattest emu create --state DIR [--product Milan|Genoa|Turin] [--rsa-bits N] [--tcb TCB]\n"
	"       sevattest emu start --state DIR [--foreground] [--socket PATH]\n"
	"       sevattest emu stop --state DIR [--socket PATH]\n"
	"       sevattest emu status --state DIR [--socket PATH] [--json]\n"
	"       sevattest emu export-root --state DIR [--chain | --vek] [--vlek] [--out FILE]\n"
	"       sevattest emu vm launch --state DIR [--policy HEX] [--host-data HEX] [--pages FILE]... [--json]\n"
	"       sevattest emu vm launch --state DIR --ovmf FILE [--kernel FILE [--initrd FILE] [--append TEXT]]\n"
	"                               --vcpus N --vcpu-type NAME [--vmm-type T] [--guest-features HEX] ...\n"
	"       sevattest emu vm launch --state DIR --object OBJECT|@FILE [--ovmf FILE ...] [--json]\n"
	"                               [--secret-header FILE --secret FILE [--secret-gpa HEX]] [--paused]\n"
	"       sevattest emu vm list --state DIR [--json]\n"
	"       sevattest emu vm stop --state DIR HANDLE\n"
	"\n"
	"An emulated AMD SEV-SNP platform with real cryptography, kept in a state directory, served by\n"
	"the sevattest-emu daemon.  Its root of trust (ARK, ASK) is its own: a verifier trusts it only\n"
	"when told to, with `sevattest verify --trust-root FILE`.\n"
	"\n"
	"  create        make a new platform in DIR (absent or empty): random CHIP_ID, its own ARK and\n"
	"                ASK (RSA-4096 unless --rsa-bits, e.g. 2048 for tests), a VCEK for its TCB\n"
	"  start         run sevattest-emu for DIR in the background (found beside this program, in the\n"
	"                build tree, or on PATH; $SEVATTEST_EMU overrides); waits until it answers and\n"
	"                prints its host socket.  --foreground runs it in this terminal instead\n"
	"  stop          ask the daemon to exit and wait until it has\n"
	"  status        the platform: product, CHIP_ID, TCBs, firmware, guests (exit 1: not running)\n"
	"  export-root   the ARK (PEM) for --trust-root; --chain: ASK (or ASVK) then ARK, for --chain;\n"
	"                --vek: the VCEK (DER) for --vcek; --vlek: the VLEK side.  Standard output\n"
	"                unless --out\n"
	"  vm launch     launch an SNP guest: SNP_LAUNCH_START, an SNP_LAUNCH_UPDATE per page,\n"
	"                SNP_LAUNCH_FINISH; prints its handle, its guest channel socket (for\n"
	"                `sevattest guest ... --backend emu:SOCKET`) and its launch digest.  With --ovmf\n"
	"                the pages are those QEMU + OVMF launch (sa_snp_page_plan): the launch digest\n"
	"                equals `sevattest measure --mode snp` for the same options.  The CPUID page is\n"
	"                sent as a zero page (the emulator does not check CPUID values)\n"
	"  vm launch --object   launch the guest QEMU's `-object` option describes (the same text, or\n"
	"                @FILE holding it; keyval or JSON form, read with QEMU's rules).\n"
	"                sev-snp-guest: an SNP launch as above with the object's policy, host-data and\n"
	"                id-block / id-auth / author-key-enabled (checked by SNP_LAUNCH_FINISH as\n"
	"                firmware does); kernel-hashes=on measures --kernel/--initrd/--append, off\n"
	"                leaves the kernel unmeasured, as QEMU.  Accepted, reported, not applied by the\n"
	"                emulator: guest-visible-workarounds (its firmware has no OS-visible errata),\n"
	"                init-flags (no KVM_SEV_INIT), vcek-disabled (the guest may still ask for\n"
	"                VCEK-signed reports), cbitpos, reduced-phys-bits, sev-device.\n"
	"                sev-guest: an SEV launch, SEV-ES when the policy has bit 2 (ES):\n"
	"                LAUNCH_START (with dh-cert-file and session-file when given: the guest\n"
	"                owner's GODH certificate and session, else the firmware's own keys), then\n"
	"                LAUNCH_UPDATE_DATA of what QEMU measures (--ovmf: the OVMF image, then the\n"
	"                kernel hashes table when kernel-hashes=on and --kernel is given; without\n"
	"                --ovmf the four pages of the built-in test image), for SEV-ES one\n"
	"                LAUNCH_UPDATE_VMSA per vCPU (SEV_FEATURES 0: KVM_SEV_INIT2 without\n"
	"                debug-swap; the built-in image: its test VMSA), LAUNCH_MEASURE, an optional\n"
	"                LAUNCH_SECRET, LAUNCH_FINISH.  Prints the handle, the LAUNCH_MEASURE blob\n"
	"                (base64, for `sevattest owner verify-measurement`), the launch digest (with\n"
	"                --ovmf it equals `sevattest measure --mode sev|seves`) and the QMP socket.\n"
	"                handle must be 0 (no key sharing); legacy-vm-type is reported only\n"
	"  vm list       the running guests\n"
	"  vm stop       decommission guest HANDLE\n"
	"\n"
	"Options:\n"
	"  --state DIR            the platform's state directory\n"
	"  --socket PATH          the daemon's host socket (default DIR/run/host.sock)\n"
	"  --product NAME         Milan (default), Genoa or Turin\n"
	"  --rsa-bits N           ARK/ASK/ASVK modulus: 2048, 3072 or 4096 (default, as AMD's)\n"
	"  --tcb TCB              the platform's TCB (bl=N,tee=N,snp=N,ucode=N[,fmc=N] or a raw u64)\n"
	"  --policy HEX           guest policy (default 0x30000: SMT allowed, ABI 0.0)\n"
	"  --host-data HEX        HOST_DATA, up to 32 bytes (zero-padded; default zero)\n"
	"  --pages FILE           launch the pages a manifest lists instead of the built-in test image\n"
	"                         (repeatable).  One page or run of pages a line, '#' comments:\n"
	"                           TYPE GPA [DATA]\n"
	"                         TYPE normal, vmsa, zero, unmeasured, secrets or cpuid; GPA in hex;\n"
	"                         DATA (normal, vmsa, cpuid) a file of whole 4 KiB pages, laid at GPA,\n"
	"                         GPA + 0x1000, ...; relative to the manifest's directory\n"
	"  --json                 print JSON\n"
	"  --object OBJECT|@FILE  the guest's -object sev-snp-guest,... or sev-guest,... (excludes\n"
	"                         --policy and --host-data; sev-guest excludes --pages)\n"
	"  --secret-header FILE, --secret FILE   sev-guest: inject this LAUNCH_SECRET packet (binary or\n"
	"                         base64, from `sevattest owner package-secret`) before LAUNCH_FINISH.\n"
	"                         Its MAC covers this launch's LAUNCH_MEASURE, whose MNONCE is fresh: a\n"
	"                         packet made for another launch is refused (BAD_MEASUREMENT, exit 1);\n"
	"                         the guest owner's round trip is --paused and QMP\n"
	"  --secret-gpa HEX       its guest address (default with --ovmf: OVMF's SEV secret area)\n"
	"  --paused               sev-guest: stop in the launch-secret state, as QEMU -S does: print the\n"
	"                         LAUNCH_MEASURE blob and the QMP socket, where the guest owner checks it\n"
	"                         (query-sev-launch-measure), injects (sev-inject-launch-secret) and\n"
	"                         finishes the launch (cont)\n"
	"  --ovmf FILE            launch this OVMF image as QEMU would (excludes --pages); the guest is\n"
	"                         described by the options of `sevattest measure`:\n"
	CLI_GUEST_HELP
	"\n"
	"The built-in test image, in launch order (its launch digest is fixed):\n"
	"  NORMAL   0x00100000..0x00103000  four pages; page i (0..3) starts with the text\n"
	"                                   \"sevattest test image page i\\n\", byte j after it is\n"
	"                                   (i * 37 + j) mod 251\n"
	"  SECRETS  0x00800000              filled by the firmware (VMPCK0-3)\n"
	"  CPUID    0x00801000              an empty CPUID table (zero entries)\n"
	"  VMSA     0xFFFFFFFFF000          one vCPU: \"sevattest test VMSA\" then zeros\n"
	"\n"
	"Exit status: 0 success; 1 the daemon is not running (status) or refused the command; 2 bad usage\n"
	"or unreadable input.\n";

enum {
	O_STATE = 256, O_SOCKET, O_PRODUCT, O_RSA_BITS, O_TCB, O_FOREGROUND, O_JSON, O_OUT, O_CHAIN, O_VEK, O_VLEK,
	O_POLICY, O_HOST_DATA, O_PAGES, O_HELP, O_OBJECT, O_SECRET_HDR, O_SECRET, O_SECRET_GPA, O_PAUSED,
	/* the guest options shared with `measure` (cli_guest_option), O_OVMF..O_APPEND */
	O_OVMF, O_VCPUS, O_VCPU_TYPE, O_FAMILY, O_MODEL, O_STEPPING, O_SIG, O_VMM, O_FEATURES, O_KERNEL, O_INITRD,
	O_APPEND,
};

static const struct option opts[] = {
	{"state", required_argument, NULL, O_STATE},
	{"socket", required_argument, NULL, O_SOCKET},
	{"product", required_argument, NULL, O_PRODUCT},
	{"rsa-bits", required_argument, NULL, O_RSA_BITS},
	{"tcb", required_argument, NULL, O_TCB},
	{"foreground", no_argument, NULL, O_FOREGROUND},
	{"json", no_argument, NULL, O_JSON},
	{"out", required_argument, NULL, O_OUT},
	{"chain", no_argument, NULL, O_CHAIN},
	{"vek", no_argument, NULL, O_VEK},
	{"vlek", no_argument, NULL, O_VLEK},
	{"policy", required_argument, NULL, O_POLICY},
	{"host-data", required_argument, NULL, O_HOST_DATA},
	{"pages", required_argument, NULL, O_PAGES},
	{"help", no_argument, NULL, O_HELP},
	{"object", required_argument, NULL, O_OBJECT},
	{"secret-header", required_argument, NULL, O_SECRET_HDR},
	{"secret", required_argument, NULL, O_SECRET},
	{"secret-gpa", required_argument, NULL, O_SECRET_GPA},
	{"paused", no_argument, NULL, O_PAUSED},
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
	{NULL, 0, NULL, 0},
};

#define MAX_MANIFESTS 16

struct args {
	const char *sub;     /* "create", "start", ..., "vm launch" */
	const char *state, *socket, *product, *tcb, *out;
	const char *pages[MAX_MANIFESTS];
	size_t n_pages;
	unsigned rsa_bits;
	bool foreground, json, chain, vek, vlek, has_policy;
	uint64_t policy;
	uint8_t host_data[32];
	bool has_host_data;
	const char *object;                 /* vm launch --object */
	const char *secret_hdr, *secret;    /* sev-guest: LAUNCH_SECRET */
	bool has_secret_gpa, paused;
	uint64_t secret_gpa;
	const char *operand; /* vm stop HANDLE */
	bool has_guest;      /* vm launch --ovmf ...: any guest option given */
	struct cli_guest guest;
	char socket_buf[PATH_MAX];
};

/* Which options each subcommand takes. */
static bool allowed(const char *sub, int opt)
{
	switch (opt) {
	case O_STATE:
	case O_HELP: return true;
	case O_SOCKET: return strcmp(sub, "create") != 0;
	case O_PRODUCT:
	case O_RSA_BITS:
	case O_TCB: return strcmp(sub, "create") == 0;
	case O_FOREGROUND: return strcmp(sub, "start") == 0;
	case O_JSON: return !strcmp(sub, "status") || !strcmp(sub, "vm launch") || !strcmp(sub, "vm list");
	case O_OUT:
	case O_CHAIN:
	case O_VEK:
	case O_VLEK: return strcmp(sub, "export-root") == 0;
	case O_POLICY:
	case O_HOST_DATA:
	case O_PAGES:
	case O_OBJECT:
	case O_SECRET_HDR:
	case O_SECRET:
	case O_SECRET_GPA:
	case O_PAUSED: return strcmp(sub, "vm launch") == 0;
	}
	if (opt >= O_OVMF && opt <= O_APPEND)
		return strcmp(sub, "vm launch") == 0;
	return false;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	cli_guest_init(&a->guest);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(emu_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : -1;
	}
	static const char *const subs[] = {"create", "start", "stop", "status", "export-root"};
	int first = 2;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i]))
			a->sub = subs[i];
	if (!a->sub && !strcmp(argv[1], "vm")) {
		if (argc < 3)
			return cli_usage_error(V, "vm: expected launch, list or stop");
		static const char *const vsubs[][2] = {
			{"launch", "vm launch"}, {"list", "vm list"}, {"stop", "vm stop"}};
		for (size_t i = 0; i < sizeof(vsubs) / sizeof(vsubs[0]); i++)
			if (!strcmp(argv[2], vsubs[i][0]))
				a->sub = vsubs[i][1];
		if (!a->sub)
			return cli_usage_error(V, "vm '%s': expected launch, list or stop", argv[2]);
		first = 3;
	}
	if (!a->sub)
		return cli_usage_error(V, "unknown subcommand '%s'", argv[1]);

	/* getopt sees the subcommand's own arguments, after a stand-in argv[0]. */
	int sargc = argc - first + 1;
	char **sargv = argv + first - 1;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(sargc, sargv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?' || c == ':')
			return cli_usage_error(V, "%s: bad option", a->sub);
		if (!allowed(a->sub, c))
			return cli_usage_error(V, "%s does not take --%s", a->sub, cli_opt_name(opts, c));
		const char *o = optarg;
		switch (c) {
		case O_STATE: a->state = o; break;
		case O_SOCKET: a->socket = o; break;
		case O_PRODUCT: a->product = o; break;
		case O_TCB: a->tcb = o; break;
		case O_RSA_BITS: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(o, &end, 10);
			if (errno || end == o || *end || (v != 2048 && v != 3072 && v != 4096))
				return cli_usage_error(V, "--rsa-bits '%s': expected 2048, 3072 or 4096", o);
			a->rsa_bits = (unsigned)v;
			break;
		}
		case O_FOREGROUND: a->foreground = true; break;
		case O_JSON: a->json = true; break;
		case O_OUT: a->out = o; break;
		case O_CHAIN: a->chain = true; break;
		case O_VEK: a->vek = true; break;
		case O_VLEK: a->vlek = true; break;
		case O_POLICY:
			if (cli_parse_hex_u64(V, "policy", o, &a->policy))
				return CLI_EXIT_USAGE;
			a->has_policy = true;
			break;
		case O_HOST_DATA:
			if (cli_parse_hex_padded(V, "host-data", o, a->host_data, sizeof(a->host_data)))
				return CLI_EXIT_USAGE;
			a->has_host_data = true;
			break;
		case O_OBJECT: a->object = o; break;
		case O_SECRET_HDR: a->secret_hdr = o; break;
		case O_SECRET: a->secret = o; break;
		case O_SECRET_GPA: {
			int rc = cli_parse_hex_u64(V, "secret-gpa", o, &a->secret_gpa);
			if (rc)
				return rc;
			a->has_secret_gpa = true;
			break;
		}
		case O_PAUSED: a->paused = true; break;
		case O_PAGES:
			if (a->n_pages == MAX_MANIFESTS)
				return cli_usage_error(V, "--pages given more than %d times", MAX_MANIFESTS);
			a->pages[a->n_pages++] = o;
			break;
		case O_HELP: fputs(emu_usage, stdout); return -1;
		default: {
			int rc = cli_guest_option(V, &a->guest, cli_opt_name(opts, c), o);
			if (rc)
				return rc < 0 ? cli_usage_error(V, "%s: bad option", a->sub) : rc;
			a->has_guest = true;
			break;
		}
		}
	}
	if (!strcmp(a->sub, "vm stop")) {
		if (optind >= sargc)
			return cli_usage_error(V, "vm stop: expected the guest's HANDLE");
		a->operand = sargv[optind++];
	}
	if (optind < sargc)
		return cli_usage_error(V, "%s: unexpected argument '%s'", a->sub, sargv[optind]);
	if (!a->state && !(a->socket && strcmp(a->sub, "create") && strcmp(a->sub, "start")))
		return cli_usage_error(V, "%s: --state DIR is required", a->sub);
	if (a->has_guest && a->n_pages)
		return cli_usage_error(V, "vm launch: --pages and --ovmf (with its guest options) exclude each other");
	if (a->has_guest && !a->guest.ovmf)
		return cli_usage_error(V, "vm launch: the guest options need --ovmf FILE");
	if (a->object && (a->has_policy || a->has_host_data))
		return cli_usage_error(V, "vm launch: --object and --%s exclude each other (the object sets it)",
				       a->has_policy ? "policy" : "host-data");
	if (!a->object && (a->secret_hdr || a->secret || a->has_secret_gpa || a->paused))
		return cli_usage_error(V, "vm launch: --%s needs --object sev-guest,...",
				       a->paused ? "paused" : a->secret_hdr ? "secret-header" : a->secret ? "secret"
											   : "secret-gpa");
	if (!a->secret_hdr != !a->secret)
		return cli_usage_error(V, "vm launch: --secret-header and --secret go together");
	if (a->has_secret_gpa && !a->secret)
		return cli_usage_error(V, "vm launch: --secret-gpa needs --secret-header and --secret");
	if (a->chain && a->vek)
		return cli_usage_error(V, "export-root: --chain and --vek exclude each other");
	if (!a->socket && a->state) {
		int n = snprintf(a->socket_buf, sizeof(a->socket_buf), "%s/run/host.sock", a->state);
		if (n < 0 || (size_t)n >= sizeof(a->socket_buf))
			return cli_usage_error(V, "--state: path too long");
		a->socket = a->socket_buf;
	}
	return 0;
}

static int fail(const sa_error *err) { return cli_input_error(V, err); }

/* A daemon answer that refused the command: exit 1 (the platform said no), not 2. */
static int refused(const sa_error *err)
{
	fprintf(stderr, "sevattest %s: %s\n", V, err->msg);
	return CLI_EXIT_REJECTED;
}

static sa_status connect_host(const struct args *a, sa_emu_client **c, sa_error *err)
{
	return sa_emu_client_connect(a->socket, 5000, c, err);
}

/* ---- create ---- */

static int do_create(const struct args *a)
{
	sa_emu_create_opts o;
	memset(&o, 0, sizeof(o));
	sa_error err;
	o.product = SA_PRODUCT_MILAN;
	if (a->product) {
		int step;
		if (sa_product_parse(a->product, &o.product, &step, &err) != SA_OK)
			return cli_usage_error(V, "--product: %s", err.msg);
	}
	if (a->tcb) {
		if (sa_tcb_parse(a->tcb, sa_product_turin_layout(o.product), &o.tcb, &err) != SA_OK)
			return cli_usage_error(V, "--tcb: %s", err.msg);
		o.has_tcb = true;
	}
	o.rsa_bits = a->rsa_bits;
	if (sa_emu_create(a->state, &o, &err) != SA_OK)
		return fail(&err);
	sa_emu *e;
	sa_emu_status st;
	if (sa_emu_open(a->state, &e, &err) != SA_OK)
		return fail(&err);
	sa_status s = sa_emu_platform_status(e, &st, &err);
	sa_emu_close(e);
	if (s != SA_OK)
		return fail(&err);
	char hex[129], tcb[96];
	sa_tcb t = sa_tcb_decode_for(st.current_tcb, st.product);
	sa_hex_encode(st.chip_id, sizeof(st.chip_id), hex);
	printf("created an emulated %s platform in %s\n", sa_product_name(st.product), a->state);
	printf("CHIP_ID: %s\n", hex);
	printf("TCB:     %s\n", sa_tcb_format(&t, tcb, sizeof(tcb)));
	printf("start it with: sevattest emu start --state %s\n", a->state);
	return CLI_EXIT_OK;
}

/* ---- start / stop ---- */

static bool executable_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* sevattest-emu: $SEVATTEST_EMU, beside this program, the build tree's src/emu, else PATH (NULL). */
static const char *find_daemon(char *buf, size_t cap)
{
	const char *env = getenv("SEVATTEST_EMU");
	if (env && *env)
		return env;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"sevattest-emu", "../emu/sevattest-emu"};
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				int k = snprintf(buf, cap, "%s/%s", self, rel[i]);
				if (k > 0 && (size_t)k < cap && executable_file(buf))
					return buf;
			}
		}
	}
	return NULL;
}

static bool answers(const struct args *a, uint32_t *pid)
{
	sa_emu_client *c;
	sa_error err;
	if (sa_emu_client_connect(a->socket, 2000, &c, &err) != SA_OK)
		return false;
	sa_emu_status st;
	bool ok = sa_emu_client_status(c, &st, pid, NULL, &err) == SA_OK;
	sa_emu_client_close(c);
	return ok;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* exec the daemon: the path found, else a PATH search.  Returns only on failure. */
static void run_daemon(const char *bin, char **argv)
{
	if (bin)
		execv(bin, argv);
	else
		execvp(argv[0], argv);
}

static int do_start(const struct args *a)
{
	uint32_t pid = 0;
	if (answers(a, &pid)) {
		printf("sevattest-emu is already running (pid %" PRIu32 ")\nhost socket: %s\n", pid, a->socket);
		return CLI_EXIT_OK;
	}
	char found[PATH_MAX];
	const char *bin = find_daemon(found, sizeof(found));
	char *argv[10];
	int n = 0;
	argv[n++] = (char *)(uintptr_t)(bin ? bin : "sevattest-emu");
	argv[n++] = (char *)(uintptr_t)"--state";
	argv[n++] = (char *)(uintptr_t)a->state;
	if (a->socket != a->socket_buf) {
		argv[n++] = (char *)(uintptr_t)"--socket";
		argv[n++] = (char *)(uintptr_t)a->socket;
	}
	if (a->foreground)
		argv[n++] = (char *)(uintptr_t)"--foreground";
	argv[n] = NULL;
	fflush(stdout);
	if (a->foreground) {
		printf("host socket: %s\n", a->socket);
		fflush(stdout);
		run_daemon(bin, argv);
		fprintf(stderr, "sevattest emu: cannot run %s: %s\n", argv[0], strerror(errno));
		return CLI_EXIT_USAGE;
	}
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "sevattest emu: fork: %s\n", strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (child == 0) {
		run_daemon(bin, argv);
		fprintf(stderr, "sevattest emu: cannot run %s: %s (set SEVATTEST_EMU or put it on PATH)\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	/* The daemon's first process exits once the sockets listen (0), or with the reason they do not. */
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "sevattest emu: sevattest-emu did not start\n");
		return CLI_EXIT_REJECTED;
	}
	for (unsigned waited = 0; waited < START_WAIT_MS; waited += 50) {
		if (answers(a, &pid)) {
			printf("sevattest-emu is running (pid %" PRIu32 ") for %s\nhost socket: %s\n", pid, a->state,
			       a->socket);
			return CLI_EXIT_OK;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "sevattest emu: sevattest-emu started but %s does not answer\n", a->socket);
	return CLI_EXIT_REJECTED;
}

static int do_stop(const struct args *a)
{
	sa_emu_client *c;
	sa_error err;
	uint32_t pid = 0;
	if (connect_host(a, &c, &err) != SA_OK) {
		printf("sevattest-emu is not running (%s)\n", err.msg);
		return CLI_EXIT_OK;
	}
	sa_emu_status st;
	sa_status s = sa_emu_client_status(c, &st, &pid, NULL, &err);
	if (s == SA_OK)
		s = sa_emu_client_shutdown(c, &err);
	sa_emu_client_close(c);
	if (s != SA_OK)
		return refused(&err);
	/* Wait for the process to be gone (the daemon closes every connection first). */
	for (unsigned waited = 0; waited < STOP_WAIT_MS; waited += 50) {
		if (pid == 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
			printf("sevattest-emu stopped (pid %" PRIu32 ")\n", pid);
			return CLI_EXIT_OK;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "sevattest emu: sevattest-emu (pid %" PRIu32 ") did not exit within %u ms\n", pid,
		STOP_WAIT_MS);
	return CLI_EXIT_REJECTED;
}

/* ---- status ---- */

static void tcb_text(uint64_t raw, sa_product p, char *buf, size_t cap)
{
	sa_tcb t = sa_tcb_decode_for(raw, p);
	char parts[96];
	snprintf(buf, cap, "%s (0x%016" PRIx64 ")", sa_tcb_format(&t, parts, sizeof(parts)), raw);
}

static int print_status(const struct args *a, const sa_emu_status *st, bool running, uint32_t pid,
			uint32_t channels)
{
	char hex[129], cur[160], rep[160], com[160];
	sa_hex_encode(st->chip_id, sizeof(st->chip_id), hex);
	tcb_text(st->current_tcb, st->product, cur, sizeof(cur));
	tcb_text(st->reported_tcb, st->product, rep, sizeof(rep));
	tcb_text(st->committed_tcb, st->product, com, sizeof(com));
	if (a->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "running", json_object_new_boolean(running));
		if (running) {
			json_object_object_add(o, "pid", json_object_new_int64(pid));
			json_object_object_add(o, "socket", json_object_new_string(a->socket));
			json_object_object_add(o, "guest_channels", json_object_new_int64(channels));
		}
		json_object_object_add(o, "product", json_object_new_string(sa_product_name(st->product)));
		json_object_object_add(o, "chip_id", json_object_new_string(hex));
		char raw[24];
		snprintf(raw, sizeof(raw), "0x%016" PRIx64, st->current_tcb);
		json_object_object_add(o, "current_tcb", json_object_new_string(raw));
		snprintf(raw, sizeof(raw), "0x%016" PRIx64, st->reported_tcb);
		json_object_object_add(o, "reported_tcb", json_object_new_string(raw));
		snprintf(raw, sizeof(raw), "0x%016" PRIx64, st->committed_tcb);
		json_object_object_add(o, "committed_tcb", json_object_new_string(raw));
		char v[16];
		snprintf(v, sizeof(v), "%u.%u.%u", st->current.major, st->current.minor, st->current.build);
		json_object_object_add(o, "current_version", json_object_new_string(v));
		snprintf(v, sizeof(v), "%u.%u.%u", st->committed.major, st->committed.minor, st->committed.build);
		json_object_object_add(o, "committed_version", json_object_new_string(v));
		json_object_object_add(o, "guests", json_object_new_int64(st->guest_count));
		json_object_object_add(o, "mask_chip_id", json_object_new_boolean(st->mask_chip_id));
		json_object_object_add(o, "mask_chip_key", json_object_new_boolean(st->mask_chip_key));
		json_object_object_add(o, "vlek_loaded", json_object_new_boolean(st->vlek_loaded));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		if (running)
			printf("%-15s running, pid %" PRIu32 ", host socket %s\n", "daemon:", pid, a->socket);
		else
			printf("%-15s not running (the state below was read from %s)\n", "daemon:", a->state);
		printf("%-15s %s\n", "product:", sa_product_name(st->product));
		printf("%-15s %s\n", "CHIP_ID:", hex);
		printf("%-15s %s\n", "CURRENT_TCB:", cur);
		printf("%-15s %s\n", "REPORTED_TCB:", rep);
		printf("%-15s %s\n", "COMMITTED_TCB:", com);
		printf("%-15s current %u.%u.%u, committed %u.%u.%u\n", "firmware:", st->current.major,
		       st->current.minor, st->current.build, st->committed.major, st->committed.minor,
		       st->committed.build);
		if (running)
			printf("%-15s %" PRIu32 " launched, %" PRIu32 " with a guest channel\n", "guests:",
			       st->guest_count, channels);
		else
			printf("%-15s %" PRIu32 " launched\n", "guests:", st->guest_count);
		printf("%-15s MASK_CHIP_ID %s, MASK_CHIP_KEY %s, VLEK %s\n", "config:", st->mask_chip_id ? "on" : "off",
		       st->mask_chip_key ? "on" : "off", st->vlek_loaded ? "loaded" : "not loaded");
	}
	return running ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
}

static int do_status(const struct args *a)
{
	sa_emu_client *c;
	sa_error err;
	sa_emu_status st;
	uint32_t pid = 0, channels = 0;
	if (connect_host(a, &c, &err) == SA_OK) {
		sa_status s = sa_emu_client_status(c, &st, &pid, &channels, &err);
		sa_emu_client_close(c);
		if (s != SA_OK)
			return refused(&err);
		return print_status(a, &st, true, pid, channels);
	}
	if (!a->state) {
		fprintf(stderr, "sevattest %s: %s\n", V, err.msg);
		return CLI_EXIT_REJECTED;
	}
	sa_emu *e;
	if (sa_emu_open(a->state, &e, &err) != SA_OK)
		return fail(&err);
	sa_status s = sa_emu_platform_status(e, &st, &err);
	sa_emu_close(e);
	if (s != SA_OK)
		return fail(&err);
	return print_status(a, &st, false, 0, 0);
}

/* ---- export-root ---- */

static int write_out(const char *path, const void *data, size_t len)
{
	sa_error err;
	if (!path || !strcmp(path, "-")) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "sevattest %s: writing standard output: %s\n", V, strerror(errno));
			return CLI_EXIT_USAGE;
		}
		return CLI_EXIT_OK;
	}
	if (sa_write_file_atomic(path, data, len, 0644, &err) != SA_OK)
		return fail(&err);
	return CLI_EXIT_OK;
}

static int do_export(const struct args *a)
{
	sa_emu_client *c = NULL;
	sa_emu *e = NULL;
	sa_error err;
	sa_status s;
	/* Through the daemon when it runs (it holds the state's lock), else from the state directly. */
	if (connect_host(a, &c, &err) != SA_OK) {
		if (!a->state)
			return fail(&err);
		if (sa_emu_open(a->state, &e, &err) != SA_OK)
			return fail(&err);
	}
	char *pem = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	if (a->vek && c)
		s = sa_emu_client_export_vek(c, a->vlek, &der, &len, &err);
	else if (a->vek)
		s = sa_emu_export_vek(e, a->vlek, &der, &len, &err);
	else if (a->chain && c)
		s = sa_emu_client_export_chain(c, a->vlek, &pem, &err);
	else if (a->chain)
		s = sa_emu_export_chain(e, a->vlek, &pem, &err);
	else
		s = c ? sa_emu_client_export_root(c, &pem, &err) : sa_emu_export_root(e, &pem, &err);
	sa_emu_client_close(c);
	if (e)
		sa_emu_close(e);
	if (s != SA_OK)
		return refused(&err);
	int rc = pem ? write_out(a->out, pem, strlen(pem)) : write_out(a->out, der, len);
	free(pem);
	free(der);
	return rc;
}

/* ---- vm launch ---- */

struct launcher {
	sa_emu_client *c;
	uint32_t handle;
	size_t pages;
	bool refused; /* the daemon refused a page of the plan */
};

static int update(struct launcher *l, uint8_t type, uint64_t gpa, const uint8_t *page)
{
	sa_error err;
	uint32_t fw;
	if (sa_emu_client_launch_update(l->c, l->handle, type, gpa, page, &fw, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: vm launch: %s page at GPA 0x%" PRIx64 ": %s\n", V,
			sa_page_type_name(type), gpa, err.msg);
		return CLI_EXIT_REJECTED;
	}
	l->pages++;
	return 0;
}

/* Page i (0..3) of the built-in test image (documented in the usage text). */
static void builtin_page(unsigned i, uint8_t page[SA_PAGE_SIZE])
{
	int n = snprintf((char *)page, SA_PAGE_SIZE, "sevattest test image page %u\n", i);
	for (size_t j = 0; (size_t)n + j < SA_PAGE_SIZE; j++)
		page[(size_t)n + j] = (uint8_t)((i * 37u + j) % 251u);
}

/* The built-in test image's VMSA: "sevattest test VMSA" then zeros. */
static void builtin_vmsa(uint8_t page[SA_PAGE_SIZE])
{
	memset(page, 0, SA_PAGE_SIZE);
	memcpy(page, "sevattest test VMSA", 19);
}

/* The built-in test image (documented in the usage text). */
static int launch_builtin(struct launcher *l)
{
	uint8_t page[SA_PAGE_SIZE];
	for (unsigned i = 0; i < 4; i++) {
		builtin_page(i, page);
		int rc = update(l, SA_PAGE_NORMAL, 0x00100000u + (uint64_t)i * SA_PAGE_SIZE, page);
		if (rc)
			return rc;
	}
	int rc = update(l, SA_PAGE_SECRETS, 0x00800000u, NULL);
	memset(page, 0, sizeof(page));
	if (!rc)
		rc = update(l, SA_PAGE_CPUID, 0x00801000u, page);
	builtin_vmsa(page);
	if (!rc)
		rc = update(l, SA_PAGE_VMSA, SA_VMSA_GPA, page);
	return rc;
}

static bool parse_type(const char *t, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t type;
	} names[] = {{"normal", SA_PAGE_NORMAL},         {"vmsa", SA_PAGE_VMSA},       {"zero", SA_PAGE_ZERO},
		     {"unmeasured", SA_PAGE_UNMEASURED}, {"secrets", SA_PAGE_SECRETS}, {"cpuid", SA_PAGE_CPUID}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(t, names[i].name)) {
			*out = names[i].type;
			return true;
		}
	}
	return false;
}

static int launch_manifest(struct launcher *l, const char *path)
{
	sa_error err;
	uint8_t *text;
	size_t len;
	if (cli_read_file(path, &text, &len, &err) != SA_OK)
		return fail(&err);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int rc = 0;
	size_t line = 0;
	char *save = NULL;
	char *buf = malloc(len + 1);
	if (!buf) {
		free(text);
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	free(text);
	for (char *ln = buf, *next; ln && !rc; ln = next) {
		next = strchr(ln, '\n');
		if (next)
			*next++ = '\0';
		line++;
		char *hash = strchr(ln, '#');
		if (hash)
			*hash = '\0';
		char *ty = strtok_r(ln, " \t\r", &save), *ga = strtok_r(NULL, " \t\r", &save);
		char *data = strtok_r(NULL, " \t\r", &save), *extra = strtok_r(NULL, " \t\r", &save);
		if (!ty)
			continue;
		uint8_t type = 0;
		char *end;
		errno = 0;
		unsigned long long gpa = ga ? strtoull(ga, &end, 16) : 0;
		bool needs_data = false;
		if (!parse_type(ty, &type))
			rc = cli_usage_error(V,
					     "%s:%zu: page type '%s': expected normal, vmsa, zero, unmeasured, "
					     "secrets or cpuid",
					     path, line, ty);
		else if (!ga || errno || *end || ga[0] == '-')
			rc = cli_usage_error(V, "%s:%zu: expected a hex GPA after the page type", path, line);
		else if (extra)
			rc = cli_usage_error(V, "%s:%zu: unexpected '%s' (expected TYPE GPA [DATA])", path, line,
					     extra);
		else if ((needs_data = type == SA_PAGE_NORMAL || type == SA_PAGE_VMSA || type == SA_PAGE_CPUID) !=
			 !!data)
			rc = cli_usage_error(V, "%s:%zu: %s pages %s a DATA file", path, line, ty,
					     needs_data ? "need" : "take no");
		if (rc)
			break;
		if (!data) {
			rc = update(l, type, gpa, NULL);
			continue;
		}
		char dp[PATH_MAX];
		int k = data[0] == '/' ? snprintf(dp, sizeof(dp), "%s", data)
				       : snprintf(dp, sizeof(dp), "%s/%s", dir, data);
		if (k < 0 || (size_t)k >= sizeof(dp)) {
			rc = cli_usage_error(V, "%s:%zu: path too long", path, line);
			break;
		}
		uint8_t *pages;
		size_t plen;
		if (cli_read_file(dp, &pages, &plen, &err) != SA_OK) {
			rc = fail(&err);
			break;
		}
		if (plen == 0 || plen % SA_PAGE_SIZE)
			rc = cli_usage_error(V, "%s:%zu: %s holds %zu bytes, expected whole 4096-byte pages", path,
					     line, dp, plen);
		for (size_t off = 0; !rc && off < plen; off += SA_PAGE_SIZE)
			rc = update(l, type, type == SA_PAGE_VMSA ? gpa : gpa + off, pages + off);
		free(pages);
	}
	free(buf);
	return rc;
}

/* --ovmf: the SNP page plan, as QEMU + OVMF lay it out, one SNP_LAUNCH_UPDATE per page. */
static sa_status plan_page(void *ctx, uint8_t type, uint64_t gpa, const uint8_t *contents, sa_error *err)
{
	static const uint8_t zero_page[SA_PAGE_SIZE]; /* the CPUID page: contents needed, measured as zero */
	struct launcher *l = ctx;
	if (type == SA_PAGE_CPUID && !contents)
		contents = zero_page;
	uint32_t fw;
	sa_error why;
	if (sa_emu_client_launch_update(l->c, l->handle, type, gpa, contents, &fw, &why) != SA_OK) {
		l->refused = true;
		return sa_error_set(err, why.code, "%s page at GPA 0x%" PRIx64 ": %s", sa_page_type_name(type), gpa,
				    why.msg);
	}
	l->pages++;
	return SA_OK;
}

/* QEMU measures the kernel, initrd and command line only with kernel-hashes=on (warn unless quiet: --json). */
static void unmeasured_kernel(sa_measure_params *p, bool quiet)
{
	if (p->has_kernel && !quiet)
		fprintf(stderr, "sevattest %s: vm launch: kernel-hashes is off: the kernel, initrd and command line "
				"are not measured\n",
			V);
	p->has_kernel = false;
	p->kernel = p->initrd = NULL;
	p->kernel_len = p->initrd_len = 0;
	p->cmdline = NULL;
}

static int launch_ovmf(struct launcher *l, struct cli_guest *g, bool measure_kernel, bool quiet)
{
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	p.mode = SA_MEASURE_SNP;
	int rc = cli_guest_params(V, g, &p);
	if (rc)
		return rc;
	if (!measure_kernel)
		unmeasured_kernel(&p, quiet);
	sa_error err;
	if (sa_snp_page_plan(&p, plan_page, l, NULL, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: vm launch: %s\n", V, err.msg);
		return err.code == SA_ERR_UNSUPPORTED || l->refused ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
	}
	return 0;
}

static void hexstr(const uint8_t *p, size_t n, char *out) { sa_hex_encode(p, n, out); }

/* ---- vm launch --object ---- */

/* Parse --object (and read a sev-guest's files) before anything is launched: bad input launches nothing. */
static int load_object(const struct args *a, sa_launchcfg *cfg)
{
	sa_error err;
	sa_status st = a->object[0] == '@' ? sa_launchcfg_parse_file(a->object + 1, cfg, &err)
					   : sa_launchcfg_parse(a->object, strlen(a->object), cfg, &err);
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: vm launch: --object: %s\n", V, err.msg);
		return CLI_EXIT_USAGE;
	}
	if (cfg->type == SA_LAUNCHCFG_SNP && (a->paused || a->secret))
		return cli_usage_error(V, "vm launch: --%s needs an SEV launch (--object sev-guest,...), not sev-snp-guest",
				       a->paused ? "paused" : "secret");
	if (cfg->type == SA_LAUNCHCFG_SEV && a->n_pages)
		return cli_usage_error(V, "vm launch: --pages lists SNP pages; sev-guest launches --ovmf or the "
					  "built-in test image");
	if (cfg->type == SA_LAUNCHCFG_SEV && cfg->has_handle && cfg->handle != 0)
		return cli_usage_error(V, "vm launch: --object: handle=%" PRIu32 ": the emulator does not share a "
					  "guest's keys with another (handle must be 0)",
				       cfg->handle);
	if (cfg->type == SA_LAUNCHCFG_SEV && cfg->has_dh_cert_file != cfg->has_session_file)
		return cli_usage_error(V, "vm launch: --object: dh-cert-file and session-file go together (the "
					  "session is wrapped for that certificate)");
	if (sa_launchcfg_load_files(cfg, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: vm launch: --object: %s\n", V, err.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The object's properties the emulator takes but does not act on, comma-separated, into buf. */
static const char *not_applied(const sa_launchcfg *cfg, char *buf, size_t cap)
{
	const struct {
		bool set;
		const char *name;
	} props[] = {
	    {cfg->has_sev_device, "sev-device"},
	    {cfg->has_cbitpos, "cbitpos"},
	    {true, "reduced-phys-bits"},
	    {cfg->has_gosvw, "guest-visible-workarounds"},
	    {cfg->has_init_flags, "init-flags"},
	    {cfg->has_vcek_disabled, "vcek-disabled"},
	    {cfg->has_id_auth && !cfg->has_id_block, "id-auth (no id-block)"},
	    {cfg->has_author_key_enabled && !cfg->has_id_block, "author-key-enabled (no id-block)"},
	    {cfg->has_legacy_vm_type, "legacy-vm-type"},
	};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (!props[i].set)
			continue;
		int k = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", props[i].name);
		if (k < 0 || (size_t)k >= cap - n)
			break;
		n += (size_t)k;
	}
	return buf;
}

static void json_add_str(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* The canonical -object text of cfg, for the output ("" if it cannot be had). */
static char *object_text(const sa_launchcfg *cfg)
{
	char *t = NULL;
	sa_error err;
	if (sa_launchcfg_format(cfg, &t, &err) != SA_OK)
		return NULL;
	return t;
}

static void abandon_guest(struct launcher *l, bool sev)
{
	/* A half-launched guest is of no use: decommission it. */
	sa_error err;
	uint32_t fw;
	if (sa_emu_client_decommission(l->c, l->handle, &fw, &err) != SA_OK)
		fprintf(stderr, "sevattest %s: could not decommission the half-launched %s guest %" PRIu32 ": %s\n", V,
			sev ? "SEV" : "SNP", l->handle, err.msg);
}

/* ---- vm launch: SNP ---- */

static int do_snp_launch(struct args *a, const sa_launchcfg *cfg)
{
	struct launcher l = {0};
	sa_error err;
	uint32_t fw;
	if (connect_host(a, &l.c, &err) != SA_OK)
		return refused(&err);
	uint64_t policy = cfg ? cfg->policy : a->has_policy ? a->policy : DEFAULT_POLICY;
	const uint8_t *host_data = cfg && cfg->has_host_data ? cfg->host_data : a->host_data;
	bool id_block = cfg && cfg->has_id_block;
	int rc = 0;
	if (sa_emu_client_launch_start(l.c, policy, &l.handle, &fw, &err) != SA_OK) {
		rc = refused(&err);
		goto out;
	}
	if (a->has_guest)
		rc = launch_ovmf(&l, &a->guest, !cfg || cfg->kernel_hashes, a->json);
	else if (a->n_pages == 0)
		rc = launch_builtin(&l);
	for (size_t i = 0; !rc && i < a->n_pages; i++)
		rc = launch_manifest(&l, a->pages[i]);
	if (rc) {
		abandon_guest(&l, false);
		goto out;
	}
	uint8_t ld[48];
	char sock[SA_EP_PATH_MAX + 1];
	if (sa_emu_client_launch_finish(l.c, l.handle, id_block ? cfg->id_block : NULL, id_block ? cfg->id_auth : NULL,
					id_block && cfg->author_key_enabled, host_data, ld, sock, &fw,
					&err) != SA_OK) {
		rc = refused(&err);
		abandon_guest(&l, false);
		goto out;
	}
	char ldh[97], hdh[65], ign[256];
	hexstr(ld, sizeof(ld), ldh);
	hexstr(host_data, 32, hdh);
	char *obj = cfg ? object_text(cfg) : NULL;
	if (a->json) {
		json_object *o = json_object_new_object();
		char pol[24];
		snprintf(pol, sizeof(pol), "0x%" PRIx64, policy);
		json_object_object_add(o, "handle", json_object_new_int64(l.handle));
		json_add_str(o, "socket", sock);
		json_add_str(o, "launch_digest", ldh);
		json_add_str(o, "policy", pol);
		json_add_str(o, "host_data", hdh);
		json_object_object_add(o, "pages", json_object_new_int64((int64_t)l.pages));
		if (cfg) {
			json_add_str(o, "object", obj ? obj : "");
			json_object_object_add(o, "id_block", json_object_new_boolean(id_block));
			json_object_object_add(o, "author_key_enabled",
					       json_object_new_boolean(id_block && cfg->author_key_enabled));
			json_add_str(o, "not_applied", not_applied(cfg, ign, sizeof(ign)));
		}
		json_print(o);
	} else {
		printf("handle:        %" PRIu32 "\n", l.handle);
		printf("guest channel: %s\n", sock);
		printf("launch digest: %s\n", ldh);
		printf("policy:        0x%" PRIx64 "\n", policy);
		printf("pages:         %zu\n", l.pages);
		if (cfg) {
			printf("host data:     %s\n", hdh);
			printf("id block:      %s\n", !id_block ? "none"
							: cfg->author_key_enabled ? "checked, with the author key"
										  : "checked");
			printf("object:        %s\n", obj ? obj : "");
			printf("not applied:   %s\n", not_applied(cfg, ign, sizeof(ign)));
		}
	}
	free(obj);
out:
	sa_emu_client_close(l.c);
	return rc;
}

/* ---- vm launch: SEV and SEV-ES ---- */

/* A file of exactly want bytes (want 0: any length up to SA_SEV_SECRET_MAX), binary or base64. */
static int read_blob(const char *opt, const char *path, size_t want, uint8_t **out, size_t *out_len)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	sa_error e;
	sa_status st = cli_read_file(path, &raw, &raw_len, &e);
	if (st == SA_OK)
		st = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, want ? want : raw_len, out, out_len, NULL, &e);
	free(raw);
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: --%s %s: %s\n", V, opt, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	if ((want && *out_len != want) || (!want && (*out_len == 0 || *out_len > SA_SEV_SECRET_MAX))) {
		if (want)
			fprintf(stderr, "sevattest %s: --%s %s: %zu bytes, expected %zu\n", V, opt, path, *out_len, want);
		else
			fprintf(stderr, "sevattest %s: --%s %s: %zu bytes, expected 1 to %d\n", V, opt, path, *out_len,
				SA_SEV_SECRET_MAX);
		free(*out);
		*out = NULL;
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* OVMF's SEV secret area (GUID 4c2eb361-...): its base, QEMU's default GPA for a launch secret. */
static bool ovmf_secret_gpa(const uint8_t *ovmf, size_t len, uint64_t *gpa)
{
	const uint8_t *d;
	size_t n;
	sa_error err;
	if (sa_ovmf_find_entry(ovmf, len, "4c2eb361-7d9b-4cc3-8081-127c90d3d294", &d, &n, &err) != SA_OK || !d ||
	    n < 8)
		return false;
	*gpa = (uint64_t)d[0] | (uint64_t)d[1] << 8 | (uint64_t)d[2] << 16 | (uint64_t)d[3] << 24;
	return *gpa != 0;
}

struct sev_plan {
	sa_measure_params p;
	sa_measure_result expected; /* with --ovmf */
	sa_ovmf ovmf;
	bool have_ovmf;
};

/* With --ovmf: what QEMU measures, and the digest `sevattest measure` predicts for it. */
static int sev_prepare(struct args *a, const sa_launchcfg *cfg, struct sev_plan *sp)
{
	memset(sp, 0, sizeof(*sp));
	if (!a->has_guest)
		return 0;
	sp->p.mode = sa_launchcfg_is_es(cfg) ? SA_MEASURE_SEVES : SA_MEASURE_SEV;
	int rc = cli_guest_params(V, &a->guest, &sp->p);
	if (rc)
		return rc;
	if (!cfg->kernel_hashes)
		unmeasured_kernel(&sp->p, a->json);
	sa_error err;
	if (sa_measure(&sp->p, &sp->expected, &err) != SA_OK ||
	    sa_ovmf_parse(sp->p.ovmf, sp->p.ovmf_len, &sp->ovmf, &err) != SA_OK) {
		fprintf(stderr, "sevattest %s: vm launch: %s\n", V, err.msg);
		return CLI_EXIT_USAGE;
	}
	sp->have_ovmf = true;
	return 0;
}

/* The daemon refused a command (its message names the command). */
static int sev_refused(const sa_error *err)
{
	fprintf(stderr, "sevattest %s: vm launch: %s\n", V, err->msg);
	return CLI_EXIT_REJECTED;
}

/* LAUNCH_UPDATE_DATA and, for SEV-ES, LAUNCH_UPDATE_VMSA: the plan's, or the built-in image's. */
static int sev_send(struct launcher *l, const sa_launchcfg *cfg, const struct sev_plan *sp, unsigned *vmsas)
{
	sa_error err;
	uint32_t fw;
	uint8_t page[SA_PAGE_SIZE];
	bool es = sa_launchcfg_is_es(cfg);
	*vmsas = 0;
	if (!sp->have_ovmf) {
		for (unsigned i = 0; i < 4; i++) {
			builtin_page(i, page);
			if (sa_emu_client_sev_launch_update_data(l->c, l->handle, page, sizeof(page), &fw, &err) != SA_OK)
				return sev_refused(&err);
			l->pages++;
		}
		if (es) {
			builtin_vmsa(page);
			if (sa_emu_client_sev_launch_update_vmsa(l->c, l->handle, page, &fw, &err) != SA_OK)
				return sev_refused(&err);
			(*vmsas)++;
		}
		return 0;
	}
	if (sa_emu_client_sev_launch_update_data(l->c, l->handle, sp->p.ovmf, sp->p.ovmf_len, &fw, &err) != SA_OK)
		return sev_refused(&err);
	l->pages += sp->p.ovmf_len / SA_PAGE_SIZE;
	if (sp->expected.has_hashes_table &&
	    sa_emu_client_sev_launch_update_data(l->c, l->handle, sp->expected.hashes_table,
						 sizeof(sp->expected.hashes_table), &fw, &err) != SA_OK)
		return sev_refused(&err);
	for (unsigned i = 0; es && i < sp->p.vcpus; i++) {
		/* QEMU's order: vCPU 0 (the BSP) first; SEV-ES VMSAs carry SEV_FEATURES 0 */
		uint32_t eip = i == 0 ? SA_BSP_EIP : sp->ovmf.sev_es_reset_eip;
		if (sa_vmsa_build(sp->p.vmm, eip, sp->p.vcpu_sig, 0, page, &err) != SA_OK) {
			fprintf(stderr, "sevattest %s: vm launch: vCPU %u: %s\n", V, i, err.msg);
			return CLI_EXIT_USAGE;
		}
		if (sa_emu_client_sev_launch_update_vmsa(l->c, l->handle, page, &fw, &err) != SA_OK) {
			fprintf(stderr, "sevattest %s: vm launch: LAUNCH_UPDATE_VMSA of vCPU %u: %s\n", V, i, err.msg);
			return CLI_EXIT_REJECTED;
		}
		(*vmsas)++;
	}
	return 0;
}

/* The VM's QMP socket, from the daemon's list (a paused guest has not finished, which would name it). */
static void find_qmp(sa_emu_client *c, uint32_t handle, char *qmp, size_t cap)
{
	sa_ep_vm_info *vms = NULL;
	size_t n = 0;
	uint32_t total = 0;
	sa_error err;
	qmp[0] = '\0';
	if (sa_emu_client_vm_list(c, &vms, &n, &total, &err) != SA_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (vms[i].handle == handle)
			snprintf(qmp, cap, "%s", vms[i].qmp);
	free(vms);
}

static int do_sev_launch(struct args *a, const sa_launchcfg *cfg)
{
	struct sev_plan *sp = calloc(1, sizeof(*sp));
	uint8_t *hdr = NULL, *secret = NULL;
	size_t hdr_len = 0, secret_len = 0;
	if (!sp) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	int rc = sev_prepare(a, cfg, sp);
	if (!rc && a->secret_hdr)
		rc = read_blob("secret-header", a->secret_hdr, SA_SEV_SECRET_HDR_SIZE, &hdr, &hdr_len);
	if (!rc && a->secret)
		rc = read_blob("secret", a->secret, 0, &secret, &secret_len);
	uint64_t gpa = a->secret_gpa;
	if (!rc && a->secret && !a->has_secret_gpa &&
	    !(sp->have_ovmf && ovmf_secret_gpa(sp->p.ovmf, sp->p.ovmf_len, &gpa)))
		rc = cli_usage_error(V, "vm launch: --secret needs --secret-gpa HEX (%s)",
				     sp->have_ovmf ? "the OVMF image has no SEV secret area" : "no --ovmf image");
	if (rc)
		goto done;

	struct launcher l = {0};
	sa_error err;
	uint32_t fw;
	bool es = sa_launchcfg_is_es(cfg);
	if (connect_host(a, &l.c, &err) != SA_OK) {
		rc = refused(&err);
		goto done;
	}
	if (sa_emu_client_sev_launch_start(l.c, (uint32_t)cfg->policy, cfg->godh_loaded ? cfg->godh : NULL,
					   SA_LAUNCHCFG_GODH_SIZE, cfg->session_loaded ? cfg->session : NULL,
					   SA_LAUNCHCFG_SESSION_SIZE, &l.handle, &fw, &err) != SA_OK) {
		rc = sev_refused(&err);
		goto close;
	}
	unsigned vmsas = 0;
	rc = sev_send(&l, cfg, sp, &vmsas);
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	if (!rc && sa_emu_client_sev_launch_measure(l.c, l.handle, blob, &fw, &err) != SA_OK)
		rc = sev_refused(&err);
	if (!rc && secret &&
	    sa_emu_client_sev_launch_secret(l.c, l.handle, hdr, secret, secret_len, gpa, &fw, &err) != SA_OK)
		rc = sev_refused(&err);
	char qmp[SA_EP_PATH_MAX + 1] = "";
	if (!rc && a->paused)
		find_qmp(l.c, l.handle, qmp, sizeof(qmp));
	else if (!rc && sa_emu_client_sev_launch_finish(l.c, l.handle, qmp, sizeof(qmp), &fw, &err) != SA_OK)
		rc = sev_refused(&err);
	sa_emu_sev_guest_info gi;
	memset(&gi, 0, sizeof(gi));
	if (!rc && sa_emu_client_sev_guest_info(l.c, l.handle, &gi, &err) != SA_OK)
		rc = sev_refused(&err);
	if (rc) {
		abandon_guest(&l, true);
		goto close;
	}
	char *b64 = sa_base64_encode(blob, sizeof(blob));
	char *obj = object_text(cfg);
	char ldh[65], exh[65], ign[256];
	hexstr(gi.launch_digest, sizeof(gi.launch_digest), ldh);
	if (sp->have_ovmf)
		hexstr(sp->expected.digest, 32, exh);
	const char *state = a->paused ? "launch-secret (paused: `cont` over QMP finishes the launch)" : "running";
	if (a->json) {
		json_object *o = json_object_new_object();
		char pol[16];
		snprintf(pol, sizeof(pol), "0x%" PRIx32, (uint32_t)cfg->policy);
		json_object_object_add(o, "handle", json_object_new_int64(l.handle));
		json_add_str(o, "type", es ? "SEV-ES" : "SEV");
		json_add_str(o, "policy", pol);
		json_add_str(o, "launch_measure", b64 ? b64 : "");
		json_add_str(o, "launch_digest", ldh);
		if (sp->have_ovmf)
			json_add_str(o, "expected_launch_digest", exh);
		json_object_object_add(o, "data_pages", json_object_new_int64((int64_t)l.pages));
		json_object_object_add(o, "vmsas", json_object_new_int64(vmsas));
		json_object_object_add(o, "secrets", json_object_new_int64(gi.secrets));
		json_add_str(o, "state", a->paused ? "launch-secret" : "running");
		json_add_str(o, "qmp", qmp);
		json_add_str(o, "object", obj ? obj : "");
		json_add_str(o, "not_applied", not_applied(cfg, ign, sizeof(ign)));
		json_print(o);
	} else {
		printf("handle:         %" PRIu32 "\n", l.handle);
		printf("type:           %s\n", es ? "SEV-ES" : "SEV");
		printf("policy:         0x%" PRIx32 "\n", (uint32_t)cfg->policy);
		printf("launch measure: %s\n", b64 ? b64 : "");
		printf("launch digest:  %s\n", ldh);
		if (sp->have_ovmf)
			printf("expected:       %s (sevattest measure --mode %s)\n", exh, es ? "seves" : "sev");
		printf("data:           %zu pages, %u VMSA%s\n", l.pages, vmsas, vmsas == 1 ? "" : "s");
		printf("secrets:        %" PRIu32 " injected\n", gi.secrets);
		printf("state:          %s\n", state);
		printf("QMP socket:     %s\n", qmp);
		printf("object:         %s\n", obj ? obj : "");
		printf("not applied:    %s\n", not_applied(cfg, ign, sizeof(ign)));
	}
	free(b64);
	free(obj);
close:
	sa_emu_client_close(l.c);
done:
	if (secret)
		OPENSSL_cleanse(secret, secret_len);
	free(hdr);
	free(secret);
	free(sp);
	return rc;
}

static int do_vm_launch(struct args *a)
{
	if (!a->object)
		return do_snp_launch(a, NULL);
	sa_launchcfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	int rc = load_object(a, cfg);
	if (!rc)
		rc = cfg->type == SA_LAUNCHCFG_SEV ? do_sev_launch(a, cfg) : do_snp_launch(a, cfg);
	sa_launchcfg_clear(cfg);
	free(cfg);
	return rc;
}

static int do_vm_list(const struct args *a)
{
	sa_emu_client *c;
	sa_error err;
	if (connect_host(a, &c, &err) != SA_OK)
		return refused(&err);
	sa_ep_vm_info *vms = NULL;
	size_t n = 0;
	uint32_t total = 0;
	sa_status s = sa_emu_client_vm_list(c, &vms, &n, &total, &err);
	sa_emu_client_close(c);
	if (s != SA_OK)
		return refused(&err);
	char ld[97];
	if (a->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			hexstr(vms[i].measurement, sizeof(vms[i].measurement), ld);
			json_object_object_add(o, "handle", json_object_new_int64(vms[i].handle));
			json_object_object_add(o, "socket", json_object_new_string(vms[i].socket));
			json_object_object_add(o, "launch_digest", json_object_new_string(ld));
			json_object_object_add(o, "channel_in_use", json_object_new_boolean(vms[i].busy));
			json_object_array_add(arr, o);
		}
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else if (n == 0) {
		printf("no running guests\n");
	} else {
		printf("%-7s %-7s %-96s %s\n", "HANDLE", "CHANNEL", "LAUNCH DIGEST", "SOCKET");
		for (size_t i = 0; i < n; i++) {
			hexstr(vms[i].measurement, sizeof(vms[i].measurement), ld);
			printf("%-7" PRIu32 " %-7s %s %s\n", vms[i].handle, vms[i].busy ? "in use" : "free", ld,
			       vms[i].socket);
		}
		if (total > n)
			printf("(%" PRIu32 " more not listed)\n", total - (uint32_t)n);
	}
	free(vms);
	return CLI_EXIT_OK;
}

static int do_vm_stop(const struct args *a)
{
	char *end;
	errno = 0;
	unsigned long h = strtoul(a->operand, &end, 0);
	if (errno || end == a->operand || *end || a->operand[0] == '-' || h == 0 || h > UINT32_MAX)
		return cli_usage_error(V, "vm stop: HANDLE '%s': expected a guest handle (1 or more)", a->operand);
	sa_emu_client *c;
	sa_error err;
	uint32_t fw;
	if (connect_host(a, &c, &err) != SA_OK)
		return refused(&err);
	sa_status s = sa_emu_client_decommission(c, (uint32_t)h, &fw, &err);
	sa_emu_client_close(c);
	if (s != SA_OK)
		return refused(&err);
	printf("guest %lu decommissioned\n", h);
	return CLI_EXIT_OK;
}

int cmd_emu(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (!strcmp(a.sub, "create"))
		return do_create(&a);
	if (!strcmp(a.sub, "start"))
		return do_start(&a);
	if (!strcmp(a.sub, "stop"))
		return do_stop(&a);
	if (!strcmp(a.sub, "status"))
		return do_status(&a);
	if (!strcmp(a.sub, "export-root"))
		return do_export(&a);
	if (!strcmp(a.sub, "vm launch")) {
		rc = do_vm_launch(&a);
		cli_guest_free(&a.guest);
		return rc;
	}
	if (!strcmp(a.sub, "vm list"))
		return do_vm_list(&a);
	return do_vm_stop(&a);
}
