/* int16 -> int8 requantisation (TFLM QUANTIZE / Requantize). */
#include "bk_support.h"

bk_status_t bk_requantize_s16_s8(const int16_t *input, int8_t *output, int32_t size,
                                 int32_t input_offset, int32_t multiplier, int32_t shift,
                                 int32_t output_offset)
{
    if (input == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (size < 0) {
        return BK_ERR_SIZE;
    }
    if (!bk__shift_ok(shift) || input_offset < -32768 || input_offset > 32768) {
        return BK_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; i++) {
        output[i] = (int8_t)bk_fc_out(input[i] + input_offset, multiplier, shift, output_offset, -128, 127);
    }
    return BK_OK;
}
