"""Numerical fidelity of one implementation against another (on-target vs golden model,
on-target vs float reference): bit-exactness, error size, SNR of the difference, and
agreement of the masks the models compute.

Signals: int16 arrays are compared in LSB; float arrays (full scale 1.0) are scaled by
32768 so that all errors are reported in int16 LSB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.errors import MetricError
from bench.metrics.scores import Unscorable


def _lsb(x: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(x)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.float64)
    return a.astype(np.float64) * 32768.0


def _pair(name: str, a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        raise MetricError(f"{name}: shapes differ ({x.shape} vs {y.shape}); compare outputs of the same input")
    return x, y


def bit_exact_fraction(reference: npt.ArrayLike, test: npt.ArrayLike) -> float:
    """Fraction of samples (or mask entries) that are exactly equal."""
    x, y = _pair("bit_exact_fraction", reference, test)
    if x.size == 0:
        return Unscorable("empty signal")
    return float(np.count_nonzero(_lsb(x) == _lsb(y))) / x.size


def max_abs_error(reference: npt.ArrayLike, test: npt.ArrayLike) -> float:
    """Largest absolute difference, in int16 LSB."""
    x, y = _pair("max_abs_error", reference, test)
    if x.size == 0:
        return Unscorable("empty signal")
    return float(np.max(np.abs(_lsb(x) - _lsb(y))))


def snr_of_difference(reference: npt.ArrayLike, test: npt.ArrayLike) -> float:
    """10 log10(sum ref^2 / sum (ref - test)^2) in dB; +inf when identical."""
    x, y = _pair("snr_of_difference", reference, test)
    if x.size == 0:
        return Unscorable("empty signal")
    r, t = _lsb(x), _lsb(y)
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(t))):
        return Unscorable("non-finite samples")
    pe = float(np.sum((r - t) ** 2))
    ps = float(np.sum(r * r))
    if pe == 0.0:
        return math.inf
    if ps == 0.0:
        return Unscorable("reference is digital silence")
    return 10.0 * math.log10(ps / pe)


@dataclass(frozen=True)
class Fidelity:
    n: int
    bit_exact: float
    max_abs_lsb: float
    mean_abs_lsb: float
    snr_db: float


def fidelity(reference: npt.ArrayLike, test: npt.ArrayLike) -> Fidelity:
    """All sample-level fidelity numbers of ``test`` against ``reference``."""
    x, y = _pair("fidelity", reference, test)
    if x.size == 0:
        nan = Unscorable("empty signal")
        return Fidelity(0, nan, nan, nan, nan)
    return Fidelity(
        n=int(x.size),
        bit_exact=bit_exact_fraction(x, y),
        max_abs_lsb=max_abs_error(x, y),
        mean_abs_lsb=float(np.mean(np.abs(_lsb(x) - _lsb(y)))),
        snr_db=snr_of_difference(x, y),
    )


@dataclass(frozen=True)
class MaskAgreement:
    n: int
    agreement: float
    """Fraction of entries within ``tolerance`` of each other (equal, for tolerance 0)."""
    mean_abs: float
    max_abs: float
    binary_agreement: float
    """Fraction of entries on the same side of ``threshold`` (e.g. speech-dominated bins)."""


def mask_agreement(
    mask_a: npt.ArrayLike,
    mask_b: npt.ArrayLike,
    *,
    tolerance: float = 0.0,
    threshold: float = 0.5,
) -> MaskAgreement:
    """Compare two masks (any shape, e.g. frames x bins) in their own units.

    Integer (fixed-point) masks should be converted to the same scale first if the two
    sides use different Q formats.
    """
    x, y = _pair("mask_agreement", mask_a, mask_b)
    if tolerance < 0:
        raise MetricError(f"mask_agreement: tolerance must be >= 0, got {tolerance}")
    if x.size == 0:
        nan = Unscorable("empty mask")
        return MaskAgreement(0, nan, nan, nan, nan)
    a, b = x.astype(np.float64).ravel(), y.astype(np.float64).ravel()
    diff = np.abs(a - b)
    return MaskAgreement(
        n=int(a.size),
        agreement=float(np.mean(diff <= tolerance)),
        mean_abs=float(diff.mean()),
        max_abs=float(diff.max()),
        binary_agreement=float(np.mean((a > threshold) == (b > threshold))),
    )
