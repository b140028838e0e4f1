/* Fully connected, int8 input / int8 per-channel weights / int32 bias / int8 output
 * (TFLM FullyConnectedPerChannel semantics). */
#include "bk_support.h"

bk_status_t bk_fc_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                     int32_t in_features, int32_t out_features, const int8_t *input,
                     const int8_t *weights, const int32_t *bias, int8_t *output,
                     void *scratch, size_t scratch_bytes)
{
    const bk_status_t st = bk__fc_check(params, quant, in_features, out_features, input, weights,
                                        output, scratch, scratch_bytes, -128, 127);
    if (st != BK_OK) {
        return st;
    }
#if BK_DSP
    int16_t *xe = (int16_t *)scratch;
    bk__expand_s8(input, in_features, params->input_offset, xe);
    const bk__out_t o = {bias, quant->multiplier, quant->shift, params->output_offset,
                         params->act_min, params->act_max};
    bk__matvec_s8(xe, weights, out_features, in_features, &o, output);
#else
    /* Reference path: plain C, one output at a time. */
    for (int32_t n = 0; n < out_features; n++) {
        const int32_t acc = bk__fc_ref_acc(weights + (size_t)n * (size_t)in_features, input, in_features,
                                           params->input_offset, bias != NULL ? bias[n] : 0);
        output[n] = (int8_t)bk_fc_out(acc, quant->multiplier[n], quant->shift[n],
                                        params->output_offset, params->act_min, params->act_max);
    }
#endif
    return BK_OK;
}
