/* cm4cycles: a cycle-approximate Cortex-M4 counter, as a QEMU TCG plugin.
 *
 * Every executed instruction is costed with the Cortex-M4 TRM timing tables (cm4_timing.c,
 * docs/cycles.md); on every 32-bit load from the timer register (arg timer=, default the
 * CMSDK timer0 VALUE register of mps2-an386) the plugin appends one record to the file
 * given by out=: the cumulative estimated cycles, the cumulative executed instructions and
 * the PC of the load. Consecutive records bound the measured regions of the firmware.
 *
 * How the counting stays exact and cheap:
 *  - Static costs are summed at translation time and added inline (no call) once per
 *    "segment": a run of instructions that ends at the next instruction that accesses
 *    memory, or at the end of the block. Under -icount QEMU leaves a block early only at
 *    such an instruction (an I/O access not at the end of a block is re-executed as a
 *    block of its own, in which QEMU runs memory callbacks only), so what was added is
 *    exactly what ran: the count includes the timer load itself.
 *  - What crosses a block boundary is settled at run time, by a call at the start of the
 *    next block, only where it can matter. A block that ends in a conditional branch
 *    (B<c>, CBZ, CBNZ, a branch in an IT block) charges it as taken and "arms" a pending
 *    record with its last instruction; so does a block that ends without a branch (QEMU
 *    cut it: page end, icount budget, an I/O load). The block that starts at the armed
 *    end address and directly follows it (the instruction counter shows that nothing ran
 *    in between) gives back the refill of a not-taken branch and applies the pairing of
 *    its first instruction with that last one (load/store pipelining, IT folding, address
 *    stall: cm4_pair_adjust). Only blocks whose predecessor in memory is a branch or pairs
 *    with their first instruction (decoded backwards from the block start; assumed when
 *    not visible) make this check.
 *  - The timer records come from a memory callback. By default (loads=tbend) it is only
 *    on loads that end their block: under -icount every I/O load ends its block, so this
 *    sees every timer read at almost no cost. loads=all watches every 32-bit load (for
 *    runs without -icount; slower).
 *
 * Arguments (-plugin cm4cycles.so,out=PATH[,ws=N][,flash=BASE:SIZE][,timer=ADDR]
 *            [,loads=tbend|all][,pimm=N][,preg=N][,pload=N][,div=N]):
 *   out    output file (required); format below
 *   ws     flash wait states, added to every taken branch whose code lies in flash
 *   flash  the flash range (default: all of memory, which only matters when ws > 0)
 *   timer  address whose 32-bit loads are recorded (default 0x40000004)
 *   pimm, preg, pload   pipeline refill P for immediate, register and loaded branch
 *          targets (default 1, 2, 3); div: SDIV/UDIV cycles (default 12)
 *
 * Output (little-endian): a 32-byte header, then 24-byte records.
 *   header: "CM4CYCLE", u32 format (1), u32 ws, u32 timer, u32 flash base, u32 flash size
 *           (0: all memory), u32 pimm | preg << 8 | pload << 16 | div << 24
 *   record: u64 cycles_est, u64 instructions, u64 pc of the timer load
 *
 * One vCPU only (the counters are plain globals): the plugin refuses SMP machines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm4_timing.h"
#include "qemu_plugin_api.h"

CM4Q_EXPORT int qemu_plugin_version = CM4Q_API_LEVEL;

#define FORMAT_VERSION 1u
#define HEADER_SIZE 32u
#define RECORD_SIZE 24u
#define GUEST_PAGE_MASK 0x3FFull /* smallest Arm target page (1 KiB): bytes before a block's
                                    start are in the same host mapping when in its page */

/* Userdata of the memory callback, packed into the pointer: PC (32 bits), flags, and the
 * register the load writes. */
#define MEM_WIDE (1ull << 32)   /* 4-byte instruction */
#define MEM_LAST (1ull << 33)   /* last instruction of its block */
#define MEM_WORDLD (1ull << 34) /* 32-bit load: may read the timer */
#define MEM_RT_SHIFT 40

typedef char cm4_needs_64bit_pointers[sizeof(void *) >= 8u ? 1 : -1];

/* What the block-entry call needs to know about its block (interned: one per distinct
 * translation, kept for the whole run). */
