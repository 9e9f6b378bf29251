/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest backends that talk to a real Linux kernel.
 *
 * sev-guest  /dev/sev-guest (drivers/virt/coco/sev-guest): the ioctls
 *            SNP_GET_REPORT, SNP_GET_EXT_REPORT and SNP_GET_DERIVED_KEY with
 *            the uapi structures of <linux/sev-guest.h>.  The kernel seals
 *            the guest message with the VMPCK and hands back the decrypted
 *            response payload (MSG_REPORT_RSP / MSG_KEY_RSP), which this file
 *            decodes like any other untrusted bytes.
 * tsm        configfs-tsm (Documentation/ABI/testing/configfs-tsm-report):
 *            one instance directory per request; inblob and privlevel are
 *            written, outblob (the bare report) and auxblob (the host's
 *            certificate table) are read, and the generation counter proves
 *            that no other writer changed the instance in between.
 *
 * Both decode what the kernel returns through the bounds-checked reader and
 * the guest_msg.h decoders; nothing is cast over a buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/sev-guest.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sevattest/bytes.h"
#include "sevattest/guest.h"

#include "guest_internal.h"
#include "guest_kernel_test.h"
#include "internal.h"

#if defined(__GNUC__) || defined(__clang__)
#define SA_HIDDEN __attribute__((visibility("hidden")))
#else
#define SA_HIDDEN
#endif

#define PAGE_BYTES 4096u
#define SEV_FW_BLOB_MAX 0x4000u       /* the kernel's SEV_FW_BLOB_MAX_SIZE: certs_len limit (16 KiB) */
#define CERTS_MAX (1024u * 1024u)     /* the most certificate bytes this library accepts from a host */
#define TSM_OUTBLOB_MAX (32u * 1024u) /* the kernel's TSM_OUTBLOB_MAX */
#define TSM_TEXT_MAX 64u              /* provider, privlevel_floor, generation */
#define CERT_ENTRY_SIZE 24u           /* {guid[16], u32 offset, u32 length} */

/* The uapi structures are the wire payloads; the driver copies them verbatim. */
_Static_assert(sizeof(struct snp_report_req) == SA_REPORT_REQ_SIZE, "snp_report_req is MSG_REPORT_REQ");
_Static_assert(sizeof(((struct snp_report_resp *)0)->data) >= SA_REPORT_RSP_SIZE,
	       "snp_report_resp holds MSG_REPORT_RSP");
_Static_assert(sizeof(struct snp_derived_key_req) == SA_KEY_REQ_SIZE, "snp_derived_key_req is MSG_KEY_REQ");
_Static_assert(sizeof(((struct snp_derived_key_resp *)0)->data) == SA_KEY_RSP_SIZE,
	       "snp_derived_key_resp is MSG_KEY_RSP");
_Static_assert(offsetof(struct snp_guest_request_ioctl, exitinfo2) == 24, "exitinfo2 at 24");
_Static_assert(offsetof(struct snp_ext_report_req, certs_address) == 96, "certs_address at 96");

/* ---- test seams (guest_kernel_test.h) ----------------------------------- */

