/* Wire protocol constants: mirrors docs/protocol.md and bench/link/messages.py. */
#ifndef BENCH_PROTO_H
#define BENCH_PROTO_H

#define BENCH_PROTOCOL_VERSION 1u
#define BENCH_MAX_PACKET 2048u
#define BENCH_REPLY_CACHE 8u
#define BENCH_HEADER_LEN 4u
#define BENCH_CRC_LEN 4u

enum {
    BENCH_MSG_HELLO_REQ = 0x01,
    BENCH_MSG_CONFIGURE = 0x02,
    BENCH_MSG_RESET_STATE = 0x03,
    BENCH_MSG_PROCESS = 0x04,
    BENCH_MSG_STATS_REQ = 0x05,
    BENCH_MSG_HELLO = 0x81,
    BENCH_MSG_ACK = 0x82,
    BENCH_MSG_RESULT = 0x84,
    BENCH_MSG_STATS = 0x85,
    BENCH_MSG_NACK = 0x86,
    BENCH_MSG_ERROR = 0xEE,
};

enum {
    BENCH_ERR_BAD_MSG = 1,
    BENCH_ERR_UNKNOWN_TYPE = 2,
    BENCH_ERR_BAD_LENGTH = 3,
    BENCH_ERR_UNKNOWN_OPTION = 4,
    BENCH_ERR_BAD_VALUE = 5,
    BENCH_ERR_NOT_CACHED = 6,
    BENCH_ERR_INTERNAL = 7,
};

enum {
    BENCH_COUNTER_TIMER_TICKS = 0,
    BENCH_COUNTER_CYCLES = 1,
};

enum {
    BENCH_CAP_CONFIGURE = 1u << 0,
    BENCH_CAP_SIDE_INFO = 1u << 1,
    BENCH_CAP_MARKER = 1u << 2,
};

/* HELLO extensions: TLVs (tag:u8, len:u8, value) after the stage names */
enum {
    BENCH_HELLO_EXT_WATCHDOG = 1,    /* kind:u8, timeout_ms:u32 */
    BENCH_HELLO_EXT_RESET_CAUSE = 2, /* cause:u32 (BENCH_RESET_*), raw:u32 (the chip's register) */
};

enum {
    BENCH_WDG_NONE = 0,  /* no watchdog */
    BENCH_WDG_IWDG = 1,  /* STM32 independent watchdog */
    BENCH_WDG_TIMER = 2, /* fallback: a timer's interrupt requests SYSRESETREQ (QEMU) */
    BENCH_WDG_WDT = 3,   /* nRF52 WDT */
};

enum {
    BENCH_RESET_POWER_ON = 1u << 0,
    BENCH_RESET_PIN = 1u << 1,
    BENCH_RESET_SOFTWARE = 1u << 2, /* SYSRESETREQ */
    BENCH_RESET_WATCHDOG = 1u << 3, /* IWDG, WDT, or the timer fallback */
    BENCH_RESET_WINDOW_WATCHDOG = 1u << 4,
    BENCH_RESET_BROWN_OUT = 1u << 5,
    BENCH_RESET_LOW_POWER = 1u << 6,
    BENCH_RESET_LOCKUP = 1u << 7,
    BENCH_RESET_OTHER = 1u << 8, /* wake-up or debug interface reset */
};

#endif
