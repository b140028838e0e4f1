/* A deliberately slowed dsp-baseline model, for the regression gate's own test
 * (tests/qemu/test_gate_slowdown.py). Built instead of baseline_model.c, never shipped:
 * it includes the real model unchanged and wraps its process() with extra work at the
 * start of the measured region (so it lands in the "stft" stage and the total).
 * BENCH_SLOWDOWN_ITERS sets the amount (about 4-5 instructions per iteration).
 * The committed images do not see this file: no image in firmware/images.toml lists it. */
#include <stdint.h>

#define bench_model bench_model_unslowed
#include "../models/baseline/baseline_model.c"
#undef bench_model

#ifndef BENCH_SLOWDOWN_ITERS
#define BENCH_SLOWDOWN_ITERS 500
#endif

static volatile uint32_t g_slowdown_sink;

static void slow_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    uint32_t acc = (uint32_t)in[0];
    for (uint32_t i = 0; i < (uint32_t)BENCH_SLOWDOWN_ITERS; ++i) {
        acc = acc * 1664525u + 1013904223u;
        g_slowdown_sink = acc;
    }
    bl_process(in, out, ctx);
}

const bench_model_t bench_model = {
    .family = "dsp-baseline",
    .sample_rate = 16000,
    .frame_len = SG_FRAME_LEN,
    .hop_len = SG_HOP_LEN,
    .n_stages = 3,
    .stage_names = bl_stage_names,
    .reset = bl_reset,
    .configure = bl_configure,
    .process = slow_process,
};
