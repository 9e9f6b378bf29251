#!/usr/bin/env python3
"""Count individual test cases in Meson test logs, for .ci/run's closing line.

Usage: count_tests.py LABEL:TESTLOG_JSON:EXIT_CODE ...

Each TESTLOG_JSON is a build dir's meson-logs/testlog.json (one JSON object per
line).  A cmocka program counts as its cases, read from cmocka's summary lines
("[  PASSED  ] N test(s).", "[  FAILED  ] N test(s), listed below:", ...) in its
stdout and stderr, or, when a crash cut the summary off, from the lines it
printed for each case; cases it announced but never reported count as failed.  Any other test counts as one.  A run whose log is
missing (the build failed), or whose runner failed with no failed case to show
for it (a leak reported at exit, say), adds one failure.  Prints a table, then
the last line "N passed, N failed, N skipped".  Exits 1 if anything failed or
no test ran at all.
"""
import json
import os
import re
import sys

RUNNING = re.compile(r"^\[==========\] (?:[^\]]*: )?Running (\d+) test\(s\)\.", re.M)
PASSED = re.compile(r"^\[  PASSED  \] (?:[^\]]*: )?(\d+) test\(s\)\.", re.M)
FAILED = re.compile(r"^\[  FAILED  \] (?:[^\]]*: )?(\d+) test\(s\), listed below", re.M)
ERRORED = re.compile(r"^\[  ERROR   \] (?:[^\]]*: )?(\d+) test\(s\), listed below", re.M)
SKIPPED = re.compile(r"^\[  SKIPPED \] (?:[^\]]*: )?(\d+) test\(s\), listed below", re.M)

# One line per case, printed as each case ends (the summary lists above end in "test(s)...").
CASE_OK = re.compile(r"^\[       OK \] (?!.*test\(s\)).+$", re.M)
CASE_FAILED = re.compile(r"^\[  (?:FAILED  |ERROR   )\] (?!---)(?!.*test\(s\)).+$", re.M)
CASE_SKIPPED = re.compile(r"^\[  SKIPPED \] (?!.*test\(s\)).+$", re.M)

GOOD = {"OK", "EXPECTEDFAIL"}


def total(rx, text):
    return sum(int(m) for m in rx.findall(text))


def count_one(entry):
    """(passed, failed, skipped, note) for one meson test."""
    result = entry.get("result", "ERROR")
    text = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
    running = total(RUNNING, text)
    if running == 0:  # not a cmocka program: one test
        if result in GOOD:
            return 1, 0, 0, ""
        if result == "SKIP":
            return 0, 0, 1, ""
        return 0, 1, 0, result.lower()
    if len(PASSED.findall(text)) >= len(RUNNING.findall(text)):
        # every group printed its summary
        p = total(PASSED, text)
        f = total(FAILED, text) + total(ERRORED, text)
        s = total(SKIPPED, text)
    else:
        # a group died before its summary (a crash, a sanitizer abort): count
        # the cases it reported one by one in stdout
        out = entry.get("stdout") or ""
        p = len(CASE_OK.findall(out))
        f = len(CASE_FAILED.findall(out))
        s = len(CASE_SKIPPED.findall(out))
    note = ""
    lost = running - (p + f + s)
    if lost > 0:
        f += lost
        note = f"{lost} case(s) never reported ({result.lower()})"
    if result not in GOOD and result != "SKIP" and f == 0:
        f = 1
        note = f"no case failed but the test's result is {result} (exit {entry.get('returncode')})"
    return p, f, s, note


def main(argv):
    grand = [0, 0, 0]
    rows = []
    for spec in argv[1:]:
        label, path, rc = spec.rsplit(":", 2)
        rc = int(rc)
        run = [0, 0, 0]
        if not os.path.exists(path):
            run[1] += 1
            rows.append((label, "(build)", "", 0, 1, 0, f"no test log: the build failed (exit {rc})"))
        else:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    line = line.strip()
                    if not line:
                        continue
                    entry = json.loads(line)
                    p, f, s, note = count_one(entry)
                    run[0] += p
                    run[1] += f
                    run[2] += s
                    rows.append((label, entry.get("name", "?"), entry.get("result", "?"), p, f, s, note))
            if rc != 0 and run[1] == 0:
                run[1] += 1
                rows.append((label, "(runner)", "", 0, 1, 0, f"meson test exited {rc} with no failed case"))
        for i in range(3):
            grand[i] += run[i]
    width = max([len(r[1]) for r in rows] + [4])
    print(f"{'run':6} {'test':{width}} {'result':14} {'pass':>5} {'fail':>5} {'skip':>5}")
    for label, name, result, p, f, s, note in rows:
        print(f"{label:6} {name:{width}} {result:14} {p:5} {f:5} {s:5}" + (f"  {note}" if note else ""))
    if sum(grand) == 0:
        print("no test ran")
    line = f"{grand[0]} passed, {grand[1]} failed"
    if grand[2]:
        line += f", {grand[2]} skipped"
    print(line)
    return 1 if grand[1] or sum(grand) == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
