/* STM32F405/407/429 board support: clock tree, host-link USART, counter, marker pins,
 * watchdog. Register-level, written from RM0090 (section numbers in stm32f4_regs.h);
 * no vendor HAL, no CMSIS. Which board: board.h. */
#include "board_config.h"

#include <string.h>

#include "bench_board.h"
#include "bench_port.h"

static board_status_t st;

volatile uint8_t board_rx_ring[RX_RING];
static volatile uint32_t rx_head; /* free-running; IRQ mode: written by the ISR */
static volatile uint32_t rx_tail; /* free-running; written by the main loop */
static volatile uint32_t rx_overflows;
static volatile uint32_t *counter_reg;
static uint32_t stage_bsrr;      /* next value for the stage pin's BSRR (set / reset) */
static volatile uint32_t alive;  /* set by the main loop, consumed by the SysTick heartbeat */
static uint8_t rcc_silent;       /* the RCC did not answer at all: a model, not silicon */

#define MARK_BIT (1u << CFG_MARK_PIN)
#define STAGE_BIT (1u << CFG_STAGE_PIN)
#define STAGE_TOGGLE (STAGE_BIT | (STAGE_BIT << 16))

const board_status_t *board_status(void) { return &st; }
uint32_t board_rx_overflows(void) { return rx_overflows; }

/* ---- bounded waits ---- */
static int wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t i = 0; i < WAIT_POLLS; i++) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

/* ---- clock tree (RM0090 7.2 / 6.2: HSE, PLL, system clock switch; 3.5.1 wait states) ---- */
static void clock_fail(const char *why)
{
    /* Back to HSI with no prescalers; PLL and HSE off. The flash latency stays at 5 wait
     * states, which is valid at any lower clock. */
    RCC_CFGR &= ~(RCC_CFGR_SW_MASK | RCC_CFGR_PRE_MASK);
    (void)wait_bits(&RCC_CFGR, RCC_CFGR_SWS_MASK, 0u);
    RCC_CR &= ~RCC_CR_PLLON;
    RCC_CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
    st.clock_ok = 0;
    st.clock_note = why;
    st.hclk_hz = 16000000u;
}

static void clock_init(void)
{
    st.hclk_hz = 16000000u; /* HSI after reset */
    st.clock_note = "";
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* RM0090: a read after enabling a clock, before using the peripheral */
#if CFG_F42X
    PWR_CR = (PWR_CR & ~PWR_CR_VOS_F42X) | PWR_CR_VOS_F42X;
#else
    PWR_CR |= PWR_CR_VOS_F40X;
#endif

#if CFG_HSE_BYPASS
    RCC_CR |= RCC_CR_HSEBYP;
#endif
    RCC_CR |= RCC_CR_HSEON;
    if (!(RCC_CR & RCC_CR_HSEON)) {
        /* silicon reads HSEON back at once: this RCC does not respond (QEMU: unimplemented) */
        rcc_silent = 1u;
        clock_fail("clock not configured: RCC does not respond (HSEON reads back 0)");
        return;
    }
    if (!wait_bits(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        clock_fail("clock not configured: HSE not ready (crystal / ST-LINK MCO?)");
        return;
    }
    RCC_PLLCFGR = RCC_PLLCFGR_M(CFG_PLL_M) | RCC_PLLCFGR_N(CFG_PLL_N) | RCC_PLLCFGR_P(CFG_PLL_P) |
                  RCC_PLLCFGR_SRC_HSE | RCC_PLLCFGR_Q(CFG_PLL_Q);
    RCC_CR |= RCC_CR_PLLON;
#if CFG_F42X
    /* over-drive for 180 MHz (RM0090 5.1.4: after PLLON, before the switch) */
    PWR_CR |= PWR_CR_ODEN;
    if (!wait_bits(&PWR_CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY)) {
        clock_fail("clock not configured: over-drive not ready (ODRDY)");
        return;
    }
    PWR_CR |= PWR_CR_ODSWEN;
    if (!wait_bits(&PWR_CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY)) {
        clock_fail("clock not configured: over-drive switch not ready (ODSWRDY)");
        return;
    }
#endif
    /* 5 wait states for 150-168/180 MHz at 2.7-3.6 V (RM0090 Table 11), prefetch and caches */
    FLASH_ACR = 5u | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != 5u) {
        clock_fail("clock not configured: FLASH_ACR latency does not read back 5");
        return;
    }
    if (!wait_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        clock_fail("clock not configured: PLL not locked");
        return;
    }
    /* AHB /1, APB1 /4 (<= 42 / 45 MHz), APB2 /2 (<= 84 / 90 MHz), system clock = PLL */
    RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_SW_MASK | RCC_CFGR_PRE_MASK)) | RCC_CFGR_HPRE_DIV1 |
               RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
    if (!wait_bits(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL)) {
        clock_fail("clock not configured: system clock did not switch to the PLL");
        return;
    }
    st.clock_ok = 1;
    st.hclk_hz = BOARD_SYSCLK_HZ;
}

