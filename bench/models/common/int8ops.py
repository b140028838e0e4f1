"""Integer golden model of the bench kernels (firmware/kernels/): TFLite-Micro int8/int16 semantics.

The C kernels must match these functions bit for bit (tests/unit/test_kernels_*.py natively,
tests/qemu/test_bench_kernels.py on the Cortex-M4F). Everything here is our own numpy code
written from the published arithmetic (gemmlowp's fixed-point primitives and TFLite-Micro's
reference kernels, see docs/kernels.md for the formulas and where we extend them):

* per-channel symmetric int8 weights (zero point 0), asymmetric int8 activations
  (``real = scale * (q - zero_point)``), int32 bias with scale ``s_in * s_w[c]``;
* requantisation ``MultiplyByQuantizedMultiplier`` = ``RoundingDivideByPOT(
  SaturatingRoundingDoublingHighMul(x << left, M), right)`` (TFLM's default double rounding),
  with ``(M, shift)`` from ``quantize_multiplier`` (TFLM's QuantizeMultiplier);
* int16 LOGISTIC / TANH by TFLM's 256-entry table with linear interpolation (input Q3.12 in
  the power-of-two case, output Q0.15), the table generated here from its formula;
* int8 / int16 MUL and ADD with TFLM's parameterisation.

int32 arithmetic wraps (two's complement) where the C code would overflow; all functions
accept numpy arrays and broadcast like numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.errors import ConfigError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
I64 = np.int64

__all__ = [
    "INT32_MAX", "INT32_MIN", "AddParams", "MulParams", "add_elementwise", "add_params",
    "checked_log2", "choose_qparams", "clamp_bits", "dequantize", "fc_s8", "fc_s8_s16", "fc_s16",
    "fc_multipliers", "fq_pow2", "mul_elementwise", "mul_params", "multiply_by_quantized_multiplier",
    "quantize", "quantize_multiplier", "quantize_multiplier_array", "quantize_per_channel",
    "requantize_s16_s8", "rounding_divide_by_pot", "saturating_rounding_doubling_high_mul",
    "sigmoid_s16", "sigmoid_s16_params", "sigmoid_table", "tanh_s16", "tanh_s16_params", "wrap_int32",
]


# --------------------------------------------------------------------------------------------
# gemmlowp / TFLM fixed-point primitives
# --------------------------------------------------------------------------------------------

def wrap_int32(x: np.ndarray | int) -> np.ndarray:
    """Two's complement wrap of an integer array to the int32 range (returned as int64)."""
    v = np.asarray(x, dtype=I64)
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul, literally: (a*b + nudge) / 2^31 with C
    division (toward zero), nudge = 2^30 if a*b >= 0 else 1 - 2^30 -- which is a*b / 2^31
    rounded half up (toward +inf); the one overflow case a == b == INT32_MIN gives INT32_MAX."""
    a64 = np.asarray(a, dtype=I64)
    b64 = np.asarray(b, dtype=I64)
    ab = a64 * b64  # |ab| <= 2^62: exact in int64
    nudge = np.where(ab >= 0, I64(1 << 30), I64(1 - (1 << 30)))
    t = ab + nudge
    # C integer division truncates toward zero
    q = np.where(t >= 0, t >> 31, -((-t) >> 31))
    overflow = (a64 == b64) & (a64 == INT32_MIN)
    return np.where(overflow, I64(INT32_MAX), q)


def rounding_divide_by_pot(x: np.ndarray | int, exponent: np.ndarray | int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero
    (exponent in 0..31, x in the int32 range)."""
    x64 = np.asarray(x, dtype=I64)
    e = np.asarray(exponent, dtype=I64)
    if np.any((e < 0) | (e > 31)):
        raise ConfigError("rounding_divide_by_pot: exponent must be in 0..31")
    mask = (I64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0).astype(I64)
    return (x64 >> e) + (remainder > threshold).astype(I64)


