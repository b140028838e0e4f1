/* Pointwise conv over one frame with an OUTPUT channel keep-mask (DynCP pw1): int8 input,
 * int8 per-channel weights [out][in], int32 bias, int8 output; TFLM FullyConnectedPerChannel
 * arithmetic for every kept output, nothing at all for a skipped one (its weights, bias,
 * multiplier and shift are not read, its output not written). */
#include <stddef.h>

#include "bk_masked.h"

#if BK_DSP
/* DSP path: the input widened once into scratch (bk__expand_s8: pair-interleaved int16 with
 * the offset added), then the kept rows, found by CTZ on the mask words, four at a time, any
 * four: one LDRD of two input words (x0, x2), (x1, x3) serves the four rows, per row one LDR
 * of four weights, SXTB16, SXTB16 ROR 8, two SMLAD (21 instructions per 16 MACs, four such
 * groups per loop iteration); the
 * in % 4 last columns one by one; the short requantisation (bk_masked.h); the four outputs
 * stored byte by byte. A last group of 1..3 rows repeats its last row (a kept one: nothing
 * skipped is read, the repeated output is written with its own value). One assembly routine
 * on the Cortex-M4 (the dot product needs all 14 registers); C with -DBK_EMULATE_DSP.
 * Context layout (the assembly's offsets): */
typedef struct {
    int32_t ri[4];        /* 0: the block's rows (the routine's own) */
    const int16_t *xe;    /* 16: widened input */
    const int8_t *w;      /* 20: weights [rows][cols] */
    int32_t cols;         /* 24 */
    int32_t quads;        /* 28: (cols / 4) / 4: loop iterations of four groups */
    int32_t extra;        /* 32: (cols / 4) % 4 | (cols % 4) << 2 */
    const int32_t *b;     /* 36: bias or NULL */
    const int32_t *m;     /* 40 */
    const int32_t *s;     /* 44 */
    int8_t *out;          /* 48 */
    const uint32_t *mask; /* 52: NULL = all kept */
    int32_t rows;         /* 56 */
    int32_t oo;           /* 60: output offset */
    uint32_t c80;         /* 64: 0x80000000 */
    uint32_t lo4, hi4;    /* 68, 72 */
    int32_t clamp;        /* 76: 0 when [act_min, act_max] is all of int8 */
    int32_t c, bits;      /* 80, 84: the routine's own */
} bk__pwk_t;

#if !defined(BK_DSP_EMULATED) /* the assembly's offsets (32-bit pointers) */
typedef char bk__pwk_layout_ok[(offsetof(bk__pwk_t, xe) == 16 && offsetof(bk__pwk_t, b) == 36 &&
                                 offsetof(bk__pwk_t, rows) == 56 && offsetof(bk__pwk_t, bits) == 84)
                                    ? 1
                                    : -1];
#endif

#if defined(BK_DSP_EMULATED)
static void bk__pw_block(const bk__pwk_t *k, const int32_t *ri)
{
    int32_t a[4];
    const int8_t *w[4];
    const int32_t groups = k->cols >> 2;
    for (int i = 0; i < 4; i++) {
        a[i] = k->b != NULL ? k->b[ri[i]] : 0;
        w[i] = k->w + (size_t)ri[i] * (size_t)k->cols;
    }
    const int16_t *x = k->xe;
    for (int32_t g = 0; g < groups; g++) {
        const uint32_t xa = bk__read_u32(x), xb = bk__read_u32(x + 2);
        for (int i = 0; i < 4; i++) {
            const uint32_t v = bk__read_u32(w[i]);
            a[i] = bk__smlad(bk__sxtb16(v), xa, a[i]);
            a[i] = bk__smlad(bk__sxtb16_ror8(v), xb, a[i]);
            w[i] += 4;
        }
        x += 4;
    }
    for (int32_t j = 0; j < (k->cols & 3); j++) {
        for (int i = 0; i < 4; i++) {
            a[i] = bk_add_wrap(a[i], w[i][j] * x[j]);
        }
    }
    for (int i = 0; i < 4; i++) {
        int32_t r = bk__ssat8(bk__rq(a[i], k->m[ri[i]], k->s[ri[i]], k->oo));
        if (k->clamp) {
            r = (int32_t)(int8_t)(uint8_t)bk__clamp4((uint32_t)r & 0xFFu, k->lo4, k->hi4);
        }
        k->out[ri[i]] = (int8_t)r;
    }
}

