"""Conformance with TFLite-Micro, operator by operator: for random shapes, scales and zero
points (hypothesis), a one-operator .tflite built with TFLM's model editor runs in TFLM's host
interpreter, and its output must equal, bit for bit, our numpy golden operator
(bench.models.common.int8ops) AND our C kernel built natively (reference path and the DSP path's
data layout, bench.harness.kernels.NativeKernels). A failure names the first differing element
and the inputs that fed it. Needs the `tflm` extra; skipped without it.

Operators: FULLY_CONNECTED int8 per channel (with and without fused ReLU), FULLY_CONNECTED
16x8 (int32 bias), CONV_2D 1x1 (= per-channel FC per frame), LOGISTIC and TANH int16, MUL
int16, ADD int16 and int8, SUB int16, QUANTIZE int16 -> int8 and int8 -> int16, DEQUANTIZE
int8, DEPTHWISE_CONV_2D k=3 dilated. Deliberate differences are listed in docs/tflm.md.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite_micro")

from bench.models.common.ckernels import NativeKernels  # noqa: E402
from bench.models.common import int8ops as q8  # noqa: E402
from bench.tflm.conformance import assert_bit_exact  # noqa: E402
from bench.tflm.graph import Graph, run  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


@pytest.fixture(scope="module")
def kernels():
    if shutil.which("gcc") is None:
        return []
    return [("C ref", NativeKernels()), ("C dsp-emulated", NativeKernels(emulate_dsp=True))]


scale8 = st.floats(0.002, 0.5)
zp8 = st.integers(-128, 127)


@st.composite
def fc_case(draw, in16: bool = False):
    n, k = draw(st.integers(1, 24)), draw(st.integers(1, 70))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.integers(-32768, 32768, k).astype(np.int16) if in16
         else rng.integers(-128, 128, k).astype(np.int8))
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    b = rng.integers(-(1 << 16), 1 << 16, n).astype(np.int32)
    sx = 2.0 ** -draw(st.integers(8, 15)) if in16 else draw(scale8)
    zx = 0 if in16 else draw(zp8)
    sw = rng.uniform(0.0005, 0.05, n).astype(np.float32)
    so = draw(st.floats(2.0 ** -14, 2.0 ** -6)) if in16 else draw(st.floats(0.02, 2.0))
    zo = 0 if in16 else draw(zp8)
    return x, w, b, sx, zx, sw, so, zo


@given(fc_case(), st.booleans())
@SETTINGS
def test_fully_connected_int8(kernels, case, relu):
    x, w, b, sx, zx, sw, so, zo = case
    g = Graph()
    tx = g.input((1, x.size), "int8", sx, zx)
    g.output(g.fully_connected(tx, w, b, sw, so, zo, fused_relu=relu))
    (got,) = run(g.build(), [x.reshape(1, -1)])
    m, s = q8.fc_multipliers(sx, sw, so)
    lo = max(-128, zo) if relu else -128
    ins = {"x": x, "w": w, "bias": b, "x_zero_point": zx, "out_zero_point": zo}
    assert_bit_exact("FULLY_CONNECTED int8, golden", got.reshape(-1), q8.fc_s8(x, w, b, -zx, m, s, zo, lo), ins)
    for name, k in kernels:
        assert_bit_exact(f"FULLY_CONNECTED int8, {name}", got.reshape(-1), k.fc_s8(x, w, b, -zx, m, s, zo, lo), ins)


@given(fc_case(in16=True))
@SETTINGS
def test_fully_connected_16x8(kernels, case):
    x, w, b, sx, _, sw, so, _ = case
    g = Graph()
    tx = g.input((1, x.size), "int16", sx, 0)
    g.output(g.fully_connected(tx, w, b, sw, so, 0))
    (got,) = run(g.build(), [x.reshape(1, -1)])
    m, s = q8.fc_multipliers(sx, sw, so)
    ins = {"x": x, "w": w, "bias": b}
    assert_bit_exact("FULLY_CONNECTED 16x8, golden", got.reshape(-1), q8.fc_s16(x, w, b, m, s), ins)
    for name, k in kernels:
        assert_bit_exact(f"FULLY_CONNECTED 16x8, {name}", got.reshape(-1), k.fc_s16(x, w, b, m, s), ins)


@given(fc_case(), st.integers(1, 6))
@SETTINGS
def test_conv_1x1_is_per_channel_fc_per_frame(kernels, case, frames):
    """A pointwise convolution over a few frames (CONV_2D 1x1, NHWC (1, T, 1, Cin))."""
    x0, w, b, sx, zx, sw, so, zo = case
    rng = np.random.default_rng(int(x0.sum()) & 0xFFFF)
    x = rng.integers(-128, 128, (frames, x0.size)).astype(np.int8)
    g = Graph()
    tx = g.input((1, frames, 1, x0.size), "int8", sx, zx)
    g.output(g.conv_1x1(tx, w, b, sw, so, zo))
    (got,) = run(g.build(), [x.reshape(1, frames, 1, -1)])
    got = got.reshape(frames, -1)
    m, s = q8.fc_multipliers(sx, sw, so)
    for t in range(frames):
        ins = {"frame": t, "x": x[t], "w": w, "bias": b}
        assert_bit_exact("CONV_2D 1x1, golden", got[t], q8.fc_s8(x[t], w, b, -zx, m, s, zo), ins)
        for name, k in kernels:
            assert_bit_exact(f"CONV_2D 1x1, {name}", got[t], k.fc_s8(x[t], w, b, -zx, m, s, zo), ins)


@given(st.floats(2.0 ** -13, 2.0 ** -8), st.integers(0, 2**32 - 1))
@SETTINGS
def test_logistic_and_tanh_int16(kernels, scale, seed):
    x = np.random.default_rng(seed).integers(-32768, 32768, 2048).astype(np.int16)
    for op, params, golden, cname in (("logistic", q8.sigmoid_s16_params, q8.sigmoid_s16, "sigmoid_s16"),
                                      ("tanh", q8.tanh_s16_params, q8.tanh_s16, "tanh_s16")):
        g = Graph()
        tx = g.input(x.shape, "int16", scale)
        g.output(getattr(g, op)(tx, 2.0 ** -15))
        (got,) = run(g.build(), [x])
        m, s = params(scale)
        assert_bit_exact(f"{op.upper()} int16 scale {scale:.3g}, golden", got, golden(x, m, s), {"x": x})
        for name, k in kernels:
            assert_bit_exact(f"{op.upper()} int16 scale {scale:.3g}, {name}", got, getattr(k, cname)(x, m, s),
                             {"x": x})


int16_scale = st.floats(2.0 ** -16, 2.0 ** -8)


@given(int16_scale, int16_scale, int16_scale, st.integers(0, 2**32 - 1))
@SETTINGS
def test_mul_int16(kernels, s1, s2, so, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-32768, 32768, 257).astype(np.int16) for _ in range(2))
    g = Graph()
    ta, tb = g.input(a.shape, "int16", s1), g.input(b.shape, "int16", s2)
    g.output(g.mul(ta, tb, so))
    (got,) = run(g.build(), [a, b])
    p = q8.mul_params(s1, 0, s2, 0, so, 0)
    assert_bit_exact("MUL int16, golden", got, q8.mul_elementwise(a, b, p), {"a": a, "b": b})
    for name, k in kernels:
        assert_bit_exact(f"MUL int16, {name}", got, k.mul_s16(a, b, p), {"a": a, "b": b})


@given(int16_scale, int16_scale, int16_scale, st.integers(0, 2**32 - 1), st.booleans())
@SETTINGS
def test_add_and_sub_int16(kernels, s1, s2, so, seed, sub):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-32768, 32768, 257).astype(np.int16) for _ in range(2))
    g = Graph()
    ta, tb = g.input(a.shape, "int16", s1), g.input(b.shape, "int16", s2)
    g.output(g.sub(ta, tb, so) if sub else g.add(ta, tb, so))
    (got,) = run(g.build(), [a, b])
    # SUB is ADD with the second operand negated: our golden/C use -b, which is exact for every
    # int16 except -32768 (its negation saturates); TFLM negates the rescaled value instead.
    if sub:
        keep = b != -32768
        a, b, got = a[keep], (-b[keep].astype(np.int32)).astype(np.int16), got[keep]
    p = q8.add_params(s1, 0, s2, 0, so, 0)
    op = "SUB" if sub else "ADD"
    assert_bit_exact(f"{op} int16, golden", got, q8.add_elementwise(a, b, p), {"a": a, "b": b})
    for name, k in kernels:
        assert_bit_exact(f"{op} int16, {name}", got, k.add_s16(a, b, p), {"a": a, "b": b})


@given(scale8, zp8, scale8, zp8, scale8, zp8, st.integers(0, 2**32 - 1))
@SETTINGS
def test_add_int8(s1, z1, s2, z2, so, zo, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-128, 128, 300).astype(np.int8) for _ in range(2))
    g = Graph()
    ta, tb = g.input(a.shape, "int8", s1, z1), g.input(b.shape, "int8", s2, z2)
    g.output(g.add(ta, tb, so, zo))
    (got,) = run(g.build(), [a, b])
    p = q8.add_params(s1, z1, s2, z2, so, zo, np.int8)
    assert_bit_exact("ADD int8, golden", got, q8.add_elementwise(a, b, p, np.int8), {"a": a, "b": b})


@given(int16_scale, st.floats(0.001, 0.2), zp8, st.integers(0, 2**32 - 1))
@SETTINGS
def test_quantize_int16_to_int8(kernels, si, so, zo, seed):
    x = np.random.default_rng(seed).integers(-32768, 32768, 1000).astype(np.int16)
    g = Graph()
    g.output(g.quantize(g.input(x.shape, "int16", si), "int8", so, zo))
    (got,) = run(g.build(), [x])
    m, s = q8.quantize_multiplier(float(np.float32(si)) / float(np.float32(so)))
    assert_bit_exact("QUANTIZE int16->int8, golden", got, q8.requantize_s16_s8(x, m, s, 0, zo), {"x": x})
    for name, k in kernels:
        assert_bit_exact(f"QUANTIZE int16->int8, {name}", got, k.requantize_s16_s8(x, m, s, 0, zo), {"x": x})


@given(scale8, zp8)
@SETTINGS
def test_quantize_int8_to_int16_same_scale_is_exact(s, z):
    """The GRU input path: int8 (s, z) -> int16 (s, 0) is x - z exactly."""
    x = np.arange(-128, 128).astype(np.int8)
    g = Graph()
    g.output(g.quantize(g.input(x.shape, "int8", s, z), "int16", s, 0))
    (got,) = run(g.build(), [x])
    assert_bit_exact("QUANTIZE int8->int16", got, (x.astype(np.int32) - z).astype(np.int16), {"x": x})


@given(scale8, zp8)
@SETTINGS
def test_dequantize_int8(s, z):
    x = np.arange(-128, 128).astype(np.int8)
    g = Graph()
    g.output(g.dequantize(g.input(x.shape, "int8", s, z)))
    (got,) = run(g.build(), [x])
    # TFLM computes in float32: scale (float32) * (x - z); ours in float64 then rounded once
    want = (np.float32(s) * (x.astype(np.int32) - z).astype(np.float32)).astype(np.float32)
    assert_bit_exact("DEQUANTIZE int8, float32 formula", got.astype(np.float32), want, {"x": x})
    assert np.allclose(got, q8.dequantize(x, float(np.float32(s)), z), rtol=1e-6, atol=0)


def test_a_mismatch_names_the_first_differing_element():
    with pytest.raises(AssertionError) as e:
        assert_bit_exact("demo", np.arange(20), np.r_[np.arange(17), 99, 18, 99], {"x": np.arange(100, 120), "k": 5})
    msg = str(e.value)
    assert "2 of 20 elements differ" in msg and "index 17: TFLM 17, ours 99" in msg
    assert "x[17] = 117" in msg and "k = 5" in msg


@given(st.integers(1, 40), st.sampled_from([1, 2, 4]), st.integers(1, 8), scale8, zp8, st.floats(0.02, 2.0), zp8,
       st.integers(0, 2**32 - 1), st.booleans())
@SETTINGS
def test_depthwise_causal_conv(c, d, t_out, sx, zx, so, zo, seed, relu):
    """DEPTHWISE_CONV_2D (k=3, dilation d, VALID) over a (1, T, 1, C) sequence equals our
    streaming causal depthwise conv (ring of past frames) once the ring holds real frames:
    golden (bench.models.dyncp.golden) and C (reference and DSP-emulated, all channels kept)."""
    from bench.models.dyncp import golden as dg
    from bench.models.dyncp.kernels import DyncpKernels

    rng = np.random.default_rng(seed)
    n = t_out + 2 * d
    x = rng.integers(-128, 128, (n, c)).astype(np.int8)
    w = rng.integers(-127, 128, (3, c)).astype(np.int8)
    b = rng.integers(-(1 << 14), 1 << 14, c).astype(np.int32)
    sw = rng.uniform(0.002, 0.05, c).astype(np.float32)
    g = Graph()
    tx = g.input((1, n, 1, c), "int8", sx, zx)
    g.output(g.depthwise_conv(tx, w, b, sw, so, zo, dilation=d, fused_relu=relu))
    (got,) = run(g.build(), [x.reshape(1, n, 1, c)])
    got = got.reshape(t_out, c)
    m, s = q8.fc_multipliers(sx, sw, so)
    lo = max(-128, zo) if relu else -128
    impls = [("golden", dg.dw_conv_s8)]
    if shutil.which("gcc") is not None:
        impls += [(name, DyncpKernels(emulate_dsp=emu).dw_conv_s8) for name, emu in (("C ref", False),
                                                                                     ("C dsp-emulated", True))]
    for name, fn in impls:
        ring, pos = np.zeros((2 * d, c), np.int8), 0
        for t in range(n):
            y, ring, pos = fn(x[t], ring, pos, d, w, b, -zx, m, s, zo, None, np.zeros(c, np.int8), lo, 127)
            if t >= 2 * d:
                assert_bit_exact(f"DEPTHWISE_CONV_2D k=3 d={d}, {name}, frame {t}", got[t - 2 * d], y,
                                 {"x[t-2d]": x[t - 2 * d], "x[t-d]": x[t - d], "x[t]": x[t], "w": w, "bias": b})
