/* int16 logistic, TFLM semantics: 256-entry table of sigmoid(i/24) in 0.16 with 9 bits of
 * linear interpolation; Q3.12 input (power-of-two case) -> Q0.15 output. */
#include "bk_support.h"

bk_status_t bk_sigmoid_s16(const int16_t *input, int16_t *output, int32_t size,
                           int32_t input_multiplier, int32_t input_left_shift)
{
    if (input == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (size < 0) {
        return BK_ERR_SIZE;
    }
    if (input_left_shift < 0 || input_left_shift > 31 || input_multiplier < 0 || input_multiplier > 32767 ||
        (input_multiplier == 0 && input_left_shift > 13)) {
        return BK_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; i++) {
        output[i] = bk__sigmoid_one(bk__lut_input(input[i], input_multiplier, input_left_shift));
    }
    return BK_OK;
}
