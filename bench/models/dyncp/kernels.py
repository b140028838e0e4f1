"""ctypes binding of the DynCP C kernels in a host build (bench.harness.kernels.NativeKernels
builds every firmware/kernels/*.c, ours included). Signatures mirror bench.models.dyncp.golden."""

from __future__ import annotations

import ctypes

import numpy as np

from bench.models.common.ckernels import FcParams, KernelStatusError, NativeKernels, PerChannel, _p, fc_scratch_bytes
from bench.models.dyncp.golden import pack_mask

_U32P = ctypes.POINTER(ctypes.c_uint32)


def _mask(keep: np.ndarray | None) -> object:
    return ctypes.POINTER(ctypes.c_uint32)() if keep is None else pack_mask(keep)


def _mp(m: object) -> object:
    return m if not isinstance(m, np.ndarray) else m.ctypes.data_as(_U32P)


class DyncpKernels:
    """The masked pointwise / depthwise kernels, reference or (emulated) DSP path."""

    def __init__(self, emulate_dsp: bool = False) -> None:
        self.native = NativeKernels(emulate_dsp=emulate_dsp)
        self.lib = self.native.lib
        self.dsp = self.native.dsp

    def _call(self, fn: str, *args: object) -> None:
        st = getattr(self.lib, fn)(*args)
        if st != 0:
            raise KernelStatusError(fn, st)

    @staticmethod
    def _q(mult: np.ndarray, shift: np.ndarray) -> tuple[PerChannel, np.ndarray, np.ndarray]:
        m = np.ascontiguousarray(mult, np.int32)
        s = np.ascontiguousarray(shift, np.int32)
        return PerChannel(_p(m, ctypes.c_int32), _p(s, ctypes.c_int32)), m, s

    def _pw(self, fn: str, k: int, n: int, args: tuple, res: np.ndarray, sb: int) -> np.ndarray:
        """The call both pointwise kernels share: (params, q, K, N, x, w, b, mask, out, scratch, size).

        ``args``: (x, w, bias, input_offset, mult, shift, output_offset, keep, act_min, act_max).
        """
        x, w, bias, input_offset, mult, shift, output_offset, keep, act_min, act_max = args
        x = np.ascontiguousarray(x, np.int8)
        w = np.ascontiguousarray(w, np.int8)
        b = None if bias is None else np.ascontiguousarray(bias, np.int32)
        q, _m, _s = self._q(mult, shift)
        scratch = np.zeros(max(1, (sb + 3) // 4), np.int32)
        mk = _mask(keep)
        self._call(
            fn,
            ctypes.byref(FcParams(input_offset, output_offset, act_min, act_max)),
            ctypes.byref(q),
            ctypes.c_int32(k),
            ctypes.c_int32(n),
            _p(x, ctypes.c_int8),
            _p(w, ctypes.c_int8),
            _p(b, ctypes.c_int32),
            _mp(mk),
            _p(res, ctypes.c_int8),
            scratch.ctypes.data_as(ctypes.c_void_p),
            ctypes.c_size_t(sb),
        )
        return res

    def pw_conv_s8(
        self,
        x: np.ndarray,
        w: np.ndarray,
        bias: np.ndarray | None,
        input_offset: int,
        mult: np.ndarray,
        shift: np.ndarray,
        output_offset: int,
        keep: np.ndarray | None,
        out: np.ndarray,
        act_min: int = -128,
        act_max: int = 127,
    ) -> np.ndarray:
        n, k = w.shape
        res = np.array(out, np.int8, copy=True)
        args = (x, w, bias, input_offset, mult, shift, output_offset, keep, act_min, act_max)
        return self._pw("bk_pw_conv_s8", k, n, args, res, fc_scratch_bytes(k))

    def pw_conv_t_s8(
        self,
        x: np.ndarray,
        wt: np.ndarray,
        bias: np.ndarray | None,
        input_offset: int,
        mult: np.ndarray,
        shift: np.ndarray,
        output_offset: int,
        keep: np.ndarray | None,
        act_min: int = -128,
        act_max: int = 127,
        scratch_bytes: int | None = None,
    ) -> np.ndarray:
        k, n = wt.shape
        sb = 4 * n if scratch_bytes is None else scratch_bytes
        args = (x, wt, bias, input_offset, mult, shift, output_offset, keep, act_min, act_max)
        return self._pw("bk_pw_conv_t_s8", k, n, args, np.zeros(n, np.int8), sb)

    def dw_conv_s8(
        self,
        x: np.ndarray,
        ring: np.ndarray,
        pos: int,
        dilation: int,
        w: np.ndarray,
        bias: np.ndarray | None,
        input_offset: int,
        mult: np.ndarray,
        shift: np.ndarray,
        output_offset: int,
        keep: np.ndarray | None,
        out: np.ndarray,
        act_min: int = -128,
        act_max: int = 127,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        c = x.shape[0]
        x = np.ascontiguousarray(x, np.int8)
        w = np.ascontiguousarray(w, np.int8)
        r = np.array(ring, np.int8, copy=True, order="C")
        b = None if bias is None else np.ascontiguousarray(bias, np.int32)
        q, _m, _s = self._q(mult, shift)
        res = np.array(out, np.int8, copy=True)
        p = ctypes.c_int32(pos)
        mk = _mask(keep)
        self._call(
            "bk_dw_conv_s8",
            ctypes.byref(FcParams(input_offset, output_offset, act_min, act_max)),
            ctypes.byref(q),
            ctypes.c_int32(c),
            ctypes.c_int32(dilation),
            _p(x, ctypes.c_int8),
            _p(r, ctypes.c_int8),
            ctypes.byref(p),
            _p(w, ctypes.c_int8),
            _p(b, ctypes.c_int32),
            _mp(mk),
            _p(res, ctypes.c_int8),
        )
        return res, r, int(p.value)
