/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest-emu's wire protocol (emu_proto.h): frames, every command's request
 * and reply payload through the bounds-checked reader and writer, and the
 * blocking frame I/O both ends use.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "sevattest/bytes.h"
#include "sevattest/emu_proto.h"

#include "internal.h"

static const uint16_t all_commands[] = {
	SA_EP_STATUS,         SA_EP_EXPORT_ROOT,   SA_EP_EXPORT_CHAIN, SA_EP_EXPORT_VEK,    SA_EP_LAUNCH_START,
	SA_EP_LAUNCH_UPDATE,  SA_EP_LAUNCH_FINISH, SA_EP_SET_EXT_CERTS, SA_EP_VM_LIST,      SA_EP_DECOMMISSION,
	SA_EP_SET_CONFIG,     SA_EP_UPDATE_FIRMWARE, SA_EP_COMMIT,     SA_EP_VLEK_LOAD,     SA_EP_SHUTDOWN,
	SA_EP_HELLO,          SA_EP_GUEST_REQUEST, SA_EP_EXT_GUEST_REQUEST, SA_EP_DISABLE_VMPCK,
	SA_EP_SEV_PLATFORM_STATUS, SA_EP_SEV_FACTORY_RESET, SA_EP_SEV_PEK_GEN, SA_EP_SEV_PEK_CSR,
	SA_EP_SEV_PEK_CERT_IMPORT, SA_EP_SEV_PDH_GEN, SA_EP_SEV_PDH_CERT_EXPORT, SA_EP_SEV_GET_ID,
	SA_EP_SEV_EXPORT_AMD, SA_EP_SEV_LAUNCH_START, SA_EP_SEV_LAUNCH_UPDATE_DATA, SA_EP_SEV_LAUNCH_UPDATE_VMSA,
	SA_EP_SEV_LAUNCH_MEASURE, SA_EP_SEV_LAUNCH_SECRET, SA_EP_SEV_LAUNCH_FINISH, SA_EP_SEV_ATTESTATION,
	SA_EP_SEV_GUEST_INFO,
};

const uint16_t *sa_ep_commands(size_t *n)
{
	*n = SA_ARRAY_LEN(all_commands);
	return all_commands;
}

const char *sa_ep_cmd_name(unsigned cmd)
{
	switch (cmd) {
	case SA_EP_STATUS: return "STATUS";
	case SA_EP_EXPORT_ROOT: return "EXPORT_ROOT";
	case SA_EP_EXPORT_CHAIN: return "EXPORT_CHAIN";
	case SA_EP_EXPORT_VEK: return "EXPORT_VEK";
	case SA_EP_LAUNCH_START: return "LAUNCH_START";
	case SA_EP_LAUNCH_UPDATE: return "LAUNCH_UPDATE";
	case SA_EP_LAUNCH_FINISH: return "LAUNCH_FINISH";
	case SA_EP_SET_EXT_CERTS: return "SET_EXT_CERTS";
	case SA_EP_VM_LIST: return "VM_LIST";
	case SA_EP_DECOMMISSION: return "DECOMMISSION";
	case SA_EP_SET_CONFIG: return "SET_CONFIG";
	case SA_EP_UPDATE_FIRMWARE: return "UPDATE_FIRMWARE";
	case SA_EP_COMMIT: return "COMMIT";
	case SA_EP_VLEK_LOAD: return "VLEK_LOAD";
	case SA_EP_SHUTDOWN: return "SHUTDOWN";
	case SA_EP_HELLO: return "HELLO";
	case SA_EP_GUEST_REQUEST: return "GUEST_REQUEST";
	case SA_EP_EXT_GUEST_REQUEST: return "EXT_GUEST_REQUEST";
	case SA_EP_DISABLE_VMPCK: return "DISABLE_VMPCK";
	case SA_EP_SEV_PLATFORM_STATUS: return "SEV_PLATFORM_STATUS";
	case SA_EP_SEV_FACTORY_RESET: return "SEV_FACTORY_RESET";
	case SA_EP_SEV_PEK_GEN: return "SEV_PEK_GEN";
	case SA_EP_SEV_PEK_CSR: return "SEV_PEK_CSR";
	case SA_EP_SEV_PEK_CERT_IMPORT: return "SEV_PEK_CERT_IMPORT";
	case SA_EP_SEV_PDH_GEN: return "SEV_PDH_GEN";
	case SA_EP_SEV_PDH_CERT_EXPORT: return "SEV_PDH_CERT_EXPORT";
	case SA_EP_SEV_GET_ID: return "SEV_GET_ID";
	case SA_EP_SEV_EXPORT_AMD: return "SEV_EXPORT_AMD";
	case SA_EP_SEV_LAUNCH_START: return "SEV_LAUNCH_START";
	case SA_EP_SEV_LAUNCH_UPDATE_DATA: return "SEV_LAUNCH_UPDATE_DATA";
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA: return "SEV_LAUNCH_UPDATE_VMSA";
	case SA_EP_SEV_LAUNCH_MEASURE: return "SEV_LAUNCH_MEASURE";
	case SA_EP_SEV_LAUNCH_SECRET: return "SEV_LAUNCH_SECRET";
	case SA_EP_SEV_LAUNCH_FINISH: return "SEV_LAUNCH_FINISH";
	case SA_EP_SEV_ATTESTATION: return "SEV_ATTESTATION";
	case SA_EP_SEV_GUEST_INFO: return "SEV_GUEST_INFO";
	}
	return "unknown";
}

sa_ep_role sa_ep_cmd_role(unsigned cmd)
{
	switch (cmd) {
	case SA_EP_HELLO:
	case SA_EP_GUEST_REQUEST:
	case SA_EP_EXT_GUEST_REQUEST:
	case SA_EP_DISABLE_VMPCK: return SA_EP_ROLE_GUEST;
	}
	for (size_t i = 0; i < SA_ARRAY_LEN(all_commands); i++)
		if (all_commands[i] == cmd)
			return SA_EP_ROLE_HOST;
	return SA_EP_ROLE_NONE;
}

bool sa_ep_cmd_probes(unsigned cmd)
{
	switch (cmd) {
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_PDH_CERT_EXPORT:
	case SA_EP_SEV_GET_ID:
	case SA_EP_SEV_LAUNCH_MEASURE:
	case SA_EP_SEV_ATTESTATION: return true;
	}
	return false;
}

const char *sa_ep_status_name(unsigned status)
{
	if (status == 0)
		return "success";
	if (status == SA_EP_STATUS_DAEMON)
		return "DAEMON_ERROR";
	return sa_fw_status_name(status);
}

uint16_t sa_ep_decode_status(uint16_t cmd, sa_status decode_error)
{
	if (sa_ep_cmd_role(cmd) == SA_EP_ROLE_NONE || decode_error == SA_ERR_UNSUPPORTED)
		return SA_FW_INVALID_COMMAND;
	if (decode_error == SA_ERR_TRUNCATED || decode_error == SA_ERR_TRAILING)
		return SA_FW_INVALID_LENGTH;
	return SA_FW_INVALID_PARAM;
}

/* ---- framing ------------------------------------------------------------- */

