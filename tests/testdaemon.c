/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "sevattest/emu.h"

#include "testdaemon.h"

static void *daemon_main(void *arg)
{
	sa_error err;
	if (emu_daemon_run(arg, &err) != SA_OK)
		fprintf(stderr, "daemon: %s\n", err.msg);
	return NULL;
}

void td_daemon_up(td_daemon *t, const char *state_dir)
{
	emu_daemon_config cfg = {.state_dir = state_dir, .log_fd = getenv("SEVATTEST_TEST_LOG") ? 2 : -1};
	sa_error err;
	if (emu_daemon_start(&cfg, &t->d, &err) != SA_OK)
		fail_msg("daemon start: %s", err.msg);
	assert_int_equal(pthread_create(&t->thread, NULL, daemon_main, t->d), 0);
	if (sa_emu_client_connect(emu_daemon_host_socket(t->d), 10000, &t->host, &err) != SA_OK)
		fail_msg("host socket: %s", err.msg);
}

int td_daemon_create(td_daemon *t, const char *state_dir)
{
	sa_emu_create_opts o = {.product = SA_PRODUCT_MILAN, .rsa_bits = 2048};
	sa_error err;
	if (sa_emu_create(state_dir, &o, &err) != SA_OK) {
		fprintf(stderr, "create: %s\n", err.msg);
		return -1;
	}
	td_daemon_up(t, state_dir);
	return 0;
}

void td_daemon_down(td_daemon *t)
{
	sa_emu_client_close(t->host);
	t->host = NULL;
	emu_daemon_stop(t->d);
	pthread_join(t->thread, NULL);
	emu_daemon_free(t->d);
	t->d = NULL;
}
