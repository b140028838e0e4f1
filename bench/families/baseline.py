"""The ``dsp-baseline`` family: the classic enhancer (bench.models.baseline), whose float32 numpy
mirror is both its reference and the bit-exact specification of the C code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.errors import ConfigError
from bench.families.base import ConfigKey, Family, References


def enhance(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
    from bench.models.baseline import HOP_LEN, SpectralGate

    sg = SpectralGate()
    for k, v in config.items():
        if sg.configure(k, v) != 0:
            raise ConfigError(f"dsp-baseline: option {k}={v} refused by the reference model; `bench families` "
                              "lists its options and their ranges")
    padded = np.concatenate([np.asarray(noisy, np.int16), np.zeros(HOP_LEN, np.int16)])
    return sg.enhance(padded)[HOP_LEN: HOP_LEN + len(noisy)]


class DspBaseline(Family):
    name = "dsp-baseline"
    description = "classic DSP enhancer: min-statistics noise tracker, decision-directed Wiener gain"
    context_enhancer = True

    def references(self, model_dir: str | None) -> References:
        return References(self.name, enhance,
                          note="float32 numpy mirror; it is also the bit-exact specification of the C code")

    def config_keys(self, model_dir: str | None) -> Sequence[ConfigKey]:
        from bench.models.baseline import OPTIONS

        return tuple(ConfigKey(k, lo, hi, f"default {default}") for k, (lo, hi, default) in OPTIONS.items())
