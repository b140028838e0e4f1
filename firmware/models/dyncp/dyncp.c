/* DynCP Conv-FSENet runner (see dyncp.h). Every float expression mirrors
 * bench/models/dyncp/intnet.py and bench/models/common/fft32.py operation for operation; build with
 * -ffp-contract=off. */
#include "dyncp.h"

#include <string.h>

#include "bk_fft_f32.h"
#include "dyncp_ops.h"

/* ---- FFT: 256-point radix-4 complex FFT, decimation in time, four stages bottom-up (bk_fft_f32.h);
 * input in leaf order (DC_PERM), output in natural order, in place (fft32.RealFft.fft). ---- */

void dc_fft256(float *re, float *im)
{
    bk__fft_stage4(re, im, DC_FFT, 1, DC_TW0_RE, DC_TW0_IM);
    bk__fft_stage4(re, im, DC_FFT, 4, DC_TW1_RE, DC_TW1_IM);
    bk__fft_stage4(re, im, DC_FFT, 16, DC_TW2_RE, DC_TW2_IM);
    bk__fft_stage4(re, im, DC_FFT, 64, DC_TW3_RE, DC_TW3_IM);
}

void dc_rfft512(const float *frame, float *xr, float *xi)
{
    float zr[DC_FFT], zi[DC_FFT];
    for (int p = 0; p < DC_FFT; p++) {
        const int i = 2 * DC_PERM[p];
        zr[p] = frame[i] * DC_WIN[i];
        zi[p] = frame[i + 1] * DC_WIN[i + 1];
    }
    dc_fft256(zr, zi);
    bk__rfft_split(zr, zi, DC_FFT, DC_SPLIT_COS, DC_SPLIT_SIN, DC_HALF, xr, xi);
}

void dc_irfft512(const float *yr, const float *yi, float *y)
{
    float vr[DC_FFT], vi[DC_FFT], zr[DC_FFT], zi[DC_FFT];
    bk__irfft_split(yr, yi, DC_FFT, DC_SPLIT_COS, DC_SPLIT_SIN, vr, vi);
    bk__irfft_permute(vr, vi, DC_PERM, DC_FFT, zr, zi);
    dc_fft256(zr, zi);
    bk__irfft_unpack(zr, zi, DC_FFT, y);
}

/* ---- features: -128 + #{j : P >= DC_THR[j]} (intnet.features_int8: searchsorted, side right).
 * P = Xr^2 + Xi^2 is +0 or positive and so are the thresholds, so float order is the order of
 * the bit patterns as unsigned integers: the count compares bits. A bucket is the float's exponent
 * and top DC_FBITS mantissa bits (bits >> DC_FSHIFT); dc_fstart[bucket] is the count at the
 * bucket's smallest float, so the count of any P in the bucket is that plus the thresholds inside
 * the bucket that P reaches, found by comparison (at most 2 per bucket for the shipped models:
 * 1-3 comparisons, against 8 steps of a binary search). Buckets below the first threshold's start
 * at 0; above the last threshold's bucket, P clamps to it (a scan from its start stays exact).
 * dc_thr_bits[255], above every finite float, ends every scan. Built once from DC_THR
 * (dc_reset, or the first dc_feature); a threshold span too wide for the table falls back to the
 * binary search. Exact by construction, whatever the thresholds. ---- */
#define DC_FBITS 4
#define DC_FSHIFT (23 - DC_FBITS)
#define DC_FKEYS_MAX 1024
static uint32_t dc_thr_bits[256];
static uint8_t dc_fstart[DC_FKEYS_MAX];
static int32_t dc_fkey_lo, dc_fkeys; /* dc_fkeys 0: the binary search */
static int dc_fready;

