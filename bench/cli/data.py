"""`bench data ...` subcommands. The top-level CLI calls :func:`add_parser` with its
subparsers; each subcommand sets ``func``, a callable taking the parsed Namespace and
returning the exit status.

    bench data make --seed N --out DIR [--split train] [--n N] [--sample-rate HZ] [--force]
    bench data check [PATH] [--sample-rate HZ]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from bench.data.generate import add_make_arguments, run_make
from bench.data.loader import load_set
from bench.errors import BenchError


def run_check(ns: argparse.Namespace) -> int:
    """Load a set with every check and print a short summary."""
    try:
        ts = load_set(ns.path, sample_rate=ns.sample_rate)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{ts.root}: {ts.layout} layout, {len(ts)} utterances, {ts.duration_s:.1f} s at {ts.sample_rate} Hz")
    with_clean = sum(u.clean is not None for u in ts)
    print(f"  clean references: {with_clean}/{len(ts)}")
    classes = Counter(u.noise_class or "(unlabelled)" for u in ts)
    print("  noise classes: " + ", ".join(f"{c} {n}" for c, n in classes.items()))
    snrs = [u.snr_db for u in ts if u.snr_db is not None]
    if snrs:
        print(f"  SNR: {min(snrs):.1f} .. {max(snrs):.1f} dB")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `data` command (with `make` and `check`) on an argparse subparsers object."""
    data: argparse.ArgumentParser = subparsers.add_parser(
        "data", help="make and check test sets", description="Make and check test sets."
    )
    sub = data.add_subparsers(dest="data_command", metavar="{make,check}")
    sub.required = True
    make = sub.add_parser(
        "make",
        help="generate a synthetic test or train set",
        description="Generate a synthetic test or train set (espeak-ng speech + synthetic noises).",
    )
    add_make_arguments(make)
    make.set_defaults(func=run_make)
    check = sub.add_parser("check", help="load a set with all checks and summarise it")
    check.add_argument("path", nargs="?", default=None, help="set directory (default: the shipped set)")
    check.add_argument("--sample-rate", type=int, default=None, help="resample to this rate")
    check.set_defaults(func=run_check)
    return data


def main(argv: list[str] | None = None) -> int:
    """Stand-alone `bench data` (for use before the top-level CLI wires it in)."""
    p = argparse.ArgumentParser(prog="bench")
    sub = p.add_subparsers(dest="command")
    sub.required = True
    add_parser(sub)
    ns = p.parse_args(argv)
    return int(ns.func(ns))


if __name__ == "__main__":
    raise SystemExit(main())
