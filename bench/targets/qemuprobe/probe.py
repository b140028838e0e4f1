"""QemuProbe: a pyOCD debug probe that is a QEMU machine, and its pyOCD plugin (`pyocd.probe` entry point `qemu`).

Unique ids are `qemu:<machine>` or `qemu:<machine>/<instance>` (`qemu:netduinoplus2`); as with
pyOCD's `remote:` probes the prefix names the plugin, so `ConnectHelper` and `pyocd ... -u
qemu:netduinoplus2` reach it directly. An emulated probe is "connected" only when asked for:

* by unique id with the `qemu:` prefix (pyOCD then asks this plugin explicitly), or
* listed in the environment variable BENCH_QEMU_PROBES (comma-separated ids, e.g.
  `qemu:netduinoplus2,qemu:netduinoplus2/b`): then `pyocd list` and `bench boards` show them.

open() starts the machine (bench.targets.qemuprobe.machine), close() stops it. The debug port is
bench.targets.qemuprobe.dap (an ADIv5 SW-DP + AHB-AP over QEMU's gdbstub). The probe is also the
board (like an on-board probe): create_associated_board() names the target type, so pyOCD finds
`stm32f405_qemu` without `target_override`. `serial_url` is the board's UART (QEMU's first
-serial, a TCP socket), which the bench's pyOCD driver opens when [pyocd] serial is not set.

Session options (pyOCD `-O name=value`, or [pyocd.options] in a bench target TOML):
qemu.binary, qemu.icount_shift, qemu.extra_args, qemu.state_dir, qemu.persist_flash.
"""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path
from typing import Any

from pyocd.board.board import Board
from pyocd.board.board_ids import BoardInfo
from pyocd.core import exceptions
from pyocd.core.options import OptionInfo
from pyocd.core.plugin import Plugin
from pyocd.probe.debug_probe import DebugProbe

from bench.targets.qemuprobe import target as qemu_target
from bench.targets.qemuprobe.dap import DapFault, DapGone, EmulatedDap
from bench.targets.qemuprobe.machine import MachineError, QemuMachine, parse_board_name

LOG = logging.getLogger(__name__)

PREFIX = "qemu"
ENV_PROBES = "BENCH_QEMU_PROBES"


def listed_boards() -> list[str]:
    """The emulated boards BENCH_QEMU_PROBES asks for (ids without the `qemu:` prefix)."""
    out = []
    for item in os.environ.get(ENV_PROBES, "").split(","):
        item = item.strip()
        if item.lower().startswith(PREFIX + ":"):
            item = item[len(PREFIX) + 1:]
        if item and parse_board_name(item) is not None and item not in out:
            out.append(item)
    return out


