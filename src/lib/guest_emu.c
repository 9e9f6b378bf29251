/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest library's emu backend: the guest channel of one VM of
 * sevattest-emu, driven with the Linux sev-guest driver's semantics.
 *
 * The guest holds VMPCKn (from its secrets page, handed out by HELLO) and its
 * sequence counter, seals every request itself (guest_msg.h) and hands the
 * sealed message to the hypervisor relay, which may be hostile.  So:
 *
 *  - a BUSY answer is retried with the same sealed message, within a bound;
 *  - an extended request answered "certificate buffer too small" (VMM error
 *    INVALID_LEN) is re-sent, the same message, as a plain request so that
 *    the PSP consumes its sequence number; its response is opened; then a
 *    fresh extended request asks again with the buffer the host named (once);
 *  - anything else that goes wrong once a request is sealed (a transport
 *    error, a firmware or VMM error, no response, a response that fails the
 *    header checks or authentication) wipes the VMPCK and disables it, here
 *    and in the VM's secrets page (DISABLE_VMPCK), because continuing could
 *    make AES-GCM reuse an IV: the failed message's sequence number may or may
 *    not have been consumed by the PSP, and there is no way to know which.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sevattest/bytes.h"
#include "sevattest/emu_client.h"
#include "sevattest/guest_msg.h"

#include "guest_internal.h"
#include "internal.h"

/* Certificate buffer offered first (pages); grown once to what the host asks for. */
#define EMU_CERT_PAGES_DEFAULT 4

