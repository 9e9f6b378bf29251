#!/usr/bin/env bash
# Build ./build-bench (buildtype=release) and run the verification benchmark:
# reports verified per second on one core, against `openssl speed ecdsap384`.
#
#   bash scripts/bench.sh [REPORT VEK CHAIN]
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
exe=$SA_ROOT/build-bench/bench/bench_verify
if [ ! -x "$exe" ]; then
	echo "bench.sh: bench_verify was not built (src/lib/verify.c, trust.c or cert.c is missing)" >&2
	exit 1
fi
exec "$exe" "$@"
