"""The integer network of bench.models.dyncp.intnet over a whole utterance at once.

Conv-FSENet has no recurrence: a block's output at frame t depends on its input at t, t-d and
t-2d only, and the gates decide from the block's input at t. So each layer can run on all frames
in one numpy call instead of frame by frame: the same TFLM operators on (T, C) arrays, with the
keep-masks applied exactly as the streaming model (and the C) apply them:

* a skipped channel's pointwise-1 output and PReLU are simply not used: h holds the ring's zero
  point there, which is also what the history ring keeps for it;
* the depthwise taps at t-2d and t-d are h of those frames (the zero point before the start);
* pointwise-2 sums over the kept inputs only: ``(keep * (z + off)) @ W`` in int64 wraps to the
  same int32 as the streaming model's sum over the kept channels.

:class:`BatchNet` has IntNet's ``frame`` too, so it is a drop-in `net` for
``intnet.enhance``; tests/unit/test_dyncp_intbatch.py checks it equal to IntNet bit for bit. The
streaming IntNet stays the specification the C mirrors; this is how the host computes it fast.
"""

from __future__ import annotations

import numpy as np

from bench.models.common import int8ops as q8
from bench.models.dyncp.intnet import IntFrame
from bench.models.dyncp.quantize import DyncpQuant, QAct

I64 = np.int64


def _act_all(v: np.ndarray, a: QAct) -> np.ndarray:
    """PReLU then the norm bias on every channel of (T, C) (intnet.act_s8 without the index)."""
    p = q8.prelu_s8(v, a.alpha, a.in_offset, 0, a.mult_pos, a.shift_pos, a.mult_neg, a.shift_neg, a.out_offset)
    return np.clip(p.astype(np.int32) + a.beta, -128, 127).astype(np.int8)


def network(qm: DyncpQuant, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gains (T, 257) int16 Q0.15, keep (T, n_blocks, C) bool, kept (T, n_blocks)) of a stream
    of int8 features (T, 257) from a reset network."""
    cfg = qm.config
    f = qm.frontend
    x = q8.fc_s8(feats, f.w, f.b, f.in_offset, f.mult, f.shift, f.out_offset, f.act_min, f.act_max)
    t_n, c = feats.shape[0], cfg.conv
    keeps = np.ones((t_n, len(qm.blocks), c), bool)
    for i, b in enumerate(qm.blocks):
        if b.gated:
            hid = x
            if b.gate_hidden is not None:
                q = b.gate_hidden
                hid = q8.fc_s8(x, q.w, q.b, q.in_offset, q.mult, q.shift, q.out_offset, q.act_min, q.act_max)
            q = b.gate_out  # type: ignore[assignment]
            assert q is not None
            keeps[:, i] = q8.fc_s8(hid, q.w, q.b, q.in_offset, q.mult, q.shift, q.out_offset) > 0
        keep = keeps[:, i]
        p1 = b.pw1
        v1 = q8.fc_s8(x, p1.w, p1.b, p1.in_offset, p1.mult, p1.shift, p1.out_offset)
        zero = np.int8(qm.ring_zero[i])
        h = np.where(keep, _act_all(v1, b.act1), zero)
        d, dw = b.dilation, b.dw
        past = np.concatenate([np.full((2 * d, c), zero, np.int8), h])  # row 2d + t is frame t
        taps = (past[:t_n], past[d: d + t_n], h)  # t-2d, t-d, t
        acc = sum((tap.astype(I64) + int(dw.in_offset)) * np.asarray(dw.w, I64)[k] for k, tap in enumerate(taps))
        acc = q8.wrap_int32(acc + np.asarray(dw.b, I64))
        r = q8.multiply_by_quantized_multiplier(acc, np.asarray(dw.mult, I64), np.asarray(dw.shift, I64))
        y = np.clip(q8.wrap_int32(r + int(dw.out_offset)), dw.act_min, dw.act_max).astype(np.int8)
        z = np.where(keep, _act_all(y, b.act2), np.int8(0))
        p2 = b.pw2  # w (R, C): pointwise-2 over the kept inputs
        zin = np.where(keep, z.astype(I64) + int(p2.in_offset), 0)
        acc2 = q8.wrap_int32(zin @ np.asarray(p2.w, I64).T + np.asarray(p2.b, I64))
        r2 = q8.multiply_by_quantized_multiplier(acc2, np.asarray(p2.mult, I64), np.asarray(p2.shift, I64))
        u = np.clip(q8.wrap_int32(r2 + int(p2.out_offset)), p2.act_min, p2.act_max).astype(np.int8)
        x = q8.add_elementwise(x, u, b.add, np.int8)
    k = qm.backend
    pre = q8.fc_s8_s16(x, k.w, k.b, k.in_offset, k.mult, k.shift, k.out_offset, k.act_min, k.act_max)
    return q8.sigmoid_s16(pre).astype(np.int16), keeps, keeps.sum(axis=2)


class BatchNet:
    """IntNet's interface for intnet.enhance, computed for all frames at the first call."""

    def __init__(self, qm: DyncpQuant, feats: np.ndarray) -> None:
        self.qm = qm
        self.gains, self.keeps, self.kept = network(qm, feats)
        self.gated = [i for i, b in enumerate(qm.blocks) if b.gated]
        self.t = 0

    def frame(self, feat: np.ndarray) -> IntFrame:
        t, self.t = self.t, self.t + 1
        kept = tuple(int(k) for k in self.kept[t])
        return IntFrame(self.gains[t], tuple(self.keeps[t, i] for i in self.gated), kept,
                        self.qm.config.macs(kept))
