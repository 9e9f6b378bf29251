#!/usr/bin/env bash
# sevattest host end to end against the emulator's daemon: status; the platform owner's
# round trip (pek-csr, sign-pek with a fresh OCA key, pek-import, status shows the external
# owner); export-certs --full checked with `sevattest show sev-cert`; get-id; the attestation
# report of a running SEV guest; and every bad input refused (exit 2, or 1 when the firmware
# refuses) with a precise message, changing nothing.  The daemon is stopped even when a check
# fails (trap).
set -eu
BIN=$1
export SEVATTEST_EMU=$2
HARNESS_NAME=cli-host
. "$(dirname "$0")/emu_harness.sh"
lacks() {
	if grep -q -- "$1" "$out"; then
		echo "FAIL: output has '$1'"
		sed 's/^/    /' "$out"
		fails=$((fails + 1))
	fi
}
size_is() {
	local n
	n=$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$1")
	if [ "$n" != "$2" ]; then
		echo "FAIL: $1 is $n bytes, expected $2"
		fails=$((fails + 1))
	fi
}
# python3 -c: a copy of $1 into $2 with byte $3 flipped, or cut to $3 bytes (cut).
flip() { python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[3],0)]^=1; open(sys.argv[2],"wb").write(b)' "$@"; }
cut() { python3 -c 'import sys; open(sys.argv[2],"wb").write(open(sys.argv[1],"rb").read()[:int(sys.argv[3])])' "$@"; }

H() { "$BIN" host --backend "emu:$S/run/host.sock" "$@"; }

expect 0 "emu create (RSA-2048)" -- "$BIN" emu create --state "$S" --rsa-bits 2048
expect 0 "emu start" -- "$BIN" emu start --state "$S"

# ---- status ----
expect 0 "status" -- H status
contains "state        INIT"
contains "owner        self"
contains "SEV-ES       enabled"
expect 0 "status --json" -- H status --json
contains '"owner":"self"'
contains '"state":"INIT"'
expect 0 "--backend after the command" -- "$BIN" host status --backend "emu:$S/run/host.sock"
expect 2 "a backend of another form" -- "$BIN" host --backend sev status
contains "expected auto, dev:PATH or emu:SOCKET"
expect 2 "a device that is not there" -- "$BIN" host --backend "dev:$T/no-sev" status
contains "cannot open $T/no-sev"
expect 2 "no emulator on the socket" -- "$BIN" host --backend "emu:$T/none.sock" status
contains "is sevattest-emu running"
expect 2 "an unknown command" -- H frobnicate
contains "unknown command 'frobnicate'"
expect 2 "an option of another command" -- H status --out "$T/x"
contains "status does not take --out"
expect 2 "qmp does not take --backend" -- H qmp --socket "$T/x.qmp" sev-info
contains "not to --backend"

# ---- the platform owner's round trip ----
expect 2 "pek-csr without --out" -- H pek-csr
contains "pek-csr: --out FILE is required"
expect 0 "pek-csr" -- H pek-csr --out "$T/csr.cert"
size_is "$T/csr.cert" 2084
openssl ecparam -name secp384r1 -genkey -noout -out "$T/oca.pem" 2>/dev/null || fatal "openssl ecparam"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/p256.pem" 2>/dev/null || fatal "openssl ecparam"

cut "$T/csr.cert" "$T/csr-short.cert" 2083
expect 2 "sign-pek: a CSR one byte short" -- "$BIN" host sign-pek --csr "$T/csr-short.cert" --oca-key "$T/oca.pem" --oca-out "$T/o.cert" --out "$T/p.cert"
contains "2083 bytes"
expect 2 "sign-pek: a P-256 key" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/p256.pem" --oca-out "$T/o.cert" --out "$T/p.cert"
contains "oca-key"
expect 2 "sign-pek: a certificate for a key" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/csr.cert" --oca-out "$T/o.cert" --out "$T/p.cert"
contains "no unencrypted private key"
expect 2 "sign-pek: neither --oca-cert nor --oca-out" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/oca.pem" --out "$T/p.cert"
contains "either --oca-cert FILE"
expect 2 "sign-pek takes no backend" -- "$BIN" host sign-pek --backend auto --csr "$T/csr.cert" --oca-key "$T/oca.pem" --oca-out "$T/o.cert" --out "$T/p.cert"
if [ -e "$T/p.cert" ] || [ -e "$T/o.cert" ]; then
	echo "FAIL: a refused sign-pek wrote a file"
	fails=$((fails + 1))
