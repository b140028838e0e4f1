/* Pointwise conv over one frame with an INPUT channel keep-mask (DynCP pw2): int8 input,
 * int8 per-output-channel weights stored input-channel-major [in][out], int32 bias, int8
 * output. A skipped input channel's weight column is never read. TFLM
 * FullyConnectedPerChannel arithmetic over the kept inputs (a skipped input is real zero). */
#include "bk_masked.h"

#if !BK_DSP
/* next kept channel at or after c (n when none) */
static int32_t bk__next_kept(const uint32_t *mask, int32_t c, int32_t n)
{
    while (c < n) {
        if (mask != NULL && ((uint32_t)c & 31u) == 0u && mask[(uint32_t)c >> 5] == 0u) {
            c += 32;
            continue;
        }
        if (bk__mkept(mask, c)) {
            return c;
        }
        c++;
    }
    return n;
}

/* acc[n] += w[n] * xv for one kept input channel (plain C). */
static void bk__axpy1(int32_t *acc, const int8_t *w, int32_t xv, int32_t n0, int32_t n1)
{
    for (int32_t n = n0; n < n1; n++) {
        acc[n] = bk_add_wrap(acc[n], w[n] * xv);
    }
}
#endif

#if BK_DSP
/* DSP path. Kept input channels in quads (k1, k2, k3, k4); for each quad and every four
 * outputs n: one word of each weight row, PKHBT / PKHTB interleave two rows' words into
 * (w1[n], w1[n+1], w2[n], w2[n+1]) and (w1[n+2], w1[n+3], w2[n+2], w2[n+3]), SXTB16 (and
 * ROR 8) split those into the SMLAD operands (w1[j], w2[j]) against (x1, x2), the same for
 * (k3, k4); the four accumulators by one LDM / STM. Per 16 MACs: 4 LDR, 4 PKH, 8 SXTB16,
 * 8 SMLAD, LDM, STM. Quads are filled from the mask by CTZ (whole words of ones as eight
 * quads of consecutive rows, pairs (k, k+2), (k+1, k+3) so that SXTAB16 of one input word
 * gives both (x, x) operands); a last part-filled quad repeats its first row with x = 0
 * (that row is kept, so nothing skipped is read). Then all outputs, four at a time, through
 * the short requantisation (bk_masked.h). The two loops are assembly on the Cortex-M4 (the
 * pass needs all 14 registers), C with -DBK_EMULATE_DSP.
 *
 * When every input channel is kept (no mask, or a frame that keeps them all: the static blocks)
 * the DENSE path runs instead, output-stationary: per block of four outputs the accumulators stay
 * in registers while the input channels stream past in pairs (k, k + 1), the rows addressed from
 * one pointer by the stride (p, p + s, p + 2s, p + 3s for two pairs), the pair words
 * (x[k] + off, x[k + 1] + off) precomputed on the stack: per pair one input word load, two row
 * loads, PKHBT / PKHTB, 4 SXTB16, 4 SMLAD (14 instructions, 15 cycles_est per 8 MACs with the
 * pointer step) and no accumulator traffic in the loop; LDM / STM of the accumulators once per
 * block and range of up to 256 channels. The quad pass above is 26 instructions but 36
 * cycles_est per 16 MACs (LDM / STM 5 each; docs/cycles.md): fewer instructions, more cycles.
 * Masked frames keep the quad pass (a list of kept pairs, which the dense loop would need,
 * costs about as much as the accumulator traffic it saves). */
typedef struct {
    const int8_t *r[4];
    int16_t x[4]; /* inputs + offset: the words (x1, x2), (x3, x4) are the SMLAD operands */
} bk__pwt_quad_t;

/* output stage constants (the assembly's offsets) */
typedef struct {
    int32_t oo;     /* 0: output offset */
    uint32_t c80;   /* 4: 0x80000000 */
    uint32_t lo4;   /* 8 */
    uint32_t hi4;   /* 12 */
    int32_t clamp;  /* 16: 0 when [act_min, act_max] is all of int8 */
} bk__oq_t;

#define BK__PWT_NQ 8
#define BK__PWT_DENSE 256 /* input channels per dense range: at most 128 pairs */

