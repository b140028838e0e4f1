/* Cycle micro-benchmarks for the cm4cycles plugin: one function per benchmark, called by
 * main.c with r0 = uint32_t out[2]. The measured region runs from the instruction after
 * the first load of the timer VALUE register (r12) up to and including the second load;
 * both VALUEs are stored to out[]. Expected figures (cycles_est / instructions under the
 * plugin's default model, ws=0) are noted per benchmark and asserted by
 * tests/qemu/test_cycles_plugin.py; docs/cycles.md explains the rules behind them.
 * The closing timer load is part of each region: 2 cycles, 1 if it pipelines after a load.
 * Registers: r0-r8 free in bodies, r3 = scratch memory, r9 = out, r12 = timer VALUE. */
    .syntax unified
    .thumb
    .cpu cortex-m4
    .fpu fpv4-sp-d16

/* CYC_SHIFT (assembler symbol, e.g. -Wa,--defsym,CYC_SHIFT=64; default 0): bytes of padding
 * before the first benchmark, which move the benchmarks relative to QEMU's 1 KiB pages and
 * translation blocks; the figures must not change (the page-aligned ones keep their place). */
    .ifndef CYC_SHIFT
    .set CYC_SHIFT, 0
    .endif
    .if CYC_SHIFT
    .text
    .space CYC_SHIFT, 0
    .endif

    .macro BENCH name
    .text
    .global cyc_\name
    .type cyc_\name, %function
    .balign 4
    .thumb_func
cyc_\name:
    push {r4-r11, lr}
    mov r9, r0
    movw r12, #0x0004
    movt r12, #0x4000
    movw r3, #:lower16:cyc_scratch
    movt r3, #:upper16:cyc_scratch
    movs r0, #0
    movs r1, #1
    movs r2, #3
    .endm

    .macro START
    ldr.w r10, [r12]            @ region start
    .endm

    .macro END name
    ldr.w r11, [r12]            @ region end (counted in the region)
    strd r10, r11, [r9]
    pop {r4-r11, pc}
    .size cyc_\name, . - cyc_\name
    .endm

@ 100 x 16-bit ADDS: 100 + 2 = 102 cycles, 101 instructions
    BENCH alu16
    START
    .rept 100
    adds r1, r1, r2
    .endr
    END alu16

@ 100 x single-cycle 32-bit ALU/DSP instructions: 102 cycles, 101 instructions
    BENCH alu32
    START
    .rept 10
    add.w r1, r2, r3, lsl #2
    eor.w r4, r5, #0xff
    movw r5, #1234
    movt r5, #1
    ubfx r6, r7, #3, #5
    sxtb16 r7, r8
    ssat r4, #16, r2
    usat r4, #8, r5
    rev.w r6, r7
    clz r7, r8
    .endr
    END alu32

@ 100 x multiply / MAC (MUL, MLA, MLS, SMLABB, SMLAD, SMUAD, SMULL, UMULL, SMLAL, UMLAL),
@ all single-cycle on the M4: 102 cycles, 101 instructions
    BENCH mac
    START
    .rept 10
    mul r4, r1, r2
    mla r4, r1, r2, r4
    mls r5, r1, r2, r5
    smlabb r5, r1, r2, r5
    smlad r5, r1, r2, r5
    smuad r6, r1, r2
    smull r6, r7, r1, r2
    umull r6, r7, r1, r2
    smlal r6, r7, r1, r2
    umlal r6, r7, r1, r2
    .endr
    END mac

@ 10 x LDM of 4 registers (1 + N = 5): 50 + 2 = 52 cycles, 11 instructions
    BENCH ldm4
    START
    .rept 10
    ldm r3, {r4-r7}
    .endr
    END ldm4

@ 10 x STM of 4 registers: 52 cycles, 11 instructions
    BENCH stm4
    START
    .rept 10
    stm r3, {r4-r7}
    .endr
    END stm4

