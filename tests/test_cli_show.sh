#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `sevattest show` (and the dispatcher) on real AMD vectors.
# Usage: test_cli_show.sh /path/to/sevattest   (vectors from $SEVATTEST_VECTORS; exit 77 = skipped)
set -eu

BIN=${1:?usage: test_cli_show.sh /path/to/sevattest}
VEC=${SEVATTEST_VECTORS:-}
if [ -z "$VEC" ] || [ ! -d "$VEC" ]; then
	echo "SKIP: vectors folder absent (SEVATTEST_VECTORS='$VEC')"
	exit 77
fi

R10="$VEC/microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin"
R10_VCEK="$VEC/microsoft-TEE-Attestation-Verification/tests/test_data/turin_vcek.pem"
MILAN_HEX="$VEC/virtee-sev/tests/certs_data/report_milan.hex"
MILAN_BIN="$VEC/derived/virtee_sev_report_milan.bin"
HCL="$VEC/confidential-containers-trustee/deps/verifier/test_data/az-snp-vtpm/hcl-report.bin"
HCL_SNP="$VEC/derived/trustee_az_milan_hcl_report_snp.bin"
CORRUPT="$VEC/LIT-Protocol-sev-snp-utils/resources/test/guest_report_corrupt.bin"
ASK_ARK="$VEC/google-go-sev-guest/verify/trust/ask_ark_milan.pem"
VLEK="$VEC/confidential-containers-trustee/deps/verifier/test_data/snp/test-vlek.der"

. "$(dirname "$0")/cli_harness.sh"

for f in "$R10" "$R10_VCEK" "$MILAN_HEX" "$MILAN_BIN" "$HCL" "$HCL_SNP" "$CORRUPT" "$ASK_ARK" "$VLEK"; do
	[ -f "$f" ] || { echo "SKIP: vector $f missing"; exit 77; }
done

# ---- dispatcher ----
run
expect_rc 2
expect_err "Usage: sevattest <command>"
run frobnicate
expect_rc 2
expect_err "unknown command 'frobnicate'"
run help
expect_rc 0
expect_out "show"
expect_out "verify"
run --help
expect_rc 0
expect_out "Commands:"
run help show
expect_rc 0
expect_out "Usage: sevattest show report FILE"
expect_out "--report-offset"
run help nosuch
expect_rc 2
expect_err "sevattest help: unknown command 'nosuch'"
run version
expect_rc 0
expect_out_re '^sevattest [0-9]+\.[0-9]+'

# ---- usage errors of show ----
run show
expect_rc 2
expect_err "sevattest show: expected 'report FILE' or 'cert FILE'"
expect_err "sevattest help show"
run show widget "$R10"
expect_rc 2
expect_err "unknown object 'widget'"
run show report
expect_rc 2
expect_err "expected a FILE"
run show report "$R10" extra
expect_rc 2
expect_err "unexpected argument 'extra'"
run show report --bogus "$R10"
expect_rc 2
expect_err "unknown option '--bogus'"
run show report --format rot13 "$R10"
expect_rc 2
expect_err "--format 'rot13'"
run show report --product Venice "$R10"
expect_rc 2
expect_err "--product"
run show report --report-offset -5 "$R10"
expect_rc 2
expect_err "--report-offset"
run show report --report-offset
expect_rc 2
expect_err "needs a value"
run show cert --report-offset 32 "$ASK_ARK"
expect_rc 2
expect_err "--report-offset applies to 'show report' only"
run show report "$TMP/does-not-exist"
expect_rc 2
expect_err "does-not-exist"

