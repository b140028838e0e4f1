"""LabgridDriver: a board on a labgrid place. start() acquires (locks) the place through the
coordinator, reads its resources and drives the board with the pyOCD driver over them: the
`pyocd server` of the board host (resource PyOCDProbeServer) for flash, reset and the cycle counter,
the board's UART through ser2net with RFC 2217 (NetworkSerialPort) for the link, and where the place
has a NetworkPowerPort, labgrid's power driver to power-cycle a board that does not answer. stop()
releases the place, also after Ctrl-C and SIGTERM (the runner turns both into an orderly stop); a
lock left by a bench that was killed is found stale and taken over next time (places.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, TargetError
from bench.link.transport import ByteTransport
from bench.targets.drivers.base import Driver
from bench.targets.drivers.labgrid.options import (
    POWER_CLASS,
    PROBE_CLASS,
    SERIAL_CLASS,
    LabgridOptions,
    parse_options,
    pyocd_target,
)
from bench.targets.drivers.labgrid.places import Coordinator, Resource
from bench.targets.protocols import CounterReader, Flasher
from bench.targets.spec import TargetSpec


def check_rfc2217_client() -> None:
    """The link sets the port's timeout before every read; pyserial 3.5's RFC 2217 client answers each
    change with a renegotiation of the port (about 0.3 s through ser2net), pyserial-labgrid's does not
    (docs/decisions.md, "labgrid and pyserial"). Refuse the slow one with the fix."""
    import serial.rfc2217

    if "timeout" not in vars(serial.rfc2217.Serial):
        raise ConfigError(f"the `serial` package on disk ({serial.rfc2217.__file__}) is pyserial's, whose RFC 2217 "
                          "client renegotiates the port on every read timeout (the link would crawl through "
                          "ser2net): pip install --no-deps --force-reinstall pyserial-labgrid==3.5.0.2 "
                          "(scripts/bootstrap does)")


def pick(resources: list[Resource], cls: str, name: str, place: str, what: str) -> Resource | None:
    """The place's resource of class `cls` (named `name` when the place has several)."""
    found = [r for r in resources if r.cls == cls and (not name or r.name == name)]
    if len(found) == 1:
        return found[0]
    if not found:
        return None
    raise ConfigError(f"place {place} has {len(found)} {cls} resources ({', '.join(r.name for r in found)}); "
                      f"set [labgrid] {what} to the one to use")


