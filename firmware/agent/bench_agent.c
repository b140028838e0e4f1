/* Target side of the bench protocol (docs/protocol.md): COBS framing, CRC32, in-order
 * execution of requests with a reply cache for retransmissions, the measured region.
 * Portable C99; no malloc; the only library calls are memcpy/memset/strlen. */
#include "bench_agent.h"

#include <string.h>

#include "bench_port.h"

#ifndef BENCH_AGENT_CACHE
#define BENCH_AGENT_CACHE BENCH_REPLY_CACHE
#endif
#define ENC_MAX (BENCH_MAX_PACKET + BENCH_MAX_PACKET / 254u + 2u)
#define MAX_HOP 1024u

typedef struct {
    uint16_t seq;
    uint16_t len; /* encoded length incl. both delimiters; 0 = empty slot */
    uint8_t data[ENC_MAX + 2u];
} cached_reply_t;

static const bench_model_t *g_model;
static const bench_identity_t *g_id;
static bench_stats_t g_stats;
static uint16_t g_expected;

static uint8_t g_rx[ENC_MAX];
static size_t g_rx_len;
static int g_rx_overlong;
static uint8_t g_pkt[BENCH_MAX_PACKET];
static uint8_t g_reply[BENCH_MAX_PACKET];
static cached_reply_t g_cache[BENCH_AGENT_CACHE];
static unsigned g_cache_next;
static int16_t g_in[MAX_HOP];
static int16_t g_out[MAX_HOP];
static bench_frame_ctx_t g_ctx;

/* ---- CRC-32 (IEEE, reflected 0xEDB88320), nibble table ---- */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t bench_crc32(const uint8_t *data, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0xFu];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---- COBS ---- */
size_t bench_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_pos = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_pos] = code;
            code_pos = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_pos] = code;
                code_pos = o++;
                code = 1;
            }
        }
    }
    out[code_pos] = code;
    return o;
}

size_t bench_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t out_max)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0) {
            return (size_t)-1;
        }
        for (uint8_t k = 1; k < code; k++) {
            if (i >= n || in[i] == 0 || o >= out_max) {
                return (size_t)-1;
            }
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < n) {
            if (o >= out_max) {
                return (size_t)-1;
            }
            out[o++] = 0;
        }
    }
    return o;
}

/* ---- little-endian helpers ---- */
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static size_t put_str8(uint8_t *p, const char *s)
{
    size_t n = s ? strlen(s) : 0u;
    if (n > 255u) {
        n = 255u;
    }
    p[0] = (uint8_t)n;
    if (n) {
        memcpy(p + 1, s, n);
    }
    return n + 1u;
}

/* ---- measured-region helpers used by models ---- */
void bench_mark(bench_frame_ctx_t *ctx, unsigned stage)
{
    uint32_t now = bench_port_counter();
    if (stage < BENCH_MAX_STAGES) {
        ctx->counts[stage] += now - ctx->t_prev;
    }
    ctx->t_prev = now;
}

void bench_side_put(bench_frame_ctx_t *ctx, uint8_t type, const void *data, uint16_t len)
{
    if ((size_t)ctx->side_len + 3u + len > BENCH_SIDE_MAX) {
        ctx->side_overflow = 1;
        return;
    }
    uint8_t *p = ctx->side + ctx->side_len;
    p[0] = type;
    put_u16(p + 1, len);
    memcpy(p + 3, data, len);
    ctx->side_len = (uint16_t)(ctx->side_len + 3u + len);
}

/* ---- replies ---- */
static void send_reply(uint8_t type, uint16_t seq, size_t body_len, int cache)
{
    g_reply[0] = type;
    g_reply[1] = 0;
    put_u16(g_reply + 2, seq);
    size_t n = BENCH_HEADER_LEN + body_len;
    put_u32(g_reply + n, bench_crc32(g_reply, n));
    n += BENCH_CRC_LEN;

    cached_reply_t *slot = &g_cache[g_cache_next];
    uint8_t *enc = slot->data;
    enc[0] = 0;
    size_t e = bench_cobs_encode(g_reply, n, enc + 1);
    enc[e + 1] = 0;
    bench_port_write(enc, e + 2u);
    if (cache) {
        slot->seq = seq;
        slot->len = (uint16_t)(e + 2u);
        g_cache_next = (g_cache_next + 1u) % BENCH_AGENT_CACHE;
    }
}

static void send_error(uint16_t seq, uint16_t code, const char *text, int cache)
{
    uint8_t *b = g_reply + BENCH_HEADER_LEN;
    put_u16(b, code);
    size_t n = 2u + put_str8(b + 2, text);
    g_stats.errors++;
    send_reply(BENCH_MSG_ERROR, seq, n, cache);
}

