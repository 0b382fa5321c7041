#!/usr/bin/python3
"""The PyTorch reference against itself and against the C engine.

  test_reference.py PATH/TO/test_engine_driver

1. For random architectures (every layer type, random sizes, strides,
   dilations, groups, Mamba-2 ngroups, aggregations) with random weights:
   PyTorch step mode == whole-sequence mode, and the C engine (fed in random
   chunks, builtin and OpenBLAS products) == PyTorch, max |dp| <= 1e-5.
2. The default architecture over one hour of EEG (28,800 frames): C ==
   PyTorch whole-sequence, max |dp| <= 1e-5; step == sequence on a prefix.
3. The committed golden vectors regenerate to within 1e-5.

Exit 77 (ctest SKIP_RETURN_CODE) when torch cannot be imported.
"""
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True
import tempfile

try:
    import numpy as np
    import torch
except Exception as exc:  # pragma: no cover
    print(f"skip: torch not importable ({exc})")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ictal_ref as R  # noqa: E402
import make_golden  # noqa: E402

torch.set_num_threads(1)
TOL = 1e-5
failures = []


def check(name, ok, msg):
    print(("ok   " if ok else "FAIL ") + name + ": " + msg, flush=True)
    if not ok:
        failures.append(name)


def random_model(rng):
    layers = []
    d = rng.choice([4, 6, 8])
    layers.append(R.CausalConv1d(1, d, rng.randint(1, 8), stride=rng.choice([1, 2, 4]),
                                 dilation=rng.choice([1, 2]), bias=rng.random() < 0.8))
    if rng.random() < 0.7:
        g = rng.choice([g for g in (1, 2) if d % g == 0])
        d2 = rng.choice([4, 8, 12])
        layers.append(R.CausalConv1d(d, d2, rng.randint(1, 4), stride=rng.choice([1, 2]),
                                     dilation=rng.choice([1, 3]), groups=g))
        d = d2
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["linear", "layernorm", "rmsnorm", "act", "lstm", "mamba2", "mamba2", "bimamba2"])
        if kind == "linear":
            d2 = rng.choice([4, 8, 16])
            layers.append(R.Linear(d, d2, bias=rng.random() < 0.7))
            d = d2
        elif kind == "layernorm":
            layers.append(R.LayerNorm(d, eps=rng.choice([1e-5, 1e-3])))
        elif kind == "rmsnorm":
            layers.append(R.RMSNorm(d, eps=rng.choice([1e-5, 1e-6])))
        elif kind == "act":
            layers.append(R.Act(rng.choice(list(R.ACTS))))
        elif kind == "lstm":
            d2 = rng.choice([4, 8, 12])
            layers.append(R.LSTM(d, d2))
            d = d2
        else:
            bi = kind == "bimamba2"
            expand = rng.choice([1, 2])
            di = d * expand
            headdim = rng.choice([h for h in (2, 4, 6, 8) if di % h == 0])
            nh = di // headdim
            ng = rng.choice([g for g in (1, 2, 4) if nh % g == 0])
            kw = dict(d_state=rng.choice([2, 4, 8]), d_conv=rng.choice([2, 3, 4]), expand=expand,
                      headdim=headdim, ngroups=ng)
            if bi:
                layers.append(R.BiMamba2Block(d, block=rng.choice([1, 2, 3, 8]), **kw))
            else:
                layers.append(R.Mamba2Block(d, **kw))
    agg = rng.choice(["max", "mean", "logsumexp", "attention"])
    return R.Model(layers, d, agg, 256, 1.0 / 32)


def run_c(driver, tmp, model, x, gemm, seed):
    mp = os.path.join(tmp, "m.safetensors")
    ip = os.path.join(tmp, "x.f32")
    op = os.path.join(tmp, "y.f32")
    R.save_model(model, mp)
    x.numpy().astype("<f4").tofile(ip)
    C = x.shape[0]
    subprocess.run([driver, mp, ip, str(C), op, gemm, str(seed)], check=True)
    y = np.fromfile(op, dtype="<f4")
    F = y.size // (C + 1)
    return torch.from_numpy(y[:F].copy()), torch.from_numpy(y[F:].reshape(F, C).copy())


