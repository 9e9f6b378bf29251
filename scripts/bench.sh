#!/usr/bin/env bash
# Build ./build-bench (buildtype=release) and run the benchmarks, each as a ratio
# to `openssl speed ecdsap384` measured in the same run:
#   verify      SEV-SNP reports verified per second (target >= 0.9 of verify/s)
#   emu-report  emulated reports per second through the full encrypted guest path
#               (target >= 0.8 of sign/s)
#
#   bash scripts/bench.sh                     # both
#   bash scripts/bench.sh verify [REPORT VEK CHAIN]
#   bash scripts/bench.sh emu-report [STATE_PARENT_DIR]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SA_ROOT/scripts/install-deps.sh"
log=$(mktemp /tmp/sevattest-bench-build.XXXXXX)
if ! { sa_setup build-bench -Dbuildtype=release -Dtests=false -Dwerror=false &&
	meson compile -C "$SA_ROOT/build-bench"; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "bench.sh: the build failed (output above)" >&2
	exit 1
fi
rm -f "$log"
bin=$SA_ROOT/build-bench/bench
case "${1:-all}" in
verify) shift; exec "$bin/bench_verify" "$@" ;;
emu-report) shift; exec "$bin/bench_emu_report" "$@" ;;
all)
	echo "== bench_verify"
	"$bin/bench_verify"
	echo
	echo "== bench_emu_report"
	"$bin/bench_emu_report"
	;;
*)
	echo "usage: bash scripts/bench.sh [verify [REPORT VEK CHAIN] | emu-report [STATE_PARENT_DIR]]" >&2
	exit 2
	;;
esac
