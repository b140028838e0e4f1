"""PyocdDriver against a replaced probe layer: no probe, no board, no USB.

With pyOCD installed, the fakes are patched in at pyOCD's own module paths
(pyocd.core.helpers.ConnectHelper, pyocd.flash.file_programmer.FileProgrammer,
pyocd.target.pack.pack_target.ManagedPacks), so the driver's real import lines and pyOCD's
real target table are exercised. Without pyOCD the same fakes are handed to the driver through
its `_load_pyocd` seam, and only the tests about pyOCD's real API are skipped.
"""

from __future__ import annotations

import inspect
import re
import struct
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.errors import ConfigError, ImageError, TargetError
from bench.link.transport import SerialTransport
from bench.targets import load_target, parse_target
from bench.targets.drivers import pyocd as pyocd_driver
from bench.targets.drivers.pyocd import (
    DEMCR,
    DEMCR_TRCENA,
    DWT_CTRL,
    DWT_CYCCNT,
    PYOCD_MISSING,
    PyocdDriver,
    inspect_elf,
    ports_for_uid,
    same_usb_serial,
)
from bench.targets.drivers.pyocd import api as pyocd_api
from bench.targets.drivers.pyocd import driver as pyocd_driver_module

try:
    import pyocd.core.helpers  # noqa: F401
    HAVE_PYOCD = True
except ImportError:
    HAVE_PYOCD = False

needs_pyocd = pytest.mark.skipif(
    not HAVE_PYOCD,
    reason="pyOCD not installed: checks pyOCD's real module paths and API (pip install 'bench[hw]')")

UID = "0671FF485550755187034646"        # an ST-Link/V2-1 style unique id
OTHER_UID = "066DFF555185754867172535"
FLASH = (0x0800_0000, 0x081F_FFFF)      # stm32f429xi-like memory map for the fake target
RAM = (0x2000_0000, 0x2002_FFFF)


# ---------------------------------------------------------------------------------------------
# A minimal ELF writer (32-bit little-endian, program headers only)
# ---------------------------------------------------------------------------------------------

def elf_bytes(segments: list[tuple[int, bytes]], machine: int = 40, elfclass: int = 1,
              entry: int = 0x0800_0009) -> bytes:
    ehsize, phentsize = 52, 32
    off = ehsize + phentsize * len(segments)
    ident = b"\x7fELF" + bytes([elfclass, 1, 1, 0]) + bytes(8)
    hdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, entry, ehsize, 0, 0x0500_0400,
                              ehsize, phentsize, len(segments), 40, 0, 0)
    phdrs, blobs = b"", b""
    for addr, data in segments:
        phdrs += struct.pack("<IIIIIIII", 1, off, addr, addr, len(data), len(data), 5, 4)
        off += len(data)
        blobs += data
    return hdr + phdrs + blobs


SEGMENTS = [(0x0800_0000, bytes(range(256)) * 4), (0x0800_1000, b"data-init-values")]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    p = tmp_path / "agent-test.elf"
    p.write_bytes(elf_bytes(SEGMENTS))
    return p


def make_target(tmp_path: Path, **pyocd_opts: Any) -> Any:
    opts = {"target_type": "stm32f429xi", "probe_uid": UID, "frequency": 4_000_000}
    opts.update(pyocd_opts)
    opts = {k: v for k, v in opts.items() if v is not None}
    data = {"name": "test-board", "driver": "pyocd", "board": "test-board", "cpu": "cortex-m4f",
            "clock_hz": 180_000_000, "counter": {"kind": "cycles"}, "pyocd": opts}
    return parse_target(data, where="test", path=tmp_path / "test-board.toml")


# ---------------------------------------------------------------------------------------------
# The fake probe layer
# ---------------------------------------------------------------------------------------------

class FakeRegion:
    def __init__(self, start: int, end: int, is_flash: bool):
        self.start, self.end, self.is_flash = start, end, is_flash


class FakeMemoryMap:
    def __init__(self, regions: list[FakeRegion]):
        self.regions = regions

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.regions)

    def get_region_for_address(self, addr: int) -> FakeRegion | None:
        return next((r for r in self.regions if r.start <= addr <= r.end), None)


class FakeTarget:
    def __init__(self, world: World):
        self.w = world
        self.memory_map = world.memory_map

    def read32(self, addr: int) -> int:
        self.w.calls.append(("read32", addr))
        return self.w.regs.get(addr, 0)

    def write32(self, addr: int, value: int) -> None:
        self.w.calls.append(("write32", addr, value))
        self.w.regs[addr] = value

    def read_memory_block8(self, addr: int, size: int) -> list[int]:
        self.w.calls.append(("read8", addr, size))
        return [self.w.flash.get(a, 0xFF) for a in range(addr, addr + size)]

    def reset_and_halt(self, reset_type: Any = None) -> None:
        self.w.calls.append(("reset_and_halt",))

    def get_state(self) -> Any:
        self.w.calls.append(("get_state",))
        if self.w.state_error is not None:
            raise self.w.state_error
        return SimpleNamespace(name=self.w.core_state)

    def halt(self) -> None:
        self.w.calls.append(("halt",))

    def read_core_registers_raw(self, regs: list[str]) -> list[int]:
        self.w.calls.append(("read_regs", tuple(regs)))
        return [self.w.core_regs.get(r, 0) for r in regs]

    def resume(self) -> None:
        self.w.calls.append(("resume",))


