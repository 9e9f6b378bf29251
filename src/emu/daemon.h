/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The core of sevattest-emu (not installed): one emulated platform (sa_emu)
 * served over the host socket, one guest channel per running SNP VM
 * (emu_proto.h) and one QMP monitor per VM (qmp.h: sa_qmp_serve_emu).  main.c wraps it in a process (options, daemonising, pid file,
 * signals); the tests run it in a thread.
 *
 * Files: <run dir>/host.sock (or the socket given), <run dir>/vm-<handle>.sock
 * (SNP guests: the guest channel), <run dir>/vm-<handle>.qmp (every VM: QMP;
 * SNP from LAUNCH_FINISH, SEV and SEV-ES from LAUNCH_START, so `cont` can end a
 * launch paused at launch-secret), <run dir>/emu.lock (held while running: one daemon per state), and
 * <state>/relay/vm-<handle>: the guest's view the relay keeps for each VM
 * (which VMPCKs the guest disabled and the msg_seqno_N it last saw), so that a
 * guest process, or a restarted daemon, continues where the last one stopped.
 */
#ifndef SEVATTEST_EMU_DAEMON_H
#define SEVATTEST_EMU_DAEMON_H

#include <stdbool.h>

#include "sevattest/error.h"

typedef struct emu_daemon_config {
	const char *state_dir;    /* required */
	const char *host_socket;  /* NULL: <run dir>/host.sock */
	const char *run_dir;      /* NULL: <state dir>/run */
	unsigned max_connections; /* guest channel connections served at once; 0: 64 (more wait to be accepted) */
	unsigned idle_timeout_ms; /* a host connection silent this long is closed; 0: 300000 */
	int log_fd;               /* one line per event; -1: none */
} emu_daemon_config;

typedef struct emu_daemon emu_daemon;

/* Open the state, take the run dir's lock, bind the host socket and one socket per running VM. */
SA_MUST_USE sa_status emu_daemon_start(const emu_daemon_config *cfg, emu_daemon **out, sa_error *err);
/* Serve until emu_daemon_stop or a SHUTDOWN command; then close every connection and wait for them. */
SA_MUST_USE sa_status emu_daemon_run(emu_daemon *d, sa_error *err);
/* Ask a running emu_daemon_run to return (thread-safe). */
void emu_daemon_stop(emu_daemon *d);
/* Remove the sockets, release the lock, close the state. */
void emu_daemon_free(emu_daemon *d);

const char *emu_daemon_host_socket(const emu_daemon *d);
const char *emu_daemon_run_dir(const emu_daemon *d);

#endif