static uint32_t pclk1_hz(void) { return st.clock_ok ? st.hclk_hz / 4u : st.hclk_hz; }
static uint32_t pclk2_hz(void) { return st.clock_ok ? st.hclk_hz / 2u : st.hclk_hz; }

/* ---- GPIO (RM0090 8.3) ---- */
static void gpio_mode(uint32_t port, uint32_t pin, uint32_t mode, uint32_t af)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOEN(port);
    (void)RCC_AHB1ENR;
    if (mode == GPIO_MODE_AF) {
        uint32_t sh = (pin & 7u) * 4u;
        GPIO_AFR(port, pin) = (GPIO_AFR(port, pin) & ~(0xFu << sh)) | (af << sh);
    }
    GPIO_OSPEEDR(port) |= 3u << (2u * pin); /* very high speed: sharp marker edges */
    GPIO_MODER(port) = (GPIO_MODER(port) & ~(3u << (2u * pin))) | (mode << (2u * pin));
}

static void pins_init(void)
{
    GPIO_BSRR(CFG_MARK_PORT) = MARK_BIT << 16;
    GPIO_BSRR(CFG_STAGE_PORT) = STAGE_BIT << 16;
    GPIO_BSRR(CFG_FAULT_PORT) = (1u << CFG_FAULT_PIN) << 16;
    gpio_mode(CFG_MARK_PORT, CFG_MARK_PIN, GPIO_MODE_OUTPUT, 0u);
    gpio_mode(CFG_STAGE_PORT, CFG_STAGE_PIN, GPIO_MODE_OUTPUT, 0u);
    gpio_mode(CFG_FAULT_PORT, CFG_FAULT_PIN, GPIO_MODE_OUTPUT, 0u);
    st.gpio_ok = ((GPIO_MODER(CFG_MARK_PORT) >> (2u * CFG_MARK_PIN)) & 3u) == GPIO_MODE_OUTPUT;
    stage_bsrr = STAGE_BIT;
}

void board_fault_pins(void)
{
    GPIO_BSRR(CFG_MARK_PORT) = MARK_BIT << 16;
    GPIO_BSRR(CFG_FAULT_PORT) = 1u << CFG_FAULT_PIN;
}

/* ---- host link: USART, 8N1 ---- */
static void dma_clear_flags(void)
{
    static const uint8_t shift[4] = {0u, 6u, 16u, 22u};
    uint32_t bits = 0x3Du << shift[CFG_DMA_STREAM & 3u];
    if (CFG_DMA_STREAM < 4u) {
        DMA_LIFCR(CFG_DMA_BASE) = bits;
    } else {
        DMA_HIFCR(CFG_DMA_BASE) = bits;
    }
}

