/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest library's front end: option parsing, backend selection, argument
 * checks and the request payloads.  Everything that touches a kernel or a
 * socket lives in a backend (guest_kernel.c: sev-guest and configfs-tsm;
 * guest_emu.c: the emulated platform), reached through g->ops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sevattest/guest.h"

#include "guest_internal.h"
#include "internal.h"

#define DEFAULT_DEV_PATH "/dev/sev-guest"
#define DEFAULT_TSM_PATH "/sys/kernel/config/tsm/report"
#define DEFAULT_BUSY_TIMEOUT_MS 60000u  /* the kernel's SNP_REQ_MAX_RETRY_DURATION */
#define DEFAULT_BUSY_INTERVAL_MS 2000u  /* the kernel's SNP_REQ_RETRY_DELAY */
#define EMU_PREFIX "emu:"
#define BACKEND_FORMS "\"auto\", \"sev-guest\", \"tsm\" or \"emu:SOCKET\""

const char *sa_guest_backend_name(sa_guest_backend b)
{
	switch (b) {
	case SA_GUEST_AUTO: return "auto";
	case SA_GUEST_SEV_GUEST: return "sev-guest";
	case SA_GUEST_TSM: return "tsm";
	case SA_GUEST_EMU: return "emu";
	}
	return "unknown";
}

sa_status sa_guest_backend_parse(const char *text, sa_guest_opts *opts, sa_error *err)
{
	SA_ENSURE(text && opts, err, SA_ERR_ARG, "--backend: no value; expected " BACKEND_FORMS);
	if (strcmp(text, "auto") == 0) {
		opts->backend = SA_GUEST_AUTO;
		return SA_OK;
	}
	if (strcmp(text, "sev-guest") == 0) {
		opts->backend = SA_GUEST_SEV_GUEST;
		return SA_OK;
	}
	if (strcmp(text, "tsm") == 0) {
		opts->backend = SA_GUEST_TSM;
		return SA_OK;
	}
	if (strncmp(text, EMU_PREFIX, strlen(EMU_PREFIX)) == 0) {
		const char *sock = text + strlen(EMU_PREFIX);
		SA_ENSURE(*sock, err, SA_ERR_ARG,
			  "--backend \"%s\": the emulated backend needs its socket, expected \"emu:SOCKET\" "
			  "(the VM's guest channel socket)",
			  text);
		opts->backend = SA_GUEST_EMU;
		opts->emu_socket = sock; /* points into text */
		return SA_OK;
	}
	if (strcmp(text, "emu") == 0)
		return sa_error_set(err, SA_ERR_ARG,
				    "--backend \"emu\": the emulated backend needs its socket, "
				    "expected \"emu:SOCKET\"");
	return sa_error_set(err, SA_ERR_ARG, "--backend \"%.64s\": unknown backend, expected " BACKEND_FORMS, text);
}

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static bool dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void guest_free(sa_guest *g)
{
	if (!g)
		return;
	free(g->emu_socket);
	free(g->dev_path);
	free(g->tsm_path);
	free(g);
}

static sa_status dup_opt(char **dst, const char *src, const char *dflt, const char *what, sa_error *err)
{
	const char *s = src && *src ? src : dflt;
	if (!s) {
		*dst = NULL;
		return SA_OK;
	}
	*dst = strdup(s);
	SA_ENSURE(*dst, err, SA_ERR_NOMEM, "guest: out of memory copying %s", what);
	return SA_OK;
}

/* AUTO: the sev-guest device if present (it can derive keys), else configfs-tsm. */
static sa_status resolve_auto(sa_guest *g, sa_error *err)
{
	if (path_exists(g->dev_path)) {
		g->kind = SA_GUEST_SEV_GUEST;
		return SA_OK;
	}
	if (dir_exists(g->tsm_path)) {
		g->kind = SA_GUEST_TSM;
		return SA_OK;
	}
	return sa_error_set(err, SA_ERR_NOT_FOUND,
			    "no SEV-SNP guest interface: neither %s (the sev-guest driver) nor configfs-tsm at %s "
			    "exists; this is not an SEV-SNP guest, or the driver is not loaded (modprobe sev-guest, "
			    "mount -t configfs none /sys/kernel/config); on the emulated platform pass --backend "
			    "emu:SOCKET",
			    g->dev_path, g->tsm_path);
}

