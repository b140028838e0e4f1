"""Probe features: the per-frame channel keep-mask bits of a DynCP model, and the labels.

Bit order (the target's): bit ``i = b * C + c`` is channel c of gated block b
(block-major). Packed, block b owns ``ceil(C / 32)`` uint32 words and channel c is bit
``c % 32`` of its word ``c // 32`` (bench.models.dyncp.golden.pack_mask, per block).

Frame t of a mask sequence (``Enhanced.masks[t]``, the frame ending with hop t) lines up
with label frame t (samples ``[256 t, 256 (t + 1))``) of bench.data.labels at hop 256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.data.audio import to_float
from bench.data.loader import Utterance
from bench.data.noises import NOISE_CLASSES
from bench.errors import ConfigError, DataError
from bench.models.dyncp import frontend
from bench.models.dyncp.config import HOP_LEN
from bench.models.dyncp.reference import DyncpModel, enhance_offline

BoolArray = npt.NDArray[np.bool_]


def flatten_masks(masks: npt.ArrayLike) -> BoolArray:
    """Mask sequence (T, n_blocks, C) bool -> bits (T, n_blocks * C), block-major."""
    m = np.asarray(masks, dtype=bool)
    if m.ndim != 3:
        raise ConfigError(f"masks must be (T, n_blocks, C), got shape {m.shape}")
    return np.ascontiguousarray(m.reshape(m.shape[0], m.shape[1] * m.shape[2]))


def words_per_block(n_channels: int) -> int:
    return (n_channels + 31) // 32


def pack_bits(bits: npt.ArrayLike, n_blocks: int, n_channels: int) -> npt.NDArray[np.uint32]:
    """Bits (..., n_blocks * C) -> uint32 words (..., n_blocks * ceil(C / 32)), the C layout."""
    b = np.asarray(bits, dtype=bool)
    if b.shape[-1] != n_blocks * n_channels:
        raise ConfigError(f"expected {n_blocks} x {n_channels} bits per frame, got {b.shape[-1]}")
    nw = words_per_block(n_channels)
    lead = b.shape[:-1]
    padded = np.zeros((*lead, n_blocks, nw * 32), dtype=np.uint64)
    padded[..., :n_channels] = b.reshape(*lead, n_blocks, n_channels)
    weights = np.uint64(1) << np.arange(32, dtype=np.uint64)
    words = (padded.reshape(*lead, n_blocks, nw, 32) * weights).sum(axis=-1)
    return words.reshape(*lead, n_blocks * nw).astype(np.uint32)


def unpack_words(words: npt.ArrayLike, n_blocks: int, n_channels: int) -> BoolArray:
    """uint32 words (..., n_blocks * ceil(C / 32)) -> bits (..., n_blocks * C); bits at or above
    C in a block's last word are ignored (as the C probes do)."""
    w = np.asarray(words, dtype=np.uint32)
    nw = words_per_block(n_channels)
    if w.shape[-1] != n_blocks * nw:
        raise ConfigError(f"expected {n_blocks} x {nw} mask words per frame, got {w.shape[-1]}")
    lead = w.shape[:-1]
    shifts = np.arange(32, dtype=np.uint32)
    bits = ((w.reshape(*lead, n_blocks, nw, 1) >> shifts) & np.uint32(1)).astype(bool)
    return np.ascontiguousarray(bits.reshape(*lead, n_blocks, nw * 32)[..., :n_channels].reshape(*lead, -1))


