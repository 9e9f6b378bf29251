/* SPDX-License-Identifier: Apache-2.0 */
/* A client of sevattest-emu's host socket and guest channels (emu_client.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sevattest/emu_client.h"

#include "internal.h"

struct sa_emu_client {
	int fd;
	int timeout_ms;
	char path[SA_EP_PATH_MAX + 1];
	uint8_t buf[SA_EP_MAX_PAYLOAD]; /* requests are encoded here, replies received here */
	sa_ep_reply rep;
};

static sa_status connect_within(int fd, const struct sockaddr_un *sa, int timeout_ms, const char *path,
				sa_error *err)
{
	int fl = fcntl(fd, F_GETFL);
	SA_ENSURE(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0, err, SA_ERR_IO, "%s: fcntl: %s", path,
		  strerror(errno));
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (rc != 0 && (errno == EINPROGRESS || errno == EAGAIN || errno == EINTR)) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n;
		do
			n = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
		while (n < 0 && errno == EINTR);
		SA_ENSURE(n > 0, err, SA_ERR_IO, "cannot connect to %s: %s", path,
			  n == 0 ? "timed out" : strerror(errno));
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		errno = soerr;
		rc = soerr ? -1 : 0;
	}
	if (rc != 0) {
		int e = errno;
		return sa_error_set(err, SA_ERR_IO, "cannot connect to %s: %s%s", path, strerror(e),
				    e == ENOENT || e == ECONNREFUSED ? " (is sevattest-emu running?)" : "");
	}
	SA_ENSURE(fcntl(fd, F_SETFL, fl) == 0, err, SA_ERR_IO, "%s: fcntl: %s", path, strerror(errno));
	return SA_OK;
}

sa_status sa_emu_client_connect(const char *socket_path, int timeout_ms, sa_emu_client **out, sa_error *err)
{
	*out = NULL;
	SA_ENSURE(socket_path && *socket_path, err, SA_ERR_ARG, "emulator socket: no path given");
	size_t n = strlen(socket_path);
	SA_ENSURE(n <= SA_EP_PATH_MAX, err, SA_ERR_ARG,
		  "emulator socket %s: path of %zu bytes, at most %d fit a unix socket", socket_path, n,
		  SA_EP_PATH_MAX);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, socket_path, n);

	sa_emu_client *c = calloc(1, sizeof(*c));
	SA_ENSURE(c, err, SA_ERR_NOMEM, "out of memory");
	memcpy(c->path, socket_path, n);
	c->timeout_ms = timeout_ms;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int e = errno;
		free(c);
		return sa_error_set(err, SA_ERR_IO, "socket: %s", strerror(e));
	}
	sa_status s = connect_within(c->fd, &sa, timeout_ms, socket_path, err);
	if (s != SA_OK) {
		sa_emu_client_close(c);
		return s;
	}
	*out = c;
	return SA_OK;
}

void sa_emu_client_close(sa_emu_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	/* The buffer held secrets pages and sealed messages. */
	OPENSSL_cleanse(c->buf, sizeof(c->buf));
	free(c);
}

void sa_emu_client_set_timeout(sa_emu_client *c, int timeout_ms) { c->timeout_ms = timeout_ms; }

const char *sa_emu_client_path(const sa_emu_client *c) { return c->path; }

static void set_fw(uint32_t *fw_status, uint32_t v)
{
	if (fw_status)
		*fw_status = v;
}

