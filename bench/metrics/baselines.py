"""Classical baselines for the probes: WebRTC VAD and WORLD F0, on any audio.

webrtc_vad         one speech decision per 10 ms frame (``webrtcvad`` from webrtcvad-wheels)
webrtc_vad_frames  the same, read on a hop grid (the decision at each frame's centre)
world_f0_frames    F0 and voicing per hop frame from pyworld Harvest (or DIO + StoneMask)

Frames follow bench.data.labels: frame f at hop H is samples [f*H, (f+1)*H), a trailing
partial frame is zero-padded, so the outputs line up with FrameLabels.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyworld
import webrtcvad

from bench.data.audio import resample, to_int16
from bench.data.labels import (
    F0_CEIL_HZ,
    F0_FLOOR_HZ,
    F0_PERIOD_MS,
    f0_at_frames,
    f0_track_ms,
    n_frames,
)
from bench.errors import MetricError

WEBRTC_RATES = (8000, 16000, 32000, 48000)
WEBRTC_FRAME_MS = 10


def webrtc_vad(audio: npt.ArrayLike, sample_rate: int, aggressiveness: int = 2) -> npt.NDArray[np.bool_]:
    """WebRTC VAD decision for each 10 ms frame (``ceil(duration / 10 ms)`` frames).

    Audio at a rate WebRTC does not support is resampled to 16 kHz first.
    ``aggressiveness`` 0 (least) .. 3 (most likely to call a frame non-speech).
    """
    if aggressiveness not in (0, 1, 2, 3):
        raise MetricError(f"webrtc_vad: aggressiveness must be 0..3, got {aggressiveness}")
    x = np.asarray(audio)
    if x.ndim != 1:
        raise MetricError(f"webrtc_vad: expects 1-D mono audio, got shape {x.shape}")
    sr = sample_rate
    if sr not in WEBRTC_RATES:
        x, sr = resample(x, sample_rate, 16000), 16000
    pcm = to_int16(x)
    step = sr * WEBRTC_FRAME_MS // 1000
    m = n_frames(pcm.size, step)
    padded = np.zeros(m * step, dtype="<i2")
    padded[: pcm.size] = pcm
    vad = webrtcvad.Vad(aggressiveness)
    raw = padded.tobytes()
    nbytes = 2 * step
    return np.array([vad.is_speech(raw[i * nbytes : (i + 1) * nbytes], sr) for i in range(m)], dtype=bool)


def decisions_on_grid(
    decisions: npt.ArrayLike, frame_s: float, n_out: int, hop: int, sample_rate: int
) -> npt.NDArray[np.bool_]:
    """Read frame decisions made every ``frame_s`` seconds on the hop grid, at each hop
    frame's centre."""
    d = np.asarray(decisions, dtype=bool)
    if d.size == 0:
        return np.zeros(n_out, dtype=bool)
    centres = (np.arange(n_out) + 0.5) * hop / sample_rate
    idx = np.clip(np.floor(centres / frame_s).astype(np.int64), 0, d.size - 1)
    return d[idx]


def webrtc_vad_frames(
    audio: npt.ArrayLike, sample_rate: int, hop: int, aggressiveness: int = 2
) -> npt.NDArray[np.bool_]:
    """WebRTC VAD on the hop grid of bench.data.labels (one decision per hop frame)."""
    x = np.asarray(audio)
    raw = webrtc_vad(x, sample_rate, aggressiveness)
    return decisions_on_grid(raw, WEBRTC_FRAME_MS / 1000.0, n_frames(x.size, hop), hop, sample_rate)


def world_f0_frames(
    audio: npt.ArrayLike, sample_rate: int, hop: int, method: str = "harvest"
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """(f0_hz, voiced) per hop frame from WORLD; f0 is 0 where unvoiced.

    ``method`` "harvest" (the same estimator as the labels, slower, robust) or "dio"
    (DIO + StoneMask, about 8x faster).
    """
    x = np.ascontiguousarray(np.asarray(audio))
    if x.ndim != 1:
        raise MetricError(f"world_f0_frames: expects 1-D mono audio, got shape {x.shape}")
    n = n_frames(x.size, hop)
    if x.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    if method == "harvest":
        f0_ms = f0_track_ms(x, sample_rate)
    elif method == "dio":
        from bench.data.audio import to_float

        f = np.ascontiguousarray(to_float(x), dtype=np.float64)
        f0, t = pyworld.dio(f, sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=F0_PERIOD_MS)
        f0_ms = np.asarray(pyworld.stonemask(f, f0, t, sample_rate), dtype=np.float64)
    else:
        raise MetricError(f"world_f0_frames: method must be 'harvest' or 'dio', got {method!r}")
    f0 = f0_at_frames(f0_ms, n, sample_rate, hop)
    return f0, f0 > 0
