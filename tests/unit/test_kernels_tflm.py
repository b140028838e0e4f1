"""The golden model (and so the C kernels) against TFLite-Micro's own kernels: single-operator
.tflite models written with TFLM's model editor and run by its Python interpreter (the
`tflm` extra: pip install -e .[tflm]). Skipped when tflite_micro is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from bench.models import int8ops as q8

tflm = pytest.importorskip("tflite_micro")
from tflite_micro.python.tflite_micro import runtime  # noqa: E402
from tflite_micro.tensorflow.lite.micro.compression import model_editor as me  # noqa: E402
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tfl  # noqa: E402

T8, T16, T32 = tfl.TensorType.INT8, tfl.TensorType.INT16, tfl.TensorType.INT32


def _q(scale, zp=0, axis=None):
    if np.ndim(scale):
        return me.Quantization([float(s) for s in scale], [int(zp)] * len(scale), axis=axis)
    return me.Quantization(float(scale), int(zp))


def _run(opcode, inputs, out_shape, out_dtype, out_q, options=None, options_type=None):
    """inputs: list of (array, dtype, quantization, is_constant). Returns the output array."""
    m = me.Model()
    sg = m.add_subgraph()
    tins, feeds = [], []
    for i, (arr, dt, q, const) in enumerate(inputs):
        if const:
            t = sg.add_tensor(shape=arr.shape, dtype=dt, data=np.ascontiguousarray(arr), quantization=q, name=f"c{i}")
        else:
            t = sg.add_tensor(shape=arr.shape, dtype=dt, quantization=q, name=f"in{i}")
            feeds.append(arr)
            sg.inputs.append(t)
        tins.append(t)
    tout = sg.add_tensor(shape=out_shape, dtype=out_dtype, quantization=out_q, name="out")
    op = sg.add_operator(opcode=opcode, inputs=tins, outputs=[tout])
    if options is not None:
        op._fb.builtinOptionsType = options_type
        op._fb.builtinOptions = options
    sg.outputs = [tout]
    it = runtime.Interpreter.from_bytes(bytes(m.build()), arena_size=1 << 20)
    for i, a in enumerate(feeds):
        it.set_input(a, i)
    it.invoke()
    return np.array(it.get_output(0)).reshape(-1)


def _fc(x, xdt, w, b, bq, sx, zx, sw, so, zo, odt):
    n, k = w.shape
    opt = tfl.FullyConnectedOptionsT()
    return _run(tfl.BuiltinOperator.FULLY_CONNECTED,
                [(x.reshape(1, k), xdt, _q(sx, zx), False), (w.astype(np.int8), T8, _q(sw, 0, 0), True),
                 (b.astype(np.int32), T32, bq, True)],
                (1, n), odt, _q(so, zo), opt, tfl.BuiltinOptions.FullyConnectedOptions)


@pytest.mark.parametrize("seed", range(6))
def test_fc_int8_per_channel(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 20)), int(rng.integers(1, 50))
    x = rng.integers(-128, 128, k).astype(np.int8)
    w = rng.integers(-127, 128, (n, k))
    b = rng.integers(-20000, 20000, n)
    sx, zx = float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128))
    sw = rng.uniform(0.001, 0.02, n).astype(np.float32)
    so, zo = float(rng.uniform(0.05, 0.5)), int(rng.integers(-128, 128))
    got = _fc(x, T8, w, b, _q(np.float32(sx) * sw, 0, 0), sx, zx, sw, so, zo, T8)
    m, s = q8.fc_multipliers(sx, sw, so)
    assert np.array_equal(got, q8.fc_s8(x, w, b, -zx, m, s, zo))


@pytest.mark.parametrize("seed", range(4))
def test_fc_16x8_int32_bias(seed):
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(1, 20)), int(rng.integers(1, 50))
    x = rng.integers(-32768, 32768, k).astype(np.int16)
    w = rng.integers(-127, 128, (n, k))
    b = rng.integers(-(1 << 20), 1 << 20, n)
    sx = 2.0 ** -15
    sw = rng.uniform(0.001, 0.02, n).astype(np.float32)
    so = 2.0 ** -12
    got = _fc(x, T16, w, b, _q(np.float32(sx) * sw, 0, 0), sx, 0, sw, so, 0, T16)
    m, s = q8.fc_multipliers(sx, sw, so)
    assert np.array_equal(got, q8.fc_s16(x, w, b, m, s))


@pytest.mark.parametrize("scale", [2.0 ** -12, 2.0 ** -11, 2.0 ** -10, 1 / 3000, 1e-4])
def test_logistic_and_tanh_int16(scale):
    x = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
    got = _run(tfl.BuiltinOperator.LOGISTIC, [(x, T16, _q(scale), False)], x.shape, T16, _q(2.0 ** -15))
    m, s = q8.sigmoid_s16_params(scale)
    assert np.array_equal(got, q8.sigmoid_s16(x, m, s))
    got = _run(tfl.BuiltinOperator.TANH, [(x, T16, _q(scale), False)], x.shape, T16, _q(2.0 ** -15))
    m, s = q8.tanh_s16_params(scale)
    assert np.array_equal(got, q8.tanh_s16(x, m, s))


@pytest.mark.parametrize("scales", [(2.0 ** -15, 2.0 ** -12, 2.0 ** -12), (2.0 ** -15,) * 3, (3e-4, 2e-4, 1e-3)])
def test_mul_int16(scales):
    rng = np.random.default_rng(7)
    a = rng.integers(-32768, 32768, 500).astype(np.int16)
    b = rng.integers(-32768, 32768, 500).astype(np.int16)
    s1, s2, so = scales
    got = _run(tfl.BuiltinOperator.MUL, [(a, T16, _q(s1), False), (b, T16, _q(s2), False)], a.shape, T16, _q(so),
               tfl.MulOptionsT(), tfl.BuiltinOptions.MulOptions)
    assert np.array_equal(got, q8.mul_elementwise(a, b, q8.mul_params(s1, 0, s2, 0, so, 0)))


@pytest.mark.parametrize("scales", [(2.0 ** -12,) * 3, (3e-4, 1e-4, 4e-4), (2.0 ** -15, 2.0 ** -15, 2.0 ** -14)])
def test_add_int16(scales):
    rng = np.random.default_rng(8)
    a = rng.integers(-32768, 32768, 500).astype(np.int16)
    b = rng.integers(-32768, 32768, 500).astype(np.int16)
    s1, s2, so = scales
    got = _run(tfl.BuiltinOperator.ADD, [(a, T16, _q(s1), False), (b, T16, _q(s2), False)], a.shape, T16, _q(so),
               tfl.AddOptionsT(), tfl.BuiltinOptions.AddOptions)
    assert np.array_equal(got, q8.add_elementwise(a, b, q8.add_params(s1, 0, s2, 0, so, 0)))


def test_add_int8():
    rng = np.random.default_rng(9)
    a = rng.integers(-128, 128, 500).astype(np.int8)
    b = rng.integers(-128, 128, 500).astype(np.int8)
    got = _run(tfl.BuiltinOperator.ADD, [(a, T8, _q(0.05, 3), False), (b, T8, _q(0.02, -7), False)], a.shape, T8,
               _q(0.06, 1), tfl.AddOptionsT(), tfl.BuiltinOptions.AddOptions)
    p = q8.add_params(0.05, 3, 0.02, -7, 0.06, 1, np.int8)
    assert np.array_equal(got, q8.add_elementwise(a, b, p, np.int8))


def test_quantize_int16_to_int8():
    x = np.arange(-32768, 32768, 5, dtype=np.int64).astype(np.int16)
    so, zo = 1 / 200 * 2.0 ** -15 * 300, -7
    got = _run(tfl.BuiltinOperator.QUANTIZE, [(x, T16, _q(2.0 ** -15), False)], x.shape, T8, _q(so, zo))
    m, s = q8.quantize_multiplier(float(np.float32(2.0 ** -15)) / float(np.float32(so)))
    assert np.array_equal(got, q8.requantize_s16_s8(x, m, s, 0, zo))


def test_fc_s8_s16_equals_tflm_quantize_then_16x8_fc():
    """TFLM has no int8-in / int16-out FC; ours equals QUANTIZE int8 -> int16 (same scale, zero
    point 0: exact) followed by TFLM's 16x8 FC with int32 bias."""
    rng = np.random.default_rng(12)
    k = 23
    x = rng.integers(-128, 128, k).astype(np.int8)
    sx, zx = 0.04, -9
    x16 = _run(tfl.BuiltinOperator.QUANTIZE, [(x, T8, _q(sx, zx), False)], x.shape, T16, _q(sx, 0))
    assert np.array_equal(x16, x.astype(int) - zx)
    w = rng.integers(-127, 128, (11, k))
    b = rng.integers(-5000, 5000, 11)
    sw = rng.uniform(0.001, 0.02, 11).astype(np.float32)
    got = _fc(x16.astype(np.int16), T16, w, b, _q(np.float32(sx) * sw, 0, 0), sx, 0, sw, 2.0 ** -12, 0, T16)
    m, s = q8.fc_multipliers(sx, sw, 2.0 ** -12)
    assert np.array_equal(got, q8.fc_s8_s16(x, w, b, -zx, m, s))