def multiply_by_quantized_multiplier(x: np.ndarray | int, multiplier: np.ndarray | int,
                                     shift: np.ndarray | int) -> np.ndarray:
    """TFLM MultiplyByQuantizedMultiplier (int32, double rounding): x * M * 2^shift / 2^31.

    ``shift`` in -31..30; a positive shift is applied to x first (wrapping in int32, as the
    C expression ``x * (1 << shift)`` does on the target)."""
    s = np.asarray(shift, dtype=I64)
    if np.any((s < -31) | (s > 30)):
        raise ConfigError("multiply_by_quantized_multiplier: shift must be in -31..30")
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    xs = wrap_int32(np.asarray(x, dtype=I64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(xs, multiplier), right)


def _round_half_away(v: float) -> int:
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: real = M * 2^shift / 2^31 with M in [2^30, 2^31) (or 0).

    frexp, q * 2^31 rounded half away from zero, 2^31 folded into the exponent, and
    multipliers below about 2^-31 flushed to (0, 0)."""
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise ConfigError(f"quantize_multiplier({real}): a scale is not finite; check the model's calibration "
                          "(a layer whose activations or weights were all zero or overflowed)")
    q, shift = math.frexp(float(real))  # |q| in [0.5, 1): |q_fixed| <= 2^31, and only +2^31 needs folding
    q_fixed = _round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier_array(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """quantize_multiplier over an array: (multipliers int32, shifts int32)."""
    flat = np.asarray(reals, dtype=np.float64).ravel()
    pairs = [quantize_multiplier(float(r)) for r in flat]
    m = np.array([p[0] for p in pairs], dtype=np.int32).reshape(np.shape(reals))
    s = np.array([p[1] for p in pairs], dtype=np.int32).reshape(np.shape(reals))
    return m, s


def fc_multipliers(input_scale: float, weight_scales: np.ndarray, output_scale: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel requantisation of a fully connected layer as TFLM's Prepare computes it:
    the scales are float32 tensor parameters, their ratio is taken in double."""
    s_in = float(np.float32(input_scale))
    s_out = float(np.float32(output_scale))
    s_w = np.asarray(weight_scales, dtype=np.float32).astype(np.float64)
    return quantize_multiplier_array(s_in * s_w / s_out)


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLM CheckedLog2 (float32 arithmetic): (is a power of two within 1e-3, rounded log2)."""
    xf = np.float32(x)
    x_log2 = np.float32(np.log(xf)) * np.float32(1.0 / np.log(np.float32(2.0)))
    x_log2 = np.float32(x_log2)
    rounded = np.float32(_round_half_away(float(x_log2)))
    frac = np.float32(x_log2 - rounded)
    return bool(abs(frac) < np.float32(1e-3)), int(rounded)


# --------------------------------------------------------------------------------------------
# quantisation helpers (float <-> integer)
# --------------------------------------------------------------------------------------------

def _qrange(dtype: type) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def choose_qparams(lo: float, hi: float, dtype: type = np.int8) -> tuple[float, int]:
    """Asymmetric (scale, zero_point) covering [lo, hi] (always including 0), as TFLite's
    converter chooses them: scale = (hi - lo) / (qmax - qmin), zero point rounded and clamped."""
    qmin, qmax = _qrange(dtype)
    lo = min(float(lo), 0.0)
    hi = max(float(hi), 0.0)
    if hi - lo < 1e-12:
        return 1.0, 0
    scale = float(np.float32((hi - lo) / (qmax - qmin)))
    zp = int(np.clip(_round_half_away(qmin - lo / scale), qmin, qmax))
    return scale, zp


def quantize(x: np.ndarray, scale: float, zero_point: int = 0, dtype: type = np.int8) -> np.ndarray:
    """round(x / scale) + zero_point, rounded half away from zero, saturated to dtype."""
    qmin, qmax = _qrange(dtype)
    v = np.asarray(x, dtype=np.float64) / float(scale)
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r + zero_point, qmin, qmax).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int = 0) -> np.ndarray:
    return (np.asarray(q, dtype=np.float64) - zero_point) * float(scale)


def quantize_per_channel(w: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel weights of ``bits`` bits (2..8) in an int8 container:
    q in [-(2^(bits-1) - 1), 2^(bits-1) - 1], scale[c] = max|w[c]| / (2^(bits-1) - 1)."""
    if not 2 <= bits <= 8:
        raise ConfigError(f"weight bits must be 2..8, not {bits}")
    w = np.asarray(w, dtype=np.float64)
    qmax = (1 << (bits - 1)) - 1
    amax = np.max(np.abs(w), axis=1)
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    q = quantize(w / scale.astype(np.float64)[:, None], 1.0, 0, np.int8)
    return np.clip(q, -qmax, qmax).astype(np.int8), scale


def quantize_bias(b: np.ndarray | None, scale: np.ndarray) -> np.ndarray:
    """int32 bias at ``scale`` (s_in * s_w per channel): round half away from zero, saturated;
    zeros for no bias."""
    sc = np.asarray(scale, np.float64)
    if b is None:
        return np.zeros(sc.shape, np.int32)
    v = np.asarray(b, np.float64) / sc
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r, INT32_MIN, INT32_MAX).astype(np.int32)


