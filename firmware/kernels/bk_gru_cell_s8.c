/* One timestep of an integer GRU (PyTorch gate convention), every operator at its default
 * width (bench.models.common.gru_int.GruBits()): int8 x and weights, int16 Q3.12 pre-activations,
 * int16 Q0.15 activations, products and state.
 *
 *   gx = FC_s8->s16(x)      (3H, Q3.12)        gh = FC_16x8(h) (3H, Q3.12)
 *   r  = sigmoid(sat16(gx_r + gh_r))            z  = sigmoid(sat16(gx_z + gh_z))
 *   rh = MUL(r, gh_n)       (Q3.12)             n  = tanh(sat16(gx_n + rh))
 *   h' = sat16(MUL(32767 - z, n) + MUL(z, h))   (Q0.15)
 *
 * MUL is TFLM MUL with the real multiplier 2^-15 = (2^30, -14); the saturating adds are
 * TFLM ADD at equal power-of-two scales. */
#include "bk_support.h"

#define BK_Q15_MULT (1 << 30)
#define BK_Q15_SHIFT (-14)

static inline int32_t bk__mul_q15(int32_t a, int32_t b)
{
    return bk__sat16(bk_mbqm(a * b, BK_Q15_MULT, BK_Q15_SHIFT));
}

bk_status_t bk_gru_cell_s8(const bk_gru_params_t *p, const int8_t *x, int16_t *h,
                           void *scratch, size_t scratch_bytes)
{
    if (p == NULL || x == NULL || h == NULL || p->w_ih == NULL || p->w_hh == NULL ||
        p->mult_ih == NULL || p->shift_ih == NULL || p->mult_hh == NULL || p->shift_hh == NULL) {
        return BK_ERR_NULL;
    }
    const int32_t hs = p->hidden_size;
    const int32_t is = p->input_size;
    if (hs < 1 || is < 1) {
        return BK_ERR_SIZE;
    }
    if (p->input_offset < -128 || p->input_offset > 128) {
        return BK_ERR_PARAM;
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_GRU_SCRATCH_BYTES(is, hs))) {
        return BK_ERR_SCRATCH;
    }
    int16_t *gx = (int16_t *)scratch;               /* 3H */
    int16_t *gh = gx + 3 * hs;                      /* 3H */
    void *fc_scratch = (void *)(gh + 3 * hs);       /* 12H bytes in: 4-byte aligned */
    const size_t fc_bytes = scratch_bytes - (size_t)hs * 12u;

    const bk_fc_params_t px = {p->input_offset, 0, -32768, 32767};
    const bk_per_channel_t qx = {p->mult_ih, p->shift_ih};
    bk_status_t st = bk_fc_s8_s16(&px, &qx, is, 3 * hs, x, p->w_ih, p->b_ih, gx, fc_scratch, fc_bytes);
    if (st != BK_OK) {
        return st;
    }
    const bk_fc_params_t ph = {0, 0, -32768, 32767};
    const bk_per_channel_t qh = {p->mult_hh, p->shift_hh};
    st = bk_fc_s16(&ph, &qh, hs, 3 * hs, h, p->w_hh, p->b_hh, gh, fc_scratch, fc_bytes);
    if (st != BK_OK) {
        return st;
    }

    const int16_t *gx_r = gx, *gx_z = gx + hs, *gx_n = gx + 2 * hs;
    const int16_t *gh_r = gh, *gh_z = gh + hs, *gh_n = gh + 2 * hs;
    for (int32_t j = 0; j < hs; j++) {
        /* Q3.12 power-of-two input: the LUT input is 3 * x (TFLM Prepare: multiplier 0, shift 0) */
        const int32_t r = bk__sigmoid_one(3 * bk__sat16(gx_r[j] + gh_r[j]));
        const int32_t z = bk__sigmoid_one(3 * bk__sat16(gx_z[j] + gh_z[j]));
        const int32_t rh = bk__mul_q15(r, gh_n[j]);
        const int32_t n = bk__tanh_one(3 * bk__sat16(gx_n[j] + rh));
        const int32_t zh = bk__mul_q15(z, h[j]);
        const int32_t zn = bk__mul_q15(32767 - z, n);
        h[j] = (int16_t)bk__sat16(zn + zh);
    }
    return BK_OK;
}
