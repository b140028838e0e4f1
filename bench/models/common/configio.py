"""(De)serialisation of a family's frozen config dataclass: dict / JSON / config.json / by name.

Shared by bench.models.nsnet2.config and bench.models.dyncp.config; ``label`` is the
family's name in messages ("nsNet2", "DynCP").
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from bench.errors import ConfigError

T = TypeVar("T")


def prod(shape: Iterable[int]) -> int:
    """The number of elements of an array of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    return n


def to_dict(cfg: Any, tuples: Iterable[str] = ()) -> dict[str, Any]:  # noqa: ANN401
    """``dataclasses.asdict`` with the tuple fields named in ``tuples`` as lists."""
    d = dataclasses.asdict(cfg)
    for k in tuples:
        d[k] = list(getattr(cfg, k))
    return d


def from_dict(cls: type[T], d: Mapping[str, Any], label: str, tuples: Iterable[str] = ()) -> T:
    """``cls(**d)`` that names unknown keys and turns the ``tuples`` fields back into tuples."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{label} config: unknown keys {unknown}; known keys are {sorted(known)}")
    kw = dict(d)
    for k in tuples:
        if k in kw:
            kw[k] = tuple(kw[k])
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"{label} config: {exc}") from exc


def to_json(d: Mapping[str, Any]) -> str:
    """The canonical config JSON (indented, keys sorted, newline at the end)."""
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def read_model_dict(path: str | Path, label: str) -> dict[str, Any]:
    """The model config in a config.json: its "model" object, or the whole object."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the {label} config JSON ({exc})") from exc
    if not isinstance(d, dict):
        raise ConfigError(f"{p}: must hold a JSON object")
    return d.get("model", d)


def get_named(name: str, configs: Mapping[str, T], load: Callable[[Path], T], label: str) -> T:
    """A named configuration of ``configs``, or ``load`` of a config.json path."""
    if name in configs:
        return configs[name]
    p = Path(name)
    if p.suffix == ".json" and p.is_file():
        return load(p)
    raise ConfigError(f"unknown {label} config {name!r}; choose one of {sorted(configs)} or pass a config.json path")


C = TypeVar("C", bound="ConfigIO")


class ConfigIO:
    """The (de)serialisation methods of a family's frozen config dataclass; a subclass names itself in
    messages with ``LABEL`` and lists its tuple-valued fields in ``TUPLES``."""

    LABEL: ClassVar[str] = "model"
    TUPLES: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self, self.TUPLES)

    @classmethod
    def from_dict(cls: type[C], d: Mapping[str, Any]) -> C:
        return from_dict(cls, d, cls.LABEL, cls.TUPLES)

    def to_json(self) -> str:
        return to_json(self.to_dict())

    @classmethod
    def load(cls: type[C], path: str | Path) -> C:
        return cls.from_dict(read_model_dict(path, cls.LABEL))


def check_stft(cfg: Any, family: str, fixed: tuple[int, int, int, int]) -> None:  # noqa: ANN401
    """A family's STFT is fixed: (sample_rate, frame_len, hop_len, n_fft) of ``cfg`` must be ``fixed``."""
    got = (cfg.sample_rate, cfg.frame_len, cfg.hop_len, cfg.n_fft)
    if got != fixed:
        sr, n, h, nfft = fixed
        raise ConfigError(
            f"{cfg.name}: {family} is fixed at {sr} Hz, window {n}, hop {h}, "
            f"FFT {nfft} ({nfft // 2 + 1} bins); got {'/'.join(str(v) for v in got)}"
        )
