"""The integer golden model (bench.models.common.int8ops) against independent scalar transliterations
of the gemmlowp / TFLM definitions, exact rational arithmetic, known values and float math."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.errors import ConfigError
from bench.models.common import int8ops as q8
from bench.paths import repo_root

I32 = st.integers(q8.INT32_MIN, q8.INT32_MAX)
I16 = st.integers(-32768, 32767)

# sha256 of TFLM's sigmoid_table_uint16 (256 little-endian uint16), taken from the TFLM source
# once; our table is generated from its formula and must equal it entry for entry.
TFLM_SIGMOID_TABLE_SHA256 = "c79a34d2c8c6e794fbb0207601538fe0169e968cd6d9d5ca65fff859dcd55183"


# ---- scalar transliterations (Python ints, C semantics spelled out) --------------------------

def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _wrap(v: int) -> int:
    return ((v + (1 << 31)) % (1 << 32)) - (1 << 31)


def srdhm_ref(a: int, b: int) -> int:
    if a == b == q8.INT32_MIN:
        return q8.INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _c_div(ab + nudge, 1 << 31)


def rdbpot_ref(x: int, e: int) -> int:
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def mbqm_ref(x: int, m: int, shift: int) -> int:
    left = max(shift, 0)
    right = max(-shift, 0)
    return rdbpot_ref(srdhm_ref(_wrap(x * (1 << left)), m), right)


# ---- primitives --------------------------------------------------------------------------

def test_srdhm_known_values_and_overflow():
    f = q8.saturating_rounding_doubling_high_mul
    assert int(f(q8.INT32_MIN, q8.INT32_MIN)) == q8.INT32_MAX
    assert int(f(1 << 30, 1 << 30)) == 1 << 29
    assert int(f(1, 1 << 30)) == 1          # 0.5 rounds up
    assert int(f(-1, 1 << 30)) == 0         # -0.5 rounds toward +inf (gemmlowp's nudge)
    assert int(f(-3, 1 << 30)) == -1        # -1.5 -> -1
    assert int(f(q8.INT32_MIN, q8.INT32_MAX)) == q8.INT32_MIN + 1


@given(I32, I32)
@settings(max_examples=300)
def test_srdhm_matches_definition_and_half_up_form(a, b):
    got = int(q8.saturating_rounding_doubling_high_mul(a, b))
    assert got == srdhm_ref(a, b)
    if not a == b == q8.INT32_MIN:
        # what the C kernels compute: floor((a*b + 2^30) / 2^31)
        assert got == (a * b + (1 << 30)) >> 31
        assert got != q8.INT32_MIN


def test_rdbpot_known_values():
    f = q8.rounding_divide_by_pot
    assert [int(f(v, 1)) for v in (5, -5, 3, -3, 4, -4)] == [3, -3, 2, -2, 2, -2]
    assert int(f(q8.INT32_MAX, 1)) == 1 << 30
    assert int(f(q8.INT32_MIN, 31)) == -1
    assert int(f(q8.INT32_MAX, 31)) == 1
    assert int(f(12345, 0)) == 12345
    with pytest.raises(ConfigError):
        f(1, 32)


@given(I32, st.integers(0, 31))
@settings(max_examples=300)
def test_rdbpot_is_round_half_away_from_zero(x, e):
    got = int(q8.rounding_divide_by_pot(x, e))
    assert got == rdbpot_ref(x, e)
    fr = Fraction(x, 1 << e)
    want = math.floor(abs(fr) + Fraction(1, 2)) * (1 if fr >= 0 else -1)
    assert got == want


@given(I32, st.integers(0, q8.INT32_MAX), st.integers(-31, 30))
@settings(max_examples=400)
def test_mbqm_matches_scalar_definition(x, m, shift):
    assert int(q8.multiply_by_quantized_multiplier(x, m, shift)) == mbqm_ref(x, m, shift)


def test_mbqm_vectorised_per_channel():
    rng = np.random.default_rng(3)
    x = rng.integers(q8.INT32_MIN, q8.INT32_MAX, (5, 7), dtype=np.int64)
    m = rng.integers(0, q8.INT32_MAX, 7, dtype=np.int64)
    s = rng.integers(-31, 31, 7)
    got = q8.multiply_by_quantized_multiplier(x, m[None, :], s[None, :])
    want = [[mbqm_ref(int(x[i, j]), int(m[j]), int(s[j])) for j in range(7)] for i in range(5)]
    assert got.tolist() == want
    with pytest.raises(ConfigError):
        q8.multiply_by_quantized_multiplier(1, 1 << 30, 31)


def test_quantize_multiplier_known_values():
    assert q8.quantize_multiplier(0.0) == (0, 0)
    assert q8.quantize_multiplier(0.5) == (1 << 30, 0)
    assert q8.quantize_multiplier(1.0) == (1 << 30, 1)
    assert q8.quantize_multiplier(0.75) == (3 << 29, 0)
    assert q8.quantize_multiplier(2.0 ** -15) == (1 << 30, -14)
    assert q8.quantize_multiplier(1 - 2.0 ** -40) == (1 << 30, 1)  # rounds to 2^31: folded
    assert q8.quantize_multiplier(1e-12) == (0, 0)                  # shift < -31: flushed
    assert q8.quantize_multiplier(2.0 ** -32) == (1 << 30, -31)


@given(st.floats(1e-9, 1e3, allow_nan=False))
@settings(max_examples=200)
def test_quantize_multiplier_represents_the_real(real):
    m, s = q8.quantize_multiplier(real)
    assert (1 << 30) <= m < (1 << 31)
    assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0 ** -30


def test_checked_log2_and_lut_params():
    assert q8.checked_log2(2.0 ** -12) == (True, -12)
    assert q8.checked_log2(0.3)[0] is False
    assert q8.sigmoid_s16_params(2.0 ** -12) == (0, 0)
    assert q8.tanh_s16_params(2.0 ** -12) == (0, 0)
    assert q8.tanh_s16_params(2.0 ** -11) == (0, 1)
    m, s = q8.sigmoid_s16_params(2.0 ** -11)  # not a POT case for LOGISTIC: general path
    assert (m, s) == (24576, 12)
    m, s = q8.sigmoid_s16_params(1 / 3000)
    assert 16384 <= m <= 32767
    assert abs(m / 2 ** s - 3 * 4096 / 3000) < 1e-3


# ---- int16 logistic / tanh ---------------------------------------------------------------

def test_sigmoid_table_is_tflms():
    t = q8.sigmoid_table()
    assert t.dtype == np.uint16 and t.size == 256
    assert t[0] == 32768 and t[255] == 65535 and np.all(np.diff(t.astype(int)) >= 0)
    assert hashlib.sha256(t.astype("<u2").tobytes()).hexdigest() == TFLM_SIGMOID_TABLE_SHA256


def test_lut_source_in_sync():
    path = repo_root() / "firmware/kernels/bk_sigmoid_lut.c"
    assert path.read_text() == q8.sigmoid_lut_c_source(), \
        "regenerate: python -m bench.models.common.int8ops > firmware/kernels/bk_sigmoid_lut.c"


def test_sigmoid_tanh_accuracy_over_every_q312_input():
    x = np.arange(-32768, 32768)
    xf = x / 4096.0
    s = q8.sigmoid_s16(x)
    t = q8.tanh_s16(x)
    assert s.dtype == np.int16 and t.dtype == np.int16
    assert np.max(np.abs(s / 32768 - 1 / (1 + np.exp(-xf)))) < 4e-5
    assert np.max(np.abs(t / 32768 - np.tanh(xf))) < 5e-5
    assert s.min() >= 0 and t.min() >= -32767
    assert np.all(np.diff(s.astype(int)) >= 0) and np.all(np.diff(t.astype(int)) >= 0)
    assert s[32768] == 16384 and t[32768] == 0  # x = 0


def test_sigmoid_general_scale_close_to_float():
    scale = 1 / 3000
    m, s = q8.sigmoid_s16_params(scale)
    x = np.arange(-32768, 32768, 7)
    got = q8.sigmoid_s16(x, m, s) / 32768
    assert np.max(np.abs(got - 1 / (1 + np.exp(-x * scale)))) < 1e-4


# ---- element-wise, requantize ------------------------------------------------------------

@given(st.lists(st.tuples(I16, I16), min_size=1, max_size=50))
@settings(max_examples=60)
def test_add_at_equal_pot_scales_is_saturating_add(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    p = q8.add_params(2.0 ** -12, 0, 2.0 ** -12, 0, 2.0 ** -12, 0)
    assert np.array_equal(q8.add_elementwise(a, b, p), np.clip(a + b, -32768, 32767))


def test_add_general_scales_close_to_float():
    rng = np.random.default_rng(5)
    a = rng.integers(-32768, 32768, 1000)
    b = rng.integers(-32768, 32768, 1000)
    p = q8.add_params(3e-4, 0, 1e-4, 0, 4e-4, 0)
    got = q8.add_elementwise(a, b, p).astype(float)
    want = np.clip((a * 3e-4 + b * 1e-4) / 4e-4, -32768, 32767)
    assert np.max(np.abs(got - want)) <= 1.0
    p8 = q8.add_params(0.05, 3, 0.02, -7, 0.06, 1, np.int8)
    assert p8.left_shift == 20
    a8 = rng.integers(-128, 128, 500)
    b8 = rng.integers(-128, 128, 500)
    got8 = q8.add_elementwise(a8, b8, p8, np.int8).astype(float)
    want8 = np.clip(np.round(((a8 - 3) * 0.05 + (b8 + 7) * 0.02) / 0.06) + 1, -128, 127)
    assert np.max(np.abs(got8 - want8)) <= 1.0


def test_mul_q15_products():
    p = q8.mul_params(2.0 ** -15, 0, 2.0 ** -15, 0, 2.0 ** -15, 0)
    assert (p.multiplier, p.shift) == (1 << 30, -14)
    a = np.array([-32768, -32768, 16384, 32767, -1, 1])
    b = np.array([-32768, 32767, 16384, 32767, 1, 1])
    assert q8.mul_elementwise(a, b, p).tolist() == [32767, -32767, 8192, 32766, 0, 0]


def test_requantize_s16_s8():
    m, s = q8.quantize_multiplier(1 / 256)
    x = np.array([-32768, -129, 0, 127, 128, 32767])
    # 127/256 = 0.496 gives 1: TFLM's double rounding (127/2 -> 64, then 64/128 = 0.5 -> 1)
    assert q8.requantize_s16_s8(x, m, s).tolist() == [-128, -1, 0, 1, 1, 127]
    assert q8.requantize_s16_s8(x, m, s, 0, 5).tolist() == [-123, 4, 5, 6, 6, 127]
    assert q8.requantize_s16_s8(x, m, s, 1, 0).tolist() == [-128, -1, 0, 1, 1, 127]


# ---- fully connected ---------------------------------------------------------------------

def _fc_loop(x, w, bias, in_off, mult, shift, out_off, lo, hi):
    """TFLM's FullyConnectedPerChannel loop, literally, in Python ints."""
    out = []
    for n in range(w.shape[0]):
        acc = 0
        for k in range(w.shape[1]):
            acc = _wrap(acc + int(w[n, k]) * (int(x[k]) + in_off))
        if bias is not None:
            acc = _wrap(acc + int(bias[n]))
        acc = _wrap(mbqm_ref(acc, int(mult[n]), int(shift[n])) + out_off)
        out.append(min(max(acc, lo), hi))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_fc_matches_literal_loop(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 9)), int(rng.integers(1, 23))
    x = rng.integers(-128, 128, k)
    w = rng.integers(-127, 128, (n, k))
    bias = rng.integers(q8.INT32_MIN, q8.INT32_MAX, n, dtype=np.int64)  # wraps, like the C
    mult = rng.integers(0, q8.INT32_MAX, n)
    shift = rng.integers(-31, 31, n)
    got = q8.fc_s8(x, w, bias, 7, mult, shift, -3)
    assert got.tolist() == _fc_loop(x, w, bias, 7, mult, shift, -3, -128, 127)
    got16 = q8.fc_s8_s16(x, w, None, -2, mult, shift, 0, -1000, 1000)
    assert got16.tolist() == _fc_loop(x, w, None, -2, mult, shift, 0, -1000, 1000)
    h = rng.integers(-32768, 32768, k)
    assert q8.fc_s16(h, w, bias, mult, shift).tolist() == _fc_loop(h, w, bias, 0, mult, shift, 0, -32768, 32767)


