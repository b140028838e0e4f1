"""load_set: the shipped set, DNS and VoiceBank layouts, resampling, and one DataError per
kind of bad file (constructed WAVs in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.data import NOISE_CLASSES, TestSet, Utterance, default_set_path, load_set
from bench.data.labels import frame_labels
from bench.errors import DataError

SR = 16000


def speechy(seed: int, n: int = SR, amp: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    return amp * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)


def wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype)
    return path


def bench_layout(root: Path, names: tuple[str, ...] = ("u1", "u2")) -> Path:
    for i, n in enumerate(names):
        c = speechy(i)
        wav(root / "clean" / f"{n}.wav", c)
        wav(root / "noisy" / f"{n}.wav", c + 0.05 * np.random.default_rng(100 + i).standard_normal(c.size))
    return root


# -- the shipped set ------------------------------------------------------------------------


def test_shipped_set_loads_with_labels() -> None:
    ts = load_set()
    assert ts.root == default_set_path()
    assert len(ts) == 16 and ts.layout == "bench" and ts.sample_rate == SR
    assert set(ts.noise_classes) == set(NOISE_CLASSES)
    for u in ts:
        assert u.clean is not None and u.clean.dtype == np.int16 and u.noisy.dtype == np.int16
        assert 2.0 <= u.duration_s <= 4.0
        assert u.snr_db is not None and -5.0 <= u.snr_db <= 20.0
        assert not u.noisy.flags.writeable
    lab = ts[0].frame_labels(160)
    assert lab.n_frames == ts[0].n_samples // 160
    # the stored labels are what the label code computes from the stored clean file
    want = frame_labels(ts[0].clean, SR, (256,))[256]
    got = ts[0].frame_labels(256)
    assert np.array_equal(got.vad, want.vad) and np.array_equal(got.f0_hz, want.f0_hz)


def test_shipped_set_resampled_to_8k() -> None:
    ts = load_set(None, sample_rate=8000)
    assert ts.sample_rate == 8000
    u16 = load_set()[3]
    u8 = ts[3]
    assert u8.n_samples == u16.n_samples // 2
    # hop 80 at 8 kHz is the stored hop 160 grid at 16 kHz
    assert np.array_equal(u8.frame_labels(80).vad, u16.frame_labels(160).vad)


def test_testset_is_sequence_and_not_a_pytest_class() -> None:
    ts = load_set()
    assert isinstance(ts[0], Utterance) and len(ts[2:4]) == 2
    assert ts.by_id(ts.ids[5]) is ts[5]
    assert TestSet.__test__ is False
    with pytest.raises(DataError, match="no utterance"):
        ts.by_id("nope")


# -- other layouts --------------------------------------------------------------------------


def test_bench_layout_without_labels_computes_them(tmp_path: Path) -> None:
    ts = load_set(bench_layout(tmp_path))
    assert ts.ids == ("u1", "u2") and ts[0].noise_class is None
    lab = ts[0].frame_labels(160)
    assert lab.vad.all()


def test_natural_order_of_ids(tmp_path: Path) -> None:
    ts = load_set(bench_layout(tmp_path, ("u10", "u2", "u1")))
    assert ts.ids == ("u1", "u2", "u10")


def test_noisy_only_set(tmp_path: Path) -> None:
    wav(tmp_path / "noisy" / "a.wav", speechy(0))
    ts = load_set(tmp_path)
    assert ts[0].clean is None
    with pytest.raises(DataError, match="a.wav: no frame labels"):
        ts[0].frame_labels(160)


def test_dns_layout(tmp_path: Path) -> None:
    for i in (3, 12):
        c = speechy(i)
        wav(tmp_path / "clean" / f"clean_fileid_{i}.wav", c)
        wav(tmp_path / "noisy" / f"book_0{i}_snr{i}_fileid_{i}.wav", 0.9 * c)
    ts = load_set(tmp_path)
    assert ts.layout == "dns" and ts.ids == ("fileid_3", "fileid_12")
    assert ts[1].noisy_path is not None and ts[1].noisy_path.name == "book_012_snr12_fileid_12.wav"


def test_dns_unpaired_noisy(tmp_path: Path) -> None:
    wav(tmp_path / "clean" / "clean_fileid_1.wav", speechy(1))
    wav(tmp_path / "noisy" / "x_fileid_1.wav", speechy(1))
    bad = wav(tmp_path / "noisy" / "x_fileid_2.wav", speechy(2))
    with pytest.raises(DataError, match=rf"{bad}: unpaired, no clean file .*clean_fileid_2.wav"):
        load_set(tmp_path)


def test_voicebank_layout(tmp_path: Path) -> None:
    for n in ("p232_001", "p257_002"):
        c = speechy(len(n))
        wav(tmp_path / "clean_testset_wav" / f"{n}.wav", c, sr=48000)
        wav(tmp_path / "noisy_testset_wav" / f"{n}.wav", c, sr=48000)
    wav(tmp_path / "clean_trainset_28spk_wav" / "p226_001.wav", speechy(0), sr=48000)
    wav(tmp_path / "noisy_trainset_28spk_wav" / "p226_001.wav", speechy(0), sr=48000)
    ts = load_set(tmp_path, sample_rate=SR)
    assert ts.layout == "voicebank" and ts.ids == ("p232_001", "p257_002")
    assert ts.sample_rate == SR and ts[0].n_samples == -(-SR // 3)  # ceil, as resample_poly


def test_labels_csv_option(tmp_path: Path) -> None:
    bench_layout(tmp_path / "set")
    csv_path = tmp_path / "l.csv"
    csv_path.write_text("utt,noise_class,snr_db\nu1,cafe,3.5\nu2.wav,street,\n")
    ts = load_set(tmp_path / "set", labels_csv=csv_path)
    assert (ts[0].noise_class, ts[0].snr_db) == ("cafe", 3.5)
    assert (ts[1].noise_class, ts[1].snr_db) == ("street", None)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name,snr_db\nu1,3\n", "'utt' column"),
        ("utt,snr_db\nu1,loud\n", r"l.csv:2: snr_db 'loud' is not a number"),
        ("utt\nu1\nu1\n", "appears twice"),
        ("utt\nu9\n", "row utt 'u9' matches no utterance"),
    ],
)
def test_bad_labels_csv(tmp_path: Path, text: str, match: str) -> None:
    bench_layout(tmp_path / "set")
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(DataError, match=match):
        load_set(tmp_path / "set", labels_csv=tmp_path / "l.csv")


# -- bad files, one error each --------------------------------------------------------------


def test_unpaired_clean(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "clean" / "u3.wav", speechy(3))
    with pytest.raises(DataError, match=rf"{bad}: unpaired, no noisy file .*u3.wav; add it or remove"):
        load_set(tmp_path)


def test_unpaired_noisy(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "noisy" / "u3.wav", speechy(3))
    with pytest.raises(DataError, match=rf"{bad}: unpaired, no clean file"):
        load_set(tmp_path)


def test_multichannel(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    x = speechy(5)
    bad = wav(tmp_path / "noisy" / "u2.wav", np.stack([x, x], axis=1))
    with pytest.raises(DataError, match=rf"{bad}: has 2 channels.*mono"):
        load_set(tmp_path)


def test_unreadable(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = tmp_path / "clean" / "u1.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(DataError, match=rf"{bad}: cannot read this audio file"):
        load_set(tmp_path)


def test_clipped(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    x = np.clip(speechy(1, amp=3.0), -1.0, 1.0)  # heavily clipped
    bad = wav(tmp_path / "noisy" / "u1.wav", x)
    with pytest.raises(DataError, match=rf"{bad}: clipped, \d+\.\d% of samples are at full scale"):
        load_set(tmp_path)
    assert len(load_set(tmp_path, max_clipped_fraction=1.0)) == 2


def test_float_file_clipped(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "noisy" / "u1.wav", np.clip(speechy(1, amp=3.0), -1.0, 1.0), subtype="FLOAT")
    with pytest.raises(DataError, match=rf"{bad}: clipped"):
        load_set(tmp_path)


def test_silent(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "clean" / "u2.wav", np.zeros(SR))
    with pytest.raises(DataError, match=rf"{bad}: silent \(RMS -inf dBFS"):
        load_set(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "clean" / "u2.wav", np.zeros(0))
    with pytest.raises(DataError, match=rf"{bad}: has no samples"):
        load_set(tmp_path)


def test_length_mismatch(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "noisy" / "u1.wav", speechy(1, n=SR - 10))
    with pytest.raises(DataError, match=rf"{bad}: 15990 samples but its clean file .* has 16000"):
        load_set(tmp_path)


def test_mixed_rates_need_sample_rate(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    wav(tmp_path / "clean" / "u3.wav", speechy(3, n=8000), sr=8000)
    wav(tmp_path / "noisy" / "u3.wav", speechy(3, n=8000), sr=8000)
    with pytest.raises(DataError, match="u3.wav: at a different rate.*pass sample_rate="):
        load_set(tmp_path)
    ts = load_set(tmp_path, sample_rate=SR)
    assert ts.by_id("u3").n_samples == SR


def test_pair_rate_mismatch(tmp_path: Path) -> None:
    bench_layout(tmp_path)
    bad = wav(tmp_path / "noisy" / "u1.wav", speechy(1, n=8000), sr=8000)
    with pytest.raises(DataError, match=rf"{bad}: at 8000 Hz but its clean file"):
        load_set(tmp_path)


def test_not_a_set(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no test set found"):
        load_set(tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        load_set(tmp_path / "missing")
    (tmp_path / "clean").mkdir()
    with pytest.raises(DataError, match="has clean/ but no noisy/"):
        load_set(tmp_path)


def test_dns_foreign_name_in_clean(tmp_path: Path) -> None:
    wav(tmp_path / "clean" / "clean_fileid_1.wav", speechy(1))
    bad = wav(tmp_path / "clean" / "readme_take2.wav", speechy(2))
    wav(tmp_path / "noisy" / "a_fileid_1.wav", speechy(1))
    with pytest.raises(DataError, match=rf"{bad}: file name does not follow the clean naming"):
        load_set(tmp_path)


def test_utterance_validation() -> None:
    with pytest.raises(DataError, match="equal length"):
        Utterance("x", np.zeros(10, np.int16), np.zeros(11, np.int16), SR)
    with pytest.raises(DataError, match="int16"):
        Utterance("x", np.zeros(10, np.float32), None, SR)  # type: ignore[arg-type]
