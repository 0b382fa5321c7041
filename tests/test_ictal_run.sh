#!/usr/bin/env bash
# ictal-run end to end on a recording ictal-synth wrote, with the random-weight
# golden model: every output format parses, results do not depend on --chunk,
# --check passes bit-exactly (also through the resampler), --report writes its
# four files, bad inputs fail with exit 1 and one line naming the problem, and
# --print-config shows the model layer under the command line.
#   test_ictal_run.sh ICTAL-RUN ICTAL-SYNTH MODEL
set -euo pipefail
run=$1
synth=$2
model=$3
tmp=${ICTAL_TEST_TMPDIR:?}
py=/usr/bin/python3
unset ICTAL_PROFILE
cd "$tmp"
rm -rf ./*
fail() { echo "FAIL: $*" >&2; exit 1; }

# Exit status of a command that is expected to fail (set -e must not stop us).
status() { local rc=0; "$@" || rc=$?; echo "$rc"; }

"$synth" --duration 300 --montage chbmit --seizures 1 --seed 11 -q -o rec.edf

# The model has random weights: find a threshold at which events occur. At
# threshold 0 the whole recording is one event; its mean is the typical level.
"$run" -m "$model" --threshold-on 0 --threshold-off 0 --opening 0 --closing 0 \
    --min-duration 0 -f json -o level rec.edf 2>/dev/null
th=$($py -c '
import json, sys
fin = [r for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "final"]
assert len(fin) == 1, fin
print("%.6f" % fin[0]["confidence"])' level.jsonl)
TH=(--threshold-on "$th" --threshold-off "$th" --opening 0 --closing 0 --min-duration 2s
    --merge-gap 2s)
echo "threshold $th"

# Console (the default): readable lines, one summary line on stderr.
"$run" -m "$model" "${TH[@]}" rec.edf >console.txt 2>err.txt
grep -q '^FINAL ' console.txt || fail "no FINAL line on the console"
grep -q '^ALARM ' console.txt || fail "no ALARM line on the console"
grep -Eq '^FINAL +#[0-9.]+ +[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}-[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \(' console.txt \
    || fail "FINAL line shape: $(grep -m1 '^FINAL' console.txt)"
grep -q 'conf .* peak .* ch .* at ' console.txt || fail "console fields missing"
[ "$(wc -l <err.txt)" -eq 1 ] || fail "stderr is not one summary line: $(cat err.txt)"
grep -q 'event(s)' err.txt || fail "no event count on stderr"

# JSON Lines and CSV_BI together (repeated --format), into a directory.
mkdir out
"$run" -m "$model" "${TH[@]}" --format json --format csv_bi -o out/a rec.edf 2>/dev/null
[ ! -e rec.ictal.jsonl ] || fail "default prefix used although -o was given"
$py - out/a.jsonl out/a.csv_bi console.txt <<'PY'
import json, re, sys
recs = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    recs.append(r)
keys = {"file", "kind", "id", "segment", "start_frame", "end_frame", "emit_frame",
        "start_sample", "end_sample", "emit_sample", "start_s", "end_s", "emit_s",
        "duration_s", "confidence", "method", "percentile", "peak", "channels", "flags"}
for r in recs:
    assert keys <= set(r), keys - set(r)
    assert r["file"] == "rec.edf" and r["kind"] in ("alarm", "cancel", "final"), r
    assert all(isinstance(c, str) for c in r["channels"]) and isinstance(r["flags"], list), r
    assert r["start_frame"] <= r["end_frame"] <= r["emit_frame"] or r["kind"] == "alarm", r
    assert abs(r["duration_s"] - (r["end_s"] - r["start_s"])) < 1e-9, r
    assert 0 <= r["confidence"] <= 1 and 0 <= r["peak"] <= 1, r
finals = [r for r in recs if r["kind"] == "final"]
assert finals, "no final event"
# every alarm is closed by a final or a cancel with its id
ids = {r["id"] for r in recs if r["kind"] == "alarm"}
assert ids == {r["id"] for r in recs if r["kind"] != "alarm"}, ids
lines = open(sys.argv[2]).read().splitlines()
assert lines[:5] == ["# version = csv_v1.0.0", "# bname = rec", "# duration = 300.0000 secs",
                     "#", "channel,start_time,stop_time,label,confidence"], lines[:5]
rows = lines[5:]
assert len(rows) == len(finals), (len(rows), len(finals))
starts = []
for row in rows:
    assert re.fullmatch(r"TERM,\d+\.\d{4},\d+\.\d{4},seiz,[01]\.\d{4}", row), row
    starts.append(float(row.split(",")[1]))
assert starts == sorted(starts)
console = open(sys.argv[3]).read()
assert console.count("\nFINAL ") + console.startswith("FINAL ") == len(finals)
print("json: %d records, %d final; csv_bi: %d rows" % (len(recs), len(finals), len(rows)))
PY

# Results never depend on the chunk size.
"$run" -m "$model" "${TH[@]}" -f json -o chunk0 rec.edf 2>/dev/null
cmp -s chunk0.jsonl out/a.jsonl || fail "json differs between runs"
for c in 1 7 256; do
    "$run" -m "$model" "${TH[@]}" -f json -o "chunk$c" --chunk "$c" rec.edf 2>/dev/null
    diff chunk0.jsonl "chunk$c.jsonl" >/dev/null || fail "--chunk $c changes the events"
done

# --check and --report.
"$run" -m "$model" "${TH[@]}" --check --report rep -f json -o checked rec.edf 2>check_err.txt \
    || fail "--check failed: $(cat check_err.txt)"
grep -q 'check passed' check_err.txt || fail "no check line: $(cat check_err.txt)"
diff chunk0.jsonl checked.jsonl >/dev/null || fail "--check run (chunk 64) changes the events"
$py - rep chunk0.jsonl <<'PY'
import json, os, sys
d = sys.argv[1]
assert sorted(os.listdir(d)) == ["config_snapshot.json", "latency_stats.json", "model_info.json",
                                 "streaming_alignment.json", "summary.json"], os.listdir(d)
j = {n: json.load(open(os.path.join(d, n))) for n in os.listdir(d)}
a = j["streaming_alignment.json"]
assert a["passed"] is True and a["max_abs_dp"] == 0 and a["frames_compared"] > 0, a
assert a["first_differing_frame"] is None and a["event_differences"] == 0, a
assert a["chunk_samples"] == 64 and a["whole_calls"] == 1, a
s = j["summary.json"]
recs = [json.loads(l) for l in open(sys.argv[2])]
finals = {r["id"] for r in recs if r["kind"] == "final"}
assert s["events"] == len(finals) > 0, (s["events"], finals)
assert s["alarms"] == sum(r["kind"] == "alarm" for r in recs)
assert s["records"]["final"] == sum(r["kind"] == "final" for r in recs)
assert s["n_channels"] == len(s["channels"]) == 23 and s["channels"][-1] == "T8-P8#2", s["channels"]
assert s["frames"] == a["frames_chunked"] and s["duration_s"] == 300 and s["input_rate"] == 256
assert len(s["quality"]) == 23 and s["run"]["real_time_factor"] > 0 and s["check"]["passed"]
c = j["config_snapshot.json"]
assert c["postproc"]["threshold_on"]["source"] == "option --threshold-on", c["postproc"]
assert c["postproc"]["n_on"]["source"].startswith("model "), c["postproc"]["n_on"]
m = j["model_info.json"]
assert m["name"] == "ictal-default-random" and m["macs_per_second"] > 0, m
assert len(m["fingerprint"]) == 16 and m["metadata"]["format"] == "ictal-model", m
l = j["latency_stats.json"]
assert l["calls"] > 0 and l["chunk_samples"] == 64, l
p = l["process_us"]
assert 0 < p["p50"] <= p["p95"] <= p["p99"] <= p["max"] * 1.01, p
assert l["declared_latency"]["total_s"] > 0, l
print("reports: %d events, %d frames, check passed" % (s["events"], s["frames"]))
PY

# Another rate: the pipeline resamples 512 Hz to the model's 256 Hz, chunk-invariantly.
"$synth" --duration 60 --rate 512 --seizures 0 --seed 4 -q -o r512.edf
"$run" -m "$model" "${TH[@]}" --check --chunk 37 -f json -o r512 r512.edf 2>r512_err.txt \
    || fail "512 Hz --check failed: $(cat r512_err.txt)"
$py -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a["passed"] and a["max_abs_dp"] == 0, a' \
    r512.streaming_alignment.json

# Bad inputs: exit 1 and one line naming the problem.
one_line() { # FILE PATTERN WHAT
    [ "$(wc -l <"$1")" -eq 1 ] || fail "$3: not one line: $(cat "$1")"
    grep -q -- "$2" "$1" || fail "$3: message lacks '$2': $(cat "$1")"
}
[ "$(status "$run" -m "$model" --channels FP1-F7,NOPE-X9 rec.edf 2>e.txt)" = 1 ] || fail "bad label: exit"
one_line e.txt 'NOPE-X9' "bad label"
grep -q 'available' e.txt || fail "bad label: available labels not listed"
[ "$(status "$run" -m "$model" missing.edf 2>e.txt)" = 1 ] || fail "missing file: exit"
one_line e.txt 'missing.edf' "missing file"
[ "$(status "$run" -m nomodel.safetensors rec.edf 2>e.txt)" = 1 ] || fail "missing model: exit"
one_line e.txt 'nomodel.safetensors' "missing model"
[ "$(status "$run" -m rec.edf rec.edf 2>e.txt)" = 1 ] || fail "EDF as model: exit"
one_line e.txt 'model' "EDF as model"
head -c 200000 rec.edf >trunc.edf
[ "$(status "$run" -m "$model" trunc.edf 2>e.txt)" = 1 ] || fail "truncated EDF: exit"
one_line e.txt 'trunc.edf' "truncated EDF"
[ "$(status "$run" -m "$model" --bogus rec.edf 2>e.txt)" = 2 ] || fail "unknown option: exit"
[ "$(status "$run" -m "$model" --format xml rec.edf 2>e.txt)" = 2 ] || fail "bad format: exit"
one_line e.txt 'xml' "bad format"
[ "$(status "$run" -m "$model" 2>e.txt)" = 2 ] || fail "no recording: exit"

# Channel policies: a copy of the model that wants three labelled channels
# (in its own order, one in another case), one missing a label, one taking at most 4,
# one at a rate no converter reaches.
$py - "$model" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
head, data = json.loads(b[8:8 + n]), b[8 + n:]
meta = json.loads(head["__metadata__"]["ictal"])
for name, ch in (("labels", {"policy": "labels", "labels": ["T7-P7", "fp1-f7", "T8-P8#2"]}),
                 ("nolabel", {"policy": "labels", "labels": ["T7-P7", "XX-YY"]}),
                 ("max4", {"policy": "any", "labels": [], "max": 4})):
    meta["channels"] = dict(ch, min=ch.get("min", 1), max=ch.get("max", len(ch["labels"])))
    head["__metadata__"]["ictal"] = json.dumps(meta)
    h = json.dumps(head).encode()
    open(name + ".safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
# a model rate 273 times the recording's: beyond libsamplerate's ratios
meta.update(sample_rate=70000, frame_rate=70000 / 32,
            channels={"policy": "any", "labels": [], "min": 1, "max": 256})
head["__metadata__"]["ictal"] = json.dumps(meta)
h = json.dumps(head).encode()
open("fast.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
"$run" -m labels.safetensors --report rep_labels -f json -o labels rec.edf 2>/dev/null
"$run" -m max4.safetensors --report rep_max4 -f json -o max4 rec.edf 2>max4_err.txt
grep -q 'at most 4' max4_err.txt || fail "no warning about the channels left out"
$py - <<'PY'
import json
l = json.load(open("rep_labels/summary.json"))["channels"]
assert l == ["T7-P7", "FP1-F7", "T8-P8#2"], l
m = json.load(open("rep_max4/summary.json"))["channels"]
assert m == ["FP1-F7", "F7-T7", "T7-P7", "P7-O1"], m
PY
[ "$(status "$run" -m nolabel.safetensors rec.edf 2>e.txt)" = 1 ] || fail "model label missing: exit"
one_line e.txt 'XX-YY' "model label missing"
[ "$(status "$run" -m fast.safetensors rec.edf 2>e.txt)" = 1 ] || fail "rate ratio: exit"
one_line e.txt '70000 Hz' "rate ratio"

# --print-config: model defaults at the model layer, the command line above them.
"$run" -m "$model" --print-config --threshold-on 0.9 >cfg.txt
grep -Eq "^threshold_on = 0\.9 +; option --threshold-on$" cfg.txt || fail "override not shown"
grep -Eq "^threshold_off = 0\.5 +; model .*default_1h\.model\.safetensors$" cfg.txt \
    || fail "model layer not shown: $(grep threshold_off cfg.txt)"
grep -Eq "^min_duration = 5s? +; model " cfg.txt || fail "model min_duration not shown"
grep -q '^\[run\]' cfg.txt || fail "no [run] section"

echo "ictal-run: all checks passed"
