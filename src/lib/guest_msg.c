/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP guest messages: header codec, AES-256-GCM seal/open, the guest's
 * channel (Linux sev-guest driver semantics), the PSP's end, the request and
 * response payloads, the extended-report certificate table and the secrets
 * page.
 *
 * Every wire layout is one table below; decode and encode both walk it field
 * by field through the bounds-checked reader and writer (the pattern of
 * report.c), so the two directions cannot disagree.
 *
 * Decisions this module takes (the "why" for each is next to the code):
 *  - Header bytes outside the AAD that the tag does not cover (AUTHTAG[16..31],
 *    reserved 0x28..0x2F) are carried by the codec but ignored when opening,
 *    as the Linux driver ignores them.  The reserved bytes inside the AAD
 *    (0x38..0x3B, 0x3D..0x5F) must be zero and are named when they are not.
 *  - The guest refuses a request sequence number of 0 and one of 0xFFFFFFFF
 *    or more: the driver refuses a counter >= UINT_MAX because the secrets
 *    page keeps it in 32 bits and the response takes seqno + 1.
 *  - The PSP end answers every refused request with SA_FW_INVALID_PARAM (an
 *    emulator's choice; real firmware documents no finer status for a bad
 *    guest message) and names the reason in the sa_error.
 *  - Payload decoders for requests reject non-zero reserved bits and bytes
 *    (the firmware would); decoders for responses carry reserved bytes through
 *    unchecked, so newer firmware cannot trip the guest into wiping its key.
 *    Encoders refuse what the matching decoder would refuse, so encode
 *    followed by decode always succeeds.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sevattest/bytes.h"
#include "sevattest/crypto.h"
#include "sevattest/guest_msg.h"

#include "internal.h"

/* Layouts are sa_field tables walked by sa_read_fields / sa_write_fields (bytes.h). */
#define F(type, off, kind, m, name) SA_FIELD(type, off, SA_FIELD_##kind, m, name)


/* Exactly `size` bytes, or a truncated/trailing error naming the structure. */
static sa_status check_len_exact(const uint8_t *buf, size_t len, size_t size, const char *what, sa_error *err)
{
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "%s: no buffer", what);
	SA_ENSURE(len >= size, err, SA_ERR_TRUNCATED, "%s: %zu bytes, expected exactly %zu (0x%zX)", what, len, size,
		  size);
	SA_ENSURE(len == size, err, SA_ERR_TRAILING, "%s: %zu bytes, expected exactly %zu (0x%zX); %zu extra", what,
		  len, size, size, len - size);
	return SA_OK;
}

/* SA_OK when the n bytes at p (which sit at wire offset `off`) are zero; otherwise name the first one. */
static sa_status check_zero(const uint8_t *p, size_t n, size_t off, const char *what, const char *field,
			    sa_status code, sa_error *err)
{
	for (size_t i = 0; i < n; i++)
		SA_ENSURE(p[i] == 0, err, code, "%s: %s byte 0x%02zX is 0x%02X, must be zero", what, field, off + i,
			  p[i]);
	return SA_OK;
}

/* ---- names ------------------------------------------------------------------ */

const char *sa_gmsg_type_name(unsigned type)
{
	switch (type) {
	case SA_MSG_CPUID_REQ: return "MSG_CPUID_REQ";
	case SA_MSG_CPUID_RSP: return "MSG_CPUID_RSP";
	case SA_MSG_KEY_REQ: return "MSG_KEY_REQ";
	case SA_MSG_KEY_RSP: return "MSG_KEY_RSP";
	case SA_MSG_REPORT_REQ: return "MSG_REPORT_REQ";
	case SA_MSG_REPORT_RSP: return "MSG_REPORT_RSP";
	case SA_MSG_EXPORT_REQ: return "MSG_EXPORT_REQ";
	case SA_MSG_EXPORT_RSP: return "MSG_EXPORT_RSP";
	case SA_MSG_IMPORT_REQ: return "MSG_IMPORT_REQ";
	case SA_MSG_IMPORT_RSP: return "MSG_IMPORT_RSP";
	case SA_MSG_ABSORB_REQ: return "MSG_ABSORB_REQ";
	case SA_MSG_ABSORB_RSP: return "MSG_ABSORB_RSP";
	case SA_MSG_VMRK_REQ: return "MSG_VMRK_REQ";
	case SA_MSG_VMRK_RSP: return "MSG_VMRK_RSP";
	case SA_MSG_TSC_INFO_REQ: return "MSG_TSC_INFO_REQ";
	case SA_MSG_TSC_INFO_RSP: return "MSG_TSC_INFO_RSP";
	}
	return "unknown";
}

const char *sa_fw_status_name(uint32_t status)
{
	switch (status) {
	case SA_FW_SUCCESS: return "SUCCESS";
	case SA_FW_INVALID_PLATFORM_STATE: return "INVALID_PLATFORM_STATE";
	case SA_FW_INVALID_GUEST_STATE: return "INVALID_GUEST_STATE";
	case SA_FW_INVALID_CONFIG: return "INVALID_CONFIG";
	case SA_FW_INVALID_LENGTH: return "INVALID_LENGTH";
	case SA_FW_ALREADY_OWNED: return "ALREADY_OWNED";
	case SA_FW_INVALID_CERTIFICATE: return "INVALID_CERTIFICATE";
	case SA_FW_POLICY_FAILURE: return "POLICY_FAILURE";
	case SA_FW_INACTIVE: return "INACTIVE";
	case SA_FW_INVALID_ADDRESS: return "INVALID_ADDRESS";
	case SA_FW_BAD_SIGNATURE: return "BAD_SIGNATURE";
	case SA_FW_BAD_MEASUREMENT: return "BAD_MEASUREMENT";
	case SA_FW_ASID_OWNED: return "ASID_OWNED";
	case SA_FW_INVALID_ASID: return "INVALID_ASID";
	case SA_FW_WBINVD_REQUIRED: return "WBINVD_REQUIRED";
	case SA_FW_DFFLUSH_REQUIRED: return "DFFLUSH_REQUIRED";
	case SA_FW_INVALID_GUEST: return "INVALID_GUEST";
	case SA_FW_INVALID_COMMAND: return "INVALID_COMMAND";
	case SA_FW_ACTIVE: return "ACTIVE";
	case SA_FW_HWSEV_RET_PLATFORM: return "HWSEV_RET_PLATFORM";
	case SA_FW_HWSEV_RET_UNSAFE: return "HWSEV_RET_UNSAFE";
	case SA_FW_UNSUPPORTED: return "UNSUPPORTED";
	case SA_FW_INVALID_PARAM: return "INVALID_PARAM";
	case SA_FW_RESOURCE_LIMIT: return "RESOURCE_LIMIT";
	case SA_FW_SECURE_DATA_INVALID: return "SECURE_DATA_INVALID";
	case SA_FW_INVALID_PAGE_SIZE: return "INVALID_PAGE_SIZE";
	case SA_FW_INVALID_PAGE_STATE: return "INVALID_PAGE_STATE";
	case SA_FW_INVALID_MDATA_ENTRY: return "INVALID_MDATA_ENTRY";
	case SA_FW_INVALID_PAGE_OWNER: return "INVALID_PAGE_OWNER";
	case SA_FW_AEAD_OFLOW: return "AEAD_OFLOW";
	case SA_FW_RMP_INIT_REQUIRED: return "RMP_INIT_REQUIRED";
	case SA_FW_BAD_SVN: return "BAD_SVN";
	case SA_FW_BAD_VERSION: return "BAD_VERSION";
	case SA_FW_SHUTDOWN_REQUIRED: return "SHUTDOWN_REQUIRED";
	case SA_FW_UPDATE_FAILED: return "UPDATE_FAILED";
	case SA_FW_RESTORE_REQUIRED: return "RESTORE_REQUIRED";
	case SA_FW_RMP_INITIALIZATION_FAILED: return "RMP_INITIALIZATION_FAILED";
	case SA_FW_INVALID_KEY: return "INVALID_KEY";
	}
	return "unknown";
}

