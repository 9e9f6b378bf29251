/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: `sevattest measure` end to end (map the files, parse OVMF, hash
 * every page, fold the PAGE_INFO chain and the VMSA), as a ratio to
 * `openssl speed -seconds N -evp sha384` throughput at the largest block size
 * openssl prints, measured in the same run (rounds of each interleaved, best
 * round of each side kept, both pinned to the same CPU).
 *
 *   (a) vectors: vector S1's inputs (the AmdSev OVMF suffix fixture of
 *       sev-snp-measure, an empty kernel and initrd, append "console=ttyS0
 *       loglevel=7", 1 vCPU EPYC-v4, guest features 0x21), checked against S1's
 *       expected measurement; measurements per second.  Skipped with a message
 *       when the vectors are absent.
 *   (b) a 64 MiB synthetic OVMF image (random bytes, with a footer GUID table,
 *       SEV-ES reset block and SEV metadata that this program builds in the
 *       last page, notes/amd-formats.md §1.2) written to a temporary file and
 *       measured in snp mode with 1 vCPU; MiB/s and the ratio to openssl's
 *       SHA-384 throughput.  Target: ratio >= 0.8.
 *
 *   bench_measure [IMAGE_MIB]
 *
 * Exits 0 whatever the ratio; non-zero only when something fails (a wrong S1
 * value, an image that does not parse or measure, an unwritable temporary file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sevattest/encoding.h"
#include "sevattest/measure.h"
#include "sevattest/ovmf.h"

#include "bench_util.h"

#ifndef SA_BENCH_VECTORS
#define SA_BENCH_VECTORS "../shared/vectors"
#endif

#define ROUNDS 3
#define ROUND_SECONDS 1 /* ours per round; openssl: this per block size (six sizes) */
#define TARGET_RATIO 0.8
#define DEFAULT_IMAGE_MIB 64
#define MAX_FILE (2048u * 1024u * 1024u)

static const char S1_FIXTURE[] = "virtee-sev-snp-measure/tests/fixtures/ovmf_AmdSev_suffix.bin";
static const char S1_EXPECTED[] = "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977";
static const char S1_APPEND[] = "console=ttyS0 loglevel=7";

static void die(const char *what, const sa_error *err)
{
	fprintf(stderr, "bench_measure: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

/* One end-to-end measurement from files: map, parse, measure, unmap.  kernel NULL: no direct boot. */
static void measure_files(const char *ovmf_path, const char *kernel_path, const char *initrd_path,
			  const char *cmdline, uint32_t vcpu_sig, uint64_t features, sa_measure_result *r)
{
	sa_error err = {0};
	const uint8_t *ovmf, *kernel = NULL, *initrd = NULL;
	size_t ovmf_len, kernel_len = 0, initrd_len = 0;
	if (sa_map_file(ovmf_path, MAX_FILE, &ovmf, &ovmf_len, &err) != SA_OK)
		die(ovmf_path, &err);
	if (kernel_path && sa_map_file(kernel_path, MAX_FILE, &kernel, &kernel_len, &err) != SA_OK)
		die(kernel_path, &err);
	if (initrd_path && sa_map_file(initrd_path, MAX_FILE, &initrd, &initrd_len, &err) != SA_OK)
		die(initrd_path, &err);
	sa_measure_params p;
	memset(&p, 0, sizeof(p));
	p.mode = SA_MEASURE_SNP;
	p.ovmf = ovmf;
	p.ovmf_len = ovmf_len;
	p.vcpus = 1;
	p.vcpu_sig = vcpu_sig;
	p.vmm = SA_VMM_QEMU;
	p.guest_features = features;
	p.has_kernel = kernel_path != NULL;
	p.kernel = kernel;
	p.kernel_len = kernel_len;
	p.initrd = initrd;
	p.initrd_len = initrd_len;
	p.cmdline = cmdline;
	if (sa_measure(&p, r, &err) != SA_OK)
		die("sa_measure", &err);
	sa_unmap_file(initrd, initrd_len);
	sa_unmap_file(kernel, kernel_len);
	sa_unmap_file(ovmf, ovmf_len);
}

/* Canonical GUID text -> the 16 bytes an OVMF footer table carries (EFI mixed-endian). */
static void guid_le(const char *text, uint8_t out[16])
{
	uint8_t b[16];
	size_t n = 0;
	for (const char *s = text; *s && n < 16; s++) {
		if (*s == '-')
			continue;
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1) {
			fprintf(stderr, "bench_measure: bad GUID %s\n", text);
			exit(1);
		}
		b[n++] = (uint8_t)v;
		s++;
	}
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (int i = 0; i < 16; i++)
		out[i] = b[order[i]];
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The synthetic image's last page (§1.2): the footer GUID table ending 0x20 bytes before the end
 * (footer entry, SEV-ES reset block 0x0080B004, SEV metadata offset), and the SEV metadata
 * ("ASEV", version 1) 0xF00 bytes before the end, with sections laid out as edk2's AmdSev image
 * lays them out (no kernel-hashes section: the synthetic image is measured without a kernel).
 */
static void build_last_page(uint8_t *page /* 4096 bytes, the image's last */)
{
	const size_t E = 4096;
	/* footer entry: u16 length (the whole table) ‖ GUID at [E-0x32, E-0x20) */
	size_t pos = E - 0x32;
	const size_t entry_len = 18 + 4; /* u32 data ‖ u16 length ‖ GUID */
	put_u16(page + pos, (uint16_t)(18 + 2 * entry_len));
	guid_le("96b582de-1fb2-45f7-baea-a366c55a082d", page + pos + 2);
	/* entries, read backwards from the footer entry's start */
	pos -= entry_len;
	put_u32(page + pos, 0x0080B004u);
	put_u16(page + pos + 4, (uint16_t)entry_len);
	guid_le("00f771de-1a7e-4fcb-890e-68c77e2fb44e", page + pos + 6);
	pos -= entry_len;
	const uint32_t meta_off = 0xF00; /* from the end of the image */
	put_u32(page + pos, meta_off);
	put_u16(page + pos + 4, (uint16_t)entry_len);
	guid_le("dc886566-984a-4798-a75e-5585a7bf67cc", page + pos + 6);
	/* SEV metadata */
	static const uint32_t sections[][3] = {
		{0x800000, 0x9000, SA_OVMF_SNP_SEC_MEM},
		{0x809000, 0x3000, SA_OVMF_SNP_SEC_MEM},
		{0x80D000, 0x1000, SA_OVMF_SNP_SECRETS},
		{0x80E000, 0x1000, SA_OVMF_CPUID},
		{0x810000, 0xF0000, SA_OVMF_SNP_SEC_MEM},
	};
	const uint32_t n = (uint32_t)(sizeof(sections) / sizeof(sections[0]));
	uint8_t *m = page + E - meta_off;
	memcpy(m, "ASEV", 4);
	put_u32(m + 4, 16 + 12 * n);
	put_u32(m + 8, 1);
	put_u32(m + 12, n);
	for (uint32_t i = 0; i < n; i++)
		for (int j = 0; j < 3; j++)
			put_u32(m + 16 + 12 * i + 4 * (uint32_t)j, sections[i][j]);
}

/* Write the synthetic image to a new temporary file; returns its path (free() it). */
static char *write_synthetic_image(size_t len)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/sevattest-bench-ovmf-XXXXXX", base && *base ? base : "/tmp");
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		perror("bench_measure: mkstemp");
		exit(1);
	}
	uint8_t *img = malloc(len);
	if (!img)
		die("out of memory", NULL);
	uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64*: random enough for bytes nobody parses */
	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545F4914F6CDD1Dull;
		memcpy(img + i, &v, 8);
	}
	build_last_page(img + len - 4096);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, img + off, len - off);
		if (w <= 0) {
			perror("bench_measure: write");
			unlink(tmpl);
			exit(1);
		}
		off += (size_t)w;
	}
	free(img);
	if (close(fd) != 0) {
		perror("bench_measure: close");
		unlink(tmpl);
		exit(1);
	}
	char *path = strdup(tmpl);
	if (!path)
		die("out of memory", NULL);
	return path;
}

