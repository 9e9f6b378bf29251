/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: SEV-SNP reports verified per second on one core with a warm
 * chain cache, as a ratio to `openssl speed ecdsap384` verifications per
 * second measured in the same run (three interleaved 1-second rounds of each,
 * best round kept, both pinned to the same CPU).  Target: ratio >= 0.9 (a report costs one
 * ECDSA P-384 verification; everything else should be close to free).
 *
 *   bench_verify [REPORT VEK CHAIN]
 *
 * Default: the real Milan report R1 of the vectors (go-sev-guest attestation.bin,
 * vcek.testcer, ask_ark_milan.pem) under $SEVATTEST_VECTORS or the vectors
 * folder configured at build time.  Exits 0 whatever the ratio; non-zero only
 * when something fails (unreadable input, a report that does not verify).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sevattest/cert.h"
#include "sevattest/encoding.h"
#include "sevattest/trust.h"
#include "sevattest/verify.h"

#include "bench_util.h"

#ifndef SA_BENCH_VECTORS
#define SA_BENCH_VECTORS "../shared/vectors"
#endif

#define ROUNDS 3
#define ROUND_SECONDS 1 /* per round and side: 3 s of each in all */
#define TARGET_RATIO 0.9

static void die(const char *what, const sa_error *err)
{
	fprintf(stderr, "bench_verify: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

/* One round of verification; returns the verdict's result and prints the first failure. */
static int verify_once(const uint8_t *report, size_t len, sa_trust *trust, const sa_snp_appraisal *a, int loud)
{
	sa_verdict v;
	sa_error err = {0};
	sa_verdict_init(&v);
	sa_status st = sa_verify_snp_report(report, len, trust, a, &v, &err);
	int ok = st == SA_OK && v.verified;
	if (!ok && loud) {
		if (st != SA_OK) {
			fprintf(stderr, "bench_verify: cannot verify: %s\n", err.msg);
		} else {
			const sa_check *c = sa_verdict_first_failure(&v);
			fprintf(stderr, "bench_verify: the report does not verify: %s: %s (expected %s, got %s)\n",
				c ? c->id : "?", c ? c->summary : "?", c ? c->expected : "", c ? c->actual : "");
		}
	}
	sa_verdict_free(&v);
	return ok;
}

int main(int argc, char **argv)
{
	const char *vdir = getenv("SEVATTEST_VECTORS");
	if (!vdir || !*vdir)
		vdir = SA_BENCH_VECTORS;
	char def_report[1024], def_vek[1024], def_chain[1024];
	snprintf(def_report, sizeof(def_report), "%s/google-go-sev-guest/verify/testdata/attestation.bin", vdir);
	snprintf(def_vek, sizeof(def_vek), "%s/google-go-sev-guest/verify/testdata/vcek.testcer", vdir);
	snprintf(def_chain, sizeof(def_chain), "%s/google-go-sev-guest/verify/trust/ask_ark_milan.pem", vdir);
	const char *report_path = def_report, *vek_path = def_vek, *chain_path = def_chain;
	if (argc == 4) {
		report_path = argv[1];
		vek_path = argv[2];
		chain_path = argv[3];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [REPORT VEK CHAIN]\n", argv[0]);
		return 2;
	}

	sa_error err = {0};
	uint8_t *report;
	size_t report_len;
	if (sa_read_file(report_path, 1 << 20, &report, &report_len, &err) != SA_OK)
		die("report", &err);

	/* The trust store is built once: that is the "warm chain cache". */
	sa_trust *trust;
	if (sa_trust_new(&trust, &err) != SA_OK)
		die("sa_trust_new", &err);
	if (sa_trust_add_file(trust, chain_path, &err) != SA_OK)
		die(chain_path, &err);
	sa_cert_list vl = {0};
	if (sa_cert_load_file(vek_path, &vl, &err) != SA_OK)
		die(vek_path, &err);
	if (vl.n == 0)
		die(vek_path, NULL);
	sa_cert *vek = sa_cert_list_take(&vl, 0);
	sa_cert_list_free(&vl);
	/* Real certificates expire: check validity as of a day after the VEK was issued. */
	time_t at = vek->not_before + 86400;
	if (at > vek->not_after)
		at = vek->not_before;
	sa_trust_set_time(trust, at);
	if (sa_trust_set_vek(trust, vek, &err) != SA_OK) /* takes ownership */
		die("sa_trust_set_vek", &err);

	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);

	int cpu = bench_pin_one_cpu();

	/* Warm up (and make sure the report verifies at all). */
	for (int i = 0; i < 50; i++)
		if (!verify_once(report, report_len, trust, &a, 1))
			return 1;

	printf("report:            %s\n", report_path);
	if (cpu >= 0)
		printf("cpu:               %d (both measurements pinned to it)\n", cpu);
	else
		printf("cpu:               not pinned\n");
	fflush(stdout);

	/* Interleave the two measurements and keep each one's best round, so that a
	 * burst of load from elsewhere on the machine skews neither side. */
	double ours = 0, theirs = -1;
	unsigned long total = 0;
	for (int round = 0; round < ROUNDS; round++) {
		unsigned long n = 0;
		double t0 = bench_now(), t1 = t0;
		while (t1 - t0 < ROUND_SECONDS) {
			for (int i = 0; i < 16; i++)
				if (!verify_once(report, report_len, trust, &a, 1))
					return 1;
			n += 16;
			t1 = bench_now();
		}
		total += n;
		double r = (double)n / (t1 - t0);
		double sign_unused, o;
		if (bench_openssl_ecdsap384(ROUND_SECONDS, &sign_unused, &o) != 0)
			o = -1;
		printf("round %d:           sevattest %.1f reports/s, openssl %.1f verify/s\n", round + 1, r, o);
		fflush(stdout);
		if (r > ours)
			ours = r;
		if (o > theirs)
			theirs = o;
	}

	printf("sevattest verify:  %.1f reports/s (best round; %lu reports verified in all)\n", ours, total);
	if (theirs <= 0) {
		printf("openssl speed:     unavailable (is `openssl` on PATH?)\n");
		printf("ratio:             n/a\n");
	} else {
		double ratio = ours / theirs;
		printf("openssl speed:     %.1f ecdsap384 verify/s (best round)\n", theirs);
		printf("ratio:             %.3f (target >= %.1f): %s\n", ratio, TARGET_RATIO,
		       ratio >= TARGET_RATIO ? "PASS" : "BELOW target");
	}

	sa_trust_free(trust);
	free(report);
	return 0;
}
