/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test seam of the /dev/sev backend (sevhost.c); not installed, and the
 * symbol is hidden from the shared library.  Only tests include this: they
 * link the static library and stand in for the PSP driver without hardware.
 */
#ifndef SEVATTEST_SEVHOST_TEST_H
#define SEVATTEST_SEVHOST_TEST_H

/* Every ioctl on the device goes through this; NULL restores ioctl(2). */
typedef int (*sa_sev_host_ioctl_fn)(int fd, unsigned long request, void *arg);
void sa_sev_host_set_ioctl(sa_sev_host_ioctl_fn fn);

#endif
