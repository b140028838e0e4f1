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


QUANT_FILE = "int8.npz"


def quant_path(path: str | Path) -> Path:
    """A quantised model's file: ``path`` itself, or ``path``/int8.npz for a model folder."""
    p = Path(path)
    return p / QUANT_FILE if p.is_dir() else p


def save_quant(path: str | Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Path:
    """int8.npz: the integer arrays plus one JSON ``meta`` entry (sorted keys: byte-identical saves)."""
    p = quant_path(path)
    out = dict(arrays)
    out["meta"] = np.array(json.dumps(meta, sort_keys=True))
    with open(p, "wb") as f:
        np.savez(f, **dict(sorted(out.items())))  # type: ignore[arg-type]
    return p


def load_quant(path: str | Path, fmt: str) -> tuple[Path, dict[str, np.ndarray], dict[str, Any]]:
    """(file, arrays, meta) of an int8.npz whose meta names format ``fmt``; clear errors otherwise."""
    p = quant_path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no quantised model; make it with `bench quantize <model dir> --calib <set>`")
    with np.load(p, allow_pickle=False) as z:
        arr = {k: np.asarray(z[k]) for k in z.files}
    meta = json.loads(str(arr.pop("meta")))
    if meta.get("format") != fmt:
        raise ConfigError(f"{p}: format {meta.get('format')!r} is not {fmt!r}; quantise the model again")
    return p, arr, meta
