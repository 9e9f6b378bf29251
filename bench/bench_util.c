/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_pin_one_cpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		return sched_setaffinity(0, sizeof(one), &one) == 0 ? cpu : -1;
	}
	return -1;
}

int bench_pin_all_threads(int cpu)
{
	static cpu_set_t original;
	static int saved;
	if (!saved) {
		if (sched_getaffinity(0, sizeof(original), &original) != 0)
			return -1;
		saved = 1;
	}
	cpu_set_t set;
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
	} else {
		set = original;
	}
	/* Every thread (the daemon's too): /proc/self/task lists them. */
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (sched_setaffinity((pid_t)atoi(de->d_name), sizeof(set), &set) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int bench_openssl_ecdsap384(int seconds, double *sign_per_s, double *verify_per_s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap384 2>/dev/null", seconds);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[512];
	int found = 0;
	while (fgets(line, sizeof(line), p)) {
		/* " 384 bits ecdsa (nistp384)   0.0009s   0.0007s   1098.0   1400.1" */
		if (!strstr(line, "384 bits ecdsa (nistp384)"))
			continue;
		double f[4];
		const char *q = strchr(line, ')');
		if (q && sscanf(q + 1, " %lfs %lfs %lf %lf", &f[0], &f[1], &f[2], &f[3]) == 4) {
			*sign_per_s = f[2];
			*verify_per_s = f[3];
			found = 1;
		}
	}
	if (pclose(p) != 0 || !found)
		return -1;
	return 0;
}

/* Parse `openssl speed -evp DIGEST` output: the "type  16 bytes  64 bytes ..." header, then the
 * digest's line of throughputs in 1000s of bytes per second ("727912.99k"). */
int bench_parse_openssl_digest_speed(FILE *in, double *bytes_per_s, size_t *block)
{
	char line[1024];
	size_t sizes[16];
	int n_sizes = 0, found = 0;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "type ", 5) == 0) {
			/* "type             16 bytes     64 bytes ... 16384 bytes" */
			n_sizes = 0;
			const char *q = line + 5;
			unsigned long v;
			int used;
			while (n_sizes < 16 && sscanf(q, " %lu bytes%n", &v, &used) == 1) {
				sizes[n_sizes++] = (size_t)v;
				q += used;
			}
			continue;
		}
		if (n_sizes == 0 || found)
			continue;
		/* "sha384           46566.24k   183488.26k ...  727912.99k" */
		const char *q = line;
		while (*q == ' ' || *q == '\t')
			q++;
		if (!*q || *q == '\n')
			continue;
		while (*q && *q != ' ' && *q != '\t')
			q++;
		double f[16];
		int k = 0, used;
		while (k < n_sizes && sscanf(q, " %lfk%n", &f[k], &used) == 1) {
			k++;
			q += used;
		}
		if (k == n_sizes) {
			*bytes_per_s = f[k - 1] * 1000.0;
			*block = sizes[k - 1];
			found = 1;
		}
	}
	return found ? 0 : -1;
}

int bench_openssl_sha384(int seconds, double *bytes_per_s, size_t *block)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d -evp sha384 2>/dev/null", seconds);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	int rc = bench_parse_openssl_digest_speed(p, bytes_per_s, block);
	if (pclose(p) != 0)
		return -1;
	return rc;
}
