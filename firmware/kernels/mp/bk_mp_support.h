/* Internal helpers of the mixed-precision kernels: input widening into the lane order of each
 * packed weight width and the packed matrix-vector product (bk_mp_matvec.c). */
#ifndef BK_MP_SUPPORT_H
#define BK_MP_SUPPORT_H

#include "bk_mp.h"
#include "bk_support.h"

/* Weight widths with a kernel: 2..8. */
static inline int bk__mp_bits_ok(int32_t bits)
{
    return bits >= 2 && bits <= 8;
}

/* Width of the signed top plane of a packed row (8 for int8 rows). */
static inline int32_t bk__mp_top_bits(int32_t bits)
{
    return bits == 8 ? 8 : bits <= 3 ? 2 : 4;
}

/* Inputs widened for `bits`-bit rows can be reused for `other`-bit rows (same lane order, long
 * enough padding). */
static inline int bk__mp_same_layout(int32_t bits, int32_t other)
{
    return bk__mp_top_bits(bits) == bk__mp_top_bits(other) && BK_MP_GROUP(bits) >= BK_MP_GROUP(other);
}

/* Widen `n` inputs (int8 + offset, or int16) to int16 for `bits`-bit rows.
 * DSP path: 8 bits: bk__expand_s8/s16's pair-interleaved order; 4 bits: per group of 8 inputs
 * the halfword pairs (x0,x4) (x2,x6) (x1,x5) (x3,x7); 2 bits: per group of 16 the pairs
 * (x0,x8) (x4,x12) (x1,x9) (x5,x13) (x2,x10) (x6,x14) (x3,x11) (x7,x15): exactly the lanes that
 * SXTB16 / SXTB16 ROR 8 give from one word of masked packed weights; 3, 5, 6, 7 bits use their
 * top plane's order. Zero-padded to BK_MP_PAD(n, bits). Reference path: natural order, offset folded. */
void bk__mp_expand_s8(const int8_t *in, int32_t n, int32_t offset, int32_t bits, int16_t *out);
void bk__mp_expand_s16(const int16_t *in, int32_t n, int32_t bits, int16_t *out);

/* Output stage parameters (as the int8 core's). */
typedef struct {
    const int32_t *bias;       /* [rows] or NULL */
    const int32_t *multiplier; /* [rows] */
    const int32_t *shift;      /* [rows] */
    int32_t offset, act_min, act_max;
} bk__mp_out_t;

/* out[r] = clamp(MBQM(bias[r] + dot(w[r], x), M[r], s[r]) + offset) for packed rows. */
void bk__mp_matvec(const int16_t *xe, const uint8_t *w, int32_t bits, int32_t rows, int32_t cols,
                   const bk__mp_out_t *o, int16_t *out);

/* gru_int's narrowing (int8ops.fq_pow2): keep `bits` of a 16-bit Q value (k = 16 - bits dropped
 * fraction bits): RoundingDivideByPOT, saturate, shift back. */
static inline int32_t bk__fq(int32_t v, int32_t k)
{
    if (k <= 0) {
        return v;
    }
    const int32_t lim = (int32_t)(1u << (15 - k));
    const int32_t r = bk_clamp(bk_rdbpot(v, k), -lim, lim - 1);
    return (int32_t)((uint32_t)r << k);
}

#endif /* BK_MP_SUPPORT_H */
