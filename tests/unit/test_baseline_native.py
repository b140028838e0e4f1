"""spectral_gate.c built with host gcc (-ffp-contract=off) is BIT-EXACT with the numpy mirror
bench/models/baseline.py: FFT building blocks, int16 conversion, whole streams under several
configurations, hypothesis-generated inputs, and the bench_model glue."""

from __future__ import annotations

import ctypes
import platform
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.models import baseline as bl
from bench.models.common.native import build_shared, cache_dir
from bench.paths import repo_root

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

F32 = np.float32
ROOT = repo_root()
SRC = ROOT / "firmware/models/baseline"
AGENT = ROOT / "firmware/agent"

# Test-only shim: state size / field access for ctypes, a bench_mark() stub that records the
# stage marks, and thin wrappers around the bench_model_t glue.
SHIM = r"""
#include <stddef.h>
#include <string.h>
#include "spectral_gate.h"
#include "bench_model.h"

size_t sgt_sizeof(void) { return sizeof(sg_state_t); }
float *sgt_field(sg_state_t *s, int which)
{
    switch (which) {
    case 0: return s->S;
    case 1: return s->N;
    case 2: return s->A;
    case 3: return s->G;
    case 4: return s->xr;
    case 5: return s->xi;
    case 6: return s->ola;
    case 7: return s->cur_min;
    case 8: return s->win_min;
    case 9: return &s->sub_min[0][0];
    default: return NULL;
    }
}
uint32_t sgt_counter(const sg_state_t *s, int which)
{
    return which == 0 ? s->frames : which == 1 ? s->sub_count : s->sub_pos;
}

static unsigned g_marks[16];
static unsigned g_nmarks;
void bench_mark(bench_frame_ctx_t *ctx, unsigned stage)
{
    (void)ctx;
    if (g_nmarks < 16u) g_marks[g_nmarks++] = stage;
}
extern const bench_model_t bench_model;
unsigned sgt_glue_process(const int16_t *in, int16_t *out, unsigned *marks)
{
    bench_frame_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    g_nmarks = 0;
    bench_model.process(in, out, &ctx);
    memcpy(marks, g_marks, sizeof g_marks);
    return g_nmarks;
}
const char *sgt_glue_str(int i) { return i < 0 ? bench_model.family : bench_model.stage_names[i]; }
uint32_t sgt_glue_u(int i)
{
    switch (i) {
    case 0: return bench_model.sample_rate;
    case 1: return bench_model.frame_len;
    case 2: return bench_model.hop_len;
    default: return bench_model.n_stages;
    }
}
void sgt_glue_reset(void) { bench_model.reset(); }

/* One hop with flush-to-zero + denormals-are-zero (x86 MXCSR), like FPSCR.FZ = 1 on ARM. */
#if defined(__SSE__)
#include <xmmintrin.h>
int sgt_has_ftz(void) { return 1; }
void sgt_process_ftz(sg_state_t *s, const int16_t *in, int16_t *out)
{
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u);
    sg_analysis(s, in);
    sg_gain(s);
    sg_synthesis(s, out);
    _mm_setcsr(csr);
}
#else
int sgt_has_ftz(void) { return 0; }
void sgt_process_ftz(sg_state_t *s, const int16_t *in, int16_t *out)
{
    sg_analysis(s, in);
    sg_gain(s);
    sg_synthesis(s, out);
}
#endif
int sgt_glue_configure(const char *k, int32_t v) { return bench_model.configure(k, v); }
"""

FIELDS = {"S": 0, "N": 1, "A": 2, "G": 3, "xr": 4, "xi": 5, "ola": 6, "cur_min": 7, "win_min": 8}

P_F = ctypes.POINTER(ctypes.c_float)
P_I16 = ctypes.POINTER(ctypes.c_int16)


def _ptr(a: np.ndarray, t):
    return a.ctypes.data_as(t)


