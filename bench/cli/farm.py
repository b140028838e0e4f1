"""`bench farm run FARM_FILE`: the nightly over the places of a farm TOML (bench.farm,
docs/farm.md). Exit status for cron: 0 all good, 3 a regression against a place's last good
night, 4 a board (place) failed after its reset and retry (a regression wins when both), 5 nothing
failed but a labgrid place was reserved by somebody else and not tested, 2 a usage or setup error."""

from __future__ import annotations

import argparse
from typing import Any

from bench.cli.base import Command, print_json, wide
from bench.cli.compare import compare_options


class Farm(Command):
    name = "farm"
    help = ("the board farm: `farm run FARM_FILE` runs every place in parallel, compares with the last good "
            "night; `farm places FARM_FILE` says who holds its labgrid places")

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("action", choices=["run", "places"])
        p.add_argument("farm_file", metavar="FARM_FILE", help="the farm TOML (places, images, utterances, set)")
        p.add_argument("--threshold", type=float, default=0.5, metavar="PCT",
                       help="exact counters: a relative increase beyond PCT %% is a regression (default 0.5)")
        p.add_argument("--alpha", type=float, default=0.01, help="noisy figures: Mann-Whitney U significance (0.01)")
        p.add_argument("--min-effect", type=float, default=1.0, metavar="PCT",
                       help="noisy figures: smallest relative median shift that counts, %% (default 1)")
        p.add_argument("--min-samples", type=int, default=20, help="noisy figures: fewer samples -> inconclusive (20)")

    def run(self, args: argparse.Namespace) -> int:
        from bench.farm import load_farm, run_farm

        spec = load_farm(args.farm_file)
        if args.action == "places":
            return self.places(spec, args)
        if not args.json:
            wide.print(f"farm {spec.name}: {len(spec.places)} place(s): "
                       + ", ".join(f"{p.name} ({p.target})" for p in spec.places))
        s = run_farm(spec, compare_options(args))
        if args.json:
            print_json(s)
            return int(s["exit_code"])
        with open(f"{s['path']}/report.md") as f:
            wide.print(f.read(), markup=False)
        merged = f"; merged run {s['merged_run']}" if s.get("merged_run") else ""
        wide.print(f"summary {s['path']}/farm.json, report.md, report.html, junit.xml{merged}; exit {s['exit_code']}")
        return int(s["exit_code"])


    @staticmethod
    def places(spec: Any, args: argparse.Namespace) -> int:
        """Who holds each labgrid place of the farm (reserved by others, stale locks of ours)."""
        from bench.farm.places import status

        rows = status(list(spec.places))
        if args.json:
            print_json(rows)
            return 0
        if not rows:
            wide.print(f"farm {spec.name}: no labgrid places (no [[place]] has labgrid = \"...\")")
        for r in rows:
            wide.print(f"{r['place']} ({r['labgrid_place']} on {r['coordinator']}): {r['state']}"
                       + (f": {r['holder']}" if r["holder"] else ""), markup=False)
        return 0


COMMAND = Farm
