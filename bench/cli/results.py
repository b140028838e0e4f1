"""`bench compare | history | baseline | gate | report | index`: the regression-tracking commands.

The top-level CLI calls :func:`add_parser` with its subparsers; each command sets ``func``.
This module is part of the CLI layer (it may start a run for `gate` and `baseline update`);
the logic lives in bench.results.{compare,history,baseline,report,index}.

Exit status: 0 no regression; 1 the gate's run failed; 2 usage or setup error;
3 (EXIT_REGRESSION) a regression was found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.errors import BenchError
from bench.results.baseline import (
    GATE_IMAGES,
    GATE_LIMIT,
    GATE_TARGET,
    GateResult,
    baselines_dir,
    gate_run,
    list_baselines,
    read_baseline,
    update_baselines,
)
from bench.results.compare import EXIT_REGRESSION, CompareOptions, Comparison, compare_sets
from bench.results.store import Run

console = Console(stderr=True)
out = Console() if sys.stdout.isatty() else Console(width=140)

STYLE = {"regression": "bold red", "improvement": "green", "changed": "yellow", "inconclusive": "magenta",
         "same": "dim"}


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def _options(a: argparse.Namespace) -> CompareOptions:
    return CompareOptions(threshold=a.threshold / 100, alpha=a.alpha, min_effect=a.min_effect / 100,
                          min_samples=a.min_samples)


def _add_compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=float, default=0.5, metavar="PCT",
                   help="exact counters: a relative increase beyond PCT %% fails (default 0.5)")
    p.add_argument("--alpha", type=float, default=0.01, help="noisy figures: Mann-Whitney U significance (0.01)")
    p.add_argument("--min-effect", type=float, default=1.0, metavar="PCT",
                   help="noisy figures: smallest relative median shift that counts, %% (default 1)")
    p.add_argument("--min-samples", type=int, default=20, help="noisy figures: fewer samples -> inconclusive (20)")
    p.add_argument("--image", action="append", help="only this image (repeatable)")
    p.add_argument("--all", action="store_true", help="also list figures that did not change")
    p.add_argument("--json", action="store_true")


def comparison_table(cmp: Comparison, show_all: bool = False) -> Table:
    from bench.results.report import CHANGE_HEAD, change_rows

    t = Table(title=f"{cmp.b} against {cmp.a}")
    for col in CHANGE_HEAD:
        t.add_column(col, justify="left" if col in ("image", "metric", "kind", "verdict", "detail") else "right")
    for row, c in zip(change_rows(cmp), cmp.changes, strict=True):
        if show_all or c.status != "same":
            t.add_row(*row, style=STYLE.get(c.status))
    return t


def print_comparison(cmp: Comparison, show_all: bool) -> None:
    from bench.results.report import verdict_line

    shown = [c for c in cmp.changes if show_all or c.status != "same"]
    if shown:
        out.print(comparison_table(cmp, show_all))
    for im, (sa, sb) in cmp.sha.items():
        if sa != sb:
            out.print(f"{im}: image {sa[:12]} -> {sb[:12]}")
    for n in cmp.notes:
        out.print(f"note: {n}")
    for side, names in (("only in " + cmp.a, cmp.only_a), ("only in " + cmp.b, cmp.only_b)):
        if names:
            out.print(f"{side}: {', '.join(names)}")
    style = "bold red" if cmp.regressions else "green"
    out.print(f"[{style}]{verdict_line(cmp)}[/{style}]")


# ---- compare ---------------------------------------------------------------------------------
def cmd_compare(a: argparse.Namespace) -> int:
    from bench.results.measures import run_measures

    opts = _options(a)
    if a.baseline:
        if a.b:
            raise BenchError("bench compare RUN --baseline takes one run (it is compared with results/baselines/)")
        g = gate_run(Run.open(a.a), a.image, opts, Path(a.baselines) if a.baselines else None)
        return _finish_gate(g, a)
    if not a.b:
        raise BenchError("bench compare needs two runs (ids or paths): bench compare A B, or RUN --baseline")
    ra, rb = Run.open(a.a), Run.open(a.b)
    cmp = compare_sets(run_measures(ra, a.image), run_measures(rb, a.image), opts, ra.run_id, rb.run_id)
    if a.json:
        _print_json(cmp.to_json())
    else:
        print_comparison(cmp, a.all)
    return cmp.exit_code


# ---- history ---------------------------------------------------------------------------------
def cmd_history(a: argparse.Namespace) -> int:
    from bench.results.history import series_from_index
    from bench.results.index import load_index

    ss = series_from_index(load_index(), a.metric, a.image, a.target, penalty=a.penalty,
                           include_failed=a.include_failed)
    if a.json:
        _print_json({"metric": a.metric, "series": [s.to_json() for s in ss]})
        return 0
    for s in ss:
        t = Table(title=f"{s.metric} of {s.image} on {s.target_key} (set {s.utt_set}, {s.unit}, "
                        f"{'exact' if s.exact else 'binary segmentation'}): {len(s.values)} runs, "
                        f"{len(s.steps)} step(s)")
        for c in ("run", "started", "image", "git", "value", "step"):
            t.add_column(c, justify="right" if c in ("value",) else "left")
        steps = {st.index: st for st in s.steps}
        rows = list(range(len(s.values)))
        if len(rows) > a.last:
            keep = set(rows[-a.last:]) | {i for k in steps for i in (k - 1, k)}
            rows = [i for i in rows if i in keep]
        for i in rows:
            st = steps.get(i)
            t.add_row(s.run_ids[i], s.started[i], s.sha256[i][:12], s.git[i], f"{s.values[i]:,.6g}",
                      f"{st.rel * 100:+.2f} %" if st else "", style="bold" if st else None)
        out.print(t)
        for st in s.steps:
            out.print(f"step at {st.run_id} (image {st.image_sha256[:12]}, git {st.git_revision}): "
                      f"{st.before:,.6g} -> {st.after:,.6g} ({st.rel * 100:+.3f} %)")
    return 0


# ---- gate / baseline -------------------------------------------------------------------------
def _gate_subset_run(a: argparse.Namespace) -> Run:
    from bench.runner import Runner, RunOptions

    images = tuple(a.image or GATE_IMAGES)
    opts = RunOptions(target=a.target, images=images, limit=a.limit, metrics=a.metrics)
    console.print(f"gate: running {', '.join(images)} on {a.target}, first {a.limit} utterance(s)")
    t0 = time.monotonic()
    run = Runner(opts).start()
    console.print(f"gate: run {run.run_id} took {time.monotonic() - t0:.1f} s")
    return run


def _finish_gate(g: GateResult, a: argparse.Namespace) -> int:
    if getattr(a, "report", None):
        from bench.results.report import ReportInput, run_summaries, write_report

        run = Run.open(g.run_path)
        from bench.results.measures import run_measures

        ms = run_measures(run)
        against = {k: read_baseline(v.target, k, Path(a.baselines) if a.baselines else None)
                   for k, v in ms.items() if k not in g.missing}
        paths = write_report(ReportInput(run, ms, run_summaries(run), g.comparison, against), Path(a.report))
        console.print(f"gate: report {paths['html']}, {paths['markdown']}, {paths['junit']}")
    if a.json:
        _print_json(g.to_json())
    else:
        print_comparison(g.comparison, a.all)
        for im in g.missing:
            out.print(f"[yellow]{im}: no committed baseline; create one with: "
                      f"bench baseline update --run {g.run_path} --image {im}[/yellow]")
        moved = sorted({c.image for c in g.comparison.changes if c.status in ("improvement", "changed")})
        for im in moved:
            kind = "improved" if any(c.image == im and c.status == "improvement" for c in g.comparison.changes) \
                else "changed within the threshold"
            out.print(f"[green]{im} {kind}; if intended, update its baseline with:[/green]\n"
                      f"  {g.update_command(im)}\n  and commit results/baselines/")
        for c in g.comparison.regressions:
            out.print(f"[bold red]gate: {c.image} {c.metric} regressed {c.rel * 100:+.3f} % "
                      f"({c.a:,.0f} -> {c.b:,.0f} {c.unit}; threshold {g.comparison.options.threshold * 100:g} %)"
                      "[/bold red]")
    return g.exit_code


def cmd_gate(a: argparse.Namespace) -> int:
    run = Run.open(a.run) if a.run else _gate_subset_run(a)
    status = run.read_meta()["status"]
    g = gate_run(run, a.image, _options(a), Path(a.baselines) if a.baselines else None)
    code = _finish_gate(g, a)
    if status != "done" and code == 0:
        console.print(f"[red]gate: run {run.run_id} finished '{status}'; see bench show {run.run_id}[/red]")
        return 1
    return code


def cmd_baseline(a: argparse.Namespace) -> int:
    root = Path(a.baselines) if a.baselines else None
    if a.action == "list":
        from bench.results.baseline import baseline_info

        rows = [baseline_info(t, i, root) for t, i in list_baselines(root)]
        if a.json:
            _print_json(rows)
            return 0
        t = Table(title=f"baselines in {root or baselines_dir()}")
        for c in ("target", "image", "sha256", "unit", "utterances", "frames", "total mean", "from run", "git"):
            t.add_column(c)
        for r in rows:
            t.add_row(r["target"], r["image"], r["sha256"][:12], r["unit"], str(len(r["utterances"])),
                      str(r["frames"]), f"{r['total_mean']:,.1f}", r["from_run"], str(r["provenance"]["git_revision"]))
        out.print(t)
        return 0
    run = Run.open(a.run) if a.run else _gate_subset_run(a)
    paths = update_baselines(run, a.image, root)
    if a.json:
        _print_json({"run_id": run.run_id, "written": [str(p) for p in paths]})
    else:
        for p in paths:
            out.print(f"wrote {p} (and {p.name[:-5]}.frames.parquet) from run {run.run_id}")
        out.print("commit results/baselines/ to make them the gate's reference")
    return 0


# ---- report / index --------------------------------------------------------------------------
def cmd_report(a: argparse.Namespace) -> int:
    from bench.results.history import series_from_index
    from bench.results.index import load_index
    from bench.results.measures import run_measures
    from bench.results.report import ReportInput, run_summaries, write_report

    t0 = time.monotonic()
    run = Run.open(a.run)
    ms = run_measures(run)
    if not ms:
        raise BenchError(f"run {run.run_id} has no measured image; see `bench show {run.run_id}`")
    cmp = against = None
    if a.against and a.baseline:
        raise BenchError("give either --against RUN or --baseline, not both")
    if a.against:
        ra = Run.open(a.against)
        against = run_measures(ra)
        cmp = compare_sets(against, ms, _options(a), ra.run_id, run.run_id)
    elif a.baseline:
        g = gate_run(run, None, _options(a), Path(a.baselines) if a.baselines else None)
        cmp = g.comparison
        against = {k: read_baseline(v.target, k, Path(a.baselines) if a.baselines else None)
                   for k, v in ms.items() if k not in g.missing}
    history = []
    if not a.no_history:
        try:
            idx = load_index()
            history = [s for s in series_from_index(idx, a.metric, sorted(ms)) if run.run_id in s.run_ids]
        except BenchError:
            history = []
    paths = write_report(ReportInput(run, ms, run_summaries(run), cmp, against, history),
                         Path(a.out) if a.out else run.path / "report")
    if a.json:
        _print_json({k: str(v) for k, v in paths.items()} | {"exit_code": cmp.exit_code if cmp else 0})
    else:
        for k, v in paths.items():
            out.print(f"{k}: {v}")
        out.print(f"report written in {time.monotonic() - t0:.2f} s")
    return cmp.exit_code if cmp and a.fail_on_regression else 0


def cmd_index(a: argparse.Namespace) -> int:
    from bench.results.index import index_path, update_index

    t0 = time.monotonic()
    t = update_index(rebuild=a.rebuild)
    if a.json:
        _print_json({"path": str(index_path()), "rows": t.num_rows, "columns": t.column_names})
    else:
        out.print(f"{index_path()}: {t.num_rows} rows ({len(set(t.column('run_id').to_pylist())) if t.num_rows else 0}"
                  f" runs), {len(t.column_names)} columns, {time.monotonic() - t0:.2f} s")
    return 0


def _add_gate_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", metavar="RUN", help="use this run (id or path) instead of running the gate subset")
    p.add_argument("--target", default=GATE_TARGET, help=f"target of the subset run (default {GATE_TARGET})")
    p.add_argument("--limit", type=int, default=GATE_LIMIT, help=f"utterances of the shipped set ({GATE_LIMIT})")
    p.add_argument("--metrics", action="store_true", help="also score quality in the subset run (slower)")
    p.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines, $BENCH_BASELINES)")


def add_parser(sub: Any) -> None:
    c = sub.add_parser("compare", help="compare two runs (or a run with the baselines): change and verdict")
    c.add_argument("a", metavar="A", help="the earlier run (id or path); with --baseline: the run to check")
    c.add_argument("b", metavar="B", nargs="?", help="the later run (id or path)")
    c.add_argument("--baseline", action="store_true", help="compare run A with results/baselines/")
    c.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines)")
    _add_compare_options(c)
    c.set_defaults(func=cmd_compare)

    h = sub.add_parser("history", help="a metric's series over runs from the index, with change points")
    h.add_argument("--metric", default="total_mean", help="index column, e.g. total_mean, stage_gain_p99, q_pesq_wb")
    h.add_argument("--image", action="append", help="only this image (repeatable)")
    h.add_argument("--target", action="append", help="only this target name or board uid (repeatable)")
    h.add_argument("--penalty", type=float, default=3.0, help="noisy series: change-point penalty x sigma^2 log n")
    h.add_argument("--include-failed", action="store_true", help="also runs whose image did not finish")
    h.add_argument("--last", type=int, default=20, help="table rows to show per series (steps always shown)")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=cmd_history)

    b = sub.add_parser("baseline", help="`baseline update` writes results/baselines/ from a run; `baseline list`")
    b.add_argument("action", choices=["update", "list"])
    _add_gate_run_options(b)
    b.add_argument("--image", action="append", help="only this image (repeatable; default: the gate's images)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_baseline)

    g = sub.add_parser("gate", help="CI gate: run a small QEMU subset and fail on a regression against baselines")
    _add_gate_run_options(g)
    _add_compare_options(g)
    g.add_argument("--report", metavar="DIR", help="also write report.html, summary.md and junit.xml here")
    g.set_defaults(func=cmd_gate)

    r = sub.add_parser("report", help="HTML page + Markdown summary + JUnit XML of a run")
    r.add_argument("run", help="run id or path")
    r.add_argument("--against", metavar="RUN", help="compare with this earlier run")
    r.add_argument("--baseline", action="store_true", help="compare with results/baselines/")
    r.add_argument("--baselines", metavar="DIR", help="baselines folder (default results/baselines)")
    r.add_argument("--out", metavar="DIR", help="output folder (default <run>/report)")
    r.add_argument("--metric", default="total_mean", help="metric of the history figure (default total_mean)")
    r.add_argument("--no-history", action="store_true", help="skip the index and the history figure")
    r.add_argument("--fail-on-regression", action="store_true", help=f"exit {EXIT_REGRESSION} on a regression")
    _add_compare_options(r)
    r.set_defaults(func=cmd_report)

    i = sub.add_parser("index", help="update results/index.parquet (one row per run and image)")
    i.add_argument("--rebuild", action="store_true", help="re-read every run")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index)
