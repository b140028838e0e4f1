"""Post-mortem through the debug port: where the core is and, if it is in a fault handler, why.

The firmware reports its own faults over the link (armv7m_fault.c: an ERROR reply carrying CFSR,
HFSR, BFAR, MMFAR and the stacked registers). This reads the same System Control Block registers
through the probe, so that a board that stops answering (a hang, a fault before the link is up, a
fault handler that cannot send) is still explained: the driver halts the core when it stops, reads
xPSR/PC/LR/SP and the fault status registers, decodes them (ARMv7-M ARM B3.2.15-B3.2.18) and lets
the core run on. Nothing here knows a run or a frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CFSR = 0xE000ED28
HFSR = 0xE000ED2C
DFSR = 0xE000ED30
MMFAR = 0xE000ED34
BFAR = 0xE000ED38
SHCSR = 0xE000ED24

CFSR_BITS = {
    0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
    8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR", 15: "BFARVALID",
    16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 24: "UNALIGNED", 25: "DIVBYZERO",
}
HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}
EXCEPTIONS = {0: "thread mode", 1: "Reset", 2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault",
              6: "UsageFault", 11: "SVCall", 12: "DebugMonitor", 14: "PendSV", 15: "SysTick"}
FAULTS = (2, 3, 4, 5, 6)


def bits(value: int, names: dict[int, str]) -> list[str]:
    return [n for b, n in sorted(names.items()) if value >> b & 1]


def decode_cfsr(cfsr: int) -> str:
    """`CFSR=00008200 (BusFault: PRECISERR BFARVALID)`: each set bit by its name, grouped by fault."""
    groups = []
    for name, lo, hi in (("MemManage", 0, 8), ("BusFault", 8, 16), ("UsageFault", 16, 32)):
        set_bits = [n for b, n in sorted(CFSR_BITS.items()) if lo <= b < hi and cfsr >> b & 1]
        if set_bits:
            groups.append(f"{name}: {' '.join(set_bits)}")
    return f"CFSR={cfsr:08X}" + (f" ({'; '.join(groups)})" if groups else "")


def exception_name(ipsr: int) -> str:
    if ipsr >= 16:
        return f"IRQ{ipsr - 16}"
    return EXCEPTIONS.get(ipsr, f"exception {ipsr}")


@dataclass(frozen=True)
class CoreReport:
    """The core as the debug port saw it."""

    probe_uid: str
    state: str                 # pyOCD's state name: RUNNING, HALTED, LOCKUP, SLEEPING, RESET
    pc: int = 0
    lr: int = 0
    sp: int = 0
    xpsr: int = 0
    cfsr: int = 0
    hfsr: int = 0
    mmfar: int = 0
    bfar: int = 0

    @property
    def ipsr(self) -> int:
        return self.xpsr & 0x1FF

    @property
    def in_fault(self) -> bool:
        return self.ipsr in FAULTS or self.state == "LOCKUP"

    def describe(self) -> str:
        where = "thread mode" if self.ipsr == 0 else f"the {exception_name(self.ipsr)} handler"
        state = "running (halted to read it)" if self.state in ("RUNNING", "SLEEPING") else self.state.lower()
        text = (f"board {self.probe_uid}: core {state}, in {where}, PC={self.pc:08X} LR={self.lr:08X} "
                f"SP={self.sp:08X} xPSR={self.xpsr:08X}")
        if not self.in_fault and not (self.cfsr or self.hfsr):
            return text + "; no fault recorded (CFSR and HFSR clear)"
        parts = [decode_cfsr(self.cfsr), f"HFSR={self.hfsr:08X}"
                 + (f" ({' '.join(bits(self.hfsr, HFSR_BITS))})" if bits(self.hfsr, HFSR_BITS) else "")]
        if self.cfsr & (1 << 15):
            parts.append(f"BFAR={self.bfar:08X} (the faulting address)")
        if self.cfsr & (1 << 7):
            parts.append(f"MMFAR={self.mmfar:08X} (the faulting address)")
        head = "FAULT" if self.in_fault else "fault status left set"
        return f"{head} on {text}; " + "; ".join(parts)


def inspect_core(target: Any, probe_uid: str) -> CoreReport:
    """Halt the core if it runs, read its registers and fault status, and let it run again as it was.

    Raises what pyOCD raises when the probe or the board does not answer (the caller says so)."""
    state = target.get_state()
    name = getattr(state, "name", str(state))
    was_running = name in ("RUNNING", "SLEEPING")
    if was_running:
        target.halt()
    try:
        pc, lr, sp, xpsr = (int(v) for v in target.read_core_registers_raw(["pc", "lr", "sp", "xpsr"]))
        cfsr, hfsr, mmfar, bfar = (int(target.read32(a)) for a in (CFSR, HFSR, MMFAR, BFAR))
    finally:
        if was_running:
            target.resume()
    return CoreReport(probe_uid, name, pc, lr, sp, xpsr, cfsr, hfsr, mmfar, bfar)
