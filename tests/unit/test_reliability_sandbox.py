"""The QEMU sandbox and process hygiene, without running QEMU: the command the driver launches, the
refusal without bubblewrap, what an exit status means (bench.targets.drivers.qemu.sandbox/process).
The guest's own escape attempts run in tests/qemu/test_reliability_escape.py."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.errors import TargetError
from bench.images import find_image
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver, process, sandbox


def _driver(tmp_path: Path, target: str = "qemu-mps2-an386", **opts: object) -> QemuDriver:
    t = load_target(target)
    t = dataclasses.replace(t, driver_options={**t.driver_options, **opts})
    d = QemuDriver(t, tmp_path / "w")
    d.image = find_image("passthrough-an386").path
    return d


def _arg_pairs(cmd: list[str], flag: str) -> list[tuple[str, str]]:
    return [(cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd) if a == flag]


needs_bwrap = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bwrap (bubblewrap) not installed")


@needs_bwrap
def test_the_guest_may_write_only_its_link_folder(tmp_path):
    d = _driver(tmp_path, cycles_est=False)  # (with the plugin, its marks file too: the next test)
    cmd = d._launch_command(d.command(d.image, 5555))
    assert cmd[0].endswith("bwrap") and "--unshare-all" in cmd and "--die-with-parent" in cmd
    assert cmd[cmd.index("--cap-drop") + 1] == "ALL" and "--clearenv" in cmd
    writable = _arg_pairs(cmd, "--bind")
    assert [dest for _, dest in writable] == [str(d.link_dir)]
    readonly = {dest for _, dest in _arg_pairs(cmd, "--ro-bind")}
    assert str(d.image) in readonly and "/usr/lib" in readonly
    assert not readonly & {"/", "/usr", "/usr/bin", "/bin", "/etc", "/home", "/tmp", str(Path.home())}
    assert cmd[cmd.index("--chdir") + 1] == str(d.link_dir)
    qemu = cmd[cmd.index("--") + 1:]
    assert qemu[qemu.index("-nic") + 1] == "none"  # no NIC: the mps2 LAN9118 would get user networking
    assert "tcp:127.0.0.1:5555,server=on" in qemu[qemu.index("-serial") + 1]
    assert "--share-net" in cmd  # the UART link: the host's network namespace for the 127.0.0.1 socket
    assert "confined by bwrap" in d.logs()


@needs_bwrap
def test_semihosting_link_gets_no_network_namespace_and_plugins_their_files(tmp_path):
    d = _driver(tmp_path, "qemu-mps2-an386-sh")
    so = tmp_path / "plugin,x.so"
    so.write_bytes(b"")
    out = tmp_path / "marks.bin"
    cmd = d._launch_command(d.command(d.image, 0) + ["-plugin", f"{str(so).replace(',', ',,')},out={out},ws=0"])
    assert "--share-net" not in cmd and "--unshare-all" in cmd
    assert (str(so), str(so)) in _arg_pairs(cmd, "--ro-bind")
    assert (str(out), str(out)) in _arg_pairs(cmd, "--bind") and out.is_file()


def test_plugin_paths():
    ro, rw = sandbox.plugin_paths(["q", "-plugin", "/a/b.so,out=/r/m.bin,ws=2", "-plugin", "file=/c.so,arg=1"])
    assert ro == [Path("/a/b.so"), Path("/c.so")] and rw == [Path("/r/m.bin")]


def test_without_bwrap_the_driver_refuses_and_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else "/usr/bin/" + name)
    d = _driver(tmp_path)
    with pytest.raises(TargetError, match=r"`bwrap` is not installed: apt-get install bubblewrap .* "
                                          r"sandbox = \"none\""):
        d._launch_command(d.command(d.image, 5555))


def test_sandbox_none_runs_unconfined_and_says_so(tmp_path):
    d = _driver(tmp_path, sandbox="none")
    cmd = d.command(d.image, 5555)
    assert d._launch_command(cmd) == cmd
    assert 'QEMU runs unconfined (sandbox = "none"' in d.logs()


def test_bwrap_start_up_failure_is_explained():
    assert "unprivileged user namespaces" in sandbox.explain_bwrap_failure(
        "bwrap: No permissions to creating new namespace, likely because the kernel does not allow it")
    assert sandbox.explain_bwrap_failure("qemu-system-arm: something else") == ""


@pytest.mark.parametrize("rc,sandboxed,stderr,words", [
    (137, True, "", "killed by SIGKILL"),
    (-9, False, "", "killed by SIGKILL"),
    (-15, False, "", "killed by SIGTERM"),
    (134, True, "qemu: fatal: Lockup: can't escalate 3 to HardFault", "locked up"),
    (7, True, "", "QEMU exited with status 7: the image ended itself"),
    (1, True, "bwrap: execvp: No such file", "the sandbox around QEMU did not start"),
])
def test_exit_status_in_words(rc, sandboxed, stderr, words):
    assert words in process.describe_exit(rc, sandboxed, stderr)


def test_children_die_with_the_parent(tmp_path):
    """PR_SET_PDEATHSIG through process.spawn: a parent killed by SIGKILL takes its child along."""
    code = (
        "import sys, time\n"
        "from bench.targets.drivers.qemu import process\n"
        "p = process.spawn(['sleep', '60'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert os.getpgid(child) == child  # its own process group
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the child outlived its parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_group_kills_the_whole_group():
    p = process.spawn(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    time.sleep(0.3)
    members = [int(x) for x in subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True, text=True)
               .stdout.split()]
    assert len(members) >= 3
    process.kill_group(p, grace=1.0)
    time.sleep(0.2)
    assert p.returncode == -signal.SIGTERM and not any(_alive(m) for m in members)


class _Inner:
    """A transport that delivers `chunks`, then fails like a closed socket."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = list(chunks)
        self.url = "fake://"

    def read(self, max_bytes: int, timeout: float) -> bytes:
        from bench.errors import LinkError

        if not self.chunks:
            raise LinkError("link fake:// failed while reading: Connection reset by peer")
        return self.chunks.pop(0)

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def test_watched_link_reports_the_end_and_hands_over_unterminated_text():
    from bench.link.framing import FrameDecoder
    from bench.targets.drivers.qemu.watch import WatchedLink

    texts: list[str] = []

    def died(wait: float, device_text: str) -> TargetError:
        texts.append(device_text)
        return TargetError(f"QEMU stopped: the core locked up. Device output: {device_text}")

    link = WatchedLink(_Inner([b"boot ok\r\n\x00", b"\x01\x02\x03\x00panic: stack ", b"overflow"]), died)
    dec = FrameDecoder()
    for _ in range(3):
        dec.feed(link.read(64, 0.1))
    assert "panic: stack overflow" in dec.console_text()  # not closed by a delimiter, still shown
    dec.feed(link.read(64, 0.1))  # QEMU is gone: the stream is closed for the decoder...
    assert "panic: stack overflow" in dec.console_text()
    with pytest.raises(TargetError, match=r"locked up\. Device output: boot ok\s+panic: stack overflow") as err:
        link.read(64, 0.1)  # ... and then the reason
    assert "Connection reset" in str(err.value.__cause__)
    assert link.url == "fake://"  # the inner transport's attributes show through


def test_watched_link_passes_link_errors_through_while_qemu_runs():
    from bench.errors import LinkError
    from bench.targets.drivers.qemu.watch import WatchedLink

    link = WatchedLink(_Inner([]), lambda wait, text: None)
    with pytest.raises(LinkError, match="Connection reset by peer"):
        link.read(64, 0.1)
