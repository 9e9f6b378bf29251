/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest owner: the SEV / SEV-ES guest owner's side of a legacy launch, as
 * sevctl does it, thin over sev.h:
 *   session             verify the platform's PDH chain, then make the GODH
 *                       certificate, the session buffer and the TEK/TIK
 *   verify-measurement  check LAUNCH_MEASURE against the expected launch digest
 *   package-secret      build the LAUNCH_SECRET header and payload
 * Also the SEV certificate options shared with `verify --sev-report`, and
 * completing the chain they give from KDS (cli_sev_certs_complete).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sevattest/sevattest.h"

#include "cli.h"

static const char *const V = "owner";

/* ---- SEV certificates from files ------------------------------------------------------------ */

void cli_sev_certs_init(struct cli_sev_certs *c) { memset(c, 0, sizeof(*c)); }

/* Keep one certificate per role: the same key again keeps the better-signed copy (a KDS-signed CEK
 * over PDH_CERT_EXPORT's unsigned one); another key is an error. */
static int put_sev(const char *verb, const char *path, const sa_sev_cert *in, sa_sev_cert *slot, bool *have)
{
	if (*have && !sa_sev_cert_same_key(slot, in)) {
		fprintf(stderr, "sevattest %s: %s: a second, different %s certificate\n", verb, path,
			sa_sev_usage_name(in->pub_key_usage));
		return CLI_EXIT_USAGE;
	}
	if (!*have || sa_sev_cert_sig_count(in) > sa_sev_cert_sig_count(slot))
		*slot = *in;
	*have = true;
	return 0;
}

/* Every SEV certificate in a file (one, or a bundle; binary or base64), each by its usage. */
static int load_sev_file(const char *verb, struct cli_sev_certs *c, const char *path, uint32_t want, bool optional)
{
	uint8_t *raw = NULL, *dec = NULL;
	size_t raw_len = 0, dec_len = 0;
	sa_error e;
	sa_status st = cli_read_file(path, &raw, &raw_len, &e);
	if (st == SA_ERR_NOT_FOUND && optional)
		return 0;
	if (st == SA_OK) {
		size_t hint = raw_len % SA_SEV_CERT_SIZE == 0 ? raw_len : SA_SEV_CERT_SIZE;
		st = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, hint, &dec, &dec_len, NULL, &e);
	}
	free(raw);
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: %s: %s\n", verb, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	sa_reader r;
	sa_reader_init(&r, dec, dec_len);
	bool found = want == 0;
	int rc = 0;
	size_t count = 0;
	while (rc == 0 && sa_reader_remaining(&r) > 0) {
		sa_sev_cert cert;
		if (sa_sev_cert_read(&r, &cert, &e) != SA_OK) {
			fprintf(stderr, "sevattest %s: %s: certificate %zu: %s\n", verb, path, count + 1, e.msg);
			rc = CLI_EXIT_USAGE;
			break;
		}
		count++;
		found |= cert.pub_key_usage == want;
		switch (cert.pub_key_usage) {
		case SA_SEV_USAGE_PDH: rc = put_sev(verb, path, &cert, &c->pdh, &c->have_pdh); break;
		case SA_SEV_USAGE_PEK: rc = put_sev(verb, path, &cert, &c->pek, &c->have_pek); break;
		case SA_SEV_USAGE_OCA: rc = put_sev(verb, path, &cert, &c->oca, &c->have_oca); break;
		case SA_SEV_USAGE_CEK: rc = put_sev(verb, path, &cert, &c->cek, &c->have_cek); break;
		default:
			fprintf(stderr, "sevattest %s: %s: certificate %zu has usage 0x%04x, not a platform certificate\n",
				verb, path, count, cert.pub_key_usage);
			rc = CLI_EXIT_USAGE;
		}
	}
	free(dec);
	if (rc == 0 && count == 0) {
		fprintf(stderr, "sevattest %s: %s: empty, expected SEV certificates\n", verb, path);
		rc = CLI_EXIT_USAGE;
	}
	if (rc == 0 && !found) {
		fprintf(stderr, "sevattest %s: %s: no %s certificate in it\n", verb, path, sa_sev_usage_name(want));
		rc = CLI_EXIT_USAGE;
	}
	return rc;
}

