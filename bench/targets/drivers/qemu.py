"""QEMU driver: runs an image in qemu-system-arm with the serial port on TCP.

-icount shift=N,sleep=off makes virtual time a pure function of the instructions executed
(docs/measurement.md); the serial socket uses nodelay and wait (QEMU starts the guest
only once the host's link is connected, so no byte of the boot output is lost).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench.errors import TargetError
from bench.link.transport import FifoTransport, SerialTransport
from bench.targets.drivers.base import Driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def qemu_version(binary: str = "qemu-system-arm") -> str:
    if shutil.which(binary) is None:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


class QemuDriver(Driver):
    def __init__(self, target, workdir):  # type: ignore[no-untyped-def]
        super().__init__(target, workdir)
        o = target.driver_options
        self.binary = str(o.get("binary", "qemu-system-arm"))
        self.machine = str(o.get("machine", target.board))
        self.fixed_port = int(o.get("port", 0))
        self.extra_args = [str(a) for a in o.get("extra_args", [])]
        self.link = str(o.get("link", "uart"))
        if self.link not in ("uart", "semihost"):
            raise TargetError(f"target {target.name}: [qemu] link must be 'uart' or 'semihost', not {self.link!r}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.image: Path | None = None
        self._log_path = self.workdir / "qemu.stderr.log"
        self._link: SerialTransport | FifoTransport | None = None
        self._log_offset = 0

    def command(self, image: Path, port: int) -> list[str]:
        c = self.target.counter
        serial = ("null" if self.link == "semihost"
                  else f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on")
        cmd = [self.binary, "-M", self.machine, "-display", "none", "-monitor", "none",
               "-serial", serial, "-semihosting-config", "enable=on,target=native",
               "-kernel", str(Path(image).resolve())]
        if c.kind == "instructions":
            cmd += ["-icount", f"shift={c.icount_shift},sleep=off"]
        return cmd + self.extra_args

    def start(self, image: Path) -> None:
        if shutil.which(self.binary) is None:
            raise TargetError(f"{self.binary} not found: apt-get install qemu-system-arm")
        self.stop()
        self.image = Path(image)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.link == "semihost":
            self._make_fifos()
            with open(self._log_path, "ab") as log:
                self.proc = subprocess.Popen(self.command(self.image, 0), stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL, cwd=self.workdir)
            return
        for _attempt in range(3):
            self.port = self.fixed_port or free_port()
            log = open(self._log_path, "ab")
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(self.command(self.image, self.port), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir)
            log.close()
            if self._wait_listening():
                return
            err = self.logs()
            self.stop()
            if "Address already in use" in err or "Failed to bind" in err:
                if self.fixed_port:
                    raise TargetError(
                        f"QEMU could not listen on port {self.fixed_port}: it is already in use (another "
                        "run or QEMU?). Stop it, or set port = 0 in the target's [qemu] table for a free port."
                    )
                continue  # lost a race for an automatic port: take another
            raise TargetError(f"QEMU did not start for {image}: {err.strip()[-800:]}")
        raise TargetError("QEMU could not bind a free TCP port after 3 attempts")

    def _wait_listening(self, timeout: float = 10.0) -> bool:
        """Wait until QEMU says it waits for the serial connection (the guest has not run yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if "waiting for connection" in self.logs()[self._log_offset:]:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def _make_fifos(self) -> None:
        import os

        for name in ("bench.link.in", "bench.link.out"):
            p = self.workdir / name
            p.unlink(missing_ok=True)
            os.mkfifo(p)

    def open_link(self) -> SerialTransport | FifoTransport:
        if self.proc is None:
            raise TargetError("QEMU is not running: call start(image) first")
        if self.link == "semihost":
            self._link = FifoTransport(str(self.workdir / "bench.link.in"), str(self.workdir / "bench.link.out"))
        else:
            self._link = SerialTransport(f"socket://127.0.0.1:{self.port}")
        return self._link

    def reset(self) -> None:
        if self.image is None:
            raise TargetError("nothing to reset: no image started")
        self.start(self.image)

    def exit_status(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=3)

    def logs(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