/* one range over all output blocks: the assembly's context (offsets) */
typedef struct {
    int32_t *acc;          /* 0: accumulators [4 n4] (advanced) */
    const void *pairs;     /* 4: dense: uint32_t words; list: bk__pwt_pair_t */
    const int8_t *w;       /* 8: the range's first row, column of the block (advanced by 4) */
    int32_t stride;        /* 12: out_ch */
    int32_t npairs;        /* 16 */
    int32_t blocks;        /* 20: n4 (counted down) */
} bk__pwt_run_t;


#if defined(BK_DSP_EMULATED)
static void bk__pwt_passes(int32_t *acc, const bk__pwt_quad_t *q, int32_t nq, int32_t n4)
{
    for (int32_t i = 0; i < nq; i++) {
        const int8_t *r1 = q[i].r[0], *r2 = q[i].r[1], *r3 = q[i].r[2], *r4 = q[i].r[3];
        const uint32_t xp12 = bk__read_u32(&q[i].x[0]), xp34 = bk__read_u32(&q[i].x[2]);
        int32_t *a = acc;
        for (int32_t g = 0; g < n4; g++) {
            uint32_t A = bk__read_u32(r1), B = bk__read_u32(r2);
            uint32_t T = bk__pkhbt(A, B); /* PKHBT A, B, LSL #16 */
            A = bk__pkhtb(B, A);          /* PKHTB B, A, ASR #16 */
            a[0] = bk__smlad(bk__sxtb16(T), xp12, a[0]);
            a[1] = bk__smlad(bk__sxtb16_ror8(T), xp12, a[1]);
            a[2] = bk__smlad(bk__sxtb16(A), xp12, a[2]);
            a[3] = bk__smlad(bk__sxtb16_ror8(A), xp12, a[3]);
            A = bk__read_u32(r3);
            B = bk__read_u32(r4);
            T = bk__pkhbt(A, B);
            A = bk__pkhtb(B, A);
            a[0] = bk__smlad(bk__sxtb16(T), xp34, a[0]);
            a[1] = bk__smlad(bk__sxtb16_ror8(T), xp34, a[1]);
            a[2] = bk__smlad(bk__sxtb16(A), xp34, a[2]);
            a[3] = bk__smlad(bk__sxtb16_ror8(A), xp34, a[3]);
            r1 += 4;
            r2 += 4;
            r3 += 4;
            r4 += 4;
            a += 4;
        }
    }
}

/* the four products of one pair for one block (C twin of the assembly's pair step) */
static void bk__pwt_pair4(int32_t *a, uint32_t A, uint32_t B, uint32_t xp)
{
    const uint32_t T = bk__pkhbt(A, B); /* PKHBT A, B, LSL #16 */
    A = bk__pkhtb(B, A);                /* PKHTB B, A, ASR #16 */
    a[0] = bk__smlad(bk__sxtb16(T), xp, a[0]);
    a[1] = bk__smlad(bk__sxtb16_ror8(T), xp, a[1]);
    a[2] = bk__smlad(bk__sxtb16(A), xp, a[2]);
    a[3] = bk__smlad(bk__sxtb16_ror8(A), xp, a[3]);
}

static void bk__pwt_dense(bk__pwt_run_t *r)
{
    const uint32_t *xe = (const uint32_t *)r->pairs;
    for (; r->blocks > 0; r->blocks--) {
        int32_t a[4];
        memcpy(a, r->acc, sizeof a);
        const int8_t *p = r->w;
        for (int32_t i = 0; i < r->npairs; i++) {
            bk__pwt_pair4(a, bk__read_u32(p), bk__read_u32(p + r->stride), xe[i]);
            p += 2 * r->stride;
        }
        memcpy(r->acc, a, sizeof a);
        r->acc += 4;
        r->w += 4;
    }
}

static void bk__rq_run4(const int32_t *acc, const int32_t *m, const int32_t *s, int8_t *out, int32_t n4,
                        const bk__oq_t *q)
{
    const uint32_t lo4 = q->clamp ? q->lo4 : 0x80808080u, hi4 = q->clamp ? q->hi4 : 0x7F7F7F7Fu;
    for (int32_t g = 0; g < n4; g++) {
        bk__write_u32m(out, bk__out4(acc[0], acc[1], acc[2], acc[3], m, s, q->oo, lo4, hi4));
        acc += 4;
        m += 4;
        s += 4;
        out += 4;
    }
}
#else
void bk__pwt_dense(bk__pwt_run_t *r);
void bk__pwt_passes(int32_t *acc, const bk__pwt_quad_t *q, int32_t nq, int32_t n4);
void bk__rq_run4(const int32_t *acc, const int32_t *m, const int32_t *s, int8_t *out, int32_t n4,
                 const bk__oq_t *q);

