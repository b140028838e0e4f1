/* The kernel benchmarks' report lines over the board's UART (kb_main.c, dkb_main.c):
 * "KB <case> st=<status> ticks=<n> bad=<n> first=<i> fnv=<hash>", parsed by bench/harness. */
#ifndef KB_REPORT_H
#define KB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"

static void kb_put_uint(uint32_t u)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (u % 10u));
        u /= 10u;
    } while (u != 0u);
    board_puts(&buf[i]);
}

static void kb_put_int(int32_t v)
{
    if (v < 0) {
        board_puts("-");
        kb_put_uint(0u - (uint32_t)v);
    } else {
        kb_put_uint((uint32_t)v);
    }
}

/* FNV-1a over the result bytes: the host compares it with its golden model's */
static uint32_t kb_fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static void kb_report_case(const char *name, int32_t st, uint32_t ticks, int32_t bad, int32_t first, uint32_t fnv)
{
    board_puts("KB ");
    board_puts(name);
    board_puts(" st=");
    kb_put_int(st);
    board_puts(" ticks=");
    kb_put_int((int32_t)ticks);
    board_puts(" bad=");
    kb_put_int(bad);
    board_puts(" first=");
    kb_put_int(first);
    board_puts(" fnv=");
    kb_put_uint(fnv);
    board_puts("\r\n");
}

#endif
