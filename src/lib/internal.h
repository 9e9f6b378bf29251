/* SPDX-License-Identifier: Apache-2.0 */
/* Early-return helpers shared by the library's sources (not installed). */
#ifndef SEVATTEST_INTERNAL_H
#define SEVATTEST_INTERNAL_H

#include "sevattest/error.h"

/* Evaluate a call returning sa_status; return its status at once if not SA_OK. */
#define SA_TRY(expr)                                                                                               \
	do {                                                                                                       \
		sa_status sa_try_status_ = (expr);                                                                 \
		if (sa_try_status_ != SA_OK)                                                                       \
			return sa_try_status_;                                                                     \
	} while (0)

/* Return an error with a formatted message unless cond holds. */
#define SA_ENSURE(cond, err, code, ...)                                                                            \
	do {                                                                                                       \
		if (!(cond))                                                                                       \
			return sa_error_set((err), (code), __VA_ARGS__);                                           \
	} while (0)

#define SA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Library-internal functions shared between sources: not exported from the .so. */
#if defined(__GNUC__) || defined(__clang__)
#define SA_INTERNAL __attribute__((visibility("hidden")))
#else
#define SA_INTERNAL
#endif

#endif
