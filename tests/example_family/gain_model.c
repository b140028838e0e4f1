/* Example family "example-gain" (tests/example_family): output = input x level / 8, saturating.
 * One CONFIGURE key, "level" (0..16, default 8 = unity). It exists to prove the family seam:
 * everything this family needs lives in this folder (docs/architecture.md). */
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"

#define EG_HOP 160u

static int32_t level = 8;

static void eg_reset(void) {}

static int eg_configure(const char *key, int32_t value)
{
    const char *want = "level";
    for (unsigned i = 0; want[i] != 0 || key[i] != 0; i++) {
        if (key[i] != want[i]) {
            return BENCH_ERR_UNKNOWN_OPTION;
        }
    }
    if (value < 0 || value > 16) {
        return BENCH_ERR_BAD_VALUE;
    }
    level = value;
    return 0;
}

static void eg_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    for (unsigned i = 0; i < EG_HOP; i++) {
        int32_t v = (in[i] * level) >> 3;
        out[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
    bench_mark(ctx, 0);
}

static const char *const stage_names[] = {"gain"};

const bench_model_t bench_model = {
    .family = "example-gain",
    .sample_rate = 16000,
    .frame_len = EG_HOP,
    .hop_len = EG_HOP,
    .n_stages = 1,
    .stage_names = stage_names,
    .reset = eg_reset,
    .configure = eg_configure,
    .process = eg_process,
};
