"""The mixed-precision GRU images on QEMU (issue #15): genomes loaded at run time over CONFIGURE run
bit-exact with the golden model (state samples and logits), instruction counts repeat exactly, a bad
table is refused; a rebuilt Pareto image runs through `bench run` with its view (accuracy from the
target's logits, bit-exact with the golden model). The meter's image is built here from the current
sources (the kernels under test), the Pareto image is the committed one."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import DeviceError
from bench.families.mpgru import TargetMeter, qmodel_for
from bench.models.common import gru_int as gi
from bench.models.mpgru.model import load_model, quantize_model

pytestmark = pytest.mark.qemu
IMAGE = "mpgru-digits-an386"


@pytest.fixture(scope="module")
def meter(tmp_path_factory):
    from bench.families.mpgru import build_and_merge

    d = tmp_path_factory.mktemp("mpgru-images")
    build_and_merge([IMAGE], d)
    m = TargetMeter(IMAGE, images_dir=d)
    yield m
    m.close()


def _inputs(n=12, seed=0):
    return np.random.default_rng(seed).integers(-128, 128, (n, 8)).astype(np.int8)


@pytest.mark.parametrize("genes", [
    None,                                                               # the flash tables
    (8,) * 6 + (16,) * 10 + (32, 32),
    (4,) * 6 + (16,) * 10 + (32, 32),
    (2,) * 6 + (8,) * 10 + (8, 8),
    (2, 4, 8, 4, 2, 8, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 8, 16),
    (3, 5, 6, 7, 6, 5, 16, 12, 9, 16, 11, 16, 8, 16, 14, 13, 16, 32),  # the split-plane widths
    (7,) * 6 + (16,) * 10 + (32, 32),                                  # the largest table of the shape
])
def test_loaded_genomes_are_bit_exact_with_the_golden_model(meter, genes):
    m = load_model("digits-h32")
    qm = qmodel_for("models/mpgru/digits-h32") if genes is None else quantize_model(m, gi.GruGenome.from_genome(genes))
    xq = _inputs()
    r = meter.measure(None if genes is None else gi.mp_blob(qm.gru), xq)
    hs, logits = qm.run(xq)
    assert np.array_equal(r["logits"], logits)
    assert np.array_equal(r["pcm"].reshape(-1, 8), hs[:, :8])
    again = meter.measure(None if genes is None else gi.mp_blob(qm.gru), xq)
    assert np.array_equal(again["gru"], r["gru"])   # exact, repeatable counts
    assert r["gru"].min() > 10000 and "cycles_est_gru" in r


def test_a_bad_table_is_refused_and_the_flash_tables_stay(meter):
    qm = quantize_model(load_model("digits-h32"), gi.GruGenome.homogeneous(4))
    blob = gi.mp_blob(qm.gru).copy()
    blob[0] ^= 1
    with pytest.raises(DeviceError):
        meter.load(blob)
    r = meter.measure(None, _inputs(3))
    assert np.array_equal(r["logits"], qmodel_for("models/mpgru/digits-h32").run(_inputs(3))[1])


def test_pareto_image_through_bench_run(tmp_path, results_dir):
    from bench.families.mpgru import write_feature_set
    from bench.runner import Runner, RunOptions

    write_feature_set("digits", "digits-h32", tmp_path / "set", limit=6)
    run = Runner(RunOptions(target="qemu-mps2-an386-sh", images=("mpgru-digits-p58-an386",),
                            set_path=str(tmp_path / "set"), jobs=1)).start()
    v = run.read_view("mpgru-digits-p58-an386")
    assert v is not None and v["logits_bit_exact"] and v["state_bit_exact"], v
    assert v["utterances"] == 6 and v["error_target"] == v["error_golden"]
    assert v["model_bits"] == 15360 and v["gru_per_step"] > 0
