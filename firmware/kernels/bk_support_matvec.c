/* DSP-path core shared by the fully connected kernels and the GRU: input widening into the
 * pair-interleaved int16 layout (see bk_support.h) and the matrix-vector product.
 *
 * Four or five output rows at a time: each pair of input words (x0, x2), (x1, x3) is loaded
 * once and used by every row of the block; per row and 4 inputs: one LDR of 4 weights, SXTB16,
 * SXTB16 ROR 8, two SMLADs (matrices of 64 rows or more: 5-row blocks first, bk__matvec5).
 * The inner loop is inline assembly because GCC 12 spills the 14 live registers of this loop
 * (4 accumulators, 4 row pointers, input pointer, counter, 4 temporaries; one more accumulator
 * with five rows) to the stack when written with intrinsics; the instruction sequence is the
 * same as the intrinsics would give, without the spills. */
#include "bk_masked.h"

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

/* One output through the output stage: MBQM by the short SMMLAR / SMMLSR sequence of bk_masked.h
 * (exact for multipliers >= 0 and shifts -31..30, the kernels' documented preconditions), the
 * output offset added there with int32 wrap-around, then the clamp. */
static inline int32_t bk__mv_out(int32_t acc, int32_t m, int32_t s, const bk__out_t *o)
{
    return bk_clamp(bk__rq(acc, m, s, o->offset), o->act_min, o->act_max);
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

/* The full 4-row blocks. Context layout (the assembly's offsets): */
typedef struct {
    const int16_t *xe;      /* 0: widened input */
    const int8_t *w;        /* 4: row 0 of the block (advanced) */
    int32_t cols;           /* 8 */
    int32_t octs;           /* 12: (cols / 4) / 8 */
    int32_t extra;          /* 16: (cols / 4) % 8 | (cols % 4) << 3 */
    const int32_t *bias;    /* 20: NULL or the block's bias (advanced) */
    const int32_t *m;       /* 24: (advanced) */
    const int32_t *s;       /* 28: (advanced) */
    void *out;              /* 32: (advanced) */
    int32_t blocks;         /* 36: 4-row blocks left */
    int32_t offset;         /* 40: output offset */
    uint32_t c80;           /* 44: 0x80000000 */
    uint32_t lo, hi;        /* 48, 52: int8 out: the bounds in every byte; int16 out: the bounds */
    int32_t clamp;          /* 56: 0 when [act_min, act_max] is the whole output type */
} bk__mvk_t;

#if defined(BK_DSP_EMULATED)
/* C twin of the assembly (host tests): the same data layout and arithmetic. */
static void bk__mv_blocks(bk__mvk_t *k, int out16, int five)
{
    const int nr = five ? 5 : 4;
    const int32_t cols = k->cols, groups = cols >> 2;
    const bk__out_t o = {NULL, NULL, NULL, k->offset, out16 ? (int32_t)k->lo : (int32_t)(int8_t)(k->lo & 0xFFu),
                         out16 ? (int32_t)k->hi : (int32_t)(int8_t)(k->hi & 0xFFu)};
    for (; k->blocks > 0; k->blocks--) {
        int32_t a[5];
        const int8_t *w[5];
        for (int i = 0; i < nr; i++) {
            a[i] = k->bias != NULL ? k->bias[i] : 0;
            w[i] = k->w + (size_t)i * (size_t)cols;
        }
        const int16_t *x = k->xe;
        for (int32_t g = 0; g < groups; g++) {
            const uint32_t xa = bk__read_u32(x), xb = bk__read_u32(x + 2);
            for (int i = 0; i < nr; i++) {
                const uint32_t v = bk__read_u32(w[i]);
                a[i] = bk__smlad(bk__sxtb16(v), xa, a[i]);
                a[i] = bk__smlad(bk__sxtb16_ror8(v), xb, a[i]);
                w[i] += 4;
            }
            x += 4;
        }
        for (int32_t j = 0; j < (cols & 3); j++) {
            for (int i = 0; i < nr; i++) {
                a[i] = bk_add_wrap(a[i], w[i][j] * x[j]);
            }
        }
        for (int i = 0; i < nr; i++) {
            const int32_t v = bk__mv_out(a[i], k->m[i], k->s[i], &o);
            if (out16) {
                ((int16_t *)k->out)[i] = (int16_t)v;
            } else {
                ((int8_t *)k->out)[i] = (int8_t)v;
            }
        }
        k->w += (size_t)nr * (size_t)cols;
        k->bias = k->bias != NULL ? k->bias + nr : NULL;
        k->m += nr;
        k->s += nr;
        k->out = (int8_t *)k->out + (out16 ? 2 * nr : nr);
    }
}
#else
void bk__mv_blocks_s8(bk__mvk_t *k);
void bk__mv_blocks_s16(bk__mvk_t *k);
void bk__mv5_blocks_s8(bk__mvk_t *k);
void bk__mv5_blocks_s16(bk__mvk_t *k);
static void bk__mv_blocks(bk__mvk_t *k, int out16, int five)
{
    if (five) {
        if (out16) {
            bk__mv5_blocks_s16(k);
        } else {
            bk__mv5_blocks_s8(k);
        }
    } else if (out16) {
        bk__mv_blocks_s16(k);
    } else {
        bk__mv_blocks_s8(k);
    }
}

/* The blocks in assembly (all 14 registers in the dot product). Per block: the bias (LDM) or
 * zeros; the dot product of the rows p, p + s, p + 2s, p + 3s (register offsets from one
 * pointer; s3 = 3s) against the widened input, per group of 4 inputs one LDRD of the input
 * words (x0, x2), (x1, x3), the weight loads in pipelined pairs, per row SXTB16, SMLAD, SXTB16
 * ROR 8, SMLAD (21 instructions, 25 cycles_est per 16 MACs), eight groups per loop iteration;
 * the leftover groups and columns; the short requantisation (bk_masked.h) with the output offset;
 * SSAT to the output type, the clamp when the activation range is narrower, one or two word
 * stores (unaligned stores are fine on the Cortex-M4). */
/* clang-format off */
__asm(
"    .syntax unified\n"
"    .thumb\n"
/* one group: r11 x, r8 p, r9 s, r10 s3; r0 / r1 input words, r2 / r3 / lr temps, r4-r7 acc */
"    .macro BKMV_G\n"
"    ldrd   r0, r1, [r11], #8\n"
"    ldr    r2, [r8, r9]\n"
"    ldr    r3, [r8, r9, lsl #1]\n"
"    sxtb16 lr, r2\n"
"    smlad  r5, lr, r0, r5\n"
"    sxtb16 r2, r2, ror #8\n"
"    smlad  r5, r2, r1, r5\n"
"    sxtb16 lr, r3\n"
"    smlad  r6, lr, r0, r6\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r6, r3, r1, r6\n"
"    ldr    r2, [r8, r10]\n"
"    ldr    r3, [r8], #4\n"
"    sxtb16 lr, r2\n"
"    smlad  r7, lr, r0, r7\n"
"    sxtb16 r2, r2, ror #8\n"
"    smlad  r7, r2, r1, r7\n"
"    sxtb16 lr, r3\n"
"    smlad  r4, lr, r0, r4\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r4, r3, r1, r4\n"
"    .endm\n"
/* requantise \\a: r2 = multipliers, r3 = shifts (post-incremented), temps r0, r1, \\t;
 * ip = 0x80000000, lr = output offset; then SSAT to \\bits */
"    .macro BKMV_RQ a, bits, t=r8\n"
"    ldr    r1, [r3], #4\n"
"    ldr    \\t, [r2], #4\n"
"    lsl    \\t, \\t, #1\n"
"    and    r0, \\a, \\t, asr #31\n"
"    mvns   r1, r1\n"
"    bmi    .Lbkmv_p\\@\n"
"    add    r0, r0, \\a, asr #31\n"
"    smmlar r0, \\a, \\t, r0\n"
"    asr    r1, ip, r1\n"
"    smmlsr \\a, r0, r1, lr\n"
".Lbkmv_r\\@:\n"
"    ssat   \\a, #\\bits, \\a\n"
"    .subsection 1\n"
".Lbkmv_p\\@:\n"
"    mvn    r1, r1\n"
"    lsl    r1, \\a, r1\n"
"    and    r0, r1, \\t, asr #31\n"
"    smmlar r0, r1, \\t, r0\n"
"    add    \\a, r0, lr\n"
"    b      .Lbkmv_r\\@\n"
"    .subsection 0\n"
"    .endm\n"
/* the whole routine; \\bits 8 or 16 */
"    .macro BKMV_FN name, bits\n"
"    .pushsection .text.\\name,\"ax\",%progbits\n"
"    .align 2\n"
"    .global \\name\n"
"    .type  \\name, %function\n"
"    .thumb_func\n"
"\\name:\n"                            /* r0 = k */
"    push   {r0, r4-r11, lr}\n"
"    ldr    r1, [r0, #36]\n"
"    cmp    r1, #0\n"
"    ble    .Lbkmv_ret\\@\n"
".Lbkmv_blk\\@:\n"
"    ldr    r1, [r0, #20]\n"           /* bias */
"    cbz    r1, .Lbkmv_nob\\@\n"
"    ldm    r1!, {r4-r7}\n"
"    str    r1, [r0, #20]\n"
"    b      .Lbkmv_dot\\@\n"
".Lbkmv_nob\\@:\n"
"    movs   r4, #0\n"
"    movs   r5, #0\n"
"    movs   r6, #0\n"
"    movs   r7, #0\n"
".Lbkmv_dot\\@:\n"
"    ldr    r11, [r0]\n"               /* x */
"    ldrd   r8, r9, [r0, #4]\n"       /* p, s */
"    add    r10, r9, r9, lsl #1\n"     /* s3 */
"    ldr    ip, [r0, #12]\n"           /* octs */
"    cmp    ip, #0\n"
"    beq    .Lbkmv_odd\\@\n"
".Lbkmv_loop\\@:\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    subs   ip, ip, #1\n"
"    bne    .Lbkmv_loop\\@\n"
".Lbkmv_odd\\@:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0, #16]\n"           /* groups % 8 | leftover columns << 3 */
"    cmp    ip, #0\n"
"    beq    .Lbkmv_rq\\@\n"
"    tst    ip, #4\n"
"    beq    .Lbkmv_g2\\@\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
"    BKMV_G\n"
".Lbkmv_g2\\@:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0, #16]\n"
"    tst    ip, #2\n"
"    beq    .Lbkmv_g1\\@\n"
"    BKMV_G\n"
"    BKMV_G\n"
".Lbkmv_g1\\@:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0, #16]\n"
"    tst    ip, #1\n"
"    beq    .Lbkmv_cols\\@\n"
"    BKMV_G\n"
".Lbkmv_cols\\@:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0, #16]\n"
"    lsrs   ip, ip, #3\n"
"    beq    .Lbkmv_rq\\@\n"
".Lbkmv_col\\@:\n"                     /* one column: x (int16) times each row's weight */
"    ldrsh  r0, [r11], #2\n"
"    ldrsb  r1, [r8, r9]\n"
"    mla    r5, r1, r0, r5\n"
"    ldrsb  r1, [r8, r9, lsl #1]\n"
"    mla    r6, r1, r0, r6\n"
"    ldrsb  r1, [r8, r10]\n"
"    mla    r7, r1, r0, r7\n"
"    ldrsb  r1, [r8], #1\n"
"    mla    r4, r1, r0, r4\n"
"    subs   ip, ip, #1\n"
"    bne    .Lbkmv_col\\@\n"
".Lbkmv_rq\\@:\n"
"    ldr    r0, [sp]\n"
"    add    r8, r8, r10\n"             /* p = row 0 + cols: the next block's row 0 is p + 3 cols */
"    str    r8, [r0, #4]\n"
"    ldrd   r2, r3, [r0, #24]\n"       /* multipliers, shifts */
"    ldrd   lr, ip, [r0, #40]\n"       /* output offset, 0x80000000 */
"    BKMV_RQ r4, \\bits\n"
"    BKMV_RQ r5, \\bits\n"
"    BKMV_RQ r6, \\bits\n"
"    BKMV_RQ r7, \\bits\n"
"    ldr    r0, [sp]\n"
"    strd   r2, r3, [r0, #24]\n"
"    ldrd   r8, r9, [r0, #48]\n"       /* lo, hi */
"    ldr    r1, [r0, #56]\n"           /* clamp? */
"    ldr    r2, [r0, #32]\n"           /* out */
"    .if \\bits == 8\n"
"    bfi    r4, r5, #8, #8\n"
"    bfi    r4, r6, #16, #8\n"
"    bfi    r4, r7, #24, #8\n"
"    cbz    r1, .Lbkmv_st\\@\n"
"    ssub8  r5, r4, r8\n"
"    sel    r4, r4, r8\n"
"    ssub8  r5, r9, r4\n"
"    sel    r4, r4, r9\n"
".Lbkmv_st\\@:\n"
"    str    r4, [r2], #4\n"
"    .else\n"
"    cbz    r1, .Lbkmv_st\\@\n"
"    cmp    r4, r8\n"
"    it     lt\n"
"    movlt  r4, r8\n"
"    cmp    r4, r9\n"
"    it     gt\n"
"    movgt  r4, r9\n"
"    cmp    r5, r8\n"
"    it     lt\n"
"    movlt  r5, r8\n"
"    cmp    r5, r9\n"
"    it     gt\n"
"    movgt  r5, r9\n"
"    cmp    r6, r8\n"
"    it     lt\n"
"    movlt  r6, r8\n"
"    cmp    r6, r9\n"
"    it     gt\n"
"    movgt  r6, r9\n"
"    cmp    r7, r8\n"
"    it     lt\n"
"    movlt  r7, r8\n"
"    cmp    r7, r9\n"
"    it     gt\n"
"    movgt  r7, r9\n"
".Lbkmv_st\\@:\n"
"    pkhbt  r4, r4, r5, lsl #16\n"
"    pkhbt  r6, r6, r7, lsl #16\n"
"    str    r4, [r2], #4\n"
"    str    r6, [r2], #4\n"
"    .endif\n"
"    str    r2, [r0, #32]\n"
"    ldr    r1, [r0, #36]\n"
"    subs   r1, r1, #1\n"
"    str    r1, [r0, #36]\n"
"    bne    .Lbkmv_blk\\@\n"
".Lbkmv_ret\\@:\n"
"    pop    {r0, r4-r11, pc}\n"
"    .size  \\name, . - \\name\n"
"    .popsection\n"
"    .endm\n"
/* five rows: r0 / r1 input words, r2 / r3 / lr temps, r4-r8 acc, r9 p, r10 s, r11 s3, ip x;
 * rows p, p + s, p + 2s, p + 3s, p + 4s (LSL #2) from the three registers: 26 instructions,
 * 31 cycles_est per 20 MACs (the 4-row group: 21 and 25 per 16) */
"    .macro BKMV_G5 last=0\n"
"    ldrd   r0, r1, [ip], #8\n"
"    ldr    r2, [r9, r10]\n"
"    ldr    r3, [r9, r10, lsl #1]\n"
"    sxtb16 lr, r2\n"
"    smlad  r5, lr, r0, r5\n"
"    sxtb16 r2, r2, ror #8\n"
"    smlad  r5, r2, r1, r5\n"
"    sxtb16 lr, r3\n"
"    smlad  r6, lr, r0, r6\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r6, r3, r1, r6\n"
"    ldr    r2, [r9, r11]\n"
"    ldr    r3, [r9, r10, lsl #2]\n"
"    sxtb16 lr, r2\n"
"    smlad  r7, lr, r0, r7\n"
"    sxtb16 r2, r2, ror #8\n"
"    smlad  r7, r2, r1, r7\n"
"    sxtb16 lr, r3\n"
"    smlad  r8, lr, r0, r8\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r8, r3, r1, r8\n"
"    ldr    r2, [r9], #4\n"
"    .if \\last\n"
"    ldr    r3, [sp, #4]\n"             /* the loop's end, pipelined after the row load */
"    .endif\n"
"    sxtb16 lr, r2\n"
"    smlad  r4, lr, r0, r4\n"
"    sxtb16 r2, r2, ror #8\n"
"    smlad  r4, r2, r1, r4\n"
"    .endm\n"
/* the 5-row routine: blocks = 5-row blocks; the loop ends on the input pointer (the end at
 * [sp, #4]), every register being in the dot product */
"    .macro BKMV5_FN name, bits\n"
"    .pushsection .text.\\name,\"ax\",%progbits\n"
"    .align 2\n"
"    .global \\name\n"
"    .type  \\name, %function\n"
"    .thumb_func\n"
"\\name:\n"                            /* r0 = k */
"    push   {r0, r1, r4-r11, lr}\n"
"    ldr    r1, [r0, #36]\n"
"    cmp    r1, #0\n"
"    ble    .Lbkmv5_ret\\@\n"
".Lbkmv5_blk\\@:\n"
"    ldr    r1, [r0, #20]\n"           /* bias */
"    cbz    r1, .Lbkmv5_nob\\@\n"
"    ldm    r1!, {r4-r8}\n"
"    str    r1, [r0, #20]\n"
"    b      .Lbkmv5_dot\\@\n"
".Lbkmv5_nob\\@:\n"
"    movs   r4, #0\n"
"    movs   r5, #0\n"
"    movs   r6, #0\n"
"    movs   r7, #0\n"
"    mov    r8, #0\n"
".Lbkmv5_dot\\@:\n"
"    ldr    ip, [r0]\n"                /* x */
"    ldrd   r9, r10, [r0, #4]\n"      /* p, s */
"    add    r11, r10, r10, lsl #1\n"   /* s3 */
"    ldr    r1, [r0, #12]\n"           /* octs */
"    cmp    r1, #0\n"
"    beq    .Lbkmv5_odd\\@\n"
"    add    r1, ip, r1, lsl #6\n"     /* the input's end: 8 groups of 4 int16 per iteration */
"    str    r1, [sp, #4]\n"
".Lbkmv5_loop\\@:\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5 1\n"
"    cmp    ip, r3\n"
"    bne    .Lbkmv5_loop\\@\n"
".Lbkmv5_odd\\@:\n"
"    ldr    r2, [sp]\n"
"    ldr    r2, [r2, #16]\n"           /* groups % 8 | leftover columns << 3 */
"    cmp    r2, #0\n"
"    beq    .Lbkmv5_rq\\@\n"
"    tst    r2, #4\n"
"    beq    .Lbkmv5_g2\\@\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
".Lbkmv5_g2\\@:\n"
"    ldr    r2, [sp]\n"
"    ldr    r2, [r2, #16]\n"
"    tst    r2, #2\n"
"    beq    .Lbkmv5_g1\\@\n"
"    BKMV_G5\n"
"    BKMV_G5\n"
".Lbkmv5_g1\\@:\n"
"    ldr    r2, [sp]\n"
"    ldr    r2, [r2, #16]\n"
"    tst    r2, #1\n"
"    beq    .Lbkmv5_cols\\@\n"
"    BKMV_G5\n"
".Lbkmv5_cols\\@:\n"
"    ldr    r2, [sp]\n"
"    ldr    r2, [r2, #16]\n"
"    lsrs   r2, r2, #3\n"
"    beq    .Lbkmv5_rq\\@\n"
".Lbkmv5_col\\@:\n"                    /* one column: x (int16) times each row's weight */
"    ldrsh  r0, [ip], #2\n"
"    ldrsb  r1, [r9, r10]\n"
"    mla    r5, r1, r0, r5\n"
"    ldrsb  r1, [r9, r10, lsl #1]\n"
"    mla    r6, r1, r0, r6\n"
"    ldrsb  r1, [r9, r11]\n"
"    mla    r7, r1, r0, r7\n"
"    ldrsb  r1, [r9, r10, lsl #2]\n"
"    mla    r8, r1, r0, r8\n"
"    ldrsb  r1, [r9], #1\n"
"    mla    r4, r1, r0, r4\n"
"    subs   r2, r2, #1\n"
"    bne    .Lbkmv5_col\\@\n"
".Lbkmv5_rq\\@:\n"
"    ldr    r0, [sp]\n"
"    add    r9, r9, r10, lsl #2\n"     /* p = row 0 + cols: the next block's row 0 is p + 4 cols */
"    str    r9, [r0, #4]\n"
"    ldrd   r2, r3, [r0, #24]\n"       /* multipliers, shifts */
"    ldrd   lr, ip, [r0, #40]\n"       /* output offset, 0x80000000 */
"    BKMV_RQ r4, \\bits, r9\n"
"    BKMV_RQ r5, \\bits, r9\n"
"    BKMV_RQ r6, \\bits, r9\n"
"    BKMV_RQ r7, \\bits, r9\n"
"    BKMV_RQ r8, \\bits, r9\n"
"    ldr    r0, [sp]\n"
"    strd   r2, r3, [r0, #24]\n"
"    ldrd   r9, r10, [r0, #48]\n"      /* lo, hi */
"    ldr    r1, [r0, #56]\n"           /* clamp? */
"    ldr    r2, [r0, #32]\n"           /* out */
"    .if \\bits == 8\n"
"    bfi    r4, r5, #8, #8\n"
"    bfi    r4, r6, #16, #8\n"
"    bfi    r4, r7, #24, #8\n"
"    cbz    r1, .Lbkmv5_st\\@\n"
"    ssub8  r5, r4, r9\n"
"    sel    r4, r4, r9\n"
"    ssub8  r5, r10, r4\n"
"    sel    r4, r4, r10\n"
"    sxtb   r5, r9\n"                  /* the fifth output: the bounds as int32 */
"    cmp    r8, r5\n"
"    it     lt\n"
"    movlt  r8, r5\n"
"    sxtb   r5, r10\n"
"    cmp    r8, r5\n"
"    it     gt\n"
"    movgt  r8, r5\n"
".Lbkmv5_st\\@:\n"
"    str    r4, [r2], #4\n"
"    strb   r8, [r2], #1\n"
"    .else\n"
"    cbz    r1, .Lbkmv5_st\\@\n"
"    cmp    r4, r9\n"
"    it     lt\n"
"    movlt  r4, r9\n"
"    cmp    r4, r10\n"
"    it     gt\n"
"    movgt  r4, r10\n"
"    cmp    r5, r9\n"
"    it     lt\n"
"    movlt  r5, r9\n"
"    cmp    r5, r10\n"
"    it     gt\n"
"    movgt  r5, r10\n"
"    cmp    r6, r9\n"
"    it     lt\n"
"    movlt  r6, r9\n"
"    cmp    r6, r10\n"
"    it     gt\n"
"    movgt  r6, r10\n"
"    cmp    r7, r9\n"
"    it     lt\n"
"    movlt  r7, r9\n"
"    cmp    r7, r10\n"
"    it     gt\n"
"    movgt  r7, r10\n"
"    cmp    r8, r9\n"
"    it     lt\n"
"    movlt  r8, r9\n"
"    cmp    r8, r10\n"
"    it     gt\n"
"    movgt  r8, r10\n"
".Lbkmv5_st\\@:\n"
"    pkhbt  r4, r4, r5, lsl #16\n"
"    pkhbt  r6, r6, r7, lsl #16\n"
"    str    r4, [r2], #4\n"
"    str    r6, [r2], #4\n"
"    strh   r8, [r2], #2\n"
"    .endif\n"
"    str    r2, [r0, #32]\n"
"    ldr    r1, [r0, #36]\n"
"    subs   r1, r1, #1\n"
"    str    r1, [r0, #36]\n"
"    bne    .Lbkmv5_blk\\@\n"
".Lbkmv5_ret\\@:\n"
"    pop    {r0, r1, r4-r11, pc}\n"
"    .size  \\name, . - \\name\n"
"    .popsection\n"
"    .endm\n"
"    BKMV5_FN bk__mv5_blocks_s8, 8\n"
"    BKMV5_FN bk__mv5_blocks_s16, 16\n"
"    .purgem BKMV5_FN\n"
"    .purgem BKMV_G5\n"
"    BKMV_FN bk__mv_blocks_s8, 8\n"
"    BKMV_FN bk__mv_blocks_s16, 16\n"
"    .purgem BKMV_FN\n"
"    .purgem BKMV_G\n"
"    .purgem BKMV_RQ\n");
/* clang-format on */
#endif

static uint32_t bk__mv_bound(int32_t v, int out16)
{
    return out16 ? (uint32_t)v : bk__bytes4(v);
}

/* out[r] = clamp(MBQM(bias[r] + dot(w[r], xe), M[r], s[r]) + offset): BK__MV5_ROWS rows or more
 * through bk__matvec5 (5-row blocks first); else the full 4-row blocks in one call of the block
 * routine, the rows % 4 last ones one by one. */
#define BK__MV5_ROWS 64
static void bk__matvec5(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols, const bk__out_t *o,
                        void *out, int out16);

static void bk__matvec(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols, const bk__out_t *o,
                       void *out, int out16)
{
    if (rows >= BK__MV5_ROWS) {
        bk__matvec5(xe, w, rows, cols, o, out, out16);
        return;
    }
    const int32_t groups = cols >> 2, blocks = rows >> 2;
    if (blocks > 0) {
        const int32_t tmin = out16 ? -32768 : -128, tmax = out16 ? 32767 : 127;
        bk__mvk_t k = {xe, w, cols, groups >> 3, (groups & 7) | ((cols & 3) << 3), o->bias, o->multiplier,
                       o->shift, out, blocks, o->offset, 0x80000000u, bk__mv_bound(o->act_min, out16),
                       bk__mv_bound(o->act_max, out16), o->act_min != tmin || o->act_max != tmax};
        bk__mv_blocks(&k, out16, 0);
    }
    for (int32_t r = blocks << 2; r < rows; r++) {
        const int8_t *wr = w + (size_t)r * (size_t)cols;
        int32_t acc = bk__dot1(xe, wr, groups, o->bias != NULL ? o->bias[r] : 0);
        for (int32_t j = groups << 2; j < cols; j++) {
            acc = bk_add_wrap(acc, wr[j] * xe[j]);
        }
        const int32_t v = bk__mv_out(acc, o->multiplier[r], o->shift[r], o);
        if (out16) {
            ((int16_t *)out)[r] = (int16_t)v;
        } else {
            ((int8_t *)out)[r] = (int8_t)v;
        }
    }
}

/* 5-row blocks first (26 instructions / 31 cycles_est per 20 MACs against the 4-row blocks' 21 /
 * 25 per 16, and the per-block set-up shared by five rows), as many as leave a multiple of 4 rows
 * for bk__matvec (< 20 rows: one call of the 4-row routine). Below 64 rows the second call
 * costs more than the 5-row blocks save (measured instructions: 32x32 +72, 48x40 +11; 96x32 -15,
 * 96x8 -87, 400x400 -2,212). */
static void bk__matvec5(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols, const bk__out_t *o,
                        void *out, int out16)
{
    int32_t b5 = rows / 5;
    b5 -= (int32_t)((uint32_t)(b5 - rows) & 3u); /* 5 b5 = rows (mod 4): b5 = rows (mod 4), >= 1 here */
    const int32_t groups = cols >> 2, tmin = out16 ? -32768 : -128, tmax = out16 ? 32767 : 127;
    bk__mvk_t k = {xe, w, cols, groups >> 3, (groups & 7) | ((cols & 3) << 3), o->bias, o->multiplier,
                   o->shift, out, b5, o->offset, 0x80000000u, bk__mv_bound(o->act_min, out16),
                   bk__mv_bound(o->act_max, out16), o->act_min != tmin || o->act_max != tmax};
    bk__mv_blocks(&k, out16, 1); /* advances w, bias, multipliers, shifts and out past its rows */
    const bk__out_t rest = {k.bias, k.m, k.s, o->offset, o->act_min, o->act_max};
    bk__matvec(xe, k.w, rows - 5 * b5, cols, &rest, k.out, out16); /* < 20 rows: 4-row blocks */
}

void bk__matvec_s8(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols, const bk__out_t *o, int8_t *out)
{
    bk__matvec(xe, w, rows, cols, o, out, 0);
}

void bk__matvec_s16(const int16_t *xe, const int8_t *w, int32_t rows, int32_t cols, const bk__out_t *o,
                    int16_t *out)
{
    bk__matvec(xe, w, rows, cols, o, out, 1);
}

#else
typedef int bk__matvec_unused_t; /* reference build: nothing here (ISO C needs a declaration) */
#endif