/* clang-format off */
__asm(
"    .pushsection .text.bk__pwt_passes,\"ax\",%progbits\n"
"    .syntax unified\n"
"    .thumb\n"
/* four outputs, four rows: r0 acc, r1-r4 rows, r5 xp12, r6 xp34, r7-r10 accumulators,
 * r11 / ip / lr temps */
"    .macro BKPWT_Q\n"
"    ldr    r11, [r1], #4\n"
"    ldr    ip, [r2], #4\n"
"    ldm    r0, {r7-r10}\n"
"    pkhbt  lr, r11, ip, lsl #16\n"
"    pkhtb  r11, ip, r11, asr #16\n"
"    sxtb16 ip, lr\n"
"    smlad  r7, ip, r5, r7\n"
"    sxtb16 lr, lr, ror #8\n"
"    smlad  r8, lr, r5, r8\n"
"    sxtb16 ip, r11\n"
"    smlad  r9, ip, r5, r9\n"
"    sxtb16 r11, r11, ror #8\n"
"    smlad  r10, r11, r5, r10\n"
"    ldr    r11, [r3], #4\n"
"    ldr    ip, [r4], #4\n"
"    pkhbt  lr, r11, ip, lsl #16\n"
"    pkhtb  r11, ip, r11, asr #16\n"
"    sxtb16 ip, lr\n"
"    smlad  r7, ip, r6, r7\n"
"    sxtb16 lr, lr, ror #8\n"
"    smlad  r8, lr, r6, r8\n"
"    sxtb16 ip, r11\n"
"    smlad  r9, ip, r6, r9\n"
"    sxtb16 r11, r11, ror #8\n"
"    smlad  r10, r11, r6, r10\n"
"    stmia  r0!, {r7-r10}\n"
"    .endm\n"
"    .align 2\n"
"    .global bk__pwt_passes\n"
"    .type  bk__pwt_passes, %function\n"
"    .thumb_func\n"
"bk__pwt_passes:\n"                   /* r0 acc, r1 quads, r2 count, r3 n4 */
"    push   {r4-r11, lr}\n"
"    sub    sp, sp, #24\n"
"    add    r2, r2, r2, lsl #1\n"
"    add    r2, r1, r2, lsl #3\n"    /* end of the quads (24 bytes each) */
"    strd   r0, r1, [sp]\n"          /* [sp] acc, [sp, #4] next quad */
"    str    r2, [sp, #8]\n"          /* [sp, #8] end of the quads */
"    and    r4, r3, #3\n"
"    str    r4, [sp, #12]\n"         /* [sp, #12] n4 % 4 */
"    lsrs   r4, r3, #2\n"
"    str    r4, [sp, #20]\n"         /* [sp, #20] blocks of 16 outputs */
"    add    r4, r0, r4, lsl #6\n"
"    str    r4, [sp, #16]\n"         /* [sp, #16] acc past them */
".Lbkpwt_quad:\n"
"    ldr    r0, [sp, #4]\n"
"    ldm    r0!, {r1-r6}\n"          /* rows, (x1, x2), (x3, x4) */
"    str    r0, [sp, #4]\n"
"    ldr    r0, [sp]\n"
"    ldr    r7, [sp, #20]\n"
"    cmp    r7, #0\n"
"    beq    .Lbkpwt_rest\n"
".Lbkpwt_loop:\n"
"    BKPWT_Q\n"
"    BKPWT_Q\n"
"    BKPWT_Q\n"
"    BKPWT_Q\n"
"    ldr    lr, [sp, #16]\n"
"    cmp    r0, lr\n"
"    bne    .Lbkpwt_loop\n"
".Lbkpwt_rest:\n"
"    ldr    r7, [sp, #12]\n"
"    cmp    r7, #0\n"
"    beq    .Lbkpwt_next\n"
"    tst    r7, #2\n"
"    beq    .Lbkpwt_r1\n"
"    BKPWT_Q\n"
"    BKPWT_Q\n"
".Lbkpwt_r1:\n"
"    ldr    r7, [sp, #12]\n"
"    tst    r7, #1\n"
"    beq    .Lbkpwt_next\n"
"    BKPWT_Q\n"
".Lbkpwt_next:\n"
"    ldrd   r7, r8, [sp, #4]\n"
"    cmp    r7, r8\n"
"    bne    .Lbkpwt_quad\n"
"    add    sp, sp, #24\n"
"    pop    {r4-r11, pc}\n"
"    .size  bk__pwt_passes, . - bk__pwt_passes\n"
"    .purgem BKPWT_Q\n"
"    .popsection\n"
/* the pair step after its loads: r8 input word, r9 / r10 the two rows' words, r11 temp,
 * r4-r7 the block's accumulators */
"    .macro BKPWT_MAC\n"
"    pkhbt  r11, r9, r10, lsl #16\n"
"    pkhtb  r9, r10, r9, asr #16\n"
"    sxtb16 r10, r11\n"
"    smlad  r4, r10, r8, r4\n"
"    sxtb16 r11, r11, ror #8\n"
"    smlad  r5, r11, r8, r5\n"
"    sxtb16 r10, r9\n"
"    smlad  r6, r10, r8, r6\n"
"    sxtb16 r9, r9, ror #8\n"
"    smlad  r7, r9, r8, r7\n"
"    .endm\n"
/* dense: two pairs, rows p, p + s, p + 2s, p + 3s (r2 p, r3 s, lr 3s), r1 the input words */
"    .macro BKPWT_D2\n"
"    ldr    r8, [r1], #4\n"
"    ldr    r9, [r2]\n"
"    ldr    r10, [r2, r3]\n"
"    BKPWT_MAC\n"
"    ldr    r8, [r1], #4\n"
"    ldr    r9, [r2, r3, lsl #1]\n"
"    ldr    r10, [r2, lr]\n"
"    add    r2, r2, r3, lsl #2\n"
"    BKPWT_MAC\n"
"    .endm\n"
"    .pushsection .text.bk__pwt_dense,\"ax\",%progbits\n"
"    .align 2\n"
"    .global bk__pwt_dense\n"
"    .type  bk__pwt_dense, %function\n"
"    .thumb_func\n"
"bk__pwt_dense:\n"                    /* r0 = run */
"    push   {r0, r4-r11, lr}\n"
".Lbkpwtd_blk:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0]\n"               /* acc */
"    ldm    ip, {r4-r7}\n"
"    ldrd   r1, r2, [r0, #4]\n"       /* input words, rows */
"    ldr    r3, [r0, #12]\n"          /* stride */
"    add    lr, r3, r3, lsl #1\n"
"    ldr    ip, [r0, #16]\n"          /* pairs */
"    lsrs   ip, ip, #3\n"
"    beq    .Lbkpwtd_rest\n"
".Lbkpwtd_loop:\n"
"    BKPWT_D2\n"
"    BKPWT_D2\n"
"    BKPWT_D2\n"
"    BKPWT_D2\n"
"    subs   ip, ip, #1\n"
"    bne    .Lbkpwtd_loop\n"
".Lbkpwtd_rest:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0, #16]\n"
"    tst    ip, #4\n"
"    beq    .Lbkpwtd_two\n"
"    BKPWT_D2\n"
"    BKPWT_D2\n"
".Lbkpwtd_two:\n"
"    tst    ip, #2\n"
"    beq    .Lbkpwtd_one\n"
"    BKPWT_D2\n"
".Lbkpwtd_one:\n"
"    tst    ip, #1\n"
"    beq    .Lbkpwtd_end\n"
"    ldr    r8, [r1], #4\n"
"    ldr    r9, [r2]\n"
"    ldr    r10, [r2, r3]\n"
"    BKPWT_MAC\n"
".Lbkpwtd_end:\n"
"    ldr    r0, [sp]\n"
"    ldr    ip, [r0]\n"
"    stm    ip!, {r4-r7}\n"
"    str    ip, [r0]\n"
"    ldr    r2, [r0, #8]\n"
"    adds   r2, r2, #4\n"
"    str    r2, [r0, #8]\n"
"    ldr    r1, [r0, #20]\n"
"    subs   r1, r1, #1\n"
"    str    r1, [r0, #20]\n"
"    bne    .Lbkpwtd_blk\n"
"    pop    {r0, r4-r11, pc}\n"
"    .size  bk__pwt_dense, . - bk__pwt_dense\n"
"    .popsection\n"
"    .purgem BKPWT_MAC\n"
"    .purgem BKPWT_D2\n"
"    .pushsection .text.bk__rq_run4,\"ax\",%progbits\n"
/* requantise r4 + \\j (accumulator) with multiplier [r1], shift [r2] (post-increment):
 * temps r8, r9, r10; ip = 0x80000000, lr = output offset */
"    .macro BKRQ_ONE a\n"
"    ldr    r8, [r1], #4\n"
"    ldr    r9, [r2], #4\n"
"    lsl    r8, r8, #1\n"
"    and    r10, \\a, r8, asr #31\n"
"    mvns   r9, r9\n"
"    bmi    .Lbkrq_p\\@\n"
"    add    r10, r10, \\a, asr #31\n"
"    smmlar r10, \\a, r8, r10\n"
"    asr    r9, ip, r9\n"
"    smmlsr \\a, r10, r9, lr\n"
".Lbkrq_r\\@:\n"
"    ssat   \\a, #8, \\a\n"
"    .subsection 1\n"
".Lbkrq_p\\@:\n"
"    mvn    r9, r9\n"
"    lsl    r9, \\a, r9\n"
"    and    r10, r9, r8, asr #31\n"
"    smmlar r10, r9, r8, r10\n"
"    add    \\a, r10, lr\n"
"    b      .Lbkrq_r\\@\n"
"    .subsection 0\n"
"    .endm\n"
"    .macro BKRQ_BLOCK\n"
"    ldm    r0!, {r4-r7}\n"
"    BKRQ_ONE r4\n"
"    BKRQ_ONE r5\n"
"    BKRQ_ONE r6\n"
"    BKRQ_ONE r7\n"
"    bfi    r4, r5, #8, #8\n"
"    bfi    r4, r6, #16, #8\n"
"    bfi    r4, r7, #24, #8\n"
"    .endm\n"
"    .align 2\n"
"    .global bk__rq_run4\n"
"    .type  bk__rq_run4, %function\n"
"    .thumb_func\n"
"bk__rq_run4:\n"                      /* r0 acc, r1 m, r2 s, r3 out, [sp] n4, [sp, #4] q */
"    push   {r4-r11, lr}\n"
"    ldrd   r11, r4, [sp, #36]\n"     /* n4, q */
"    cmp    r11, #0\n"
"    ble    .Lbkrq_ret\n"
"    add    r11, r3, r11, lsl #2\n"   /* end of out */
"    ldrd   lr, ip, [r4]\n"           /* output offset, 0x80000000 */
"    ldr    r5, [r4, #16]\n"
"    cmp    r5, #0\n"
"    bne    .Lbkrq_clamp\n"
".Lbkrq_loop:\n"                      /* SSAT alone clamps */
"    BKRQ_BLOCK\n"
"    str    r4, [r3], #4\n"
"    cmp    r3, r11\n"
"    bne    .Lbkrq_loop\n"
".Lbkrq_ret:\n"
"    pop    {r4-r11, pc}\n"
".Lbkrq_clamp:\n"
"    push   {r4}\n"
".Lbkrq_cloop:\n"
"    BKRQ_BLOCK\n"
"    ldr    r8, [sp]\n"
"    ldrd   r9, r10, [r8, #8]\n"
"    ssub8  r5, r4, r9\n"
"    sel    r4, r4, r9\n"
"    ssub8  r5, r10, r4\n"
"    sel    r4, r4, r10\n"
"    str    r4, [r3], #4\n"
"    cmp    r3, r11\n"
"    bne    .Lbkrq_cloop\n"
"    pop    {r4}\n"
"    pop    {r4-r11, pc}\n"
"    .size  bk__rq_run4, . - bk__rq_run4\n"
"    .purgem BKRQ_ONE\n"
"    .purgem BKRQ_BLOCK\n"
"    .popsection\n");
/* clang-format on */
#endif

