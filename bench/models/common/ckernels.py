"""ctypes binding of the bench kernels (firmware/kernels/) built for the host: the native unit
tests and the golden-vs-C conformance checks call the C kernels through it, the same sources the
images link (``kernel_sources``)."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8
from bench.paths import repo_root

KERNEL_DIR = Path("firmware/kernels")
M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


def kernel_sources(root: Path | None = None) -> list[Path]:
    root = root or repo_root()
    return sorted((root / KERNEL_DIR).glob("*.c"))


# --------------------------------------------------------------------------------------------
# ctypes binding of a host build
# --------------------------------------------------------------------------------------------

_I32P = ctypes.POINTER(ctypes.c_int32)
_I16P = ctypes.POINTER(ctypes.c_int16)
_I8P = ctypes.POINTER(ctypes.c_int8)


class FcParams(ctypes.Structure):
    _fields_ = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32),
                ("act_min", ctypes.c_int32), ("act_max", ctypes.c_int32)]


class PerChannel(ctypes.Structure):
    _fields_ = [("multiplier", _I32P), ("shift", _I32P)]


class MulParamsC(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in
                ("in1_offset", "in2_offset", "out_offset", "multiplier", "shift", "act_min", "act_max")]


class AddParamsC(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in
                ("in1_offset", "in1_multiplier", "in1_shift", "in2_offset", "in2_multiplier",
                 "in2_shift", "left_shift", "out_multiplier", "out_shift", "out_offset",
                 "act_min", "act_max")]


class GruParamsC(ctypes.Structure):
    _fields_ = [("input_size", ctypes.c_int32), ("hidden_size", ctypes.c_int32),
                ("input_offset", ctypes.c_int32), ("w_ih", _I8P), ("w_hh", _I8P),
                ("b_ih", _I32P), ("b_hh", _I32P), ("mult_ih", _I32P), ("shift_ih", _I32P),
                ("mult_hh", _I32P), ("shift_hh", _I32P)]


class KernelStatusError(RuntimeError):
    def __init__(self, fn: str, status: int):
        self.status = status
        super().__init__(f"{fn} returned status {status}")


def _p(a: np.ndarray | None, ctype: Any) -> Any:
    if a is None:
        return ctypes.POINTER(ctype)()  # NULL
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def fc_scratch_bytes(in_features: int) -> int:
    return ((in_features + 1) // 2) * 4


def gru_scratch_bytes(input_size: int, hidden_size: int) -> int:
    return hidden_size * 12 + fc_scratch_bytes(max(input_size, hidden_size))


class NativeKernels:
    """The kernels built for the host with bench.models.common.native.build_shared. Host builds run
    the reference path, or -- with emulate_dsp -- the DSP path's data layout with portable C
    models of SMLAD / SXTB16 (the real instructions are checked on QEMU)."""

    def __init__(self, emulate_dsp: bool = False, force_ref: bool = False):
        from bench.models.common.native import build_and_load

        defines: dict[str, object] = {}
        if emulate_dsp:
            defines["BK_EMULATE_DSP"] = None
        if force_ref:
            defines["BK_FORCE_REF"] = None
        root = repo_root()
        name = "bk-dsp-emu" if emulate_dsp and not force_ref else "bk-ref"
        self.lib = build_and_load(kernel_sources(root), [root / KERNEL_DIR], defines, name=name,
                                  extra_cflags=["-Wconversion", "-Werror"])
        self.dsp = bool(self.lib.bk_dsp_path())

    # -- helpers -------------------------------------------------------------------------
    def _call(self, fn: str, *args: Any) -> None:
        st = getattr(self.lib, fn)(*args)
        if st != 0:
            raise KernelStatusError(fn, st)

    @staticmethod
    def _scratch(nbytes: int) -> np.ndarray:
        return np.zeros(max(1, (nbytes + 3) // 4), dtype=np.int32)  # 4-byte aligned

    def _fc(self, fn: str, x: np.ndarray, xtype: Any, w: np.ndarray, bias: np.ndarray | None,
            mult: np.ndarray, shift: np.ndarray, params: FcParams, out_dtype: type,
            scratch_bytes: int | None = None) -> np.ndarray:
        n, k = w.shape
        x = np.ascontiguousarray(x)
        w = np.ascontiguousarray(w, np.int8)
        b = None if bias is None else np.ascontiguousarray(bias, np.int32)
        m = np.ascontiguousarray(mult, np.int32)
        s = np.ascontiguousarray(shift, np.int32)
        out: np.ndarray = np.zeros(n, out_dtype)
        sb = fc_scratch_bytes(k) if scratch_bytes is None else scratch_bytes
        scratch = self._scratch(sb)
        q = PerChannel(_p(m, ctypes.c_int32), _p(s, ctypes.c_int32))
        otype = ctypes.c_int8 if out_dtype == np.int8 else ctypes.c_int16
        self._call(fn, ctypes.byref(params), ctypes.byref(q), ctypes.c_int32(k), ctypes.c_int32(n),
                   _p(x, xtype), _p(w, ctypes.c_int8), _p(b, ctypes.c_int32), _p(out, otype),
                   scratch.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(sb))
        return out

    # -- kernels (signatures mirror bench.models.common.int8ops) -----------------------------------
    def fc_s8(self, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, input_offset: int,
              mult: np.ndarray, shift: np.ndarray, output_offset: int, act_min: int = -128,
              act_max: int = 127) -> np.ndarray:
        return self._fc("bk_fc_s8", np.asarray(x, np.int8), ctypes.c_int8, w, bias, mult, shift,
                        FcParams(input_offset, output_offset, act_min, act_max), np.int8)

    def fc_s8_s16(self, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, input_offset: int,
                  mult: np.ndarray, shift: np.ndarray, output_offset: int = 0, act_min: int = -32768,
                  act_max: int = 32767) -> np.ndarray:
        return self._fc("bk_fc_s8_s16", np.asarray(x, np.int8), ctypes.c_int8, w, bias, mult, shift,
                        FcParams(input_offset, output_offset, act_min, act_max), np.int16)

    def fc_s16(self, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, mult: np.ndarray,
               shift: np.ndarray, act_min: int = -32768, act_max: int = 32767) -> np.ndarray:
        return self._fc("bk_fc_s16", np.asarray(x, np.int16), ctypes.c_int16, w, bias, mult, shift,
                        FcParams(0, 0, act_min, act_max), np.int16)

    def _act(self, fn: str, x: np.ndarray, mult: int, shift: int) -> np.ndarray:
        x = np.ascontiguousarray(x, np.int16)
        out = np.zeros_like(x)
        self._call(fn, _p(x, ctypes.c_int16), _p(out, ctypes.c_int16), ctypes.c_int32(x.size),
                   ctypes.c_int32(mult), ctypes.c_int32(shift))
        return out

    def sigmoid_s16(self, x: np.ndarray, input_multiplier: int = 0, input_left_shift: int = 0) -> np.ndarray:
        return self._act("bk_sigmoid_s16", x, input_multiplier, input_left_shift)

    def tanh_s16(self, x: np.ndarray, input_multiplier: int = 0, input_left_shift: int = 0) -> np.ndarray:
        return self._act("bk_tanh_s16", x, input_multiplier, input_left_shift)

    def mul_s16(self, a: np.ndarray, b: np.ndarray, p: q8.MulParams) -> np.ndarray:
        a = np.ascontiguousarray(a, np.int16)
        b = np.ascontiguousarray(b, np.int16)
        out = np.zeros_like(a)
        cp = MulParamsC(p.in1_offset, p.in2_offset, p.out_offset, p.multiplier, p.shift, p.act_min, p.act_max)
        self._call("bk_mul_s16", _p(a, ctypes.c_int16), _p(b, ctypes.c_int16), _p(out, ctypes.c_int16),
                   ctypes.c_int32(a.size), ctypes.byref(cp))
        return out

    def add_s16(self, a: np.ndarray, b: np.ndarray, p: q8.AddParams) -> np.ndarray:
        a = np.ascontiguousarray(a, np.int16)
        b = np.ascontiguousarray(b, np.int16)
        out = np.zeros_like(a)
        cp = AddParamsC(p.in1_offset, p.in1_multiplier, p.in1_shift, p.in2_offset, p.in2_multiplier,
                        p.in2_shift, p.left_shift, p.out_multiplier, p.out_shift, p.out_offset,
                        p.act_min, p.act_max)
        self._call("bk_add_s16", _p(a, ctypes.c_int16), _p(b, ctypes.c_int16), _p(out, ctypes.c_int16),
                   ctypes.c_int32(a.size), ctypes.byref(cp))
        return out

    def requantize_s32(self, x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
        x = np.ascontiguousarray(x, np.int32)
        out = np.zeros_like(x)
        self._call("bk_requantize_s32", _p(x, ctypes.c_int32), _p(out, ctypes.c_int32),
                   ctypes.c_int32(x.size), ctypes.c_int32(multiplier), ctypes.c_int32(shift))
        return out

    def requantize_s16_s8(self, x: np.ndarray, multiplier: int, shift: int, input_offset: int = 0,
                          output_offset: int = 0) -> np.ndarray:
        x = np.ascontiguousarray(x, np.int16)
        out = np.zeros(x.size, np.int8)
        self._call("bk_requantize_s16_s8", _p(x, ctypes.c_int16), _p(out, ctypes.c_int8),
                   ctypes.c_int32(x.size), ctypes.c_int32(input_offset), ctypes.c_int32(multiplier),
                   ctypes.c_int32(shift), ctypes.c_int32(output_offset))
        return out

    def gru_cell(self, q: gi.GruQuant, x: np.ndarray, h: np.ndarray, scratch_bytes: int | None = None) -> np.ndarray:
        arrs = {k: np.ascontiguousarray(v) for k, v in q.c_arrays().items()}
        cp = GruParamsC(q.input_size, q.hidden_size, q.input_offset,
                        _p(arrs["w_ih"], ctypes.c_int8), _p(arrs["w_hh"], ctypes.c_int8),
                        _p(arrs["b_ih"], ctypes.c_int32), _p(arrs["b_hh"], ctypes.c_int32),
                        _p(arrs["mult_ih"], ctypes.c_int32), _p(arrs["shift_ih"], ctypes.c_int32),
                        _p(arrs["mult_hh"], ctypes.c_int32), _p(arrs["shift_hh"], ctypes.c_int32))
        x = np.ascontiguousarray(x, np.int8)
        hh = np.array(h, np.int16, copy=True)
        sb = gru_scratch_bytes(q.input_size, q.hidden_size) if scratch_bytes is None else scratch_bytes
        scratch = self._scratch(sb)
        self._call("bk_gru_cell_s8", ctypes.byref(cp), _p(x, ctypes.c_int8), _p(hh, ctypes.c_int16),
                   scratch.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(sb))
        return hh
