"""Microphone and channel effects on the speech of the diverse train mix.

One effect per utterance, drawn with ``EFFECT_WEIGHTS``:

none       the speech as synthesised (or reverberated)
telephone  300..3400 Hz band (4th-order Butterworth band-pass), then down to 8 kHz and
           back (what a narrow-band call recorded at 16 kHz holds), G.711 mu-law on the way
highpass   a small microphone's low-frequency roll-off: 2nd-order high-pass at 100..300 Hz
lowpass    a limited bandwidth: 6th-order low-pass at 3.5..7 kHz
tilt       a microphone's response: +-6 dB spectral tilt over the band and one +-6 dB
           resonance (peaking filter) at 1.5..5 kHz

The effect applies to the speech only (the training target is the processed speech), so
that a model learns to keep band-limited speech rather than to restore it; noise is mixed
afterwards at full band, as in the real-recording split.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from bench.data.audio import FloatArray, resample

EFFECTS = ("none", "telephone", "highpass", "lowpass", "tilt")
EFFECT_WEIGHTS = (0.4, 0.15, 0.15, 0.15, 0.15)
_MU = 255.0


def _mulaw(x: FloatArray) -> FloatArray:
    """G.711-like mu-law companding with 8-bit quantisation (round trip)."""
    peak = float(np.max(np.abs(x))) or 1.0
    y = x / peak
    c = np.sign(y) * np.log1p(_MU * np.abs(y)) / math.log1p(_MU)
    c = np.round(c * 127) / 127
    return peak * np.sign(c) * np.expm1(np.abs(c) * math.log1p(_MU)) / _MU


def _peaking(f0: float, gain_db: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """RBJ audio-EQ-cookbook peaking biquad."""
    a = 10 ** (gain_db / 40)
    w = 2 * math.pi * f0 / sr
    alpha = math.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * math.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * math.cos(w), 1 - alpha / a])
    return b / den[0], den / den[0]


def _tilt(x: FloatArray, sr: int, tilt_db: float) -> FloatArray:
    """Linear-in-log-frequency tilt of ``tilt_db`` from 100 Hz to sr/2 (zero phase, by FFT)."""
    spec = np.fft.rfft(x)
    f = np.maximum(np.fft.rfftfreq(x.size, 1 / sr), 100.0)
    g_db = tilt_db * np.log2(f / 100.0) / math.log2(sr / 2 / 100.0)
    return np.fft.irfft(spec * 10 ** (g_db / 20), x.size)


def apply_effect(name: str, x: FloatArray, sr: int, rng: np.random.Generator) -> tuple[FloatArray, str]:
    """``x`` through effect ``name`` with its parameters drawn from ``rng``; returns (y, description)."""
    if name == "none":
        return x, "none"
    if name == "telephone":
        sos = butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos")
        y = sosfilt(sos, x)
        y = resample(_mulaw(resample(y, sr, 8000)), 8000, sr)[: x.size]
        return y, "telephone"
    if name == "highpass":
        fc = float(rng.uniform(100, 300))
        return sosfilt(butter(2, fc, btype="highpass", fs=sr, output="sos"), x), f"highpass {fc:.0f} Hz"
    if name == "lowpass":
        fc = float(rng.uniform(3500, min(7000, 0.45 * sr)))
        return sosfilt(butter(6, fc, btype="lowpass", fs=sr, output="sos"), x), f"lowpass {fc:.0f} Hz"
    if name == "tilt":
        tilt = float(rng.uniform(-6, 6))
        f0, g = float(rng.uniform(1500, min(5000, 0.4 * sr))), float(rng.uniform(-6, 6))
        b, a = _peaking(f0, g, 2.0, sr)
        return lfilter(b, a, _tilt(x, sr, tilt)), f"tilt {tilt:+.1f} dB, peak {f0:.0f} Hz {g:+.1f} dB"
    raise ValueError(f"unknown effect {name!r}; use one of {EFFECTS}")


def draw_effect(rng: np.random.Generator) -> str:
    return EFFECTS[int(rng.choice(len(EFFECTS), p=np.array(EFFECT_WEIGHTS)))]
