"""What compare / gate / report need of one image in one run (or one baseline), read from the store.

An :class:`ImageMeasures` holds the per-frame counters (total and per stage), the counter
unit (which decides exact vs statistical comparison), the per-utterance quality of the
target output where the run scored it, and the provenance that names where it came from.
It is built from a run directory (:func:`run_measures`) or from a committed baseline
(bench.results.baseline); it reads records, never boards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import ResultsError
from bench.results.store import Run

QUALITY_METRICS = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")
ENERGY_NUMERIC = ("energy", "energy_mean_a", "energy_peak_a", "energy_window_s")


def energy_kind_of(table: pa.Table) -> str:
    """The kind of the energy an instrument meter recorded in a frames table ("" without one)."""
    if "energy_kind" not in table.column_names:
        return ""
    kinds = sorted({k for k in table.column("energy_kind").to_pylist() if k})
    return kinds[0] if len(kinds) == 1 else "+".join(kinds)
COUNTER_UNITS = ("instructions", "cycles")


@dataclass(frozen=True)
class ImageMeasures:
    image: str
    sha256: str
    unit: str  # "instructions" (QEMU, deterministic) | "cycles" (boards, noisy)
    frames: dict[str, np.ndarray]  # "utt" (str), "frame" (int), "total", "stage_<name>" (+ "energy" if measured)
    stage_order: tuple[str, ...] = ()
    quality: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> utt -> target value
    model_family: str = ""
    target: str = ""
    target_uid: str | None = None
    source: str = ""  # run id or baseline path
    git_revision: str = ""
    energy_kind: str = ""  # "measured" / "simulated" where the frames carry an instrument's energy (docs/energy.md)

    def __post_init__(self) -> None:
        if self.unit not in COUNTER_UNITS:
            raise ResultsError(f"{self.source}: image {self.image} has counter unit {self.unit!r}; expected one of "
                               f"{COUNTER_UNITS}")
        n = len(self.frames.get("total", ()))
        for k, v in self.frames.items():
            if len(v) != n:
                raise ResultsError(f"{self.source}: image {self.image}: column {k} has {len(v)} rows, total has {n}")

    @property
    def deterministic(self) -> bool:
        return self.unit == "instructions"

    @property
    def utterances(self) -> list[str]:
        return sorted(set(self.frames["utt"].tolist()))

    @property
    def counter_columns(self) -> list[str]:
        stages = [f"stage_{s}" for s in self.stage_order if f"stage_{s}" in self.frames]
        stages += sorted(k for k in self.frames if k.startswith("stage_") and k not in stages)
        est = sorted(k for k in self.frames if k.startswith("cycles_est"))  # deterministic estimates: exact
        return ["total", *stages, *est, *self.energy_columns]

    @property
    def energy_columns(self) -> list[str]:
        """An instrument meter's per-frame figures (noisy: compared by medians): energy per frame,
        per stage, mean and peak current."""
        if "energy" not in self.frames:
            return []
        stages = sorted(k for k in self.frames if k.startswith("energy_stage_"))
        return ["energy", *stages, *(k for k in ("energy_mean_a", "energy_peak_a") if k in self.frames)]


def frames_to_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """The counter columns of a frames table as numpy arrays (masks, probes and audio are not needed)."""
    keep = [c for c in table.column_names
            if c in ("utt", "frame", "total", *ENERGY_NUMERIC)
            or c.startswith(("stage_", "cycles_est", "energy_stage_"))]
    out: dict[str, np.ndarray] = {}
    for c in keep:
        col = table.column(c)
        if c == "utt":
            out[c] = np.asarray(col.to_pylist(), dtype=object)
        elif c.startswith("energy"):  # NaN where a window was excluded
            out[c] = np.asarray(col.to_numpy(zero_copy_only=False), np.float64)
        else:
            out[c] = col.to_numpy()
    if "total" not in out or "utt" not in out:
        raise ResultsError("a frames table without 'utt' and 'total' columns cannot be compared")
    return out


def read_quality(rows: list[dict[str, Any]] | None) -> dict[str, dict[str, float]]:
    """metric -> utterance -> value of the target condition from an image's metrics rows."""
    q: dict[str, dict[str, float]] = {}
    for r in rows or ():
        if r.get("condition") != "target":
            continue
        for m in QUALITY_METRICS:
            v = r.get(m)
            if v is not None and np.isfinite(v):
                q.setdefault(m, {})[str(r["utt"])] = float(v)
    return q


def run_measures(run: Run, images: list[str] | None = None) -> dict[str, ImageMeasures]:
    """Every image of a run that has frames (or the named ones; a named one without frames is an error)."""
    meta = run.read_meta()
    prov = meta.get("provenance", {})
    unit_default = meta.get("target", {}).get("counter", {}).get("kind", "instructions")
    out: dict[str, ImageMeasures] = {}
    for name, im in meta.get("images", {}).items():
        if images and name not in images:
            continue
        if not run.done_utterances(name):
            if images:
                raise ResultsError(f"run {run.run_id} has no frames for image '{name}' (status {im.get('status')}); "
                                   "pick another run or finish it with `bench run --resume`")
            continue
        summary: dict[str, Any] = run.read_summary(name) or {}
        table = run.frames(name)
        out[name] = ImageMeasures(
            image=name, sha256=im.get("sha256", ""), unit=summary.get("unit", unit_default),
            frames=frames_to_arrays(table), energy_kind=energy_kind_of(table),
            stage_order=tuple(summary.get("stage_order", ())),
            quality=read_quality(run.read_metrics(name)),
            model_family=im.get("model_family", ""), target=meta.get("target", {}).get("name", ""),
            target_uid=im.get("target_uid"), source=run.run_id, git_revision=prov.get("git_revision", ""),
        )
    missing = sorted(set(images or ()) - set(meta.get("images", {})))
    if missing:
        raise ResultsError(f"run {run.run_id} has no image {', '.join(missing)}; it has "
                           f"{', '.join(meta.get('images', {})) or 'none'}")
    return out
