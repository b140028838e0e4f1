/* Private helpers of the channel-masked DynCP kernels (bk_pw_conv_s8.c, bk_pw_conv_t_s8.c,
 * bk_dw_conv_s8.c): mask access, and for the DSP path a short requantisation and the byte
 * packing / clamping of four int8 outputs. Not part of the public API; no other kernel
 * includes it.
 *
 * Short requantisation (bk__rq_neg), for shift <= -1 (right = -shift = e >= 1, left = 0)
 * and multiplier M >= 0, bit-exact with MBQM (docs/kernels.md):
 *
 *   SRDHM(a, M) = floor((2aM + 2^31) / 2^32) = SMMLAR(a, 2M, M >= 2^30 ? a : 0)
 *     (the register holding 2M reads as 2M - 2^32 when M >= 2^30; adding a * 2^32 through
 *     the accumulator operand corrects that; exact for every a and 0 <= M < 2^31);
 *   RDBPOT(s, e) = floor((s' + 2^(e-1)) / 2^e), s' = s - [s < 0]
 *                = SMMLSR(s', -2^(32-e), 0)   (exact: -2^(32-e) fits for e >= 1),
 *     -2^(32-e) = ASR(INT32_MIN, e - 1) and e - 1 = ~shift;
 *   the "- [s < 0]" goes into the first step's accumulator operand as "- [a < 0]": the two
 *   differ only when a < 0 and s = 0, where both give RDBPOT = 0 for e >= 1;
 *   the output offset is the second step's accumulator operand (int32 wrap as the C).
 *
 * That is 7 instructions (LSL, AND, ADD, SMMLAR, MVN, ASR, SMMLSR) instead of the generic
 * 64-bit multiply and branchy rounding. A shift >= 0 (right = 0, left = shift) is the first
 * step alone on a << left (bk__rq_pos); the assembly branches on the sign of each shift. */
#ifndef BK_MASKED_H
#define BK_MASKED_H

#include "bk_support.h"

static inline int bk__mkept(const uint32_t *mask, int32_t c)
{
    return mask == NULL || ((mask[(uint32_t)c >> 5] >> ((uint32_t)c & 31u)) & 1u) != 0u;
}

static inline uint32_t bk__bytes4(int32_t v) { return ((uint32_t)v & 0xFFu) * 0x01010101u; }

