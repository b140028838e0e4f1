"""`bench families [--json]`: the installed model families (``bench.families`` entry points) with
their CONFIGURE keys (for the family's default model), sweep axes and model steps."""

from __future__ import annotations

import argparse
from typing import Any

from bench.cli.base import Command, out, print_json
from bench.cli.views import families_table

STEPS = ("quantize", "export_c", "export_tflite", "evaluate", "train", "search")


def family_doc(fam: Any) -> dict[str, Any]:
    keys: list[dict[str, Any]] | None
    error = None
    try:
        keys = [{"name": k.name, "lo": k.lo, "hi": k.hi, "doc": k.doc} for k in fam.config_keys(fam.default_model)]
    except Exception as e:  # a key listing may need a model that is not there: show "-"
        keys, error = None, f"{type(e).__name__}: {e}"
    return {"name": fam.name, "description": fam.description, "models_subdir": fam.models_subdir,
            "default_model": fam.default_model, "config_keys": keys, "config_keys_error": error,
            "sweep_axes": [{"name": a.name, "doc": a.doc, "sets_keys": list(a.sets_keys)}
                           for a in fam.sweep_axes().values()],
            "steps": [s for s in STEPS if fam.has_step(s)]}


class Families(Command):
    name = "families"
    help = "list the installed model families: CONFIGURE keys, sweep axes, model steps"

    def run(self, args: argparse.Namespace) -> int:
        from rich.markup import escape

        from bench.families import all_families, broken_families

        docs = [family_doc(f) for f in all_families().values()]
        broken = broken_families()
        if args.json:
            print_json(docs + [{"name": n, "load_error": why} for n, why in sorted(broken.items())])
        else:
            out.print(families_table(docs))
            for n, why in sorted(broken.items()):
                out.print(f"[red]family {escape(n)} does not load: {escape(why)}[/red]")
        return 0


COMMAND = Families
