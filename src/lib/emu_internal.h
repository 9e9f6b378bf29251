/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emulated AMD Secure Processor, shared between its sources (not
 * installed): emu.c (the firmware commands), emu_state.c (the state
 * directory) and emu_keys.c (key derivation and certificates).
 *
 * Every function here expects the caller to hold e->mu (or to own e alone,
 * as create and open do).
 */
#ifndef SEVATTEST_EMU_INTERNAL_H
#define SEVATTEST_EMU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "sevattest/cert.h"
#include "sevattest/emu.h"
#include "sevattest/gctx.h"
#include "sevattest/guest_msg.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"

#include "internal.h"

#define EMU_CHIP_SECRET_LEN 48
#define EMU_VMRK_LEN 48
#define EMU_CSP_ID_MAX 255
#define EMU_PATH_MAX 4096

typedef enum emu_guest_state {
	EMU_GUEST_LAUNCHING = 0,
	EMU_GUEST_RUNNING,
	EMU_GUEST_DECOMMISSIONED,
} emu_guest_state;

const char *emu_guest_state_name(emu_guest_state s);

/*
 * One guest context (GCTX).  Persisted in guests/<handle>.json and, for the
 * secrets, guests/<handle>.keys.  The PSP's message counters, which change with
 * every guest request, also live in a journal, guests/<handle>.seq, updated in
 * place with one data sync per request (emu_seqno_begin/end); on load each
 * counter is the larger of the JSON's and the journal's.
 */
typedef struct emu_guest {
	uint32_t handle;
	emu_guest_state state;
	uint64_t policy;
	uint64_t launch_tcb; /* CURRENT_TCB at SNP_LAUNCH_START */
	sa_gctx gctx;        /* the launch digest */
	uint32_t pages;      /* pages measured so far */
	bool has_secrets;    /* the SECRETS page was inserted */
	uint64_t secrets_gpa;
	uint8_t host_data[32];
	bool id_block_en, author_key_en;
	uint8_t family_id[16], image_id[16];
	uint32_t guest_svn;
	uint8_t id_key_digest[48], author_key_digest[48];
	uint8_t report_id[32], report_id_ma[32];
	uint64_t seqno[SA_VMPCK_COUNT]; /* the PSP's message counter per VMPCK */
	uint64_t seq_gen;               /* generation of the newest slot in guests/<handle>.seq (0: none yet) */
	/* Secrets (guests/<handle>.keys); wiped when the guest is decommissioned or freed. */
	uint8_t vmpck[SA_VMPCK_COUNT][SA_VMPCK_LEN];
	uint8_t vmrk[EMU_VMRK_LEN];
} emu_guest;

/* The platform state persisted in platform.json. */
typedef struct emu_platform {
	sa_product product;
	uint8_t chip_id[64];
	uint8_t cpuid_fam, cpuid_mod, cpuid_step;
	uint64_t platform_info;
	uint64_t current_tcb, reported_tcb, committed_tcb;
	sa_fw_version current_fw, committed_fw;
	bool mask_chip_id, mask_chip_key;
	uint32_t next_handle;
	bool vlek_loaded;
	uint32_t vlek_generation; /* keys/vlek-<n>.pem and certs/vlek-<n>.der */
	uint64_t vlek_tcb;        /* the REPORTED_TCB the VLEK was issued for */
	char vlek_csp_id[EMU_CSP_ID_MAX + 1];
	int64_t created; /* seconds since the epoch */
} emu_platform;

/*
 * One SEV / SEV-ES guest (emu_sev.c).  Launching (LUPDATE) it lives in memory
 * only; from LAUNCH_MEASURE on it is persisted in guests/<handle>.sev.json and,
 * for the TEK/TIK and the injected secrets, guests/<handle>.sev.keys.
 */
#define EMU_SEV_SECRETS_MAX 16 /* LAUNCH_SECRET packets per guest */

typedef struct emu_sev_secret {
	uint64_t gpa;
	uint8_t *data; /* OPENSSL_malloc'd plaintext, wiped when freed */
	size_t len;
} emu_sev_secret;