class QemuProbe(DebugProbe):
    """A QEMU machine as a pyOCD debug probe (see the module docstring)."""

    @classmethod
    def get_all_connected_probes(cls, unique_id: str | None = None, is_explicit: bool = False) -> list[QemuProbe]:
        if is_explicit and unique_id:
            probe = cls.get_probe_with_id(unique_id, True)
            return [probe] if probe is not None else []
        return [cls(name) for name in listed_boards()]

    @classmethod
    def get_probe_with_id(cls, unique_id: str, is_explicit: bool = False) -> QemuProbe | None:
        name = unique_id
        if name.lower().startswith(PREFIX + ":"):
            name = name[len(PREFIX) + 1:]
        elif not is_explicit:
            return None
        if parse_board_name(name) is None:
            return None
        if not is_explicit and name not in listed_boards():
            return None
        return cls(name)

    def __init__(self, board: str) -> None:
        super().__init__()
        parsed = parse_board_name(board)
        if parsed is None:
            raise exceptions.ProbeError(f"no emulated board '{board}'")
        self.spec, self.instance = parsed
        self.board = board
        self._machine: QemuMachine | None = None
        self._dap: EmulatedDap | None = None
        self._is_open = False
        self._protocol: DebugProbe.Protocol | None = None
        self._reset_asserted = False
        self.notes: list[str] = []

    # -- identity -------------------------------------------------------------------------------------------

    @property
    def vendor_name(self) -> str:
        return "QEMU"

    @property
    def product_name(self) -> str:
        return f"emulated {self.spec.machine} ({self.spec.part}) via gdbstub"

    @property
    def unique_id(self) -> str:
        return f"{PREFIX}:{self.board}"

    @property
    def supported_wire_protocols(self) -> list[DebugProbe.Protocol]:
        return [DebugProbe.Protocol.DEFAULT, DebugProbe.Protocol.SWD]

    @property
    def wire_protocol(self) -> DebugProbe.Protocol | None:
        return self._protocol

    @property
    def is_open(self) -> bool:
        return self._is_open

    @property
    def capabilities(self) -> set[DebugProbe.Capability]:
        return set()  # pyOCD selects APs through DP SELECT itself; no SWJ sequences needed

    @property
    def associated_board_info(self) -> BoardInfo:
        return BoardInfo(f"QEMU {self.spec.machine}", self.spec.target_type, None, "QEMU")

    def create_associated_board(self) -> Board:
        assert self.session is not None
        qemu_target.register()
        return Board(self.session, board_info=self.associated_board_info)

    # -- what the bench reads besides pyOCD's API ---------------------------------------------------------------

    @property
    def serial_url(self) -> str:
        """The board's UART (QEMU's first -serial), once open: socket://127.0.0.1:<port>."""
        return self._machine.serial_url if self._machine is not None else ""

    @property
    def machine(self) -> QemuMachine | None:
        return self._machine

    @property
    def dap(self) -> EmulatedDap | None:
        return self._dap

    def describe(self) -> str:
        """What ran for this session: the machine, ports, restored flash, translated operations."""
        m, d = self._machine, self._dap
        if m is None:
            return f"{self.unique_id}: not open"
        parts = [f"{self.unique_id}: {' '.join(m.command())}", f"gdbstub :{m.gdb_port}, UART {m.serial_url}",
                 f"flash kept in {m.flash.path} ({m.restored} bytes written into QEMU at open)"]
        if m.exited:
            parts.append(m.exited)
        if d is not None:
            parts.append("translated: " + ", ".join(f"{k} {v}" for k, v in d.counts.items() if v))
            parts += d.core.notes
        return "; ".join(parts)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def _option(self, name: str, default: Any) -> Any:
        if self.session is None:
            return default
        try:
            value = self.session.options.get(name)
        except Exception:  # noqa: BLE001 - an option the session does not know: use the default
            return default
        return default if value is None else value

    def open(self) -> None:
        extra = self._option("qemu.extra_args", "")
        state = self._option("qemu.state_dir", "")
        self._machine = QemuMachine(
            self.spec, self.board, binary=str(self._option("qemu.binary", "qemu-system-arm")),
            icount_shift=int(self._option("qemu.icount_shift", 7)),
            state_dir=Path(state) if state else None,
            extra_args=tuple(shlex.split(extra)) if isinstance(extra, str) else tuple(extra),
            persist_flash=bool(self._option("qemu.persist_flash", True)))
        try:
            gdb = self._machine.start()
            dap = EmulatedDap(gdb, on_write=self._machine.flash.note_write,
                              describe_exit=lambda: self._machine.gone_account() if self._machine else "",
                              log=lambda msg: LOG.info("%s: %s", self.unique_id, msg))
            dap.attach()
        except (MachineError, DapGone) as e:
            self._close_machine()
            raise exceptions.ProbeError(f"{self.unique_id}: {e}") from e
        self._dap = dap
        self._is_open = True
        LOG.info("%s: QEMU %s started (gdbstub port %d, UART %s)", self.unique_id, self.spec.machine,
                 self._machine.gdb_port, self._machine.serial_url)

    def _close_machine(self) -> None:
        m, self._machine = self._machine, None
        if m is not None:
            m.stop()

    def close(self) -> None:
        self._dap = None
        self._close_machine()
        self._is_open = False

    def connect(self, protocol: DebugProbe.Protocol | None = None) -> None:
        self._protocol = DebugProbe.Protocol.SWD

    def disconnect(self) -> None:
        self._protocol = None

    def set_clock(self, frequency: float) -> None:
        pass  # no wire: the clock changes nothing

    # -- reset pin ----------------------------------------------------------------------------------------------

    def reset(self) -> None:
        self.assert_reset(True)
        self.assert_reset(False)

    def assert_reset(self, asserted: bool) -> None:
        dap = self._require()
        try:
            if asserted:
                dap.hold_in_reset()
            elif self._reset_asserted:
                dap.reset()
        except DapGone as e:
            raise exceptions.ProbeDisconnected(str(e)) from e
        self._reset_asserted = asserted

    def is_reset_asserted(self) -> bool:
        return self._reset_asserted

    # -- DAP access -------------------------------------------------------------------------------------------

    def _require(self) -> EmulatedDap:
        if self._dap is None:
            raise exceptions.ProbeError(f"{self.unique_id} is not open")
        return self._dap

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except DapFault as e:
            err = exceptions.TransferFaultError(str(e))
            if e.address is not None:
                err.fault_address = e.address
            raise err from e
        except DapGone as e:
            raise exceptions.ProbeDisconnected(f"{self.unique_id}: {e}") from e

    @staticmethod
    def _deferred(value: Any, now: bool) -> Any:
        return value if now else (lambda: value)

    def read_dp(self, addr: int, now: bool = True) -> Any:
        return self._deferred(self._call(self._require().read_dp, addr), now)

    def write_dp(self, addr: int, data: int) -> None:
        self._call(self._require().write_dp, addr, data)

    def read_ap(self, addr: int, now: bool = True) -> Any:
        return self._deferred(self._call(self._require().read_ap, addr), now)

    def write_ap(self, addr: int, data: int) -> None:
        self._call(self._require().write_ap, addr, data)

    def read_ap_multiple(self, addr: int, count: int = 1, now: bool = True) -> Any:
        return self._deferred(self._call(self._require().read_ap_multiple, addr, count), now)

    def write_ap_multiple(self, addr: int, values: Any) -> None:
        self._call(self._require().write_ap_multiple, addr, list(values))


class QemuProbePlugin(Plugin):
    """pyOCD plugin: QEMU machines as debug probes (registered as `qemu` in the `pyocd.probe` group)."""

    def load(self) -> type[QemuProbe]:
        qemu_target.register()
        return QemuProbe

    @property
    def name(self) -> str:
        return PREFIX

    @property
    def description(self) -> str:
        return "QEMU machine as a debug probe (gdbstub), bench's emulated boards"

    @property
    def options(self) -> list[OptionInfo]:
        return [
            OptionInfo("qemu.binary", str, "qemu-system-arm", "QEMU executable the emulated probe starts."),
            OptionInfo("qemu.icount_shift", int, 7, "-icount shift=N,sleep=off: each instruction takes 2^N ns."),
            OptionInfo("qemu.extra_args", str, "", "Further QEMU arguments (shell syntax)."),
            OptionInfo("qemu.state_dir", str, "", "Where emulated boards keep their flash "
                       "(default $BENCH_CACHE_DIR/qemuprobe or ~/.cache/bench/qemuprobe)."),
            OptionInfo("qemu.persist_flash", bool, True, "Keep the emulated board's flash across sessions."),
        ]
