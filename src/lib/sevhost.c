/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV platform owner's commands (sevhost.h) on /dev/sev or the emulator.
 *
 * /dev/sev: ioctl(fd, SEV_ISSUE_CMD, struct sev_issue_cmd) where
 *   sev_issue_cmd      {u32 cmd; u64 data; u32 error}                    16 bytes, packed
 *   status             {u8 api_major, api_minor, state; u32 flags; u8 build; u32 guest_count}  12
 *   pek_csr, get_id2   {u64 address; u32 length}                         12
 *   pdh_cert_export    {u64 pdh_address; u32 pdh_len; u64 chain_address; u32 chain_len}  24
 *   pek_cert_import    {u64 pek_address; u32 pek_len; u64 oca_address; u32 oca_len}      24
 * (include/uapi/linux/psp-sev.h; the sizes are checked against the system's
 * header below).  Each structure is encoded into a byte buffer field by field
 * and decoded back after the call; the lengths the kernel writes back are the
 * length probes' answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/psp-sev.h>

#include "sevattest/bytes.h"
#include "sevattest/sevhost.h"

#include "internal.h"
#include "sevhost_test.h"

#define ISSUE_CMD_SIZE 16
#define ADDR_LEN_SIZE 12
#define TWO_ADDR_LEN_SIZE 24
#define SEV_ISSUE_CMD_NR 0xc0105300ul

/* Our encodings against the kernel's packed structures. */
_Static_assert(sizeof(struct sev_issue_cmd) == ISSUE_CMD_SIZE, "sev_issue_cmd is 16 bytes");
_Static_assert(SEV_ISSUE_CMD == SEV_ISSUE_CMD_NR, "SEV_ISSUE_CMD is _IOWR('S', 0, 16 bytes)");
_Static_assert(sizeof(struct sev_user_data_status) == SA_SEV_STATUS_SIZE, "status is 12 bytes");
_Static_assert(sizeof(struct sev_user_data_pek_csr) == ADDR_LEN_SIZE, "pek_csr is 12 bytes");
_Static_assert(sizeof(struct sev_user_data_get_id2) == ADDR_LEN_SIZE, "get_id2 is 12 bytes");
_Static_assert(sizeof(struct sev_user_data_pdh_cert_export) == TWO_ADDR_LEN_SIZE, "pdh_cert_export is 24 bytes");
_Static_assert(sizeof(struct sev_user_data_pek_cert_import) == TWO_ADDR_LEN_SIZE, "pek_cert_import is 24 bytes");
_Static_assert(SEV_FACTORY_RESET == 0 && SEV_PLATFORM_STATUS == 1 && SEV_PEK_GEN == 2 && SEV_PEK_CSR == 3 &&
		       SEV_PDH_GEN == 4 && SEV_PDH_CERT_EXPORT == 5 && SEV_PEK_CERT_IMPORT == 6 && SEV_GET_ID2 == 8,
	       "the command ids of psp-sev.h");

struct sa_sev_host {
	sa_sev_host_kind kind;
	int fd;
	sa_emu_client *emu;
	char path[4096];
};

/* ---- test seam (sevhost_test.h) -------------------------------------------- */

