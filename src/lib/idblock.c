/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ID_BLOCK, ID_AUTH_INFO and the 0x404-byte ECDSA public key: codecs (one
 * field table per structure, walked by sa_read_fields / sa_write_fields),
 * conversion to and from EVP_PKEY, key digests, signing and verification.
 *
 * Layouts: SEV-SNP ABI spec 56860, SNP_LAUNCH_FINISH ("ID Block", "ID
 * Authentication Information Structure") and the ECDSA public key format of
 * appendix C; see include/sevattest/idblock.h.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/idblock.h"

#include "internal.h"

#define B(off, kind, m, name) SA_FIELD(sa_id_block, off, kind, m, name)
static const sa_field block_layout[] = {
	B(0x00, SA_FIELD_BYTES, ld, "ID_BLOCK.LD"),
	B(0x30, SA_FIELD_BYTES, family_id, "ID_BLOCK.FAMILY_ID"),
	B(0x40, SA_FIELD_BYTES, image_id, "ID_BLOCK.IMAGE_ID"),
	B(0x50, SA_FIELD_U32, version, "ID_BLOCK.VERSION"),
	B(0x54, SA_FIELD_U32, guest_svn, "ID_BLOCK.GUEST_SVN"),
	B(0x58, SA_FIELD_U64, policy, "ID_BLOCK.POLICY"),
};
#undef B

#define K(off, kind, m, name) SA_FIELD(sa_ecdsa_pubkey, off, kind, m, name)
static const sa_field key_layout[] = {
	K(0x000, SA_FIELD_U32, curve, "ECDSA key CURVE"),
	K(0x004, SA_FIELD_BYTES, qx, "ECDSA key QX"),
	K(0x04C, SA_FIELD_BYTES, qy, "ECDSA key QY"),
	K(0x094, SA_FIELD_BYTES, reserved, "ECDSA key reserved (0x094)"),
};
#undef K

#define A(off, kind, m, name) SA_FIELD(sa_id_auth, off, kind, m, name)
static const sa_field auth_layout[] = {
	A(0x000, SA_FIELD_U32, id_key_algo, "ID_AUTH_INFO.ID_KEY_ALGO"),
	A(0x004, SA_FIELD_U32, auth_key_algo, "ID_AUTH_INFO.AUTH_KEY_ALGO"),
	A(0x008, SA_FIELD_BYTES, reserved_008, "ID_AUTH_INFO reserved (0x008)"),
	A(0x040, SA_FIELD_BYTES, id_block_sig.r, "ID_AUTH_INFO.ID_BLOCK_SIG.R"),
	A(0x088, SA_FIELD_BYTES, id_block_sig.s, "ID_AUTH_INFO.ID_BLOCK_SIG.S"),
	A(0x0D0, SA_FIELD_BYTES, id_block_sig.reserved, "ID_AUTH_INFO.ID_BLOCK_SIG reserved (0x0D0)"),
	A(0x240, SA_FIELD_U32, id_key.curve, "ID_AUTH_INFO.ID_KEY.CURVE"),
	A(0x244, SA_FIELD_BYTES, id_key.qx, "ID_AUTH_INFO.ID_KEY.QX"),
	A(0x28C, SA_FIELD_BYTES, id_key.qy, "ID_AUTH_INFO.ID_KEY.QY"),
	A(0x2D4, SA_FIELD_BYTES, id_key.reserved, "ID_AUTH_INFO.ID_KEY reserved (0x2D4)"),
	A(0x644, SA_FIELD_BYTES, reserved_644, "ID_AUTH_INFO reserved (0x644)"),
	A(0x680, SA_FIELD_BYTES, id_key_sig.r, "ID_AUTH_INFO.ID_KEY_SIG.R"),
	A(0x6C8, SA_FIELD_BYTES, id_key_sig.s, "ID_AUTH_INFO.ID_KEY_SIG.S"),
	A(0x710, SA_FIELD_BYTES, id_key_sig.reserved, "ID_AUTH_INFO.ID_KEY_SIG reserved (0x710)"),
	A(0x880, SA_FIELD_U32, author_key.curve, "ID_AUTH_INFO.AUTHOR_KEY.CURVE"),
	A(0x884, SA_FIELD_BYTES, author_key.qx, "ID_AUTH_INFO.AUTHOR_KEY.QX"),
	A(0x8CC, SA_FIELD_BYTES, author_key.qy, "ID_AUTH_INFO.AUTHOR_KEY.QY"),
	A(0x914, SA_FIELD_BYTES, author_key.reserved, "ID_AUTH_INFO.AUTHOR_KEY reserved (0x914)"),
	A(0xC84, SA_FIELD_BYTES, reserved_c84, "ID_AUTH_INFO reserved (0xC84)"),
};
#undef A

/* Decode exactly `size` bytes of a structure described by t. */
static sa_status decode_exact(const char *what, size_t size, const sa_field *t, size_t n, const uint8_t *buf,
			      size_t len, void *out, size_t out_size, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "%s: no buffer", what);
	SA_ENSURE(out, err, SA_ERR_ARG, "%s: no output", what);
	SA_ENSURE(len >= size, err, SA_ERR_TRUNCATED, "%s: %zu bytes, expected exactly %zu (0x%zX)", what, len, size,
		  size);
	SA_ENSURE(len == size, err, SA_ERR_TRAILING, "%s: %zu bytes, expected exactly %zu (0x%zX), %zu extra", what,
		  len, size, size, len - size);
	sa_reader r;
	sa_reader_init(&r, buf, len);
	memset(out, 0, out_size);
	SA_TRY(sa_read_fields(&r, t, n, out, what, err));
	return sa_reader_expect_end(&r, what, err);
}

