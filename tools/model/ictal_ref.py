"""ictal_ref — the PyTorch reference of ictal's inference engine.

Every layer the C engine (src/engine.c, src/nn_*.c) runs exists here as an
nn.Module with two paths that must agree:

  forward(x)            whole-sequence mode, x: (B, T, D) -> (B, T', D')
  step(x, state)        streaming mode, one input vector per call:
                        x: (B, D) -> (y or None, state)

B is the channel axis: channels share weights, exactly as in C where they are
the rows of one matrix. Conv layers with stride > 1 emit an output only on
inputs whose index is a multiple of the stride (output j sees inputs up to and
including j*stride: left zero-padding, causal).

The model file format is docs/model-format.md; `save_model` writes it.
Only torch and the standard library are used (no safetensors package).
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_VERSION = 1

POSTPROC_DEFAULTS = {
    "threshold_on": 0.8, "threshold_off": 0.5, "n_on": 2, "n_off": 4,
    "opening": 1.0, "closing": 2.0, "min_duration": 5.0, "merge_gap": 10.0,
    "max_duration": 600.0, "confidence": "mean", "confidence_percentile": 90.0,
}


# ---------------------------------------------------------------- layers
class CausalConv1d(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, dilation=1, groups=1, bias=True):
        super().__init__()
        self.cin, self.cout, self.k, self.s, self.d, self.g = cin, cout, kernel, stride, dilation, groups
        self.span = (kernel - 1) * dilation + 1
        self.weight = nn.Parameter(torch.empty(cout, cin // groups, kernel))
        self.bias = nn.Parameter(torch.empty(cout)) if bias else None
        b = 1.0 / math.sqrt(cin // groups * kernel)
        nn.init.uniform_(self.weight, -b, b)
        if bias:
            nn.init.uniform_(self.bias, -b, b)

    def spec(self, name):
        return {"type": "conv1d", "name": name, "in": self.cin, "out": self.cout,
                "kernel": self.k, "stride": self.s, "dilation": self.d,
                "groups": self.g, "bias": self.bias is not None}

    def forward(self, x):  # (B, T, cin) -> (B, ceil(T/s), cout)
        xt = F.pad(x.transpose(1, 2), (self.span - 1, 0))
        return F.conv1d(xt, self.weight, self.bias, self.s, 0, self.d, self.g).transpose(1, 2)

    def init_state(self, B):
        return {"hist": torch.zeros(B, self.span, self.cin), "n": 0}

    def step(self, x, st):  # x: (B, cin)
        st["hist"] = torch.cat([st["hist"][:, 1:], x[:, None]], 1)
        n = st["n"]
        st["n"] = n + 1
        if n % self.s:
            return None, st
        win = st["hist"][:, ::self.d].transpose(1, 2)  # (B, cin, k)
        y = F.conv1d(win, self.weight, self.bias, 1, 0, 1, self.g)[:, :, 0]
        return y, st


class Linear(nn.Linear):
    def spec(self, name):
        return {"type": "linear", "name": name, "in": self.in_features,
                "out": self.out_features, "bias": self.bias is not None}

    def init_state(self, B):
        return None

    def step(self, x, st):
        return self.forward(x), st


class LayerNorm(nn.LayerNorm):
    def spec(self, name):
        return {"type": "layernorm", "name": name, "dim": self.normalized_shape[0], "eps": self.eps}

    def init_state(self, B):
        return None

    def step(self, x, st):
        return self.forward(x), st


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.ones(dim))

    def spec(self, name):
        return {"type": "rmsnorm", "name": name, "dim": self.dim, "eps": self.eps}

    def forward(self, x):
        # y = x / sqrt(mean(x^2) + eps) * weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    def init_state(self, B):
        return None

    def step(self, x, st):
        return self.forward(x), st


ACTS = {"silu": F.silu, "gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


class Act(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def spec(self, name):
        return {"type": "act", "name": name, "fn": self.fn}

    def forward(self, x):
        return ACTS[self.fn](x)

    def init_state(self, B):
        return None

    def step(self, x, st):
        return self.forward(x), st


class LSTM(nn.Module):
    """One nn.LSTM layer (gate order i, f, g, o). Tensors keep PyTorch's names."""
    def __init__(self, cin, hidden):
        super().__init__()
        self.cin, self.hidden = cin, hidden
        self.lstm = nn.LSTM(cin, hidden, batch_first=True)

    def spec(self, name):
        return {"type": "lstm", "name": name, "in": self.cin, "hidden": self.hidden}

    def forward(self, x):  # whole sequence: PyTorch's own kernel
        return self.lstm(x)[0]

    def init_state(self, B):
        return {"h": torch.zeros(B, self.hidden), "c": torch.zeros(B, self.hidden)}

    def step(self, x, st):
        l = self.lstm
        g = x @ l.weight_ih_l0.T + l.bias_ih_l0 + st["h"] @ l.weight_hh_l0.T + l.bias_hh_l0
        i, f, gg, o = g.chunk(4, -1)
        c = torch.sigmoid(f) * st["c"] + torch.sigmoid(i) * torch.tanh(gg)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, {"h": h, "c": c}


