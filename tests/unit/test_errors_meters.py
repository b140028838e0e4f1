"""The error catalogue (#16, docs/errors.md), energy meters: every refusal of a [meter] table and every
instrument that cannot be found, opened or answered that a user can meet, provoked through the public
path (make_meter on a target with a [meter] table, then start(), as the runner does), each checked for
what went wrong and what to do. Instruments that do not exist here are absent for real (no such port,
no device on the bus, a serial port that never answers, a closed TCP port)."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from test_meter_common import real_frames, target

from bench.errors import ConfigError, TargetError
from bench.targets.meters import make_meter, measure_utterance

NO_PORT = "/dev/bench-no-such-port"


def _start(**meter: Any) -> None:
    m = make_meter(target(**meter))
    try:
        m.start()
    finally:
        m.close()


@pytest.fixture
def silent_port():
    """A serial port (a pty) with nothing behind it: it opens, and never answers."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def _closed_tcp_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- [meter] tables ---------------------------------------------------------------------------------

@pytest.mark.parametrize("meter,match", [
    ({"kind": "ppk2", "device": "sim", "supply_v": 6.0, "options": {"mode": "source"}},
     r"\[meter\] kind 'ppk2': source mode supplies 0\.8-5\.0 V, supply_v is 6\.0"),
    ({"kind": "ppk2", "device": "sim"},
     r"\[meter\] kind 'ppk2': supply_v is needed \(the supply the board runs at, V\)"),
    ({"kind": "otii", "device": "sim", "supply_v": 3.3, "stage_marker": "RX"},
     r"\[meter\] kind 'otii': the stage marker needs a digital input \(GPI1 or GPI2\)"),
    ({"kind": "otii", "device": "sim", "supply_v": 3.3, "options": {"licensing": "floating"}},
     r"\[meter\] kind 'otii': options\.licensing must be 'auto' or 'manual', got 'floating'"),
    ({"kind": "joulescope", "device": "sim", "supply_v": 3.3, "sample_rate": 123},
     r"\[meter\] kind 'joulescope': sample_rate must be one of .*, got 123"),
    ({"kind": "joulescope", "device": "sim", "supply_v": 3.3, "options": {"model": "js100"}},
     r"\[meter\] kind 'joulescope': options\.model must be js220 or js110, got 'js100'"),
    ({"kind": "joulescope", "device": "sim", "supply_v": 3.3, "marker": "GPI3"},
     r"\[meter\] kind 'joulescope': marker must name one of the instrument's inputs GPI0\.\.GPI1, got 'GPI3'"),
])
def test_meter_table(meter, match):
    with pytest.raises(ConfigError, match=match):
        supply = meter.get("supply_v")
        m = make_meter(target(**meter))
        if supply is None:
            m.source  # noqa: B018 -- the supply is needed to describe (and to measure) anything
        m.close()


def test_lpm01a_without_a_port():
    with pytest.raises(ConfigError, match=r"\[meter\] kind 'lpm01a': device must name the PowerShield's serial port"):
        _start(kind="lpm01a", device="", supply_v=3.3, marker="D7")


def test_simulated_meter_without_an_energy_model():
    """A simulated instrument draws the current of the target's energy model: none, no current."""
    import dataclasses

    t = dataclasses.replace(target(kind="ppk2", device="sim", supply_v=3.3), energy_j_per_cycle=0.0)
    m = make_meter(t)
    try:
        m.start()
        with pytest.raises(ConfigError, match=r"a simulated instrument needs the target's clock_hz, a supply_v and "
                                              r"\[energy\] joules_per_cycle > 0"):
            m.feed(real_frames(5))
    finally:
        m.close()


