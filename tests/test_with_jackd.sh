#!/bin/sh
# ictal-with-jackd: runs a command against a private jackd with the requested
# dummy ports, propagates the command's exit status, rejects bad options, and
# leaves no server behind.
set -u
W=${1:?usage: test_with_jackd.sh PATH/TO/ictal-with-jackd}
T=${ICTAL_TEST_TMPDIR:-/tmp}
export JACK_NO_START_SERVER=1
unset JACK_DEFAULT_SERVER
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# The server answers at 256 Hz / 64 frames with exactly the ports asked for.
out=$("$W" -r 256 -p 64 -C 3 -P 1 -- jack_lsp) || fail "jack_lsp under ictal-with-jackd: status $?"
for p in system:capture_1 system:capture_2 system:capture_3 system:playback_1; do
    printf '%s\n' "$out" | grep -qx "$p" || fail "port $p missing from: $out"
done
printf '%s\n' "$out" | grep -q "system:capture_4" && fail "unexpected port system:capture_4"
printf '%s\n' "$out" | grep -q "system:playback_2" && fail "unexpected port system:playback_2"

# The command sees the private server in its environment, not a default one.
name=$("$W" -r 256 -p 64 -- sh -c 'echo "$JACK_DEFAULT_SERVER"') || fail "sh -c status $?"
case "$name" in ictal-with-jackd-*) ;; *) fail "JACK_DEFAULT_SERVER was '$name'" ;; esac
jack_lsp -s "$name" >/dev/null 2>&1 && fail "server $name still answers after the run"

# Sample rate and buffer size as requested (jack_samplerate / jack_bufsize print them).
sr=$("$W" -r 256 -p 64 -- jack_samplerate) || fail "jack_samplerate status $?"
[ "$sr" = 256 ] || fail "sample rate was '$sr'"
bs=$("$W" -r 48000 -p 128 -- jack_bufsize) || fail "jack_bufsize status $?"
printf '%s\n' "$bs" | grep -q 128 || fail "buffer size output was '$bs'"

# Exit status propagates.
"$W" -r 256 -p 64 -- false; rc=$?
[ "$rc" = 1 ] || fail "'-- false' gave $rc, expected 1"
"$W" -r 256 -p 64 -- sh -c 'exit 42'; rc=$?
[ "$rc" = 42 ] || fail "'exit 42' gave $rc"
"$W" -r 256 -p 64 -- sh -c 'kill -TERM $$'; rc=$?
[ "$rc" = 143 ] || fail "command killed by SIGTERM gave $rc, expected 143"
"$W" -- /nonexistent/command 2>/dev/null; rc=$?
[ "$rc" = 127 ] || fail "missing command gave $rc, expected 127"

# A signal to the wrapper reaches the command and the server still stops.
"$W" -r 256 -p 64 -- sh -c 'echo "$JACK_DEFAULT_SERVER" > "$1"; exec sleep 30' sh "$T/sig-name" &
wpid=$!
i=0
while [ ! -s "$T/sig-name" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $wpid
wait $wpid; rc=$?
[ "$rc" = 143 ] || fail "SIGTERM to the wrapper gave $rc, expected 143"
sname=$(cat "$T/sig-name" 2>/dev/null)
[ -n "$sname" ] || fail "signal test never started"
jack_lsp -s "$sname" >/dev/null 2>&1 && fail "server $sname survived SIGTERM to the wrapper"

# Usage errors: status 2 and a message naming the problem.
check_usage() {
    msg=$("$W" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" = 2 ] || fail "'$*' gave status $rc, expected 2"
    [ -n "$msg" ] || fail "'$*' printed no error"
}
check_usage -r abc -- true
check_usage -r 0 -- true
check_usage -r -5 -- true
check_usage -p 0 -- true
check_usage -p 12x -- true
check_usage -C 99999999999999999999 -- true
check_usage -x -- true
check_usage -r
check_usage -r 256 --
"$W" --help | grep -q "usage: ictal-with-jackd" || fail "--help prints no usage"

[ $fails = 0 ] && echo "test_with_jackd: all checks passed"
exit $((fails != 0))
