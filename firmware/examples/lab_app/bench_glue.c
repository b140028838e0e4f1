/* The only file a lab writes to have its firmware benchmarked: one bench_model_t that calls
 * the lab's model. Stages are charged with bench_mark() (the agent reads the counter hook);
 * side information goes out with bench_side_put(). See docs/porting.md. */
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"
#include "lab_model.h"

#define STAT_CLIPPED 1 /* BENCH_TLV_I32 tag: output samples clipped this hop */

static int32_t pole_q15 = 31130; /* 0.95 */
static int16_t staged[LAB_HOP];

static void glue_reset(void) { lab_model_reset(); }

static int key_is(const char *key, const char *name)
{
    while (*key && *key == *name) {
        key++;
        name++;
    }
    return *key == 0 && *name == 0;
}

static int glue_configure(const char *key, int32_t value)
{
    if (key_is(key, "pole_q15")) {
        if (value < 0 || value > 32767) {
            return BENCH_ERR_BAD_VALUE;
        }
        pole_q15 = value;
        return 0;
    }
    return BENCH_ERR_UNKNOWN_OPTION;
}

static void glue_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    for (int i = 0; i < LAB_HOP; i++) { /* stage 0: what a lab's front end would do */
        staged[i] = in[i];
    }
    bench_mark(ctx, 0);
    int32_t clipped = lab_model_run(staged, out, pole_q15); /* stage 1: the model (TFLM Invoke) */
    bench_mark(ctx, 1);
    uint8_t tlv[5] = {STAT_CLIPPED, (uint8_t)clipped, (uint8_t)(clipped >> 8), (uint8_t)(clipped >> 16),
                      (uint8_t)(clipped >> 24)};
    bench_side_put(ctx, BENCH_TLV_I32, tlv, sizeof tlv);
}

static const char *const stage_names[] = {"frontend", "invoke"};

const bench_model_t bench_model = {
    .family = "lab-highpass",
    .sample_rate = 16000,
    .frame_len = LAB_HOP, /* no analysis window: frame = hop, no delay */
    .hop_len = LAB_HOP,
    .n_stages = 2,
    .stage_names = stage_names,
    .reset = glue_reset,
    .configure = glue_configure,
    .process = glue_process,
};
