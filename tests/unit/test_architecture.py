"""The dependency rules of docs/architecture.md, checked on the source (an AST walk over every
import, function-level ones included): imports point down the layers, never up; models know no
board and no run; drivers know no model and no score; results never start a run; training code is
imported only by the commands that train; the runner, the sweep and the CLI name no family."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "bench"

# top-level package (bench.<x>) -> layer; an import may only point to the same or a lower layer
LAYER = {
    "errors": 0, "paths": 0, "bench": 0,
    "link": 1,
    "data": 2, "metrics": 2,
    "models": 3, "tflm": 3, "train": 3, "targets": 3, "images": 3, "imagebuild": 3, "results": 3, "cyclest": 3,
    "families": 4,
    "runner": 5,
    "harness": 6, "farm": 6, "pytest_plugin": 6,
    "cli": 7,
}
# same-layer (or lower) imports that are still forbidden: importer -> packages it must not import
FORBIDDEN = {
    "link": {"data", "metrics"},
    "data": {"metrics"},
    "metrics": set(),
    "models": {"targets", "images", "imagebuild", "results", "cyclest", "train", "link"},
    "tflm": {"targets", "images", "imagebuild", "results", "train", "link"},
    "train": {"targets", "images", "imagebuild", "results", "tflm", "link"},
    "targets": {"models", "metrics", "data", "tflm", "train", "results"},
    "images": {"models", "metrics", "data", "tflm", "train", "results"},
    "imagebuild": {"models", "metrics", "data", "tflm", "train", "results"},
    "results": {"models", "tflm", "train", "images", "imagebuild", "link"},
}
# finer rules on sub-packages: (importer prefix, imported prefix)
FORBIDDEN_MODULES = [
    ("bench.results", "bench.targets.drivers"),  # results read records, never boards
    ("bench.runner", "bench.train"),  # torch only behind the train commands
    ("bench.families", "bench.runner"),
]
FAMILY_NAMES = ("nsnet2", "dyncp", "dsp-baseline", "passthrough", "mpgru")


def _modules():
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        yield name.removesuffix(".__init__"), p


def _imports(path: Path):
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            yield n.module, n.lineno
        elif isinstance(n, ast.Import):
            for a in n.names:
                yield a.name, n.lineno


def _pkg(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "bench":
        return None
    return parts[1] if len(parts) > 1 else "bench"


def _violations():
    out = []
    for mod, path in _modules():
        src = _pkg(mod)
        assert src in LAYER, f"{mod}: package bench.{src} has no layer in this test and docs/architecture.md"
        for imp, line in _imports(path):
            dst = _pkg(imp)
            if dst is None or dst == src:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line}: {mod} imports {imp}"
            assert dst in LAYER, f"{where}: bench.{dst} has no layer"
            if LAYER[dst] > LAYER[src]:
                out.append(f"{where} (layer {LAYER[src]} -> {LAYER[dst]}: an import pointing up)")
            elif dst in FORBIDDEN.get(src, set()) or (src in ("metrics",) and dst not in ("data", "errors", "paths")):
                out.append(f"{where} (bench.{src} must not import bench.{dst})")
            for a, b in FORBIDDEN_MODULES:
                if (mod == a or mod.startswith(a + ".")) and (imp == b or imp.startswith(b + ".")):
                    out.append(f"{where} ({a} must not import {b})")
    return out


def test_imports_follow_the_layers():
    v = _violations()
    assert not v, "\n".join(v)


@pytest.mark.parametrize("package", ["runner", "cli"])
def test_runner_and_cli_name_no_family(package):
    """A family is found through the bench.families entry points; its name never appears in this
    code (docstrings may use one as an example)."""
    hits = []
    for p in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(p.read_text())
        docstrings = {id(b[0].value) for b in (getattr(x, "body", None) for x in ast.walk(tree))
                      if isinstance(b, list) and b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings:
                words = n.value.replace("(", " ").replace(")", " ").replace(",", " ").split()
                hits += [f"{p.relative_to(ROOT.parent)}:{n.lineno}: {w!r}" for w in words
                         if any(w == f or w.startswith(f + "-") for f in FAMILY_NAMES)]
    assert not hits, "\n".join(hits)


def test_the_rules_can_fail(tmp_path, monkeypatch):
    """The walk sees a function-level import that points up (the rule is not vacuous)."""
    bad = tmp_path / "bench" / "models"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text("def f():\n    from bench.runner import Runner\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path / "bench")
    assert any("pointing up" in v for v in _violations())


def test_test_files_have_unique_names():
    """pytest imports test modules by basename (no packages): two test_x.py in tests/unit and
    tests/qemu would make the full run fail at collection."""
    names: dict[str, str] = {}
    for p in sorted((ROOT.parent / "tests").rglob("test_*.py")):
        assert p.name not in names, f"{p} and {names[p.name]} share a name; rename one"
        names[p.name] = str(p)
