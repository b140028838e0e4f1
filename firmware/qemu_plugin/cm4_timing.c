/* Cortex-M4 instruction timing (see cm4_timing.h; the table with its TRM references is in
 * docs/cycles.md). Encodings follow the ARMv7-M Architecture Reference Manual, chapter A5
 * "The Thumb Instruction Set Encoding" and A6/A7 for the floating-point extension;
 * cycle counts follow the Cortex-M4 TRM (ARM DDI 0439), Table 3-1 (processor
 * instructions), the DSP instruction table, section 3.3.2 (load/store timings) and the
 * FPU instruction table in the FPU chapter. */
#include "cm4_timing.h"

#include <string.h>

void cm4_config_defaults(cm4_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->p_imm = 1u;
    cfg->p_reg = 2u;
    cfg->p_load = 3u;
    cfg->div = 12u;
    cfg->ws = 0u;
    cfg->flash_base = 0u;
    cfg->flash_end = 0x100000000ull;
}

int cm4_is_wide(uint16_t hw1) { return (hw1 >> 11) >= 0x1Du; }

static unsigned popcount16(unsigned v)
{
    unsigned n = 0;
    for (v &= 0xFFFFu; v != 0u; v &= v - 1u) {
        n++;
    }
    return n;
}

static uint8_t u8(unsigned v) { return (uint8_t)(v > 255u ? 255u : v); }

static uint16_t reg_bit(unsigned r) { return (uint16_t)(1u << (r & 15u)); }

static void set_alu(cm4_insn *d, unsigned cycles)
{
    d->cycles = u8(cycles);
}

/* A single-cycle data-processing instruction writing core register `rd` (none for 15:
 * the compare and test forms encode Rd = 15, and the PC is handled as a branch). */
static void set_dp(cm4_insn *d, unsigned rd)
{
    d->cycles = 1u;
    if (rd != 15u) {
        d->dst_regs = reg_bit(rd);
    }
}

/* A single load/store (LDR/STR word, half, byte, LDREX/STREX family): 2 cycles, 1 when it
 * pipelines after a load. `rt` >= 0 marks a load (its destination), `word` a 32-bit load. */
static void set_single(cm4_insn *d, unsigned rn, int rm, int rt, int word)
{
    d->cycles = 2u;
    d->flags |= CM4_F_MEM | CM4_F_LS1;
    d->addr_regs = reg_bit(rn);
    if (rm >= 0) {
        d->addr_regs |= reg_bit((unsigned)rm);
    }
    if (rt >= 0) {
        d->flags |= CM4_F_LOAD;
        d->rt = (int8_t)rt;
        if (word) {
            d->flags |= CM4_F_WORDLD;
        }
    }
}

/* Other memory accesses (LDM/STM, LDRD/STRD, FP loads/stores, TBB/TBH): never pipelined. */
static void set_mem(cm4_insn *d, unsigned cycles, unsigned rn)
{
    d->cycles = u8(cycles);
    d->flags |= CM4_F_MEM;
    d->addr_regs = reg_bit(rn);
}

/* LDM/STM/PUSH/POP: 1 + N, N registers in the list; + P when the PC is loaded. */
static void set_multiple(cm4_insn *d, unsigned rn, unsigned nregs, int loads_pc)
{
    set_mem(d, 1u + nregs, rn);
    if (loads_pc) {
        d->flags |= CM4_F_BRANCH;
        d->refill = CM4_REFILL_LOAD;
    }
}

static void set_branch(cm4_insn *d, unsigned cycles, enum cm4_refill refill, int cond)
{
    d->cycles = u8(cycles);
    d->refill = (uint8_t)refill;
    d->flags |= CM4_F_BRANCH;
    if (cond) {
        d->flags |= CM4_F_COND;
    }
}

/* 16-bit shift (immediate), add, subtract, move and compare: 00xxxx. */
static void decode16_basic(uint16_t hw, cm4_insn *d)
{
    unsigned op = (hw >> 11) & 7u;
    if (op <= 3u) {
        set_dp(d, hw & 7u); /* LSL, LSR, ASR (immediate); ADD, SUB (register, imm3) */
    } else if (op == 5u) {
        set_alu(d, 1u); /* CMP (immediate) */
    } else {
        set_dp(d, (hw >> 8) & 7u); /* MOV, ADD, SUB (imm8) */
    }
}

