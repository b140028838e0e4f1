/* nRF52840 DK board support: HFXO, UARTE0 host link with an EasyDMA receive ring, DWT
 * counter, marker pins, WDT. Register-level from the nRF52840 Product Specification
 * (chapters named in nrf52840_regs.h); no Nordic MDK / nrfx, no CMSIS. */
#include "board.h"

#include <string.h>

#include "bench_board.h"
#include "bench_port.h"
#include "board_internal.h"
#include "nrf52840_regs.h"

static board_status_t st;

/* ---- pins (PCA10056 user guide: VCOM on P0.06 / P0.08, LED1 on P0.13 active low) ---- */
#define PIN_TXD 6u    /* P0.06 */
#define PIN_RXD 8u    /* P0.08 */
#define MARK_PORT GPIO_P1
#define MARK_PIN 1u   /* P1.01: frame marker, high while a frame is processed */
#define STAGE_PORT GPIO_P1
#define STAGE_PIN 2u  /* P1.02: toggles at the start of the region and the end of each stage */
#define FAULT_PORT GPIO_P0
#define FAULT_PIN 13u /* P0.13: LED1, lit (driven low) by the fault report */

/* Bounded waits: one poll of a peripheral register is ~4-8 cycles at 64 MHz, so 200000
 * polls are 12-25 ms; HFXO start-up on the DK is typ. 0.36 ms (PS, "32 MHz crystal"). */
#define WAIT_POLLS 200000u

static int wait_set_n(volatile uint32_t *reg, uint32_t polls)
{
    for (uint32_t i = 0; i < polls; i++) {
        if (*reg) {
            return 1;
        }
    }
    return 0;
}

static int wait_set(volatile uint32_t *reg) { return wait_set_n(reg, WAIT_POLLS); }

volatile uint32_t board_alive; /* set by the main loop, consumed by the SysTick heartbeat */

const board_status_t *board_status(void) { return &st; }

/* ---- clock: start the 64 MHz HFXO (PS "CLOCK", HFCLK controller) ---- */
static void clock_init(void)
{
    POWER_DCDCEN = 1u; /* REG1 DC/DC (the DK has its inductor): the energy model assumes it */
    NVMC_ICACHECNF = NVMC_ICACHECNF_CACHEEN;
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
    CLOCK_TASKS_HFCLKSTART = 1u;
    st.hfxo_ok = (uint8_t)(wait_set(&CLOCK_EVENTS_HFCLKSTARTED) &&
                           (CLOCK_HFCLKSTAT & CLOCK_HFCLKSTAT_SRC_XTAL));
    /* On a timeout the CPU still runs at 64 MHz, from HFINT: cycles stay cycles, only the
     * UART's baud rate is less accurate (HFINT +-1.5 %, within what 8N1 tolerates). */
}

/* ---- host link: UARTE0 ---- */
/* Receive: EasyDMA writes byte i of the stream to ring[i mod RX_RING]. The ring is two
 * halves; ENDRX->STARTRX (a shortcut) restarts reception into the half whose address the
 * RXSTARTED interrupt wrote into RXD.PTR (double-buffered), so the UARTE never waits for the
 * CPU. TIMER1 counts RXDRDY events through PPI channel 0: the number of bytes received so
 * far. The CPU must service RXSTARTED once per half (4096 bytes, 355 ms at 115200 baud):
 * a frame with interrupts masked for longer than that would overwrite unread data. */
#define RX_HALF 4096u
#define RX_RING (2u * RX_HALF)
static volatile uint8_t rx_ring[RX_RING];
static uint32_t rx_tail;       /* bytes consumed (free-running) */
static uint32_t rx_seen;       /* the last count read from TIMER1 */
static uint32_t rx_next_half;  /* the half RXD.PTR points at for the next STARTRX */
static uint32_t rx_overflows;
static uint8_t tx_buf[256];    /* EasyDMA reads RAM only: TX goes through this buffer */
static uint8_t tx_busy;

uint32_t board_rx_overflows(void) { return rx_overflows; }

