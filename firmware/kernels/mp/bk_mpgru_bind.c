/* The table blob of the mixed-precision GRU (gru_int.mp_blob) -> bk_mpgru_params_t. */
#include "bk_mp_support.h"

#define BK_MP_MAGIC 0x3147504Du
#define BK_MP_HEADER_WORDS (6u + 5u * 6u)

static int bk__mp_span_ok(uint32_t off, size_t bytes, size_t total, uint32_t align)
{
    return off % align == 0u && (size_t)off >= BK_MP_HEADER_WORDS * 4u && (size_t)off <= total &&
           bytes <= total - (size_t)off;
}

bk_status_t bk_mpgru_bind(const uint32_t *blob, size_t words, bk_mpgru_params_t *p)
{
    if (blob == NULL || p == NULL) {
        return BK_ERR_NULL;
    }
    if (words < BK_MP_HEADER_WORDS || blob[0] != BK_MP_MAGIC) {
        return BK_ERR_PARAM;
    }
    const size_t total = words * 4u;
    const int32_t is = (int32_t)(blob[1] & 0xFFFFu), hs = (int32_t)(blob[1] >> 16);
    if (is < 1 || hs < 1) {
        return BK_ERR_SIZE;
    }
    p->input_size = is;
    p->hidden_size = hs;
    p->input_offset = (int32_t)blob[2];
    if (p->input_offset < -128 || p->input_offset > 128) {
        return BK_ERR_PARAM;
    }
    const uint8_t *acts = (const uint8_t *)(const void *)(blob + 3);
    for (int i = 0; i < 10; i++) {
        if (acts[i] < 2 || acts[i] > 16) {
            return BK_ERR_PARAM;
        }
        p->act_bits[i] = acts[i];
    }
    const uint8_t *base = (const uint8_t *)(const void *)blob;
    for (int i = 0; i < 6; i++) {
        const uint32_t *d = blob + 6 + 5 * i;
        bk_mp_matrix_t *m = &p->m[i];
        m->bits = (int32_t)(d[0] & 0xFFu);
        m->bias_bits = (int32_t)((d[0] >> 8) & 0xFFu);
        m->bias_shift = (int32_t)((d[0] >> 16) & 0xFFu);
        if (!bk__mp_bits_ok(m->bits) ||
            (m->bias_bits != 8 && m->bias_bits != 16 && m->bias_bits != 32) || m->bias_shift > 31) {
            return BK_ERR_PARAM;
        }
        const int32_t cols = i < 3 ? is : hs;
        const size_t n = (size_t)hs;
        if (!bk__mp_span_ok(d[1], n * BK_MP_ROW_BYTES(cols, m->bits), total, 4u) ||
            !bk__mp_span_ok(d[2], n * (size_t)(m->bias_bits / 8), total, 4u) ||
            !bk__mp_span_ok(d[3], n * 4u, total, 4u) || !bk__mp_span_ok(d[4], n * 4u, total, 4u)) {
            return BK_ERR_PARAM;
        }
        m->weights = base + d[1];
        m->bias = base + d[2];
        m->mult = (const int32_t *)(const void *)(base + d[3]);
        m->shift = (const int32_t *)(const void *)(base + d[4]);
    }
    return BK_OK;
}