class LabgridDriver(Driver, Flasher, CounterReader):
    """Flasher, Resetter, LinkProvider and CounterReader of the pyOCD driver, on a locked labgrid place."""

    def __init__(self, target: TargetSpec, workdir: Path):
        super().__init__(target, workdir)
        self.options: LabgridOptions = parse_options(target)
        self.place = ""
        self.probe_uid: str | None = None
        self.resources: list[Resource] = []
        self._coord: Coordinator | None = None
        self._took = False  # whether start() took the place's lock (then stop() releases it)
        self._inner: Any = None  # the PyocdDriver on the place's resources
        self._lines: list[str] = []
        self._inner_logs = ""  # the pyOCD driver's log, kept when it is let go

    @classmethod
    def check_options(cls, target: TargetSpec) -> None:
        parse_options(target)

    def _note(self, msg: str) -> None:
        self._lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}")

    def logs(self) -> str:
        inner = self._inner.logs() if self._inner is not None else self._inner_logs
        return "\n".join(self._lines) + ("\n" if self._lines else "") + inner

    # -- the place --------------------------------------------------------------------------------

    def _choose_place(self, coord: Coordinator) -> str:
        name = self.options.place_name()
        if name:
            return name
        if not self.options.tags:
            raise ConfigError(f"{self.options.where}: name a place (place = \"...\" or $LG_PLACE) or tags")
        hits = coord.find(self.options.tags)
        if not hits:
            raise ConfigError(f"no labgrid place on {coord.address} has the tags {self.options.tags}")
        return hits[0]  # idle ones first; a held one gives its holder in acquire()'s error

    def acquire(self) -> None:
        """Lock the place and read its resources (PlaceReserved: somebody else holds it)."""
        if self._coord is not None:
            return
        coord = Coordinator(self.options.coordinator)
        try:
            self.place = self._choose_place(coord)
            self._took = coord.acquire(self.place)
            if not self._took:
                self._note(f"place {self.place} is already held by {coord.me} outside bench: used, not released")
            if coord.stale:
                self._note(f"place {self.place}: {coord.stale}")
            self._note(f"place {self.place} acquired on {coord.address} as {coord.me}")
            self.resources = coord.resources(self.place)
            self._note("resources: " + "; ".join(f"{r.name} ({r.cls}) {r.params}" for r in self.resources))
        except BaseException:
            self._let_go(coord)
            raise
        self._coord = coord

    def _let_go(self, coord: Coordinator) -> None:
        try:
            if self.place and self._took and coord.release(self.place):
                self._note(f"place {self.place} released")
        except Exception as e:  # noqa: BLE001 - the farm's sweep at the end of the night catches it
            self._note(f"releasing place {self.place} failed: {e}")
        finally:
            coord.close()

    def _pyocd_driver(self) -> Any:
        from bench.targets.drivers.pyocd import PyocdDriver

        place = self.place
        probe = pick(self.resources, PROBE_CLASS, self.options.probe_resource, place, "probe_resource")
        serial = pick(self.resources, SERIAL_CLASS, self.options.serial_resource, place, "serial_resource")
        if probe is None or serial is None:
            missing = [c for c, r in ((PROBE_CLASS, probe), (SERIAL_CLASS, serial)) if r is None]
            raise TargetError(f"place {place} has no {' and no '.join(missing)} resource: its exporter must export "
                              "the board's serial port (RawSerialPort or USBSerialPort: labgrid serves it through "
                              f"ser2net) and a {PROBE_CLASS} (host, port of `pyocd server` on the board host); "
                              "docs/farm.md")
        check_rfc2217_client()
        remote = f"{probe.params['host']}:{int(probe.params['port'])}"
        # ign_set_control as labgrid's own SerialDriver: ser2net does not answer SET_CONTROL for a port
        # without flow control lines (a pty, many USB UARTs), which pyserial would wait for
        url = f"rfc2217://{serial.params['host']}:{int(serial.params['port'])}?ign_set_control"
        spec = pyocd_target(self.target, self.options, remote=remote, serial=url, baud=serial.params.get("speed"))
        self._register_emulated(spec)
        self._note(f"board through pyOCD server {remote}, link {url}")
        return PyocdDriver(spec, self.workdir)

    @staticmethod
    def _register_emulated(spec: TargetSpec) -> None:
        """The emulated STM32F405's pyOCD target type lives in the emulated probe's package; a client
        of a remote emulated board needs it registered too."""
        from bench.targets.drivers.pyocd.api import _load_pyocd

        _load_pyocd()  # pyOCD first: loading its probe plugins imports the emulated target module
        from bench.targets.qemuprobe.target import TARGET_TYPE, register

        if spec.driver_options.get("target_type") == TARGET_TYPE:
            register()

    def power_cycle(self) -> bool:
        """Power the board off and on through the place's NetworkPowerPort (labgrid's power driver);
        False when the place offers none."""
        port = pick(self.resources, POWER_CLASS, "", self.place, "power")
        if port is None or not self.options.power_cycle:
            return False
        from labgrid import Target
        from labgrid.driver import NetworkPowerDriver
        from labgrid.resource import NetworkPowerPort

        t = Target(f"bench-{self.place}")
        NetworkPowerPort(t, name=None, **{k: v for k, v in port.params.items() if k in ("model", "host", "index")})
        drv = NetworkPowerDriver(t, name=None, delay=1.0)
        t.activate(drv)
        drv.cycle()
        self._note(f"place {self.place}: board power-cycled through {port.params.get('host')}")
        return True

    # -- the driver protocols ---------------------------------------------------------------------------

    def start(self, image: Path) -> None:
        self.acquire()
        try:
            self._inner = self._inner or self._pyocd_driver()
            try:
                self._inner.start(image)
            except TargetError:
                if not self.power_cycle():
                    raise
                self._inner.start(image)  # once more after the power cycle
            self.probe_uid = f"labgrid:{self.place}/{self._inner.probe_uid}"
        except TargetError as e:
            self.stop()
            raise type(e)(f"labgrid place {self.place}: {e}") from e
        except BaseException:
            self.stop()
            raise

    def flash(self, image: Path) -> bool:
        self.acquire()
        self._inner = self._inner or self._pyocd_driver()
        return bool(self._inner.flash(image))

    def reset(self) -> None:
        self._require("reset").reset()

    def open_link(self) -> ByteTransport:
        return self._require("open the link").open_link()  # type: ignore[no-any-return]

    def read_cycle_counter(self) -> int | None:
        return self._require("read the cycle counter").read_cycle_counter()  # type: ignore[no-any-return]

    def stop(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.stop()
            self._inner_logs += inner.logs()
        coord, self._coord = self._coord, None
        if coord is not None:
            self._let_go(coord)

    def _require(self, what: str) -> Any:
        if self._inner is None:
            raise TargetError(f"cannot {what}: the labgrid place is not acquired; call start(image) first")
        return self._inner
