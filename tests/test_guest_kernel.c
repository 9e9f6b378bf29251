/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest front end and the kernel backends without SEV hardware:
 *   (a) configfs-tsm against a fake configfs tree in a temporary directory,
 *       whose "kernel" reacts to the backend's steps through the tsm hook;
 *   (b) sev-guest: the uapi ABI pinned to the notes' numbers, and the
 *       request/response handling against a fake device behind the ioctl seam;
 *   (c) backend parsing and AUTO selection.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h> /* _IOWR, which <linux/sev-guest.h> uses without including */
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sev-guest.h>

#include "sevattest/guest.h"
#include "sevattest/guest_msg.h"
#include "testutil.h"

#include "../src/lib/guest_internal.h"
#include "../src/lib/guest_kernel_test.h"

#define TURIN "microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin"
#define OFF_VMPL 0x30
#define OFF_REPORT_DATA 0x50

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The real Turin report, or false when the vectors are absent. */
static bool load_real_report(uint8_t out[SA_SNP_REPORT_SIZE])
{
	uint8_t *buf;
	size_t len;
	if (tu_read_vector(TURIN, &buf, &len) != 0)
		return false;
	assert_int_equal(len, SA_SNP_REPORT_SIZE);
	memcpy(out, buf, SA_SNP_REPORT_SIZE);
	free(buf);
	return true;
}

/* The report a platform would give for this request: the real one with REPORT_DATA and VMPL substituted. */
static void answer_report(const uint8_t base[SA_SNP_REPORT_SIZE], const uint8_t *report_data, uint32_t vmpl,
			  uint8_t out[SA_SNP_REPORT_SIZE])
{
	memcpy(out, base, SA_SNP_REPORT_SIZE);
	memcpy(out + OFF_REPORT_DATA, report_data, 64);
	put_le32(out + OFF_VMPL, vmpl);
}

