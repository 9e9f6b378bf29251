/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test seams of the kernel backends (guest_kernel.c); not installed, and the
 * symbols are hidden from the shared library.  Only tests include this: they
 * link the static library and stand in for the kernel without SEV hardware.
 */
#ifndef SEVATTEST_GUEST_KERNEL_TEST_H
#define SEVATTEST_GUEST_KERNEL_TEST_H

/* sev-guest: every ioctl on the device goes through this; NULL restores ioctl(2). */
typedef int (*sa_guest_ioctl_fn)(int fd, unsigned long request, void *arg);
void sa_guest_kernel_set_ioctl(sa_guest_ioctl_fn fn);

/*
 * configfs-tsm: a plain directory cannot generate outblob when it is read,
 * so a fake kernel is told about each step on an instance and materialises
 * the attribute files itself:
 *   SA_TSM_EV_MKDIR  after the instance directory was created (attr NULL);
 *   SA_TSM_EV_WROTE  after attr was written and closed;
 *   SA_TSM_EV_READ   before attr is opened for reading; a non-zero return is
 *                    taken as that read's errno (fault injection);
 *   SA_TSM_EV_RMDIR  before the instance directory is removed (attr NULL).
 * Other events ignore the return value.  fn NULL removes the hook.
 */
typedef enum sa_tsm_event {
	SA_TSM_EV_MKDIR,
	SA_TSM_EV_WROTE,
	SA_TSM_EV_READ,
	SA_TSM_EV_RMDIR,
} sa_tsm_event;
typedef int (*sa_guest_tsm_hook_fn)(void *ctx, const char *instance, const char *attr, sa_tsm_event ev);
void sa_guest_kernel_set_tsm_hook(sa_guest_tsm_hook_fn fn, void *ctx);

#endif
