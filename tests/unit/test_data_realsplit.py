"""The real-recording split (bench.data.realsplit) on recordings made here, and the catalogue."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.data import realsplit, recordings
from bench.data.loader import load_set
from bench.errors import DataError


def _talk(sr: int, seconds: float, seed: int) -> np.ndarray:
    """Speech-like: 120..200 Hz harmonic syllables of 200 ms with 120 ms pauses, -20 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = rng.uniform(120, 200)
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    gate = (np.mod(t, 0.32) < 0.2).astype(float)
    return 0.1 * x * gate


@pytest.fixture(scope="module")
def fake_recs(tmp_path_factory: pytest.TempPathFactory) -> tuple[recordings.Recording, ...]:
    d = tmp_path_factory.mktemp("recs")
    out = []
    for name, sr, sec in (("long16k.wav", 16000, 9.7), ("short8k.wav", 8000, 2.2)):
        sf.write(d / name, _talk(sr, sec, len(out)), sr, subtype="PCM_16")
        out.append(recordings.Recording(d / name, "codec2-examples", "made by the test"))
    return tuple(out)


def test_cut_points_cut_long_recordings_at_pauses() -> None:
    x = _talk(16000, 11.0, 0)
    cuts = realsplit.cut_points(x)
    assert cuts[0][0] == 0 and cuts[-1][1] == x.size
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:], strict=False))
    for a, b in cuts[:-1]:
        assert realsplit.MIN_SEG_S * 16000 <= b - a <= realsplit.MAX_SEG_S * 16000
        frame = x[b - 80 : b + 80]
        assert np.sqrt(np.mean(frame**2)) < 1e-3  # in a pause
    assert realsplit.cut_points(x[:32000]) == [(0, 32000)]


def test_real_set_layout_labels_and_provenance(fake_recs: tuple[recordings.Recording, ...], tmp_path: Path) -> None:
    rows = realsplit.make_real_set(tmp_path / "r", 5, recs=fake_recs, classes=("white", "pink"))
    assert len(rows) == 4  # 9.7 s -> 3 pieces, 2.2 s -> 1
    with open(tmp_path / "r" / "labels.csv", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert [r["utt"] for r in got] == [f"real_{i:04d}" for i in range(4)]
    assert {r["package"] for r in got} == {"codec2-examples"}
    assert all(r["licence"].startswith("LGPL-2.1") for r in got)
    assert [r["source_rate"] for r in got] == ["16000"] * 3 + ["8000"]
    assert all(0.0 <= float(r["snr_db"]) <= 10.0 for r in got)
    ts = load_set(tmp_path / "r")
    assert len(ts) == 4 and set(ts.noise_classes) == {"white", "pink"}
    for u in ts:
        lab = u.frame_labels(160)
        assert lab.vad.any() and lab.voiced.any() and (~lab.vad).any()
        assert u.noisy.size % 1280 == 0
    prov = (tmp_path / "r" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "long16k.wav" in prov and "short8k.wav" in prov


def test_real_set_is_deterministic(fake_recs: tuple[recordings.Recording, ...], tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip

    for name in ("a", "b"):
        realsplit.make_real_set(tmp_path / name, 1, recs=fake_recs[1:], classes=("brown",), command="c")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    with pytest.raises(DataError, match="already holds"):
        realsplit.make_real_set(tmp_path / "a", 1, recs=fake_recs[1:], classes=("brown",))


def test_bad_classes_and_missing_packages_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="subset of"):
        realsplit.make_real_set(tmp_path / "x", 0, recs=(), classes=("traffic",))
    with pytest.raises(DataError, match="codec2-examples"):
        recordings.require((), "speech")
    none = recordings.speech_recordings(tmp_path / "no", tmp_path / "no", with_pysptk=False)
    assert none == ()
    with pytest.raises(ValueError, match="train or test"):
        recordings.music_recordings("dev")


def test_train_and_test_music_never_share_a_track() -> None:
    assert not set(recordings.MOH_TRAIN) & set(recordings.MOH_TEST)


def test_music_excerpt_is_unit_rms(tmp_path: Path) -> None:
    sf.write(tmp_path / "m.wav", _talk(8000, 6.0, 3), 8000, subtype="PCM_16")
    rec = recordings.Recording(tmp_path / "m.wav", "asterisk-moh-opsound-wav", "test")
    y = recordings.music_excerpt(np.random.default_rng(0), (rec,), 16000, 16000)
    assert y.size == 16000 and abs(np.sqrt(np.mean(y * y)) - 1.0) < 1e-9
    with pytest.raises(DataError, match="shorter than"):
        recordings.music_excerpt(np.random.default_rng(0), (rec,), 16000 * 7, 16000)


def test_a_confirmation_set_leaves_out_every_recording_of_an_earlier_split(
    fake_recs: tuple[recordings.Recording, ...], tmp_path: Path
) -> None:
    realsplit.make_real_set(tmp_path / "first", 0, recs=fake_recs[:1], classes=("white",))
    assert realsplit.used_sources(tmp_path / "first") == {str(fake_recs[0].path)}
    rows = realsplit.make_real_set(tmp_path / "confirm", 1, recs=fake_recs, classes=("white",),
                                   exclude=[tmp_path / "first"])  # fmt: skip
    assert {r[4] for r in rows} == {str(fake_recs[1].path)}
    assert str(tmp_path / "first") in (tmp_path / "confirm" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(DataError, match="nothing is left"):
        realsplit.make_real_set(tmp_path / "none", 1, recs=fake_recs[:1], classes=("white",),
                                exclude=[tmp_path / "first"])  # fmt: skip
    with pytest.raises(DataError, match="no labels.csv there"):
        realsplit.make_real_set(tmp_path / "bad", 1, recs=fake_recs, classes=("white",), exclude=[tmp_path / "nope"])
    with pytest.raises(DataError, match="prompts must be >= 0"):
        realsplit.make_real_set(tmp_path / "neg", 1, recs=fake_recs, classes=("white",), max_prompts=-1)


def test_exclude_and_prompts_without_real_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from bench.data.generate import add_make_arguments, run_make

    p = argparse.ArgumentParser()
    add_make_arguments(p)
    for extra in (["--exclude", str(tmp_path)], ["--prompts", "5"]):
        assert run_make(p.parse_args(["--out", str(tmp_path / "o"), *extra])) != 0
        assert "apply to --real sets only" in capsys.readouterr().err