static inline uint32_t bk__pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* acc[n] += the quad's four products for the outputs n0 .. n1-1 past the word loop */
static void bk__pwt_tail(int32_t *acc, const bk__pwt_quad_t *q, int32_t n0, int32_t n1);

/* run nq quads: the assembly over the outputs in words, C over the out_ch % 4 last */
static void bk__pwt_flush(int32_t *acc, const bk__pwt_quad_t *q, int32_t nq, int32_t n4, int32_t out_ch)
{
    if (nq <= 0) {
        return;
    }
    if (n4 > 0) {
        bk__pwt_passes(acc, q, nq, n4);
    }
    for (int32_t i = 0; i < nq && (n4 << 2) < out_ch; i++) {
        bk__pwt_tail(acc, q + i, n4 << 2, out_ch);
    }
}


static void bk__pwt_tail(int32_t *acc, const bk__pwt_quad_t *q, int32_t n0, int32_t n1)
{
    const int32_t x1 = q->x[0], x2 = q->x[1], x3 = q->x[2], x4 = q->x[3];
    for (int32_t n = n0; n < n1; n++) {
        int32_t a = acc[n];
        a = bk_add_wrap(a, q->r[0][n] * x1);
        a = bk_add_wrap(a, q->r[1][n] * x2);
        a = bk_add_wrap(a, q->r[2][n] * x3);
        acc[n] = bk_add_wrap(a, q->r[3][n] * x4);
    }
}

