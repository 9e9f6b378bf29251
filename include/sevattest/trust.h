/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust anchors and the certificate pool a verifier draws on.
 *
 * By default the roots are AMD's ARKs, pinned by the SHA-256 fingerprint of
 * their DER encoding; the certificates themselves come from files the user
 * names, a trust directory or the KDS cache, and an ARK that does not match
 * its pin is refused.  sa_trust_set_roots replaces the pins with the
 * certificates the user names (that is how an emulator's root is trusted:
 * only when named, never by default).
 */
#ifndef SEVATTEST_TRUST_H
#define SEVATTEST_TRUST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sevattest/cert.h"
#include "sevattest/product.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sa_trust sa_trust;

typedef struct sa_ark_pin {
	sa_product product;
	const char *name;          /* "ARK-Milan" */
	uint8_t fingerprint[32];   /* SHA-256 of the DER certificate */
} sa_ark_pin;

/* The pinned AMD ARKs. */
const sa_ark_pin *sa_ark_pins(size_t *count);

SA_MUST_USE sa_status sa_trust_new(sa_trust **out, sa_error *err);
void sa_trust_free(sa_trust *t);

/*
 * Replace the pinned AMD roots by the self-signed certificates in list (taken
 * over).  Each must verify its own signature.  After this only these roots are
 * trusted.
 */
SA_MUST_USE sa_status sa_trust_set_roots(sa_trust *t, sa_cert_list *list, sa_error *err);
SA_MUST_USE sa_status sa_trust_set_roots_file(sa_trust *t, const char *path, sa_error *err);
bool sa_trust_has_custom_roots(const sa_trust *t);

/* Add certificates (any role) to the pool; list is emptied (ownership taken). */
SA_MUST_USE sa_status sa_trust_add(sa_trust *t, sa_cert_list *list, sa_error *err);
SA_MUST_USE sa_status sa_trust_add_file(sa_trust *t, const char *path, sa_error *err);
/* Every *.pem, *.crt, *.cer, *.der file in dir (not recursive). */
SA_MUST_USE sa_status sa_trust_add_dir(sa_trust *t, const char *dir, sa_error *err);
/* The VEK the user named: used in preference to any pool VEK. */
SA_MUST_USE sa_status sa_trust_set_vek(sa_trust *t, sa_cert *vek, sa_error *err);

/*
 * Load a VEK file (DER or PEM).  Its VCEK/VLEK becomes the user's VEK; any other
 * certificates in it (a bundle may carry ASK and ARK) join the pool.  A file
 * holding a single certificate of no recognised role is taken as the VEK.
 */
SA_MUST_USE sa_status sa_trust_add_vek_file(sa_trust *t, const char *path, sa_error *err);

/* Injectable clock for validity checks; 0 means the wall clock. */
void sa_trust_set_time(sa_trust *t, time_t now);
time_t sa_trust_now(const sa_trust *t);

/* Candidate roots for a product (pinned mode: pool ARKs that match a pin of that
 * product; custom mode: the named roots). */
size_t sa_trust_roots(const sa_trust *t, sa_product p, const sa_cert **out, size_t max);
/* Pool certificates of a role (and product, unless SA_PRODUCT_UNKNOWN). */
size_t sa_trust_find(const sa_trust *t, sa_cert_role role, sa_product p, const sa_cert **out, size_t max);
const sa_cert *sa_trust_vek(const sa_trust *t);
/* True if pinned mode and the certificate's fingerprint equals the pin of its product. */
bool sa_trust_ark_matches_pin(const sa_cert *ark, sa_product *pinned_product);

#ifdef __cplusplus
}
#endif
#endif
