"""Synthetic noise classes: unit level, determinism, and the spectral shape each class claims."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data import noises
from bench.data.sentences import TEST_SENTENCES, TRAIN_SENTENCES, sentences_for
from bench.data.tts import VOICES

SR = 16000
N = 2 * SR


def band_power_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(10 * np.log10(spec[(f >= lo) & (f < hi)].mean()))


@pytest.mark.parametrize("name", sorted(noises.SIMPLE_NOISES))
def test_simple_noise_is_unit_rms_and_deterministic(name: str) -> None:
    fn = noises.SIMPLE_NOISES[name]
    a = fn(np.random.default_rng(7), N, SR)
    b = fn(np.random.default_rng(7), N, SR)
    c = fn(np.random.default_rng(8), N, SR)
    assert a.shape == (N,) and a.dtype == np.float64
    assert np.sqrt(np.mean(a**2)) == pytest.approx(1.0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("name", "slope_db_per_octave"), [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_coloured_noise_slopes(name: str, slope_db_per_octave: float) -> None:
    x = noises.SIMPLE_NOISES[name](np.random.default_rng(0), 4 * SR, SR)
    # average slope between the 250-500 Hz and 2-4 kHz octaves (three octaves apart)
    slope = (band_power_db(x, 2000, 4000) - band_power_db(x, 250, 500)) / 3
    assert slope == pytest.approx(slope_db_per_octave, abs=0.6)


def test_hum_is_harmonic_on_mains() -> None:
    x = noises.hum(np.random.default_rng(3), 4 * SR, SR)
    spec = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / SR)
    peak = f[np.argmax(spec[f < 1000])]
    mains = 50.0 if any(abs(peak - 50 * k) < 2 for k in range(1, 20)) else 60.0
    assert any(abs(peak - mains * k) < 2 for k in range(1, 20))
    # power concentrated near multiples of the mains frequency
    near = np.min(np.abs(f[:, None] - mains * np.arange(1, 80)[None, :]), axis=1) < 3
    assert (spec[near] ** 2).sum() / (spec**2).sum() > 0.9


def test_fan_is_low_frequency_heavy() -> None:
    x = noises.fan(np.random.default_rng(1), N, SR)
    assert band_power_db(x, 50, 400) - band_power_db(x, 3000, 6000) > 15


def test_keyboard_is_impulsive() -> None:
    x = noises.keyboard(np.random.default_rng(2), N, SR)
    assert np.max(np.abs(x)) > 8  # crest factor >> Gaussian
    frames = np.sqrt(np.mean(x[: N // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    assert np.median(frames) < 0.3  # mostly quiet between clicks


def test_music_is_tonal() -> None:
    x = noises.music(np.random.default_rng(4), N, SR)
    spec = np.abs(np.fft.rfft(x)) ** 2
    top = np.sort(spec)[::-1]
    assert top[: spec.size // 100].sum() / spec.sum() > 0.8  # energy in a few spectral lines


def test_babble_uses_split_sentences_and_is_deterministic() -> None:
    a = noises.babble(np.random.default_rng(5), SR, SR, TEST_SENTENCES[:3], exclude=("ts001",))
    b = noises.babble(np.random.default_rng(5), SR, SR, TEST_SENTENCES[:3], exclude=("ts001",))
    assert np.array_equal(a, b)
    assert np.sqrt(np.mean(a**2)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one sentence"):
        noises.babble(np.random.default_rng(5), SR, SR, TEST_SENTENCES[:1], exclude=("ts001",))


def test_sentence_lists_are_disjoint_and_short() -> None:
    test_text = {t for _, t in TEST_SENTENCES}
    train_text = {t for _, t in TRAIN_SENTENCES}
    assert not test_text & train_text
    assert len(test_text) == len(TEST_SENTENCES) and len(train_text) == len(TRAIN_SENTENCES)
    assert len({i for i, _ in TEST_SENTENCES + TRAIN_SENTENCES}) == len(TEST_SENTENCES) + len(TRAIN_SENTENCES)
    assert all(4 <= len(t.split()) <= 10 for _, t in TEST_SENTENCES + TRAIN_SENTENCES)
    assert sentences_for("test") is TEST_SENTENCES and sentences_for("train") is TRAIN_SENTENCES
    with pytest.raises(ValueError):
        sentences_for("dev")


def test_voice_names_are_unique() -> None:
    assert len(set(VOICES)) == len(VOICES)
    # espeak-ng ignores a variant on "en-gb" ("en-gb+f2" sounds like "en-gb"): spell it "en+f2"
    assert not any(v.startswith("en-gb+") for v in VOICES)
