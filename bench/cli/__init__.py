"""`bench`: the command line. One module per top-level command (bench/cli/<name>.py, a
:class:`bench.cli.base.Command` named ``COMMAND``), shared rich views in bench/cli/views.py.
Every command that reports has --json for machines; rich tables for people.

Exit status: 0 success; 1 a run finished but an image or utterance failed; 2 a usage or setup
error (BenchError: the message says what to do); 3 a regression; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from rich.markup import escape

from bench.cli.base import Command, console, load_commands
from bench.errors import BenchError
from bench.runner.run import RunInterrupted

# the command modules, in the order `bench --help` lists them
COMMAND_MODULES = ("run", "show", "targets", "boards", "images", "families", "train", "data", "quantize", "evaluate",
                   "export", "kernels", "search", "probes", "compare", "history", "baseline", "gate", "report", "index",
                   "farm")


def commands() -> list[Command]:
    return load_commands(COMMAND_MODULES)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench", description="Hardware-in-the-loop bench for speech enhancement on MCUs")
    sub = p.add_subparsers(dest="cmd", required=True)
    for c in commands():
        c.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        return 2
    except KeyboardInterrupt as e:
        msg = str(e) if isinstance(e, RunInterrupted) else "interrupted; what was measured is kept " \
                                                           "(bench run --resume <run-id>)"
        console.print(f"[yellow]{escape(msg)}[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
