/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest-emu's core (daemon.h): the accept loop, one thread per connection,
 * the host commands (thin over sa_emu_*) and the guest channel, where the
 * daemon plays both the hypervisor (relaying sealed messages, answering
 * "certificate buffer too small", keeping the guest's secrets page) and the
 * PSP (sa_emu_guest_request).
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sevattest/bytes.h"
#include "sevattest/emu.h"
#include "sevattest/emu_proto.h"
#include "sevattest/encoding.h"
#include "sevattest/guest_msg.h"
#include "sevattest/qmp.h"
#include "sevattest/sev.h"

#include "daemon.h"
#include "internal.h"


#define HOST_CONNECTIONS_MAX 16
#define QMP_CONNECTIONS_MAX 64
#define GUEST_CONNECTIONS_DEFAULT 64
#define IDLE_TIMEOUT_DEFAULT_MS 300000
#define SEND_TIMEOUT_MS 30000

/* <state>/relay/vm-<handle>: the guest's view, 32 bytes, rewritten in place. */
#define RECORD_MAGIC 0x47454153u /* "SAEG" */
#define RECORD_VERSION 1u
#define RECORD_SIZE 32

struct vm {
	uint32_t handle;
	bool sev;       /* an SEV/SEV-ES guest: no guest channel (path is "", listen_fd -1), QMP only */
	char path[SA_EP_PATH_MAX + 1];
	char qmp_path[SA_EP_PATH_MAX + 1];
	int listen_fd;  /* -1 once closed (by the loop thread only) */
	int qmp_fd;     /* the QMP listener; the same rule */
	int record_fd;  /* the relay record, open for in-place updates */
	bool gone;      /* decommissioned: the socket is unlinked, its listener closes */
	bool held;      /* a connection holds the channel */
	pthread_cond_t free_cv;
	uint32_t disabled;  /* bit N: the guest wiped VMPCKN */
	uint32_t seqno[SA_VMPCK_COUNT];
	struct vm *next;
};

struct conn {
	struct emu_daemon *d;
	int fd;
	struct vm *vm; /* NULL on the host socket */
	bool qmp;      /* a connection to vm's QMP socket */
	bool holds;
	struct conn *next;
	uint8_t req[SA_EP_MAX_PAYLOAD];
	uint8_t out[SA_EP_MAX_PAYLOAD];
	uint8_t page[SA_SECRETS_PAGE_SIZE];
	uint8_t resp[SA_GMSG_PAGE_SIZE];
	uint8_t sev1[SA_EP_SEV_PROBE_MAX], sev2[SA_EP_SEV_PROBE_MAX]; /* SEV commands' output buffers */
	sa_ep_reply rep;
};

struct emu_daemon {
	char state_dir[PATH_MAX], run_dir[PATH_MAX], relay_dir[PATH_MAX], lock_path[PATH_MAX];
	char host_path[SA_EP_PATH_MAX + 1];
	unsigned max_guest, idle_ms;
	int log_fd;
	sa_emu *emu;
	int host_fd, lock_fd;
	int wake[2];
	pthread_mutex_t mu;
	pthread_cond_t idle_cv;
	struct vm *vms;
	struct conn *conns;
	unsigned n_host, n_guest, n_qmp;
	bool stopping, started_loop;
};

/* ---- small helpers --------------------------------------------------------------- */

static void logmsg(struct emu_daemon *d, const char *fmt, ...) SA_PRINTF(2, 3);

static void logmsg(struct emu_daemon *d, const char *fmt, ...)
{
	if (d->log_fd < 0)
		return;
	char line[SA_ERROR_MSG_MAX + 128];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ sevattest-emu: ", &tm);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = k < 0 ? n : n + ((size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2);
	line[n++] = '\n';
	ssize_t w = write(d->log_fd, line, n);
	(void)w;
}

static sa_status join_path(char *out, size_t cap, const char *dir, const char *name, sa_error *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	SA_ENSURE(n > 0 && (size_t)n < cap, err, SA_ERR_ARG, "path %s/%s: longer than %zu bytes", dir, name, cap - 1);
	return SA_OK;
}

static sa_status ensure_dir(const char *path, sa_error *err)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST) {
		struct stat st;
		SA_ENSURE(stat(path, &st) == 0 && S_ISDIR(st.st_mode), err, SA_ERR_IO, "%s: not a directory", path);
		return SA_OK;
	}
	return sa_error_set(err, SA_ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
}

static void wake_loop(struct emu_daemon *d)
{
	ssize_t w = write(d->wake[1], "w", 1);
	(void)w; /* a full pipe already wakes the loop */
}

/* ---- sockets ------------------------------------------------------------------------ */

static sa_status listen_unix(const char *path, int *out, sa_error *err)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(path);
	SA_ENSURE(n <= SA_EP_PATH_MAX, err, SA_ERR_ARG, "socket %s: %zu bytes, at most %d fit a unix socket path", path,
		  n,
	       SA_EP_PATH_MAX);
	memcpy(sa.sun_path, path, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SA_ENSURE(fd >= 0, err, SA_ERR_IO, "socket: %s", strerror(errno));
	/* Only this process may be here (the run dir's lock is held): a leftover socket is stale. */
	if (unlink(path) != 0 && errno != ENOENT) {
		int e = errno;
		close(fd);
		return sa_error_set(err, SA_ERR_IO, "cannot remove the stale socket %s: %s", path, strerror(e));
	}
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 || listen(fd, 64) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return sa_error_set(err, SA_ERR_IO, "cannot listen on %s: %s", path, strerror(e));
	}
	*out = fd;
	return SA_OK;
}

/* ---- the relay's record of the guest's view ----------------------------------------- */

static sa_status record_encode(const struct vm *v, uint8_t out[RECORD_SIZE], sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, RECORD_SIZE);
	SA_TRY(sa_write_u32(&w, RECORD_MAGIC, "record magic", err));
	SA_TRY(sa_write_u32(&w, RECORD_VERSION, "record version", err));
	SA_TRY(sa_write_u32(&w, v->handle, "record handle", err));
	SA_TRY(sa_write_u32(&w, v->disabled, "record disabled", err));
	for (int i = 0; i < SA_VMPCK_COUNT; i++)
		SA_TRY(sa_write_u32(&w, v->seqno[i], "record msg_seqno", err));
	return SA_OK;
}

