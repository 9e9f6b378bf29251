/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest library's emu backend against a live sevattest-emu daemon (run in
 * a thread of this process), and a malicious hypervisor: a relay between the
 * guest library and the daemon's guest channel that flips bits in responses,
 * replays and reorders them, oversizes MSG_SZ, cuts them short, answers BUSY
 * forever, drops the connection, or asks for more certificate pages than a
 * guest will give.  Each attack must be detected, the VMPCK wiped here and
 * zeroed in the VM's secrets page, every later request must fail naming the
 * reason, and no sequence number (the AES-GCM IV) may ever carry two
 * different messages.  Also: the daemon's answers to malformed frames, the
 * sequence number surviving guest processes and daemon restarts, one guest
 * process at a time per VM, and VMs served in parallel.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "sevattest/bytes.h"
#include "sevattest/emu.h"
#include "sevattest/emu_client.h"
#include "sevattest/emu_proto.h"
#include "sevattest/gctx.h"
#include "sevattest/guest.h"
#include "sevattest/guest_msg.h"
#include "sevattest/report.h"

#include "testdaemon.h"
#include "testutil.h"

/* ---- the daemon, in a thread ---- */

static char *g_dir;
static char g_state[600];
static td_daemon g_td;

static int group_setup(void **state)
{
	(void)state;
	g_dir = tu_tmpdir();
	snprintf(g_state, sizeof(g_state), "%s/st", g_dir);
	return td_daemon_create(&g_td, g_state);
}

static int group_teardown(void **state)
{
	(void)state;
	td_daemon_down(&g_td);
	tu_rmtree(g_dir);
	free(g_dir);
	return 0;
}

