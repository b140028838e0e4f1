"""Integer GRU cell with one bit width per operator: float reference, quantizer, golden model.

PyTorch gate convention and layout (weight_ih (3H, I), weight_hh (3H, H), gate order r, z, n):

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Integer form (every tensor in a fixed Q format, the TFLM int16 LSTM conventions):

* x: int8, asymmetric (scale s_x, zero point z_x) -- the previous layer's output;
* h: int16 Q0.15 (scale 2^-15, zero point 0), the recurrent state, in/out;
* matmuls: int8 per-channel symmetric weights, int32 bias; x-side is TFLM FC int8 -> int16,
  h-side is TFLM's 16x8 FC (int16 in, int32 accumulator); both requantised to Q3.12;
* gate pre-activations Q3.12, sigmoid / tanh by TFLM's int16 LOGISTIC / TANH -> Q0.15;
* products by TFLM MUL (int16, real multiplier 2^-15 -> (2^30, -14)); sums by TFLM ADD with
  equal power-of-two scales, which is exactly a saturating int16 add; 1 - z = 32767 - z
  (TFLM SUB of z from the constant 1.0 quantised to Q0.15).

`GruBits` holds one width per operator. Weights of b bits live in int8 containers
(|q| <= 2^(b-1) - 1); an activation of b bits keeps its Q format and drops its lowest
16 - b fraction bits (`int8ops.fq_pow2`: RoundingDivideByPOT, saturate, shift back). The
all-default configuration (8-bit weights, 16-bit everything else) is what the C kernel
bk_gru_cell_s8 implements, bit for bit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from bench.errors import ConfigError
from bench.models.common import int8ops as q8

Q_PRE = 12     # gate pre-activations: Q3.12
Q_ACT = 15     # activations, products of activations, state: Q0.15
MUL_Q15 = q8.MulParams(0, 0, 0, 1 << 30, -14, -32768, 32767)  # real multiplier 2^-15
GATES = ("r", "z", "n")


@dataclass(frozen=True)
class GruBits:
    """Bit width of every operator of the integer GRU cell (the genome of the mixed-precision
    search). Weights: 2..8 (int8 containers). Activations: 2..16 (int16 containers)."""

    w_ir: int = 8     # input matmul, r gate: W_ir weights
    w_iz: int = 8     # input matmul, z gate
    w_in: int = 8     # input matmul, n gate
    w_hr: int = 8     # recurrent matmul, r gate: W_hr weights
    w_hz: int = 8     # recurrent matmul, z gate
    w_hn: int = 8     # recurrent matmul, n gate
    pre_r: int = 16   # W_ir x + b_ir + W_hr h + b_hr (Q3.12), input of sigmoid r
    pre_z: int = 16   # same for z
    act_r: int = 16   # sigmoid r (Q0.15)
    act_z: int = 16   # sigmoid z (Q0.15)
    mul_rh: int = 16  # r * (W_hn h + b_hn) (Q3.12)
    pre_n: int = 16   # W_in x + b_in + r * (...) (Q3.12), input of tanh
    act_n: int = 16   # tanh n (Q0.15)
    mul_zh: int = 16  # z * h (Q0.15)
    mul_zn: int = 16  # (1 - z) * n (Q0.15)
    state: int = 16   # h' (Q0.15), also the recurrent matmul's input

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int | np.integer):
                raise ConfigError(f"GruBits.{f.name} must be an int, not {v!r}")
            lo, hi = (2, 8) if f.name.startswith("w_") else (2, 16)
            if not lo <= int(v) <= hi:
                raise ConfigError(f"GruBits.{f.name} = {v}: must be in {lo}..{hi}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def genome(self) -> tuple[int, ...]:
        return tuple(int(getattr(self, n)) for n in self.names())

    @classmethod
    def from_genome(cls, genes: tuple[int, ...] | list[int]) -> GruBits:
        names = cls.names()
        if len(genes) != len(names):
            raise ConfigError(f"GruBits genome needs {len(names)} genes, got {len(genes)}")
        return cls(**{n: int(g) for n, g in zip(names, genes, strict=True)})

    @property
    def is_default(self) -> bool:
        return self == GruBits()

    def weight_bits(self, input_size: int, hidden_size: int) -> int:
        """Storage of the weight matrices at these widths, in bits (biases: 32 bits each)."""
        h, i = hidden_size, input_size
        w = h * i * (self.w_ir + self.w_iz + self.w_in) + h * h * (self.w_hr + self.w_hz + self.w_hn)
        return w + 6 * h * 32


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def gru_cell_float(x: np.ndarray, h: np.ndarray, weight_ih: np.ndarray, weight_hh: np.ndarray,
                   bias_ih: np.ndarray | None = None, bias_hh: np.ndarray | None = None) -> np.ndarray:
    """The float GRU cell (torch.nn.GRUCell semantics), float64. x: (..., I), h: (..., H)."""
    hs = weight_hh.shape[1]
    gi = np.asarray(x, np.float64) @ np.asarray(weight_ih, np.float64).T
    gh = np.asarray(h, np.float64) @ np.asarray(weight_hh, np.float64).T
    if bias_ih is not None:
        gi = gi + bias_ih
    if bias_hh is not None:
        gh = gh + bias_hh
    r = _sigmoid(gi[..., :hs] + gh[..., :hs])
    z = _sigmoid(gi[..., hs:2 * hs] + gh[..., hs:2 * hs])
    n = np.tanh(gi[..., 2 * hs:] + r * gh[..., 2 * hs:])
    return (1.0 - z) * n + z * np.asarray(h, np.float64)


def gru_sequence_float(xs: np.ndarray, weight_ih: np.ndarray, weight_hh: np.ndarray,
                       bias_ih: np.ndarray | None = None, bias_hh: np.ndarray | None = None,
                       h0: np.ndarray | None = None) -> np.ndarray:
    """Runs the float cell over xs (T, I); returns every hidden state (T, H)."""
    h = np.zeros(weight_hh.shape[1]) if h0 is None else np.asarray(h0, np.float64)
    out = []
    for x in np.asarray(xs, np.float64):
        h = gru_cell_float(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
        out.append(h)
    return np.array(out)


@dataclass(frozen=True, eq=False)
class GruQuant:
    """The integer parameters of one GRU layer, in the C kernel's layout (PyTorch's)."""

    input_size: int
    hidden_size: int
    x_scale: float
    x_zero_point: int
    w_ih: np.ndarray      # (3H, I) int8, rows r | z | n
    w_hh: np.ndarray      # (3H, H) int8
    b_ih: np.ndarray      # (3H,) int32, scale s_x * s_wih[c]
    b_hh: np.ndarray      # (3H,) int32, scale 2^-15 * s_whh[c]
    mult_ih: np.ndarray   # (3H,) int32: s_x s_wih[c] / 2^-12
    shift_ih: np.ndarray  # (3H,) int32
    mult_hh: np.ndarray   # (3H,) int32: 2^-15 s_whh[c] / 2^-12
    shift_hh: np.ndarray  # (3H,) int32
    s_wih: np.ndarray     # (3H,) float32 weight scales
    s_whh: np.ndarray     # (3H,) float32
    bits: GruBits = field(default_factory=GruBits)

    @property
    def input_offset(self) -> int:
        return -int(self.x_zero_point)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return q8.quantize(x, self.x_scale, self.x_zero_point, np.int8)

    @staticmethod
    def state_to_float(h: np.ndarray) -> np.ndarray:
        return np.asarray(h, np.float64) / (1 << Q_ACT)

    @staticmethod
    def state_from_float(h: np.ndarray) -> np.ndarray:
        return q8.quantize(h, 2.0 ** -Q_ACT, 0, np.int16)

    def c_arrays(self) -> dict[str, np.ndarray]:
        """The arrays a C image needs for bk_gru_params_t (names of the struct fields)."""
        return {"w_ih": self.w_ih, "w_hh": self.w_hh, "b_ih": self.b_ih, "b_hh": self.b_hh,
                "mult_ih": self.mult_ih, "shift_ih": self.shift_ih,
                "mult_hh": self.mult_hh, "shift_hh": self.shift_hh}


def _gate_rows(hidden: int, g: int) -> slice:
    return slice(g * hidden, (g + 1) * hidden)


def quantize_gru(weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray | None = None,
                 bias_hh: np.ndarray | None = None, calib_x: np.ndarray | None = None, *,
                 bits: GruBits | None = None, x_scale: float | None = None,
                 x_zero_point: int | None = None) -> GruQuant:
    """Float PyTorch-layout weights -> integer parameters.

    The input's (scale, zero point) are given (the previous layer's output quantisation) or
    chosen from calibration activations ``calib_x`` (..., I) by their min / max. Weights are
    quantised per output channel and per gate matrix to the widths in ``bits``; biases to
    int32 at scale s_in * s_w[c]. Raises ConfigError if a recurrent accumulator could overflow
    int32 (it cannot for H <= 516)."""
    bits = bits or GruBits()
    w_ih = np.asarray(weight_ih, np.float64)
    w_hh = np.asarray(weight_hh, np.float64)
    h3, i_size = w_ih.shape
    if h3 % 3 or w_hh.shape != (h3, h3 // 3):
        raise ConfigError(f"GRU weights: weight_ih {w_ih.shape} / weight_hh {w_hh.shape} are not (3H, I) / (3H, H)")
    hidden = h3 // 3
    if x_scale is None or x_zero_point is None:
        if calib_x is None:
            raise ConfigError("quantize_gru: give calib_x or both x_scale and x_zero_point")
        cx = np.asarray(calib_x, np.float64).reshape(-1, i_size)
        x_scale, x_zero_point = q8.choose_qparams(float(cx.min()), float(cx.max()), np.int8)
    qi = np.zeros((h3, i_size), np.int8)
    qh = np.zeros((h3, hidden), np.int8)
    s_i = np.zeros(h3, np.float32)
    s_h = np.zeros(h3, np.float32)
    for g, gate in enumerate(GATES):
        rows = _gate_rows(hidden, g)
        qi[rows], s_i[rows] = q8.quantize_per_channel(w_ih[rows], getattr(bits, f"w_i{gate}"))
        qh[rows], s_h[rows] = q8.quantize_per_channel(w_hh[rows], getattr(bits, f"w_h{gate}"))
    s_x = float(np.float32(x_scale))
    s_state = 2.0 ** -Q_ACT
    b_i = q8.quantize_bias(bias_ih, (s_x * s_i.astype(np.float64)))
    b_h = q8.quantize_bias(bias_hh, (s_state * s_h.astype(np.float64)))
    m_i, sh_i = q8.fc_multipliers(s_x, s_i, 2.0 ** -Q_PRE)
    m_h, sh_h = q8.fc_multipliers(s_state, s_h, 2.0 ** -Q_PRE)
    worst = np.abs(qh.astype(np.int64)).sum(axis=1) * 32768 + np.abs(b_h.astype(np.int64))
    if np.any(worst > q8.INT32_MAX):
        raise ConfigError("quantize_gru: a recurrent accumulator could overflow int32; "
                          "reduce the hidden size (<= 516 is always safe) or the bias")
    return GruQuant(i_size, hidden, s_x, int(x_zero_point), qi, qh, b_i, b_h,
                    m_i, sh_i, m_h, sh_h, s_i, s_h, bits)


def _sat16(v: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(v, np.int64), -32768, 32767)


def gru_cell_int(q: GruQuant, x: np.ndarray, h: np.ndarray, trace: dict | None = None) -> np.ndarray:
    """One integer timestep: x int8 (I,), h int16 Q0.15 (H,) -> h' int16 (H,).

    With q.bits at its defaults this is exactly what bk_gru_cell_s8 computes. ``trace``
    (a dict) receives every intermediate tensor, for tests and error analysis."""
    b = q.bits
    hs = q.hidden_size
    fq = q8.fq_pow2
    gx = q8.fc_s8_s16(x, q.w_ih, q.b_ih, q.input_offset, q.mult_ih, q.shift_ih).astype(np.int64)
    gh = q8.fc_s16(h, q.w_hh, q.b_hh, q.mult_hh, q.shift_hh).astype(np.int64)
    gx_r, gx_z, gx_n = gx[..., :hs], gx[..., hs:2 * hs], gx[..., 2 * hs:]
    gh_r, gh_z, gh_n = gh[..., :hs], gh[..., hs:2 * hs], gh[..., 2 * hs:]
    h64 = np.asarray(h, np.int64)
    pre_r = fq(_sat16(gx_r + gh_r), b.pre_r)
    pre_z = fq(_sat16(gx_z + gh_z), b.pre_z)
    r = fq(q8.sigmoid_s16(pre_r), b.act_r)
    z = fq(q8.sigmoid_s16(pre_z), b.act_z)
    rh = fq(q8.mul_elementwise(r, gh_n, MUL_Q15), b.mul_rh)
    pre_n = fq(_sat16(gx_n + rh), b.pre_n)
    n = fq(q8.tanh_s16(pre_n), b.act_n)
    zh = fq(q8.mul_elementwise(z, h64, MUL_Q15), b.mul_zh)
    zn = fq(q8.mul_elementwise(32767 - z, n, MUL_Q15), b.mul_zn)
    h_new = fq(_sat16(zn + zh), b.state)
    if trace is not None:
        trace.update(gx=gx, gh=gh, pre_r=pre_r, pre_z=pre_z, r=r, z=z, rh=rh, pre_n=pre_n, n=n,
                     zh=zh, zn=zn, h=h_new)
    return h_new.astype(np.int16)


def gru_sequence_int(q: GruQuant, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """Runs the integer cell over xs int8 (T, I); returns every state (T, H) int16."""
    h = np.zeros(q.hidden_size, np.int16) if h0 is None else np.asarray(h0, np.int16)
    if q.bits.state < 16:
        h = q8.fq_pow2(h, q.bits.state).astype(np.int16)
    out = []
    for x in np.asarray(xs, np.int8):
        h = gru_cell_int(q, x, h)
        out.append(h)
    return np.array(out, dtype=np.int16).reshape(len(out), q.hidden_size)