sa_status sa_emu_client_call(sa_emu_client *c, const sa_ep_request *req, sa_ep_reply *rep, sa_error *err)
{
	const char *name = sa_ep_cmd_name(req->cmd);
	rep->cmd = req->cmd;
	rep->status = SA_EP_STATUS_DAEMON;
	size_t len;
	SA_TRY(sa_ep_request_encode(req, c->buf, sizeof(c->buf), &len, err));
	sa_status s = sa_ep_send(c->fd, req->cmd, 0, c->buf, len, c->timeout_ms, err);
	if (s != SA_OK)
		return sa_error_wrap(err, s, "%s to %s", name, c->path);
	sa_ep_frame_hdr h;
	bool closed;
	s = sa_ep_recv(c->fd, &h, c->buf, sizeof(c->buf), &len, c->timeout_ms, &closed, err);
	if (s != SA_OK)
		return sa_error_wrap(err, s, "%s reply from %s", name, c->path);
	SA_ENSURE(h.cmd == (req->cmd | SA_EP_REPLY), err, SA_ERR_FORMAT,
		  "%s reply from %s: command 0x%04x, expected 0x%04x", name, c->path, h.cmd, req->cmd | SA_EP_REPLY);
	s = sa_ep_reply_decode(req->cmd, h.status, c->buf, len, rep, err);
	if (s != SA_OK) {
		rep->status = SA_EP_STATUS_DAEMON;
		return sa_error_wrap(err, s, "from %s", c->path);
	}
	if (rep->status != 0)
		return sa_error_set(err, rep->err_code, "%s: %s", name,
				    rep->err_msg[0] ? rep->err_msg : sa_ep_status_name(rep->status));
	return SA_OK;
}

/* A call whose reply status goes to *fw_status. */
static sa_status call_fw(sa_emu_client *c, const sa_ep_request *req, uint32_t *fw_status, sa_error *err)
{
	sa_status s = sa_emu_client_call(c, req, &c->rep, err);
	set_fw(fw_status, c->rep.status);
	return s;
}

static sa_status copy_blob(const sa_ep_reply *r, bool nul, uint8_t **out, size_t *len, sa_error *err)
{
	uint8_t *p = malloc(r->data_len + 1);
	SA_ENSURE(p, err, SA_ERR_NOMEM, "out of memory");
	if (r->data_len)
		memcpy(p, r->data, r->data_len);
	p[r->data_len] = 0;
	if (nul && memchr(p, 0, r->data_len)) {
		free(p);
		return sa_error_set(err, SA_ERR_FORMAT, "%s reply: PEM text contains a NUL byte",
				    sa_ep_cmd_name(r->cmd));
	}
	*out = p;
	if (len)
		*len = r->data_len;
	return SA_OK;
}

static sa_status copy_pem(const sa_ep_reply *r, char **pem, sa_error *err)
{
	uint8_t *p;
	SA_TRY(copy_blob(r, true, &p, NULL, err));
	*pem = (char *)p;
	return SA_OK;
}

sa_status sa_emu_client_status(sa_emu_client *c, sa_emu_status *st, uint32_t *pid, uint32_t *channels, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_STATUS};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	*st = c->rep.platform;
	if (pid)
		*pid = c->rep.pid;
	if (channels)
		*channels = c->rep.channels;
	return SA_OK;
}

sa_status sa_emu_client_export_root(sa_emu_client *c, char **pem, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_EXPORT_ROOT};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	return copy_pem(&c->rep, pem, err);
}

sa_status sa_emu_client_export_chain(sa_emu_client *c, bool vlek, char **pem, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_EXPORT_CHAIN, .vlek = vlek};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	return copy_pem(&c->rep, pem, err);
}

sa_status sa_emu_client_export_vek(sa_emu_client *c, bool vlek, uint8_t **der, size_t *len, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_EXPORT_VEK, .vlek = vlek};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	return copy_blob(&c->rep, false, der, len, err);
}

sa_status sa_emu_client_launch_start(sa_emu_client *c, uint64_t policy, uint32_t *handle, uint32_t *fw_status,
				     sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_LAUNCH_START, .policy = policy};
	SA_TRY(call_fw(c, &q, fw_status, err));
	*handle = c->rep.handle;
	return SA_OK;
}

sa_status sa_emu_client_launch_update(sa_emu_client *c, uint32_t handle, uint8_t page_type, uint64_t gpa,
				      const uint8_t *page, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_LAUNCH_UPDATE, .handle = handle, .page_type = page_type, .gpa = gpa,
			   .page = page};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_launch_finish(sa_emu_client *c, uint32_t handle, const uint8_t *id_block,
				      const uint8_t *id_auth, bool author_key_en, const uint8_t host_data[32],
				      uint8_t ld[48], char socket[SA_EP_PATH_MAX + 1], uint32_t *fw_status,
				      sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_LAUNCH_FINISH, .handle = handle, .id_block = id_block, .id_auth = id_auth,
			   .author_key_en = author_key_en};
	if (host_data)
		memcpy(q.host_data, host_data, sizeof(q.host_data));
	SA_TRY(call_fw(c, &q, fw_status, err));
	if (ld)
		memcpy(ld, c->rep.measurement, 48);
	if (socket)
		memcpy(socket, c->rep.socket, sizeof(c->rep.socket));
	return SA_OK;
}