static int sys_ioctl(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

static sa_sev_host_ioctl_fn dev_ioctl = sys_ioctl;

SA_INTERNAL void sa_sev_host_set_ioctl(sa_sev_host_ioctl_fn fn) { dev_ioctl = fn ? fn : sys_ioctl; }

/* ---- opening ------------------------------------------------------------------ */

static sa_status open_dev(sa_sev_host *h, const char *path, bool writable, sa_error *err)
{
	size_t n = strlen(path);
	SA_ENSURE(n > 0 && n < sizeof(h->path), err, SA_ERR_ARG, "--backend dev:PATH: a path of 1 to %zu bytes",
		  sizeof(h->path) - 1);
	memcpy(h->path, path, n + 1);
	h->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (h->fd < 0) {
		int e = errno;
		return sa_error_set(err, e == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "cannot open %s%s: %s%s", path,
				    writable ? " for writing" : "", strerror(e),
				    e == ENOENT ? " (no SEV host driver: is this an AMD host with ccp loaded?)"
				    : e == EACCES ? " (the platform owner's commands need root or write access)"
						  : "");
	}
	h->kind = SA_SEV_HOST_DEV;
	return SA_OK;
}

sa_status sa_sev_host_open(const char *spec, bool writable, int timeout_ms, sa_sev_host **out, sa_error *err)
{
	*out = NULL;
	SA_ENSURE(spec, err, SA_ERR_ARG, "no backend given");
	sa_sev_host *h = calloc(1, sizeof(*h));
	SA_ENSURE(h, err, SA_ERR_NOMEM, "out of memory");
	h->fd = -1;
	sa_status s;
	if (strcmp(spec, "auto") == 0) {
		s = open_dev(h, SA_SEV_HOST_DEFAULT_DEV, writable, err);
	} else if (strncmp(spec, "dev:", 4) == 0) {
		s = open_dev(h, spec + 4, writable, err);
	} else if (strncmp(spec, "emu:", 4) == 0) {
		h->kind = SA_SEV_HOST_EMU;
		s = sa_emu_client_connect(spec + 4, timeout_ms, &h->emu, err);
		if (s == SA_OK)
			snprintf(h->path, sizeof(h->path), "%s", spec + 4);
	} else {
		s = sa_error_set(err, SA_ERR_ARG, "backend '%s': expected auto, dev:PATH or emu:SOCKET", spec);
	}
	if (s != SA_OK) {
		sa_sev_host_close(h);
		return s;
	}
	*out = h;
	return SA_OK;
}

void sa_sev_host_close(sa_sev_host *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	sa_emu_client_close(h->emu);
	free(h);
}

sa_sev_host_kind sa_sev_host_get_kind(const sa_sev_host *h) { return h->kind; }
const char *sa_sev_host_path(const sa_sev_host *h) { return h->path; }
sa_emu_client *sa_sev_host_emu(sa_sev_host *h) { return h->emu; }

sa_status sa_sev_host_fw_code(uint32_t fw_status)
{
	switch (fw_status) {
	case SA_FW_SUCCESS: return SA_OK;
	case SA_FW_INVALID_LENGTH:
	case SA_FW_INVALID_PARAM:
	case SA_FW_INVALID_ADDRESS:
	case SA_FW_INVALID_CONFIG: return SA_ERR_ARG;
	case SA_FW_INVALID_PLATFORM_STATE:
	case SA_FW_INVALID_GUEST_STATE:
	case SA_FW_INVALID_GUEST:
	case SA_FW_ALREADY_OWNED:
	case SA_FW_INACTIVE:
	case SA_FW_ACTIVE: return SA_ERR_STATE;
	case SA_FW_INVALID_CERTIFICATE:
	case SA_FW_BAD_SIGNATURE:
	case SA_FW_BAD_MEASUREMENT: return SA_ERR_VERIFY;
	case SA_FW_POLICY_FAILURE: return SA_ERR_POLICY;
	case SA_FW_UNSUPPORTED:
	case SA_FW_INVALID_COMMAND: return SA_ERR_UNSUPPORTED;
	}
	return SA_ERR_IO;
}

static void set_fw(uint32_t *fw_status, uint32_t v)
{
	if (fw_status)
		*fw_status = v;
}

/* ---- /dev/sev --------------------------------------------------------------------- */

static const char *cmd_name(uint32_t id)
{
	switch (id) {
	case SEV_FACTORY_RESET: return "FACTORY_RESET";
	case SEV_PLATFORM_STATUS: return "PLATFORM_STATUS";
	case SEV_PEK_GEN: return "PEK_GEN";
	case SEV_PEK_CSR: return "PEK_CSR";
	case SEV_PDH_GEN: return "PDH_GEN";
	case SEV_PDH_CERT_EXPORT: return "PDH_CERT_EXPORT";
	case SEV_PEK_CERT_IMPORT: return "PEK_CERT_IMPORT";
	case SEV_GET_ID2: return "GET_ID2";
	}
	return "unknown";
}

/*
 * One SEV_ISSUE_CMD.  *fw receives the error field (SA_SEV_HOST_NO_FW when
 * the ioctl failed with it 0 or -1: the firmware never ran).
 */
static sa_status dev_issue(sa_sev_host *h, uint32_t id, uint8_t *arg, uint32_t *fw, sa_error *err)
{
	uint8_t cmd[ISSUE_CMD_SIZE];
	sa_writer w;
	sa_writer_init(&w, cmd, sizeof(cmd));
	SA_TRY(sa_write_u32(&w, id, "sev_issue_cmd.cmd", err));
	SA_TRY(sa_write_u64(&w, (uint64_t)(uintptr_t)arg, "sev_issue_cmd.data", err));
	SA_TRY(sa_write_u32(&w, 0, "sev_issue_cmd.error", err));
	errno = 0;
	int rc = dev_ioctl(h->fd, SEV_ISSUE_CMD_NR, cmd);
	int e = errno;
	sa_reader r;
	uint32_t error;
	sa_reader_init(&r, cmd, sizeof(cmd));
	SA_TRY(sa_read_skip(&r, 12, "sev_issue_cmd", err));
	SA_TRY(sa_read_u32(&r, &error, "sev_issue_cmd.error", err));
	if (rc == 0) {
		*fw = SA_FW_SUCCESS;
		return SA_OK;
	}
	if (error != SA_FW_SUCCESS && error != SA_SEV_HOST_NO_FW) {
		*fw = error;
		return sa_error_set(err, sa_sev_host_fw_code(error), "%s on %s: firmware status %s (0x%02x)",
				    cmd_name(id), h->path, sa_fw_status_name(error), error);
	}
	*fw = SA_SEV_HOST_NO_FW;
	if (e == EPERM)
		return sa_error_set(err, SA_ERR_STATE,
				    "%s on %s: not permitted (EPERM): the command changes the platform and needs the "
				    "device opened for writing",
				    cmd_name(id), h->path);
	if (e == EBUSY)
		return sa_error_set(err, SA_ERR_STATE, "%s on %s: the platform is busy (EBUSY): SEV guests are running",
				    cmd_name(id), h->path);
	return sa_error_set(err, SA_ERR_IO, "%s on %s: %s (errno %d, no firmware status)", cmd_name(id), h->path,
			    e ? strerror(e) : "failed", e);
}

/* {u64 address; u32 length} and its two-buffer form; the lengths come back after the call. */
static sa_status encode_bufs(uint8_t *out, size_t cap, const void *a1, uint32_t l1, const void *a2, uint32_t l2,
			     bool two, sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, cap);
	SA_TRY(sa_write_u64(&w, (uint64_t)(uintptr_t)a1, "address", err));
	SA_TRY(sa_write_u32(&w, l1, "length", err));
	if (two) {
		SA_TRY(sa_write_u64(&w, (uint64_t)(uintptr_t)a2, "second address", err));
		SA_TRY(sa_write_u32(&w, l2, "second length", err));
	}
	SA_ENSURE(sa_writer_offset(&w) == cap, err, SA_ERR_ARG, "arguments: %zu bytes encoded, %zu expected",
		  sa_writer_offset(&w), cap);
	return SA_OK;
}

