/* Cycle micro-benchmarks for the cm4cycles QEMU plugin (tests/qemu/test_cycles_plugin.py).
 *
 * Standalone image for mps2-an386 (own vector table, no board code): enables the FPU,
 * starts CMSDK timer0, runs every benchmark in cycles.S (each bounded by two 32-bit loads
 * of the timer VALUE register), prints one line per benchmark on the semihosting console
 *     cycbench <name> <start VALUE> <end VALUE>       (hex; the timer counts down)
 * and exits through semihosting SYS_EXIT. Interrupts are never enabled. */
#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))
#define TIMER0_CTRL 0x40000000u
#define TIMER0_VALUE 0x40000004u
#define TIMER0_RELOAD 0x40000008u
#define SCB_CPACR 0xE000ED88u

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

typedef void (*bench_fn)(uint32_t out[2]);

/* Scratch memory the benchmarks load from and store to. */
uint32_t cyc_scratch[64] __attribute__((aligned(8)));

#define BENCHES(X) \
    X(alu16) X(alu32) X(mac) X(ldm4) X(stm4) X(pushpop) X(ldr_pipe) X(ldr_dep) X(ldr_str) \
    X(agu_stall) X(agu_free) X(str_run) X(ldrd) X(ldr_tail) X(ldr_head) X(loop_taken) X(loop_ldr) \
    X(loop_ldm) X(branch_imm) X(cond_branch) X(it_branch) X(call_ret) X(call_pushpop) X(it_fold) \
    X(it_nofold) X(div) X(fp_div) X(fp_mac) X(fp_alu) X(fp_ldst) X(page_cross) \
    X(page_straddle) X(page_straddle_ref) X(page_itfold) X(page_itfold_ref)

#define DECLARE(name) void cyc_##name(uint32_t out[2]);
BENCHES(DECLARE)
#undef DECLARE

struct bench {
    const char *name;
    bench_fn fn;
};

#define ENTRY(name) {#name, cyc_##name},
static const struct bench benches[] = {BENCHES(ENTRY)};
#undef ENTRY

static int semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static __attribute__((noreturn)) void sh_exit(uint32_t reason)
{
    semihost(SYS_EXIT, (const void *)(uintptr_t)reason);
    for (;;) {
    }
}

static char *put_str(char *p, const char *s)
{
    while (*s) {
        *p++ = *s++;
    }
    return p;
}

static char *put_hex(char *p, uint32_t v)
{
    for (int shift = 28; shift >= 0; shift -= 4) {
        *p++ = "0123456789abcdef"[(v >> shift) & 0xFu];
    }
    return p;
}

int main(void)
{
    char line[96];
    for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        uint32_t t[2] = {0u, 0u};
        benches[i].fn(t);
        char *p = put_str(line, "cycbench ");
        p = put_str(p, benches[i].name);
        *p++ = ' ';
        p = put_hex(p, t[0]);
        *p++ = ' ';
        p = put_hex(p, t[1]);
        *p++ = '\n';
        *p = '\0';
        semihost(SYS_WRITE0, line);
    }
    return 0;
}

void reset_handler(void)
{
    REG32(SCB_CPACR) |= 0xFu << 20; /* CP10, CP11: enable the FPU */
    __asm volatile("dsb\n isb" ::: "memory");
    REG32(TIMER0_CTRL) = 0u;
    REG32(TIMER0_RELOAD) = 0xFFFFFFFFu;
    REG32(TIMER0_VALUE) = 0xFFFFFFFFu;
    REG32(TIMER0_CTRL) = 1u; /* enable, no interrupt */
    sh_exit(main() == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
}

static void fault_handler(void) { sh_exit(ADP_STOPPED_RUNTIME_ERROR); }

extern uint32_t __stack_top;

__attribute__((section(".vectors"), used)) void (*const cyc_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fault_handler, /* SVC */
    fault_handler, /* DebugMon */
    0,
    fault_handler, /* PendSV */
    fault_handler, /* SysTick */
};
