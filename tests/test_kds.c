/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KDS client: URL paths, the cache, offline mode, back-off and HTTP errors
 * against a loopback server, completing a trust pool, CRL checks, and the SEV
 * (legacy) downloads: the ASK-signed CEK by chip ID and AMD's ASK ‖ ARK files.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sevattest/bytes.h"
#include "sevattest/cert.h"
#include "sevattest/encoding.h"
#include "sevattest/kds.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/trust.h"
#include "httpd.h"
#include "testutil.h"

#define R1_REPORT "google-go-sev-guest/verify/testdata/attestation.bin"
#define R1_VCEK "google-go-sev-guest/verify/testdata/vcek.testcer"
#define MILAN_CHAIN "google-go-sev-guest/verify/trust/ask_ark_milan.pem"
#define R4_VLEK_REPORT "confidential-containers-trustee/deps/verifier/test_data/snp/test-vlek-report.bin"
#define R10_REPORT "microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin"

#define R1_HWID                                                                                                    \
	"3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c0" \
	"5f63c9b610c5068b006b5d"
#define R1_VCEK_PATH "/vcek/v1/Milan/" R1_HWID "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"
#define MILAN_CHAIN_PATH "/vcek/v1/Milan/cert_chain"
#define MILAN_CRL_PATH "/vcek/v1/Milan/crl"

/* ---- helpers --------------------------------------------------------------- */

static void expect_ok(sa_status st, const sa_error *err)
{
	if (st != SA_OK)
		fail_msg("unexpected error %s: %s", sa_status_name(st), err->msg);
}

static void expect_err(sa_status st, const sa_error *err, sa_status want, const char *needle)
{
	if (st != want)
		fail_msg("expected %s, got %s: %s", sa_status_name(want), sa_status_name(st),
			 st == SA_OK ? "(no error)" : err->msg);
	if (needle && !strstr(err->msg, needle))
		fail_msg("error message '%s' does not mention '%s'", err->msg, needle);
}

static void read_report(const char *rel, sa_snp_report *r)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(tu_read_vector(rel, &buf, &len), 0);
	sa_error err;
	expect_ok(sa_snp_report_decode(buf, len, r, &err), &err);
	free(buf);
}

static sa_kds *kds_new(const char *url, const char *cache, bool offline, bool no_cache, unsigned retries)
{
	sa_kds_opts o = {
		.base_url = url,
		.sev_ca_url = url, /* the loopback server plays AMD's CA host too */
		.cache_dir = cache,
		.offline = offline,
		.no_cache = no_cache,
		.max_retries = retries,
		.timeout_s = 10,
		.max_backoff_s = 2,
	};
	sa_kds *k = NULL;
	sa_error err;
	expect_ok(sa_kds_new(&o, &k, &err), &err);
	return k;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%s%s", a, b);
	return s;
}

/* The server with R1's VCEK and the Milan chain in KDS layout. */
struct fixture {
	tu_httpd *srv;
	char *cache;
	uint8_t *vcek, *chain;
	size_t vcek_len, chain_len;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(tu_read_vector(R1_VCEK, &f->vcek, &f->vcek_len), 0);
	assert_int_equal(tu_read_vector(MILAN_CHAIN, &f->chain, &f->chain_len), 0);
	f->srv = tu_httpd_start();
	tu_httpd_set(f->srv, R1_VCEK_PATH, 200, "Content-Type: application/octet-stream\r\n", f->vcek, f->vcek_len);
	tu_httpd_set(f->srv, MILAN_CHAIN_PATH, 200, "Content-Type: application/x-pem-file\r\n", f->chain,
		     f->chain_len);
	f->cache = tu_tmpdir();
}

static void fixture_fini(struct fixture *f)
{
	tu_httpd_stop(f->srv);
	tu_rmtree(f->cache);
	free(f->cache);
	free(f->vcek);
	free(f->chain);
}

/* ---- 1. paths -------------------------------------------------------------- */

static void vcek_path_r1_milan(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_snp_report r;
	read_report(R1_REPORT, &r);
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_MILAN);
	char path[512];
	sa_error err;
	expect_ok(sa_kds_vcek_path(SA_PRODUCT_MILAN, r.chip_id, &t, path, sizeof(path), &err), &err);
	assert_string_equal(path, R1_VCEK_PATH);
}

static void vcek_path_r10_turin(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	sa_snp_report r;
	read_report(R10_REPORT, &r);
	assert_true(r.reported_tcb == 0x5100000004010101ull);
	static const char want[] = "/vcek/v1/Turin/59790fb1c39f35c1?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81";
	char path[512];
	sa_error err;
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_TURIN);
	expect_ok(sa_kds_vcek_path(SA_PRODUCT_TURIN, r.chip_id, &t, path, sizeof(path), &err), &err);
	assert_string_equal(path, want);
	/* A TCB decoded with the wrong (Milan) layout is re-read with Turin's. */
	t = sa_tcb_decode(r.reported_tcb, false);
	expect_ok(sa_kds_vcek_path(SA_PRODUCT_TURIN, r.chip_id, &t, path, sizeof(path), &err), &err);
	assert_string_equal(path, want);
}

static void vcek_path_genoa_synthetic(void **state)
{
	(void)state;
	uint8_t chip[64];
	for (size_t i = 0; i < sizeof(chip); i++)
		chip[i] = (uint8_t)(0xA0 + i);
	sa_tcb t = sa_tcb_decode(0x541700000000000aull, false);
	char path[512], hex[129];
	sa_error err;
	expect_ok(sa_kds_vcek_path(SA_PRODUCT_GENOA, chip, &t, path, sizeof(path), &err), &err);
	char want[512];
	snprintf(want, sizeof(want), "/vcek/v1/Genoa/%s?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84",
		 sa_hex_encode(chip, 64, hex));
	assert_string_equal(path, want);
	/* Too small a buffer is an error, not a truncated path. */
	expect_err(sa_kds_vcek_path(SA_PRODUCT_GENOA, chip, &t, path, 100, &err), &err, SA_ERR_RANGE, "buffer");
}

static void chain_and_crl_paths(void **state)
{
	(void)state;
	char path[128];
	sa_error err;
	expect_ok(sa_kds_chain_path(SA_PRODUCT_MILAN, false, path, sizeof(path), &err), &err);
	assert_string_equal(path, "/vcek/v1/Milan/cert_chain");
	expect_ok(sa_kds_chain_path(SA_PRODUCT_GENOA, true, path, sizeof(path), &err), &err);
	assert_string_equal(path, "/vlek/v1/Genoa/cert_chain");
	expect_ok(sa_kds_crl_path(SA_PRODUCT_TURIN, false, path, sizeof(path), &err), &err);
	assert_string_equal(path, "/vcek/v1/Turin/crl");
	expect_ok(sa_kds_crl_path(SA_PRODUCT_MILAN, true, path, sizeof(path), &err), &err);
	assert_string_equal(path, "/vlek/v1/Milan/crl");
	expect_err(sa_kds_chain_path(SA_PRODUCT_UNKNOWN, false, path, sizeof(path), &err), &err, SA_ERR_ARG,
		   "--product");
	expect_err(sa_kds_crl_path(SA_PRODUCT_UNKNOWN, true, path, sizeof(path), &err), &err, SA_ERR_ARG,
		   "product unknown");
}

