/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key derivation of the emulated AMD Secure Processor.
 *
 * Real parts fuse a chip secret and derive from it, inside the PSP, a VCEK per
 * TCB version (KDS derives the same key to certify it) and the roots of the
 * guests' derived keys.  The constants of those derivations are internal to
 * AMD; the emulator uses its own, built on HKDF-SHA384 (RFC 5869) from the
 * 48-byte chip secret in keys/chip_secret:
 *
 *   VCEK(tcb)     P-384 scalar = HKDF(chip_secret, salt "sevattest vcek",
 *                                     info = product name || tcb u64 LE || counter)
 *                 where counter (0, 1, ...) retries the rare output 0 or >= n.
 *   CHIPKEY(tcb)  48 bytes = HKDF(chip_secret, salt "sevattest chip key",
 *                                 info = product name || tcb u64 LE)
 *                 the root of VCEK-rooted MSG_KEY_REQ keys.
 *   derived key   32 bytes = HKDF(root, salt "sevattest derived key", info = mix data)
 *                 see emu_derive_guest_key.
 *   SEV CEK       P-384 scalar = HKDF(chip_secret, salt "sevattest sev cek",
 *                                     info = product name || counter)
 *                 the legacy SEV firmware's Chip Endorsement Key: like a real
 *                 CEK it depends on the chip only, so it survives FACTORY_RESET
 *                 and firmware (TCB) updates.
 *
 * A TCB change therefore yields a new VCEK, as on hardware, and the same
 * state directory always yields the same keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/tcb.h"

#include "emu_internal.h"
#include "internal.h"

#define VCEK_SALT "sevattest vcek"
#define CHIPKEY_SALT "sevattest chip key"
#define DERIVED_SALT "sevattest derived key"
#define SEV_CEK_SALT "sevattest sev cek"
#define VCEK_YEARS 7 /* KDS issues VCEKs valid for seven years */

/* OSSL_PARAM takes non-const pointers for input it only reads. */
static void *unconst(const void *p) { return (void *)(uintptr_t)p; }

sa_status emu_hkdf(const uint8_t *key, size_t key_len, const char *salt, const uint8_t *info, size_t info_len,
		   uint8_t *out, size_t out_len, sa_error *err)
{
	SA_ENSURE(key && key_len && salt && out && out_len, err, SA_ERR_ARG, "HKDF-SHA384: missing argument");
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!ctx)
		return sa_crypto_error(err, "HKDF-SHA384 is not available");
	char digest[] = "SHA384";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, unconst(key), key_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, unconst(salt), strlen(salt)),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, unconst(info), info ? info_len : 0),
	    OSSL_PARAM_construct_end(),
	};
	sa_status st = SA_OK;
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		st = sa_crypto_error(err, "HKDF-SHA384 (%s) failed", salt);
	EVP_KDF_CTX_free(ctx);
	return st;
}

/* The key pair of scalar d on P-384 (d in [1, n-1]). */
static sa_status p384_from_scalar(const EC_GROUP *group, const BIGNUM *d, EVP_PKEY **out, sa_error *err)
{
	EC_POINT *pub = EC_POINT_new(group);
	uint8_t pub_oct[97];
	uint8_t priv_native[48];
	size_t pub_len = 0;
	sa_status st = SA_OK;
	if (!pub || EC_POINT_mul(group, pub, d, NULL, NULL, NULL) != 1 ||
	    (pub_len = EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, pub_oct, sizeof(pub_oct), NULL)) !=
		sizeof(pub_oct) ||
	    BN_bn2nativepad(d, priv_native, sizeof(priv_native)) != (int)sizeof(priv_native))
		st = sa_crypto_error(err, "P-384: cannot compute the public key of a derived scalar");
	EC_POINT_free(pub);
	EVP_PKEY_CTX *ctx = NULL;
	if (st == SA_OK) {
		char group_name[] = "P-384";
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0),
		    OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, priv_native, sizeof(priv_native)),
		    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub_oct, pub_len),
		    OSSL_PARAM_construct_end(),
		};
		EVP_PKEY *k = NULL;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) != 1)
			st = sa_crypto_error(err, "P-384: cannot build a key pair from a derived scalar");
		else
			*out = k;
	}
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_cleanse(priv_native, sizeof(priv_native));
	return st;
}

