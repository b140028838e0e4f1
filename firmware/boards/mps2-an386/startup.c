/* Vector table and reset handler for mps2-an386 (our own, register-level). */
#include <stdint.h>

#include "board.h"

extern uint32_t __etext_data, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern int main(void);
void uart0_rx_handler(void);

static void default_handler(void)
{
    board_puts("\r\n[board] unexpected exception\r\n");
    board_exit(3);
}

static void hardfault_handler(void)
{
    board_puts("\r\n[board] hard fault\r\n");
    board_exit(4);
}

void reset_handler(void)
{
    uint32_t *src = &__etext_data;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0u;
    }
    board_init();
    board_exit(main());
}

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t vector_table[16 + 32] = {
    (vector_t)(uintptr_t)&__stack_top,
    reset_handler,
    default_handler,   /* NMI */
    hardfault_handler, /* HardFault */
    hardfault_handler, /* MemManage */
    hardfault_handler, /* BusFault */
    hardfault_handler, /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVC */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    default_handler, /* SysTick */
    uart0_rx_handler, /* IRQ 0: UART0 RX */
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler,
};
