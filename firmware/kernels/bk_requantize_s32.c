/* out[i] = MultiplyByQuantizedMultiplier(in[i], multiplier, shift) (TFLM, int32). */
#include "bk_support.h"

bk_status_t bk_requantize_s32(const int32_t *input, int32_t *output, int32_t size,
                              int32_t multiplier, int32_t shift)
{
    if (input == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (size < 0) {
        return BK_ERR_SIZE;
    }
    if (!bk__shift_ok(shift)) {
        return BK_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; i++) {
        output[i] = bk_mbqm(input[i], multiplier, shift);
    }
    return BK_OK;
}