static void uarte_service(void)
{
    if (UARTE_EVENTS_RXSTARTED) {
        UARTE_EVENTS_RXSTARTED = 0u;
        rx_next_half ^= 1u;
        UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_ring[rx_next_half * RX_HALF];
    }
    if (UARTE_EVENTS_RXDRDY) {
        UARTE_EVENTS_RXDRDY = 0u; /* only wakes the idle loop; TIMER1 counts the bytes */
    }
    if (UARTE_EVENTS_ERROR) {
        UARTE_EVENTS_ERROR = 0u;
        UARTE_ERRORSRC = UARTE_ERRORSRC; /* write 1 to clear what was flagged */
        rx_overflows++;
    }
}

void board_uarte0_irq(void) { uarte_service(); }

static void link_init(void)
{
    GPIO_OUTSET(GPIO_P0) = 1u << PIN_TXD; /* idle high before the UARTE takes the pin */
    GPIO_PIN_CNF(GPIO_P0, PIN_TXD) = GPIO_PIN_CNF_OUTPUT;
    GPIO_PIN_CNF(GPIO_P0, PIN_RXD) = GPIO_PIN_CNF_INPUT_PULLUP;
    UARTE_PSEL_TXD = PIN_TXD; /* port 0, CONNECT = 0 */
    UARTE_PSEL_RXD = PIN_RXD;
    UARTE_PSEL_RTS = UARTE_PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = UARTE_PSEL_DISCONNECTED;
    UARTE_BAUDRATE = UARTE_BAUD_115200;
    UARTE_CONFIG = 0u; /* no parity, one stop bit, no flow control */

    TIMER1_MODE = TIMER_MODE_LOWPOWERCOUNTER;
    TIMER1_BITMODE = TIMER_BITMODE_32;
    TIMER1_TASKS_CLEAR = 1u;
    TIMER1_TASKS_START = 1u;
    PPI_CH_EEP(0) = UARTE_EVENTS_RXDRDY_ADDR;
    PPI_CH_TEP(0) = TIMER1_TASKS_COUNT_ADDR;
    PPI_CHENSET = 1u << 0;

    UARTE_ENABLE = UARTE_ENABLE_ENABLED;
    rx_next_half = 0u;
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_ring[0];
    UARTE_RXD_MAXCNT = RX_HALF;
    UARTE_SHORTS = UARTE_SHORTS_ENDRX_STARTRX;
    UARTE_EVENTS_RXSTARTED = 0u;
    UARTE_INTENSET = UARTE_INT_RXSTARTED | UARTE_INT_RXDRDY;
    NVIC_IPR8(IRQ_UARTE0) = 0x80u;
    NVIC_ISER(0) = 1u << IRQ_UARTE0;
    UARTE_TASKS_STARTRX = 1u;
}

static uint32_t rx_count(void)
{
    TIMER1_TASKS_CAPTURE0 = 1u;
    uint32_t n = TIMER1_CC0;
    if (n != rx_seen) {
        /* RXDRDY may precede the EasyDMA write of that byte by a few bus cycles (PS, UARTE
         * EVENTS_RXDRDY): give the newest byte time to reach RAM before reading it. */
        for (volatile int i = 0; i < 8; i++) {
        }
        rx_seen = n;
    }
    if (n - rx_tail > RX_RING) {
        /* the reader fell more than a ring behind: what it had not read was overwritten */
        rx_overflows++;
        rx_tail = n;
    }
    return n;
}

size_t bench_port_read(uint8_t *buf, size_t max)
{
    board_alive = 1u;
    uint32_t n_rx = rx_count();
    size_t n = 0;
    while (n < max && rx_tail != n_rx) {
        buf[n++] = rx_ring[rx_tail % RX_RING];
        rx_tail++;
    }
    return n;
}

int board_link_getc_polled(void)
{
    uarte_service(); /* in the fault loop the interrupt cannot run: keep the ring going */
    if (rx_tail == rx_count()) {
        return -1;
    }
    return rx_ring[rx_tail++ % RX_RING];
}

static void tx_wait(void)
{
    if (tx_busy) {
        /* bounded: 256 bytes take 22 ms at 115200 baud; 2e6 polls are >= 120 ms */
        (void)wait_set_n(&UARTE_EVENTS_ENDTX, 2000000u);
        tx_busy = 0u;
    }
}