sa_status sa_emu_client_set_ext_certs(sa_emu_client *c, uint32_t handle, const uint8_t *table, size_t len,
				      sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SET_EXT_CERTS, .handle = handle, .data = table, .data_len = table ? len : 0};
	return sa_emu_client_call(c, &q, &c->rep, err);
}

sa_status sa_emu_client_vm_list(sa_emu_client *c, sa_ep_vm_info **vms, size_t *n, uint32_t *total, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_VM_LIST};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	sa_ep_vm_info *v = calloc(c->rep.n_vms ? c->rep.n_vms : 1, sizeof(*v));
	SA_ENSURE(v, err, SA_ERR_NOMEM, "out of memory");
	if (c->rep.n_vms)
		memcpy(v, c->rep.vms, c->rep.n_vms * sizeof(*v));
	*vms = v;
	*n = c->rep.n_vms;
	if (total)
		*total = c->rep.vm_total;
	return SA_OK;
}

sa_status sa_emu_client_decommission(sa_emu_client *c, uint32_t handle, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_DECOMMISSION, .handle = handle};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_set_config(sa_emu_client *c, uint64_t reported_tcb, bool mask_chip_id, bool mask_chip_key,
				   uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SET_CONFIG, .tcb = reported_tcb, .mask_chip_id = mask_chip_id,
			   .mask_chip_key = mask_chip_key};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_update_firmware(sa_emu_client *c, uint64_t current_tcb, sa_fw_version fw,
					uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_UPDATE_FIRMWARE, .tcb = current_tcb, .fw = fw};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_commit(sa_emu_client *c, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_COMMIT};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_vlek_load(sa_emu_client *c, const char *csp_id, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_VLEK_LOAD};
	size_t n = csp_id ? strlen(csp_id) : 0;
	SA_ENSURE(n >= 1 && n <= SA_EP_CSP_ID_MAX, err, SA_ERR_ARG, "CSP id: %zu bytes, expected 1 to %d", n,
		  SA_EP_CSP_ID_MAX);
	memcpy(q.csp_id, csp_id, n + 1);
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_shutdown(sa_emu_client *c, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SHUTDOWN};
	return sa_emu_client_call(c, &q, &c->rep, err);
}

sa_status sa_emu_client_hello(sa_emu_client *c, uint32_t *handle, uint8_t page[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_HELLO};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	*handle = c->rep.handle;
	memcpy(page, c->rep.data, SA_SECRETS_PAGE_SIZE);
	OPENSSL_cleanse(c->buf, sizeof(c->buf));
	return SA_OK;
}

static sa_status take_guest_rsp(const sa_ep_reply *r, sa_emu_guest_rsp *out)
{
	out->fw_error = r->fw_error;
	out->vmm_error = r->vmm_error;
	out->pages_needed = r->pages_needed;
	out->msg_len = r->data_len;
	if (r->data_len)
		memcpy(out->msg, r->data, r->data_len);
	return SA_OK;
}

sa_status sa_emu_client_guest_request(sa_emu_client *c, const uint8_t *msg, size_t len, sa_emu_guest_rsp *out,
				      sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_GUEST_REQUEST, .data = msg, .data_len = len};
	memset(out, 0, sizeof(*out));
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	return take_guest_rsp(&c->rep, out);
}

sa_status sa_emu_client_ext_guest_request(sa_emu_client *c, uint32_t cert_pages, const uint8_t *msg, size_t len,
					  sa_emu_guest_rsp *out, uint8_t **certs, size_t *certs_len, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_EXT_GUEST_REQUEST, .cert_pages = cert_pages, .data = msg, .data_len = len};
	memset(out, 0, sizeof(*out));
	if (certs)
		*certs = NULL;
	if (certs_len)
		*certs_len = 0;
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	const sa_ep_reply *r = &c->rep;
	SA_ENSURE(r->certs_len <= (size_t)cert_pages * SA_EP_PAGE_SIZE, err, SA_ERR_FORMAT,
		  "EXT_GUEST_REQUEST reply from %s: a certificate table of %zu bytes for a buffer of %u pages", c->path,
		  r->certs_len, cert_pages);
	if (certs) {
		uint8_t *p = malloc(r->certs_len ? r->certs_len : 1);
		SA_ENSURE(p, err, SA_ERR_NOMEM, "out of memory");
		if (r->certs_len)
			memcpy(p, r->certs, r->certs_len);
		*certs = p;
		if (certs_len)
			*certs_len = r->certs_len;
	}
	return take_guest_rsp(r, out);
}

