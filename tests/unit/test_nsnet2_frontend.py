"""The nsNet2 STFT convention and the numpy model of the target's 320-point FFT."""

from __future__ import annotations

import numpy as np
import pytest

from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import HOP_LEN, N_BINS


def test_window_is_sqrt_periodic_hann_with_unit_overlap_add():
    w = frontend.window().astype(np.float64)
    n = np.arange(320)
    assert np.allclose(w * w, 0.5 - 0.5 * np.cos(2 * np.pi * n / 320), atol=1e-7)
    assert np.allclose(w[:160] ** 2 + w[160:] ** 2, 1.0, atol=1e-6)
    assert w[0] == 0.0 and not frontend.window().flags.writeable


@pytest.mark.parametrize("shape", [(320,), (5, 320)])
def test_rfft320_matches_numpy(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ref = np.fft.rfft(x.astype(np.float64), axis=-1)
    got = frontend.rfft320(x)
    assert got.shape == shape[:-1] + (N_BINS,) and got.dtype == np.complex64
    assert np.max(np.abs(got - ref)) < 2e-5 * np.max(np.abs(ref))
    back = frontend.irfft320(ref.astype(np.complex64))
    assert np.max(np.abs(back - x)) < 2e-6


def test_rfft320_rejects_other_sizes():
    with pytest.raises(ValueError, match="320"):
        frontend.rfft320(np.zeros(512))
    with pytest.raises(ValueError, match="161"):
        frontend.irfft320(np.zeros(257, np.complex64))


def test_frames_convention():
    x = np.arange(1, 481, dtype=np.float32)  # 3 hops
    f = frontend.frames(x)
    assert f.shape == (3, 320)
    assert np.all(f[0, :160] == 0) and np.array_equal(f[0, 160:], x[:160])  # a hop of zeros first
    assert np.array_equal(f[2], x[160:480])
    assert frontend.frames(np.ones(481)).shape == (4, 320)  # zero-padded to whole hops


def test_stft_istft_reconstructs_with_one_hop_delay():
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 16 * HOP_LEN).astype(np.float32)
    spec = frontend.stft(np.concatenate([x, np.zeros(HOP_LEN, np.float32)]))
    assert spec.shape == (17, N_BINS)
    y = frontend.overlap_add(frontend.synthesis(spec))
    assert np.max(np.abs(y[HOP_LEN:] - x)) < 1e-5


def test_log_power():
    spec = np.array([3 + 4j, 0j], np.complex64)
    lp = frontend.log_power(spec, 1e-9)
    assert lp.dtype == np.float32
    assert np.allclose(lp, [np.log10(25 + 1e-9), -9.0], atol=1e-6)