static int rx_dma_init(void)
{
    /* Circular DMA from USART_DR into the ring (RM0090 10.3.10, circular mode): bytes land
     * in RAM while the measured region has interrupts masked, so none is lost to an overrun
     * whatever the host has in flight. */
    RCC_AHB1ENR |= CFG_DMA_EN;
    (void)RCC_AHB1ENR;
    DMA_SCR(CFG_DMA_BASE, CFG_DMA_STREAM) = 0u;
    if (!wait_bits(&DMA_SCR(CFG_DMA_BASE, CFG_DMA_STREAM), DMA_SCR_EN, 0u)) {
        return 0;
    }
    dma_clear_flags();
    DMA_SPAR(CFG_DMA_BASE, CFG_DMA_STREAM) = CFG_USART_BASE + 0x04u; /* USART_DR */
    DMA_SM0AR(CFG_DMA_BASE, CFG_DMA_STREAM) = (uint32_t)(uintptr_t)board_rx_ring;
    DMA_SNDTR(CFG_DMA_BASE, CFG_DMA_STREAM) = RX_RING;
    if (DMA_SM0AR(CFG_DMA_BASE, CFG_DMA_STREAM) != (uint32_t)(uintptr_t)board_rx_ring ||
        DMA_SNDTR(CFG_DMA_BASE, CFG_DMA_STREAM) != RX_RING) {
        return 0; /* the stream does not answer (QEMU: DMA unimplemented) */
    }
    /* peripheral to memory, byte to byte, memory increment, circular, high priority */
    DMA_SCR(CFG_DMA_BASE, CFG_DMA_STREAM) =
        DMA_SCR_CHSEL(CFG_DMA_CHANNEL) | DMA_SCR_PL_HIGH | DMA_SCR_MINC | DMA_SCR_CIRC;
    DMA_SCR(CFG_DMA_BASE, CFG_DMA_STREAM) |= DMA_SCR_EN;
    return (DMA_SCR(CFG_DMA_BASE, CFG_DMA_STREAM) & DMA_SCR_EN) != 0u;
}

static void link_init(void)
{
    CFG_USART_EN_REG |= CFG_USART_EN_BIT;
    (void)CFG_USART_EN_REG;
    gpio_mode(CFG_TX_PORT, CFG_TX_PIN, GPIO_MODE_AF, 7u);
    gpio_mode(CFG_RX_PORT, CFG_RX_PIN, GPIO_MODE_AF, 7u);
    GPIO_PUPDR(CFG_RX_PORT) = (GPIO_PUPDR(CFG_RX_PORT) & ~(3u << (2u * CFG_RX_PIN))) |
                              (1u << (2u * CFG_RX_PIN)); /* pull-up: an open RX line idles high */
    uint32_t pclk = CFG_USART_APB2 ? pclk2_hz() : pclk1_hz();
    USART_CR1(CFG_USART_BASE) = 0u;
    /* oversampling by 16: BRR = USARTDIV * 16 = f_PCLK / baud (RM0090 30.3.4) */
    USART_BRR(CFG_USART_BASE) = (pclk + LINK_BAUD / 2u) / LINK_BAUD;
    USART_CR2(CFG_USART_BASE) = 0u;
    USART_CR3(CFG_USART_BASE) = 0u;
    st.rx_dma = (uint8_t)rx_dma_init();
    if (st.rx_dma) {
        USART_CR3(CFG_USART_BASE) = USART_CR3_DMAR;
    }
    /* DMA: the IDLE interrupt only wakes the idle loop; else RXNE moves each byte */
    USART_CR1(CFG_USART_BASE) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE |
                                (st.rx_dma ? USART_CR1_IDLEIE : USART_CR1_RXNEIE);
    NVIC_IPR8(CFG_USART_IRQ) = 0x80u;
    NVIC_ISER(CFG_USART_IRQ / 32u) = 1u << (CFG_USART_IRQ % 32u);
}

static void rx_push(uint8_t b)
{
    uint32_t h = rx_head;
    if (h - rx_tail < RX_RING) {
        board_rx_ring[h & (RX_RING - 1u)] = b;
        rx_head = h + 1u;
    } else {
        rx_overflows++;
    }
}

void board_usart_irq(void)
{
    uint32_t sr = USART_SR(CFG_USART_BASE);
    if (st.rx_dma) {
        if (sr & USART_SR_IDLE) {
            (void)USART_DR(CFG_USART_BASE); /* SR then DR read clears IDLE; DMA has the byte */
        }
        return;
    }
    while (sr & (USART_SR_RXNE | USART_SR_ORE)) {
        uint8_t b = (uint8_t)USART_DR(CFG_USART_BASE); /* clears RXNE (and ORE after the SR read) */
        if (sr & USART_SR_ORE) {
            rx_overflows++;
        }
        if (sr & USART_SR_RXNE) {
            rx_push(b);
        }
        sr = USART_SR(CFG_USART_BASE);
    }
}

static uint32_t dma_pos(void)
{
    return (RX_RING - DMA_SNDTR(CFG_DMA_BASE, CFG_DMA_STREAM)) & (RX_RING - 1u);
}

