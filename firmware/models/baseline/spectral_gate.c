/* Classic speech enhancer: see spectral_gate.h and docs/baseline.md.
 *
 * REQUIRED FLAGS: -ffp-contract=off, no -ffast-math (or any of its parts), single-precision
 * float evaluation. Every float expression below is written in the exact order mirrored by
 * bench/models/baseline.py; do not "simplify" one side without the other. Float literals
 * all carry the f suffix and come from sg_tables.h (hex floats) so nothing is promoted to
 * double. */
#include "spectral_gate.h"

#include <stddef.h>

/* ---------------------------------------------------------------------------------------
 * FFT
 * ------------------------------------------------------------------------------------- */

void sg_fft256(float re[SG_FFT_M], float im[SG_FFT_M])
{
    /* Stage h = 1: twiddle 1, t = b (same values as c*b + s*b' with c = 1, s = 0). */
    for (unsigned i = 0; i < SG_FFT_M; i += 2u) {
        const float ar = re[i], ai = im[i], br = re[i + 1u], bi = im[i + 1u];
        re[i] = ar + br;
        im[i] = ai + bi;
        re[i + 1u] = ar - br;
        im[i + 1u] = ai - bi;
    }
    /* Stages h = 2..128: W = cos(2 pi j/(2h)) - i sin(2 pi j/(2h)) = SG_COS/SG_SIN[j*256/h]. */
    for (unsigned h = 2u; h < SG_FFT_M; h <<= 1) {
        const unsigned step = SG_FFT_M / h;
        for (unsigned j = 0; j < h; j++) {
            const float c = SG_COS[j * step];
            const float s = SG_SIN[j * step];
            for (unsigned a = j; a < SG_FFT_M; a += 2u * h) {
                const unsigned b = a + h;
                const float br = re[b], bi = im[b];
                const float tr = c * br + s * bi;
                const float ti = c * bi - s * br;
                const float ar = re[a], ai = im[a];
                re[b] = ar - tr;
                im[b] = ai - ti;
                re[a] = ar + tr;
                im[a] = ai + ti;
            }
        }
    }
}

void sg_rfft512(const float x[SG_FRAME_LEN], float xr[SG_NBINS], float xi[SG_NBINS],
                float wr[SG_FFT_M], float wi[SG_FFT_M])
{
    /* z[n] = x[2n] + i x[2n+1], stored bit-reversed for the DIT FFT. */
    for (unsigned n = 0; n < SG_FFT_M; n++) {
        const unsigned r = SG_BITREV[n];
        wr[r] = x[2u * n];
        wi[r] = x[2u * n + 1u];
    }
    sg_fft256(wr, wi);
    /* Split: A = Z[k], B = Z[M-k]; X[k] = (A + conj B)/2 + W^k (A - conj B)/(2i). */
    for (unsigned k = 0; k < SG_NBINS; k++) {
        const unsigned ka = k & (SG_FFT_M - 1u);
        const unsigned kb = (SG_FFT_M - k) & (SG_FFT_M - 1u);
        const float ar = wr[ka], ai = wi[ka], br = wr[kb], bi = wi[kb];
        const float c = SG_COS[k], s = SG_SIN[k];
        const float sr = ar + br;
        const float si = ai - bi;
        const float dr = ar - br;
        const float di = ai + bi;
        xr[k] = SG_HALF * (sr + (c * di - s * dr));
        xi[k] = SG_HALF * (si - (c * dr + s * di));
    }
}

void sg_irfft512(const float xr[SG_NBINS], const float xi[SG_NBINS], float y[SG_FRAME_LEN],
                 float wr[SG_FFT_M], float wi[SG_FFT_M])
{
    /* Z'[k] = (X[k] + conj X[M-k]) + i W^-k (X[k] - conj X[M-k]) = 2 Z[k]; the forward FFT of
     * conj(Z') gives conj(M * ifft(Z')) = conj(N z), so y = N x after one more conjugation. */
    for (unsigned k = 0; k < SG_FFT_M; k++) {
        const float ar = xr[k], ai = xi[k], br = xr[SG_FFT_M - k], bi = xi[SG_FFT_M - k];
        const float c = SG_COS[k], s = SG_SIN[k];
        const float sr = ar + br;
        const float si = ai - bi;
        const float dr = ar - br;
        const float di = ai + bi;
        const unsigned r = SG_BITREV[k];
        wr[r] = sr - (c * di + s * dr);
        wi[r] = -(si + (c * dr - s * di));
    }
    sg_fft256(wr, wi);
    for (unsigned n = 0; n < SG_FFT_M; n++) {
        y[2u * n] = wr[n];
        y[2u * n + 1u] = -wi[n];
    }
}

