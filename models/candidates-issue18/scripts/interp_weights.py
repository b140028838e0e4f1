"""Weight-space interpolation of two exported models of one architecture (issue 18, the fifth rule).

    python interp_weights.py FROM TO A OUT

writes OUT/weights.npz = (1 - A) * FROM + A * TO for every tensor (float32), OUT/config.json
(TO's config, with an ``interpolation`` record in place of TO's training result) and
OUT/COMMAND.txt. Wortsman et al., CVPR 2022 (WiSE-FT): interpolating a fine-tune with its start.
Refuses two models whose architecture, tensor names or shapes differ.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def interpolate(src: Path, dst: Path, a: float, out: Path) -> None:
    if not 0.0 <= a <= 1.0:
        raise SystemExit(f"A must lie in [0, 1], got {a}")
    ca = json.loads((src / "config.json").read_text())
    cb = json.loads((dst / "config.json").read_text())
    if ca["model"] != cb["model"]:
        raise SystemExit(f"{src} and {dst} are different architectures; interpolate only one architecture")
    wa, wb = np.load(src / "weights.npz"), np.load(dst / "weights.npz")
    if sorted(wa.files) != sorted(wb.files) or any(wa[k].shape != wb[k].shape for k in wa.files):
        raise SystemExit(f"{src} and {dst} hold different tensors; interpolate only one architecture")
    w = {k: ((1.0 - a) * wa[k].astype(np.float64) + a * wb[k].astype(np.float64)).astype(np.float32) for k in wa.files}
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "weights.npz", **w)
    cfg = {k: v for k, v in cb.items() if k != "result"}
    cfg["interpolation"] = {"from": str(src), "to": str(dst), "a": a,
                            "rule": "(1 - a) * from + a * to, every tensor"}
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    (out / "COMMAND.txt").write_text(
        f"python models/candidates-issue18/scripts/interp_weights.py {src} {dst} {a} {out}\n")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    interpolate(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
