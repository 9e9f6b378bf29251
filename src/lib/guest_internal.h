/* SPDX-License-Identifier: Apache-2.0 */
/* The seam between sa_guest (guest.c) and its backends (not installed). */
#ifndef SEVATTEST_GUEST_INTERNAL_H
#define SEVATTEST_GUEST_INTERNAL_H

#include "internal.h"

#include "sevattest/guest.h"

struct sa_guest_ops {
	/*
	 * One report.  With certs non-NULL it is an extended request: the backend
	 * fetches the host's certificate table too (malloc'ed into *certs), growing
	 * its buffer once if the host says it is too small.
	 */
	sa_status (*report)(sa_guest *g, const sa_report_req *req, uint8_t report[SA_SNP_REPORT_SIZE], uint8_t **certs,
			    size_t *certs_len, sa_error *err);
	/* NULL when the backend cannot derive keys (tsm). */
	sa_status (*derived_key)(sa_guest *g, const sa_key_req *req, uint8_t key[32], sa_error *err);
	void (*close)(sa_guest *g);
};

struct sa_guest {
	sa_guest_backend kind;
	const struct sa_guest_ops *ops;
	/* Options with defaults applied; strings are owned copies. */
	char *emu_socket, *dev_path, *tsm_path;
	uint8_t vmpck_id;
	unsigned busy_timeout_ms, busy_interval_ms;
	uint32_t last_fw_error, last_vmm_error;
	void *impl; /* the backend's state */
};

/* Backends fill g->ops and g->impl; on failure they leave g->impl NULL. */
SA_INTERNAL sa_status sa_guest_open_sev_guest(sa_guest *g, sa_error *err); /* guest_kernel.c */
SA_INTERNAL sa_status sa_guest_open_tsm(sa_guest *g, sa_error *err);       /* guest_kernel.c */
SA_INTERNAL sa_status sa_guest_open_emu(sa_guest *g, sa_error *err);       /* guest_emu.c */

/* Sleep for ms milliseconds (nanosleep, restarted on EINTR). */
SA_INTERNAL void sa_guest_sleep_ms(unsigned ms);

#endif
