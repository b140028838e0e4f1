/* Early-exit nsNet2 runner (see nsnet2.h). Every float expression mirrors
 * bench/models/nsnet2/golden.py operation for operation; build with -ffp-contract=off. */
#include "nsnet2.h"

#include <string.h>

#include "bk_fft_f32.h"

/* ---- FFT: 160-point mixed-radix complex FFT, decimation in time, stages radix 2, 4, 4, 5
 * bottom-up; input in leaf order (NN_PERM), output in natural order, in place. Butterfly k = 0
 * has unit twiddles and multiplies nothing (golden.fft160). ------------------------------ */

static void nn_stage2(float *re, float *im)
{
    for (int b = 0; b < NN_FFT; b += 2) {
        const float ar = re[b], ai = im[b], br = re[b + 1], bi = im[b + 1];
        re[b] = ar + br;
        im[b] = ai + bi;
        re[b + 1] = ar - br;
        im[b + 1] = ai - bi;
    }
}

static void nn_stage5(float *re, float *im)
{
    const int m = NN_FFT / 5;
    const float *twr = NN_TW3_RE, *twi = NN_TW3_IM;
    for (int k = 0; k < m; k++) {
        float tr[5], ti[5];
        tr[0] = re[k];
        ti[0] = im[k];
        for (int j = 1; j < 5; j++) {
            const float ar = re[j * m + k], ai = im[j * m + k];
            if (k == 0) {
                tr[j] = ar;
                ti[j] = ai;
            } else {
                const float wr = twr[(j - 1) * m + k], wi = twi[(j - 1) * m + k];
                tr[j] = ar * wr - ai * wi;
                ti[j] = ar * wi + ai * wr;
            }
        }
        const float a1r = tr[1] + tr[4], a1i = ti[1] + ti[4];
        const float b1r = tr[1] - tr[4], b1i = ti[1] - ti[4];
        const float a2r = tr[2] + tr[3], a2i = ti[2] + ti[3];
        const float b2r = tr[2] - tr[3], b2i = ti[2] - ti[3];
        const float pr = tr[0] + (NN_C51 * a1r + NN_C52 * a2r), pi = ti[0] + (NN_C51 * a1i + NN_C52 * a2i);
        const float ur = NN_S51 * b1r + NN_S52 * b2r, ui = NN_S51 * b1i + NN_S52 * b2i;
        const float qr = tr[0] + (NN_C52 * a1r + NN_C51 * a2r), qi = ti[0] + (NN_C52 * a1i + NN_C51 * a2i);
        const float vr = NN_S52 * b1r - NN_S51 * b2r, vi = NN_S52 * b1i - NN_S51 * b2i;
        re[k] = tr[0] + (a1r + a2r);
        im[k] = ti[0] + (a1i + a2i);
        re[m + k] = pr + ui;
        im[m + k] = pi - ur;
        re[2 * m + k] = qr + vi;
        im[2 * m + k] = qi - vr;
        re[3 * m + k] = qr - vi;
        im[3 * m + k] = qi + vr;
        re[4 * m + k] = pr - ui;
        im[4 * m + k] = pi + ur;
    }
}

void nn_fft160(float *re, float *im)
{
    nn_stage2(re, im);
    bk__fft_stage4(re, im, NN_FFT, 2, NN_TW1_RE, NN_TW1_IM);
    bk__fft_stage4(re, im, NN_FFT, 8, NN_TW2_RE, NN_TW2_IM);
    nn_stage5(re, im);
}

void nn_rfft320(const float *frame, float *xr, float *xi)
{
    float zr[NN_FFT], zi[NN_FFT];
    for (int p = 0; p < NN_FFT; p++) {
        const int i = 2 * NN_PERM[p];
        zr[p] = frame[i] * NN_WIN[i];
        zi[p] = frame[i + 1] * NN_WIN[i + 1];
    }
    nn_fft160(zr, zi);
    bk__rfft_split(zr, zi, NN_FFT, NN_SPLIT_COS, NN_SPLIT_SIN, NN_HALF, xr, xi);
}

void nn_irfft320(const float *yr, const float *yi, float *y)
{
    float vr[NN_FFT], vi[NN_FFT], zr[NN_FFT], zi[NN_FFT];
    bk__irfft_split(yr, yi, NN_FFT, NN_SPLIT_COS, NN_SPLIT_SIN, vr, vi);
    bk__irfft_permute(vr, vi, NN_PERM, NN_FFT, zr, zi);
    nn_fft160(zr, zi);
    bk__irfft_unpack(zr, zi, NN_FFT, y);
}