static void decode16(uint16_t hw, cm4_insn *d)
{
    if ((hw & 0xC000u) == 0x0000u) {
        decode16_basic(hw, d);
    } else if ((hw & 0xFC00u) == 0x4000u) { /* data processing, incl. MULS */
        unsigned op = (hw >> 6) & 0xFu;
        if (op == 8u || op == 10u || op == 11u) {
            set_alu(d, 1u); /* TST, CMP, CMN */
        } else {
            set_dp(d, hw & 7u);
        }
    } else if ((hw & 0xFC00u) == 0x4400u) { /* special data processing, BX, BLX */
        unsigned opc = (hw >> 8) & 3u;
        unsigned rd = ((hw >> 4) & 8u) | (hw & 7u);
        if (opc == 3u || (opc != 1u && rd == 15u)) {
            set_branch(d, 1u, CM4_REFILL_REG, 0); /* BX, BLX; ADD PC, Rm / MOV PC, Rm */
        } else if (opc == 1u) {
            set_alu(d, 1u); /* CMP (high registers) */
        } else {
            set_dp(d, rd); /* ADD, MOV (high registers) */
        }
    } else if ((hw & 0xF800u) == 0x4800u) { /* LDR (literal) */
        set_single(d, 15u, -1, (hw >> 8) & 7u, 1);
    } else if ((hw & 0xF000u) == 0x5000u) { /* load/store, register offset */
        unsigned op = (hw >> 9) & 7u;
        set_single(d, (hw >> 3) & 7u, (hw >> 6) & 7u, op >= 3u ? (int)(hw & 7u) : -1, op == 4u);
    } else if ((hw & 0xE000u) == 0x6000u) { /* STR/LDR(B) immediate */
        int load = (hw >> 11) & 1u;
        int byte = (hw >> 12) & 1u;
        set_single(d, (hw >> 3) & 7u, -1, load ? (int)(hw & 7u) : -1, !byte);
    } else if ((hw & 0xF000u) == 0x8000u) { /* STRH/LDRH immediate */
        set_single(d, (hw >> 3) & 7u, -1, ((hw >> 11) & 1u) ? (int)(hw & 7u) : -1, 0);
    } else if ((hw & 0xF000u) == 0x9000u) { /* STR/LDR SP-relative */
        set_single(d, 13u, -1, ((hw >> 11) & 1u) ? (int)((hw >> 8) & 7u) : -1, 1);
    } else if ((hw & 0xF000u) == 0xA000u) {
        set_dp(d, (hw >> 8) & 7u); /* ADR, ADD Rd, SP, #imm */
    } else if ((hw & 0xF000u) == 0xB000u) { /* miscellaneous */
        if ((hw & 0xFF00u) == 0xB000u) {
            set_dp(d, 13u); /* ADD/SUB SP, SP, #imm */
        } else if ((hw & 0xF500u) == 0xB100u) {
            set_branch(d, 1u, CM4_REFILL_IMM, 1); /* CBZ, CBNZ */
        } else if ((hw & 0xFE00u) == 0xB400u) {
            set_multiple(d, 13u, popcount16(hw & 0xFFu) + ((hw >> 8) & 1u), 0); /* PUSH */
        } else if ((hw & 0xFE00u) == 0xBC00u) {
            set_multiple(d, 13u, popcount16(hw & 0xFFu) + ((hw >> 8) & 1u), (hw >> 8) & 1u); /* POP */
        } else if ((hw & 0xFF00u) == 0xB200u || (hw & 0xFF00u) == 0xBA00u) {
            set_dp(d, hw & 7u); /* SXTH, SXTB, UXTH, UXTB; REV, REV16, REVSH */
        } else if ((hw & 0xFF00u) == 0xBF00u && (hw & 0xFu) != 0u) { /* IT */
            unsigned mask = hw & 0xFu;
            unsigned len = (mask & 1u) ? 4u : (mask & 2u) ? 3u : (mask & 4u) ? 2u : 1u;
            set_alu(d, 1u);
            d->flags |= CM4_F_IT;
            d->it_len = (uint8_t)len;
        } else {
            set_alu(d, 1u); /* CPS, BKPT, hints */
        }
    } else if ((hw & 0xF000u) == 0xC000u) { /* STM/LDM */
        set_multiple(d, (hw >> 8) & 7u, popcount16(hw & 0xFFu), 0);
    } else if ((hw & 0xF000u) == 0xD000u) {
        unsigned cond = (hw >> 8) & 0xFu;
        if (cond >= 0xEu) {
            set_alu(d, 1u); /* UDF, SVC (exception entry is not modelled) */
        } else {
            set_branch(d, 1u, CM4_REFILL_IMM, 1); /* B<c> */
        }
    } else if ((hw & 0xF800u) == 0xE000u) {
        set_branch(d, 1u, CM4_REFILL_IMM, 0); /* B */
    } else {
        set_alu(d, 1u);
    }
}

