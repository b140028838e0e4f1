"""The DynCP host references: the two host references (numpy float model and
integer golden model) of the model an image was built from. The images take no CONFIGURE keys
(the gates decide per frame); any key is refused, as the target refuses it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from bench.data.audio import to_int16
from bench.errors import ConfigError
from bench.models.dyncp.reference import DyncpModel, enhance_offline
from bench.paths import repo_root

FAMILY = "dyncp"
DEFAULT_MODEL = "models/dyncp/dyncp-small-r25"


def model_dir(path: str | Path | None = None) -> str:
    """The model folder: ``path`` (an image's manifest ``model_dir``, repository-relative unless
    absolute), else the default dyncp-small-r25."""
    return str(repo_root() / (Path(path) if path is not None else Path(DEFAULT_MODEL)))


def check_no_options(config: Mapping[str, int]) -> None:
    """The dyncp images take no CONFIGURE options (the one check: the family's and the references')."""
    if config:
        raise ConfigError(f"{FAMILY}: the images take no options (got {', '.join(config)}); "
                          "run them without --config")


@functools.cache
def float_model(path: str) -> DyncpModel:
    return DyncpModel.load(path)


@functools.cache
def quant_model(path: str):  # -> DyncpQuant
    from bench.models.dyncp.quantize import DyncpQuant

    return DyncpQuant.load(path)


@functools.lru_cache(maxsize=64)
def _float_result(path: str, key: bytes, noisy: bytes):  # -> the float model's Enhanced (audio, masks, MACs)
    return enhance_offline(float_model(path), np.frombuffer(noisy, np.int16))


def float_result(noisy: np.ndarray, path: str | None = None):  # noqa: ANN201
    """The float model's output of an utterance (audio, masks, MACs), kept for the last 64 utterances
    so that the reference and the DynCP view compute it once."""
    x = np.ascontiguousarray(noisy, np.int16).tobytes()
    return _float_result(model_dir(path), hashlib.sha1(x).digest(), x)


def float_ref(noisy: np.ndarray, config: Mapping[str, int], path: str | None = None) -> np.ndarray:
    check_no_options(config)
    return to_int16(float_result(noisy, path).audio)


def golden_ref(noisy: np.ndarray, config: Mapping[str, int], path: str | None = None) -> np.ndarray:
    from bench.models.dyncp.intnet import enhance

    check_no_options(config)
    return enhance(quant_model(model_dir(path)), np.asarray(noisy, np.int16), batched=True).audio
