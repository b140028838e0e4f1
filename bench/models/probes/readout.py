"""Probe read-out and scoring: the API the runner calls.

    out = run_probes(bits, probes)          # bits (T, n_bits) bool, from the target or the reference
    out = decode_scores(scores, qprobes)    # or the target's PROBE TLV values (T, P) int32
    rep = score_set([out, ...], [labels, ...], [noise_class, ...], [speaker, ...])

``ProbeOutputs`` per utterance: per-frame VAD decision (logit > 0) and logit, per-frame class
logits and argmax, the utterance's class (argmax of the frame logits summed over the
utterance) and per-frame F0 (Hz; the regressor's value on every frame, meant for voiced ones).
Scores: VAD accuracy, balanced accuracy and F1 over all frames; noise-class accuracy and
confusion over utterances (and the per-frame accuracy); F0 R^2, R^2 within voice (each
speaker's mean removed; the speaker of an utterance is bench.data.speakers.speaker_of), RMSE
and gross pitch error over the reference-voiced frames (bench.metrics.probes definitions; an
unvoiced estimate counts 0 Hz), and the same over the reference-voiced frames that the probe's
own VAD calls speech (``f0_vad_gated``).

Probes with a temporal context k > 0 (``probes.context``) take the current frame's mask bits
and the previous k frames' (features.context_bits); ``run_probes`` takes the mask bits of a
whole utterance and builds the context itself. The target computes k = 0 only.
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
from bench.models.probes.features import context_bits
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
    """Probe outputs of one utterance's mask bits (T, n_bits), frame 0 first: float probes in
    float, integer probes exactly as the target computes them (then dequantised); with the
    probes' temporal context (``probes.context`` previous frames) built from these frames."""
    b = np.atleast_2d(np.asarray(bits))
    if isinstance(probes, QuantProbes) or b.dtype == bool:
        b = b.astype(bool)  # mask bits; float probes also take other (float) features
    if b.shape[1] != probes.n_bits:
        raise MetricError(f"probes take {probes.n_bits} mask bits per frame, got {b.shape[1]}")
    b = context_bits(b, probes.context)
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
    n_voiced: int  # reference-voiced frames scored (those the gate passes, when gated)
    r2: float | None
    rmse_hz: float | None
    mae_hz: float | None
    gpe: float | None
    n_both: int
    r2_both: float | None  # frames voiced in reference and estimate (for pitch trackers)
    rmse_both_hz: float | None
    r2_within_voice: float | None = None  # each speaker's mean of ref and estimate removed
    n_speakers: int = 0
    within_voice_unscorable: str | None = None  # why r2_within_voice is None
    gate: str | None = None  # what chose the scored frames besides the reference voicing
    coverage: float | None = None  # gated: fraction of the reference-voiced frames scored
    gate_unvoiced: float | None = None  # gated: fraction of the gate's frames that are not voiced


@dataclass(frozen=True)
class ClassReport:
    classes: tuple[str, ...]
    n_utts: int
    accuracy: float | None
    confusion: tuple[tuple[int, ...], ...]  # [true][predicted]
    frame_accuracy: float | None  # per-frame argmax vs the utterance's class
    n_other_class: int = 0  # utterances whose noise class the probes do not know (not scored)


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


def _speaker_frames(speakers: Sequence[str | None] | None, sizes: Sequence[int]) -> np.ndarray | None:
    """One speaker label per frame, or None unless every utterance has a speaker."""
    if speakers is None:
        return None
    if len(speakers) != len(sizes):
        raise MetricError(f"{len(sizes)} predictions but {len(speakers)} speakers")
    if any(s is None for s in speakers):
        return None
    return np.repeat(np.asarray([str(s) for s in speakers], dtype=object), sizes)


