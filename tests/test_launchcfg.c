/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QEMU's -object sev-guest / sev-snp-guest parser (launchcfg.h): every
 * property valid and invalid, keyval and JSON spellings, the file form, the
 * sev-guest files, and the canonical printer's round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/encoding.h"
#include "sevattest/launchcfg.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static void parse_ok(const char *text, sa_launchcfg *cfg)
{
	sa_error err;
	if (sa_launchcfg_parse(text, strlen(text), cfg, &err) != SA_OK)
		fail_msg("'%.200s': %s", text, err.msg);
}

/* The parse fails with code and exactly msg (or, msg starting with '~', a message containing the rest). */
static void parse_fails(const char *text, sa_status code, const char *msg)
{
	sa_launchcfg *cfg = malloc(sizeof(*cfg));
	assert_non_null(cfg);
	memset(cfg, 0xA5, sizeof(*cfg));
	sa_error err;
	sa_status st = sa_launchcfg_parse(text, strlen(text), cfg, &err);
	if (st == SA_OK)
		fail_msg("'%.200s' was accepted", text);
	if (st != code)
		fail_msg("'%.200s': code %s, expected %s (%s)", text, sa_status_name(st), sa_status_name(code), err.msg);
	if (msg[0] == '~' ? !strstr(err.msg, msg + 1) : strcmp(err.msg, msg) != 0)
		fail_msg("'%.200s': message\n  '%s'\nexpected\n  '%s'", text, err.msg, msg);
	/* bad input changes nothing */
	for (size_t i = 0; i < sizeof(*cfg); i++)
		if (((const uint8_t *)cfg)[i] != 0xA5)
			fail_msg("'%.200s': the output changed at byte %zu", text, i);
	free(cfg);
}

/* Base64 of n bytes, byte i = (seed + i * 7) mod 256 (free() it). */
static char *b64_of(size_t n, unsigned seed)
{
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(seed + i * 7u);
	char *s = sa_base64_encode(buf, n);
	assert_non_null(s);
	free(buf);
	return s;
}

static void check_pattern(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], (uint8_t)(seed + i * 7u));
}

