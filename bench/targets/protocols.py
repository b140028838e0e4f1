"""What a driver or instrument can do, as small protocols (labgrid-style).

A driver is bound to one target (its TOML and the resources it names: a QEMU binary and
machine, a probe uid and serial port) and says which of these it implements by inheriting
them; `provides(driver, Flasher)` asks. The runner uses the composite `Driver`
(bench.targets.drivers.base); a benchmark or a tool that needs one capability asks for that
one (`require(driver, ExitRunner, "run the kernel bench")`).

    Flasher        flash(image) -> bool       program + verify; False: the target already held it
    Resetter       reset()                    restart the running image from its reset vector
    LinkProvider   open_link() -> transport   the byte link the wire protocol runs on
    CounterReader  read_cycle_counter()       the core's cycle counter through the debug port
    ExitRunner     run_to_exit(image, t)      run an image that ends on its own; its exit code + UART text
    Meter          start/stop/frame_energy    an energy meter (bench.targets.meters)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bench.errors import TargetError
from bench.link.transport import ByteTransport
from bench.targets.meters.base import Meter

__all__ = ["PROTOCOLS", "CounterReader", "CycleEstimator", "ExitRunner", "Flasher", "LinkProvider", "Meter", "Resetter",
           "claimed", "provides", "require"]


@runtime_checkable
class Flasher(Protocol):
    def flash(self, image: Path) -> bool:
        """Program the image into the target's non-volatile memory and verify it where the
        driver can; returns False when the target already held this build and nothing was
        written (skip-if-same, where the driver can tell)."""
        ...


@runtime_checkable
class Resetter(Protocol):
    def reset(self) -> None:
        """Restart the image from its reset vector, leaving it running; the transport open_link()
        gave stays usable (QEMU: QMP system_reset; pyOCD: the probe's reset), so a run can handshake
        again and go on (docs/protocol.md, "Device resets")."""
        ...


@runtime_checkable
class LinkProvider(Protocol):
    def open_link(self) -> ByteTransport:
        """The byte transport to the running image (UART, socket, semihosting FIFOs)."""
        ...


@runtime_checkable
class CounterReader(Protocol):
    def read_cycle_counter(self) -> int | None:
        """The core's cycle counter read through the debug port; None where there is none."""
        ...


@runtime_checkable
class ExitRunner(Protocol):
    def run_to_exit(self, image: Path, timeout: float) -> tuple[int, str]:
        """Run an image that ends on its own (semihosting exit) to its end; returns its exit
        code and the text it wrote on its UART."""
        ...


@runtime_checkable
class CycleEstimator(Protocol):
    """Estimated cycles per region between counter reads (QEMU with the cm4cycles plugin)."""

    @property
    def estimates_cycles(self) -> bool:
        """Whether this target is configured to estimate (its [qemu] cycles_est)."""
        ...

    def cycle_regions(self) -> Any:
        """The regions so far (bench.cyclest.Regions), or None."""
        ...


PROTOCOLS: tuple[type, ...] = (Flasher, Resetter, LinkProvider, CounterReader, ExitRunner, CycleEstimator, Meter)

def claimed(obj: Any) -> tuple[type, ...]:
    """The protocols a class (or an object's class) declares by inheriting them, in PROTOCOLS order."""
    mro = (obj if isinstance(obj, type) else type(obj)).__mro__
    return tuple(p for p in PROTOCOLS if p in mro)


def provides(obj: Any, protocol: type) -> bool:
    """Whether obj declares the protocol and has its methods."""
    return protocol in type(obj).__mro__ and isinstance(obj, protocol)


def require(obj: Any, protocol: type, what: str) -> Any:
    """obj as the protocol, or a TargetError that says what it can do instead."""
    if not provides(obj, protocol):
        can = ", ".join(p.__name__ for p in claimed(obj)) or "none of the hardware protocols"
        raise TargetError(f"cannot {what}: {type(obj).__name__} does not implement {protocol.__name__} "
                          f"(it provides {can}); use a target whose driver does")
    return obj