sa_status emu_p384_derive(const uint8_t *secret, size_t secret_len, const char *salt, const uint8_t *info,
			  size_t info_len, EVP_PKEY **out, sa_error *err)
{
	uint8_t info2[128];
	SA_ENSURE(info_len < sizeof(info2), err, SA_ERR_RANGE, "P-384 derivation: info of %zu bytes, at most %zu",
		  info_len, sizeof(info2) - 1);
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_secp384r1);
	BIGNUM *d = BN_secure_new();
	if (!group || !d) {
		EC_GROUP_free(group);
		BN_clear_free(d);
		return sa_crypto_error(err, "P-384 derivation: out of memory");
	}
	const BIGNUM *order = EC_GROUP_get0_order(group);
	if (info_len)
		memcpy(info2, info, info_len);
	uint8_t okm[48];
	sa_status st = SA_OK;
	bool done = false;
	for (unsigned counter = 0; counter < 256 && st == SA_OK && !done; counter++) {
		info2[info_len] = (uint8_t)counter;
		st = emu_hkdf(secret, secret_len, salt, info2, info_len + 1, okm, sizeof(okm), err);
		if (st == SA_OK && !BN_bin2bn(okm, sizeof(okm), d))
			st = sa_crypto_error(err, "P-384 derivation: out of memory");
		if (st == SA_OK && !BN_is_zero(d) && BN_cmp(d, order) < 0) {
			st = p384_from_scalar(group, d, out, err);
			done = true;
		}
	}
	if (st == SA_OK && !done)
		st = sa_error_set(err, SA_ERR_CRYPTO, "P-384 derivation: no valid scalar after 256 tries");
	OPENSSL_cleanse(okm, sizeof(okm));
	BN_clear_free(d);
	EC_GROUP_free(group);
	return st;
}

sa_status emu_p384_private(EVP_PKEY *key, uint8_t out[48], sa_error *err)
{
	BIGNUM *d = NULL;
	if (!key || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 || !d)
		return sa_crypto_error(err, "P-384: cannot read the private scalar");
	sa_status st = SA_OK;
	if (BN_bn2binpad(d, out, 48) != 48)
		st = sa_crypto_error(err, "P-384: private scalar does not fit 48 bytes");
	BN_clear_free(d);
	return st;
}

/* product name || tcb u64 LE: the per-TCB derivation input. */
static size_t tcb_info(sa_product product, uint64_t tcb, uint8_t *buf, size_t cap)
{
	const char *name = sa_product_name(product);
	size_t n = strlen(name);
	if (n + 8 > cap)
		return 0;
	memcpy(buf, name, n);
	sa_put_le64(buf + n, tcb);
	return n + 8;
}

void emu_validity(int years, time_t cap, time_t *not_before, time_t *not_after)
{
	time_t now = time(NULL);
	/* A day of slack before now, for verifiers whose clocks run behind. */
	*not_before = now - 86400;
	*not_after = now + (time_t)years * 365 * 86400 + (time_t)(years / 4) * 86400;
	if (cap && *not_after > cap)
		*not_after = cap;
}

void emu_vek_ext(const emu_platform *p, uint64_t tcb, const char *csp_id, sa_amd_ext *x)
{
	memset(x, 0, sizeof(*x));
	bool turin = sa_product_turin_layout(p->product);
	x->has_struct_version = true;
	x->struct_version = turin ? 1 : 0;
	x->has_product_name = true;
	/* KDS names: Milan VCEKs carry the stepping ("Milan-B0"), Genoa and Turin ones do not. */
	snprintf(x->product_name, sizeof(x->product_name), "%s%s", sa_product_name(p->product),
		 p->product == SA_PRODUCT_MILAN ? "-B0" : "");
	sa_tcb t = sa_tcb_decode_for(tcb, p->product);
	x->has_bl = x->has_tee = x->has_snp = x->has_ucode = true;
	x->bl = t.bl;
	x->tee = t.tee;
	x->snp = t.snp;
	x->ucode = t.ucode;
	x->has_fmc = turin;
	x->fmc = t.fmc;
	if (csp_id) {
		x->has_csp_id = true;
		snprintf(x->csp_id, sizeof(x->csp_id), "%s", csp_id);
	} else {
		x->has_hwid = true;
		x->hwid_encoding = SA_HWID_RAW; /* as KDS encodes it */
		x->hwid_len = sa_product_hwid_len(p->product);
		memcpy(x->hwid, p->chip_id, x->hwid_len);
	}
}

