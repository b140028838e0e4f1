/* Internal helpers of the bench kernels: fixed-point primitives (gemmlowp semantics, written
 * from their published definitions), clamping, the DSP primitives and the shared
 * matrix-vector core. Not part of the public API. */
#ifndef BK_SUPPORT_H
#define BK_SUPPORT_H

#include <stdint.h>
#include <string.h>

#include "bk.h"
#include "bk_fixedpoint.h"

/* ---- code path selection ---------------------------------------------------------------
 * BK_DSP = 1: SMLAD / SXTB16 path. On a core with __ARM_FEATURE_DSP the real instructions;
 * with -DBK_EMULATE_DSP (host tests only) portable C models of them, so the DSP path's data
 * layout is exercised natively too. -DBK_FORCE_REF selects the plain-C path everywhere. */
#if !defined(BK_FORCE_REF) && defined(__ARM_FEATURE_DSP)
#define BK_DSP 1
#include <arm_acle.h>
static inline uint32_t bk__sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int8x4_t)x); }
static inline uint32_t bk__sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t bk__sxtab16(uint32_t a, uint32_t x)
{
    return (uint32_t)__sxtab16((int16x2_t)a, (int8x4_t)x);
}
static inline uint32_t bk__sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
static inline int32_t bk__smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int16x2_t)a, (int16x2_t)b, acc);
}
static inline uint32_t bk__pkhbt(uint32_t lo, uint32_t hi) /* (lo.lo16, hi.lo16) */
{
    return (lo & 0xFFFFu) | (hi << 16);
}
static inline uint32_t bk__pkhtb(uint32_t hi, uint32_t lo) /* (lo.hi16, hi.hi16) */
{
    return (hi & 0xFFFF0000u) | (lo >> 16);
}
#elif !defined(BK_FORCE_REF) && defined(BK_EMULATE_DSP)
#define BK_DSP 1
#define BK_DSP_EMULATED 1
static inline uint32_t bk__h(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16); }
static inline int32_t bk__lo(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu); }
static inline int32_t bk__hi(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x >> 16); }
static inline int32_t bk__b(uint32_t x, int i) { return (int32_t)(int8_t)(uint8_t)(x >> (8 * i)); }
static inline uint32_t bk__sxtb16(uint32_t x) { return bk__h(bk__b(x, 0), bk__b(x, 2)); }
static inline uint32_t bk__sxtb16_ror8(uint32_t x) { return bk__h(bk__b(x, 1), bk__b(x, 3)); }
static inline uint32_t bk__sxtab16(uint32_t a, uint32_t x)
{
    return bk__h(bk__lo(a) + bk__b(x, 0), bk__hi(a) + bk__b(x, 2));
}
static inline uint32_t bk__sxtab16_ror8(uint32_t a, uint32_t x)
{
    return bk__h(bk__lo(a) + bk__b(x, 1), bk__hi(a) + bk__b(x, 3));
}
static inline int32_t bk__smlad(uint32_t a, uint32_t b, int32_t acc)
{
    uint32_t p = (uint32_t)(bk__lo(a) * bk__lo(b)) + (uint32_t)(bk__hi(a) * bk__hi(b));
    return (int32_t)((uint32_t)acc + p);
}
static inline uint32_t bk__pkhbt(uint32_t lo, uint32_t hi) { return (lo & 0xFFFFu) | (hi << 16); }
static inline uint32_t bk__pkhtb(uint32_t hi, uint32_t lo) { return (hi & 0xFFFF0000u) | (lo >> 16); }
#else
#define BK_DSP 0
#endif

static inline uint32_t bk__read_u32(const void *p) /* any alignment (LDR on Cortex-M4) */
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#if BK_DSP && defined(__ARM_FEATURE_SAT) && !defined(BK_DSP_EMULATED)
static inline int32_t bk__sat16(int32_t v)
{
    int32_t r; /* SSAT (inline: GCC 12's __ssat macro trips -Wsign-conversion) */
    __asm("ssat %0, #16, %1" : "=r"(r) : "r"(v));
    return r;
}
#else
static inline int32_t bk__sat16(int32_t v) { return bk_clamp(v, -32768, 32767); }
#endif

static inline int bk__shift_ok(int32_t shift) { return shift >= -31 && shift <= 30; }

static inline int bk__scratch_ok(const void *scratch, size_t have, size_t need)
{
    if (need == 0u) {
        return 1;
    }
    return scratch != NULL && have >= need && ((uintptr_t)scratch & 3u) == 0u;
}

