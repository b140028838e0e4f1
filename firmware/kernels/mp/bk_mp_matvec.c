/* Packed (2 / 4 / 8-bit) matrix-vector core of the mixed-precision kernels.
 *
 * DSP path, sub-byte rows: one LDR brings 8 (4-bit) or 16 (2-bit) weights. The weights are not
 * unpacked to bytes: masking keeps one weight per byte in the byte's top bits,
 *     4 bits: lo = (v << 4) & 0xF0F0F0F0 (elements 0 2 4 6), hi = v & 0xF0F0F0F0 (1 3 5 7)
 *     2 bits: p_j = (v << (6 - 2j)) & 0xC0C0C0C0 (elements j, 4 + j, 8 + j, 12 + j)
 * and SXTB16 / SXTB16 ROR 8 turn each masked word into two int16 lanes holding w * 2^(8 - bits),
 * ready for SMLAD against the input widened in the matching lane order (bk__mp_expand_*). The
 * accumulator is w * 2^(8 - bits) * x summed; one arithmetic shift at the end restores the dot
 * product exactly (every term is a multiple of 2^(8 - bits); gru_int.check_genome refuses shapes
 * whose scaled sum could overflow). Two rows share each input word.
 * 8-bit rows use the int8 core (bk__matvec_s16) unchanged. */
#include "bk_mp_support.h"

static inline int32_t bk__mp_pad(int32_t n, int32_t bits)
{
    const int32_t g = bits == 4 ? 8 : 16;
    return ((n + g - 1) / g) * g;
}

#if BK_DSP

/* lane order of one group: position of the input element that goes to halfword i */
static const uint8_t bk__ord4[8] = {0, 4, 2, 6, 1, 5, 3, 7};
static const uint8_t bk__ord2[16] = {0, 8, 4, 12, 1, 9, 5, 13, 2, 10, 6, 14, 3, 11, 7, 15};

static void bk__mp_order(const int16_t *nat, int32_t n, int32_t bits, int16_t *out)
{
    const int32_t g = bits == 4 ? 8 : 16;
    const uint8_t *ord = bits == 4 ? bk__ord4 : bk__ord2;
    const int32_t padded = bk__mp_pad(n, bits);
    for (int32_t base = 0; base < padded; base += g) {
        for (int32_t i = 0; i < g; i++) {
            const int32_t k = base + ord[i];
            out[base + i] = k < n ? nat[k] : 0;
        }
    }
}

void bk__mp_expand_s8(const int8_t *in, int32_t n, int32_t offset, int32_t bits, int16_t *out)
{
    if (bits == 8) {
        bk__expand_s8(in, n, offset, out);
        return;
    }
    /* natural order with the offset folded in, into the tail of the buffer, then reordered */
    int16_t tmp[16];
    const int32_t g = bits == 4 ? 8 : 16;
    const uint8_t *ord = bits == 4 ? bk__ord4 : bk__ord2;
    const int32_t padded = bk__mp_pad(n, bits);
    for (int32_t base = 0; base < padded; base += g) {
        for (int32_t i = 0; i < g; i++) {
            const int32_t k = base + i;
            tmp[i] = (int16_t)(k < n ? in[k] + offset : 0);
        }
        for (int32_t i = 0; i < g; i++) {
            out[base + i] = tmp[ord[i]];
        }
    }
}

void bk__mp_expand_s16(const int16_t *in, int32_t n, int32_t bits, int16_t *out)
{
    if (bits == 8) {
        bk__expand_s16(in, n, out);
        return;
    }
    bk__mp_order(in, n, bits, out);
}

#if !defined(BK_DSP_EMULATED)
/* 4 bits, one group of 8 inputs for 2 rows: (x0,x4) (x2,x6) first, both rows' even elements,
 * then (x1,x5) (x3,x7) and the odd elements. 2 LDRD + 2 LDR + 4 AND + 8 SXTB16 + 8 SMLAD. */
