/* DynCP Conv-FSENet runner: float32 STFT front end (own 512-point real FFT), int8 TCN with
 * per-frame channel gates on the masked bench kernels (skipped channels are not computed),
 * mask probes, float32 inverse STFT and overlap-add.
 *
 * Bit-exact with bench/models/dyncp/intnet.py, which is its specification (docs/dyncp.md).
 * Required compiler flags: -ffp-contract=off, no -ffast-math. No malloc, no libm. */
#ifndef DYNCP_H
#define DYNCP_H
#include <stdint.h>

#include "dyncp_params.h"

#define DC_HOP 256
#define DC_FRAME 512
#define DC_BINS 257
#define DC_FFT 256
#define DC_MASK_WORDS ((DC_C + 31) / 32)
#define DC_SCRATCH_BYTES (((DC_BINS + 1) / 2) * 4)

typedef struct {
    /* streaming state */
    int16_t prev[DC_HOP];
    float ola[DC_HOP];
    int8_t ring[DC_RING_BYTES];
    int32_t pos[DC_N_BLOCKS];
    /* per frame */
    float xr[DC_BINS], xi[DC_BINS];
    float y[DC_FRAME];
    int8_t feat[DC_BINS];
    int8_t x[DC_R], u[DC_R];
    int8_t gh[DC_G], go[DC_C], v[DC_C], h[DC_C], dwo[DC_C], z[DC_C];
    int16_t pre[DC_BINS], gain[DC_BINS];
    uint32_t masks[DC_N_BLOCKS][DC_MASK_WORDS]; /* keep bits of this frame (all ones: static block) */
    uint16_t kept[DC_N_BLOCKS];
    uint32_t last_macs;
    uint32_t scratch[(DC_SCRATCH_BYTES + 3) / 4];
} dc_state_t;

void dc_reset(dc_state_t *s);                       /* zero history (rings hold h's zero point) */
void dc_analysis(dc_state_t *s, const int16_t *in);  /* stage "stft": int8 features */
void dc_network(dc_state_t *s);                      /* stage "network": gain, masks, MACs */
void dc_synthesis(dc_state_t *s, int16_t *out);      /* stage "istft" */

/* building blocks (exposed for tests) */
void dc_fft256(float *re, float *im);
void dc_rfft512(const float *frame, float *xr, float *xi);
void dc_irfft512(const float *yr, const float *yi, float *y); /* 512 x inverse, no window */
int8_t dc_feature(float p);                                   /* threshold search */

#endif