sa_status sa_ep_frame_hdr_decode(const uint8_t *buf, size_t len, sa_ep_frame_hdr *out, sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	sa_ep_frame_hdr h;
	SA_TRY(sa_read_u32(&r, &h.len, "frame length", err));
	SA_TRY(sa_read_u16(&r, &h.cmd, "frame command", err));
	SA_TRY(sa_read_u16(&r, &h.status, "frame status", err));
	SA_ENSURE(h.len >= 4 && h.len <= SA_EP_MAX_FRAME - 4, err, SA_ERR_RANGE,
		  "frame length: %u, expected 4 to %u (frames are at most %u bytes)", h.len, SA_EP_MAX_FRAME - 4,
		  SA_EP_MAX_FRAME);
	*out = h;
	return SA_OK;
}

sa_status sa_ep_frame_decode(const uint8_t *buf, size_t len, sa_ep_frame_hdr *hdr, const uint8_t **payload,
			     size_t *payload_len, sa_error *err)
{
	SA_TRY(sa_ep_frame_hdr_decode(buf, len, hdr, err));
	sa_reader r;
	sa_reader_init(&r, buf, len);
	SA_TRY(sa_read_skip(&r, SA_EP_FRAME_HDR_SIZE, "frame header", err));
	SA_TRY(sa_read_view(&r, payload, hdr->len - 4, "frame payload", err));
	SA_TRY(sa_reader_expect_end(&r, "frame", err));
	*payload_len = hdr->len - 4;
	return SA_OK;
}

static sa_status check_payload_len(size_t len, sa_error *err)
{
	SA_ENSURE(len <= SA_EP_MAX_PAYLOAD, err, SA_ERR_RANGE, "frame payload: %zu bytes, at most %u allowed", len,
		  SA_EP_MAX_PAYLOAD);
	return SA_OK;
}

static sa_status write_frame_hdr(sa_writer *w, uint16_t cmd, uint16_t status, size_t len, sa_error *err)
{
	SA_TRY(check_payload_len(len, err));
	SA_TRY(sa_write_u32(w, (uint32_t)(len + 4), "frame length", err));
	SA_TRY(sa_write_u16(w, cmd, "frame command", err));
	return sa_write_u16(w, status, "frame status", err);
}

sa_status sa_ep_frame_encode(uint16_t cmd, uint16_t status, const uint8_t *payload, size_t len, uint8_t *out,
			     size_t cap, size_t *out_len, sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, cap);
	SA_TRY(write_frame_hdr(&w, cmd, status, len, err));
	SA_TRY(sa_write_bytes(&w, payload, len, "frame payload", err));
	*out_len = sa_writer_offset(&w);
	return SA_OK;
}

/* ---- blocking I/O -------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events; SA_ERR_IO on timeout or error. */
static sa_status wait_fd(int fd, short events, int64_t deadline, const char *what, sa_error *err)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left < 0)
				left = 0;
			t = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, t);
		if (n < 0 && errno == EINTR)
			continue;
		SA_ENSURE(n >= 0, err, SA_ERR_IO, "%s: poll: %s", what, strerror(errno));
		SA_ENSURE(n > 0, err, SA_ERR_IO, "%s: timed out", what);
		return SA_OK;
	}
}

sa_status sa_ep_send(int fd, uint16_t cmd, uint16_t status, const uint8_t *payload, size_t len, int timeout_ms,
		     sa_error *err)
{
	uint8_t hdr[SA_EP_FRAME_HDR_SIZE];
	sa_writer w;
	sa_writer_init(&w, hdr, sizeof(hdr));
	SA_TRY(write_frame_hdr(&w, cmd, status, len, err));
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof(hdr)},
			       {.iov_base = (void *)(uintptr_t)payload, .iov_len = payload ? len : 0}};
	size_t first = 0;
	while (first < 2) {
		if (iov[first].iov_len == 0) {
			first++;
			continue;
		}
		SA_TRY(wait_fd(fd, POLLOUT, deadline, "sending a frame", err));
		struct msghdr m = {.msg_iov = iov + first, .msg_iovlen = 2 - first};
		ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		SA_ENSURE(n >= 0, err, SA_ERR_IO, "sending a %s frame: %s", sa_ep_cmd_name(cmd & ~SA_EP_REPLY),
			  strerror(errno));
		size_t left = (size_t)n;
		while (left > 0 && first < 2) {
			size_t k = left < iov[first].iov_len ? left : iov[first].iov_len;
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + k;
			iov[first].iov_len -= k;
			left -= k;
			if (iov[first].iov_len == 0)
				first++;
		}
	}
	return SA_OK;
}

/* Read exactly n bytes; *eof tells a close before the first byte from a cut frame. */
static sa_status read_full(int fd, uint8_t *buf, size_t n, int64_t deadline, bool *eof, sa_error *err)
{
	size_t got = 0;
	*eof = false;
	while (got < n) {
		SA_TRY(wait_fd(fd, POLLIN, deadline, "receiving a frame", err));
		ssize_t k = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		SA_ENSURE(k >= 0, err, SA_ERR_IO, "receiving a frame: %s", strerror(errno));
		if (k == 0) {
			*eof = got == 0;
			return sa_error_set(err, SA_ERR_IO,
					    "receiving a frame: the peer closed the connection after %zu of %zu "
					    "bytes",
					    got, n);
		}
		got += (size_t)k;
	}
	return SA_OK;
}

sa_status sa_ep_recv(int fd, sa_ep_frame_hdr *hdr, uint8_t *buf, size_t cap, size_t *len, int timeout_ms,
		     bool *closed, sa_error *err)
{
	if (closed)
		*closed = false;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint8_t h[SA_EP_FRAME_HDR_SIZE];
	bool eof;
	sa_status s = read_full(fd, h, sizeof(h), deadline, &eof, err);
	if (s != SA_OK) {
		if (closed)
			*closed = eof;
		return s;
	}
	SA_TRY(sa_ep_frame_hdr_decode(h, sizeof(h), hdr, err));
	size_t plen = hdr->len - 4;
	SA_ENSURE(plen <= cap, err, SA_ERR_RANGE, "%s frame: payload of %zu bytes, the buffer holds %zu",
		  sa_ep_cmd_name(hdr->cmd & ~SA_EP_REPLY), plen, cap);
	SA_TRY(read_full(fd, buf, plen, deadline, &eof, err));
	*len = plen;
	return SA_OK;
}

/* ---- field helpers --------------------------------------------------------- */

static sa_status read_flag(sa_reader *r, bool *out, const char *field, sa_error *err)
{
	uint8_t v;
	SA_TRY(sa_read_u8(r, &v, field, err));
	SA_ENSURE(v <= 1, err, SA_ERR_FORMAT, "%s: %u, expected 0 or 1", field, v);
	*out = v == 1;
	return SA_OK;
}

static sa_status read_flags(sa_reader *r, uint8_t *out, uint8_t allowed, const char *field, sa_error *err)
{
	SA_TRY(sa_read_u8(r, out, field, err));
	SA_ENSURE((*out & ~allowed) == 0, err, SA_ERR_FORMAT, "%s: 0x%02x has reserved bits set (allowed 0x%02x)",
		  field, *out, allowed);
	return SA_OK;
}

static sa_status read_zeros(sa_reader *r, size_t n, const char *field, sa_error *err)
{
	const uint8_t *p;
	SA_TRY(sa_read_view(r, &p, n, field, err));
	SA_ENSURE(sa_all_zero(p, n), err, SA_ERR_FORMAT, "%s: reserved, must be zero", field);
	return SA_OK;
}