/* ---- header ----------------------------------------------------------------- */

#define GMSG_AAD_OFF 0x30
#define GMSG_AAD_LEN (SA_GMSG_HDR_SIZE - GMSG_AAD_OFF) /* 48 */
#define GMSG_IV_LEN 12
#define GMSG_SEQNO_LIMIT 0xFFFFFFFFu /* the guest's request seqno must stay below this */

#define H(off, kind, m, name) F(sa_gmsg_hdr, off, kind, m, name)
static const sa_field hdr_layout[] = {
	H(0x00, BYTES, authtag, "AUTHTAG"),
	H(0x20, U64, msg_seqno, "MSG_SEQNO"),
	H(0x28, BYTES, reserved_028, "reserved (0x28)"),
	H(0x30, U8, algo, "ALGO"),
	H(0x31, U8, hdr_version, "HDR_VERSION"),
	H(0x32, U16, hdr_sz, "HDR_SZ"),
	H(0x34, U8, msg_type, "MSG_TYPE"),
	H(0x35, U8, msg_version, "MSG_VERSION"),
	H(0x36, U16, msg_sz, "MSG_SZ"),
	H(0x38, BYTES, reserved_038, "reserved (0x38)"),
	H(0x3C, U8, msg_vmpck, "MSG_VMPCK"),
	H(0x3D, BYTES, reserved_03d, "reserved (0x3D)"),
};
#undef H

/* Decodes the first 0x60 bytes; a message's payload may follow.  No value is checked here. */
sa_status sa_gmsg_hdr_decode(const uint8_t *buf, size_t len, sa_gmsg_hdr *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "guest message header: no output");
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "guest message header: no buffer");
	SA_ENSURE(len >= SA_GMSG_HDR_SIZE, err, SA_ERR_TRUNCATED,
		  "guest message header: %zu bytes, the header is %d (0x%X) bytes", len, SA_GMSG_HDR_SIZE,
		  SA_GMSG_HDR_SIZE);
	sa_gmsg_hdr h;
	memset(&h, 0, sizeof(h));
	sa_reader r;
	sa_reader_init(&r, buf, SA_GMSG_HDR_SIZE);
	SA_TRY(sa_read_fields(&r, hdr_layout, SA_ARRAY_LEN(hdr_layout), &h, "guest message header", err));
	SA_TRY(sa_reader_expect_end(&r, "guest message header", err));
	*out = h;
	return SA_OK;
}

sa_status sa_gmsg_hdr_encode(const sa_gmsg_hdr *h, uint8_t out[SA_GMSG_HDR_SIZE], sa_error *err)
{
	SA_ENSURE(h && out, err, SA_ERR_ARG, "guest message header: no input or output");
	sa_writer w;
	sa_writer_init(&w, out, SA_GMSG_HDR_SIZE);
	SA_TRY(sa_write_fields(&w, hdr_layout, SA_ARRAY_LEN(hdr_layout), h, "guest message header", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_GMSG_HDR_SIZE, err, SA_ERR_STATE,
		  "guest message header: encoded %zu bytes", sa_writer_offset(&w));
	return SA_OK;
}

/*
 * The checks both ends make before decrypting: the fields the tag covers but
 * whose values this protocol fixes.  SA_ERR_FORMAT naming the field.
 */
static sa_status hdr_check(const sa_gmsg_hdr *h, sa_error *err)
{
	SA_ENSURE(h->algo == SA_GMSG_ALGO_AES256_GCM, err, SA_ERR_FORMAT, "ALGO is %u, expected %d (AES-256-GCM)",
		  h->algo, SA_GMSG_ALGO_AES256_GCM);
	SA_ENSURE(h->hdr_version == SA_GMSG_HDR_VERSION, err, SA_ERR_FORMAT, "HDR_VERSION is %u, expected %d",
		  h->hdr_version, SA_GMSG_HDR_VERSION);
	SA_ENSURE(h->hdr_sz == SA_GMSG_HDR_SIZE, err, SA_ERR_FORMAT, "HDR_SZ is 0x%X, expected 0x%X", h->hdr_sz,
		  SA_GMSG_HDR_SIZE);
	SA_TRY(check_zero(h->reserved_038, sizeof(h->reserved_038), 0x38, "header", "reserved", SA_ERR_FORMAT, err));
	SA_TRY(check_zero(h->reserved_03d, sizeof(h->reserved_03d), 0x3D, "header", "reserved", SA_ERR_FORMAT, err));
	SA_ENSURE(h->msg_sz <= SA_GMSG_MAX_PAYLOAD, err, SA_ERR_FORMAT,
		  "MSG_SZ is %u, expected at most %d (the payload of a %d-byte message page)", h->msg_sz,
		  SA_GMSG_MAX_PAYLOAD, SA_GMSG_PAGE_SIZE);
	return SA_OK;
}

/* ---- AEAD ---------------------------------------------------------------------- */

static void make_iv(uint64_t seqno, uint8_t iv[GMSG_IV_LEN])
{
	memset(iv, 0, GMSG_IV_LEN);
	sa_put_le64(iv, seqno);
}

/*
 * Encrypt payload into msg[0x60..] under the header already encoded in
 * msg[0..0x60) and put the tag in AUTHTAG[0..15].  On failure the message is
 * wiped.
 */
static sa_status aead_seal(const uint8_t key[SA_VMPCK_LEN], uint64_t seqno, uint8_t *msg, const uint8_t *payload,
			   size_t len, sa_error *err)
{
	uint8_t iv[GMSG_IV_LEN];
	uint8_t tag[SA_GMSG_AUTHTAG_LEN];
	make_iv(seqno, iv);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return sa_crypto_error(err, "guest message: EVP_CIPHER_CTX_new");
	int outl = 0, finl = 0;
	int ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GMSG_IV_LEN, NULL) == 1 &&
		 EVP_EncryptInit_ex(c, NULL, NULL, key, iv) == 1 &&
		 EVP_EncryptUpdate(c, NULL, &outl, msg + GMSG_AAD_OFF, GMSG_AAD_LEN) == 1 &&
		 (len == 0 || EVP_EncryptUpdate(c, msg + SA_GMSG_HDR_SIZE, &outl, payload, (int)len) == 1) &&
		 (len == 0 || (size_t)outl == len) &&
		 EVP_EncryptFinal_ex(c, msg + SA_GMSG_HDR_SIZE + len, &finl) == 1 && finl == 0 &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SA_GMSG_AUTHTAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		OPENSSL_cleanse(msg, SA_GMSG_HDR_SIZE + len);
		return sa_crypto_error(err, "guest message: AES-256-GCM encryption failed");
	}
	memcpy(msg, tag, sizeof(tag));
	return SA_OK;
}

/*
 * Authenticate and decrypt msg's payload (h already decoded from msg and
 * checked; msg_len and payload_cap already checked against MSG_SZ).  Decrypts
 * into a temporary and copies to payload only when the tag verifies.
 */
