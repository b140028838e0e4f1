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

/* log2 of a positive normal float (golden.log2_f32): the exponent e, the top 8 mantissa bits i,
 * the 15 below them r; e + (T[i] + r * D[i]) with T[i] = log2(1 + i/256) and D[i] =
 * (T[i+1] - T[i]) / 2^15 (golden.log2_table; a unit test keeps this copy equal to it). About 15
 * instructions, where the degree-6 polynomial it replaces took about 35 (docs/kernels.md). */
static const float NN_LOG2_TD[256][2] = {
    {0x0.0p+0f, 0x1.709c460000000p-23f},
    {0x1.709c460000000p-8f, 0x1.6f2dd20000000p-23f},
    {0x1.6fe50c0000000p-7f, 0x1.6dc2300000000p-23f},
    {0x1.1363120000000p-6f, 0x1.6c59580000000p-23f},
    {0x1.6e79680000000p-6f, 0x1.6af3500000000p-23f},
    {0x1.c9363c0000000p-6f, 0x1.6990000000000p-23f},
    {0x1.11cd1e0000000p-5f, 0x1.682f600000000p-23f},
    {0x1.3ed30a0000000p-5f, 0x1.66d1700000000p-23f},
    {0x1.6bad380000000p-5f, 0x1.6576200000000p-23f},
    {0x1.985bfc0000000p-5f, 0x1.641d800000000p-23f},
    {0x1.c4dfac0000000p-5f, 0x1.62c7600000000p-23f},
    {0x1.f138980000000p-5f, 0x1.6173e00000000p-23f},
    {0x1.0eb38a0000000p-4f, 0x1.6022e00000000p-23f},
    {0x1.24b5b80000000p-4f, 0x1.5ed4600000000p-23f},
    {0x1.3aa2fe0000000p-4f, 0x1.5d88600000000p-23f},
    {0x1.507b840000000p-4f, 0x1.5c3ec00000000p-23f},
    {0x1.663f700000000p-4f, 0x1.5af7a00000000p-23f},
    {0x1.7beeea0000000p-4f, 0x1.59b2c00000000p-23f},
    {0x1.918a160000000p-4f, 0x1.5870800000000p-23f},
    {0x1.a7111e0000000p-4f, 0x1.5730600000000p-23f},
    {0x1.bc84240000000p-4f, 0x1.55f2a00000000p-23f},
    {0x1.d1e34e0000000p-4f, 0x1.54b7400000000p-23f},
    {0x1.e72ec20000000p-4f, 0x1.537de00000000p-23f},
    {0x1.fc66a00000000p-4f, 0x1.5247000000000p-23f},
    {0x1.08c5880000000p-3f, 0x1.5112800000000p-23f},
    {0x1.134e1c0000000p-3f, 0x1.4fdfc00000000p-23f},
    {0x1.1dcd1a0000000p-3f, 0x1.4eaf400000000p-23f},
    {0x1.2842940000000p-3f, 0x1.4d81400000000p-23f},
    {0x1.32ae9e0000000p-3f, 0x1.4c55000000000p-23f},
    {0x1.3d11460000000p-3f, 0x1.4b2b400000000p-23f},
    {0x1.476aa00000000p-3f, 0x1.4a03400000000p-23f},
    {0x1.51baba0000000p-3f, 0x1.48dd400000000p-23f},
    {0x1.5c01a40000000p-3f, 0x1.47b9800000000p-23f},
    {0x1.663f700000000p-3f, 0x1.4697c00000000p-23f},
    {0x1.70742e0000000p-3f, 0x1.4577c00000000p-23f},
    {0x1.7a9fec0000000p-3f, 0x1.445a400000000p-23f},
    {0x1.84c2be0000000p-3f, 0x1.433e000000000p-23f},
    {0x1.8edcae0000000p-3f, 0x1.4224400000000p-23f},
    {0x1.98edd00000000p-3f, 0x1.410c400000000p-23f},
    {0x1.a2f6320000000p-3f, 0x1.3ff6000000000p-23f},
    {0x1.acf5e20000000p-3f, 0x1.3ee2000000000p-23f},
    {0x1.b6ecf20000000p-3f, 0x1.3dcf400000000p-23f},
    {0x1.c0db6c0000000p-3f, 0x1.3cbf000000000p-23f},
    {0x1.cac1640000000p-3f, 0x1.3bb0000000000p-23f},
    {0x1.d49ee40000000p-3f, 0x1.3aa3400000000p-23f},
    {0x1.de73fe0000000p-3f, 0x1.3998000000000p-23f},
    {0x1.e840be0000000p-3f, 0x1.388ec00000000p-23f},
    {0x1.f205340000000p-3f, 0x1.3787000000000p-23f},
    {0x1.fbc16c0000000p-3f, 0x1.3681000000000p-23f},
    {0x1.02baba0000000p-2f, 0x1.357d000000000p-23f},
    {0x1.0790ae0000000p-2f, 0x1.347a800000000p-23f},
    {0x1.0c62980000000p-2f, 0x1.3379800000000p-23f},
    {0x1.11307e0000000p-2f, 0x1.327a800000000p-23f},
    {0x1.15fa680000000p-2f, 0x1.317d000000000p-23f},
    {0x1.1ac05c0000000p-2f, 0x1.3081000000000p-23f},
    {0x1.1f82600000000p-2f, 0x1.2f86800000000p-23f},
    {0x1.24407a0000000p-2f, 0x1.2e8e800000000p-23f},
    {0x1.28fab40000000p-2f, 0x1.2d97000000000p-23f},
    {0x1.2db1100000000p-2f, 0x1.2ca1800000000p-23f},
    {0x1.3263960000000p-2f, 0x1.2bad800000000p-23f},
    {0x1.37124c0000000p-2f, 0x1.2abb800000000p-23f},
    {0x1.3bbd3a0000000p-2f, 0x1.29ca800000000p-23f},
    {0x1.4064640000000p-2f, 0x1.28db000000000p-23f},
    {0x1.4507d00000000p-2f, 0x1.27ed000000000p-23f},
    {0x1.49a7840000000p-2f, 0x1.2701000000000p-23f},
    {0x1.4e43880000000p-2f, 0x1.2616000000000p-23f},
    {0x1.52dbe00000000p-2f, 0x1.252c800000000p-23f},
    {0x1.5770920000000p-2f, 0x1.2444800000000p-23f},
    {0x1.5c01a40000000p-2f, 0x1.235e000000000p-23f},
    {0x1.608f1c0000000p-2f, 0x1.2278800000000p-23f},
    {0x1.6518fe0000000p-2f, 0x1.2195000000000p-23f},
    {0x1.699f520000000p-2f, 0x1.20b2800000000p-23f},
    {0x1.6e221c0000000p-2f, 0x1.1fd2000000000p-23f},
    {0x1.72a1640000000p-2f, 0x1.1ef2000000000p-23f},
    {0x1.771d2c0000000p-2f, 0x1.1e13800000000p-23f},
    {0x1.7b957a0000000p-2f, 0x1.1d37000000000p-23f},
    {0x1.800a560000000p-2f, 0x1.1c5b800000000p-23f},
    {0x1.847bc40000000p-2f, 0x1.1b81000000000p-23f},
    {0x1.88e9c80000000p-2f, 0x1.1aa8000000000p-23f},
    {0x1.8d54680000000p-2f, 0x1.19d0000000000p-23f},
    {0x1.91bba80000000p-2f, 0x1.18fa000000000p-23f},
    {0x1.961f900000000p-2f, 0x1.1825000000000p-23f},
    {0x1.9a80240000000p-2f, 0x1.1751000000000p-23f},
    {0x1.9edd680000000p-2f, 0x1.167e000000000p-23f},
    {0x1.a337600000000p-2f, 0x1.15ad000000000p-23f},
    {0x1.a78e140000000p-2f, 0x1.14dd000000000p-23f},
    {0x1.abe1880000000p-2f, 0x1.140d800000000p-23f},
    {0x1.b031be0000000p-2f, 0x1.1340800000000p-23f},
    {0x1.b47ec00000000p-2f, 0x1.1273800000000p-23f},
    {0x1.b8c88e0000000p-2f, 0x1.11a8000000000p-23f},
    {0x1.bd0f2e0000000p-2f, 0x1.10de000000000p-23f},
    {0x1.c152a60000000p-2f, 0x1.1015000000000p-23f},
    {0x1.c592fa0000000p-2f, 0x1.0f4d800000000p-23f},
    {0x1.c9d0300000000p-2f, 0x1.0e86800000000p-23f},
    {0x1.ce0a4a0000000p-2f, 0x1.0dc0800000000p-23f},
    {0x1.d2414c0000000p-2f, 0x1.0cfc800000000p-23f},
    {0x1.d6753e0000000p-2f, 0x1.0c39000000000p-23f},
    {0x1.daa6220000000p-2f, 0x1.0b77000000000p-23f},
    {0x1.ded3fe0000000p-2f, 0x1.0ab5800000000p-23f},
    {0x1.e2fed40000000p-2f, 0x1.09f5800000000p-23f},
    {0x1.e726aa0000000p-2f, 0x1.0936800000000p-23f},
    {0x1.eb4b840000000p-2f, 0x1.0879000000000p-23f},
    {0x1.ef6d680000000p-2f, 0x1.07bb800000000p-23f},
    {0x1.f38c560000000p-2f, 0x1.0700000000000p-23f},
    {0x1.f7a8560000000p-2f, 0x1.0645800000000p-23f},
    {0x1.fbc16c0000000p-2f, 0x1.058b800000000p-23f},
    {0x1.ffd79a0000000p-2f, 0x1.04d2800000000p-23f},
    {0x1.01f5720000000p-1f, 0x1.041b000000000p-23f},
    {0x1.03fda80000000p-1f, 0x1.0365000000000p-23f},
    {0x1.0604720000000p-1f, 0x1.02af000000000p-23f},
    {0x1.0809d00000000p-1f, 0x1.01fa000000000p-23f},
    {0x1.0a0dc40000000p-1f, 0x1.0146000000000p-23f},
    {0x1.0c10500000000p-1f, 0x1.0094000000000p-23f},
    {0x1.0e11780000000p-1f, 0x1.ffc4000000000p-24f},
    {0x1.10113c0000000p-1f, 0x1.fe62000000000p-24f},
    {0x1.120f9e0000000p-1f, 0x1.fd02000000000p-24f},
    {0x1.140ca00000000p-1f, 0x1.fba4000000000p-24f},
    {0x1.1608440000000p-1f, 0x1.fa48000000000p-24f},
    {0x1.18028c0000000p-1f, 0x1.f8f0000000000p-24f},
    {0x1.19fb7c0000000p-1f, 0x1.f796000000000p-24f},
    {0x1.1bf3120000000p-1f, 0x1.f640000000000p-24f},
    {0x1.1de9520000000p-1f, 0x1.f4ec000000000p-24f},
    {0x1.1fde3e0000000p-1f, 0x1.f398000000000p-24f},
    {0x1.21d1d60000000p-1f, 0x1.f248000000000p-24f},
    {0x1.23c41e0000000p-1f, 0x1.f0f8000000000p-24f},
    {0x1.25b5160000000p-1f, 0x1.efaa000000000p-24f},
    {0x1.27a4c00000000p-1f, 0x1.ee60000000000p-24f},
    {0x1.2993200000000p-1f, 0x1.ed14000000000p-24f},
    {0x1.2b80340000000p-1f, 0x1.ebce000000000p-24f},
    {0x1.2d6c020000000p-1f, 0x1.ea86000000000p-24f},
    {0x1.2f56880000000p-1f, 0x1.e940000000000p-24f},
    {0x1.313fc80000000p-1f, 0x1.e7fe000000000p-24f},
    {0x1.3327c60000000p-1f, 0x1.e6be000000000p-24f},
    {0x1.350e840000000p-1f, 0x1.e57c000000000p-24f},
    {0x1.36f4000000000p-1f, 0x1.e43e000000000p-24f},
    {0x1.38d83e0000000p-1f, 0x1.e302000000000p-24f},
    {0x1.3abb400000000p-1f, 0x1.e1c6000000000p-24f},
    {0x1.3c9d060000000p-1f, 0x1.e08e000000000p-24f},
    {0x1.3e7d940000000p-1f, 0x1.df54000000000p-24f},
    {0x1.405ce80000000p-1f, 0x1.de20000000000p-24f},
    {0x1.423b080000000p-1f, 0x1.dcea000000000p-24f},
    {0x1.4417f20000000p-1f, 0x1.dbb8000000000p-24f},
    {0x1.45f3aa0000000p-1f, 0x1.da86000000000p-24f},
    {0x1.47ce300000000p-1f, 0x1.d954000000000p-24f},
    {0x1.49a7840000000p-1f, 0x1.d828000000000p-24f},
    {0x1.4b7fac0000000p-1f, 0x1.d6fa000000000p-24f},
    {0x1.4d56a60000000p-1f, 0x1.d5ce000000000p-24f},
    {0x1.4f2c740000000p-1f, 0x1.d4a4000000000p-24f},
    {0x1.5101180000000p-1f, 0x1.d37c000000000p-24f},
    {0x1.52d4940000000p-1f, 0x1.d254000000000p-24f},
    {0x1.54a6e80000000p-1f, 0x1.d130000000000p-24f},
    {0x1.5678180000000p-1f, 0x1.d00a000000000p-24f},
    {0x1.5848220000000p-1f, 0x1.cee8000000000p-24f},
    {0x1.5a170a0000000p-1f, 0x1.cdc6000000000p-24f},
    {0x1.5be4d00000000p-1f, 0x1.cca8000000000p-24f},
    {0x1.5db1780000000p-1f, 0x1.cb88000000000p-24f},
    {0x1.5f7d000000000p-1f, 0x1.ca6a000000000p-24f},
    {0x1.61476a0000000p-1f, 0x1.c94e000000000p-24f},
    {0x1.6310b80000000p-1f, 0x1.c836000000000p-24f},
    {0x1.64d8ee0000000p-1f, 0x1.c71a000000000p-24f},
    {0x1.66a0080000000p-1f, 0x1.c604000000000p-24f},
    {0x1.68660c0000000p-1f, 0x1.c4ee000000000p-24f},
    {0x1.6a2afa0000000p-1f, 0x1.c3d8000000000p-24f},
    {0x1.6beed20000000p-1f, 0x1.c2c4000000000p-24f},
    {0x1.6db1960000000p-1f, 0x1.c1b2000000000p-24f},
    {0x1.6f73480000000p-1f, 0x1.c0a2000000000p-24f},
    {0x1.7133ea0000000p-1f, 0x1.bf90000000000p-24f},
    {0x1.72f37a0000000p-1f, 0x1.be84000000000p-24f},
    {0x1.74b1fe0000000p-1f, 0x1.bd74000000000p-24f},
    {0x1.766f720000000p-1f, 0x1.bc6a000000000p-24f},
    {0x1.782bdc0000000p-1f, 0x1.bb5e000000000p-24f},
    {0x1.79e73a0000000p-1f, 0x1.ba56000000000p-24f},
    {0x1.7ba1900000000p-1f, 0x1.b94c000000000p-24f},
    {0x1.7d5adc0000000p-1f, 0x1.b846000000000p-24f},
    {0x1.7f13220000000p-1f, 0x1.b740000000000p-24f},
    {0x1.80ca620000000p-1f, 0x1.b63c000000000p-24f},
    {0x1.82809e0000000p-1f, 0x1.b538000000000p-24f},
    {0x1.8435d60000000p-1f, 0x1.b436000000000p-24f},
    {0x1.85ea0c0000000p-1f, 0x1.b334000000000p-24f},
    {0x1.879d400000000p-1f, 0x1.b234000000000p-24f},
    {0x1.894f740000000p-1f, 0x1.b136000000000p-24f},
    {0x1.8b00aa0000000p-1f, 0x1.b03a000000000p-24f},
    {0x1.8cb0e40000000p-1f, 0x1.af3c000000000p-24f},
    {0x1.8e60200000000p-1f, 0x1.ae42000000000p-24f},
    {0x1.900e620000000p-1f, 0x1.ad46000000000p-24f},
    {0x1.91bba80000000p-1f, 0x1.ac4e000000000p-24f},
    {0x1.9367f60000000p-1f, 0x1.ab58000000000p-24f},
    {0x1.95134e0000000p-1f, 0x1.aa60000000000p-24f},
    {0x1.96bdae0000000p-1f, 0x1.a96a000000000p-24f},
    {0x1.9867180000000p-1f, 0x1.a876000000000p-24f},
    {0x1.9a0f8e0000000p-1f, 0x1.a782000000000p-24f},
    {0x1.9bb7100000000p-1f, 0x1.a690000000000p-24f},
    {0x1.9d5da00000000p-1f, 0x1.a59e000000000p-24f},
    {0x1.9f033e0000000p-1f, 0x1.a4b0000000000p-24f},
    {0x1.a0a7ee0000000p-1f, 0x1.a3c0000000000p-24f},
    {0x1.a24bae0000000p-1f, 0x1.a2d2000000000p-24f},
    {0x1.a3ee800000000p-1f, 0x1.a1e4000000000p-24f},
    {0x1.a590640000000p-1f, 0x1.a0fa000000000p-24f},
    {0x1.a7315e0000000p-1f, 0x1.a00e000000000p-24f},
    {0x1.a8d16c0000000p-1f, 0x1.9f24000000000p-24f},
    {0x1.aa70900000000p-1f, 0x1.9e3a000000000p-24f},
    {0x1.ac0eca0000000p-1f, 0x1.9d54000000000p-24f},
    {0x1.adac1e0000000p-1f, 0x1.9c6e000000000p-24f},
    {0x1.af488c0000000p-1f, 0x1.9b86000000000p-24f},
    {0x1.b0e4120000000p-1f, 0x1.9aa2000000000p-24f},
    {0x1.b27eb40000000p-1f, 0x1.99c0000000000p-24f},
    {0x1.b418740000000p-1f, 0x1.98dc000000000p-24f},
    {0x1.b5b1500000000p-1f, 0x1.97f8000000000p-24f},
    {0x1.b749480000000p-1f, 0x1.971a000000000p-24f},
    {0x1.b8e0620000000p-1f, 0x1.963a000000000p-24f},
    {0x1.ba769c0000000p-1f, 0x1.955a000000000p-24f},
    {0x1.bc0bf60000000p-1f, 0x1.947c000000000p-24f},
    {0x1.bda0720000000p-1f, 0x1.93a0000000000p-24f},
    {0x1.bf34120000000p-1f, 0x1.92c2000000000p-24f},
    {0x1.c0c6d40000000p-1f, 0x1.91e8000000000p-24f},
    {0x1.c258bc0000000p-1f, 0x1.910e000000000p-24f},
    {0x1.c3e9ca0000000p-1f, 0x1.9034000000000p-24f},
    {0x1.c579fe0000000p-1f, 0x1.8f5c000000000p-24f},
    {0x1.c7095a0000000p-1f, 0x1.8e86000000000p-24f},
    {0x1.c897e00000000p-1f, 0x1.8dae000000000p-24f},
    {0x1.ca258e0000000p-1f, 0x1.8cd8000000000p-24f},
    {0x1.cbb2660000000p-1f, 0x1.8c04000000000p-24f},
    {0x1.cd3e6a0000000p-1f, 0x1.8b30000000000p-24f},
    {0x1.cec99a0000000p-1f, 0x1.8a5c000000000p-24f},
    {0x1.d053f60000000p-1f, 0x1.898c000000000p-24f},
    {0x1.d1dd820000000p-1f, 0x1.88ba000000000p-24f},
    {0x1.d3663c0000000p-1f, 0x1.87e8000000000p-24f},
    {0x1.d4ee240000000p-1f, 0x1.871a000000000p-24f},
    {0x1.d6753e0000000p-1f, 0x1.864c000000000p-24f},
    {0x1.d7fb8a0000000p-1f, 0x1.857c000000000p-24f},
    {0x1.d981060000000p-1f, 0x1.84b0000000000p-24f},
    {0x1.db05b60000000p-1f, 0x1.83e4000000000p-24f},
    {0x1.dc899a0000000p-1f, 0x1.831a000000000p-24f},
    {0x1.de0cb40000000p-1f, 0x1.824e000000000p-24f},
    {0x1.df8f020000000p-1f, 0x1.8184000000000p-24f},
    {0x1.e110860000000p-1f, 0x1.80bc000000000p-24f},
    {0x1.e291420000000p-1f, 0x1.7ff4000000000p-24f},
    {0x1.e411360000000p-1f, 0x1.7f2e000000000p-24f},
    {0x1.e590640000000p-1f, 0x1.7e66000000000p-24f},
    {0x1.e70eca0000000p-1f, 0x1.7da2000000000p-24f},
    {0x1.e88c6c0000000p-1f, 0x1.7cdc000000000p-24f},
    {0x1.ea09480000000p-1f, 0x1.7c18000000000p-24f},
    {0x1.eb85600000000p-1f, 0x1.7b54000000000p-24f},
    {0x1.ed00b40000000p-1f, 0x1.7a94000000000p-24f},
    {0x1.ee7b480000000p-1f, 0x1.79d0000000000p-24f},
    {0x1.eff5180000000p-1f, 0x1.7910000000000p-24f},
    {0x1.f16e280000000p-1f, 0x1.7850000000000p-24f},
    {0x1.f2e6780000000p-1f, 0x1.7790000000000p-24f},
    {0x1.f45e080000000p-1f, 0x1.76d2000000000p-24f},
    {0x1.f5d4da0000000p-1f, 0x1.7616000000000p-24f},
    {0x1.f74af00000000p-1f, 0x1.7556000000000p-24f},
    {0x1.f8c0460000000p-1f, 0x1.749c000000000p-24f},
    {0x1.fa34e20000000p-1f, 0x1.73de000000000p-24f},
    {0x1.fba8c00000000p-1f, 0x1.7324000000000p-24f},
    {0x1.fd1be40000000p-1f, 0x1.726c000000000p-24f},
    {0x1.fe8e500000000p-1f, 0x1.71b0000000000p-24f},
};

float nn_log2f(float p)
{
    uint32_t bits;
    memcpy(&bits, &p, sizeof bits);
    const float e = (float)((int32_t)(bits >> 23) - 127);
    const float *td = NN_LOG2_TD[(bits >> 15) & 0xFFu];
    const float r = (float)(int32_t)(bits & 0x7FFFu);
    return e + (td[0] + r * td[1]);
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
