/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QMP: the message reader's limits and malformed input; the client against a
 * fake server in a thread (events interleaved, other ids, errors, early
 * close, greeting variants); the server against the real emulator (SEV-ES,
 * SNP and a VM without SEV) on a socketpair.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sevattest/emu.h"
#include "sevattest/encoding.h"
#include "sevattest/gctx.h"
#include "sevattest/qmp.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "testutil.h"

/* ---- the reader ------------------------------------------------------------- */

static json_object *feed_one(sa_qmp_reader *r, const char *text, sa_status want)
{
	json_object *m = NULL;
	sa_error err;
	sa_status st = sa_qmp_reader_next(r, (const uint8_t *)text, strlen(text), &m, &err);
	if (st != want)
		fail_msg("'%s': status %d, want %d (%s)", text, st, want, st ? err.msg : "");
	return m;
}

static void test_reader_basic(void **state)
{
	(void)state;
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 0, 0);
	json_object *m = feed_one(&r, "  {\"a\": 1}\r\n{\"b\": [1, {\"c\": \"}\\\"{:\"}]}  {\"d\"", SA_OK);
	assert_non_null(m);
	assert_int_equal(json_object_get_int(json_object_object_get(m, "a")), 1);
	json_object_put(m);
	m = feed_one(&r, "", SA_OK);
	assert_non_null(m);
	assert_true(json_object_object_get_ex(m, "b", NULL));
	json_object_put(m);
	m = feed_one(&r, "", SA_OK);
	assert_null(m);
	assert_int_equal(sa_qmp_reader_pending(&r), 4); /* {"d" */
	m = feed_one(&r, ": \"x:y\", \"e:f\": 2}", SA_OK);
	assert_non_null(m);
	assert_string_equal(json_object_get_string(json_object_object_get(m, "d")), "x:y");
	json_object_put(m);
	assert_int_equal(sa_qmp_reader_pending(&r), 0);

	/* byte by byte */
	const char *msg = "{\"execute\": \"query-sev\", \"id\": {\"n\": [1, 2]}}";
	for (size_t i = 0; msg[i]; i++) {
		sa_error err;
		assert_int_equal(sa_qmp_reader_next(&r, (const uint8_t *)msg + i, 1, &m, &err), SA_OK);
		if (msg[i + 1])
			assert_null(m);
	}
	assert_non_null(m);
	assert_string_equal(json_object_get_string(json_object_object_get(m, "execute")), "query-sev");
	json_object_put(m);
	sa_qmp_reader_free(&r);
}

static void test_reader_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"a\": }",                 /* not JSON */
		"{\"a\": 1, \"a\": 2}",      /* duplicate key */
		"{\"x\": {\"a\": 1, \"a\": 1}}", /* nested duplicate */
		"{\"a\": \"\\u0000\"}",      /* NUL escape */
		"{\"a\": \"x\ty\"}",         /* raw control character */
		"{\"a\": \"\xc3\x28\"}",     /* invalid UTF-8 */
		"[1, 2]",                    /* not an object */
		"123",                       /* a lone token */
		"{\"a\": 1,}",               /* trailing comma (strict) */
		"{'a': 1}",                  /* single quotes (strict) */
		"{\"a\": 1]",                /* mismatched */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sa_qmp_reader r;
		sa_qmp_reader_init(&r, 0, 0);
		char buf[128];
		snprintf(buf, sizeof(buf), "%s {\"ok\": true}", bad[i]);
		json_object *m = feed_one(&r, buf, SA_ERR_FORMAT);
		assert_null(m);
		/* the stream continues after the bad message */
		m = feed_one(&r, "", SA_OK);
		if (m == NULL)
			fail_msg("no message after '%s'", bad[i]);
		assert_true(json_object_object_get_ex(m, "ok", NULL));
		json_object_put(m);
		sa_qmp_reader_free(&r);
	}
}

