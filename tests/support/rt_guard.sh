# rt_guard.sh — shell functions for test scripts that run whole JACK programs
# under the RT guard (librtguard_jack.so; docs/testing.md, "RT guard for whole
# programs"). POSIX sh; source it:
#
#   . "$ICTAL_RT_GUARD_SH"            # set by ICTAL_RT_GUARD_TEST_ENV (tests/cmake/rt.cmake)
#   rt_guard_init "$ICTAL_TEST_TMPDIR/rt-guard" || exit 1
#   $RT_GUARD_RUN ictal-detect --model m.safetensors ... &       # armed in every cycle
#   $RT_GUARD_RUN_FW_SKIP ictal-play --freewheel rec.edf ... &   # not armed in freewheel
#   ...  (the programs exit normally: the report is written at exit)
#   rt_guard_verify; rc=$?            # 0 clean, 1 violations or no report, 77 unavailable
#
# rt_guard_init reads what CMake puts in the test's environment
# (ICTAL_RT_GUARD_TEST_ENV in tests/cmake/rt.cmake):
#   ICTAL_RT_GUARD_LIB          the preload library; empty in sanitizer builds
#   ICTAL_RT_GUARD_UNAVAILABLE  why it is empty
#   ICTAL_RT_GUARD_CHECK        rt_guard_check.py
#   (ICTAL_RT_GUARD_SH           this file)
# and sets:
#   RT_GUARD_AVAILABLE    1 or 0
#   RT_GUARD_DIR          where the reports go (<pid>.json), emptied
#   RT_GUARD_RUN          "env LD_PRELOAD=... ICTAL_RT_GUARD_REPORT=..." to put
#   RT_GUARD_RUN_FW_SKIP  before a command; both empty when unavailable, so the
#                         program still runs, unguarded (the other checks of an
#                         integration test stay meaningful in ASan builds)
#
# The prefixes are split on blanks: the paths must not contain any (checked).
# `env` execs the program, so `$RT_GUARD_RUN prog &` leaves the program's
# own pid in $!, and signals sent to it reach the program.

rt_guard_init() {
    RT_GUARD_DIR=${1:?rt_guard_init: report directory missing}
    RT_GUARD_AVAILABLE=0
    RT_GUARD_RUN=
    RT_GUARD_RUN_FW_SKIP=
    RT_GUARD_REASON=
    mkdir -p "$RT_GUARD_DIR" || return 1
    rm -f "$RT_GUARD_DIR"/*.json
    if [ -z "${ICTAL_RT_GUARD_LIB:-}" ]; then
        RT_GUARD_REASON=${ICTAL_RT_GUARD_UNAVAILABLE:-ICTAL_RT_GUARD_LIB is not set}
        echo "RT guard: unavailable: $RT_GUARD_REASON" >&2
        return 0
    fi
    if [ ! -f "$ICTAL_RT_GUARD_LIB" ]; then
        echo "rt_guard_init: $ICTAL_RT_GUARD_LIB: no such library (build the rtguard_jack target)" >&2
        return 1
    fi
    if [ ! -f "${ICTAL_RT_GUARD_CHECK:-}" ]; then
        echo "rt_guard_init: ICTAL_RT_GUARD_CHECK does not name rt_guard_check.py" >&2
        return 1
    fi
    case "$ICTAL_RT_GUARD_LIB$RT_GUARD_DIR${LD_PRELOAD:-}" in
    *[[:space:]]*)
        echo "rt_guard_init: the library and report paths must not contain blanks" >&2
        return 1
        ;;
    esac
    _rt_guard_pre="env LD_PRELOAD=$ICTAL_RT_GUARD_LIB${LD_PRELOAD:+:$LD_PRELOAD} ICTAL_RT_GUARD_REPORT=$RT_GUARD_DIR/%p.json"
    RT_GUARD_RUN="$_rt_guard_pre ICTAL_RT_GUARD_FREEWHEEL=guard"
    RT_GUARD_RUN_FW_SKIP="$_rt_guard_pre ICTAL_RT_GUARD_FREEWHEEL=skip"
    RT_GUARD_AVAILABLE=1
    return 0
}

# rt_guard_verify [rt_guard_check.py options]: check every report in
# RT_GUARD_DIR. 77 (and a line saying so) when the guard was unavailable:
# a skipped check, never a pass.
rt_guard_verify() {
    if [ "${RT_GUARD_AVAILABLE:-0}" != 1 ]; then
        echo "RT guard: UNAVAILABLE (${RT_GUARD_REASON:-rt_guard_init not called}): not checked" >&2
        return 77
    fi
    /usr/bin/python3 "$ICTAL_RT_GUARD_CHECK" "$@" "$RT_GUARD_DIR"
}
