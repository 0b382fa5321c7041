#!/usr/bin/python3
"""plot_run.py — a recording's seizure probability, thresholds, detections
and ground truth, as a PNG.

  plot_run.py -m MODEL.safetensors REC.edf [--events REC.ictal.jsonl]
              [--truth REC.csv_bi] [--start S] [--length S] [--channels N] -o OUT.png

The probability is recomputed with the PyTorch reference of the model
(tools/model/ictal_ref.py; the C engine equals it within 1e-5) after the
model's own pre-filter; detections (final events) and alarms come from
ictal-run's JSON Lines output (`ictal-run -f json`), the ground truth from a
CSV_BI or events.tsv file (default: next to the recording). Thresholds are
the model's post-processing defaults unless --threshold-on/off are given.
The top panel shows the EEG of the channels with the highest per-channel
scores during the ground-truth seizures in the shown span (or the first N).
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "model"))

import numpy as np  # noqa: E402


def model_from_file(path):
    """Rebuild an ictal_ref.Model from a model file (layers in the spec)."""
    import torch
    import ictal_ref as R
    tensors, meta = R.load_safetensors(path)
    spec = json.loads(meta["ictal"])
    layers = []
    for L in spec["layers"]:
        t = L["type"]
        if t == "conv1d":
            layers.append(R.CausalConv1d(L["in"], L["out"], L["kernel"], L["stride"], L["dilation"],
                                         L["groups"], L["bias"]))
        elif t == "act":
            layers.append(R.Act(L["fn"]))
        elif t == "layernorm":
            layers.append(R.LayerNorm(L["dim"], eps=L["eps"]))
        elif t == "rmsnorm":
            layers.append(R.RMSNorm(L["dim"], L["eps"]))
        elif t == "linear":
            layers.append(R.Linear(L["in"], L["out"], bias=L["bias"]))
        elif t == "lstm":
            layers.append(R.LSTM(L["in"], L["hidden"]))
        elif t == "mamba2":
            layers.append(R.Mamba2Block(L["d_model"], L["d_state"], L["d_conv"], L["expand"],
                                        L["headdim"], L["ngroups"], L["eps"]))
        else:
            raise SystemExit(f"plot_run.py: {path}: layer type '{t}' not supported here")
    m = R.Model(layers, spec["head"]["in"], spec["aggregation"]["type"], spec["sample_rate"],
                spec["input_gain"], meta=spec)
    m.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()})
    return m, spec


def probabilities(model_path, edf, channels=None):
    import torch
    import data as D
    import train_scan as S
    torch.set_num_threads(1)
    m, spec = model_from_file(model_path)
    S.use_fast_scan(m)
    labels, fs, x, _ = D.edf_signals(edf, channels)
    x = D.resample(x, fs, spec["sample_rate"])
    xf = D.prefilter(x, spec["sample_rate"], spec["prefilter"])
    with torch.no_grad():
        z, s = S.batch_logits(m, torch.from_numpy(xf)[None])
    p = torch.sigmoid(z[0]).numpy()
    sc = torch.sigmoid(s[0]).numpy()
    return p, sc, labels, x, spec


def read_events(path):
    ev, al = [], []
    if not path or not os.path.exists(path):
        return ev, al
    cancelled = set()
    recs = [json.loads(line) for line in open(path) if line.strip()]
    for r in recs:
        if r.get("kind") == "cancel":
            cancelled.add(r["id"])
    for r in recs:
        if r.get("kind") == "final":
            ev.append((r["start_s"], r["end_s"]))
        elif r.get("kind") == "alarm":
            al.append((r["emit_s"], r["start_s"], r["id"] in cancelled))
    return ev, al


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("edf")
    ap.add_argument("--events", help="ictal-run JSON Lines output")
    ap.add_argument("--truth", help="CSV_BI or events.tsv (default: next to the recording)")
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("--length", type=float, default=0.0, help="seconds (0: to the end)")
    ap.add_argument("--channels", type=int, default=4, help="EEG traces to show (0: none)")
    ap.add_argument("--threshold-on", type=float)
    ap.add_argument("--threshold-off", type=float)
    ap.add_argument("--title", default="")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import data as D

    try:
        p, sc, labels, x, spec = probabilities(a.model, a.edf)
        base = os.path.splitext(a.edf)[0]
        truth = a.truth or next((f for f in (base + ".csv_bi", (base[:-4] if base.endswith("_eeg") else base)
                                             + "_events.tsv") if os.path.exists(f)), None)
        gt = []
        if truth:
            gt = (D.read_csv_bi(truth) if truth.endswith(".csv_bi") else D.read_events_tsv(truth))[0]
    except D.DataError as e:
        raise SystemExit(f"plot_run.py: {e}") from None
    ev, al = read_events(a.events)
    fr = spec["frame_rate"]
    fs = spec["sample_rate"]
    t = (np.arange(len(p)) + 1) / fr
    dur = x.shape[1] / fs
    t0 = max(0.0, a.start)
    t1 = min(dur, t0 + a.length) if a.length > 0 else dur
    pp = spec["postproc"]
    thr_on = a.threshold_on if a.threshold_on is not None else pp["threshold_on"]
    thr_off = a.threshold_off if a.threshold_off is not None else pp["threshold_off"]
    nch = min(a.channels, x.shape[0])
    fig, axes = plt.subplots(2 if nch else 1, 1, figsize=(12, 6.5 if nch else 3.2), sharex=True,
                             gridspec_kw={"height_ratios": [2.2, 1]} if nch else None)
    axes = np.atleast_1d(axes)
    ax_p = axes[-1]
    if nch:
        ax = axes[0]
        sel = (t >= t0) & (t <= t1)
        in_gt = np.zeros(len(t), dtype=bool)
        for s, e in gt:
            in_gt |= (t >= s) & (t < e)
        w = sc[sel & in_gt].mean(0) if (sel & in_gt).any() else sc[sel].mean(0)
        chans = np.argsort(-w)[:nch]
        a0, a1 = int(t0 * fs), int(t1 * fs)
        tt = np.arange(a0, a1) / fs
        xf = D.prefilter(x, fs, spec["prefilter"])
        step = 150.0
        for i, c in enumerate(chans):
            ax.plot(tt, xf[c, a0:a1] - i * step, lw=0.4, color="k")
        ax.set_yticks([-i * step for i in range(nch)])
        ax.set_yticklabels([labels[c] for c in chans])
        ax.set_ylabel(f"EEG ({step:.0f} µV/div)")
        for s, e in gt:
            ax.axvspan(s, e, color="tab:green", alpha=0.12)
        ax.set_title(a.title or f"{os.path.basename(a.edf)} — {spec['name']}")
    sel = (t >= t0) & (t <= t1)
    ax_p.plot(t[sel], p[sel], lw=0.8, color="tab:blue", label="p(seizure)")
    ax_p.axhline(thr_on, color="tab:red", ls="--", lw=0.8, label=f"threshold on {thr_on:g}")
    ax_p.axhline(thr_off, color="tab:orange", ls=":", lw=0.8, label=f"threshold off {thr_off:g}")
    for i, (s, e) in enumerate(gt):
        ax_p.axvspan(s, e, ymin=0.0, ymax=0.08, color="tab:green", alpha=0.8,
                     label="ground truth" if i == 0 else None)
    for i, (s, e) in enumerate(ev):
        ax_p.axvspan(s, e, ymin=0.1, ymax=0.18, color="tab:purple", alpha=0.8,
                     label="detection (ictal-run)" if i == 0 else None)
    first = True
    for emit, s, canc in al:
        if t0 <= emit <= t1:
            ax_p.axvline(emit, color="0.5" if canc else "tab:red", lw=1.0,
                         label=("alarm" if first else None))
            first = False
    ax_p.set_ylim(-0.02, 1.02)
    ax_p.set_xlim(t0, t1)
    ax_p.set_xlabel("time (s)")
    ax_p.set_ylabel("probability")
    ax_p.legend(loc="upper left", fontsize=7, ncol=3, framealpha=0.8)
    if not nch:
        ax_p.set_title(a.title or f"{os.path.basename(a.edf)} — {spec['name']}")
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"plot_run.py: wrote {a.output}")


if __name__ == "__main__":
    main()
