#!/usr/bin/env bash
# Build sevattest and run every test: install the Debian packages it needs,
# configure ./build (reconfigure if it exists), build, and run the Meson suite.
# Tests read the real AMD vectors in ../shared/vectors and skip when they are absent.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$SA_ROOT/scripts/install-deps.sh"
sa_setup build
meson compile -C "$SA_ROOT/build"
meson test -C "$SA_ROOT/build" --print-errorlogs
