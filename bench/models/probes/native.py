"""ctypes binding of firmware/models/dyncp/dyncp_probes.c in a host build (bench.models.common.native
builds and caches it with the firmware's float-safe flags, here also -Werror)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.errors import ConfigError
from bench.models.common import native
from bench.models.probes.features import pack_bits, words_per_block
from bench.models.probes.quant import QuantProbes
from bench.paths import repo_root

SOURCE_DIR = Path("firmware") / "models" / "dyncp"


class ProbesParams(ctypes.Structure):
    """dyncp_probes_t."""

    _fields_ = [
        ("n_blocks", ctypes.c_uint16),
        ("n_channels", ctypes.c_uint16),
        ("n_probes", ctypes.c_uint16),
        ("weights", ctypes.POINTER(ctypes.c_int16)),
        ("bias", ctypes.POINTER(ctypes.c_int32)),
    ]


def _library() -> ctypes.CDLL:
    d = repo_root() / SOURCE_DIR
    lib = native.build_and_load([d / "dyncp_probes.c"], [d], name="dyncp_probes", extra_cflags=("-Werror",))
    fn = lib.dyncp_probes_scores
    fn.argtypes = [ctypes.POINTER(ProbesParams), ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_int32)]
    fn.restype = ctypes.c_int32
    lag = lib.dyncp_probes_add_lag
    lag.argtypes = [ctypes.POINTER(ProbesParams), ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32),
                    ctypes.POINTER(ctypes.c_int32)]  # fmt: skip
    lag.restype = ctypes.c_int32
    return lib


class NativeProbes:
    """``dyncp_probes_scores`` on host for one set of integer probes."""

    def __init__(self, q: QuantProbes) -> None:
        self.q = q
        self.lib = _library()
        self._w = np.ascontiguousarray(q.weights, np.int16)
        self._b = np.ascontiguousarray(q.bias, np.int32)
        self.params = ProbesParams(
            q.n_blocks,
            q.n_channels,
            q.n_probes,
            self._w.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
            self._b.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
        )

    @property
    def n_words(self) -> int:
        return self.q.n_blocks * words_per_block(self.q.n_channels)

    def scores_words(self, words: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Scores (P,) of one frame's packed mask words, or (T, P) of (T, n_words)."""
        w = np.atleast_2d(np.ascontiguousarray(words, np.uint32))
        if w.shape[1] != self.n_words:
            raise ConfigError(f"expected {self.n_words} mask words per frame, got {w.shape[1]}")
        out = np.zeros((w.shape[0], self.q.n_probes), np.int32)
        for t in range(w.shape[0]):
            st = self.call_raw(self.params, np.ascontiguousarray(w[t]), out[t])
            if st != 0:
                raise RuntimeError(f"dyncp_probes_scores returned {st}")
        return out if np.ndim(words) > 1 else out[0]

    def scores(self, bits: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Scores of mask bits (n_bits,) or (T, n_bits), packed as the target packs them; with a
        temporal context (T, n_bits) is one utterance, frame 0 first, scored as the firmware does:
        the frame's own words, then ``dyncp_probes_add_lag`` for each earlier frame held."""
        b = np.asarray(bits, bool)
        words = pack_bits(b, self.q.n_blocks, self.q.n_channels)
        out = self.scores_words(words)
        if self.q.context == 0:
            return out
        w = np.ascontiguousarray(np.atleast_2d(words), np.uint32)
        out2 = np.atleast_2d(out)
        for t in range(w.shape[0]):
            for lag in range(1, min(self.q.context, t) + 1):
                st = self.add_lag_raw(lag, np.ascontiguousarray(w[t - lag]), out2[t])
                if st != 0:
                    raise RuntimeError(f"dyncp_probes_add_lag returned {st}")
        return out

    def call_raw(self, params: ProbesParams | None, words: np.ndarray | None, scores: np.ndarray | None) -> int:
        """The C function with possibly NULL arguments (for the argument checks)."""
        p = ctypes.byref(params) if params is not None else None
        w = words.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)) if words is not None else None
        s = scores.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)) if scores is not None else None
        return int(self.lib.dyncp_probes_scores(p, w, s))

    def add_lag_raw(self, lag: int, words: np.ndarray, scores: np.ndarray) -> int:
        """``dyncp_probes_add_lag`` as it is (for the argument checks)."""
        return int(self.lib.dyncp_probes_add_lag(ctypes.byref(self.params), lag,
                                                 words.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
                                                 scores.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))))  # fmt: skip