# ---- R10: Turin, version 5 ----
run show report "$R10"
expect_rc 0
expect_out "Turin (from the report's CPUID: family 0x1a, model 0x02)"
expect_out_re '^VERSION: +5$'
expect_out_re '^REPORTED_TCB: +0x5100000004010101 \(fmc=1 bl=1 tee=1 snp=4 ucode=81\)$'
expect_out "fmc=1"
expect_out_re '^PLATFORM_INFO: +0x65$'
expect_out_re '^  smt-en: +yes'
expect_out_re '^  tsme-en: +no'
expect_out_re '^  alias-check-complete: +yes'
expect_out_re '^  smt: +yes'
expect_out_re '^  reserved-mbo: +yes'
expect_out_re '^  debug: +no'
expect_out_re '^  SIGNING_KEY: +VCEK \(0\)$'
expect_out_re '^LAUNCH_MIT_VECTOR: +0x3f$'
expect_out_re '^CURRENT_MIT_VECTOR: +0x3f$'
expect_out_re '^CPUID_FAM_ID: +0x1a$'
expect_out_re '^CHIP_ID: +59790fb1c39f35c1'
expect_out_re '^Reserved bytes: +all zero$'
run show report --json "$R10"
expect_rc 0
cp "$OUT" "$TMP/r10.json"
json_check "$TMP/r10.json" '
assert d["version"] == 5, d["version"]
assert d["reported_tcb"]["ucode"] == 81, d["reported_tcb"]
assert d["reported_tcb"]["fmc"] == 1 and d["reported_tcb"]["bl"] == 1 and d["reported_tcb"]["snp"] == 4
assert d["reported_tcb"]["raw"] == "0x5100000004010101", d["reported_tcb"]["raw"]
assert d["product"] == {"name": "Turin", "source": "cpuid", "tcb_layout": "turin"}, d["product"]
assert d["cpuid"] == {"family": 0x1a, "model": 2, "stepping": 1}, d["cpuid"]
assert d["platform_info"] == "0x65"
pi = d["platform_info_decoded"]
assert pi["smt-en"] and not pi["tsme-en"] and pi["ecc-en"] and pi["alias-check-complete"], pi
assert pi["unknown_bits"] == "0x40", pi
assert d["policy"] == "0x3001f"
p = d["policy_decoded"]
assert p["abi_major"] == 0 and p["abi_minor"] == 31 and p["smt"] and p["reserved-mbo"] and not p["debug"], p
assert p["unknown_bits"] == "0x0"
assert d["launch_mit_vector"] == "0x3f" and d["current_mit_vector"] == "0x3f"
assert d["key_info"]["signing_key"] == "VCEK" and d["key_info"]["author_key_en"] is False
assert d["chip_id"] == "59790fb1c39f35c1" + "00" * 56, d["chip_id"]
assert len(d["measurement"]) == 96 and d["measurement"].startswith("6d6c354511d6f7c6")
assert d["signature_algo"] == 1
assert len(d["signature"]["r"]) == 144 and len(d["signature"]["s"]) == 144
assert d["reserved_findings"] == []
for k in ("guest_svn", "family_id", "image_id", "vmpl", "current_tcb", "report_data", "host_data",
          "id_key_digest", "author_key_digest", "report_id", "report_id_ma", "committed_tcb",
          "current_firmware", "committed_firmware", "launch_tcb"):
    assert k in d, k
assert all(x.count(".") == 2 for x in (d["current_firmware"], d["committed_firmware"]))
'
# A --product that disagrees with the CPUID is ignored, and said so.
run show report --product Milan "$R10"
expect_rc 0
expect_out "WARNING: --product Milan ignored: the report's CPUID says Turin"
expect_out "fmc=1"

# ---- R2: Milan version 2, as hex text and as binary ----
run show report "$MILAN_BIN"
expect_rc 0
expect_out_re '^Product: +unknown \(version 2 reports carry no CPUID fields'
expect_out "0x7308000000000003 (bl=3 tee=0 snp=8 ucode=115)"
expect_out_re '^CPUID: +not in version 2 reports$'
expect_out_re '^MIT vectors: +not in version 2 reports$'
grep -v '^Input:' "$OUT" >"$TMP/milan_bin.txt"
run show report "$MILAN_HEX"
expect_rc 0
expect_out "(hex)"
grep -v '^Input:' "$OUT" >"$TMP/milan_hex.txt"
checks=$((checks + 1))
cmp -s "$TMP/milan_bin.txt" "$TMP/milan_hex.txt" || fail "show report: hex and binary forms of R2 print differently"
run show report --json "$MILAN_HEX"
cp "$OUT" "$TMP/milan_hex.json"
run show report --json --format binary "$MILAN_BIN"
expect_rc 0
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/milan_hex.json" || fail "show report --json: hex and binary forms of R2 differ"
json_check "$TMP/milan_hex.json" '
assert d["version"] == 2
assert "cpuid" not in d and "launch_mit_vector" not in d
assert d["product"]["source"] == "none" and d["product"]["name"] == "unknown", d["product"]
assert d["reported_tcb"] == {"raw": "0x7308000000000003", "bl": 3, "tee": 0, "snp": 8, "ucode": 115}, d["reported_tcb"]
assert d["current_firmware"] == "1.52.4", d["current_firmware"]
assert d["policy"] == "0x30000"
'
run show report --json --product Genoa-B1 "$MILAN_BIN"
expect_rc 0
json_check "$OUT" '
assert d["product"] == {"name": "Genoa", "source": "user", "tcb_layout": "milan-genoa"}, d["product"]
'
run show report --product Milan "$MILAN_BIN"
expect_rc 0
expect_out "Milan (from --product; version 2 reports carry no CPUID fields)"
# Standard input.
rc=0
"$BIN" show report --json - <"$MILAN_HEX" >"$OUT" 2>"$ERR" || rc=$?
last="sevattest show report --json - <report_milan.hex"
expect_rc 0
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/milan_hex.json" || fail "$last: differs from the file's output"
# Base64 (wrapped at 76 columns) decodes to the same report.
base64 "$MILAN_BIN" >"$TMP/milan.b64"
run show report --json "$TMP/milan.b64"
expect_rc 0
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/milan_hex.json" || fail "$last: base64 form of R2 differs"
# A non-zero reserved byte (0x04C) is reported as a warning, in text and JSON.
cp "$MILAN_BIN" "$TMP/reserved.bin"
chmod u+w "$TMP/reserved.bin"
printf '\001' | dd of="$TMP/reserved.bin" bs=1 seek=76 conv=notrunc 2>/dev/null
run show report "$TMP/reserved.bin"
expect_rc 0
expect_out_re '^Reserved bytes: +NOT all zero'
expect_out "WARNING: reserved (0x04C): 4 byte(s) at 0x04c are not zero; they must be zero in a version 2 report"
run show report --json "$TMP/reserved.bin"
json_check "$OUT" '
want = [{"offset": 0x4c, "length": 4, "name": "reserved (0x04C)", "must_be_zero": True}]
assert d["reserved_findings"] == want, d["reserved_findings"]
'
# Forcing the wrong encoding fails cleanly.
run show report --format hex "$MILAN_BIN"
expect_rc 2
expect_err "hex"
run show report --format binary "$MILAN_HEX"
expect_rc 2
expect_err "more than one report"

