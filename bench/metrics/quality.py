"""Intrusive speech-quality metrics: reference (clean) and degraded (enhanced) signal in,
one number out. Integer arrays are scaled by 1/32768; float arrays are used as given.

An input the metric cannot score (silence, too short, PESQ finding no utterance) gives
an :class:`~bench.metrics.scores.Unscorable` NaN with the reason; signals of different
lengths raise MetricError (a caller's mistake, not a property of the audio).

pesq_wb   ITU-T P.862.2 wide-band PESQ (MOS-LQO 1.04..4.64), via the ``pesq`` package at 16 kHz
pesq_nb   ITU-T P.862 narrow-band PESQ (MOS-LQO), at 8 kHz, or 16 kHz when given 16 kHz
stoi      short-time objective intelligibility (Taal et al. 2011), via ``pystoi``
estoi     extended STOI (Jensen & Taal 2016), via ``pystoi``
si_sdr    scale-invariant SDR in dB (Le Roux et al. 2019), zero-mean signals
seg_snr   segmental SNR in dB: 20 ms frames, each clamped to [-10, 35] dB, averaged over
          frames whose reference power is within 40 dB of the loudest frame
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pesq as pesq_lib
from pystoi import stoi as _pystoi

from bench.data.audio import resample
from bench.errors import MetricError
from bench.metrics.scores import Unscorable, as_pair, precheck

PESQ_MIN_SECONDS = 0.25
STOI_MIN_FRAMES = 30  # pystoi's N: 30 frames of 128 samples at 10 kHz after silence removal
SEG_SNR_FRAME_MS = 20.0
SEG_SNR_CLAMP_DB = (-10.0, 35.0)
SEG_SNR_ACTIVE_RANGE_DB = 40.0

MetricFn = Callable[[npt.ArrayLike, npt.ArrayLike, int], float]


def _pesq(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int, mode: str) -> float:
    r, d = as_pair(ref, deg, f"pesq_{mode}")
    bad = precheck(r, d, sample_rate, PESQ_MIN_SECONDS)
    if bad is not None:
        return bad
    if not np.any(d):
        return Unscorable("degraded signal is digital silence")
    fs = 16000 if mode == "wb" or sample_rate != 8000 else 8000
    r, d = resample(r, sample_rate, fs), resample(d, sample_rate, fs)
    try:
        return float(pesq_lib.pesq(fs, r, d, mode, on_error=pesq_lib.PesqError.RAISE_EXCEPTION))
    except pesq_lib.NoUtterancesError:
        return Unscorable("PESQ found no speech in the reference")
    except pesq_lib.BufferTooShortError:
        return Unscorable("PESQ: shorter than 1/4 s")
    except pesq_lib.OutOfMemoryError as exc:
        raise MetricError(f"pesq_{mode}: PESQ ran out of memory ({exc}); score shorter utterances") from exc
    except (pesq_lib.PesqError, ValueError) as exc:
        return Unscorable(f"PESQ failed ({exc})")


def pesq_wb(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int) -> float:
    """Wide-band PESQ (P.862.2), computed at 16 kHz (other rates are resampled)."""
    return _pesq(ref, deg, sample_rate, "wb")


def pesq_nb(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int) -> float:
    """Narrow-band PESQ (P.862), at 8 kHz for 8 kHz input, else at 16 kHz."""
    return _pesq(ref, deg, sample_rate, "nb")


def _stoi(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int, extended: bool) -> float:
    name = "estoi" if extended else "stoi"
    r, d = as_pair(ref, deg, name)
    bad = precheck(r, d, sample_rate)
    if bad is not None:
        return bad
    if not np.any(d):
        return Unscorable("degraded signal is digital silence")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_pystoi(r, d, sample_rate, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return Unscorable(f"{name}: fewer than {STOI_MIN_FRAMES} speech frames (~0.4 s) after silence removal")
    if not math.isfinite(value):
        return Unscorable(f"{name} is not finite (degenerate signal)")
    return value


def stoi(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int) -> float:
    """STOI (0..1)."""
    return _stoi(ref, deg, sample_rate, extended=False)


def estoi(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int) -> float:
    """Extended STOI (about -1..1, in practice 0..1)."""
    return _stoi(ref, deg, sample_rate, extended=True)


def si_sdr(ref: npt.ArrayLike, deg: npt.ArrayLike, sample_rate: int = 0, *, zero_mean: bool = True) -> float:
    """Scale-invariant SDR in dB: 10 log10(|a s|^2 / |a s - y|^2), a = <y, s> / <s, s>.

    +inf when ``deg`` is an exact scaled copy of ``ref``, -inf when it holds nothing of
    ``ref`` (e.g. all zeros). ``sample_rate`` is unused (kept for
    a uniform metric signature).
    """
    r, d = as_pair(ref, deg, "si_sdr")
    if r.size == 0:
        return Unscorable("empty signal")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        return Unscorable("non-finite samples")
    if zero_mean:
        r = r - r.mean()
        d = d - d.mean()
    rr = float(np.sum(r * r))  # not np.dot: see bench.metrics.blas
    if rr == 0.0:
        return Unscorable("reference is silent (zero energy after mean removal)")
    alpha = float(np.sum(d * r)) / rr
    target = alpha * r
    err = d - target
    t_e, e_e = float(np.sum(target * target)), float(np.sum(err * err))
    if t_e == 0.0:  # nothing of the reference in the output (e.g. all zeros)
        return -math.inf
    if e_e == 0.0:
        return math.inf
    return 10.0 * math.log10(t_e / e_e)


def seg_snr(
    ref: npt.ArrayLike,
    deg: npt.ArrayLike,
    sample_rate: int,
    *,
    frame_ms: float = SEG_SNR_FRAME_MS,
    clamp_db: tuple[float, float] = SEG_SNR_CLAMP_DB,
    active_range_db: float = SEG_SNR_ACTIVE_RANGE_DB,
) -> float:
    """Segmental SNR in dB (see the module doc). A trailing partial frame is dropped."""
    r, d = as_pair(ref, deg, "seg_snr")
    bad = precheck(r, d, sample_rate)
    if bad is not None:
        return bad
    n = int(round(frame_ms * sample_rate / 1000.0))
    m = r.size // n
    if m == 0:
        return Unscorable(f"shorter than one {frame_ms:g} ms frame")
    rf = r[: m * n].reshape(m, n)
    ef = (r[: m * n] - d[: m * n]).reshape(m, n)
    ps = np.sum(rf * rf, axis=1)
    pe = np.sum(ef * ef, axis=1)
    if not np.any(ps > 0):
        return Unscorable("reference frames are all silent")
    active = ps >= ps.max() * 10 ** (-active_range_db / 10)
    lo, hi = clamp_db
    with np.errstate(divide="ignore"):
        snr = np.where(pe > 0, 10.0 * np.log10(ps / np.where(pe > 0, pe, 1.0)), hi)
    return float(np.mean(np.clip(snr[active], lo, hi)))


METRICS: dict[str, MetricFn] = {
    "pesq_wb": pesq_wb,
    "pesq_nb": pesq_nb,
    "stoi": stoi,
    "estoi": estoi,
    "si_sdr": si_sdr,
    "seg_snr": seg_snr,
}
"""Per-utterance quality metrics by name, all with the signature (ref, deg, sample_rate)."""

DEFAULT_METRICS: tuple[str, ...] = tuple(METRICS)

EVALUATION_METRICS: tuple[str, ...] = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")
"""What a model's float evaluation reports per utterance (bench evaluate, bench.train.assess)."""


def metric(name: str) -> MetricFn:
    try:
        return METRICS[name]
    except KeyError:
        raise MetricError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}") from None
