/* The target side of the bench protocol: portable C99, no malloc, only string.h.
 *
 * A firmware links this file, provides the hooks of bench_port.h and one bench_model_t,
 * fills a bench_identity_t and calls bench_agent_run() (or bench_agent_poll() from its
 * own main loop). See docs/porting.md. */
#ifndef BENCH_AGENT_H
#define BENCH_AGENT_H
#include <stddef.h>
#include <stdint.h>

#include "bench_model.h"
#include "bench_proto.h"

typedef struct bench_identity {
    const char *image_name;
    const char *build_id;
    const char *target_board;
    uint8_t counter_kind; /* BENCH_COUNTER_* */
    uint32_t counter_hz;
    uint32_t capabilities; /* BENCH_CAP_* */
    /* HELLO extension (docs/protocol.md, "HELLO extensions"); zero: no watchdog, cause unknown */
    uint8_t watchdog_kind;  /* BENCH_WDG_* */
    uint32_t watchdog_ms;   /* nominal timeout, 0 if none */
    uint32_t reset_cause;   /* BENCH_RESET_* bits: why the chip last (re)started */
    uint32_t reset_raw;     /* the chip's own record of it (RCC_CSR, RESETREAS, the fallback marker) */
} bench_identity_t;

typedef struct bench_stats {
    uint32_t frames, crc_errors, nacks, dups, rx_overflows, errors;
} bench_stats_t;

void bench_agent_init(const bench_model_t *model, const bench_identity_t *id);
/* Feeds received bytes; executes every complete request. */
void bench_agent_feed(const uint8_t *data, size_t n);
/* Reads what the port has received and feeds it; returns the number of bytes read. */
size_t bench_agent_poll(void);
/* Never returns: poll, idle when nothing arrived. */
void bench_agent_run(void) __attribute__((noreturn));
const bench_stats_t *bench_agent_stats(void);

/* Building blocks, exported for native unit tests. */
uint32_t bench_crc32(const uint8_t *data, size_t n);
size_t bench_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
/* Returns the decoded length, or (size_t)-1 on a malformed input. */
size_t bench_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t out_max);

#endif
