/* The part of QEMU's TCG plugin interface that cm4cycles uses, declared by us.
 *
 * QEMU installs no plugin header on Debian, so this file states the calls we need from
 * QEMU's documented plugin API (docs/devel/tcg-plugins.rst; the functions are exported by
 * qemu-system-arm: `nm -D $(which qemu-system-arm) | grep qemu_plugin`). Only the symbol
 * names, argument order and the plain C types matter for the ABI; the type names here
 * are our own. Written against plugin API level 1, the level of the QEMU 7.2 this bench
 * uses. Later levels changed parts of it (qemu_plugin_insn_data, the inline operations),
 * so the plugin loads only where QEMU still offers level 1 (checked in cm4cycles.c). */
#ifndef CM4_QEMU_PLUGIN_API_H
#define CM4_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The API level this plugin is written against (exported as qemu_plugin_version). */
#define CM4Q_API_LEVEL 1

#define CM4Q_EXPORT __attribute__((visibility("default")))

typedef uint64_t cm4q_plugin_id;

/* Opaque handles QEMU passes to the translation callback. */
typedef struct cm4q_tb cm4q_tb;
typedef struct cm4q_insn cm4q_insn;

/* Packed description of one memory access, decoded with the two mem_* calls below. */
typedef uint32_t cm4q_meminfo;

/* What QEMU tells the plugin when it is installed. */
typedef struct {
    const char *target_name; /* "arm" for qemu-system-arm */
    struct {
        int min; /* oldest API level this QEMU accepts */
        int cur; /* newest API level this QEMU implements */
    } version;
    bool system_emulation;
    struct { /* QEMU declares this inside an anonymous one-member union: same layout */
        int smp_vcpus;
        int max_vcpus;
    } system;
} cm4q_info;

enum cm4q_cb_flags { CM4Q_CB_NO_REGS = 0 };
enum cm4q_mem_rw { CM4Q_MEM_R = 1, CM4Q_MEM_W = 2, CM4Q_MEM_RW = 3 };
enum cm4q_inline_op { CM4Q_INLINE_ADD_U64 = 0 };

typedef void (*cm4q_tb_trans_fn)(cm4q_plugin_id id, cm4q_tb *tb);
typedef void (*cm4q_vcpu_fn)(unsigned int vcpu_index, void *userdata);
typedef void (*cm4q_mem_fn)(unsigned int vcpu_index, cm4q_meminfo info, uint64_t vaddr, void *userdata);
typedef void (*cm4q_exit_fn)(cm4q_plugin_id id, void *userdata);

/* Translation time: walk the instructions of a new translation block. */
void qemu_plugin_register_vcpu_tb_trans_cb(cm4q_plugin_id id, cm4q_tb_trans_fn cb);
size_t qemu_plugin_tb_n_insns(const cm4q_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const cm4q_tb *tb);
cm4q_insn *qemu_plugin_tb_get_insn(const cm4q_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const cm4q_insn *insn); /* level 1: the bytes, in memory order */
size_t qemu_plugin_insn_size(const cm4q_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const cm4q_insn *insn);
void *qemu_plugin_insn_haddr(const cm4q_insn *insn); /* host address of the bytes, or NULL */

/* Run time: inline additions (no call) and calls back into the plugin. */
void qemu_plugin_register_vcpu_tb_exec_inline(cm4q_tb *tb, enum cm4q_inline_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_inline(cm4q_insn *insn, enum cm4q_inline_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(cm4q_tb *tb, cm4q_vcpu_fn cb, enum cm4q_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(cm4q_insn *insn, cm4q_mem_fn cb, enum cm4q_cb_flags flags,
                                      enum cm4q_mem_rw rw, void *userdata);
bool qemu_plugin_mem_is_store(cm4q_meminfo info);
unsigned int qemu_plugin_mem_size_shift(cm4q_meminfo info);

/* Life cycle. */
void qemu_plugin_register_atexit_cb(cm4q_plugin_id id, cm4q_exit_fn cb, void *userdata);
void qemu_plugin_outs(const char *string);

/* What the plugin must export. */
CM4Q_EXPORT extern int qemu_plugin_version;
CM4Q_EXPORT int qemu_plugin_install(cm4q_plugin_id id, const cm4q_info *info, int argc, char **argv);

#endif
