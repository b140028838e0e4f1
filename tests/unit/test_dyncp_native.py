"""firmware/models/dyncp built with host gcc is BIT-EXACT with the integer golden model
bench/models/dyncp/intnet.py: features, keep-masks, kept counts, MACs, gains and int16 output,
for the static (r100) and a gated (r25) model, on the reference and the emulated DSP kernel paths."""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest

from bench.data.loader import default_set_path, load_set
from bench.models.dyncp import intnet
from bench.models.dyncp.config import HOP_LEN, N_BINS
from bench.models.dyncp.export import generate, load_probes, out_dir_for, source_name
from bench.models.dyncp.quantize import DyncpQuant
from bench.models.common.native import build_shared
from bench.paths import repo_root

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")

ROOT = repo_root()
SRC = ROOT / "firmware/models/dyncp"
MODELS = ("dyncp-small-r100", "dyncp-small-r25")
# the kernels the runner links (as its entries in firmware/images.toml)
KERNELS = [ROOT / "firmware/kernels" / f"{n}.c" for n in (
    "bk_dsp_path", "bk_fc_s8", "bk_fc_s8_s16", "bk_sigmoid_lut", "bk_sigmoid_s16", "bk_support_matvec",
    "bk_pw_conv_s8", "bk_pw_conv_t_s8", "bk_dw_conv_s8")]

SHIM = r"""
#include <stddef.h>
#include <string.h>
#include "dyncp.h"
size_t dct_sizeof(void) { return sizeof(dc_state_t); }
void dct_run(dc_state_t *s, const int16_t *in, int n_hops, int16_t *out, int8_t *feats, int16_t *gains,
             uint32_t *masks, uint32_t *macs)
{
    for (int t = 0; t < n_hops; t++) {
        dc_analysis(s, in + t * DC_HOP);
        memcpy(feats + t * DC_BINS, s->feat, DC_BINS);
        dc_network(s);
        memcpy(gains + t * DC_BINS, s->gain, sizeof s->gain);
        memcpy(masks + t * DC_N_BLOCKS * DC_MASK_WORDS, s->masks, sizeof s->masks);
        macs[t] = s->last_macs;
        dc_synthesis(s, out + t * DC_HOP);
    }
}
"""


def _lib(tmp_path_factory: pytest.TempPathFactory, model: str, dsp: bool) -> ctypes.CDLL:
    shim = tmp_path_factory.mktemp("dcshim") / "dc_shim.c"
    shim.write_text(SHIM)
    gen = out_dir_for(model)
    srcs = [SRC / "dyncp.c", SRC / "dyncp_ops.c", gen / "dyncp_params.c", shim, *KERNELS]
    defines = {"BK_EMULATE_DSP": None} if dsp else {}
    lib = ctypes.CDLL(str(build_shared(srcs, [SRC, gen, ROOT / "firmware/kernels"], defines,
                                       name=f"{model}-{'dsp' if dsp else 'ref'}")))
    lib.dct_sizeof.restype = ctypes.c_size_t
    return lib


def _run(lib: ctypes.CDLL, x: np.ndarray, qm: DyncpQuant) -> dict[str, np.ndarray]:
    cfg = qm.config
    t = x.size // HOP_LEN
    buf = ctypes.create_string_buffer(lib.dct_sizeof() + 16)
    lib.dc_reset(buf)
    words = (cfg.conv + 31) // 32
    out = np.zeros(t * HOP_LEN, np.int16)
    feats = np.zeros((t, N_BINS), np.int8)
    gains = np.zeros((t, N_BINS), np.int16)
    masks = np.zeros((t, cfg.n_blocks, words), np.uint32)
    macs = np.zeros(t, np.uint32)
    p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    lib.dct_run(buf, p(np.ascontiguousarray(x, np.int16)), ctypes.c_int(t), p(out), p(feats), p(gains),
                p(masks), p(macs))
    bits = ((masks[..., :, None] >> np.arange(32, dtype=np.uint32)) & 1).astype(bool).reshape(t, cfg.n_blocks, -1)
    return {"out": out, "feats": feats, "gains": gains, "bits": bits[..., : cfg.conv], "macs": macs}


@pytest.fixture(scope="module")
def utterances():
    return list(load_set(default_set_path(), sample_rate=16000))


@pytest.mark.parametrize("model", MODELS)
def test_generated_tables_are_committed(model):
    d = ROOT / "models/dyncp" / model
    h, c = generate(DyncpQuant.load(d), source_name(d), load_probes(d))
    assert (out_dir_for(model) / "dyncp_params.h").read_text() == h
    assert (out_dir_for(model) / "dyncp_params.c").read_text() == c, \
        f"regenerate: python -m bench.models.dyncp.export models/dyncp/{model}"


@pytest.mark.parametrize("dsp", [False, True], ids=["ref", "dsp"])
@pytest.mark.parametrize("model", MODELS)
def test_runner_bit_exact_with_golden(tmp_path_factory, utterances, model, dsp):
    qm = DyncpQuant.load(ROOT / "models/dyncp" / model)
    lib = _lib(tmp_path_factory, model, dsp)
    u = utterances[0]
    x = u.noisy[: 120 * HOP_LEN]
    gold = intnet.enhance(qm, x, extra_hops=0)
    got = _run(lib, x, qm)
    assert np.array_equal(got["feats"], gold.features)
    if qm.config.gated:
        assert np.array_equal(got["bits"], gold.masks)
        assert 0 < gold.kept.mean() < qm.config.conv  # the gates really skip channels here
    else:
        assert got["bits"].all()
    assert np.array_equal(got["macs"], gold.macs)
    assert np.array_equal(got["gains"], gold.gains)
    assert np.array_equal(got["out"], gold.raw)