static sa_status decode_lens(const uint8_t *buf, size_t len, uint32_t *l1, uint32_t *l2, sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	SA_TRY(sa_read_skip(&r, 8, "address", err));
	SA_TRY(sa_read_u32(&r, l1, "length", err));
	if (l2) {
		SA_TRY(sa_read_skip(&r, 8, "second address", err));
		SA_TRY(sa_read_u32(&r, l2, "second length", err));
	}
	return sa_reader_expect_end(&r, "arguments", err);
}

/*
 * The probe: the command with zero lengths must fail INVALID_LENGTH with the
 * lengths needed written back (need2 NULL for one buffer).
 */
static sa_status dev_probe(sa_sev_host *h, uint32_t id, uint32_t *need1, uint32_t *need2, uint32_t *fw,
			   sa_error *err)
{
	uint8_t arg[TWO_ADDR_LEN_SIZE];
	size_t n = need2 ? TWO_ADDR_LEN_SIZE : ADDR_LEN_SIZE;
	SA_TRY(encode_bufs(arg, n, NULL, 0, NULL, 0, need2 != NULL, err));
	sa_status s = dev_issue(h, id, arg, fw, err);
	if (s == SA_OK)
		return sa_error_set(err, SA_ERR_FORMAT, "%s on %s: success for a buffer of 0 bytes (length probe)",
				    cmd_name(id), h->path);
	if (*fw != SA_FW_INVALID_LENGTH)
		return s;
	return decode_lens(arg, n, need1, need2, err);
}

static sa_status expect_len(const sa_sev_host *h, uint32_t id, const char *what, uint32_t got, uint32_t want,
			    sa_error *err)
{
	SA_ENSURE(got == want, err, SA_ERR_FORMAT, "%s on %s: %s of %u bytes, expected %u", cmd_name(id), h->path,
		  what, got, want);
	return SA_OK;
}