static void vcek_path_masked_chip_id(void **state)
{
	(void)state;
	uint8_t zero[64] = {0};
	sa_tcb t = sa_tcb_decode(0x4405000000000002ull, false);
	char path[512];
	sa_error err;
	expect_err(sa_kds_vcek_path(SA_PRODUCT_MILAN, zero, &t, path, sizeof(path), &err), &err, SA_ERR_NOT_FOUND,
		   "CHIP_ID");
	/* Turin uses only the first 8 bytes: zero there is masked too. */
	uint8_t turin[64] = {0};
	turin[20] = 1;
	expect_err(sa_kds_vcek_path(SA_PRODUCT_TURIN, turin, &t, path, sizeof(path), &err), &err, SA_ERR_NOT_FOUND,
		   "CHIP_ID");
	uint8_t chip[64] = {1};
	expect_err(sa_kds_vcek_path(SA_PRODUCT_UNKNOWN, chip, &t, path, sizeof(path), &err), &err, SA_ERR_ARG,
		   "--product");
	/* And the real VLEK report (R4), whose CHIP_ID is masked. */
	if (tu_vectors_dir()) {
		sa_snp_report r;
		read_report(R4_VLEK_REPORT, &r);
		t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_MILAN);
		expect_err(sa_kds_vcek_path(SA_PRODUCT_MILAN, r.chip_id, &t, path, sizeof(path), &err), &err,
			   SA_ERR_NOT_FOUND, "all zeros");
	}
}

static void new_rejects_bad_options(void **state)
{
	(void)state;
	sa_kds *k = NULL;
	sa_error err;
	sa_kds_opts o = {.offline = true, .no_cache = true};
	expect_err(sa_kds_new(&o, &k, &err), &err, SA_ERR_ARG, "offline");
	assert_null(k);
	sa_kds_opts o2 = {.base_url = "file:///etc"};
	expect_err(sa_kds_new(&o2, &k, &err), &err, SA_ERR_ARG, "file:///etc");
	assert_null(k);
	/* Defaults work without options. */
	expect_ok(sa_kds_new(NULL, &k, &err), &err);
	sa_kds_free(k);
}

/* ---- 2. fetching through the cache ------------------------------------------ */

static void fetch_and_cache(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_snp_report r;
	read_report(R1_REPORT, &r);
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_MILAN);
	sa_error err;
	uint8_t *out = NULL;
	size_t len = 0;

	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	expect_ok(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), &err);
	assert_int_equal(len, f.vcek_len);
	assert_memory_equal(out, f.vcek, len);
	free(out);
	assert_int_equal(tu_httpd_hits(f.srv, R1_VCEK_PATH), 1);
	char seen[1024];
	assert_int_equal(tu_httpd_request(f.srv, 0, seen, sizeof(seen)), 0);
	assert_string_equal(seen, R1_VCEK_PATH);

	/* The cache mirrors the URL, directories 0700. */
	char *vfile = join(f.cache, "/vcek/v1/Milan/" R1_HWID "/blSPL=2_teeSPL=0_snpSPL=5_ucodeSPL=68.der");
	assert_true(file_exists(vfile));
	char *vdir = join(f.cache, "/vcek/v1/Milan/" R1_HWID);
	struct stat st;
	assert_int_equal(stat(vdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(vdir);

	/* Second fetch: from the cache. */
	expect_ok(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), &err);
	assert_int_equal(len, f.vcek_len);
	assert_memory_equal(out, f.vcek, len);
	free(out);
	assert_int_equal(tu_httpd_hits(f.srv, R1_VCEK_PATH), 1);

	/* The chain, twice. */
	for (int i = 0; i < 2; i++) {
		expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
		assert_int_equal(len, f.chain_len);
		assert_memory_equal(out, f.chain, len);
		free(out);
		assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 1);
	}
	char *cfile = join(f.cache, "/vcek/v1/Milan/cert_chain.pem");
	assert_true(file_exists(cfile));
	free(cfile);
	sa_kds_free(k);

	/* Offline: cached entries work, missing ones fail without touching the network. */
	unsigned total = tu_httpd_total(f.srv);
	k = kds_new(tu_httpd_url(f.srv), f.cache, true, false, 0);
	expect_ok(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), &err);
	assert_memory_equal(out, f.vcek, len);
	free(out);
	expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	free(out);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, true, &out, &len, &err), &err, SA_ERR_NOT_FOUND,
		   "offline");
	assert_non_null(strstr(err.msg, "/vlek/v1/Milan/cert_chain"));
	expect_err(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_NOT_FOUND, "offline");
	sa_tcb other = t;
	other.snp = 6;
	expect_err(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &other, &out, &len, &err), &err,
		   SA_ERR_NOT_FOUND, "snpSPL=6");
	assert_int_equal(tu_httpd_total(f.srv), total);

	/* A damaged cache entry: offline it is an error, online it is fetched again and repaired. */
	expect_ok(sa_write_file_atomic(vfile, "junk", 4, 0600, &err), &err);
	assert_int_not_equal(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), SA_OK);
	assert_non_null(strstr(err.msg, "offline"));
	sa_kds_free(k);
	k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	expect_ok(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), &err);
	assert_memory_equal(out, f.vcek, len);
	free(out);
	assert_int_equal(tu_httpd_hits(f.srv, R1_VCEK_PATH), 2);
	uint8_t *cached;
	size_t cached_len;
	expect_ok(sa_read_file(vfile, 1 << 20, &cached, &cached_len, &err), &err);
	assert_int_equal(cached_len, f.vcek_len);
	assert_memory_equal(cached, f.vcek, cached_len);
	free(cached);
	sa_kds_free(k);

	/* no_cache: every fetch goes to the server. */
	k = kds_new(tu_httpd_url(f.srv), f.cache, false, true, 0);
	for (unsigned i = 1; i <= 2; i++) {
		expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
		assert_memory_equal(out, f.chain, len);
		free(out);
		assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 1 + i);
	}
	sa_kds_free(k);
	free(vfile);
	fixture_fini(&f);
}

static void no_cache_never_writes(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_error err;
	uint8_t *out;
	size_t len;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, true, 0);
	expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	free(out);
	sa_kds_free(k);
	char *vdir = join(f.cache, "/vcek");
	assert_false(file_exists(vdir));
	free(vdir);
	fixture_fini(&f);
}

/* ---- 3. HTTP behaviour ------------------------------------------------------- */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void retry_after_then_success(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_error err;
	uint8_t *out;
	size_t len;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), NULL, false, true, 3);

	/* Two 429s with Retry-After: 0, then the answer, without waiting (no exponential 1 s + 2 s). */
	tu_httpd_throttle(f.srv, MILAN_CHAIN_PATH, 2, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_memory_equal(out, f.chain, len);
	free(out);
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 3);
	assert_true(seconds_between(&t0, &t1) < 0.9);

	/* Retry-After: 1 is honoured: the retry comes at least a second later. */
	tu_httpd_reset_counts(f.srv);
	tu_httpd_throttle(f.srv, MILAN_CHAIN_PATH, 1, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_ok(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(out);
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 2);
	double dt = seconds_between(&t0, &t1);
	assert_true(dt >= 0.95);
	assert_true(dt < 10);
	sa_kds_free(k);
	fixture_fini(&f);
}

