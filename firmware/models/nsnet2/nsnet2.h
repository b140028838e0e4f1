/* Early-exit nsNet2 runner: float32 STFT front end (own 320-point real FFT), int8 network on the
 * bench kernels, static or dynamic exits, float32 inverse STFT and overlap-add.
 *
 * Bit-exact with bench/models/nsnet2/golden.py, which is its specification (docs/nsnet2.md).
 * Required compiler flags: -ffp-contract=off, no -ffast-math, single-precision evaluation
 * (FLT_EVAL_METHOD 0). No malloc, no libm. */
#ifndef NSNET2_H
#define NSNET2_H
#include <stdint.h>

#include "nsnet2_params.h"

#define NN_HOP 160
#define NN_FRAME 320
#define NN_BINS 161
#define NN_FFT 160

typedef struct {
    /* configuration (CONFIGURE) */
    int32_t policy;          /* 0 static, 1 dynamic */
    int32_t exit;            /* static exit 0..NN_N_EXITS-1 */
    int32_t thr_q15;         /* dynamic: mean |mask change| threshold, Q0.15 */
    int32_t min_exit, max_exit;
    /* streaming state */
    int16_t prev[NN_HOP];
    float ola[NN_HOP];
    int16_t h[NN_N_GRU][NN_MAX_H];
    /* per frame */
    float xr[NN_BINS], xi[NN_BINS];
    float y[NN_FRAME];
    int8_t feat[NN_BINS];
    int8_t act[3][NN_MAX_ACT];
    int16_t masks[2][NN_BINS];
    int16_t pre[NN_BINS];
    const int16_t *mask;     /* the output mask of this frame */
    int32_t last_exit;
    uint32_t last_macs;
    uint32_t scratch[(NN_SCRATCH_BYTES + 3) / 4];
} nn_state_t;

void nn_init(nn_state_t *s);        /* default configuration + reset */
void nn_reset(nn_state_t *s);       /* clears streaming state, keeps the configuration */
/* 0 ok, 4 unknown key, 5 value out of range (nothing changed). Keys: exit, policy, thr_q15,
 * min_exit, max_exit. Setting `exit` selects the static policy. */
int nn_configure(nn_state_t *s, const char *key, int32_t value);
void nn_analysis(nn_state_t *s, const int16_t *in);   /* stage "stft": features */
void nn_network(nn_state_t *s);                       /* stage "network": mask, exit, MACs */
void nn_synthesis(nn_state_t *s, int16_t *out);       /* stage "istft" */

/* building blocks (exposed for tests) */
void nn_fft160(float *re, float *im);
void nn_rfft320(const float *frame, float *xr, float *xi);
void nn_irfft320(const float *yr, const float *yi, float *y);   /* 320 x inverse, no window */
float nn_log2f(float p);

#endif
