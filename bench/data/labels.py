"""Per-frame labels computed from clean speech: voice activity and F0.

Frame ``f`` at hop ``H`` is the block of samples ``[f*H, (f+1)*H)`` (the block a
streaming model consumes in its f-th PROCESS call); a trailing partial block counts
as a frame (zero-padded), so a signal of N samples has ceil(N/H) frames. Generated
sets use lengths that are multiples of 1280 samples, so hops 160 and 256 tile them.

VAD: frame power (dBFS) above max(P95 - 40 dB, -60 dBFS), where P95 is the 95th
percentile of the frame powers of the utterance; then gaps shorter than 60 ms between
speech frames are filled and speech runs shorter than 20 ms are dropped.

F0: pyworld Harvest (f0 range 50..600 Hz) at a 1 ms frame period, read at each frame's
centre ((f + 0.5) * H samples, nearest millisecond). ``voiced`` = Harvest found a
pitch there and the frame is speech; ``f0_hz`` is 0.0 on frames that are not voiced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyworld

from bench.data.audio import to_float

VAD_REL_DB = -40.0
VAD_FLOOR_DBFS = -60.0
VAD_FILL_GAP_S = 0.060
VAD_MIN_RUN_S = 0.020
F0_FLOOR_HZ = 50.0
F0_CEIL_HZ = 600.0
F0_PERIOD_MS = 1.0

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class FrameLabels:
    """Labels of one utterance on one hop grid (all arrays have one entry per frame)."""

    hop: int
    sample_rate: int
    vad: BoolArray
    f0_hz: npt.NDArray[np.float32]
    voiced: BoolArray

    def __post_init__(self) -> None:
        if self.hop <= 0 or self.sample_rate <= 0:
            raise ValueError(f"hop and sample_rate must be positive, got {self.hop}, {self.sample_rate}")
        n = len(self.vad)
        if len(self.f0_hz) != n or len(self.voiced) != n:
            raise ValueError(
                f"label arrays differ in length: vad {n}, f0_hz {len(self.f0_hz)}, voiced {len(self.voiced)}"
            )

    @property
    def n_frames(self) -> int:
        return len(self.vad)

    @property
    def frame_period_s(self) -> float:
        return self.hop / self.sample_rate


def n_frames(n_samples: int, hop: int) -> int:
    return -(-n_samples // hop)


def frame_power_db(x: npt.ArrayLike, hop: int) -> npt.NDArray[np.float64]:
    """Mean power (dBFS) of each hop block; -inf for a block of digital silence."""
    f = to_float(x)
    m = n_frames(f.size, hop)
    padded = np.zeros(m * hop)
    padded[: f.size] = f
    p = np.mean(padded.reshape(m, hop) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(p), dtype=np.float64)


def _runs(mask: BoolArray, value: bool) -> list[tuple[int, int]]:
    """[start, end) of each run of ``value`` in ``mask``."""
    m = np.concatenate(([False], mask == value, [False])).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def vad_from_clean(clean: npt.ArrayLike, sample_rate: int, hop: int) -> BoolArray:
    """Energy VAD of a clean-speech signal, one decision per hop block (see module doc)."""
    e = frame_power_db(clean, hop)
    finite = e[np.isfinite(e)]
    if finite.size == 0:
        return np.zeros(e.size, dtype=bool)
    thr = max(float(np.percentile(finite, 95)) + VAD_REL_DB, VAD_FLOOR_DBFS)
    vad = e > thr
    period = hop / sample_rate
    for s, t in _runs(vad, False):
        if s > 0 and t < vad.size and (t - s) * period < VAD_FILL_GAP_S:
            vad[s:t] = True
    for s, t in _runs(vad, True):
        if (t - s) * period < VAD_MIN_RUN_S:
            vad[s:t] = False
    return vad


def f0_track_ms(x: npt.ArrayLike, sample_rate: int) -> npt.NDArray[np.float64]:
    """pyworld Harvest F0 (Hz, 0 = unvoiced) every millisecond, starting at t = 0."""
    f = np.ascontiguousarray(to_float(x), dtype=np.float64)
    f0, _ = pyworld.harvest(f, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=F0_PERIOD_MS)
    return np.asarray(f0, dtype=np.float64)


def f0_at_frames(f0_ms: npt.NDArray[np.float64], n: int, sample_rate: int, hop: int) -> npt.NDArray[np.float64]:
    """Sample a 1 ms F0 track at the centres of the ``n`` frames of a hop grid."""
    centres_ms = (np.arange(n) + 0.5) * hop * 1000.0 / sample_rate
    idx = np.clip(np.floor(centres_ms / F0_PERIOD_MS + 0.5).astype(np.int64), 0, f0_ms.size - 1)
    return f0_ms[idx]


def frame_labels(clean: npt.ArrayLike, sample_rate: int, hops: Sequence[int] = (160, 256)) -> dict[int, FrameLabels]:
    """VAD and F0 labels of a clean signal on each hop grid (one Harvest pass for all hops)."""
    x = to_float(clean)
    f0_ms = f0_track_ms(x, sample_rate) if x.size else np.zeros(1)
    out: dict[int, FrameLabels] = {}
    for hop in hops:
        vad = vad_from_clean(x, sample_rate, hop)
        f0 = f0_at_frames(f0_ms, vad.size, sample_rate, hop)
        voiced = (f0 > 0) & vad
        out[hop] = FrameLabels(
            hop=hop,
            sample_rate=sample_rate,
            vad=vad,
            f0_hz=np.where(voiced, f0, 0.0).astype(np.float32),
            voiced=voiced,
        )
    return out


def active_power(clean: npt.ArrayLike, sample_rate: int, hop: int | None = None) -> float:
    """Mean power (linear, full scale 1.0) over the VAD-active frames of a clean signal.

    This is the speech level the generator uses for SNR (close to ITU-T P.56 active
    level). Falls back to the mean power of the whole signal when no frame is active.
    """
    x = to_float(clean)
    h = hop or max(sample_rate // 100, 1)
    vad = vad_from_clean(x, sample_rate, h)
    m = vad.size
    padded = np.zeros(m * h)
    padded[: x.size] = x
    frames = padded.reshape(m, h)
    if not vad.any():
        return float(np.mean(x * x)) if x.size else 0.0
    return float(np.mean(frames[vad] ** 2))
