"""firmware/models/dyncp/dyncp_probes.c built with host gcc (-Werror) is BIT-EXACT with the numpy
golden (bench.models.probes.golden.probe_scores) on the target's packed mask words: all-off,
all-on and random masks, random and extreme int16 weights, channel counts that do and do not
fill the last word (bits above C ignored), the shipped shape (9 x 128, 10 probes); NULL
arguments are refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bench.models.probes.features import pack_bits, words_per_block
from bench.models.probes.golden import probe_scores
from bench.models.probes.native import NativeProbes, ProbesParams
from bench.models.probes.quant import QuantProbes

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


def _probes(rng, n_blocks, n_channels, n_classes, extreme=False):
    p = n_classes + 2
    n = n_blocks * n_channels
    if extreme:
        w = rng.choice(np.array([-32767, -32768, 32767, 0, 1, -1], np.int16), (n, p))
    else:
        w = rng.integers(-32768, 32768, (n, p)).astype(np.int16)
    room = 2**31 - 1 - np.abs(w.astype(np.int64)).sum(axis=0)
    b = (rng.integers(-(2**40), 2**40, p) % np.maximum(room, 1) * rng.choice([-1, 1], p)).astype(np.int32)
    return QuantProbes(w, b, np.zeros(p, np.int32), tuple(f"c{i}" for i in range(n_classes)), n_blocks, n_channels)


def _masks(rng, n, kind):
    p = {"off": 0.0, "on": 1.0, "random": 0.5, "sparse": 0.05, "dense": 0.9}[kind]
    return rng.random(n) < p


@pytest.mark.parametrize(
    "n_blocks,n_channels,n_classes",
    [(9, 128, 8), (3, 40, 3), (2, 32, 1), (1, 1, 1), (4, 33, 2), (2, 95, 5)],
)
@pytest.mark.parametrize("extreme", [False, True])
def test_bit_exact_vs_golden(n_blocks, n_channels, n_classes, extreme):
    rng = np.random.default_rng(n_blocks * 1000 + n_channels + extreme)
    q = _probes(rng, n_blocks, n_channels, n_classes, extreme)
    nat = NativeProbes(q)
    n = n_blocks * n_channels
    frames = [_masks(rng, n, k) for k in ("off", "on", "random", "sparse", "dense") for _ in range(3)]
    bits = np.stack(frames)
    got = nat.scores(bits)
    assert got.dtype == np.int32
    assert np.array_equal(got, probe_scores(bits, q))
    assert np.array_equal(got[0], q.bias)  # all off: the bias
    assert np.array_equal(nat.scores(bits[2]), probe_scores(bits[2], q))  # one frame


def test_bits_above_c_are_ignored():
    rng = np.random.default_rng(7)
    q = _probes(rng, 3, 40, 2)
    nat = NativeProbes(q)
    bits = rng.random((4, 120)) < 0.5
    words = pack_bits(bits, 3, 40)
    dirty = words.copy()
    nw = words_per_block(40)
    dirty[:, nw - 1 :: nw] |= np.uint32(0xFFFFFF00)  # channels 40..63 of every block's last word
    assert not np.array_equal(dirty, words)
    assert np.array_equal(nat.scores_words(dirty), probe_scores(bits, q))


def test_null_arguments():
    rng = np.random.default_rng(8)
    q = _probes(rng, 2, 8, 1)
    nat = NativeProbes(q)
    words = np.zeros(2, np.uint32)
    out = np.full(q.n_probes, 12345, np.int32)
    assert nat.call_raw(None, words, out) == -1
    assert nat.call_raw(nat.params, None, out) == -1
    assert nat.call_raw(nat.params, words, None) == -1
    empty = ProbesParams(0, 8, q.n_probes, nat.params.weights, nat.params.bias)
    assert nat.call_raw(empty, words, out) == -1
    assert np.all(out == 12345)  # untouched
    assert nat.call_raw(nat.params, words, out) == 0 and np.array_equal(out, q.bias)


@pytest.mark.parametrize("n_blocks,n_channels,k", [(9, 128, 2), (3, 40, 1), (4, 33, 4)])
def test_context_scores_frame_by_frame_are_bit_exact_vs_golden(n_blocks, n_channels, k):
    """The firmware's way (own frame, then dyncp_probes_add_lag per earlier frame held, none before
    the utterance's first) equals the golden on features.context_bits."""
    from dataclasses import replace

    from bench.models.probes.features import context_bits

    rng = np.random.default_rng(100 * k + n_channels)
    base = _probes(rng, n_blocks, n_channels, 3)
    n = n_blocks * n_channels
    w = rng.integers(-3000, 3000, ((k + 1) * n, base.n_probes)).astype(np.int16)
    q = replace(base, weights=w, bias=np.zeros(base.n_probes, np.int32), context=k)
    bits = np.stack([_masks(rng, n, kind) for kind in ("random", "sparse", "dense", "on", "off", "random", "random")])
    got = NativeProbes(q).scores(bits)
    assert np.array_equal(got, probe_scores(context_bits(bits, k), q))
    frame0 = NativeProbes(replace(q, weights=w[:n], context=0)).scores(bits[0])
    assert np.array_equal(got[0], frame0)  # nothing before the first frame


def test_add_lag_refuses_lag_zero():
    rng = np.random.default_rng(9)
    q = _probes(rng, 2, 8, 1)
    nat = NativeProbes(q)
    out = np.full(q.n_probes, 7, np.int32)
    assert nat.add_lag_raw(0, np.zeros(2, np.uint32), out) == -1 and np.all(out == 7)
