/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal DER reader over sa_reader, for the X.509 extension values AMD defines. */
#ifndef SEVATTEST_DER_H
#define SEVATTEST_DER_H

#include <stdint.h>

#include "sevattest/bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SA_DER_INTEGER 0x02
#define SA_DER_OCTET_STRING 0x04
#define SA_DER_UTF8STRING 0x0C
#define SA_DER_PRINTABLESTRING 0x13
#define SA_DER_IA5STRING 0x16
#define SA_DER_SEQUENCE 0x30

/* Read one TLV (single-byte tag, definite length in minimal DER form). */
SA_MUST_USE sa_status sa_der_read_tlv(sa_reader *r, uint8_t *tag, sa_reader *content, const char *field,
				      sa_error *err);
/* Read a TLV that must have the given tag. */
SA_MUST_USE sa_status sa_der_expect(sa_reader *r, uint8_t tag, sa_reader *content, const char *field,
				    sa_error *err);
/* Read a non-negative INTEGER that fits in 64 bits (minimal encoding required). */
SA_MUST_USE sa_status sa_der_read_uint(sa_reader *r, uint64_t *out, const char *field, sa_error *err);

#ifdef __cplusplus
}
#endif
#endif
