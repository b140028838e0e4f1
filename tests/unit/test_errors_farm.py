"""The farm's errors (docs/errors.md): an emulated board whose QEMU does not start, exits, or whose
gdbstub never listens (bench.farm.emuboard, with a fake `qemu-system-arm` program in place of QEMU:
the lowest layer), and a farm TOML value of the wrong type."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from bench.errors import ConfigError, TargetError
from bench.farm.emuboard import EmuBoard
from bench.farm.spec import parse_farm

PTY_LINE = "char device redirected to /dev/pts/77 (label serial0)"


def fake_qemu(tmp_path: Path, body: str) -> str:
    p = tmp_path / "fake-qemu"
    p.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)


def board(tmp_path: Path, body: str) -> EmuBoard:
    return EmuBoard("emu-a", tmp_path / "work", qemu=fake_qemu(tmp_path, body))


def test_a_qemu_that_gives_no_pty_quotes_its_output_and_says_what_to_check(tmp_path):
    b = board(tmp_path, "print('qemu-system-arm: unsupported machine type', flush=True)\nsys.exit(1)")
    try:
        with pytest.raises(TargetError) as e:
            b.start(timeout_s=10)
    finally:
        b.stop()
    msg = str(e.value)
    assert "emulated board emu-a: QEMU gave no pty (qemu-system-arm: unsupported machine type" in msg
    assert "-M netduinoplus2` runs here" in msg


def test_a_qemu_that_exits_after_its_pty_names_where_its_log_is(tmp_path):
    b = board(tmp_path, f"print({PTY_LINE!r}, flush=True)\nsys.exit(3)")
    try:
        with pytest.raises(TargetError, match=r"emulated board emu-a: QEMU's gdbstub exited \(3\); its log is in "):
            b.start(timeout_s=10)
    finally:
        b.stop()


def test_a_gdbstub_that_never_listens_times_out_with_the_port(tmp_path):
    b = board(tmp_path, f"print({PTY_LINE!r}, flush=True)\ntime.sleep(30)")
    try:
        with pytest.raises(TargetError, match=r"QEMU's gdbstub does not listen on \d+ after 1 s; its log is in "):
            b.start(timeout_s=1)
    finally:
        b.stop()
    assert not b.alive


@pytest.mark.parametrize("key", ["labgrid", "coordinator"])
def test_a_labgrid_name_that_is_not_text_is_refused(key):
    farm = {"place": [{"name": "f405", "target": "labgrid-netduinoplus2", key: 5}]}
    with pytest.raises(ConfigError, match=f"<farm>: place f405: {key} must be a string, got 5"):
        parse_farm(farm)
