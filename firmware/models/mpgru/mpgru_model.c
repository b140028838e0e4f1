/* Mixed-precision GRU classifier (issue #15, docs/mpgru.md): one PROCESS = one step of the task's
 * sequence. The frame carries the task's int8 input vector (hop_len = input size; the host sends
 * the quantised features as int16 samples in -128..127); the image runs bk_mpgru_cell (stage
 * "gru"), then the int8 head on the int16 state (bk_fc_s16, stage "head"). Output: the first
 * min(I, H) state values as the frame's samples, and the int16 class logits as PROBE TLVs
 * (probe id = class).
 *
 * GRU tables: the blob compiled in (mpgru_params.c, gen/<image>/) or a RAM table written at run
 * time over CONFIGURE, so that the bench measures any genome without a rebuild:
 *   tbase = W          word offset of the next writes (0..MPGRU_RAM_WORDS - 1)
 *   t0 .. t199 = V     RAM[tbase + k] = V (a u32 as i32); one CONFIGURE carries up to 200 of them
 *   tsel = N           N = 0: flash tables; N > 0: bind the first N words of the RAM table
 *                      (BAD_VALUE if the blob does not bind: bad magic, width or offset, wrong shape)
 * RESET_STATE clears the state only (the selected tables stay).
 *
 * MPGRU_CLASSES 0 (the nsnet2 task's meter image, gen/nsnet2-small/): no head -- the image runs a
 * GRU layer of a model without one (nsNet2's 128 -> 128 GRUs) to measure its step on target; the
 * "head" stage is then empty and no PROBE TLVs are sent. */
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"
#include "bk.h"
#include "bk_mp.h"
#include "mpgru_params.h"

#define MPGRU_OUT (MPGRU_INPUT < MPGRU_HIDDEN ? MPGRU_INPUT : MPGRU_HIDDEN)
#define MPGRU_SCRATCH_WORDS ((BK_MPGRU_SCRATCH_BYTES(MPGRU_INPUT, MPGRU_HIDDEN) + 3u) / 4u + \
                             (BK_FC_SCRATCH_BYTES(MPGRU_HIDDEN) + 3u) / 4u)

static bk_mpgru_params_t flash_params, ram_params;
static const bk_mpgru_params_t *active;
static int bound;
static int16_t h[MPGRU_HIDDEN];
#if MPGRU_CLASSES > 0
static int16_t logits[MPGRU_CLASSES];
#endif
static uint32_t scratch[MPGRU_SCRATCH_WORDS];
static uint32_t ram_table[MPGRU_RAM_WORDS];
static uint32_t tbase;

static void mp_bind_flash(void)
{
    if (!bound) {
        bound = bk_mpgru_bind(mpgru_blob, MPGRU_BLOB_WORDS, &flash_params) == BK_OK;
        active = &flash_params;
    }
}

static void mp_reset(void)
{
    mp_bind_flash();
    for (unsigned i = 0; i < MPGRU_HIDDEN; i++) {
        h[i] = 0;
    }
}

static int key_is(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int mp_configure(const char *key, int32_t value)
{
    mp_bind_flash();
    if (key[0] == 't' && key[1] >= '0' && key[1] <= '9') {
        uint32_t k = 0;
        for (const char *c = key + 1; *c; c++) {
            if (*c < '0' || *c > '9' || k > 1000u) {
                return BENCH_ERR_UNKNOWN_OPTION;
            }
            k = k * 10u + (uint32_t)(*c - '0');
        }
        if (k >= 200u) {
            return BENCH_ERR_UNKNOWN_OPTION;
        }
        if (tbase + k >= MPGRU_RAM_WORDS) {
            return BENCH_ERR_BAD_VALUE;
        }
        ram_table[tbase + k] = (uint32_t)value;
        return 0;
    }
    if (key_is(key, "tbase")) {
        if (value < 0 || (uint32_t)value >= MPGRU_RAM_WORDS) {
            return BENCH_ERR_BAD_VALUE;
        }
        tbase = (uint32_t)value;
        return 0;
    }
    if (key_is(key, "tsel")) {
        if (value < 0 || (uint32_t)value > MPGRU_RAM_WORDS) {
            return BENCH_ERR_BAD_VALUE;
        }
        if (value == 0) {
            active = &flash_params;
            return 0;
        }
        if (bk_mpgru_bind(ram_table, (size_t)value, &ram_params) != BK_OK ||
            ram_params.input_size != MPGRU_INPUT || ram_params.hidden_size != MPGRU_HIDDEN) {
            return BENCH_ERR_BAD_VALUE;
        }
        active = &ram_params;
        return 0;
    }
    return BENCH_ERR_UNKNOWN_OPTION;
}

static void mp_process(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx)
{
    int8_t x[MPGRU_INPUT];
    for (unsigned i = 0; i < MPGRU_INPUT; i++) {
        const int16_t v = in[i];
        x[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
    (void)bk_mpgru_cell(active, x, h, scratch, sizeof scratch);
    bench_mark(ctx, 0);
#if MPGRU_CLASSES > 0
    const bk_fc_params_t hp = {0, 0, -32768, 32767};
    const bk_per_channel_t hq = {mpgru_head_mult, mpgru_head_shift};
    (void)bk_fc_s16(&hp, &hq, MPGRU_HIDDEN, MPGRU_CLASSES, h, mpgru_head_w, mpgru_head_b, logits, scratch,
                    sizeof scratch);
#endif
    bench_mark(ctx, 1);
    for (unsigned i = 0; i < MPGRU_INPUT; i++) {
        out[i] = i < MPGRU_OUT ? h[i] : 0;
    }
#if MPGRU_CLASSES > 0
    for (unsigned c = 0; c < MPGRU_CLASSES; c++) {
        uint8_t tlv[5];
        const int32_t v = logits[c];
        tlv[0] = (uint8_t)c;
        tlv[1] = (uint8_t)v;
        tlv[2] = (uint8_t)((uint32_t)v >> 8);
        tlv[3] = (uint8_t)((uint32_t)v >> 16);
        tlv[4] = (uint8_t)((uint32_t)v >> 24);
        bench_side_put(ctx, BENCH_TLV_PROBE, tlv, sizeof tlv);
    }
#endif
}

static const char *const stage_names[] = {"gru", "head"};

const bench_model_t bench_model = {
    .family = "mpgru",
    .sample_rate = 16000,
    .frame_len = MPGRU_INPUT,
    .hop_len = MPGRU_INPUT,
    .n_stages = 2,
    .stage_names = stage_names,
    .reset = mp_reset,
    .configure = mp_configure,
    .process = mp_process,
};
