/* Cortex-M4 instruction timing: Thumb/Thumb-2 decoding into cost classes, and the static
 * cost of each instruction in its translation block. Pure C99, no QEMU dependency (the
 * plugin glue is cm4cycles.c). The cost table and its sources are in docs/cycles.md. */
#ifndef CM4_TIMING_H
#define CM4_TIMING_H

#include <stddef.h>
#include <stdint.h>

/* Where a branch's pipeline refill P comes from (TRM Table 3-1: P is 1 to 3). */
enum cm4_refill {
    CM4_REFILL_NONE = 0,
    CM4_REFILL_IMM,  /* target in the encoding: B, B<c>, BL, CBZ, CBNZ */
    CM4_REFILL_REG,  /* target in a register: BX, BLX Rm, MOV/ADD PC; and ISB */
    CM4_REFILL_LOAD, /* target loaded from memory: LDR PC, LDM/POP with PC, TBB, TBH */
};

#define CM4_F_MEM 0x001u    /* accesses data memory (QEMU may leave the block early here) */
#define CM4_F_LS1 0x002u    /* single load/store: can pipeline after a load (TRM 3.3.2) */
#define CM4_F_LOAD 0x004u   /* single load (or LDREX/STREX): the next LS1 can pipeline */
#define CM4_F_WORDLD 0x008u /* single 32-bit load to a core register: can read the timer */
#define CM4_F_BRANCH 0x010u /* writes the PC */
#define CM4_F_COND 0x020u   /* conditional by its own encoding: B<c>, CBZ, CBNZ */
#define CM4_F_IT 0x040u     /* IT: it_len instructions follow under its condition */
#define CM4_F_DIV 0x080u    /* SDIV/UDIV: cost is cm4_config.div */

typedef struct {
    uint8_t cycles;     /* issue cycles on its own: before pair effects, refill and wait states */
    uint8_t refill;     /* enum cm4_refill */
    uint8_t it_len;     /* CM4_F_IT: instructions in the block (1..4) */
    int8_t rt;          /* CM4_F_LOAD: register written by the load, else -1 */
    uint16_t flags;     /* CM4_F_* */
    uint16_t addr_regs; /* CM4_F_MEM: registers that form the address (bit n = Rn) */
    uint16_t dst_regs;  /* data processing: core registers it writes */
} cm4_insn;

/* Model parameters (plugin arguments). */
typedef struct {
    unsigned p_imm;      /* P for CM4_REFILL_IMM (default 1) */
    unsigned p_reg;      /* P for CM4_REFILL_REG (default 2) */
    unsigned p_load;     /* P for CM4_REFILL_LOAD (default 3) */
    unsigned div;        /* SDIV/UDIV cycles (TRM: 2 to 12; default 12) */
    unsigned ws;         /* flash wait states added to every refill of code in flash */
    uint64_t flash_base; /* code in [flash_base, flash_end) is in flash */
    uint64_t flash_end;
} cm4_config;

void cm4_config_defaults(cm4_config *cfg);

/* 1 when the halfword starts a 32-bit Thumb instruction. */
int cm4_is_wide(uint16_t hw1);

/* Decodes the 2 or 4 bytes (memory order) of one Thumb instruction. */
void cm4_decode(const uint8_t *bytes, size_t size, cm4_insn *out);

/* How `next`'s cost changes when it directly follows `prev` (`prev_size` bytes) in execution
 * (TRM 3.3.1 notes, 3.3.2): -1 when a single load/store pipelines after a load whose result
 * it does not use as an address, or when an IT folds onto a 16-bit instruction; +1 when a
 * load/store takes its address from the result of the data-processing instruction just
 * before it (no forwarding path); 0 after a branch (the pipeline refills). */
int cm4_pair_adjust(const cm4_insn *prev, size_t prev_size, const cm4_insn *next);

/* Static costing of the instructions of one translation block, in order. Each
 * instruction's own cost assumes nothing before it; the pair adjustment with its
 * predecessor in the block is applied (for the first one, the plugin does it at run time). */
typedef struct {
    const cm4_config *cfg;
    cm4_insn prev;     /* previous instruction in this block */
    size_t prev_size;  /* its size in bytes; 0 at the start of the block */
    unsigned it_left;  /* instructions left in the current IT block */
    int last_cond;     /* the last costed insn is a conditional branch */
    unsigned last_pen; /* the last costed insn's refill penalty (P + wait states), if a branch */
} cm4_block;

void cm4_block_begin(cm4_block *b, const cm4_config *cfg);

/* Cycles of `d` (decoded from `size` bytes at `addr`), charging a branch as taken; for a
 * branch, b->last_pen is what not taken gives back, and b->last_cond says whether it is
 * conditional (B<c>, CBZ, CBNZ, or in an IT block that started in this block). */
unsigned cm4_block_cost(cm4_block *b, const cm4_insn *d, uint64_t addr, size_t size);

#endif
