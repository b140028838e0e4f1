/* CMSIS-NN yardstick image (QEMU mps2-an386): the CMSIS-NN functions nearest to the bench
 * kernels, at the shapes the model families use, measured exactly like kb_main.c measures ours:
 * every case of kc_cases[] (kc_vectors.c, written by bench/harness/cmsis.py) runs once with
 * interrupts masked between two reads of the board counter, its output is compared with the
 * golden model's where the arithmetic is TFLM's (FC, 1x1 conv, depthwise) and hashed, and one
 * line per case goes to UART0 in kb_report.h's format:
 *
 *   KB <name> st=<status> ticks=<counter ticks> bad=<mismatching bytes> first=<index or -1> fnv=<FNV-1a 32>
 *
 * then "KB_END path=cmsis fails=<n>" and exit (semihosting). Built only when the harness is
 * given a CMSIS-NN tree (BENCH_CMSIS_NN); CMSIS-NN's code is never part of this repository.
 * Scratch buffers are sized on target by CMSIS-NN's own get_buffer_size functions, outside the
 * measured region. */
#include <stdint.h>
#include <string.h>

#include "arm_nnfunctions.h"
#include "bench_port.h"
#include "board.h"
#include "kb_report.h"
#include "kc_cases.h"

#define KC_BUF_BYTES 65536u
static int8_t kc_out[KC_MAX_OUT_BYTES] __attribute__((aligned(4)));
static int32_t kc_buf[KC_BUF_BYTES / 4u];
static int16_t kc_cell[KC_MAX_H], kc_t1[KC_MAX_H], kc_t2[KC_MAX_H];
static int8_t kc_hidden[KC_MAX_H];

typedef struct {
    cmsis_nn_context ctx;
    int32_t status; /* a set-up error: reported instead of running */
    cmsis_nn_dims in, filt, bias, out;
    cmsis_nn_fc_params fc;
    cmsis_nn_conv_params conv;
    cmsis_nn_dw_conv_params dw;
    cmsis_nn_per_tensor_quant_params pt;
    cmsis_nn_per_channel_quant_params pc;
    cmsis_nn_lstm_params lstm;
    cmsis_nn_lstm_context lctx;
} kc_setup_t;

static void kc_gate(cmsis_nn_lstm_gate *g, const kc_case_t *c, arm_nn_activation_type act)
{
    g->input_multiplier = c->p[4];
    g->input_shift = c->p[5];
    g->input_weights = c->a[1];
    g->input_effective_bias = c->a[2];
    g->hidden_multiplier = c->p[4];
    g->hidden_shift = c->p[5];
    g->hidden_weights = c->a[3];
    g->hidden_effective_bias = c->a[2];
    g->bias = c->a[2];
    g->activation_type = act;
}

/* Everything a case needs but its measured call: dims, parameters, scratch (outside the region). */
static void kc_prepare(const kc_case_t *c, kc_setup_t *s)
{
    const int32_t *p = c->p;
    memset(s, 0, sizeof *s);
    s->ctx.buf = kc_buf;
    s->ctx.size = (int32_t)sizeof kc_buf;
    s->pc.multiplier = (int32_t *)c->a[3];
    s->pc.shift = (int32_t *)c->a[4];
    int32_t need = 0;
    switch (c->kind) {
    case KC_FC_PT:
    case KC_FC_PC:
        s->in = (cmsis_nn_dims){1, 1, 1, c->k};
        s->filt = (cmsis_nn_dims){c->k, 1, 1, c->n};
        s->bias = (cmsis_nn_dims){1, 1, 1, c->n};
        s->out = (cmsis_nn_dims){1, 1, 1, c->n};
        s->fc = (cmsis_nn_fc_params){p[0], 0, p[1], {p[2], p[3]}};
        s->pt = (cmsis_nn_per_tensor_quant_params){p[4], p[5]};
        need = arm_fully_connected_s8_get_buffer_size(&s->filt);
        break;
    case KC_CONV1X1:
        s->in = (cmsis_nn_dims){1, 1, 1, c->k};
        s->filt = (cmsis_nn_dims){c->n, 1, 1, c->k};
        s->bias = (cmsis_nn_dims){1, 1, 1, c->n};
        s->out = (cmsis_nn_dims){1, 1, 1, c->n};
        s->conv = (cmsis_nn_conv_params){p[0], p[1], {1, 1}, {0, 0}, {1, 1}, {p[2], p[3]}};
        need = arm_convolve_1x1_s8_fast_get_buffer_size(&s->in);
        break;
    case KC_DW_OPT:
    case KC_DW_GEN: {
        /* one output frame of a causal k=3 conv over time (height): the input holds the taps,
         * 3 rows (taps gathered, dilation 1) or 2d + 1 rows (dilation d) */
        const int32_t d = c->kind == KC_DW_OPT ? 1 : c->h;
        s->in = (cmsis_nn_dims){1, 2 * d + 1, 1, c->n};
        s->filt = (cmsis_nn_dims){1, 3, 1, c->n};
        s->bias = (cmsis_nn_dims){1, 1, 1, c->n};
        s->out = (cmsis_nn_dims){1, 1, 1, c->n};
        s->dw = (cmsis_nn_dw_conv_params){p[0], p[1], 1, {1, 1}, {0, 0}, {1, d}, {p[2], p[3]}}; /* tiles: w, h */
        need = c->kind == KC_DW_OPT ? arm_depthwise_conv_wrapper_s8_get_buffer_size(&s->dw, &s->in, &s->filt, &s->out)
                                    : 0;
        break;
    }
    case KC_LSTM: {
        cmsis_nn_lstm_params *l = &s->lstm;
        l->time_major = 1;
        l->batch_size = 1;
        l->time_steps = 1;
        l->input_size = c->k;
        l->hidden_size = c->n;
        l->input_offset = p[0];
        l->forget_to_cell_multiplier = 1 << 30;
        l->forget_to_cell_shift = -14;
        l->input_to_cell_multiplier = 1 << 30;
        l->input_to_cell_shift = -14;
        l->cell_clip = 32767;
        l->cell_scale_power = -11;
        l->output_multiplier = 1 << 30;
        l->output_shift = -22;
        l->output_offset = p[1];
        kc_gate(&l->forget_gate, c, ARM_SIGMOID);
        kc_gate(&l->input_gate, c, ARM_SIGMOID);
        kc_gate(&l->cell_gate, c, ARM_TANH);
        kc_gate(&l->output_gate, c, ARM_SIGMOID);
        memset(kc_cell, 0, sizeof kc_cell);
        memcpy(kc_hidden, (const int8_t *)c->a[5], (size_t)c->n);
        s->lctx = (cmsis_nn_lstm_context){kc_t1, kc_t2, kc_cell, kc_hidden};
        break;
    }
    default:
        break;
    }
    if (need > (int32_t)sizeof kc_buf) {
        s->status = -100;
    }
}

