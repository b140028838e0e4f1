"""`bench search FAMILY [options]`: a family's search over its model configurations (the family's
``search`` step, e.g. NSGA-II over the bit-width genomes of the mixed-precision GRU; the `search`
extra). FAMILY is a family with a search, by name or by its models/ folder name."""

from __future__ import annotations

import argparse

from bench.cli.base import Command
from bench.families import families_with


class Search(Command):
    name = "search"
    help = "search a family's model configurations (e.g. bit-width genomes; the search extra)"
    json = False

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("family", choices=sorted(families_with("search")), help="model family with a search")
        p.add_argument("args", nargs=argparse.REMAINDER, help="options of the family's search (--help for them)")

    def run(self, args: argparse.Namespace) -> int:
        return int(families_with("search")[args.family].search(list(args.args)) or 0)


COMMAND = Search
