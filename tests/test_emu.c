/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated AMD Secure Processor end to end: a platform is created in a
 * temporary directory, guests are launched and measured, and the reports
 * they request through sealed guest messages are verified by the library's
 * own verifier against the emulator's exported root of trust.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sevattest/emu.h"
#include "sevattest/gctx.h"
#include "sevattest/guest_msg.h"
#include "sevattest/sevattest.h"
#include "testutil.h"

#define POLICY 0x30000ull /* SMT allowed, reserved bit 17 */

/* ---- helpers ------------------------------------------------------------ */

static void expect_fw(sa_status st, uint32_t fw, sa_status want_st, uint32_t want_fw, const sa_error *err)
{
	if (st != want_st || fw != want_fw)
		fail_msg("got %s / firmware 0x%02x (%s), expected %s / 0x%02x (%s): %s", sa_status_name(st), fw,
			 sa_fw_status_name(fw), sa_status_name(want_st), want_fw, sa_fw_status_name(want_fw),
			 st == SA_OK ? "" : err->msg);
}

/* Run a firmware command that writes fw and err (locals of the caller), then check both. */
#define EXPECT_FW(call, want_st, want_fw)                                                                              \
	do {                                                                                                           \
		sa_status expect_st_ = (call);                                                                         \
		expect_fw(expect_st_, fw, want_st, want_fw, &err);                                                     \
	} while (0)
#define OK_FW(call) EXPECT_FW(call, SA_OK, SA_FW_SUCCESS)

static void fill_page(uint8_t *page, unsigned seed)
{
	for (size_t i = 0; i < SA_PAGE_SIZE; i++)
		page[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 8));
}

struct guest {
	uint32_t handle;
	uint8_t ld[48];
	uint8_t host_data[32];
	uint8_t secrets[SA_SECRETS_PAGE_SIZE];
	sa_secrets_page sp;
	sa_gmsg_channel ch[SA_VMPCK_COUNT];
};

/* Launch a guest: three NORMAL pages, a ZERO page, the SECRETS page, a CPUID page and a VMSA; the
 * expected digest is computed independently with sa_gctx. */
static void launch(sa_emu *e, uint64_t policy, unsigned seed, struct guest *g)
{
	memset(g, 0, sizeof(*g));
	sa_error err;
	uint32_t fw = 0xFFFF;
	OK_FW(sa_emu_launch_start(e, policy, &g->handle, &fw, &err));
	sa_gctx ref;
	sa_gctx_init(&ref, NULL);
	uint8_t page[SA_PAGE_SIZE];
	for (unsigned i = 0; i < 3; i++) {
		fill_page(page, seed + i);
		uint64_t gpa = 0x100000 + i * 0x1000ull;
		OK_FW(sa_emu_launch_update(e, g->handle, SA_PAGE_NORMAL, gpa, page, NULL, &fw, &err));
		assert_int_equal(sa_gctx_update_page(&ref, SA_PAGE_NORMAL, gpa, page, &err), SA_OK);
	}
	OK_FW(sa_emu_launch_update(e, g->handle, SA_PAGE_ZERO, 0x800000, NULL, NULL, &fw, &err));
	assert_int_equal(sa_gctx_update_page(&ref, SA_PAGE_ZERO, 0x800000, NULL, &err), SA_OK);
	memset(page, 0xEE, sizeof(page)); /* ignored: firmware fills the SECRETS page */
	OK_FW(sa_emu_launch_update(e, g->handle, SA_PAGE_SECRETS, 0x80D000, page, g->secrets, &fw, &err));
	assert_int_equal(sa_gctx_update_page(&ref, SA_PAGE_SECRETS, 0x80D000, NULL, &err), SA_OK);
	fill_page(page, 77);
	OK_FW(sa_emu_launch_update(e, g->handle, SA_PAGE_CPUID, 0x80E000, page, NULL, &fw, &err));
	assert_int_equal(sa_gctx_update_page(&ref, SA_PAGE_CPUID, 0x80E000, NULL, &err), SA_OK);
	fill_page(page, seed + 100);
	/* Any GPA for the VMSA: firmware measures it at 0xFFFFFFFFF000. */
	OK_FW(sa_emu_launch_update(e, g->handle, SA_PAGE_VMSA, 0x200000, page, NULL, &fw, &err));
	assert_int_equal(sa_gctx_update_page(&ref, SA_PAGE_VMSA, SA_VMSA_GPA, page, &err), SA_OK);

	uint8_t ld[48];
	assert_int_equal(sa_emu_guest_measurement(e, g->handle, ld, &err), SA_OK);
	assert_memory_equal(ld, ref.ld, 48);
	memcpy(g->ld, ref.ld, 48);
	for (size_t i = 0; i < 32; i++)
		g->host_data[i] = (uint8_t)(seed + i);
	OK_FW(sa_emu_launch_finish(e, g->handle, NULL, NULL, false, g->host_data, &fw, &err));

	/* The page firmware wrote: version 3, VMPCK0-3, the rest zero; the same as sa_emu_guest_secrets. */
	uint8_t again[SA_SECRETS_PAGE_SIZE];
	assert_int_equal(sa_emu_guest_secrets(e, g->handle, again, &err), SA_OK);
	assert_memory_equal(again, g->secrets, sizeof(again));
	assert_int_equal(sa_secrets_page_decode(g->secrets, sizeof(g->secrets), &g->sp, &err), SA_OK);
	assert_int_equal(g->sp.version, 3);
	assert_true(sa_all_zero(g->secrets + 0xA0, SA_SECRETS_PAGE_SIZE - 0xA0));
	assert_true(sa_all_zero(g->secrets + 4, 0x1C));
	for (uint8_t i = 0; i < SA_VMPCK_COUNT; i++) {
		assert_false(sa_all_zero(g->sp.vmpck[i], SA_VMPCK_LEN));
		assert_int_equal(sa_gmsg_channel_init(&g->ch[i], g->sp.vmpck[i], i, 0, &err), SA_OK);
	}
}

static void guest_wipe(struct guest *g)
{
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++)
		sa_gmsg_channel_wipe(&g->ch[i]);
	sa_secrets_page_wipe(&g->sp);
}

/* One request/response exchange over channel ch.  Returns the firmware status of the command. */
static uint32_t exchange(sa_emu *e, uint32_t handle, sa_gmsg_channel *ch, uint8_t type, uint8_t version,
			 const uint8_t *payload, size_t len, uint8_t *rsp, size_t rsp_cap, size_t *rsp_len,
			 uint8_t *sent, size_t *sent_len)
{
	uint8_t req[SA_GMSG_PAGE_SIZE], resp[SA_GMSG_PAGE_SIZE];
	size_t req_len = 0, resp_len = 0;
	sa_error err;
	if (sa_gmsg_channel_request(ch, type, version, payload, len, req, sizeof(req), &req_len, &err) != SA_OK)
		fail_msg("seal request: %s", err.msg);
	if (sent) {
		memcpy(sent, req, req_len);
		*sent_len = req_len;
	}
	uint32_t fw = 0xFFFF;
	sa_status st = sa_emu_guest_request(e, handle, req, req_len, resp, sizeof(resp), &resp_len, &fw, &err);
	if (st != SA_OK) {
		assert_int_not_equal(fw, SA_FW_SUCCESS);
		assert_int_equal(resp_len, 0);
		sa_gmsg_channel_fail(ch, "test: request refused");
		return fw;
	}
	assert_int_equal(fw, SA_FW_SUCCESS);
	if (sa_gmsg_channel_response(ch, resp, resp_len, rsp, rsp_cap, rsp_len, &err) != SA_OK)
		fail_msg("open response: %s", err.msg);
	return fw;
}

/* A report request; returns the STATUS of the response (the report in out if 0). */
static uint32_t get_report_raw(sa_emu *e, uint32_t handle, sa_gmsg_channel *ch, const uint8_t *req_payload,
			       uint8_t out[SA_SNP_REPORT_SIZE])
{
	uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
	size_t rsp_len = 0;
	uint32_t fw = exchange(e, handle, ch, SA_MSG_REPORT_REQ, 1, req_payload, SA_REPORT_REQ_SIZE, rsp, sizeof(rsp),
			       &rsp_len, NULL, NULL);
	assert_int_equal(fw, SA_FW_SUCCESS);
	sa_report_rsp r;
	sa_error err;
	if (sa_report_rsp_decode(rsp, rsp_len, &r, &err) != SA_OK)
		fail_msg("report response: %s", err.msg);
	if (r.status == SA_FW_SUCCESS) {
		assert_int_equal(r.report_size, SA_SNP_REPORT_SIZE);
		memcpy(out, r.report, SA_SNP_REPORT_SIZE);
	} else {
		assert_true(sa_all_zero(r.report, sizeof(r.report)));
	}
	return r.status;
}

static uint32_t get_report(sa_emu *e, uint32_t handle, sa_gmsg_channel *ch, const uint8_t report_data[64],
			   uint32_t vmpl, uint32_t key_sel, uint8_t out[SA_SNP_REPORT_SIZE])
{
	sa_report_req q;
	memset(&q, 0, sizeof(q));
	memcpy(q.report_data, report_data, 64);
	q.vmpl = vmpl;
	q.key_sel = key_sel;
	uint8_t payload[SA_REPORT_REQ_SIZE];
	sa_error err;
	assert_int_equal(sa_report_req_encode(&q, payload, &err), SA_OK);
	return get_report_raw(e, handle, ch, payload, out);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	sa_error err;
	if (sa_read_file(path, 1 << 20, &buf, len, &err) != SA_OK)
		fail_msg("%s", err.msg);
	return buf;
}

