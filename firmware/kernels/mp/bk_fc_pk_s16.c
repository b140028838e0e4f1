/* Fully connected 16x8 with packed 2..8-bit weights (bk_fc_s16's arithmetic: int16 input with
 * zero point 0, int32 bias and accumulator, per-channel requantisation to int16). TFLM's
 * FULLY_CONNECTED with int4 weights unpacks them to int8 and runs the int8 kernel: the same
 * numbers. 2-bit weights are our extension (same order, low bits first). */
#include "bk_mp_support.h"

bk_status_t bk_fc_pk_s16(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                         int32_t in_features, int32_t out_features, const int16_t *input,
                         const void *weights, int32_t weight_bits, const int32_t *bias,
                         int16_t *output, void *scratch, size_t scratch_bytes)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (in_features < 1 || out_features < 1) {
        return BK_ERR_SIZE;
    }
    if (!bk__mp_bits_ok(weight_bits)) {
        return BK_ERR_PARAM;
    }
    if (params->act_min > params->act_max || params->act_min < -32768 || params->act_max > 32767 ||
        params->input_offset != 0) {
        return BK_ERR_PARAM;
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_PK_SCRATCH_BYTES(in_features))) {
        return BK_ERR_SCRATCH;
    }
    int16_t *xe = (int16_t *)scratch;
    bk__mp_expand_s16(input, in_features, weight_bits, xe);
    const bk__mp_out_t o = {bias, quant->multiplier, quant->shift, params->output_offset,
                            params->act_min, params->act_max};
    bk__mp_matvec(xe, (const uint8_t *)weights, weight_bits, out_features, in_features, &o, output);
    return BK_OK;
}
