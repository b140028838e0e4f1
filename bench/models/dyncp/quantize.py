"""Whole-network int8 quantizer of (DynCP) Conv-FSENet (post-training, calibrated).

Every operator is a TFLite-Micro int8 operator (bench.models.common.int8ops), so the integer golden
model (bench.models.dyncp.intnet) and an exported .tflite agree by construction:

* **features**: ``f = |X|^c`` quantised to int8 with zero point -128 (``f >= 0``) by a table
  of 255 float32 thresholds on the power ``P = Xr^2 + Xi^2`` (int16 units): ``q = -128 +
  #{j : P >= T_j}``, ``T_j = 2^30 ((j + 1/2) s_f)^(2/c)`` (round half up of ``f / s_f``; no
  log / pow on target, the same table on both sides).
* **weights** per output channel symmetric int8, biases int32 at ``s_in s_w[c]``; the norms'
  positive scales folded into pw1's rows and the depthwise channels (``gamma PReLU(v) =
  PReLU(gamma v)``); a non-positive norm scale is refused.
* **activations** int8 asymmetric, (scale, zero point) from the calibration split's range
  (quantiles ``1e-4 .. 1 - 1e-4`` of the kept entries, 0 always representable). ReLU fused.
* **PReLU + norm bias** (``p = PReLU(v); h = p + beta``): TFLM PRELU (alpha int8 per tensor)
  with its output at h's scale, then ADD of the constant ``beta`` at the same scale, which is
  an exact integer add (``clamp(p + round(beta / s_h))``, tested against TFLM's ADD).
* **gate**: hidden FC with ReLU; the output FC's scale is ``min_c s_in s_w[c]`` with zero
  point 0, so every per-channel multiplier is >= 1 and ``out_c > 0`` iff the accumulator is
  positive: channel c is kept iff ``out_c > 0``. (The TFLM export, bench.tflm.dyncp, gives the
  gate output the scale 1/4 instead, because TFLM's int8 GREATER rescales its inputs and would
  round an output of 1 at this tiny scale to 0; its multipliers stay >= 1/2, so the decision,
  the sign of the accumulator, is the same and the masks are identical.)
* **residual**: pw2's int8 output added to the block input by TFLM ADD (general scales).
* **back end**: int8 FC -> int16 Q3.12, int16 LOGISTIC -> Q0.15 gain (as nsNet2's heads).

Saved as ``int8.npz`` beside the float weights: integer arrays, float32 thresholds and a JSON
``meta``, no pickle. Command (writes the committed file)::

    bench quantize models/dyncp/dyncp-small-r25 --calib build/nsnet2/calib-seed2-n24
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.data.audio import to_float
from bench.errors import ConfigError
from bench.models.common import int8ops as q8
from bench.models.common import weightsio
from bench.models.dyncp import frontend
from bench.models.dyncp.config import DyncpConfig
from bench.models.dyncp.reference import DyncpModel, DyncpNet, _prelu

F32 = np.float32
QUANT_FILE = weightsio.QUANT_FILE
FORMAT = "bench-dyncp-int8/1"
Q_PRE = 2.0**-12  # back end pre-activation, Q3.12
QUANTILE = 1e-4


@dataclass(frozen=True, eq=False)
class QFc:
    """An int8 fully connected layer (1x1 conv): out = clamp(MBQM(W (x + in_offset) + b) + out_offset)."""

    w: np.ndarray = field(repr=False)  # (out, in) int8; depthwise: (3, C)
    b: np.ndarray = field(repr=False)  # (out,) int32
    mult: np.ndarray = field(repr=False)  # (out,) int32
    shift: np.ndarray = field(repr=False)  # (out,) int32
    in_offset: int
    out_offset: int
    act_min: int = -128
    act_max: int = 127


@dataclass(frozen=True, eq=False)
class QAct:
    """TFLM PRELU (alpha per channel, int8 per tensor) then the exact add of the norm bias beta."""

    alpha: np.ndarray = field(repr=False)  # (C,) int8, zero point 0
    beta: np.ndarray = field(repr=False)  # (C,) int8 at the output scale, zero point 0
    in_offset: int
    out_offset: int
    mult_pos: int
    shift_pos: int
    mult_neg: int
    shift_neg: int


@dataclass(frozen=True, eq=False)
class QBlock:
    index: int
    dilation: int
    gated: bool
    gate_hidden: QFc | None
    gate_out: QFc | None
    pw1: QFc
    act1: QAct
    dw: QFc
    act2: QAct
    pw2: QFc
    add: q8.AddParams


@dataclass(frozen=True, eq=False)
class DyncpQuant:
    """A quantised Conv-FSENet: feature thresholds, front end, blocks, back end, scales."""

    config: DyncpConfig
    thresholds: np.ndarray = field(repr=False)  # (255,) float32 ascending
    frontend: QFc
    blocks: tuple[QBlock, ...]
    backend: QFc  # int8 -> int16 Q3.12 (act_min/max int16)
    scales: Mapping[str, tuple[float, int]] = field(repr=False)
    meta: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def ring_zero(self) -> tuple[int, ...]:
        """Per block the int8 value of real zero in h (what a skipped channel leaves in the ring)."""
        return tuple(-b.dw.in_offset for b in self.blocks)

    def weight_bytes(self) -> int:
        """Bytes of integer weights, biases and requantisation parameters."""
        n = 0
        for q in self._layers():
            n += q.w.size + 4 * (q.b.size + q.mult.size + q.shift.size)
        for b in self.blocks:
            n += 2 * b.act1.alpha.size + 2 * b.act2.alpha.size
        return n + 4 * self.thresholds.size

    def _layers(self) -> list[QFc]:
        out = [self.frontend, self.backend]
        for b in self.blocks:
            out += [b.pw1, b.dw, b.pw2] + [g for g in (b.gate_hidden, b.gate_out) if g is not None]
        return out

    # ---- (de)serialisation --------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        arrays: dict[str, np.ndarray] = {"thresholds": np.asarray(self.thresholds, F32)}
        meta_layers: dict[str, dict[str, int]] = {}

        def put(name: str, obj: QFc | QAct | None) -> None:
            if obj is None:
                return
            scalars = {}
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                if isinstance(v, np.ndarray):
                    arrays[f"{name}.{f.name}"] = v
                else:
                    scalars[f.name] = int(v)
            meta_layers[name] = scalars

        put("frontend", self.frontend)
        put("backend", self.backend)
        adds = {}
        for b in self.blocks:
            for k in ("gate_hidden", "gate_out", "pw1", "act1", "dw", "act2", "pw2"):
                put(f"blocks.{b.index}.{k}", getattr(b, k))
            adds[str(b.index)] = dataclasses.asdict(b.add)
        meta = {"format": FORMAT, "config": self.config.to_dict(), "layers": meta_layers, "adds": adds,
                "scales": {k: [float(s), int(z)] for k, (s, z) in self.scales.items()}, "info": dict(self.meta)}
        return weightsio.save_quant(path, arrays, meta)

    @classmethod
    def load(cls, path: str | Path) -> DyncpQuant:
        p, arr, meta = weightsio.load_quant(path, FORMAT)
        cfg = DyncpConfig.from_dict(meta["config"])
        layers = meta["layers"]

        def get(name: str, kind: type) -> QFc | QAct | None:
            if name not in layers:
                return None
            kw: dict[str, object] = dict(layers[name])
            for f in dataclasses.fields(kind):
                if f.name not in kw:
                    kw[f.name] = arr[f"{name}.{f.name}"]
            return kind(**kw)

        blocks = []
        for spec in cfg.blocks():
            q = f"blocks.{spec.index}"
            blocks.append(QBlock(spec.index, spec.dilation, spec.gated, get(f"{q}.gate_hidden", QFc),  # type: ignore[arg-type]
                                 get(f"{q}.gate_out", QFc), get(f"{q}.pw1", QFc), get(f"{q}.act1", QAct),  # type: ignore[arg-type]
                                 get(f"{q}.dw", QFc), get(f"{q}.act2", QAct), get(f"{q}.pw2", QFc),  # type: ignore[arg-type]
                                 q8.AddParams(**meta["adds"][str(spec.index)])))
        scales = {k: (float(v[0]), int(v[1])) for k, v in meta["scales"].items()}
        return cls(cfg, arr["thresholds"].astype(F32), get("frontend", QFc), tuple(blocks),  # type: ignore[arg-type]
                   get("backend", QFc), scales, meta.get("info", {}))  # type: ignore[arg-type]


# ---- calibration -----------------------------------------------------------------------------


def float_activations(model: DyncpModel, utterances: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor the integer model quantises, over all frames of the calibration audio, from
    the float reference with the norm scales folded (kept entries only where a mask applies)."""
    net = DyncpNet(model)
    cfg = model.config
    acc: dict[str, list[np.ndarray]] = {}

    def add(name: str, v: np.ndarray) -> None:
        acc.setdefault(name, []).append(np.asarray(v, F32).reshape(-1))

    for audio in utterances:
        sig = frontend.pad_hops(to_float(audio).astype(F32), extra=1)
        feat = frontend.features(frontend.stft(sig), cfg.compress)
        add("features", feat)
        x = np.maximum((feat @ net.fw.T + net.fb).astype(F32), F32(0))
        add("x0", x)
        t = feat.shape[0]
        for bp in net.blocks:
            spec, i = bp.spec, bp.spec.index
            if spec.gated:
                assert bp.go is not None
                hid = x
                if bp.gh is not None:
                    hid = np.maximum((x @ bp.gh[0].T + bp.gh[1]).astype(F32), F32(0))
                    add(f"b{i}.gate_hidden", hid)
                m = (hid @ bp.go[0].T + bp.go[1]) > 0
            else:
                m = np.ones((t, spec.conv), bool)
            v1 = ((x @ bp.w1.T + bp.b1) * bp.n1w).astype(F32)
            add(f"b{i}.v1", v1[m])
            h = np.where(m, _prelu(v1, bp.a1) + bp.n1b, F32(0)).astype(F32)
            add(f"b{i}.h", h[m])
            d = spec.dilation
            hp = np.concatenate([np.zeros((2 * d, spec.conv), F32), h])
            y = ((bp.dw[:, 0] * hp[:t] + bp.dw[:, 1] * hp[d : d + t] + bp.dw[:, 2] * h + bp.dwb) * bp.n2w).astype(F32)
            add(f"b{i}.y", y[m])
            z = np.where(m, _prelu(y, bp.a2) + bp.n2b, F32(0)).astype(F32)
            add(f"b{i}.z", z[m])
            u = (z @ bp.w2.T + bp.b2).astype(F32)
            add(f"b{i}.u", u)
            x = (x + u).astype(F32)
            add(f"b{i}.x", x)
    return {k: np.concatenate(v) for k, v in acc.items()}