fi
expect 0 "sign-pek with a fresh OCA key" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/oca.pem" --oca-out "$T/oca.cert" --out "$T/pek.cert"
size_is "$T/pek.cert" 2084
size_is "$T/oca.cert" 2084
expect 0 "show sev-cert: the signed PEK" -- "$BIN" show sev-cert "$T/pek.cert"
contains "by OCA (0x1001)"
expect 0 "sign-pek again with --oca-cert" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/oca.pem" --oca-cert "$T/oca.cert" --out "$T/pek2.cert"
openssl ecparam -name secp384r1 -genkey -noout -out "$T/other.pem" 2>/dev/null || fatal "openssl ecparam"
expect 2 "sign-pek: --oca-cert of another key" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/other.pem" --oca-cert "$T/oca.cert" --out "$T/pek3.cert"
contains "is not the key of --oca-key"
expect 2 "sign-pek: a signed PEK is no CSR" -- "$BIN" host sign-pek --csr "$T/pek.cert" --oca-key "$T/oca.pem" --oca-cert "$T/oca.cert" --out "$T/pek3.cert"
contains "a PEK_CSR has none"

# Bad imports change nothing.
cut "$T/pek.cert" "$T/pek-short.cert" 2000
expect 2 "pek-import: a PEK of 2000 bytes" -- H pek-import --pek "$T/pek-short.cert" --oca "$T/oca.cert"
contains "2000 bytes"
expect 2 "pek-import: the OCA given as the PEK" -- H pek-import --pek "$T/oca.cert" --oca "$T/oca.cert"
contains "PUB_KEY_USAGE 0x1001 (OCA), expected 0x1002 (PEK)"
expect 2 "pek-import without --oca" -- H pek-import --pek "$T/pek.cert"
contains "--pek FILE and --oca FILE are required"
flip "$T/pek.cert" "$T/pek-bad.cert" 0x420
expect 1 "pek-import: the OCA's signature broken (the firmware refuses)" -- H pek-import --pek "$T/pek-bad.cert" --oca "$T/oca.cert"
contains "PEK_CERT_IMPORT"
expect 0 "sign-pek with another OCA key" -- "$BIN" host sign-pek --csr "$T/csr.cert" --oca-key "$T/other.pem" --oca-out "$T/other-oca.cert" --out "$T/other-pek.cert"
expect 1 "pek-import: the PEK signed by another OCA than the one given" -- H pek-import --pek "$T/pek.cert" --oca "$T/other-oca.cert"
contains "PEK_CERT_IMPORT"
expect 0 "status: still self-owned" -- H status
contains "owner        self"

expect 0 "pek-import" -- H pek-import --pek "$T/pek.cert" --oca "$T/oca.cert"
expect 0 "status: owned by the imported OCA" -- H status --json
contains '"owner":"external"'

# ---- certificates ----
expect 0 "export-certs" -- H export-certs --out-dir "$T/c1"
for f in pdh pek oca cek; do size_is "$T/c1/$f.cert" 2084; done
if [ -e "$T/c1/ask.cert" ]; then
	echo "FAIL: export-certs without --full wrote ask.cert"
	fails=$((fails + 1))
fi
if ! cmp -s "$T/c1/oca.cert" "$T/oca.cert"; then
	echo "FAIL: the exported OCA is not the imported one"
	fails=$((fails + 1))
fi
expect 0 "show sev-cert: the CEK as firmware gives it" -- "$BIN" show sev-cert "$T/c1/cek.cert"
lacks "by ASK"
expect 0 "export-certs --full" -- H export-certs --out-dir "$T/c2" --full
for f in pdh pek oca cek ask ark; do [ -s "$T/c2/$f.cert" ] || { echo "FAIL: $f.cert missing"; fails=$((fails + 1)); }; done
expect 2 "export-certs: --product only with --full" -- H export-certs --out-dir "$T/c3" --product rome
expect 2 "export-certs --full: --no-kds leaves no source for AMD's certificates" -- \
	H export-certs --out-dir "$T/c3" --full --no-kds