static void send_hello(uint16_t seq)
{
    uint8_t *b = g_reply + BENCH_HEADER_LEN;
    size_t o = 0;
    put_u16(b + o, BENCH_PROTOCOL_VERSION); o += 2;
    b[o++] = g_id->counter_kind;
    put_u32(b + o, g_id->counter_hz); o += 4;
    put_u32(b + o, g_model->sample_rate); o += 4;
    put_u16(b + o, g_model->frame_len); o += 2;
    put_u16(b + o, g_model->hop_len); o += 2;
    put_u32(b + o, g_id->capabilities); o += 4;
    put_u16(b + o, (uint16_t)BENCH_MAX_PACKET); o += 2;
    b[o++] = (uint8_t)BENCH_AGENT_CACHE;
    o += put_str8(b + o, g_id->image_name);
    o += put_str8(b + o, g_model->family);
    o += put_str8(b + o, g_id->build_id);
    o += put_str8(b + o, g_id->target_board);
    b[o++] = g_model->n_stages;
    for (unsigned i = 0; i < g_model->n_stages; i++) {
        o += put_str8(b + o, g_model->stage_names[i]);
    }
    b[o++] = BENCH_HELLO_EXT_WATCHDOG;
    b[o++] = 5u;
    b[o++] = g_id->watchdog_kind;
    put_u32(b + o, g_id->watchdog_ms); o += 4;
    b[o++] = BENCH_HELLO_EXT_RESET_CAUSE;
    b[o++] = 8u;
    put_u32(b + o, g_id->reset_cause); o += 4;
    put_u32(b + o, g_id->reset_raw); o += 4;
    send_reply(BENCH_MSG_HELLO, seq, o, 1);
}

static void do_configure(uint16_t seq, const uint8_t *b, size_t n)
{
    if (n < 1u) {
        send_error(seq, BENCH_ERR_BAD_MSG, "CONFIGURE without entries", 1);
        return;
    }
    unsigned count = b[0];
    size_t o = 1;
    for (unsigned i = 0; i < count; i++) {
        char key[33];
        if (o >= n || b[o] > 32u || o + 1u + b[o] + 4u > n) {
            send_error(seq, BENCH_ERR_BAD_MSG, "malformed CONFIGURE entry", 1);
            return;
        }
        size_t kl = b[o];
        memcpy(key, b + o + 1, kl);
        key[kl] = '\0';
        int32_t value = (int32_t)get_u32(b + o + 1 + kl);
        o += 1u + kl + 4u;
        int rc = g_model->configure ? g_model->configure(key, value) : BENCH_ERR_UNKNOWN_OPTION;
        if (rc != 0) {
            send_error(seq, (uint16_t)rc, key, 1);
            return;
        }
    }
    send_reply(BENCH_MSG_ACK, seq, 0, 1);
}

static void do_process(uint16_t seq, const uint8_t *b, size_t n)
{
    uint16_t hop = g_model->hop_len;
    if (n != 2u + 2u * (size_t)hop || get_u16(b) != hop || hop > MAX_HOP) {
        send_error(seq, BENCH_ERR_BAD_LENGTH, "PROCESS length differs from hop_len", 1);
        return;
    }
    memcpy(g_in, b + 2, 2u * (size_t)hop); /* little-endian target */
    memset(&g_ctx, 0, sizeof g_ctx);

    bench_port_irq_disable();
    bench_port_marker(1);
    uint32_t t0 = bench_port_counter();
    g_ctx.t_prev = t0;
    g_model->process(g_in, g_out, &g_ctx);
    uint32_t t1 = bench_port_counter();
    bench_port_marker(0);
    bench_port_irq_enable();
    g_stats.frames++;

    uint8_t *r = g_reply + BENCH_HEADER_LEN;
    size_t o = 0;
    put_u16(r, hop); o += 2;
    memcpy(r + o, g_out, 2u * (size_t)hop); o += 2u * (size_t)hop;
    r[o++] = g_model->n_stages;
    for (unsigned i = 0; i < g_model->n_stages; i++) {
        put_u32(r + o, g_ctx.counts[i]); o += 4;
    }
    put_u32(r + o, t1 - t0); o += 4;
    put_u16(r + o, g_ctx.side_len); o += 2;
    memcpy(r + o, g_ctx.side, g_ctx.side_len); o += g_ctx.side_len;
    if (g_ctx.side_overflow) {
        send_error(seq, BENCH_ERR_INTERNAL, "side information overflow", 1);
        return;
    }
    send_reply(BENCH_MSG_RESULT, seq, o, 1);
}

