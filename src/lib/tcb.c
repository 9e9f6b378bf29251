/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/tcb.h"

#include "internal.h"

sa_tcb sa_tcb_decode(uint64_t raw, bool turin_layout)
{
	sa_tcb t = {.raw = raw, .turin_layout = turin_layout};
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(raw >> (8 * i));
	uint8_t reserved_mask;
	if (turin_layout) {
		t.fmc = b[0];
		t.bl = b[1];
		t.tee = b[2];
		t.snp = b[3];
		t.ucode = b[7];
		reserved_mask = 0x70; /* bytes 4, 5, 6 */
	} else {
		t.bl = b[0];
		t.tee = b[1];
		t.snp = b[6];
		t.ucode = b[7];
		reserved_mask = 0x3C; /* bytes 2..5 */
	}
	for (int i = 0; i < 8; i++)
		if ((reserved_mask >> i & 1) && b[i])
			t.reserved_nonzero |= (uint8_t)(1u << i);
	return t;
}

sa_tcb sa_tcb_decode_for(uint64_t raw, sa_product p) { return sa_tcb_decode(raw, sa_product_turin_layout(p)); }

uint64_t sa_tcb_encode(const sa_tcb *t)
{
	if (t->turin_layout)
		return (uint64_t)t->fmc | (uint64_t)t->bl << 8 | (uint64_t)t->tee << 16 | (uint64_t)t->snp << 24 |
		       (uint64_t)t->ucode << 56;
	return (uint64_t)t->bl | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 | (uint64_t)t->ucode << 56;
}

bool sa_tcb_at_least(const sa_tcb *a, const sa_tcb *min)
{
	if (a->bl < min->bl || a->tee < min->tee || a->snp < min->snp || a->ucode < min->ucode)
		return false;
	if (a->turin_layout && min->turin_layout && a->fmc < min->fmc)
		return false;
	return true;
}

char *sa_tcb_format(const sa_tcb *t, char *buf, size_t cap)
{
	if (t->turin_layout)
		snprintf(buf, cap, "fmc=%u bl=%u tee=%u snp=%u ucode=%u", t->fmc, t->bl, t->tee, t->snp, t->ucode);
	else
		snprintf(buf, cap, "bl=%u tee=%u snp=%u ucode=%u", t->bl, t->tee, t->snp, t->ucode);
	return buf;
}

sa_status sa_tcb_parse(const char *text, bool turin_layout, sa_tcb *out, sa_error *err)
{
	SA_ENSURE(text && *text, err, SA_ERR_ARG, "TCB: empty value (expected bl=N,tee=N,snp=N,ucode=N or 0x...)");
	if (strchr(text, '=') == NULL) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(text, &end, 0);
		SA_ENSURE(errno == 0 && *end == '\0' && text[0] != '-', err, SA_ERR_FORMAT,
			  "TCB '%s': expected a u64 (e.g. 0x7308000000000003) or bl=N,tee=N,snp=N,ucode=N", text);
		*out = sa_tcb_decode((uint64_t)v, turin_layout);
		return SA_OK;
	}
	sa_tcb t = {.turin_layout = turin_layout};
	const char *p = text;
	while (*p) {
		const char *eq = strchr(p, '=');
		SA_ENSURE(eq, err, SA_ERR_FORMAT, "TCB '%s': expected name=value at '%s'", text, p);
		size_t klen = (size_t)(eq - p);
		char *end;
		errno = 0;
		unsigned long v = strtoul(eq + 1, &end, 0);
		SA_ENSURE(errno == 0 && end != eq + 1 && v <= 255 && eq[1] != '-' && (*end == ',' || *end == '\0'),
			  err, SA_ERR_FORMAT, "TCB '%s': value after '%.*s=' must be 0..255", text, (int)klen, p);
		uint8_t *dst = NULL;
		if (klen == 2 && !strncmp(p, "bl", 2))
			dst = &t.bl;
		else if (klen == 3 && !strncmp(p, "tee", 3))
			dst = &t.tee;
		else if (klen == 3 && !strncmp(p, "snp", 3))
			dst = &t.snp;
		else if (klen == 5 && !strncmp(p, "ucode", 5))
			dst = &t.ucode;
		else if (klen == 3 && !strncmp(p, "fmc", 3)) {
			SA_ENSURE(turin_layout, err, SA_ERR_FORMAT,
				  "TCB '%s': fmc exists only in the Turin TCB layout", text);
			dst = &t.fmc;
		}
		SA_ENSURE(dst, err, SA_ERR_FORMAT, "TCB '%s': unknown component '%.*s' (expected bl, tee, snp, ucode%s)",
			  text, (int)klen, p, turin_layout ? ", fmc" : "");
		*dst = (uint8_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	t.raw = sa_tcb_encode(&t);
	*out = t;
	return SA_OK;
}