class FakeProbe:
    def __init__(self, uid: str, description: str = "STM32 STLink", serial_url: str | None = None):
        self.unique_id = uid
        self.description = description
        if serial_url is not None:  # a probe that knows its board's UART (the emulated probe)
            self.serial_url = serial_url


class FakeSession:
    def __init__(self, world: World, probe: FakeProbe, options: dict[str, Any]):
        self.w = world
        self.probe = probe
        self.options = dict(options)
        self.target = FakeTarget(world)
        self.closed = 0

    def open(self) -> None:
        self.w.calls.append(("open",))
        if self.w.open_error is not None:
            raise self.w.open_error

    def close(self) -> None:
        self.closed += 1
        self.w.calls.append(("close",))
        if self.w.close_error is not None:
            raise self.w.close_error


class FakeTargetSupportError(Exception):
    pass


class FakePort:
    def __init__(self, device: str, serial_number: str | None, description: str = "n/a"):
        self.device, self.serial_number, self.description = device, serial_number, description


class World:
    """Everything the fakes record and everything a test may set up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.mp = monkeypatch
        self.calls: list[tuple[Any, ...]] = []
        self.probes = [FakeProbe(UID), FakeProbe(OTHER_UID)]
        self.explicit_probes: list[FakeProbe] = []  # listed only when asked for by a `type:` uid
        self.core_state = "HALTED"
        self.core_regs: dict[str, int] = {}
        self.state_error: Exception | None = None
        self.ports = [FakePort("/dev/ttyS0", None),
                      FakePort("/dev/ttyACM0", OTHER_UID, "STLink Virtual COM Port"),
                      FakePort("/dev/ttyACM1", UID, "STLink Virtual COM Port")]
        self.regs: dict[int, int] = {DEMCR: 0x0000_0001}  # VC_CORERESET set: must be kept
        self.flash: dict[int, int] = {}
        self.drop_writes = False
        self.open_error: Exception | None = None
        self.close_error: Exception | None = None
        self.session_error: Exception | None = None
        self.pack_targets: set[str] = set()
        self.memory_map = FakeMemoryMap([FakeRegion(*FLASH, True), FakeRegion(*RAM, False)])
        self.sessions: list[FakeSession] = []
        self.links: list[SimpleNamespace] = []
        self.comports_calls = 0
        self.TARGET: dict[str, Any] = {"stm32f429xi": object, "nrf52840": object}
        self.TargetSupportError: type[Exception] = FakeTargetSupportError
        world = self

        class ConnectHelper:
            @staticmethod
            def get_all_connected_probes(blocking: bool = True, unique_id: str | None = None) -> list[Any]:
                world.calls.append(("list_probes", blocking, unique_id))
                assert blocking is False, "the driver must never wait for a probe"
                if unique_id is not None:  # pyOCD's aggregator: `type:` picks that plugin only
                    kind = unique_id.split(":", 1)[0]
                    if kind not in ("qemu", "remote"):
                        raise Exception(f"unknown debug probe type '{kind}'")
                    return [p for p in world.explicit_probes if p.unique_id == unique_id]
                return list(world.probes)

            @staticmethod
            def session_with_chosen_probe(blocking: bool = True, return_first: bool = False,
                                          unique_id: str | None = None, auto_open: bool = True,
                                          options: dict[str, Any] | None = None, **kw: Any) -> Any:
                world.calls.append(("session", unique_id, blocking, return_first, auto_open))
                assert blocking is False and return_first is True, "no blocking, no interactive choice"
                if world.session_error is not None:
                    raise world.session_error
                if unique_id and unique_id.startswith("remote:"):
                    probe = FakeProbe(unique_id, "remote")
                else:
                    found = [p for p in world.probes + world.explicit_probes if p.unique_id == unique_id]
                    if not found:
                        return None
                    probe = found[0]
                s = FakeSession(world, probe, options or {})
                world.sessions.append(s)
                return s

        class FileProgrammer:
            def __init__(self, session: FakeSession, *a: Any, **kw: Any):
                self.session = session

            def program(self, path: str, file_format: str | None = None, **kw: Any) -> None:
                world.calls.append(("program", path, file_format))
                from elftools.elf.elffile import ELFFile
                with open(path, "rb") as f:
                    for seg in ELFFile(f).iter_segments():
                        if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                            for i, b in enumerate(seg.data()):
                                if not world.drop_writes:
                                    world.flash[seg["p_paddr"] + i] = b

        class ManagedPacks:
            @staticmethod
            def populate_target(name: str) -> None:
                world.calls.append(("populate_target", name))
                if name in world.pack_targets:
                    world.mp.setitem(world.TARGET, name, object)

        self.ConnectHelper = ConnectHelper
        self.FileProgrammer = FileProgrammer
        self.ManagedPacks = ManagedPacks

    def comports(self) -> list[FakePort]:
        self.comports_calls += 1
        return list(self.ports)

    def SerialTransport(self, url: str, baudrate: int = 115200) -> SimpleNamespace:
        link = SimpleNamespace(url=url, baudrate=baudrate, closed=False)
        link.close = lambda: setattr(link, "closed", True)
        self.links.append(link)
        return link

    def names(self) -> list[Any]:
        return [c[0] for c in self.calls]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    if HAVE_PYOCD:
        import pyocd.core.exceptions
        import pyocd.target

        monkeypatch.setattr("pyocd.core.helpers.ConnectHelper", w.ConnectHelper)
        monkeypatch.setattr("pyocd.flash.file_programmer.FileProgrammer", w.FileProgrammer)
        monkeypatch.setattr("pyocd.target.pack.pack_target.ManagedPacks", w.ManagedPacks)
        w.TARGET = pyocd.target.TARGET  # pyOCD's real target table
        w.TargetSupportError = pyocd.core.exceptions.TargetSupportError
    else:
        monkeypatch.setattr(pyocd_api, "_load_pyocd", lambda: SimpleNamespace(
            ConnectHelper=w.ConnectHelper, FileProgrammer=w.FileProgrammer, TARGET=w.TARGET,
            normalise_target_type_name=lambda s: s.lower().replace("-", "_"),
            ManagedPacks=w.ManagedPacks, Error=Exception, TargetSupportError=w.TargetSupportError))
    monkeypatch.setattr("serial.tools.list_ports.comports", w.comports)
    monkeypatch.setattr(pyocd_driver_module, "SerialTransport", w.SerialTransport)
    return w


# ---------------------------------------------------------------------------------------------
# start(): probe choice, programming, DWT, reset order
# ---------------------------------------------------------------------------------------------

def test_start_programs_verifies_enables_dwt_then_runs(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.start(image)

    s = world.sessions[0]
    assert s.probe.unique_id == UID
    assert s.options["target_override"] == "stm32f429xi"
    assert s.options["frequency"] == 4_000_000
    assert s.options["hide_programming_progress"] is True
    assert ("program", str(image), "elf") in world.calls
    # every byte of the image is in (fake) flash, and was read back
    for addr, data in SEGMENTS:
        assert ("read8", addr, len(data)) in world.calls
        assert bytes(world.flash[addr + i] for i in range(len(data))) == data

    names = world.names()
    order = [names.index(n) for n in ("list_probes", "session", "open", "program", "read8",
                                      "reset_and_halt", "resume")]
    assert order == sorted(order), names
    writes = [c for c in world.calls if c[0] == "write32"]
    assert writes == [("write32", DEMCR, 0x0000_0001 | DEMCR_TRCENA),  # TRCENA, VC_CORERESET kept
                      ("write32", DWT_CTRL, 0x1),                      # CYCCNTENA
                      ("write32", DWT_CYCCNT, 0)]                      # cleared
    # the counter is set up while halted at the reset vector, before the core runs
    i_halt, i_run = names.index("reset_and_halt"), names.index("resume")
    assert all(i_halt < world.calls.index(w) < i_run for w in writes)
    assert "close" not in names


def test_logs_say_probe_target_bytes_and_time(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.start(image)
    text = d.logs()
    nbytes = sum(len(b) for _, b in SEGMENTS)
    assert UID in text and "stm32f429xi" in text
    assert re.search(rf"programmed {nbytes} bytes in 2 segment\(s\) from .*agent-test.elf "
                     r"\(sha256 [0-9a-f]{16}\) in \d+\.\d\d s", text), text
    assert "verified" in text and "DWT cycle counter enabled" in text
    assert text.splitlines()[0][:4].isdigit()  # timestamped lines


def test_probe_uid_match_ignores_case(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid=UID.lower()), tmp_path)
    d.start(image)
    assert world.sessions[0].probe.unique_id == UID


def test_no_probe_uid_and_one_probe_uses_it(world: World, tmp_path: Path, image: Path) -> None:
    world.probes = [FakeProbe(UID)]
    d = PyocdDriver(make_target(tmp_path, probe_uid=""), tmp_path)
    d.start(image)
    assert d.probe_uid == UID
    assert "only connected probe" in d.logs()


def test_no_probe_uid_and_two_probes_asks_for_it(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid=""), tmp_path)
    with pytest.raises(TargetError) as e:
        d.start(image)
    msg = str(e.value)
    assert "probe_uid" in msg and UID in msg and OTHER_UID in msg
    assert "session" not in world.names()


def test_missing_probe_lists_the_probes_seen(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid="DEADBEEF"), tmp_path)
    with pytest.raises(TargetError) as e:
        d.start(image)
    msg = str(e.value)
    assert "DEADBEEF" in msg and "not connected" in msg
    assert UID in msg and OTHER_UID in msg and "STM32 STLink" in msg
    assert "[pyocd] probe_uid" in msg and "pyocd list" in msg
    assert "session" not in world.names() and "program" not in world.names()


def test_no_probe_at_all(world: World, tmp_path: Path, image: Path) -> None:
    world.probes = []
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match="Probes pyOCD sees: none"):
        d.start(image)


def test_unknown_target_type_mentions_packs(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, target_type="stm32f407vg"), tmp_path)
    with pytest.raises(TargetError) as e:
        d.start(image)
    msg = str(e.value)
    assert "stm32f407vg" in msg
    assert "pyocd pack install stm32f407vg" in msg
    assert "0.46" in msg and "stm32f405/stm32f407" in msg
    assert ("populate_target", "stm32f407vg") in world.calls  # installed packs were consulted
    assert "list_probes" not in world.names()                  # before any probe is touched


def test_target_type_from_an_installed_pack_is_accepted(world: World, tmp_path: Path, image: Path) -> None:
    world.pack_targets = {"stm32f407vg"}
    d = PyocdDriver(make_target(tmp_path, target_type="STM32F407VG"), tmp_path)
    d.start(image)
    assert world.sessions[0].options["target_override"] == "stm32f407vg"


def test_target_support_error_from_pyocd_becomes_target_error(world: World, tmp_path: Path,
                                                              image: Path) -> None:
    world.session_error = world.TargetSupportError("Target type foo not recognized")
    d = PyocdDriver(make_target(tmp_path, target_type="foo", pack="foo.pack"), tmp_path)
    assert str(tmp_path / "foo.pack") == d.options.pack  # relative to the target TOML
    with pytest.raises(ConfigError, match="no file .*foo.pack"):
        d.start(image)
    assert world.calls == []
    (tmp_path / "foo.pack").write_bytes(b"PK")
    with pytest.raises(TargetError, match="pyocd pack install foo"):
        d.start(image)


def test_missing_pyocd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, image: Path) -> None:
    for name in [m for m in sys.modules if m == "pyocd" or m.startswith("pyocd.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyocd", None)  # `import pyocd` now raises ImportError
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError) as e:
        d.start(image)
    assert str(e.value) == PYOCD_MISSING == "pyOCD is not installed: pip install 'bench[hw]'"


def test_module_imports_without_pyocd() -> None:
    import subprocess

    code = ("import sys; sys.modules['pyocd'] = None; import bench.targets.drivers.pyocd as m; "
            "assert 'pyocd' not in [k for k in sys.modules if sys.modules[k] is not None]")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("content,match", [
    (b"this is not an elf\n", "not an ELF file"),
    (elf_bytes(SEGMENTS)[:40], "not a readable ELF"),
    (elf_bytes(SEGMENTS)[:-100], "truncated"),
    (elf_bytes(SEGMENTS, machine=62), "not a 32-bit little-endian ARM"),
    (elf_bytes([]), "no loadable segment"),
])
def test_bad_image_is_refused_before_the_probe(world: World, tmp_path: Path, content: bytes,
                                               match: str) -> None:
    bad = tmp_path / "bad.elf"
    bad.write_bytes(content)
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(ImageError, match=match):
        d.start(bad)
    assert world.calls == []


def test_missing_image(world: World, tmp_path: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(ImageError, match="does not exist"):
        d.start(tmp_path / "nope.elf")
    assert world.calls == []


def test_image_for_another_board_is_refused_before_connecting(world: World, tmp_path: Path) -> None:
    foreign = tmp_path / "an386.elf"
    foreign.write_bytes(elf_bytes([(0x0000_0000, b"\x00" * 64)]))  # loads at 0: an MPS2 image
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(ImageError, match=r"0x00000000 is not in the flash of stm32f429xi.*0x08000000"):
        d.start(foreign)
    assert "open" not in world.names() and "program" not in world.names()
    assert world.sessions[0].closed == 1


def test_verify_failure(world: World, tmp_path: Path, image: Path) -> None:
    world.drop_writes = True
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match=r"verify failed: flash at 0x08000000 reads back ffffffff"):
        d.start(image)
    assert "reset_and_halt" not in world.names()
    assert world.sessions[0].closed == 1


def test_verify_can_be_turned_off(world: World, tmp_path: Path, image: Path) -> None:
    world.drop_writes = True
    d = PyocdDriver(make_target(tmp_path, verify=False), tmp_path)
    d.start(image)
    assert "read8" not in world.names()


def test_skip_unchanged_programs_only_a_different_image(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, skip_unchanged=True), tmp_path)
    d.start(image)  # empty flash: compared, programmed, verified, run
    assert world.names().count("program") == 1 and "programming skipped" not in d.logs()
    d.stop()
    world.calls.clear()
    d.start(image)  # the flash holds the image byte for byte: no programming, still reset and run
    names = world.names()
    assert "program" not in names and names[-1] == "resume"
    assert "flash already holds agent-test.elf" in d.logs() and "programming skipped" in d.logs()
    other = tmp_path / "other.elf"
    other.write_bytes(elf_bytes([(0x0800_0000, b"\x01" * 64)]))
    world.calls.clear()
    assert d.flash(other) is True  # Flasher on the open session: programmed, verified, not run
    assert "program" in world.names() and "resume" not in world.names()
    assert d.flash(other) is False
    d.reset()
    assert world.names()[-1] == "resume"
    d.stop()


def test_connect_failure_says_what_to_check(world: World, tmp_path: Path, image: Path) -> None:
    world.open_error = RuntimeError("No ACK received")
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError) as e:
        d.start(image)
    assert "No ACK received" in str(e.value) and "powered" in str(e.value)
    assert world.sessions[0].closed == 1


def test_core_without_cycle_counter(world: World, tmp_path: Path, image: Path) -> None:
    world.regs[DWT_CTRL] = 1 << 25  # NOCYCCNT (a Cortex-M0+ would look like this)
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match="no DWT cycle counter"):
        d.start(image)


def test_remote_probe_server(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid="", remote="labhost:5555"), tmp_path)
    d.start(image)
    assert ("session", "remote:labhost:5555", False, True, False) in world.calls
    assert "list_probes" not in world.names()
    with pytest.raises(TargetError, match="rfc2217://"):
        d.open_link()


# ---------------------------------------------------------------------------------------------
# open_link(): the serial port
# ---------------------------------------------------------------------------------------------

def test_open_link_picks_the_port_with_the_probe_uid(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, baud=230400), tmp_path)
    d.start(image)
    link: Any = d.open_link()
    assert link.url == "/dev/ttyACM1" and link.baudrate == 230400


def test_open_link_default_baud_and_before_start(world: World, tmp_path: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    link: Any = d.open_link()  # the configured probe_uid is enough
    assert (link.url, link.baudrate) == ("/dev/ttyACM1", 115200)


def test_open_link_jlink_serial_is_zero_padded(world: World, tmp_path: Path, image: Path) -> None:
    world.probes = [FakeProbe("683123456", "Segger J-Link OB")]
    world.ports.append(FakePort("/dev/ttyACM7", "000683123456", "J-Link - CDC"))
    d = PyocdDriver(make_target(tmp_path, probe_uid="683123456", target_type="nrf52840"), tmp_path)
    d.start(image)
    assert d.open_link().url == "/dev/ttyACM7"


@pytest.mark.parametrize("url", ["/dev/ttyUSB3", "rfc2217://labhost:7000", "socket://127.0.0.1:7000"])
def test_open_link_explicit_serial_wins(world: World, tmp_path: Path, image: Path, url: str) -> None:
    d = PyocdDriver(make_target(tmp_path, serial=url), tmp_path)
    d.start(image)
    assert d.open_link().url == url
    assert world.comports_calls == 0


def test_open_link_explicit_serial_opens_a_real_transport(world: World, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setattr(pyocd_driver_module, "SerialTransport", SerialTransport)
    d = PyocdDriver(make_target(tmp_path, serial="loop://"), tmp_path)
    link = d.open_link()
    try:
        link.write(b"\x00hello\x00")
        assert link.read(64, timeout=1.0) == b"\x00hello\x00"
    finally:
        d.stop()


def test_open_link_no_port_lists_the_ports_seen(world: World, tmp_path: Path, image: Path) -> None:
    world.ports = [p for p in world.ports if p.serial_number != UID]
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.start(image)
    with pytest.raises(TargetError) as e:
        d.open_link()
    msg = str(e.value)
    assert UID in msg and "/dev/ttyS0" in msg and "/dev/ttyACM0" in msg and OTHER_UID in msg
    assert "[pyocd] serial" in msg


def test_open_link_two_ports_with_the_uid(world: World, tmp_path: Path) -> None:
    world.ports.append(FakePort("/dev/ttyACM2", UID, "second VCP"))
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match=r"exposes 2 serial ports.*ttyACM1.*ttyACM2"):
        d.open_link()


def test_open_link_without_any_uid(world: World, tmp_path: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid=""), tmp_path)
    with pytest.raises(TargetError, match="call start"):
        d.open_link()


def test_port_matching_rule() -> None:
    assert same_usb_serial("683123456", "000683123456")
    assert same_usb_serial("0671ff48", "0671FF48")
    assert not same_usb_serial("0671FF48", "0671FF4")
    assert not same_usb_serial("", "")
    ports = [FakePort("/dev/a", None), FakePort("/dev/b", "X1"), FakePort("/dev/c", "x1")]
    assert [p.device for p in ports_for_uid(ports, "X1")] == ["/dev/b", "/dev/c"]


# ---------------------------------------------------------------------------------------------
# reset, cycle counter, stop
# ---------------------------------------------------------------------------------------------

def test_read_cycle_counter_reads_cyccnt(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match="call start"):
        d.read_cycle_counter()
    d.start(image)
    world.regs[DWT_CYCCNT] = 0xDEAD_BEEF
    assert d.read_cycle_counter() == 0xDEAD_BEEF
    assert world.calls[-1] == ("read32", 0xE000_1004)


def test_reset_halts_reenables_counter_and_runs(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(TargetError, match="call start"):
        d.reset()
    d.start(image)
    world.calls.clear()
    d.reset()
    names = world.names()
    assert names[0] == "reset_and_halt" and names[-1] == "resume"
    assert ("write32", DWT_CYCCNT, 0) in world.calls
    assert "program" not in names


def test_stop_is_idempotent_and_never_raises(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.stop()  # before start
    d.start(image)
    link: Any = d.open_link()
    d.stop()
    d.stop()
    assert world.sessions[0].closed == 1 and link.closed
    with pytest.raises(TargetError):
        d.read_cycle_counter()

    d.start(image)
    world.close_error = RuntimeError("USB gone")
    d.stop()  # must not raise
    assert "USB gone" in d.logs()


def test_start_twice_closes_the_first_session(world: World, tmp_path: Path, image: Path) -> None:
    with PyocdDriver(make_target(tmp_path), tmp_path) as d:
        d.start(image)
        d.start(image)
        assert [s.closed for s in world.sessions] == [1, 0]
    assert world.sessions[1].closed == 1


# ---------------------------------------------------------------------------------------------
# Configuration and the shipped target TOMLs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opts,match", [
    ({"probe_id": "x"}, "unknown key"),
    ({"target_type": ""}, "target_type is required"),
    ({"remote": "labhost"}, "host:port"),
    ({"frequency": -1}, "positive integer"),
    ({"baud": "fast"}, "positive integer"),
    ({"verify": "yes"}, "true or false"),
    ({"reset_type": "sw"}, "reset_type must be one of"),
])
def test_bad_options_are_config_errors(tmp_path: Path, opts: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PyocdDriver(make_target(tmp_path, **opts), tmp_path)


@pytest.mark.parametrize("name,target_type,clock", [("nucleo-f429zi", "stm32f429xi", 180_000_000),
                                                    ("nrf52840-dk", "nrf52840", 64_000_000)])
def test_shipped_target_tomls_load(tmp_path: Path, name: str, target_type: str, clock: int) -> None:
    t = load_target(name)
    assert t.driver == "pyocd" and t.counter.kind == "cycles" and t.clock_hz == clock
    assert t.cpu == "cortex-m4f" and not t.is_emulated
    assert 0 < t.energy_j_per_cycle < 1e-8 and t.energy_source
    d = PyocdDriver(t, tmp_path)
    assert d.options.target_type == target_type and d.options.baud == 115200


def test_driver_is_found_by_name(tmp_path: Path) -> None:
    from bench.targets.drivers import make_driver

    assert isinstance(make_driver(load_target("nucleo-f429zi"), tmp_path), PyocdDriver)


# ---------------------------------------------------------------------------------------------
# pyOCD's real API: what the fakes stand in for must exist with these names and parameters
# ---------------------------------------------------------------------------------------------

@needs_pyocd
def test_real_pyocd_api_matches_what_the_driver_calls() -> None:
    from pyocd.core.helpers import ConnectHelper
    from pyocd.core.session import Session
    from pyocd.core.soc_target import SoCTarget
    from pyocd.flash.file_programmer import FileProgrammer
    from pyocd.target.pack.pack_target import ManagedPacks

    p = inspect.signature(ConnectHelper.session_with_chosen_probe).parameters
    assert {"blocking", "return_first", "unique_id", "auto_open", "options"} <= set(p)
    assert "blocking" in inspect.signature(ConnectHelper.get_all_connected_probes).parameters
    assert "file_format" in inspect.signature(FileProgrammer.program).parameters
    assert callable(ManagedPacks.populate_target)
    for m in ("open", "close"):
        assert callable(getattr(Session, m))
    for m in ("reset_and_halt", "resume", "read32", "write32", "read_memory_block8"):
        assert callable(getattr(SoCTarget, m)), m
    api = pyocd_driver._load_pyocd()
    assert api.ConnectHelper is ConnectHelper and api.FileProgrammer is FileProgrammer


@needs_pyocd
def test_real_target_table_has_the_shipped_types_and_not_f407() -> None:
    from pyocd.target import TARGET

    assert "stm32f429xi" in TARGET and "nrf52840" in TARGET
    # pyOCD itself has no STM32F405/F407; the only one is the emulator's, which the bench's own
    # probe plugin (pyocd.probe entry point `qemu`) registers for QEMU's netduinoplus2
    others = [k for k in TARGET if k.startswith(("stm32f405", "stm32f407"))]
    assert others in ([], ["stm32f405_qemu"]), others
    assert TARGET.get("stm32f405_qemu", object).__module__ in ("builtins", "bench.targets.qemuprobe.target")


@needs_pyocd
def test_image_check_against_pyocds_real_memory_maps(world: World, tmp_path: Path, image: Path) -> None:
    from pyocd.target import TARGET

    world.memory_map = TARGET["stm32f429xi"].MEMORY_MAP
    PyocdDriver(make_target(tmp_path), tmp_path).start(image)  # 0x08000000: in flash

    world.memory_map = TARGET["nrf52840"].MEMORY_MAP  # flash at 0: the STM32 image does not fit
    d = PyocdDriver(make_target(tmp_path, target_type="nrf52840"), tmp_path)
    with pytest.raises(ImageError, match="not in the flash of nrf52840"):
        d.start(image)


def test_inspect_elf_reads_segments(image: Path) -> None:
    e = inspect_elf(image)
    assert e.segments == tuple(SEGMENTS) and e.nbytes == sum(len(b) for _, b in SEGMENTS)
    assert e.entry == 0x0800_0009 and len(e.sha256) == 64


@needs_pyocd
def test_real_session_board_and_target_construction(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    image: Path) -> None:
    """Only probe enumeration is replaced: pyOCD's own ConnectHelper, Session, Board and
    STM32F429xI target are built, and the driver's checks run against them."""
    from pyocd.core.exceptions import ProbeError
    from pyocd.core.helpers import ConnectHelper

    class StubProbe:  # what Session/Board construction touches; open() fails like a dead link
        unique_id = UID
        description = "stub probe"
        session = None
        is_open = False

        def create_associated_board(self) -> None:
            return None

        def open(self) -> None:
            raise ProbeError("stub probe: no hardware")

    monkeypatch.setattr(ConnectHelper, "get_all_connected_probes",
                        staticmethod(lambda blocking=True, unique_id=None: [StubProbe()]))
    foreign = tmp_path / "an386.elf"
    foreign.write_bytes(elf_bytes([(0x0000_0000, b"\x00" * 64)]))
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    with pytest.raises(ImageError, match=r"not in the flash of stm32f429xi \(flash: 0x08000000-"):
        d.start(foreign)  # refused from the real target's memory map, before open()
    with pytest.raises(TargetError, match="could not connect .*stub probe: no hardware"):
        d.start(image)    # the image fits; pyOCD's Session.open() fails and is reported
    d.stop()