static void rate_limited_forever(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_error err;
	uint8_t *out = NULL;
	size_t len;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 2);
	tu_httpd_throttle(f.srv, MILAN_CHAIN_PATH, ~0u, 0);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_NETWORK, "429");
	assert_non_null(strstr(err.msg, MILAN_CHAIN_PATH));
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 3); /* max_retries + 1 */
	/* Nothing of the 429 answers reached the cache. */
	char *cfile = join(f.cache, "/vcek/v1/Milan/cert_chain.pem");
	assert_false(file_exists(cfile));
	free(cfile);

	/* 503 is retried the same way. */
	tu_httpd_set(f.srv, MILAN_CRL_PATH, 503, "Retry-After: 0\r\n", "busy", 4);
	expect_err(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_NETWORK, "503");
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CRL_PATH), 3);
	sa_kds_free(k);
	fixture_fini(&f);
}

static void http_errors(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_error err;
	uint8_t *out = NULL;
	size_t len;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 3);
	sa_snp_report r;
	read_report(R1_REPORT, &r);
	sa_tcb t = sa_tcb_decode_for(r.reported_tcb, SA_PRODUCT_MILAN);

	/* 404 (no route), not retried. */
	sa_tcb other = t;
	other.ucode = 69;
	expect_err(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &other, &out, &len, &err), &err,
		   SA_ERR_NOT_FOUND, "ucodeSPL=69");
	assert_non_null(strstr(err.msg, "KDS has no VCEK"));
	assert_non_null(strstr(err.msg, tu_httpd_url(f.srv)));
	assert_int_equal(tu_httpd_total(f.srv), 1);

	/* 500: a network error naming the status, not retried. */
	tu_httpd_set(f.srv, "/vlek/v1/Milan/cert_chain", 500, NULL, "oops", 4);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, true, &out, &len, &err), &err, SA_ERR_NETWORK, "500");
	assert_int_equal(tu_httpd_hits(f.srv, "/vlek/v1/Milan/cert_chain"), 1);

	/* 200 with a body that is not a certificate: refused and not cached. */
	tu_httpd_set(f.srv, R1_VCEK_PATH, 200, NULL, "<html>maintenance</html>", 24);
	assert_int_not_equal(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), SA_OK);
	assert_non_null(strstr(err.msg, "not cached"));
	char *vfile = join(f.cache, "/vcek/v1/Milan/" R1_HWID "/blSPL=2_teeSPL=0_snpSPL=5_ucodeSPL=68.der");
	assert_false(file_exists(vfile));

	/* The chain served where the VCEK belongs: refused too. */
	tu_httpd_set(f.srv, R1_VCEK_PATH, 200, NULL, f.chain, f.chain_len);
	assert_int_not_equal(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), SA_OK);
	assert_false(file_exists(vfile));

	/* A DER certificate that is not a VCEK (the ASK) at the VCEK path. */
	sa_cert_list chain = {0};
	expect_ok(sa_cert_parse_any(f.chain, f.chain_len, &chain, &err), &err);
	assert_int_equal(chain.n, 2);
	uint8_t *ask_der;
	size_t ask_der_len;
	expect_ok(sa_cert_to_der(chain.v[0], &ask_der, &ask_der_len, &err), &err);
	sa_cert_list_free(&chain);
	tu_httpd_set(f.srv, R1_VCEK_PATH, 200, NULL, ask_der, ask_der_len);
	expect_err(sa_kds_fetch_vcek(k, SA_PRODUCT_MILAN, r.chip_id, &t, &out, &len, &err), &err, SA_ERR_FORMAT,
		   "expected a VCEK");
	assert_false(file_exists(vfile));
	free(ask_der);
	free(vfile);

	/* A chain of one certificate (the VCEK as PEM would not even be PEM): refused. */
	const char *second = strstr((const char *)f.chain + 1, "-----BEGIN CERTIFICATE");
	assert_non_null(second);
	size_t ark_len = f.chain_len - (size_t)(second - (const char *)f.chain);
	tu_httpd_set(f.srv, MILAN_CHAIN_PATH, 200, NULL, second, ark_len);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_FORMAT,
		   "1 certificates");
	/* The Milan chain at the VLEK chain path: ASK instead of ASVK. */
	tu_httpd_set(f.srv, "/vlek/v1/Milan/cert_chain", 200, NULL, f.chain, f.chain_len);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, true, &out, &len, &err), &err, SA_ERR_FORMAT, "ASVK");
	/* The Milan chain at the Genoa path: wrong product. */
	tu_httpd_set(f.srv, "/vcek/v1/Genoa/cert_chain", 200, NULL, f.chain, f.chain_len);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_GENOA, false, &out, &len, &err), &err, SA_ERR_FORMAT, "Genoa");
	/* The chain in DER: not PEM. */
	tu_httpd_set(f.srv, "/vcek/v1/Turin/cert_chain", 200, NULL, f.vcek, f.vcek_len);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_TURIN, false, &out, &len, &err), &err, SA_ERR_FORMAT, "PEM");

	/* Bodies over the 1 MiB cap, with and without Content-Length. */
	size_t big_len = (1u << 20) + 1;
	uint8_t *big = calloc(1, big_len);
	assert_non_null(big);
	tu_httpd_set(f.srv, MILAN_CRL_PATH, 200, NULL, big, big_len);
	expect_err(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_RANGE, "larger");
	tu_httpd_set(f.srv, "/vlek/v1/Milan/crl", 200, NULL, big, big_len);
	tu_httpd_omit_length(f.srv, "/vlek/v1/Milan/crl");
	expect_err(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, true, &out, &len, &err), &err, SA_ERR_RANGE, "larger");
	free(big);
	char *crlfile = join(f.cache, "/vcek/v1/Milan/crl.der");
	assert_false(file_exists(crlfile));
	free(crlfile);
	sa_kds_free(k);

	/* Transport error: nothing listens any more. */
	char url[64];
	snprintf(url, sizeof(url), "%s", tu_httpd_url(f.srv));
	tu_httpd *next = tu_httpd_start(); /* bound before the old port is freed, so it cannot reuse it */
	tu_httpd_stop(f.srv);
	f.srv = next;
	k = kds_new(url, NULL, false, true, 0);
	expect_err(sa_kds_fetch_chain(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_NETWORK, url);
	sa_kds_free(k);
	fixture_fini(&f);
}

/* ---- 4. completing a trust pool ---------------------------------------------- */

