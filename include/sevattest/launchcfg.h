/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A confidential guest's launch configuration as QEMU takes it: the
 * `-object sev-guest,...` / `-object sev-snp-guest,...` option, in either of
 * QEMU's two spellings, read with QEMU's rules so that what launches here
 * launches there.
 *
 *   keyval   TYPE,id=ID,key=value,...   (or qom-type=TYPE,...; ",," is a comma
 *            inside a value; a trailing ',' is allowed).  Every value is text,
 *            converted by the property's type (QEMU's keyval visitor).
 *   JSON     {"qom-type":"sev-snp-guest","id":"sev0","policy":196608,...}
 *            (the text starts with '{', as QEMU decides).  Numbers must be JSON
 *            integers, booleans JSON true/false, the rest strings.
 *
 * Properties (qapi/qom.json, target/i386/sev.c):
 *   both            sev-device str, cbitpos u32, reduced-phys-bits u32 (required;
 *                   1..63), kernel-hashes bool
 *   sev-guest       policy u32 (default 0x1), handle u32, dh-cert-file and
 *                   session-file (paths of base64 files: the GODH certificate,
 *                   0x824 bytes, and the session buffer, 0x80, read by
 *                   sa_launchcfg_load_files), legacy-vm-type on/off/auto
 *   sev-snp-guest   policy u64 (default 0x30000), init-flags u64 (from the
 *                   pre-9.1 patches; not in upstream QEMU), guest-visible-workarounds
 *                   (base64 of 16 bytes), id-block (base64 of 96), id-auth (base64
 *                   of at most 4096, kept zero-padded to 4096), author-key-enabled
 *                   bool, host-data (base64 of 32), vcek-disabled bool
 *
 * QEMU's conversions, followed here: numbers as C strtoull with base 0 in
 * keyval (decimal, 0x hex, a leading 0 is octal: "010" is 8, "08" an error; no
 * size suffixes; leading blanks and a '+' accepted); booleans on/off, yes/no,
 * true/false, y/n.  Stricter than QEMU, on purpose (each says so in its
 * message): a key given twice (QEMU's keyval keeps the last), a negative
 * number (QEMU wraps "-1" to all ones), and base64 that is not canonical
 * RFC 4648 (QEMU checks only the alphabet and lets GLib skip the rest).
 * Errors are SA_ERR_FORMAT (syntax), SA_ERR_ARG (a property, with QEMU's
 * wording where it has one: "Parameter 'x' is unexpected", "id-block:
 * parameter length of 95 not equal to 96"), SA_ERR_RANGE (sizes and limits).
 */
#ifndef SEVATTEST_LAUNCHCFG_H
#define SEVATTEST_LAUNCHCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_LAUNCHCFG_MAX_TEXT 65536 /* longest -object text or file accepted */
#define SA_LAUNCHCFG_ID_MAX 127     /* longest id */
#define SA_LAUNCHCFG_PATH_MAX 4095  /* longest sev-device, dh-cert-file, session-file */
#define SA_LAUNCHCFG_GODH_SIZE 0x824
#define SA_LAUNCHCFG_SESSION_SIZE 0x80
#define SA_LAUNCHCFG_GOSVW_SIZE 16
#define SA_LAUNCHCFG_ID_BLOCK_SIZE 96
#define SA_LAUNCHCFG_ID_AUTH_SIZE 4096
#define SA_LAUNCHCFG_HOST_DATA_SIZE 32
#define SA_LAUNCHCFG_SEV_DEFAULT_POLICY 0x1ull
#define SA_LAUNCHCFG_SNP_DEFAULT_POLICY 0x30000ull

typedef enum sa_launchcfg_type {
	SA_LAUNCHCFG_SEV = 1, /* sev-guest (SEV, or SEV-ES with policy bit 2) */
	SA_LAUNCHCFG_SNP = 2, /* sev-snp-guest */
} sa_launchcfg_type;

typedef enum sa_on_off_auto {
	SA_AUTO = 0,
	SA_ON = 1,
	SA_OFF = 2,
} sa_on_off_auto;

typedef struct sa_launchcfg {
	sa_launchcfg_type type;
	char id[SA_LAUNCHCFG_ID_MAX + 1];

	/* both types */
	bool has_sev_device, has_cbitpos, has_kernel_hashes;
	char sev_device[SA_LAUNCHCFG_PATH_MAX + 1];
	uint32_t cbitpos;
	uint32_t reduced_phys_bits; /* required */
	bool kernel_hashes;

	/* policy: always filled (the type's default unless has_policy); sev-guest's fits in 32 bits */
	bool has_policy;
	uint64_t policy;

	/* sev-guest */
	bool has_handle, has_dh_cert_file, has_session_file, has_legacy_vm_type;
	uint32_t handle;
	char dh_cert_file[SA_LAUNCHCFG_PATH_MAX + 1];
	char session_file[SA_LAUNCHCFG_PATH_MAX + 1];
	sa_on_off_auto legacy_vm_type;
	/* filled by sa_launchcfg_load_files */
	bool godh_loaded, session_loaded;
	uint8_t godh[SA_LAUNCHCFG_GODH_SIZE];
	uint8_t session[SA_LAUNCHCFG_SESSION_SIZE];

	/* sev-snp-guest */
	bool has_init_flags, has_gosvw, has_id_block, has_id_auth, has_author_key_enabled, has_host_data,
		has_vcek_disabled;
	uint64_t init_flags;
	uint8_t gosvw[SA_LAUNCHCFG_GOSVW_SIZE];
	uint8_t id_block[SA_LAUNCHCFG_ID_BLOCK_SIZE];
	uint8_t id_auth[SA_LAUNCHCFG_ID_AUTH_SIZE]; /* zero-padded */
	size_t id_auth_len;                          /* the decoded length, 0..4096 */
	bool author_key_enabled;
	uint8_t host_data[SA_LAUNCHCFG_HOST_DATA_SIZE];
	bool vcek_disabled;
} sa_launchcfg;

/* "sev-guest", "sev-snp-guest". */
const char *sa_launchcfg_type_name(sa_launchcfg_type type);

/*
 * Parse len bytes of -object text (keyval, or JSON when text[0] is '{') into
 * *out.  On error *out is left unchanged.  Does not touch the filesystem.
 */
SA_MUST_USE sa_status sa_launchcfg_parse(const char *text, size_t len, sa_launchcfg *out, sa_error *err);

/* The same from a file holding either form (line ends at its end ignored); errors name the file. */
SA_MUST_USE sa_status sa_launchcfg_parse_file(const char *path, sa_launchcfg *out, sa_error *err);

/*
 * sev-guest: read and base64-decode dh-cert-file (the GODH certificate, exactly
 * 0x824 bytes) and session-file (exactly 0x80), when set, as QEMU does at
 * LAUNCH_START (whitespace between base64 quads is allowed in files).  Errors
 * name the file and the size found.  Nothing to do for sev-snp-guest.
 */
SA_MUST_USE sa_status sa_launchcfg_load_files(sa_launchcfg *cfg, sa_error *err);

/*
 * The canonical keyval text of cfg (malloc'ed): TYPE,id=ID, then each property
 * that is set, in schema order, numbers in QEMU's spelling (policy and
 * init-flags in hex), booleans on/off, byte strings canonical base64, commas
 * doubled.  sa_launchcfg_parse of it gives back cfg (the loaded files aside).
 */
SA_MUST_USE sa_status sa_launchcfg_format(const sa_launchcfg *cfg, char **out, sa_error *err);

/* sev-guest with the ES policy bit (2): an SEV-ES launch. */
bool sa_launchcfg_is_es(const sa_launchcfg *cfg);

/* Wipe the secrets a configuration may hold (session buffer) and zero it. */
void sa_launchcfg_clear(sa_launchcfg *cfg);

#ifdef __cplusplus
}
#endif
#endif