/* A guest from a small image (one NORMAL page, the SECRETS page); its guest channel socket into sock. */
static uint32_t launch_vm(char sock[SA_EP_PATH_MAX + 1])
{
	uint32_t h, fw;
	sa_error err;
	uint8_t page[SA_PAGE_SIZE];
	memset(page, 0x5A, sizeof(page));
	if (sa_emu_client_launch_start(g_td.host, 0x30000, &h, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(g_td.host, h, SA_PAGE_NORMAL, 0x100000, page, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(g_td.host, h, SA_PAGE_SECRETS, 0x800000, NULL, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_finish(g_td.host, h, NULL, NULL, false, page, NULL, sock, &fw, &err) != SA_OK)
		fail_msg("launch: %s", err.msg);
	return h;
}

static sa_status open_guest(const char *sock, uint8_t vmpck, unsigned busy_ms, sa_guest **g, sa_error *err)
{
	sa_guest_opts o = {.backend = SA_GUEST_EMU, .emu_socket = sock, .vmpck_id = vmpck, .busy_timeout_ms = busy_ms,
			   .busy_interval_ms = 20};
	return sa_guest_open(&o, g, err);
}

static sa_guest *must_open(const char *sock, uint8_t vmpck)
{
	sa_guest *g;
	sa_error err;
	if (open_guest(sock, vmpck, 2000, &g, &err) != SA_OK)
		fail_msg("open %s VMPCK%u: %s", sock, vmpck, err.msg);
	return g;
}

/* One report for a random nonce; on success its REPORT_DATA must be the nonce. */
static sa_status get_report(sa_guest *g, uint32_t vmpl, sa_error *err)
{
	uint8_t nonce[64], report[SA_SNP_REPORT_SIZE];
	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	sa_status s = sa_guest_get_report(g, nonce, vmpl, 0, report, err);
	if (s == SA_OK) {
		sa_snp_report r;
		assert_int_equal(sa_snp_report_decode(report, sizeof(report), &r, NULL), SA_OK);
		assert_memory_equal(r.report_data, nonce, 64);
		assert_int_equal(r.vmpl, vmpl);
	}
	return s;
}

static void must_report(sa_guest *g, uint32_t vmpl)
{
	sa_error err;
	if (get_report(g, vmpl, &err) != SA_OK)
		fail_msg("report: %s", err.msg);
}

/* The VM's secrets page straight from the daemon (waits while another connection holds the channel). */
static void hello(const char *sock, uint8_t page[SA_SECRETS_PAGE_SIZE], sa_secrets_page *sp)
{
	sa_emu_client *c;
	sa_error err;
	uint32_t h;
	if (sa_emu_client_connect(sock, 10000, &c, &err) != SA_OK || sa_emu_client_hello(c, &h, page, &err) != SA_OK)
		fail_msg("HELLO %s: %s", sock, err.msg);
	sa_emu_client_close(c);
	assert_int_equal(sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, sp, NULL), SA_OK);
}

static uint32_t seqno_in_page(const sa_secrets_page *sp, unsigned id)
{
	const uint8_t *b = sp->guest_os_area + 4 * id;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void must_contain(const char *msg, const char *needle)
{
	if (!strstr(msg, needle))
		fail_msg("the message '%s' does not say '%s'", msg, needle);
}

/* ---- raw frames ---- */

static int raw_connect(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	return fd;
}

static uint8_t raw_buf[SA_EP_MAX_PAYLOAD];

/* Send one frame; receive the reply header and payload (into raw_buf). */
static void raw_call(int fd, uint16_t cmd, uint16_t status, const void *payload, size_t len, sa_ep_frame_hdr *h,
		     size_t *rlen)
{
	sa_error err;
	if (sa_ep_send(fd, cmd, status, payload, len, 5000, &err) != SA_OK ||
	    sa_ep_recv(fd, h, raw_buf, sizeof(raw_buf), rlen, 5000, NULL, &err) != SA_OK)
		fail_msg("raw %s: %s", sa_ep_cmd_name(cmd), err.msg);
}

static void expect_status(int fd, uint16_t cmd, uint16_t flags, const void *payload, size_t len, uint16_t want,
			  const char *needle)
{
	sa_ep_frame_hdr h;
	size_t rlen;
	raw_call(fd, cmd, flags, payload, len, &h, &rlen);
	assert_int_equal(h.cmd, (uint16_t)(cmd | SA_EP_REPLY));
	if (h.status != want)
		fail_msg("%s: status 0x%x, expected 0x%x", sa_ep_cmd_name(cmd), h.status, want);
	sa_ep_reply r;
	sa_error err;
	if (sa_ep_reply_decode(cmd, h.status, raw_buf, rlen, &r, &err) != SA_OK)
		fail_msg("reply: %s", err.msg);
	if (needle)
		must_contain(r.err_msg, needle);
}

/* ---- the malicious relay ---- */

enum attack {
	PASS,
	FLIP_CIPHERTEXT,
	FLIP_TAG,
	FLIP_SEQNO,
	FLIP_TYPE,
	FLIP_RESERVED,
	OVERSIZE_MSGSZ,
	TRUNCATE,
	NO_RESPONSE,
	FW_ERROR,
	REPLAY,
	BUSY,
	DROP,
	BLACKHOLE,
	REORDER,
	HUGE_CERTS,
};

#define LOG_MAX 64

struct logged {
	uint8_t vmpck;
	uint64_t seqno;
	size_t len;
	uint8_t msg[SA_GMSG_PAGE_SIZE];
};

struct relay {
	char path[SA_EP_PATH_MAX + 1];
	char upstream[SA_EP_PATH_MAX + 1];
	int lfd;
	pthread_t t;
	enum attack mode;
	int busy_left; /* BUSY answers still to give; < 0: forever */
	pthread_mutex_t mu;
	int requests;  /* guest requests that reached the relay */
	struct logged log[LOG_MAX];
	size_t n_log;
	uint8_t saved[SA_EP_MAX_PAYLOAD];
	size_t saved_len;
	bool have_saved;
	volatile bool stop;
	/* frame buffers */
	uint8_t in[SA_EP_MAX_PAYLOAD], out[SA_EP_MAX_PAYLOAD], held[SA_EP_MAX_PAYLOAD];
	size_t held_len;
	int held_conn;
	sa_ep_frame_hdr held_hdr;
	sa_ep_reply rep;
	uint8_t msg[SA_GMSG_PAGE_SIZE];
};

static void relay_log(struct relay *r, const sa_ep_frame_hdr *h, const uint8_t *p, size_t len)
{
	sa_ep_request q;
	sa_gmsg_hdr mh;
	if (sa_ep_request_decode(h->cmd, p, len, &q, NULL) != SA_OK ||
	    sa_gmsg_hdr_decode(q.data, q.data_len, &mh, NULL) != SA_OK)
		return;
	pthread_mutex_lock(&r->mu);
	r->requests++;
	if (r->n_log < LOG_MAX) {
		struct logged *l = &r->log[r->n_log++];
		l->vmpck = mh.msg_vmpck;
		l->seqno = mh.msg_seqno;
		l->len = q.data_len;
		memcpy(l->msg, q.data, q.data_len);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Forward one frame upstream and take its reply into r->out. */
static bool forward(struct relay *r, int *up, const sa_ep_frame_hdr *h, const uint8_t *p, size_t len,
		    sa_ep_frame_hdr *rh, size_t *rlen)
{
	sa_error err;
	if (*up < 0)
		*up = raw_connect(r->upstream);
	return sa_ep_send(*up, h->cmd, h->status, p, len, 10000, &err) == SA_OK &&
	       sa_ep_recv(*up, rh, r->out, sizeof(r->out), rlen, 10000, NULL, &err) == SA_OK;
}

/* The hostile part: rewrite the reply to a guest request (in r->out) as the mode says. */
static void tamper(struct relay *r, const sa_ep_frame_hdr *rh, size_t *rlen)
{
	uint16_t cmd = rh->cmd & ~SA_EP_REPLY;
	if (rh->status != 0)
		return;
	if (r->mode == REPLAY) {
		if (!r->have_saved) {
			memcpy(r->saved, r->out, *rlen);
			r->saved_len = *rlen;
			r->have_saved = true;
		} else {
			memcpy(r->out, r->saved, r->saved_len);
			*rlen = r->saved_len;
		}
		return;
	}
	sa_ep_reply *p = &r->rep;
	assert_int_equal(sa_ep_reply_decode(cmd, 0, r->out, *rlen, p, NULL), SA_OK);
	memcpy(r->msg, p->data, p->data_len);
	p->data = r->msg;
	uint8_t *certs = NULL;
	if (p->certs_len) {
		certs = malloc(p->certs_len);
		assert_non_null(certs);
		memcpy(certs, p->certs, p->certs_len);
		p->certs = certs;
	}
	switch (r->mode) {
	case FLIP_CIPHERTEXT: r->msg[0x60 + 10] ^= 0x01; break;
	case FLIP_TAG: r->msg[5] ^= 0x80; break;
	case FLIP_SEQNO: r->msg[0x20] ^= 0x04; break;
	case FLIP_TYPE: r->msg[0x34] ^= 0x01; break;
	case FLIP_RESERVED: r->msg[0x50] ^= 0x01; break;
	case OVERSIZE_MSGSZ:
		r->msg[0x36] = 0x00; /* MSG_SZ 0x1000: more than a message page can carry */
		r->msg[0x37] = 0x10;
		break;
	case TRUNCATE: p->data_len -= 17; break;
	case NO_RESPONSE: p->data_len = 0; break;
	case FW_ERROR:
		p->fw_error = SA_FW_INVALID_PARAM;
		p->data_len = 0;
		break;
	default: break;
	}
	assert_int_equal(sa_ep_reply_encode(p, r->out, sizeof(r->out), rlen, NULL), SA_OK);
	free(certs);
}

/* A send whose failure the relay ignores (the guest will notice). */
static void send_quiet(int fd, uint16_t cmd, uint16_t status, const uint8_t *p, size_t len)
{
	sa_error err;
	if (sa_ep_send(fd, cmd, status, p, len, 5000, &err) != SA_OK) {
		/* the guest went away */
	}
}

/* A reply the relay makes up without asking the daemon. */
static void forge(struct relay *r, int fd, uint16_t cmd, uint32_t vmm_error, uint32_t pages)
{
	sa_ep_reply *p = &r->rep;
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->vmm_error = vmm_error;
	p->pages_needed = cmd == SA_EP_EXT_GUEST_REQUEST ? pages : 0;
	size_t len;
	assert_int_equal(sa_ep_reply_encode(p, r->out, sizeof(r->out), &len, NULL), SA_OK);
	send_quiet(fd, (uint16_t)(cmd | SA_EP_REPLY), 0, r->out, len);
}

/* Close a guest connection; with none left, the upstream one too (releasing the VM's channel). */
static void drop_conn(int conns[2], int i, int *up)
{
	close(conns[i]);
	conns[i] = -1;
	if (conns[0] < 0 && conns[1] < 0 && *up >= 0) {
		close(*up);
		*up = -1;
	}
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	int conns[2] = {-1, -1};
	int up = -1;
	while (!r->stop) {
		struct pollfd pf[3];
		nfds_t n = 0;
		pf[n++] = (struct pollfd){.fd = r->lfd, .events = POLLIN};
		for (int i = 0; i < 2; i++)
			pf[n++] = (struct pollfd){.fd = conns[i], .events = POLLIN};
		if (poll(pf, n, 50) <= 0)
			continue;
		if (pf[0].revents) {
			int fd = accept(r->lfd, NULL, NULL);
			if (fd >= 0) {
				int slot = conns[0] < 0 ? 0 : conns[1] < 0 ? 1 : -1;
				if (slot < 0)
					close(fd);
				else
					conns[slot] = fd;
			}
		}
		for (int i = 0; i < 2; i++) {
			if (conns[i] < 0 || !pf[1 + i].revents)
				continue;
			sa_ep_frame_hdr h, rh;
			size_t len, rlen;
			sa_error err;
			bool closed;
			if (sa_ep_recv(conns[i], &h, r->in, sizeof(r->in), &len, 5000, &closed, &err) != SA_OK) {
				drop_conn(conns, i, &up);
				continue;
			}
			bool is_req = h.cmd == SA_EP_GUEST_REQUEST || h.cmd == SA_EP_EXT_GUEST_REQUEST;
			if (is_req)
				relay_log(r, &h, r->in, len);
			if (is_req && r->mode == BUSY && r->busy_left != 0) {
				if (r->busy_left > 0)
					r->busy_left--;
				forge(r, conns[i], h.cmd, SA_VMM_ERR_BUSY, 0);
				continue;
			}
			if (is_req && r->mode == HUGE_CERTS && h.cmd == SA_EP_EXT_GUEST_REQUEST) {
				forge(r, conns[i], h.cmd, SA_VMM_ERR_INVALID_LEN, SA_EP_MAX_CERT_PAGES + 1);
				continue;
			}
			if (r->mode == BLACKHOLE && r->requests > 0) {
				/* After the first request nothing gets through, not even DISABLE_VMPCK. */
				drop_conn(conns, i, &up);
				continue;
			}
			if (is_req && (r->mode == DROP || r->mode == BLACKHOLE)) {
				drop_conn(conns, i, &up);
				continue;
			}
			if (is_req && r->mode == REORDER && r->held_conn < 0) {
				/* Hold the first guest's request until the other's arrives. */
				memcpy(r->held, r->in, len);
				r->held_len = len;
				r->held_hdr = h;
				r->held_conn = i;
				continue;
			}
			if (is_req && r->mode == REORDER) {
				/* Both go to the PSP; each guest gets the other's response. */
				static uint8_t first[SA_EP_MAX_PAYLOAD];
				sa_ep_frame_hdr fh;
				size_t flen;
				if (!forward(r, &up, &r->held_hdr, r->held, r->held_len, &fh, &flen))
					break;
				memcpy(first, r->out, flen);
				if (!forward(r, &up, &h, r->in, len, &rh, &rlen))
					break;
				send_quiet(conns[r->held_conn], rh.cmd, rh.status, r->out, rlen);
				send_quiet(conns[i], fh.cmd, fh.status, first, flen);
				r->held_conn = -1;
				continue;
			}
			if (!forward(r, &up, &h, r->in, len, &rh, &rlen)) {
				drop_conn(conns, i, &up);
				continue;
			}
			if (is_req && r->mode != PASS && r->mode != BUSY && r->mode != HUGE_CERTS)
				tamper(r, &rh, &rlen);
			send_quiet(conns[i], rh.cmd, rh.status, r->out, rlen);
		}
	}
	for (int i = 0; i < 2; i++)
		if (conns[i] >= 0)
			close(conns[i]);
	if (up >= 0)
		close(up);
	return NULL;
}

static struct relay *relay_start(const char *upstream, enum attack mode)
{
	static unsigned seq;
	struct relay *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	pthread_mutex_init(&r->mu, NULL);
	r->mode = mode;
	r->held_conn = -1;
	snprintf(r->upstream, sizeof(r->upstream), "%s", upstream);
	snprintf(r->path, sizeof(r->path), "%s/relay-%u.sock", g_dir, seq++);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	r->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(r->lfd >= 0);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->lfd, 8), 0);
	assert_int_equal(pthread_create(&r->t, NULL, relay_main, r), 0);
	return r;
}

static void relay_stop(struct relay *r)
{
	r->stop = true;
	pthread_join(r->t, NULL);
	close(r->lfd);
	unlink(r->path);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int relay_requests(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	int n = r->requests;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* An IV is (VMPCK, MSG_SEQNO): every message that used one must be the very same message. */
static void assert_no_iv_reuse(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n_log; i++)
		for (size_t j = i + 1; j < r->n_log; j++)
			if (r->log[i].vmpck == r->log[j].vmpck && r->log[i].seqno == r->log[j].seqno &&
			    (r->log[i].len != r->log[j].len || memcmp(r->log[i].msg, r->log[j].msg, r->log[i].len)))
				fail_msg("VMPCK%u MSG_SEQNO %llu sealed two different messages", r->log[i].vmpck,
					 (unsigned long long)r->log[i].seqno);
	pthread_mutex_unlock(&r->mu);
}

/* ---- tests: honest paths ---- */

static void report_through_the_guest_channel(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	sa_guest *g = must_open(sock, 0);
	assert_int_equal(sa_guest_kind(g), SA_GUEST_EMU);
	must_report(g, 0);
	must_report(g, 2);
	/* VMPCK1 may ask for VMPL 1 and above only: the PSP says so, authenticated, and the key stays. */
	sa_guest *g1 = NULL;
	sa_guest_close(g);
	g1 = must_open(sock, 1);
	sa_error err;
	assert_int_equal(get_report(g1, 0, &err), SA_ERR_ARG);
	must_contain(err.msg, "INVALID_PARAM");
	must_report(g1, 1);
	/* Derived keys: deterministic per request, different per root. */
	sa_key_req kr = {.guest_field_select = 0x9, .vmpl = 1};
	uint8_t k1[32], k2[32], k3[32];
	assert_int_equal(sa_guest_get_derived_key(g1, &kr, k1, &err), SA_OK);
	assert_int_equal(sa_guest_get_derived_key(g1, &kr, k2, &err), SA_OK);
	assert_memory_equal(k1, k2, 32);
	kr.root_key_select = 1;
	assert_int_equal(sa_guest_get_derived_key(g1, &kr, k3, &err), SA_OK);
	assert_memory_not_equal(k1, k3, 32);
	sa_guest_close(g1);
}

static void sequence_numbers_continue_across_processes_and_restarts(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	for (int round = 0; round < 3; round++) {
		sa_guest *g = must_open(sock, 0);
		must_report(g, 0);
		must_report(g, 0);
		sa_guest_close(g);
	}
	uint8_t page[SA_SECRETS_PAGE_SIZE];
	sa_secrets_page sp;
	hello(sock, page, &sp);
	assert_int_equal(seqno_in_page(&sp, 0), 12); /* six requests, six responses */
	assert_int_equal(seqno_in_page(&sp, 1), 0);

	/* The daemon goes away and comes back: the guest continues where it stopped. */
	td_daemon_down(&g_td);
	td_daemon_up(&g_td, g_state);
	sa_guest *g = must_open(sock, 0);
	must_report(g, 0);
	sa_guest_close(g);
	hello(sock, page, &sp);
	assert_int_equal(seqno_in_page(&sp, 0), 14);
}

static void two_vms_have_different_vmpcks(void **state)
{
	(void)state;
	char s1[SA_EP_PATH_MAX + 1], s2[SA_EP_PATH_MAX + 1];
	uint32_t h1 = launch_vm(s1), h2 = launch_vm(s2);
	assert_int_not_equal(h1, h2);
	assert_string_not_equal(s1, s2);
	uint8_t p1[SA_SECRETS_PAGE_SIZE], p2[SA_SECRETS_PAGE_SIZE];
	sa_secrets_page a, b;
	hello(s1, p1, &a);
	hello(s2, p2, &b);
	for (int i = 0; i < SA_VMPCK_COUNT; i++) {
		assert_false(sa_all_zero(a.vmpck[i], SA_VMPCK_LEN));
		assert_memory_not_equal(a.vmpck[i], b.vmpck[i], SA_VMPCK_LEN);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(a.vmpck[i], a.vmpck[j], SA_VMPCK_LEN);
	}
	/* Listed, then gone after decommissioning. */
	sa_ep_vm_info *vms;
	size_t n;
	uint32_t total;
	sa_error err;
	assert_int_equal(sa_emu_client_vm_list(g_td.host, &vms, &n, &total, &err), SA_OK);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= vms[i].handle == h2 && !strcmp(vms[i].socket, s2);
	free(vms);
	assert_true(found);
	uint32_t fw;
	assert_int_equal(sa_emu_client_decommission(g_td.host, h2, &fw, &err), SA_OK);
	struct stat st;
	assert_int_not_equal(stat(s2, &st), 0);
	sa_guest *g;
	assert_int_equal(open_guest(s2, 0, 100, &g, &err), SA_ERR_IO);
	assert_int_not_equal(sa_emu_client_decommission(g_td.host, h2, &fw, &err), SA_OK);
	assert_int_equal(fw, SA_FW_INVALID_GUEST);
}

struct opener {
	const char *sock;
	volatile bool done;
	sa_status s;
	sa_guest *g;
};

static void *open_later(void *arg)
{
	struct opener *o = arg;
	sa_error err;
	o->s = open_guest(o->sock, 0, 2000, &o->g, &err);
	o->done = true;
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void one_guest_process_at_a_time_per_vm(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	sa_guest *g1 = must_open(sock, 0);
	must_report(g1, 0);
	struct opener o = {.sock = sock};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, open_later, &o), 0);
	sleep_ms(300);
	assert_false(o.done); /* waits for the channel, as callers of the kernel's mutex do */
	must_report(g1, 0);
	sa_guest_close(g1);
	pthread_join(t, NULL);
	assert_int_equal(o.s, SA_OK);
	must_report(o.g, 0); /* and continues at the right sequence number */
	sa_guest_close(o.g);
}

struct worker {
	char sock[SA_EP_PATH_MAX + 1];
	int ok;
	char why[SA_ERROR_MSG_MAX + 32];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sa_guest *g;
	sa_error err;
	if (open_guest(w->sock, 0, 2000, &g, &err) != SA_OK) {
		snprintf(w->why, sizeof(w->why), "open: %s", err.msg);
		return NULL;
	}
	uint8_t nonce[64] = {1}, report[SA_SNP_REPORT_SIZE];
	for (int i = 0; i < 5; i++) {
		if (sa_guest_get_report(g, nonce, 0, 0, report, &err) != SA_OK) {
			snprintf(w->why, sizeof(w->why), "report %d: %s", i, err.msg);
			break;
		}
		w->ok++;
	}
	sa_guest_close(g);
	return NULL;
}

static void vms_are_served_in_parallel(void **state)
{
	(void)state;
	enum { N = 4 };
	struct worker w[N];
	pthread_t t[N];
	memset(w, 0, sizeof(w));
	for (int i = 0; i < N; i++)
		launch_vm(w[i].sock);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (w[i].ok != 5)
			fail_msg("VM %d: %s", i, w[i].why);
	}
}

static void busy_is_retried_with_the_same_message(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	struct relay *r = relay_start(sock, BUSY);
	r->busy_left = 2;
	sa_guest *g = must_open(r->path, 0);
	must_report(g, 0);
	assert_int_equal(relay_requests(r), 3);
	assert_int_equal(r->n_log, 3);
	assert_true(r->log[0].seqno == 1 && r->log[2].seqno == 1);
	assert_memory_equal(r->log[0].msg, r->log[2].msg, r->log[0].len);
	must_report(g, 0);
	assert_true(r->log[3].seqno == 3);
	sa_guest_close(g);
	assert_no_iv_reuse(r);
	relay_stop(r);
}

static void small_certificate_buffer_follows_the_driver(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	uint32_t h = launch_vm(sock);
	/* A table of just over 5 pages for this guest. */
	static uint8_t blob[5 * 4096], table[6 * 4096];
	memset(blob, 0xAB, sizeof(blob));
	sa_cert_table t = {.n = 1};
	memcpy(t.e[0].guid, SA_CERT_GUID_ARK, 16);
	t.e[0].data = blob;
	t.e[0].len = sizeof(blob) - 100;
	size_t tlen;
	sa_error err;
	assert_int_equal(sa_cert_table_encode(&t, table, sizeof(table), &tlen, &err), SA_OK);
	assert_true(tlen > 5 * 4096 - 100 && tlen <= 5 * 4096);
	assert_int_equal(sa_emu_client_set_ext_certs(g_td.host, h, table, tlen, &err), SA_OK);

	struct relay *r = relay_start(sock, PASS);
	sa_guest *g = must_open(r->path, 0);
	uint8_t nonce[64] = {7}, report[SA_SNP_REPORT_SIZE];
	uint8_t *certs;
	size_t certs_len;
	if (sa_guest_get_ext_report(g, nonce, 0, 0, report, &certs, &certs_len, &err) != SA_OK)
		fail_msg("extended report: %s", err.msg);
	assert_int_equal(certs_len, tlen);
	assert_memory_equal(certs, table, tlen);
	free(certs);
	/* EXT (4 pages) -> INVALID_LEN; the same message as a plain request; a fresh EXT with 5 pages. */
	assert_int_equal(r->n_log, 3);
	assert_true(r->log[0].seqno == 1 && r->log[1].seqno == 1 && r->log[2].seqno == 3);
	assert_memory_equal(r->log[0].msg, r->log[1].msg, r->log[0].len);
	/* The next one asks with the larger buffer straight away. */
	assert_int_equal(sa_guest_get_ext_report(g, nonce, 0, 0, report, &certs, &certs_len, &err), SA_OK);
	free(certs);
	assert_int_equal(r->n_log, 4);
	sa_guest_close(g);
	assert_no_iv_reuse(r);
	relay_stop(r);
}

static void a_host_asking_too_many_pages_is_refused_but_harmless(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	struct relay *r = relay_start(sock, HUGE_CERTS);
	sa_guest *g = must_open(r->path, 0);
	uint8_t nonce[64] = {7}, report[SA_SNP_REPORT_SIZE];
	uint8_t *certs;
	size_t certs_len;
	sa_error err;
	assert_int_equal(sa_guest_get_ext_report(g, nonce, 0, 0, report, &certs, &certs_len, &err), SA_ERR_RANGE);
	must_contain(err.msg, "needs 17 pages");
	/* The re-sent plain request consumed the sequence number: the channel is intact. */
	must_report(g, 0);
	sa_guest_close(g);
	assert_no_iv_reuse(r);
	relay_stop(r);
}

/* ---- tests: attacks ---- */

/*
 * Run one attack on a fresh VM: detection, the wiped key, the zeroed VMPCK, no
 * IV reuse.  daemon_told: the relay lets DISABLE_VMPCK through (only a relay
 * that cuts every line keeps the daemon from zeroing the key in the secrets
 * page it keeps for the guest; the error then says so).
 */
static void attack(enum attack mode, const char *needle, bool daemon_told)
{
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	struct relay *r = relay_start(sock, mode);
	r->busy_left = -1;
	sa_guest *g;
	sa_error err;
	assert_int_equal(open_guest(r->path, 0, 300, &g, &err), SA_OK);
	if (mode == REPLAY)
		must_report(g, 0); /* the reply the relay will replay */
	sa_status s = get_report(g, 0, &err);
	if (s == SA_OK)
		fail_msg("attack %d went unnoticed", (int)mode);
	must_contain(err.msg, needle);
	must_contain(err.msg, "VMPCK0");
	must_contain(err.msg, daemon_told ? "zeroed in the VM's secrets page" : "the host could not be told");
	if (mode == BUSY) {
		uint32_t fw, vmm;
		sa_guest_last_error(g, &fw, &vmm);
		assert_int_equal(vmm, SA_VMM_ERR_BUSY);
	}
	/* Every later request fails at once, naming the reason, and sends nothing. */
	int before = relay_requests(r);
	sa_error err2;
	assert_int_equal(get_report(g, 0, &err2), SA_ERR_STATE);
	must_contain(err2.msg, "disabled");
	must_contain(err2.msg, needle);
	sa_key_req kr = {0};
	uint8_t key[32];
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err2), SA_ERR_STATE);
	assert_int_equal(relay_requests(r), before);
	sa_guest_close(g);
	assert_no_iv_reuse(r);
	relay_stop(r);

	/* The VM's secrets page: VMPCK0 zeroed for good (unless the relay cut the line first). */
	uint8_t page[SA_SECRETS_PAGE_SIZE];
	sa_secrets_page sp;
	hello(sock, page, &sp);
	assert_int_equal(sa_all_zero(sp.vmpck[0], SA_VMPCK_LEN), daemon_told);
	assert_false(sa_all_zero(sp.vmpck[1], SA_VMPCK_LEN));
	if (daemon_told) {
		assert_int_equal(open_guest(sock, 0, 300, &g, &err), SA_ERR_STATE);
		must_contain(err.msg, "VMPCK0");
		must_contain(err.msg, "disabled");
	}
	/* The other VMPCKs still work. */
	g = must_open(sock, 1);
	must_report(g, 1);
	sa_guest_close(g);
}

