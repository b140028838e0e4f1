"""`bench run`: run images on a target over a test set; with ``--sweep AXIS`` one run per point
of an axis of the image's family (bench.runner.sweep)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from rich.markup import escape

from bench.cli.base import Command, out, print_json
from bench.cli.show import print_run, run_summary_doc
from bench.cli.views import RichProgress, sweep_table
from bench.errors import BenchError


def configure_options(kvs: list[str] | None) -> tuple[tuple[str, int], ...]:
    """--config KEY=INT ... as CONFIGURE pairs."""
    configure = []
    for kv in kvs or []:
        k, _, v = kv.partition("=")
        try:
            configure.append((k, int(v)))
        except ValueError:
            raise BenchError(f"--config expects key=integer, got '{kv}'") from None
    return tuple(configure)


DEFAULT_TARGET = "qemu-mps2-an386-sh"


class Run(Command):
    name = "run"
    help = "run images on a target over a test set"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--target", default=DEFAULT_TARGET,
                       help=f"target name (bench targets) or TOML path (default {DEFAULT_TARGET}: QEMU with the fast "
                            "semihosting link; qemu-mps2-an386 streams over the emulated UART, as boards do)")
        p.add_argument("--image", action="append", help="image name (repeatable; default: every image for the target)")
        p.add_argument("--set", help="test set folder (default: the shipped test set)")
        p.add_argument("--limit", type=int, help="first N utterances only")
        p.add_argument("--window", type=int, default=4, help="frames in flight (default 4)")
        p.add_argument("--jobs", type=int, default=0, help="images run at once, one emulator each (default: one per "
                       "CPU core on QEMU targets, one at a time on a board)")
        p.add_argument("--timeout", type=float, default=5.0,
                       help="longest wait before a frame is resent (the resend timer adapts below it)")
        p.add_argument("--link-timeout", type=float, metavar="S",
                       help="seconds without any reply before the link counts as dead (default max(30, 6 x --timeout))")
        p.add_argument("--link-retries", type=int, default=5, metavar="N",
                       help="resend rounds without progress before the link may be declared dead (default 5)")
        p.add_argument("--probe", metavar="UID", help="pyOCD targets: the probe (board) to use when several are "
                       "connected (bench boards lists them)")
        p.add_argument("--link-faults", default="", metavar="QUERY",
                       help="inject link faults, e.g. 'ber=1e-3&seed=1', or a real device reset after frame N: "
                            "'reset_frame=N' (docs/protocol.md, Links under faults)")
        p.add_argument("--config", action="append", metavar="KEY=INT", help="CONFIGURE option for the model")
        p.add_argument("--no-metrics", action="store_true", help="skip the quality comparison (counts only)")
        p.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
        p.add_argument("--sweep", metavar="AXIS", help="one run per point of an axis of the image's family "
                       "(`bench families` lists each family's axes)")
        p.add_argument("--sweep-values", help="with --sweep: the axis' values, comma separated (exit: thresholds "
                       "thr_q15, default 600,1200,2400,4800; keep: image names)")
        p.add_argument("--thresholds", help="alias of --sweep-values (the exit axis' thresholds)")
        p.add_argument("--manifest-dir", help="folder holding another manifest.json and its images "
                       "(default firmware_images/)")
        p.add_argument("--run-id", help="name of the run directory (with --sweep: of the sweep directory)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.runner import Runner, RunOptions

        opts = RunOptions(target=args.target, images=tuple(args.image or ()), set_path=args.set, limit=args.limit,
                          window=args.window, timeout=args.timeout, configure=configure_options(args.config),
                          metrics=not args.no_metrics, manifest_dir=args.manifest_dir, jobs=args.jobs,
                          link_timeout=args.link_timeout, link_retries=args.link_retries, link_faults=args.link_faults,
                          probe_uid=args.probe)
        if args.run_id and not args.sweep:
            opts = dataclasses.replace(opts, run_id=args.run_id)
        if args.sweep:
            return self.sweep(args, opts)
        progress = None if args.json else RichProgress()
        try:
            runner = Runner(opts, progress)
            run = runner.resume(args.resume) if args.resume else runner.start()
        finally:
            if progress is not None:
                progress.stop()
        if args.json:
            print_json(run_summary_doc(run))
        else:
            print_run(run)
        return 0 if run.read_meta()["status"] == "done" else 1

    def sweep(self, args: argparse.Namespace, opts: Any) -> int:
        from bench.runner.sweep import run_sweep

        if args.resume:
            raise BenchError("--sweep cannot --resume; start the sweep again")
        if args.run_id:
            opts = dataclasses.replace(opts, run_id=args.run_id)
        progress = None if args.json else RichProgress()
        try:
            sweep = run_sweep(opts, args.sweep, args.sweep_values or args.thresholds, progress)
        finally:
            if progress is not None:
                progress.stop()
        doc = sweep.read()
        if args.json:
            print_json({"sweep_dir": str(sweep.path), **doc})
        else:
            out.print(sweep_table(doc))
            for f in doc["failed"]:
                out.print(f"[red]point failed: {escape(f)}[/red]")
            out.print(f"sweep: {sweep.path}  (sweep.md, sweep.json, sweep.png)")
        return 1 if doc["failed"] else 0  # as a run with a failed image


COMMAND = Run
