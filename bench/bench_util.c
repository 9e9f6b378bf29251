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
