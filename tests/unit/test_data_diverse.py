"""The diverse mix (bench.data.diverse): determinism, layout, labels, CLI dispatch."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.data import diverse
from bench.data.generate import main_make
from bench.data.loader import load_set
from bench.errors import DataError

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
CLASSES = ("white", "pink")


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("div") / "a"
    diverse.make_diverse_set(out, 4, 2, "train", classes=CLASSES, command="c")
    return out


def test_same_seed_same_bytes_in_one_or_two_processes(small: Path, tmp_path: Path) -> None:
    diverse.make_diverse_set(tmp_path / "b", 4, 2, "train", classes=CLASSES, command="c", jobs=2)
    assert digest(small) == digest(tmp_path / "b")


def test_layout_and_labels(small: Path) -> None:
    with open(small / "labels.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == diverse.COLUMNS
    assert [r["noise_class"] for r in rows] == ["white", "pink"]
    assert all(r["sentence_id"].startswith("tr") for r in rows)
    for r in rows:
        assert diverse.LEVEL_RANGE[0] - 1 <= float(r["speech_level_dbfs"]) <= diverse.LEVEL_RANGE[1] + 0.5
        assert r["voice"].split(":")[0] in ("espeak-ng", "festival", "flite")
        assert int(r["n_samples"]) % 1280 == 0
    ts = load_set(small)
    assert len(ts) == 2
    for u in ts:
        assert u.clean is not None and u.frame_labels(160).vad.any()
        noise = u.noisy.astype(float) - u.clean.astype(float)
        assert np.sqrt(np.mean(noise**2)) > 1.0  # noise was added


def test_test_split_uses_test_sentences(tmp_path: Path) -> None:
    rows = diverse.make_diverse_set(tmp_path / "t", 0, 1, "test", classes=("brown",))
    assert rows[0].sentence_id.startswith("ts") and rows[0].utt == "test_d00000"


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="subset of"):
        diverse.make_diverse_set(tmp_path / "x", 0, 1, "train", classes=("traffic",))
    with pytest.raises(DataError, match="split"):
        diverse.make_diverse_set(tmp_path / "x", 0, 1, "dev")
    with pytest.raises(DataError, match="n_utts"):
        diverse.make_diverse_set(tmp_path / "x", 0, 0, "train")


def test_cli_refuses_bad_jobs_and_combined_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_make(["--diverse", "--out", str(tmp_path / "d"), "--n", "1", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main_make(["--diverse", "--real", "--out", str(tmp_path / "d")])


def test_a_voice_that_cannot_speak_is_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = diverse.voices.speak

    def flaky(text: str, talker: diverse.voices.Talker, sr: int) -> np.ndarray:
        calls.append(talker)
        if len(calls) == 1:
            raise DataError("espeak-ng: the specified voice does not exist")
        return real(text, talker, sr)

    monkeypatch.setattr(diverse.voices, "speak", flaky)
    x, talker = diverse._speech(np.random.default_rng(0), "A short test.", {"espeak-ng": ("en",)}, 16000, 64000)
    assert len(calls) == 2 and talker == calls[1] and x.size > 8000

    def broken(text: str, talker: diverse.voices.Talker, sr: int) -> np.ndarray:
        raise DataError("flite: failed")

    monkeypatch.setattr(diverse.voices, "speak", broken)
    with pytest.raises(DataError, match="last: flite: failed"):
        diverse._speech(np.random.default_rng(0), "A short test.", {"flite": ("slt",)}, 16000, 64000)


def test_a_forced_effect_applies_to_every_utterance_and_keeps_the_talkers(small: Path, tmp_path: Path) -> None:
    rows = diverse.make_diverse_set(tmp_path / "tel", 4, 2, "train", classes=CLASSES, command="c", effect="telephone")
    assert [r.effect.split()[0] for r in rows] == ["telephone", "telephone"]
    with open(small / "labels.csv", encoding="utf-8") as fh:
        drawn = list(csv.DictReader(fh))
    assert [r.talker.label for r in rows] == [d["voice"] for d in drawn]
    clean = load_set(tmp_path / "tel").utterances[0].clean.astype(np.float64)
    spec = np.abs(np.fft.rfft(clean))
    f = np.fft.rfftfreq(clean.size, 1 / 16000)
    assert spec[f > 4500].sum() < 0.01 * spec[(f > 300) & (f < 3400)].sum()  # band-limited to the telephone band


def test_a_bad_or_misplaced_effect_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(DataError, match="effect must be one of"):
        diverse.make_diverse_set(tmp_path / "x", 0, 1, "train", effect="radio")
    assert main_make(["--out", str(tmp_path / "d"), "--n", "1", "--effect", "telephone"]) == 2
    assert "--effect applies to --diverse" in capsys.readouterr().err
