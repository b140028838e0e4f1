/* DSP baseline model for the bench agent: spectral_gate.c behind bench_model_t.
 * Three timed stages per hop: "stft" (window + FFT), "gain" (noise tracker + gain),
 * "istft" (IFFT + overlap-add + int16). CONFIGURE keys: see sg_configure(). */
#include <stdint.h>

#include "bench_model.h"
#include "spectral_gate.h"

static sg_state_t g_sg;
static int g_sg_ready;

static void bl_ensure_init(void)
{
    if (!g_sg_ready) {
        sg_init(&g_sg);
        g_sg_ready = 1;
    }
}

static void bl_reset(void)
{
    bl_ensure_init();
    sg_reset(&g_sg);
}

static int bl_configure(const char *key, int32_t value)
{
    bl_ensure_init();
    return sg_configure(&g_sg, key, value);
}

static void bl_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    bl_ensure_init();
    sg_analysis(&g_sg, in);
    bench_mark(ctx, 0);
    sg_gain(&g_sg);
    bench_mark(ctx, 1);
    sg_synthesis(&g_sg, out);
    bench_mark(ctx, 2);
}

static const char *const bl_stage_names[] = {"stft", "gain", "istft"};

const bench_model_t bench_model = {
    .family = "dsp-baseline",
    .sample_rate = 16000,
    .frame_len = SG_FRAME_LEN,
    .hop_len = SG_HOP_LEN,
    .n_stages = 3,
    .stage_names = bl_stage_names,
    .reset = bl_reset,
    .configure = bl_configure,
    .process = bl_process,
};