static sa_status aead_open(const uint8_t key[SA_VMPCK_LEN], const uint8_t *msg, const sa_gmsg_hdr *h,
			   uint8_t *payload, sa_error *err)
{
	uint8_t iv[GMSG_IV_LEN];
	uint8_t tag[SA_GMSG_AUTHTAG_LEN];
	uint8_t tmp[SA_GMSG_MAX_PAYLOAD];
	size_t len = h->msg_sz;
	make_iv(h->msg_seqno, iv);
	memcpy(tag, msg, sizeof(tag)); /* AUTHTAG[0..15] */
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return sa_crypto_error(err, "guest message: EVP_CIPHER_CTX_new");
	int outl = 0, finl = 0;
	int ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GMSG_IV_LEN, NULL) == 1 &&
		 EVP_DecryptInit_ex(c, NULL, NULL, key, iv) == 1 &&
		 EVP_DecryptUpdate(c, NULL, &outl, msg + GMSG_AAD_OFF, GMSG_AAD_LEN) == 1 &&
		 (len == 0 || EVP_DecryptUpdate(c, tmp, &outl, msg + SA_GMSG_HDR_SIZE, (int)len) == 1) &&
		 (len == 0 || (size_t)outl == len) &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SA_GMSG_AUTHTAG_LEN, tag) == 1;
	if (!ok) {
		EVP_CIPHER_CTX_free(c);
		OPENSSL_cleanse(tmp, len);
		return sa_crypto_error(err, "guest message: AES-256-GCM decryption setup failed");
	}
	/* The tag is checked here; nothing decrypted leaves tmp unless it matches. */
	int authentic = EVP_DecryptFinal_ex(c, tmp + len, &finl) == 1 && finl == 0;
	EVP_CIPHER_CTX_free(c);
	if (!authentic) {
		OPENSSL_cleanse(tmp, len);
		ERR_clear_error();
		return sa_error_set(err, SA_ERR_VERIFY,
				    "the AES-256-GCM tag does not authenticate MSG_SEQNO %llu (MSG_SZ %u) under "
				    "VMPCK%u: the ciphertext, the tag or the header bytes 0x30..0x5F were modified, or "
				    "the key is wrong",
				    (unsigned long long)h->msg_seqno, h->msg_sz, h->msg_vmpck);
	}
	if (len)
		memcpy(payload, tmp, len);
	OPENSSL_cleanse(tmp, len);
	return SA_OK;
}

sa_status sa_gmsg_seal(const uint8_t key[SA_VMPCK_LEN], uint64_t seqno, uint8_t type, uint8_t version,
		       uint8_t vmpck_id, const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap,
		       size_t *out_len, sa_error *err)
{
	if (out_len)
		*out_len = 0;
	SA_ENSURE(key && out, err, SA_ERR_ARG, "guest message seal: no key or output buffer");
	SA_ENSURE(payload || len == 0, err, SA_ERR_ARG, "guest message seal: no payload");
	SA_ENSURE(seqno != 0, err, SA_ERR_ARG, "guest message seal: MSG_SEQNO 0 is never valid (expected 1 or more)");
	SA_ENSURE(vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_ARG, "guest message seal: MSG_VMPCK %u, expected 0 to %d",
		  vmpck_id, SA_VMPCK_COUNT - 1);
	SA_ENSURE(len <= SA_GMSG_MAX_PAYLOAD, err, SA_ERR_RANGE,
		  "guest message seal: payload of %zu bytes, at most %d fit a message page", len, SA_GMSG_MAX_PAYLOAD);
	SA_ENSURE(out_cap >= SA_GMSG_HDR_SIZE + len, err, SA_ERR_RANGE,
		  "guest message seal: output buffer of %zu bytes, needs %zu (0x60 header + %zu payload)", out_cap,
		  SA_GMSG_HDR_SIZE + len, len);
	sa_gmsg_hdr h;
	memset(&h, 0, sizeof(h));
	h.msg_seqno = seqno;
	h.algo = SA_GMSG_ALGO_AES256_GCM;
	h.hdr_version = SA_GMSG_HDR_VERSION;
	h.hdr_sz = SA_GMSG_HDR_SIZE;
	h.msg_type = type;
	h.msg_version = version;
	h.msg_sz = (uint16_t)len;
	h.msg_vmpck = vmpck_id;
	SA_TRY(sa_gmsg_hdr_encode(&h, out, err));
	SA_TRY(aead_seal(key, seqno, out, payload, len, err));
	if (out_len)
		*out_len = SA_GMSG_HDR_SIZE + len;
	return SA_OK;
}

/* Size checks and decryption for a decoded, checked header. */
static sa_status open_checked(const uint8_t key[SA_VMPCK_LEN], const uint8_t *msg, size_t msg_len,
			      const sa_gmsg_hdr *h, uint8_t *payload, size_t payload_cap, size_t *payload_len,
			      sa_error *err)
{
	SA_ENSURE(msg_len - SA_GMSG_HDR_SIZE >= h->msg_sz, err, SA_ERR_TRUNCATED,
		  "MSG_SZ is %u but the message carries only %zu payload bytes", h->msg_sz, msg_len - SA_GMSG_HDR_SIZE);
	SA_ENSURE(payload_cap >= h->msg_sz, err, SA_ERR_RANGE, "MSG_SZ is %u, the payload buffer holds %zu", h->msg_sz,
		  payload_cap);
	SA_TRY(aead_open(key, msg, h, payload, err));
	if (payload_len)
		*payload_len = h->msg_sz;
	return SA_OK;
}

/*
 * Bytes after 0x60 + MSG_SZ are ignored (messages travel in whole pages).
 * *hdr is filled as soon as the header decodes, even if a later check fails.
 */
sa_status sa_gmsg_open(const uint8_t key[SA_VMPCK_LEN], const uint8_t *msg, size_t msg_len, sa_gmsg_hdr *hdr,
		       uint8_t *payload, size_t payload_cap, size_t *payload_len, sa_error *err)
{
	if (payload_len)
		*payload_len = 0;
	SA_ENSURE(key, err, SA_ERR_ARG, "guest message open: no key");
	SA_ENSURE(payload || payload_cap == 0, err, SA_ERR_ARG, "guest message open: no payload buffer");
	sa_gmsg_hdr h;
	SA_TRY(sa_gmsg_hdr_decode(msg, msg_len, &h, err));
	if (hdr)
		*hdr = h;
	SA_TRY(hdr_check(&h, err));
	return open_checked(key, msg, msg_len, &h, payload, payload_cap, payload_len, err);
}

/* ---- the guest's channel ------------------------------------------------------ */

