/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>

#include "sevattest/product.h"

#include "internal.h"

const char *sa_product_name(sa_product p)
{
	switch (p) {
	case SA_PRODUCT_MILAN: return "Milan";
	case SA_PRODUCT_GENOA: return "Genoa";
	case SA_PRODUCT_TURIN: return "Turin";
	case SA_PRODUCT_UNKNOWN: break;
	}
	return "unknown";
}

sa_status sa_product_parse(const char *name, sa_product *product, int *stepping, sa_error *err)
{
	static const sa_product all[] = {SA_PRODUCT_MILAN, SA_PRODUCT_GENOA, SA_PRODUCT_TURIN};
	SA_ENSURE(name, err, SA_ERR_ARG, "product: no name given");
	for (size_t i = 0; i < SA_ARRAY_LEN(all); i++) {
		const char *pn = sa_product_name(all[i]);
		size_t n = strlen(pn);
		if (strncasecmp(name, pn, n) != 0)
			continue;
		const char *rest = name + n;
		int step = SA_STEPPING_UNKNOWN;
		if (*rest == '-') {
			/* <letter><digit>: KDS uses B0, B1, B2; the digit is the stepping. */
			SA_ENSURE(((rest[1] >= 'A' && rest[1] <= 'Z') || (rest[1] >= 'a' && rest[1] <= 'z')) &&
					  rest[2] >= '0' && rest[2] <= '9' && rest[3] == '\0',
				  err, SA_ERR_FORMAT,
				  "product '%s': stepping suffix must be a letter and a digit, e.g. %s-B0", name, pn);
			step = rest[2] - '0';
		} else {
			SA_ENSURE(*rest == '\0', err, SA_ERR_FORMAT,
				  "product '%s' is not one of Milan, Genoa, Turin (optionally with -B<n>)", name);
		}
		*product = all[i];
		if (stepping)
			*stepping = step;
		return SA_OK;
	}
	return sa_error_set(err, SA_ERR_UNSUPPORTED, "product '%s' is not one of Milan, Genoa, Turin", name);
}

sa_product sa_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0F)
			return SA_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))
			return SA_PRODUCT_GENOA; /* Genoa, Bergamo and Siena certify as Genoa */
	}
	if (family == 0x1A && model <= 0x11)
		return SA_PRODUCT_TURIN;
	return SA_PRODUCT_UNKNOWN;
}

bool sa_product_turin_layout(sa_product p) { return p == SA_PRODUCT_TURIN; }

size_t sa_product_hwid_len(sa_product p) { return p == SA_PRODUCT_TURIN ? 8 : 64; }
