/* A passthrough model that misbehaves on purpose, for the tests of what a board does then
 * (tests/hil/pyocd_checks.py builds it): with -DFAULT_AT=N its N-th frame since boot reads unmapped
 * memory (a precise BusFault); with -DHANG_AT=N its N-th frame never returns (only a watchdog ends
 * it). A reset starts the count again. */
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"

static uint32_t frames;

static void m_reset(void) {}

static int m_configure(const char *key, int32_t value)
{
    (void)key;
    (void)value;
    return BENCH_ERR_UNKNOWN_OPTION;
}

static void m_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    for (unsigned i = 0; i < 256u; i++) {
        out[i] = in[i];
    }
    ++frames;
#ifdef FAULT_AT
    if (frames == FAULT_AT) {
        (void)*(volatile uint32_t *)0x30000000u; /* unmapped: precise BusFault */
    }
#endif
#ifdef HANG_AT
    if (frames == HANG_AT) {
        for (;;) {
            __asm volatile("" ::: "memory");
        }
    }
#endif
    bench_mark(ctx, 0);
}

static const char *const stage_names[] = {"copy"};

const bench_model_t bench_model = {
    .family = "passthrough",
    .sample_rate = 16000,
    .frame_len = 256,
    .hop_len = 256,
    .n_stages = 1,
    .stage_names = stage_names,
    .reset = m_reset,
    .configure = m_configure,
    .process = m_process,
};
