"""Every `bench` command line the README shows parses with today's CLI (placeholders filled in),
and every command docs/cli.md names exists: a renamed option or command fails here first."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bench.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FILL = {"<run-id>": "RUN", "<run-a>": "A", "<run-b>": "B", "<model-dir>": "models/x", "<set-dir>": "d",
        "N": "3", "DIR": "d", "...": ""}


def _readme_commands() -> list[str]:
    out = []
    for line in (ROOT / "README.md").read_text().splitlines():
        m = re.match(r"\s+\.venv/bin/bench (.*?)(\s{2,}#.*)?$", line)
        if m:
            out.append(m.group(1))
    return out


def _concrete(cmd: str) -> list[str] | None:
    """The command with placeholders filled; optional [...] parts dropped; alternatives a|b -> a."""
    cmd = re.sub(r"\[[^\]]*\]", "", cmd)
    words = []
    for w in shlex.split(cmd):
        w = FILL.get(w, w)
        if "|" in w and not w.startswith("-"):
            w = w.split("|")[0]
        if w:
            words.append(w)
    return words


@pytest.mark.parametrize("cmd", _readme_commands())
def test_readme_command_parses(cmd):
    argv = _concrete(cmd)
    if argv == ["--help"]:
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(argv)
        assert e.value.code == 0
        return
    if argv and argv[0] == "train":  # the trainer's own options are parsed by the trainer
        argv = argv[:2]
    build_parser().parse_args(argv)


def test_every_command_in_the_cli_doc_exists():
    doc = (ROOT / "docs/cli.md").read_text()
    named = set(re.findall(r"^\s+bench ([a-z]+)", doc, flags=re.M))
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    assert named and named <= set(sub.choices), named - set(sub.choices)