#define BLOCK_CHECK 1u /* may directly follow an armed block: settle the pending record */
#define BLOCK_ARM 2u   /* ends in a conditional branch or without a branch: arm a record */
typedef struct block_info {
    struct block_info *next; /* hash chain */
    struct {
        uint64_t start;
        uint64_t end;
        uint64_t n_insns;
        uint64_t refund; /* refill of the branch that ends it, given back if not taken */
        uint64_t last_size;
        uint64_t flags;
        cm4_insn first; /* pairs with its predecessor at run time */
        cm4_insn last;  /* what its successor pairs with */
    } key;
} block_info;

#define BLOCK_BUCKETS 4096u

static cm4_config g_cfg;
static uint64_t g_cycles; /* cumulative estimated cycles */
static uint64_t g_insns;  /* cumulative executed instructions */
static uint64_t g_timer = 0x40000004u;
static int g_all_loads;
static FILE *g_out;
static block_info *g_blocks[BLOCK_BUCKETS];

/* The armed record: the block (or re-executed I/O load) that ran last ends at end_addr,
 * and g_insns == end_insns once all of it has run and nothing else has. */
static struct {
    int armed;
    uint64_t end_addr;
    uint64_t end_insns;
    uint64_t refund;
    cm4_insn last;
    size_t last_size;
} g_pending;

static void put_u32(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 4u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8u; i++) {
        p[i] = (uint8_t)(v >> (8u * i));
    }
}

static void arm(uint64_t end_addr, uint64_t end_insns, uint64_t refund, const cm4_insn *last, size_t last_size)
{
    g_pending.armed = 1;
    g_pending.end_addr = end_addr;
    g_pending.end_insns = end_insns;
    g_pending.refund = refund;
    g_pending.last = *last;
    g_pending.last_size = last_size;
}

static void on_load(unsigned int vcpu, cm4q_meminfo info, uint64_t vaddr, void *userdata)
{
    (void)vcpu;
    uint64_t u = (uint64_t)(uintptr_t)userdata;
    uint64_t pc = u & 0xFFFFFFFFull;
    if (qemu_plugin_mem_is_store(info)) {
        return;
    }
    if (u & MEM_LAST) {
            /* An I/O load re-executed as a block of its own runs no block callbacks: arm here,
         * so that the next block still sees this load as its predecessor. */
        cm4_insn load;
        memset(&load, 0, sizeof(load));
        load.flags = CM4_F_LOAD;
        load.rt = (int8_t)((u >> MEM_RT_SHIFT) & 0xFu);
        size_t size = (u & MEM_WIDE) ? 4u : 2u;
        arm(pc + size, g_insns, 0u, &load, size);
    }
    if (!(u & MEM_WORDLD) || vaddr != g_timer || qemu_plugin_mem_size_shift(info) != 2u) {
        return;
    }
    uint8_t rec[RECORD_SIZE];
    put_u64(rec, g_cycles);
    put_u64(rec + 8, g_insns);
    put_u64(rec + 16, pc);
    if (fwrite(rec, 1, sizeof(rec), g_out) != sizeof(rec) || fflush(g_out) != 0) {
        qemu_plugin_outs("cm4cycles: cannot write the output file\n");
    }
}

/* Runs before any instruction of the block (and before its inline additions). */
static void on_block_entry(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    const block_info *b = userdata;
    if ((b->key.flags & BLOCK_CHECK) && g_pending.armed && g_pending.end_addr == b->key.start &&
        g_pending.end_insns == g_insns) {
        /* Directly after the armed block: its branch was not taken, and/or this block's
         * first instruction pairs with the last one that ran (pipelining, folding, stall). */
        int adjust = cm4_pair_adjust(&g_pending.last, g_pending.last_size, &b->key.first);
        g_cycles += (uint64_t)(int64_t)adjust - g_pending.refund;
    }
    g_pending.armed = 0;
    if (b->key.flags & BLOCK_ARM) {
        arm(b->key.end, g_insns + b->key.n_insns, b->key.refund, &b->key.last, (size_t)b->key.last_size);
    }
}

static int same_insn(const cm4_insn *a, const cm4_insn *b)
{
    return a->cycles == b->cycles && a->refill == b->refill && a->it_len == b->it_len && a->rt == b->rt &&
           a->flags == b->flags && a->addr_regs == b->addr_regs && a->dst_regs == b->dst_regs;
}

