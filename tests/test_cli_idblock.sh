#!/usr/bin/env bash
# sevattest idblock, end to end through the CLI: building and signing from the
# vectors' PEM keys (digests and the deterministic ID block reproduce), and
# `idblock verify` with exit codes 0 (verified), 1 (rejected), 2 (bad input).
set -eu
BIN=$1
V=${SEVATTEST_VECTORS:-}
if [ -z "$V" ] || [ ! -d "$V" ]; then
	echo "vectors absent: skipping"
	exit 77
fi
SSM=$V/virtee-sev-snp-measure/tests/keyfile
LIT=$V/LIT-Protocol-sev-snp-utils/resources/test/identity
VSEV=$V/virtee-sev/tests/measurement
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
fails=0

expect() {
	local want=$1 what=$2
	shift 3
	local rc=0
	"$BIN" idblock "$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"
		sed 's/^/    /' "$out"
		fails=$((fails + 1))
	else
		echo "ok: $what (exit $rc)"
	fi
}
contains() {
	if ! grep -q -- "$1" "$out"; then
		echo "FAIL: output lacks '$1'"
		sed 's/^/    /' "$out"
		fails=$((fails + 1))
	fi
}

# sev-snp-measure tests/test_id_block.py: the deterministic ID block and both digests.
expect 0 "build from sev-snp-measure's keys" -- --measurement B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t \
	--id-key "$SSM/id_key_test.pem" --author-key "$SSM/author_key_test.pem" --out-block "$tmp/b.bin" --out-auth "$tmp/a.bin"
contains "id-block: B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA"
contains "id-key-digest-base64: hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU"
contains "author-key-digest-base64: YxEcNLv8Ckk4+aAJvQdJgNgXIyPmFZnJ/TNtqGcySOHcqY0L6PdjdqEGuK/UwKBX"
contains "sev-snp-guest: id-block=B28FLQi9.*,id-auth=AQAAAAEAAAA.*,author-key-enabled=on"
expect 0 "its files verify" -- verify --block "$tmp/b.bin" --auth "$tmp/a.bin" --author-key-enabled
contains "VERIFIED"

# virtee/sev tests/id-block.rs: hex measurement, JSON output, the digests.
expect 0 "build from virtee's keys (hex, JSON)" -- --json \
	--measurement a14d638341e5674628fe1e02fbedebe5e5ab4faf1dd72d8966068e615bb99efd13d214b35c231715b38e263dc6059745 \
	--id-key "$VSEV/test_id_key.pem" --author-key "$VSEV/test_auth_key.pem"
contains '"id_block":"oU1jg0HlZ0Yo/h4C++3r5eWrT68d1y2JZgaOYVu5nv0T0hSzXCMXFbOOJj3GBZdFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA"'
contains '"id_key_digest_base64":"WfssaG36T+9J84M5qndckAUcKNVzg93DuvO160sUlt87DbvcuuX+J2d6ZEggdz/i"'
contains '"author_key_digest_base64":"7tgRafsMteDsNHlPEo/U4MSkb2fGWhrfqB/LJLzAiMJyNpt//D6ytq9qQoShs2xf"'
# virtee's own ID_AUTH_INFO over that block.
printf '%s' oU1jg0HlZ0Yo/h4C++3r5eWrT68d1y2JZgaOYVu5nv0T0hSzXCMXFbOOJj3GBZdFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA >"$tmp/virtee.b64"
expect 0 "virtee test_auth_block.bin verifies" -- verify --block "$tmp/virtee.b64" --auth "$VSEV/test_auth_block.bin" --author-key-enabled
# LIT sev-snp-utils: base64 files.
expect 0 "LIT id_block.b64 / auth_info.b64 verify" -- verify --block "$LIT/id_block.b64" --auth "$LIT/auth_info.b64" --author-key-enabled
contains "id-key-digest: 64a7dce6dcc44a98f0db95301dec5d33def24ffd71df2911663dd8603e18a6831ac6fafd2b67d983b338305db818516c"
contains "author-key-digest: bbb27d63ea847e0412b5b07ccdd673a46212545aceaf6b87521467ab66b982ead7901a9a190bdd1ffacf656c7ac1e9cc"

# Rejections: a flipped byte of ID_BLOCK_SIG (0x40) and of ID_KEY_SIG (0x680).
cp "$tmp/a.bin" "$tmp/bad.bin"
printf '\xff' | dd of="$tmp/bad.bin" bs=1 seek=$((0x40)) conv=notrunc status=none
expect 1 "flipped ID_BLOCK_SIG is rejected" -- verify --block "$tmp/b.bin" --auth "$tmp/bad.bin"
contains "ID_BLOCK_SIG does not verify"
cp "$tmp/a.bin" "$tmp/bad.bin"
printf '\xff' | dd of="$tmp/bad.bin" bs=1 seek=$((0x680)) conv=notrunc status=none
expect 1 "flipped ID_KEY_SIG is rejected with --author-key-enabled" -- verify --block "$tmp/b.bin" --auth "$tmp/bad.bin" --author-key-enabled
expect 0 "... and not checked without it" -- verify --block "$tmp/b.bin" --auth "$tmp/bad.bin"

# Bad usage and unreadable input.
head -c 100 "$tmp/a.bin" >"$tmp/short.bin"
expect 2 "truncated ID_AUTH_INFO" -- verify --block "$tmp/b.bin" --auth "$tmp/short.bin"
contains "exactly 4096"
expect 2 "no --id-key" -- --measurement B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t
expect 2 "short measurement" -- --measurement 00112233 --id-key "$SSM/id_key_test.pem"
expect 2 "family id of the wrong length" -- --measurement B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t \
	--id-key "$SSM/id_key_test.pem" --family-id 0011
expect 2 "not a key" -- --measurement B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t --id-key "$tmp/b.bin"
expect 2 "verify without --auth" -- verify --block "$tmp/b.bin"
expect 0 "help" -- --help

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
