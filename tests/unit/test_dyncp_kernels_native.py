"""DynCP kernels (firmware/kernels/bk_pw_conv_s8.c, bk_pw_conv_t_s8.c, bk_dw_conv_s8.c) built
with host gcc are BIT-EXACT with the golden ops (bench.models.dyncp.golden, built on
bench.models.int8ops) on the reference path and on the DSP path's data layout
(-DBK_EMULATE_DSP), for random keep-masks including all-off and all-on, odd channel counts
and extreme multipliers; skipped channels are never written and their weights never read."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.kernelbench import KernelStatusError
from bench.models import int8ops as q8
from bench.models.dyncp import golden as g
from bench.models.dyncp.kernels import DyncpKernels

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", params=["ref", "dsp-emulated"])
def dk(request):
    k = DyncpKernels(emulate_dsp=request.param == "dsp-emulated")
    assert k.dsp == (request.param == "dsp-emulated")
    return k


@st.composite
def problem(draw, max_in=70, max_out=70):
    n_in = draw(st.integers(1, max_in))
    n_out = draw(st.integers(1, max_out))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask_kind = draw(st.sampled_from(["random", "off", "on", "none", "sparse", "dense"]))
    return n_in, n_out, rng, mask_kind


def _keep(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    if kind == "none":
        return None
    p = {"random": 0.5, "off": 0.0, "on": 1.0, "sparse": 0.15, "dense": 0.85}[kind]
    return rng.random(n) < p


def _quant(rng: np.random.Generator, n: int, extreme: bool) -> tuple[np.ndarray, np.ndarray]:
    if extreme:
        return (
            rng.integers(0, q8.INT32_MAX, n, dtype=np.int64).astype(np.int32),
            rng.integers(-31, 31, n).astype(np.int32),
        )
    return q8.quantize_multiplier_array(10.0 ** rng.uniform(-5, -1, n))


def _bias(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    if kind == "none":
        return None
    hi = 1 << 20 if kind == "small" else q8.INT32_MAX
    return rng.integers(-hi, hi, n, dtype=np.int64).astype(np.int32)


@given(
    problem(), st.booleans(), st.sampled_from(["none", "small", "full"]), st.integers(-128, 128), st.integers(-128, 127)
)
@SETTINGS
def test_pw_conv_output_masked(dk, prob, extreme, bias_kind, in_off, out_off):
    n_in, n_out, rng, kind = prob
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int8)
    b = _bias(rng, n_out, bias_kind)
    m, s = _quant(rng, n_out, extreme)
    keep = _keep(rng, n_out, kind)
    sentinel = rng.integers(-128, 128, n_out).astype(np.int8)
    want = g.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, sentinel)
    got = dk.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, sentinel)
    assert np.array_equal(got, want)
    if keep is not None:
        assert np.array_equal(got[~keep], sentinel[~keep])  # skipped outputs untouched


@given(
    problem(),
    st.booleans(),
    st.sampled_from(["none", "small", "full"]),
    st.integers(-128, 128),
    st.integers(-128, 127),
    st.integers(-128, 127),
    st.integers(0, 255),
)
@SETTINGS
def test_pw_conv_input_masked(dk, prob, extreme, bias_kind, in_off, out_off, lo, width):
    n_in, n_out, rng, kind = prob
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    wt = rng.integers(-128, 128, (n_in, n_out)).astype(np.int8)
    b = _bias(rng, n_out, bias_kind)
    m, s = _quant(rng, n_out, extreme)
    keep = _keep(rng, n_in, kind)
    hi = min(127, lo + width)
    want = g.pw_conv_t_s8(x, wt, b, in_off, m, s, out_off, keep, lo, hi)
    assert np.array_equal(dk.pw_conv_t_s8(x, wt, b, in_off, m, s, out_off, keep, lo, hi), want)


def test_skipped_inputs_weights_are_not_read(dk):
    """Same result whatever a skipped input channel's weights and value are."""
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, 37).astype(np.int8)
    wt = rng.integers(-128, 128, (37, 29)).astype(np.int8)
    keep = rng.random(37) < 0.4
    m, s = q8.quantize_multiplier_array(np.full(29, 2e-3))
    a = dk.pw_conv_t_s8(x, wt, None, 5, m, s, -3, keep)
    wt2, x2 = wt.copy(), x.copy()
    wt2[~keep] = rng.integers(-128, 128, (int((~keep).sum()), 29))
    x2[~keep] = 127
    assert np.array_equal(a, dk.pw_conv_t_s8(x2, wt2, None, 5, m, s, -3, keep))
    assert np.array_equal(a, q8.fc_s8(x[keep], wt[keep].T, None, 5, m, s, -3))


