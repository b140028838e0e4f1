"""Bit-exact numpy mirror of the classic DSP speech enhancer (firmware/models/baseline).

The firmware (spectral_gate.c) and this module compute the same thing with the same IEEE
single-precision operations in the same order, so their int16 outputs are identical bit for
bit -- natively with host gcc and on a Cortex-M4F -- provided the C code is compiled with
``-ffp-contract=off`` and without ``-ffast-math`` (see docs/baseline.md).

Algorithm, per hop of 256 samples (16 kHz, 512-sample frames, 50 % overlap):

1. ``sg_analysis``: frame = previous hop + this hop (int16 -> float32, exact), times the
   sqrt-periodic-Hann window ``sin(pi n / 512)``; real 512-point FFT done as a 256-point
   radix-2 decimation-in-time complex FFT of the even/odd-packed frame followed by the
   standard real-FFT split (X is the true, unscaled DFT, bins 0..256).
2. ``sg_gain``: periodogram ``P = re*re + im*im``; recursively smoothed ``S``; noise
   ``N`` = running mean of ``P`` over the first ``NINIT`` frames, then minimum statistics
   (minimum of ``S`` over ``MS_NSUB`` sub-windows of ``MS_SUBWIN`` frames, about 1.5 s)
   times a bias factor; decision-directed a-priori SNR (Ephraim-Malah) and the Wiener gain
   ``G = xi / (1 + xi)`` floored at ``gain_floor_db``; ``X *= G``.
3. ``sg_synthesis``: inverse real FFT (split + the same forward complex FFT on the
   conjugate), times ``sin(pi n / 512) / 512`` (1/N folded into the window exactly), overlap-
   add with the previous frame's tail, float -> int16 with round-half-away-from-zero and
   saturation. Output is the input delayed by 256 samples (frame_len - hop_len).

Only +, -, *, / and sqrt-free comparisons are used at run time; the window, twiddle and
dB tables are computed here in float64, rounded to float32 once and written into the C header
``firmware/models/baseline/sg_tables.h`` as hex floats (``write_header``), so both sides use
exactly the same constants.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import MappingProxyType

import numpy as np

F32 = np.float32

SAMPLE_RATE = 16000
FRAME_LEN = 512  # N: analysis window / real FFT size
HOP_LEN = 256  # H
DELAY = FRAME_LEN - HOP_LEN
FFT_M = FRAME_LEN // 2  # complex FFT size
NBINS = FRAME_LEN // 2 + 1

# Integer parameters of the noise tracker.
NINIT = 8  # frames of running-mean noise initialisation (128 ms)
MS_SUBWIN = 12  # frames per minimum-statistics sub-window (192 ms)
MS_NSUB = 8  # sub-windows in the minimum search window (8 * 12 frames = 1.536 s)

# configure() options: key -> (min, max, default)
OPTIONS = MappingProxyType(
    {
        "over_q8": (1, 4096, 256),  # noise over-estimation factor, Q8 (256 = 1.0)
        "gain_floor_db": (-60, 0, -15),  # lower limit of the amplitude gain in dB
        "bypass": (0, 1, 0),  # 1: gain forced to exactly 1 (STFT/OLA path only)
    }
)
GAIN_FLOOR_DB_MIN = OPTIONS["gain_floor_db"][0]

ERR_OK = 0
ERR_UNKNOWN_OPTION = 4
ERR_BAD_VALUE = 5

# Float32 constants shared with C via sg_tables.h (name -> value, exactly representable).
CONSTANTS = MappingProxyType(
    {
        "SG_HALF": F32(0.5),  # real-FFT split
        "SG_ONE": F32(1.0),
        "SG_ZERO": F32(0.0),
        "SG_Q8": F32(1.0 / 256.0),  # over_q8 -> float: (float)over_q8 * SG_Q8 (exact)
        "SG_ALPHA_S": F32(0.75),  # power smoothing S = S*A + P*(1-A)
        "SG_BETA_S": F32(0.25),
        "SG_S_TINY": F32(2.0**-40),  # S below this is set to 0: no subnormals in silence
        "SG_MS_BIAS": F32(2.5),  # noise = bias * minimum of S
        "SG_MS_INV_BIAS": F32(0.4),  # seeds the minimum from the initial mean
        "SG_MS_BIG": F32(2.0**120),  # "no minimum yet"
        "SG_ALPHA_DD": F32(0.98),  # decision-directed weight of the previous frame
        "SG_BETA_DD": F32(0.02),
        "SG_NOISE_FLOOR": F32(1.0),  # lower limit of over*N (avoids /0 in silence)
        "SG_I16_MAX": F32(32767.0),
        "SG_I16_MIN": F32(-32768.0),
    }
)
C = CONSTANTS  # short alias used below


def _quarter_sin(n: int) -> np.ndarray:
    """sin(pi/2 * j/n) for j = 0..n in float64, exactly 0 and 1 at the ends."""
    j = np.arange(n + 1, dtype=np.float64)
    q = np.sin(0.5 * np.pi * j / n)
    q[0] = 0.0
    q[n] = 1.0
    return q


@functools.cache
def tables() -> MappingProxyType:
    """All run-time tables as read-only float32/uint8 arrays (the contents of sg_tables.h)."""
    n, h, m = FRAME_LEN, HOP_LEN, FFT_M
    # sqrt of the periodic Hann window: sqrt(0.5 - 0.5 cos(2 pi k/N)) = sin(pi k/N), k=0..N-1.
    # Built from one quarter wave so that w[k] == w[N-k] and w[k]^2 + w[k+H]^2 ~ 1.
    qw = _quarter_sin(h)  # sin(pi k / N) for k = 0..H
    win64 = np.empty(n)
    win64[: h + 1] = qw
    win64[h + 1 :] = qw[h - 1 : 0 : -1]
    win = win64.astype(F32)
    win_syn = (win64.astype(F32) * F32(1.0 / n)).astype(F32)  # power-of-two scale: exact
    # Twiddles cos/sin(2 pi k / N), k = 0..N/2, from a quarter wave (exact 0, +-1).
    q = _quarter_sin(n // 4)  # sin(2 pi j / N), j = 0..N/4
    k = np.arange(n // 2 + 1)
    sin64 = np.where(k <= n // 4, q[np.minimum(k, n // 4)], q[np.clip(n // 2 - k, 0, n // 4)])
    cos64 = np.where(
        k <= n // 4, q[np.clip(n // 4 - k, 0, n // 4)], -q[np.clip(k - n // 4, 0, n // 4)]
    )
    bits = int(np.log2(m))
    bitrev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(m)], dtype=np.uint8)
    dbs = np.arange(GAIN_FLOOR_DB_MIN, 1, dtype=np.float64)
    gmin = (10.0 ** (dbs / 20.0)).astype(F32)
    gmin[-1] = F32(1.0)
    inv_count = (1.0 / np.arange(1, NINIT + 1, dtype=np.float64)).astype(F32)
    out: dict[str, np.ndarray] = {
        "SG_WIN": win,
        "SG_WIN_SYN": win_syn,
        "SG_COS": cos64.astype(F32),
        "SG_SIN": sin64.astype(F32),
        "SG_BITREV": bitrev,
        "SG_GMIN": gmin,
        "SG_INV_COUNT": inv_count,
    }
    for a in out.values():
        a.setflags(write=False)
    return MappingProxyType(out)


# ------------------------------------------------------------------------------------------
# Header generation
# ------------------------------------------------------------------------------------------

HEADER_PATH = Path(__file__).resolve().parents[2] / "firmware/models/baseline/sg_tables.h"


def _hexf(v: np.float32) -> str:
    """C99 hex-float literal of a float32 value (exact)."""
    f = float(v)
    if f == 0.0:
        return "-0x0p+0f" if np.signbit(v) else "0x0p+0f"
    s = f.hex()  # e.g. '0x1.921fb60000000p+1'
    mant, exp = s.split("p")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}p{exp}f"


def _emit_array(ctype: str, name: str, arr: np.ndarray, per_line: int, fmt) -> list[str]:
    lines = [f"static const {ctype} {name}[{len(arr)}] = {{"]
    for i in range(0, len(arr), per_line):
        lines.append("    " + ", ".join(fmt(v) for v in arr[i : i + per_line]) + ",")
    lines.append("};")
    return lines


def generate_header() -> str:
    """Text of firmware/models/baseline/sg_tables.h (deterministic)."""
    t = tables()
    lines = [
        "/* GENERATED by bench.models.baseline.write_header() -- do not edit by hand.",
        " * Float32 tables and constants of the DSP baseline, shared bit for bit with the numpy",
        " * mirror (bench/models/baseline.py). Hex floats: every value is exact. */",
        "#ifndef SG_TABLES_H",
        "#define SG_TABLES_H",
        "#include <stdint.h>",
        "",
        f"#define SG_FRAME_LEN {FRAME_LEN}",
        f"#define SG_HOP_LEN {HOP_LEN}",
        f"#define SG_FFT_M {FFT_M}",
        f"#define SG_NBINS {NBINS}",
        f"#define SG_NINIT {NINIT}",
        f"#define SG_MS_SUBWIN {MS_SUBWIN}",
        f"#define SG_MS_NSUB {MS_NSUB}",
        f"#define SG_GAIN_FLOOR_DB_MIN ({GAIN_FLOOR_DB_MIN})",
    ]
    for key, (lo, hi, dflt) in OPTIONS.items():
        u = key.upper()
        lines += [
            f"#define SG_OPT_{u}_MIN ({lo})",
            f"#define SG_OPT_{u}_MAX ({hi})",
            f"#define SG_OPT_{u}_DEFAULT ({dflt})",
        ]
    lines.append("")
    for name, v in CONSTANTS.items():
        lines.append(f"#define {name} ({_hexf(v)}) /* {float(v)!r} */")
    lines.append("")
    for name, arr in t.items():
        if arr.dtype == np.uint8:
            lines += _emit_array("uint8_t", name, arr, 16, lambda v: f"{int(v)}u")
        else:
            lines += _emit_array("float", name, arr, 4, _hexf)
        lines.append("")
    lines.append("#endif /* SG_TABLES_H */")
    return "\n".join(lines) + "\n"


def write_header(path: Path | None = None) -> Path:
    p = Path(path) if path is not None else HEADER_PATH
    p.write_text(generate_header())
    return p


# ------------------------------------------------------------------------------------------
# FFT (mirrors sg_fft256 / sg_rfft512 / sg_irfft512 operation for operation)
# ------------------------------------------------------------------------------------------


def fft256_inplace(re: np.ndarray, im: np.ndarray) -> None:
    """Radix-2 DIT complex FFT, 256 points, input already in bit-reversed order.

    Butterfly (twiddle W = c - i s, c/s = SG_COS/SG_SIN[j * 256/h]):
        tr = c*br + s*bi;  ti = c*bi - s*br
        b = a - t;         a = a + t
    The C code special-cases the first stage (W = 1: t = b), which gives the same values.
    """
    t = tables()
    cos, sin = t["SG_COS"], t["SG_SIN"]
    h = 1
    while h < FFT_M:
        idx = np.arange(h) * (FFT_M // h)
        c, s = cos[idx], sin[idx]
        r = re.reshape(-1, 2, h)
        i = im.reshape(-1, 2, h)
        ar, br = r[:, 0, :].copy(), r[:, 1, :]
        ai, bi = i[:, 0, :].copy(), i[:, 1, :]
        tr = c * br + s * bi
        ti = c * bi - s * br
        r[:, 0, :] = ar + tr
        i[:, 0, :] = ai + ti
        r[:, 1, :] = ar - tr
        i[:, 1, :] = ai - ti
        h *= 2


def rfft512(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real 512-point DFT (unscaled) of float32 x; returns (re, im), 257 bins each."""
    t = tables()
    x = np.asarray(x, dtype=F32)
    assert x.shape == (FRAME_LEN,)
    rev = t["SG_BITREV"]
    wr = np.empty(FFT_M, F32)
    wi = np.empty(FFT_M, F32)
    wr[rev] = x[0::2]
    wi[rev] = x[1::2]
    fft256_inplace(wr, wi)
    k = np.arange(NBINS)
    ar, ai = wr[k % FFT_M], wi[k % FFT_M]
    br, bi = wr[(FFT_M - k) % FFT_M], wi[(FFT_M - k) % FFT_M]
    c, s = t["SG_COS"], t["SG_SIN"]
    sr = ar + br
    si = ai - bi
    dr = ar - br
    di = ai + bi
    xr = C["SG_HALF"] * (sr + (c * di - s * dr))
    xi = C["SG_HALF"] * (si - (c * dr + s * di))
    return xr, xi


