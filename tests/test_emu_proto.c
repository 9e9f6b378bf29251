/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest-emu's wire protocol (emu_proto.h): every command's request and
 * reply round-trips byte for byte, every truncation and every extra byte is
 * refused with the right code, malformed fields are named, frames out of
 * bounds are refused, and the blocking I/O copes with partial transfers,
 * timeouts and closed peers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sevattest/emu_proto.h"
#include "testutil.h"

static uint8_t page[SA_EP_PAGE_SIZE], id_block[SA_EP_ID_BLOCK_SIZE], id_auth[SA_EP_ID_AUTH_SIZE];
static uint8_t blob[SA_EP_MAX_CERTS];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int setup(void **state)
{
	(void)state;
	fill(page, sizeof(page), 1);
	fill(id_block, sizeof(id_block), 2);
	fill(id_auth, sizeof(id_auth), 3);
	fill(blob, sizeof(blob), 4);
	return 0;
}

/* One or more sample requests for cmd (variants with and without optional parts). */
static size_t sample_requests(uint16_t cmd, sa_ep_request out[3])
{
	memset(out, 0, 3 * sizeof(out[0]));
	for (int i = 0; i < 3; i++)
		out[i].cmd = cmd;
	switch (cmd) {
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK: out[1].vlek = true; return 2;
	case SA_EP_LAUNCH_START: out[0].policy = 0x30000; out[1].policy = UINT64_MAX; return 2;
	case SA_EP_LAUNCH_UPDATE:
		out[0].handle = 7;
		out[0].page_type = 1;
		out[0].gpa = 0x100000;
		out[0].page = page;
		out[1].handle = 0xFFFFFFFF;
		out[1].page_type = 3;
		out[1].gpa = 0xFFFFFFFFF000ull;
		return 2;
	case SA_EP_LAUNCH_FINISH:
		out[0].handle = 3;
		fill(out[0].host_data, 32, 9);
		out[1] = out[0];
		out[1].id_block = id_block;
		out[1].id_auth = id_auth;
		out[1].author_key_en = true;
		return 2;
	case SA_EP_SET_EXT_CERTS:
		out[0].handle = 0;
		out[1].handle = 5;
		out[1].data = blob;
		out[1].data_len = 3000;
		out[2].handle = 5;
		out[2].data = blob;
		out[2].data_len = SA_EP_MAX_CERTS;
		return 3;
	case SA_EP_DECOMMISSION: out[0].handle = 42; return 1;
	case SA_EP_SET_CONFIG:
		out[0].tcb = 0xdb18000000000004ull;
		out[1].tcb = 1;
		out[1].mask_chip_id = true;
		out[1].mask_chip_key = true;
		return 2;
	case SA_EP_UPDATE_FIRMWARE:
		out[0].tcb = 0xdb18000000000004ull;
		out[0].fw = (sa_fw_version){.major = 1, .minor = 55, .build = 29};
		return 1;
	case SA_EP_VLEK_LOAD:
		strcpy(out[0].csp_id, "acme-cloud");
		memset(out[1].csp_id, 'x', SA_EP_CSP_ID_MAX);
		return 2;
	case SA_EP_GUEST_REQUEST:
		out[0].data = blob;
		out[0].data_len = 0x60 + 0x60;
		out[1].data = blob;
		out[1].data_len = SA_GMSG_PAGE_SIZE;
		return 2;
	case SA_EP_EXT_GUEST_REQUEST:
		out[0].cert_pages = 4;
		out[0].data = blob;
		out[0].data_len = 0xC0;
		out[1].cert_pages = SA_EP_MAX_CERT_PAGES;
		out[1].data = blob;
		out[1].data_len = 0;
		return 2;
	case SA_EP_DISABLE_VMPCK: out[0].vmpck_id = 0; out[1].vmpck_id = 3; return 2;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID: out[0].buf_len = 0; out[1].buf_len = SA_EP_SEV_PROBE_MAX; return 2;
	case SA_EP_SEV_PEK_CERT_IMPORT:
		out[0].cert1 = blob;
		out[0].cert1_len = SA_EP_SEV_CERT_SIZE;
		out[0].cert2 = blob + 7;
		out[0].cert2_len = SA_EP_SEV_CERT_SIZE;
		out[1].cert1 = blob;
		out[1].cert1_len = SA_EP_SEV_CERT_MAX;
		return 2; /* out[1]: an empty OCA, for the firmware to refuse */
	case SA_EP_SEV_PDH_CERT_EXPORT:
		out[1].buf_len = SA_EP_SEV_CERT_SIZE;
		out[1].buf_len2 = SA_EP_SEV_PROBE_MAX;
		return 2;
	case SA_EP_SEV_LAUNCH_START:
		out[0].sev_policy = 0x5;
		out[1].sev_policy = 0xFFFFFFFF;
		out[1].cert1 = blob;
		out[1].cert1_len = SA_EP_SEV_CERT_SIZE;
		out[1].cert2 = blob + 1;
		out[1].cert2_len = 0x80;
		return 2;
	case SA_EP_SEV_LAUNCH_UPDATE_DATA:
		out[0].handle = 3;
		out[0].data = blob;
		out[0].data_len = 16;
		out[1].handle = 4;
		out[1].data = blob;
		out[1].data_len = SA_EP_SEV_DATA_CHUNK;
		return 2;
	case SA_EP_SEV_LAUNCH_UPDATE_VMSA: out[0].handle = 9; out[0].vmsa = page; return 1;
	case SA_EP_SEV_LAUNCH_MEASURE: out[0].handle = 9; out[0].buf_len = 0x30; return 1;
	case SA_EP_SEV_LAUNCH_SECRET:
		out[0].handle = 9;
		out[0].secret_hdr = id_block;
		out[0].data = blob;
		out[0].data_len = 64;
		out[0].gpa = 0x820000;
		out[1].handle = 10;
		out[1].secret_hdr = id_auth;
		out[1].data = blob;
		out[1].data_len = SA_EP_SEV_SECRET_MAX;
		out[1].gpa = UINT64_MAX;
		return 2;
	case SA_EP_SEV_LAUNCH_FINISH:
	case SA_EP_SEV_GUEST_INFO: out[0].handle = 12; return 1;
	case SA_EP_SEV_ATTESTATION:
		out[0].handle = 12;
		fill(out[0].mnonce, 16, 3);
		out[0].buf_len = SA_SEV_REPORT_SIZE;
		return 1;
	}
	return 1; /* the commands without a body */
}

