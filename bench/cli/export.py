"""`bench export tflite MODEL [--exit K] [--out FILE]`: a model's static int8 graph as .tflite.

MODEL is a model directory holding int8.npz, or a model name found under models/nsnet2/ or
models/dyncp/; the family is read from int8.npz's format. nsNet2: one static exit
(bench.tflm.nsnet2); Conv-FSENet (DynCP): one frame of the network with its depthwise
histories and keep-masks as explicit inputs / outputs (bench.tflm.dyncp; no --exit). Needs the
`tflm` extra (the graph is written with TFLM's model editor).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError
from bench.paths import repo_root

FAMILIES = ("nsnet2", "dyncp")


def _model_dir(model: str) -> Path:
    p = Path(model)
    for cand in (p, *(repo_root() / "models" / fam / model for fam in FAMILIES)):
        if (cand / "int8.npz").is_file():
            return cand
    raise ConfigError(f"{model}: no quantised model (int8.npz) there or under models/nsnet2/ or models/dyncp/; "
                      "quantise one with `python -m bench.models.nsnet2.quantize <model dir> --calib <dir>` "
                      "(or bench.models.dyncp.quantize)")


def _family(model_dir: Path) -> str:
    """'nsnet2' or 'dyncp', from the format recorded in int8.npz."""
    from bench.models.dyncp.quantize import FORMAT as DYNCP_FORMAT

    with np.load(model_dir / "int8.npz", allow_pickle=False) as z:
        meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    return "dyncp" if meta.get("format") == DYNCP_FORMAT else "nsnet2"


def _export_nsnet2(model_dir: Path, ns: argparse.Namespace) -> tuple[Path, bytes, dict[str, Any], str]:
    from bench.models.nsnet2.quantize import QuantModel
    from bench.tflm.nsnet2 import describe, export

    qm = QuantModel.load(model_dir)
    last = qm.config.n_exits - 1
    k = last if ns.exit is None else ns.exit
    if not 0 <= k <= last:
        raise ConfigError(f"{qm.config.name}: --exit {k} out of range 0..{last}")
    data = export(qm, k)
    out = Path(ns.out) if ns.out else Path(f"{qm.config.name}-exit{k}.tflite")
    doc = describe(data)
    return out, data, doc, (f"{qm.config.name} exit {k} ({doc['exit_name']}), layers {' '.join(doc['layers'])}, "
                            f"state inputs {doc['state'] or 'none'}")


def _export_dyncp(model_dir: Path, ns: argparse.Namespace) -> tuple[Path, bytes, dict[str, Any], str]:
    from bench.models.dyncp.quantize import DyncpQuant
    from bench.tflm.dyncp import describe, export

    qm = DyncpQuant.load(model_dir)
    if ns.exit is not None:
        raise ConfigError(f"{qm.config.name}: a Conv-FSENet has no exits; drop --exit")
    data = export(qm)
    out = Path(ns.out) if ns.out else Path(f"{qm.config.name}.tflite")
    doc = describe(data)
    n_masks = sum(1 for b in doc["blocks"] if b["gated"])
    return out, data, doc, (f"{qm.config.name}, {len(doc['blocks'])} blocks, history inputs "
                            f"{' '.join(doc['inputs'][1:])}, {n_masks} mask outputs; "
                            f"{qm.weight_bytes()} bytes of int8 weights and parameters")


def run_export(ns: argparse.Namespace) -> int:
    model_dir = _model_dir(ns.model)
    fn = _export_dyncp if _family(model_dir) == "dyncp" else _export_nsnet2
    out, data, desc, summary = fn(model_dir, ns)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    doc: dict[str, Any] = {"path": str(out), "bytes": len(data), **desc}
    if ns.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(f"{out}: {len(data)} bytes, {summary}", file=sys.stderr)
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="export a model for other runtimes (tflite)")
    sub = p.add_subparsers(dest="export_format", required=True)
    t = sub.add_parser("tflite", help="static int8 graph (nsNet2: one exit; Conv-FSENet: one frame) as .tflite "
                                      "(needs the tflm extra)")
    t.add_argument("model", help="model directory or name (models/nsnet2/<name>, models/dyncp/<name>)")
    t.add_argument("--exit", type=int, help="nsNet2 static exit (default: the final output)")
    t.add_argument("--out", help="output file (default: <model>-exit<k>.tflite, Conv-FSENet <model>.tflite)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_export)
    return p