#define BK__W4_GROUP                                  \
    "ldr    %[v0], [%[w0]], #4\n\t"                   \
    "ldr    %[v1], [%[w1]], #4\n\t"                   \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t"             \
    "and    %[t], %[m], %[v0], lsl #4\n\t"            \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a0], %[u], %[xa], %[a0]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a0], %[t], %[xb], %[a0]\n\t"            \
    "and    %[t], %[m], %[v1], lsl #4\n\t"            \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a1], %[u], %[xa], %[a1]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a1], %[t], %[xb], %[a1]\n\t"            \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t"             \
    "and    %[t], %[m], %[v0]\n\t"                    \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a0], %[u], %[xa], %[a0]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a0], %[t], %[xb], %[a0]\n\t"            \
    "and    %[t], %[m], %[v1]\n\t"                    \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a1], %[u], %[xa], %[a1]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a1], %[t], %[xb], %[a1]\n\t"

/* 2 bits, one group of 16 inputs for 2 rows: per part j (elements j, 4+j, 8+j, 12+j) one LDRD of
 * the input pair and per row AND (shifted), SXTB16, SMLAD, SXTB16 ROR 8, SMLAD. */
#define BK__W2_PART_ASM(SH)                           \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t"             \
    "and    %[t], %[m], %[v0]" SH "\n\t"              \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a0], %[u], %[xa], %[a0]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a0], %[t], %[xb], %[a0]\n\t"            \
    "and    %[t], %[m], %[v1]" SH "\n\t"              \
    "sxtb16 %[u], %[t]\n\t"                           \
    "smlad  %[a1], %[u], %[xa], %[a1]\n\t"            \
    "sxtb16 %[t], %[t], ror #8\n\t"                   \
    "smlad  %[a1], %[t], %[xb], %[a1]\n\t"
#define BK__W2_GROUP                                  \
    "ldr    %[v0], [%[w0]], #4\n\t"                   \
    "ldr    %[v1], [%[w1]], #4\n\t"                   \
    BK__W2_PART_ASM(", lsl #6") BK__W2_PART_ASM(", lsl #4") BK__W2_PART_ASM(", lsl #2") BK__W2_PART_ASM("")

#define BK__DOT2_ASM(GROUP, MASK)                                                              \
    uint32_t v0, v1, xa, xb, t, u;                                                             \
    const uint32_t *x = (const uint32_t *)(const void *)xe;                                    \
    const uint32_t m = MASK;                                                                   \
    int32_t n = words;                                                                         \
    __asm volatile("1:\n\t" GROUP                                                              \
                   "subs   %[n], %[n], #1\n\t"                                                 \
                   "bne    1b\n\t"                                                             \
                   : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(w0), [w1] "+r"(w1), [x] "+r"(x),   \
                     [n] "+r"(n), [v0] "=&r"(v0), [v1] "=&r"(v1), [xa] "=&r"(xa),              \
                     [xb] "=&r"(xb), [t] "=&r"(t), [u] "=&r"(u)                                \
                   : [m] "r"(m)                                                                \
                   : "cc", "memory")
#endif

