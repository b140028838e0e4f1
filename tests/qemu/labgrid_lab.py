"""A loopback labgrid lab for the farm tests: a real `labgrid-coordinator` and `labgrid-exporter`s on
127.0.0.1 (free ports), emulated STM32F4 boards (bench.farm.emuboard: a running QEMU netduinoplus2 each,
its USART on a pty that the exporter serves through ser2net, its probe behind `pyocd server`), and one
labgrid place per board. Every process is started here and stopped by close()."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.farm.emuboard import EmuBoard

BIN = Path(sys.executable).parent


def require_labgrid() -> None:
    try:
        import labgrid  # noqa: F401
    except ImportError:
        pytest.skip("labgrid is not installed (pip install 'bench[farm]'; scripts/bootstrap and CI install it)")
    for exe in ("labgrid-coordinator", "labgrid-exporter", "labgrid-client"):
        if not (BIN / exe).exists():
            pytest.fail(f"{exe} is missing beside {sys.executable}: reinstall the farm extra")
    if not (shutil.which("ser2net") or os.path.exists("/usr/sbin/ser2net")):
        pytest.fail("ser2net is not installed: apt-get install ser2net (scripts/bootstrap installs it)")
    if not shutil.which("qemu-system-arm"):
        pytest.fail("qemu-system-arm is not installed (scripts/bootstrap installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """exporters: {exporter name: [board names]}."""

    def __init__(self, root: Path, exporters: dict[str, list[str]]):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.address = f"127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.boards: dict[str, EmuBoard] = {}
        self.exporters = exporters
        self.env = {**os.environ, "LG_COORDINATOR": self.address}

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - the child's
        p = subprocess.Popen(cmd, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                             start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def client(self, *args: str, user: str | None = None) -> str:
        env = dict(self.env)
        if user:
            env["LG_USERNAME"], env["LG_HOSTNAME"] = user, "otherhost"
        p = subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args], capture_output=True,
                           text=True, env=env, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {p.stdout}{p.stderr}")
        return p.stdout

    def start(self) -> Lab:
        self._spawn("coordinator", [str(BIN / "labgrid-coordinator"), "--listen", self.address])
        for names in self.exporters.values():
            for n in names:
                self.boards[n] = EmuBoard(n, self.root).start()
        for exp, names in self.exporters.items():
            cfg = self.root / f"{exp}.yaml"
            cfg.write_text("".join(self.boards[n].exporter_group() for n in names))
            self._spawn(exp, [str(BIN / "labgrid-exporter"), "--coordinator", self.address, "--name", exp,
                              "--hostname", "127.0.0.1", str(cfg)])
        for exp, names in self.exporters.items():
            for n in names:
                self.client("-p", n, "create")
                self.client("-p", n, "add-match", f"{exp}/{n}/*")
                self.client("-p", n, "set-tags", "board=netduinoplus2")
        end = time.monotonic() + 60
        while True:  # every board's serial port and probe server registered
            out = self.client("resources")
            if all(f"{exp}/{n}/{cls}" in out for exp, names in self.exporters.items() for n in names
                   for cls in ("NetworkSerialPort", "PyOCDProbeServer")):
                return self
            assert time.monotonic() < end, f"the exporters did not register their resources: {out}"
            time.sleep(0.3)

    def close(self) -> None:
        for b in self.boards.values():
            b.stop()
        for p in reversed(self.procs):  # exporters first (they stop their ser2net), the coordinator last
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    p.wait(5)
