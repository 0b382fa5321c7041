#!/usr/bin/env bash
# ictal-score end to end: an ictal-synth recording scored against its own
# ground truth (perfect scores, CSV_BI and events.tsv alike), against a
# shifted hypothesis with one false alarm (numbers worked out below), a
# hand-made ictal JSON Lines hypothesis with alarms (latency), ictal-run's
# real output; directory mode (CHB-MIT style summary, BIDS tree, missing and
# extra hypotheses); the shared CHB-MIT/Siena files; and every error exit.
#   test_ictal_score.sh ICTAL-SCORE ICTAL-SYNTH ICTAL-RUN MODEL
set -euo pipefail
score=$1
synth=$2
run=$3
model=$4
tmp=${ICTAL_TEST_TMPDIR:?}
py=/usr/bin/python3
unset ICTAL_PROFILE
# sanitizer reports must not pass for the expected exit status 1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
cd "$tmp"
rm -rf ./*
fail() { echo "FAIL: $*" >&2; exit 1; }
status() { local rc=0; "$@" || rc=$?; echo "$rc"; }
# jq-like checks: json_check FILE 'python expression over d' ...
json_check() {
    local f=$1
    shift
    $py - "$f" "$@" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    ok = eval(expr, {"d": d, "math": math, "near": lambda a, b: a is not None and abs(a - b) < 1e-9})
    if not ok:
        sys.exit("check failed: %s\n%s" % (expr, json.dumps(d)[:3000]))
PY
}

"$synth" --duration 600 --seizures 2 --seed 5 -q -o rec.edf
# the seizures, as the ground truth has them
read -r s1 e1 s2 e2 < <($py -c '
rows = [l.split(",") for l in open("rec.csv_bi") if l.startswith("TERM")]
assert len(rows) == 2, rows
print(*[x for r in rows for x in r[1:3]])')
echo "seizures [$s1, $e1) [$s2, $e2)"

# ---- 1. the ground truth against itself: perfect ------------------------------
for ref in rec.csv_bi rec_events.tsv; do
    "$score" --ref $ref --hyp rec.csv_bi -f json -o self.json
    json_check self.json \
        'd["files"][0]["recording"] == "rec"' \
        'd["files"][0]["duration_s"] == 600' \
        'd["pooled"]["szcore_event"]["tp"] == 2 and d["pooled"]["szcore_event"]["fp"] == 0' \
        'd["pooled"]["szcore_event"]["sensitivity"] == 1 and d["pooled"]["szcore_event"]["precision"] == 1' \
        'd["pooled"]["szcore_event"]["f1"] == 1 and d["pooled"]["szcore_event"]["fp_per_24h"] == 0' \
        'd["pooled"]["szcore_sample"]["fp"] == 0 and d["pooled"]["szcore_sample"]["fn"] == 0' \
        'd["pooled"]["szcore_sample"]["f1"] == 1' \
        'd["pooled"]["ovlp"]["hits"] == 2 and d["pooled"]["ovlp"]["false_alarms"] == 0' \
        'd["pooled"]["ovlp"]["total_fa_per_24h"] == 0' \
        'd["pooled"]["latency"] is None'
done
# the text table says the same
"$score" --ref rec.csv_bi --hyp rec.csv_bi >self.txt
grep -Eq '^  rec +rec +0\.167 +2 +2 +0 +0 +1\.000 +1\.000 +1\.000 +0\.00$' self.txt \
    || fail "text row: $(cat self.txt)"
grep -q '^SzCORE event scoring (windows -30 s / +60 s, merge gaps < 90 s, split > 300 s, 1 s labels)$' self.txt \
    || fail "section title"

# ---- 2. shifted by +20 s, plus a false alarm -----------------------------------
# Premise: the first onset is after 95 s, so [10,20) is > 90 s before the
# shifted first event (no merge) and outside every window [s-30, e+60].
$py - "$s1" "$e1" "$s2" "$e2" <<'PY'
import sys
s1, e1, s2, e2 = map(float, sys.argv[1:])
assert s1 > 95 and s2 - 30 > e1 + 60 + 20, "ictal-synth's seizures moved: adapt the test"
with open("shift.csv_bi", "w") as f:
    f.write("# version = csv_v1.0.0\n# bname = rec\n# duration = 600.0000 secs\n#\n")
    f.write("channel,start_time,stop_time,label,confidence\n")
    f.write("TERM,10.0000,20.0000,seiz,1.0\n")
    for s, e in ((s1, e1), (s2, e2)):
        f.write("TERM,%.4f,%.4f,seiz,1.0\n" % (s + 20, min(e + 20, 600)))
PY
"$score" --ref rec.csv_bi --hyp shift.csv_bi -f json -o shift.json
# Event: both seizures detected (TP 2, FN 0), [10,20) touches no window (FP
# 1): precision 2/3, F1 = 4/(4+1) = 0.8, FP/24h = 86400/600 = 144.
# Samples: each seizure loses its first 20 labels (floor(s+20) = floor(s)+20)
# and the shifted events add 20 labels after each (the second is cut at 600
# only if e2+20 > 600); the false alarm adds 10.
# OVLP: 2 hits, 1 false alarm.
json_check shift.json \
    'd["pooled"]["szcore_event"]["tp"] == 2 and d["pooled"]["szcore_event"]["fn"] == 0' \
    'd["pooled"]["szcore_event"]["fp"] == 1' \
    'near(d["pooled"]["szcore_event"]["precision"], 2/3)' \
    'near(d["pooled"]["szcore_event"]["f1"], 0.8)' \
    'near(d["pooled"]["szcore_event"]["fp_per_24h"], 144)' \
    'd["pooled"]["szcore_sample"]["fn"] == 40' \
    'd["pooled"]["szcore_sample"]["tp"] == d["pooled"]["szcore_sample"]["ref_positive"] - 40' \
    'd["files"][0]["szcore_hyp_events"][0] == {"start_s": 10, "end_s": 20, "false_positive": True}' \
    'd["pooled"]["ovlp"]["hits"] == 2 and d["pooled"]["ovlp"]["false_alarms"] == 1'
ref_pos=$($py -c 'import json; print(json.load(open("shift.json"))["pooled"]["szcore_sample"]["ref_positive"])')
$py - "$e2" "$ref_pos" <<'PY'
import json, math, sys
e2, ref_pos = float(sys.argv[1]), int(sys.argv[2])
d = json.load(open("shift.json"))["pooled"]["szcore_sample"]
cut = max(0, math.floor(e2 + 20) - 600)   # labels of the second event past the end
assert d["fp"] == 10 + 20 + 20 - cut, d
PY

# ---- 3. JSON Lines with alarms: latency ----------------------------------------
# Seizure 1: alarm at s1 + 7.5 (final event [s1+3, s1+60)) → +7.5 s.
# Seizure 2: alarm at s2 - 10 (final [s2-12, s2+5)) → -10 s (early alarm).
# Alarm 3 was cancelled; alarm 4 is far from both (its final is the FP).
# median of {-10, 7.5} = -1.25; p90 = -10 + 0.9 × 17.5 = 5.75.
$py - "$s1" "$s2" <<'PY'
import json, sys
s1, s2 = map(float, sys.argv[1:])
recs = [
    {"kind": "alarm", "id": 4, "start_s": 12, "end_s": 14, "emit_s": 14},
    {"kind": "final", "id": 4, "segment": 1, "start_s": 12, "end_s": 20, "emit_s": 30},
    {"kind": "alarm", "id": 1, "start_s": s1 + 3, "end_s": s1 + 7.5, "emit_s": s1 + 7.5},
    {"kind": "alarm", "id": 3, "start_s": s1 + 70, "end_s": s1 + 72, "emit_s": s1 + 72},
    {"kind": "cancel", "id": 3, "start_s": s1 + 70, "end_s": s1 + 73},
    {"kind": "final", "id": 1, "segment": 1, "start_s": s1 + 3, "end_s": s1 + 60, "emit_s": s1 + 70},
    {"kind": "alarm", "id": 2, "start_s": s2 - 12, "end_s": s2 - 10, "emit_s": s2 - 10},
    {"kind": "final", "id": 2, "segment": 1, "start_s": s2 - 12, "end_s": s2 + 5, "emit_s": s2 + 15},
]
with open("rec.ictal.jsonl", "w") as f:
    for r in recs:
        r["file"] = "rec.edf"
        f.write(json.dumps(r) + "\n")
PY
"$score" --ref rec.csv_bi --hyp rec.ictal.jsonl -f json -o lat.json
json_check lat.json \
    'd["pooled"]["latency"]["events"] == 2 and d["pooled"]["latency"]["detected"] == 2' \
    'near(d["pooled"]["latency"]["median_s"], -1.25)' \
    'near(d["pooled"]["latency"]["p90_s"], 5.75)' \
    'near(d["files"][0]["latency_events"][0]["latency_s"], 7.5)' \
    'near(d["files"][0]["latency_events"][1]["latency_s"], -10)' \
    'd["pooled"]["szcore_event"]["tp"] == 2 and d["pooled"]["szcore_event"]["fp"] == 1' \
    'd["pooled"]["ovlp"]["false_alarms"] == 1'
"$score" --ref rec.csv_bi --hyp rec.ictal.jsonl --metrics latency >lat.txt
grep -Eq '^  rec +rec +2 +2 +-1\.25 +5\.75 +-10\.00 +7\.50$' lat.txt || fail "latency row: $(cat lat.txt)"
! grep -q 'SzCORE' lat.txt || fail "--metrics latency printed other sections"

# ---- 4. ictal-run's own output reads and scores ---------------------------------
"$run" -m "$model" --threshold-on 0.6 --threshold-off 0.6 -f json,csv_bi -o run rec.edf 2>/dev/null
"$score" --ref rec_events.tsv --hyp run.jsonl -f json -o run.json
json_check run.json 'd["pooled"]["latency"] is not None' \
    'd["files"][0]["hypothesis"] == "run.jsonl"'
"$score" --ref rec.csv_bi --hyp run.csv_bi -f json -o run2.json
# the CSV_BI and the JSON Lines of one run score the same (latency aside)
$py -c '
import json
a, b = (json.load(open(f))["pooled"] for f in ("run.json", "run2.json"))
for k in ("szcore_event", "szcore_sample", "ovlp"):
    assert a[k] == b[k], (k, a[k], b[k])'

# ---- 5. directory mode -------------------------------------------------------------
"$synth" --dataset ds --duration 300 --files 3 --seizures 1 --seed 3 -q
mkdir refs hyps
cp ds/syn03-summary.txt refs/
cp ds/syn03_01.csv_bi hyps/syn03_01.ictal.csv_bi
$py - <<'PY'
import json
rows = [l.split(",") for l in open("ds/syn03_02.csv_bi") if l.startswith("TERM")]
with open("hyps/syn03_02.ictal.jsonl", "w") as f:
    for i, r in enumerate(rows):
        f.write(json.dumps({"file": "syn03_02.edf", "kind": "final", "id": i + 1,
                            "start_s": float(r[1]), "end_s": float(r[2])}) + "\n")
PY
cp rec.csv_bi hyps/unrelated.csv_bi   # names recording "rec": no reference
[ "$(status "$score" --ref-dir refs --hyp-dir hyps 2>err.txt)" = 1 ] || fail "missing hyp not an error"
grep -q "no hypothesis for recording syn03_03" err.txt || fail "missing message: $(cat err.txt)"
grep -q -- "--missing empty" err.txt || fail "no hint: $(cat err.txt)"
"$score" --ref-dir refs --hyp-dir hyps --missing empty -f json -o dir.json 2>err.txt
grep -q "recording rec has no reference" err.txt || fail "extra hyp not reported: $(cat err.txt)"
json_check dir.json 'len(d["files"]) == 3' 'd["pooled"]["files"] == 3' \
    '[s["subject"] for s in d["subjects"]] == ["syn03"]' \
    'd["files"][2]["hypothesis"] is None' \
    'd["pooled"]["szcore_event"]["tp"] == 2 and d["pooled"]["szcore_event"]["fn"] == 1' \
    'd["pooled"]["ovlp"]["duration_s"] == 900' \
    'd["files"][0]["duration_from"].startswith("reference (CHB-MIT")'
"$score" --ref-dir refs --hyp-dir hyps --missing skip -f json -o skip.json 2>/dev/null
json_check skip.json 'd["pooled"]["files"] == 2' 'near(d["pooled"]["szcore_event"]["sensitivity"], 1)'
"$score" --ref-dir refs --hyp-dir hyps --missing empty >dir.txt 2>/dev/null
grep -Eq '^  pooled +\(3 files\)' dir.txt || fail "no pooled row: $(cat dir.txt)"
grep -Eq '^  subject syn03 +\(3 files\)' dir.txt || fail "no subject row"
grep -q '^  subject mean ± std (1): sens 0\.667' dir.txt || fail "subject mean: $(grep mean dir.txt)"
# two hypotheses of the same kind for one recording: an error
cp hyps/syn03_01.ictal.csv_bi hyps/syn03_01.copy.csv_bi
[ "$(status "$score" --ref-dir refs --hyp-dir hyps --missing skip 2>err.txt)" = 1 ] || fail "duplicate hyp"
grep -q "two hypotheses for recording syn03_01" err.txt || fail "duplicate message: $(cat err.txt)"
rm hyps/syn03_01.copy.csv_bi
# JSON Lines wins over CSV_BI for the same recording (it has alarm times)
cp hyps/syn03_01.ictal.csv_bi hyps/syn03_02.ictal.csv_bi
sed -i 's/^# bname = .*/# bname = syn03_02/' hyps/syn03_02.ictal.csv_bi
"$score" --ref-dir refs --hyp-dir hyps --missing skip -f json -o pref.json 2>/dev/null
json_check pref.json 'd["files"][1]["hypothesis"].endswith("syn03_02.ictal.jsonl")'

