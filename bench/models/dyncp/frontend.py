"""The Conv-FSENet STFT front end and back end, frame by frame, as the target computes them.

Convention (docs/dyncp.md, "STFT convention"), the nsNet2 one at 512 / 256:

* 16 kHz, hop H = 256 samples (16 ms), window N = 512 samples (32 ms), 50 % overlap.
* Window ``w[n] = sin(pi n / 512)``: the square root of the periodic Hann window, for
  analysis and synthesis; ``w[n]^2 + w[n+256]^2 = 1``, so the pair reconstructs exactly.
* Frame ``t`` holds samples ``[256 t - 256, 256 t + 256)`` (previous hop, current hop; the
  hop before the first is zeros); n samples give ``ceil(n / 256)`` frames.
* ``X_t = DFT_512(w * frame_t)``, 257 bins, unscaled; features ``|X|^0.3``.
* Output ``Y = g X``, ``y = w * IDFT_512(Y)``, overlap-add; one hop (256 samples) of delay.

512 is a power of two, so the target can use a standard radix-2/4 real FFT.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bench.models.common import stft as stft_
from bench.models.dyncp.config import FRAME_LEN, HOP_LEN, N_FFT

F32 = np.float32


def window() -> np.ndarray:
    """sqrt-periodic-Hann window sin(pi n / 512), float32, read-only."""
    return stft_.sqrt_hann(FRAME_LEN)


def pad_hops(x: npt.ArrayLike, extra: int = 0) -> np.ndarray:
    """float32 signal zero-padded to whole hops plus ``extra`` hops."""
    a = np.asarray(x, dtype=F32).reshape(-1)
    t = -(-a.size // HOP_LEN)
    out = np.zeros((t + extra) * HOP_LEN, F32)
    out[: a.size] = a
    return out


def frames(x: npt.ArrayLike) -> np.ndarray:
    """Overlapping analysis frames (T, 512) of a float signal (not windowed)."""
    return stft_.frames(x, HOP_LEN)


def analysis(frame: npt.ArrayLike) -> np.ndarray:
    """Windowed 512-point real DFT of one frame (512,) or of frames (T, 512): complex64 (.., 257)."""
    return stft_.analysis(frame, window(), N_FFT)


def stft(x: npt.ArrayLike) -> np.ndarray:
    """Whole-signal STFT (T, 257) complex64."""
    return analysis(frames(x))


def features(spec: np.ndarray, compress: float) -> np.ndarray:
    """Power-law compressed magnitude ``|X|^c`` in float32."""
    re, im = spec.real.astype(F32), spec.imag.astype(F32)
    return np.power(np.sqrt(re * re + im * im), F32(compress)).astype(F32)


def synthesis(spec: np.ndarray) -> np.ndarray:
    """Windowed inverse real DFT of (.., 257) spectra: float32 (.., 512)."""
    return stft_.synthesis(spec, window(), N_FFT)


def overlap_add(segments: np.ndarray) -> np.ndarray:
    """Overlap-add synthesis frames (T, 512) into T hops: output hop t = tail(t-1) + head(t)."""
    return stft_.overlap_add(segments, HOP_LEN)
