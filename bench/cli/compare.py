"""`bench compare A B` (two runs) or `bench compare RUN --baseline` (a run against the committed
baselines): per image and metric the change and its verdict (bench.results.compare).

Exit status: 0 no regression, 2 usage or setup error, 3 (EXIT_REGRESSION) a regression. The
compare options here are shared with `bench gate` and `bench report`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.cli.base import Command, print_json, wide
from bench.cli.views import comparison_table
from bench.errors import BenchError


def compare_options(a: argparse.Namespace) -> Any:
    from bench.results.compare import CompareOptions

    return CompareOptions(threshold=a.threshold / 100, alpha=a.alpha, min_effect=a.min_effect / 100,
                          min_samples=a.min_samples)


def add_compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=float, default=0.5, metavar="PCT",
                   help="exact counters: a relative increase beyond PCT %% fails (default 0.5)")
    p.add_argument("--alpha", type=float, default=0.01, help="noisy figures: Mann-Whitney U significance (0.01)")
    p.add_argument("--min-effect", type=float, default=1.0, metavar="PCT",
                   help="noisy figures: smallest relative median shift that counts, %% (default 1)")
    p.add_argument("--min-samples", type=int, default=20, help="noisy figures: fewer samples -> inconclusive (20)")
    p.add_argument("--image", action="append", help="only this image (repeatable)")
    p.add_argument("--all", action="store_true", help="also list figures that did not change")


def print_comparison(cmp: Any, show_all: bool) -> None:
    from bench.results.report import verdict_line

    if any(show_all or c.status != "same" for c in cmp.changes):
        wide.print(comparison_table(cmp, show_all))
    for im, (sa, sb) in cmp.sha.items():
        if sa != sb:
            wide.print(f"{im}: image {sa[:12]} -> {sb[:12]}")
    for n in cmp.notes:
        wide.print(f"note: {n}")
    for side, names in (("only in " + cmp.a, cmp.only_a), ("only in " + cmp.b, cmp.only_b)):
        if names:
            wide.print(f"{side}: {', '.join(names)}")
    style = "bold red" if cmp.regressions else "green"
    wide.print(f"[{style}]{verdict_line(cmp)}[/{style}]")


class Compare(Command):
    name = "compare"
    help = "compare two runs (or a run with the baselines): change and verdict"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("a", metavar="A", help="the earlier run (id or path); with --baseline: the run to check")
        p.add_argument("b", metavar="B", nargs="?", help="the later run (id or path)")
        p.add_argument("--baseline", action="store_true", help="compare run A with results/baselines/")
        p.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines)")
        add_compare_options(p)

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.baseline import gate_run
        from bench.results.compare import compare_sets
        from bench.results.measures import run_measures
        from bench.results.store import Run

        opts = compare_options(args)
        if args.baseline:
            from bench.cli.gate import finish_gate

            if args.b:
                raise BenchError("bench compare RUN --baseline takes one run (it is compared with results/baselines/)")
            g = gate_run(Run.open(args.a), args.image, opts, Path(args.baselines) if args.baselines else None)
            return finish_gate(g, args)
        if not args.b:
            raise BenchError("bench compare needs two runs (ids or paths): bench compare A B, or RUN --baseline")
        ra, rb = Run.open(args.a), Run.open(args.b)
        cmp = compare_sets(run_measures(ra, args.image), run_measures(rb, args.image), opts, ra.run_id, rb.run_id)
        if args.json:
            print_json(cmp.to_json())
        else:
            print_comparison(cmp, args.all)
        return int(cmp.exit_code)


COMMAND = Compare
