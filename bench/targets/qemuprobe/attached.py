"""QemuGdbProbe: the emulated probe attached to a QEMU board that is already running (pyOCD plugin `qemugdb`).

The `qemu:` probe (bench.targets.qemuprobe.probe) starts its own QEMU when pyOCD opens it and stops it
on close: the board exists only while a debugger holds it. A board on a farm is powered whether or not
anyone debugs it, its UART is served by ser2net whoever holds the probe, and a board that dies stays dead
until it is power-cycled. This probe is that board's debug cable: it connects to the gdbstub of a QEMU
started elsewhere (bench.farm.emuboard starts one per emulated farm board, with its USART on a pty for
ser2net) and lets go of it on close, leaving QEMU (the board) running.

Unique id: `qemugdb:<machine>@<host>:<gdb port>` (`qemugdb:netduinoplus2@127.0.0.1:3333`); the prefix
names the plugin, so pyOCD (`pyocd server --uid ...`, ConnectHelper) reaches it directly. The debug
port is the same EmulatedDap as the `qemu:` probe's; the board's flash lives in the running QEMU (it is
not kept in a file: a board that is power-cycled is a new QEMU, which emuboard restores itself).
"""

from __future__ import annotations

import logging
import re

from pyocd.core import exceptions
from pyocd.core.plugin import Plugin

from bench.targets.qemuprobe import target as qemu_target
from bench.targets.qemuprobe.dap import DapGone, EmulatedDap
from bench.targets.qemuprobe.gdbremote import GdbRemote, GdbRemoteError
from bench.targets.qemuprobe.machine import MACHINES
from bench.targets.qemuprobe.probe import QemuProbe

LOG = logging.getLogger(__name__)

PREFIX = "qemugdb"
_ID = re.compile(r"^([a-z0-9][a-z0-9-]*)@([A-Za-z0-9_.:-]+):(\d+)$")


def parse_attached_id(uid: str) -> tuple[str, str, int] | None:
    """`[qemugdb:]<machine>@<host>:<port>` -> (machine, host, port); None when it is not one."""
    if uid.lower().startswith(PREFIX + ":"):
        uid = uid[len(PREFIX) + 1:]
    m = _ID.match(uid.strip())
    if not m or m.group(1) not in MACHINES:
        return None
    return m.group(1), m.group(2), int(m.group(3))


class QemuGdbProbe(QemuProbe):
    """The emulated probe on a running QEMU's gdbstub (see the module docstring)."""

    @classmethod
    def get_all_connected_probes(cls, unique_id: str | None = None, is_explicit: bool = False) -> list[QemuProbe]:
        if is_explicit and unique_id:
            probe = cls.get_probe_with_id(unique_id, True)
            return [probe] if probe is not None else []
        return []  # never listed: only asked for by its id

    @classmethod
    def get_probe_with_id(cls, unique_id: str, is_explicit: bool = False) -> QemuGdbProbe | None:
        parsed = parse_attached_id(unique_id)
        if parsed is None or not (is_explicit or unique_id.lower().startswith(PREFIX + ":")):
            return None
        return cls(*parsed)

    def __init__(self, machine: str, host: str, port: int) -> None:
        super().__init__(machine)
        self.host, self.port = host, port
        self._gdb: GdbRemote | None = None

    @property
    def unique_id(self) -> str:
        return f"{PREFIX}:{self.spec.machine}@{self.host}:{self.port}"

    @property
    def product_name(self) -> str:
        return f"emulated {self.spec.machine} ({self.spec.part}) attached to gdbstub {self.host}:{self.port}"

    @property
    def serial_url(self) -> str:
        return ""  # the board's UART is served by ser2net on its host, not known to the probe

    def describe(self) -> str:
        d = self._dap
        parts = [f"{self.unique_id}: attached to a running QEMU"]
        if d is not None:
            parts.append("translated: " + ", ".join(f"{k} {v}" for k, v in d.counts.items() if v))
        return "; ".join(parts)

    def open(self) -> None:
        gdb = GdbRemote(self.host, self.port)
        try:
            gdb.connect(deadline_s=3.0)
            dap = EmulatedDap(gdb, describe_exit=lambda: f"the QEMU behind gdbstub {self.host}:{self.port} is gone",
                              log=lambda msg: LOG.info("%s: %s", self.unique_id, msg))
            dap.attach()
        except (GdbRemoteError, DapGone) as e:
            gdb.close()
            raise exceptions.ProbeError(f"{self.unique_id}: the emulated board does not answer ({e}); is its "
                                        "QEMU running (powered)?") from e
        self._gdb, self._dap, self._is_open = gdb, dap, True

    def close(self) -> None:
        """Let go of the board; QEMU (the powered board) stays up with its core halted. A gdbstub
        connection closed while the core runs would leave QEMU's stop notification for the next
        debugger, which then reads it as the answer to its first question."""
        gdb, self._gdb, self._dap = self._gdb, None, None
        if gdb is not None:
            try:
                if gdb.connected and gdb.running:
                    gdb.interrupt()
            except GdbRemoteError:
                pass
            gdb.close()
        self._is_open = False


class QemuGdbProbePlugin(Plugin):
    """pyOCD plugin: a running QEMU board's gdbstub as a debug probe (`pyocd.probe` entry point `qemugdb`)."""

    def load(self) -> type[QemuGdbProbe]:
        qemu_target.register()
        return QemuGdbProbe

    @property
    def name(self) -> str:
        return PREFIX

    @property
    def description(self) -> str:
        return "a running QEMU board's gdbstub as a debug probe (bench's emulated farm boards)"
