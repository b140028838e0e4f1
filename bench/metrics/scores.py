"""The NaN-with-a-reason value every metric returns for an input it cannot score."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.errors import MetricError

PREFIX = "unscorable: "


class Unscorable(float):
    """A float NaN that carries why the metric could not score the input.

    Behaves as NaN in arithmetic and in numpy (nanmean skips it); read the reason with
    :func:`reason_of`. Survives pickling (process pools).
    """

    reason: str

    def __new__(cls, reason: str) -> Unscorable:
        obj = super().__new__(cls, math.nan)
        obj.reason = reason if reason.startswith(PREFIX) else PREFIX + reason
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Unscorable, (self.reason,))

    def __repr__(self) -> str:
        return f"Unscorable({self.reason!r})"

    __str__ = __repr__


def reason_of(value: float) -> str | None:
    """The recorded reason of an Unscorable value, "nan" for another NaN, None for a number."""
    if isinstance(value, Unscorable):
        return value.reason
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return None


def as_pair(ref: npt.ArrayLike, deg: npt.ArrayLike, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as 1-D float64 (int16 scaled by 1/32768); MetricError if their shapes differ."""
    from bench.data.audio import to_float

    r, d = to_float(ref), to_float(deg)
    if r.ndim != 1 or d.ndim != 1:
        raise MetricError(f"{metric}: expects 1-D signals, got shapes {r.shape} and {d.shape}; pass mono audio")
    if r.size != d.size:
        raise MetricError(
            f"{metric}: reference has {r.size} samples, degraded {d.size}; align and trim them "
            "to the same length before scoring"
        )
    return r, d


def precheck(r: np.ndarray, d: np.ndarray, sample_rate: int, min_seconds: float = 0.0) -> Unscorable | None:
    """Common reasons an input pair cannot be scored, or None."""
    if sample_rate <= 0:
        raise MetricError(f"sample_rate must be positive, got {sample_rate}")
    if r.size == 0:
        return Unscorable("empty signal")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        return Unscorable("non-finite samples")
    if r.size < min_seconds * sample_rate:
        return Unscorable(f"shorter than {min_seconds:g} s ({r.size} samples at {sample_rate} Hz)")
    if not np.any(r):
        return Unscorable("reference is digital silence")
    return None
