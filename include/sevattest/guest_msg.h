/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP guest message protocol (SNP ABI spec 56860 "Guest Messages";
 * Linux drivers/virt/coco/sev-guest), in one place for both ends: the guest
 * (which seals requests and opens responses) and the PSP (which opens
 * requests and seals responses).  The emulator, the guest library, the tests
 * and the fuzzers all use this module.
 *
 * A message is a 0x60-byte header followed by the AES-256-GCM ciphertext of
 * the payload.  Key = the VMPCK (32 bytes) from the secrets page.
 * AAD = header bytes 0x30..0x5F.  IV = MSG_SEQNO as u64 LE followed by four
 * zero bytes.  The 16-byte tag sits in AUTHTAG[0..15] (bytes 16..31 zero).
 */
#ifndef SEVATTEST_GUEST_MSG_H
#define SEVATTEST_GUEST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/error.h"
#include "sevattest/report.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_GMSG_HDR_SIZE 0x60
#define SA_GMSG_PAGE_SIZE 4096
#define SA_GMSG_MAX_PAYLOAD (SA_GMSG_PAGE_SIZE - SA_GMSG_HDR_SIZE) /* 4000 */
#define SA_GMSG_AUTHTAG_LEN 16
#define SA_GMSG_ALGO_AES256_GCM 1
#define SA_GMSG_HDR_VERSION 1
#define SA_VMPCK_LEN 32
#define SA_VMPCK_COUNT 4

typedef enum sa_gmsg_type {
	SA_MSG_CPUID_REQ = 1,
	SA_MSG_CPUID_RSP = 2,
	SA_MSG_KEY_REQ = 3,
	SA_MSG_KEY_RSP = 4,
	SA_MSG_REPORT_REQ = 5,
	SA_MSG_REPORT_RSP = 6,
	SA_MSG_EXPORT_REQ = 7,
	SA_MSG_EXPORT_RSP = 8,
	SA_MSG_IMPORT_REQ = 9,
	SA_MSG_IMPORT_RSP = 10,
	SA_MSG_ABSORB_REQ = 11,
	SA_MSG_ABSORB_RSP = 12,
	SA_MSG_VMRK_REQ = 13,
	SA_MSG_VMRK_RSP = 14,
	SA_MSG_TSC_INFO_REQ = 17,
	SA_MSG_TSC_INFO_RSP = 18,
} sa_gmsg_type;

const char *sa_gmsg_type_name(unsigned type); /* "MSG_REPORT_REQ", ... or "unknown" */

/* Firmware status codes used in guest messages and SNP commands (SEV API / SNP ABI). */
#define SA_FW_SUCCESS 0x00
#define SA_FW_INVALID_PLATFORM_STATE 0x01
#define SA_FW_INVALID_GUEST_STATE 0x02
#define SA_FW_INVALID_CONFIG 0x03
#define SA_FW_INVALID_LENGTH 0x04
#define SA_FW_ALREADY_OWNED 0x05
#define SA_FW_INVALID_CERTIFICATE 0x06
#define SA_FW_POLICY_FAILURE 0x07
#define SA_FW_INACTIVE 0x08
#define SA_FW_INVALID_ADDRESS 0x09
#define SA_FW_BAD_SIGNATURE 0x0A
#define SA_FW_BAD_MEASUREMENT 0x0B
#define SA_FW_ASID_OWNED 0x0C
#define SA_FW_INVALID_ASID 0x0D
#define SA_FW_WBINVD_REQUIRED 0x0E
#define SA_FW_DFFLUSH_REQUIRED 0x0F
#define SA_FW_INVALID_GUEST 0x10
#define SA_FW_INVALID_COMMAND 0x11
#define SA_FW_ACTIVE 0x12
#define SA_FW_HWSEV_RET_PLATFORM 0x13
#define SA_FW_HWSEV_RET_UNSAFE 0x14
#define SA_FW_UNSUPPORTED 0x15
#define SA_FW_INVALID_PARAM 0x16
#define SA_FW_RESOURCE_LIMIT 0x17
#define SA_FW_SECURE_DATA_INVALID 0x18
#define SA_FW_INVALID_PAGE_SIZE 0x19
#define SA_FW_INVALID_PAGE_STATE 0x1A
#define SA_FW_INVALID_MDATA_ENTRY 0x1B
#define SA_FW_INVALID_PAGE_OWNER 0x1C
#define SA_FW_AEAD_OFLOW 0x1D
#define SA_FW_RMP_INIT_REQUIRED 0x20
#define SA_FW_BAD_SVN 0x21
#define SA_FW_BAD_VERSION 0x22
#define SA_FW_SHUTDOWN_REQUIRED 0x23
#define SA_FW_UPDATE_FAILED 0x24
#define SA_FW_RESTORE_REQUIRED 0x25
#define SA_FW_RMP_INITIALIZATION_FAILED 0x26
#define SA_FW_INVALID_KEY 0x27