static int32_t kc_run(const kc_case_t *c, kc_setup_t *s)
{
    const int8_t *x = (const int8_t *)c->a[0];
    const int8_t *w = (const int8_t *)c->a[1];
    const int32_t *b = (const int32_t *)c->a[2];
    switch (c->kind) {
    case KC_FC_PT:
        return arm_fully_connected_s8(&s->ctx, &s->fc, &s->pt, &s->in, x, &s->filt, w, &s->bias, b, &s->out, kc_out);
    case KC_FC_PC:
        return arm_fully_connected_per_channel_s8(&s->ctx, &s->fc, &s->pc, &s->in, x, &s->filt, w, &s->bias, b,
                                                  &s->out, kc_out);
    case KC_CONV1X1:
        return arm_convolve_1x1_s8_fast(&s->ctx, &s->conv, &s->pc, &s->in, x, &s->filt, w, &s->bias, b, &s->out,
                                        kc_out);
    case KC_DW_OPT:
        return arm_depthwise_conv_wrapper_s8(&s->ctx, &s->dw, &s->pc, &s->in, x, &s->filt, w, &s->bias, b, &s->out,
                                             kc_out);
    case KC_DW_GEN:
        return arm_depthwise_conv_s8(&s->ctx, &s->dw, &s->pc, &s->in, x, &s->filt, w, &s->bias, b, &s->out,
                                     kc_out);
    case KC_LSTM:
        return arm_lstm_unidirectional_s8(x, kc_out, &s->lstm, &s->lctx);
    default: /* KC_NOP: the measurement overhead */
        return 0;
    }
}

int main(void)
{
    int fails = 0;
    static kc_setup_t s;
    board_puts("KB_BEGIN\r\n");
    for (int i = 0; i < KC_N_CASES; i++) {
        const kc_case_t *c = &kc_cases[i];
        memset(kc_out, 0x5A, sizeof kc_out);
        kc_prepare(c, &s);
        int32_t st = s.status;
        uint32_t t0 = 0, t1 = 0;
        if (st == 0) {
            bench_port_irq_disable();
            t0 = bench_port_counter();
            st = kc_run(c, &s);
            t1 = bench_port_counter();
            bench_port_irq_enable();
        }
        int32_t bad = 0, first = -1;
        if (c->check) {
            const int8_t *want = (const int8_t *)c->expected;
            for (int32_t j = 0; j < c->out_bytes; j++) {
                if (kc_out[j] != want[j]) {
                    if (first < 0) {
                        first = j;
                    }
                    bad++;
                }
            }
        }
        if (st != 0 || bad != 0) {
            fails++;
        }
        kb_report_case(c->name, st, t1 - t0, bad, first, kb_fnv1a((const uint8_t *)kc_out, (size_t)c->out_bytes));
    }
    board_puts("KB_END path=cmsis fails=");
    kb_put_int(fails);
    board_puts("\r\n");
    return fails;
}
