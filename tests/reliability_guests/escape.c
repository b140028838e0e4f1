/* A guest that tries to leave its sandbox through ARM semihosting (tests/qemu/test_reliability_escape.py).
 *
 * It writes a file at ESCAPE_PATH (a host path outside its work directory), appends to its own ELF
 * (IMAGE_PATH), reads /etc/passwd and runs SYSTEM_CMD through SYS_SYSTEM; as a control it writes
 * inside.txt in its working directory (the run's link folder, the one place it may write). It prints
 * one line with every result and exits 0. */
#include <stdint.h>
#include <string.h>

#include "board.h"

#ifndef ESCAPE_PATH
#define ESCAPE_PATH "/tmp/bench-escape/pwned"
#endif
#ifndef IMAGE_PATH
#define IMAGE_PATH "escape.elf"
#endif
#ifndef SYSTEM_CMD
#define SYSTEM_CMD "touch /tmp/bench-escape/pwned-by-system"
#endif

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_SYSTEM 0x12

static int semihost(int op, void *arg)
{
    register int r0 __asm("r0") = op;
    register void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int sh_open(const char *name, int mode)
{
    uint32_t a[3] = {(uint32_t)(uintptr_t)name, (uint32_t)mode, (uint32_t)strlen(name)};
    return semihost(SYS_OPEN, a);
}

static int sh_write(int fd, const char *s)
{
    uint32_t a[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)s, (uint32_t)strlen(s)};
    return semihost(SYS_WRITE, a);
}

static void sh_close(int fd)
{
    uint32_t a[1] = {(uint32_t)fd};
    (void)semihost(SYS_CLOSE, a);
}

static int sh_system(const char *cmd)
{
    uint32_t a[2] = {(uint32_t)(uintptr_t)cmd, (uint32_t)strlen(cmd)};
    return semihost(SYS_SYSTEM, a);
}

static void put_field(const char *label, int v)
{
    char buf[16];
    int i = (int)sizeof buf - 1;
    unsigned u = v < 0 ? (unsigned)(-v) : (unsigned)v;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u && i > 1);
    if (v < 0) {
        buf[--i] = '-';
    }
    board_puts(label);
    board_puts(&buf[i]);
}

static int try_write(const char *path, int mode)
{
    int fd = sh_open(path, mode);
    if (fd >= 0) {
        int not_written = sh_write(fd, "written by the guest\n");
        sh_close(fd);
        return not_written == 0 ? 1 : 0;
    }
    return fd;
}

int main(void)
{
    int outside = try_write(ESCAPE_PATH, 4 /* "w" */);
    int image = try_write(IMAGE_PATH, 8 /* "a" */);
    int passwd = sh_open("/etc/passwd", 0 /* "r" */);
    if (passwd >= 0) {
        sh_close(passwd);
    }
    int system = sh_system(SYSTEM_CMD);
    int inside = try_write("inside.txt", 4 /* "w" */);
    put_field("escape: outside=", outside);
    put_field(" image=", image);
    put_field(" passwd=", passwd >= 0 ? 1 : -1);
    put_field(" system=", system);
    put_field(" inside=", inside);
    board_puts("\n");
    return 0;
}
