/* nRF52840 register map: only what this port uses. Written from the nRF52840 Product
 * Specification (v1.8; the chapter of each peripheral is named beside its block, with its
 * register table) and the ARMv7-M Architecture Reference Manual (DDI 0403E). Addresses and
 * bit positions are facts from those documents; no Nordic MDK / nrfx / CMSIS header is used. */
#ifndef NRF52840_REGS_H
#define NRF52840_REGS_H
#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- CLOCK (PS "CLOCK - Clock control", registers) ---- */
#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART REG32(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG32(CLOCK_BASE + 0x100u)
#define CLOCK_HFCLKSTAT REG32(CLOCK_BASE + 0x40Cu)
#define CLOCK_HFCLKSTAT_SRC_XTAL (1u << 0)
#define CLOCK_HFCLKSTAT_STATE_RUNNING (1u << 16)

/* ---- POWER (PS "POWER - Power supply", registers) ---- */
#define POWER_RESETREAS REG32(CLOCK_BASE + 0x400u)
#define POWER_DCDCEN REG32(CLOCK_BASE + 0x578u) /* REG1 DC/DC converter */
#define RESETREAS_RESETPIN (1u << 0)
#define RESETREAS_DOG (1u << 1)
#define RESETREAS_SREQ (1u << 2)
#define RESETREAS_LOCKUP (1u << 3)
#define RESETREAS_OFF (1u << 16)
#define RESETREAS_DIF (1u << 18)
#define RESETREAS_VBUS (1u << 20)

/* ---- NVMC (PS "NVMC - Non-volatile memory controller"): instruction cache ---- */
#define NVMC_ICACHECNF REG32(0x4001E540u)
#define NVMC_ICACHECNF_CACHEEN (1u << 0)

/* ---- UARTE0 (PS "UARTE - Universal asynchronous receiver/transmitter with EasyDMA") ---- */
#define UARTE0_BASE 0x40002000u
#define UARTE_TASKS_STARTRX REG32(UARTE0_BASE + 0x000u)
#define UARTE_TASKS_STARTTX REG32(UARTE0_BASE + 0x008u)
#define UARTE_EVENTS_RXDRDY REG32(UARTE0_BASE + 0x108u)
#define UARTE_EVENTS_RXDRDY_ADDR (UARTE0_BASE + 0x108u)
#define UARTE_EVENTS_ENDRX REG32(UARTE0_BASE + 0x110u)
#define UARTE_EVENTS_ENDTX REG32(UARTE0_BASE + 0x120u)
#define UARTE_EVENTS_ERROR REG32(UARTE0_BASE + 0x124u)
#define UARTE_EVENTS_RXSTARTED REG32(UARTE0_BASE + 0x14Cu)
#define UARTE_SHORTS REG32(UARTE0_BASE + 0x200u)
#define UARTE_INTENSET REG32(UARTE0_BASE + 0x304u)
#define UARTE_INTENCLR REG32(UARTE0_BASE + 0x308u)
#define UARTE_ERRORSRC REG32(UARTE0_BASE + 0x480u)
#define UARTE_ENABLE REG32(UARTE0_BASE + 0x500u)
#define UARTE_PSEL_RTS REG32(UARTE0_BASE + 0x508u)
#define UARTE_PSEL_TXD REG32(UARTE0_BASE + 0x50Cu)
#define UARTE_PSEL_CTS REG32(UARTE0_BASE + 0x510u)
#define UARTE_PSEL_RXD REG32(UARTE0_BASE + 0x514u)
#define UARTE_BAUDRATE REG32(UARTE0_BASE + 0x524u)
#define UARTE_RXD_PTR REG32(UARTE0_BASE + 0x534u)
#define UARTE_RXD_MAXCNT REG32(UARTE0_BASE + 0x538u)
#define UARTE_TXD_PTR REG32(UARTE0_BASE + 0x544u)
#define UARTE_TXD_MAXCNT REG32(UARTE0_BASE + 0x548u)
#define UARTE_CONFIG REG32(UARTE0_BASE + 0x56Cu)
#define UARTE_SHORTS_ENDRX_STARTRX (1u << 5)
#define UARTE_INT_RXDRDY (1u << 2)
#define UARTE_INT_RXSTARTED (1u << 19)
#define UARTE_ENABLE_ENABLED 8u
#define UARTE_BAUD_115200 0x01D60000u /* actual rate 115108 baud */
#define UARTE_PSEL_DISCONNECTED 0xFFFFFFFFu
#define IRQ_UARTE0 2u

