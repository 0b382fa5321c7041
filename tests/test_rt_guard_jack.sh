#!/bin/sh
# The RT guard for whole programs (librtguard_jack.so under LD_PRELOAD) on
# rt_guard_probe against a private jackd: a clean client passes with cycles
# counted; each forbidden thing in the callback is counted under the right
# symbol with the probe's function named; freewheel cycles are armed or not
# as ICTAL_RT_GUARD_FREEWHEEL says; abort, _exit, a preloaded jackd, a bad
# setting and an unwritable report path behave as documented.
#
#   test_rt_guard_jack.sh ICTAL-WITH-JACKD PROBE     (environment: ICTAL_RT_GUARD_*)
#
# In sanitizer builds (ICTAL_RT_GUARD_LIB empty) it checks that the guard
# says "unavailable" and exits 77: skipped, not passed.
set -u
W=${1:?usage: test_rt_guard_jack.sh ICTAL-WITH-JACKD PROBE}
PROBE=${2-}
T=${ICTAL_TEST_TMPDIR:-/tmp}
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK="$HERE/support/rt_guard_check.py"
PY=/usr/bin/python3
export JACK_NO_START_SERVER=1
export OPENBLAS_NUM_THREADS=1
unset ICTAL_RT_GUARD_REPORT ICTAL_RT_GUARD_FREEWHEEL ICTAL_RT_GUARD_ABORT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

. "$HERE/support/rt_guard.sh"

# ---- inside a private jackd (the script runs itself under ictal-with-jackd) ----
if [ "${3-}" = --inner ]; then
    D=$4
    LIB=$ICTAL_RT_GUARD_LIB
    run() { # run NAME [ENV=V...] PROBE ARGS: report $D/NAME-<pid>.json, output $D/NAME.out
        n=$1
        shift
        set -- env LD_PRELOAD="$LIB" ICTAL_RT_GUARD_REPORT="$D/$n-%p.json" "$@"
        "$@" >"$D/$n.out" 2>&1
        echo $? >"$D/$n.rc"
    }
    # clean, through the helpers the integration scripts use
    rt_guard_init "$D/helper" || exit 1
    $RT_GUARD_RUN "$PROBE" --mode clean --cycles 40 >"$D/helper.out" 2>&1
    echo $? >"$D/helper.rc"
    rt_guard_verify >"$D/helper-verify.out" 2>&1
    echo $? >"$D/helper-verify.rc"
    for m in malloc mutex sleep write osc; do
        run "$m" "$PROBE" --mode "$m" --every 3 --cycles 24
    done
    run fwskip ICTAL_RT_GUARD_FREEWHEEL=skip "$PROBE" --mode sleep --every 1 --cycles 8 \
        --freewheel 200 --dirty-in freewheel
    run fwguard ICTAL_RT_GUARD_FREEWHEEL=guard "$PROBE" --mode sleep --every 1 --cycles 8 \
        --freewheel 200 --dirty-in freewheel
    run uexit "$PROBE" --mode write --cycles 12 --exit _exit
    run badfw ICTAL_RT_GUARD_FREEWHEEL=sometimes "$PROBE" --mode clean --cycles 8
    # unwritable report path: the program still runs and says why
    env LD_PRELOAD="$LIB" ICTAL_RT_GUARD_REPORT="$D/no/such/dir/%p.json" \
        "$PROBE" --mode clean --cycles 8 >"$D/nodir.out" 2>&1
    echo $? >"$D/nodir.rc"
    # %% in the report path is a '%'; an over-long path falls back to the summary
    env LD_PRELOAD="$LIB" ICTAL_RT_GUARD_REPORT="$D/pct%%x-%p.json" "$PROBE" --mode clean --cycles 4 \
        >"$D/pct.out" 2>&1
    echo $? >"$D/pct.rc"
    long=$D/$(printf '%05000d' 0)
    env LD_PRELOAD="$LIB" ICTAL_RT_GUARD_REPORT="$long" "$PROBE" --mode clean --cycles 4 >"$D/long.out" 2>&1
    echo $? >"$D/long.rc"
    # no report path: one summary line on stderr
    env LD_PRELOAD="$LIB" "$PROBE" --mode malloc --every 2 --cycles 8 >"$D/summary.out" 2>&1
    echo $? >"$D/summary.rc"
    exit 0
