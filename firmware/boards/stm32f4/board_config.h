/* Per-board constants of the stm32f4 port: crystal and PLL, the USART on the host link
 * with its pins and DMA stream, and the marker pins. Internal to the port (board.c); the
 * public interface is board.h. */
#ifndef STM32F4_BOARD_CONFIG_H
#define STM32F4_BOARD_CONFIG_H
#include "board.h"
#include "stm32f4_regs.h"

#define LINK_BAUD 115200u

#if defined(BOARD_NETDUINOPLUS2)
/* STM32F405RG; 25 MHz crystal (the NETMF and MicroPython board ports run its PLL from
 * HSE = 25 MHz with M = 25). 25 MHz / 25 * 336 = 336 MHz VCO; / 2 = 168 MHz; / 7 = 48 MHz. */
#define CFG_F42X 0
#define CFG_HSE_BYPASS 0
#define CFG_PLL_M 25u
#define CFG_PLL_N 336u
#define CFG_PLL_P 2u
#define CFG_PLL_Q 7u
/* USART1 (APB2) on PB6 TX / PB7 RX, AF7 (STM32F405 datasheet, alternate function table);
 * QEMU connects its first -serial to USART1 (0x40011000). PA9/PA10, the other USART1 pair,
 * are the USB VBUS sense and the blue LED on this board. RX DMA: DMA2 stream 2 channel 4
 * (RM0090 Table 43). */
#define CFG_USART_BASE USART1_BASE
#define CFG_USART_IRQ IRQ_USART1
#define CFG_USART_APB2 1
#define CFG_USART_EN_REG RCC_APB2ENR
#define CFG_USART_EN_BIT RCC_APB2ENR_USART1EN
#define CFG_TX_PORT PORT_B
#define CFG_TX_PIN 6u
#define CFG_RX_PORT PORT_B
#define CFG_RX_PIN 7u
#define CFG_DMA_BASE DMA2_BASE
#define CFG_DMA_EN RCC_AHB1ENR_DMA2EN
#define CFG_DMA_STREAM 2u
#define CFG_DMA_CHANNEL 4u
/* frame marker: PA10 (blue user LED); stage pin: PC0; fault pin: PC13 (white LED) */
#define CFG_MARK_PORT PORT_A
#define CFG_MARK_PIN 10u
#define CFG_STAGE_PORT PORT_C
#define CFG_STAGE_PIN 0u
#define CFG_FAULT_PORT PORT_C
#define CFG_FAULT_PIN 13u

#elif defined(BOARD_STM32F4DISCO)
/* STM32F407VG; 8 MHz crystal X2. 8 MHz / 8 * 336 = 336 MHz VCO; / 2 = 168 MHz; / 7 = 48 MHz. */
#define CFG_F42X 0
#define CFG_HSE_BYPASS 0
#define CFG_PLL_M 8u
#define CFG_PLL_N 336u
#define CFG_PLL_P 2u
#define CFG_PLL_Q 7u
/* USART2 (APB1) on PA2 TX / PA3 RX, AF7: free pins on header P1, for a 3.3 V USB-serial
 * adapter (the original board's ST-LINK/V2 has no virtual COM port). RX DMA: DMA1 stream 5
 * channel 4 (RM0090 Table 42). */
#define CFG_USART_BASE USART2_BASE
#define CFG_USART_IRQ IRQ_USART2
#define CFG_USART_APB2 0
#define CFG_USART_EN_REG RCC_APB1ENR
#define CFG_USART_EN_BIT RCC_APB1ENR_USART2EN
#define CFG_TX_PORT PORT_A
#define CFG_TX_PIN 2u
#define CFG_RX_PORT PORT_A
#define CFG_RX_PIN 3u
#define CFG_DMA_BASE DMA1_BASE
#define CFG_DMA_EN RCC_AHB1ENR_DMA1EN
#define CFG_DMA_STREAM 5u
#define CFG_DMA_CHANNEL 4u
/* frame marker: PD12 (LD4 green); stage pin: PD13 (LD3 orange); fault pin: PD14 (LD5 red) */
#define CFG_MARK_PORT PORT_D
#define CFG_MARK_PIN 12u
#define CFG_STAGE_PORT PORT_D
#define CFG_STAGE_PIN 13u
#define CFG_FAULT_PORT PORT_D
#define CFG_FAULT_PIN 14u

#else /* BOARD_NUCLEO_F429ZI */
/* STM32F429ZI; HSE = the ST-LINK's 8 MHz MCO (bypass: an external clock, not a crystal).
 * 8 MHz / 8 * 360 = 360 MHz VCO; / 2 = 180 MHz (needs over-drive, RM0090 5.1.4);
 * Q = 8 gives 45 MHz (USB is not used, so 48 MHz is not needed). */
#define CFG_F42X 1
#define CFG_HSE_BYPASS 1
#define CFG_PLL_M 8u
#define CFG_PLL_N 360u
#define CFG_PLL_P 2u
#define CFG_PLL_Q 8u
/* USART3 (APB1) on PD8 TX / PD9 RX, AF7: the ST-LINK virtual COM port on NUCLEO-144
 * boards. RX DMA: DMA1 stream 1 channel 4 (RM0090 Table 42). */
#define CFG_USART_BASE USART3_BASE
#define CFG_USART_IRQ IRQ_USART3
#define CFG_USART_APB2 0
#define CFG_USART_EN_REG RCC_APB1ENR
#define CFG_USART_EN_BIT RCC_APB1ENR_USART3EN
#define CFG_TX_PORT PORT_D
#define CFG_TX_PIN 8u
#define CFG_RX_PORT PORT_D
#define CFG_RX_PIN 9u
#define CFG_DMA_BASE DMA1_BASE
#define CFG_DMA_EN RCC_AHB1ENR_DMA1EN
#define CFG_DMA_STREAM 1u
#define CFG_DMA_CHANNEL 4u
/* frame marker: PB0 (LD1 green); stage pin: PB7 (LD2 blue); fault pin: PB14 (LD3 red) */
#define CFG_MARK_PORT PORT_B
#define CFG_MARK_PIN 0u
#define CFG_STAGE_PORT PORT_B
#define CFG_STAGE_PIN 7u
#define CFG_FAULT_PORT PORT_B
#define CFG_FAULT_PIN 14u
#endif

/* Bounded waits (polls of a ready flag). At 16 MHz HSI one poll is about 6 cycles, so
 * 400000 polls are ~150 ms: more than HSE start-up (typ. 2 ms) or PLL lock (~100 us) need. */
#define WAIT_POLLS 400000u

/* Receive ring (power of two): holds a full window of the largest requests in flight
 * (4 x ~2 KiB encoded) so that circular DMA never laps the reader within one window. */
#define RX_RING 8192u

/* Handlers in the vector table (startup.c) */
void reset_handler(void);
void board_usart_irq(void);
void board_systick_handler(void);
void board_fault_entry(void);

/* The hooks armv7m_fault.c calls (it declares them itself; repeated here for board.c) */
extern volatile uint8_t board_rx_ring[RX_RING];
void board_link_putc(uint8_t c);
int board_link_getc_polled(void); /* -1 if nothing; works with interrupts masked */
void board_wdg_refresh(void);
void board_fault_pins(void);

#endif
