/* The interface between the agent and a model runner (one per image). */
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_STAGES 8
#define BENCH_SIDE_MAX 512

/* Side-information TLV types carried in RESULT (see docs/protocol.md). */
enum {
    BENCH_TLV_EXIT = 1,      /* u8 exit index taken */
    BENCH_TLV_MASK = 2,      /* u8 block, then packed mask bits (LSB first) */
    BENCH_TLV_PROBE = 3,     /* u8 probe id, i32 value (LE) */
    BENCH_TLV_MACS = 4,      /* u32 MACs executed this frame */
    BENCH_TLV_I32 = 5,       /* u8 tag, i32 value: free-form model statistic */
};

typedef struct bench_frame_ctx {
    uint32_t t_prev;                       /* counter value at the last mark */
    uint32_t counts[BENCH_MAX_STAGES];     /* counter ticks per stage */
    uint16_t side_len;                     /* bytes used in side[] */
    uint8_t side[BENCH_SIDE_MAX];          /* TLVs: u8 type, u16 len (LE), bytes */
    uint8_t side_overflow;
} bench_frame_ctx_t;

/* End of stage `stage`: charges the ticks since the previous mark to it. */
void bench_mark(bench_frame_ctx_t *ctx, unsigned stage);
/* Appends one TLV of side information; sets side_overflow if it does not fit. */
void bench_side_put(bench_frame_ctx_t *ctx, uint8_t type, const void *data, uint16_t len);

typedef struct bench_model {
    const char *family;                  /* e.g. "dsp-baseline", "nsnet2-ee" */
    uint32_t sample_rate;
    uint16_t frame_len;                  /* analysis window in samples */
    uint16_t hop_len;                    /* samples per PROCESS */
    uint8_t n_stages;
    const char *const *stage_names;
    void (*reset)(void);                 /* clear all streaming state */
    /* 0 on success, else a BENCH_ERR_* code (unknown key, bad value) */
    int (*configure)(const char *key, int32_t value);
    /* One hop: `in` hop_len samples, `out` hop_len samples. Call bench_mark()
     * at the end of each stage, in order. Runs with interrupts masked. */
    void (*process)(const int16_t *in, int16_t *out, bench_frame_ctx_t *ctx);
} bench_model_t;

#endif
