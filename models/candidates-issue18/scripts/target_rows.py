"""Rows of docs/data.md's on-target table from `bench run` results (issue 18).

    .venv/bin/python models/candidates-issue18/scripts/target_rows.py "shipped (16)" results/s15-shipped-set IMAGE ...

Each cell: the target's mean (change against the noisy input [95 % bootstrap interval over
utterances], bench.metrics.compare.bootstrap_mean_ci); the last column the target's PESQ-WB
change against the float reference, paired the same way."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bench.metrics.compare import bootstrap_mean_ci

METRICS = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")


def per_utt(rows: list[dict], cond: str, metric: str) -> dict[str, float]:
    return {r["utt"]: r[metric] for r in rows if r["condition"] == cond}


def delta(a: dict[str, float], b: dict[str, float]) -> tuple[float, float, float]:
    utts = sorted(set(a) & set(b))
    return bootstrap_mean_ci(np.array([a[u] - b[u] for u in utts]))


def row(label: str, run: Path, image: str) -> str:
    d = run / image
    rows = pq.read_table(d / "metrics.parquet").to_pylist()
    instr = json.loads((d / "summary.json").read_text())["total"]["mean"]
    dig = {"si_sdr": 3}
    cells = []
    for m in METRICS:
        t = per_utt(rows, "target", m)
        mean, lo, hi = delta(t, per_utt(rows, "noisy", m))
        k = dig.get(m, 3)
        cells.append(f"{np.mean(list(t.values())):.{k}f} ({mean:+.{k}f} [{lo:+.{k}f}, {hi:+.{k}f}])")
    mean, lo, hi = delta(per_utt(rows, "target", "pesq_wb"), per_utt(rows, "float", "pesq_wb"))
    fid = json.loads((d / "comparison.json").read_text())["fidelity"]["target_vs_golden"]
    exact = (
        f"bit-exact min {fid['bit_exact_min']:.1f}"
        if fid["bit_exact_min"] == 1.0
        else (f"min {fid['bit_exact_min']:.4f} equal, max {fid['max_abs_lsb']:.0f} LSB")
    )
    return (
        f"| {label} | {image} | {instr:,.0f} | "
        + " | ".join(cells)
        + f" | {exact} | {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
    )


if __name__ == "__main__":
    label, run, *images = sys.argv[1:]
    for im in images:
        print(row(label, Path(run), im))
