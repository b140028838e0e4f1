/* int16 tanh, TFLM semantics: tanh(x) = 2 sigmoid(2x) - 1 through the sigmoid table with 8
 * bits of interpolation; Q3.12 input (power-of-two case) -> Q0.15 output. */
#include "bk_support.h"

bk_status_t bk_tanh_s16(const int16_t *input, int16_t *output, int32_t size,
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
        output[i] = bk__tanh_one(bk__lut_input(input[i], input_multiplier, input_left_shift));
    }
    return BK_OK;
}
