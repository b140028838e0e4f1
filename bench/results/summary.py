"""Per-image statistics of the per-frame counters; pure functions of the frames table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from bench.targets.meters.model import ModelMeter
from bench.targets.spec import TargetSpec

CYCLES_EST_LABEL = ("cycles_est: estimated Cortex-M4 cycles (cm4cycles QEMU plugin, TRM timing per executed "
                    "instruction; an estimate, docs/cycles.md)")


def counter_stats(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"mean": float("nan"), "p50": float("nan"), "p99": float("nan"), "max": float("nan"),
                "min": float("nan")}
    return {
        "mean": float(v.mean()),
        "p50": float(np.percentile(v, 50)),
        "p99": float(np.percentile(v, 99)),
        "max": float(v.max()),
        "min": float(v.min()),
    }


def _finite(v: Any) -> np.ndarray:
    a = np.asarray(v.to_numpy(zero_copy_only=False), np.float64)
    return a[np.isfinite(a)]


def recorded_energy(frames: pa.Table, stage_names: list[str]) -> dict[str, Any]:
    """The image summary's energy block from the frames an instrument meter measured (the runner
    stored them: bench.runner.stream.with_energy). Frames whose window was excluded count in
    ``frames_excluded`` with their reasons; every figure is over the measured frames only. A
    frame without a recorded figure (a part of the run measured before the target had a meter)
    counts as not measured."""
    joules = _finite(frames.column("energy"))
    kinds = sorted({k for k in frames.column("energy_kind").to_pylist() if k})
    sources = sorted({k for k in frames.column("energy_source").to_pylist() if k}) \
        if "energy_source" in frames.column_names else []
    kind = kinds[0] if len(kinds) == 1 else "mixed: " + ", ".join(kinds)
    win = _finite(frames.column("energy_window_s"))
    mean_a = np.asarray(frames.column("energy_mean_a").to_numpy(zero_copy_only=False), np.float64)
    w_all = np.asarray(frames.column("energy_window_s").to_numpy(zero_copy_only=False), np.float64)
    ok = np.isfinite(mean_a) & np.isfinite(w_all)
    peak = _finite(frames.column("energy_peak_a"))
    reasons: dict[str, int] = {}
    if "energy_excluded" in frames.column_names:
        for r in frames.column("energy_excluded").to_pylist():
            if r:
                key = r.split(":", 1)[0]
                reasons[key] = reasons.get(key, 0) + 1
    out: dict[str, Any] = {
        "joules_per_frame_mean": float(joules.mean()) if joules.size else float("nan"),
        "kind": kind,
        "model": "; ".join(sources),
    }
    if ok.any():
        out["mean_current_a"] = float(np.sum(mean_a[ok] * w_all[ok]) / np.sum(w_all[ok]))
    if peak.size:
        out["peak_current_a"] = float(peak.max())
    if win.size:
        out["window_s"] = float(win.sum())
    out.update({
        "joules_per_frame": counter_stats(joules),
        "frames_measured": int(joules.size),
        "frames_excluded": int(frames.num_rows - joules.size),
        "excluded_reasons": reasons,
    })
    stages = {s: float(_finite(frames.column(f"energy_stage_{s}")).mean())
              for s in stage_names if f"energy_stage_{s}" in frames.column_names
              and _finite(frames.column(f"energy_stage_{s}")).size}
    if stages:
        out["stages"] = stages
    return out


def summarize_frames(frames: pa.Table, stage_names: list[str], target: TargetSpec, hop_len: int,
                     sample_rate: int) -> dict[str, Any]:
    """Counter statistics per frame and per stage, with the labelled real-time estimate and the
    energy figures of the target's meter (the datasheet `model` meter without a [meter] table)."""
    unit = target.counter.unit
    total = frames.column("total").to_numpy()
    stages = {s: counter_stats(frames.column(f"stage_{s}").to_numpy()) for s in stage_names
              if f"stage_{s}" in frames.column_names}
    tot = counter_stats(total)
    hop_s = hop_len / sample_rate
    budget = target.clock_hz * hop_s  # cycles available per hop at the nominal clock
    to_cycles = target.cpi_estimate if unit == "instructions" else 1.0
    est = None
    if "cycles_est" in frames.column_names:
        est = {"label": CYCLES_EST_LABEL, "total": counter_stats(frames.column("cycles_est").to_numpy()),
               "stages": {s: counter_stats(frames.column(f"cycles_est_{s}").to_numpy()) for s in stage_names
                          if f"cycles_est_{s}" in frames.column_names}}
    rt = {
        "clock_hz": target.clock_hz,
        "cycles_per_hop_budget": budget,
        "rtf_mean": tot["mean"] * to_cycles / budget,
        "rtf_p99": tot["p99"] * to_cycles / budget,
        "kind": "estimate" if unit == "instructions" else "measured",
        "model": (f"cycles = instructions x CPI {target.cpi_estimate} ({target.cpi_source})"
                  if unit == "instructions" else "DWT cycles"),
    }
    if est is not None and unit == "instructions":
        rt.update(rtf_mean=est["total"]["mean"] / budget, rtf_p99=est["total"]["p99"] / budget,
                  model=f"cycles = {CYCLES_EST_LABEL}")
    energy = (recorded_energy(frames, stage_names) if "energy" in frames.column_names
              else ModelMeter(target).frame_energy(frames).summary())
    utts = frames.column("utt").to_pylist()
    return {
        "frames": int(frames.num_rows),
        "utterances": len(set(utts)),
        "unit": unit,
        "total": tot,
        "stages": stages,
        "stage_order": [s for s in stage_names if s in stages],
        "realtime": rt,
        "energy": energy,
        **({"cycles_est": est} if est is not None else {}),
    }
