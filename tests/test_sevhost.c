/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV host side (sevhost.h, the SEV commands of emu_client.h and the
 * daemon): the /dev/sev backend against a fake PSP driver standing in for the
 * kernel (through the ioctl seam), which checks every SEV_ISSUE_CMD byte by
 * byte, answers the length probes as the kernel does, and refuses the
 * platform-changing commands on a read-only descriptor (-EPERM); then the
 * emulator backend and the SEV launch over the daemon's host socket, with the
 * per-VM QMP socket from SEV_LAUNCH_START to decommission, across a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "sevattest/emu.h"
#include "sevattest/emu_client.h"
#include "sevattest/gctx.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/sevhost.h"

#include "../src/lib/sevhost_test.h"
#include "testdaemon.h"
#include "testutil.h"

static char *g_dir;
static char g_state[600], g_dev[600], g_spec[700];

/* ---- a fake PSP driver ------------------------------------------------------------ */

#define SA_ARRAY_LEN_T(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct fake {
	unsigned calls;
	uint32_t cmds[8];           /* the command ids, in order */
	uint32_t lens_in[8][2];     /* the lengths each call passed in */
	uint32_t fail_fw;           /* answer every command with this firmware status (-EIO) */
	int fail_errno;             /* or fail before the firmware with this errno (error left 0) */
	uint32_t need1, need2;      /* lengths the probes ask for */
	bool probe_succeeds;        /* a broken driver answering a zero-length buffer with success */
	uint8_t csr[SA_SEV_CERT_SIZE], pdh[SA_SEV_CERT_SIZE], chain[3 * SA_SEV_CERT_SIZE], id[128];
	uint8_t got_pek[SA_SEV_CERT_SIZE], got_oca[SA_SEV_CERT_SIZE];
} F;

static void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	for (size_t i = 0; i < sizeof(F.csr); i++)
		F.csr[i] = (uint8_t)(i * 3 + 1);
	for (size_t i = 0; i < sizeof(F.pdh); i++)
		F.pdh[i] = (uint8_t)(i * 5 + 2);
	for (size_t i = 0; i < sizeof(F.chain); i++)
		F.chain[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(F.id); i++)
		F.id[i] = (uint8_t)(0xA0 + i);
}

