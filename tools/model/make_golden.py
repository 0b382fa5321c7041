#!/usr/bin/python3
"""Generate the golden vectors in tests/golden/ (small, committed).

For every case: <case>.model.safetensors (an ictal model file with random
weights) and <case>.expect.safetensors with the PyTorch reference outputs on
the deterministic test signal (ictal_ref.test_input, regenerated bit-exactly
by the C tests, so inputs are not stored):
  p        (F',)        aggregated probability of every `every`-th frame
  scores   (F', C)      per-channel probabilities of the same frames
  features (F', C, D)   last-layer output (short cases only)
metadata: channels, samples, seed, every, mode.

Outputs come from the whole-sequence forward; the step (streaming) forward
is checked against it here on a prefix (and in full for short cases), so the
golden file stands for both modes.

Usage: make_golden.py [outdir]   (default: tests/golden next to this script)
"""
import os
import sys

sys.dont_write_bytecode = True

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ictal_ref as R  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


def front(d):
    return [R.CausalConv1d(1, d, 4, stride=4)]


def cases():
    g = 1.0 / 32
    yield "conv_basic", lambda: R.Model([R.CausalConv1d(1, 4, 5, stride=2)], 4, "mean", 256, g)
    yield "conv_dilated_grouped", lambda: R.Model([
        R.CausalConv1d(1, 6, 3), R.CausalConv1d(6, 6, 3, stride=2, dilation=2, groups=3),
        R.CausalConv1d(6, 4, 2, dilation=3, bias=False)], 4, "max", 256, g)
    yield "linear", lambda: R.Model(front(8) + [R.Linear(8, 6), R.Linear(6, 5, bias=False)], 5,
                                    "logsumexp", 256, g)
    yield "layernorm", lambda: R.Model(front(8) + [R.LayerNorm(8)], 8, "attention", 256, g)
    yield "rmsnorm", lambda: R.Model(front(8) + [R.RMSNorm(8)], 8, "attention", 256, g)
    yield "acts", lambda: R.Model(front(8) + [
        R.Act("silu"), R.Linear(8, 8), R.Act("gelu"), R.Linear(8, 8), R.Act("relu"), R.Linear(8, 8),
        R.Act("tanh"), R.Linear(8, 8), R.Act("sigmoid")], 8, "mean", 256, g)
    yield "lstm", lambda: R.Model(front(8) + [R.LSTM(8, 12)], 12, "mean", 256, g)
    yield "mamba2", lambda: R.Model(front(16) + [R.Mamba2Block(16, d_state=8, headdim=8)], 16,
                                    "attention", 256, g)
    yield "mamba2_groups", lambda: R.Model(front(16) + [
        R.Mamba2Block(16, d_state=4, d_conv=3, expand=2, headdim=4, ngroups=2)], 16, "max", 256, g)
    yield "bimamba2", lambda: R.Model(front(8) + [
        R.BiMamba2Block(8, d_state=4, d_conv=3, expand=2, headdim=4, ngroups=2, block=5)], 8, "attention", 256, g)


def write_case(out, name, model, C, frames, seed, every, features, step_check):
    R.randomize(model, seed)
    model.eval()
    hop = model.hop()
    T = frames * hop
    x = R.test_input(C, T, seed)
    with torch.no_grad():
        h = (x * model.input_gain)[:, :, None]
        for layer in model.layers:
            h = layer(h)
        p, s = model._aggregate(h.transpose(0, 1))
        feats = h.transpose(0, 1)          # (F, C, D)
        n = min(step_check, frames)
        if n:
            ps, ss = model.step_stream(x[:, :n * hop])
            dp = (ps - p[:n]).abs().max().item()
            ds = (ss - s[:n]).abs().max().item()
            assert dp <= 1e-5 and ds <= 1e-5, (name, dp, ds)
            print(f"{name}: step == sequence over {n} frames (max |dp| {dp:.2e}, |ds| {ds:.2e})")
    sel = slice(0, frames, every)
    t = {"p": p[sel].contiguous(), "scores": s[sel].contiguous()}
    if features:
        t["features"] = feats[sel].contiguous()
    meta = {"channels": str(C), "samples": str(T), "seed": str(seed), "every": str(every),
            "mode": "sequence"}
    R.save_model(model, os.path.join(out, name + ".model.safetensors"))
    R.save_safetensors(os.path.join(out, name + ".expect.safetensors"), t, meta)
    print(f"{name}: {frames} frames x {C} channels, hop {hop}, stored every {every}")


def main():
    main_into(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "tests", "golden"))


def main_into(out):
    os.makedirs(out, exist_ok=True)
    for i, (name, mk) in enumerate(cases()):
        torch.manual_seed(100 + i)
        write_case(out, name, mk(), 2, 48, 11 + i, 1, True, 48)
    # Windowed mode: 2 s windows every 0.5 s, 3 channels
    torch.manual_seed(42)
    m = R.Model(front(8) + [R.LayerNorm(8), R.Act("gelu"), R.CausalConv1d(8, 8, 3, stride=2),
                            R.LSTM(8, 8)], 8, "max", 256, 1.0 / 32, window=(512, 128))
    R.randomize(m, 43)
    x = R.test_input(3, 256 * 30, 44)
    with torch.no_grad():
        p, s = m.windowed(x)
    R.save_model(m, os.path.join(out, "windowed.model.safetensors"))
    R.save_safetensors(os.path.join(out, "windowed.expect.safetensors"),
                       {"p": p.contiguous(), "scores": s.contiguous()},
                       {"channels": "3", "samples": str(x.shape[1]), "seed": "44", "every": "1",
                        "mode": "windowed"})
    print(f"windowed: {p.numel()} frames x 3 channels")
    # Whole models over one hour of EEG at 256 Hz (28,800 frames at 8 Hz).
    write_case(out, "default_1h", R.default_model(0), 3, 28800, 5, 16, False, 600)
    torch.manual_seed(7)
    m = R.Model([R.CausalConv1d(1, 8, 8, stride=4), R.Act("gelu"),
                 R.CausalConv1d(8, 12, 4, stride=8, groups=4), R.LayerNorm(12),
                 R.LSTM(12, 12), R.Mamba2Block(12, d_state=4, headdim=6, ngroups=2), R.RMSNorm(12)],
                12, "logsumexp", 256, 1.0 / 32)
    write_case(out, "mixed_1h", m, 2, 28800, 6, 16, False, 300)


if __name__ == "__main__":
    main()
