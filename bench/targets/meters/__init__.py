"""Energy meters: one module per meter under bench/targets/meters/, found through the
`bench.meters` entry point group (built-ins also without an installed distribution) and chosen
by a target TOML's [meter] kind; a target without [meter] gets the `model` meter."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from bench.errors import ConfigError
from bench.targets.meters.base import ENERGY_KINDS, FrameEnergy, Meter, MeterSpec, frame_counts

if TYPE_CHECKING:
    from bench.targets.spec import TargetSpec

GROUP = "bench.meters"
BUILTIN = {"model": "bench.targets.meters.model:ModelMeter"}

__all__ = ["ENERGY_KINDS", "FrameEnergy", "Meter", "MeterSpec", "frame_counts", "installed_meters",
           "make_meter", "meter_class"]


def installed_meters() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)} | set(BUILTIN))


def meter_class(kind: str) -> Any:
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if kind in eps:
        return eps[kind].load()
    if kind in BUILTIN:
        module, _, cls = BUILTIN[kind].partition(":")
        return getattr(import_module(module), cls)
    raise ConfigError(f"no energy meter of kind {kind!r}; installed meters: {', '.join(installed_meters())}. "
                      f"A meter is a module under bench/targets/meters/ registered in the '{GROUP}' entry "
                      "point group (docs/hardware.md)")


def make_meter(target: TargetSpec) -> Meter:
    """The target's meter: its [meter] table, or the datasheet `model` meter without one."""
    spec = target.meter or MeterSpec()
    try:
        cls = meter_class(spec.kind)
    except ConfigError as e:
        raise ConfigError(f"target {target.name} ({target.path or 'no file'}) [meter] kind: {e}") from e
    meter = cls(target, spec)
    if not isinstance(meter, Meter) or meter.energy_kind not in ENERGY_KINDS:
        raise ConfigError(f"energy meter {spec.kind!r} ({cls.__module__}.{cls.__qualname__}) does not implement "
                          f"the Meter protocol (name, energy_kind in {ENERGY_KINDS}, start, stop, frame_energy)")
    return meter
