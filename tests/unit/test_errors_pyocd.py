"""The error catalogue (#16, docs/errors.md), boards through pyOCD: every failure of the probe layer
that a user can meet (the probes cannot be listed, a probe uid that names two probes, a session that
cannot be created or whose probe went away, programming, flash read-back, the cycle counter, reset),
provoked through PyocdDriver.start with pyOCD's probe layer replaced (the World of
test_pyocd_driver.py: the lowest layer only), each checked for what went wrong and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_pyocd_driver
from test_pyocd_driver import UID, FakeProbe, FakeTarget, make_target

from bench.errors import TargetError
from bench.targets.drivers.pyocd import DWT_CTRL, DWT_CYCCNT, PyocdDriver

world = test_pyocd_driver.world  # the fixtures: pyOCD's probe layer replaced, and a small ELF
image = test_pyocd_driver.image


def _start(tmp_path: Path, image: Path, **opts: object) -> PyocdDriver:
    d = PyocdDriver(make_target(tmp_path, **opts), tmp_path)
    d.start(image)
    return d


def test_probes_cannot_be_listed(world, tmp_path, image, monkeypatch):
    def broken(blocking: bool = True, unique_id: str | None = None) -> list:
        raise OSError("libusb-1.0.so.0: cannot open shared object file")

    monkeypatch.setattr(world.ConnectHelper, "get_all_connected_probes", staticmethod(broken))
    with pytest.raises(TargetError, match=r"pyOCD could not list debug probes \(OSError: libusb.*\); check that libusb "
                                          r"is installed and that you may access the probe \(udev rules"):
        _start(tmp_path, image)


def test_probe_uid_that_names_two_probes(world, tmp_path, image):
    world.probes = [FakeProbe("0671FF48AAAA"), FakeProbe("0671FF48BBBB")]
    with pytest.raises(TargetError, match=r"probe_uid '0671FF48' matches more than one probe: .*0671FF48AAAA.*"
                                          r"0671FF48BBBB.*; set \[pyocd\] probe_uid in .*test-board\.toml to the "
                                          r"unique id of the board's probe \(`pyocd list` prints them\) in full"):
        _start(tmp_path, image, probe_uid="0671FF48")


def test_session_cannot_be_created(world, tmp_path, image):
    world.session_error = OSError("LIBUSB_ERROR_BUSY")
    with pytest.raises(TargetError, match=rf"could not create a pyOCD session on probe {UID} \(OSError: "
                                          r"LIBUSB_ERROR_BUSY\); check the probe's USB cable and that no other "
                                          r"program \(pyocd, an IDE\) holds the probe"):
        _start(tmp_path, image)


def test_probe_gone_before_the_session_opened(world, tmp_path, image, monkeypatch):
    real = world.ConnectHelper.session_with_chosen_probe

    def gone(**kw: object) -> None:
        world.probes = []  # unplugged between listing and opening
        return real(**kw)

    monkeypatch.setattr(world.ConnectHelper, "session_with_chosen_probe", staticmethod(gone))
    with pytest.raises(TargetError, match=rf"probe {UID} disappeared before the session opened; check its USB cable"):
        _start(tmp_path, image)


def test_programming_fails(world, tmp_path, image, monkeypatch):
    def refuse(self: object, path: str, file_format: str | None = None, **kw: object) -> None:
        raise RuntimeError("flash algo returned 0x1 (write protected)")

    monkeypatch.setattr(world.FileProgrammer, "program", refuse)
    with pytest.raises(TargetError, match=rf"programming agent-test\.elf through {UID} failed \(RuntimeError: flash "
                                          r"algo returned 0x1 \(write protected\)\); if the flash is write-protected, "
                                          r"erase it: `pyocd erase --chip -t stm32f429xi`"):
        _start(tmp_path, image)


def test_flash_read_back_fails(world, tmp_path, image, monkeypatch):
    def fail(self: FakeTarget, addr: int, size: int) -> list[int]:
        raise OSError("SWD ACK FAULT")

    monkeypatch.setattr(FakeTarget, "read_memory_block8", fail)
    with pytest.raises(TargetError, match=r"reading flash back at 0x08000000 failed \(SWD ACK FAULT\); try a lower "
                                          r"\[pyocd\] frequency"):
        _start(tmp_path, image)


def test_cycle_counter_that_does_not_stay_on(world, tmp_path, image, monkeypatch):
    real = FakeTarget.write32

    def write32(self: FakeTarget, addr: int, value: int) -> None:
        real(self, addr, value & ~1 if addr == DWT_CTRL else value)  # CYCCNTENA does not stick

    monkeypatch.setattr(FakeTarget, "write32", write32)
    with pytest.raises(TargetError, match=r"DWT_CTRL\.CYCCNTENA did not stay set; the cycle counter cannot be enabled "
                                          r"from the debugger on this part"):
        _start(tmp_path, image)


def test_reset_fails(world, tmp_path, image, monkeypatch):
    def fail(self: FakeTarget, reset_type: object = None) -> None:
        raise OSError("no ACK")

    monkeypatch.setattr(FakeTarget, "reset_and_halt", fail)
    with pytest.raises(TargetError, match=rf"reset/run of the stm32f429xi through {UID} failed \(OSError: no ACK\); "
                                          r"check the board's power and reset jumpers, or try \[pyocd\] reset_type = "
                                          r"\"hardware\""):
        _start(tmp_path, image)


def test_cycle_counter_cannot_be_read(world, tmp_path, image, monkeypatch):
    d = _start(tmp_path, image)
    real = FakeTarget.read32

    def read32(self: FakeTarget, addr: int) -> int:
        if addr == DWT_CYCCNT:
            raise OSError("probe disconnected")
        return real(self, addr)

    monkeypatch.setattr(FakeTarget, "read32", read32)
    try:
        with pytest.raises(TargetError, match=rf"reading DWT_CYCCNT through probe {UID} failed \(probe disconnected\); "
                                              r"check the probe cable and that the board is powered"):
            d.read_cycle_counter()
    finally:
        d.stop()