void bench_port_write(const uint8_t *buf, size_t n)
{
    while (n) {
        size_t k = n < sizeof tx_buf ? n : sizeof tx_buf;
        tx_wait();
        memcpy(tx_buf, buf, k);
        UARTE_EVENTS_ENDTX = 0u;
        UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_buf;
        UARTE_TXD_MAXCNT = k;
        UARTE_TASKS_STARTTX = 1u;
        tx_busy = 1u;
        buf += k;
        n -= k;
    }
    tx_wait(); /* blocking: the caller may reuse its buffer */
}

void board_link_putc(uint8_t c) { bench_port_write(&c, 1u); }

void board_puts(const char *s) { bench_port_write((const uint8_t *)s, strlen(s)); }

/* ---- counter ---- */
static void counter_init(void)
{
    CORE_DEMCR |= CORE_DEMCR_TRCENA;
    if (!(DWT_CTRL & DWT_CTRL_NOCYCCNT)) {
        DWT_CYCCNT = 0u;
        DWT_CTRL |= DWT_CTRL_CYCCNTENA;
        uint32_t a = DWT_CYCCNT;
        for (volatile int i = 0; i < 16; i++) {
        }
        st.counter_cycles = (uint8_t)(DWT_CYCCNT != a);
    }
    if (!st.counter_cycles) {
        TIMER2_MODE = TIMER_MODE_TIMER;
        TIMER2_BITMODE = TIMER_BITMODE_32;
        TIMER2_PRESCALER = 0u; /* 16 MHz */
        TIMER2_TASKS_START = 1u;
    }
}

/* ---- marker pins ---- */
#define STAGE_BIT (1u << STAGE_PIN)
static uint32_t stage_high;

static void pins_init(void)
{
    GPIO_OUTCLR(MARK_PORT) = 1u << MARK_PIN;
    GPIO_OUTCLR(STAGE_PORT) = STAGE_BIT;
    GPIO_OUTSET(FAULT_PORT) = 1u << FAULT_PIN; /* LED off (active low) */
    GPIO_PIN_CNF(MARK_PORT, MARK_PIN) = GPIO_PIN_CNF_OUTPUT;
    GPIO_PIN_CNF(STAGE_PORT, STAGE_PIN) = GPIO_PIN_CNF_OUTPUT;
    GPIO_PIN_CNF(FAULT_PORT, FAULT_PIN) = GPIO_PIN_CNF_OUTPUT;
}

void board_fault_pins(void)
{
    GPIO_OUTCLR(MARK_PORT) = 1u << MARK_PIN;
    GPIO_OUTCLR(FAULT_PORT) = 1u << FAULT_PIN; /* LED1 on */
}

uint32_t bench_port_counter(void)
{
    uint32_t v;
    if (st.counter_cycles) {
        v = DWT_CYCCNT;
    } else {
        TIMER2_TASKS_CAPTURE0 = 1u;
        v = TIMER2_CC0;
    }
    /* stage pin: an edge at every counter read (docs/boards.md) */
    if (stage_high) {
        GPIO_OUTCLR(STAGE_PORT) = STAGE_BIT;
    } else {
        GPIO_OUTSET(STAGE_PORT) = STAGE_BIT;
    }
    stage_high ^= 1u;
    return v;
}

/* ---- watchdog (PS "WDT"): armed at the first frame, 2 s ---- */
static void wdg_start(void)
{
    WDT_CONFIG = WDT_CONFIG_SLEEP_RUN; /* counts during WFI; pauses while a debugger halts */
    WDT_CRV = 2u * 32768u - 1u;        /* timeout = (CRV + 1) / 32768 Hz = 2.0 s */
    WDT_RREN = 1u;                     /* reload request register RR[0] only */
    WDT_TASKS_START = 1u;              /* cannot be stopped until reset */
    st.wdg = (WDT_RUNSTATUS & 1u) ? 1u : 2u;
    if (st.wdg == 1u) {
        /* heartbeat: SysTick at 10 Hz refreshes only while the main loop keeps polling */
        SYST_RVR = BOARD_SYSCLK_HZ / 10u - 1u;
        SYST_CVR = 0u;
        SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE_CPU;
    }
}

void board_wdg_refresh(void)
{
    if (st.wdg == 1u) {
        WDT_RR0 = WDT_RELOAD_KEY;
    }
}

void board_systick_handler(void)
{
    if (board_alive) {
        board_alive = 0u;
        board_wdg_refresh();
    }
}

