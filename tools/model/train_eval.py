"""train_eval — model selection helpers: a whole-array replica of ictal's
post-processing (docs/postproc.md) and SzCORE event scoring with latency
(the rules of include/ictal/score.h), in numpy.

Used only to choose checkpoints and post-processing on validation patients
quickly; every number in a model card comes from ictal-run + ictal-score.
"""
import math

import numpy as np


def frames(sec, rate):
    """Seconds to frames: round to nearest, ties up (ictal_postproc_frames)."""
    return int(math.floor(sec * rate + 0.5))


def postproc(p, rate, pp):
    """p: frame probabilities. pp: dict of postproc keys (seconds).
    Returns (events [(start_s, end_s)] of the final records, alarms
    [(emit_s, start_s, end_s)], cancelled alarm count)."""
    n = len(p)
    on, off = pp["threshold_on"], pp["threshold_off"]
    n_on, n_off = int(pp["n_on"]), int(pp["n_off"])
    Lo, Lc = frames(pp["opening"], rate), frames(pp["closing"], rate)
    Mmin = frames(pp["min_duration"], rate)
    Mgap = frames(pp["merge_gap"], rate)
    Mmax = frames(pp["max_duration"], rate)
    D = max(n_on, n_off) - 1 + max(Lo - 1, 0) + max(Lc - 1, 0)
    # 1.1 hysteresis (vectorised run logic is fiddly; a plain loop over frames
    # in numpy-friendly form is fast enough for hours of 8 Hz frames)
    h = np.zeros(n, dtype=np.int8)
    state, cnt, start = 0, 0, 0
    hi = p >= on
    lo = p < off
    for k in range(n):
        if state == 0:
            if hi[k]:
                if cnt == 0:
                    start = k
                cnt += 1
                if cnt >= n_on:
                    h[start:k + 1] = 1
                    state, cnt = 1, 0
            else:
                cnt = 0
        else:
            if lo[k]:
                if cnt == 0:
                    start = k
                cnt += 1
                if cnt >= n_off:
                    h[start:k + 1] = 0
                    state, cnt = 0, 0
                else:
                    h[k] = 1
            else:
                cnt = 0
                h[k] = 1
    c = _runs_filter(h, Lo, 1)          # opening: short runs of 1 -> 0
    c = _runs_filter(c, Lc, 0)          # closing: short inner runs of 0 -> 1
    runs = _runs(c, 1)
    events, alarms, cancels = [], [], 0
    kept = []
    for a, b in runs:
        emit = (a + D + 1) / rate
        if b - a < Mmin:
            if not kept or a - kept[-1][1] >= Mgap:
                cancels += 1
                alarms.append((emit, a / rate, b / rate, False))
            continue
        if kept and a - kept[-1][1] < Mgap:
            kept[-1] = (kept[-1][0], b)
        else:
            kept.append((a, b))
            alarms.append((emit, a / rate, b / rate, True))
    # attach the final spans to the alarms that started them
    fi = 0
    out_al = []
    for emit, s, e, ok in alarms:
        if ok:
            ks, ke = kept[fi]
            fi += 1
            out_al.append((emit, ks / rate, ke / rate))
        else:
            out_al.append((emit, s, e))
    for a, b in kept:
        L = b - a
        k = a
        while k < b:
            events.append((k / rate, min(k + Mmax, b) / rate))
            k += Mmax
    return events, out_al, cancels


def _runs(x, v):
    d = np.diff(np.concatenate([[0], (x == v).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _runs_filter(x, L, v):
    x = x.copy()
    if L <= 1:
        return x
    n = len(x)
    for a, b in _runs(x, v):
        if b - a < L:
            if v == 0 and (a == 0 or b == n):
                continue
            x[a:b] = 1 - v
    return x


def _raster(events, dur, step=1.0):
    m = np.zeros(int(math.floor(dur / step)), dtype=bool)
    for s, e in events:
        a, b = int(math.floor(s / step)), int(math.floor(e / step))
        m[a:b] = True
    return m


def _szcore_events(events, dur, merge=90.0, maxlen=300.0, step=1.0):
    ev = [(a * step, b * step) for a, b in _runs(_raster(events, dur, step), 1)]
    merged = []
    for s, e in ev:
        if merged and s - merged[-1][1] < merge:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    out = []
    for s, e in merged:
        while e - s > maxlen:
            out.append((s, s + maxlen))
            s += maxlen
        out.append((s, e))
    return out


def score_file(ref, hyp, dur, alarms=None, pre=30.0, post=60.0):
    """SzCORE event scoring of one recording. Returns dict tp, fn, fp,
    duration, latencies (one per reference event as given; NaN = none)."""
    R = _szcore_events(ref, dur)
    Hy = _szcore_events(hyp, dur)
    win = [(max(s - pre, 0.0), min(e + post, dur)) for s, e in R]
    det = [any(h0 < w1 and h1 > w0 for h0, h1 in Hy) for w0, w1 in win]
    tp = sum(det)
    fp = 0
    for h0, h1 in Hy:
        if not any(d and h0 < w1 and h1 > w0 for d, (w0, w1) in zip(det, win)):
            fp += 1
    lat = []
    for s, e in ref:
        w0, w1 = max(s - pre, 0.0), min(e + post, dur)
        best = math.nan
        for emit, a, b in alarms or []:
            if a < w1 and b > w0 and (math.isnan(best) or emit < best):
                best = emit
        lat.append(best - s)
    return {"tp": tp, "fn": len(R) - tp, "fp": fp, "duration": math.floor(dur), "lat": lat}


def pool(scores):
    tp = sum(s["tp"] for s in scores)
    fn = sum(s["fn"] for s in scores)
    fp = sum(s["fp"] for s in scores)
    dur = sum(s["duration"] for s in scores)
    lat = np.array([x for s in scores for x in s["lat"]], dtype=float)
    det = lat[~np.isnan(lat)]
    sens = tp / (tp + fn) if tp + fn else math.nan
    prec = tp / (tp + fp) if tp + fp else math.nan
    return {"tp": tp, "fn": fn, "fp": fp, "hours": dur / 3600.0,
            "sensitivity": sens, "precision": prec,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan,
            "fp_per_24h": fp / dur * 86400.0 if dur else math.nan,
            "lat_median": float(np.median(det)) if len(det) else math.nan,
            "lat_p90": float(np.percentile(det, 90)) if len(det) else math.nan}