static inline void bk__write_u32m(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* lowest set bit's index, x != 0 */
static inline int32_t bk__ctz(uint32_t x) { return (int32_t)__builtin_ctz(x); }

#if BK_DSP
#if defined(BK_DSP_EMULATED)
/* portable models of the instructions (host tests) */
static inline int32_t bk__smmlar(int32_t a, int32_t b, int32_t ra)
{
    const uint64_t v = ((uint64_t)(uint32_t)ra << 32) + (uint64_t)((int64_t)a * (int64_t)b) + 0x80000000u;
    return (int32_t)(uint32_t)(v >> 32);
}
static inline int32_t bk__smmlsr(int32_t a, int32_t b, int32_t ra)
{
    const uint64_t v = ((uint64_t)(uint32_t)ra << 32) - (uint64_t)((int64_t)a * (int64_t)b) + 0x80000000u;
    return (int32_t)(uint32_t)(v >> 32);
}
static inline int32_t bk__ssat8(int32_t v) { return bk_clamp(v, -128, 127); }
#define BK__BFI8(w, v, pos) ((w) = ((w) & ~(0xFFu << (pos))) | (((uint32_t)(v) & 0xFFu) << (pos)))
/* per byte: max(lo, min(hi, w)) on signed bytes */
static inline uint32_t bk__clamp4(uint32_t w, uint32_t lo4, uint32_t hi4)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int32_t v = (int32_t)(int8_t)(uint8_t)(w >> i);
        const int32_t lo = (int32_t)(int8_t)(uint8_t)(lo4 >> i);
        const int32_t hi = (int32_t)(int8_t)(uint8_t)(hi4 >> i);
        r |= ((uint32_t)bk_clamp(v, lo, hi) & 0xFFu) << i;
    }
    return r;
}
/* byte i from a where bit i of nib is set, else from b */
static inline uint32_t bk__sel_nib(uint32_t nib, uint32_t a, uint32_t b)
{
    uint32_t m = 0;
    for (int i = 0; i < 4; i++) {
        if ((nib >> i) & 1u) {
            m |= 0xFFu << (8 * i);
        }
    }
    return (a & m) | (b & ~m);
}
static inline int32_t bk__smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return bk_add_wrap(acc, (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu));
}
static inline int32_t bk__smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return bk_add_wrap(acc, (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16));
}
#else
static inline int32_t bk__smmlar(int32_t a, int32_t b, int32_t ra)
{
    int32_t r;
    __asm("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(ra));
    return r;
}
static inline int32_t bk__smmlsr(int32_t a, int32_t b, int32_t ra)
{
    int32_t r;
    __asm("smmlsr %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(ra));
    return r;
}
static inline int32_t bk__ssat8(int32_t v)
{
    int32_t r;
    __asm("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
}
#define BK__BFI8(w, v, pos) __asm("bfi %0, %1, #" #pos ", #8" : "+r"(w) : "r"(v))
static inline uint32_t bk__clamp4(uint32_t w, uint32_t lo4, uint32_t hi4)
{
    uint32_t t;
    __asm("ssub8 %1, %0, %2\n\t"
          "sel   %0, %0, %2\n\t"
          "ssub8 %1, %3, %0\n\t"
          "sel   %0, %0, %3"
          : "+r"(w), "=&r"(t)
          : "r"(lo4), "r"(hi4)
          : "cc");
    return w;
}
static inline uint32_t bk__sel_nib(uint32_t nib, uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm("msr APSR_g, %1\n\t"
          "sel %0, %2, %3"
          : "=r"(r)
          : "r"(nib << 16), "r"(a), "r"(b)
          : "cc");
    return r;
}
static inline int32_t bk__smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabb((int32_t)a, (int32_t)b, acc);
}
static inline int32_t bk__smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatt((int32_t)a, (int32_t)b, acc);
}
#endif

/* MBQM(a, m, sh) + off (wrapping) for sh in -31..-1, m >= 0 (see the top of this file). */
static inline int32_t bk__rq_neg(int32_t a, int32_t m, int32_t sh, int32_t off)
{
    const int32_t m2 = (int32_t)((uint32_t)m << 1);
    const int32_t ra = (int32_t)(((uint32_t)a & (uint32_t)(m2 >> 31)) + (uint32_t)(a >> 31));
    const int32_t s = bk__smmlar(a, m2, ra);
    const int32_t p = INT32_MIN >> (~sh);
    return bk__smmlsr(s, p, off);
}

/* The same for sh in 0..30 (right = 0): SRDHM(a << sh, m) + off, by the same SMMLAR. */
static inline int32_t bk__rq_pos(int32_t a, int32_t m, int32_t sh, int32_t off)
{
    const int32_t x = (int32_t)((uint32_t)a << sh);
    const int32_t m2 = (int32_t)((uint32_t)m << 1);
    const int32_t ra = (int32_t)((uint32_t)x & (uint32_t)(m2 >> 31));
    return bk_add_wrap(bk__smmlar(x, m2, ra), off);
}

/* MBQM(a, m, sh) + off for any sh in -31..30, m >= 0 (what the assembly does per channel). */
static inline int32_t bk__rq(int32_t a, int32_t m, int32_t sh, int32_t off)
{
    return sh < 0 ? bk__rq_neg(a, m, sh, off) : bk__rq_pos(a, m, sh, off);
}

/* Four accumulators -> four clamped int8 outputs packed in a word (byte j = output j). */
static inline uint32_t bk__out4(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *m,
                                const int32_t *s, int32_t off, uint32_t lo4, uint32_t hi4)
{
    uint32_t w = (uint32_t)bk__ssat8(bk__rq(a0, m[0], s[0], off));
    BK__BFI8(w, bk__ssat8(bk__rq(a1, m[1], s[1], off)), 8);
    BK__BFI8(w, bk__ssat8(bk__rq(a2, m[2], s[2], off)), 16);
    BK__BFI8(w, bk__ssat8(bk__rq(a3, m[3], s[3], off)), 24);
    return bk__clamp4(w, lo4, hi4);
}

/* One accumulator -> clamped output. */
static inline int32_t bk__out1(int32_t a, int32_t m, int32_t s, int32_t off, int32_t lo, int32_t hi)
{
    return bk_clamp(bk__rq(a, m, s, off), lo, hi);
}
#endif /* BK_DSP */

#endif /* BK_MASKED_H */
