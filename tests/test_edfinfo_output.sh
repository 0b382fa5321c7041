#!/usr/bin/env bash
# ictal-edfinfo's normal output, text and JSON, on a recording ictal-synth
# wrote: the header, all 23 CHB-MIT signals in order, the skipped annotation
# signals and the ground-truth annotations must all be there and agree with
# the synthesizer's own summary.
#   test_edfinfo_output.sh ICTAL-SYNTH ICTAL-EDFINFO
set -euo pipefail
synth=$1
info=$2
tmp=${ICTAL_TEST_TMPDIR:?}
edf=$tmp/info.edf
fail() { echo "FAIL: $*" >&2; exit 1; }

"$synth" --duration 120 --montage chbmit --seizures 1 --seed 5 -o "$edf" >"$tmp/synth.txt"

# Text view.
"$info" --annotations "$edf" >"$tmp/info.txt"
grep -q '^type  *EDF+C$' "$tmp/info.txt" || fail "type line missing"
grep -q '^data signals  *23$' "$tmp/info.txt" || fail "signal count missing"
grep -q '^stream rate  *256 Hz$' "$tmp/info.txt" || fail "stream rate missing"
for label in FP1-F7 F7-T7 FZ-CZ FT9-FT10 T8-P8; do
    grep -q " $label " "$tmp/info.txt" || fail "label $label missing from the signal table"
done
grep -q 'EDF Annotations.*annotation signal' "$tmp/info.txt" || fail "skipped annotation signal not listed"
grep -q 'fnsz focal seizure' "$tmp/info.txt" || grep -q 'absz' "$tmp/info.txt" \
    || fail "seizure annotation missing"

# JSON view: parse it and check it against the synthesizer's summary line
# ("PATH: 23 channels, 256 Hz, 120 s, 1 seizure(s), N artifact(s)").
"$info" --json --annotations "$edf" >"$tmp/info.json"
/usr/bin/python3 - "$tmp/info.json" "$tmp/synth.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
summary = open(sys.argv[2]).read()
m = re.search(r"(\d+) channels, (\d+) Hz, (\d+) s, (\d+) seizure", summary)
assert m, summary
ch, rate, dur, sz = map(int, m.groups())
assert d["type"] == "EDF+C", d["type"]
assert len(d["signals"]) == ch == 23, len(d["signals"])
assert d["stream_rate"] == rate and abs(d["duration_s"] - dur) < 1e-9
labels = [s["label"] for s in d["signals"]]
assert labels[0] == "FP1-F7" and labels.count("T8-P8") == 2, labels
assert all(s["unit"] == "uV" and s["samples"] == rate * dur for s in d["signals"])
assert all(k["label"] == "EDF Annotations" for k in d["skipped"]), d["skipped"]
ann = d["annotations"]
assert len(ann) == d["n_annotations"] > 0
seizures = [a for a in ann if a["text"].startswith(("fnsz", "absz"))]
assert len(seizures) == sz, seizures
print("ictal-edfinfo JSON agrees with the recording:", len(ann), "annotations")
PY
