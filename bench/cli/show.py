"""`bench show RUN_ID [--json]`: a run's summary (the same document `bench run --json` prints,
plus its provenance). :func:`run_summary_doc` and :func:`print_run` serve `bench run` too."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape

from bench.cli.base import Command, out, print_json
from bench.cli.views import (
    context_table,
    estimate_table,
    image_table,
    quality_table,
    realtime_line,
    run_table,
    view_tables,
)


def run_summary_doc(run: Any) -> dict[str, Any]:
    """The run's JSON summary (docs/cli.md), read through the store."""
    from bench.results.estimate_check import estimate_check

    meta = run.read_meta()
    images = {}
    for name, im in meta["images"].items():
        d: dict[str, Any] = {"status": im["status"], "error": im.get("error"),
                             "utterance_errors": im.get("utterance_errors", {}),
                             "device_resets": im.get("device_resets", [])}
        s = run.read_summary(name)
        if s is not None:
            d.update({k: s[k] for k in ("frames", "utterances", "unit", "total", "stages", "realtime", "energy")})
            if "cycles_est" in s:
                d["cycles_est"] = s["cycles_est"]
            d["stage_order"] = s.get("stage_order", list(s["stages"]))
        q = run.read_comparison(name)
        if q is not None:
            d["quality"] = q
        v = run.read_view(name)
        if v is not None:
            d["view"] = v
        ev = estimate_check(run, name) if s is not None else None  # boards only: DWT cycles vs QEMU's estimate
        if ev is not None:
            d["estimate_vs_measured"] = ev
        images[name] = d
    return {"run_id": meta["run_id"], "status": meta["status"], "reason": meta.get("reason"),
            "results_path": str(run.path),
            "target": meta["target"]["name"], "images": images, "context": run.read_context()}


def print_run(run: Any) -> None:
    doc = run_summary_doc(run)
    for name, im in doc["images"].items():
        if "total" in im:
            out.print(image_table(name, im))
            out.print(realtime_line(im))
        if "estimate_vs_measured" in im:
            out.print(estimate_table(name, im["estimate_vs_measured"]))
        if "quality" in im:
            out.print(quality_table(name, im["quality"]))
        if "view" in im:
            for vt in view_tables(name, im["view"], im.get("unit", "instructions")):
                out.print(vt)
        for note in im["device_resets"]:  # each retried (or failed) once: the figures are the retry's
            out.print(f"[yellow]{escape(name)}: device reset: {escape(note)}[/yellow]")
        if im["status"] != "done":
            out.print(f"[red]{escape(name)}: {im['status']}: {escape(im.get('error') or '')}[/red]")
            if im.get("reason"):
                out.print(f"[red]  {escape(im['reason'])}[/red]")
            for u, e in im["utterance_errors"].items():
                out.print(f"[red]  {escape(u)}: {escape(e)}[/red]")
    if doc["context"]:
        out.print(context_table(doc["context"]))
    out.print(run_table(doc))
    if doc.get("reason"):
        out.print(f"[yellow]{escape(doc['reason'])}[/yellow]")
    out.print(f"results: {escape(doc['results_path'])}  (status: {doc['status']})")


class Show(Command):
    name = "show"
    help = "show a run's summary"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("run_id")

    def run(self, args: argparse.Namespace) -> int:
        from bench.results.store import Run

        run = Run.open(args.run_id)
        if args.json:
            doc = run_summary_doc(run)
            doc["provenance"] = run.read_meta()["provenance"]
            print_json(doc)
        else:
            meta = run.read_meta()
            p = meta["provenance"]
            out.print(f"run {meta['run_id']} on {meta['target']['name']}: {meta['status']} "
                      f"({meta['started']} .. {meta['finished']}), git {p['git_revision']}, {p['qemu_version']}")
            print_run(run)
        return 0


COMMAND = Show
