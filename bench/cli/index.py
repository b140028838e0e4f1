"""`bench index [--rebuild]`: update results/index.parquet, one row per run and image (the
table `bench history` reads; bench.results.index)."""

from __future__ import annotations

import argparse
import time

from bench.cli.base import Command, print_json, wide


class Index(Command):
    name = "index"
    help = "update results/index.parquet (one row per run and image)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--rebuild", action="store_true", help="re-read every run")

    def run(self, args: argparse.Namespace) -> int:
        import logging

        from rich.markup import escape

        from bench.results.index import index_path, refresh_index

        logging.getLogger("bench.results.index").addHandler(logging.NullHandler())  # printed below instead
        t0 = time.monotonic()
        t, skipped = refresh_index(rebuild=args.rebuild)
        if args.json:
            print_json({"path": str(index_path()), "rows": t.num_rows, "columns": t.column_names,
                        "skipped": skipped})
        else:
            runs = len(set(t.column("run_id").to_pylist())) if t.num_rows else 0
            wide.print(f"{index_path()}: {t.num_rows} rows ({runs} runs), {len(t.column_names)} columns, "
                       f"{time.monotonic() - t0:.2f} s")
            for rid, why in sorted(skipped.items()):
                wide.print(f"[yellow]skipped[/yellow] {escape(rid)}: {escape(why)}")
        return 0


COMMAND = Index
