"""Shoebox rooms (bench.data.rooms) and microphone effects (bench.data.miceffects)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.data import miceffects, rooms

SR = 16000


def _band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_rooms_are_drawn_inside_their_bounds() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        r = rooms.draw_room(rng)
        assert rooms.RT60_RANGE[0] <= r.rt60 <= rooms.RT60_RANGE[1]
        for p in (r.source, r.mic):
            assert all(0.5 <= p[i] <= r.dims[i] - 0.5 for i in range(2)) and 0.7 <= p[2] <= 2.0
        assert 0.5 <= r.distance <= 4.0


def test_impulse_response_has_a_unit_direct_path_and_a_longer_tail_when_livelier() -> None:
    pytest.importorskip("pyroomacoustics")
    dry = rooms.Room((6.0, 5.0, 3.0), 0.2, (2.0, 2.0, 1.5), (4.0, 3.0, 1.5))
    wet = rooms.Room((6.0, 5.0, 3.0), 0.7, (2.0, 2.0, 1.5), (4.0, 3.0, 1.5))
    h_dry, h_wet = rooms.impulse_response(dry, SR), rooms.impulse_response(wet, SR)
    assert math.isclose(float(np.max(np.abs(h_dry))), 1.0) and math.isclose(float(np.max(np.abs(h_wet))), 1.0)
    # the direct path arrives after distance / c
    delay = int(np.argmax(np.abs(h_dry)))
    assert abs(delay / SR - dry.distance / 343.0) < 0.004
    late = slice(delay + int(0.05 * SR), None)
    assert np.sum(h_wet[late] ** 2) > 2 * np.sum(h_dry[late] ** 2)
    y = rooms.reverberate(np.ones(100), h_dry)
    assert y.size == 100 + h_dry.size - 1


def test_telephone_band_removes_low_and_high_frequencies() -> None:
    x = np.random.default_rng(0).standard_normal(SR)
    y, name = miceffects.apply_effect("telephone", x, SR, np.random.default_rng(1))
    assert name == "telephone" and y.size == x.size
    assert _band_energy(y, 4200, 8000) < 1e-3 * _band_energy(y, 500, 3000)
    assert _band_energy(y, 0, 150) < 1e-2 * _band_energy(y, 500, 3000)


@pytest.mark.parametrize("name", ["highpass", "lowpass", "tilt", "none"])
def test_effects_keep_length_and_describe_themselves(name: str) -> None:
    x = np.random.default_rng(0).standard_normal(SR)
    y, desc = miceffects.apply_effect(name, x, SR, np.random.default_rng(2))
    assert y.size == x.size and desc.startswith(name) and np.all(np.isfinite(y))
    if name == "lowpass":
        fc = float(desc.split()[1])
        assert _band_energy(y, fc * 1.5, 8000) < 1e-2 * _band_energy(y, 100, fc / 2)
    if name == "highpass":
        fc = float(desc.split()[1])
        assert _band_energy(y, 0, fc / 4) < 0.05 * _band_energy(y, 1000, 2000) * (fc / 4) / 1000


def test_unknown_effect_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown effect"):
        miceffects.apply_effect("vinyl", np.zeros(10), SR, np.random.default_rng(0))


def test_effect_draw_uses_every_effect() -> None:
    rng = np.random.default_rng(0)
    assert {miceffects.draw_effect(rng) for _ in range(200)} == set(miceffects.EFFECTS)