@ 5 x (PUSH + POP of 4 registers): 5 x (5 + 5) + 2 = 52 cycles, 11 instructions
    BENCH pushpop
    START
    .rept 5
    push {r4-r7}
    pop {r4-r7}
    .endr
    END pushpop

@ NOP, 16 independent LDRs (2 + 15 x 1, pipelined), NOP: 1 + 17 + 1 + 2 = 21 cycles, 19 instructions
    BENCH ldr_pipe
    START
    nop
    .irp off, 0, 4, 8, 12
    ldr r4, [r3, #(\off)]
    ldr r5, [r3, #(\off + 16)]
    ldr r6, [r3, #(\off + 32)]
    ldr r7, [r3, #(\off + 48)]
    .endr
    nop
    END ldr_pipe

@ NOP, 16 dependent LDRs (each loads the next base: never pipelined, 16 x 2), NOP:
@ 1 + 32 + 1 + 2 = 36 cycles, 19 instructions
    BENCH ldr_dep
    str r3, [r3]
    mov r4, r3
    START
    nop
    .rept 16
    ldr r4, [r4]
    .endr
    nop
    END ldr_dep

@ NOP, 8 x (LDR, STR of the loaded value: 2 + 1), NOP: 1 + 24 + 1 + 2 = 28 cycles, 19 instructions
    BENCH ldr_str
    START
    nop
    .rept 8
    ldr r4, [r3]
    str r4, [r3, #8]
    .endr
    nop
    END ldr_str

@ NOP, 8 x (ADDS computing the address, LDR using it: 1 + 2 + 1 stall), NOP:
@ 1 + 32 + 1 + 2 = 36 cycles, 19 instructions
    BENCH agu_stall
    START
    nop
    .rept 8
    adds r6, r3, #4
    ldr r4, [r6]
    .endr
    nop
    END agu_stall

@ the same with an address that does not depend on the ADDS: 1 + 24 + 1 + 2 = 28 cycles, 19 instructions
    BENCH agu_free
    START
    nop
    .rept 8
    adds r6, r3, #4
    ldr r4, [r3]
    .endr
    nop
    END agu_free

@ NOP, 16 STRs (nothing pipelines after a store: 16 x 2), NOP: 36 cycles, 19 instructions
    BENCH str_run
    START
    nop
    .irp off, 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60
    str r4, [r3, #\off]
    .endr
    nop
    END str_run

@ 10 x LDRD (3, not pipelined): 30 + 2 = 32 cycles, 11 instructions
    BENCH ldrd
    START
    .rept 10
    ldrd r4, r5, [r3]
    .endr
    END ldrd

@ NOP, LDR, and the closing timer LDR pipelines after it: 1 + 2 + 1 = 4 cycles, 3 instructions
    BENCH ldr_tail
    START
    nop
    ldr r4, [r3]
    END ldr_tail

@ an LDR right after the opening timer load pipelines after it (QEMU re-executes that I/O load
@ as a block of its own, so this checks the plugin carries the context across): 1 + 1 + 2 = 4
@ cycles, 3 instructions
    BENCH ldr_head
    START
    ldr r4, [r3]
    nop
    END ldr_head

@ MOVS, 10 x (SUBS, BNE): 9 taken (1 + P = 2), 1 not taken (1):
@ 1 + 10 + 18 + 1 + 2 = 32 cycles, 22 instructions
    BENCH loop_taken
    START
    movs r0, #10
1:  subs r0, #1
    bne 1b
    END loop_taken

@ 10 iterations of LDR, ADDS, SUBS, BNE: 7 + 9 x 6 - 1 (not taken) + 2 = 62 cycles, 42 instructions
    BENCH loop_ldr
    START
    movs r0, #10
1:  ldr r4, [r3]
    adds r5, r5, r4
    subs r0, #1
    bne 1b
    END loop_ldr

@ the same loop with LDM of 4 registers: 10 + 9 x 9 - 1 + 2 = 92 cycles, 42 instructions
    BENCH loop_ldm
    START
    movs r0, #10
1:  ldm r3, {r4-r7}
    adds r5, r5, r4
    subs r0, #1
    bne 1b
    END loop_ldm

@ 10 x B over a NOP (1 + P = 2): 20 + 2 = 22 cycles, 11 instructions
    BENCH branch_imm
    START
    .rept 10
    b 1f
    nop
1:
    .endr
    END branch_imm

@ CBZ taken / not taken, B<c>.W not taken / taken: 11 + 2 = 13 cycles, 10 instructions
    BENCH cond_branch
    START
    movs r0, #0                 @ 1
    cbz r0, 1f                  @ taken: 2
    nop
1:  movs r1, #1                 @ 1
    cbz r1, 2f                  @ not taken: 1
    nop                         @ 1
2:  cmp r0, #0                  @ 1
    bne.w 3f                    @ not taken: 1
    beq.w 3f                    @ taken: 2
    nop
3:  nop                         @ 1
    END cond_branch

@ branches made conditional by IT: 7 + 2 = 9 cycles, 8 instructions. The second IT starts a
@ translation block (after the first branch), where it is charged 1 (not folded).
    BENCH it_branch
    START
    movs r0, #0                 @ 1
    cmp r0, #1                  @ 1
    it eq                       @ 0 (folded onto the 16-bit CMP)
    beq 4f                      @ not taken: 1
    it ne                       @ 1
    bne 4f                      @ taken: 2
    nop
4:  nop                         @ 1
    END it_branch

@ 5 x (BL 1 + P = 2, BX LR 1 + P = 3): 25 + 2 = 27 cycles, 11 instructions
    BENCH call_ret
    START
    .rept 5
    bl cyc_leaf
    .endr
    END call_ret

@ 5 x (BL 2, PUSH {r4, lr} 3, POP {r4, pc} 1 + 2 + P = 6): 55 + 2 = 57 cycles, 16 instructions
    BENCH call_pushpop
    START
    .rept 5
    bl cyc_leaf_pushpop
    .endr
    END call_pushpop

@ 10 x (CMP, IT folded onto it, MOVEQ): 10 x 2 + 2 = 22 cycles, 31 instructions
    BENCH it_fold
    START
    .rept 10
    cmp r1, r2
    it eq
    moveq r4, r5
    .endr
    END it_fold

@ 10 x (CMP.W, IT not folded after a 32-bit instruction, MOVEQ): 32 cycles, 31 instructions
    BENCH it_nofold
    START
    .rept 10
    cmp.w r1, r2
    it eq
    moveq r4, r5
    .endr
    END it_nofold

@ 5 x (SDIV, UDIV) at the stated 12 cycles each: 120 + 2 = 122 cycles, 11 instructions
    BENCH div
    START
    .rept 5
    sdiv r4, r1, r2
    udiv r5, r1, r2
    .endr
    END div

@ 5 x (VDIV 14, VSQRT 14): 140 + 2 = 142 cycles, 11 instructions
    BENCH fp_div
    START
    .rept 5
    vdiv.f32 s0, s1, s2
    vsqrt.f32 s3, s4
    .endr
    END fp_div

@ 5 x (VMLA, VMLS, VFMA, VNMLA: 3 each): 60 + 2 = 62 cycles, 21 instructions
    BENCH fp_mac
    START
    .rept 5
    vmla.f32 s0, s1, s2
    vmls.f32 s3, s4, s5
    vfma.f32 s6, s7, s8
    vnmla.f32 s9, s10, s11
    .endr
    END fp_mac

@ 5 x 10 single-cycle FP instructions (VADD, VSUB, VMUL, VNEG, VABS, 2 x VCVT, VMOV core <-> FP,
@ VCMP): 50 + 2 = 52 cycles, 51 instructions
    BENCH fp_alu
    START
    .rept 5
    vadd.f32 s0, s1, s2
    vsub.f32 s3, s4, s5
    vmul.f32 s6, s7, s8
    vneg.f32 s9, s10
    vabs.f32 s11, s12
    vcvt.s32.f32 s13, s14
    vcvt.f32.s32 s15, s13
    vmov r4, s0
    vmov s1, r5
    vcmp.f32 s0, s1
    .endr
    END fp_alu

@ 5 x VLDR.32 (2), 5 x VSTR.32 (2), 2 x VLDR.64 (3), VLDM and VSTM of 8 (1 + 8), VPUSH and
@ VPOP of 4 (1 + 4): 10 + 10 + 6 + 18 + 10 + 2 = 56 cycles, 17 instructions
    BENCH fp_ldst
    START
    .rept 5
    vldr s0, [r3]
    .endr
    .rept 5
    vstr s1, [r3, #8]
    .endr
    vldr d0, [r3]
    vldr d1, [r3, #8]
    vldm r3, {s0-s7}
    vstm r3, {s0-s7}
    vpush {s0-s3}
    vpop {s0-s3}
    END fp_ldst

@ A pipelined LDR pair, an IT folding onto a CMP and an address stall, each split by a page
@ boundary, where QEMU ends its translation block: costed as if no boundary were there.
@ B.W 2, LDR 2, LDR 1, B.W 2, CMP 1, IT 0, MOVEQ 1, B.W 2, ADDS 1, LDR 2 + 1, and the closing
@ timer LDR pipelines after that LDR (1): 16 cycles, 11 instructions
    BENCH page_cross
    START
    b 1f
    .p2align 12
    .space 4094, 0
1:  ldr r4, [r3]                @ the last halfword of a page
    ldr r5, [r3, #4]            @ the first of the next
    b 2f
    .p2align 12
    .space 4094, 0
2:  cmp r1, r2
    it eq
    moveq r4, r5
    b 3f
    .p2align 12
    .space 4094, 0
3:  adds r6, r3, #4
    ldr r4, [r6]
    END page_cross

@ A 32-bit instruction that straddles a page boundary (QEMU translates it as a block of its
@ own, and when ending the block before it, reads its first halfword as if part of the
@ instruction before: QEMU 7.2 reports that one as 6 bytes long). The address stall of the
@ VSTR after the ADD.W that forms its address must stay: B.W 2, ADD.W 1, VSTR 2 + 1, and the
@ closing timer LDR after a store 2: 8 cycles, 4 instructions. page_straddle_ref is the same
@ sequence inside one page: the same figures.
    BENCH page_straddle
    START
    b 1f
    .p2align 10
    .space 1018, 0
1:  add.w r4, r3, #4            @ the last word but one halfword of a page
    vstr s13, [r4, #4]          @ its halves on two pages
    END page_straddle

    BENCH page_straddle_ref
    START
    b 1f
    .p2align 10
    .space 1010, 0
1:  add.w r4, r3, #4
    vstr s13, [r4, #4]
    END page_straddle_ref

@ An IT in the last halfword of a page folds onto the 16-bit CMP before it (QEMU 7.2 reports
@ that CMP as 4 bytes long: the IT's halfword, read to see whether it crosses the page, is
@ appended to it): B.W 2, CMP 1, IT 0, MOVEQ 1, closing LDR 2: 6 cycles, 5 instructions.
@ page_itfold_ref is the same sequence inside one page.
    BENCH page_itfold
    START
    b 1f
    .p2align 10
    .space 1020, 0
1:  cmp r1, r2                  @ the last halfword but one of a page
    it eq                       @ the last halfword
    moveq r4, r5                @ the next page
    END page_itfold

    BENCH page_itfold_ref
    START
    b 1f
    .p2align 10
    .space 1012, 0
1:  cmp r1, r2
    it eq
    moveq r4, r5
    END page_itfold_ref

    .text
    .balign 4
    .type cyc_leaf, %function
    .thumb_func
cyc_leaf:
    bx lr
    .size cyc_leaf, . - cyc_leaf

    .balign 4
    .type cyc_leaf_pushpop, %function
    .thumb_func
cyc_leaf_pushpop:
    push {r4, lr}
    pop {r4, pc}
    .size cyc_leaf_pushpop, . - cyc_leaf_pushpop