static int sys_ioctl(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

static sa_guest_ioctl_fn guest_ioctl = sys_ioctl;
static sa_guest_tsm_hook_fn tsm_hook;
static void *tsm_hook_ctx;

SA_HIDDEN void sa_guest_kernel_set_ioctl(sa_guest_ioctl_fn fn) { guest_ioctl = fn ? fn : sys_ioctl; }

SA_HIDDEN void sa_guest_kernel_set_tsm_hook(sa_guest_tsm_hook_fn fn, void *ctx)
{
	tsm_hook = fn;
	tsm_hook_ctx = fn ? ctx : NULL;
}

static int tsm_event(const char *instance, const char *attr, sa_tsm_event ev)
{
	return tsm_hook ? tsm_hook(tsm_hook_ctx, instance, attr, ev) : 0;
}

/* ---- shared helpers ------------------------------------------------------ */

static const char *vmm_error_name(uint32_t v)
{
	switch (v) {
	case 0: return "none";
	case SA_VMM_ERR_INVALID_LEN: return "INVALID_LEN";
	case SA_VMM_ERR_BUSY: return "BUSY";
	}
	return "unknown";
}

/* How a firmware status maps onto the library's codes (the emulator uses the same split). */
static sa_status fw_status_code(uint32_t fw)
{
	switch (fw) {
	case SA_FW_INVALID_PARAM:
	case SA_FW_INVALID_LENGTH:
	case SA_FW_INVALID_ADDRESS:
	case SA_FW_INVALID_KEY: return SA_ERR_ARG;
	case SA_FW_INVALID_PLATFORM_STATE:
	case SA_FW_INVALID_GUEST_STATE:
	case SA_FW_INVALID_GUEST:
	case SA_FW_INACTIVE: return SA_ERR_STATE;
	case SA_FW_BAD_SIGNATURE:
	case SA_FW_BAD_MEASUREMENT: return SA_ERR_VERIFY;
	case SA_FW_UNSUPPORTED: return SA_ERR_UNSUPPORTED;
	}
	return SA_ERR_IO;
}

static const char *fw_status_hint(uint32_t fw)
{
	switch (fw) {
	case SA_FW_INVALID_PARAM: return " (e.g. a VMPL below the guest's own)";
	case SA_FW_INVALID_KEY: return " (e.g. KEY_SEL asked for a VLEK the platform does not have)";
	}
	return "";
}

/*
 * Keep the certificate table only up to its extent: the table with its zero
 * terminator and every blob it names.  sa_cert_table_decode has checked that
 * each blob lies inside buf.  An empty table gives *certs NULL, length 0.
 */
static sa_status trim_cert_table(const uint8_t *buf, size_t len, const char *what, uint8_t **certs,
				 size_t *certs_len, sa_error *err)
{
	*certs = NULL;
	*certs_len = 0;
	if (len == 0)
		return SA_OK;
	sa_cert_table t;
	sa_status st = sa_cert_table_decode(buf, len, &t, err);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s: the host's certificate table", what);
	if (t.n == 0)
		return SA_OK;
	size_t extent = (t.n + 1) * CERT_ENTRY_SIZE;
	for (size_t i = 0; i < t.n; i++) {
		if (!t.e[i].data || t.e[i].len == 0)
			continue;
		size_t end = (size_t)(t.e[i].data - buf) + t.e[i].len;
		if (end > extent)
			extent = end;
	}
	SA_ENSURE(extent <= len, err, SA_ERR_STATE, "%s: certificate table extent %zu beyond its %zu bytes", what,
		  extent, len);
	*certs = malloc(extent);
	SA_ENSURE(*certs, err, SA_ERR_NOMEM, "%s: out of memory for %zu bytes of certificates", what, extent);
	memcpy(*certs, buf, extent);
	*certs_len = extent;
	return SA_OK;
}

/* ======================================================================== */
/* sev-guest                                                                */
/* ======================================================================== */

struct sev_impl {
	int fd;
};

/* The outcome of one ioctl, after any busy retries. */
struct sev_call {
	int err_no;          /* 0 on success */
	uint64_t exitinfo2;  /* the host's answer; only meaningful with EIO */
	unsigned busy_retries;
	uint64_t busy_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Issue one request.  Current kernels retry a busy host themselves (2 s
 * apart, for up to 60 s, then ETIMEDOUT); should a kernel hand BUSY back,
 * resend for at most busy_timeout_ms, never forever.
 */
static void sev_call(sa_guest *g, unsigned long nr, void *req, void *resp, struct sev_call *c)
{
	const struct sev_impl *s = g->impl;
	uint64_t start = now_ms();
	memset(c, 0, sizeof(*c));
	for (;;) {
		struct snp_guest_request_ioctl io;
		memset(&io, 0, sizeof(io));
		io.msg_version = 1;
		io.req_data = (uint64_t)(uintptr_t)req;
		io.resp_data = (uint64_t)(uintptr_t)resp;
		/* exitinfo2 starts at 0; the driver presets its own "no firmware call" value. */
		if (guest_ioctl(s->fd, nr, &io) == 0) {
			c->err_no = 0;
			g->last_fw_error = 0;
			g->last_vmm_error = 0;
			return;
		}
		c->err_no = errno;
		/* Only EIO carries the host's answer: older kernels wrote back garbage otherwise. */
		c->exitinfo2 = c->err_no == EIO ? io.exitinfo2 : 0;
		g->last_fw_error = (uint32_t)c->exitinfo2;
		g->last_vmm_error = (uint32_t)(c->exitinfo2 >> 32);
		c->busy_ms = now_ms() - start;
		if (c->err_no != EIO || g->last_vmm_error != SA_VMM_ERR_BUSY)
			return;
		if (c->busy_ms + g->busy_interval_ms > g->busy_timeout_ms)
			return;
		sa_guest_sleep_ms(g->busy_interval_ms);
		c->busy_retries++;
	}
}

static sa_status sev_call_error(const sa_guest *g, const char *what, const struct sev_call *c, sa_error *err)
{
	uint32_t fw = (uint32_t)c->exitinfo2, vmm = (uint32_t)(c->exitinfo2 >> 32);
	switch (c->err_no) {
	case ENOTTY:
		return sa_error_set(err, SA_ERR_STATE,
				    "%s: %s answers ENOTTY: the kernel disabled the VMPCK after an earlier failed "
				    "request (so that AES-GCM never reuses an IV) and refuses every request until the "
				    "guest reboots; reboot the guest (or %s is not the sev-guest device)",
				    what, g->dev_path, g->dev_path);
	case ETIMEDOUT:
		return sa_error_set(err, SA_ERR_IO,
				    "%s: the host stayed busy past the kernel's 60 s retry limit (ETIMEDOUT); try "
				    "again later",
				    what);
	case EINVAL:
		return sa_error_set(err, SA_ERR_ARG,
				    "%s: the kernel refused the request as malformed (EINVAL; msg_version 1, "
				    "reserved fields zero, certs_len page-aligned and at most %u bytes)",
				    what, SEV_FW_BLOB_MAX);
	case EACCES:
	case EPERM:
		return sa_error_set(err, SA_ERR_IO, "%s: %s: %s", what, g->dev_path, strerror(c->err_no));
	case EIO:
		if (c->exitinfo2 == 0xff || c->exitinfo2 == UINT64_MAX)
			return sa_error_set(err, SA_ERR_IO,
					    "%s: EIO before the request reached the firmware (exitinfo2 0x%llx: no "
					    "firmware call)",
					    what, (unsigned long long)c->exitinfo2);
		if (vmm == SA_VMM_ERR_BUSY)
			return sa_error_set(err, SA_ERR_IO,
					    "%s: the host stayed busy (VMM error %u BUSY) for %llu ms over %u retries "
					    "(busy_timeout_ms %u); try again later",
					    what, vmm, (unsigned long long)c->busy_ms, c->busy_retries,
					    g->busy_timeout_ms);
		if (vmm != 0)
			return sa_error_set(err, SA_ERR_IO,
					    "%s: the host refused the request: VMM error %u (%s), firmware error "
					    "0x%x (%s)",
					    what, vmm, vmm_error_name(vmm), fw, sa_fw_status_name(fw));
		return sa_error_set(err, fw_status_code(fw),
				    "%s: the firmware refused the request: firmware error 0x%x (%s)%s, VMM error 0 "
				    "(none)",
				    what, fw, sa_fw_status_name(fw), fw_status_hint(fw));
	}
	return sa_error_set(err, SA_ERR_IO, "%s on %s: %s", what, g->dev_path, strerror(c->err_no));
}

/* resp holds MSG_REPORT_RSP in its first SA_REPORT_RSP_SIZE bytes (the rest of the 4000 is unused). */
static sa_status decode_report_rsp(sa_guest *g, const uint8_t *buf, size_t len, uint8_t report[SA_SNP_REPORT_SIZE],
				   sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	uint32_t status, size;
	SA_TRY(sa_read_u32(&r, &status, "MSG_REPORT_RSP STATUS", err));
	SA_TRY(sa_read_u32(&r, &size, "MSG_REPORT_RSP REPORT_SIZE", err));
	if (status != SA_FW_SUCCESS) {
		g->last_fw_error = status;
		return sa_error_set(err, fw_status_code(status),
				    "sev-guest report: MSG_REPORT_RSP STATUS is 0x%x (%s)%s, expected 0 (SUCCESS)",
				    status, sa_fw_status_name(status), fw_status_hint(status));
	}
	SA_ENSURE(size == SA_SNP_REPORT_SIZE, err, SA_ERR_FORMAT,
		  "sev-guest report: MSG_REPORT_RSP REPORT_SIZE is %u, expected %d (0x%X)", size, SA_SNP_REPORT_SIZE,
		  SA_SNP_REPORT_SIZE);
	SA_ENSURE(len >= SA_REPORT_RSP_SIZE, err, SA_ERR_TRUNCATED,
		  "sev-guest report: response of %zu bytes, MSG_REPORT_RSP needs %d", len, SA_REPORT_RSP_SIZE);
	sa_report_rsp rsp;
	SA_TRY(sa_report_rsp_decode(buf, SA_REPORT_RSP_SIZE, &rsp, err));
	memcpy(report, rsp.report, SA_SNP_REPORT_SIZE);
	return SA_OK;
}

static void *page_alloc(size_t n)
{
	void *p = aligned_alloc(PAGE_BYTES, n);
	if (p)
		memset(p, 0, n);
	return p;
}

/*
 * SNP_GET_EXT_REPORT: offer a 16 KiB certificate buffer; when the host needs
 * more it answers VMM error INVALID_LEN and the kernel writes the size it
 * asked for into certs_len.  Grow once to that size and ask again.
 */
static sa_status sev_ext_report(sa_guest *g, const uint8_t wire[SA_REPORT_REQ_SIZE], struct snp_report_resp *resp,
				uint8_t report[SA_SNP_REPORT_SIZE], uint8_t **certs, size_t *certs_len, sa_error *err)
{
	static const char what[] = "SNP_GET_EXT_REPORT";
	size_t cap = SEV_FW_BLOB_MAX;
	uint8_t *buf = NULL;
	for (unsigned attempt = 0;; attempt++) {
		buf = page_alloc(cap);
		SA_ENSURE(buf, err, SA_ERR_NOMEM, "%s: out of memory for a %zu-byte certificate buffer", what, cap);
		struct snp_ext_report_req x;
		memset(&x, 0, sizeof(x));
		memcpy(&x.data, wire, sizeof(x.data));
		x.certs_address = (uint64_t)(uintptr_t)buf;
		x.certs_len = (uint32_t)cap;
		struct sev_call c;
		sev_call(g, SNP_GET_EXT_REPORT, &x, resp, &c);
		if (c.err_no == 0)
			break;
		free(buf);
		buf = NULL;
		bool too_small = c.err_no == EIO && (uint32_t)(c.exitinfo2 >> 32) == SA_VMM_ERR_INVALID_LEN;
		if (attempt > 0 && c.err_no == EINVAL)
			return sa_error_set(err, SA_ERR_RANGE,
					    "%s: the host needs a %zu-byte certificate buffer but the kernel accepts "
					    "at most %u (SEV_FW_BLOB_MAX_SIZE, EINVAL)",
					    what, cap, SEV_FW_BLOB_MAX);
		if (!too_small)
			return sev_call_error(g, what, &c, err);
		SA_ENSURE(attempt == 0, err, SA_ERR_IO,
			  "%s: the host still answers VMM error 1 (INVALID_LEN) with a %zu-byte certificate buffer, "
			  "the size it asked for",
			  what, cap);
		size_t need = x.certs_len;
		SA_ENSURE(need > cap, err, SA_ERR_FORMAT,
			  "%s: the host answered VMM error 1 (INVALID_LEN) to a %zu-byte certificate buffer but asks "
			  "for %zu bytes, expected more",
			  what, cap, need);
		SA_ENSURE(need <= CERTS_MAX, err, SA_ERR_RANGE,
			  "%s: the host asks for a %zu-byte certificate buffer, expected at most %u", what, need,
			  CERTS_MAX);
		cap = (need + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
	}
	sa_status st = decode_report_rsp(g, resp->data, sizeof(resp->data), report, err);
	if (st == SA_OK)
		st = trim_cert_table(buf, cap, what, certs, certs_len, err);
	free(buf);
	return st;
}

static sa_status sev_report(sa_guest *g, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE],
			    uint8_t **certs, size_t *certs_len, sa_error *err)
{
	uint8_t wire[SA_REPORT_REQ_SIZE];
	SA_TRY(sa_report_req_encode(req, wire, err));
	struct snp_report_resp resp;
	memset(&resp, 0, sizeof(resp));
	if (certs)
		return sev_ext_report(g, wire, &resp, report, certs, certs_len, err);
	/* snp_report_req is MSG_REPORT_REQ byte for byte: KEY_SEL sits in the uapi's rsvd[0..3]. */
	struct snp_report_req kreq;
	memcpy(&kreq, wire, sizeof(kreq));
	struct sev_call c;
	sev_call(g, SNP_GET_REPORT, &kreq, &resp, &c);
	if (c.err_no)
		return sev_call_error(g, "SNP_GET_REPORT", &c, err);
	return decode_report_rsp(g, resp.data, sizeof(resp.data), report, err);
}

static sa_status decode_key_rsp(sa_guest *g, const uint8_t *buf, size_t len, uint8_t key[32], sa_error *err)
{
	sa_reader r;
	sa_reader_init(&r, buf, len);
	uint32_t status;
	SA_TRY(sa_read_u32(&r, &status, "MSG_KEY_RSP STATUS", err));
	if (status != SA_FW_SUCCESS) {
		g->last_fw_error = status;
		return sa_error_set(err, fw_status_code(status),
				    "sev-guest derived key: MSG_KEY_RSP STATUS is 0x%x (%s)%s, expected 0 (SUCCESS)",
				    status, sa_fw_status_name(status), fw_status_hint(status));
	}
	sa_key_rsp rsp;
	sa_status st = sa_key_rsp_decode(buf, len, &rsp, err);
	if (st == SA_OK)
		memcpy(key, rsp.derived_key, sizeof(rsp.derived_key));
	OPENSSL_cleanse(&rsp, sizeof(rsp));
	return st;
}

static sa_status sev_derived_key(sa_guest *g, const sa_key_req *req, uint8_t key[32], sa_error *err)
{
	SA_ENSURE(!req->has_launch_mit_vector, err, SA_ERR_UNSUPPORTED,
		  "SNP_GET_DERIVED_KEY: the kernel's snp_derived_key_req has no LAUNCH_MIT_VECTOR (MSG_KEY_REQ of "
		  "%d bytes); ask without it",
		  SA_KEY_REQ_SIZE_MIT);
	uint8_t wire[SA_KEY_REQ_SIZE_MIT];
	size_t n = 0;
	SA_TRY(sa_key_req_encode(req, wire, sizeof(wire), &n, err));
	SA_ENSURE(n == SA_KEY_REQ_SIZE, err, SA_ERR_STATE,
		  "SNP_GET_DERIVED_KEY: MSG_KEY_REQ encoded to %zu bytes, expected %d", n, SA_KEY_REQ_SIZE);
	struct snp_derived_key_req kreq;
	memcpy(&kreq, wire, sizeof(kreq));
	struct snp_derived_key_resp kresp;
	memset(&kresp, 0, sizeof(kresp));
	struct sev_call c;
	sev_call(g, SNP_GET_DERIVED_KEY, &kreq, &kresp, &c);
	sa_status st;
	if (c.err_no)
		st = sev_call_error(g, "SNP_GET_DERIVED_KEY", &c, err);
	else
		st = decode_key_rsp(g, kresp.data, sizeof(kresp.data), key, err);
	OPENSSL_cleanse(&kresp, sizeof(kresp));
	return st;
}

static void sev_close(sa_guest *g)
{
	struct sev_impl *s = g->impl;
	if (s) {
		close(s->fd);
		free(s);
	}
	g->impl = NULL;
}

static const struct sa_guest_ops sev_ops = {
	.report = sev_report,
	.derived_key = sev_derived_key,
	.close = sev_close,
};

sa_status sa_guest_open_sev_guest(sa_guest *g, sa_error *err)
{
	g->impl = NULL;
	int fd = open(g->dev_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return sa_error_set(err, SA_ERR_NOT_FOUND,
					    "sev-guest: %s does not exist: this is not an SEV-SNP guest or the "
					    "sev-guest driver is not loaded (modprobe sev-guest); on the emulated "
					    "platform pass --backend emu:SOCKET",
					    g->dev_path);
		if (e == EACCES || e == EPERM)
			return sa_error_set(err, SA_ERR_IO,
					    "sev-guest: cannot open %s read-write: %s (needs root or write access to "
					    "the device)",
					    g->dev_path, strerror(e));
		return sa_error_set(err, SA_ERR_IO, "sev-guest: cannot open %s: %s", g->dev_path, strerror(e));
	}
	struct sev_impl *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return sa_error_set(err, SA_ERR_NOMEM, "sev-guest: out of memory");
	}
	s->fd = fd;
	g->impl = s;
	g->ops = &sev_ops;
	return SA_OK;
}

/* ======================================================================== */
/* configfs-tsm                                                             */
/* ======================================================================== */

struct tsm_instance {
	char dir[PATH_MAX];
	uint64_t writes; /* successful attribute writes: what generation must read */
};

/* Set when another writer changed the instance (generation moved, or EBUSY): worth one retry. */
struct tsm_race {
	bool raced;
};

static sa_status attr_path(const struct tsm_instance *t, const char *attr, char *out, size_t cap, sa_error *err)
{
	int n = snprintf(out, cap, "%s/%s", t->dir, attr);
	SA_ENSURE(n > 0 && (size_t)n < cap, err, SA_ERR_RANGE, "configfs-tsm: path %s/%s too long", t->dir, attr);
	return SA_OK;
}

static sa_status tsm_errno_error(const struct tsm_instance *t, const char *attr, int e, struct tsm_race *race,
				 sa_error *err)
{
	switch (e) {
	case EINVAL:
		return sa_error_set(err, SA_ERR_ARG,
				    "configfs-tsm %s/%s: the platform refused the request (EINVAL: firmware status "
				    "INVALID_PARAM or INVALID_KEY, e.g. a VMPL below the guest's own)",
				    t->dir, attr);
	case ENXIO:
		return sa_error_set(err, SA_ERR_IO,
				    "configfs-tsm %s/%s: the firmware failed the request (ENXIO: a firmware error "
				    "other than INVALID_PARAM/INVALID_KEY)",
				    t->dir, attr);
	case EBUSY:
		race->raced = true;
		return sa_error_set(err, SA_ERR_STATE,
				    "configfs-tsm %s/%s: EBUSY: another writer changed the instance while it was read",
				    t->dir, attr);
	case EFBIG:
		return sa_error_set(err, SA_ERR_RANGE,
				    "configfs-tsm %s/%s: the blob exceeds the kernel's limit (EFBIG)", t->dir, attr);
	case ENOTTY:
		return sa_error_set(err, SA_ERR_STATE,
				    "configfs-tsm %s/%s: ENOTTY: the kernel disabled the VMPCK after an earlier failed "
				    "request; reboot the guest",
				    t->dir, attr);
	case ETIMEDOUT:
		return sa_error_set(err, SA_ERR_IO,
				    "configfs-tsm %s/%s: the host stayed busy past the kernel's 60 s retry limit "
				    "(ETIMEDOUT); try again later",
				    t->dir, attr);
	case ENOENT:
		return sa_error_set(err, SA_ERR_UNSUPPORTED,
				    "configfs-tsm %s: no attribute \"%s\" (needs Linux 6.7 or later)", t->dir, attr);
	}
	return sa_error_set(err, SA_ERR_IO, "configfs-tsm %s/%s: %s", t->dir, attr, strerror(e));
}

/* Read attr to its end, at most max bytes, into a malloc'ed buffer (configfs generates it on the first read). */
static sa_status tsm_read(const struct tsm_instance *t, const char *attr, size_t max, uint8_t **out, size_t *len,
			  struct tsm_race *race, sa_error *err)
{
	*out = NULL;
	*len = 0;
	char path[PATH_MAX];
	SA_TRY(attr_path(t, attr, path, sizeof(path), err));
	int injected = tsm_event(t->dir, attr, SA_TSM_EV_READ);
	if (injected)
		return tsm_errno_error(t, attr, injected, race, err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tsm_errno_error(t, attr, errno, race, err);
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return sa_error_set(err, SA_ERR_NOMEM, "configfs-tsm %s: out of memory", attr);
	}
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(buf);
				close(fd);
				return sa_error_set(err, SA_ERR_RANGE, "configfs-tsm %s/%s: more than %zu bytes",
						    t->dir, attr, max);
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return sa_error_set(err, SA_ERR_NOMEM, "configfs-tsm %s: out of memory", attr);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return tsm_errno_error(t, attr, e, race, err);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(buf);
		return sa_error_set(err, SA_ERR_RANGE, "configfs-tsm %s/%s: %zu bytes, expected at most %zu", t->dir,
				    attr, n, max);
	}
	*out = buf;
	*len = n;
	return SA_OK;
}