/* Run measure_files for about ROUND_SECONDS; returns measurements per second. */
static double timed_round(const char *ovmf, const char *kernel, const char *initrd, const char *cmdline,
			  uint32_t sig, uint64_t features, const uint8_t want[48], unsigned long *count)
{
	unsigned long n = 0;
	double t0 = bench_now(), t1 = t0;
	while (t1 - t0 < ROUND_SECONDS) {
		sa_measure_result r;
		measure_files(ovmf, kernel, initrd, cmdline, sig, features, &r);
		if (memcmp(r.digest, want, 48) != 0) {
			fprintf(stderr, "bench_measure: %s: the measurement changed between runs\n", ovmf);
			exit(1);
		}
		n++;
		t1 = bench_now();
	}
	*count += n;
	return (double)n / (t1 - t0);
}

int main(int argc, char **argv)
{
	size_t mib = DEFAULT_IMAGE_MIB;
	if (argc == 2) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 10);
		if (*end || v < 1 || v > 2048) {
			fprintf(stderr, "usage: %s [IMAGE_MIB (1..2048, default %d)]\n", argv[0], DEFAULT_IMAGE_MIB);
			return 2;
		}
		mib = v;
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [IMAGE_MIB]\n", argv[0]);
		return 2;
	}
	const char *vdir = getenv("SEVATTEST_VECTORS");
	if (!vdir || !*vdir)
		vdir = SA_BENCH_VECTORS;
	char s1_path[4096];
	snprintf(s1_path, sizeof(s1_path), "%s/%s", vdir, S1_FIXTURE);
	int have_s1 = access(s1_path, R_OK) == 0;

	sa_error err = {0};
	uint32_t epyc_v4;
	if (sa_vcpu_sig_by_name("EPYC-v4", &epyc_v4, &err) != SA_OK)
		die("EPYC-v4", &err);

	int cpu = bench_pin_one_cpu();
	if (cpu >= 0)
		printf("cpu:                 %d (all measurements pinned to it)\n", cpu);
	else
		printf("cpu:                 not pinned\n");

	/* (a) S1: check the value once before timing it. */
	uint8_t s1_want[48];
	if (have_s1) {
		sa_measure_result r;
		measure_files(s1_path, "/dev/null", "/dev/null", S1_APPEND, epyc_v4, 0x21, &r);
		char hex[97];
		sa_hex_encode(r.digest, r.digest_len, hex);
		if (r.digest_len != 48 || strcmp(hex, S1_EXPECTED) != 0) {
			fprintf(stderr, "bench_measure: S1 measured %s, expected %s\n", hex, S1_EXPECTED);
			return 1;
		}
		memcpy(s1_want, r.digest, 48);
		printf("vectors (S1):        %s (matches S1)\n", s1_path);
	} else {
		printf("vectors (S1):        skipped: %s is absent (set SEVATTEST_VECTORS)\n", s1_path);
	}

	/* (b) the synthetic image */
	size_t len = mib * 1024 * 1024;
	char *img_path = write_synthetic_image(len);
	uint8_t img_want[48];
	size_t img_pages;
	{
		sa_measure_result r;
		measure_files(img_path, NULL, NULL, NULL, epyc_v4, SA_DEFAULT_GUEST_FEATURES, &r);
		memcpy(img_want, r.digest, 48);
		img_pages = r.pages;
		char hex[97];
		printf("synthetic image:     %s, %zu MiB, %zu pages folded, snp %s\n", img_path, mib, img_pages,
		       sa_hex_encode(r.digest, 48, hex));
	}
	fflush(stdout);

	double s1_best = 0, img_best = 0, ossl_best = -1;
	unsigned long s1_total = 0, img_total = 0;
	size_t ossl_block = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double s1 = 0;
		if (have_s1)
			s1 = timed_round(s1_path, "/dev/null", "/dev/null", S1_APPEND, epyc_v4, 0x21, s1_want,
					 &s1_total);
		double img = timed_round(img_path, NULL, NULL, NULL, epyc_v4, SA_DEFAULT_GUEST_FEATURES, img_want,
					 &img_total) *
			     (double)len;
		double o;
		size_t block;
		if (bench_openssl_sha384(ROUND_SECONDS, &o, &block) != 0)
			o = -1;
		printf("round %d:             S1 %.0f measurements/s, image %.1f MiB/s, openssl sha384 %.1f MiB/s "
		       "(%zu-byte blocks)\n",
		       round + 1, s1, img / (1024 * 1024), o / (1024 * 1024), block);
		fflush(stdout);
		if (s1 > s1_best)
			s1_best = s1;
		if (img > img_best)
			img_best = img;
		if (o > ossl_best) {
			ossl_best = o;
			ossl_block = block;
		}
	}
	unlink(img_path);
	free(img_path);

	if (ossl_best > 0)
		printf("openssl speed:       %.1f MiB/s sha384 at %zu-byte blocks (best round)\n",
		       ossl_best / (1024 * 1024), ossl_block);
	else
		printf("openssl speed:       unavailable (is `openssl` on PATH?)\n");
	if (have_s1) {
		/* For the 4 KiB fixture the cost is per measurement, not per byte (the VMSA, the metadata
		 * pages' PAGE_INFO, the hashes table): the ratio is informational only. */
		printf("(a) S1 end to end:   %.0f measurements/s (best round; %lu in all)", s1_best, s1_total);
		if (ossl_best > 0)
			printf(", %.1f us each = the time openssl hashes %.1f KiB", 1e6 / s1_best,
			       ossl_best / s1_best / 1024);
		printf("\n");
	} else {
		printf("(a) S1 end to end:   skipped (no vectors)\n");
	}
	printf("(b) %zu MiB image:    %.1f MiB/s end to end (best round; %lu measurements in all)\n", mib,
	       img_best / (1024 * 1024), img_total);
	if (ossl_best > 0) {
		double ratio = img_best / ossl_best;
		printf("ratio:               %.3f (target >= %.1f): %s\n", ratio, TARGET_RATIO,
		       ratio >= TARGET_RATIO ? "PASS" : "BELOW target");
	} else {
		printf("ratio:               n/a\n");
	}
	return 0;
}