# ---- Azure HCL container: report at byte 32 ----
run show report "$HCL"
expect_rc 2
expect_err "holds 2600 bytes, more than one report (1184); pass --report-offset"
run show report --report-offset 32 "$HCL"
expect_rc 0
expect_out "report at byte offset 32"
expect_out_re '^GUEST_SVN: +5$'
expect_out_re '^REPORT_DATA: +b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac$'
run show report --json --report-offset 0x20 "$HCL"
expect_rc 0
cp "$OUT" "$TMP/hcl.json"
run show report --json "$HCL_SNP"
checks=$((checks + 1))
cmp -s "$OUT" "$TMP/hcl.json" || fail "show report --report-offset 0x20: differs from the extracted report"
run show report --report-offset 2000 "$HCL"
expect_rc 2
expect_err "--report-offset 2000"
expect_err "2600 bytes"
run show report --report-offset 9999 "$HCL"
expect_rc 2
expect_err "--report-offset 9999 is past the end"

# ---- truncated report ----
run show report "$CORRUPT"
expect_rc 2
expect_err "793 bytes"
expect_err "truncated"
run show report --json "$CORRUPT"
expect_rc 2
checks=$((checks + 1))
[ ! -s "$OUT" ] || fail "$last: printed to stdout on error"

# ---- certificates ----
run show cert "$ASK_ARK"
expect_rc 0
expect_out "Certificate 1 of 2:"
expect_out "Certificate 2 of 2:"
expect_out_re '^  Role: +ASK$'
expect_out_re '^  Role: +ARK$'
expect_out_re '^  Subject CN: +SEV-Milan$'
expect_out_re '^  Subject CN: +ARK-Milan$'
expect_out_re '^  Serial: +0x10001$'
expect_out_re '^  Key: +RSA-4096$'
expect_out_re '^  AMD extensions: +none$'
run show cert --json "$ASK_ARK"
expect_rc 0
json_check "$OUT" '
assert [c["role"] for c in d] == ["ASK", "ARK"], d
assert [c["serial"] for c in d] == ["0x10001", "0x10000"], [c["serial"] for c in d]
assert all(c["product"] == "Milan" and len(c["fingerprint_sha256"]) == 64 for c in d)
assert d[1]["subject_cn"] == d[1]["issuer_cn"] == "ARK-Milan"
assert d[0]["not_before"].endswith("Z") and d[0]["amd_extensions"] == {}
'
run show cert "$VLEK"
expect_rc 0
expect_out_re '^  Role: +VLEK$'
expect_out "CN=cc-us-east-2.amazonaws.com"
expect_out_re '^    csp_id \(\.5\): +CN=cc-us-east-2\.amazonaws\.com$'
expect_out_re '^  Key: +EC-P384$'
run show cert --json "$VLEK"
expect_rc 0
json_check "$OUT" '
assert len(d) == 1 and d[0]["role"] == "VLEK"
x = d[0]["amd_extensions"]
assert x["csp_id"] == "CN=cc-us-east-2.amazonaws.com", x
assert "hwid" not in x
assert x["bl_spl"] == 4 and x["snp_spl"] == 24 and x["ucode_spl"] == 217, x
'
run show cert --json "$R10_VCEK"
expect_rc 0
json_check "$OUT" '
c = d[0]
assert c["role"] == "VCEK" and c["product"] == "Turin", c
h = c["amd_extensions"]["hwid"]
assert h["hex"] == "59790fb1c39f35c1" and h["length"] == 8, h
assert c["amd_extensions"]["fmc_spl"] == 1, c["amd_extensions"]
'
run show cert "$R10_VCEK"
expect_rc 0
expect_out_re '^    hwID \(\.4\): +59790fb1c39f35c1 \(8 bytes, '
expect_out_re '^    fmcSPL \(\.3\.9\): +1$'
# A report is not a certificate.
run show cert "$R10"
expect_rc 2
expect_err "sevattest show: "

echo "test_cli_show: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
