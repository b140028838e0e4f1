"""(DynCP) Conv-FSENet as a standard int8 TFLite-Micro graph, and TFLM as its integer reference.

`export(qm)` writes ONE frame of the integer network (bench.models.dyncp.intnet.IntNet.frame)
as a .tflite of TFLM builtin operators, operator for operator the arithmetic of the golden
model (bench.models.dyncp.quantize lists how each one is quantised):

* front end, gate hidden layer: FULLY_CONNECTED int8 per channel, fused ReLU;
* per block: pw1 FULLY_CONNECTED -> PRELU (alpha int8 per tensor) -> ADD of the norm bias
  (a constant at h's scale, zero point 0: an exact integer add) = h; the depthwise conv as
  CONCATENATION of the history (1, 2d, 1, C) with h -> DEPTHWISE_CONV_2D k=3, dilation d, over
  the (1, 2d + 1, 1, C) window [h[t-2d] .. h[t]] (taps t-2d, t-d, t); SLICE of the window's last
  2d rows = the new history; PRELU -> ADD norm bias = z; pw2 FULLY_CONNECTED; residual ADD;
* gated blocks: gate_out FULLY_CONNECTED (zero point 0, every multiplier >= 1/2, so
  ``out > 0`` iff its accumulator is) -> GREATER(out, 0) = the keep-mask (bool) ->
  SELECT_V2(mask, h, z_h) and SELECT_V2(mask, z, z_z). This is exactly the golden's masked
  arithmetic computed densely: a skipped channel is real zero in h (so the history holds h's
  zero point for it, as the golden ring does) and in z (so pw2 gets no contribution from it);
  per-channel operators make the kept channels' values independent of the skipped ones;
* back end: QUANTIZE int8 -> int16 (same scale: exact), FULLY_CONNECTED 16x8 -> Q3.12,
  LOGISTIC int16 -> Q0.15 gains (as nsNet2's heads).

The front end (STFT, feature thresholds) and the back end (gain x spectrum, inverse STFT)
stay outside the graph, in float32, as on our target (bench.models.dyncp.intnet.enhance).

**Streaming state is explicit.** Inputs: ``features`` (1, 257) int8, then per block its
depthwise history (1, 2d, 1, C) int8 at h's quantization, oldest frame first (zero point
everywhere at the start of an utterance). Outputs: ``gains`` (1, 257) int16 Q0.15, then the
new histories in block order (the caller feeds them back), then per gated block its keep-mask
(1, C) bool. The description is a JSON document naming inputs, outputs and the blocks.

int8.npz stores integer multipliers, not float scales: the export solves float32 weight and
PReLU alpha scales for which TFLM's Prepare recomputes exactly the stored multipliers and
verifies each. The gate's output multipliers are the one exception: they were derived from an
output scale that is not a tensor's, so the export reproduces them to float32 precision; only
the sign of the gate output is used, and any multiplier >= 1/2 keeps ``out > 0`` iff
``accumulator > 0``, so the masks are the golden's exactly (checked by the tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.models.common import int8ops as q8
from bench.models.dyncp.config import N_BINS
from bench.models.dyncp.intnet import IntFrame, IntOut, enhance
from bench.models.dyncp.quantize import Q_PRE, DyncpQuant, QAct, QBlock, QFc
from bench.tflm.graph import Graph, Interpreter, T, read_description

FORMAT = "bench-dyncp-tflite/1"
S_GAIN = 2.0**-15
# The gate output's tensor scale. TFLM's int8 GREATER compares MBQM((x - z) 2^8, scale) of
# each side, i.e. the real values at 8 fractional bits of the scale: with the quantizer's
# scale (min_c s_in s_w[c], ~1e-5) a small positive output rounds to 0 and GREATER says
# "not greater". With 1/4, out >= 1 maps to >= 64: GREATER(out, 0) is exactly out > 0.
S_GATE = 0.25
F32 = np.float32


def _ulps(x: np.float32, k: int) -> np.float32:
    """x moved by k float32 ulps (k < 0: towards zero)."""
    for _ in range(abs(k)):
        x = np.nextafter(x, F32(np.inf) if k > 0 else F32(0), dtype=F32)
    return F32(x)


def _solve(real: float, ratio_of: Any, want: tuple[int, int]) -> np.float32 | None:
    """The float32 s near ``real`` with ``ratio_of(s)`` quantising to ``want``, or None."""
    est = F32(real)
    for k in (0, 1, -1, 2, -2, 3, -3):
        cand = _ulps(est, k)
        if q8.quantize_multiplier(ratio_of(float(cand))) == want:
            return cand
    return None


def weight_scales(name: str, q: QFc, s_in: float, s_out: float) -> np.ndarray:
    """Per-channel float32 weight scales for which TFLM's Prepare (s_in s_w / s_out in double,
    int8ops.fc_multipliers) computes exactly the layer's stored (multiplier, shift)."""
    fi, fo = float(F32(s_in)), float(F32(s_out))
    real = q.mult.astype(np.float64) * np.exp2(q.shift.astype(np.float64) - 31)
    out = np.empty(real.size, F32)
    for c in range(real.size):
        want = (int(q.mult[c]), int(q.shift[c]))
        s = _solve(real[c] * fo / fi, lambda v: fi * v / fo, want)
        if s is None:
            raise ConfigError(f"{name}[{c}]: no float32 weight scale reproduces multiplier {want}")
        out[c] = s
    m, sh = q8.fc_multipliers(s_in, out, s_out)
    assert np.array_equal(m, q.mult) and np.array_equal(sh, q.shift), name
    return out


