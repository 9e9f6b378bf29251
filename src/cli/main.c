/* SPDX-License-Identifier: Apache-2.0 */
/* sevattest: dispatch `sevattest <verb> ...` to the verbs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef SEVATTEST_VERSION_STRING
#error "SEVATTEST_VERSION_STRING comes from meson.build"
#endif

typedef struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} verb;

static const verb verbs[] = {
	{"show", cmd_show, "print an SNP report, AMD X.509 or SEV-format certificates, every field decoded"},
	{"verify", cmd_verify, "verify an SNP or SEV(-ES) attestation report: AMD chains, signature, your policy"},
	{"emu", cmd_emu, "run an emulated SEV/SEV-ES/SEV-SNP platform and launch guests on it (QMP too)"},
	{"guest", cmd_guest, "from inside a guest: get a report, a derived key or the host's certificates"},
	{"measure", cmd_measure, "compute the expected launch measurement of an OVMF guest (SNP, SEV-ES, SEV)"},
	{"idblock", cmd_idblock, "build and sign an SNP ID block and ID auth from PEM keys, or verify them"},
	{"owner", cmd_owner, "SEV/SEV-ES guest owner: launch session, LAUNCH_MEASURE check, LAUNCH_SECRET"},
	{"host", cmd_host, "SEV platform owner (/dev/sev or emulator): status, PEK/PDH, certificates, QMP"},
};

static void usage(FILE *out)
{
	fputs("Usage: sevattest <command> [arguments]\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out, "  %-10s %s\n", "help", "show this list, or a command's options: sevattest help <command>");
	fprintf(out, "  %-10s %s\n", "version", "print the version");
	fputs("\n"
	      "Exit status: 0 verified or success; 1 rejected; 2 bad usage or unreadable input.\n",
	      out);
}

static const verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error("help", "expected at most one command name, got '%s' too", argv[2]);
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(name, "version") == 0) {
		puts("Usage: sevattest version\n\nPrint the version of sevattest.");
		return CLI_EXIT_OK;
	}
	const verb *v = find_verb(name);
	if (!v)
		return cli_usage_error("help", "unknown command '%s'", name);
	char help_opt[] = "--help";
	char *vargv[] = {argv[1], help_opt, NULL};
	return v->run(2, vargv);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
		if (argc > 2)
			return cli_usage_error("version", "unexpected argument '%s'", argv[2]);
		printf("sevattest %s\n", SEVATTEST_VERSION_STRING);
		return CLI_EXIT_OK;
	}
	const verb *v = find_verb(name);
	if (!v) {
		fprintf(stderr, "sevattest: unknown command '%s'\nRun 'sevattest help' for the list of commands.\n",
			name);
		return CLI_EXIT_USAGE;
	}
	return v->run(argc - 1, argv + 1);
}
