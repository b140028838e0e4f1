"""The runners' feature front ends (the per-bin "kernels" of the stft stage), built with host gcc:

* DynCP ``dc_feature`` (firmware/models/dyncp/dyncp.c): the bucket table of float exponent and top
  mantissa bits plus one to three comparisons equals its golden model, ``searchsorted`` over the
  255 thresholds (bench.models.dyncp.intnet.features_int8), at every threshold, the floats either
  side of it, every bucket boundary, zero and the extremes, and random powers;
* nsNet2 ``nn_log2f`` (firmware/models/nsnet2/nsnet2.c): its table is the golden model's
  (bench.models.nsnet2.golden.log2_table), and the C equals golden.log2_f32 bit for bit on every
  table interval (the runner-level bit-exactness is tests/unit/test_nsnet2_native.py)."""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest

from bench.models.common.native import build_shared
from bench.models.dyncp.export import out_dir_for
from bench.models.dyncp.quantize import DyncpQuant
from bench.models.nsnet2 import golden as NG
from bench.paths import repo_root

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

ROOT = repo_root()
KERNELS = [ROOT / "firmware/kernels" / f"{n}.c" for n in (
    "bk_dsp_path", "bk_fc_s8", "bk_fc_s8_s16", "bk_sigmoid_lut", "bk_sigmoid_s16", "bk_support_matvec",
    "bk_pw_conv_s8", "bk_pw_conv_t_s8", "bk_dw_conv_s8", "bk_fc_s16", "bk_gru_cell_s8", "bk_requantize_s16_s8",
    "bk_tanh_s16")]


@pytest.fixture(scope="module", params=["dyncp-small-r25", "dyncp-small-r100"])
def dyncp(request, tmp_path_factory):
    model = request.param
    src = ROOT / "firmware/models/dyncp"
    gen = out_dir_for(model)
    lib = ctypes.CDLL(str(build_shared([src / "dyncp.c", src / "dyncp_ops.c", gen / "dyncp_params.c", *KERNELS],
                                       [src, gen, ROOT / "firmware/kernels"], {}, name=f"fe-{model}")))
    lib.dc_feature.restype = ctypes.c_int8
    lib.dc_feature.argtypes = [ctypes.c_float]
    return lib, DyncpQuant.load(ROOT / "models/dyncp" / model).thresholds.astype(np.float32)


def _dc_cases(thr: np.ndarray) -> np.ndarray:
    f32 = np.float32
    up = np.nextafter(thr, f32(np.inf))
    down = np.nextafter(thr, f32(0))
    bits = thr.view(np.uint32)
    lo, hi = int(bits[0] >> 19) - 2, int(bits[-1] >> 19) + 2
    buckets = (np.arange(lo, hi + 1, dtype=np.uint32) << np.uint32(19)).view(np.float32)  # every bucket's first float
    rng = np.random.default_rng(5)
    rand = (f32(2.0) ** rng.uniform(-30, 45, 20000)).astype(f32)
    ends = np.array([0.0, 1e-45, 1e-38, 1.0, 3.4e38, np.finfo(f32).max], f32)
    return np.concatenate([thr, up, down, buckets, np.nextafter(buckets, f32(0)), rand, ends]).astype(f32)


def test_dc_feature_is_searchsorted(dyncp):
    lib, thr = dyncp
    p = _dc_cases(thr)
    want = (np.searchsorted(thr, p, side="right") - 128).astype(np.int8)
    got = np.array([lib.dc_feature(float(v)) for v in p], np.int8)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(float(p[i]), int(got[i]), int(want[i])) for i in bad[:5]]


def test_nsnet2_log2_table_is_the_golden_models():
    src = (ROOT / "firmware/models/nsnet2/nsnet2.c").read_text()
    i = src.index("static const float NN_LOG2_TD[256][2] = {\n") + len("static const float NN_LOG2_TD[256][2] = {\n")
    assert src[i:src.index("\n};", i)] == NG.log2_table_c_source(), \
        "nsnet2.c's NN_LOG2_TD differs from bench.models.nsnet2.golden.log2_table_c_source()"


def test_nn_log2f_every_interval(tmp_path_factory):
    src = ROOT / "firmware/models/nsnet2"
    gen = src / "gen" / "nsnet2-small"
    lib = ctypes.CDLL(str(build_shared([src / "nsnet2.c", gen / "nsnet2_params.c", *KERNELS],
                                       [src, gen, ROOT / "firmware/kernels"], {}, name="fe-nsnet2")))
    lib.nn_log2f.restype = ctypes.c_float
    lib.nn_log2f.argtypes = [ctypes.c_float]
    rng = np.random.default_rng(11)
    i = np.arange(256, dtype=np.uint32)
    e = rng.integers(100, 170, 256).astype(np.uint32)
    r = np.concatenate([np.zeros(256, np.uint32), np.full(256, 0x7FFF, np.uint32),
                        rng.integers(0, 0x8000, 256).astype(np.uint32)])
    bits = (np.tile(e, 3) << np.uint32(23)) | (np.tile(i, 3) << np.uint32(15)) | r
    p = bits.view(np.float32)
    got = np.array([lib.nn_log2f(float(v)) for v in p], np.float32)
    assert np.array_equal(got.view(np.uint32), NG.log2_f32(p).view(np.uint32))
