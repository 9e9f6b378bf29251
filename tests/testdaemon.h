/* SPDX-License-Identifier: Apache-2.0 */
/* The emulator's daemon in a thread of the test process, and a client on its host socket. */
#ifndef SEVATTEST_TESTDAEMON_H
#define SEVATTEST_TESTDAEMON_H

#include <pthread.h>

#include "sevattest/emu_client.h"

#include "daemon.h"
#include "testutil.h"

typedef struct {
	emu_daemon *d;
	pthread_t thread;
	sa_emu_client *host;
} td_daemon;

/* Start a daemon on state_dir (logging to stderr when SEVATTEST_TEST_LOG is set) and connect to it; fails the test
 * on error. */
void td_daemon_up(td_daemon *t, const char *state_dir);
/* Create an emulated Milan platform (RSA-2048) in state_dir, then td_daemon_up; for a group setup: 0, or -1 (said on
 * stderr) when the platform cannot be created. */
int td_daemon_create(td_daemon *t, const char *state_dir);
/* Close the client, stop the daemon and wait for its thread. */
void td_daemon_down(td_daemon *t);

#endif
