"""Whole-model int8 quantizer of early-exit nsNet2 (post-training, calibrated).

* Weights: per-output-channel symmetric int8 (``int8ops.quantize_per_channel``); biases int32
  at ``s_in * s_w[c]``; requantisation multipliers as TFLM's Prepare computes them.
* Activations: int8 asymmetric, (scale, zero point) from the min / max of the float model's
  activations on a calibration split (``bench data make --split train ...``; the float model
  evaluates every layer of every exit on every frame there). ReLU is fused into the output
  clamp (``act_min = zero point``).
* The input features: the per-bin normalisation and the int8 input quantisation are folded
  into one float32 affine map of ``log2(P)`` per bin (``feat_a``, ``feat_b``, see golden.py).
* GRUs: ``gru_int.quantize_gru`` (default GruBits: int8 weights, int16 Q0.15 state, Q3.12
  pre-activations) with the input's quantisation given; the state is requantised to int8
  (TFLM QUANTIZE int16 -> int8) at a calibrated scale for the next layer.
* Heads and fc4: int8 FC -> int16 Q3.12, then the int16 LOGISTIC -> Q0.15 mask.

The result is a :class:`QuantModel`, saved as ``int8.npz`` (integer arrays, float32 feature
maps, and a JSON string ``meta``; no pickle). Command line (writes the committed file)::

    bench quantize models/nsnet2/nsnet2-small --calib build/nsnet2/calib-seed2-n24
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import ConfigError
from bench.models.common import int8ops as q8
from bench.models.common import weightsio
from bench.models.common.gru_int import GruBits, GruQuant, quantize_gru
from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import BLOCKS, LayerSpec, Nsnet2Config
from bench.models.nsnet2.reference import Nsnet2Model, _fc, gru_cell

F32 = np.float32
QUANT_FILE = weightsio.QUANT_FILE
FORMAT = "bench-nsnet2-int8/1"
Q_PRE = 2.0**-12
LOG10_2 = 0.30102999566398119521


@dataclass(frozen=True, eq=False)
class QuantLayer:
    """One quantised layer. kind: 'fc' (int8 out, fused ReLU), 'head' (sigmoid mask), 'gru'."""

    name: str
    kind: str
    n_in: int
    n_out: int
    macs: int
    in_scale: float
    in_zero_point: int
    out_scale: float  # int8 output (fc, gru); 2^-15 for heads (the mask)
    out_zero_point: int
    w: np.ndarray = field(repr=False)  # fc/head: (n_out, n_in) int8; gru: empty
    b: np.ndarray = field(repr=False)  # int32
    mult: np.ndarray = field(repr=False)  # int32 per channel
    shift: np.ndarray = field(repr=False)
    act_min: int = -128
    act_max: int = 127
    gru: GruQuant | None = field(default=None, repr=False)
    rq_mult: int = 0  # gru: h (Q0.15) -> int8
    rq_shift: int = 0

    @property
    def in_offset(self) -> int:
        return -int(self.in_zero_point)

    @property
    def out_offset(self) -> int:
        return int(self.out_zero_point)

    @property
    def weight_bytes(self) -> int:
        if self.gru is not None:
            return int(self.gru.w_ih.size + self.gru.w_hh.size + 4 * (self.gru.b_ih.size + self.gru.b_hh.size))
        return int(self.w.size + 4 * self.b.size)


@dataclass(frozen=True, eq=False)
class QuantModel:
    config: Nsnet2Config
    layers: Mapping[str, QuantLayer]
    feat_scale: float
    feat_zero_point: int
    feat_a: np.ndarray  # (161,) float32: v = log2(P) * a + b -> int8 feature
    feat_b: np.ndarray
    meta: Mapping[str, object] = field(default_factory=dict)

    def weight_bytes(self) -> int:
        return sum(L.weight_bytes for L in self.layers.values())

    # ---- (de)serialisation ----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        arrays: dict[str, np.ndarray] = {"feat_a": np.asarray(self.feat_a, F32), "feat_b": np.asarray(self.feat_b, F32)}
        layers_meta = {}
        for n, L in self.layers.items():
            layers_meta[n] = {k: getattr(L, k) for k in ("kind", "n_in", "n_out", "macs", "in_scale", "in_zero_point",
                                                          "out_scale", "out_zero_point", "act_min", "act_max",
                                                          "rq_mult", "rq_shift")}
            if L.gru is not None:
                for k, v in L.gru.c_arrays().items():
                    arrays[f"{n}/gru.{k}"] = v
                arrays[f"{n}/gru.s_wih"] = L.gru.s_wih
                arrays[f"{n}/gru.s_whh"] = L.gru.s_whh
            else:
                for k in ("w", "b", "mult", "shift"):
                    arrays[f"{n}/{k}"] = getattr(L, k)
        meta = {"format": FORMAT, "config": self.config.to_dict(), "feat_scale": self.feat_scale,
                "feat_zero_point": self.feat_zero_point, "layers": layers_meta, "info": dict(self.meta)}
        return weightsio.save_quant(path, arrays, meta)

    @classmethod
    def load(cls, path: str | Path) -> QuantModel:
        p, arr, meta = weightsio.load_quant(path, FORMAT)
        cfg = Nsnet2Config.from_dict(meta["config"])
        layers: dict[str, QuantLayer] = {}
        for n, lm in meta["layers"].items():
            kw = dict(lm)
            if kw["kind"] == "gru":
                g = {k.split("gru.", 1)[1]: arr[k] for k in arr if k.startswith(f"{n}/gru.")}
                gq = GruQuant(kw["n_in"], kw["n_out"], float(np.float32(kw["in_scale"])), int(kw["in_zero_point"]),
                              g["w_ih"], g["w_hh"], g["b_ih"], g["b_hh"], g["mult_ih"], g["shift_ih"],
                              g["mult_hh"], g["shift_hh"], g["s_wih"], g["s_whh"], GruBits())
                e8, e32 = np.zeros((0,), np.int8), np.zeros((0,), np.int32)
                layers[n] = QuantLayer(name=n, w=e8, b=e32, mult=e32, shift=e32, gru=gq, **kw)
            else:
                layers[n] = QuantLayer(name=n, w=arr[f"{n}/w"], b=arr[f"{n}/b"], mult=arr[f"{n}/mult"],
                                       shift=arr[f"{n}/shift"], **kw)
        return cls(cfg, layers, float(meta["feat_scale"]), int(meta["feat_zero_point"]),
                   arr["feat_a"].astype(F32), arr["feat_b"].astype(F32), meta.get("info", {}))


# ---- graph wiring -------------------------------------------------------------------------


def all_layers(cfg: Nsnet2Config) -> list[LayerSpec]:
    out = list(cfg.trunk())
    for e in cfg.exit_specs():
        out += [x for x in (e.branch, e.head) if x is not None]
    return out


def layer_inputs(cfg: Nsnet2Config) -> dict[str, str]:
    """Layer name -> the tensor it reads ('input' or a layer name)."""
    trunk = cfg.trunk()
    src: dict[str, str] = {}
    for i, L in enumerate(trunk):
        src[L.name] = "input" if i == 0 else trunk[i - 1].name
    for e in cfg.exit_specs():
        i = BLOCKS.index(e.after)
        if cfg.exit_kind == "split":
            assert e.branch is not None
            src[e.branch.name] = src[trunk[i].name]
            src[e.head.name] = e.branch.name
        elif e.branch is not None:
            src[e.branch.name] = trunk[i].name
            src[e.head.name] = e.branch.name
        else:
            src[e.head.name] = trunk[i].name
    return src


def float_activations(model: Nsnet2Model, utterances: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of the float model (all layers, every frame) over the utterances, concatenated."""
    cfg, p = model.config, model.params
    src = layer_inputs(cfg)
    order = all_layers(cfg)
    acc: dict[str, list[np.ndarray]] = {"input": []}
    for x in utterances:
        spec = frontend.stft(np.asarray(x, np.int16).astype(F32) / F32(32768))
        t: dict[str, np.ndarray] = {"input": model.normalise(frontend.log_power(spec, cfg.log_eps))}
        pending = list(order)
        while pending:
            for L in list(pending):
                if src[L.name] not in t:
                    continue
                a = t[src[L.name]]
                if L.kind == "fc":
                    t[L.name] = _fc(p, L, a)
                else:
                    h = np.zeros(L.n_out, F32)
                    out = np.empty((a.shape[0], L.n_out), F32)
                    for i in range(a.shape[0]):
                        h = gru_cell(p, L.name, a[i], h)
                        out[i] = h
                    t[L.name] = out
                pending.remove(L)
        for k, v in t.items():
            acc.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in acc.items()}