const char *sa_fw_status_name(uint32_t status); /* "INVALID_PARAM", ... or "unknown" */

/* VMM errors (upper 32 bits of SW_EXITINFO2 / snp_guest_request_ioctl.exitinfo2). */
#define SA_VMM_ERR_INVALID_LEN 1
#define SA_VMM_ERR_BUSY 2

typedef struct sa_gmsg_hdr {
	uint8_t authtag[32];
	uint64_t msg_seqno;
	uint8_t reserved_028[8];
	uint8_t algo;
	uint8_t hdr_version;
	uint16_t hdr_sz;
	uint8_t msg_type;
	uint8_t msg_version;
	uint16_t msg_sz;
	uint8_t reserved_038[4];
	uint8_t msg_vmpck;
	uint8_t reserved_03d[35];
} sa_gmsg_hdr;

SA_MUST_USE sa_status sa_gmsg_hdr_decode(const uint8_t *buf, size_t len, sa_gmsg_hdr *out, sa_error *err);
SA_MUST_USE sa_status sa_gmsg_hdr_encode(const sa_gmsg_hdr *h, uint8_t out[SA_GMSG_HDR_SIZE], sa_error *err);

/*
 * Seal: build the header (ALGO 1, HDR_VERSION 1, HDR_SZ 0x60, the given
 * seqno/type/version/vmpck, MSG_SZ = len) and encrypt payload into
 * out = header || ciphertext (out_cap >= 0x60 + len; len <= SA_GMSG_MAX_PAYLOAD).
 * seqno 0 is refused (it is never valid).
 */
SA_MUST_USE sa_status sa_gmsg_seal(const uint8_t key[SA_VMPCK_LEN], uint64_t seqno, uint8_t type, uint8_t version,
				   uint8_t vmpck_id, const uint8_t *payload, size_t len, uint8_t *out,
				   size_t out_cap, size_t *out_len, sa_error *err);

/*
 * Open: decode the header, check ALGO, HDR_VERSION, HDR_SZ and that MSG_SZ
 * fits the message (msg_len >= 0x60 + MSG_SZ), then authenticate and decrypt
 * into payload (payload_cap >= MSG_SZ).  SA_ERR_VERIFY when the tag does not
 * authenticate; SA_ERR_FORMAT for a bad header.  Nothing is written to
 * payload unless the message authenticates.
 */
SA_MUST_USE sa_status sa_gmsg_open(const uint8_t key[SA_VMPCK_LEN], const uint8_t *msg, size_t msg_len,
				   sa_gmsg_hdr *hdr, uint8_t *payload, size_t payload_cap, size_t *payload_len,
				   sa_error *err);

/*
 * The guest's end, with the Linux driver's semantics: one VMPCK and its
 * sequence counter.  Requests use seqno = counter + 1; the response must
 * carry seqno + 1, type + 1, the same MSG_VERSION and VMPCK id and fit the
 * caller's buffer; only then is it decrypted.  After a good response the
 * counter advances by 2.  Any failure after a request was sealed (bad
 * header, failed authentication, a transport error other than "invalid
 * length") wipes the VMPCK with OPENSSL_cleanse and disables the channel:
 * every later call fails with SA_ERR_STATE, so an IV is never reused.
 */
typedef struct sa_gmsg_channel {
	uint8_t vmpck[SA_VMPCK_LEN];
	uint8_t vmpck_id;
	uint64_t seqno;          /* the last sequence number used (msg_seqno_N in the secrets page) */
	bool disabled;
	bool pending;            /* a request was sealed and awaits its response */
	uint8_t pending_type;
	uint8_t pending_version;
	uint64_t pending_seqno;
	char disabled_reason[160];
} sa_gmsg_channel;

SA_MUST_USE sa_status sa_gmsg_channel_init(sa_gmsg_channel *ch, const uint8_t vmpck[SA_VMPCK_LEN], uint8_t vmpck_id,
					   uint64_t seqno, sa_error *err);