static void fill_report_data(uint8_t rd[64], uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(seed + i * 7);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static size_t read_small(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void expect_msg(const sa_error *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
}

/* A certificate table as a host would hand it over: ARK, ASK and VCEK blobs of the given sizes. */
static uint8_t *make_cert_table(size_t blob, size_t *len)
{
	static uint8_t blobs[3][16384];
	assert_true(blob <= sizeof(blobs[0]));
	for (int i = 0; i < 3; i++)
		memset(blobs[i], 0xA0 + i, blob);
	sa_cert_table t;
	memset(&t, 0, sizeof(t));
	const uint8_t *guids[3] = {SA_CERT_GUID_ARK, SA_CERT_GUID_ASK, SA_CERT_GUID_VCEK};
	for (int i = 0; i < 3; i++) {
		memcpy(t.e[i].guid, guids[i], 16);
		t.e[i].data = blobs[i];
		t.e[i].len = blob;
	}
	t.n = 3;
	size_t need = 0;
	assert_int_equal(sa_cert_table_encode(&t, NULL, 0, &need, NULL), SA_ERR_RANGE);
	uint8_t *out = malloc(need);
	assert_non_null(out);
	assert_int_equal(sa_cert_table_encode(&t, out, need, &need, NULL), SA_OK);
	*len = need;
	return out;
}

/* ======================================================================== */
/* (a) configfs-tsm against a fake configfs tree                            */
/* ======================================================================== */

struct fake_tsm {
	char *tmp;
	char root[PATH_MAX];           /* the tsm_path the backend is given */
	uint8_t base[SA_SNP_REPORT_SIZE];
	const char *provider;          /* default "sev_guest\n" */
	unsigned floor;
	unsigned race_instances;       /* the first N instances see another writer */
	bool race_after_outblob;       /* ... after outblob was generated, instead of before */
	size_t outblob_size;           /* default SA_SNP_REPORT_SIZE */
	const uint8_t *aux;
	size_t aux_len;
	const char *inject_attr;       /* fail reads of this attribute with inject_errno */
	int inject_errno;
	unsigned inject_count;         /* how many times (0 = always) */
	/* observed */
	unsigned instances, writes, removed;
	uint64_t gen;
	char cur[PATH_MAX];
	uint8_t inblob[128];
	size_t inblob_len;
	char privlevel[16];
};

static struct fake_tsm ft;

static void ft_set_generation(void)
{
	char txt[32];
	int n = snprintf(txt, sizeof(txt), "%llu\n", (unsigned long long)ft.gen);
	write_file(ft.cur, "generation", txt, (size_t)n);
}

static const char *const ft_attrs[] = {"provider", "privlevel_floor", "privlevel", "inblob",
				       "generation", "outblob", "auxblob"};

static int ft_hook(void *ctx, const char *instance, const char *attr, sa_tsm_event ev)
{
	(void)ctx;
	switch (ev) {
	case SA_TSM_EV_MKDIR: {
		/* The kernel populates a new instance with its attributes. */
		struct stat st;
		assert_int_equal(stat(instance, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0077, 0);
		assert_true(strncmp(instance, ft.root, strlen(ft.root)) == 0);
		assert_non_null(strstr(instance, "/sevattest-"));
		ft.instances++;
		snprintf(ft.cur, sizeof(ft.cur), "%s", instance);
		ft.gen = 0;
		const char *prov = ft.provider ? ft.provider : "sev_guest\n";
		write_file(instance, "provider", prov, strlen(prov));
		char txt[16];
		int n = snprintf(txt, sizeof(txt), "%u\n", ft.floor);
		write_file(instance, "privlevel_floor", txt, (size_t)n);
		write_file(instance, "privlevel", NULL, 0);
		write_file(instance, "inblob", NULL, 0);
		write_file(instance, "outblob", NULL, 0);
		write_file(instance, "auxblob", NULL, 0);
		ft_set_generation();
		return 0;
	}
	case SA_TSM_EV_WROTE:
		assert_string_equal(instance, ft.cur);
		ft.writes++;
		ft.gen++;
		/* Another process writes to our instance right after our last write. */
		if (strcmp(attr, "privlevel") == 0 && !ft.race_after_outblob && ft.instances <= ft.race_instances)
			ft.gen++;
		ft_set_generation();
		return 0;
	case SA_TSM_EV_READ:
		assert_string_equal(instance, ft.cur);
		if (ft.inject_attr && strcmp(attr, ft.inject_attr) == 0) {
			if (ft.inject_count == 0)
				return ft.inject_errno;
			ft.inject_count--;
			if (ft.inject_count == 0)
				ft.inject_attr = NULL;
			return ft.inject_errno;
		}
		if (strcmp(attr, "outblob") == 0) {
			/* Generated on read from what was written, as sev_guest does. */
			ft.inblob_len = read_small(instance, "inblob", ft.inblob, sizeof(ft.inblob));
			size_t pn =
				read_small(instance, "privlevel", (uint8_t *)ft.privlevel, sizeof(ft.privlevel) - 1);
			ft.privlevel[pn] = '\0';
			if (ft.inblob_len != 64)
				return EINVAL;
			uint8_t rep[SA_SNP_REPORT_SIZE + 64];
			memset(rep, 0, sizeof(rep));
			answer_report(ft.base, ft.inblob, (uint32_t)strtoul(ft.privlevel, NULL, 10), rep);
			size_t n = ft.outblob_size ? ft.outblob_size : SA_SNP_REPORT_SIZE;
			assert_true(n <= sizeof(rep));
			write_file(instance, "outblob", rep, n);
			if (ft.race_after_outblob && ft.instances <= ft.race_instances) {
				ft.gen++;
				ft_set_generation();
			}
		} else if (strcmp(attr, "auxblob") == 0) {
			write_file(instance, "auxblob", ft.aux, ft.aux_len);
		}
		return 0;
	case SA_TSM_EV_RMDIR: {
		/* configfs removes the attributes with the directory; a plain directory needs them gone first. */
		assert_string_equal(instance, ft.cur);
		for (size_t i = 0; i < sizeof(ft_attrs) / sizeof(ft_attrs[0]); i++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", instance, ft_attrs[i]);
			unlink(path);
		}
		ft.removed++;
		return 0;
	}
	}
	return 0;
}

static int tsm_setup(void **state)
{
	(void)state;
	memset(&ft, 0, sizeof(ft));
	ft.tmp = tu_tmpdir();
	snprintf(ft.root, sizeof(ft.root), "%s/tsm", ft.tmp);
	assert_int_equal(mkdir(ft.root, 0700), 0);
	sa_guest_kernel_set_tsm_hook(ft_hook, NULL);
	return 0;
}

static int tsm_teardown(void **state)
{
	(void)state;
	sa_guest_kernel_set_tsm_hook(NULL, NULL);
	/* Every instance is gone, whatever the outcome. */
	size_t left = dir_entries(ft.root);
	assert_int_equal(ft.removed, ft.instances);
	tu_rmtree(ft.tmp);
	free(ft.tmp);
	assert_int_equal(left, 0);
	return 0;
}

static sa_guest *open_tsm(void)
{
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	o.backend = SA_GUEST_TSM;
	o.tsm_path = ft.root;
	sa_guest *g = NULL;
	sa_error err;
	sa_status st = sa_guest_open(&o, &g, &err);
	if (st != SA_OK)
		fail_msg("open tsm: %s", err.msg);
	assert_int_equal(sa_guest_kind(g), SA_GUEST_TSM);
	return g;
}

#define TSM_REQUIRE_REPORT()                                                                                       \
	do {                                                                                                       \
		TU_REQUIRE_VECTORS();                                                                              \
		if (!load_real_report(ft.base)) {                                                                  \
			skip();                                                                                    \
			return;                                                                                    \
		}                                                                                                  \
	} while (0)

static void tsm_good_report(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	sa_guest *g = open_tsm();
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE], want[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 3);
	sa_error err;
	sa_status st = sa_guest_get_report(g, rd, 1, 0, rep, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	answer_report(ft.base, rd, 1, want);
	assert_memory_equal(rep, want, SA_SNP_REPORT_SIZE);
	/* What the kernel saw: exactly 64 bytes of inblob, privlevel as ASCII decimal, two writes. */
	assert_int_equal(ft.inblob_len, 64);
	assert_memory_equal(ft.inblob, rd, 64);
	assert_string_equal(ft.privlevel, "1\n");
	assert_int_equal(ft.writes, 2);
	assert_int_equal(ft.instances, 1);
	uint32_t fw = 9, vmm = 9;
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, 0);
	assert_int_equal(vmm, 0);
	sa_guest_close(g);
}

static void tsm_ext_report_with_and_without_certs(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	size_t tlen;
	uint8_t *table = make_cert_table(1000, &tlen);
	ft.aux = table;
	ft.aux_len = tlen;
	sa_guest *g = open_tsm();
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE], want[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 9);
	uint8_t *certs = NULL;
	size_t clen = 0;
	sa_error err;
	sa_status st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	answer_report(ft.base, rd, 0, want);
	assert_memory_equal(rep, want, SA_SNP_REPORT_SIZE);
	assert_int_equal(clen, tlen);
	assert_memory_equal(certs, table, tlen);
	sa_cert_table t;
	assert_int_equal(sa_cert_table_decode(certs, clen, &t, NULL), SA_OK);
	assert_non_null(sa_cert_table_find(&t, SA_CERT_GUID_VCEK));
	free(certs);

	/* No certificates from the host: an empty auxblob. */
	ft.aux = NULL;
	ft.aux_len = 0;
	certs = (uint8_t *)1;
	st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_null(certs);
	assert_int_equal(clen, 0);

	/* A malformed table is refused. */
	uint8_t bad[48];
	memset(bad, 0, sizeof(bad));
	memcpy(bad, SA_CERT_GUID_ARK, 16);
	put_le32(bad + 16, 48);
	put_le32(bad + 20, 4096); /* past the blob */
	ft.aux = bad;
	ft.aux_len = sizeof(bad);
	st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	assert_int_equal(st, SA_ERR_TRUNCATED);
	expect_msg(&err, "certificate table");
	assert_null(certs);
	assert_int_equal(ft.instances, 3);
	sa_guest_close(g);
	free(table);
}

static void tsm_wrong_provider(void **state)
{
	(void)state;
	ft.provider = "tdx_guest\n";
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "\"tdx_guest\"");
	expect_msg(&err, "sev_guest");
	assert_int_equal(ft.writes, 0);
	sa_guest_close(g);
}

