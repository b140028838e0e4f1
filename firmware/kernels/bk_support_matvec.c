/* DSP-path core shared by the fully connected kernels and the GRU: input widening into the
 * pair-interleaved int16 layout (see bk_support.h) and the matrix-vector product.
 *
 * Four output rows at a time: each pair of input words (x0, x2), (x1, x3) is loaded once and
 * used by four weight rows; per row and 4 inputs: one LDR of 4 weights, SXTB16,
 * SXTB16 ROR 8, two SMLADs. The inner loop is inline assembly because GCC 12 spills the 14
 * live registers of this loop (4 accumulators, 4 row pointers, input pointer, counter, 4
 * temporaries) to the stack when written with intrinsics; the instruction sequence is the
 * same as the intrinsics would give, without the spills. */
#include "bk_support.h"

#if BK_DSP

static inline void bk__write_u32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }

void bk__expand_s8(const int8_t *in, int32_t n, int32_t offset, int16_t *out)
{
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
    int32_t g = n >> 2;
    while (g-- > 0) {
        const uint32_t v = bk__read_u32(in);
        bk__write_u32(out, bk__sxtab16(off2, v));          /* (x0, x2) + offset */
        bk__write_u32(out + 2, bk__sxtab16_ror8(off2, v)); /* (x1, x3) + offset */
        in += 4;
        out += 4;
    }
    for (int32_t j = 0; j < (n & 3); j++) {
        out[j] = (int16_t)(in[j] + offset);
    }
}

void bk__expand_s16(const int16_t *in, int32_t n, int16_t *out)
{
    int32_t g = n >> 2;
    while (g-- > 0) {
        const uint32_t a = bk__read_u32(in);     /* (x0, x1) */
        const uint32_t b = bk__read_u32(in + 2); /* (x2, x3) */
        bk__write_u32(out, bk__pkhbt(a, b));     /* (x0, x2) */
        bk__write_u32(out + 2, bk__pkhtb(b, a)); /* (x1, x3) */
        in += 4;
        out += 4;
    }
    for (int32_t j = 0; j < (n & 3); j++) {
        out[j] = in[j];
    }
}

#if !defined(BK_DSP_EMULATED)
/* One group of 4 inputs for 4 rows: 1 LDRD + 4 x (LDR, SXTB16, SMLAD, SXTB16 ROR, SMLAD). */
#define BK__ROWS4_GROUP                          \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t"        \
    "ldr    %[v], [%[w0]], #4\n\t"               \
    "sxtb16 %[t], %[v]\n\t"                      \
    "smlad  %[a0], %[t], %[xa], %[a0]\n\t"       \
    "sxtb16 %[v], %[v], ror #8\n\t"              \
    "smlad  %[a0], %[v], %[xb], %[a0]\n\t"       \
    "ldr    %[v], [%[w1]], #4\n\t"               \
    "sxtb16 %[t], %[v]\n\t"                      \
    "smlad  %[a1], %[t], %[xa], %[a1]\n\t"       \
    "sxtb16 %[v], %[v], ror #8\n\t"              \
    "smlad  %[a1], %[v], %[xb], %[a1]\n\t"       \
    "ldr    %[v], [%[w2]], #4\n\t"               \
    "sxtb16 %[t], %[v]\n\t"                      \
    "smlad  %[a2], %[t], %[xa], %[a2]\n\t"       \
    "sxtb16 %[v], %[v], ror #8\n\t"              \
    "smlad  %[a2], %[v], %[xb], %[a2]\n\t"       \
    "ldr    %[v], [%[w3]], #4\n\t"               \
    "sxtb16 %[t], %[v]\n\t"                      \
    "smlad  %[a3], %[t], %[xa], %[a3]\n\t"       \
    "sxtb16 %[v], %[v], ror #8\n\t"              \
    "smlad  %[a3], %[v], %[xb], %[a3]\n\t"
#endif

/* What the 4-row blocks need besides the weights: the widened input and the output stage. */
typedef struct {
    const int16_t *xe;
    int32_t cols, groups;
    const bk__out_t *o;
} bk__mv_t;

/* Accumulate 4 rows (w, w + cols, w + 2 cols, w + 3 cols) against the widened input. Not
 * inlined: its loop needs 14 registers, which a caller's live values would not leave
 * (GCC then reports impossible asm constraints). */
