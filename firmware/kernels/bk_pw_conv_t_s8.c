/* Pointwise conv over one frame with an INPUT channel keep-mask (DynCP pw2): int8 input,
 * int8 per-output-channel weights stored input-channel-major [in][out], int32 bias, int8
 * output. A skipped input channel's weight column is never read. TFLM
 * FullyConnectedPerChannel arithmetic over the kept inputs (a skipped input is real zero). */
#include "bk_support.h"

static inline int bk__kept_in(const uint32_t *mask, int32_t c)
{
    return mask == NULL || ((mask[(uint32_t)c >> 5] >> ((uint32_t)c & 31u)) & 1u) != 0u;
}

/* next kept channel at or after c (in_ch when none) */
static int32_t bk__next_kept(const uint32_t *mask, int32_t c, int32_t n)
{
    while (c < n) {
        if (mask != NULL && ((uint32_t)c & 31u) == 0u && mask[(uint32_t)c >> 5] == 0u) {
            c += 32;
            continue;
        }
        if (bk__kept_in(mask, c)) {
            return c;
        }
        c++;
    }
    return n;
}

#if BK_DSP && !defined(BK_DSP_EMULATED)
/* PKHBT / PKHTB as single instructions (the portable bk__pkhbt / bk__pkhtb compile to two). */
static inline uint32_t bk__pkhbt1(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
static inline uint32_t bk__pkhtb1(uint32_t hi, uint32_t lo)
{
    uint32_t r;
    __asm("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}
#elif BK_DSP
#define bk__pkhbt1 bk__pkhbt
#define bk__pkhtb1 bk__pkhtb
#endif

/* acc[n] += w[n] * xv for one kept input channel (plain C). */
static void bk__axpy1(int32_t *acc, const int8_t *w, int32_t xv, int32_t n0, int32_t n1)
{
    for (int32_t n = n0; n < n1; n++) {
        acc[n] = bk__add_wrap(acc[n], w[n] * xv);
    }
}

bk_status_t bk_pw_conv_t_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                            int32_t in_ch, int32_t out_ch, const int8_t *input,
                            const int8_t *weights, const int32_t *bias, const uint32_t *in_mask,
                            int8_t *output, void *scratch, size_t scratch_bytes)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (in_ch < 1 || out_ch < 1) {
        return BK_ERR_SIZE;
    }
    if (params->act_min > params->act_max || params->act_min < -128 || params->act_max > 127 ||
        params->input_offset < -128 || params->input_offset > 128) {
        return BK_ERR_PARAM;
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_PW_T_SCRATCH_BYTES(out_ch))) {
        return BK_ERR_SCRATCH;
    }
    int32_t *acc = (int32_t *)scratch;
    for (int32_t n = 0; n < out_ch; n++) {
        acc[n] = bias != NULL ? bias[n] : 0;
    }
    const int32_t off = params->input_offset;
    const size_t stride = (size_t)out_ch;
    int32_t k = bk__next_kept(in_mask, 0, in_ch);
#if BK_DSP
    /* Kept input channels four (then two) at a time: a pair (x1, x2) is one SMLAD operand
     * against the weight pairs (w1[n], w2[n]) built from word loads of both columns by
     * SXTB16 + PKHBT/PKHTB; four channels share one load/store of each accumulator. */
    const int32_t n4 = out_ch & ~3;
    while (k < in_ch) {
        int32_t ks[4];
        int32_t got = 0;
        int32_t j = k;
        while (got < 4 && j < in_ch) {
            ks[got++] = j;
            j = bk__next_kept(in_mask, j + 1, in_ch);
        }
        if (got < 2) {
            break; /* one channel left: the plain loop below */
        }
        if (got == 3) {
            got = 2; /* the third one starts the next round */
            j = ks[2];
        }
        const int8_t *c1 = weights + (size_t)ks[0] * stride;
        const int8_t *c2 = weights + (size_t)ks[1] * stride;
        const int32_t x1 = input[ks[0]] + off, x2 = input[ks[1]] + off;
        const uint32_t xp = ((uint32_t)x1 & 0xFFFFu) | ((uint32_t)x2 << 16);
        if (got == 4) {
            const int8_t *c3 = weights + (size_t)ks[2] * stride;
            const int8_t *c4 = weights + (size_t)ks[3] * stride;
            const int32_t x3 = input[ks[2]] + off, x4 = input[ks[3]] + off;
            const uint32_t xq = ((uint32_t)x3 & 0xFFFFu) | ((uint32_t)x4 << 16);
            for (int32_t n = 0; n < n4; n += 4) {
                const uint32_t a = bk__read_u32(c1 + n), b = bk__read_u32(c2 + n);
                const uint32_t e = bk__read_u32(c3 + n), f = bk__read_u32(c4 + n);
                const uint32_t a02 = bk__sxtb16(a), a13 = bk__sxtb16_ror8(a);
                const uint32_t b02 = bk__sxtb16(b), b13 = bk__sxtb16_ror8(b);
                const uint32_t e02 = bk__sxtb16(e), e13 = bk__sxtb16_ror8(e);
                const uint32_t f02 = bk__sxtb16(f), f13 = bk__sxtb16_ror8(f);
                acc[n] = bk__smlad(bk__pkhbt1(e02, f02), xq, bk__smlad(bk__pkhbt1(a02, b02), xp, acc[n]));
                acc[n + 1] = bk__smlad(bk__pkhbt1(e13, f13), xq, bk__smlad(bk__pkhbt1(a13, b13), xp, acc[n + 1]));
                acc[n + 2] = bk__smlad(bk__pkhtb1(f02, e02), xq, bk__smlad(bk__pkhtb1(b02, a02), xp, acc[n + 2]));
                acc[n + 3] = bk__smlad(bk__pkhtb1(f13, e13), xq, bk__smlad(bk__pkhtb1(b13, a13), xp, acc[n + 3]));
            }
            bk__axpy1(acc, c3, x3, n4, out_ch);
            bk__axpy1(acc, c4, x4, n4, out_ch);
        } else {
            for (int32_t n = 0; n < n4; n += 4) {
                const uint32_t a = bk__read_u32(c1 + n), b = bk__read_u32(c2 + n);
                const uint32_t a02 = bk__sxtb16(a), a13 = bk__sxtb16_ror8(a);
                const uint32_t b02 = bk__sxtb16(b), b13 = bk__sxtb16_ror8(b);
                acc[n] = bk__smlad(bk__pkhbt1(a02, b02), xp, acc[n]);
                acc[n + 1] = bk__smlad(bk__pkhbt1(a13, b13), xp, acc[n + 1]);
                acc[n + 2] = bk__smlad(bk__pkhtb1(b02, a02), xp, acc[n + 2]);
                acc[n + 3] = bk__smlad(bk__pkhtb1(b13, a13), xp, acc[n + 3]);
            }
        }
        bk__axpy1(acc, c1, x1, n4, out_ch);
        bk__axpy1(acc, c2, x2, n4, out_ch);
        k = j;
    }
#endif
    /* Reference path (and the DSP path's odd last channel): one kept input at a time. */
    while (k < in_ch) {
        bk__axpy1(acc, weights + (size_t)k * stride, input[k] + off, 0, out_ch);
        k = bk__next_kept(in_mask, k + 1, in_ch);
    }
    for (int32_t n = 0; n < out_ch; n++) {
        output[n] = (int8_t)bk__fc_out(acc[n], quant->multiplier[n], quant->shift[n], params->output_offset,
                                        params->act_min, params->act_max);
    }
    return BK_OK;
}