static void bk__pw_dsp_rows(bk__pwk_t *k)
{
    int32_t ri[4], got = 0;
    for (int32_t c0 = 0; c0 < k->rows; c0 += 32) {
        uint32_t bits = k->mask != NULL ? k->mask[c0 >> 5] : 0xFFFFFFFFu;
        if (k->rows - c0 < 32) {
            bits &= (1u << (k->rows - c0)) - 1u;
        }
        while (bits != 0u) {
            ri[got++] = c0 + bk__ctz(bits);
            bits &= bits - 1u;
            if (got == 4) {
                bk__pw_block(k, ri);
                got = 0;
            }
        }
    }
    if (got > 0) {
        for (int32_t i = got; i < 4; i++) {
            ri[i] = ri[got - 1];
        }
        bk__pw_block(k, ri);
    }
}
#else
void bk__pw_dsp_rows(bk__pwk_t *k);

/* clang-format off */
__asm(
"    .pushsection .text.bk__pw_dsp_rows,\"ax\",%progbits\n"
"    .syntax unified\n"
"    .thumb\n"
/* next kept row into \\rd: r1 = first row of the mask word, r2 = its bits not taken yet,
 * r3 temp; jumps to \\end when there is none */
"    .macro BKPW_NEXT rd, end\n"
"1:\n"
"    cbnz   r2, 3f\n"
"    adds   r1, r1, #32\n"
"    ldr    r3, [r0, #56]\n"
"    subs   r3, r3, r1\n"             /* rows left */
"    ble    \\end\n"
"    ldr    r2, [r0, #52]\n"
"    cbz    r2, 2f\n"
"    lsrs   \\rd, r1, #5\n"
"    ldr    r2, [r2, \\rd, lsl #2]\n"
"    cmp    r3, #32\n"
"    bge    1b\n"
"    movs   \\rd, #1\n"
"    lsl    \\rd, \\rd, r3\n"
"    subs   \\rd, \\rd, #1\n"
"    ands   r2, r2, \\rd\n"
"    b      1b\n"
"2:\n"
"    mov    r2, #-1\n"
"    cmp    r3, #32\n"
"    bge    3f\n"
"    movs   \\rd, #1\n"
"    lsl    \\rd, \\rd, r3\n"
"    subs   r2, \\rd, #1\n"
"3:\n"
"    rbit   \\rd, r2\n"
"    clz    \\rd, \\rd\n"
"    add    \\rd, \\rd, r1\n"
"    sub    r3, r2, #1\n"
"    and    r2, r2, r3\n"
"    .endm\n"
/* one group of four inputs for the four rows: r1 x, r0 / r2 the input words, r3 / lr temps,
 * r4-r7 accumulators, r8-r11 row pointers */
"    .macro BKPW_G\n"
"    ldrd   r0, r2, [r1], #8\n"
"    ldr    r3, [r8], #4\n"
"    sxtb16 lr, r3\n"
"    smlad  r4, lr, r0, r4\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r4, r3, r2, r4\n"
"    ldr    r3, [r9], #4\n"
"    sxtb16 lr, r3\n"
"    smlad  r5, lr, r0, r5\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r5, r3, r2, r5\n"
"    ldr    r3, [r10], #4\n"
"    sxtb16 lr, r3\n"
"    smlad  r6, lr, r0, r6\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r6, r3, r2, r6\n"
"    ldr    r3, [r11], #4\n"
"    sxtb16 lr, r3\n"
"    smlad  r7, lr, r0, r7\n"
"    sxtb16 r3, r3, ror #8\n"
"    smlad  r7, r3, r2, r7\n"
"    .endm\n"
/* requantise \\a, row index in \\r (overwritten): r2 = multipliers, r3 = shifts, temps r0,
 * r1, ip = 0x80000000, lr = output offset */
"    .macro BKPW_RQ a, r\n"
"    ldr    r1, [r3, \\r, lsl #2]\n"
"    ldr    \\r, [r2, \\r, lsl #2]\n"
"    lsl    \\r, \\r, #1\n"
"    and    r0, \\a, \\r, asr #31\n"
"    mvns   r1, r1\n"
"    bmi    .Lbkpw_p\\@\n"
"    add    r0, r0, \\a, asr #31\n"
"    smmlar r0, \\a, \\r, r0\n"
"    asr    r1, ip, r1\n"
"    smmlsr \\a, r0, r1, lr\n"
".Lbkpw_r\\@:\n"
"    ssat   \\a, #8, \\a\n"
"    .subsection 1\n"
".Lbkpw_p\\@:\n"
"    mvn    r1, r1\n"
"    lsl    r1, \\a, r1\n"
"    and    r0, r1, \\r, asr #31\n"
"    smmlar r0, r1, \\r, r0\n"
"    add    \\a, r0, lr\n"
"    b      .Lbkpw_r\\@\n"
"    .subsection 0\n"
"    .endm\n"
"    .align 2\n"
"    .global bk__pw_dsp_rows\n"
"    .type  bk__pw_dsp_rows, %function\n"
"    .thumb_func\n"
"bk__pw_dsp_rows:\n"                  /* r0 = k */
"    push   {r4-r11, lr}\n"
"    mvn    r1, #31\n"                /* r1 = -32, no bits: the first BKPW_NEXT loads word 0 */
"    movs   r2, #0\n"
".Lbkpw_blk:\n"
"    BKPW_NEXT r4, .Lbkpw_ret\n"
"    BKPW_NEXT r5, .Lbkpw_e1\n"
"    BKPW_NEXT r6, .Lbkpw_e2\n"
"    BKPW_NEXT r7, .Lbkpw_e3\n"
".Lbkpw_go:\n"
"    strd   r1, r2, [r0, #80]\n"
"    stm    r0, {r4-r7}\n"            /* the rows */
"    ldrd   r2, r3, [r0, #20]\n"       /* weights, cols */
"    mla    r8, r4, r3, r2\n"
"    mla    r9, r5, r3, r2\n"
"    mla    r10, r6, r3, r2\n"
"    mla    r11, r7, r3, r2\n"
"    ldr    r2, [r0, #36]\n"          /* bias */
"    cbnz   r2, .Lbkpw_b\n"
"    movs   r4, #0\n"
"    movs   r5, #0\n"
"    movs   r6, #0\n"
"    movs   r7, #0\n"
"    b      .Lbkpw_dot\n"
".Lbkpw_b:\n"
"    ldr    r4, [r2, r4, lsl #2]\n"
"    ldr    r5, [r2, r5, lsl #2]\n"
"    ldr    r6, [r2, r6, lsl #2]\n"
"    ldr    r7, [r2, r7, lsl #2]\n"
".Lbkpw_dot:\n"
"    ldr    ip, [r0, #32]\n"         /* extra, kept on the stack */
"    push   {r0, ip}\n"
"    ldr    r1, [r0, #16]\n"           /* xe */
"    ldr    ip, [r0, #28]\n"
"    cmp    ip, #0\n"
"    beq    .Lbkpw_odd\n"
".Lbkpw_loop:\n"
"    BKPW_G\n"
"    BKPW_G\n"
"    BKPW_G\n"
"    BKPW_G\n"
"    subs   ip, ip, #1\n"
"    bne    .Lbkpw_loop\n"
".Lbkpw_odd:\n"
"    ldr    ip, [sp, #4]\n"          /* groups % 4 | leftover columns << 2 */
"    cmp    ip, #0\n"
"    bne    .Lbkpw_extra\n"
".Lbkpw_rq:\n"
"    ldr    r0, [sp]\n"
"    ldm    r0, {r8-r11}\n"          /* the rows */
"    ldrd   r2, r3, [r0, #40]\n"      /* multipliers, shifts */
"    ldrd   lr, ip, [r0, #60]\n"      /* output offset, 0x80000000 */
"    BKPW_RQ r4, r8\n"
"    BKPW_RQ r5, r9\n"
"    BKPW_RQ r6, r10\n"
"    BKPW_RQ r7, r11\n"
"    pop    {r0, r1}\n"
"    ldr    r2, [r0, #76]\n"
"    cbnz   r2, .Lbkpw_clamp\n"
"    ldr    r2, [r0, #48]\n"          /* out */
"    ldm    r0, {r8-r11}\n"
"    strb   r4, [r2, r8]\n"
"    strb   r5, [r2, r9]\n"
"    strb   r6, [r2, r10]\n"
"    strb   r7, [r2, r11]\n"
".Lbkpw_next:\n"
"    ldrd   r1, r2, [r0, #80]\n"
"    b      .Lbkpw_blk\n"
".Lbkpw_clamp:\n"
"    bfi    r4, r5, #8, #8\n"
"    bfi    r4, r6, #16, #8\n"
"    bfi    r4, r7, #24, #8\n"
"    ldrd   r5, r6, [r0, #68]\n"
"    ssub8  r7, r4, r5\n"
"    sel    r4, r4, r5\n"
"    ssub8  r7, r6, r4\n"
"    sel    r4, r4, r6\n"
"    ldr    r2, [r0, #48]\n"
"    ldm    r0, {r8-r11}\n"
"    strb   r4, [r2, r8]\n"
"    lsrs   r3, r4, #8\n"
"    strb   r3, [r2, r9]\n"
"    lsrs   r3, r4, #16\n"
"    strb   r3, [r2, r10]\n"
"    lsrs   r3, r4, #24\n"
"    strb   r3, [r2, r11]\n"
"    b      .Lbkpw_next\n"
".Lbkpw_extra:\n"                     /* ip = groups % 4 | leftover columns << 2 */
"    tst    ip, #2\n"
"    beq    .Lbkpw_g1\n"
"    BKPW_G\n"
"    BKPW_G\n"
".Lbkpw_g1:\n"
"    ldr    ip, [sp, #4]\n"
"    tst    ip, #1\n"
"    beq    .Lbkpw_cols\n"
"    BKPW_G\n"
".Lbkpw_cols:\n"
"    ldr    ip, [sp, #4]\n"
"    lsrs   ip, ip, #2\n"
"    beq    .Lbkpw_rq\n"
".Lbkpw_col:\n"                       /* one column: x (int16) times each row's weight */
"    ldrsh  r0, [r1], #2\n"
"    ldrsb  r3, [r8], #1\n"
"    mla    r4, r3, r0, r4\n"
"    ldrsb  r3, [r9], #1\n"
"    mla    r5, r3, r0, r5\n"
"    ldrsb  r3, [r10], #1\n"
"    mla    r6, r3, r0, r6\n"
"    ldrsb  r3, [r11], #1\n"
"    mla    r7, r3, r0, r7\n"
"    subs   ip, ip, #1\n"
"    bne    .Lbkpw_col\n"
"    b      .Lbkpw_rq\n"
/* the rows ran out after 1..3 of the block: repeat the last one */
".Lbkpw_e1:\n"
"    mov    r5, r4\n"
".Lbkpw_e2:\n"
"    mov    r6, r5\n"
".Lbkpw_e3:\n"
"    mov    r7, r6\n"
"    ldr    r1, [r0, #56]\n"          /* nothing left after this block */
"    movs   r2, #0\n"
"    b      .Lbkpw_go\n"
".Lbkpw_ret:\n"
"    pop    {r4-r11, pc}\n"
"    .size  bk__pw_dsp_rows, . - bk__pw_dsp_rows\n"
"    .purgem BKPW_NEXT\n"
"    .purgem BKPW_G\n"
"    .purgem BKPW_RQ\n"
"    .popsection\n");
/* clang-format on */
#endif
#endif

