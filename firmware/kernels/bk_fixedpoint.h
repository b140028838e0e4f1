/* Fixed-point primitives of TFLM's integer arithmetic (gemmlowp semantics, written from their
 * published definitions): public, for model code beside the kernels (e.g. a runner's element-wise
 * operators) as well as for the kernels themselves. Header-only (static inline). */
#ifndef BK_FIXEDPOINT_H
#define BK_FIXEDPOINT_H

#include <stdint.h>

/* gemmlowp SaturatingRoundingDoublingHighMul: (a*b + nudge) / 2^31 with C division
 * (toward zero) and nudge = 2^30 for a*b >= 0, 1 - 2^30 otherwise; that is exactly
 * floor((a*b + 2^30) / 2^31), i.e. a*b / 2^31 rounded half up, which is what we compute.
 * a == b == INT32_MIN (the only overflow) saturates to INT32_MAX. */
static inline int32_t bk_srdhm(int32_t a, int32_t b)
{
    if (b == INT32_MIN && a == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero;
 * exponent in 0..31. (x >> 31 is -1 for negative x: threshold + 1.) */
static inline int32_t bk_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) - (x >> 31);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding); shift in -31..30:
 * RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, M), right).
 * The division step is written without the mask: for right = e >= 1 it equals
 * floor((s + 2^(e-1) - [s < 0]) / 2^e) = floor((floor((s - [s < 0]) / 2^(e-1)) + 1) / 2),
 * and floor((v + 1) / 2) = (v >> 1) + (v & 1) cannot overflow. s - [s < 0] cannot wrap: a
 * doubling high multiply never returns INT32_MIN. Equal to bk_rdbpot (tests check it). */
static inline int32_t bk_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = left - shift;
    const int32_t s = bk_srdhm((int32_t)((uint32_t)x << left), multiplier);
    if (right == 0) {
        return s;
    }
    const int32_t v = (s + (s >> 31)) >> (right - 1);
    return (v >> 1) + (v & 1);
}

static inline int32_t bk_add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

static inline int32_t bk_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Requantise an accumulator to an output value (TFLM FC output stage). */
static inline int32_t bk_fc_out(int32_t acc, int32_t m, int32_t s, int32_t offset, int32_t lo, int32_t hi)
{
    return bk_clamp(bk_add_wrap(bk_mbqm(acc, m, s), offset), lo, hi);
}

#endif /* BK_FIXEDPOINT_H */
