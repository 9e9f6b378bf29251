#!/usr/bin/env bash
# sevattest's main job: end-to-end SEV-SNP and SEV-ES attestations on the emulated platform.
#
#   bash scripts/demo.sh                              # emulated platform, guest, report, verdict
#   bash scripts/demo.sh REPORT [verify flags...]     # verify your report, e.g. --vcek vcek.pem --chain ask_ark.pem
#   bash scripts/demo.sh --report REPORT [flags...]   # the same, flags only
#
# Installs the Debian packages it needs and builds ./build.  With no arguments it
# creates an emulated AMD SEV-SNP platform in a temporary state directory (its own
# ARK and ASK, RSA-4096), starts its daemon, launches an SNP guest, asks for an
# attestation report with a fresh random nonce through the guest's encrypted
# channel (AES-256-GCM with the guest's VMPCK), and verifies the report with the
# platform's root named as the trust root and the nonce as REPORT_DATA.  Then the
# same platform's SEV-ES side: the guest owner checks the platform's PDH chain and
# makes a launch session, the host launches Debian's OVMF as an SEV-ES guest with
# it, the owner checks LAUNCH_MEASURE and injects a secret over QMP, and a relying
# party verifies a fresh ATTESTATION report through both chains (ARK->ASK->CEK->PEK
# and OCA->PEK).  Exits with the verifiers' status (0 both verified, 1 rejected,
# 2 bad usage or input).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

log=$(mktemp /tmp/sevattest-demo-build.XXXXXX)
echo "Building sevattest (./build)..." >&2
if ! { bash "$SA_ROOT/scripts/install-deps.sh" && sa_setup build &&
	meson compile -C "$SA_ROOT/build"; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "demo.sh: the build failed (output above)" >&2
	exit 2
fi
rm -f "$log"
cli=$SA_ROOT/build/src/cli/sevattest

if [ $# -gt 0 ]; then
	case "$1" in
	-*) args=("$@") ;;                  # flags only: passed through as given
	*) args=(--report "$1" "${@:2}") ;; # first word is the report
	esac
	echo "+ sevattest verify ${args[*]}" >&2
	exec "$cli" verify "${args[@]}"
fi

work=$(mktemp -d /tmp/sevattest-demo.XXXXXX)
state=$work/platform
cleanup() {
	"$cli" emu stop --state "$state" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*" >&2; }
run() {
	echo "+ sevattest $*" >&2
	"$cli" "$@"
}

step "1. An emulated SEV-SNP platform (Milan) with its own root of trust"
run emu create --state "$state" --product Milan
run emu start --state "$state"

step "2. The platform owner exports the root a verifier must name explicitly"
run emu export-root --state "$state" --out "$work/ark.pem"
run emu export-root --state "$state" --chain --out "$work/ask_ark.pem"
run emu export-root --state "$state" --vek --out "$work/vcek.der"

step "3. The host launches an SNP guest (SNP_LAUNCH_START, LAUNCH_UPDATE per page, LAUNCH_FINISH)"
host_data=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
run emu vm launch --state "$state" --host-data "$host_data" --json >"$work/vm.json"
read -r socket measurement < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["socket"], d["launch_digest"])' "$work/vm.json")
echo "guest channel: $socket" >&2
echo "launch digest: $measurement" >&2

step "4. Inside the guest: a report with a fresh nonce, through the encrypted guest channel"
nonce=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
run guest report --backend "emu:$socket" --data "$nonce" --out "$work/report.bin" >/dev/null
echo "nonce (REPORT_DATA): $nonce" >&2

step "5. The relying party verifies: chain to the named root, signature, binding, nonce, measurement"
set +e
run verify --no-kds --report "$work/report.bin" --trust-root "$work/ark.pem" --chain "$work/ask_ark.pem" \
	--vcek "$work/vcek.der" --report-data "$nonce" --measurement "$measurement" --host-data "$host_data" \
	--policy-deny debug,migrate-ma
rc=$?
set -e
[ $rc -eq 0 ] || exit $rc

ovmf=/usr/share/ovmf/OVMF.fd # Debian's ovmf package (scripts/install-deps.sh installs it)
guest=(--ovmf "$ovmf" --vcpus 2 --vcpu-type EPYC-v4)
jget() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
b64rand() { head -c 16 /dev/urandom | base64; }
host=(host --backend "emu:$state/run/host.sock")

step "6. SEV-ES: the platform owner exports the PDH and its chains (the CEK signed by the emulator's KDS)"
run "${host[@]}" export-certs --out-dir "$work/sev" --full
run "${host[@]}" status --json >"$work/sev-status.json"

step "7. The guest owner verifies the PDH's chains to the named root, then makes a launch session"
run owner session --certs "$work/sev" --trust-root "$work/sev/ark.cert" --policy 0x7 --out-dir "$work/owner"

step "8. The host launches Debian's OVMF as an SEV-ES guest with that session, paused before LAUNCH_FINISH"
obj="sev-guest,id=sev0,policy=0x7,reduced-phys-bits=1,dh-cert-file=$work/owner/vm_godh.b64"
obj+=",session-file=$work/owner/vm_session.b64"
run emu vm launch --state "$state" --json "${guest[@]}" --object "$obj" --paused >"$work/sev-vm.json"
qmp=$(jget "$work/sev-vm.json" qmp)
blob=$(jget "$work/sev-vm.json" launch_measure)
echo "QMP monitor: $qmp" >&2

step "9. The guest owner checks LAUNCH_MEASURE with the TIK against the digest it computes itself"
run owner verify-measurement --tik "$work/owner/vm_tik.bin" --measurement "$blob" --policy 0x7 \
	--api-major "$(jget "$work/sev-status.json" api_major)" --api-minor "$(jget "$work/sev-status.json" api_minor)" \
	--build "$(jget "$work/sev-status.json" build)" "${guest[@]}"

step "10. ... then injects its secret over QMP (sev-inject-launch-secret) and lets the guest run (cont)"
head -c 32 /dev/urandom | base64 >"$work/disk-key.txt"
run owner package-secret --tek "$work/owner/vm_tek.bin" --tik "$work/owner/vm_tik.bin" --measurement "$blob" \
	--secret "736869e5-84f0-4973-92ec-06879ce3da0b:$work/disk-key.txt" --out-header "$work/secret-hdr.bin" \
	--out-secret "$work/secret.bin"
# Debian's OVMF has no SEV secret area (OVMF's AmdSev build does), so, as with QEMU, the GPA is named.
run host qmp --socket "$qmp" inject-secret --header "$work/secret-hdr.bin" --secret "$work/secret.bin" --gpa 0x800000
run host qmp --socket "$qmp" cont

step "11. A relying party: a fresh MNONCE, the report over QMP (query-sev-attestation-report), both chains"
run measure --mode seves "${guest[@]}" >"$work/sev-digest.hex"
mnonce=$(b64rand)
run host qmp --socket "$qmp" report --mnonce "$mnonce" --out "$work/sev-report.bin"
set +e
run verify --sev-report "$work/sev-report.bin" --certs "$work/sev" --trust-root "$work/sev/ark.cert" \
	--mnonce "$mnonce" --measurement "$(cat "$work/sev-digest.hex")" --policy-deny debug,key-sharing,non-es
rc=$?
set -e
exit $rc