static void attack_flip_ciphertext(void **s) { (void)s; attack(FLIP_CIPHERTEXT, "does not authenticate", true); }
static void attack_flip_tag(void **s) { (void)s; attack(FLIP_TAG, "does not authenticate", true); }
static void attack_flip_seqno(void **s) { (void)s; attack(FLIP_SEQNO, "MSG_SEQNO", true); }
static void attack_flip_type(void **s) { (void)s; attack(FLIP_TYPE, "MSG_TYPE", true); }
static void attack_flip_reserved(void **s) { (void)s; attack(FLIP_RESERVED, "reserved", true); }
static void attack_oversize_msg_sz(void **s) { (void)s; attack(OVERSIZE_MSGSZ, "MSG_SZ", true); }
static void attack_truncate(void **s) { (void)s; attack(TRUNCATE, "MSG_SZ", true); }
static void attack_no_response(void **s) { (void)s; attack(NO_RESPONSE, "no response message", true); }
static void attack_fw_error(void **s) { (void)s; attack(FW_ERROR, "INVALID_PARAM", true); }
static void attack_replay(void **s) { (void)s; attack(REPLAY, "MSG_SEQNO", true); }
static void attack_busy_forever(void **s) { (void)s; attack(BUSY, "BUSY", true); }
static void attack_drop(void **s) { (void)s; attack(DROP, "closed the connection", true); }
static void attack_blackhole(void **s) { (void)s; attack(BLACKHOLE, "closed the connection", false); }

