#!/usr/bin/env python3
"""Exact behaviour check between two runs of the same images (e.g. before and after a refactor):
per-frame counters and side information, output WAVs, metrics, fidelity, summaries and views must
be identical. Provenance, timings, paths and link counters are ignored, and so is the raw timer
column ``total_ticks``: one tick is 0.3125 instructions, so its phase moves with the instructions
the agent spent waiting for the host before the frame, while the counts in instructions (``total``,
``stage_*``) are exact. Float metrics (PESQ, STOI, ...) are computed in a process pool and may
differ in the last bits (summation order); they are compared to a relative 1e-9.

    python scripts/compare_runs.py RUN_DIR_A RUN_DIR_B      # exit 0 identical, 1 with the differences
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

# build_id: a rebuilt image (same code, moved sources) names a new build; its counts must not move
IGNORED_KEYS = {"results_path", "run", "started", "finished", "provenance", "run_id", "build_id"}


REL = 1e-9


def _norm(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _norm(v) for k, v in doc.items() if k not in IGNORED_KEYS}
    if isinstance(doc, list):
        return [_norm(v) for v in doc]
    if isinstance(doc, float) and math.isnan(doc):
        return "nan"
    return doc


def same(a: Any, b: Any) -> bool:
    """Equal, floats to a relative REL."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def _json(path: Path) -> Any:
    return _norm(json.loads(path.read_text())) if path.is_file() else None


def _view(d: Path) -> Any:
    """The family view: view.json, or the earlier dyncp.json (same figures, no family key)."""
    v = _json(d / "view.json")
    if v is not None:
        v.pop("family", None)
        return v
    return _json(d / "dyncp.json")


def compare_image(a: Path, b: Path, added: set[str]) -> list[str]:
    """Differences of image folder b from a; columns that only b has are collected in ``added``
    (new figures are not a change of the old ones)."""
    diffs: list[str] = []
    fa = sorted(p.name for p in (a / "frames").glob("*.parquet"))
    fb = sorted(p.name for p in (b / "frames").glob("*.parquet"))
    if fa != fb:
        return [f"{a.name}: utterances differ: {fa} vs {fb}"]
    for name in fa:
        ta, tb = (pq.read_table(d / "frames" / name).drop_columns(["total_ticks"]) for d in (a, b))
        common = [c for c in ta.column_names if c in tb.column_names]
        if common != ta.column_names:
            diffs.append(f"{a.name}/frames/{name}: columns {sorted(set(ta.column_names) - set(common))} are gone")
        if not ta.select(common).equals(tb.select(common)):
            diffs.append(f"{a.name}/frames/{name}: per-frame records differ")
        added.update(set(tb.column_names) - set(common))
        wa, _ = sf.read(a / "audio" / name.replace(".parquet", ".wav"), dtype="int16")
        wb, _ = sf.read(b / "audio" / name.replace(".parquet", ".wav"), dtype="int16")
        if not np.array_equal(wa, wb):
            diffs.append(f"{a.name}/audio/{name}: output audio differs")
    for table in ("metrics.parquet", "fidelity.parquet"):
        pa_, pb_ = a / table, b / table
        if pa_.is_file() != pb_.is_file():
            diffs.append(f"{a.name}/{table}: present in one run only")
        elif pa_.is_file() and not same(_norm(pq.read_table(pa_).to_pylist()), _norm(pq.read_table(pb_).to_pylist())):
            diffs.append(f"{a.name}/{table}: differs")
    for doc in ("summary.json", "comparison.json", "hello.json"):
        if not same(_json(a / doc), _json(b / doc)):
            diffs.append(f"{a.name}/{doc}: differs")
    if not same(_view(a), _view(b)):
        diffs.append(f"{a.name}: family view differs")
    return diffs


def compare_runs(a: Path, b: Path, added: set[str] | None = None) -> list[str]:
    ma, mb = json.loads((a / "run.json").read_text()), json.loads((b / "run.json").read_text())
    ia, ib = sorted(ma["images"]), sorted(mb["images"])
    if ia != ib:
        return [f"images differ: {ia} vs {ib}"]
    diffs = [f"{n}: status {ma['images'][n]['status']} vs {mb['images'][n]['status']}"
             for n in ia if ma["images"][n]["status"] != mb["images"][n]["status"]]
    added = set() if added is None else added
    for n in ia:
        diffs += compare_image(a / n, b / n, added)
    if not same(_json(a / "context.json"), _json(b / "context.json")):
        diffs.append("context.json differs")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    added: set[str] = set()
    diffs = compare_runs(a, b, added)
    for d in diffs:
        print(d)
    if added:
        print(f"new per-frame columns in {b} (not compared): {', '.join(sorted(added))}")
    n = len(json.loads((a / "run.json").read_text())["images"])
    print(f"{'IDENTICAL' if not diffs else 'DIFFERENT'}: {n} images compared ({a} vs {b})")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
