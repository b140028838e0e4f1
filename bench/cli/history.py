"""`bench history --metric M`: a metric's series over runs from results/index.parquet, per image,
target and test set, with its change points (bench.results.history)."""

from __future__ import annotations

import argparse

from bench.cli.base import Command, print_json, wide
from bench.cli.views import history_table


class History(Command):
    name = "history"
    help = "a metric's series over runs from the index, with change points"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--metric", default="total_mean",
                       help="index column, e.g. total_mean, stage_gain_p99, q_pesq_wb")
        p.add_argument("--image", action="append", help="only this image (repeatable)")
        p.add_argument("--target", action="append", help="only this target name or board uid (repeatable)")
        p.add_argument("--penalty", type=float, default=3.0, help="noisy series: change-point penalty x sigma^2 log n")
        p.add_argument("--include-failed", action="store_true", help="also runs whose image did not finish")
        p.add_argument("--last", type=int, default=20, help="table rows to show per series (steps always shown)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.history import series_from_index
        from bench.results.index import load_index

        ss = series_from_index(load_index(), args.metric, args.image, args.target, penalty=args.penalty,
                               include_failed=args.include_failed)
        if args.json:
            print_json({"metric": args.metric, "series": [s.to_json() for s in ss]})
            return 0
        for s in ss:
            wide.print(history_table(s, args.last))
            for st in s.steps:
                wide.print(f"step at {st.run_id} (image {st.image_sha256[:12]}, git {st.git_revision}): "
                           f"{st.before:,.6g} -> {st.after:,.6g} ({st.rel * 100:+.3f} %)")
        return 0


COMMAND = History
