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
from typing import Any, Self

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
    def from_genome(cls, genes: tuple[int, ...] | list[int]) -> Self:
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
    # narrow biases (GruGenome.b_i / b_h < 32): bias of matrix m (ir iz in hr hz hn) = q << bias_shift[m],
    # b_ih / b_hh hold the effective int32 values (what the accumulator starts from)
    bias_shift: tuple[int, ...] = (0, 0, 0, 0, 0, 0)

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
    int32: the weights alone cannot for H <= 516, a bias far above a near-zero row's
    weights can."""
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
    shifts = [0] * 6
    bi_bits, bh_bits = int(getattr(bits, "b_i", 32)), int(getattr(bits, "b_h", 32))
    for g in range(3):
        rows = _gate_rows(hidden, g)
        if bi_bits < 32:
            b_i[rows], shifts[g] = quantize_bias_narrow(bias_ih, s_x * s_i.astype(np.float64), bi_bits, rows)
        if bh_bits < 32:
            b_h[rows], shifts[3 + g] = quantize_bias_narrow(bias_hh, s_state * s_h.astype(np.float64), bh_bits, rows)
    m_i, sh_i = q8.fc_multipliers(s_x, s_i, 2.0 ** -Q_PRE)
    m_h, sh_h = q8.fc_multipliers(s_state, s_h, 2.0 ** -Q_PRE)
    worst = np.abs(qh.astype(np.int64)).sum(axis=1) * 32768 + np.abs(b_h.astype(np.int64))
    if np.any(worst > q8.INT32_MAX):
        rows = np.flatnonzero(worst > q8.INT32_MAX)
        raise ConfigError(f"quantize_gru: a recurrent accumulator could overflow int32 (rows {rows[:4].tolist()}: "
                          "their bias is far above their recurrent weights' scale, or the hidden size is over 516); "
                          "reduce that bias or the hidden size")
    return GruQuant(i_size, hidden, s_x, int(x_zero_point), qi, qh, b_i, b_h,
                    m_i, sh_i, m_h, sh_h, s_i, s_h, bits, tuple(shifts))


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


# --------------------------------------------------------------------------------------------
# Mixed precision (issue #15): the genome with bias widths, the constraints of the C kernels,
# sub-byte packing and the table blob of bk_mpgru_cell (firmware/kernels/mp/, docs/mpgru.md)
# --------------------------------------------------------------------------------------------

KERNEL_WEIGHT_BITS = (2, 3, 4, 5, 6, 7, 8)  # weight widths the mp kernels implement (packed, below)
KERNEL_BIAS_BITS = (8, 16, 32)    # bias containers: int8 / int16 / int32, with a power-of-two shift
MATRICES = ("ir", "iz", "in", "hr", "hz", "hn")
MATRIX_DOC = {"ir": "input matmul, r gate", "iz": "input matmul, z gate", "in": "input matmul, n gate",
              "hr": "recurrent matmul, r gate", "hz": "recurrent matmul, z gate", "hn": "recurrent matmul, n gate"}
ACT_NAMES = ("pre_r", "pre_z", "act_r", "act_z", "mul_rh", "pre_n", "act_n", "mul_zh", "mul_zn", "state")
BLOB_MAGIC = 0x3147504D  # "MPG1" little-endian
BLOB_HEADER_WORDS = 6 + 5 * 6


@dataclass(frozen=True)
class GruGenome(GruBits):
    """GruBits plus the bias widths: the genome of the mixed-precision search (18 genes).

    ``b_i`` / ``b_h``: the biases of the input / recurrent matmuls, 8..32 bits. A bias narrower
    than 32 bits has its own power-of-two scale per gate matrix: q = round(b / (s_acc 2^k)) in
    ``b`` bits with the smallest k >= 0 that fits every row, added to the accumulator as q << k
    (TFLM's int32 bias is the case b = 32, k = 0)."""

    b_i: int = 32
    b_h: int = 32

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int | np.integer):
                raise ConfigError(f"GruGenome.{f.name} must be an int, not {v!r}")
            lo, hi = (2, 8) if f.name.startswith("w_") else (8, 32) if f.name.startswith("b_") else (2, 16)
            if not lo <= int(v) <= hi:
                raise ConfigError(f"GruGenome.{f.name} = {v}: must be in {lo}..{hi}")

    @classmethod
    def homogeneous(cls, weight_bits: int, act_bits: int = 16, bias_bits: int = 32) -> GruGenome:
        """Every weight at ``weight_bits``, every activation at ``act_bits``, biases at ``bias_bits``."""
        kw: dict[str, int] = {n: weight_bits for n in cls.names() if n.startswith("w_")}
        kw.update({n: act_bits for n in ACT_NAMES})
        return cls(**kw, b_i=bias_bits, b_h=bias_bits)

    def matrix_bits(self, m: str) -> int:
        return int(getattr(self, f"w_{m}"))

    def bias_bits(self, m: str) -> int:
        return int(self.b_i if m[0] == "i" else self.b_h)

    def model_bits(self, input_size: int, hidden_size: int) -> int:
        """Model size as the paper counts it: every weight and bias at its width, in bits."""
        h, i = hidden_size, input_size
        w = h * i * (self.w_ir + self.w_iz + self.w_in) + h * h * (self.w_hr + self.w_hz + self.w_hn)
        return w + 3 * h * (self.b_i + self.b_h)

    def label(self) -> str:
        return "-".join(str(g) for g in self.genome())


