"""Integer export of the probes: scale choice, no-overflow guarantee, the numpy golden score,
dequantisation, files; and that the int16 probes decide as the float probes on nearly every
frame (while a coarse 3-bit export does not: the threshold is not vacuous)."""

from __future__ import annotations

import numpy as np
import pytest
from probes_synth import CLASSES, frameset

from bench.errors import ConfigError
from bench.models.probes.golden import dequantize, probe_scores
from bench.models.probes.quant import (
    INT16_MAX,
    FloatProbes,
    QuantProbes,
    c_source,
    dequantized,
    headroom,
    load_npz,
    macs_per_frame,
    probe_names,
    quantize,
    save_npz,
)
from bench.models.probes.readout import agreement, decode_scores, run_probes
from bench.models.probes.train import fit_probes


@pytest.fixture(scope="module")
def trained():
    fs = frameset(n_utts=16, frames=50, n_blocks=3, n_channels=40, seed=3)
    lams = (1e-2, 1e-3)
    fp, _ = fit_probes(fs, 3, 40, CLASSES, holdout_every=4, vad_lams=lams, class_lams=lams, ridge_lams=(1.0, 0.1))
    return fs, fp


def _random_float(rng, n_blocks=2, n_channels=20, k=3, scale=1.0):
    p = k + 2
    w = rng.normal(0, scale, (n_blocks * n_channels, p))
    b = rng.normal(0, 3 * scale, p)
    b[-1] = 150.0  # an F0 intercept
    return FloatProbes(w, b, tuple(f"c{i}" for i in range(k)), n_blocks, n_channels)


def test_probe_order():
    assert probe_names(("x", "y")) == ("vad", "class:x", "class:y", "f0_hz")


def test_scales_use_the_int16_range():
    rng = np.random.default_rng(0)
    fp = _random_float(rng)
    q = quantize(fp)
    k = len(fp.classes)
    assert q.shift[1] == q.shift[k] and len(set(q.shift[1 : k + 1].tolist())) == 1  # classes share a scale
    for g in ((0,), tuple(range(1, k + 1)), (k + 1,)):
        m = np.abs(q.weights[:, list(g)].astype(np.int64)).max()
        assert INT16_MAX // 2 < m <= INT16_MAX  # the largest power of two that fits
    assert np.all(headroom(q.weights, q.bias) >= 0)
    d = dequantized(q)
    assert np.max(np.abs(d.weight - fp.weight) / q.scale) <= 0.5 + 1e-9  # rounding only
    assert np.max(np.abs(d.bias - fp.bias) / q.scale) <= 0.5 + 1e-9


def test_bias_limits_the_scale():
    rng = np.random.default_rng(1)
    fp = _random_float(rng, scale=1e-3)
    fp.bias[0] = 5e4  # huge VAD bias: the shift must leave the int32 headroom
    q = quantize(fp)
    assert headroom(q.weights[:, :1], q.bias[:1])[0] >= 0
    assert np.abs(q.weights[:, 0]).max() < INT16_MAX // 2


def test_overflowing_probes_are_refused():
    w = np.full((4, 3), INT16_MAX, np.int16)
    with pytest.raises(ConfigError):
        QuantProbes(w, np.array([2**31 - 10, 0, 0], np.int32), np.zeros(3, np.int32), ("a",), 2, 2)
    with pytest.raises(ConfigError):
        QuantProbes(w.astype(np.int32), np.zeros(3, np.int32), np.zeros(3, np.int32), ("a",), 2, 2)


def test_golden_is_bias_plus_set_rows():
    rng = np.random.default_rng(2)
    q = quantize(_random_float(rng, n_blocks=3, n_channels=7))
    for bits in (np.zeros(21, bool), np.ones(21, bool), rng.random(21) < 0.5):
        want = q.bias.astype(np.int64).copy()
        for i in np.flatnonzero(bits):
            want += q.weights[i]
        got = probe_scores(bits, q)
        assert got.dtype == np.int32 and np.array_equal(got, want)
    frames = rng.random((5, 21)) < 0.3
    assert np.array_equal(probe_scores(frames, q), np.stack([probe_scores(f, q) for f in frames]))
    with pytest.raises(ConfigError):
        probe_scores(np.zeros(20, bool), q)


