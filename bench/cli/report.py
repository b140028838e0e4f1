"""`bench report RUN [--against RUN | --baseline]`: HTML page + Markdown summary + JUnit XML of a
run (bench.results.report), with the comparison and the history figure when there are any."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.cli.base import Command, print_json, wide
from bench.cli.compare import add_compare_options, compare_options
from bench.errors import BenchError
from bench.results.compare import EXIT_REGRESSION


class Report(Command):
    name = "report"
    help = "HTML page + Markdown summary + JUnit XML of a run"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("run", help="run id or path")
        p.add_argument("--against", metavar="RUN", help="compare with this earlier run")
        p.add_argument("--baseline", action="store_true", help="compare with results/baselines/")
        p.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines)")
        p.add_argument("--out", metavar="DIR", help="output folder (default <run>/report)")
        p.add_argument("--metric", default="total_mean", help="metric of the history figure (default total_mean)")
        p.add_argument("--no-history", action="store_true", help="skip the index and the history figure")
        p.add_argument("--fail-on-regression", action="store_true", help=f"exit {EXIT_REGRESSION} on a regression")
        add_compare_options(p)

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.baseline import gate_run, read_baseline
        from bench.results.compare import compare_sets
        from bench.results.history import series_from_index
        from bench.results.index import load_index
        from bench.results.measures import run_measures
        from bench.results.report import ReportInput, run_summaries, write_report
        from bench.results.store import Run

        t0 = time.monotonic()
        run = Run.open(args.run)
        ms = run_measures(run)
        if not ms:
            raise BenchError(f"run {run.run_id} has no measured image; see `bench show {run.run_id}`")
        cmp = against = None
        if args.against and args.baseline:
            raise BenchError("give either --against RUN or --baseline, not both")
        baselines = Path(args.baselines) if args.baselines else None
        if args.against:
            ra = Run.open(args.against)
            against = run_measures(ra)
            cmp = compare_sets(against, ms, compare_options(args), ra.run_id, run.run_id)
        elif args.baseline:
            g = gate_run(run, None, compare_options(args), baselines)
            cmp = g.comparison
            against = {k: read_baseline(v.target, k, baselines) for k, v in ms.items() if k not in g.missing}
        history = []
        if not args.no_history:
            try:
                history = [s for s in series_from_index(load_index(), args.metric, sorted(ms))
                           if run.run_id in s.run_ids]
            except BenchError:
                history = []
        paths = write_report(ReportInput(run, ms, run_summaries(run), cmp, against, history),
                             Path(args.out) if args.out else run.path / "report")
        if args.json:
            print_json({k: str(v) for k, v in paths.items()} | {"exit_code": cmp.exit_code if cmp else 0})
        else:
            for k, v in paths.items():
                wide.print(f"{k}: {v}")
            wide.print(f"report written in {time.monotonic() - t0:.2f} s")
        return int(cmp.exit_code) if cmp and args.fail_on_regression else 0


COMMAND = Report