static sa_status encode_exact(const char *what, size_t size, const sa_field *t, size_t n, const void *in,
			      uint8_t *out, sa_error *err)
{
	SA_ENSURE(in && out, err, SA_ERR_ARG, "%s: no input or output", what);
	sa_writer w;
	sa_writer_init(&w, out, size);
	SA_TRY(sa_write_fields(&w, t, n, in, what, err));
	SA_ENSURE(sa_writer_offset(&w) == size, err, SA_ERR_STATE, "%s: encoded %zu bytes, expected %zu", what,
		  sa_writer_offset(&w), size);
	return SA_OK;
}

sa_status sa_id_block_decode(const uint8_t *buf, size_t len, sa_id_block *out, sa_error *err)
{
	return decode_exact("ID_BLOCK", SA_ID_BLOCK_SIZE, block_layout, SA_ARRAY_LEN(block_layout), buf, len, out,
			    sizeof(*out), err);
}

sa_status sa_id_block_encode(const sa_id_block *in, uint8_t out[SA_ID_BLOCK_SIZE], sa_error *err)
{
	return encode_exact("ID_BLOCK", SA_ID_BLOCK_SIZE, block_layout, SA_ARRAY_LEN(block_layout), in, out, err);
}

sa_status sa_id_auth_decode(const uint8_t *buf, size_t len, sa_id_auth *out, sa_error *err)
{
	return decode_exact("ID_AUTH_INFO", SA_ID_AUTH_SIZE, auth_layout, SA_ARRAY_LEN(auth_layout), buf, len, out,
			    sizeof(*out), err);
}

sa_status sa_id_auth_encode(const sa_id_auth *in, uint8_t out[SA_ID_AUTH_SIZE], sa_error *err)
{
	return encode_exact("ID_AUTH_INFO", SA_ID_AUTH_SIZE, auth_layout, SA_ARRAY_LEN(auth_layout), in, out, err);
}

sa_status sa_ecdsa_pubkey_decode(const uint8_t *buf, size_t len, sa_ecdsa_pubkey *out, sa_error *err)
{
	return decode_exact("ECDSA public key", SA_ECDSA_PUBKEY_SIZE, key_layout, SA_ARRAY_LEN(key_layout), buf, len,
			    out, sizeof(*out), err);
}

sa_status sa_ecdsa_pubkey_encode(const sa_ecdsa_pubkey *in, uint8_t out[SA_ECDSA_PUBKEY_SIZE], sa_error *err)
{
	return encode_exact("ECDSA public key", SA_ECDSA_PUBKEY_SIZE, key_layout, SA_ARRAY_LEN(key_layout), in, out,
			    err);
}

void sa_id_block_init(sa_id_block *b, const uint8_t ld[48])
{
	memset(b, 0, sizeof(*b));
	if (ld)
		memcpy(b->ld, ld, sizeof(b->ld));
	b->version = SA_ID_BLOCK_VERSION;
	b->policy = SA_ID_BLOCK_DEFAULT_POLICY;
}

/* ---- keys ---------------------------------------------------------------- */