static void assert_request_equal(const sa_ep_request *a, const sa_ep_request *b)
{
	assert_int_equal(a->cmd, b->cmd);
	assert_int_equal(a->handle, b->handle);
	assert_int_equal(a->vlek, b->vlek);
	assert_true(a->policy == b->policy);
	assert_int_equal(a->page_type, b->page_type);
	assert_true(a->gpa == b->gpa);
	assert_int_equal(!a->page, !b->page);
	if (a->page)
		assert_memory_equal(a->page, b->page, SA_EP_PAGE_SIZE);
	assert_memory_equal(a->host_data, b->host_data, 32);
	assert_int_equal(a->author_key_en, b->author_key_en);
	assert_int_equal(!a->id_block, !b->id_block);
	if (a->id_block) {
		assert_memory_equal(a->id_block, b->id_block, SA_EP_ID_BLOCK_SIZE);
		assert_memory_equal(a->id_auth, b->id_auth, SA_EP_ID_AUTH_SIZE);
	}
	assert_int_equal(a->data_len, b->data_len);
	if (a->data_len)
		assert_memory_equal(a->data, b->data, a->data_len);
	assert_true(a->tcb == b->tcb);
	assert_int_equal(a->mask_chip_id, b->mask_chip_id);
	assert_int_equal(a->mask_chip_key, b->mask_chip_key);
	assert_memory_equal(&a->fw, &b->fw, sizeof(a->fw));
	assert_string_equal(a->csp_id, b->csp_id);
	assert_int_equal(a->cert_pages, b->cert_pages);
	assert_int_equal(a->vmpck_id, b->vmpck_id);
	assert_int_equal(a->buf_len, b->buf_len);
	assert_int_equal(a->buf_len2, b->buf_len2);
	assert_int_equal(a->sev_policy, b->sev_policy);
	assert_int_equal(a->cert1_len, b->cert1_len);
	assert_int_equal(!a->cert1, !b->cert1);
	if (a->cert1_len)
		assert_memory_equal(a->cert1, b->cert1, a->cert1_len);
	assert_int_equal(a->cert2_len, b->cert2_len);
	if (a->cert2_len)
		assert_memory_equal(a->cert2, b->cert2, a->cert2_len);
	assert_int_equal(!a->vmsa, !b->vmsa);
	if (a->vmsa)
		assert_memory_equal(a->vmsa, b->vmsa, SA_EP_SEV_VMSA_SIZE);
	assert_int_equal(!a->secret_hdr, !b->secret_hdr);
	if (a->secret_hdr)
		assert_memory_equal(a->secret_hdr, b->secret_hdr, SA_EP_SEV_SECRET_HDR_SIZE);
	assert_memory_equal(a->mnonce, b->mnonce, 16);
}

static uint8_t enc[SA_EP_MAX_PAYLOAD + 1], enc2[SA_EP_MAX_PAYLOAD];

static void requests_round_trip_and_refuse_every_truncation(void **state)
{
	(void)state;
	size_t n_cmds;
	const uint16_t *cmds = sa_ep_commands(&n_cmds);
	assert_int_equal(n_cmds, 36);
	for (size_t c = 0; c < n_cmds; c++) {
		sa_ep_request rq[3];
		size_t n = sample_requests(cmds[c], rq);
		for (size_t v = 0; v < n; v++) {
			size_t len, len2;
			sa_error err;
			assert_int_equal(sa_ep_request_encode(&rq[v], enc, SA_EP_MAX_PAYLOAD, &len, &err), SA_OK);
			sa_ep_request back;
			assert_int_equal(sa_ep_request_decode(cmds[c], enc, len, &back, &err), SA_OK);
			assert_request_equal(&rq[v], &back);
			assert_int_equal(sa_ep_request_encode(&back, enc2, sizeof(enc2), &len2, &err), SA_OK);
			assert_int_equal(len, len2);
			assert_memory_equal(enc, enc2, len);
			/* Every prefix is truncated; one more byte is trailing. */
			for (size_t k = 0; k < len; k++) {
				sa_status s = sa_ep_request_decode(cmds[c], enc, k, &back, &err);
				assert_int_equal(s, SA_ERR_TRUNCATED);
				assert_non_null(strstr(err.msg, sa_ep_cmd_name(cmds[c])));
				assert_int_equal(sa_ep_decode_status(cmds[c], s), SA_FW_INVALID_LENGTH);
			}
			enc[len] = 0;
			assert_int_equal(sa_ep_request_decode(cmds[c], enc, len + 1, &back, &err), SA_ERR_TRAILING);
			assert_non_null(strstr(err.msg, "trailing"));
			/* An encoder with too little room refuses too. */
			if (len)
				assert_int_equal(sa_ep_request_encode(&rq[v], enc2, len - 1, &len2, &err),
						 SA_ERR_RANGE);
		}
	}
}