def gate_scales(name: str, q: QFc, s_in: float) -> tuple[np.ndarray, float]:
    """(weight scales, output scale) of a gate's output FC: its multipliers to float32 precision
    (exact where a float32 allows), each real multiplier >= 1/2 so that the sign of the output
    is the sign of the accumulator, as in the golden model (see the module doc)."""
    real = q.mult.astype(np.float64) * np.exp2(q.shift.astype(np.float64) - 31)
    if q.out_offset != 0 or real.min() < 0.5:
        raise ConfigError(f"{name}: gate output needs zero point 0 and multipliers >= 1/2")
    fi = float(F32(s_in))
    s_out = S_GATE
    ws = np.empty(real.size, F32)
    for c in range(real.size):
        s = _solve(real[c] * s_out / fi, lambda v: fi * v / s_out, (int(q.mult[c]), int(q.shift[c])))
        ws[c] = F32(real[c] * s_out / fi) if s is None else s
    m, sh = q8.fc_multipliers(s_in, ws, s_out)
    got = m.astype(np.float64) * np.exp2(sh.astype(np.float64) - 31)
    if got.min() < 0.5:
        raise ConfigError(f"{name}: gate multiplier below 1/2 after float32 rounding")
    return ws, s_out


def alpha_scale(name: str, a: QAct, s_in: float, s_out: float) -> float:
    """The float32 alpha scale for which TFLM's PRELU Prepare computes the stored multipliers
    (positive side s_in / s_out, negative side s_in s_alpha / s_out, both in double)."""
    fi, fo = float(F32(s_in)), float(F32(s_out))
    if q8.quantize_multiplier(fi / fo) != (a.mult_pos, a.shift_pos):
        raise ConfigError(f"{name}: PReLU positive multiplier does not follow from its scales")
    real = a.mult_neg * 2.0 ** (a.shift_neg - 31)
    s = _solve(real * fo / fi, lambda v: fi * v / fo, (a.mult_neg, a.shift_neg))
    if s is None:
        raise ConfigError(f"{name}: no float32 alpha scale reproduces multiplier {(a.mult_neg, a.shift_neg)}")
    return float(s)


def _check_offsets(name: str, q: QFc | QAct, z_in: int, z_out: int) -> None:
    if (q.in_offset, q.out_offset) != (-z_in, z_out):
        raise ConfigError(f"{name}: offsets {(q.in_offset, q.out_offset)} do not match the scales' zero points "
                          f"{(-z_in, z_out)}")


def _fc(g: Graph, name: str, x: T, q: QFc, out: tuple[float, int]) -> T:
    """FULLY_CONNECTED int8 of a QFc (fused ReLU when its act_min says so)."""
    _check_offsets(name, q, x.zero_point, out[1])
    relu = q.act_min != -128
    if q.act_max != 127 or (relu and q.act_min != max(-128, out[1])):
        raise ConfigError(f"{name}: activation range {(q.act_min, q.act_max)} is neither none nor ReLU")
    ws = weight_scales(name, q, float(x.scale), out[0])
    return g.fully_connected(x, q.w, q.b, ws, out[0], out[1], fused_relu=relu)


