"""`bench data make|check`: make a synthetic test or train set (bench.data.generate), or load a
set with every check and summarise it.

    bench data make --seed N --out DIR [--split train] [--n N] [--sample-rate HZ] [--force]
    bench data check [PATH] [--sample-rate HZ]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from bench.cli.base import Command
from bench.errors import BenchError


def run_check(ns: argparse.Namespace) -> int:
    """Load a set with every check and print a short summary."""
    from bench.data.loader import load_set

    try:
        ts = load_set(ns.path, sample_rate=ns.sample_rate)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2  # as every bench command on a BenchError (bench.cli.main)
    print(f"{ts.root}: {ts.layout} layout, {len(ts)} utterances, {ts.duration_s:.1f} s at {ts.sample_rate} Hz")
    with_clean = sum(u.clean is not None for u in ts)
    print(f"  clean references: {with_clean}/{len(ts)}")
    classes = Counter(u.noise_class or "(unlabelled)" for u in ts)
    print("  noise classes: " + ", ".join(f"{c} {n}" for c, n in classes.items()))
    snrs = [u.snr_db for u in ts if u.snr_db is not None]
    if snrs:
        print(f"  SNR: {min(snrs):.1f} .. {max(snrs):.1f} dB")
    return 0


class Data(Command):
    name = "data"
    help = "make and check test sets"
    description = "Make and check test sets."
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        from bench.data.generate import add_make_arguments

        sub = p.add_subparsers(dest="data_command", metavar="{make,check}")
        sub.required = True
        make = sub.add_parser("make", help="generate a synthetic test or train set",
                              description="Generate a synthetic test or train set (espeak-ng speech + synthetic "
                                          "noises).")
        add_make_arguments(make)
        check = sub.add_parser("check", help="load a set with all checks and summarise it")
        check.add_argument("path", nargs="?", default=None, help="set directory (default: the shipped set)")
        check.add_argument("--sample-rate", type=int, default=None, help="resample to this rate")

    def run(self, args: argparse.Namespace) -> int:
        from bench.data.generate import run_make

        return int(run_make(args) if args.data_command == "make" else run_check(args))


COMMAND = Data