static sa_status record_decode(const uint8_t *buf, size_t len, struct vm *v, sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	uint32_t magic, version;
	SA_TRY(sa_read_u32(&r, &magic, "record magic", err));
	SA_ENSURE(magic == RECORD_MAGIC, err, SA_ERR_FORMAT, "record magic: 0x%08x, expected 0x%08x", magic,
		  RECORD_MAGIC);
	SA_TRY(sa_read_u32(&r, &version, "record version", err));
	SA_ENSURE(version == RECORD_VERSION, err, SA_ERR_UNSUPPORTED, "record version: %u, expected %u", version,
	       RECORD_VERSION);
	SA_TRY(sa_read_u32(&r, &v->handle, "record handle", err));
	SA_TRY(sa_read_u32(&r, &v->disabled, "record disabled", err));
	SA_ENSURE(v->disabled < (1u << SA_VMPCK_COUNT), err, SA_ERR_FORMAT, "record disabled: 0x%x has unknown bits",
	       v->disabled);
	for (int i = 0; i < SA_VMPCK_COUNT; i++)
		SA_TRY(sa_read_u32(&r, &v->seqno[i], "record msg_seqno", err));
	return sa_reader_expect_end(&r, "record", err);
}

static sa_status record_path(const struct emu_daemon *d, uint32_t handle, char *out, size_t cap, sa_error *err)
{
	char name[32];
	snprintf(name, sizeof(name), "vm-%" PRIu32, handle);
	return join_path(out, cap, d->relay_dir, name, err);
}

/* Rewrite the record in place: one write of 32 bytes at offset 0 (never torn by a process crash). */
static sa_status record_save(struct vm *v, bool sync, sa_error *err)
{
	uint8_t b[RECORD_SIZE];
	SA_TRY(record_encode(v, b, err));
	ssize_t w = pwrite(v->record_fd, b, sizeof(b), 0);
	SA_ENSURE(w == (ssize_t)sizeof(b), err, SA_ERR_IO, "relay record of VM %u: %s", v->handle,
	       w < 0 ? strerror(errno) : "short write");
	if (sync)
		SA_ENSURE(fdatasync(v->record_fd) == 0, err, SA_ERR_IO, "relay record of VM %u: %s", v->handle,
		       strerror(errno));
	return SA_OK;
}

/*
 * A VM's sockets: its record (created if new), its guest channel (SNP guests)
 * and its QMP socket.  Called before the loop runs or under mu.
 */
static sa_status vm_add(struct emu_daemon *d, struct vm *tmpl, bool create, sa_error *err)
{
	char rp[PATH_MAX], name[32];
	SA_TRY(record_path(d, tmpl->handle, rp, sizeof(rp), err));
	struct vm *v = calloc(1, sizeof(*v));
	SA_ENSURE(v, err, SA_ERR_NOMEM, "out of memory");
	*v = *tmpl;
	v->listen_fd = -1;
	v->qmp_fd = -1;
	v->record_fd = -1;
	v->path[0] = '\0';
	pthread_cond_init(&v->free_cv, NULL);
	snprintf(name, sizeof(name), "vm-%" PRIu32 ".qmp", v->handle);
	sa_status s = join_path(v->qmp_path, sizeof(v->qmp_path), d->run_dir, name, err);
	if (s == SA_OK && !v->sev) {
		snprintf(name, sizeof(name), "vm-%" PRIu32 ".sock", v->handle);
		s = join_path(v->path, sizeof(v->path), d->run_dir, name, err);
	}
	if (s == SA_OK && create) {
		uint8_t b[RECORD_SIZE];
		s = record_encode(v, b, err);
		if (s == SA_OK)
			s = sa_write_file_atomic(rp, b, sizeof(b), 0600, err);
	}
	if (s == SA_OK) {
		v->record_fd = open(rp, O_RDWR | O_CLOEXEC);
		if (v->record_fd < 0)
			s = sa_error_set(err, SA_ERR_IO, "cannot open %s: %s", rp, strerror(errno));
	}
	if (s == SA_OK && !v->sev)
		s = listen_unix(v->path, &v->listen_fd, err);
	if (s == SA_OK)
		s = listen_unix(v->qmp_path, &v->qmp_fd, err);
	if (s != SA_OK) {
		if (v->listen_fd >= 0) {
			close(v->listen_fd);
			unlink(v->path);
		}
		if (create)
			unlink(rp);
		if (v->record_fd >= 0)
			close(v->record_fd);
		pthread_cond_destroy(&v->free_cv);
		free(v);
		return s;
	}
	v->next = d->vms;
	d->vms = v;
	return SA_OK;
}

static struct vm *vm_find(struct emu_daemon *d, uint32_t handle)
{
	for (struct vm *v = d->vms; v; v = v->next)
		if (v->handle == handle && !v->gone)
			return v;
	return NULL;
}

/* The VMs the relay knows from an earlier run: each still running gets its channel back. */
static sa_status restore_vms(struct emu_daemon *d, sa_error *err)
{
	DIR *dir = opendir(d->relay_dir);
	SA_ENSURE(dir, err, SA_ERR_IO, "cannot read %s: %s", d->relay_dir, strerror(errno));
	sa_status s = SA_OK;
	struct dirent *de;
	while (s == SA_OK && (de = readdir(dir)) != NULL) {
		unsigned long h;
		char extra;
		if (sscanf(de->d_name, "vm-%lu%c", &h, &extra) != 1 || h > UINT32_MAX)
			continue;
		char rp[PATH_MAX];
		uint8_t *buf = NULL;
		size_t len = 0;
		struct vm v;
		memset(&v, 0, sizeof(v));
		sa_error e2;
		s = record_path(d, (uint32_t)h, rp, sizeof(rp), err);
		if (s != SA_OK)
			break;
		if (sa_read_file(rp, 4096, &buf, &len, &e2) != SA_OK || record_decode(buf, len, &v, &e2) != SA_OK ||
		    v.handle != h) {
			logmsg(d, "ignoring the relay record %s: %s", rp, e2.msg);
			free(buf);
			continue;
		}
		free(buf);
		uint8_t ld[48];
		v.sev = sa_emu_is_sev_guest(d->emu, v.handle);
		if (!v.sev && sa_emu_guest_measurement(d->emu, v.handle, ld, &e2) != SA_OK) {
			logmsg(d, "VM %u is no longer on the platform (%s); removing its relay record", v.handle,
			       e2.msg);
			unlink(rp);
			continue;
		}
		s = vm_add(d, &v, false, err);
		if (s == SA_OK && v.sev)
			logmsg(d, "VM %u (SEV): QMP %s", v.handle, d->vms->qmp_path);
		else if (s == SA_OK)
			logmsg(d, "VM %u: guest channel %s, QMP %s", v.handle, d->vms->path, d->vms->qmp_path);
	}
	closedir(dir);
	return s;
}