size_t bench_port_read(uint8_t *buf, size_t max)
{
    alive = 1u;
    size_t n = 0;
    if (st.rx_dma) {
        uint32_t pos = dma_pos();
        uint32_t t = rx_tail;
        while (n < max && t != pos) {
            buf[n++] = board_rx_ring[t];
            t = (t + 1u) & (RX_RING - 1u);
        }
        rx_tail = t;
        return n;
    }
    uint32_t t = rx_tail;
    uint32_t h = rx_head;
    while (n < max && t != h) {
        buf[n++] = board_rx_ring[t & (RX_RING - 1u)];
        t++;
    }
    rx_tail = t;
    return n;
}

int board_link_getc_polled(void)
{
    if (st.rx_dma) {
        uint32_t t = rx_tail;
        if (t == dma_pos()) {
            return -1;
        }
        rx_tail = (t + 1u) & (RX_RING - 1u);
        return board_rx_ring[t];
    }
    if (rx_head != rx_tail) { /* what the ISR queued before interrupts stopped */
        uint32_t t = rx_tail;
        rx_tail = t + 1u;
        return board_rx_ring[t & (RX_RING - 1u)];
    }
    uint32_t sr = USART_SR(CFG_USART_BASE);
    if (sr & (USART_SR_RXNE | USART_SR_ORE)) {
        uint8_t b = (uint8_t)USART_DR(CFG_USART_BASE);
        return (sr & USART_SR_RXNE) ? (int)b : -1;
    }
    return -1;
}

void board_link_putc(uint8_t c)
{
    /* bounded like every other ready flag: a USART without its clock never sets TXE */
    (void)wait_bits(&USART_SR(CFG_USART_BASE), USART_SR_TXE, USART_SR_TXE);
    USART_DR(CFG_USART_BASE) = c;
}

void bench_port_write(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        board_link_putc(buf[i]);
    }
}

void board_puts(const char *s)
{
    bench_port_write((const uint8_t *)s, strlen(s));
}

/* ---- counter ---- */
static int dwt_counts(void)
{
    CORE_DEMCR |= CORE_DEMCR_TRCENA;
    if (DWT_CTRL & DWT_CTRL_NOCYCCNT) {
        return 0;
    }
    REG32(DWT_CYCCNT_ADDR) = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    uint32_t a = REG32(DWT_CYCCNT_ADDR);
    for (volatile int i = 0; i < 16; i++) {
    }
    return REG32(DWT_CYCCNT_ADDR) != a; /* QEMU 7.2: the DWT reads as zero */
}

static void counter_init(void)
{
    if (dwt_counts()) {
        st.counter_cycles = 1u;
        st.counter_hz = st.hclk_hz;
        counter_reg = (volatile uint32_t *)(uintptr_t)DWT_CYCCNT_ADDR;
        return;
    }
    /* TIM2, 32 bits, prescaler 1, free-running over the full range (RM0090 18.3) */
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    (void)RCC_APB1ENR;
    TIM2_CR1 = 0u;
    TIM2_PSC = 0u;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = TIM_EGR_UG; /* load PSC / ARR */
    TIM2_CR1 = TIM_CR1_CEN;
    st.counter_cycles = 0u;
    /* Silicon (the RCC answered): the APB1 timer clock, 2 x PCLK1 with APB1 /4. A model
     * whose RCC did not answer: QEMU's timer model, 1 GHz of virtual time. */
    st.counter_hz = rcc_silent ? BOARD_MODEL_TIMER_HZ : st.clock_ok ? 2u * pclk1_hz() : pclk1_hz();
    counter_reg = (volatile uint32_t *)(uintptr_t)TIM2_CNT_ADDR;
}

uint32_t bench_port_counter(void)
{
    /* The counter first, then the stage pin toggles: an edge at the start of the region
     * and at the end of every stage (docs/boards.md). The toggle's few instructions are
     * charged to the next stage. */
    uint32_t v = *counter_reg;
    GPIO_BSRR(CFG_STAGE_PORT) = stage_bsrr;
    stage_bsrr ^= STAGE_TOGGLE;
    return v;
}