/* "sev-snp-guest,id=s,reduced-phys-bits=1,KEY=b64(n bytes)" */
static char *snp_with_b64(const char *key, size_t n)
{
	char *v = b64_of(n, 3);
	size_t cap = strlen(v) + 128;
	char *t = malloc(cap);
	assert_non_null(t);
	snprintf(t, cap, "sev-snp-guest,id=s,reduced-phys-bits=1,%s=%s", key, v);
	free(v);
	return t;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* ---- sev-snp-guest ---------------------------------------------------------- */

static void snp_defaults(void **state)
{
	(void)state;
	sa_launchcfg c;
	parse_ok("sev-snp-guest,id=sev0,reduced-phys-bits=1", &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SNP);
	assert_string_equal(c.id, "sev0");
	assert_false(c.has_policy);
	assert_int_equal(c.policy, 0x30000);
	assert_int_equal(c.reduced_phys_bits, 1);
	assert_false(c.has_cbitpos || c.has_kernel_hashes || c.has_sev_device || c.has_host_data || c.has_id_block ||
		     c.has_id_auth || c.has_gosvw || c.has_init_flags || c.has_author_key_enabled ||
		     c.has_vcek_disabled);
	/* the same with the type named, and a trailing comma */
	parse_ok("qom-type=sev-snp-guest,id=sev0,reduced-phys-bits=1,", &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SNP);
	parse_ok("id=sev0,reduced-phys-bits=1,qom-type=sev-snp-guest", &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SNP);
}

static void snp_every_property(void **state)
{
	(void)state;
	char *gosvw = b64_of(16, 1), *idb = b64_of(96, 2), *ida = b64_of(100, 3), *hd = b64_of(32, 4);
	char text[2048];
	snprintf(text, sizeof(text),
		 "sev-snp-guest,id=sev0,sev-device=/dev/sev,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,"
		 "policy=0x30001,init-flags=7,guest-visible-workarounds=%s,id-block=%s,id-auth=%s,"
		 "author-key-enabled=yes,host-data=%s,vcek-disabled=true",
		 gosvw, idb, ida, hd);
	sa_launchcfg c;
	parse_ok(text, &c);
	assert_string_equal(c.sev_device, "/dev/sev");
	assert_true(c.has_cbitpos);
	assert_int_equal(c.cbitpos, 51);
	assert_true(c.has_kernel_hashes && c.kernel_hashes);
	assert_true(c.has_policy);
	assert_int_equal(c.policy, 0x30001);
	assert_true(c.has_init_flags);
	assert_int_equal(c.init_flags, 7);
	assert_true(c.has_gosvw);
	check_pattern(c.gosvw, 16, 1);
	assert_true(c.has_id_block);
	check_pattern(c.id_block, 96, 2);
	assert_true(c.has_id_auth);
	assert_int_equal(c.id_auth_len, 100);
	check_pattern(c.id_auth, 100, 3);
	for (size_t i = 100; i < sizeof(c.id_auth); i++)
		assert_int_equal(c.id_auth[i], 0);
	assert_true(c.has_author_key_enabled && c.author_key_enabled);
	assert_true(c.has_host_data);
	check_pattern(c.host_data, 32, 4);
	assert_true(c.has_vcek_disabled && c.vcek_disabled);
	free(gosvw);
	free(idb);
	free(ida);
	free(hd);
}

static void snp_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		size_t n;
		const char *msg;
	} bad[] = {
	    {"id-block", 95, "id-block: parameter length of 95 not equal to 96"},
	    {"id-block", 97, "id-block: parameter length of 97 not equal to 96"},
	    {"id-block", 0, "id-block: parameter length of 0 not equal to 96"},
	    {"host-data", 31, "host-data: parameter length of 31 not equal to 32"},
	    {"host-data", 33, "host-data: parameter length of 33 not equal to 32"},
	    {"guest-visible-workarounds", 15, "guest-visible-workarounds: parameter length of 15 not equal to 16"},
	    {"guest-visible-workarounds", 17, "guest-visible-workarounds: parameter length of 17 exceeds max of 16"},
	    {"id-auth", 4097, "id-auth: parameter length:ID_AUTH 4097 exceeds max of 4096"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = snp_with_b64(bad[i].key, bad[i].n);
		parse_fails(t, SA_ERR_RANGE, bad[i].msg);
		free(t);
	}
	sa_launchcfg c;
	char *t = snp_with_b64("id-auth", 4096);
	parse_ok(t, &c);
	assert_int_equal(c.id_auth_len, 4096);
	check_pattern(c.id_auth, 4096, 3);
	free(t);
	t = snp_with_b64("id-auth", 0);
	parse_ok(t, &c);
	assert_true(c.has_id_auth);
	assert_int_equal(c.id_auth_len, 0);
	free(t);
}

static void snp_bad_base64(void **state)
{
	(void)state;
	/* 32 bytes are 44 characters ending in one '=' */
	char *hd = b64_of(32, 9);
	char t[256];
	assert_int_equal(strlen(hd), 44);
	snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=%.20s %s", hd, hd + 20);
	parse_fails(t, SA_ERR_FORMAT, "host-data: whitespace at position 20 in base64");
	snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=%.43s", hd);
	parse_fails(t, SA_ERR_FORMAT, "host-data: base64 length 43 is not a multiple of 4");
	snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=%.10s!%s", hd, hd + 11);
	parse_fails(t, SA_ERR_FORMAT, "host-data: character '!' at position 10 is not base64");
	snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=%.10s-%s", hd, hd + 11);
	parse_fails(t, SA_ERR_FORMAT, "host-data: character '-' at position 10 is not base64");
	/* padding in the middle, too much padding, non-zero pad bits */
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,host-data=AA==AAAA", SA_ERR_FORMAT,
		    "host-data: data after '=' padding at position 4");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,host-data=A===", SA_ERR_FORMAT,
		    "host-data: too much '=' padding");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,id-block=AB==", SA_ERR_FORMAT,
		    "id-block: non-canonical base64 (non-zero pad bits)");
	/* a newline (QEMU's alphabet has it; RFC 4648 strict does not) */
	snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,host-data=%.40s\n%s", hd, hd + 40);
	parse_fails(t, SA_ERR_FORMAT, "host-data: whitespace at position 40 in base64");
	free(hd);
}

