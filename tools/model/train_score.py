#!/usr/bin/python3
"""train_score.py — the model card's scores: ictal-run (or the baseline) on
every held-out recording, then ictal-score against the ground truth.

  train_score.py --bin BUILD/tools --data out/data --split test --out out/eval
                 [--model models/NAME.safetensors] [--baseline out/baseline/baseline.json
                  --cache out/cache]

Writes OUT/ref/*.csv_bi (the ground truth, one file per recording),
OUT/model/*.ictal.jsonl (+ .csv_bi) from `ictal-run -m MODEL -f json,csv_bi`
with the model's own post-processing defaults (no flags),
OUT/baseline/*.ictal.jsonl from baseline.py, then for each
`ictal-score --ref-dir OUT/ref --hyp-dir OUT/<which>` as text
(OUT/<which>.scores.txt) and JSON (OUT/<which>.scores.json), and prints a
Markdown table of the pooled numbers.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"train_score.py: {' '.join(cmd[:3])} ...: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    return r


def score(bin_dir, out, which):
    ref = os.path.join(out, "ref")
    hyp = os.path.join(out, which)
    txt = run([os.path.join(bin_dir, "ictal-score"), "--ref-dir", ref, "--hyp-dir", hyp]).stdout
    open(os.path.join(out, which + ".scores.txt"), "w").write(txt)
    js = run([os.path.join(bin_dir, "ictal-score"), "--ref-dir", ref, "--hyp-dir", hyp, "-f", "json"]).stdout
    open(os.path.join(out, which + ".scores.json"), "w").write(js)
    return json.loads(js)["pooled"]


def alarm_counts(hyp_dir):
    """Alarm and cancel records in a directory of ictal JSON Lines."""
    n_al = n_c = 0
    for f in glob.glob(os.path.join(hyp_dir, "*.jsonl")):
        for line in open(f):
            k = json.loads(line).get("kind") if line.strip() else None
            n_al += k == "alarm"
            n_c += k == "cancel"
    return n_al, n_c


def row(name, p, counts):
    e, o, s, lat = p["szcore_event"], p["ovlp"], p["szcore_sample"], p["latency"]
    days = e["duration_s"] / 86400.0
    f = lambda v, d=3: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    return (f"| {name} | {f(e['sensitivity'])} | {f(e['precision'])} | {f(e['f1'])} | {f(e['fp_per_24h'], 2)} "
            f"| {e['tp']}/{e['ref_events']} | {e['fp']} "
            f"| {f(o['sensitivity'])} | {f(o['precision'])} | {f(o['f1'])} | {f(o['fp_per_24h'], 2)} "
            f"| {f(s['sensitivity'])} | {f(s['precision'])} | {f(s['f1'])} "
            f"| {f(lat['median_s'], 2)} | {f(lat['p90_s'], 2)} | {lat['detected']}/{lat['events']} "
            f"| {counts[0] / days:.1f} | {counts[1] / days:.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory with ictal-run and ictal-score")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model")
    ap.add_argument("--baseline")
    ap.add_argument("--cache")
    ap.add_argument("--baseline-name", default="baseline (LL + band powers, LR)")
    ap.add_argument("--baseline-out", default="baseline", help="subdirectory of OUT for the baseline")
    a = ap.parse_args(argv)
    edfs = sorted(glob.glob(os.path.join(a.data, a.split, "**", "*.edf"), recursive=True))
    if not edfs:
        raise SystemExit(f"train_score.py: no recordings under {os.path.join(a.data, a.split)}")
    ref = os.path.join(a.out, "ref")
    os.makedirs(ref, exist_ok=True)
    for e in edfs:
        shutil.copy(os.path.splitext(e)[0] + ".csv_bi", ref)
    rows = []
    if a.model:
        hyp = os.path.join(a.out, "model")
        os.makedirs(hyp, exist_ok=True)
        for e in edfs:
            name = os.path.splitext(os.path.basename(e))[0]
            run([os.path.join(a.bin, "ictal-run"), "-m", a.model, "-f", "json,csv_bi",
                 "-o", os.path.join(hyp, name + ".ictal"), "--progress", "never", e])
        rows.append(row(os.path.basename(a.model), score(a.bin, a.out, "model"), alarm_counts(hyp)))
    if a.baseline:
        hyp = os.path.join(a.out, a.baseline_out)
        run([sys.executable, os.path.join(HERE, "baseline.py"), "run", "--cache", a.cache, "--model", a.baseline,
             "--split", a.split, "--out", hyp])
        rows.append(row(a.baseline_name, score(a.bin, a.out, a.baseline_out), alarm_counts(hyp)))
    print("| detector | SzCORE sens | prec | F1 | FP/24h | TP/ref | FP | OVLP sens | prec | F1 | FA/24h "
          "| sample sens | prec | F1 | latency median (s) | p90 (s) | alarmed | alarms/24h | cancelled/24h |")
    print("|" + "---|" * 19)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
