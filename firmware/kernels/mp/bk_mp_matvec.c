/* Packed (2..8-bit) matrix-vector core of the mixed-precision kernels.
 *
 * DSP path, sub-byte rows: one LDR brings 8 (4-bit) or 16 (2-bit) weights of a top plane. The
 * weights are not unpacked to bytes: masking keeps one weight per byte in the byte's top bits,
 *     4 bits: lo = (v << 4) & 0xF0F0F0F0 (elements 0 2 4 6), hi = v & 0xF0F0F0F0 (1 3 5 7)
 *     2 bits: p_j = (v << (6 - 2j)) & 0xC0C0C0C0 (elements j, 4 + j, 8 + j, 12 + j)
 * and SXTB16 / SXTB16 ROR 8 turn each masked word into two int16 lanes holding w * 2^(8 - bits),
 * ready for SMLAD against the input widened in the matching lane order (bk__mp_expand_*). The
 * accumulator is w * 2^(8 - bits) * x summed; one arithmetic shift at the end restores the dot
 * product exactly (every term is a multiple of 2^(8 - bits); gru_int.check_genome refuses shapes
 * whose scaled sum could overflow; partial sums wrap modulo 2^32 and come back). Two rows share
 * each input word.
 * 3, 5, 6, 7 bits: the top plane (w >> L, 2 or 4 bits) as above puts w_top * 2^L * 2^(8 - bits)
 * in the lanes; each unsigned low plane (bits o..o+L-1 of w) is stored in lane order, so one
 * shift-and-AND with (mask << p) * 0x00010001 (p = o + 8 - bits) lifts two lanes already scaled
 * by 2^(o + 8 - bits), and one more (of v >> 8) the other two: 2 ANDs + 2 SMLADs per 4 weights, no
 * sign extension (the low planes are unsigned), into the same accumulator.
 * 8-bit rows use the int8 core (bk__matvec_s16) unchanged. */
#include "bk_mp_support.h"


#if BK_DSP

/* lane order of one group: position of the input element that goes to halfword i */
static const uint8_t bk__ord4[8] = {0, 4, 2, 6, 1, 5, 3, 7};
static const uint8_t bk__ord2[16] = {0, 8, 4, 12, 1, 9, 5, 13, 2, 10, 6, 14, 3, 11, 7, 15};

static void bk__mp_order(const int16_t *nat, int32_t n, int32_t bits, int16_t *out)
{
    const int32_t g = bk__mp_top_bits(bits) == 4 ? 8 : 16;
    const uint8_t *ord = g == 8 ? bk__ord4 : bk__ord2;
    const int32_t padded = BK_MP_PAD(n, bits);
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
    const int32_t g = bk__mp_top_bits(bits) == 4 ? 8 : 16;
    const uint8_t *ord = g == 8 ? bk__ord4 : bk__ord2;
    const int32_t padded = BK_MP_PAD(n, bits);
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

/* Two rows of 4-bit weights against the widened input; words >= 1. Raw accumulators (x 16). */
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
    acc[0] = a0;
    acc[1] = a1;
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
    return a0;
}

#define BK__W2_PART(v, s, a, xl, xh)                                \
    do {                                                             \
        const uint32_t p_ = ((v) << (s)) & 0xC0C0C0C0u;              \
        a = bk__smlad(bk__sxtb16(p_), xl, a);                        \
        a = bk__smlad(bk__sxtb16_ror8(p_), xh, a);                   \
    } while (0)

/* Two rows of 2-bit weights; words >= 1. Raw accumulators (x 64). */
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
    acc[0] = a0;
    acc[1] = a1;
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
    return a0;
}

static inline uint32_t bk__mp_shv(uint32_t v, int32_t s)
{
    return s >= 0 ? v << s : v >> -s;
}

/* One unsigned low plane of `lb` bits (lane order, 32 / lb weights per word) lifted to bit `p` of
 * each lane, two rows, added to acc; words >= 1. Specialised below for each (lb, p) in use. */
