/* A lab's main loop with the bench agent inside. Only the hooks of bench_port.h touch the
 * hardware; here they forward to the lab's own drivers (declared, not defined: a lab links
 * its HAL). Compiled for Cortex-M4 by tests/unit/test_porting_example.py, not linked. */
#include <stddef.h>
#include <stdint.h>

#include "bench_agent.h"
#include "bench_port.h"

/* The lab's drivers (its HAL / RTOS). */
extern size_t lab_uart_rx_fifo_read(uint8_t *buf, size_t max); /* filled by the UART RX interrupt */
extern void lab_uart_tx_blocking(const uint8_t *buf, size_t n);
extern volatile uint32_t *const lab_dwt_cyccnt;                 /* DWT->CYCCNT, enabled at boot */
extern void lab_gpio_marker(int on);
extern void lab_board_init(void);
extern const bench_model_t bench_model;

size_t bench_port_read(uint8_t *buf, size_t max) { return lab_uart_rx_fifo_read(buf, max); }
void bench_port_write(const uint8_t *buf, size_t n) { lab_uart_tx_blocking(buf, n); }
uint32_t bench_port_counter(void) { return *lab_dwt_cyccnt; }
void bench_port_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
void bench_port_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
void bench_port_marker(int on) { lab_gpio_marker(on); }
void bench_port_idle(void) { __asm volatile("wfi"); }

static const bench_identity_t identity = {
    .image_name = "lab-highpass-f429",
    .build_id = "lab-build-1",
    .target_board = "nucleo-f429zi",
    .counter_kind = BENCH_COUNTER_CYCLES,
    .counter_hz = 180000000u,
    .capabilities = BENCH_CAP_CONFIGURE | BENCH_CAP_SIDE_INFO,
};

int main(void)
{
    lab_board_init();
    bench_agent_init(&bench_model, &identity);
    for (;;) {
        if (bench_agent_poll() == 0) { /* or run other tasks of the lab's firmware here */
            bench_port_idle();
        }
    }
}