static int same_block(const block_info *a, const block_info *b)
{
    return a->key.start == b->key.start && a->key.end == b->key.end && a->key.n_insns == b->key.n_insns &&
           a->key.refund == b->key.refund && a->key.last_size == b->key.last_size && a->key.flags == b->key.flags &&
           same_insn(&a->key.first, &b->key.first) && same_insn(&a->key.last, &b->key.last);
}

static const block_info *intern_block(const block_info *proto)
{
    size_t bucket = (size_t)((proto->key.start >> 1) % BLOCK_BUCKETS);
    for (const block_info *b = g_blocks[bucket]; b != NULL; b = b->next) {
        if (same_block(b, proto)) {
            return b;
        }
    }
    block_info *b = malloc(sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    *b = *proto;
    b->next = g_blocks[bucket];
    g_blocks[bucket] = b;
    return b;
}

static void free_blocks(void)
{
    for (size_t i = 0; i < BLOCK_BUCKETS; i++) {
        while (g_blocks[i] != NULL) {
            block_info *b = g_blocks[i];
            g_blocks[i] = b->next;
            free(b);
        }
    }
}

static uint16_t halfword(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* Decodes the instruction that ends at `start` (the block's static predecessor) from guest
 * memory. Thumb cannot be decoded backwards directly, so this walks back over halfwords
 * that look like the first half of a 32-bit instruction to one that does not: an
 * instruction starts right after that one, and the parity of the run gives the rest.
 * Returns 0 when the bytes are not visible (another page) or the walk leaves the page. */
static int predecessor(const cm4q_insn *first, uint64_t start, cm4_insn *pred, size_t *pred_size)
{
    const uint8_t *here = qemu_plugin_insn_haddr(first);
    uint64_t in_page = start & GUEST_PAGE_MASK;
    if (here == NULL || in_page < 2u) {
        return 0;
    }
    if (cm4_is_wide(halfword(here - 2))) { /* cannot be a 16-bit instruction ending at start */
        if (in_page < 4u) {
            return 0;
        }
        cm4_decode(here - 4, 4u, pred);
        *pred_size = 4u;
        return 1;
    }
    uint64_t run = 0; /* prefix-looking halfwords directly before here - 2 */
    while (in_page >= 2u * (run + 2u) && cm4_is_wide(halfword(here - 2u * (run + 2u)))) {
        run++;
    }
    if (in_page < 2u * (run + 2u)) {
        return 0;
    }
    *pred_size = run % 2u == 0u ? 2u : 4u;
    cm4_decode(here - *pred_size, *pred_size, pred);
    return 1;
}

/* 1 when one of the four halfwords before `start` looks like an IT (the block may start
 * inside an IT block, so a branch ending it may be conditional); 1 when not visible. */
static int may_start_in_it(const cm4q_insn *first, uint64_t start)
{
    const uint8_t *here = qemu_plugin_insn_haddr(first);
    if (here == NULL || (start & GUEST_PAGE_MASK) < 8u) {
        return 1;
    }
    for (unsigned k = 1; k <= 4u; k++) {
        uint16_t hw = halfword(here - 2u * k);
        if ((hw & 0xFF00u) == 0xBF00u && (hw & 0xFu) != 0u) {
            return 1;
        }
    }
    return 0;
}

/* Whether the block must settle a pending record at entry: when it may follow a branch,
 * or its first instruction pairs with its predecessor (unknown: assume both). */
static int needs_check(const cm4q_insn *first, uint64_t start, const cm4_insn *d0)
{
    cm4_insn pred;
    size_t pred_size = 0;
    if (!predecessor(first, start, &pred, &pred_size)) {
        return 1;
    }
    return (pred.flags & CM4_F_BRANCH) || cm4_pair_adjust(&pred, pred_size, d0) != 0;
}

static void add_segment(cm4q_insn *first, uint64_t cycles, uint64_t insns)
{
    qemu_plugin_register_vcpu_insn_exec_inline(first, CM4Q_INLINE_ADD_U64, &g_cycles, cycles);
    qemu_plugin_register_vcpu_insn_exec_inline(first, CM4Q_INLINE_ADD_U64, &g_insns, insns);
}

static void watch_load(cm4q_insn *insn, const cm4_insn *d, uint64_t addr, size_t size, int last)
{
    uint64_t u = addr | (size == 4u ? MEM_WIDE : 0u) | (last ? MEM_LAST : 0u) |
                 ((d->flags & CM4_F_WORDLD) ? MEM_WORDLD : 0u) | ((uint64_t)(d->rt & 0xF) << MEM_RT_SHIFT);
    /* MEM_RW and a filter in the callback: QEMU 7.2 applies a MEM_R registration to stores
     * instead of loads (found with this plugin; MEM_RW is unambiguous). */
    qemu_plugin_register_vcpu_mem_cb(insn, on_load, CM4Q_CB_NO_REGS, CM4Q_MEM_RW, (void *)(uintptr_t)u);
}

/* The size of an instruction, from its encoding. Not QEMU's figure: to decide whether to end
 * a block before an instruction that starts in the last halfword of a page (and would cross
 * it), QEMU 7.2 reads that halfword through the code loader that also records the bytes of
 * the instruction being translated, so the instruction before it is reported 2 bytes too
 * long (a 32-bit ADD.W as 6 bytes). Trusting that size misplaced the end of the block (the
 * block after it never matched the armed record: a lost pairing, e.g. the address stall of
 * a load/store after the ADD that forms its address) and the IT folding rule, which depends
 * on the size of the instruction before the IT; both then depended on where the code sat
 * relative to a 1 KiB page (tests/qemu/test_cycles_plugin.py: page_straddle, page_itfold). */
static size_t insn_size(const uint8_t *bytes, size_t reported)
{
    if (reported < 2u) {
        return reported;
    }
    size_t size = cm4_is_wide(halfword(bytes)) ? 4u : 2u;
    return size <= reported ? size : reported;
}

static void on_translate(cm4q_plugin_id id, cm4q_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (n == 0u) {
        return;
    }
    block_info info;
    memset(&info, 0, sizeof(info));
    info.key.start = qemu_plugin_tb_vaddr(tb);
    info.key.n_insns = n;
    cm4_block blk;
    cm4_block_begin(&blk, &g_cfg);
    size_t seg_first = 0;
    uint64_t seg_cycles = 0;

    for (size_t i = 0; i < n; i++) {
        cm4q_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint8_t *bytes = qemu_plugin_insn_data(insn);
        size_t size = insn_size(bytes, qemu_plugin_insn_size(insn));
        uint64_t addr = qemu_plugin_insn_vaddr(insn);
        int last = i + 1u == n;
        cm4_insn d;
        cm4_decode(bytes, size, &d);
        if (i == 0u) {
            info.key.first = d;
        }
        seg_cycles += cm4_block_cost(&blk, &d, addr, size);
        info.key.last = d;
        info.key.last_size = size;
        info.key.end = addr + size;

        if ((d.flags & CM4_F_LOAD) && !(d.flags & CM4_F_BRANCH) && (last || (g_all_loads && (d.flags & CM4_F_WORDLD)))) {
            watch_load(insn, &d, addr, size, last);
        }
        if ((d.flags & CM4_F_MEM) || last) {
            add_segment(qemu_plugin_tb_get_insn(tb, seg_first), seg_cycles, (uint64_t)(i + 1u - seg_first));
            seg_first = i + 1u;
            seg_cycles = 0;
        }
    }

    cm4q_insn *first = qemu_plugin_tb_get_insn(tb, 0);
    if (needs_check(first, info.key.start, &info.key.first)) {
        info.key.flags |= BLOCK_CHECK;
    }
    if (!(info.key.last.flags & CM4_F_BRANCH)) {
        info.key.flags |= BLOCK_ARM; /* cut without a branch: the next block falls through */
    } else if (blk.last_cond || may_start_in_it(first, info.key.start)) {
        info.key.flags |= BLOCK_ARM;
        info.key.refund = blk.last_pen;
    }
    if (info.key.flags == 0u) {
        return;
    }
    const block_info *b = intern_block(&info);
    if (b == NULL) {
        qemu_plugin_outs("cm4cycles: out of memory\n");
        return;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_entry, CM4Q_CB_NO_REGS, (void *)(uintptr_t)b);
}

static void on_exit(cm4q_plugin_id id, void *userdata)
{
    (void)id;
    (void)userdata;
    if (g_out != NULL) {
        fclose(g_out);
        g_out = NULL;
    }
    free_blocks();
}

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "cm4cycles: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    uint64_t v = 0;
    if (parse_u64(s, max, &v) != 0) {
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* flash=BASE:SIZE */
static int parse_flash(const char *s, cm4_config *cfg)
{
    char buf[64];
    const char *colon = strchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = '\0';
    uint64_t base = 0;
    uint64_t size = 0;
    if (parse_u64(buf, 0xFFFFFFFFull, &base) != 0 || parse_u64(colon + 1, 0x100000000ull, &size) != 0 ||
        size == 0u || base + size > 0x100000000ull) {
        return -1;
    }
    cfg->flash_base = base;
    cfg->flash_end = base + size;
    return 0;
}

static int parse_arg(const char *arg, const char **out_path)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL) {
        return fail("argument is not key=value", arg);
    }
    size_t klen = (size_t)(eq - arg);
    const char *val = eq + 1;
    int bad = 0;
#define KEY(k) (klen == sizeof(k) - 1u && strncmp(arg, k, klen) == 0)
    if (KEY("out")) {
        *out_path = val;
    } else if (KEY("ws")) {
        bad = parse_uint(val, 200u, &g_cfg.ws);
    } else if (KEY("flash")) {
        bad = parse_flash(val, &g_cfg);
    } else if (KEY("timer")) {
        bad = parse_u64(val, 0xFFFFFFFCull, &g_timer);
    } else if (KEY("loads")) {
        g_all_loads = strcmp(val, "all") == 0;
        bad = !g_all_loads && strcmp(val, "tbend") != 0;
    } else if (KEY("pimm")) {
        bad = parse_uint(val, 3u, &g_cfg.p_imm);
    } else if (KEY("preg")) {
        bad = parse_uint(val, 3u, &g_cfg.p_reg);
    } else if (KEY("pload")) {
        bad = parse_uint(val, 3u, &g_cfg.p_load);
    } else if (KEY("div")) {
        bad = (parse_uint(val, 12u, &g_cfg.div) != 0) || g_cfg.div < 2u;
    } else {
        return fail("unknown argument", arg);
    }
#undef KEY
    return bad ? fail("bad value", arg) : 0;
}

static int write_header(void)
{
    uint8_t h[HEADER_SIZE];
    memcpy(h, "CM4CYCLE", 8);
    put_u32(h + 8, FORMAT_VERSION);
    put_u32(h + 12, g_cfg.ws);
    put_u32(h + 16, g_timer);
    put_u32(h + 20, g_cfg.flash_base);
    put_u32(h + 24, g_cfg.flash_end - g_cfg.flash_base); /* 2^32 (all memory) wraps to 0 */
    put_u32(h + 28, g_cfg.p_imm | (g_cfg.p_reg << 8) | (g_cfg.p_load << 16) | (g_cfg.div << 24));
    return fwrite(h, 1, sizeof(h), g_out) == sizeof(h) && fflush(g_out) == 0 ? 0 : -1;
}

CM4Q_EXPORT int qemu_plugin_install(cm4q_plugin_id id, const cm4q_info *info, int argc, char **argv)
{
    if (info->version.min > CM4Q_API_LEVEL || info->version.cur < CM4Q_API_LEVEL) {
        char why[96];
        snprintf(why, sizeof(why), "QEMU offers API levels %d..%d, this plugin is level %d", info->version.min,
                 info->version.cur, CM4Q_API_LEVEL);
        return fail("incompatible QEMU plugin API", why);
    }
    if (info->target_name == NULL || strcmp(info->target_name, "arm") != 0) {
        return fail("only qemu-system-arm is supported, not", info->target_name);
    }
    if (info->system_emulation && info->system.smp_vcpus != 1) {
        return fail("only single-core machines are supported", NULL);
    }

    cm4_config_defaults(&g_cfg);
    const char *out_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (parse_arg(argv[i], &out_path) != 0) {
            return -1;
        }
    }
    if (out_path == NULL || out_path[0] == '\0') {
        return fail("missing argument", "out=PATH");
    }
    g_out = fopen(out_path, "wb");
    if (g_out == NULL) {
        return fail("cannot create the output file", out_path);
    }
    if (write_header() != 0) {
        return fail("cannot write the output file", out_path);
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit, NULL);
    return 0;
}
