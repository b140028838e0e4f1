"""Target-vs-noisy gains of a `bench run` split by the source package of each utterance (issue 18).

    .venv/bin/python models/candidates-issue18/scripts/subset_gains.py build/data/real-seed0 results/RUN IMAGE ...

Reads the run's metrics.parquet and the set's labels.csv (package column of a real split); each
cell: mean change [95 % bootstrap interval over utterances, bench.metrics.compare's]. Analysis of
where a gain comes from, not a selection criterion.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pyarrow.parquet as pq

from bench.metrics.compare import bootstrap_mean_ci

METRICS = ("pesq_wb", "stoi")


def gains(run: Path, image: str) -> dict[str, dict[str, float]]:
    """utt -> metric -> target minus noisy."""
    by: dict[str, dict[str, dict[str, float]]] = {}
    for r in pq.read_table(run / image / "metrics.parquet").to_pylist():
        by.setdefault(r["utt"], {})[r["condition"]] = r
    return {u: {m: c["target"][m] - c["noisy"][m] for m in METRICS} for u, c in by.items()}


def main(set_dir: str, run: str, *images: str) -> int:
    with open(Path(set_dir) / "labels.csv", encoding="utf-8", newline="") as fh:
        package = {r["utt"]: r["package"] for r in csv.DictReader(fh)}
    groups = sorted(set(package.values()))
    print("| image | " + " | ".join(f"{g} ({sum(p == g for p in package.values())}) {m}" for g in groups
                                     for m in METRICS) + " |")  # fmt: skip
    for im in images:
        g = gains(Path(run), im)
        cells = []
        for grp in groups:
            for m in METRICS:
                mean, lo, hi = bootstrap_mean_ci([g[u][m] for u in g if package[u] == grp])
                cells.append(f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        print(f"| {im} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