static void tsm_race_retried_once(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	ft.race_instances = 1;
	sa_guest *g = open_tsm();
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE], want[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 5);
	sa_error err;
	sa_status st = sa_guest_get_report(g, rd, 0, 0, rep, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	answer_report(ft.base, rd, 0, want);
	assert_memory_equal(rep, want, SA_SNP_REPORT_SIZE);
	assert_int_equal(ft.instances, 2);
	sa_guest_close(g);
}

static void tsm_race_twice_fails(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	ft.race_instances = 2;
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_STATE);
	expect_msg(&err, "generation is 3");
	expect_msg(&err, "expected 2");
	expect_msg(&err, "raced twice");
	assert_int_equal(ft.instances, 2);
	sa_guest_close(g);
}

static void tsm_race_after_outblob(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	ft.race_instances = 5;
	ft.race_after_outblob = true;
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	uint8_t *certs = NULL;
	size_t clen = 0;
	sa_error err;
	assert_int_equal(sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err), SA_ERR_STATE);
	expect_msg(&err, "after the blobs were read");
	expect_msg(&err, "generation is 3");
	assert_null(certs);
	assert_int_equal(ft.instances, 2);
	sa_guest_close(g);
}

static void tsm_wrong_outblob_size(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	ft.outblob_size = SA_SNP_REPORT_SIZE - 4;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_FORMAT);
	expect_msg(&err, "outblob is 1180 bytes, expected 1184");
	ft.outblob_size = SA_SNP_REPORT_SIZE + 32; /* with a MSG_REPORT_RSP header's worth */
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_FORMAT);
	expect_msg(&err, "outblob is 1216 bytes");
	assert_int_equal(ft.instances, 2);
	sa_guest_close(g);
}

static void tsm_vmpl_below_floor(void **state)
{
	(void)state;
	ft.floor = 2;
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	assert_int_equal(sa_guest_get_report(g, rd, 1, 0, rep, &err), SA_ERR_ARG);
	expect_msg(&err, "VMPL 1 is below this guest's privlevel_floor 2");
	assert_int_equal(ft.writes, 0);
	assert_int_equal(ft.instances, 1);
	sa_guest_close(g);
}

static void tsm_kernel_errors(void **state)
{
	(void)state;
	TSM_REQUIRE_REPORT();
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;

	ft.inject_attr = "outblob";
	ft.inject_errno = EINVAL;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_ARG);
	expect_msg(&err, "the platform refused the request");
	expect_msg(&err, "INVALID_PARAM");

	ft.inject_errno = ENXIO;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, "firmware");

	ft.inject_errno = ENOTTY;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_STATE);
	expect_msg(&err, "reboot");

	/* EBUSY is a race: one retry from a fresh instance succeeds. */
	unsigned before = ft.instances;
	ft.inject_errno = EBUSY;
	ft.inject_count = 1;
	sa_status st = sa_guest_get_report(g, rd, 0, 0, rep, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(ft.instances, before + 2);

	/* A missing attribute (older kernel) is named. */
	ft.inject_attr = "privlevel_floor";
	ft.inject_errno = ENOENT;
	ft.inject_count = 0;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "privlevel_floor");
	sa_guest_close(g);
}

static void tsm_bad_text_attributes(void **state)
{
	(void)state;
	ft.provider = "sev_guest\n\x01junk";
	sa_guest *g = open_tsm();
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "\\x0a\\x01junk");
	ft.provider = NULL;
	ft.floor = 7;
	assert_int_equal(sa_guest_get_report(g, rd, 3, 0, rep, &err), SA_ERR_FORMAT);
	expect_msg(&err, "privlevel_floor is 7, expected 0..3");
	sa_guest_close(g);
}

static void tsm_no_keys_no_key_sel(void **state)
{
	(void)state;
	sa_guest *g = open_tsm();
	sa_key_req kr;
	memset(&kr, 0, sizeof(kr));
	uint8_t key[32];
	sa_error err;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "tsm backend cannot derive keys");
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	assert_int_equal(sa_guest_get_report(g, rd, 0, 1, rep, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "KEY_SEL 1");
	assert_int_equal(ft.instances, 0);
	sa_guest_close(g);
}