/* ---- sev-guest ------------------------------------------------------------ */

static void sev_every_property(void **state)
{
	(void)state;
	sa_launchcfg c;
	parse_ok("sev-guest,id=sev0,reduced-phys-bits=1", &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SEV);
	assert_false(c.has_policy);
	assert_int_equal(c.policy, 1);
	assert_false(sa_launchcfg_is_es(&c));
	parse_ok("sev-guest,id=sev0,sev-device=/dev/sev0,cbitpos=47,reduced-phys-bits=5,kernel-hashes=off,"
		 "dh-cert-file=/tmp/godh.b64,session-file=/tmp/session.b64,policy=0x5,handle=3,legacy-vm-type=on",
		 &c);
	assert_string_equal(c.sev_device, "/dev/sev0");
	assert_int_equal(c.cbitpos, 47);
	assert_int_equal(c.reduced_phys_bits, 5);
	assert_true(c.has_kernel_hashes && !c.kernel_hashes);
	assert_string_equal(c.dh_cert_file, "/tmp/godh.b64");
	assert_string_equal(c.session_file, "/tmp/session.b64");
	assert_int_equal(c.policy, 5);
	assert_true(sa_launchcfg_is_es(&c));
	assert_true(c.has_handle);
	assert_int_equal(c.handle, 3);
	assert_true(c.has_legacy_vm_type);
	assert_int_equal(c.legacy_vm_type, SA_ON);
	parse_ok("sev-guest,id=a,reduced-phys-bits=1,legacy-vm-type=off", &c);
	assert_int_equal(c.legacy_vm_type, SA_OFF);
	parse_ok("sev-guest,id=a,reduced-phys-bits=1,legacy-vm-type=auto", &c);
	assert_int_equal(c.legacy_vm_type, SA_AUTO);
	parse_fails("sev-guest,id=a,reduced-phys-bits=1,legacy-vm-type=yes", SA_ERR_ARG,
		    "Parameter 'legacy-vm-type' does not accept value 'yes' (expected on, off or auto)");
	/* sev-guest's policy is 32 bits; SNP properties are not sev-guest's */
	parse_fails("sev-guest,id=a,reduced-phys-bits=1,policy=0x100000000", SA_ERR_RANGE,
		    "Parameter 'policy' expects uint32_t, got '0x100000000'");
	parse_fails("sev-guest,id=a,reduced-phys-bits=1,host-data=AAAA", SA_ERR_ARG,
		    "Parameter 'host-data' is unexpected (sev-guest has no such property)");
	parse_fails("sev-snp-guest,id=a,reduced-phys-bits=1,session-file=x", SA_ERR_ARG,
		    "Parameter 'session-file' is unexpected (sev-snp-guest has no such property)");
}

