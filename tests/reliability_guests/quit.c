/* A guest that says one word and exits at once with status 7 (a semihosting exit), as an image
 * that is not a bench agent would. tests/qemu/test_reliability_process.py. */
#include "board.h"

int main(void)
{
    board_puts("guest: exiting at once");
    return 7;
}
