"""The DWT cycle counter (ARMv7-M, ARM DDI 0403 C1.6.5 DEMCR and C1.8 DWT): enabled and cleared
while the core is halted at its reset vector, then read through the debug port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.errors import BenchError, TargetError

DEMCR = 0xE000EDFC
DEMCR_TRCENA = 1 << 24
DWT_CTRL = 0xE0001000
DWT_CTRL_CYCCNTENA = 1 << 0
DWT_CTRL_NOCYCCNT = 1 << 25
DWT_CYCCNT = 0xE0001004


def enable_cycle_counter(target: Any, target_type: str) -> None:
    target.write32(DEMCR, (target.read32(DEMCR) | DEMCR_TRCENA) & 0xFFFFFFFF)
    ctrl = target.read32(DWT_CTRL)
    if ctrl & DWT_CTRL_NOCYCCNT:
        raise TargetError(f"the {target_type} core has no DWT cycle counter "
                          "(DWT_CTRL.NOCYCCNT is set): a counter kind \"cycles\" target cannot use it")
    target.write32(DWT_CTRL, (ctrl | DWT_CTRL_CYCCNTENA) & 0xFFFFFFFF)
    target.write32(DWT_CYCCNT, 0)
    if not target.read32(DWT_CTRL) & DWT_CTRL_CYCCNTENA:
        raise TargetError("DWT_CTRL.CYCCNTENA did not stay set; the cycle counter cannot be enabled "
                          "from the debugger on this part")


def read_cycle_counter(target: Any, probe_uid: str | None) -> int:
    try:
        return int(target.read32(DWT_CYCCNT)) & 0xFFFFFFFF
    except Exception as e:  # any probe failure is a target failure here
        raise TargetError(f"reading DWT_CYCCNT through probe {probe_uid} failed ({e}); check the "
                          "probe cable and that the board is powered") from e


def reset_and_run(target: Any, target_type: str, probe_uid: str | None, note: Callable[[str], None],
                  cycle_counter: bool = True) -> None:
    """Reset into a halt at the reset vector, enable and clear CYCCNT, then run.

    The counter is set up while the core is halted at its first instruction, so that it is on
    from the image's first cycle whatever a system reset does to the DWT on this part. Without
    `cycle_counter` (a target whose [counter] kind is not "cycles": an emulator, whose image counts
    with a timer and says so in HELLO) the DWT is left alone.
    """
    try:
        target.reset_and_halt()
        if cycle_counter:
            enable_cycle_counter(target, target_type)
        target.resume()
    except BenchError:
        raise
    except Exception as e:
        raise TargetError(f"reset/run of the {target_type} through {probe_uid} "
                          f"failed ({type(e).__name__}: {e}); check the board's power and reset "
                          "jumpers, or try [pyocd] reset_type = \"hardware\"") from e
    note("reset, DWT cycle counter enabled and cleared, core running" if cycle_counter else
         "reset, core running (DWT cycle counter not used: the target's counter kind is not cycles)")