static void do_stats(uint16_t seq)
{
    uint8_t *b = g_reply + BENCH_HEADER_LEN;
    put_u32(b + 0, g_stats.frames);
    put_u32(b + 4, g_stats.crc_errors);
    put_u32(b + 8, g_stats.nacks);
    put_u32(b + 12, g_stats.dups);
    put_u32(b + 16, g_stats.rx_overflows);
    put_u32(b + 20, g_stats.errors);
    send_reply(BENCH_MSG_STATS, seq, 24, 1);
}

static void resend_cached(uint16_t seq)
{
    for (unsigned i = 0; i < BENCH_AGENT_CACHE; i++) {
        if (g_cache[i].len && g_cache[i].seq == seq) {
            bench_port_write(g_cache[i].data, g_cache[i].len);
            return;
        }
    }
    send_error(seq, BENCH_ERR_NOT_CACHED, "reply no longer cached", 0);
}

static void dispatch(const uint8_t *p, size_t n)
{
    uint8_t type = p[0];
    uint16_t seq = get_u16(p + 2);
    const uint8_t *body = p + BENCH_HEADER_LEN;
    size_t blen = n - BENCH_HEADER_LEN - BENCH_CRC_LEN;

    if (type == BENCH_MSG_HELLO_REQ) {
        for (unsigned i = 0; i < BENCH_AGENT_CACHE; i++) {
            g_cache[i].len = 0;
        }
        g_expected = (uint16_t)(seq + 1u);
        send_hello(seq);
        return;
    }
    int16_t d = (int16_t)(uint16_t)(seq - g_expected);
    if (d < 0) {
        g_stats.dups++;
        resend_cached(seq);
        return;
    }
    if (d > 0) {
        g_stats.nacks++;
        uint8_t *b = g_reply + BENCH_HEADER_LEN;
        put_u16(b, g_expected);
        send_reply(BENCH_MSG_NACK, seq, 2, 0);
        return;
    }
    g_expected = (uint16_t)(g_expected + 1u);
    switch (type) {
    case BENCH_MSG_CONFIGURE: do_configure(seq, body, blen); break;
    case BENCH_MSG_RESET_STATE:
        if (g_model->reset) {
            g_model->reset();
        }
        send_reply(BENCH_MSG_ACK, seq, 0, 1);
        break;
    case BENCH_MSG_PROCESS: do_process(seq, body, blen); break;
    case BENCH_MSG_STATS_REQ: do_stats(seq); break;
    default: send_error(seq, BENCH_ERR_UNKNOWN_TYPE, "unknown message type", 1); break;
    }
}

static void end_of_frame(void)
{
    if (g_rx_overlong) {
        g_stats.crc_errors++;
    } else if (g_rx_len > 0) {
        size_t n = bench_cobs_decode(g_rx, g_rx_len, g_pkt, sizeof g_pkt);
        if (n == (size_t)-1 || n < BENCH_HEADER_LEN + BENCH_CRC_LEN ||
            bench_crc32(g_pkt, n - BENCH_CRC_LEN) != get_u32(g_pkt + n - BENCH_CRC_LEN)) {
            g_stats.crc_errors++;
        } else {
            dispatch(g_pkt, n);
        }
    }
    g_rx_len = 0;
    g_rx_overlong = 0;
}

void bench_agent_init(const bench_model_t *model, const bench_identity_t *id)
{
    g_model = model;
    g_id = id;
    memset(&g_stats, 0, sizeof g_stats);
    g_expected = 0;
    g_rx_len = 0;
    g_rx_overlong = 0;
    for (unsigned i = 0; i < BENCH_AGENT_CACHE; i++) {
        g_cache[i].len = 0;
    }
    if (g_model->reset) {
        g_model->reset();
    }
}

void bench_agent_feed(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = data[i];
        if (c == 0) {
            end_of_frame();
        } else if (g_rx_len < sizeof g_rx) {
            g_rx[g_rx_len++] = c;
        } else {
            g_rx_overlong = 1;
        }
    }
}

size_t bench_agent_poll(void)
{
    uint8_t buf[64];
    size_t n = bench_port_read(buf, sizeof buf);
    if (n) {
        bench_agent_feed(buf, n);
    }
    return n;
}

void bench_agent_run(void)
{
    for (;;) {
        if (bench_agent_poll() == 0) {
            bench_port_idle();
        }
    }
}

const bench_stats_t *bench_agent_stats(void) { return &g_stats; }