static sa_status read_blob(sa_reader *r, size_t max, const uint8_t **out, size_t *out_len, const char *field,
			   sa_error *err)
{
	uint32_t n;
	char lf[80];
	snprintf(lf, sizeof(lf), "%s length", field);
	SA_TRY(sa_read_u32(r, &n, lf, err));
	SA_ENSURE(n <= max, err, SA_ERR_RANGE, "%s: %u bytes, at most %zu allowed", lf, n, max);
	SA_TRY(sa_read_view(r, out, n, field, err));
	*out_len = n;
	return SA_OK;
}

static sa_status write_blob(sa_writer *w, size_t max, const uint8_t *p, size_t n, const char *field, sa_error *err)
{
	SA_ENSURE(n <= max, err, SA_ERR_RANGE, "%s: %zu bytes, at most %zu allowed", field, n, max);
	SA_ENSURE(p || n == 0, err, SA_ERR_ARG, "%s: no data", field);
	SA_TRY(sa_write_u32(w, (uint32_t)n, field, err));
	return sa_write_bytes(w, p, n, field, err);
}

/* A u16-length string without NUL bytes into out[max + 1]. */
static sa_status read_str(sa_reader *r, char *out, size_t max, size_t min, const char *field, sa_error *err)
{
	uint16_t n;
	const uint8_t *p;
	SA_TRY(sa_read_u16(r, &n, field, err));
	SA_ENSURE(n >= min && n <= max, err, SA_ERR_RANGE, "%s: %u bytes, expected %zu to %zu", field, n, min, max);
	SA_TRY(sa_read_view(r, &p, n, field, err));
	SA_ENSURE(!memchr(p, 0, n), err, SA_ERR_FORMAT, "%s: contains a NUL byte", field);
	memcpy(out, p, n);
	out[n] = '\0';
	return SA_OK;
}

static sa_status write_str(sa_writer *w, const char *s, size_t max, size_t min, const char *field, sa_error *err)
{
	size_t n = strnlen(s, max + 1);
	SA_ENSURE(n >= min && n <= max, err, SA_ERR_RANGE, "%s: %zu bytes, expected %zu to %zu", field, n, min, max);
	SA_TRY(sa_write_u16(w, (uint16_t)n, field, err));
	return sa_write_bytes(w, s, n, field, err);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
			return false;
	return true;
}

/* ---- requests -------------------------------------------------------------- */

static sa_status read_buf_len(sa_reader *r, uint32_t *out, const char *field, sa_error *err)
{
	SA_TRY(sa_read_u32(r, out, field, err));
	SA_ENSURE(*out <= SA_EP_SEV_PROBE_MAX, err, SA_ERR_RANGE, "%s: %u, at most %u", field, *out,
		  SA_EP_SEV_PROBE_MAX);
	return SA_OK;
}

static sa_status write_buf_len(sa_writer *w, uint32_t v, const char *field, sa_error *err)
{
	SA_ENSURE(v <= SA_EP_SEV_PROBE_MAX, err, SA_ERR_RANGE, "%s: %u, at most %u", field, v, SA_EP_SEV_PROBE_MAX);
	return sa_write_u32(w, v, field, err);
}

/* The SEV (legacy) commands' requests; SA_ERR_UNSUPPORTED for any other command. */
static sa_status decode_sev_request(sa_reader *r, sa_ep_request *q, sa_error *err)
{
	switch (q->cmd) {
	case SA_EP_SEV_PLATFORM_STATUS:
	case SA_EP_SEV_FACTORY_RESET:
	case SA_EP_SEV_PEK_GEN:
	case SA_EP_SEV_PDH_GEN:
	case SA_EP_SEV_EXPORT_AMD: return SA_OK;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID: return read_buf_len(r, &q->buf_len, "buffer length", err);
	case SA_EP_SEV_PEK_CERT_IMPORT:
		SA_TRY(read_blob(r, SA_EP_SEV_CERT_MAX, &q->cert1, &q->cert1_len, "PEK certificate", err));
		return read_blob(r, SA_EP_SEV_CERT_MAX, &q->cert2, &q->cert2_len, "OCA certificate", err);
	case SA_EP_SEV_PDH_CERT_EXPORT:
		SA_TRY(read_buf_len(r, &q->buf_len, "PDH buffer length", err));
		return read_buf_len(r, &q->buf_len2, "chain buffer length", err);
	case SA_EP_SEV_LAUNCH_START:
		SA_TRY(sa_read_u32(r, &q->sev_policy, "POLICY", err));
		SA_TRY(read_blob(r, SA_EP_SEV_CERT_MAX, &q->cert1, &q->cert1_len, "GODH certificate", err));
		SA_TRY(read_blob(r, SA_EP_SEV_CERT_MAX, &q->cert2, &q->cert2_len, "session", err));
		if (q->cert1_len == 0)
			q->cert1 = NULL;
		if (q->cert2_len == 0)
			q->cert2 = NULL;
		return SA_OK;
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		SA_TRY(read_blob(r, SA_EP_SEV_DATA_CHUNK, &q->data, &q->data_len, "data", err));
		SA_ENSURE(q->data_len > 0, err, SA_ERR_RANGE, "data: 0 bytes, expected 1 to %u", SA_EP_SEV_DATA_CHUNK);
		return SA_OK;
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		return sa_read_view(r, &q->vmsa, SA_EP_SEV_VMSA_SIZE, "VMSA", err);
	case SA_EP_SEV_LAUNCH_MEASURE:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		return read_buf_len(r, &q->buf_len, "buffer length", err);
	case SA_EP_SEV_LAUNCH_SECRET:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		SA_TRY(read_zeros(r, 4, "SEV_LAUNCH_SECRET reserved", err));
		SA_TRY(sa_read_u64(r, &q->gpa, "GPA", err));
		SA_TRY(sa_read_view(r, &q->secret_hdr, SA_EP_SEV_SECRET_HDR_SIZE, "packet header", err));
		return read_blob(r, SA_EP_SEV_SECRET_MAX, &q->data, &q->data_len, "secret", err);
	case SA_EP_SEV_LAUNCH_FINISH:
	case SA_EP_SEV_GUEST_INFO: return sa_read_u32(r, &q->handle, "handle", err);
	case SA_EP_SEV_ATTESTATION:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		SA_TRY(sa_read_bytes(r, q->mnonce, sizeof(q->mnonce), "MNONCE", err));
		return read_buf_len(r, &q->buf_len, "buffer length", err);
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED, "command 0x%04x: unknown", q->cmd);
}

