"""The emulated board behind a probe: one qemu-system-arm process, and the board's flash.

The probe starts QEMU stopped (`-S`) with its gdbstub and its UART each on a free TCP port and no
image (`-kernel` is not given: pyOCD programs the flash), and stops it when pyOCD closes the probe:

    qemu-system-arm -M netduinoplus2 -display none -monitor none -nic none
        -icount shift=7,sleep=off -serial tcp:127.0.0.1:P1,server=on,wait=off,nodelay=on
        -S -gdb tcp:127.0.0.1:P2

A board keeps its flash when the debugger lets go of it; QEMU's does not outlive the process. So
the emulated board's flash is kept in a file (`<state dir>/<board>.flash`, the state dir being
$BENCH_CACHE_DIR/qemuprobe, by default ~/.cache/bench/qemuprobe, or the `qemu.state_dir` session
option) and written into the new QEMU when the probe opens, before pyOCD connects: a second session
finds the image the first one programmed. The file is updated from the debug writes that reached
the flash (QEMU's flash is read-only to the guest, so nothing else changes it). Delete the file to
give the board an empty flash. A lock on `<board>.lock` keeps two sessions off one emulated board,
as a real probe cannot be opened twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.targets.qemuprobe.gdbremote import GdbRemote, GdbRemoteError


class MachineError(Exception):
    """QEMU could not be started, or the emulated board is in use."""


@dataclass(frozen=True)
class MachineSpec:
    """A QEMU machine the probe can emulate a board with."""

    machine: str
    part: str
    target_type: str          # the pyOCD target type (bench.targets.qemuprobe.target)
    flash: tuple[int, int]    # (base, size)
    ram: tuple[int, int]      # (base, size) of the part (QEMU may have more)
    uart: str                 # which UART QEMU's first -serial is


MACHINES: dict[str, MachineSpec] = {
    "netduinoplus2": MachineSpec("netduinoplus2", "STM32F405RG", "stm32f405_qemu",
                                 (0x0800_0000, 0x10_0000), (0x2000_0000, 0x2_0000), "USART1"),
}

_FPU_DUMP = re.compile(r"^\s*(s\d\d=|d\d\d=|FPSCR:)")
_NAME = re.compile(r"^([a-z0-9][a-z0-9-]*)(?:/([A-Za-z0-9_.-]+))?$")


def parse_board_name(name: str) -> tuple[MachineSpec, str] | None:
    """`netduinoplus2` or `netduinoplus2/<instance>` -> (its machine, the instance); None if unknown."""
    m = _NAME.match(name.strip())
    if not m or m.group(1) not in MACHINES:
        return None
    return MACHINES[m.group(1)], m.group(2) or ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_state_dir() -> Path:
    root = os.environ.get("BENCH_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "bench"
    return base / "qemuprobe"


class FlashStore:
    """The emulated board's non-volatile flash: a file, kept in step with the debug writes."""

    def __init__(self, path: Path, base: int, size: int):
        self.path, self.base, self.size = path, base, size
        self.data = bytearray(size)  # QEMU's flash starts as zeros
        self.dirty = False
        if path.is_file():
            raw = path.read_bytes()[:size]
            self.data[:len(raw)] = raw

    @property
    def used(self) -> int:
        """Bytes up to the last non-zero one (what has to be written into a fresh QEMU)."""
        return len(self.data.rstrip(b"\x00"))

    def note_write(self, addr: int, data: bytes) -> None:
        lo, hi = max(addr, self.base), min(addr + len(data), self.base + self.size)
        if lo < hi:
            self.data[lo - self.base:hi - self.base] = data[lo - addr:hi - addr]
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(bytes(self.data[:self.used]))
        os.replace(tmp, self.path)
        self.dirty = False