/* ---- replies ------------------------------------------------------------------------ */

static void reply_error(sa_ep_reply *rep, uint16_t status, sa_status code, const char *msg)
{
	rep->status = status ? status : SA_EP_STATUS_DAEMON;
	rep->err_code = code == SA_OK ? SA_ERR_STATE : code;
	snprintf(rep->err_msg, sizeof(rep->err_msg), "%s", msg && *msg ? msg : "failed");
}

/* A library call's outcome: its firmware status when it has one, else DAEMON_ERROR. */
static void reply_result(sa_ep_reply *rep, sa_status s, uint32_t fw, const sa_error *err)
{
	if (s == SA_OK)
		return;
	reply_error(rep, fw && fw < SA_EP_STATUS_DAEMON ? (uint16_t)fw : SA_EP_STATUS_DAEMON, s, err->msg);
}

static sa_status send_reply(struct conn *c, sa_ep_reply *rep)
{
	sa_error err;
	size_t len;
	sa_status s = sa_ep_reply_encode(rep, c->out, sizeof(c->out), &len, &err);
	if (s != SA_OK) {
		/* Our own reply did not fit the protocol: say so instead. */
		logmsg(c->d, "%s reply: %s", sa_ep_cmd_name(rep->cmd), err.msg);
		uint16_t cmd = rep->cmd;
		memset(rep, 0, sizeof(*rep));
		rep->cmd = cmd;
		reply_error(rep, SA_EP_STATUS_DAEMON, s, err.msg);
		SA_TRY(sa_ep_reply_encode(rep, c->out, sizeof(c->out), &len, &err));
	}
	s = sa_ep_send(c->fd, (uint16_t)(rep->cmd | SA_EP_REPLY), rep->status, c->out, len, SEND_TIMEOUT_MS, &err);
	OPENSSL_cleanse(c->out, len);
	return s;
}

/* ---- host commands -------------------------------------------------------------------- */

static void do_status(struct conn *c, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	sa_status s = sa_emu_platform_status(d->emu, &rep->platform, &err);
	reply_result(rep, s, 0, &err);
	rep->pid = (uint32_t)getpid();
	pthread_mutex_lock(&d->mu);
	for (struct vm *v = d->vms; v; v = v->next)
		rep->channels += !v->gone && !v->sev;
	pthread_mutex_unlock(&d->mu);
}

static void do_export(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep, void **to_free)
{
	sa_error err;
	sa_status s;
	char *pem = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	if (q->cmd == SA_EP_EXPORT_ROOT)
		s = sa_emu_export_root(c->d->emu, &pem, &err);
	else if (q->cmd == SA_EP_EXPORT_CHAIN)
		s = sa_emu_export_chain(c->d->emu, q->vlek, &pem, &err);
	else
		s = sa_emu_export_vek(c->d->emu, q->vlek, &der, &len, &err);
	reply_result(rep, s, 0, &err);
	if (s != SA_OK)
		return;
	if (pem) {
		rep->data = (const uint8_t *)pem;
		rep->data_len = strlen(pem);
		*to_free = pem;
	} else {
		rep->data = der;
		rep->data_len = len;
		*to_free = der;
	}
}

static void do_launch_finish(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	uint32_t fw = 0;
	sa_status s = sa_emu_launch_finish(d->emu, q->handle, q->id_block, q->id_auth, q->author_key_en, q->host_data,
					   &fw, &err);
	if (s == SA_OK)
		s = sa_emu_guest_measurement(d->emu, q->handle, rep->measurement, &err);
	reply_result(rep, s, fw, &err);
	if (s != SA_OK)
		return;
	struct vm tmpl;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.handle = q->handle;
	pthread_mutex_lock(&d->mu);
	s = vm_find(d, q->handle) ? sa_error_set(&err, SA_ERR_STATE, "VM %u already has a guest channel", q->handle)
				   : vm_add(d, &tmpl, true, &err);
	if (s == SA_OK)
		snprintf(rep->socket, sizeof(rep->socket), "%s", d->vms->path);
	pthread_mutex_unlock(&d->mu);
	if (s != SA_OK) {
		sa_error_wrap(&err, s, "VM %u launched, but its guest channel could not be set up", q->handle);
		reply_error(rep, SA_EP_STATUS_DAEMON, s, err.msg);
		return;
	}
	rep->handle = q->handle;
	wake_loop(d);
	logmsg(d, "VM %u launched; guest channel %s", q->handle, rep->socket);
}

static void do_vm_list(struct conn *c, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	pthread_mutex_lock(&d->mu);
	for (struct vm *v = d->vms; v; v = v->next) {
		if (v->gone)
			continue;
		rep->vm_total++;
		if (rep->n_vms == SA_EP_MAX_VMS)
			continue;
		sa_ep_vm_info *i = &rep->vms[rep->n_vms];
		sa_error err;
		memset(i->measurement, 0, sizeof(i->measurement));
		if (v->sev) {
			sa_emu_sev_guest_info g;
			if (sa_emu_sev_guest_info_get(d->emu, v->handle, &g, &err) == SA_OK)
				memcpy(i->measurement, g.launch_digest, sizeof(g.launch_digest));
		} else if (sa_emu_guest_measurement(d->emu, v->handle, i->measurement, &err) != SA_OK) {
			memset(i->measurement, 0, sizeof(i->measurement));
		}
		i->handle = v->handle;
		i->sev = v->sev;
		i->busy = v->held && !v->sev;
		snprintf(i->socket, sizeof(i->socket), "%s", v->path);
		snprintf(i->qmp, sizeof(i->qmp), "%s", v->qmp_path);
		rep->n_vms++;
	}
	pthread_mutex_unlock(&d->mu);
	/* Newest first is the list's order; show oldest first. */
	for (size_t a = 0, b = rep->n_vms ? rep->n_vms - 1 : 0; a < b; a++, b--) {
		sa_ep_vm_info t = rep->vms[a];
		rep->vms[a] = rep->vms[b];
		rep->vms[b] = t;
	}
}