struct reorder_guest {
	sa_guest *g;
	uint32_t vmpl;
	sa_status s;
	sa_error err;
};

static void *reorder_request(void *arg)
{
	struct reorder_guest *rg = arg;
	uint8_t nonce[64] = {3}, report[SA_SNP_REPORT_SIZE];
	rg->s = sa_guest_get_report(rg->g, nonce, rg->vmpl, 0, report, &rg->err);
	return NULL;
}

static void attack_reorder(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	struct relay *r = relay_start(sock, REORDER);
	/* Two guest processes (VMPCK0 and VMPCK1), both through the one hostile relay. */
	struct reorder_guest a = {.vmpl = 1}, b = {.vmpl = 1};
	a.g = must_open(r->path, 0);
	b.g = must_open(r->path, 1);
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, reorder_request, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, reorder_request, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_not_equal(a.s, SA_OK);
	assert_int_not_equal(b.s, SA_OK);
	must_contain(a.err.msg, "MSG_VMPCK");
	must_contain(b.err.msg, "MSG_VMPCK");
	sa_error err;
	assert_int_equal(get_report(a.g, 1, &err), SA_ERR_STATE);
	assert_int_equal(get_report(b.g, 1, &err), SA_ERR_STATE);
	sa_guest_close(a.g);
	sa_guest_close(b.g);
	assert_no_iv_reuse(r);
	relay_stop(r);
	uint8_t page[SA_SECRETS_PAGE_SIZE];
	sa_secrets_page sp;
	hello(sock, page, &sp);
	assert_true(sa_all_zero(sp.vmpck[0], SA_VMPCK_LEN));
	assert_true(sa_all_zero(sp.vmpck[1], SA_VMPCK_LEN));
	assert_false(sa_all_zero(sp.vmpck[2], SA_VMPCK_LEN));
}

