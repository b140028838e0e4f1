"""DynCP kernels (firmware/kernels/bk_pw_conv_s8.c, bk_pw_conv_t_s8.c, bk_dw_conv_s8.c) built
with host gcc are BIT-EXACT with the golden ops (bench.models.dyncp.golden, built on
bench.models.common.int8ops) on the reference path and on the DSP path's data layout
(-DBK_EMULATE_DSP), for random keep-masks including all-off and all-on, odd channel counts
and extreme multipliers; skipped channels are never written and their weights never read."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.models.common.ckernels import KernelStatusError
from bench.models.common import int8ops as q8
from bench.models.dyncp import golden as g
from bench.models.dyncp.kernels import DyncpKernels

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", params=["ref", "dsp-emulated"])
def dk(request):
    k = DyncpKernels(emulate_dsp=request.param == "dsp-emulated")
    assert k.dsp == (request.param == "dsp-emulated")
    return k


@st.composite
def problem(draw, max_in=70, max_out=70):
    n_in = draw(st.integers(1, max_in))
    n_out = draw(st.integers(1, max_out))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask_kind = draw(st.sampled_from(["random", "off", "on", "none", "sparse", "dense"]))
    return n_in, n_out, rng, mask_kind


def _keep(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    if kind == "none":
        return None
    p = {"random": 0.5, "off": 0.0, "on": 1.0, "sparse": 0.15, "dense": 0.85}[kind]
    return rng.random(n) < p


def _quant(rng: np.random.Generator, n: int, extreme: bool) -> tuple[np.ndarray, np.ndarray]:
    if extreme:
        return (
            rng.integers(0, q8.INT32_MAX, n, dtype=np.int64).astype(np.int32),
            rng.integers(-31, 31, n).astype(np.int32),
        )
    return q8.quantize_multiplier_array(10.0 ** rng.uniform(-5, -1, n))


def _bias(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    if kind == "none":
        return None
    hi = 1 << 20 if kind == "small" else q8.INT32_MAX
    return rng.integers(-hi, hi, n, dtype=np.int64).astype(np.int32)


@given(
    problem(), st.booleans(), st.sampled_from(["none", "small", "full"]), st.integers(-128, 128), st.integers(-128, 127)
)
@SETTINGS
def test_pw_conv_output_masked(dk, prob, extreme, bias_kind, in_off, out_off):
    n_in, n_out, rng, kind = prob
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int8)
    b = _bias(rng, n_out, bias_kind)
    m, s = _quant(rng, n_out, extreme)
    keep = _keep(rng, n_out, kind)
    sentinel = rng.integers(-128, 128, n_out).astype(np.int8)
    want = g.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, sentinel)
    got = dk.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, sentinel)
    assert np.array_equal(got, want)
    if keep is not None:
        assert np.array_equal(got[~keep], sentinel[~keep])  # skipped outputs untouched


@given(
    problem(),
    st.booleans(),
    st.sampled_from(["none", "small", "full"]),
    st.integers(-128, 128),
    st.integers(-128, 127),
    st.integers(-128, 127),
    st.integers(0, 255),
)
@SETTINGS
def test_pw_conv_input_masked(dk, prob, extreme, bias_kind, in_off, out_off, lo, width):
    n_in, n_out, rng, kind = prob
    x = rng.integers(-128, 128, n_in).astype(np.int8)
    wt = rng.integers(-128, 128, (n_in, n_out)).astype(np.int8)
    b = _bias(rng, n_out, bias_kind)
    m, s = _quant(rng, n_out, extreme)
    keep = _keep(rng, n_in, kind)
    hi = min(127, lo + width)
    want = g.pw_conv_t_s8(x, wt, b, in_off, m, s, out_off, keep, lo, hi)
    assert np.array_equal(dk.pw_conv_t_s8(x, wt, b, in_off, m, s, out_off, keep, lo, hi), want)


def test_skipped_inputs_weights_are_not_read(dk):
    """Same result whatever a skipped input channel's weights and value are."""
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, 37).astype(np.int8)
    wt = rng.integers(-128, 128, (37, 29)).astype(np.int8)
    keep = rng.random(37) < 0.4
    m, s = q8.quantize_multiplier_array(np.full(29, 2e-3))
    a = dk.pw_conv_t_s8(x, wt, None, 5, m, s, -3, keep)
    wt2, x2 = wt.copy(), x.copy()
    wt2[~keep] = rng.integers(-128, 128, (int((~keep).sum()), 29))
    x2[~keep] = 127
    assert np.array_equal(a, dk.pw_conv_t_s8(x2, wt2, None, 5, m, s, -3, keep))
    assert np.array_equal(a, q8.fc_s8(x[keep], wt[keep].T, None, 5, m, s, -3))


