/* SPDX-License-Identifier: Apache-2.0 */
/* Memo of signatures already verified, so a warm verifier skips RSA work. */
#ifndef SEVATTEST_TRUST_INTERNAL_H
#define SEVATTEST_TRUST_INTERNAL_H

#include "internal.h"

#include <stdbool.h>

#include "sevattest/trust.h"

/* True if issuer's signature on child verified before (both by fingerprint). */
SA_INTERNAL bool sa_trust_memo_has(const sa_trust *t, const sa_cert *child, const sa_cert *issuer);
/* Remember a successful verification. */
SA_INTERNAL void sa_trust_memo_add(sa_trust *t, const sa_cert *child, const sa_cert *issuer);

#endif
