"""firmware/models/nsnet2 built with host gcc is BIT-EXACT with the golden model
bench/models/nsnet2/golden.py: FFT, log2, features, masks, exits, MACs and int16 output, for
every static exit and for the dynamic policy, on the reference and the emulated DSP kernel paths."""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest

from bench.models.common.native import build_shared
from bench.models.nsnet2 import golden as G
from bench.models.nsnet2.export import generate, source_name
from bench.models.nsnet2.quantize import QuantModel
from bench.models.nsnet2.reference import ExitPolicy
from bench.paths import repo_root

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

ROOT = repo_root()
SRC = ROOT / "firmware/models/nsnet2"
GEN = SRC / "gen" / "nsnet2-small"  # the shipped model's generated tables
MODEL_DIR = ROOT / "models/nsnet2/nsnet2-small"
# the kernels the runner links (the same list as its entry in firmware/images.toml)
KERNELS = [ROOT / "firmware/kernels" / f"{n}.c" for n in (
    "bk_dsp_path", "bk_fc_s8", "bk_fc_s8_s16", "bk_fc_s16", "bk_gru_cell_s8", "bk_requantize_s16_s8",
    "bk_sigmoid_lut", "bk_sigmoid_s16", "bk_support_matvec", "bk_tanh_s16")]

SHIM = r"""
#include <stddef.h>
#include "nsnet2.h"
size_t nnt_sizeof(void) { return sizeof(nn_state_t); }
void nnt_run(nn_state_t *s, const int16_t *in, int n_hops, int16_t *out, int32_t *exits, uint32_t *macs,
             int8_t *feats, int16_t *masks)
{
    for (int t = 0; t < n_hops; t++) {
        nn_analysis(s, in + t * NN_HOP);
        for (int k = 0; k < NN_BINS; k++) feats[t * NN_BINS + k] = s->feat[k];
        nn_network(s);
        for (int k = 0; k < NN_BINS; k++) masks[t * NN_BINS + k] = s->mask[k];
        exits[t] = s->last_exit;
        macs[t] = s->last_macs;
        nn_synthesis(s, out + t * NN_HOP);
    }
}
"""


def _lib(tmp_path_factory: pytest.TempPathFactory, dsp: bool) -> ctypes.CDLL:
    shim = tmp_path_factory.mktemp("nnshim") / "nn_shim.c"
    shim.write_text(SHIM)
    srcs = [SRC / "nsnet2.c", GEN / "nsnet2_params.c", shim, *KERNELS]
    defines = {"BK_EMULATE_DSP": None} if dsp else {}
    lib = ctypes.CDLL(str(build_shared(srcs, [SRC, GEN, ROOT / "firmware/kernels"], defines,
                                       name="nsnet2-dsp" if dsp else "nsnet2-ref")))
    lib.nnt_sizeof.restype = ctypes.c_size_t
    lib.nn_configure.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32]
    lib.nn_log2f.restype = ctypes.c_float
    lib.nn_log2f.argtypes = [ctypes.c_float]
    return lib


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    return {"ref": _lib(tmp_path_factory, False), "dsp": _lib(tmp_path_factory, True)}


@pytest.fixture(scope="module")
def qm():
    return QuantModel.load(MODEL_DIR)