static void sample_reply(uint16_t cmd, sa_ep_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
	switch (cmd) {
	case SA_EP_STATUS:
		r->platform.product = SA_PRODUCT_TURIN;
		fill(r->platform.chip_id, 64, 5);
		r->platform.current_tcb = 1;
		r->platform.reported_tcb = 2;
		r->platform.committed_tcb = 3;
		r->platform.current = (sa_fw_version){1, 55, 29};
		r->platform.committed = (sa_fw_version){1, 55, 28};
		r->platform.guest_count = 9;
		r->platform.mask_chip_key = true;
		r->platform.vlek_loaded = true;
		r->pid = 1234;
		r->channels = 3;
		break;
	case SA_EP_EXPORT_ROOT:
	case SA_EP_EXPORT_CHAIN:
	case SA_EP_EXPORT_VEK:
		r->data = blob;
		r->data_len = 2900;
		break;
	case SA_EP_LAUNCH_START: r->handle = 77; break;
	case SA_EP_LAUNCH_FINISH:
		r->handle = 77;
		fill(r->measurement, 48, 6);
		strcpy(r->socket, "/tmp/x/run/vm-77.sock");
		break;
	case SA_EP_VM_LIST:
		r->vm_total = 70;
		r->n_vms = SA_EP_MAX_VMS;
		for (size_t i = 0; i < r->n_vms; i++) {
			r->vms[i].handle = (uint32_t)i + 1;
			r->vms[i].busy = i % 2;
			fill(r->vms[i].measurement, 48, (unsigned)i);
			memset(r->vms[i].qmp, 'A' + (int)(i % 26), SA_EP_PATH_MAX);
			if (i % 3 == 2) {
				/* an SEV guest: no guest channel, a 32-byte digest */
				r->vms[i].sev = true;
				r->vms[i].busy = false;
				memset(r->vms[i].measurement + 32, 0, 16);
				continue;
			}
			memset(r->vms[i].socket, 'a' + (int)(i % 26), SA_EP_PATH_MAX);
		}
		break;
	case SA_EP_SEV_PLATFORM_STATUS:
		r->sev_status = (sa_sev_platform_status){.api_major = 0, .api_minor = 24, .state = SA_SEV_STATE_WORKING,
							 .owner_external = true, .config_es = true, .flags = 0x101,
							 .build = 17, .guest_count = 3};
		break;
	case SA_EP_SEV_PEK_CSR:
	case SA_EP_SEV_GET_ID:
	case SA_EP_SEV_LAUNCH_MEASURE:
	case SA_EP_SEV_ATTESTATION:
		r->data = blob;
		r->data_len = SA_EP_SEV_PROBE_MAX;
		break;
	case SA_EP_SEV_PDH_CERT_EXPORT:
		r->data = blob;
		r->data_len = SA_EP_SEV_CERT_SIZE;
		r->certs = blob + 5;
		r->certs_len = 3 * SA_EP_SEV_CERT_SIZE;
		break;
	case SA_EP_SEV_EXPORT_AMD:
		r->data = blob;
		r->data_len = SA_AMD_CERT_MAX;
		r->certs = blob + 3;
		r->certs_len = 0x340;
		r->cek = page;
		break;
	case SA_EP_SEV_LAUNCH_START: r->handle = 78; break;
	case SA_EP_SEV_LAUNCH_FINISH: strcpy(r->qmp, "/tmp/x/run/vm-78.qmp"); break;
	case SA_EP_SEV_GUEST_INFO:
		r->sev_guest = (sa_emu_sev_guest_info){.handle = 78, .policy = 5, .state = SA_EMU_SEV_GSTATE_LSECRET,
						       .secrets = 2};
		fill(r->sev_guest.launch_digest, 32, 8);
		break;
	case SA_EP_HELLO:
		r->handle = 5;
		r->data = page;
		r->data_len = SA_SECRETS_PAGE_SIZE;
		break;
	case SA_EP_GUEST_REQUEST:
		r->fw_error = 0;
		r->vmm_error = 0;
		r->data = blob;
		r->data_len = 0x60 + 0x4C0;
		break;
	case SA_EP_EXT_GUEST_REQUEST:
		r->vmm_error = SA_VMM_ERR_INVALID_LEN;
		r->pages_needed = 5;
		r->certs = blob;
		r->certs_len = SA_EP_MAX_CERTS;
		r->data = blob;
		r->data_len = 100;
		break;
	}
}

