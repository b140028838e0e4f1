/* Layer records of the Conv-FSENet runner, filled by the generated dyncp_params.c
 * (bench/models/dyncp/export.py from a bench.models.dyncp.quantize int8.npz). */
#ifndef DYNCP_LAYER_H
#define DYNCP_LAYER_H
#include <stdint.h>

#include "bk.h"

/* int8 FC / 1x1 conv (also the depthwise conv: w [3][C]; pw2: w [C][R], input-channel-major) */
typedef struct {
    const int8_t *w;
    const int32_t *b, *mult, *shift;
    int32_t in_offset, out_offset, act_min, act_max;
} dc_fc_t;

/* TFLM PRELU (alpha int8, zero point 0) then the exact add of the norm bias beta (same scale) */
typedef struct {
    const int8_t *alpha, *beta;
    int32_t in_offset, out_offset;
    int32_t mult_pos, shift_pos, mult_neg, shift_neg;
} dc_act_t;

typedef struct {
    int32_t dilation;
    int32_t gated;        /* 0: every channel kept (static block) */
    int32_t has_hidden;   /* gate bottleneck R -> G -> C (else R -> C) */
    int32_t ring_offset;  /* bytes into the ring store: [2 dilation][C] */
    int32_t ring_zero;    /* int8 of real zero in h: what a skipped channel leaves in the ring */
    dc_fc_t gate_hidden, gate_out, pw1;
    dc_act_t act1;
    dc_fc_t dw;
    dc_act_t act2;
    dc_fc_t pw2;
    bk_add_params_t add;  /* residual: x + pw2 out, TFLM int8 ADD (left shift 20) */
} dc_block_t;

#endif
