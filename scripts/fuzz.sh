#!/usr/bin/env bash
# Build one libFuzzer target and run it for SECONDS.
#
#   bash scripts/fuzz.sh fuzz_report 600 [extra libFuzzer flags...]
#
# Builds ./build-fuzz with clang (-Dfuzz=true, ASan + UBSan), seeds the corpus
# build-fuzz/corpus-TARGET with copies of the real reports/certificates in
# ../shared/vectors (copies stay in the build dir, never in the repository), runs,
# and prints libFuzzer's closing stats.  Crash reproducers land in
# build-fuzz/artifacts-TARGET/.  Exits with libFuzzer's status (non-zero on a crash).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Copy seed inputs for TARGET from the vectors into the corpus directory.
seed_corpus() {
	local target=$1 corpus=$2 vec
	vec=$(sa_vectors_dir)
	if [ ! -d "$vec" ]; then
		echo "fuzz.sh: no vectors at $vec; starting from an empty corpus" >&2
		return 0
	fi
	case "$target" in
	fuzz_report)
		# binary reports (exactly 0x4A0 bytes), plus report hex/base64 text
		find "$vec" -type f \( -size 1184c -o -name '*report*.hex' -o -name '*report*.b64' \) -print0
		;;
	fuzz_cert)
		find "$vec" -type f \( -name '*.pem' -o -name '*.der' -o -name '*.cer' -o -name '*.crt' \
			-o -name '*.testcer' \) -size -64k -print0
		;;
	fuzz_ovmf)
		# OVMF images and image suffixes (footer GUID table, SEV metadata, reset block)
		find "$vec" -type f \( -path '*virtee-sev-snp-measure/tests/fixtures/*.bin' \
			-o -path '*virtee-sevctl/tests/data/OVMF*' \) -size -16k -print0
		;;
	*)
		find "$vec" -type f -size -16k -print0
		;;
	esac | while IFS= read -r -d '' f; do
		cp "$f" "$corpus/seed-$(sha256sum "$f" | cut -c1-16)"
	done
}

main() {
	if [ $# -lt 2 ]; then
		echo "usage: bash scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]  (TARGET: a file name in fuzz/ without .c)" >&2
		return 2
	fi
	local target=$1 seconds=$2
	shift 2
	local bf=$SA_ROOT/build-fuzz
	local corpus=$bf/corpus-$target artifacts=$bf/artifacts-$target log=$bf/fuzz-$target.log

	bash "$SA_ROOT/scripts/install-deps.sh" --fuzz
	local blog
	blog=$(mktemp /tmp/sevattest-fuzz-build.XXXXXX)
	# -Dwerror=false: clang warns where gcc does not; the gcc build in ./build is the warning gate.
	if ! { CC=clang sa_setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dtests=false -Dwerror=false && meson compile -C "$bf" "fuzz/$target"; } >"$blog" 2>&1; then
		cat "$blog" >&2
		rm -f "$blog"
		echo "fuzz.sh: the build failed (output above)" >&2
		return 1
	fi
	rm -f "$blog"

	mkdir -p "$corpus" "$artifacts"
	if [ ! -e "$corpus/.seeded" ]; then
		seed_corpus "$target" "$corpus"
		touch "$corpus/.seeded"
	fi
	echo "corpus $corpus: $(find "$corpus" -type f ! -name .seeded | wc -l) files" >&2

	local max_len=16384
	[ "$target" = fuzz_report ] && max_len=4096
	local symbolizer
	symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
	if [ -n "$symbolizer" ]; then
		export ASAN_SYMBOLIZER_PATH=$symbolizer
	fi
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

	local rc=0
	"$bf/fuzz/$target" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$@" "$corpus" >"$log" 2>&1 || rc=$?

	# libFuzzer's last status line ("#N DONE cov: .. ft: .. corp: .. exec/s: ..") and final stats.
	grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true
	grep -E '^stat::' "$log" || true
	if [ "$rc" -ne 0 ]; then
		echo "fuzz.sh: $target exited $rc; full log: $log" >&2
		grep -E 'ERROR: |SUMMARY: |Test unit written to|property violated' "$log" >&2 || true
	fi
	return "$rc"
}

# Everything runs from main, so the whole file is read before anything runs
# (editing the script during a long run cannot change what the run does).
main "$@"
exit $?