def test_gru_cell_equals_the_same_cell_as_a_tflm_graph():
    """gru_int.gru_cell_int (default widths, = bk_gru_cell_s8) against the cell written as a
    graph of TFLM operators: QUANTIZE, 6 x FC 16x8, ADD, LOGISTIC, TANH, MUL, SUB."""
    from bench.models import gru_int as gi

    rng = np.random.default_rng(13)
    i_size, hs = 10, 7
    a = 4.0 / np.sqrt(hs)
    q = gi.quantize_gru(rng.uniform(-a, a, (3 * hs, i_size)), rng.uniform(-a, a, (3 * hs, hs)),
                        rng.uniform(-a, a, 3 * hs), rng.uniform(-a, a, 3 * hs), rng.normal(0, 1.5, (20, i_size)))
    s_pre, s_act = 2.0 ** -12, 2.0 ** -15

    m = me.Model()
    sg = m.add_subgraph()
    tx = sg.add_tensor(shape=(1, i_size), dtype=T8, quantization=_q(q.x_scale, q.x_zero_point), name="x")
    th = sg.add_tensor(shape=(1, hs), dtype=T16, quantization=_q(s_act), name="h")
    sg.inputs = [tx, th]

    def t16(name, scale):
        return sg.add_tensor(shape=(1, hs), dtype=T16, quantization=_q(scale), name=name)

    def op(code, ins, out, opts=None, opts_type=None):
        o = sg.add_operator(opcode=code, inputs=ins, outputs=[out])
        if opts is not None:
            o._fb.builtinOptionsType, o._fb.builtinOptions = opts_type, opts
        return out

    x16 = sg.add_tensor(shape=(1, i_size), dtype=T16, quantization=_q(q.x_scale), name="x16")
    op(tfl.BuiltinOperator.QUANTIZE, [tx], x16)
    g = {}
    for side, inp, w_all, b_all, s_in, s_w_all in (("x", x16, q.w_ih, q.b_ih, q.x_scale, q.s_wih),
                                                    ("h", th, q.w_hh, q.b_hh, s_act, q.s_whh)):
        for gate_i, gate in enumerate(gi.GATES):
            rows = slice(gate_i * hs, (gate_i + 1) * hs)
            sw = s_w_all[rows]
            tw = sg.add_tensor(shape=(hs, inp.shape[1]), dtype=T8, data=np.ascontiguousarray(w_all[rows]),
                               quantization=_q(sw, 0, 0), name=f"w{side}{gate}")
            tb = sg.add_tensor(shape=(hs,), dtype=T32, data=np.ascontiguousarray(b_all[rows]),
                               quantization=_q(np.float32(s_in) * sw, 0, 0), name=f"b{side}{gate}")
            g[side + gate] = op(tfl.BuiltinOperator.FULLY_CONNECTED, [inp, tw, tb], t16(f"g{side}{gate}", s_pre),
                                tfl.FullyConnectedOptionsT(), tfl.BuiltinOptions.FullyConnectedOptions)
    add, mul, sub = tfl.BuiltinOperator.ADD, tfl.BuiltinOperator.MUL, tfl.BuiltinOperator.SUB
    addo = (tfl.AddOptionsT(), tfl.BuiltinOptions.AddOptions)
    mulo = (tfl.MulOptionsT(), tfl.BuiltinOptions.MulOptions)
    subo = (tfl.SubOptionsT(), tfl.BuiltinOptions.SubOptions)
    r = op(tfl.BuiltinOperator.LOGISTIC, [op(add, [g["xr"], g["hr"]], t16("pre_r", s_pre), *addo)], t16("r", s_act))
    z = op(tfl.BuiltinOperator.LOGISTIC, [op(add, [g["xz"], g["hz"]], t16("pre_z", s_pre), *addo)], t16("z", s_act))
    rh = op(mul, [r, g["hn"]], t16("rh", s_pre), *mulo)
    n = op(tfl.BuiltinOperator.TANH, [op(add, [g["xn"], rh], t16("pre_n", s_pre), *addo)], t16("n", s_act))
    one = sg.add_tensor(shape=(1, hs), dtype=T16, data=np.full((1, hs), 32767, np.int16), quantization=_q(s_act),
                        name="one")
    omz = op(sub, [one, z], t16("one_minus_z", s_act), *subo)
    out = op(add, [op(mul, [omz, n], t16("zn", s_act), *mulo), op(mul, [z, th], t16("zh", s_act), *mulo)],
             t16("h_new", s_act), *addo)
    sg.outputs = [out]
    it = runtime.Interpreter.from_bytes(bytes(m.build()), arena_size=1 << 20)

    h = np.zeros(hs, np.int16)
    for x in q.quantize_input(rng.normal(0, 1.5, (8, i_size))):
        it.set_input(x.reshape(1, i_size), 0)
        it.set_input(h.reshape(1, hs), 1)
        it.invoke()
        got = np.array(it.get_output(0)).reshape(-1)
        want = gi.gru_cell_int(q, x, h)
        assert np.array_equal(got, want)
        h = want
    assert np.abs(h).max() > 3000  # the state moved: a real comparison, not zeros
