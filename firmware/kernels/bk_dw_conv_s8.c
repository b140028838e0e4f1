/* Depthwise causal conv, kernel 3, dilation d, over one streaming frame with a history ring
 * and a channel keep-mask (DynCP): int8 input / int8 per-channel weights [3][C] / int32 bias /
 * int8 output, TFLM DepthwiseConvPerChannel arithmetic for every kept channel; a skipped
 * channel reads no weight (nor bias, multiplier or shift), computes and writes no output, and
 * leaves the zero point (real zero) in the ring. */
#include <stddef.h>

#include "bk_masked.h"

static inline int32_t bk__dw_one(int32_t b, int32_t w0, int32_t w1, int32_t w2, int32_t h2, int32_t h1,
                                 int32_t x, int32_t off)
{
    int32_t acc = bk_add_wrap(b, w0 * (h2 + off));
    acc = bk_add_wrap(acc, w1 * (h1 + off));
    return bk_add_wrap(acc, w2 * (x + off));
}

#if BK_DSP
/* DSP path: the channels in groups of four, one nibble of the mask each.
 *  - all four kept: every tap and weight as one word; SXTAB16 / SXTB16 split them into the
 *    (channel 0, 2) and (1, 3) halfword pairs (adding the input offset to the taps on the
 *    way), three SMLABB / SMLATT per channel on the bias; the short requantisation
 *    (bk_masked.h); SSAT + BFI into one word, SSUB8 / SEL clamp, one store; the ring word
 *    is the input word.
 *  - none kept: the zero-point word into the ring.
 *  - some kept: one copy of the code per nibble value (a TBH dispatch; one kept lane: lane
 *    index and register-offset addressing, no pointer set-up): the kept lanes' taps
 *    from the group's words (SXTAB with rotation), their weights byte by byte (a skipped
 *    lane's are never read), MUL / MLA; the ring word by SEL with the nibble as GE flags;
 *    then the kept lanes' outputs (bias, multiplier, shift read for them only), packed for
 *    one SSUB8 / SEL clamp and stored byte by byte.
 * The channels % 4 tail goes through the plain code. On the Cortex-M4 this is one assembly
 * routine (GCC 12 spills the ten array pointers of this loop); with -DBK_EMULATE_DSP the C
 * below, the same steps on the same data. Context layout (the assembly's offsets): */
typedef struct {
    const int8_t *x;      /* 0: input */
    int8_t *h2;           /* 4: ring row t-2d (becomes row t) */
    const int8_t *w0;     /* 8: weights, tap t-2d */
    const int8_t *h1;     /* 12: ring row t-d */
    const int8_t *w1;     /* 16 */
    const int8_t *w2;     /* 20 */
    const int32_t *b;     /* 24: bias, or four zeros */
    int32_t bmask;        /* 28: -1, or 0 for the zeros */
    const int32_t *m;     /* 32 */
    const int32_t *s;     /* 36 */
    int8_t *out;          /* 40 */
    uint32_t offp;        /* 44: input offset in both halfwords */
    int32_t off;          /* 48 */
    int32_t oo;           /* 52: output offset */
    uint32_t c80;         /* 56: 0x80000000 */
    uint32_t lo4, hi4;    /* 60, 64: act_min / act_max in every byte */
    const uint32_t *mask; /* 68: NULL = all kept */
    int32_t c4;           /* 72: channels & ~3 */
    int32_t c, mw, cend;  /* 76, 80, 84: the routine's own */
    uint32_t zp4;         /* 88: the zero point in every byte */
    int32_t clamp;        /* 92: 0 when [act_min, act_max] is all of int8 (SSAT alone clamps) */
} bk__dwk_t;

#if !defined(BK_DSP_EMULATED) /* the assembly's offsets (32-bit pointers) */
typedef char bk__dwk_layout_ok[(offsetof(bk__dwk_t, b) == 24 && offsetof(bk__dwk_t, offp) == 44 &&
                                 offsetof(bk__dwk_t, mask) == 68 && offsetof(bk__dwk_t, clamp) == 92)
                                    ? 1
                                    : -1];
#endif

static const int32_t bk__dw_zero_bias[4] = {0, 0, 0, 0};

