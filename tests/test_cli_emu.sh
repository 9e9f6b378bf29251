#!/usr/bin/env bash
# sevattest emu and sevattest guest end to end: create an emulated platform in a
# temporary directory, start its daemon, launch guests, fetch reports with fresh
# nonces through the encrypted guest channel, verify them with `sevattest verify
# --trust-root`,
# restart the daemon and continue, stop it.  The daemon is stopped even when a
# check fails (trap).
set -eu
BIN=$1
export SEVATTEST_EMU=$2
HARNESS_NAME=cli-emu
. "$(dirname "$0")/emu_harness.sh"
field() { sed -n "s/^$1: *//p" "$out" | head -n 1; }

expect 0 "emu create (RSA-2048)" -- "$BIN" emu create --state "$S" --rsa-bits 2048
contains "created an emulated Milan platform"
expect 2 "emu create refuses an existing platform" -- "$BIN" emu create --state "$S" --rsa-bits 2048
expect 1 "emu status before start: not running" -- "$BIN" emu status --state "$S"
contains "not running"

expect 0 "emu start" -- "$BIN" emu start --state "$S"
contains "host socket: $S/run/host.sock"
expect 0 "emu start again: already running" -- "$BIN" emu start --state "$S"
contains "already running"
expect 0 "emu status --json" -- "$BIN" emu status --state "$S" --json
contains '"running":true'
contains '"product":"Milan"'

expect 0 "export the root" -- "$BIN" emu export-root --state "$S" --out "$T/ark.pem"
expect 0 "export the chain" -- "$BIN" emu export-root --state "$S" --chain --out "$T/chain.pem"
expect 0 "export the VCEK" -- "$BIN" emu export-root --state "$S" --vek --out "$T/vcek.der"
grep -q "BEGIN CERTIFICATE" "$T/ark.pem" || fatal "ark.pem is not PEM"

expect 0 "vm launch (built-in image)" -- "$BIN" emu vm launch --state "$S"
SOCK1=$(field "guest channel")
LD1=$(field "launch digest")
[ -S "$SOCK1" ] || fatal "no guest channel socket"
expect 0 "vm launch again: a second guest" -- "$BIN" emu vm launch --state "$S" --host-data 0x0102
SOCK2=$(field "guest channel")
LD2=$(field "launch digest")
[ "$LD1" = "$LD2" ] || {
	echo "FAIL: the built-in image's launch digest differs between launches"
	fails=$((fails + 1))
}

expect 0 "guest report --random through emu:SOCKET" -- "$BIN" guest report --random --backend "emu:$SOCK1" \
	--out "$T/r1.bin" --certs-out "$T/certs"
