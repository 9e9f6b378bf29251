/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest-emu: the emulated SEV-SNP platform as a daemon.  This file is the
 * process around daemon.c: options, daemonising (the parent returns once the
 * sockets are listening, or with the reason they are not), the pid file and
 * SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sevattest/encoding.h"
#include "sevattest/error.h"

#include "daemon.h"

static void usage(FILE *f)
{
	fputs("usage: sevattest-emu --state DIR [options]\n"
	      "\n"
	      "Serve the emulated SEV-SNP platform in DIR (made by `sevattest emu create`): the host socket\n"
	      "for the platform owner and hypervisor, and one guest channel socket per running VM.\n"
	      "Usually started by `sevattest emu start`. SIGTERM or SIGINT stops it cleanly.\n"
	      "\n"
	      "  --state DIR            the platform's state directory (required)\n"
	      "  --socket PATH          the host socket (default RUN_DIR/host.sock)\n"
	      "  --run-dir DIR          sockets, lock, pid file and log (default DIR/run)\n"
	      "  --pid-file FILE        write the daemon's pid here (default RUN_DIR/emu.pid)\n"
	      "  --foreground           stay in the foreground and log to standard error\n"
	      "  --max-connections N    guest channel connections served at once (default 64)\n"
	      "  --log FILE             log here (default RUN_DIR/emu.log in the background)\n",
	      f);
}

struct opts {
	const char *state, *socket, *run_dir, *pid_file, *log;
	bool foreground;
	unsigned max_conns;
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"state", required_argument, NULL, 's'},    {"socket", required_argument, NULL, 'S'},
		{"run-dir", required_argument, NULL, 'r'},  {"pid-file", required_argument, NULL, 'p'},
		{"foreground", no_argument, NULL, 'f'},     {"max-connections", required_argument, NULL, 'm'},
		{"log", required_argument, NULL, 'l'},      {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->state = optarg; break;
		case 'S': o->socket = optarg; break;
		case 'r': o->run_dir = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'f': o->foreground = true; break;
		case 'l': o->log = optarg; break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 4096) {
				fprintf(stderr, "sevattest-emu: --max-connections '%s': expected 1 to 4096\n", optarg);
				return 2;
			}
			o->max_conns = (unsigned)v;
			break;
		}
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sevattest-emu: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->state) {
		fprintf(stderr, "sevattest-emu: --state DIR is required\n");
		return 2;
	}
	return 0;
}

/* Paths are made absolute before the daemon leaves the current directory. */
static char *absolute(const char *p)
{
	if (!p)
		return NULL;
	if (p[0] == '/')
		return strdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t n = strlen(cwd) + strlen(p) + 2;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", cwd, p);
	return out;
}

/* dir/name into out[PATH_MAX]; false when it does not fit. */
static bool join(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "sevattest-emu: path %s/%s: too long\n", dir, name);
		return false;
	}
	return true;
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static emu_daemon *g_daemon; /* under g_mu: the signal thread may outlive it */

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	if (sigwait(set, &sig) != 0)
		return NULL;
	pthread_mutex_lock(&g_mu);
	if (g_daemon)
		emu_daemon_stop(g_daemon);
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

/* Tell the waiting parent how it went: "ok\n" or the error message. */
static void report_ready(int fd, const char *msg)
{
	if (fd < 0)
		return;
	size_t n = strlen(msg);
	while (n > 0) {
		ssize_t w = write(fd, msg, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		msg += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* Fork; the parent waits for the child's report and exits with it. Returns the pipe end in the child. */
static int daemonize(void)
{
	int p[2];
	if (pipe(p) != 0) {
		perror("sevattest-emu: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("sevattest-emu: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		char buf[SA_ERROR_MSG_MAX + 16];
		size_t n = 0;
		for (;;) {
			ssize_t k = read(p[0], buf + n, sizeof(buf) - 1 - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0 || (n += (size_t)k) == sizeof(buf) - 1)
				break;
		}
		buf[n] = '\0';
		if (strcmp(buf, "ok\n") == 0)
			_exit(0);
		fprintf(stderr, "sevattest-emu: %s\n", n ? buf : "the daemon exited before it was ready");
		_exit(1);
	}
	close(p[0]);
	setsid();
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return p[1];
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;

	char *state = absolute(o.state), *sock = absolute(o.socket), *run = absolute(o.run_dir);
	char *pid_file = absolute(o.pid_file), *log = absolute(o.log);
	if (!state || (o.socket && !sock) || (o.run_dir && !run) || (o.pid_file && !pid_file) || (o.log && !log)) {
		fprintf(stderr, "sevattest-emu: cannot resolve the paths given\n");
		return 1;
	}

	/* Signals go to one thread (sigwait); every other thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	umask(077);

	int ready = o.foreground ? -1 : daemonize();
	if (!o.foreground && chdir("/") != 0) {
		/* not fatal: every path is absolute */
	}

	char run_default[PATH_MAX];
	const char *run_dir = run;
	if (!run_dir) {
		if (!join(run_default, state, "run"))
			return 1;
		run_dir = run_default;
	}
	int log_fd = o.foreground && !log ? STDERR_FILENO : -1;
	char log_default[PATH_MAX];
	if (!o.foreground || log) {
		if (!log) {
			mkdir(run_dir, 0700);
			if (!join(log_default, run_dir, "emu.log"))
				return 1;
		}
		log_fd = open(log ? log : log_default, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	}

	emu_daemon_config cfg = {.state_dir = state, .host_socket = sock, .run_dir = run,
				 .max_connections = o.max_conns, .log_fd = log_fd};
	sa_error err;
	emu_daemon *d;
	if (emu_daemon_start(&cfg, &d, &err) != SA_OK) {
		if (ready >= 0)
			report_ready(ready, err.msg);
		else
			fprintf(stderr, "sevattest-emu: %s\n", err.msg);
		return 1;
	}
	pthread_mutex_lock(&g_mu);
	g_daemon = d;
	pthread_mutex_unlock(&g_mu);

	char pid_default[PATH_MAX];
	if (!pid_file && !join(pid_default, emu_daemon_run_dir(d), "emu.pid")) {
		emu_daemon_free(d);
		return 1;
	}
	const char *pid_path = pid_file ? pid_file : pid_default;
	char pid_text[32];
	int pn = snprintf(pid_text, sizeof(pid_text), "%ld\n", (long)getpid());
	if (sa_write_file_atomic(pid_path, pid_text, (size_t)pn, 0644, &err) != SA_OK) {
		emu_daemon_free(d);
		if (ready >= 0)
			report_ready(ready, err.msg);
		else
			fprintf(stderr, "sevattest-emu: %s\n", err.msg);
		return 1;
	}

	pthread_t st;
	if (pthread_create(&st, NULL, signal_thread, &set) == 0)
		pthread_detach(st);
	if (ready >= 0)
		report_ready(ready, "ok\n");
	else
		fprintf(stderr, "sevattest-emu: listening on %s\n", emu_daemon_host_socket(d));

	rc = emu_daemon_run(d, &err) == SA_OK ? 0 : 1;
	if (rc)
		fprintf(stderr, "sevattest-emu: %s\n", err.msg);
	unlink(pid_path);
	pthread_mutex_lock(&g_mu);
	g_daemon = NULL;
	pthread_mutex_unlock(&g_mu);
	emu_daemon_free(d);
	free(state);
	free(sock);
	free(run);
	free(pid_file);
	free(log);
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	return rc;
}