/* AMD CA certificates (ASK, ARK, ASK ‖ ARK): each by its usage. */
static int load_amd_file(const char *verb, struct cli_sev_certs *c, const char *path, uint32_t want, bool optional)
{
	sa_amd_cert certs[2];
	size_t n = 0;
	sa_error e;
	sa_status st = sa_amd_cert_read_file(path, certs, 2, &n, &e);
	if (st == SA_ERR_NOT_FOUND && optional)
		return 0;
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: %s: %s\n", verb, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	bool found = want == UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		found |= certs[i].key_usage == want;
		if (certs[i].key_usage == SA_SEV_USAGE_ASK) {
			c->ask = certs[i];
			c->have_ask = true;
		} else if (certs[i].key_usage == SA_SEV_USAGE_ARK) {
			c->ark = certs[i];
			c->have_ark = true;
		}
	}
	if (!found) {
		fprintf(stderr, "sevattest %s: %s: no %s certificate in it\n", verb, path, sa_sev_usage_name(want));
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int cli_sev_certs_option(const char *verb, struct cli_sev_certs *c, const char *opt, const char *path)
{
	static const struct {
		const char *opt;
		uint32_t usage;
	} sev[] = {{"pdh", SA_SEV_USAGE_PDH}, {"pek", SA_SEV_USAGE_PEK}, {"oca", SA_SEV_USAGE_OCA},
		   {"cek", SA_SEV_USAGE_CEK}};
	for (size_t i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
		if (!strcmp(opt, sev[i].opt))
			return load_sev_file(verb, c, path, sev[i].usage, false);
	if (!strcmp(opt, "ask"))
		return load_amd_file(verb, c, path, SA_SEV_USAGE_ASK, false);
	if (!strcmp(opt, "ark"))
		return load_amd_file(verb, c, path, SA_SEV_USAGE_ARK, false);
	if (!strcmp(opt, "amd-chain"))
		return load_amd_file(verb, c, path, UINT32_MAX, false);
	if (!strcmp(opt, "certs")) {
		static const char *const names[] = {"pdh.cert", "pek.cert", "oca.cert", "cek.cert", "ask.cert", "ark.cert"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char p[4096];
			if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, names[i]) >= sizeof(p))
				return cli_usage_error(verb, "--certs '%s': path too long", path);
			int rc = i < 4 ? load_sev_file(verb, c, p, 0, true) : load_amd_file(verb, c, p, UINT32_MAX, true);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!strcmp(opt, "trust-root")) {
		size_t n = 0;
		sa_error e;
		if (sa_amd_cert_read_file(path, c->roots + c->n_roots, CLI_SEV_MAX_ROOTS - c->n_roots, &n, &e) != SA_OK) {
			fprintf(stderr, "sevattest %s: --trust-root %s: %s\n", verb, path, e.msg);
			return CLI_EXIT_USAGE;
		}
		c->n_roots += n;
		return 0;
	}
	if (!strcmp(opt, "product")) {
		sa_error e;
		if (sa_sev_product_parse(path, &c->product, &e) != SA_OK)
			return cli_usage_error(verb, "--product: %s", e.msg);
		return 0;
	}
	if (!strcmp(opt, "id")) {
		uint8_t *id = NULL;
		size_t n = 0;
		sa_error e;
		if (sa_hex_decode_alloc(path, strlen(path), &id, &n, "--id", &e) != SA_OK)
			return cli_usage_error(verb, "%s", e.msg);
		bool ok = n == SA_KDS_SEV_ID_SIZE || n == 2 * SA_KDS_SEV_ID_SIZE;
		if (ok) {
			memcpy(c->id, id, n);
			c->id_len = n;
		}
		free(id);
		if (!ok)
			return cli_usage_error(verb, "--id: %zu bytes, expected GET_ID's 64 (or 128 for two sockets)", n);
		return 0;
	}
	if (cli_kds_option(&c->kds, opt, path) == 0)
		return 0;
	if (!strcmp(opt, "trusted-oca")) {
		sa_error e;
		if (sa_sev_cert_read_file(path, &c->trusted_oca, &e) != SA_OK) {
			fprintf(stderr, "sevattest %s: --trusted-oca %s: %s\n", verb, path, e.msg);
			return CLI_EXIT_USAGE;
		}
		if (c->trusted_oca.pub_key_usage != SA_SEV_USAGE_OCA)
			return cli_usage_error(verb, "--trusted-oca %s: usage 0x%04x (%s), expected an OCA certificate", path,
					       c->trusted_oca.pub_key_usage, sa_sev_usage_name(c->trusted_oca.pub_key_usage));
		c->have_trusted_oca = true;
		return 0;
	}
	return -1;
}

/* True when the CEK carries an ASK's signature (KDS's form, not PDH_CERT_EXPORT's). */
static bool cek_signed_by_ask(const sa_sev_cert *cek)
{
	return cek->sig[0].usage == SA_SEV_USAGE_ASK || cek->sig[1].usage == SA_SEV_USAGE_ASK;
}

int cli_sev_certs_complete(const char *verb, struct cli_sev_certs *c)
{
	int rc = cli_kds_check(verb, &c->kds);
	if (rc)
		return rc;
	if (c->id_len && !c->have_cek)
		return cli_usage_error(verb, "--id fetches the signed CEK in place of the platform's: give the CEK "
					     "too (--cek, or cek.cert in --certs), so its key can be checked");
	bool want_cek = c->have_cek && c->id_len && !cek_signed_by_ask(&c->cek);
	bool want_ca = !c->have_ask || !c->have_ark;
	/* A named root means a chain that is not AMD's (the emulator's): never fetch AMD's for it. */
	if (c->n_roots || c->kds.no_kds || (!want_cek && !want_ca))
		return 0;
	sa_kds *k = NULL;
	if ((rc = cli_kds_open(verb, &c->kds, &k)) != 0)
		return rc;
	sa_error e;
	if (want_cek) {
		sa_sev_cert cek;
		if (sa_kds_fetch_cek(k, c->id, c->id_len, &cek, &e) != SA_OK)
			fprintf(stderr, "sevattest %s: KDS: %s\n", verb, e.msg);
		else if (!sa_sev_cert_same_key(&cek, &c->cek))
			fprintf(stderr, "sevattest %s: KDS: the CEK fetched for --id carries another key than the "
					"platform's CEK: wrong --id?\n", verb);
		else
			c->cek = cek;
	}
	if (want_ca) {
		sa_amd_cert *ca = malloc(2 * sizeof(*ca));
		sa_status st;
		if (!ca)
			st = sa_error_set(&e, SA_ERR_NOMEM, "out of memory");
		else if (c->have_cek && cek_signed_by_ask(&c->cek))
			st = sa_kds_sev_ca_for_cek(k, &c->cek, c->product, &ca[0], &ca[1], NULL, &e);
		else if (c->product != SA_SEV_PRODUCT_UNKNOWN)
			st = sa_kds_fetch_sev_ca(k, c->product, &ca[0], &ca[1], &e);
		else
			st = sa_error_set(&e, SA_ERR_NOT_FOUND,
					  "no ASK and ARK: without --product they are found through the ASK-signed CEK, "
					  "and the CEK given is %s (pass --product, or --id to fetch the signed CEK)",
					  c->have_cek ? "unsigned" : "missing");
		if (st != SA_OK) {
			fprintf(stderr, "sevattest %s: KDS: %s\n", verb, e.msg);
		} else {
			if (!c->have_ask)
				c->ask = ca[0];
			if (!c->have_ark)
				c->ark = ca[1];
			c->have_ask = c->have_ark = true;
		}
		free(ca);
	}
	sa_kds_free(k);
	return 0;
}

void cli_sev_certs_chain(const struct cli_sev_certs *c, sa_sev_chain *chain, sa_sev_trust *trust)
{
	memset(chain, 0, sizeof(*chain));
	memset(trust, 0, sizeof(*trust));
	chain->ark = c->have_ark ? &c->ark : NULL;
	/* No ARK file: a named root is the ARK (the one that certified the ASK, if there is an ASK). */
	for (size_t i = 0; !chain->ark && i < c->n_roots; i++)
		if (!c->have_ask || !memcmp(c->roots[i].key_id, c->ask.certifying_id, sizeof(c->ask.certifying_id)))
			chain->ark = &c->roots[i];
	chain->ask = c->have_ask ? &c->ask : NULL;
	chain->cek = c->have_cek ? &c->cek : NULL;
	chain->pek = c->have_pek ? &c->pek : NULL;
	chain->oca = c->have_oca ? &c->oca : NULL;
	chain->pdh = c->have_pdh ? &c->pdh : NULL;
	trust->roots = c->n_roots ? c->roots : NULL;
	trust->n_roots = c->n_roots;
	trust->trusted_oca = c->have_trusted_oca ? &c->trusted_oca : NULL;
}

/* ---- small helpers ------------------------------------------------------------------------------ */

/* A key or blob: a file (binary of the expected size, else base64 text), else (unless file_only)
 * the argument itself as base64.  *out is malloc'ed. */
static int read_input(const char *opt, const char *arg, size_t binary_len, bool file_only, uint8_t **out,
		      size_t *out_len)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	sa_error e;
	sa_status st = cli_read_file(arg, &raw, &raw_len, &e);
	if (st == SA_OK) {
		st = sa_decode_input(raw, raw_len, raw_len == binary_len ? SA_INPUT_BINARY : SA_INPUT_BASE64, binary_len,
				     out, out_len, NULL, &e);
		OPENSSL_cleanse(raw, raw_len);
		free(raw);
	} else if (!file_only) {
		sa_error e2;
		if (sa_base64_decode_alloc(arg, strlen(arg), 0, out, out_len, opt, &e2) == SA_OK)
			st = SA_OK;
		else
			sa_error_wrap(&e, e.code, "neither a readable file nor base64");
	}
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: --%s %s: %s\n", V, opt, arg, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* Exactly n bytes (see read_input). */
static int read_bytes(const char *opt, const char *arg, uint8_t *out, size_t n, bool file_only)
{
	uint8_t *d = NULL;
	size_t len = 0;
	int rc = read_input(opt, arg, n, file_only, &d, &len);
	if (rc == 0 && len != n) {
		fprintf(stderr, "sevattest %s: --%s %s: %zu bytes, expected %zu\n", V, opt, arg, len, n);
		rc = CLI_EXIT_USAGE;
	}
	if (rc == 0)
		memcpy(out, d, n);
	if (d) {
		OPENSSL_cleanse(d, len);
		free(d);
	}
	return rc;
}

static int parse_policy(const char *text, uint32_t *out)
{
	sa_error e;
	if (sa_sev_policy_parse(text, out, &e) != SA_OK)
		return cli_usage_error(V, "--policy: %s", e.msg);
	return 0;
}

static int write_out(const char *path, const void *data, size_t len, int mode)
{
	sa_error e;
	if (sa_write_file_atomic(path, data, len, mode, &e) != SA_OK) {
		fprintf(stderr, "sevattest %s: %s: %s\n", V, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int write_b64(const char *path, const void *data, size_t len, int mode)
{
	char *s = sa_base64_encode(data, len);
	if (!s) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	int rc = write_out(path, s, strlen(s), mode);
	free(s);
	return rc;
}

/* ---- owner session -------------------------------------------------------------------------------- */

static void usage_session(FILE *f)
{
	fputs("usage: sevattest owner session --pdh FILE (the chain: --pek --oca --cek --ask --ark, or --certs DIR,\n"
	      "       --amd-chain FILE) --policy POLICY [--name NAME] [--out-dir DIR] [--godh-key PEM]\n"
	      "\n"
	      "Verify the platform's PDH certificate chain (ARK -> ASK -> CEK -> PEK, OCA -> PEK, PEK -> PDH),\n"
	      "then make the launch session for it, as sevctl session does: NAME_godh.b64 (QEMU's dh-cert-file),\n"
	      "NAME_session.b64 (session-file), NAME_tek.bin and NAME_tik.bin (mode 0600). NAME defaults to vm.\n"
	      "Exit: 0 written, 1 the PDH chain did not verify (nothing written), 2 bad usage or input.\n"
	      "\n" CLI_SEV_CERTS_HELP
	      "  --policy POLICY        the guest policy: a number (0x...) or names, e.g. nodbg,noks,es\n"
	      "  --name NAME            file name prefix (default vm)\n"
	      "  --out-dir DIR          where to write (default .)\n"
	      "  --godh-key PEM         use this P-384 key as the owner's DH key instead of a fresh one\n",
	      f);
}

static int load_godh(const char *path, EVP_PKEY **out)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	sa_error e;
	sa_status st = cli_read_file(path, &pem, &len, &e);
	if (st == SA_OK)
		st = sa_p384_private_key_from_pem(pem, len, out, &e);
	if (pem) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	if (st != SA_OK) {
		fprintf(stderr, "sevattest %s: --godh-key %s: %s\n", V, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int owner_session(int argc, char **argv)
{
	enum { O_POLICY = 300, O_NAME, O_OUT_DIR, O_GODH, O_HELP, O_CERT };
	static const struct option opts[] = {
		CLI_SEV_CERT_OPTIONS(O_CERT),
		{"policy", required_argument, NULL, O_POLICY},   {"name", required_argument, NULL, O_NAME},
		{"out-dir", required_argument, NULL, O_OUT_DIR}, {"godh-key", required_argument, NULL, O_GODH},
		{"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0},
	};
	struct cli_sev_certs *c = malloc(sizeof(*c));
	if (!c) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		return CLI_EXIT_USAGE;
	}
	cli_sev_certs_init(c);
	const char *name = "vm", *out_dir = ".", *godh_path = NULL;
	uint32_t policy = 0;
	bool have_policy = false;
	int rc = 0, ch, idx = 0;
	cli_getopt_reset();
	while (rc == 0 && (ch = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (ch) {
		case O_CERT: rc = cli_sev_certs_option(V, c, opts[idx].name, optarg); break;
		case O_POLICY:
			rc = parse_policy(optarg, &policy);
			have_policy = true;
			break;
		case O_NAME: name = optarg; break;
		case O_OUT_DIR: out_dir = optarg; break;
		case O_GODH: godh_path = optarg; break;
		case 'h':
		case O_HELP: usage_session(stdout); rc = -1; break;
		default: rc = cli_usage_error(V, "session: unknown option"); break;
		}
	}
	if (rc == 0 && optind < argc)
		rc = cli_usage_error(V, "session: unexpected argument '%s'", argv[optind]);
	if (rc == 0 && !c->have_pdh)
		rc = cli_usage_error(V, "session: --pdh FILE is required (or pdh.cert in --certs DIR)");
	if (rc == 0 && !have_policy)
		rc = cli_usage_error(V, "session: --policy is required");
	if (rc == 0 && (!*name || strchr(name, '/')))
		rc = cli_usage_error(V, "session: --name '%s': expected a file name prefix without '/'", name);
	if (rc == 0)
		rc = cli_sev_certs_complete(V, c);
	EVP_PKEY *godh_key = NULL;
	if (rc == 0 && godh_path)
		rc = load_godh(godh_path, &godh_key);
	if (rc) {
		free(c);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}

	/* The PDH is trusted only through its chain: refuse to make a session for an unverified one. */
	sa_sev_chain chain;
	sa_sev_trust trust;
	cli_sev_certs_chain(c, &chain, &trust);
	sa_verdict v;
	sa_verdict_init(&v);
	sa_error e;
	if (sa_sev_chain_check(&chain, &trust, &v, &e) != SA_OK) {
		rc = cli_input_error(V, &e);
		goto out;
	}
	sa_verdict_conclude(&v);
	if (!v.verified) {
		const sa_check *f = sa_verdict_first_failure(&v);
		cli_print_checks(&v);
		fprintf(stderr, "sevattest %s: the PDH certificate chain did not verify (%s: %s); no session made\n", V,
			f ? f->id : "no checks", f ? f->summary : "nothing checked");
		rc = CLI_EXIT_REJECTED;
		goto out;
	}

	sa_sev_session_params p = {.pdh = &c->pdh, .policy = policy, .godh_key = godh_key};
	sa_sev_cert godh;
	sa_sev_session s;
	sa_sev_tks tks;
	if (sa_sev_session_create(&p, &godh, &s, &tks, NULL, &e) != SA_OK) {
		rc = cli_input_error(V, &e);
		goto out;
	}
	uint8_t cbuf[SA_SEV_CERT_SIZE], sbuf[SA_SEV_SESSION_SIZE];
	sa_sev_session_encode(&s, sbuf);
	if (sa_sev_cert_encode(&godh, cbuf, &e) != SA_OK) {
		rc = cli_input_error(V, &e);
		sa_sev_tks_wipe(&tks);
		goto out;
	}
	static const char *const suffix[] = {"_godh.b64", "_session.b64", "_tek.bin", "_tik.bin"};
	char paths[4][4096];
	for (int i = 0; i < 4 && rc == 0; i++)
		if ((size_t)snprintf(paths[i], sizeof(paths[i]), "%s/%s%s", out_dir, name, suffix[i]) >= sizeof(paths[i]))
			rc = cli_usage_error(V, "session: output path too long");
	/* The TEK and TIK are secrets: a directory made here is the owner's alone. */
	if (rc == 0 && mkdir(out_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "sevattest owner: --out-dir %s: cannot create it: %s\n", out_dir, strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
	if (rc == 0)
		rc = write_out(paths[2], tks.tek, sizeof(tks.tek), 0600);
	if (rc == 0)
		rc = write_out(paths[3], tks.tik, sizeof(tks.tik), 0600);
	if (rc == 0)
		rc = write_b64(paths[0], cbuf, sizeof(cbuf), 0644);
	if (rc == 0)
		rc = write_b64(paths[1], sbuf, sizeof(sbuf), 0644);
	sa_sev_tks_wipe(&tks);
	if (rc == 0) {
		char pol[96];
		printf("PDH chain verified (%s)\n", trust.n_roots ? "under the root named with --trust-root" : "to AMD's pinned ARK");
		printf("session for policy 0x%08x (%s)\n", policy, sa_sev_policy_str(policy, pol, sizeof(pol)));
		for (int i = 0; i < 4; i++)
			printf("wrote %s\n", paths[i]);
	}
out:
	sa_verdict_free(&v);
	EVP_PKEY_free(godh_key);
	free(c);
	return rc;
}

/* ---- owner verify-measurement -------------------------------------------------------------------- */

static void usage_measure(FILE *f)
{
	fputs("usage: sevattest owner verify-measurement --tik FILE --measurement B64 --api-major N --api-minor N\n"
	      "       --build N --policy P (--launch-digest HEX|B64 | --ovmf FILE [--kernel F --initrd F --cmdline S]\n"
	      "       [--vcpus N --vcpu-type T | --vmsa-cpu0 F --vmsa-cpu1 F --num-cpus N]) [--print]\n"
	      "\n"
	      "Check the LAUNCH_MEASURE blob QEMU reports (query-sev-launch-measure) against the launch digest\n"
	      "expected for this firmware, kernel and vCPUs: HMAC-SHA256 under the TIK over 0x04 ‖ API ‖ build ‖\n"
	      "policy ‖ digest ‖ MNONCE. With the ES policy bit the VMSAs are measured too (SEV-ES).\n"
	      "Exit: 0 it matches (or --print), 1 it does not, 2 bad usage or input.\n"
	      "\n"
	      "  --tik FILE             the TIK (16 bytes, binary or base64) from `owner session`\n"
	      "  --measurement B64      the 48-byte LAUNCH_MEASURE blob (MEASURE ‖ MNONCE), base64\n"
	      "  --api-major N, --api-minor N, --build N   the platform's firmware (query-sev)\n"
	      "  --policy P             the guest policy (number or names)\n"
	      "  --launch-digest D      the expected launch digest (32 bytes, hex or base64), or compute it:\n"
	      "  --ovmf FILE            the OVMF image\n"
	      "  --kernel F, --initrd F, --cmdline S   measured direct boot (QEMU kernel-hashes=on)\n"
	      "  --vcpus N, --vcpu-type T, --vmm-type T   SEV-ES: build the VMSAs\n"
	      "  --vmsa-cpu0 F, --vmsa-cpu1 F, --num-cpus N   SEV-ES: the VMSA pages themselves\n"
	      "  --print                print the expected blob (base64) instead of checking\n",
	      f);
}

static int read_page(const char *opt, const char *path, uint8_t **out)
{
	size_t len = 0;
	sa_error e;
	if (cli_read_file(path, out, &len, &e) != SA_OK) {
		fprintf(stderr, "sevattest %s: --%s %s: %s\n", V, opt, path, e.msg);
		return CLI_EXIT_USAGE;
	}
	if (len != SA_VMSA_SIZE) {
		fprintf(stderr, "sevattest %s: --%s %s: %zu bytes, expected a %d-byte VMSA page\n", V, opt, path, len,
			SA_VMSA_SIZE);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int parse_digest(const char *text, uint8_t out[32])
{
	sa_error e;
	size_t n = strlen(text);
	if (n == 64 && sa_hex_decode_exact(text, n, out, 32, "--launch-digest", NULL) == SA_OK)
		return 0;
	uint8_t *d = NULL;
	size_t dl = 0;
	if (sa_base64_decode_alloc(text, n, 0, &d, &dl, "--launch-digest", &e) != SA_OK || dl != 32) {
		free(d);
		return cli_usage_error(V, "--launch-digest '%s': expected 32 bytes as hex or base64", text);
	}
	memcpy(out, d, 32);
	free(d);
	return 0;
}

static int owner_verify_measurement(int argc, char **argv)
{
	enum { O_TIK = 300, O_MEAS, O_MAJ, O_MIN, O_BUILD, O_POLICY, O_LD, O_VMSA0, O_VMSA1, O_PRINT, O_HELP, O_GUEST };
	static const struct option opts[] = {
		{"tik", required_argument, NULL, O_TIK},
		{"measurement", required_argument, NULL, O_MEAS},
		{"api-major", required_argument, NULL, O_MAJ},
		{"api-minor", required_argument, NULL, O_MIN},
		{"build", required_argument, NULL, O_BUILD},
		{"policy", required_argument, NULL, O_POLICY},
		{"launch-digest", required_argument, NULL, O_LD},
		{"vmsa-cpu0", required_argument, NULL, O_VMSA0},
		{"vmsa-cpu1", required_argument, NULL, O_VMSA1},
		{"print", no_argument, NULL, O_PRINT},
		{"help", no_argument, NULL, O_HELP},
		{"ovmf", required_argument, NULL, O_GUEST},
		{"kernel", required_argument, NULL, O_GUEST},
		{"initrd", required_argument, NULL, O_GUEST},
		{"cmdline", required_argument, NULL, O_GUEST},
		{"vcpus", required_argument, NULL, O_GUEST},
		{"num-cpus", required_argument, NULL, O_GUEST},
		{"vcpu-type", required_argument, NULL, O_GUEST},
		{"vmm-type", required_argument, NULL, O_GUEST},
		{NULL, 0, NULL, 0},
	};
	struct cli_guest g;
	cli_guest_init(&g);
	const char *tik_path = NULL, *meas = NULL, *vmsa_path[2] = {NULL, NULL};
	bool have[4] = {false}, have_ld = false, print = false, vcpus_given = false;
	uint32_t maj = 0, min = 0, build = 0, policy = 0;
	uint8_t ld[32];
	int rc = 0, ch, idx = 0;
	cli_getopt_reset();
	while (rc == 0 && (ch = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (ch) {
		case O_TIK: tik_path = optarg; break;
		case O_MEAS: meas = optarg; break;
		case O_MAJ: rc = cli_parse_u32(V, "api-major", optarg, 255, &maj); have[0] = true; break;
		case O_MIN: rc = cli_parse_u32(V, "api-minor", optarg, 255, &min); have[1] = true; break;
		case O_BUILD: rc = cli_parse_u32(V, "build", optarg, 255, &build); have[2] = true; break;
		case O_POLICY: rc = parse_policy(optarg, &policy); have[3] = true; break;
		case O_LD: rc = parse_digest(optarg, ld); have_ld = true; break;
		case O_VMSA0: vmsa_path[0] = optarg; break;
		case O_VMSA1: vmsa_path[1] = optarg; break;
		case O_PRINT: print = true; break;
		case O_GUEST: {
			const char *o = opts[idx].name;
			if (!strcmp(o, "cmdline"))
				o = "append";
			else if (!strcmp(o, "num-cpus"))
				o = "vcpus";
			vcpus_given |= !strcmp(o, "vcpus");
			rc = cli_guest_option(V, &g, o, optarg);
			break;
		}
		case 'h':
		case O_HELP: usage_measure(stdout); rc = -1; break;
		default: rc = cli_usage_error(V, "verify-measurement: unknown option"); break;
		}
	}
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (optind < argc)
		return cli_usage_error(V, "verify-measurement: unexpected argument '%s'", argv[optind]);
	if (!tik_path || !meas || !have[0] || !have[1] || !have[2] || !have[3])
		return cli_usage_error(V, "verify-measurement: --tik, --measurement, --api-major, --api-minor, --build "
					  "and --policy are required");
	if (have_ld == (g.ovmf != NULL))
		return cli_usage_error(V, "verify-measurement: give one of --launch-digest or --ovmf");
	if (vmsa_path[1] && !vmsa_path[0])
		return cli_usage_error(V, "verify-measurement: --vmsa-cpu1 needs --vmsa-cpu0");
	if (vmsa_path[0] && !vmsa_path[1] && g.vcpus > 1)
		return cli_usage_error(V, "verify-measurement: %u vCPUs need --vmsa-cpu1 too", g.vcpus);
	if (vmsa_path[0] && !vcpus_given)
		return cli_usage_error(V, "verify-measurement: with the VMSAs, give --num-cpus N");
	if (vmsa_path[0] && g.vcpu_type)
		return cli_usage_error(V, "verify-measurement: give the VMSAs or --vcpu-type, not both");
	if (vmsa_path[0] && !(policy & SA_SEV_POLICY_ES))
		return cli_usage_error(V, "verify-measurement: VMSAs are measured only with the ES policy bit");

	sa_sev_measure_input in = {.api_major = (uint8_t)maj, .api_minor = (uint8_t)min, .build = (uint8_t)build,
				   .policy = policy};
	uint8_t tik[SA_SEV_KEY_SIZE], blob[SA_SEV_MEASURE_BLOB_SIZE];
	if ((rc = read_bytes("tik", tik_path, tik, sizeof(tik), true)) != 0)
		return rc;
	if ((rc = read_bytes("measurement", meas, blob, sizeof(blob), false)) != 0)
		goto out;
	uint8_t *vmsa[2] = {NULL, NULL};
	if (have_ld) {
		memcpy(in.launch_digest, ld, 32);
	} else {
		sa_measure_params p;
		memset(&p, 0, sizeof(p));
		p.mode = policy & SA_SEV_POLICY_ES ? SA_MEASURE_SEVES : SA_MEASURE_SEV;
		for (int i = 0; i < 2 && rc == 0; i++)
			if (vmsa_path[i])
				rc = read_page(i ? "vmsa-cpu1" : "vmsa-cpu0", vmsa_path[i], &vmsa[i]);
		if (rc == 0 && vmsa[0]) {
			/* the VMSAs stand for the vCPU: cli_guest_params need not build them */
			g.have_sig = true;
			p.vmsa_bsp = vmsa[0];
			p.vmsa_ap = vmsa[1];
		}
		if (rc == 0)
			rc = cli_guest_params(V, &g, &p);
		sa_measure_result r;
		sa_error e;
		if (rc == 0 && sa_measure(&p, &r, &e) != SA_OK) {
			fprintf(stderr, "sevattest %s: %s\n", V, e.msg);
			rc = e.code == SA_ERR_UNSUPPORTED ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
		}
		if (rc == 0)
			memcpy(in.launch_digest, r.digest, 32);
		cli_guest_free(&g);
		free(vmsa[0]);
		free(vmsa[1]);
		if (rc)
			goto out;
	}
	char hex[65];
	sa_hex_encode(in.launch_digest, 32, hex);
	sa_error e;
	if (print) {
		memcpy(in.mnonce, blob + 32, 16);
		uint8_t want[SA_SEV_MEASURE_BLOB_SIZE];
		if (sa_sev_measure_blob(tik, &in, want, &e) != SA_OK) {
			rc = cli_input_error(V, &e);
			goto out;
		}
		char *s = sa_base64_encode(want, sizeof(want));
		if (!s) {
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		puts(s);
		free(s);
		rc = CLI_EXIT_OK;
		goto out;
	}
	sa_status st = sa_sev_measure_verify(tik, &in, blob, sizeof(blob), &e);
	if (st == SA_OK) {
		printf("LAUNCH_MEASURE matches launch digest %s (API %u.%u build %u, policy 0x%08x)\n", hex, maj, min, build,
		       policy);
		rc = CLI_EXIT_OK;
	} else if (st == SA_ERR_VERIFY) {
		printf("LAUNCH_MEASURE does not match launch digest %s (API %u.%u build %u, policy 0x%08x): %s\n", hex,
		       maj, min, build, policy, e.msg);
		rc = CLI_EXIT_REJECTED;
	} else {
		rc = cli_input_error(V, &e);
	}
out:
	OPENSSL_cleanse(tik, sizeof(tik));
	return rc;
}

/* ---- owner package-secret ------------------------------------------------------------------------- */

#define MAX_SECRETS 64

static void usage_secret(FILE *f)
{
	fputs("usage: sevattest owner package-secret --tek FILE --tik FILE --measurement B64\n"
	      "       (--secret GUID:FILE)... [--iv B64] --out-header FILE --out-secret FILE [--base64]\n"
	      "\n"
	      "Build the LAUNCH_SECRET packet for QEMU's sev-inject-launch-secret, as sevctl secret build does:\n"
	      "the secret table (GUID-keyed entries OVMF hands to the guest) encrypted with AES-128-CTR under\n"
	      "the TEK, and the header (FLAGS ‖ IV ‖ MAC), the MAC an HMAC-SHA256 under the TIK that binds the\n"
	      "packet to the launch measurement. Check the measurement first (owner verify-measurement).\n"
	      "Exit: 0 written, 2 bad usage or input.\n"
	      "\n"
	      "  --tek FILE, --tik FILE the keys from `owner session` (16 bytes each, binary or base64)\n"
	      "  --measurement B64      the LAUNCH_MEASURE blob (48 bytes, or its 32-byte MEASURE), base64 or a file\n"
	      "  --secret GUID:FILE     a secret: FILE's bytes under GUID (repeatable, at most 64)\n"
	      "  --iv B64               a fixed IV (16 bytes; default random)\n"
	      "  --out-header FILE, --out-secret FILE   where to write the header and the encrypted table\n"
	      "  --base64               write both as base64 text (what QEMU's QMP command takes)\n",
	      f);
}

static int owner_package_secret(int argc, char **argv)
{
	enum { O_TEK = 300, O_TIK, O_MEAS, O_SECRET, O_IV, O_OUT_H, O_OUT_S, O_B64, O_HELP };
	static const struct option opts[] = {
		{"tek", required_argument, NULL, O_TEK},          {"tik", required_argument, NULL, O_TIK},
		{"measurement", required_argument, NULL, O_MEAS}, {"secret", required_argument, NULL, O_SECRET},
		{"iv", required_argument, NULL, O_IV},            {"out-header", required_argument, NULL, O_OUT_H},
		{"out-secret", required_argument, NULL, O_OUT_S}, {"base64", no_argument, NULL, O_B64},
		{"help", no_argument, NULL, O_HELP},              {NULL, 0, NULL, 0},
	};
	const char *tek_path = NULL, *tik_path = NULL, *meas = NULL, *iv_text = NULL, *out_h = NULL, *out_s = NULL;
	const char *secrets[MAX_SECRETS];
	size_t n_secrets = 0;
	bool b64 = false;
	int rc = 0, ch;
	cli_getopt_reset();
	while (rc == 0 && (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case O_TEK: tek_path = optarg; break;
		case O_TIK: tik_path = optarg; break;
		case O_MEAS: meas = optarg; break;
		case O_SECRET:
			if (n_secrets == MAX_SECRETS)
				rc = cli_usage_error(V, "package-secret: more than %d --secret options", MAX_SECRETS);
			else
				secrets[n_secrets++] = optarg;
			break;
		case O_IV: iv_text = optarg; break;
		case O_OUT_H: out_h = optarg; break;
		case O_OUT_S: out_s = optarg; break;
		case O_B64: b64 = true; break;
		case 'h':
		case O_HELP: usage_secret(stdout); rc = -1; break;
		default: rc = cli_usage_error(V, "package-secret: unknown option"); break;
		}
	}
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (optind < argc)
		return cli_usage_error(V, "package-secret: unexpected argument '%s'", argv[optind]);
	if (!tek_path || !tik_path || !meas || !out_h || !out_s || n_secrets == 0)
		return cli_usage_error(V, "package-secret: --tek, --tik, --measurement, --secret, --out-header and "
					  "--out-secret are required");

	sa_sev_tks tks;
	uint8_t measure[SA_SEV_MEASURE_BLOB_SIZE], iv[16];
	sa_sev_secret_entry entries[MAX_SECRETS];
	uint8_t *data[MAX_SECRETS] = {NULL};
	uint8_t *table = NULL, *ct = NULL;
	size_t table_len = 0;
	sa_error e;
	memset(&tks, 0, sizeof(tks));
	rc = read_bytes("tek", tek_path, tks.tek, 16, true);
	if (rc == 0)
		rc = read_bytes("tik", tik_path, tks.tik, 16, true);
	if (rc == 0) {
		/* the whole LAUNCH_MEASURE blob, or its MEASURE alone */
		uint8_t *m = NULL;
		size_t ml = 0;
		rc = read_input("measurement", meas, sizeof(measure), false, &m, &ml);
		if (rc == 0 && ml != sizeof(measure) && ml != 32) {
			fprintf(stderr, "sevattest %s: --measurement: %zu bytes, expected 48 (MEASURE ‖ MNONCE) or 32\n", V,
				ml);
			rc = CLI_EXIT_USAGE;
		}
		if (rc == 0)
			memcpy(measure, m, 32);
		free(m);
	}
	if (rc == 0 && iv_text)
		rc = read_bytes("iv", iv_text, iv, sizeof(iv), false);
	for (size_t i = 0; rc == 0 && i < n_secrets; i++) {
		const char *colon = strchr(secrets[i], ':');
		char guid[40];
		size_t gl = colon ? (size_t)(colon - secrets[i]) : 0;
		if (!colon || gl >= sizeof(guid) || !colon[1]) {
			rc = cli_usage_error(V, "package-secret: --secret '%s': expected GUID:FILE", secrets[i]);
			break;
		}
		memcpy(guid, secrets[i], gl);
		guid[gl] = '\0';
		if (sa_efi_guid_parse(guid, entries[i].guid, &e) != SA_OK) {
			rc = cli_usage_error(V, "package-secret: --secret: %s", e.msg);
			break;
		}
		if (cli_read_file(colon + 1, &data[i], &entries[i].len, &e) != SA_OK) {
			fprintf(stderr, "sevattest %s: --secret %s: %s\n", V, colon + 1, e.msg);
			rc = CLI_EXIT_USAGE;
			break;
		}
		entries[i].data = data[i];
	}
	if (rc == 0 && sa_sev_secret_table_build(entries, n_secrets, &table, &table_len, &e) != SA_OK)
		rc = cli_input_error(V, &e);
	if (rc == 0 && !(ct = malloc(table_len))) {
		fprintf(stderr, "sevattest %s: out of memory\n", V);
		rc = CLI_EXIT_USAGE;
	}
	sa_sev_secret_hdr hdr;
	if (rc == 0 && sa_sev_secret_package(&tks, measure, iv_text ? iv : NULL, table, table_len, &hdr, ct, &e) != SA_OK)
		rc = cli_input_error(V, &e);
	if (rc == 0) {
		uint8_t hbuf[SA_SEV_SECRET_HDR_SIZE];
		sa_sev_secret_hdr_encode(&hdr, hbuf);
		rc = b64 ? write_b64(out_h, hbuf, sizeof(hbuf), 0644) : write_out(out_h, hbuf, sizeof(hbuf), 0644);
		if (rc == 0)
			rc = b64 ? write_b64(out_s, ct, table_len, 0644) : write_out(out_s, ct, table_len, 0644);
		if (rc == 0)
			printf("wrote %s (header, %d bytes) and %s (secret table, %zu bytes encrypted, %zu entr%s)\n", out_h,
			       SA_SEV_SECRET_HDR_SIZE, out_s, table_len, n_secrets, n_secrets == 1 ? "y" : "ies");
	}
	for (size_t i = 0; i < n_secrets; i++)
		if (data[i]) {
			OPENSSL_cleanse(data[i], entries[i].len);
			free(data[i]);
		}
	if (table) {
		OPENSSL_cleanse(table, table_len);
		free(table);
	}
	free(ct);
	sa_sev_tks_wipe(&tks);
	return rc;
}

/* ---- dispatch -------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: sevattest owner COMMAND [options]\n"
	      "\n"
	      "The SEV / SEV-ES guest owner's side of a legacy launch (as sevctl):\n"
	      "  session              verify the platform's PDH chain and make the launch session files\n"
	      "  verify-measurement   check the LAUNCH_MEASURE blob against the expected launch digest\n"
	      "  package-secret       build the LAUNCH_SECRET header and encrypted secret table\n"
	      "\n"
	      "sevattest owner COMMAND --help lists a command's options.\n",
	      f);
}

int cmd_owner(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(V, "expected a command: session, verify-measurement or package-secret");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(sub, "session"))
		return owner_session(argc - 1, argv + 1);
	if (!strcmp(sub, "verify-measurement"))
		return owner_verify_measurement(argc - 1, argv + 1);
	if (!strcmp(sub, "package-secret"))
		return owner_package_secret(argc - 1, argv + 1);
	return cli_usage_error(V, "unknown command '%s': expected session, verify-measurement or package-secret", sub);
}