struct emu_guest {
	sa_emu_client *c;
	sa_gmsg_channel ch;
	uint32_t handle;
	uint32_t cert_pages;
	uint8_t req[SA_GMSG_PAGE_SIZE];
	size_t req_len;
	sa_emu_guest_rsp rsp;
	uint8_t payload[SA_GMSG_MAX_PAYLOAD];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool disable_in_secrets_page(sa_guest *g, struct emu_guest *e);

static const char *told_text(bool told)
{
	return told ? ", and zeroed in the VM's secrets page"
		    : ", but the host could not be told to zero it in the VM's secrets page";
}

/*
 * The request in flight failed: wipe the key and disable the channel (unless
 * sa_gmsg_channel_response already did), tell the daemon to zero the VMPCK in
 * the secrets page (best effort: the connection may be what failed), and
 * return code with a message that says what happened and what it cost.
 */
static sa_status disable(sa_guest *g, struct emu_guest *e, sa_status code, sa_error *err, const char *fmt, ...)
	SA_PRINTF(5, 6);

static sa_status disable(sa_guest *g, struct emu_guest *e, sa_status code, sa_error *err, const char *fmt, ...)
{
	char why[SA_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!e->ch.disabled)
		sa_gmsg_channel_fail(&e->ch, why);
	bool told = disable_in_secrets_page(g, e);
	OPENSSL_cleanse(e->req, sizeof(e->req));
	return sa_error_set(err, code, "%s; VMPCK%u is wiped and disabled%s", why, e->ch.vmpck_id, told_text(told));
}

/* Send the sealed message (plain or extended), retrying BUSY answers within the bound. */
static sa_status send_sealed(sa_guest *g, struct emu_guest *e, bool ext, uint32_t pages, uint8_t **certs,
			     size_t *certs_len, sa_error *err)
{
	int64_t start = mono_ms();
	for (;;) {
		sa_status s;
		if (certs) {
			free(*certs);
			*certs = NULL;
		}
		if (ext)
			s = sa_emu_client_ext_guest_request(e->c, pages, e->req, e->req_len, &e->rsp, certs, certs_len,
							    err);
		else
			s = sa_emu_client_guest_request(e->c, e->req, e->req_len, &e->rsp, err);
		if (s != SA_OK)
			return s;
		g->last_fw_error = e->rsp.fw_error;
		g->last_vmm_error = e->rsp.vmm_error;
		if (e->rsp.vmm_error != SA_VMM_ERR_BUSY)
			return SA_OK;
		int64_t spent = mono_ms() - start;
		SA_ENSURE(spent < (int64_t)g->busy_timeout_ms, err, SA_ERR_IO,
			  "the host answered BUSY (VMM error %u) for %lld ms, the bound is %u ms", SA_VMM_ERR_BUSY,
			  (long long)spent, g->busy_timeout_ms);
		int64_t left = (int64_t)g->busy_timeout_ms - spent;
		sa_guest_sleep_ms(left < (int64_t)g->busy_interval_ms ? (unsigned)left : g->busy_interval_ms);
	}
}

/* SW_EXITINFO2 of an answered request, and whether a response came with it. */
static sa_status check_exit(sa_guest *g, struct emu_guest *e, const char *what, sa_error *err)
{
	const sa_emu_guest_rsp *r = &e->rsp;
	if (r->fw_error || r->vmm_error)
		return disable(g, e, SA_ERR_IO, err,
			       "%s: the host returned firmware error 0x%x (%s) and VMM error %u%s", what, r->fw_error,
			       r->fw_error ? sa_fw_status_name(r->fw_error) : "none", r->vmm_error,
			       r->vmm_error == SA_VMM_ERR_INVALID_LEN ? " (INVALID_LEN)" : "");
	if (r->msg_len == 0)
		return disable(g, e, SA_ERR_FORMAT, err,
			       "%s: the host reported success but returned no response message", what);
	return SA_OK;
}

/*
 * Tell the daemon the VMPCK is gone, so that it zeroes it in the secrets page
 * it keeps for the guest (on hardware the guest wipes its own memory, which
 * no host can prevent; here the page lives in the daemon).  When the
 * connection is what failed, once more on a fresh one.  Should that fail too,
 * this process has still wiped its copy, but a later guest process would get
 * the key back with the last sequence number the daemon saw: the error says so.
 */
static bool disable_in_secrets_page(sa_guest *g, struct emu_guest *e)
{
	sa_error e2;
	if (sa_emu_client_disable_vmpck(e->c, e->ch.vmpck_id, &e2) == SA_OK)
		return true;
	sa_emu_client *fresh;
	if (sa_emu_client_connect(g->emu_socket, 2000, &fresh, &e2) != SA_OK)
		return false;
	bool ok = sa_emu_client_disable_vmpck(fresh, e->ch.vmpck_id, &e2) == SA_OK;
	sa_emu_client_close(fresh);
	return ok;
}

/* Check and open the response to the pending request (the channel disables itself on failure). */
static sa_status open_response(sa_guest *g, struct emu_guest *e, const char *what, size_t *len, sa_error *err)
{
	sa_status s = sa_gmsg_channel_response(&e->ch, e->rsp.msg, e->rsp.msg_len, e->payload, sizeof(e->payload), len,
					       err);
	if (s == SA_OK)
		return SA_OK;
	if (!e->ch.disabled)
		sa_gmsg_channel_fail(&e->ch, err ? err->msg : "the response was refused");
	bool told = disable_in_secrets_page(g, e);
	if (!err)
		return s;
	char why[SA_ERROR_MSG_MAX];
	snprintf(why, sizeof(why), "%s", err->msg);
	return sa_error_set(err, s, "%s: %s%s", what, why, told_text(told));
}

/*
 * One request of type with payload, its response payload into e->payload.
 * With ext, an extended request whose certificate table lands in *certs.
 */
static sa_status exchange(sa_guest *g, struct emu_guest *e, uint8_t type, uint8_t version, const uint8_t *payload,
			  size_t plen, bool ext, uint8_t **certs, size_t *certs_len, size_t *rsp_len, sa_error *err)
{
	const char *what = sa_gmsg_type_name(type);
	SA_ENSURE(!e->ch.disabled, err, SA_ERR_STATE, "VMPCK%u is disabled: %s", e->ch.vmpck_id,
		  e->ch.disabled_reason[0] ? e->ch.disabled_reason : "wiped after an earlier failure");
	uint32_t pages = e->cert_pages;
	bool grown = false;
	for (;;) {
		SA_TRY(sa_gmsg_channel_request(&e->ch, type, version, payload, plen, e->req, sizeof(e->req),
					       &e->req_len, err));
		/* From here on the sequence number is spoken for: every failure disables the VMPCK. */
		sa_error e2;
		if (send_sealed(g, e, ext, pages, certs, certs_len, &e2) != SA_OK)
			return disable(g, e, e2.code, err, "%s: %s", what, e2.msg);
		if (!(ext && e->rsp.vmm_error == SA_VMM_ERR_INVALID_LEN))
			break;

		/* Certificate buffer too small: no firmware call happened.  The same
		 * message goes again as a plain request so the PSP consumes its
		 * sequence number (otherwise the next request would reuse the IV). */
		uint32_t need = e->rsp.pages_needed;
		if (send_sealed(g, e, false, 0, NULL, NULL, &e2) != SA_OK)
			return disable(g, e, e2.code, err, "%s (re-sent after INVALID_LEN): %s", what, e2.msg);
		SA_TRY(check_exit(g, e, what, err));
		size_t ignored;
		SA_TRY(open_response(g, e, what, &ignored, err));
		OPENSSL_cleanse(e->payload, sizeof(e->payload));
		SA_ENSURE(!grown && need > pages && need <= SA_EP_MAX_CERT_PAGES, err, SA_ERR_RANGE,
			  "%s: the host's certificate table needs %u pages (offered %u%s, at most %d supported)", what,
			  need, pages, grown ? ", already grown once" : "", SA_EP_MAX_CERT_PAGES);
		pages = need;
		e->cert_pages = need;
		grown = true;
	}
	SA_TRY(check_exit(g, e, what, err));
	return open_response(g, e, what, rsp_len, err);
}

static sa_status emu_report(sa_guest *g, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE],
			    uint8_t **certs, size_t *certs_len, sa_error *err)
{
	struct emu_guest *e = g->impl;
	uint8_t p[SA_REPORT_REQ_SIZE];
	SA_TRY(sa_report_req_encode(req, p, err));
	uint8_t *table = NULL;
	size_t table_len = 0, len;
	sa_status s = exchange(g, e, SA_MSG_REPORT_REQ, 1, p, sizeof(p), certs != NULL, certs ? &table : NULL,
			       &table_len, &len, err);
	if (s != SA_OK) {
		free(table);
		return s;
	}
	sa_report_rsp rsp;
	s = sa_report_rsp_decode(e->payload, len, &rsp, err);
	if (s != SA_OK) {
		s = sa_error_wrap(err, s, "MSG_REPORT_RSP");
	} else if (rsp.status != SA_FW_SUCCESS) {
		s = sa_error_set(err, rsp.status == SA_FW_INVALID_PARAM ? SA_ERR_ARG : SA_ERR_STATE,
				 "MSG_REPORT_RSP: STATUS 0x%x (%s): the firmware refused the report request (VMPL %u, "
				 "key selection %u)%s",
				 rsp.status, sa_fw_status_name(rsp.status), req->vmpl, req->key_sel,
				 req->vmpl < e->ch.vmpck_id ? "; a request through VMPCKn may ask for VMPL n or above"
							    : "");
	} else if (rsp.report_size != SA_SNP_REPORT_SIZE) {
		s = sa_error_set(err, SA_ERR_FORMAT, "MSG_REPORT_RSP: REPORT_SIZE 0x%x, expected 0x%x", rsp.report_size,
				 SA_SNP_REPORT_SIZE);
	}
	if (s != SA_OK) {
		free(table);
		return s;
	}
	memcpy(report, rsp.report, SA_SNP_REPORT_SIZE);
	if (certs) {
		*certs = table;
		*certs_len = table_len;
	}
	return SA_OK;
}