sa_status sa_gmsg_channel_init(sa_gmsg_channel *ch, const uint8_t vmpck[SA_VMPCK_LEN], uint8_t vmpck_id,
			       uint64_t seqno, sa_error *err)
{
	SA_ENSURE(ch && vmpck, err, SA_ERR_ARG, "guest channel: no channel or key");
	SA_ENSURE(vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_ARG, "guest channel: VMPCK id %u, expected 0 to %d", vmpck_id,
		  SA_VMPCK_COUNT - 1);
	/* As the driver: an all-zero key was never provisioned or was wiped after a failure. */
	SA_ENSURE(!sa_all_zero(vmpck, SA_VMPCK_LEN), err, SA_ERR_ARG,
		  "guest channel: VMPCK%u is all zero (not provisioned, or wiped after a failure); expected a key",
		  vmpck_id);
	uint8_t key[SA_VMPCK_LEN]; /* vmpck may point into *ch */
	memcpy(key, vmpck, sizeof(key));
	OPENSSL_cleanse(ch, sizeof(*ch));
	memcpy(ch->vmpck, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	ch->vmpck_id = vmpck_id;
	ch->seqno = seqno;
	return SA_OK;
}

static sa_status channel_disabled(const sa_gmsg_channel *ch, sa_error *err)
{
	return sa_error_set(err, SA_ERR_STATE,
			    "VMPCK%u is disabled after %s; no further requests (an IV must never be reused)",
			    ch->vmpck_id, ch->disabled_reason[0] ? ch->disabled_reason : "an unrecorded failure");
}

void sa_gmsg_channel_fail(sa_gmsg_channel *ch, const char *why)
{
	if (!ch)
		return;
	OPENSSL_cleanse(ch->vmpck, sizeof(ch->vmpck));
	/* The first failure is the one worth reporting; later ones repeat it. */
	if (!ch->disabled)
		snprintf(ch->disabled_reason, sizeof(ch->disabled_reason), "%s", why && *why ? why : "a failure");
	ch->disabled = true;
	ch->pending = false;
}

void sa_gmsg_channel_wipe(sa_gmsg_channel *ch)
{
	if (!ch)
		return;
	OPENSSL_cleanse(ch->vmpck, sizeof(ch->vmpck));
	if (!ch->disabled)
		snprintf(ch->disabled_reason, sizeof(ch->disabled_reason), "%s", "the key was wiped");
	ch->disabled = true;
	ch->pending = false;
}

sa_status sa_gmsg_channel_request(sa_gmsg_channel *ch, uint8_t type, uint8_t version, const uint8_t *payload,
				  size_t len, uint8_t *out, size_t out_cap, size_t *out_len, sa_error *err)
{
	if (out_len)
		*out_len = 0;
	SA_ENSURE(ch, err, SA_ERR_ARG, "guest channel: no channel");
	if (ch->disabled)
		return channel_disabled(ch, err);
	SA_ENSURE(!ch->pending, err, SA_ERR_STATE,
		  "guest channel: request MSG_SEQNO %llu still awaits its response; expected one request at a time",
		  (unsigned long long)ch->pending_seqno);
	SA_ENSURE(version != 0, err, SA_ERR_ARG, "guest channel: MSG_VERSION 0, expected 1 or more");
	SA_ENSURE(type != UINT8_MAX, err, SA_ERR_ARG,
		  "guest channel: MSG_TYPE %u has no response type (type + 1 must fit in a byte)", type);
	uint64_t next = ch->seqno + 1;
	SA_ENSURE(next != 0, err, SA_ERR_RANGE,
		  "guest channel: sequence counter %llu; the next MSG_SEQNO would wrap to 0, which is never valid",
		  (unsigned long long)ch->seqno);
	SA_ENSURE(next < GMSG_SEQNO_LIMIT, err, SA_ERR_RANGE,
		  "guest channel: the next MSG_SEQNO would be %llu, expected below 0x%X (the kernel's limit: the "
		  "counter is 32 bits in the secrets page and the response takes seqno + 1)",
		  (unsigned long long)next, GMSG_SEQNO_LIMIT);
	SA_TRY(sa_gmsg_seal(ch->vmpck, next, type, version, ch->vmpck_id, payload, len, out, out_cap, out_len, err));
	ch->pending = true;
	ch->pending_seqno = next;
	ch->pending_type = type;
	ch->pending_version = version;
	return SA_OK;
}

/* The driver's checks on a response header before it decrypts. */
static sa_status response_check(const sa_gmsg_channel *ch, const sa_gmsg_hdr *h, size_t msg_len, size_t payload_cap,
				sa_error *err)
{
	SA_TRY(hdr_check(h, err));
	uint64_t want_seqno = ch->pending_seqno + 1;
	SA_ENSURE(h->msg_seqno == want_seqno, err, SA_ERR_VERIFY, "response MSG_SEQNO %llu, expected %llu",
		  (unsigned long long)h->msg_seqno, (unsigned long long)want_seqno);
	unsigned want_type = ch->pending_type + 1u;
	SA_ENSURE(h->msg_type == want_type, err, SA_ERR_VERIFY, "response MSG_TYPE %u (%s), expected %u (%s)",
		  h->msg_type, sa_gmsg_type_name(h->msg_type), want_type, sa_gmsg_type_name(want_type));
	SA_ENSURE(h->msg_version == ch->pending_version, err, SA_ERR_VERIFY, "response MSG_VERSION %u, expected %u",
		  h->msg_version, ch->pending_version);
	SA_ENSURE(h->msg_vmpck == ch->vmpck_id, err, SA_ERR_VERIFY, "response MSG_VMPCK %u, expected %u",
		  h->msg_vmpck, ch->vmpck_id);
	SA_ENSURE(h->msg_sz <= payload_cap, err, SA_ERR_VERIFY,
		  "response MSG_SZ %u exceeds the caller's %zu-byte payload buffer", h->msg_sz, payload_cap);
	SA_ENSURE(msg_len - SA_GMSG_HDR_SIZE >= h->msg_sz, err, SA_ERR_VERIFY,
		  "response MSG_SZ %u but the response carries only %zu payload bytes", h->msg_sz,
		  msg_len - SA_GMSG_HDR_SIZE);
	return SA_OK;
}

sa_status sa_gmsg_channel_response(sa_gmsg_channel *ch, const uint8_t *msg, size_t msg_len, uint8_t *payload,
				   size_t payload_cap, size_t *payload_len, sa_error *err)
{
	if (payload_len)
		*payload_len = 0;
	SA_ENSURE(ch, err, SA_ERR_ARG, "guest channel: no channel");
	if (ch->disabled)
		return channel_disabled(ch, err);
	SA_ENSURE(ch->pending, err, SA_ERR_STATE, "guest channel: no request is pending; expected a request first");
	/* Caller mistakes leave the channel as it was; everything after this concerns the response. */
	SA_ENSURE(payload || payload_cap == 0, err, SA_ERR_ARG, "guest channel: no payload buffer");
	SA_ENSURE(msg || msg_len == 0, err, SA_ERR_ARG, "guest channel: no response buffer");

	sa_error why;
	sa_error_clear(&why);
	sa_gmsg_hdr h;
	sa_status st = sa_gmsg_hdr_decode(msg, msg_len, &h, &why);
	if (st == SA_OK)
		st = response_check(ch, &h, msg_len, payload_cap, &why);
	if (st == SA_OK)
		st = open_checked(ch->vmpck, msg, msg_len, &h, payload, payload_cap, payload_len, &why);
	if (st != SA_OK) {
		uint8_t id = ch->vmpck_id;
		sa_gmsg_channel_fail(ch, why.msg);
		/* An internal crypto failure stays SA_ERR_CRYPTO; anything the response did is SA_ERR_VERIFY. */
		return sa_error_set(err, st == SA_ERR_CRYPTO ? SA_ERR_CRYPTO : SA_ERR_VERIFY,
				    "guest channel: response refused, VMPCK%u wiped and disabled: %s", id, why.msg);
	}
	ch->seqno = ch->pending_seqno + 1; /* the counter advances by 2: request and response */
	ch->pending = false;
	return SA_OK;
}

/* ---- the PSP's end ------------------------------------------------------------- */

static sa_status psp_check(const sa_gmsg_psp_ctx *ctx, const sa_gmsg_hdr *h, sa_error *err)
{
	SA_TRY(hdr_check(h, err));
	SA_ENSURE(h->msg_vmpck == ctx->vmpck_id, err, SA_ERR_VERIFY, "request MSG_VMPCK %u, expected %u", h->msg_vmpck,
		  ctx->vmpck_id);
	SA_ENSURE(h->msg_seqno != 0, err, SA_ERR_VERIFY, "request MSG_SEQNO 0 is never valid");
	uint64_t want = ctx->seqno + 1;
	SA_ENSURE(h->msg_seqno >= want, err, SA_ERR_VERIFY,
		  "request MSG_SEQNO %llu, expected %llu: replayed or stale (the last sequence number used is %llu)",
		  (unsigned long long)h->msg_seqno, (unsigned long long)want, (unsigned long long)ctx->seqno);
	SA_ENSURE(h->msg_seqno == want, err, SA_ERR_VERIFY, "request MSG_SEQNO %llu, expected %llu: skips ahead",
		  (unsigned long long)h->msg_seqno, (unsigned long long)want);
	return SA_OK;
}

sa_status sa_gmsg_psp_open_request(sa_gmsg_psp_ctx *ctx, const uint8_t *msg, size_t msg_len, sa_gmsg_hdr *hdr,
				   uint8_t *payload, size_t payload_cap, size_t *payload_len, uint32_t *fw_status,
				   sa_error *err)
{
	/* Every refusal is INVALID_PARAM; the sa_error says why. */
	if (fw_status)
		*fw_status = SA_FW_INVALID_PARAM;
	if (payload_len)
		*payload_len = 0;
	SA_ENSURE(ctx, err, SA_ERR_ARG, "PSP: no context");
	SA_ENSURE(payload || payload_cap == 0, err, SA_ERR_ARG, "PSP: no payload buffer");
	sa_gmsg_hdr h;
	sa_status st = sa_gmsg_hdr_decode(msg, msg_len, &h, err);
	if (st == SA_OK) {
		if (hdr)
			*hdr = h;
		st = psp_check(ctx, &h, err);
	}
	if (st == SA_OK)
		st = open_checked(ctx->vmpck, msg, msg_len, &h, payload, payload_cap, payload_len, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "PSP: VMPCK%u request refused (INVALID_PARAM)", ctx->vmpck_id);
	ctx->seqno = h.msg_seqno;
	if (fw_status)
		*fw_status = SA_FW_SUCCESS;
	return SA_OK;
}

sa_status sa_gmsg_psp_seal_response(sa_gmsg_psp_ctx *ctx, const sa_gmsg_hdr *req_hdr, const uint8_t *payload,
				    size_t len, uint8_t *out, size_t out_cap, size_t *out_len, sa_error *err)
{
	if (out_len)
		*out_len = 0;
	SA_ENSURE(ctx && req_hdr, err, SA_ERR_ARG, "PSP: no context or request header");
	SA_ENSURE(req_hdr->msg_vmpck == ctx->vmpck_id, err, SA_ERR_ARG, "PSP: request MSG_VMPCK %u, expected %u",
		  req_hdr->msg_vmpck, ctx->vmpck_id);
	/* A response is sealed once, to the request just accepted: its IV (seqno + 1) is then used up. */
	SA_ENSURE(req_hdr->msg_seqno != 0 && req_hdr->msg_seqno == ctx->seqno, err, SA_ERR_STATE,
		  "PSP: request MSG_SEQNO %llu, expected %llu (the request just accepted and not yet answered)",
		  (unsigned long long)req_hdr->msg_seqno, (unsigned long long)ctx->seqno);
	SA_ENSURE(req_hdr->msg_seqno != UINT64_MAX, err, SA_ERR_RANGE, "PSP: response MSG_SEQNO would wrap to 0");
	SA_ENSURE(req_hdr->msg_type != UINT8_MAX, err, SA_ERR_ARG,
		  "PSP: request MSG_TYPE %u has no response type (type + 1 must fit in a byte)", req_hdr->msg_type);
	uint64_t seqno = req_hdr->msg_seqno + 1;
	SA_TRY(sa_gmsg_seal(ctx->vmpck, seqno, (uint8_t)(req_hdr->msg_type + 1), req_hdr->msg_version, ctx->vmpck_id,
			    payload, len, out, out_cap, out_len, err));
	ctx->seqno = seqno;
	return SA_OK;
}

/* ---- payloads ------------------------------------------------------------------- */

#define KEY_SEL_MASK 0x3u
#define KEY_SEL_RESERVED 3u

#define RQ(off, kind, m, name) F(sa_report_req, off, kind, m, name)
static const sa_field report_req_layout[] = {
	RQ(0x00, BYTES, report_data, "REPORT_DATA"),
	RQ(0x40, U32, vmpl, "VMPL"),
	RQ(0x44, U32, key_sel, "KEY_SEL"),
	RQ(0x48, BYTES, reserved, "reserved (0x48)"),
};
#undef RQ

static sa_status report_req_check(const sa_report_req *r, sa_status code, sa_error *err)
{
	SA_ENSURE((r->key_sel & ~KEY_SEL_MASK) == 0, err, code,
		  "MSG_REPORT_REQ: the word at 0x44 is 0x%08X; bits 31:2 are reserved and must be zero (KEY_SEL is "
		  "bits 1:0)",
		  r->key_sel);
	SA_ENSURE(r->key_sel != KEY_SEL_RESERVED, err, code,
		  "MSG_REPORT_REQ: KEY_SEL is 3 (reserved), expected 0 (VLEK if installed, else VCEK), 1 (VCEK) or 2 "
		  "(VLEK)");
	return check_zero(r->reserved, sizeof(r->reserved), 0x48, "MSG_REPORT_REQ", "reserved", code, err);
}

sa_status sa_report_req_decode(const uint8_t *buf, size_t len, sa_report_req *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "MSG_REPORT_REQ: no output");
	SA_TRY(check_len_exact(buf, len, SA_REPORT_REQ_SIZE, "MSG_REPORT_REQ", err));
	sa_report_req r;
	memset(&r, 0, sizeof(r));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	SA_TRY(sa_read_fields(&rd, report_req_layout, SA_ARRAY_LEN(report_req_layout), &r, "MSG_REPORT_REQ", err));
	SA_TRY(sa_reader_expect_end(&rd, "MSG_REPORT_REQ", err));
	SA_TRY(report_req_check(&r, SA_ERR_FORMAT, err));
	*out = r;
	return SA_OK;
}