/* log2 of a positive normal float: exponent + t * poly(t), t = mantissa - 1 (golden.log2_f32). */
float nn_log2f(float p)
{
    uint32_t bits;
    memcpy(&bits, &p, sizeof bits);
    const float e = (float)((int32_t)(bits >> 23) - 127);
    const uint32_t mb = (bits & 0x7FFFFFu) | 0x3F800000u;
    float m;
    memcpy(&m, &mb, sizeof m);
    const float t = m - NN_ONE;
    float acc = NN_LOG2_POLY[6];
    for (int i = 5; i >= 0; i--)
        acc = acc * t + NN_LOG2_POLY[i];
    return e + t * acc;
}

/* round half away from zero of a float already within the int range (golden.round_half_away) */
static int32_t nn_round(float v)
{
    int32_t t = (int32_t)v;
    const float f = v - (float)t;
    if (f >= NN_HALF)
        t += 1;
    if (f <= -NN_HALF)
        t -= 1;
    return t;
}

/* ---- configuration and state ---------------------------------------------------------- */

void nn_reset(nn_state_t *s)
{
    memset(s->prev, 0, sizeof s->prev);
    memset(s->ola, 0, sizeof s->ola);
    memset(s->h, 0, sizeof s->h);
    s->mask = s->masks[0];
    s->last_exit = 0;
    s->last_macs = 0;
}

void nn_init(nn_state_t *s)
{
    memset(s, 0, sizeof *s);
    s->policy = 0;
    s->exit = NN_N_EXITS - 1;
    s->thr_q15 = 0;
    s->min_exit = 1;
    s->max_exit = NN_N_EXITS - 1;
    nn_reset(s);
}

static int nn_streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

int nn_configure(nn_state_t *s, const char *key, int32_t value)
{
    const int32_t last = NN_N_EXITS - 1;
    if (nn_streq(key, "exit")) {
        if (value < 0 || value > last)
            return 5;
        s->exit = value;
        s->policy = 0;
    } else if (nn_streq(key, "policy")) {
        if (value < 0 || value > 1)
            return 5;
        s->policy = value;
    } else if (nn_streq(key, "thr_q15")) {
        if (value < 0 || value > 32768)
            return 5;
        s->thr_q15 = value;
    } else if (nn_streq(key, "min_exit")) {
        if (value < 1 || value > s->max_exit)
            return 5;
        s->min_exit = value;
    } else if (nn_streq(key, "max_exit")) {
        if (value < s->min_exit || value > last)
            return 5;
        s->max_exit = value;
    } else {
        return 4;
    }
    return 0;
}

/* ---- stages ------------------------------------------------------------------------- */

void nn_analysis(nn_state_t *s, const int16_t *in)
{
    float frame[NN_FRAME];
    for (int n = 0; n < NN_HOP; n++) {
        frame[n] = (float)s->prev[n];
        frame[NN_HOP + n] = (float)in[n];
    }
    memcpy(s->prev, in, sizeof s->prev);
    nn_rfft320(frame, s->xr, s->xi);
    for (int k = 0; k < NN_BINS; k++) {
        float p = s->xr[k] * s->xr[k] + s->xi[k] * s->xi[k];
        p = p + NN_EPS;
        float v = nn_log2f(p) * NN_FEAT_A[k] + NN_FEAT_B[k];
        v = v < NN_I8_MIN ? NN_I8_MIN : v;
        v = v > NN_I8_MAX ? NN_I8_MAX : v;
        s->feat[k] = (int8_t)nn_round(v);
    }
}

/* One layer: int8 x -> int8 y (FC, GRU) or int16 mask (head). */
static void nn_layer(nn_state_t *s, int li, const int8_t *x, int8_t *y, int16_t *mask)
{
    const nn_layer_t *L = &nn_layers[li];
    s->last_macs += L->macs;
    if (L->kind == NN_GRU) {
        int16_t *h = s->h[L->state];
        (void)bk_gru_cell_s8(&L->gru, x, h, s->scratch, sizeof s->scratch);
        (void)bk_requantize_s16_s8(h, y, L->n_out, 0, L->rq_mult, L->rq_shift, L->out_offset);
        return;
    }
    const bk_fc_params_t p = {L->in_offset, L->out_offset, L->act_min, L->act_max};
    const bk_per_channel_t q = {L->mult, L->shift};
    if (L->kind == NN_FC) {
        (void)bk_fc_s8(&p, &q, L->n_in, L->n_out, x, L->w, L->b, y, s->scratch, sizeof s->scratch);
    } else {
        (void)bk_fc_s8_s16(&p, &q, L->n_in, L->n_out, x, L->w, L->b, s->pre, s->scratch, sizeof s->scratch);
        (void)bk_sigmoid_s16(s->pre, mask, L->n_out, 0, 0);
    }
}

