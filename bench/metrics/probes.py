"""Scores of probes read out of a model (or of baselines) against frame labels.

vad_scores       accuracy, precision, recall and F1 of per-frame speech decisions
class_confusion  accuracy and confusion matrix of noise-class predictions
f0_scores        R^2 (pooled and within voice) and gross pitch error of F0 estimates on
                 reference-voiced frames, optionally only those a gate (a VAD decision) passes
r2_within        R^2 after removing each group's (speaker's) mean of reference and estimate

All take plain arrays (one entry per frame or per utterance) and return frozen
dataclasses of floats; a score that is undefined for the input (no speech frames,
fewer than two voiced frames) is an Unscorable NaN with the reason. Inputs of different
lengths raise MetricError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.errors import MetricError
from bench.metrics.scores import Unscorable

GPE_TOLERANCE = 0.2


def _same_len(name: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 1 or b.ndim != 1:
        raise MetricError(f"{name}: expects 1-D arrays, got shapes {a.shape} and {b.shape}")
    if a.size != b.size:
        raise MetricError(
            f"{name}: reference has {a.size} frames, prediction {b.size}; put both on the same "
            "frame grid (same hop, same start) before scoring"
        )


@dataclass(frozen=True)
class VadScores:
    n_frames: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    speech_fraction_ref: float
    speech_fraction_pred: float

    def __post_init__(self) -> None:
        if self.n_frames < 0:
            raise ValueError("n_frames must be non-negative")


def vad_scores(reference: npt.ArrayLike, prediction: npt.ArrayLike, threshold: float = 0.5) -> VadScores:
    """Per-frame VAD scores; ``prediction`` may be booleans or probabilities (> threshold = speech)."""
    ref = np.asarray(reference)
    pred = np.asarray(prediction)
    _same_len("vad_scores", ref, pred)
    r = ref.astype(bool) if ref.dtype == bool else ref > threshold
    p = pred.astype(bool) if pred.dtype == bool else pred > threshold
    n = int(r.size)
    if n == 0:
        nan = Unscorable("no frames")
        return VadScores(0, nan, nan, nan, nan, nan, nan)
    tp = int(np.count_nonzero(r & p))
    fp = int(np.count_nonzero(~r & p))
    fn = int(np.count_nonzero(r & ~p))
    acc = float(np.count_nonzero(r == p)) / n
    precision: float = tp / (tp + fp) if tp + fp else Unscorable("no frame predicted as speech")
    recall: float = tp / (tp + fn) if tp + fn else Unscorable("no speech frame in the reference")
    if tp + fp + fn == 0:
        f1: float = Unscorable("no speech frame in the reference or the prediction")
    else:
        f1 = 2 * tp / (2 * tp + fp + fn)
    return VadScores(n, acc, precision, recall, f1, float(r.mean()), float(p.mean()))


@dataclass(frozen=True, eq=False)
class Confusion:
    """Confusion matrix: ``matrix[i, j]`` counts items of true class ``classes[i]`` predicted
    as ``classes[j]``."""

    classes: tuple[str, ...]
    matrix: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        k = len(self.classes)
        if self.matrix.shape != (k, k):
            raise ValueError(f"matrix must be {k}x{k}, got {self.matrix.shape}")

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        if self.n == 0:
            return Unscorable("no items")
        return float(np.trace(self.matrix)) / self.n

    def recall(self, cls: str) -> float:
        """Fraction of items of class ``cls`` predicted as ``cls``."""
        i = self.classes.index(cls)
        row = int(self.matrix[i].sum())
        return float(self.matrix[i, i]) / row if row else Unscorable(f"no items of class {cls!r}")

    @property
    def balanced_accuracy(self) -> float:
        """Mean per-class recall over classes present in the reference."""
        vals = [self.recall(c) for c in self.classes if self.matrix[self.classes.index(c)].sum()]
        return float(np.mean(vals)) if vals else Unscorable("no items")


def class_confusion(
    reference: Sequence[str] | npt.ArrayLike,
    prediction: Sequence[str] | npt.ArrayLike,
    classes: Sequence[str] | None = None,
) -> Confusion:
    """Confusion matrix of class labels (strings or ints). ``classes`` fixes the order; by
    default the sorted union of labels seen. A label not in ``classes`` raises MetricError."""
    ref = [str(x) for x in np.asarray(reference, dtype=object).ravel()]
    pred = [str(x) for x in np.asarray(prediction, dtype=object).ravel()]
    if len(ref) != len(pred):
        raise MetricError(f"class_confusion: {len(ref)} reference labels but {len(pred)} predictions")
    cls = tuple(str(c) for c in classes) if classes is not None else tuple(sorted(set(ref) | set(pred)))
    index = {c: i for i, c in enumerate(cls)}
    m = np.zeros((len(cls), len(cls)), dtype=np.int64)
    for a, b in zip(ref, pred, strict=True):
        if a not in index or b not in index:
            raise MetricError(f"class_confusion: label {a if a not in index else b!r} is not in classes {cls}")
        m[index[a], index[b]] += 1
    return Confusion(cls, m)


@dataclass(frozen=True)
class F0Scores:
    """F0 scores; see :func:`f0_scores` for the definitions."""

    n_voiced: int
    r2: float
    gpe: float
    mae_hz: float
    voicing_error: float
    n_both: int
    r2_both: float
    gpe_both: float
    r2_within_voice: float = Unscorable("no speaker per frame given")
    n_speakers: int = 0
    rmse_hz: float = Unscorable("not computed")
    rmse_both_hz: float = Unscorable("not computed")

    def __post_init__(self) -> None:
        if self.n_voiced < 0 or self.n_both < 0 or self.n_both > self.n_voiced:
            raise ValueError("need 0 <= n_both <= n_voiced")
        if self.n_speakers < 0:
            raise ValueError("n_speakers must be non-negative")


def _r2(ref: np.ndarray, est: np.ndarray) -> float:
    ss_tot = float(np.sum((ref - ref.mean()) ** 2)) if ref.size else 0.0
    if ref.size < 2 or ss_tot == 0.0:
        return Unscorable("reference F0 has no variance on the scored frames")
    return 1.0 - float(np.sum((est - ref) ** 2)) / ss_tot


def r2_within(reference: npt.ArrayLike, estimate: npt.ArrayLike, groups: npt.ArrayLike) -> float:
    """R^2 within groups: each group's mean of the reference and, separately, of the estimate is
    removed (over that group's frames here), then ``1 - sum (e' - r')^2 / sum r'^2``. A constant
    offset per group (which speaker it is) neither helps nor hurts; only the contour within a
    group counts. Unscorable when no group's reference varies."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    g = np.asarray(groups)
    _same_len("r2_within", ref, est)
    _same_len("r2_within", ref, g)
    _, inv = np.unique(g, return_inverse=True)
    inv = inv.ravel()
    n = np.bincount(inv).astype(np.float64)
    rc = ref - (np.bincount(inv, ref) / n)[inv]
    ec = est - (np.bincount(inv, est) / n)[inv]
    ss_tot = float(np.sum(rc**2))
    if ss_tot <= 1e-12 * max(1.0, float(np.sum(ref**2))):
        return Unscorable("reference F0 has no variance within any speaker on the scored frames")
    return 1.0 - float(np.sum((ec - rc) ** 2)) / ss_tot


def f0_scores(
    reference_f0: npt.ArrayLike,
    estimate_f0: npt.ArrayLike,
    reference_voiced: npt.ArrayLike | None = None,
    *,
    speaker: npt.ArrayLike | None = None,
    gate: npt.ArrayLike | None = None,
    tolerance: float = GPE_TOLERANCE,
) -> F0Scores:
    """F0 estimate vs reference, one value per frame.

    Reference-voiced frames: ``reference_voiced`` if given, else ``reference_f0 > 0``. An
    estimate <= 0 or NaN means "unvoiced" (a regression probe that always outputs a
    positive F0 is never unvoiced). ``gate`` (bool per frame, e.g. a VAD decision) restricts
    the scored frames to the reference-voiced frames it passes (n_voiced counts those).

    On the (gated) reference-voiced frames (what a probe is judged on):
      r2      1 - sum (est - ref)^2 / sum (ref - mean ref)^2, an unvoiced estimate counting 0 Hz
      r2_within_voice  the same after removing each speaker's mean of ref and of est over its
              scored frames (:func:`r2_within`; ``speaker``: a label per frame); Unscorable
              without ``speaker``. Speaker identity cannot inflate it.
      gpe     fraction with |est - ref| > tolerance * ref, an unvoiced estimate a gross error
      mae_hz  mean |est - ref|;  rmse_hz  root mean square of est - ref
    On the frames voiced in both (the classical definitions, for pitch trackers):
      r2_both, gpe_both, rmse_both_hz
    On all frames (not gated):
      voicing_error  fraction of frames whose voiced/unvoiced decisions differ
    """
    ref = np.asarray(reference_f0, dtype=np.float64)
    est = np.asarray(estimate_f0, dtype=np.float64)
    _same_len("f0_scores", ref, est)
    if reference_voiced is None:
        voiced = ref > 0
    else:
        voiced = np.asarray(reference_voiced).astype(bool)
        _same_len("f0_scores", ref, voiced)
        if np.any(voiced & ~(ref > 0)):
            raise MetricError("f0_scores: reference_voiced marks frames whose reference F0 is not positive")
    est0 = np.where(np.isfinite(est), est, 0.0)
    est_voiced = est0 > 0
    vde: float = float(np.mean(voiced != est_voiced)) if ref.size else Unscorable("no frames")
    if gate is not None:
        g = np.asarray(gate)
        _same_len("f0_scores", ref, g)
        voiced = voiced & g.astype(bool)
    spk = None
    if speaker is not None:
        spk = np.asarray(speaker)
        _same_len("f0_scores", ref, spk)
    nv = int(np.count_nonzero(voiced))
    both = voiced & est_voiced
    nb = int(np.count_nonzero(both))
    if nv == 0:
        nan = Unscorable("no voiced frame in the reference" + (" that the gate passes" if gate is not None else ""))
        return F0Scores(0, nan, nan, nan, vde, 0, nan, nan, nan, 0, nan, nan)
    r, e = ref[voiced], est0[voiced]
    gpe = float(np.mean(np.abs(e - r) > tolerance * r))
    mae = float(np.mean(np.abs(e - r)))
    rmse = float(np.sqrt(np.mean((e - r) ** 2)))
    if nb:
        rb, eb = ref[both], est0[both]
        gpe_both: float = float(np.mean(np.abs(eb - rb) > tolerance * rb))
        r2_both = _r2(rb, eb)
        rmse_both: float = float(np.sqrt(np.mean((eb - rb) ** 2)))
    else:
        gpe_both = r2_both = rmse_both = Unscorable("no frame voiced in both reference and estimate")
    within: float = Unscorable("no speaker per frame given")
    n_spk = 0
    if spk is not None:
        within = r2_within(r, e, spk[voiced])
        n_spk = int(np.unique(spk[voiced]).size)
    return F0Scores(nv, _r2(r, e), gpe, mae, vde, nb, r2_both, gpe_both, within, n_spk, rmse, rmse_both)
