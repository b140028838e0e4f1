/* Bench kernels (bk_*): int8 / int16 fully connected, int16 sigmoid / tanh, element-wise
 * mul / add, requantisation and an integer GRU cell, for Cortex-M.
 *
 * Integer semantics are TFLite-Micro's (per-channel symmetric int8 weights, asymmetric int8
 * activations, int32 bias, Q31 multiplier + shift requantisation with gemmlowp rounding);
 * bench/models/common/int8ops.py and bench/models/common/gru_int.py are the golden models the kernels
 * match bit for bit, docs/kernels.md has the formulas.
 *
 * Conventions: every function returns a bk_status_t; no malloc; kernels that need working
 * memory take caller-provided scratch (4-byte aligned, at least the BK_*_SCRATCH_BYTES
 * size, the same size for both code paths). Two code paths: a DSP path (SMLAD / SXTB16,
 * selected by __ARM_FEATURE_DSP) and a plain-C reference path (any other target, or forced
 * with -DBK_FORCE_REF). Both give identical results.
 *
 * Shifts: requantisation shifts are in -31..30 (negative = right shift), as TFLM's
 * QuantizeMultiplier produces them; multipliers are >= 0. Per-channel arrays are not
 * range-checked per row (the scalar entry points check theirs). */
#ifndef BK_H
#define BK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BK_OK = 0,
    BK_ERR_NULL = -1,    /* a required pointer is NULL */
    BK_ERR_SIZE = -2,    /* a dimension is < 1 (or < 0 for element counts) */
    BK_ERR_PARAM = -3,   /* a parameter is out of range (shift, offset, act_min > act_max) */
    BK_ERR_SCRATCH = -4  /* scratch missing, too small or not 4-byte aligned */
} bk_status_t;

/* 1 when this build runs the DSP path, 0 for the reference path. */
int bk_dsp_path(void);

/* ---- fully connected ------------------------------------------------------------------ */

/* Per-channel requantisation: out[n] uses multiplier[n], shift[n]. */
typedef struct {
    const int32_t *multiplier; /* [out_features], Q31, >= 0 */
    const int32_t *shift;      /* [out_features], -31..30 */
} bk_per_channel_t;

typedef struct {
    int32_t input_offset;  /* -(input zero point): -128..128 for int8 input; must be 0 for int16 */
    int32_t output_offset; /* output zero point, added after requantisation */
    int32_t act_min;       /* output clamp (after the offset) */
    int32_t act_max;
} bk_fc_params_t;

/* Scratch for the fully connected kernels: the input widened to int16 once per call. */
#define BK_FC_SCRATCH_BYTES(in_features) ((size_t)(((in_features) + 1) / 2) * 4u)

/* out[n] = clamp(MBQM(sum_k w[n][k] * (in[k] + input_offset) + bias[n], M[n], s[n]) + output_offset)
 * weights: row-major [out_features][in_features] int8; bias may be NULL. act range within int8. */
bk_status_t bk_fc_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                     int32_t in_features, int32_t out_features, const int8_t *input,
                     const int8_t *weights, const int32_t *bias, int8_t *output,
                     void *scratch, size_t scratch_bytes);

/* As bk_fc_s8 with an int16 output (act range within int16). */
bk_status_t bk_fc_s8_s16(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                         int32_t in_features, int32_t out_features, const int8_t *input,
                         const int8_t *weights, const int32_t *bias, int16_t *output,
                         void *scratch, size_t scratch_bytes);

/* 16x8: int16 input (zero point 0, params->input_offset must be 0), int8 per-channel
 * weights, int32 bias and accumulator, int16 output (TFLM FullyConnectedPerChannel<int32>).
 * The accumulator wraps in int32: keep sum |w| * 32768 + |bias| < 2^31 (in_features <= 516
 * always is). */
bk_status_t bk_fc_s16(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                      int32_t in_features, int32_t out_features, const int16_t *input,
                      const int8_t *weights, const int32_t *bias, int16_t *output,
                      void *scratch, size_t scratch_bytes);

