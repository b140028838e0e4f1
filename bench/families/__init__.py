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
           "broken_families", "context_enhancer", "families_with", "family_for", "refs_for"]


@functools.cache
def _discovered() -> tuple[dict[str, type[Family]], dict[str, str]]:
    """(families that load, why the others do not): one broken plugin never hides the rest."""
    out: dict[str, type[Family]] = {}
    broken: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        try:
            out[ep.name] = ep.load()
        except Exception as e:  # noqa: BLE001 -- a third-party plugin may fail in any way
            broken[ep.name] = f"{ep.value}: {type(e).__name__}: {e}"
    return out, broken


def _registry() -> dict[str, type[Family]]:
    return _discovered()[0]


def broken_families() -> dict[str, str]:
    """Installed family plugins that failed to load, with the reason (`bench families` shows them)."""
    return dict(_discovered()[1])


def all_families() -> dict[str, Family]:
    return {name: cls() for name, cls in sorted(_registry().items())}


@functools.cache
def _instance(name: str) -> Family:
    return _registry()[name]()


def family_for(name: str, required: bool = True) -> Family | None:
    """The family registered as ``name``; None (or a ConfigError when ``required``) if none is."""
    if name in _registry():
        return _instance(name)
    if name in broken_families():
        if required:
            raise ConfigError(f"model family '{name}' is installed but does not load ({broken_families()[name]}); "
                              "fix or reinstall its package")
        return None
    if required:
        raise ConfigError(f"no model family '{name}' is installed (known: {', '.join(sorted(_registry()))}); "
                          f"a family is a plugin in the '{GROUP}' entry point group (docs/architecture.md)")
    return None


def families_with(step: str) -> dict[str, Family]:
    """Families that have a model step (``train``, ``search``, ...), under their name and under
    their models/ folder name (``nsnet2`` = ``nsnet2-ee``)."""
    out: dict[str, Family] = {}
    for fam in all_families().values():
        if fam.has_step(step):
            out[fam.name] = fam
            if fam.models_subdir:
                out.setdefault(fam.models_subdir, fam)
    return out


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
    _discovered.cache_clear()
    _instance.cache_clear()