/* The cached certificate is usable when it certifies key, names this chip and TCB, and the ASK signed it. */
static bool vcek_cert_ok(const sa_emu *e, const sa_cert *c, EVP_PKEY *key, uint64_t tcb)
{
	if (c->role != SA_ROLE_VCEK || c->product != e->p.product || EVP_PKEY_eq(c->pubkey, key) != 1)
		return false;
	sa_amd_ext want;
	emu_vek_ext(&e->p, tcb, NULL, &want);
	const sa_amd_ext *x = &c->ext;
	if (!x->has_hwid || x->hwid_len != want.hwid_len || memcmp(x->hwid, want.hwid, want.hwid_len) != 0 ||
	    x->bl != want.bl || x->tee != want.tee || x->snp != want.snp || x->ucode != want.ucode ||
	    (want.has_fmc && (!x->has_fmc || x->fmc != want.fmc)))
		return false;
	return sa_cert_verify_signed_by(c, e->ask, NULL) == SA_OK;
}

sa_status emu_vcek_ensure(sa_emu *e, uint64_t tcb, sa_error *err)
{
	if (e->have_vcek && e->vcek_tcb == tcb)
		return SA_OK;
	uint8_t info[32];
	size_t info_len = tcb_info(e->p.product, tcb, info, sizeof(info));
	EVP_PKEY *key = NULL;
	SA_TRY(emu_p384_derive(e->chip_secret, sizeof(e->chip_secret), VCEK_SALT, info, info_len, &key, err));

	char rel[64];
	snprintf(rel, sizeof(rel), "certs/vcek-%016llx.der", (unsigned long long)tcb);
	sa_cert *cert = NULL;
	if (emu_exists(e->dir, rel) && emu_cert_load(e->dir, rel, &cert, NULL) == SA_OK &&
	    !vcek_cert_ok(e, cert, key, tcb)) {
		/* A stale or damaged cache entry: issue it again below. */
		sa_cert_free(cert);
		cert = NULL;
	}
	sa_status st = SA_OK;
	if (!cert) {
		sa_amd_ext x;
		emu_vek_ext(&e->p, tcb, NULL, &x);
		sa_cert_template t = {.role = SA_ROLE_VCEK,
				      .product = e->p.product,
				      .serial = 0,
				      .subject_key = key,
				      .issuer = e->ask,
				      .issuer_key = e->ask_key,
				      .ext = &x};
		emu_validity(VCEK_YEARS, e->ask->not_after, &t.not_before, &t.not_after);
		st = sa_cert_issue(&t, &cert, err);
		if (st == SA_OK)
			st = emu_cert_save(e->dir, rel, cert, false, err);
	}
	if (st != SA_OK) {
		sa_cert_free(cert);
		EVP_PKEY_free(key);
		return sa_error_wrap(err, st, "VCEK for TCB 0x%016llx", (unsigned long long)tcb);
	}
	EVP_PKEY_free(e->vcek_key);
	sa_cert_free(e->vcek);
	e->vcek_key = key;
	e->vcek = cert;
	e->vcek_tcb = tcb;
	e->have_vcek = true;
	return SA_OK;
}

sa_status emu_vlek_issue(const sa_emu *e, const char *csp_id, EVP_PKEY **key, sa_cert **cert, sa_error *err)
{
	EVP_PKEY *k = NULL;
	SA_TRY(sa_key_generate_p384(&k, err));
	sa_amd_ext x;
	emu_vek_ext(&e->p, e->p.reported_tcb, csp_id, &x);
	sa_cert_template t = {.role = SA_ROLE_VLEK,
			      .product = e->p.product,
			      .serial = 0,
			      .subject_key = k,
			      .issuer = e->asvk,
			      .issuer_key = e->asvk_key,
			      .ext = &x};
	emu_validity(VCEK_YEARS, e->asvk->not_after, &t.not_before, &t.not_after);
	sa_cert *c = NULL;
	sa_status st = sa_cert_issue(&t, &c, err);
	if (st != SA_OK) {
		EVP_PKEY_free(k);
		return sa_error_wrap(err, st, "VLEK for %s", csp_id);
	}
	*key = k;
	*cert = c;
	return SA_OK;
}

sa_status emu_sev_cek_derive(const sa_emu *e, EVP_PKEY **out, sa_error *err)
{
	const char *name = sa_product_name(e->p.product);
	return emu_p384_derive(e->chip_secret, sizeof(e->chip_secret), SEV_CEK_SALT, (const uint8_t *)name,
			       strlen(name), out, err);
}