static void assert_reply_equal(const sa_ep_reply *a, const sa_ep_reply *b)
{
	assert_int_equal(a->cmd, b->cmd);
	assert_int_equal(a->status, b->status);
	if (a->status) {
		assert_int_equal(a->err_code, b->err_code);
		assert_string_equal(a->err_msg, b->err_msg);
		assert_int_equal(a->needed, b->needed);
		assert_int_equal(a->needed2, b->needed2);
		return;
	}
	assert_memory_equal(&a->platform.chip_id, &b->platform.chip_id, 64);
	assert_int_equal(a->platform.product, b->platform.product);
	assert_true(a->platform.current_tcb == b->platform.current_tcb);
	assert_true(a->platform.reported_tcb == b->platform.reported_tcb);
	assert_true(a->platform.committed_tcb == b->platform.committed_tcb);
	assert_memory_equal(&a->platform.current, &b->platform.current, sizeof(sa_fw_version));
	assert_memory_equal(&a->platform.committed, &b->platform.committed, sizeof(sa_fw_version));
	assert_int_equal(a->platform.guest_count, b->platform.guest_count);
	assert_int_equal(a->platform.mask_chip_id, b->platform.mask_chip_id);
	assert_int_equal(a->platform.mask_chip_key, b->platform.mask_chip_key);
	assert_int_equal(a->platform.vlek_loaded, b->platform.vlek_loaded);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->channels, b->channels);
	assert_int_equal(a->handle, b->handle);
	assert_memory_equal(a->measurement, b->measurement, 48);
	assert_string_equal(a->socket, b->socket);
	assert_int_equal(a->data_len, b->data_len);
	if (a->data_len)
		assert_memory_equal(a->data, b->data, a->data_len);
	assert_int_equal(a->fw_error, b->fw_error);
	assert_int_equal(a->vmm_error, b->vmm_error);
	assert_int_equal(a->pages_needed, b->pages_needed);
	assert_int_equal(a->certs_len, b->certs_len);
	if (a->certs_len)
		assert_memory_equal(a->certs, b->certs, a->certs_len);
	assert_int_equal(a->vm_total, b->vm_total);
	assert_int_equal(a->n_vms, b->n_vms);
	for (size_t i = 0; i < a->n_vms; i++) {
		assert_int_equal(a->vms[i].handle, b->vms[i].handle);
		assert_int_equal(a->vms[i].busy, b->vms[i].busy);
		assert_memory_equal(a->vms[i].measurement, b->vms[i].measurement, 48);
		assert_string_equal(a->vms[i].socket, b->vms[i].socket);
		assert_int_equal(a->vms[i].sev, b->vms[i].sev);
		assert_string_equal(a->vms[i].qmp, b->vms[i].qmp);
	}
	assert_int_equal(a->sev_status.api_minor, b->sev_status.api_minor);
	assert_int_equal(a->sev_status.state, b->sev_status.state);
	assert_int_equal(a->sev_status.flags, b->sev_status.flags);
	assert_int_equal(a->sev_status.owner_external, b->sev_status.owner_external);
	assert_int_equal(a->sev_status.config_es, b->sev_status.config_es);
	assert_int_equal(a->sev_status.build, b->sev_status.build);
	assert_int_equal(a->sev_status.guest_count, b->sev_status.guest_count);
	assert_int_equal(!a->cek, !b->cek);
	if (a->cek)
		assert_memory_equal(a->cek, b->cek, SA_EP_SEV_CERT_SIZE);
	assert_string_equal(a->qmp, b->qmp);
	assert_memory_equal(&a->sev_guest, &b->sev_guest, sizeof(a->sev_guest));
	assert_int_equal(a->needed, b->needed);
	assert_int_equal(a->needed2, b->needed2);
}

static sa_ep_reply rep, back_rep;

static void check_reply(const sa_ep_reply *r)
{
	size_t len, len2;
	sa_error err;
	assert_int_equal(sa_ep_reply_encode(r, enc, SA_EP_MAX_PAYLOAD, &len, &err), SA_OK);
	assert_int_equal(sa_ep_reply_decode(r->cmd, r->status, enc, len, &back_rep, &err), SA_OK);
	assert_reply_equal(r, &back_rep);
	assert_int_equal(sa_ep_reply_encode(&back_rep, enc2, sizeof(enc2), &len2, &err), SA_OK);
	assert_int_equal(len, len2);
	assert_memory_equal(enc, enc2, len);
	for (size_t k = 0; k < len; k++)
		assert_int_equal(sa_ep_reply_decode(r->cmd, r->status, enc, k, &back_rep, &err), SA_ERR_TRUNCATED);
	enc[len] = 0;
	assert_int_equal(sa_ep_reply_decode(r->cmd, r->status, enc, len + 1, &back_rep, &err), SA_ERR_TRAILING);
}

static void replies_round_trip_and_refuse_every_truncation(void **state)
{
	(void)state;
	size_t n_cmds;
	const uint16_t *cmds = sa_ep_commands(&n_cmds);
	for (size_t c = 0; c < n_cmds; c++) {
		sample_reply(cmds[c], &rep);
		check_reply(&rep);
		/* The error form, for every command. */
		memset(&rep, 0, sizeof(rep));
		rep.cmd = cmds[c];
		rep.status = SA_FW_POLICY_FAILURE;
		rep.err_code = SA_ERR_POLICY;
		strcpy(rep.err_msg, "SNP_LAUNCH_START: POLICY_FAILURE: policy forbids SMT");
		check_reply(&rep);
		rep.status = SA_EP_STATUS_DAEMON;
		rep.err_code = SA_ERR_IO;
		memset(rep.err_msg, 'm', SA_EP_ERR_MSG_MAX);
		rep.err_msg[SA_EP_ERR_MSG_MAX] = '\0';
		check_reply(&rep);
		rep.err_msg[0] = '\0';
		check_reply(&rep);
	}
}

static void decode_fails(uint16_t cmd, const uint8_t *p, size_t n, sa_status want, const char *needle)
{
	sa_ep_request q;
	sa_error err;
	err.msg[0] = 0;
	assert_int_equal(sa_ep_request_decode(cmd, p, n, &q, &err), want);
	if (needle && !strstr(err.msg, needle))
		fail_msg("'%s' does not name '%s'", err.msg, needle);
}