expect 0 "show sev-cert: the PEK, signed by the OCA and the CEK" -- "$BIN" show sev-cert "$T/c2/pek.cert"
contains "by OCA (0x1001)"
contains "by CEK (0x1004)"
expect 0 "show sev-cert: the CEK, signed by the ASK" -- "$BIN" show sev-cert "$T/c2/cek.cert"
contains "by ASK"
expect 0 "show sev-cert: the ASK" -- "$BIN" show sev-cert "$T/c2/ask.cert"
contains "ASK"
expect 0 "show sev-cert: the ARK" -- "$BIN" show sev-cert "$T/c2/ark.cert"
contains "ARK"
touch "$T/a-file"
expect 2 "export-certs into a file" -- H export-certs --out-dir "$T/a-file"
contains "a-file"

# ---- get-id ----
expect 0 "get-id" -- H get-id
id=$(head -n 1 "$out")
if [ "${#id}" != 128 ]; then
	echo "FAIL: get-id printed '${id}', expected 128 hex digits"
	fails=$((fails + 1))
fi
expect 0 "get-id --out" -- H get-id --out "$T/id.bin"
size_is "$T/id.bin" 64
expect 0 "get-id --json" -- H get-id --json
contains "\"id\":\"$id\""

# ---- the attestation report of an emulated SEV guest ----
MNONCE=AAECAwQFBgcICQoLDA0ODw==
expect 1 "report: no such VM" -- H report --vm 4242 --mnonce "$MNONCE"
contains "INVALID_GUEST"
expect 2 "report: a 15-byte mnonce" -- H report --vm 1 --mnonce AAECAwQFBgcICQoLDA0O
contains "15 bytes, expected 16"
expect 2 "report: garbage base64" -- H report --vm 1 --mnonce 'AA!=AAAAAAAAAAAAAAAAAA=='
contains "not base64"
expect 2 "report: a handle that is no number" -- H report --vm one --mnonce "$MNONCE"
expect 2 "report: without --mnonce" -- H report --vm 1
contains "--vm HANDLE and --mnonce B64 are required"
expect 2 "report: only on the emulator" -- "$BIN" host --backend "dev:$T/a-file" report --vm 1 --mnonce "$MNONCE"
contains "only on the emulator"

OVMF=${SEVATTEST_VECTORS:-}/virtee-sev-snp-measure/tests/fixtures/ovmf_AmdSev_suffix.bin
if [ -f "$OVMF" ]; then
	expect 0 "launch an SEV guest" -- "$BIN" emu vm launch --state "$S" --ovmf "$OVMF" --json \
		--object sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1
	vm=$(sed -n 's/.*"handle": *\([0-9]*\).*/\1/p' "$out" | head -n 1)
	digest=$(sed -n 's/.*"launch_digest": *"\([0-9a-f]*\)".*/\1/p' "$out" | head -n 1)
	[ -n "$vm" ] || fatal "no handle"
	expect 0 "report" -- H report --vm "$vm" --mnonce "$MNONCE" --out "$T/report.bin"
	size_is "$T/report.bin" 208
	got=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(b[:16].hex(), b[16:48].hex())' "$T/report.bin")
	if [ "$got" != "000102030405060708090a0b0c0d0e0f $digest" ]; then
		echo "FAIL: the report carries '$got', expected the mnonce and launch digest $digest"
		fails=$((fails + 1))
	fi
	expect 0 "report on standard output" -- H report --vm "$vm" --mnonce "$MNONCE"
	python3 -c 'import base64,sys; b=base64.b64decode(open(sys.argv[1]).read().strip(), validate=True); sys.exit(len(b) != 208)' "$out" ||
		{ echo "FAIL: not the base64 of 208 bytes"; fails=$((fails + 1)); }
	expect 0 "status: one guest, WORKING" -- H status
	contains "state        WORKING"
	contains "guests       1"
	expect 1 "reset while a guest runs (the firmware refuses)" -- H reset
	contains "INVALID_PLATFORM_STATE"
	expect 0 "status: still owned by the OCA" -- H status
	contains "owner        external"
	expect 0 "vm stop" -- "$BIN" emu vm stop --state "$S" "$vm"
else
	echo "skip: the report of a running SEV guest ($OVMF is absent)"
fi

# ---- the other owner commands ----
expect 0 "pdh-gen" -- H pdh-gen
expect 0 "pek-gen (drops the imported OCA)" -- H pek-gen
expect 0 "status: self-owned again" -- H status
contains "owner        self"
expect 0 "reset" -- H reset
expect 0 "status after reset" -- H status
contains "state        INIT"
expect 0 "help" -- "$BIN" help host
contains "sign-pek"

harness_finish