static void tsm_missing_root(void **state)
{
	(void)state;
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	o.backend = SA_GUEST_TSM;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/absent", ft.tmp);
	o.tsm_path = path;
	sa_guest *g = (sa_guest *)1;
	sa_error err;
	assert_int_equal(sa_guest_open(&o, &g, &err), SA_ERR_NOT_FOUND);
	assert_null(g);
	expect_msg(&err, "absent does not exist");
	expect_msg(&err, "CONFIG_TSM_REPORTS");
}

/* ======================================================================== */
/* (b) sev-guest: the uapi ABI and a fake device                            */
/* ======================================================================== */

static void uapi_abi_matches_notes(void **state)
{
	(void)state;
	assert_true((unsigned long)SNP_GET_REPORT == 0xc0205300ul);
	assert_true((unsigned long)SNP_GET_DERIVED_KEY == 0xc0205301ul);
	assert_true((unsigned long)SNP_GET_EXT_REPORT == 0xc0205302ul);
	assert_int_equal(sizeof(struct snp_report_req), 96);
	assert_int_equal(offsetof(struct snp_report_req, vmpl), 64);
	assert_int_equal(offsetof(struct snp_report_req, rsvd), 68);
	assert_int_equal(sizeof(struct snp_report_resp), 4000);
	assert_int_equal(sizeof(struct snp_derived_key_req), 32);
	assert_int_equal(offsetof(struct snp_derived_key_req, guest_field_select), 8);
	assert_int_equal(offsetof(struct snp_derived_key_req, vmpl), 16);
	assert_int_equal(offsetof(struct snp_derived_key_req, guest_svn), 20);
	assert_int_equal(offsetof(struct snp_derived_key_req, tcb_version), 24);
	assert_int_equal(sizeof(struct snp_derived_key_resp), 64);
	assert_int_equal(sizeof(struct snp_guest_request_ioctl), 32);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, msg_version), 0);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, req_data), 8);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, resp_data), 16);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, exitinfo2), 24);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, fw_error), 24);
	assert_int_equal(offsetof(struct snp_guest_request_ioctl, vmm_error), 28);
	assert_int_equal(sizeof(struct snp_ext_report_req), 112);
	assert_int_equal(offsetof(struct snp_ext_report_req, certs_address), 96);
	assert_int_equal(offsetof(struct snp_ext_report_req, certs_len), 104);
	assert_int_equal(SNP_GUEST_VMM_ERR_INVALID_LEN, SA_VMM_ERR_INVALID_LEN);
	assert_int_equal(SNP_GUEST_VMM_ERR_BUSY, SA_VMM_ERR_BUSY);
	/* exitinfo2's halves: firmware error low, VMM error high (little-endian). */
	struct snp_guest_request_ioctl io;
	memset(&io, 0, sizeof(io));
	io.exitinfo2 = (uint64_t)2 << 32 | 0x16;
	assert_int_equal(io.fw_error, 0x16);
	assert_int_equal(io.vmm_error, 2);
}

struct fake_sev {
	char *tmp;
	char dev[PATH_MAX];
	uint8_t base[SA_SNP_REPORT_SIZE];
	/* behaviour */
	unsigned busy_left;         /* answer EIO + VMM BUSY this many times first */
	int fail_errno;             /* then fail with this errno ... */
	uint64_t fail_exitinfo2;    /* ... writing this exitinfo2 back */
	uint32_t rsp_status;        /* MSG_REPORT_RSP / MSG_KEY_RSP STATUS */
	uint32_t rsp_report_size;   /* 0 means 0x4A0 */
	const uint8_t *certs;       /* the host's certificate table */
	size_t certs_size;
	uint32_t certs_need;        /* bytes the host asks for on INVALID_LEN; 0 = page-rounded certs_size */
	bool certs_always_short;    /* keep answering INVALID_LEN */
	uint8_t key[32];
	/* observed */
	unsigned calls;
	unsigned long last_request;
	uint8_t last_req[SA_REPORT_REQ_SIZE];
	uint32_t certs_len_seen[8];
	uint64_t certs_addr_seen[8];
	unsigned ext_calls;
};

static struct fake_sev fd_;