static void malformed_fields_are_named(void **state)
{
	(void)state;
	uint8_t b[64];
	/* EXPORT_CHAIN: key must be 0 or 1. */
	b[0] = 2;
	decode_fails(SA_EP_EXPORT_CHAIN, b, 1, SA_ERR_FORMAT, "expected 0 or 1");
	/* LAUNCH_UPDATE: has_page 2, reserved bytes. */
	memset(b, 0, sizeof(b));
	b[5] = 2;
	decode_fails(SA_EP_LAUNCH_UPDATE, b, 16, SA_ERR_FORMAT, "has_page");
	b[5] = 0;
	b[6] = 1;
	decode_fails(SA_EP_LAUNCH_UPDATE, b, 16, SA_ERR_FORMAT, "reserved");
	/* LAUNCH_FINISH: unknown flag bits, reserved. */
	memset(b, 0, sizeof(b));
	b[4] = 0x04;
	decode_fails(SA_EP_LAUNCH_FINISH, b, 40, SA_ERR_FORMAT, "reserved bits");
	b[4] = 0;
	b[7] = 1;
	decode_fails(SA_EP_LAUNCH_FINISH, b, 40, SA_ERR_FORMAT, "reserved");
	/* SET_CONFIG flags. */
	memset(b, 0, sizeof(b));
	b[8] = 0x80;
	decode_fails(SA_EP_SET_CONFIG, b, 9, SA_ERR_FORMAT, "SET_CONFIG flags");
	/* VLEK_LOAD: empty, too long, non-printable, NUL. */
	memset(b, 0, sizeof(b));
	decode_fails(SA_EP_VLEK_LOAD, b, 2, SA_ERR_RANGE, "CSP id");
	b[0] = SA_EP_CSP_ID_MAX + 1;
	decode_fails(SA_EP_VLEK_LOAD, b, 2 + SA_EP_CSP_ID_MAX + 1, SA_ERR_RANGE, "CSP id");
	b[0] = 3;
	memcpy(b + 2, "a\x01z", 3);
	decode_fails(SA_EP_VLEK_LOAD, b, 5, SA_ERR_FORMAT, "printable");
	memcpy(b + 2, "a\0z", 3);
	decode_fails(SA_EP_VLEK_LOAD, b, 5, SA_ERR_FORMAT, "NUL");
	/* GUEST_REQUEST: a message longer than a page is refused before its bytes are read. */
	memset(b, 0, sizeof(b));
	b[0] = 0x01;
	b[1] = 0x10; /* 4097 */
	decode_fails(SA_EP_GUEST_REQUEST, b, 4, SA_ERR_RANGE, "at most 4096");
	/* EXT_GUEST_REQUEST: too many certificate pages. */
	memset(b, 0, sizeof(b));
	b[0] = SA_EP_MAX_CERT_PAGES + 1;
	decode_fails(SA_EP_EXT_GUEST_REQUEST, b, 8, SA_ERR_RANGE, "certificate buffer pages");
	/* SET_EXT_CERTS: a table over the bound. */
	memset(b, 0, sizeof(b));
	b[6] = 0x01; /* length 0x10000 + ... */
	b[7] = 0x00;
	b[4] = 0x01;
	decode_fails(SA_EP_SET_EXT_CERTS, b, 8, SA_ERR_RANGE, "certificate table length");
	/* DISABLE_VMPCK: id 4. */
	b[0] = 4;
	decode_fails(SA_EP_DISABLE_VMPCK, b, 1, SA_ERR_RANGE, "VMPCK id");
	assert_int_equal(sa_ep_decode_status(SA_EP_DISABLE_VMPCK, SA_ERR_RANGE), SA_FW_INVALID_PARAM);

	/* Replies: an error code out of range, a reply path with a NUL, a VM count over the total. */
	sa_error err;
	memset(b, 0, sizeof(b));
	b[0] = 99;
	assert_int_equal(sa_ep_reply_decode(SA_EP_STATUS, SA_FW_INVALID_PARAM, b, 6, &back_rep, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "error code"));
	memset(b, 0, sizeof(b));
	b[4] = 1;  /* VM count 1, total 0 */
	assert_int_equal(sa_ep_reply_decode(SA_EP_VM_LIST, 0, b, 8, &back_rep, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "VM count"));
	/* Encoders refuse what decoders would. */
	sa_ep_request q = {.cmd = SA_EP_DISABLE_VMPCK, .vmpck_id = 4};
	size_t len;
	assert_int_equal(sa_ep_request_encode(&q, enc, sizeof(enc), &len, &err), SA_ERR_RANGE);
	sa_ep_request f = {.cmd = SA_EP_LAUNCH_FINISH, .id_block = id_block};
	assert_int_equal(sa_ep_request_encode(&f, enc, sizeof(enc), &len, &err), SA_ERR_ARG);
	sa_ep_request g = {.cmd = SA_EP_VLEK_LOAD};
	assert_int_equal(sa_ep_request_encode(&g, enc, sizeof(enc), &len, &err), SA_ERR_RANGE);
}

/* The probing commands' INVALID_LENGTH replies carry the lengths needed; other failures do not. */
static void probe_replies_carry_the_lengths_needed(void **state)
{
	(void)state;
	size_t n_cmds, probes = 0;
	const uint16_t *cmds = sa_ep_commands(&n_cmds);
	for (size_t c = 0; c < n_cmds; c++) {
		memset(&rep, 0, sizeof(rep));
		rep.cmd = cmds[c];
		rep.status = SA_FW_INVALID_LENGTH;
		rep.err_code = SA_ERR_ARG;
		strcpy(rep.err_msg, "INVALID_LENGTH: buffer too small");
		bool probing = sa_ep_cmd_probes(cmds[c]);
		probes += probing;
		if (probing) {
			rep.needed = 0x824;
			rep.needed2 = cmds[c] == SA_EP_SEV_PDH_CERT_EXPORT ? 3 * 0x824 : 0;
		}
		check_reply(&rep);
		size_t len;
		sa_error err;
		assert_int_equal(sa_ep_reply_encode(&rep, enc, sizeof(enc), &len, &err), SA_OK);
		size_t body = 4 + 2 + strlen(rep.err_msg);
		assert_int_equal(len, body + (probing ? (cmds[c] == SA_EP_SEV_PDH_CERT_EXPORT ? 8 : 4) : 0));
		if (probing) {
			/* the needed length is at the end, little-endian */
			assert_int_equal(enc[body], 0x24);
			assert_int_equal(enc[body + 1], 0x08);
			/* other statuses of the same command carry no lengths */
			rep.status = SA_FW_INVALID_PARAM;
			rep.needed = rep.needed2 = 0;
			assert_int_equal(sa_ep_reply_encode(&rep, enc, sizeof(enc), &len, &err), SA_OK);
			assert_int_equal(len, body);
		}
	}
	assert_int_equal(probes, 5);
	assert_true(sa_ep_cmd_probes(SA_EP_SEV_ATTESTATION));
	assert_false(sa_ep_cmd_probes(SA_EP_SEV_LAUNCH_START));
	assert_false(sa_ep_cmd_probes(SA_EP_STATUS));
}