class Stream:
    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        self.buf = ctypes.create_string_buffer(lib.nnt_sizeof() + 16)
        self.lib.nn_init(self.buf)

    def configure(self, key: str, value: int) -> int:
        return int(self.lib.nn_configure(self.buf, key.encode(), value))

    def run(self, noisy: np.ndarray, extra_hops: int = 1):
        n = noisy.size
        t = -(-n // G.HOP_LEN) + extra_hops
        x = np.zeros(t * G.HOP_LEN, np.int16)
        x[:n] = noisy
        out = np.zeros(t * G.HOP_LEN, np.int16)
        exits = np.zeros(t, np.int32)
        macs = np.zeros(t, np.uint32)
        feats = np.zeros((t, 161), np.int8)
        masks = np.zeros((t, 161), np.int16)
        p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        self.lib.nnt_run(self.buf, p(x), t, p(out), p(exits), p(macs), p(feats), p(masks))
        return out, exits, macs, feats, masks


def _signal(seed: int, n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    s = 6000 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + rng.standard_normal(n) * 1500
    return np.clip(s, -32768, 32767).astype(np.int16)


def test_generated_sources_are_up_to_date(qm):
    h, c = generate(qm, source_name(MODEL_DIR))
    assert (GEN / "nsnet2_params.h").read_text() == h, "run bench export c " + str(MODEL_DIR)
    assert (GEN / "nsnet2_params.c").read_text() == c, "run bench export c " + str(MODEL_DIR)


def test_log2_matches_golden_bit_for_bit(libs):
    rng = np.random.default_rng(0)
    p = np.concatenate([np.float32(2.0) ** rng.uniform(-1, 60, 3000).astype(np.float32), [1.0737418, 1.0, 1.5, 3e9]])
    p = p.astype(np.float32)
    want = G.log2_f32(p)
    got = np.array([libs["ref"].nn_log2f(float(v)) for v in p], np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    assert np.max(np.abs(want - np.log2(p.astype(np.float64)))) < 1e-5


def test_fft_matches_golden_bit_for_bit(libs):
    lib = libs["ref"]
    rng = np.random.default_rng(3)
    for _ in range(5):
        frame = (rng.standard_normal(320) * 4000).astype(np.float32)
        xr = np.zeros(161, np.float32)
        xi = np.zeros(161, np.float32)
        p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        lib.nn_rfft320(p(frame), p(xr), p(xi))
        wr, wi = G.rfft320(frame)
        assert np.array_equal(xr.view(np.uint32), wr.view(np.uint32))
        assert np.array_equal(xi.view(np.uint32), wi.view(np.uint32))
        y = np.zeros(320, np.float32)
        lib.nn_irfft320(p(xr), p(xi), p(y))
        assert np.array_equal(y.view(np.uint32), G.irfft320(wr, wi).view(np.uint32))


@pytest.mark.parametrize("path", ["ref", "dsp"])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_static_exit_bit_exact(libs, qm, path, k):
    noisy = _signal(k)
    s = Stream(libs[path])
    assert s.configure("exit", k) == 0
    out, exits, macs, feats, masks = s.run(noisy)
    g = G.enhance(qm, noisy, k)
    t = g.features.shape[0]
    assert np.array_equal(feats[:t], g.features)
    assert np.array_equal(masks[:t], g.masks)
    assert np.array_equal(out, g.raw)
    assert set(exits.tolist()) == {k}
    assert set(macs.tolist()) == {qm.config.macs_for_exit(k)}


@pytest.mark.parametrize("thr", [0, 300, 800, 2000, 32768])
def test_dynamic_policy_bit_exact(libs, qm, thr):
    noisy = _signal(10 + thr)
    s = Stream(libs["ref"])
    assert s.configure("policy", 1) == 0
    assert s.configure("thr_q15", thr) == 0
    out, exits, macs, _, masks = s.run(noisy)
    g = G.enhance(qm, noisy, ExitPolicy.dynamic(thr / 32768))
    t = g.exits.size
    assert np.array_equal(exits[:t], g.exits)
    assert np.array_equal(macs[:t], g.macs)
    assert np.array_equal(masks[:t], g.masks)
    assert np.array_equal(out, g.raw)
    if thr == 0:  # nothing is below a zero threshold: always the final output
        assert set(exits.tolist()) == {qm.config.n_exits - 1}
    if thr == 32768:  # everything is: always the first comparable exit
        assert set(exits.tolist()) == {1}


def test_dynamic_exits_vary_at_a_middle_threshold(libs, qm):
    noisy = _signal(5, 16000)
    g = G.enhance(qm, noisy, ExitPolicy.dynamic(600 / 32768))
    assert len(set(g.exits.tolist())) >= 2, np.bincount(g.exits)


def test_dynamic_min_max_exit_and_reset(libs, qm):
    noisy = _signal(7)
    s = Stream(libs["ref"])
    for key, v in (("policy", 1), ("thr_q15", 700), ("max_exit", 3), ("min_exit", 2)):
        assert s.configure(key, v) == 0
    out, exits, _, _, _ = s.run(noisy)
    g = G.enhance(qm, noisy, ExitPolicy.dynamic(700 / 32768, min_exit=2, max_exit=3))
    assert np.array_equal(out, g.raw)
    assert np.array_equal(exits[: g.exits.size], g.exits)
    assert set(exits.tolist()) <= {2, 3}
    s.lib.nn_reset(s.buf)  # reset clears the stream, keeps the configuration
    out2, _, _, _, _ = s.run(noisy)
    assert np.array_equal(out2, out)


def test_configure_refuses_bad_values(libs):
    s = Stream(libs["ref"])
    assert s.configure("exit", 5) == 5
    assert s.configure("exit", -1) == 5
    assert s.configure("thr_q15", 40000) == 5
    assert s.configure("policy", 2) == 5
    assert s.configure("min_exit", 0) == 5
    assert s.configure("max_exit", 0) == 5
    assert s.configure("nope", 1) == 4


@pytest.mark.parametrize("kind", ["linear", "split_next", "split"])
def test_every_exit_kind_bit_exact_on_a_tiny_model(tmp_path, kind):
    """The runner is generic over the topology in the generated tables: a tiny random model of
    each exit kind, exported into a scratch folder, matches its golden model for every exit and
    for the dynamic policy."""
    from bench.models.nsnet2.config import get_config
    from bench.models.nsnet2.export import write
    from bench.models.nsnet2.quantize import quantize_model
    from bench.models.nsnet2.reference import Nsnet2Model

    base = get_config("nsnet2-tiny")
    cfg = type(base)(**{**base.to_dict(), "exits": tuple(base.exits), "exit_kind": kind, "name": f"tiny-{kind}"})
    rng = np.random.default_rng(21)
    params = {k: (rng.standard_normal(s) * (0.7 / np.sqrt(s[-1]))).astype(np.float32)
              for k, s in cfg.parameter_shapes().items()}
    m = Nsnet2Model(cfg, params, np.full(161, 1.0, np.float32), np.full(161, 2.0, np.float32))
    q = quantize_model(m, [_signal(1, 8000)])
    d = tmp_path / "nn"
    write(q, f"test {kind}", d)
    for f in ("nsnet2.c", "nsnet2.h", "nsnet2_layer.h"):
        shutil.copy(SRC / f, d / f)
    (d / "nn_shim.c").write_text(SHIM)
    lib = ctypes.CDLL(str(build_shared([d / "nsnet2.c", d / "nsnet2_params.c", d / "nn_shim.c", *KERNELS],
                                       [d, ROOT / "firmware/kernels"], name=f"nsnet2-tiny-{kind}")))
    lib.nnt_sizeof.restype = ctypes.c_size_t
    lib.nn_configure.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32]
    noisy = _signal(22)
    for k in range(cfg.n_exits):
        s = Stream(lib)
        assert s.configure("exit", k) == 0
        out, exits, macs, _, _ = s.run(noisy)
        g = G.enhance(q, noisy, k)
        assert np.array_equal(out, g.raw), (kind, k)
        assert set(macs.tolist()) == {cfg.macs_for_exit(k)}
    for thr in (100, 2000):
        s = Stream(lib)
        s.configure("policy", 1)
        s.configure("thr_q15", thr)
        out, exits, macs, _, _ = s.run(noisy)
        g = G.enhance(q, noisy, ExitPolicy.dynamic(thr / 32768))
        assert np.array_equal(out, g.raw), (kind, thr)
        assert np.array_equal(exits[: g.exits.size], g.exits)
        assert np.array_equal(macs[: g.macs.size], g.macs)


def test_image_links_the_same_kernels():
    import tomllib

    doc = tomllib.loads((ROOT / "firmware/images.toml").read_text())
    entry = next(i for i in doc["image"] if i["name"] == "nsnet2-small-an386")
    kernels = sorted(s for s in entry["sources"] if s.startswith("firmware/kernels/"))
    assert kernels == sorted(str(k.relative_to(ROOT)) for k in KERNELS)


# --- the linear-exit model (nsnet2-small-linear): the same runner sources against its own tables in
# gen/nsnet2-small-linear/ (on the include path, as in its image's entry in firmware/images.toml)

LINEAR = "nsnet2-small-linear"
LINEAR_DIR = ROOT / "models/nsnet2" / LINEAR
LINEAR_SRC = SRC / "gen" / LINEAR


@pytest.fixture(scope="module")
def linear_lib(tmp_path_factory):
    shim = tmp_path_factory.mktemp("nnshim-linear") / "nn_shim.c"
    shim.write_text(SHIM)
    srcs = [SRC / "nsnet2.c", LINEAR_SRC / "nsnet2_params.c", shim, *KERNELS]
    lib = ctypes.CDLL(str(build_shared(srcs, [SRC, LINEAR_SRC, ROOT / "firmware/kernels"], name="nsnet2-linear")))
    lib.nnt_sizeof.restype = ctypes.c_size_t
    lib.nn_configure.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32]
    return lib


@pytest.fixture(scope="module")
def linear_qm():
    return QuantModel.load(LINEAR_DIR)


def test_linear_generated_sources_are_up_to_date(linear_qm):
    from bench.models.nsnet2.export import out_dir_for

    assert linear_qm.config.exit_kind == "linear" and linear_qm.config.name == LINEAR
    assert out_dir_for(LINEAR) == LINEAR_SRC and out_dir_for("nsnet2-small") == GEN
    h, c = generate(linear_qm, source_name(LINEAR_DIR))
    hint = "run bench export c " + str(LINEAR_DIR)
    assert (LINEAR_SRC / "nsnet2_params.h").read_text() == h, hint
    assert (LINEAR_SRC / "nsnet2_params.c").read_text() == c, hint


def test_linear_runner_uses_its_own_tables(linear_lib, qm, linear_qm):
    # built against gen/nsnet2-small-linear/ (not the split model's tables)
    assert linear_lib.nnt_sizeof() != 0
    out, _, macs, _, _ = Stream(linear_lib).run(_signal(3))
    assert set(macs.tolist()) == {linear_qm.config.macs_for_exit(linear_qm.config.n_exits - 1)}
    assert not np.array_equal(out, G.enhance(qm, _signal(3), qm.config.n_exits - 1).raw)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_linear_static_exit_bit_exact(linear_lib, linear_qm, k):
    noisy = _signal(30 + k)
    s = Stream(linear_lib)
    assert s.configure("exit", k) == 0
    out, exits, macs, feats, masks = s.run(noisy)
    g = G.enhance(linear_qm, noisy, k)
    t = g.features.shape[0]
    assert np.array_equal(feats[:t], g.features)
    assert np.array_equal(masks[:t], g.masks)
    assert np.array_equal(out, g.raw)
    assert set(exits.tolist()) == {k}
    assert set(macs.tolist()) == {linear_qm.config.macs_for_exit(k)}


@pytest.mark.parametrize("thr", [600, 2400, 9600])
def test_linear_dynamic_policy_bit_exact_and_early_stops_save_macs(linear_lib, linear_qm, thr):
    noisy = _signal(40 + thr, 16000)
    s = Stream(linear_lib)
    assert s.configure("policy", 1) == 0
    assert s.configure("thr_q15", thr) == 0
    out, exits, macs, _, masks = s.run(noisy)
    g = G.enhance(linear_qm, noisy, ExitPolicy.dynamic(thr / 32768))
    t = g.exits.size
    assert np.array_equal(exits[:t], g.exits)
    assert np.array_equal(macs[:t], g.macs)
    assert np.array_equal(masks[:t], g.masks)
    assert np.array_equal(out, g.raw)
    # linear exits: going on past an exit costs only its head. A frame that stops at exit j ran the
    # trunk up to exit j's block and the heads 0..j; one that runs to the final output paid every head.
    cfg, L = linear_qm.config, linear_qm.layers
    trunk = [t.name for t in cfg.trunk()]
    heads = [e.head.name for e in cfg.exit_specs()]
    last = cfg.n_exits - 1

    def cost(j: int) -> int:
        upto = trunk if j == last else trunk[: trunk.index(cfg.exits[j]) + 1]
        return sum(L[n].macs for n in upto) + sum(L[h].macs for h in heads[: min(j + 1, last)])

    for j in set(exits.tolist()):
        assert set(macs[exits == j].tolist()) == {cost(j)}, j
    assert all(cost(j) < cost(last) for j in range(1, last))
    assert cost(1) < cfg.macs_for_exit(last)  # stopping at exit1 beats even the static final exit
    assert (exits < last).any()


def test_linear_image_is_the_same_runner_on_its_own_tables():
    import tomllib

    doc = tomllib.loads((ROOT / "firmware/images.toml").read_text())
    imgs = {i["name"]: i for i in doc["image"]}
    small, lin = imgs["nsnet2-small-an386"], imgs["nsnet2-small-linear-an386"]
    kern = sorted(str(k.relative_to(ROOT)) for k in KERNELS)
    assert sorted(s for s in lin["sources"] if s.startswith("firmware/kernels/")) == kern
    gen = str((LINEAR_SRC / "nsnet2_params.c").relative_to(ROOT))
    runner = sorted(s for s in lin["sources"] if not s.startswith("firmware/kernels/") and s != gen)
    assert runner == ["firmware/models/nsnet2/*.c"] == [s for s in small["sources"] if "*" in s]
    assert gen in lin["sources"] and str((GEN / "nsnet2_params.c").relative_to(ROOT)) in small["sources"]
    assert "cflags" not in lin and "cflags" not in small and lin["model_family"] == small["model_family"]
    assert lin["model_dir"] == str(LINEAR_DIR.relative_to(ROOT))
