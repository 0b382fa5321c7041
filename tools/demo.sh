#!/usr/bin/env bash
# The main job of `./setup.sh demo`: ictal end to end on a private JACK server.
#
#   tools/demo.sh [BUILD_DIR]
#
# 1. ictal-synth writes a one-hour synthetic recording (CHB-MIT montage,
#    seizures and artifacts, fixed seed) with its ground truth;
# 2. ictal-with-jackd starts a private jackd at EEG rate (dummy backend,
#    256 Hz, 64-frame periods, a unique server name) and, against it:
#      ictal-log     listens for OSC and prints every record as it arrives,
#      ictal-play    plays the recording into the graph in freewheel (and
#                    sends its annotations, the ground truth, as OSC),
#      ictal-detect  runs the shipped model inside the JACK cycle, connected
#                    to ictal-play's ports, and exits when the replay ends;
#    the server is stopped whatever happens;
# 3. ictal-score compares the detections with the ground truth.
# Outputs go to out/demo/ (or $ICTAL_DEMO_DIR): recording, events (JSON
# Lines, CSV_BI), ictal-detect's journal and report, scores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${ICTAL_DEMO_DIR:-$root/out/demo}
mkdir -p "$out"

step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }

for prog in tools/ictal-synth tools/ictal-score tests/ictal-with-jackd clients/ictal-play/ictal-play \
            clients/ictal-detect/ictal-detect clients/ictal-log/ictal-log; do
    [ -x "$build/$prog" ] || { echo "demo: $build/$prog is missing; run ./setup.sh build" >&2; exit 1; }
done
model=$(ls "$root"/models/*.safetensors 2>/dev/null | head -n 1 || true)
[ -n "$model" ] || { echo "demo: no model in $root/models/" >&2; exit 1; }

step "ictal-synth: 1 h of CHB-MIT-montage EEG with seizures and artifacts (seed 7)"
"$build/tools/ictal-synth" --duration 1h --montage chbmit --seizures 4 --seed 7 -q -o "$out/demo.edf"
echo "$out/demo.edf; ground truth: $out/demo.csv_bi"
grep -c seiz "$out/demo.csv_bi" | sed 's/^/seizures: /'

step "A private jackd at 256 Hz / 64 frames: ictal-log, ictal-play --freewheel, ictal-detect"
echo "model: $model"
rm -rf "$out"/events.jsonl "$out"/journal.jsonl "$out"/detections-*.csv_bi "$out"/report
export ICTAL_DEMO_OUT=$out ICTAL_DEMO_BUILD=$build ICTAL_DEMO_MODEL=$model
"$build/tests/ictal-with-jackd" -r 256 -p 64 -n demo -- bash -c '
    set -u
    b=$ICTAL_DEMO_BUILD; o=$ICTAL_DEMO_OUT
    port=$((20000 + $$ % 20000))
    echo "JACK server: $JACK_DEFAULT_SERVER (private); OSC port $port"
    "$b/clients/ictal-log/ictal-log" -p "$port" -o console,jsonl,csv_bi --jsonl "$o/events.jsonl" \
        --csv-bi "$o/detections-{stream}.csv_bi" &
    log=$!
    sleep 0.5
    "$b/clients/ictal-play/ictal-play" --wait --freewheel --osc "127.0.0.1:$port" "$o/demo.edf" \
        2> "$o/play.log" &
    play=$!
    for i in $(seq 100); do jack_lsp ictal-play:gate >/dev/null 2>&1 && break; sleep 0.1; done
    "$b/clients/ictal-detect/ictal-detect" -m "$ICTAL_DEMO_MODEL" --connect "ictal-play:.*" \
        --osc "127.0.0.1:$port" --exit-on-idle --quiet --journal "$o/journal.jsonl" \
        --report "$o/report" 2> "$o/detect.log" &
    det=$!
    sleep 1
    echo "--- the graph (jack_lsp -c, abridged):"
    jack_lsp -c | grep -A1 -E "^ictal-play:(FP1-F7|gate)$" || true
    wait $det; rc=$?
    wait $play
    sleep 0.3
    kill -TERM $log; wait $log
    echo "---"; head -n 1 "$o/detect.log"; tail -n 1 "$o/play.log"
    exit $rc'

step "ictal-score: detections vs ground truth (SzCORE event scoring, NEDC OVLP, latency)"
"$build/tools/ictal-score" --ref "$out/demo.csv_bi" --hyp "$out/events.jsonl" --edf "$out/demo.edf" \
    || true

step "Done. Everything is in $out"
ls "$out"