def score_f0(
    estimates: Sequence[npt.ArrayLike],
    labels: Sequence[FrameLabels],
    speakers: Sequence[str | None] | None = None,
    gates: Sequence[npt.ArrayLike] | None = None,
    gate_name: str = "gate",
) -> F0Report:
    """Per-frame F0 estimates (Hz, <= 0 = unvoiced) vs the labels' F0 on reference-voiced frames;
    ``speakers`` (one per utterance, bench.data.speakers.speaker_of) adds R^2 within voice;
    ``gates`` (bool per frame per utterance, e.g. the probe's VAD) scores only the
    reference-voiced frames they pass."""
    sizes = [np.asarray(e).size for e in estimates]
    est = _cat(estimates, np.float64)
    ref = _labels(labels, sizes, "f0_hz", np.float64)
    voiced_all = _labels(labels, sizes, "voiced", bool)
    spk = _speaker_frames(speakers, sizes)
    gate = None
    if gates is not None:
        if [np.asarray(g).size for g in gates] != sizes:
            raise MetricError("score_f0: every gate needs one value per frame of its estimate")
        gate = _cat(gates, bool)
    s = f0_scores(ref, est, voiced_all, speaker=spk, gate=gate)
    why = None if _f(s.r2_within_voice) is not None else (
        "no speaker for some utterances" if speakers is not None and spk is None
        else str(getattr(s.r2_within_voice, "reason", "nan")))
    gated: dict[str, Any] = {}
    if gate is not None:
        gated = {"gate": gate_name,
                 "coverage": float(s.n_voiced / voiced_all.sum()) if voiced_all.any() else None,
                 "gate_unvoiced": float(np.mean(~voiced_all[gate])) if gate.any() else None}
    return F0Report(s.n_voiced, _f(s.r2), _f(s.rmse_hz), _f(s.mae_hz), _f(s.gpe), s.n_both, _f(s.r2_both),
                    _f(s.rmse_both_hz),
                    _f(s.r2_within_voice), s.n_speakers, why, **gated)


def score_classes(outputs: Sequence[ProbeOutputs], noise_classes: Sequence[str | None]) -> ClassReport:
    """Utterance class (pooled frame logits) vs the true noise class; unlabelled utterances, and
    those whose class the probes do not know (e.g. recorded-music of the diverse sets), skipped."""
    if not outputs:
        raise MetricError("score_classes: no utterances")
    classes = outputs[0].classes
    keep = [(o, c) for o, c in zip(outputs, noise_classes, strict=True) if c is not None and c in classes]
    other = sum(1 for c in noise_classes if c is not None and c not in classes)
    conf = class_confusion([c for _, c in keep], [o.utt_class for o, _ in keep], classes)
    fr = [np.mean(o.frame_class == classes.index(c)) * o.n_frames for o, c in keep]
    nf = sum(o.n_frames for o, _ in keep)
    return ClassReport(
        classes,
        conf.n,
        _f(conf.accuracy) if conf.n else None,
        tuple(tuple(int(v) for v in row) for row in conf.matrix),
        float(sum(fr)) / nf if nf else None,
        other,
    )


@dataclass(frozen=True)
class ProbeReport:
    vad: VadReport
    noise_class: ClassReport
    f0: F0Report  # on all reference-voiced frames (the reference voicing is the gate)
    f0_vad_gated: F0Report  # on the reference-voiced frames the probe's own VAD calls speech

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_set(
    outputs: Sequence[ProbeOutputs],
    labels: Sequence[FrameLabels],
    noise_classes: Sequence[str | None],
    speakers: Sequence[str | None] | None = None,
) -> ProbeReport:
    """All three probes of a set of utterances against their labels and noise classes; F0 also
    within voice when ``speakers`` (one per utterance) are given, and gated by the probe's VAD."""
    if not (len(outputs) == len(labels) == len(noise_classes)):
        raise MetricError(f"{len(outputs)} outputs, {len(labels)} label sets, {len(noise_classes)} classes")
    f0 = [o.f0_hz for o in outputs]
    return ProbeReport(
        score_vad([o.vad for o in outputs], labels),
        score_classes(outputs, noise_classes),
        score_f0(f0, labels, speakers),
        score_f0(f0, labels, speakers, [o.vad for o in outputs], "probe VAD"),
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