static void complete_trust_fetches_vcek_and_chain(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_snp_report r;
	read_report(R1_REPORT, &r);
	sa_error err;
	sa_trust *trust = NULL;
	expect_ok(sa_trust_new(&trust, &err), &err);
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	expect_ok(sa_kds_complete_trust(k, &r, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, R1_VCEK_PATH), 1);
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 1);

	const sa_cert *c[4];
	assert_int_equal(sa_trust_find(trust, SA_ROLE_VCEK, SA_PRODUCT_MILAN, c, 4), 1);
	assert_memory_equal(c[0]->ext.hwid, r.chip_id, 64);
	assert_int_equal(sa_trust_find(trust, SA_ROLE_ASK, SA_PRODUCT_MILAN, c, 4), 1);
	assert_string_equal(c[0]->subject_cn, "SEV-Milan");
	assert_int_equal(sa_trust_find(trust, SA_ROLE_ARK, SA_PRODUCT_MILAN, c, 4), 1);
	assert_string_equal(c[0]->subject_cn, "ARK-Milan");

	/* Complete now: a second call fetches nothing. */
	expect_ok(sa_kds_complete_trust(k, &r, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_total(f.srv), 2);

	/* A pool VCEK for other SPLs does not count: the matching one is fetched (here: 404). */
	sa_snp_report r2 = r;
	r2.reported_tcb = 0x4406000000000002ull; /* snp 6 */
	expect_err(sa_kds_complete_trust(k, &r2, SA_PRODUCT_MILAN, trust, &err), &err, SA_ERR_NOT_FOUND,
		   "snpSPL=6");
	assert_int_equal(tu_httpd_total(f.srv), 3);
	/* Unless the user named the VEK. */
	sa_cert *vek = NULL;
	expect_ok(sa_cert_from_der(f.vcek, f.vcek_len, &vek, &err), &err);
	expect_ok(sa_trust_set_vek(trust, vek, &err), &err);
	expect_ok(sa_kds_complete_trust(k, &r2, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_total(f.srv), 3);

	expect_err(sa_kds_complete_trust(k, &r, SA_PRODUCT_UNKNOWN, trust, &err), &err, SA_ERR_ARG, "--product");
	sa_trust_free(trust);

	/* The same from the cache alone, offline. */
	expect_ok(sa_trust_new(&trust, &err), &err);
	sa_kds *off = kds_new(tu_httpd_url(f.srv), f.cache, true, false, 0);
	expect_ok(sa_kds_complete_trust(off, &r, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_total(f.srv), 3);
	assert_int_equal(sa_trust_find(trust, SA_ROLE_VCEK, SA_PRODUCT_MILAN, c, 4), 1);
	sa_trust_free(trust);
	sa_kds_free(off);

	/* A pool with the VCEK and the ARK but no ASK: the chain is fetched. */
	expect_ok(sa_trust_new(&trust, &err), &err);
	sa_cert_list l = {0};
	expect_ok(sa_cert_parse_any(f.vcek, f.vcek_len, &l, &err), &err);
	expect_ok(sa_cert_parse_any(f.chain, f.chain_len, &l, &err), &err);
	assert_int_equal(l.n, 3);
	sa_cert_free(sa_cert_list_take(&l, 1)); /* the ASK */
	expect_ok(sa_trust_add(trust, &l, &err), &err);
	sa_cert_list_free(&l);
	tu_httpd_reset_counts(f.srv);
	sa_kds *nc = kds_new(tu_httpd_url(f.srv), NULL, false, true, 0);
	expect_ok(sa_kds_complete_trust(nc, &r, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, MILAN_CHAIN_PATH), 1);
	assert_int_equal(tu_httpd_total(f.srv), 1);
	assert_int_equal(sa_trust_find(trust, SA_ROLE_ASK, SA_PRODUCT_MILAN, c, 4), 1);
	sa_kds_free(nc);
	sa_trust_free(trust);

	/* Masked chip id and no VEK: cannot be fetched. */
	expect_ok(sa_trust_new(&trust, &err), &err);
	sa_snp_report r3 = r;
	memset(r3.chip_id, 0, sizeof(r3.chip_id));
	expect_err(sa_kds_complete_trust(k, &r3, SA_PRODUCT_MILAN, trust, &err), &err, SA_ERR_NOT_FOUND, "CHIP_ID");
	sa_trust_free(trust);
	sa_kds_free(k);
	fixture_fini(&f);
}

static void complete_trust_vlek(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct fixture f;
	fixture_init(&f);
	sa_snp_report r;
	read_report(R4_VLEK_REPORT, &r);
	assert_int_equal(sa_snp_report_signing_key(&r), SA_SIGNING_KEY_VLEK);
	sa_error err;
	sa_trust *trust = NULL;
	expect_ok(sa_trust_new(&trust, &err), &err);
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	expect_err(sa_kds_complete_trust(k, &r, SA_PRODUCT_MILAN, trust, &err), &err, SA_ERR_NOT_FOUND,
		   "VLEK cannot be fetched");
	assert_non_null(strstr(err.msg, "--vcek"));
	assert_int_equal(tu_httpd_total(f.srv), 0);

	/* With the VLEK named, the ASVK chain comes from /vlek/. */
	uint8_t *vlek_der, *vlek_chain;
	size_t vlek_len, vlek_chain_len;
	assert_int_equal(
		tu_read_vector("confidential-containers-trustee/deps/verifier/test_data/snp/test-vlek.der", &vlek_der,
			       &vlek_len),
		0);
	assert_int_equal(tu_read_vector("google-go-sev-guest/verify/trust/ask_ark_milan_vlek.pem", &vlek_chain,
					&vlek_chain_len),
			 0);
	tu_httpd_set(f.srv, "/vlek/v1/Milan/cert_chain", 200, NULL, vlek_chain, vlek_chain_len);
	sa_cert *vek = NULL;
	expect_ok(sa_cert_from_der(vlek_der, vlek_len, &vek, &err), &err);
	expect_ok(sa_trust_set_vek(trust, vek, &err), &err);
	expect_ok(sa_kds_complete_trust(k, &r, SA_PRODUCT_MILAN, trust, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, "/vlek/v1/Milan/cert_chain"), 1);
	assert_int_equal(tu_httpd_total(f.srv), 1);
	const sa_cert *c[4];
	assert_int_equal(sa_trust_find(trust, SA_ROLE_ASVK, SA_PRODUCT_MILAN, c, 4), 1);
	assert_int_equal(sa_trust_find(trust, SA_ROLE_ARK, SA_PRODUCT_MILAN, c, 4), 1);
	free(vlek_der);
	free(vlek_chain);
	sa_trust_free(trust);
	sa_kds_free(k);
	fixture_fini(&f);
}

/* ---- 5. CRLs ----------------------------------------------------------------- */

struct pki {
	EVP_PKEY *ark_key, *other_key, *ask_key;
	sa_cert *ark, *ask, *ask2;
};

static void pki_init(struct pki *p)
{
	sa_error err;
	memset(p, 0, sizeof(*p));
	expect_ok(sa_key_generate_rsa(2048, &p->ark_key, &err), &err);
	expect_ok(sa_key_generate_rsa(2048, &p->other_key, &err), &err);
	expect_ok(sa_key_generate_rsa(2048, &p->ask_key, &err), &err);
	time_t now = time(NULL);
	sa_cert_template ark = {
		.role = SA_ROLE_ARK,
		.product = SA_PRODUCT_MILAN,
		.serial = 0x10000,
		.not_before = now - 86400,
		.not_after = now + 86400 * 365,
		.subject_key = p->ark_key,
		.issuer_key = p->ark_key,
	};
	expect_ok(sa_cert_issue(&ark, &p->ark, &err), &err);
	sa_cert_template ask = ark;
	ask.role = SA_ROLE_ASK;
	ask.serial = 0x10001;
	ask.subject_key = p->ask_key;
	ask.issuer = p->ark;
	expect_ok(sa_cert_issue(&ask, &p->ask, &err), &err);
	ask.serial = 0x10002;
	expect_ok(sa_cert_issue(&ask, &p->ask2, &err), &err);
}

static void pki_fini(struct pki *p)
{
	sa_cert_free(p->ark);
	sa_cert_free(p->ask);
	sa_cert_free(p->ask2);
	EVP_PKEY_free(p->ark_key);
	EVP_PKEY_free(p->other_key);
	EVP_PKEY_free(p->ask_key);
}

enum crl_sig { SIG_PSS48, SIG_PSS32, SIG_PSS_SHA256, SIG_PSS_MGF_SHA256, SIG_PKCS1 };

/* A DER CRL issued under issuer's name, signed by key, listing `serial` (0: none). */
static uint8_t *make_crl(const sa_cert *issuer, EVP_PKEY *key, time_t this_update, time_t next_update,
			 uint64_t serial, enum crl_sig sig, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	assert_non_null(crl);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x509)), 1);
	ASN1_TIME *t = ASN1_TIME_set(NULL, this_update);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	ASN1_TIME_free(t);
	if (next_update) {
		t = ASN1_TIME_set(NULL, next_update);
		assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
		ASN1_TIME_free(t);
	}
	if (serial) {
		X509_REVOKED *rev = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		assert_int_equal(ASN1_INTEGER_set_uint64(sn, serial), 1);
		assert_int_equal(X509_REVOKED_set_serialNumber(rev, sn), 1);
		ASN1_INTEGER_free(sn);
		t = ASN1_TIME_set(NULL, this_update - 3600);
		assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
		ASN1_TIME_free(t);
		assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
		assert_int_equal(X509_CRL_sort(crl), 1);
	}
	if (sig == SIG_PKCS1) {
		assert_true(X509_CRL_sign(crl, key, EVP_sha384()) > 0);
	} else {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		const EVP_MD *md = sig == SIG_PSS_SHA256 ? EVP_sha256() : EVP_sha384();
		const EVP_MD *mgf = sig == SIG_PSS_SHA256 || sig == SIG_PSS_MGF_SHA256 ? EVP_sha256() : EVP_sha384();
		assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, sig == SIG_PSS32 ? 32 : 48), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf), 1);
		assert_true(X509_CRL_sign_ctx(crl, ctx) > 0);
		EVP_MD_CTX_free(ctx);
	}
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(crl, &der);
	assert_true(n > 0);
	X509_CRL_free(crl);
	uint8_t *out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static void crl_check_cases(void **state)
{
	(void)state;
	struct pki p;
	pki_init(&p);
	time_t now = time(NULL);
	sa_error err;
	size_t len;
	uint8_t *crl;

	/* Lists the ASK 0x10001: 0x10002 passes, 0x10001 is revoked. */
	crl = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0x10001, SIG_PSS48, &len);
	expect_ok(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask, now, &err), &err, SA_ERR_VERIFY, "serial 0x10001");
	assert_non_null(strstr(err.msg, "SEV-Milan"));
	assert_non_null(strstr(err.msg, "revoked since"));
	assert_non_null(strstr(err.msg, "ARK-Milan CRL"));
	/* Outside its validity window. */
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now + 2 * 86400, &err), &err, SA_ERR_VERIFY, "nextUpdate");
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now - 2 * 3600, &err), &err, SA_ERR_VERIFY, "thisUpdate");
	/* Damaged: one flipped byte in the signature; trailing bytes; truncated. */
	crl[len - 5] ^= 1;
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "signature");
	crl[len - 5] ^= 1;
	expect_err(sa_crl_check(crl, len - 1, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "CRL");
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, crl, len);
	longer[len] = 0;
	expect_err(sa_crl_check(longer, len + 1, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "after the DER CRL");
	free(longer);
	free(crl);

	/* Expired nextUpdate. */
	crl = make_crl(p.ark, p.ark_key, now - 86400 * 10, now - 86400, 0, SIG_PSS48, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "expired");
	free(crl);

	/* No nextUpdate at all: fine. */
	crl = make_crl(p.ark, p.ark_key, now - 3600, 0, 0, SIG_PSS48, &len);
	expect_ok(sa_crl_check(crl, len, p.ark, p.ask, now, &err), &err);
	free(crl);

	/* Right issuer name, wrong key. */
	crl = make_crl(p.ark, p.other_key, now - 3600, now + 86400, 0, SIG_PSS48, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "does not verify");
	free(crl);

	/* Issued under another name (the ASK's). */
	crl = make_crl(p.ask, p.ark_key, now - 3600, now + 86400, 0, SIG_PSS48, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "issuer");
	free(crl);

	/* PKCS#1 v1.5 and PSS with the wrong salt are not AMD's profile, even though the key is right. */
	crl = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0, SIG_PKCS1, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "RSASSA-PSS");
	free(crl);
	crl = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0, SIG_PSS32, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "salt");
	free(crl);
	crl = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0, SIG_PSS_SHA256, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "expected SHA-384");
	free(crl);
	crl = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0, SIG_PSS_MGF_SHA256, &len);
	expect_err(sa_crl_check(crl, len, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "mask generation");
	free(crl);

	/* Not a CRL. */
	expect_err(sa_crl_check((const uint8_t *)"junk", 4, p.ark, p.ask2, now, &err), &err, SA_ERR_VERIFY, "CRL");
	pki_fini(&p);
}

