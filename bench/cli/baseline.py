"""`bench baseline update` writes results/baselines/<target>/<image>.json (+ .frames.parquet)
from a run (--run, else a fresh gate subset run); `bench baseline list` lists them."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.base import Command, print_json, wide
from bench.cli.gate import add_gate_run_options, gate_subset_run
from bench.cli.views import baselines_table


class Baseline(Command):
    name = "baseline"
    help = "`baseline update` writes results/baselines/ from a run; `baseline list`"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("action", choices=["update", "list"])
        add_gate_run_options(p)
        p.add_argument("--image", action="append", help="only this image (repeatable; default: the gate's images)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.baseline import baseline_info, baselines_dir, list_baselines, update_baselines

        root = Path(args.baselines) if args.baselines else None
        if args.action == "list":
            rows = [baseline_info(t, i, root) for t, i in list_baselines(root)]
            if args.json:
                print_json(rows)
            else:
                wide.print(baselines_table(f"baselines in {root or baselines_dir()}", rows))
            return 0
        run = gate_subset_run(args)
        paths = update_baselines(run, args.image, root)
        if args.json:
            print_json({"run_id": run.run_id, "written": [str(p) for p in paths]})
        else:
            for p in paths:
                wide.print(f"wrote {p} (and {p.name[:-5]}.frames.parquet) from run {run.run_id}")
            wide.print("commit results/baselines/ to make them the gate's reference")
        return 0


COMMAND = Baseline