# a BIDS tree: subject from sub-XX, names from *_events.tsv and the EDF name
b=sub-01_ses-01_task-szMonitoring_run-00
mkdir -p bref/sub-01/ses-01/eeg bhyp/sub-01/ses-01/eeg
cp rec_events.tsv bref/sub-01/ses-01/eeg/${b}_events.tsv
printf 'participant_id\tage\nsub-01\t30\n' >bref/participants.tsv   # not an annotation
sed "s/^# bname = rec/# bname = ${b}_eeg/" rec.csv_bi >bhyp/sub-01/ses-01/eeg/${b}_eeg.ictal.csv_bi
"$score" --ref-dir bref --hyp-dir bhyp -f json -o bids.json
json_check bids.json "d['files'][0]['recording'] == '$b'" 'd["files"][0]["subject"] == "sub-01"' \
    'd["pooled"]["szcore_event"]["f1"] == 1'

# ---- 6. the shared CHB-MIT and Siena files ----------------------------------------
if [ -n "${ICTAL_SHARED_DATA:-}" ] && [ -d "$ICTAL_SHARED_DATA/annotations" ]; then
    A=$ICTAL_SHARED_DATA/annotations
    # a detector hit on chb05_06's seizure (417-532 s) and one false alarm
    printf '# version = csv_v1.0.0\n# bname = chb05_06\n# duration = 3600.0000 secs\n#\nchannel,start_time,stop_time,label,confidence\nTERM,400.5,530.0,seiz,0.9\nTERM,1000,1010,seiz,0.9\n' >chb05_06.ictal.csv_bi
    "$score" --ref "$A/chbmit/chb05-summary.txt" --hyp chb05_06.ictal.csv_bi -f json -o chb.json
    json_check chb.json 'd["files"][0]["recording"] == "chb05_06"' 'd["files"][0]["subject"] == "chb05"' \
        'd["files"][0]["duration_s"] == 3600' \
        'd["pooled"]["szcore_event"]["tp"] == 1 and d["pooled"]["szcore_event"]["fp"] == 1' \
        'near(d["pooled"]["szcore_event"]["fp_per_24h"], 24)'
    # Siena PN00: the typo is an error naming the line; clipped with a warning
    [ "$(status "$score" --ref "$A/siena/Seizures-list-PN00.txt" --hyp chb05_06.ictal.csv_bi \
          --recording PN00-3 2>err.txt)" = 1 ] || fail "PN00 typo accepted"
    grep -q 'Seizures-list-PN00.txt:58: PN00-3.edf: seizure end 19.29.29 lies 1936 s after the registration end 18.57.13' err.txt \
        || fail "PN00 message: $(cat err.txt)"
    grep -q -- '--clip-implausible' err.txt || fail "no hint"
    "$score" --ref "$A/siena/Seizures-list-PN00.txt" --hyp chb05_06.ictal.csv_bi --recording PN00-3 \
        --clip-implausible -f json -o pn00.json 2>err.txt
    grep -q 'cut at the registration end' err.txt || fail "no clip warning: $(cat err.txt)"
    json_check pn00.json 'd["files"][0]["duration_s"] == 2489'
    [ "$(status "$score" --ref "$A/chbmit/chb08-summary.txt" --hyp rec.csv_bi 2>err.txt)" = 1 ] \
        || fail "ambiguous multi-recording reference accepted"
    grep -q 'has no recording rec' err.txt || fail "ambiguity message: $(cat err.txt)"
