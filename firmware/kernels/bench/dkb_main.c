/* DynCP kernel benchmark image (QEMU mps2-an386): runs every case of dkb_cases[]
 * (dkb_vectors.c, written by bench/harness/dyncp_kernels.py) once with interrupts masked,
 * reads the board counter around the kernel call and compares the result bytes -- the output
 * vector, then for the depthwise kernel the ring and the ring position -- with the golden
 * model's. One line per case on UART0, in the format of kb_main.c:
 *
 *   KB <name> st=<status> ticks=<counter ticks> bad=<mismatching bytes> first=<index or -1> fnv=<FNV-1a 32>
 *
 * then "KB_END path=<dsp|ref> fails=<n>" and exit (semihosting) with the number of failures. */
#include <stdint.h>
#include <string.h>

#include "bench_port.h"
#include "bk.h"
#include "board.h"
#include "kb_report.h"
#include "dkb_cases.h"

static uint8_t dkb_res[DKB_MAX_RES_BYTES] __attribute__((aligned(4)));
static uint32_t dkb_scratch[(DKB_MAX_SCRATCH_BYTES + 3u) / 4u];

static int32_t run_case(const dkb_case_t *c, int8_t *out, int8_t *ring, int32_t *pos)
{
    const bk_fc_params_t fp = {c->p[0], c->p[1], c->p[2], c->p[3]};
    const bk_per_channel_t q = {c->mult, c->shift};
    switch (c->kind) {
    case DKB_PW:
        return bk_pw_conv_s8(&fp, &q, c->n_in, c->n_out, c->x, c->w, c->bias, c->mask, out, dkb_scratch,
                             sizeof dkb_scratch);
    case DKB_PWT:
        return bk_pw_conv_t_s8(&fp, &q, c->n_in, c->n_out, c->x, c->w, c->bias, c->mask, out, dkb_scratch,
                               sizeof dkb_scratch);
    case DKB_DW:
        return bk_dw_conv_s8(&fp, &q, c->n_out, c->dilation, c->x, ring, pos, c->w, c->bias, c->mask, out);
    default: /* DKB_NOP: the measurement overhead */
        return BK_OK;
    }
}

int main(void)
{
    int fails = 0;
    board_puts("KB_BEGIN\r\n");
    for (int i = 0; i < DKB_N_CASES; i++) {
        const dkb_case_t *c = &dkb_cases[i];
        /* result layout: out[n_out], then (depthwise) ring[ring_bytes], pos (int32) */
        int8_t *out = (int8_t *)dkb_res;
        int8_t *ring = (int8_t *)dkb_res + c->n_out;
        int32_t pos = c->pos;
        memcpy(out, c->out_init, (size_t)c->n_out);
        if (c->ring_bytes > 0) {
            memcpy(ring, c->ring, (size_t)c->ring_bytes);
        }
        bench_port_irq_disable();
        const uint32_t t0 = bench_port_counter();
        const int32_t st = run_case(c, out, ring, &pos);
        const uint32_t t1 = bench_port_counter();
        bench_port_irq_enable();
        size_t nres = (size_t)c->n_out + (size_t)c->ring_bytes;
        if (c->ring_bytes > 0) {
            memcpy(dkb_res + nres, &pos, sizeof pos);
            nres += sizeof pos;
        }
        int32_t bad = 0, first = -1;
        for (size_t j = 0; j < nres; j++) {
            if (dkb_res[j] != c->expected[j]) {
                if (first < 0) {
                    first = (int32_t)j;
                }
                bad++;
            }
        }
        if (st != BK_OK || bad != 0 || (int32_t)nres != c->res_bytes) {
            fails++;
        }
        kb_report_case(c->name, st, t1 - t0, bad, first, kb_fnv1a(dkb_res, nres));
    }
    board_puts(bk_dsp_path() ? "KB_END path=dsp fails=" : "KB_END path=ref fails=");
    kb_put_int(fails);
    board_puts("\r\n");
    return fails;
}
