"""`bench evaluate MODEL_DIR... [--set DIR] [--limit N] [--thresholds T ...] [--static DIR]
[--no-write] [--json]`: host-side evaluation of trained models (``Family.evaluate``; every model
of one family), printed as a Markdown table and written to ``<model>/eval.json``."""

from __future__ import annotations

import argparse

from bench.cli.base import Command, find_model, print_json
from bench.errors import ConfigError


class Evaluate(Command):
    name = "evaluate"
    help = "evaluate trained models on the host (quality and MACs on a test set); writes eval.json"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("models", nargs="+", metavar="MODEL_DIR", help="trained model folders (or names), one family")
        p.add_argument("--set", help="test set directory (default: the shipped test set)")
        p.add_argument("--limit", type=int, help="score only the first N utterances")
        p.add_argument("--thresholds", type=float, nargs="+",
                       help="early-exit models: dynamic-policy thresholds on the mean |mask change| "
                            "(default: the family's)")
        p.add_argument("--static", help="gated models: the static baseline model (default: the ungated one among "
                                        "MODELS)")
        p.add_argument("--no-write", action="store_true", help="do not write <model>/eval.json")

    def run(self, args: argparse.Namespace) -> int:
        found = [find_model(m, "trained model") for m in args.models]
        names = sorted({f.name for f, _ in found})
        if len(names) != 1:
            raise ConfigError(f"bench evaluate takes models of one family; got {', '.join(names)}")
        fam = found[0][0]
        options = {"thresholds": args.thresholds, "static": args.static, "write": not args.no_write}
        doc, table = fam.evaluate([d for _, d in found], args.set, args.limit, options)
        if args.json:
            print_json(doc)
        else:
            print(table)
        return 0


COMMAND = Evaluate