static void reply_decode_fails(uint16_t cmd, const uint8_t *p, size_t n, sa_status want, const char *needle)
{
	sa_error err;
	err.msg[0] = 0;
	assert_int_equal(sa_ep_reply_decode(cmd, 0, p, n, &back_rep, &err), want);
	if (needle && !strstr(err.msg, needle))
		fail_msg("'%s' does not name '%s'", err.msg, needle);
}

static void sev_fields_are_checked(void **state)
{
	(void)state;
	uint8_t b[128];
	sa_error err;
	size_t len;
	/* Buffer lengths above the kernel's bound. */
	memset(b, 0, sizeof(b));
	b[1] = 0x40;
	b[0] = 1; /* 0x4001 */
	decode_fails(SA_EP_SEV_PEK_CSR, b, 4, SA_ERR_RANGE, "buffer length");
	decode_fails(SA_EP_SEV_GET_ID, b, 4, SA_ERR_RANGE, "buffer length");
	memset(b, 0, sizeof(b));
	b[5] = 0x40;
	b[4] = 1;
	decode_fails(SA_EP_SEV_PDH_CERT_EXPORT, b, 8, SA_ERR_RANGE, "chain buffer length");
	/* LAUNCH_UPDATE_DATA: empty, or over a chunk. */
	memset(b, 0, sizeof(b));
	decode_fails(SA_EP_SEV_LAUNCH_UPDATE_DATA, b, 8, SA_ERR_RANGE, "data");
	b[6] = 1;
	b[4] = 0x10; /* 0x10010 */
	decode_fails(SA_EP_SEV_LAUNCH_UPDATE_DATA, b, 8, SA_ERR_RANGE, "at most 65536");
	sa_ep_request q = {.cmd = SA_EP_SEV_LAUNCH_UPDATE_DATA, .data = blob};
	assert_int_equal(sa_ep_request_encode(&q, enc, sizeof(enc), &len, &err), SA_ERR_RANGE);
	q.data_len = SA_EP_SEV_DATA_CHUNK + 16;
	assert_int_equal(sa_ep_request_encode(&q, enc, sizeof(enc), &len, &err), SA_ERR_RANGE);
	/* LAUNCH_SECRET: reserved word; a ciphertext over the bound. */
	memset(b, 0, sizeof(b));
	b[4] = 1;
	decode_fails(SA_EP_SEV_LAUNCH_SECRET, b, 16 + 0x34 + 4, SA_ERR_FORMAT, "reserved");
	memset(b, 0, sizeof(b));
	b[16 + 0x34 + 1] = 0x40;
	b[16 + 0x34] = 1;
	decode_fails(SA_EP_SEV_LAUNCH_SECRET, b, 16 + 0x34 + 4, SA_ERR_RANGE, "secret length");
	/* LAUNCH_START: a certificate blob over the bound. */
	memset(b, 0, sizeof(b));
	b[5] = 0x10;
	b[4] = 1;
	decode_fails(SA_EP_SEV_LAUNCH_START, b, 8, SA_ERR_RANGE, "GODH certificate");
	/* Encoders: no VMSA, no header, a lone GODH is still encodable (the firmware judges it). */
	sa_ep_request v = {.cmd = SA_EP_SEV_LAUNCH_UPDATE_VMSA};
	assert_int_equal(sa_ep_request_encode(&v, enc, sizeof(enc), &len, &err), SA_ERR_ARG);
	sa_ep_request h = {.cmd = SA_EP_SEV_LAUNCH_SECRET};
	assert_int_equal(sa_ep_request_encode(&h, enc, sizeof(enc), &len, &err), SA_ERR_ARG);

	/* Replies: guest state out of range, reserved bytes. */
	memset(b, 0, 48);
	b[8] = 4;
	reply_decode_fails(SA_EP_SEV_GUEST_INFO, b, 48, SA_ERR_RANGE, "guest state");
	b[8] = 3;
	b[9] = 1;
	reply_decode_fails(SA_EP_SEV_GUEST_INFO, b, 48, SA_ERR_FORMAT, "reserved");
	memset(&rep, 0, sizeof(rep));
	rep.cmd = SA_EP_SEV_GUEST_INFO;
	rep.sev_guest.state = 4;
	assert_int_equal(sa_ep_reply_encode(&rep, enc, sizeof(enc), &len, &err), SA_ERR_RANGE);
	/* EXPORT_AMD: an ARK longer than an AMD certificate; no CEK to encode. */
	memset(b, 0, sizeof(b));
	b[0] = 0x41;
	b[1] = 0x06;
	reply_decode_fails(SA_EP_SEV_EXPORT_AMD, b, 4, SA_ERR_RANGE, "ARK");
	rep.cmd = SA_EP_SEV_EXPORT_AMD;
	assert_int_equal(sa_ep_reply_encode(&rep, enc, sizeof(enc), &len, &err), SA_ERR_ARG);
	/* LAUNCH_FINISH: an empty QMP path. */
	memset(b, 0, sizeof(b));
	reply_decode_fails(SA_EP_SEV_LAUNCH_FINISH, b, 2, SA_ERR_RANGE, "QMP socket");

	/* VM_LIST: an SEV guest cannot be busy, has no guest channel, a 32-byte digest; every VM a QMP socket. */
	uint8_t vl[8 + 4 + 1 + 48 + 2 + 1 + 2 + 1];
	memset(vl, 0, sizeof(vl));
	vl[0] = 1; /* total */
	vl[4] = 1; /* n */
	size_t o = 8;
	vl[o + 4] = 0x02;  /* SEV */
	vl[o + 53] = 1;    /* socket length 1 */
	vl[o + 55] = 'x';
	vl[o + 56] = 1;    /* QMP length 1 */
	vl[o + 58] = 'q';
	reply_decode_fails(SA_EP_VM_LIST, vl, sizeof(vl), SA_ERR_FORMAT, "no guest channel");
	vl[o + 4] = 0x03;
	reply_decode_fails(SA_EP_VM_LIST, vl, sizeof(vl), SA_ERR_FORMAT, "busy");
	vl[o + 4] = 0x04;
	reply_decode_fails(SA_EP_VM_LIST, vl, sizeof(vl), SA_ERR_FORMAT, "reserved bits");
	vl[o + 4] = 0x00;
	vl[o + 56] = 0; /* empty QMP path */
	reply_decode_fails(SA_EP_VM_LIST, vl, sizeof(vl) - 1, SA_ERR_RANGE, "QMP socket");
	uint8_t sev_vl[8 + 4 + 1 + 48 + 2 + 2 + 1];
	memset(sev_vl, 0, sizeof(sev_vl));
	sev_vl[0] = 1;
	sev_vl[4] = 1;
	sev_vl[o + 4] = 0x02;
	sev_vl[o + 5 + 40] = 1; /* digest byte 40: beyond an SEV guest's 32 */
	sev_vl[o + 55] = 1;
	sev_vl[o + 57] = 'q';
	reply_decode_fails(SA_EP_VM_LIST, sev_vl, sizeof(sev_vl), SA_ERR_FORMAT, "32 bytes");
	sev_vl[o + 5 + 40] = 0;
	assert_int_equal(sa_ep_reply_decode(SA_EP_VM_LIST, 0, sev_vl, sizeof(sev_vl), &back_rep, &err), SA_OK);
	assert_true(back_rep.vms[0].sev);
	assert_string_equal(back_rep.vms[0].socket, "");
	assert_string_equal(back_rep.vms[0].qmp, "q");
	/* The encoder refuses an SEV guest with a channel. */
	memset(&rep, 0, sizeof(rep));
	rep.cmd = SA_EP_VM_LIST;
	rep.vm_total = rep.n_vms = 1;
	rep.vms[0].sev = true;
	strcpy(rep.vms[0].socket, "/x.sock");
	strcpy(rep.vms[0].qmp, "/x.qmp");
	assert_int_equal(sa_ep_reply_encode(&rep, enc, sizeof(enc), &len, &err), SA_ERR_ARG);
	/* A probing INVALID_LENGTH reply without its lengths is truncated. */
	memset(b, 0, sizeof(b));
	b[0] = SA_ERR_ARG;
	assert_int_equal(sa_ep_reply_decode(SA_EP_SEV_PEK_CSR, SA_FW_INVALID_LENGTH, b, 6, &back_rep, &err),
			 SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "length needed"));
	assert_int_equal(sa_ep_reply_decode(SA_EP_SEV_PDH_CERT_EXPORT, SA_FW_INVALID_LENGTH, b, 10, &back_rep, &err),
			 SA_ERR_TRUNCATED);
	assert_non_null(strstr(err.msg, "chain length needed"));
}

