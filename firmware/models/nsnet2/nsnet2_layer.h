/* Layer descriptor of the nsNet2 runner (the generated nsnet2_params.c fills a table of these). */
#ifndef NSNET2_LAYER_H
#define NSNET2_LAYER_H
#include <stdint.h>

#include "bk.h"

enum { NN_FC = 0, NN_HEAD = 1, NN_GRU = 2 };

typedef struct {
    uint8_t kind;            /* NN_FC: int8 -> int8 (fused ReLU clamp); NN_HEAD: int8 -> Q3.12 -> sigmoid
                                -> Q0.15 mask; NN_GRU: int8 x, int16 Q0.15 state, state -> int8 */
    int16_t n_in, n_out;
    uint32_t macs;           /* matrix MACs of one evaluation */
    const int8_t *w;         /* FC / head: [n_out][n_in] */
    const int32_t *b;
    const int32_t *mult;
    const int32_t *shift;
    int32_t in_offset;       /* -(input zero point) */
    int32_t out_offset;      /* output zero point (int8 outputs) */
    int32_t act_min, act_max;
    bk_gru_params_t gru;     /* NN_GRU only */
    int32_t rq_mult, rq_shift; /* NN_GRU: state (Q0.15) -> int8 output */
    int8_t state;            /* NN_GRU: index of its state vector, else -1 */
} nn_layer_t;

#endif
