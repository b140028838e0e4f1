/* float32 FFT building blocks of the model runners' STFTs (nsNet2 320 points, Conv-FSENet 512):
 * one IEEE rounding per operation in the order of bench/models/common/fft32.py (build with
 * -ffp-contract=off). Header-only, static inline: each runner instantiates them with its own
 * constant sizes and tables. */
#ifndef BK_FFT_F32_H
#define BK_FFT_F32_H

#include <stdint.h>

/* One radix-4 decimation-in-time stage of an n_total-point complex FFT, in place: butterflies
 * of 4 m points, inputs j = 1..3 times twiddle W^(j k) (twr/twi [3][m]); k = 0 multiplies nothing. */
static inline void bk__fft_stage4(float *re, float *im, int n_total, int m, const float *twr, const float *twi)
{
    const int n = 4 * m;
    for (int b = 0; b < n_total; b += n) {
        float *xr = re + b, *xi = im + b;
        for (int k = 0; k < m; k++) {
            float t1r = xr[m + k], t1i = xi[m + k];
            float t2r = xr[2 * m + k], t2i = xi[2 * m + k];
            float t3r = xr[3 * m + k], t3i = xi[3 * m + k];
            if (k != 0) {
                float wr = twr[k], wi = twi[k], u, v;
                u = t1r * wr - t1i * wi;
                v = t1r * wi + t1i * wr;
                t1r = u;
                t1i = v;
                wr = twr[m + k];
                wi = twi[m + k];
                u = t2r * wr - t2i * wi;
                v = t2r * wi + t2i * wr;
                t2r = u;
                t2i = v;
                wr = twr[2 * m + k];
                wi = twi[2 * m + k];
                u = t3r * wr - t3i * wi;
                v = t3r * wi + t3i * wr;
                t3r = u;
                t3i = v;
            }
            const float t0r = xr[k], t0i = xi[k];
            const float ar = t0r + t2r, ai = t0i + t2i;
            const float br = t0r - t2r, bi = t0i - t2i;
            const float cr = t1r + t3r, ci = t1i + t3i;
            const float dr = t1r - t3r, di = t1i - t3i;
            xr[k] = ar + cr;
            xi[k] = ai + ci;
            xr[2 * m + k] = ar - cr;
            xi[2 * m + k] = ai - ci;
            xr[m + k] = br + di;
            xi[m + k] = bi - dr;
            xr[3 * m + k] = br - di;
            xi[3 * m + k] = bi + dr;
        }
    }
}

/* Real-FFT split after the n-point complex FFT z of the even/odd packed frame: bins 0..n. */
static inline void bk__rfft_split(const float *zr, const float *zi, int n, const float *cs, const float *sn,
                                  float half, float *xr, float *xi)
{
    for (int k = 0; k <= n; k++) {
        const int ia = k % n, ib = (n - k) % n;
        const float ar = zr[ia], ai = zi[ia], br = zr[ib], bi = zi[ib];
        const float sr = ar + br, si = ai - bi, dr = ar - br, di = ai + bi;
        const float c = cs[k], s = sn[k];
        xr[k] = half * (sr + (c * di - s * dr));
        xi[k] = half * (si - (c * dr + s * di));
    }
}

/* The inverse split: spectrum bins 0..n -> the n-point complex sequence v for the inverse FFT. */
static inline void bk__irfft_split(const float *yr, const float *yi, int n, const float *cs, const float *sn,
                                   float *vr, float *vi)
{
    for (int k = 0; k < n; k++) {
        const float ar = yr[k], ai = yi[k], br = yr[n - k], bi = yi[n - k];
        const float sr = ar + br, si = ai - bi, dr = ar - br, di = ai + bi;
        const float c = cs[k], s = sn[k];
        vr[k] = sr - (c * di + s * dr);
        vi[k] = -(si + (c * dr - s * di));
    }
}

/* Inverse real FFT of 2n samples through an n-point complex FFT: the split spectrum (v) in the
 * FFT's input order, and the conjugated FFT output interleaved back to 2n real samples. */
static inline void bk__irfft_permute(const float *vr, const float *vi, const uint8_t *perm, int n, float *zr, float *zi)
{
    for (int p = 0; p < n; p++) {
        zr[p] = vr[perm[p]];
        zi[p] = vi[perm[p]];
    }
}

static inline void bk__irfft_unpack(const float *zr, const float *zi, int n, float *y)
{
    for (int m = 0; m < n; m++) {
        y[2 * m] = zr[m];
        y[2 * m + 1] = -zi[m];
    }
}

#endif