sa_status sa_emu_client_disable_vmpck(sa_emu_client *c, uint8_t vmpck_id, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_DISABLE_VMPCK, .vmpck_id = vmpck_id};
	return sa_emu_client_call(c, &q, &c->rep, err);
}

/* ---- SEV and SEV-ES (legacy) firmware ---------------------------------------------- */

static sa_status call_empty(sa_emu_client *c, uint16_t cmd, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = cmd};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_sev_status(sa_emu_client *c, sa_sev_platform_status *st, uint32_t *fw_status, sa_error *err)
{
	SA_TRY(call_empty(c, SA_EP_SEV_PLATFORM_STATUS, fw_status, err));
	*st = c->rep.sev_status;
	return SA_OK;
}

sa_status sa_emu_client_sev_factory_reset(sa_emu_client *c, uint32_t *fw_status, sa_error *err)
{
	return call_empty(c, SA_EP_SEV_FACTORY_RESET, fw_status, err);
}

sa_status sa_emu_client_sev_pek_gen(sa_emu_client *c, uint32_t *fw_status, sa_error *err)
{
	return call_empty(c, SA_EP_SEV_PEK_GEN, fw_status, err);
}

sa_status sa_emu_client_sev_pdh_gen(sa_emu_client *c, uint32_t *fw_status, sa_error *err)
{
	return call_empty(c, SA_EP_SEV_PDH_GEN, fw_status, err);
}

/*
 * The length probe: q sent with buffer length(s) 0 must be answered
 * INVALID_LENGTH; the lengths needed go to need[0] (and need[1] for
 * SEV_PDH_CERT_EXPORT).  Any other answer is the call's failure.
 */
static sa_status probe(sa_emu_client *c, sa_ep_request *q, uint32_t need[2], uint32_t *fw_status, sa_error *err)
{
	const char *name = sa_ep_cmd_name(q->cmd);
	q->buf_len = q->buf_len2 = 0;
	sa_status s = sa_emu_client_call(c, q, &c->rep, err);
	set_fw(fw_status, c->rep.status);
	if (s == SA_OK)
		return sa_error_set(err, SA_ERR_FORMAT, "%s reply from %s: success for a buffer of 0 bytes", name,
				    c->path);
	if (c->rep.status != SA_FW_INVALID_LENGTH)
		return s;
	need[0] = c->rep.needed;
	need[1] = c->rep.needed2;
	SA_ENSURE(need[0] > 0 && need[0] <= SA_EP_SEV_PROBE_MAX && need[1] <= SA_EP_SEV_PROBE_MAX, err, SA_ERR_FORMAT,
		  "%s reply from %s: lengths needed %u and %u, expected 1 to %u", name, c->path, need[0], need[1],
		  SA_EP_SEV_PROBE_MAX);
	return SA_OK;
}

static sa_status expect_len(const sa_emu_client *c, uint16_t cmd, const char *what, size_t got, size_t want,
			    sa_error *err)
{
	SA_ENSURE(got == want, err, SA_ERR_FORMAT, "%s reply from %s: %s of %zu bytes, expected %zu",
		  sa_ep_cmd_name(cmd), c->path, what, got, want);
	return SA_OK;
}

/* Probe, then fetch exactly want bytes into out. */
static sa_status probe_fetch(sa_emu_client *c, sa_ep_request *q, uint8_t *out, size_t want, uint32_t *fw_status,
			     sa_error *err)
{
	uint32_t need[2];
	SA_TRY(probe(c, q, need, fw_status, err));
	SA_TRY(expect_len(c, q->cmd, "length needed", need[0], want, err));
	q->buf_len = need[0];
	SA_TRY(call_fw(c, q, fw_status, err));
	SA_TRY(expect_len(c, q->cmd, "data", c->rep.data_len, want, err));
	memcpy(out, c->rep.data, want);
	return SA_OK;
}

