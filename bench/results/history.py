"""A metric's series over runs (from the index) and its change points.

A series is one (image, target_key, utt_set): the same image name on the same physical
board over the same utterances, ordered by run start. Change points:

* deterministic series (unit "instructions" and counter metrics): exact; every run whose
  value differs from the previous run's starts a new step;
* noisy series (cycles, energy, quality): binary segmentation on the squared-error cost with
  a BIC-style penalty ``penalty * sigma^2 * log(n)``, sigma estimated robustly from the
  first differences (MAD), segments of at least ``min_size`` runs.

Each step names its first run with that run's image sha256 and git revision.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import ResultsError


@dataclass(frozen=True)
class Step:
    index: int  # position in the series of the first run of the new level
    run_id: str
    started: str
    image_sha256: str
    git_revision: str
    before: float  # mean level of the previous segment
    after: float  # mean level of the new segment
    rel: float


@dataclass
class Series:
    metric: str
    image: str
    target_key: str
    utt_set: str
    unit: str
    exact: bool
    run_ids: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    git: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["points"] = [{"run_id": r, "started": s, "image_sha256": h, "git_revision": g, "value": v}
                       for r, s, h, g, v in zip(self.run_ids, self.started, self.sha256, self.git, self.values,
                                                strict=True)]
        for k in ("run_ids", "started", "sha256", "git", "values"):
            d.pop(k)
        return d


def exact_change_points(values: np.ndarray) -> list[int]:
    v = np.asarray(values)
    return [int(i) for i in np.flatnonzero(v[1:] != v[:-1]) + 1]


def noise_sigma(values: np.ndarray) -> float:
    d = np.diff(np.asarray(values, dtype=np.float64))
    if d.size == 0:
        return 0.0
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / math.sqrt(2))


def binseg_change_points(values: np.ndarray, penalty: float = 3.0, min_size: int = 2,
                         sigma: float | None = None) -> list[int]:
    """Binary segmentation (L2 cost) with penalty * sigma^2 * log(n) per change point."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2 * min_size:
        return []
    s = noise_sigma(x) if sigma is None else sigma
    if s == 0.0:  # noiseless between the steps: every change is a step
        return exact_change_points(x)
    beta = penalty * s * s * math.log(n)
    cs = np.r_[0.0, np.cumsum(x)]
    cs2 = np.r_[0.0, np.cumsum(x * x)]

    def cost(a: int, b: int) -> float:
        m = b - a
        tot = cs[b] - cs[a]
        return float(cs2[b] - cs2[a] - tot * tot / m)

    found: list[int] = []
    todo = [(0, n)]
    while todo:
        a, b = todo.pop()
        if b - a < 2 * min_size:
            continue
        base = cost(a, b)
        ks = np.arange(a + min_size, b - min_size + 1)
        m1 = ks - a
        m2 = b - ks
        t1 = cs[ks] - cs[a]
        t2 = cs[b] - cs[ks]
        c = (cs2[ks] - cs2[a] - t1 * t1 / m1) + (cs2[b] - cs2[ks] - t2 * t2 / m2)
        j = int(np.argmin(c))
        if base - float(c[j]) > beta:
            k = int(ks[j])
            found.append(k)
            todo += [(a, k), (k, b)]
    return sorted(found)


def _is_exact(metric: str, unit: str) -> bool:
    counter = metric.startswith(("total_", "stage_"))
    return counter and unit == "instructions"


def series_from_index(index: pa.Table, metric: str, images: list[str] | None = None,
                      targets: list[str] | None = None, penalty: float = 3.0,
                      include_failed: bool = False) -> list[Series]:
    if index.num_rows == 0:
        raise ResultsError("the index is empty: run `bench run` first (the index lists results/<run-id>/)")
    if metric not in index.column_names:
        known = sorted(c for c in index.column_names if c.startswith(("total_", "stage_", "q_", "energy_")))
        raise ResultsError(f"no metric '{metric}' in the index; known: {', '.join(known)}")
    rows = index.select([c for c in ("run_id", "started", "status", "target", "target_key", "unit", "image",
                                     "image_sha256", "git_revision", "utt_set", metric)]).to_pylist()
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r[metric] is None or (images and r["image"] not in images):
            continue
        if targets and r["target_key"] not in targets and r["target"] not in targets:
            continue
        if not include_failed and r["status"] not in ("done", None):
            continue
        groups.setdefault((r["image"], r["target_key"] or "", r["utt_set"] or ""), []).append(r)
    if not groups:
        raise ResultsError(f"no run in the index has '{metric}' for image {images or 'any'} on target "
                           f"{targets or 'any'}; see `bench history --metric {metric}` without filters")
    out = []
    for (image, tk, us), rs in sorted(groups.items()):
        rs.sort(key=lambda r: (r["started"] or "", r["run_id"]))
        unit = rs[-1]["unit"] or ""
        exact = _is_exact(metric, unit)
        s = Series(metric, image, tk, us, unit, exact, [r["run_id"] for r in rs], [r["started"] or "" for r in rs],
                   [r["image_sha256"] or "" for r in rs], [r["git_revision"] or "" for r in rs],
                   [float(r[metric]) for r in rs])
        v = np.array(s.values)
        cps = exact_change_points(v) if exact else binseg_change_points(v, penalty)
        bounds = [0, *cps, len(v)]
        for i, k in enumerate(cps):
            before = float(v[bounds[i]:k].mean())
            after = float(v[k:bounds[i + 2]].mean())
            s.steps.append(Step(k, s.run_ids[k], s.started[k], s.sha256[k], s.git[k], before, after,
                                (after - before) / abs(before) if before else float("nan")))
        out.append(s)
    return out