def clamp_bits(v: np.ndarray, bits: int) -> np.ndarray:
    """Saturate integers to the signed ``bits``-bit range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.asarray(v, dtype=I64), lo, hi)


def fq_pow2(v: np.ndarray, bits: int, container: int = 16) -> np.ndarray:
    """Narrow an integer tensor held in a ``container``-bit Q format to ``bits`` bits, kept
    in the container (the same Q format with the lowest ``container - bits`` fraction bits
    dropped): RoundingDivideByPOT, saturate to ``bits`` bits, shift back. Identity when
    bits >= container. A C kernel storing the narrow value in a smaller type and shifting at
    use computes the very same numbers."""
    if bits >= container:
        return np.asarray(v, dtype=I64)
    if bits < 2:
        raise ConfigError(f"bit width must be >= 2, not {bits}")
    k = container - bits
    return clamp_bits(rounding_divide_by_pot(v, k), bits) << k


# --------------------------------------------------------------------------------------------
# fully connected
# --------------------------------------------------------------------------------------------

def _fc_acc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, input_offset: int) -> np.ndarray:
    xv = np.asarray(x, dtype=I64) + int(input_offset)
    acc = xv @ np.asarray(w, dtype=I64).T
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=I64)
    return wrap_int32(acc)


def _requant_out(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, output_offset: int,
                 act_min: int, act_max: int, dtype: type) -> np.ndarray:
    r = multiply_by_quantized_multiplier(acc, np.asarray(mult, I64), np.asarray(shift, I64))
    r = wrap_int32(r + int(output_offset))
    return np.clip(r, act_min, act_max).astype(dtype)


def fc_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, input_offset: int,
          mult: np.ndarray, shift: np.ndarray, output_offset: int,
          act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """TFLM FullyConnectedPerChannel, int8 in / int8 out.

    x: (..., K) int8, w: (N, K) int8, bias: (N,) int32 or None, mult/shift: (N,) per channel.
    out[n] = clamp(MBQM(sum_k w[n,k] (x[k] + input_offset) + bias[n], M[n], s[n]) + output_offset)."""
    return _requant_out(_fc_acc(x, w, bias, input_offset), mult, shift, output_offset,
                        act_min, act_max, np.int8)


def fc_s8_s16(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, input_offset: int,
              mult: np.ndarray, shift: np.ndarray, output_offset: int = 0,
              act_min: int = -32768, act_max: int = 32767) -> np.ndarray:
    """As fc_s8 with an int16 output (TFLM's FullyConnectedGeneral<int8 in, int16 out> made
    per-channel): the same int32 accumulator and requantisation, clamped to the int16 range."""
    return _requant_out(_fc_acc(x, w, bias, input_offset), mult, shift, output_offset,
                        act_min, act_max, np.int16)


def fc_s16(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, mult: np.ndarray,
           shift: np.ndarray, act_min: int = -32768, act_max: int = 32767) -> np.ndarray:
    """TFLM FullyConnectedPerChannel<int32_t> (16x8: int16 input with zero point 0, int8
    per-channel weights, int32 bias and accumulator, int16 output, no output offset)."""
    return _requant_out(_fc_acc(x, w, bias, 0), mult, shift, 0, act_min, act_max, np.int16)


# --------------------------------------------------------------------------------------------
# int16 logistic / tanh (TFLM LUT + interpolation)
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def sigmoid_table() -> np.ndarray:
    """The 256-entry uint16 table of sigmoid(i/24) in 0.16 format that TFLM's int16
    LOGISTIC / TANH interpolate, generated from its formula: each entry is 65536*sigmoid(i/24)
    lowered by half of the linear-interpolation error at the interval midpoint (so the error
    of the interpolant is balanced), rounded half away from zero; the last entry is the
    saturation value 65535. Equals TFLM's sigmoid_table_uint16 entry for entry (its SHA-256
    is checked in tests/unit/test_kernels_int8ops.py)."""
    def s(v: float) -> float:
        return 65536.0 / (1.0 + math.exp(-v))

    t = np.zeros(256, dtype=np.uint16)
    for i in range(255):
        a, b, m = s(i / 24.0), s((i + 1) / 24.0), s((i + 0.5) / 24.0)
        err = (a + b) / 2.0 - m
        t[i] = min(65535, _round_half_away(a - err / 2.0))
    t[255] = 65535
    return t


def _lut_params(scale: float, pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    pot, log2 = checked_log2(scale)
    left_shift = (15 - 3) + log2
    if pot and left_shift in pot_shifts:
        return 0, left_shift
    multiplier = float(np.float32(scale)) * 4096.0 * 3.0
    left_shift = 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    m = int(multiplier)
    if m > 32767:
        raise ConfigError(f"int16 logistic/tanh: input scale {scale} too large")
    return m, left_shift


def sigmoid_s16_params(input_scale: float) -> tuple[int, int]:
    """(input_multiplier, input_left_shift) as TFLM's int16 LOGISTIC Prepare computes them;
    (0, 0) for Q3.12 input (scale 2^-12), the power-of-two case."""
    return _lut_params(input_scale, (0,))


def tanh_s16_params(input_scale: float) -> tuple[int, int]:
    """As sigmoid_s16_params for TANH (power-of-two case also for scale 2^-11)."""
    return _lut_params(input_scale, (0, 1))


def _lut_input(x: np.ndarray, input_multiplier: int, input_left_shift: int) -> np.ndarray:
    if input_left_shift < 0 or input_left_shift > 31:
        raise ConfigError("input_left_shift must be in 0..31")
    if input_multiplier == 0:
        input_multiplier = 3 << input_left_shift
        input_left_shift = 0
    rnd = (1 << (input_left_shift - 1)) if input_left_shift > 0 else 0
    return wrap_int32(np.asarray(x, dtype=I64) * input_multiplier + rnd) >> input_left_shift


def sigmoid_s16(x: np.ndarray, input_multiplier: int = 0, input_left_shift: int = 0) -> np.ndarray:
    """TFLM int16 LOGISTIC: Q3.12 input (power-of-two case) -> Q0.15 output (scale 2^-15, zp 0).

    d = x*3 (general scales: (x*M + round) >> shift); |d| indexes the table in steps of 2^9
    with 9 fraction bits of linear interpolation; negative inputs use 1 - sigmoid(|d|)."""
    d = _lut_input(x, input_multiplier, input_left_shift)
    t = sigmoid_table().astype(I64)
    a = np.abs(d)
    uh = a >> 9
    idx = np.minimum(uh, 254)
    ua, ub = t[idx], t[idx + 1]
    ut = a & 0x1FF
    res = np.where(uh >= 255, I64(0x7FFF << 10), (ua << 9) + ut * (ub - ua))
    res = np.where(d >= 0, res + (1 << 9), (1 << (16 + 9)) - res + (1 << 9) - 1)
    return (res >> 10).astype(np.int16)


def tanh_s16(x: np.ndarray, input_multiplier: int = 0, input_left_shift: int = 0) -> np.ndarray:
    """TFLM int16 TANH: Q3.12 input (power-of-two case) -> Q0.15 output, through the same
    table as sigmoid (tanh(x) = 2 sigmoid(2x) - 1: steps of 2^8, 8 interpolation bits)."""
    d = _lut_input(x, input_multiplier, input_left_shift)
    t = sigmoid_table().astype(I64)
    a = np.abs(d)
    uh = a >> 8
    idx = np.minimum(uh, 254)
    ua, ub = t[idx], t[idx + 1]
    ut = a & 0xFF
    res = np.where(uh >= 255, I64(0xFFFF << 8), (ua << 8) + ut * (ub - ua))
    res = np.where(d >= 0, res - (1 << (14 + 9)) + (1 << (9 - 2)),
                   -res + (1 << (14 + 9)) + (1 << (9 - 2)) - 1)
    return (res >> (9 - 1)).astype(np.int16)


# --------------------------------------------------------------------------------------------
# element-wise MUL / ADD, requantize
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MulParams:
    """TFLM MUL parameters: out = clamp(MBQM((a + in1_offset)(b + in2_offset), M, shift) + out_offset)."""

    in1_offset: int
    in2_offset: int
    out_offset: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


def mul_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               dtype: type = np.int16) -> MulParams:
    """MUL parameters from the tensors' (scale, zero point), as TFLM's Prepare computes them."""
    lo, hi = _qrange(dtype)
    real = float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    m, s = quantize_multiplier(real)
    return MulParams(-zp1, -zp2, zp_out, m, s, lo, hi)


def mul_elementwise(a: np.ndarray, b: np.ndarray, p: MulParams, dtype: type = np.int16) -> np.ndarray:
    """TFLM MulElementwise (int8 and int16)."""
    prod = wrap_int32((np.asarray(a, I64) + p.in1_offset) * (np.asarray(b, I64) + p.in2_offset))
    r = wrap_int32(multiply_by_quantized_multiplier(prod, p.multiplier, p.shift) + p.out_offset)
    return np.clip(r, p.act_min, p.act_max).astype(dtype)


@dataclass(frozen=True)
class AddParams:
    """TFLM ADD parameters (general path): both inputs scaled to a common 2*max(scale) basis
    after a left shift (20 for int8, 15 for int16), summed, rescaled to the output."""

    in1_offset: int
    in1_multiplier: int
    in1_shift: int
    in2_offset: int
    in2_multiplier: int
    in2_shift: int
    left_shift: int
    out_multiplier: int
    out_shift: int
    out_offset: int
    act_min: int
    act_max: int


def _qm_smaller_than_one(real: float) -> tuple[int, int]:
    if not 0.0 < real < 1.0:
        raise ConfigError(f"ADD: rescale factor {real} must be in (0, 1)")
    m, s = quantize_multiplier(real)
    if s > 0:  # an invariant, not a user error: add_params's factors are quotients of float32 scales, which
        # are either 1 (refused above) or at least 2^-24 below it, never within the 2^-32 that rounds up
        raise RuntimeError(f"ADD: rescale factor {real} rounds to >= 1")
    return m, s


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               dtype: type = np.int16) -> AddParams:
    """ADD parameters from (scale, zero point) of the inputs and the output, as TFLM's
    CalculateOpDataAdd computes them."""
    lo, hi = _qrange(dtype)
    left_shift = 15 if dtype == np.int16 else 20
    f1, f2, fo = (float(np.float32(v)) for v in (s1, s2, s_out))
    twice_max = 2.0 * max(f1, f2)
    m1, sh1 = _qm_smaller_than_one(f1 / twice_max)
    m2, sh2 = _qm_smaller_than_one(f2 / twice_max)
    mo, sho = _qm_smaller_than_one(twice_max / ((1 << left_shift) * fo))
    return AddParams(-zp1, m1, sh1, -zp2, m2, sh2, left_shift, mo, sho, zp_out, lo, hi)


def add_elementwise(a: np.ndarray, b: np.ndarray, p: AddParams, dtype: type = np.int16) -> np.ndarray:
    """TFLM AddElementwise (general scales; int8 and int16)."""
    x1 = wrap_int32((np.asarray(a, I64) + p.in1_offset) << p.left_shift)
    x2 = wrap_int32((np.asarray(b, I64) + p.in2_offset) << p.left_shift)
    y1 = multiply_by_quantized_multiplier(x1, p.in1_multiplier, p.in1_shift)
    y2 = multiply_by_quantized_multiplier(x2, p.in2_multiplier, p.in2_shift)
    raw = wrap_int32(y1 + y2)
    r = wrap_int32(multiply_by_quantized_multiplier(raw, p.out_multiplier, p.out_shift) + p.out_offset)
    return np.clip(r, p.act_min, p.act_max).astype(dtype)


def prelu_s8(x: np.ndarray, alpha: np.ndarray, input_offset: int, alpha_offset: int, mult_pos: int,
             shift_pos: int, mult_neg: int, shift_neg: int, output_offset: int) -> np.ndarray:
    """TFLM PRELU int8 (alpha broadcast along the last axis): v = x + input_offset;
    out = clamp(MBQM(v, M1, s1) + out_offset) for v >= 0, else
    clamp(MBQM(v (alpha + alpha_offset), M2, s2) + out_offset)."""
    v = np.asarray(x, I64) + int(input_offset)
    pos = multiply_by_quantized_multiplier(wrap_int32(v), mult_pos, shift_pos)
    neg = multiply_by_quantized_multiplier(wrap_int32(v * (np.asarray(alpha, I64) + int(alpha_offset))),
                                           mult_neg, shift_neg)
    r = wrap_int32(np.where(v >= 0, pos, neg) + int(output_offset))
    return np.clip(r, -128, 127).astype(np.int8)


def requantize_s16_s8(x: np.ndarray, multiplier: int, shift: int, input_offset: int = 0,
                      output_offset: int = 0) -> np.ndarray:
    """TFLM QUANTIZE (requantize) int16 -> int8:
    clamp(MBQM(x + input_offset, M, shift) + output_offset, -128, 127)."""
    v = wrap_int32(np.asarray(x, I64) + input_offset)
    r = wrap_int32(multiply_by_quantized_multiplier(v, multiplier, shift) + output_offset)
    return np.clip(r, -128, 127).astype(np.int8)


def sigmoid_lut_c_source() -> str:
    """firmware/kernels/bk_sigmoid_lut.c, generated from sigmoid_table() (a unit test keeps the
    committed file in sync: `python -m bench.models.common.int8ops > firmware/kernels/bk_sigmoid_lut.c`)."""
    t = sigmoid_table()
    rows = [", ".join(str(int(v)) for v in t[i:i + 12]) for i in range(0, 256, 12)]
    body = ",\n    ".join(rows)
    return (
        "/* Generated by bench/models/common/int8ops.py (sigmoid_lut_c_source): do not edit.\n"
        " * sigmoid(i/24) in 0.16 format, i = 0..255, each entry lowered by half the linear-\n"
        " * interpolation error at its interval midpoint; the last entry saturates (65535).\n"
        " * Used by the int16 sigmoid / tanh (TFLM's LOGISTIC / TANH table, same values). */\n"
        "#include <stdint.h>\n\n"
        "extern const uint16_t bk_sigmoid_lut[256];\n"
        f"const uint16_t bk_sigmoid_lut[256] = {{\n    {body}}};\n"
    )


if __name__ == "__main__":
    print(sigmoid_lut_c_source(), end="")
