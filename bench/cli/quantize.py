"""`bench quantize MODEL_DIR --calib DIR [--out FILE]`: post-training int8 quantisation of a
trained model (``Family.quantize``; the family is the one that owns MODEL_DIR), calibrated on a
set (``bench data make --split train ...``). The quantised model's meta records the calibration
set, its size and this command."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from bench.cli.base import Command, find_model


class Quantize(Command):
    name = "quantize"
    help = "int8-quantise a trained model (writes <model>/int8.npz), calibrated on a set"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("model_dir", help="trained model folder (models/<family>/<model>: config.json, weights)")
        p.add_argument("--calib", required=True, help="calibration set folder (bench data make --split train ...)")
        p.add_argument("--out", help="output file (default <model_dir>/int8.npz)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.data.loader import load_set

        fam, model_dir = find_model(args.model_dir, "trained model")
        utts = list(load_set(args.calib, sample_rate=16000))
        cmd = shlex.join(["bench", "quantize", args.model_dir, "--calib", args.calib,
                          *(["--out", args.out] if args.out else [])])
        meta = {"calibration_set": str(args.calib), "calibration_utterances": len(utts), "command": cmd}
        print(fam.quantize(model_dir, utts, meta, Path(args.out) if args.out else None))
        return 0


COMMAND = Quantize
