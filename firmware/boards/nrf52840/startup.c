/* Vector table and reset handler for the nRF52840 (our own, register-level): 16 system
 * entries and 48 interrupts (nRF52840 PS, "Instantiation": peripheral ID = IRQ number).
 * Every exception and interrupt without a handler of its own goes to the fault report
 * (firmware/boards/stm32f4/armv7m_fault.c, shared by the ARMv7-M ports), which names it. */
#include <stdint.h>

#include "armv7m_vectors.h"

#include "board.h"
#include "board_internal.h"
#include "nrf52840_regs.h"

extern uint32_t __etext_data, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern int main(void);

void reset_handler(void)
{
    SCB_CPACR |= (0xFu << 20); /* CP10, CP11 full access: enable the FPU */
    __asm volatile("dsb\n isb" ::: "memory");
    SCB_VTOR = 0u;
    armv7m_init_memory(&__etext_data, &__data_start, &__data_end, &__bss_start, &__bss_end);
    board_init();
    board_exit(main());
}

#define F board_fault_entry

__attribute__((section(".vectors"), used)) const vector_t vector_table[16 + 48] = {
    ARMV7M_SYSTEM_VECTORS(__stack_top, reset_handler, F, board_systick_handler),
    F, F,             /* IRQ 0 POWER_CLOCK, 1 RADIO */
    board_uarte0_irq, /* IRQ 2 UARTE0_UART0 */
    /* IRQ 3-47 */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
};
