"""QEMU that does not come up (docs/errors.md): the QEMU driver, from a target TOML whose [qemu] binary is
a fake `qemu-system-arm` (the lowest layer: a program that behaves as a broken or busy QEMU does)
that always loses its TCP port, that runs but never opens its serial socket, or that was built without
TCG plugins while the target asks for cycle estimates."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from test_errors_config import _set, _target_data, _write_target

from bench.errors import TargetError
from bench.images import find_image
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver


def fake_qemu(tmp_path: Path, body: str) -> str:
    p = tmp_path / "qemu-system-arm-fake"
    p.write_text(f"#!{sys.executable}\nimport sys, time\nif '-h' in sys.argv[1:]:\n"
                 "    print('usage: qemu-system-arm [options] [disk_image]\\n-M machine\\n-icount ...')\n"
                 f"    sys.exit(0)\n{body}\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)


def driver(tmp_path: Path, body: str, **qemu: object) -> QemuDriver:
    data = _target_data("qemu-mps2-an386")
    for k, v in {"binary": fake_qemu(tmp_path, body), "sandbox": "none", "cycles_est": False, **qemu}.items():
        _set(data, f"qemu.{k}", v)
    return QemuDriver(load_target(_write_target(tmp_path, data)), tmp_path / "w")


IMAGE = "passthrough-an386"


def test_a_port_lost_three_times_says_how_to_pin_one(tmp_path):
    d = driver(tmp_path, "sys.stderr.write('qemu-system-arm: -serial tcp::1,server=on: Failed to bind socket: "
                         "Address already in use\\n')\nsys.exit(1)")
    with pytest.raises(TargetError) as e:
        d.start(find_image(IMAGE).path)
    msg = str(e.value)
    assert msg.startswith("QEMU could not bind a free TCP port after 3 attempts")
    assert "set port = N (one that is free) in the target's [qemu] table" in msg
    assert d.proc is None or d.proc.poll() is not None


def test_a_qemu_that_never_opens_its_socket_quotes_its_output(tmp_path):
    d = driver(tmp_path, "sys.stderr.write('qemu-system-arm: warning: slow start\\n')\nsys.stderr.flush()\n"
                         "time.sleep(60)")
    try:
        with pytest.raises(TargetError) as e:
            d.start(find_image(IMAGE).path)
    finally:
        d.stop()
    msg = str(e.value)
    assert f"QEMU did not start for {find_image(IMAGE).path}: it runs but did not open its serial socket" in msg
    assert "qemu.stderr.log): " in msg and "qemu-system-arm: warning: slow start. Check the [qemu] binary" in msg
    assert d.proc is None


def test_cycle_estimates_with_a_qemu_without_plugins_say_how_to_go_on(tmp_path):
    d = driver(tmp_path, "time.sleep(60)", cycles_est=True)
    try:
        with pytest.raises(TargetError) as e:
            d.start(find_image(IMAGE).path)
    finally:
        d.stop()
    msg = str(e.value)
    assert "asks for cycles_est: " in msg and "was built without TCG plugin support" in msg
    assert msg.endswith("or set cycles_est = false in its [qemu] table")
