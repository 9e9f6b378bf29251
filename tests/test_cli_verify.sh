#!/usr/bin/env bash
# sevattest verify, end to end through the CLI: exit codes 0 (verified),
# 1 (rejected) and 2 (bad usage or unreadable input) on the real vectors.
set -eu
BIN=$1
V=${SEVATTEST_VECTORS:-}
if [ -z "$V" ] || [ ! -d "$V" ]; then
	echo "vectors absent: skipping"
	exit 77
fi
TAV=$V/microsoft-TEE-Attestation-Verification/tests/test_data
GSG=$V/google-go-sev-guest/verify
TRUSTEE=$V/confidential-containers-trustee/deps/verifier/test_data
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fails=0

# expect CODE DESCRIPTION -- ARGS...: run verify (never touching KDS), check the exit code.
expect() {
	local want=$1 what=$2
	shift 3
	local rc=0
	"$BIN" verify --no-kds "$@" >"$out" 2>&1 || rc=$?
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

expect 0 "Turin v5 report verifies" -- --report "$TAV/turin_attestation_report.bin" --vcek "$TAV/turin_vcek.pem" \
	--chain "$GSG/trust/ask_ark_turin_vcek.pem" --at 2026-03-01
contains "VERIFIED"
contains "chip_id.matches_vek"

expect 0 "R1 v2 report, product from the VCEK" -- --report "$GSG/testdata/attestation.bin" \
	--vcek "$GSG/testdata/vcek.testcer" --chain "$GSG/trust/ask_ark_milan.pem" --at 2023-01-01

expect 1 "R1 refused by --policy-deny debug (N5)" -- --report "$GSG/testdata/attestation.bin" \
	--vcek "$GSG/testdata/vcek.testcer" --chain "$GSG/trust/ask_ark_milan.pem" --at 2023-01-01 --policy-deny debug
contains "policy.deny"
contains "REJECTED"

expect 1 "R1 with --stepping 12 (N5)" -- --report "$GSG/testdata/attestation.bin" \
	--vcek "$GSG/testdata/vcek.testcer" --chain "$GSG/trust/ask_ark_milan.pem" --at 2023-01-01 --stepping 12
contains "expected product stepping 12, got 0"

expect 0 "Azure bundle VCEK carries its chain (R5)" -- \
	--report "$V/derived/trustee_az_milan_hcl_report_snp.bin" --vcek "$TRUSTEE/az-snp-vtpm/vcek.pem" --at 2024-01-01

expect 0 "Azure HCL container with --report-offset 32" -- \
	--report "$TRUSTEE/az-snp-vtpm/hcl-report.bin" --report-offset 32 --vcek "$TRUSTEE/az-snp-vtpm/vcek.pem" \
	--at 2024-01-01

expect 2 "HCL container without --report-offset" -- \
	--report "$TRUSTEE/az-snp-vtpm/hcl-report.bin" --vcek "$TRUSTEE/az-snp-vtpm/vcek.pem"
contains "report-offset"

expect 0 "hex report (P4) verifies" -- --report "$V/virtee-sev/tests/certs_data/report_milan.hex" \
	--vcek "$V/virtee-sev/tests/certs_data/vcek_milan.der" --chain "$GSG/trust/ask_ark_milan.pem" --at 2024-01-01

expect 1 "VLEK report under the ASK chain (N4)" -- --report "$TRUSTEE/snp/test-vlek-report.bin" \
	--vcek "$TRUSTEE/snp/test-vlek.der" --chain "$GSG/trust/ask_ark_milan.pem" --at 2025-06-01
contains "chain.intermediate"

expect 0 "VLEK report under the ASVK chain (R4)" -- --report "$TRUSTEE/snp/test-vlek-report.bin" \
	--vcek "$TRUSTEE/snp/test-vlek.der" --chain "$GSG/trust/ask_ark_milan_vlek.pem" --at 2025-06-01

expect 1 "expired VLEK at today's date" -- --report "$TRUSTEE/snp/test-vlek-report.bin" \
	--vcek "$TRUSTEE/snp/test-vlek.der" --chain "$GSG/trust/ask_ark_milan_vlek.pem" --at 2026-01-01
contains "chain.vek_validity"

expect 1 "Milan report with the Genoa VCEK (N1)" -- --report "$TAV/milan_attestation_report.bin" \
	--vcek "$TAV/genoa_vcek.pem" --chain "$GSG/trust/ask_ark_genoa.pem" --at 2026-03-01
contains "report.signature"

expect 1 "tampered VCEK (N2a)" -- --report "$TRUSTEE/snp/test-report.bin" \
	--vcek "$TRUSTEE/snp/test-vcek-invalid-legacy.der" --chain "$GSG/trust/ask_ark_milan.pem" --at 2024-01-01

expect 2 "malformed report, 1185 bytes (N3a)" -- \
	--report "$V/LIT-Protocol-sev-snp-utils/resources/test/guest_report_bad_sig.bin"
expect 2 "malformed report, 793 bytes (N3b)" -- \
	--report "$V/LIT-Protocol-sev-snp-utils/resources/test/guest_report_corrupt.bin"
expect 2 "missing file" -- --report /nonexistent/report.bin
expect 2 "no --report" -- --vcek "$TAV/turin_vcek.pem"
expect 2 "bad --report-data length" -- --report "$TAV/turin_attestation_report.bin" --report-data 0011
contains "64"
expect 2 "unknown policy bit" -- --report "$TAV/turin_attestation_report.bin" --policy-deny debug,bogus
contains "bogus"
expect 2 "fmc in a Milan TCB" -- --report "$TAV/milan_attestation_report.bin" --min-tcb fmc=1
expect 2 "bad --at" -- --report "$TAV/milan_attestation_report.bin" --at yesterday

# Repeatable digest lists: the accepted value among others passes, a list without it fails.
R8M=5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1
R8ID=0ad79ceb0b648b0e6a90d8aa9f6ea24c33a968b6632085353145e8b19a4741a2dab9ba342e13be4fc0d225e889cc1a58
OTHER=$(printf '11%.0s' $(seq 48))
expect 0 "--measurement and --id-key-digest lists (R8)" -- --report "$TAV/milan_attestation_report.bin" \
	--vcek "$TAV/milan_vcek.pem" --chain "$GSG/trust/ask_ark_milan.pem" --at 2026-03-01 \
	--measurement "$OTHER" --measurement "$R8M" --id-key-digest "$R8ID" --require-id-block \
	--host-data 4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10
contains "measurement"
expect 1 "a measurement list without the report's value (R8)" -- --report "$TAV/milan_attestation_report.bin" \
	--vcek "$TAV/milan_vcek.pem" --chain "$GSG/trust/ask_ark_milan.pem" --at 2026-03-01 --measurement "$OTHER"
contains "MEASUREMENT is not an accepted value"
expect 1 "an author key demanded of a report without one (R8)" -- --report "$TAV/milan_attestation_report.bin" \
	--vcek "$TAV/milan_vcek.pem" --chain "$GSG/trust/ask_ark_milan.pem" --at 2026-03-01 --author-key-digest "$OTHER"
contains "author_key_digest"

expect 1 "no chain and no KDS: explains what to pass" -- --report "$TAV/turin_attestation_report.bin" \
	--vcek "$TAV/turin_vcek.pem" --at 2026-03-01
contains "--chain"

# --json gives the same verdict as data.
rc=0
"$BIN" verify --no-kds --json --report "$TAV/turin_attestation_report.bin" --vcek "$TAV/turin_vcek.pem" \
	--chain "$GSG/trust/ask_ark_turin_vcek.pem" --at 2026-03-01 --measurement 00 >"$out" 2>&1 || rc=$?
if [ "$rc" != 2 ]; then echo "FAIL: short --measurement accepted (exit $rc)"; fails=$((fails + 1)); fi
"$BIN" verify --no-kds --json --report "$TAV/turin_attestation_report.bin" --vcek "$TAV/turin_vcek.pem" \
	--chain "$GSG/trust/ask_ark_turin_vcek.pem" --at 2026-03-01 --min-tcb fmc=1,bl=1,tee=1,snp=5,ucode=81 \
	>"$out" 2>&1 && rc=0 || rc=$?
if [ "$rc" != 1 ] || ! python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verified"] is False, d
ids = {c["id"]: c["status"] for c in d["checks"]}
assert ids["report.signature"] == "pass", ids
assert ids["tcb.min_current"] == "fail", ids
assert d["product"] == "Turin", d
' "$out"; then
	echo "FAIL: --json verdict"
	sed 's/^/    /' "$out"
	fails=$((fails + 1))
else
	echo "ok: --json verdict names the failed minimum TCB"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all CLI verify checks passed"
