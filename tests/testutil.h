/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the cmocka tests. */
#ifndef SEVATTEST_TESTUTIL_H
#define SEVATTEST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sevattest/emu.h"

/* Directory of the real AMD vectors (env SEVATTEST_VECTORS), or NULL if absent. */
const char *tu_vectors_dir(void);
/* Read vectors/<rel> into a malloc'ed buffer; returns 0 on success, -1 if absent. */
int tu_read_vector(const char *rel, uint8_t **out, size_t *len);
/* Full path of a vector into buf; returns buf, or NULL if the folder is absent. */
const char *tu_vector_path(const char *rel, char *buf, size_t cap);
/* Skip the current cmocka test unless the vectors are present. */
#define TU_REQUIRE_VECTORS()                                                                                       \
	do {                                                                                                       \
		if (!tu_vectors_dir()) {                                                                           \
			skip();                                                                                    \
			return;                                                                                    \
		}                                                                                                  \
	} while (0)

/* Decode a hex string literal into buf (asserts). */
void tu_hex(const char *hex, uint8_t *buf, size_t len);

/* A fresh temporary directory (mkdtemp under $TMPDIR); removed by tu_rmtree. */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);

/* An emulated platform (RSA-2048 VCEK) in a fresh temporary directory, opened; each call fails the test on error. */
typedef struct {
	char *tmp;     /* the test's temporary directory */
	char dir[512]; /* tmp/state */
	sa_emu *e;
} tu_plat;
void tu_plat_create(tu_plat *p, sa_product product);
/* Close the emulator and open its state again. */
void tu_plat_reopen(tu_plat *p);
/* Close the emulator and remove the temporary directory. */
void tu_plat_free(tu_plat *p);

#endif
