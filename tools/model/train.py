#!/usr/bin/python3
"""train.py — train an ictal seizure detector on CPU (docs/training.md).

  train.py cache  --data DIR --cache DIR             pre-filter recordings once
  train.py train  --cache DIR --out RUN [--steps N --seed S ...]
  train.py select --cache DIR --run RUN --model OUT.safetensors [--name NAME]
  train.py all    --data DIR --cache DIR --out RUN --model OUT.safetensors

`cache` reads every split under DATA (train/, val/, test/; any layout
data.load_any understands: ictal-synth, CHB-MIT, BIDS), applies the model's
pre-filter exactly as the C pipeline does and stores int16 arrays (0.125 µV
steps) with an index. `train` samples windows from the training patients
only (class balancing: seizure-onset, in-seizure, artifact, random and mined
hard-negative windows), trains with AdamW, and saves checkpoints. `select`
runs every checkpoint over the whole validation recordings, chooses the
checkpoint and the post-processing on validation only, and writes the model
file (postproc defaults and provenance in its metadata).

Deterministic for a seed: one thread, seeded torch and numpy generators.
"""
import argparse
import copy
import json
import math
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data as D  # noqa: E402
import ictal_ref as R  # noqa: E402
import train_eval as E  # noqa: E402
import train_scan as S  # noqa: E402

FS = 256
PREFILTER = [{"type": "highpass", "freq_hz": 0.5, "order": 2},
             {"type": "notch", "freq_hz": 50.0, "q": 30.0},
             {"type": "notch", "freq_hz": 60.0, "q": 30.0},
             {"type": "lowpass", "freq_hz": 70.0, "order": 2}]
SCALE = 8.0  # int16 cache: 0.125 µV per step
ARCH = {"c1": 8, "k1": 8, "c2": 16, "k2": 4, "d": 16, "k3": 3, "d_state": 4,
        "headdim": 8, "expand": 2, "blocks": 2}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- model
def build_model(arch=None, seed=0, name="ictal-model"):
    """The architecture of ictal_ref.default_model with sizes from arch."""
    a = dict(ARCH, **(arch or {}))
    torch.manual_seed(seed)
    d = a["d"]
    layers = [R.CausalConv1d(1, a["c1"], a["k1"], stride=4), R.Act("gelu"),
              R.CausalConv1d(a["c1"], a["c2"], a["k2"], stride=4), R.LayerNorm(a["c2"]), R.Act("silu"),
              R.CausalConv1d(a["c2"], d, a["k3"], stride=2), R.Act("silu")]
    for _ in range(a["blocks"]):
        layers.append(R.Mamba2Block(d, d_state=a["d_state"], d_conv=4, expand=a["expand"],
                                    headdim=a["headdim"]))
    layers.append(R.RMSNorm(d))
    meta = {"name": name, "prefilter": PREFILTER,
            "channels": {"policy": "any", "labels": [], "min": 1, "max": 256}}
    return R.Model(layers, d, "attention", FS, 1.0 / 32, meta)


# ---------------------------------------------------------------- cache
def cmd_cache(args):
    os.makedirs(args.cache, exist_ok=True)
    index = []
    for split in ("train", "val", "test"):
        d = os.path.join(args.data, split)
        if not os.path.isdir(d):
            continue
        os.makedirs(os.path.join(args.cache, split), exist_ok=True)
        for sub in sorted(os.listdir(d)):
            for rec in D.load_any(os.path.join(d, sub)):
                x = D.resample(rec.data, rec.fs, FS)
                x = D.prefilter(x, FS, PREFILTER)
                q = np.clip(np.round(x * SCALE), -32768, 32767).astype(np.int16)
                f = os.path.join(split, rec.name + ".npy")
                np.save(os.path.join(args.cache, f), q)
                index.append({"split": split, "name": rec.name, "subject": rec.subject,
                              "file": f, "edf": os.path.abspath(rec.path), "labels": rec.labels,
                              "samples": int(q.shape[1]), "seizures": rec.seizures,
                              "artifacts": rec.artifacts})
        log(f"cache: {split}: {sum(1 for r in index if r['split'] == split)} recordings")
    subj = {}
    for r in index:
        subj.setdefault(r["subject"], set()).add(r["split"])
    mixed = [s for s, v in subj.items() if len(v) > 1]
    if mixed:
        raise SystemExit(f"train.py: subjects in more than one split: {', '.join(mixed)}")
    with open(os.path.join(args.cache, "index.json"), "w") as f:
        json.dump(index, f)


def load_index(cache, split):
    with open(os.path.join(cache, "index.json")) as f:
        idx = [r for r in json.load(f) if r["split"] == split]
    for r in idx:
        r["x"] = np.load(os.path.join(cache, r["file"]), mmap_mode="r")
    return idx