static int8_t *nn_other(nn_state_t *s, const int8_t *a)
{
    return a == s->act[0] ? s->act[1] : s->act[0];
}

/* exit k's mask from the trunk block input a_in (split) or output a_out (linear, split_next) */
static void nn_exit_mask(nn_state_t *s, int k, const int8_t *a_in, const int8_t *a_out, int16_t *mask)
{
    const int br = nn_exit_branch[k];
    const int8_t *x = NN_EXIT_KIND == 1 ? a_in : a_out;
    if (br >= 0) {
        nn_layer(s, br, x, s->act[2], NULL);
        x = s->act[2];
    }
    nn_layer(s, nn_exit_head[k], x, NULL, mask);
}

static int nn_stop(const nn_state_t *s, int k, int n_masks)
{
    if (k >= s->max_exit)
        return 1;
    if (k < s->min_exit || n_masks < 2)
        return 0;
    const int16_t *a = s->masks[(n_masks - 1) & 1], *b = s->masks[(n_masks - 2) & 1];
    int32_t change = 0;
    for (int i = 0; i < NN_BINS; i++) {
        const int32_t d = (int32_t)a[i] - (int32_t)b[i];
        change += d < 0 ? -d : d;
    }
    return change < s->thr_q15 * NN_BINS;
}

void nn_network(nn_state_t *s)
{
    s->last_macs = 0;
    if (s->policy == 0) {
        const int k = s->exit;
        const int8_t *a = s->feat;
        const int n = nn_chain_len[k];
        for (int i = 0; i < n - 1; i++) {
            int8_t *y = nn_other(s, a);
            nn_layer(s, nn_chain[k][i], a, y, NULL);
            a = y;
        }
        nn_layer(s, nn_chain[k][n - 1], a, NULL, s->masks[0]);
        s->mask = s->masks[0];
        s->last_exit = k;
        return;
    }
    const int first = s->min_exit - 1;
    int nm = 0;
    const int8_t *a = s->feat;
    for (int i = 0; i < 5; i++) {
        const int k = nn_block_exit[i];
        if (k >= first && NN_EXIT_KIND == 1) {
            int16_t *mk = s->masks[nm & 1];
            nn_exit_mask(s, k, a, NULL, mk);
            nm++;
            if (nn_stop(s, k, nm)) {
                s->mask = mk;
                s->last_exit = k;
                return;
            }
        }
        int8_t *y = nn_other(s, a);
        nn_layer(s, nn_trunk[i], a, y, NULL);
        if (k >= first && NN_EXIT_KIND != 1) {
            int16_t *mk = s->masks[nm & 1];
            nn_exit_mask(s, k, a, y, mk);
            nm++;
            if (nn_stop(s, k, nm)) {
                s->mask = mk;
                s->last_exit = k;
                return;
            }
        }
        a = y;
    }
    int16_t *mk = s->masks[nm & 1];
    nn_layer(s, nn_trunk[5], a, NULL, mk);
    s->mask = mk;
    s->last_exit = NN_N_EXITS - 1;
}

void nn_synthesis(nn_state_t *s, int16_t *out)
{
    float yr[NN_BINS], yi[NN_BINS];
    for (int k = 0; k < NN_BINS; k++) {
        const float g = (float)s->mask[k] * NN_Q15;
        yr[k] = s->xr[k] * g;
        yi[k] = s->xi[k] * g;
    }
    nn_irfft320(yr, yi, s->y);
    for (int n = 0; n < NN_HOP; n++) {
        float v = s->ola[n] + s->y[n] * NN_WIN_SYN[n];
        s->ola[n] = s->y[NN_HOP + n] * NN_WIN_SYN[NN_HOP + n];
        v = v < NN_I16_MIN ? NN_I16_MIN : v;
        v = v > NN_I16_MAX ? NN_I16_MAX : v;
        out[n] = (int16_t)nn_round(v);
    }
}