# ---------------------------------------------------------------------------------------------
# Probes named by plugin (`qemu:`), a probe's own UART, emulated counters, the post-mortem at stop
# ---------------------------------------------------------------------------------------------

EMU_UID = "qemu:netduinoplus2"


def emulated_target(tmp_path: Path, **pyocd_opts: Any) -> Any:
    opts = {"target_type": "stm32f429xi", "probe_uid": EMU_UID, **pyocd_opts}
    data = {"name": "emu", "driver": "pyocd", "board": "netduinoplus2", "cpu": "cortex-m4f",
            "clock_hz": 168_000_000,
            "counter": {"kind": "instructions", "timer_hz": 1_000_000_000, "icount_shift": 7}, "pyocd": opts}
    return parse_target(data, where="test", path=tmp_path / "emu.toml")


def test_a_probe_named_by_its_plugin_is_looked_up_explicitly(world: World, tmp_path: Path, image: Path) -> None:
    world.explicit_probes = [FakeProbe(EMU_UID, "QEMU emulated netduinoplus2", "socket://127.0.0.1:4321")]
    d = PyocdDriver(emulated_target(tmp_path), tmp_path)
    d.start(image)
    assert d.probe_uid == EMU_UID
    assert ("list_probes", False, None) in world.calls and ("list_probes", False, EMU_UID) in world.calls
    link: Any = d.open_link()  # the probe's own UART; no USB serial-port search
    assert link.url == "socket://127.0.0.1:4321" and world.comports_calls == 0
    d.stop()