/* Verify a report as a relying party would: the emulator's ARK named as root, its chain, its VEK. */
static sa_verdict verify_with(sa_emu *e, const char *tmp, const uint8_t *report, const uint8_t *vek_der, size_t vek_len,
			      bool vlek, const sa_snp_appraisal *a)
{
	sa_error err;
	char *pem = NULL, root[600], chain[600];
	assert_int_equal(sa_emu_export_root(e, &pem, &err), SA_OK);
	snprintf(root, sizeof(root), "%s/root-%lx.pem", tmp, (unsigned long)pthread_self());
	write_file(root, pem, strlen(pem));
	free(pem);
	assert_int_equal(sa_emu_export_chain(e, vlek, &pem, &err), SA_OK);
	snprintf(chain, sizeof(chain), "%s/chain-%lx.pem", tmp, (unsigned long)pthread_self());
	write_file(chain, pem, strlen(pem));
	free(pem);

	sa_trust *t = NULL;
	assert_int_equal(sa_trust_new(&t, &err), SA_OK);
	if (sa_trust_set_roots_file(t, root, &err) != SA_OK || sa_trust_add_file(t, chain, &err) != SA_OK)
		fail_msg("trust: %s", err.msg);
	sa_cert *vek = NULL;
	assert_int_equal(sa_cert_from_der(vek_der, vek_len, &vek, &err), SA_OK);
	assert_int_equal(sa_trust_set_vek(t, vek, &err), SA_OK);
	sa_verdict v;
	sa_verdict_init(&v);
	if (sa_verify_snp_report(report, SA_SNP_REPORT_SIZE, t, a, &v, &err) != SA_OK)
		fail_msg("verify: %s", err.msg);
	sa_trust_free(t);
	unlink(root);
	unlink(chain);
	return v;
}

static void print_verdict(const sa_verdict *v)
{
	for (size_t i = 0; i < v->n; i++)
		fprintf(stderr, "  %s %s: %s [expected %s, got %s]\n", sa_check_status_name(v->checks[i].status),
			v->checks[i].id, v->checks[i].summary, v->checks[i].expected, v->checks[i].actual);
}

static void assert_verifies(sa_emu *e, const char *tmp, const uint8_t *report, bool vlek, const uint8_t report_data[64],
			    const uint8_t ld[48], const uint8_t host_data[32])
{
	sa_error err;
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(sa_emu_export_vek(e, vlek, &der, &len, &err), SA_OK);
	sa_snp_appraisal a;
	sa_snp_appraisal_init(&a);
	a.report_data = report_data;
	a.host_data = host_data;
	uint8_t meas[1][48];
	memcpy(meas[0], ld, 48);
	a.measurements = (const uint8_t(*)[48])meas;
	a.n_measurements = 1;
	a.signer = vlek ? SA_SIGNER_VLEK_ONLY : SA_SIGNER_VCEK_ONLY;
	sa_verdict v = verify_with(e, tmp, report, der, len, vlek, &a);
	free(der);
	if (!v.verified) {
		print_verdict(&v);
		fail_msg("the emulator's report does not verify");
	}
	assert_non_null(sa_verdict_find(&v, "report.signature"));
	assert_int_equal(sa_verdict_find(&v, "report.signature")->status, SA_CHECK_PASS);
	assert_int_equal(sa_verdict_find(&v, "measurement")->status, SA_CHECK_PASS);
	assert_int_equal(sa_verdict_find(&v, "host_data")->status, SA_CHECK_PASS);
	assert_int_equal(sa_verdict_find(&v, "report_data")->status, SA_CHECK_PASS);
	sa_verdict_free(&v);
}

static sa_snp_report decode_report(const uint8_t *bytes)
{
	sa_snp_report r;
	sa_error err;
	assert_int_equal(sa_snp_report_decode(bytes, SA_SNP_REPORT_SIZE, &r, &err), SA_OK);
	return r;
}

static sa_cert *exported_vek(sa_emu *e, bool vlek)
{
	sa_error err;
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(sa_emu_export_vek(e, vlek, &der, &len, &err), SA_OK);
	sa_cert *c = NULL;
	assert_int_equal(sa_cert_from_der(der, len, &c, &err), SA_OK);
	free(der);
	return c;
}

static void path_in(const tu_plat *p, const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", p->dir, rel);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

/* ---- platform ----------------------------------------------------------- */

static void create_open_status(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_UNKNOWN); /* Milan by default */
	sa_error err;
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.product, SA_PRODUCT_MILAN);
	sa_tcb want = {.bl = 4, .tee = 0, .snp = 24, .ucode = 219};
	assert_int_equal(s.current_tcb, sa_tcb_encode(&want));
	assert_int_equal(s.reported_tcb, s.current_tcb);
	assert_int_equal(s.committed_tcb, s.current_tcb);
	assert_int_equal(s.current.major, 1);
	assert_int_equal(s.current.minor, 55);
	assert_int_equal(s.current.build, 29);
	assert_int_equal(s.committed.build, 29);
	assert_int_equal(s.guest_count, 0);
	assert_false(s.mask_chip_id || s.mask_chip_key || s.vlek_loaded);
	assert_false(sa_all_zero(s.chip_id, 64));

	/* Permissions of the state. */
	char path[600];
	assert_int_equal(mode_of(p.dir), 0700);
	path_in(&p, "keys/chip_secret", path, sizeof(path));
	assert_int_equal(mode_of(path), 0600);
	path_in(&p, "keys/ask.pem", path, sizeof(path));
	assert_int_equal(mode_of(path), 0600);

	/* A second instance cannot open the same directory while the first has it. */
	sa_emu *other = NULL;
	assert_int_equal(sa_emu_open(p.dir, &other, &err), SA_ERR_STATE);
	assert_non_null(strstr(err.msg, "in use"));
	/* Creation refuses a directory that is not empty. */
	sa_emu_create_opts o = {.rsa_bits = 2048};
	assert_int_equal(sa_emu_create(p.dir, &o, &err), SA_ERR_STATE);
	assert_non_null(strstr(err.msg, "not empty"));
	/* Opening something that is not a state directory. */
	assert_int_equal(sa_emu_open(p.tmp, &other, &err), SA_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "platform.json"));
	snprintf(path, sizeof(path), "%s/absent", p.tmp);
	assert_int_equal(sa_emu_open(path, &other, &err), SA_ERR_NOT_FOUND);
	/* A given chip id and TCB; a Turin chip id has only 8 bytes. */
	uint8_t chip[64];
	memset(chip, 0xC1, sizeof(chip));
	sa_emu_create_opts t = {.product = SA_PRODUCT_TURIN, .chip_id = chip, .rsa_bits = 2048};
	snprintf(path, sizeof(path), "%s/turin", p.tmp);
	assert_int_equal(sa_emu_create(path, &t, &err), SA_ERR_ARG);
	assert_non_null(strstr(err.msg, "8 bytes"));
	sa_emu_create_opts g = {.product = SA_PRODUCT_GENOA,
				.chip_id = chip,
				.has_tcb = true,
				.tcb = {.bl = 9, .tee = 1, .snp = 21, .ucode = 80},
				.has_fw = true,
				.fw = {1, 55, 38},
				.rsa_bits = 2048};
	snprintf(path, sizeof(path), "%s/genoa/", p.tmp); /* a trailing slash is fine */
	assert_int_equal(sa_emu_create(path, &g, &err), SA_OK);
	sa_emu *ge = NULL;
	assert_int_equal(sa_emu_open(path, &ge, &err), SA_OK);
	assert_int_equal(sa_emu_platform_status(ge, &s, &err), SA_OK);
	assert_int_equal(s.product, SA_PRODUCT_GENOA);
	assert_memory_equal(s.chip_id, chip, 64);
	sa_tcb gt = {.bl = 9, .tee = 1, .snp = 21, .ucode = 80};
	assert_int_equal(s.current_tcb, sa_tcb_encode(&gt));
	assert_int_equal(s.current.build, 38);
	sa_emu_close(ge);
	/* An existing empty directory is taken over. */
	snprintf(path, sizeof(path), "%s/empty", p.tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(sa_emu_create(path, &o, &err), SA_OK);
	assert_int_equal(mode_of(path), 0700);
	assert_int_equal(sa_emu_open(path, &ge, &err), SA_OK);
	sa_emu_close(ge);
	/* Nothing is left beside the state directories. */
	DIR *d = opendir(p.tmp);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		assert_null(strstr(de->d_name, ".new"));
	closedir(d);
	tu_plat_free(&p);
}