class RMSNormGated(nn.Module):
    """mamba_ssm's RMSNormGated with norm_before_gate=False:
    y = rmsnorm_groupwise(x * silu(z)) * weight."""
    def __init__(self, dim, group_size, eps=1e-5):
        super().__init__()
        self.eps, self.group_size = eps, group_size
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x, z):
        x = x * F.silu(z)
        sh = x.shape
        xg = x.reshape(*sh[:-1], sh[-1] // self.group_size, self.group_size)
        xg = xg * torch.rsqrt(xg.pow(2).mean(-1, keepdim=True) + self.eps)
        return xg.reshape(sh) * self.weight


class Mamba2Mixer(nn.Module):
    """The semantics of mamba_ssm.modules.mamba2.Mamba2 (no d_mlp, D per head,
    in_proj/out_proj without bias, conv with bias, dt_limit (0, inf)), written
    from scratch in plain PyTorch."""
    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, headdim=16, ngroups=1, eps=1e-5):
        super().__init__()
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.headdim, self.ngroups, self.eps = headdim, ngroups, eps
        self.d_inner = expand * d_model
        assert self.d_inner % headdim == 0
        self.nheads = self.d_inner // headdim
        assert self.nheads % ngroups == 0
        self.conv_dim = self.d_inner + 2 * ngroups * d_state
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner + 2 * ngroups * d_state + self.nheads, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim, bias=True)
        dt = torch.exp(torch.rand(self.nheads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        self.norm = RMSNormGated(self.d_inner, self.d_inner // ngroups, eps)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def _split(self, zxbcdt):
        di, gn = self.d_inner, self.ngroups * self.d_state
        return torch.split(zxbcdt, [di, di + 2 * gn, self.nheads], -1)

    def _ssm_in(self, xBC):
        di, gn = self.d_inner, self.ngroups * self.d_state
        return torch.split(xBC, [di, gn, gn], -1)

    def forward(self, u):  # (B, T, d_model): full conv, then a plain scan over time
        Bsz, T, _ = u.shape
        z, xBC, dt = self._split(self.in_proj(u))
        xBC = F.conv1d(F.pad(xBC.transpose(1, 2), (self.d_conv - 1, 0)), self.conv1d.weight,
                       self.conv1d.bias, groups=self.conv_dim).transpose(1, 2)
        xBC = F.silu(xBC)
        x, Bm, Cm = self._ssm_in(xBC)
        A = -torch.exp(self.A_log)
        dt = F.softplus(dt + self.dt_bias)                  # (B, T, H)
        dA = torch.exp(dt * A)                              # (B, T, H)
        H, P, N, G = self.nheads, self.headdim, self.d_state, self.ngroups
        xh = x.reshape(Bsz, T, H, P)
        Bg = Bm.reshape(Bsz, T, G, N).repeat_interleave(H // G, 2)  # (B, T, H, N)
        Cg = Cm.reshape(Bsz, T, G, N).repeat_interleave(H // G, 2)
        dBx = (dt[..., None, None] * xh[..., None]) * Bg[:, :, :, None, :]  # (B,T,H,P,N)
        s = torch.zeros(Bsz, H, P, N)
        ys = []
        for t in range(T):
            s = s * dA[:, t, :, None, None] + dBx[:, t]
            ys.append(s)
        S = torch.stack(ys, 1)                              # (B, T, H, P, N)
        y = (S * Cg[:, :, :, None, :]).sum(-1) + self.D[:, None] * xh
        y = self.norm(y.reshape(Bsz, T, H * P), z)
        return self.out_proj(y)

    def init_state(self, B):
        return {"conv": torch.zeros(B, self.conv_dim, self.d_conv),
                "ssm": torch.zeros(B, self.nheads, self.headdim, self.d_state)}

    def step(self, u, st):  # (B, d_model), after Mamba2.step
        z, xBC, dt = self._split(self.in_proj(u))
        conv = torch.roll(st["conv"], -1, -1)
        conv[:, :, -1] = xBC
        xBC = F.silu((conv * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        x, Bm, Cm = self._ssm_in(xBC)
        A = -torch.exp(self.A_log)
        dt = F.softplus(dt + self.dt_bias)
        dA = torch.exp(dt * A)
        H, P, N, G = self.nheads, self.headdim, self.d_state, self.ngroups
        x = x.reshape(-1, H, P)
        Bg = Bm.reshape(-1, G, N).repeat_interleave(H // G, 1)
        Cg = Cm.reshape(-1, G, N).repeat_interleave(H // G, 1)
        ssm = st["ssm"] * dA[:, :, None, None] + (dt[:, :, None, None] * x[..., None]) * Bg[:, :, None, :]
        y = (ssm * Cg[:, :, None, :]).sum(-1) + self.D[:, None] * x
        y = self.norm(y.reshape(-1, H * P), z)
        return self.out_proj(y), {"conv": conv, "ssm": ssm}


class Mamba2Block(nn.Module):
    """mamba_ssm's Block: y = x + mixer(RMSNorm(x))."""
    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, headdim=16, ngroups=1, eps=1e-5):
        super().__init__()
        self.norm = RMSNorm(d_model, eps)
        self.mixer = Mamba2Mixer(d_model, d_state, d_conv, expand, headdim, ngroups, eps)

    def spec(self, name):
        m = self.mixer
        return {"type": "mamba2", "name": name, "d_model": m.d_model, "d_state": m.d_state,
                "d_conv": m.d_conv, "expand": m.expand, "headdim": m.headdim,
                "ngroups": m.ngroups, "eps": m.eps}

    def forward(self, x):
        return x + self.mixer(self.norm(x))

    def init_state(self, B):
        return self.mixer.init_state(B)

    def step(self, x, st):
        y, st = self.mixer.step(self.norm(x), st)
        return x + y, st


class BiMamba2Block(nn.Module):
    """Bidirectional Mamba-2 (BiMamba-style), streamable block-wise:
    y = x + fwd(u) + flip(bwd(flip(u))) with u = RMSNorm(x), where the
    backward mixer runs within blocks of `block` frames from zero state.
    Output frame t is y[t - (block-1)] (zeros before): a fixed, declared
    look-ahead of block-1 frames, so it runs in real time."""
    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, headdim=16, ngroups=1, eps=1e-5, block=8):
        super().__init__()
        self.block = block
        self.norm = RMSNorm(d_model, eps)
        self.fwd = Mamba2Mixer(d_model, d_state, d_conv, expand, headdim, ngroups, eps)
        self.bwd = Mamba2Mixer(d_model, d_state, d_conv, expand, headdim, ngroups, eps)

    def spec(self, name):
        m = self.fwd
        return {"type": "bimamba2", "name": name, "d_model": m.d_model, "d_state": m.d_state,
                "d_conv": m.d_conv, "expand": m.expand, "headdim": m.headdim,
                "ngroups": m.ngroups, "eps": m.eps, "block": self.block}

    def forward(self, x):  # (B, T, D)
        Bsz, T, D = x.shape
        L = self.block
        u = self.norm(x)
        y = x + self.fwd(u)
        nb = T // L
        if nb:
            ub = u[:, :nb * L].reshape(Bsz * nb, L, D).flip(1)   # every block, reversed, as a batch
            b = self.bwd(ub).flip(1).reshape(Bsz, nb * L, D)
            y = torch.cat([y[:, :nb * L] + b, y[:, nb * L:]], 1)
        out = torch.zeros_like(x)
        out[:, L - 1:] = y[:, :T - (L - 1)]
        return out

    def init_state(self, B):
        D = self.fwd.d_model
        z = lambda: torch.zeros(B, self.block, D)  # noqa: E731
        return {"fwd": self.fwd.init_state(B), "x": z(), "u": z(), "f": z(), "y": z(), "n": 0}

    def step(self, x, st):
        L = self.block
        i = st["n"] % L
        st["n"] += 1
        u = self.norm(x)
        f, st["fwd"] = self.fwd.step(u, st["fwd"])
        st["x"] = st["x"].clone()
        st["u"] = st["u"].clone()
        st["f"] = st["f"].clone()
        st["x"][:, i], st["u"][:, i], st["f"][:, i] = x, u, f
        if i < L - 1:
            return st["y"][:, i + 1], st
        bst = self.bwd.init_state(x.shape[0])
        y = torch.zeros_like(st["y"])
        for j in range(L - 1, -1, -1):
            b, bst = self.bwd.step(st["u"][:, j], bst)
            y[:, j] = st["x"][:, j] + st["f"][:, j] + b
        st["y"] = y
        return y[:, 0], st


# ---------------------------------------------------------------- model
class Model(nn.Module):
    """Per-channel layer stack -> per-channel logit (head) -> cross-channel
    aggregation -> one probability per frame.

    Input (C, T) samples at sample_rate; output p: (T',), scores: (T', C)
    where scores are per-channel probabilities sigmoid(logit)."""
    def __init__(self, layers, d_head, aggregation="attention", sample_rate=256, input_gain=1.0,
                 meta=None, window=None):
        super().__init__()
        self.window = window  # None (streaming) or (W, H) samples: windowed mode
        self.layers = nn.ModuleList(layers)
        self.head = nn.Linear(d_head, 1)
        self.aggregation = aggregation
        if aggregation == "attention":
            self.attn = nn.Linear(d_head, 1)
        self.sample_rate, self.input_gain = sample_rate, input_gain
        self.meta = meta or {}

    def hop(self):
        h = 1
        for l in self.layers:
            if isinstance(l, CausalConv1d):
                h *= l.s
        return h

    def _aggregate(self, h):  # h: (..., C, D) -> p (...,), scores (..., C)
        s = self.head(h)[..., 0]
        if self.aggregation == "max":
            z = s.max(-1).values
        elif self.aggregation == "mean":
            z = s.mean(-1)
        elif self.aggregation == "logsumexp":
            z = torch.logsumexp(s, -1) - math.log(s.shape[-1])
        elif self.aggregation == "attention":
            a = torch.softmax(self.attn(h)[..., 0], -1)
            z = (a * s).sum(-1)
        else:
            raise ValueError(self.aggregation)
        return torch.sigmoid(z), torch.sigmoid(s)

    def forward(self, x):  # (C, T) -> p (T',), scores (T', C)
        h = (x * self.input_gain)[:, :, None]
        for l in self.layers:
            h = l(h)
        return self._aggregate(h.transpose(0, 1))

    def init_state(self, C):
        return [l.init_state(C) for l in self.layers]

    def step_sample(self, x, st):  # x: (C,) one sample per channel -> (p, scores) or None
        h = (x * self.input_gain)[:, None]
        for i, l in enumerate(self.layers):
            h, st[i] = l.step(h, st[i])
            if h is None:
                return None
        return self._aggregate(h)

    def step_stream(self, x, st=None):
        """Streaming over a whole (C, T) input, one sample per step call.
        Returns p (T',), scores (T', C) — must equal forward()."""
        if st is None:
            st = self.init_state(x.shape[0])
        ps, ss = [], []
        for t in range(x.shape[1]):
            r = self.step_sample(x[:, t], st)
            if r is not None:
                ps.append(r[0])
                ss.append(r[1])
        return torch.stack(ps), torch.stack(ss)

    def spec(self):
        layers = []
        for i, l in enumerate(self.layers):
            layers.append(l.spec(f"layers.{i}"))
        m = {
            "format": "ictal-model", "format_version": FORMAT_VERSION,
            "name": self.meta.get("name", "unnamed"),
            "sample_rate": self.sample_rate,
            "frame_rate": self.sample_rate / self.hop(),
            "input_gain": self.input_gain,
            "channels": self.meta.get("channels", {"policy": "any", "labels": [], "min": 1, "max": 256}),
            "prefilter": self.meta.get("prefilter", []),
            "layers": layers,
            "head": {"in": self.head.in_features},
            "aggregation": {"type": self.aggregation},
            "postproc": dict(POSTPROC_DEFAULTS, **self.meta.get("postproc", {})),
            "provenance": self.meta.get("provenance", {"created_by": "tools/model/ictal_ref.py"}),
        }
        if self.window:
            m["window"] = {"samples": self.window[0], "step": self.window[1]}
        return m

    def windowed(self, x):
        """Windowed mode (stateless window classifier, pyannote-style
        stitching): every window of W samples starting at k*H is run from
        zero state; its W/hop frame outputs are summed into the timeline with
        Hamming weights and normalised by the summed weights. Returns the
        frames that no later window covers (those the C engine has emitted
        after the same input): p (F,), scores (F, C)."""
        import numpy as np
        W, H = self.window
        hop = self.hop()
        Fw, T = W // hop, x.shape[1]
        nwin = (T - W) // H + 1 if T >= W else 0
        F = nwin * (H // hop)
        ham = torch.from_numpy(np.hamming(Fw).astype(np.float32)) if Fw > 1 else torch.ones(1)
        acc_p = torch.zeros(F + Fw)
        acc_w = torch.zeros(F + Fw)
        acc_s = torch.zeros(F + Fw, x.shape[0])
        for k in range(nwin):
            s0 = k * H
            p, sc = self(x[:, s0:s0 + W])
            g = s0 // hop
            acc_p[g:g + Fw] += ham * p
            acc_w[g:g + Fw] += ham
            acc_s[g:g + Fw] += ham[:, None] * sc
        return (acc_p / acc_w)[:F], (acc_s / acc_w[:, None])[:F]


def default_model(seed=0):
    """The default seizure-detection architecture (see docs/engine.md):
    256 Hz -> causal conv front-end (hop 4*4*2 = 32) -> 8 Hz frames, d=16,
    two Mamba-2 blocks, RMSNorm, per-channel head, attention aggregation."""
    torch.manual_seed(seed)
    d = 16
    layers = [
        CausalConv1d(1, 8, 8, stride=4), Act("gelu"),
        CausalConv1d(8, 16, 4, stride=4), LayerNorm(16), Act("silu"),
        CausalConv1d(16, d, 3, stride=2), Act("silu"),
        Mamba2Block(d, d_state=4, d_conv=4, expand=2, headdim=8),
        Mamba2Block(d, d_state=4, d_conv=4, expand=2, headdim=8),
        RMSNorm(d),
    ]
    meta = {
        "name": "ictal-default-random",
        "prefilter": [{"type": "highpass", "freq_hz": 0.5, "order": 2},
                      {"type": "notch", "freq_hz": 50.0, "q": 30.0},
                      {"type": "lowpass", "freq_hz": 70.0, "order": 2}],
        "provenance": {"created_by": "tools/model/ictal_ref.py default_model", "seed": seed,
                       "training": "none (random weights)"},
    }
    m = Model(layers, d, "attention", 256, 1.0 / 32, meta)
    randomize(m, seed)
    return m


def randomize(m, seed):
    """Perturb norm weights/biases away from 1/0 so that tests exercise them."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("norm.weight") or (n.endswith(".weight") and p.dim() == 1):
                p.copy_(1.0 + 0.2 * (torch.rand(p.shape, generator=g) - 0.5))
            elif p.dim() == 1 and n.endswith(".bias"):
                p.add_(0.1 * (torch.rand(p.shape, generator=g) - 0.5))
            elif n.endswith(".D"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))


# ---------------------------------------------------------------- file I/O
def save_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: F32 little-endian, header padded with spaces
    to a multiple of 8 bytes as the reference implementation does."""
    header = {"__metadata__": metadata}
    off = 0
    blobs = []
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").copy()).reshape(e["shape"])
    return out, meta


def save_model(model, path):
    save_safetensors(path, dict(model.state_dict()), {"ictal": json.dumps(model.spec())})


# ---------------------------------------------------------------- test input
def test_input(C, T, seed):
    """The deterministic test signal, bit-identical to tests' C generator
    (ictal_test_signal in tests/test_engine_golden.c): integer hashing only,
    every float operation exact or rounded once in float32."""
    import numpy as np
    t = np.arange(T, dtype=np.uint64)[None, :]
    c = np.arange(C, dtype=np.uint64)[:, None]
    M = np.uint64(0xFFFFFFFF)
    h = (t * np.uint64(0x9E3779B1) + c * np.uint64(0x85EBCA77) + np.uint64(seed) * np.uint64(0xC2B2AE3D)) & M
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & M
    h ^= h >> np.uint64(12)
    h = (h * np.uint64(0x297A2D39)) & M
    h ^= h >> np.uint64(15)
    noise = (h >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24) - np.float32(0.5)
    slow = (((t >> np.uint64(9)) + c) & np.uint64(7)).astype(np.float32) - np.float32(3.5)
    amp = np.where((((t >> np.uint64(13)) + c) % np.uint64(5)) == 0, np.float32(8), np.float32(1))
    x = (noise * amp).astype(np.float32) + (slow * np.float32(0.25)).astype(np.float32)
    x = x.astype(np.float32) * np.float32(16.0)
    return torch.from_numpy(x.astype(np.float32))
