/* Front-end benchmark image (QEMU mps2-an386): the model runners' FFT stages and feature
 * front ends, and CMSIS-DSP's arm_rfft_fast_f32 where it has the length (512; 320 is not a
 * CMSIS-DSP length). Each case runs once with interrupts masked between two reads of the board
 * counter; one line per case on UART0 in kb_report.h's format (bad = outputs that disagree with
 * the runner's own by more than 1e-3 of the largest magnitude, CMSIS-DSP cases only), then
 * "KB_END path=fft fails=<n>" and exit (semihosting). Input: fb_audio[] (fb_vectors.c, written
 * by bench/harness/cmsis.py), two hops of int16 audio per model.
 *
 * Cases: dc_rfft512 / dc_irfft512 (DynCP: window + 256-point complex FFT + real split, and the
 * inverse), dc_analysis (the whole "stft" stage: framing, FFT, power, features), dc_features
 * (257 calls of dc_feature on that frame's power spectrum); nn_rfft320 / nn_irfft320 /
 * nn_analysis / nn_log2f (161 calls) for nsNet2; with -DFB_CMSIS_DSP cm_rfft512 (arm_mult_f32
 * window + arm_rfft_fast_f32), cm_rfft512_only, cm_irfft512. */
#include <stdint.h>
#include <string.h>

#include "bench_port.h"
#include "board.h"
#include "dyncp.h"
#include "kb_report.h"
#include "nsnet2.h"
#include "fb_cases.h"

#if defined(FB_CMSIS_DSP)
#include "arm_math.h"
static arm_rfft_fast_instance_f32 fb_rfft;
static float fb_buf[DC_FRAME];
#endif

static dc_state_t fb_dc;
static nn_state_t fb_nn;
static float fb_frame[DC_FRAME], fb_out[DC_FRAME + 2];
static float fb_xr[DC_BINS], fb_xi[DC_BINS], fb_p[DC_BINS];
static volatile int32_t fb_sink;
static int fb_fails;

static uint32_t fb_t0;
static void fb_begin(void)
{
    bench_port_irq_disable();
    fb_t0 = bench_port_counter();
}
static uint32_t fb_end(void)
{
    const uint32_t t1 = bench_port_counter();
    bench_port_irq_enable();
    return t1 - fb_t0;
}

static uint32_t fb_hash(const void *p, size_t n) { return kb_fnv1a((const uint8_t *)p, n); }

static void fb_report(const char *name, uint32_t ticks, int32_t bad, uint32_t fnv)
{
    if (bad != 0) {
        fb_fails++;
    }
    kb_report_case(name, 0, ticks, bad, bad ? 0 : -1, fnv);
}

#if defined(FB_CMSIS_DSP)
static float fb_absf(float v) { return v < 0.0f ? -v : v; }
/* bins where CMSIS-DSP's packed spectrum (re0, reN/2, re1, im1, ...) and ours differ by more
 * than 1e-3 of the largest magnitude */
static int32_t fb_cmp_spectrum(const float *packed)
{
    float big = 0.0f;
    for (int k = 0; k < DC_BINS; k++) {
        big = fb_absf(fb_xr[k]) > big ? fb_absf(fb_xr[k]) : big;
        big = fb_absf(fb_xi[k]) > big ? fb_absf(fb_xi[k]) : big;
    }
    int32_t bad = 0;
    for (int k = 0; k < DC_BINS; k++) {
        float re, im;
        if (k == 0) {
            re = packed[0];
            im = 0.0f;
        } else if (k == DC_BINS - 1) {
            re = packed[1];
            im = 0.0f;
        } else {
            re = packed[2 * k];
            im = packed[2 * k + 1];
        }
        if (fb_absf(re - fb_xr[k]) > 1e-3f * big || fb_absf(im - fb_xi[k]) > 1e-3f * big) {
            bad++;
        }
    }
    return bad;
}
#endif

