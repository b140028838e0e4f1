/* Element-wise int16 multiply with requantisation (TFLM MUL). */
#include "bk_support.h"

bk_status_t bk_mul_s16(const int16_t *a, const int16_t *b, int16_t *output, int32_t size,
                       const bk_mul_params_t *p)
{
    if (a == NULL || b == NULL || output == NULL || p == NULL) {
        return BK_ERR_NULL;
    }
    if (size < 0) {
        return BK_ERR_SIZE;
    }
    if (!bk__shift_ok(p->shift) || p->act_min > p->act_max || p->act_min < -32768 || p->act_max > 32767 ||
        p->in1_offset < -32768 || p->in1_offset > 32768 || p->in2_offset < -32768 || p->in2_offset > 32768) {
        return BK_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; i++) {
        const int32_t x = a[i] + p->in1_offset;
        const int32_t y = b[i] + p->in2_offset;
        const int32_t prod = (int32_t)((uint32_t)x * (uint32_t)y);
        output[i] = (int16_t)bk_fc_out(prod, p->multiplier, p->shift, p->out_offset, p->act_min, p->act_max);
    }
    return BK_OK;
}
