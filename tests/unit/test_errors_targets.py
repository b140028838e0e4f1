"""The error catalogue (#16, docs/errors.md), targets and the link: every refusal of the QEMU driver
and of a byte transport that a user can meet before or without a full run (QEMU not installed, a
sandbox path that does not exist, a driver used out of order, a link whose other end went away),
provoked through the public path (QemuDriver from a target TOML, SerialTransport), each checked for
what went wrong and what to do."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from test_errors_config import _set, _target_data, _write_target

from bench.errors import LinkError, TargetError
from bench.images import find_image
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver


def _driver(tmp_path: Path, **qemu: object) -> QemuDriver:
    data = _target_data("qemu-mps2-an386-sh")
    for k, v in qemu.items():
        _set(data, f"qemu.{k}", v)
    return QemuDriver(load_target(_write_target(tmp_path, data)), tmp_path / "w")


def test_qemu_not_installed(tmp_path):
    d = _driver(tmp_path, binary="qemu-system-arm-not-installed")
    with pytest.raises(TargetError, match=r"qemu-system-arm-not-installed not found: apt-get install qemu-system-arm"):
        d.start(find_image("passthrough-an386").path)
    assert d.proc is None


@pytest.mark.skipif(shutil.which("bwrap") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs bwrap and qemu-system-arm")
def test_sandbox_path_that_does_not_exist(tmp_path):
    d = _driver(tmp_path, sandbox_ro=["/opt/no-such-qemu-libs"])
    try:
        with pytest.raises(TargetError, match=r"the QEMU sandbox cannot give the guest /opt/no-such-qemu-libs: it does "
                                              r"not exist; fix the path \(an entry of sandbox_ro in the target's "
                                              r"\[qemu\] table, or the image\) or remove it"):
            d.start(find_image("passthrough-an386").path)
    finally:
        d.stop()


def test_driver_used_before_an_image_started(tmp_path):
    d = _driver(tmp_path)
    with pytest.raises(TargetError, match=r"QEMU is not running: call start\(image\) first"):
        d.open_link()
    with pytest.raises(TargetError, match=r"nothing to reset: no image started"):
        d.reset()


def test_link_whose_other_end_went_away():
    """A TCP serial link (as QEMU's or ser2net's) whose peer closed: writing says which link failed."""
    from bench.link.transport import SerialTransport

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    opened = threading.Event()

    def accept_and_close() -> None:
        c, _ = srv.accept()
        opened.wait(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        c.close()

    t = threading.Thread(target=accept_and_close)
    t.start()
    link = SerialTransport(f"socket://127.0.0.1:{port}")
    opened.set()
    t.join()
    srv.close()
    try:
        with pytest.raises(LinkError, match=rf"link socket://127\.0\.0\.1:{port} failed while writing: "):
            for _ in range(50):  # the first write may still reach the kernel's buffer
                link.write(b"\x00" * 64)
                time.sleep(0.01)
    finally:
        link.close()


# ---- the CMSIS yardstick of `bench kernels` (a user's own CMSIS checkouts) ------------------------

def test_cmsis_checkout_that_is_not_one(tmp_path, monkeypatch):
    from bench.errors import ConfigError
    from bench.harness import cmsis

    monkeypatch.setenv("BENCH_CMSIS_NN", str(tmp_path))
    with pytest.raises(ConfigError, match=r"BENCH_CMSIS_NN=.*: .*Include/arm_nnfunctions\.h not found; point "
                                          r"BENCH_CMSIS_NN at the library's checkout \(the folder holding Include/ and "
                                          r"Source/\), or unset it to skip that column"):
        cmsis.cmsis_nn_dir()
    monkeypatch.setenv("BENCH_CMSIS_CORE", str(tmp_path))
    with pytest.raises(ConfigError, match=r"BENCH_CMSIS_CORE=.*: no cmsis_compiler\.h there \(give CMSIS-Core's "
                                          r"Include folder\)"):
        cmsis.dsp_includes(tmp_path, tmp_path / "out")