def test_fc_approximates_float():
    rng = np.random.default_rng(9)
    wf = rng.normal(0, 0.1, (20, 64))
    w, sw = q8.quantize_per_channel(wf)
    xf = rng.uniform(-1, 2, 64)
    sx, zx = q8.choose_qparams(-1, 2)
    x = q8.quantize(xf, sx, zx)
    yf = wf @ xf
    so, zo = q8.choose_qparams(yf.min(), yf.max())
    m, s = q8.fc_multipliers(sx, sw, so)
    y = q8.dequantize(q8.fc_s8(x, w, None, -zx, m, s, zo), so, zo)
    assert np.max(np.abs(y - yf)) < 4 * so


def test_per_channel_weights_and_narrow_widths():
    rng = np.random.default_rng(2)
    w = rng.normal(0, 1, (6, 30))
    for bits in (2, 4, 8):
        q, s = q8.quantize_per_channel(w, bits)
        qmax = (1 << (bits - 1)) - 1
        assert q.dtype == np.int8 and np.abs(q).max() == qmax
        assert np.max(np.abs(q * s[:, None] - w)) <= np.max(s) / 2 + 1e-6
    with pytest.raises(ConfigError):
        q8.quantize_per_channel(w, 9)


def test_fq_pow2():
    v = np.array([-32768, -129, -128, 127, 128, 32767])
    assert np.array_equal(q8.fq_pow2(v, 16), v)
    assert q8.fq_pow2(v, 8).tolist() == [-32768, -256, -256, 0, 256, 32512]  # -0.5 -> -1, 127.99 saturates
    assert np.all(q8.fq_pow2(np.arange(-32768, 32768), 4) % 4096 == 0)
    with pytest.raises(ConfigError):
        q8.fq_pow2(v, 1)
