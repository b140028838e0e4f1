"""Synthetic noises of named classes. Every generator takes an explicit numpy Generator,
a length in samples and a sample rate, and returns float64 samples at unit RMS.

Classes (see docs/testset.md):

white     flat spectrum Gaussian noise
pink      1/f power spectrum (-3 dB/octave), flat below 20 Hz
brown     1/f^2 power spectrum (-6 dB/octave), flat below 20 Hz
babble    4 to 6 espeak-ng talkers of other sentences of the same split, summed
hum       mains hum at 50 or 60 Hz with harmonics, slow drift, faint noise floor
fan       low-passed noise (HVAC rumble) plus blade-pass tones with harmonics
keyboard  key presses and releases: short band-passed clicks with a low "thock"
music     a melody and a bass line of harmonic notes on a pentatonic scale
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.signal import butter, sosfilt

from bench.data.audio import FloatArray
from bench.data.tts import PITCH_RANGE, RATE_RANGE, VOICES, Voice, synthesize

NOISE_CLASSES: tuple[str, ...] = (
    "white",
    "pink",
    "brown",
    "babble",
    "hum",
    "fan",
    "keyboard",
    "music",
)


def unit_rms(x: FloatArray) -> FloatArray:
    rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
    if rms == 0.0:
        return x
    return x / rms


def white(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    return unit_rms(rng.standard_normal(n))


def _coloured(rng: np.random.Generator, n: int, sr: int, power_exponent: float) -> FloatArray:
    """Gaussian noise with power spectrum ~ f^-power_exponent above 20 Hz, flat below, no DC."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    shape = np.maximum(f, 20.0) ** (-power_exponent / 2.0)
    shape[0] = 0.0
    return unit_rms(np.fft.irfft(spec * shape, n))


