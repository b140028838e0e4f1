"""The energy meter seam: what a meter is (the `Meter` protocol) and what it returns.

A meter is bound to one target and configured from its TOML's [meter] table
(bench.targets.spec.MeterSpec: kind, device, sample_rate, supply_v, marker, options). The bench
calls `start()` before an utterance and `stop()` after it; `frame_energy(frames)` then turns what
the meter saw into one energy figure per frame, in the frames' order, with the figure's kind:

* "measured"  - a power analyser on the board (PPK2, Joulescope, Otii, LPM01A), through its
  maker's package, windows cut by the marker GPIO the firmware raises around each frame;
* "simulated" - the same code path against a simulated instrument (tests, demos);
* "model"     - no instrument: a datasheet figure times the counted (or estimated) cycles.

Every energy figure the bench shows carries this kind (docs/measurement.md, docs/hardware.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bench.errors import ConfigError
from bench.targets.spec import MeterSpec

ENERGY_KINDS = ("measured", "simulated", "model")

__all__ = ["ENERGY_KINDS", "FrameEnergy", "Meter", "MeterSpec", "excluded_energy", "frame_counts", "frame_cycles",
           "frame_stage_cycles",
           "frame_stage_names"]


@dataclass(frozen=True, eq=False)
class FrameEnergy:
    """Per-frame energy from a meter, labelled with its kind and what it rests on.

    joules: one figure per frame (J), in the frames' order. joules_mean: the mean per frame,
    as the meter defines it (the model meter keeps the historical arithmetic exactly).
    mean_current_a / peak_current_a / window_s: the instrument's current over the frames'
    windows and their total duration; None where the meter has no current trace (a model).
    """

    kind: str
    source: str
    joules: np.ndarray
    joules_mean: float
    mean_current_a: float | None = None
    peak_current_a: float | None = None
    window_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # per frame, where an instrument cut windows (None for a model): mean and peak current (A) and
    # the matched window's duration (s); NaN for a frame whose window was excluded
    frame_mean_a: np.ndarray | None = None
    frame_peak_a: np.ndarray | None = None
    frame_window_s: np.ndarray | None = None
    excluded: dict[int, str] = field(default_factory=dict)  # frame index -> why its window was excluded
    stage_joules: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> J per frame (stage marker)
    notes: tuple[str, ...] = ()  # what the alignment saw besides the frames (stray pulses, gaps in idle time)

    def __post_init__(self) -> None:
        if self.kind not in ENERGY_KINDS:
            raise ConfigError(f"energy kind must be one of {ENERGY_KINDS}, got {self.kind!r}: every energy "
                              "figure says whether it was measured, simulated or modelled")

    def summary(self) -> dict[str, Any]:
        """The "energy" part of an image summary; optional figures appear only where measured."""
        out: dict[str, Any] = {"joules_per_frame_mean": self.joules_mean, "kind": self.kind, "model": self.source}
        for key in ("mean_current_a", "peak_current_a", "window_s"):
            v = getattr(self, key)
            if v is not None:
                out[key] = v
        out.update(self.extra)
        return out

    @property
    def measured_frames(self) -> int:
        return int(np.count_nonzero(np.isfinite(self.joules)))


def excluded_energy(kind: str, source: str, n: int, reason: str, stages: tuple[str, ...] = ()) -> FrameEnergy:
    """Every frame of an utterance excluded for one reason (the meter failed, nothing was captured):
    the counts stay, the energy is NaN and says why."""
    nan = np.full(n, np.nan)
    return FrameEnergy(kind=kind, source=source, joules=nan, joules_mean=float("nan"), frame_mean_a=nan.copy(),
                       frame_peak_a=nan.copy(), frame_window_s=nan.copy(), excluded={i: reason for i in range(n)},
                       stage_joules={s: nan.copy() for s in stages})


def frame_counts(frames: Any) -> np.ndarray:
    """Per-frame counts (the target's counter unit) as float64: a frames table's `total` column
    (pyarrow Table or anything with .column(name)) or a 1-D sequence of counts."""
    if hasattr(frames, "column") and hasattr(frames, "column_names"):
        if "total" not in frames.column_names:
            raise ConfigError(f"a frames table needs a 'total' column; it has {list(frames.column_names)}")
        values = frames.column("total").to_numpy()
    else:
        values = frames
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ConfigError(f"per-frame counts must be one-dimensional, got shape {v.shape}")
    return v


def frame_cycles(frames: Any, target: Any) -> np.ndarray:
    """Per-frame core cycles of a frames table, as a board would run them: ``cycles_est`` where the
    table has it (QEMU with the cycle-estimate plugin), else ``total`` (DWT cycles on boards, or
    instructions x the target's stated CPI on QEMU). Used to pace a simulated instrument and to
    check a marker window's length against its frame (proportional, never absolute: the meter's
    and the board's clocks are not trusted)."""
    if hasattr(frames, "column_names") and "cycles_est" in frames.column_names:
        est = np.asarray(frames.column("cycles_est").to_numpy(zero_copy_only=False), np.float64)
        if np.all(np.isfinite(est)):
            return est
    counts = frame_counts(frames)
    return counts * (target.cpi_estimate if target.counter.unit == "instructions" else 1.0)


def frame_stage_names(frames: Any) -> tuple[str, ...]:
    """The stages of a frames table (its ``stage_<name>`` columns, in order)."""
    names = getattr(frames, "column_names", None) or []
    return tuple(c[len("stage_"):] for c in names if c.startswith("stage_"))


def frame_stage_cycles(frames: Any, target: Any) -> np.ndarray:
    """Per-frame, per-stage cycles (frames x stages), like :func:`frame_cycles`."""
    stages = frame_stage_names(frames)
    if not stages:
        return np.zeros((len(frame_counts(frames)), 0))
    cols = frames.column_names
    if all(f"cycles_est_{s}" in cols for s in stages) and "cycles_est" in cols:
        return np.stack([np.asarray(frames.column(f"cycles_est_{s}").to_numpy(zero_copy_only=False), np.float64)
                         for s in stages], axis=1)
    cpi = target.cpi_estimate if target.counter.unit == "instructions" else 1.0
    return np.stack([np.asarray(frames.column(f"stage_{s}").to_numpy(zero_copy_only=False), np.float64) * cpi
                     for s in stages], axis=1)


@runtime_checkable
class Meter(Protocol):
    """An energy meter bound to a target (see the module docstring).

    name: the meter's kind in [meter] (its entry point name); energy_kind: "measured",
    "simulated" or "model", the label every figure it returns carries.
    """

    name: str
    energy_kind: str

    def start(self) -> None:
        """Arm the instrument before an utterance (capture on, marker input armed)."""
        ...

    def stop(self) -> None:
        """Stop the capture after an utterance; the samples stay for frame_energy."""
        ...

    def frame_energy(self, frames: Any) -> FrameEnergy:
        """Energy per frame for a frames table (or per-frame counts in the target's unit)."""
        ...


# Optional hooks (not part of the protocol; the runner calls them where a meter has them):
#   feed(frames)  after an utterance's frames are recorded, before stop(): a real instrument ignores
#                 them; a simulated one plays the current those frames would draw (docs/energy.md)
#   close()       release the instrument (serial port, socket, USB) at the end of an image