static void crl_fetch_and_cache(void **state)
{
	(void)state;
	struct pki p;
	pki_init(&p);
	time_t now = time(NULL);
	sa_error err;
	size_t fresh_len, stale_len, len;
	uint8_t *fresh = make_crl(p.ark, p.ark_key, now - 3600, now + 86400, 0x10001, SIG_PSS48, &fresh_len);
	uint8_t *stale = make_crl(p.ark, p.ark_key, now - 86400 * 10, now - 86400, 0, SIG_PSS48, &stale_len);
	tu_httpd *srv = tu_httpd_start();
	char *cache = tu_tmpdir();
	char *file = join(cache, "/vcek/v1/Milan/crl.der");
	uint8_t *out;

	/* An expired CRL is cached but not used from the cache: the next fetch goes online. */
	tu_httpd_set(srv, MILAN_CRL_PATH, 200, NULL, stale, stale_len);
	sa_kds *k = kds_new(tu_httpd_url(srv), cache, false, false, 0);
	expect_ok(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	free(out);
	assert_true(file_exists(file));
	expect_ok(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	free(out);
	assert_int_equal(tu_httpd_hits(srv, MILAN_CRL_PATH), 2);

	/* Offline with only the expired one cached: refused. */
	sa_kds *off = kds_new(tu_httpd_url(srv), cache, true, false, 0);
	expect_err(sa_kds_fetch_crl(off, SA_PRODUCT_MILAN, false, &out, &len, &err), &err, SA_ERR_NOT_FOUND,
		   "expired at");
	assert_non_null(strstr(err.msg, "offline"));

	/* A current CRL: fetched once, then served from the cache, online and offline. */
	tu_httpd_set(srv, MILAN_CRL_PATH, 200, NULL, fresh, fresh_len);
	expect_ok(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	assert_int_equal(len, fresh_len);
	assert_memory_equal(out, fresh, len);
	free(out);
	assert_int_equal(tu_httpd_hits(srv, MILAN_CRL_PATH), 3);
	expect_ok(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	free(out);
	expect_ok(sa_kds_fetch_crl(off, SA_PRODUCT_MILAN, false, &out, &len, &err), &err);
	assert_int_equal(tu_httpd_hits(srv, MILAN_CRL_PATH), 3);
	/* And the fetched CRL checks as expected. */
	expect_ok(sa_crl_check(out, len, p.ark, p.ask2, now, &err), &err);
	expect_err(sa_crl_check(out, len, p.ark, p.ask, now, &err), &err, SA_ERR_VERIFY, "revoked");
	free(out);

	/* A 200 that is not a CRL is not cached over the good one. */
	tu_httpd_set(srv, "/vlek/v1/Milan/crl", 200, NULL, fresh, fresh_len - 1);
	assert_int_not_equal(sa_kds_fetch_crl(k, SA_PRODUCT_MILAN, true, &out, &len, &err), SA_OK);
	char *vfile = join(cache, "/vlek/v1/Milan/crl.der");
	assert_false(file_exists(vfile));
	free(vfile);

	sa_kds_free(k);
	sa_kds_free(off);
	tu_httpd_stop(srv);
	tu_rmtree(cache);
	free(cache);
	free(file);
	free(fresh);
	free(stale);
	pki_fini(&p);
}

/* ---- 6. SEV (legacy): the CEK by chip ID, AMD's ASK and ARK ---------------------- */

#define SEV_BUILTIN "virtee-sev/src/certs/sev/builtin/"
#define CEK_NAPLES "virtee-sev/tests/naples/cek.cert"
#define CEK_ROME "virtee-sev/tests/rome/cek.cert"
#define CEK_MILAN "virtee-sev/at-af6a30b29ee6/tests/milan/cek.cert"
#define CEK_UNSIGNED "virtee-sev/at-ae3a24ab7c3d/src/certs/naples/cek.uns.cert"
#define NAPLES_ARK_UNSIGNED "virtee-sev/tests/naples/ark.cert.bad"

/* A chip ID per product (KDS indexes CEKs by GET_ID; any 64 bytes serve the loopback server). */
static void sev_id(unsigned seed, uint8_t id[64], char path[160])
{
	char hex[129];
	for (size_t i = 0; i < 64; i++)
		id[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
	snprintf(path, 160, "/cek/id/%s", sa_hex_encode(id, 64, hex));
}

/* ask.cert ‖ ark.cert of a product, as AMD publishes ask_ark_<product>.cert. */
static void read_ask_ark(const char *product, uint8_t **out, size_t *len)
{
	char rel[128];
	uint8_t *ask, *ark;
	size_t ask_len, ark_len;
	snprintf(rel, sizeof(rel), SEV_BUILTIN "%s/ask.cert", product);
	assert_int_equal(tu_read_vector(rel, &ask, &ask_len), 0);
	snprintf(rel, sizeof(rel), SEV_BUILTIN "%s/ark.cert", product);
	assert_int_equal(tu_read_vector(rel, &ark, &ark_len), 0);
	*len = ask_len + ark_len;
	*out = malloc(*len);
	assert_non_null(*out);
	memcpy(*out, ask, ask_len);
	memcpy(*out + ask_len, ark, ark_len);
	free(ask);
	free(ark);
}

struct sev_fixture {
	tu_httpd *srv;
	char *cache;
	uint8_t *cek[3], *ca[3]; /* Naples, Rome, Milan */
	size_t cek_len[3], ca_len[3];
	uint8_t id[3][64];
	char cek_path[3][160];
};

static const char *const sev_names[3] = {"naples", "rome", "milan"};
static const sa_sev_product sev_products[3] = {SA_SEV_PRODUCT_NAPLES, SA_SEV_PRODUCT_ROME, SA_SEV_PRODUCT_MILAN};

static void sev_fixture_init(struct sev_fixture *f)
{
	memset(f, 0, sizeof(*f));
	static const char *const ceks[3] = {CEK_NAPLES, CEK_ROME, CEK_MILAN};
	f->srv = tu_httpd_start();
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(tu_read_vector(ceks[i], &f->cek[i], &f->cek_len[i]), 0);
		read_ask_ark(sev_names[i], &f->ca[i], &f->ca_len[i]);
		sev_id(i, f->id[i], f->cek_path[i]);
		tu_httpd_set(f->srv, f->cek_path[i], 200, NULL, f->cek[i], f->cek_len[i]);
		char ca_path[64];
		snprintf(ca_path, sizeof(ca_path), "/ask_ark_%s.cert", sev_names[i]);
		tu_httpd_set(f->srv, ca_path, 200, NULL, f->ca[i], f->ca_len[i]);
	}
	f->cache = tu_tmpdir();
}

static void sev_fixture_fini(struct sev_fixture *f)
{
	tu_httpd_stop(f->srv);
	tu_rmtree(f->cache);
	free(f->cache);
	for (unsigned i = 0; i < 3; i++) {
		free(f->cek[i]);
		free(f->ca[i]);
	}
}

static void expect_file(const char *cache, const char *rel, const uint8_t *want, size_t want_len)
{
	char *path = join(cache, rel);
	uint8_t *d = NULL;
	size_t n = 0;
	sa_error err;
	expect_ok(sa_read_file(path, 1 << 20, &d, &n, &err), &err);
	assert_int_equal(n, want_len);
	assert_memory_equal(d, want, n);
	free(d);
	free(path);
}

static void sev_paths(void **state)
{
	(void)state;
	uint8_t id[128];
	char want[160], path[160];
	sev_id(5, id, want);
	memset(id + 64, 0xEE, 64);
	sa_error err;
	expect_ok(sa_kds_cek_path(id, 64, path, sizeof(path), &err), &err);
	assert_string_equal(path, want);
	assert_int_equal(strlen(path), strlen("/cek/id/") + 128);
	for (const char *c = path + 8; *c; c++)
		assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
	/* Two sockets: socket 0's ID. */
	expect_ok(sa_kds_cek_path(id, 128, path, sizeof(path), &err), &err);
	assert_string_equal(path, want);
	expect_err(sa_kds_cek_path(id, 63, path, sizeof(path), &err), &err, SA_ERR_FORMAT, "63 bytes");
	expect_err(sa_kds_cek_path(id, 192, path, sizeof(path), &err), &err, SA_ERR_FORMAT, "expected 64");
	expect_err(sa_kds_cek_path(id, 0, path, sizeof(path), &err), &err, SA_ERR_ARG, "GET_ID");
	expect_err(sa_kds_cek_path(id, 64, path, 20, &err), &err, SA_ERR_RANGE, "buffer");
	memset(id, 0, 64);
	expect_err(sa_kds_cek_path(id, 128, path, sizeof(path), &err), &err, SA_ERR_FORMAT, "all zeros");

	static const struct {
		sa_sev_product p;
		const char *path;
	} ca[] = {{SA_SEV_PRODUCT_NAPLES, "/ask_ark_naples.cert"}, {SA_SEV_PRODUCT_ROME, "/ask_ark_rome.cert"},
		  {SA_SEV_PRODUCT_MILAN, "/ask_ark_milan.cert"},   {SA_SEV_PRODUCT_GENOA, "/ask_ark_genoa.cert"},
		  {SA_SEV_PRODUCT_TURIN, "/ask_ark_turin.cert"}};
	for (size_t i = 0; i < sizeof(ca) / sizeof(ca[0]); i++) {
		expect_ok(sa_kds_sev_ca_path(ca[i].p, path, sizeof(path), &err), &err);
		assert_string_equal(path, ca[i].path);
	}
	expect_err(sa_kds_sev_ca_path(SA_SEV_PRODUCT_UNKNOWN, path, sizeof(path), &err), &err, SA_ERR_ARG,
		   "--product");

	/* The CA host must be a URL too. */
	sa_kds_opts o = {.sev_ca_url = "ftp://example.com", .no_cache = true};
	sa_kds *k = NULL;
	expect_err(sa_kds_new(&o, &k, &err), &err, SA_ERR_ARG, "SEV CA URL");
	assert_null(k);
}

static void sev_fetch_and_cache(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct sev_fixture f;
	sev_fixture_init(&f);
	sa_error err;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	sa_sev_cert cek, want;
	sa_amd_cert ask, ark;

	for (unsigned i = 0; i < 3; i++) {
		/* The CEK, twice: the second from the cache. */
		for (int round = 0; round < 2; round++) {
			expect_ok(sa_kds_fetch_cek(k, f.id[i], 64, &cek, &err), &err);
			expect_ok(sa_sev_cert_decode(f.cek[i], f.cek_len[i], &want, &err), &err);
			assert_memory_equal(&cek, &want, sizeof(cek));
			assert_int_equal(tu_httpd_hits(f.srv, f.cek_path[i]), 1);
		}
		char rel[200];
		snprintf(rel, sizeof(rel), "%s.cert", f.cek_path[i]);
		expect_file(f.cache, rel, f.cek[i], f.cek_len[i]);

		/* ASK and ARK by product, twice; the ASK signs the CEK. */
		char ca_path[64];
		snprintf(ca_path, sizeof(ca_path), "/ask_ark_%s.cert", sev_names[i]);
		for (int round = 0; round < 2; round++) {
			expect_ok(sa_kds_fetch_sev_ca(k, sev_products[i], &ask, &ark, &err), &err);
			assert_int_equal(ask.key_usage, SA_SEV_USAGE_ASK);
			assert_int_equal(ark.key_usage, SA_SEV_USAGE_ARK);
			assert_int_equal(ask.encoded_len + ark.encoded_len, f.ca_len[i]);
			assert_int_equal(tu_httpd_hits(f.srv, ca_path), 1);
			expect_ok(sa_sev_cert_verify_by_ask(&cek, &ask, &err), &err);
		}
		snprintf(rel, sizeof(rel), "/sev/ask_ark_%s.cert", sev_names[i]);
		expect_file(f.cache, rel, f.ca[i], f.ca_len[i]);
	}
	sa_kds_free(k);

	/* Offline: what is cached works; the rest fails without a request. */
	unsigned total = tu_httpd_total(f.srv);
	k = kds_new(tu_httpd_url(f.srv), f.cache, true, false, 0);
	expect_ok(sa_kds_fetch_cek(k, f.id[1], 64, &cek, &err), &err);
	expect_ok(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_ROME, &ask, &ark, &err), &err);
	expect_err(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_GENOA, &ask, &ark, &err), &err, SA_ERR_NOT_FOUND, "offline");
	assert_non_null(strstr(err.msg, "ask_ark_genoa.cert"));
	uint8_t other[64];
	char other_path[160];
	sev_id(9, other, other_path);
	expect_err(sa_kds_fetch_cek(k, other, 64, &cek, &err), &err, SA_ERR_NOT_FOUND, "offline");
	assert_int_equal(tu_httpd_total(f.srv), total);

	/* A damaged cache entry: refused offline, fetched again and repaired online. */
	char *cafile = join(f.cache, "/sev/ask_ark_rome.cert");
	uint8_t *bad = malloc(f.ca_len[1]);
	assert_non_null(bad);
	memcpy(bad, f.ca[1], f.ca_len[1]);
	bad[0x100] ^= 1; /* in the ASK's modulus: the ARK's signature no longer verifies */
	expect_ok(sa_write_file_atomic(cafile, bad, f.ca_len[1], 0600, &err), &err);
	assert_int_not_equal(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_ROME, &ask, &ark, &err), SA_OK);
	assert_non_null(strstr(err.msg, "offline"));
	sa_kds_free(k);
	k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	expect_ok(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_ROME, &ask, &ark, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, "/ask_ark_rome.cert"), 2);
	expect_file(f.cache, "/sev/ask_ark_rome.cert", f.ca[1], f.ca_len[1]);
	free(bad);
	free(cafile);
	sa_kds_free(k);
	sev_fixture_fini(&f);
}