static void sev_files(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char godh[512], sess[512], bad[512], text[2048];
	snprintf(godh, sizeof(godh), "%s/godh.b64", dir);
	snprintf(sess, sizeof(sess), "%s/session.b64", dir);
	snprintf(bad, sizeof(bad), "%s/short.b64", dir);
	/* the certificate's base64 in 64-character lines, as base64(1) writes it */
	char *g = b64_of(0x824, 5), *s = b64_of(0x80, 6), *sh = b64_of(0x823, 5);
	size_t gl = strlen(g);
	char *wrapped = malloc(gl + gl / 64 + 2);
	assert_non_null(wrapped);
	size_t w = 0;
	for (size_t i = 0; i < gl; i++) {
		wrapped[w++] = g[i];
		if (i % 64 == 63)
			wrapped[w++] = '\n';
	}
	wrapped[w++] = '\n';
	wrapped[w] = '\0';
	write_text(godh, wrapped);
	write_text(sess, s);
	write_text(bad, sh);

	sa_launchcfg c;
	sa_error err;
	snprintf(text, sizeof(text), "sev-guest,id=s,reduced-phys-bits=1,dh-cert-file=%s,session-file=%s", godh, sess);
	parse_ok(text, &c);
	assert_false(c.godh_loaded || c.session_loaded);
	assert_int_equal(sa_launchcfg_load_files(&c, &err), SA_OK);
	assert_true(c.godh_loaded && c.session_loaded);
	check_pattern(c.godh, 0x824, 5);
	check_pattern(c.session, 0x80, 6);

	/* wrong sizes: the file and the size found are named */
	char want[1024];
	snprintf(text, sizeof(text), "sev-guest,id=s,reduced-phys-bits=1,dh-cert-file=%s", bad);
	parse_ok(text, &c);
	assert_int_equal(sa_launchcfg_load_files(&c, &err), SA_ERR_RANGE);
	snprintf(want, sizeof(want),
		 "dh-cert-file: %s decodes to 2083 bytes, expected 0x824 (2084, the GODH certificate)", bad);
	assert_string_equal(err.msg, want);
	assert_false(c.godh_loaded);
	snprintf(text, sizeof(text), "sev-guest,id=s,reduced-phys-bits=1,session-file=%s", godh);
	parse_ok(text, &c);
	assert_int_equal(sa_launchcfg_load_files(&c, &err), SA_ERR_RANGE);
	snprintf(want, sizeof(want),
		 "session-file: %s decodes to 2084 bytes, expected 0x80 (128, the session buffer)", godh);
	assert_string_equal(err.msg, want);
	/* a missing file, and one that is not base64 */
	snprintf(text, sizeof(text), "sev-guest,id=s,reduced-phys-bits=1,session-file=%s/absent", dir);
	parse_ok(text, &c);
	assert_int_not_equal(sa_launchcfg_load_files(&c, &err), SA_OK);
	assert_non_null(strstr(err.msg, "absent"));
	write_text(bad, "not base64!\n");
	snprintf(text, sizeof(text), "sev-guest,id=s,reduced-phys-bits=1,session-file=%s", bad);
	parse_ok(text, &c);
	assert_int_equal(sa_launchcfg_load_files(&c, &err), SA_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "session-file"));
	assert_non_null(strstr(err.msg, bad));

	free(g);
	free(s);
	free(sh);
	free(wrapped);
	tu_rmtree(dir);
	free(dir);
}

/* ---- syntax ------------------------------------------------------------------ */

static void commas_and_keys(void **state)
{
	(void)state;
	sa_launchcfg c;
	parse_ok("sev-guest,id=s,reduced-phys-bits=1,sev-device=/dev/a,,b,,,,c,dh-cert-file=x,,", &c);
	assert_string_equal(c.sev_device, "/dev/a,b,,c");
	assert_string_equal(c.dh_cert_file, "x,");
	/* an empty value is a value */
	parse_ok("sev-guest,id=s,reduced-phys-bits=1,sev-device=", &c);
	assert_true(c.has_sev_device);
	assert_string_equal(c.sev_device, "");

	parse_fails("", SA_ERR_ARG, "Parameter 'qom-type' is missing");
	parse_fails("id=s,reduced-phys-bits=1", SA_ERR_ARG, "Parameter 'qom-type' is missing");
	parse_fails("sev-snp-guest,reduced-phys-bits=1", SA_ERR_ARG, "Parameter 'id' is missing");
	parse_fails("sev-snp-guest,id=s", SA_ERR_ARG, "Parameter 'reduced-phys-bits' is missing");
	parse_fails("memory-backend-ram,id=s", SA_ERR_ARG,
		    "Parameter 'qom-type' does not accept value 'memory-backend-ram' (expected sev-guest or "
		    "sev-snp-guest)");
	parse_fails("sev-snp-guest,id=0s,reduced-phys-bits=1", SA_ERR_ARG, "~Invalid object identifier '0s'");
	parse_fails("sev-snp-guest,id=a b,reduced-phys-bits=1", SA_ERR_ARG, "~Invalid object identifier 'a b'");
	parse_fails("sev-snp-guest,id=,reduced-phys-bits=1", SA_ERR_ARG, "~Invalid object identifier ''");
	parse_fails("sev-snp-guest,id", SA_ERR_FORMAT, "Expected '=' after parameter 'id'");
	parse_fails("sev-snp-guest,=x", SA_ERR_FORMAT, "Invalid parameter ''");
	parse_fails(",id=s", SA_ERR_FORMAT, "Invalid parameter ''");
	parse_fails("sev-snp-guest,1x=2", SA_ERR_FORMAT, "Invalid parameter '1x'");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,foo=1", SA_ERR_ARG,
		    "Parameter 'foo' is unexpected (sev-snp-guest has no such property)");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,host.data=1", SA_ERR_ARG,
		    "Parameter 'host.data' is unexpected (sev-snp-guest has no such property)");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,policy=1,policy=2", SA_ERR_ARG,
		    "Parameter 'policy' is given twice (QEMU would take the last; refused here)");
	parse_fails("sev-snp-guest,qom-type=sev-guest,id=s", SA_ERR_ARG,
		    "Parameter 'qom-type' is given twice (QEMU would take the last; refused here)");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=0", SA_ERR_RANGE,
		    "reduced-phys-bits: 0 is out of range (QEMU accepts 1 to 63)");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=64", SA_ERR_RANGE,
		    "reduced-phys-bits: 64 is out of range (QEMU accepts 1 to 63)");
	parse_ok("sev-snp-guest,id=s,reduced-phys-bits=63", &c);

	char longkey[300];
	memset(longkey, 'k', 200);
	snprintf(longkey + 200, sizeof(longkey) - 200, "=1");
	char t[400];
	snprintf(t, sizeof(t), "sev-snp-guest,%s", longkey);
	parse_fails(t, SA_ERR_FORMAT, "~is too long");
	char longid[200];
	memset(longid, 'a', 128);
	longid[128] = '\0';
	snprintf(t, sizeof(t), "sev-snp-guest,id=%s,reduced-phys-bits=1", longid);
	parse_fails(t, SA_ERR_RANGE, "Parameter 'id': 128 characters, at most 127");
	/* a NUL inside the text */
	sa_error err;
	static const char nul[] = "sev-snp-guest,id=s\0x,reduced-phys-bits=1";
	assert_int_equal(sa_launchcfg_parse(nul, sizeof(nul) - 1, &c, &err), SA_ERR_FORMAT);
	/* too long */
	size_t big = SA_LAUNCHCFG_MAX_TEXT + 1;
	char *huge = malloc(big + 1);
	assert_non_null(huge);
	memset(huge, 'a', big);
	huge[big] = '\0';
	assert_int_equal(sa_launchcfg_parse(huge, big, &c, &err), SA_ERR_RANGE);
	free(huge);
}