#if defined(BK_DSP_EMULATED)
static void bk__dw_full(const bk__dwk_t *k, int32_t c)
{
    const uint32_t offp = k->offp;
    const uint32_t X = bk__read_u32(k->x + c), H1 = bk__read_u32(k->h1 + c), H2 = bk__read_u32(k->h2 + c);
    const uint32_t W0 = bk__read_u32(k->w0 + c), W1 = bk__read_u32(k->w1 + c), W2 = bk__read_u32(k->w2 + c);
    bk__write_u32m(k->h2 + c, X); /* frame t-2d is no longer needed */
    const int32_t *b = k->b + (c & k->bmask);
    int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
    const uint32_t tap[3] = {H2, H1, X}, wt[3] = {W0, W1, W2};
    for (int t = 0; t < 3; t++) {
        uint32_t h = bk__sxtab16(offp, tap[t]), v = bk__sxtb16(wt[t]);
        a0 = bk__smlabb(h, v, a0);
        a2 = bk__smlatt(h, v, a2);
        h = bk__sxtab16_ror8(offp, tap[t]);
        v = bk__sxtb16_ror8(wt[t]);
        a1 = bk__smlabb(h, v, a1);
        a3 = bk__smlatt(h, v, a3);
    }
    const uint32_t lo4 = k->clamp ? k->lo4 : 0x80808080u, hi4 = k->clamp ? k->hi4 : 0x7F7F7F7Fu;
    bk__write_u32m(k->out + c, bk__out4(a0, a1, a2, a3, k->m + c, k->s + c, k->oo, lo4, hi4));
}

static void bk__dw_part(const bk__dwk_t *k, int32_t c, uint32_t nib)
{
    const int32_t off = k->off;
    const uint32_t X = bk__read_u32(k->x + c), H1 = bk__read_u32(k->h1 + c), H2 = bk__read_u32(k->h2 + c);
    int32_t acc[4] = {0, 0, 0, 0};
    for (int j = 0; j < 4; j++) {
        if ((nib >> j) & 1u) {
            const int32_t cj = c + j;
            const int32_t sh = 8 * j;
            acc[j] = bk_add_wrap(bk_add_wrap(k->w0[cj] * ((int32_t)(int8_t)(uint8_t)(H2 >> sh) + off),
                                               k->w1[cj] * ((int32_t)(int8_t)(uint8_t)(H1 >> sh) + off)),
                                  k->w2[cj] * ((int32_t)(int8_t)(uint8_t)(X >> sh) + off));
        }
    }
    bk__write_u32m(k->h2 + c, bk__sel_nib(nib, X, k->zp4));
    const int32_t *b = k->b + (c & k->bmask);
    uint32_t w = 0;
    int n = 0;
    for (int j = 0; j < 4; j++) {
        if ((nib >> j) & 1u) {
            const int32_t r = bk__ssat8(bk__rq(bk_add_wrap(acc[j], b[j]), k->m[c + j], k->s[c + j], k->oo));
            w |= ((uint32_t)r & 0xFFu) << (8 * n++);
        }
    }
    if (k->clamp) {
        w = bk__clamp4(w, k->lo4, k->hi4);
    }
    n = 0;
    for (int j = 0; j < 4; j++) {
        if ((nib >> j) & 1u) {
            k->out[c + j] = (int8_t)(uint8_t)(w >> (8 * n++));
        }
    }
}

static void bk__dw_dsp_frame(bk__dwk_t *k)
{
    for (int32_t c0 = 0; c0 < k->c4; c0 += 32) {
        uint32_t mw = k->mask != NULL ? k->mask[c0 >> 5] : 0xFFFFFFFFu;
        const int32_t cend = c0 + 32 < k->c4 ? c0 + 32 : k->c4;
        for (int32_t c = c0; c < cend; c += 4, mw >>= 4) {
            const uint32_t nib = mw & 15u;
            if (nib == 15u) {
                bk__dw_full(k, c);
            } else if (nib == 0u) {
                bk__write_u32m(k->h2 + c, k->zp4);
            } else {
                bk__dw_part(k, c, nib);
            }
        }
    }
}
#else
void bk__dw_dsp_frame(bk__dwk_t *k);