static void exports(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	char *pem = NULL;
	sa_cert_list l = {0};
	assert_int_equal(sa_emu_export_root(p.e, &pem, &err), SA_OK);
	assert_int_equal(sa_cert_parse_any((const uint8_t *)pem, strlen(pem), &l, &err), SA_OK);
	free(pem);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0]->role, SA_ROLE_ARK);
	assert_string_equal(l.v[0]->subject_cn, "ARK-Milan");
	assert_int_equal(sa_cert_verify_signed_by(l.v[0], l.v[0], &err), SA_OK);
	/* 25 years */
	assert_true(l.v[0]->not_after - l.v[0]->not_before > (time_t)25 * 365 * 86400);
	sa_cert *ark = sa_cert_list_take(&l, 0);
	sa_cert_list_free(&l);

	assert_int_equal(sa_emu_export_chain(p.e, false, &pem, &err), SA_OK);
	assert_int_equal(sa_cert_parse_any((const uint8_t *)pem, strlen(pem), &l, &err), SA_OK);
	free(pem);
	assert_int_equal(l.n, 2); /* ASK then ARK, as KDS serves cert_chain */
	assert_int_equal(l.v[0]->role, SA_ROLE_ASK);
	assert_int_equal(l.v[1]->role, SA_ROLE_ARK);
	assert_memory_equal(l.v[1]->fingerprint, ark->fingerprint, 32);
	assert_int_equal(sa_cert_verify_signed_by(l.v[0], ark, &err), SA_OK);

	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	sa_cert *vcek = exported_vek(p.e, false);
	assert_int_equal(vcek->role, SA_ROLE_VCEK);
	assert_int_equal(vcek->product, SA_PRODUCT_MILAN);
	assert_string_equal(vcek->ext.product_name, "Milan-B0");
	assert_int_equal(vcek->ext.hwid_len, 64);
	assert_memory_equal(vcek->ext.hwid, s.chip_id, 64);
	sa_tcb t = sa_tcb_decode_for(s.reported_tcb, SA_PRODUCT_MILAN);
	assert_int_equal(vcek->ext.bl, t.bl);
	assert_int_equal(vcek->ext.snp, t.snp);
	assert_int_equal(vcek->ext.ucode, t.ucode);
	assert_int_equal(sa_cert_verify_signed_by(vcek, l.v[0], &err), SA_OK);
	sa_cert_list_free(&l);
	/* The ASVK chain; no VLEK yet. */
	assert_int_equal(sa_emu_export_chain(p.e, true, &pem, &err), SA_OK);
	assert_int_equal(sa_cert_parse_any((const uint8_t *)pem, strlen(pem), &l, &err), SA_OK);
	free(pem);
	assert_int_equal(l.v[0]->role, SA_ROLE_ASVK);
	sa_cert_list_free(&l);
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(sa_emu_export_vek(p.e, true, &der, &len, &err), SA_ERR_NOT_FOUND);

	/* The VCEK is derived: the same key after reopening. */
	tu_plat_reopen(&p);
	sa_cert *again = exported_vek(p.e, false);
	assert_int_equal(EVP_PKEY_eq(vcek->pubkey, again->pubkey), 1);
	sa_cert_free(again);
	/* Even when its cached certificate is lost. */
	char path[600];
	snprintf(path, sizeof(path), "%s/certs/vcek-%016llx.der", p.dir, (unsigned long long)s.reported_tcb);
	assert_int_equal(unlink(path), 0);
	tu_plat_reopen(&p);
	again = exported_vek(p.e, false);
	assert_int_equal(EVP_PKEY_eq(vcek->pubkey, again->pubkey), 1);
	sa_cert_free(again);
	sa_cert_free(vcek);
	sa_cert_free(ark);
	tu_plat_free(&p);
}

/* ---- launch and reports -------------------------------------------------- */

static void launch_and_verify(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 1, &g);
	sa_error err;
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.guest_count, 1);

	uint8_t rd[64], report[SA_SNP_REPORT_SIZE];
	memset(rd, 0xA5, sizeof(rd));
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	sa_snp_report r = decode_report(report);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.policy, POLICY);
	assert_int_equal(r.vmpl, 0);
	assert_int_equal(r.signature_algo, 1);
	assert_int_equal(sa_snp_report_signing_key(&r), SA_SIGNING_KEY_VCEK);
	assert_int_equal(r.key_info, 0);
	assert_int_equal(r.platform_info, SA_PLATFORM_SMT_EN | SA_PLATFORM_TSME_EN);
	assert_int_equal(r.current_tcb, s.current_tcb);
	assert_int_equal(r.reported_tcb, s.reported_tcb);
	assert_int_equal(r.committed_tcb, s.committed_tcb);
	assert_int_equal(r.launch_tcb, s.current_tcb);
	assert_int_equal(r.current.build, 29);
	assert_int_equal(r.cpuid_fam_id, 0x19);
	assert_int_equal(r.cpuid_mod_id, 0x01);
	assert_int_equal(r.cpuid_step, 0x01);
	assert_memory_equal(r.chip_id, s.chip_id, 64);
	assert_memory_equal(r.measurement, g.ld, 48);
	assert_memory_equal(r.host_data, g.host_data, 32);
	assert_false(sa_all_zero(r.report_id, 32));
	uint8_t ff[32];
	memset(ff, 0xFF, sizeof(ff));
	assert_memory_equal(r.report_id_ma, ff, 32);
	assert_true(sa_all_zero(r.id_key_digest, 48));

	/* The next sequence number works; a different VMPL and report data are reported. */
	memset(rd, 0x3C, sizeof(rd));
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 2, 1, report), SA_FW_SUCCESS);
	r = decode_report(report);
	assert_int_equal(r.vmpl, 2);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	assert_int_equal(g.ch[0].seqno, 4);

	/* VMPCK3 belongs to VMPL3: it may not ask for a more privileged VMPL. */
	assert_int_equal(get_report(p.e, g.handle, &g.ch[3], rd, 2, 0, report), SA_FW_INVALID_PARAM);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[3], rd, 3, 0, report), SA_FW_SUCCESS);
	assert_int_equal(decode_report(report).vmpl, 3);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[1], rd, 4, 0, report), SA_FW_INVALID_PARAM);
	/* KEY_SEL 2 without a VLEK; KEY_SEL 3 (reserved) and reserved bytes, poked past the encoder. */
	assert_int_equal(get_report(p.e, g.handle, &g.ch[1], rd, 1, 2, report), SA_FW_INVALID_KEY);
	sa_report_req q;
	memset(&q, 0, sizeof(q));
	uint8_t payload[SA_REPORT_REQ_SIZE];
	assert_int_equal(sa_report_req_encode(&q, payload, &err), SA_OK);
	payload[0x44] = 3;
	assert_int_equal(get_report_raw(p.e, g.handle, &g.ch[1], payload, report), SA_FW_INVALID_PARAM);
	payload[0x44] = 0;
	payload[0x50] = 1;
	assert_int_equal(get_report_raw(p.e, g.handle, &g.ch[1], payload, report), SA_FW_INVALID_PARAM);
	/* Each answered request moved the counter: the channels are all still in step. */
	assert_int_equal(get_report(p.e, g.handle, &g.ch[1], rd, 1, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	guest_wipe(&g);
	tu_plat_free(&p);
}

static void two_guests_have_their_own_keys(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest a, b;
	launch(p.e, POLICY, 1, &a);
	launch(p.e, POLICY, 1, &b); /* the same image */
	assert_int_not_equal(a.handle, b.handle);
	assert_memory_equal(a.ld, b.ld, 48);
	for (size_t i = 0; i < SA_VMPCK_COUNT; i++) {
		assert_memory_not_equal(a.sp.vmpck[i], b.sp.vmpck[i], SA_VMPCK_LEN);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(a.sp.vmpck[i], a.sp.vmpck[j], SA_VMPCK_LEN);
	}
	uint8_t rd[64] = {1}, ra[SA_SNP_REPORT_SIZE], rb[SA_SNP_REPORT_SIZE];
	assert_int_equal(get_report(p.e, a.handle, &a.ch[0], rd, 0, 0, ra), SA_FW_SUCCESS);
	assert_int_equal(get_report(p.e, b.handle, &b.ch[0], rd, 0, 0, rb), SA_FW_SUCCESS);
	assert_memory_not_equal(decode_report(ra).report_id, decode_report(rb).report_id, 32);
	/* A message sealed with A's key is refused by B: no response, B's counter unchanged. */
	uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
	size_t rsp_len;
	sa_report_req q;
	memset(&q, 0, sizeof(q));
	uint8_t payload[SA_REPORT_REQ_SIZE];
	sa_error err;
	assert_int_equal(sa_report_req_encode(&q, payload, &err), SA_OK);
	assert_int_equal(exchange(p.e, b.handle, &a.ch[0], SA_MSG_REPORT_REQ, 1, payload, sizeof(payload), rsp,
				  sizeof(rsp), &rsp_len, NULL, NULL),
			 SA_FW_INVALID_PARAM);
	assert_int_equal(get_report(p.e, b.handle, &b.ch[0], rd, 0, 0, rb), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, rb, false, rd, b.ld, b.host_data);
	guest_wipe(&a);
	guest_wipe(&b);
	tu_plat_free(&p);
}

static void state_survives_reopen_and_replay_is_refused(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 5, &g);
	uint8_t rd[64] = {9}, report[SA_SNP_REPORT_SIZE];
	sa_report_req q;
	memset(&q, 0, sizeof(q));
	memcpy(q.report_data, rd, 64);
	uint8_t payload[SA_REPORT_REQ_SIZE], sent[SA_GMSG_PAGE_SIZE], rsp[SA_GMSG_MAX_PAYLOAD];
	size_t sent_len = 0, rsp_len = 0;
	sa_error err;
	assert_int_equal(sa_report_req_encode(&q, payload, &err), SA_OK);
	assert_int_equal(exchange(p.e, g.handle, &g.ch[0], SA_MSG_REPORT_REQ, 1, payload, sizeof(payload), rsp,
				  sizeof(rsp), &rsp_len, sent, &sent_len),
			 SA_FW_SUCCESS);

	tu_plat_reopen(&p);
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.guest_count, 1);
	uint8_t ld[48];
	assert_int_equal(sa_emu_guest_measurement(p.e, g.handle, ld, &err), SA_OK);
	assert_memory_equal(ld, g.ld, 48);
	/* The old request again: refused, no response. */
	uint8_t resp[SA_GMSG_PAGE_SIZE];
	size_t resp_len = 99;
	uint32_t fw = 0;
	EXPECT_FW(sa_emu_guest_request(p.e, g.handle, sent, sent_len, resp, sizeof(resp), &resp_len, &fw, &err),
		  SA_ERR_ARG, SA_FW_INVALID_PARAM);
	assert_int_equal(resp_len, 0);
	/* The guest goes on with its next sequence number. */
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	assert_int_equal(decode_report(report).guest_svn, 0);
	/* After another restart too, and the secrets are those of launch time. */
	tu_plat_reopen(&p);
	uint8_t secrets[SA_SECRETS_PAGE_SIZE];
	assert_int_equal(sa_emu_guest_secrets(p.e, g.handle, secrets, &err), SA_OK);
	assert_memory_equal(secrets, g.secrets, sizeof(secrets));
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	EXPECT_FW(sa_emu_guest_request(p.e, g.handle, sent, sent_len, resp, sizeof(resp), &resp_len, &fw, &err),
		  SA_ERR_ARG, SA_FW_INVALID_PARAM);
	guest_wipe(&g);
	tu_plat_free(&p);
}