static void numbers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"196608", 196608},
	    {"0x30000", 0x30000},
	    {"0X30000", 0x30000},
	    {"010", 8}, /* octal, as strtoull base 0 */
	    {"00", 0},
	    {" 5", 5},
	    {"+5", 5},
	    {"0xffffffffffffffff", UINT64_MAX},
	    {"18446744073709551615", UINT64_MAX},
	    {"01777777777777777777777", UINT64_MAX},
	};
	char t[256];
	sa_launchcfg c;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,policy=%s", good[i].text);
		parse_ok(t, &c);
		assert_true(c.has_policy);
		assert_true(c.policy == good[i].v);
	}
	static const struct {
		const char *text;
		sa_status code;
		const char *msg;
	} bad[] = {
	    {"08", SA_ERR_ARG, "Parameter 'policy' expects integer, got '08' (a leading 0 makes it octal, as in QEMU)"},
	    {"1k", SA_ERR_ARG, "Parameter 'policy' expects integer, got '1k'"},
	    {"5 ", SA_ERR_ARG, "Parameter 'policy' expects integer, got '5 '"},
	    {"", SA_ERR_ARG, "Parameter 'policy' expects integer, got ''"},
	    {"0x", SA_ERR_ARG, "Parameter 'policy' expects integer, got '0x'"},
	    {"0xg", SA_ERR_ARG, "Parameter 'policy' expects integer, got '0xg'"},
	    {"1.5", SA_ERR_ARG, "Parameter 'policy' expects integer, got '1.5'"},
	    {"-1", SA_ERR_ARG,
	     "Parameter 'policy' expects uint64, got '-1' (negative: QEMU would wrap it around, refused here)"},
	    {"0x10000000000000000", SA_ERR_RANGE,
	     "Parameter 'policy' expects uint64, got '0x10000000000000000' (more than 64 bits)"},
	    {"18446744073709551616", SA_ERR_RANGE,
	     "Parameter 'policy' expects uint64, got '18446744073709551616' (more than 64 bits)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,policy=%s", bad[i].text);
		parse_fails(t, bad[i].code, bad[i].msg);
	}
	/* u32 properties */
	parse_ok("sev-guest,id=s,reduced-phys-bits=1,handle=0xffffffff,cbitpos=4294967295", &c);
	assert_int_equal(c.handle, UINT32_MAX);
	assert_int_equal(c.cbitpos, UINT32_MAX);
	parse_fails("sev-guest,id=s,reduced-phys-bits=1,handle=4294967296", SA_ERR_RANGE,
		    "Parameter 'handle' expects uint32_t, got '4294967296'");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,cbitpos=0x100000000", SA_ERR_RANGE,
		    "Parameter 'cbitpos' expects uint32_t, got '0x100000000'");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=x", SA_ERR_ARG,
		    "Parameter 'reduced-phys-bits' expects integer, got 'x'");
	parse_fails("sev-snp-guest,id=s,reduced-phys-bits=1,init-flags=-2", SA_ERR_ARG,
		    "~Parameter 'init-flags' expects uint64, got '-2' (negative");
}

