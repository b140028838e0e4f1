"""The error catalogue (#16, docs/errors.md), configuration: every refusal of a target TOML, an images
TOML, a farm TOML, a command-line option or a family step that a user can meet, provoked through the
public path (load_target, load_spec, load_farm, `bench ...` through bench.cli.main), each checked for
what went wrong and what to do."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main
from bench.errors import BenchError, ConfigError
from bench.farm.spec import load_farm
from bench.imagebuild import check_spec, load_spec
from bench.paths import repo_root
from bench.targets import load_target
from bench.targets.spec import parse_target

ROOT = repo_root()


def _target_data(name: str = "qemu-mps2-an386") -> dict[str, Any]:
    return tomllib.loads((ROOT / "targets" / f"{name}.toml").read_text())


def _write_target(tmp_path: Path, data: dict[str, Any], name: str = "t.toml") -> str:
    """A target TOML written from a dict (tables as tables)."""
    lines, tables = [], []
    for k, v in data.items():
        (tables if isinstance(v, dict) else lines).append((k, v))

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return repr(v)

    out = [f"{k} = {val(v)}" for k, v in lines]
    for k, t in tables:
        out.append(f"[{k}]")
        out += [f"{kk} = {val(vv)}" for kk, vv in t.items()]
    p = tmp_path / name
    p.write_text("\n".join(out) + "\n")
    return str(p)


class Said(str):
    """A command's output; `text in said` ignores where the terminal wrapped the lines."""

    def __contains__(self, text: object) -> bool:
        return "".join(str(text).split()) in "".join(self.split())


# ---- target TOMLs ---------------------------------------------------------------------------------

def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *tables, key = path.split(".")
    d = data
    for t in tables:
        d = d[t]
    d[key] = value
    return data


@pytest.mark.parametrize("path,value,match", [
    ("counter", 3, r"t\.toml: counter must be a table \(\[counter\] with its keys\), got 3"),
    ("name", 3, r"t\.toml: name must be a non-empty string, got 3"),
    ("board", " ", r"board must be a non-empty string"),
    ("counter.kind", "cyc", r"t\.toml \[counter\]: counter\.kind must be one of .*'instructions'.*got 'cyc'"),
    ("qemu.cycles_est", "yes", r"\[qemu\]: cycles_est must be true or false, got 'yes'"),
    ("qemu.cycles_ws", 500, r"\[qemu\]: cycles_ws must be an integer 0\.\.200 \(flash wait states\), got 500"),
    ("qemu.cycles_flash", [0], r"\[qemu\]: cycles_flash must be \[base, size\] \(integers\), got \[0\]"),
])
def test_target_toml_values(tmp_path, path, value, match):
    with pytest.raises(ConfigError, match=match):
        load_target(_write_target(tmp_path, _set(_target_data(), path, value)))


def test_target_that_is_not_a_table():
    with pytest.raises(ConfigError, match=r"x\.toml: a target must be a TOML table, got list"):
        parse_target([], where="x.toml")  # type: ignore[arg-type]


@pytest.mark.parametrize("field,match", [
    ("clock_hz", r"target qemu-mps2-an386: clock_hz must be positive"),
    ("cpi_estimate", r"target qemu-mps2-an386: cpi\.estimate must be positive"),
])
def test_target_spec_built_in_code_is_checked(field, match):
    """A TargetSpec built by a plugin or a script (not from a TOML) is checked too."""
    spec = load_target("qemu-mps2-an386")
    with pytest.raises(ConfigError, match=match):
        dataclasses.replace(spec, **{field: 0})


def test_pyocd_options_must_be_a_table(tmp_path):
    data = _set(_target_data("nucleo-f429zi"), "pyocd.options", 3)
    with pytest.raises(ConfigError, match=r"\[pyocd\]: options must be a table of pyOCD session options"):
        load_target(_write_target(tmp_path, data))


# ---- images TOML ----------------------------------------------------------------------------------

BOARD = {"cflags": ["-O2"], "sources": ["a.c"], "include": ["inc"], "ldscript": "x.ld"}
IMAGE = {"name": "i", "board": "b", "model_family": "passthrough", "sources": ["m.c"]}


