#!/usr/bin/env bash
# sevattest host qmp: against Debian's real QEMU 7.2 (its own "SEV is not enabled" and query-sev
# answers; skipped with a message when qemu-system-x86_64 is absent) and against the emulator
# daemon's per-VM QMP socket, where the reports from `report` and `generic-report` both verify
# with `sevattest verify --sev-report ... --mnonce` for the same mnonce.
set -eu
BIN=$1
export SEVATTEST_EMU=$2
HARNESS_NAME=cli-qmp
. "$(dirname "$0")/emu_harness.sh"
MN=ZBaOEOsVmenc5q34VJb9jw==

# ---- usage ----
expect 2 "no --socket" -- "$BIN" host qmp sev-info
contains "--socket PATH is required"
expect 2 "report without --mnonce" -- "$BIN" host qmp --socket "$T/none" report
expect 2 "--mnonce of 8 bytes" -- "$BIN" host qmp --socket "$T/none" report --mnonce AAAAAAAAAAA=
contains "expected 16 bytes"
expect 2 "--out-dir with report" -- "$BIN" host qmp --socket "$T/none" report --mnonce "$MN" --out-dir "$T"
expect 2 "unknown command" -- "$BIN" host qmp --socket "$T/none" frobnicate
expect 2 "no such socket: a connection failure" -- "$BIN" host qmp --socket "$T/none" sev-info
expect 0 "--help" -- "$BIN" host qmp --help
contains "generic-report"

# ---- real QEMU 7.2 ----
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	QS=$T/qemu.qmp
	qemu-system-x86_64 -machine none -display none -nodefaults -qmp "unix:$QS,server=on,wait=off" \
		>"$T/qemu.log" 2>&1 &
	QPID=$!
	for _ in $(seq 100); do
		[ -S "$QS" ] && break
		sleep 0.1
	done
	[ -S "$QS" ] || { cat "$T/qemu.log"; echo "FAIL: QEMU's QMP socket did not appear"; exit 1; }
	expect 1 "QEMU: report gets QEMU's own error" -- "$BIN" host qmp --socket "$QS" report --mnonce "$MN"
	contains "qmp: GenericError: SEV is not enabled"
	expect 0 "QEMU: sev-info" -- "$BIN" host qmp --socket "$QS" sev-info
	contains "enabled: false"
	contains "state: uninit"
	expect 0 "QEMU: sev-info --json" -- "$BIN" host qmp --socket "$QS" --json sev-info
	contains '"enabled": false'
	expect 1 "QEMU: launch-measure" -- "$BIN" host qmp --socket "$QS" launch-measure
	contains "qmp: GenericError: SEV launch measurement is not available"
	expect 1 "QEMU: a missing argument, QEMU's text" -- "$BIN" host qmp --socket "$QS" raw \
		'{"execute": "query-sev-attestation-report"}'
	contains "qmp: GenericError: Parameter 'mnonce' is missing"
	expect 1 "QEMU: unknown command" -- "$BIN" host qmp --socket "$QS" raw '{"execute": "no-such"}'
	contains "qmp: CommandNotFound: The command no-such has not been found"
	expect 0 "QEMU: raw query-status" -- "$BIN" host qmp --socket "$QS" raw '{"execute": "query-status"}'
	contains '"status"'
	expect 2 "raw: not JSON" -- "$BIN" host qmp --socket "$QS" raw '{"execute": '
	kill "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
else
	echo "skip: qemu-system-x86_64 is absent (bash scripts/install-deps.sh installs qemu-system-x86)"
fi

# ---- the emulator daemon's QMP socket ----
expect 0 "emu create (RSA-2048)" -- "$BIN" emu create --state "$S" --rsa-bits 2048
expect 0 "emu start" -- "$BIN" emu start --state "$S"
expect 0 "host export-certs --full" -- "$BIN" host --backend "emu:$S/run/host.sock" export-certs \
	--out-dir "$T/pcerts" --full
expect 0 "SEV-ES launch" -- "$BIN" emu vm launch --state "$S" --json \
	--object "sev-guest,id=sev0,reduced-phys-bits=1,policy=0x5"