/* The 48-byte root a derived key comes from. */
static sa_status derive_root(const sa_emu *e, const emu_guest *g, emu_root_key root, const sa_key_req *req,
			     uint8_t out[48], sa_error *err)
{
	switch (root) {
	case EMU_ROOT_VCEK: {
		/* The chip key of a TCB version: the one the guest names when it mixes
		 * TCB_VERSION in, else the COMMITTED_TCB (see emu.c). */
		uint64_t tcb = (req->guest_field_select & (1u << 5)) ? req->tcb_version : e->p.committed_tcb;
		uint8_t info[32];
		size_t info_len = tcb_info(e->p.product, tcb, info, sizeof(info));
		return emu_hkdf(e->chip_secret, sizeof(e->chip_secret), CHIPKEY_SALT, info, info_len, out, 48, err);
	}
	case EMU_ROOT_VLEK:
		SA_ENSURE(e->vlek_key, err, SA_ERR_STATE, "derived key: no VLEK is loaded");
		return emu_p384_private(e->vlek_key, out, err);
	case EMU_ROOT_VMRK: memcpy(out, g->vmrk, 48); return SA_OK;
	}
	return sa_error_set(err, SA_ERR_ARG, "derived key: root key %d is unknown", (int)root);
}

/*
 * Mix data, a fixed layout (fields not selected are zero):
 *   0x00 u32 root (0 VCEK, 1 VLEK, 2 VMRK)   0x04 u32 VMPL
 *   0x08 u64 GUEST_FIELD_SELECT              0x10 u64 POLICY
 *   0x18 IMAGE_ID[16]                        0x28 FAMILY_ID[16]
 *   0x38 MEASUREMENT[48]                     0x68 u32 GUEST_SVN
 *   0x6C u32 zero                            0x70 u64 TCB_VERSION
 *   0x78 u64 LAUNCH_MIT_VECTOR               (0x80 bytes)
 * The VMPL is always mixed in, so a VMPL's key is not another VMPL's.
 */
sa_status emu_derive_guest_key(const sa_emu *e, const emu_guest *g, emu_root_key root, const sa_key_req *req,
			       uint8_t out[32], sa_error *err)
{
	uint64_t sel = req->guest_field_select;
	static const uint8_t zero[48];
	uint8_t mix[0x80];
	sa_writer w;
	sa_writer_init(&w, mix, sizeof(mix));
	SA_TRY(sa_write_u32(&w, (uint32_t)root, "mix root", err));
	SA_TRY(sa_write_u32(&w, req->vmpl, "mix VMPL", err));
	SA_TRY(sa_write_u64(&w, sel, "mix GUEST_FIELD_SELECT", err));
	SA_TRY(sa_write_u64(&w, (sel & (1u << 0)) ? g->policy : 0, "mix POLICY", err));
	SA_TRY(sa_write_bytes(&w, (sel & (1u << 1)) ? g->image_id : zero, 16, "mix IMAGE_ID", err));
	SA_TRY(sa_write_bytes(&w, (sel & (1u << 2)) ? g->family_id : zero, 16, "mix FAMILY_ID", err));
	SA_TRY(sa_write_bytes(&w, (sel & (1u << 3)) ? g->gctx.ld : zero, 48, "mix MEASUREMENT", err));
	SA_TRY(sa_write_u32(&w, (sel & (1u << 4)) ? req->guest_svn : 0, "mix GUEST_SVN", err));
	SA_TRY(sa_write_u32(&w, 0, "mix reserved", err));
	SA_TRY(sa_write_u64(&w, (sel & (1u << 5)) ? req->tcb_version : 0, "mix TCB_VERSION", err));
	SA_TRY(sa_write_u64(&w, (sel & (1u << 6)) ? req->launch_mit_vector : 0, "mix LAUNCH_MIT_VECTOR", err));
	SA_ENSURE(sa_writer_offset(&w) == sizeof(mix), err, SA_ERR_STATE, "mix data: %zu bytes, expected %zu",
		  sa_writer_offset(&w), sizeof(mix));

	uint8_t rk[48];
	sa_status st = derive_root(e, g, root, req, rk, err);
	if (st == SA_OK)
		st = emu_hkdf(rk, sizeof(rk), DERIVED_SALT, mix, sizeof(mix), out, 32, err);
	OPENSSL_cleanse(rk, sizeof(rk));
	OPENSSL_cleanse(mix, sizeof(mix));
	return st;
}
