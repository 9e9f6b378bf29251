/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: attestation reports per second from the emulated platform
 * through the full encrypted path, as a ratio to `openssl speed ecdsap384`
 * signatures per second measured in the same run.  Target: ratio >= 0.8.
 *
 * The path per report: the guest library seals MSG_REPORT_REQ with the VMPCK
 * (AES-256-GCM), sends it over the VM's guest channel socket to the daemon
 * (the hypervisor relay), which hands it to the emulated PSP: open and check
 * the message, build the report, sign it with the VCEK (ECDSA P-384),
 * make the PSP's new sequence counter durable (a journal record whose data
 * sync overlaps the signature, and is waited for before the response leaves:
 * after a crash no IV is reused), seal the response; back over the socket,
 * where the guest
 * checks and opens it and decodes the report.
 *
 * Two measurements, each against openssl in the same conditions:
 *   two CPUs  guest, daemon and openssl scheduled freely (one request at a time,
 *             as a guest makes them; the counter's data sync can overlap the
 *             signature on the other CPU);
 *   one CPU   everything pinned to one CPU (where the storage stalls the CPU
 *             during a flush, as virtual disks do, the sync cannot overlap).
 * Rounds alternate with openssl and each side keeps its best.
 *
 *   bench_emu_report [STATE_PARENT_DIR]
 *
 * The platform is created in a fresh directory under STATE_PARENT_DIR (default
 * $TMPDIR or /tmp), so the storage the counter is persisted to is the user's
 * choice; the run prints where it was.  Exits 0 whatever the ratio.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "sevattest/emu.h"
#include "sevattest/emu_client.h"
#include "sevattest/gctx.h"
#include "sevattest/guest.h"

#include "bench_util.h"
#include "daemon.h"

#define ROUNDS 3
#define ROUND_SECONDS 1
#define TARGET_RATIO 0.8

static void die(const char *what, const sa_error *err)
{
	fprintf(stderr, "bench_emu_report: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

static void *serve(void *arg)
{
	sa_error err;
	if (emu_daemon_run(arg, &err) != SA_OK)
		fprintf(stderr, "bench_emu_report: daemon: %s\n", err.msg);
	return NULL;
}

static void rm_state(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_emu_report: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	const char *parent = argc > 1 ? argv[1] : getenv("TMPDIR");
	if (!parent || !*parent)
		parent = "/tmp";
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/sevattest-bench-XXXXXX", parent);
	if (!mkdtemp(dir)) {
		perror("bench_emu_report: mkdtemp");
		return 1;
	}
	char state[4200];
	snprintf(state, sizeof(state), "%s/state", dir);

	/* The CPU the one-CPU measurement uses: the first this process may run on. */
	int cpu = -1;
	{
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++)
				if (CPU_ISSET(c, &set))
					cpu = c;
	}
	sa_error err;
	/* The root's modulus does not touch the report path (the VCEK is P-384); 2048 keeps set-up short. */
	sa_emu_create_opts co = {.product = SA_PRODUCT_MILAN, .rsa_bits = 2048};
	if (sa_emu_create(state, &co, &err) != SA_OK)
		die("sa_emu_create", &err);
	emu_daemon_config cfg = {.state_dir = state, .log_fd = -1};
	emu_daemon *d;
	if (emu_daemon_start(&cfg, &d, &err) != SA_OK)
		die("daemon start", &err);
	pthread_t t;
	if (pthread_create(&t, NULL, serve, d) != 0)
		die("pthread_create", NULL);

	/* Launch a guest: one NORMAL page and the secrets page. */
	sa_emu_client *host;
	if (sa_emu_client_connect(emu_daemon_host_socket(d), 10000, &host, &err) != SA_OK)
		die("connect", &err);
	uint8_t page[SA_PAGE_SIZE] = {0}, host_data[32] = {0}, ld[48];
	char sock[SA_EP_PATH_MAX + 1];
	uint32_t h, fw;
	if (sa_emu_client_launch_start(host, 0x30000, &h, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(host, h, SA_PAGE_NORMAL, 0x100000, page, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(host, h, SA_PAGE_SECRETS, 0x800000, NULL, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_finish(host, h, NULL, NULL, false, host_data, ld, sock, &fw, &err) != SA_OK)
		die("launch", &err);
	sa_emu_client_close(host);

	sa_guest_opts go = {.backend = SA_GUEST_EMU, .emu_socket = sock};
	sa_guest *g;
	if (sa_guest_open(&go, &g, &err) != SA_OK)
		die("sa_guest_open", &err);

	uint8_t nonce[64], report[SA_SNP_REPORT_SIZE];
	for (int i = 0; i < 20; i++) { /* warm up */
		RAND_bytes(nonce, sizeof(nonce));
		if (sa_guest_get_report(g, nonce, 0, 0, report, &err) != SA_OK)
			die("report", &err);
	}

	printf("state:             %s (the PSP counter is persisted there per report)\n", state);
	fflush(stdout);
	for (int mode = 0; mode < 2; mode++) {
		const char *name = mode == 0 ? "two CPUs" : "one CPU";
		if (mode == 1 && (cpu < 0 || bench_pin_all_threads(cpu) != 0)) {
			printf("%-9s          cannot pin to one CPU; skipped\n", name);
			break;
		}
		double ours = 0, theirs = -1;
		unsigned long total = 0;
		for (int round = 0; round < ROUNDS; round++) {
			unsigned long n = 0;
			double t0 = bench_now(), t1 = t0;
			while (t1 - t0 < ROUND_SECONDS) {
				RAND_bytes(nonce, sizeof(nonce));
				if (sa_guest_get_report(g, nonce, 0, 0, report, &err) != SA_OK)
					die("report", &err);
				if (memcmp(report + 0x50, nonce, sizeof(nonce)) != 0)
					die("report carries another REPORT_DATA", NULL);
				n++;
				t1 = bench_now();
			}
			total += n;
			double r = (double)n / (t1 - t0);
			double sign = -1, verify_unused;
			if (bench_openssl_ecdsap384(ROUND_SECONDS, &sign, &verify_unused) != 0)
				sign = -1;
			printf("%-9s round %d:  sevattest %.1f reports/s, openssl %.1f sign/s\n", name, round + 1, r,
			       sign);
			fflush(stdout);
			if (r > ours)
				ours = r;
			if (sign > theirs)
				theirs = sign;
		}
		if (theirs <= 0) {
			printf("%-9s          %.1f reports/s; openssl speed unavailable, no ratio\n", name, ours);
			continue;
		}
		double ratio = ours / theirs;
		printf("%-9s          %.1f reports/s (best of %lu), openssl %.1f sign/s: ratio %.3f (target >= %.1f): "
		       "%s\n",
		       name, ours, total, theirs, ratio, TARGET_RATIO, ratio >= TARGET_RATIO ? "PASS" : "BELOW target");
		fflush(stdout);
	}

	sa_guest_close(g);
	emu_daemon_stop(d);
	pthread_join(t, NULL);
	emu_daemon_free(d);
	rm_state(dir);
	return 0;
}
