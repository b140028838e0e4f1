"""Host references computed once per (model, utterance, options): a content-addressed cache.

A reference (float model, integer golden model, TFLM) of an utterance depends on the model's files,
the CONFIGURE options, the noisy audio and the reference code itself. The key hashes all four
(the code as the sources of bench/models and bench/families), so a changed model, option, input or
implementation can never be served a stale output. Entries are .npy files under
``$BENCH_CACHE_DIR/refs`` (default ``~/.cache/bench/refs``); delete the folder to clear it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from bench.paths import repo_root

RefFn = Callable[[np.ndarray, Mapping[str, int]], np.ndarray]


def cache_dir() -> Path:
    root = os.environ.get("BENCH_CACHE_DIR")
    if root:
        return Path(root) / "refs"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "bench" / "refs"


@functools.cache
def _code_digest() -> str:
    h = hashlib.sha256()
    base = Path(__file__).resolve().parents[1]
    for sub in ("models", "families", "tflm"):
        for p in sorted((base / sub).rglob("*.py")):
            h.update(str(p.relative_to(base)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@functools.cache
def _model_digest(model_dir: str | None) -> str:
    """The model folder's files (sorted names and bytes); '' without a model folder."""
    if not model_dir:
        return ""
    d = Path(model_dir) if Path(model_dir).is_absolute() else repo_root() / model_dir
    h = hashlib.sha256()
    for p in sorted(d.glob("*")) if d.is_dir() else ():
        if p.is_file() and p.suffix in (".json", ".npz", ".tflite"):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _fn_name(fn: object) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial
    return f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', type(inner).__name__)}"


def cached(kind: str, family: str, model_dir: str | None, fn: RefFn, extra: str = "") -> RefFn:
    """``fn`` with its outputs cached (``kind``: float, golden, tflm; ``extra``: e.g. a .tflite's hash).
    ``BENCH_REF_CACHE=0`` turns the cache off."""
    if os.environ.get("BENCH_REF_CACHE", "1") == "0":
        return fn

    def call(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
        x = np.ascontiguousarray(noisy, np.int16)
        h = hashlib.sha256()
        for part in (kind, family, _fn_name(fn), _model_digest(model_dir), _code_digest(), extra,
                     repr(sorted((str(k), int(v)) for k, v in config.items()))):
            h.update(part.encode() + b"\0")
        h.update(x.tobytes())
        path = cache_dir() / h.hexdigest()[:2] / f"{h.hexdigest()}.npy"
        if path.is_file():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # a damaged entry is recomputed
        out = fn(x, config)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.asarray(out), allow_pickle=False)
        os.replace(tmp, path)
        return out

    return call


@functools.cache
def _metrics_digest() -> str:
    """The metric code and the libraries that compute it (a new version scores anew)."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    base = Path(__file__).resolve().parents[1] / "metrics"
    for p in sorted(base.rglob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    for pkg in ("pesq", "pystoi", "numpy", "scipy"):
        try:
            h.update(f"{pkg}={version(pkg)}".encode())
        except PackageNotFoundError:
            h.update(pkg.encode())
    return h.hexdigest()[:16]


class DiskScoreCache:
    """Metric scores by content (bench.metrics.pool.ScoreCache) under ``<cache>/scores``: the noisy
    input is scored once for every image of every run, a bit-exact target once with its golden."""

    def __init__(self) -> None:
        self.dir = cache_dir().parent / "scores" / _metrics_digest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[dict[str, float], dict[str, str]] | None:
        import json

        try:
            doc = json.loads(self._path(key).read_text())
            return {k: float(v) for k, v in doc["values"].items()}, dict(doc["reasons"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, values: Mapping[str, float], reasons: Mapping[str, str]) -> None:
        import json

        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"values": {k: float(v) for k, v in values.items()}, "reasons": dict(reasons)}))
        os.replace(tmp, p)


def score_cache() -> DiskScoreCache | None:
    """The disk cache of scores, or None with ``BENCH_REF_CACHE=0``."""
    return None if os.environ.get("BENCH_REF_CACHE", "1") == "0" else DiskScoreCache()
