#!/usr/bin/python3
"""PyTorch side of tools/bench/bench_engine.c: times the reference model on
the same input, whole-sequence and step (streaming) mode, one thread,
torch.inference_mode().

  bench_reference.py MODEL INPUT.f32 C SEQ_SECONDS STEP_SECONDS

Prints two lines: "seq <seconds of EEG> <CPU seconds>" and
"step <seconds of EEG> <CPU seconds>".
"""
import json
import sys
import time

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ictal_ref as R  # noqa: E402


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


def main():
    path, inp, C, seq_s, step_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    # One thread for both modes, like the C engine; no autograd bookkeeping
    # (inference_mode is the fastest PyTorch offers for inference).
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    tensors, meta = R.load_safetensors(path)
    spec = json.loads(meta["ictal"])
    m = build(spec, tensors).eval()
    fs = spec["sample_rate"]
    x = torch.from_numpy(np.fromfile(inp, dtype="<f4").reshape(C, -1).copy())
    # CPU time, best of three for the whole sequence and best of two for the
    # (slow) step mode, as the C side measures (thread CPU time, best of three)
    with torch.inference_mode():
        n = min(x.shape[1], int(seq_s * fs))
        m(x[:, :min(n, int(fs))])  # warm-up: first-call allocations and dispatch caches
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            m(x[:, :n])
            best = min(best, time.process_time() - t)
        print(f"seq {n / fs} {best}", flush=True)
        n = min(x.shape[1], int(step_s * fs))
        best = float("inf")
        for _ in range(2):
            t = time.process_time()
            m.step_stream(x[:, :n])
            best = min(best, time.process_time() - t)
        print(f"step {n / fs} {best}", flush=True)


if __name__ == "__main__":
    main()
