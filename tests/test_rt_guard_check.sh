#!/bin/sh
# rt_guard_check.py on hand-made reports: the verdicts (clean, violations, no
# cycles, unguarded, warnings, unavailable), --expect and --min-cycles, and
# malformed reports and arguments (status 2 and one line naming the file).
set -u
CHECK=${1:?usage: test_rt_guard_check.sh PATH/TO/rt_guard_check.py}
T=${ICTAL_TEST_TMPDIR:-/tmp}/reports
PY=/usr/bin/python3
rm -rf "$T"
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# mk NAME [python statements modifying r]: a report from the clean template.
mk() {
    $PY - "$T/$1.json" "${2:-pass}" <<'PYEOF'
import json, sys
r = {"tool": "ictal-rt-guard", "version": 1, "available": True, "pid": 4242,
     "program": "/usr/bin/ictal-detect", "written_at": "exit", "freewheel_policy": "guard",
     "cycles": 40, "freewheel_cycles_guarded": 0, "freewheel_cycles_skipped": 0,
     "violations": 0, "by_symbol": {}, "unguarded": {"process_threads": 0, "clients_over_limit": 0},
     "clients": [{"name": "ictal-detect", "cycles": 40, "violations": 0, "closed": True}],
     "first_violations": [], "warnings": []}
exec(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write(r if isinstance(r, str) else json.dumps(r))
PYEOF
}
# status FILE-OR-ARGS...: run the checker, set rc and out (stdout+stderr).
status() {
    out=$($PY "$CHECK" "$@" 2>&1)
    rc=$?
}
want() { # want RC DESCRIPTION [PATTERN]
    [ "$rc" = "$1" ] || fail "$2: status $rc, expected $1; output: $out"
    if [ $# -ge 3 ]; then
        printf '%s\n' "$out" | grep -q -- "$3" || fail "$2: output lacks '$3': $out"
    fi
}

mk clean
status "$T/clean.json"
want 0 "clean report" "ok .*clean.json (pid 4242, ictal-detect): clean, 40 cycles guarded"

mk dirty 'r["violations"] = 3; r["by_symbol"] = {"malloc": 2, "free": 1}; r["first_violations"] = [
  {"symbol": "malloc", "count": 2, "cycle": 7, "function": "ictal_pipeline_process", "object": "/usr/lib/libictal.so",
   "offset": "0x1234", "backtrace": [{"function": "ictal_pipeline_process", "object": "/usr/lib/libictal.so", "offset": "0x1234"},
   {"function": "", "object": "/lib/libjack.so.0", "offset": "0x99"}]}]'
status "$T/dirty.json"
want 1 "dirty report" "FAIL .*3 violations in 40 guarded cycles"
want 1 "dirty report lists counts" "malloc x2, free x1"
want 1 "dirty report names the caller" "malloc x2 called from ictal_pipeline_process (libictal.so+0x1234), first in cycle 7"
want 1 "dirty report backtrace" "backtrace: ictal_pipeline_process < libjack.so.0+0x99"
status --expect malloc@ictal_pipeline_process "$T/dirty.json"
want 0 "--expect malloc@function holds"
status --expect malloc "$T/dirty.json"
want 0 "--expect malloc holds"
status --expect malloc@main "$T/dirty.json"
want 1 "--expect with the wrong function" "expected malloc from main was not seen"
status --expect write "$T/dirty.json"
want 1 "--expect an absent symbol" "expected write was not seen"
status --expect malloc "$T/clean.json"
want 1 "--expect on a clean report"

mk nocycles 'r["cycles"] = 0'
status "$T/nocycles.json"
want 1 "no guarded cycles" "0 guarded cycles (at least 1 needed)"
status --min-cycles 41 "$T/clean.json"
want 1 "--min-cycles above the count" "40 guarded cycles (at least 41 needed)"
status --min-cycles 40 "$T/clean.json"
want 0 "--min-cycles at the count"

mk unguarded 'r["unguarded"]["process_threads"] = 1'
status "$T/unguarded.json"
want 1 "an unguarded process thread" "unguarded: process_threads 1"
mk replaced 'r["unguarded"]["callbacks_replaced_while_active"] = 2'
status "$T/replaced.json"
want 1 "a callback replaced while active" "unguarded: callbacks_replaced_while_active 2"
mk warned 'r["warnings"] = ["ICTAL_RT_GUARD_FREEWHEEL=x is neither"]'
status "$T/warned.json"
want 1 "a warning" "warning: ICTAL_RT_GUARD_FREEWHEEL=x"
mk countonly 'r["by_symbol"] = {"poll": 1}'
status "$T/countonly.json"
want 1 "a symbol count with violations 0"

mk unavail 'r = {"tool": "ictal-rt-guard", "version": 1, "available": False, "reason": "ASan build"}'
status "$T/unavail.json"
want 77 "unavailable" "UNAVAILABLE .*ASan build (not checked)"
status "$T/unavail.json" "$T/clean.json"
want 1 "unavailable mixed with available" "some reports unavailable"

# A directory: all its reports; several clean ones pass, one dirty fails all.
mkdir -p "$T/dir"
cp "$T/clean.json" "$T/dir/1.json"
cp "$T/clean.json" "$T/dir/2.json"
status "$T/dir"
want 0 "a directory of clean reports" "2 report(s) pass, 80 cycles guarded"
cp "$T/dirty.json" "$T/dir/3.json"
status "$T/dir"
want 1 "a directory with a dirty report" "3.json"
mkdir -p "$T/empty"
status "$T/empty"
want 1 "a directory without reports" "no report in"
mk fwskipped 'r["freewheel_cycles_skipped"] = 500; r["freewheel_policy"] = "skip"'
status "$T/fwskipped.json"
want 0 "skipped freewheel cycles are reported" "500 freewheel cycles not armed"

# Malformed reports: status 2, the file named, no traceback.
malformed() { # NAME DESCRIPTION PATTERN
    status "$T/$1.json"
    want 2 "$2" "$3"
    printf '%s\n' "$out" | grep -q Traceback && fail "$2: a Python traceback: $out"
}
mk notjson 'r = "{\"tool\": \"ictal-rt-guard\", "'
malformed notjson "truncated JSON" "notjson.json: not JSON"
mk empty 'r = ""'
malformed empty "an empty file" "empty.json: not JSON"
printf '\377\376\000garbage' >"$T/binary.json"
malformed binary "binary garbage" "binary.json: not JSON"
mk array 'r = "[1, 2]"'
malformed array "a JSON array" "array.json: not a JSON object"
mk othertool 'r["tool"] = "valgrind"'
malformed othertool "another tool's JSON" "not an RT guard report"
mk v2 'r["version"] = 2'
malformed v2 "version 2" "report version 2"
mk nocyc 'del r["cycles"]'
malformed nocyc "cycles missing" 'missing "cycles"'
mk strcyc 'r["cycles"] = "40"'
malformed strcyc "cycles as a string" '"cycles" has the wrong type'
mk boolcyc 'r["cycles"] = True'
malformed boolcyc "cycles as a bool" '"cycles" has the wrong type'
mk negcyc 'r["violations"] = -1'
malformed negcyc "negative violations" '"violations" is negative'
mk badsym 'r["by_symbol"] = {"malloc": "many"}'
malformed badsym "a symbol count as a string" 'by_symbol "malloc" is not a count'
mk badhit 'r["first_violations"] = [{"symbol": "malloc"}]'
malformed badhit "a violation without function" 'first_violations\[0\]: missing "function"'
mk badframe 'r["first_violations"] = [{"symbol": "malloc", "function": "f", "object": "o", "backtrace": [3]}]'
malformed badframe "a backtrace frame that is not an object" 'missing "function"'
mk badung 'r["unguarded"]["callbacks_replaced_while_active"] = "x"'
malformed badung "an unguarded count as a string" '"callbacks_replaced_while_active" has the wrong type'
mk badavail 'r["available"] = "yes"'
malformed badavail "available as a string" '"available" has the wrong type'
mk badwarn 'r["warnings"] = [1]'
malformed badwarn "a warning that is not a string" "warnings must be strings"
status "$T/does-not-exist.json"
want 2 "a missing file" "does-not-exist.json: cannot read"

# Usage errors.
status
want 2 "no arguments" "no report or directory given"
status --min-cycles
want 2 "--min-cycles without a value" "needs a value"
status --min-cycles x "$T/clean.json"
want 2 "--min-cycles x" "positive integer"
status --min-cycles 0 "$T/clean.json"
want 2 "--min-cycles 0" "positive integer"
status --expect "" "$T/clean.json"
want 2 "--expect ''" "SYMBOL"
status --bogus "$T/clean.json"
want 2 "an unknown option" "unknown option --bogus"
status --help
want 0 "--help" "rt_guard_check"

if [ $fails != 0 ]; then
    echo "test_rt_guard_check: $fails check(s) failed" >&2
    exit 1
fi
echo "test_rt_guard_check: all checks passed"