static void do_decommission(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	uint32_t fw = 0;
	sa_status s = sa_emu_decommission(d->emu, q->handle, &fw, &err);
	reply_result(rep, s, fw, &err);
	if (s != SA_OK)
		return;
	pthread_mutex_lock(&d->mu);
	struct vm *v = vm_find(d, q->handle);
	if (v) {
		v->gone = true;
		if (!v->sev)
			unlink(v->path);
		unlink(v->qmp_path);
		/* Its QMP connections end now; a guest holding its channel learns at its next request. */
		for (struct conn *k = d->conns; k; k = k->next)
			if (k->vm == v && k->qmp)
				shutdown(k->fd, SHUT_RDWR);
		char rp[PATH_MAX];
		if (record_path(d, v->handle, rp, sizeof(rp), &err) == SA_OK)
			unlink(rp);
		pthread_cond_broadcast(&v->free_cv);
	}
	pthread_mutex_unlock(&d->mu);
	wake_loop(d);
	logmsg(d, "VM %u decommissioned", q->handle);
}

/* ---- SEV and SEV-ES (legacy) commands: thin over sa_emu_sev_* ---------------------------- */

/* A probed command's outcome: the data on success, the lengths needed on INVALID_LENGTH. */
static void probe_result(sa_ep_reply *rep, sa_status s, uint32_t fw, const sa_error *err, const uint8_t *buf,
			 uint32_t asked, uint32_t len)
{
	if (s == SA_OK && len > asked) {
		/* Never more than the caller's buffer: the firmware broke its own rule. */
		reply_error(rep, SA_EP_STATUS_DAEMON, SA_ERR_STATE, "the firmware returned more than the buffer holds");
		return;
	}
	reply_result(rep, s, fw, err);
	if (s == SA_OK) {
		rep->data = buf;
		rep->data_len = len;
	} else if (rep->status == SA_FW_INVALID_LENGTH) {
		rep->needed = len;
	}
}

static void do_sev_pdh_cert_export(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	sa_error err;
	uint32_t fw = 0, pdh_len = q->buf_len, chain_len = q->buf_len2;
	sa_status s = sa_emu_sev_pdh_cert_export(c->d->emu, c->sev1, &pdh_len, c->sev2, &chain_len, &fw, &err);
	probe_result(rep, s, fw, &err, c->sev1, q->buf_len, pdh_len);
	if (rep->status == SA_FW_INVALID_LENGTH) {
		rep->needed2 = chain_len;
	} else if (s == SA_OK && chain_len > q->buf_len2) {
		memset(rep, 0, sizeof(*rep));
		rep->cmd = q->cmd;
		reply_error(rep, SA_EP_STATUS_DAEMON, SA_ERR_STATE, "the firmware returned more than the buffer holds");
	} else if (s == SA_OK) {
		rep->certs = c->sev2;
		rep->certs_len = chain_len;
	}
}

static void do_sev_export_amd(struct conn *c, sa_ep_reply *rep)
{
	sa_error err;
	size_t ark_len = 0, ask_len = 0;
	_Static_assert(sizeof(c->page) >= SA_EP_SEV_CERT_SIZE && sizeof(c->sev1) >= SA_AMD_CERT_MAX,
		       "the connection's buffers hold the AMD certificates");
	sa_status s = sa_emu_sev_export_amd(c->d->emu, c->sev1, &ark_len, c->sev2, &ask_len, c->page, &err);
	reply_result(rep, s, 0, &err);
	if (s != SA_OK)
		return;
	rep->data = c->sev1;
	rep->data_len = ark_len;
	rep->certs = c->sev2;
	rep->certs_len = ask_len;
	rep->cek = c->page;
}

/* SEV_LAUNCH_START, and the new guest's QMP socket; without the socket the launch is undone. */
static void do_sev_launch_start(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	uint32_t fw = 0, handle = 0;
	sa_status s = sa_emu_sev_launch_start(d->emu, q->sev_policy, q->cert1, q->cert1_len, q->cert2, q->cert2_len,
					      &handle, &fw, &err);
	reply_result(rep, s, fw, &err);
	if (s != SA_OK)
		return;
	struct vm tmpl;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.handle = handle;
	tmpl.sev = true;
	pthread_mutex_lock(&d->mu);
	s = vm_find(d, handle) ? sa_error_set(&err, SA_ERR_STATE, "VM %u already has sockets", handle)
			       : vm_add(d, &tmpl, true, &err);
	if (s == SA_OK)
		logmsg(d, "SEV VM %u launching; QMP %s", handle, d->vms->qmp_path);
	pthread_mutex_unlock(&d->mu);
	if (s != SA_OK) {
		sa_error e2;
		if (sa_emu_decommission(d->emu, handle, &fw, &e2) != SA_OK)
			logmsg(d, "SEV VM %u: cannot undo its launch: %s", handle, e2.msg);
		sa_error_wrap(&err, s, "SEV VM %u: its QMP socket could not be set up, the launch was undone", handle);
		reply_error(rep, SA_EP_STATUS_DAEMON, s, err.msg);
		return;
	}
	rep->handle = handle;
	wake_loop(d);
}

static void do_sev_launch_finish(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	uint32_t fw = 0;
	sa_status s = sa_emu_sev_launch_finish(d->emu, q->handle, &fw, &err);
	reply_result(rep, s, fw, &err);
	if (s != SA_OK)
		return;
	pthread_mutex_lock(&d->mu);
	struct vm *v = vm_find(d, q->handle);
	if (v)
		snprintf(rep->qmp, sizeof(rep->qmp), "%s", v->qmp_path);
	pthread_mutex_unlock(&d->mu);
	if (!v)
		reply_error(rep, SA_EP_STATUS_DAEMON, SA_ERR_STATE, "the guest is running, but has no QMP socket");
	else
		logmsg(d, "SEV VM %u running", q->handle);
}