static void sev_ca_for_cek(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct sev_fixture f;
	sev_fixture_init(&f);
	sa_error err;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	sa_sev_cert cek;
	sa_amd_cert ask, ark;
	sa_sev_product found = SA_SEV_PRODUCT_UNKNOWN;

	/* No product given: the pinned products in turn until one's ASK signs the CEK. */
	for (unsigned i = 0; i < 3; i++) {
		expect_ok(sa_sev_cert_decode(f.cek[i], f.cek_len[i], &cek, &err), &err);
		expect_ok(sa_kds_sev_ca_for_cek(k, &cek, SA_SEV_PRODUCT_UNKNOWN, &ask, &ark, &found, &err), &err);
		assert_int_equal(found, sev_products[i]);
		assert_non_null(sa_sev_ark_pin_match(&ark));
		assert_int_equal(sa_sev_ark_pin_match(&ark)->product, sev_products[i]);
	}
	/* Given: only that product is asked for, and the wrong one is an error. */
	tu_httpd_reset_counts(f.srv);
	expect_ok(sa_sev_cert_decode(f.cek[1], f.cek_len[1], &cek, &err), &err);
	expect_ok(sa_kds_sev_ca_for_cek(k, &cek, SA_SEV_PRODUCT_ROME, &ask, &ark, &found, &err), &err);
	assert_int_equal(tu_httpd_total(f.srv), 0); /* cached */
	assert_int_not_equal(sa_kds_sev_ca_for_cek(k, &cek, SA_SEV_PRODUCT_MILAN, &ask, &ark, &found, &err), SA_OK);
	/* The unsigned CEK firmware exports: no product's ASK signs it. */
	uint8_t *uns;
	size_t uns_len;
	assert_int_equal(tu_read_vector(CEK_UNSIGNED, &uns, &uns_len), 0);
	expect_ok(sa_sev_cert_decode(uns, uns_len, &cek, &err), &err);
	expect_err(sa_kds_sev_ca_for_cek(k, &cek, SA_SEV_PRODUCT_UNKNOWN, &ask, &ark, &found, &err), &err,
		   SA_ERR_NOT_FOUND, "no pinned product");
	assert_non_null(strstr(err.msg, "Naples"));

	/* A network failure ends the search instead of being taken for "not this product". */
	tu_httpd_throttle(f.srv, "/ask_ark_genoa.cert", ~0u, 0);
	expect_ok(sa_sev_cert_decode(uns, uns_len, &cek, &err), &err);
	expect_err(sa_kds_sev_ca_for_cek(k, &cek, SA_SEV_PRODUCT_UNKNOWN, &ask, &ark, &found, &err), &err,
		   SA_ERR_NETWORK, "429");
	free(uns);
	sa_kds_free(k);
	sev_fixture_fini(&f);
}

