#!/usr/bin/python3
"""baseline.py — the classic feature detector ictal's model is compared with.

  baseline.py fit   --cache DIR --out BASE.json   fit on train, choose post-processing on val
  baseline.py run   --cache DIR --model BASE.json --split test --out DIR
                                                   ictal JSON Lines per recording, for ictal-score

Per channel, every second, over the last 2 s (causal): line length and log
band powers (delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz),
each taken relative to the channel's own background (minus a causal
exponential average of the log feature, 5 min time constant, so the detector
adapts to each patient and channel as Gotman-style detectors do). Across
channels: the maximum, the mean and the second-largest of each relative
feature. One logistic regression (L2, class-balanced) on these 18 features
gives a probability per second; the same post-processing rules as ictal
(train_eval.postproc, docs/postproc.md) turn it into alarms and events,
with thresholds chosen on the validation patients by the same objective as
the model. Input: the same pre-filtered recordings as the model (train.py
cache).
"""
import argparse
import json
import math
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import train as T  # noqa: E402
import train_eval as E  # noqa: E402

BANDS = ((1, 4), (4, 8), (8, 13), (13, 30), (30, 45))
WIN, STEP, TAU = 2.0, 1.0, 300.0
RATE = 1.0 / STEP  # decisions per second


def channel_features(x, fs=T.FS):
    """x: (C, T) µV. Returns (F, C, 6) log features of the 2 s windows ending
    at t = (k+1)*STEP seconds, k = 0..F-1 (zero-padded before the start)."""
    w, s = int(WIN * fs), int(STEP * fs)
    C, n = x.shape
    Fn = n // s
    xp = np.concatenate([np.zeros((C, w - s), dtype=np.float32), x[:, :Fn * s]], 1)
    idx = np.arange(Fn)[:, None] * s + np.arange(w)[None, :]
    out = np.empty((Fn, C, 1 + len(BANDS)), dtype=np.float32)
    freqs = np.fft.rfftfreq(w, 1.0 / fs)
    han = np.hanning(w).astype(np.float32)
    for c in range(C):
        seg = xp[c][idx]                                        # (F, w)
        out[:, c, 0] = np.log(np.abs(np.diff(seg, axis=1)).sum(1) + 1e-3)
        P = np.abs(np.fft.rfft(seg * han, axis=1)) ** 2
        for b, (lo, hi) in enumerate(BANDS):
            sel = (freqs >= lo) & (freqs < hi)
            out[:, c, 1 + b] = np.log(P[:, sel].mean(1) + 1e-3)
    return out


def relative(f):
    """Subtract a causal exponential average (background) per channel and
    feature; the average before frame k excludes frame k."""
    a = 1.0 - math.exp(-STEP / TAU)
    out = np.empty_like(f)
    bg = f[:min(30, len(f))].mean(0)                        # start from the first 30 s
    for k in range(len(f)):
        out[k] = f[k] - bg
        bg = bg + a * (f[k] - bg)
    return out


def record_features(x):
    r = relative(channel_features(x))                        # (F, C, 6)
    srt = np.sort(r, axis=1)
    return np.concatenate([srt[:, -1], r.mean(1), srt[:, -2]], 1).astype(np.float32)  # (F, 18)


def labels_for(rec, n):
    t = (np.arange(n) + 1) * STEP
    y = np.zeros(n, dtype=np.float32)
    for s, e in rec["seizures"]:
        y[(t >= s) & (t < e)] = 1
    return y


def feats(recs, cache_dir=None):
    """Features per recording; with cache_dir, stored there as NAME.npy."""
    out = []
    for r in recs:
        f = os.path.join(cache_dir, r["name"] + ".feat.npy") if cache_dir else None
        if f and os.path.exists(f):
            out.append(np.load(f))
            continue
        x = record_features(np.asarray(r["x"], dtype=np.float32) / T.SCALE)
        if f:
            np.save(f, x)
        out.append(x)
    return out


def objective_f1(m):
    """Alternative operating point: best F1 on validation, nothing else."""
    return -1e9 if math.isnan(m["f1"]) else m["f1"]


