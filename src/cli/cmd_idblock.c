/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sevattest idblock: build and sign an SEV-SNP ID block and its ID_AUTH_INFO
 * from PEM keys (what QEMU's sev-snp-guest id-block= / id-auth= take), print
 * the key digests a report will carry; and check an existing pair's
 * signatures as firmware does at SNP_LAUNCH_FINISH.  Thin over idblock.h.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sevattest/encoding.h"
#include "sevattest/idblock.h"

#include "cli.h"

static const char *const V = "idblock";

static const char idblock_usage[] =
	"Usage: sevattest idblock --measurement HEX|B64 --id-key PEM [--author-key PEM] [--family-id HEX]\n"
	"                         [--image-id HEX] [--svn N] [--policy HEX] [--out-block FILE]\n"
	"                         [--out-auth FILE] [--json]\n"
	"       sevattest idblock verify --block FILE --auth FILE [--author-key-enabled] [--json]\n"
	"\n"
	"Build an SEV-SNP ID block (the expected launch digest, family and image id, guest SVN and policy)\n"
	"and its ID authentication structure, signed with ECDSA P-384/SHA-384 by the ID key and, with\n"
	"--author-key, the ID key signed by the author key.  Prints the two structures in base64 as\n"
	"QEMU's sev-snp-guest object takes them, and the key digests that every report of the guest will\n"
	"carry (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST: SHA-384 of the keys' 0x404-byte AMD form).\n"
	"`verify` checks a block and its authentication structure as firmware does at launch.\n"
	"\n"
	"Options:\n"
	"  --measurement V        the expected launch digest, 48 bytes, hex or base64\n"
	"  --id-key PEM           the ID key, an EC P-384 private key (PKCS#8 or SEC1 PEM)\n"
	"  --author-key PEM       the author key, likewise (then use author-key-enabled=on in QEMU)\n"
	"  --family-id HEX        FAMILY_ID, 16 bytes (default zero)\n"
	"  --image-id HEX         IMAGE_ID, 16 bytes (default zero)\n"
	"  --svn N                GUEST_SVN (default 0)\n"
	"  --policy HEX           the guest policy, which must equal the launch policy (default 0x30000)\n"
	"  --out-block FILE       also write the ID block (0x60 bytes, binary)\n"
	"  --out-auth FILE        also write the ID authentication structure (0x1000 bytes, binary)\n"
	"  --block FILE           verify: the ID block (binary, hex or base64)\n"
	"  --auth FILE            verify: the ID authentication structure (binary, hex or base64)\n"
	"  --author-key-enabled   verify: also check the author key's signature of the ID key\n"
	"  --json                 print JSON\n"
	"\n"
	"Exit: 0 success (verify: both checks pass), 1 verify: a check failed, 2 bad usage or input.\n";

enum {
	O_HELP = 256, O_MEAS, O_ID_KEY, O_AUTHOR_KEY, O_FAMILY, O_IMAGE, O_SVN, O_POLICY, O_OUT_BLOCK, O_OUT_AUTH,
	O_BLOCK, O_AUTH, O_AUTHOR_EN, O_JSON,
};

static const struct option opts[] = {
	{"help", no_argument, NULL, O_HELP},
	{"measurement", required_argument, NULL, O_MEAS},
	{"id-key", required_argument, NULL, O_ID_KEY},
	{"author-key", required_argument, NULL, O_AUTHOR_KEY},
	{"family-id", required_argument, NULL, O_FAMILY},
	{"image-id", required_argument, NULL, O_IMAGE},
	{"svn", required_argument, NULL, O_SVN},
	{"policy", required_argument, NULL, O_POLICY},
	{"out-block", required_argument, NULL, O_OUT_BLOCK},
	{"out-auth", required_argument, NULL, O_OUT_AUTH},
	{"block", required_argument, NULL, O_BLOCK},
	{"auth", required_argument, NULL, O_AUTH},
	{"author-key-enabled", no_argument, NULL, O_AUTHOR_EN},
	{"json", no_argument, NULL, O_JSON},
	{NULL, 0, NULL, 0},
};

struct args {
	bool verify, json, author_en;
	const char *meas, *id_key, *author_key, *out_block, *out_auth, *block, *auth;
	sa_id_block b;
};

static bool allowed(bool verify, int c)
{
	if (c == O_HELP || c == O_JSON)
		return true;
	if (verify)
		return c == O_BLOCK || c == O_AUTH || c == O_AUTHOR_EN;
	return c != O_BLOCK && c != O_AUTH && c != O_AUTHOR_EN;
}

static int parse_hex(const char *opt, const char *text, uint8_t *out, size_t n)
{
	sa_error e;
	char field[32];
	snprintf(field, sizeof(field), "--%s", opt);
	if (sa_hex_decode_exact(text, strlen(text), out, n, field, &e) != SA_OK)
		return cli_usage_error(V, "%s", e.msg);
	return 0;
}

/* 48 bytes as 96 hex digits (optional 0x) or base64. */
static int parse_measurement(const char *text, uint8_t out[48])
{
	sa_error e;
	size_t len = strlen(text);
	const char *h = text;
	if (len > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
		h += 2;
	size_t hl = strlen(h);
	if (hl > 0 && strspn(h, "0123456789abcdefABCDEF") == hl && (hl != 64 || h != text)) {
		/* All hex digits (64 of them without 0x could also be base64 of 48 bytes). */
		if (hl != 96)
			return cli_usage_error(V, "--measurement: %zu hex digits, expected 96 (48 bytes) or base64", hl);
		if (sa_hex_decode_exact(h, 96, out, 48, "measurement", &e) != SA_OK)
			return cli_usage_error(V, "--measurement: %s", e.msg);
		return 0;
	}
	uint8_t *dec = NULL;
	size_t dec_len = 0;
	if (sa_base64_decode_alloc(text, len, 0, &dec, &dec_len, "measurement", &e) != SA_OK)
		return cli_usage_error(V, "--measurement '%s': expected 48 bytes as 96 hex digits or base64 (%s)", text,
				       e.msg);
	bool ok = dec_len == 48;
	if (ok)
		memcpy(out, dec, 48);
	free(dec);
	if (!ok)
		return cli_usage_error(V, "--measurement: base64 of %zu bytes, expected 48", dec_len);
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	sa_id_block_init(&a->b, NULL);
	int sargc = argc;
	char **sargv = argv;
	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		a->verify = true;
		sargc--;
		sargv++;
	}
	const char *sub = a->verify ? "verify" : "build";
	int c, rc = 0;
	bool has_meas = false;
	cli_getopt_reset();
	while ((c = getopt_long(sargc, sargv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?' || c == ':')
			return cli_usage_error(V, "bad option");
		if (!allowed(a->verify, c))
			return cli_usage_error(V, "%s does not take --%s", sub, cli_opt_name(opts, c));
		const char *o = optarg;
		switch (c) {
		case O_HELP: fputs(idblock_usage, stdout); return -1;
		case O_MEAS:
			rc = parse_measurement(o, a->b.ld);
			has_meas = true;
			break;
		case O_ID_KEY: a->id_key = o; break;
		case O_AUTHOR_KEY: a->author_key = o; break;
		case O_FAMILY: rc = parse_hex("family-id", o, a->b.family_id, sizeof(a->b.family_id)); break;
		case O_IMAGE: rc = parse_hex("image-id", o, a->b.image_id, sizeof(a->b.image_id)); break;
		case O_SVN: rc = cli_parse_u32(V, "svn", o, UINT32_MAX, &a->b.guest_svn); break;
		case O_POLICY: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(o, &end, 16);
			if (errno || end == o || *end || o[0] == '-')
				return cli_usage_error(V, "--policy '%s': expected a 64-bit hex value, e.g. 0x30000", o);
			a->b.policy = (uint64_t)v;
			break;
		}
		case O_OUT_BLOCK: a->out_block = o; break;
		case O_OUT_AUTH: a->out_auth = o; break;
		case O_BLOCK: a->block = o; break;
		case O_AUTH: a->auth = o; break;
		case O_AUTHOR_EN: a->author_en = true; break;
		case O_JSON: a->json = true; break;
		default: return cli_usage_error(V, "bad option");
		}
		if (rc)
			return rc;
	}
	if (optind < sargc)
		return cli_usage_error(V, "unexpected argument '%s'", sargv[optind]);
	if (a->verify) {
		if (!a->block || !a->auth)
			return cli_usage_error(V, "verify needs --block FILE and --auth FILE");
	} else {
		if (!has_meas)
			return cli_usage_error(V, "--measurement is required (the expected launch digest, 48 bytes)");
		if (!a->id_key)
			return cli_usage_error(V, "--id-key is required (an EC P-384 private key, PEM)");
	}
	return 0;
}

static sa_status load_key(const char *path, EVP_PKEY **out, sa_error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	sa_status st = cli_read_file(path, &pem, &len, err);
	if (st != SA_OK)
		return st;
	st = sa_p384_private_key_from_pem(pem, len, out, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", path);
	return SA_OK;
}

static void put_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_digest(json_object *o, const char *prefix, const uint8_t d[48], bool present, bool text)
{
	char hex[97];
	char *b = sa_base64_encode(d, 48);
	if (text) {
		if (present)
			printf("%s: %s\n%s-base64: %s\n", prefix, sa_hex_encode(d, 48, hex), prefix, b ? b : "?");
		else
			printf("%s: none\n", prefix);
	} else if (present) {
		char k[64];
		snprintf(k, sizeof(k), "%s", prefix);
		for (char *p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		put_str(o, k, sa_hex_encode(d, 48, hex));
		snprintf(k + strlen(k), sizeof(k) - strlen(k), "_base64");
		put_str(o, k, b ? b : "");
	}
	free(b);
}

static int print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static int build(const struct args *a)
{
	sa_error e;
	EVP_PKEY *id = NULL, *author = NULL;
	if (load_key(a->id_key, &id, &e) != SA_OK)
		return cli_input_error(V, &e);
	if (a->author_key && load_key(a->author_key, &author, &e) != SA_OK) {
		EVP_PKEY_free(id);
		return cli_input_error(V, &e);
	}
	const bool has_author = author != NULL;
	uint8_t blk[SA_ID_BLOCK_SIZE], auth_bytes[SA_ID_AUTH_SIZE], id_dig[48], author_dig[48] = {0};
	sa_id_auth *auth = malloc(sizeof(*auth));
	sa_status st = auth ? SA_OK : sa_error_set(&e, SA_ERR_NOMEM, "out of memory");
	if (st == SA_OK)
		st = sa_id_block_encode(&a->b, blk, &e);
	if (st == SA_OK)
		st = sa_id_auth_sign(&a->b, id, author, auth, &e);
	if (st == SA_OK)
		st = sa_id_auth_encode(auth, auth_bytes, &e);
	if (st == SA_OK)
		st = sa_ecdsa_pubkey_digest(&auth->id_key, id_dig, &e);
	if (st == SA_OK && has_author)
		st = sa_ecdsa_pubkey_digest(&auth->author_key, author_dig, &e);
	free(auth);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	if (st != SA_OK)
		return cli_input_error(V, &e);
	if (a->out_block && sa_write_file_atomic(a->out_block, blk, sizeof(blk), 0644, &e) != SA_OK)
		return cli_input_error(V, &e);
	if (a->out_auth && sa_write_file_atomic(a->out_auth, auth_bytes, sizeof(auth_bytes), 0644, &e) != SA_OK)
		return cli_input_error(V, &e);
	char *b_blk = sa_base64_encode(blk, sizeof(blk)), *b_auth = sa_base64_encode(auth_bytes, sizeof(auth_bytes));
	if (!b_blk || !b_auth) {
		free(b_blk);
		free(b_auth);
		e.code = SA_ERR_NOMEM;
		snprintf(e.msg, sizeof(e.msg), "out of memory");
		return cli_input_error(V, &e);
	}
	const char *author_opt = has_author ? ",author-key-enabled=on" : "";
	if (a->json) {
		json_object *o = json_object_new_object();
		put_str(o, "id_block", b_blk);
		put_str(o, "id_auth", b_auth);
		put_digest(o, "id-key-digest", id_dig, true, false);
		put_digest(o, "author-key-digest", author_dig, has_author, false);
		json_object_object_add(o, "author_key_enabled", json_object_new_boolean(has_author));
		char *q = malloc(strlen(b_blk) + strlen(b_auth) + 64);
		if (q) {
			sprintf(q, "id-block=%s,id-auth=%s%s", b_blk, b_auth, author_opt);
			put_str(o, "sev_snp_guest", q);
			free(q);
		}
		if (a->out_block)
			put_str(o, "id_block_file", a->out_block);
		if (a->out_auth)
			put_str(o, "id_auth_file", a->out_auth);
		print_json(o);
	} else {
		printf("id-block: %s\nid-auth: %s\n", b_blk, b_auth);
		put_digest(NULL, "id-key-digest", id_dig, true, true);
		put_digest(NULL, "author-key-digest", author_dig, has_author, true);
		printf("sev-snp-guest: id-block=%s,id-auth=%s%s\n", b_blk, b_auth, author_opt);
	}
	free(b_blk);
	free(b_auth);
	return CLI_EXIT_OK;
}

/* Read a file holding exactly n bytes, raw or in hex or base64. */
static sa_status read_struct(const char *path, size_t n, const char *what, uint8_t *out, sa_error *err)
{
	uint8_t *raw = NULL, *dec = NULL;
	size_t raw_len = 0, dec_len = 0;
	sa_input_format found;
	sa_status st = cli_read_file(path, &raw, &raw_len, err);
	if (st != SA_OK)
		return st;
	st = sa_decode_input(raw, raw_len, SA_INPUT_AUTO, n, &dec, &dec_len, &found, err);
	free(raw);
	if (st != SA_OK)
		return sa_error_wrap(err, st, "%s", path);
	if (dec_len != n)
		st = sa_error_set(err, dec_len < n ? SA_ERR_TRUNCATED : SA_ERR_TRAILING,
				  "%s holds %zu bytes (%s), %s is exactly %zu (0x%zX) bytes", path, dec_len,
				  sa_input_format_name(found), what, n, n);
	else
		memcpy(out, dec, n);
	free(dec);
	return st;
}

static int verify(const struct args *a)
{
	sa_error e;
	uint8_t blk[SA_ID_BLOCK_SIZE], *auth_bytes = malloc(SA_ID_AUTH_SIZE);
	sa_id_auth *auth = malloc(sizeof(*auth));
	sa_id_block b;
	int rc = CLI_EXIT_OK;
	if (!auth_bytes || !auth) {
		e.code = SA_ERR_NOMEM;
		snprintf(e.msg, sizeof(e.msg), "out of memory");
		rc = cli_input_error(V, &e);
	} else if (read_struct(a->block, SA_ID_BLOCK_SIZE, "an ID block", blk, &e) != SA_OK ||
		   read_struct(a->auth, SA_ID_AUTH_SIZE, "an ID_AUTH_INFO", auth_bytes, &e) != SA_OK ||
		   sa_id_block_decode(blk, sizeof(blk), &b, &e) != SA_OK ||
		   sa_id_auth_decode(auth_bytes, SA_ID_AUTH_SIZE, auth, &e) != SA_OK) {
		rc = cli_input_error(V, &e);
	}
	if (rc != CLI_EXIT_OK) {
		free(auth_bytes);
		free(auth);
		return rc;
	}
	uint8_t id_dig[48], author_dig[48];
	bool dig_ok = sa_ecdsa_pubkey_digest(&auth->id_key, id_dig, &e) == SA_OK &&
		      sa_ecdsa_pubkey_digest(&auth->author_key, author_dig, &e) == SA_OK;
	if (!dig_ok) {
		free(auth_bytes);
		free(auth);
		return cli_input_error(V, &e);
	}
	char version_msg[96] = "";
	bool version_ok = b.version == SA_ID_BLOCK_VERSION;
	if (!version_ok)
		snprintf(version_msg, sizeof(version_msg), "ID_BLOCK.VERSION is %" PRIu32 ", expected 1", b.version);
	sa_error e_blk, e_key;
	bool blk_ok = sa_id_block_verify(blk, auth, &e_blk) == SA_OK;
	bool key_ok = !a->author_en || sa_id_key_verify(auth, &e_key) == SA_OK;
	bool ok = version_ok && blk_ok && key_ok;

	char ld[97], fam[33], img[33];
	sa_hex_encode(b.ld, 48, ld);
	sa_hex_encode(b.family_id, 16, fam);
	sa_hex_encode(b.image_id, 16, img);
	const char *key_status = !a->author_en ? "not checked (no --author-key-enabled)" : key_ok ? "ok" : e_key.msg;
	if (a->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "verified", json_object_new_boolean(ok));
		put_str(o, "ld", ld);
		put_str(o, "family_id", fam);
		put_str(o, "image_id", img);
		json_object_object_add(o, "version", json_object_new_int64(b.version));
		json_object_object_add(o, "guest_svn", json_object_new_int64(b.guest_svn));
		char pol[32];
		snprintf(pol, sizeof(pol), "0x%" PRIx64, b.policy);
		put_str(o, "policy", pol);
		json_object_object_add(o, "id_key_algo", json_object_new_int64(auth->id_key_algo));
		json_object_object_add(o, "auth_key_algo", json_object_new_int64(auth->auth_key_algo));
		put_digest(o, "id-key-digest", id_dig, true, false);
		put_digest(o, "author-key-digest", author_dig, a->author_en, false);
		if (!version_ok)
			put_str(o, "version_error", version_msg);
		put_str(o, "id_block_sig", blk_ok ? "ok" : e_blk.msg);
		put_str(o, "id_key_sig", key_status);
		print_json(o);
	} else {
		printf("ld: %s\nfamily-id: %s\nimage-id: %s\nversion: %" PRIu32 "%s\nguest-svn: %" PRIu32
		       "\npolicy: 0x%" PRIx64 "\n",
		       ld, fam, img, b.version, version_ok ? "" : " (expected 1)", b.guest_svn, b.policy);
		put_digest(NULL, "id-key-digest", id_dig, true, true);
		put_digest(NULL, "author-key-digest", author_dig, a->author_en, true);
		printf("id-block-sig: %s\nid-key-sig: %s\n%s\n", blk_ok ? "ok" : e_blk.msg, key_status,
		       ok ? "VERIFIED" : "REJECTED");
	}
	free(auth_bytes);
	free(auth);
	return ok ? CLI_EXIT_OK : CLI_EXIT_REJECTED;
}

int cmd_idblock(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc < 0)
		return CLI_EXIT_OK; /* --help */
	if (rc)
		return rc;
	return a.verify ? verify(&a) : build(&a);
}
