"""A GRU classifier per task (GRU(I -> H) + linear head H -> C), its float reference, and its
integer model for any genome (bench.models.common.gru_int: the GRU at the genome's widths; the
head is TFLM's 16x8 FULLY_CONNECTED with int8 per-channel weights on the int16 state, int16 logits).

Files (models/mpgru/<name>/): config.json ({"model": MpgruConfig}) and weights.npz (float32, PyTorch
names: weight_ih, weight_hh, bias_ih, bias_hh, head_weight, head_bias; no pickle)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.errors import ConfigError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8
from bench.models.common.weightsio import check_params, load_weights, require_files, save_model
from bench.models.mpgru.tasks import Split, task_spec
from bench.paths import repo_root

Q_STATE = 2.0 ** -15


@dataclass(frozen=True)
class MpgruConfig:
    name: str
    task: str
    input_size: int
    hidden: int
    n_classes: int
    level: str
    x_min: float = 0.0        # input quantisation range (train features), int8 asymmetric
    x_max: float = 1.0
    logit_scale: float = 1e-3  # scale of the int16 logits
    feat_mean: tuple[float, ...] = ()  # per-feature normalisation of the task's features (host side)
    feat_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        spec = task_spec(self.task)
        if (self.input_size, self.n_classes, self.level) != (spec.input_size, spec.n_classes, spec.level):
            raise ConfigError(f"mpgru model {self.name}: input {self.input_size}, classes {self.n_classes}, level "
                              f"{self.level} do not fit task {self.task} ({spec.input_size}, {spec.n_classes}, "
                              f"{spec.level})")
        if not 1 <= self.hidden <= 256:
            raise ConfigError(f"mpgru model {self.name}: hidden {self.hidden} must be 1..256")
        if not self.x_max > self.x_min or not self.logit_scale > 0:
            raise ConfigError(f"mpgru model {self.name}: bad input range or logit scale")
        if self.feat_mean and (len(self.feat_mean) != self.input_size or len(self.feat_std) != self.input_size
                               or min(self.feat_std) <= 0):
            raise ConfigError(f"mpgru model {self.name}: feat_mean / feat_std need {self.input_size} entries, std > 0")

    def normalize(self, xs: np.ndarray) -> np.ndarray:
        x = np.asarray(xs, np.float64)
        if not self.feat_mean:
            return x
        return (x - np.asarray(self.feat_mean)) / np.asarray(self.feat_std)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        h, i, c = self.hidden, self.input_size, self.n_classes
        return {"weight_ih": (3 * h, i), "weight_hh": (3 * h, h), "bias_ih": (3 * h,), "bias_hh": (3 * h,),
                "head_weight": (c, h), "head_bias": (c,)}

    @classmethod
    def load(cls, path: Path) -> MpgruConfig:
        d = json.loads(Path(path).read_text())
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict) or d.get("family") != "mpgru":
            raise ConfigError(f"{path}: not an mpgru model config")
        m = dict(d["model"])
        for k in ("feat_mean", "feat_std"):
            m[k] = tuple(float(v) for v in m.get(k, ()))
        return cls(**m)


@dataclass(frozen=True, eq=False)
class MpgruModel:
    cfg: MpgruConfig
    params: dict[str, np.ndarray]
    path: Path | None = None

    def float_logits(self, xs: np.ndarray) -> np.ndarray:
        """Float reference of one sequence (T, I) -> logits (T, C), float64."""
        p = self.params
        xs = self.cfg.normalize(xs)
        hs = gi.gru_sequence_float(xs, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
        return hs @ np.asarray(p["head_weight"], np.float64).T + p["head_bias"]

    def float_batch(self, xs: np.ndarray) -> np.ndarray:
        """Batched float reference: raw features xs (N, T, I) -> logits (N, T, C)."""
        p = {k: np.asarray(v, np.float64) for k, v in self.params.items()}
        xs = self.cfg.normalize(xs)
        n, t, _ = xs.shape
        h = np.zeros((n, self.cfg.hidden))
        out = np.zeros((n, t, self.cfg.n_classes))
        for k in range(t):
            h = gi.gru_cell_float(xs[:, k], h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
            out[:, k] = h @ p["head_weight"].T + p["head_bias"]
        return out


def save_mpgru(d: Path, cfg: MpgruConfig, params: dict[str, np.ndarray], extra: dict | None = None) -> None:
    check_params(cfg.name, cfg.shapes(), params)
    save_model(d, asdict(cfg), params, {"family": "mpgru", **(extra or {})})


def model_dir(name_or_dir: str | Path) -> Path:
    p = Path(name_or_dir)
    if p.is_dir():
        return p
    q = repo_root() / "models" / "mpgru" / str(name_or_dir)
    if q.is_dir():
        return q
    raise ConfigError(f"no mpgru model {name_or_dir!r} (a folder or a name under models/mpgru/); "
                      "train one with `bench train mpgru --task TASK`")


@lru_cache(maxsize=8)
def _load(d: str) -> MpgruModel:
    path = Path(d)
    require_files(path, ("config.json", "weights.npz"), "mpgru")
    cfg = MpgruConfig.load(path / "config.json")
    params = load_weights(path / "weights.npz")
    check_params(cfg.name, cfg.shapes(), params)
    return MpgruModel(cfg, params, path)


def load_model(name_or_dir: str | Path) -> MpgruModel:
    return _load(str(model_dir(name_or_dir).resolve()))


# --------------------------------------------------------------------------------------------
# the integer model of a genome
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class QModel:
    cfg: MpgruConfig
    genome: gi.GruGenome
    gru: gi.GruQuant
    head_w: np.ndarray      # (C, H) int8
    head_b: np.ndarray      # (C,) int32 at 2^-15 s_w[c]
    head_mult: np.ndarray   # (C,) int32: 2^-15 s_w[c] / logit_scale
    head_shift: np.ndarray  # (C,)

    @property
    def x_scale(self) -> float:
        return self.gru.x_scale

    @property
    def x_zero_point(self) -> int:
        return self.gru.x_zero_point

    def quantize_input(self, xs: np.ndarray) -> np.ndarray:
        """Raw task features -> the int8 inputs of the GRU (normalised, then quantised)."""
        return q8.quantize(self.cfg.normalize(xs), self.gru.x_scale, self.gru.x_zero_point, np.int8)

    def head(self, h: np.ndarray) -> np.ndarray:
        return q8.fc_s16(h, self.head_w, self.head_b, self.head_mult, self.head_shift)

    def run(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Golden model over int8 inputs (N, T, I) (or one sequence (T, I)): states (N, T, H) int16
        and logits (N, T, C) int16, what the image computes frame by frame."""
        one = xq.ndim == 2
        x = np.asarray(xq, np.int8)[None] if one else np.asarray(xq, np.int8)
        n, t, _ = x.shape
        h = np.zeros((n, self.cfg.hidden), np.int16)
        hs = np.zeros((n, t, self.cfg.hidden), np.int16)
        logits = np.zeros((n, t, self.cfg.n_classes), np.int16)
        for k in range(t):
            h = gi.gru_cell_int(self.gru, x[:, k], h)
            hs[:, k] = h
            logits[:, k] = self.head(h)
        return (hs[0], logits[0]) if one else (hs, logits)

    def model_bits(self) -> int:
        return self.genome.model_bits(self.cfg.input_size, self.cfg.hidden)

    def table_bytes(self) -> int:
        return gi.mp_table_bytes(self.cfg.input_size, self.cfg.hidden, self.genome)


