"""`bench export tflite MODEL [--exit K] [--out FILE]`: a model's static int8 graph as .tflite.

MODEL is a model directory (models/nsnet2/<name>, holding int8.npz) or a model name found
under models/nsnet2/. Needs the `tflm` extra (the graph is written with TFLM's model editor).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.targets import repo_root


def _model_dir(model: str) -> Path:
    p = Path(model)
    for cand in (p, repo_root() / "models" / "nsnet2" / model):
        if (cand / "int8.npz").is_file():
            return cand
    raise ConfigError(f"{model}: no quantised model (int8.npz) there or under models/nsnet2/; "
                      "quantise one with `python -m bench.models.nsnet2.quantize <model dir> --calib <dir>`")


def run_export(ns: argparse.Namespace) -> int:
    from bench.models.nsnet2.quantize import QuantModel
    from bench.tflm.nsnet2 import describe, export

    qm = QuantModel.load(_model_dir(ns.model))
    last = qm.config.n_exits - 1
    k = last if ns.exit is None else ns.exit
    if not 0 <= k <= last:
        raise ConfigError(f"{qm.config.name}: --exit {k} out of range 0..{last}")
    data = export(qm, k)
    out = Path(ns.out) if ns.out else Path(f"{qm.config.name}-exit{k}.tflite")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    doc: dict[str, Any] = {"path": str(out), "bytes": len(data), **describe(data)}
    if ns.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(f"{out}: {len(data)} bytes, {qm.config.name} exit {k} ({doc['exit_name']}), "
              f"layers {' '.join(doc['layers'])}, state inputs {doc['state'] or 'none'}", file=sys.stderr)
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="export a model for other runtimes (tflite)")
    sub = p.add_subparsers(dest="export_format", required=True)
    t = sub.add_parser("tflite", help="static int8 graph of one exit as .tflite (needs the tflm extra)")
    t.add_argument("model", help="model directory or name (models/nsnet2/<name>)")
    t.add_argument("--exit", type=int, help="static exit (default: the final output)")
    t.add_argument("--out", help="output file (default: <model>-exit<k>.tflite)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_export)
    return p