sa_status sa_report_req_encode(const sa_report_req *r, uint8_t out[SA_REPORT_REQ_SIZE], sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "MSG_REPORT_REQ: no input or output");
	SA_TRY(report_req_check(r, SA_ERR_RANGE, err));
	sa_writer w;
	sa_writer_init(&w, out, SA_REPORT_REQ_SIZE);
	SA_TRY(sa_write_fields(&w, report_req_layout, SA_ARRAY_LEN(report_req_layout), r, "MSG_REPORT_REQ", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_REPORT_REQ_SIZE, err, SA_ERR_STATE, "MSG_REPORT_REQ: encoded %zu bytes",
		  sa_writer_offset(&w));
	return SA_OK;
}

/* The fixed 0x20-byte part; REPORT follows when REPORT_SIZE says so. */
#define RS(off, kind, m, name) F(sa_report_rsp, off, kind, m, name)
static const sa_field report_rsp_layout[] = {
	RS(0x00, U32, status, "STATUS"),
	RS(0x04, U32, report_size, "REPORT_SIZE"),
	RS(0x08, BYTES, reserved, "reserved (0x08)"),
};
#undef RS

static sa_status report_rsp_check_size(uint32_t status, uint32_t report_size, sa_status code, sa_error *err)
{
	if (status == SA_FW_SUCCESS)
		SA_ENSURE(report_size == SA_SNP_REPORT_SIZE, err, code,
			  "MSG_REPORT_RSP: REPORT_SIZE is 0x%X with STATUS SUCCESS, expected 0x%X", report_size,
			  SA_SNP_REPORT_SIZE);
	else
		SA_ENSURE(report_size == 0 || report_size == SA_SNP_REPORT_SIZE, err, code,
			  "MSG_REPORT_RSP: REPORT_SIZE is 0x%X with STATUS 0x%X (%s), expected 0 or 0x%X", report_size,
			  status, sa_fw_status_name(status), SA_SNP_REPORT_SIZE);
	return SA_OK;
}

/*
 * Accepts 0x20 + REPORT_SIZE bytes up to a whole payload (4000 bytes, the
 * size of the Linux uapi snp_report_resp buffer): REPORT_SIZE is 0x4A0 when
 * STATUS is SUCCESS, else 0 (no report) or 0x4A0.  Bytes past the report must
 * be zero padding (SA_ERR_TRAILING names the first that is not).  The reserved
 * bytes at 0x08 are carried through unchecked.  With REPORT_SIZE 0 the report
 * is all zero.
 */