typedef struct emu_sev_guest {
	uint32_t handle;
	uint8_t state; /* SA_EMU_SEV_GSTATE_LUPDATE, _LSECRET or _RUNNING */
	bool decommissioned;
	uint32_t policy;
	EVP_MD_CTX *ld_ctx;        /* LUPDATE: the running SHA-256 of the launch digest */
	uint32_t vmsas;            /* LAUNCH_UPDATE_VMSA pages measured */
	uint8_t launch_digest[32]; /* final from LAUNCH_MEASURE on */
	uint8_t measure[32];       /* LAUNCH_MEASURE's MEASURE (what LAUNCH_SECRET's MAC covers) */
	uint8_t mnonce[16];        /* LAUNCH_MEASURE's MNONCE */
	sa_sev_tks tks;            /* secret */
	uint32_t n_secrets;
	emu_sev_secret secrets[EMU_SEV_SECRETS_MAX];
} emu_sev_guest;

/* sev.json: which generation of SEV identity files is current, and the platform flags. */
typedef struct emu_sev_meta {
	uint32_t generation;  /* keys/sev-<n>.pem, certs/sev-<n>.certs */
	bool owner_external;  /* the OCA was imported (PEK_CERT_IMPORT) */
	bool config_es;       /* INIT with CONFIG_ES: SEV-ES guests allowed */
} emu_sev_meta;

/* The legacy SEV platform identity, loaded (or made) on first use. */
typedef struct emu_sev_platform {
	bool ready;          /* meta, keys and certificates below are loaded */
	emu_sev_meta meta;
	EVP_PKEY *cek_key;   /* derived from the chip secret */
	EVP_PKEY *oca_key;   /* NULL when the OCA is external */
	EVP_PKEY *pek_key, *pdh_key;
	sa_sev_cert cek, oca, pek, pdh; /* CEK unsigned, as the firmware exports it */
	bool have_amd;
	sa_amd_cert ark, ask; /* AMD-format, the X.509 ARK/ASK's RSA keys (certs/sev_ask_ark.cert) */
} emu_sev_platform;

/* A worker that runs one fdatasync at a time (emu_sync.c). */
typedef struct emu_syncer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool initialised, started, stop;
	int fd;         /* the file to sync and close */
	bool job, done; /* a sync was handed over / its result is ready */
	int result;     /* 0 or an errno */
} emu_syncer;

SA_MUST_USE sa_status emu_syncer_init(emu_syncer *s, sa_error *err);
/* Hand fd over: the worker runs fdatasync and closes it (done here if no worker can be started). */
void emu_syncer_submit(emu_syncer *s, int fd);
/* Wait for the submitted sync; 0 or its errno. */
int emu_syncer_wait(emu_syncer *s);
void emu_syncer_destroy(emu_syncer *s);

struct sa_emu {
	pthread_mutex_t mu;
	emu_syncer syncer; /* the counter journal's data sync, overlapped with signing */
	char *dir;
	int lock_fd;
	emu_platform p;
	uint8_t chip_secret[EMU_CHIP_SECRET_LEN];
	sa_cert *ark, *ask, *asvk;
	EVP_PKEY *ask_key, *asvk_key;
	/* The VCEK of vcek_tcb (the REPORTED_TCB when last needed); a cache. */
	bool have_vcek;
	uint64_t vcek_tcb;
	EVP_PKEY *vcek_key;
	sa_cert *vcek;
	/* The loaded VLEK (p.vlek_loaded). */
	EVP_PKEY *vlek_key;
	sa_cert *vlek;
	emu_guest **guests;
	size_t n_guests, cap_guests;
	/* SEV / SEV-ES (emu_sev.c) */
	emu_sev_platform sev;
	emu_sev_guest **sev_guests;
	size_t n_sev_guests, cap_sev_guests;
};

#define EMU_LOCKED(e, call)                                                                                            \
	do {                                                                                                           \
		pthread_mutex_lock(&(e)->mu);                                                                          \
		sa_status locked_status_ = (call);                                                                     \
		pthread_mutex_unlock(&(e)->mu);                                                                        \
		return locked_status_;                                                                                 \
	} while (0)

/* ---- emu.c ---------------------------------------------------------------- */

/* A failed command: *fw receives the status, err the reason and the status's name. */
SA_INTERNAL sa_status emu_fw_fail(uint32_t status, uint32_t *fw, sa_error *err, const char *fmt, ...) SA_PRINTF(4, 5);
/* The state could not be written (err holds why): nothing changed (HWSEV_RET_PLATFORM). */
SA_INTERNAL sa_status emu_fw_io(sa_status st, uint32_t *fw, sa_error *err, const char *cmd);
SA_INTERNAL sa_status emu_fw_ok(uint32_t *fw);
/* A free guest handle (SNP and SEV share the space; a handle whose file exists is never reused). */
SA_INTERNAL SA_MUST_USE sa_status emu_handle_pick(const sa_emu *e, const char *cmd, uint32_t *handle, uint32_t *fw,
						  sa_error *err);