static sa_status encode_sev_request(sa_writer *w, const sa_ep_request *q, sa_error *err)
{
	switch (q->cmd) {
	case SA_EP_SEV_PLATFORM_STATUS:
	case SA_EP_SEV_FACTORY_RESET:
	case SA_EP_SEV_PEK_GEN:
	case SA_EP_SEV_PDH_GEN:
	case SA_EP_SEV_EXPORT_AMD: return SA_OK;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID: return write_buf_len(w, q->buf_len, "buffer length", err);
	case SA_EP_SEV_PEK_CERT_IMPORT:
		SA_TRY(write_blob(w, SA_EP_SEV_CERT_MAX, q->cert1, q->cert1_len, "PEK certificate", err));
		return write_blob(w, SA_EP_SEV_CERT_MAX, q->cert2, q->cert2_len, "OCA certificate", err);
	case SA_EP_SEV_PDH_CERT_EXPORT:
		SA_TRY(write_buf_len(w, q->buf_len, "PDH buffer length", err));
		return write_buf_len(w, q->buf_len2, "chain buffer length", err);
	case SA_EP_SEV_LAUNCH_START:
		SA_TRY(sa_write_u32(w, q->sev_policy, "POLICY", err));
		SA_TRY(write_blob(w, SA_EP_SEV_CERT_MAX, q->cert1, q->cert1 ? q->cert1_len : 0, "GODH certificate",
				  err));
		return write_blob(w, SA_EP_SEV_CERT_MAX, q->cert2, q->cert2 ? q->cert2_len : 0, "session", err);
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
		SA_ENSURE(q->data_len > 0, err, SA_ERR_RANGE, "data: 0 bytes, expected 1 to %u", SA_EP_SEV_DATA_CHUNK);
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		return write_blob(w, SA_EP_SEV_DATA_CHUNK, q->data, q->data_len, "data", err);
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA:
		SA_ENSURE(q->vmsa, err, SA_ERR_ARG, "VMSA: no data");
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		return sa_write_bytes(w, q->vmsa, SA_EP_SEV_VMSA_SIZE, "VMSA", err);
	case SA_EP_SEV_LAUNCH_MEASURE:
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		return write_buf_len(w, q->buf_len, "buffer length", err);
	case SA_EP_SEV_LAUNCH_SECRET:
		SA_ENSURE(q->secret_hdr, err, SA_ERR_ARG, "packet header: no data");
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		SA_TRY(sa_write_zeros(w, 4, "SEV_LAUNCH_SECRET reserved", err));
		SA_TRY(sa_write_u64(w, q->gpa, "GPA", err));
		SA_TRY(sa_write_bytes(w, q->secret_hdr, SA_EP_SEV_SECRET_HDR_SIZE, "packet header", err));
		return write_blob(w, SA_EP_SEV_SECRET_MAX, q->data, q->data_len, "secret", err);
	case SA_EP_SEV_LAUNCH_FINISH:
	case SA_EP_SEV_GUEST_INFO: return sa_write_u32(w, q->handle, "handle", err);
	case SA_EP_SEV_ATTESTATION:
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		SA_TRY(sa_write_bytes(w, q->mnonce, sizeof(q->mnonce), "MNONCE", err));
		return write_buf_len(w, q->buf_len, "buffer length", err);
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED, "command 0x%04x: unknown", q->cmd);
}

#define LAUNCH_FINISH_AUTHOR 0x01u
#define LAUNCH_FINISH_ID_BLOCK 0x02u
#define CONFIG_MASK_CHIP_ID 0x01u
#define CONFIG_MASK_CHIP_KEY 0x02u

static sa_status decode_request_body(sa_reader *r, sa_ep_request *q, sa_error *err)
{
	uint8_t f;
	switch (q->cmd) {
	case SA_EP_STATUS:
	case SA_EP_EXPORT_ROOT:
	case SA_EP_VM_LIST:
	case SA_EP_COMMIT:
	case SA_EP_SHUTDOWN:
	case SA_EP_HELLO: return SA_OK;
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: return read_flag(r, &q->vlek, "key (0 VCEK, 1 VLEK)", err);
	case SA_EP_LAUNCH_START: return sa_read_u64(r, &q->policy, "POLICY", err);
	case SA_EP_LAUNCH_UPDATE: {
		bool has_page = false;
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		SA_TRY(sa_read_u8(r, &q->page_type, "page type", err));
		SA_TRY(read_flag(r, &has_page, "has_page", err));
		SA_TRY(read_zeros(r, 2, "LAUNCH_UPDATE reserved", err));
		SA_TRY(sa_read_u64(r, &q->gpa, "GPA", err));
		if (has_page)
			SA_TRY(sa_read_view(r, &q->page, SA_EP_PAGE_SIZE, "page", err));
		return SA_OK;
	}
	case SA_EP_LAUNCH_FINISH:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		SA_TRY(read_flags(r, &f, LAUNCH_FINISH_AUTHOR | LAUNCH_FINISH_ID_BLOCK, "LAUNCH_FINISH flags", err));
		SA_TRY(read_zeros(r, 3, "LAUNCH_FINISH reserved", err));
		SA_TRY(sa_read_bytes(r, q->host_data, sizeof(q->host_data), "HOST_DATA", err));
		q->author_key_en = f & LAUNCH_FINISH_AUTHOR;
		if (f & LAUNCH_FINISH_ID_BLOCK) {
			SA_TRY(sa_read_view(r, &q->id_block, SA_EP_ID_BLOCK_SIZE, "ID block", err));
			SA_TRY(sa_read_view(r, &q->id_auth, SA_EP_ID_AUTH_SIZE, "ID authentication", err));
		}
		return SA_OK;
	case SA_EP_SET_EXT_CERTS:
		SA_TRY(sa_read_u32(r, &q->handle, "handle", err));
		return read_blob(r, SA_EP_MAX_CERTS, &q->data, &q->data_len, "certificate table", err);
	case SA_EP_DECOMMISSION: return sa_read_u32(r, &q->handle, "handle", err);
	case SA_EP_SET_CONFIG:
		SA_TRY(sa_read_u64(r, &q->tcb, "REPORTED_TCB", err));
		SA_TRY(read_flags(r, &f, CONFIG_MASK_CHIP_ID | CONFIG_MASK_CHIP_KEY, "SET_CONFIG flags", err));
		q->mask_chip_id = f & CONFIG_MASK_CHIP_ID;
		q->mask_chip_key = f & CONFIG_MASK_CHIP_KEY;
		return SA_OK;
	case SA_EP_UPDATE_FIRMWARE:
		SA_TRY(sa_read_u64(r, &q->tcb, "CURRENT_TCB", err));
		SA_TRY(sa_read_u8(r, &q->fw.major, "firmware major", err));
		SA_TRY(sa_read_u8(r, &q->fw.minor, "firmware minor", err));
		return sa_read_u8(r, &q->fw.build, "firmware build", err);
	case SA_EP_VLEK_LOAD:
		SA_TRY(read_str(r, q->csp_id, SA_EP_CSP_ID_MAX, 1, "CSP id", err));
		SA_ENSURE(printable(q->csp_id), err, SA_ERR_FORMAT, "CSP id: expected printable ASCII");
		return SA_OK;
	case SA_EP_GUEST_REQUEST:
		return read_blob(r, SA_GMSG_PAGE_SIZE, &q->data, &q->data_len, "request message", err);
	case SA_EP_EXT_GUEST_REQUEST:
		SA_TRY(sa_read_u32(r, &q->cert_pages, "certificate buffer pages", err));
		SA_ENSURE(q->cert_pages <= SA_EP_MAX_CERT_PAGES, err, SA_ERR_RANGE,
			  "certificate buffer pages: %u, at most %d", q->cert_pages, SA_EP_MAX_CERT_PAGES);
		return read_blob(r, SA_GMSG_PAGE_SIZE, &q->data, &q->data_len, "request message", err);
	case SA_EP_DISABLE_VMPCK:
		SA_TRY(sa_read_u8(r, &q->vmpck_id, "VMPCK id", err));
		SA_ENSURE(q->vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_RANGE, "VMPCK id: %u, expected 0 to %d",
			  q->vmpck_id, SA_VMPCK_COUNT - 1);
		return SA_OK;
	}
	return decode_sev_request(r, q, err);
}