sa_status sa_report_rsp_decode(const uint8_t *buf, size_t len, sa_report_rsp *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "MSG_REPORT_RSP: no output");
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "MSG_REPORT_RSP: no buffer");
	SA_ENSURE(len >= SA_REPORT_RSP_HDR_SIZE, err, SA_ERR_TRUNCATED,
		  "MSG_REPORT_RSP: %zu bytes, expected at least 0x%X (STATUS, REPORT_SIZE, reserved)", len,
		  SA_REPORT_RSP_HDR_SIZE);
	SA_ENSURE(len <= SA_GMSG_MAX_PAYLOAD, err, SA_ERR_TRAILING,
		  "MSG_REPORT_RSP: %zu bytes, expected at most %d (a message payload)", len, SA_GMSG_MAX_PAYLOAD);
	sa_report_rsp r;
	memset(&r, 0, sizeof(r));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	SA_TRY(sa_read_fields(&rd, report_rsp_layout, SA_ARRAY_LEN(report_rsp_layout), &r, "MSG_REPORT_RSP", err));
	SA_TRY(report_rsp_check_size(r.status, r.report_size, SA_ERR_FORMAT, err));
	SA_ENSURE(sa_reader_remaining(&rd) >= r.report_size, err, SA_ERR_TRUNCATED,
		  "MSG_REPORT_RSP: REPORT_SIZE is 0x%X but only 0x%zX bytes follow the 0x20-byte header", r.report_size,
		  sa_reader_remaining(&rd));
	SA_TRY(sa_read_bytes(&rd, r.report, r.report_size, "REPORT", err));
	size_t off = sa_reader_offset(&rd);
	SA_TRY(check_zero(buf + off, len - off, off, "MSG_REPORT_RSP", "padding past the report", SA_ERR_TRAILING,
			  err));
	*out = r;
	return SA_OK;
}

sa_status sa_report_rsp_encode(const sa_report_rsp *r, uint8_t out[SA_REPORT_RSP_SIZE], sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "MSG_REPORT_RSP: no input or output");
	SA_TRY(report_rsp_check_size(r->status, r->report_size, SA_ERR_RANGE, err));
	if (r->report_size == 0)
		SA_TRY(check_zero(r->report, sizeof(r->report), SA_REPORT_RSP_HDR_SIZE, "MSG_REPORT_RSP",
				  "REPORT (absent with REPORT_SIZE 0)", SA_ERR_ARG, err));
	sa_writer w;
	sa_writer_init(&w, out, SA_REPORT_RSP_SIZE);
	SA_TRY(sa_write_fields(&w, report_rsp_layout, SA_ARRAY_LEN(report_rsp_layout), r, "MSG_REPORT_RSP", err));
	SA_TRY(sa_write_bytes(&w, r->report, sizeof(r->report), "REPORT", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_REPORT_RSP_SIZE, err, SA_ERR_STATE, "MSG_REPORT_RSP: encoded %zu bytes",
		  sa_writer_offset(&w));
	return SA_OK;
}

/* MSG_KEY_REQ as it sits on the wire; sa_key_req splits the first word. */
struct key_req_wire {
	uint32_t word0; /* bit 0 ROOT_KEY_SELECT, bits 2:1 KEY_SEL, 31:3 MBZ */
	uint32_t reserved_04;
	uint64_t guest_field_select;
	uint32_t vmpl;
	uint32_t guest_svn;
	uint64_t tcb_version;
	uint64_t launch_mit_vector;
};

#define KQ(off, kind, m, name) F(struct key_req_wire, off, kind, m, name)
static const sa_field key_req_layout[] = {
	KQ(0x00, U32, word0, "ROOT_KEY_SELECT/KEY_SEL"),
	KQ(0x04, U32, reserved_04, "reserved (0x04)"),
	KQ(0x08, U64, guest_field_select, "GUEST_FIELD_SELECT"),
	KQ(0x10, U32, vmpl, "VMPL"),
	KQ(0x14, U32, guest_svn, "GUEST_SVN"),
	KQ(0x18, U64, tcb_version, "TCB_VERSION"),
	KQ(0x20, U64, launch_mit_vector, "LAUNCH_MIT_VECTOR"), /* only in the 0x28-byte form */
};
#undef KQ

#define KEY_REQ_WORD0_MBZ 0xFFFFFFF8u
#define KEY_REQ_GFS_MBZ (~(uint64_t)0x7F)

sa_status sa_key_req_decode(const uint8_t *buf, size_t len, sa_key_req *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "MSG_KEY_REQ: no output");
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "MSG_KEY_REQ: no buffer");
	SA_ENSURE(len <= SA_KEY_REQ_SIZE_MIT, err, SA_ERR_TRAILING,
		  "MSG_KEY_REQ: %zu bytes, expected 0x%X or 0x%X (with LAUNCH_MIT_VECTOR)", len, SA_KEY_REQ_SIZE,
		  SA_KEY_REQ_SIZE_MIT);
	SA_ENSURE(len == SA_KEY_REQ_SIZE || len == SA_KEY_REQ_SIZE_MIT, err, SA_ERR_TRUNCATED,
		  "MSG_KEY_REQ: %zu bytes, expected 0x%X or 0x%X (with LAUNCH_MIT_VECTOR)", len, SA_KEY_REQ_SIZE,
		  SA_KEY_REQ_SIZE_MIT);
	bool mit = len == SA_KEY_REQ_SIZE_MIT;
	struct key_req_wire k;
	memset(&k, 0, sizeof(k));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	SA_TRY(sa_read_fields(&rd, key_req_layout, SA_ARRAY_LEN(key_req_layout) - (mit ? 0 : 1), &k, "MSG_KEY_REQ", err));
	SA_TRY(sa_reader_expect_end(&rd, "MSG_KEY_REQ", err));
	SA_ENSURE((k.word0 & KEY_REQ_WORD0_MBZ) == 0, err, SA_ERR_FORMAT,
		  "MSG_KEY_REQ: the word at 0x00 is 0x%08X; bits 31:3 are reserved and must be zero (bit 0 "
		  "ROOT_KEY_SELECT, bits 2:1 KEY_SEL)",
		  k.word0);
	SA_ENSURE(((k.word0 >> 1) & KEY_SEL_MASK) != KEY_SEL_RESERVED, err, SA_ERR_FORMAT,
		  "MSG_KEY_REQ: KEY_SEL is 3 (reserved), expected 0, 1 (VCEK) or 2 (VLEK)");
	SA_ENSURE(k.reserved_04 == 0, err, SA_ERR_FORMAT, "MSG_KEY_REQ: reserved word at 0x04 is 0x%08X, must be zero",
		  k.reserved_04);
	SA_ENSURE((k.guest_field_select & KEY_REQ_GFS_MBZ) == 0, err, SA_ERR_FORMAT,
		  "MSG_KEY_REQ: GUEST_FIELD_SELECT is 0x%016llX; bits 63:7 are reserved and must be zero",
		  (unsigned long long)k.guest_field_select);
	sa_key_req r;
	memset(&r, 0, sizeof(r));
	r.root_key_select = k.word0 & 1u;
	r.key_sel = (k.word0 >> 1) & KEY_SEL_MASK;
	r.reserved_04 = k.reserved_04;
	r.guest_field_select = k.guest_field_select;
	r.vmpl = k.vmpl;
	r.guest_svn = k.guest_svn;
	r.tcb_version = k.tcb_version;
	r.has_launch_mit_vector = mit;
	r.launch_mit_vector = k.launch_mit_vector;
	*out = r;
	return SA_OK;
}

