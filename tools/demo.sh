#!/usr/bin/env bash
# The main job of `./setup.sh demo`: the best end-to-end run ictal has today.
#
#   tools/demo.sh [BUILD_DIR]
#
# 1. writes a synthetic 10-minute recording with two seizures (ictal-synth),
# 2. prints its header, signals and ground-truth annotations (ictal-edfinfo),
# 3. starts a private JACK server at EEG rate (256 Hz, 64-frame periods) and
#    shows the graph with jack_lsp, then stops it.
# Outputs go to out/demo/ (or $ICTAL_DEMO_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${ICTAL_DEMO_DIR:-$root/out/demo}
mkdir -p "$out"

step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }

for prog in tools/ictal-synth tools/ictal-edfinfo tests/ictal-with-jackd; do
    [ -x "$build/$prog" ] || { echo "demo: $build/$prog is missing; run ./setup.sh build" >&2; exit 1; }
done

step "ictal-synth: 10 min of CHB-MIT-montage EEG, 2 seizures, seed 7"
"$build/tools/ictal-synth" --duration 10m --montage chbmit --seizures 2 --seed 7 -o "$out/demo.edf"
ls -l "$out"

step "ictal-edfinfo: what a reader sees in the file"
"$build/tools/ictal-edfinfo" --annotations "$out/demo.edf"

step "A private JACK server at 256 Hz / 64 frames with 23 capture ports"
"$build/tests/ictal-with-jackd" -r 256 -p 64 -C 23 -P 2 -- sh -c '
    echo "server: $JACK_DEFAULT_SERVER"
    echo "sample rate: $(jack_samplerate) Hz, period: $(jack_bufsize | head -n 1)"
    jack_lsp | head -n 6
    echo "... $(jack_lsp | wc -l) ports in all"'

step "Done. Recording and sidecars are in $out"