sa_status sa_ep_request_decode(uint16_t cmd, const uint8_t *buf, size_t len, sa_ep_request *out, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "request: no buffer");
	sa_ep_request q;
	memset(&q, 0, sizeof(q));
	q.cmd = cmd;
	sa_reader r;
	sa_reader_init(&r, buf, len);
	sa_status s = decode_request_body(&r, &q, err);
	if (s == SA_OK)
		s = sa_reader_expect_end(&r, sa_ep_cmd_name(cmd), err);
	if (s != SA_OK)
		return s == SA_ERR_UNSUPPORTED ? s : sa_error_wrap(err, s, "%s request", sa_ep_cmd_name(cmd));
	*out = q;
	return SA_OK;
}

static sa_status encode_request_body(sa_writer *w, const sa_ep_request *q, sa_error *err)
{
	switch (q->cmd) {
	case SA_EP_STATUS:
	case SA_EP_EXPORT_ROOT:
	case SA_EP_VM_LIST:
	case SA_EP_COMMIT:
	case SA_EP_SHUTDOWN:
	case SA_EP_HELLO: return SA_OK;
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: return sa_write_u8(w, q->vlek ? 1 : 0, "key", err);
	case SA_EP_LAUNCH_START: return sa_write_u64(w, q->policy, "POLICY", err);
	case SA_EP_LAUNCH_UPDATE:
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		SA_TRY(sa_write_u8(w, q->page_type, "page type", err));
		SA_TRY(sa_write_u8(w, q->page ? 1 : 0, "has_page", err));
		SA_TRY(sa_write_zeros(w, 2, "LAUNCH_UPDATE reserved", err));
		SA_TRY(sa_write_u64(w, q->gpa, "GPA", err));
		return q->page ? sa_write_bytes(w, q->page, SA_EP_PAGE_SIZE, "page", err) : SA_OK;
	case SA_EP_LAUNCH_FINISH: {
		SA_ENSURE(!q->id_block == !q->id_auth, err, SA_ERR_ARG,
			  "LAUNCH_FINISH: the ID block and its authentication structure go together");
		uint8_t f = (uint8_t)((q->author_key_en ? LAUNCH_FINISH_AUTHOR : 0) |
				      (q->id_block ? LAUNCH_FINISH_ID_BLOCK : 0));
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		SA_TRY(sa_write_u8(w, f, "LAUNCH_FINISH flags", err));
		SA_TRY(sa_write_zeros(w, 3, "LAUNCH_FINISH reserved", err));
		SA_TRY(sa_write_bytes(w, q->host_data, sizeof(q->host_data), "HOST_DATA", err));
		if (q->id_block) {
			SA_TRY(sa_write_bytes(w, q->id_block, SA_EP_ID_BLOCK_SIZE, "ID block", err));
			SA_TRY(sa_write_bytes(w, q->id_auth, SA_EP_ID_AUTH_SIZE, "ID authentication", err));
		}
		return SA_OK;
	}
	case SA_EP_SET_EXT_CERTS:
		SA_TRY(sa_write_u32(w, q->handle, "handle", err));
		return write_blob(w, SA_EP_MAX_CERTS, q->data, q->data_len, "certificate table", err);
	case SA_EP_DECOMMISSION: return sa_write_u32(w, q->handle, "handle", err);
	case SA_EP_SET_CONFIG:
		SA_TRY(sa_write_u64(w, q->tcb, "REPORTED_TCB", err));
		return sa_write_u8(w,
				   (uint8_t)((q->mask_chip_id ? CONFIG_MASK_CHIP_ID : 0) |
					     (q->mask_chip_key ? CONFIG_MASK_CHIP_KEY : 0)),
				   "SET_CONFIG flags", err);
	case SA_EP_UPDATE_FIRMWARE:
		SA_TRY(sa_write_u64(w, q->tcb, "CURRENT_TCB", err));
		SA_TRY(sa_write_u8(w, q->fw.major, "firmware major", err));
		SA_TRY(sa_write_u8(w, q->fw.minor, "firmware minor", err));
		return sa_write_u8(w, q->fw.build, "firmware build", err);
	case SA_EP_VLEK_LOAD:
		SA_ENSURE(printable(q->csp_id), err, SA_ERR_ARG, "CSP id: expected printable ASCII");
		return write_str(w, q->csp_id, SA_EP_CSP_ID_MAX, 1, "CSP id", err);
	case SA_EP_GUEST_REQUEST:
		return write_blob(w, SA_GMSG_PAGE_SIZE, q->data, q->data_len, "request message", err);
	case SA_EP_EXT_GUEST_REQUEST:
		SA_ENSURE(q->cert_pages <= SA_EP_MAX_CERT_PAGES, err, SA_ERR_RANGE,
			  "certificate buffer pages: %u, at most %d", q->cert_pages, SA_EP_MAX_CERT_PAGES);
		SA_TRY(sa_write_u32(w, q->cert_pages, "certificate buffer pages", err));
		return write_blob(w, SA_GMSG_PAGE_SIZE, q->data, q->data_len, "request message", err);
	case SA_EP_DISABLE_VMPCK:
		SA_ENSURE(q->vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_RANGE, "VMPCK id: %u, expected 0 to %d",
			  q->vmpck_id, SA_VMPCK_COUNT - 1);
		return sa_write_u8(w, q->vmpck_id, "VMPCK id", err);
	}
	return encode_sev_request(w, q, err);
}

sa_status sa_ep_request_encode(const sa_ep_request *r, uint8_t *out, size_t cap, size_t *out_len, sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, cap);
	SA_TRY(encode_request_body(&w, r, err));
	SA_TRY(check_payload_len(sa_writer_offset(&w), err));
	*out_len = sa_writer_offset(&w);
	return SA_OK;
}

/* ---- replies --------------------------------------------------------------- */

#define STATUS_MASK_CHIP_ID 0x01u
#define STATUS_MASK_CHIP_KEY 0x02u
#define STATUS_VLEK 0x04u
#define VM_BUSY 0x01u
#define VM_SEV 0x02u

static sa_status decode_error_body(sa_reader *r, sa_ep_reply *p, sa_error *err)
{
	uint32_t code;
	SA_TRY(sa_read_u32(r, &code, "error code", err));
	SA_ENSURE(code >= SA_ERR_ARG && code <= SA_ERR_STATE, err, SA_ERR_RANGE,
		  "error code: %u, expected %d to %d", code, SA_ERR_ARG, SA_ERR_STATE);
	p->err_code = (sa_status)code;
	SA_TRY(read_str(r, p->err_msg, SA_EP_ERR_MSG_MAX, 0, "error message", err));
	if (p->status != SA_FW_INVALID_LENGTH || !sa_ep_cmd_probes(p->cmd))
		return SA_OK;
	SA_TRY(sa_read_u32(r, &p->needed, "length needed", err));
	return p->cmd == SA_EP_SEV_PDH_CERT_EXPORT ? sa_read_u32(r, &p->needed2, "chain length needed", err) : SA_OK;
}

