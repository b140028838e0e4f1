"""`bench boards [--emulated] [--json]`: the debug probes pyOCD sees, each beside the target TOMLs
that match it (by [pyocd] probe_uid, or by the board pyOCD says the probe is on), and the pyOCD
targets that have no probe connected. `--emulated` adds the bench's emulated probes (QEMU machines
behind pyOCD's probe API: `qemu:netduinoplus2`)."""

from __future__ import annotations

import argparse

from rich.markup import escape

from bench.cli.base import Command, out, print_json
from bench.cli.views import table


class Boards(Command):
    name = "boards"
    help = "list connected debug probes and the targets that match them"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--emulated", action="store_true",
                       help="also list the emulated probes (QEMU machines as pyOCD probes, e.g. qemu:netduinoplus2)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.targets.drivers.pyocd.boards import boards

        report = boards(emulated=args.emulated)
        if args.json:
            print_json(report.as_dict())
            return 0
        t = table("debug probes (pyOCD)", ["probe uid", "probe", "board (pyOCD)", "targets"])
        for p in report.probes:
            targets = ", ".join(f"{m.target} (by {m.how})" for m in p.targets) or "-"
            t.add_row(escape(p.unique_id), escape(p.description), escape(p.board_target_type or "-"), escape(targets))
        if not report.probes:
            t.caption = "no debug probe connected" + ("" if args.emulated else "; --emulated lists the emulated ones")
        out.print(t)
        if report.unmatched:
            u = table("pyOCD targets without a probe", ["target", "why"])
            for name, why in report.unmatched:
                u.add_row(escape(name), escape(why))
            out.print(u)
        return 0


COMMAND = Boards