QMP=$(jf qmp)
for _ in $(seq 50); do
	[ -S "$QMP" ] && break
	sleep 0.1
done
[ -S "$QMP" ] || fatal "no QMP socket for the SEV-ES guest"

expect 0 "emu: sev-info" -- "$BIN" host qmp --socket "$QMP" sev-info
contains "enabled: true"
contains "state: running"
contains "policy: 0x5"
expect 0 "emu: report" -- "$BIN" host qmp --socket "$QMP" report --mnonce "$MN" --out "$T/r1.bin"
expect 0 "emu: generic-report" -- "$BIN" host qmp --socket "$QMP" generic-report --mnonce "$MN" --out "$T/r2.bin"
contains '"launch-digest"'
contains "\"mnonce\": \"$MN\""
for r in r1 r2; do
	expect 0 "verify --sev-report ($r) with the same mnonce" -- "$BIN" verify --sev-report "$T/$r.bin" \
		--mnonce "$MN" --certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert"
	expect 1 "verify --sev-report ($r) with another mnonce is rejected" -- "$BIN" verify --sev-report "$T/$r.bin" \
		--mnonce AAAAAAAAAAAAAAAAAAAAAA== --certs "$T/pcerts" --trust-root "$T/pcerts/ark.cert"
done
"$BIN" host qmp --socket "$QMP" report --mnonce "$MN" >"$T/r1.b64" 2>"$T/r1.err" || true
python3 - "$T/r1.b64" <<'EOF' || { echo "FAIL: the printed report is not 208 bytes of base64"; cat "$T/r1.b64" "$T/r1.err"; fails=$((fails + 1)); }
import base64, sys
assert len(base64.b64decode(open(sys.argv[1]).read().strip(), validate=True)) == 208
EOF
expect 0 "emu: capabilities --out-dir" -- "$BIN" host qmp --socket "$QMP" capabilities --out-dir "$T/caps"
contains "cbitpos: 51"
[ "$(stat -c %s "$T/caps/cert-chain.cert")" = 6252 ] || { echo "FAIL: cert-chain.cert is not 3 x 2084 bytes"; fails=$((fails + 1)); }
expect 1 "emu: a 15-byte mnonce, QEMU's text" -- "$BIN" host qmp --socket "$QMP" raw \
	'{"execute": "query-sev-attestation-report", "arguments": {"mnonce": "AAAAAAAAAAAAAAAAAAAA"}}'
contains "qmp: GenericError: SEV: mnonce must be 16 bytes (got 15)"
expect 1 "emu: inject after the launch, QEMU's text" -- "$BIN" host qmp --socket "$QMP" inject-secret \
	--header "$T/r1.bin" --secret "$T/r1.bin" --gpa 0x800000
contains "qmp: GenericError: SEV: Not in correct state. (LSECRET) 3"

# An SNP guest: the union shape of query-sev, and the legacy report refused as KVM would.
expect 0 "SNP launch" -- "$BIN" emu vm launch --state "$S" --json
# The daemon names every VM's QMP socket vm-HANDLE.qmp beside its guest channel.
QMP_SNP=$(dirname "$(jf socket)")/vm-$(jf handle).qmp
for _ in $(seq 50); do
	[ -S "$QMP_SNP" ] && break
	sleep 0.1
done
if [ -S "$QMP_SNP" ]; then
	expect 0 "emu SNP: sev-info" -- "$BIN" host qmp --socket "$QMP_SNP" sev-info
	contains "type: sev-snp"
	expect 1 "emu SNP: report refused" -- "$BIN" host qmp --socket "$QMP_SNP" report --mnonce "$MN"
	contains "SEV: Failed to query the attestation report length ret=-1 fw_err=0"
	expect 0 "emu SNP: generic-report" -- "$BIN" host qmp --socket "$QMP_SNP" generic-report
	contains '"snp"'
	contains '"measurement"'
else
	echo "FAIL: no QMP socket $QMP_SNP for the SNP guest"
	fails=$((fails + 1))
fi

harness_finish