int main(void)
{
    uint32_t t;
    board_puts("KB_BEGIN\r\n");
    kb_report_case("nop", 0, (fb_begin(), fb_end()), 0, -1, 0);

    /* ---- DynCP, 512 / 256 ---- */
    dc_reset(&fb_dc);
    dc_analysis(&fb_dc, fb_audio_dc); /* the previous hop */
    fb_begin();
    dc_analysis(&fb_dc, fb_audio_dc + DC_HOP);
    t = fb_end();
    fb_report("dc_analysis", t, 0, fb_hash(fb_dc.feat, sizeof fb_dc.feat));
    for (int n = 0; n < DC_FRAME; n++) {
        fb_frame[n] = (float)fb_audio_dc[n];
    }
    fb_begin();
    dc_rfft512(fb_frame, fb_xr, fb_xi);
    t = fb_end();
    fb_report("dc_rfft512", t, 0, fb_hash(fb_xr, sizeof fb_xr) ^ fb_hash(fb_xi, sizeof fb_xi));
    for (int k = 0; k < DC_BINS; k++) {
        fb_p[k] = fb_xr[k] * fb_xr[k] + fb_xi[k] * fb_xi[k];
    }
    {
        int8_t feat[DC_BINS];
        fb_begin();
        for (int k = 0; k < DC_BINS; k++) {
            feat[k] = dc_feature(fb_p[k]);
        }
        t = fb_end();
        fb_report("dc_features", t, 0, fb_hash(feat, sizeof feat));
    }
    fb_begin();
    dc_irfft512(fb_xr, fb_xi, fb_out);
    t = fb_end();
    fb_report("dc_irfft512", t, 0, fb_hash(fb_out, DC_FRAME * sizeof(float)));

#if defined(FB_CMSIS_DSP)
    (void)arm_rfft_fast_init_512_f32(&fb_rfft);
    fb_begin();
    arm_mult_f32(fb_frame, DC_WIN, fb_buf, DC_FRAME);
    arm_rfft_fast_f32(&fb_rfft, fb_buf, fb_out, 0);
    t = fb_end();
    fb_report("cm_rfft512", t, fb_cmp_spectrum(fb_out), fb_hash(fb_out, DC_FRAME * sizeof(float)));
    arm_mult_f32(fb_frame, DC_WIN, fb_buf, DC_FRAME);
    fb_begin();
    arm_rfft_fast_f32(&fb_rfft, fb_buf, fb_out, 0);
    t = fb_end();
    fb_report("cm_rfft512_only", t, fb_cmp_spectrum(fb_out), fb_hash(fb_out, DC_FRAME * sizeof(float)));
    memcpy(fb_buf, fb_out, DC_FRAME * sizeof(float));
    fb_begin();
    arm_rfft_fast_f32(&fb_rfft, fb_buf, fb_out, 1);
    t = fb_end();
    fb_report("cm_irfft512", t, 0, fb_hash(fb_out, DC_FRAME * sizeof(float)));
#endif

    /* ---- nsNet2, 320 / 160 (not a CMSIS-DSP length) ---- */
    nn_init(&fb_nn);
    nn_analysis(&fb_nn, fb_audio_nn);
    fb_begin();
    nn_analysis(&fb_nn, fb_audio_nn + NN_HOP);
    t = fb_end();
    fb_report("nn_analysis", t, 0, fb_hash(fb_nn.feat, sizeof fb_nn.feat));
    for (int n = 0; n < NN_FRAME; n++) {
        fb_frame[n] = (float)fb_audio_nn[n];
    }
    fb_begin();
    nn_rfft320(fb_frame, fb_xr, fb_xi);
    t = fb_end();
    fb_report("nn_rfft320", t, 0, fb_hash(fb_xr, NN_BINS * sizeof(float)) ^ fb_hash(fb_xi, NN_BINS * sizeof(float)));
    for (int k = 0; k < NN_BINS; k++) {
        fb_p[k] = fb_xr[k] * fb_xr[k] + fb_xi[k] * fb_xi[k] + 1.0f;
    }
    {
        float l[NN_BINS];
        fb_begin();
        for (int k = 0; k < NN_BINS; k++) {
            l[k] = nn_log2f(fb_p[k]);
        }
        t = fb_end();
        fb_report("nn_log2f", t, 0, fb_hash(l, sizeof l));
    }
    fb_begin();
    nn_irfft320(fb_xr, fb_xi, fb_out);
    t = fb_end();
    fb_report("nn_irfft320", t, 0, fb_hash(fb_out, NN_FRAME * sizeof(float)));

    fb_sink = fb_fails;
    board_puts("KB_END path=fft fails=");
    kb_put_int(fb_fails);
    board_puts("\r\n");
    return fb_fails;
}