/* clang-format off */
__asm(
"    .pushsection .text.bk__dw_dsp_frame,\"ax\",%progbits\n"
"    .syntax unified\n"
"    .thumb\n"
/* requantise a (in \\a, multiplier in \\m, shift at [r3], post-increment) -> ssat8 in \\a;
 * temps r1, r2; ip = 0x80000000, lr = output offset */
"    .macro BKDW_RQ a, m\n"
"    ldr    r1, [r3], #4\n"
"    lsl    \\m, \\m, #1\n"
"    and    r2, \\a, \\m, asr #31\n"
"    mvns   r1, r1\n"
"    bmi    .Lbkdw_rqp\\@\n"
"    add    r2, r2, \\a, asr #31\n"
"    smmlar r2, \\a, \\m, r2\n"
"    asr    r1, ip, r1\n"
"    smmlsr \\a, r2, r1, lr\n"
".Lbkdw_rqr\\@:\n"
"    ssat   \\a, #8, \\a\n"
"    .subsection 1\n"
".Lbkdw_rqp\\@:\n"
"    mvn    r1, r1\n"
"    lsl    r1, \\a, r1\n"
"    and    r2, r1, \\m, asr #31\n"
"    smmlar r2, r1, \\m, r2\n"
"    add    \\a, r2, lr\n"
"    b      .Lbkdw_rqr\\@\n"
"    .subsection 0\n"
"    .endm\n"
/* full group: one tap (word \\h of taps, word \\w of weights) into a0..a3 = r4..r7 */
"    .macro BKDW_TAP h, w\n"
"    sxtab16 r2, ip, \\h\n"
"    sxtab16 \\h, ip, \\h, ror #8\n"
"    sxtb16  r3, \\w\n"
"    sxtb16  \\w, \\w, ror #8\n"
"    smlabb  r4, r2, r3, r4\n"
"    smlatt  r6, r2, r3, r6\n"
"    smlabb  r5, \\h, \\w, r5\n"
"    smlatt  r7, \\h, \\w, r7\n"
"    .endm\n"
/* partial group, phase 1: SXTAB of byte j of word \\w plus the offset (ip) */
"    .macro BKDW_SXTAB d, w, j\n"
"    .if \\j == 0\n"
"    sxtab  \\d, ip, \\w\n"
"    .else\n"
"    sxtab  \\d, ip, \\w, ror #(8*\\j)\n"
"    .endif\n"
"    .endm\n"
/* accumulator of the n-th kept lane: r10, r11, lr */
"    .macro BKDW_MAC j, a\n"
"    ldrsb  r2, [r6, #\\j]\n"
"    BKDW_SXTAB r3, r5, \\j\n"
"    mul    \\a, r2, r3\n"
"    ldrsb  r2, [r8, #\\j]\n"
"    BKDW_SXTAB r3, r7, \\j\n"
"    mla    \\a, r2, r3, \\a\n"
"    ldrsb  r2, [r9, #\\j]\n"
"    BKDW_SXTAB r3, r4, \\j\n"
"    mla    \\a, r2, r3, \\a\n"
"    .endm\n"
"    .macro BKDW_OUT j, a\n"
"    ldr    r3, [r2, #(4*\\j)]\n"
"    add    \\a, \\a, r3\n"
"    ldr    r3, [r5, #(4*\\j)]\n"
"    ldr    r4, [r6, #(4*\\j)]\n"
"    lsl    r3, r3, #1\n"
"    and    ip, \\a, r3, asr #31\n"
"    mvns   r4, r4\n"
"    bmi    .Lbkdw_op\\@\n"
"    add    ip, ip, \\a, asr #31\n"
"    smmlar ip, \\a, r3, ip\n"
"    asr    r4, r9, r4\n"
"    smmlsr \\a, ip, r4, r8\n"
".Lbkdw_or\\@:\n"
"    ssat   \\a, #8, \\a\n"
"    .subsection 1\n"
".Lbkdw_op\\@:\n"
"    mvn    r4, r4\n"
"    lsl    r4, \\a, r4\n"
"    and    ip, r4, r3, asr #31\n"
"    smmlar ip, r4, r3, ip\n"
"    add    \\a, ip, r8\n"
"    b      .Lbkdw_or\\@\n"
"    .subsection 0\n"
"    .endm\n"
/* lane j of pattern p, the n-th kept one: phase 1 (q = 1), phase 2 (q = 2), store from the
 * packed clamped word (q = 3), store of its own register (q = 4) */
"    .macro BKDW_LANE q, p, j, n\n"
"    .if ((\\p) >> \\j) & 1\n"
"    .if \\q == 4\n"
"    .if (\\n) == 0\n"
"    strb   r10, [r7, #\\j]\n"
"    .elseif (\\n) == 1\n"
"    strb   r11, [r7, #\\j]\n"
"    .else\n"
"    strb   lr, [r7, #\\j]\n"
"    .endif\n"
"    .elseif \\q == 3\n"
"    .if (\\n) == 0\n"
"    strb   r10, [r7, #\\j]\n"
"    .else\n"
"    lsr    r3, r10, #(8*(\\n))\n"
"    strb   r3, [r7, #\\j]\n"
"    .endif\n"
"    .elseif (\\n) == 0\n"
"    .if \\q == 1\n"
"    BKDW_MAC \\j, r10\n"
"    .else\n"
"    BKDW_OUT \\j, r10\n"
"    .endif\n"
"    .elseif (\\n) == 1\n"
"    .if \\q == 1\n"
"    BKDW_MAC \\j, r11\n"
"    .else\n"
"    BKDW_OUT \\j, r11\n"
"    .endif\n"
"    .else\n"
"    .if \\q == 1\n"
"    BKDW_MAC \\j, lr\n"
"    .else\n"
"    BKDW_OUT \\j, lr\n"
"    .endif\n"
"    .endif\n"
"    .endif\n"
"    .endm\n"
"    .macro BKDW_LANES q, p\n"
"    BKDW_LANE \\q, \\p, 0, 0\n"
"    BKDW_LANE \\q, \\p, 1, ((\\p) & 1)\n"
"    BKDW_LANE \\q, \\p, 2, (((\\p) & 1) + (((\\p) >> 1) & 1))\n"
"    BKDW_LANE \\q, \\p, 3, (((\\p) & 1) + (((\\p) >> 1) & 1) + (((\\p) >> 2) & 1))\n"
"    .endm\n"
/* partial group with nibble p: r0 = k, r1 = c */
"    .macro BKDW_PART p\n"
"    ldm    r0, {r4-r9}\n"            /* x, h2, w0, h1, w1, w2 */
"    ldr    r4, [r4, r1]\n"           /* X */
"    ldr    r5, [r5, r1]\n"           /* H2 */
"    ldr    r7, [r7, r1]\n"           /* H1 */
"    add    r6, r6, r1\n"
"    add    r8, r8, r1\n"
"    add    r9, r9, r1\n"
"    ldr    ip, [r0, #48]\n"          /* input offset */
"    BKDW_LANES 1, \\p\n"
"    ldr    r2, [r0, #4]\n"           /* ring word: X where kept, else the zero point */
"    ldr    r3, [r0, #88]\n"
"    mov    ip, #((\\p) << 16)\n"
"    msr    APSR_g, ip\n"
"    sel    r3, r4, r3\n"
"    str    r3, [r2, r1]\n"
"    ldrd   r2, r3, [r0, #24]\n"      /* bias + c (or the zeros) */
"    and    r3, r3, r1\n"
"    add    r2, r2, r3, lsl #2\n"
"    ldrd   r5, r6, [r0, #32]\n"      /* multiplier + c, shift + c */
"    add    r5, r5, r1, lsl #2\n"
"    add    r6, r6, r1, lsl #2\n"
"    ldr    r7, [r0, #40]\n"          /* out + c */
"    add    r7, r7, r1\n"
"    ldrd   r8, r9, [r0, #52]\n"      /* output offset, 0x80000000 */
"    BKDW_LANES 2, \\p\n"
"    ldr    r3, [r0, #92]\n"
"    cbnz   r3, .Lbkdw_pc\\@\n"
"    BKDW_LANES 4, \\p\n"            /* SSAT did all the clamping */
"    ldr    r2, [r0, #80]\n"
"    adds   r1, r1, #4\n"
"    b      .Lbkdw_grp\n"
".Lbkdw_pc\\@:\n"
"    .if (((\\p) & 1) + (((\\p) >> 1) & 1) + (((\\p) >> 2) & 1) + (((\\p) >> 3) & 1)) >= 2\n"
"    bfi    r10, r11, #8, #8\n"
"    .endif\n"
"    .if (((\\p) & 1) + (((\\p) >> 1) & 1) + (((\\p) >> 2) & 1) + (((\\p) >> 3) & 1)) >= 3\n"
"    bfi    r10, lr, #16, #8\n"
"    .endif\n"
"    ldrd   r3, r4, [r0, #60]\n"      /* act_min / act_max */
"    ssub8  ip, r10, r3\n"
"    sel    r10, r10, r3\n"
"    ssub8  ip, r4, r10\n"
"    sel    r10, r10, r4\n"
"    BKDW_LANES 3, \\p\n"
"    ldr    r2, [r0, #80]\n"
"    adds   r1, r1, #4\n"
"    b      .Lbkdw_grp\n"
"    .endm\n"
/* partial group with one kept lane j (nibble 1 << j): the lane index cj = c + j in r11 and
 * register-offset addressing instead of the per-array pointer adds */
"    .macro BKDW_PART1 j\n"
"    ldm    r0, {r4-r9}\n"            /* x, h2, w0, h1, w1, w2 */
"    ldr    r4, [r4, r1]\n"           /* X */
"    ldr    r10, [r5, r1]\n"          /* H2 */
"    ldr    r7, [r7, r1]\n"           /* H1 */
"    add    r11, r1, #\\j\n"
"    ldr    ip, [r0, #48]\n"          /* input offset */
"    ldrsb  r2, [r6, r11]\n"
"    BKDW_SXTAB r3, r10, \\j\n"
"    mul    lr, r2, r3\n"
"    ldrsb  r2, [r8, r11]\n"
"    BKDW_SXTAB r3, r7, \\j\n"
"    mla    lr, r2, r3, lr\n"
"    ldrsb  r2, [r9, r11]\n"
"    BKDW_SXTAB r3, r4, \\j\n"
"    mla    lr, r2, r3, lr\n"
"    ldr    r3, [r0, #88]\n"          /* ring word */
"    mov    ip, #(1 << (16 + \\j))\n"
"    msr    APSR_g, ip\n"
"    sel    r3, r4, r3\n"
"    str    r3, [r5, r1]\n"
"    ldrd   r2, r3, [r0, #24]\n"      /* bias[cj] (or a zero) */
"    and    r3, r3, r11\n"
"    ldr    r3, [r2, r3, lsl #2]\n"
"    add    lr, lr, r3\n"
"    ldrd   r5, r6, [r0, #32]\n"
"    ldr    r3, [r5, r11, lsl #2]\n"  /* multiplier */
"    ldr    r4, [r6, r11, lsl #2]\n"  /* shift */
"    ldrd   r8, r9, [r0, #52]\n"      /* output offset, 0x80000000 */
"    lsl    r3, r3, #1\n"
"    and    ip, lr, r3, asr #31\n"
"    mvns   r4, r4\n"
"    bmi    .Lbkdw_1p\\@\n"
"    add    ip, ip, lr, asr #31\n"
"    smmlar ip, lr, r3, ip\n"
"    asr    r4, r9, r4\n"
"    smmlsr lr, ip, r4, r8\n"
".Lbkdw_1r\\@:\n"
"    ssat   lr, #8, lr\n"
"    ldr    r3, [r0, #92]\n"
"    cbz    r3, .Lbkdw_1s\\@\n"
"    ldrd   r3, r4, [r0, #60]\n"
"    ssub8  ip, lr, r3\n"
"    sel    lr, lr, r3\n"
"    ssub8  ip, r4, lr\n"
"    sel    lr, lr, r4\n"
".Lbkdw_1s\\@:\n"
"    ldr    r7, [r0, #40]\n"
"    strb   lr, [r7, r11]\n"
"    ldr    r2, [r0, #80]\n"
"    adds   r1, r1, #4\n"
"    b      .Lbkdw_grp\n"
"    .subsection 1\n"
".Lbkdw_1p\\@:\n"
"    mvn    r4, r4\n"
"    lsl    r4, lr, r4\n"
"    and    ip, r4, r3, asr #31\n"
"    smmlar ip, r4, r3, ip\n"
"    add    lr, ip, r8\n"
"    b      .Lbkdw_1r\\@\n"
"    .subsection 0\n"
"    .endm\n"
"    .align 2\n"
"    .global bk__dw_dsp_frame\n"
"    .type  bk__dw_dsp_frame, %function\n"
"    .thumb_func\n"
"bk__dw_dsp_frame:\n"
"    push   {r4-r11, lr}\n"
"    movs   r1, #0\n"
".Lbkdw_word:\n"                      /* r1 = c, a multiple of 32 */
"    ldr    r3, [r0, #72]\n"
"    subs   r4, r3, r1\n"             /* channels left (in groups of four) */
"    ble    .Lbkdw_ret\n"
"    ldr    r2, [r0, #68]\n"
"    cbz    r2, .Lbkdw_all\n"
"    lsrs   r5, r1, #5\n"
"    ldr    r2, [r2, r5, lsl #2]\n"
"    b      .Lbkdw_wm\n"
".Lbkdw_all:\n"
"    mov    r2, #-1\n"
".Lbkdw_wm:\n"
"    add    r5, r1, #32\n"
"    str    r5, [r0, #84]\n"           /* cend */
"    cmp    r4, #32\n"
"    bge    .Lbkdw_grp\n"
"    str    r3, [r0, #84]\n"           /* last word: cend = c4, bits from c4 on cleared */
"    movs   r5, #1\n"
"    lsl    r5, r5, r4\n"
"    subs   r5, r5, #1\n"
"    ands   r2, r2, r5\n"
".Lbkdw_grp:\n"                       /* r1 = c, r2 = mask bits from c on (none past cend) */
"    and    r3, r2, #15\n"
"    lsrs   r2, r2, #4\n"
"    cmp    r3, #15\n"
"    beq    .Lbkdw_full\n"
"    cbnz   r3, .Lbkdw_part\n"
"    ldr    r3, [r0, #84]\n"           /* none kept, or past the end of the word */
"    cmp    r1, r3\n"
"    bge    .Lbkdw_word\n"
"    ldr    r4, [r0, #4]\n"
"    ldr    r5, [r0, #88]\n"
"    str    r5, [r4, r1]\n"
"    adds   r1, r1, #4\n"
"    b      .Lbkdw_grp\n"
".Lbkdw_part:\n"
"    strd   r1, r2, [r0, #76]\n"
"    tbh    [pc, r3, lsl #1]\n"
".Lbkdw_tbl:\n"
"    .hword 0\n"
"    .hword (.Lbkdw_p1 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p2 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p3 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p4 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p5 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p6 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p7 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p8 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p9 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p10 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p11 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p12 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p13 - .Lbkdw_tbl) / 2\n"
"    .hword (.Lbkdw_p14 - .Lbkdw_tbl) / 2\n"
"    .hword 0\n"
".Lbkdw_full:\n"                      /* all four kept */
"    strd   r1, r2, [r0, #76]\n"
"    ldrd   r2, r3, [r0, #24]\n"
"    and    r3, r3, r1\n"
"    add    r2, r2, r3, lsl #2\n"
"    ldm    r2, {r4-r7}\n"            /* a0..a3 = bias */
"    ldr    ip, [r0, #44]\n"          /* offp */
"    ldrd   r2, r3, [r0, #4]\n"       /* h2, w0 */
"    ldr    r8, [r2, r1]\n"
"    ldr    r9, [r3, r1]\n"
"    ldr    r10, [r0, #0]\n"
"    ldr    r10, [r10, r1]\n"         /* X */
"    str    r10, [r2, r1]\n"          /* ring row t-2d becomes row t */
"    BKDW_TAP r8, r9\n"
"    ldrd   r2, r3, [r0, #12]\n"      /* h1, w1 */
"    ldr    r8, [r2, r1]\n"
"    ldr    r9, [r3, r1]\n"
"    BKDW_TAP r8, r9\n"
"    ldr    r3, [r0, #20]\n"          /* w2 */
"    ldr    r9, [r3, r1]\n"
"    BKDW_TAP r10, r9\n"
"    ldrd   r2, r3, [r0, #32]\n"      /* multiplier, shift */
"    add    r2, r2, r1, lsl #2\n"
"    add    r3, r3, r1, lsl #2\n"
"    ldm    r2, {r8-r11}\n"
"    ldrd   lr, ip, [r0, #52]\n"      /* output offset, 0x80000000 */
"    BKDW_RQ r4, r8\n"
"    BKDW_RQ r5, r9\n"
"    BKDW_RQ r6, r10\n"
"    BKDW_RQ r7, r11\n"
"    bfi    r4, r5, #8, #8\n"
"    bfi    r4, r6, #16, #8\n"
"    bfi    r4, r7, #24, #8\n"
"    ldr    r2, [r0, #92]\n"
"    cbz    r2, .Lbkdw_fnc\n"
"    ldrd   r2, r3, [r0, #60]\n"
"    ssub8  r5, r4, r2\n"
"    sel    r4, r4, r2\n"
"    ssub8  r5, r3, r4\n"
"    sel    r4, r4, r3\n"
".Lbkdw_fnc:\n"
"    ldrd   r1, r2, [r0, #76]\n"
"    ldr    r3, [r0, #40]\n"
"    str    r4, [r3, r1]\n"
"    adds   r1, r1, #4\n"
"    b      .Lbkdw_grp\n"
".Lbkdw_ret:\n"
"    pop    {r4-r11, pc}\n"
".Lbkdw_p1:\n  BKDW_PART1 0\n"
".Lbkdw_p2:\n  BKDW_PART1 1\n"
".Lbkdw_p3:\n  BKDW_PART 3\n"
".Lbkdw_p4:\n  BKDW_PART1 2\n"
".Lbkdw_p5:\n  BKDW_PART 5\n"
".Lbkdw_p6:\n  BKDW_PART 6\n"
".Lbkdw_p7:\n  BKDW_PART 7\n"
".Lbkdw_p8:\n  BKDW_PART1 3\n"
".Lbkdw_p9:\n  BKDW_PART 9\n"
".Lbkdw_p10:\n  BKDW_PART 10\n"
".Lbkdw_p11:\n  BKDW_PART 11\n"
".Lbkdw_p12:\n  BKDW_PART 12\n"
".Lbkdw_p13:\n  BKDW_PART 13\n"
".Lbkdw_p14:\n  BKDW_PART 14\n"
"    .size  bk__dw_dsp_frame, . - bk__dw_dsp_frame\n"
"    .purgem BKDW_RQ\n"
"    .purgem BKDW_TAP\n"
"    .purgem BKDW_SXTAB\n"
"    .purgem BKDW_MAC\n"
"    .purgem BKDW_OUT\n"
"    .purgem BKDW_LANE\n"
"    .purgem BKDW_LANES\n"
"    .purgem BKDW_PART\n"
"    .purgem BKDW_PART1\n"
"    .popsection\n");
/* clang-format on */
#endif
#endif