else
    echo "shared data absent: CHB-MIT/Siena checks skipped"
fi

# ---- 7. durations --------------------------------------------------------------------
grep -v '^# duration' rec.csv_bi >nodur.csv_bi
sed -i 's/^# bname = rec/# bname = nodur/' nodur.csv_bi
[ "$(status "$score" --ref nodur.csv_bi --hyp nodur.csv_bi 2>err.txt)" = 1 ] || fail "unknown duration accepted"
grep -q 'the length of recording nodur is unknown' err.txt || fail "duration message: $(cat err.txt)"
"$score" --ref nodur.csv_bi --hyp nodur.csv_bi --duration 10min -f json -o d1.json
json_check d1.json 'd["files"][0]["duration_s"] == 600' 'd["files"][0]["duration_from"] == "--duration"'
"$score" --ref nodur.csv_bi --hyp nodur.csv_bi --edf rec.edf -f json -o d2.json
json_check d2.json 'd["files"][0]["duration_s"] == 600' 'd["files"][0]["duration_from"] == "EDF rec.edf"'
cp rec.edf nodur.edf   # found next to the reference by name
"$score" --ref nodur.csv_bi --hyp nodur.csv_bi -f json -o d3.json
json_check d3.json 'd["files"][0]["duration_from"] == "EDF ./nodur.edf"'

