"""The `model` meter: no instrument, the target TOML's datasheet energy model.

    energy per frame = cycles per frame x [energy] joules_per_cycle

On boards the cycles are DWT CYCCNT counts; on QEMU targets the counter counts instructions and
the cycles are an estimate through the stated [cpi] model (instructions x [cpi] estimate). The
figure is labelled kind "model" and carries [energy] source as its source text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.targets.meters.base import FrameEnergy, frame_counts
from bench.targets.spec import MeterSpec, TargetSpec


class ModelMeter:
    name = "model"
    energy_kind = "model"

    def __init__(self, target: TargetSpec, spec: MeterSpec | None = None):
        self.target = target
        self.spec = spec or MeterSpec()

    @property
    def cycles_per_count(self) -> float:
        """Cycles per counted unit: 1 for cycle counters, the stated CPI for instruction counts."""
        return self.target.cpi_estimate if self.target.counter.unit == "instructions" else 1.0

    def start(self) -> None:
        """Nothing to arm: a model measures nothing."""

    def stop(self) -> None:
        """Nothing to stop."""

    def frame_energy(self, frames: Any) -> FrameEnergy:
        jpc = self.target.energy_j_per_cycle
        if getattr(frames, "column_names", None) is not None and "cycles_est" in frames.column_names:
            # QEMU with the cycle-estimate plugin: cycles_est instead of the flat CPI
            counts = np.asarray(frames.column("cycles_est").to_numpy(), np.float64)
            mean = float(counts.mean()) if counts.size else float("nan")
            return FrameEnergy(kind=self.energy_kind, source=f"{self.target.energy_source}; x cycles_est (estimate)",
                               joules=counts * jpc, joules_mean=mean * jpc)
        counts = frame_counts(frames)
        to_cycles = self.cycles_per_count
        # the mean exactly as results.summary always computed it: mean(counts) x CPI x J/cycle
        mean = float(counts.mean()) if counts.size else float("nan")
        return FrameEnergy(kind=self.energy_kind, source=self.target.energy_source,
                           joules=counts * to_cycles * jpc, joules_mean=mean * to_cycles * jpc)