static void sev_command(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep)
{
	sa_emu *e = c->d->emu;
	sa_error err;
	sa_status s;
	uint32_t fw = 0, len = q->buf_len;
	switch (q->cmd) {
	case SA_EP_SEV_PLATFORM_STATUS: s = sa_emu_sev_platform_status(e, &rep->sev_status, &fw, &err); break;
	case SA_EP_SEV_FACTORY_RESET: s = sa_emu_sev_factory_reset(e, &fw, &err); break;
	case SA_EP_SEV_PEK_GEN: s = sa_emu_sev_pek_gen(e, &fw, &err); break;
	case SA_EP_SEV_PDH_GEN: s = sa_emu_sev_pdh_gen(e, &fw, &err); break;
	case SA_EP_SEV_PEK_CSR:
		s = sa_emu_sev_pek_csr(e, c->sev1, &len, &fw, &err);
		probe_result(rep, s, fw, &err, c->sev1, q->buf_len, len);
		return;
	case SA_EP_SEV_GET_ID:
		s = sa_emu_sev_get_id(e, c->sev1, &len, &fw, &err);
		probe_result(rep, s, fw, &err, c->sev1, q->buf_len, len);
		return;
	case SA_EP_SEV_LAUNCH_MEASURE:
		s = sa_emu_sev_launch_measure(e, q->handle, c->sev1, &len, &fw, &err);
		probe_result(rep, s, fw, &err, c->sev1, q->buf_len, len);
		return;
	case SA_EP_SEV_ATTESTATION:
		s = sa_emu_sev_attestation(e, q->handle, q->mnonce, c->sev1, &len, &fw, &err);
		probe_result(rep, s, fw, &err, c->sev1, q->buf_len, len);
		return;
	case SA_EP_SEV_PEK_CERT_IMPORT:
		s = sa_emu_sev_pek_cert_import(e, q->cert1, (uint32_t)q->cert1_len, q->cert2, (uint32_t)q->cert2_len,
					       &fw, &err);
		break;
	case SA_EP_SEV_PDH_CERT_EXPORT: do_sev_pdh_cert_export(c, q, rep); return;
	case SA_EP_SEV_EXPORT_AMD: do_sev_export_amd(c, rep); return;
	case SA_EP_SEV_LAUNCH_START: do_sev_launch_start(c, q, rep); return;
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
		s = sa_emu_sev_launch_update_data(e, q->handle, q->data, q->data_len, &fw, &err);
		break;
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA:
		s = sa_emu_sev_launch_update_vmsa(e, q->handle, q->vmsa, SA_EP_SEV_VMSA_SIZE, &fw, &err);
		break;
	case SA_EP_SEV_LAUNCH_SECRET:
		s = sa_emu_sev_launch_secret(e, q->handle, q->secret_hdr, SA_EP_SEV_SECRET_HDR_SIZE, q->data,
					     q->data_len, q->gpa, &fw, &err);
		break;
	case SA_EP_SEV_LAUNCH_FINISH: do_sev_launch_finish(c, q, rep); return;
	case SA_EP_SEV_GUEST_INFO:
		s = sa_emu_sev_guest_info_get(e, q->handle, &rep->sev_guest, &err);
		/* No firmware command: a handle that is no SEV guest is answered as firmware would. */
		fw = s == SA_ERR_NOT_FOUND ? SA_FW_INVALID_GUEST : 0;
		break;
	default: s = sa_error_set(&err, SA_ERR_UNSUPPORTED, "%s: not a host command", sa_ep_cmd_name(q->cmd));
	}
	reply_result(rep, s, fw, &err);
}

static void host_command(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep, void **to_free)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	sa_status s = SA_OK;
	uint32_t fw = 0;
	switch (q->cmd) {
	case SA_EP_STATUS: do_status(c, rep); return;
	case SA_EP_EXPORT_ROOT:
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: do_export(c, q, rep, to_free); return;
	case SA_EP_LAUNCH_START:
		s = sa_emu_launch_start(d->emu, q->policy, &rep->handle, &fw, &err);
		break;
	case SA_EP_LAUNCH_UPDATE:
		/* The host never sees the secrets page firmware writes: out_page stays NULL. */
		s = sa_emu_launch_update(d->emu, q->handle, q->page_type, q->gpa, q->page, NULL, &fw, &err);
		break;
	case SA_EP_LAUNCH_FINISH: do_launch_finish(c, q, rep); return;
	case SA_EP_SET_EXT_CERTS:
		s = sa_emu_set_ext_certs(d->emu, q->handle, q->data_len ? q->data : NULL, q->data_len, &err);
		break;
	case SA_EP_VM_LIST: do_vm_list(c, rep); return;
	case SA_EP_DECOMMISSION: do_decommission(c, q, rep); return;
	case SA_EP_SET_CONFIG:
		s = sa_emu_set_config(d->emu, q->tcb, q->mask_chip_id, q->mask_chip_key, &fw, &err);
		break;
	case SA_EP_UPDATE_FIRMWARE: s = sa_emu_update_firmware(d->emu, q->tcb, q->fw, &fw, &err); break;
	case SA_EP_COMMIT: s = sa_emu_commit(d->emu, &fw, &err); break;
	case SA_EP_VLEK_LOAD: s = sa_emu_vlek_load(d->emu, q->csp_id, &fw, &err); break;
	case SA_EP_SHUTDOWN:
		logmsg(d, "SHUTDOWN requested");
		emu_daemon_stop(d);
		return;
	default: sev_command(c, q, rep); return;
	}
	reply_result(rep, s, fw, &err);
}

/* ---- guest channel -------------------------------------------------------------------- */

