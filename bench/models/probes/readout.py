"""Probe read-out and scoring: the API the runner calls.

    out = run_probes(bits, probes)          # bits (T, n_bits) bool, from the target or the reference
    out = decode_scores(scores, qprobes)    # or the target's PROBE TLV values (T, P) int32
    rep = score_set([out, ...], [labels, ...], [noise_class, ...])

``ProbeOutputs`` per utterance: per-frame VAD decision (logit > 0) and logit, per-frame class
logits and argmax, the utterance's class (argmax of the frame logits summed over the
utterance) and per-frame F0 (Hz; the regressor's value on every frame, meant for voiced ones).
Scores: VAD accuracy, balanced accuracy and F1 over all frames; noise-class accuracy and
confusion over utterances (and the per-frame accuracy); F0 R^2, RMSE and gross pitch error
over the reference-voiced frames (bench.metrics.probes definitions; an unvoiced estimate
counts 0 Hz).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.data.labels import FrameLabels
from bench.errors import MetricError
from bench.metrics.probes import class_confusion, f0_scores, vad_scores
from bench.models.probes.golden import ProbeValues, dequantize, split_values
from bench.models.probes.quant import FloatProbes, QuantProbes


@dataclass(frozen=True, eq=False)
class ProbeOutputs:
    """Probe outputs of one utterance (T frames)."""

    classes: tuple[str, ...]
    vad_logit: npt.NDArray[np.float64]
    class_logits: npt.NDArray[np.float64]  # (T, K)
    f0_hz: npt.NDArray[np.float64]

    @property
    def n_frames(self) -> int:
        return int(self.vad_logit.size)

    @property
    def vad(self) -> npt.NDArray[np.bool_]:
        return self.vad_logit > 0

    @property
    def frame_class(self) -> npt.NDArray[np.int64]:
        return np.argmax(self.class_logits, axis=1)

    @property
    def utt_class_index(self) -> int:
        """argmax of the summed frame logits (first class on a tie, or with no frames)."""
        return int(np.argmax(self.class_logits.sum(axis=0))) if self.n_frames else 0

    @property
    def utt_class(self) -> str:
        return self.classes[self.utt_class_index]


def _outputs(v: ProbeValues, classes: tuple[str, ...]) -> ProbeOutputs:
    return ProbeOutputs(classes, v.vad_logit, v.class_logits, v.f0_hz)


def run_probes(bits: npt.ArrayLike, probes: FloatProbes | QuantProbes) -> ProbeOutputs:
    """Probe outputs of mask bits (T, n_bits): float probes in float, integer probes exactly as
    the target computes them (then dequantised)."""
    b = np.atleast_2d(np.asarray(bits))
    if isinstance(probes, QuantProbes) or b.dtype == bool:
        b = b.astype(bool)  # mask bits; float probes also take other (float) features
    if b.shape[1] != probes.n_bits:
        raise MetricError(f"probes take {probes.n_bits} mask bits per frame, got {b.shape[1]}")
    if isinstance(probes, QuantProbes):
        from bench.models.probes.golden import probe_scores

        return decode_scores(probe_scores(b, probes), probes)
    return _outputs(split_values(probes.scores(b), len(probes.classes)), probes.classes)


def decode_scores(scores: npt.ArrayLike, q: QuantProbes) -> ProbeOutputs:
    """Probe outputs of the integer scores (T, P) the target sends (PROBE TLVs, frame by frame)."""
    return _outputs(dequantize(scores, q), q.classes)


# ---- scoring ----------------------------------------------------------------------------


def _fit(a: npt.ArrayLike, t: int) -> np.ndarray:
    v = np.asarray(a)[:t]
    return np.pad(v, (0, t - v.size)) if v.size < t else v


def _f(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


@dataclass(frozen=True)
class VadReport:
    n_frames: int
    accuracy: float | None
    balanced_accuracy: float | None
    f1: float | None
    speech_fraction_ref: float | None
    speech_fraction_pred: float | None


@dataclass(frozen=True)
class F0Report:
    n_voiced: int
    r2: float | None
    rmse_hz: float | None
    mae_hz: float | None
    gpe: float | None
    n_both: int
    r2_both: float | None  # frames voiced in reference and estimate (for pitch trackers)
    rmse_both_hz: float | None


@dataclass(frozen=True)
class ClassReport:
    classes: tuple[str, ...]
    n_utts: int
    accuracy: float | None
    confusion: tuple[tuple[int, ...], ...]  # [true][predicted]
    frame_accuracy: float | None  # per-frame argmax vs the utterance's class


def _cat(arrays: Sequence[npt.ArrayLike], dtype: Any) -> np.ndarray:
    return np.concatenate([np.asarray(x, dtype) for x in arrays]) if arrays else np.zeros(0, dtype)


def _labels(labels: Sequence[FrameLabels], sizes: Sequence[int], attr: str, dtype: Any) -> np.ndarray:
    """One label array over all utterances, each cut/zero-padded to its prediction's length."""
    if len(labels) != len(sizes):
        raise MetricError(f"{len(sizes)} predictions but {len(labels)} label sets")
    return _cat([_fit(getattr(lab, attr), n) for lab, n in zip(labels, sizes, strict=True)], dtype)