static void test_reader_limits(void **state)
{
	(void)state;
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 64, 4);
	json_object *m = feed_one(&r, "{\"a\": [[{\"b\": 1}]]}", SA_OK); /* depth 4 */
	assert_non_null(m);
	json_object_put(m);
	m = feed_one(&r, "{\"a\": [[[{}]]]}", SA_ERR_RANGE); /* depth 5 */
	assert_null(m);
	/* poisoned for good */
	feed_one(&r, "{}", SA_ERR_RANGE);
	sa_qmp_reader_free(&r);

	sa_qmp_reader_init(&r, 64, 4);
	char big[100];
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"a\": \"", 7);
	big[sizeof(big) - 1] = 0;
	/* incomplete and already over the limit */
	feed_one(&r, big, SA_ERR_RANGE);
	sa_qmp_reader_free(&r);

	/* exactly at the size limit is fine */
	sa_qmp_reader_init(&r, 16, 0);
	m = feed_one(&r, "{\"a\": \"123456\"}", SA_OK); /* 15 bytes */
	assert_non_null(m);
	json_object_put(m);
	m = feed_one(&r, "{\"a\": \"1234567\"}", SA_OK); /* 16 bytes */
	assert_non_null(m);
	json_object_put(m);
	feed_one(&r, "{\"a\": \"12345678\"}", SA_ERR_RANGE);
	sa_qmp_reader_free(&r);
}

/* ---- the client against a fake server ----------------------------------------------- */

enum fake_mode {
	FAKE_NORMAL,      /* greeting, then answer each request */
	FAKE_INTERLEAVE,  /* an event and a reply with another id before each reply */
	FAKE_ERROR,       /* answer commands other than qmp_capabilities with an error */
	FAKE_CLOSE,       /* close after the capabilities */
	FAKE_NO_ID,       /* reply to commands without an id */
	FAKE_SILENT,      /* never answer commands after the capabilities */
	FAKE_BAD_GREETING,
	FAKE_SPLIT,       /* every message written one byte at a time */
};

struct fake {
	int fd;
	enum fake_mode mode;
	const char *greeting;
};

static void fake_write(struct fake *f, const char *text)
{
	size_t n = strlen(text);
	if (f->mode == FAKE_SPLIT) {
		for (size_t i = 0; i < n; i++)
			if (write(f->fd, text + i, 1) != 1)
				return;
	} else if (write(f->fd, text, n) != (ssize_t)n) {
		return;
	}
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	fake_write(f, f->greeting ? f->greeting
				  : "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
				    "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18\"}, \"capabilities\": [\"oob\"]}}\r\n");
	if (f->mode == FAKE_BAD_GREETING)
		goto out;
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 0, 0);
	uint8_t buf[4096];
	for (;;) {
		json_object *req = NULL;
		sa_error err;
		ssize_t n = 0;
		while (req == NULL) {
			if (sa_qmp_reader_next(&r, buf, (size_t)n, &req, &err) != SA_OK)
				goto done;
			if (req != NULL)
				break;
			n = read(f->fd, buf, sizeof(buf));
			if (n <= 0)
				goto done;
		}
		const char *cmd = json_object_get_string(json_object_object_get(req, "execute"));
		const char *id = json_object_to_json_string(json_object_object_get(req, "id"));
		bool caps = cmd && strcmp(cmd, "qmp_capabilities") == 0;
		char out[1024];
		if (!caps && f->mode == FAKE_CLOSE) {
			json_object_put(req);
			goto done;
		}
		if (!caps && f->mode == FAKE_SILENT) {
			json_object_put(req);
			continue;
		}
		if (!caps && f->mode == FAKE_INTERLEAVE) {
			fake_write(f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"
				      "{\"return\": {\"not\": \"ours\"}, \"id\": \"sevattest-999\"}\r\n");
		}
		if (!caps && f->mode == FAKE_ERROR)
			snprintf(out, sizeof(out),
				 "{\"id\": %s, \"error\": {\"class\": \"GenericError\", \"desc\": \"SEV is not enabled\"}}\r\n",
				 id);
		else if (!caps && f->mode == FAKE_NO_ID)
			snprintf(out, sizeof(out), "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n");
		else if (caps)
			snprintf(out, sizeof(out), "{\"return\": {}, \"id\": %s}\r\n", id);
		else
			snprintf(out, sizeof(out), "{\"return\": {\"cmd\": \"%s\"}, \"id\": %s}\r\n", cmd, id);
		json_object_put(req);
		fake_write(f, out);
	}
done:
	sa_qmp_reader_free(&r);
out:
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	return NULL;
}

static sa_status fake_open(struct fake *f, pthread_t *th, sa_qmp **q, int timeout, sa_error *err)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->fd = sv[1];
	assert_int_equal(pthread_create(th, NULL, fake_thread, f), 0);
	return sa_qmp_open_fd(sv[0], timeout, q, err);
}

