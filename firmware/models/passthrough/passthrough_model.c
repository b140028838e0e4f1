/* Passthrough model: output = input, one stage. Measures the agent's own overhead and
 * serves protocol tests. CONFIGURE "side"=1 adds deterministic side information (an EXIT
 * and a MASK TLV derived from the frame) so that the TLV path is tested end to end;
 * "gain_q8" scales the output by value/256 with saturation. */
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"

static int side_enabled;
static int32_t gain_q8 = 256;
static uint32_t frame_no;

static void pt_reset(void) { frame_no = 0; }

static int pt_configure(const char *key, int32_t value)
{
    if (key[0] == 's' && key[1] == 'i' && key[2] == 'd' && key[3] == 'e' && key[4] == 0) {
        if (value < 0 || value > 1) {
            return BENCH_ERR_BAD_VALUE;
        }
        side_enabled = (int)value;
        return 0;
    }
    if (key[0] == 'g' && key[1] == 'a' && key[2] == 'i' && key[3] == 'n' && key[4] == '_' &&
        key[5] == 'q' && key[6] == '8' && key[7] == 0) {
        if (value < 0 || value > 65536) {
            return BENCH_ERR_BAD_VALUE;
        }
        gain_q8 = value;
        return 0;
    }
    return BENCH_ERR_UNKNOWN_OPTION;
}

static void pt_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    for (unsigned i = 0; i < 256u; i++) {
        int32_t v = (in[i] * gain_q8) >> 8;
        out[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
    bench_mark(ctx, 0);
    if (side_enabled) {
        uint8_t exit_taken = (uint8_t)(frame_no % 4u);
        uint8_t mask[1 + 4];
        mask[0] = 0; /* block 0: 32 channels, bit i set when sample i is positive */
        for (unsigned b = 0; b < 4u; b++) {
            uint8_t m = 0;
            for (unsigned k = 0; k < 8u; k++) {
                m |= (uint8_t)((in[b * 8u + k] > 0) << k);
            }
            mask[1 + b] = m;
        }
        bench_side_put(ctx, BENCH_TLV_EXIT, &exit_taken, 1);
        bench_side_put(ctx, BENCH_TLV_MASK, mask, sizeof mask);
    }
    frame_no++;
}

static const char *const stage_names[] = {"copy"};

const bench_model_t bench_model = {
    .family = "passthrough",
    .sample_rate = 16000,
    .frame_len = 256,
    .hop_len = 256,
    .n_stages = 1,
    .stage_names = stage_names,
    .reset = pt_reset,
    .configure = pt_configure,
    .process = pt_process,
};