static void unknown_commands_and_roles(void **state)
{
	(void)state;
	sa_ep_request q;
	sa_error err;
	assert_int_equal(sa_ep_request_decode(0x7777, NULL, 0, &q, &err), SA_ERR_UNSUPPORTED);
	assert_int_equal(sa_ep_decode_status(0x7777, SA_ERR_UNSUPPORTED), SA_FW_INVALID_COMMAND);
	assert_int_equal(sa_ep_reply_decode(0x7777, 0, NULL, 0, &back_rep, &err), SA_ERR_UNSUPPORTED);
	q.cmd = 0x7777;
	size_t len;
	assert_int_equal(sa_ep_request_encode(&q, enc, sizeof(enc), &len, &err), SA_ERR_UNSUPPORTED);
	assert_string_equal(sa_ep_cmd_name(0x7777), "unknown");
	assert_int_equal(sa_ep_cmd_role(0x7777), SA_EP_ROLE_NONE);
	assert_int_equal(sa_ep_cmd_role(0), SA_EP_ROLE_NONE);
	assert_int_equal(sa_ep_cmd_role(SA_EP_STATUS), SA_EP_ROLE_HOST);
	assert_int_equal(sa_ep_cmd_role(SA_EP_SHUTDOWN), SA_EP_ROLE_HOST);
	assert_int_equal(sa_ep_cmd_role(SA_EP_HELLO), SA_EP_ROLE_GUEST);
	assert_int_equal(sa_ep_cmd_role(SA_EP_DISABLE_VMPCK), SA_EP_ROLE_GUEST);
	assert_int_equal(sa_ep_cmd_role(SA_EP_SEV_PLATFORM_STATUS), SA_EP_ROLE_HOST);
	assert_int_equal(sa_ep_cmd_role(SA_EP_SEV_GUEST_INFO), SA_EP_ROLE_HOST);
	assert_string_equal(sa_ep_cmd_name(SA_EP_SEV_LAUNCH_UPDATE_VMSA), "SEV_LAUNCH_UPDATE_VMSA");
	assert_int_equal(sa_ep_cmd_role(SA_EP_GUEST_REQUEST | SA_EP_REPLY), SA_EP_ROLE_NONE);
	assert_string_equal(sa_ep_status_name(0), "success");
	assert_string_equal(sa_ep_status_name(SA_EP_STATUS_DAEMON), "DAEMON_ERROR");
	assert_string_equal(sa_ep_status_name(SA_FW_INVALID_PARAM), "INVALID_PARAM");
}

