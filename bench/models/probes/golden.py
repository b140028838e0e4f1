"""Numpy golden of the integer probes (firmware/models/dyncp/dyncp_probes.c) and the
dequantisation of their scores.

``probe_scores(bits, q)``: int32 scores (P,) = bias + the sum of the weight rows of the set
bits, exactly what ``dyncp_probes_scores`` returns for the packed words of the same bits.
``dequantize(scores, q)``: (VAD logit, class logits (K,), F0 Hz), ``value = score * 2^-shift``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.errors import ConfigError
from bench.models.probes.quant import QuantProbes


def probe_scores(mask_bits: npt.ArrayLike, q: QuantProbes) -> npt.NDArray[np.int32]:
    """Integer scores of one frame's bits (n_bits,) -> (P,), or of frames (T, n_bits) -> (T, P).
    Probes with a temporal context take the context features (n_features = (k + 1) n_bits,
    features.context_bits) instead; the C kernel has k = 0 only."""
    b = np.asarray(mask_bits, dtype=bool)
    if b.shape[-1] != q.n_features:
        what = "mask bits" if q.context == 0 else f"features ({q.context + 1} frames of {q.n_bits} mask bits)"
        raise ConfigError(f"probes take {q.n_features} {what} per frame, got {b.shape[-1]}")
    acc = b.astype(np.int64) @ q.weights.astype(np.int64) + q.bias.astype(np.int64)
    return acc.astype(np.int32)


@dataclass(frozen=True, eq=False)
class ProbeValues:
    """Dequantised probe outputs of T frames."""

    vad_logit: npt.NDArray[np.float64]  # (T,)
    class_logits: npt.NDArray[np.float64]  # (T, K)
    f0_hz: npt.NDArray[np.float64]  # (T,)


def split_values(values: npt.ArrayLike, n_classes: int) -> ProbeValues:
    """Float probe values (T, P) in probe order -> named parts."""
    v = np.atleast_2d(np.asarray(values, np.float64))
    if v.shape[1] != n_classes + 2:
        raise ConfigError(f"expected {n_classes + 2} probe values per frame, got {v.shape[1]}")
    return ProbeValues(v[:, 0].copy(), v[:, 1 : n_classes + 1].copy(), v[:, n_classes + 1].copy())


def dequantize(scores: npt.ArrayLike, q: QuantProbes) -> ProbeValues:
    """int32 scores (P,) or (T, P), e.g. the PROBE TLVs of the target, -> values."""
    s = np.atleast_2d(np.asarray(scores, np.int64))
    if s.shape[1] != q.n_probes:
        raise ConfigError(f"expected {q.n_probes} probe scores per frame, got {s.shape[1]}")
    return split_values(s.astype(np.float64) * q.scale, len(q.classes))
