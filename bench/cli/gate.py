"""`bench gate`: the CI gate. Runs a small QEMU subset (or takes --run) and compares it with the
committed baselines (bench.results.baseline); exit 3 on a regression, 1 when its run failed.
The subset run and the baselines options are shared with `bench baseline update`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.cli.base import Command, console, print_json, wide
from bench.cli.compare import add_compare_options, compare_options, print_comparison
from bench.results.baseline import GATE_IMAGES, GATE_LIMIT, GATE_TARGET


def add_gate_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", metavar="RUN", help="use this run (id or path) instead of running the gate subset")
    p.add_argument("--target", default=GATE_TARGET, help=f"target of the subset run (default {GATE_TARGET})")
    p.add_argument("--limit", type=int, default=GATE_LIMIT, help=f"utterances of the shipped set ({GATE_LIMIT})")
    p.add_argument("--metrics", action="store_true", help="also score quality in the subset run (slower)")
    p.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines, $BENCH_BASELINES)")


def gate_subset_run(a: argparse.Namespace) -> Any:
    """--run, else a fresh run of the gate's images on the gate's target."""
    from bench.results.store import Run
    from bench.runner import Runner, RunOptions

    if a.run:
        return Run.open(a.run)
    images = tuple(a.image or GATE_IMAGES)
    opts = RunOptions(target=a.target, images=images, limit=a.limit, metrics=a.metrics)
    console.print(f"gate: running {', '.join(images)} on {a.target}, first {a.limit} utterance(s)")
    t0 = time.monotonic()
    run = Runner(opts).start()
    console.print(f"gate: run {run.run_id} took {time.monotonic() - t0:.1f} s")
    return run


def finish_gate(g: Any, a: argparse.Namespace) -> int:
    """Report a gate result (--report, --json or text with the update commands); its exit code."""
    if getattr(a, "report", None):
        from bench.results.baseline import read_baseline
        from bench.results.measures import run_measures
        from bench.results.report import ReportInput, run_summaries, write_report
        from bench.results.store import Run

        run = Run.open(g.run_path)
        ms = run_measures(run)
        against = {k: read_baseline(v.target, k, Path(a.baselines) if a.baselines else None)
                   for k, v in ms.items() if k not in g.missing}
        paths = write_report(ReportInput(run, ms, run_summaries(run), g.comparison, against), Path(a.report))
        console.print(f"gate: report {paths['html']}, {paths['markdown']}, {paths['junit']}")
    if a.json:
        print_json(g.to_json())
        return int(g.exit_code)
    print_comparison(g.comparison, a.all)
    for im in g.missing:
        wide.print(f"[yellow]{im}: no committed baseline; create one with: "
                   f"bench baseline update --run {g.run_path} --image {im}[/yellow]")
    changes = g.comparison.changes
    for im in sorted({c.image for c in changes if c.status in ("improvement", "changed")}):
        kind = "improved" if any(c.image == im and c.status == "improvement" for c in changes) \
            else "changed within the threshold"
        wide.print(f"[green]{im} {kind}; if intended, update its baseline with:[/green]\n"
                   f"  {g.update_command(im)}\n  and commit results/baselines/")
    for c in g.comparison.regressions:
        wide.print(f"[bold red]gate: {c.image} {c.metric} regressed {c.rel * 100:+.3f} % "
                   f"({c.a:,.0f} -> {c.b:,.0f} {c.unit}; threshold {g.comparison.options.threshold * 100:g} %)"
                   "[/bold red]")
    return int(g.exit_code)


class Gate(Command):
    name = "gate"
    help = "CI gate: run a small QEMU subset and fail on a regression against baselines"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        add_gate_run_options(p)
        add_compare_options(p)
        p.add_argument("--report", metavar="DIR", help="also write report.html, summary.md and junit.xml here")

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.baseline import gate_run

        run = gate_subset_run(args)
        status = run.read_meta()["status"]
        g = gate_run(run, args.image, compare_options(args), Path(args.baselines) if args.baselines else None)
        code = finish_gate(g, args)
        if status != "done" and code == 0:
            console.print(f"[red]gate: run {run.run_id} finished '{status}'; see bench show {run.run_id}[/red]")
            return 1
        return code


COMMAND = Gate