/* ---- watchdog ---- */
/* IWDG (RM0090 21), armed at the first frame: LSI (17-47 kHz, typ. 32 kHz) / 64, reload 1000:
 * 2.0 s nominal, 1.36 s at the fastest LSI, 3.8 s at the slowest (RM0090 21.3.3 and the
 * datasheet's LSI range). */
#define IWDG_PR_DIV64 4u
#define IWDG_RELOAD 1000u
#define IWDG_TIMEOUT_MS 2000u

/* Where the IWDG is absent (QEMU 7.2 models none), SysTick stands in. It runs only while a frame
 * is processed, from the reference clock (HCLK/8) over its full 24-bit range: a frame that lasts
 * WDG_SYSTICK_WRAPS wraps (3 x 2^24 / 21 MHz = 2.4 s at 168 MHz) is hung, and the SysTick handler
 * leaves a record in .noinit and requests a system reset (AIRCR.SYSRESETREQ). A frame shorter than
 * one wrap (0.8 s; 6 million instructions under QEMU -icount shift=7) never takes the interrupt,
 * so counts do not change. Interrupts must reach the handler inside the measured region, so there
 * the port masks by priority (BASEPRI) instead of PRIMASK: SysTick has priority 0, everything else
 * WDG_MASK_PRIO or lower. The configurable faults get WDG_MASK_PRIO too, so that a fault inside a
 * frame still escalates to a HardFault (HFSR.FORCED) as under PRIMASK. Not caught by the fallback:
 * a hang outside a frame. (QEMU's STM32 TIM model is no use here: its alarm lands at twice the
 * current virtual time plus the period.) */
#define WDG_SYSTICK_WRAPS 3u
#define WDG_MASK_PRIO 0x10u
#define WDG_NOTE_MAGIC 0x57444F47u /* "WDOG" */

typedef struct wdg_note {
    uint32_t magic, check; /* WDG_NOTE_MAGIC and its complement: the fallback reset the chip */
} wdg_note_t;
/* Not zeroed by the startup code, not loaded from the ELF, not cleared by QEMU's system reset */
__attribute__((section(".noinit"))) static volatile wdg_note_t wdg_note;
static volatile uint32_t wdg_wraps; /* SysTick wraps in the current frame (fallback) */

static uint32_t wdg_timeout_ms(void)
{
    if (st.wdg_kind == BENCH_WDG_IWDG) {
        return IWDG_TIMEOUT_MS;
    }
    if (st.wdg_kind != BENCH_WDG_TIMER) {
        return 0u;
    }
    /* QEMU feeds the core its fixed sysclk whatever the (absent) RCC says */
    uint32_t ref_khz = (rcc_silent ? BOARD_SYSCLK_HZ : st.hclk_hz) / 8u / 1000u;
    return (uint32_t)((uint64_t)WDG_SYSTICK_WRAPS * (1u << 24) / ref_khz);
}

static void wdg_init(void)
{
    st.wdg_fired = wdg_note.magic == WDG_NOTE_MAGIC && wdg_note.check == ~WDG_NOTE_MAGIC;
    wdg_note.magic = 0u;
    wdg_note.check = 0u;
    /* IWDG_RLR resets to 0xFFF on silicon; a model without the IWDG reads 0. Reading it does
     * not start the watchdog (only the start key does, and that cannot be undone). */
    if ((IWDG_RLR & 0xFFFu) != 0u) {
        st.wdg_kind = BENCH_WDG_IWDG;
        return;
    }
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    if (SYST_RVR != 0x00FFFFFFu) {
        st.wdg_kind = BENCH_WDG_NONE;
        return;
    }
    SCB_SHPR_BYTE(4) = WDG_MASK_PRIO; /* MemManage */
    SCB_SHPR_BYTE(5) = WDG_MASK_PRIO; /* BusFault */
    SCB_SHPR_BYTE(6) = WDG_MASK_PRIO; /* UsageFault */
    SCB_SHPR_BYTE(15) = 0u;           /* SysTick: above the mask */
    st.wdg_kind = BENCH_WDG_TIMER;
}