/* ---- the daemon and malformed frames ---- */

static void malformed_frames_get_firmware_style_errors(void **state)
{
	(void)state;
	char sock[SA_EP_PATH_MAX + 1];
	launch_vm(sock);
	int fd = raw_connect(emu_daemon_host_socket(g_td.d));
	uint8_t junk[64] = {0};
	expect_status(fd, 0x7777, 0, NULL, 0, SA_FW_INVALID_COMMAND, "unknown command");
	expect_status(fd, SA_EP_STATUS, 0, junk, 1, SA_FW_INVALID_LENGTH, "trailing");
	expect_status(fd, SA_EP_LAUNCH_START, 0, junk, 7, SA_FW_INVALID_LENGTH, "POLICY");
	expect_status(fd, SA_EP_STATUS, 1, NULL, 0, SA_FW_INVALID_PARAM, "flags");
	expect_status(fd, SA_EP_HELLO, 0, NULL, 0, SA_FW_INVALID_COMMAND, "guest channel command");
	expect_status(fd, SA_EP_STATUS | SA_EP_REPLY, 0, NULL, 0, SA_FW_INVALID_COMMAND, "reply frame");
	junk[0] = 9;
	expect_status(fd, SA_EP_EXPORT_VEK, 0, junk, 1, SA_FW_INVALID_PARAM, "expected 0 or 1");
	uint8_t upd[16] = {0x99, 0x99, 0, 0, 1, 0, 0, 0, 0, 0x10};
	expect_status(fd, SA_EP_LAUNCH_UPDATE, 0, upd, sizeof(upd), SA_FW_INVALID_GUEST, NULL);
	/* Still serving. */
	expect_status(fd, SA_EP_STATUS, 0, NULL, 0, 0, NULL);
	/* A length field out of range: an answer, then the connection is closed. */
	uint8_t hdr[8] = {0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x00};
	assert_int_equal(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	sa_ep_frame_hdr h;
	size_t rlen;
	sa_error err;
	bool closed = false;
	assert_int_equal(sa_ep_recv(fd, &h, raw_buf, sizeof(raw_buf), &rlen, 5000, NULL, &err), SA_OK);
	assert_int_equal(h.status, SA_FW_INVALID_LENGTH);
	assert_int_equal(sa_ep_recv(fd, &h, raw_buf, sizeof(raw_buf), &rlen, 5000, &closed, &err), SA_ERR_IO);
	assert_true(closed);
	close(fd);

	/* The guest channel. */
	fd = raw_connect(sock);
	expect_status(fd, SA_EP_STATUS, 0, NULL, 0, SA_FW_INVALID_COMMAND, "host command");
	junk[0] = 9;
	expect_status(fd, SA_EP_DISABLE_VMPCK, 0, junk, 1, SA_FW_INVALID_PARAM, "VMPCK id");
	/* A request message that is garbage: the PSP's answer is a firmware error, no response. */
	uint8_t gr[4 + 100];
	memset(gr, 0x41, sizeof(gr));
	gr[0] = 100;
	gr[1] = gr[2] = gr[3] = 0;
	sa_ep_frame_hdr rh;
	raw_call(fd, SA_EP_GUEST_REQUEST, 0, gr, sizeof(gr), &rh, &rlen);
	assert_int_equal(rh.status, 0);
	sa_ep_reply rep;
	assert_int_equal(sa_ep_reply_decode(SA_EP_GUEST_REQUEST, 0, raw_buf, rlen, &rep, &err), SA_OK);
	assert_int_equal(rep.fw_error, SA_FW_INVALID_PARAM);
	assert_int_equal(rep.data_len, 0);
	/* A frame cut short, then the connection closed: the daemon carries on. */
	uint8_t part[6] = {40, 0, 0, 0, 0x01, 0x01};
	assert_int_equal(write(fd, part, sizeof(part)), (ssize_t)sizeof(part));
	close(fd);
	sa_guest *g = must_open(sock, 0);
	must_report(g, 0);
	sa_guest_close(g);
	uint32_t pid;
	sa_emu_status st;
	assert_int_equal(sa_emu_client_status(g_td.host, &st, &pid, NULL, &err), SA_OK);
	assert_int_equal(pid, (uint32_t)getpid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(report_through_the_guest_channel),
		cmocka_unit_test(two_vms_have_different_vmpcks),
		cmocka_unit_test(one_guest_process_at_a_time_per_vm),
		cmocka_unit_test(vms_are_served_in_parallel),
		cmocka_unit_test(busy_is_retried_with_the_same_message),
		cmocka_unit_test(small_certificate_buffer_follows_the_driver),
		cmocka_unit_test(a_host_asking_too_many_pages_is_refused_but_harmless),
		cmocka_unit_test(attack_flip_ciphertext),
		cmocka_unit_test(attack_flip_tag),
		cmocka_unit_test(attack_flip_seqno),
		cmocka_unit_test(attack_flip_type),
		cmocka_unit_test(attack_flip_reserved),
		cmocka_unit_test(attack_oversize_msg_sz),
		cmocka_unit_test(attack_truncate),
		cmocka_unit_test(attack_no_response),
		cmocka_unit_test(attack_fw_error),
		cmocka_unit_test(attack_replay),
		cmocka_unit_test(attack_busy_forever),
		cmocka_unit_test(attack_drop),
		cmocka_unit_test(attack_blackhole),
		cmocka_unit_test(attack_reorder),
		cmocka_unit_test(malformed_frames_get_firmware_style_errors),
		cmocka_unit_test(sequence_numbers_continue_across_processes_and_restarts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