def _act(g: Graph, name: str, v: T, a: QAct, out: tuple[float, int]) -> T:
    """PRELU at the output's quantization, then ADD of the norm bias (same scale, zero point 0)."""
    _check_offsets(name, a, v.zero_point, out[1])
    p = g.prelu(v, a.alpha, alpha_scale(name, a, float(v.scale), out[0]), out[0], out[1])
    beta = g.const(np.asarray(a.beta, np.int8).reshape(1, -1), "int8", out[0], 0)
    return g.add(p, beta, out[0], out[1])


def _block(g: Graph, qm: DyncpQuant, b: QBlock, x: T, hist: T) -> tuple[T, T, T | None]:
    """One block: (x', new history, keep-mask or None)."""
    i, d, c = b.index, b.dilation, qm.config.conv
    sc = qm.scales
    mask = None
    if b.gated:
        assert b.gate_out is not None
        hid = x
        if b.gate_hidden is not None:
            hid = _fc(g, f"b{i}.gate_hidden", x, b.gate_hidden, sc[f"b{i}.gate_hidden"])
        _check_offsets(f"b{i}.gate_out", b.gate_out, hid.zero_point, 0)
        ws, s_go = gate_scales(f"b{i}.gate_out", b.gate_out, float(hid.scale))
        go = g.fully_connected(hid, b.gate_out.w, b.gate_out.b, ws, s_go, 0)
        mask = g.greater(go, g.const(np.zeros(1, np.int8), "int8", s_go, 0))

    def masked(t: T) -> T:
        if mask is None:
            return t
        return g.select_v2(mask, t, g.const(np.full(1, t.zero_point, np.int8), "int8", t.scale, t.zero_point))

    v1 = _fc(g, f"b{i}.pw1", x, b.pw1, sc[f"b{i}.v1"])
    h = masked(_act(g, f"b{i}.act1", v1, b.act1, sc[f"b{i}.h"]))
    win = g.concatenation([hist, g.reshape(h, (1, 1, 1, c))], axis=1)
    new_hist = g.slice(win, [0, 1, 0, 0], [1, 2 * d, 1, c])
    dq = b.dw
    s_y = sc[f"b{i}.y"]
    _check_offsets(f"b{i}.dw", dq, h.zero_point, s_y[1])
    ws = weight_scales(f"b{i}.dw", dq, float(h.scale), s_y[0])
    y = g.reshape(g.depthwise_conv(win, dq.w, dq.b, ws, s_y[0], s_y[1], dilation=d), (1, c))
    z = masked(_act(g, f"b{i}.act2", y, b.act2, sc[f"b{i}.z"]))
    u = _fc(g, f"b{i}.pw2", z, b.pw2, sc[f"b{i}.u"])
    s_x = sc[f"b{i}.x"]
    if q8.add_params(float(x.scale), x.zero_point, *sc[f"b{i}.u"], *s_x, dtype=np.int8) != b.add:
        raise ConfigError(f"b{i}: residual ADD parameters do not follow from the scales")
    return g.add(x, u, s_x[0], s_x[1]), new_hist, mask


def description(qm: DyncpQuant) -> dict[str, Any]:
    cfg = qm.config
    blocks = [{"index": b.index, "dilation": b.dilation, "gated": b.gated, "history": 2 * b.dilation,
               "ring_zero": z} for b, z in zip(qm.blocks, qm.ring_zero, strict=True)]
    s_f, z_f = qm.scales["features"]
    return {"format": FORMAT, "model": cfg.name, "conv": cfg.conv, "residual": cfg.residual,
            "gated": cfg.gated, "blocks": blocks, "features": {"scale": s_f, "zero_point": z_f},
            "inputs": ["features"] + [f"b{b.index}.history" for b in qm.blocks],
            "outputs": (["gains"] + [f"b{b.index}.history" for b in qm.blocks]
                        + [f"b{b.index}.mask" for b in qm.blocks if b.gated])}


def export(qm: DyncpQuant) -> bytes:
    """The .tflite of one frame of the network (see the module doc). ConfigError when the quantised
    model's parameters are not ones TFLM's Prepare computes from float32 scales (a damaged or
    hand-edited int8.npz)."""
    try:
        return _export(qm)
    except ConfigError as e:
        raise ConfigError(f"{qm.config.name} cannot be exported for TFLM: {e}. Its int8.npz is not what the "
                          "quantiser writes (damaged or edited?): quantise the model again "
                          "(`bench quantize MODEL_DIR --calib SET`)") from e