static void test_client_normal(void **state)
{
	(void)state;
	const enum fake_mode modes[] = {FAKE_NORMAL, FAKE_SPLIT, FAKE_INTERLEAVE};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct fake f = {.mode = modes[i]};
		pthread_t th;
		sa_qmp *q = NULL;
		sa_error err;
		if (fake_open(&f, &th, &q, 5000, &err) != SA_OK)
			fail_msg("open: %s", err.msg);
		const sa_qmp_greeting *g = sa_qmp_get_greeting(q);
		assert_int_equal(g->major, 7);
		assert_int_equal(g->minor, 2);
		assert_int_equal(g->micro, 22);
		assert_true(g->oob);
		assert_string_equal(g->package, "Debian 1:7.2+dfsg-7+deb12u18");
		for (int k = 0; k < 2; k++) {
			json_object *ret = NULL;
			assert_int_equal(sa_qmp_execute(q, "query-status", NULL, &ret, NULL, &err), SA_OK);
			assert_string_equal(json_object_get_string(json_object_object_get(ret, "cmd")), "query-status");
			json_object_put(ret);
		}
		if (modes[i] == FAKE_INTERLEAVE) {
			/* two events and two replies to someone else, none taken for ours */
			assert_int_equal(sa_qmp_event_count(q), 4);
			json_object *ev = sa_qmp_event_get(q, 0);
			assert_string_equal(json_object_get_string(json_object_object_get(ev, "event")), "RESUME");
			ev = sa_qmp_event_get(q, 1);
			assert_string_equal(json_object_get_string(json_object_object_get(ev, "id")), "sevattest-999");
			sa_qmp_events_clear(q);
			assert_int_equal(sa_qmp_event_count(q), 0);
		} else {
			assert_int_equal(sa_qmp_event_count(q), 0);
		}
		sa_qmp_close(q);
		pthread_join(th, NULL);
	}
}

static void test_client_errors(void **state)
{
	(void)state;
	struct fake f = {.mode = FAKE_ERROR};
	pthread_t th;
	sa_qmp *q = NULL;
	sa_error err;
	assert_int_equal(fake_open(&f, &th, &q, 5000, &err), SA_OK);
	sa_qmp_error qe;
	uint8_t mnonce[16] = {1}, *rep = NULL;
	size_t len = 0;
	assert_int_equal(sa_qmp_query_sev_attestation_report(q, mnonce, &rep, &len, &qe, &err), SA_ERR_STATE);
	assert_null(rep);
	assert_string_equal(qe.cls, "GenericError");
	assert_string_equal(qe.desc, "SEV is not enabled");
	assert_string_equal(err.msg, "GenericError: SEV is not enabled");
	sa_qmp_close(q);
	pthread_join(th, NULL);

	/* the peer closes while we wait for our reply */
	struct fake c = {.mode = FAKE_CLOSE};
	assert_int_equal(fake_open(&c, &th, &q, 5000, &err), SA_OK);
	assert_int_equal(sa_qmp_execute(q, "query-sev", NULL, NULL, NULL, &err), SA_ERR_IO);
	assert_non_null(strstr(err.msg, "closed"));
	sa_qmp_close(q);
	pthread_join(th, NULL);

	/* a reply without an id is not taken for ours */
	struct fake n = {.mode = FAKE_NO_ID};
	assert_int_equal(fake_open(&n, &th, &q, 5000, &err), SA_OK);
	assert_int_equal(sa_qmp_execute(q, "query-sev", NULL, NULL, NULL, &err), SA_ERR_FORMAT);
	sa_qmp_close(q);
	pthread_join(th, NULL);

	/* no answer: the timeout */
	struct fake s = {.mode = FAKE_SILENT};
	assert_int_equal(fake_open(&s, &th, &q, 200, &err), SA_OK);
	assert_int_equal(sa_qmp_execute(q, "query-sev", NULL, NULL, NULL, &err), SA_ERR_IO);
	assert_non_null(strstr(err.msg, "200 ms"));
	sa_qmp_close(q);
	pthread_join(th, NULL);
}

