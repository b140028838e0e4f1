/* Fault report for ARMv7-M boards (the stm32f4 and nrf52840 ports): HardFault, MemManage,
 * BusFault, UsageFault (and any unexpected exception or interrupt) end here. The report names the exception and gives
 * CFSR, HFSR, MMFAR, BFAR (ARMv7-M ARM B3.2.15-B3.2.18) and the stacked PC, LR and xPSR.
 *
 * It goes out twice over the host link: once as console text between frame delimiters
 * (the host keeps it in console.log and quotes it in its errors), and then as the answer to
 * every request the host sends afterwards: an ERROR(INTERNAL) frame with the request's own
 * sequence number and the report as its text, so that the host's retransmission of the
 * request that was running turns into a DeviceError that carries the registers. The core
 * then stays in this loop (halted for the application) until it is reset. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What the board provides (board.c) and its linker script defines. */
void board_link_putc(uint8_t c);  /* blocking, works from a fault handler */
int board_link_getc_polled(void); /* one received byte or -1; works with interrupts masked */
void board_wdg_refresh(void);     /* refresh the watchdog if it runs */
void board_fault_pins(void);      /* frame marker low, fault indicator on */
extern uint32_t __ram_start, __ram_end;

/* ARMv7-M system control block (ARMv7-M ARM B3.2.2, B3.2.15-B3.2.18) */
#define FAULT_REG(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define SCB_CFSR FAULT_REG(0xE000ED28u)
#define SCB_HFSR FAULT_REG(0xE000ED2Cu)
#define SCB_MMFAR FAULT_REG(0xE000ED34u)
#define SCB_BFAR FAULT_REG(0xE000ED38u)

/* A stack of its own: the fault may be a stack overflow. */
uint64_t board_fault_stack[128] __attribute__((used));

void board_fault_entry(void);  /* the vector table's entry for every fault */
void board_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((used, noreturn));

/* Entry from the vector table: r0 = the stacked frame (MSP or PSP by EXC_RETURN bit 2),
 * r1 = EXC_RETURN, then a fresh stack. */
__attribute__((naked, noreturn)) void board_fault_entry(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "ldr r2, =board_fault_stack + 1024\n"
        "mov sp, r2\n"
        "b board_fault_report\n");
}

static char *put_s(char *p, const char *s)
{
    while (*s) {
        *p++ = *s++;
    }
    return p;
}

static char *put_hex(char *p, const char *name, uint32_t v)
{
    p = put_s(p, name);
    for (int sh = 28; sh >= 0; sh -= 4) {
        *p++ = "0123456789ABCDEF"[(v >> sh) & 0xFu];
    }
    return p;
}

static char *put_exc(char *p, uint32_t ipsr)
{
    static const char *const names[16] = {
        "thread", "Reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", "exc7",
        "exc8", "exc9", "exc10", "SVCall", "DebugMonitor", "exc13", "PendSV", "SysTick",
    };
    if (ipsr < 16u) {
        return put_s(p, names[ipsr]);
    }
    p = put_s(p, "IRQ");
    uint32_t irq = ipsr - 16u;
    char d[4];
    int n = 0;
    do {
        d[n++] = (char)('0' + irq % 10u);
        irq /= 10u;
    } while (irq && n < 4);
    while (n) {
        *p++ = d[--n];
    }
    return p;
}

static char text[160];
static size_t text_len;

/* ---- link output: CRC-32 (IEEE, reflected) and COBS, our own small copies so that the
 * report does not depend on the agent's state ---- */
static uint32_t crc_byte(uint32_t crc, uint8_t b)
{
    crc ^= b;
    for (int k = 0; k < 8; k++) {
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

static void send_error_frame(uint16_t seq)
{
    static uint8_t pkt[4 + 3 + 160 + 4];
    static uint8_t enc[sizeof pkt + 4];
    size_t n = 0;
    pkt[n++] = 0xEEu; /* ERROR */
    pkt[n++] = 0u;
    pkt[n++] = (uint8_t)seq;
    pkt[n++] = (uint8_t)(seq >> 8);
    pkt[n++] = 7u; /* BENCH_ERR_INTERNAL */
    pkt[n++] = 0u;
    pkt[n++] = (uint8_t)text_len;
    memcpy(pkt + n, text, text_len);
    n += text_len;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc = crc_byte(crc, pkt[i]);
    }
    crc ^= 0xFFFFFFFFu;
    for (int i = 0; i < 4; i++) {
        pkt[n++] = (uint8_t)(crc >> (8 * i));
    }
    /* COBS (docs/protocol.md) */
    size_t code_pos = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (pkt[i] == 0u) {
            enc[code_pos] = code;
            code_pos = o++;
            code = 1;
        } else {
            enc[o++] = pkt[i];
            if (++code == 0xFFu) {
                enc[code_pos] = code;
                code_pos = o++;
                code = 1;
            }
        }
    }
    enc[code_pos] = code;
    board_link_putc(0u);
    for (size_t i = 0; i < o; i++) {
        board_link_putc(enc[i]);
    }
    board_link_putc(0u);
}

