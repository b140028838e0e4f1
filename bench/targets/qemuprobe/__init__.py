"""An emulated debug probe: pyOCD's own session, target and programming code against QEMU.

A pyOCD probe plugin (`pyocd.probe` entry point `qemu`, unique ids `qemu:<machine>`) whose probe
starts a QEMU machine with its gdbstub (`-S -gdb`) and translates pyOCD's ADIv5 debug-port traffic
into GDB remote protocol commands. The bench's pyOCD driver then runs against it exactly as against
a board: ConnectHelper, Session, CoreSight discovery, Cortex-M halt/run/registers/reset, the
FileProgrammer, verify by read-back, and the link over the machine's UART.

    gdbremote   the GDB remote serial protocol client
    dap         the SW-DP + AHB-AP, and the debug registers QEMU does not model
    machine     the QEMU process and the emulated board's kept flash
    target      the pyOCD target type `stm32f405_qemu` (flash by debug writes)
    probe       QemuProbe (pyOCD DebugProbe) and QemuProbePlugin

docs/boards.md ("pyOCD against QEMU") says which pyOCD steps run for real and which layer is
replaced. `probe` and `target` import pyOCD; `gdbremote`, `dap` and `machine` do not.
"""
