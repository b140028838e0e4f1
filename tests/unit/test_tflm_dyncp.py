"""Conv-FSENet (DynCP) exported to .tflite (bench export tflite) runs in TFLM's host interpreter
frame by frame and equals our integer golden model (bench.models.dyncp.intnet) bit for bit on
shipped test-set utterances: gains, keep-masks, kept counts, MACs and the int16 output, for the
static r100 and the gated r25 / r50 models. Plus conformance of the operators the export adds
(PRELU, PRELU + norm-bias ADD, int8 ADD vs our C, GREATER + SELECT_V2 as the keep-mask, the
masked depthwise history as CONCATENATION + DEPTHWISE_CONV_2D + SLICE) against our golden ops
and, where one exists, our C (firmware/models/dyncp/dyncp_ops.c). Needs the `tflm` extra."""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite_micro")

from bench.cli import main as bench_main  # noqa: E402
from bench.data.loader import default_set_path, load_set  # noqa: E402
from bench.errors import ConfigError  # noqa: E402
from bench.models.common import int8ops as q8  # noqa: E402
from bench.models.dyncp import golden as dg  # noqa: E402
from bench.models.dyncp import intnet  # noqa: E402
from bench.models.dyncp.quantize import DyncpQuant, QAct  # noqa: E402
from bench.paths import repo_root  # noqa: E402
from bench.tflm import dyncp as td  # noqa: E402
from bench.tflm.conformance import assert_bit_exact  # noqa: E402
from bench.tflm.graph import Graph, run  # noqa: E402

ROOT = repo_root()
MODELS = ("dyncp-small-r100", "dyncp-small-r25", "dyncp-small-r50")
# full utterances per model (about 180 frames each): ~1,100 frames through both models in all
SUBSET = {"dyncp-small-r100": (0, 5), "dyncp-small-r25": (0, 1, 2), "dyncp-small-r50": (3,)}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
scale8 = st.floats(0.002, 0.5)
zp8 = st.integers(-128, 127)


@pytest.fixture(scope="module")
def utts():
    return list(load_set(default_set_path(), sample_rate=16000))


@pytest.fixture(scope="module")
def qms():
    return {m: DyncpQuant.load(ROOT / "models" / "dyncp" / m) for m in MODELS}


@pytest.fixture(scope="module")
def exported(qms):
    return {m: td.export(q) for m, q in qms.items()}


def _assert_same_stream(what: str, t: intnet.IntOut, g: intnet.IntOut) -> None:
    """Equal gains, masks, kept, MACs and output; else the first differing frame with its inputs."""
    for t_i in range(g.gains.shape[0]):
        ins = {"frame": t_i, "features (int8, 257 bins)": " ".join(str(int(v)) for v in g.features[t_i]),
               "kept per block, golden": g.kept[t_i], "kept per block, TFLM": t.kept[t_i]}
        for b in range(g.masks.shape[1]):
            assert_bit_exact(f"{what} frame {t_i} block {b} keep-mask", t.masks[t_i, b], g.masks[t_i, b], ins)
        assert_bit_exact(f"{what} frame {t_i} gains", t.gains[t_i], g.gains[t_i], ins)
    assert np.array_equal(t.kept, g.kept) and np.array_equal(t.macs, g.macs), what
    assert_bit_exact(f"{what} raw int16 output", t.raw, g.raw)
    assert np.array_equal(t.audio, g.audio), what


@pytest.mark.parametrize("model", MODELS)
def test_export_matches_the_integer_golden_model(qms, exported, utts, model):
    qm = qms[model]
    for k in SUBSET[model]:
        u = utts[k]
        t, g = td.enhance_tflm(qm, exported[model], u.noisy), intnet.enhance(qm, u.noisy)
        _assert_same_stream(f"{model} {u.id}", t, g)
    assert np.abs(g.gains.astype(np.int32)).max() > 1000  # a real gain mask
    if qm.config.gated:  # the gates really skip and keep
        frac = g.kept.mean() / qm.config.conv
        assert 0.1 < frac < 0.9 and g.masks.any(axis=(0, 1)).sum() > 0


