"""The [labgrid] table of a target TOML: which coordinator, which place (by name or tags), how the
place's resources are used, and the pyOCD settings of the board behind it ([labgrid.pyocd])."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from bench.errors import ConfigError
from bench.targets.spec import TargetSpec

OPTION_KEYS = ("coordinator", "place", "tags", "serial_resource", "probe_resource", "power_cycle", "pyocd")
PROBE_CLASS = "PyOCDProbeServer"  # the exporter's resource for a `pyocd server` on the board host
SERIAL_CLASS = "NetworkSerialPort"  # what labgrid's exporter makes of a serial port (ser2net, RFC 2217)
POWER_CLASS = "NetworkPowerPort"
# keys of [labgrid.pyocd] the place supplies: the probe server, the serial port
FROM_PLACE = ("remote", "serial", "probe_uid")


@dataclass(frozen=True)
class LabgridOptions:
    coordinator: str = ""              # host:port; "" -> $LG_COORDINATOR, else 127.0.0.1:20408
    place: str = ""                    # "" -> $LG_PLACE, else the tags
    tags: dict[str, str] = field(default_factory=dict)
    serial_resource: str = ""          # which NetworkSerialPort of the place, when it has several
    probe_resource: str = ""           # which PyOCDProbeServer of the place, when it has several
    power_cycle: bool = True           # power-cycle (NetworkPowerPort) a board that does not answer
    pyocd: dict[str, Any] = field(default_factory=dict)
    where: str = ""

    def place_name(self) -> str:
        return self.place or os.environ.get("LG_PLACE", "")


def parse_options(target: TargetSpec) -> LabgridOptions:
    o = dict(target.driver_options)
    where = f"target {target.name} ({target.path or 'no file'}) [labgrid]"
    unknown = sorted(set(o) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(OPTION_KEYS)}")
    for key in ("coordinator", "place", "serial_resource", "probe_resource"):
        if not isinstance(o.get(key, ""), str):
            raise ConfigError(f"{where}: {key} must be a string, got {o[key]!r}")
    tags = o.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ConfigError(f"{where}: tags must be a table of strings, e.g. tags = {{ board = \"netduinoplus2\" }}")
    if not isinstance(o.get("power_cycle", True), bool):
        raise ConfigError(f"{where}: power_cycle must be true or false")
    pyocd = o.get("pyocd", {})
    if not isinstance(pyocd, dict):
        raise ConfigError(f"{where}: [labgrid.pyocd] must be a table (target_type = ..., verify = ...)")
    given = sorted(set(pyocd) & set(FROM_PLACE))
    if given:
        raise ConfigError(f"{where}.pyocd: {given} come from the place's resources ({PROBE_CLASS}, "
                          f"{SERIAL_CLASS}); remove them from the target TOML")
    opts = LabgridOptions(coordinator=o.get("coordinator", "").strip(), place=o.get("place", "").strip(),
                          tags=dict(tags), serial_resource=o.get("serial_resource", ""),
                          probe_resource=o.get("probe_resource", ""), power_cycle=o.get("power_cycle", True),
                          pyocd=dict(pyocd), where=where)
    pyocd_target(target, opts, remote="127.0.0.1:1", serial="rfc2217://127.0.0.1:1")  # checks [labgrid.pyocd]
    return opts


def pyocd_target(target: TargetSpec, opts: LabgridOptions, *, remote: str, serial: str, baud: int | None = None
                 ) -> TargetSpec:
    """The target as the pyOCD driver sees it once the place is known: its [pyocd] table is
    [labgrid.pyocd] plus the place's probe server and serial port."""
    from bench.targets.drivers.pyocd.options import parse_options as parse_pyocd

    table = {**opts.pyocd, "remote": remote, "serial": serial}
    if baud and "baud" not in opts.pyocd:
        table["baud"] = int(baud)
    spec = dataclasses.replace(target, driver="pyocd", driver_options=table)
    try:
        parse_pyocd(spec)
    except ConfigError as e:
        raise ConfigError(str(e).replace("[pyocd]", "[labgrid.pyocd]")) from None
    return spec