sa_status sa_emu_client_sev_pek_csr(sa_emu_client *c, uint8_t csr[SA_EP_SEV_CERT_SIZE], uint32_t *fw_status,
				    sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_PEK_CSR};
	return probe_fetch(c, &q, csr, SA_EP_SEV_CERT_SIZE, fw_status, err);
}

sa_status sa_emu_client_sev_pek_cert_import(sa_emu_client *c, const uint8_t pek[SA_EP_SEV_CERT_SIZE],
					    const uint8_t oca[SA_EP_SEV_CERT_SIZE], uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_PEK_CERT_IMPORT, .cert1 = pek, .cert1_len = SA_EP_SEV_CERT_SIZE,
			   .cert2 = oca, .cert2_len = SA_EP_SEV_CERT_SIZE};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_sev_pdh_cert_export(sa_emu_client *c, uint8_t pdh[SA_EP_SEV_CERT_SIZE],
					    uint8_t chain[3 * SA_EP_SEV_CERT_SIZE], uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_PDH_CERT_EXPORT};
	uint32_t need[2];
	SA_TRY(probe(c, &q, need, fw_status, err));
	SA_TRY(expect_len(c, q.cmd, "PDH length needed", need[0], SA_EP_SEV_CERT_SIZE, err));
	SA_TRY(expect_len(c, q.cmd, "chain length needed", need[1], 3 * SA_EP_SEV_CERT_SIZE, err));
	q.buf_len = need[0];
	q.buf_len2 = need[1];
	SA_TRY(call_fw(c, &q, fw_status, err));
	SA_TRY(expect_len(c, q.cmd, "PDH", c->rep.data_len, SA_EP_SEV_CERT_SIZE, err));
	SA_TRY(expect_len(c, q.cmd, "chain", c->rep.certs_len, 3 * SA_EP_SEV_CERT_SIZE, err));
	memcpy(pdh, c->rep.data, SA_EP_SEV_CERT_SIZE);
	memcpy(chain, c->rep.certs, 3 * SA_EP_SEV_CERT_SIZE);
	return SA_OK;
}

sa_status sa_emu_client_sev_get_id(sa_emu_client *c, uint8_t **id, size_t *len, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_GET_ID};
	uint32_t need[2];
	*id = NULL;
	*len = 0;
	SA_TRY(probe(c, &q, need, fw_status, err));
	q.buf_len = need[0];
	SA_TRY(call_fw(c, &q, fw_status, err));
	SA_TRY(expect_len(c, q.cmd, "ID", c->rep.data_len, need[0], err));
	uint8_t *p = malloc(need[0]);
	SA_ENSURE(p, err, SA_ERR_NOMEM, "out of memory");
	memcpy(p, c->rep.data, need[0]);
	*id = p;
	*len = need[0];
	return SA_OK;
}

sa_status sa_emu_client_sev_export_amd(sa_emu_client *c, uint8_t *ark, size_t *ark_len, uint8_t *ask,
				       size_t *ask_len, uint8_t cek[SA_EP_SEV_CERT_SIZE], sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_EXPORT_AMD};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	memcpy(ark, c->rep.data, c->rep.data_len);
	*ark_len = c->rep.data_len;
	memcpy(ask, c->rep.certs, c->rep.certs_len);
	*ask_len = c->rep.certs_len;
	memcpy(cek, c->rep.cek, SA_EP_SEV_CERT_SIZE);
	return SA_OK;
}

sa_status sa_emu_client_sev_launch_start(sa_emu_client *c, uint32_t policy, const uint8_t *godh, size_t godh_len,
					 const uint8_t *session, size_t session_len, uint32_t *handle,
					 uint32_t *fw_status, sa_error *err)
{
	SA_ENSURE(!godh == !session, err, SA_ERR_ARG,
		  "SEV_LAUNCH_START: the GODH certificate and the session go together (or neither)");
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_START, .sev_policy = policy, .cert1 = godh,
			   .cert1_len = godh ? godh_len : 0, .cert2 = session, .cert2_len = session ? session_len : 0};
	SA_ENSURE(!godh || (godh_len > 0 && session_len > 0), err, SA_ERR_ARG,
		  "SEV_LAUNCH_START: an empty GODH certificate or session");
	SA_TRY(call_fw(c, &q, fw_status, err));
	*handle = c->rep.handle;
	return SA_OK;
}