def context_bits(bits: npt.ArrayLike, k: int, utt_index: npt.ArrayLike | None = None) -> np.ndarray:
    """Features with a temporal context of ``k`` frames: frame t gets ``[x_t, x_{t-1}, ..., x_{t-k}]``
    ((T, (k + 1) n) from (T, n)); a frame before its utterance's first is all zeros (no bit set,
    what a history cleared at RESET_STATE holds). ``utt_index`` (N,): the utterance of each frame
    when the frames of several utterances are stacked (each utterance's frames contiguous, in
    order); None: one utterance. k = 0 returns the features as they are."""
    x = np.asarray(bits)
    if k < 0:
        raise ConfigError(f"probe context must be >= 0 frames, got {k}")
    if k == 0:
        return x
    if x.ndim != 2:
        raise ConfigError(f"context features need frames (T, n), got shape {x.shape}")
    t = x.shape[0]
    if utt_index is None:
        pos = np.arange(t)
    else:
        u = np.asarray(utt_index).ravel()
        if u.size != t:
            raise ConfigError(f"{t} frames but {u.size} utterance indices")
        starts = np.r_[True, u[1:] != u[:-1]] if t else np.zeros(0, bool)
        first = np.maximum.accumulate(np.where(starts, np.arange(t), 0)) if t else np.zeros(0, np.int64)
        pos = np.arange(t) - first
    n = x.shape[1]
    out = np.zeros((t, (k + 1) * n), dtype=x.dtype)
    out[:, :n] = x
    for lag in range(1, k + 1):
        have = np.flatnonzero(pos >= lag)  # frames with a lag-th predecessor in their utterance
        out[have, lag * n:(lag + 1) * n] = x[have - lag]
    return out


@dataclass(frozen=True, eq=False)
class UttFrames:
    """One utterance's probe inputs and targets on the hop-256 grid (T frames)."""

    utt: str
    bits: np.ndarray  # (T, n_bits) bool mask bits (or other per-frame features)
    vad: BoolArray  # (T,)
    voiced: BoolArray  # (T,)
    f0_hz: npt.NDArray[np.float32]  # (T,), 0 where not voiced
    noise_class: int  # index into the class list, -1 when unknown

    @property
    def n_frames(self) -> int:
        return int(self.vad.size)


def _fit(a: np.ndarray, t: int) -> np.ndarray:
    """Cut or zero-pad a per-frame array to t frames."""
    a = np.asarray(a)[:t]
    return np.pad(a, (0, t - a.size)) if a.size < t else a


def class_index(name: str | None, classes: Sequence[str] = NOISE_CLASSES, strict: bool = True) -> int:
    """The class's index; -1 for no class, and (``strict=False``) for a class not in ``classes``
    (the diverse sets' recorded-music: its frames still train VAD and F0)."""
    if name is None:
        return -1
    if name not in classes:
        if not strict:
            return -1
        raise DataError(f"noise class {name!r} is not one of {tuple(classes)}")
    return list(classes).index(name)


def utterance_frames(
    model: DyncpModel, u: Utterance, classes: Sequence[str] = NOISE_CLASSES, bits: np.ndarray | None = None,
    strict: bool = True,
) -> UttFrames:
    """Mask bits of the float reference on ``u.noisy`` with the utterance's labels at hop 256
    and its noise class. ``bits`` replaces the mask bits by other per-frame features (T, n),
    kept as given (e.g. float features for a comparison probe)."""
    cfg = model.config
    if not cfg.gated:
        raise ConfigError(f"{cfg.name}: an ungated model has no keep-masks to probe")
    if u.sample_rate != cfg.sample_rate:
        raise DataError(f"{u.id}: at {u.sample_rate} Hz, the model runs at {cfg.sample_rate} Hz")
    if bits is None:
        bits = flatten_masks(enhance_offline(model, u.noisy).masks)
    feats = np.ascontiguousarray(bits)
    t = feats.shape[0]
    lab = u.frame_labels(HOP_LEN)
    if abs(lab.n_frames - t) > 1:
        raise DataError(f"{u.id}: {t} mask frames but {lab.n_frames} label frames at hop {HOP_LEN}")
    return UttFrames(
        u.id,
        feats,
        _fit(lab.vad, t).astype(bool),
        _fit(lab.voiced, t).astype(bool),
        _fit(lab.f0_hz, t).astype(np.float32),
        class_index(u.noise_class, classes, strict),
    )


