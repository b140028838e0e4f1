"""Host references per model family: what each image's output is compared with.

`float_ref(noisy, config)` is the family's float reference and `golden(noisy, config)` its
integer golden model (None where the family has none); both return int16 audio aligned with
the input (the model's delay removed), exactly as the runner stores the target's output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import ConfigError

RefFn = Callable[[np.ndarray, Mapping[str, int]], np.ndarray]
# (noisy, config, .tflite path) -> int16 audio: TFLM's interpreter as the integer reference
TflmFn = Callable[[np.ndarray, Mapping[str, int], Path], np.ndarray]


@dataclass(frozen=True)
class FamilyRefs:
    family: str
    float_ref: RefFn
    golden: RefFn | None = None
    note: str = ""
    tflm: TflmFn | None = None  # used instead of golden when the image's manifest names a .tflite


def _identity(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
    gain = int(config.get("gain_q8", 256))
    return np.clip((noisy.astype(np.int32) * gain) >> 8, -32768, 32767).astype(np.int16)


def _dsp_baseline(noisy: np.ndarray, config: Mapping[str, int]) -> np.ndarray:
    from bench.models.baseline import HOP_LEN, SpectralGate

    sg = SpectralGate()
    for k, v in config.items():
        if sg.configure(k, v) != 0:
            raise ConfigError(f"dsp-baseline: option {k}={v} refused by the reference model")
    padded = np.concatenate([np.asarray(noisy, np.int16), np.zeros(HOP_LEN, np.int16)])
    return sg.enhance(padded)[HOP_LEN: HOP_LEN + len(noisy)]


FAMILIES: dict[str, FamilyRefs] = {
    "passthrough": FamilyRefs("passthrough", _identity, note="output = input (x gain_q8/256)"),
    "dsp-baseline": FamilyRefs(
        "dsp-baseline", _dsp_baseline,
        note="float32 numpy mirror; it is also the bit-exact specification of the C code"),
}


def _nsnet2_float(noisy: np.ndarray, config: Mapping[str, int], model_dir: str | None = None) -> np.ndarray:
    from bench.models.nsnet2.family import float_ref

    return float_ref(noisy, config, model_dir)


def _nsnet2_golden(noisy: np.ndarray, config: Mapping[str, int], model_dir: str | None = None) -> np.ndarray:
    from bench.models.nsnet2.family import golden_ref

    return golden_ref(noisy, config, model_dir)


def _nsnet2_tflm(noisy: np.ndarray, config: Mapping[str, int], tflite: Path) -> np.ndarray:
    from bench.tflm.nsnet2 import tflm_reference

    return tflm_reference(noisy, config, tflite)


def _nsnet2_for(model_dir: str | None) -> FamilyRefs:
    """nsnet2-ee references bound to one model directory (None: the family's default model)."""
    return FamilyRefs(
        "nsnet2-ee", functools.partial(_nsnet2_float, model_dir=model_dir),
        functools.partial(_nsnet2_golden, model_dir=model_dir), tflm=_nsnet2_tflm,
        note=f"float: numpy float model ({model_dir or 'models/nsnet2/nsnet2-small'}); "
             "golden: integer model, bit-exact spec of the C")


FAMILIES["nsnet2-ee"] = _nsnet2_for(None)


def _dyncp_float(noisy: np.ndarray, config: Mapping[str, int], model_dir: str | None = None) -> np.ndarray:
    from bench.models.dyncp.family import float_ref

    return float_ref(noisy, config, model_dir)


def _dyncp_golden(noisy: np.ndarray, config: Mapping[str, int], model_dir: str | None = None) -> np.ndarray:
    from bench.models.dyncp.family import golden_ref

    return golden_ref(noisy, config, model_dir)


def _dyncp_tflm(noisy: np.ndarray, config: Mapping[str, int], tflite: Path) -> np.ndarray:
    from bench.tflm.dyncp import tflm_reference

    return tflm_reference(noisy, config, tflite)


def _dyncp_for(model_dir: str | None) -> FamilyRefs:
    """dyncp references bound to one model directory (None: the family's default model)."""
    return FamilyRefs(
        "dyncp", functools.partial(_dyncp_float, model_dir=model_dir),
        functools.partial(_dyncp_golden, model_dir=model_dir), tflm=_dyncp_tflm,
        note=f"float: numpy float model ({model_dir or 'models/dyncp/dyncp-small-r25'}); "
             "golden: integer model (bench.models.dyncp.intnet), bit-exact spec of the C")


FAMILIES["dyncp"] = _dyncp_for(None)

# families whose references depend on the model an image was built from (its manifest `model_dir`)
MODEL_BOUND: dict[str, Callable[[str], FamilyRefs]] = {"nsnet2-ee": _nsnet2_for, "dyncp": _dyncp_for}


def refs_for(family: str, model_dir: str | None = None) -> FamilyRefs | None:
    """The references of ``family``; for a family in MODEL_BOUND and a ``model_dir`` (an image's
    manifest field, repo-relative or absolute) those of that model, else the family's default."""
    if model_dir is not None and family in MODEL_BOUND:
        return MODEL_BOUND[family](model_dir)
    return FAMILIES.get(family)