class QemuMachine:
    """One emulated board: QEMU started on open, stopped on close, its flash kept across sessions."""

    def __init__(self, spec: MachineSpec, board: str, *, binary: str = "qemu-system-arm", icount_shift: int = 7,
                 state_dir: Path | None = None, extra_args: tuple[str, ...] = (), persist_flash: bool = True):
        self.spec, self.board = spec, board
        self.binary, self.icount_shift = binary, icount_shift
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.extra_args = tuple(extra_args)
        self.persist_flash = persist_flash
        safe = board.replace("/", "_")
        self.flash = FlashStore(self.state_dir / f"{safe}.flash", *spec.flash)
        self.log_path = self.state_dir / f"{safe}.qemu.log"
        self._lock_path = self.state_dir / f"{safe}.lock"
        self._lock_fd: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.gdb: GdbRemote | None = None
        self.gdb_port = 0
        self.serial_port = 0
        self.restored = 0  # bytes of kept flash written into this QEMU

    @property
    def serial_url(self) -> str:
        return f"socket://127.0.0.1:{self.serial_port}" if self.serial_port else ""

    def command(self) -> list[str]:
        return [self.binary, "-M", self.spec.machine, "-display", "none", "-monitor", "none", "-nic", "none",
                "-icount", f"shift={self.icount_shift},sleep=off",
                "-serial", f"tcp:127.0.0.1:{self.serial_port},server=on,wait=off,nodelay=on",
                "-S", "-gdb", f"tcp:127.0.0.1:{self.gdb_port}", *self.extra_args]

    def _take_lock(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise MachineError(f"the emulated board qemu:{self.board} is in use by another session (pid {holder}); "
                               "one session per board, as with a real probe") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _drop_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def start(self) -> GdbRemote:
        if shutil.which(self.binary) is None:
            raise MachineError(f"{self.binary} not found: the emulated probe needs QEMU "
                               "(apt-get install qemu-system-arm)")
        self._take_lock()
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> GdbRemote:
        from bench.targets.drivers.qemu import process  # the bench's emulator-process rules (die with the bench)

        self.gdb_port, self.serial_port = free_port(), free_port()
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = process.spawn(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        gdb = GdbRemote("127.0.0.1", self.gdb_port)
        deadline = time.monotonic() + 10.0
        while True:
            if self.proc.poll() is not None:
                raise MachineError(f"QEMU exited at start (status {self.proc.returncode}): {self.stderr_tail()}")
            try:
                gdb.connect(deadline_s=0.2)
                break
            except GdbRemoteError as e:
                if time.monotonic() > deadline:
                    raise MachineError(f"QEMU's gdbstub did not answer on port {self.gdb_port}: {e}; "
                                       f"{self.stderr_tail()}") from e
        self.gdb = gdb
        if self.persist_flash and self.flash.used:
            base = self.spec.flash[0]
            gdb.write_memory(base, bytes(self.flash.data[:self.flash.used]))
            self.restored = self.flash.used
            # power-on reset with the flash in place, as a board comes up: SP and PC from its
            # vector table (QEMU reset the core at start, when its flash was still empty)
            gdb.monitor("system_reset")
        return gdb

    def stderr_tail(self, n: int = 1500) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        # QEMU's dying words (e.g. "qemu: fatal: Lockup: ...") and its core register dump, without
        # the FPU registers and the "terminating on signal" of a normal stop
        lines = [line.strip() for line in text.splitlines()
                 if "terminating on signal" not in line and not _FPU_DUMP.match(line)]
        return " ".join(x for x in lines if x)[-n:]

    @property
    def exited(self) -> str:
        """Why QEMU is gone ("" while it runs)."""
        if self.proc is None or self.proc.poll() is None:
            return ""
        tail = self.stderr_tail()
        return f"QEMU exited with status {self.proc.returncode}" + (f": {tail}" if tail else "")

    def gone_account(self, grace_s: float = 3.0) -> str:
        """Why QEMU is gone, once its gdbstub connection broke: the socket closes a moment before the
        process is reaped, so wait up to `grace_s` for the exit (and its stderr) before answering."""
        if self.proc is None:
            return ""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=grace_s)
        return self.exited

    def stop(self) -> None:
        """Close the gdbstub connection, stop QEMU, keep the flash. Never raises."""
        gdb, self.gdb = self.gdb, None
        if gdb is not None:
            gdb.close()
        proc, self.proc = self.proc, None
        if proc is not None:
            from bench.targets.drivers.qemu import process

            process.kill_group(proc)
        if self.persist_flash:
            with contextlib.suppress(OSError):
                self.flash.save()
        self._drop_lock()
