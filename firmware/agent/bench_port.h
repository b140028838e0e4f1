/* Board hooks the agent needs. A board (or a lab's own firmware) implements these;
 * the agent calls nothing else outside string.h. */
#ifndef BENCH_PORT_H
#define BENCH_PORT_H
#include <stddef.h>
#include <stdint.h>

/* Non-blocking read of up to `max` received bytes; returns how many were copied. */
size_t bench_port_read(uint8_t *buf, size_t max);
/* Blocking write of `n` bytes to the host link. */
void bench_port_write(const uint8_t *buf, size_t n);
/* Free-running up-counter (wraps modulo 2^32): timer ticks on QEMU, DWT CYCCNT on boards. */
uint32_t bench_port_counter(void);
/* Mask / unmask interrupts around the measured region. */
void bench_port_irq_disable(void);
void bench_port_irq_enable(void);
/* Raised / lowered around each measured frame (power-monitor marker); may be empty. */
void bench_port_marker(int on);
/* Called when the agent has nothing to do (may sleep until the next interrupt). */
void bench_port_idle(void);

#endif