/* {u64 address; u32 length}[n] at arg: a buffer too small gets INVALID_LEN and the lengths needed. */
static int answer_bufs(uint8_t *issue, uint8_t *arg, unsigned n, const uint8_t *src[2], const uint32_t need[2])
{
	bool small = false;
	for (unsigned i = 0; i < n; i++) {
		if (F.calls <= SA_ARRAY_LEN_T(F.lens_in))
			F.lens_in[F.calls - 1][i] = get32(arg + 12 * i + 8);
		if (!get64(arg + 12 * i) || get32(arg + 12 * i + 8) < need[i])
			small = true;
	}
	if (small && !F.probe_succeeds) {
		for (unsigned i = 0; i < n; i++)
			put32(arg + 12 * i + 8, need[i]);
		put32(issue + 12, SA_FW_INVALID_LENGTH);
		errno = EIO;
		return -1;
	}
	for (unsigned i = 0; i < n && !small; i++) {
		memcpy((void *)(uintptr_t)get64(arg + 12 * i), src[i], need[i]);
		put32(arg + 12 * i + 8, need[i]);
	}
	return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *argp)
{
	uint8_t *issue = argp;
	if (request != 0xc0105300ul) {
		errno = ENOTTY;
		return -1;
	}
	uint32_t cmd = get32(issue);
	uint8_t *arg = (uint8_t *)(uintptr_t)get64(issue + 4);
	assert_int_equal(get32(issue + 12), 0); /* error starts 0 */
	if (F.calls < SA_ARRAY_LEN_T(F.cmds))
		F.cmds[F.calls] = cmd;
	F.calls++;
	bool rw = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	bool writes = cmd != 1 /* PLATFORM_STATUS */ && cmd != 8 /* GET_ID2 */ && cmd != 5 /* PDH_CERT_EXPORT */;
	if (writes && !rw) {
		errno = EPERM;
		return -1;
	}
	if (F.fail_errno) {
		put32(issue + 12, cmd % 2 ? 0xFFFFFFFFu : 0); /* SEV_RET_NO_FW_CALL or untouched */
		errno = F.fail_errno;
		return -1;
	}
	if (F.fail_fw) {
		put32(issue + 12, F.fail_fw);
		errno = EIO;
		return -1;
	}
	switch (cmd) {
	case 0:
	case 2:
	case 4: assert_null(arg); return 0;
	case 1: { /* PLATFORM_STATUS: 0.24, WORKING, owner external + CONFIG_ES, build 17, 2 guests */
		static const uint8_t st[12] = {0, 24, 2, 0x01, 0x01, 0, 0, 17, 2, 0, 0, 0};
		memcpy(arg, st, sizeof(st));
		return 0;
	}
	case 3: {
		const uint8_t *src[2] = {F.csr, NULL};
		const uint32_t need[2] = {F.need1 ? F.need1 : SA_SEV_CERT_SIZE, 0};
		return answer_bufs(issue, arg, 1, src, need);
	}
	case 5: {
		const uint8_t *src[2] = {F.pdh, F.chain};
		const uint32_t need[2] = {SA_SEV_CERT_SIZE, F.need2 ? F.need2 : 3 * SA_SEV_CERT_SIZE};
		return answer_bufs(issue, arg, 2, src, need);
	}
	case 6:
		assert_int_equal(get32(arg + 8), SA_SEV_CERT_SIZE);
		assert_int_equal(get32(arg + 20), SA_SEV_CERT_SIZE);
		memcpy(F.got_pek, (void *)(uintptr_t)get64(arg), SA_SEV_CERT_SIZE);
		memcpy(F.got_oca, (void *)(uintptr_t)get64(arg + 12), SA_SEV_CERT_SIZE);
		return 0;
	case 8: {
		const uint8_t *src[2] = {F.id, NULL};
		const uint32_t need[2] = {F.need1 ? F.need1 : 64, 0};
		return answer_bufs(issue, arg, 1, src, need);
	}
	}
	errno = EINVAL;
	return -1;
}

static sa_sev_host *open_dev(bool writable)
{
	sa_sev_host *h = NULL;
	sa_error err;
	snprintf(g_spec, sizeof(g_spec), "dev:%s", g_dev);
	if (sa_sev_host_open(g_spec, writable, 1000, &h, &err) != SA_OK)
		fail_msg("open %s: %s", g_spec, err.msg);
	assert_int_equal(sa_sev_host_get_kind(h), SA_SEV_HOST_DEV);
	assert_string_equal(sa_sev_host_path(h), g_dev);
	assert_null(sa_sev_host_emu(h));
	return h;
}