/* Floating-point (coprocessor 10/11) instructions; other coprocessors are UNDEFINED on M4. */
static void decode_fp(uint16_t hw1, uint16_t hw2, cm4_insn *d)
{
    unsigned op1 = (hw1 >> 4) & 0x3Fu;
    unsigned rn = hw1 & 0xFu;
    if (((hw2 >> 9) & 7u) != 5u) {
        set_alu(d, 1u);
    } else if ((op1 & 0x3Eu) == 0x04u) { /* VMOV between two core registers and two singles / a double */
        set_alu(d, 2u);
        if (op1 & 1u) {
            d->dst_regs = (uint16_t)(reg_bit(hw2 >> 12) | reg_bit(hw1 & 0xFu));
        }
    } else if ((op1 & 0x20u) == 0u) { /* extension register load/store */
        unsigned p = (hw1 >> 8) & 1u;
        unsigned w = (hw1 >> 5) & 1u;
        unsigned dbl = (hw2 >> 8) & 1u;
        if (p == 1u && w == 0u) {
            set_mem(d, dbl ? 3u : 2u, rn); /* VLDR/VSTR: .32 2, .64 3 (1 + N words) */
        } else {
            set_mem(d, 1u + (hw2 & 0xFFu), rn); /* VLDM/VSTM/VPUSH/VPOP: 1 + N words */
        }
    } else if ((op1 & 0x30u) == 0x20u) {
        if ((hw2 >> 4) & 1u) { /* VMOV core <-> single / scalar, VMRS, VMSR */
            set_alu(d, 1u);
            if ((hw1 >> 4) & 1u) { /* to a core register */
                unsigned rt = hw2 >> 12;
                if (rt != 15u) { /* VMRS APSR_nzcv writes the flags only */
                    d->dst_regs = reg_bit(rt);
                }
            }
        } else {
            unsigned opc1 = (hw1 >> 4) & 0xBu; /* bit 6 is the D register bit */
            unsigned opc2 = hw1 & 0xFu;
            unsigned opc3 = (hw2 >> 6) & 3u;
            switch (opc1) {
            case 0x0u: /* VMLA, VMLS */
            case 0x1u: /* VNMLA, VNMLS */
            case 0x9u: /* VFNMA, VFNMS */
            case 0xAu: /* VFMA, VFMS */
                set_alu(d, 3u);
                break;
            case 0x8u:
                set_alu(d, 14u); /* VDIV */
                break;
            case 0xBu:
                set_alu(d, (opc3 == 3u && opc2 == 1u) ? 14u : 1u); /* VSQRT; VMOV, VABS, VNEG, VCMP, VCVT */
                break;
            default:
                set_alu(d, 1u); /* VMUL, VNMUL, VADD, VSUB */
                break;
            }
        }
    } else {
        set_alu(d, 1u);
    }
}

/* 32-bit load/store multiple, dual, exclusive, table branch (op1 = 01, op2 = 00xxxxx). */
static void decode32_ldst_multi(uint16_t hw1, uint16_t hw2, cm4_insn *d)
{
    unsigned op2 = (hw1 >> 4) & 0x7Fu;
    unsigned rn = hw1 & 0xFu;
    if ((op2 & 0x64u) == 0x00u) { /* LDM/STM (incl. PUSH/POP .W) */
        int load = (hw1 >> 4) & 1u;
        set_multiple(d, rn, popcount16(hw2 & 0xDFFFu), load && (hw2 & 0x8000u));
        return;
    }
    unsigned o1 = (hw1 >> 7) & 3u;
    unsigned o2 = (hw1 >> 4) & 3u;
    unsigned o3 = (hw2 >> 4) & 0xFu;
    if ((o1 & 2u) || (o2 & 2u)) {
        set_mem(d, 3u, rn); /* LDRD/STRD: 1 + N, not pipelined with neighbours */
    } else if (o1 == 0u) {
        if (o2 == 0u) {
            set_single(d, rn, -1, (hw2 >> 8) & 0xFu, 0); /* STREX: pipelines like LDR */
        } else {
            set_single(d, rn, -1, hw2 >> 12, 1); /* LDREX */
        }
    } else if (o2 == 1u && o3 <= 1u) {
        set_mem(d, 2u, rn); /* TBB, TBH: 2 + P */
        d->addr_regs |= reg_bit(hw2 & 0xFu);
        d->flags |= CM4_F_BRANCH;
        d->refill = CM4_REFILL_LOAD;
    } else if (o2 == 1u) {
        set_single(d, rn, -1, hw2 >> 12, 0); /* LDREXB/H */
    } else {
        set_single(d, rn, -1, hw2 & 0xFu, 0); /* STREXB/H */
    }
}