static inline __attribute__((always_inline)) void bk__dot2_low(const int16_t *xe, const uint8_t *w0,
                                                               const uint8_t *w1, int32_t words,
                                                               const int32_t lb, const int32_t p,
                                                               int32_t acc[2])
{
    uint32_t m = (((1u << lb) - 1u) << p) * 0x00010001u;
#if !defined(BK_DSP_EMULATED)
    __asm("" : "+r"(m)); /* the mask in a register: AND with a shifted operand is one instruction */
#endif
    const uint32_t *x = (const uint32_t *)(const void *)xe;
    int32_t a0 = acc[0], a1 = acc[1];
    while (words-- > 0) {
        const uint32_t v0 = bk__read_u32(w0), v1 = bk__read_u32(w1);
        w0 += 4;
        w1 += 4;
#pragma GCC unroll 8
        for (int32_t j = 0; j < 8 / lb; j++) {
            const uint32_t xl = x[2 * j], xh = x[2 * j + 1];
            const int32_t s = p - lb * j; /* slot j of bytes 0, 2 to bit p; of bytes 1, 3: s - 8 */
            a0 = bk__smlad(bk__mp_shv(v0, s) & m, xl, a0);
            a0 = bk__smlad(bk__mp_shv(v0, s - 8) & m, xh, a0);
            a1 = bk__smlad(bk__mp_shv(v1, s) & m, xl, a1);
            a1 = bk__smlad(bk__mp_shv(v1, s - 8) & m, xh, a1);
        }
        x += 16 / lb;
    }
    acc[0] = a0;
    acc[1] = a1;
}

#define BK__LOW_FN(NAME, LB, P)                                                                    \
    static __attribute__((noinline)) void NAME(const int16_t *xe, const uint8_t *w0, const uint8_t *w1, \
                                               int32_t words, int32_t acc[2])                       \
    {                                                                                              \
        bk__dot2_low(xe, w0, w1, words, LB, P, acc);                                               \
    }
BK__LOW_FN(bk__low_l1p5, 1, 5) /* 3 bits: bit 0 */
BK__LOW_FN(bk__low_l1p3, 1, 3) /* 5 bits: bit 0 */
BK__LOW_FN(bk__low_l2p2, 2, 2) /* 6 bits: bits 0..1; 7 bits: bits 1..2 */
BK__LOW_FN(bk__low_l1p1, 1, 1) /* 7 bits: bit 0 */

