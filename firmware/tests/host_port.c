/* bench_port.h for the host: lets native unit tests drive the real agent through ctypes.
 * Writes go to a buffer the test drains; the counter advances 1000 ticks per read. */
#include <string.h>

#include "bench_agent.h"
#include "bench_port.h"

static uint8_t out_buf[1u << 20];
static size_t out_len;
static uint32_t counter;

size_t bench_port_read(uint8_t *buf, size_t max)
{
    (void)buf;
    (void)max;
    return 0; /* the test feeds bytes with bench_agent_feed() */
}

void bench_port_write(const uint8_t *buf, size_t n)
{
    if (out_len + n <= sizeof out_buf) {
        memcpy(out_buf + out_len, buf, n);
        out_len += n;
    }
}

uint32_t bench_port_counter(void)
{
    counter += 1000u;
    return counter;
}

void bench_port_irq_disable(void) {}
void bench_port_irq_enable(void) {}
void bench_port_marker(int on) { (void)on; }
void bench_port_idle(void) {}

size_t host_take_output(uint8_t *dst, size_t max)
{
    size_t n = out_len < max ? out_len : max;
    memcpy(dst, out_buf, n);
    memmove(out_buf, out_buf + n, out_len - n);
    out_len -= n;
    return n;
}

extern const bench_model_t bench_model;

static const bench_identity_t identity = {
    .image_name = "host-passthrough",
    .build_id = "native",
    .target_board = "host",
    .counter_kind = BENCH_COUNTER_CYCLES,
    .counter_hz = 1000000u,
    .capabilities = BENCH_CAP_CONFIGURE | BENCH_CAP_SIDE_INFO,
};

void host_init(void)
{
    out_len = 0;
    counter = 0;
    bench_agent_init(&bench_model, &identity);
}