static void test_client_greetings(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"hello\": 1}\r\n",
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": \"2\", \"major\": 7}, \"package\": \"\"}, "
		"\"capabilities\": []}}\r\n",
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n",
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": -7}, \"package\": \"\"}, "
		"\"capabilities\": []}}\r\n",
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
		"\"capabilities\": [1]}}\r\n",
		"[\"QMP\"]\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake f = {.mode = FAKE_BAD_GREETING, .greeting = bad[i]};
		pthread_t th;
		sa_qmp *q = NULL;
		sa_error err;
		sa_status st = fake_open(&f, &th, &q, 2000, &err);
		if (st != SA_ERR_FORMAT)
			fail_msg("greeting %zu: status %d (%s)", i, st, err.msg);
		assert_null(q);
		pthread_join(th, NULL);
	}
	/* an older QEMU without capabilities offered is fine */
	struct fake f = {.mode = FAKE_NORMAL,
			 .greeting = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 6}, "
				     "\"package\": \"\"}, \"capabilities\": []}}"};
	pthread_t th;
	sa_qmp *q = NULL;
	sa_error err;
	assert_int_equal(fake_open(&f, &th, &q, 2000, &err), SA_OK);
	assert_false(sa_qmp_get_greeting(q)->oob);
	assert_int_equal(sa_qmp_get_greeting(q)->major, 6);
	sa_qmp_close(q);
	pthread_join(th, NULL);

	assert_int_equal(sa_qmp_connect("/nonexistent/qmp.sock", 100, &q, &err), SA_ERR_NOT_FOUND);
}

/* ---- the server against the emulator ---------------------------------------------------- */

struct serve {
	int fd;
	sa_emu *e;
	uint32_t handle;
	sa_status st;
	sa_error err;
};

static void *serve_thread(void *arg)
{
	struct serve *s = arg;
	s->st = sa_qmp_serve_emu(s->fd, s->e, s->handle, 10000, &s->err);
	close(s->fd);
	return NULL;
}

static int serve_start(struct serve *s, pthread_t *th, sa_emu *e, uint32_t handle)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(s, 0, sizeof(*s));
	s->fd = sv[1];
	s->e = e;
	s->handle = handle;
	assert_int_equal(pthread_create(th, NULL, serve_thread, s), 0);
	return sv[0];
}

static sa_qmp *serve_client(struct serve *s, pthread_t *th, sa_emu *e, uint32_t handle)
{
	int fd = serve_start(s, th, e, handle);
	sa_qmp *q = NULL;
	sa_error err;
	if (sa_qmp_open_fd(fd, 10000, &q, &err) != SA_OK)
		fail_msg("open: %s", err.msg);
	return q;
}

/* Execute raw arguments (JSON text) and expect an error of class cls whose desc is desc. */
static void expect_qmp_error(sa_qmp *q, const char *cmd, const char *args_json, const char *cls, const char *desc)
{
	json_object *args = args_json ? json_tokener_parse(args_json) : NULL;
	sa_qmp_error qe;
	sa_error err;
	sa_status st = sa_qmp_execute(q, cmd, args, NULL, &qe, &err);
	json_object_put(args);
	if (st != SA_ERR_STATE)
		fail_msg("%s %s: status %d (%s), expected the error '%s'", cmd, args_json ? args_json : "", st,
			 st ? err.msg : "", desc);
	assert_string_equal(qe.cls, cls);
	if (strcmp(qe.desc, desc) != 0)
		fail_msg("%s: desc '%s', expected '%s'", cmd, qe.desc, desc);
}

static uint32_t launch_sev_es(sa_emu *e)
{
	uint32_t handle = 0, fw = 0;
	sa_error err;
	uint32_t policy = SA_SEV_POLICY_NODBG | SA_SEV_POLICY_NOKS | SA_SEV_POLICY_ES;
	if (sa_emu_sev_launch_start(e, policy, NULL, 0, NULL, 0, &handle, &fw, &err) != SA_OK)
		fail_msg("launch start: %s", err.msg);
	uint8_t data[64];
	memset(data, 0x5a, sizeof(data));
	if (sa_emu_sev_launch_update_data(e, handle, data, sizeof(data), &fw, &err) != SA_OK)
		fail_msg("update data: %s", err.msg);
	uint8_t *vmsa = calloc(1, 4096);
	assert_non_null(vmsa);
	if (sa_emu_sev_launch_update_vmsa(e, handle, vmsa, 4096, &fw, &err) != SA_OK)
		fail_msg("update vmsa: %s", err.msg);
	free(vmsa);
	return handle;
}