/* acc[0..1] = two rows' (row0, row1; equal for a lone last row) scaled dot products. */
static void bk__mp_dot2(const int16_t *xe, const uint8_t *r0, const uint8_t *r1, int32_t bits, int32_t pad,
                        int32_t acc[2])
{
    const int32_t top = bk__mp_top_bits(bits);
    const int32_t tw = pad * top / 32;
    if (top == 4) {
        bk__dot2_w4(xe, r0, r1, tw, acc);
    } else {
        bk__dot2_w2(xe, r0, r1, tw, acc);
    }
    const size_t at = (size_t)tw * 4u;
    switch (bits) {
    case 3:
        bk__low_l1p5(xe, r0 + at, r1 + at, pad / 32, acc);
        break;
    case 5:
        bk__low_l1p3(xe, r0 + at, r1 + at, pad / 32, acc);
        break;
    case 6:
        bk__low_l2p2(xe, r0 + at, r1 + at, pad / 16, acc);
        break;
    case 7:
        bk__low_l2p2(xe, r0 + at, r1 + at, pad / 16, acc);
        bk__low_l1p1(xe, r0 + at + (size_t)pad / 4u, r1 + at + (size_t)pad / 4u, pad / 32, acc);
        break;
    default:
        break;
    }
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
    const int32_t pad = BK_MP_PAD(cols, bits);
    const int32_t scale = 8 - bits;
    int32_t r = 0;
    int32_t acc[2];
    for (; r + 2 <= rows; r += 2) {
        const uint8_t *w0 = w + (size_t)r * rb;
        if (bits == 4) {
            bk__dot2_w4(xe, w0, w0 + rb, (int32_t)(rb / 4u), acc);
        } else if (bits == 2) {
            bk__dot2_w2(xe, w0, w0 + rb, (int32_t)(rb / 4u), acc);
        } else {
            bk__mp_dot2(xe, w0, w0 + rb, bits, pad, acc);
        }
        for (int i = 0; i < 2; i++) {
            const int32_t d = acc[i] >> scale;
            const int32_t a = o->bias != NULL ? bk_add_wrap(d, o->bias[r + i]) : d;
            out[r + i] = (int16_t)bk_fc_out(a, o->multiplier[r + i], o->shift[r + i], o->offset,
                                            o->act_min, o->act_max);
        }
    }
    for (; r < rows; r++) {
        const uint8_t *w0 = w + (size_t)r * rb;
        int32_t a;
        if (bits == 4) {
            a = bk__dot1_w4(xe, w0, (int32_t)(rb / 4u));
        } else if (bits == 2) {
            a = bk__dot1_w2(xe, w0, (int32_t)(rb / 4u));
        } else {
            bk__mp_dot2(xe, w0, w0, bits, pad, acc);
            a = acc[0];
        }
        a >>= scale;
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

static inline int32_t bk__mp_top_weight(const uint8_t *row, int32_t k, int32_t top)
{
    if (top == 4) {
        const uint32_t b = row[k >> 1];
        return (int8_t)(uint8_t)(b << (4 - 4 * (k & 1))) >> 4;
    }
    const uint32_t b = row[k >> 2];
    return (int8_t)(uint8_t)(b << (6 - 2 * (k & 3))) >> 6;
}

/* Lane position of input k in the DSP path's order for a top plane of `top` bits: 4 bits, per 8
 * inputs (e = k % 8) 4 (e % 2) + 2 (e / 2 % 2) + e / 4; 2 bits, per 16, 4 (e % 4) + 2 (e / 4 % 2) + e / 8. */
static inline int32_t bk__mp_lane_pos(int32_t k, int32_t top)
{
    if (top == 4) {
        const int32_t e = k & 7;
        return (k & ~7) + 4 * (e & 1) + 2 * ((e >> 1) & 1) + (e >> 2);
    }
    const int32_t e = k & 15;
    return (k & ~15) + 4 * (e & 3) + 2 * ((e >> 2) & 1) + (e >> 3);
}

/* Bits `lb` of the unsigned low plane at lane position h. */
static inline int32_t bk__mp_low_bits(const uint8_t *plane, int32_t h, int32_t lb)
{
    static const uint8_t lane_byte[4] = {0, 2, 1, 3};
    const int32_t jp = h >> 2, per = 8 / lb;
    const uint32_t b = plane[4 * (jp / per) + lane_byte[h & 3]];
    return (int32_t)((b >> (lb * (jp % per))) & ((1u << lb) - 1u));
}

static inline int32_t bk__mp_weight(const uint8_t *row, int32_t k, int32_t bits, int32_t pad)
{
    if (bits == 8) {
        return (int8_t)row[k];
    }
    const int32_t top = bk__mp_top_bits(bits);
    int32_t w = bk__mp_top_weight(row, k, top) * (1 << (bits - top));
    if (bits == top) {
        return w;
    }
    const uint8_t *plane = row + pad * top / 8;
    const int32_t h = bk__mp_lane_pos(k, top);
    if (bits == 7) {
        w += bk__mp_low_bits(plane, h, 2) << 1;
        plane += pad / 4;
        return w + bk__mp_low_bits(plane, h, 1);
    }
    return w + bk__mp_low_bits(plane, h, bits == 6 ? 2 : 1);
}

void bk__mp_matvec(const int16_t *xe, const uint8_t *w, int32_t bits, int32_t rows, int32_t cols,
                   const bk__mp_out_t *o, int16_t *out)
{
    const size_t rb = BK_MP_ROW_BYTES(cols, bits);
    const int32_t pad = BK_MP_PAD(cols, bits);
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * rb;
        int32_t acc = o->bias != NULL ? o->bias[r] : 0;
        for (int32_t k = 0; k < cols; k++) {
            acc = bk_add_wrap(acc, bk__mp_weight(row, k, bits, pad) * xe[k]);
        }
        out[r] = (int16_t)bk_fc_out(acc, o->multiplier[r], o->shift[r], o->offset, o->act_min, o->act_max);
    }
}
#endif
