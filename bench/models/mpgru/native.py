"""ctypes binding of the mixed-precision kernels (firmware/kernels/mp/) built for the host, beside
the int8 kernels they reuse: the unit tests compare them with the golden model bit for bit, on the
reference path and on the emulated DSP path (the real instructions run on QEMU)."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from bench.models.common import gru_int as gi
from bench.models.common.ckernels import KERNEL_DIR, FcParams, KernelStatusError, PerChannel, kernel_sources
from bench.paths import repo_root

MP_DIR = KERNEL_DIR / "mp"


def mp_sources(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    return sorted((root / MP_DIR).glob("*.c"))


def pk_scratch_bytes(in_features: int) -> int:
    return ((in_features + 31) // 32) * 64


def mpgru_scratch_bytes(input_size: int, hidden_size: int) -> int:
    return hidden_size * 16 + pk_scratch_bytes(max(input_size, hidden_size))


class MpNative:
    """bk_fc_pk_s16, bk_mpgru_cell and bk_mpgru_bind of a host build (reference path, or the DSP
    path's data layout with portable models of SMLAD / SXTB16 when ``emulate_dsp``)."""

    def __init__(self, emulate_dsp: bool = False):
        from bench.models.common.native import build_and_load

        root = repo_root()
        defines = {"BK_EMULATE_DSP": None} if emulate_dsp else {"BK_FORCE_REF": None}
        self.lib = build_and_load(kernel_sources(root) + mp_sources(root), [root / KERNEL_DIR, root / MP_DIR],
                                  defines, name="bk-mp-dsp-emu" if emulate_dsp else "bk-mp-ref",
                                  extra_cflags=["-Wconversion", "-Werror"])
        self.dsp = bool(self.lib.bk_dsp_path())

    def _call(self, fn: str, *args: Any) -> None:
        st = getattr(self.lib, fn)(*args)
        if st != 0:
            raise KernelStatusError(fn, st)

    def fc_pk_s16(self, x: np.ndarray, packed: np.ndarray, n: int, k: int, bits: int, bias: np.ndarray | None,
                  mult: np.ndarray, shift: np.ndarray, act_min: int = -32768, act_max: int = 32767,
                  output_offset: int = 0) -> np.ndarray:
        x = np.ascontiguousarray(x, np.int16)
        w = np.ascontiguousarray(packed, np.uint8)
        b = None if bias is None else np.ascontiguousarray(bias, np.int32)
        m = np.ascontiguousarray(mult, np.int32)
        s = np.ascontiguousarray(shift, np.int32)
        out = np.zeros(n, np.int16)
        sb = pk_scratch_bytes(k)
        scratch = np.zeros(max(1, sb // 4), np.int32)
        i32p = ctypes.POINTER(ctypes.c_int32)
        q = PerChannel(m.ctypes.data_as(i32p), s.ctypes.data_as(i32p))
        p = FcParams(0, output_offset, act_min, act_max)
        self._call("bk_fc_pk_s16", ctypes.byref(p), ctypes.byref(q), ctypes.c_int32(k), ctypes.c_int32(n),
                   x.ctypes.data_as(ctypes.c_void_p), w.ctypes.data_as(ctypes.c_void_p), ctypes.c_int32(bits),
                   None if b is None else b.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p),
                   scratch.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(sb))
        return out

    def gru_sequence(self, blob: np.ndarray, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """Binds ``blob`` (gru_int.mp_blob) and runs bk_mpgru_cell over xs int8 (T, I)."""
        blob = np.ascontiguousarray(blob, np.uint32)
        params = ctypes.create_string_buffer(1024)  # >= sizeof(bk_mpgru_params_t)
        self._call("bk_mpgru_bind", blob.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(blob.size), params)
        i_size, hidden = int(blob[1] & 0xFFFF), int(blob[1] >> 16)
        h = np.zeros(hidden, np.int16) if h0 is None else np.array(h0, np.int16, copy=True)
        sb = mpgru_scratch_bytes(i_size, hidden)
        scratch = np.zeros(sb // 4, np.int32)
        out = []
        for x in np.asarray(xs, np.int8).reshape(-1, i_size):
            xx = np.ascontiguousarray(x)
            self._call("bk_mpgru_cell", params, xx.ctypes.data_as(ctypes.c_void_p), h.ctypes.data_as(ctypes.c_void_p),
                       scratch.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(sb))
            out.append(h.copy())
        return np.array(out, np.int16).reshape(len(out), hidden)

    def bind_status(self, blob: np.ndarray) -> int:
        blob = np.ascontiguousarray(blob, np.uint32)
        params = ctypes.create_string_buffer(1024)
        return int(self.lib.bk_mpgru_bind(blob.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(blob.size), params))


def golden_sequence(q: gi.GruQuant, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    return gi.gru_sequence_int(q, xs, h0)