/* Seal the next request.  SA_ERR_STATE if disabled or a request is pending; SA_ERR_RANGE if
 * the counter would pass 2^32 (the kernel's limit). */
SA_MUST_USE sa_status sa_gmsg_channel_request(sa_gmsg_channel *ch, uint8_t type, uint8_t version,
					      const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap,
					      size_t *out_len, sa_error *err);
/* Check and open the response to the pending request (see above). */
SA_MUST_USE sa_status sa_gmsg_channel_response(sa_gmsg_channel *ch, const uint8_t *msg, size_t msg_len,
					       uint8_t *payload, size_t payload_cap, size_t *payload_len,
					       sa_error *err);
/*
 * The transport failed after the request was sealed: wipe the key and disable
 * the channel (why names the failure).  Note the driver's rule for an extended
 * request answered with VMM error INVALID_LEN: the same sealed message is sent
 * again as a plain request so the PSP consumes its sequence number, the
 * response is opened normally, and only then is "buffer too small" reported;
 * so that case is not a failure here.
 */
void sa_gmsg_channel_fail(sa_gmsg_channel *ch, const char *why);
/* Wipe the key (also on normal teardown). */
void sa_gmsg_channel_wipe(sa_gmsg_channel *ch);

/*
 * The PSP's end for one VMPCK: the firmware keeps its own counter and accepts
 * a request only with seqno = counter + 1; its response carries seqno + 1 and
 * the counter becomes seqno + 1.
 */
typedef struct sa_gmsg_psp_ctx {
	uint8_t vmpck[SA_VMPCK_LEN];
	uint8_t vmpck_id;
	uint64_t seqno; /* last sequence number seen or sent */
} sa_gmsg_psp_ctx;

/* Open a request: header checks, seqno == ctx->seqno + 1, msg_vmpck == id, authentication.
 * Returns a firmware status in *fw_status (SA_FW_SUCCESS, SA_FW_INVALID_PARAM for a
 * malformed or replayed message, SA_FW_BAD_SIGNATURE... see .c) and SA_OK/err. */
SA_MUST_USE sa_status sa_gmsg_psp_open_request(sa_gmsg_psp_ctx *ctx, const uint8_t *msg, size_t msg_len,
					       sa_gmsg_hdr *hdr, uint8_t *payload, size_t payload_cap,
					       size_t *payload_len, uint32_t *fw_status, sa_error *err);
/* Seal the response to the request whose header is req_hdr (type + 1, seqno + 1). */
SA_MUST_USE sa_status sa_gmsg_psp_seal_response(sa_gmsg_psp_ctx *ctx, const sa_gmsg_hdr *req_hdr,
						const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap,
						size_t *out_len, sa_error *err);

/* ---- payloads ---------------------------------------------------------- */

#define SA_REPORT_REQ_SIZE 0x60
typedef struct sa_report_req {
	uint8_t report_data[64];
	uint32_t vmpl;
	uint32_t key_sel;       /* bits 1:0: 0 VLEK if installed else VCEK, 1 VCEK, 2 VLEK, 3 reserved */
	uint8_t reserved[24];
} sa_report_req;

#define SA_REPORT_RSP_HDR_SIZE 0x20
#define SA_REPORT_RSP_SIZE (SA_REPORT_RSP_HDR_SIZE + SA_SNP_REPORT_SIZE)
typedef struct sa_report_rsp {
	uint32_t status;
	uint32_t report_size;
	uint8_t reserved[24];
	uint8_t report[SA_SNP_REPORT_SIZE];
} sa_report_rsp;

#define SA_KEY_REQ_SIZE 0x20     /* Linux uapi */
#define SA_KEY_REQ_SIZE_MIT 0x28 /* with LAUNCH_MIT_VECTOR (FW >= 1.58) */
typedef struct sa_key_req {
	uint32_t root_key_select; /* bit 0: 0 VCEK/VLEK, 1 VMRK */
	uint32_t key_sel;         /* bits 2:1 of the first word, as report key_sel */
	uint32_t reserved_04;
	uint64_t guest_field_select; /* bit 0 policy, 1 image_id, 2 family_id, 3 measurement, 4 guest_svn,
				        5 tcb_version, 6 launch_mit_vector */
	uint32_t vmpl;
	uint32_t guest_svn;
	uint64_t tcb_version;
	bool has_launch_mit_vector;
	uint64_t launch_mit_vector;
} sa_key_req;

