/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP X.509 certificates: ARK, ASK, ASVK, VCEK and VLEK.
 *
 * Certificates are parsed by OpenSSL; AMD's private extensions (OIDs under
 * 1.3.6.1.4.1.3704.1) are decoded by our own DER reader.  The role of each
 * certificate comes from its subject CN as KDS issues them ("ARK-Milan",
 * "SEV-Milan", "SEV-VLEK-Milan", "SEV-VCEK", "SEV-VLEK"), cross-checked with
 * its extensions.
 */
#ifndef SEVATTEST_CERT_H
#define SEVATTEST_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "sevattest/error.h"
#include "sevattest/product.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sa_cert_role {
	SA_ROLE_UNKNOWN = 0,
	SA_ROLE_ARK,  /* AMD Root Key, self-signed */
	SA_ROLE_ASK,  /* AMD SEV Key, signs VCEKs */
	SA_ROLE_ASVK, /* AMD SEV VLEK Key, signs VLEKs */
	SA_ROLE_VCEK, /* Versioned Chip Endorsement Key */
	SA_ROLE_VLEK, /* Versioned Loaded Endorsement Key */
} sa_cert_role;

const char *sa_cert_role_name(sa_cert_role role); /* "ARK", "ASK", ... */

typedef enum sa_hwid_encoding {
	SA_HWID_NONE = 0,
	SA_HWID_RAW,          /* extnValue holds the raw chip id bytes */
	SA_HWID_OCTET_STRING, /* extnValue holds DER OCTET STRING(chip id) */
} sa_hwid_encoding;

/* AMD's VEK extensions.  Each has_* says whether the extension was present. */
typedef struct sa_amd_ext {
	bool has_struct_version;
	uint64_t struct_version;
	bool has_product_name;
	char product_name[64]; /* NUL-terminated; printable ASCII only */
	bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
	uint8_t bl, tee, snp, ucode, fmc;
	uint8_t spl_present; /* bit i set: spl_i (i = 4..7, OIDs .1.3.4-.1.3.7) present */
	uint8_t spl[8];      /* spl[4..7] */
	bool has_hwid;
	sa_hwid_encoding hwid_encoding;
	uint8_t hwid[64];
	size_t hwid_len; /* 64 (Milan, Genoa) or 8 (Turin) */
	bool has_csp_id;
	char csp_id[256]; /* VLEK: the cloud provider, e.g. "CN=cc-us-east-2.amazonaws.com" */
} sa_amd_ext;

typedef struct sa_cert {
	X509 *x509;             /* owned */
	EVP_PKEY *pubkey;       /* owned reference */
	sa_cert_role role;
	sa_product product;     /* from productName (VEK) or the CN suffix (ARK/ASK/ASVK) */
	int stepping;           /* from productName "-B<n>", else SA_STEPPING_UNKNOWN */
	sa_amd_ext ext;
	uint8_t fingerprint[32]; /* SHA-256 over the DER certificate */
	char subject_cn[128];
	char issuer_cn[128];
	time_t not_before, not_after;
} sa_cert;

/* A growable list of certificates; sa_cert_list_free frees them all. */
typedef struct sa_cert_list {
	sa_cert **v;
	size_t n, cap;
} sa_cert_list;

/* Parse one DER certificate. */
SA_MUST_USE sa_status sa_cert_from_der(const uint8_t *der, size_t len, sa_cert **out, sa_error *err);
/* Take ownership of an X509 (on success and on failure). */
SA_MUST_USE sa_status sa_cert_from_x509(X509 *x509, sa_cert **out, sa_error *err);
/* Parse a buffer holding one DER certificate or any number of PEM certificates;
 * appends to list.  Non-certificate PEM blocks are an error naming their type. */
SA_MUST_USE sa_status sa_cert_parse_any(const uint8_t *data, size_t len, sa_cert_list *list, sa_error *err);
SA_MUST_USE sa_status sa_cert_load_file(const char *path, sa_cert_list *list, sa_error *err);
void sa_cert_free(sa_cert *c);

SA_MUST_USE sa_status sa_cert_list_push(sa_cert_list *list, sa_cert *c, sa_error *err); /* takes ownership */
void sa_cert_list_free(sa_cert_list *list);
/* Remove and return element i (caller owns it). */
sa_cert *sa_cert_list_take(sa_cert_list *list, size_t i);

/* Decode AMD's extensions of an X509 into ext (zeroed first). */
SA_MUST_USE sa_status sa_amd_ext_parse(const X509 *x509, sa_amd_ext *ext, sa_error *err);
/*
 * Decode the DER value (extnValue contents) of one AMD extension, identified by
 * the arcs after 1.3.6.1.4.1.3704.1 (e.g. "3.1" for blSPL, "4" for hwID).
 * Unknown arcs are ignored.  Exposed for fuzzing.
 */
SA_MUST_USE sa_status sa_amd_ext_parse_value(const char *arc, const uint8_t *value, size_t len, sa_amd_ext *ext,
					     sa_error *err);

/*
 * Verify that issuer signed child: AMD's profile only, RSASSA-PSS with SHA-384,
 * MGF1-SHA-384 and salt length 48, and the child's issuer name equal to the
 * issuer's subject.  SA_ERR_VERIFY with the reason otherwise.
 */
SA_MUST_USE sa_status sa_cert_verify_signed_by(const sa_cert *child, const sa_cert *issuer, sa_error *err);

/* SA_OK if not_before <= now <= not_after; SA_ERR_VERIFY naming the bound otherwise. */
SA_MUST_USE sa_status sa_cert_check_validity(const sa_cert *c, time_t now, sa_error *err);

/*
 * Issuing certificates in AMD's profile (used by the emulated platform for its
 * own root of trust, and by tests for throw-away chains).  X.509 v3, RSASSA-PSS
 * SHA-384 / MGF1-SHA-384 / salt 48 signatures by an RSA issuer key, subject and
 * issuer names as KDS uses them (OU=Engineering, C=US, L=Santa Clara, ST=CA,
 * O=Advanced Micro Devices, CN=<cn>), and for VCEK/VLEK the AMD extensions
 * taken from tmpl->ext (structVersion, productName, SPLs, hwID or csp_id).
 */
typedef struct sa_cert_template {
	sa_cert_role role;
	sa_product product;
	const char *subject_cn;     /* NULL: the KDS name for role and product */
	uint64_t serial;
	time_t not_before, not_after;
	EVP_PKEY *subject_key;      /* public part is certified */
	const sa_cert *issuer;      /* NULL: self-signed by issuer_key (= subject_key) */
	EVP_PKEY *issuer_key;       /* RSA private key */
	const sa_amd_ext *ext;      /* VCEK/VLEK extensions; NULL for ARK/ASK/ASVK */
} sa_cert_template;

SA_MUST_USE sa_status sa_cert_issue(const sa_cert_template *tmpl, sa_cert **out, sa_error *err);
SA_MUST_USE sa_status sa_key_generate_rsa(unsigned bits, EVP_PKEY **out, sa_error *err);
SA_MUST_USE sa_status sa_key_generate_p384(EVP_PKEY **out, sa_error *err);
/* DER of the certificate (malloc'ed) and PEM (malloc'ed, NUL-terminated). */
SA_MUST_USE sa_status sa_cert_to_der(const sa_cert *c, uint8_t **out, size_t *out_len, sa_error *err);
SA_MUST_USE sa_status sa_cert_to_pem(const sa_cert *c, char **out, sa_error *err);

/* "2024-12-10T00:00:00Z" into buf (>= 21 bytes); returns buf. */
char *sa_time_format(time_t t, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