@pytest.mark.parametrize("spec,match", [
    ({"boards": 3, "image": [IMAGE]}, r"w\.toml: boards must be tables \[boards\.<board>\]"),
    ({"boards": {"b": 3}, "image": [IMAGE]}, r"w\.toml \[boards\.b\]: must be a table with cflags, sources"),
    ({"boards": {"b": {"cflags": []}}, "image": [IMAGE]},
     r"\[boards\.b\]: missing key\(s\) \['sources', 'include', 'ldscript'\]"),
    ({"boards": {"b": {**BOARD, "include": "inc"}}, "image": [IMAGE]},
     r"\[boards\.b\]: include must be a list of strings, got 'inc'"),
    ({"boards": {"b": {**BOARD, "ldscript": ["x.ld"]}}, "image": [IMAGE]},
     r"\[boards\.b\]: ldscript must be a string \(a path from the repository root\)"),
    ({"boards": {"b": BOARD}, "image": [3]}, r"w\.toml: image 0 must be a table \(\[\[image\]\]\)"),
    ({"boards": {"b": BOARD}, "image": [{**IMAGE, "description": 5}]},
     r"\[\[image\]\] 'i': description must be a string, got 5"),
    ({"boards": {"b": BOARD}, "image": [IMAGE, IMAGE]}, r"names must be unique file names, 'i' is not"),
    ({"boards": {"b": BOARD}, "image": [{**IMAGE, "name": "a/b"}]}, r"names must be unique file names, 'a/b'"),
])
def test_images_toml_shape(spec, match):
    with pytest.raises(ConfigError, match=match):
        check_spec(spec, "w.toml")


def test_images_toml_that_does_not_exist_or_has_bad_boards(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such images TOML"):
        load_spec(tmp_path / "nope.toml")
    p = tmp_path / "fam.toml"
    p.write_text('boards = "stm32"\n[[image]]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"fam\.toml: boards must be tables \[boards\.<board>\]"):
        load_spec(p)


def test_images_toml_source_pattern_that_matches_nothing(tmp_path, capsys):
    from bench.cli import main

    spec = tmp_path / "cands.toml"
    spec.write_text('[[image]]\nname = "x-an386"\nboard = "mps2-an386"\napp = "agent"\nmodel_family = "passthrough"\n'
                    'sources = ["no/such/*.c"]\n')
    assert main(["images", "build", "--spec", str(spec), "--out", str(tmp_path / "out")]) == 2
    flat = "".join(capsys.readouterr().err.split())  # the console wraps long paths anywhere
    assert "".join("cands.toml, image x-an386: 'no/such/*.c' matches no file".split()) in flat
    assert main(["images", "build", "--spec", str(spec)]) == 2
    assert "give --spec FILE and --out DIR together" in " ".join(capsys.readouterr().err.split())


# ---- farm TOML ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,match", [
    ('[farm]\nnightly = true\n[[place]]\nname = "a"\ntarget = "t"\n',
     r"unknown key farm\.nightly \(known: name, limit"),
    ('[farm]\nname = "my farm"\n[[place]]\nname = "a"\ntarget = "t"\n',
     r"farm\.name must be letters, digits, '-', '_' or '\.'"),
    ('[farm]\nname = "f"\n', r"no \[\[place\]\] tables; each place needs name and target"),
    ('[[place]]\nname = "a"\ntarget = "t"\nboard = "x"\n', r"place 0: unknown key board \(known: name, target"),
    ('[[place]]\nname = "a"\n', r"place 0 needs name and target"),
    ('[[place]]\nname = "a"\ntarget = "t"\n[[place]]\nname = "a"\ntarget = "u"\n',
     r"place name 'a' must be unique letters, digits"),
    ('[[place]]\nname = "a"\ntarget = "t"\ntimeout = 0\n', r"place a: timeout must be positive and retries 0 or more"),
    ('[[place]]\nname = "a"\ntarget = "t"\nlimit = "four"\n', r"place a: limit must be an integer, got 'four'"),
    ('[[place]]\nname = "a"\ntarget = "t"\nretries = 1.5\n', r"place a: retries must be an integer, got 1\.5"),
    ('[farm]\nfail_nights = "3"\n[[place]]\nname = "a"\ntarget = "t"\n', r"farm\.fail_nights must be an integer"),
    ('place = [3]\n', r"place 0 must be a table \(\[\[place\]\]\)"),
    ('[[place]]\nname = "a"\ntarget = "t"\ntimeout = "1h"\n', r"place a: timeout must be a number \(seconds\)"),
    ("[[place]\n", r"farm\.toml: not valid TOML: .*\(at line 1, column 8\); fix the syntax"),
])
def test_farm_toml(tmp_path, text, match):
    p = tmp_path / "farm.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_farm(p)


def test_farm_file_that_does_not_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"no farm file .*missing\.toml"):
        load_farm(tmp_path / "missing.toml")


# ---- bench run options (bench.cli.main: exit 2 and the message) -----------------------------------

@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))

    def run(*argv: str) -> str:
        rc = main(list(argv))
        out = capsys.readouterr()
        assert rc == 2, (rc, out.out[-2000:], out.err[-2000:])
        return Said(out.out + out.err)

    return run


