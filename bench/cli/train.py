"""`bench train FAMILY [trainer options]`: a family's trainer (``Family.train``; PyTorch, the
`train` extra). FAMILY is a family that has a trainer, by name or by its models/ folder name
(``bench train nsnet2`` = ``bench train nsnet2-ee``)."""

from __future__ import annotations

import argparse

from bench.cli.base import Command
from bench.errors import BenchError
from bench.families import families_with


class Train(Command):
    name = "train"
    help = "train a model family (needs the train extra: pip install -e .[train])"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("family", choices=sorted(families_with("train")),
                       help="model family with a trainer (bench families)")
        p.add_argument("args", nargs=argparse.REMAINDER, help="options of the family's trainer (--help for them)")

    def run(self, args: argparse.Namespace) -> int:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise BenchError("bench train needs PyTorch: pip install -e .[train]") from None
        return int(families_with("train")[args.family].train(list(args.args)) or 0)


COMMAND = Train