static void dc_feature_init(void)
{
    for (int j = 0; j < 255; j++)
        memcpy(&dc_thr_bits[j], &DC_THR[j], sizeof dc_thr_bits[j]);
    dc_thr_bits[255] = 0xFFFFFFFFu;
    const int32_t k0 = (int32_t)(dc_thr_bits[0] >> DC_FSHIFT);
    const int32_t lo = k0 > 0 ? k0 - 1 : 0, hi = (int32_t)(dc_thr_bits[254] >> DC_FSHIFT);
    dc_fkeys = 0;
    if (hi - lo + 1 <= DC_FKEYS_MAX) {
        int n = 0;
        for (int32_t k = 0; k <= hi - lo; k++) {
            const uint32_t b = (uint32_t)(lo + k) << DC_FSHIFT; /* the bucket's smallest float */
            while (n < 255 && dc_thr_bits[n] <= b)
                n++;
            dc_fstart[k] = (uint8_t)n;
        }
        dc_fkey_lo = lo;
        dc_fkeys = hi - lo + 1;
    }
    dc_fready = 1;
}

static inline int8_t dc_feature_bits(uint32_t b)
{
    int n = 0;
    if (dc_fkeys > 0) {
        int32_t k = (int32_t)(b >> DC_FSHIFT) - dc_fkey_lo;
        k = k < 0 ? 0 : k;
        k = k < dc_fkeys ? k : dc_fkeys - 1;
        n = dc_fstart[k];
        while (b >= dc_thr_bits[n])
            n++;
    } else {
        for (int step = 128; step > 0; step >>= 1) {
            if (n + step <= 255 && b >= dc_thr_bits[n + step - 1])
                n += step;
        }
    }
    return (int8_t)(n - 128);
}

int8_t dc_feature(float p)
{
    uint32_t b;
    if (!dc_fready)
        dc_feature_init();
    memcpy(&b, &p, sizeof b);
    return dc_feature_bits(b);
}

/* round half away from zero of a float already within the int range (fft32.round_half_away) */
static int32_t dc_round(float v)
{
    int32_t t = (int32_t)v;
    const float f = v - (float)t;
    if (f >= DC_HALF)
        t += 1;
    if (f <= -DC_HALF)
        t -= 1;
    return t;
}

/* ---- state ---------------------------------------------------------------------------- */

void dc_reset(dc_state_t *s)
{
    if (!dc_fready)
        dc_feature_init();
    memset(s->prev, 0, sizeof s->prev);
    memset(s->ola, 0, sizeof s->ola);
    for (int i = 0; i < DC_N_BLOCKS; i++) {
        const dc_block_t *b = &dc_blocks[i];
        memset(s->ring + b->ring_offset, b->ring_zero, (size_t)(2 * b->dilation * DC_C));
        s->pos[i] = 0;
    }
    memset(s->masks, 0xFF, sizeof s->masks);
    s->last_macs = 0;
}

/* ---- stages ------------------------------------------------------------------------- */

void dc_analysis(dc_state_t *s, const int16_t *in)
{
    float frame[DC_FRAME];
    for (int n = 0; n < DC_HOP; n++) {
        frame[n] = (float)s->prev[n];
        frame[DC_HOP + n] = (float)in[n];
    }
    memcpy(s->prev, in, sizeof s->prev);
    dc_rfft512(frame, s->xr, s->xi);
    if (!dc_fready)
        dc_feature_init();
    for (int k = 0; k < DC_BINS; k++) {
        const float p = s->xr[k] * s->xr[k] + s->xi[k] * s->xi[k];
        uint32_t b;
        memcpy(&b, &p, sizeof b);
        s->feat[k] = dc_feature_bits(b);
    }
}

static void dc_fc(dc_state_t *s, const dc_fc_t *L, int32_t n_in, int32_t n_out, const int8_t *x, int8_t *y)
{
    const bk_fc_params_t p = {L->in_offset, L->out_offset, L->act_min, L->act_max};
    const bk_per_channel_t q = {L->mult, L->shift};
    (void)bk_fc_s8(&p, &q, n_in, n_out, x, L->w, L->b, y, s->scratch, sizeof s->scratch);
}