def quantize_model(m: MpgruModel, genome: gi.GruBits, kernels: bool = True) -> QModel:
    """The integer model at ``genome`` (refused, naming the operator, when the kernels cannot run it
    and ``kernels``; the golden model alone runs any GruGenome)."""
    cfg, p = m.cfg, m.params
    g = gi.check_genome(genome, cfg.input_size, cfg.hidden, kernels=kernels)
    xs, xz = q8.choose_qparams(cfg.x_min, cfg.x_max, np.int8)
    gru = gi.quantize_gru(p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], bits=g,
                          x_scale=xs, x_zero_point=xz)
    hw, s_w = q8.quantize_per_channel(p["head_weight"], 8)
    hb = q8.quantize_bias(p["head_bias"], Q_STATE * s_w.astype(np.float64))
    hm, hsft = q8.fc_multipliers(Q_STATE, s_w, cfg.logit_scale)
    return QModel(cfg, g, gru, hw, hb, hm, hsft)


# --------------------------------------------------------------------------------------------
# evaluation on a split
# --------------------------------------------------------------------------------------------

def pad_batch(xs: tuple[np.ndarray, ...] | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.array([len(x) for x in xs])
    out = np.zeros((len(xs), int(lens.max()), xs[0].shape[1]), np.asarray(xs[0]).dtype)
    for i, x in enumerate(xs):
        out[i, :len(x)] = x
    return out, lens


def predictions(logits: np.ndarray, lens: np.ndarray, level: str) -> list[np.ndarray | int]:
    if level == "frame":
        return [np.argmax(logits[i, :n], axis=-1) for i, n in enumerate(lens)]
    return [int(np.argmax(logits[i, n - 1])) for i, n in enumerate(lens)]


def error_rate(preds: list[np.ndarray | int], split: Split, level: str) -> float:
    if level == "frame":
        wrong = sum(int(np.sum(np.asarray(p) != np.asarray(y))) for p, y in zip(preds, split.ys, strict=True))
        total = sum(len(np.asarray(y)) for y in split.ys)
        return wrong / max(total, 1)
    return float(np.mean([int(p) != int(y) for p, y in zip(preds, split.ys, strict=True)]))


def float_error(m: MpgruModel, split: Split) -> float:
    x, lens = pad_batch(split.xs)
    return error_rate(predictions(m.float_batch(x), lens, m.cfg.level), split, m.cfg.level)


def int_error(qm: QModel, split: Split) -> float:
    """Task error of the integer (golden) model on ``split``: frames or utterances misclassified."""
    x, lens = pad_batch([qm.quantize_input(s) for s in split.xs])
    _, logits = qm.run(x)
    return error_rate(predictions(logits, lens, qm.cfg.level), split, qm.cfg.level)
