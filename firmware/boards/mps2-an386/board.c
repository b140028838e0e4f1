/* QEMU mps2-an386: CMSDK UART0 (RX interrupt into a ring buffer), CMSDK timer0 as the
 * counter (virtual time under -icount), semihosting exit. Register-level, no vendor HAL. */
#include "board.h"
#include "bench_board.h"
#include "bench_port.h"

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* CMSDK APB UART0 (AN386: 0x40004000, RX IRQ 0, TX IRQ 1) */
#define UART0_BASE 0x40004000u
#define UART_DATA (UART0_BASE + 0x00u)
#define UART_STATE (UART0_BASE + 0x04u)
#define UART_CTRL (UART0_BASE + 0x08u)
#define UART_INTSTATUS (UART0_BASE + 0x0Cu)
#define UART_BAUDDIV (UART0_BASE + 0x10u)
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_CTRL_TXEN 1u
#define UART_CTRL_RXEN 2u
#define UART_CTRL_RXIRQ 8u
#define UART_INT_RX 2u
#define UART0_RX_IRQ 0u

/* CMSDK APB timer0 (0x40000000), clocked at 25 MHz */
#define TIMER0_BASE 0x40000000u
#define TIMER_CTRL (TIMER0_BASE + 0x00u)
#define TIMER_VALUE (TIMER0_BASE + 0x04u)
#define TIMER_RELOAD (TIMER0_BASE + 0x08u)

/* System control block / NVIC */
#define NVIC_ISER0 0xE000E100u
#define SCB_CPACR 0xE000ED88u

static int semihost(int op, void *arg)
{
    register int r0 __asm("r0") = op;
    register void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Semihosting link (QEMU only): when the host created the FIFOs bench.link.in/out in
 * QEMU's working directory, the same protocol bytes travel through SYS_READ/SYS_WRITE
 * instead of the UART (about 1000x faster; outside the measured region, so counts are
 * unchanged). Without them the UART is used. */
#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_READ 0x06
static int sh_in = -1;
static int sh_out = -1;

static int sh_open(const char *name, uint32_t len, int mode)
{
    uint32_t args[3] = {(uint32_t)(uintptr_t)name, (uint32_t)mode, len};
    return semihost(SYS_OPEN, args);
}

int board_link_is_semihost(void) { return sh_in >= 0 && sh_out >= 0; }

#define RX_RING 4096u /* power of two */
static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head; /* written by the ISR */
static volatile uint32_t rx_tail; /* written by the main loop */
static volatile uint32_t rx_overflows;

void board_init(void)
{
    REG32(SCB_CPACR) |= (0xFu << 20); /* CP10, CP11 full access: enable the FPU */
    __asm volatile("dsb\n isb" ::: "memory");

    REG32(UART_BAUDDIV) = 16u; /* any value >= 16 is accepted by QEMU; bytes are not timed */
    REG32(UART_CTRL) = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXIRQ;
    REG32(NVIC_ISER0) = 1u << UART0_RX_IRQ;

    sh_in = sh_open("bench.link.in", 13u, 1 /* rb */);
    if (sh_in >= 0) {
        sh_out = sh_open("bench.link.out", 14u, 5 /* wb */);
    }

    REG32(TIMER_CTRL) = 0u;
    REG32(TIMER_RELOAD) = 0xFFFFFFFFu;
    REG32(TIMER_VALUE) = 0xFFFFFFFFu;
    REG32(TIMER_CTRL) = 1u; /* enable, no interrupt */
    __asm volatile("cpsie i" ::: "memory");
}

void uart0_rx_handler(void)
{
    /* Clear first, then drain: a byte that lands after the drain raises the interrupt
     * again. (Clearing after the drain can lose that byte's interrupt, and QEMU delivers
     * no further byte while RXFULL is set: the link would stall.) */
    REG32(UART_INTSTATUS) = UART_INT_RX; /* write 1 to clear */
    while (REG32(UART_STATE) & UART_STATE_RXFULL) {
        uint8_t b = (uint8_t)REG32(UART_DATA);
        uint32_t h = rx_head;
        if (h - rx_tail < RX_RING) {
            rx_ring[h & (RX_RING - 1u)] = b;
            rx_head = h + 1u;
        } else {
            rx_overflows++;
        }
    }
}

size_t bench_port_read(uint8_t *buf, size_t max)
{
    if (board_link_is_semihost()) { /* blocks until at least one byte (a FIFO read) */
        uint32_t args[3] = {(uint32_t)sh_in, (uint32_t)(uintptr_t)buf, (uint32_t)max};
        int not_read = semihost(SYS_READ, args);
        return (not_read < 0 || (size_t)not_read > max) ? 0u : max - (size_t)not_read;
    }
    size_t n = 0;
    uint32_t t = rx_tail;
    uint32_t h = rx_head;
    while (n < max && t != h) {
        buf[n++] = rx_ring[t & (RX_RING - 1u)];
        t++;
    }
    rx_tail = t;
    return n;
}

void bench_port_write(const uint8_t *buf, size_t n)
{
    if (board_link_is_semihost()) {
        uint32_t args[3] = {(uint32_t)sh_out, (uint32_t)(uintptr_t)buf, (uint32_t)n};
        (void)semihost(SYS_WRITE, args);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        while (REG32(UART_STATE) & UART_STATE_TXFULL) {
        }
        REG32(UART_DATA) = buf[i];
    }
}

uint32_t bench_port_counter(void)
{
    return ~REG32(TIMER_VALUE); /* timer counts down; report an up-counter */
}

void bench_port_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
void bench_port_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
void bench_port_marker(int on) { (void)on; /* no GPIO marker on QEMU */ }

void bench_port_idle(void)
{
    /* Sleep until the next interrupt unless a byte is already waiting. */
    __asm volatile("cpsid i" ::: "memory");
    if (rx_head == rx_tail) {
        __asm volatile("wfi" ::: "memory");
    }
    __asm volatile("cpsie i" ::: "memory");
}

uint32_t board_rx_overflows(void) { return rx_overflows; }

void board_identity(bench_identity_t *id)
{
    id->counter_kind = BENCH_COUNTER_TIMER_TICKS;
    id->counter_hz = BOARD_TIMER_HZ;
    id->watchdog_kind = BENCH_WDG_NONE; /* QEMU's CMSDK watchdog is not used: no image needs it here */
    id->reset_cause = 0u;               /* the AN386 keeps no reset record: unknown */
}

void board_puts(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    bench_port_write((const uint8_t *)s, n);
}

void board_exit(int status)
{
    /* SYS_EXIT_EXTENDED (0x20): ADP_Stopped_ApplicationExit with the status */
    uint32_t args[2] = {0x20026u, (uint32_t)status};
    semihost(0x20, args);
    for (;;) {
    }
}
