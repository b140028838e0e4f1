"""The ``example-gain`` family: a plugin registered through the ``bench.families`` entry point by
its test, with its own CONFIGURE key (``level``) and sweep axis (``level``). Nothing outside this
folder knows it exists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.families import ConfigKey, Family, References, SweepAxis, SweepPoint


def gain(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
    level = int(config.get("level", 8))
    return np.clip((np.asarray(noisy, np.int32) * level) >> 3, -32768, 32767).astype(np.int16)


class ExampleGain(Family):
    name = "example-gain"
    description = "output = input x level/8 (tests/example_family)"

    def references(self, model_dir: str | None) -> References:
        return References(self.name, gain, golden=gain, note="numpy: (x * level) >> 3, saturating")

    def config_keys(self, model_dir: str | None) -> Sequence[ConfigKey]:
        return (ConfigKey("level", 0, 16, "gain in eighths"),)

    def sweep_axes(self) -> Mapping[str, SweepAxis]:
        def points(entry: Any, values: str | None, images: Sequence[Any]) -> list[SweepPoint]:
            levels = [int(v) for v in values.split(",")] if values else [4, 8, 12]
            return [SweepPoint(f"level{v}", (("level", v),), attrs={"kind": "static", "level": v}) for v in levels]

        return {"level": SweepAxis("level", "the gain level (--sweep-values, default 4,8,12)", points,
                                   sets_keys=("level",))}