def load_lib(extra_cflags=("-Werror", "-Wdouble-promotion"), name="baseline"):
    """Builds spectral_gate.c + baseline_model.c + the shim with host gcc and loads it."""
    shim_dir = cache_dir() / "src"
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim = shim_dir / "sg_test_shim.c"
    if not shim.exists() or shim.read_text() != SHIM:
        shim.write_text(SHIM)
    so = build_shared(
        [SRC / "spectral_gate.c", SRC / "baseline_model.c", shim],
        include_dirs=[SRC, AGENT],
        name=name,
        extra_cflags=list(extra_cflags),
    )
    L = ctypes.CDLL(str(so))
    L.sgt_sizeof.restype = ctypes.c_size_t
    L.sgt_field.restype = P_F
    L.sgt_field.argtypes = [ctypes.c_void_p, ctypes.c_int]
    L.sgt_counter.restype = ctypes.c_uint32
    L.sgt_counter.argtypes = [ctypes.c_void_p, ctypes.c_int]
    L.sg_configure.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32]
    L.sg_configure.restype = ctypes.c_int
    L.sg_f2i16.argtypes = [ctypes.c_float]
    L.sg_f2i16.restype = ctypes.c_int16
    L.sgt_glue_str.restype = ctypes.c_char_p
    L.sgt_glue_u.restype = ctypes.c_uint32
    L.sgt_glue_configure.argtypes = [ctypes.c_char_p, ctypes.c_int32]
    L.sgt_glue_process.restype = ctypes.c_uint
    return L


@pytest.fixture(scope="module")
def lib():
    return load_lib()


