"""The hardware layer's seams: each driver declares the small protocols of
bench.targets.protocols it implements, and has their methods; option errors name the key."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.errors import ConfigError, TargetError
from bench.targets import load_target, parse_target
from bench.targets.drivers import driver_class, make_driver
from bench.targets.drivers.base import Driver
from bench.targets.drivers.pyocd import PyocdDriver
from bench.targets.drivers.qemu import QemuDriver
from bench.targets.protocols import (
    PROTOCOLS,
    CounterReader,
    CycleEstimator,
    ExitRunner,
    Flasher,
    LinkProvider,
    Meter,
    Resetter,
    claimed,
    provides,
    require,
)

CLAIMS: dict[type[Driver], set[type]] = {
    QemuDriver: {Resetter, LinkProvider, ExitRunner, CycleEstimator},
    PyocdDriver: {Flasher, Resetter, LinkProvider, CounterReader},
}


def _target(driver: str, tmp_path: Path, **table: Any) -> Any:
    data: dict[str, Any] = {"name": "t", "driver": driver, "board": "mps2-an386", "cpu": "cortex-m4f",
                            "clock_hz": 25_000_000}
    if driver == "qemu":
        data["counter"] = {"kind": "instructions", "timer_hz": 25_000_000, "icount_shift": 7}
    else:
        data["counter"] = {"kind": "cycles"}
        table = {"target_type": "stm32f429xi", **table}
    data[driver] = table
    return parse_target(data, where="test", path=tmp_path / "t.toml")


def _driver(cls: type[Driver], tmp_path: Path) -> Driver:
    return cls(_target("qemu" if cls is QemuDriver else "pyocd", tmp_path), tmp_path)


@pytest.mark.parametrize("cls", list(CLAIMS), ids=lambda c: c.__name__)
def test_drivers_declare_and_satisfy_their_protocols(cls: type[Driver], tmp_path: Path) -> None:
    d = _driver(cls, tmp_path)
    assert set(cls.protocols()) == set(claimed(d)) == CLAIMS[cls]
    for proto in CLAIMS[cls]:
        assert provides(d, proto) and isinstance(d, proto), proto.__name__
        for name, member in inspect.getmembers(proto, inspect.isfunction):
            if name.startswith("_"):
                continue
            impl = getattr(cls, name)
            assert impl is not member, f"{cls.__name__}.{name} is the protocol's stub"
            want = list(inspect.signature(member).parameters)
            got = list(inspect.signature(impl).parameters)
            assert got[:len(want)] == want, (cls.__name__, name, got, want)
    for other in set(PROTOCOLS) - CLAIMS[cls]:
        assert not provides(d, other), other.__name__


def test_require_names_what_a_driver_can_do(tmp_path: Path) -> None:
    q = _driver(QemuDriver, tmp_path)
    assert require(q, ExitRunner, "run the kernel bench") is q
    with pytest.raises(TargetError, match=r"cannot flash an image: QemuDriver does not implement Flasher "
                                          r"\(it provides Resetter, LinkProvider, ExitRunner, CycleEstimator\)"):
        require(q, Flasher, "flash an image")
    # QEMU has no cycle counter: read_cycle_counter exists (the Driver interface) but is not claimed
    assert q.read_cycle_counter() is None and not provides(q, CounterReader)


def test_runner_interface_is_kept(tmp_path: Path) -> None:
    """What bench.runner uses: make_driver(target, workdir), start, open_link, stop, logs, probe_uid."""
    for name, cls in (("qemu-mps2-an386", QemuDriver), ("nucleo-f429zi", PyocdDriver)):
        d = make_driver(load_target(name), tmp_path)
        assert type(d) is cls and isinstance(d, Driver)
        for m in ("start", "open_link", "stop", "logs", "reset", "read_cycle_counter"):
            assert callable(getattr(d, m))
        assert d.logs() == ""
        d.stop()
    assert getattr(make_driver(load_target("qemu-mps2-an386"), tmp_path), "probe_uid", None) is None
    assert driver_class("pyocd") is PyocdDriver and driver_class("qemu") is QemuDriver
    with pytest.raises(ConfigError, match="no target driver named 'openocd'.*labgrid.*pyocd.*qemu"):
        driver_class("openocd")


def test_meter_is_a_protocol_too() -> None:
    from bench.targets.meters.model import ModelMeter

    assert Meter in PROTOCOLS
    assert isinstance(ModelMeter(load_target("qemu-mps2-an386")), Meter)


@pytest.mark.parametrize("table,key", [
    ({"port": "5555"}, "port"),
    ({"port": 70000}, "port"),
    ({"port": True}, "port"),
    ({"binary": 3}, "binary"),
    ({"machine": ""}, "machine"),
    ({"extra_args": "-d guest_errors"}, "extra_args"),
    ({"extra_args": [True]}, "extra_args"),
    ({"link": "usb"}, "link"),
])
def test_qemu_option_errors_name_the_key(tmp_path: Path, table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[qemu\]:? {key} must be"):
        QemuDriver(_target("qemu", tmp_path, **table), tmp_path)


@pytest.mark.parametrize("table,key", [
    ({"frequency": "4MHz"}, "frequency"),
    ({"baud": 0}, "baud"),
    ({"verify": 1}, "verify"),
    ({"skip_unchanged": "yes"}, "skip_unchanged"),
    ({"probe_uid": 1234}, "probe_uid"),
    ({"serial": ["/dev/ttyACM0"]}, "serial"),
    ({"connect_mode": "now"}, "connect_mode"),
])
def test_pyocd_option_errors_name_the_key(tmp_path: Path, table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[pyocd\]: {key} must be"):
        PyocdDriver(_target("pyocd", tmp_path, **table), tmp_path)


def test_qemu_options_parse(tmp_path: Path) -> None:
    d = QemuDriver(_target("qemu", tmp_path, port=5555, extra_args=["-d", 1], link="semihost"), tmp_path)
    assert (d.binary, d.machine, d.fixed_port, d.extra_args, d.link) == (
        "qemu-system-arm", "mps2-an386", 5555, ["-d", "1"], "semihost")
    cmd = d.command(Path("x.elf"), 0)
    assert cmd[cmd.index("-serial") + 1] == "null" and cmd[-2:] == ["-d", "1"]
    cmd = d.command(Path("x.elf"), 0, serial="stdio")
    assert cmd[cmd.index("-serial") + 1] == "stdio"
    assert cmd[cmd.index("-icount") + 1] == "shift=7,sleep=off"


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_run_to_exit_reports_a_timeout(tmp_path: Path) -> None:
    """An image that never exits (the passthrough agent waits for the host) is stopped."""
    from bench.images import find_image

    d = QemuDriver(load_target("qemu-mps2-an386"), tmp_path)
    with pytest.raises(TargetError, match="did not finish in 0.5 s"):
        d.run_to_exit(find_image("passthrough-an386").path, timeout=0.5)
    assert d.proc is None