static void fake_report_rsp(uint8_t *resp, const struct snp_report_req *rq)
{
	memset(resp, 0, 4000);
	put_le32(resp, fd_.rsp_status);
	uint32_t size = fd_.rsp_report_size ? fd_.rsp_report_size : SA_SNP_REPORT_SIZE;
	if (fd_.rsp_status && !fd_.rsp_report_size)
		size = 0;
	put_le32(resp + 4, size);
	if (size)
		answer_report(fd_.base, rq->user_data, rq->vmpl, resp + SA_REPORT_RSP_HDR_SIZE);
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	(void)fd;
	struct snp_guest_request_ioctl *io = arg;
	fd_.calls++;
	fd_.last_request = request;
	if (io->msg_version != 1 || !io->req_data || !io->resp_data || io->exitinfo2 != 0) {
		errno = EINVAL;
		return -1;
	}
	if (fd_.busy_left) {
		fd_.busy_left--;
		io->exitinfo2 = (uint64_t)SNP_GUEST_VMM_ERR_BUSY << 32;
		errno = EIO;
		return -1;
	}
	if (fd_.fail_errno) {
		io->exitinfo2 = fd_.fail_exitinfo2;
		errno = fd_.fail_errno;
		return -1;
	}
	switch (request) {
	case SNP_GET_REPORT: {
		const struct snp_report_req *rq = (const void *)(uintptr_t)io->req_data;
		memcpy(fd_.last_req, rq, sizeof(*rq));
		fake_report_rsp((uint8_t *)(uintptr_t)io->resp_data, rq);
		return 0;
	}
	case SNP_GET_EXT_REPORT: {
		struct snp_ext_report_req *x = (void *)(uintptr_t)io->req_data;
		memcpy(fd_.last_req, &x->data, sizeof(x->data));
		unsigned i = fd_.ext_calls++;
		if (i < 8) {
			fd_.certs_len_seen[i] = x->certs_len;
			fd_.certs_addr_seen[i] = x->certs_address;
		}
		/* The driver's own checks. */
		if (x->certs_len > 0x4000 * 64 || x->certs_len % 4096) {
			errno = EINVAL;
			return -1;
		}
		uint32_t need = fd_.certs_need ? fd_.certs_need : (uint32_t)((fd_.certs_size + 4095) / 4096 * 4096);
		if (x->certs_len < fd_.certs_size || fd_.certs_always_short) {
			x->certs_len = need;
			io->exitinfo2 = (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << 32;
			errno = EIO;
			return -1;
		}
		uint8_t *dst = (uint8_t *)(uintptr_t)x->certs_address;
		memset(dst, 0, x->certs_len);
		if (fd_.certs_size)
			memcpy(dst, fd_.certs, fd_.certs_size);
		fake_report_rsp((uint8_t *)(uintptr_t)io->resp_data, &x->data);
		return 0;
	}
	case SNP_GET_DERIVED_KEY: {
		const struct snp_derived_key_req *kr = (const void *)(uintptr_t)io->req_data;
		memcpy(fd_.last_req, kr, sizeof(*kr));
		uint8_t *resp = (uint8_t *)(uintptr_t)io->resp_data;
		memset(resp, 0, 64);
		put_le32(resp, fd_.rsp_status);
		if (!fd_.rsp_status)
			memcpy(resp + 32, fd_.key, 32);
		return 0;
	}
	}
	errno = ENOTTY;
	return -1;
}

static int sev_setup(void **state)
{
	(void)state;
	memset(&fd_, 0, sizeof(fd_));
	fd_.tmp = tu_tmpdir();
	snprintf(fd_.dev, sizeof(fd_.dev), "%s/sev-guest", fd_.tmp);
	write_file(fd_.tmp, "sev-guest", NULL, 0);
	sa_guest_kernel_set_ioctl(fake_ioctl);
	return 0;
}

static int sev_teardown(void **state)
{
	(void)state;
	sa_guest_kernel_set_ioctl(NULL);
	tu_rmtree(fd_.tmp);
	free(fd_.tmp);
	return 0;
}

static sa_guest *open_sev(unsigned busy_timeout_ms, unsigned busy_interval_ms)
{
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	o.backend = SA_GUEST_SEV_GUEST;
	o.dev_path = fd_.dev;
	o.busy_timeout_ms = busy_timeout_ms;
	o.busy_interval_ms = busy_interval_ms;
	sa_guest *g = NULL;
	sa_error err;
	sa_status st = sa_guest_open(&o, &g, &err);
	if (st != SA_OK)
		fail_msg("open sev-guest: %s", err.msg);
	assert_int_equal(sa_guest_kind(g), SA_GUEST_SEV_GUEST);
	return g;
}

#define SEV_REQUIRE_REPORT()                                                                                       \
	do {                                                                                                       \
		TU_REQUIRE_VECTORS();                                                                              \
		if (!load_real_report(fd_.base)) {                                                                 \
			skip();                                                                                    \
			return;                                                                                    \
		}                                                                                                  \
	} while (0)

static void sev_good_report(void **state)
{
	(void)state;
	SEV_REQUIRE_REPORT();
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE], want[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 11);
	sa_error err;
	sa_status st = sa_guest_get_report(g, rd, 2, 1, rep, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	answer_report(fd_.base, rd, 2, want);
	assert_memory_equal(rep, want, SA_SNP_REPORT_SIZE);
	assert_true(fd_.last_request == (unsigned long)SNP_GET_REPORT);
	assert_int_equal(fd_.calls, 1);
	/* The request is MSG_REPORT_REQ byte for byte: REPORT_DATA, VMPL, KEY_SEL at 0x44, zeros. */
	assert_memory_equal(fd_.last_req, rd, 64);
	assert_int_equal(get_le32(fd_.last_req + 0x40), 2);
	assert_int_equal(get_le32(fd_.last_req + 0x44), 1);
	uint8_t zero[24] = {0};
	assert_memory_equal(fd_.last_req + 0x48, zero, 24);
	sa_guest_close(g);
}

static void sev_ext_report_fits(void **state)
{
	(void)state;
	SEV_REQUIRE_REPORT();
	size_t tlen;
	uint8_t *table = make_cert_table(3000, &tlen);
	fd_.certs = table;
	fd_.certs_size = tlen;
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE], want[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 1);
	uint8_t *certs = NULL;
	size_t clen = 0;
	sa_error err;
	sa_status st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	answer_report(fd_.base, rd, 0, want);
	assert_memory_equal(rep, want, SA_SNP_REPORT_SIZE);
	assert_int_equal(fd_.ext_calls, 1);
	assert_int_equal(fd_.certs_len_seen[0], 16384);
	assert_int_equal(fd_.certs_addr_seen[0] % 4096, 0);
	/* Trimmed to the table's extent. */
	assert_int_equal(clen, tlen);
	assert_memory_equal(certs, table, tlen);
	free(certs);

	/* No certificates: an empty table comes back as nothing. */
	fd_.certs = NULL;
	fd_.certs_size = 0;
	certs = (uint8_t *)1;
	st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_null(certs);
	assert_int_equal(clen, 0);
	sa_guest_close(g);
	free(table);
}