static __attribute__((noinline)) void bk__dot4(const int16_t *x, const int8_t *w, int32_t cols, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w0 = w;
    const int8_t *w1 = w + cols;
    const int8_t *w2 = w1 + cols;
    const int8_t *w3 = w2 + cols;
#if defined(BK_DSP_EMULATED)
    for (int32_t g = 0; g < groups; g++) {
        const uint32_t xa = bk__read_u32(x), xb = bk__read_u32(x + 2);
        uint32_t v;
        x += 4;
        v = bk__read_u32(w0); w0 += 4;
        a0 = bk__smlad(bk__sxtb16(v), xa, a0); a0 = bk__smlad(bk__sxtb16_ror8(v), xb, a0);
        v = bk__read_u32(w1); w1 += 4;
        a1 = bk__smlad(bk__sxtb16(v), xa, a1); a1 = bk__smlad(bk__sxtb16_ror8(v), xb, a1);
        v = bk__read_u32(w2); w2 += 4;
        a2 = bk__smlad(bk__sxtb16(v), xa, a2); a2 = bk__smlad(bk__sxtb16_ror8(v), xb, a2);
        v = bk__read_u32(w3); w3 += 4;
        a3 = bk__smlad(bk__sxtb16(v), xa, a3); a3 = bk__smlad(bk__sxtb16_ror8(v), xb, a3);
    }
#else
    uint32_t xa, xb, v, t;
    int32_t pairs = groups >> 1;
    if (pairs > 0) {
        __asm volatile("1:\n\t" BK__ROWS4_GROUP BK__ROWS4_GROUP
                       "subs   %[n], %[n], #1\n\t"
                       "bne    1b\n\t"
                       : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                         [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),
                         [x] "+r"(x), [n] "+r"(pairs), [xa] "=&r"(xa), [xb] "=&r"(xb),
                         [v] "=&r"(v), [t] "=&r"(t)
                       :
                       : "cc", "memory");
    }
    if (groups & 1) {
        __asm volatile(BK__ROWS4_GROUP
                       : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                         [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),
                         [x] "+r"(x), [xa] "=&r"(xa), [xb] "=&r"(xb), [v] "=&r"(v), [t] "=&r"(t)
                       :
                       : "memory");
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static inline int32_t bk__dot1(const int16_t *x, const int8_t *w, int32_t groups, int32_t acc)
{
    for (int32_t g = 0; g < groups; g++) {
        const uint32_t xa = bk__read_u32(x), xb = bk__read_u32(x + 2);
        const uint32_t v = bk__read_u32(w);
        acc = bk__smlad(bk__sxtb16(v), xa, acc);
        acc = bk__smlad(bk__sxtb16_ror8(v), xb, acc);
        x += 4;
        w += 4;
    }
    return acc;
}

/* Output rows r .. r+3 (or the single row r): dot products, leftover columns, output stage.
 * Kept out of line so that the 14-register loop starts from a clean register file. The
 * body is shared by both output types; OUT_T is int8_t or int16_t. */
#define BK__BLOCK_FNS(SUFFIX, OUT_T)                                                            \
    static __attribute__((noinline)) void bk__block4_##SUFFIX(const bk__mv_t *c, const int8_t *w, \
                                                             int32_t r, OUT_T *out)            \
    {                                                                                           \
        const bk__out_t *o = c->o;                                                              \
        const int32_t cols = c->cols;                                                           \
        int32_t acc[4] = {0, 0, 0, 0};                                                          \
        if (o->bias != NULL) {                                                                  \
            acc[0] = o->bias[r];                                                                \
            acc[1] = o->bias[r + 1];                                                            \
            acc[2] = o->bias[r + 2];                                                            \
            acc[3] = o->bias[r + 3];                                                            \
        }                                                                                       \
        bk__dot4(c->xe, w, cols, c->groups, acc);                                               \
        for (int32_t j = c->groups << 2; j < cols; j++) {                                       \
            const int32_t xj = c->xe[j];                                                        \
            for (int i = 0; i < 4; i++) {                                                       \
                acc[i] = bk_add_wrap(acc[i], w[(size_t)i * (size_t)cols + (size_t)j] * xj);    \
            }                                                                                   \
        }                                                                                       \
        const int32_t *m = o->multiplier + r, *s = o->shift + r;                                \
        const int32_t off = o->offset, lo = o->act_min, hi = o->act_max;                        \
        OUT_T *dst = out + r;                                                                   \
        dst[0] = (OUT_T)bk_fc_out(acc[0], m[0], s[0], off, lo, hi);                            \
        dst[1] = (OUT_T)bk_fc_out(acc[1], m[1], s[1], off, lo, hi);                            \
        dst[2] = (OUT_T)bk_fc_out(acc[2], m[2], s[2], off, lo, hi);                            \
        dst[3] = (OUT_T)bk_fc_out(acc[3], m[3], s[3], off, lo, hi);                            \
    }                                                                                           \
    static void bk__row1_##SUFFIX(const bk__mv_t *c, const int8_t *w, int32_t r, OUT_T *out)    \
    {                                                                                           \
        const bk__out_t *o = c->o;                                                              \
        int32_t acc = bk__dot1(c->xe, w, c->groups, o->bias != NULL ? o->bias[r] : 0);          \
        for (int32_t j = c->groups << 2; j < c->cols; j++) {                                    \
            acc = bk_add_wrap(acc, w[j] * c->xe[j]);                                           \
        }                                                                                       \
        out[r] = (OUT_T)bk_fc_out(acc, o->multiplier[r], o->shift[r], o->offset, o->act_min,   \
                                   o->act_max);                                                 \
    }                                                                                           \
    void bk__matvec_##SUFFIX(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols,   \
                             const bk__out_t *o, OUT_T *out)                                    \
    {                                                                                           \
        const bk__mv_t c = {xe, cols, cols >> 2, o};                                            \
        int32_t r = 0;                                                                          \
        for (; r + 4 <= rows; r += 4) {                                                         \
            bk__block4_##SUFFIX(&c, w + (size_t)r * (size_t)cols, r, out);                      \
        }                                                                                       \
        for (; r < rows; r++) {                                                                 \
            bk__row1_##SUFFIX(&c, w + (size_t)r * (size_t)cols, r, out);                        \
        }                                                                                       \
    }

BK__BLOCK_FNS(s8, int8_t)
BK__BLOCK_FNS(s16, int16_t)

#else
typedef int bk__matvec_unused_t; /* reference build: nothing here (ISO C needs a declaration) */
#endif
