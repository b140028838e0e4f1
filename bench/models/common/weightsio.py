"""A family model's files: config.json and weights.npz (float32, PyTorch names; no pickle).

Shared by bench.models.nsnet2.reference and bench.models.dyncp.reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError

F32 = np.float32
WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "config.json"


def check_params(name: str, want: Mapping[str, tuple[int, ...]], params: Mapping[str, np.ndarray]) -> None:
    """``params`` has exactly the arrays ``want`` names, in its shapes, all finite."""
    missing = sorted(set(want) - set(params))
    extra = sorted(set(params) - set(want))
    if missing or extra:
        raise ConfigError(
            f"{name}: weights do not match the config (missing {missing[:4]}, unexpected "
            f"{extra[:4]}); export the weights of this config again"
        )
    for k, shape in want.items():
        if tuple(params[k].shape) != shape:
            raise ConfigError(f"{name}: {k} has shape {tuple(params[k].shape)}, config needs {shape}")
        if not np.all(np.isfinite(params[k])):
            raise ConfigError(f"{name}: {k} holds non-finite values")


def require_files(d: Path, files: Iterable[str], family: str) -> None:
    for f in files:
        if not (d / f).is_file():
            raise ConfigError(f"{d}: no {f}; train and export the model first (bench train {family})")


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """Every array of a weights.npz as float32."""
    with np.load(path, allow_pickle=False) as z:
        return {k: np.asarray(z[k], dtype=F32) for k in z.files}


def save_model(
    d: Path,
    model_config: Mapping[str, Any],
    params: Mapping[str, np.ndarray],
    extra_config: Mapping[str, object] | None = None,
) -> None:
    """Write ``d/config.json`` ({"model": ..., **extra_config}) and ``d/weights.npz`` (keys sorted)."""
    d.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {"model": dict(model_config)}
    if extra_config:
        doc.update(extra_config)
    (d / CONFIG_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    arrays: dict[str, Any] = {k: np.asarray(v, F32) for k, v in sorted(params.items())}
    np.savez(d / WEIGHTS_FILE, **arrays)