def fit_lr(X, y, l2=1e-3, iters=300):
    """Class-balanced logistic regression by Newton's method (numpy)."""
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = np.concatenate([(X - mu) / sd, np.ones((len(X), 1))], 1).astype(np.float64)
    wpos = 0.5 / max(y.mean(), 1e-6)
    wneg = 0.5 / max(1 - y.mean(), 1e-6)
    sw = np.where(y > 0.5, wpos, wneg)
    w = np.zeros(Z.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-Z @ w))
        g = Z.T @ (sw * (p - y)) / len(y) + l2 * w
        Hm = (Z * (sw * p * (1 - p))[:, None]).T @ Z / len(y) + l2 * np.eye(len(w))
        step = np.linalg.solve(Hm, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"mu": mu.tolist(), "sd": sd.tolist(), "w": w.tolist()}


def predict(m, X):
    Z = (X - np.array(m["mu"])) / np.array(m["sd"])
    w = np.array(m["w"])
    return 1 / (1 + np.exp(-(Z @ w[:-1] + w[-1])))


def grid():
    """Post-processing candidates at 1 decision per second (no opening or
    closing: a frame is already a second)."""
    for thr in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995):
        for n_on in (1, 2, 3):
            for min_dur in (2.0, 5.0, 8.0, 15.0):
                yield {"threshold_on": thr, "threshold_off": round(thr * 0.6, 3), "n_on": n_on, "n_off": 4,
                       "opening": 0.0, "closing": 0.0, "min_duration": min_dur, "merge_gap": 10.0,
                       "max_duration": 600.0}


def cmd_fit(a):
    tr = T.load_index(a.cache, "train")
    fc = os.path.join(a.cache, "baseline_features")
    os.makedirs(fc, exist_ok=True)
    Xs = feats(tr, fc)
    X = np.concatenate(Xs)
    y = np.concatenate([labels_for(r, len(f)) for r, f in zip(tr, Xs)])
    m = fit_lr(X, y)
    va = T.load_index(a.cache, "val")
    probs = [predict(m, f) for f in feats(va, fc)]
    objective = T.objective if a.objective == "targets" else objective_f1
    best = None
    for pp in grid():
        met = T.evaluate(probs, va, RATE, pp)
        o = objective(met)
        if best is None or o > best[0]:
            best = (o, pp, met)
    m.update({"objective": a.objective, "postproc": best[1], "val": best[2], "features": "max, mean, 2nd of relative [LL, delta, theta, alpha, beta, gamma]",
              "train_subjects": len({r["subject"] for r in tr}), "train_hours": round(len(y) * STEP / 3600, 2)})
    with open(a.out, "w") as f:
        json.dump(m, f, indent=1)
    print(f"baseline: val {best[2]} with {best[1]}")


def write_jsonl(path, fname, p, pp):
    ev, al, _ = E.postproc(p, RATE, pp)
    n = len(p)
    with open(path, "w") as f:
        # alarms (with their event spans) and finals; cancelled alarms carry a cancel record
        for i, (emit, s, e) in enumerate(al, 1):
            f.write(json.dumps({"file": fname, "kind": "alarm", "id": i, "start_s": s,
                                "end_s": max(s, min(e, emit)), "emit_s": emit}) + "\n")
            finals = [(a, b) for a, b in ev if a >= s - 1e-9 and b <= e + 1e-9]
            if finals:
                for seg, (a, b) in enumerate(finals, 1):
                    f.write(json.dumps({"file": fname, "kind": "final", "id": i, "segment": seg,
                                        "start_s": a, "end_s": b, "emit_s": min(b + pp["merge_gap"], n / RATE)}) + "\n")
            else:
                f.write(json.dumps({"file": fname, "kind": "cancel", "id": i, "start_s": s, "end_s": e,
                                    "emit_s": emit}) + "\n")


def cmd_run(a):
    m = json.load(open(a.model))
    recs = T.load_index(a.cache, a.split)
    os.makedirs(a.out, exist_ok=True)
    for r, f in zip(recs, feats(recs, os.path.join(a.cache, "baseline_features"))):
        p = predict(m, f)
        write_jsonl(os.path.join(a.out, r["name"] + ".ictal.jsonl"), os.path.basename(r["edf"]), p, m["postproc"])
    print(f"baseline: {len(recs)} recordings -> {a.out}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--cache", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--objective", choices=("targets", "f1"), default="targets",
                   help="targets: the model's selection rule (train.objective); f1: best validation F1")
    r = sub.add_parser("run")
    r.add_argument("--cache", required=True)
    r.add_argument("--model", required=True)
    r.add_argument("--split", default="test")
    r.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    {"fit": cmd_fit, "run": cmd_run}[a.cmd](a)


if __name__ == "__main__":
    main()
