# shellcheck shell=bash
# Sourced by the shell tests that check the sevattest CLI's output and exit codes (not a test of its own).
# Before sourcing: BIN (the sevattest binary).
# Gives: TMP (a temporary directory, removed on exit), OUT and ERR (the last run's stdout and stderr files),
# rc and last (its exit status and command line), fails and checks (counts), and fail, run, run_stdin,
# expect_rc, expect_out, expect_out_re, expect_err and json_check.

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/out"
ERR="$TMP/err"
fails=0
checks=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# run ARGS...: the CLI's stdout in $OUT, stderr in $ERR, exit status in $rc.
run() {
	rc=0
	"$BIN" "$@" >"$OUT" 2>"$ERR" || rc=$?
	last="sevattest $*"
}

# run_stdin FILE ARGS...: run with FILE on standard input.
run_stdin() {
	local input=$1
	shift
	rc=0
	"$BIN" "$@" <"$input" >"$OUT" 2>"$ERR" || rc=$?
	last="sevattest $* < $input"
}

expect_rc() {
	checks=$((checks + 1))
	if [ "$rc" -ne "$1" ]; then
		fail "$last: exit $rc, expected $1; stderr: $(head -c 600 "$ERR")"
	fi
}

expect_out() {
	checks=$((checks + 1))
	grep -qF -- "$1" "$OUT" || fail "$last: stdout lacks '$1'"
}

expect_out_re() {
	checks=$((checks + 1))
	grep -qE -- "$1" "$OUT" || fail "$last: stdout does not match /$1/"
}

expect_err() {
	checks=$((checks + 1))
	grep -qF -- "$1" "$ERR" || fail "$last: stderr lacks '$1'; stderr: $(head -c 600 "$ERR")"
}

have_python=1
command -v python3 >/dev/null 2>&1 || have_python=0
# json_check FILE PYTHON-EXPRESSIONS: d is the parsed JSON; each assert names what it checks.
json_check() {
	checks=$((checks + 1))
	if [ "$have_python" -eq 0 ]; then
		echo "note: python3 absent, JSON assertions skipped"
		return 0
	fi
	python3 -c "import json,sys
d = json.load(open(sys.argv[1]))
$2" "$1" 2>"$TMP/pyerr" || fail "$last: JSON check failed: $(tail -n 3 "$TMP/pyerr")"
}
