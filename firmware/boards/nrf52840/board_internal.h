/* Internal to the nrf52840 port: the handlers in the vector table and the hooks the shared
 * ARMv7-M fault report (firmware/boards/stm32f4/armv7m_fault.c) calls. */
#ifndef NRF52840_BOARD_INTERNAL_H
#define NRF52840_BOARD_INTERNAL_H
#include <stdint.h>

void reset_handler(void);
void board_uarte0_irq(void);
void board_systick_handler(void);
void board_fault_entry(void);

void board_link_putc(uint8_t c);  /* blocking, works from a fault handler */
int board_link_getc_polled(void); /* one received byte or -1; works with interrupts masked */
void board_wdg_refresh(void);
void board_fault_pins(void);

#endif