/* Flip one byte of a file at offset off. */
static void flip_byte(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	int c = fgetc(f);
	assert_true(c != EOF);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	assert_int_equal(fputc(c ^ 0x5A, f), c ^ 0x5A);
	assert_int_equal(fclose(f), 0);
}

/*
 * The PSP counters' journal: a torn newest slot (a crash during its write, before
 * the response could leave) falls back to the older slot; both slots damaged is
 * refused rather than guessed.
 */
static void counter_journal_torn_and_damaged(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_GENOA);
	struct guest g;
	launch(p.e, POLICY, 11, &g);
	uint8_t rd[64] = {7}, report[SA_SNP_REPORT_SIZE];
	for (int i = 0; i < 3; i++) /* responses 2, 4, 6: journal generations 1, 2, 3 */
		assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	char rel[64], path[600];
	snprintf(rel, sizeof(rel), "guests/%u.seq", g.handle);
	path_in(&p, rel, path, sizeof(path));
	sa_emu_close(p.e);
	p.e = NULL;

	/* Generation 3 (slot 1) torn: the counter is generation 2's, 4. */
	flip_byte(path, 512 + 20);
	sa_error err;
	assert_int_equal(sa_emu_open(p.dir, &p.e, &err), SA_OK);
	sa_gmsg_channel stale;
	assert_int_equal(sa_gmsg_channel_init(&stale, g.sp.vmpck[0], 0, 4, &err), SA_OK);
	assert_int_equal(get_report(p.e, g.handle, &stale, rd, 0, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	sa_gmsg_channel_wipe(&stale);
	sa_emu_close(p.e);
	p.e = NULL;

	/* Both slots damaged: the emulator refuses to guess. */
	flip_byte(path, 20);
	flip_byte(path, 512 + 21);
	assert_int_not_equal(sa_emu_open(p.dir, &p.e, &err), SA_OK);
	assert_null(p.e);
	assert_non_null(strstr(err.msg, "no valid counter record"));
	guest_wipe(&g);
	tu_rmtree(p.tmp);
	free(p.tmp);
}

static void tcb_change_gives_a_new_vcek(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 2, &g);
	sa_error err;
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	sa_cert *old = exported_vek(p.e, false);
	uint8_t rd[64] = {7}, report[SA_SNP_REPORT_SIZE];

	sa_tcb t = sa_tcb_decode_for(s.current_tcb, SA_PRODUCT_MILAN);
	t.snp++;
	t.ucode++;
	uint64_t newer = sa_tcb_encode(&t);
	uint32_t fw = 0;
	/* REPORTED_TCB may not exceed the CURRENT_TCB. */
	EXPECT_FW(sa_emu_set_config(p.e, newer, false, false, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	assert_non_null(strstr(err.msg, "exceeds the CURRENT_TCB"));
	EXPECT_FW(sa_emu_set_config(p.e, s.current_tcb | 0x0000000000FF0000ull, false, false, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	OK_FW(sa_emu_update_firmware(p.e, newer, (sa_fw_version){1, 55, 31}, &fw, &err));
	/* The reported TCB stays until SET_CONFIG moves it; the report still verifies with the old VCEK. */
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	sa_snp_report r = decode_report(report);
	assert_int_equal(r.current_tcb, newer);
	assert_int_equal(r.reported_tcb, s.current_tcb);
	assert_int_equal(r.committed_tcb, s.committed_tcb);
	assert_int_equal(r.current.build, 31);
	assert_int_equal(r.committed.build, 29);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);

	OK_FW(sa_emu_set_config(p.e, newer, false, false, &fw, &err));
	sa_cert *cur = exported_vek(p.e, false);
	assert_int_not_equal(EVP_PKEY_eq(old->pubkey, cur->pubkey), 1);
	assert_int_equal(cur->ext.snp, t.snp);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_int_equal(decode_report(report).reported_tcb, newer);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	/* The old VCEK does not verify the new report. */
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(sa_cert_to_der(old, &der, &len, &err), SA_OK);
	sa_verdict v = verify_with(p.e, p.tmp, report, der, len, false, NULL);
	free(der);
	assert_false(v.verified);
	sa_verdict_free(&v);

	/* Commit; then a rollback below the committed TCB or version is refused. */
	OK_FW(sa_emu_commit(p.e, &fw, &err));
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.committed_tcb, newer);
	assert_int_equal(s.committed.build, 31);
	EXPECT_FW(sa_emu_update_firmware(p.e, sa_tcb_encode(&(sa_tcb){.bl = 4, .snp = 24, .ucode = 219}),
					 (sa_fw_version){1, 55, 31}, &fw, &err),
		  SA_ERR_ARG, SA_FW_BAD_SVN);
	EXPECT_FW(sa_emu_update_firmware(p.e, newer, (sa_fw_version){1, 55, 30}, &fw, &err), SA_ERR_ARG, SA_FW_BAD_SVN);
	/* State survives; the reopened platform signs with the new VCEK. */
	tu_plat_reopen(&p);
	sa_cert *again = exported_vek(p.e, false);
	assert_int_equal(EVP_PKEY_eq(cur->pubkey, again->pubkey), 1);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	sa_cert_free(again);
	sa_cert_free(cur);
	sa_cert_free(old);
	guest_wipe(&g);
	tu_plat_free(&p);
}

/* ---- derived keys -------------------------------------------------------- */

/* A key request; returns STATUS (the key in out if 0). */
static uint32_t get_key_raw(sa_emu *e, uint32_t handle, sa_gmsg_channel *ch, uint8_t version, const uint8_t *payload,
			    size_t len, uint8_t out[32])
{
	uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
	size_t rsp_len = 0;
	uint32_t fw =
	    exchange(e, handle, ch, SA_MSG_KEY_REQ, version, payload, len, rsp, sizeof(rsp), &rsp_len, NULL, NULL);
	if (fw != SA_FW_SUCCESS)
		return 0x1000 | fw; /* no response at all */
	sa_key_rsp r;
	sa_error err;
	assert_int_equal(sa_key_rsp_decode(rsp, rsp_len, &r, &err), SA_OK);
	if (r.status == SA_FW_SUCCESS)
		memcpy(out, r.derived_key, 32);
	else
		assert_true(sa_all_zero(r.derived_key, 32));
	uint32_t status = r.status;
	OPENSSL_cleanse(&r, sizeof(r));
	return status;
}

static uint32_t get_key(sa_emu *e, uint32_t handle, sa_gmsg_channel *ch, const sa_key_req *q, uint8_t out[32])
{
	uint8_t payload[SA_KEY_REQ_SIZE_MIT];
	size_t len = 0;
	sa_error err;
	assert_int_equal(sa_key_req_encode(q, payload, sizeof(payload), &len, &err), SA_OK);
	return get_key_raw(e, handle, ch, 1, payload, len, out);
}

static void derived_keys(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g, h;
	launch(p.e, POLICY, 3, &g);
	launch(p.e, POLICY, 3, &h); /* same measurement, other guest */
	sa_error err;
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);

	sa_key_req q;
	memset(&q, 0, sizeof(q));
	q.guest_field_select = 0x3F;
	q.tcb_version = s.committed_tcb;
	uint8_t k1[32], k2[32], k3[32];
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k1), SA_FW_SUCCESS);
	assert_false(sa_all_zero(k1, 32));
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_equal(k1, k2, 32); /* deterministic */
	/* VCEK-rooted keys depend on the chip and the measurement, not on the guest instance. */
	assert_int_equal(get_key(p.e, h.handle, &h.ch[0], &q, k3), SA_FW_SUCCESS);
	assert_memory_equal(k1, k3, 32);
	/* The 0x28-byte form (message version 2) gives the same key when LAUNCH_MIT_VECTOR is not selected. */
	q.has_launch_mit_vector = true;
	uint8_t payload[SA_KEY_REQ_SIZE_MIT];
	size_t len = 0;
	assert_int_equal(sa_key_req_encode(&q, payload, sizeof(payload), &len, &err), SA_OK);
	assert_int_equal(get_key_raw(p.e, g.handle, &g.ch[0], 2, payload, len, k2), SA_FW_SUCCESS);
	assert_memory_equal(k1, k2, 32);
	q.has_launch_mit_vector = false;

	/* Other selections, VMPLs and roots give other keys. */
	q.guest_field_select = 0x37;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_not_equal(k1, k2, 32);
	q.guest_field_select = 0x3F;
	q.vmpl = 1;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_not_equal(k1, k2, 32);
	assert_int_equal(get_key(p.e, g.handle, &g.ch[1], &q, k3), SA_FW_SUCCESS);
	assert_memory_equal(k2, k3, 32); /* the VMPL counts, not the VMPCK used */
	q.vmpl = 0;
	q.key_sel = 1; /* VCEK explicitly: the same root as KEY_SEL 0 without a VLEK */
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_equal(k1, k2, 32);
	q.key_sel = 0;
	q.root_key_select = 1; /* VMRK: per guest */
	uint8_t v1[32], v2[32];
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, v1), SA_FW_SUCCESS);
	assert_memory_not_equal(k1, v1, 32);
	assert_int_equal(get_key(p.e, h.handle, &h.ch[0], &q, v2), SA_FW_SUCCESS);
	assert_memory_not_equal(v1, v2, 32);
	q.root_key_select = 0;
	/* Without TCB_VERSION selected the key comes from the COMMITTED_TCB's chip key, not the request's value. */
	q.guest_field_select = 0x1F;
	q.tcb_version = 0;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	q.tcb_version = s.committed_tcb;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k3), SA_FW_SUCCESS);
	assert_memory_equal(k2, k3, 32);
	/* With it selected, an older TCB gives another key. */
	q.guest_field_select = 0x3F;
	q.tcb_version = 0;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_not_equal(k1, k2, 32);
	q.tcb_version = s.committed_tcb;

	/* Refusals, in the response's STATUS. */
	sa_key_req bad = q;
	bad.vmpl = 0;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[2], &bad, k2), SA_FW_INVALID_PARAM); /* VMPCK2 asks VMPL0 */
	bad.vmpl = 4;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &bad, k2), SA_FW_INVALID_PARAM);
	bad = q;
	bad.guest_svn = 1; /* above the guest's SVN (0: no ID block) */
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &bad, k2), SA_FW_INVALID_PARAM);
	bad = q;
	sa_tcb t = sa_tcb_decode_for(s.committed_tcb, SA_PRODUCT_MILAN);
	t.tee++;
	bad.tcb_version = sa_tcb_encode(&t); /* above the COMMITTED_TCB */
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &bad, k2), SA_FW_INVALID_PARAM);
	bad = q;
	bad.guest_field_select = 0x7F; /* LAUNCH_MIT_VECTOR without the 0x28-byte form */
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &bad, k2), SA_FW_INVALID_PARAM);
	bad = q;
	bad.key_sel = 2; /* VLEK, none loaded */
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &bad, k2), SA_FW_INVALID_KEY);
	/* A malformed payload (reserved word set) is answered with INVALID_PARAM. */
	assert_int_equal(sa_key_req_encode(&q, payload, sizeof(payload), &len, &err), SA_OK);
	payload[0x04] = 1;
	assert_int_equal(get_key_raw(p.e, g.handle, &g.ch[0], 1, payload, len, k2), SA_FW_INVALID_PARAM);
	/* An unknown message version gets no response. */
	payload[0x04] = 0;
	assert_int_equal(get_key_raw(p.e, g.handle, &g.ch[1], 3, payload, len, k2), 0x1000 | SA_FW_INVALID_PARAM);

	/* The keys survive a restart: VCEK-rooted and VMRK-rooted alike. */
	tu_plat_reopen(&p);
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_equal(k1, k2, 32);
	q.root_key_select = 1;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, k2), SA_FW_SUCCESS);
	assert_memory_equal(v1, k2, 32);
	OPENSSL_cleanse(k1, sizeof(k1));
	guest_wipe(&g);
	guest_wipe(&h);
	tu_plat_free(&p);
}

