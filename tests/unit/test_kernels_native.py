"""firmware/kernels built with host gcc are BIT-EXACT with the golden model
(bench.models.common.int8ops / gru_int): the reference path, and the DSP path's data layout with
portable C models of SMLAD / SXTB16 (-DBK_EMULATE_DSP). Hypothesis drives shapes (odd sizes,
sizes not a multiple of 4), values, zero points and extreme multipliers / shifts. The real
DSP instructions are checked on the Cortex-M4F in tests/qemu/test_bench_kernels.py."""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.errors import ConfigError
from bench.models.common.ckernels import FcParams, KernelStatusError, NativeKernels, PerChannel, fc_scratch_bytes
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", params=["ref", "dsp-emulated"])
def nk(request):
    k = NativeKernels(emulate_dsp=request.param == "dsp-emulated")
    assert k.dsp == (request.param == "dsp-emulated")
    return k


@st.composite
def fc_problem(draw, out16=False, in16=False):
    n = draw(st.integers(1, 13))
    k = draw(st.integers(1, 41))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, k).astype(np.int16) if in16 else rng.integers(-128, 128, k).astype(np.int8)
    w = rng.integers(-128, 128, (n, k)).astype(np.int8)
    bias_kind = draw(st.sampled_from(["none", "small", "full"]))
    bias = None if bias_kind == "none" else (
        rng.integers(-(1 << 20), 1 << 20, n) if bias_kind == "small"
        else rng.integers(q8.INT32_MIN, q8.INT32_MAX, n, dtype=np.int64)).astype(np.int32)
    extreme = draw(st.booleans())
    if extreme:  # anything TFLM allows: multiplier 0..2^31-1, shift -31..30
        mult = rng.integers(0, q8.INT32_MAX, n, dtype=np.int64).astype(np.int32)
        shift = rng.integers(-31, 31, n).astype(np.int32)
    else:        # realistic: real multiplier 1e-6 .. 1e-1
        mult, shift = q8.quantize_multiplier_array(10.0 ** rng.uniform(-6, -1, n))
    in_off = 0 if in16 else draw(st.integers(-128, 128))
    out_off = draw(st.integers(-128, 127)) if not out16 else draw(st.sampled_from([0, 0, 17, -300]))
    lo_hi = (-32768, 32767) if (out16 or in16) else (-128, 127)
    lo = draw(st.integers(lo_hi[0], lo_hi[1]))
    hi = draw(st.integers(lo, lo_hi[1]))
    if draw(st.booleans()):
        lo, hi = lo_hi
    return x, w, bias, in_off, mult, shift, out_off, lo, hi


@given(fc_problem())
@SETTINGS
def test_fc_s8(nk, prob):
    x, w, bias, in_off, mult, shift, out_off, lo, hi = prob
    want = q8.fc_s8(x, w, bias, in_off, mult, shift, out_off, lo, hi)
    assert np.array_equal(nk.fc_s8(x, w, bias, in_off, mult, shift, out_off, lo, hi), want)


@given(fc_problem(out16=True))
@SETTINGS
def test_fc_s8_s16(nk, prob):
    x, w, bias, in_off, mult, shift, out_off, lo, hi = prob
    want = q8.fc_s8_s16(x, w, bias, in_off, mult, shift, out_off, lo, hi)
    assert np.array_equal(nk.fc_s8_s16(x, w, bias, in_off, mult, shift, out_off, lo, hi), want)


@given(fc_problem(in16=True))
@SETTINGS
def test_fc_s16(nk, prob):
    x, w, bias, _, mult, shift, _, lo, hi = prob
    want = q8.fc_s16(x, w, bias, mult, shift, lo, hi)
    assert np.array_equal(nk.fc_s16(x, w, bias, mult, shift, lo, hi), want)


@pytest.mark.parametrize("n,k", [(4, 4), (8, 8), (5, 400), (128, 161), (161, 128), (7, 3)])
def test_fc_shapes_of_the_bench(nk, n, k):
    rng = np.random.default_rng(n * 1000 + k)
    x = rng.integers(-128, 128, k).astype(np.int8)
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    b = rng.integers(-30000, 30000, n).astype(np.int32)
    m, s = q8.quantize_multiplier_array(rng.uniform(1e-4, 3e-3, n))
    assert np.array_equal(nk.fc_s8(x, w, b, -11, m, s, 4), q8.fc_s8(x, w, b, -11, m, s, 4))
    assert np.array_equal(nk.fc_s8_s16(x, w, b, 9, m, s + 8), q8.fc_s8_s16(x, w, b, 9, m, s + 8))
    h = rng.integers(-32768, 32768, k).astype(np.int16)
    assert np.array_equal(nk.fc_s16(h, w, b, m, s), q8.fc_s16(h, w, b, m, s))


