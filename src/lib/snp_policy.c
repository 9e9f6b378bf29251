/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/snp_policy.h"

#include "internal.h"

static const sa_bit_name policy_bits[] = {
	{16, "smt", "SMT allowed"},
	{17, "reserved-mbo", "reserved, must be one"},
	{18, "migrate-ma", "migration agent allowed"},
	{19, "debug", "debugging allowed"},
	{20, "single-socket", "single socket only"},
	{21, "cxl-allow", "CXL memory allowed"},
	{22, "mem-aes-256-xts", "AES-256-XTS memory encryption required"},
	{23, "rapl-dis", "RAPL must be disabled"},
	{24, "ciphertext-hiding", "ciphertext hiding required"},
	{25, "page-swap-disable", "page swap disabled"},
};

static const sa_bit_name platform_bits[] = {
	{0, "smt-en", "SMT enabled"},
	{1, "tsme-en", "TSME enabled"},
	{2, "ecc-en", "ECC memory in use"},
	{3, "rapl-dis", "RAPL disabled"},
	{4, "ciphertext-hiding-en", "ciphertext hiding enabled"},
	{5, "alias-check-complete", "memory alias check complete"},
	{7, "sev-tio-en", "SEV-TIO enabled"},
};

const sa_bit_name *sa_policy_bits(size_t *count)
{
	*count = SA_ARRAY_LEN(policy_bits);
	return policy_bits;
}

const sa_bit_name *sa_platform_info_bits(size_t *count)
{
	*count = SA_ARRAY_LEN(platform_bits);
	return platform_bits;
}

sa_status sa_bits_parse(const sa_bit_name *table, size_t count, const char *list, uint64_t *mask, const char *field,
			sa_error *err)
{
	uint64_t m = 0;
	const char *p = list;
	SA_ENSURE(list, err, SA_ERR_ARG, "%s: no list given", field);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		SA_ENSURE(len > 0, err, SA_ERR_FORMAT, "%s: empty name in '%s'", field, list);
		bool found = false;
		for (size_t i = 0; i < count; i++) {
			if (strlen(table[i].name) == len && !strncmp(table[i].name, p, len)) {
				m |= 1ull << table[i].bit;
				found = true;
				break;
			}
		}
		if (!found && len > 3 && !strncmp(p, "bit", 3)) {
			char num[8] = {0};
			if (len - 3 < sizeof(num)) {
				memcpy(num, p + 3, len - 3);
				char *e;
				errno = 0;
				unsigned long b = strtoul(num, &e, 10);
				if (errno == 0 && *e == '\0' && b < 64) {
					m |= 1ull << b;
					found = true;
				}
			}
		}
		if (!found) {
			char names[512] = "";
			for (size_t i = 0; i < count; i++) {
				strncat(names, table[i].name, sizeof(names) - strlen(names) - 1);
				strncat(names, ", ", sizeof(names) - strlen(names) - 1);
			}
			return sa_error_set(err, SA_ERR_FORMAT, "%s: unknown bit '%.*s' (expected one of %sor bitN)",
					    field, (int)len, p, names);
		}
		p = end ? end + 1 : p + len;
	}
	*mask = m;
	return SA_OK;
}

char *sa_bits_format(const sa_bit_name *table, size_t count, uint64_t value, uint64_t skip_mask, char *buf,
		     size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t m = 1ull << bit;
		if (!(value & m) || (skip_mask & m))
			continue;
		const char *name = NULL;
		for (size_t i = 0; i < count; i++)
			if (table[i].bit == bit)
				name = table[i].name;
		int w = name ? snprintf(buf + o, cap - o, "%s%s", o ? "," : "", name)
			     : snprintf(buf + o, cap - o, "%sbit%u", o ? "," : "", bit);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
	return buf;
}

sa_status sa_policy_check_wellformed(uint64_t policy, sa_error *err)
{
	SA_ENSURE(policy & SA_POLICY_RESERVED_MBO, err, SA_ERR_FORMAT,
		  "guest policy 0x%llx: bit 17 is reserved and must be 1", (unsigned long long)policy);
	uint64_t extra = policy & ~SA_POLICY_DEFINED_MASK;
	if (extra) {
		unsigned bit = 0;
		while (!(extra >> bit & 1))
			bit++;
		return sa_error_set(err, SA_ERR_FORMAT, "guest policy 0x%llx: bit %u is reserved and must be 0",
				    (unsigned long long)policy, bit);
	}
	return SA_OK;
}