def test_the_makers_package_missing(monkeypatch):
    for mod in ("ppk2_api", "ppk2_api.ppk2_api"):
        monkeypatch.setitem(sys.modules, mod, None)  # an import of it fails, as when it is not installed
    with pytest.raises(ConfigError, match=r"the ppk2 meter needs the maker's package ppk2-api \(.*\); install the "
                                          r"optional extra: "):
        _start(kind="ppk2", device="sim", supply_v=3.3)


def test_frame_counts_need_a_total_column():
    from bench.targets.meters.base import frame_counts

    with pytest.raises(ConfigError, match=r"a frames table needs a 'total' column; it has \['utt', 'frame'\]"):
        frame_counts(pa.table({"utt": ["u"], "frame": [0]}))
    with pytest.raises(ConfigError, match=r"per-frame counts must be one-dimensional, got shape \(2, 2\)"):
        frame_counts(np.ones((2, 2)))


# ---- instruments that are not there -----------------------------------------------------------------

def test_ppk2_port_that_does_not_exist():
    pytest.importorskip("ppk2_api")
    with pytest.raises(TargetError, match=rf"ppk2 meter: cannot open {NO_PORT}: "):
        _start(kind="ppk2", device=NO_PORT, supply_v=3.3)


def test_ppk2_port_that_does_not_answer(silent_port):
    pytest.importorskip("ppk2_api")
    with pytest.raises(TargetError, match=r"ppk2 meter: no PPK2 calibration answer on .*: wrong port, or the PPK2 is "
                                          r"busy \(close nRF Connect Power Profiler\)"):
        _start(kind="ppk2", device=silent_port, supply_v=3.3)


def test_ppk2_none_connected():
    pytest.importorskip("ppk2_api")
    from ppk2_api.ppk2_api import PPK2_API

    if PPK2_API.list_devices():
        pytest.skip("a PPK2 is connected to this machine")
    with pytest.raises(TargetError, match=r"ppk2 meter: 0 PPK2s found \(none\); name the port in \[meter\] device"):
        _start(kind="ppk2", device="", supply_v=3.3)


def test_lpm01a_port_that_does_not_exist():
    with pytest.raises(TargetError, match=rf"lpm01a meter: cannot open {NO_PORT}: "):
        _start(kind="lpm01a", device=NO_PORT, supply_v=3.3, marker="D7")


def test_lpm01a_port_that_does_not_answer(silent_port):
    with pytest.raises(TargetError, match=r"lpm01a meter: no answer to '.*' within [\d.]+ s \(wrong port or baud "
                                          r"rate\?\)"):
        _start(kind="lpm01a", device=silent_port, supply_v=3.3, marker="D7")


def test_otii_application_not_running():
    pytest.importorskip("otii_tcp_client")
    port = _closed_tcp_port()
    with pytest.raises(TargetError, match=rf"otii meter: cannot reach the Otii application at 127\.0\.0\.1:{port} "
                                          r"\(.*\); start the Otii app or Otii Server with TCP enabled"):
        _start(kind="otii", device=f"127.0.0.1:{port}", supply_v=3.3)


def test_otii_device_name_that_matches_none():
    pytest.importorskip("otii_tcp_client")
    with pytest.raises(TargetError, match=r"otii meter: 0 devices match Arc-2 \(.+\); set \[meter\.options\] "
                                          r"device_name"):
        _start(kind="otii", device="sim", supply_v=3.3, options={"device_name": "Arc-2"})


def test_joulescope_none_matching():
    pytest.importorskip("joulescope")
    with pytest.raises(TargetError, match=r"joulescope meter: 0 Joulescopes match 999999; name one in \[meter\] device "
                                          r"\(its serial number\)"):
        _start(kind="joulescope", device="999999", supply_v=3.3)


def test_meter_that_measured_the_wrong_number_of_frames():
    from bench.runner.stream import with_energy

    f = real_frames(6)
    m = make_meter(target())
    e = measure_utterance(m, f)
    with pytest.raises(TargetError, match=r"the meter returned 6 energies for 5 frames"):
        with_energy(f.slice(0, 5), e)