/* Reference path of the int8-input fully connected kernels: one output's int32 accumulator,
 * bias + sum_i w[i] * (x[i] + input_offset), wrapping as TFLM's does. */
static inline int32_t bk__fc_ref_acc(const int8_t *w, const int8_t *input, int32_t in_features, int32_t off,
                                     int32_t bias)
{
    int32_t acc = bias;
    for (int32_t i = 0; i < in_features; i++) {
        acc = bk_add_wrap(acc, w[i] * (input[i] + off));
    }
    return acc;
}

/* Argument checks shared by the fully connected kernels. */
static inline bk_status_t bk__fc_check(const bk_fc_params_t *p, const bk_per_channel_t *q,
                                       int32_t in_features, int32_t out_features, const void *input,
                                       const int8_t *weights, const void *output, const void *scratch,
                                       size_t scratch_bytes, int32_t out_lo, int32_t out_hi)
{
    if (p == NULL || q == NULL || q->multiplier == NULL || q->shift == NULL || input == NULL ||
        weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (in_features < 1 || out_features < 1) {
        return BK_ERR_SIZE;
    }
    if (p->act_min > p->act_max || p->act_min < out_lo || p->act_max > out_hi ||
        p->input_offset < -128 || p->input_offset > 128) {
        return BK_ERR_PARAM;
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_FC_SCRATCH_BYTES(in_features))) {
        return BK_ERR_SCRATCH;
    }
    return BK_OK;
}

/* ---- int16 LOGISTIC / TANH (TFLM LUT + linear interpolation) ---------------------------- */

extern const uint16_t bk_sigmoid_lut[256]; /* sigmoid(i/24) in 0.16 (bk_sigmoid_lut.c) */

static inline int32_t bk__lut_input(int32_t x, int32_t mult, int32_t left_shift)
{
    if (mult == 0) { /* power-of-two scale */
        mult = 3 << left_shift;
        left_shift = 0;
    }
    const int32_t round = left_shift > 0 ? (int32_t)(1u << (left_shift - 1)) : 0;
    return (x * mult + round) >> left_shift; /* |x * mult| < 2^30: no overflow */
}

static inline int16_t bk__sigmoid_one(int32_t d) /* d: the rescaled input */
{
    const uint32_t a = (uint32_t)(d < 0 ? -d : d);
    const uint32_t uh = a >> 9;
    uint32_t result;
    if (uh >= 255u) {
        result = 0x7FFFu << 10;
    } else {
        const uint32_t ua = bk_sigmoid_lut[uh];
        const uint32_t ub = bk_sigmoid_lut[uh + 1u];
        result = (ua << 9) + (a & 0x1FFu) * (ub - ua);
    }
    result = d >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
    return (int16_t)(result >> 10);
}

static inline int16_t bk__tanh_one(int32_t d)
{
    const uint32_t a = (uint32_t)(d < 0 ? -d : d);
    const uint32_t uh = a >> 8;
    int32_t result;
    if (uh >= 255u) {
        result = (int32_t)(0xFFFFu << 8);
    } else {
        const uint32_t ua = bk_sigmoid_lut[uh];
        const uint32_t ub = bk_sigmoid_lut[uh + 1u];
        result = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
    }
    result = d >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(result >> 8);
}

/* ---- matrix-vector core (DSP path; bk_support_matvec.c) ---------------------------------
 * The input vector is widened once per call into scratch as int16 in the "pair-interleaved"
 * order: for every full group of 4 elements (x0 x1 x2 x3) the halfwords x0 x2 x1 x3, so that
 * one 32-bit word of 4 int8 weights (w0 w1 w2 w3) splits by SXTB16 / SXTB16 ROR 8 into
 * (w0, w2) and (w1, w3), each a ready SMLAD operand against the words (x0, x2) and (x1, x3).
 * The in_features % 4 leftover elements follow in natural order. */
#if BK_DSP
void bk__expand_s8(const int8_t *in, int32_t n, int32_t offset, int16_t *out);
void bk__expand_s16(const int16_t *in, int32_t n, int16_t *out);

typedef struct {
    const int32_t *bias;       /* [rows] or NULL */
    const int32_t *multiplier; /* [rows] */
    const int32_t *shift;      /* [rows] */
    int32_t offset, act_min, act_max;
} bk__out_t;

/* out[r] = clamp(MBQM(bias[r] + dot(w[r], xe), M[r], s[r]) + offset), int8 or int16 out. */
void bk__matvec_s8(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols,
                   const bk__out_t *o, int8_t *out);
void bk__matvec_s16(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols,
                    const bk__out_t *o, int16_t *out);
#endif

#endif /* BK_SUPPORT_H */