class CGate:
    """ctypes wrapper with the SpectralGate interface."""

    def __init__(self, L):
        self.L = L
        self.buf = ctypes.create_string_buffer(L.sgt_sizeof())
        self.s = ctypes.cast(self.buf, ctypes.c_void_p)
        L.sg_init(self.s)

    def reset(self):
        self.L.sg_reset(self.s)

    def configure(self, key, value):
        return self.L.sg_configure(self.s, key.encode(), int(value))

    def field(self, name):
        n = bl.NBINS if name not in ("ola",) else bl.HOP_LEN
        p = self.L.sgt_field(self.s, FIELDS[name])
        return np.ctypeslib.as_array(p, shape=(n,)).copy()

    def sub_min(self):
        p = self.L.sgt_field(self.s, 9)
        return np.ctypeslib.as_array(p, shape=(bl.MS_NSUB, bl.NBINS)).copy()

    def counters(self):
        return tuple(int(self.L.sgt_counter(self.s, i)) for i in range(3))

    def process_hop(self, x):
        x = np.ascontiguousarray(x, np.int16)
        out = np.zeros(bl.HOP_LEN, np.int16)
        self.L.sg_analysis(self.s, _ptr(x, P_I16))
        self.L.sg_gain(self.s)
        self.L.sg_synthesis(self.s, _ptr(out, P_I16))
        return out

    def enhance(self, x):
        n = -(-len(x) // bl.HOP_LEN) * bl.HOP_LEN
        xp = np.zeros(n, np.int16)
        xp[: len(x)] = x
        return np.concatenate([self.process_hop(xp[i : i + 256]) for i in range(0, n, 256)])


def assert_same_state(c: CGate, p: bl.SpectralGate):
    for name in FIELDS:
        np.testing.assert_array_equal(c.field(name), getattr(p, name), err_msg=name)
    np.testing.assert_array_equal(c.sub_min(), p.sub_min)
    assert c.counters() == (p.frames, p.sub_count, p.sub_pos)


def run_both(L, x, config=(), check_state_every=0):
    c, p = CGate(L), bl.SpectralGate()
    for k, v in config:
        assert c.configure(k, v) == p.configure(k, v) == 0
    n = -(-len(x) // 256) * 256
    xp = np.zeros(n, np.int16)
    xp[: len(x)] = x
    outs = []
    for i in range(0, n, 256):
        yc = c.process_hop(xp[i : i + 256])
        yp = p.process_hop(xp[i : i + 256])
        np.testing.assert_array_equal(yc, yp, err_msg=f"hop {i // 256}")
        if check_state_every and (i // 256) % check_state_every == 0:
            assert_same_state(c, p)
        outs.append(yc)
    assert_same_state(c, p)
    return np.concatenate(outs)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_rfft_irfft_bit_exact(lib, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(512) * 10 ** rng.uniform(-3, 5)).astype(F32)
    if seed == 5:
        x = np.where(rng.random(512) < 0.5, F32(32767), F32(-32768))
    xr, xi = np.zeros(257, F32), np.zeros(257, F32)
    wr, wi = np.zeros(256, F32), np.zeros(256, F32)
    lib.sg_rfft512(_ptr(x, P_F), _ptr(xr, P_F), _ptr(xi, P_F), _ptr(wr, P_F), _ptr(wi, P_F))
    pr, pi = bl.rfft512(x)
    np.testing.assert_array_equal(xr, pr)
    np.testing.assert_array_equal(xi, pi)
    ref = np.fft.rfft(x.astype(np.float64))
    assert np.abs(xr + 1j * xi.astype(np.float64) - ref).max() < 2e-6 * np.abs(ref).max()
    # inverse of an arbitrary (non-Hermitian-consistent at DC/Nyquist) spectrum, too
    yr = (rng.standard_normal(257) * 1000).astype(F32)
    yi = (rng.standard_normal(257) * 1000).astype(F32)
    for sr, si in ((xr, xi), (yr, yi)):
        y = np.zeros(512, F32)
        lib.sg_irfft512(_ptr(sr, P_F), _ptr(si, P_F), _ptr(y, P_F), _ptr(wr, P_F), _ptr(wi, P_F))
        np.testing.assert_array_equal(y, bl.irfft512(sr, si))
    y = np.zeros(512, F32)
    lib.sg_irfft512(_ptr(xr, P_F), _ptr(xi, P_F), _ptr(y, P_F), _ptr(wr, P_F), _ptr(wi, P_F))
    assert np.abs(y.astype(np.float64) / 512 - x).max() < 2e-6 * np.abs(x).max()


def test_fft256_bit_exact_and_accurate(lib):
    rng = np.random.default_rng(11)
    re = (rng.standard_normal(256) * 1e3).astype(F32)
    im = (rng.standard_normal(256) * 1e3).astype(F32)
    cr, ci = re.copy(), im.copy()
    lib.sg_fft256(_ptr(cr, P_F), _ptr(ci, P_F))
    pr, pi = re.copy(), im.copy()
    bl.fft256_inplace(pr, pi)
    np.testing.assert_array_equal(cr, pr)
    np.testing.assert_array_equal(ci, pi)
    rev = bl.tables()["SG_BITREV"]
    z = np.empty(256, np.complex128)
    z[rev] = re.astype(np.float64) + 1j * im  # input was bit-reversed
    ref = np.fft.fft(z)
    assert np.abs(cr + 1j * ci.astype(np.float64) - ref).max() < 1e-5 * np.abs(ref).max()


def test_f2i16_bit_exact(lib):
    rng = np.random.default_rng(3)
    base = np.arange(-40000, 40000, 0.25, dtype=F32)[::7]
    halves = np.arange(-32770, 32770, dtype=F32) + F32(0.5)
    near = np.concatenate([np.nextafter(halves, F32(-np.inf)), np.nextafter(halves, F32(np.inf))])
    rnd = (rng.standard_normal(20000) * 20000).astype(F32)
    special = np.array([0.0, -0.0, 1e-40, -1e-40, 3e38, -3e38, 32767, -32768], F32)
    v = np.concatenate([base, halves, near, rnd, special]).astype(F32)
    got = np.array([lib.sg_f2i16(ctypes.c_float(float(a))) for a in v], np.int16)
    np.testing.assert_array_equal(got, bl.float_to_int16(v))


# ---------------------------------------------------------------------------------------------
# Whole streams
# ---------------------------------------------------------------------------------------------


def _signals():
    rng = np.random.default_rng(2024)
    fs = 16000
    t = np.arange(fs * 2) / fs
    sig = {}
    sig["noise"] = (rng.standard_normal(fs * 2) * 3000).astype(np.int16)
    sig["tone"] = np.round(
        10000 * np.sin(2 * np.pi * 1000 * t) + rng.standard_normal(len(t)) * 30
    ).astype(np.int16)
    ph = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.8 * t)) / fs
    voiced = sum(np.sin(h * ph) / h for h in range(1, 20)) * 4000
    bursts = voiced * (np.sin(2 * np.pi * 3 * t) > 0.2) + rng.standard_normal(len(t)) * 300
    sig["speechlike_bursts"] = np.clip(np.round(bursts), -32768, 32767).astype(np.int16)
    sig["silence"] = np.zeros(fs, np.int16)
    sil_then_noise = np.zeros(fs * 3, np.int16)
    sil_then_noise[fs:] = (rng.standard_normal(fs * 2) * 500).astype(np.int16)
    sig["silence_then_noise"] = sil_then_noise
    clip = np.clip(np.round(60000 * np.sin(2 * np.pi * 440 * t)), -32768, 32767).astype(np.int16)
    sig["clipped_tone"] = clip
    sq = np.where((np.arange(fs) // 16) % 2 == 0, 32767, -32768).astype(np.int16)
    sig["full_scale_square"] = sq
    sig["extremes_random"] = rng.choice(np.array([-32768, 32767], np.int16), fs)
    imp = np.zeros(fs, np.int16)
    imp[::997] = -32768
    imp[500::1009] = 32767
    sig["impulses"] = imp
    sig["dc_min"] = np.full(fs // 2, -32768, np.int16)
    noise_then_silence = np.zeros(fs * 12, np.int16)
    noise_then_silence[:fs] = (rng.standard_normal(fs) * 8000).astype(np.int16)
    sig["noise_then_long_silence"] = noise_then_silence
    return sig


SIGNALS = _signals()
CONFIGS = [
    (),
    (("over_q8", 1),),
    (("over_q8", 128), ("gain_floor_db", -30)),
    (("over_q8", 640), ("gain_floor_db", -6)),
    (("over_q8", 4096), ("gain_floor_db", -60)),
    (("gain_floor_db", 0),),
    (("bypass", 1),),
]


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_stream_bit_exact_default(lib, name):
    run_both(lib, SIGNALS[name], check_state_every=7)


@pytest.mark.parametrize("config", CONFIGS[1:], ids=lambda c: ",".join(f"{k}={v}" for k, v in c))
@pytest.mark.parametrize(
    "name", ["noise", "speechlike_bursts", "full_scale_square", "silence_then_noise"]
)
def test_stream_bit_exact_configs(lib, name, config):
    run_both(lib, SIGNALS[name], config)


def test_reset_and_midstream_configure_bit_exact(lib):
    x = SIGNALS["speechlike_bursts"]
    c, p = CGate(lib), bl.SpectralGate()
    plan = {
        10: ("over_q8", 512),
        20: ("gain_floor_db", -25),
        30: "reset",
        40: ("bypass", 1),
        45: ("bypass", 0),
        50: "reset",
        60: ("over_q8", 77),
    }
    for h in range(len(x) // 256):
        act = plan.get(h)
        if act == "reset":
            c.reset()
            p.reset()
        elif act:
            assert c.configure(*act) == p.configure(*act) == 0
        np.testing.assert_array_equal(
            c.process_hop(x[h * 256 : h * 256 + 256]),
            p.process_hop(x[h * 256 : h * 256 + 256]),
            err_msg=f"hop {h}",
        )
    assert_same_state(c, p)


def test_configure_codes_match(lib):
    c, p = CGate(lib), bl.SpectralGate()
    cases = [
        ("over_q8", 0),
        ("over_q8", 1),
        ("over_q8", 4096),
        ("over_q8", 4097),
        ("over_q8", -5),
        ("gain_floor_db", -61),
        ("gain_floor_db", -60),
        ("gain_floor_db", 0),
        ("gain_floor_db", 1),
        ("bypass", -1),
        ("bypass", 0),
        ("bypass", 1),
        ("bypass", 2),
        ("unknown", 0),
        ("", 0),
        ("over_q", 256),
        ("over_q8x", 256),
        ("gain_floor_db", 2**31 - 1),
        ("over_q8", -(2**31)),
    ]
    for k, v in cases:
        assert c.configure(k, v) == p.configure(k, v), (k, v)
    assert c.configure("nope", 1) == 4 and c.configure("over_q8", 0) == 5


def test_bypass_reconstructs_delayed_input(lib):
    rng = np.random.default_rng(8)
    x = rng.integers(-32768, 32768, 256 * 60, dtype=np.int16)
    x[: 256 * 10] = (x[: 256 * 10] // 64).astype(np.int16)
    y = run_both(lib, x, (("bypass", 1),))
    assert np.all(y[:256] == 0)
    err = y[256:].astype(int) - x[:-256]
    assert np.abs(err).max() <= 1
    assert np.mean(err == 0) > 0.99


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    nhops=st.integers(1, 24),
    over_q8=st.integers(1, 4096),
    floor_db=st.integers(-60, 0),
    scale=st.sampled_from([0, 1, 8, 256, 4096, 32768]),
)
def test_hypothesis_random_streams_bit_exact(lib, data, nhops, over_q8, floor_db, scale):
    n = nhops * 256 - data.draw(st.integers(0, 255))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if scale == 32768:
        x = rng.integers(-32768, 32768, n, dtype=np.int64)
    else:
        x = np.round(rng.standard_normal(n) * scale)
    x = np.clip(x, -32768, 32767).astype(np.int16)
    # sprinkle some exact extremes and zero runs
    if n > 10:
        x[rng.integers(0, n, 3)] = [-32768, 32767, 0]
    run_both(lib, x, (("over_q8", over_q8), ("gain_floor_db", floor_db)))


@settings(max_examples=10, deadline=None)
@given(x=st.lists(st.integers(-32768, 32767), min_size=256, max_size=256 * 12))
def test_hypothesis_raw_int16_lists_bit_exact(lib, x):
    run_both(lib, np.array(x, np.int16))


# ---------------------------------------------------------------------------------------------
# The bench_model glue
# ---------------------------------------------------------------------------------------------


def test_glue_descriptor_and_stage_marks(lib):
    assert lib.sgt_glue_str(-1) == b"dsp-baseline"
    assert [lib.sgt_glue_u(i) for i in range(4)] == [16000, 512, 256, 3]
    assert [lib.sgt_glue_str(i) for i in range(3)] == [b"stft", b"gain", b"istft"]
    assert lib.sgt_glue_configure(b"nope", 1) == 4
    assert lib.sgt_glue_configure(b"over_q8", 0) == 5
    assert lib.sgt_glue_configure(b"over_q8", 300) == 0
    lib.sgt_glue_reset()
    p = bl.SpectralGate()
    p.configure("over_q8", 300)
    x = SIGNALS["speechlike_bursts"][: 256 * 20]
    marks = (ctypes.c_uint * 16)()
    for h in range(20):
        hop = np.ascontiguousarray(x[h * 256 : (h + 1) * 256])
        out = np.zeros(256, np.int16)
        n = lib.sgt_glue_process(_ptr(hop, P_I16), _ptr(out, P_I16), marks)
        assert list(marks)[:n] == [0, 1, 2]
        np.testing.assert_array_equal(out, p.process_hop(hop))
    lib.sgt_glue_reset()
    p.reset()
    hop = np.ascontiguousarray(x[:256])
    out = np.zeros(256, np.int16)
    lib.sgt_glue_process(_ptr(hop, P_I16), _ptr(out, P_I16), marks)
    np.testing.assert_array_equal(out, p.process_hop(hop))


# ---------------------------------------------------------------------------------------------
# Why the flags matter (and that these tests would notice)
# ---------------------------------------------------------------------------------------------


def _cpu_has(flag: str) -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return platform.machine() in ("x86_64", "AMD64") and f" {flag}" in text


def _diverges(L) -> bool:
    c, p = CGate(L), bl.SpectralGate()
    x = SIGNALS["speechlike_bursts"]
    for h in range(len(x) // 256):
        if not np.array_equal(
            c.process_hop(x[h * 256 : h * 256 + 256]), p.process_hop(x[h * 256 : h * 256 + 256])
        ):
            return True
    return not all(np.array_equal(c.field(n), getattr(p, n)) for n in ("S", "N", "A", "G"))


@pytest.mark.skipif(not _cpu_has("fma"), reason="needs an x86-64 host with FMA")
def test_fused_multiply_add_breaks_exactness():
    """-ffp-contract=fast with FMA available (as on the M4F's VFPv4) changes the results:
    this is why -ffp-contract=off is required, and shows the comparison is sensitive."""
    assert _diverges(load_lib(["-mfma", "-ffp-contract=fast"], "baseline-fma"))


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 host only")
def test_vectorised_o3_native_build_stays_exact():
    """Vectorisation / -O3 / -march=native do not matter as long as contraction is off."""
    assert not _diverges(load_lib(["-O3", "-march=native", "-ffp-contract=off"], "baseline-o3"))


@pytest.mark.parametrize(
    "name", ["noise_then_long_silence", "speechlike_bursts", "impulses", "tone"]
)
def test_flush_to_zero_does_not_matter(lib, name):
    """No subnormal numbers arise on these signals (the smoothed power is cut to 0 below
    2^-40), so even a flush-to-zero FPU (FPSCR.FZ = 1, x86 FTZ/DAZ) gives the same bits."""
    if not lib.sgt_has_ftz():
        pytest.skip("no SSE MXCSR on this host")
    c, p = CGate(lib), bl.SpectralGate()
    x = SIGNALS[name]
    for h in range(len(x) // 256):
        hop = np.ascontiguousarray(x[h * 256 : (h + 1) * 256])
        out = np.zeros(256, np.int16)
        lib.sgt_process_ftz(c.s, _ptr(hop, P_I16), _ptr(out, P_I16))
        np.testing.assert_array_equal(out, p.process_hop(hop), err_msg=f"hop {h}")
    assert_same_state(c, p)