/* ---- activations (TFLM int16 LOGISTIC / TANH) ----------------------------------------- */

/* Q3.12 input (scale 2^-12): input_multiplier = 0, input_left_shift = 0. Other scales: the
 * pair TFLM's Prepare computes (bench.models.common.int8ops.sigmoid_s16_params). Output Q0.15. */
bk_status_t bk_sigmoid_s16(const int16_t *input, int16_t *output, int32_t size,
                           int32_t input_multiplier, int32_t input_left_shift);
bk_status_t bk_tanh_s16(const int16_t *input, int16_t *output, int32_t size,
                        int32_t input_multiplier, int32_t input_left_shift);

/* ---- element-wise ----------------------------------------------------------------------- */

typedef struct {
    int32_t in1_offset, in2_offset, out_offset; /* -(zero points), output zero point */
    int32_t multiplier, shift;                  /* s1 * s2 / s_out */
    int32_t act_min, act_max;
} bk_mul_params_t;

/* out = clamp(MBQM((a + in1_offset) * (b + in2_offset), M, s) + out_offset) (TFLM MUL). */
bk_status_t bk_mul_s16(const int16_t *a, const int16_t *b, int16_t *output, int32_t size,
                       const bk_mul_params_t *params);

typedef struct {
    int32_t in1_offset, in1_multiplier, in1_shift;
    int32_t in2_offset, in2_multiplier, in2_shift;
    int32_t left_shift;                          /* 15 for int16 (TFLM) */
    int32_t out_multiplier, out_shift, out_offset;
    int32_t act_min, act_max;
} bk_add_params_t;

/* TFLM ADD, general scales: both inputs shifted left, rescaled to a common scale, summed,
 * rescaled to the output. */
bk_status_t bk_add_s16(const int16_t *a, const int16_t *b, int16_t *output, int32_t size,
                       const bk_add_params_t *params);

/* ---- requantisation --------------------------------------------------------------------- */

/* out[i] = MBQM(in[i], multiplier, shift) (TFLM MultiplyByQuantizedMultiplier, int32). */
bk_status_t bk_requantize_s32(const int32_t *input, int32_t *output, int32_t size,
                              int32_t multiplier, int32_t shift);

/* TFLM QUANTIZE int16 -> int8: clamp(MBQM(in + input_offset, M, s) + output_offset, -128, 127). */
bk_status_t bk_requantize_s16_s8(const int16_t *input, int8_t *output, int32_t size,
                                 int32_t input_offset, int32_t multiplier, int32_t shift,
                                 int32_t output_offset);

/* ---- GRU -------------------------------------------------------------------------------- */

/* One GRU layer's integer parameters (bench.models.common.gru_int.GruQuant.c_arrays), PyTorch
 * layout and gate order r, z, n. x: int8 (scale s_x, zero point z_x); h: int16 Q0.15. */
typedef struct {
    int32_t input_size;      /* I */
    int32_t hidden_size;     /* H (<= 516 keeps the recurrent accumulator exact) */
    int32_t input_offset;    /* -z_x */
    const int8_t *w_ih;      /* [3H][I] */
    const int8_t *w_hh;      /* [3H][H] */
    const int32_t *b_ih;     /* [3H] or NULL */
    const int32_t *b_hh;     /* [3H] or NULL */
    const int32_t *mult_ih;  /* [3H]: s_x * s_wih[c] / 2^-12 */
    const int32_t *shift_ih; /* [3H] */
    const int32_t *mult_hh;  /* [3H]: 2^-15 * s_whh[c] / 2^-12 */
    const int32_t *shift_hh; /* [3H] */
} bk_gru_params_t;

#define BK_GRU_SCRATCH_BYTES(input_size, hidden_size)                                  \
    ((size_t)(hidden_size) * 12u +                                                     \
     BK_FC_SCRATCH_BYTES((input_size) > (hidden_size) ? (input_size) : (hidden_size)))