@given(
    st.integers(1, 70),
    st.sampled_from([1, 2, 4, 3]),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["random", "off", "on", "none", "sparse", "dense"]),
    st.booleans(),
    st.sampled_from(["none", "small", "full"]),
    st.integers(-127, 128),
    st.integers(-128, 127),
)
@SETTINGS
def test_dw_conv_frame(dk, c, d, seed, kind, extreme, bias_kind, in_off, out_off):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, c).astype(np.int8)
    ring = rng.integers(-128, 128, (2 * d, c)).astype(np.int8)
    pos = int(rng.integers(0, 2 * d))
    w = rng.integers(-128, 128, (3, c)).astype(np.int8)
    b = _bias(rng, c, bias_kind)
    m, s = _quant(rng, c, extreme)
    keep = _keep(rng, c, kind)
    out0 = rng.integers(-128, 128, c).astype(np.int8)
    want = g.dw_conv_s8(x, ring, pos, d, w, b, in_off, m, s, out_off, keep, out0)
    got = dk.dw_conv_s8(x, ring, pos, d, w, b, in_off, m, s, out_off, keep, out0)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]
    if keep is not None:
        assert np.array_equal(got[0][~keep], out0[~keep])
        assert np.all(got[1][pos][~keep] == np.int8(-in_off))


@pytest.mark.parametrize("d", [1, 2, 4])
def test_dw_conv_stream_equals_a_causal_dilated_conv(dk, d):
    """Frame by frame with the ring == the whole-sequence causal conv on masked inputs."""
    rng = np.random.default_rng(d)
    c, t, zp = 19, 30, -7
    xs = rng.integers(-128, 128, (t, c)).astype(np.int8)
    keeps = rng.random((t, c)) < 0.6
    keeps[3] = False
    keeps[4] = True
    w = rng.integers(-128, 128, (3, c)).astype(np.int8)
    b = rng.integers(-5000, 5000, c).astype(np.int32)
    m, s = q8.quantize_multiplier_array(np.full(c, 3e-3))
    ring = np.full((2 * d, c), zp, np.int8)
    pos = 0
    hist = np.where(keeps, xs, np.int8(zp)).astype(np.int8)  # what each frame leaves behind
    pad = np.concatenate([np.full((2 * d, c), zp, np.int8), hist])
    for i in range(t):
        out, ring, pos = dk.dw_conv_s8(xs[i], ring, pos, d, w, b, -zp, m, s, 3, keeps[i], np.zeros(c, np.int8))
        taps = np.stack([pad[i], pad[i + d], xs[i]])  # frames t-2d, t-d, t
        for ch in np.flatnonzero(keeps[i]):
            want = q8.fc_s8(taps[:, ch], w[:, ch][None], b[ch : ch + 1], -zp, m[ch : ch + 1], s[ch : ch + 1], 3)
            assert out[ch] == want[0], (i, ch)


def test_bench_shapes_all_on_and_all_off(dk):
    rng = np.random.default_rng(0)
    for r, c in ((64, 128), (128, 256)):
        x = rng.integers(-128, 128, r).astype(np.int8)
        w = rng.integers(-127, 128, (c, r)).astype(np.int8)
        b = rng.integers(-30000, 30000, c).astype(np.int32)
        m, s = q8.quantize_multiplier_array(rng.uniform(1e-4, 3e-3, c))
        z = np.zeros(c, np.int8)
        on, off = np.ones(c, bool), np.zeros(c, bool)
        assert np.array_equal(dk.pw_conv_s8(x, w, b, -3, m, s, 2, on, z), q8.fc_s8(x, w, b, -3, m, s, 2))
        assert np.array_equal(dk.pw_conv_s8(x, w, b, -3, m, s, 2, off, z), z)
        h = rng.integers(-128, 128, c).astype(np.int8)
        m2, s2 = q8.quantize_multiplier_array(rng.uniform(1e-4, 3e-3, r))
        b2 = b[:r]
        assert np.array_equal(dk.pw_conv_t_s8(h, w, b2, 1, m2, s2, 0, on), q8.fc_s8(h, w.T, b2, 1, m2, s2, 0))
        assert np.array_equal(
            dk.pw_conv_t_s8(h, w, b2, 1, m2, s2, 0, off), q8.fc_s8(h[:0], w.T[:, :0], b2, 1, m2, s2, 0)
        )


def test_argument_errors(dk):
    x = np.zeros(8, np.int8)
    m, s = q8.quantize_multiplier_array(np.full(8, 1e-3))
    with pytest.raises(KernelStatusError) as e:
        dk.pw_conv_t_s8(x, np.zeros((8, 8), np.int8), None, 0, m, s, 0, None, scratch_bytes=8)
    assert e.value.status == -4
    with pytest.raises(KernelStatusError) as e:
        dk.dw_conv_s8(x, np.zeros((2, 8), np.int8), 2, 1, np.zeros((3, 8), np.int8), None, 0, m, s, 0, None, x)
    assert e.value.status == -3  # pos out of range
    with pytest.raises(KernelStatusError) as e:
        dk.dw_conv_s8(x, np.zeros((2, 8), np.int8), 0, 1, np.zeros((3, 8), np.int8), None, -128, m, s, 0, None, x)
    assert e.value.status == -3  # zero point 128 is no int8
    with pytest.raises(KernelStatusError) as e:
        dk.pw_conv_s8(x, np.zeros((8, 8), np.int8), None, 0, m, s, 0, None, x, act_min=5, act_max=4)
    assert e.value.status == -3