static sa_status emu_derived_key(sa_guest *g, const sa_key_req *req, uint8_t key[32], sa_error *err)
{
	struct emu_guest *e = g->impl;
	uint8_t p[SA_KEY_REQ_SIZE_MIT];
	size_t plen, len;
	SA_TRY(sa_key_req_encode(req, p, sizeof(p), &plen, err));
	/* MSG_VERSION 2 is the request with LAUNCH_MIT_VECTOR (0x28 bytes). */
	SA_TRY(exchange(g, e, SA_MSG_KEY_REQ, plen == SA_KEY_REQ_SIZE_MIT ? 2 : 1, p, plen, false, NULL, NULL, &len,
			err));
	sa_key_rsp rsp;
	sa_status s = sa_key_rsp_decode(e->payload, len, &rsp, err);
	OPENSSL_cleanse(e->payload, sizeof(e->payload));
	if (s != SA_OK)
		return sa_error_wrap(err, s, "MSG_KEY_RSP");
	if (rsp.status != SA_FW_SUCCESS) {
		OPENSSL_cleanse(&rsp, sizeof(rsp));
		return sa_error_set(err, rsp.status == SA_FW_INVALID_PARAM ? SA_ERR_ARG : SA_ERR_STATE,
				    "MSG_KEY_RSP: STATUS 0x%x (%s): the firmware refused the key request", rsp.status,
				    sa_fw_status_name(rsp.status));
	}
	memcpy(key, rsp.derived_key, 32);
	OPENSSL_cleanse(&rsp, sizeof(rsp));
	return SA_OK;
}

