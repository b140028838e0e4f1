/* Depthwise causal conv, kernel 3, dilation d, over one streaming frame with a history ring
 * and a channel keep-mask (DynCP): int8 input / int8 per-channel weights [3][C] / int32 bias /
 * int8 output, TFLM DepthwiseConvPerChannel arithmetic for every kept channel; a skipped
 * channel reads no weight, computes and writes no output, and leaves the zero point (real
 * zero) in the ring. */
#include "bk_support.h"

static inline int bk__dw_kept(const uint32_t *mask, int32_t c)
{
    return mask == NULL || ((mask[(uint32_t)c >> 5] >> ((uint32_t)c & 31u)) & 1u) != 0u;
}

#if BK_DSP
#if defined(BK_DSP_EMULATED)
static inline int32_t bk__smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return bk__add_wrap(acc, (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu));
}
static inline int32_t bk__smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return bk__add_wrap(acc, (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16));
}
#else
static inline int32_t bk__smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabb((int32_t)a, (int32_t)b, acc);
}
static inline int32_t bk__smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatt((int32_t)a, (int32_t)b, acc);
}
#endif

/* 4-bit group of the mask starting at c (c % 4 == 0); 0xF when the mask is NULL */
static inline uint32_t bk__nibble(const uint32_t *mask, int32_t c)
{
    return mask == NULL ? 0xFu : (mask[(uint32_t)c >> 5] >> ((uint32_t)c & 31u)) & 0xFu;
}
#endif

static inline int32_t bk__dw_one(int32_t b, int32_t w0, int32_t w1, int32_t w2, int32_t h2, int32_t h1,
                                 int32_t x, int32_t off)
{
    int32_t acc = bk__add_wrap(b, w0 * (h2 + off));
    acc = bk__add_wrap(acc, w1 * (h1 + off));
    return bk__add_wrap(acc, w2 * (x + off));
}

bk_status_t bk_dw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t channels, int32_t dilation, const int8_t *input, int8_t *ring,
                          int32_t *pos, const int8_t *weights, const int32_t *bias,
                          const uint32_t *mask, int8_t *output)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || ring == NULL || pos == NULL || weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (channels < 1 || dilation < 1 || dilation > 4096) {
        return BK_ERR_SIZE;
    }
    const int32_t rows = 2 * dilation;
    if (params->act_min > params->act_max || params->act_min < -128 || params->act_max > 127 ||
        params->input_offset < -127 || params->input_offset > 128 || *pos < 0 || *pos >= rows) {
        return BK_ERR_PARAM;
    }
    const size_t cn = (size_t)channels;
    int8_t *r2 = ring + (size_t)*pos * cn;                           /* frame t-2d, then frame t */
    const int8_t *r1 = ring + (size_t)((*pos + dilation) % rows) * cn; /* frame t-d */
    const int8_t *w0 = weights, *w1 = weights + cn, *w2 = weights + 2u * cn;
    const int32_t off = params->input_offset;
    const int8_t zp = (int8_t)(-off);
    const int32_t *m = quant->multiplier, *s = quant->shift;
    int32_t c = 0;
#if BK_DSP
    /* Four kept channels at a time: two taps of a channel as one SMLAD (PKH-packed (x, h1)
     * against (w2, w1)), the third by SMLABB / SMLATT. Groups with a skipped channel, and
     * the channels % 4 tail, go through the per-channel code below. */
    const uint32_t offp = ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16);
    for (; c + 4 <= channels; c += 4) {
        const uint32_t nib = bk__nibble(mask, c);
        if (nib == 0u) {
            memset(r2 + c, zp, 4u);
            continue;
        }
        if (nib != 0xFu) {
            for (int32_t j = c; j < c + 4; j++) {
                if (bk__dw_kept(mask, j)) {
                    const int32_t acc = bk__dw_one(bias != NULL ? bias[j] : 0, w0[j], w1[j], w2[j], r2[j],
                                                   r1[j], input[j], off);
                    output[j] = (int8_t)bk__fc_out(acc, m[j], s[j], params->output_offset, params->act_min,
                                                    params->act_max);
                    r2[j] = input[j];
                } else {
                    r2[j] = zp;
                }
            }
            continue;
        }
        const uint32_t X = bk__read_u32(input + c), H1 = bk__read_u32(r1 + c), H2 = bk__read_u32(r2 + c);
        const uint32_t x02 = bk__sxtab16(offp, X), x13 = bk__sxtab16_ror8(offp, X);
        const uint32_t h102 = bk__sxtab16(offp, H1), h113 = bk__sxtab16_ror8(offp, H1);
        const uint32_t h202 = bk__sxtab16(offp, H2), h213 = bk__sxtab16_ror8(offp, H2);
        const uint32_t W0 = bk__read_u32(w0 + c), W1 = bk__read_u32(w1 + c), W2 = bk__read_u32(w2 + c);
        const uint32_t v002 = bk__sxtb16(W0), v013 = bk__sxtb16_ror8(W0);
        const uint32_t v102 = bk__sxtb16(W1), v113 = bk__sxtb16_ror8(W1);
        const uint32_t v202 = bk__sxtb16(W2), v213 = bk__sxtb16_ror8(W2);
        int32_t a[4];
        a[0] = bias != NULL ? bias[c] : 0;
        a[1] = bias != NULL ? bias[c + 1] : 0;
        a[2] = bias != NULL ? bias[c + 2] : 0;
        a[3] = bias != NULL ? bias[c + 3] : 0;
        a[0] = bk__smlabb(h202, v002, bk__smlad(bk__pkhbt(x02, h102), bk__pkhbt(v202, v102), a[0]));
        a[2] = bk__smlatt(h202, v002, bk__smlad(bk__pkhtb(h102, x02), bk__pkhtb(v102, v202), a[2]));
        a[1] = bk__smlabb(h213, v013, bk__smlad(bk__pkhbt(x13, h113), bk__pkhbt(v213, v113), a[1]));
        a[3] = bk__smlatt(h213, v013, bk__smlad(bk__pkhtb(h113, x13), bk__pkhtb(v113, v213), a[3]));
        for (int32_t j = 0; j < 4; j++) {
            output[c + j] = (int8_t)bk__fc_out(a[j], m[c + j], s[c + j], params->output_offset,
                                                params->act_min, params->act_max);
        }
        memcpy(r2 + c, input + c, 4u); /* frame t-2d is no longer needed */
    }
#endif
    for (; c < channels; c++) {
        if (!bk__dw_kept(mask, c)) {
            r2[c] = zp;
            continue;
        }
        const int32_t acc = bk__dw_one(bias != NULL ? bias[c] : 0, w0[c], w1[c], w2[c], r2[c], r1[c],
                                       input[c], off);
        output[c] = (int8_t)bk__fc_out(acc, m[c], s[c], params->output_offset, params->act_min,
                                        params->act_max);
        r2[c] = input[c];
    }
    *pos = (*pos + 1) % rows;
    return BK_OK;
}