def quantize_model(model: Nsnet2Model, calib: Iterable[np.ndarray], info: Mapping[str, object] | None = None
                   ) -> QuantModel:
    """Quantise every layer of ``model`` with activation ranges from the calibration audio."""
    cfg, p = model.config, model.params
    calib = list(calib)
    acts = float_activations(model, calib) if calib else None
    if acts is None or acts["input"].shape[0] == 0:
        raise ConfigError("quantize_model: the calibration set holds no frames; give --calib a set with audio "
                          "(`bench data make --split train --out DIR`)")
    qp: dict[str, tuple[float, int]] = {
        name: q8.choose_qparams(float(a.min()), float(a.max()), np.int8) for name, a in acts.items()
    }
    src = layer_inputs(cfg)
    layers: dict[str, QuantLayer] = {}
    for L in all_layers(cfg):
        s_in, z_in = qp[src[L.name]]
        s_in = float(F32(s_in))
        if L.kind == "gru":
            g = quantize_gru(p[f"{L.name}.weight_ih_l0"], p[f"{L.name}.weight_hh_l0"], p[f"{L.name}.bias_ih_l0"],
                             p[f"{L.name}.bias_hh_l0"], x_scale=s_in, x_zero_point=z_in)
            s_out, z_out = qp[L.name]
            rm, rs = q8.quantize_multiplier(2.0**-15 / float(F32(s_out)))
            e8, e32 = np.zeros((0,), np.int8), np.zeros((0,), np.int32)
            layers[L.name] = QuantLayer(L.name, "gru", L.n_in, L.n_out, L.macs, s_in, z_in, float(F32(s_out)), z_out,
                                        e8, e32, e32, e32, gru=g, rq_mult=rm, rq_shift=rs)
            continue
        w, s_w = q8.quantize_per_channel(p[f"{L.name}.weight"], 8)
        b = q8.quantize_bias(p[f"{L.name}.bias"], s_in * s_w.astype(np.float64))
        if L.act == "sigmoid":
            mult, shift = q8.fc_multipliers(s_in, s_w, Q_PRE)
            layers[L.name] = QuantLayer(L.name, "head", L.n_in, L.n_out, L.macs, s_in, z_in, 2.0**-15, 0,
                                        w, b, mult, shift, -32768, 32767)
        else:
            s_out, z_out = qp[L.name]
            mult, shift = q8.fc_multipliers(s_in, s_w, s_out)
            act_min = max(-128, z_out) if L.act == "relu" else -128
            layers[L.name] = QuantLayer(L.name, "fc", L.n_in, L.n_out, L.macs, s_in, z_in, float(F32(s_out)), z_out,
                                        w, b, mult, shift, act_min, 127)
    fs, fz = qp["input"]
    fs = float(F32(fs))
    # feature q = ((log10(2) (L - 30) - mean) / std) / s + z, L = log2(P) in int16 units
    std = model.norm_std.astype(np.float64)
    mean = model.norm_mean.astype(np.float64)
    feat_a = (LOG10_2 / (std * fs)).astype(F32)
    feat_b = (fz - (30.0 * LOG10_2 + mean) / (std * fs)).astype(F32)
    ranges = {k: [float(v.min()), float(v.max())] for k, v in acts.items()}
    doc: dict[str, object] = {"calibration_frames": int(acts["input"].shape[0]), "ranges": ranges}
    doc.update(info or {})
    return QuantModel(cfg, layers, fs, fz, feat_a, feat_b, doc)
