"""The command surface: one module per top-level command (bench/cli/<name>.py with a Command
named COMMAND), every one registered and listed, and the commands that find a family on their
own (families, quantize, evaluate, train, probes, kernels) wired as documented."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from bench.cli import COMMAND_MODULES, build_parser, main
from bench.cli.base import Command

CLI = Path(__file__).resolve().parents[2] / "bench" / "cli"
HELPERS = {"__init__", "__main__", "base", "views"}  # the modules that are no command


def test_every_command_module_registers():
    on_disk = {p.stem for p in CLI.glob("*.py")} - HELPERS
    assert on_disk == set(COMMAND_MODULES), "a command module is missing from bench.cli.COMMAND_MODULES"
    names = []
    for m in COMMAND_MODULES:
        cls = importlib.import_module(f"bench.cli.{m}").COMMAND
        assert issubclass(cls, Command) and cls.name == m and cls.help
        names.append(cls.name)
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    assert list(sub.choices) == names


def test_each_command_parses_to_its_run():
    p = build_parser()
    argv = {"run": [], "show": ["r"], "targets": [], "boards": [], "images": [], "families": [], "train": ["dyncp"],
            "data": ["check"], "quantize": ["m", "--calib", "c"], "evaluate": ["m"], "export": ["c", "m"],
            "kernels": ["bench"], "search": ["mpgru", "--task", "digits"], "probes": ["evaluate", "m"], "compare": ["a", "b"], "history": [],
            "baseline": ["list"], "gate": [], "report": ["r"], "index": [],
            "farm": ["run", "farm.toml"]}
    assert set(argv) == set(COMMAND_MODULES)
    for name, rest in argv.items():
        a = p.parse_args([name, *rest])
        assert a.command == name and a.func.__self__.name == name


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for m in COMMAND_MODULES:
        assert f"\n    {m} " in text or f"\n    {m}\n" in text, m


def test_families_json_lists_the_installed_families(capsys):
    assert main(["families", "--json"]) == 0
    docs = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert {"passthrough", "dsp-baseline", "nsnet2-ee", "dyncp"} <= set(docs)
    keys = {n: [k["name"] for k in d["config_keys"]] for n, d in docs.items() if d["config_keys"] is not None}
    assert keys["nsnet2-ee"] == ["exit", "policy", "thr_q15", "min_exit", "max_exit"]
    assert {"side", "gain_q8"} <= set(keys["passthrough"]) and "over_q8" in keys["dsp-baseline"]
    assert keys["dyncp"] == []
    exit_key = next(k for k in docs["nsnet2-ee"]["config_keys"] if k["name"] == "exit")
    assert exit_key["lo"] == 0 and exit_key["hi"] >= 1
    axes = {n: [a["name"] for a in d["sweep_axes"]] for n, d in docs.items()}
    assert axes["nsnet2-ee"] == ["exit"] and axes["dyncp"] == ["keep"] and axes["passthrough"] == []
    assert "train" in docs["dyncp"]["steps"] and docs["passthrough"]["steps"] == []


def test_families_table(capsys):
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert "nsnet2-ee" in out and "thr_q15" in out and "keep" in out


def test_quantize_on_a_folder_without_a_model_says_so(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["quantize", str(tmp_path), "--calib", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no trained model" in err and "models/" in err


def test_evaluate_refuses_models_of_two_families(capsys):
    assert main(["evaluate", "nsnet2-small", "dyncp-small-r25", "--no-write"]) == 2
    assert "one family" in capsys.readouterr().err


def test_export_c_out_dir_takes_one_model(tmp_path, capsys):
    assert main(["export", "c", "dyncp-small-r25", "dyncp-small-r50", "--out-dir", str(tmp_path)]) == 2
    assert "--out-dir takes one model" in capsys.readouterr().err


def test_train_accepts_family_and_folder_names():
    p = build_parser()
    assert p.parse_args(["train", "nsnet2-ee"]).family == "nsnet2-ee"
    assert p.parse_args(["train", "nsnet2", "--epochs", "1"]).args == ["--epochs", "1"]
    with pytest.raises(SystemExit):
        p.parse_args(["train", "passthrough"])  # no trainer


def test_probes_and_kernels_forward_their_options(monkeypatch):
    import bench.harness.kernels as hk
    import bench.models.probes.evaluate as pe
    import bench.models.probes.train as pt

    seen = []
    for mod in (pt, pe, hk):
        monkeypatch.setattr(mod, "main", lambda argv, _m=mod.__name__: seen.append((_m, argv)) or 0)
    assert main(["probes", "train", "m1", "m2", "--max-iter", "7", "--no-input-probes"]) == 0
    assert main(["probes", "evaluate", "m1", "--set", "s", "--no-write"]) == 0
    assert main(["kernels", "bench", "--quick", "--seed", "3", "--json"]) == 0
    assert seen == [("bench.models.probes.train", ["m1", "m2", "--no-input-probes", "--max-iter", "7"]),
                    ("bench.models.probes.evaluate", ["m1", "--no-write", "--set", "s"]),
                    ("bench.harness.kernels", ["--quick", "--seed", "3", "--json"])]
