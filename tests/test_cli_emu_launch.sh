#!/usr/bin/env bash
# sevattest emu vm launch --ovmf end to end: the emulated launch of real inputs (the
# sev-snp-measure AmdSev fixture with kernel hashes, vector S1; Debian's OVMF when
# installed) has the launch digest `sevattest measure` predicts, and a report from
# that guest verifies with --measurement set to it.  The daemon is stopped even when
# a check fails (trap).
set -eu
BIN=$1
export SEVATTEST_EMU=$2
VEC=${SEVATTEST_VECTORS:-}
FIXTURE=$VEC/virtee-sev-snp-measure/tests/fixtures/ovmf_AmdSev_suffix.bin
DEBIAN_OVMF=/usr/share/OVMF/OVMF_CODE.fd
S1=803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977
S2=6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa
if [ ! -f "$FIXTURE" ]; then
	echo "SKIP: $FIXTURE is absent (the vectors)"
	exit 77
fi
HARNESS_NAME=cli-emu-launch
. "$(dirname "$0")/emu_harness.sh"
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$out" | head -n 1; }

expect 0 "emu create (RSA-2048)" -- "$BIN" emu create --state "$S" --rsa-bits 2048
expect 0 "emu start" -- "$BIN" emu start --state "$S"
expect 0 "export the root" -- "$BIN" emu export-root --state "$S" --out "$T/ark.pem"

# S1's inputs: the AmdSev fixture, an empty kernel and initrd, a command line, EPYC-v4, features 0x21.
GUEST=(--ovmf "$FIXTURE" --kernel /dev/null --initrd /dev/null --append "console=ttyS0 loglevel=7" --vcpus 1
	--vcpu-type EPYC-v4 --guest-features 0x21)
expect 0 "measure --mode snp (S1)" -- "$BIN" measure --mode snp "${GUEST[@]}"
MEASURED=$(cat "$out")
same "$MEASURED" "$S1" "sevattest measure gives S1"
expect 0 "emu vm launch --ovmf (S1's inputs)" -- "$BIN" emu vm launch --state "$S" "${GUEST[@]}" --json
LD=$(json_field launch_digest)
SOCK=$(json_field socket)
same "$LD" "$MEASURED" "the emulated launch digest equals sevattest measure"
[ -S "$SOCK" ] || fatal "no guest channel socket"

expect 0 "guest report from the launched guest" -- "$BIN" guest report --random --backend "emu:$SOCK" \
	--out "$T/r.bin" --certs-out "$T/certs"
expect 0 "verify --measurement <measure's digest>" -- "$BIN" verify --no-kds --report "$T/r.bin" \
	--trust-root "$T/ark.pem" --certs "$T/certs" --measurement "$LD"
contains "VERIFIED"
expect 1 "verify --measurement <S2> is rejected" -- "$BIN" verify --no-kds --report "$T/r.bin" \
	--trust-root "$T/ark.pem" --certs "$T/certs" --measurement "$S2"

# Four vCPUs and the other VMMs: still what measure predicts.
for vmm in qemu ec2 gce; do
	G=(--ovmf "$FIXTURE" --kernel /dev/null --initrd /dev/null --vcpus 4 --vcpu-type EPYC-v4 --vmm-type "$vmm")
	expect 0 "measure, 4 vCPUs, $vmm" -- "$BIN" measure --mode snp "${G[@]}"
	M=$(cat "$out")
	expect 0 "emu vm launch --ovmf, 4 vCPUs, $vmm" -- "$BIN" emu vm launch --state "$S" "${G[@]}" --json
	same "$(json_field launch_digest)" "$M" "4 vCPUs, $vmm: launch digest equals measure"
done

expect 2 "--pages and --ovmf exclude each other" -- "$BIN" emu vm launch --state "$S" --ovmf "$FIXTURE" \
	--vcpu-type EPYC-v4 --pages "$T/none"
contains "exclude each other"
expect 2 "guest options need --ovmf" -- "$BIN" emu vm launch --state "$S" --vcpus 2
expect 2 "--vcpus 0" -- "$BIN" emu vm launch --state "$S" --ovmf "$FIXTURE" --vcpu-type EPYC-v4 --vcpus 0
expect 2 "qemu needs the vCPU type" -- "$BIN" emu vm launch --state "$S" --ovmf "$FIXTURE"

if [ -f "$DEBIAN_OVMF" ]; then
	# Debian's OVMF has SEV metadata but no SNP_KERNEL_HASHES section: no kernel hashes with it.
	for n in 1 8 64; do
		G=(--ovmf "$DEBIAN_OVMF" --vcpus "$n" --vcpu-type EPYC-Milan)
		expect 0 "measure Debian OVMF, $n vCPUs" -- "$BIN" measure --mode snp "${G[@]}"
		M=$(cat "$out")
		expect 0 "emu vm launch Debian OVMF, $n vCPUs" -- "$BIN" emu vm launch --state "$S" "${G[@]}" --json
		same "$(json_field launch_digest)" "$M" "Debian OVMF, $n vCPUs: launch digest equals measure"
	done
	expect 1 "Debian OVMF with a kernel is refused" -- "$BIN" emu vm launch --state "$S" --ovmf "$DEBIAN_OVMF" \
		--vcpu-type EPYC-Milan --kernel /dev/null
	contains "SNP_KERNEL_HASHES"
else
	echo "skip: $DEBIAN_OVMF is absent (Debian package ovmf)"
fi

harness_finish
