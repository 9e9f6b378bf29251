#!/usr/bin/env bash
# SEV (legacy) chains completed from a loopback KDS through the CLI: `owner session` and
# `verify --sev-report` take AMD's ASK and ARK (ask_ark_<product>.cert, found through the CEK's
# ASK or --product) and the ASK-signed CEK (--id) from KDS, cache first; --offline, --no-kds,
# and a named --trust-root never fetching.  The server (python3) serves the real Naples and Rome
# vectors in KDS layout and logs every request.
set -eu
BIN=$1
. "$(dirname "$0")/cli_harness.sh"

V=${SEVATTEST_VECTORS:-}
if [ -z "$V" ] || [ ! -d "$V/virtee-sev" ]; then
	echo "SKIP: no vectors"
	exit 77
fi
if [ "$have_python" -eq 0 ]; then
	echo "SKIP: python3 absent"
	exit 77
fi
VS=$V/virtee-sev
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# ---- the server: WWW in KDS layout, port in $TMP/port, one line per request in $TMP/log ----------------
WWW=$TMP/www
mkdir -p "$WWW/cek/id"
ID_NAPLES=$(python3 -c 'print("".join("%02x" % ((i * 7 + 3) & 0xff) for i in range(64)))')
cp "$VS/tests/naples/cek.cert" "$WWW/cek/id/$ID_NAPLES"
for p in naples rome; do
	cat "$VS/src/certs/sev/builtin/$p/ask.cert" "$VS/src/certs/sev/builtin/$p/ark.cert" >"$WWW/ask_ark_$p.cert"
done
python3 - "$WWW" "$TMP/port" "$TMP/log" <<'EOF' &
import functools, http.server, os, sys
www, port_file, log = sys.argv[1:4]
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        super().do_GET()
srv = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(H, directory=www))
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
EOF
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -f "$TMP/port" ] && break; sleep 0.1; done
[ -f "$TMP/port" ] || { echo "FAIL: the loopback server did not start"; exit 1; }
URL=http://127.0.0.1:$(cat "$TMP/port")
touch "$TMP/log"
requests() { wc -l <"$TMP/log" | tr -d ' '; }

CACHE=$TMP/cache
KDS=(--kds-url "$URL" --amd-ca-url "$URL" --cache-dir "$CACHE")
N=$VS/tests/naples
R=$VS/tests/rome
SESSION=(owner session --policy 0 --out-dir "$TMP/s")

# ---- owner session -------------------------------------------------------------------------------
# Naples: the ASK and ARK of the product whose ASK signs the CEK (Naples is tried first).
run "${SESSION[@]}" --certs "$N" "${KDS[@]}"
expect_rc 0
expect_out "PDH chain verified (to AMD's pinned ARK)"
grep -qx "/ask_ark_naples.cert" "$TMP/log" || fail "Naples's CA file was not fetched"
[ -f "$CACHE/sev/ask_ark_naples.cert" ] || fail "ask_ark_naples.cert not cached"

# Rome without --product: Naples's ASK does not sign the CEK, Rome's does.
run "${SESSION[@]}" --certs "$R" "${KDS[@]}"
expect_rc 0
expect_out "PDH chain verified"
grep -qx "/ask_ark_rome.cert" "$TMP/log" || fail "Rome's CA file was not fetched"
[ "$(grep -c ask_ark_naples "$TMP/log")" = 1 ] || fail "Naples's file fetched again instead of from the cache"

# Offline, from the cache: no request.
before=$(requests)
run "${SESSION[@]}" --certs "$R" "${KDS[@]}" --offline
expect_rc 0
run "${SESSION[@]}" --certs "$R" "${KDS[@]}" --offline --product rome
expect_rc 0
[ "$(requests)" = "$before" ] || fail "--offline reached the server"
# Offline with an empty cache: the chain lacks the ASK and ARK, and the message says why.
run "${SESSION[@]}" --certs "$R" --kds-url "$URL" --amd-ca-url "$URL" --cache-dir "$TMP/empty" --offline
expect_rc 1
expect_err "offline"
expect_err "could be had"
expect_err "sev.chain.ark"
[ "$(requests)" = "$before" ] || fail "--offline with an empty cache reached the server"