#define SA_KEY_RSP_SIZE 0x40
typedef struct sa_key_rsp {
	uint32_t status;
	uint8_t reserved[28];
	uint8_t derived_key[32];
} sa_key_rsp;

/* Each decoder takes exactly the structure's size (the key request: 0x20 or 0x28);
 * reserved bits that must be zero are checked and named. */
SA_MUST_USE sa_status sa_report_req_decode(const uint8_t *buf, size_t len, sa_report_req *out, sa_error *err);
SA_MUST_USE sa_status sa_report_req_encode(const sa_report_req *r, uint8_t out[SA_REPORT_REQ_SIZE], sa_error *err);
SA_MUST_USE sa_status sa_report_rsp_decode(const uint8_t *buf, size_t len, sa_report_rsp *out, sa_error *err);
SA_MUST_USE sa_status sa_report_rsp_encode(const sa_report_rsp *r, uint8_t out[SA_REPORT_RSP_SIZE], sa_error *err);
SA_MUST_USE sa_status sa_key_req_decode(const uint8_t *buf, size_t len, sa_key_req *out, sa_error *err);
SA_MUST_USE sa_status sa_key_req_encode(const sa_key_req *r, uint8_t *out, size_t cap, size_t *out_len,
					sa_error *err);
SA_MUST_USE sa_status sa_key_rsp_decode(const uint8_t *buf, size_t len, sa_key_rsp *out, sa_error *err);
SA_MUST_USE sa_status sa_key_rsp_encode(const sa_key_rsp *r, uint8_t out[SA_KEY_RSP_SIZE], sa_error *err);

/* ---- extended-report certificate table (GHCB) --------------------------- */

/* GUIDs in RFC 4122 byte order, as the table carries them. */
extern const uint8_t SA_CERT_GUID_ARK[16];
extern const uint8_t SA_CERT_GUID_ASK[16]; /* also the ASVK */
extern const uint8_t SA_CERT_GUID_VCEK[16];
extern const uint8_t SA_CERT_GUID_VLEK[16];
extern const uint8_t SA_CERT_GUID_CRL[16];

typedef struct sa_cert_entry {
	uint8_t guid[16];
	const uint8_t *data; /* points into the decoded buffer (decode) or the caller's data (encode) */
	size_t len;
} sa_cert_entry;

#define SA_CERT_TABLE_MAX 16

typedef struct sa_cert_table {
	sa_cert_entry e[SA_CERT_TABLE_MAX];
	size_t n;
} sa_cert_table;

/* Decode {guid, u32 offset, u32 length}* + zero entry; every blob must lie inside buf. */
SA_MUST_USE sa_status sa_cert_table_decode(const uint8_t *buf, size_t len, sa_cert_table *out, sa_error *err);
/* Encode the table then the blobs; *needed is always set (for the INVALID_LEN answer). */
SA_MUST_USE sa_status sa_cert_table_encode(const sa_cert_table *t, uint8_t *out, size_t cap, size_t *needed,
					   sa_error *err);
const sa_cert_entry *sa_cert_table_find(const sa_cert_table *t, const uint8_t guid[16]);

/* ---- secrets page ------------------------------------------------------- */

#define SA_SECRETS_PAGE_SIZE 4096
typedef struct sa_secrets_page {
	uint32_t version; /* 2 or 3 */
	uint32_t imi_en;
	uint32_t fms;
	uint8_t reserved_00c[4];
	uint8_t gosvw[16];
	uint8_t vmpck[SA_VMPCK_COUNT][SA_VMPCK_LEN];
	uint8_t guest_os_area[96];      /* msg_seqno_0..3 u32 at 0xA0.., ap_jump_table_pa u64 at 0xB0, ... */
	uint8_t vmsa_tweak_bitmap[64];  /* version 3 */
	uint8_t guest_os_area2[32];
	uint32_t tsc_factor;            /* version 3 */
	uint8_t reserved_164[0xE9C];
} sa_secrets_page;

SA_MUST_USE sa_status sa_secrets_page_decode(const uint8_t *buf, size_t len, sa_secrets_page *out, sa_error *err);
SA_MUST_USE sa_status sa_secrets_page_encode(const sa_secrets_page *p, uint8_t out[SA_SECRETS_PAGE_SIZE],
					     sa_error *err);
/* Wipe the VMPCKs of a decoded page. */
void sa_secrets_page_wipe(sa_secrets_page *p);

#ifdef __cplusplus
}
#endif
#endif
