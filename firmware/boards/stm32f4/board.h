/* Board support for STM32F405 / STM32F407 / STM32F429 boards (Cortex-M4F), register-level,
 * no vendor HAL. One port, three boards, chosen by a compile-time define:
 *
 *   -DBOARD_NETDUINOPLUS2     Netduino Plus 2 (STM32F405RG, 25 MHz crystal), and QEMU's
 *                             `netduinoplus2` machine: 168 MHz, USART1 on PB6 TX / PB7 RX
 *   -DBOARD_STM32F4DISCO      STM32F4DISCOVERY (STM32F407VG, 8 MHz crystal): 168 MHz,
 *                             USART2 on PA2 TX / PA3 RX (a 3.3 V USB-serial adapter)
 *   -DBOARD_NUCLEO_F429ZI     NUCLEO-F429ZI (STM32F429ZI, 8 MHz from the ST-LINK's MCO,
 *                             HSE bypass): 180 MHz with over-drive, USART3 on PD8 TX / PD9 RX
 *                             (the ST-LINK virtual COM port)
 *
 * What the port decides at run time, because a model (QEMU) leaves parts of the chip out:
 * the clock tree (bounded waits; on a timeout it stays on the 16 MHz HSI and says so),
 * the counter (DWT CYCCNT if it counts, else TIM2 in virtual time), the UART receive path
 * (circular DMA if the DMA stream answers, else the RXNE interrupt) and the watchdog (the
 * IWDG; where it is absent, SysTick whose interrupt requests a system reset). The HELLO identity
 * (counter, marker, watchdog, reset cause) is what the port found: board_identity
 * (bench_board.h). docs/boards.md has the details per board. */
#ifndef BOARD_H
#define BOARD_H
#include <stddef.h>
#include <stdint.h>

#include "bench_agent.h"

#if defined(BOARD_NETDUINOPLUS2) + defined(BOARD_STM32F4DISCO) + defined(BOARD_NUCLEO_F429ZI) != 1
#error "define exactly one of BOARD_NETDUINOPLUS2, BOARD_STM32F4DISCO, BOARD_NUCLEO_F429ZI"
#endif

#if defined(BOARD_NETDUINOPLUS2)
#define BOARD_NAME "netduinoplus2"
#define BOARD_SYSCLK_HZ 168000000u
#elif defined(BOARD_STM32F4DISCO)
#define BOARD_NAME "stm32f4-discovery"
#define BOARD_SYSCLK_HZ 168000000u
#else
#define BOARD_NAME "nucleo-f429zi"
#define BOARD_SYSCLK_HZ 180000000u
#endif

/* With the DWT silent (QEMU), TIM2 counts at this rate: QEMU's STM32F2xx/F4 timer model
 * runs at 1 GHz of virtual time whatever the RCC says, so one tick is one virtual ns and,
 * under -icount shift=N, instructions = ticks / 2^N (docs/boards.md). */
#define BOARD_MODEL_TIMER_HZ 1000000000u

void board_init(void);
void board_puts(const char *s);                        /* console text (outside frames) */
void board_exit(int status) __attribute__((noreturn)); /* never returns; see board.c */

/* What board_init found (also printed at boot). */
typedef struct board_status {
    uint32_t hclk_hz;        /* the core clock actually running */
    uint8_t clock_ok;        /* 1: PLL at BOARD_SYSCLK_HZ; 0: "clock not configured", on HSI */
    uint8_t counter_cycles;  /* 1: DWT CYCCNT counts; 0: TIM2 fallback */
    uint8_t rx_dma;          /* 1: circular DMA receive; 0: RXNE interrupt */
    uint8_t gpio_ok;         /* 1: the marker pins answered (MODER reads back) */
    uint8_t wdg;             /* 0: not armed yet, 1: running, 2: absent (IWDG does not answer) */
    uint8_t wdg_kind;        /* BENCH_WDG_IWDG, BENCH_WDG_TIMER (SysTick fallback) or BENCH_WDG_NONE */
    uint8_t wdg_fired;       /* 1: the last reset was the SysTick fallback's (its record in .noinit) */
    uint32_t counter_hz;     /* what the counter ticks at */
    const char *clock_note;  /* why the clock is not configured, or "" */
    uint32_t reset_flags;    /* RCC_CSR at boot (reset cause) */
} board_status_t;
const board_status_t *board_status(void);
uint32_t board_rx_overflows(void);

#endif