bk_status_t bk_dw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t channels, int32_t dilation, const int8_t *input, int8_t *ring,
                          int32_t *pos, const int8_t *weights, const int32_t *bias,
                          const uint32_t *mask, int8_t *output)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || ring == NULL || pos == NULL || weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (channels < 1 || dilation < 1 || dilation > 4096) {
        return BK_ERR_SIZE;
    }
    const int32_t rows = 2 * dilation;
    if (params->act_min > params->act_max || params->act_min < -128 || params->act_max > 127 ||
        params->input_offset < -127 || params->input_offset > 128 || *pos < 0 || *pos >= rows) {
        return BK_ERR_PARAM;
    }
    const size_t cn = (size_t)channels;
    int8_t *r2 = ring + (size_t)*pos * cn;                           /* frame t-2d, then frame t */
    const int8_t *r1 = ring + (size_t)((*pos + dilation) % rows) * cn; /* frame t-d */
    const int8_t *w0 = weights, *w1 = weights + cn, *w2 = weights + 2u * cn;
    const int32_t off = params->input_offset;
    const int8_t zp = (int8_t)(-off);
    const int32_t *m = quant->multiplier, *s = quant->shift;
    const int32_t oo = params->output_offset, lo = params->act_min, hi = params->act_max;
    int32_t c = 0;
#if BK_DSP
    bk__dwk_t k = {input, r2, w0, r1, w1, w2, bias != NULL ? bias : bk__dw_zero_bias, bias != NULL ? -1 : 0,
                   m, s, output, ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16), off, oo, 0x80000000u,
                   bk__bytes4(lo), bk__bytes4(hi), mask, channels & ~3, 0, 0, 0, bk__bytes4(zp),
                   lo != -128 || hi != 127};
    bk__dw_dsp_frame(&k);
    c = channels & ~3;
#endif
    for (; c < channels; c++) {
        if (!bk__mkept(mask, c)) {
            r2[c] = zp;
            continue;
        }
        const int32_t acc = bk__dw_one(bias != NULL ? bias[c] : 0, w0[c], w1[c], w2[c], r2[c], r1[c],
                                       input[c], off);
        output[c] = (int8_t)bk_fc_out(acc, m[c], s[c], oo, lo, hi);
        r2[c] = input[c];
    }
    *pos = (*pos + 1) % rows;
    return BK_OK;
}