@dataclass(frozen=True, eq=False)
class FrameSet:
    """Frames of many utterances stacked: ``utt_index[i]`` is the utterance of frame i."""

    ids: tuple[str, ...]
    bits: BoolArray  # (N, n_bits)
    vad: BoolArray
    voiced: BoolArray
    f0_hz: npt.NDArray[np.float32]
    frame_class: npt.NDArray[np.int64]  # (N,) the utterance's class index per frame
    utt_index: npt.NDArray[np.int64]  # (N,)

    @property
    def n_utts(self) -> int:
        return len(self.ids)

    @property
    def utt_class(self) -> npt.NDArray[np.int64]:
        """Class index per utterance (n_utts,)."""
        out = np.full(self.n_utts, -1, np.int64)
        out[self.utt_index] = self.frame_class
        return out

    def subset(self, utts: npt.ArrayLike) -> FrameSet:
        """The frames of utterances ``utts`` (indices), renumbered in that order."""
        sel = [int(i) for i in np.asarray(utts).ravel()]
        parts = [np.flatnonzero(self.utt_index == i) for i in sel]
        idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        new = np.concatenate([np.full(p.size, j, np.int64) for j, p in enumerate(parts)]) if parts else idx
        return FrameSet(
            tuple(self.ids[i] for i in sel),
            self.bits[idx],
            self.vad[idx],
            self.voiced[idx],
            self.f0_hz[idx],
            self.frame_class[idx],
            new,
        )


def stack(frames: Sequence[UttFrames]) -> FrameSet:
    if not frames:
        raise DataError("no utterances to stack")
    return FrameSet(
        tuple(f.utt for f in frames),
        np.concatenate([f.bits for f in frames]),
        np.concatenate([f.vad for f in frames]),
        np.concatenate([f.voiced for f in frames]),
        np.concatenate([f.f0_hz for f in frames]),
        np.concatenate([np.full(f.n_frames, f.noise_class, np.int64) for f in frames]),
        np.concatenate([np.full(f.n_frames, i, np.int64) for i, f in enumerate(frames)]),
    )


def input_spectrum(model: DyncpModel, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The model's own input features ``|X|^c`` (T, 257) of a signal, frame t = hop t (the frames
    the masks are computed on): for comparison probes on the input rather than the masks."""
    padded = frontend.pad_hops(to_float(x), extra=1)
    spec = frontend.stft(padded)[:-1]  # the last frame only flushes the overlap-add
    return frontend.features(spec, model.config.compress)


def set_frames(model: DyncpModel, utts: Sequence[Utterance], classes: Sequence[str] = NOISE_CLASSES,
               strict: bool = True) -> FrameSet:
    """Mask bits and labels of every utterance (float reference masks); ``strict=False``: a noise
    class outside ``classes`` becomes -1 (no class) instead of an error."""
    return stack([utterance_frames(model, u, classes, strict=strict) for u in utts])


def save_frameset(path: str, fs: FrameSet) -> None:
    """Cache a FrameSet (bits packed with numpy's packbits)."""
    np.savez_compressed(
        path,
        ids=np.array(fs.ids),
        bits=np.packbits(fs.bits, axis=1),
        n_bits=np.int64(fs.bits.shape[1]),
        vad=fs.vad,
        voiced=fs.voiced,
        f0_hz=fs.f0_hz,
        frame_class=fs.frame_class,
        utt_index=fs.utt_index,
    )


def load_frameset(path: str) -> FrameSet:
    with np.load(path, allow_pickle=False) as z:
        n = int(z["n_bits"])
        return FrameSet(
            tuple(str(s) for s in z["ids"]),
            np.unpackbits(z["bits"], axis=1, count=n).astype(bool),
            z["vad"].astype(bool),
            z["voiced"].astype(bool),
            z["f0_hz"].astype(np.float32),
            z["frame_class"].astype(np.int64),
            z["utt_index"].astype(np.int64),
        )
