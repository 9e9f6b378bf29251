#!/usr/bin/env bash
# sevattest's main job: an end-to-end SEV-SNP attestation on the emulated platform.
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
# platform's root named as the trust root and the nonce as REPORT_DATA.  Exits
# with the verifier's status (0 verified, 1 rejected, 2 bad usage or input).
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
exit $rc
