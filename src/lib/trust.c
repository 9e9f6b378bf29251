/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust anchors and the certificate pool.
 *
 * Pins are facts: the SHA-256 fingerprints of the DER encodings of AMD's
 * published ARKs (the same bytes KDS serves at /vcek/v1/<product>/cert_chain).
 * No certificate file is embedded; an ARK supplied by the user, a trust
 * directory or the KDS cache is accepted as a root only if it matches its pin.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sevattest/trust.h"

#include "internal.h"
#include "trust_internal.h"

#define MEMO_SLOTS 64

struct memo {
	uint8_t child[32];
	uint8_t issuer[32];
};

struct sa_trust {
	sa_cert_list pool;
	sa_cert_list roots; /* custom roots (set_roots) */
	bool custom;
	sa_cert *vek;
	time_t now;
	struct memo memo[MEMO_SLOTS];
	size_t memo_n, memo_next;
};

static const sa_ark_pin pins[] = {
	{SA_PRODUCT_MILAN, "ARK-Milan",
	 {0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a, 0x2e, 0x94, 0xe1, 0xf4, 0x21, 0x0d, 0xe4, 0x9e,
	  0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4, 0xc1, 0x74, 0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd}},
	{SA_PRODUCT_GENOA, "ARK-Genoa",
	 {0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c, 0x5d, 0xfd, 0x4a, 0x7d, 0x33, 0x5f, 0x67, 0x4e,
	  0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c, 0xea, 0x2c, 0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1}},
	{SA_PRODUCT_TURIN, "ARK-Turin",
	 {0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9, 0x37, 0x78, 0xa9, 0x04, 0x87, 0x7d, 0x48, 0x19,
	  0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41, 0x93, 0xb2, 0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a}},
};

const sa_ark_pin *sa_ark_pins(size_t *count)
{
	*count = SA_ARRAY_LEN(pins);
	return pins;
}

sa_status sa_trust_new(sa_trust **out, sa_error *err)
{
	sa_trust *t = calloc(1, sizeof(*t));
	SA_ENSURE(t, err, SA_ERR_NOMEM, "out of memory");
	*out = t;
	return SA_OK;
}

void sa_trust_free(sa_trust *t)
{
	if (!t)
		return;
	sa_cert_list_free(&t->pool);
	sa_cert_list_free(&t->roots);
	sa_cert_free(t->vek);
	free(t);
}

static bool has_fingerprint(const sa_cert_list *l, const uint8_t fp[32])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i]->fingerprint, fp, 32) == 0)
			return true;
	return false;
}

sa_status sa_trust_set_roots(sa_trust *t, sa_cert_list *list, sa_error *err)
{
	SA_ENSURE(list && list->n > 0, err, SA_ERR_ARG, "trust root: no certificates given");
	/* Check every root before taking any, so a bad file changes nothing. */
	for (size_t i = 0; i < list->n; i++) {
		const sa_cert *c = list->v[i];
		sa_error e;
		if (sa_cert_verify_signed_by(c, c, &e) != SA_OK)
			return sa_error_set(err, SA_ERR_VERIFY,
					    "trust root %zu (%s) is not a self-signed root in AMD's profile: %s", i + 1,
					    c->subject_cn, e.msg);
	}
	sa_cert_list_free(&t->roots);
	while (list->n > 0) {
		sa_cert *c = sa_cert_list_take(list, 0);
		sa_status st = sa_cert_list_push(&t->roots, c, err);
		if (st != SA_OK)
			return st;
	}
	t->custom = true;
	t->memo_n = 0;
	return SA_OK;
}

sa_status sa_trust_set_roots_file(sa_trust *t, const char *path, sa_error *err)
{
	sa_cert_list l = {0};
	sa_status st = sa_cert_load_file(path, &l, err);
	if (st == SA_OK)
		st = sa_trust_set_roots(t, &l, err);
	sa_cert_list_free(&l);
	return st;
}

bool sa_trust_has_custom_roots(const sa_trust *t) { return t->custom; }

sa_status sa_trust_add(sa_trust *t, sa_cert_list *list, sa_error *err)
{
	while (list->n > 0) {
		sa_cert *c = sa_cert_list_take(list, 0);
		if (has_fingerprint(&t->pool, c->fingerprint)) {
			sa_cert_free(c);
			continue;
		}
		SA_TRY(sa_cert_list_push(&t->pool, c, err));
	}
	return SA_OK;
}

sa_status sa_trust_add_file(sa_trust *t, const char *path, sa_error *err)
{
	sa_cert_list l = {0};
	sa_status st = sa_cert_load_file(path, &l, err);
	if (st == SA_OK)
		st = sa_trust_add(t, &l, err);
	sa_cert_list_free(&l);
	return st;
}

static bool cert_file_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot || name[0] == '.')
		return false;
	return !strcasecmp(dot, ".pem") || !strcasecmp(dot, ".crt") || !strcasecmp(dot, ".cer") ||
	       !strcasecmp(dot, ".der");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

