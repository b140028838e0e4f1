"""The one interface every target driver implements (QEMU, pyOCD boards, later labgrid), composed
of the small protocols of bench.targets.protocols that each driver declares."""

from __future__ import annotations

import abc
from pathlib import Path

from bench.link.transport import ByteTransport
from bench.targets.protocols import LinkProvider, Resetter, claimed
from bench.targets.spec import TargetSpec


class Driver(abc.ABC, Resetter, LinkProvider):
    """Lifecycle: start(image) -> open_link() -> ... -> stop().

    Drivers know no model and no score. `start` flashes (boards) or boots (QEMU) the image
    and leaves it running; `reset` restarts it from its reset vector; `logs` returns text
    worth keeping in the run's log (emulator stderr, probe messages). What else a driver can
    do (Flasher, CounterReader, ExitRunner) it declares by inheriting those protocols.
    """

    def __init__(self, target: TargetSpec, workdir: Path):
        self.target = target
        self.workdir = Path(workdir)

    @classmethod
    def protocols(cls) -> tuple[type, ...]:
        """The protocols this driver declares (bench.targets.protocols.PROTOCOLS order)."""
        return claimed(cls)

    @classmethod
    def check_options(cls, target: TargetSpec) -> None:
        """Check the target's driver table ([<driver>]) without touching any hardware; a ConfigError names
        the key. load_target calls it, so that a bad table is refused before a run is created."""

    @abc.abstractmethod
    def start(self, image: Path) -> None: ...

    @abc.abstractmethod
    def reset(self) -> None: ...

    @abc.abstractmethod
    def open_link(self) -> ByteTransport: ...

    def read_cycle_counter(self) -> int | None:
        """The core's cycle counter read through the debug port, where a driver can; else None."""
        return None

    @abc.abstractmethod
    def stop(self) -> None: ...

    def logs(self) -> str:
        return ""

    def __enter__(self) -> "Driver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
