/* Board support for QEMU mps2-an386 (Cortex-M4F, CMSDK UART0 and timer0). */
#ifndef BOARD_H
#define BOARD_H
#include <stddef.h>
#include <stdint.h>

#define BOARD_NAME "mps2-an386"
/* counter: CMSDK timer0 ticks at 25 MHz (virtual time under -icount); HELLO identity: board_identity */
#define BOARD_TIMER_HZ 25000000u

void board_init(void);
void board_puts(const char *s);                 /* console text on UART0 (outside frames) */
void board_exit(int status) __attribute__((noreturn)); /* semihosting SYS_EXIT_EXTENDED */

#endif