/* ---- the other port hooks ---- */
void bench_port_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
void bench_port_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }

void bench_port_marker(int on)
{
    if (on) {
        if (st.wdg == 0u) {
            wdg_start();
        }
        board_wdg_refresh();
        GPIO_OUTCLR(STAGE_PORT) = STAGE_BIT;
        stage_high = 0u;
        GPIO_OUTSET(MARK_PORT) = 1u << MARK_PIN;
    } else {
        GPIO_OUTCLR(MARK_PORT) = 1u << MARK_PIN;
        GPIO_OUTCLR(STAGE_PORT) = STAGE_BIT;
        board_wdg_refresh();
    }
}

void bench_port_idle(void)
{
    __asm volatile("cpsid i" ::: "memory");
    if (rx_count() == rx_tail) {
        __asm volatile("wfi" ::: "memory"); /* RXDRDY (a byte) or SysTick wakes it */
    }
    __asm volatile("cpsie i" ::: "memory");
}

/* ---- identity for HELLO (bench_board.h) ---- */
void board_identity(bench_identity_t *id)
{
    /* if the DWT does not count, the port counts with TIMER2 at 16 MHz and says so */
    id->counter_kind = st.counter_cycles ? BENCH_COUNTER_CYCLES : BENCH_COUNTER_TIMER_TICKS;
    id->counter_hz = st.counter_cycles ? BOARD_SYSCLK_HZ : 16000000u;
    id->capabilities |= BENCH_CAP_MARKER;
    id->watchdog_kind = BENCH_WDG_WDT; /* armed at the first frame */
    id->watchdog_ms = 2000u;
    uint32_t r = st.reset_reason, c = 0u;
    if (r & RESETREAS_RESETPIN) c |= BENCH_RESET_PIN;
    if (r & RESETREAS_DOG) c |= BENCH_RESET_WATCHDOG;
    if (r & RESETREAS_SREQ) c |= BENCH_RESET_SOFTWARE;
    if (r & RESETREAS_LOCKUP) c |= BENCH_RESET_LOCKUP;
    if (r & ~(RESETREAS_RESETPIN | RESETREAS_DOG | RESETREAS_SREQ | RESETREAS_LOCKUP)) c |= BENCH_RESET_OTHER;
    if (!r) c |= BENCH_RESET_POWER_ON; /* RESETREAS is 0 after a power-on or brown-out reset */
    id->reset_cause = c;
    id->reset_raw = r;
}

/* ---- boot ---- */
static void report(void)
{
    board_puts("\r\n[board] " BOARD_NAME ": ");
    board_puts(st.hfxo_ok ? "HFXO 64 MHz" : "clock not configured: HFXO did not start, on HFINT");
    board_puts(st.counter_cycles ? "; counter DWT CYCCNT at 64000000 Hz"
                                 : "; counter TIMER2 at 16000000 Hz (DWT CYCCNT does not count)");
    board_puts("; link UARTE0 RX EasyDMA; reset:");
    uint32_t r = st.reset_reason;
    if (r & RESETREAS_RESETPIN) board_puts(" pin");
    if (r & RESETREAS_DOG) board_puts(" watchdog");
    if (r & RESETREAS_SREQ) board_puts(" software");
    if (r & RESETREAS_LOCKUP) board_puts(" lockup");
    if (r & RESETREAS_OFF) board_puts(" wake-from-off");
    if (r & RESETREAS_DIF) board_puts(" debug-interface");
    if (r & RESETREAS_VBUS) board_puts(" vbus");
    if (!r) board_puts(" power-on");
    board_puts("\r\n");
}

void board_init(void)
{
    st.reset_reason = POWER_RESETREAS;
    POWER_RESETREAS = st.reset_reason; /* write 1 to clear */
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;
    SCB_CCR |= SCB_CCR_DIV_0_TRP;
    clock_init();
    pins_init();
    link_init();
    counter_init();
    report();
    __asm volatile("cpsie i" ::: "memory");
}

void board_exit(int status)
{
    (void)status;
    __asm volatile("cpsid i" ::: "memory");
    GPIO_OUTCLR(MARK_PORT) = 1u << MARK_PIN;
    for (;;) {
        board_wdg_refresh();
        __asm volatile("wfi");
    }
}
