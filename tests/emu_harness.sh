# shellcheck shell=bash
# Sourced by the shell tests that run an emulated platform's daemon (not a test of its own).
# Before sourcing: BIN (the sevattest binary) and HARNESS_NAME (for the temporary directory).
# Gives: T (a temporary directory), S (a state directory inside it), out (the last command's
# output), fails (a failure count), expect/contains/same/jf/fatal, a trap that stops the daemon
# and removes T, and harness_finish, which fails on any sanitizer report and prints the summary.

T=$(mktemp -d "${TMPDIR:-/tmp}/sevattest-$HARNESS_NAME.XXXXXX")
S=$T/st
out=$T/out
# Under ASan/UBSan, the daemon's reports would go to its /dev/null: collect everyone's in files.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"

harness_cleanup() {
	"$BIN" emu stop --state "$S" >/dev/null 2>&1 || true
	if [ -f "$S/run/emu.pid" ]; then
		kill "$(cat "$S/run/emu.pid")" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap harness_cleanup EXIT
fails=0

# expect CODE DESCRIPTION -- COMMAND...: run it, check the exit code (output in $out).
expect() {
	local want=$1 what=$2
	shift 3
	local rc=0
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"
		sed 's/^/    /' "$out"
		fails=$((fails + 1))
	else
		echo "ok: $what (exit $rc)"
	fi
}
contains() {
	if ! grep -q -- "$1" "$out"; then
		echo "FAIL: output lacks '$1'"
		sed 's/^/    /' "$out"
		fails=$((fails + 1))
	fi
}
# same GOT WANT DESCRIPTION: the two strings are equal.
same() {
	if [ "$1" != "$2" ]; then
		echo "FAIL: $3: '$1' != '$2'"
		fails=$((fails + 1))
	else
		echo "ok: $3"
	fi
}
# jf FIELD: a top-level field of the JSON in $out
jf() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$out" "$1"; }
# fatal DESCRIPTION: fail, show $out and stop.
fatal() {
	echo "FAIL: $1 (cannot continue)"
	sed 's/^/    /' "$out"
	exit 1
}

# Count sanitizer reports as failures, then exit 1 if anything failed.
harness_finish() {
	local f
	for f in "$T"/sanitizer*; do
		[ -e "$f" ] || continue
		echo "FAIL: a sanitizer reported ($f):"
		sed 's/^/    /' "$f"
		fails=$((fails + 1))
	done
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}