# ---------------------------------------------------------------- sampling
class Sampler:
    """Windows of W samples from the training recordings, by kind."""
    KINDS = ("onset", "ictal", "artifact", "random", "hard")

    def __init__(self, recs, W, burn, rng, probs):
        self.recs, self.W, self.burn, self.rng = recs, W, burn, rng
        self.probs = dict(probs)
        self.sz = [(i, s, e) for i, r in enumerate(recs) for s, e in r["seizures"]]
        self.art = [(i, s, e) for i, r in enumerate(recs) for s, e, _ in r["artifacts"]]
        self.hard = []

    def draw(self):
        kinds = [k for k in self.KINDS if self.probs.get(k, 0) > 0 and (k != "hard" or self.hard)]
        p = np.array([self.probs[k] for k in kinds], dtype=float)
        k = kinds[self.rng.choice(len(kinds), p=p / p.sum())]
        W, burn = self.W, self.burn
        if k == "onset":
            i, s, e = self.sz[self.rng.integers(len(self.sz))]
            pos = self.rng.uniform(burn / FS + 2.0, W / FS - 8.0)
            start = int((s - pos) * FS)
        elif k == "ictal":
            i, s, e = self.sz[self.rng.integers(len(self.sz))]
            t = self.rng.uniform(s, e)
            start = int((t - self.rng.uniform(burn / FS, W / FS)) * FS)
        elif k in ("artifact", "hard"):
            i, s, e = (self.art if k == "artifact" else self.hard)[
                self.rng.integers(len(self.art if k == "artifact" else self.hard))]
            t = self.rng.uniform(s, max(s, e))
            start = int((t - self.rng.uniform(burn / FS, W / FS)) * FS)
        else:
            i = int(self.rng.integers(len(self.recs)))
            start = int(self.rng.integers(0, max(1, self.recs[i]["samples"] - W)))
        start = int(np.clip(start, 0, self.recs[i]["samples"] - W))
        return i, start, k


def frame_labels(rec, start, nframes, hop):
    """Label of frame k of a window starting at sample `start`: seizure when
    the last input sample it sees (start + k*hop) lies in a seizure."""
    t = (start + np.arange(nframes) * hop) / FS
    y = np.zeros(nframes, dtype=np.float32)
    since = np.full(nframes, np.inf, dtype=np.float32)
    for s, e in rec["seizures"]:
        inside = (t >= s) & (t < e)
        y[inside] = 1.0
        since[inside] = np.minimum(since[inside], (t - s)[inside])
    return y, since


def make_batch(sampler, nwin, cmax, hop, aug_rng, augment=True):
    W = sampler.W
    xs = np.zeros((nwin, cmax, W), dtype=np.float32)
    mask = np.zeros((nwin, cmax), dtype=bool)
    nf = W // hop
    ys = np.zeros((nwin, nf), dtype=np.float32)
    since = np.zeros((nwin, nf), dtype=np.float32)
    kinds = []
    for b in range(nwin):
        i, s, k = sampler.draw()
        r = sampler.recs[i]
        x = np.asarray(r["x"][:, s:s + W], dtype=np.float32) / SCALE
        C = x.shape[0]
        if augment:
            x = x * np.exp(aug_rng.uniform(-0.35, 0.35))
            x = x * np.where(aug_rng.random((C, 1)) < 0.5, -1.0, 1.0).astype(np.float32)
        xs[b, :C] = x
        m = np.ones(C, dtype=bool)
        if augment and aug_rng.random() < 0.3:   # channels the input guard would mask
            drop = aug_rng.random(C) < 0.15
            if (~drop).sum() >= 4:
                m &= ~drop
        mask[b, :C] = m
        ys[b], since[b] = frame_labels(r, s, nf, hop)
        kinds.append(k)
    return torch.from_numpy(xs), torch.from_numpy(mask), torch.from_numpy(ys), torch.from_numpy(since), kinds


# ---------------------------------------------------------------- inference
ENGINE_DRIVER = None  # path of test_engine_driver: the C engine for whole-recording inference


