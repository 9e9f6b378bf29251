/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD Key Distribution Service client: VCEK, cert_chain and CRL downloads
 * with an on-disk cache, an offline mode and back-off on HTTP 429.
 *
 * URL shapes (host https://kdsintf.amd.com):
 *   /vcek/v1/{product}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U
 *       hwid = lowercase hex of CHIP_ID, all 64 bytes (Milan, Genoa) or the
 *       first 8 (Turin, whose query starts with fmcSPL=F&); SPLs from
 *       REPORTED_TCB.
 *   /vcek/v1/{product}/cert_chain   PEM, ASK then ARK
 *   /vlek/v1/{product}/cert_chain   PEM, ASVK then ARK
 *   /vcek/v1/{product}/crl, /vlek/v1/{product}/crl   DER CRL signed by the ARK
 *   /cek/id/{id}    SEV (legacy): the CEK signed by the ASK, the raw 0x824-byte
 *       SEV certificate; id = lowercase hex of GET_ID's first 64 bytes
 *       (socket 0), as sevctl and sev-tool ask for it.
 *
 * AMD's SEV CA files (ASK then ARK in AMD's CA format) are not on KDS but
 * published as ask_ark_{naples,rome,milan,genoa,turin}.cert.  They have moved
 * over time (developer.amd.com/wp-content/resources/, used by sevctl and
 * sev-tool; now download.amd.com/developer/eula/sev/, where AMD's SEV page
 * links them); sev_ca_url selects the host.
 *
 * Cache layout below the cache directory: the URL path for KDS objects
 * (query '?' as '/', '&' as '_'; .der, .pem, .cert for CEKs), and
 * sev/ask_ark_<product>.cert for the SEV CA files.
 */
#ifndef SEVATTEST_KDS_H
#define SEVATTEST_KDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sevattest/cert.h"
#include "sevattest/error.h"
#include "sevattest/product.h"
#include "sevattest/report.h"
#include "sevattest/sev_cert.h"
#include "sevattest/tcb.h"
#include "sevattest/trust.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_KDS_DEFAULT_BASE_URL "https://kdsintf.amd.com"
#define SA_KDS_DEFAULT_SEV_CA_URL "https://download.amd.com/developer/eula/sev"
/* GET_ID gives 64 bytes per socket. */
#define SA_KDS_SEV_ID_SIZE 64

typedef struct sa_kds_opts {
	const char *base_url;  /* NULL: SA_KDS_DEFAULT_BASE_URL */
	const char *sev_ca_url; /* NULL: SA_KDS_DEFAULT_SEV_CA_URL */
	const char *cache_dir; /* NULL: $XDG_CACHE_HOME/sevattest/kds or ~/.cache/sevattest/kds */
	bool offline;          /* never touch the network; cache only */
	bool no_cache;         /* neither read nor write the cache */
	unsigned max_retries;  /* on HTTP 429/503; 0 means the default (4) */
	unsigned timeout_s;    /* per request; 0 means the default (30) */
	unsigned max_backoff_s;/* cap for one wait; 0 means the default (60) */
} sa_kds_opts;

typedef struct sa_kds sa_kds;

SA_MUST_USE sa_status sa_kds_new(const sa_kds_opts *opts, sa_kds **out, sa_error *err);
void sa_kds_free(sa_kds *k);

/* Paths (relative to the base URL) as KDS spells them. */
SA_MUST_USE sa_status sa_kds_vcek_path(sa_product p, const uint8_t chip_id[64], const sa_tcb *reported, char *out,
				       size_t cap, sa_error *err);
SA_MUST_USE sa_status sa_kds_chain_path(sa_product p, bool vlek, char *out, size_t cap, sa_error *err);
SA_MUST_USE sa_status sa_kds_crl_path(sa_product p, bool vlek, char *out, size_t cap, sa_error *err);

/* Fetch (cache first) into a malloc'ed buffer. */
SA_MUST_USE sa_status sa_kds_fetch_vcek(sa_kds *k, sa_product p, const uint8_t chip_id[64], const sa_tcb *reported,
					uint8_t **out, size_t *out_len, sa_error *err);
SA_MUST_USE sa_status sa_kds_fetch_chain(sa_kds *k, sa_product p, bool vlek, uint8_t **out, size_t *out_len,
					 sa_error *err);
SA_MUST_USE sa_status sa_kds_fetch_crl(sa_kds *k, sa_product p, bool vlek, uint8_t **out, size_t *out_len,
				       sa_error *err);

/*
 * SEV (legacy).  The CEK path takes a GET_ID of 64 or 128 bytes (two sockets:
 * socket 0's is used); the CA path is relative to sev_ca_url.
 */
SA_MUST_USE sa_status sa_kds_cek_path(const uint8_t *id, size_t id_len, char *out, size_t cap, sa_error *err);
SA_MUST_USE sa_status sa_kds_sev_ca_path(sa_sev_product p, char *out, size_t cap, sa_error *err);
/*
 * The ASK-signed CEK of a chip (cache first).  Before it is cached, and when
 * read back, it must decode as a CEK certificate with a slot signed by an ASK.
 */
SA_MUST_USE sa_status sa_kds_fetch_cek(sa_kds *k, const uint8_t *id, size_t id_len, sa_sev_cert *out, sa_error *err);
/*
 * AMD's ask_ark_<product>.cert (cache first), checked before it is cached and
 * when read back: ASK then ARK and nothing else, the ARK is p's pinned ARK
 * (sa_sev_ark_pin_match), the ARK signs the ASK.
 */
SA_MUST_USE sa_status sa_kds_fetch_sev_ca(sa_kds *k, sa_sev_product p, sa_amd_cert *ask, sa_amd_cert *ark,
					  sa_error *err);
/*
 * The ASK and ARK whose ASK signs cek: p's, or with p UNKNOWN each pinned
 * product's in turn (a product whose file is missing or whose ASK does not
 * sign the CEK is skipped; other failures end the search).  found (may be
 * NULL) receives the product.  SA_ERR_NOT_FOUND, naming every product tried,
 * when none fits.
 */
SA_MUST_USE sa_status sa_kds_sev_ca_for_cek(sa_kds *k, const sa_sev_cert *cek, sa_sev_product p, sa_amd_cert *ask,
					    sa_amd_cert *ark, sa_sev_product *found, sa_error *err);

/*
 * Complete the trust pool for one report: if trust lacks the VEK (VCEK only:
 * a VLEK cannot be fetched without CSP credentials) or the chain for the
 * report's product, fetch them (cache first).  Returns SA_OK if nothing was
 * needed or everything was found.
 */
SA_MUST_USE sa_status sa_kds_complete_trust(sa_kds *k, const sa_snp_report *r, sa_product p, sa_trust *trust,
					    sa_error *err);

/*
 * Check a DER CRL: signed by ark (RSA-PSS, AMD profile), current at `now`
 * (thisUpdate <= now, nextUpdate absent or >= now), and `cert`'s serial not
 * listed.  SA_ERR_VERIFY with the reason when revoked or the CRL is bad.
 */
SA_MUST_USE sa_status sa_crl_check(const uint8_t *crl_der, size_t len, const sa_cert *ark, const sa_cert *cert,
				   time_t now, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