def test_explicit_serial_wins_over_the_probes_own(world: World, tmp_path: Path, image: Path) -> None:
    world.explicit_probes = [FakeProbe(EMU_UID, "QEMU", "socket://127.0.0.1:4321")]
    d = PyocdDriver(emulated_target(tmp_path, serial="socket://127.0.0.1:7000"), tmp_path)
    d.start(image)
    assert d.open_link().url == "socket://127.0.0.1:7000"


def test_a_probe_plugin_name_pyocd_does_not_know(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path, probe_uid="foo:bar"), tmp_path)
    with pytest.raises(TargetError, match=r"probe_uid 'foo:bar': pyOCD has no probe plugin 'foo'"):
        d.start(image)


def test_an_absent_emulated_probe_lists_the_probes_seen(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(emulated_target(tmp_path, probe_uid="qemu:nosuchboard"), tmp_path)
    with pytest.raises(TargetError, match=rf"debug probe 'qemu:nosuchboard' is not connected\. Probes pyOCD "
                                          rf"sees: {UID}"):
        d.start(image)


def test_an_instruction_counting_target_leaves_the_dwt_alone(world: World, tmp_path: Path, image: Path) -> None:
    world.explicit_probes = [FakeProbe(EMU_UID)]
    d = PyocdDriver(emulated_target(tmp_path), tmp_path)
    d.start(image)
    assert not [c for c in world.calls if c[0] == "write32"]
    names = world.names()
    assert names.index("reset_and_halt") < names.index("resume")
    assert "DWT cycle counter not used" in d.logs()
    world.calls.clear()
    d.reset()
    assert world.names() == ["reset_and_halt", "resume"]


def test_stop_reads_the_core_and_decodes_a_fault(world: World, tmp_path: Path, image: Path) -> None:
    from bench.targets.drivers.pyocd.fault import BFAR, CFSR, HFSR

    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.start(image)
    world.core_state = "RUNNING"
    world.core_regs = {"pc": 0x0800_11E2, "lr": 0x0800_11BD, "sp": 0x2000_1F00, "xpsr": 0x6100_0003}
    world.regs.update({CFSR: 0x0000_8200, HFSR: 0x4000_0000, BFAR: 0x3000_0000})
    world.calls.clear()
    d.stop()
    names = world.names()
    assert names.index("halt") < names.index("read_regs") < names.index("resume") < names.index("close")
    log = d.logs()
    assert (f"FAULT on board {UID}: core running (halted to read it), in the HardFault handler, PC=080011E2 "
            "LR=080011BD SP=20001F00 xPSR=61000003; CFSR=00008200 (BusFault: PRECISERR BFARVALID); "
            "HFSR=40000000 (FORCED); BFAR=30000000 (the faulting address)") in log, log
    assert d.core_report is not None and d.core_report.in_fault


def test_stop_without_a_fault_and_with_a_dead_board(world: World, tmp_path: Path, image: Path) -> None:
    d = PyocdDriver(make_target(tmp_path), tmp_path)
    d.start(image)
    report = d.inspect()
    assert not report.in_fault and "no fault recorded" in report.describe()
    assert "halt" not in world.names()  # halted already: nothing to halt or resume
    world.state_error = RuntimeError("USB gone")
    with pytest.raises(TargetError, match=f"reading the core state of board {UID} failed .*USB gone"):
        d.inspect()
    d.stop()  # never raises
    assert "core state at stop not readable (RuntimeError: USB gone)" in d.logs()
    assert world.sessions[0].closed == 1


@pytest.mark.parametrize("cfsr,text", [
    (0x0000_8200, "CFSR=00008200 (BusFault: PRECISERR BFARVALID)"),
    (0x0001_0000, "CFSR=00010000 (UsageFault: UNDEFINSTR)"),
    (0x0200_0000, "CFSR=02000000 (UsageFault: DIVBYZERO)"),
    (0x0000_0082, "CFSR=00000082 (MemManage: DACCVIOL MMARVALID)"),
    (0x0008_0400, "CFSR=00080400 (BusFault: IMPRECISERR; UsageFault: NOCP)"),
    (0, "CFSR=00000000"),
])
def test_cfsr_decoding(cfsr: int, text: str) -> None:
    from bench.targets.drivers.pyocd.fault import decode_cfsr

    assert decode_cfsr(cfsr) == text


def test_skip_check_reads_the_identity_line_first(world: World, tmp_path: Path) -> None:
    ident = b"bench-agent agent-test 0123abcd4567\r\n"
    img = tmp_path / "ident.elf"
    img.write_bytes(elf_bytes([(0x0800_0000, bytes(range(256)) * 8 + ident + b"\x00" * 16)]))
    d = PyocdDriver(make_target(tmp_path, skip_unchanged=True), tmp_path)
    d.start(img)  # empty flash: one small read of the identity line, then programming
    reads = [c for c in world.calls if c[0] == "read8"]
    first_program = world.names().index("program")
    assert world.calls.index(reads[0]) < first_program and reads[0] == ("read8", 0x0800_0800, len(ident) - 2)
    assert sum(1 for c in world.calls[:first_program] if c[0] == "read8") == 1
    assert "flash does not hold 'bench-agent agent-test 0123abcd4567'" in d.logs()
    d.stop()
    d.start(img)  # same build: identity matches, the whole image compared, programming skipped
    assert "build 0123abcd4567" in d.logs() and "programming skipped" in d.logs()
    d.stop()
