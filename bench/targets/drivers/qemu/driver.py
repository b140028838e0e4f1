"""QemuDriver: boots an image in qemu-system-arm (bench.targets.drivers.qemu describes it)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.errors import LinkError, TargetError
from bench.link.transport import FifoTransport, SerialTransport
from bench.targets.drivers.base import Driver
from bench.targets.drivers.qemu import process, sandbox
from bench.targets.drivers.qemu.options import parse_qemu_options
from bench.targets.drivers.qemu.qmp import SOCKET_NAME, qmp_args, qmp_execute
from bench.targets.drivers.qemu.watch import WatchedLink
from bench.targets.elfcheck import check_cortex_m_elf
from bench.targets.protocols import CycleEstimator, ExitRunner
from bench.targets.spec import TargetSpec

_REGISTER_DUMP = re.compile(r"^\s*(R\d\d=|XPSR=|[sd]\d\d=|FPSCR:)")
_NOISE = ("has no peer", "QEMU waiting for connection", "bench: QEMU ")  # stderr lines that explain no end


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def qemu_version(binary: str = "qemu-system-arm") -> str:
    if shutil.which(binary) is None:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


class QemuDriver(Driver, ExitRunner, CycleEstimator):
    def __init__(self, target: TargetSpec, workdir: Path):
        super().__init__(target, workdir)
        self.options = o = parse_qemu_options(target)
        self.binary = o.binary
        self.machine = o.machine
        self.fixed_port = o.port
        self.extra_args = list(o.extra_args)
        self.link = o.link
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.image: Path | None = None
        self._log_path = self.workdir / "qemu.stderr.log"
        self._link: WatchedLink | None = None
        self._log_offset = 0
        self._sandboxed = False

    @classmethod
    def check_options(cls, target: TargetSpec) -> None:
        parse_qemu_options(target)

    def command(self, image: Path, port: int, serial: str | None = None, qmp: bool = True) -> list[str]:
        """The QEMU command line; serial overrides the UART backend the link implies; qmp: the monitor
        socket reset() uses (qmp.py)."""
        c = self.target.counter
        if serial is None:
            serial = ("null" if self.link == "semihost"
                      else f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on")
        cmd = [self.binary, "-M", self.machine, "-display", "none", "-monitor", "none", "-nic", "none",
               "-serial", serial, "-semihosting-config", "enable=on,target=native",
               "-kernel", str(Path(image).resolve())]
        if qmp:
            cmd += qmp_args()
        if c.kind == "instructions":
            cmd += ["-icount", f"shift={c.icount_shift},sleep=off"]
        if self.options.cycles_est and serial != "stdio":
            cmd += self._plugin_args(c.kind == "instructions")
        return cmd + self.extra_args

    # ---- cycles_est (bench.cyclest): CycleEstimator -----------------------------------
    @property
    def marks_path(self) -> Path:
        return self.workdir / "cycles_est.bin"

    def _plugin_args(self, icount: bool) -> list[str]:
        from bench.cyclest import CyclestError, ensure_plugin, qemu_args

        try:
            so = ensure_plugin(self.binary)
        except CyclestError as e:
            raise TargetError(f"target {self.target.name} asks for cycles_est: {e}; or set cycles_est = false "
                              "in its [qemu] table") from e
        return qemu_args(so, self.marks_path, self.options.cycles_ws, self.options.cycles_flash, icount=icount)

    @property
    def estimates_cycles(self) -> bool:
        return self.options.cycles_est

    def cycle_regions(self) -> Any:
        """The plugin's regions so far (bench.cyclest.Regions), or None without the plugin."""
        from bench.cyclest import read_marks, regions

        if not self.options.cycles_est or not self.marks_path.is_file():
            return None
        return regions(read_marks(self.marks_path))

    def _require_binary(self) -> None:
        if shutil.which(self.binary) is None:
            raise TargetError(f"{self.binary} not found: apt-get install qemu-system-arm")

    # ---- the emulator process: sandboxed (sandbox.py), dying with the bench (process.py) ------------
    @property
    def link_dir(self) -> Path:
        """The guest's working directory and the only folder it may write: the semihosting FIFOs live here."""
        return self.workdir / "link"

    def _check_image(self, image: Path) -> None:
        check_cortex_m_elf(image, self.target.cpu, what=f"{Path(image).name} ({image})")

    def _launch_command(self, cmd: list[str]) -> list[str]:
        """cmd inside the sandbox, or as it is with sandbox = "none" (which the log then says)."""
        self.link_dir.mkdir(parents=True, exist_ok=True)
        if self.options.sandbox == "none":
            self._sandboxed = False
            with open(self._log_path, "ab") as log:
                log.write(b"bench: QEMU runs unconfined (sandbox = \"none\" in the target's [qemu] table)\n")
            return cmd
        bwrap = sandbox.require_bwrap(self.target.name)
        self._sandboxed = True
        plugin_ro, plugin_rw = sandbox.plugin_paths(cmd)
        ro = [Path(self.image or "")] + plugin_ro + [Path(x) for x in self.options.sandbox_ro]
        wrapped = sandbox.sandbox_command(cmd, bwrap=bwrap, root=self.link_dir, ro=ro, rw_files=plugin_rw,
                                          share_net=self.link == "uart")
        with open(self._log_path, "ab") as log:
            log.write(f"bench: QEMU confined by bwrap: the guest may write only in {self.link_dir}"
                      f"{''.join(', ' + str(f) for f in plugin_rw)}; no network\n".encode())
        return wrapped

    def _spawn(self, cmd: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        return process.spawn(self._launch_command(cmd), stdin=subprocess.DEVNULL, cwd=self.link_dir, **kw)

    def _stderr_since_start(self) -> str:
        return self.logs()[self._log_offset:]

    def _exit_message(self, rc: int, device_text: str = "") -> str:
        err = self._stderr_since_start()
        keep = [ln.strip() for ln in err.splitlines()
                if ln.strip() and not _REGISTER_DUMP.match(ln) and not any(n in ln for n in _NOISE)]
        tail = " | ".join(keep[-8:])[-800:] or "(nothing)"
        what = process.describe_exit(rc, self._sandboxed, err)
        hint = sandbox.explain_bwrap_failure(err) if self._sandboxed else ""
        name = self.image.name if self.image else "the image"
        return (f"QEMU stopped while running {name}: {what}.{hint} QEMU's stderr ({self._log_path}): {tail}. "
                f"Device output: {device_text or '(nothing)'}")

    def _death(self, wait: float, device_text: str) -> TargetError | None:
        """The error to report when QEMU has exited (within `wait` seconds), else None."""
        p = self.proc
        if p is None:
            return None
        rc = process.wait_exit(p, wait)
        return None if rc is None else TargetError(self._exit_message(rc, device_text))

    def start(self, image: Path) -> None:
        self._require_binary()
        self.stop()
        self._check_image(Path(image))
        self.image = Path(image)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.link_dir / SOCKET_NAME).unlink(missing_ok=True)
        if self.link != "semihost":
            self._clear_fifos()
        if self.link == "semihost":
            self._make_fifos()
            with open(self._log_path, "ab") as log:
                self._log_offset = log.tell()
                self.proc = self._spawn(self.command(self.image, 0), stdout=log, stderr=log)
            return
        for _attempt in range(3):
            self.port = self.fixed_port or free_port()
            log = open(self._log_path, "ab")
            self._log_offset = log.tell()
            try:
                self.proc = self._spawn(self.command(self.image, self.port), stdout=log, stderr=log)
            finally:
                log.close()
            if self._wait_listening():
                return
            err = self._stderr_since_start()
            rc = self.proc.poll()
            self.stop()
            if "Address already in use" in err or "Failed to bind" in err:
                if self.fixed_port:
                    raise TargetError(
                        f"QEMU could not listen on port {self.fixed_port}: it is already in use (another "
                        "run or QEMU?). Stop it, or set port = 0 in the target's [qemu] table for a free port."
                    )
                continue  # lost a race for an automatic port: take another
            if rc is not None:
                raise TargetError(self._exit_message(rc))
            raise TargetError(f"QEMU did not start for {image}: it runs but did not open its serial socket within "
                              f"10 s; its output ({self._log_path}): {err.strip()[-800:] or '(nothing)'}. Check the "
                              "[qemu] binary and options of the target, or a machine too loaded to start it")
        raise TargetError("QEMU could not bind a free TCP port after 3 attempts: each port it was given was taken "
                          "before it could listen. Free some ports, or set port = N (one that is free) in the "
                          "target's [qemu] table")

    def _wait_listening(self, timeout: float = 10.0) -> bool:
        """Wait until QEMU says it waits for the serial connection (the guest has not run yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if "waiting for connection" in self._stderr_since_start():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def _clear_fifos(self) -> None:
        """FIFOs a semihosting run left here would take the guest's link (it looks for them at boot)."""
        for name in ("bench.link.in", "bench.link.out"):
            (self.link_dir / name).unlink(missing_ok=True)

    def _make_fifos(self) -> None:
        self.link_dir.mkdir(parents=True, exist_ok=True)
        for name in ("bench.link.in", "bench.link.out"):
            p = self.link_dir / name
            p.unlink(missing_ok=True)
            os.mkfifo(p)

    def open_link(self) -> WatchedLink:
        """The link, watched: when QEMU ends, reads and writes raise a TargetError that says why (watch.py)."""
        if self.proc is None:
            raise TargetError("QEMU is not running: call start(image) first")
        inner: SerialTransport | FifoTransport
        if self.link == "semihost":
            inner = self._open_fifos()
        else:
            try:
                inner = SerialTransport(f"socket://127.0.0.1:{self.port}")
            except LinkError as e:
                err = self._death(1.0, "")
                if err is not None:
                    raise err from e
                raise
        self._link = WatchedLink(inner, self._death)
        return self._link

    def _open_fifos(self, timeout: float = 10.0) -> FifoTransport:
        """The FIFOs, once the guest has opened its ends; a QEMU that exits first is reported as such."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return FifoTransport(str(self.link_dir / "bench.link.in"), str(self.link_dir / "bench.link.out"),
                                     open_timeout=0.2)
            except LinkError as e:
                err = self._death(0.0, "")
                if err is not None:
                    raise err from e
                if time.monotonic() > deadline:
                    raise

    def reset(self) -> None:
        """A system reset of the running machine (QMP `system_reset`, qmp.py): the image starts again
        from its reset vector with RAM kept, and the link stays open (the chardev survives the reset)."""
        if self.image is None or self.proc is None:
            raise TargetError("nothing to reset: no image started")
        if self.link == "semihost":
            # A guest waiting in a semihosting read holds QEMU's main loop until the host writes, so the
            # monitor answers only then: the reset is asked for here and happens once the next request
            # reaches the guest (a failure is in the driver log).
            threading.Thread(target=self._reset_later, daemon=True).start()
            return
        qmp_execute(self.link_dir, "system_reset")
        self._log_line("bench: system_reset through QMP (the link stays open)")

    def _reset_later(self) -> None:
        try:
            qmp_execute(self.link_dir, "system_reset", timeout=60.0)
            self._log_line("bench: system_reset through QMP, taken once the guest ran (the link stays open)")
        except TargetError as e:
            self._log_line(f"bench: {e}")

    def _log_line(self, text: str) -> None:
        with open(self._log_path, "ab") as log:
            log.write(text.encode() + b"\n")

    def run_to_exit(self, image: Path, timeout: float = 120.0, *, cycles_est: bool = False) -> tuple[int, str]:
        """Run an image that ends on its own (semihosting SYS_EXIT) to its end, its UART on stdout.

        For self-contained images (the kernel benchmarks): no link, no handshake, nothing left
        running. Returns QEMU's exit status (the image's exit code; minus the signal number when QEMU
        was killed) and the UART text; QEMU's stderr goes to logs(). The guest's working directory
        (where relative semihosting paths land) is link_dir, the one folder the sandbox lets it write.
        cycles_est=True loads the cm4cycles plugin (its marks in marks_path; cycle_regions() reads them
        when the target sets cycles_est, else bench.cyclest.read_marks(marks_path)).
        """
        self._require_binary()
        self.stop()
        self._check_image(Path(image))
        self.image = Path(image)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._clear_fifos()
        with open(self._log_path, "ab") as log:
            self._log_offset = log.tell()
            cmd = self.command(self.image, 0, serial="stdio", qmp=False)
            if cycles_est:
                self.marks_path.unlink(missing_ok=True)
                cmd += self._plugin_args(self.target.counter.kind == "instructions")
            p = self._spawn(cmd, stdout=subprocess.PIPE, stderr=log)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise TargetError(f"{self.image.name} did not finish in {timeout} s under QEMU (run_to_exit "
                              "needs an image that ends with a semihosting exit)") from e
        finally:
            process.kill_group(p)
            if p.stdout is not None:
                p.stdout.close()
        rc = p.returncode
        if self._sandboxed and rc == 1 and "bwrap:" in self._stderr_since_start():
            raise TargetError(self._exit_message(rc))  # the sandbox did not start: no image ran
        sig = process.signal_of(rc, self._sandboxed)
        return (-sig if sig is not None else rc), out.decode(errors="replace")

    def exit_status(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        p, self.proc = self.proc, None
        if p is None:
            return
        process.kill_group(p)  # QEMU and its sandbox: the whole process group

    def logs(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
