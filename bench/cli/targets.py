"""`bench targets [--json]`: the targets that can run images (targets/*.toml)."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from bench.cli.base import Command, out, print_json
from bench.cli.views import targets_table


class Targets(Command):
    name = "targets"
    help = "list targets"

    def run(self, args: argparse.Namespace) -> int:
        from bench.targets import list_targets

        ts = list_targets()
        if args.json:
            print_json([{k: v for k, v in asdict(t).items() if k != "path"} for t in ts])
        else:
            out.print(targets_table(ts))
        return 0


COMMAND = Targets