sa_status sa_emu_client_sev_launch_update_data(sa_emu_client *c, uint32_t handle, const uint8_t *data, size_t len,
					       uint32_t *fw_status, sa_error *err)
{
	_Static_assert(SA_EP_SEV_DATA_CHUNK % 16 == 0, "chunks are whole 16-byte blocks");
	SA_ENSURE(data && len > 0 && len % 16 == 0, err, SA_ERR_ARG,
		  "SEV_LAUNCH_UPDATE_DATA: %zu bytes, expected a non-zero multiple of 16", len);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < SA_EP_SEV_DATA_CHUNK ? len - off : SA_EP_SEV_DATA_CHUNK;
		sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_UPDATE_DATA, .handle = handle, .data = data + off,
				   .data_len = n};
		sa_status s = call_fw(c, &q, fw_status, err);
		if (s != SA_OK)
			return off ? sa_error_wrap(err, s, "after %zu of %zu bytes", off, len) : s;
		off += n;
	}
	return SA_OK;
}

sa_status sa_emu_client_sev_launch_update_vmsa(sa_emu_client *c, uint32_t handle,
					       const uint8_t vmsa[SA_EP_SEV_VMSA_SIZE], uint32_t *fw_status,
					       sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_UPDATE_VMSA, .handle = handle, .vmsa = vmsa};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_sev_launch_measure(sa_emu_client *c, uint32_t handle, uint8_t blob[SA_SEV_MEASURE_BLOB_SIZE],
					   uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_MEASURE, .handle = handle};
	return probe_fetch(c, &q, blob, SA_SEV_MEASURE_BLOB_SIZE, fw_status, err);
}

sa_status sa_emu_client_sev_launch_secret(sa_emu_client *c, uint32_t handle,
					  const uint8_t hdr[SA_EP_SEV_SECRET_HDR_SIZE], const uint8_t *ct, size_t len,
					  uint64_t gpa, uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_SECRET, .handle = handle, .secret_hdr = hdr, .data = ct,
			   .data_len = ct ? len : 0, .gpa = gpa};
	return call_fw(c, &q, fw_status, err);
}

sa_status sa_emu_client_sev_launch_finish(sa_emu_client *c, uint32_t handle, char *qmp_path, size_t cap,
					  uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_FINISH, .handle = handle};
	SA_TRY(call_fw(c, &q, fw_status, err));
	if (qmp_path) {
		size_t n = strlen(c->rep.qmp);
		SA_ENSURE(n < cap, err, SA_ERR_RANGE, "SEV_LAUNCH_FINISH: the QMP socket path needs %zu bytes, %zu given",
			  n + 1, cap);
		memcpy(qmp_path, c->rep.qmp, n + 1);
	}
	return SA_OK;
}

sa_status sa_emu_client_sev_attestation(sa_emu_client *c, uint32_t handle, const uint8_t mnonce[16],
					uint8_t report[SA_SEV_REPORT_SIZE], uint32_t *fw_status, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_ATTESTATION, .handle = handle};
	memcpy(q.mnonce, mnonce, sizeof(q.mnonce));
	return probe_fetch(c, &q, report, SA_SEV_REPORT_SIZE, fw_status, err);
}

sa_status sa_emu_client_sev_guest_info(sa_emu_client *c, uint32_t handle, sa_emu_sev_guest_info *out, sa_error *err)
{
	sa_ep_request q = {.cmd = SA_EP_SEV_GUEST_INFO, .handle = handle};
	SA_TRY(sa_emu_client_call(c, &q, &c->rep, err));
	SA_ENSURE(c->rep.sev_guest.handle == handle, err, SA_ERR_FORMAT,
		  "SEV_GUEST_INFO reply from %s: handle %u, expected %u", c->path, c->rep.sev_guest.handle, handle);
	*out = c->rep.sev_guest;
	return SA_OK;
}