sa_status sa_guest_open(const sa_guest_opts *opts, sa_guest **out, sa_error *err)
{
	SA_ENSURE(out, err, SA_ERR_ARG, "guest: no output pointer");
	*out = NULL;
	sa_guest_opts none;
	memset(&none, 0, sizeof(none));
	if (!opts)
		opts = &none;
	SA_ENSURE((unsigned)opts->backend <= (unsigned)SA_GUEST_EMU, err, SA_ERR_ARG,
		  "guest: backend is %d, expected one of " BACKEND_FORMS, (int)opts->backend);
	SA_ENSURE(opts->vmpck_id < SA_VMPCK_COUNT, err, SA_ERR_RANGE, "guest: vmpck_id is %u, expected 0..%d",
		  opts->vmpck_id, SA_VMPCK_COUNT - 1);
	SA_ENSURE(opts->backend != SA_GUEST_EMU || (opts->emu_socket && *opts->emu_socket), err, SA_ERR_ARG,
		  "guest: the emu backend needs the VM's guest channel socket (--backend emu:SOCKET)");

	sa_guest *g = calloc(1, sizeof(*g));
	SA_ENSURE(g, err, SA_ERR_NOMEM, "guest: out of memory");
	sa_status st = dup_opt(&g->emu_socket, opts->emu_socket, NULL, "emu_socket", err);
	if (st == SA_OK)
		st = dup_opt(&g->dev_path, opts->dev_path, DEFAULT_DEV_PATH, "dev_path", err);
	if (st == SA_OK)
		st = dup_opt(&g->tsm_path, opts->tsm_path, DEFAULT_TSM_PATH, "tsm_path", err);
	if (st != SA_OK) {
		guest_free(g);
		return st;
	}
	g->kind = opts->backend;
	g->vmpck_id = opts->vmpck_id;
	g->busy_timeout_ms = opts->busy_timeout_ms ? opts->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
	g->busy_interval_ms = opts->busy_interval_ms ? opts->busy_interval_ms : DEFAULT_BUSY_INTERVAL_MS;

	if (g->kind == SA_GUEST_AUTO)
		st = resolve_auto(g, err);
	if (st == SA_OK) {
		switch (g->kind) {
		case SA_GUEST_SEV_GUEST: st = sa_guest_open_sev_guest(g, err); break;
		case SA_GUEST_TSM: st = sa_guest_open_tsm(g, err); break;
		case SA_GUEST_EMU: st = sa_guest_open_emu(g, err); break;
		case SA_GUEST_AUTO: st = sa_error_set(err, SA_ERR_STATE, "guest: backend still \"auto\""); break;
		}
	}
	if (st == SA_OK && !g->ops)
		st = sa_error_set(err, SA_ERR_STATE, "guest: the %s backend set no operations",
				  sa_guest_backend_name(g->kind));
	if (st != SA_OK) {
		/* A failing backend leaves nothing to close (guest_internal.h). */
		guest_free(g);
		return st;
	}
	*out = g;
	return SA_OK;
}

void sa_guest_close(sa_guest *g)
{
	if (!g)
		return;
	if (g->ops && g->ops->close)
		g->ops->close(g);
	guest_free(g);
}

sa_guest_backend sa_guest_kind(const sa_guest *g) { return g ? g->kind : SA_GUEST_AUTO; }

void sa_guest_last_error(const sa_guest *g, uint32_t *fw_error, uint32_t *vmm_error)
{
	if (fw_error)
		*fw_error = g ? g->last_fw_error : 0;
	if (vmm_error)
		*vmm_error = g ? g->last_vmm_error : 0;
}