static void emu_close(sa_guest *g)
{
	struct emu_guest *e = g->impl;
	if (!e)
		return;
	sa_gmsg_channel_wipe(&e->ch);
	sa_emu_client_close(e->c);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	g->impl = NULL;
}

static const struct sa_guest_ops emu_ops = {
	.report = emu_report,
	.derived_key = emu_derived_key,
	.close = emu_close,
};

/* msg_seqno_N: u32 at 4N in the secrets page's guest-OS area. */
static sa_status take_vmpck(const uint8_t page[SA_SECRETS_PAGE_SIZE], uint8_t id, uint32_t handle,
			    sa_gmsg_channel *ch, sa_error *err)
{
	sa_secrets_page sp;
	sa_status s = sa_secrets_page_decode(page, SA_SECRETS_PAGE_SIZE, &sp, err);
	if (s != SA_OK)
		return sa_error_wrap(err, s, "secrets page of VM %u", handle);
	sa_reader r;
	uint32_t seqno = 0;
	sa_reader_init(&r, sp.guest_os_area, sizeof(sp.guest_os_area));
	s = sa_read_skip(&r, 4u * id, "guest-OS area", err);
	if (s == SA_OK)
		s = sa_read_u32(&r, &seqno, "msg_seqno", err);
	if (s == SA_OK && sa_all_zero(sp.vmpck[id], SA_VMPCK_LEN))
		s = sa_error_set(err, SA_ERR_STATE,
				 "VMPCK%u of VM %u is disabled: the guest wiped it after an earlier failure (it is "
				 "zero in the secrets page); use another --vmpck or launch a new VM",
				 id, handle);
	if (s == SA_OK)
		s = sa_gmsg_channel_init(ch, sp.vmpck[id], id, seqno, err);
	sa_secrets_page_wipe(&sp);
	OPENSSL_cleanse(&sp, sizeof(sp));
	return s;
}

sa_status sa_guest_open_emu(sa_guest *g, sa_error *err)
{
	g->impl = NULL;
	SA_ENSURE(g->emu_socket && *g->emu_socket, err, SA_ERR_ARG,
		  "emu backend: no guest channel socket given (--backend emu:SOCKET)");
	SA_ENSURE(g->vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_ARG, "VMPCK id %u: expected 0 to %d", g->vmpck_id,
		  SA_VMPCK_COUNT - 1);
	struct emu_guest *e = calloc(1, sizeof(*e));
	SA_ENSURE(e, err, SA_ERR_NOMEM, "out of memory");
	e->cert_pages = EMU_CERT_PAGES_DEFAULT;
	uint8_t page[SA_SECRETS_PAGE_SIZE];
	/* HELLO waits while another guest process holds the VM's channel. */
	unsigned wait = g->busy_timeout_ms > SA_EMU_CLIENT_TIMEOUT_MS ? g->busy_timeout_ms : SA_EMU_CLIENT_TIMEOUT_MS;
	sa_status s = sa_emu_client_connect(g->emu_socket, SA_EMU_CLIENT_TIMEOUT_MS, &e->c, err);
	if (s == SA_OK) {
		sa_emu_client_set_timeout(e->c, (int)wait);
		s = sa_emu_client_hello(e->c, &e->handle, page, err);
		if (s == SA_ERR_IO && err && strstr(err->msg, "timed out"))
			sa_error_wrap(err, s, "the VM's guest channel is still held by another guest process after "
				      "%u ms", wait);
		sa_emu_client_set_timeout(e->c, SA_EMU_CLIENT_TIMEOUT_MS);
	}
	if (s == SA_OK)
		s = take_vmpck(page, g->vmpck_id, e->handle, &e->ch, err);
	OPENSSL_cleanse(page, sizeof(page));
	if (s != SA_OK) {
		sa_emu_client_close(e->c);
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
		return s;
	}
	g->ops = &emu_ops;
	g->impl = e;
	return SA_OK;
}
