"""The labgrid driver's errors (docs/errors.md), each provoked through the driver's public path with only
the lowest layer replaced: labgrid's client session (`labgrid.remote.client.start_session`, the object
that holds the coordinator's places and resources and its gRPC stub) is a small in-memory fake here,
so that every answer a coordinator can give (no such place, a place held by somebody else, a place
whose exporter is gone, a refused AcquirePlace) is produced without a lab. tests/qemu/test_farm_labgrid.py
runs the same driver against a real coordinator."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import time
from types import SimpleNamespace

import pytest

from bench.errors import ConfigError, TargetError
from bench.targets import load_target

pytest.importorskip("labgrid", reason="labgrid is not installed (pip install 'bench[farm]')")

import grpc  # noqa: E402 - labgrid's dependency

from bench.targets.drivers.labgrid import LabgridDriver  # noqa: E402
from bench.targets.drivers.labgrid import places as places_mod  # noqa: E402
from bench.targets.drivers.labgrid.places import Coordinator, PlaceReserved, whoami  # noqa: E402

ADDR = "127.0.0.1:20408"


class FakePlace:
    """What the client session keeps of a place: name, tags, holder, matches."""

    def __init__(self, name, tags=None, acquired=None, matches=()):
        self.name, self.tags, self.acquired = name, dict(tags or {}), acquired
        self.changed, self.comment = time.time() - 600, ""
        self.matches = list(matches)  # (exporter, group, cls, name)
        self.acquired_resources: list[tuple[str, str, str, str]] = []

    def unmatched(self, paths):
        return [m for m in self.matches if m not in paths]

    def getmatch(self, path):
        return None


class FakeStub:
    def __init__(self, session):
        self.session = session
        self.refuse: str | None = None  # details of an AioRpcError to answer with
        self.taken_by: str | None = None  # somebody takes the place just before us

    async def AcquirePlace(self, req):  # noqa: N802 - the gRPC method's name
        p = self.session.places[req.placename]
        if self.taken_by:
            p.acquired = self.taken_by
        if self.refuse or self.taken_by:
            raise grpc.aio.AioRpcError(grpc.StatusCode.FAILED_PRECONDITION, details=self.refuse or "already acquired")
        p.acquired = whoami()
        p.acquired_resources = list(p.matches)

    async def ReleasePlace(self, req):  # noqa: N802
        if self.refuse:
            raise grpc.aio.AioRpcError(grpc.StatusCode.FAILED_PRECONDITION, details=self.refuse)
        self.session.places[req.placename].acquired = None


class FakeSession:
    """labgrid.remote.client.ClientSession as the driver uses it."""

    def __init__(self, places=(), resources=None):
        self.loop = asyncio.new_event_loop()
        self.places = {p.name: p for p in places}
        self.resources = resources or {}  # exporter -> group -> name -> entry (.cls, .args)
        self.stub = FakeStub(self)

    async def sync_with_coordinator(self):
        pass

    async def stop(self):
        pass

    async def close(self):
        self.loop.call_soon(self.loop.stop)


def entry(cls, **args):
    return SimpleNamespace(cls=cls, args=args)


@pytest.fixture()
def lab(monkeypatch, tmp_path):
    """A fake coordinator session; set .session before the driver connects."""
    from labgrid.remote import client

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    state = SimpleNamespace(session=FakeSession())
    monkeypatch.setattr(client, "start_session", lambda address, **kw: state.session)
    return state


@pytest.fixture(scope="module")
def target():
    return load_target("labgrid-netduinoplus2")


def driver(target, tmp_path, **table):
    table.setdefault("pyocd", {"target_type": "stm32f405_qemu"})
    return LabgridDriver(dataclasses.replace(target, driver_options=table), tmp_path)


def test_a_place_that_does_not_exist_lists_the_places_and_how_to_create_it(lab, target, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a"), FakePlace("emu-b")])
    with pytest.raises(ConfigError) as e:
        driver(target, tmp_path, place="emu-z").start(tmp_path / "x.elf")
    msg = str(e.value)
    assert "labgrid place 'emu-z' does not exist" in msg and "(places: emu-a, emu-b)" in msg
    assert "labgrid-client -p emu-z create" in msg


def test_no_place_and_no_tags_asks_for_one(lab, target, tmp_path, monkeypatch):
    monkeypatch.delenv("LG_PLACE", raising=False)
    lab.session = FakeSession([FakePlace("emu-a")])
    with pytest.raises(ConfigError, match=r"\[labgrid\]: name a place \(place = \"...\" or \$LG_PLACE\) or tags"):
        driver(target, tmp_path).start(tmp_path / "x.elf")


def test_tags_that_no_place_has_are_named(lab, target, tmp_path, monkeypatch):
    monkeypatch.delenv("LG_PLACE", raising=False)
    lab.session = FakeSession([FakePlace("emu-a", {"board": "f429"})])
    says = r"no labgrid place on 127.0.0.1:20408 has the tags \{'board': 'netduinoplus2'\}"
    with pytest.raises(ConfigError, match=says):
        driver(target, tmp_path, tags={"board": "netduinoplus2"}).start(tmp_path / "x.elf")


def test_a_place_held_by_somebody_else_says_by_whom_and_how_to_free_it(lab, target, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a", acquired="lab-pc/bob")])
    with pytest.raises(PlaceReserved) as e:
        driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")
    msg = str(e.value)
    assert "place emu-a is reserved by bob@lab-pc since" in msg
    assert f"labgrid-client -x {ADDR} -p emu-a release --kick" in msg


def test_a_place_held_by_another_live_bench_of_ours_is_refused(lab, target, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a", acquired=whoami())])
    other = subprocess.Popen(["sleep", "30"])
    try:
        book = places_mod.LockBook(ADDR)
        book.note("emu-a")
        book.path("emu-a").write_text(f'{{"pid": {other.pid}, "since": 0}}')
        with pytest.raises(PlaceReserved, match=f"in use by another bench process on this host \\(pid {other.pid}"):
            driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")
    finally:
        other.kill()
        other.wait()


def test_a_place_whose_exporter_is_not_running_says_so(lab, target, tmp_path):
    match = ("board-host", "emu-a", "NetworkSerialPort", "uart")
    lab.session = FakeSession([FakePlace("emu-a", matches=[match])], resources={})
    with pytest.raises(TargetError, match="finds no resource on the coordinator .*is the board's exporter running"):
        driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")


def test_a_place_taken_between_the_look_and_the_lock_names_the_new_holder(lab, target, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a")])
    lab.session.stub.taken_by = "other-pc/carol"
    with pytest.raises(PlaceReserved, match="place emu-a is reserved by carol@other-pc"):
        driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")


def test_a_refused_acquire_quotes_the_coordinator(lab, target, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a")])
    lab.session.stub.refuse = "place emu-a has no matches"
    with pytest.raises(TargetError, match="labgrid refused to acquire place emu-a: place emu-a has no matches"):
        driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")


def test_a_refused_release_quotes_the_coordinator(lab, tmp_path):
    lab.session = FakeSession([FakePlace("emu-a", acquired=whoami())])
    lab.session.stub.refuse = "not acquired by you"
    with Coordinator(ADDR) as coord, pytest.raises(TargetError, match="labgrid refused to release place emu-a"):
        coord.release("emu-a")


def test_a_resource_whose_exporter_left_after_the_lock_is_named(lab, target, tmp_path):
    match = ("board-host", "emu-a", "NetworkSerialPort", "uart")
    res = {"board-host": {"emu-a": {"uart": entry("NetworkSerialPort", host="h", port=1)}}}
    lab.session = FakeSession([FakePlace("emu-a", matches=[match])], resources=res)
    coord = Coordinator(ADDR)
    assert coord.acquire("emu-a")
    res["board-host"]["emu-a"].clear()  # the exporter disconnected
    with pytest.raises(TargetError, match=r"resource board-host/emu-a/NetworkSerialPort/uart is gone \(its exporter "
                                          "board-host disconnected"):
        coord.resources("emu-a")
    coord.release("emu-a")
    coord.close()


def test_a_place_without_a_probe_server_names_what_its_exporter_must_export(lab, target, tmp_path):
    match = ("board-host", "emu-a", "NetworkSerialPort", "uart")
    res = {"board-host": {"emu-a": {"uart": entry("NetworkSerialPort", host="h", port=1)}}}
    lab.session = FakeSession([FakePlace("emu-a", matches=[match])], resources=res)
    drv = driver(target, tmp_path, place="emu-a")
    with pytest.raises(TargetError) as e:
        drv.start(tmp_path / "x.elf")
    msg = str(e.value)
    assert msg.startswith("labgrid place emu-a: place emu-a has no PyOCDProbeServer resource")
    assert "pyocd server" in msg and "docs/farm.md" in msg
    assert lab.session.places["emu-a"].acquired is None  # released again on the way out


def test_a_place_with_two_serial_ports_asks_which(lab, target, tmp_path):
    paths = [("board-host", "emu-a", "NetworkSerialPort", n) for n in ("uart", "console")]
    paths.append(("board-host", "emu-a", "PyOCDProbeServer", "probe"))
    res = {"board-host": {"emu-a": {"uart": entry("NetworkSerialPort", host="h", port=1),
                                    "console": entry("NetworkSerialPort", host="h", port=2),
                                    "probe": entry("PyOCDProbeServer", host="h", port=3)}}}
    lab.session = FakeSession([FakePlace("emu-a", matches=paths)], resources=res)
    with pytest.raises(ConfigError, match=r"place emu-a has 2 NetworkSerialPort resources \(uart, console\); "
                                          r"set \[labgrid\] serial_resource"):
        driver(target, tmp_path, place="emu-a").start(tmp_path / "x.elf")


def test_using_the_board_before_start_says_to_start_it(target, tmp_path):
    drv = driver(target, tmp_path, place="emu-a")
    for call, what in ((drv.reset, "reset"), (drv.open_link, "open the link"),
                       (drv.read_cycle_counter, "read the cycle counter")):
        with pytest.raises(TargetError, match=f"cannot {what}: the labgrid place is not acquired; call start"):
            call()


def test_a_missing_labgrid_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "labgrid.remote", None)  # import fails as when it is not installed
    with pytest.raises(TargetError, match=r"labgrid is not installed: pip install 'bench\[farm\]'"):
        Coordinator(ADDR)


@pytest.mark.parametrize("table, says", [
    ({"place": "a", "tags": "board=x", "pyocd": {"target_type": "t"}}, "tags must be a table of strings"),
    ({"place": "a", "pyocd": "stm32"}, r"\[labgrid.pyocd\] must be a table"),
    ({"serial_resource": 1, "pyocd": {"target_type": "t"}}, "serial_resource must be a string, got 1"),
])
def test_more_bad_tables_name_the_key(target, table, says):
    from bench.targets.drivers.labgrid.options import parse_options

    with pytest.raises(ConfigError, match=says):
        parse_options(dataclasses.replace(target, driver_options=table))


def test_the_lock_book_outlives_a_dead_bench(lab, tmp_path):
    """Not an error: a stale lock of our own (its bench process gone) is released and taken again."""
    lab.session = FakeSession([FakePlace("emu-a", acquired=whoami())])
    dead = subprocess.Popen(["true"])
    dead.wait()
    places_mod.LockBook(ADDR).note("emu-a")
    places_mod.LockBook(ADDR).path("emu-a").write_text(f'{{"pid": {dead.pid}, "since": 0}}')
    with Coordinator(ADDR) as coord:
        assert coord.acquire("emu-a") and "is gone): released" in coord.stale
        assert places_mod.LockBook(ADDR).owner("emu-a") == os.getpid()

