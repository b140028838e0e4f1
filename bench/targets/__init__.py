"""Targets: what runs an image. A target is a TOML under targets/ (bench.targets.spec) bound to
a driver (bench.targets.drivers: qemu, pyocd, entry point group `bench.drivers`) and, where it
has one, an energy meter (bench.targets.meters, entry point group `bench.meters`)."""

from bench.targets.spec import CounterSpec, TargetSpec, list_targets, load_target, parse_target

__all__ = ["CounterSpec", "TargetSpec", "list_targets", "load_target", "parse_target"]
