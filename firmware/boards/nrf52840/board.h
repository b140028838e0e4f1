/* Board support for the nRF52840 DK (PCA10056; nRF52840, Cortex-M4F at 64 MHz),
 * register-level, no Nordic MDK / nrfx, no CMSIS.
 *
 * Host link: UARTE0 on the J-Link OB's VCOM pins, P0.06 TX / P0.08 RX, 115200 8N1, with
 * EasyDMA receiving into a ring (bytes keep arriving while the measured region masks
 * interrupts). Counter: DWT CYCCNT (core cycles at 64 MHz). Marker: P1.01 (frame), P1.02
 * (stage edges), LED1 on P0.13 (fault). Watchdog: WDT armed at the first frame. No
 * emulator models this chip: the port is built and linked, and checked on hardware at
 * bring-up (docs/boards.md). */
#ifndef BOARD_H
#define BOARD_H
#include <stddef.h>
#include <stdint.h>

#include "bench_agent.h"

#define BOARD_NAME "nrf52840-dk"
#define BOARD_SYSCLK_HZ 64000000u

void board_init(void);
void board_puts(const char *s);                        /* console text (outside frames) */
void board_exit(int status) __attribute__((noreturn)); /* never returns; see board.c */

typedef struct board_status {
    uint8_t hfxo_ok;        /* 1: HCLK from the 32 MHz crystal; 0: on HFINT (+-1.5 %) */
    uint8_t counter_cycles; /* 1: DWT CYCCNT counts */
    uint8_t wdg;            /* 0: not armed yet, 1: running, 2: did not start */
    uint32_t reset_reason;  /* POWER.RESETREAS at boot */
} board_status_t;
const board_status_t *board_status(void);
uint32_t board_rx_overflows(void);

#endif
