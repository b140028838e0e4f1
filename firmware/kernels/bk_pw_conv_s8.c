/* Pointwise conv over one frame with an OUTPUT channel keep-mask (DynCP pw1): int8 input,
 * int8 per-channel weights [out][in], int32 bias, int8 output; TFLM FullyConnectedPerChannel
 * arithmetic for every kept output, nothing at all for a skipped one. */
#include "bk_support.h"

static inline int bk__kept(const uint32_t *mask, int32_t c)
{
    return mask == NULL || ((mask[(uint32_t)c >> 5] >> ((uint32_t)c & 31u)) & 1u) != 0u;
}

bk_status_t bk_pw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t in_ch, int32_t out_ch, const int8_t *input,
                          const int8_t *weights, const int32_t *bias, const uint32_t *out_mask,
                          int8_t *output, void *scratch, size_t scratch_bytes)
{
    const bk_status_t st = bk__fc_check(params, quant, in_ch, out_ch, input, weights, output,
                                        scratch, scratch_bytes, -128, 127);
    if (st != BK_OK) {
        return st;
    }
#if BK_DSP
    /* Widen the input once, then run the shared matrix-vector core over each run of
     * consecutive kept rows (whole mask words of zeros are skipped at once). */
    int16_t *xe = (int16_t *)scratch;
    bk__expand_s8(input, in_ch, params->input_offset, xe);
    int32_t r = 0;
    while (r < out_ch) {
        if (out_mask != NULL && ((uint32_t)r & 31u) == 0u && out_mask[(uint32_t)r >> 5] == 0u) {
            r += 32;
            continue;
        }
        if (!bk__kept(out_mask, r)) {
            r++;
            continue;
        }
        const int32_t r0 = r;
        while (r < out_ch && bk__kept(out_mask, r)) {
            r++;
        }
        const bk__out_t o = {bias != NULL ? bias + r0 : NULL, quant->multiplier + r0, quant->shift + r0,
                             params->output_offset, params->act_min, params->act_max};
        bk__matvec_s8(xe, weights + (size_t)r0 * (size_t)in_ch, r - r0, in_ch, &o, output + r0);
    }
#else
    /* Reference path: plain C, one kept output at a time. */
    const int32_t off = params->input_offset;
    for (int32_t n = 0; n < out_ch; n++) {
        if (!bk__kept(out_mask, n)) {
            continue;
        }
        const int8_t *w = weights + (size_t)n * (size_t)in_ch;
        int32_t acc = bias != NULL ? bias[n] : 0;
        for (int32_t k = 0; k < in_ch; k++) {
            acc = bk__add_wrap(acc, w[k] * (input[k] + off));
        }
        output[n] = (int8_t)bk__fc_out(acc, quant->multiplier[n], quant->shift[n], params->output_offset,
                                        params->act_min, params->act_max);
    }
#endif
    return BK_OK;
}