static void booleans(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool v;
	} good[] = {{"on", true},  {"yes", true}, {"true", true},  {"y", true},
		    {"off", false}, {"no", false}, {"false", false}, {"n", false}};
	char t[256];
	sa_launchcfg c;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,vcek-disabled=%s,kernel-hashes=%s",
			 good[i].text, good[i].text);
		parse_ok(t, &c);
		assert_true(c.has_vcek_disabled && c.has_kernel_hashes);
		assert_int_equal(c.vcek_disabled, good[i].v);
		assert_int_equal(c.kernel_hashes, good[i].v);
	}
	static const char *const bad[] = {"ON", "1", "0", "", "maybe", "on "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];
		snprintf(t, sizeof(t), "sev-snp-guest,id=s,reduced-phys-bits=1,author-key-enabled=%s", bad[i]);
		snprintf(want, sizeof(want), "Parameter 'author-key-enabled' expects 'on' or 'off', got '%s'", bad[i]);
		parse_fails(t, SA_ERR_ARG, want);
	}
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_form(void **state)
{
	(void)state;
	char *hd = b64_of(32, 4), *idb = b64_of(96, 2);
	char t[1024];
	snprintf(t, sizeof(t),
		 "{\"qom-type\": \"sev-snp-guest\", \"id\": \"sev\\u0030\", \"policy\": 196609, \"cbitpos\": 51,\n"
		 " \"reduced-phys-bits\": 1, \"host-data\": \"%s\", \"id-block\": \"%s\", \"vcek-disabled\": true,\n"
		 " \"author-key-enabled\": false, \"sev-device\": \"/dev/s\\\"ev\\\\\"}  ",
		 hd, idb);
	sa_launchcfg c;
	parse_ok(t, &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SNP);
	assert_string_equal(c.id, "sev0");
	assert_int_equal(c.policy, 0x30001);
	assert_int_equal(c.cbitpos, 51);
	check_pattern(c.host_data, 32, 4);
	check_pattern(c.id_block, 96, 2);
	assert_true(c.has_vcek_disabled && c.vcek_disabled);
	assert_true(c.has_author_key_enabled && !c.author_key_enabled);
	assert_string_equal(c.sev_device, "/dev/s\"ev\\");
	parse_ok("{\"qom-type\":\"sev-guest\",\"id\":\"s\",\"reduced-phys-bits\":1,\"legacy-vm-type\":\"off\"}", &c);
	assert_int_equal(c.type, SA_LAUNCHCFG_SEV);
	assert_int_equal(c.legacy_vm_type, SA_OFF);

#define J(rest) "{\"qom-type\":\"sev-snp-guest\",\"id\":\"s\",\"reduced-phys-bits\":1" rest "}"
	parse_fails(J(",\"policy\":\"0x30000\""), SA_ERR_ARG, "Invalid parameter type for 'policy', expected: integer");
	parse_fails(J(",\"policy\":1.5"), SA_ERR_ARG, "Invalid parameter type for 'policy', expected: integer");
	parse_fails(J(",\"policy\":1e3"), SA_ERR_ARG, "Invalid parameter type for 'policy', expected: integer");
	parse_fails(J(",\"policy\":-1"), SA_ERR_ARG, "~negative");
	parse_fails(J(",\"policy\":18446744073709551616"), SA_ERR_RANGE, "~more than 64 bits");
	parse_fails(J(",\"policy\":010"), SA_ERR_FORMAT, "~leading zero");
	parse_fails(J(",\"vcek-disabled\":\"on\""), SA_ERR_ARG,
		    "Invalid parameter type for 'vcek-disabled', expected: boolean");
	parse_fails(J(",\"host-data\":5"), SA_ERR_ARG, "Invalid parameter type for 'host-data', expected: string");
	parse_fails(J(",\"host-data\":null"), SA_ERR_ARG, "Invalid parameter type for 'host-data', expected: string");
	parse_fails(J(",\"host-data\":{\"a\":\"}\"}"), SA_ERR_ARG,
		    "Invalid parameter type for 'host-data', expected: string");
	parse_fails(J(",\"x\":[1,[2]]"), SA_ERR_ARG, "Parameter 'x' is unexpected (sev-snp-guest has no such property)");
	parse_fails(J(",\"policy\":1,\"policy\":1"), SA_ERR_ARG,
		    "Parameter 'policy' is given twice (QEMU would take the last; refused here)");
	parse_fails("{\"qom-type\":\"sev-snp-guest\",\"id\":7,\"reduced-phys-bits\":1}", SA_ERR_ARG,
		    "Invalid parameter type for 'id', expected: string");
	parse_fails("{\"id\":\"s\"}", SA_ERR_ARG, "Parameter 'qom-type' is missing");
	parse_fails("{}", SA_ERR_ARG, "Parameter 'qom-type' is missing");
	parse_fails(J("") "x", SA_ERR_FORMAT, "~trailing text");
	parse_fails("{\"qom-type\":\"sev-snp-guest\"", SA_ERR_FORMAT, "~expected ',' or '}'");
	parse_fails("{\"qom-type\":\"sev-snp-guest", SA_ERR_FORMAT, "~unterminated string");
	parse_fails("{\"qom-type\" \"x\"}", SA_ERR_FORMAT, "~expected ':'");
	parse_fails("{qom-type:1}", SA_ERR_FORMAT, "~expected a key string");
	parse_fails("{\"a\":tru}", SA_ERR_FORMAT, "~bad value");
	parse_fails("{\"a\":\"\\u0000\"}", SA_ERR_FORMAT, "~\\u0000");
	parse_fails("{\"a\":\"\\ud800\"}", SA_ERR_FORMAT, "~unpaired surrogate");
	parse_fails("{\"a\":\"\\x\"}", SA_ERR_FORMAT, "~bad escape");
	parse_fails("{\"a\":\"\x01\"}", SA_ERR_FORMAT, "~control character");
	parse_fails("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", SA_ERR_FORMAT,
		    "~nesting");
#undef J
	/* the \u escapes: a surrogate pair and a two-byte character */
	parse_ok("{\"qom-type\":\"sev-guest\",\"id\":\"s\",\"reduced-phys-bits\":1,\"sev-device\":\"\\ud83d\\ude00\\u00e9\"}",
		 &c);
	assert_string_equal(c.sev_device, "\xF0\x9F\x98\x80\xC3\xA9");
	free(hd);
	free(idb);
}

