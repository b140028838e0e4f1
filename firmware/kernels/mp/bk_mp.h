/* Mixed-precision GRU kernels (issue #15, docs/mpgru.md): sub-byte packed weights (2..8 bits),
 * narrow biases with a power-of-two shift, every activation at its own width. The numbers are
 * bench.models.common.gru_int's (gru_cell_int with a GruGenome), bit for bit, on both code paths.
 *
 * This header sits in its own folder so that the shipped images' build ids (which hash every
 * header beside their sources, the top-level headers of firmware/kernels) stay what they are. */
#ifndef BK_MP_H
#define BK_MP_H

#include <stddef.h>
#include <stdint.h>

#include "bk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sub-byte rows (bench.models.common.gru_int, docs/mpgru.md "Packing"): 2 and 4 bits are one plane
 * in natural order (4 bits: TFLM int4 packing, element 2i in the low nibble of byte i; 2 bits:
 * element 4i + j in bits 2j..2j+1 of byte i). 3, 5, 6 and 7 bits are a signed top plane of 2 bits
 * (3) or 4 bits (5, 6, 7) holding w >> L, followed by unsigned low planes holding the low L bits
 * (3, 5: one 1-bit plane; 6: one 2-bit plane; 7: a 2-bit plane of bits 1..2, then a 1-bit plane of
 * bit 0), each in the DSP path's lane order. A row is padded with zero weights to a whole number
 * of BK_MP_GROUP(bits) weights, so that every plane is whole 32-bit words. */
#define BK_MP_GROUP(bits) ((bits) == 4 ? 8 : ((bits) == 2 || (bits) == 6) ? 16 : 32)
#define BK_MP_PAD(cols, bits) ((((cols) + BK_MP_GROUP(bits) - 1) / BK_MP_GROUP(bits)) * BK_MP_GROUP(bits))
#define BK_MP_ROW_BYTES(cols, bits) \
    ((bits) == 8 ? (size_t)(cols) : (size_t)BK_MP_PAD(cols, bits) * (size_t)(bits) / 8u)

/* Scratch of bk_fc_pk_s16: the input widened to int16 lanes (padded to 32 elements). */
#define BK_PK_SCRATCH_BYTES(in_features) ((size_t)(((in_features) + 31) / 32) * 64u)

/* out[n] = clamp(MBQM(bias[n] + sum_k w[n][k] * in[k], M[n], s[n]) + output_offset): bk_fc_s16 with
 * packed `weight_bits`-bit weights (2..8). The packed DSP path accumulates w * 2^(8 - bits)
 * (exact while that cannot overflow: in_features * (2^(bits-1) - 1) * 32768 * 2^(8 - bits) < 2^31,
 * bench.models.common.gru_int.check_genome). */
bk_status_t bk_fc_pk_s16(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                         int32_t in_features, int32_t out_features, const int16_t *input,
                         const void *weights, int32_t weight_bits, const int32_t *bias,
                         int16_t *output, void *scratch, size_t scratch_bytes);

/* One gate matrix (H rows) of the mixed-precision GRU. */
typedef struct {
    int32_t bits;            /* weight bits: 2..8 */
    int32_t bias_bits;       /* 8, 16, 32: the bias array is int8_t / int16_t / int32_t */
    int32_t bias_shift;      /* 0..31: the accumulator starts from bias << bias_shift */
    const void *weights;     /* [H] packed rows, BK_MP_ROW_BYTES(cols, bits) each */
    const void *bias;        /* [H] or NULL */
    const int32_t *mult;     /* [H] */
    const int32_t *shift;    /* [H] */
} bk_mp_matrix_t;

typedef struct {
    int32_t input_size;      /* I */
    int32_t hidden_size;     /* H */
    int32_t input_offset;    /* -z_x, -128..128 */
    bk_mp_matrix_t m[6];     /* ir iz in hr hz hn */
    uint8_t act_bits[10];    /* pre_r pre_z act_r act_z mul_rh pre_n act_n mul_zh mul_zn state: 2..16 */
} bk_mpgru_params_t;

#define BK_MPGRU_SCRATCH_BYTES(input_size, hidden_size)                                  \
    ((size_t)(hidden_size) * 16u +                                                       \
     BK_PK_SCRATCH_BYTES((input_size) > (hidden_size) ? (input_size) : (hidden_size)))

/* One timestep: x int8 (I), h int16 (H, in/out; already narrowed to act_bits[9] bits). */
bk_status_t bk_mpgru_cell(const bk_mpgru_params_t *params, const int8_t *x, int16_t *h,
                          void *scratch, size_t scratch_bytes);

/* Parses the table blob of gru_int.mp_blob (a flash const or a RAM table loaded at run time)
 * into params; the pointers point into the blob. BK_ERR_PARAM for a bad magic, width, offset
 * or size. */
bk_status_t bk_mpgru_bind(const uint32_t *blob, size_t words, bk_mpgru_params_t *params);

#ifdef __cplusplus
}
#endif

#endif /* BK_MP_H */