def as_genome(bits: GruBits) -> GruGenome:
    """A GruBits as a GruGenome (int32 biases)."""
    return bits if isinstance(bits, GruGenome) else GruGenome(*bits.genome())


def _round_away(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_bias_narrow(b: np.ndarray | None, scale: np.ndarray, bits: int,
                         rows: slice) -> tuple[np.ndarray, int]:
    """Biases ``b[rows]`` at accumulator scale ``scale[rows]`` in ``bits`` bits with a shared
    power-of-two shift k: returns (effective int32 values q << k, k)."""
    sc = np.asarray(scale, np.float64)[rows]
    if b is None:
        return np.zeros(sc.shape, np.int32), 0
    v = np.clip(np.asarray(b, np.float64)[rows] / sc, q8.INT32_MIN, q8.INT32_MAX)
    qmax = (1 << (bits - 1)) - 1
    k = 0
    while k < 31 and np.max(np.abs(_round_away(v / 2.0 ** k)), initial=0.0) > qmax:
        k += 1
    q = np.clip(_round_away(v / 2.0 ** k), -qmax, qmax).astype(np.int64)
    return np.clip(q << k, q8.INT32_MIN, q8.INT32_MAX).astype(np.int32), k


def acc_scale(bits: int) -> int:
    """The packed kernels accumulate w * 2^(8 - bits) * x (the unpacked lanes keep the weight
    in the top bits of a byte); 1 for 8-bit weights."""
    return 1 << (8 - bits) if bits < 8 else 1


def check_genome(bits: GruBits, input_size: int, hidden_size: int, kernels: bool = True) -> GruGenome:
    """Refuse a genome the integer GRU cannot run exactly, naming the operator: weight or bias
    widths the C kernels lack (``kernels``), or a matmul accumulator that can overflow int32
    (any weights of that width, any input; the packed kernels' scaled accumulator included)."""
    g = as_genome(bits)
    for m in MATRICES:
        wb, bb = g.matrix_bits(m), g.bias_bits(m)
        what = f"operator W_{m} ({MATRIX_DOC[m]})"
        if kernels and wb not in KERNEL_WEIGHT_BITS:  # an invariant, not a user error: GruBits accepts 2..8,
            # all of which the kernels implement; this guards a change to either range
            raise RuntimeError(f"{what}: {wb}-bit weights; the kernels implement "
                              f"{', '.join(map(str, KERNEL_WEIGHT_BITS))} bits")
        if kernels and bb not in KERNEL_BIAS_BITS:
            raise ConfigError(f"{what}: {bb}-bit bias; the kernels store biases in "
                              f"{', '.join(map(str, KERNEL_BIAS_BITS))} bits")
        cols = input_size if m[0] == "i" else hidden_size
        xmax = 256 if m[0] == "i" else 32768
        qmax = (1 << (wb - 1)) - 1
        worst = acc_scale(wb) * cols * qmax * xmax
        if worst > q8.INT32_MAX:
            raise ConfigError(f"{what}: the accumulator can overflow int32 ({cols} inputs x {wb}-bit weights "
                              f"x |input| {xmax}, x{acc_scale(wb)} in the packed kernel = {worst}); "
                              "use wider or fewer weights")
    return g


# Sub-byte layouts (docs/mpgru.md, "Packing"). 2 and 4 bits: one plane in natural order (4 bits:
# TFLM's int4, element 2i in the low nibble of byte i; 2 bits: element 4i + j in bits 2j..2j+1 of
# byte i). 3, 5, 6, 7 bits: a signed top plane of 2 or 4 bits (w >> L, packed as above) followed by
# unsigned low planes of 2 or 1 bits (bits o..o+L-1 of w), each low plane in the DSP path's lane
# order so that one AND per lane pair lifts it, already in place, beside the top plane's lanes.
TOP_BITS = {2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 4}
LOW_PLANES: dict[int, tuple[tuple[int, int], ...]] = {2: (), 3: ((1, 0),), 4: (), 5: ((1, 0),), 6: ((2, 0),),
                                                      7: ((2, 1), (1, 0))}  # (plane bits, bit offset in w)
ROW_GROUP = {2: 16, 3: 32, 4: 8, 5: 32, 6: 16, 7: 32}  # rows padded to whole groups of this many weights
LANE_ORDER = {4: (0, 4, 2, 6, 1, 5, 3, 7), 2: (0, 8, 4, 12, 1, 9, 5, 13, 2, 10, 6, 14, 3, 11, 7, 15)}
LANE_BYTE = (0, 2, 1, 3)  # lane pair (b0, b2) then (b1, b3): what AND and AND of v >> 8 give


def _check_bits(bits: int) -> None:
    if bits != 8 and bits not in TOP_BITS:
        raise ConfigError(f"no packed layout for {bits}-bit weights (2..8)")


def padded_cols(cols: int, bits: int) -> int:
    """Row length in weights of a packed ``bits``-bit row (``cols`` for 8 bits)."""
    _check_bits(bits)
    if bits == 8:
        return cols
    g = ROW_GROUP[bits]
    return -(-cols // g) * g


def row_bytes(cols: int, bits: int) -> int:
    """Bytes of one packed weight row: int8 rows are ``cols`` bytes; sub-byte rows are padded with
    zero weights to whole groups (ROW_GROUP: every plane a whole number of 32-bit words)."""
    return cols if bits == 8 else padded_cols(cols, bits) * bits // 8


def lane_order(pad: int, top_bits: int) -> np.ndarray:
    """xe[h] = x[order[h]]: the input order the DSP path widens to for a top plane of ``top_bits``."""
    o = np.array(LANE_ORDER[top_bits])
    return np.concatenate([base + o for base in range(0, pad, o.size)])


def _low_slots(pad: int, plane_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """For lane position h of a low plane: (byte index in the plane, bit shift)."""
    h = np.arange(pad)
    jp, lane = h // 4, h % 4
    per = 8 // plane_bits
    byte = 4 * (jp // per) + np.array(LANE_BYTE)[lane]
    return byte, plane_bits * (jp % per)


def _pack_plane_natural(v: np.ndarray, bits: int) -> np.ndarray:
    rows, pad = v.shape
    per = 8 // bits
    slots = (v & ((1 << bits) - 1)).reshape(rows, pad // per, per)
    packed = np.zeros((rows, pad // per), np.int64)
    for j in range(per):
        packed |= slots[:, :, j] << (bits * j)
    return packed


def pack_weights(w: np.ndarray, bits: int) -> np.ndarray:
    """Rows of int8-held weights -> packed bytes (uint8), ``row_bytes`` per row (the layout above;
    for cols % 8 == 0 the 4-bit rows are byte-identical to TFLM's packed int4 tensor)."""
    w = np.asarray(w, np.int64)
    rows, cols = w.shape
    _check_bits(bits)
    if bits == 8:
        return w.astype(np.int8).view(np.uint8).reshape(-1).copy()
    qlo, qhi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if w.size and (w.min() < qlo or w.max() > qhi):
        raise ConfigError(f"weights out of the {bits}-bit range {qlo}..{qhi}")
    pad, top = padded_cols(cols, bits), TOP_BITS[bits]
    wp = np.zeros((rows, pad), np.int64)
    wp[:, :cols] = w
    planes = [_pack_plane_natural(wp >> (bits - top), top)]
    order = lane_order(pad, top)
    for pb, off in LOW_PLANES[bits]:
        vals = ((wp >> off) & ((1 << pb) - 1))[:, order]
        byte, sh = _low_slots(pad, pb)
        plane = np.zeros((rows, pad * pb // 8), np.int64)
        for h in range(pad):
            plane[:, byte[h]] |= vals[:, h] << sh[h]
        planes.append(plane)
    return np.concatenate(planes, axis=1).astype(np.uint8).reshape(-1)


def unpack_weights(packed: np.ndarray, rows: int, cols: int, bits: int) -> np.ndarray:
    """Inverse of pack_weights (int8)."""
    _check_bits(bits)
    p = np.asarray(packed, np.uint8).reshape(rows, -1).astype(np.int64)
    if bits == 8:
        return p.astype(np.uint8).view(np.int8)[:, :cols].copy()
    pad, top = padded_cols(cols, bits), TOP_BITS[bits]
    per = 8 // top
    nt = pad * top // 8
    vals = np.stack([(p[:, :nt] >> (top * j)) & ((1 << top) - 1) for j in range(per)], axis=2).reshape(rows, -1)
    w = np.where(vals >= 1 << (top - 1), vals - (1 << top), vals) << (bits - top)
    at = nt
    order = lane_order(pad, top)
    for pb, off in LOW_PLANES[bits]:
        plane = p[:, at:at + pad * pb // 8]
        byte, sh = _low_slots(pad, pb)
        for h in range(pad):
            w[:, order[h]] += ((plane[:, byte[h]] >> sh[h]) & ((1 << pb) - 1)) << off
        at += pad * pb // 8
    return w[:, :cols].astype(np.int8)


def _bias_dtype(bits: int) -> type:
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def mp_matrices(q: GruQuant) -> list[dict[str, Any]]:
    """Per gate matrix (ir iz in hr hz hn): packed weights, narrow bias, multipliers, shifts."""
    g = as_genome(q.bits)
    out = []
    hs = q.hidden_size
    for k, m in enumerate(MATRICES):
        side_i = m[0] == "i"
        rows = _gate_rows(hs, k % 3)
        w = (q.w_ih if side_i else q.w_hh)[rows]
        b = (q.b_ih if side_i else q.b_hh)[rows].astype(np.int64)
        bb = g.bias_bits(m)
        sh = int(q.bias_shift[k])
        bq = b >> sh
        if not np.array_equal(bq << sh, b):
            raise ConfigError(f"operator W_{m}: bias is not a multiple of 2^{sh}")
        lim = (1 << (bb - 1)) - 1 if bb < 32 else q8.INT32_MAX
        if np.any(np.abs(bq) > lim):
            raise ConfigError(f"operator W_{m}: bias does not fit {bb} bits")
        out.append({"name": m, "bits": g.matrix_bits(m), "cols": q.input_size if side_i else hs,
                    "weights": pack_weights(w, g.matrix_bits(m)), "bias_bits": 8 if bb <= 8 else 16 if bb <= 16 else 32,
                    "bias": bq.astype(_bias_dtype(bb)), "bias_shift": sh,
                    "mult": (q.mult_ih if side_i else q.mult_hh)[rows].astype(np.int32),
                    "shift": (q.shift_ih if side_i else q.shift_hh)[rows].astype(np.int32)})
    return out


def _words(b: bytes) -> np.ndarray:
    pad = (-len(b)) % 4
    return np.frombuffer(b + b"\0" * pad, "<u4").copy()


def mp_blob(q: GruQuant) -> np.ndarray:
    """The GRU tables of bk_mpgru_cell as one little-endian uint32 array (a flash const or the
    image's RAM table written over CONFIGURE): header, then each section 4-byte aligned.

    Header words: [0] magic "MPG1"; [1] I | H << 16; [2] input_offset; [3..5] the 10 activation
    widths as bytes (pre_r pre_z act_r act_z mul_rh pre_n act_n mul_zh mul_zn state); then per
    matrix (ir iz in hr hz hn) 5 words: bits | bias_bits << 8 | bias_shift << 16, and the byte
    offsets of its packed weights, bias, multipliers and shifts from the blob's start."""
    g = check_genome(q.bits, q.input_size, q.hidden_size)
    mats = mp_matrices(q)
    acts = bytes(int(getattr(g, n)) for n in ACT_NAMES) + b"\0\0"
    header = [BLOB_MAGIC, q.input_size | (q.hidden_size << 16), q.input_offset & 0xFFFFFFFF,
              *_words(acts).tolist()]
    body: list[np.ndarray] = []
    offset = 4 * BLOB_HEADER_WORDS
    descs: list[int] = []
    for mt in mats:
        offs = []
        for key in ("weights", "bias", "mult", "shift"):
            a = np.ascontiguousarray(mt[key])
            wds = _words(a.astype(a.dtype.newbyteorder("<")).tobytes())
            offs.append(offset)
            body.append(wds)
            offset += 4 * len(wds)
        descs += [int(mt["bits"]) | (int(mt["bias_bits"]) << 8) | (int(mt["bias_shift"]) << 16), *offs]
    words = np.array(header + descs, np.uint32)
    assert len(words) == BLOB_HEADER_WORDS
    return np.concatenate([words, *body]).astype(np.uint32)


def mp_table_bytes(input_size: int, hidden_size: int, bits: GruBits) -> int:
    """Bytes of the blob for this shape and genome (no weights needed)."""
    g = as_genome(bits)
    n = 4 * BLOB_HEADER_WORDS
    for m in MATRICES:
        cols = input_size if m[0] == "i" else hidden_size
        bb = g.bias_bits(m)
        bsz = 1 if bb <= 8 else 2 if bb <= 16 else 4
        n += 4 * (-(-hidden_size * row_bytes(cols, g.matrix_bits(m)) // 4))
        n += 4 * (-(-hidden_size * bsz // 4)) + 8 * hidden_size
    return n
