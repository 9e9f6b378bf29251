/* SPDX-License-Identifier: Apache-2.0 */
#include "sevattest/der.h"

#include "internal.h"

sa_status sa_der_read_tlv(sa_reader *r, uint8_t *tag, sa_reader *content, const char *field, sa_error *err)
{
	uint8_t t, l0;
	SA_TRY(sa_read_u8(r, &t, field, err));
	SA_ENSURE((t & 0x1F) != 0x1F, err, SA_ERR_FORMAT, "%s: multi-byte DER tags are not supported", field);
	SA_TRY(sa_read_u8(r, &l0, field, err));
	size_t len;
	if (l0 < 0x80) {
		len = l0;
	} else {
		unsigned nbytes = l0 & 0x7F;
		SA_ENSURE(nbytes >= 1 && nbytes <= 4, err, SA_ERR_FORMAT,
			  "%s: DER length of %u bytes (expected 1 to 4; indefinite lengths are not DER)", field,
			  nbytes);
		len = 0;
		for (unsigned i = 0; i < nbytes; i++) {
			uint8_t b;
			SA_TRY(sa_read_u8(r, &b, field, err));
			SA_ENSURE(!(i == 0 && b == 0), err, SA_ERR_FORMAT, "%s: non-minimal DER length", field);
			len = len << 8 | b;
		}
		SA_ENSURE(len >= 0x80, err, SA_ERR_FORMAT, "%s: non-minimal DER length %zu", field, len);
	}
	*tag = t;
	return sa_read_sub(r, len, content, field, err);
}

sa_status sa_der_expect(sa_reader *r, uint8_t tag, sa_reader *content, const char *field, sa_error *err)
{
	uint8_t t;
	SA_TRY(sa_der_read_tlv(r, &t, content, field, err));
	SA_ENSURE(t == tag, err, SA_ERR_FORMAT, "%s: DER tag 0x%02x, expected 0x%02x", field, t, tag);
	return SA_OK;
}

sa_status sa_der_read_uint(sa_reader *r, uint64_t *out, const char *field, sa_error *err)
{
	sa_reader c;
	SA_TRY(sa_der_expect(r, SA_DER_INTEGER, &c, field, err));
	size_t n = sa_reader_remaining(&c);
	SA_ENSURE(n >= 1, err, SA_ERR_FORMAT, "%s: empty INTEGER", field);
	uint8_t first;
	SA_TRY(sa_read_u8(&c, &first, field, err));
	SA_ENSURE(!(first & 0x80), err, SA_ERR_RANGE, "%s: negative INTEGER (expected a non-negative value)",
		  field);
	if (n > 1) {
		SA_ENSURE(!(first == 0 && !(c.data[c.off] & 0x80)), err, SA_ERR_FORMAT,
			  "%s: non-minimal INTEGER encoding", field);
	}
	SA_ENSURE(n <= 8 || (n == 9 && first == 0), err, SA_ERR_RANGE, "%s: INTEGER of %zu bytes exceeds 64 bits",
		  field, n);
	uint64_t v = first;
	for (size_t i = 1; i < n; i++) {
		uint8_t b;
		SA_TRY(sa_read_u8(&c, &b, field, err));
		v = v << 8 | b;
	}
	*out = v;
	return SA_OK;
}