static void test_server_sev(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_UNKNOWN);
	uint32_t h = launch_sev_es(p.e);
	struct serve s;
	pthread_t th;
	sa_qmp *q = serve_client(&s, &th, p.e, h);
	sa_error err;
	sa_qmp_error qe;

	const sa_qmp_greeting *g = sa_qmp_get_greeting(q);
	assert_string_equal(g->package, "sevattest-emu");
	assert_int_equal(g->major, 7);
	assert_int_equal(g->minor, 2);

	/* the server took LAUNCH_MEASURE as QEMU does at machine-init-done */
	sa_qmp_sev_info si;
	assert_int_equal(sa_qmp_query_sev(q, &si, &qe, &err), SA_OK);
	assert_true(si.enabled);
	assert_string_equal(si.sev_type, "sev");
	assert_string_equal(si.state, "launch-secret");
	assert_int_equal(si.handle, h);
	assert_int_equal(si.policy, SA_SEV_POLICY_NODBG | SA_SEV_POLICY_NOKS | SA_SEV_POLICY_ES);

	json_object *ret = NULL;
	assert_int_equal(sa_qmp_execute(q, "query-status", NULL, &ret, NULL, &err), SA_OK);
	assert_string_equal(json_object_get_string(json_object_object_get(ret, "status")), "prelaunch");
	json_object_put(ret);

	uint8_t *blob = NULL;
	size_t blob_len = 0;
	assert_int_equal(sa_qmp_query_sev_launch_measure(q, &blob, &blob_len, &qe, &err), SA_OK);
	assert_int_equal(blob_len, SA_SEV_MEASURE_BLOB_SIZE);
	free(blob);

	/* capabilities: the PEK of the cert chain signs the report */
	sa_qmp_sev_caps caps;
	if (sa_qmp_query_sev_capabilities(q, &caps, &qe, &err) != SA_OK)
		fail_msg("capabilities: %s", err.msg);
	assert_int_equal(caps.pdh_len, 0x824);
	assert_int_equal(caps.cert_chain_len, 3 * 0x824);
	assert_int_equal(caps.cpu0_id_len, 64);
	assert_int_equal(caps.cbitpos, 51);
	assert_int_equal(caps.reduced_phys_bits, 1);
	sa_sev_cert pek;
	if (sa_sev_cert_decode(caps.cert_chain, 0x824, &pek, &err) != SA_OK)
		fail_msg("PEK: %s", err.msg);

	uint8_t mnonce[16];
	for (int i = 0; i < 16; i++)
		mnonce[i] = (uint8_t)(0xA0 + i);
	uint8_t *rep = NULL;
	size_t rep_len = 0;
	if (sa_qmp_query_sev_attestation_report(q, mnonce, &rep, &rep_len, &qe, &err) != SA_OK)
		fail_msg("report: %s", err.msg);
	assert_int_equal(rep_len, SA_SEV_REPORT_SIZE);
	sa_sev_report r;
	assert_int_equal(sa_sev_report_decode(rep, rep_len, &r, &err), SA_OK);
	assert_memory_equal(r.mnonce, mnonce, 16);
	if (sa_sev_report_verify_sig(&r, &pek, &err) != SA_OK)
		fail_msg("report signature: %s", err.msg);
	sa_emu_sev_guest_info gi;
	assert_int_equal(sa_emu_sev_guest_info_get(p.e, h, &gi, &err), SA_OK);
	assert_memory_equal(r.launch_digest, gi.launch_digest, 32);
	free(rep);

	/* the generic command: the same report, split into fields, data verifies unchanged */
	assert_int_equal(sa_qmp_query_attestation_report(q, mnonce, &ret, &qe, &err), SA_OK);
	assert_int_equal(sa_qmp_attestation_sev_data(ret, &rep, &rep_len, &err), SA_OK);
	assert_int_equal(sa_sev_report_decode(rep, rep_len, &r, &err), SA_OK);
	assert_int_equal(sa_sev_report_verify_sig(&r, &pek, &err), SA_OK);
	json_object *sev = json_object_object_get(ret, "sev");
	char *b64 = sa_base64_encode(mnonce, 16);
	assert_string_equal(json_object_get_string(json_object_object_get(sev, "mnonce")), b64);
	free(b64);
	b64 = sa_base64_encode(gi.launch_digest, 32);
	assert_string_equal(json_object_get_string(json_object_object_get(sev, "launch-digest")), b64);
	free(b64);
	assert_int_equal(json_object_get_int64(json_object_object_get(sev, "policy")), gi.policy);
	assert_int_equal(json_object_get_int64(json_object_object_get(sev, "sig-usage")), r.sig_usage);
	json_object *sig = json_object_object_get(sev, "signature");
	b64 = sa_base64_encode(r.sig_r, sizeof(r.sig_r));
	assert_string_equal(json_object_get_string(json_object_object_get(sig, "r")), b64);
	free(b64);
	assert_false(json_object_object_get_ex(ret, "snp", NULL));
	free(rep);
	json_object_put(ret);
	sa_qmp_sev_caps_free(&caps);

	/* GLib's lenient base64: junk characters skipped */
	json_object *lenient = json_tokener_parse("{\"mnonce\": \"AAAA*AAAA AAAA\\nAAAAAAAAAA==\"}");
	assert_non_null(lenient);
	if (sa_qmp_execute(q, "query-sev-attestation-report", lenient, &ret, &qe, &err) != SA_OK)
		fail_msg("lenient mnonce: %s", err.msg);
	json_object_put(lenient);
	json_object_put(ret);

	/* QEMU's texts */
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"AAAAAAAAAAA=\"}", "GenericError",
			 "SEV: mnonce must be 16 bytes (got 8)");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"\"}", "GenericError",
			 "SEV: mnonce must be 16 bytes (got 0)");
	expect_qmp_error(q, "query-sev-attestation-report", NULL, "GenericError", "Parameter 'mnonce' is missing");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": 123}", "GenericError",
			 "Invalid parameter type for 'mnonce', expected: string");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"AAAAAAAAAAAAAAAAAAAAAA==\", \"x\": 1}",
			 "GenericError", "Parameter 'x' is unexpected");
	expect_qmp_error(q, "query-sev", "{\"x\": 1}", "GenericError", "Parameter 'x' is unexpected");
	expect_qmp_error(q, "no-such-command", NULL, "CommandNotFound", "The command no-such-command has not been found");
	expect_qmp_error(q, "qmp_capabilities", NULL, "CommandNotFound",
			 "Capabilities negotiation is already complete, command ignored");
	expect_qmp_error(q, "sev-inject-launch-secret", "{\"packet-header\": \"AA==\", \"secret\": \"AA==\"}",
			 "GenericError", "SEV: no secret area found in OVMF, gpa must be specified.");
	expect_qmp_error(q, "sev-inject-launch-secret", "{\"packet-header\": \"AA==\", \"secret\": \"AA==\", \"gpa\": -1}",
			 "GenericError", "Invalid parameter type for 'gpa', expected: uint64");
	expect_qmp_error(q, "sev-inject-launch-secret",
			 "{\"packet-header\": \"**\", \"secret\": \"AA==\", \"gpa\": 8388608}", "GenericError",
			 "SEV: Failed to decode sequence header");
	expect_qmp_error(q, "sev-inject-launch-secret",
			 "{\"packet-header\": \"AAAA\", \"secret\": \"!\", \"gpa\": 8388608}", "GenericError",
			 "SEV: Failed to decode data");

	/* a well-formed packet the firmware refuses: its MAC is not under the guest's TIK */
	uint8_t hdr[SA_SEV_SECRET_HDR_SIZE] = {0}, secret[32] = {0};
	assert_int_equal(sa_qmp_sev_inject_launch_secret(q, hdr, sizeof(hdr), secret, sizeof(secret), true, 0x800000,
							 &qe, &err),
			 SA_ERR_STATE);
	assert_string_equal(qe.cls, "GenericError");
	if (strncmp(qe.desc, "SEV: failed to inject secret ret=-5 fw_error=", 45) != 0)
		fail_msg("inject: '%s'", qe.desc);

	/* cont: LAUNCH_FINISH, a RESUME event, then running */
	sa_qmp_events_clear(q);
	assert_int_equal(sa_qmp_execute(q, "cont", NULL, NULL, &qe, &err), SA_OK);
	assert_int_equal(sa_qmp_query_sev(q, &si, &qe, &err), SA_OK);
	assert_string_equal(si.state, "running");
	assert_int_equal(sa_qmp_event_count(q), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(sa_qmp_event_get(q, 0), "event")), "RESUME");
	assert_true(json_object_object_get_ex(sa_qmp_event_get(q, 0), "timestamp", NULL));
	expect_qmp_error(q, "sev-inject-launch-secret",
			 "{\"packet-header\": \"AAAA\", \"secret\": \"AAAA\", \"gpa\": 8388608}", "GenericError",
			 "SEV: Not in correct state. (LSECRET) 3");
	/* reports still come in RUNNING */
	assert_int_equal(sa_qmp_query_sev_attestation_report(q, mnonce, &rep, &rep_len, &qe, &err), SA_OK);
	free(rep);

	/* quit: {} and SHUTDOWN, then the server ends */
	assert_int_equal(sa_qmp_execute(q, "quit", NULL, NULL, &qe, &err), SA_OK);
	pthread_join(th, NULL);
	assert_int_equal(s.st, SA_OK);
	sa_qmp_close(q);
	tu_plat_free(&p);
}