sa_status sa_key_req_encode(const sa_key_req *r, uint8_t *out, size_t cap, size_t *out_len, sa_error *err)
{
	if (out_len)
		*out_len = 0;
	SA_ENSURE(r && out, err, SA_ERR_ARG, "MSG_KEY_REQ: no input or output");
	SA_ENSURE(r->root_key_select <= 1, err, SA_ERR_RANGE,
		  "MSG_KEY_REQ: ROOT_KEY_SELECT is %u, expected 0 (VCEK/VLEK) or 1 (VMRK)", r->root_key_select);
	SA_ENSURE(r->key_sel < KEY_SEL_RESERVED, err, SA_ERR_RANGE,
		  "MSG_KEY_REQ: KEY_SEL is %u, expected 0, 1 (VCEK) or 2 (VLEK)", r->key_sel);
	SA_ENSURE(r->reserved_04 == 0, err, SA_ERR_RANGE, "MSG_KEY_REQ: reserved word at 0x04 is 0x%08X, must be zero",
		  r->reserved_04);
	SA_ENSURE((r->guest_field_select & KEY_REQ_GFS_MBZ) == 0, err, SA_ERR_RANGE,
		  "MSG_KEY_REQ: GUEST_FIELD_SELECT is 0x%016llX; bits 63:7 are reserved and must be zero",
		  (unsigned long long)r->guest_field_select);
	SA_ENSURE(r->has_launch_mit_vector || r->launch_mit_vector == 0, err, SA_ERR_ARG,
		  "MSG_KEY_REQ: LAUNCH_MIT_VECTOR is 0x%llX but has_launch_mit_vector is false (the 0x20-byte form "
		  "has no room for it)",
		  (unsigned long long)r->launch_mit_vector);
	size_t size = r->has_launch_mit_vector ? SA_KEY_REQ_SIZE_MIT : SA_KEY_REQ_SIZE;
	SA_ENSURE(cap >= size, err, SA_ERR_RANGE, "MSG_KEY_REQ: output buffer of %zu bytes, needs 0x%zX", cap, size);
	struct key_req_wire k = {
		.word0 = r->root_key_select | r->key_sel << 1,
		.reserved_04 = r->reserved_04,
		.guest_field_select = r->guest_field_select,
		.vmpl = r->vmpl,
		.guest_svn = r->guest_svn,
		.tcb_version = r->tcb_version,
		.launch_mit_vector = r->launch_mit_vector,
	};
	sa_writer w;
	sa_writer_init(&w, out, size);
	SA_TRY(sa_write_fields(&w, key_req_layout, SA_ARRAY_LEN(key_req_layout) - (r->has_launch_mit_vector ? 0 : 1), &k,
			   "MSG_KEY_REQ", err));
	SA_ENSURE(sa_writer_offset(&w) == size, err, SA_ERR_STATE, "MSG_KEY_REQ: encoded %zu bytes",
		  sa_writer_offset(&w));
	if (out_len)
		*out_len = size;
	return SA_OK;
}

#define KS(off, kind, m, name) F(sa_key_rsp, off, kind, m, name)
static const sa_field key_rsp_layout[] = {
	KS(0x00, U32, status, "STATUS"),
	KS(0x04, BYTES, reserved, "reserved (0x04)"),
	KS(0x20, BYTES, derived_key, "DERIVED_KEY"),
};
#undef KS

/* Exactly 0x40 bytes (the uapi snp_derived_key_resp); reserved bytes carried through. */
sa_status sa_key_rsp_decode(const uint8_t *buf, size_t len, sa_key_rsp *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "MSG_KEY_RSP: no output");
	SA_TRY(check_len_exact(buf, len, SA_KEY_RSP_SIZE, "MSG_KEY_RSP", err));
	sa_key_rsp r;
	memset(&r, 0, sizeof(r));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	sa_status st = sa_read_fields(&rd, key_rsp_layout, SA_ARRAY_LEN(key_rsp_layout), &r, "MSG_KEY_RSP", err);
	if (st == SA_OK)
		st = sa_reader_expect_end(&rd, "MSG_KEY_RSP", err);
	if (st == SA_OK)
		*out = r;
	OPENSSL_cleanse(&r, sizeof(r));
	return st;
}

sa_status sa_key_rsp_encode(const sa_key_rsp *r, uint8_t out[SA_KEY_RSP_SIZE], sa_error *err)
{
	SA_ENSURE(r && out, err, SA_ERR_ARG, "MSG_KEY_RSP: no input or output");
	sa_writer w;
	sa_writer_init(&w, out, SA_KEY_RSP_SIZE);
	SA_TRY(sa_write_fields(&w, key_rsp_layout, SA_ARRAY_LEN(key_rsp_layout), r, "MSG_KEY_RSP", err));
	SA_ENSURE(sa_writer_offset(&w) == SA_KEY_RSP_SIZE, err, SA_ERR_STATE, "MSG_KEY_RSP: encoded %zu bytes",
		  sa_writer_offset(&w));
	return SA_OK;
}

/* ---- certificate table ----------------------------------------------------------- */