def irfft512(xr: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Inverse of rfft512 times 512 (unscaled): returns float32[512] = 512 * x."""
    t = tables()
    xr = np.asarray(xr, dtype=F32)
    xi = np.asarray(xi, dtype=F32)
    k = np.arange(FFT_M)
    ar, ai = xr[k], xi[k]
    br, bi = xr[FFT_M - k], xi[FFT_M - k]
    c, s = t["SG_COS"][:FFT_M], t["SG_SIN"][:FFT_M]
    sr = ar + br
    si = ai - bi
    dr = ar - br
    di = ai + bi
    vr = sr - (c * di + s * dr)
    vi = -(si + (c * dr - s * di))
    rev = t["SG_BITREV"]
    wr = np.empty(FFT_M, F32)
    wi = np.empty(FFT_M, F32)
    wr[rev] = vr
    wi[rev] = vi
    fft256_inplace(wr, wi)
    y = np.empty(FRAME_LEN, F32)
    y[0::2] = wr
    y[1::2] = -wi
    return y


def float_to_int16(v: np.ndarray) -> np.ndarray:
    """Round half away from zero with saturation, exactly as sg_f2i16() in C:
    v >= 32767 -> 32767; v <= -32768 -> -32768; else t = trunc(v), f = v - t (exact),
    t += (f >= 0.5) - (f <= -0.5)."""
    v = np.asarray(v, dtype=F32)
    hi = v >= C["SG_I16_MAX"]
    lo = v <= C["SG_I16_MIN"]
    vc = np.where(hi | lo, F32(0.0), v)
    tr = np.trunc(vc)
    f = vc - tr
    ti = (
        tr.astype(np.int32)
        + (f >= C["SG_HALF"]).astype(np.int32)
        - (f <= -C["SG_HALF"]).astype(np.int32)
    )
    ti = np.where(hi, 32767, np.where(lo, -32768, ti))
    return ti.astype(np.int16)


# ------------------------------------------------------------------------------------------
# The enhancer
# ------------------------------------------------------------------------------------------


class SpectralGate:
    """Streaming enhancer, bit-exact with sg_state_t / sg_* in spectral_gate.c."""

    prev: np.ndarray
    ola: np.ndarray
    xr: np.ndarray
    xi: np.ndarray
    S: np.ndarray
    N: np.ndarray
    A: np.ndarray
    G: np.ndarray
    cur_min: np.ndarray
    win_min: np.ndarray
    sub_min: np.ndarray

    def __init__(self) -> None:
        self.over_q8 = OPTIONS["over_q8"][2]
        self.gain_floor_db = OPTIONS["gain_floor_db"][2]
        self.bypass = OPTIONS["bypass"][2]
        self._apply_config()
        self.reset()

    # -- configuration ---------------------------------------------------------------------
    def _apply_config(self) -> None:
        self.over = F32(self.over_q8) * C["SG_Q8"]  # exact for |over_q8| < 2^24
        self.gmin = tables()["SG_GMIN"][self.gain_floor_db - GAIN_FLOOR_DB_MIN]

    def configure(self, key: str, value: int) -> int:
        """Same codes as sg_configure: 0 ok, 4 unknown key, 5 bad value. State is kept."""
        if key not in OPTIONS:
            return ERR_UNKNOWN_OPTION
        lo, hi, _ = OPTIONS[key]
        value = int(value)
        if not lo <= value <= hi:
            return ERR_BAD_VALUE
        setattr(self, key, value)
        self._apply_config()
        return ERR_OK

    def reset(self) -> None:
        """Clears all streaming state (configuration is kept), like sg_reset."""
        self.prev = np.zeros(HOP_LEN, np.int16)
        self.ola = np.zeros(HOP_LEN, F32)
        self.xr = np.zeros(NBINS, F32)
        self.xi = np.zeros(NBINS, F32)
        self.S = np.zeros(NBINS, F32)  # smoothed periodogram
        self.N = np.zeros(NBINS, F32)  # noise power estimate
        self.A = np.zeros(NBINS, F32)  # previous enhanced power |G X|^2 (decision-directed)
        self.G = np.ones(NBINS, F32)  # last gain
        self.cur_min = np.zeros(NBINS, F32)
        self.win_min = np.zeros(NBINS, F32)
        self.sub_min = np.zeros((MS_NSUB, NBINS), F32)
        self.frames = 0  # saturates at NINIT
        self.sub_count = 0
        self.sub_pos = 0

    # -- the three stages --------------------------------------------------------------------
    def analysis(self, in_hop: np.ndarray) -> None:
        x = np.asarray(in_hop)
        if x.dtype != np.int16 or x.shape != (HOP_LEN,):
            raise ValueError(f"expected int16[{HOP_LEN}], got {x.dtype}{list(x.shape)}")
        frame = np.concatenate([self.prev, x]).astype(F32)
        self.xr, self.xi = rfft512(frame * tables()["SG_WIN"])
        self.prev = x.copy()

    def gain(self) -> None:
        xr, xi = self.xr, self.xi
        p = xr * xr + xi * xi
        f = self.frames
        if f == 0:
            self.S = p.copy()
        else:
            self.S = self.S * C["SG_ALPHA_S"] + p * C["SG_BETA_S"]
        self.S = np.where(self.S < C["SG_S_TINY"], C["SG_ZERO"], self.S)
        if f < NINIT:
            self.N = self.N + (p - self.N) * tables()["SG_INV_COUNT"][f]
            if f == NINIT - 1:
                seed = self.N * C["SG_MS_INV_BIAS"]
                self.cur_min = seed.copy()
                self.win_min = seed.copy()
                self.sub_min[:] = seed
            self.frames = f + 1
        else:
            self.cur_min = np.minimum(self.cur_min, self.S)
            self.N = C["SG_MS_BIAS"] * np.minimum(self.cur_min, self.win_min)
            self.sub_count += 1
            if self.sub_count == MS_SUBWIN:
                self.sub_count = 0
                self.sub_min[self.sub_pos] = self.cur_min
                self.sub_pos = (self.sub_pos + 1) % MS_NSUB
                w = self.sub_min[0].copy()
                for u in range(1, MS_NSUB):
                    w = np.minimum(w, self.sub_min[u])
                self.win_min = w
                self.cur_min = np.full(NBINS, C["SG_MS_BIG"], F32)
        ne = np.maximum(self.N * self.over, C["SG_NOISE_FLOOR"])
        inv = C["SG_ONE"] / ne
        gam = p * inv
        ml = np.maximum(gam - C["SG_ONE"], C["SG_ZERO"])
        xi_ = C["SG_ALPHA_DD"] * (self.A * inv) + C["SG_BETA_DD"] * ml
        g = np.maximum(xi_ / (C["SG_ONE"] + xi_), self.gmin)
        if self.bypass:
            g = np.full(NBINS, C["SG_ONE"], F32)
        self.A = (g * g) * p
        self.G = g
        self.xr = xr * g
        self.xi = xi * g

    def synthesis(self) -> np.ndarray:
        y = irfft512(self.xr, self.xi) * tables()["SG_WIN_SYN"]
        out = float_to_int16(self.ola + y[:HOP_LEN])
        self.ola = y[HOP_LEN:].copy()
        return out

    # -- convenience -----------------------------------------------------------------------
    def process_hop(self, in_hop: np.ndarray) -> np.ndarray:
        self.analysis(in_hop)
        self.gain()
        return self.synthesis()

    def enhance(self, x: np.ndarray) -> np.ndarray:
        """Streams x (int16) hop by hop from the current state; zero-pads to a multiple of 256.
        Returns the padded length, in the firmware's alignment: out[n] ~ enhanced x[n - 256]."""
        x = np.asarray(x)
        if x.dtype != np.int16 or x.ndim != 1:
            raise ValueError("expected a 1-D int16 array")
        n = -(-len(x) // HOP_LEN) * HOP_LEN
        xp = np.zeros(n, np.int16)
        xp[: len(x)] = x
        out = np.empty(n, np.int16)
        for i in range(0, n, HOP_LEN):
            out[i : i + HOP_LEN] = self.process_hop(xp[i : i + HOP_LEN])
        return out