/* ---- misuse -------------------------------------------------------------- */

static void misuse_gets_firmware_status(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	sa_error err;
	uint32_t fw = 0, h = 0;
	uint8_t page[SA_PAGE_SIZE];
	fill_page(page, 9);

	/* Policies SNP_LAUNCH_START refuses. */
	EXPECT_FW(sa_emu_launch_start(p.e, 0x10000, &h, &fw, &err), SA_ERR_ARG, SA_FW_POLICY_FAILURE);
	assert_non_null(strstr(err.msg, "bit 17"));
	EXPECT_FW(sa_emu_launch_start(p.e, POLICY | (1ull << 26), &h, &fw, &err), SA_ERR_ARG, SA_FW_POLICY_FAILURE);
	EXPECT_FW(sa_emu_launch_start(p.e, 0x20000, &h, &fw, &err), SA_ERR_ARG, SA_FW_POLICY_FAILURE);
	assert_non_null(strstr(err.msg, "SMT"));
	EXPECT_FW(sa_emu_launch_start(p.e, POLICY | 0x0238, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE); /* ABI 2.56 */
	assert_non_null(strstr(err.msg, "ABI 2.56"));
	EXPECT_FW(sa_emu_launch_start(p.e, POLICY | 0x0138, &h, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE); /* ABI 1.56 > 1.55 */
	OK_FW(sa_emu_launch_start(p.e, POLICY | 0x0137 | SA_POLICY_SINGLE_SOCKET | SA_POLICY_DEBUG, &h, &fw, &err));

	/* SNP_LAUNCH_UPDATE parameters. */
	EXPECT_FW(sa_emu_launch_update(p.e, h, 7, 0x1000, page, NULL, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_launch_update(p.e, h, 0, 0x1000, page, NULL, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_NORMAL, 0x1010, page, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_NORMAL, 0x1000, NULL, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_ZERO, 0x1000, page, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	OK_FW(sa_emu_launch_update(p.e, h, SA_PAGE_SECRETS, 0x5000, NULL, NULL, &fw, &err));
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_SECRETS, 0x6000, NULL, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	assert_non_null(strstr(err.msg, "already has its SECRETS"));
	OK_FW(sa_emu_launch_update(p.e, h, SA_PAGE_UNMEASURED, 0x7000, NULL, NULL, &fw, &err));
	/* Unknown handles. */
	EXPECT_FW(sa_emu_launch_update(p.e, 999, SA_PAGE_ZERO, 0x1000, NULL, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_GUEST);
	EXPECT_FW(sa_emu_launch_finish(p.e, 999, NULL, NULL, false, NULL, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	uint8_t req[SA_GMSG_PAGE_SIZE] = {0}, resp[SA_GMSG_PAGE_SIZE];
	size_t resp_len = 0;
	EXPECT_FW(sa_emu_guest_request(p.e, 999, req, 0x100, resp, sizeof(resp), &resp_len, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_GUEST);
	/* A guest request before SNP_LAUNCH_FINISH. */
	EXPECT_FW(sa_emu_guest_request(p.e, h, req, 0x100, resp, sizeof(resp), &resp_len, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);

	/* ID blocks: signed by the ID key (and the author key), the launch digest and the policy must match. */
	uint8_t ld[48];
	assert_int_equal(sa_emu_guest_measurement(p.e, h, ld, &err), SA_OK);
	EVP_PKEY *id_key = EVP_EC_gen("P-384"), *author_key = EVP_EC_gen("P-384");
	assert_non_null(id_key);
	assert_non_null(author_key);
	uint8_t id_block[SA_ID_BLOCK_SIZE], *id_auth = calloc(1, SA_ID_AUTH_SIZE);
	assert_non_null(id_auth);
	sa_id_block blk;
	sa_id_block_init(&blk, ld);
	memset(blk.family_id, 0xF1, 16);
	memset(blk.image_id, 0x11, 16);
	blk.guest_svn = 7;
	blk.policy = POLICY | 0x0137 | SA_POLICY_SINGLE_SOCKET | SA_POLICY_DEBUG;
	sa_id_auth *auth = calloc(1, sizeof(*auth));
	assert_non_null(auth);
	/* Sign (a tampered copy of) blk and encode both. */
#define SIGN_ID_BLOCK()                                                                                                \
	do {                                                                                                           \
		assert_int_equal(sa_id_block_encode(&blk, id_block, &err), SA_OK);                                    \
		assert_int_equal(sa_id_auth_sign(&blk, id_key, author_key, auth, &err), SA_OK);                        \
		assert_int_equal(sa_id_auth_encode(auth, id_auth, &err), SA_OK);                                       \
	} while (0)
	uint8_t hd[32] = {0};
	blk.ld[0] ^= 1;
	SIGN_ID_BLOCK();
	EXPECT_FW(sa_emu_launch_finish(p.e, h, id_block, id_auth, true, hd, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_MEASUREMENT);
	blk.ld[0] ^= 1;
	blk.policy ^= 1;
	SIGN_ID_BLOCK();
	EXPECT_FW(sa_emu_launch_finish(p.e, h, id_block, id_auth, true, hd, &fw, &err), SA_ERR_ARG,
		  SA_FW_POLICY_FAILURE);
	blk.policy ^= 1;
	SIGN_ID_BLOCK();
#undef SIGN_ID_BLOCK
	EXPECT_FW(sa_emu_launch_finish(p.e, h, id_block, NULL, false, hd, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	EXPECT_FW(sa_emu_launch_finish(p.e, h, NULL, NULL, true, hd, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	id_auth[0] = 2;
	EXPECT_FW(sa_emu_launch_finish(p.e, h, id_block, id_auth, false, hd, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_PARAM);
	id_auth[0] = 1;
	/* A tampered ID block no longer matches its signature. */
	id_block[0x54] ^= 1;
	EXPECT_FW(sa_emu_launch_finish(p.e, h, id_block, id_auth, true, hd, &fw, &err), SA_ERR_VERIFY,
		  SA_FW_BAD_SIGNATURE);
	id_block[0x54] ^= 1;
	OK_FW(sa_emu_launch_finish(p.e, h, id_block, id_auth, true, hd, &fw, &err));
	EVP_PKEY_free(id_key);
	EVP_PKEY_free(author_key);
	free(auth);

	/* After finish: no more updates, no second finish. */
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_NORMAL, 0x1000, page, NULL, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);
	EXPECT_FW(sa_emu_launch_finish(p.e, h, NULL, NULL, false, hd, &fw, &err), SA_ERR_STATE,
		  SA_FW_INVALID_GUEST_STATE);

	/* The report carries the ID block's fields and the key digests. */
	uint8_t secrets[SA_SECRETS_PAGE_SIZE];
	assert_int_equal(sa_emu_guest_secrets(p.e, h, secrets, &err), SA_OK);
	sa_secrets_page sp;
	assert_int_equal(sa_secrets_page_decode(secrets, sizeof(secrets), &sp, &err), SA_OK);
	sa_gmsg_channel ch;
	assert_int_equal(sa_gmsg_channel_init(&ch, sp.vmpck[0], 0, 0, &err), SA_OK);
	uint8_t rd[64] = {0}, report[SA_SNP_REPORT_SIZE];
	assert_int_equal(get_report(p.e, h, &ch, rd, 0, 0, report), SA_FW_SUCCESS);
	sa_snp_report r = decode_report(report);
	uint8_t dig[48];
	assert_int_equal(sa_sha384(id_auth + 0x240, 0x404, dig, &err), SA_OK);
	assert_memory_equal(r.id_key_digest, dig, 48);
	assert_int_equal(sa_sha384(id_auth + 0x880, 0x404, dig, &err), SA_OK);
	assert_memory_equal(r.author_key_digest, dig, 48);
	assert_int_equal(r.key_info, SA_KEYINFO_AUTHOR_KEY_EN);
	assert_int_equal(r.guest_svn, 7);
	assert_memory_equal(r.family_id, id_block + 0x30, 16);
	assert_memory_equal(r.image_id, id_block + 0x40, 16);
	assert_verifies(p.e, p.tmp, report, false, rd, ld, hd);
	/* A key request may now name GUEST_SVN up to 7. */
	sa_key_req q;
	memset(&q, 0, sizeof(q));
	q.guest_field_select = 0x10;
	q.guest_svn = 7;
	uint8_t k[32];
	assert_int_equal(get_key(p.e, h, &ch, &q, k), SA_FW_SUCCESS);
	q.guest_svn = 8;
	assert_int_equal(get_key(p.e, h, &ch, &q, k), SA_FW_INVALID_PARAM);
	/* A message type the emulator does not implement: no response. */
	uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
	size_t rsp_len;
	uint8_t tsc[0x20] = {0};
	assert_int_equal(exchange(p.e, h, &ch, SA_MSG_TSC_INFO_REQ, 1, tsc, sizeof(tsc), rsp, sizeof(rsp), &rsp_len,
				  NULL, NULL),
			 SA_FW_INVALID_PARAM);
	sa_gmsg_channel_wipe(&ch);
	/* A request too long or a response buffer too short. */
	EXPECT_FW(sa_emu_guest_request(p.e, h, req, 0x100, resp, 100, &resp_len, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_LENGTH);

	/* Decommission: the handle is gone, and not reused. */
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.guest_count, 1);
	OK_FW(sa_emu_decommission(p.e, h, &fw, &err));
	EXPECT_FW(sa_emu_decommission(p.e, h, &fw, &err), SA_ERR_ARG, SA_FW_INVALID_GUEST);
	EXPECT_FW(sa_emu_guest_request(p.e, h, req, 0x100, resp, sizeof(resp), &resp_len, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_GUEST);
	assert_int_equal(sa_emu_guest_secrets(p.e, h, secrets, &err), SA_ERR_NOT_FOUND);
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.guest_count, 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/guests/%u.keys", p.dir, h);
	assert_int_not_equal(access(path, F_OK), 0);
	uint32_t h2 = 0;
	OK_FW(sa_emu_launch_start(p.e, POLICY, &h2, &fw, &err));
	assert_int_not_equal(h2, h);
	tu_plat_reopen(&p);
	EXPECT_FW(sa_emu_launch_update(p.e, h, SA_PAGE_ZERO, 0x1000, NULL, NULL, &fw, &err), SA_ERR_ARG,
		  SA_FW_INVALID_GUEST);
	OK_FW(sa_emu_launch_update(p.e, h2, SA_PAGE_ZERO, 0x1000, NULL, NULL, &fw, &err));
	sa_secrets_page_wipe(&sp);
	free(id_auth);
	tu_plat_free(&p);
}

/* ---- state files ---------------------------------------------------------- */

static void replace_in_file(const char *path, const char *from, const char *to)
{
	size_t len = 0;
	uint8_t *buf = read_whole(path, &len);
	char *s = malloc(len + 1 + strlen(to));
	assert_non_null(s);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	char *at = strstr(s, from);
	if (!at)
		fail_msg("%s: '%s' not found", path, from);
	size_t fl = strlen(from), tl = strlen(to);
	memmove(at + tl, at + fl, strlen(at + fl) + 1);
	memcpy(at, to, tl);
	write_file(path, s, strlen(s));
	free(s);
}

static void expect_open_fails(const tu_plat *p, sa_status want, const char *needle)
{
	sa_emu *e = NULL;
	sa_error err;
	sa_status st = sa_emu_open(p->dir, &e, &err);
	if (st == SA_OK) {
		sa_emu_close(e);
		fail_msg("open succeeded, expected %s", sa_status_name(want));
	}
	assert_null(e);
	if (st != want || !strstr(err.msg, needle))
		fail_msg("open: %s (%s), expected %s naming '%s'", err.msg, sa_status_name(st), sa_status_name(want),
			 needle);
}

static void corrupt_state_is_refused(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 4, &g);
	guest_wipe(&g);
	sa_emu_close(p.e);
	p.e = NULL;

	char pj[600], saved[600], gj[600], gsaved[600], keys[600];
	path_in(&p, "platform.json", pj, sizeof(pj));
	snprintf(saved, sizeof(saved), "%s/platform.json.orig", p.tmp);
	size_t len = 0;
	uint8_t *orig = read_whole(pj, &len);
	write_file(saved, orig, len);

	write_file(pj, orig, len / 2); /* truncated */
	expect_open_fails(&p, SA_ERR_FORMAT, "platform.json: not valid JSON");
	write_file(pj, "[]", 2);
	expect_open_fails(&p, SA_ERR_FORMAT, "expected a JSON object");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"product\": \"Milan\"", "\"product\": \"Rome\"");
	expect_open_fails(&p, SA_ERR_FORMAT, "product 'Rome'");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"next_handle\": 2", "\"next_handle\": \"2\"");
	expect_open_fails(&p, SA_ERR_FORMAT, "'next_handle' must be an integer");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"reported_tcb\": \"0x", "\"reported_tcb\": \"0xff");
	expect_open_fails(&p, SA_ERR_FORMAT, "reported_tcb");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"mask_chip_id\"", "\"surprise\": 1, \"mask_chip_id\"");
	expect_open_fails(&p, SA_ERR_FORMAT, "unknown field 'surprise'");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"chip_id\": \"", "\"chip_id\": \"zz");
	expect_open_fails(&p, SA_ERR_FORMAT, "'chip_id'");
	write_file(pj, orig, len);
	replace_in_file(pj, "\"current_fw\": \"1.55.29\"", "\"current_fw\": \"1.55.299\"");
	expect_open_fails(&p, SA_ERR_FORMAT, "current_fw");
	write_file(pj, orig, len);

	/* A guest file. */
	snprintf(gj, sizeof(gj), "%s/guests/%u.json", p.dir, g.handle);
	snprintf(gsaved, sizeof(gsaved), "%s/guest.orig", p.tmp);
	size_t glen = 0;
	uint8_t *gorig = read_whole(gj, &glen);
	write_file(gsaved, gorig, glen);
	replace_in_file(gj, "\"state\": \"running\"", "\"state\": \"sleeping\"");
	expect_open_fails(&p, SA_ERR_FORMAT, "state 'sleeping'");
	write_file(gj, gorig, glen);
	replace_in_file(gj, "\"handle\": 1", "\"handle\": 2");
	expect_open_fails(&p, SA_ERR_FORMAT, "the file name says 1");
	write_file(gj, gorig, glen);
	replace_in_file(gj, "\"measurement\": \"", "\"measurement\": \"00");
	expect_open_fails(&p, SA_ERR_FORMAT, "'measurement'");
	write_file(gj, gorig, glen);
	replace_in_file(gj, "\"seqno\": [", "\"seqno\": [ -1, ");
	expect_open_fails(&p, SA_ERR_FORMAT, "seqno");
	write_file(gj, gorig, glen);
	/* The keys of a running guest. */
	snprintf(keys, sizeof(keys), "%s/guests/%u.keys", p.dir, g.handle);
	size_t klen = 0;
	uint8_t *korig = read_whole(keys, &klen);
	write_file(keys, korig, klen - 1);
	expect_open_fails(&p, SA_ERR_FORMAT, ".keys");
	unlink(keys);
	expect_open_fails(&p, SA_ERR_NOT_FOUND, ".keys");
	write_file(keys, korig, klen);
	/* A chip secret of the wrong size, a key that is not a key. */
	char cs[600];
	path_in(&p, "keys/chip_secret", cs, sizeof(cs));
	size_t clen = 0;
	uint8_t *corig = read_whole(cs, &clen);
	write_file(cs, corig, 47);
	expect_open_fails(&p, SA_ERR_FORMAT, "chip_secret");
	write_file(cs, corig, clen);
	char ask[600];
	path_in(&p, "keys/ask.pem", ask, sizeof(ask));
	size_t alen = 0;
	uint8_t *aorig = read_whole(ask, &alen);
	write_file(ask, "not a key", 9);
	expect_open_fails(&p, SA_ERR_CRYPTO, "ask.pem");
	write_file(ask, aorig, alen);
	/* The ARK certificate replaced by the ASK's. */
	char arkc[600], askc[600];
	path_in(&p, "certs/ark.pem", arkc, sizeof(arkc));
	path_in(&p, "certs/ask.pem", askc, sizeof(askc));
	size_t xlen = 0, ylen = 0;
	uint8_t *xorig = read_whole(arkc, &xlen), *yorig = read_whole(askc, &ylen);
	write_file(arkc, yorig, ylen);
	expect_open_fails(&p, SA_ERR_FORMAT, "certs/ark.pem");
	write_file(arkc, xorig, xlen);

	/* Everything restored: the platform opens and the guest works. */
	sa_error err;
	assert_int_equal(sa_emu_open(p.dir, &p.e, &err), SA_OK);
	uint8_t ld[48];
	assert_int_equal(sa_emu_guest_measurement(p.e, g.handle, ld, &err), SA_OK);
	assert_memory_equal(ld, g.ld, 48);
	free(orig);
	free(gorig);
	OPENSSL_cleanse(korig, klen);
	free(korig);
	OPENSSL_cleanse(corig, clen);
	free(corig);
	OPENSSL_cleanse(aorig, alen);
	free(aorig);
	free(xorig);
	free(yorig);
	tu_plat_free(&p);
}

/* What a crash leaves behind: temporary files of interrupted writes, a guest written before
 * next_handle moved, keys of a launch whose JSON was never written. */
static void crash_leftovers(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 6, &g);
	sa_emu_close(p.e);
	p.e = NULL;

	char path[600], tmp1[600], tmp2[600], tmp3[600], orphan[600];
	/* A half-written platform.json and guest file, as sa_write_file_atomic leaves them mid-way. */
	snprintf(tmp1, sizeof(tmp1), "%s/platform.json.tmpAb12Cd", p.dir);
	write_file(tmp1, "{\"format\": \"sevattest-emu-pl", strlen("{\"format\": \"sevattest-emu-pl"));
	snprintf(tmp2, sizeof(tmp2), "%s/guests/%u.json.tmpZz9Yy8", p.dir, g.handle);
	write_file(tmp2, "{", 1);
	snprintf(tmp3, sizeof(tmp3), "%s/keys/vlek-1.pem.tmpQwErTy", p.dir);
	write_file(tmp3, "-----BEGIN", 10);
	/* The keys of a guest 42 whose JSON never made it. */
	snprintf(orphan, sizeof(orphan), "%s/guests/42.keys", p.dir);
	write_file(orphan, "x", 1);
	/* Guest 1 copied as guest 5: written, but platform.json's next_handle did not move. */
	snprintf(path, sizeof(path), "%s/guests/%u.json", p.dir, g.handle);
	size_t len = 0;
	uint8_t *buf = read_whole(path, &len);
	char five[600];
	snprintf(five, sizeof(five), "%s/guests/5.json", p.dir);
	write_file(five, buf, len);
	free(buf);
	replace_in_file(five, "\"handle\": 1", "\"handle\": 5");
	snprintf(path, sizeof(path), "%s/guests/%u.keys", p.dir, g.handle);
	buf = read_whole(path, &len);
	snprintf(five, sizeof(five), "%s/guests/5.keys", p.dir);
	write_file(five, buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);

	sa_error err;
	assert_int_equal(sa_emu_open(p.dir, &p.e, &err), SA_OK);
	assert_int_not_equal(access(tmp1, F_OK), 0);
	assert_int_not_equal(access(tmp2, F_OK), 0);
	assert_int_not_equal(access(tmp3, F_OK), 0);
	assert_int_not_equal(access(orphan, F_OK), 0);
	/* The previous state is intact and in use. */
	uint8_t ld[48], rd[64] = {0}, report[SA_SNP_REPORT_SIZE];
	assert_int_equal(sa_emu_guest_measurement(p.e, g.handle, ld, &err), SA_OK);
	assert_memory_equal(ld, g.ld, 48);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	/* Handle 5 exists, so the next launch gets 6. */
	uint32_t h = 0, fw = 0;
	OK_FW(sa_emu_launch_start(p.e, POLICY, &h, &fw, &err));
	assert_int_equal(h, 6);
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_int_equal(s.guest_count, 3);
	guest_wipe(&g);
	tu_plat_free(&p);
}

/* ---- VLEK, masks, certificate tables, other products ---------------------- */

static void vlek(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 8, &g);
	sa_error err;
	uint32_t fw = 0;
	EXPECT_FW(sa_emu_vlek_load(p.e, "", &fw, &err), SA_ERR_ARG, SA_FW_INVALID_PARAM);
	OK_FW(sa_emu_vlek_load(p.e, "CN=cloud.example", &fw, &err));
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_true(s.vlek_loaded);
	sa_cert *v = exported_vek(p.e, true);
	assert_int_equal(v->role, SA_ROLE_VLEK);
	assert_string_equal(v->ext.csp_id, "CN=cloud.example");

	/* KEY_SEL 0 now picks the VLEK; the report has no CHIP_ID. */
	uint8_t rd[64] = {4}, report[SA_SNP_REPORT_SIZE];
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	sa_snp_report r = decode_report(report);
	assert_int_equal(sa_snp_report_signing_key(&r), SA_SIGNING_KEY_VLEK);
	assert_true(sa_all_zero(r.chip_id, 64));
	assert_verifies(p.e, p.tmp, report, true, rd, g.ld, g.host_data);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 1, report), SA_FW_SUCCESS);
	assert_int_equal(sa_snp_report_signing_key(&(sa_snp_report){.key_info = decode_report(report).key_info}),
			 SA_SIGNING_KEY_VCEK);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	/* The built certificate table carries the VLEK chain. */
	uint8_t *table = NULL;
	size_t len = 0;
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	sa_cert_table t;
	assert_int_equal(sa_cert_table_decode(table, len, &t, &err), SA_OK);
	assert_non_null(sa_cert_table_find(&t, SA_CERT_GUID_VLEK));
	assert_null(sa_cert_table_find(&t, SA_CERT_GUID_VCEK));
	free(table);
	/* VLEK-rooted derived keys differ from VCEK-rooted ones. */
	sa_key_req q;
	memset(&q, 0, sizeof(q));
	uint8_t kv[32], kc[32];
	q.key_sel = 2;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, kv), SA_FW_SUCCESS);
	q.key_sel = 1;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, kc), SA_FW_SUCCESS);
	assert_memory_not_equal(kv, kc, 32);

	/* It survives a restart; a second load replaces it. */
	tu_plat_reopen(&p);
	sa_cert *v2 = exported_vek(p.e, true);
	assert_int_equal(EVP_PKEY_eq(v->pubkey, v2->pubkey), 1);
	sa_cert_free(v2);
	q.key_sel = 2;
	assert_int_equal(get_key(p.e, g.handle, &g.ch[0], &q, kc), SA_FW_SUCCESS);
	assert_memory_equal(kv, kc, 32);
	OK_FW(sa_emu_vlek_load(p.e, "CN=other.example", &fw, &err));
	v2 = exported_vek(p.e, true);
	assert_int_not_equal(EVP_PKEY_eq(v->pubkey, v2->pubkey), 1);
	sa_cert_free(v2);
	char path[600];
	snprintf(path, sizeof(path), "%s/keys/vlek-1.pem", p.dir);
	assert_int_not_equal(access(path, F_OK), 0);
	tu_plat_reopen(&p);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 2, report), SA_FW_SUCCESS);
	assert_verifies(p.e, p.tmp, report, true, rd, g.ld, g.host_data);
	/* A new REPORTED_TCB: the VLEK (versioned for the old one) is no longer used. */
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	sa_tcb tcb = sa_tcb_decode_for(s.current_tcb, SA_PRODUCT_MILAN);
	tcb.snp--;
	OK_FW(sa_emu_set_config(p.e, sa_tcb_encode(&tcb), false, false, &fw, &err));
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 2, report), SA_FW_INVALID_KEY);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	assert_int_equal(sa_snp_report_signing_key(&(sa_snp_report){.key_info = decode_report(report).key_info}),
			 SA_SIGNING_KEY_VCEK);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
	sa_cert_free(v);
	guest_wipe(&g);
	tu_plat_free(&p);
}

