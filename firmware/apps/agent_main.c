/* Main of every bench image: one model (bench_model, from firmware/models/<family>/)
 * behind the protocol agent. Image name and build id come from the build (-D); the board's
 * part of the HELLO identity (counter, marker, watchdog, reset cause) from its board_identity. */
#include "bench_agent.h"
#include "bench_board.h"
#include "board.h"

#ifndef BENCH_IMAGE_NAME
#error "BENCH_IMAGE_NAME must be defined by the build"
#endif
#ifndef BENCH_BUILD_ID
#define BENCH_BUILD_ID "unknown"
#endif

extern const bench_model_t bench_model;

static bench_identity_t identity = {
    .image_name = BENCH_IMAGE_NAME,
    .build_id = BENCH_BUILD_ID,
    .target_board = BOARD_NAME,
    .capabilities = BENCH_CAP_CONFIGURE | BENCH_CAP_SIDE_INFO,
};

int main(void)
{
    board_puts("bench-agent " BENCH_IMAGE_NAME " " BENCH_BUILD_ID "\r\n");
    board_identity(&identity);
    bench_agent_init(&bench_model, &identity);
    bench_agent_run();
}