int16_t sg_f2i16(float v)
{
    if (v >= SG_I16_MAX) {
        return 32767;
    }
    if (v <= SG_I16_MIN) {
        return -32768;
    }
    int32_t t = (int32_t)v;      /* truncation toward zero, exact */
    const float f = v - (float)t; /* exact fractional part */
    if (f >= SG_HALF) {
        t += 1;
    } else if (f <= -SG_HALF) {
        t -= 1;
    }
    return (int16_t)t;
}

/* ---------------------------------------------------------------------------------------
 * State and configuration
 * ------------------------------------------------------------------------------------- */

static int sg_streq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void sg_apply_config(sg_state_t *s)
{
    s->over = (float)s->over_q8 * SG_Q8; /* exact: |over_q8| < 2^24, power-of-two scale */
    s->gmin = SG_GMIN[s->gain_floor_db - SG_GAIN_FLOOR_DB_MIN];
}

void sg_reset(sg_state_t *s)
{
    for (unsigned n = 0; n < SG_HOP_LEN; n++) {
        s->prev[n] = 0;
        s->ola[n] = SG_ZERO;
    }
    for (unsigned n = 0; n < SG_FRAME_LEN; n++) {
        s->frame[n] = SG_ZERO;
    }
    for (unsigned n = 0; n < SG_FFT_M; n++) {
        s->wr[n] = SG_ZERO;
        s->wi[n] = SG_ZERO;
    }
    for (unsigned k = 0; k < SG_NBINS; k++) {
        s->xr[k] = SG_ZERO;
        s->xi[k] = SG_ZERO;
        s->S[k] = SG_ZERO;
        s->N[k] = SG_ZERO;
        s->A[k] = SG_ZERO;
        s->G[k] = SG_ONE;
        s->cur_min[k] = SG_ZERO;
        s->win_min[k] = SG_ZERO;
        for (unsigned u = 0; u < SG_MS_NSUB; u++) {
            s->sub_min[u][k] = SG_ZERO;
        }
    }
    s->frames = 0u;
    s->sub_count = 0u;
    s->sub_pos = 0u;
}

void sg_init(sg_state_t *s)
{
    s->over_q8 = SG_OPT_OVER_Q8_DEFAULT;
    s->gain_floor_db = SG_OPT_GAIN_FLOOR_DB_DEFAULT;
    s->bypass = SG_OPT_BYPASS_DEFAULT;
    sg_apply_config(s);
    sg_reset(s);
}