def score_vad(predictions: Sequence[npt.ArrayLike], labels: Sequence[FrameLabels]) -> VadReport:
    """Per-frame VAD decisions of utterances vs their labels (cut/zero-padded to the prediction)."""
    pred = _cat(predictions, bool)
    ref = _labels(labels, [np.asarray(p).size for p in predictions], "vad", bool)
    s = vad_scores(ref, pred)
    bal: float | None = None
    if ref.any() and (~ref).any():
        bal = 0.5 * (float(np.mean(pred[ref])) + float(np.mean(~pred[~ref])))
    return VadReport(s.n_frames, _f(s.accuracy), bal, _f(s.f1), _f(s.speech_fraction_ref), _f(s.speech_fraction_pred))


def score_f0(estimates: Sequence[npt.ArrayLike], labels: Sequence[FrameLabels]) -> F0Report:
    """Per-frame F0 estimates (Hz, <= 0 = unvoiced) vs the labels' F0 on reference-voiced frames."""
    sizes = [np.asarray(e).size for e in estimates]
    est = _cat(estimates, np.float64)
    ref = _labels(labels, sizes, "f0_hz", np.float64)
    voiced = _labels(labels, sizes, "voiced", bool)
    s = f0_scores(ref, est, voiced)
    e0 = np.where(np.isfinite(est) & (est > 0), est, 0.0)
    both = voiced & (e0 > 0)
    rmse = float(np.sqrt(np.mean((e0[voiced] - ref[voiced]) ** 2))) if voiced.any() else None
    rmse_b = float(np.sqrt(np.mean((e0[both] - ref[both]) ** 2))) if both.any() else None
    return F0Report(s.n_voiced, _f(s.r2), rmse, _f(s.mae_hz), _f(s.gpe), s.n_both, _f(s.r2_both), rmse_b)


def score_classes(outputs: Sequence[ProbeOutputs], noise_classes: Sequence[str | None]) -> ClassReport:
    """Utterance class (pooled frame logits) vs the true noise class; unlabelled utterances skipped."""
    if not outputs:
        raise MetricError("score_classes: no utterances")
    classes = outputs[0].classes
    keep = [(o, c) for o, c in zip(outputs, noise_classes, strict=True) if c is not None]
    conf = class_confusion([c for _, c in keep], [o.utt_class for o, _ in keep], classes)
    fr = [np.mean(o.frame_class == classes.index(c)) * o.n_frames for o, c in keep]
    nf = sum(o.n_frames for o, _ in keep)
    return ClassReport(
        classes,
        conf.n,
        _f(conf.accuracy) if conf.n else None,
        tuple(tuple(int(v) for v in row) for row in conf.matrix),
        float(sum(fr)) / nf if nf else None,
    )


@dataclass(frozen=True)
class ProbeReport:
    vad: VadReport
    noise_class: ClassReport
    f0: F0Report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_set(
    outputs: Sequence[ProbeOutputs], labels: Sequence[FrameLabels], noise_classes: Sequence[str | None]
) -> ProbeReport:
    """All three probes of a set of utterances against their labels and noise classes."""
    if not (len(outputs) == len(labels) == len(noise_classes)):
        raise MetricError(f"{len(outputs)} outputs, {len(labels)} label sets, {len(noise_classes)} classes")
    return ProbeReport(
        score_vad([o.vad for o in outputs], labels),
        score_classes(outputs, noise_classes),
        score_f0([o.f0_hz for o in outputs], labels),
    )


def agreement(a: Sequence[ProbeOutputs], b: Sequence[ProbeOutputs]) -> dict[str, float]:
    """How often two probe sets (e.g. float and integer) decide the same: VAD and class per
    frame, class per utterance, and the largest / mean |F0 difference| in Hz."""
    if len(a) != len(b) or not a:
        raise MetricError("agreement: need two equally long, non-empty lists of outputs")
    va = np.concatenate([o.vad for o in a])
    vb = np.concatenate([o.vad for o in b])
    ca = np.concatenate([o.frame_class for o in a])
    cb = np.concatenate([o.frame_class for o in b])
    fa = np.concatenate([o.f0_hz for o in a])
    fb = np.concatenate([o.f0_hz for o in b])
    la = np.concatenate([o.vad_logit for o in a])
    lb = np.concatenate([o.vad_logit for o in b])
    return {
        "vad_frames": float(np.mean(va == vb)),
        "class_frames": float(np.mean(ca == cb)),
        "class_utts": float(np.mean([x.utt_class == y.utt_class for x, y in zip(a, b, strict=True)])),
        "f0_max_abs_hz": float(np.max(np.abs(fa - fb))),
        "f0_mean_abs_hz": float(np.mean(np.abs(fa - fb))),
        "vad_logit_max_abs": float(np.max(np.abs(la - lb))),
    }
