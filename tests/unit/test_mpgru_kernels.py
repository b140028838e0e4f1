"""Mixed-precision GRU (issue #15): the genome and its constraints (gru_int.GruGenome / check_genome),
sub-byte packing, narrow biases, and the C kernels (firmware/kernels/mp/) built with host gcc BIT-EXACT
with the golden model (gru_int.gru_cell_int) on random genomes, on the reference path and on the
emulated DSP path. The real instructions run in tests/qemu/test_mpgru_image.py."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.errors import ConfigError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


def _genomes():
    w = st.sampled_from(gi.KERNEL_WEIGHT_BITS)
    a = st.integers(2, 16)
    b = st.sampled_from(gi.KERNEL_BIAS_BITS)
    return st.tuples(*([w] * 6 + [a] * 10 + [b] * 2)).map(gi.GruGenome.from_genome)


def _layer(rng, i_size, hidden, gain):
    a = gain / np.sqrt(hidden)
    return (rng.uniform(-a, a, (3 * hidden, i_size)), rng.uniform(-a, a, (3 * hidden, hidden)),
            rng.uniform(-3 * a, 3 * a, 3 * hidden), rng.uniform(-3 * a, 3 * a, 3 * hidden))


# ---- genome ---------------------------------------------------------------------------------

def test_genome_extends_grubits_with_bias_widths():
    g = gi.GruGenome()
    assert g.genome() == gi.GruBits().genome() + (32, 32)
    assert gi.GruGenome.from_genome(g.genome()) == g
    assert gi.as_genome(gi.GruBits(w_ir=4)).w_ir == 4 and gi.as_genome(gi.GruBits()).b_i == 32
    h4 = gi.GruGenome.homogeneous(4, 8, 16)
    assert h4.genome() == (4,) * 6 + (8,) * 10 + (16, 16)
    assert h4.model_bits(10, 20) == 20 * 10 * 12 + 20 * 20 * 12 + 3 * 20 * 32
    with pytest.raises(ConfigError, match="b_h"):
        gi.GruGenome(b_h=40)


@pytest.mark.parametrize("genome,match", [
    (dict(b_i=24), "W_ir .input matmul, r gate.: 24-bit bias"),
    (dict(b_h=12), "W_hr .recurrent matmul, r gate.: 12-bit bias"),
])
def test_genomes_the_kernels_lack_are_refused_naming_the_operator(genome, match):
    with pytest.raises(ConfigError, match=match):
        gi.check_genome(gi.GruGenome(**genome), 8, 16)
    gi.check_genome(gi.GruGenome(**genome), 8, 16, kernels=False)  # the golden model runs it


@pytest.mark.parametrize("field,bits", [("w_hn", 1), ("w_iz", 9)])
def test_weight_widths_outside_2_to_8_are_refused_naming_the_operator(field, bits):
    with pytest.raises(ConfigError, match=f"GruGenome.{field} = {bits}: must be in 2..8"):
        gi.GruGenome(**{field: bits})


def test_every_weight_width_2_to_8_has_a_kernel():
    assert gi.KERNEL_WEIGHT_BITS == tuple(range(2, 9))
    for b in range(2, 9):
        gi.check_genome(gi.GruGenome.homogeneous(b), 8, 16)


def test_an_accumulator_that_can_overflow_is_refused():
    gi.check_genome(gi.GruGenome.homogeneous(8), 16, 500)
    with pytest.raises(ConfigError, match="W_hr .recurrent matmul, r gate.: the accumulator can overflow"):
        gi.check_genome(gi.GruGenome.homogeneous(8), 16, 520)
    # the 4-bit packed kernel accumulates 16 x w x: refused from 586 inputs
    gi.check_genome(gi.GruGenome.homogeneous(4), 16, 585)
    with pytest.raises(ConfigError, match="x16 in the packed kernel"):
        gi.check_genome(gi.GruGenome.homogeneous(4), 16, 586)


# ---- packing and narrow biases ----------------------------------------------------------------

@given(st.integers(2, 8), st.integers(1, 3), st.integers(1, 70), st.integers(0, 2**32 - 1))
@SETTINGS
def test_pack_unpack_roundtrip(bits, rows, cols, seed):
    rng = np.random.default_rng(seed)
    lo = -(1 << (bits - 1))
    w = rng.integers(lo, -lo, (rows, cols)).astype(np.int8)
    p = gi.pack_weights(w, bits)
    assert p.size == rows * gi.row_bytes(cols, bits)
    assert np.array_equal(gi.unpack_weights(p, rows, cols, bits), w)


def test_int4_packing_is_tflms_low_nibble_first():
    w = np.array([[1, -2, 3, -4, 5, -6, 7, -8]], np.int8)
    assert gi.pack_weights(w, 4).tolist() == [0xE1, 0xC3, 0xA5, 0x87]
    assert gi.pack_weights(np.array([[1, -1, 0, 1]], np.int8), 2).tolist() == [0b01001101, 0, 0, 0]


def test_split_plane_layout_by_hand():
    # 6 bits = 4-bit top plane (w >> 2, TFLM order) + 2-bit low plane in the DSP lane order: lane
    # position h of element e (group of 8: 0 4 2 6 1 5 3 7), then byte (0 2 1 3)[h % 4] of word
    # h // 16, bits 2 (h // 4 % 4)
    w = np.zeros((1, 16), np.int64)
    w[0, 0], w[0, 1], w[0, 4], w[0, 9] = 31, -32, 3, -1   # 31 = 7*4 + 3, -32 = -8*4 + 0, 3 = 0*4 + 3, -1 = -1*4 + 3
    p = gi.pack_weights(w, 6).tolist()
    assert len(p) == 12 == gi.row_bytes(16, 6)
    assert p[:8] == [0x87, 0, 0, 0, 0xF0, 0, 0, 0]          # top plane: 7 | -8 << 4; element 9 -> byte 4 high nibble
    # low plane: e0 -> h0 (byte 0, slot 0) = 3; e4 -> h1 (byte 2, slot 0) = 3; e9 (group 2, e=1) -> h 8 + 4 = 12
    # -> jp 3, lane 0 -> byte 0, slot 3 = 3
    assert p[8:] == [0b11000011, 0, 0b00000011, 0]
    assert np.array_equal(gi.unpack_weights(np.array(p, np.uint8), 1, 16, 6), w)


def test_narrow_bias_has_a_power_of_two_shift_and_fits():
    rng = np.random.default_rng(2)
    wi, wh, bi, bh = _layer(rng, 6, 5, 3.0)
    q32 = gi.quantize_gru(wi, wh, bi, bh, x_scale=0.02, x_zero_point=0)
    q8b = gi.quantize_gru(wi, wh, bi, bh, x_scale=0.02, x_zero_point=0, bits=gi.GruGenome(b_i=8, b_h=8))
    assert q32.bias_shift == (0,) * 6 and q8b.bias_shift[3] > 0
    for k, mt in enumerate(gi.mp_matrices(q8b)):
        assert mt["bias"].dtype == np.int8
        eff = (q8b.b_ih if k < 3 else q8b.b_hh)[5 * (k % 3): 5 * (k % 3) + 5]
        assert np.array_equal(mt["bias"].astype(np.int64) << mt["bias_shift"], eff)
    # the narrow bias stays close to the exact one
    assert np.max(np.abs(q8b.b_hh - q32.b_hh)) <= (1 << (max(q8b.bias_shift[3:]) - 1)) + 1


def test_default_genome_is_the_default_cell():
    rng = np.random.default_rng(3)
    wi, wh, bi, bh = _layer(rng, 9, 7, 2.0)
    xs = rng.normal(size=(5, 9))
    a = gi.quantize_gru(wi, wh, bi, bh, xs)
    b = gi.quantize_gru(wi, wh, bi, bh, xs, bits=gi.GruGenome())
    xq = a.quantize_input(xs)
    assert np.array_equal(gi.gru_sequence_int(a, xq), gi.gru_sequence_int(b, xq))


def test_blob_layout():
    rng = np.random.default_rng(4)
    wi, wh, bi, bh = _layer(rng, 5, 3, 2.0)
    g = gi.GruGenome.from_genome([2, 3, 5, 6, 7, 8] + [16] * 10 + [8, 16])
    q = gi.quantize_gru(wi, wh, bi, bh, x_scale=0.1, x_zero_point=3, bits=g)
    blob = gi.mp_blob(q)
    assert blob[0] == gi.BLOB_MAGIC and blob[1] == 5 | (3 << 16) and blob[2] == (-3) & 0xFFFFFFFF
    assert blob.size * 4 == gi.mp_table_bytes(5, 3, g)
    d = blob[6:6 + 30].reshape(6, 5)
    assert [int(x) & 0xFF for x in d[:, 0]] == [2, 3, 5, 6, 7, 8]
    assert all(int(x) % 4 == 0 for x in d[:, 1:].reshape(-1))


# ---- C == golden --------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["ref", "dsp-emulated"])
def mp(request):
    from bench.models.mpgru.native import MpNative

    if shutil.which("gcc") is None:
        pytest.skip("host gcc not installed")
    k = MpNative(emulate_dsp=request.param == "dsp-emulated")
    assert k.dsp == (request.param == "dsp-emulated")
    return k


@needs_gcc
@given(genome=_genomes(), i_size=st.integers(1, 40), hidden=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       gain=st.floats(0.5, 8.0))
@SETTINGS
def test_mpgru_cell_is_bit_exact_with_the_golden_model(mp, genome, i_size, hidden, seed, gain):
    rng = np.random.default_rng(seed)
    wi, wh, bi, bh = _layer(rng, i_size, hidden, gain)
    xs = rng.normal(size=(4, i_size)) * 2
    try:
        q = gi.quantize_gru(wi, wh, bi, bh, xs, bits=genome)
    except ConfigError as e:  # a bias far above a near-zero recurrent row could overflow: refused, as documented
        assert "could overflow int32" in str(e)
        return
    xq = q.quantize_input(xs)
    h0 = q8.fq_pow2(rng.integers(-32768, 32768, hidden), genome.state).astype(np.int16)
    assert np.array_equal(mp.gru_sequence(gi.mp_blob(q), xq, h0), gi.gru_sequence_int(q, xq, h0))


@needs_gcc
@given(bits=st.integers(2, 8), n=st.integers(1, 19), k=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
@SETTINGS
def test_packed_fc_is_the_16x8_fc_on_the_unpacked_weights(mp, bits, n, k, seed):
    rng = np.random.default_rng(seed)
    qmax = (1 << (bits - 1)) - 1
    w = rng.integers(-qmax - (bits < 8), qmax + 1, (n, k)).astype(np.int8)
    x = rng.integers(-32768, 32768, k).astype(np.int16)
    bias = rng.integers(-(1 << 20), 1 << 20, n).astype(np.int32)
    mult, shift = q8.quantize_multiplier_array(rng.uniform(1e-4, 1e-2, n))
    want = q8.fc_s16(x, w, bias, mult, shift)
    assert np.array_equal(mp.fc_pk_s16(x, gi.pack_weights(w, bits), n, k, bits, bias, mult, shift), want)


@needs_gcc
def test_bind_refuses_a_bad_blob(mp):
    rng = np.random.default_rng(5)
    wi, wh, bi, bh = _layer(rng, 4, 4, 2.0)
    blob = gi.mp_blob(gi.quantize_gru(wi, wh, bi, bh, x_scale=0.1, x_zero_point=0))
    assert mp.bind_status(blob) == 0
    assert mp.bind_status(blob[:-1]) == -3        # truncated: an offset past the end
    bad = blob.copy()
    bad[0] ^= 1
    assert mp.bind_status(bad) == -3              # magic
    bad = blob.copy()
    bad[6] = (int(bad[6]) & ~0xFF) | 9
    assert mp.bind_status(bad) == -3              # 9-bit weights
    bad[6] = (int(bad[6]) & ~0xFF) | 1
    assert mp.bind_status(bad) == -3              # 1-bit weights
