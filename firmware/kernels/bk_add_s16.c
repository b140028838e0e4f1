/* Element-wise int16 add with requantisation (TFLM ADD, general scales). */
#include "bk_support.h"

bk_status_t bk_add_s16(const int16_t *a, const int16_t *b, int16_t *output, int32_t size,
                       const bk_add_params_t *p)
{
    if (a == NULL || b == NULL || output == NULL || p == NULL) {
        return BK_ERR_NULL;
    }
    if (size < 0) {
        return BK_ERR_SIZE;
    }
    if (!bk__shift_ok(p->in1_shift) || !bk__shift_ok(p->in2_shift) || !bk__shift_ok(p->out_shift) ||
        p->left_shift < 0 || p->left_shift > 31 || p->act_min > p->act_max || p->act_min < -32768 ||
        p->act_max > 32767) {
        return BK_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; i++) {
        const int32_t x1 = (int32_t)((uint32_t)(a[i] + p->in1_offset) << p->left_shift);
        const int32_t x2 = (int32_t)((uint32_t)(b[i] + p->in2_offset) << p->left_shift);
        const int32_t y1 = bk_mbqm(x1, p->in1_multiplier, p->in1_shift);
        const int32_t y2 = bk_mbqm(x2, p->in2_multiplier, p->in2_shift);
        output[i] = (int16_t)bk_fc_out(bk_add_wrap(y1, y2), p->out_multiplier, p->out_shift,
                                        p->out_offset, p->act_min, p->act_max);
    }
    return BK_OK;
}
