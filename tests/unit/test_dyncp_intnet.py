"""The integer golden model of Conv-FSENet (bench.models.dyncp.intnet / quantize): its float32
FFT, the threshold features, the TFLM identities it relies on, and its agreement with the float
reference on a real utterance."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.loader import default_set_path, load_set
from bench.models.common import int8ops as q8
from bench.models.dyncp import DyncpModel, intnet
from bench.models.dyncp.config import HOP_LEN
from bench.models.dyncp.quantize import DyncpQuant, feature_thresholds
from bench.models.dyncp.reference import enhance_offline
from bench.paths import repo_root

MODEL = repo_root() / "models/dyncp/dyncp-small-r25"


@pytest.fixture(scope="module")
def qm() -> DyncpQuant:
    return DyncpQuant.load(MODEL)


def test_fft512_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 512)).astype(np.float32) * 1000
    win = np.ones(512, np.float32)
    xr, xi = intnet.FFT.rfft(x, win)
    ref = np.fft.rfft(x.astype(np.float64))
    assert np.allclose(xr + 1j * xi, ref, rtol=0, atol=1e-3 * np.abs(ref).max())
    back = intnet.FFT.irfft(xr, xi) / 512
    assert np.allclose(back, x, atol=1e-2)


def test_threshold_features_round_half_up():
    s = 0.01
    t = feature_thresholds(s, 0.3)
    f = np.linspace(0, 2.6, 20001)
    p = (f ** (2 / 0.3) * 2.0**30).astype(np.float32)
    q = np.searchsorted(t, p, side="right") - 128
    want = np.clip(np.floor(f / s + 0.5), 0, 255) - 128
    assert np.mean(q == want) > 0.999  # float32 rounding of P only moves exact ties
    assert np.abs(q - want).max() <= 1


def test_norm_bias_add_is_tflm_add_at_equal_scales():
    # act_s8 adds beta with a plain clamp(p + beta); TFLM ADD of two tensors at one scale is that
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128))
    for s, zp in ((0.037, -5), (1.3e-3, 100), (0.5, -128)):
        p = q8.add_params(s, zp, s, 0, s, zp, dtype=np.int8)
        got = q8.add_elementwise(a.ravel(), b.ravel(), p, np.int8)
        assert np.array_equal(got, np.clip(a.ravel() + b.ravel(), -128, 127))


def test_gate_sign_is_accumulator_sign(qm):
    b = qm.blocks[3]
    g = b.gate_out
    assert g is not None and g.out_offset == 0
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (500, g.w.shape[1])).astype(np.int8)
    acc = (x.astype(np.int64) + g.in_offset) @ g.w.astype(np.int64).T + g.b
    out = q8.fc_s8(x, g.w, g.b, g.in_offset, g.mult, g.shift, 0)
    assert np.array_equal(out > 0, acc > 0)


def test_save_load_round_trip(qm, tmp_path):
    p = qm.save(tmp_path / "q.npz")
    q2 = DyncpQuant.load(p)
    x = np.random.default_rng(2).integers(-3000, 3000, 20 * HOP_LEN).astype(np.int16)
    assert np.array_equal(intnet.enhance(qm, x).raw, intnet.enhance(q2, x).raw)


def test_golden_tracks_float_reference(qm):
    u = list(load_set(default_set_path(), sample_rate=16000))[0]
    x = u.noisy[: 150 * HOP_LEN]
    gold = intnet.enhance(qm, x)
    ref = enhance_offline(DyncpModel.load(MODEL), x)
    agree = float((gold.masks == ref.masks).mean())
    assert agree > 0.98, agree
    fa = ref.audio.astype(np.float64) * 32768
    err = gold.audio.astype(np.float64) - fa
    snr = 10 * np.log10(np.sum(fa**2) / np.sum(err**2))
    assert snr > 15, snr
