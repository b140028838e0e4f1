"""Small audio helpers shared by the generator, the loader and the metrics.

Conventions used across bench.data and bench.metrics:

* Integer arrays (int16) hold PCM samples; they are scaled by 1/32768 to get floats.
* Float arrays are taken as they are (full scale = 1.0).
* All resampling goes through ``scipy.signal.resample_poly`` with the rational factor
  reduced by the greatest common divisor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy.signal import resample_poly

from bench.errors import DataError

INT16_SCALE = 32768.0
INT16_MAX = 32767
INT16_MIN = -32768

FloatArray = npt.NDArray[np.float64]
Int16Array = npt.NDArray[np.int16]


def to_float(x: npt.ArrayLike) -> FloatArray:
    """Samples as float64 at full scale 1.0 (int16 is divided by 32768)."""
    a = np.asarray(x)
    if a.dtype == np.int16:
        return a.astype(np.float64) / INT16_SCALE
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        return a.astype(np.float64) / float(-info.min)
    return a.astype(np.float64, copy=False)


def to_int16(x: npt.ArrayLike) -> Int16Array:
    """Round float samples (full scale 1.0) to int16, saturating at the rails."""
    a = np.asarray(x)
    if a.dtype == np.int16:
        return a
    f = to_float(a)
    return np.clip(np.rint(f * INT16_SCALE), INT16_MIN, INT16_MAX).astype(np.int16)


def resample(x: npt.ArrayLike, sr_in: int, sr_out: int) -> FloatArray:
    """Polyphase resampling of a 1-D signal (float64 out); identity when the rates match."""
    f = to_float(x)
    if sr_in == sr_out:
        return f
    if sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_in} and {sr_out}")
    g = math.gcd(int(sr_in), int(sr_out))
    return np.asarray(resample_poly(f, sr_out // g, sr_in // g), dtype=np.float64)


def power_db(x: npt.ArrayLike) -> float:
    """Mean power in dB relative to full scale (float scale); -inf for silence."""
    f = to_float(x)
    if f.size == 0:
        return float("-inf")
    p = float(np.mean(f * f))
    return 10.0 * math.log10(p) if p > 0 else float("-inf")


def write_wav(path: Path, samples: Int16Array, sample_rate: int) -> None:
    """Write mono PCM16 WAV (no metadata chunks, so the bytes depend on the samples only)."""
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError("write_wav expects a 1-D int16 array")
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sample_rate, subtype="PCM_16", format="WAV")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read an audio file as (samples, rate): int16 for PCM16 files, float64 otherwise.

    Raises DataError for an unreadable or multi-channel file.
    """
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises RuntimeError / LibsndfileError
        raise DataError(
            f"{path}: cannot read this audio file ({exc}); replace it with a valid WAV/FLAC or remove it from the set"
        ) from exc
    if info.channels != 1:
        raise DataError(
            f"{path}: has {info.channels} channels, the bench needs mono; convert it "
            f"(e.g. `sox {path.name} -c 1 mono.wav`) or remove it"
        )
    try:
        if info.subtype == "PCM_16":
            data, sr = sf.read(str(path), dtype="int16", always_2d=False)
        else:
            data, sr = sf.read(str(path), dtype="float64", always_2d=False)
    except Exception as exc:
        raise DataError(f"{path}: cannot decode the samples ({exc}); re-encode it as PCM16 WAV or remove it") from exc
    return np.ascontiguousarray(data), int(sr)
