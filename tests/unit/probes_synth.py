"""Synthetic mask-bit data for the probe tests: bits whose statistics depend on the labels, so
that linear probes can (and must) learn them. Small and fast; no model, no audio."""

from __future__ import annotations

import numpy as np

from bench.models.probes.features import FrameSet

CLASSES = ("a", "b", "c")


def frameset(
    n_utts: int = 20, frames: int = 60, n_blocks: int = 3, n_channels: int = 40, seed: int = 0, draw: int | None = None
) -> FrameSet:
    """Utterances of one class each; per frame VAD (runs), voiced (VAD and a coin), F0 drifting.

    Bit probabilities: a base rate per bit, + 0.35 on a VAD-dependent subset, + 0.35 on a
    class-dependent subset, and a group of bits that switch with F0 (thermometer code).
    ``seed`` fixes that structure, ``draw`` (default: seed) the frames drawn from it."""
    rng = np.random.default_rng(seed)
    nb = n_blocks * n_channels
    base = rng.uniform(0.05, 0.5, nb)
    vad_bits = rng.random(nb) < 0.2
    cls_bits = [rng.random(nb) < 0.15 for _ in CLASSES]
    f0_bits = np.flatnonzero(rng.random(nb) < 0.15)
    if draw is not None:
        rng = np.random.default_rng([seed, draw])
    bits, vad, voiced, f0, fc, ui = [], [], [], [], [], []
    for u in range(n_utts):
        c = u % len(CLASSES)
        v = np.zeros(frames, bool)
        v[rng.integers(0, frames // 3) : frames - rng.integers(0, frames // 3)] = True
        vo = v & (rng.random(frames) < 0.7)
        hz = np.where(vo, 100.0 + 80.0 * np.sin(np.arange(frames) / 9.0 + u) ** 2 + 20.0 * rng.random(), 0.0)
        p = np.tile(base, (frames, 1))
        p += 0.35 * (v[:, None] & vad_bits[None, :])
        p += 0.35 * cls_bits[c][None, :]
        level = np.clip((hz - 90.0) / 120.0, 0.0, 1.0)
        thermo = (np.arange(f0_bits.size)[None, :] + 0.5) / f0_bits.size < level[:, None]
        p[:, f0_bits] = np.where(vo[:, None], 0.05 + 0.9 * thermo, 0.5)
        bits.append(rng.random((frames, nb)) < np.clip(p, 0.0, 1.0))
        vad.append(v)
        voiced.append(vo)
        f0.append(hz.astype(np.float32))
        fc.append(np.full(frames, c, np.int64))
        ui.append(np.full(frames, u, np.int64))
    return FrameSet(
        tuple(f"u{i}" for i in range(n_utts)),
        np.concatenate(bits),
        np.concatenate(vad),
        np.concatenate(voiced),
        np.concatenate(f0),
        np.concatenate(fc),
        np.concatenate(ui),
    )