def test_exports_are_described_and_reproducible(qms, exported):
    doc = td.describe(exported["dyncp-small-r25"])
    assert doc["model"] == "dyncp-small-r25" and doc["gated"] and len(doc["blocks"]) == 9
    assert doc["inputs"][0] == "features" and doc["outputs"][0] == "gains"
    assert [b["history"] for b in doc["blocks"]] == [2, 4, 8] * 3
    assert [b["ring_zero"] for b in doc["blocks"]] == list(qms["dyncp-small-r25"].ring_zero)
    assert len(doc["outputs"]) == 1 + 9 + 9
    assert len(td.describe(exported["dyncp-small-r100"])["outputs"]) == 1 + 9  # no masks
    assert td.state_shapes(exported["dyncp-small-r100"])[2] == (1, 8, 1, 128)
    assert td.export(qms["dyncp-small-r25"]) == exported["dyncp-small-r25"]
    # the gated graph adds the gate layers and the mask operators to the same blocks
    assert len(exported["dyncp-small-r25"]) > len(exported["dyncp-small-r100"])


def test_foreign_or_mismatched_tflite_is_refused(qms, exported):
    from bench.tflm import nsnet2 as tn

    with pytest.raises(ConfigError, match="not a Conv-FSENet export"):
        td.describe(ROOT.joinpath("firmware_images", "nsnet2-small-exit4.tflite").read_bytes())
    with pytest.raises(ConfigError, match="not an nsNet2 export"):
        tn.describe(exported["dyncp-small-r100"])
    with pytest.raises(ConfigError, match="the .tflite is dyncp-small-r100"):
        td.TflmDyncpNet(qms["dyncp-small-r25"], exported["dyncp-small-r100"])


def test_export_cli(tmp_path, monkeypatch, exported):
    out = tmp_path / "r25.tflite"
    assert bench_main(["export", "tflite", "dyncp-small-r25", "--out", str(out), "--json"]) == 0
    assert out.read_bytes() == exported["dyncp-small-r25"]
    assert bench_main(["export", "tflite", "dyncp-small-r25", "--exit", "1", "--out", str(out)]) == 2
    monkeypatch.chdir(tmp_path)
    assert bench_main(["export", "tflite", str(ROOT / "models" / "dyncp" / "dyncp-small-r100")]) == 0
    assert (tmp_path / "dyncp-small-r100.tflite").read_bytes() == exported["dyncp-small-r100"]


# ---- operator conformance ---------------------------------------------------------------------

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


class _DcAct(ctypes.Structure):
    _fields_ = [("alpha", ctypes.c_void_p), ("beta", ctypes.c_void_p)] + [
        (n, ctypes.c_int32) for n in ("in_offset", "out_offset", "mult_pos", "shift_pos", "mult_neg", "shift_neg")]


class _AddParams(ctypes.Structure):  # bk_add_params_t, field order of q8.AddParams
    _fields_ = [(n, ctypes.c_int32) for n in ("in1_offset", "in1_multiplier", "in1_shift", "in2_offset",
                                              "in2_multiplier", "in2_shift", "left_shift", "out_multiplier",
                                              "out_shift", "out_offset", "act_min", "act_max")]


@pytest.fixture(scope="module")
def dc_ops():
    """firmware/models/dyncp/dyncp_ops.c built natively (None without gcc)."""
    if shutil.which("gcc") is None:
        return None
    from bench.models.common.native import build_shared

    src = ROOT / "firmware/models/dyncp"
    return ctypes.CDLL(str(build_shared([src / "dyncp_ops.c"], [src, ROOT / "firmware/kernels"],
                                        name="dyncp-ops-tflm")))