/* ---- TIMER1 as a counter of received bytes (PS "TIMER - Timer/counter") ---- */
#define TIMER1_BASE 0x40009000u
#define TIMER1_TASKS_START REG32(TIMER1_BASE + 0x000u)
#define TIMER1_TASKS_COUNT_ADDR (TIMER1_BASE + 0x008u)
#define TIMER1_TASKS_CLEAR REG32(TIMER1_BASE + 0x00Cu)
#define TIMER1_TASKS_CAPTURE0 REG32(TIMER1_BASE + 0x040u)
#define TIMER1_MODE REG32(TIMER1_BASE + 0x504u)
#define TIMER1_BITMODE REG32(TIMER1_BASE + 0x508u)
#define TIMER1_CC0 REG32(TIMER1_BASE + 0x540u)
#define TIMER_MODE_LOWPOWERCOUNTER 2u
#define TIMER_BITMODE_32 3u

/* TIMER2 as the fallback counter if the DWT does not count: 16 MHz timer mode */
#define TIMER2_BASE 0x4000A000u
#define TIMER2_TASKS_START REG32(TIMER2_BASE + 0x000u)
#define TIMER2_TASKS_CAPTURE0 REG32(TIMER2_BASE + 0x040u)
#define TIMER2_MODE REG32(TIMER2_BASE + 0x504u)
#define TIMER2_BITMODE REG32(TIMER2_BASE + 0x508u)
#define TIMER2_PRESCALER REG32(TIMER2_BASE + 0x510u)
#define TIMER2_CC0 REG32(TIMER2_BASE + 0x540u)
#define TIMER_MODE_TIMER 0u

/* ---- PPI (PS "PPI - Programmable peripheral interconnect") ---- */
#define PPI_BASE 0x4001F000u
#define PPI_CHENSET REG32(PPI_BASE + 0x504u)
#define PPI_CH_EEP(n) REG32(PPI_BASE + 0x510u + 8u * (uint32_t)(n))
#define PPI_CH_TEP(n) REG32(PPI_BASE + 0x514u + 8u * (uint32_t)(n))

/* ---- GPIO P0 / P1 (PS "GPIO - General purpose input/output") ---- */
#define GPIO_P0 0x50000000u
#define GPIO_P1 0x50000300u
#define GPIO_OUTSET(p) REG32((p) + 0x508u)
#define GPIO_OUTCLR(p) REG32((p) + 0x50Cu)
#define GPIO_DIRSET(p) REG32((p) + 0x518u)
#define GPIO_PIN_CNF(p, n) REG32((p) + 0x700u + 4u * (uint32_t)(n))
#define GPIO_PIN_CNF_OUTPUT 0x3u          /* DIR = output, INPUT = disconnected */
#define GPIO_PIN_CNF_INPUT_PULLUP (0x3u << 2) /* DIR = input, INPUT connected, PULL = up */

/* ---- WDT (PS "WDT - Watchdog timer") ---- */
#define WDT_BASE 0x40010000u
#define WDT_TASKS_START REG32(WDT_BASE + 0x000u)
#define WDT_RUNSTATUS REG32(WDT_BASE + 0x400u)
#define WDT_CRV REG32(WDT_BASE + 0x504u)
#define WDT_RREN REG32(WDT_BASE + 0x508u)
#define WDT_CONFIG REG32(WDT_BASE + 0x50Cu)
#define WDT_RR0 REG32(WDT_BASE + 0x600u)
#define WDT_CONFIG_SLEEP_RUN (1u << 0) /* keeps counting while the CPU sleeps (WFI) */
#define WDT_RELOAD_KEY 0x6E524635u

/* ---- Cortex-M4 system control space (ARMv7-M ARM B3.2, B3.3, C1.6, C1.8) ---- */
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)
#define SCB_CCR_DIV_0_TRP (1u << 4)
#define CORE_DEMCR REG32(0xE000EDFCu)
#define CORE_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (uint32_t)(n))
#define NVIC_IPR8(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (uint32_t)(irq)))

#endif
