"""The synthetic set generator: determinism, layout, labels, CLI."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from bench.cli.data import Data
from bench.data.generate import LABEL_COLUMNS, SetOptions, main_make, make_set
from bench.data.labels import active_power, frame_labels, n_frames
from bench.data.loader import load_set
from bench.data.tts import VOICES, Voice, synthesize
from bench.errors import DataError

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

SMALL = {"classes": ("babble", "keyboard"), "duration_range": (2.0, 2.5)}


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "a"
    make_set(out, seed=11, n_utts=2, split="test", **SMALL)
    return out


def test_same_seed_same_bytes(small_set: Path, tmp_path: Path) -> None:
    make_set(tmp_path / "b", seed=11, n_utts=2, split="test", **SMALL)
    assert digest(small_set) == digest(tmp_path / "b")


def test_other_seed_or_split_differs(small_set: Path, tmp_path: Path) -> None:
    recs = make_set(tmp_path / "c", seed=12, n_utts=1, split="train", classes=("white",))
    assert recs[0].sentence_id.startswith("tr")
    a = sf.read(small_set / "clean" / "test_0000.wav", dtype="int16")[0]
    b = sf.read(tmp_path / "c" / "clean" / "train_0000.wav", dtype="int16")[0]
    assert a.size != b.size or not np.array_equal(a, b)


def test_espeak_is_deterministic() -> None:
    v = Voice("en-us+f3", 55, 165)
    assert np.array_equal(synthesize("Deterministic speech.", v), synthesize("Deterministic speech.", v))


def test_voices_sound_different() -> None:
    digests = {hashlib.sha256(synthesize("One two three.", Voice(v)).tobytes()).hexdigest() for v in VOICES}
    assert len(digests) == len(VOICES)


def test_layout_and_label_rows(small_set: Path) -> None:
    rows = list(csv.DictReader(open(small_set / "labels.csv", encoding="utf-8")))
    assert tuple(rows[0]) == LABEL_COLUMNS
    assert [r["noise_class"] for r in rows] == ["babble", "keyboard"]
    for r in rows:
        clean, sr = sf.read(small_set / "clean" / f"{r['utt']}.wav", dtype="int16")
        noisy, sr2 = sf.read(small_set / "noisy" / f"{r['utt']}.wav", dtype="int16")
        assert sr == sr2 == 16000
        assert sf.info(str(small_set / "noisy" / f"{r['utt']}.wav")).subtype == "PCM_16"
        assert clean.size == noisy.size == int(r["n_samples"])
        assert clean.size % 1280 == 0  # hops 160 and 256 tile the utterance
        assert 2.0 <= float(r["duration_s"]) <= 2.5
        assert r["sentence_id"].startswith("ts")
        # the noise really is at the labelled SNR (speech active power / noise power)
        noise = (noisy.astype(np.float64) - clean) / 32768
        snr = 10 * np.log10(active_power(clean, sr) / np.mean(noise**2))
        assert snr == pytest.approx(float(r["snr_db"]), abs=0.15)
        assert -5.0 <= float(r["snr_db"]) <= 20.0


def test_frame_label_files_match_clean_speech(small_set: Path) -> None:
    for hop in (160, 256):
        table = pq.read_table(small_set / f"frames_hop{hop}.parquet")
        assert table.column_names == ["utt", "frame", "vad", "f0_hz", "voiced"]
        utt = np.array(table.column("utt").to_pylist())
        for name in ("test_0000", "test_0001"):
            clean, sr = sf.read(small_set / "clean" / f"{name}.wav", dtype="int16")
            sel = utt == name
            want = frame_labels(clean, sr, (hop,))[hop]
            assert sel.sum() == n_frames(clean.size, hop)
            assert np.array_equal(table.column("frame").to_numpy()[sel], np.arange(sel.sum()))
            assert np.array_equal(table.column("vad").to_numpy(zero_copy_only=False)[sel], want.vad)
            assert np.array_equal(table.column("f0_hz").to_numpy()[sel], want.f0_hz)
            vad = want.vad
            # VAD against the clean energy: the silence before and after the speech is
            # non-speech, every loud frame is speech
            e = np.mean(np.pad(clean / 32768.0, (0, vad.size * hop - clean.size)).reshape(-1, hop) ** 2, axis=1)
            on = np.flatnonzero(e > 0)
            assert not vad[: on[0]].any() and not vad[on[-1] + 1 :].any()
            assert vad[10 * np.log10(e + 1e-20) > 10 * np.log10(e.max()) - 20].all()
            assert vad.mean() > 0.4
            # voiced frames are speech frames with a plausible F0
            assert not want.voiced[~vad].any()
            f0 = want.f0_hz[want.voiced]
            assert f0.size > 10 and np.all((f0 > 50) & (f0 < 600))


def test_loader_reads_generated_set(small_set: Path) -> None:
    ts = load_set(small_set)
    assert ts.layout == "bench" and ts.ids == ("test_0000", "test_0001")
    assert ts[0].noise_class == "babble" and ts[1].snr_db is not None
    assert ts[0].meta["sentence_id"].startswith("ts")


def test_refuses_to_overwrite(small_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    make_set(out, seed=1, n_utts=1, classes=("white",), duration_range=(2.0, 2.0))
    with pytest.raises(DataError, match="--force"):
        make_set(out, seed=1, n_utts=1, classes=("white",))
    make_set(out, seed=2, n_utts=1, classes=("pink",), duration_range=(2.0, 2.0), overwrite=True)
    assert sorted(p.name for p in (out / "noisy").iterdir()) == ["test_0000.wav"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1, "n_utts": 1}, "seed"),
        ({"seed": 0, "n_utts": 0}, "n_utts"),
        ({"seed": 0, "n_utts": 1, "split": "dev"}, "split"),
        ({"seed": 0, "n_utts": 1, "classes": ("rain",)}, "noise classes"),
        ({"seed": 0, "n_utts": 1, "snr_range": (10.0, 0.0)}, "snr_range"),
        ({"seed": 0, "n_utts": 1, "duration_range": (0.5, 1.0)}, "duration_range"),
    ],
)
def test_invalid_options(kwargs: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        SetOptions(**kwargs)


def test_snr_strata_spread_per_class() -> None:
    # the plan alone (no audio): 4 white utterances land in 4 distinct SNR quarters
    from bench.data.generate import _plan

    opts = SetOptions(seed=3, n_utts=4, classes=("white",))
    plans = _plan(opts, np.random.default_rng(0))
    quarters = sorted(int((p.snr_db + 5) // 6.25) for p in plans)
    assert quarters == [0, 1, 2, 3]


def test_main_make_writes_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main_make(["--seed", "4", "--out", str(out), "--n", "1"]) == 0
    readme = (out / "README.md").read_text()
    assert f"bench data make --seed 4 --out {out} --split test --n 1" in readme
    assert main_make(["--seed", "4", "--out", str(out), "--n", "1"]) == 2
    assert "--force" in capsys.readouterr().err


def test_add_parser_registers_data_make(tmp_path: Path) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="bench")
    Data().register(p.add_subparsers(dest="command"))
    ns = p.parse_args(["data", "make", "--seed", "3", "--out", str(tmp_path), "--split", "train", "--n", "5"])
    assert (ns.seed, ns.split, ns.n, ns.out) == (3, "train", 5, str(tmp_path))
    assert callable(ns.func)
    ns = p.parse_args(["data", "check"])
    assert ns.path is None and ns.func(ns) == 0
