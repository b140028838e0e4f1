"""Fine-tuning from an exported model (``--init``) and the set's command in config.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))

from train_run import TESTSET, tiny_run  # noqa: E402

import bench.train.dyncp as tr  # noqa: E402
import bench.train.nsnet2 as trn  # noqa: E402
from bench.train.common import recipe_json, set_command  # noqa: E402


def _run(tmp_path: Path, name: str, *extra: str) -> int:
    return tiny_run(tr.main, tmp_path, name, ["--config", "dyncp-tiny", "--keep-ratio", "0.5"], 20, *extra)


def test_init_starts_from_the_given_weights(tmp_path: Path) -> None:
    assert _run(tmp_path, "a") == 0
    src = tmp_path / "a" / "out"
    # no steps' worth of learning: lr tiny, so the result stays next to the initial weights
    assert _run(tmp_path, "b", "--init", str(src), "--lr", "1e-9", "--lr-final", "1e-9") == 0
    with np.load(src / "weights.npz") as za, np.load(tmp_path / "b" / "out" / "weights.npz") as zb:
        for k in za.files:
            assert np.allclose(za[k], zb[k], atol=1e-6), k
    doc = json.loads((tmp_path / "b" / "out" / "config.json").read_text())
    assert doc["train"]["init"] == str(src)
    assert doc["data"]["generator"] == set_command(TESTSET)
    assert "initialised from" in (tmp_path / "b" / "out" / "train.log").read_text()


def test_init_of_another_topology_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = ["--config", "nsnet2-tiny"] if "nsnet2-tiny" in _nsnet2_configs() else ["--config", "nsnet2-small"]
    assert tiny_run(trn.main, tmp_path, "n", head, 20) == 0
    assert _run(tmp_path, "c", "--init", str(tmp_path / "n" / "out")) == 1
    assert "not this model's topology" in capsys.readouterr().err
    assert _run(tmp_path, "d", "--init", str(tmp_path / "nowhere")) == 1
    assert "no weights.npz" in capsys.readouterr().err


def test_a_gated_model_starts_from_its_static_parent(tmp_path: Path) -> None:
    """r50/r25 fine-tuned from r100: every weight but the gates' comes from the parent; the gates start
    from their initialisation (the parent has none)."""
    head = ["--config", "dyncp-tiny", "--keep-ratio", "1.0"]  # ungated: no gate parameters
    assert tiny_run(tr.main, tmp_path, "s", head, 20) == 0
    src = tmp_path / "s" / "out"
    assert _run(tmp_path, "g", "--init", str(src), "--lr", "1e-9", "--lr-final", "1e-9") == 0
    with np.load(src / "weights.npz") as za, np.load(tmp_path / "g" / "out" / "weights.npz") as zb:
        assert set(za.files) < set(zb.files)
        assert all(".gate." in k for k in set(zb.files) - set(za.files))
        for k in za.files:
            assert np.allclose(za[k], zb[k], atol=1e-6), k
    assert "gate parameters start from their initialisation" in (tmp_path / "g" / "out" / "train.log").read_text()


def test_nsnet2_init_keeps_the_initial_normalisation(tmp_path: Path) -> None:
    head = ["--config", "nsnet2-tiny"] if "nsnet2-tiny" in _nsnet2_configs() else ["--config", "nsnet2-small"]
    assert tiny_run(trn.main, tmp_path, "a", head, 20) == 0
    src = tmp_path / "a" / "out"
    assert tiny_run(trn.main, tmp_path, "b", head, 20, "--init", str(src)) == 0
    with np.load(src / "norm.npz") as za, np.load(tmp_path / "b" / "out" / "norm.npz") as zb:
        assert np.array_equal(za["mean"], zb["mean"]) and np.array_equal(za["std"], zb["std"])


def test_recipes_without_init_match_older_checkpoints() -> None:
    assert recipe_json('{"steps": 4, "init": ""}') == recipe_json('{"steps": 4}')
    assert recipe_json('{"steps": 4, "init": "m"}') != recipe_json('{"steps": 4}')


def _nsnet2_configs() -> tuple[str, ...]:
    from bench.models.nsnet2.config import CONFIGS

    return tuple(CONFIGS)