@torch.no_grad()
def infer(model, rec):
    """Frame probabilities of a whole cached (pre-filtered) recording: one
    pass from zero state, as the streaming engine. With ENGINE_DRIVER set the
    C engine computes it (~1 s per hour of 23-channel EEG; equal to the
    PyTorch model within 1e-5), else the chunked-scan PyTorch forward."""
    x = np.asarray(rec["x"], dtype=np.float32) / SCALE
    if ENGINE_DRIVER:
        import tempfile
        with tempfile.TemporaryDirectory() as td:
            mp, xp, yp = (os.path.join(td, n) for n in ("m.safetensors", "x.f32", "y.f32"))
            R.save_model(model, mp)
            x.tofile(xp)
            subprocess.run([ENGINE_DRIVER, mp, xp, str(x.shape[0]), yp], check=True)
            y = np.fromfile(yp, dtype=np.float32)
        return y[:len(y) // (1 + x.shape[0])]
    z, _ = S.batch_logits(model, torch.from_numpy(x)[None])
    return torch.sigmoid(z[0]).numpy()


def mine_hard(model, recs, hop, thr=0.5, min_s=2.0):
    """Spans where the model says seizure (p >= thr for >= min_s) outside any
    seizure (with a 30 s margin): hard negatives."""
    out = []
    for i, r in enumerate(recs):
        p = infer(model, r)
        t = np.arange(len(p)) * hop / FS
        bad = p >= thr
        for s, e in r["seizures"]:
            bad &= ~((t >= s - 30) & (t < e + 30))
        for a, b in E._runs(bad.astype(np.int8), 1):
            if (b - a) * hop / FS >= min_s:
                out.append((i, a * hop / FS, b * hop / FS))
    return out


# ---------------------------------------------------------------- training
def cmd_train(args):
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    aug = np.random.default_rng(args.seed + 1)
    recs = load_index(args.cache, "train")
    if not recs:
        raise SystemExit(f"train.py: {args.cache}: no training recordings")
    model = build_model(json.loads(args.arch) if args.arch else None, args.seed, args.name)
    S.use_fast_scan(model)
    hop = model.hop()
    W, burn = int(args.window * FS), int(args.burn * FS)
    W -= W % hop
    cmax = max(len(r["labels"]) for r in recs)
    sampler = Sampler(recs, W, burn, rng, {"onset": 0.35, "ictal": 0.15, "artifact": 0.2,
                                           "random": 0.3, "hard": 0.0})
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    os.makedirs(args.out, exist_ok=True)
    nb = burn // hop
    t0 = time.time()
    hist = []
    for step in range(args.steps):
        if args.mine_at and step == int(args.mine_at * args.steps):
            t1 = time.time()
            model.eval()
            sampler.hard = mine_hard(model, recs, hop)
            model.train()
            sampler.probs.update({"hard": 0.2, "random": 0.2, "artifact": 0.15})
            log(f"mined {len(sampler.hard)} hard-negative spans in {time.time() - t1:.0f} s")
        x, mask, y, since, kinds = make_batch(sampler, args.batch, cmax, hop, aug)
        z, _ = S.batch_logits(model, x, mask)
        w = torch.ones_like(y)
        w[:, :nb] = 0.0
        w = w * torch.where(since < args.onset_s, args.onset_w, 1.0)
        loss = (F.binary_cross_entropy_with_logits(z, y, reduction="none") * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        hist.append(loss.item())
        if (step + 1) % 50 == 0:
            log(f"step {step + 1}/{args.steps} loss {np.mean(hist[-50:]):.4f} "
                f"lr {sched.get_last_lr()[0]:.2e} {(time.time() - t0) / (step + 1):.2f} s/step")
        if (step + 1) % args.ckpt_every == 0 or step + 1 == args.steps:
            torch.save({"state": model.state_dict(), "step": step + 1, "arch": args.arch,
                        "seed": args.seed, "time_s": time.time() - t0},
                       os.path.join(args.out, f"ckpt_{step + 1:06d}.pt"))
    info = {"seed": args.seed, "steps": args.steps, "batch": args.batch, "window_s": args.window,
            "burn_s": args.burn, "lr": args.lr, "arch": dict(ARCH, **json.loads(args.arch or "{}")),
            "onset_weight": [args.onset_s, args.onset_w], "mine_at": args.mine_at,
            "train_time_s": round(time.time() - t0, 1), "train_recordings": len(recs),
            "train_subjects": len({r["subject"] for r in recs}),
            "train_hours": round(sum(r["samples"] for r in recs) / FS / 3600, 2),
            "train_seizures": sum(len(r["seizures"]) for r in recs),
            "sampler_hard_spans": len(sampler.hard), "final_loss": float(np.mean(hist[-50:]))}
    with open(os.path.join(args.out, "train_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(f"trained {args.steps} steps in {info['train_time_s']} s")


# ---------------------------------------------------------------- selection
def pp_grid():
    for thr in (0.5, 0.6, 0.7, 0.8, 0.9):
        for n_on in (1, 2, 4):
            for opening in (0.0, 1.0, 2.0):
                for closing in (0.0, 2.0):
                    for min_dur in (2.0, 3.0, 5.0, 8.0):
                        yield {"threshold_on": thr, "threshold_off": round(thr * 0.6, 3), "n_on": n_on,
                               "n_off": 4, "opening": opening, "closing": closing,
                               "min_duration": min_dur, "merge_gap": 10.0, "max_duration": 600.0}


def evaluate(probs, recs, rate, pp):
    sc, canc = [], 0
    for p, r in zip(probs, recs):
        ev, al, c = E.postproc(p, rate, pp)
        canc += c
        sc.append(E.score_file(r["seizures"], ev, r["samples"] / FS, al))
    m = E.pool(sc)
    m["cancelled_per_24h"] = canc / (m["hours"] / 24.0) if m["hours"] else math.nan
    return m


def objective(m):
    """Choose on validation: meet the targets with a margin, then fewest
    false alarms, then best F1. Sensitivity 0.9, latency median 5 s and p90
    10 s are the targets; the margins absorb validation-to-test spread.
    Alarms that the duration rule cancels later were still raised, so they
    count as false alarms here (ictal-score ignores them)."""
    if math.isnan(m["sensitivity"]):
        return -1e9
    pen = 0.0
    pen += 50 * max(0.0, 0.95 - m["sensitivity"])
    pen += 2 * max(0.0, m["lat_median"] - 4.0) + 1 * max(0.0, m["lat_p90"] - 8.0)
    return m["f1"] - pen - 0.02 * (m["fp_per_24h"] + m.get("cancelled_per_24h", 0.0))


def cmd_select(args):
    torch.set_num_threads(1)
    val = load_index(args.cache, "val")
    info = json.load(open(os.path.join(args.run, "train_info.json")))
    ckpts = sorted(f for f in os.listdir(args.run) if f.startswith("ckpt_"))
    if args.last:
        ckpts = ckpts[-args.last:]
    model = build_model(info["arch"], info["seed"], args.name)
    S.use_fast_scan(model)
    rate = FS / model.hop()
    best = None
    for c in ckpts:
        model.load_state_dict(torch.load(os.path.join(args.run, c))["state"])
        model.eval()
        t0 = time.time()
        probs = [infer(model, r) for r in val]
        t1 = time.time()
        for pp in pp_grid():
            m = evaluate(probs, val, rate, pp)
            o = objective(m)
            if best is None or o > best[0]:
                best = (o, c, pp, m)
        log(f"{c}: val inference {t1 - t0:.0f} s; best so far {best[1]} {json.dumps(best[2])} "
            f"-> {json.dumps({k: round(v, 3) for k, v in best[3].items()})}")
    o, c, pp, m = best
    model.load_state_dict(torch.load(os.path.join(args.run, c))["state"])
    model.meta["postproc"] = dict(pp, confidence="mean", confidence_percentile=90.0)
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    model.meta["provenance"] = {
        "created_by": "tools/model/train.py", "commit": commit, "checkpoint": c,
        "training": {k: info[k] for k in ("seed", "steps", "batch", "window_s", "burn_s", "lr",
                                          "train_time_s", "train_subjects", "train_recordings",
                                          "train_hours", "train_seizures")},
        "data": args.data_note or "ictal-synth, tools/model/make_dataset.sh",
        "selection": {"split": "val", "subjects": len({r["subject"] for r in val}),
                      "recordings": len(val), "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else round(v, 4))
                                 for k, v in m.items()}},
        "trained_on": "simulated EEG only; not clinically validated"}
    R.save_model(model, args.model)
    with open(os.path.join(args.run, "select.json"), "w") as f:
        json.dump({"checkpoint": c, "postproc": pp, "val": m}, f, indent=1)
    log(f"wrote {args.model}: {c}, postproc {pp}, val {m}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--data", required=True)
    c.add_argument("--cache", required=True)
    t = sub.add_parser("train")
    t.add_argument("--cache", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--window", type=float, default=96.0)
    t.add_argument("--burn", type=float, default=16.0)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--arch", default="")
    t.add_argument("--name", default="ictal-model")
    t.add_argument("--onset-s", type=float, default=10.0)
    t.add_argument("--onset-w", type=float, default=3.0)
    t.add_argument("--mine-at", type=float, default=0.5)
    t.add_argument("--ckpt-every", type=int, default=500)
    s = sub.add_parser("select")
    s.add_argument("--cache", required=True)
    s.add_argument("--run", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--name", default="ictal-model")
    s.add_argument("--last", type=int, default=3)
    s.add_argument("--data-note", default="")
    for p in (t, s):
        p.add_argument("--engine-driver", default="",
                       help="test_engine_driver binary: run whole recordings through the C engine")
    a = ap.parse_args(argv)
    global ENGINE_DRIVER
    ENGINE_DRIVER = getattr(a, "engine_driver", "") or None
    {"cache": cmd_cache, "train": cmd_train, "select": cmd_select}[a.cmd](a)


if __name__ == "__main__":
    main()
