/* Element-wise int8 operators of the Conv-FSENet runner (see dyncp_ops.h). */
#include "dyncp_ops.h"

#include "bk_fixedpoint.h"

static inline int32_t dc__act_one(const dc_act_t *a, int32_t c, int32_t x)
{
    const int32_t v = x + a->in_offset;
    int32_t r = v >= 0 ? bk_mbqm(v, a->mult_pos, a->shift_pos)
                       : bk_mbqm(v * (int32_t)a->alpha[c], a->mult_neg, a->shift_neg);
    r = bk_clamp(r + a->out_offset, -128, 127);
    return bk_clamp(r + (int32_t)a->beta[c], -128, 127);
}

void dc_act_s8(const dc_act_t *a, const int8_t *in, int8_t *out, const uint32_t *mask, int32_t channels)
{
    if (mask == NULL) {
        for (int32_t c = 0; c < channels; c++)
            out[c] = (int8_t)dc__act_one(a, c, in[c]);
        return;
    }
    for (int32_t w = 0; w * 32 < channels; w++) {
        uint32_t m = mask[w];
        while (m != 0u) {
            const int32_t c = w * 32 + (int32_t)__builtin_ctz(m);
            m &= m - 1u;
            if (c < channels)
                out[c] = (int8_t)dc__act_one(a, c, in[c]);
        }
    }
}

void dc_add_s8(const int8_t *a, const int8_t *b, int8_t *out, int32_t size, const bk_add_params_t *p)
{
    for (int32_t i = 0; i < size; i++) {
        const int32_t x1 = (int32_t)((uint32_t)(a[i] + p->in1_offset) << p->left_shift);
        const int32_t x2 = (int32_t)((uint32_t)(b[i] + p->in2_offset) << p->left_shift);
        const int32_t y1 = bk_mbqm(x1, p->in1_multiplier, p->in1_shift);
        const int32_t y2 = bk_mbqm(x2, p->in2_multiplier, p->in2_shift);
        out[i] = (int8_t)bk_fc_out(bk_add_wrap(y1, y2), p->out_multiplier, p->out_shift, p->out_offset,
                                    p->act_min, p->act_max);
    }
}

uint32_t dc_popcount(const uint32_t *mask, int32_t channels)
{
    uint32_t n = 0;
    for (int32_t w = 0; w * 32 < channels; w++) {
        uint32_t m = mask[w];
        const int32_t rest = channels - w * 32;
        if (rest < 32)
            m &= (1u << (uint32_t)rest) - 1u;
        n += (uint32_t)__builtin_popcount(m);
    }
    return n;
}
