"""Targets: what runs an image. A target is a TOML under targets/ (bench.targets.spec) bound to
a driver (bench.targets.drivers: qemu, pyocd, entry point group `bench.drivers`) that implements
the small protocols of bench.targets.protocols (flash, reset, link, counter, run-to-exit) and to
an energy meter (bench.targets.meters, entry point group `bench.meters`; the datasheet `model`
meter without a [meter] table). docs/hardware.md describes the layer."""

from bench.targets.spec import CounterSpec, MeterSpec, TargetSpec, list_targets, load_target, parse_target

__all__ = ["CounterSpec", "MeterSpec", "TargetSpec", "list_targets", "load_target", "parse_target"]