static sa_status decode_sev_guest_info(sa_reader *r, sa_emu_sev_guest_info *g, sa_error *err)
{
	SA_TRY(sa_read_u32(r, &g->handle, "handle", err));
	SA_TRY(sa_read_u32(r, &g->policy, "POLICY", err));
	SA_TRY(sa_read_u8(r, &g->state, "guest state", err));
	SA_ENSURE(g->state <= SA_EMU_SEV_GSTATE_RUNNING, err, SA_ERR_RANGE, "guest state: %u, expected 0 to %d",
		  g->state, SA_EMU_SEV_GSTATE_RUNNING);
	SA_TRY(read_zeros(r, 3, "SEV_GUEST_INFO reserved", err));
	SA_TRY(sa_read_bytes(r, g->launch_digest, sizeof(g->launch_digest), "launch digest", err));
	return sa_read_u32(r, &g->secrets, "secrets injected", err);
}

static sa_status encode_sev_guest_info(sa_writer *w, const sa_emu_sev_guest_info *g, sa_error *err)
{
	SA_ENSURE(g->state <= SA_EMU_SEV_GSTATE_RUNNING, err, SA_ERR_RANGE, "guest state: %u, expected 0 to %d",
		  g->state, SA_EMU_SEV_GSTATE_RUNNING);
	SA_TRY(sa_write_u32(w, g->handle, "handle", err));
	SA_TRY(sa_write_u32(w, g->policy, "POLICY", err));
	SA_TRY(sa_write_u8(w, g->state, "guest state", err));
	SA_TRY(sa_write_zeros(w, 3, "SEV_GUEST_INFO reserved", err));
	SA_TRY(sa_write_bytes(w, g->launch_digest, sizeof(g->launch_digest), "launch digest", err));
	return sa_write_u32(w, g->secrets, "secrets injected", err);
}

/* The SEV (legacy) commands' replies; SA_ERR_UNSUPPORTED for any other command. */
static sa_status decode_sev_reply(sa_reader *r, sa_ep_reply *p, sa_error *err)
{
	switch (p->cmd) {
	case SA_EP_SEV_PLATFORM_STATUS: {
		const uint8_t *b;
		SA_TRY(sa_read_view(r, &b, SA_EP_SEV_STATUS_SIZE, "platform status", err));
		return sa_sev_platform_status_decode(b, SA_EP_SEV_STATUS_SIZE, &p->sev_status, err);
	}
	case SA_EP_SEV_FACTORY_RESET:
	case SA_EP_SEV_PEK_GEN:
	case SA_EP_SEV_PDH_GEN:
	case SA_EP_SEV_PEK_CERT_IMPORT:
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA:
	case SA_EP_SEV_LAUNCH_SECRET: return SA_OK;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID:
	case SA_EP_SEV_LAUNCH_MEASURE:
	case SA_EP_SEV_ATTESTATION:
		return read_blob(r, SA_EP_SEV_PROBE_MAX, &p->data, &p->data_len, sa_ep_cmd_name(p->cmd), err);
	case SA_EP_SEV_PDH_CERT_EXPORT:
		SA_TRY(read_blob(r, SA_EP_SEV_PROBE_MAX, &p->data, &p->data_len, "PDH certificate", err));
		return read_blob(r, SA_EP_SEV_PROBE_MAX, &p->certs, &p->certs_len, "certificate chain", err);
	case SA_EP_SEV_EXPORT_AMD:
		SA_TRY(read_blob(r, SA_AMD_CERT_MAX, &p->data, &p->data_len, "ARK", err));
		SA_TRY(read_blob(r, SA_AMD_CERT_MAX, &p->certs, &p->certs_len, "ASK", err));
		return sa_read_view(r, &p->cek, SA_EP_SEV_CERT_SIZE, "CEK", err);
	case SA_EP_SEV_LAUNCH_START: return sa_read_u32(r, &p->handle, "handle", err);
	case SA_EP_SEV_LAUNCH_FINISH: return read_str(r, p->qmp, SA_EP_PATH_MAX, 1, "QMP socket", err);
	case SA_EP_SEV_GUEST_INFO: return decode_sev_guest_info(r, &p->sev_guest, err);
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED, "command 0x%04x: unknown", p->cmd);
}

static sa_status encode_sev_reply(sa_writer *w, const sa_ep_reply *p, sa_error *err)
{
	switch (p->cmd) {
	case SA_EP_SEV_PLATFORM_STATUS: {
		uint8_t b[SA_EP_SEV_STATUS_SIZE];
		sa_sev_platform_status_encode(&p->sev_status, b);
		return sa_write_bytes(w, b, sizeof(b), "platform status", err);
	}
	case SA_EP_SEV_FACTORY_RESET:
	case SA_EP_SEV_PEK_GEN:
	case SA_EP_SEV_PDH_GEN:
	case SA_EP_SEV_PEK_CERT_IMPORT:
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA:
	case SA_EP_SEV_LAUNCH_SECRET: return SA_OK;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID:
	case SA_EP_SEV_LAUNCH_MEASURE:
	case SA_EP_SEV_ATTESTATION:
		return write_blob(w, SA_EP_SEV_PROBE_MAX, p->data, p->data_len, sa_ep_cmd_name(p->cmd), err);
	case SA_EP_SEV_PDH_CERT_EXPORT:
		SA_TRY(write_blob(w, SA_EP_SEV_PROBE_MAX, p->data, p->data_len, "PDH certificate", err));
		return write_blob(w, SA_EP_SEV_PROBE_MAX, p->certs, p->certs_len, "certificate chain", err);
	case SA_EP_SEV_EXPORT_AMD:
		SA_ENSURE(p->cek, err, SA_ERR_ARG, "SEV_EXPORT_AMD reply: no CEK");
		SA_TRY(write_blob(w, SA_AMD_CERT_MAX, p->data, p->data_len, "ARK", err));
		SA_TRY(write_blob(w, SA_AMD_CERT_MAX, p->certs, p->certs_len, "ASK", err));
		return sa_write_bytes(w, p->cek, SA_EP_SEV_CERT_SIZE, "CEK", err);
	case SA_EP_SEV_LAUNCH_START: return sa_write_u32(w, p->handle, "handle", err);
	case SA_EP_SEV_LAUNCH_FINISH: return write_str(w, p->qmp, SA_EP_PATH_MAX, 1, "QMP socket", err);
	case SA_EP_SEV_GUEST_INFO: return encode_sev_guest_info(w, &p->sev_guest, err);
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED, "command 0x%04x: unknown", p->cmd);
}