@given(
    st.integers(1, 70),
    st.sampled_from([1, 2, 4, 3]),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["random", "off", "on", "none", "sparse", "dense"]),
    st.booleans(),
    st.sampled_from(["none", "small", "full"]),
    st.integers(-127, 128),
    st.integers(-128, 127),
)
@SETTINGS
def test_dw_conv_frame(dk, c, d, seed, kind, extreme, bias_kind, in_off, out_off):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, c).astype(np.int8)
    ring = rng.integers(-128, 128, (2 * d, c)).astype(np.int8)
    pos = int(rng.integers(0, 2 * d))
    w = rng.integers(-128, 128, (3, c)).astype(np.int8)
    b = _bias(rng, c, bias_kind)
    m, s = _quant(rng, c, extreme)
    keep = _keep(rng, c, kind)
    out0 = rng.integers(-128, 128, c).astype(np.int8)
    want = g.dw_conv_s8(x, ring, pos, d, w, b, in_off, m, s, out_off, keep, out0)
    got = dk.dw_conv_s8(x, ring, pos, d, w, b, in_off, m, s, out_off, keep, out0)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]
    if keep is not None:
        assert np.array_equal(got[0][~keep], out0[~keep])
        assert np.all(got[1][pos][~keep] == np.int8(-in_off))


@pytest.mark.parametrize("d", [1, 2, 4])
def test_dw_conv_stream_equals_a_causal_dilated_conv(dk, d):
    """Frame by frame with the ring == the whole-sequence causal conv on masked inputs."""
    rng = np.random.default_rng(d)
    c, t, zp = 19, 30, -7
    xs = rng.integers(-128, 128, (t, c)).astype(np.int8)
    keeps = rng.random((t, c)) < 0.6
    keeps[3] = False
    keeps[4] = True
    w = rng.integers(-128, 128, (3, c)).astype(np.int8)
    b = rng.integers(-5000, 5000, c).astype(np.int32)
    m, s = q8.quantize_multiplier_array(np.full(c, 3e-3))
    ring = np.full((2 * d, c), zp, np.int8)
    pos = 0
    hist = np.where(keeps, xs, np.int8(zp)).astype(np.int8)  # what each frame leaves behind
    pad = np.concatenate([np.full((2 * d, c), zp, np.int8), hist])
    for i in range(t):
        out, ring, pos = dk.dw_conv_s8(xs[i], ring, pos, d, w, b, -zp, m, s, 3, keeps[i], np.zeros(c, np.int8))
        taps = np.stack([pad[i], pad[i + d], xs[i]])  # frames t-2d, t-d, t
        for ch in np.flatnonzero(keeps[i]):
            want = q8.fc_s8(taps[:, ch], w[:, ch][None], b[ch : ch + 1], -zp, m[ch : ch + 1], s[ch : ch + 1], 3)
            assert out[ch] == want[0], (i, ch)


def test_bench_shapes_all_on_and_all_off(dk):
    rng = np.random.default_rng(0)
    for r, c in ((64, 128), (128, 256)):
        x = rng.integers(-128, 128, r).astype(np.int8)
        w = rng.integers(-127, 128, (c, r)).astype(np.int8)
        b = rng.integers(-30000, 30000, c).astype(np.int32)
        m, s = q8.quantize_multiplier_array(rng.uniform(1e-4, 3e-3, c))
        z = np.zeros(c, np.int8)
        on, off = np.ones(c, bool), np.zeros(c, bool)
        assert np.array_equal(dk.pw_conv_s8(x, w, b, -3, m, s, 2, on, z), q8.fc_s8(x, w, b, -3, m, s, 2))
        assert np.array_equal(dk.pw_conv_s8(x, w, b, -3, m, s, 2, off, z), z)
        h = rng.integers(-128, 128, c).astype(np.int8)
        m2, s2 = q8.quantize_multiplier_array(rng.uniform(1e-4, 3e-3, r))
        b2 = b[:r]
        assert np.array_equal(dk.pw_conv_t_s8(h, w, b2, 1, m2, s2, 0, on), q8.fc_s8(h, w.T, b2, 1, m2, s2, 0))
        assert np.array_equal(
            dk.pw_conv_t_s8(h, w, b2, 1, m2, s2, 0, off), q8.fc_s8(h[:0], w.T[:, :0], b2, 1, m2, s2, 0)
        )