@pytest.mark.parametrize("argv,text", [
    (["--window", "0"], "--window must be at least 1"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--jobs", "-1"], "--jobs must be 0 (automatic) or more"),
    (["--link-timeout", "0"], "--link-timeout must be positive (seconds without any reply)"),
    (["--link-retries", "-1"], "--link-retries must be 0 or more"),
    (["--link-faults", "bre=1e-3"], "--link-faults:"),
    (["--config", "exit"], "--config expects key=integer, got 'exit'"),
    (["--probe", "0669FF", "--target", "qemu-mps2-an386"],
     "--probe picks a debug probe; target qemu-mps2-an386 has driver 'qemu'"),
    (["--sweep", "exit", "--resume", "r1"], "--sweep cannot --resume; start the sweep again"),
    (["--sweep", "exit", "--sweep-values", "600,high", "--image", "nsnet2-small-an386"],
     "--sweep-values expects comma-separated integers thr_q15, got '600,high'"),
    (["--image", "dyncp-small-r25-an386", "--config", "keep=2", "--limit", "1"],
     "dyncp: the images take no options (got keep); run them without --config"),
    (["--sweep", "keep", "--sweep-values", "dyncp-small-r33-an386", "--image", "dyncp-small-r25-an386"],
     "--sweep keep: no dyncp image dyncp-small-r33-an386 for board mps2-an386"),
])
def test_run_options(cli, argv, text):
    assert text in cli("run", *argv)


def test_run_with_no_image_for_the_target(cli, tmp_path):
    import json

    (tmp_path / "m").mkdir()
    doc = json.loads((ROOT / "firmware_images" / "manifest.json").read_text())
    doc["images"] = [e for e in doc["images"] if e["board"] != "mps2-an386"]
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(doc))
    out = cli("run", "--manifest-dir", str(tmp_path / "m"), "--limit", "1")
    assert "no bench image for target qemu-mps2-an386-sh (board mps2-an386)" in out
    assert "build them with `bench images build`" in out


def test_link_faults_reason_is_given():
    from bench.runner.options import RunOptions

    with pytest.raises(BenchError, match=r"--link-faults: .*bre"):
        RunOptions(link_faults="bre=1e-3")


@pytest.mark.parametrize("argv,text", [
    (["compare", "r1", "r2", "--baseline"], "bench compare RUN --baseline takes one run"),
    (["compare", "r1"], "bench compare needs two runs (ids or paths): bench compare A B, or RUN --baseline"),
])
def test_compare_arguments(cli, argv, text):
    assert text in cli(*argv)


# ---- families -------------------------------------------------------------------------------------

def test_unknown_family():
    from bench.families import family_for

    with pytest.raises(ConfigError, match=r"no model family 'nsnet3' is installed \(known: .*dyncp.*\); a family is a "
                                          r"plugin in the 'bench\.families' entry point group"):
        family_for("nsnet3")


def test_family_that_does_not_load(monkeypatch):
    from bench import families

    monkeypatch.setattr(families, "broken_families", lambda: {"gain": "ImportError: no module named 'gainlib'"})
    with pytest.raises(ConfigError, match=r"model family 'gain' is installed but does not load \(ImportError: no "
                                          r"module named 'gainlib'\); fix or reinstall its package"):
        families.family_for("gain")


@pytest.mark.parametrize("step,args,match", [
    ("quantize", (Path("m"), [], {}, None), "this family has no quantizer"),
    ("export_c", (Path("m"), None), "this family has no C exporter"),
    ("export_tflite", (Path("m"), None), "this family has no TFLM exporter"),
    ("evaluate", ([Path("m")], None, None, {}), "this family has no host evaluation"),
    ("train", ([],), "this family has no trainer"),
    ("search", ([],), "this family has no search"),
])
def test_family_without_a_step_says_so(step, args, match):
    from bench.families import family_for

    fam = family_for("passthrough")
    assert not fam.has_step(step)
    with pytest.raises(ConfigError, match=f"passthrough: {match}"):
        getattr(fam, step)(*args)


def test_evaluate_takes_one_nsnet2_model(cli):
    models = ROOT / "models" / "nsnet2"
    out = cli("evaluate", str(models / "nsnet2-small"), str(models / "nsnet2-small-linear"), "--limit", "1")
    assert "nsnet2-ee: evaluate takes one model directory; run `bench evaluate` once per nsnet2 model folder" in out


def test_dsp_baseline_reference_refuses_an_option():
    """The host reference of dsp-baseline checks an option like the firmware does (a plugin or a script
    calling it directly, past the family's range check)."""
    import numpy as np

    from bench.families.baseline import enhance

    with pytest.raises(ConfigError, match=r"dsp-baseline: option no_such=1 refused by the reference model; `bench "
                                          r"families` lists its options and their ranges"):
        enhance(np.zeros(512, np.int16), {"no_such": 1})
