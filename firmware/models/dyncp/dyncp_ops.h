/* Element-wise int8 operators of the Conv-FSENet runner that the bench kernels lack
 * (golden: bench.models.dyncp.intnet.act_s8, bench.models.common.int8ops.add_elementwise). */
#ifndef DYNCP_OPS_H
#define DYNCP_OPS_H
#include <stdint.h>

#include "dyncp_layer.h"

/* out[c] = clamp(clamp(PRELU(in[c])) + beta[c]) for the kept channels c (mask NULL: all) */
void dc_act_s8(const dc_act_t *a, const int8_t *in, int8_t *out, const uint32_t *mask, int32_t channels);
/* TFLM int8 ADD, general scales: out may alias a */
void dc_add_s8(const int8_t *a, const int8_t *b, int8_t *out, int32_t size, const bk_add_params_t *p);
/* number of set bits in the first `channels` bits of mask */
uint32_t dc_popcount(const uint32_t *mask, int32_t channels);

#endif
