# shellcheck shell=bash
# Helpers sourced by the scripts in this folder.  Not a command of its own.

SA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The real AMD vectors: $SEVATTEST_VECTORS, else ../shared/vectors beside the repository.
sa_vectors_dir() {
	if [ -n "${SEVATTEST_VECTORS:-}" ]; then
		printf '%s\n' "$SEVATTEST_VECTORS"
	else
		printf '%s\n' "$SA_ROOT/../shared/vectors"
	fi
}

# sa_setup DIR [meson setup options...]: configure DIR under the repository root,
# reconfiguring (with the given options) when it is already a Meson build directory.
sa_setup() {
	local dir=$SA_ROOT/$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$SA_ROOT" "$@" ||
			meson setup --wipe "$dir" "$SA_ROOT" "$@"
	else
		meson setup "$dir" "$SA_ROOT" "$@"
	fi
}
