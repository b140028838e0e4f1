"""models/candidates-issue18/scripts/interp_weights.py: the weight interpolation that made the reported
dyncp-full r25 (-wi75). Exact at both ends, linear between, and it refuses two architectures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "models/candidates-issue18/scripts/interp_weights.py"


def _load():
    spec = importlib.util.spec_from_file_location("interp_weights", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _model(d: Path, seed: int, conv: int = 8) -> Path:
    d.mkdir()
    rng = np.random.default_rng(seed)
    np.savez(d / "weights.npz", a=rng.standard_normal((conv, 3)).astype(np.float32),
             b=rng.standard_normal(conv).astype(np.float32))
    (d / "config.json").write_text(json.dumps({"model": {"conv": conv}, "result": {"steps": seed}}))
    return d


def test_ends_are_exact_and_the_middle_is_linear(tmp_path: Path) -> None:
    m = _load()
    a, b = _model(tmp_path / "a", 1), _model(tmp_path / "b", 2)
    for t in (0.0, 0.75, 1.0):
        out = tmp_path / f"o{t}"
        m.interpolate(a, b, t, out)
        w, wa, wb = np.load(out / "weights.npz"), np.load(a / "weights.npz"), np.load(b / "weights.npz")
        for k in ("a", "b"):
            want = wa[k] if t == 0.0 else wb[k] if t == 1.0 else \
                ((1 - t) * wa[k].astype(np.float64) + t * wb[k].astype(np.float64)).astype(np.float32)
            np.testing.assert_array_equal(w[k], want)
        cfg = json.loads((out / "config.json").read_text())
        assert cfg["interpolation"]["a"] == t and "result" not in cfg
        assert (out / "COMMAND.txt").read_text().startswith(f"python {SCRIPT.relative_to(SCRIPT.parents[3])}")


def test_refuses_two_architectures_and_a_weight_outside_0_1(tmp_path: Path) -> None:
    m = _load()
    a, b = _model(tmp_path / "a", 1), _model(tmp_path / "b", 2, conv=16)
    with pytest.raises(SystemExit, match="different architectures"):
        m.interpolate(a, b, 0.5, tmp_path / "o")
    c = _model(tmp_path / "c", 3)
    with pytest.raises(SystemExit, match=r"\[0, 1\]"):
        m.interpolate(a, c, 1.5, tmp_path / "o")
