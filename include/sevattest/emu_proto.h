/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wire protocol of sevattest-emu, the emulated-platform daemon, over unix
 * stream sockets.  Two roles, one framing:
 *
 *   host socket    one per daemon (default <state>/run/host.sock): the
 *                  hypervisor's and platform owner's commands (status, the
 *                  root of trust, SNP launch, configuration, shutdown).
 *   guest channel  one per running VM (<run dir>/vm-<handle>.sock): the
 *                  guest's view.  HELLO hands out the guest's secrets page
 *                  (with msg_seqno_0..3 in its guest-OS area, as the guest
 *                  kernel keeps them); GUEST_REQUEST and EXT_GUEST_REQUEST
 *                  carry sealed guest messages to the emulated PSP and return
 *                  SW_EXITINFO2's halves (firmware error, VMM error) with the
 *                  sealed response; DISABLE_VMPCK zeroes a VMPCK the guest
 *                  wiped after a failure.  One connection at a time holds a
 *                  VM's channel (from its first frame to its close); others
 *                  wait, as callers of the kernel's guest-request mutex do.
 *
 * Frame (all integers little-endian):
 *
 *   u32 length      bytes that follow this field: 4 + payload length
 *   u16 command     SA_EP_* below; a reply carries command | SA_EP_REPLY
 *   u16 status      requests: flags, must be 0; replies: 0 success, else a
 *                   firmware status (SA_FW_*) or SA_EP_STATUS_DAEMON
 *   payload         the command's request or reply body (layouts below)
 *
 * A frame is at most SA_EP_MAX_FRAME bytes in all.  A failed reply's payload
 * is the error body: u32 sa_status code, u16 message length (< 512), message
 * (no terminating NUL).  Every request gets exactly one reply.  Malformed or
 * wrong-size requests get a firmware-style status (INVALID_LENGTH for a size
 * that is wrong, INVALID_PARAM for a bad field, INVALID_COMMAND for a command
 * the socket's role does not have); a frame whose length field is out of range
 * gets INVALID_LENGTH and the connection is closed, since framing is lost.
 *
 * Payloads (request -> reply; "blob" = u32 length then that many bytes):
 *
 *   STATUS            -> u32 product, CHIP_ID[64], u64 current, reported and committed TCB,
 *                        u8 current major, minor, build, u8 committed major, minor, build,
 *                        u8 flags (bit 0 mask_chip_id, 1 mask_chip_key, 2 vlek_loaded), u8 0,
 *                        u32 guest_count, u32 daemon pid, u32 guest channels open
 *   EXPORT_ROOT       -> blob (ARK, PEM)
 *   EXPORT_CHAIN      u8 key (0 VCEK, 1 VLEK) -> blob (ASK or ASVK then ARK, PEM)
 *   EXPORT_VEK        u8 key -> blob (VCEK or VLEK, DER)
 *   LAUNCH_START      u64 policy -> u32 handle
 *   LAUNCH_UPDATE     u32 handle, u8 page type, u8 has_page (0/1), u16 0, u64 GPA,
 *                     [page 4096 if has_page] -> (empty)
 *   LAUNCH_FINISH     u32 handle, u8 flags (bit 0 author_key_en, 1 ID block present), u8[3] 0,
 *                     HOST_DATA[32], [ID block 0x60, ID auth 0x1000 if bit 1]
 *                     -> u32 handle, launch digest[48], u16 length, guest channel socket path
 *   SET_EXT_CERTS     u32 handle (0: platform-wide), blob (certificate table; empty clears)
 *                     -> (empty)
 *   VM_LIST           -> u32 total, u32 n, n x {u32 handle, u8 flags (bit 0: a guest holds its
 *                        channel; bit 1: an SEV/SEV-ES guest, which has no guest channel and is
 *                        never busy), launch digest[48] (SEV: the 32-byte digest, then zeros),
 *                        u16 length, guest channel socket path (0 bytes for an SEV guest, else
 *                        1..107), u16 length, QMP socket path (1..107)}
 *   DECOMMISSION      u32 handle -> (empty)
 *   SET_CONFIG        u64 reported TCB, u8 flags (bit 0 mask_chip_id, 1 mask_chip_key) -> (empty)
 *   UPDATE_FIRMWARE   u64 current TCB, u8 major, u8 minor, u8 build -> (empty)
 *   COMMIT            -> (empty)
 *   VLEK_LOAD         u16 length, CSP id (1..64 printable ASCII) -> (empty)
 *   SHUTDOWN          -> (empty), then the daemon exits
 *   HELLO             -> u32 handle, secrets page[4096]
 *   GUEST_REQUEST     blob (sealed request message, 1..4096 bytes)
 *                     -> u32 fw_error, u32 vmm_error, blob (sealed response, 0..4096 bytes)
 *   EXT_GUEST_REQUEST u32 certificate buffer pages (0..SA_EP_MAX_CERT_PAGES), blob (sealed request)
 *                     -> u32 fw_error, u32 vmm_error, u32 pages needed, blob (response),
 *                        blob (certificate table, at most pages x 4096 bytes)
 *   DISABLE_VMPCK     u8 VMPCK id (0..3) -> (empty)
 *
 * SEV and SEV-ES (legacy) firmware, host socket, one command per sa_emu_sev_*
 * function (emu.h); "cert" is an SEV certificate of 0x824 bytes:
 *
 *   SEV_PLATFORM_STATUS    -> the 12-byte sev_user_data_status of linux/psp-sev.h (sev.h)
 *   SEV_FACTORY_RESET      -> (empty)
 *   SEV_PEK_GEN            -> (empty)
 *   SEV_PDH_GEN            -> (empty)
 *   SEV_PEK_CSR            u32 buffer length (0..SA_EP_SEV_PROBE_MAX) -> blob (the CSR)
 *   SEV_PEK_CERT_IMPORT    blob (PEK, 0..SA_EP_SEV_CERT_MAX), blob (OCA, 0..SA_EP_SEV_CERT_MAX) -> (empty)
 *   SEV_PDH_CERT_EXPORT    u32 PDH buffer length, u32 chain buffer length (each 0..SA_EP_SEV_PROBE_MAX)
 *                          -> blob (PDH), blob (PEK ‖ OCA ‖ CEK)
 *   SEV_GET_ID             u32 buffer length (0..SA_EP_SEV_PROBE_MAX) -> blob (the ID)
 *   SEV_EXPORT_AMD         -> blob (ARK, 0..SA_AMD_CERT_MAX), blob (ASK, 0..SA_AMD_CERT_MAX),
 *                             cert (the CEK signed by the ASK)
 *   SEV_LAUNCH_START       u32 policy, blob (GODH cert), blob (session, 0x80); both empty: the
 *                          firmware picks the TEK/TIK (each blob 0..SA_EP_SEV_CERT_MAX) -> u32 handle
 *   SEV_LAUNCH_UPDATE_DATA u32 handle, blob (1..SA_EP_SEV_DATA_CHUNK bytes) -> (empty)
 *   SEV_LAUNCH_UPDATE_VMSA u32 handle, VMSA[4096] -> (empty)
 *   SEV_LAUNCH_MEASURE     u32 handle, u32 buffer length -> blob (MEASURE ‖ MNONCE)
 *   SEV_LAUNCH_SECRET      u32 handle, u32 0, u64 GPA, header[0x34], blob (ciphertext,
 *                          0..SA_EP_SEV_SECRET_MAX) -> (empty)
 *   SEV_LAUNCH_FINISH      u32 handle -> u16 length, QMP socket path (1..107)
 *   SEV_ATTESTATION        u32 handle, MNONCE[16], u32 buffer length -> blob (the report)
 *   SEV_GUEST_INFO         u32 handle -> u32 handle, u32 policy, u8 state (0..3), u8[3] 0,
 *                             launch digest[32], u32 secrets injected
 *
 * The buffer lengths are the caller's, passed to the firmware as /dev/sev
 * passes them: a length below what is needed (0 included) is answered
 * INVALID_LENGTH.  The failed reply of a probing command (SEV_PEK_CSR,
 * SEV_PDH_CERT_EXPORT, SEV_GET_ID, SEV_LAUNCH_MEASURE, SEV_ATTESTATION) with
 * status INVALID_LENGTH carries, after the error body, the lengths the
 * firmware wrote back: u32 length needed (SEV_PDH_CERT_EXPORT: u32 PDH
 * length, u32 chain length); 0 when the request itself was malformed.  A
 * successful reply's blob is never longer than the buffer length asked for.
 *
 * Every VM has a QMP socket (<run dir>/vm-<handle>.qmp) served by
 * sa_qmp_serve_emu (qmp.h): an SNP guest from LAUNCH_FINISH on, an SEV guest
 * from SEV_LAUNCH_START on (so that QMP `cont` can finish a launch paused in
 * the launch-secret state, as with QEMU).
 *
 * An EXT_GUEST_REQUEST whose certificate buffer is too small is answered as
 * the hypervisor answers it: vmm_error SA_VMM_ERR_INVALID_LEN, the pages
 * needed, no response, and no firmware call, so the guest re-sends the same
 * message as a plain GUEST_REQUEST (the Linux driver's rule: the sequence
 * number must be consumed) and then asks again with a larger buffer.
 */
#ifndef SEVATTEST_EMU_PROTO_H
#define SEVATTEST_EMU_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sevattest/emu.h"
#include "sevattest/error.h"
#include "sevattest/guest_msg.h"
#include "sevattest/sev.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_EP_FRAME_HDR_SIZE 8
#define SA_EP_MAX_FRAME (128u * 1024u)
#define SA_EP_MAX_PAYLOAD (SA_EP_MAX_FRAME - SA_EP_FRAME_HDR_SIZE)
#define SA_EP_REPLY 0x8000u
#define SA_EP_STATUS_DAEMON 0xFFFFu /* failed outside the firmware (I/O, resources) */
#define SA_EP_PAGE_SIZE 4096
#define SA_EP_MAX_CERT_PAGES 16
#define SA_EP_MAX_CERTS (SA_EP_MAX_CERT_PAGES * SA_EP_PAGE_SIZE)
#define SA_EP_MAX_BLOB (64u * 1024u)     /* exported PEM/DER */
#define SA_EP_PATH_MAX 107               /* sun_path less its NUL */
#define SA_EP_MAX_VMS 64                 /* VM_LIST entries per reply */
#define SA_EP_CSP_ID_MAX 64
#define SA_EP_ID_BLOCK_SIZE 0x60
#define SA_EP_ID_AUTH_SIZE 0x1000
#define SA_EP_ERR_MSG_MAX (SA_ERROR_MSG_MAX - 1)
#define SA_EP_SEV_CERT_SIZE 0x824
#define SA_EP_SEV_CERT_MAX 0x1000        /* a certificate-sized blob in a request */
#define SA_EP_SEV_PROBE_MAX 0x4000       /* the kernel's SEV_FW_BLOB_MAX_SIZE */
#define SA_EP_SEV_DATA_CHUNK (64u * 1024u) /* SEV_LAUNCH_UPDATE_DATA bytes per request */
#define SA_EP_SEV_SECRET_MAX 16384       /* LAUNCH_SECRET ciphertext */
#define SA_EP_SEV_VMSA_SIZE 4096
#define SA_EP_SEV_SECRET_HDR_SIZE 0x34
#define SA_EP_SEV_STATUS_SIZE 12

typedef enum sa_ep_cmd {
	/* host socket */
	SA_EP_STATUS = 0x0001,
	SA_EP_EXPORT_ROOT = 0x0002,
	SA_EP_EXPORT_CHAIN = 0x0003,
	SA_EP_EXPORT_VEK = 0x0004,
	SA_EP_LAUNCH_START = 0x0010,
	SA_EP_LAUNCH_UPDATE = 0x0011,
	SA_EP_LAUNCH_FINISH = 0x0012,
	SA_EP_SET_EXT_CERTS = 0x0013,
	SA_EP_VM_LIST = 0x0014,
	SA_EP_DECOMMISSION = 0x0015,
	SA_EP_SET_CONFIG = 0x0020,
	SA_EP_UPDATE_FIRMWARE = 0x0021,
	SA_EP_COMMIT = 0x0022,
	SA_EP_VLEK_LOAD = 0x0023,
	SA_EP_SEV_PLATFORM_STATUS = 0x0030,
	SA_EP_SEV_FACTORY_RESET = 0x0031,
	SA_EP_SEV_PEK_GEN = 0x0032,
	SA_EP_SEV_PEK_CSR = 0x0033,
	SA_EP_SEV_PEK_CERT_IMPORT = 0x0034,
	SA_EP_SEV_PDH_GEN = 0x0035,
	SA_EP_SEV_PDH_CERT_EXPORT = 0x0036,
	SA_EP_SEV_GET_ID = 0x0037,
	SA_EP_SEV_EXPORT_AMD = 0x0038,
	SA_EP_SEV_LAUNCH_START = 0x0040,
	SA_EP_SEV_LAUNCH_UPDATE_DATA = 0x0041,
	SA_EP_SEV_LAUNCH_UPDATE_VMSA = 0x0042,
	SA_EP_SEV_LAUNCH_MEASURE = 0x0043,
	SA_EP_SEV_LAUNCH_SECRET = 0x0044,
	SA_EP_SEV_LAUNCH_FINISH = 0x0045,
	SA_EP_SEV_ATTESTATION = 0x0046,
	SA_EP_SEV_GUEST_INFO = 0x0047,
	SA_EP_SHUTDOWN = 0x00FF,
	/* guest channel */
	SA_EP_HELLO = 0x0100,
	SA_EP_GUEST_REQUEST = 0x0101,
	SA_EP_EXT_GUEST_REQUEST = 0x0102,
	SA_EP_DISABLE_VMPCK = 0x0103,
} sa_ep_cmd;

typedef enum sa_ep_role {
	SA_EP_ROLE_NONE = 0, /* not a command */
	SA_EP_ROLE_HOST = 1,
	SA_EP_ROLE_GUEST = 2,
} sa_ep_role;

/* "STATUS", "GUEST_REQUEST", ... or "unknown". */
const char *sa_ep_cmd_name(unsigned cmd);
sa_ep_role sa_ep_cmd_role(unsigned cmd);
/* "success", a firmware status name, or "DAEMON_ERROR". */
const char *sa_ep_status_name(unsigned status);
/* True for the commands whose INVALID_LENGTH reply carries the lengths needed. */
bool sa_ep_cmd_probes(unsigned cmd);
/* Every command, for tests and fuzzers. */
const uint16_t *sa_ep_commands(size_t *n);

/* ---- framing ------------------------------------------------------------- */

typedef struct sa_ep_frame_hdr {
	uint32_t len; /* 4 + payload length */
	uint16_t cmd;
	uint16_t status;
} sa_ep_frame_hdr;

/* Decode the 8-byte header; the length must be 4 .. SA_EP_MAX_FRAME - 4 (else SA_ERR_RANGE). */
SA_MUST_USE sa_status sa_ep_frame_hdr_decode(const uint8_t *buf, size_t len, sa_ep_frame_hdr *out, sa_error *err);
/* A whole frame in buf (exactly): header checks, then *payload points into buf. */
SA_MUST_USE sa_status sa_ep_frame_decode(const uint8_t *buf, size_t len, sa_ep_frame_hdr *hdr,
					 const uint8_t **payload, size_t *payload_len, sa_error *err);
/* Header then payload into out (cap >= 8 + len). */
SA_MUST_USE sa_status sa_ep_frame_encode(uint16_t cmd, uint16_t status, const uint8_t *payload, size_t len,
					 uint8_t *out, size_t cap, size_t *out_len, sa_error *err);

/*
 * Blocking I/O on a stream socket: whole frames, EINTR restarted, SIGPIPE
 * avoided.  timeout_ms bounds the whole frame (< 0: no bound).  A receive
 * into buf (cap bytes; SA_EP_MAX_PAYLOAD always suffices) fails with
 * SA_ERR_RANGE for a length field out of range (framing is then lost: close
 * the connection), SA_ERR_IO on errors, end of stream inside a frame and
 * timeouts.  *closed (may be NULL) is set when the peer closed the
 * connection cleanly before the first byte of a frame.
 */
SA_MUST_USE sa_status sa_ep_send(int fd, uint16_t cmd, uint16_t status, const uint8_t *payload, size_t len,
				 int timeout_ms, sa_error *err);
SA_MUST_USE sa_status sa_ep_recv(int fd, sa_ep_frame_hdr *hdr, uint8_t *buf, size_t cap, size_t *len,
				 int timeout_ms, bool *closed, sa_error *err);

/* ---- payloads ------------------------------------------------------------ */

/* One request of any command; only the fields of its command are used. */
typedef struct sa_ep_request {
	uint16_t cmd;
	uint32_t handle;        /* LAUNCH_UPDATE, LAUNCH_FINISH, SET_EXT_CERTS, DECOMMISSION, SEV_LAUNCH_* but
				 * START, SEV_ATTESTATION, SEV_GUEST_INFO */
	bool vlek;              /* EXPORT_CHAIN, EXPORT_VEK */
	uint64_t policy;        /* LAUNCH_START */
	uint8_t page_type;      /* LAUNCH_UPDATE */
	uint64_t gpa;           /* LAUNCH_UPDATE */
	const uint8_t *page;    /* LAUNCH_UPDATE: 4096 bytes or NULL */
	uint8_t host_data[32];  /* LAUNCH_FINISH */
	bool author_key_en;     /* LAUNCH_FINISH */
	const uint8_t *id_block;/* LAUNCH_FINISH: 0x60 bytes or NULL (then id_auth is NULL too) */
	const uint8_t *id_auth; /* LAUNCH_FINISH: 0x1000 bytes */
	const uint8_t *data;    /* SET_EXT_CERTS: the table; GUEST_REQUEST, EXT_GUEST_REQUEST: the message */
	size_t data_len;
	uint64_t tcb;           /* SET_CONFIG: reported; UPDATE_FIRMWARE: current */
	bool mask_chip_id, mask_chip_key; /* SET_CONFIG */
	sa_fw_version fw;       /* UPDATE_FIRMWARE */
	char csp_id[SA_EP_CSP_ID_MAX + 1]; /* VLEK_LOAD */
	uint32_t cert_pages;    /* EXT_GUEST_REQUEST */
	uint8_t vmpck_id;       /* DISABLE_VMPCK */
	/* SEV_PEK_CSR, SEV_GET_ID, SEV_LAUNCH_MEASURE, SEV_ATTESTATION: the buffer length;
	 * SEV_PDH_CERT_EXPORT: the PDH buffer length, and buf_len2 the chain's */
	uint32_t buf_len, buf_len2;
	uint32_t sev_policy;    /* SEV_LAUNCH_START */
	/* SEV_PEK_CERT_IMPORT: PEK, OCA; SEV_LAUNCH_START: GODH, session (NULL with length 0) */
	const uint8_t *cert1, *cert2;
	size_t cert1_len, cert2_len;
	const uint8_t *vmsa;    /* SEV_LAUNCH_UPDATE_VMSA: 4096 bytes */
	const uint8_t *secret_hdr; /* SEV_LAUNCH_SECRET: 0x34 bytes; data/data_len: the ciphertext,
				    * gpa: its guest address.  SEV_LAUNCH_UPDATE_DATA: data/data_len */
	uint8_t mnonce[16];     /* SEV_ATTESTATION */
} sa_ep_request;

typedef struct sa_ep_vm_info {
	uint32_t handle;
	bool busy; /* a guest process holds the channel */
	bool sev;  /* an SEV/SEV-ES guest: no guest channel (socket is ""), a 32-byte digest */
	uint8_t measurement[48];
	char socket[SA_EP_PATH_MAX + 1];
	char qmp[SA_EP_PATH_MAX + 1]; /* the VM's QMP socket */
} sa_ep_vm_info;

/* One reply of any command. */
typedef struct sa_ep_reply {
	uint16_t cmd;    /* the request's command (without SA_EP_REPLY) */
	uint16_t status; /* 0, a firmware status, or SA_EP_STATUS_DAEMON */
	/* status != 0 */
	sa_status err_code;
	char err_msg[SA_ERROR_MSG_MAX];
	/* STATUS */
	sa_emu_status platform;
	uint32_t pid;
	uint32_t channels;
	/* LAUNCH_START, LAUNCH_FINISH, HELLO */
	uint32_t handle;
	/* LAUNCH_FINISH */
	uint8_t measurement[48];
	char socket[SA_EP_PATH_MAX + 1];
	/* EXPORT_*: the blob; HELLO: the secrets page; GUEST_REQUEST, EXT_GUEST_REQUEST: the response */
	const uint8_t *data;
	size_t data_len;
	/* GUEST_REQUEST, EXT_GUEST_REQUEST */
	uint32_t fw_error, vmm_error;
	uint32_t pages_needed; /* EXT_GUEST_REQUEST */
	const uint8_t *certs;  /* EXT_GUEST_REQUEST */
	size_t certs_len;
	/* status SA_FW_INVALID_LENGTH of a probing command: the lengths needed (needed2: the chain) */
	uint32_t needed, needed2;
	/* SEV_PLATFORM_STATUS */
	sa_sev_platform_status sev_status;
	/* SEV_PEK_CSR, SEV_GET_ID, SEV_LAUNCH_MEASURE, SEV_ATTESTATION: data/data_len;
	 * SEV_PDH_CERT_EXPORT: data = PDH, certs = chain; SEV_EXPORT_AMD: data = ARK, certs = ASK, and: */
	const uint8_t *cek; /* SEV_EXPORT_AMD: 0x824 bytes */
	/* SEV_LAUNCH_FINISH: the QMP socket */
	char qmp[SA_EP_PATH_MAX + 1];
	/* SEV_GUEST_INFO */
	sa_emu_sev_guest_info sev_guest;
	/* VM_LIST */
	uint32_t vm_total;
	size_t n_vms;
	sa_ep_vm_info vms[SA_EP_MAX_VMS];
} sa_ep_reply;

/*
 * Codecs.  Decoders take exactly the payload (SA_ERR_TRUNCATED when short,
 * SA_ERR_TRAILING when long), check every reserved field and flag bit, and
 * point data/page/certs... into buf (no copies).  Unknown commands are
 * SA_ERR_UNSUPPORTED, except in a reply with a non-zero status, whose error
 * body is the same for every command.  Encoders refuse what the decoders
 * would refuse.
 */
SA_MUST_USE sa_status sa_ep_request_decode(uint16_t cmd, const uint8_t *buf, size_t len, sa_ep_request *out,
					   sa_error *err);
SA_MUST_USE sa_status sa_ep_request_encode(const sa_ep_request *r, uint8_t *out, size_t cap, size_t *out_len,
					   sa_error *err);
SA_MUST_USE sa_status sa_ep_reply_decode(uint16_t cmd, uint16_t status, const uint8_t *buf, size_t len,
					 sa_ep_reply *out, sa_error *err);
SA_MUST_USE sa_status sa_ep_reply_encode(const sa_ep_reply *r, uint8_t *out, size_t cap, size_t *out_len,
					 sa_error *err);

/* The firmware-style status for a request that failed to decode (INVALID_LENGTH, INVALID_PARAM...). */
uint16_t sa_ep_decode_status(uint16_t cmd, sa_status decode_error);

/* secrets page guest-OS area: msg_seqno_N (u32 at 0xA0 + 4N) */
#define SA_SECRETS_SEQNO_OFFSET 0xA0

#ifdef __cplusplus
}
#endif
#endif
