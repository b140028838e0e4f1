"""Rows of docs/data.md's on-target table from `bench run` results (issue 18).

    .venv/bin/python models/candidates-issue18/scripts/target_rows.py "shipped (16)" results/s15-shipped-set IMAGE ...
    .venv/bin/python models/candidates-issue18/scripts/target_rows.py --fidelity "shipped (16)" results/RUN IMAGE ...

Each cell: the target's mean (change against the noisy input [95 % bootstrap interval over
utterances]); the last column the target's PESQ-WB change against the float reference. All of it
is read from the run's comparison.json (bench.metrics.compare), not computed again.
--fidelity: each cell noisy / float / target means, then the target's change against noisy [95 %].
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")


def row(label: str, run: Path, image: str, fidelity: bool = False) -> str:
    d = run / image
    comp = json.loads((d / "comparison.json").read_text())
    instr = json.loads((d / "summary.json").read_text())["total"]["mean"]
    target = next(m for m in comp["means"] if m["condition"] == "target")
    delta = {(x["a"], x["b"], x["metric"]): x for x in comp["deltas"]}

    def ci(a: str, b: str, m: str) -> str:
        x = delta[(a, b, m)]
        return f"{x['mean']:+.3f} [{x['ci_low']:+.3f}, {x['ci_high']:+.3f}]"

    means = {m["condition"]: m for m in comp["means"]}
    lead = (lambda m: f"{means['noisy'][m]:.3f} / {means['float'][m]:.3f} / ") if fidelity else (lambda m: "")
    cells = [f"{lead(m)}{target[m]:.3f} ({ci('target', 'noisy', m)})" for m in METRICS]
    kind, fid = next((k, comp["fidelity"][k]) for k in ("target_vs_golden", "target_vs_float") if k in comp["fidelity"])
    exact = (f"bit-exact min {fid['bit_exact_min']:.1f}" if fid["bit_exact_min"] == 1.0
             else f"min {fid['bit_exact_min']:.4f} equal, max {fid['max_abs_lsb']:.0f} LSB")  # fmt: skip
    exact += "" if kind == "target_vs_golden" else " (vs float: no golden model)"
    tail = f" | {exact} | {ci('target', 'float', 'pesq_wb')} |"
    return f"| {label} | {image} | {instr:,.0f} | " + " | ".join(cells) + tail


if __name__ == "__main__":
    args = sys.argv[1:]
    fid = args[:1] == ["--fidelity"]
    label, run, *images = args[1:] if fid else args
    for im in images:
        print(row(label, Path(run), im, fid))
