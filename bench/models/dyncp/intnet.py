"""Integer golden model of (DynCP) Conv-FSENet on target: the bit-exact specification of
firmware/models/dyncp/.

Per hop of 256 int16 samples:

1. **stft** (float32, one IEEE rounding per operation, bench.models.common.fft32): frame = [previous
   hop, hop] in int16 units times the sqrt-Hann window; 512-point real DFT (256-point radix-4
   complex FFT + split); ``P = Xr^2 + Xi^2``; int8 feature ``-128 + #{j : P >= T_j}`` over the
   quantizer's 255 thresholds (a binary search on target).
2. **network** (integer, TFLM int8 semantics; bench.models.dyncp.quantize for the operator
   list): front end FC + ReLU; per block the gate (``keep_c = gate_out_c > 0``), pw1 on the
   kept rows, PReLU + norm bias, the causal depthwise conv on the kept channels with its
   history ring (a skipped channel leaves h's zero point), PReLU + norm bias, pw2 over the
   kept inputs, residual ADD; back end FC -> int16 Q3.12 -> LOGISTIC -> Q0.15 gain.
3. **istft** (float32): ``Y = X (g 2^-15)``, inverse real FFT, window ``w / 512``,
   overlap-add, int16 with round half away from zero and saturation.

The masked operators are the golden ops of the C kernels (bench.models.dyncp.golden).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.models.common import fft32
from bench.models.common import int8ops as q8
from bench.models.dyncp import frontend
from bench.models.dyncp import golden as g
from bench.models.dyncp.config import FRAME_LEN, HOP_LEN, N_BINS
from bench.models.dyncp.quantize import DyncpQuant, QAct

F32 = np.float32
Q15 = F32(2.0**-15)
FFT = fft32.RealFft(FRAME_LEN, ((4, 1), (4, 4), (4, 16), (4, 64)))


@functools.cache
def windows() -> tuple[np.ndarray, np.ndarray]:
    """(analysis window, synthesis window w / 512) float32, read-only."""
    win = np.asarray(frontend.window(), F32)
    syn = (win.astype(np.float64) / FRAME_LEN).astype(F32)
    syn.setflags(write=False)
    return win, syn


def features_int8(xr: np.ndarray, xi: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """int8 features from the spectrum (int16 units): -128 + count of thresholds <= P."""
    p = xr * xr + xi * xi
    return (np.searchsorted(thresholds, p, side="right") - 128).astype(np.int8)


def act_s8(v: np.ndarray, a: QAct, idx: np.ndarray) -> np.ndarray:
    """PReLU then the norm bias on channels ``idx``: clamp(PRELU(v) + beta) (int8)."""
    p = q8.prelu_s8(v[idx], a.alpha[idx], a.in_offset, 0, a.mult_pos, a.shift_pos, a.mult_neg, a.shift_neg,
                    a.out_offset)
    return np.clip(p.astype(np.int32) + a.beta[idx], -128, 127).astype(np.int8)


@dataclass(frozen=True)
class IntFrame:
    gain: np.ndarray  # (257,) int16 Q0.15
    masks: tuple[np.ndarray, ...]  # per gated block (C,) bool
    kept: tuple[int, ...]  # per block
    macs: int


class IntNet:
    """The integer network with the history rings of one stream."""

    def __init__(self, qm: DyncpQuant) -> None:
        self.qm = qm
        self.reset()

    def reset(self) -> None:
        c = self.qm.config.conv
        self.rings = [np.full((2 * b.dilation, c), z, np.int8)
                      for b, z in zip(self.qm.blocks, self.qm.ring_zero, strict=True)]
        self.pos = [0] * len(self.qm.blocks)

    def frame(self, feat: np.ndarray) -> IntFrame:
        qm, cfg = self.qm, self.qm.config
        f = qm.frontend
        x = q8.fc_s8(feat, f.w, f.b, f.in_offset, f.mult, f.shift, f.out_offset, f.act_min, f.act_max)
        masks: list[np.ndarray] = []
        kept: list[int] = []
        for i, b in enumerate(qm.blocks):
            c = cfg.conv
            if b.gated:
                hid = x
                if b.gate_hidden is not None:
                    q = b.gate_hidden
                    hid = q8.fc_s8(x, q.w, q.b, q.in_offset, q.mult, q.shift, q.out_offset, q.act_min, q.act_max)
                q = b.gate_out  # type: ignore[assignment]
                assert q is not None
                keep = q8.fc_s8(hid, q.w, q.b, q.in_offset, q.mult, q.shift, q.out_offset) > 0
                masks.append(keep)
            else:
                keep = np.ones(c, bool)
            idx = np.flatnonzero(keep)
            kept.append(int(idx.size))
            p1 = b.pw1
            v1 = g.pw_conv_s8(x, p1.w, p1.b, p1.in_offset, p1.mult, p1.shift, p1.out_offset, keep,
                              np.zeros(c, np.int8))
            h = np.full(c, qm.ring_zero[i], np.int8)
            h[idx] = act_s8(v1, b.act1, idx)
            d = b.dw
            y, self.rings[i], self.pos[i] = g.dw_conv_s8(h, self.rings[i], self.pos[i], b.dilation, d.w, d.b,
                                                         d.in_offset, d.mult, d.shift, d.out_offset, keep,
                                                         np.zeros(c, np.int8))
            z = np.zeros(c, np.int8)
            z[idx] = act_s8(y, b.act2, idx)
            p2 = b.pw2
            u = g.pw_conv_t_s8(z, p2.w.T, p2.b, p2.in_offset, p2.mult, p2.shift, p2.out_offset, keep)
            x = q8.add_elementwise(x, u, b.add, np.int8)
        k = qm.backend
        pre = q8.fc_s8_s16(x, k.w, k.b, k.in_offset, k.mult, k.shift, k.out_offset, k.act_min, k.act_max)
        gain = q8.sigmoid_s16(pre).astype(np.int16)
        return IntFrame(gain, tuple(masks), tuple(kept), cfg.macs(kept))


@dataclass(frozen=True, eq=False)
class IntOut:
    """One utterance through the integer golden model, aligned with the input."""

    audio: np.ndarray  # int16, delay removed
    gains: np.ndarray  # (T, 257) int16 Q0.15
    masks: np.ndarray  # (T, n_gated, C) bool
    kept: np.ndarray  # (T, n_blocks)
    macs: np.ndarray  # (T,)
    features: np.ndarray  # (T, 257) int8
    raw: np.ndarray  # int16, what the target emits for the T + extra hops (one hop late)


def enhance(qm: DyncpQuant, noisy: npt.ArrayLike, extra_hops: int = 1, net: IntNet | None = None,
            batched: bool = False) -> IntOut:
    """The stream over ``noisy`` (int16) plus ``extra_hops`` hops of zeros (default one, which
    flushes the overlap-add), output aligned with the input. ``net`` replaces the integer
    network (anything with IntNet's ``frame``, e.g. an exported .tflite run in TFLM);
    ``batched`` computes the same network over all frames at once (bench.models.dyncp.intbatch,
    equal bit for bit, ~25x faster)."""
    x = np.asarray(noisy, np.int16).reshape(-1)
    n = x.size
    t_in = -(-n // HOP_LEN)
    t = t_in + extra_hops
    frames = fft32.int_frames(x, t, HOP_LEN)
    win, syn = windows()
    xr, xi = FFT.rfft(frames, win)
    feats = features_int8(xr, xi, qm.thresholds)
    if batched and net is None:
        from bench.models.dyncp.intbatch import BatchNet

        net = BatchNet(qm, feats)  # type: ignore[assignment]
    net = IntNet(qm) if net is None else net
    cfg = qm.config
    n_g = cfg.n_blocks if cfg.gated else 0
    gains = np.empty((t, N_BINS), np.int16)
    masks = np.zeros((t, n_g, cfg.conv), bool)
    kept = np.empty((t, cfg.n_blocks), np.int64)
    macs = np.empty(t, np.int64)
    for i in range(t):
        fr = net.frame(feats[i])
        gains[i], kept[i], macs[i] = fr.gain, fr.kept, fr.macs
        if n_g:
            masks[i] = np.stack(fr.masks)
    gf = gains.astype(F32) * Q15
    y = FFT.irfft(xr * gf, xi * gf) * syn
    raw = fft32.f2i16(fft32.overlap_add_hops(y, HOP_LEN))
    return IntOut(raw[HOP_LEN : HOP_LEN + n], gains[:t_in], masks[:t_in], kept[:t_in], macs[:t_in],
                  feats[:t_in], raw)


__all__ = ["FFT", "IntFrame", "IntNet", "IntOut", "act_s8", "enhance", "features_int8", "windows"]
