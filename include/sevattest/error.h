/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors: every fallible function returns an sa_status and, when the caller
 * passes a non-NULL sa_error, fills it with the same code and a message that
 * names the field and what was expected.  Codes are stable (their names are
 * part of the JSON output and of the CLI's documented behaviour).
 */
#ifndef SEVATTEST_ERROR_H
#define SEVATTEST_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SA_MUST_USE __attribute__((warn_unused_result))
#define SA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SA_VPRINTF(a) __attribute__((format(printf, a, 0)))
#else
#define SA_MUST_USE
#define SA_PRINTF(a, b)
#define SA_VPRINTF(a)
#endif

typedef enum sa_status {
	SA_OK = 0,
	SA_ERR_ARG = 1,         /* invalid argument or usage */
	SA_ERR_TRUNCATED = 2,   /* input shorter than the structure needs */
	SA_ERR_TRAILING = 3,    /* input longer than the structure allows */
	SA_ERR_FORMAT = 4,      /* malformed encoding */
	SA_ERR_UNSUPPORTED = 5, /* version, algorithm or product not supported */
	SA_ERR_RANGE = 6,       /* value out of range or integer overflow */
	SA_ERR_NOMEM = 7,       /* allocation failed */
	SA_ERR_IO = 8,          /* file or socket I/O failed */
	SA_ERR_CRYPTO = 9,      /* the crypto library failed internally */
	SA_ERR_NOT_FOUND = 10,  /* a needed object (certificate, file) is absent */
	SA_ERR_NETWORK = 11,    /* network transfer failed */
	SA_ERR_VERIFY = 12,     /* a signature or chain did not verify */
	SA_ERR_POLICY = 13,     /* evidence is authentic but violates the policy */
	SA_ERR_STATE = 14,      /* object is in the wrong state for this call */
} sa_status;

#define SA_ERROR_MSG_MAX 512

typedef struct sa_error {
	sa_status code;
	char msg[SA_ERROR_MSG_MAX];
} sa_error;

/* Stable lowercase name of a status code, e.g. "truncated". */
const char *sa_status_name(sa_status code);

/* Set *err (if non-NULL) and return code; convenient as `return sa_error_set(...)`. */
sa_status sa_error_set(sa_error *err, sa_status code, const char *fmt, ...) SA_PRINTF(3, 4);
sa_status sa_error_vset(sa_error *err, sa_status code, const char *fmt, va_list ap) SA_VPRINTF(3);

/* Prefix the existing message with context: "context: old message". */
sa_status sa_error_wrap(sa_error *err, sa_status code, const char *fmt, ...) SA_PRINTF(3, 4);

void sa_error_clear(sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
