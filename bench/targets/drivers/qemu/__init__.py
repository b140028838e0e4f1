"""QEMU driver: runs an image in qemu-system-arm with the serial port on TCP.

-icount shift=N,sleep=off makes virtual time a pure function of the instructions executed
(docs/measurement.md); the serial socket uses nodelay and wait (QEMU starts the guest
only once the host's link is connected, so no byte of the boot output is lost).

Protocols: Resetter (reset: QMP system_reset, the link kept; qmp.py), LinkProvider (UART on TCP, or the semihosting
FIFOs), ExitRunner (run_to_exit: an image that ends with a semihosting exit, UART on stdout:
the kernel benchmarks). No Flasher (QEMU loads the ELF with -kernel) and no CounterReader
(QEMU's DWT CYCCNT reads 0; images count instructions with a timer instead).

Options: the target TOML's [qemu] table:

    binary     = "qemu-system-arm"
    machine    = "mps2-an386"        # default: the target's board
    port       = 0                   # TCP port of the UART; 0: a free one per run
    link       = "uart"              # or "semihost": protocol frames through host FIFOs
    extra_args = ["-d", "guest_errors"]
    sandbox    = "bwrap"             # or "none": run QEMU unconfined (only for images you trust)
    sandbox_ro = []                  # further absolute paths the sandboxed QEMU may read

Confinement (sandbox.py): QEMU runs in a bubblewrap sandbox that can write only the image's link
folder (<image dir>/link/: the semihosting FIFOs, the guest's working directory) and read only
QEMU, its libraries and the image; no NIC (-nic none), no shell, no other host file. Process
hygiene (process.py): own process group, PR_SET_PDEATHSIG(SIGKILL), the group killed in stop().
The link is watched (watch.py): when QEMU ends, the bench reports why, from qemu.stderr.log.
Images are checked before launch (bench.targets.elfcheck: ARM, 32-bit, Thumb entry inside the image).
"""

from bench.targets.drivers.qemu.driver import QemuDriver, free_port, qemu_version
from bench.targets.drivers.qemu.options import LINKS, QemuOptions, parse_qemu_options

__all__ = ["LINKS", "QemuDriver", "QemuOptions", "free_port", "parse_qemu_options", "qemu_version"]
