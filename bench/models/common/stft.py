"""The STFT of both families, at their sizes: sqrt-periodic-Hann window, hop = N / 2.

Frame ``t`` holds samples ``[H t - H, H t + H)`` (the hop before the first is zeros);
analysis and synthesis use the same window ``w[n] = sin(pi n / N)``, and overlap-add of
the synthesis frames reconstructs the input one hop late. The family front ends
(bench.models.nsnet2.frontend, bench.models.dyncp.frontend) fix N, H and the FFT size.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

F32 = np.float32


@functools.cache
def sqrt_hann(n: int) -> np.ndarray:
    """sqrt-periodic-Hann window sin(pi k / n), k = 0..n-1, float32, read-only."""
    w = np.sin(np.pi * np.arange(n) / n).astype(F32)
    w.setflags(write=False)
    return w


def frames(x: npt.ArrayLike, hop: int) -> np.ndarray:
    """Overlapping analysis frames (T, 2 hop) of a float signal (not windowed).

    The signal is zero-padded at the end to a multiple of the hop; frame t starts at
    sample hop (t - 1) (one hop of zeros precedes the signal).
    """
    a = np.asarray(x, dtype=F32).reshape(-1)
    t = -(-a.size // hop)
    padded = np.zeros((t + 1) * hop, dtype=F32)
    padded[hop : hop + a.size] = a
    hops = padded.reshape(t + 1, hop)
    return np.concatenate([hops[:-1], hops[1:]], axis=1)


def analysis(frame: npt.ArrayLike, window: np.ndarray, n_fft: int) -> np.ndarray:
    """Windowed real DFT of one frame or of frames (T, N): complex64 (.., n_fft / 2 + 1)."""
    return np.fft.rfft(np.asarray(frame, dtype=F32) * window, n=n_fft, axis=-1).astype(np.complex64)


def synthesis(spec: np.ndarray, window: np.ndarray, n_fft: int) -> np.ndarray:
    """Windowed inverse real DFT of spectra (.., n_fft / 2 + 1): float32 (.., N)."""
    return (np.fft.irfft(spec, n=n_fft, axis=-1).astype(F32) * window).astype(F32)


def overlap_add(segments: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add synthesis frames (T, 2 hop) into T hops: output hop t = tail(t-1) + head(t)."""
    seg = np.asarray(segments, dtype=F32)
    out = seg[:, :hop].copy()
    out[1:] += seg[:-1, hop:]
    return out.reshape(-1)