/* configfs applies a write when the file is closed, so the close is checked too. */
static sa_status tsm_write(struct tsm_instance *t, const char *attr, const void *data, size_t len,
			   struct tsm_race *race, sa_error *err)
{
	char path[PATH_MAX];
	SA_TRY(attr_path(t, attr, path, sizeof(path), err));
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return tsm_errno_error(t, attr, errno, race, err);
	const uint8_t *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return tsm_errno_error(t, attr, e, race, err);
		}
		off += (size_t)w;
	}
	if (close(fd) != 0)
		return tsm_errno_error(t, attr, errno, race, err);
	t->writes++;
	(void)tsm_event(t->dir, attr, SA_TSM_EV_WROTE);
	return SA_OK;
}

/* Quote untrusted attribute text for a message: printable ASCII, others as \xNN, at most ~40 bytes. */
static void quote_text(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap && i < 40; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
	}
	out[o] = '\0';
}

/* An ASCII decimal attribute: digits, then an optional newline. */
static sa_status tsm_read_uint(const struct tsm_instance *t, const char *attr, uint64_t *out, struct tsm_race *race,
			       sa_error *err)
{
	uint8_t *buf;
	size_t len;
	SA_TRY(tsm_read(t, attr, TSM_TEXT_MAX, &buf, &len, race, err));
	size_t digits = len;
	if (digits > 0 && buf[digits - 1] == '\n')
		digits--;
	uint64_t v = 0;
	bool ok = digits > 0 && digits <= 20;
	for (size_t i = 0; ok && i < digits; i++) {
		unsigned d = (unsigned)buf[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			ok = false;
		else
			v = v * 10 + d;
	}
	if (!ok) {
		char q[200];
		quote_text(buf, len, q, sizeof(q));
		free(buf);
		return sa_error_set(err, SA_ERR_FORMAT, "configfs-tsm %s/%s is \"%s\", expected a decimal number",
				    t->dir, attr, q);
	}
	free(buf);
	*out = v;
	return SA_OK;
}

static sa_status tsm_check_provider(const struct tsm_instance *t, struct tsm_race *race, sa_error *err)
{
	static const char want[] = "sev_guest\n";
	uint8_t *buf;
	size_t len;
	SA_TRY(tsm_read(t, "provider", TSM_TEXT_MAX, &buf, &len, race, err));
	bool ok = len == strlen(want) && memcmp(buf, want, len) == 0;
	char q[200];
	quote_text(buf, len > 0 && buf[len - 1] == '\n' ? len - 1 : len, q, sizeof(q));
	free(buf);
	SA_ENSURE(ok, err, SA_ERR_UNSUPPORTED,
		  "configfs-tsm provider is \"%s\", expected \"sev_guest\" (this guest's TSM is not AMD SEV-SNP)", q);
	return SA_OK;
}

/* Require generation == the writes made so far: otherwise another writer used this instance. */
static sa_status tsm_check_generation(const struct tsm_instance *t, uint64_t expected, const char *when,
				      struct tsm_race *race, sa_error *err)
{
	uint64_t gen;
	SA_TRY(tsm_read_uint(t, "generation", &gen, race, err));
	if (gen == expected)
		return SA_OK;
	race->raced = true;
	return sa_error_set(err, SA_ERR_STATE,
			    "configfs-tsm %s/generation is %llu %s, expected %llu: another writer raced this instance",
			    t->dir, (unsigned long long)gen, when, (unsigned long long)expected);
}

/* One request on a fresh instance: provider, floor, writes, generation, blobs, generation again. */
static sa_status tsm_exchange(struct tsm_instance *t, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE],
			      uint8_t **certs, size_t *certs_len, struct tsm_race *race, sa_error *err)
{
	SA_TRY(tsm_check_provider(t, race, err));

	uint64_t floor;
	SA_TRY(tsm_read_uint(t, "privlevel_floor", &floor, race, err));
	SA_ENSURE(floor <= 3, err, SA_ERR_FORMAT, "configfs-tsm %s/privlevel_floor is %llu, expected 0..3", t->dir,
		  (unsigned long long)floor);
	SA_ENSURE(req->vmpl >= floor, err, SA_ERR_ARG,
		  "configfs-tsm: VMPL %u is below this guest's privlevel_floor %llu (the VMPCK in use); ask for VMPL "
		  "%llu..3",
		  req->vmpl, (unsigned long long)floor, (unsigned long long)floor);

	/* sev_guest takes exactly 64 bytes of inblob (REPORT_DATA) and privlevel as ASCII decimal. */
	SA_TRY(tsm_write(t, "inblob", req->report_data, sizeof(req->report_data), race, err));
	char lvl[16];
	int n = snprintf(lvl, sizeof(lvl), "%u\n", req->vmpl);
	SA_TRY(tsm_write(t, "privlevel", lvl, (size_t)n, race, err));

	uint64_t writes = t->writes;
	SA_TRY(tsm_check_generation(t, writes, "before outblob was read", race, err));

	uint8_t *out;
	size_t out_len;
	SA_TRY(tsm_read(t, "outblob", TSM_OUTBLOB_MAX, &out, &out_len, race, err));
	if (out_len != SA_SNP_REPORT_SIZE) {
		free(out);
		return sa_error_set(err, SA_ERR_FORMAT, "configfs-tsm %s/outblob is %zu bytes, expected %d (0x%X)",
				    t->dir, out_len, SA_SNP_REPORT_SIZE, SA_SNP_REPORT_SIZE);
	}
	/* The report must answer this request (the generation checks should make this hold). */
	sa_snp_report rep;
	sa_status st = sa_snp_report_decode(out, out_len, &rep, err);
	if (st != SA_OK) {
		free(out);
		return sa_error_wrap(err, st, "configfs-tsm %s/outblob", t->dir);
	}
	if (memcmp(rep.report_data, req->report_data, sizeof(rep.report_data)) != 0 || rep.vmpl != req->vmpl) {
		free(out);
		return sa_error_set(err, SA_ERR_STATE,
				    "configfs-tsm %s/outblob answers another request (REPORT_DATA or VMPL %u, expected "
				    "VMPL %u and the inblob written)",
				    t->dir, rep.vmpl, req->vmpl);
	}

	uint8_t *aux = NULL;
	size_t aux_len = 0;
	if (certs) {
		st = tsm_read(t, "auxblob", CERTS_MAX, &aux, &aux_len, race, err);
		if (st != SA_OK) {
			free(out);
			return st;
		}
	}
	st = tsm_check_generation(t, writes, "after the blobs were read", race, err);
	if (st == SA_OK && certs)
		st = trim_cert_table(aux, aux_len, "configfs-tsm auxblob", certs, certs_len, err);
	if (st == SA_OK)
		memcpy(report, out, SA_SNP_REPORT_SIZE);
	free(aux);
	free(out);
	return st;
}

