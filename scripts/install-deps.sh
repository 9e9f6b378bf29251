#!/usr/bin/env bash
# Install the Debian 12 packages sevattest needs to build, test, fuzz and benchmark.
# Idempotent and quiet: when every package is already installed it touches nothing
# (no apt-get update, no network).  Works as root, or through sudo when not root.
#
#   bash scripts/install-deps.sh          # build, test, bench (and clang for fuzzing)
#   bash scripts/install-deps.sh --fuzz   # also llvm-symbolizer, for symbolized fuzzer stacks
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config
	libssl-dev libcurl4-openssl-dev libjson-c-dev libcmocka-dev
	clang libclang-rt-14-dev   # libFuzzer and clang's sanitizer runtimes (only recommended by clang)
	python3                    # .ci/count_tests.py
	openssl                    # bench: `openssl speed`
	ca-certificates
	util-linux                 # taskset
	ovmf                       # tests: Debian's OVMF_CODE.fd, measured and launched on the emulator
	qemu-system-x86            # tests: QEMU 7.2's own QMP answers (tests/test_cli_qmp.sh)
)
for arg in "$@"; do
	case "$arg" in
	--fuzz) packages+=(llvm-14) ;;
	*) echo "install-deps.sh: unknown argument '$arg' (only --fuzz)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	as_root=(sudo)
else
	echo "install-deps.sh: missing packages (${missing[*]}) and not root, no sudo: install them by hand" >&2
	exit 1
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
log=$(mktemp /tmp/sevattest-install-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -qq &&
	"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "install-deps.sh: apt-get failed" >&2
	exit 1
fi