static void send_console(void)
{
    /* delimiters around it: a frame cut short by the fault ends here, the text is console */
    board_link_putc(0u);
    const char *pre = "\r\n[board] ";
    while (*pre) {
        board_link_putc((uint8_t)*pre++);
    }
    for (size_t i = 0; i < text_len; i++) {
        board_link_putc((uint8_t)text[i]);
    }
    board_link_putc('\r');
    board_link_putc('\n');
    board_link_putc(0u);
}

/* ---- link input: a streaming COBS decoder that keeps the header and checks the CRC ---- */
static struct {
    uint32_t n;         /* decoded bytes so far */
    uint32_t crc;       /* over all but the last 4 decoded bytes */
    uint8_t hdr[4];     /* type, flags, seq */
    uint8_t last[4];    /* the last 4 decoded bytes (ring): the CRC at the end */
    uint8_t code_left;  /* data bytes left in this COBS block */
    uint8_t zero_next;  /* the block ends in an implicit zero if more follows */
    uint8_t bad;
} rx;

static void rx_reset(void)
{
    memset(&rx, 0, sizeof rx);
    rx.crc = 0xFFFFFFFFu;
}

static void rx_emit(uint8_t b)
{
    if (rx.n >= 4u) {
        rx.crc = crc_byte(rx.crc, rx.last[rx.n & 3u]);
    } else {
        rx.hdr[rx.n] = b;
    }
    rx.last[rx.n & 3u] = b;
    if (++rx.n > 4096u) {
        rx.bad = 1u;
    }
}

/* Returns 1 when a valid frame ended; its header is in rx_hdr. */
static uint8_t rx_hdr[4];

static int rx_feed(uint8_t c)
{
    if (c == 0u) {
        int ok = 0;
        if (!rx.bad && rx.code_left == 0u && rx.n >= 8u) {
            uint32_t got = 0;
            for (uint32_t i = 0; i < 4u; i++) {
                got |= (uint32_t)rx.last[(rx.n - 4u + i) & 3u] << (8u * i);
            }
            ok = (rx.crc ^ 0xFFFFFFFFu) == got;
            memcpy(rx_hdr, rx.hdr, 4);
        }
        rx_reset();
        return ok;
    }
    if (rx.code_left == 0u) {
        if (rx.zero_next) {
            rx_emit(0u);
        }
        rx.code_left = (uint8_t)(c - 1u);
        rx.zero_next = (uint8_t)(c != 0xFFu);
    } else {
        rx_emit(c);
        rx.code_left--;
    }
    return 0;
}

void board_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    uint32_t cfsr = SCB_CFSR, hfsr = SCB_HFSR, mmfar = SCB_MMFAR, bfar = SCB_BFAR;
    board_fault_pins();

    uintptr_t f = (uintptr_t)frame;
    int frame_ok = (f & 3u) == 0u && f >= (uintptr_t)&__ram_start && f + 32u <= (uintptr_t)&__ram_end;

    char *p = text;
    p = put_s(p, "FAULT ");
    p = put_exc(p, ipsr & 0x1FFu);
    p = put_hex(p, " CFSR=", cfsr);
    p = put_hex(p, " HFSR=", hfsr);
    p = put_hex(p, " MMFAR=", mmfar);
    p = put_hex(p, " BFAR=", bfar);
    if (frame_ok) {
        p = put_hex(p, " PC=", frame[6]);
        p = put_hex(p, " LR=", frame[5]);
        p = put_hex(p, " xPSR=", frame[7]);
    } else {
        p = put_hex(p, " SP=", (uint32_t)f);
        p = put_s(p, " (stacked frame not in RAM)");
    }
    p = put_hex(p, " EXC_RETURN=", exc_return);
    text_len = (size_t)(p - text);

    send_console();
    rx_reset();
    for (;;) {
        board_wdg_refresh(); /* keep the report readable; a probe reset ends the halt */
        int c = board_link_getc_polled();
        if (c >= 0 && rx_feed((uint8_t)c)) {
            send_console();
            send_error_frame((uint16_t)(rx_hdr[2] | (rx_hdr[3] << 8)));
        }
    }
}