/* Two rows of 4-bit weights against the widened input; words >= 1. */
static __attribute__((noinline)) void bk__dot2_w4(const int16_t *xe, const uint8_t *w0, const uint8_t *w1,
                                                  int32_t words, int32_t acc[2])
{
    int32_t a0 = 0, a1 = 0;
#if defined(BK_DSP_EMULATED)
    const uint32_t *x = (const uint32_t *)(const void *)xe;
    while (words-- > 0) {
        const uint32_t xa = x[0], xb = x[1], xc = x[2], xd = x[3];
        x += 4;
        uint32_t v = bk__read_u32(w0), lo = (v << 4) & 0xF0F0F0F0u, hi = v & 0xF0F0F0F0u;
        w0 += 4;
        a0 = bk__smlad(bk__sxtb16(lo), xa, a0);
        a0 = bk__smlad(bk__sxtb16_ror8(lo), xb, a0);
        a0 = bk__smlad(bk__sxtb16(hi), xc, a0);
        a0 = bk__smlad(bk__sxtb16_ror8(hi), xd, a0);
        v = bk__read_u32(w1);
        lo = (v << 4) & 0xF0F0F0F0u;
        hi = v & 0xF0F0F0F0u;
        w1 += 4;
        a1 = bk__smlad(bk__sxtb16(lo), xa, a1);
        a1 = bk__smlad(bk__sxtb16_ror8(lo), xb, a1);
        a1 = bk__smlad(bk__sxtb16(hi), xc, a1);
        a1 = bk__smlad(bk__sxtb16_ror8(hi), xd, a1);
    }
#else
    BK__DOT2_ASM(BK__W4_GROUP, 0xF0F0F0F0u);
#endif
    acc[0] = a0 >> 4;
    acc[1] = a1 >> 4;
}

static __attribute__((noinline)) int32_t bk__dot1_w4(const int16_t *xe, const uint8_t *w0, int32_t words)
{
    int32_t a0 = 0;
    const uint32_t *x = (const uint32_t *)(const void *)xe;
    while (words-- > 0) {
        const uint32_t v = bk__read_u32(w0), lo = (v << 4) & 0xF0F0F0F0u, hi = v & 0xF0F0F0F0u;
        w0 += 4;
        a0 = bk__smlad(bk__sxtb16(lo), x[0], a0);
        a0 = bk__smlad(bk__sxtb16_ror8(lo), x[1], a0);
        a0 = bk__smlad(bk__sxtb16(hi), x[2], a0);
        a0 = bk__smlad(bk__sxtb16_ror8(hi), x[3], a0);
        x += 4;
    }
    return a0 >> 4;
}

#define BK__W2_PART(v, s, a, xl, xh)                                \
    do {                                                             \
        const uint32_t p_ = ((v) << (s)) & 0xC0C0C0C0u;              \
        a = bk__smlad(bk__sxtb16(p_), xl, a);                        \
        a = bk__smlad(bk__sxtb16_ror8(p_), xh, a);                   \
    } while (0)

/* Two rows of 2-bit weights; words >= 1. */
static __attribute__((noinline)) void bk__dot2_w2(const int16_t *xe, const uint8_t *w0, const uint8_t *w1,
                                                  int32_t words, int32_t acc[2])
{
    int32_t a0 = 0, a1 = 0;
#if defined(BK_DSP_EMULATED)
    const uint32_t *x = (const uint32_t *)(const void *)xe;
    while (words-- > 0) {
        const uint32_t v0 = bk__read_u32(w0), v1 = bk__read_u32(w1);
        w0 += 4;
        w1 += 4;
        uint32_t xl = x[0], xh = x[1];
        BK__W2_PART(v0, 6, a0, xl, xh);
        BK__W2_PART(v1, 6, a1, xl, xh);
        xl = x[2];
        xh = x[3];
        BK__W2_PART(v0, 4, a0, xl, xh);
        BK__W2_PART(v1, 4, a1, xl, xh);
        xl = x[4];
        xh = x[5];
        BK__W2_PART(v0, 2, a0, xl, xh);
        BK__W2_PART(v1, 2, a1, xl, xh);
        xl = x[6];
        xh = x[7];
        BK__W2_PART(v0, 0, a0, xl, xh);
        BK__W2_PART(v1, 0, a1, xl, xh);
        x += 8;
    }
#else
    BK__DOT2_ASM(BK__W2_GROUP, 0xC0C0C0C0u);
#endif
    acc[0] = a0 >> 6;
    acc[1] = a1 >> 6;
}