static void frames_are_bounded(void **state)
{
	(void)state;
	sa_ep_frame_hdr h;
	sa_error err;
	uint8_t b[16] = {0};
	/* Length 3: not even command and status. */
	b[0] = 3;
	assert_int_equal(sa_ep_frame_hdr_decode(b, 8, &h, &err), SA_ERR_RANGE);
	assert_non_null(strstr(err.msg, "frame length"));
	/* Length one past the maximum. */
	uint32_t big = SA_EP_MAX_FRAME - 3;
	b[0] = (uint8_t)big;
	b[1] = (uint8_t)(big >> 8);
	b[2] = (uint8_t)(big >> 16);
	b[3] = (uint8_t)(big >> 24);
	assert_int_equal(sa_ep_frame_hdr_decode(b, 8, &h, &err), SA_ERR_RANGE);
	memset(b, 0xFF, 4);
	assert_int_equal(sa_ep_frame_hdr_decode(b, 8, &h, &err), SA_ERR_RANGE);
	/* The largest allowed. */
	big = SA_EP_MAX_FRAME - 4;
	b[0] = (uint8_t)big;
	b[1] = (uint8_t)(big >> 8);
	b[2] = (uint8_t)(big >> 16);
	b[3] = (uint8_t)(big >> 24);
	assert_int_equal(sa_ep_frame_hdr_decode(b, 8, &h, &err), SA_OK);
	assert_int_equal(h.len, big);
	for (size_t k = 0; k < 8; k++)
		assert_int_equal(sa_ep_frame_hdr_decode(b, k, &h, &err), SA_ERR_TRUNCATED);
	/* Whole frames: exact length only. */
	size_t len;
	const uint8_t *p;
	size_t plen;
	const uint8_t abc[3] = {'a', 'b', 'c'};
	assert_int_equal(sa_ep_frame_encode(SA_EP_HELLO, 0, abc, 3, b, sizeof(b), &len, &err), SA_OK);
	assert_int_equal(len, 11);
	assert_int_equal(sa_ep_frame_decode(b, len, &h, &p, &plen, &err), SA_OK);
	assert_int_equal(h.cmd, SA_EP_HELLO);
	assert_int_equal(plen, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(sa_ep_frame_decode(b, len - 1, &h, &p, &plen, &err), SA_ERR_TRUNCATED);
	assert_int_equal(sa_ep_frame_decode(b, len + 1, &h, &p, &plen, &err), SA_ERR_TRAILING);
	/* An encoder refuses a payload over the bound. */
	assert_int_equal(sa_ep_frame_encode(1, 0, blob, SA_EP_MAX_PAYLOAD + 1, enc, sizeof(enc), &len, &err),
			 SA_ERR_RANGE);
}

/* ---- I/O over a socket pair ---- */

struct sender {
	int fd;
	size_t len;
	sa_status s;
};

static void *send_big(void *arg)
{
	struct sender *s = arg;
	sa_error err;
	s->s = sa_ep_send(s->fd, SA_EP_EXT_GUEST_REQUEST | SA_EP_REPLY, 0, blob, s->len, 5000, &err);
	return NULL;
}

static void io_round_trip_timeout_and_close(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* A frame bigger than the socket buffer: the sender blocks until the reader drains it. */
	struct sender snd = {.fd = sv[0], .len = SA_EP_MAX_CERTS};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, send_big, &snd), 0);
	sa_ep_frame_hdr h;
	size_t len;
	bool closed = true;
	sa_error err;
	static uint8_t buf[SA_EP_MAX_PAYLOAD];
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, sizeof(buf), &len, 5000, &closed, &err), SA_OK);
	pthread_join(t, NULL);
	assert_int_equal(snd.s, SA_OK);
	assert_false(closed);
	assert_int_equal(h.cmd, SA_EP_EXT_GUEST_REQUEST | SA_EP_REPLY);
	assert_int_equal(len, SA_EP_MAX_CERTS);
	assert_memory_equal(buf, blob, len);

	/* Nothing arrives: a timeout, named. */
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, sizeof(buf), &len, 50, &closed, &err), SA_ERR_IO);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_false(closed);

	/* A buffer too small for the payload. */
	assert_int_equal(sa_ep_send(sv[0], SA_EP_HELLO, 0, blob, 100, 1000, &err), SA_OK);
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, 99, &len, 1000, &closed, &err), SA_ERR_RANGE);
	/* Framing is lost then: the caller closes; here the payload is drained by hand. */
	assert_int_equal(read(sv[1], buf, 100), 100);

	/* An oversize length field. */
	uint8_t hdr[8] = {0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x00, 0x00, 0x00};
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, sizeof(buf), &len, 1000, &closed, &err), SA_ERR_RANGE);

	/* The peer closes inside a frame, then before one. */
	uint8_t part[5] = {20, 0, 0, 0, 1};
	assert_int_equal(write(sv[0], part, sizeof(part)), (ssize_t)sizeof(part));
	close(sv[0]);
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, sizeof(buf), &len, 1000, &closed, &err), SA_ERR_IO);
	assert_false(closed);
	assert_non_null(strstr(err.msg, "after 5 of 8 bytes"));
	assert_int_equal(sa_ep_recv(sv[1], &h, buf, sizeof(buf), &len, 1000, &closed, &err), SA_ERR_IO);
	assert_true(closed);
	/* Sending to a closed peer fails without SIGPIPE. */
	assert_int_equal(sa_ep_send(sv[1], SA_EP_STATUS, 0, NULL, 0, 1000, &err), SA_ERR_IO);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests_round_trip_and_refuse_every_truncation),
		cmocka_unit_test(replies_round_trip_and_refuse_every_truncation),
		cmocka_unit_test(malformed_fields_are_named),
		cmocka_unit_test(probe_replies_carry_the_lengths_needed),
		cmocka_unit_test(sev_fields_are_checked),
		cmocka_unit_test(unknown_commands_and_roles),
		cmocka_unit_test(frames_are_bounded),
		cmocka_unit_test(io_round_trip_timeout_and_close),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
