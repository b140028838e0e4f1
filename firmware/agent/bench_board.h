/* The board hook main() calls to fill the HELLO identity (firmware/apps/agent_main.c).
 *
 * Every board port implements it (firmware/boards/<board>/board.c): the counter it found at
 * run time (kind and frequency: DWT CYCCNT on silicon, a timer under QEMU), the capability
 * bits of the board (BENCH_CAP_MARKER where the marker pins answer), the watchdog it arms and
 * why the chip last started (docs/boards.md, "Watchdog and reset cause"). The caller has filled
 * the image's own fields (name, build id, board name, the agent's capability bits); the hook
 * adds to them and leaves them otherwise as they are. Call it after board_init(). */
#ifndef BENCH_BOARD_H
#define BENCH_BOARD_H

#include "bench_agent.h"

void board_identity(bench_identity_t *id);

#endif
