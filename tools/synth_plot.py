#!/usr/bin/python3
"""Render a stretch of an EDF+ recording like an EEG viewer: channels stacked
top to bottom, a common µV scale, seizures shaded red and artifacts shaded grey
from the file's own EDF+ annotations.

    /usr/bin/python3 tools/synth_plot.py rec.edf --start 100 --length 30 -o out.png

Needs only numpy and matplotlib (Debian: python3-numpy, python3-matplotlib).
The EDF reader here is deliberately small: 16-bit EDF/EDF+ with any record
length, ordinary signals plus "EDF Annotations" signals (TALs).
"""
import argparse
import re
import sys

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SEIZURE_LABELS = {"seiz", "fnsz", "gnsz", "absz", "cpsz", "spsz", "tnsz", "tcsz", "mysz"}


def read_edf(path):
    with open(path, "rb") as f:
        head = f.read(256)
        ns = int(head[252:256])
        hdr_bytes = int(head[184:192])
        nrec = int(head[236:244])
        rec_dur = float(head[244:252])
        sh = f.read(ns * 256)

        def field(off, width):
            base = off * ns
            return [sh[base + i * width: base + (i + 1) * width].decode("latin-1").strip()
                    for i in range(ns)]

        labels = field(0, 16)
        pmin = np.array([float(v) for v in field(16 + 80 + 8, 8)])
        pmax = np.array([float(v) for v in field(16 + 80 + 8 + 8, 8)])
        dmin = np.array([float(v) for v in field(16 + 80 + 8 + 16, 8)])
        dmax = np.array([float(v) for v in field(16 + 80 + 8 + 24, 8)])
        nsamp = [int(v) for v in field(16 + 80 + 8 + 32 + 80, 8)]
        f.seek(hdr_bytes)
        raw = np.frombuffer(f.read(), dtype="<i2")
    rec_len = sum(nsamp)
    raw = raw[: nrec * rec_len].reshape(nrec, rec_len)
    signals, annots, rates, names = [], [], [], []
    off = 0
    for i in range(ns):
        block = raw[:, off: off + nsamp[i]]
        off += nsamp[i]
        if labels[i] == "EDF Annotations":
            annots.append(block.tobytes())
            continue
        gain = (pmax[i] - pmin[i]) / (dmax[i] - dmin[i])
        signals.append((block.reshape(-1).astype(np.float64) - dmin[i]) * gain + pmin[i])
        rates.append(nsamp[i] / rec_dur)
        names.append(labels[i])
    events = []
    tal = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14([^\x00]*)")
    for blob in annots:
        for m in tal.finditer(blob):
            onset = float(m.group(1))
            dur = float(m.group(2)) if m.group(2) else 0.0
            for text in m.group(3).split(b"\x14"):
                if text:
                    events.append((onset, dur, text.decode("utf-8", "replace")))
    return names, signals, rates[0] if rates else 0.0, events


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("edf")
    ap.add_argument("--start", type=float, default=0.0, help="seconds (default 0)")
    ap.add_argument("--length", type=float, default=20.0, help="seconds shown (default 20)")
    ap.add_argument("--scale", type=float, default=200.0,
                    help="µV between neighbouring traces (default 200)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--dpi", type=int, default=80, help="resolution (default 80)")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    a = ap.parse_args()

    names, sig, fs, events = read_edf(a.edf)
    if not sig:
        sys.exit("synth_plot: no signals in " + a.edf)
    i0 = int(a.start * fs)
    i1 = min(int((a.start + a.length) * fs), len(sig[0]))
    if i1 <= i0:
        sys.exit("synth_plot: --start is beyond the end of the recording")
    t = np.arange(i0, i1) / fs
    n = len(names)
    fig, ax = plt.subplots(figsize=(14, 0.32 * n + 1.6), dpi=a.dpi)
    for k, (name, x) in enumerate(zip(names, sig)):
        y = (n - 1 - k) * a.scale
        ax.plot(t, x[i0:i1] + y, lw=0.5, color="black")
    ax.set_yticks([(n - 1 - k) * a.scale for k in range(n)])
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(-1.5 * a.scale, n * a.scale + 0.5 * a.scale)
    ax.set_xlabel("time (s)")
    for onset, dur, text in events:
        if onset + dur < t[0] or onset > t[-1] or dur <= 0:
            continue
        label = text.split()[0]
        if label in ("drowsy", "light"):
            continue
        seizure = label in SEIZURE_LABELS
        ax.axvspan(max(onset, t[0]), min(onset + dur, t[-1]),
                   color="red" if seizure else "grey", alpha=0.15 if seizure else 0.12, lw=0)
        ax.text(max(onset, t[0]), n * a.scale + 0.1 * a.scale, text, fontsize=7,
                color="darkred" if seizure else "dimgrey", va="bottom", clip_on=True)
    # scale bar: a.scale µV, 1 s
    xb = t[0] + 0.3
    yb = -1.2 * a.scale
    ax.plot([xb, xb], [yb, yb + a.scale], color="blue", lw=1.5)
    ax.plot([xb, xb + 1.0], [yb, yb], color="blue", lw=1.5)
    ax.text(xb + 0.05, yb + 0.5 * a.scale, "%g µV" % a.scale, fontsize=7, color="blue")
    ax.text(xb + 0.1, yb - 0.25 * a.scale, "1 s", fontsize=7, color="blue", va="top")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    ax.set_title(a.title or "%s  (%g–%g s)" % (a.edf.split("/")[-1], t[0], t[-1]), fontsize=9)
    fig.tight_layout()
    fig.savefig(a.output)


if __name__ == "__main__":
    main()