static sa_status check_report_args(const sa_guest *g, const uint8_t *report_data, uint32_t vmpl, uint32_t key_sel,
				   const uint8_t *report, sa_error *err)
{
	SA_ENSURE(g && g->ops && g->ops->report, err, SA_ERR_ARG, "guest: not open");
	SA_ENSURE(report_data, err, SA_ERR_ARG, "guest report: no report_data (64 bytes expected)");
	SA_ENSURE(report, err, SA_ERR_ARG, "guest report: no output buffer");
	SA_ENSURE(vmpl <= 3, err, SA_ERR_RANGE, "guest report: VMPL is %u, expected 0..3", vmpl);
	SA_ENSURE(key_sel <= 2, err, SA_ERR_RANGE,
		  "guest report: KEY_SEL is %u, expected 0 (platform's choice), 1 (VCEK) or 2 (VLEK)", key_sel);
	return SA_OK;
}

static void build_report_req(sa_report_req *req, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel)
{
	memset(req, 0, sizeof(*req));
	memcpy(req->report_data, report_data, sizeof(req->report_data));
	req->vmpl = vmpl;
	req->key_sel = key_sel;
}

sa_status sa_guest_get_report(sa_guest *g, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel,
			      uint8_t report[SA_SNP_REPORT_SIZE], sa_error *err)
{
	SA_TRY(check_report_args(g, report_data, vmpl, key_sel, report, err));
	sa_report_req req;
	build_report_req(&req, report_data, vmpl, key_sel);
	g->last_fw_error = 0;
	g->last_vmm_error = 0;
	return g->ops->report(g, &req, report, NULL, NULL, err);
}

sa_status sa_guest_get_ext_report(sa_guest *g, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel,
				  uint8_t report[SA_SNP_REPORT_SIZE], uint8_t **certs, size_t *certs_len, sa_error *err)
{
	SA_ENSURE(certs && certs_len, err, SA_ERR_ARG, "guest extended report: no output for the certificate table");
	*certs = NULL;
	*certs_len = 0;
	SA_TRY(check_report_args(g, report_data, vmpl, key_sel, report, err));
	sa_report_req req;
	build_report_req(&req, report_data, vmpl, key_sel);
	g->last_fw_error = 0;
	g->last_vmm_error = 0;
	sa_status st = g->ops->report(g, &req, report, certs, certs_len, err);
	if (st != SA_OK) {
		free(*certs);
		*certs = NULL;
		*certs_len = 0;
	}
	return st;
}

sa_status sa_guest_get_derived_key(sa_guest *g, const sa_key_req *req, uint8_t key[32], sa_error *err)
{
	SA_ENSURE(g && g->ops, err, SA_ERR_ARG, "guest: not open");
	SA_ENSURE(req, err, SA_ERR_ARG, "guest derived key: no request");
	SA_ENSURE(key, err, SA_ERR_ARG, "guest derived key: no output buffer");
	SA_ENSURE(g->ops->derived_key, err, SA_ERR_UNSUPPORTED,
		  "guest derived key: the %s backend cannot derive keys (configfs-tsm has no MSG_KEY_REQ); use the "
		  "sev-guest backend",
		  sa_guest_backend_name(g->kind));
	SA_ENSURE(req->root_key_select <= 1, err, SA_ERR_RANGE,
		  "guest derived key: ROOT_KEY_SELECT is %u, expected 0 (VCEK/VLEK) or 1 (VMRK)", req->root_key_select);
	SA_ENSURE(req->key_sel <= 2, err, SA_ERR_RANGE,
		  "guest derived key: KEY_SEL is %u, expected 0 (platform's choice), 1 (VCEK) or 2 (VLEK)",
		  req->key_sel);
	SA_ENSURE(req->vmpl <= 3, err, SA_ERR_RANGE, "guest derived key: VMPL is %u, expected 0..3", req->vmpl);
	SA_ENSURE((req->guest_field_select >> 7) == 0, err, SA_ERR_RANGE,
		  "guest derived key: GUEST_FIELD_SELECT is 0x%llx, expected only bits 0..6",
		  (unsigned long long)req->guest_field_select);
	g->last_fw_error = 0;
	g->last_vmm_error = 0;
	return g->ops->derived_key(g, req, key, err);
}

void sa_guest_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000u), .tv_nsec = (long)(ms % 1000u) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}
