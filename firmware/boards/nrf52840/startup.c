/* Vector table and reset handler for the nRF52840 (our own, register-level): 16 system
 * entries and 48 interrupts (nRF52840 PS, "Instantiation": peripheral ID = IRQ number).
 * Every exception and interrupt without a handler of its own goes to the fault report
 * (firmware/boards/stm32f4/armv7m_fault.c, shared by the ARMv7-M ports), which names it. */
#include <stdint.h>

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
#define F board_fault_entry

__attribute__((section(".vectors"), used)) const vector_t vector_table[16 + 48] = {
    (vector_t)(uintptr_t)&__stack_top,
    reset_handler,
    F, /* NMI */
    F, /* HardFault */
    F, /* MemManage */
    F, /* BusFault */
    F, /* UsageFault */
    0, 0, 0, 0,
    F, /* SVCall */
    F, /* DebugMonitor */
    0,
    F, /* PendSV */
    board_systick_handler,
    F, F,             /* IRQ 0 POWER_CLOCK, 1 RADIO */
    board_uarte0_irq, /* IRQ 2 UARTE0_UART0 */
    /* IRQ 3-47 */
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
    F, F, F, F, F, F, F, F, F, F, F, F, F, F, F,
};