static void sev_ext_report_grows_once(void **state)
{
	(void)state;
	SEV_REQUIRE_REPORT();
	size_t tlen;
	uint8_t *table = make_cert_table(6000, &tlen); /* ~18 KiB: more than the first 16 KiB */
	assert_true(tlen > 16384);
	fd_.certs = table;
	fd_.certs_size = tlen;
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64], rep[SA_SNP_REPORT_SIZE];
	fill_report_data(rd, 2);
	uint8_t *certs = NULL;
	size_t clen = 0;
	sa_error err;
	sa_status st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(fd_.ext_calls, 2);
	assert_int_equal(fd_.certs_len_seen[0], 16384);
	assert_int_equal(fd_.certs_len_seen[1], 20480);
	assert_int_equal(fd_.certs_addr_seen[1] % 4096, 0);
	assert_int_equal(clen, tlen);
	assert_memory_equal(certs, table, tlen);
	free(certs);

	/* A host that asks for an unaligned size gets a page-rounded buffer. */
	fd_.ext_calls = 0;
	fd_.certs_need = (uint32_t)tlen;
	st = sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(fd_.certs_len_seen[1], 20480);
	free(certs);

	/* Still too small after growing: fail, do not loop. */
	fd_.ext_calls = 0;
	fd_.certs_need = 0;
	fd_.certs_always_short = true;
	certs = NULL;
	assert_int_equal(sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err), SA_ERR_IO);
	expect_msg(&err, "INVALID_LEN");
	assert_int_equal(fd_.ext_calls, 2);
	assert_null(certs);

	/* A host asking for more than 1 MiB is refused without a second request. */
	fd_.ext_calls = 0;
	fd_.certs_need = 2u << 20;
	assert_int_equal(sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err), SA_ERR_RANGE);
	expect_msg(&err, "2097152");
	assert_int_equal(fd_.ext_calls, 1);

	/* INVALID_LEN with a size no larger than offered is inconsistent. */
	fd_.ext_calls = 0;
	fd_.certs_need = 4096;
	assert_int_equal(sa_guest_get_ext_report(g, rd, 0, 0, rep, &certs, &clen, &err), SA_ERR_FORMAT);
	assert_int_equal(fd_.ext_calls, 1);
	sa_guest_close(g);
	free(table);
}

static void sev_busy_is_bounded(void **state)
{
	(void)state;
	SEV_REQUIRE_REPORT();
	sa_guest *g = open_sev(1000, 1);
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	fd_.busy_left = 3;
	sa_status st = sa_guest_get_report(g, rd, 0, 0, rep, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(fd_.calls, 4);
	uint32_t fw = 1, vmm = 1;
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, 0);
	assert_int_equal(vmm, 0);
	sa_guest_close(g);

	/* Always busy: give up within the bound. */
	g = open_sev(30, 10);
	fd_.calls = 0;
	fd_.busy_left = 100000;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, "BUSY");
	assert_true(fd_.calls >= 2 && fd_.calls <= 5);
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(vmm, SA_VMM_ERR_BUSY);
	sa_guest_close(g);

	/* The kernel's own retry ran out. */
	g = open_sev(0, 0);
	fd_.busy_left = 0;
	fd_.fail_errno = ETIMEDOUT;
	fd_.fail_exitinfo2 = 0xdeadbeefcafeull; /* not EIO: ignored */
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, "60 s");
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, 0);
	assert_int_equal(vmm, 0);
	sa_guest_close(g);
}

static void sev_firmware_and_kernel_errors(void **state)
{
	(void)state;
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	uint32_t fw, vmm;

	fd_.fail_errno = EIO;
	fd_.fail_exitinfo2 = SA_FW_INVALID_PARAM;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_ARG);
	expect_msg(&err, "0x16 (INVALID_PARAM)");
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, SA_FW_INVALID_PARAM);
	assert_int_equal(vmm, 0);

	fd_.fail_exitinfo2 = 0xff; /* the driver's "no firmware call" */
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, "no firmware call");

	fd_.fail_exitinfo2 = (uint64_t)7 << 32;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, "VMM error 7");

	fd_.fail_errno = ENOTTY;
	fd_.fail_exitinfo2 = 0x1234; /* garbage an old kernel might write back: ignored */
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_STATE);
	expect_msg(&err, "disabled the VMPCK");
	expect_msg(&err, "reboot the guest");
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, 0);
	assert_int_equal(vmm, 0);

	fd_.fail_errno = EACCES;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_IO);
	expect_msg(&err, fd_.dev);
	sa_guest_close(g);
}

static void sev_payload_status_and_size(void **state)
{
	(void)state;
	SEV_REQUIRE_REPORT();
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	fd_.rsp_status = SA_FW_INVALID_PARAM;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_ARG);
	expect_msg(&err, "STATUS is 0x16 (INVALID_PARAM)");
	uint32_t fw, vmm;
	sa_guest_last_error(g, &fw, &vmm);
	assert_int_equal(fw, SA_FW_INVALID_PARAM);

	fd_.rsp_status = SA_FW_INVALID_KEY;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 2, rep, &err), SA_ERR_ARG);
	expect_msg(&err, "INVALID_KEY");

	fd_.rsp_status = 0;
	fd_.rsp_report_size = SA_SNP_REPORT_SIZE + 0x20;
	assert_int_equal(sa_guest_get_report(g, rd, 0, 0, rep, &err), SA_ERR_FORMAT);
	expect_msg(&err, "REPORT_SIZE is 1216, expected 1184");
	sa_guest_close(g);
}

