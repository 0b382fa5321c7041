#!/bin/sh
# ictal-play's bad inputs: each ends with the right exit status and one clear
# line on stderr naming the problem, never a hang or a crash. Most need no
# JACK server (the file and the channels are checked first); "no server" runs
# against a name nobody serves; a --connect that matches nothing runs under
# ictal-with-jackd.
#   test_ictal_play_errors.sh ICTAL-PLAY ICTAL-SYNTH ICTAL-WITH-JACKD
set -u
play=$1
synth=$2
withjackd=$3
tmp=${ICTAL_TEST_TMPDIR:?}
unset ICTAL_PROFILE
export JACK_NO_START_SERVER=1
# no server of this name exists: if something tried to reach JACK it fails
export JACK_DEFAULT_SERVER="ictal-no-such-server-$$"
cd "$tmp" || exit 1
rm -f ./*.edf ./*.txt
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

"$synth" -d 10 -n 0 -m referential --no-sidecars -q -o rec.edf || { echo "ictal-synth failed"; exit 1; }

# expect STATUS REGEX ARGS...: exit status, exactly one line on stderr, matching REGEX
expect() {
    want=$1
    re=$2
    shift 2
    timeout 30 "$play" -n "play-err-$$" "$@" >out.txt 2>err.txt
    rc=$?
    lines=$(wc -l <err.txt)
    if [ "$rc" != "$want" ]; then
        fail "'$*': status $rc, expected $want; stderr: $(cat err.txt)"
    elif [ "$lines" != 1 ]; then
        fail "'$*': $lines lines on stderr, expected one: $(cat err.txt)"
    elif ! grep -Eq "$re" err.txt; then
        fail "'$*': stderr does not match /$re/: $(cat err.txt)"
    fi
}

# Files.
expect 1 '^ictal-play: .*missing\.edf: cannot open: No such file' missing.edf
head -c 200 rec.edf >short.edf
expect 1 '^ictal-play: .*short\.edf: ' short.edf
printf '0       this is not an EDF header at all%220s\n' x >garbage.edf
expect 1 '^ictal-play: .*garbage\.edf: ' garbage.edf
mkdir -p adir.edf
expect 1 '^ictal-play: .*adir\.edf' adir.edf

# Channels and positions.
expect 1 '^ictal-play: --channels: rec\.edf: no channel matches label "NOPE"' --channels FP1-REF,NOPE rec.edf
expect 1 '^ictal-play: --start 20 s is at or beyond the end of rec\.edf \(10\.000 s\)' --start 20 rec.edf
expect 1 '^ictal-play: --start 10 s is at or beyond the end' --start 10s rec.edf

# No JACK server: one line of ours (libjack's own chatter only at debug level).
expect 1 "^ictal-play: cannot connect to JACK server \"ictal-no-such-server-$$\"" rec.edf
expect 1 '^ictal-play: cannot connect to JACK server "nothere-'"$$"'"' -s "nothere-$$" rec.edf

# Usage and configuration: status 2.
expect 2 "^ictal-play: unknown option '--bogus'" --bogus rec.edf
expect 2 '^ictal-play: no recording' --loop
expect 2 '^ictal-play: one recording only' rec.edf rec.edf
expect 2 '^ictal-play: option --start' --start abc rec.edf
expect 2 '^ictal-play: option --start' --start=-5 rec.edf
expect 2 '^ictal-play: option --osc' --osc nohostport rec.edf
expect 2 '^ictal-play: option --osc' --osc localhost:99999 rec.edf
expect 2 '^ictal-play: option --read-ahead' --read-ahead 0 rec.edf
expect 2 '^ictal-play: option --resampler' --resampler cubic rec.edf
expect 2 '^ictal-play: option -n \(--name\) needs a value' -n
expect 2 'play.client_name' --name "" rec.edf

# A --connect pattern that matches nothing: exit 1 (under a private server).
timeout 60 "$withjackd" -r 256 -p 64 -- "$play" -n "play-err-$$" --connect 'nobody:.*' rec.edf \
    >out.txt 2>err.txt
rc=$?
[ "$rc" = 1 ] || fail "--connect nobody: status $rc: $(cat err.txt)"
grep -q "^ictal-play: --connect nobody:\.\*: no input port matches" err.txt ||
    fail "--connect nobody: $(cat err.txt)"

# Help, version, the effective configuration.
"$play" --help >out.txt 2>err.txt || fail "--help: status $?"
grep -q '^Usage: ictal-play' out.txt || fail "--help printed no usage"
grep -q -- '--freewheel' out.txt || fail "--help does not mention --freewheel"
"$play" --version >out.txt || fail "--version: status $?"
grep -Eq '^ictal-play [0-9]' out.txt || fail "--version: $(cat out.txt)"
"$play" --print-config --loop --start 5s --osc 127.0.0.1:9900 >out.txt 2>err.txt ||
    fail "--print-config: status $?"
grep -Eq '^loop = true +; option --loop' out.txt || fail "--print-config: loop: $(cat out.txt)"
grep -Eq '^start = 5s? +; option --start' out.txt || fail "--print-config: start: $(cat out.txt)"
grep -q '^\[jack\]' out.txt || fail "--print-config: no [jack] section"
grep -q '^\[detect\]' out.txt && fail "--print-config shows ictal-detect's keys"

[ $fails = 0 ] && echo "test_ictal_play_errors: all checks passed"
exit $((fails != 0))