def test_dequantize_and_decode():
    rng = np.random.default_rng(3)
    fp = _random_float(rng)
    q = quantize(fp)
    bits = rng.random((7, fp.n_bits)) < 0.5
    s = probe_scores(bits, q)
    v = dequantize(s, q)
    assert np.allclose(v.vad_logit, s[:, 0] * 2.0 ** -q.shift[0])
    assert np.allclose(v.f0_hz, s[:, -1] * 2.0 ** -q.shift[-1])
    assert np.allclose(v.vad_logit, fp.scores(bits)[:, 0], atol=1e-3 * np.abs(fp.weight[:, 0]).max() + 1e-9)
    o1, o2 = decode_scores(s, q), run_probes(bits, q)
    assert np.array_equal(o1.class_logits, o2.class_logits) and np.array_equal(o1.f0_hz, o2.f0_hz)


def test_integer_probes_decide_as_float(trained):
    fs, fp = trained
    of = run_probes(fs.bits, fp)
    agree16 = agreement([of], [run_probes(fs.bits, quantize(fp))])
    assert agree16["vad_frames"] >= 0.995
    assert agree16["class_frames"] >= 0.995
    assert agree16["f0_max_abs_hz"] < 0.1
    # the same check on a 3-bit export fails: the thresholds discriminate
    agree3 = agreement([of], [run_probes(fs.bits, quantize(fp, weight_bits=3))])
    assert agree3["vad_frames"] < 0.995 or agree3["class_frames"] < 0.995
    assert agree3["f0_max_abs_hz"] >= 0.1


def test_files_roundtrip(tmp_path, trained):
    _, fp = trained
    q = quantize(fp)
    save_npz(tmp_path / "probes.npz", fp, q)
    fp2, q2 = load_npz(tmp_path)
    assert fp2.classes == fp.classes and (fp2.n_blocks, fp2.n_channels) == (3, 40)
    assert np.array_equal(fp2.weight, fp.weight) and np.array_equal(q2.weights, q.weights)
    assert np.array_equal(q2.bias, q.bias) and np.array_equal(q2.shift, q.shift)
    with pytest.raises(ConfigError):
        load_npz(tmp_path / "nothing")
    src = c_source(q)
    assert f"int16_t dyncp_probes_weights[{fp.n_bits} * {q.n_probes}]" in src
    assert src.count("\n    ") == fp.n_bits  # one row per bit


def test_context_probes_roundtrip_and_export_every_lag_to_c(tmp_path):
    rng = np.random.default_rng(4)
    n_blocks, n_channels, k = 2, 20, 2
    fp = FloatProbes(rng.normal(0, 1, ((k + 1) * n_blocks * n_channels, 5)), np.array([0.1, 0, 0, 0, 150.0]),
                     ("c0", "c1", "c2"), n_blocks, n_channels, context=k)
    assert (fp.n_bits, fp.n_features) == (40, 120)
    assert macs_per_frame(fp) == 3 * macs_per_frame(_random_float(rng, n_blocks, n_channels)) == 600
    q = quantize(fp)
    assert q.context == k and q.weights.shape == (120, 5)
    save_npz(tmp_path / "probes.npz", fp, q)
    fp2, q2 = load_npz(tmp_path)
    assert fp2.context == k and q2.context == k and np.array_equal(q2.weights, q.weights)
    feats = rng.random((4, 120)) < 0.5
    assert probe_scores(feats, q).shape == (4, 5)
    with pytest.raises(ConfigError, match=r"120 features \(3 frames of 40 mask bits\)"):
        probe_scores(feats[:, :40], q)
    src = c_source(q)
    assert "dyncp_probes_weights[120 * 5]" in src and src.count("\n    ") >= 120  # (k + 1) blocks of rows
    with pytest.raises(ConfigError, match="do not fit"):
        FloatProbes(fp.weight[:40], fp.bias, fp.classes, n_blocks, n_channels, context=k)
    with pytest.raises(ConfigError, match="context"):
        FloatProbes(fp.weight, fp.bias, fp.classes, n_blocks, n_channels, context=-1)


def test_probes_without_context_in_the_file_load_as_context_zero(tmp_path, trained):
    _, fp = trained
    q = quantize(fp)
    np.savez(tmp_path / "probes.npz", weights=q.weights, bias=q.bias, shift=q.shift, float_weight=fp.weight,
             float_bias=fp.bias, classes=np.array(fp.classes), n_blocks=np.int64(3), n_channels=np.int64(40))
    fp2, q2 = load_npz(tmp_path)
    assert fp2.context == 0 and q2.context == 0 and c_source(q2) == c_source(q)
