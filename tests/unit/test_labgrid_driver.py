"""The labgrid driver without a lab: the [labgrid] table and its errors, the pyOCD view of a place's
resources, who holds a place in words, the lock book that recognises a stale lock of our own, and an
unreachable coordinator as a clear error. (tests/qemu/test_farm_labgrid.py runs it against a real
coordinator, exporters and emulated boards.)"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.errors import ConfigError, TargetError
from bench.targets import load_target
from bench.targets.drivers.labgrid.driver import pick
from bench.targets.drivers.labgrid.options import parse_options, pyocd_target
from bench.targets.drivers.labgrid.places import Coordinator, LockBook, Resource, holder_text


@pytest.fixture(scope="module")
def target():
    return load_target("labgrid-netduinoplus2")


def with_table(target, table):
    return dataclasses.replace(target, driver_options=table)


def test_the_shipped_target_parses_and_becomes_a_remote_pyocd_target(target):
    opts = parse_options(target)
    assert opts.tags == {"board": "netduinoplus2"} and opts.place == "" and opts.power_cycle
    spec = pyocd_target(target, opts, remote="10.0.0.5:5555", serial="rfc2217://10.0.0.5:4001", baud=921600)
    assert spec.driver == "pyocd"
    assert spec.driver_options == {"target_type": "stm32f405_qemu", "verify": True, "skip_unchanged": True,
                                   "remote": "10.0.0.5:5555", "serial": "rfc2217://10.0.0.5:4001", "baud": 921600}


@pytest.mark.parametrize("table, says", [
    ({"plase": "x", "pyocd": {"target_type": "t"}}, "unknown key(s) ['plase']"),
    ({"place": 3, "pyocd": {"target_type": "t"}}, "place must be a string"),
    ({"tags": {"board": 1}, "pyocd": {"target_type": "t"}}, "tags must be a table of strings"),
    ({"place": "a", "pyocd": {"target_type": "t", "remote": "h:1"}}, "come from the place's resources"),
    ({"place": "a", "pyocd": {}}, "[labgrid.pyocd]: target_type is required"),
    ({"place": "a", "pyocd": {"target_type": "t", "baud": 0}}, "[labgrid.pyocd]: baud must be a positive"),
    ({"place": "a", "power_cycle": "yes", "pyocd": {"target_type": "t"}}, "power_cycle must be true or false"),
])
def test_bad_tables_name_the_key(target, table, says):
    with pytest.raises(ConfigError) as e:
        parse_options(with_table(target, table))
    assert says in str(e.value)


def test_the_place_comes_from_lg_place_when_the_toml_names_none(target, monkeypatch):
    monkeypatch.setenv("LG_PLACE", "emu-x")
    assert parse_options(target).place_name() == "emu-x"
    named = with_table(target, {"place": "f429-1", "pyocd": {"target_type": "t"}})
    assert parse_options(named).place_name() == "f429-1"


def test_pick_takes_the_one_resource_of_a_class_or_asks_which():
    rs = [Resource("uart", "NetworkSerialPort", {}), Resource("console", "NetworkSerialPort", {}),
          Resource("PyOCDProbeServer", "PyOCDProbeServer", {"host": "h", "port": 1})]
    assert pick(rs, "PyOCDProbeServer", "", "p", "probe_resource").params["port"] == 1
    assert pick(rs, "NetworkSerialPort", "uart", "p", "serial_resource").name == "uart"
    assert pick(rs, "NetworkPowerPort", "", "p", "power") is None
    with pytest.raises(ConfigError, match="has 2 NetworkSerialPort resources .*set \\[labgrid\\] serial_resource"):
        pick(rs, "NetworkSerialPort", "", "p", "serial_resource")


def test_holder_text_says_who_and_since_when():
    p = SimpleNamespace(acquired="lab-pc/alice", changed=time.time() - 5400, comment="bring-up of rev B")
    text = holder_text(p)
    assert text.startswith("alice@lab-pc since ") and "(1.5 h)" in text and "'bring-up of rev B'" in text


def test_lock_book_remembers_our_pid_per_coordinator_and_place(tmp_path):
    book = LockBook("127.0.0.1:20408", root=tmp_path)
    assert book.owner("emu-a") is None
    book.note("emu-a")
    assert book.owner("emu-a") == os.getpid() and book.path("emu-a").parent.name == "127.0.0.1_20408"
    dead = subprocess.Popen(["true"])
    dead.wait()
    book.path("emu-a").write_text(f'{{"pid": {dead.pid}, "since": 0}}')
    from bench.targets.drivers.labgrid.places import _pid_alive

    assert not _pid_alive(dead.pid) and _pid_alive(os.getpid())
    book.forget("emu-a")
    assert book.owner("emu-a") is None


def test_an_unreachable_coordinator_is_a_clear_error():
    pytest.importorskip("labgrid", reason="labgrid is not installed (pip install 'bench[farm]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    t0 = time.monotonic()
    says = f"cannot reach the labgrid coordinator at 127.0.0.1:{port}.*labgrid-coordinator"
    with pytest.raises(TargetError, match=says):
        Coordinator(f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 30


def test_power_cycle_through_the_places_network_power_port(target):
    """labgrid's NetworkPowerDriver ('simplerest' model) against a local HTTP relay: off, then on."""
    pytest.importorskip("labgrid", reason="labgrid is not installed (pip install 'bench[farm]')")
    import http.server
    import threading

    from bench.targets.drivers.labgrid import LabgridDriver

    seen: list[str] = []

    class Relay(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            body = b"1" if self.path == "/relay/0" else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        drv = LabgridDriver(with_table(target, {"place": "p", "pyocd": {"target_type": "t"}}), Path("."))
        drv.place = "p"
        assert drv.power_cycle() is False  # the place offers no power port
        url = f"http://127.0.0.1:{srv.server_port}/relay/{{index}}/{{value}}"
        drv.resources = [Resource("power", "NetworkPowerPort", {"model": "simplerest", "host": url, "index": 0})]
        assert drv.power_cycle() is True
        assert [p for p in seen if p != "/relay/0"] == ["/relay/0/0", "/relay/0/1"]
        assert "power-cycled" in drv.logs()
    finally:
        srv.shutdown()


def test_attached_probe_ids():
    pytest.importorskip("pyocd", reason="pyOCD is not installed (pip install 'bench[hw]')")
    from bench.targets.qemuprobe.attached import QemuGdbProbe, parse_attached_id

    assert parse_attached_id("qemugdb:netduinoplus2@127.0.0.1:3333") == ("netduinoplus2", "127.0.0.1", 3333)
    assert parse_attached_id("netduinoplus2@board-host.lab:1234") == ("netduinoplus2", "board-host.lab", 1234)
    assert parse_attached_id("qemugdb:stm32vldiscovery@h:1") is None  # not a machine the probe emulates
    assert parse_attached_id("qemu:netduinoplus2") is None
    assert QemuGdbProbe.get_all_connected_probes() == []  # never listed, only asked for by id
    probe = QemuGdbProbe.get_probe_with_id("qemugdb:netduinoplus2@127.0.0.1:3333")
    assert probe is not None and probe.unique_id == "qemugdb:netduinoplus2@127.0.0.1:3333"


def test_the_slow_rfc2217_client_is_refused_with_the_fix(monkeypatch):
    import serial.rfc2217

    from bench.targets.drivers.labgrid.driver import check_rfc2217_client

    if "timeout" in vars(serial.rfc2217.Serial):
        check_rfc2217_client()  # pyserial-labgrid's client: accepted
        monkeypatch.delattr(serial.rfc2217.Serial, "timeout")
    with pytest.raises(ConfigError, match="force-reinstall pyserial-labgrid"):
        check_rfc2217_client()