static void sev_refuses_bad_downloads(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct sev_fixture f;
	sev_fixture_init(&f);
	sa_error err;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 0);
	sa_sev_cert cek;
	sa_amd_cert ask, ark;

	/* The CEK as firmware exports it (no ASK signature): not what KDS serves. */
	uint8_t *uns;
	size_t uns_len;
	assert_int_equal(tu_read_vector(CEK_UNSIGNED, &uns, &uns_len), 0);
	tu_httpd_set(f.srv, f.cek_path[0], 200, NULL, uns, uns_len);
	expect_err(sa_kds_fetch_cek(k, f.id[0], 64, &cek, &err), &err, SA_ERR_FORMAT, "ASK");
	assert_non_null(strstr(err.msg, "not cached"));
	free(uns);
	/* A truncated CEK, an HTML page, the CA file at the CEK's URL. */
	tu_httpd_set(f.srv, f.cek_path[0], 200, NULL, f.cek[0], f.cek_len[0] - 1);
	expect_err(sa_kds_fetch_cek(k, f.id[0], 64, &cek, &err), &err, SA_ERR_TRUNCATED, "not cached");
	tu_httpd_set(f.srv, f.cek_path[0], 200, NULL, "<html></html>", 13);
	assert_int_not_equal(sa_kds_fetch_cek(k, f.id[0], 64, &cek, &err), SA_OK);
	tu_httpd_set(f.srv, f.cek_path[0], 200, NULL, f.ca[0], f.ca_len[0]);
	assert_int_not_equal(sa_kds_fetch_cek(k, f.id[0], 64, &cek, &err), SA_OK);
	char rel[200];
	snprintf(rel, sizeof(rel), "%s.cert", f.cek_path[0]);
	char *cekfile = join(f.cache, rel);
	assert_false(file_exists(cekfile));
	free(cekfile);

	/* CA files: a flipped bit in the ASK, a byte too many or too few, Rome's file at Milan's URL,
	 * and Naples's ASK with Rome's ARK. */
	uint8_t *bad = malloc(f.ca_len[2] + 1);
	assert_non_null(bad);
	memcpy(bad, f.ca[2], f.ca_len[2]);
	bad[0x300] ^= 0x80;
	tu_httpd_set(f.srv, "/ask_ark_milan.cert", 200, NULL, bad, f.ca_len[2]);
	expect_err(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_MILAN, &ask, &ark, &err), &err, SA_ERR_VERIFY, "not cached");
	memcpy(bad, f.ca[2], f.ca_len[2]);
	bad[f.ca_len[2]] = 0;
	tu_httpd_set(f.srv, "/ask_ark_milan.cert", 200, NULL, bad, f.ca_len[2] + 1);
	assert_int_not_equal(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_MILAN, &ask, &ark, &err), SA_OK);
	tu_httpd_set(f.srv, "/ask_ark_milan.cert", 200, NULL, f.ca[2], f.ca_len[2] - 1);
	assert_int_not_equal(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_MILAN, &ask, &ark, &err), SA_OK);
	tu_httpd_set(f.srv, "/ask_ark_milan.cert", 200, NULL, f.ca[1], f.ca_len[1]);
	expect_err(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_MILAN, &ask, &ark, &err), &err, SA_ERR_VERIFY, "Rome");
	free(bad);
	uint8_t *mix = malloc(f.ca_len[0] + f.ca_len[1]);
	assert_non_null(mix);
	size_t naples_ask = f.ca_len[0] / 2, rome_ark = f.ca_len[1] / 2; /* each file is two equal halves */
	memcpy(mix, f.ca[0], naples_ask);
	memcpy(mix + naples_ask, f.ca[1] + rome_ark, rome_ark);
	tu_httpd_set(f.srv, "/ask_ark_naples.cert", 200, NULL, mix, naples_ask + rome_ark);
	expect_err(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_NAPLES, &ask, &ark, &err), &err, SA_ERR_VERIFY, "Rome");
	free(mix);
	char *cadir = join(f.cache, "/sev");
	assert_false(file_exists(cadir));
	free(cadir);

	/* AMD's official Naples ARK lacks its self-signature: ASK ‖ unsigned ARK is accepted by its pin. */
	uint8_t *ark_uns;
	size_t ark_uns_len;
	assert_int_equal(tu_read_vector(NAPLES_ARK_UNSIGNED, &ark_uns, &ark_uns_len), 0);
	uint8_t *naples = malloc(naples_ask + ark_uns_len);
	assert_non_null(naples);
	memcpy(naples, f.ca[0], naples_ask);
	memcpy(naples + naples_ask, ark_uns, ark_uns_len);
	tu_httpd_set(f.srv, "/ask_ark_naples.cert", 200, NULL, naples, naples_ask + ark_uns_len);
	expect_ok(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_NAPLES, &ask, &ark, &err), &err);
	assert_false(ark.has_signature);
	expect_file(f.cache, "/sev/ask_ark_naples.cert", naples, naples_ask + ark_uns_len);
	free(naples);
	free(ark_uns);
	sa_kds_free(k);
	sev_fixture_fini(&f);
}