def _p(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


@st.composite
def act_case(draw):
    c = draw(st.integers(1, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-128, 128, (3, c)).astype(np.int8)
    alpha = rng.integers(-127, 128, c).astype(np.int8)
    beta = rng.integers(-128, 128, c).astype(np.int8)
    return x, alpha, beta, draw(scale8), draw(zp8), draw(st.floats(0.0005, 0.05)), draw(scale8), draw(zp8)


@given(act_case(), st.integers(-20, 20))
@SETTINGS
def test_prelu_int8(case, z_alpha):
    x, alpha, _, s_in, z_in, s_a, s_out, z_out = case
    g = Graph()
    tx = g.input(x.shape, "int8", s_in, z_in)
    g.output(g.prelu(tx, alpha, s_a, s_out, z_out, alpha_zero_point=z_alpha))
    (got,) = run(g.build(), [x])
    f = [float(np.float32(v)) for v in (s_in, s_a, s_out)]
    m1, sh1 = q8.quantize_multiplier(f[0] / f[2])
    m2, sh2 = q8.quantize_multiplier(f[0] * f[1] / f[2])
    want = q8.prelu_s8(x, alpha, -z_in, -z_alpha, m1, sh1, m2, sh2, z_out)
    assert_bit_exact("PRELU int8, golden", got, want, {"x": x, "alpha": alpha})


@given(act_case())
@SETTINGS
def test_prelu_then_norm_bias_add_is_act_s8(dc_ops, case):
    """The export's activation (Graph.prelu + ADD of beta at the output scale, zero point 0)
    equals intnet.act_s8 and the C dc_act_s8, with the multipliers QAct stores."""
    x, alpha, beta, s_in, z_in, s_a, s_out, z_out = case
    f = [float(np.float32(v)) for v in (s_in, s_a, s_out)]
    m1, sh1 = q8.quantize_multiplier(f[0] / f[2])
    m2, sh2 = q8.quantize_multiplier(f[0] * f[1] / f[2])
    a = QAct(alpha, beta, -z_in, z_out, m1, sh1, m2, sh2)
    assert td.alpha_scale("act", a, s_in, s_out) == f[1]
    g = Graph()
    tx = g.input(x.shape, "int8", s_in, z_in)
    p = g.prelu(tx, alpha, f[1], s_out, z_out)
    g.output(g.add(p, g.const(beta.reshape(1, -1), "int8", s_out, 0), s_out, z_out))
    (got,) = run(g.build(), [x])
    idx = np.arange(alpha.size)
    for r in range(x.shape[0]):
        ins = {"x": x[r], "alpha": alpha, "beta": beta}
        assert_bit_exact(f"PRELU + ADD beta row {r}, golden act_s8", got[r], intnet.act_s8(x[r], a, idx), ins)
        if dc_ops is not None:
            c_out = np.zeros(alpha.size, np.int8)
            st_ = _DcAct(_p(alpha), _p(beta), -z_in, z_out, m1, sh1, m2, sh2)
            xr = np.ascontiguousarray(x[r])
            dc_ops.dc_act_s8(ctypes.byref(st_), _p(xr), _p(c_out), None, ctypes.c_int32(alpha.size))
            assert_bit_exact(f"PRELU + ADD beta row {r}, C dc_act_s8", got[r], c_out, ins)


@needs_gcc
@given(scale8, zp8, scale8, zp8, scale8, zp8, st.integers(0, 2**32 - 1))
@SETTINGS
def test_add_int8_c(dc_ops, s1, z1, s2, z2, so, zo, seed):
    """The residual ADD: TFLM int8 ADD (general scales) = golden = C dc_add_s8."""
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-128, 128, 300).astype(np.int8) for _ in range(2))
    g = Graph()
    ta, tb = g.input(a.shape, "int8", s1, z1), g.input(b.shape, "int8", s2, z2)
    g.output(g.add(ta, tb, so, zo))
    (got,) = run(g.build(), [a, b])
    p = q8.add_params(s1, z1, s2, z2, so, zo, np.int8)
    assert_bit_exact("ADD int8, golden", got, q8.add_elementwise(a, b, p, np.int8), {"a": a, "b": b})
    c_out = np.zeros_like(a)
    dc_ops.dc_add_s8(_p(a), _p(b), _p(c_out), ctypes.c_int32(a.size), ctypes.byref(_AddParams(*(
        getattr(p, n) for n, _ in _AddParams._fields_))))
    assert_bit_exact("ADD int8, C dc_add_s8", got, c_out, {"a": a, "b": b})


@given(st.integers(1, 64), st.floats(2.0**-8, 0.99), scale8, zp8, st.integers(0, 2**32 - 1))
@SETTINGS
def test_greater_select_v2_is_the_keep_mask(c, s_gate, s_h, z_h, seed):
    """GREATER(gate, 0) (zero point 0, scale >= 2^-8) is exactly gate > 0, and SELECT_V2 with
    a broadcast zero-point constant is np.where(mask, h, z_h)."""
    rng = np.random.default_rng(seed)
    gate = rng.integers(-128, 128, (1, c)).astype(np.int8)
    gate[0, : min(c, 3)] = [1, 0, -1][: min(c, 3)]
    h = rng.integers(-128, 128, (1, c)).astype(np.int8)
    g = Graph()
    tg, th = g.input(gate.shape, "int8", s_gate, 0), g.input(h.shape, "int8", s_h, z_h)
    m = g.greater(tg, g.const(np.zeros(1, np.int8), "int8", s_gate, 0))
    g.output(m, g.select_v2(m, th, g.const(np.full(1, z_h, np.int8), "int8", s_h, z_h)))
    mask, sel = run(g.build(), [gate, h])
    assert_bit_exact("GREATER(gate, 0)", mask, gate > 0, {"gate": gate[0]})
    assert_bit_exact("SELECT_V2(mask, h, z_h)", sel, np.where(gate > 0, h, np.int8(z_h)), {"gate": gate[0], "h": h[0]})


