"""Integer golden model of early-exit nsNet2 on target: the bit-exact specification of
firmware/models/nsnet2/.

Per hop of 160 int16 samples (docs/nsnet2.md, "Golden model"):

1. **stft** (float32, IEEE single precision, one rounding per operation; the C code performs
   the same operations in the same order): ``frame = [previous hop, hop]`` as floats in int16
   units (exact), times the window; a 320-point real DFT computed as a 160-point mixed-radix
   complex FFT (radix 2, 4, 4, 5 stages bottom-up, decimation in time) of the even/odd
   packed frame and the real-FFT split; ``P = Xr^2 + Xi^2 + eps``; ``log2 P`` by exponent
   extraction (float bits) and a 256-entry table of log2 over the mantissa with linear
   interpolation (``log2_f32``; our own, the same on both sides; no libm); the normalisation
   and the input quantisation folded into one per-bin affine map ``v = L * A[k] + B[k]``,
   clamped to [-128, 127] and rounded half away from zero -> int8 features.
2. **network** (integer, TFLite-Micro semantics, bench.models.common.int8ops / gru_int): int8 FC
   layers with fused ReLU, integer GRUs (``gru_cell_int``, default GruBits, int16 Q0.15 state)
   whose state is requantised to int8 for the next layer, heads as int8 FC -> int16 Q3.12 ->
   int16 sigmoid (Q0.15). Exits: static ``k`` or the dynamic rule on the integer masks,
   ``sum_b |g_j[b] - g_{j-1}[b]| < thr_q15 * 161`` (int32, strict), exactly the float
   reference's control flow (split exits evaluated before their trunk block, GRU states of
   layers not evaluated held).
3. **istft** (float32): ``Y = X * (g * 2^-15)``, the inverse real split, the same FFT on
   the conjugate, window ``w / 320`` (a table), overlap-add, int16 with round half away from
   zero and saturation.

The float tables (window, twiddles, feature maps, polynomial) are float32 arrays computed
here once and written to the generated C file by bench.models.nsnet2.export as hex floats.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from bench.errors import ConfigError
from bench.models.common import fft32
from bench.models.common import int8ops as q8
from bench.models.common.gru_int import gru_cell_int
from bench.models.nsnet2.config import BLOCKS, FRAME_LEN, HOP_LEN, N_BINS
from bench.models.nsnet2.frontend import window
from bench.models.nsnet2.quantize import QuantModel
from bench.models.nsnet2.reference import ExitPolicy

F32 = np.float32
FFT_N = FRAME_LEN // 2  # 160-point complex FFT
STAGES = ((2, 1), (4, 2), (4, 8), (5, 32))  # (radix, sub-length m), bottom-up; 2*4*4*5 = 160
LOG_EPS_INT = 1e-9 * 2.0**30  # eps of log10(P + 1e-9) in int16 units (P scales by 2^30)
# log2(1 + t) ~= t * sum_i LOG2_POLY[i] t^i on [0, 1) (Chebyshev fit, max error 3.1e-6)
LOG2_POLY = tuple(
    F32(float.fromhex(h))
    for h in (
        "0x1.7154300000000p+0", "-0x1.7133760000000p-1", "0x1.e8adf00000000p-2", "-0x1.59f3020000000p-2",
        "0x1.b59a080000000p-3", "-0x1.84a7420000000p-4", "0x1.4b8db20000000p-6",
    )
)
Q15 = F32(2.0**-15)


# ---- tables ---------------------------------------------------------------------------

FFT = fft32.RealFft(FRAME_LEN, STAGES)


@functools.cache
def tables() -> MappingProxyType:
    """Every float32 / integer table of the front and back end (read-only)."""
    tw: dict[str, np.ndarray] = {}
    for s, (twr, twi) in enumerate(FFT.twiddles):
        tw[f"NN_TW{s}_RE"], tw[f"NN_TW{s}_IM"] = twr, twi
    win = np.asarray(window(), F32)
    out: dict[str, np.ndarray] = {
        "NN_WIN": win,
        "NN_WIN_SYN": (win.astype(np.float64) / FRAME_LEN).astype(F32),
        "NN_PERM": FFT.perm.astype(np.uint8),
        "NN_SPLIT_COS": FFT.split_cos,
        "NN_SPLIT_SIN": FFT.split_sin,
        "NN_LOG2_POLY": np.array(LOG2_POLY, F32),
        **tw,
    }
    for a in out.values():
        a.setflags(write=False)
    return MappingProxyType(out)


CONSTANTS = MappingProxyType({
    "NN_HALF": fft32.HALF,
    "NN_ONE": F32(1.0),
    "NN_EPS": F32(LOG_EPS_INT),
    "NN_Q15": Q15,
    "NN_C51": fft32.C51,
    "NN_C52": fft32.C52,
    "NN_S51": fft32.S51,
    "NN_S52": fft32.S52,
    "NN_I8_MAX": F32(127.0),
    "NN_I8_MIN": F32(-128.0),
    "NN_I16_MAX": fft32.I16_MAX,
    "NN_I16_MIN": fft32.I16_MIN,
})


def fft160(zr: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward complex FFT of 160 points along the last axis, input in leaf order (fft32)."""
    return FFT.fft(zr, zi)