static void sev_back_off(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	struct sev_fixture f;
	sev_fixture_init(&f);
	sa_error err;
	sa_kds *k = kds_new(tu_httpd_url(f.srv), f.cache, false, false, 2);
	sa_sev_cert cek;
	sa_amd_cert ask, ark;
	/* 429 twice, then the answer. */
	tu_httpd_throttle(f.srv, f.cek_path[1], 2, 0);
	expect_ok(sa_kds_fetch_cek(k, f.id[1], 64, &cek, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, f.cek_path[1]), 3);
	tu_httpd_throttle(f.srv, "/ask_ark_rome.cert", 1, 0);
	expect_ok(sa_kds_fetch_sev_ca(k, SA_SEV_PRODUCT_ROME, &ask, &ark, &err), &err);
	assert_int_equal(tu_httpd_hits(f.srv, "/ask_ark_rome.cert"), 2);
	/* Throttled for good: max_retries + 1 attempts, nothing cached. */
	tu_httpd_throttle(f.srv, f.cek_path[2], ~0u, 0);
	expect_err(sa_kds_fetch_cek(k, f.id[2], 64, &cek, &err), &err, SA_ERR_NETWORK, "429");
	assert_int_equal(tu_httpd_hits(f.srv, f.cek_path[2]), 3);
	char rel[200];
	snprintf(rel, sizeof(rel), "%s.cert", f.cek_path[2]);
	char *cekfile = join(f.cache, rel);
	assert_false(file_exists(cekfile));
	free(cekfile);
	/* A 404 for an unknown chip names the chip ID. */
	uint8_t other[64];
	char other_path[160];
	sev_id(7, other, other_path);
	expect_err(sa_kds_fetch_cek(k, other, 64, &cek, &err), &err, SA_ERR_NOT_FOUND, "GET_ID");
	assert_int_equal(tu_httpd_hits(f.srv, other_path), 1);
	sa_kds_free(k);
	sev_fixture_fini(&f);
}

static int setup(void **state)
{
	(void)state;
	/* Loopback only: never send the test traffic through a proxy. */
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vcek_path_r1_milan),
		cmocka_unit_test(vcek_path_r10_turin),
		cmocka_unit_test(vcek_path_genoa_synthetic),
		cmocka_unit_test(chain_and_crl_paths),
		cmocka_unit_test(vcek_path_masked_chip_id),
		cmocka_unit_test(new_rejects_bad_options),
		cmocka_unit_test(fetch_and_cache),
		cmocka_unit_test(no_cache_never_writes),
		cmocka_unit_test(retry_after_then_success),
		cmocka_unit_test(rate_limited_forever),
		cmocka_unit_test(http_errors),
		cmocka_unit_test(complete_trust_fetches_vcek_and_chain),
		cmocka_unit_test(complete_trust_vlek),
		cmocka_unit_test(crl_check_cases),
		cmocka_unit_test(crl_fetch_and_cache),
		cmocka_unit_test(sev_paths),
		cmocka_unit_test(sev_fetch_and_cache),
		cmocka_unit_test(sev_ca_for_cek),
		cmocka_unit_test(sev_refuses_bad_downloads),
		cmocka_unit_test(sev_back_off),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
