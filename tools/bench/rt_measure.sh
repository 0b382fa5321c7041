#!/usr/bin/env bash
# Real-time measurement of ictal-detect inside a real-time JACK server:
# callback time p50/p99/max, DSP load and xruns, over a long real-time run.
# A benchmark, not a test: it takes DURATION seconds per configuration and
# its figures depend on the machine (printed with them).
#
#   tools/bench/rt_measure.sh [BUILD_DIR] [MODEL]
#   DURATION=600 CONFIGS="256:64 48000:128" tools/bench/rt_measure.sh
#
# For each RATE:PERIOD it starts a private `jackd -R` (SCHED_FIFO; needs root
# or an rtprio limit, see rt-config/) with the dummy backend, plays a 23-channel
# synthetic recording in a loop in real time (ictal-play --loop), runs
# ictal-detect with the model on it, stops it after DURATION seconds and
# prints ictal-detect's report: callback time percentiles (µs), mean and
# maximum DSP load (callback / period), xruns, and the scheduling class of
# the JACK threads actually seen. Results also land in out/rt_measure/.
#
# Before ictal-detect joins, the same server runs BASELINE seconds (default
# 120; 0 skips) empty and then BASELINE seconds with ictal-play alone, and
# the xruns jackd logs in each stage are counted: on a shared VM the server
# itself misses deadlines at short periods, and these stages say how many of
# the xruns seen with ictal-detect are the machine's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
model=${2:-$(ls "$root"/models/*.safetensors 2>/dev/null | head -n 1)}
duration=${DURATION:-600}
baseline=${BASELINE:-120}
configs=${CONFIGS:-"256:64 48000:128"}
out=$root/out/rt_measure
mkdir -p "$out"
[ -f "$model" ] || { echo "rt_measure: no model (give one as the second argument)" >&2; exit 1; }

echo "== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "kernel:  $(uname -r) $(uname -v)"
pre=$(cat /sys/kernel/debug/sched/preempt 2>/dev/null || true)
echo "preempt: ${pre:-unknown} (PREEMPT_RT: $(cat /sys/kernel/realtime 2>/dev/null || echo no))"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine disturbs the figures)"
echo "model:   $model"
echo "jackd:   $(jackd --version 2>/dev/null | head -n 1)"

"$build/tools/ictal-synth" --duration 10m --montage chbmit --seizures 2 --seed 3 -q -o "$out/rec.edf"

for cfg in $configs; do
    rate=${cfg%%:*}
    period=${cfg##*:}
    name="rtm-$$-$rate"
    tag="$out/$rate-$period"
    rm -rf "$tag.report"
    echo
    echo "== $rate Hz, $period frames, $duration s, 23 channels"
    JACK_NO_AUDIO_RESERVATION=1 jackd -R -P 70 -n "$name" -d dummy -r "$rate" -p "$period" \
        > "$tag.jackd.log" 2>&1 &
    jpid=$!
    trap 'kill $jpid 2>/dev/null || true' EXIT
    for i in $(seq 50); do jack_lsp -s "$name" >/dev/null 2>&1 && break; sleep 0.1; done
    export JACK_DEFAULT_SERVER=$name
    # jackd's log: driver slips ("JackTimedDriver::Process XRun") and
    # clients not finished in time ("JackEngine::XRun: client = X").
    slips() { grep -c 'Driver::Process XRun' "$tag.jackd.log" || true; }
    late() { grep -c 'JackEngine::XRun' "$tag.jackd.log" || true; }
    if [ "$baseline" -gt 0 ]; then
        sleep "$baseline"
        echo "baseline, jackd alone, $baseline s: $(slips) driver slips, $(late) late clients"
        s0=$(slips) l0=$(late)
    fi
    "$build/clients/ictal-play/ictal-play" -n play --wait --loop --resampler sinc_medium \
        "$out/rec.edf" 2> "$tag.play.log" &
    ppid=$!
    for i in $(seq 100); do jack_lsp play:gate >/dev/null 2>&1 && break; sleep 0.1; done
    if [ "$baseline" -gt 0 ]; then
        sleep "$baseline"
        echo "baseline, ictal-play alone, $baseline s: $(( $(slips) - s0 )) driver slips, $(( $(late) - l0 )) late clients"
        s0=$(slips) l0=$(late)
    else
        s0=0 l0=0
    fi
    "$build/clients/ictal-detect/ictal-detect" -m "$model" -n detect --connect "play:.*" --quiet \
        --set pipeline.resampler=sinc_medium --report "$tag.report" --osc 127.0.0.1:9 \
        2> "$tag.detect.log" &
    dpid=$!
    sleep 5
    echo "threads (class, rt priority):"
    ps -L -o tid=,cls=,rtprio=,comm= -p "$(pgrep -x jackd | tr '\n' ',' | sed 's/,$//'),$dpid" \
        | awk '$2 != "TS"' | sed 's/^/  /' || true
    sleep $((duration - 5))
    kill -TERM $dpid; wait $dpid || true
    kill -TERM $ppid; wait $ppid || true
    kill -TERM $jpid; wait $jpid || true
    trap - EXIT
    /usr/bin/python3 - "$tag.report/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["callback_us"]
print(f"cycles {s['cycles']}, period {s['period_us']:.0f} us")
print(f"callback us: p50 {c['p50']:.1f}  p95 {c['p95']:.1f}  p99 {c['p99']:.1f}  max {c['max']:.1f}  mean {c['mean']:.1f}")
print(f"DSP load (callback / period): mean {s['dsp_load_mean_pct']:.3f} %, max {s['dsp_load_max_pct']:.2f} %")
print(f"xruns {s['xruns']}, bridged samples {s['lost_samples']}, records dropped {s['records_dropped']}")
PY
    echo "jackd, with ictal-detect: $(( $(slips) - s0 )) driver slips, $(( $(late) - l0 )) late clients" \
        "($(grep -c 'client = detect' "$tag.jackd.log" || true) naming detect, of which" \
        "$(grep 'client = detect' "$tag.jackd.log" | grep -c Triggered || true) never scheduled: state Triggered)"
done
