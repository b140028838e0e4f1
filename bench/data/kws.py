"""Keyword spotting clips for the mixed-precision GRU family (docs/mpgru.md): one second of the
bench's generated noises with one word spoken by an espeak-ng voice somewhere in it; the class is
the keyword (10) or "unknown" (one of 10 other words). Nothing comes from the internet.

Speaker-disjoint: the train clips use the voices of ``voices_for("train")``, the test clips the
held-out voices of ``voices_for("test")`` (bench.data.speechsplit). The noise class of a clip is drawn
uniformly at random, independently of its voice, word and split; the SNR uniformly in
``SNR_RANGE`` dB. A clip set is a function of (split, n, seed) and the espeak-ng version; its
features (bench.data.speechfeat.log_band_features) are cached in ``build/mpgru/kws-<split>-<n>-s<seed>.npz``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.data.noises import NOISE_CLASSES, SIMPLE_NOISES, babble
from bench.data.sentences import sentences_for
from bench.data.speechsplit import voices_for
from bench.data.tts import PITCH_RANGE, RATE_RANGE, Voice, synthesize
from bench.errors import DataError

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "house", "tree", "happy", "wow", "seven", "learn")
CLASSES = (*KEYWORDS, "unknown")
SAMPLE_RATE = 16000
CLIP_S = 1.0
SNR_RANGE = (0.0, 20.0)
_SPLIT_KEYS = {"train": 0x4B57, "test": 0x4B58}


def _clip(rng: np.random.Generator, split: str, voices: tuple[str, ...]) -> tuple[np.ndarray, int, str, str]:
    """(int16 samples, class index, voice, noise class) of one clip."""
    cls = int(rng.integers(len(CLASSES)))
    word = CLASSES[cls] if cls < len(KEYWORDS) else str(rng.choice(UNKNOWN_WORDS))
    voice = Voice(str(rng.choice(voices)), int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                  int(rng.integers(RATE_RANGE[0], RATE_RANGE[1] + 1)))
    n = int(CLIP_S * SAMPLE_RATE)
    speech = synthesize(word, voice, SAMPLE_RATE)
    if speech.size == 0:
        raise DataError(f"espeak-ng produced no audio for {word!r} ({voice.name}); check the install")
    speech = speech[:n - SAMPLE_RATE // 20]
    start = int(rng.integers(0, n - speech.size + 1))
    clean = np.zeros(n)
    clean[start:start + speech.size] = speech
    noise_class = str(rng.choice(NOISE_CLASSES))
    if noise_class == "babble":
        noise = babble(rng, n, SAMPLE_RATE, sentences_for(split))
    else:
        noise = SIMPLE_NOISES[noise_class](rng, n, SAMPLE_RATE)
    level = 10 ** (float(rng.uniform(-30.0, -20.0)) / 20)
    snr = float(rng.uniform(*SNR_RANGE))
    clean *= level / max(math.sqrt(float(np.mean(speech ** 2))), 1e-9)
    noise *= level / max(math.sqrt(float(np.mean(noise ** 2))), 1e-9) / 10 ** (snr / 20)
    noisy = np.clip(clean + noise, -0.99, 0.99)
    return np.round(noisy * 32767).astype(np.int16), cls, voice.name, noise_class


def kws_set(split: str, n: int, seed: int = 0, cache_dir: Path | None = None
            ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(features (n, frames, bands) float64, classes (n,), voices, noise classes) of a clip set."""
    from bench.data.speechfeat import log_band_features
    from bench.paths import repo_root

    if split not in _SPLIT_KEYS:
        raise DataError(f"kws split must be 'train' or 'test', not {split!r}")
    cache = (cache_dir or repo_root() / "build" / "mpgru") / f"kws-{split}-{n}-s{seed}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return z["x"], z["y"], [str(v) for v in z["voice"]], [str(v) for v in z["noise"]]
    rng = np.random.default_rng([seed, _SPLIT_KEYS[split]])
    voices = voices_for(split)
    xs, ys, vs, ns = [], [], [], []
    for _ in range(n):
        pcm, cls, voice, noise_class = _clip(rng, split, voices)
        xs.append(log_band_features(pcm))
        ys.append(cls)
        vs.append(voice)
        ns.append(noise_class)
    x, y = np.stack(xs), np.array(ys, np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".tmp.npz")
    np.savez(tmp, x=x, y=y, voice=np.array(vs), noise=np.array(ns))
    tmp.replace(cache)
    return x, y, vs, ns