static sa_status decode_status_body(sa_reader *r, sa_ep_reply *p, sa_error *err)
{
	sa_emu_status *s = &p->platform;
	uint32_t product;
	uint8_t f;
	SA_TRY(sa_read_u32(r, &product, "product", err));
	SA_ENSURE(product <= SA_PRODUCT_TURIN, err, SA_ERR_RANGE, "product: %u, expected 0 to %d", product,
		  SA_PRODUCT_TURIN);
	s->product = (sa_product)product;
	SA_TRY(sa_read_bytes(r, s->chip_id, sizeof(s->chip_id), "CHIP_ID", err));
	SA_TRY(sa_read_u64(r, &s->current_tcb, "CURRENT_TCB", err));
	SA_TRY(sa_read_u64(r, &s->reported_tcb, "REPORTED_TCB", err));
	SA_TRY(sa_read_u64(r, &s->committed_tcb, "COMMITTED_TCB", err));
	SA_TRY(sa_read_u8(r, &s->current.major, "current major", err));
	SA_TRY(sa_read_u8(r, &s->current.minor, "current minor", err));
	SA_TRY(sa_read_u8(r, &s->current.build, "current build", err));
	SA_TRY(sa_read_u8(r, &s->committed.major, "committed major", err));
	SA_TRY(sa_read_u8(r, &s->committed.minor, "committed minor", err));
	SA_TRY(sa_read_u8(r, &s->committed.build, "committed build", err));
	SA_TRY(read_flags(r, &f, STATUS_MASK_CHIP_ID | STATUS_MASK_CHIP_KEY | STATUS_VLEK, "STATUS flags", err));
	s->mask_chip_id = f & STATUS_MASK_CHIP_ID;
	s->mask_chip_key = f & STATUS_MASK_CHIP_KEY;
	s->vlek_loaded = f & STATUS_VLEK;
	SA_TRY(read_zeros(r, 1, "STATUS reserved", err));
	SA_TRY(sa_read_u32(r, &s->guest_count, "guest count", err));
	SA_TRY(sa_read_u32(r, &p->pid, "pid", err));
	return sa_read_u32(r, &p->channels, "guest channels", err);
}

static sa_status decode_reply_body(sa_reader *r, sa_ep_reply *p, sa_error *err)
{
	switch (p->cmd) {
	case SA_EP_STATUS: return decode_status_body(r, p, err);
	case SA_EP_EXPORT_ROOT:
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: return read_blob(r, SA_EP_MAX_BLOB, &p->data, &p->data_len, "exported data", err);
	case SA_EP_LAUNCH_START: return sa_read_u32(r, &p->handle, "handle", err);
	case SA_EP_LAUNCH_FINISH:
		SA_TRY(sa_read_u32(r, &p->handle, "handle", err));
		SA_TRY(sa_read_bytes(r, p->measurement, sizeof(p->measurement), "launch digest", err));
		return read_str(r, p->socket, SA_EP_PATH_MAX, 1, "guest channel socket", err);
	case SA_EP_VM_LIST: {
		uint32_t n;
		SA_TRY(sa_read_u32(r, &p->vm_total, "VM total", err));
		SA_TRY(sa_read_u32(r, &n, "VM count", err));
		SA_ENSURE(n <= SA_EP_MAX_VMS && n <= p->vm_total, err, SA_ERR_RANGE,
			  "VM count: %u, expected at most %d and at most the total %u", n, SA_EP_MAX_VMS, p->vm_total);
		for (uint32_t i = 0; i < n; i++) {
			sa_ep_vm_info *v = &p->vms[i];
			uint8_t f;
			SA_TRY(sa_read_u32(r, &v->handle, "VM handle", err));
			SA_TRY(read_flags(r, &f, VM_BUSY | VM_SEV, "VM flags", err));
			SA_ENSURE(f != (VM_BUSY | VM_SEV), err, SA_ERR_FORMAT,
				  "VM flags: 0x%02x, an SEV guest has no guest channel to be busy", f);
			v->busy = f & VM_BUSY;
			v->sev = f & VM_SEV;
			SA_TRY(sa_read_bytes(r, v->measurement, sizeof(v->measurement), "VM launch digest", err));
			SA_ENSURE(!v->sev || sa_all_zero(v->measurement + 32, 16), err, SA_ERR_FORMAT,
				  "VM launch digest: an SEV guest's has 32 bytes, then zeros");
			SA_TRY(read_str(r, v->socket, SA_EP_PATH_MAX, v->sev ? 0 : 1, "VM socket", err));
			SA_ENSURE(!v->sev || v->socket[0] == '\0', err, SA_ERR_FORMAT,
				  "VM socket: an SEV guest has no guest channel, got %s", v->socket);
			SA_TRY(read_str(r, v->qmp, SA_EP_PATH_MAX, 1, "VM QMP socket", err));
		}
		p->n_vms = n;
		return SA_OK;
	}
	case SA_EP_SET_EXT_CERTS:
	case SA_EP_LAUNCH_UPDATE:
	case SA_EP_DECOMMISSION:
	case SA_EP_SET_CONFIG:
	case SA_EP_UPDATE_FIRMWARE:
	case SA_EP_COMMIT:
	case SA_EP_VLEK_LOAD:
	case SA_EP_SHUTDOWN:
	case SA_EP_DISABLE_VMPCK: return SA_OK;
	case SA_EP_HELLO:
		SA_TRY(sa_read_u32(r, &p->handle, "handle", err));
		p->data_len = SA_SECRETS_PAGE_SIZE;
		return sa_read_view(r, &p->data, SA_SECRETS_PAGE_SIZE, "secrets page", err);
	case SA_EP_GUEST_REQUEST:
	case SA_EP_EXT_GUEST_REQUEST:
		SA_TRY(sa_read_u32(r, &p->fw_error, "fw_error", err));
		SA_TRY(sa_read_u32(r, &p->vmm_error, "vmm_error", err));
		if (p->cmd == SA_EP_EXT_GUEST_REQUEST) {
			SA_TRY(sa_read_u32(r, &p->pages_needed, "pages needed", err));
			SA_ENSURE(p->pages_needed <= 0x100000, err, SA_ERR_RANGE, "pages needed: %u, at most 0x100000",
				  p->pages_needed);
		}
		SA_TRY(read_blob(r, SA_GMSG_PAGE_SIZE, &p->data, &p->data_len, "response message", err));
		if (p->cmd == SA_EP_EXT_GUEST_REQUEST)
			SA_TRY(read_blob(r, SA_EP_MAX_CERTS, &p->certs, &p->certs_len, "certificate table", err));
		return SA_OK;
	}
	return decode_sev_reply(r, p, err);
}

sa_status sa_ep_reply_decode(uint16_t cmd, uint16_t status, const uint8_t *buf, size_t len, sa_ep_reply *out,
			     sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "reply: no buffer");
	/* An error body is the same for every command, so even an unknown command's refusal decodes. */
	SA_ENSURE(status != 0 || sa_ep_cmd_role(cmd) != SA_EP_ROLE_NONE, err, SA_ERR_UNSUPPORTED,
		  "command 0x%04x: unknown", cmd);
	sa_ep_reply *p = out;
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->status = status;
	sa_reader r;
	sa_reader_init(&r, buf, len);
	sa_status s = status ? decode_error_body(&r, p, err) : decode_reply_body(&r, p, err);
	if (s == SA_OK)
		s = sa_reader_expect_end(&r, sa_ep_cmd_name(cmd), err);
	if (s != SA_OK) {
		memset(p, 0, sizeof(*p));
		return sa_error_wrap(err, s, "%s reply", sa_ep_cmd_name(cmd));
	}
	return SA_OK;
}