static void masks(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g;
	launch(p.e, POLICY, 10, &g);
	sa_error err;
	sa_emu_status s;
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	uint32_t fw = 0;
	OK_FW(sa_emu_set_config(p.e, s.reported_tcb, true, false, &fw, &err));
	uint8_t rd[64] = {2}, report[SA_SNP_REPORT_SIZE];
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	sa_snp_report r = decode_report(report);
	assert_true(sa_all_zero(r.chip_id, 64));
	assert_int_equal(r.key_info, 0);
	assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);

	OK_FW(sa_emu_set_config(p.e, s.reported_tcb, false, true, &fw, &err));
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_true(s.mask_chip_key);
	assert_false(s.mask_chip_id);
	assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
	r = decode_report(report);
	assert_int_equal(r.key_info, SA_KEYINFO_MASK_CHIP_KEY | SA_SIGNING_KEY_NONE << SA_KEYINFO_SIGNING_KEY_SHIFT);
	assert_true(sa_all_zero(r.sig_r, sizeof(r.sig_r)));
	assert_true(sa_all_zero(r.sig_s, sizeof(r.sig_s)));
	assert_memory_equal(r.chip_id, s.chip_id, 64);
	/* The masks persist. */
	tu_plat_reopen(&p);
	assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
	assert_true(s.mask_chip_key);
	guest_wipe(&g);
	tu_plat_free(&p);
}

