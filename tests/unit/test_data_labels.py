"""Frame labels from clean speech: VAD against energy, F0 against tones of known pitch."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.labels import FrameLabels, active_power, frame_labels, frame_power_db, n_frames, vad_from_clean

SR = 16000


def tone(f0: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * f0 * t)


def voiced_tone(f0: float, seconds: float, amp: float = 0.1) -> np.ndarray:
    """A harmonic (sawtooth-like) tone: what Harvest sees as voiced speech. Note that
    Harvest does not report a pure sinusoid as voiced."""
    t = np.arange(int(seconds * SR)) / SR
    return amp * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, int(7000 / f0)))


def test_n_frames_counts_partial_frame() -> None:
    assert n_frames(1600, 160) == 10
    assert n_frames(1601, 160) == 11
    assert n_frames(0, 160) == 0


def test_frame_power_db_of_known_blocks() -> None:
    x = np.concatenate([np.zeros(160), np.full(160, 0.5), np.full(160, -0.1)])
    e = frame_power_db(x, 160)
    assert e[0] == -np.inf
    assert e[1] == pytest.approx(10 * np.log10(0.25))
    assert e[2] == pytest.approx(-20.0)


@pytest.mark.parametrize("hop", [160, 256])
def test_vad_follows_clean_energy(hop: int) -> None:
    # 0.5 s silence, 1 s tone, 0.5 s silence: speech exactly on the frames the tone covers
    x = np.concatenate([np.zeros(8000), tone(220, 1.0), np.zeros(8000)])
    vad = vad_from_clean(x, SR, hop)
    e = frame_power_db(x, hop)
    assert vad.size == n_frames(x.size, hop)
    assert np.array_equal(vad, e > -60.0)
    first, last = np.flatnonzero(vad)[[0, -1]]
    assert first == 8000 // hop
    assert last == (24000 - 1) // hop


def test_vad_fills_short_gaps_and_drops_blips() -> None:
    gap = np.zeros(int(0.03 * SR))  # 30 ms pause inside speech: filled
    blip = tone(300, 0.01)  # a lone 10 ms burst: dropped
    x = np.concatenate([np.zeros(8000), tone(200, 0.3), gap, tone(200, 0.3), np.zeros(8000), blip, np.zeros(8000)])
    vad = vad_from_clean(x, SR, 160)
    on = np.flatnonzero(vad)
    assert np.all(np.diff(on) == 1), "the 30 ms gap should be filled"
    assert on.size == (0.6 + 0.03) * 100


def test_vad_of_silence_is_all_false() -> None:
    assert not vad_from_clean(np.zeros(16000), SR, 160).any()


@pytest.mark.parametrize("f0", [110.0, 200.0, 310.0])
def test_f0_labels_match_tone_pitch(f0: float) -> None:
    x = np.concatenate([np.zeros(4000), voiced_tone(f0, 1.0), np.zeros(4000)])
    labels = frame_labels(x, SR, (160, 256))
    for hop, lab in labels.items():
        assert isinstance(lab, FrameLabels)
        assert lab.n_frames == n_frames(x.size, hop)
        assert not lab.voiced[~lab.vad].any()
        assert np.all(lab.f0_hz[~lab.voiced] == 0.0)
        # well inside the tone every frame is voiced at the tone's pitch
        inner = slice((4000 + 1600) // hop, (20000 - 1600) // hop)
        assert lab.voiced[inner].all()
        assert np.allclose(lab.f0_hz[inner], f0, rtol=0.01)


def test_active_power_ignores_silence() -> None:
    x = np.concatenate([np.zeros(16000), tone(200, 1.0, amp=0.5)])
    assert active_power(x, SR) == pytest.approx(0.125, rel=0.01)


def test_frame_labels_validates_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        FrameLabels(160, SR, np.zeros(3, bool), np.zeros(2, np.float32), np.zeros(3, bool))