static void wdg_start(void)
{
    if (st.wdg_kind != BENCH_WDG_IWDG) {
        st.wdg = st.wdg_kind == BENCH_WDG_TIMER ? 1u : 2u;
        return;
    }
    IWDG_KR = IWDG_KEY_START; /* also starts the LSI; cannot be stopped until reset */
    IWDG_KR = IWDG_KEY_UNLOCK;
    IWDG_PR = IWDG_PR_DIV64;
    IWDG_RLR = IWDG_RELOAD - 1u;
    (void)wait_bits(&IWDG_SR, 0x3u, 0u); /* PVU / RVU: the LSI domain took the values */
    IWDG_KR = IWDG_KEY_RELOAD;
    if (IWDG_PR != IWDG_PR_DIV64 || IWDG_RLR != IWDG_RELOAD - 1u) {
        st.wdg = 2u; /* did not take the values: no heartbeat either */
        return;
    }
    st.wdg = 1u;
    /* Heartbeat: SysTick at 10 Hz on HCLK/8 refreshes the IWDG only while the main loop
     * keeps polling, so a hang outside a frame is caught as well as one inside. */
    SYST_RVR = st.hclk_hz / 8u / 10u - 1u;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT;
}

void board_wdg_refresh(void)
{
    if (st.wdg != 1u) {
        return;
    }
    if (st.wdg_kind == BENCH_WDG_IWDG) {
        IWDG_KR = IWDG_KEY_RELOAD;
    } else {
        wdg_wraps = 0u;
    }
}

static void wdg_bite(void)
{
    /* A frame ran WDG_SYSTICK_WRAPS SysTick wraps: the fallback bites (an IWDG would reset now) */
    SYST_CSR = 0u;
    wdg_note.magic = WDG_NOTE_MAGIC;
    wdg_note.check = ~WDG_NOTE_MAGIC;
    board_fault_pins();
    board_puts("\r\n[board] watchdog (SysTick fallback): a frame hung; resetting the chip\r\n");
    __asm volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_SYSRESETREQ;
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}

void board_systick_handler(void)
{
    if (st.wdg_kind == BENCH_WDG_TIMER) {
        if (++wdg_wraps >= WDG_SYSTICK_WRAPS) {
            wdg_bite();
        }
        return;
    }
    if (alive) {
        alive = 0u;
        board_wdg_refresh();
    }
}

/* ---- the other port hooks ---- */
void bench_port_irq_disable(void)
{
    if (st.wdg_kind == BENCH_WDG_TIMER) {
        __asm volatile("msr basepri, %0" ::"r"(WDG_MASK_PRIO) : "memory");
    } else {
        __asm volatile("cpsid i" ::: "memory");
    }
}

void bench_port_irq_enable(void)
{
    if (st.wdg_kind == BENCH_WDG_TIMER) {
        __asm volatile("msr basepri, %0" ::"r"(0u) : "memory");
    } else {
        __asm volatile("cpsie i" ::: "memory");
    }
}

void bench_port_marker(int on)
{
    if (on) {
        if (st.wdg == 0u) {
            wdg_start();
        }
        board_wdg_refresh();
        if (st.wdg_kind == BENCH_WDG_TIMER && st.wdg == 1u) {
            SYST_CVR = 0u; /* from the full reload value */
            SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT;
        }
        GPIO_BSRR(CFG_STAGE_PORT) = STAGE_BIT << 16;
        stage_bsrr = STAGE_BIT;
        GPIO_BSRR(CFG_MARK_PORT) = MARK_BIT;
    } else {
        GPIO_BSRR(CFG_MARK_PORT) = MARK_BIT << 16;
        GPIO_BSRR(CFG_STAGE_PORT) = STAGE_BIT << 16;
        if (st.wdg_kind == BENCH_WDG_TIMER) {
            SYST_CSR = 0u;
        }
        board_wdg_refresh();
    }
}

void bench_port_idle(void)
{
    /* Sleep until the next interrupt unless a byte is already waiting. */
    __asm volatile("cpsid i" ::: "memory");
    int empty = st.rx_dma ? (dma_pos() == rx_tail) : (rx_head == rx_tail);
    if (empty) {
        __asm volatile("wfi" ::: "memory");
    }
    __asm volatile("cpsie i" ::: "memory");
}