def _export(qm: DyncpQuant) -> bytes:
    cfg, sc = qm.config, qm.scales
    g = Graph(description=json.dumps(description(qm), sort_keys=True))
    feat = g.input((1, N_BINS), "int8", *sc["features"], name="features")
    hists = [g.input((1, 2 * b.dilation, 1, cfg.conv), "int8", *sc[f"b{b.index}.h"], name=f"b{b.index}.history")
             for b in qm.blocks]
    x = _fc(g, "frontend", feat, qm.frontend, sc["x0"])
    new_hists: list[T] = []
    masks: list[T] = []
    for b, hist in zip(qm.blocks, hists, strict=True):
        x, nh, m = _block(g, qm, b, x, hist)
        new_hists.append(nh)
        if m is not None:
            masks.append(m)
    k = qm.backend
    _check_offsets("backend", k, x.zero_point, 0)
    x16 = g.quantize(x, "int16", float(x.scale), 0)
    pre = g.fully_connected(x16, k.w, k.b, weight_scales("backend", k, float(x.scale), Q_PRE), Q_PRE, 0)
    g.output(g.logistic(pre, S_GAIN), *new_hists, *masks)
    return g.build()


def describe(tflite: bytes) -> dict[str, Any]:
    """The export's JSON description (refuses a .tflite that is not a Conv-FSENet export of ours)."""
    return read_description(tflite, FORMAT, "a Conv-FSENet")


class TflmDyncpNet:
    """An exported Conv-FSENet in TFLM's interpreter, with IntNet's frame()/reset() interface:
    it keeps the depthwise histories between frames (``intnet.enhance(qm, x, net=...)``)."""

    def __init__(self, qm: DyncpQuant, tflite: bytes) -> None:
        self.doc = describe(tflite)
        if self.doc["model"] != qm.config.name:
            raise ConfigError(f"the .tflite is {self.doc['model']}, the model {qm.config.name}")
        self.qm = qm
        self.it = Interpreter(tflite)
        self.reset()

    def reset(self) -> None:
        c = self.qm.config.conv
        self.history = [np.full((1, bl["history"], 1, c), bl["ring_zero"], np.int8) for bl in self.doc["blocks"]]

    def frame(self, feat: np.ndarray) -> IntFrame:
        nb = len(self.history)
        outs = self.it([np.asarray(feat, np.int8).reshape(1, -1), *self.history])
        self.history = [o.astype(np.int8) for o in outs[1 : 1 + nb]]
        masks = tuple(np.asarray(m, bool).reshape(-1) for m in outs[1 + nb :])
        it = iter(masks)
        c = self.qm.config.conv
        kept = tuple(int(next(it).sum()) if bl["gated"] else c for bl in self.doc["blocks"])
        return IntFrame(outs[0].reshape(-1).astype(np.int16), masks, kept, self.qm.config.macs(kept))


def enhance_tflm(qm: DyncpQuant, tflite: bytes, noisy: np.ndarray, extra_hops: int = 1) -> IntOut:
    """The golden model's front and back end around TFLM running the exported network."""
    return enhance(qm, noisy, extra_hops, net=TflmDyncpNet(qm, tflite))  # type: ignore[arg-type]


def state_shapes(tflite: bytes) -> Sequence[tuple[int, ...]]:
    """Shapes of the history inputs, in input order."""
    doc = describe(tflite)
    return [(1, bl["history"], 1, int(doc["conv"])) for bl in doc["blocks"]]




def tflm_reference(noisy: np.ndarray, config: Mapping[str, int], tflite_path: Path) -> np.ndarray:
    """The runner's integer reference for a dyncp image whose manifest names a .tflite: the
    exported network in TFLM between the golden front and back end (the images take no options)."""
    from bench.models.dyncp.refs import model_dir, quant_model

    if config:
        raise ConfigError(f"dyncp images take no options (got {', '.join(config)})")
    data = Path(tflite_path).read_bytes()
    doc = describe(data)
    qm = quant_model(model_dir(f"models/dyncp/{doc['model']}"))  # cached: called per utterance
    return enhance_tflm(qm, data, np.asarray(noisy, np.int16)).audio


__all__ = ["FORMAT", "TflmDyncpNet", "describe", "enhance_tflm", "export", "state_shapes", "tflm_reference"]