static void test_server_no_sev(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_UNKNOWN);
	struct serve s;
	pthread_t th;
	sa_qmp *q = serve_client(&s, &th, p.e, 0);
	sa_error err;
	sa_qmp_error qe;
	sa_qmp_sev_info si;
	assert_int_equal(sa_qmp_query_sev(q, &si, &qe, &err), SA_OK);
	assert_false(si.enabled);
	assert_string_equal(si.state, "uninit");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"ZBaOEOsVmenc5q34VJb9jw==\"}", "GenericError",
			 "SEV is not enabled");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"not base64 at all\"}", "GenericError",
			 "SEV is not enabled");
	expect_qmp_error(q, "query-attestation-report", NULL, "GenericError", "SEV is not enabled");
	expect_qmp_error(q, "query-sev-launch-measure", NULL, "GenericError", "SEV launch measurement is not available");
	expect_qmp_error(q, "sev-inject-launch-secret", "{\"packet-header\": \"AA==\", \"secret\": \"AA==\", \"gpa\": 0}",
			 "GenericError", "SEV not enabled for guest");
	json_object *ret = NULL;
	assert_int_equal(sa_qmp_execute(q, "query-commands", NULL, &ret, NULL, &err), SA_OK);
	assert_true(json_object_array_length(ret) >= 12);
	json_object_put(ret);
	sa_qmp_close(q); /* the peer closes: the server returns OK */
	pthread_join(th, NULL);
	assert_int_equal(s.st, SA_OK);
	tu_plat_free(&p);
}

