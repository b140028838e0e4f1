"""The command base class, the consoles and the discovery of the command modules.

One module under bench/cli/ is one top-level command (asv / pyOCD style): it defines a
:class:`Command` subclass and names it ``COMMAND``. Sub-sub-commands (``images build``,
``baseline update``, ``export c``) live in their command's module. The top level
(bench/cli/__init__.py) lists the modules, builds the parser and maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Console

from bench.errors import ConfigError

if TYPE_CHECKING:
    from bench.families.base import Family

console = Console(stderr=True)  # progress, messages and errors


def _stdout(width: int) -> Console:
    return Console() if sys.stdout.isatty() else Console(width=width)


out = _stdout(150)  # tables and results (run, show, targets, images, families)
wide = _stdout(140)  # the regression commands' wider tables


def print_json(doc: Any) -> None:
    """The one JSON document of a command, on stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON document on stdout (for machines)")


def forward_argv(args: argparse.Namespace, flags: dict[str, str], values: dict[str, str]) -> list[str]:
    """A wrapped main's own command line from parsed options: ``flags`` (dest -> option) that are
    set, ``values`` (dest -> option) that are not None."""
    argv = [opt for dest, opt in flags.items() if getattr(args, dest)]
    for dest, opt in values.items():
        if getattr(args, dest) is not None:
            argv += [opt, str(getattr(args, dest))]
    return argv


class Command:
    """One top-level command: ``name`` and ``help``, its options, and ``run`` -> exit status."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    description: ClassVar[str | None] = None  # default: help
    json: ClassVar[bool] = True  # add --json (commands with sub-commands add it where it applies)

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        """Add the command's options and positional arguments."""

    def run(self, args: argparse.Namespace) -> int:
        raise NotImplementedError

    def register(self, subparsers: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subparsers.add_parser(self.name, help=self.help,
                                                           description=self.description or self.help)
        self.add_arguments(p)
        if self.json:
            add_json(p)
        p.set_defaults(func=self.run, command=self.name)
        return p


def load_commands(modules: Sequence[str]) -> list[Command]:
    """The ``COMMAND`` of each module ``bench.cli.<name>``, instantiated, in the given order."""
    cmds = []
    for m in modules:
        cls = importlib.import_module(f"bench.cli.{m}").COMMAND
        if not (isinstance(cls, type) and issubclass(cls, Command)) or not cls.name:
            raise TypeError(f"bench.cli.{m}.COMMAND is not a named Command subclass")
        cmds.append(cls())
    return cmds


def find_model(model: str, what: str = "model",
               hint: str = "train one with `bench train FAMILY`") -> tuple[Family, Path]:
    """(family, folder) of a model: ``model`` is a folder, or a name looked up under
    ``models/<family.models_subdir>/``; the family is the installed one that owns it."""
    from bench.families import all_families
    from bench.paths import repo_root

    fams = list(all_families().values())
    p = Path(model)
    cands = [p]
    if len(p.parts) == 1:
        cands += [repo_root() / "models" / f.models_subdir / model for f in fams if f.models_subdir]
    for c in cands:
        if c.is_dir():
            for f in fams:
                if f.owns_model(c):
                    return f, c
    with_models = [f for f in fams if f.models_subdir]
    where = " or ".join(f"models/{f.models_subdir}/" for f in with_models)
    raise ConfigError(f"{model}: no {what} there or under {where} (a folder whose config.json one of the "
                      f"families {', '.join(f.name for f in with_models)} loads); {hint}")
