/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for QMP: the message reader and the server's command
 * dispatch.
 *
 * The input goes to sa_qmp_reader_next in chunks (sizes taken from the
 * input's first byte), every message drained; a message returned is always a
 * JSON object.  Then the same bytes, after a qmp_capabilities, are what a
 * peer sends to sa_qmp_serve_emu on a socketpair, for a VM chosen by the
 * first byte: no SEV, an SNP guest (launched once), or a fresh SEV-ES guest
 * (launched per input, decommissioned after).  A thread drains the replies.
 * The emulated platform lives in a temporary directory made at start-up
 * (under /dev/shm when it exists, as its state is written with fsync).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sevattest/emu.h"
#include "sevattest/gctx.h"
#include "sevattest/qmp.h"
#include "sevattest/sev.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sa_emu *emu;
static uint32_t snp_handle;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char tmpl[] = "/dev/shm/fuzz-qmp.XXXXXX", tmpl2[] = "/tmp/fuzz-qmp.XXXXXX";
	char *dir = mkdtemp(tmpl);
	if (dir == NULL)
		dir = mkdtemp(tmpl2);
	if (dir == NULL)
		abort();
	char state[256];
	snprintf(state, sizeof(state), "%s/state", dir);
	sa_emu_create_opts o = {.rsa_bits = 2048};
	sa_error err;
	uint32_t fw;
	if (sa_emu_create(state, &o, &err) != SA_OK || sa_emu_open(state, &emu, &err) != SA_OK) {
		fprintf(stderr, "fuzz_qmp: emulator: %s\n", err.msg);
		abort();
	}
	uint8_t page[4096];
	memset(page, 0x11, sizeof(page));
	uint8_t host_data[32] = {1, 2, 3};
	if (sa_emu_launch_start(emu, 0x30000, &snp_handle, &fw, &err) != SA_OK ||
	    sa_emu_launch_update(emu, snp_handle, SA_PAGE_NORMAL, 0x100000, page, NULL, &fw, &err) != SA_OK ||
	    sa_emu_launch_finish(emu, snp_handle, NULL, NULL, false, host_data, &fw, &err) != SA_OK) {
		fprintf(stderr, "fuzz_qmp: SNP launch: %s\n", err.msg);
		abort();
	}
	return 0;
}

static uint32_t launch_sev_es(void)
{
	uint32_t h = 0, fw = 0;
	sa_error err;
	static uint8_t vmsa[4096];
	uint8_t data[32] = {0};
	if (sa_emu_sev_launch_start(emu, SA_SEV_POLICY_NODBG | SA_SEV_POLICY_ES, NULL, 0, NULL, 0, &h, &fw, &err) !=
		    SA_OK ||
	    sa_emu_sev_launch_update_data(emu, h, data, sizeof(data), &fw, &err) != SA_OK ||
	    sa_emu_sev_launch_update_vmsa(emu, h, vmsa, sizeof(vmsa), &fw, &err) != SA_OK) {
		fprintf(stderr, "fuzz_qmp: SEV-ES launch: %s\n", err.msg);
		abort();
	}
	return h;
}

static void fuzz_reader(const uint8_t *data, size_t size)
{
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 4096, 16);
	size_t chunk = size ? (size_t)(data[0] % 64) + 1 : 1;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		const uint8_t *p = data + off;
		for (;;) {
			json_object *m = NULL;
			sa_error err;
			sa_status st = sa_qmp_reader_next(&r, p, n, &m, &err);
			n = 0;
			if (m != NULL) {
				if (st != SA_OK || !json_object_is_type(m, json_type_object))
					__builtin_trap();
				json_object_put(m);
				continue;
			}
			if (st == SA_ERR_RANGE)
				goto out;
			if (st == SA_ERR_FORMAT)
				continue; /* one bad message dropped: look for the next */
			if (st != SA_OK)
				__builtin_trap();
			break;
		}
		if (sa_qmp_reader_pending(&r) > 4096)
			__builtin_trap();
	}
out:
	sa_qmp_reader_free(&r);
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[8192];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

struct feed {
	int fd;
	const uint8_t *data;
	size_t size;
};

static void *feed_thread(void *arg)
{
	struct feed *f = arg;
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}";
	/* send(MSG_NOSIGNAL): the server may have closed after a quit. */
	if (send(f->fd, caps, sizeof(caps) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(caps) - 1)) {
		size_t off = 0;
		while (off < f->size) {
			ssize_t w = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

static void fuzz_server(const uint8_t *data, size_t size)
{
	if (size == 0)
		return;
	uint32_t handle = 0;
	bool sev = false;
	switch (data[0] % 3) {
	case 1: handle = snp_handle; break;
	case 2:
		handle = launch_sev_es();
		sev = true;
		break;
	default: break;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	pthread_t reader, writer;
	struct feed f = {.fd = sv[0], .data = data + 1, .size = size - 1};
	int rfd = sv[0];
	if (pthread_create(&reader, NULL, drain, &rfd) != 0 || pthread_create(&writer, NULL, feed_thread, &f) != 0)
		abort();
	sa_error err;
	(void)sa_qmp_serve_emu(sv[1], emu, handle, 5000, &err);
	close(sv[1]);
	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	close(sv[0]);
	if (sev) {
		uint32_t fw;
		if (sa_emu_decommission(emu, handle, &fw, &err) != SA_OK)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reader(data, size);
	fuzz_server(data, size);
	ERR_clear_error();
	return 0;
}