bk_status_t bk_pw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t in_ch, int32_t out_ch, const int8_t *input,
                          const int8_t *weights, const int32_t *bias, const uint32_t *out_mask,
                          int8_t *output, void *scratch, size_t scratch_bytes)
{
    const bk_status_t st = bk__fc_check(params, quant, in_ch, out_ch, input, weights, output,
                                        scratch, scratch_bytes, -128, 127);
    if (st != BK_OK) {
        return st;
    }
#if BK_DSP
    int16_t *xe = (int16_t *)scratch;
    bk__expand_s8(input, in_ch, params->input_offset, xe);
    const int32_t groups = in_ch >> 2;
    const int32_t lo = params->act_min, hi = params->act_max;
    bk__pwk_t k = {{0, 0, 0, 0}, xe, weights, in_ch, groups >> 2, (groups & 3) | ((in_ch & 3) << 2), bias,
                   quant->multiplier, quant->shift, output, out_mask, out_ch, params->output_offset,
                   0x80000000u, bk__bytes4(lo), bk__bytes4(hi), lo != -128 || hi != 127, 0, 0};
    bk__pw_dsp_rows(&k);
#else
    /* Reference path: plain C, one kept output at a time. */
    const int32_t off = params->input_offset;
    for (int32_t n = 0; n < out_ch; n++) {
        if (!bk__mkept(out_mask, n)) {
            continue;
        }
        const int8_t *w = weights + (size_t)n * (size_t)in_ch;
        int32_t acc = bias != NULL ? bias[n] : 0;
        for (int32_t k = 0; k < in_ch; k++) {
            acc = bk_add_wrap(acc, w[k] * (input[k] + off));
        }
        output[n] = (int8_t)bk_fc_out(acc, quant->multiplier[n], quant->shift[n], params->output_offset,
                                        params->act_min, params->act_max);
    }
#endif
    return BK_OK;
}
