/* DynCP Conv-FSENet behind bench_model_t. Stages: "stft" (window, FFT, int8 features),
 * "network" (gated int8 TCN), "probes" (mask probes), "istft" (gain, inverse FFT, overlap-add).
 * Side info per frame: BENCH_TLV_MASK per gated block (u8 block, DC_C bits LSB first),
 * BENCH_TLV_MACS (u32 MACs executed), BENCH_TLV_PROBE per probe (u8 id, i32 score). */
#include <stdint.h>

#include "bench_model.h"
#include "dyncp.h"

static dc_state_t g_dc;
static int g_dc_ready;

#ifndef DC_PROBE_CONTEXT
#define DC_PROBE_CONTEXT 0 /* probes with a temporal context define it in their params header */
#endif
#if DC_N_PROBES > 0 && DC_PROBE_CONTEXT > 0
/* The previous DC_PROBE_CONTEXT frames' masks for the probes' context (dyncp_probes_add_lag):
 * g_ph[g_ph_head] is the last frame's; g_ph_n frames are held (0 after a reset: the frames before
 * an utterance's first have no bit set and add nothing). */
static uint32_t g_ph[DC_PROBE_CONTEXT][DC_N_BLOCKS * DC_MASK_WORDS];
static uint32_t g_ph_n, g_ph_head;

static void dm_probe_context(int32_t *scores)
{
    for (uint32_t lag = 1; lag <= g_ph_n; ++lag) {
        const uint32_t slot = (g_ph_head + DC_PROBE_CONTEXT + 1u - lag) % DC_PROBE_CONTEXT;
        (void)dyncp_probes_add_lag(&dyncp_probes_params, lag, g_ph[slot], scores);
    }
    g_ph_head = (g_ph_head + 1u) % DC_PROBE_CONTEXT;
    const uint32_t *m = &g_dc.masks[0][0];
    for (uint32_t i = 0; i < DC_N_BLOCKS * DC_MASK_WORDS; ++i)
        g_ph[g_ph_head][i] = m[i];
    if (g_ph_n < DC_PROBE_CONTEXT)
        g_ph_n++;
}
#endif

static void dm_ensure_init(void)
{
    if (!g_dc_ready) {
        dc_reset(&g_dc);
        g_dc_ready = 1;
    }
}

static void dm_reset(void)
{
    dc_reset(&g_dc);
    g_dc_ready = 1;
#if DC_N_PROBES > 0 && DC_PROBE_CONTEXT > 0
    g_ph_n = 0;
#endif
}

static int dm_configure(const char *key, int32_t value)
{
    (void)key;
    (void)value;
    return 4; /* no keys */
}

static void dm_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    dm_ensure_init();
    dc_analysis(&g_dc, in);
    bench_mark(ctx, 0);
    dc_network(&g_dc);
    bench_mark(ctx, 1);
#if DC_N_PROBES > 0
    int32_t scores[DC_N_PROBES];
    (void)dyncp_probes_scores(&dyncp_probes_params, &g_dc.masks[0][0], scores);
#if DC_PROBE_CONTEXT > 0
    dm_probe_context(scores);
#endif
#endif
    bench_mark(ctx, 2);
    dc_synthesis(&g_dc, out);
    bench_mark(ctx, 3);
    if (DC_GATED) {
        for (int i = 0; i < DC_N_BLOCKS; i++) {
            uint8_t v[1 + (DC_C + 7) / 8];
            v[0] = (uint8_t)i;
            for (int j = 0; j < (DC_C + 7) / 8; j++)
                v[1 + j] = (uint8_t)(g_dc.masks[i][j / 4] >> (8 * (j % 4)));
            bench_side_put(ctx, BENCH_TLV_MASK, v, sizeof v);
        }
    }
    const uint32_t macs = g_dc.last_macs;
    bench_side_put(ctx, BENCH_TLV_MACS, &macs, 4);
#if DC_N_PROBES > 0
    for (int p = 0; p < DC_N_PROBES; p++) {
        uint8_t v[5];
        const uint32_t u = (uint32_t)scores[p];
        v[0] = (uint8_t)p;
        for (int j = 0; j < 4; j++)
            v[1 + j] = (uint8_t)(u >> (8 * j));
        bench_side_put(ctx, BENCH_TLV_PROBE, v, sizeof v);
    }
#endif
}

static const char *const dm_stage_names[] = {"stft", "network", "probes", "istft"};

const bench_model_t bench_model = {
    .family = "dyncp",
    .sample_rate = 16000,
    .frame_len = DC_FRAME,
    .hop_len = DC_HOP,
    .n_stages = 4,
    .stage_names = dm_stage_names,
    .reset = dm_reset,
    .configure = dm_configure,
    .process = dm_process,
};
