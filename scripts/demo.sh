#!/usr/bin/env bash
# sevattest's main job: verify an AMD SEV-SNP attestation report.
#
#   bash scripts/demo.sh                              # a real Turin report from ../shared/vectors
#   bash scripts/demo.sh REPORT [verify flags...]     # your report, e.g. --vcek vcek.pem --chain ask_ark.pem
#   bash scripts/demo.sh --report REPORT [flags...]   # the same, flags only
#
# Installs the Debian packages it needs, builds ./build, then runs
# `build/src/cli/sevattest verify --report REPORT [flags...]` from the current
# directory, and exits with its status (0 verified, 1 rejected, 2 bad usage or input).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ $# -eq 0 ]; then
	v=$(readlink -m "$(sa_vectors_dir)")
	report=$v/microsoft-TEE-Attestation-Verification/tests/test_data/turin_attestation_report.bin
	vcek=$v/microsoft-TEE-Attestation-Verification/tests/test_data/turin_vcek.pem
	chain=$v/google-go-sev-guest/verify/trust/ask_ark_turin_vcek.pem
	for f in "$report" "$vcek" "$chain"; do
		if [ ! -r "$f" ]; then
			echo "demo.sh: the default example needs the real AMD vectors, and $f is absent." >&2
			echo "Put the shared folder beside the repository (../shared/vectors) or set SEVATTEST_VECTORS," >&2
			echo "or name your own report: bash scripts/demo.sh REPORT --vcek VCEK.pem --chain ASK_ARK.pem" >&2
			exit 2
		fi
	done
	echo "No report named: verifying a real AMD Turin report from the vectors, offline." >&2
	set -- "$report" --vcek "$vcek" --chain "$chain" --offline
fi

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

case "$1" in
-*) args=("$@") ;;                           # flags only: passed through as given
*) args=(--report "$1" "${@:2}") ;;          # first word is the report
esac
echo "+ sevattest verify ${args[*]}" >&2
exec "$cli" verify "${args[@]}"