/* Wait for the VM's channel (as callers of the kernel's guest-request mutex wait). */
static sa_status acquire_channel(struct conn *c, sa_error *err)
{
	struct emu_daemon *d = c->d;
	struct vm *v = c->vm;
	pthread_mutex_lock(&d->mu);
	while (v->held && !v->gone && !d->stopping)
		pthread_cond_wait(&v->free_cv, &d->mu);
	sa_status s = SA_OK;
	if (v->gone)
		s = sa_error_set(err, SA_ERR_STATE, "VM %u was decommissioned", v->handle);
	else if (d->stopping)
		s = sa_error_set(err, SA_ERR_STATE, "the emulator is shutting down");
	else
		v->held = c->holds = true;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static void release_channel(struct conn *c)
{
	if (!c->holds)
		return;
	struct emu_daemon *d = c->d;
	pthread_mutex_lock(&d->mu);
	c->vm->held = c->holds = false;
	pthread_cond_signal(&c->vm->free_cv);
	pthread_mutex_unlock(&d->mu);
}

/* The secrets page as the guest sees it now: disabled VMPCKs zeroed, msg_seqno_N in the guest-OS area. */
static sa_status guest_view(struct conn *c, uint8_t page[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	struct emu_daemon *d = c->d;
	struct vm *v = c->vm;
	sa_secrets_page sp;
	SA_TRY(sa_emu_guest_secrets(d->emu, v->handle, page, err));
	sa_status s = sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &sp, err);
	if (s == SA_OK) {
		sa_writer w;
		sa_writer_init(&w, sp.guest_os_area, sizeof(sp.guest_os_area));
		pthread_mutex_lock(&d->mu);
		for (int i = 0; i < SA_VMPCK_COUNT && s == SA_OK; i++) {
			if (v->disabled & (1u << i))
				OPENSSL_cleanse(sp.vmpck[i], SA_VMPCK_LEN);
			s = sa_write_u32(&w, v->seqno[i], "msg_seqno", err);
		}
		pthread_mutex_unlock(&d->mu);
	}
	if (s == SA_OK)
		s = sa_secrets_page_encode(&sp, page, err);
	sa_secrets_page_wipe(&sp);
	OPENSSL_cleanse(&sp, sizeof(sp));
	return s;
}

/* The PSP answered: remember the sequence number its response carries, as the guest will. */
static void note_response(struct conn *c, const uint8_t *resp, size_t len)
{
	sa_gmsg_hdr h;
	sa_error err;
	if (sa_gmsg_hdr_decode(resp, len, &h, &err) != SA_OK || h.msg_vmpck >= SA_VMPCK_COUNT ||
	    h.msg_seqno > UINT32_MAX)
		return;
	struct vm *v = c->vm;
	pthread_mutex_lock(&c->d->mu);
	v->seqno[h.msg_vmpck] = (uint32_t)h.msg_seqno;
	/* No fsync per request: a daemon crash loses nothing (the write is in the page cache);
	 * only a host crash could, and that ends a real guest too. */
	if (record_save(v, false, &err) != SA_OK)
		logmsg(c->d, "%s", err.msg);
	pthread_mutex_unlock(&c->d->mu);
}

static void do_guest_request(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep, void **to_free)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	uint32_t fw = 0;
	if (q->cmd == SA_EP_EXT_GUEST_REQUEST) {
		uint8_t *table = NULL;
		size_t len = 0;
		sa_status s = sa_emu_get_ext_certs(d->emu, c->vm->handle, &table, &len, &err);
		if (s != SA_OK) {
			reply_result(rep, s, 0, &err);
			return;
		}
		if (len > (size_t)q->cert_pages * SA_EP_PAGE_SIZE) {
			/* The hypervisor's answer, with no firmware call: the guest must re-send. */
			size_t pages = (len + SA_EP_PAGE_SIZE - 1) / SA_EP_PAGE_SIZE;
			rep->vmm_error = SA_VMM_ERR_INVALID_LEN;
			rep->pages_needed = pages > 0x100000 ? 0x100000 : (uint32_t)pages;
			free(table);
			return;
		}
		rep->certs = table;
		rep->certs_len = len;
		*to_free = table;
	}
	size_t resp_len = 0;
	sa_status s = sa_emu_guest_request(d->emu, c->vm->handle, q->data, q->data_len, c->resp, sizeof(c->resp),
					   &resp_len, &fw, &err);
	if (s != SA_OK && fw == SA_FW_SUCCESS) {
		/* Not a firmware answer (the state could not be written...): a hypervisor failure. */
		reply_result(rep, s, 0, &err);
		return;
	}
	rep->fw_error = fw;
	if (s != SA_OK) {
		logmsg(d, "VM %u: %s: %s", c->vm->handle, sa_fw_status_name(fw), err.msg);
		rep->certs = NULL;
		rep->certs_len = 0;
		return;
	}
	rep->data = c->resp;
	rep->data_len = resp_len;
	note_response(c, c->resp, resp_len);
}

static void guest_command(struct conn *c, const sa_ep_request *q, sa_ep_reply *rep, void **to_free)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	if (!c->holds) {
		sa_status s = acquire_channel(c, &err);
		if (s != SA_OK) {
			reply_result(rep, s, SA_FW_INVALID_GUEST, &err);
			return;
		}
	}
	switch (q->cmd) {
	case SA_EP_HELLO: {
		sa_status s = guest_view(c, c->page, &err);
		reply_result(rep, s, 0, &err);
		if (s == SA_OK) {
			rep->handle = c->vm->handle;
			rep->data = c->page;
			rep->data_len = SA_SECRETS_PAGE_SIZE;
		}
		return;
	}
	case SA_EP_GUEST_REQUEST:
	case SA_EP_EXT_GUEST_REQUEST: do_guest_request(c, q, rep, to_free); return;
	case SA_EP_DISABLE_VMPCK: {
		pthread_mutex_lock(&d->mu);
		c->vm->disabled |= 1u << q->vmpck_id;
		sa_status s = record_save(c->vm, true, &err);
		pthread_mutex_unlock(&d->mu);
		reply_result(rep, s, 0, &err);
		logmsg(d, "VM %u: the guest disabled VMPCK%u", c->vm->handle, q->vmpck_id);
		return;
	}
	}
	reply_error(rep, SA_FW_INVALID_COMMAND, SA_ERR_UNSUPPORTED, "not a guest channel command");
}

/* ---- connections ---------------------------------------------------------------------- */

