"""The error catalogue (#16, docs/errors.md), data: every refusal of a test set, WAV file, labels CSV,
stored frame labels, set-generation option or speech-synthesis output that a user can meet, provoked
through the public path (load_set, `bench data ...`, Utterance/TestSet, synthesize), each checked for
what went wrong and what to do."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_data_loader import SR, bench_layout, speechy, wav

from bench.cli import main
from bench.data import TestSet, Utterance, load_set
from bench.errors import DataError

# ---- a set's files ------------------------------------------------------------------------------


def test_the_same_utterance_twice_in_one_folder(tmp_path):
    root = bench_layout(tmp_path / "s")
    wav(root / "noisy" / "u1.flac", speechy(3))
    with pytest.raises(DataError, match=r"u1\.wav: same utterance as u1\.flac in .*noisy; keep only one of them"):
        load_set(root)


def test_several_voicebank_subsets_none_named_testset(tmp_path):
    for tag in ("trainset_28spk", "trainset_56spk"):
        wav(tmp_path / f"clean_{tag}_wav" / "p1.wav", speechy(0))
        wav(tmp_path / f"noisy_{tag}_wav" / "p1.wav", speechy(0))
    with pytest.raises(DataError, match=r"holds several VoiceBank-DEMAND subsets \(trainset_28spk, trainset_56spk\) "
                                        r"and none is 'testset'; pass the path of a directory holding just one"):
        load_set(tmp_path)


def test_noisy_folder_without_audio(tmp_path):
    (tmp_path / "noisy").mkdir()
    (tmp_path / "noisy" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"noisy: no \.wav or \.flac files; add the noisy utterances"):
        load_set(tmp_path)


def test_samples_that_cannot_be_decoded(tmp_path):
    """A FLAC whose header reads but whose frames are damaged (a copy cut and padded in the middle)."""
    root = tmp_path / "s"  # noisy files only: a set without references
    p = wav(root / "noisy" / "u1.flac", 0.2 * np.random.default_rng(0).standard_normal(3 * SR))
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2] + b"\0" * 100 + raw[len(raw) // 2: len(raw) // 2 + 50])
    with pytest.raises(DataError, match=r"u1\.flac: cannot decode the samples \(.*\); re-encode it as PCM16 WAV or "
                                        r"remove it"):
        load_set(root)


def test_sample_rate_must_be_positive(tmp_path, capsys):
    root = bench_layout(tmp_path / "s")
    assert main(["data", "check", str(root), "--sample-rate", "0"]) == 2
    assert ("error: sample_rate must be positive, got 0; give a rate in Hz (e.g. 16000), or none to keep the set's "
            "own") in capsys.readouterr().err
    with pytest.raises(DataError, match=r"sample_rate must be positive, got -16000"):
        load_set(root, sample_rate=-16000)


# ---- labels CSV -------------------------------------------------------------------------------------

def test_labels_row_without_an_utterance_id(tmp_path):
    root = bench_layout(tmp_path / "s")
    (root / "labels.csv").write_text("utt,noise_class,snr_db\nu1,babble,5\n,babble,5\n")
    with pytest.raises(DataError, match=r"labels\.csv:3: empty utt; every row needs an utterance id"):
        load_set(root)


def test_labels_csv_that_is_not_utf8(tmp_path):
    root = bench_layout(tmp_path / "s")
    (root / "labels.csv").write_bytes(b"utt,noise_class\nu1,caf\xe9\n")
    with pytest.raises(DataError, match=r"labels\.csv: cannot read the labels CSV \(.*utf-8.*\); fix or remove it"):
        load_set(root)


# ---- stored frame labels (frames_hop<H>.parquet) --------------------------------------------------

def _frames(root: Path, table: pa.Table | None = None, raw: bytes | None = None) -> None:
    p = root / "frames_hop160.parquet"
    if raw is not None:
        p.write_bytes(raw)
    else:
        pq.write_table(table, p)


def _labels_of(root: Path) -> None:
    ts = load_set(root)
    ts[0].frame_labels(160)


def test_frames_parquet_that_is_not_parquet(tmp_path):
    root = bench_layout(tmp_path / "s")
    _frames(root, raw=b"PAR1 but not really")
    with pytest.raises(DataError, match=r"frames_hop160\.parquet: cannot read this Parquet file \(.*\); regenerate "
                                        r"the set"):
        _labels_of(root)


def test_frames_parquet_without_its_columns(tmp_path):
    root = bench_layout(tmp_path / "s")
    _frames(root, pa.table({"utt": ["u1"], "frame": [0], "vad": [True]}))
    with pytest.raises(DataError, match=r"frames_hop160\.parquet: missing columns \['f0_hz', 'voiced'\]; regenerate"):
        _labels_of(root)


def test_frames_parquet_with_a_gap_in_the_frames(tmp_path):
    root = bench_layout(tmp_path / "s")
    _frames(root, pa.table({"utt": ["u1", "u1"], "frame": [0, 2], "vad": [True, False],
                            "f0_hz": [100.0, 0.0], "voiced": [True, False]}))
    with pytest.raises(DataError, match=r"frames_hop160\.parquet: frames of u1 are not 0\.\.1; regenerate the set"):
        _labels_of(root)


# ---- utterances and sets built in code --------------------------------------------------------------

X = np.zeros(SR, np.int16)


@pytest.mark.parametrize("kw,match", [
    ({"id": ""}, r"utterance id must not be empty"),
    ({"sample_rate": 0}, r"u: sample_rate must be positive, got 0"),
    ({"clean": np.zeros(SR, np.float32)}, r"u: clean must be a 1-D int16 array"),
])
def test_utterance_checks(kw, match):
    args = {"id": "u", "noisy": X, "clean": None, "sample_rate": SR, **kw}
    with pytest.raises(DataError, match=match):
        Utterance(**args)


def test_frame_labels_need_a_positive_hop():
    u = Utterance(id="u", noisy=X, clean=X, sample_rate=SR)
    with pytest.raises(DataError, match=r"u: hop must be positive, got 0"):
        u.frame_labels(0)


def test_set_checks(tmp_path):
    a = Utterance(id="a", noisy=X, clean=None, sample_rate=SR)
    with pytest.raises(DataError, match=r"layout must be one of .*got 'flat'"):
        TestSet((a,), SR, "flat")
    with pytest.raises(DataError, match=r"utterance id 'a' appears twice; ids must be unique"):
        TestSet((a, a), SR, "bench", tmp_path)
    b = Utterance(id="b", noisy=X, clean=None, sample_rate=8000)
    with pytest.raises(DataError, match=r"b: at 8000 Hz, the set is at 16000 Hz"):
        TestSet((a, b), SR, "bench")


# ---- set generation options ---------------------------------------------------------------------

@pytest.mark.parametrize("kw,match", [
    ({"sample_rate": 4000}, r"sample_rate must be at least 8000 Hz, got 4000"),
    ({"hops": (160, 0)}, r"hops must be positive sample counts, got \(160, 0\)"),
    ({"hops": (7919, 7907)}, r"hops \(7919, 7907\) tile blocks of 62615533 samples, longer than the minimum duration"),
])
def test_set_options(kw, match):
    from bench.data.generate import SetOptions

    with pytest.raises(DataError, match=match):
        SetOptions(seed=0, n_utts=2, **kw)


def test_data_make_refuses_a_low_sample_rate(tmp_path, capsys):
    assert main(["data", "make", "--out", str(tmp_path / "s"), "--sample-rate", "4000"]) == 2
    assert "error: sample_rate must be at least 8000 Hz, got 4000" in capsys.readouterr().err


# ---- speech tasks (mpgru's vad/noise) and the digits task -------------------------------------------

def test_speech_task_name(tmp_path):
    from bench.data.speechfeat import load_speech_task

    with pytest.raises(DataError, match=r"speech task must be 'vad' or 'noise', not 'pitch'"):
        load_speech_task(tmp_path, "pitch")


def test_speech_noise_task_needs_noise_class_labels(tmp_path):
    from bench.data.speechfeat import load_speech_task

    root = bench_layout(tmp_path / "s")
    with pytest.raises(DataError, match=r"u1: no noise class label"):
        load_speech_task(root, "noise")


def test_digits_split():
    from bench.data.digits import load_digits_sequences

    with pytest.raises(DataError, match=r"digits: split must be 'train' or 'test', not 'val'"):
        load_digits_sequences("val")


# ---- espeak-ng (bench data make): a missing or misbehaving program ----------------------------------

def _fake_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes | None, rc: int = 0,
                 stderr: str = "") -> None:
    """An `espeak-ng` first on PATH that prints ``body`` (or nothing) and exits with ``rc``."""
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    (d / "out.bin").write_bytes(body or b"")
    exe = d / "espeak-ng"
    exe.write_text(f"#!/bin/sh\ncat > /dev/null\necho '{stderr}' >&2\ncat '{d / 'out.bin'}'\nexit {rc}\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ['PATH']}")


def _riff(fmt: bytes | None, data: bytes | None) -> bytes:
    chunks = b""
    if fmt is not None:
        chunks += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if data is not None:
        chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _fmt(rate: int, channels: int = 1, bits: int = 16) -> bytes:
    return struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)


PCM = (np.sin(np.arange(4000) / 10) * 8000).astype("<i2").tobytes()


@pytest.mark.parametrize("body,rc,match", [
    (b"not a wav", 0, r"espeak-ng: output is not a WAV stream; check the espeak-ng install"),
    (_riff(_fmt(22050, channels=2), PCM), 0, r"espeak-ng: expected mono PCM16 output; check the espeak-ng build"),
    (_riff(_fmt(22050), None), 0, r"espeak-ng: WAV stream has no data chunk; check the espeak-ng install"),
    (_riff(_fmt(16000), PCM), 0, r"espeak-ng: produced 16000 Hz, expected 22050; check the build"),
    (None, 1, r"espeak-ng: failed for voice 'en-zz' \(no voice en-zz\); check the voice name"),
])
def test_espeak_output_is_checked(tmp_path, monkeypatch, body, rc, match):
    from bench.data.tts import Voice, synthesize

    _fake_espeak(tmp_path, monkeypatch, body, rc, stderr="no voice en-zz")
    with pytest.raises(DataError, match=match):
        synthesize("hello", Voice("en-zz"))


def test_espeak_missing(monkeypatch, tmp_path):
    from bench.data.tts import Voice, synthesize

    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("espeak-ng") is None
    with pytest.raises(DataError, match=r"espeak-ng: program not found on PATH; install it \(Debian/Ubuntu: "
                                        r"`apt-get install espeak-ng`\)"):
        synthesize("hello", Voice("en"))


@pytest.mark.parametrize("pcm,match", [
    (np.zeros(22050, "<i2").tobytes(), r"espeak-ng produced no audio for sentence \w+; check the install"),
    ((np.sin(np.arange(22050 * 40) / 7) * 8000).astype("<i2").tobytes(),
     r"sentence \w+ \(.*\) does not fit in \d+(\.\d+)? s even spoken fast; use a shorter sentence or a longer "
     r"duration_range"),
])
def test_make_set_with_speech_that_is_silent_or_too_long(tmp_path, monkeypatch, pcm, match):
    from bench.data.generate import make_set

    _fake_espeak(tmp_path, monkeypatch, _riff(_fmt(22050), pcm))
    with pytest.raises(DataError, match=match):
        make_set(tmp_path / "set", 0, 1)