def test_fc_extreme_values(nk):
    """All-(-128) inputs and weights at the largest offset, accumulators that wrap."""
    k = 37
    x = np.full(k, -128, np.int8)
    w = np.full((5, k), -128, np.int8)
    b = np.array([q8.INT32_MAX, q8.INT32_MIN, 0, -1, 1], np.int32)
    m = np.array([q8.INT32_MAX, 1 << 30, 0, 1, q8.INT32_MAX], np.int32)
    s = np.array([30, -31, 0, 30, -1], np.int32)
    for off in (-128, 128):
        assert np.array_equal(nk.fc_s8(x, w, b, off, m, s, 0), q8.fc_s8(x, w, b, off, m, s, 0))
    h = np.full(k, -32768, np.int16)
    assert np.array_equal(nk.fc_s16(h, w, b, m, s), q8.fc_s16(h, w, b, m, s))


def test_activations_exhaustive_q312(nk):
    x = np.arange(-32768, 32768).astype(np.int16)
    assert np.array_equal(nk.sigmoid_s16(x), q8.sigmoid_s16(x))
    assert np.array_equal(nk.tanh_s16(x), q8.tanh_s16(x))


@given(st.integers(0, 32767), st.integers(0, 31), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_activations_general_params(nk, mult, shift, seed):
    if mult == 0:
        shift = min(shift, 13)
    x = np.random.default_rng(seed).integers(-32768, 32768, 300).astype(np.int16)
    assert np.array_equal(nk.sigmoid_s16(x, mult, shift), q8.sigmoid_s16(x, mult, shift))
    assert np.array_equal(nk.tanh_s16(x, mult, shift), q8.tanh_s16(x, mult, shift))


def test_activation_params_of_tflm_prepare(nk):
    x = np.arange(-32768, 32768, 3).astype(np.int16)
    for scale in (2.0 ** -11, 2.0 ** -10, 1 / 3000, 1e-5, 0.01):
        m, s = q8.sigmoid_s16_params(scale)
        assert np.array_equal(nk.sigmoid_s16(x, m, s), q8.sigmoid_s16(x, m, s))
        m, s = q8.tanh_s16_params(scale)
        assert np.array_equal(nk.tanh_s16(x, m, s), q8.tanh_s16(x, m, s))


@given(st.integers(-32768, 32768), st.integers(-32768, 32768), st.integers(-300, 300),
       st.integers(0, q8.INT32_MAX), st.integers(-31, 30), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_mul_s16(nk, o1, o2, oo, m, s, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-32768, 32768, 57).astype(np.int16)
    b = rng.integers(-32768, 32768, 57).astype(np.int16)
    lo = int(rng.integers(-32768, 0))
    p = q8.MulParams(o1, o2, oo, m, s, lo, 32767)
    assert np.array_equal(nk.mul_s16(a, b, p), q8.mul_elementwise(a, b, p))


@given(st.floats(1e-6, 1.0), st.floats(1e-6, 1.0), st.floats(1e-6, 1.0), st.integers(-50, 50),
       st.integers(-50, 50), st.integers(-50, 50), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_add_s16(nk, s1, s2, so, z1, z2, zo, seed):
    try:
        p = q8.add_params(s1, z1, s2, z2, so, zo)
    except ConfigError:
        return  # rescale factor >= 1: TFLM refuses these scales too
    rng = np.random.default_rng(seed)
    a = rng.integers(-32768, 32768, 45).astype(np.int16)
    b = rng.integers(-32768, 32768, 45).astype(np.int16)
    assert np.array_equal(nk.add_s16(a, b, p), q8.add_elementwise(a, b, p))


@given(st.lists(st.integers(q8.INT32_MIN, q8.INT32_MAX), min_size=1, max_size=40),
       st.integers(q8.INT32_MIN, q8.INT32_MAX), st.integers(-31, 30))
@settings(max_examples=150, deadline=None)
def test_requantize_s32(nk, xs, m, s):
    x = np.array(xs + [q8.INT32_MIN, q8.INT32_MAX, 0, -1], np.int32)
    assert np.array_equal(nk.requantize_s32(x, m, s), q8.multiply_by_quantized_multiplier(x, m, s))


def test_requantize_s32_saturation_case(nk):
    x = np.array([q8.INT32_MIN, q8.INT32_MIN + 1, 1 << 30], np.int32)
    got = nk.requantize_s32(x, q8.INT32_MIN, 0)
    assert got.tolist() == q8.multiply_by_quantized_multiplier(x, q8.INT32_MIN, 0).tolist()
    assert got[0] == q8.INT32_MAX


@given(st.integers(-32768, 32768), st.integers(0, q8.INT32_MAX), st.integers(-31, 30),
       st.integers(-128, 127), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_requantize_s16_s8(nk, io, m, s, oo, seed):
    x = np.random.default_rng(seed).integers(-32768, 32768, 33).astype(np.int16)
    assert np.array_equal(nk.requantize_s16_s8(x, m, s, io, oo), q8.requantize_s16_s8(x, m, s, io, oo))


# ---- GRU ---------------------------------------------------------------------------------

def _random_gru(rng, i_size, hidden, gain=2.0, with_bias=True):
    a = gain / np.sqrt(hidden)
    wi = rng.uniform(-a, a, (3 * hidden, i_size))
    wh = rng.uniform(-a, a, (3 * hidden, hidden))
    bi = rng.uniform(-a, a, 3 * hidden) if with_bias else None
    bh = rng.uniform(-a, a, 3 * hidden) if with_bias else None
    xs = rng.normal(0, 1.5, (6, i_size))
    return gi.quantize_gru(wi, wh, bi, bh, xs), xs


@given(st.integers(1, 37), st.integers(1, 29), st.floats(0.5, 8.0), st.booleans(), st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_gru_cell_sequence(nk, i_size, hidden, gain, with_bias, seed):
    rng = np.random.default_rng(seed)
    try:
        q, xs = _random_gru(rng, i_size, hidden, gain, with_bias)
    except ConfigError as e:  # a bias far above a lone tiny weight could overflow: refused, as documented
        assert "could overflow int32" in str(e)
        return
    xq = q.quantize_input(xs)
    h = rng.integers(-32768, 32768, hidden).astype(np.int16)  # any start state
    for x in xq:
        want = gi.gru_cell_int(q, x, h)
        got = nk.gru_cell(q, x, h)
        assert np.array_equal(got, want)
        h = want


def test_gru_cell_saturating_inputs(nk):
    """Huge weights: pre-activations clamp at +-8 (Q3.12), products and sums saturate."""
    rng = np.random.default_rng(11)
    q, _ = _random_gru(rng, 20, 12, gain=60.0)
    for x, h in [(np.full(20, 127, np.int8), np.full(12, 32767, np.int16)),
                 (np.full(20, -128, np.int8), np.full(12, -32768, np.int16)),
                 (rng.integers(-128, 128, 20).astype(np.int8), rng.integers(-32768, 32768, 12).astype(np.int16))]:
        assert np.array_equal(nk.gru_cell(q, x, h), gi.gru_cell_int(q, x, h))


# ---- argument checks ---------------------------------------------------------------------

def _status(fn, *args):
    return int(fn(*args))


def test_fc_status_codes(nk):
    lib = nk.lib
    x = np.zeros(6, np.int8)
    w = np.zeros((2, 6), np.int8)
    out = np.zeros(2, np.int8)
    m = np.zeros(2, np.int32)
    s = np.zeros(2, np.int32)
    scratch = np.zeros(8, np.int32)
    q = PerChannel(m.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), s.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))

    need = fc_scratch_bytes(6)

    def call(params, k=6, n=2, xs=x, sc=scratch.ctypes.data, sb=need, qq=q):
        return _status(lib.bk_fc_s8, ctypes.byref(params), ctypes.byref(qq) if qq else None,
                       ctypes.c_int32(k), ctypes.c_int32(n),
                       xs.ctypes.data_as(ctypes.c_void_p) if xs is not None else None,
                       w.ctypes.data_as(ctypes.c_void_p), None, out.ctypes.data_as(ctypes.c_void_p),
                       ctypes.c_void_p(sc), ctypes.c_size_t(sb))

    ok = FcParams(0, 0, -128, 127)
    assert call(ok) == 0
    assert call(ok, xs=None) == -1
    assert call(ok, qq=None) == -1
    assert call(ok, k=0) == -2
    assert call(ok, n=-1) == -2
    assert call(FcParams(0, 0, 5, 4)) == -3
    assert call(FcParams(0, 0, -129, 127)) == -3
    assert call(FcParams(129, 0, -128, 127)) == -3
    assert call(ok, sb=need - 1) == -4
    assert call(ok, sc=scratch.ctypes.data + 2) == -4
    assert call(ok, sc=0) == -4


def test_other_status_codes(nk):
    x16 = np.zeros(4, np.int16)
    with pytest.raises(KernelStatusError) as e:
        nk.requantize_s32(np.zeros(3, np.int32), 1 << 30, 31)
    assert e.value.status == -3
    with pytest.raises(KernelStatusError):
        nk.sigmoid_s16(x16, 0, 14)
    with pytest.raises(KernelStatusError):
        nk.mul_s16(x16, x16, q8.MulParams(0, 0, 0, 1 << 30, -32, -32768, 32767))
    with pytest.raises(KernelStatusError):
        nk.fc_s16(x16, np.zeros((1, 4), np.int8), None, np.zeros(1, np.int32), np.zeros(1, np.int32), 1, 0)
    rng = np.random.default_rng(0)
    q, xs = _random_gru(rng, 9, 5)
    with pytest.raises(KernelStatusError) as e:
        nk.gru_cell(q, q.quantize_input(xs[0]), np.zeros(5, np.int16), scratch_bytes=5 * 12)
    assert e.value.status == -4
    assert int(nk.lib.bk_sigmoid_s16(None, None, 3, 0, 0)) == -1
    assert int(nk.lib.bk_tanh_s16(x16.ctypes.data_as(ctypes.c_void_p), x16.ctypes.data_as(ctypes.c_void_p),
                                  -1, 0, 0)) == -2
