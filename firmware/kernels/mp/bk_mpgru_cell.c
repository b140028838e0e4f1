/* One timestep of the mixed-precision integer GRU (gru_int.gru_cell_int with a GruGenome):
 * the bk_gru_cell_s8 cell with per-gate packed weights of 2 / 4 / 8 bits, narrow biases
 * (q << shift) and every activation operator narrowed to its own width (gru_int's fq_pow2:
 * round, saturate, keep the Q format). Widths of 16 leave a value as bk_gru_cell_s8 computes it. */
#include "bk_mp_support.h"

#define BK_Q15_MULT (1 << 30)
#define BK_Q15_SHIFT (-14)

static inline int32_t bk__mp_mul_q15(int32_t a, int32_t b)
{
    return bk__sat16(bk_mbqm(a * b, BK_Q15_MULT, BK_Q15_SHIFT));
}

static void bk__mp_bias(const bk_mp_matrix_t *m, int32_t n, int32_t *out)
{
    const uint32_t s = (uint32_t)m->bias_shift;
    if (m->bias_bits == 8) {
        const int8_t *b = (const int8_t *)m->bias;
        for (int32_t j = 0; j < n; j++) {
            out[j] = (int32_t)((uint32_t)b[j] << s);
        }
    } else if (m->bias_bits == 16) {
        const int16_t *b = (const int16_t *)m->bias;
        for (int32_t j = 0; j < n; j++) {
            out[j] = (int32_t)((uint32_t)b[j] << s);
        }
    } else {
        const int32_t *b = (const int32_t *)m->bias;
        for (int32_t j = 0; j < n; j++) {
            out[j] = (int32_t)((uint32_t)b[j] << s);
        }
    }
}

static int bk__mp_matrix_ok(const bk_mp_matrix_t *m)
{
    return bk__mp_bits_ok(m->bits) &&
           (m->bias_bits == 8 || m->bias_bits == 16 || m->bias_bits == 32) && m->bias_shift >= 0 &&
           m->bias_shift <= 31;
}

bk_status_t bk_mpgru_cell(const bk_mpgru_params_t *p, const int8_t *x, int16_t *h,
                          void *scratch, size_t scratch_bytes)
{
    if (p == NULL || x == NULL || h == NULL) {
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
    for (int i = 0; i < 6; i++) {
        const bk_mp_matrix_t *m = &p->m[i];
        if (m->weights == NULL || m->mult == NULL || m->shift == NULL) {
            return BK_ERR_NULL;
        }
        if (!bk__mp_matrix_ok(m)) {
            return BK_ERR_PARAM;
        }
    }
    for (int i = 0; i < 10; i++) {
        if (p->act_bits[i] < 2 || p->act_bits[i] > 16) {
            return BK_ERR_PARAM;
        }
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_MPGRU_SCRATCH_BYTES(is, hs))) {
        return BK_ERR_SCRATCH;
    }
    int16_t *gx = (int16_t *)scratch;          /* 3H */
    int16_t *gh = gx + 3 * hs;                 /* 3H */
    int32_t *b32 = (int32_t *)(void *)(gh + 3 * hs); /* H (12H bytes in: aligned) */
    int16_t *xe = (int16_t *)(void *)(b32 + hs);

    /* the six matmuls: the input widened once per weight layout (x side, then h side) */
    int32_t layout = -1;
    for (int i = 0; i < 6; i++) {
        const bk_mp_matrix_t *m = &p->m[i];
        const int side_h = i >= 3;
        if (i == 3) {
            layout = -1;
        }
        if (layout < 0 || !bk__mp_same_layout(layout, m->bits)) {
            if (side_h) {
                bk__mp_expand_s16(h, hs, m->bits, xe);
            } else {
                bk__mp_expand_s8(x, is, p->input_offset, m->bits, xe);
            }
            layout = m->bits;
        }
        const int32_t *bias = NULL;
        if (m->bias != NULL) {
            bk__mp_bias(m, hs, b32);
            bias = b32;
        }
        const bk__mp_out_t o = {bias, m->mult, m->shift, 0, -32768, 32767};
        bk__mp_matvec(xe, (const uint8_t *)m->weights, m->bits, hs, side_h ? hs : is, &o,
                      (side_h ? gh : gx) + (i % 3) * hs);
    }

    const int32_t k_pre_r = 16 - p->act_bits[0], k_pre_z = 16 - p->act_bits[1];
    const int32_t k_r = 16 - p->act_bits[2], k_z = 16 - p->act_bits[3], k_rh = 16 - p->act_bits[4];
    const int32_t k_pre_n = 16 - p->act_bits[5], k_n = 16 - p->act_bits[6], k_zh = 16 - p->act_bits[7];
    const int32_t k_zn = 16 - p->act_bits[8], k_h = 16 - p->act_bits[9];
    const int16_t *gx_r = gx, *gx_z = gx + hs, *gx_n = gx + 2 * hs;
    const int16_t *gh_r = gh, *gh_z = gh + hs, *gh_n = gh + 2 * hs;
    for (int32_t j = 0; j < hs; j++) {
        const int32_t pre_r = bk__fq(bk__sat16(gx_r[j] + gh_r[j]), k_pre_r);
        const int32_t pre_z = bk__fq(bk__sat16(gx_z[j] + gh_z[j]), k_pre_z);
        const int32_t r = bk__fq(bk__sigmoid_one(3 * pre_r), k_r);
        const int32_t z = bk__fq(bk__sigmoid_one(3 * pre_z), k_z);
        const int32_t rh = bk__fq(bk__mp_mul_q15(r, gh_n[j]), k_rh);
        const int32_t pre_n = bk__fq(bk__sat16(gx_n[j] + rh), k_pre_n);
        const int32_t n = bk__fq(bk__tanh_one(3 * pre_n), k_n);
        const int32_t zh = bk__fq(bk__mp_mul_q15(z, h[j]), k_zh);
        const int32_t zn = bk__fq(bk__mp_mul_q15(32767 - z, n), k_zn);
        h[j] = (int16_t)bk__fq(bk__sat16(zn + zh), k_h);
    }
    return BK_OK;
}