def pink(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    return _coloured(rng, n, sr, 1.0)


def brown(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    return _coloured(rng, n, sr, 2.0)


def hum(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    mains = float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / sr
    # slow drift of the mains frequency (+-0.1 %) and a slow amplitude wobble
    drift = 1.0 + 0.001 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * mains * np.cumsum(drift) / sr
    n_harm = int(min(40, (0.45 * sr) // mains, 4000 // mains))
    slope = rng.uniform(0.6, 1.6)
    even_gain = rng.uniform(0.3, 1.0)
    x = np.zeros(n)
    for k in range(1, n_harm + 1):
        a = rng.uniform(0.4, 1.0) * k ** (-slope) * (even_gain if k % 2 == 0 else 1.0)
        x += a * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    x *= 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 2 * np.pi))
    x = unit_rms(x)
    return unit_rms(x + 10 ** (-35 / 20) * rng.standard_normal(n))


def fan(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    settle = sr // 2  # drop the filter's start-up transient
    cutoff = rng.uniform(300.0, 900.0)
    sos = butter(2, cutoff, btype="low", fs=sr, output="sos")
    rumble = unit_rms(sosfilt(sos, rng.standard_normal(n + settle))[settle:])
    broadband = _coloured(rng, n, sr, 1.0)
    t = np.arange(n) / sr
    blades = int(rng.integers(3, 8))
    blade_pass = rng.uniform(60.0, 180.0)
    rotation = blade_pass / blades
    wobble = 1.0 + 0.003 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    phase = 2 * np.pi * blade_pass * np.cumsum(wobble) / sr
    tones = np.zeros(n)
    for k in range(1, 5):
        tones += rng.uniform(0.3, 1.0) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    tones *= 1.0 + 0.2 * np.sin(2 * np.pi * rotation * t)
    tone_gain = math.sqrt(rng.uniform(0.05, 0.3))
    x = rumble + 10 ** (-12 / 20) * broadband + tone_gain * unit_rms(tones)
    return unit_rms(x)


def keyboard(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    x = np.zeros(n)
    click_len = int(0.03 * sr)
    tc = np.arange(click_len) / sr
    rate = rng.uniform(4.0, 9.0)  # key strokes per second
    pos = rng.uniform(0.0, 0.3)
    while True:
        start = int(pos * sr)
        if start >= n:
            break
        level = 10 ** (rng.normal(0.0, 3.0) / 20)
        release = pos + rng.uniform(0.06, 0.14)
        for when, amp in ((pos, level), (release, level * rng.uniform(0.3, 0.7))):
            i0 = int(when * sr)
            if i0 >= n:
                continue
            fc = rng.uniform(1500.0, min(5000.0, 0.4 * sr))
            sos = butter(2, [fc * 0.6, min(fc * 1.4, 0.45 * sr)], btype="band", fs=sr, output="sos")
            burst = sosfilt(sos, rng.standard_normal(click_len)) * np.exp(-tc / rng.uniform(1e-3, 4e-3))
            thock = np.sin(2 * np.pi * rng.uniform(150.0, 400.0) * tc) * np.exp(-tc / rng.uniform(5e-3, 15e-3))
            click = unit_rms(burst) + 0.5 * unit_rms(thock)
            seg = click[: n - i0]
            x[i0 : i0 + seg.size] += amp * seg
        pos += rng.gamma(2.0, 1.0 / (2.0 * rate))
    floor = _coloured(rng, n, sr, 1.0) * 10 ** (-40 / 20) * math.sqrt(float(np.mean(x * x)) + 1e-12)
    return unit_rms(x + floor)


_PENTATONIC = ((0, 2, 4, 7, 9), (0, 3, 5, 7, 10))  # major, minor


def _note(rng: np.random.Generator, midi: float, dur_s: float, sr: int, n_harm: int, bright: float) -> FloatArray:
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    m = int(dur_s * sr)
    t = np.arange(m) / sr
    tone = np.zeros(m)
    for k in range(1, n_harm + 1):
        if k * f0 >= 0.45 * sr:
            break
        tone += k ** (-bright) * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    attack = np.minimum(t / 0.01, 1.0)
    decay = np.exp(-t / rng.uniform(0.2, 0.8))
    release = np.minimum((dur_s - t) / 0.02, 1.0)
    out: FloatArray = tone * attack * decay * np.clip(release, 0.0, 1.0)
    return out


def music(rng: np.random.Generator, n: int, sr: int) -> FloatArray:
    beat = 60.0 / rng.uniform(80.0, 140.0)
    root = int(rng.integers(55, 68))
    scale = _PENTATONIC[int(rng.integers(0, 2))]
    bright = rng.uniform(1.0, 2.0)
    melody = np.zeros(n)
    pos, degree = 0.0, int(rng.integers(0, 5))
    while int(pos * sr) < n:
        dur = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 9))
        midi = root + scale[degree % 5] + 12 * (degree // 5)
        note = _note(rng, midi, dur, sr, 8, bright)
        i0 = int(pos * sr)
        seg = note[: n - i0]
        melody[i0 : i0 + seg.size] += seg
        pos += dur
    bass = np.zeros(n)
    pos = 0.0
    while int(pos * sr) < n:
        midi = root - 24 + (0 if rng.uniform() < 0.6 else 7)
        note = _note(rng, midi, 2 * beat, sr, 6, bright + 0.5)
        i0 = int(pos * sr)
        seg = note[: n - i0]
        bass[i0 : i0 + seg.size] += seg
        pos += 2 * beat
    return unit_rms(unit_rms(melody) + 0.7 * unit_rms(bass))


def babble(
    rng: np.random.Generator,
    n: int,
    sr: int,
    sentences: Sequence[tuple[str, str]],
    exclude: Sequence[str] = (),
) -> FloatArray:
    """4 to 6 espeak-ng talkers of ``sentences`` (ids in ``exclude`` are not used)."""
    pool = [text for sid, text in sentences if sid not in set(exclude)]
    if not pool:
        raise ValueError("babble needs at least one sentence that is not excluded")
    out = np.zeros(n)
    for _ in range(int(rng.integers(4, 7))):
        voice = Voice(
            str(rng.choice(VOICES)),
            int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
            int(rng.integers(RATE_RANGE[0], RATE_RANGE[1] + 1)),
        )
        offset = int(rng.uniform(0.0, 1.0) * sr)
        parts: list[FloatArray] = []
        total = 0
        while total < n + offset:
            speech = synthesize(pool[int(rng.integers(0, len(pool)))], voice, sr)
            gap = np.zeros(int(rng.uniform(0.05, 0.3) * sr))
            parts += [speech, gap]
            total += speech.size + gap.size
        talker = np.concatenate(parts)[offset : offset + n]
        out += 10 ** (rng.uniform(-3.0, 3.0) / 20) * unit_rms(talker)
    return unit_rms(out)


NoiseFn = Callable[[np.random.Generator, int, int], FloatArray]

SIMPLE_NOISES: dict[str, NoiseFn] = {
    "white": white,
    "pink": pink,
    "brown": brown,
    "hum": hum,
    "fan": fan,
    "keyboard": keyboard,
    "music": music,
}
"""Noise classes that need nothing but a Generator, a length and a rate (all but babble)."""
