#!/usr/bin/env bash
# sevattest measure through the CLI: S1 (hex), E1 (base64), --json, --verbose,
# and the exit codes of N8 (1: these inputs cannot be measured) and bad usage (2).
set -eu
BIN=$1
V=${SEVATTEST_VECTORS:-}
if [ -z "$V" ] || [ ! -d "$V" ]; then
	echo "vectors absent: skipping"
	exit 77
fi
F=$V/virtee-sev-snp-measure/tests/fixtures
out=$(mktemp)
errf=$(mktemp)
trap 'rm -f "$out" "$errf"' EXIT
fails=0

# expect CODE DESCRIPTION -- ARGS...: run measure, check the exit code.
expect() {
	local want=$1 what=$2
	shift 3
	local rc=0
	"$BIN" measure "$@" >"$out" 2>"$errf" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"
		sed 's/^/    /' "$out" "$errf"
		fails=$((fails + 1))
	else
		echo "ok: $what (exit $rc)"
	fi
}
same() { # same FILE TEXT: the file's content is exactly TEXT
	if [ "$(cat "$1")" != "$2" ]; then
		echo "FAIL: got '$(cat "$1")', expected '$2'"
		fails=$((fails + 1))
	fi
}
contains() {
	if ! grep -q -- "$2" "$1"; then
		echo "FAIL: output lacks '$2'"
		sed 's/^/    /' "$1"
		fails=$((fails + 1))
	fi
}

S1=803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977
expect 0 "S1 hex" -- --mode snp --vcpus=1 --vcpu-type=EPYC-v4 --ovmf="$F/ovmf_AmdSev_suffix.bin" \
	--kernel=/dev/null --initrd=/dev/null --append="console=ttyS0 loglevel=7" --guest-features=0x21
same "$out" "$S1"
expect 0 "S1 by family/model/stepping, --verbose" -- --mode snp --vcpu-family 23 --vcpu-model 1 --vcpu-stepping 2 \
	--ovmf="$F/ovmf_AmdSev_suffix.bin" --kernel=/dev/null --initrd=/dev/null \
	--append="console=ttyS0 loglevel=7" --guest-features=21 --verbose
same "$out" "$S1"
diff <(grep -v '^#' "$V/derived/sev_snp_measure_trace_snp_default.txt") "$errf" >/dev/null ||
	{ echo "FAIL: --verbose trace differs from the S1 trace"; fails=$((fails + 1)); }

E1=13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c
expect 0 "E1 base64" -- --mode seves --vcpus=1 --vcpu-type=EPYC-v4 --ovmf="$F/ovmf_AmdSev_suffix.bin" \
	--kernel=/dev/null --initrd=/dev/null --append="" --output-format base64
same "$out" "$(python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$E1")"

expect 0 "S7 --json" -- --mode snp --vcpus=4 --vcpu-type=EPYC-v4 --ovmf="$F/ovmf_AmdSev_suffix.bin" \
	--kernel=/dev/null --initrd=/dev/null --append="" --json
contains "$out" '"measurement": "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"'
contains "$out" '"ovmf_hash": "086e2e91'
contains "$out" '"ap_vmsa_sha384": '
contains "$out" '"pages": 36'
if command -v python3 >/dev/null; then
	python3 -m json.tool "$out" >/dev/null || { echo "FAIL: --json is not JSON"; fails=$((fails + 1)); }
fi

expect 0 "S3 then S13b through --snp-ovmf-hash" -- --mode snp:ovmf-hash --ovmf="$F/ovmf_AmdSev_suffix.bin"
seed=$(cat "$out")
expect 0 "S13b" -- --mode snp --vcpu-type=EPYC-v4 --ovmf="$F/ovmf_AmdSev_suffix.bin" --kernel=/dev/null \
	--initrd=/dev/null --guest-features=0x21 --snp-ovmf-hash "$seed"
same "$out" 329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198

expect 1 "N8 snp" -- --mode snp --vcpu-type=EPYC-v4 --ovmf="$F/ovmf_OvmfX64_suffix.bin" --kernel=/dev/null
contains "$errf" "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section"
expect 1 "N8 sev" -- --mode sev --ovmf="$F/ovmf_OvmfX64_suffix.bin" --kernel=/dev/null
contains "$errf" "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement"

expect 2 "no mode" -- --ovmf="$F/ovmf_AmdSev_suffix.bin"
expect 2 "unknown vCPU type" -- --mode snp --vcpu-type=EPYC-Bogus --ovmf="$F/ovmf_AmdSev_suffix.bin"
expect 2 "snp needs a vCPU type" -- --mode snp --ovmf="$F/ovmf_AmdSev_suffix.bin"
expect 2 "missing OVMF file" -- --mode sev --ovmf=/nonexistent/OVMF.fd
expect 2 "malformed OVMF (not a page multiple)" -- --mode sev --ovmf="$V/derived/sev_snp_measure_trace_snp_default.txt"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
