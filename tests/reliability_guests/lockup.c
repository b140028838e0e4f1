/* A guest that prints a line without a frame delimiter (nor a newline) and locks the core up at
 * once: a fault with faults masked (FAULTMASK) cannot escalate to HardFault, so QEMU stops with
 * "qemu: fatal: Lockup". tests/qemu/test_reliability_process.py. */
#include "board.h"

int main(void)
{
    board_puts("guest: about to lock up");
    __asm volatile("cpsid f\n\tudf #0" ::: "memory");
    return 0;
}
