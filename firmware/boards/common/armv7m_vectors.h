/* The 16 system entries of an ARMv7-M vector table (ARM DDI 0403, B1.5.3), shared by the
 * board ports: initial stack, reset, the fault and system exceptions (every one without a handler
 * of its own goes to `fault`, which names it), reserved slots, SysTick. */
#ifndef ARMV7M_VECTORS_H
#define ARMV7M_VECTORS_H

#include <stdint.h>

typedef void (*vector_t)(void);

#define ARMV7M_SYSTEM_VECTORS(stack_top, reset, fault, systick)                                   \
    (vector_t)(uintptr_t)&(stack_top), (reset), (fault) /* NMI */, (fault) /* HardFault */,      \
        (fault) /* MemManage */, (fault) /* BusFault */, (fault) /* UsageFault */, 0, 0, 0, 0,   \
        (fault) /* SVCall */, (fault) /* DebugMonitor */, 0, (fault) /* PendSV */, (systick)

/* Copy .data from flash and zero .bss (the linker script's symbols). */
static inline void armv7m_init_memory(uint32_t *etext_data, uint32_t *data_start, uint32_t *data_end,
                                      uint32_t *bss_start, uint32_t *bss_end)
{
    uint32_t *src = etext_data;
    for (uint32_t *dst = data_start; dst < data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = bss_start; dst < bss_end;) {
        *dst++ = 0u;
    }
}

#endif