/* acc[n] += w[n] * xv over all outputs (one channel, C) */
static void bk__axpy1d(int32_t *acc, const int8_t *w, int32_t xv, int32_t out_ch)
{
    for (int32_t n = 0; n < out_ch; n++) {
        acc[n] = bk_add_wrap(acc[n], w[n] * xv);
    }
}

/* every channel of [c0, c0 + n) kept */
static int bk__pwt_all_kept(const uint32_t *mask, int32_t c0, int32_t n)
{
    if (mask == NULL) {
        return 1;
    }
    for (int32_t j = 0; j < n; j += 32) {
        const int32_t left = n - j;
        const uint32_t want = left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1u;
        if ((mask[(c0 + j) >> 5] & want) != want) {
            return 0;
        }
    }
    return 1;
}

/* The dense path over input channels [c0, c0 + n), every one kept, n <= BK__PWT_DENSE: the pair
 * words on the stack, the assembly over all output blocks, C for the out_ch % 4 last outputs and
 * an odd last channel. */
static void bk__pwt_dense_range(int32_t *acc, const int8_t *input, const int8_t *weights, int32_t off,
                                int32_t out_ch, int32_t c0, int32_t n)
{
    uint32_t xe[BK__PWT_DENSE / 2];
    const size_t stride = (size_t)out_ch;
    const int32_t n4 = out_ch >> 2;
    /* four inputs a word: SXTAB16 gives (x0, x2), (x1, x3) plus the offset, PKHBT / PKHTB the
     * pair words (x0, x1), (x2, x3) */
    const uint32_t offp = bk__pack16(off, off);
    const int8_t *x = input + c0;
    int32_t np = 0, i = 0;
    for (; i + 3 < n; i += 4) {
        const uint32_t v = bk__read_u32(x + i);
        const uint32_t e = bk__sxtab16(offp, v), o = bk__sxtab16_ror8(offp, v);
        xe[np] = bk__pkhbt(e, o);
        xe[np + 1] = bk__pkhtb(o, e);
        np += 2;
    }
    for (; i + 1 < n; i += 2) {
        xe[np++] = bk__pack16(x[i] + off, x[i + 1] + off);
    }
    if (np > 0 && n4 > 0) {
        bk__pwt_run_t run = {acc, xe, weights + (size_t)c0 * stride, out_ch, np, n4};
        bk__pwt_dense(&run);
    }
    for (int32_t nn = n4 << 2; nn < out_ch; nn++) { /* the last outputs */
        int32_t a = acc[nn];
        for (int32_t k = c0; k < c0 + 2 * np; k++) {
            a = bk_add_wrap(a, weights[(size_t)k * stride + (size_t)nn] * (input[k] + off));
        }
        acc[nn] = a;
    }
    if (n & 1) { /* an odd last channel */
        const int32_t k = c0 + n - 1;
        bk__axpy1d(acc, weights + (size_t)k * stride, input[k] + off, out_ch);
    }
}
#endif