/* One request: checks, decoding, the command, one reply.  false: close the connection. */
static bool serve_one(struct conn *c, const sa_ep_frame_hdr *h, size_t len)
{
	sa_ep_reply *rep = &c->rep;
	sa_ep_role want = c->vm ? SA_EP_ROLE_GUEST : SA_EP_ROLE_HOST;
	memset(rep, 0, sizeof(*rep));
	rep->cmd = h->cmd;
	void *to_free = NULL;
	sa_ep_request q;
	sa_error err;
	sa_status s;
	if (h->cmd & SA_EP_REPLY)
		reply_error(rep, SA_FW_INVALID_COMMAND, SA_ERR_ARG, "a reply frame where a request was expected");
	else if (sa_ep_cmd_role(h->cmd) == SA_EP_ROLE_NONE)
		reply_error(rep, SA_FW_INVALID_COMMAND, SA_ERR_UNSUPPORTED, "unknown command");
	else if (sa_ep_cmd_role(h->cmd) != want)
		reply_error(rep, SA_FW_INVALID_COMMAND, SA_ERR_ARG,
			    c->vm ? "a host command on a guest channel" : "a guest channel command on the host socket");
	else if (h->status != 0)
		reply_error(rep, SA_FW_INVALID_PARAM, SA_ERR_FORMAT, "request flags: must be 0");
	else if ((s = sa_ep_request_decode(h->cmd, c->req, len, &q, &err)) != SA_OK)
		reply_error(rep, sa_ep_decode_status(h->cmd, s), s, err.msg);
	else if (c->vm)
		guest_command(c, &q, rep, &to_free);
	else
		host_command(c, &q, rep, &to_free);
	if (rep->status && c->vm)
		logmsg(c->d, "VM %u: %s: %s: %s", c->vm->handle, sa_ep_cmd_name(h->cmd), sa_ep_status_name(rep->status),
		       rep->err_msg);
	else if (rep->status)
		logmsg(c->d, "%s: %s: %s", sa_ep_cmd_name(h->cmd), sa_ep_status_name(rep->status), rep->err_msg);
	bool ok = send_reply(c, rep) == SA_OK;
	free(to_free);
	OPENSSL_cleanse(c->req, len);
	OPENSSL_cleanse(c->page, sizeof(c->page));
	return ok;
}

/* The connection counter of one kind (under mu). */
static unsigned *conn_count(struct emu_daemon *d, const struct vm *vm, bool qmp)
{
	return qmp ? &d->n_qmp : vm ? &d->n_guest : &d->n_host;
}

/* A QMP connection: the QMP server (qmp.h) until the peer closes, quits or idles out. */
static void serve_qmp(struct conn *c)
{
	struct emu_daemon *d = c->d;
	sa_error err;
	if (sa_qmp_serve_emu(c->fd, d->emu, c->vm->handle, (int)d->idle_ms, &err) != SA_OK && !d->stopping &&
	    !c->vm->gone)
		logmsg(d, "VM %u: closing a QMP connection: %s", c->vm->handle, err.msg);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct emu_daemon *d = c->d;
	if (c->qmp)
		serve_qmp(c);
	while (!c->qmp) {
		sa_ep_frame_hdr h;
		size_t len;
		bool closed;
		sa_error err;
		/* A guest process may hold its VM's channel as long as it lives (its sequence
		 * counter is only valid while it does); idle host connections are closed. */
		int idle = c->vm ? -1 : (int)d->idle_ms;
		sa_status s = sa_ep_recv(c->fd, &h, c->req, sizeof(c->req), &len, idle, &closed, &err);
		if (s == SA_ERR_RANGE || s == SA_ERR_FORMAT) {
			/* The length field is out of range: answer, then close (framing is lost). */
			memset(&c->rep, 0, sizeof(c->rep));
			reply_error(&c->rep, SA_FW_INVALID_LENGTH, s, err.msg);
			logmsg(d, "closing a connection: %s", err.msg);
			if (send_reply(c, &c->rep) != SA_OK) {
				/* the peer is gone as well */
			}
			break;
		}
		if (s != SA_OK) {
			if (!closed && !d->stopping)
				logmsg(d, "closing a connection: %s", err.msg);
			break;
		}
		if (!serve_one(c, &h, len))
			break;
	}
	release_channel(c);
	pthread_mutex_lock(&d->mu);
	for (struct conn **p = &d->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	(*conn_count(d, c->vm, c->qmp))--;
	/* Closed under the lock: the loop thread only shuts down descriptors still listed. */
	close(c->fd);
	wake_loop(d); /* a connection slot is free again */
	pthread_cond_broadcast(&d->idle_cv);
	pthread_mutex_unlock(&d->mu);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return NULL;
}

static void accept_one(struct emu_daemon *d, int lfd, struct vm *vm, bool qmp)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			logmsg(d, "accept: %s", strerror(errno));
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->vm = vm;
	c->qmp = qmp;
	pthread_mutex_lock(&d->mu);
	c->next = d->conns;
	d->conns = c;
	(*conn_count(d, vm, qmp))++;
	pthread_mutex_unlock(&d->mu);
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		logmsg(d, "cannot start a connection thread: %s", strerror(rc));
		pthread_mutex_lock(&d->mu);
		d->conns = c->next; /* c is still first: only this thread adds */
		(*conn_count(d, vm, qmp))--;
		pthread_mutex_unlock(&d->mu);
		close(fd);
		free(c);
	}
}

/* ---- lifecycle -------------------------------------------------------------------------- */

sa_status emu_daemon_start(const emu_daemon_config *cfg, emu_daemon **out, sa_error *err)
{
	*out = NULL;
	SA_ENSURE(cfg && cfg->state_dir && *cfg->state_dir, err, SA_ERR_ARG, "no state directory given (--state DIR)");
	struct emu_daemon *d = calloc(1, sizeof(*d));
	SA_ENSURE(d, err, SA_ERR_NOMEM, "out of memory");
	d->host_fd = d->lock_fd = d->wake[0] = d->wake[1] = -1;
	d->log_fd = cfg->log_fd;
	d->max_guest = cfg->max_connections ? cfg->max_connections : GUEST_CONNECTIONS_DEFAULT;
	d->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : IDLE_TIMEOUT_DEFAULT_MS;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->idle_cv, NULL);

	sa_status s = SA_OK;
	int n = snprintf(d->state_dir, sizeof(d->state_dir), "%s", cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof(d->state_dir))
		s = sa_error_set(err, SA_ERR_ARG, "--state: path too long");
	if (s == SA_OK && cfg->run_dir) {
		n = snprintf(d->run_dir, sizeof(d->run_dir), "%s", cfg->run_dir);
		if (n < 0 || (size_t)n >= sizeof(d->run_dir))
			s = sa_error_set(err, SA_ERR_ARG, "--run-dir: path too long");
	} else if (s == SA_OK) {
		s = join_path(d->run_dir, sizeof(d->run_dir), d->state_dir, "run", err);
	}
	if (s == SA_OK && cfg->host_socket) {
		n = snprintf(d->host_path, sizeof(d->host_path), "%s", cfg->host_socket);
		if (n < 0 || (size_t)n >= sizeof(d->host_path))
			s = sa_error_set(err, SA_ERR_ARG, "--socket %s: at most %d bytes fit a unix socket path",
					 cfg->host_socket, SA_EP_PATH_MAX);
	} else if (s == SA_OK) {
		s = join_path(d->host_path, sizeof(d->host_path), d->run_dir, "host.sock", err);
	}
	if (s == SA_OK)
		s = join_path(d->relay_dir, sizeof(d->relay_dir), d->state_dir, "relay", err);
	if (s == SA_OK)
		s = join_path(d->lock_path, sizeof(d->lock_path), d->run_dir, "emu.lock", err);
	if (s == SA_OK)
		s = ensure_dir(d->run_dir, err);
	if (s == SA_OK) {
		d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (d->lock_fd < 0)
			s = sa_error_set(err, SA_ERR_IO, "cannot open %s: %s", d->lock_path, strerror(errno));
		else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
			s = sa_error_set(err, SA_ERR_STATE, "another sevattest-emu is serving %s (%s is locked)",
					 d->state_dir, d->lock_path);
	}
	if (s == SA_OK)
		s = sa_emu_open(d->state_dir, &d->emu, err);
	if (s == SA_OK)
		s = ensure_dir(d->relay_dir, err);
	if (s == SA_OK && pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		s = sa_error_set(err, SA_ERR_IO, "pipe: %s", strerror(errno));
	if (s == SA_OK)
		s = listen_unix(d->host_path, &d->host_fd, err);
	if (s == SA_OK)
		s = restore_vms(d, err);
	if (s != SA_OK) {
		emu_daemon_free(d);
		return s;
	}
	logmsg(d, "serving %s on %s", d->state_dir, d->host_path);
	*out = d;
	return SA_OK;
}

