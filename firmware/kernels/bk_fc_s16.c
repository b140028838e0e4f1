/* Fully connected 16x8: int16 input (zero point 0) / int8 per-channel weights / int32 bias
 * and accumulator / int16 output (TFLM FullyConnectedPerChannel<int32_t>). */
#include "bk_support.h"

bk_status_t bk_fc_s16(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                      int32_t in_features, int32_t out_features, const int16_t *input,
                      const int8_t *weights, const int32_t *bias, int16_t *output,
                      void *scratch, size_t scratch_bytes)
{
    const bk_status_t st = bk__fc_check(params, quant, in_features, out_features, input, weights,
                                        output, scratch, scratch_bytes, -32768, 32767);
    if (st != BK_OK) {
        return st;
    }
    if (params->input_offset != 0) {
        return BK_ERR_PARAM;
    }
#if BK_DSP
    int16_t *xe = (int16_t *)scratch;
    bk__expand_s16(input, in_features, xe);
    const bk__out_t o = {bias, quant->multiplier, quant->shift, params->output_offset,
                         params->act_min, params->act_max};
    bk__matvec_s16(xe, weights, out_features, in_features, &o, output);
#else
    /* Reference path: plain C, one output at a time. */
    const int8_t *w = weights;
    for (int32_t n = 0; n < out_features; n++) {
        int32_t acc = bias != NULL ? bias[n] : 0;
        const int16_t *xp = input;
        const int16_t *const xend = input + in_features;
        while (xp < xend) {
            acc = bk_add_wrap(acc, *w++ * *xp++);
        }
        output[n] = (int16_t)bk_fc_out(acc, quant->multiplier[n], quant->shift[n],
                                        params->output_offset, params->act_min, params->act_max);
    }
#endif
    return BK_OK;
}