def rfft320(x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Windowed real DFT of frames (..., 320) float32 (int16 units): (Xr, Xi) (..., 161)."""
    return FFT.rfft(x, tables()["NN_WIN"])


def irfft320(yr: np.ndarray, yi: np.ndarray) -> np.ndarray:
    """Inverse of rfft320 times 320 (no window): (..., 161) -> (..., 320) float32."""
    return FFT.irfft(yr, yi)


LOG2_BITS = 8  # log2_f32's table index: the top 8 mantissa bits


@functools.cache
def log2_table() -> np.ndarray:
    """(256, 2) float32: T[i] = log2(1 + i/256) (float64, rounded once) and D[i] = (T[i+1] - T[i])
    2^-15 (float32 arithmetic; exact: Sterbenz, then a power of two), the node values and the
    slopes per unit of the 15 mantissa bits below the index of log2_f32's interpolation.
    The C runner holds the same numbers (nsnet2.c, NN_LOG2_TD; :func:`log2_table_c_source`)."""
    n = 1 << LOG2_BITS
    t = np.log2(1.0 + np.arange(n + 1, dtype=np.float64) / n).astype(F32)
    slope = (t[1:] - t[:n]) * F32(2.0 ** -(23 - LOG2_BITS))  # per unit of the 15 low bits (exact)
    out = np.stack([t[:n], slope], axis=1).astype(F32)
    out.setflags(write=False)
    return out


def log2_table_c_source() -> str:
    """The C initialiser of NN_LOG2_TD (hex floats, two per entry), as nsnet2.c holds it."""
    rows = [f"    {{{float(a).hex()}f, {float(b).hex()}f}}," for a, b in log2_table()]
    return "\n".join(rows)


def log2_f32(p: np.ndarray) -> np.ndarray:
    """log2 of positive normal float32 values by a table and linear interpolation: with the
    exponent e, the top 8 mantissa bits i and the 15 below them r (an integer, exact as a
    float), ``e + (T[i] + r * D[i])`` (:func:`log2_table`; float32, one rounding per operation;
    error < 3e-6 plus the final rounding; exact at powers of two). The earlier degree-6
    polynomial (LOG2_POLY, still exported with the tables) cost about 2.5 times as much on target."""
    v = np.asarray(p, F32)
    bits = v.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(F32)
    td = log2_table()
    i = ((bits >> np.uint32(23 - LOG2_BITS)) & np.uint32((1 << LOG2_BITS) - 1)).astype(np.intp)
    r = (bits & np.uint32((1 << (23 - LOG2_BITS)) - 1)).astype(F32)
    return e + (td[i, 0] + r * td[i, 1])


round_half_away = fft32.round_half_away
f2i16 = fft32.f2i16


def features_int8(xr: np.ndarray, xi: np.ndarray, feat_a: np.ndarray, feat_b: np.ndarray) -> np.ndarray:
    p = xr * xr + xi * xi
    p = p + CONSTANTS["NN_EPS"]
    v = log2_f32(p) * feat_a + feat_b
    v = np.minimum(np.maximum(v, CONSTANTS["NN_I8_MIN"]), CONSTANTS["NN_I8_MAX"])
    return round_half_away(v).astype(np.int8)


def int_frames(noisy: np.ndarray, n_hops: int) -> np.ndarray:
    """(n_hops, 320) float32 frames in int16 units: frame t = [hop t-1, hop t] (zeros before)."""
    return fft32.int_frames(noisy, n_hops, HOP_LEN)


# ---- network ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenFrame:
    exit: int
    macs: int


class GoldenNet:
    """The integer network with the GRU states of one stream."""

    def __init__(self, qm: QuantModel, policy: ExitPolicy | int) -> None:
        self.qm = qm
        cfg = qm.config
        self.policy = ExitPolicy.static(policy) if isinstance(policy, int) else policy
        last = cfg.n_exits - 1
        if self.policy.exit is not None and not 0 <= self.policy.exit <= last:
            raise ConfigError(f"{cfg.name}: exit {self.policy.exit} out of range 0..{last}")
        self.max_exit = last if self.policy.max_exit is None else self.policy.max_exit
        if not self.policy.is_static and not 1 <= self.policy.min_exit <= self.max_exit <= last:
            raise ConfigError(f"{cfg.name}: dynamic policy needs 1 <= min_exit <= max_exit <= {last}")
        if not self.policy.is_static and not 0 <= self.policy.threshold <= 1:  # inf too: the firmware's thr_q15
            raise ConfigError(f"threshold {self.policy.threshold} out of range 0..1 (the mean |mask change|, as "
                              "thr_q15 / 32768 on the device)")
        self.thr = int(round(self.policy.threshold * 32768)) * cfg.n_bins if not self.policy.is_static else 0
        self.trunk = cfg.trunk()
        self.exits = cfg.exit_specs()
        self.chain = cfg.layers_for_exit(self.policy.exit) if self.policy.exit is not None else ()
        self.reset()

    def reset(self) -> None:
        self.state = {n: np.zeros(L.n_out, np.int16) for n, L in self.qm.layers.items() if L.kind == "gru"}
        self.macs = 0

    def layer(self, name: str, x: np.ndarray) -> np.ndarray:
        L = self.qm.layers[name]
        self.macs += L.macs
        if L.kind == "gru":
            assert L.gru is not None
            h = gru_cell_int(L.gru, x, self.state[name])
            self.state[name] = h
            return q8.requantize_s16_s8(h, L.rq_mult, L.rq_shift, 0, L.out_offset)
        if L.kind == "fc":
            return q8.fc_s8(x, L.w, L.b, L.in_offset, L.mult, L.shift, L.out_offset, L.act_min, L.act_max)
        pre = q8.fc_s8_s16(x, L.w, L.b, L.in_offset, L.mult, L.shift)
        return q8.sigmoid_s16(pre).astype(np.int16)

    def frame(self, feat: np.ndarray) -> tuple[np.ndarray, GoldenFrame]:
        self.macs = 0
        if self.policy.exit is not None:
            a = feat
            for spec in self.chain:
                a = self.layer(spec.name, a)
            return a, GoldenFrame(self.policy.exit, self.macs)
        return self._dynamic(feat)

    def _exit_mask(self, k: int, a_in: np.ndarray, a_out: np.ndarray | None) -> np.ndarray:
        e = self.exits[k]
        if self.qm.config.exit_kind == "split":
            x = self.layer(e.branch.name, a_in)  # type: ignore[union-attr]
        else:
            assert a_out is not None
            x = self.layer(e.branch.name, a_out) if e.branch is not None else a_out
        return self.layer(e.head.name, x)

    def _stop(self, k: int, masks: list[np.ndarray]) -> bool:
        if k >= self.max_exit:
            return True
        if k < self.policy.min_exit:
            return False
        change = int(np.abs(masks[-1].astype(np.int32) - masks[-2].astype(np.int32)).sum())
        return change < self.thr

    def _dynamic(self, feat: np.ndarray) -> tuple[np.ndarray, GoldenFrame]:
        cfg = self.qm.config
        first = self.policy.min_exit - 1
        masks: list[np.ndarray] = []
        a = feat
        for i, block in enumerate(BLOCKS):
            k = cfg.exits.index(block) if block in cfg.exits else None
            if k is not None and k >= first and cfg.exit_kind == "split":
                masks.append(self._exit_mask(k, a, None))
                if self._stop(k, masks):
                    return masks[-1], GoldenFrame(k, self.macs)
            a_out = self.layer(self.trunk[i].name, a)
            if k is not None and k >= first and cfg.exit_kind != "split":
                masks.append(self._exit_mask(k, a, a_out))
                if self._stop(k, masks):
                    return masks[-1], GoldenFrame(k, self.macs)
            a = a_out
        return self.layer(self.trunk[-1].name, a), GoldenFrame(cfg.n_exits - 1, self.macs)


@dataclass(frozen=True, eq=False)
class GoldenOut:
    """One utterance through the golden model: int16 output aligned with the input."""

    audio: np.ndarray  # int16, delay removed
    exits: np.ndarray  # (T,) per input frame
    macs: np.ndarray  # (T,)
    masks: np.ndarray  # (T, 161) int16 Q0.15
    features: np.ndarray  # (T, 161) int8
    raw: np.ndarray  # int16, what the target emits for the T+1 hops (delayed by one hop)


def enhance(qm: QuantModel, noisy: npt.ArrayLike, policy: ExitPolicy | int, extra_hops: int = 1,
            net: GoldenNet | None = None) -> GoldenOut:
    """Runs the stream over ``noisy`` (int16) plus ``extra_hops`` hops of zeros (default one,
    which flushes the overlap-add) and aligns the output with the input. ``net`` replaces the
    integer network (anything with GoldenNet's ``frame``; bench.tflm.nsnet2.TflmNet runs an
    exported .tflite in TFLM) around the same front and back end."""
    x = np.asarray(noisy, np.int16).reshape(-1)
    n = x.size
    t_in = -(-n // HOP_LEN)
    t = t_in + extra_hops
    frames = int_frames(x, t)
    xr, xi = rfft320(frames)
    feats = features_int8(xr, xi, qm.feat_a, qm.feat_b)
    net = GoldenNet(qm, policy) if net is None else net
    masks = np.empty((t, N_BINS), np.int16)
    exits = np.empty(t, np.int64)
    macs = np.empty(t, np.int64)
    for i in range(t):
        g, info = net.frame(feats[i])
        masks[i], exits[i], macs[i] = g, info.exit, info.macs
    gf = masks.astype(F32) * Q15
    y = irfft320(xr * gf, xi * gf) * tables()["NN_WIN_SYN"]
    raw = f2i16(fft32.overlap_add_hops(y, HOP_LEN))
    return GoldenOut(raw[HOP_LEN : HOP_LEN + n], exits[:t_in], macs[:t_in], masks[:t_in], feats[:t_in], raw)

