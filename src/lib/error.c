/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "sevattest/error.h"

const char *sa_status_name(sa_status code)
{
	switch (code) {
	case SA_OK: return "ok";
	case SA_ERR_ARG: return "invalid-argument";
	case SA_ERR_TRUNCATED: return "truncated";
	case SA_ERR_TRAILING: return "trailing-data";
	case SA_ERR_FORMAT: return "bad-format";
	case SA_ERR_UNSUPPORTED: return "unsupported";
	case SA_ERR_RANGE: return "out-of-range";
	case SA_ERR_NOMEM: return "out-of-memory";
	case SA_ERR_IO: return "io";
	case SA_ERR_CRYPTO: return "crypto";
	case SA_ERR_NOT_FOUND: return "not-found";
	case SA_ERR_NETWORK: return "network";
	case SA_ERR_VERIFY: return "verification-failed";
	case SA_ERR_POLICY: return "policy";
	case SA_ERR_STATE: return "bad-state";
	}
	return "unknown";
}

sa_status sa_error_vset(sa_error *err, sa_status code, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

sa_status sa_error_set(sa_error *err, sa_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sa_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

sa_status sa_error_wrap(sa_error *err, sa_status code, const char *fmt, ...)
{
	if (!err)
		return code;
	char prefix[SA_ERROR_MSG_MAX];
	char old[SA_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	err->code = code;
	/* Truncation is acceptable: the message is for people. */
	size_t n = strnlen(prefix, sizeof(prefix) - 1);
	memcpy(err->msg, prefix, n);
	size_t room = sizeof(err->msg) - 1 - n;
	size_t k = room >= 2 ? 2 : room;
	memcpy(err->msg + n, ": ", k);
	n += k;
	size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
	return code;
}

void sa_error_clear(sa_error *err)
{
	if (err) {
		err->code = SA_OK;
		err->msg[0] = '\0';
	}
}
