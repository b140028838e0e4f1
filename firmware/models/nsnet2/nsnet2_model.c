/* Early-exit nsNet2 behind bench_model_t. Stages: "stft" (window, FFT, log-power features,
 * int8), "network" (int8 network up to the exit), "istft" (mask, inverse FFT, overlap-add).
 * Side info per frame: BENCH_TLV_EXIT (u8 exit taken), BENCH_TLV_MACS (u32 MACs executed).
 * CONFIGURE keys: see nn_configure() (exit, policy, thr_q15, min_exit, max_exit). */
#include <stdint.h>

#include "bench_model.h"
#include "nsnet2.h"

static nn_state_t g_nn;
static int g_nn_ready;

static void nm_ensure_init(void)
{
    if (!g_nn_ready) {
        nn_init(&g_nn);
        g_nn_ready = 1;
    }
}

static void nm_reset(void)
{
    nm_ensure_init();
    nn_reset(&g_nn);
}

static int nm_configure(const char *key, int32_t value)
{
    nm_ensure_init();
    return nn_configure(&g_nn, key, value);
}

static void nm_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    nm_ensure_init();
    nn_analysis(&g_nn, in);
    bench_mark(ctx, 0);
    nn_network(&g_nn);
    bench_mark(ctx, 1);
    nn_synthesis(&g_nn, out);
    bench_mark(ctx, 2);
    const uint8_t e = (uint8_t)g_nn.last_exit;
    const uint32_t macs = g_nn.last_macs;
    bench_side_put(ctx, BENCH_TLV_EXIT, &e, 1);
    bench_side_put(ctx, BENCH_TLV_MACS, &macs, 4);
}

static const char *const nm_stage_names[] = {"stft", "network", "istft"};

const bench_model_t bench_model = {
    .family = "nsnet2-ee",
    .sample_rate = 16000,
    .frame_len = NN_FRAME,
    .hop_len = NN_HOP,
    .n_stages = 3,
    .stage_names = nm_stage_names,
    .reset = nm_reset,
    .configure = nm_configure,
    .process = nm_process,
};
