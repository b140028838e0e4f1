/* The mixed-precision GRU kernel benchmark on QEMU (bench/harness/mpgru_kernels.py): per case,
 * `steps` timesteps of bk_mpgru_cell (tables bound from a generated blob) or of the int8
 * bk_gru_cell_s8, with interrupts masked and the board counter read around the steps; the final
 * state is compared with the golden model's. Report lines as kb_main.c's (kb_report.h). */
#include <stdint.h>
#include <string.h>

#include "bench_port.h"
#include "bk.h"
#include "bk_mp.h"
#include "kb_report.h"
#include "mkb_cases.h"

static int16_t h[MKB_MAX_H];
static uint32_t scratch[MKB_SCRATCH_WORDS];

static int32_t run_case(const mkb_case_t *c)
{
    int32_t st = BK_OK;
    if (c->kind == MKB_NOP) {
        return BK_OK;
    }
    if (c->kind == MKB_INT8) {
        const bk_gru_params_t gp = {c->i, c->h, c->input_offset, c->w_ih, c->w_hh, c->b_ih, c->b_hh,
                                    c->mult_ih, c->shift_ih, c->mult_hh, c->shift_hh};
        for (int32_t t = 0; t < c->steps && st == BK_OK; t++) {
            st = bk_gru_cell_s8(&gp, c->xs + t * c->i, h, scratch, sizeof scratch);
        }
        return st;
    }
    bk_mpgru_params_t mp;
    st = bk_mpgru_bind(c->blob, c->blob_words, &mp);
    for (int32_t t = 0; t < c->steps && st == BK_OK; t++) {
        st = bk_mpgru_cell(&mp, c->xs + t * c->i, h, scratch, sizeof scratch);
    }
    return st;
}

int main(void)
{
    int fails = 0;
    board_puts("KB_BEGIN\r\n");
    for (int i = 0; i < MKB_N_CASES; i++) {
        const mkb_case_t *c = &mkb_cases[i];
        memset(h, 0, sizeof h);
        bench_port_irq_disable();
        const uint32_t t0 = bench_port_counter();
        const int32_t st = run_case(c);
        const uint32_t t1 = bench_port_counter();
        bench_port_irq_enable();
        int32_t bad = 0, first = -1;
        for (int32_t j = 0; j < c->h; j++) {
            if (h[j] != c->expected[j]) {
                if (first < 0) {
                    first = j;
                }
                bad++;
            }
        }
        if (st != BK_OK || bad != 0) {
            fails++;
        }
        kb_report_case(c->name, st, t1 - t0, bad, first, kb_fnv1a((const uint8_t *)h, (size_t)c->h * 2u));
    }
    board_puts(bk_dsp_path() ? "KB_END path=dsp fails=" : "KB_END path=ref fails=");
    kb_put_int(fails);
    board_puts("\r\n");
    return fails;
}
