#!/usr/bin/env bash
# Build ./build-bench (buildtype=release) and run the benchmarks, each as a ratio
# to `openssl speed` measured in the same run:
#   verify      SEV-SNP reports verified per second (target >= 0.9 of ecdsap384 verify/s)
#   emu-report  emulated reports per second through the full encrypted guest path
#               (target >= 0.8 of ecdsap384 sign/s)
#   measure     `measure` end to end: vector S1's inputs (measurements/s) and a 64 MiB
#               synthetic OVMF image (target >= 0.8 of `-evp sha384` throughput)
#
#   bash scripts/bench.sh                     # all three
#   bash scripts/bench.sh verify [REPORT VEK CHAIN]
#   bash scripts/bench.sh emu-report [STATE_PARENT_DIR]
#   bash scripts/bench.sh measure [IMAGE_MIB]
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
measure) shift; exec "$bin/bench_measure" "$@" ;;
all)
	echo "== bench_verify"
	"$bin/bench_verify"
	echo
	echo "== bench_emu_report"
	"$bin/bench_emu_report"
	echo
	echo "== bench_measure"
	"$bin/bench_measure"
	;;
*)
	echo "usage: bash scripts/bench.sh [verify [REPORT VEK CHAIN] | emu-report [STATE_PARENT_DIR] | measure [IMAGE_MIB]]" >&2
	exit 2
	;;
esac
