"""Talkers of espeak-ng / festival / flite (bench.data.voices) and the speed perturbation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bench.data import voices
from bench.data.voices import Talker, draw_talker, speak, speed_perturb
from bench.errors import DataError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_talker_checks_its_fields() -> None:
    with pytest.raises(DataError, match="unknown speech engine"):
        Talker("sapi", "x")
    with pytest.raises(DataError, match="one plain word"):
        Talker("festival", "voice_x) (quit")
    with pytest.raises(DataError, match="speed"):
        Talker("flite", "slt", speed=2.0)


def test_draw_is_deterministic_and_covers_engines() -> None:
    engines = {"espeak-ng": ("en", "de"), "festival": ("kal_diphone",), "flite": ("slt", "rms")}
    weights = {"espeak-ng": 1.0, "festival": 1.0, "flite": 1.0}
    a = [draw_talker(np.random.default_rng(s), engines, weights) for s in range(40)]
    b = [draw_talker(np.random.default_rng(s), engines, weights) for s in range(40)]
    assert a == b
    assert {t.engine for t in a} == set(engines)
    for t in a:
        assert voices.SPEED_RANGE[0] <= t.speed <= voices.SPEED_RANGE[1]
        if t.engine == "espeak-ng":
            assert t.voice.split("+")[0] in engines["espeak-ng"] and 20 <= t.pitch <= 80


def test_draw_without_engines_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="no speech engine"):
        draw_talker(np.random.default_rng(0), {}, {})


def test_speed_perturb_changes_length_and_pitch() -> None:
    sr = 16000
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * 200 * t)
    y = speed_perturb(x, 1.1)
    assert abs(y.size - sr / 1.1) < 2
    f = np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(np.abs(np.fft.rfft(y)))]
    assert abs(f - 220) < 3
    assert speed_perturb(x, 1.0) is x


@needs_espeak
def test_espeak_talker_speaks_deterministically() -> None:
    t = Talker("espeak-ng", "de+m3", pitch=40, stretch=1.1, speed=0.95)
    a, b = speak("A short test.", t), speak("A short test.", t)
    assert a.size > 8000 and np.array_equal(a, b)


@pytest.mark.parametrize("engine", ["festival", "flite"])
def test_parametric_engines_speak(engine: str) -> None:
    installed = voices.installed_talkers().get(engine)
    if not installed:
        pytest.skip(f"{engine} voices not installed (scripts/bootstrap installs them)")
    for v in installed[:2]:
        x = speak("The birch canoe slid.", Talker(engine, v, stretch=1.0, speed=1.05))
        assert 0.4 * 16000 < x.size < 5 * 16000, v
        assert np.max(np.abs(x)) > 0.01, v


def test_missing_voice_is_a_clear_error() -> None:
    if "flite" not in voices.installed_talkers():
        pytest.skip("flite not installed")
    with pytest.raises(DataError, match="flite voice"):
        speak("Hello.", Talker("flite", "nosuchvoice"))
