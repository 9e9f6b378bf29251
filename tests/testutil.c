/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sevattest/encoding.h"
#include "testutil.h"

const char *tu_vectors_dir(void)
{
	const char *d = getenv("SEVATTEST_VECTORS");
	struct stat st;
	if (!d || !*d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return d;
}

const char *tu_vector_path(const char *rel, char *buf, size_t cap)
{
	const char *d = tu_vectors_dir();
	if (!d)
		return NULL;
	snprintf(buf, cap, "%s/%s", d, rel);
	return buf;
}

int tu_read_vector(const char *rel, uint8_t **out, size_t *len)
{
	char path[4096];
	if (!tu_vector_path(rel, path, sizeof(path)))
		return -1;
	sa_error err;
	if (sa_read_file(path, 64u << 20, out, len, &err) != SA_OK) {
		fprintf(stderr, "vector %s: %s\n", rel, err.msg);
		return -1;
	}
	return 0;
}

void tu_hex(const char *hex, uint8_t *buf, size_t len)
{
	sa_error err;
	sa_status st = sa_hex_decode_exact(hex, strlen(hex), buf, len, "test hex", &err);
	if (st != SA_OK)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(st, SA_OK);
}

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/sevattest-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_plat_create(tu_plat *p, sa_product product)
{
	p->tmp = tu_tmpdir();
	snprintf(p->dir, sizeof(p->dir), "%s/state", p->tmp);
	sa_emu_create_opts o = {.product = product, .rsa_bits = 2048};
	sa_error err;
	if (sa_emu_create(p->dir, &o, &err) != SA_OK)
		fail_msg("create: %s", err.msg);
	if (sa_emu_open(p->dir, &p->e, &err) != SA_OK)
		fail_msg("open: %s", err.msg);
}

void tu_plat_reopen(tu_plat *p)
{
	sa_emu_close(p->e);
	p->e = NULL;
	sa_error err;
	if (sa_emu_open(p->dir, &p->e, &err) != SA_OK)
		fail_msg("reopen: %s", err.msg);
}

void tu_plat_free(tu_plat *p)
{
	sa_emu_close(p->e);
	tu_rmtree(p->tmp);
	free(p->tmp);
}
