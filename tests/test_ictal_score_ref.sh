#!/usr/bin/env bash
# ictal-score against an independent reference of the rules, written here in
# Python the way SzCORE computes them: szcore-evaluation's 1 Hz label masks
# (epilepsy2bids getMask: int(onset), int(onset + duration)), timescoring's
# mask-based EventScoring at 10 Hz (merge, split, extend, tpMask, np.all for
# FPs) and SampleScoring, and NEDC OVLP's any-overlap loops on the raw
# events. Random recordings (seeded; ICTAL_TEST_SEED overrides) are written
# as CSV_BI pairs, scored by ictal-score in directory mode, and every count
# is compared, per recording and pooled, at the default parameters and at
# other ones. Skips (77) without Debian's python3 with numpy.
#   test_ictal_score_ref.sh ICTAL-SCORE [ignored...]
set -euo pipefail
score=$1
tmp=${ICTAL_TEST_TMPDIR:?}
py=/usr/bin/python3
unset ICTAL_PROFILE
[ -x "$py" ] && "$py" -c 'import numpy' 2>/dev/null || { echo "no python3 with numpy: skipped"; exit 77; }
cd "$tmp"
rm -rf ./*

"$py" - "$score" "${ICTAL_TEST_SEED:-20240611}" <<'PY'
import json, math, os, random, subprocess, sys
import numpy as np

score, seed = sys.argv[1], int(sys.argv[2], 0)
rng = random.Random(seed)
print("seed", seed)

# ---- the reference (written from the published rules, mask by mask) --------

def get_mask(events, dur, fs=1):
    m = np.zeros(int(dur * fs), dtype=bool)
    for s, e in events:
        m[int(s * fs):int(e * fs)] = True
    return m

def runs(mask, fs):
    out, i, n = [], 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j < n and mask[j]:
                j += 1
            out.append((i / fs, j / fs))
            i = j
        else:
            i += 1
    return out

def to_mask(events, fs, n):
    m = np.zeros(n, dtype=bool)
    for s, e in events:
        m[int(round(s * fs)):int(round(e * fs))] = True
    return m

def merge(ev, gap):
    ev = list(ev)
    i = 1
    while i < len(ev):
        if ev[i][0] - ev[i - 1][1] < gap:
            ev[i - 1] = (ev[i - 1][0], ev[i][1])
            del ev[i]
            i -= 1
        i += 1
    return ev

def split(ev, mx):
    ev = list(ev)
    i = 0
    while i < len(ev):
        s, e = ev[i]
        if e - s > mx:
            ev[i] = (s, s + mx)
            ev.insert(i + 1, (s + mx, e))
        i += 1
    return ev

def szcore(ref_ev, hyp_ev, dur, p):
    ref1, hyp1 = get_mask(ref_ev, dur), get_mask(hyp_ev, dur)
    sample = dict(tp=int(np.sum(ref1 & hyp1)), fp=int(np.sum(~ref1 & hyp1)),
                  fn=int(np.sum(ref1 & ~hyp1)))
    fs = 10
    n = int(round(len(ref1) / 1 * fs))
    r = split(merge(runs(ref1, 1), p["merge"]), p["max"])
    h = split(merge(runs(hyp1, 1), p["merge"]), p["max"])
    hmask = to_mask(h, fs, n)
    fdur = n / fs
    tp, tpmask = 0, np.zeros(n, dtype=bool)
    for s, e in r:
        a, b = max(0, s - p["pre"]), min(fdur, e + p["post"])
        rel = (np.sum(hmask[round(a * fs):round(b * fs)]) / fs) / (b - a)
        if rel > 0 + 1e-6:
            tp += 1
            tpmask[round(a * fs):round(b * fs)] = True
    fp = sum(1 for s, e in h if np.all(~tpmask[round(s * fs):round(e * fs)]))
    event = dict(ref_events=len(r), hyp_events=len(h), tp=tp, fn=len(r) - tp, fp=fp)
    return event, sample

def ovlp(ref_ev, hyp_ev):
    hits = sum(1 for rs, re_ in ref_ev if any(he > rs and hs < re_ for hs, he in hyp_ev))
    fa = sum(1 for hs, he in hyp_ev if not any(re_ > hs and rs < he for rs, re_ in ref_ev))
    return dict(hits=hits, misses=len(ref_ev) - hits, false_alarms=fa)

# ---- random recordings ---------------------------------------------------------

def t(x):
    return float("%.4f" % x)

def events(dur, nmax, dmin, dmax, near=None):
    ev = []
    for _ in range(rng.randint(0, nmax)):
        if near and rng.random() < 0.6:
            c = rng.choice(near)
            s = c[0] + rng.uniform(-150, 150)
        else:
            s = rng.uniform(0, dur - 1)
        s = min(max(s, 0), dur - 1)
        if rng.random() < 0.5:
            s = float(int(s))          # whole seconds, as clinical files
        d = rng.choice([rng.uniform(0.2, 0.9), rng.uniform(dmin, dmax), rng.uniform(dmin, dmax)])
        ev.append((t(s), t(min(s + d, dur))))
    return [(s, e) for s, e in ev if e > s]

def write(path, name, dur, ev):
    with open(path, "w") as f:
        f.write("# version = csv_v1.0.0\n# bname = %s\n# duration = %.4f secs\n#\n" % (name, dur))
        f.write("channel,start_time,stop_time,label,confidence\n")
        for s, e in ev:
            f.write("TERM,%.4f,%.4f,seiz,1.0\n" % (s, e))

cases = {}
os.makedirs("refs")
os.makedirs("hyps")
for i in range(240):
    name = "case%03d" % i
    dur = float(rng.choice([rng.randint(120, 900), rng.randint(900, 4000)]))
    ref = events(dur, 4, 3, 500)
    hyp = events(dur, 12, 1, 700, near=ref or None)
    write("refs/%s.csv_bi" % name, name, dur, ref)
    write("hyps/%s.ictal.csv_bi" % name, name, dur, hyp)
    cases[name] = (ref, hyp, dur)

def check(params, extra):
    out = subprocess.run([score, "--ref-dir", "refs", "--hyp-dir", "hyps", "-f", "json",
                          "--metrics", "szcore_event,szcore_sample,ovlp"] + extra,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("ictal-score failed: " + out.stderr)
    d = json.loads(out.stdout)
    assert len(d["files"]) == len(cases)
    tot = dict(tp=0, fp=0, fn=0, stp=0, sfp=0, sfn=0, dur=0.0)
    bad = 0
    for f in d["files"]:
        ref, hyp, dur = cases[f["recording"]]
        ev, sa = szcore(ref, hyp, dur, params)
        ov = ovlp(ref, hyp)
        got_ev = {k: f["szcore_event"][k] for k in ev}
        got_sa = {k: f["szcore_sample"][k] for k in sa}
        got_ov = {k: f["ovlp"][k] for k in ov}
        if got_ev != ev or got_sa != sa or got_ov != ov:
            bad += 1
            print("MISMATCH", f["recording"], "dur", dur, "\n ref", ref, "\n hyp", hyp,
                  "\n event", got_ev, "expected", ev, "\n sample", got_sa, "expected", sa,
                  "\n ovlp", got_ov, "expected", ov)
        tot["tp"] += ev["tp"]; tot["fp"] += ev["fp"]; tot["fn"] += ev["fn"]
        tot["stp"] += sa["tp"]; tot["sfp"] += sa["fp"]; tot["sfn"] += sa["fn"]
        tot["dur"] += int(dur)
    if bad:
        sys.exit("%d of %d recordings differ from the reference (seed %d)" % (bad, len(cases), seed))
    pe = d["pooled"]["szcore_event"]
    assert (pe["tp"], pe["fp"], pe["fn"]) == (tot["tp"], tot["fp"], tot["fn"]), (pe, tot)
    sens = tot["tp"] / (tot["tp"] + tot["fn"])
    prec = tot["tp"] / (tot["tp"] + tot["fp"])
    assert abs(pe["sensitivity"] - sens) < 1e-12 and abs(pe["precision"] - prec) < 1e-12
    assert abs(pe["f1"] - 2 * sens * prec / (sens + prec)) < 1e-12
    assert abs(pe["fp_per_24h"] - tot["fp"] / (tot["dur"] / 86400)) < 1e-9
    ps = d["pooled"]["szcore_sample"]
    assert (ps["tp"], ps["fp"], ps["fn"]) == (tot["stp"], tot["sfp"], tot["sfn"]), (ps, tot)
    print("params", params, "→ pooled event tp %d fp %d fn %d, sample tp %d fp %d fn %d: match"
          % (tot["tp"], tot["fp"], tot["fn"], tot["stp"], tot["sfp"], tot["sfn"]))

check(dict(pre=30, post=60, merge=90, max=300), [])
check(dict(pre=5, post=10, merge=20, max=60),
      ["--pre-tolerance", "5", "--post-tolerance", "10", "--merge-gap", "20", "--max-event", "60"])
check(dict(pre=0, post=0, merge=0, max=3600),
      ["--pre-tolerance", "0", "--post-tolerance", "0", "--merge-gap", "0", "--max-event", "1h"])
print("%d recordings x 3 parameter sets: ictal-score agrees with the reference" % len(cases))
PY