# --no-kds, and a named root (the emulator's path): nothing fetched, so the chain lacks its ASK.
run "${SESSION[@]}" --certs "$R" "${KDS[@]}" --no-kds
expect_rc 1
run "${SESSION[@]}" --certs "$N" "${KDS[@]}" --trust-root "$VS/src/certs/sev/builtin/naples/ark.cert"
expect_rc 1
expect_err "sev.chain.ask"
[ "$(requests)" = "$before" ] || fail "--no-kds or --trust-root reached the server"

# The wrong --product: its ASK does not sign the CEK.
run "${SESSION[@]}" --certs "$N" "${KDS[@]}" --product rome
expect_rc 1
expect_err "KDS:"

# The CEK as PDH_CERT_EXPORT gives it (unsigned): with --id the signed one comes from KDS.
UNS=$VS/at-ae3a24ab7c3d/src/certs/naples/cek.uns.cert
NCERTS=(--pdh "$N/pdh.cert" --pek "$N/pek.cert" --oca "$N/oca.cert")
run "${SESSION[@]}" "${NCERTS[@]}" --cek "$UNS" "${KDS[@]}"
expect_rc 1
expect_err "--id"
run "${SESSION[@]}" "${NCERTS[@]}" --cek "$UNS" "${KDS[@]}" --id "$ID_NAPLES"
expect_rc 0
expect_out "PDH chain verified (to AMD's pinned ARK)"
grep -qx "/cek/id/$ID_NAPLES" "$TMP/log" || fail "the CEK was not fetched by its ID"
[ -f "$CACHE/cek/id/$ID_NAPLES.cert" ] || fail "the CEK was not cached"
# An ID KDS does not know: 404, the chain stays incomplete.
OTHER=$(python3 -c 'print("ab" * 64)')
run "${SESSION[@]}" "${NCERTS[@]}" --cek "$UNS" "${KDS[@]}" --id "$OTHER" --product naples
expect_rc 1
expect_err "HTTP 404"
expect_err "sev.chain.cek"
# The Rome CEK's ID serving Naples's CEK: another key, refused.
run "${SESSION[@]}" --pdh "$R/pdh.cert" --pek "$R/pek.cert" --oca "$R/oca.cert" \
	--cek "$UNS" "${KDS[@]}" --id "$ID_NAPLES" --product rome
expect_rc 1

# Bad options.
run "${SESSION[@]}" --certs "$N" "${KDS[@]}" --offline --no-kds
expect_rc 2
expect_err "exclude each other"
run "${SESSION[@]}" --certs "$N" "${KDS[@]}" --id abcd
expect_rc 2
expect_err "expected GET_ID's 64"
run "${SESSION[@]}" --certs "$N" "${KDS[@]}" --product Sapporo
expect_rc 2

# ---- verify --sev-report ---------------------------------------------------------------------------
# No report of these platforms exists (their PEK keys are AMD's customers'): a zero report fails its
# signature, but every link of the chain from the pinned ARK must pass, completed from the cache.
python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(0xD0))' "$TMP/report.bin"
before=$(requests)
run verify --sev-report "$TMP/report.bin" --mnonce 00000000000000000000000000000000 --certs "$R" "${KDS[@]}" --offline --json
expect_rc 1
json_check "$OUT" '
c = {x["id"]: x["status"] for x in d["checks"]}
for k in ("sev.chain.ark", "sev.chain.ask", "sev.chain.cek", "sev.chain.pek_cek", "sev.chain.oca", "sev.chain.pek_oca"):
    assert c.get(k) == "pass", (k, c.get(k))
assert d["verified"] is False'
run verify --sev-report "$TMP/report.bin" --mnonce 00000000000000000000000000000000 "${NCERTS[@]}" --cek "$UNS" \
	--id "$ID_NAPLES" "${KDS[@]}" --offline
expect_rc 1
expect_out_re "✓ sev.chain.cek"
expect_out_re "✓ sev.chain.ask"
[ "$(requests)" = "$before" ] || fail "verify --offline reached the server"
run verify --sev-report "$TMP/report.bin" --mnonce 00000000000000000000000000000000 --certs "$R" "${KDS[@]}" --no-kds
expect_rc 1
expect_out_re "✗ sev.chain.ask"

echo "$checks checks, $fails failures"
[ "$fails" -eq 0 ]