/* One timestep, all operators at their default widths (gru_int.GruBits()): h is updated in
 * place (int16 Q0.15). */
bk_status_t bk_gru_cell_s8(const bk_gru_params_t *params, const int8_t *x, int16_t *h,
                           void *scratch, size_t scratch_bytes);

/* ---- DynCP: channel-masked pointwise / depthwise conv (bk_pw_conv_s8.c, bk_pw_conv_t_s8.c,
 * bk_dw_conv_s8.c) ----------------------------------------------------------------------
 * TFLM int8 per-channel semantics extended with a channel keep-mask: a masked channel is
 * skipped entirely (its weights are not read, its output neither computed nor written).
 * Masks are bit-packed: channel c is kept when (mask[c >> 5] >> (c & 31)) & 1; NULL keeps
 * every channel. Golden ops: bench.models.dyncp.golden; docs/dyncp.md, "Kernels". */
#define BK_MASK_WORDS(channels) ((size_t)(((channels) + 31) / 32))

/* Pointwise conv of one frame, OUTPUT channels masked; weights row-major [out_ch][in_ch]:
 * for every kept n:
 *   out[n] = clamp(MBQM(bias[n] + sum_k w[n][k] (in[k] + input_offset), M[n], s[n]) + output_offset)
 * Skipped outputs are left untouched. Scratch: BK_FC_SCRATCH_BYTES(in_ch) (the widened input). */
bk_status_t bk_pw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t in_ch, int32_t out_ch, const int8_t *input,
                          const int8_t *weights, const int32_t *bias, const uint32_t *out_mask,
                          int8_t *output, void *scratch, size_t scratch_bytes);

/* Pointwise conv of one frame, INPUT channels masked; weights input-channel-major
 * [in_ch][out_ch] (the transpose of PyTorch's (out, in), so that a kept input channel's
 * weights are contiguous): for every n,
 *   out[n] = clamp(MBQM(bias[n] + sum_{k kept} w[k][n] (in[k] + input_offset), M[n], s[n]) + output_offset)
 * (a skipped input counts as real zero). Scratch: BK_PW_T_SCRATCH_BYTES(out_ch) (accumulators). */
#define BK_PW_T_SCRATCH_BYTES(out_ch) ((size_t)(out_ch) * 4u)
bk_status_t bk_pw_conv_t_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                            int32_t in_ch, int32_t out_ch, const int8_t *input,
                            const int8_t *weights, const int32_t *bias, const uint32_t *in_mask,
                            int8_t *output, void *scratch, size_t scratch_bytes);

/* Depthwise causal conv, kernel 3, dilation d, one frame, with a history ring.
 * ring: int8 [2d][channels], the inputs of the last 2d frames; *pos (0 .. 2d-1) is the row
 * holding frame t-2d, row (pos + d) mod 2d holds frame t-d. weights: int8 [3][channels]
 * (TFLM's channel-last layout; tap 0 on t-2d, tap 1 on t-d, tap 2 on t). For every kept c:
 *   acc    = bias[c] + w[0][c] (h[t-2d][c] + off) + w[1][c] (h[t-d][c] + off) + w[2][c] (in[c] + off)
 *   out[c] = clamp(MBQM(acc, M[c], s[c]) + output_offset, act_min, act_max)
 * Then row *pos becomes this frame: in[c] for kept c, the input zero point (-input_offset, real
 * zero) for skipped c, and *pos advances by one (mod 2d). Skipped outputs are left untouched.
 * input_offset must be in -127..128 (the zero point an int8). No scratch. */
bk_status_t bk_dw_conv_s8(const bk_fc_params_t *params, const bk_per_channel_t *quant,
                          int32_t channels, int32_t dilation, const int8_t *input, int8_t *ring,
                          int32_t *pos, const int8_t *weights, const int32_t *bias,
                          const uint32_t *mask, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* BK_H */
