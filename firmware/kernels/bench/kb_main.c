/* Kernel benchmark image (QEMU mps2-an386): runs every case of the generated table
 * kb_cases[] (kb_vectors.c, written by bench/harness/kernels.py) once with interrupts masked,
 * reads the board counter around the kernel call, compares the output with the golden
 * model's and prints one line per case on UART0:
 *
 *   KB <name> st=<status> ticks=<counter ticks> bad=<mismatching elements> first=<index or -1>
 *      fnv=<FNV-1a 32 of the output bytes, so the host can check the output independently>
 *
 * then "KB_END path=<dsp|ref> fails=<n>" and exits (semihosting) with the number of failing
 * cases. Not a bench agent image: it speaks no protocol. */
#include <stdint.h>
#include <string.h>

#include "bench_port.h"
#include "bk.h"
#include "board.h"
#include "kb_report.h"
#include "kb_cases.h"

static int16_t kb_h[KB_MAX_STATE];
static uint8_t kb_out[KB_MAX_OUT_BYTES] __attribute__((aligned(4)));
static uint32_t kb_scratch[(KB_MAX_SCRATCH_BYTES + 3u) / 4u];

static int32_t run_case(const kb_case_t *c)
{
    const int32_t *p = c->p;
    void *scr = kb_scratch;
    const size_t sb = sizeof kb_scratch;
    switch (c->kind) {
    case KB_FC_S8:
    case KB_FC_S8_S16:
    case KB_FC_S16: {
        const bk_fc_params_t fp = {p[0], p[1], p[2], p[3]};
        const bk_per_channel_t q = {(const int32_t *)c->a[3], (const int32_t *)c->a[4]};
        if (c->kind == KB_FC_S8) {
            return bk_fc_s8(&fp, &q, c->k, c->n, (const int8_t *)c->a[0], (const int8_t *)c->a[1],
                            (const int32_t *)c->a[2], (int8_t *)kb_out, scr, sb);
        }
        if (c->kind == KB_FC_S8_S16) {
            return bk_fc_s8_s16(&fp, &q, c->k, c->n, (const int8_t *)c->a[0], (const int8_t *)c->a[1],
                                (const int32_t *)c->a[2], (int16_t *)kb_out, scr, sb);
        }
        return bk_fc_s16(&fp, &q, c->k, c->n, (const int16_t *)c->a[0], (const int8_t *)c->a[1],
                         (const int32_t *)c->a[2], (int16_t *)kb_out, scr, sb);
    }
    case KB_SIGMOID:
        return bk_sigmoid_s16((const int16_t *)c->a[0], (int16_t *)kb_out, c->n, p[0], p[1]);
    case KB_TANH:
        return bk_tanh_s16((const int16_t *)c->a[0], (int16_t *)kb_out, c->n, p[0], p[1]);
    case KB_MUL: {
        const bk_mul_params_t mp = {p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
        return bk_mul_s16((const int16_t *)c->a[0], (const int16_t *)c->a[1], (int16_t *)kb_out, c->n, &mp);
    }
    case KB_ADD: {
        const bk_add_params_t ap = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
        return bk_add_s16((const int16_t *)c->a[0], (const int16_t *)c->a[1], (int16_t *)kb_out, c->n, &ap);
    }
    case KB_REQ32:
        return bk_requantize_s32((const int32_t *)c->a[0], (int32_t *)kb_out, c->n, p[0], p[1]);
    case KB_REQ16_8:
        return bk_requantize_s16_s8((const int16_t *)c->a[0], (int8_t *)kb_out, c->n, p[0], p[1], p[2], p[3]);
    case KB_GRU: {
        const bk_gru_params_t gp = {p[0], p[1], p[2],
                                    (const int8_t *)c->a[1], (const int8_t *)c->a[2],
                                    (const int32_t *)c->a[3], (const int32_t *)c->a[4],
                                    (const int32_t *)c->a[5], (const int32_t *)c->a[6],
                                    (const int32_t *)c->a[7], (const int32_t *)c->a[8]};
        const int8_t *xs = (const int8_t *)c->a[0];
        int32_t st = BK_OK;
        for (int32_t t = 0; t < p[3] && st == BK_OK; t++) { /* p[3] timesteps */
            st = bk_gru_cell_s8(&gp, xs + t * p[0], kb_h, scr, sb);
        }
        memcpy(kb_out, kb_h, (size_t)p[1] * sizeof(int16_t));
        return st;
    }
    default: /* KB_NOP: the measurement overhead */
        return BK_OK;
    }
}

int main(void)
{
    int fails = 0;
    board_puts("KB_BEGIN\r\n");
    for (int i = 0; i < KB_N_CASES; i++) {
        const kb_case_t *c = &kb_cases[i];
        memset(kb_out, 0x5A, sizeof kb_out);
        if (c->kind == KB_GRU) {
            memcpy(kb_h, c->a[9], (size_t)c->p[1] * sizeof(int16_t)); /* h0 */
        }
        bench_port_irq_disable();
        const uint32_t t0 = bench_port_counter();
        const int32_t st = run_case(c);
        const uint32_t t1 = bench_port_counter();
        bench_port_irq_enable();
        int32_t bad = 0, first = -1;
        const uint8_t *want = (const uint8_t *)c->expected;
        for (int32_t j = 0; j < c->out_elems; j++) {
            if (memcmp(kb_out + (size_t)j * c->out_size, want + (size_t)j * c->out_size, c->out_size) != 0) {
                if (first < 0) {
                    first = j;
                }
                bad++;
            }
        }
        if (st != BK_OK || bad != 0) {
            fails++;
        }
        kb_report_case(c->name, st, t1 - t0, bad, first, kb_fnv1a(kb_out, (size_t)c->out_elems * (size_t)c->out_size));
    }
    board_puts(bk_dsp_path() ? "KB_END path=dsp fails=" : "KB_END path=ref fails=");
    kb_put_int(fails);
    board_puts("\r\n");
    return fails;
}