static __attribute__((noinline)) int32_t bk__dot1_w2(const int16_t *xe, const uint8_t *w0, int32_t words)
{
    int32_t a0 = 0;
    const uint32_t *x = (const uint32_t *)(const void *)xe;
    while (words-- > 0) {
        const uint32_t v0 = bk__read_u32(w0);
        w0 += 4;
        BK__W2_PART(v0, 6, a0, x[0], x[1]);
        BK__W2_PART(v0, 4, a0, x[2], x[3]);
        BK__W2_PART(v0, 2, a0, x[4], x[5]);
        BK__W2_PART(v0, 0, a0, x[6], x[7]);
        x += 8;
    }
    return a0 >> 6;
}

void bk__mp_matvec(const int16_t *xe, const uint8_t *w, int32_t bits, int32_t rows, int32_t cols,
                   const bk__mp_out_t *o, int16_t *out)
{
    if (bits == 8) {
        const bk__out_t o8 = {o->bias, o->multiplier, o->shift, o->offset, o->act_min, o->act_max};
        bk__matvec_s16(xe, (const int8_t *)(const void *)w, rows, cols, &o8, out);
        return;
    }
    const size_t rb = BK_MP_ROW_BYTES(cols, bits);
    const int32_t words = (int32_t)(rb / 4u);
    int32_t r = 0;
    int32_t acc[2];
    for (; r + 2 <= rows; r += 2) {
        const uint8_t *w0 = w + (size_t)r * rb;
        if (bits == 4) {
            bk__dot2_w4(xe, w0, w0 + rb, words, acc);
        } else {
            bk__dot2_w2(xe, w0, w0 + rb, words, acc);
        }
        for (int i = 0; i < 2; i++) {
            const int32_t a = o->bias != NULL ? bk_add_wrap(acc[i], o->bias[r + i]) : acc[i];
            out[r + i] = (int16_t)bk_fc_out(a, o->multiplier[r + i], o->shift[r + i], o->offset,
                                            o->act_min, o->act_max);
        }
    }
    for (; r < rows; r++) {
        const uint8_t *w0 = w + (size_t)r * rb;
        int32_t a = bits == 4 ? bk__dot1_w4(xe, w0, words) : bk__dot1_w2(xe, w0, words);
        if (o->bias != NULL) {
            a = bk_add_wrap(a, o->bias[r]);
        }
        out[r] = (int16_t)bk_fc_out(a, o->multiplier[r], o->shift[r], o->offset, o->act_min, o->act_max);
    }
}

#else /* reference path: natural order, weights unpacked one at a time with shifts */

void bk__mp_expand_s8(const int8_t *in, int32_t n, int32_t offset, int32_t bits, int16_t *out)
{
    (void)bits;
    for (int32_t k = 0; k < n; k++) {
        out[k] = (int16_t)(in[k] + offset);
    }
}

void bk__mp_expand_s16(const int16_t *in, int32_t n, int32_t bits, int16_t *out)
{
    (void)bits;
    for (int32_t k = 0; k < n; k++) {
        out[k] = in[k];
    }
}

static inline int32_t bk__mp_weight(const uint8_t *row, int32_t k, int32_t bits)
{
    if (bits == 8) {
        return (int8_t)row[k];
    }
    if (bits == 4) {
        const uint32_t b = row[k >> 1];
        return (int8_t)(uint8_t)(b << (4 - 4 * (k & 1))) >> 4;
    }
    const uint32_t b = row[k >> 2];
    return (int8_t)(uint8_t)(b << (6 - 2 * (k & 3))) >> 6;
}

void bk__mp_matvec(const int16_t *xe, const uint8_t *w, int32_t bits, int32_t rows, int32_t cols,
                   const bk__mp_out_t *o, int16_t *out)
{
    const size_t rb = BK_MP_ROW_BYTES(cols, bits);
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * rb;
        int32_t acc = o->bias != NULL ? o->bias[r] : 0;
        for (int32_t k = 0; k < cols; k++) {
            acc = bk_add_wrap(acc, bk__mp_weight(row, k, bits) * xe[k]);
        }
        out[r] = (int16_t)bk_fc_out(acc, o->multiplier[r], o->shift[r], o->offset, o->act_min, o->act_max);
    }
}
#endif
