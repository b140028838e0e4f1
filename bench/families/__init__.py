"""Model families as plugins: the ``bench.families`` entry point group maps an image's
``model_family`` to a :class:`bench.families.base.Family` subclass. The runner, the sweep and
the CLI find a family here and never name one.

Built-in families (registered in pyproject.toml): passthrough, dsp-baseline, nsnet2-ee, dyncp.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from bench.errors import ConfigError
from bench.families.base import ConfigKey, Family, References, SweepAxis, SweepPoint, TableSpec

GROUP = "bench.families"

__all__ = ["ConfigKey", "Family", "References", "SweepAxis", "SweepPoint", "TableSpec", "all_families",
           "context_enhancer", "family_for", "refs_for"]


@functools.cache
def _registry() -> dict[str, type[Family]]:
    out: dict[str, type[Family]] = {}
    for ep in entry_points(group=GROUP):
        out[ep.name] = ep.load()
    return out


def all_families() -> dict[str, Family]:
    return {name: cls() for name, cls in sorted(_registry().items())}


@functools.cache
def _instance(name: str) -> Family:
    return _registry()[name]()


def family_for(name: str, required: bool = True) -> Family | None:
    """The family registered as ``name``; None (or a ConfigError when ``required``) if none is."""
    if name in _registry():
        return _instance(name)
    if required:
        raise ConfigError(f"no model family '{name}' is installed (known: {', '.join(sorted(_registry()))}); "
                          f"a family is a plugin in the '{GROUP}' entry point group (docs/architecture.md)")
    return None


def context_enhancer() -> Family | None:
    """The family whose float reference is every run's classic-enhancer baseline, if one is installed."""
    return next((f for f in all_families().values() if f.context_enhancer), None)


def refs_for(family: str, model_dir: str | None = None) -> References | None:
    """The host references of ``family`` for the model in ``model_dir`` (an image's manifest
    ``model_dir``; None: the family's default model); None when no such family is installed."""
    fam = family_for(family, required=False)
    return fam.references(model_dir) if fam is not None else None


def refresh() -> None:
    """Forget the discovered plugins (after a test puts a new distribution on sys.path)."""
    _registry.cache_clear()
    _instance.cache_clear()
