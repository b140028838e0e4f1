"""Probe features: bit order (block-major), packing to the target's uint32 words (the masked
kernels' layout), unpacking, frame sets and their cache."""

from __future__ import annotations

import numpy as np
import pytest
from probes_synth import frameset

from bench.errors import ConfigError
from bench.models.dyncp.golden import pack_mask
from bench.models.probes.features import (
    UttFrames,
    context_bits,
    flatten_masks,
    load_frameset,
    pack_bits,
    stack,
    unpack_words,
    words_per_block,
)


def test_flatten_is_block_major():
    m = np.zeros((2, 3, 5), bool)
    m[0, 1, 4] = True  # frame 0, block 1, channel 4 -> bit 1*5+4
    m[1, 2, 0] = True
    b = flatten_masks(m)
    assert b.shape == (2, 15)
    assert np.flatnonzero(b[0]).tolist() == [9]
    assert np.flatnonzero(b[1]).tolist() == [10]
    with pytest.raises(ConfigError):
        flatten_masks(np.zeros((2, 15), bool))


@pytest.mark.parametrize("n_channels", [1, 31, 32, 33, 40, 128])
def test_pack_matches_kernel_layout(n_channels):
    rng = np.random.default_rng(n_channels)
    n_blocks = 3
    masks = rng.random((4, n_blocks, n_channels)) < 0.5
    bits = flatten_masks(masks)
    words = pack_bits(bits, n_blocks, n_channels)
    nw = words_per_block(n_channels)
    assert words.shape == (4, n_blocks * nw) and words.dtype == np.uint32
    for t in range(4):
        want = np.concatenate([pack_mask(masks[t, b]) for b in range(n_blocks)])
        assert np.array_equal(words[t], want)
    assert np.array_equal(unpack_words(words, n_blocks, n_channels), bits)
    assert np.array_equal(pack_bits(bits[0], n_blocks, n_channels), words[0])  # one frame


def test_unpack_ignores_bits_above_c():
    words = np.full(2 * words_per_block(40), 0xFFFFFFFF, np.uint32)
    bits = unpack_words(words, 2, 40)
    assert bits.shape == (80,) and bits.all()
    with pytest.raises(ConfigError):
        unpack_words(words[:-1], 2, 40)
    with pytest.raises(ConfigError):
        pack_bits(np.zeros(79, bool), 2, 40)


def test_subset_and_cache(tmp_path):
    fs = frameset(n_utts=6, frames=10, n_blocks=2, n_channels=8)
    sub = fs.subset([4, 1])
    assert sub.ids == ("u4", "u1")
    assert np.array_equal(sub.bits[:10], fs.bits[40:50]) and np.array_equal(sub.bits[10:], fs.bits[10:20])
    assert sub.utt_index.tolist() == [0] * 10 + [1] * 10
    assert sub.utt_class.tolist() == [fs.utt_class[4], fs.utt_class[1]]
    p = str(tmp_path / "fs.npz")
    from bench.models.probes.features import save_frameset

    save_frameset(p, fs)
    back = load_frameset(p)
    for name in ("bits", "vad", "voiced", "f0_hz", "frame_class", "utt_index"):
        assert np.array_equal(getattr(back, name), getattr(fs, name)), name
    assert back.ids == fs.ids


def test_stack():
    a = UttFrames("x", np.ones((3, 4), bool), np.ones(3, bool), np.zeros(3, bool), np.zeros(3, np.float32), 1)
    b = UttFrames("y", np.zeros((2, 4), bool), np.zeros(2, bool), np.zeros(2, bool), np.zeros(2, np.float32), 0)
    fs = stack([a, b])
    assert fs.frame_class.tolist() == [1, 1, 1, 0, 0]
    assert fs.utt_class.tolist() == [1, 0]


# -- temporal context ----------------------------------------------------------------------

def test_context_zero_is_todays_features():
    fs = frameset(n_utts=3, frames=7, n_blocks=2, n_channels=5, seed=2)
    out = context_bits(fs.bits, 0, fs.utt_index)
    assert out is fs.bits or np.array_equal(out, fs.bits)
    assert out.shape == fs.bits.shape and out.dtype == fs.bits.dtype


def test_context_stacks_previous_frames_and_pads_each_utterance_start():
    fs = frameset(n_utts=3, frames=7, n_blocks=2, n_channels=5, seed=2)
    k, n = 2, fs.bits.shape[1]
    out = context_bits(fs.bits, k, fs.utt_index)
    assert out.shape == (fs.bits.shape[0], (k + 1) * n) and out.dtype == bool
    for u in range(fs.n_utts):
        idx = np.flatnonzero(fs.utt_index == u)
        x, y = fs.bits[idx], out[idx]
        for t in range(idx.size):
            for lag in range(k + 1):
                want = x[t - lag] if t >= lag else np.zeros(n, bool)  # no bit set before the start
                assert np.array_equal(y[t, lag * n:(lag + 1) * n], want), (u, t, lag)
    # the first frame of utterance 1 does not see the last frames of utterance 0
    first1 = np.flatnonzero(fs.utt_index == 1)[0]
    assert not out[first1, n:].any()
    # one utterance (no utt_index) is the same as its slice of the stacked set
    idx = np.flatnonzero(fs.utt_index == 2)
    assert np.array_equal(context_bits(fs.bits[idx], k), out[idx])


def test_context_on_float_features_and_short_utterances():
    x = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
    y = context_bits(x, 4)
    assert y.shape == (3, 10) and y.dtype == np.float32
    assert y[2].tolist() == [5, 6, 3, 4, 1, 2, 0, 0, 0, 0]
    assert not y[0, 2:].any()
    with pytest.raises(ConfigError):
        context_bits(x, -1)
    with pytest.raises(ConfigError):
        context_bits(x, 1, np.zeros(2, np.int64))


def test_context_needs_a_frame_matrix():
    with pytest.raises(ConfigError, match=r"context features need frames \(T, n\), got shape \(6,\)"):
        context_bits(np.zeros(6, np.uint8), 2)
