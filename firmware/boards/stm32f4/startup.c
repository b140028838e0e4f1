/* Vector table and reset handler for the stm32f4 port (our own, register-level). The
 * table has the 16 system entries and 91 interrupts (STM32F42x, RM0090 Table 62; the F40x
 * use the first 82, Table 61). Every exception and interrupt without a handler of its own
 * goes to the fault report (fault.c), which names it. */
#include <stdint.h>

#include "armv7m_vectors.h"

#include "board_config.h"

extern uint32_t __etext_data, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern int main(void);

void reset_handler(void)
{
    SCB_CPACR |= (0xFu << 20); /* CP10, CP11 full access: enable the FPU */
    __asm volatile("dsb\n isb" ::: "memory");
    SCB_VTOR = FLASH_BASE;
    armv7m_init_memory(&__etext_data, &__data_start, &__data_end, &__bss_start, &__bss_end);
    board_init();
    board_exit(main());
}

#define F board_fault_entry
#define U board_usart_irq

__attribute__((section(".vectors"), used)) const vector_t vector_table[16 + 91] = {
    ARMV7M_SYSTEM_VECTORS(__stack_top, reset_handler, F, board_systick_handler),
    /* IRQ 0-36 */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
    F, F, F, F, F, F, F,
    U, U, U, /* IRQ 37 USART1, 38 USART2, 39 USART3 */
    /* IRQ 40-90 */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
};
