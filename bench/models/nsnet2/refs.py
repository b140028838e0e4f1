"""nsNet2 host references and the meaning of its CONFIGURE keys (the one place on the host):
``exit`` (0..E, static exit; the default is the final output E), ``policy`` (0 static, 1 dynamic),
``thr_q15`` (dynamic: mean absolute mask change threshold in Q0.15, 0..32768), ``min_exit``
(1..max_exit), ``max_exit`` (min_exit..E). Keys apply in order, as on the target (the C runner's
nn_configure is the device-side guard, same ranges).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bench.errors import ConfigError
from bench.models.nsnet2.reference import ExitPolicy, Nsnet2Model, enhance_streaming
from bench.paths import repo_root

FAMILY = "nsnet2-ee"
DEFAULT_MODEL = "models/nsnet2/nsnet2-small"
KEYS = ("exit", "policy", "thr_q15", "min_exit", "max_exit")


def policy_from_config(config: Mapping[str, int] | Sequence[tuple[str, int]], n_exits: int) -> ExitPolicy:
    last = n_exits - 1
    st = {"exit": last, "policy": 0, "thr_q15": 0, "min_exit": 1, "max_exit": last}
    items = config.items() if isinstance(config, Mapping) else config
    for k, v in items:
        v = int(v)
        if k == "exit":
            ok = 0 <= v <= last
            st["policy"] = 0 if ok else st["policy"]
        elif k == "policy":
            ok = v in (0, 1)
        elif k == "thr_q15":
            ok = 0 <= v <= 32768
        elif k == "min_exit":
            ok = 1 <= v <= st["max_exit"]
        elif k == "max_exit":
            ok = st["min_exit"] <= v <= last
        else:
            raise ConfigError(f"{FAMILY}: unknown option {k!r}; options are {', '.join(KEYS)}")
        if not ok:
            raise ConfigError(f"{FAMILY}: option {k}={v} out of range (exits 0..{last}, thr_q15 0..32768)")
        st[k] = v
    if st["policy"] == 0:
        return ExitPolicy.static(st["exit"])
    return ExitPolicy.dynamic(st["thr_q15"] / 32768, min_exit=st["min_exit"], max_exit=st["max_exit"])


@functools.cache
def float_model(path: str) -> Nsnet2Model:
    return Nsnet2Model.load(path)


@functools.cache
def quant_model(path: str):  # -> QuantModel
    from bench.models.nsnet2.quantize import QuantModel

    return QuantModel.load(path)


def model_dir(path: str | Path | None = None) -> str:
    """The model folder: ``path`` (an image's manifest ``model_dir``; relative to the repository
    root unless absolute), else the default nsnet2-small."""
    return str(repo_root() / (Path(path) if path is not None else Path(DEFAULT_MODEL)))


def to_int16(x: np.ndarray) -> np.ndarray:
    v = np.asarray(x, np.float64) * 32768.0
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -32768, 32767).astype(np.int16)


def float_ref(noisy: np.ndarray, config: Mapping[str, int], path: str | None = None) -> np.ndarray:
    m = float_model(model_dir(path))
    policy = policy_from_config(config, m.config.n_exits)
    return to_int16(enhance_streaming(m, np.asarray(noisy, np.int16), policy).audio)


def golden_ref(noisy: np.ndarray, config: Mapping[str, int], path: str | None = None) -> np.ndarray:
    from bench.models.nsnet2.golden import enhance

    qm = quant_model(model_dir(path))
    return enhance(qm, np.asarray(noisy, np.int16), policy_from_config(config, qm.config.n_exits)).audio
