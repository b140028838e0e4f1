"""The ``passthrough`` family: output = input (x gain_q8 / 256); measures the agent's overhead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.families.base import ConfigKey, Family, References


def identity(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
    gain = int(config.get("gain_q8", 256))
    return np.clip((noisy.astype(np.int32) * gain) >> 8, -32768, 32767).astype(np.int16)


class Passthrough(Family):
    name = "passthrough"
    description = "output = input (x gain_q8/256): the agent's own overhead and the protocol tests"

    def references(self, model_dir: str | None) -> References:
        return References(self.name, identity, note="output = input (x gain_q8/256)")

    def config_keys(self, model_dir: str | None) -> Sequence[ConfigKey]:
        return (ConfigKey("side", 0, 1, "1: deterministic EXIT and MASK side information per frame"),
                ConfigKey("gain_q8", 0, 65536, "output gain x/256, saturating"))