static void sev_derived_key(void **state)
{
	(void)state;
	sa_guest *g = open_sev(0, 0);
	for (int i = 0; i < 32; i++)
		fd_.key[i] = (uint8_t)(0x40 + i);
	sa_key_req kr;
	memset(&kr, 0, sizeof(kr));
	kr.root_key_select = 1;
	kr.key_sel = 2;
	kr.guest_field_select = 0x29;
	kr.vmpl = 1;
	kr.guest_svn = 7;
	kr.tcb_version = 0x1122334455667788ull;
	uint8_t key[32];
	sa_error err;
	sa_status st = sa_guest_get_derived_key(g, &kr, key, &err);
	if (st != SA_OK)
		fail_msg("%s", err.msg);
	assert_memory_equal(key, fd_.key, 32);
	assert_true(fd_.last_request == (unsigned long)SNP_GET_DERIVED_KEY);
	/* MSG_KEY_REQ: ROOT_KEY_SELECT bit 0, KEY_SEL bits 2:1; GFS at 8, VMPL 16, SVN 20, TCB 24. */
	assert_int_equal(get_le32(fd_.last_req), 1 | 2 << 1);
	assert_int_equal(get_le32(fd_.last_req + 4), 0);
	assert_int_equal(get_le32(fd_.last_req + 8), 0x29);
	assert_int_equal(get_le32(fd_.last_req + 16), 1);
	assert_int_equal(get_le32(fd_.last_req + 20), 7);
	assert_int_equal(get_le32(fd_.last_req + 24), 0x55667788);

	fd_.rsp_status = SA_FW_INVALID_KEY;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_ARG);
	expect_msg(&err, "MSG_KEY_RSP STATUS is 0x27 (INVALID_KEY)");

	kr.has_launch_mit_vector = true;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_UNSUPPORTED);
	expect_msg(&err, "LAUNCH_MIT_VECTOR");

	kr.has_launch_mit_vector = false;
	kr.vmpl = 4;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_RANGE);
	expect_msg(&err, "VMPL is 4");
	kr.vmpl = 0;
	kr.guest_field_select = 0x80;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_RANGE);
	kr.guest_field_select = 0;
	kr.key_sel = 3;
	assert_int_equal(sa_guest_get_derived_key(g, &kr, key, &err), SA_ERR_RANGE);
	sa_guest_close(g);
}

static void sev_device_missing(void **state)
{
	(void)state;
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	o.backend = SA_GUEST_SEV_GUEST;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/no-sev-guest", fd_.tmp);
	o.dev_path = path;
	sa_guest *g = (sa_guest *)1;
	sa_error err;
	assert_int_equal(sa_guest_open(&o, &g, &err), SA_ERR_NOT_FOUND);
	assert_null(g);
	expect_msg(&err, "no-sev-guest does not exist");
	expect_msg(&err, "modprobe sev-guest");
}

static void report_argument_checks(void **state)
{
	(void)state;
	sa_guest *g = open_sev(0, 0);
	uint8_t rd[64] = {0}, rep[SA_SNP_REPORT_SIZE];
	sa_error err;
	assert_int_equal(sa_guest_get_report(g, rd, 4, 0, rep, &err), SA_ERR_RANGE);
	expect_msg(&err, "VMPL is 4, expected 0..3");
	assert_int_equal(sa_guest_get_report(g, rd, 0, 3, rep, &err), SA_ERR_RANGE);
	expect_msg(&err, "KEY_SEL is 3");
	assert_int_equal(sa_guest_get_report(g, NULL, 0, 0, rep, &err), SA_ERR_ARG);
	assert_int_equal(sa_guest_get_ext_report(g, rd, 0, 0, rep, NULL, NULL, &err), SA_ERR_ARG);
	assert_int_equal(fd_.calls, 0);
	sa_guest_close(g);
	sa_guest_close(NULL);
	uint32_t fw = 5, vmm = 5;
	sa_guest_last_error(NULL, &fw, &vmm);
	assert_int_equal(fw, 0);
	assert_int_equal(vmm, 0);
}

/* ======================================================================== */
/* (c) parsing and AUTO selection                                           */
/* ======================================================================== */