def test_greater_int8_loses_small_scales():
    """Why the export gives the gate output scale 1/4 (dyncp.S_GATE), not the quantizer's
    min_c s_in s_w[c]: TFLM's int8 GREATER compares the values rescaled to 8 fractional bits of
    their scale, so with a scale ~1e-5 an output of 1 ties with 0."""
    g = Graph()
    t = g.input((1, 3), "int8", 1e-5, 0)
    g.output(g.greater(t, g.const(np.zeros(1, np.int8), "int8", 1e-5, 0)))
    (mask,) = run(g.build(), [np.array([[1, 100, 127]], np.int8)])
    assert not mask[0, 0]  # 1 > 0 reads as false: the reason for S_GATE
    assert td.S_GATE >= 2.0**-8


@given(st.integers(1, 40), st.sampled_from([1, 2, 4]), st.integers(1, 12), scale8, zp8, scale8, zp8,
       st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_masked_depthwise_history_is_the_golden_ring(c, d, frames, s_h, z_h, s_y, z_y, seed, keep_p):
    """One block's depthwise step as exported: h masked to z_h by SELECT_V2, CONCATENATION of
    the history input with h, DEPTHWISE_CONV_2D (dilation d) and SLICE to the new history,
    streamed frame by frame, equals golden.dw_conv_s8 with its ring and keep-mask: the kept
    channels' outputs, and the history = the ring's rows oldest first."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (3, c)).astype(np.int8)
    b = rng.integers(-(1 << 14), 1 << 14, c).astype(np.int32)
    sw = rng.uniform(0.002, 0.05, c).astype(np.float32)
    g = Graph()
    tx = g.input((1, c), "int8", s_h, z_h)
    tm = g.input((1, c), "int8", 1.0 / 4, 0)
    hist = g.input((1, 2 * d, 1, c), "int8", s_h, z_h)
    mask = g.greater(tm, g.const(np.zeros(1, np.int8), "int8", 1.0 / 4, 0))
    h = g.select_v2(mask, tx, g.const(np.full(1, z_h, np.int8), "int8", s_h, z_h))
    win = g.concatenation([hist, g.reshape(h, (1, 1, 1, c))], axis=1)
    y = g.reshape(g.depthwise_conv(win, w, b, sw, s_y, z_y, dilation=d), (1, c))
    g.output(y, g.slice(win, [0, 1, 0, 0], [1, 2 * d, 1, c]))
    from bench.tflm.graph import Interpreter

    it = Interpreter(g.build())
    m, s = q8.fc_multipliers(s_h, sw, s_y)
    ring, pos = np.full((2 * d, c), z_h, np.int8), 0
    state = np.full((1, 2 * d, 1, c), z_h, np.int8)
    for t in range(frames):
        x = rng.integers(-128, 128, c).astype(np.int8)
        keep = rng.random(c) < keep_p
        got, state = it([x.reshape(1, c), keep.astype(np.int8).reshape(1, c), state])
        want, ring, pos = dg.dw_conv_s8(x, ring, pos, d, w, b, -z_h, m, s, z_y, keep, np.zeros(c, np.int8))
        ins = {"frame": t, "x": x, "keep": keep.astype(int)}
        assert_bit_exact(f"masked DEPTHWISE d={d} kept outputs", got[0][keep], want[keep], ins)
        oldest_first = np.roll(ring, -pos, axis=0)
        assert_bit_exact(f"history vs golden ring d={d}", state.reshape(2 * d, c), oldest_first, ins)


def test_runner_takes_the_tflite_as_integer_reference(qms, exported, tmp_path):
    """A dyncp image whose manifest names a .tflite: the registry's TFLM reference runs it."""
    from bench.families import refs_for

    name = "dyncp-small-r25"
    p = tmp_path / f"{name}.tflite"
    p.write_bytes(exported[name])
    refs = refs_for("dyncp", f"models/dyncp/{name}")
    assert refs is not None and refs.tflm is not None
    x = np.random.default_rng(3).integers(-4000, 4000, 25 * 256).astype(np.int16)
    assert np.array_equal(refs.tflm(x, {}, p), intnet.enhance(qms[name], x).audio)
    with pytest.raises(ConfigError):
        refs.tflm(x, {"exit": 1}, p)