def _range(v: np.ndarray) -> tuple[float, float]:
    if v.size == 0:
        return 0.0, 1e-3
    lo, hi = np.quantile(v.astype(np.float64), [QUANTILE, 1.0 - QUANTILE])
    return min(float(lo), 0.0), max(float(hi), 0.0)


def _qp(v: np.ndarray, nonneg: bool = False) -> tuple[float, int]:
    lo, hi = _range(v)
    s, z = q8.choose_qparams(0.0 if nonneg else lo, hi, np.int8)
    return float(F32(s)), int(z)


def _fc(w: np.ndarray, b: np.ndarray, s_in: float, z_in: int, s_out: float, z_out: int,
        relu: bool = False) -> QFc:
    wq, s_w = q8.quantize_per_channel(np.asarray(w, F32), 8)
    bq = q8.quantize_bias(b, s_in * s_w.astype(np.float64))
    mult, shift = q8.fc_multipliers(s_in, s_w, s_out)
    return QFc(wq, bq, mult, shift, -z_in, z_out, max(-128, z_out) if relu else -128, 127)


def _act(alpha: np.ndarray, beta: np.ndarray, s_in: float, z_in: int, s_out: float, z_out: int) -> QAct:
    a = np.asarray(alpha, np.float64)
    s_a = float(F32(max(float(np.abs(a).max()), 1e-8) / 127.0))
    aq = np.clip(np.round(a / s_a), -127, 127).astype(np.int8)
    bq = np.clip(np.round(np.asarray(beta, np.float64) / s_out), -128, 127).astype(np.int8)
    m1, sh1 = q8.quantize_multiplier(s_in / s_out)
    m2, sh2 = q8.quantize_multiplier(s_in * s_a / s_out)
    return QAct(aq, bq, -z_in, z_out, m1, sh1, m2, sh2)


