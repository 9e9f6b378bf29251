#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `sevattest show sev-cert` on the real AMD-format certificates of the vectors README §3.
# Usage: test_cli_show_sev.sh /path/to/sevattest   (vectors from $SEVATTEST_VECTORS; exit 77 = skipped)
set -eu

BIN=${1:?usage: test_cli_show_sev.sh /path/to/sevattest}
VEC=${SEVATTEST_VECTORS:-}
if [ -z "$VEC" ] || [ ! -d "$VEC" ]; then
	echo "SKIP: vectors folder absent (SEVATTEST_VECTORS='$VEC')"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 absent"; exit 77; }

PEK="$VEC/virtee-sev/tests/naples/pek.cert"
ROME_CEK="$VEC/virtee-sev/tests/rome/cek.cert"
BUNDLE="$VEC/virtee-sev/at-b0aa2b0b6f81/src/certs/tests/naples/pek_oca_cek.cert"
ASK_ARK="$VEC/google-go-sev-guest/at-f77f64d0c290/verify/trust/ask_ark_milan.sevcert"
NAPLES_ARK_576="$VEC/virtee-sev/tests/naples/ark.cert.bad"
for f in "$PEK" "$ROME_CEK" "$BUNDLE" "$ASK_ARK" "$NAPLES_ARK_576"; do
	[ -f "$f" ] || { echo "SKIP: vector $f missing"; exit 77; }
done

. "$(dirname "$0")/cli_harness.sh"

# ---- one SEV certificate: every field ----
run show sev-cert "$PEK"
expect_rc 0
expect_out_re '^Certificate 1 of 1: PEK$'
expect_out_re '^  API version: +0\.16 '
expect_out_re '^  PUB_KEY_USAGE: +0x1002 \(PEK\)$'
expect_out_re '^  PUB_KEY_ALGO: +0x2 \(ECDSA-SHA256\)$'
expect_out_re '^    CURVE: +2$'
expect_out_re '^    SHA-256 of PUB_KEY: +[0-9a-f]{64}$'
expect_out_re '^  SIG1: +by OCA \(0x1001\), ECDSA-SHA256 \(0x2\)$'
expect_out_re '^  SIG2: +by CEK \(0x1004\), ECDSA-SHA256 \(0x2\)$'
cp "$OUT" "$TMP/pek.txt"
run show sev-cert --json "$PEK"
expect_rc 0
json_check "$OUT" '
import hashlib
raw = open("'"$PEK"'", "rb").read()
assert len(d) == 1
c = d[0]
assert c["usage"] == "PEK" and c["usage_raw"] == "0x1002" and c["api_version"] == "0.16", c
k = c["public_key"]
assert k["type"] == "EC P-384" and k["curve"] == 2, k
assert k["fingerprint_sha256"] == hashlib.sha256(raw[0x10:0x414]).hexdigest(), k
assert int(k["qx"], 16) == int.from_bytes(raw[0x14:0x14 + 72], "little"), k["qx"]
s = c["signatures"]
assert [x["usage"] for x in s] == ["OCA", "CEK"], s
assert int(s[0]["r"], 16) == int.from_bytes(raw[0x41c:0x41c + 72], "little")
'

# ---- base64 and standard input give the same text ----
python3 -c 'import base64,sys; sys.stdout.write(base64.encodebytes(open(sys.argv[1],"rb").read()).decode())' \
	"$PEK" >"$TMP/pek.b64"
run show sev-cert "$TMP/pek.b64"
expect_rc 0
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/pek.txt" || fail "$last: base64 input prints differently from binary"
run_stdin "$PEK" show sev-cert -
expect_rc 0
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/pek.txt" || fail "$last: standard input prints differently from the file"

# ---- an ASK-signed CEK: RSA-PSS signature ----
run show sev-cert "$ROME_CEK"
expect_rc 0
expect_out_re '^  SIG1: +by ASK \(0x13\), RSA-SHA384 \(0x101\)$'
expect_out_re '^    RSA-PSS, 512 bytes: +[0-9a-f]{64}$'
expect_out_re '^  SIG2: +empty \(USAGE 0x1000, ALGO 0x0\)$'

# ---- a PDH_CERT_EXPORT bundle: PEK, OCA, unsigned CEK ----
run show sev-cert --json "$BUNDLE"
expect_rc 0
json_check "$OUT" '
assert [c["usage"] for c in d] == ["PEK", "OCA", "CEK"], d
assert [c["offset"] for c in d] == [0, 0x824, 0x1048]
assert all(s["empty"] for s in d[2]["signatures"]), d[2]["signatures"]
'
run show sev-cert "$BUNDLE"
expect_rc 0
expect_out_re '^Certificate 3 of 3: CEK$'

# ---- AMD CA certificates: ASK ‖ ARK, and the unsigned Naples ARK ----
run show sev-cert "$ASK_ARK"
expect_rc 0
expect_out_re '^Certificate 1 of 2: ASK$'
expect_out_re '^Certificate 2 of 2: ARK$'
expect_out_re '^  Pinned: +yes: ARK-Milan \(Milan\)$'
expect_out_re '^  Pinned: +no; certified by ARK-Milan \(Milan\)$'
expect_out_re '^  KEY_ID: +94c38e4177d0479292a7ae671d083fb6$'
expect_out_re '^  SIGNATURE: +RSASSA-PSS, SHA-384, salt = digest length$'
run show sev-cert --json "$ASK_ARK"
expect_rc 0
json_check "$OUT" '
assert [c["usage"] for c in d] == ["ASK", "ARK"], d
ark = d[1]
assert ark["self_certified"] and ark["modulus_bits"] == 4096 and ark["exponent"] == "010001", ark
assert ark["fingerprint_sha256"] == "263b13fd3170c6ffbb0b4f01f09848dc08a8dc1e9637d47e42cbe6c135e4af12", ark
assert ark["pin"] == "ARK-Milan" and ark["product"] == "Milan"
assert d[0]["issuer_pin"] == "ARK-Milan" and not d[0]["self_certified"]
'
run show sev-cert "$NAPLES_ARK_576"
expect_rc 0
expect_out_re '^  SIGNATURE: +none \(the unsigned form'
expect_out_re '^  Pinned: +yes: ARK-Naples \(Naples\)$'
run show sev-cert --json "$NAPLES_ARK_576"
expect_rc 0
json_check "$OUT" '
assert d[0]["signature"] is None and d[0]["signed_bytes"] == 576 and d[0]["pin"] == "ARK-Naples", d
'

# ---- bad input: exit 2, the field named ----
head -c 2083 "$PEK" >"$TMP/short"
run show sev-cert "$TMP/short"
expect_rc 2
expect_err "0x824"
python3 -c 'import sys; b = bytearray(open(sys.argv[1],"rb").read()); b[8] = 0; b[9] = 0x20; open(sys.argv[2],"wb").write(b)' \
	"$PEK" "$TMP/usage"
run show sev-cert "$TMP/usage"
expect_rc 2
expect_err "PUB_KEY_USAGE at 0x008"
printf 'QUJD=QUJD\n' >"$TMP/garbage.b64"
run show sev-cert "$TMP/garbage.b64"
expect_rc 2
: >"$TMP/empty"
run show sev-cert "$TMP/empty"
expect_rc 2
run show sev-cert "$TMP/none"
expect_rc 2
run show sev-cert --product milan "$PEK"
expect_rc 2
expect_err "--product applies to 'show report' only"
run show sev-cert
expect_rc 2
run help show
expect_rc 0
expect_out_re 'sevattest show sev-cert FILE'

echo "test_cli_show_sev: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