/* ---- identity for HELLO (bench_board.h) ---- */
static uint32_t reset_cause(void)
{
    uint32_t f = st.reset_flags, c = 0u;
    if (f & RCC_CSR_PORRSTF) c |= BENCH_RESET_POWER_ON;
    if (f & RCC_CSR_PINRSTF) c |= BENCH_RESET_PIN;
    if (f & RCC_CSR_SFTRSTF) c |= BENCH_RESET_SOFTWARE;
    if (f & RCC_CSR_IWDGRSTF) c |= BENCH_RESET_WATCHDOG;
    if (f & RCC_CSR_WWDGRSTF) c |= BENCH_RESET_WINDOW_WATCHDOG;
    if (f & RCC_CSR_BORRSTF) c |= BENCH_RESET_BROWN_OUT;
    if (f & RCC_CSR_LPWRRSTF) c |= BENCH_RESET_LOW_POWER;
    if (st.wdg_fired) c |= BENCH_RESET_WATCHDOG | BENCH_RESET_SOFTWARE; /* the fallback's SYSRESETREQ */
    return c;
}

void board_identity(bench_identity_t *id)
{
    id->counter_kind = st.counter_cycles ? BENCH_COUNTER_CYCLES : BENCH_COUNTER_TIMER_TICKS;
    id->counter_hz = st.counter_hz;
    if (st.gpio_ok) {
        id->capabilities |= BENCH_CAP_MARKER;
    }
    id->watchdog_kind = st.wdg_kind;
    id->watchdog_ms = wdg_timeout_ms();
    id->reset_cause = reset_cause();
    id->reset_raw = st.wdg_fired ? WDG_NOTE_MAGIC : st.reset_flags;
}

/* ---- boot ---- */
static void put_dec(char *p, uint32_t v)
{
    char tmp[11];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        *p++ = tmp[--n];
    }
    *p = '\0';
}

static void report(void)
{
    char num[12];
    board_puts("\r\n[board] " BOARD_NAME ": ");
    if (st.clock_ok) {
        put_dec(num, st.hclk_hz / 1000000u);
        board_puts("clock ");
        board_puts(num);
        board_puts(" MHz");
    } else {
        board_puts(st.clock_note);
        board_puts(", assuming HSI 16 MHz");
    }
    board_puts(st.counter_cycles ? "; counter DWT CYCCNT" : "; counter TIM2 (DWT CYCCNT does not count)");
    put_dec(num, st.counter_hz);
    board_puts(" at ");
    board_puts(num);
    board_puts(" Hz; link ");
    board_puts(st.rx_dma ? "RX DMA" : "RX interrupt (DMA does not answer)");
    board_puts(st.gpio_ok ? "; marker pins ok" : "; marker pins inert (GPIO does not answer)");
    uint32_t f = st.reset_flags;
    board_puts("; reset:");
    if (f & RCC_CSR_IWDGRSTF) board_puts(" IWDG");
    if (f & RCC_CSR_WWDGRSTF) board_puts(" WWDG");
    if (f & RCC_CSR_SFTRSTF) board_puts(" software");
    if (f & RCC_CSR_PORRSTF) board_puts(" power-on");
    if (f & RCC_CSR_PINRSTF) board_puts(" pin");
    if (f & RCC_CSR_BORRSTF) board_puts(" brown-out");
    if (f & RCC_CSR_LPWRRSTF) board_puts(" low-power");
    if (st.wdg_fired) board_puts(" watchdog (SysTick fallback, its record in RAM)");
    if (!(f & 0xFE000000u) && !st.wdg_fired) board_puts(" none recorded");
    board_puts("\r\n");
}

void board_init(void)
{
    st.reset_flags = RCC_CSR;
    RCC_CSR |= RCC_CSR_RMVF;
    /* report the four configurable faults separately (names in the fault report) and trap
     * integer division by zero instead of returning 0 */
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;
    SCB_CCR |= SCB_CCR_DIV_0_TRP;
    clock_init();
    pins_init();
    link_init();
    counter_init();
    wdg_init();
    report();
    __asm volatile("cpsie i" ::: "memory");
}

void board_exit(int status)
{
    (void)status;
    /* A bench image never leaves bench_agent_run(). No semihosting here: on a board without
     * a debugger a BKPT would itself fault. Stop with the marker low. */
    __asm volatile("cpsid i" ::: "memory");
    GPIO_BSRR(CFG_MARK_PORT) = MARK_BIT << 16;
    for (;;) {
        board_wdg_refresh();
        __asm volatile("wfi");
    }
}
