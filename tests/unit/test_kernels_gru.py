"""The integer GRU (bench.models.common.gru_int): bit-width genome, float reference (PyTorch gate
convention), quantizer, and the integer cell's error against float at several widths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8


def _layer(rng, i_size=24, hidden=16, gain=2.0):
    a = gain / np.sqrt(hidden)
    return (rng.uniform(-a, a, (3 * hidden, i_size)), rng.uniform(-a, a, (3 * hidden, hidden)),
            rng.uniform(-a, a, 3 * hidden), rng.uniform(-a, a, 3 * hidden))


def _inputs(rng, steps, i_size):
    return np.clip(np.cumsum(rng.normal(0, 0.4, (steps, i_size)), axis=0) * 0.5, -3, 3)


# ---- GruBits ------------------------------------------------------------------------------

def test_bits_defaults_and_genome():
    b = gi.GruBits()
    assert b.is_default
    names = gi.GruBits.names()
    assert len(names) == 16 and names[:6] == ("w_ir", "w_iz", "w_in", "w_hr", "w_hz", "w_hn")
    assert all(getattr(b, n) == 8 for n in names[:6]) and all(getattr(b, n) == 16 for n in names[6:])
    g = tuple(range(2, 8)) + (12,) * 10
    assert gi.GruBits.from_genome(g).genome() == g
    assert not gi.GruBits.from_genome(g).is_default
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.state = 8  # type: ignore[misc]


@pytest.mark.parametrize("kw", [{"w_ir": 9}, {"w_hn": 1}, {"act_z": 17}, {"state": 1}, {"pre_n": "8"}])
def test_bits_validation(kw):
    with pytest.raises(ConfigError):
        gi.GruBits(**kw)
    with pytest.raises(ConfigError):
        gi.GruBits.from_genome((8,) * 5)


def test_weight_bits():
    b = gi.GruBits(w_ir=4, w_iz=4, w_in=4, w_hr=8, w_hz=8, w_hn=8)
    assert b.weight_bits(10, 20) == 20 * 10 * 12 + 20 * 20 * 24 + 6 * 20 * 32


# ---- float reference ------------------------------------------------------------------------

def test_float_cell_follows_pytorch_gate_convention():
    """r gates (W_hn h + b_hn) including b_hn (PyTorch), z = 1 keeps h, z = 0 takes n."""
    rng = np.random.default_rng(0)
    i_size, hidden = 5, 4
    wi, wh, bi, bh = _layer(rng, i_size, hidden)
    x = rng.normal(size=i_size)
    h = rng.uniform(-1, 1, hidden)
    hs = hidden
    # z -> 1 (huge z bias): h' = h
    bi_z = bi.copy()
    bi_z[hs:2 * hs] = 50.0
    assert np.allclose(gi.gru_cell_float(x, h, wi, wh, bi_z, bh), h, atol=1e-12)
    # z -> 0 and r -> 0: h' = n = tanh(W_in x + b_in): b_hn is multiplied by r
    bi_0 = bi.copy()
    bi_0[:hs] = -60.0
    bi_0[hs:2 * hs] = -60.0
    want = np.tanh(wi[2 * hs:] @ x + bi_0[2 * hs:])
    assert np.allclose(gi.gru_cell_float(x, h, wi, wh, bi_0, bh), want, atol=1e-12)
    # r -> 1: n = tanh(W_in x + b_in + W_hn h + b_hn)
    bi_1 = bi_0.copy()
    bi_1[:hs] = 60.0
    want = np.tanh(wi[2 * hs:] @ x + bi_1[2 * hs:] + wh[2 * hs:] @ h + bh[2 * hs:])
    assert np.allclose(gi.gru_cell_float(x, h, wi, wh, bi_1, bh), want, atol=1e-12)


def test_float_sequence_matches_torch_if_available():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    wi, wh, bi, bh = _layer(rng, 7, 5)
    xs = rng.normal(size=(9, 7))
    cell = torch.nn.GRUCell(7, 5).double()
    with torch.no_grad():
        for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (wi, wh, bi, bh), strict=True):
            p.copy_(torch.from_numpy(v))
        h = torch.zeros(1, 5, dtype=torch.float64)
        out = []
        for x in xs:
            h = cell(torch.from_numpy(x)[None], h)
            out.append(h[0].numpy().copy())
    assert np.allclose(gi.gru_sequence_float(xs, wi, wh, bi, bh), np.array(out), atol=1e-12)


# ---- quantizer ------------------------------------------------------------------------------

def test_quantizer_layout_and_scales():
    rng = np.random.default_rng(2)
    wi, wh, bi, bh = _layer(rng, 24, 16)
    xs = _inputs(rng, 50, 24)
    q = gi.quantize_gru(wi, wh, bi, bh, xs)
    assert (q.input_size, q.hidden_size) == (24, 16)
    assert q.w_ih.shape == (48, 24) and q.w_hh.shape == (48, 16)
    assert q.w_ih.dtype == np.int8 and q.b_ih.dtype == np.int32 and q.mult_hh.dtype == np.int32
    assert np.abs(q.w_ih).max() == 127 and np.abs(q.w_hh).max() == 127
    # x: asymmetric int8 covering the calibration range
    assert q.x_scale == pytest.approx((xs.max() - xs.min()) / 255, rel=1e-6)
    assert np.allclose(q8.dequantize(q.quantize_input(xs), q.x_scale, q.x_zero_point), xs, atol=q.x_scale)
    # bias at scale s_x * s_w; multiplier s_x * s_w / 2^-12
    assert np.allclose(q.b_ih * q.x_scale * q.s_wih, bi, atol=q.x_scale * q.s_wih.max())
    real = q.mult_ih * 2.0 ** (q.shift_ih.astype(float) - 31)
    assert np.allclose(real, q.x_scale * q.s_wih.astype(float) * 4096, rtol=1e-6)
    assert set(q.c_arrays()) == {"w_ih", "w_hh", "b_ih", "b_hh", "mult_ih", "shift_ih", "mult_hh", "shift_hh"}


def test_quantizer_given_input_quantisation_and_narrow_weights():
    rng = np.random.default_rng(3)
    wi, wh, bi, bh = _layer(rng, 10, 6)
    bits = gi.GruBits(w_ir=3, w_iz=4, w_in=5, w_hr=6, w_hz=7, w_hn=2)
    q = gi.quantize_gru(wi, wh, bi, bh, bits=bits, x_scale=0.02, x_zero_point=-5)
    assert (q.x_scale, q.x_zero_point, q.input_offset) == (pytest.approx(0.02), -5, 5)
    for g, gate in enumerate(gi.GATES):
        rows = slice(6 * g, 6 * (g + 1))
        assert np.abs(q.w_ih[rows]).max() == (1 << (getattr(bits, f"w_i{gate}") - 1)) - 1
        assert np.abs(q.w_hh[rows]).max() == (1 << (getattr(bits, f"w_h{gate}") - 1)) - 1
    with pytest.raises(ConfigError):
        gi.quantize_gru(wi, wh, bi, bh)  # neither calibration data nor input quantisation
    with pytest.raises(ConfigError):
        gi.quantize_gru(wi[:-1], wh, bi, bh, x_scale=0.1, x_zero_point=0)


def test_quantizer_refuses_a_recurrent_accumulator_that_could_overflow():
    hidden = 600
    wh = np.ones((3 * hidden, hidden))
    wi = np.ones((3 * hidden, 4))
    with pytest.raises(ConfigError, match="overflow"):
        gi.quantize_gru(wi, wh, x_scale=0.1, x_zero_point=0)


# ---- integer cell ---------------------------------------------------------------------------

def _run_error(bits, seed=4, i_size=24, hidden=16, steps=60):
    rng = np.random.default_rng(seed)
    wi, wh, bi, bh = _layer(rng, i_size, hidden)
    xs = _inputs(rng, steps, i_size)
    q = gi.quantize_gru(wi, wh, bi, bh, xs, bits=bits)
    xq = q.quantize_input(xs)
    hq = q.state_to_float(gi.gru_sequence_int(q, xq))
    hf = gi.gru_sequence_float(q8.dequantize(xq, q.x_scale, q.x_zero_point), wi, wh, bi, bh)
    return float(np.sqrt(np.mean((hq - hf) ** 2))), float(np.max(np.abs(hq - hf))), float(np.sqrt(np.mean(hf ** 2)))


def test_default_widths_track_float_closely():
    rms, mx, ref = _run_error(gi.GruBits())
    assert ref > 0.2            # the layer is lively
    assert rms < 0.006 and mx < 0.03


def test_error_grows_as_widths_shrink():
    base = _run_error(gi.GruBits())[0]
    w4 = _run_error(gi.GruBits(w_ir=4, w_iz=4, w_in=4, w_hr=4, w_hz=4, w_hn=4))[0]
    all8 = _run_error(gi.GruBits.from_genome((8,) * 16))[0]
    assert base < all8 < 0.05
    assert base < w4 < 0.2


def test_narrow_activation_widths_are_applied():
    rng = np.random.default_rng(5)
    wi, wh, bi, bh = _layer(rng, 8, 6)
    xs = _inputs(rng, 5, 8)
    bits = gi.GruBits(act_r=8, act_z=6, act_n=10, mul_rh=12, pre_n=9, mul_zh=7, mul_zn=11, state=5,
                      pre_r=10, pre_z=11)
    q = gi.quantize_gru(wi, wh, bi, bh, xs, bits=bits)
    tr: dict = {}
    h = np.zeros(6, np.int16)
    for x in q.quantize_input(xs):
        h = gi.gru_cell_int(q, x, h, trace=tr)
        for name, b in (("r", 8), ("z", 6), ("n", 10), ("rh", 12), ("pre_n", 9), ("zh", 7), ("zn", 11),
                        ("h", 5), ("pre_r", 10), ("pre_z", 11)):
            assert np.all(tr[name] % (1 << (16 - b)) == 0), name
    assert np.all(gi.gru_sequence_int(q, q.quantize_input(xs)) % (1 << 11) == 0)


def test_default_integer_cell_matches_its_definition():
    """The default cell spelled out with the int8ops primitives (what bk_gru_cell_s8 does)."""
    rng = np.random.default_rng(6)
    wi, wh, bi, bh = _layer(rng, 9, 7, gain=5.0)
    q = gi.quantize_gru(wi, wh, bi, bh, _inputs(rng, 10, 9))
    x = q.quantize_input(rng.normal(size=9))
    h = rng.integers(-32768, 32768, 7).astype(np.int16)
    gx = q8.fc_s8_s16(x, q.w_ih, q.b_ih, q.input_offset, q.mult_ih, q.shift_ih).astype(int)
    gh = q8.fc_s16(h, q.w_hh, q.b_hh, q.mult_hh, q.shift_hh).astype(int)
    add = q8.add_params(2.0 ** -12, 0, 2.0 ** -12, 0, 2.0 ** -12, 0)
    mul = q8.mul_params(2.0 ** -15, 0, 2.0 ** -12, 0, 2.0 ** -12, 0)
    mul15 = q8.mul_params(2.0 ** -15, 0, 2.0 ** -15, 0, 2.0 ** -15, 0)
    sub = q8.add_params(2.0 ** -15, 0, 2.0 ** -15, 0, 2.0 ** -15, 0)
    r = q8.sigmoid_s16(q8.add_elementwise(gx[:7], gh[:7], add))
    z = q8.sigmoid_s16(q8.add_elementwise(gx[7:14], gh[7:14], add))
    n = q8.tanh_s16(q8.add_elementwise(gx[14:], q8.mul_elementwise(r, gh[14:], mul), add))
    one = q8.quantize(np.ones(7), 2.0 ** -15, 0, np.int16)  # 1.0 saturates to 32767
    one_minus_z = q8.add_elementwise(one, -z.astype(int), sub)
    want = q8.add_elementwise(q8.mul_elementwise(one_minus_z, n, mul15), q8.mul_elementwise(z, h, mul15), sub)
    assert np.array_equal(gi.gru_cell_int(q, x, h), want)


def test_quantizer_refuses_a_bias_far_above_a_near_zero_recurrent_row():
    """Found by hypothesis in CI: H = 1, a recurrent weight of 1e-4 gives its row a tiny scale, so the
    row's bias at that scale does not fit int32; the refusal names the row, not only the hidden size."""
    wi = np.full((3, 6), 0.5)
    wh = np.array([[-9.42423007e-05], [-3.21069429e-02], [2.78069462e-01]])
    g = gi.GruGenome(w_ir=2, w_iz=2, w_in=2, w_hr=4, w_hz=2, w_hn=2, pre_r=2, pre_z=2, act_r=2, act_z=2, mul_rh=2,
                     pre_n=2, act_n=2, mul_zh=2, mul_zn=2, state=2, b_i=8, b_h=8)
    with pytest.raises(ConfigError, match=r"could overflow int32 \(rows \[0\]: their bias is far above"):
        gi.quantize_gru(wi, wh, np.array([-1.29, 2.32, -2.24]), np.array([1.84, -1.46, -1.66]),
                        x_scale=0.025, x_zero_point=-26, bits=g)
