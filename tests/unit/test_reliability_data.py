"""A user's corpus (#16): non-finite SNRs in labels.csv, NaN/inf float WAVs and file names that are
not UTF-8 are refused with the file (and row, and bytes) named, not misreported or crashed on."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.data.loader import load_set
from bench.errors import DataError

SR = 16000


def _signal(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.2 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR) + 0.01 * rng.standard_normal(SR // 2)


def _wav(path: Path | bytes, x: np.ndarray, subtype: str = "PCM_16") -> None:
    buf = io.BytesIO()
    sf.write(buf, x, SR, subtype=subtype, format="WAV")
    with open(path, "wb") as f:  # a bytes path too: soundfile cannot open names that are not UTF-8
        f.write(buf.getvalue())


def _set(tmp_path: Path, names=("a", "b")) -> Path:
    for d in ("clean", "noisy"):
        (tmp_path / d).mkdir(exist_ok=True)
    for i, n in enumerate(names):
        _wav(tmp_path / "clean" / f"{n}.wav", _signal(i))
        _wav(tmp_path / "noisy" / f"{n}.wav", _signal(i) + 0.05)
    return tmp_path


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "+Infinity"])
def test_non_finite_snr_is_refused_with_file_and_row(tmp_path, value):
    root = _set(tmp_path)
    (root / "labels.csv").write_text(f"utt,noise_class,snr_db\na,babble,5\nb,babble,{value}\n")
    with pytest.raises(DataError, match=rf"labels\.csv:3: snr_db '{value.replace('+', '[+]')}' \(utt 'b'\) is not a "
                                        r"finite number"):
        load_set(root)


def test_finite_and_empty_snrs_load(tmp_path):
    root = _set(tmp_path)
    (root / "labels.csv").write_text("utt,noise_class,snr_db\na,babble,-5.5\nb,babble,\n")
    s = load_set(root)
    assert s.by_id("a").snr_db == -5.5 and s.by_id("b").snr_db is None


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "infinite values")])
def test_float_wav_with_nan_or_inf_is_not_called_silent(tmp_path, bad, word):
    root = _set(tmp_path)
    x = _signal(1) + 0.05
    x[123] = bad
    _wav(root / "noisy" / "b.wav", x, subtype="FLOAT")
    with pytest.raises(DataError, match=rf"noisy/b\.wav: contains {word} \(1 samples, the first at sample 123\)") as e:
        load_set(root)
    assert "silent" not in str(e.value)


def test_float_wav_that_is_all_nan(tmp_path):
    root = _set(tmp_path)
    _wav(root / "clean" / "a.wav", np.full(SR // 2, np.nan), subtype="FLOAT")
    with pytest.raises(DataError, match=r"clean/a\.wav: contains NaN"):
        load_set(root)


def test_file_name_that_is_not_utf8_is_refused_with_its_bytes(tmp_path):
    root = _set(tmp_path)
    raw = os.fsencode(str(root / "noisy")) + b"/caf\xe9.wav"
    _wav(raw, _signal(3))
    _wav(os.fsencode(str(root / "clean")) + b"/caf\xe9.wav", _signal(3))
    with pytest.raises(DataError, match=r"the file name b'caf\\xe9.wav' is not valid UTF-8 .* rename it "
                                        r"\(e.g. to 'caf_.wav'"):
        load_set(root)
    os.rename(raw, os.fsencode(str(root / "noisy" / "caf_.wav")))
    os.rename(os.fsencode(str(root / "clean")) + b"/caf\xe9.wav", root / "clean" / "caf_.wav")
    assert "caf_" in load_set(root).ids  # renamed as suggested, it loads
