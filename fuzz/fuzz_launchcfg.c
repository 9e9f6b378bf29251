/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the -object parser (launchcfg.h).
 *
 * The whole input goes to sa_launchcfg_parse: keyval text, or the JSON form
 * when it starts with '{'.  The same bytes are also parsed as JSON behind a
 * '{' so that both grammars are reached from any input.  A configuration that
 * parses is printed back to canonical text, which must parse again to the same
 * configuration (the round trip the tests check), else the target aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sevattest/launchcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sa_launchcfg a, b;

static void parse_and_round_trip(const char *text, size_t len)
{
	sa_error err;
	if (sa_launchcfg_parse(text, len, &a, &err) != SA_OK)
		return;
	char *out = NULL;
	if (sa_launchcfg_format(&a, &out, &err) != SA_OK)
		abort();
	if (sa_launchcfg_parse(out, strlen(out), &b, &err) != SA_OK || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SA_LAUNCHCFG_MAX_TEXT)
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	parse_and_round_trip((const char *)data, size);
	char *json = malloc(size + 1);
	if (!json)
		return 0;
	json[0] = '{';
	if (size)
		memcpy(json + 1, data, size);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	parse_and_round_trip(json, size + 1);
	free(json);
	return 0;
}