/* 32-bit branches and miscellaneous control (op1 = 10, hw2 bit 15 set). */
static void decode32_branch(uint16_t hw1, uint16_t hw2, cm4_insn *d)
{
    unsigned bop = (hw2 >> 12) & 5u;
    if (bop == 0u && ((hw1 >> 7) & 7u) != 7u) {
        set_branch(d, 1u, CM4_REFILL_IMM, 1); /* B<c>.W */
    } else if (bop == 0u) {
        unsigned misc = (hw1 >> 4) & 0x7Fu;
        if (misc == 0x3Bu && ((hw2 >> 4) & 0xFu) == 6u) {
            d->cycles = 1u; /* ISB: 1 + B, B = a pipeline refill */
            d->refill = CM4_REFILL_REG;
        } else if ((misc & 0x7Eu) == 0x3Eu) {
            set_dp(d, (hw2 >> 8) & 0xFu); /* MRS */
        } else {
            set_alu(d, 1u); /* MSR, hints, CLREX, DSB, DMB (B = 0), UDF */
        }
    } else if (bop == 1u || bop == 5u) {
        set_branch(d, 1u, CM4_REFILL_IMM, 0); /* B.W, BL */
    } else {
        set_alu(d, 1u); /* BLX (immediate): UNDEFINED on M-profile */
    }
}

/* 32-bit single loads and stores (op1 = 11, op2 = 00xxxxx). */
static void decode32_ldst_single(uint16_t hw1, uint16_t hw2, cm4_insn *d)
{
    unsigned op2 = (hw1 >> 4) & 0x7Fu;
    unsigned rn = hw1 & 0xFu;
    unsigned rt = hw2 >> 12;
    if ((op2 & 0x71u) == 0x00u) { /* store single */
        int regoff = !(hw1 & 0x80u) && !(hw2 & 0x800u);
        set_single(d, rn, regoff ? (int)(hw2 & 0xFu) : -1, -1, 0);
    } else if ((op2 & 0x67u) == 0x01u || (op2 & 0x67u) == 0x03u || (op2 & 0x67u) == 0x05u) {
        int word = (op2 & 0x67u) == 0x05u;
        int regoff = rn != 15u && !(hw1 & 0x80u) && (hw2 & 0xFC0u) == 0u;
        if (rt == 15u && word) {
            set_mem(d, 2u, rn); /* LDR PC: 2 + P */
            d->flags |= CM4_F_BRANCH;
            d->refill = CM4_REFILL_LOAD;
        } else if (rt == 15u) {
            set_alu(d, 1u); /* PLD, PLI */
        } else {
            set_single(d, rn, regoff ? (int)(hw2 & 0xFu) : -1, (int)rt, word);
        }
    } else {
        set_alu(d, 1u); /* UNDEFINED */
    }
}

