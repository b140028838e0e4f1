"""Training lineage and wall time of exported models (issue 18): follows each model's --init back.

    .venv/bin/python models/candidates-issue18/scripts/lineage.py models/dyncp/dyncp-small-r25 ...

Per model, one line per round from the oldest: folder, steps, wall minutes (config.json's
result), data, teacher; an interpolated model (scripts/interp_weights.py) lists both parents.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rounds(d: Path, seen: set[Path], root: Path | None = None) -> list[tuple[str, str, float]]:
    """(folder, what, wall minutes) per round, oldest first; ``root``: the folder asked about, whose path a first
    fine-tune may name as its --init (the weights before #18 lived there)."""
    root = root or d
    if d in seen or not (d / "config.json").is_file():
        return []
    seen.add(d)
    cfg = json.loads((d / "config.json").read_text())
    if "interpolation" in cfg:
        ip = cfg["interpolation"]
        out = rounds(Path(ip["from"]), seen, root) + rounds(Path(ip["to"]), seen, root)
        return out + [(str(d), f"interpolation a = {ip['a']} of {ip['from']} -> {ip['to']}, no training", 0.0)]
    t, r = cfg.get("train", {}), cfg.get("result", {})
    parent = t.get("init")
    before = parent is not None and Path(parent) == root
    out = rounds(Path(parent), seen, root) if parent and not before else []
    start = (" (from scratch)" if not parent else f" (from {parent} before #18)" if before
             else f" (from {Path(parent).name}, above)")
    what = (f"{r.get('steps', '?')} steps, {r.get('wall_minutes', float('nan')):.1f} min, "
            f"data {Path(str(cfg.get('data', {}).get('train_set', '?'))).name}"
            + (f", teacher {Path(t['teacher']).name}" if t.get("teacher") else "") + start)
    return out + [(str(d), what, r.get("wall_minutes", 0.0) or 0.0)]


def main(dirs: list[str]) -> int:
    for m in dirs:
        rs = rounds(Path(m), set())
        print(f"{m}: {len(rs)} rounds, {sum(r[2] for r in rs):.1f} min of training in all")
        for d, what, _ in rs:
            print(f"  {d}: {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