static void dev_status_and_no_arg_commands(void **state)
{
	(void)state;
	fake_reset();
	sa_sev_host *h = open_dev(false);
	sa_sev_platform_status st;
	uint32_t fw = 77;
	sa_error err;
	assert_int_equal(sa_sev_host_status(h, &st, &fw, &err), SA_OK);
	assert_int_equal(fw, 0);
	assert_int_equal(st.api_major, 0);
	assert_int_equal(st.api_minor, 24);
	assert_int_equal(st.state, SA_SEV_STATE_WORKING);
	assert_true(st.owner_external);
	assert_true(st.config_es);
	assert_int_equal(st.build, 17);
	assert_int_equal(st.guest_count, 2);
	assert_int_equal(F.cmds[0], 1);
	/* Read-only: the commands that change the platform are refused by the kernel, before the firmware. */
	assert_int_equal(sa_sev_host_pek_gen(h, &fw, &err), SA_ERR_STATE);
	assert_int_equal(fw, SA_SEV_HOST_NO_FW);
	assert_non_null(strstr(err.msg, "EPERM"));
	assert_non_null(strstr(err.msg, "opened for writing"));
	uint8_t csr[SA_SEV_CERT_SIZE];
	assert_int_equal(sa_sev_host_pek_csr(h, csr, &fw, &err), SA_ERR_STATE);
	assert_non_null(strstr(err.msg, "PEK_CSR"));
	sa_sev_host_close(h);

	h = open_dev(true);
	F.calls = 0;
	assert_int_equal(sa_sev_host_factory_reset(h, &fw, &err), SA_OK);
	assert_int_equal(sa_sev_host_pek_gen(h, &fw, &err), SA_OK);
	assert_int_equal(sa_sev_host_pdh_gen(h, &fw, &err), SA_OK);
	assert_int_equal(F.calls, 3);
	assert_int_equal(F.cmds[0], 0);
	assert_int_equal(F.cmds[1], 2);
	assert_int_equal(F.cmds[2], 4);
	/* A firmware refusal: -EIO with the status in the error field. */
	F.fail_fw = SA_FW_INVALID_PLATFORM_STATE;
	assert_int_equal(sa_sev_host_factory_reset(h, &fw, &err), SA_ERR_STATE);
	assert_int_equal(fw, SA_FW_INVALID_PLATFORM_STATE);
	assert_non_null(strstr(err.msg, "FACTORY_RESET"));
	assert_non_null(strstr(err.msg, "INVALID_PLATFORM_STATE"));
	F.fail_fw = SA_FW_INVALID_CERTIFICATE;
	uint8_t c[SA_SEV_CERT_SIZE] = {0};
	assert_int_equal(sa_sev_host_pek_cert_import(h, c, c, &fw, &err), SA_ERR_VERIFY);
	assert_int_equal(fw, SA_FW_INVALID_CERTIFICATE);
	/* No firmware call at all (EBUSY, error field untouched or SEV_RET_NO_FW_CALL). */
	F.fail_fw = 0;
	F.fail_errno = EBUSY;
	assert_int_equal(sa_sev_host_pdh_gen(h, &fw, &err), SA_ERR_STATE);
	assert_int_equal(fw, SA_SEV_HOST_NO_FW);
	assert_non_null(strstr(err.msg, "EBUSY"));
	F.fail_errno = ENODEV;
	assert_int_equal(sa_sev_host_status(h, &st, &fw, &err), SA_ERR_IO);
	assert_int_equal(fw, SA_SEV_HOST_NO_FW);
	assert_non_null(strstr(err.msg, "no firmware status"));
	sa_sev_host_close(h);
}

static void dev_probes_then_fetches(void **state)
{
	(void)state;
	fake_reset();
	sa_sev_host *h = open_dev(true);
	sa_error err;
	uint32_t fw;
	uint8_t csr[SA_SEV_CERT_SIZE], pdh[SA_SEV_CERT_SIZE], chain[3 * SA_SEV_CERT_SIZE];
	assert_int_equal(sa_sev_host_pek_csr(h, csr, &fw, &err), SA_OK);
	assert_int_equal(F.calls, 2);
	assert_int_equal(F.lens_in[0][0], 0);
	assert_int_equal(F.lens_in[1][0], SA_SEV_CERT_SIZE);
	assert_memory_equal(csr, F.csr, sizeof(csr));

	F.calls = 0;
	assert_int_equal(sa_sev_host_pdh_cert_export(h, pdh, chain, &fw, &err), SA_OK);
	assert_int_equal(F.calls, 2);
	assert_int_equal(F.lens_in[0][0], 0);
	assert_int_equal(F.lens_in[0][1], 0);
	assert_int_equal(F.lens_in[1][1], 3 * SA_SEV_CERT_SIZE);
	assert_memory_equal(pdh, F.pdh, sizeof(pdh));
	assert_memory_equal(chain, F.chain, sizeof(chain));

	/* GET_ID2: any length the firmware names (two sockets: 128). */
	uint8_t *id = NULL;
	size_t len = 0;
	F.calls = 0;
	assert_int_equal(sa_sev_host_get_id(h, &id, &len, &fw, &err), SA_OK);
	assert_int_equal(len, 64);
	assert_memory_equal(id, F.id, 64);
	free(id);
	F.need1 = 128;
	assert_int_equal(sa_sev_host_get_id(h, &id, &len, &fw, &err), SA_OK);
	assert_int_equal(len, 128);
	assert_memory_equal(id, F.id, 128);
	free(id);

	/* PEK_CERT_IMPORT passes both certificates through byte for byte. */
	uint8_t pek[SA_SEV_CERT_SIZE], oca[SA_SEV_CERT_SIZE];
	memset(pek, 0x11, sizeof(pek));
	memset(oca, 0x22, sizeof(oca));
	assert_int_equal(sa_sev_host_pek_cert_import(h, pek, oca, &fw, &err), SA_OK);
	assert_memory_equal(F.got_pek, pek, sizeof(pek));
	assert_memory_equal(F.got_oca, oca, sizeof(oca));

	/* A firmware that asks for another length than a certificate's is refused, naming both. */
	F.need1 = 0x900;
	assert_int_equal(sa_sev_host_pek_csr(h, csr, &fw, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "length needed of 2304 bytes, expected 2084"));
	F.need1 = SA_SEV_HOST_ID_MAX + 1;
	assert_int_equal(sa_sev_host_get_id(h, &id, &len, &fw, &err), SA_ERR_FORMAT);
	assert_null(id);
	F.need1 = 0;
	F.need2 = 2 * SA_SEV_CERT_SIZE;
	assert_int_equal(sa_sev_host_pdh_cert_export(h, pdh, chain, &fw, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "chain length needed"));
	/* A driver answering the probe with success is not believed. */
	F.need2 = 0;
	F.probe_succeeds = true;
	assert_int_equal(sa_sev_host_pek_csr(h, csr, &fw, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "length probe"));
	sa_sev_host_close(h);
}

