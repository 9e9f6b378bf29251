/* SPDX-License-Identifier: Apache-2.0 */
/* What the benchmarks share: a clock, CPU pinning, and `openssl speed` (ecdsap384, -evp sha384). */
#ifndef SEVATTEST_BENCH_UTIL_H
#define SEVATTEST_BENCH_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Pin this process (threads created later and child processes inherit it) to one
 * CPU it may run on; returns the CPU or -1. */
int bench_pin_one_cpu(void);

/* Pin every thread of this process to one CPU, or (cpu < 0) back to all CPUs it had at start. */
int bench_pin_all_threads(int cpu);

/* `openssl speed -seconds N ecdsap384`: sign/s and verify/s of the nistp384 line.
 * Returns 0, or -1 when openssl is unavailable or its output unreadable. */
int bench_openssl_ecdsap384(int seconds, double *sign_per_s, double *verify_per_s);

/* Parse `openssl speed -evp DIGEST` output read from in: the throughput (bytes/s) at the largest
 * block size of its table, and that block size.  Returns 0, or -1 when no table is found. */
int bench_parse_openssl_digest_speed(FILE *in, double *bytes_per_s, size_t *block);

/* `openssl speed -seconds N -evp sha384`: bytes/s at the largest block size it prints (*block).
 * Returns 0, or -1 when openssl is unavailable or its output unreadable. */
int bench_openssl_sha384(int seconds, double *bytes_per_s, size_t *block);

#endif
