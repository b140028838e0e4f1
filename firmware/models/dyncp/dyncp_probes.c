/* Linear mask probes: see dyncp_probes.h. Cost per frame: n_probes loads and adds per set
 * bit, plus one count-trailing-zeros per set bit (RBIT + CLZ on the Cortex-M4). */
#include "dyncp_probes.h"

#if defined(__GNUC__)
#define DP_CTZ(w) ((uint32_t)__builtin_ctz(w))
#else
/* Portable fallback (w != 0): index of the lowest set bit by de Bruijn multiplication. */
static uint32_t dp_ctz(uint32_t w)
{
    static const uint8_t pos[32] = {0,  1,  28, 2,  29, 14, 24, 3,  30, 22, 20, 15, 25, 17, 4,  8,
                                    31, 27, 13, 23, 21, 19, 16, 7,  26, 12, 18, 6,  11, 5,  10, 9};
    return pos[((w & (0u - w)) * 0x077CB531u) >> 27];
}
#define DP_CTZ(w) dp_ctz(w)
#endif

#if defined(__GNUC__)
#define DP_INLINE static inline __attribute__((always_inline))
#else
#define DP_INLINE static inline
#endif

/* The score sum of one frame's mask words over the weight rows from ``weights`` on (p and the
 * pointers checked by the caller): ``init`` starts from the bias (a frame's own bits), otherwise
 * from ``scores`` (an earlier frame's bits added, dyncp_probes_add_lag). Always inlined with a
 * constant ``init``: neither entry point tests it at run time, and there is one loop to keep. */
DP_INLINE int32_t dp_sum(const dyncp_probes_t *p, const int16_t *weights, const uint32_t *mask_words,
                         int32_t *scores, int init)
{
    const uint32_t n_probes = p->n_probes;
    const uint32_t n_ch = p->n_channels;
    const uint32_t n_words = (n_ch + 31u) / 32u;
    const uint32_t tail = n_ch & 31u; /* channels in a block's last word, 0 = 32 */
    const uint32_t tail_mask = tail ? ((1u << tail) - 1u) : 0xFFFFFFFFu;
    if (init) {
        for (uint32_t k = 0; k < n_probes; ++k) {
            scores[k] = p->bias[k];
        }
    }
    const uint32_t *wp = mask_words;
    if (n_probes == 10u) {
        /* the shipped probe set: ten accumulators in registers, one row of loads per set bit */
        int32_t a0 = scores[0], a1 = scores[1], a2 = scores[2], a3 = scores[3], a4 = scores[4];
        int32_t a5 = scores[5], a6 = scores[6], a7 = scores[7], a8 = scores[8], a9 = scores[9];
        for (uint32_t b = 0; b < p->n_blocks; ++b) {
            for (uint32_t j = 0; j < n_words; ++j) {
                uint32_t w = *wp++;
                if (j + 1u == n_words) {
                    w &= tail_mask;
                }
                const int16_t *base = weights + (b * n_ch + 32u * j) * 10u;
                while (w != 0u) {
                    const int16_t *r = base + DP_CTZ(w) * 10u;
                    a0 += r[0];
                    a1 += r[1];
                    a2 += r[2];
                    a3 += r[3];
                    a4 += r[4];
                    a5 += r[5];
                    a6 += r[6];
                    a7 += r[7];
                    a8 += r[8];
                    a9 += r[9];
                    w &= w - 1u;
                }
            }
        }
        scores[0] = a0;
        scores[1] = a1;
        scores[2] = a2;
        scores[3] = a3;
        scores[4] = a4;
        scores[5] = a5;
        scores[6] = a6;
        scores[7] = a7;
        scores[8] = a8;
        scores[9] = a9;
        return 0;
    }
    for (uint32_t b = 0; b < p->n_blocks; ++b) {
        for (uint32_t j = 0; j < n_words; ++j) {
            uint32_t w = *wp++;
            if (j + 1u == n_words) {
                w &= tail_mask;
            }
            /* first weight row of this word's bit 0: bit (b * C + 32 j) */
            const int16_t *base = weights + (b * n_ch + 32u * j) * n_probes;
            while (w != 0u) {
                const int16_t *row = base + DP_CTZ(w) * n_probes;
                for (uint32_t k = 0; k < n_probes; ++k) {
                    scores[k] += row[k];
                }
                w &= w - 1u; /* clear the lowest set bit */
            }
        }
    }
    return 0;
}

DP_INLINE int dp_bad(const dyncp_probes_t *p, const uint32_t *mask_words, const int32_t *scores)
{
    return p == 0 || mask_words == 0 || scores == 0 || p->weights == 0 || p->bias == 0 || p->n_blocks == 0 ||
           p->n_channels == 0 || p->n_probes == 0;
}

int32_t dyncp_probes_scores(const dyncp_probes_t *p, const uint32_t *mask_words, int32_t *scores)
{
    if (dp_bad(p, mask_words, scores)) {
        return -1;
    }
    return dp_sum(p, p->weights, mask_words, scores, 1);
}

int32_t dyncp_probes_add_lag(const dyncp_probes_t *p, uint32_t lag, const uint32_t *mask_words, int32_t *scores)
{
    if (dp_bad(p, mask_words, scores) || lag == 0u) {
        return -1;
    }
    const uint32_t n_bits = (uint32_t)p->n_blocks * p->n_channels;
    return dp_sum(p, p->weights + lag * n_bits * p->n_probes, mask_words, scores, 0);
}