static void backend_specs(void **state)
{
	(void)state;
	sa_sev_host *h = NULL;
	sa_error err;
	assert_int_equal(sa_sev_host_open("sev", false, 100, &h, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "expected auto, dev:PATH or emu:SOCKET"));
	assert_null(h);
	char p[700];
	snprintf(p, sizeof(p), "dev:%s/absent", g_dir);
	assert_int_equal(sa_sev_host_open(p, false, 100, &h, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "absent"));
	snprintf(p, sizeof(p), "emu:%s/absent.sock", g_dir);
	assert_int_equal(sa_sev_host_open(p, false, 100, &h, &err), SA_ERR_IO);
	assert_int_equal(sa_sev_host_open("dev:", false, 100, &h, &err), SA_ERR_ARG);
	assert_null(h);
}

/* ---- the emulator, its daemon in a thread ------------------------------------------------ */

static td_daemon g_td;

static int group_setup(void **state)
{
	(void)state;
	g_dir = tu_tmpdir();
	snprintf(g_state, sizeof(g_state), "%s/st", g_dir);
	snprintf(g_dev, sizeof(g_dev), "%s/fake-sev", g_dir);
	int fd = open(g_dev, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	sa_sev_host_set_ioctl(fake_ioctl);
	return td_daemon_create(&g_td, g_state);
}

static int group_teardown(void **state)
{
	(void)state;
	td_daemon_down(&g_td);
	sa_sev_host_set_ioctl(NULL);
	tu_rmtree(g_dir);
	free(g_dir);
	return 0;
}

static bool is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The platform owner's flow on the emulator: CSR, signed by a fresh OCA key, imported; then the chain. */
static void emu_owner_flow(void **state)
{
	(void)state;
	sa_sev_host *h = NULL;
	sa_error err;
	uint32_t fw;
	snprintf(g_spec, sizeof(g_spec), "emu:%s", emu_daemon_host_socket(g_td.d));
	if (sa_sev_host_open(g_spec, true, 10000, &h, &err) != SA_OK)
		fail_msg("open: %s", err.msg);
	assert_int_equal(sa_sev_host_get_kind(h), SA_SEV_HOST_EMU);
	assert_non_null(sa_sev_host_emu(h));
	sa_sev_platform_status st;
	if (sa_sev_host_status(h, &st, &fw, &err) != SA_OK)
		fail_msg("status: %s", err.msg);
	assert_int_equal(fw, 0);
	assert_false(st.owner_external);

	uint8_t csr[SA_SEV_CERT_SIZE];
	if (sa_sev_host_pek_csr(h, csr, &fw, &err) != SA_OK)
		fail_msg("PEK_CSR: %s", err.msg);
	sa_sev_cert pek, oca;
	assert_int_equal(sa_sev_cert_decode(csr, sizeof(csr), &pek, &err), SA_OK);
	assert_int_equal(pek.pub_key_usage, SA_SEV_USAGE_PEK);
	assert_int_equal(sa_sev_cert_sig_count(&pek), 0);
	EVP_PKEY *key = NULL;
	assert_int_equal(sa_key_generate_p384(&key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_init(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, pek.api_major,
					  pek.api_minor, key, &err),
			 SA_OK);
	assert_int_equal(sa_sev_cert_sign(&oca, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, key, &err), SA_OK);
	assert_int_equal(sa_sev_cert_sign(&pek, SA_SEV_USAGE_OCA, SA_SEV_ALGO_ECDSA_SHA256, key, &err), SA_OK);
	EVP_PKEY_free(key);
	uint8_t pek_b[SA_SEV_CERT_SIZE], oca_b[SA_SEV_CERT_SIZE];
	assert_int_equal(sa_sev_cert_encode(&pek, pek_b, &err), SA_OK);
	assert_int_equal(sa_sev_cert_encode(&oca, oca_b, &err), SA_OK);
	/* The OCA's self-signature broken: refused by the firmware, nothing changes. */
	uint8_t bad[SA_SEV_CERT_SIZE];
	memcpy(bad, oca_b, sizeof(bad));
	bad[0x414 + 8] ^= 1;
	assert_int_not_equal(sa_sev_host_pek_cert_import(h, pek_b, bad, &fw, &err), SA_OK);
	assert_true(fw != 0 && fw != SA_SEV_HOST_NO_FW);
	assert_int_equal(sa_sev_host_status(h, &st, &fw, &err), SA_OK);
	assert_false(st.owner_external);
	if (sa_sev_host_pek_cert_import(h, pek_b, oca_b, &fw, &err) != SA_OK)
		fail_msg("PEK_CERT_IMPORT: %s", err.msg);
	assert_int_equal(sa_sev_host_status(h, &st, &fw, &err), SA_OK);
	assert_true(st.owner_external);

	uint8_t pdh[SA_SEV_CERT_SIZE], chain[3 * SA_SEV_CERT_SIZE];
	if (sa_sev_host_pdh_cert_export(h, pdh, chain, &fw, &err) != SA_OK)
		fail_msg("PDH_CERT_EXPORT: %s", err.msg);
	sa_sev_cert c_pek, c_oca, c_cek, c_pdh;
	assert_int_equal(sa_sev_cert_decode(chain, SA_SEV_CERT_SIZE, &c_pek, &err), SA_OK);
	assert_int_equal(sa_sev_cert_decode(chain + SA_SEV_CERT_SIZE, SA_SEV_CERT_SIZE, &c_oca, &err), SA_OK);
	assert_int_equal(sa_sev_cert_decode(chain + 2 * SA_SEV_CERT_SIZE, SA_SEV_CERT_SIZE, &c_cek, &err), SA_OK);
	assert_int_equal(sa_sev_cert_decode(pdh, SA_SEV_CERT_SIZE, &c_pdh, &err), SA_OK);
	assert_true(sa_sev_cert_same_key(&c_oca, &oca));
	assert_int_equal(sa_sev_cert_verify(&c_pek, &c_oca, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&c_pek, &c_cek, &err), SA_OK);
	assert_int_equal(sa_sev_cert_verify(&c_pdh, &c_pek, &err), SA_OK);

	/* The emulator's KDS: the CEK, signed by the ASK, carries the same key as the chain's. */
	uint8_t ark[SA_AMD_CERT_MAX], ask[SA_AMD_CERT_MAX], cek[SA_SEV_CERT_SIZE];
	size_t ark_len, ask_len;
	if (sa_emu_client_sev_export_amd(sa_sev_host_emu(h), ark, &ark_len, ask, &ask_len, cek, &err) != SA_OK)
		fail_msg("EXPORT_AMD: %s", err.msg);
	sa_amd_cert a_ask;
	sa_sev_cert s_cek;
	assert_int_equal(sa_amd_cert_decode(ask, ask_len, &a_ask, &err), SA_OK);
	assert_int_equal(sa_sev_cert_decode(cek, sizeof(cek), &s_cek, &err), SA_OK);
	assert_true(sa_sev_cert_same_key(&s_cek, &c_cek));
	assert_int_equal(sa_sev_cert_verify_by_ask(&s_cek, &a_ask, &err), SA_OK);

	/* GET_ID: the chip ID. */
	uint8_t *id = NULL;
	size_t id_len = 0;
	if (sa_sev_host_get_id(h, &id, &id_len, &fw, &err) != SA_OK)
		fail_msg("GET_ID: %s", err.msg);
	sa_emu_status es;
	assert_int_equal(sa_emu_client_status(g_td.host, &es, NULL, NULL, &err), SA_OK);
	assert_int_equal(id_len, 64);
	assert_memory_equal(id, es.chip_id, 64);
	free(id);
	sa_sev_host_close(h);
}

/* The daemon answers a length probe as the firmware does: INVALID_LENGTH with the length needed. */
static void emu_probe_on_the_wire(void **state)
{
	(void)state;
	sa_ep_request q = {.cmd = SA_EP_SEV_PEK_CSR, .buf_len = 0};
	sa_ep_reply r;
	sa_error err;
	assert_int_not_equal(sa_emu_client_call(g_td.host, &q, &r, &err), SA_OK);
	assert_int_equal(r.status, SA_FW_INVALID_LENGTH);
	assert_int_equal(r.needed, SA_SEV_CERT_SIZE);
	q.buf_len = SA_SEV_CERT_SIZE - 1;
	assert_int_not_equal(sa_emu_client_call(g_td.host, &q, &r, &err), SA_OK);
	assert_int_equal(r.needed, SA_SEV_CERT_SIZE);
	q.buf_len = SA_EP_SEV_PROBE_MAX;
	assert_int_equal(sa_emu_client_call(g_td.host, &q, &r, &err), SA_OK);
	assert_int_equal(r.data_len, SA_SEV_CERT_SIZE);
	sa_ep_request p = {.cmd = SA_EP_SEV_PDH_CERT_EXPORT, .buf_len = SA_SEV_CERT_SIZE, .buf_len2 = 100};
	assert_int_not_equal(sa_emu_client_call(g_td.host, &p, &r, &err), SA_OK);
	assert_int_equal(r.status, SA_FW_INVALID_LENGTH);
	assert_int_equal(r.needed, SA_SEV_CERT_SIZE);
	assert_int_equal(r.needed2, 3 * SA_SEV_CERT_SIZE);
}

static uint8_t g_data[SA_EP_SEV_DATA_CHUNK + 4096];

/* An SEV launch over the host socket, its QMP socket, a restart and the decommission. */
static void emu_sev_launch_and_qmp(void **state)
{
	(void)state;
	sa_error err;
	uint32_t h, fw;
	for (size_t i = 0; i < sizeof(g_data); i++)
		g_data[i] = (uint8_t)(i * 13 + 7);
	/* Bad input is refused before anything is sent or launched. */
	assert_int_equal(sa_emu_client_sev_launch_start(g_td.host, 1, g_data, SA_SEV_CERT_SIZE, NULL, 0, &h, &fw, &err),
			 SA_ERR_ARG);
	if (sa_emu_client_sev_launch_start(g_td.host, SA_SEV_POLICY_NODBG, NULL, 0, NULL, 0, &h, &fw, &err) != SA_OK)
		fail_msg("SEV_LAUNCH_START: %s", err.msg);
	assert_int_equal(fw, 0);
	assert_int_equal(sa_emu_client_sev_launch_update_data(g_td.host, h, g_data, 15, &fw, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "multiple of 16"));
	assert_int_equal(sa_emu_client_sev_launch_update_data(g_td.host, h, g_data, 0, &fw, &err), SA_ERR_ARG);
	sa_emu_sev_guest_info gi;
	assert_int_equal(sa_emu_client_sev_guest_info(g_td.host, h, &gi, &err), SA_OK);
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LUPDATE);
	assert_int_equal(gi.policy, SA_SEV_POLICY_NODBG);

	/* The QMP socket exists from LAUNCH_START on, and VM_LIST names it. */
	sa_ep_vm_info *vms = NULL;
	size_t n = 0;
	assert_int_equal(sa_emu_client_vm_list(g_td.host, &vms, &n, NULL, &err), SA_OK);
	char qmp[SA_EP_PATH_MAX + 1] = "";
	for (size_t i = 0; i < n; i++) {
		if (vms[i].handle != h)
			continue;
		assert_true(vms[i].sev);
		assert_false(vms[i].busy);
		assert_string_equal(vms[i].socket, "");
		strcpy(qmp, vms[i].qmp);
	}
	free(vms);
	assert_non_null(strstr(qmp, ".qmp"));
	assert_true(is_socket(qmp));

	/* Data over one chunk: split in whole 16-byte chunks, folded in order (the digest is SHA-256 of it all). */
	if (sa_emu_client_sev_launch_update_data(g_td.host, h, g_data, sizeof(g_data), &fw, &err) != SA_OK)
		fail_msg("SEV_LAUNCH_UPDATE_DATA: %s", err.msg);
	uint8_t want[32];
	assert_int_equal(sa_sha256(g_data, sizeof(g_data), want, &err), SA_OK);
	uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE];
	if (sa_emu_client_sev_launch_measure(g_td.host, h, blob, &fw, &err) != SA_OK)
		fail_msg("SEV_LAUNCH_MEASURE: %s", err.msg);
	assert_int_equal(sa_emu_client_sev_guest_info(g_td.host, h, &gi, &err), SA_OK);
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_LSECRET);
	assert_memory_equal(gi.launch_digest, want, 32);

	/* The attestation report: the mnonce given, the launch digest, signed by the PEK. */
	uint8_t mnonce[16], report[SA_SEV_REPORT_SIZE];
	memset(mnonce, 0x42, sizeof(mnonce));
	if (sa_emu_client_sev_attestation(g_td.host, h, mnonce, report, &fw, &err) != SA_OK)
		fail_msg("SEV_ATTESTATION: %s", err.msg);
	sa_sev_report r;
	assert_int_equal(sa_sev_report_decode(report, sizeof(report), &r, &err), SA_OK);
	assert_memory_equal(r.mnonce, mnonce, 16);
	assert_memory_equal(r.launch_digest, want, 32);
	uint8_t pdh[SA_SEV_CERT_SIZE], chain[3 * SA_SEV_CERT_SIZE];
	assert_int_equal(sa_emu_client_sev_pdh_cert_export(g_td.host, pdh, chain, &fw, &err), SA_OK);
	sa_sev_cert pek;
	assert_int_equal(sa_sev_cert_decode(chain, SA_SEV_CERT_SIZE, &pek, &err), SA_OK);
	assert_int_equal(sa_sev_report_verify_sig(&r, &pek, &err), SA_OK);
	/* A handle that is no guest: the firmware's refusal. */
	assert_int_not_equal(sa_emu_client_sev_attestation(g_td.host, h + 1000, mnonce, report, &fw, &err), SA_OK);
	assert_true(fw != 0 && fw != SA_EP_STATUS_DAEMON);
	assert_int_equal(sa_emu_client_sev_guest_info(g_td.host, h + 1000, &gi, &err), SA_ERR_NOT_FOUND);

	/* The QMP socket answers with QMP's greeting. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, qmp, strlen(qmp));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 10000), 1);
	char greet[512] = "";
	ssize_t k = read(fd, greet, sizeof(greet) - 1);
	assert_true(k > 0);
	assert_non_null(strstr(greet, "\"QMP\""));
	close(fd);

	char fin[SA_EP_PATH_MAX + 1];
	if (sa_emu_client_sev_launch_finish(g_td.host, h, fin, sizeof(fin), &fw, &err) != SA_OK)
		fail_msg("SEV_LAUNCH_FINISH: %s", err.msg);
	assert_string_equal(fin, qmp);
	assert_int_equal(sa_emu_client_sev_guest_info(g_td.host, h, &gi, &err), SA_OK);
	assert_int_equal(gi.state, SA_EMU_SEV_GSTATE_RUNNING);
	char small[4];
	assert_int_not_equal(sa_emu_client_sev_launch_finish(g_td.host, h, small, sizeof(small), &fw, &err), SA_OK);

	/* A restart: the running SEV guest gets its QMP socket back. */
	td_daemon_down(&g_td);
	assert_false(is_socket(qmp));
	td_daemon_up(&g_td, g_state);
	assert_true(is_socket(qmp));
	assert_int_equal(sa_emu_client_vm_list(g_td.host, &vms, &n, NULL, &err), SA_OK);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (vms[i].handle == h) {
			found = true;
			assert_true(vms[i].sev);
			assert_string_equal(vms[i].qmp, qmp);
			assert_memory_equal(vms[i].measurement, want, 32);
		}
	free(vms);
	assert_true(found);

	/* Decommission: the socket goes, the VM leaves the list. */
	assert_int_equal(sa_emu_client_decommission(g_td.host, h, &fw, &err), SA_OK);
	assert_false(is_socket(qmp));
	assert_int_equal(sa_emu_client_vm_list(g_td.host, &vms, &n, NULL, &err), SA_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(vms[i].handle, h);
	free(vms);
}

