"""The nsNet2 STFT front end and back end, frame by frame, as the target computes them.

Convention (docs/nsnet2.md, "STFT convention"):

* 16 kHz, hop H = 160 samples (10 ms), window N = 320 samples (20 ms), 50 % overlap.
* Window ``w[n] = sin(pi n / 320)``, n = 0..319: the square root of the *periodic* Hann
  window. It is used for analysis and again for synthesis; ``w[n]^2 + w[n+160]^2 = 1``,
  so analysis-window x synthesis-window overlap-adds to exactly one and the STFT/ISTFT
  pair reconstructs the input (delayed by 160 samples) with no extra scaling.
* Frame ``t`` (t = 0, 1, ...) holds input samples ``[160 t - 160, 160 t + 160)``, i.e. the
  previous hop then the current hop; the hop before the first is zeros. An utterance of
  n samples (n a multiple of 160, else zero-padded) gives ``n / 160`` frames.
* ``X_t = DFT_320(w * frame_t)``, bins 0..160 (161 bins), the plain unscaled DFT
  ``X[k] = sum_n x[n] e^{-2 pi i k n / 320}``; samples are floats with full scale 1.0
  (int16 / 32768).
* Features: ``log10(Re^2 + Im^2 + eps)`` (eps = config.log_eps, 1e-9), then per-bin
  ``(f - mean) / std`` with fixed statistics measured once on the train split (norm.npz).
  The quantizer may fold the normalisation into fc1 (W / std, b - W mean / std).
* Output: ``Y = g * X`` (real gain g in [0, 1] per bin), ``y = w * IDFT_320(Y)`` (with the
  1/320 of the inverse DFT), overlap-add: output hop t = tail of frame t-1 + head of
  frame t. The output is the input's estimate delayed by 160 samples (one hop).

The target's FFT: 320 = 2^6 x 5 is not a power of two. Zero-padding to 512 would give
257 bins and change the network's input, so the target computes the 320-point real DFT
exactly, as a 160-point complex FFT of the even/odd-packed frame (``z[m] = x[2m] + i
x[2m+1]``) followed by the standard real-FFT split; the 160-point FFT is mixed radix,
160 = 5 x 2^5 (one radix-5 stage and radix-2/4 stages). :func:`rfft320` and
:func:`irfft320` are that algorithm in numpy (float64 twiddles rounded to float32 once),
so the target's implementation has a stage-by-stage model to test against; the float
reference itself uses ``numpy.fft``, which computes the same DFT.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bench.models.common import stft as stft_
from bench.models.nsnet2.config import FRAME_LEN, HOP_LEN, N_BINS, N_FFT

F32 = np.float32


def window() -> np.ndarray:
    """sqrt-periodic-Hann window sin(pi n / 320), float32, read-only."""
    return stft_.sqrt_hann(FRAME_LEN)


def frames(x: npt.ArrayLike) -> np.ndarray:
    """Overlapping analysis frames (T, 320) of a float signal (not windowed).

    The signal is zero-padded at the end to a multiple of the hop; frame t starts at
    sample 160 t - 160 (one hop of zeros precedes the signal).
    """
    return stft_.frames(x, HOP_LEN)


def analysis(frame: npt.ArrayLike) -> np.ndarray:
    """Windowed 320-point real DFT of one frame (320,) or of frames (T, 320): complex64 (.., 161)."""
    return stft_.analysis(frame, window(), N_FFT)


def stft(x: npt.ArrayLike) -> np.ndarray:
    """Whole-signal STFT (T, 161) complex64 with the convention of the module doc."""
    return analysis(frames(x))


def log_power(spec: np.ndarray, eps: float) -> np.ndarray:
    """log10(|X|^2 + eps) in float32."""
    re, im = spec.real.astype(F32), spec.imag.astype(F32)
    return np.log10(re * re + im * im + F32(eps)).astype(F32)


def synthesis(spec: np.ndarray) -> np.ndarray:
    """Windowed inverse real DFT of one spectrum (161,) or of spectra (T, 161): float32 (.., 320)."""
    return stft_.synthesis(spec, window(), N_FFT)


def overlap_add(segments: np.ndarray) -> np.ndarray:
    """Overlap-add synthesis frames (T, 320) into T hops: output hop t = tail(t-1) + head(t)."""
    return stft_.overlap_add(segments, HOP_LEN)


# ---- the target's 320-point real FFT, as a numpy model -------------------------------


def _radices(n: int) -> tuple[int, ...]:
    out = []
    while n % 5 == 0:
        out.append(5)
        n //= 5
    while n % 4 == 0:
        out.append(4)
        n //= 4
    while n % 2 == 0:
        out.append(2)
        n //= 2
    if n != 1:
        raise ValueError("only sizes 2^a 5^b are supported")
    return tuple(out)


def _twiddle(n: int, k: np.ndarray) -> np.ndarray:
    """exp(-2 pi i k / n) computed in float64, rounded to complex64 once (table entries)."""
    return np.exp(-2j * np.pi * k / n).astype(np.complex64)


def _fft_mixed(z: np.ndarray) -> np.ndarray:
    """Decimation-in-time mixed-radix complex FFT (radix 5 first, then 4, then 2), complex64."""
    n = z.shape[-1]
    if n == 1:
        return z
    r = _radices(n)[0]
    m = n // r
    subs = [_fft_mixed(z[..., j::r]) for j in range(r)]  # r FFTs of length m
    k = np.arange(m)
    # butterfly: X[k + m q] = sum_j W_n^{j k} S_j[k] W_r^{j q}
    tw = [subs[0]] + [subs[j] * _twiddle(n, j * k) for j in range(1, r)]
    out = np.empty(z.shape[:-1] + (n,), dtype=np.complex64)
    for q in range(r):
        acc = tw[0].copy()
        for j in range(1, r):
            acc = acc + tw[j] * _twiddle(r, np.array(j * q % r))
        out[..., q * m : (q + 1) * m] = acc
    return out


def rfft320(x: npt.ArrayLike) -> np.ndarray:
    """320-point real DFT (161 bins) via a 160-point mixed-radix complex FFT and a real split.

    The model of the target's FFT (see the module doc); equals ``numpy.fft.rfft(x, 320)`` to
    float32 rounding.
    """
    a = np.asarray(x, dtype=F32)
    if a.shape[-1] != N_FFT:
        raise ValueError(f"rfft320 needs {N_FFT} samples in the last axis, got {a.shape[-1]}")
    h = N_FFT // 2
    z = (a[..., 0::2] + 1j * a[..., 1::2]).astype(np.complex64)
    zf = _fft_mixed(z)  # Z[k], k = 0..159
    k = np.arange(N_BINS)
    zk = zf[..., k % h]
    zc = np.conj(zf[..., (h - k) % h])
    even = F32(0.5) * (zk + zc)  # DFT of x[2m]
    odd = np.complex64(-0.5j) * (zk - zc)  # DFT of x[2m+1]
    return (even + _twiddle(N_FFT, k) * odd).astype(np.complex64)


def irfft320(spec: npt.ArrayLike) -> np.ndarray:
    """Inverse of :func:`rfft320` (includes the 1/320): the same complex FFT run on conj data."""
    s = np.asarray(spec, dtype=np.complex64)
    if s.shape[-1] != N_BINS:
        raise ValueError(f"irfft320 needs {N_BINS} bins in the last axis, got {s.shape[-1]}")
    h = N_FFT // 2
    k = np.arange(h)
    a, b = s[..., k], np.conj(s[..., h - k])
    even = F32(0.5) * (a + b)
    odd = F32(0.5) * (a - b) * np.conj(_twiddle(N_FFT, k))
    z = even + np.complex64(1j) * odd  # Z[k] whose inverse is x[2m] + i x[2m+1]
    zt = np.conj(_fft_mixed(np.conj(z))) / F32(h)
    out = np.empty(s.shape[:-1] + (N_FFT,), dtype=F32)
    out[..., 0::2] = zt.real
    out[..., 1::2] = zt.imag
    return out
