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
BUILTIN = {"model": "bench.targets.meters.model:ModelMeter"}  # the instrument meters: entry points (pyproject.toml)

__all__ = ["ENERGY_KINDS", "FrameEnergy", "Meter", "MeterSpec", "frame_counts", "installed_meters",
           "make_meter", "measure_utterance", "meter_class", "utterance_meter"]


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


def utterance_meter(target: TargetSpec) -> Meter | None:
    """The meter the runner brackets every utterance with, or None where the target's meter is the
    datasheet model (whose figures follow from the counts at summary time and need no capture)."""
    meter = make_meter(target)
    return None if meter.energy_kind == "model" else meter


def measure_utterance(meter: Meter, frames: Any) -> FrameEnergy:
    """After an utterance: the frames the runner just recorded go to the meter's optional ``feed``
    hook (a simulated instrument plays the current they draw; a real one ignores them), the
    capture stops, and the frames' windows are cut. A meter that fails leaves the counts intact:
    every frame's energy is then NaN, with the reason."""
    from bench.errors import BenchError
    from bench.targets.meters.base import excluded_energy

    try:
        feed = getattr(meter, "feed", None)
        if feed is not None:
            feed(frames)
        meter.stop()
        return meter.frame_energy(frames)
    except (BenchError, OSError, RuntimeError, ValueError) as e:
        return excluded_energy(meter.energy_kind, getattr(meter, "source", meter.name), len(frame_counts(frames)),
                               f"the meter failed: {type(e).__name__}: {e}")