static void backend_parse(void **state)
{
	(void)state;
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	sa_error err;
	assert_int_equal(sa_guest_backend_parse("sev-guest", &o, &err), SA_OK);
	assert_int_equal(o.backend, SA_GUEST_SEV_GUEST);
	assert_int_equal(sa_guest_backend_parse("tsm", &o, &err), SA_OK);
	assert_int_equal(o.backend, SA_GUEST_TSM);
	assert_int_equal(sa_guest_backend_parse("auto", &o, &err), SA_OK);
	assert_int_equal(o.backend, SA_GUEST_AUTO);
	const char *text = "emu:/run/vm1/guest.sock";
	assert_int_equal(sa_guest_backend_parse(text, &o, &err), SA_OK);
	assert_int_equal(o.backend, SA_GUEST_EMU);
	assert_string_equal(o.emu_socket, "/run/vm1/guest.sock");
	assert_ptr_equal(o.emu_socket, text + 4);

	memset(&o, 0, sizeof(o));
	assert_int_equal(sa_guest_backend_parse("emu:", &o, &err), SA_ERR_ARG);
	expect_msg(&err, "emu:SOCKET");
	assert_int_equal(sa_guest_backend_parse("emu", &o, &err), SA_ERR_ARG);
	expect_msg(&err, "emu:SOCKET");
	assert_int_equal(sa_guest_backend_parse("sev", &o, &err), SA_ERR_ARG);
	expect_msg(&err, "\"auto\", \"sev-guest\", \"tsm\" or \"emu:SOCKET\"");
	assert_int_equal(sa_guest_backend_parse("", &o, &err), SA_ERR_ARG);
	assert_int_equal(sa_guest_backend_parse(NULL, &o, &err), SA_ERR_ARG);
	assert_int_equal(o.backend, SA_GUEST_AUTO);
	assert_null(o.emu_socket);

	assert_string_equal(sa_guest_backend_name(SA_GUEST_AUTO), "auto");
	assert_string_equal(sa_guest_backend_name(SA_GUEST_SEV_GUEST), "sev-guest");
	assert_string_equal(sa_guest_backend_name(SA_GUEST_TSM), "tsm");
	assert_string_equal(sa_guest_backend_name(SA_GUEST_EMU), "emu");
	assert_string_equal(sa_guest_backend_name((sa_guest_backend)42), "unknown");
}

static void auto_selection_and_defaults(void **state)
{
	(void)state;
	char *tmp = tu_tmpdir();
	char dev[PATH_MAX], tsm[PATH_MAX];
	snprintf(dev, sizeof(dev), "%s/sev-guest", tmp);
	snprintf(tsm, sizeof(tsm), "%s/tsm", tmp);
	sa_guest_opts o;
	memset(&o, 0, sizeof(o));
	o.dev_path = dev;
	o.tsm_path = tsm;
	sa_guest *g = NULL;
	sa_error err;

	/* Neither interface. */
	assert_int_equal(sa_guest_open(&o, &g, &err), SA_ERR_NOT_FOUND);
	assert_null(g);
	expect_msg(&err, "no SEV-SNP guest interface");
	expect_msg(&err, dev);
	expect_msg(&err, tsm);
	expect_msg(&err, "--backend emu:SOCKET");

	/* configfs-tsm only. */
	assert_int_equal(mkdir(tsm, 0700), 0);
	assert_int_equal(sa_guest_open(&o, &g, &err), SA_OK);
	assert_int_equal(sa_guest_kind(g), SA_GUEST_TSM);
	/* Options copied, defaults applied. */
	assert_string_equal(g->tsm_path, tsm);
	assert_ptr_not_equal(g->tsm_path, tsm);
	assert_int_equal(g->busy_timeout_ms, 60000);
	assert_int_equal(g->busy_interval_ms, 2000);
	sa_guest_close(g);

	/* Both: sev-guest wins. */
	write_file(tmp, "sev-guest", NULL, 0);
	assert_int_equal(sa_guest_open(&o, &g, &err), SA_OK);
	assert_int_equal(sa_guest_kind(g), SA_GUEST_SEV_GUEST);
	sa_guest_close(g);

	/* Defaults for the paths. */
	sa_guest_opts d;
	memset(&d, 0, sizeof(d));
	d.backend = SA_GUEST_TSM;
	d.tsm_path = tsm;
	d.busy_timeout_ms = 5;
	assert_int_equal(sa_guest_open(&d, &g, &err), SA_OK);
	assert_string_equal(g->dev_path, "/dev/sev-guest");
	assert_int_equal(g->busy_timeout_ms, 5);
	assert_int_equal(g->busy_interval_ms, 2000);
	assert_null(g->emu_socket);
	sa_guest_close(g);

	/* Bad options. */
	d.vmpck_id = 4;
	assert_int_equal(sa_guest_open(&d, &g, &err), SA_ERR_RANGE);
	expect_msg(&err, "vmpck_id is 4");
	d.vmpck_id = 0;
	d.backend = SA_GUEST_EMU;
	assert_int_equal(sa_guest_open(&d, &g, &err), SA_ERR_ARG);
	expect_msg(&err, "emu:SOCKET");
	d.backend = (sa_guest_backend)9;
	assert_int_equal(sa_guest_open(&d, &g, &err), SA_ERR_ARG);
	assert_int_equal(sa_guest_open(&d, NULL, &err), SA_ERR_ARG);
	assert_null(g);

	tu_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tsm_good_report, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_ext_report_with_and_without_certs, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_wrong_provider, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_race_retried_once, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_race_twice_fails, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_race_after_outblob, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_wrong_outblob_size, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_vmpl_below_floor, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_kernel_errors, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_bad_text_attributes, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_no_keys_no_key_sel, tsm_setup, tsm_teardown),
		cmocka_unit_test_setup_teardown(tsm_missing_root, tsm_setup, tsm_teardown),
		cmocka_unit_test(uapi_abi_matches_notes),
		cmocka_unit_test_setup_teardown(sev_good_report, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_ext_report_fits, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_ext_report_grows_once, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_busy_is_bounded, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_firmware_and_kernel_errors, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_payload_status_and_size, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_derived_key, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(sev_device_missing, sev_setup, sev_teardown),
		cmocka_unit_test_setup_teardown(report_argument_checks, sev_setup, sev_teardown),
		cmocka_unit_test(backend_parse),
		cmocka_unit_test(auto_selection_and_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