/* ---- the file form ------------------------------------------------------------- */

static void file_form(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char kv[512], js[512], missing[512];
	snprintf(kv, sizeof(kv), "%s/obj.txt", dir);
	snprintf(js, sizeof(js), "%s/obj.json", dir);
	snprintf(missing, sizeof(missing), "%s/absent", dir);
	write_text(kv, "sev-snp-guest,id=sev0,reduced-phys-bits=1,policy=0x30000\r\n");
	write_text(js, "{\"qom-type\": \"sev-guest\", \"id\": \"sev0\", \"reduced-phys-bits\": 1,\n \"policy\": 5}\n");
	sa_launchcfg c;
	sa_error err;
	assert_int_equal(sa_launchcfg_parse_file(kv, &c, &err), SA_OK);
	assert_int_equal(c.type, SA_LAUNCHCFG_SNP);
	assert_int_equal(c.policy, 0x30000);
	assert_int_equal(sa_launchcfg_parse_file(js, &c, &err), SA_OK);
	assert_int_equal(c.type, SA_LAUNCHCFG_SEV);
	assert_true(sa_launchcfg_is_es(&c));
	assert_int_not_equal(sa_launchcfg_parse_file(missing, &c, &err), SA_OK);
	assert_non_null(strstr(err.msg, missing));
	write_text(kv, "sev-snp-guest,id=sev0,reduced-phys-bits=1,bogus=1\n");
	assert_int_equal(sa_launchcfg_parse_file(kv, &c, &err), SA_ERR_ARG);
	char want[1024];
	snprintf(want, sizeof(want), "%s: Parameter 'bogus' is unexpected (sev-snp-guest has no such property)", kv);
	assert_string_equal(err.msg, want);
	tu_rmtree(dir);
	free(dir);
}

