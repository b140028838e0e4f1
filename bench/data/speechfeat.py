"""Speech-in-noise tasks of the mixed-precision GRU family (docs/mpgru.md): per-frame log band
energies of the bench's generated speech-in-noise sets (bench.data.generate), with the sets' own
labels: frame-level voice activity (frames_hop256.parquet) and the utterance's noise class.

Features: one frame per hop of 256 samples (16 ms at 16 kHz; the grid of the sets' VAD labels),
a 512-point Hann window over the previous and the current hop, |FFT|^2 pooled into ``BANDS``
bands equally spaced on the mel scale from 0 to 8 kHz, log10(power + 1e-8)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.errors import DataError

HOP = 256
WIN = 512
BANDS = 16


@lru_cache(maxsize=4)
def band_matrix(bands: int = BANDS, n_fft: int = WIN, sample_rate: int = 16000) -> np.ndarray:
    """(bands, n_fft // 2 + 1) triangular mel band weights."""
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def imel(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = imel(np.linspace(0.0, mel(np.array(sample_rate / 2.0)), bands + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    m = np.zeros((bands, freqs.size))
    for b in range(bands):
        lo, c, hi = edges[b], edges[b + 1], edges[b + 2]
        m[b] = np.clip(np.minimum((freqs - lo) / max(c - lo, 1e-9), (hi - freqs) / max(hi - c, 1e-9)), 0.0, None)
    return m


def log_band_features(x: np.ndarray, bands: int = BANDS) -> np.ndarray:
    """(ceil(n / HOP), bands) float64 features of int16 (or float in -1..1) audio ``x``."""
    a = np.asarray(x, np.float64)
    if a.dtype.kind != "f" or np.abs(a).max(initial=0.0) > 1.5:
        a = a / 32768.0
    n = -(-a.size // HOP)
    padded = np.zeros((n + 1) * HOP)
    padded[HOP: HOP + a.size] = a
    frames = np.lib.stride_tricks.sliding_window_view(padded, WIN)[::HOP][:n]
    spec = np.abs(np.fft.rfft(frames * np.hanning(WIN + 2)[1:-1], axis=1)) ** 2
    return np.log10(spec @ band_matrix(bands).T + 1e-8)


def load_speech_task(set_dir: str | Path, task: str, voices: tuple[str, ...] | None = None
                     ) -> tuple[list[np.ndarray], list[np.ndarray | int], list[str], list[str]]:
    """(features per utterance, labels, utterance ids, voices) of a generated set: ``task`` 'vad'
    gives a per-frame 0/1 array, 'noise' the index of the utterance's noise class in NOISE_CLASSES.
    ``voices``: keep only the utterances spoken by these voices (bench.data.speechsplit)."""
    from bench.data.loader import load_set
    from bench.data.noises import NOISE_CLASSES
    from bench.data.speakers import speaker_of

    if task not in ("vad", "noise"):
        raise DataError(f"speech task must be 'vad' or 'noise', not {task!r}")
    ts = load_set(set_dir)
    feats: list[np.ndarray] = []
    labels: list[np.ndarray | int] = []
    ids: list[str] = []
    spoken: list[str] = []
    for u in ts:
        voice = speaker_of(u) or ""
        if voices is not None and voice not in voices:
            continue
        f = log_band_features(u.noisy)
        feats.append(f)
        ids.append(u.id)
        spoken.append(voice)
        if task == "vad":
            v = np.asarray(u.frame_labels(HOP).vad, np.int64)
            if v.size != len(f):  # an invariant, not a user error: the loader pairs clean and noisy of one
                # length and its labels have ceil(n / hop) frames, as log_band_features has
                raise RuntimeError(f"{u.id}: {v.size} VAD labels for {len(f)} frames")
            labels.append(v)
        else:
            if u.noise_class not in NOISE_CLASSES:
                raise DataError(f"{u.id}: no noise class label")
            labels.append(NOISE_CLASSES.index(u.noise_class))
    if voices is not None and not feats:
        raise DataError(f"{set_dir}: no utterance spoken by {', '.join(voices)} (labels.csv needs a voice column)")
    return feats, labels, ids, spoken