def _gate_out(w: np.ndarray, b: np.ndarray, s_in: float, z_in: int) -> QFc:
    """Output scale min_c s_in s_w[c], zero point 0: multipliers >= 1, so sign(out) = sign(acc)."""
    wq, s_w = q8.quantize_per_channel(np.asarray(w, F32), 8)
    bq = q8.quantize_bias(b, s_in * s_w.astype(np.float64))
    s_out = float(F32(s_in * float(s_w.min())))
    mult, shift = q8.fc_multipliers(s_in, s_w, s_out * (1.0 - 1e-6))
    worst = int(np.abs(bq).max()) + int(np.abs(wq.astype(np.int64)).sum(axis=1).max()) * 256
    if worst >= 2**29:
        raise ConfigError(f"gate accumulator bound {worst} would overflow the x2 requantisation")
    return QFc(wq, bq, mult, shift, -z_in, 0)


def feature_thresholds(s_f: float, compress: float) -> np.ndarray:
    """The 255 float32 power thresholds of the int8 features (int16 units, see module doc)."""
    j = np.arange(255, dtype=np.float64)
    t = 2.0**30 * ((j + 0.5) * s_f) ** (2.0 / compress)
    out = t.astype(F32)
    if not np.all(np.diff(out) > 0):
        raise ConfigError(f"feature thresholds are not strictly increasing in float32 (feature scale {s_f:g}, "
                          f"compress {compress:g}): calibrate with audio of normal level (the calibration set "
                          "is silent or nearly so?)")
    return out