static sa_status tsm_attempt(sa_guest *g, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE],
			     uint8_t **certs, size_t *certs_len, struct tsm_race *race, sa_error *err)
{
	struct tsm_instance t;
	memset(&t, 0, sizeof(t));
	uint8_t rnd[8];
	SA_ENSURE(RAND_bytes(rnd, sizeof(rnd)) == 1, err, SA_ERR_CRYPTO,
		  "configfs-tsm: no random bytes for the instance name");
	int n = snprintf(t.dir, sizeof(t.dir), "%s/sevattest-%ld-%02x%02x%02x%02x%02x%02x%02x%02x", g->tsm_path,
			 (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	SA_ENSURE(n > 0 && (size_t)n < sizeof(t.dir), err, SA_ERR_RANGE, "configfs-tsm: path %s too long",
		  g->tsm_path);
	if (mkdir(t.dir, 0700) != 0) {
		int e = errno;
		if (e == ENOENT)
			return sa_error_set(err, SA_ERR_NOT_FOUND,
					    "configfs-tsm: %s does not exist (needs Linux 6.7 or later with "
					    "CONFIG_TSM_REPORTS and configfs mounted)",
					    g->tsm_path);
		return sa_error_set(err, SA_ERR_IO, "configfs-tsm: cannot create the instance %s: %s%s", t.dir,
				    strerror(e), e == EACCES || e == EPERM ? " (needs root)" : "");
	}
	(void)tsm_event(t.dir, NULL, SA_TSM_EV_MKDIR);

	uint8_t *c = NULL;
	size_t c_len = 0;
	sa_status st = tsm_exchange(&t, req, report, certs ? &c : NULL, &c_len, race, err);

	/* Every instance is released, whatever happened above. */
	(void)tsm_event(t.dir, NULL, SA_TSM_EV_RMDIR);
	if (rmdir(t.dir) != 0 && st == SA_OK)
		st = sa_error_set(err, SA_ERR_IO, "configfs-tsm: cannot remove the instance %s: %s", t.dir,
				  strerror(errno));
	if (st != SA_OK) {
		free(c);
		return st;
	}
	if (certs) {
		*certs = c;
		*certs_len = c_len;
	}
	return SA_OK;
}

static sa_status tsm_report(sa_guest *g, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE],
			    uint8_t **certs, size_t *certs_len, sa_error *err)
{
	SA_ENSURE(req->key_sel == 0, err, SA_ERR_UNSUPPORTED,
		  "configfs-tsm: KEY_SEL %u cannot be requested (the kernel always asks for the platform's choice); "
		  "use KEY_SEL 0 or the sev-guest backend",
		  req->key_sel);
	struct tsm_race race = {false};
	sa_status st = tsm_attempt(g, req, report, certs, certs_len, &race, err);
	if (st == SA_OK || !race.raced)
		return st;
	/* Another writer raced the first instance: try once more from a fresh one. */
	race.raced = false;
	st = tsm_attempt(g, req, report, certs, certs_len, &race, err);
	if (st == SA_OK || !race.raced)
		return st;
	return sa_error_wrap(err, SA_ERR_STATE, "configfs-tsm: raced twice (retried once from a fresh instance)");
}

static const struct sa_guest_ops tsm_ops = {
	.report = tsm_report,
	.derived_key = NULL, /* configfs-tsm has no key interface */
	.close = NULL,
};

sa_status sa_guest_open_tsm(sa_guest *g, sa_error *err)
{
	g->impl = NULL;
	struct stat st;
	if (stat(g->tsm_path, &st) != 0) {
		int e = errno;
		if (e == ENOENT)
			return sa_error_set(err, SA_ERR_NOT_FOUND,
					    "configfs-tsm: %s does not exist (needs Linux 6.7 or later with "
					    "CONFIG_TSM_REPORTS and configfs mounted: mount -t configfs none "
					    "/sys/kernel/config)",
					    g->tsm_path);
		return sa_error_set(err, SA_ERR_IO, "configfs-tsm: %s: %s", g->tsm_path, strerror(e));
	}
	SA_ENSURE(S_ISDIR(st.st_mode), err, SA_ERR_IO, "configfs-tsm: %s is not a directory", g->tsm_path);
	g->ops = &tsm_ops;
	return SA_OK;
}