bk_status_t bk_pw_conv_t_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                            int32_t in_ch, int32_t out_ch, const int8_t *input,
                            const int8_t *weights, const int32_t *bias, const uint32_t *in_mask,
                            int8_t *output, void *scratch, size_t scratch_bytes)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || weights == NULL || output == NULL) {
        return BK_ERR_NULL;
    }
    if (in_ch < 1 || out_ch < 1) {
        return BK_ERR_SIZE;
    }
    if (params->act_min > params->act_max || params->act_min < -128 || params->act_max > 127 ||
        params->input_offset < -128 || params->input_offset > 128) {
        return BK_ERR_PARAM;
    }
    if (!bk__scratch_ok(scratch, scratch_bytes, BK_PW_T_SCRATCH_BYTES(out_ch))) {
        return BK_ERR_SCRATCH;
    }
    int32_t *acc = (int32_t *)scratch;
    const int32_t off = params->input_offset;
    const size_t stride = (size_t)out_ch;
    const int32_t *m = quant->multiplier, *s = quant->shift;
#if BK_DSP
    if (bias != NULL) {
        memcpy(acc, bias, (size_t)out_ch * sizeof *acc);
    } else {
        memset(acc, 0, (size_t)out_ch * sizeof *acc);
    }
    const int32_t n4 = out_ch >> 2, nw = n4 << 2;
    const int all = bk__pwt_all_kept(in_mask, 0, in_ch);
    for (int32_t c0 = 0; all && c0 < in_ch; c0 += BK__PWT_DENSE) {
        bk__pwt_dense_range(acc, input, weights, off, out_ch, c0,
                            in_ch - c0 < BK__PWT_DENSE ? in_ch - c0 : BK__PWT_DENSE);
    }
    const uint32_t offp = bk__pack16(off, off);
    bk__pwt_quad_t q[BK__PWT_NQ];
    bk__pwt_quad_t *p = q; /* the quad being filled */
    int32_t got = 0;
    for (int32_t c0 = 0; !all && c0 < in_ch; c0 += 32) {
        const int32_t left = in_ch - c0;
        uint32_t bits = in_mask != NULL ? in_mask[c0 >> 5] : 0xFFFFFFFFu;
        if (left < 32) {
            bits &= (1u << left) - 1u;
        }
        if (bits == 0xFFFFFFFFu && got == 0) {
            /* 32 consecutive kept inputs: eight quads (k, k+2, k+1, k+3) */
            const int8_t *w = weights + (size_t)c0 * stride;
            const int8_t *x = input + c0;
            for (int32_t i = 0; i < 8; i++) {
                const uint32_t X = bk__read_u32(x);
                p->r[0] = w;
                p->r[1] = w + 2u * stride;
                p->r[2] = w + stride;
                p->r[3] = w + 3u * stride;
                bk__write_u32m(&p->x[0], bk__sxtab16(offp, X));
                bk__write_u32m(&p->x[2], bk__sxtab16_ror8(offp, X));
                x += 4;
                w += 4u * stride;
                if (++p == q + BK__PWT_NQ) {
                    bk__pwt_flush(acc, q, BK__PWT_NQ, n4, out_ch);
                    p = q;
                }
            }
            continue;
        }
        while (bits != 0u) {
            const int32_t k = c0 + bk__ctz(bits);
            bits &= bits - 1u;
            p->r[got] = weights + (size_t)k * stride;
            p->x[got] = (int16_t)(input[k] + off);
            if (++got == 4) {
                got = 0;
                if (++p == q + BK__PWT_NQ) {
                    bk__pwt_flush(acc, q, BK__PWT_NQ, n4, out_ch);
                    p = q;
                }
            }
        }
    }
    if (got > 0) {
        /* a part-filled quad: the missing rows repeat the first one with x = 0 */
        for (int32_t j = got; j < 4; j++) {
            p->r[j] = p->r[0];
            p->x[j] = 0;
        }
        p++;
    }
    bk__pwt_flush(acc, q, (int32_t)(p - q), n4, out_ch);
    const int32_t lo = params->act_min, hi = params->act_max, oo = params->output_offset;
    const bk__oq_t oq = {oo, 0x80000000u, bk__bytes4(lo), bk__bytes4(hi), lo != -128 || hi != 127};
    if (n4 > 0) {
        bk__rq_run4(acc, m, s, output, n4, &oq);
    }
    for (int32_t n = nw; n < out_ch; n++) {
        output[n] = (int8_t)bk__out1(acc[n], m[n], s[n], oo, lo, hi);
    }
#else
    /* Reference path: one kept input at a time. */
    for (int32_t n = 0; n < out_ch; n++) {
        acc[n] = bias != NULL ? bias[n] : 0;
    }
    int32_t k = bk__next_kept(in_mask, 0, in_ch);
    while (k < in_ch) {
        bk__axpy1(acc, weights + (size_t)k * stride, input[k] + off, 0, out_ch);
        k = bk__next_kept(in_mask, k + 1, in_ch);
    }
    for (int32_t n = 0; n < out_ch; n++) {
        output[n] = (int8_t)bk_fc_out(acc[n], m[n], s[n], params->output_offset, params->act_min,
                                        params->act_max);
    }
#endif
    return BK_OK;
}
