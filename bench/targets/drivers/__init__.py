"""Target drivers: one composite interface (bench.targets.drivers.base.Driver) over the small
protocols each driver declares (bench.targets.protocols), chosen by a target TOML's `driver` key
and discovered through the `bench.drivers` entry point group (built-ins also without one)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from bench.errors import ConfigError
from bench.targets.drivers.base import Driver
from bench.targets.spec import TargetSpec


def driver_class(name: str) -> type[Driver]:
    eps = {ep.name: ep for ep in entry_points(group="bench.drivers")}
    if name in eps:
        cls = eps[name].load()
    elif name == "qemu":  # built-ins work without an installed distribution too
        from bench.targets.drivers.qemu import QemuDriver as cls
    elif name == "pyocd":
        from bench.targets.drivers.pyocd import PyocdDriver as cls
    else:
        raise ConfigError(f"no target driver named '{name}'; known: {sorted(set(eps) | {'qemu', 'pyocd'})}")
    return cls  # type: ignore[no-any-return]


def make_driver(target: TargetSpec, workdir: Path) -> Driver:
    return driver_class(target.driver)(target, workdir)
