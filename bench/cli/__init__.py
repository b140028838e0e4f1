"""`bench`: the command line. Every command has --json for machines; rich for people."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.errors import BenchError

console = Console(stderr=True)
out = Console() if sys.stdout.isatty() else Console(width=120)


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


# ---- bench run -------------------------------------------------------------------
class RichProgress:
    def __init__(self) -> None:
        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("frames"), TimeElapsedColumn(), console=console, transient=False)
        self._task: Any = None
        self._p.start()

    def image_started(self, image: str, utterances: int, frames: int) -> None:
        self._task = self._p.add_task(f"{image} ({utterances} utt)", total=frames)

    def advance(self, frames: int) -> None:
        if self._task is not None:
            self._p.advance(self._task, frames)

    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None:
        if error:
            console.print(f"[red]{image}: {error}[/red]")

    def stop(self) -> None:
        self._p.stop()


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def image_table(name: str, summary: dict[str, Any]) -> Table:
    unit = summary["unit"]
    t = Table(title=f"{name}: {summary['frames']} frames, {summary['utterances']} utterances ({unit} per frame)")
    for col in ("stage", "mean", "p50", "p99", "max"):
        t.add_column(col, justify="right" if col != "stage" else "left")
    stages = summary["stages"]
    for stage in summary.get("stage_order", list(stages)):
        st = stages[stage]
        t.add_row(stage, _fmt(st["mean"]), _fmt(st["p50"]), _fmt(st["p99"]), _fmt(st["max"]))
    tot = summary["total"]
    t.add_row("[bold]total[/bold]", _fmt(tot["mean"]), _fmt(tot["p50"]), _fmt(tot["p99"]), _fmt(tot["max"]))
    return t


def realtime_line(summary: dict[str, Any]) -> str:
    rt = summary["realtime"]
    return (f"real-time factor at {rt['clock_hz'] / 1e6:.0f} MHz: mean {rt['rtf_mean']:.3f}, "
            f"p99 {rt['rtf_p99']:.3f}  [{rt['kind']}: {rt['model']}]")


QUALITY_COLS = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")


def quality_table(name: str, comp: dict[str, Any]) -> Table:
    t = Table(title=f"{name}: quality (mean over utterances)")
    t.add_column("condition")
    for m in QUALITY_COLS:
        t.add_column(m, justify="right")
    for row in comp["means"]:
        t.add_row(row["condition"], *(f"{row[m]:.3f}" if m in row else "-" for m in QUALITY_COLS))
    for a, b in (("target", "float"), ("target", "noisy")):
        ds = {d["metric"]: d for d in comp["deltas"] if d["a"] == a and d["b"] == b}
        if ds:
            t.add_row(f"{a} - {b}", *(f"{ds[m]['mean']:+.3f} ±{(ds[m]['ci_high'] - ds[m]['ci_low']) / 2:.3f}"
                                      if m in ds else "-" for m in QUALITY_COLS))
    fid = comp.get("fidelity", {})
    t.caption = "deltas: mean ± half-width of the 95% bootstrap interval over utterances. " + "; ".join(
        f"{k}: bit-exact min {v['bit_exact_min']:.4f}, max |err| {v['max_abs_lsb']:.0f} LSB"
                          for k, v in fid.items())
    if comp.get("golden_source"):
        t.caption += f". golden = {comp['golden_source']}"
    return t


def run_summary_doc(run: Any) -> dict[str, Any]:
    meta = run.read_meta()
    images = {}
    for name, im in meta["images"].items():
        d: dict[str, Any] = {"status": im["status"], "error": im.get("error"),
                             "utterance_errors": im.get("utterance_errors", {})}
        s = run.read_summary(name)
        if s is not None:
            d.update({k: s[k] for k in ("frames", "utterances", "unit", "total", "stages", "realtime", "energy")})
            d["stage_order"] = s.get("stage_order", list(s["stages"]))
        q = run.read_comparison(name)
        if q is not None:
            d["quality"] = q
        v = run.read_view(name)
        if v is not None:
            d["view"] = v
        images[name] = d
    return {"run_id": meta["run_id"], "status": meta["status"], "results_path": str(run.path),
            "target": meta["target"]["name"], "images": images, "context": run.read_context()}


def context_table(ctx: dict[str, Any]) -> Table:
    """Reference baselines on the run's own audio (bench.metrics.context)."""
    t = Table(title=f"reference baselines on the same audio ({ctx['utterances']} utterances)")
    for col in ("baseline", "method", "scores"):
        t.add_column(col)

    def fmt(d: dict[str, Any], keys: tuple[str, ...]) -> str:
        if "unscorable" in d:
            return f"unscorable: {d['unscorable']}"
        return ", ".join(f"{k} {d[k]:.3f}" if d.get(k) is not None else f"{k} n/a" for k in keys)

    t.add_row("VAD", ctx["vad"].get("method", ""), fmt(ctx["vad"], ("accuracy", "f1")))
    t.add_row("F0", ctx["f0"].get("method", ""), fmt(ctx["f0"], ("r2_both", "gpe_both", "voicing_error")))
    if "enhancer" in ctx:
        t.add_row("enhancer", ctx["enhancer"].get("method", ""),
                  fmt(ctx["enhancer"], ("pesq_wb", "pesq_nb", "stoi", "estoi")))
    return t