fi

# ---- unavailable (sanitizer build) -------------------------------------------
if [ -z "${ICTAL_RT_GUARD_LIB:-}" ]; then
    rt_guard_init "$T/unavailable" || fail "rt_guard_init failed"
    [ "$RT_GUARD_AVAILABLE" = 0 ] || fail "RT_GUARD_AVAILABLE=$RT_GUARD_AVAILABLE without a library"
    [ -z "$RT_GUARD_RUN" ] || fail "RT_GUARD_RUN set without a library: $RT_GUARD_RUN"
    msg=$(rt_guard_verify 2>&1); rc=$?
    [ "$rc" = 77 ] || fail "rt_guard_verify gave $rc when unavailable (expected 77)"
    case "$msg" in *UNAVAILABLE*) ;; *) fail "rt_guard_verify said '$msg'" ;; esac
    [ $fails = 0 ] || exit 1
    echo "test_rt_guard_jack: RT guard unavailable (${ICTAL_RT_GUARD_UNAVAILABLE:-?}): skipped"
    exit 77
fi
[ -x "$PROBE" ] || { echo "FAIL: probe '$PROBE' is not executable" >&2; exit 1; }

# jq-like: jget FILE 'python expression over r' prints the value.
jget() {
    $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}
# The one report NAME-<pid>.json in dir D.
report() {
    set -- "$1"/"$2"-*.json
    [ -f "$1" ] && [ $# = 1 ] && echo "$1"
}
expect() { # expect DESCRIPTION ACTUAL WANTED
    [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

D=$T/inner
rm -rf "$D"
mkdir -p "$D"
"$W" -r 48000 -p 256 -- "$0" "$W" "$PROBE" --inner "$D"; rc=$?
[ "$rc" = 0 ] || fail "the inner run under ictal-with-jackd gave status $rc"

# Clean, through rt_guard.sh: the checker passes it.
expect "clean probe status" "$(cat "$D/helper.rc" 2>/dev/null)" 0
expect "rt_guard_verify on the clean run" "$(cat "$D/helper-verify.rc" 2>/dev/null)" 0
r=$(ls "$D"/helper/*.json 2>/dev/null)
if [ -f "$r" ]; then
    expect "clean: guarded cycles >= 40" "$(jget "$r" "r['cycles'] >= 40")" True
    expect "clean: violations" "$(jget "$r" "r['violations']")" 0
    expect "clean: by_symbol" "$(jget "$r" "r['by_symbol']")" "{}"
    expect "clean: written at" "$(jget "$r" "r['written_at']")" exit
    expect "clean: client name" "$(jget "$r" "r['clients'][0]['name'].startswith('rtprobe-')")" True
    expect "clean: program" "$(jget "$r" "r['program'].endswith('rt_guard_probe')")" True
else
    fail "clean: no single report in $D/helper: $(ls "$D/helper" 2>&1)"
fi

# Dirty modes: the symbol is counted once per dirty cycle (24 cycles, every
# 3rd: 8) and the probe's own function is named.
check_dirty() { # MODE SYMBOL FUNCTION
    expect "$1: probe status" "$(cat "$D/$1.rc" 2>/dev/null)" 0
    r=$(report "$D" "$1")
    if [ -z "$r" ]; then
        fail "$1: no single report: $(ls "$D" | grep "^$1-")"
        return
    fi
    expect "$1: $2 count" "$(jget "$r" "r['by_symbol'].get('$2', 0)")" 8
    expect "$1: $2 named $3" \
        "$(jget "$r" "any(h['symbol'] == '$2' and (h['function'] == '$3' or any(f['function'] == '$3' for f in h['backtrace'])) for h in r['first_violations'])")" True
    expect "$1: guarded cycles >= 24" "$(jget "$r" "r['cycles'] >= 24")" True
    expect "$1: per-client violations" "$(jget "$r" "r['clients'][0]['violations'] == r['violations']")" True
    $PY "$CHECK" -q "$r" >"$D/$1.check" 2>&1 && fail "$1: the checker passed a dirty report"
    grep -q "$2 x8" "$D/$1.check" || fail "$1: the checker's output does not say '$2 x8': $(cat "$D/$1.check")"
    $PY "$CHECK" -q --expect "$2@$3" "$r" || fail "$1: --expect $2@$3 did not hold"
}
check_dirty malloc malloc probe_dirty_malloc
check_dirty mutex pthread_mutex_lock probe_dirty_mutex
check_dirty sleep nanosleep probe_dirty_sleep
check_dirty write write probe_dirty_write
check_dirty osc sendto probe_dirty_osc
r=$(report "$D" malloc)
[ -n "$r" ] && expect "malloc mode: the first malloc's caller" \
    "$(jget "$r" "[h['function'] for h in r['first_violations'] if h['symbol'] == 'malloc'][0]")" probe_dirty_malloc
# The mutex mode locks once per dirty cycle; the recorded site counts all 8.
r=$(report "$D" mutex)
[ -n "$r" ] && expect "mutex: one call site with count 8" \
    "$(jget "$r" "[(h['function'], h['count']) for h in r['first_violations']]")" "[('probe_dirty_mutex', 8)]"

# Freewheel: skip leaves the freewheel cycles unarmed (the probe sleeps only
# in them); guard arms them and counts the sleeps.
expect "fwskip: probe status" "$(cat "$D/fwskip.rc" 2>/dev/null)" 0
r=$(report "$D" fwskip)
if [ -n "$r" ]; then
    expect "fwskip: policy" "$(jget "$r" "r['freewheel_policy']")" skip
    expect "fwskip: violations" "$(jget "$r" "r['violations']")" 0
    expect "fwskip: skipped >= 200" "$(jget "$r" "r['freewheel_cycles_skipped'] >= 200")" True
    expect "fwskip: guarded cycles >= 8" "$(jget "$r" "r['cycles'] >= 8")" True
    $PY "$CHECK" -q "$r" || fail "fwskip: the checker failed a clean skip report"
else
    fail "fwskip: no single report"
fi
expect "fwguard: probe status" "$(cat "$D/fwguard.rc" 2>/dev/null)" 0
r=$(report "$D" fwguard)
if [ -n "$r" ]; then
    expect "fwguard: policy" "$(jget "$r" "r['freewheel_policy']")" guard
    expect "fwguard: nanosleep counted" "$(jget "$r" "r['by_symbol'].get('nanosleep', 0) >= 150")" True
    expect "fwguard: freewheel cycles guarded >= 200" "$(jget "$r" "r['freewheel_cycles_guarded'] >= 200")" True
    expect "fwguard: none skipped" "$(jget "$r" "r['freewheel_cycles_skipped']")" 0
else
    fail "fwguard: no single report"
fi

# _exit after jack_client_close: the close-time report is what remains.
expect "_exit: probe status" "$(cat "$D/uexit.rc" 2>/dev/null)" 0
r=$(report "$D" uexit)
if [ -n "$r" ]; then
    expect "_exit: written at" "$(jget "$r" "r['written_at']")" jack_client_close
    expect "_exit: write counted" "$(jget "$r" "r['by_symbol'].get('write', 0) > 0")" True
    expect "_exit: client closed" "$(jget "$r" "r['clients'][0]['closed']")" True
else
    fail "_exit: no single report"
fi

# A bad ICTAL_RT_GUARD_FREEWHEEL: one line on stderr, a warning in the report
# (so the checker fails it), freewheel guarded.
expect "bad setting: probe status" "$(cat "$D/badfw.rc" 2>/dev/null)" 0
grep -q "ICTAL_RT_GUARD_FREEWHEEL=sometimes" "$D/badfw.out" || fail "bad setting: no message: $(cat "$D/badfw.out")"
r=$(report "$D" badfw)
if [ -n "$r" ]; then
    expect "bad setting: policy" "$(jget "$r" "r['freewheel_policy']")" guard
    $PY "$CHECK" -q "$r" >/dev/null 2>&1 && fail "bad setting: the checker passed a report with a warning"
else
    fail "bad setting: no single report"
fi
expect "unwritable report: probe status" "$(cat "$D/nodir.rc" 2>/dev/null)" 0
grep -q "rt_guard: cannot write the report .*no/such/dir" "$D/nodir.out" ||
    fail "unwritable report: no message: $(cat "$D/nodir.out")"
expect "%% in the path: probe status" "$(cat "$D/pct.rc" 2>/dev/null)" 0
r=$(report "$D" "pct%x")
[ -n "$r" ] || fail "%% in the path: no report named pct%x-<pid>.json: $(ls "$D" | grep pct)"
expect "long path: probe status" "$(cat "$D/long.rc" 2>/dev/null)" 0
grep -q "rt_guard: ICTAL_RT_GUARD_REPORT is too long; summary on stderr instead" "$D/long.out" ||
    fail "long path: no message: $(cat "$D/long.out")"
grep -q "^rt_guard: pid [0-9]*, exit: [0-9]* cycles guarded, violations: none" "$D/long.out" ||
    fail "long path: no summary: $(cat "$D/long.out")"
expect "summary: probe status" "$(cat "$D/summary.rc" 2>/dev/null)" 0
grep -q "^rt_guard: pid [0-9]*, exit: [0-9]* cycles guarded, violations: malloc x4, free x4; first: malloc from probe_dirty_malloc" \
    "$D/summary.out" || fail "summary line: $(cat "$D/summary.out")"

# LD_PRELOAD on the wrapper itself: jackd and ictal-with-jackd inherit the
# guard and are unaffected; only the JACK client with a process callback
# reports.
E=$T/everything
rm -rf "$E"
mkdir -p "$E"
env LD_PRELOAD="$ICTAL_RT_GUARD_LIB" ICTAL_RT_GUARD_REPORT="$E/%p.json" \
    "$W" -r 48000 -p 256 -- "$PROBE" --mode clean --cycles 24 >"$E/out" 2>&1; rc=$?
expect "preloaded jackd: status" "$rc" 0
n=$(ls "$E"/*.json 2>/dev/null | wc -l)
expect "preloaded jackd: reports" "$n" 1
$PY "$CHECK" -q "$E" || fail "preloaded jackd: the probe's report does not pass"

# ICTAL_RT_GUARD_ABORT=1: the report is written, then the probe aborts
# (jackd then waits for the dead client: slower to stop).
A=$T/abort
rm -rf "$A"
mkdir -p "$A"
"$W" -r 48000 -p 256 -- env LD_PRELOAD="$ICTAL_RT_GUARD_LIB" ICTAL_RT_GUARD_ABORT=1 \
    ICTAL_RT_GUARD_REPORT="$A/%p.json" "$PROBE" --mode write --cycles 12 >"$A/out" 2>&1; rc=$?
expect "abort: status (SIGABRT)" "$rc" 134
grep -q "rt_guard: write called on an armed real-time thread; aborting" "$A/out" ||
    fail "abort: no message: $(cat "$A/out")"
r=$(ls "$A"/*.json 2>/dev/null)
if [ -f "$r" ]; then
    expect "abort: written at" "$(jget "$r" "r['written_at']")" abort
    expect "abort: one write" "$(jget "$r" "r['by_symbol']")" "{'write': 1}"
else
    fail "abort: no report"
fi

# The probe's own usage errors.
"$PROBE" --mode bogus >/dev/null 2>&1; rc=$?
expect "probe --mode bogus" "$rc" 2
"$PROBE" --every 0 >/dev/null 2>&1; rc=$?
expect "probe --every 0" "$rc" 2

if [ $fails != 0 ]; then
    echo "test_rt_guard_jack: $fails check(s) failed; outputs in $T" >&2
    exit 1
fi
echo "test_rt_guard_jack: all checks passed"
