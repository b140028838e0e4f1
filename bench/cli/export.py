"""`bench export tflite MODEL [--exit K] [--out FILE]` and `bench export c MODEL... [--out-dir DIR]`.

MODEL is a model folder, or a model name found under ``models/<family.models_subdir>/``; its
family is the installed one that owns it (``Family.owns_model``), and the family exports it:

* ``tflite``: the static int8 graph as .tflite (``Family.export_tflite``; nsNet2: one static
  exit, Conv-FSENet: one frame with its histories and keep-masks as inputs / outputs; docs/tflm.md).
  Needs the `tflm` extra (the graph is written with TFLM's model editor).
* ``c``: the C tables an image is built from (``Family.export_c``; default folder: the family's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.cli.base import Command, add_json, find_model, print_json
from bench.errors import ConfigError

if TYPE_CHECKING:
    from bench.families.base import Family

HINT = "quantise one with `bench quantize <model dir> --calib <dir>`"


def quantised_model(model: str) -> tuple[Family, Path]:
    """(family, folder) of a quantised model given as a folder or a name."""
    return find_model(model, "quantised model", HINT)


def run_tflite(ns: argparse.Namespace) -> int:
    fam, model_dir = quantised_model(ns.model)
    data, desc, summary = fam.export_tflite(model_dir, ns.exit)
    desc = dict(desc)
    default_name = desc.pop("default_name")
    out = Path(ns.out) if ns.out else Path(default_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    doc: dict[str, Any] = {"path": str(out), "bytes": len(data), **desc}
    if ns.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(f"{out}: {len(data)} bytes, {summary}", file=sys.stderr)
    return 0


def run_c(ns: argparse.Namespace) -> int:
    if ns.out_dir and len(ns.models) > 1:
        raise ConfigError("--out-dir takes one model; export the models one by one")
    written: list[dict[str, Any]] = []
    for m in ns.models:
        fam, model_dir = quantised_model(m)
        for p in fam.export_c(model_dir, Path(ns.out_dir) if ns.out_dir else None):
            written.append({"model": str(model_dir), "family": fam.name, "path": str(p), "bytes": p.stat().st_size})
            if not ns.json:
                print(f"{p}: {p.stat().st_size:,} bytes")
    if ns.json:
        print_json({"written": written})
    return 0


class Export(Command):
    name = "export"
    help = "export a model: tflite (for TFLM), c (the C tables of an image)"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="export_format", required=True)
        t = sub.add_parser("tflite", help="static int8 graph (nsNet2: one exit; Conv-FSENet: one frame) as .tflite "
                                          "(needs the tflm extra)")
        t.add_argument("model", help="model directory or name (models/<family>/<name>)")
        t.add_argument("--exit", type=int, help="nsNet2 static exit (default: the final output)")
        t.add_argument("--out", help="output file (default: <model>-exit<k>.tflite, Conv-FSENet <model>.tflite)")
        add_json(t)
        c = sub.add_parser("c", help="the model's C tables for the firmware (weights, parameters, probes)")
        c.add_argument("models", nargs="+", metavar="MODEL", help="quantised model directories or names")
        c.add_argument("--out-dir", help="output folder (default: the family's, firmware/models/<family>/gen/<model>/)")
        add_json(c)

    def run(self, args: argparse.Namespace) -> int:
        return run_tflite(args) if args.export_format == "tflite" else run_c(args)


COMMAND = Export
