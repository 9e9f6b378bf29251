#!/usr/bin/env bash
# Emulated evidence checked without sevattest's verifier: the chain with
# `openssl verify`, the report's signature with `openssl dgst` after turning
# the little-endian r and s into a DER ECDSA-Sig-Value.  Only coreutils and
# the openssl CLI are used on the checking side.
set -eu
BIN=$(readlink -f "$1")
work=$(mktemp -d)
state=$work/p
cleanup() {
	"$BIN" emu stop --state "$state" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$BIN" emu create --state "$state" --product Genoa --rsa-bits 2048 >/dev/null
"$BIN" emu start --state "$state" >/dev/null
"$BIN" emu export-root --state "$state" --out ark.pem
"$BIN" emu export-root --state "$state" --chain --out chain.pem
"$BIN" emu export-root --state "$state" --vek --out vcek.der
"$BIN" emu vm launch --state "$state" --json >vm.json
socket=$(sed -n 's/.*"socket": *"\([^"]*\)".*/\1/p' vm.json)
[ -S "$socket" ] || { echo "no guest socket in: $(cat vm.json)"; exit 1; }
"$BIN" guest report --backend "emu:$socket" --random --out report.bin >/dev/null

# 1. The chain: ARK (self-signed root) -> ASK -> VCEK, by openssl alone.
awk '/BEGIN CERT/{n++} n==1' chain.pem >ask.pem
openssl x509 -inform DER -in vcek.der -out vcek.pem
out=$(openssl verify -CAfile ark.pem -untrusted ask.pem vcek.pem 2>&1)
echo "openssl verify: $out"
[ "$out" = "vcek.pem: OK" ]
# The chain does not verify under a foreign root.
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj "/CN=ARK-Genoa" -days 1 -out other.pem 2>/dev/null
if openssl verify -CAfile other.pem -untrusted ask.pem vcek.pem >/dev/null 2>&1; then
	echo "FAIL: the chain verified under a foreign root"
	exit 1
fi

# 2. The report signature: SHA-384 over bytes 0x000..0x29F, ECDSA P-384 by the VCEK.
head -c 672 report.bin >signed.bin
be_hex() { # offset length: the little-endian integer at offset, as big-endian hex
	od -An -tx1 -v -j "$1" -N "$2" report.bin | tr -s ' \n' '\n' | sed '/^$/d' | tac | tr -d '\n'
}
r=$(be_hex 672 72)
s=$(be_hex 744 72)
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >sig.cnf
openssl asn1parse -genconf sig.cnf -out sig.der >/dev/null
openssl x509 -in vcek.pem -pubkey -noout >vcek.pub
out=$(openssl dgst -sha384 -verify vcek.pub -signature sig.der signed.bin)
echo "openssl dgst: $out"
[ "$out" = "Verified OK" ]
# A changed byte in the signed part must not verify (VERSION is 3 for Genoa: make it 7).
[ "$(od -An -tu1 -N1 signed.bin | tr -d ' ')" = 3 ]
printf '\x07' | dd of=signed.bin bs=1 seek=0 conv=notrunc 2>/dev/null
if openssl dgst -sha384 -verify vcek.pub -signature sig.der signed.bin >/dev/null 2>&1; then
	echo "FAIL: a tampered report verified"
	exit 1
fi
echo "emulated evidence verified independently with the openssl CLI"