static void test_server_snp(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_UNKNOWN);
	uint32_t h = 0, fw = 0;
	sa_error err;
	assert_int_equal(sa_emu_launch_start(p.e, 0x30000, &h, &fw, &err), SA_OK);
	uint8_t page[4096];
	memset(page, 0x11, sizeof(page));
	assert_int_equal(sa_emu_launch_update(p.e, h, SA_PAGE_NORMAL, 0x100000, page, NULL, &fw, &err), SA_OK);
	uint8_t host_data[32];
	memset(host_data, 0x42, sizeof(host_data));
	assert_int_equal(sa_emu_launch_finish(p.e, h, NULL, NULL, false, host_data, &fw, &err), SA_OK);

	struct serve s;
	pthread_t th;
	sa_qmp *q = serve_client(&s, &th, p.e, h);
	sa_qmp_error qe;
	sa_qmp_sev_info si;
	assert_int_equal(sa_qmp_query_sev(q, &si, &qe, &err), SA_OK);
	assert_true(si.enabled);
	assert_string_equal(si.sev_type, "sev-snp");
	assert_int_equal(si.snp_policy, 0x30000);
	assert_string_equal(si.state, "running");
	expect_qmp_error(q, "query-sev-attestation-report", "{\"mnonce\": \"ZBaOEOsVmenc5q34VJb9jw==\"}", "GenericError",
			 "SEV: Failed to query the attestation report length ret=-1 fw_err=0 ()");
	expect_qmp_error(q, "query-sev-launch-measure", NULL, "GenericError", "SEV launch measurement is not available");
	json_object *ret = NULL;
	assert_int_equal(sa_qmp_query_attestation_report(q, NULL, &ret, &qe, &err), SA_OK);
	assert_false(json_object_object_get_ex(ret, "sev", NULL));
	json_object *snp = json_object_object_get(ret, "snp");
	assert_non_null(snp);
	uint8_t ld[48];
	assert_int_equal(sa_emu_guest_measurement(p.e, h, ld, &err), SA_OK);
	char *b64 = sa_base64_encode(ld, 48);
	assert_string_equal(json_object_get_string(json_object_object_get(snp, "measurement")), b64);
	free(b64);
	b64 = sa_base64_encode(host_data, 32);
	assert_string_equal(json_object_get_string(json_object_object_get(snp, "host-data")), b64);
	free(b64);
	assert_int_equal(json_object_get_int64(json_object_object_get(snp, "policy")), 0x30000);
	assert_true(json_object_get_string_len(json_object_object_get(snp, "certs")) > 0);
	assert_false(json_object_object_get_ex(snp, "id-key-digest", NULL));
	uint8_t *rep = NULL;
	size_t len = 0;
	assert_int_equal(sa_qmp_attestation_sev_data(ret, &rep, &len, &err), SA_ERR_NOT_FOUND);
	json_object_put(ret);
	sa_qmp_close(q);
	pthread_join(th, NULL);
	tu_plat_free(&p);
}

