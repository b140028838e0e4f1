"""Whole-range and composite checks against TFLite-Micro's own kernels (the `tflm` extra;
skipped without it). Per-operator hypothesis conformance is tests/unit/test_tflm_conformance.py."""

from __future__ import annotations

import numpy as np
import pytest

from bench.models.common import int8ops as q8

pytest.importorskip("tflite_micro")
from bench.tflm.conformance import assert_bit_exact  # noqa: E402
from bench.tflm.graph import Graph, Interpreter, run  # noqa: E402


@pytest.mark.parametrize("scale", [2.0 ** -12, 2.0 ** -11, 2.0 ** -10, 1 / 3000, 1e-4])
def test_logistic_and_tanh_int16_every_input(scale):
    x = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
    for op, params, golden in (("logistic", q8.sigmoid_s16_params, q8.sigmoid_s16),
                               ("tanh", q8.tanh_s16_params, q8.tanh_s16)):
        g = Graph()
        g.output(getattr(g, op)(g.input(x.shape, "int16", scale), 2.0 ** -15))
        (got,) = run(g.build(), [x])
        m, s = params(scale)
        assert_bit_exact(f"{op} int16 scale {scale:.3g}", got, golden(x, m, s), {"x": x})


def test_fc_s8_s16_equals_tflm_quantize_then_16x8_fc():
    """TFLM has no int8-in / int16-out FC; ours equals QUANTIZE int8 -> int16 (same scale, zero
    point 0: exact) followed by TFLM's 16x8 FC with int32 bias."""
    rng = np.random.default_rng(12)
    k, n = 23, 11
    x = rng.integers(-128, 128, k).astype(np.int8)
    sx, zx = 0.04, -9
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    b = rng.integers(-5000, 5000, n).astype(np.int32)
    sw = rng.uniform(0.001, 0.02, n).astype(np.float32)
    g = Graph()
    x16 = g.quantize(g.input((1, k), "int8", sx, zx), "int16", sx, 0)
    g.output(g.fully_connected(x16, w, b, sw, 2.0 ** -12, 0))
    (got,) = run(g.build(), [x.reshape(1, k)])
    m, s = q8.fc_multipliers(sx, sw, 2.0 ** -12)
    assert_bit_exact("QUANTIZE + FC 16x8 vs fc_s8_s16", got.reshape(-1), q8.fc_s8_s16(x, w, b, -zx, m, s), {"x": x})


def test_gru_cell_equals_the_same_cell_as_a_tflm_graph():
    """gru_int.gru_cell_int (default widths, = bk_gru_cell_s8) against the cell written as a
    graph of TFLM operators: QUANTIZE, 6 x FC 16x8, ADD, LOGISTIC, TANH, MUL, SUB."""
    from bench.models.common import gru_int as gi

    rng = np.random.default_rng(13)
    i_size, hs = 10, 7
    a = 4.0 / np.sqrt(hs)
    q = gi.quantize_gru(rng.uniform(-a, a, (3 * hs, i_size)), rng.uniform(-a, a, (3 * hs, hs)),
                        rng.uniform(-a, a, 3 * hs), rng.uniform(-a, a, 3 * hs), rng.normal(0, 1.5, (20, i_size)))
    tflite = gru_cell_graph(q)
    it = Interpreter(tflite)
    h = np.zeros(hs, np.int16)
    for x in q.quantize_input(rng.normal(0, 1.5, (8, i_size))):
        (got,) = it([x.reshape(1, i_size), h.reshape(1, hs)])
        want = gi.gru_cell_int(q, x, h)
        assert_bit_exact("GRU cell graph", got.reshape(-1), want, {"x": x, "h": h})
        h = want
    assert np.abs(h).max() > 3000  # the state moved: a real comparison, not zeros


def gru_cell_graph(q) -> bytes:
    """The cell alone as a graph: inputs x (int8) and h (Q0.15), output h'."""
    from bench.tflm.nsnet2 import S_ACT, add_gru_cell

    g = Graph()
    x = g.input((1, q.input_size), "int8", q.x_scale, q.x_zero_point)
    h = g.input((1, q.hidden_size), "int16", S_ACT)
    g.output(add_gru_cell(g, x, h, q))
    return g.build()