def quantize_model(model: DyncpModel, calib: Iterable[np.ndarray], info: Mapping[str, object] | None = None
                   ) -> DyncpQuant:
    """Quantise every layer of ``model`` with activation ranges from the calibration audio."""
    cfg, p = model.config, model.params
    if cfg.act != "prelu":
        raise ConfigError(f"{cfg.name}: the integer model supports act 'prelu' only, not {cfg.act!r}; train the "
                          "model with act = \"prelu\" to run it on a device")
    acts = float_activations(model, calib)
    if "features" not in acts or acts["features"].size == 0:  # no utterance at all
        raise ConfigError("quantize_model: the calibration set holds no frames; give --calib a set with audio "
                          "(`bench data make --split train --out DIR`)")
    net = DyncpNet(model)
    sc: dict[str, tuple[float, int]] = {"features": _qp(acts["features"], nonneg=True)}
    s_f = sc["features"][0]
    sc["features"] = (s_f, -128)
    sc["x0"] = _qp(acts["x0"], nonneg=True)
    front = _fc(p["frontend.weight"][:, :, 0], p["frontend.bias"], *sc["features"], *sc["x0"], relu=True)
    blocks = []
    x_q = sc["x0"]
    for bp in net.blocks:
        spec, i = bp.spec, bp.spec.index
        for name, w in (("norm1", bp.n1w), ("norm2", bp.n2w)):
            if not np.all(w > 0):
                raise ConfigError(f"{cfg.name} block {i}: {name} has non-positive scales; cannot fold them into the "
                                  "convolution: retrain (or fine-tune) the model so that its norm weights stay "
                                  "positive")
        gh = go = None
        if spec.gated:
            assert bp.go is not None
            g_in = x_q
            if bp.gh is not None:
                sc[f"b{i}.gate_hidden"] = _qp(acts[f"b{i}.gate_hidden"], nonneg=True)
                gh = _fc(bp.gh[0], bp.gh[1], *x_q, *sc[f"b{i}.gate_hidden"], relu=True)
                g_in = sc[f"b{i}.gate_hidden"]
            go = _gate_out(bp.go[0], bp.go[1], *g_in)
        for k in ("v1", "h", "y", "z", "u", "x"):
            sc[f"b{i}.{k}"] = _qp(acts[f"b{i}.{k}"])
        pw1 = _fc(bp.w1 * bp.n1w[:, None], bp.b1 * bp.n1w, *x_q, *sc[f"b{i}.v1"])
        act1 = _act(bp.a1, bp.n1b, *sc[f"b{i}.v1"], *sc[f"b{i}.h"])
        dw = _dw(bp.dw * bp.n2w[:, None], bp.dwb * bp.n2w, *sc[f"b{i}.h"], *sc[f"b{i}.y"])
        act2 = _act(bp.a2, bp.n2b, *sc[f"b{i}.y"], *sc[f"b{i}.z"])
        pw2 = _fc(bp.w2, bp.b2, *sc[f"b{i}.z"], *sc[f"b{i}.u"])
        add = q8.add_params(*x_q, *sc[f"b{i}.u"], *sc[f"b{i}.x"], dtype=np.int8)
        blocks.append(QBlock(i, spec.dilation, spec.gated, gh, go, pw1, act1, dw, act2, pw2, add))
        x_q = sc[f"b{i}.x"]
    wq, s_w = q8.quantize_per_channel(p["backend.weight"][:, :, 0], 8)
    bq = q8.quantize_bias(p["backend.bias"], x_q[0] * s_w.astype(np.float64))
    mult, shift = q8.fc_multipliers(x_q[0], s_w, Q_PRE)
    back = QFc(wq, bq, mult, shift, -x_q[1], 0, -32768, 32767)
    doc: dict[str, object] = {"calibration_frames": int(acts["features"].size // cfg.n_bins),
                              "quantile": QUANTILE}
    doc.update(info or {})
    return DyncpQuant(cfg, feature_thresholds(s_f, cfg.compress), front, tuple(blocks), back, sc, doc)


def _dw(w: np.ndarray, b: np.ndarray, s_in: float, z_in: int, s_out: float, z_out: int) -> QFc:
    """Depthwise k=3: per-channel int8 weights stored tap-major (3, C) (TFLM channel-last)."""
    q = _fc(w, b, s_in, z_in, s_out, z_out)  # w (C, 3): one output channel per row
    return dataclasses.replace(q, w=np.ascontiguousarray(q.w.T))


__all__ = ["DyncpQuant", "QAct", "QBlock", "QFc", "feature_thresholds", "quantize_model"]