static sa_status dev_status(sa_sev_host *h, sa_sev_platform_status *st, uint32_t *fw, sa_error *err)
{
	uint8_t buf[SA_SEV_STATUS_SIZE] = {0};
	SA_TRY(dev_issue(h, SEV_PLATFORM_STATUS, buf, fw, err));
	sa_status s = sa_sev_platform_status_decode(buf, sizeof(buf), st, err);
	return s == SA_OK ? s : sa_error_wrap(err, s, "PLATFORM_STATUS on %s", h->path);
}

/* One fixed-size buffer, probed then fetched (PEK_CSR). */
static sa_status dev_fetch1(sa_sev_host *h, uint32_t id, uint8_t *out, uint32_t want, uint32_t *fw, sa_error *err)
{
	uint32_t need, got;
	SA_TRY(dev_probe(h, id, &need, NULL, fw, err));
	SA_TRY(expect_len(h, id, "length needed", need, want, err));
	uint8_t arg[ADDR_LEN_SIZE];
	SA_TRY(encode_bufs(arg, sizeof(arg), out, want, NULL, 0, false, err));
	SA_TRY(dev_issue(h, id, arg, fw, err));
	SA_TRY(decode_lens(arg, sizeof(arg), &got, NULL, err));
	return expect_len(h, id, "length returned", got, want, err);
}

static sa_status dev_pdh_cert_export(sa_sev_host *h, uint8_t *pdh, uint8_t *chain, uint32_t *fw, sa_error *err)
{
	const uint32_t id = SEV_PDH_CERT_EXPORT;
	uint32_t need1, need2, got1, got2;
	SA_TRY(dev_probe(h, id, &need1, &need2, fw, err));
	SA_TRY(expect_len(h, id, "PDH length needed", need1, SA_SEV_CERT_SIZE, err));
	SA_TRY(expect_len(h, id, "chain length needed", need2, 3 * SA_SEV_CERT_SIZE, err));
	uint8_t arg[TWO_ADDR_LEN_SIZE];
	SA_TRY(encode_bufs(arg, sizeof(arg), pdh, SA_SEV_CERT_SIZE, chain, 3 * SA_SEV_CERT_SIZE, true, err));
	SA_TRY(dev_issue(h, id, arg, fw, err));
	SA_TRY(decode_lens(arg, sizeof(arg), &got1, &got2, err));
	SA_TRY(expect_len(h, id, "PDH length returned", got1, SA_SEV_CERT_SIZE, err));
	return expect_len(h, id, "chain length returned", got2, 3 * SA_SEV_CERT_SIZE, err);
}

static sa_status dev_pek_cert_import(sa_sev_host *h, const uint8_t *pek, const uint8_t *oca, uint32_t *fw,
				     sa_error *err)
{
	uint8_t arg[TWO_ADDR_LEN_SIZE];
	SA_TRY(encode_bufs(arg, sizeof(arg), pek, SA_SEV_CERT_SIZE, oca, SA_SEV_CERT_SIZE, true, err));
	return dev_issue(h, SEV_PEK_CERT_IMPORT, arg, fw, err);
}

static sa_status dev_get_id(sa_sev_host *h, uint8_t **id, size_t *len, uint32_t *fw, sa_error *err)
{
	uint32_t need, got;
	SA_TRY(dev_probe(h, SEV_GET_ID2, &need, NULL, fw, err));
	SA_ENSURE(need > 0 && need <= SA_SEV_HOST_ID_MAX, err, SA_ERR_FORMAT,
		  "GET_ID2 on %s: length needed %u, expected 1 to %u", h->path, need, SA_SEV_HOST_ID_MAX);
	uint8_t *buf = calloc(1, need);
	SA_ENSURE(buf, err, SA_ERR_NOMEM, "out of memory");
	uint8_t arg[ADDR_LEN_SIZE];
	sa_status s = encode_bufs(arg, sizeof(arg), buf, need, NULL, 0, false, err);
	if (s == SA_OK)
		s = dev_issue(h, SEV_GET_ID2, arg, fw, err);
	if (s == SA_OK)
		s = decode_lens(arg, sizeof(arg), &got, NULL, err);
	if (s == SA_OK)
		s = expect_len(h, SEV_GET_ID2, "length returned", got, need, err);
	if (s != SA_OK) {
		free(buf);
		return s;
	}
	*id = buf;
	*len = need;
	return SA_OK;
}