def test_argument_errors(dk):
    x = np.zeros(8, np.int8)
    m, s = q8.quantize_multiplier_array(np.full(8, 1e-3))
    with pytest.raises(KernelStatusError) as e:
        dk.pw_conv_t_s8(x, np.zeros((8, 8), np.int8), None, 0, m, s, 0, None, scratch_bytes=8)
    assert e.value.status == -4
    with pytest.raises(KernelStatusError) as e:
        dk.dw_conv_s8(x, np.zeros((2, 8), np.int8), 2, 1, np.zeros((3, 8), np.int8), None, 0, m, s, 0, None, x)
    assert e.value.status == -3  # pos out of range
    with pytest.raises(KernelStatusError) as e:
        dk.dw_conv_s8(x, np.zeros((2, 8), np.int8), 0, 1, np.zeros((3, 8), np.int8), None, -128, m, s, 0, None, x)
    assert e.value.status == -3  # zero point 128 is no int8
    with pytest.raises(KernelStatusError) as e:
        dk.pw_conv_s8(x, np.zeros((8, 8), np.int8), None, 0, m, s, 0, None, x, act_min=5, act_max=4)
    assert e.value.status == -3


# ---- the DSP paths' own cases: short requantisation, byte clamp, nibble groups, mask words ----

EDGE_MULT = [0, 1, 12345, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, (1 << 31) - 1]
EDGE_SHIFT = [-31, -30, -17, -2, -1, 0, 1, 2, 17, 30]
EDGE_ACC = [
    q8.INT32_MIN,
    q8.INT32_MIN + 1,
    -(1 << 30) - 1,
    -(1 << 30),
    -65537,
    -256,
    -129,
    -128,
    -64,
    -3,
    -2,
    -1,
    0,
    1,
    2,
    63,
    64,
    127,
    128,
    1 << 20,
    (1 << 30) - 1,
    1 << 30,
    q8.INT32_MAX - 1,
    q8.INT32_MAX,
]


def _edge_grid():
    """Every (multiplier, shift) edge pair against accumulators including exact rounding ties."""
    rows = [(m, s, a) for m in EDGE_MULT for s in EDGE_SHIFT for a in EDGE_ACC]
    rng = np.random.default_rng(11)
    for _ in range(600):  # ties of the second rounding: acc = (2k + 1) 2^(e-1) / M-ish, random
        e = int(rng.integers(1, 12))
        rows.append((1 << 30, -e + 1, int(rng.integers(-2000, 2000)) * (1 << e) + (1 << (e - 1))))
    m, s, a = (np.array(v, np.int64) for v in zip(*rows, strict=True))
    return m.astype(np.int32), s.astype(np.int32), a.astype(np.int32)


@pytest.mark.parametrize("out_off", [-128, -1, 0, 3, 127])
def test_requantisation_edges_every_kernel(dk, out_off):
    """acc = bias (zero weights): each kernel's output stage against MBQM on an edge grid."""
    m, s, acc = _edge_grid()
    n = m.size
    want = q8.fc_s8(np.zeros(1, np.int8), np.zeros((n, 1), np.int8), acc, 0, m, s, out_off)
    x = np.zeros(3, np.int8)
    got = dk.pw_conv_s8(x, np.zeros((n, 3), np.int8), acc, 0, m, s, out_off, None, np.zeros(n, np.int8))
    assert np.array_equal(got, want)
    got = dk.pw_conv_t_s8(x, np.zeros((3, n), np.int8), acc, 0, m, s, out_off, None)
    assert np.array_equal(got, want)
    got, _, _ = dk.dw_conv_s8(
        np.zeros(n, np.int8),
        np.zeros((2, n), np.int8),
        0,
        1,
        np.zeros((3, n), np.int8),
        acc,
        0,
        m,
        s,
        out_off,
        None,
        np.zeros(n, np.int8),
    )
    assert np.array_equal(got, want)