static void decode32(uint16_t hw1, uint16_t hw2, cm4_insn *d)
{
    unsigned op1 = (hw1 >> 11) & 3u;
    unsigned op2 = (hw1 >> 4) & 0x7Fu;
    unsigned rd = (hw2 >> 8) & 0xFu;

    if (op1 == 1u) {
        if ((op2 & 0x60u) == 0x00u) {
            decode32_ldst_multi(hw1, hw2, d);
        } else if ((op2 & 0x60u) == 0x20u) {
            set_dp(d, rd); /* data processing (shifted register) */
        } else {
            decode_fp(hw1, hw2, d);
        }
    } else if (op1 == 2u) {
        if ((hw2 & 0x8000u) == 0u) {
            set_dp(d, rd); /* data processing (modified / plain immediate), MOVW, MOVT */
        } else {
            decode32_branch(hw1, hw2, d);
        }
    } else { /* op1 == 3 */
        if ((op2 & 0x60u) == 0x00u) {
            decode32_ldst_single(hw1, hw2, d);
        } else if ((op2 & 0x70u) == 0x20u || (op2 & 0x78u) == 0x30u) {
            set_dp(d, rd); /* data processing (register); multiply, MAC, SIMD MAC: 1 */
        } else if ((op2 & 0x78u) == 0x38u) { /* long multiply, long MAC, divide */
            unsigned lop = (hw1 >> 4) & 7u;
            if ((lop == 1u || lop == 3u) && ((hw2 >> 4) & 0xFu) == 0xFu) {
                set_dp(d, rd);
                d->flags |= CM4_F_DIV;
            } else {
                set_dp(d, rd); /* SMULL, UMULL, SMLAL*, UMLAL, UMAAL, SMLALD, SMLSLD: 1 */
                d->dst_regs |= reg_bit(hw2 >> 12);
            }
        } else if (op2 & 0x40u) {
            decode_fp(hw1, hw2, d);
        } else {
            set_alu(d, 1u);
        }
    }
}

void cm4_decode(const uint8_t *bytes, size_t size, cm4_insn *out)
{
    memset(out, 0, sizeof(*out));
    out->rt = -1;
    uint16_t hw1 = (uint16_t)(bytes[0] | (bytes[1] << 8));
    if (size >= 4u && cm4_is_wide(hw1)) {
        uint16_t hw2 = (uint16_t)(bytes[2] | (bytes[3] << 8));
        decode32(hw1, hw2, out);
    } else {
        decode16(hw1, out);
    }
}

int cm4_pair_adjust(const cm4_insn *prev, size_t prev_size, const cm4_insn *next)
{
    if (prev->flags & CM4_F_BRANCH) {
        return 0;
    }
    if ((next->flags & CM4_F_IT) && prev_size == 2u) {
        return -1; /* IT folded onto the preceding 16-bit instruction: 0 cycles */
    }
    if (!(next->flags & CM4_F_MEM)) {
        return 0;
    }
    if (prev->dst_regs & next->addr_regs) {
        return 1; /* the address waits for the register bank: no forwarding path */
    }
    if ((next->flags & CM4_F_LS1) && (prev->flags & CM4_F_LOAD) && prev->rt >= 0 &&
        !(next->addr_regs & (1u << (unsigned)prev->rt))) {
        return -1; /* address phase overlaps the previous load's data phase */
    }
    return 0;
}

void cm4_block_begin(cm4_block *b, const cm4_config *cfg)
{
    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
}

static unsigned refill_cycles(const cm4_config *cfg, unsigned refill)
{
    switch (refill) {
    case CM4_REFILL_IMM:
        return cfg->p_imm;
    case CM4_REFILL_REG:
        return cfg->p_reg;
    case CM4_REFILL_LOAD:
        return cfg->p_load;
    default:
        return 0u;
    }
}

unsigned cm4_block_cost(cm4_block *b, const cm4_insn *d, uint64_t addr, size_t size)
{
    const cm4_config *cfg = b->cfg;
    unsigned cycles = (d->flags & CM4_F_DIV) ? cfg->div : d->cycles;
    int in_it = b->it_left > 0u;
    if (in_it) {
        b->it_left--;
    }
    if (d->flags & CM4_F_IT) {
        b->it_left = d->it_len;
    }
    if (b->prev_size != 0u) {
        cycles = (unsigned)((int)cycles + cm4_pair_adjust(&b->prev, b->prev_size, d));
    }
    b->last_cond = 0;
    b->last_pen = 0u;
    if (d->refill != CM4_REFILL_NONE) {
        unsigned pen = refill_cycles(cfg, d->refill);
        if (addr >= cfg->flash_base && addr < cfg->flash_end) {
            pen += cfg->ws;
        }
        cycles += pen;
        if (d->flags & CM4_F_BRANCH) {
            b->last_pen = pen;
            b->last_cond = (d->flags & CM4_F_COND) || in_it;
        }
    }
    b->prev = *d;
    b->prev_size = size;
    return cycles;
}