/* ---- the API: one backend or the other --------------------------------------------- */

/*
 * The emulator's answer: its status, with "no reply / daemon failure" as no
 * firmware status.  efw is read after the call (a pointer: argument order).
 */
static sa_status emu_done(sa_status s, const uint32_t *efw, uint32_t *fw_status)
{
	set_fw(fw_status, *efw == SA_EP_STATUS_DAEMON ? SA_SEV_HOST_NO_FW : *efw);
	return s;
}

sa_status sa_sev_host_status(sa_sev_host *h, sa_sev_platform_status *st, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	if (h->kind == SA_SEV_HOST_EMU)
		return emu_done(sa_emu_client_sev_status(h->emu, st, &fw, err), &fw, fw_status);
	sa_status s = dev_status(h, st, &fw, err);
	set_fw(fw_status, fw);
	return s;
}

/* The three commands without arguments. */
static sa_status no_arg(sa_sev_host *h, uint32_t id, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	if (h->kind == SA_SEV_HOST_EMU) {
		sa_status s = id == SEV_FACTORY_RESET ? sa_emu_client_sev_factory_reset(h->emu, &fw, err)
			      : id == SEV_PEK_GEN     ? sa_emu_client_sev_pek_gen(h->emu, &fw, err)
						      : sa_emu_client_sev_pdh_gen(h->emu, &fw, err);
		return emu_done(s, &fw, fw_status);
	}
	sa_status s = dev_issue(h, id, NULL, &fw, err);
	set_fw(fw_status, fw);
	return s;
}

sa_status sa_sev_host_factory_reset(sa_sev_host *h, uint32_t *fw_status, sa_error *err)
{
	return no_arg(h, SEV_FACTORY_RESET, fw_status, err);
}

sa_status sa_sev_host_pek_gen(sa_sev_host *h, uint32_t *fw_status, sa_error *err)
{
	return no_arg(h, SEV_PEK_GEN, fw_status, err);
}

sa_status sa_sev_host_pdh_gen(sa_sev_host *h, uint32_t *fw_status, sa_error *err)
{
	return no_arg(h, SEV_PDH_GEN, fw_status, err);
}

sa_status sa_sev_host_pek_csr(sa_sev_host *h, uint8_t csr[SA_SEV_CERT_SIZE], uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	if (h->kind == SA_SEV_HOST_EMU)
		return emu_done(sa_emu_client_sev_pek_csr(h->emu, csr, &fw, err), &fw, fw_status);
	sa_status s = dev_fetch1(h, SEV_PEK_CSR, csr, SA_SEV_CERT_SIZE, &fw, err);
	set_fw(fw_status, fw);
	return s;
}

sa_status sa_sev_host_pek_cert_import(sa_sev_host *h, const uint8_t pek[SA_SEV_CERT_SIZE],
				      const uint8_t oca[SA_SEV_CERT_SIZE], uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	if (h->kind == SA_SEV_HOST_EMU)
		return emu_done(sa_emu_client_sev_pek_cert_import(h->emu, pek, oca, &fw, err), &fw, fw_status);
	sa_status s = dev_pek_cert_import(h, pek, oca, &fw, err);
	set_fw(fw_status, fw);
	return s;
}

sa_status sa_sev_host_pdh_cert_export(sa_sev_host *h, uint8_t pdh[SA_SEV_CERT_SIZE],
				      uint8_t chain[3 * SA_SEV_CERT_SIZE], uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	if (h->kind == SA_SEV_HOST_EMU)
		return emu_done(sa_emu_client_sev_pdh_cert_export(h->emu, pdh, chain, &fw, err), &fw, fw_status);
	sa_status s = dev_pdh_cert_export(h, pdh, chain, &fw, err);
	set_fw(fw_status, fw);
	return s;
}

sa_status sa_sev_host_get_id(sa_sev_host *h, uint8_t **id, size_t *len, uint32_t *fw_status, sa_error *err)
{
	uint32_t fw = SA_SEV_HOST_NO_FW;
	*id = NULL;
	*len = 0;
	if (h->kind == SA_SEV_HOST_EMU)
		return emu_done(sa_emu_client_sev_get_id(h->emu, id, len, &fw, err), &fw, fw_status);
	sa_status s = dev_get_id(h, id, len, &fw, err);
	set_fw(fw_status, fw);
	return s;
}