static sa_status require_p384(EVP_PKEY *key, const char *what, sa_error *err)
{
	SA_ENSURE(key, err, SA_ERR_ARG, "%s: no key", what);
	return sa_key_require_p384(key, what, err);
}

sa_status sa_ecdsa_pubkey_from_evp(EVP_PKEY *key, sa_ecdsa_pubkey *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "ECDSA public key: no output");
	SA_TRY(require_p384(key, "ECDSA public key", err));
	BIGNUM *x = NULL, *y = NULL;
	sa_status st = SA_OK;
	memset(out, 0, sizeof(*out));
	out->curve = SA_ECDSA_CURVE_P384;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		st = sa_crypto_error(err, "ECDSA public key: cannot read the public point");
	else if (BN_bn2lebinpad(x, out->qx, sizeof(out->qx)) != (int)sizeof(out->qx) ||
		 BN_bn2lebinpad(y, out->qy, sizeof(out->qy)) != (int)sizeof(out->qy))
		st = sa_error_set(err, SA_ERR_RANGE, "ECDSA public key: a coordinate is wider than 72 bytes");
	BN_free(x);
	BN_free(y);
	return st;
}

sa_status sa_ecdsa_pubkey_to_evp(const sa_ecdsa_pubkey *in, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(in && out, err, SA_ERR_ARG, "ECDSA public key: no input or output");
	*out = NULL;
	SA_ENSURE(in->curve == SA_ECDSA_CURVE_P384, err, SA_ERR_UNSUPPORTED,
		  "ECDSA public key: CURVE is %u, expected 2 (P-384)", in->curve);
	SA_ENSURE(sa_all_zero(in->qx + 48, 24), err, SA_ERR_FORMAT,
		  "ECDSA public key: QX has non-zero bytes above 48, expected a P-384 coordinate");
	SA_ENSURE(sa_all_zero(in->qy + 48, 24), err, SA_ERR_FORMAT,
		  "ECDSA public key: QY has non-zero bytes above 48, expected a P-384 coordinate");
	/* Uncompressed SEC1 point: 04 || X big-endian || Y big-endian. */
	uint8_t point[97];
	point[0] = 0x04;
	for (size_t i = 0; i < 48; i++) {
		point[1 + i] = in->qx[47 - i];
		point[49 + i] = in->qy[47 - i];
	}
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *key = NULL;
	sa_status st = SA_OK;
	if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1 ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		st = sa_crypto_error(err, "ECDSA public key: cannot set up the key");
	} else if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		ERR_clear_error();
		st = sa_error_set(err, SA_ERR_FORMAT, "ECDSA public key: (QX, QY) is not a point on P-384");
	} else if (!(chk = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) || EVP_PKEY_public_check(chk) != 1) {
		ERR_clear_error();
		st = sa_error_set(err, SA_ERR_FORMAT, "ECDSA public key: (QX, QY) is not a valid P-384 public key");
	}
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	if (st != SA_OK) {
		EVP_PKEY_free(key);
		return st;
	}
	*out = key;
	return SA_OK;
}

/* Refuse to prompt for a passphrase: keys here are unencrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

sa_status sa_p384_private_key_from_pem(const uint8_t *pem, size_t len, EVP_PKEY **out, sa_error *err)
{
	SA_ENSURE(pem && out, err, SA_ERR_ARG, "PEM key: no input or output");
	SA_ENSURE(len <= INT32_MAX, err, SA_ERR_RANGE, "PEM key: %zu bytes, too long", len);
	*out = NULL;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_FORMAT,
				    "PEM key: no unencrypted private key (expected -----BEGIN PRIVATE KEY----- or "
				    "-----BEGIN EC PRIVATE KEY-----)");
	}
	sa_status st = require_p384(k, "PEM key", err);
	if (st != SA_OK) {
		EVP_PKEY_free(k);
		return st;
	}
	*out = k;
	return SA_OK;
}

sa_status sa_ecdsa_pubkey_digest(const sa_ecdsa_pubkey *key, uint8_t out[48], sa_error *err)
{
	uint8_t buf[SA_ECDSA_PUBKEY_SIZE];
	SA_TRY(sa_ecdsa_pubkey_encode(key, buf, err));
	return sa_sha384(buf, sizeof(buf), out, err);
}

sa_status sa_key_digest_of_evp(EVP_PKEY *key, uint8_t out[48], sa_error *err)
{
	sa_ecdsa_pubkey k;
	SA_TRY(sa_ecdsa_pubkey_from_evp(key, &k, err));
	return sa_ecdsa_pubkey_digest(&k, out, err);
}

/* ---- signing and verification ---------------------------------------------- */