/* ---- the canonical text --------------------------------------------------------- */

static void round_trip_one(const char *text, const char *canonical)
{
	sa_launchcfg *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	parse_ok(text, a);
	char *out;
	sa_error err;
	assert_int_equal(sa_launchcfg_format(a, &out, &err), SA_OK);
	if (canonical)
		assert_string_equal(out, canonical);
	parse_ok(out, b);
	assert_memory_equal(a, b, sizeof(*a));
	char *again;
	assert_int_equal(sa_launchcfg_format(b, &again, &err), SA_OK);
	assert_string_equal(out, again);
	free(out);
	free(again);
	free(a);
	free(b);
}

static void round_trip(void **state)
{
	(void)state;
	round_trip_one("sev-snp-guest,id=sev0,reduced-phys-bits=1", "sev-snp-guest,id=sev0,reduced-phys-bits=1");
	round_trip_one("sev-guest,policy=5,reduced-phys-bits=01,id=s,cbitpos=0x33,kernel-hashes=yes,legacy-vm-type=auto,"
		       "sev-device=/dev/a,,b,handle=9",
		       "sev-guest,id=s,sev-device=/dev/a,,b,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on,policy=0x5,"
		       "handle=9,legacy-vm-type=auto");
	round_trip_one("sev-guest,id=s,reduced-phys-bits=1,dh-cert-file=/x,,y,session-file=/z", NULL);
	char *gosvw = b64_of(16, 1), *idb = b64_of(96, 2), *ida = b64_of(1000, 3), *hd = b64_of(32, 4);
	char text[4096];
	snprintf(text, sizeof(text),
		 "sev-snp-guest,id=sev0,vcek-disabled=n,host-data=%s,author-key-enabled=y,id-auth=%s,id-block=%s,"
		 "guest-visible-workarounds=%s,init-flags=0,policy=0x30000,kernel-hashes=off,reduced-phys-bits=5,"
		 "cbitpos=51,sev-device=/dev/sev",
		 hd, ida, idb, gosvw);
	round_trip_one(text, NULL);
	snprintf(text, sizeof(text),
		 "{\"qom-type\":\"sev-snp-guest\",\"id\":\"a.b-c_d\",\"reduced-phys-bits\":2,\"id-auth\":\"\",\"host-data\":"
		 "\"%s\"}",
		 hd);
	round_trip_one(text, NULL);
	free(gosvw);
	free(idb);
	free(ida);
	free(hd);

	sa_launchcfg c;
	memset(&c, 0, sizeof(c));
	char *out;
	sa_error err;
	assert_int_equal(sa_launchcfg_format(&c, &out, &err), SA_ERR_ARG);
	assert_string_equal(sa_launchcfg_type_name(SA_LAUNCHCFG_SEV), "sev-guest");
	assert_string_equal(sa_launchcfg_type_name(SA_LAUNCHCFG_SNP), "sev-snp-guest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(snp_defaults),   cmocka_unit_test(snp_every_property), cmocka_unit_test(snp_sizes),
	    cmocka_unit_test(snp_bad_base64), cmocka_unit_test(sev_every_property), cmocka_unit_test(sev_files),
	    cmocka_unit_test(commas_and_keys), cmocka_unit_test(numbers),           cmocka_unit_test(booleans),
	    cmocka_unit_test(json_form),      cmocka_unit_test(file_form),          cmocka_unit_test(round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