# ---- 8. options, configuration and errors ------------------------------------------
"$score" --help | grep -q -- '--ref-dir DIR' || fail "--help"
"$score" --print-config --set score.merge_gap=2min | grep -Eq '^merge_gap = 120s +; option --set score.merge_gap' \
    || fail "--print-config"
"$score" --ref rec.csv_bi --hyp shift.csv_bi --merge-gap 0 --pre-tolerance 0 --post-tolerance 0 \
    --metrics szcore_event -f json -o p0.json
# no tolerance: the shifted events still overlap their seizures: TP 2, FP 1
json_check p0.json 'd["params"]["pre_tolerance_s"] == 0' 'd["pooled"]["szcore_event"]["tp"] == 2' \
    '"szcore_sample" not in d["pooled"]'
ICTAL_SCORE_FORMAT=json "$score" --ref rec.csv_bi --hyp rec.csv_bi | $py -c 'import json,sys; json.load(sys.stdin)' \
    || fail "ICTAL_SCORE_FORMAT=json"
printf '# duration = 600 secs\nchannel,start_time,stop_time,label,confidence\nTERM,1,2,musc,1\n' >bad.csv_bi
[ "$(status "$score" --ref bad.csv_bi --hyp rec.csv_bi 2>err.txt)" = 1 ] || fail "bad label accepted"
grep -q "^ictal-score: bad.csv_bi:3: label 'musc' is neither seiz nor bckg" err.txt || fail "$(cat err.txt)"
[ "$(wc -l <err.txt)" -eq 1 ] || fail "more than one line: $(cat err.txt)"
[ "$(status "$score" --ref no-such.csv_bi --hyp rec.csv_bi 2>err.txt)" = 1 ] || fail "missing file"
grep -q "no-such.csv_bi: cannot open" err.txt || fail "$(cat err.txt)"
printf 'hello\n' >what.txt
[ "$(status "$score" --ref what.txt --hyp rec.csv_bi 2>err.txt)" = 1 ] || fail "unknown format"
grep -q "cannot tell the annotation format" err.txt || fail "$(cat err.txt)"
"$score" --ref what.txt --ref-format csv_bi --hyp rec.csv_bi 2>err.txt && fail "forced format accepted junk"
grep -q "what.txt:1: expected the column line" err.txt || fail "$(cat err.txt)"
for bad in "--ref rec.csv_bi" "--hyp rec.csv_bi" "--ref-dir refs" "" \
           "--ref rec.csv_bi --hyp rec.csv_bi --ref-dir refs --hyp-dir hyps" \
           "--ref rec.csv_bi --hyp rec.csv_bi --duration abc" \
           "--ref rec.csv_bi --hyp rec.csv_bi --bogus" \
           "--ref rec.csv_bi --hyp rec.csv_bi extra" \
           "--ref rec.csv_bi --hyp rec.csv_bi --ref-format xml" \
           "--ref rec.csv_bi --hyp rec.csv_bi --merge-gap -5" \
           "--ref rec.csv_bi --hyp rec.csv_bi --metrics speed" \
           "--ref rec.csv_bi --hyp rec.csv_bi --ref rec.csv_bi" \
           "--ref-dir refs --hyp-dir hyps --duration 600" ; do
    # shellcheck disable=SC2086
    rc=$(status "$score" $bad 2>err.txt)
    [ "$rc" = 2 ] || fail "'$bad' exited $rc, expected 2"
    [ -s err.txt ] || fail "'$bad': no message"
done
[ "$(status "$score" --ref-dir no-such-dir --hyp-dir hyps 2>err.txt)" = 1 ] || fail "bad dir"
grep -q "no-such-dir: cannot open directory" err.txt || fail "$(cat err.txt)"
[ "$(status "$score" --ref rec.csv_bi --hyp rec.csv_bi -o no-such-dir/x.txt 2>err.txt)" = 1 ] || fail "bad -o"
grep -q "no-such-dir/x.txt: cannot create" err.txt || fail "$(cat err.txt)"
echo "ictal-score end to end: all checks passed"