static void ext_certs(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest g, h;
	launch(p.e, POLICY, 11, &g);
	launch(p.e, POLICY, 12, &h);
	sa_error err;
	/* Built from the emulator's own certificates. */
	uint8_t *table = NULL;
	size_t len = 0;
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	sa_cert_table t;
	assert_int_equal(sa_cert_table_decode(table, len, &t, &err), SA_OK);
	assert_int_equal(t.n, 3);
	const sa_cert_entry *ve = sa_cert_table_find(&t, SA_CERT_GUID_VCEK);
	assert_non_null(ve);
	assert_non_null(sa_cert_table_find(&t, SA_CERT_GUID_ARK));
	assert_non_null(sa_cert_table_find(&t, SA_CERT_GUID_ASK));
	uint8_t *vder = NULL;
	size_t vlen = 0;
	assert_int_equal(sa_emu_export_vek(p.e, false, &vder, &vlen, &err), SA_OK);
	assert_int_equal(ve->len, vlen);
	assert_memory_equal(ve->data, vder, vlen);
	free(vder);

	/* A platform-wide table: ARK only. */
	sa_cert_table one = {.n = 1};
	one.e[0] = *sa_cert_table_find(&t, SA_CERT_GUID_ARK);
	uint8_t buf[8192];
	size_t n1 = 0;
	assert_int_equal(sa_cert_table_encode(&one, buf, sizeof(buf), &n1, &err), SA_OK);
	free(table);
	assert_int_equal(sa_emu_set_ext_certs(p.e, 0, buf, n1, &err), SA_OK);
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	assert_int_equal(len, n1);
	assert_memory_equal(table, buf, n1);
	free(table);
	/* A per-guest table wins for that guest only. */
	uint8_t gt[24 * 2 + 5] = {0};
	memcpy(gt, SA_CERT_GUID_CRL, 16);
	gt[16] = 48;
	gt[20] = 5;
	memcpy(gt + 48, "hello", 5);
	assert_int_equal(sa_emu_set_ext_certs(p.e, g.handle, gt, sizeof(gt), &err), SA_OK);
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	assert_int_equal(len, sizeof(gt));
	assert_memory_equal(table, gt, sizeof(gt));
	free(table);
	assert_int_equal(sa_emu_get_ext_certs(p.e, h.handle, &table, &len, &err), SA_OK);
	assert_int_equal(len, n1);
	free(table);
	/* Persisted. */
	tu_plat_reopen(&p);
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	assert_memory_equal(table, gt, sizeof(gt));
	free(table);
	/* Malformed tables and unknown handles are refused. */
	gt[20] = 50; /* past the end */
	assert_int_not_equal(sa_emu_set_ext_certs(p.e, g.handle, gt, sizeof(gt), &err), SA_OK);
	assert_int_equal(sa_emu_set_ext_certs(p.e, 77, buf, n1, &err), SA_ERR_NOT_FOUND);
	assert_int_equal(sa_emu_get_ext_certs(p.e, 77, &table, &len, &err), SA_ERR_NOT_FOUND);
	/* Cleared: back to the platform's, then to the built one. */
	assert_int_equal(sa_emu_set_ext_certs(p.e, g.handle, NULL, 0, &err), SA_OK);
	assert_int_equal(sa_emu_get_ext_certs(p.e, g.handle, &table, &len, &err), SA_OK);
	assert_int_equal(len, n1);
	free(table);
	assert_int_equal(sa_emu_set_ext_certs(p.e, 0, NULL, 0, &err), SA_OK);
	assert_int_equal(sa_emu_get_ext_certs(p.e, 0, &table, &len, &err), SA_OK);
	assert_int_equal(sa_cert_table_decode(table, len, &t, &err), SA_OK);
	assert_int_equal(t.n, 3);
	free(table);
	guest_wipe(&g);
	guest_wipe(&h);
	tu_plat_free(&p);
}

