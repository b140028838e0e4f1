"""Integer golden ops of the DynCP kernels (firmware/kernels/bk_{pw,pw_t,dw}_conv_s8.c).

TFLite-Micro int8 per-channel semantics (bench.models.common.int8ops), extended with a channel
keep-mask: a skipped channel is not computed at all. Every op here is the matching
int8ops operator applied to the kept channels only, so the arithmetic is exactly TFLM's:

* :func:`pw_conv_s8`: ``FullyConnectedPerChannel`` on the kept output rows; skipped outputs
  keep whatever the output buffer held (``out`` is returned with only kept entries replaced).
* :func:`pw_conv_t_s8`: ``FullyConnectedPerChannel`` over the kept input channels (a skipped
  input is real zero); weights given input-channel-major ``(in, out)``.
* :func:`dw_conv_s8`: TFLM ``DepthwiseConvPerChannel`` for one frame of a causal k=3 conv with
  dilation d: per kept channel the 3-input per-channel FC of (h[t-2d], h[t-d], x[t]) (the same
  int32 accumulate and requantisation as fc_s8, vectorised over the kept channels), then the
  history ring update: the frame's input for kept channels, the zero point (real zero) for
  skipped ones.

Masks are boolean arrays here; :func:`pack_mask` gives the C layout (bit c of word c / 32).
"""

from __future__ import annotations

import numpy as np

from bench.models.common import int8ops as q8


def pack_mask(keep: np.ndarray) -> np.ndarray:
    """Boolean keep-mask (C,) -> uint32 words (ceil(C / 32),), bit c of word c // 32."""
    k = np.asarray(keep, bool).reshape(-1)
    words = np.zeros((k.size + 31) // 32, np.uint32)
    for c in np.flatnonzero(k):
        words[c >> 5] |= np.uint32(1) << np.uint32(c & 31)
    return words


def pw_conv_s8(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    input_offset: int,
    mult: np.ndarray,
    shift: np.ndarray,
    output_offset: int,
    keep: np.ndarray | None,
    out: np.ndarray,
    act_min: int = -128,
    act_max: int = 127,
) -> np.ndarray:
    """Output-masked pointwise conv: w (out, in); returns a copy of ``out`` with the kept rows set."""
    res = np.array(out, np.int8, copy=True)
    idx = np.arange(w.shape[0]) if keep is None else np.flatnonzero(keep)
    if idx.size:
        b = None if bias is None else np.asarray(bias)[idx]
        res[idx] = q8.fc_s8(
            x,
            np.asarray(w)[idx],
            b,
            input_offset,
            np.asarray(mult)[idx],
            np.asarray(shift)[idx],
            output_offset,
            act_min,
            act_max,
        )
    return res


def pw_conv_t_s8(
    x: np.ndarray,
    wt: np.ndarray,
    bias: np.ndarray | None,
    input_offset: int,
    mult: np.ndarray,
    shift: np.ndarray,
    output_offset: int,
    keep: np.ndarray | None,
    act_min: int = -128,
    act_max: int = 127,
) -> np.ndarray:
    """Input-masked pointwise conv: wt (in, out) input-channel-major; every output computed."""
    idx = np.arange(wt.shape[0]) if keep is None else np.flatnonzero(keep)
    xs = np.asarray(x)[idx]
    ws = np.asarray(wt)[idx].T.reshape(wt.shape[1], idx.size)
    return q8.fc_s8(xs, ws, bias, input_offset, mult, shift, output_offset, act_min, act_max)


def dw_conv_s8(
    x: np.ndarray,
    ring: np.ndarray,
    pos: int,
    dilation: int,
    w: np.ndarray,
    bias: np.ndarray | None,
    input_offset: int,
    mult: np.ndarray,
    shift: np.ndarray,
    output_offset: int,
    keep: np.ndarray | None,
    out: np.ndarray,
    act_min: int = -128,
    act_max: int = 127,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One frame of the causal depthwise conv: ``(out, ring', pos')``.

    ring (2d, C) int8 holds the last 2d frames' inputs, row ``pos`` is frame t-2d and row
    ``(pos + d) % 2d`` frame t-d; w (3, C): taps on t-2d, t-d, t.
    """
    rows = 2 * dilation
    if ring.shape[0] != rows:
        raise ValueError(f"ring needs {rows} rows for dilation {dilation}, has {ring.shape[0]}")
    c_n = x.shape[0]
    idx = np.arange(c_n) if keep is None else np.flatnonzero(keep)
    res = np.array(out, np.int8, copy=True)
    h2, h1 = ring[pos], ring[(pos + dilation) % rows]
    if idx.size:
        taps = np.stack([h2[idx], h1[idx], np.asarray(x, np.int8)[idx]], axis=1).astype(np.int64)  # (K, 3)
        acc = q8.wrap_int32(((taps + int(input_offset)) * np.asarray(w, np.int64)[:, idx].T).sum(axis=1)
                            + (0 if bias is None else np.asarray(bias, np.int64)[idx]))
        r = q8.multiply_by_quantized_multiplier(acc, np.asarray(mult, np.int64)[idx], np.asarray(shift, np.int64)[idx])
        res[idx] = np.clip(q8.wrap_int32(r + int(output_offset)), act_min, act_max).astype(np.int8)
    new = np.array(ring, np.int8, copy=True)
    new[pos] = np.int8(-input_offset)
    new[pos, idx] = np.asarray(x, np.int8)[idx]
    return res, new, (pos + 1) % rows
