"""What a model family supplies to the bench: the seam between the generic runner / sweep / CLI and
one family's models (docs/architecture.md, "a new family").

A family is a plugin: a subclass of :class:`Family` registered under the ``bench.families`` entry
point group with the name an image's manifest gives as ``model_family``. Everything has a default,
so a minimal family names itself and its float reference and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import ConfigError

if TYPE_CHECKING:
    from bench.images import ImageEntry
    from bench.results.store import Run

RefFn = Callable[[np.ndarray, Mapping[str, int]], np.ndarray]
# (noisy, config, .tflite path) -> int16 audio: TFLM's interpreter as the integer reference
TflmFn = Callable[[np.ndarray, Mapping[str, int], Path], np.ndarray]


@dataclass(frozen=True)
class References:
    """Host references of one model: int16 audio aligned with the input, as the runner stores
    the target's output. ``golden`` is the bit-exact integer spec of the C (None: no such model);
    ``tflm`` is used instead of ``golden`` when the image's manifest names a .tflite."""

    family: str
    float_ref: RefFn
    golden: RefFn | None = None
    note: str = ""
    tflm: TflmFn | None = None


@dataclass(frozen=True)
class ConfigKey:
    """One CONFIGURE key: integer range (inclusive) and meaning. The firmware's own range check
    stays as the device-side guard; this is the host-side one, checked before a run starts."""

    name: str
    lo: int
    hi: int
    doc: str = ""

    def check(self, family: str, value: int) -> None:
        if not self.lo <= int(value) <= self.hi:
            raise ConfigError(f"{family}: option {self.name}={value} out of range {self.lo}..{self.hi} ({self.doc})")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: an ordinary run of ``image`` (None: the sweep's image) with extra
    CONFIGURE options; ``attrs`` are the axis' own columns (e.g. exit, threshold, keep ratio)."""

    label: str
    configure: tuple[tuple[str, int], ...] = ()
    image: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepAxis:
    """A sweep axis of a family. ``points(entry, values, images)`` gives the points for the
    sweep's image ``entry``; ``values`` is the user's --sweep-values text (None: the axis'
    defaults); ``images`` are the images the target has (for axes over images). ``sets_keys``
    are CONFIGURE keys the axis sets itself (refused in --config)."""

    name: str
    doc: str
    points: Callable[[ImageEntry, str | None, Sequence[ImageEntry]], list[SweepPoint]]
    sets_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """A table as plain data, rendered by the CLI (rich) and the reports (HTML / Markdown)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


class Family:
    """Defaults for everything; subclasses override what their family has."""

    name: str = ""
    description: str = ""
    models_subdir: str | None = None  # models/<subdir>/<model>/ holds this family's trained models
    default_model: str | None = None  # repo-relative model folder used when an image names none
    context_enhancer: bool = False  # its float reference is the run's classic-enhancer baseline (context.json)
    speech_enhancer: bool = True  # its images enhance audio: part of a plain `bench run` over a speech set

    # ---- references and options ------------------------------------------------------
    def references(self, model_dir: str | None) -> References | None:
        """Float / golden / TFLM references of the model an image was built from (None: none)."""
        return None

    def config_keys(self, model_dir: str | None) -> Sequence[ConfigKey]:
        """The CONFIGURE keys and ranges (may depend on the model, e.g. its number of exits)."""
        return ()

    def check_config(self, config: Sequence[tuple[str, int]], model_dir: str | None) -> None:
        """Refuse an unknown key or a value out of range before anything is flashed. The
        default checks every key against :meth:`config_keys`."""
        keys = {k.name: k for k in self.config_keys(model_dir)}
        for k, v in config:
            if k not in keys:
                known = ", ".join(keys) or "none"
                raise ConfigError(f"{self.name}: unknown option {k!r}; options are {known}")
            keys[k].check(self.name, v)

    # ---- sweeps ------------------------------------------------------------------------
    def sweep_axes(self) -> Mapping[str, SweepAxis]:
        return {}

    # ---- per-family view of a finished run ---------------------------------------------
    def write_views(self, run: Run, images: Sequence[ImageEntry], utterances: Sequence[Any]) -> None:
        """After every image of the run: write this family's view of its finished images
        (through the store: ``run.write_view``). Default: none."""

    def view_tables(self, image: str, view: Mapping[str, Any], unit: str) -> list[TableSpec]:
        """The view written by :meth:`write_views` as tables for ``bench run`` / ``bench show``."""
        return []

    def summary_figures(self, view: Mapping[str, Any]) -> dict[str, str]:
        """Extra cells of the image's row in the run's summary table (e.g. a dynamic model's saving)."""
        return {}

    # ---- model-level steps (bench quantize / export / evaluate / train) ----------------
    def owns_model(self, model_dir: Path) -> bool:
        """True when ``model_dir`` holds a model of this family (used by the step commands)."""
        return False

    def quantize(self, model_dir: Path, calib: Sequence[Any], meta: dict[str, Any], out: Path | None) -> str:
        raise ConfigError(f"{self.name}: this family has no quantizer")

    def export_c(self, model_dir: Path, out_dir: Path | None) -> list[Path]:
        raise ConfigError(f"{self.name}: this family has no C exporter")

    def export_tflite(self, model_dir: Path, exit_: int | None) -> tuple[bytes, dict[str, Any], str]:
        raise ConfigError(f"{self.name}: this family has no TFLM exporter")

    def evaluate(self, model_dirs: Sequence[Path], set_path: str | None, limit: int | None,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """Host-side evaluation of trained models: (JSON document, Markdown table)."""
        raise ConfigError(f"{self.name}: this family has no host evaluation")

    def train(self, argv: Sequence[str]) -> int:
        raise ConfigError(f"{self.name}: this family has no trainer")

    def search(self, argv: Sequence[str]) -> int:
        """A search over the family's model configurations (`bench search FAMILY ...`)."""
        raise ConfigError(f"{self.name}: this family has no search")

    def has_step(self, step: str) -> bool:
        """True when this family's class overrides the default of ``step`` (quantize, train, ...)."""
        return getattr(type(self), step) is not getattr(Family, step)


def loads_as(config_cls: Any, model_dir: Path) -> bool:
    """True when ``model_dir``'s config.json loads as ``config_cls`` (for Family.owns_model)."""
    if not (Path(model_dir) / "config.json").is_file():
        return False
    try:
        config_cls.load(Path(model_dir) / "config.json")
    except (ConfigError, OSError, ValueError, TypeError, KeyError):
        return False
    return True