sa_status sa_id_auth_sign(const sa_id_block *block, EVP_PKEY *id_key, EVP_PKEY *author_key, sa_id_auth *out,
			  sa_error *err)
{
	SA_ENSURE(block && out, err, SA_ERR_ARG, "ID_AUTH_INFO: no ID block or output");
	SA_TRY(require_p384(id_key, "ID key", err));
	if (author_key)
		SA_TRY(require_p384(author_key, "author key", err));
	sa_id_auth a;
	memset(&a, 0, sizeof(a));
	uint8_t blk[SA_ID_BLOCK_SIZE];
	SA_TRY(sa_id_block_encode(block, blk, err));
	a.id_key_algo = SA_ID_ALGO_ECDSA_P384_SHA384;
	SA_TRY(sa_ecdsa_p384_sign_le(id_key, blk, sizeof(blk), a.id_block_sig.r, a.id_block_sig.s, err));
	SA_TRY(sa_ecdsa_pubkey_from_evp(id_key, &a.id_key, err));
	if (author_key) {
		uint8_t kb[SA_ECDSA_PUBKEY_SIZE];
		SA_TRY(sa_ecdsa_pubkey_encode(&a.id_key, kb, err));
		a.auth_key_algo = SA_ID_ALGO_ECDSA_P384_SHA384;
		SA_TRY(sa_ecdsa_p384_sign_le(author_key, kb, sizeof(kb), a.id_key_sig.r, a.id_key_sig.s, err));
		SA_TRY(sa_ecdsa_pubkey_from_evp(author_key, &a.author_key, err));
	}
	*out = a;
	return SA_OK;
}

/* Verify sig over msg with the AMD-format key; name says which signature, for messages. */
static sa_status verify_with(const sa_ecdsa_pubkey *key, const char *key_name, const uint8_t *msg, size_t msg_len,
			     const sa_snp_signature *sig, const char *sig_name, sa_error *err)
{
	EVP_PKEY *pk = NULL;
	sa_status st = sa_ecdsa_pubkey_to_evp(key, &pk, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", key_name);
	st = sa_ecdsa_p384_verify_le(pk, msg, msg_len, sig->r, sig->s, err);
	EVP_PKEY_free(pk);
	if (st == SA_ERR_VERIFY)
		return sa_error_set(err, SA_ERR_VERIFY, "%s does not verify with the %s (ECDSA P-384/SHA-384)",
				    sig_name, key_name);
	return st;
}

sa_status sa_id_block_verify(const uint8_t block[SA_ID_BLOCK_SIZE], const sa_id_auth *auth, sa_error *err)
{
	SA_ENSURE(block && auth, err, SA_ERR_ARG, "ID block check: no ID block or ID_AUTH_INFO");
	SA_ENSURE(auth->id_key_algo == SA_ID_ALGO_ECDSA_P384_SHA384, err, SA_ERR_UNSUPPORTED,
		  "ID_AUTH_INFO.ID_KEY_ALGO is %u, expected 1 (ECDSA P-384 with SHA-384)", auth->id_key_algo);
	return verify_with(&auth->id_key, "ID key (ID_AUTH_INFO.ID_KEY)", block, SA_ID_BLOCK_SIZE, &auth->id_block_sig,
			   "ID_AUTH_INFO.ID_BLOCK_SIG", err);
}

sa_status sa_id_key_verify(const sa_id_auth *auth, sa_error *err)
{
	SA_ENSURE(auth, err, SA_ERR_ARG, "ID key check: no ID_AUTH_INFO");
	SA_ENSURE(auth->auth_key_algo == SA_ID_ALGO_ECDSA_P384_SHA384, err, SA_ERR_UNSUPPORTED,
		  "ID_AUTH_INFO.AUTH_KEY_ALGO is %u, expected 1 (ECDSA P-384 with SHA-384)", auth->auth_key_algo);
	uint8_t kb[SA_ECDSA_PUBKEY_SIZE];
	SA_TRY(sa_ecdsa_pubkey_encode(&auth->id_key, kb, err));
	return verify_with(&auth->author_key, "author key (ID_AUTH_INFO.AUTHOR_KEY)", kb, sizeof(kb),
			   &auth->id_key_sig, "ID_AUTH_INFO.ID_KEY_SIG", err);
}