/* ---- emu_state.c -------------------------------------------------------- */

/* dir/rel into buf; SA_ERR_RANGE if it does not fit. */
SA_MUST_USE sa_status emu_path(const char *dir, const char *rel, char *buf, size_t cap, sa_error *err);
/* Atomic write of dir/rel, then fsync of its directory so the rename is durable. */
SA_MUST_USE sa_status emu_write(const char *dir, const char *rel, const void *data, size_t len, int mode,
				sa_error *err);
/* Remove dir/rel (absent is fine) and sync the directory. */
SA_MUST_USE sa_status emu_remove(const char *dir, const char *rel, sa_error *err);
/* The same, best effort (a leftover is removed again on the next open). */
void emu_remove_quiet(const char *dir, const char *rel);
/*
 * The PSP counters of guest g, made durable in guests/<handle>.seq before a
 * response leaves: two 512-byte slots {magic, generation, seqno[4], SHA-256 of
 * those}, the next generation written over the older slot, so a torn write
 * leaves the other slot valid.  begin writes the record and hands its data sync
 * to e->syncer (the first record, which creates the file, is synced at once);
 * from then on g->seqno and g->seq_gen hold the new values: the sequence number
 * is consumed whatever happens next.  end waits for the sync; on failure the
 * response must not leave.
 */
SA_MUST_USE sa_status emu_seqno_begin(sa_emu *e, emu_guest *g, const uint64_t seqno[SA_VMPCK_COUNT], bool *pending,
				      sa_error *err);
SA_MUST_USE sa_status emu_seqno_end(sa_emu *e, const emu_guest *g, bool pending, sa_error *err);

/* Read dir/rel (at most max bytes). */
SA_MUST_USE sa_status emu_read(const char *dir, const char *rel, size_t max, uint8_t **out, size_t *len, sa_error *err);
bool emu_exists(const char *dir, const char *rel);

SA_MUST_USE sa_status emu_platform_save(const sa_emu *e, const emu_platform *p, sa_error *err);
SA_MUST_USE sa_status emu_platform_load(const char *dir, emu_platform *p, sa_error *err);
SA_MUST_USE sa_status emu_guest_save(const sa_emu *e, const emu_guest *g, sa_error *err);
SA_MUST_USE sa_status emu_guest_save_keys(const sa_emu *e, const emu_guest *g, sa_error *err);
/* Load every guest of guests/ into e (and remove the leftovers a crash can leave). */
SA_MUST_USE sa_status emu_guests_load(sa_emu *e, sa_error *err);
void emu_guest_free(emu_guest *g);

SA_MUST_USE sa_status emu_key_save(const char *dir, const char *rel, EVP_PKEY *key, sa_error *err);
SA_MUST_USE sa_status emu_key_load(const char *dir, const char *rel, EVP_PKEY **out, sa_error *err);
/* n private keys in one PEM file (0600), in order; load wants exactly n. */
SA_INTERNAL SA_MUST_USE sa_status emu_keys_save(const char *dir, const char *rel, EVP_PKEY *const *keys, size_t n,
						sa_error *err);
SA_INTERNAL SA_MUST_USE sa_status emu_keys_load(const char *dir, const char *rel, EVP_PKEY **keys, size_t n,
						sa_error *err);
/* Remove <sub>/<prefix><n><suffix> files for every generation n but keep (keep 0: all). */
SA_INTERNAL void emu_remove_generations(const sa_emu *e, const char *sub, const char *prefix, const char *suffix,
					uint32_t keep);