sa_status sa_trust_add_dir(sa_trust *t, const char *dir, sa_error *err)
{
	DIR *d = opendir(dir);
	SA_ENSURE(d, err, SA_ERR_NOT_FOUND, "certificate directory %s cannot be opened", dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	sa_status st = SA_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!cert_file_name(de->d_name))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nn = realloc(names, nc * sizeof(*nn));
			if (!nn) {
				st = sa_error_set(err, SA_ERR_NOMEM, "out of memory listing %s", dir);
				break;
			}
			names = nn;
			cap = nc;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			st = sa_error_set(err, SA_ERR_NOMEM, "out of memory listing %s", dir);
			break;
		}
		n++;
	}
	closedir(d);
	if (st == SA_OK) {
		/* Parse everything first so one bad file leaves the pool unchanged. */
		qsort(names, n, sizeof(*names), cmp_str);
		sa_cert_list all = {0};
		for (size_t i = 0; i < n && st == SA_OK; i++) {
			char path[4096];
			int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (w < 0 || (size_t)w >= sizeof(path)) {
				st = sa_error_set(err, SA_ERR_RANGE, "path too long in %s", dir);
				break;
			}
			st = sa_cert_load_file(path, &all, err);
		}
		if (st == SA_OK)
			st = sa_trust_add(t, &all, err);
		sa_cert_list_free(&all);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return st;
}

sa_status sa_trust_set_vek(sa_trust *t, sa_cert *vek, sa_error *err)
{
	SA_ENSURE(vek, err, SA_ERR_ARG, "no VEK given");
	sa_cert_free(t->vek);
	t->vek = vek;
	return SA_OK;
}

sa_status sa_trust_add_vek_file(sa_trust *t, const char *path, sa_error *err)
{
	sa_cert_list l = {0};
	SA_TRY(sa_cert_load_file(path, &l, err));
	sa_cert *vek = NULL;
	for (size_t i = 0; i < l.n && !vek; i++)
		if (l.v[i]->role == SA_ROLE_VCEK || l.v[i]->role == SA_ROLE_VLEK)
			vek = sa_cert_list_take(&l, i);
	if (!vek && l.n == 1)
		vek = sa_cert_list_take(&l, 0);
	sa_status st = SA_OK;
	if (!vek)
		st = sa_error_set(err, SA_ERR_FORMAT,
				  "%s holds %zu certificates but no VCEK or VLEK (subject CN SEV-VCEK or SEV-VLEK)", path,
				  l.n);
	/* Validate everything before changing the store. */
	if (st == SA_OK)
		st = sa_trust_add(t, &l, err);
	if (st == SA_OK)
		st = sa_trust_set_vek(t, vek, err);
	else
		sa_cert_free(vek);
	sa_cert_list_free(&l);
	return st;
}

void sa_trust_set_time(sa_trust *t, time_t now) { t->now = now; }

time_t sa_trust_now(const sa_trust *t) { return t->now ? t->now : time(NULL); }

bool sa_trust_ark_matches_pin(const sa_cert *ark, sa_product *pinned_product)
{
	for (size_t i = 0; i < SA_ARRAY_LEN(pins); i++) {
		if (memcmp(ark->fingerprint, pins[i].fingerprint, 32) == 0) {
			if (pinned_product)
				*pinned_product = pins[i].product;
			return true;
		}
	}
	return false;
}

size_t sa_trust_roots(const sa_trust *t, sa_product p, const sa_cert **out, size_t max)
{
	size_t n = 0;
	if (t->custom) {
		for (size_t i = 0; i < t->roots.n; i++) {
			const sa_cert *c = t->roots.v[i];
			if (p == SA_PRODUCT_UNKNOWN || c->product == SA_PRODUCT_UNKNOWN || c->product == p) {
				if (n < max)
					out[n] = c;
				n++;
			}
		}
		return n;
	}
	for (size_t i = 0; i < t->pool.n; i++) {
		const sa_cert *c = t->pool.v[i];
		sa_product pinned;
		if (c->role == SA_ROLE_ARK && sa_trust_ark_matches_pin(c, &pinned) &&
		    (p == SA_PRODUCT_UNKNOWN || pinned == p)) {
			if (n < max)
				out[n] = c;
			n++;
		}
	}
	return n;
}

size_t sa_trust_find(const sa_trust *t, sa_cert_role role, sa_product p, const sa_cert **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->pool.n; i++) {
		const sa_cert *c = t->pool.v[i];
		if (c->role != role || (p != SA_PRODUCT_UNKNOWN && c->product != p))
			continue;
		if (n < max)
			out[n] = c;
		n++;
	}
	return n;
}

const sa_cert *sa_trust_vek(const sa_trust *t) { return t->vek; }

bool sa_trust_memo_has(const sa_trust *t, const sa_cert *child, const sa_cert *issuer)
{
	for (size_t i = 0; i < t->memo_n; i++)
		if (!memcmp(t->memo[i].child, child->fingerprint, 32) && !memcmp(t->memo[i].issuer, issuer->fingerprint, 32))
			return true;
	return false;
}

void sa_trust_memo_add(sa_trust *t, const sa_cert *child, const sa_cert *issuer)
{
	if (sa_trust_memo_has(t, child, issuer))
		return;
	struct memo *m = &t->memo[t->memo_next];
	memcpy(m->child, child->fingerprint, 32);
	memcpy(m->issuer, issuer->fingerprint, 32);
	t->memo_next = (t->memo_next + 1) % MEMO_SLOTS;
	if (t->memo_n < MEMO_SLOTS)
		t->memo_n++;
}
