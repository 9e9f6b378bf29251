/* SPDX-License-Identifier: Apache-2.0 */
/* What the benchmarks share: a clock, CPU pinning, and `openssl speed ecdsap384`. */
#ifndef SEVATTEST_BENCH_UTIL_H
#define SEVATTEST_BENCH_UTIL_H

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

#endif