/* sev.json (SA_ERR_NOT_FOUND when absent: a state directory made before SEV support). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_meta_save(const sa_emu *e, const emu_sev_meta *m, sa_error *err);
SA_INTERNAL SA_MUST_USE sa_status emu_sev_meta_load(const char *dir, emu_sev_meta *m, sa_error *err);
/* guests/<h>.sev.json (0600) and guests/<h>.sev.keys (TEK, TIK, secrets; 0600). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_guest_save(const sa_emu *e, const emu_sev_guest *g, sa_error *err);
SA_INTERNAL SA_MUST_USE sa_status emu_sev_guest_save_keys(const sa_emu *e, const emu_sev_guest *g, sa_error *err);
/* Load every SEV guest of guests/ into e (and remove keys left by a crash or a decommission). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_guests_load(sa_emu *e, sa_error *err);
SA_INTERNAL void emu_sev_guest_free(emu_sev_guest *g);
/* Append g to e->sev_guests (SA_ERR_NOMEM leaves e as it was). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_guests_push(sa_emu *e, emu_sev_guest *g, sa_error *err);
SA_MUST_USE sa_status emu_cert_save(const char *dir, const char *rel, const sa_cert *c, bool pem, sa_error *err);
SA_MUST_USE sa_status emu_cert_load(const char *dir, const char *rel, sa_cert **out, sa_error *err);

/* TCB checks in the platform's layout: reserved bytes zero; a <= b component-wise. */
SA_MUST_USE sa_status emu_tcb_check(sa_product p, uint64_t raw, const char *what, sa_error *err);
bool emu_tcb_le(sa_product p, uint64_t a, uint64_t b);
char *emu_tcb_str(sa_product p, uint64_t raw, char *buf, size_t cap);

/* Remove leftovers of interrupted atomic writes (<name>.tmpXXXXXX) in dir and its subdirectories. */
void emu_clean_tmp(const char *dir);

/* ---- emu_keys.c --------------------------------------------------------- */

/* HKDF-SHA384 (EVP_KDF "HKDF", extract and expand). */
SA_MUST_USE sa_status emu_hkdf(const uint8_t *key, size_t key_len, const char *salt, const uint8_t *info,
			       size_t info_len, uint8_t *out, size_t out_len, sa_error *err);
/* A P-384 key pair whose private scalar is derived from secret with HKDF-SHA384 (salt, info || counter). */
SA_MUST_USE sa_status emu_p384_derive(const uint8_t *secret, size_t secret_len, const char *salt, const uint8_t *info,
				      size_t info_len, EVP_PKEY **out, sa_error *err);
/* The private scalar of a P-384 key, 48 bytes big-endian. */
SA_MUST_USE sa_status emu_p384_private(EVP_PKEY *key, uint8_t out[48], sa_error *err);

/* AMD extensions of a VEK for this platform and TCB (csp_id NULL: VCEK with hwID, else VLEK). */
void emu_vek_ext(const emu_platform *p, uint64_t tcb, const char *csp_id, sa_amd_ext *x);
/* Make e->vcek/e->vcek_key the VCEK of tcb (derived; certificate from the cache or issued and cached). */
SA_MUST_USE sa_status emu_vcek_ensure(sa_emu *e, uint64_t tcb, sa_error *err);
/* A fresh random VLEK for the REPORTED_TCB, certified by the ASVK for csp_id. */
SA_MUST_USE sa_status emu_vlek_issue(const sa_emu *e, const char *csp_id, EVP_PKEY **key, sa_cert **cert,
				     sa_error *err);
/* The issuing window of certificates: [now - 1 day, min(now + years, cap)] (cap 0: none). */
void emu_validity(int years, time_t cap, time_t *not_before, time_t *not_after);

/* The SEV CEK: P-384, derived from the chip secret (stable across FACTORY_RESET and TCB changes). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_cek_derive(const sa_emu *e, EVP_PKEY **out, sa_error *err);

/* ---- emu_sev.c ------------------------------------------------------------ */

/* At creation: the AMD-format ARK/ASK and a first self-owned SEV identity. */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_create(sa_emu *e, sa_error *err);
/* At open: sev.json's identity (if there is one yet), validated, and the SEV guests. */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_open(sa_emu *e, sa_error *err);
SA_INTERNAL void emu_sev_free(sa_emu *e);
SA_INTERNAL emu_sev_guest *emu_sev_find(const sa_emu *e, uint32_t handle);
/* Guests not decommissioned. */
SA_INTERNAL uint32_t emu_sev_live_count(const sa_emu *e);
/* DECOMMISSION of an SEV guest (handle known to be one). */
SA_INTERNAL SA_MUST_USE sa_status emu_sev_decommission(sa_emu *e, uint32_t handle, uint32_t *fw, sa_error *err);

/* Key derivation for MSG_KEY_REQ (the request already validated). */
typedef enum emu_root_key {
	EMU_ROOT_VCEK = 0,
	EMU_ROOT_VLEK = 1,
	EMU_ROOT_VMRK = 2,
} emu_root_key;

SA_MUST_USE sa_status emu_derive_guest_key(const sa_emu *e, const emu_guest *g, emu_root_key root,
					   const sa_key_req *req, uint8_t out[32], sa_error *err);

#endif