def spec_table(spec: Any) -> Table:
    """A family's TableSpec (bench.families.base) as a rich table."""
    t = Table(title=spec.title)
    for i, c in enumerate(spec.columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for row in spec.rows:
        t.add_row(*row)
    t.caption = spec.caption
    return t


def view_tables(name: str, view: dict[str, Any], unit: str) -> list[Table]:
    from bench.families import family_for

    fam = family_for(view.get("family", ""), required=False)
    return [spec_table(s) for s in fam.view_tables(name, view, unit)] if fam is not None else []


def print_run(run: Any) -> None:
    doc = run_summary_doc(run)
    for name, im in doc["images"].items():
        if "total" in im:
            out.print(image_table(name, im))
            out.print(realtime_line(im))
        if "quality" in im:
            out.print(quality_table(name, im["quality"]))
        if "view" in im:
            for vt in view_tables(name, im["view"], im.get("unit", "instructions")):
                out.print(vt)
        if im["status"] != "done":
            out.print(f"[red]{name}: {im['status']}: {im.get('error') or ''}[/red]")
            for u, e in im["utterance_errors"].items():
                out.print(f"[red]  {u}: {e}[/red]")
    if doc["context"]:
        out.print(context_table(doc["context"]))
    out.print(f"results: {doc['results_path']}  (status: {doc['status']})")


def cmd_run(a: argparse.Namespace) -> int:
    from bench.runner import Runner, RunOptions

    configure = []
    for kv in a.config or []:
        k, _, v = kv.partition("=")
        try:
            configure.append((k, int(v)))
        except ValueError:
            raise BenchError(f"--config expects key=integer, got '{kv}'") from None
    opts = RunOptions(target=a.target, images=tuple(a.image or ()), set_path=a.set, limit=a.limit,
                      window=a.window, timeout=a.timeout, configure=tuple(configure), metrics=not a.no_metrics,
                      manifest_dir=a.manifest_dir)
    if getattr(a, "sweep", None):
        return cmd_sweep(a, opts)
    progress = None if a.json else RichProgress()
    try:
        runner = Runner(opts, progress)
        run = runner.resume(a.resume) if a.resume else runner.start()
    finally:
        if progress is not None:
            progress.stop()
    if a.json:
        _print_json(run_summary_doc(run))
    else:
        print_run(run)
    return 0 if run.read_meta()["status"] == "done" else 1


def cmd_show(a: argparse.Namespace) -> int:
    from bench.results.store import Run

    run = Run.open(a.run_id)
    if a.json:
        doc = run_summary_doc(run)
        doc["provenance"] = run.read_meta()["provenance"]
        _print_json(doc)
    else:
        meta = run.read_meta()
        p = meta["provenance"]
        out.print(f"run {meta['run_id']} on {meta['target']['name']}: {meta['status']} "
                  f"({meta['started']} .. {meta['finished']}), git {p['git_revision']}, {p['qemu_version']}")
        print_run(run)
    return 0


def cmd_targets(a: argparse.Namespace) -> int:
    from bench.targets import list_targets

    ts = list_targets()
    if a.json:
        _print_json([{k: v for k, v in asdict(t).items() if k != "path"} for t in ts])
        return 0
    t = Table(title="targets")
    for c in ("name", "driver", "board", "cpu", "clock", "counter"):
        t.add_column(c)
    for x in ts:
        t.add_row(x.name, x.driver, x.board, x.cpu, f"{x.clock_hz / 1e6:.0f} MHz", x.counter.unit)
    out.print(t)
    return 0


def cmd_images(a: argparse.Namespace) -> int:
    from bench.images import load_manifest

    if a.action == "build":
        return cmd_images_build(a)
    es = load_manifest()
    if a.json:
        _print_json([e.to_json() for e in es])
        return 0
    t = Table(title="firmware_images/manifest.json")
    for c in ("name", "board", "family", "flash", "ram", "sha256"):
        t.add_column(c)
    for e in es:
        t.add_row(e.name, e.board, e.model_family, f"{e.flash_bytes:,}", f"{e.ram_bytes:,}", e.sha256[:12])
    out.print(t)
    return 0


def cmd_images_build(a: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from bench.imagebuild import build_all, check_committed, write_manifest

    if a.check:
        with tempfile.TemporaryDirectory() as d:
            problems = check_committed(Path(d))
        if a.json:
            _print_json({"ok": not problems, "problems": problems})
        for p in problems:
            console.print(f"[red]{p}[/red]")
        if not problems and not a.json:
            out.print("committed images match a fresh build")
        return 1 if problems else 0
    built = build_all()
    path = write_manifest(built)
    if a.json:
        _print_json([b.entry.to_json() for b in built])
    else:
        for b in built:
            e = b.entry
            out.print(f"{e.name}: {e.sha256[:12]} flash {e.flash_bytes:,} B ram {e.ram_bytes:,} B")
        out.print(f"manifest: {path}")
    return 0


def cmd_sweep(a: argparse.Namespace, opts: Any) -> int:
    import dataclasses

    from bench.runner.sweep import run_sweep

    if a.resume:
        raise BenchError("--sweep cannot --resume; start the sweep again")
    if a.run_id:
        opts = dataclasses.replace(opts, run_id=a.run_id)
    progress = None if a.json else RichProgress()
    try:
        sweep = run_sweep(opts, a.sweep, a.sweep_values or a.thresholds, progress)
    finally:
        if progress is not None:
            progress.stop()
    doc = sweep.read()
    if a.json:
        _print_json({"sweep_dir": str(sweep.path), **doc})
    else:
        out.print(sweep_table(doc))
        out.print(f"sweep: {sweep.path}  (sweep.md, sweep.json, sweep.png)")
    return 0


def sweep_table(doc: dict[str, Any]) -> Table:
    from bench.runner.sweep import TABLE_COLS, _f

    rich_cols = ("point", "instr/frame", "network", "MACs/frame", "PESQ-WB target", "PESQ-WB float", "STOI target",
                 "STOI float", "bit-exact vs golden")
    t = Table(title=f"{doc['image']} on {doc['target']}: {doc.get('axis', 'exit')} sweep")
    cols = [c for c in TABLE_COLS if c[0] in rich_cols]
    short = {"instr/frame": "instr", "MACs/frame": "MACs", "PESQ-WB target": "PESQ tgt", "PESQ-WB float": "PESQ flt",
             "STOI target": "STOI tgt", "STOI float": "STOI flt", "bit-exact vs golden": "exact"}
    for name, _, _ in cols:
        t.add_column(short.get(name, name), justify="left" if name == "point" else "right", no_wrap=True)
    t.add_column("exit %", no_wrap=True)
    for r in doc["points"]:
        share = "/".join(f"{100 * s:.0f}" for s in r.get("exit_share", []))
        t.add_row(*(_f(r.get(k), f) for _, k, f in cols), share)
    t.caption = ("instructions per frame under QEMU -icount (not cycles); quality: mean over utterances; "
                 "sweep.md has the per-stage columns")
    return t


def cmd_train(a: argparse.Namespace) -> int:
    import importlib

    try:
        import torch  # noqa: F401
    except ImportError:
        raise BenchError("bench train needs PyTorch: pip install -e .[train]") from None
    mod = importlib.import_module(f"bench.train.{a.family}")
    return int(mod.main(list(a.args)) or 0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench", description="Hardware-in-the-loop bench for speech enhancement on MCUs")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run images on a target over a test set")
    r.add_argument("--target", default="qemu-mps2-an386", help="target name (bench targets) or TOML path")
    r.add_argument("--image", action="append", help="image name (repeatable; default: every image for the target)")
    r.add_argument("--set", help="test set folder (default: the shipped test set)")
    r.add_argument("--limit", type=int, help="first N utterances only")
    r.add_argument("--window", type=int, default=4, help="frames in flight (default 4)")
    r.add_argument("--timeout", type=float, default=5.0, help="seconds before a frame is resent")
    r.add_argument("--config", action="append", metavar="KEY=INT", help="CONFIGURE option for the model")
    r.add_argument("--no-metrics", action="store_true", help="skip the quality comparison (counts only)")
    r.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    r.add_argument("--sweep", metavar="AXIS",
                   help="one run per point of an axis of the image's family (nsnet2-ee: exit, dyncp: keep)")
    r.add_argument("--sweep-values", help="with --sweep: the axis' values, comma separated (exit: thresholds "
                   "thr_q15, default 600,1200,2400,4800; keep: image names)")
    r.add_argument("--thresholds", help="alias of --sweep-values (the exit axis' thresholds)")
    r.add_argument("--manifest-dir", help="folder holding another manifest.json and its images "
                   "(default firmware_images/)")
    r.add_argument("--run-id", help="with --sweep: name of the sweep directory")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("show", help="show a run's summary")
    s.add_argument("run_id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    t = sub.add_parser("targets", help="list targets")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_targets)

    i = sub.add_parser("images", help="list images, or `images build` to rebuild them")
    i.add_argument("action", nargs="?", choices=["list", "build"], default="list")
    i.add_argument("--check", action="store_true", help="with build: rebuild into a temp dir and compare hashes")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_images)

    tr = sub.add_parser("train", help="train a model family (needs the train extra: pip install -e .[train])")
    tr.add_argument("family", choices=["nsnet2", "dyncp"], help="model family (bench/train/<family>.py)")
    tr.add_argument("args", nargs=argparse.REMAINDER, help="options of the family's trainer (--help for them)")
    tr.set_defaults(func=cmd_train)

    try:
        from bench.cli.data import add_parser as add_data_parser

        add_data_parser(sub)
    except ImportError:
        pass
    from bench.cli.export import add_parser as add_export_parser  # export tflite

    add_export_parser(sub)
    from bench.cli.results import add_parser as add_results_parser  # compare, history, baseline, gate, report

    add_results_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchError as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; what was measured is kept (bench run --resume <run-id>)[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