/* An SEV guest still launching when the daemon stops is gone afterwards, socket and record with it. */
static void emu_launching_guest_does_not_survive_a_restart(void **state)
{
	(void)state;
	sa_error err;
	uint32_t h, fw;
	if (sa_emu_client_sev_launch_start(g_td.host, SA_SEV_POLICY_NODBG, NULL, 0, NULL, 0, &h, &fw, &err) != SA_OK)
		fail_msg("SEV_LAUNCH_START: %s", err.msg);
	char qmp[700];
	snprintf(qmp, sizeof(qmp), "%s/vm-%u.qmp", emu_daemon_run_dir(g_td.d), h);
	assert_true(is_socket(qmp));
	td_daemon_down(&g_td);
	td_daemon_up(&g_td, g_state);
	assert_false(is_socket(qmp));
	sa_emu_sev_guest_info gi;
	assert_int_equal(sa_emu_client_sev_guest_info(g_td.host, h, &gi, &err), SA_ERR_NOT_FOUND);
}

/* An SNP guest has both its guest channel and a QMP socket from LAUNCH_FINISH on; both go at decommission. */
static void emu_snp_guest_has_a_qmp_socket(void **state)
{
	(void)state;
	uint32_t h, fw;
	sa_error err;
	uint8_t page[SA_PAGE_SIZE];
	char sock[SA_EP_PATH_MAX + 1];
	memset(page, 0x5A, sizeof(page));
	if (sa_emu_client_launch_start(g_td.host, 0x30000, &h, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(g_td.host, h, SA_PAGE_NORMAL, 0x100000, page, &fw, &err) != SA_OK ||
	    sa_emu_client_launch_update(g_td.host, h, SA_PAGE_SECRETS, 0x800000, NULL, &fw, &err) != SA_OK)
		fail_msg("launch: %s", err.msg);
	char qmp[700];
	snprintf(qmp, sizeof(qmp), "%s/vm-%u.qmp", emu_daemon_run_dir(g_td.d), h);
	assert_false(is_socket(qmp)); /* not before LAUNCH_FINISH */
	if (sa_emu_client_launch_finish(g_td.host, h, NULL, NULL, false, page, NULL, sock, &fw, &err) != SA_OK)
		fail_msg("launch: %s", err.msg);
	assert_true(is_socket(qmp));
	assert_true(is_socket(sock));
	sa_ep_vm_info *vms = NULL;
	size_t n = 0;
	assert_int_equal(sa_emu_client_vm_list(g_td.host, &vms, &n, NULL, &err), SA_OK);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (vms[i].handle == h) {
			found = true;
			assert_false(vms[i].sev);
			assert_string_equal(vms[i].socket, sock);
			assert_string_equal(vms[i].qmp, qmp);
		}
	free(vms);
	assert_true(found);
	assert_int_equal(sa_emu_client_decommission(g_td.host, h, &fw, &err), SA_OK);
	assert_false(is_socket(qmp));
	assert_false(is_socket(sock));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dev_status_and_no_arg_commands),
		cmocka_unit_test(dev_probes_then_fetches),
		cmocka_unit_test(backend_specs),
		cmocka_unit_test(emu_owner_flow),
		cmocka_unit_test(emu_probe_on_the_wire),
		cmocka_unit_test(emu_sev_launch_and_qmp),
		cmocka_unit_test(emu_launching_guest_does_not_survive_a_restart),
		cmocka_unit_test(emu_snp_guest_has_a_qmp_socket),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