/* the gate: channel c kept iff gate_out[c] > 0 (its accumulator is positive) */
static void dc_gate(dc_state_t *s, const dc_block_t *b, uint32_t *mask)
{
    const int8_t *gin = s->x;
    int32_t n_in = DC_R;
    if (b->has_hidden) {
        dc_fc(s, &b->gate_hidden, DC_R, DC_G, s->x, s->gh);
        gin = s->gh;
        n_in = DC_G;
    }
    dc_fc(s, &b->gate_out, n_in, DC_C, gin, s->go);
    for (int w = 0; w < DC_MASK_WORDS; w++) {
        uint32_t m = 0;
        for (int j = 0; j < 32 && w * 32 + j < DC_C; j++)
            m |= (uint32_t)(s->go[w * 32 + j] > 0) << j;
        mask[w] = m;
    }
}

void dc_network(dc_state_t *s)
{
    dc_fc(s, &dc_frontend, DC_BINS, DC_R, s->feat, s->x);
    uint32_t macs = DC_IO_MACS;
    for (int i = 0; i < DC_N_BLOCKS; i++) {
        const dc_block_t *b = &dc_blocks[i];
        const uint32_t *mask = NULL;
        uint32_t kept = DC_C;
        if (b->gated) {
            dc_gate(s, b, s->masks[i]);
            mask = s->masks[i];
            kept = dc_popcount(mask, DC_C);
            macs += DC_GATE_MACS;
        }
        s->kept[i] = (uint16_t)kept;
        macs += kept * DC_CHANNEL_MACS;
        const dc_fc_t *L = &b->pw1;
        bk_fc_params_t p = {L->in_offset, L->out_offset, L->act_min, L->act_max};
        bk_per_channel_t q = {L->mult, L->shift};
        (void)bk_pw_conv_s8(&p, &q, DC_R, DC_C, s->x, L->w, L->b, mask, s->v, s->scratch, sizeof s->scratch);
        dc_act_s8(&b->act1, s->v, s->h, mask, DC_C);
        L = &b->dw;
        p = (bk_fc_params_t){L->in_offset, L->out_offset, L->act_min, L->act_max};
        q = (bk_per_channel_t){L->mult, L->shift};
        (void)bk_dw_conv_s8(&p, &q, DC_C, b->dilation, s->h, s->ring + b->ring_offset, &s->pos[i], L->w, L->b,
                            mask, s->dwo);
        dc_act_s8(&b->act2, s->dwo, s->z, mask, DC_C);
        L = &b->pw2;
        p = (bk_fc_params_t){L->in_offset, L->out_offset, L->act_min, L->act_max};
        q = (bk_per_channel_t){L->mult, L->shift};
        (void)bk_pw_conv_t_s8(&p, &q, DC_C, DC_R, s->z, L->w, L->b, mask, s->u, s->scratch, sizeof s->scratch);
        dc_add_s8(s->x, s->u, s->x, DC_R, &b->add);
    }
    const dc_fc_t *L = &dc_backend;
    const bk_fc_params_t p = {L->in_offset, L->out_offset, L->act_min, L->act_max};
    const bk_per_channel_t q = {L->mult, L->shift};
    (void)bk_fc_s8_s16(&p, &q, DC_R, DC_BINS, s->x, L->w, L->b, s->pre, s->scratch, sizeof s->scratch);
    (void)bk_sigmoid_s16(s->pre, s->gain, DC_BINS, 0, 0);
    s->last_macs = macs;
}

void dc_synthesis(dc_state_t *s, int16_t *out)
{
    float yr[DC_BINS], yi[DC_BINS];
    for (int k = 0; k < DC_BINS; k++) {
        const float g = (float)s->gain[k] * DC_Q15;
        yr[k] = s->xr[k] * g;
        yi[k] = s->xi[k] * g;
    }
    dc_irfft512(yr, yi, s->y);
    for (int n = 0; n < DC_HOP; n++) {
        float v = s->ola[n] + s->y[n] * DC_WIN_SYN[n];
        s->ola[n] = s->y[DC_HOP + n] * DC_WIN_SYN[DC_HOP + n];
        v = v < DC_I16_MIN ? DC_I16_MIN : v;
        v = v > DC_I16_MAX ? DC_I16_MAX : v;
        out[n] = (int16_t)dc_round(v);
    }
}
