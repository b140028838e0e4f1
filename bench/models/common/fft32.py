"""float32 real FFT of the golden models, operation for operation what the firmware computes.

A real DFT of ``N`` points runs as an ``N/2``-point mixed-radix complex FFT (radix 2, 4, 5
stages bottom-up, decimation in time, input in leaf order) of the even/odd packed frame and
the real-FFT split. Every numpy ufunc call is one IEEE single-precision rounding, in the
order the C code performs them (build the C code with ``-ffp-contract=off``), so golden and
target agree bit for bit. Used by nsNet2 (320 = 2 x 160, stages 2, 4, 4, 5) and Conv-FSENet
(512 = 2 x 256, stages 4, 4, 4, 4).

:class:`RealFft` holds the tables (leaf permutation, twiddles per stage, split cosines and
sines); the firmware gets the same float32 values as hex floats from the exporters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = np.float32
HALF = F32(0.5)
I16_MAX, I16_MIN = F32(32767.0), F32(-32768.0)
C51, C52 = F32(np.cos(2 * np.pi / 5)), F32(np.cos(4 * np.pi / 5))
S51, S52 = F32(np.sin(2 * np.pi / 5)), F32(np.sin(4 * np.pi / 5))


def _leaf_order(idx: np.ndarray, radices: Sequence[int]) -> np.ndarray:
    if not radices:
        return idx
    r = radices[0]
    return np.concatenate([_leaf_order(idx[j::r], radices[1:]) for j in range(r)])


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _cmul(ar: np.ndarray, ai: np.ndarray, br: np.ndarray, bi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ar * br - ai * bi, ar * bi + ai * br


def _radix5(tr: list[np.ndarray], ti: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """y_q = sum_j t_j W5^(j q), W5 = exp(-2 pi i / 5), by the symmetric pairs (t1, t4), (t2, t3)."""
    a1r, a1i = tr[1] + tr[4], ti[1] + ti[4]
    b1r, b1i = tr[1] - tr[4], ti[1] - ti[4]
    a2r, a2i = tr[2] + tr[3], ti[2] + ti[3]
    b2r, b2i = tr[2] - tr[3], ti[2] - ti[3]
    y0 = (tr[0] + (a1r + a2r), ti[0] + (a1i + a2i))
    pr, pi = tr[0] + (C51 * a1r + C52 * a2r), ti[0] + (C51 * a1i + C52 * a2i)
    ur, ui = S51 * b1r + S52 * b2r, S51 * b1i + S52 * b2i
    qr, qi = tr[0] + (C52 * a1r + C51 * a2r), ti[0] + (C52 * a1i + C51 * a2i)
    vr, vi = S52 * b1r - S51 * b2r, S52 * b1i - S51 * b2i
    return [y0, (pr + ui, pi - ur), (qr + vi, qi - vr), (qr - vi, qi + vr), (pr - ui, pi + ur)]


def _radix4(tr: list[np.ndarray], ti: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    ar_, ai_ = tr[0] + tr[2], ti[0] + ti[2]
    br_, bi_ = tr[0] - tr[2], ti[0] - ti[2]
    cr_, ci_ = tr[1] + tr[3], ti[1] + ti[3]
    dr_, di_ = tr[1] - tr[3], ti[1] - ti[3]
    # outputs 0, 1, 2, 3: a + c, b - i d, a - c, b + i d
    return [(ar_ + cr_, ai_ + ci_), (br_ + di_, bi_ - dr_), (ar_ - cr_, ai_ - ci_), (br_ - di_, bi_ + dr_)]


def _radix2(tr: list[np.ndarray], ti: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(tr[0] + tr[1], ti[0] + ti[1]), (tr[0] - tr[1], ti[0] - ti[1])]


_BUTTERFLY = {2: _radix2, 4: _radix4, 5: _radix5}


@dataclass(frozen=True, eq=False)
class RealFft:
    """Real DFT of ``frame_len`` points; ``stages`` = ((radix, sub-length m), ...) bottom-up,
    the product of the radices is ``frame_len // 2`` and stage s has ``m`` = product of the
    radices below it."""

    frame_len: int
    stages: tuple[tuple[int, int], ...]
    perm: np.ndarray = field(init=False, repr=False)
    twiddles: tuple[tuple[np.ndarray, np.ndarray], ...] = field(init=False, repr=False)
    split_cos: np.ndarray = field(init=False, repr=False)
    split_sin: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.frame_len // 2
        m = 1
        for r, sub in self.stages:
            if r not in _BUTTERFLY or sub != m:
                raise ValueError(f"bad FFT stages {self.stages}")
            m *= r
        if m != n or 2 * n != self.frame_len:
            raise ValueError(f"stages {self.stages} do not make a {n}-point FFT")
        top_down = tuple(r for r, _ in reversed(self.stages))
        object.__setattr__(self, "perm", _frozen(_leaf_order(np.arange(n), top_down).astype(np.intp)))
        tw = []
        for r, sub in self.stages:
            j = np.arange(1, r)[:, None]
            k = np.arange(sub)[None, :]
            ang = -2.0 * np.pi * (j * k) / (r * sub)
            tw.append((_frozen(np.cos(ang).astype(F32).reshape(-1)), _frozen(np.sin(ang).astype(F32).reshape(-1))))
        object.__setattr__(self, "twiddles", tuple(tw))
        k = np.arange(n + 1)
        c = np.cos(2 * np.pi * k / self.frame_len)
        s = np.sin(2 * np.pi * k / self.frame_len)
        for i in (0, n // 2, n):  # exact values at 0, pi/2, pi
            c[i], s[i] = np.round(c[i]), np.round(s[i])
        object.__setattr__(self, "split_cos", _frozen(c.astype(F32)))
        object.__setattr__(self, "split_sin", _frozen(s.astype(F32)))

    @property
    def n(self) -> int:
        """Points of the complex FFT (frame_len / 2)."""
        return self.frame_len // 2

    @property
    def n_bins(self) -> int:
        return self.n + 1

    def fft(self, zr: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward complex FFT along the last axis, input in leaf (permuted) order.

        Stage s (radix r, sub-length m): inputs j = 1..r-1 of butterfly k are multiplied by the
        twiddle W_n^(j k) (n = r m), except at k = 0 where the twiddle is 1 and no multiply is
        done; then the radix-r DFT (radix 4 and 2 by additions, radix 5 by the symmetric pairs)."""
        n_all = self.n
        re = np.array(zr, F32, copy=True)
        im = np.array(zi, F32, copy=True)
        lead = re.shape[:-1]
        for (r, m), (twr_all, twi_all) in zip(self.stages, self.twiddles, strict=True):
            n = r * m
            sr = re.reshape(*lead, n_all // n, r, m)
            si = im.reshape(*lead, n_all // n, r, m)
            twr, twi = twr_all.reshape(r - 1, m), twi_all.reshape(r - 1, m)
            tr, ti = [sr[..., 0, :]], [si[..., 0, :]]
            for j in range(1, r):
                a, b = _cmul(sr[..., j, :], si[..., j, :], twr[j - 1], twi[j - 1])
                a[..., 0] = sr[..., j, 0]  # k = 0: twiddle 1, not multiplied
                b[..., 0] = si[..., j, 0]
                tr.append(a)
                ti.append(b)
            orr, oi = np.empty_like(sr), np.empty_like(si)
            for q, (yr, yi) in enumerate(_BUTTERFLY[r](tr, ti)):
                orr[..., q, :], oi[..., q, :] = yr, yi
            re = orr.reshape(*lead, n_all)
            im = oi.reshape(*lead, n_all)
        return re, im

    def rfft(self, x: npt.ArrayLike, win: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windowed real DFT of frames (..., frame_len) float32: (Xr, Xi) (..., n + 1)."""
        a = np.asarray(x, F32)
        n, perm = self.n, self.perm
        zr = a[..., 2 * perm] * win[2 * perm]
        zi = a[..., 2 * perm + 1] * win[2 * perm + 1]
        fr, fi = self.fft(zr, zi)
        k = np.arange(n + 1)
        ar, ai = fr[..., k % n], fi[..., k % n]
        br, bi = fr[..., (n - k) % n], fi[..., (n - k) % n]
        c, s = self.split_cos, self.split_sin
        sr, si = ar + br, ai - bi
        dr, di = ar - br, ai + bi
        xr = HALF * (sr + (c * di - s * dr))
        xi = HALF * (si - (c * dr + s * di))
        return xr.astype(F32), xi.astype(F32)

    def irfft(self, yr: np.ndarray, yi: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`rfft` times frame_len (no window): (..., n + 1) -> (..., frame_len)."""
        n = self.n
        k = np.arange(n)
        c, s = self.split_cos[:n], self.split_sin[:n]
        ar, ai = yr[..., k], yi[..., k]
        br, bi = yr[..., n - k], yi[..., n - k]
        sr, si = ar + br, ai - bi
        dr, di = ar - br, ai + bi
        vr = sr - (c * di + s * dr)
        vi = -(si + (c * dr - s * di))
        fr, fi = self.fft(vr[..., self.perm], vi[..., self.perm])
        out = np.empty(yr.shape[:-1] + (self.frame_len,), F32)
        out[..., 0::2] = fr
        out[..., 1::2] = -fi
        return out


def round_half_away(v: np.ndarray) -> np.ndarray:
    """float32 -> int32 by truncation and the exact remainder (the C code's f2i)."""
    t = np.trunc(v).astype(F32)
    f = v - t
    r = t.astype(np.int32)
    return r + (f >= HALF).astype(np.int32) - (f <= -HALF).astype(np.int32)


def f2i16(v: np.ndarray) -> np.ndarray:
    """float32 in int16 units -> int16, saturated, rounded half away from zero."""
    v = np.asarray(v, F32)
    return round_half_away(np.minimum(np.maximum(v, I16_MIN), I16_MAX)).astype(np.int16)


def int_frames(noisy: np.ndarray, n_hops: int, hop: int) -> np.ndarray:
    """(n_hops, 2 hop) float32 frames in int16 units: frame t = [hop t-1, hop t] (zeros before)."""
    a = np.zeros((n_hops + 1) * hop, F32)
    x = np.asarray(noisy, np.int16).astype(F32)
    a[hop : hop + x.size] = x[: n_hops * hop]
    hops = a.reshape(n_hops + 1, hop)
    return np.concatenate([hops[:-1], hops[1:]], axis=1)


def overlap_add_hops(y: np.ndarray, hop: int) -> np.ndarray:
    """Synthesis frames (T, 2 hop) -> (T * hop,) float32: hop t = y[t-1][hop:] + y[t][:hop]."""
    out = y[:, :hop].copy()
    out[1:] = y[:-1, hop:] + out[1:]
    return out.reshape(-1)