void emu_daemon_stop(emu_daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	for (struct vm *v = d->vms; v; v = v->next)
		pthread_cond_broadcast(&v->free_cv);
	pthread_mutex_unlock(&d->mu);
	wake_loop(d);
}

/* Close listeners of decommissioned VMs (only this thread closes listeners). */
static void reap_gone(struct emu_daemon *d)
{
	pthread_mutex_lock(&d->mu);
	for (struct vm *v = d->vms; v; v = v->next) {
		if (v->gone && v->listen_fd >= 0) {
			close(v->listen_fd);
			v->listen_fd = -1;
		}
		if (v->gone && v->qmp_fd >= 0) {
			close(v->qmp_fd);
			v->qmp_fd = -1;
		}
	}
	pthread_mutex_unlock(&d->mu);
}

sa_status emu_daemon_run(emu_daemon *d, sa_error *err)
{
	struct pollfd *pf = NULL;
	struct slot {
		struct vm *vm; /* NULL: the wake pipe or the host socket */
		bool qmp;
	} *owner = NULL;
	size_t cap = 0;
	sa_status s = SA_OK;
	d->started_loop = true;
	for (;;) {
		reap_gone(d);
		pthread_mutex_lock(&d->mu);
		bool stop = d->stopping;
		size_t need = 2;
		for (struct vm *v = d->vms; v; v = v->next)
			need += 2;
		if (need > cap) {
			struct pollfd *np = realloc(pf, need * sizeof(*pf));
			struct slot *no = np ? realloc(owner, need * sizeof(*owner)) : NULL;
			if (np)
				pf = np;
			if (no)
				owner = no;
			if (!np || !no) {
				pthread_mutex_unlock(&d->mu);
				s = sa_error_set(err, SA_ERR_NOMEM, "out of memory");
				break;
			}
			cap = need;
		}
		size_t n = 0;
		pf[n] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
		owner[n++] = (struct slot){NULL, false};
		/* At the connection bound, new connections wait in the listen backlog. */
		if (d->n_host < HOST_CONNECTIONS_MAX) {
			pf[n] = (struct pollfd){.fd = d->host_fd, .events = POLLIN};
			owner[n++] = (struct slot){NULL, false};
		}
		for (struct vm *v = d->vms; v; v = v->next) {
			if (v->gone)
				continue;
			if (v->listen_fd >= 0 && d->n_guest < d->max_guest) {
				pf[n] = (struct pollfd){.fd = v->listen_fd, .events = POLLIN};
				owner[n++] = (struct slot){v, false};
			}
			if (v->qmp_fd >= 0 && d->n_qmp < QMP_CONNECTIONS_MAX) {
				pf[n] = (struct pollfd){.fd = v->qmp_fd, .events = POLLIN};
				owner[n++] = (struct slot){v, true};
			}
		}
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		int k = poll(pf, n, -1);
		if (k < 0 && errno != EINTR) {
			s = sa_error_set(err, SA_ERR_IO, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; k > 0 && i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == d->wake[0]) {
				char b[64];
				while (read(d->wake[0], b, sizeof(b)) > 0) {
				}
			} else {
				accept_one(d, pf[i].fd, owner[i].vm, owner[i].qmp);
			}
		}
	}
	free(pf);
	free(owner);

	/* Stop: no new connections; wake every connection and wait until all are gone. */
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	for (struct conn *c = d->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	for (struct vm *v = d->vms; v; v = v->next)
		pthread_cond_broadcast(&v->free_cv);
	while (d->conns)
		pthread_cond_wait(&d->idle_cv, &d->mu);
	for (struct vm *v = d->vms; v; v = v->next) {
		sa_error e2;
		if (!v->gone && v->record_fd >= 0 && record_save(v, true, &e2) != SA_OK)
			logmsg(d, "%s", e2.msg);
	}
	pthread_mutex_unlock(&d->mu);
	logmsg(d, "stopped");
	return s;
}

void emu_daemon_free(emu_daemon *d)
{
	if (!d)
		return;
	if (d->host_fd >= 0) {
		close(d->host_fd);
		unlink(d->host_path);
	}
	while (d->vms) {
		struct vm *v = d->vms;
		d->vms = v->next;
		if (v->listen_fd >= 0) {
			close(v->listen_fd);
			unlink(v->path);
		}
		if (v->qmp_fd >= 0) {
			close(v->qmp_fd);
			unlink(v->qmp_path);
		}
		if (v->record_fd >= 0)
			close(v->record_fd);
		pthread_cond_destroy(&v->free_cv);
		free(v);
	}
	if (d->emu)
		sa_emu_close(d->emu);
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	if (d->lock_fd >= 0)
		close(d->lock_fd); /* releases the lock */
	pthread_cond_destroy(&d->idle_cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

const char *emu_daemon_host_socket(const emu_daemon *d) { return d->host_path; }
const char *emu_daemon_run_dir(const emu_daemon *d) { return d->run_dir; }
