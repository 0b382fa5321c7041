"""train_scan — a fast, mathematically identical whole-sequence path for
training ictal_ref models.

ictal_ref.Mamba2Mixer.forward scans time with a Python loop (one step per
frame): exact, but slow under autograd. Here the same recurrence

    s_t = exp(dt_t A) s_{t-1} + dt_t x_t B_t^T,    y_t = s_t C_t + D x_t

is evaluated in chunks of Q frames (the "SSD" form of Mamba-2, Dao & Gu 2024):
inside a chunk, with L_t the cumulative log-decay since the chunk start,

    y_t = sum_{j<=t} exp(L_t - L_j) (C_t . B_j) dt_j x_j + exp(L_t) C_t s_0

(the exponent is <= 0 wherever it is used, so nothing overflows), and only
the chunk-boundary states are carried by a loop (T/Q steps). Every other part
of the mixer is ictal_ref's own code. test_train.py checks this equals
ictal_ref's scan to <= 1e-5 on random weights.

Also the batched model forward used for training: many windows of many
channels at once, per-channel logits and the cross-channel attention with a
channel mask (padded or dropped channels), returning logits (the sigmoid is
left to the loss).
"""
import math
import types

import torch
import torch.nn.functional as F

import ictal_ref as R


def ssd_scan(xdt, logA, Bm, Cm, chunk=32):
    """xdt: (b, T, H, P) = dt*x; logA: (b, T, H) = dt*A (<= 0);
    Bm, Cm: (b, T, G, N) with H a multiple of G (head h uses group
    h // (H/G), as repeat_interleave in ictal_ref).
    Returns y (b, T, H, P) with y_t = s_t C_t."""
    b, T, H, P = xdt.shape
    G, N = Bm.shape[2], Bm.shape[3]
    Hg = H // G
    Q = chunk
    nc = (T + Q - 1) // Q
    pad = nc * Q - T
    if pad:
        xdt = F.pad(xdt, (0, 0, 0, 0, 0, pad))
        logA = F.pad(logA, (0, 0, 0, pad))
        Bm = F.pad(Bm, (0, 0, 0, 0, 0, pad))
        Cm = F.pad(Cm, (0, 0, 0, 0, 0, pad))
    # layout (b, G, Hg, nc, Q, .): heads batch, time in chunks
    X = xdt.reshape(b, nc, Q, G, Hg, P).permute(0, 3, 4, 1, 2, 5)
    Bc = Bm.reshape(b, nc, Q, G, N).permute(0, 3, 1, 2, 4)[:, :, None]   # (b, G, 1, nc, Q, N)
    Cc = Cm.reshape(b, nc, Q, G, N).permute(0, 3, 1, 2, 4)[:, :, None]
    L = torch.cumsum(logA.reshape(b, nc, Q, G, Hg).permute(0, 3, 4, 1, 2), -1)  # (b, G, Hg, nc, Q)
    causal = torch.ones(Q, Q, dtype=torch.bool).tril()
    decay = torch.exp((L[..., :, None] - L[..., None, :]).masked_fill(~causal, -math.inf))
    CB = Cc @ Bc.transpose(-1, -2)                                      # (b, G, 1, nc, Q, Q)
    y = (CB * decay) @ X                                                # (b, G, Hg, nc, Q, P)
    last = L[..., -1:]                                                  # (b, G, Hg, nc, 1)
    Sx = (X * torch.exp(last - L)[..., None]).transpose(-1, -2) @ Bc    # (b, G, Hg, nc, P, N)
    ea = torch.exp(last[..., 0])                                        # (b, G, Hg, nc)
    s = torch.zeros(b, G, Hg, P, N, dtype=xdt.dtype)
    states = []
    for c in range(nc):
        states.append(s)
        s = s * ea[..., c, None, None] + Sx[:, :, :, c]
    s_in = torch.stack(states, 3)                                       # (b, G, Hg, nc, P, N)
    y = y + (Cc @ s_in.transpose(-1, -2)) * torch.exp(L)[..., None]
    return y.permute(0, 3, 4, 1, 2, 5).reshape(b, nc * Q, H, P)[:, :T]


def fast_mixer_forward(self, u, chunk=32):
    """Drop-in for ictal_ref.Mamba2Mixer.forward with the chunked scan."""
    Bsz, T, _ = u.shape
    z, xBC, dt = self._split(self.in_proj(u))
    xBC = F.conv1d(F.pad(xBC.transpose(1, 2), (self.d_conv - 1, 0)), self.conv1d.weight,
                   self.conv1d.bias, groups=self.conv_dim).transpose(1, 2)
    xBC = F.silu(xBC)
    x, Bm, Cm = self._ssm_in(xBC)
    A = -torch.exp(self.A_log)
    dt = F.softplus(dt + self.dt_bias)                          # (B, T, H)
    H, P, N, G = self.nheads, self.headdim, self.d_state, self.ngroups
    xh = x.reshape(Bsz, T, H, P)
    y = ssd_scan(xh * dt[..., None], dt * A, Bm.reshape(Bsz, T, G, N), Cm.reshape(Bsz, T, G, N), chunk)
    y = y + self.D[:, None] * xh
    y = self.norm(y.reshape(Bsz, T, H * P), z)
    return self.out_proj(y)


def use_fast_scan(model, chunk=32):
    """Switch every Mamba-2 mixer of model to the chunked scan (in place)."""
    for m in model.modules():
        if isinstance(m, R.Mamba2Mixer):
            m.forward = types.MethodType(lambda self, u: fast_mixer_forward(self, u, chunk), m)
    return model


def batch_logits(model, x, mask=None):
    """x: (Bw, C, T) samples (already pre-filtered, in µV); mask: (Bw, C) bool,
    True = channel present. Returns z (Bw, F) aggregated logits (sigmoid(z)
    is the model's probability, as Model.forward for the unmasked channels)
    and s (Bw, F, C) per-channel logits."""
    Bw, C, T = x.shape
    h = (x.reshape(Bw * C, T) * model.input_gain)[:, :, None]
    for l in model.layers:
        h = l(h)
    Fr, D = h.shape[1], h.shape[2]
    h = h.reshape(Bw, C, Fr, D).transpose(1, 2)                # (Bw, F, C, D)
    s = model.head(h)[..., 0]                                  # (Bw, F, C)
    if mask is None:
        mask = torch.ones(Bw, C, dtype=torch.bool)
    m = mask[:, None, :]
    agg = model.aggregation
    if agg == "attention":
        a = model.attn(h)[..., 0].masked_fill(~m, -math.inf)
        z = (torch.softmax(a, -1) * s.masked_fill(~m, 0.0)).sum(-1)
    elif agg == "max":
        z = s.masked_fill(~m, -math.inf).max(-1).values
    elif agg == "mean":
        z = (s * m).sum(-1) / m.sum(-1)
    else:
        raise ValueError(f"aggregation {agg} not supported in training")
    return z, s