def _structured_keep(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "nibbles":  # every 4-channel pattern, in turn
        return np.array([(((i // 4) % 16) >> (i % 4)) & 1 for i in range(n)], bool)
    if kind == "runs":  # runs of 1..40 crossing 32-channel mask words
        keep = np.zeros(n, bool)
        i, on = 0, bool(rng.integers(0, 2))
        while i < n:
            k = int(rng.integers(1, 41))
            keep[i : i + k] = on
            i, on = i + k, not on
        return keep
    if kind == "words":  # whole mask words on / off, then random
        keep = rng.random(n) < 0.5
        for w in range(0, n, 32):
            if (w // 32) % 3 == 0:
                keep[w : w + 32] = True
            elif (w // 32) % 3 == 1:
                keep[w : w + 32] = False
        return keep
    return rng.random(n) < {"single": 0.1, "three": 0.9}[kind]


@given(
    st.integers(1, 150),
    st.integers(1, 40),
    st.sampled_from(["nibbles", "runs", "words", "single", "three"]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.sampled_from([(-128, 127), (-20, 90), (0, 127), (-128, -100), (5, 5)]),
    st.sampled_from(["none", "small", "full"]),
)
@SETTINGS
def test_structured_masks_and_activation_ranges(dk, n, other, kind, seed, extreme, act, bias_kind):
    """Nibble patterns, runs across mask words and whole words, 1..150 channels (not multiples
    of 4 / 32), narrow activation ranges (the byte clamp) and the full one (SSAT alone)."""
    rng = np.random.default_rng(seed)
    lo, hi = act
    keep = _structured_keep(kind, n, rng)
    m, s = _quant(rng, n, extreme)
    b = _bias(rng, n, bias_kind)
    in_off, out_off = int(rng.integers(-127, 129)), int(rng.integers(-128, 128))
    # pw1: n outputs masked
    x = rng.integers(-128, 128, other).astype(np.int8)
    w = rng.integers(-128, 128, (n, other)).astype(np.int8)
    init = rng.integers(-128, 128, n).astype(np.int8)
    want = g.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, init, lo, hi)
    assert np.array_equal(dk.pw_conv_s8(x, w, b, in_off, m, s, out_off, keep, init, lo, hi), want)
    # pw2: n inputs masked, `other` outputs
    xi = rng.integers(-128, 128, n).astype(np.int8)
    wt = rng.integers(-128, 128, (n, other)).astype(np.int8)
    m2, s2 = _quant(rng, other, extreme)
    b2 = _bias(rng, other, bias_kind)
    want = g.pw_conv_t_s8(xi, wt, b2, in_off, m2, s2, out_off, keep, lo, hi)
    assert np.array_equal(dk.pw_conv_t_s8(xi, wt, b2, in_off, m2, s2, out_off, keep, lo, hi), want)
    # dw: n channels masked
    d = int(rng.integers(1, 4))
    ring = rng.integers(-128, 128, (2 * d, n)).astype(np.int8)
    pos = int(rng.integers(0, 2 * d))
    wd = rng.integers(-128, 128, (3, n)).astype(np.int8)
    want = g.dw_conv_s8(xi, ring, pos, d, wd, b, in_off, m, s, out_off, keep, init, lo, hi)
    got = dk.dw_conv_s8(xi, ring, pos, d, wd, b, in_off, m, s, out_off, keep, init, lo, hi)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]


@pytest.mark.parametrize("kind", ["nibbles", "runs", "single"])
def test_skipped_channels_parameters_are_not_read(dk, kind):
    """pw1 and dw: the same result whatever a skipped channel's weights, bias, multiplier and
    shift are (poisoned with other values, shifts out of range included)."""
    rng = np.random.default_rng(3)
    n, k = 97, 23
    keep = _structured_keep(kind, n, rng)
    x = rng.integers(-128, 128, k).astype(np.int8)
    w = rng.integers(-128, 128, (n, k)).astype(np.int8)
    b = rng.integers(-30000, 30000, n).astype(np.int32)
    m, s = q8.quantize_multiplier_array(10.0 ** rng.uniform(-4, -2, n))
    init = rng.integers(-128, 128, n).astype(np.int8)
    h = rng.integers(-128, 128, n).astype(np.int8)
    ring = rng.integers(-128, 128, (2, n)).astype(np.int8)
    wd = rng.integers(-128, 128, (3, n)).astype(np.int8)
    a1 = dk.pw_conv_s8(x, w, b, 3, m, s, -2, keep, init)
    a2 = dk.dw_conv_s8(h, ring, 1, 1, wd, b, 4, m, s, 1, keep, init)
    sk = ~keep
    w2, b2, m2, s2, wd2 = w.copy(), b.copy(), m.copy(), s.copy(), wd.copy()
    w2[sk] = rng.integers(-128, 128, (int(sk.sum()), k))
    wd2[:, sk] = rng.integers(-128, 128, (3, int(sk.sum())))
    b2[sk] = q8.INT32_MIN
    m2[sk] = -1
    s2[sk] = 99
    assert np.array_equal(a1, dk.pw_conv_s8(x, w2, b2, 3, m2, s2, -2, keep, init))
    r2 = dk.dw_conv_s8(h, ring, 1, 1, wd2, b2, 4, m2, s2, 1, keep, init)
    assert all(np.array_equal(u, v) for u, v in zip(a2[:2], r2[:2], strict=True)) and a2[2] == r2[2]
