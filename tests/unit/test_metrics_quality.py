"""Quality metrics: PESQ and STOI sanity on real (synthetic-voice) speech, SI-SDR and
segmental SNR exact on constructed signals, NaN-with-reason on unscorable input."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from bench.data import load_set
from bench.errors import MetricError
from bench.metrics import METRICS, Unscorable, estoi, pesq_nb, pesq_wb, reason_of, seg_snr, si_sdr, stoi
from bench.metrics.quality import metric

SR = 16000


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    u = load_set()[10]  # a short (2.24 s) utterance of the shipped set
    assert u.clean is not None
    return u.clean.astype(np.float64) / 32768


def at_snr(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(x.size)
    n *= np.sqrt(np.mean(x**2) / np.mean(n**2) / 10 ** (snr_db / 10))
    return x + n


def test_pesq_of_clean_against_itself(clean: np.ndarray) -> None:
    assert pesq_wb(clean, clean, SR) == pytest.approx(4.64, abs=0.01)
    assert pesq_nb(clean, clean, SR) == pytest.approx(4.55, abs=0.05)


def test_int16_and_float_inputs_agree(clean: np.ndarray) -> None:
    pcm = np.rint(clean * 32768).astype(np.int16)
    noisy = at_snr(clean, 10)
    assert pesq_wb(pcm, noisy, SR) == pytest.approx(pesq_wb(pcm / 32768, noisy, SR), abs=1e-6)


def test_pesq_and_stoi_fall_with_snr(clean: np.ndarray) -> None:
    snrs = [30, 15, 5, -5]
    wb = [pesq_wb(clean, at_snr(clean, s), SR) for s in snrs]
    nb = [pesq_nb(clean, at_snr(clean, s), SR) for s in snrs]
    st = [stoi(clean, at_snr(clean, s), SR) for s in snrs]
    es = [estoi(clean, at_snr(clean, s), SR) for s in snrs]
    for series in (wb, nb, st, es):
        assert all(a > b for a, b in zip(series, series[1:], strict=False)), series
    assert 1.0 <= wb[-1] and wb[0] <= 4.64


def test_stoi_of_clean_against_itself(clean: np.ndarray) -> None:
    assert stoi(clean, clean, SR) == pytest.approx(1.0, abs=1e-6)
    assert estoi(clean, clean, SR) == pytest.approx(1.0, abs=1e-6)


def test_pesq_at_8k(clean: np.ndarray) -> None:
    from scipy.signal import resample_poly

    x8 = resample_poly(clean, 1, 2)
    assert pesq_nb(x8, x8, 8000) == pytest.approx(4.55, abs=0.05)
    assert pesq_wb(x8, at_snr(x8, 10), 8000) < 4.0  # upsampled to 16 kHz internally


# -- SI-SDR and segmental SNR exact --------------------------------------------------------


def orthogonal_pair(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    s = rng.standard_normal(n)
    s -= s.mean()
    e = rng.standard_normal(n)
    e -= e.mean()
    e -= s * (e @ s) / (s @ s)  # zero-mean and orthogonal to s
    return s, e


@pytest.mark.parametrize(("gain", "noise_gain"), [(1.0, 0.1), (2.0, 1.0), (0.01, 0.5), (-3.0, 0.3)])
def test_si_sdr_exact(gain: float, noise_gain: float) -> None:
    s, e = orthogonal_pair()
    want = 10 * math.log10(gain**2 * (s @ s) / (noise_gain**2 * (e @ e)))
    assert si_sdr(s, gain * s + noise_gain * e) == pytest.approx(want, abs=1e-9)


def test_si_sdr_is_scale_invariant_and_ignores_offset() -> None:
    s, e = orthogonal_pair()
    y = s + 0.2 * e
    assert si_sdr(s, 7.0 * y) == pytest.approx(si_sdr(s, y), abs=1e-9)
    assert si_sdr(s, y + 0.5) == pytest.approx(si_sdr(s, y), abs=1e-9)
    assert si_sdr(s, y + 0.5, zero_mean=False) < si_sdr(s, y)


def test_si_sdr_limits() -> None:
    s, e = orthogonal_pair()
    assert si_sdr(s, 4 * s) == math.inf  # exact scaling: zero residual
    assert si_sdr(s, 3 * s) > 200  # rounding residual only
    assert si_sdr(s, e) < -200  # orthogonal: no target component
    assert si_sdr(s, np.zeros_like(s)) == -math.inf
    v = si_sdr(np.zeros(100), s[:100])
    assert isinstance(v, Unscorable) and "silent" in v.reason


def test_seg_snr_exact() -> None:
    n = 320  # one 20 ms frame at 16 kHz
    ref = np.concatenate([np.ones(n), 0.5 * np.ones(n), np.zeros(n)])
    err = np.concatenate([0.1 * np.ones(n), 0.5 * np.ones(n), 0.3 * np.ones(n)])
    # frame 1: 20 dB; frame 2: 0 dB; frame 3: silent reference, not counted
    assert seg_snr(ref, ref - err, SR) == pytest.approx(10.0)
    # clamping to [-10, 35]: a perfect frame counts 35 dB, a hopeless one -10 dB
    ref2 = np.concatenate([np.ones(n), np.ones(n)])
    deg2 = np.concatenate([np.ones(n), -10 * np.ones(n)])
    assert seg_snr(ref2, deg2, SR) == pytest.approx((35 - 10) / 2)


# -- unscorable input and caller errors ----------------------------------------------------


@pytest.mark.parametrize("name", list(METRICS))
def test_silent_reference_is_nan_with_reason(name: str) -> None:
    x = np.random.default_rng(0).standard_normal(SR) * 0.1
    v = METRICS[name](np.zeros(SR), x, SR)
    assert math.isnan(v)
    assert (reason_of(v) or "").startswith("unscorable: ")


@pytest.mark.parametrize("name", ["pesq_wb", "pesq_nb", "stoi", "estoi"])
def test_too_short_is_nan_with_reason(name: str, clean: np.ndarray) -> None:
    x = clean[8000 : 8000 + 1600]  # 100 ms of speech
    v = METRICS[name](x, x, SR)
    assert math.isnan(v) and reason_of(v) is not None


@pytest.mark.parametrize("name", ["pesq_wb", "stoi"])
def test_silent_output_is_nan_with_reason(name: str, clean: np.ndarray) -> None:
    v = METRICS[name](clean, np.zeros_like(clean), SR)
    assert math.isnan(v) and "silence" in (reason_of(v) or "")


def test_non_finite_is_unscorable(clean: np.ndarray) -> None:
    bad = clean.copy()
    bad[100] = np.nan
    assert "non-finite" in (reason_of(pesq_wb(clean, bad, SR)) or "")


@pytest.mark.parametrize("name", list(METRICS))
def test_length_mismatch_raises(name: str) -> None:
    with pytest.raises(MetricError, match="same length"):
        METRICS[name](np.ones(1000), np.ones(999), SR)


def test_unscorable_behaves_as_nan_and_pickles() -> None:
    v = Unscorable("too short")
    assert v.reason == "unscorable: too short"
    assert math.isnan(v) and math.isnan(v + 1.0)
    assert np.isnan(np.nanmean([1.0, v, 3.0])) is np.False_
    w = pickle.loads(pickle.dumps(v))
    assert isinstance(w, Unscorable) and w.reason == v.reason
    assert reason_of(1.0) is None and reason_of(math.nan) == "nan"


def test_metric_lookup() -> None:
    assert metric("stoi") is stoi
    with pytest.raises(MetricError, match="unknown metric"):
        metric("mos")
