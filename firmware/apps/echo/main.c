/* Bare UART echo: measures the raw host<->guest byte capacity of the link. Not a bench
 * image (it speaks no protocol), which also makes it the "foreign ELF" in tests. */
#include "bench_port.h"
#include "board.h"

int main(void)
{
    uint8_t buf[64];
    board_puts("echo ready\r\n");
    for (;;) {
        size_t n = bench_port_read(buf, sizeof buf);
        if (n) {
            bench_port_write(buf, n);
        } else {
            bench_port_idle();
        }
    }
}
