"""The family seam: a family that lives only in tests/example_family/ (a C model, its images TOML
and a Python plugin) registers through the ``bench.families`` entry point of a distribution put on
sys.path, and runs end to end on QEMU through `bench run` and `bench run --sweep` with no edit
anywhere else."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import families
from bench.cli import main
from bench.imagebuild import build_all, write_manifest

pytestmark = pytest.mark.qemu

HERE = Path(__file__).resolve().parent.parent / "example_family"
TARGET = "qemu-mps2-an386-sh"
IMAGE = "example-gain-an386"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The example family installed as a distribution (dist-info with entry_points.txt) and its
    image built into its own manifest folder."""
    d = tmp_path_factory.mktemp("plugin")
    dist = d / "example_gain-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: example-gain\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bench.families]\nexample-gain = example_gain:ExampleGain\n")
    images = d / "images"
    write_manifest(build_all(images, spec_path=HERE / "images.toml"), images)
    sys.path[:0] = [str(d), str(HERE)]
    families.refresh()
    yield images
    sys.path.remove(str(d))
    sys.path.remove(str(HERE))
    families.refresh()


def _run(capsys, *args: str) -> tuple[int, dict]:
    rc = main(list(args))
    out = capsys.readouterr().out
    return rc, json.loads(out) if out.strip().startswith("{") else {}


def test_family_is_found_through_the_entry_point(plugin):
    fam = families.family_for("example-gain")
    assert fam is not None and "level" in fam.sweep_axes()
    assert [k.name for k in fam.config_keys(None)] == ["level"]


def test_bench_run_is_bit_exact_with_the_family_reference(plugin, results_dir, capsys):
    rc, doc = _run(capsys, "run", "--target", TARGET, "--manifest-dir", str(plugin), "--image", IMAGE,
                   "--limit", "2", "--config", "level=4", "--json")
    assert rc == 0, doc
    im = doc["images"][IMAGE]
    assert im["status"] == "done" and im["frames"] > 0
    fid = im["quality"]["fidelity"]
    assert fid["target_vs_golden"]["bit_exact_min"] == 1.0 and fid["target_vs_float"]["bit_exact_min"] == 1.0


def test_out_of_range_option_is_refused_by_the_family_before_the_run(plugin, results_dir, capsys):
    rc = main(["run", "--target", TARGET, "--manifest-dir", str(plugin), "--image", IMAGE, "--config", "level=17"])
    assert rc == 2
    assert "level=17 out of range 0..16" in capsys.readouterr().err.replace("\n", " ")
    assert not results_dir.exists() or not any(results_dir.iterdir())  # nothing created for a refused run


def test_bench_run_sweep_over_the_family_axis(plugin, results_dir, capsys):
    rc, doc = _run(capsys, "run", "--target", TARGET, "--manifest-dir", str(plugin), "--image", IMAGE,
                   "--limit", "1", "--sweep", "level", "--sweep-values", "2,8,16", "--run-id", "sw", "--json")
    assert rc == 0, doc
    rows = {r["point"]: r for r in doc["points"]}
    assert set(rows) == {"level2", "level8", "level16"} and not doc["failed"]
    assert all(r["bit_exact_target_vs_golden"] == 1.0 for r in rows.values())
    assert rows["level8"]["level"] == 8
    assert (results_dir / "sw" / "sweep.png").is_file() and (results_dir / "sw" / "level16" / "run.json").is_file()
