"""An emulated farm board on its board host: what a real board, its USB serial port and a `pyocd server`
for its debug probe are on an exporter host, built from QEMU (docs/farm.md, "emulated boards").

* the board: `qemu-system-arm -M netduinoplus2 -S` running for as long as the board is "powered",
  its USART1 (the link) on a pseudo-terminal, its gdbstub on a TCP port;
* the board's serial port: the pty, exported by labgrid's exporter as a RawSerialPort, which the
  exporter serves through ser2net with RFC 2217 (a NetworkSerialPort to its clients);
* its debug probe: `pyocd server` on the emulated probe that attaches to the running QEMU
  (`qemugdb:netduinoplus2@127.0.0.1:<gdb port>`, bench.targets.qemuprobe.attached), exported as a
  PyOCDProbeServer resource (host, port).

`python -m bench.farm.emuboard NAME [NAME ...] --dir DIR` starts one per name and prints the exporter
configuration (YAML) for them; it runs until Ctrl-C or SIGTERM, then stops everything it started.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.errors import TargetError
from bench.targets.drivers.qemu import process
from bench.targets.qemuprobe.machine import free_port

_PTY = re.compile(rb"char device redirected to (/dev/pts/\d+) \(label serial0\)")


class EmuBoard:
    """One emulated board with its pty and its pyOCD probe server (see the module docstring)."""

    def __init__(self, name: str, workdir: Path, machine: str = "netduinoplus2", icount_shift: int = 7,
                 host: str = "127.0.0.1", qemu: str = "qemu-system-arm"):
        self.name, self.workdir, self.machine = name, Path(workdir), machine
        self.icount_shift, self.host, self.qemu = icount_shift, host, qemu
        self.gdb_port = 0
        self.probe_port = 0
        self.pty = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None

    @property
    def probe_uid(self) -> str:
        return f"qemugdb:{self.machine}@127.0.0.1:{self.gdb_port}"

    def start(self, timeout_s: float = 20.0) -> EmuBoard:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.power_on(timeout_s)
        self.probe_port = free_port()
        log = open(self.workdir / f"{self.name}.pyocd.log", "wb")  # noqa: SIM115 - the child's
        try:
            remote = [] if self.host in ("127.0.0.1", "localhost") else ["--allow-remote"]  # else: loopback only
            self.server = process.spawn([sys.executable, "-m", "pyocd", "server", "--port", str(self.probe_port),
                                         "--uid", self.probe_uid, *remote],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        self._wait_port(self.probe_port, self.server, "pyocd server", timeout_s)
        return self

    def power_on(self, timeout_s: float = 20.0) -> None:
        """Start the board's QEMU (halted at reset, no image: its probe programs it)."""
        self.gdb_port = free_port()
        cmd = [self.qemu, "-M", self.machine, "-display", "none", "-monitor", "none", "-nic", "none",
               "-icount", f"shift={self.icount_shift},sleep=off", "-serial", "pty", "-S",
               "-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        logp = self.workdir / f"{self.name}.qemu.log"
        log = open(logp, "wb")  # noqa: SIM115
        try:
            self.proc = process.spawn(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        end = time.monotonic() + timeout_s
        while not self.pty:
            m = _PTY.search(logp.read_bytes())
            if m:
                self.pty = m.group(1).decode()
            elif self.proc.poll() is not None or time.monotonic() > end:
                raise TargetError(f"emulated board {self.name}: QEMU gave no pty ({logp.read_text(errors='replace')}); "
                                  f"check that `{self.qemu} -M {self.machine}` runs here (QEMU 7.2 or later)")
            else:
                time.sleep(0.05)
        self._wait_port(self.gdb_port, self.proc, "QEMU's gdbstub", timeout_s)

    def _wait_port(self, port: int, proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> None:
        import socket

        end = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise TargetError(f"emulated board {self.name}: {what} exited ({proc.returncode}); its log is in "
                                  f"{self.workdir}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > end:
                    raise TargetError(f"emulated board {self.name}: {what} does not listen on {port} after "
                                      f"{timeout_s:g} s; its log is in {self.workdir}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """The board dies (SIGKILL to its QEMU); its probe server stays, as a probe on a dead board."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        for p in (self.server, self.proc):
            if p is not None:
                process.kill_group(p)
        self.server = self.proc = None

    def exporter_group(self, speed: int = 115200) -> str:
        """This board's group of a labgrid exporter configuration (YAML)."""
        return (f"{self.name}:\n"
                f"  RawSerialPort:\n    port: {self.pty}\n    speed: {speed}\n"
                f"  PyOCDProbeServer:\n    host: {self.host}\n    port: {self.probe_port}\n"
                f"    probe: {self.probe_uid}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.farm.emuboard", description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="board names (the exporter groups, e.g. emu-a emu-b)")
    ap.add_argument("--dir", default=".", help="where the boards' logs go")
    ap.add_argument("--host", default="127.0.0.1", help="the host name clients reach the probe servers by")
    args = ap.parse_args(argv)
    boards: list[EmuBoard] = []

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        for n in args.names:
            boards.append(EmuBoard(n, Path(args.dir), host=args.host).start())
        print("".join(b.exporter_group() for b in boards), flush=True)
        while all(b.alive for b in boards):
            time.sleep(1.0)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for b in boards:
            b.stop()


if __name__ == "__main__":
    sys.exit(main())
