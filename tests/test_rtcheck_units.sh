#!/bin/sh
# The systemd units of rt-config/ pass `systemd-analyze verify` (no warning,
# no error), with the ictal programs' paths pointed at stand-ins (verify
# wants the executables to exist). Skipped (77) without systemd-analyze.
set -u
SRC=${1:?usage: test_rtcheck_units.sh RT-CONFIG-DIR}
T=${ICTAL_TEST_TMPDIR:-/tmp}/units
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not installed: skipped"; exit 77; }
rm -rf "$T"
mkdir -p "$T/bin"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for u in jackd-eeg@.service ictal-detect.service ictal-log.service; do
    [ -f "$SRC/$u" ] || { fail "$u missing from $SRC"; continue; }
    sed "s#/usr/local/bin/#$T/bin/#g" "$SRC/$u" >"$T/$u"
done
for p in ictal-detect ictal-log; do
    printf '#!/bin/sh\nexit 0\n' >"$T/bin/$p"
    chmod +x "$T/bin/$p"
done
verify() { # DESCRIPTION UNIT...: status 0 and silence
    d=$1
    shift
    out=$(cd "$T" && systemd-analyze verify "$@" 2>&1)
    rc=$?
    [ "$rc" = 0 ] || fail "$d: systemd-analyze verify status $rc: $out"
    [ -z "$out" ] || fail "$d: systemd-analyze verify said: $out"
}
verify "jackd template" ./jackd-eeg@.service
cp "$T/jackd-eeg@.service" "$T/jackd-eeg@alsa.service"
verify "jackd ALSA instance" ./jackd-eeg@alsa.service
verify "ictal-detect (pulls jackd-eeg@dummy and ictal-log)" ./ictal-detect.service
verify "ictal-log" ./ictal-log.service
# What the units promise (docs/realtime.md): limits, server name, no autostart.
grep -q '^LimitRTPRIO=95$' "$SRC/jackd-eeg@.service" || fail "jackd unit: no LimitRTPRIO=95"
grep -q '^LimitMEMLOCK=infinity$' "$SRC/jackd-eeg@.service" || fail "jackd unit: no LimitMEMLOCK=infinity"
grep -q '^Environment=JACK_NO_AUDIO_RESERVATION=1$' "$SRC/jackd-eeg@.service" || fail "jackd unit: audio reservation"
grep -q '^ExecStart=/usr/bin/jackd -R ' "$SRC/jackd-eeg@.service" || fail "jackd unit: not -R"
grep -q '^LimitRTPRIO=95$' "$SRC/ictal-detect.service" || fail "ictal-detect unit: no LimitRTPRIO"
grep -q '^LimitMEMLOCK=infinity$' "$SRC/ictal-detect.service" || fail "ictal-detect unit: no LimitMEMLOCK"
grep -q '^Restart=on-failure$' "$SRC/ictal-detect.service" || fail "ictal-detect unit: no Restart=on-failure"
grep -q '^Requires=jackd-eeg@dummy.service$' "$SRC/ictal-detect.service" || fail "ictal-detect unit: Requires"
grep -q '^Environment=JACK_NO_START_SERVER=1$' "$SRC/ictal-detect.service" || fail "ictal-detect unit: may start a server"
for e in jackd-dummy.env jackd-alsa.env; do
    grep -q '^JACK_SERVER=eeg$' "$SRC/$e" || fail "$e: server is not eeg"
done
grep -q '^JACK_DRIVER_ARGS=-r 256 -p 64' "$SRC/jackd-dummy.env" || fail "jackd-dummy.env: not 256 Hz / 64"
grep -q 'ICTAL_JACK_SERVER=eeg' "$SRC/ictal-detect.service" || fail "ictal-detect unit: server name"
if [ $fails != 0 ]; then
    echo "test_rtcheck_units: $fails check(s) failed" >&2
    exit 1
fi
echo "test_rtcheck_units: all checks passed"