NONCE=$(field "report_data")
[ ${#NONCE} = 128 ] || fatal "report_data is not 64 bytes of hex"
[ -f "$T/certs/vcek.pem" ] && [ -f "$T/certs/ask.pem" ] && [ -f "$T/certs/ark.pem" ] || fatal "certs missing"

expect 0 "verify with the exported root, chain, VCEK and the nonce" -- "$BIN" verify --no-kds --report "$T/r1.bin" \
	--trust-root "$T/ark.pem" --chain "$T/chain.pem" --vcek "$T/vcek.der" --report-data "$NONCE"
contains "VERIFIED"
OTHER=$(printf '%0128d' 7)
expect 1 "the same report with another nonce is rejected" -- "$BIN" verify --no-kds --report "$T/r1.bin" \
	--trust-root "$T/ark.pem" --chain "$T/chain.pem" --vcek "$T/vcek.der" --report-data "$OTHER"
contains "REJECTED"
expect 0 "verify with the certificates from the extended report" -- "$BIN" verify --no-kds --report "$T/r1.bin" \
	--trust-root "$T/ark.pem" --certs "$T/certs" --report-data "$NONCE"
expect 1 "verify without --trust-root: the emulator's root is not AMD's" -- "$BIN" verify --no-kds \
	--report "$T/r1.bin" --chain "$T/chain.pem" --vcek "$T/vcek.der"

# The independent openssl CLI check of emulated evidence is tests/test_openssl_crosscheck.sh.

# Two guests hold different secrets: their VM root keys (per guest, like the VMPCKs) differ,
# and each is stable.
expect 0 "guest key --root vmrk (VM 1)" -- "$BIN" guest key --root vmrk --backend "emu:$SOCK1"
K1=$(cat "$out")
expect 0 "guest key --root vmrk (VM 1 again)" -- "$BIN" guest key --root vmrk --backend "emu:$SOCK1"
[ "$K1" = "$(cat "$out")" ] || {
	echo "FAIL: the same key request gave two keys"
	fails=$((fails + 1))
}
expect 0 "guest key --root vmrk (VM 2)" -- "$BIN" guest key --root vmrk --backend "emu:$SOCK2"
[ "$K1" != "$(cat "$out")" ] || {
	echo "FAIL: two guests derived the same VM root key"
	fails=$((fails + 1))
}
expect 0 "guest report on VM 2 with VMPCK 2 at VMPL 2" -- "$BIN" guest report --backend "emu:$SOCK2" --vmpck 2 \
	--vmpl 2 --out "$T/r2.bin" --json
contains '"report_data"'
expect 1 "VMPCK 3 may not ask for VMPL 0" -- "$BIN" guest report --backend "emu:$SOCK2" --vmpck 3 --vmpl 0
contains "INVALID_PARAM"
expect 0 "guest certs" -- "$BIN" guest certs --out "$T/certs2" --backend "emu:$SOCK2"
contains "vcek"

# Restart: the guests, their channels and their sequence numbers survive.
expect 0 "emu stop" -- "$BIN" emu stop --state "$S"
contains "stopped"
expect 1 "emu status after stop" -- "$BIN" emu status --state "$S"
expect 0 "emu start after stop" -- "$BIN" emu start --state "$S"
expect 0 "guest report after the restart (the sequence number continues)" -- "$BIN" guest report \
	--backend "emu:$SOCK1" --out "$T/r3.bin"
NONCE3=$(field "report_data")
expect 0 "the report after the restart verifies" -- "$BIN" verify --no-kds --report "$T/r3.bin" \
	--trust-root "$T/ark.pem" --chain "$T/chain.pem" --vcek "$T/vcek.der" --report-data "$NONCE3"

expect 0 "vm list" -- "$BIN" emu vm list --state "$S"
contains "$SOCK1"
contains "$SOCK2"
expect 0 "vm stop 2" -- "$BIN" emu vm stop --state "$S" 2
expect 0 "vm list --json after vm stop" -- "$BIN" emu vm list --state "$S" --json
if grep -q "$SOCK2" "$out"; then
	echo "FAIL: VM 2 still listed"
	fails=$((fails + 1))
fi
expect 1 "a report from the decommissioned guest fails" -- "$BIN" guest report --backend "emu:$SOCK2"
expect 1 "vm stop of an unknown guest" -- "$BIN" emu vm stop --state "$S" 99
contains "INVALID_GUEST"
expect 2 "usage error: vm launch with a bad policy" -- "$BIN" emu vm launch --state "$S" --policy xyz
expect 1 "the firmware refuses a policy with bit 17 clear" -- "$BIN" emu vm launch --state "$S" --policy 0x10000
contains "POLICY_FAILURE"

# A launch from a page manifest.
printf 'hello' >"$T/p.txt"
head -c 8192 /dev/zero >"$T/two.bin"
printf '# two normal pages, a zero page, the secrets page\nnormal 0x1000 two.bin\nzero 0x3000\nsecrets 0x4000\n' \
	>"$T/pages.txt"
expect 0 "vm launch --pages" -- "$BIN" emu vm launch --state "$S" --pages "$T/pages.txt" --json
contains '"pages":4'
printf 'normal 0x1000 p.txt\n' >"$T/bad.txt"
expect 2 "vm launch --pages with a partial page" -- "$BIN" emu vm launch --state "$S" --pages "$T/bad.txt"
contains "whole 4096-byte pages"

expect 0 "emu stop" -- "$BIN" emu stop --state "$S"
[ ! -e "$S/run/host.sock" ] || {
	echo "FAIL: the host socket was left behind"
	fails=$((fails + 1))
}
[ ! -e "$SOCK1" ] || {
	echo "FAIL: a guest channel socket was left behind"
	fails=$((fails + 1))
}
expect 0 "emu stop when not running" -- "$BIN" emu stop --state "$S"
contains "not running"

harness_finish