static void other_products(void **state)
{
	(void)state;
	static const struct {
		sa_product product;
		uint32_t version;
		uint8_t fam, mod;
		const char *name;
	} cases[] = {
	    {SA_PRODUCT_GENOA, 3, 0x19, 0x11, "Genoa"},
	    {SA_PRODUCT_TURIN, 5, 0x1A, 0x02, "Turin"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_plat p;
		tu_plat_create(&p, cases[i].product);
		struct guest g;
		launch(p.e, POLICY, 13, &g);
		sa_error err;
		sa_emu_status s;
		assert_int_equal(sa_emu_platform_status(p.e, &s, &err), SA_OK);
		size_t hl = sa_product_hwid_len(cases[i].product);
		assert_false(sa_all_zero(s.chip_id, hl));
		assert_true(sa_all_zero(s.chip_id + hl, 64 - hl));
		uint8_t rd[64] = {5}, report[SA_SNP_REPORT_SIZE];
		assert_int_equal(get_report(p.e, g.handle, &g.ch[0], rd, 0, 0, report), SA_FW_SUCCESS);
		sa_snp_report r = decode_report(report);
		assert_int_equal(r.version, cases[i].version);
		assert_int_equal(r.cpuid_fam_id, cases[i].fam);
		assert_int_equal(r.cpuid_mod_id, cases[i].mod);
		assert_int_equal(sa_snp_report_cpuid_product(&r), cases[i].product);
		assert_verifies(p.e, p.tmp, report, false, rd, g.ld, g.host_data);
		sa_cert *v = exported_vek(p.e, false);
		assert_string_equal(v->ext.product_name, cases[i].name);
		assert_int_equal(v->ext.hwid_len, hl);
		if (cases[i].product == SA_PRODUCT_TURIN) {
			sa_tcb t = sa_tcb_decode_for(s.reported_tcb, SA_PRODUCT_TURIN);
			assert_int_equal(t.fmc, 1);
			assert_true(v->ext.has_fmc);
			assert_int_equal(v->ext.fmc, 1);
			assert_int_equal(v->ext.struct_version, 1);
		}
		sa_cert_free(v);
		guest_wipe(&g);
		tu_plat_free(&p);
	}
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 3

struct worker {
	sa_emu *e;
	struct guest *g;
	unsigned id;
	uint8_t reports[ROUNDS][SA_SNP_REPORT_SIZE];
	uint8_t rd[ROUNDS][64];
	int failed; /* cmocka's asserts are not for threads: failures are counted and checked after join */
	char why[600];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < ROUNDS && !w->failed; i++) {
		memset(w->rd[i], (int)(w->id * 16 + i), 64);
		sa_report_req q;
		memset(&q, 0, sizeof(q));
		memcpy(q.report_data, w->rd[i], 64);
		uint8_t payload[SA_REPORT_REQ_SIZE], req[SA_GMSG_PAGE_SIZE], resp[SA_GMSG_PAGE_SIZE];
		uint8_t rsp[SA_GMSG_MAX_PAYLOAD];
		size_t req_len = 0, resp_len = 0, rsp_len = 0;
		uint32_t fw = 0;
		sa_error err;
		sa_report_rsp r;
		if (sa_report_req_encode(&q, payload, &err) != SA_OK ||
		    sa_gmsg_channel_request(&w->g->ch[0], SA_MSG_REPORT_REQ, 1, payload, sizeof(payload), req,
					    sizeof(req), &req_len, &err) != SA_OK ||
		    sa_emu_guest_request(w->e, w->g->handle, req, req_len, resp, sizeof(resp), &resp_len, &fw, &err) !=
			SA_OK ||
		    sa_gmsg_channel_response(&w->g->ch[0], resp, resp_len, rsp, sizeof(rsp), &rsp_len, &err) != SA_OK ||
		    sa_report_rsp_decode(rsp, rsp_len, &r, &err) != SA_OK) {
			w->failed = 1;
			snprintf(w->why, sizeof(w->why), "round %u: %s", i, err.msg);
		} else if (r.status != SA_FW_SUCCESS) {
			w->failed = 1;
			snprintf(w->why, sizeof(w->why), "round %u: status 0x%x", i, r.status);
		} else {
			memcpy(w->reports[i], r.report, SA_SNP_REPORT_SIZE);
		}
	}
	return NULL;
}

static void threads(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_MILAN);
	struct guest *gs = calloc(THREADS, sizeof(*gs));
	struct worker *ws = calloc(THREADS, sizeof(*ws));
	assert_non_null(gs);
	assert_non_null(ws);
	for (unsigned i = 0; i < THREADS; i++)
		launch(p.e, POLICY, 20 + i, &gs[i]);
	pthread_t tids[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		ws[i].e = p.e;
		ws[i].g = &gs[i];
		ws[i].id = i;
		assert_int_equal(pthread_create(&tids[i], NULL, worker_main, &ws[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		if (ws[i].failed)
			fail_msg("thread %u: %s", i, ws[i].why);
		for (unsigned j = 0; j < ROUNDS; j++)
			assert_verifies(p.e, p.tmp, ws[i].reports[j], false, ws[i].rd[j], gs[i].ld, gs[i].host_data);
		assert_int_equal(gs[i].ch[0].seqno, 2 * ROUNDS);
		guest_wipe(&gs[i]);
	}
	free(gs);
	free(ws);
	tu_plat_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_open_status),
	    cmocka_unit_test(exports),
	    cmocka_unit_test(launch_and_verify),
	    cmocka_unit_test(two_guests_have_their_own_keys),
	    cmocka_unit_test(state_survives_reopen_and_replay_is_refused),
	    cmocka_unit_test(counter_journal_torn_and_damaged),
	    cmocka_unit_test(tcb_change_gives_a_new_vcek),
	    cmocka_unit_test(derived_keys),
	    cmocka_unit_test(misuse_gets_firmware_status),
	    cmocka_unit_test(corrupt_state_is_refused),
	    cmocka_unit_test(crash_leftovers),
	    cmocka_unit_test(vlek),
	    cmocka_unit_test(masks),
	    cmocka_unit_test(ext_certs),
	    cmocka_unit_test(other_products),
	    cmocka_unit_test(threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