int sg_configure(sg_state_t *s, const char *key, int32_t value)
{
    int32_t *field;
    int32_t lo, hi;
    if (sg_streq(key, "over_q8")) {
        field = &s->over_q8;
        lo = SG_OPT_OVER_Q8_MIN;
        hi = SG_OPT_OVER_Q8_MAX;
    } else if (sg_streq(key, "gain_floor_db")) {
        field = &s->gain_floor_db;
        lo = SG_OPT_GAIN_FLOOR_DB_MIN;
        hi = SG_OPT_GAIN_FLOOR_DB_MAX;
    } else if (sg_streq(key, "bypass")) {
        field = &s->bypass;
        lo = SG_OPT_BYPASS_MIN;
        hi = SG_OPT_BYPASS_MAX;
    } else {
        return 4; /* BENCH_ERR_UNKNOWN_OPTION */
    }
    if (value < lo || value > hi) {
        return 5; /* BENCH_ERR_BAD_VALUE */
    }
    *field = value;
    sg_apply_config(s);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * The three stages of one hop
 * ------------------------------------------------------------------------------------- */

void sg_analysis(sg_state_t *s, const int16_t in[SG_HOP_LEN])
{
    for (unsigned n = 0; n < SG_HOP_LEN; n++) {
        s->frame[n] = (float)s->prev[n] * SG_WIN[n];
        s->frame[SG_HOP_LEN + n] = (float)in[n] * SG_WIN[SG_HOP_LEN + n];
        s->prev[n] = in[n];
    }
    sg_rfft512(s->frame, s->xr, s->xi, s->wr, s->wi);
}

void sg_gain(sg_state_t *s)
{
    const uint32_t f = s->frames;
    const float over = s->over;
    const float gmin = s->gmin;
    for (unsigned k = 0; k < SG_NBINS; k++) {
        const float xr = s->xr[k], xi = s->xi[k];
        const float p = xr * xr + xi * xi;
        /* smoothed periodogram */
        float sm = (f == 0u) ? p : (s->S[k] * SG_ALPHA_S + p * SG_BETA_S);
        sm = (sm < SG_S_TINY) ? SG_ZERO : sm; /* digital silence decays to 0, not subnormals */
        s->S[k] = sm;
        /* noise: running mean of P over the first SG_NINIT frames, then minimum statistics */
        float nz;
        if (f < SG_NINIT) {
            const float n0 = s->N[k];
            nz = n0 + (p - n0) * SG_INV_COUNT[f];
            if (f == SG_NINIT - 1u) {
                const float seed = nz * SG_MS_INV_BIAS;
                s->cur_min[k] = seed;
                s->win_min[k] = seed;
                for (unsigned u = 0; u < SG_MS_NSUB; u++) {
                    s->sub_min[u][k] = seed;
                }
            }
        } else {
            float cm = s->cur_min[k];
            cm = (sm < cm) ? sm : cm;
            s->cur_min[k] = cm;
            const float wm = s->win_min[k];
            nz = SG_MS_BIAS * ((cm < wm) ? cm : wm);
        }
        s->N[k] = nz;
        /* decision-directed a-priori SNR, Wiener gain with floor */
        float ne = nz * over;
        ne = (ne > SG_NOISE_FLOOR) ? ne : SG_NOISE_FLOOR;
        const float inv = SG_ONE / ne;
        const float gam = p * inv;
        float ml = gam - SG_ONE;
        ml = (ml > SG_ZERO) ? ml : SG_ZERO;
        const float xi_ap = SG_ALPHA_DD * (s->A[k] * inv) + SG_BETA_DD * ml;
        float g = xi_ap / (SG_ONE + xi_ap);
        g = (g > gmin) ? g : gmin;
        if (s->bypass) {
            g = SG_ONE;
        }
        s->A[k] = (g * g) * p;
        s->G[k] = g;
        s->xr[k] = xr * g;
        s->xi[k] = xi * g;
    }
    if (f < SG_NINIT) {
        s->frames = f + 1u;
    } else if (++s->sub_count == SG_MS_SUBWIN) {
        /* close the sub-window: store its minimum, recompute the window minimum */
        s->sub_count = 0u;
        const uint32_t pos = s->sub_pos;
        for (unsigned k = 0; k < SG_NBINS; k++) {
            s->sub_min[pos][k] = s->cur_min[k];
        }
        s->sub_pos = (pos + 1u == SG_MS_NSUB) ? 0u : pos + 1u;
        for (unsigned k = 0; k < SG_NBINS; k++) {
            float w = s->sub_min[0][k];
            for (unsigned u = 1; u < SG_MS_NSUB; u++) {
                const float v = s->sub_min[u][k];
                w = (v < w) ? v : w;
            }
            s->win_min[k] = w;
            s->cur_min[k] = SG_MS_BIG;
        }
    }
}

void sg_synthesis(sg_state_t *s, int16_t out[SG_HOP_LEN])
{
    sg_irfft512(s->xr, s->xi, s->frame, s->wr, s->wi);
    for (unsigned n = 0; n < SG_HOP_LEN; n++) {
        const float y = s->frame[n] * SG_WIN_SYN[n];
        out[n] = sg_f2i16(s->ola[n] + y);
        s->ola[n] = s->frame[SG_HOP_LEN + n] * SG_WIN_SYN[SG_HOP_LEN + n];
    }
}
