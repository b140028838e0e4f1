/* STM32F405/407/429 register map: only what this port uses. Written from the reference
 * manual (RM0090 rev 19, "STM32F405/415, STM32F407/417, STM32F427/437 and STM32F429/439")
 * and the ARMv7-M Architecture Reference Manual (DDI 0403E); addresses and bit positions
 * are facts from those documents, the section is named beside each block. No vendor or
 * CMSIS header is used. */
#ifndef STM32F4_REGS_H
#define STM32F4_REGS_H
#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- memory map (RM0090 2.3, Table 1) ---- */
#define FLASH_BASE 0x08000000u
#define PERIPH_APB1 0x40000000u
#define PERIPH_APB2 0x40010000u
#define PERIPH_AHB1 0x40020000u

/* ---- RCC (RM0090 7.3 for F405/F407, 6.3 for F42x/F43x; same offsets for what is used) ---- */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_CSR REG32(RCC_BASE + 0x74u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

/* PLLCFGR: PLLM[5:0], PLLN[14:6], PLLP[17:16] (0 = /2, 1 = /4, ...), PLLSRC bit 22
 * (1 = HSE), PLLQ[27:24]. f_VCO = f_in * N / M (1-2 MHz at the input, 100-432 MHz out). */
#define RCC_PLLCFGR_M(m) ((uint32_t)(m) << 0)
#define RCC_PLLCFGR_N(n) ((uint32_t)(n) << 6)
#define RCC_PLLCFGR_P(p) ((uint32_t)((p) / 2u - 1u) << 16)
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_PLLCFGR_Q(q) ((uint32_t)(q) << 24)

/* CFGR: SW[1:0], SWS[3:2] (0 HSI, 1 HSE, 2 PLL), HPRE[7:4], PPRE1[12:10], PPRE2[15:13] */
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_HPRE_DIV1 (0x0u << 4)
#define RCC_CFGR_PPRE1_DIV4 (0x5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (0x4u << 13)
#define RCC_CFGR_PRE_MASK ((0xFu << 4) | (0x7u << 10) | (0x7u << 13))

/* AHB1ENR / APB1ENR / APB2ENR clock enables */
#define RCC_AHB1ENR_GPIOEN(port) (1u << (port)) /* port 0 = A, 1 = B, ... */
#define RCC_AHB1ENR_DMA1EN (1u << 21)
#define RCC_AHB1ENR_DMA2EN (1u << 22)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_USART2EN (1u << 17)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_APB2ENR_USART1EN (1u << 4)

/* RCC_CSR reset flags (RM0090 7.3.21 / 6.3.21): cleared by writing RMVF */
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_BORRSTF (1u << 25)
#define RCC_CSR_PINRSTF (1u << 26)
#define RCC_CSR_PORRSTF (1u << 27)
#define RCC_CSR_SFTRSTF (1u << 28)
#define RCC_CSR_IWDGRSTF (1u << 29)
#define RCC_CSR_WWDGRSTF (1u << 30)
#define RCC_CSR_LPWRRSTF (1u << 31)

/* ---- PWR (RM0090 5.4): voltage scaling, and over-drive on F42x/F43x ---- */
#define PWR_BASE 0x40007000u
#define PWR_CR REG32(PWR_BASE + 0x00u)
#define PWR_CSR REG32(PWR_BASE + 0x04u)
#define PWR_CR_VOS_F40X (1u << 14)     /* F405/F407: 1 = scale 1 (reset value) */
#define PWR_CR_VOS_F42X (3u << 14)     /* F42x: VOS[15:14] = 11, scale 1 */
#define PWR_CR_ODEN (1u << 16)         /* F42x only */
#define PWR_CR_ODSWEN (1u << 17)       /* F42x only */
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

/* ---- embedded flash interface (RM0090 3.9.1 FLASH_ACR; wait states 3.5.1, Table 10/11) ---- */
#define FLASH_IF_BASE 0x40023C00u
#define FLASH_ACR REG32(FLASH_IF_BASE + 0x00u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

/* ---- GPIO (RM0090 8.4) ---- */
#define GPIO_BASE(port) (PERIPH_AHB1 + 0x400u * (uint32_t)(port))
#define GPIO_MODER(port) REG32(GPIO_BASE(port) + 0x00u)
#define GPIO_OTYPER(port) REG32(GPIO_BASE(port) + 0x04u)
#define GPIO_OSPEEDR(port) REG32(GPIO_BASE(port) + 0x08u)
#define GPIO_PUPDR(port) REG32(GPIO_BASE(port) + 0x0Cu)
#define GPIO_ODR(port) REG32(GPIO_BASE(port) + 0x14u)
#define GPIO_BSRR(port) REG32(GPIO_BASE(port) + 0x18u)
#define GPIO_AFR(port, pin) REG32(GPIO_BASE(port) + 0x20u + 4u * ((uint32_t)(pin) >> 3))
#define GPIO_MODE_OUTPUT 1u
#define GPIO_MODE_AF 2u
#define PORT_A 0u
#define PORT_B 1u
#define PORT_C 2u
#define PORT_D 3u

/* ---- USART (RM0090 30.6) ---- */
#define USART1_BASE 0x40011000u
#define USART2_BASE 0x40004400u
#define USART3_BASE 0x40004800u
#define USART_SR(b) REG32((b) + 0x00u)
#define USART_DR(b) REG32((b) + 0x04u)
#define USART_BRR(b) REG32((b) + 0x08u)
#define USART_CR1(b) REG32((b) + 0x0Cu)
#define USART_CR2(b) REG32((b) + 0x10u)
#define USART_CR3(b) REG32((b) + 0x14u)
#define USART_SR_ORE (1u << 3)
#define USART_SR_IDLE (1u << 4)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_IDLEIE (1u << 4)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)
#define USART_CR3_DMAR (1u << 6)
/* interrupt numbers (RM0090 12.2, vector tables 61 (F40x) and 62 (F42x)) */
#define IRQ_USART1 37u
#define IRQ_USART2 38u
#define IRQ_USART3 39u

/* ---- DMA (RM0090 10.5); request mapping Table 42 (DMA1) / Table 43 (DMA2) ---- */
#define DMA1_BASE 0x40026000u
#define DMA2_BASE 0x40026400u
#define DMA_LIFCR(b) REG32((b) + 0x08u)
#define DMA_HIFCR(b) REG32((b) + 0x0Cu)
#define DMA_SCR(b, s) REG32((b) + 0x10u + 0x18u * (uint32_t)(s))
#define DMA_SNDTR(b, s) REG32((b) + 0x14u + 0x18u * (uint32_t)(s))
#define DMA_SPAR(b, s) REG32((b) + 0x18u + 0x18u * (uint32_t)(s))
#define DMA_SM0AR(b, s) REG32((b) + 0x1Cu + 0x18u * (uint32_t)(s))
#define DMA_SFCR(b, s) REG32((b) + 0x24u + 0x18u * (uint32_t)(s))
#define DMA_SCR_EN (1u << 0)
#define DMA_SCR_CIRC (1u << 8)
#define DMA_SCR_MINC (1u << 10)
#define DMA_SCR_PL_HIGH (2u << 16)
#define DMA_SCR_CHSEL(c) ((uint32_t)(c) << 25)

/* ---- TIM2, 32-bit general-purpose timer (RM0090 18.4) ---- */
#define TIM2_BASE 0x40000000u
#define TIM2_CR1 REG32(TIM2_BASE + 0x00u)
#define TIM2_EGR REG32(TIM2_BASE + 0x14u)
#define TIM2_CNT_ADDR (TIM2_BASE + 0x24u)
#define TIM2_PSC REG32(TIM2_BASE + 0x28u)
#define TIM2_ARR REG32(TIM2_BASE + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* ---- IWDG (RM0090 21.4) ---- */
#define IWDG_BASE 0x40003000u
#define IWDG_KR REG32(IWDG_BASE + 0x00u)
#define IWDG_PR REG32(IWDG_BASE + 0x04u)
#define IWDG_RLR REG32(IWDG_BASE + 0x08u)
#define IWDG_SR REG32(IWDG_BASE + 0x0Cu)
#define IWDG_KEY_START 0xCCCCu
#define IWDG_KEY_UNLOCK 0x5555u
#define IWDG_KEY_RELOAD 0xAAAAu

/* ---- Cortex-M4 system control space (ARMv7-M ARM B3.2, B3.3, C1.6 and C1.8) ---- */
#define SCB_CPUID REG32(0xE000ED00u)
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_AIRCR_SYSRESETREQ (0x05FAu << 16 | 1u << 2) /* VECTKEY and SYSRESETREQ */
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHPR_BYTE(exc) (*(volatile uint8_t *)(uintptr_t)(0xE000ED14u + (uint32_t)(exc))) /* exc 4..15 */
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)
#define SCB_CCR_DIV_0_TRP (1u << 4)
#define CORE_DEMCR REG32(0xE000EDFCu)
#define CORE_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT_ADDR 0xE0001004u
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1) /* CLKSOURCE (bit 2) = 0: the STM32's HCLK/8 reference */
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (uint32_t)(n))
#define NVIC_IPR8(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (uint32_t)(irq)))

#endif