static sa_status encode_status_body(sa_writer *w, const sa_ep_reply *p, sa_error *err)
{
	const sa_emu_status *s = &p->platform;
	SA_ENSURE((unsigned)s->product <= SA_PRODUCT_TURIN, err, SA_ERR_RANGE, "product: %u, expected 0 to %d",
		  (unsigned)s->product, SA_PRODUCT_TURIN);
	uint8_t f = (uint8_t)((s->mask_chip_id ? STATUS_MASK_CHIP_ID : 0) |
			      (s->mask_chip_key ? STATUS_MASK_CHIP_KEY : 0) | (s->vlek_loaded ? STATUS_VLEK : 0));
	SA_TRY(sa_write_u32(w, (uint32_t)s->product, "product", err));
	SA_TRY(sa_write_bytes(w, s->chip_id, sizeof(s->chip_id), "CHIP_ID", err));
	SA_TRY(sa_write_u64(w, s->current_tcb, "CURRENT_TCB", err));
	SA_TRY(sa_write_u64(w, s->reported_tcb, "REPORTED_TCB", err));
	SA_TRY(sa_write_u64(w, s->committed_tcb, "COMMITTED_TCB", err));
	SA_TRY(sa_write_u8(w, s->current.major, "current major", err));
	SA_TRY(sa_write_u8(w, s->current.minor, "current minor", err));
	SA_TRY(sa_write_u8(w, s->current.build, "current build", err));
	SA_TRY(sa_write_u8(w, s->committed.major, "committed major", err));
	SA_TRY(sa_write_u8(w, s->committed.minor, "committed minor", err));
	SA_TRY(sa_write_u8(w, s->committed.build, "committed build", err));
	SA_TRY(sa_write_u8(w, f, "STATUS flags", err));
	SA_TRY(sa_write_zeros(w, 1, "STATUS reserved", err));
	SA_TRY(sa_write_u32(w, s->guest_count, "guest count", err));
	SA_TRY(sa_write_u32(w, p->pid, "pid", err));
	return sa_write_u32(w, p->channels, "guest channels", err);
}

static sa_status encode_reply_body(sa_writer *w, const sa_ep_reply *p, sa_error *err)
{
	switch (p->cmd) {
	case SA_EP_STATUS: return encode_status_body(w, p, err);
	case SA_EP_EXPORT_ROOT:
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: return write_blob(w, SA_EP_MAX_BLOB, p->data, p->data_len, "exported data", err);
	case SA_EP_LAUNCH_START: return sa_write_u32(w, p->handle, "handle", err);
	case SA_EP_LAUNCH_FINISH:
		SA_TRY(sa_write_u32(w, p->handle, "handle", err));
		SA_TRY(sa_write_bytes(w, p->measurement, sizeof(p->measurement), "launch digest", err));
		return write_str(w, p->socket, SA_EP_PATH_MAX, 1, "guest channel socket", err);
	case SA_EP_VM_LIST:
		SA_ENSURE(p->n_vms <= SA_EP_MAX_VMS && p->n_vms <= p->vm_total, err, SA_ERR_RANGE,
			  "VM count: %zu, expected at most %d and at most the total %u", p->n_vms, SA_EP_MAX_VMS,
			  p->vm_total);
		SA_TRY(sa_write_u32(w, p->vm_total, "VM total", err));
		SA_TRY(sa_write_u32(w, (uint32_t)p->n_vms, "VM count", err));
		for (size_t i = 0; i < p->n_vms; i++) {
			const sa_ep_vm_info *v = &p->vms[i];
			SA_ENSURE(!v->sev || (!v->busy && v->socket[0] == '\0' && sa_all_zero(v->measurement + 32, 16)),
				  err, SA_ERR_ARG,
				  "VM %u: an SEV guest has no guest channel and a 32-byte launch digest", v->handle);
			SA_TRY(sa_write_u32(w, v->handle, "VM handle", err));
			SA_TRY(sa_write_u8(w, (uint8_t)((v->busy ? VM_BUSY : 0) | (v->sev ? VM_SEV : 0)), "VM flags",
					   err));
			SA_TRY(sa_write_bytes(w, v->measurement, sizeof(v->measurement), "VM launch digest", err));
			SA_TRY(write_str(w, v->socket, SA_EP_PATH_MAX, v->sev ? 0 : 1, "VM socket", err));
			SA_TRY(write_str(w, v->qmp, SA_EP_PATH_MAX, 1, "VM QMP socket", err));
		}
		return SA_OK;
	case SA_EP_SET_EXT_CERTS:
	case SA_EP_LAUNCH_UPDATE:
	case SA_EP_DECOMMISSION:
	case SA_EP_SET_CONFIG:
	case SA_EP_UPDATE_FIRMWARE:
	case SA_EP_COMMIT:
	case SA_EP_VLEK_LOAD:
	case SA_EP_SHUTDOWN:
	case SA_EP_DISABLE_VMPCK: return SA_OK;
	case SA_EP_HELLO:
		SA_ENSURE(p->data && p->data_len == SA_SECRETS_PAGE_SIZE, err, SA_ERR_ARG,
			  "HELLO reply: the secrets page must be %d bytes", SA_SECRETS_PAGE_SIZE);
		SA_TRY(sa_write_u32(w, p->handle, "handle", err));
		return sa_write_bytes(w, p->data, SA_SECRETS_PAGE_SIZE, "secrets page", err);
	case SA_EP_GUEST_REQUEST:
	case SA_EP_EXT_GUEST_REQUEST:
		SA_TRY(sa_write_u32(w, p->fw_error, "fw_error", err));
		SA_TRY(sa_write_u32(w, p->vmm_error, "vmm_error", err));
		if (p->cmd == SA_EP_EXT_GUEST_REQUEST) {
			SA_ENSURE(p->pages_needed <= 0x100000, err, SA_ERR_RANGE, "pages needed: %u, at most 0x100000",
				  p->pages_needed);
			SA_TRY(sa_write_u32(w, p->pages_needed, "pages needed", err));
		}
		SA_TRY(write_blob(w, SA_GMSG_PAGE_SIZE, p->data, p->data_len, "response message", err));
		if (p->cmd == SA_EP_EXT_GUEST_REQUEST)
			SA_TRY(write_blob(w, SA_EP_MAX_CERTS, p->certs, p->certs_len, "certificate table", err));
		return SA_OK;
	}
	return encode_sev_reply(w, p, err);
}

sa_status sa_ep_reply_encode(const sa_ep_reply *p, uint8_t *out, size_t cap, size_t *out_len, sa_error *err)
{
	sa_writer w;
	sa_writer_init(&w, out, cap);
	if (p->status) {
		SA_ENSURE(p->err_code >= SA_ERR_ARG && p->err_code <= SA_ERR_STATE, err, SA_ERR_RANGE,
			  "error code: %d, expected %d to %d", (int)p->err_code, SA_ERR_ARG, SA_ERR_STATE);
		SA_TRY(sa_write_u32(&w, (uint32_t)p->err_code, "error code", err));
		SA_TRY(write_str(&w, p->err_msg, SA_EP_ERR_MSG_MAX, 0, "error message", err));
		if (p->status == SA_FW_INVALID_LENGTH && sa_ep_cmd_probes(p->cmd)) {
			SA_TRY(sa_write_u32(&w, p->needed, "length needed", err));
			if (p->cmd == SA_EP_SEV_PDH_CERT_EXPORT)
				SA_TRY(sa_write_u32(&w, p->needed2, "chain length needed", err));
		}
	} else {
		SA_TRY(encode_reply_body(&w, p, err));
	}
	SA_TRY(check_payload_len(sa_writer_offset(&w), err));
	*out_len = sa_writer_offset(&w);
	return SA_OK;
}
