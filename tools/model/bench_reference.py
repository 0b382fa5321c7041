#!/usr/bin/python3
"""PyTorch side of tools/bench/bench_engine.c: times the reference model on
the same input, whole-sequence and step (streaming) mode.

  bench_reference.py MODEL INPUT.f32 C SEQ_SECONDS STEP_SECONDS [REPS]

Prints one line per measurement, "<mode> <seconds of EEG> <CPU seconds>
<minor page faults>", and an "info" line:

  seq_glibc  whole sequence, glibc's default malloc
  seq        whole sequence, malloc keeping freed memory (the fair figure)
  step       step mode (Model.step_stream), malloc keeping freed memory

Settings, the same on the C side (docs/engine.md, "Benchmark"):
- One thread: OPENBLAS_NUM_THREADS=1 before torch loads (torch's BLAS is
  Debian's OpenBLAS, which torch.set_num_threads does not reach; its idle
  pool thread spins and process_time() counted it), torch.set_num_threads(1),
  set_num_interop_threads(1); the run checks that the process has one
  thread.
- Denormals flushed (torch.set_flush_denormal(True)), as the C engine runs.
- torch.inference_mode(); CPU time of the calling thread (thread_time(), the
  C side's CLOCK_THREAD_CPUTIME_ID); a warm-up at the full length, then the
  best of REPS (default 5; step mode: best of 3).
- Memory: PyTorch allocates every intermediate tensor afresh; glibc hands
  blocks above its mmap threshold back to the kernel when they are freed,
  so every forward pass page-faults its ~30 MB of intermediates in again
  (minor faults, kernel time). On a VM that cost is large and varies with
  the host; it was the unexplained 2x between sessions. The C engine
  allocates nothing after creation. "seq" sets mallopt(M_MMAP_THRESHOLD,
  M_TRIM_THRESHOLD) so that freed memory is reused (zero faults after
  the warm-up): PyTorch's best case, the figure the target is judged on.
  "seq_glibc" (measured first, with the default) is what a plain process
  gets.
"""
import ctypes
import json
import os
import resource
import sys
import time

# before torch (and its OpenBLAS) is loaded: no BLAS or OpenMP pool threads
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ictal_ref as R  # noqa: E402

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def build(spec, tensors):
    layers = []
    for L in spec["layers"]:
        t = L["type"]
        if t == "conv1d":
            layers.append(R.CausalConv1d(L["in"], L["out"], L["kernel"], L["stride"], L["dilation"],
                                         L["groups"], L["bias"]))
        elif t == "linear":
            layers.append(R.Linear(L["in"], L["out"], bias=L["bias"]))
        elif t == "layernorm":
            layers.append(R.LayerNorm(L["dim"], eps=L["eps"]))
        elif t == "rmsnorm":
            layers.append(R.RMSNorm(L["dim"], L["eps"]))
        elif t == "act":
            layers.append(R.Act(L["fn"]))
        elif t == "lstm":
            layers.append(R.LSTM(L["in"], L["hidden"]))
        elif t == "mamba2":
            layers.append(R.Mamba2Block(L["d_model"], L["d_state"], L["d_conv"], L["expand"], L["headdim"],
                                        L["ngroups"], L["eps"]))
        elif t == "bimamba2":
            layers.append(R.BiMamba2Block(L["d_model"], L["d_state"], L["d_conv"], L["expand"], L["headdim"],
                                          L["ngroups"], L["eps"], L["block"]))
        else:
            raise ValueError(t)
    m = R.Model(layers, spec["head"]["in"], spec["aggregation"]["type"], spec["sample_rate"],
                spec["input_gain"])
    m.load_state_dict(tensors)
    return m


def best_of(fn, reps):
    """Best thread CPU time of reps calls, and the minor faults of the best."""
    best, faults = float("inf"), 0
    for _ in range(reps):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.thread_time()
        fn()
        t = time.thread_time() - t
        f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        if t < best:
            best, faults = t, f1 - f0
    return best, faults


def main():
    path, inp, C, seq_s, step_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    reps = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    tensors, meta = R.load_safetensors(path)
    spec = json.loads(meta["ictal"])
    m = build(spec, tensors).eval()
    fs = spec["sample_rate"]
    x = torch.from_numpy(np.fromfile(inp, dtype="<f4").reshape(C, -1).copy())
    libc = ctypes.CDLL("libc.so.6")
    with torch.inference_mode():
        n = min(x.shape[1], int(seq_s * fs))
        xs = x[:, :n]
        m(xs)  # warm-up at the full length: first-call paths, dispatch caches
        t, f = best_of(lambda: m(xs), reps)
        print(f"seq_glibc {n / fs} {t} {f}", flush=True)
        if libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) != 1 or libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) != 1:
            sys.exit("bench_reference: mallopt failed")
        m(xs)  # fills the retained heap
        t, f = best_of(lambda: m(xs), reps)
        print(f"seq {n / fs} {t} {f}", flush=True)
        n = min(x.shape[1], int(step_s * fs))
        xt = x[:, :n]
        m.step_stream(xt[:, :fs])
        t, f = best_of(lambda: m.step_stream(xt), max(1, min(reps, 3)))
        print(f"step {n / fs} {t} {f}", flush=True)
    threads = len(os.listdir("/proc/self/task"))
    print(f"info threads={threads} torch={torch.__version__} intra={torch.get_num_threads()} "
          f"interop={torch.get_num_interop_threads()} ftz=1", flush=True)


if __name__ == "__main__":
    main()