def main():
    if len(sys.argv) < 2:
        print("usage: test_reference.py TEST_ENGINE_DRIVER")
        return 2
    driver = sys.argv[1]
    rng = random.Random(int(os.environ.get("ICTAL_TEST_SEED", "20261122")))
    tmp = tempfile.mkdtemp(dir=os.environ.get("ICTAL_TEST_TMPDIR"))

    # 1. random architectures
    for it in range(12):
        torch.manual_seed(rng.randrange(1 << 30))
        m = random_model(rng)
        R.randomize(m, rng.randrange(1 << 20))
        C = rng.randint(1, 5)
        T = m.hop() * rng.randint(40, 160)
        x = (torch.randn(C, T).cumsum(1) * 0.5 + torch.randn(C, T) * 8).float()
        with torch.no_grad():
            p, s = m(x)
            ps, ss = m.step_stream(x)
        kinds = ",".join(l.spec("x")["type"] for l in m.layers) + "/" + m.aggregation
        d = max((ps - p).abs().max().item(), (ss - s).abs().max().item())
        check(f"arch{it} step==seq", d <= TOL, f"{kinds} C={C} frames={p.numel()} max|d|={d:.2e}")
        for gemm in ("builtin", "openblas"):
            pc, sc = run_c(driver, tmp, m, x, gemm, it + 1)
            ok = pc.shape == p.shape
            d = max((pc - p).abs().max().item(), (sc - s).abs().max().item()) if ok else float("inf")
            check(f"arch{it} C({gemm})==torch", d <= TOL, f"max|dp|={d:.2e}")

    # 1b. windowed mode on random architectures (stateless windows, Hamming stitching)
    for it in range(4):
        torch.manual_seed(rng.randrange(1 << 30))
        m = random_model(rng)
        while any(isinstance(l, R.BiMamba2Block) for l in m.layers):  # not combinable with windows
            m = random_model(rng)
        R.randomize(m, rng.randrange(1 << 20))
        hop = m.hop()
        W = hop * rng.randint(4, 40)
        H = hop * rng.randint(1, W // hop)
        m.window = (W, H)
        C = rng.randint(1, 4)
        x = (torch.randn(C, W * 6).cumsum(1) * 0.5 + torch.randn(C, W * 6) * 8).float()
        with torch.no_grad():
            p, s = m.windowed(x)
        pc, sc = run_c(driver, tmp, m, x, "builtin", it + 100)
        ok = pc.shape == p.shape
        d = max((pc - p).abs().max().item(), (sc - s).abs().max().item()) if ok else float("inf")
        check(f"windowed{it} C==torch", d <= TOL, f"W={W} H={H} hop={hop} frames={p.numel()} max|dp|={d:.2e}")

    # 2. default architecture, one hour of EEG, 2 channels
    m = R.default_model(3)
    C, T = 2, 256 * 3600
    x = R.test_input(C, T, 77)
    with torch.no_grad():
        p, s = m(x)
        n = 400
        ps, ss = m.step_stream(x[:, :n * m.hop()])
    d = max((ps - p[:n]).abs().max().item(), (ss - s[:n]).abs().max().item())
    check("default step==seq", d <= TOL, f"{n} frames max|d|={d:.2e}")
    pc, sc = run_c(driver, tmp, m, x, "builtin", 5)
    d = max((pc - p).abs().max().item(), (sc - s).abs().max().item())
    check("default 1h C==torch", pc.numel() == 28800 and d <= TOL, f"{pc.numel()} frames max|dp|={d:.2e}")

    # 3. goldens regenerate
    gdir = os.path.join(tmp, "golden")
    make_golden.main_into(gdir)
    committed = os.path.join(HERE, "..", "..", "tests", "golden")
    for f in sorted(os.listdir(gdir)):
        if not f.endswith(".expect.safetensors"):
            continue
        a, _ = R.load_safetensors(os.path.join(gdir, f))
        b, _ = R.load_safetensors(os.path.join(committed, f))
        d = max((a[k] - b[k]).abs().max().item() for k in a)
        check(f"golden {f}", d <= TOL, f"regenerated max|d|={d:.2e}")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