/* RFC 4122 byte order: the hex digits of the string form, in order. */
const uint8_t SA_CERT_GUID_ARK[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
				      0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
const uint8_t SA_CERT_GUID_ASK[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
				      0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
const uint8_t SA_CERT_GUID_VCEK[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
				       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
const uint8_t SA_CERT_GUID_VLEK[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
				       0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
const uint8_t SA_CERT_GUID_CRL[16] = {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
				      0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea};

#define CERT_ENTRY_SIZE 24

struct cert_entry_wire {
	uint8_t guid[16];
	uint32_t offset;
	uint32_t length;
};

#define CE(off, kind, m, name) F(struct cert_entry_wire, off, kind, m, name)
static const sa_field cert_entry_layout[] = {
	CE(0x00, BYTES, guid, "GUID"),
	CE(0x10, U32, offset, "OFFSET"),
	CE(0x14, U32, length, "LENGTH"),
};
#undef CE

static void guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1], g[2],
		 g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/*
 * Entries up to the all-zero terminator (at most SA_CERT_TABLE_MAX before
 * it); each blob must lie after the terminator and inside buf.  A null GUID
 * outside the terminator and a repeated GUID are refused.  Bytes after the
 * table that no entry points at are ignored (hosts hand over whole pages).
 */
sa_status sa_cert_table_decode(const uint8_t *buf, size_t len, sa_cert_table *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "certificate table: no output");
	SA_ENSURE(buf || len == 0, err, SA_ERR_ARG, "certificate table: no buffer");
	struct cert_entry_wire e[SA_CERT_TABLE_MAX];
	size_t n = 0;
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	for (;;) {
		struct cert_entry_wire w;
		sa_reader sub;
		SA_ENSURE(sa_reader_remaining(&rd) >= CERT_ENTRY_SIZE, err, SA_ERR_TRUNCATED,
			  "certificate table: entry %zu at 0x%zX needs %d bytes, only %zu remain; expected an all-zero "
			  "terminating entry",
			  n, sa_reader_offset(&rd), CERT_ENTRY_SIZE, sa_reader_remaining(&rd));
		SA_TRY(sa_read_sub(&rd, CERT_ENTRY_SIZE, &sub, "certificate table entry", err));
		SA_TRY(sa_read_fields(&sub, cert_entry_layout, SA_ARRAY_LEN(cert_entry_layout), &w,
				   "certificate table entry", err));
		bool null_guid = sa_all_zero(w.guid, sizeof(w.guid));
		if (null_guid && w.offset == 0 && w.length == 0)
			break;
		SA_ENSURE(!null_guid, err, SA_ERR_FORMAT,
			  "certificate table: entry %zu has a null GUID with OFFSET 0x%X, LENGTH 0x%X; only the "
			  "terminating entry may have a null GUID, and it must be all zero",
			  n, w.offset, w.length);
		SA_ENSURE(n < SA_CERT_TABLE_MAX, err, SA_ERR_RANGE,
			  "certificate table: more than %d entries before the terminator; expected at most %d",
			  SA_CERT_TABLE_MAX, SA_CERT_TABLE_MAX);
		e[n++] = w;
	}
	size_t table_end = sa_reader_offset(&rd);
	sa_cert_table t;
	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < n; i++) {
		char g[37];
		guid_format(e[i].guid, g);
		for (size_t j = 0; j < i; j++)
			SA_ENSURE(memcmp(e[j].guid, e[i].guid, sizeof(e[i].guid)) != 0, err, SA_ERR_FORMAT,
				  "certificate table: entries %zu and %zu both have GUID %s; expected each once", j, i,
				  g);
		SA_ENSURE(e[i].offset >= table_end, err, SA_ERR_FORMAT,
			  "certificate table: entry %zu (%s) OFFSET 0x%X lies inside the table, expected 0x%zX or "
			  "more",
			  i, g, e[i].offset, table_end);
		size_t end;
		SA_ENSURE(sa_add_size(e[i].offset, e[i].length, &end), err, SA_ERR_RANGE,
			  "certificate table: entry %zu (%s) OFFSET 0x%X + LENGTH 0x%X overflows", i, g, e[i].offset,
			  e[i].length);
		SA_ENSURE(end <= len, err, SA_ERR_TRUNCATED,
			  "certificate table: entry %zu (%s) OFFSET 0x%X + LENGTH 0x%X ends at 0x%zX, past the "
			  "%zu-byte buffer",
			  i, g, e[i].offset, e[i].length, end, len);
		memcpy(t.e[i].guid, e[i].guid, sizeof(e[i].guid));
		t.e[i].data = buf + e[i].offset;
		t.e[i].len = e[i].length;
	}
	t.n = n;
	*out = t;
	return SA_OK;
}

/* Table, terminator, then the blobs packed in entry order. */
sa_status sa_cert_table_encode(const sa_cert_table *t, uint8_t *out, size_t cap, size_t *needed, sa_error *err)
{
	if (needed)
		*needed = 0;
	SA_ENSURE(t, err, SA_ERR_ARG, "certificate table: no input");
	SA_ENSURE(t->n <= SA_CERT_TABLE_MAX, err, SA_ERR_RANGE, "certificate table: %zu entries, expected at most %d",
		  t->n, SA_CERT_TABLE_MAX);
	size_t total = (t->n + 1) * CERT_ENTRY_SIZE;
	for (size_t i = 0; i < t->n; i++) {
		const sa_cert_entry *e = &t->e[i];
		char g[37];
		guid_format(e->guid, g);
		SA_ENSURE(!sa_all_zero(e->guid, sizeof(e->guid)), err, SA_ERR_ARG,
			  "certificate table: entry %zu has a null GUID (it would read as the terminator)", i);
		for (size_t j = 0; j < i; j++)
			SA_ENSURE(memcmp(t->e[j].guid, e->guid, sizeof(e->guid)) != 0, err, SA_ERR_ARG,
				  "certificate table: entries %zu and %zu both have GUID %s; expected each once", j, i,
				  g);
		SA_ENSURE(e->data || e->len == 0, err, SA_ERR_ARG, "certificate table: entry %zu (%s) has no data", i,
			  g);
		SA_ENSURE(sa_add_size(total, e->len, &total) && total <= UINT32_MAX, err, SA_ERR_RANGE,
			  "certificate table: entry %zu (%s) of %zu bytes takes the table past the 32-bit offsets", i,
			  g, e->len);
	}
	if (needed)
		*needed = total;
	SA_ENSURE(out || cap == 0, err, SA_ERR_ARG, "certificate table: no output buffer");
	SA_ENSURE(cap >= total, err, SA_ERR_RANGE, "certificate table: needs %zu bytes, the buffer holds %zu", total,
		  cap);
	sa_writer w;
	sa_writer_init(&w, out, cap);
	size_t off = (t->n + 1) * CERT_ENTRY_SIZE;
	for (size_t i = 0; i < t->n; i++) {
		struct cert_entry_wire e;
		memcpy(e.guid, t->e[i].guid, sizeof(e.guid));
		e.offset = (uint32_t)off;
		e.length = (uint32_t)t->e[i].len;
		SA_TRY(sa_write_fields(&w, cert_entry_layout, SA_ARRAY_LEN(cert_entry_layout), &e,
				   "certificate table entry", err));
		off += t->e[i].len;
	}
	SA_TRY(sa_write_zeros(&w, CERT_ENTRY_SIZE, "certificate table terminator", err));
	for (size_t i = 0; i < t->n; i++)
		SA_TRY(sa_write_bytes(&w, t->e[i].data, t->e[i].len, "certificate", err));
	SA_ENSURE(sa_writer_offset(&w) == total, err, SA_ERR_STATE,
		  "certificate table: encoded %zu bytes, expected %zu", sa_writer_offset(&w), total);
	return SA_OK;
}

const sa_cert_entry *sa_cert_table_find(const sa_cert_table *t, const uint8_t guid[16])
{
	if (!t || !guid)
		return NULL;
	for (size_t i = 0; i < t->n && i < SA_CERT_TABLE_MAX; i++)
		if (memcmp(t->e[i].guid, guid, 16) == 0)
			return &t->e[i];
	return NULL;
}

/* ---- secrets page ------------------------------------------------------------------ */

#define SECRETS_MIN_VERSION 2

#define SP(off, kind, m, name) F(sa_secrets_page, off, kind, m, name)
static const sa_field secrets_layout[] = {
	SP(0x000, U32, version, "VERSION"),
	SP(0x004, U32, imi_en, "IMI_EN"),
	SP(0x008, U32, fms, "FMS"),
	SP(0x00C, BYTES, reserved_00c, "reserved (0x00C)"),
	SP(0x010, BYTES, gosvw, "GOSVW"),
	SP(0x020, BYTES, vmpck[0], "VMPCK0"),
	SP(0x040, BYTES, vmpck[1], "VMPCK1"),
	SP(0x060, BYTES, vmpck[2], "VMPCK2"),
	SP(0x080, BYTES, vmpck[3], "VMPCK3"),
	SP(0x0A0, BYTES, guest_os_area, "guest OS area (0x0A0)"),
	SP(0x100, BYTES, vmsa_tweak_bitmap, "VMSA_TWEAK_BITMAP"),
	SP(0x140, BYTES, guest_os_area2, "guest OS area (0x140)"),
	SP(0x160, U32, tsc_factor, "TSC_FACTOR"),
	SP(0x164, BYTES, reserved_164, "reserved (0x164)"),
};
#undef SP

/*
 * Exactly one page.  Versions 2 and later decode with the version-3 layout
 * (in version 2 VMSA_TWEAK_BITMAP and TSC_FACTOR are reserved; their bytes
 * are carried as they are).  Versions 0 and 1 are refused.
 */
sa_status sa_secrets_page_decode(const uint8_t *buf, size_t len, sa_secrets_page *out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "secrets page: no output");
	SA_TRY(check_len_exact(buf, len, SA_SECRETS_PAGE_SIZE, "secrets page", err));
	sa_secrets_page p;
	memset(&p, 0, sizeof(p));
	sa_reader rd;
	sa_reader_init(&rd, buf, len);
	sa_status st = sa_read_fields(&rd, secrets_layout, SA_ARRAY_LEN(secrets_layout), &p, "secrets page", err);
	if (st == SA_OK)
		st = sa_reader_expect_end(&rd, "secrets page", err);
	if (st == SA_OK && p.version < SECRETS_MIN_VERSION)
		st = sa_error_set(err, SA_ERR_UNSUPPORTED, "secrets page: VERSION is %u, expected %d or later",
				  p.version, SECRETS_MIN_VERSION);
	if (st == SA_OK)
		*out = p;
	OPENSSL_cleanse(&p, sizeof(p));
	return st;
}

sa_status sa_secrets_page_encode(const sa_secrets_page *p, uint8_t out[SA_SECRETS_PAGE_SIZE], sa_error *err)
{
	SA_ENSURE(p && out, err, SA_ERR_ARG, "secrets page: no input or output");
	SA_ENSURE(p->version >= SECRETS_MIN_VERSION, err, SA_ERR_UNSUPPORTED,
		  "secrets page: VERSION is %u, expected %d or later", p->version, SECRETS_MIN_VERSION);
	sa_writer w;
	sa_writer_init(&w, out, SA_SECRETS_PAGE_SIZE);
	sa_status st = sa_write_fields(&w, secrets_layout, SA_ARRAY_LEN(secrets_layout), p, "secrets page", err);
	if (st == SA_OK && sa_writer_offset(&w) != SA_SECRETS_PAGE_SIZE)
		st = sa_error_set(err, SA_ERR_STATE, "secrets page: encoded %zu bytes", sa_writer_offset(&w));
	if (st != SA_OK)
		OPENSSL_cleanse(out, SA_SECRETS_PAGE_SIZE);
	return st;
}

void sa_secrets_page_wipe(sa_secrets_page *p)
{
	if (p)
		OPENSSL_cleanse(p->vmpck, sizeof(p->vmpck));
}