/* Raw bytes to the server: negotiation, id echoed verbatim, parse errors, the stream going on. */
static json_object *raw_next(sa_qmp_reader *r, int fd)
{
	uint8_t buf[4096];
	ssize_t n = 0;
	for (;;) {
		json_object *m = NULL;
		sa_error err;
		if (sa_qmp_reader_next(r, buf, (size_t)n, &m, &err) != SA_OK)
			fail_msg("reader: %s", err.msg);
		if (m != NULL)
			return m;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			fail_msg("the server closed");
	}
}

static const char *err_desc(json_object *m)
{
	json_object *e = json_object_object_get(m, "error");
	return e ? json_object_get_string(json_object_object_get(e, "desc")) : "(no error)";
}

static void test_server_raw(void **state)
{
	(void)state;
	tu_plat p;
	tu_plat_create(&p, SA_PRODUCT_UNKNOWN);
	struct serve s;
	pthread_t th;
	int fd = serve_start(&s, &th, p.e, 0);
	sa_qmp_reader r;
	sa_qmp_reader_init(&r, 0, 0);
	json_object *m = raw_next(&r, fd);
	assert_true(json_object_object_get_ex(m, "QMP", NULL));
	json_object_put(m);

	const char *in = "{\"execute\": \"query-sev\", \"id\": {\"a\": [1, \"x\"]}}\n";
	assert_int_equal(write(fd, in, strlen(in)), (ssize_t)strlen(in));
	m = raw_next(&r, fd);
	assert_string_equal(err_desc(m), "Expecting capabilities negotiation with 'qmp_capabilities'");
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(m, "error"), "class")),
			    "CommandNotFound");
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(m, "id"), JSON_C_TO_STRING_PLAIN),
			    "{\"a\":[1,\"x\"]}");
	json_object_put(m);

	in = "{\"execute\": \"qmp_capabilities\", \"id\": 7} {\"execute\": 5} {\"arguments\": {}} {\"execute\": "
	     "\"query-sev\", \"foo\": 1} {\"execute\": \"query-sev\", \"arguments\": []} {\"a\": 1, \"a\": 2}"
	     "{\"exec-oob\": \"query-sev\"} {\"execute\": \"query-sev\", \"id\": null}";
	assert_int_equal(write(fd, in, strlen(in)), (ssize_t)strlen(in));
	m = raw_next(&r, fd);
	assert_true(json_object_object_get_ex(m, "return", NULL));
	assert_int_equal(json_object_get_int(json_object_object_get(m, "id")), 7);
	json_object_put(m);
	static const char *const want[] = {
		"QMP input member 'execute' must be a string",
		"Expected either 'execute' or 'exec-oob'",
		"QMP input member 'foo' is unexpected",
		"QMP input member 'arguments' must be an object",
		"JSON parse error, duplicate key",
		"The command query-sev does not support OOB",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		m = raw_next(&r, fd);
		if (strcmp(err_desc(m), want[i]) != 0)
			fail_msg("reply %zu: '%s', expected '%s'", i, err_desc(m), want[i]);
		json_object_put(m);
	}
	m = raw_next(&r, fd);
	assert_true(json_object_object_get_ex(m, "return", NULL));
	json_object *id = NULL;
	assert_true(json_object_object_get_ex(m, "id", &id));
	assert_null(id); /* null echoed as null */
	json_object_put(m);

	/* an oversized message ends the connection after an error reply */
	size_t big = SA_QMP_MAX_MESSAGE_DEFAULT + 16;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text, "{\"execute\": \"", 13);
	ssize_t w = 0;
	for (size_t off = 0; off < big; off += (size_t)w) {
		w = write(fd, text + off, big - off);
		if (w <= 0)
			break;
	}
	free(text);
	m = raw_next(&r, fd);
	assert_non_null(strstr(err_desc(m), "longer than"));
	json_object_put(m);
	pthread_join(th, NULL);
	assert_int_equal(s.st, SA_ERR_RANGE);
	sa_qmp_reader_free(&r);
	close(fd);
	tu_plat_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_basic),    cmocka_unit_test(test_reader_malformed),
		cmocka_unit_test(test_reader_limits),   cmocka_unit_test(test_client_normal),
		cmocka_unit_test(test_client_errors),   cmocka_unit_test(test_client_greetings),
		cmocka_unit_test(test_server_sev),      cmocka_unit_test(test_server_no_sev),
		cmocka_unit_test(test_server_snp),      cmocka_unit_test(test_server_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
