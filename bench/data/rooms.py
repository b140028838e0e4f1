"""Room reverberation by image-source shoebox rooms (pyroomacoustics, the `data` extra).

A room is drawn as: floor 3..10 m x 3..8 m, height 2.4..4 m, reverberation time RT60
0.15..0.8 s (wall absorption and image order from Sabine's formula, the image order capped
at ``MAX_ORDER`` to bound the time), the talker and the microphone at least 0.5 m from
every wall, 0.7..2 m high, 0.5..4 m apart. The returned impulse response is normalised
to a unit direct path (its peak), so the level of the reverberant speech is set later by
the generator's active-level rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from bench.data.audio import FloatArray
from bench.errors import DataError

RT60_RANGE = (0.15, 0.8)
MAX_ORDER = 17
_MIN_WALL = 0.5


@dataclass(frozen=True)
class Room:
    """A drawn room: dimensions (m), RT60 (s), source and microphone positions (m)."""

    dims: tuple[float, float, float]
    rt60: float
    source: tuple[float, float, float]
    mic: tuple[float, float, float]

    @property
    def distance(self) -> float:
        return math.dist(self.source, self.mic)


def _pra():  # noqa: ANN202
    try:
        import pyroomacoustics as pra
    except ImportError:
        raise DataError(
            "room reverberation needs pyroomacoustics: `pip install -e .[data]` (scripts/bootstrap installs it)"
        ) from None
    return pra


def draw_room(rng: np.random.Generator) -> Room:
    """A random shoebox room with a talker and a microphone in it (see the module doc)."""
    dims = (float(rng.uniform(3, 10)), float(rng.uniform(3, 8)), float(rng.uniform(2.4, 4)))
    rt60 = float(rng.uniform(*RT60_RANGE))

    def point() -> tuple[float, float, float]:
        return (
            float(rng.uniform(_MIN_WALL, dims[0] - _MIN_WALL)),
            float(rng.uniform(_MIN_WALL, dims[1] - _MIN_WALL)),
            float(rng.uniform(0.7, 2.0)),
        )

    src = point()
    for _ in range(100):
        mic = point()
        if 0.5 <= math.dist(src, mic) <= 4.0:
            break
    else:  # pragma: no cover - a 3 x 3 m room always has such a point within 100 draws in practice
        mic = (src[0], src[1], min(src[2] + 0.5, dims[2] - _MIN_WALL))
    return Room(tuple(round(v, 3) for v in dims), round(rt60, 3), src, mic)  # type: ignore[arg-type]


def impulse_response(room: Room, sample_rate: int) -> FloatArray:
    """The room's impulse response from the talker to the microphone, direct path peak 1."""
    pra = _pra()
    try:
        absorption, order = pra.inverse_sabine(room.rt60, list(room.dims))
    except ValueError as exc:
        raise DataError(f"room {room.dims} cannot have RT60 {room.rt60} s ({exc}); draw another room") from None
    shoebox = pra.ShoeBox(
        list(room.dims), fs=sample_rate, materials=pra.Material(absorption), max_order=min(order, MAX_ORDER)
    )
    shoebox.add_source(list(room.source))
    shoebox.add_microphone(np.array(room.mic)[:, None])
    try:
        shoebox.compute_rir()
        rir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    except ValueError:  # pyroomacoustics found no path to the microphone (one outside the room): no response
        rir = np.zeros(0)
    peak = float(np.max(np.abs(rir))) if rir.size else 0.0
    if not math.isfinite(peak) or peak <= 0:
        raise DataError(f"room {room}: empty impulse response; draw another room")
    return rir / peak


def reverberate(x: FloatArray, rir: FloatArray) -> FloatArray:
    """``x`` convolved with ``rir``, cut to ``len(x)`` plus the tail (the caller places it)."""
    return fftconvolve(x, rir)[: x.size + rir.size - 1]
