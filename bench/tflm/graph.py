"""Build int8/int16 .tflite graphs with TFLM's model editor and run them in TFLM's interpreter.

    g = Graph()
    x = g.input((1, 16), "int8", scale=0.05, zero_point=-3)
    y = g.fully_connected(x, w_int8, bias_int32, w_scales, out_scale=0.1, out_zero_point=2)
    g.output(y)
    out, = run(g.build(), [x_values])

Tensors are described by :class:`T` (a model-editor tensor plus its dtype and quantization);
every builder method returns the output T. Weight and bias quantization follow TFLM's
conventions: per-channel symmetric int8 weights (axis 0 for FULLY_CONNECTED and CONV_2D,
axis 3 for DEPTHWISE_CONV_2D), int32 bias with scale ``s_in * s_w[c]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.tflm import require

_runtime, _me, _tfl = require()

DTYPES = {"int8": (_tfl.TensorType.INT8, np.int8), "int16": (_tfl.TensorType.INT16, np.int16),
          "int32": (_tfl.TensorType.INT32, np.int32), "float32": (_tfl.TensorType.FLOAT32, np.float32),
          "bool": (_tfl.TensorType.BOOL, np.bool_)}


@dataclass(frozen=True)
class T:
    tensor: Any
    dtype: str
    shape: tuple[int, ...]
    scale: Any = None  # float, or per-channel array
    zero_point: int = 0


def _quant(scale: Any, zero_point: int = 0, axis: int | None = None) -> Any:
    if scale is None:
        return None
    if np.ndim(scale):
        s = [float(v) for v in np.asarray(scale).reshape(-1)]
        return _me.Quantization(s, [int(zero_point)] * len(s), axis=axis)
    return _me.Quantization(float(scale), int(zero_point))


class Graph:
    """One subgraph; inputs in the order :meth:`input` was called."""

    def __init__(self, description: str | None = None) -> None:
        self.model = _me.Model(description=description) if description else _me.Model()
        self.sg = self.model.add_subgraph()
        self._n = 0

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def _tensor(self, shape: Sequence[int], dtype: str, scale: Any = None, zero_point: int = 0,
                data: np.ndarray | None = None, axis: int | None = None, name: str | None = None) -> T:
        tt, nt = DTYPES[dtype]
        kw: dict[str, Any] = {"shape": tuple(int(s) for s in shape), "dtype": tt,
                              "quantization": _quant(scale, zero_point, axis), "name": name or self._name("t")}
        if data is not None:
            kw["data"] = np.ascontiguousarray(np.asarray(data).astype(nt).reshape(kw["shape"]))
        return T(self.sg.add_tensor(**kw), dtype, kw["shape"], scale, int(zero_point))

    # -- graph boundary -----------------------------------------------------------------
    def input(self, shape: Sequence[int], dtype: str, scale: Any = None, zero_point: int = 0,
              name: str | None = None) -> T:
        t = self._tensor(shape, dtype, scale, zero_point, name=name or self._name("in"))
        self.sg.inputs.append(t.tensor)
        return t

    def const(self, data: np.ndarray, dtype: str, scale: Any = None, zero_point: int = 0,
              axis: int | None = None, name: str | None = None) -> T:
        return self._tensor(np.shape(data), dtype, scale, zero_point, data=np.asarray(data), axis=axis, name=name)

    def output(self, *ts: T) -> None:
        self.sg.outputs = list(self.sg.outputs) + [t.tensor for t in ts]

    def _op(self, code: Any, inputs: Sequence[T | None], out: T, options: Any = None, options_type: Any = None) -> T:
        op = self.sg.add_operator(opcode=code, inputs=[None if t is None else t.tensor for t in inputs],
                                  outputs=[out.tensor])
        if options is not None:
            op._fb.builtinOptionsType = options_type
            op._fb.builtinOptions = options
        return out

    # -- operators ----------------------------------------------------------------------
    def fully_connected(self, x: T, w: np.ndarray, bias: np.ndarray | None, w_scales: np.ndarray,
                        out_scale: float, out_zero_point: int = 0, out_dtype: str | None = None,
                        fused_relu: bool = False) -> T:
        """FULLY_CONNECTED, per-channel int8 weights ``w`` (out, in); int8 or 16x8 (int16 in)."""
        n = int(w.shape[0])
        ws = np.asarray(w_scales, np.float32)
        tw = self.const(w, "int8", ws, 0, axis=0)
        tb = (None if bias is None else
              self.const(bias, "int32", np.float32(x.scale) * ws, 0, axis=0))
        out = self._tensor((x.shape[0], n), out_dtype or x.dtype, out_scale, out_zero_point)
        opt = _tfl.FullyConnectedOptionsT()
        if fused_relu:
            opt.fusedActivationFunction = _tfl.ActivationFunctionType.RELU
        return self._op(_tfl.BuiltinOperator.FULLY_CONNECTED, [x, tw, tb], out, opt,
                        _tfl.BuiltinOptions.FullyConnectedOptions)

    def conv_1x1(self, x: T, w: np.ndarray, bias: np.ndarray | None, w_scales: np.ndarray,
                 out_scale: float, out_zero_point: int = 0, fused_relu: bool = False) -> T:
        """CONV_2D with a 1x1 kernel over an NHWC input (1, H, W, Cin); ``w`` is (Cout, Cin)."""
        cout, cin = (int(s) for s in w.shape)
        ws = np.asarray(w_scales, np.float32)
        tw = self.const(np.asarray(w).reshape(cout, 1, 1, cin), "int8", ws, 0, axis=0)
        tb = None if bias is None else self.const(bias, "int32", np.float32(x.scale) * ws, 0, axis=0)
        out = self._tensor((*x.shape[:3], cout), x.dtype, out_scale, out_zero_point)
        opt = _tfl.Conv2DOptionsT()
        opt.padding, opt.strideW, opt.strideH = _tfl.Padding.VALID, 1, 1
        opt.dilationWFactor = opt.dilationHFactor = 1
        if fused_relu:
            opt.fusedActivationFunction = _tfl.ActivationFunctionType.RELU
        return self._op(_tfl.BuiltinOperator.CONV_2D, [x, tw, tb], out, opt, _tfl.BuiltinOptions.Conv2DOptions)

    def depthwise_conv(self, x: T, w: np.ndarray, bias: np.ndarray | None, w_scales: np.ndarray,
                       out_scale: float, out_zero_point: int = 0, dilation: int = 1,
                       fused_relu: bool = False) -> T:
        """DEPTHWISE_CONV_2D along H (time), VALID padding, depth multiplier 1: input
        (1, T, 1, C), ``w`` (K, C) taps oldest first; output (1, T - dilation (K - 1), 1, C)."""
        k, c = (int(s) for s in w.shape)
        ws = np.asarray(w_scales, np.float32)
        tw = self.const(np.asarray(w).reshape(1, k, 1, c), "int8", ws, 0, axis=3)
        tb = None if bias is None else self.const(bias, "int32", np.float32(x.scale) * ws, 0, axis=0)
        t_out = x.shape[1] - dilation * (k - 1)
        out = self._tensor((1, t_out, 1, c), x.dtype, out_scale, out_zero_point)
        opt = _tfl.DepthwiseConv2DOptionsT()
        opt.padding, opt.strideW, opt.strideH, opt.depthMultiplier = _tfl.Padding.VALID, 1, 1, 1
        opt.dilationWFactor, opt.dilationHFactor = 1, int(dilation)
        if fused_relu:
            opt.fusedActivationFunction = _tfl.ActivationFunctionType.RELU
        return self._op(_tfl.BuiltinOperator.DEPTHWISE_CONV_2D, [x, tw, tb], out, opt,
                        _tfl.BuiltinOptions.DepthwiseConv2DOptions)

    def _unary(self, code: Any, x: T, out_dtype: str, out_scale: Any, out_zero_point: int = 0) -> T:
        return self._op(code, [x], self._tensor(x.shape, out_dtype, out_scale, out_zero_point))

    def logistic(self, x: T, out_scale: float, out_zero_point: int = 0) -> T:
        return self._unary(_tfl.BuiltinOperator.LOGISTIC, x, x.dtype, out_scale, out_zero_point)

    def tanh(self, x: T, out_scale: float, out_zero_point: int = 0) -> T:
        return self._unary(_tfl.BuiltinOperator.TANH, x, x.dtype, out_scale, out_zero_point)

    def quantize(self, x: T, out_dtype: str, out_scale: float, out_zero_point: int = 0) -> T:
        return self._unary(_tfl.BuiltinOperator.QUANTIZE, x, out_dtype, out_scale, out_zero_point)

    def dequantize(self, x: T) -> T:
        return self._unary(_tfl.BuiltinOperator.DEQUANTIZE, x, "float32", None)

    def _binary(self, code: Any, opts: Any, opts_type: Any, a: T, b: T, out_scale: float,
                out_zero_point: int = 0) -> T:
        out = self._tensor(a.shape, a.dtype, out_scale, out_zero_point)
        return self._op(code, [a, b], out, opts, opts_type)

    def add(self, a: T, b: T, out_scale: float, out_zero_point: int = 0) -> T:
        return self._binary(_tfl.BuiltinOperator.ADD, _tfl.AddOptionsT(), _tfl.BuiltinOptions.AddOptions,
                            a, b, out_scale, out_zero_point)

    def sub(self, a: T, b: T, out_scale: float, out_zero_point: int = 0) -> T:
        return self._binary(_tfl.BuiltinOperator.SUB, _tfl.SubOptionsT(), _tfl.BuiltinOptions.SubOptions,
                            a, b, out_scale, out_zero_point)

    def mul(self, a: T, b: T, out_scale: float, out_zero_point: int = 0) -> T:
        return self._binary(_tfl.BuiltinOperator.MUL, _tfl.MulOptionsT(), _tfl.BuiltinOptions.MulOptions,
                            a, b, out_scale, out_zero_point)

    def prelu(self, x: T, alpha: np.ndarray, alpha_scale: float, out_scale: float, out_zero_point: int = 0,
              alpha_zero_point: int = 0) -> T:
        """PRELU int8: ``alpha`` int8 (one scale and zero point) broadcast along the last axis."""
        ta = self.const(np.asarray(alpha).reshape(-1), x.dtype, float(alpha_scale), alpha_zero_point)
        return self._op(_tfl.BuiltinOperator.PRELU, [x, ta], self._tensor(x.shape, x.dtype, out_scale, out_zero_point))

    # -- data movement and selection (quantization carried through) ---------------------------
    def _like(self, x: T, shape: Sequence[int]) -> T:
        return self._tensor(shape, x.dtype, x.scale, x.zero_point)

    def reshape(self, x: T, shape: Sequence[int]) -> T:
        """RESHAPE to ``shape`` (an int32 shape tensor as second input)."""
        shp = self.const(np.asarray(shape, np.int32), "int32")
        opt = _tfl.ReshapeOptionsT()
        opt.newShape = [int(v) for v in shape]
        return self._op(_tfl.BuiltinOperator.RESHAPE, [x, shp], self._like(x, shape), opt,
                        _tfl.BuiltinOptions.ReshapeOptions)

    def concatenation(self, xs: Sequence[T], axis: int) -> T:
        """CONCATENATION along ``axis``; every input must carry the quantization of the first."""
        first = xs[0]
        for t in xs[1:]:
            if (t.dtype, t.scale, t.zero_point) != (first.dtype, first.scale, first.zero_point):
                raise ValueError("concatenation: inputs must share dtype and quantization")
        shape = list(first.shape)
        shape[axis] = sum(t.shape[axis] for t in xs)
        opt = _tfl.ConcatenationOptionsT()
        opt.axis = int(axis)
        return self._op(_tfl.BuiltinOperator.CONCATENATION, list(xs), self._like(first, shape), opt,
                        _tfl.BuiltinOptions.ConcatenationOptions)

    def slice(self, x: T, begin: Sequence[int], size: Sequence[int]) -> T:
        """SLICE: ``x[begin : begin + size]`` per axis (int32 begin / size constants)."""
        tb = self.const(np.asarray(begin, np.int32), "int32")
        ts = self.const(np.asarray(size, np.int32), "int32")
        return self._op(_tfl.BuiltinOperator.SLICE, [x, tb, ts], self._like(x, size), _tfl.SliceOptionsT(),
                        _tfl.BuiltinOptions.SliceOptions)

    def greater(self, a: T, b: T) -> T:
        """GREATER: bool ``a > b`` (int8 operands compared in real terms, TFLM's rescaling)."""
        out = self._tensor(a.shape, "bool")
        return self._op(_tfl.BuiltinOperator.GREATER, [a, b], out, _tfl.GreaterOptionsT(),
                        _tfl.BuiltinOptions.GreaterOptions)

    def select_v2(self, cond: T, a: T, b: T) -> T:
        """SELECT_V2: ``cond ? a : b`` element-wise (broadcasting); output quantized as ``a``."""
        return self._op(_tfl.BuiltinOperator.SELECT_V2, [cond, a, b], self._like(a, a.shape), _tfl.SelectV2OptionsT(),
                        _tfl.BuiltinOptions.SelectV2Options)

    def build(self) -> bytes:
        return bytes(self.model.build())


class Interpreter:
    """TFLM's host interpreter over one .tflite (bytes); keeps variable state between calls."""

    def __init__(self, tflite: bytes, arena_size: int = 1 << 22) -> None:
        self.n_outputs = len(_me.read(tflite).subgraphs[0].outputs)
        self._it = _runtime.Interpreter.from_bytes(tflite, arena_size=arena_size)

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        for i, a in enumerate(inputs):
            self._it.set_input(np.ascontiguousarray(a), i)
        self._it.invoke()
        return [np.array(self._it.get_output(i)) for i in range(self.n_outputs)]


def run(tflite: bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run a .tflite once on ``inputs`` (each shaped like its input tensor); every output."""
    return Interpreter(tflite)(inputs)


def read_description(tflite: bytes, fmt: str, what: str) -> dict[str, Any]:
    """The JSON description an exporter of ours stored in a .tflite, refused (ConfigError)
    unless its ``format`` is ``fmt``; ``what`` names the model kind in the message."""
    import json

    from bench.errors import ConfigError

    _, me, _ = require()
    d = me.read(tflite).description
    try:
        doc = json.loads(d.decode() if isinstance(d, bytes) else d or "")
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise ConfigError(f"not {what} export of this bench (description {str(d)[:60]!r}); "
                          "write one with `bench export tflite`")
    return doc
