"""The error catalogue (#16, docs/errors.md), the checks inside the numerics: the quantisers, the integer
kernels' parameter builders, the TFLM exporters, the mpgru search's nsNet2 task and the probes. Each is
provoked with the input that breaks it, through the module's public function (a model folder or an
int8.npz that another tool wrote or edited, a parameter a caller passes, a set without the labels a
step needs), and checked for what went wrong and what to do."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_data_loader import bench_layout

from bench.errors import ConfigError, DataError
from bench.models.common import gru_int as gi
from bench.models.common import int8ops as q8
from bench.paths import repo_root

NSNET2 = repo_root() / "models" / "nsnet2" / "nsnet2-small"
DYNCP = repo_root() / "models" / "dyncp" / "dyncp-small-r25"


def _gru(i: int = 8, h: int = 16, bias_bits: int = 32, seed: int = 0) -> gi.GruQuant:
    rng = np.random.default_rng(seed)
    wi = rng.normal(0, 0.3, (3 * h, i)).astype(np.float32)
    wh = rng.normal(0, 0.3, (3 * h, h)).astype(np.float32)
    bi, bh = (rng.normal(0, 2, 3 * h).astype(np.float32) for _ in range(2))
    xs = rng.normal(0, 1, (20, i)).astype(np.float32)
    return gi.quantize_gru(wi, wh, bi, bh, xs, bits=gi.GruGenome.homogeneous(8, 16, bias_bits))


# ---- the mixed-precision GRU tables (gru_int.mp_blob, what the mpgru exporter writes) --------------

def test_narrow_bias_that_is_not_a_multiple_of_its_shift():
    q = _gru(bias_bits=8)
    assert q.bias_shift[0] > 0
    gi.mp_blob(q)  # as quantised: fine
    with pytest.raises(ConfigError, match=rf"operator W_ir: bias is not a multiple of 2\^{q.bias_shift[0]}"):
        gi.mp_blob(dataclasses.replace(q, b_ih=q.b_ih + 1))


def test_narrow_bias_that_does_not_fit_its_width():
    q = _gru(bias_bits=8)
    big = np.full_like(q.b_hh, 1 << 30)  # a multiple of every shift, far beyond 8 bits once shifted
    with pytest.raises(ConfigError, match=r"operator W_hr: bias does not fit 8 bits"):
        gi.mp_blob(dataclasses.replace(q, b_hh=big))


# ---- TFLM int16 LOGISTIC / TANH parameters ----------------------------------------------------------

@pytest.mark.parametrize("params", [q8.sigmoid_s16_params, q8.tanh_s16_params])
def test_lut_input_scale_too_large(params):
    assert params(2.0**-12) == (0, 0)
    with pytest.raises(ConfigError, match=r"int16 logistic/tanh: input scale 10\.0 too large"):
        params(10.0)


@pytest.mark.parametrize("fn", [q8.sigmoid_s16, q8.tanh_s16])
@pytest.mark.parametrize("shift", [-1, 32])
def test_lut_input_shift_out_of_range(fn, shift):
    x = np.arange(-4, 4, dtype=np.int16)
    with pytest.raises(ConfigError, match=r"input_left_shift must be in 0\.\.31"):
        fn(x, 20000, shift)


# ---- DynCP: the gate's requantisation and its TFLM export ------------------------------------------

def test_dyncp_gate_whose_bias_overflows_the_requantisation():
    """A gate output layer whose bias is enormous beside its weights (a diverged training): its
    accumulator bound does not fit the x2 requantisation, and quantize_model says so."""
    from bench.models.dyncp.quantize import quantize_model
    from bench.models.dyncp.reference import DyncpModel

    m = DyncpModel.load(DYNCP)
    p = dict(m.params)
    p["blocks.0.gate.out.bias"] = np.full_like(p["blocks.0.gate.out.bias"], 1e9)  # saturates int32 whatever the weights
    calib = [np.random.default_rng(0).normal(0, 3000, 16000).astype(np.float32)]
    with pytest.raises(ConfigError, match=r"gate accumulator bound \d+ would overflow the x2 requantisation"):
        quantize_model(DyncpModel(m.config, p), calib)


def test_dyncp_gate_multiplier_that_float32_cannot_keep_above_one_half():
    """A gate output multiplier a hair above 1/2 (an int8.npz not written by our quantiser, which keeps
    them >= 1): no float32 weight scale keeps it >= 1/2 in TFLM's Prepare, so the export refuses."""
    from bench.models.dyncp.quantize import QFc
    from bench.tflm.dyncp import gate_scales

    def gate(mult: int) -> QFc:
        return QFc(np.zeros((1, 4), np.int8), np.zeros(1, np.int32), np.array([mult], np.int32),
                   np.array([0], np.int32), 0, 0)

    s_in = 0.12515899538993835
    ws, _ = gate_scales("b0.gate_out", gate((1 << 31) - 1), s_in)  # a multiplier of ~1: fine
    assert ws.shape == (1,)
    with pytest.raises(ConfigError, match=r"b0\.gate_out: gate multiplier below 1/2 after float32 rounding"):
        gate_scales("b0.gate_out", gate((1 << 30) + 2), s_in)


# ---- nsNet2: the TFLM export of an edited int8.npz --------------------------------------------------

def test_nsnet2_export_of_a_multiplier_no_float32_scale_gives():
    """int8.npz keeps integer multipliers; one that no float32 weight scale reproduces (edited by
    hand, or written by another tool) cannot become a TFLM graph."""
    from bench.models.nsnet2.quantize import QuantModel
    from bench.tflm import nsnet2 as tn

    qm = QuantModel.load(NSNET2 / "int8.npz")
    L = qm.layers["fc1"]
    mult = L.mult.copy()
    mult[3] += 1
    bad = dataclasses.replace(qm, layers={**qm.layers, "fc1": dataclasses.replace(L, mult=mult)})
    with pytest.raises(ConfigError, match=rf"fc1\[3\]: no float32 weight scale reproduces multiplier "
                                          rf"\({mult[3]}, {L.shift[3]}\)"):
        tn.export(bad, 4)


# ---- the mpgru search's tasks ------------------------------------------------------------------------

def _nsnet2_dir(tmp_path: Path, **layers: object) -> Path:
    """A copy of nsnet2-small whose int8.npz has some layers replaced."""
    from bench.models.nsnet2.quantize import QuantModel

    d = tmp_path / "nsnet2-edited"
    d.mkdir()
    for f in ("config.json", "weights.npz", "norm.npz"):
        shutil.copy(NSNET2 / f, d / f)
    qm = QuantModel.load(NSNET2 / "int8.npz")
    dataclasses.replace(qm, layers={**qm.layers, **layers}).save(d / "int8.npz")
    return d


def test_nsnet2_task_on_a_model_whose_gru_layer_is_not_a_gru(tmp_path):
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask
    from bench.models.nsnet2.quantize import QuantModel

    fc2 = QuantModel.load(NSNET2 / "int8.npz").layers["fc2"]
    d = _nsnet2_dir(tmp_path, gru1=dataclasses.replace(fc2, name="gru1"))
    task = Nsnet2GruTask(d, utts=2)
    with pytest.raises(ConfigError, match=rf"{d}: layer gru1 is not a GRU"):
        task.quant_model(gi.GruGenome.homogeneous(8, 16, 32))


def test_nsnet2_meter_tables_for_gru_layers_of_different_shapes(tmp_path):
    from bench.models.mpgru.nsnet2meter import write_meter_tables
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask
    from bench.models.nsnet2.quantize import QuantModel

    g2 = QuantModel.load(NSNET2 / "int8.npz").layers["gru2"]
    narrow = _gru(i=64, h=128)
    d = _nsnet2_dir(tmp_path, gru2=dataclasses.replace(g2, n_in=64, gru=narrow))
    out = tmp_path / "root"
    with pytest.raises(ConfigError, match=rf"{d}: GRU layers of different shapes; one meter image per shape"):
        write_meter_tables(Nsnet2GruTask(d, utts=2), root=out)
    assert not out.exists()  # refused before anything was written


def test_nsnet2_meter_probe_on_a_set_without_search_voices(tmp_path):
    """The probe utterance comes from the search half (its voices): a --set of a lab's own recordings
    (no voice column) has none."""
    from bench.models.mpgru.nsnet2meter import layer_probes
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask

    s = bench_layout(tmp_path / "set")
    task = Nsnet2GruTask(NSNET2, utts=2, set_dir=s)
    with pytest.raises(ConfigError, match=rf"{s}: no utterance in the search half to probe the GRU layers with"):
        layer_probes(task, gi.GruGenome.homogeneous(8, 16, 32))


def test_nsnet2_instructions_without_the_meter_image():
    from bench.models.mpgru.nsnet2task import Nsnet2Evaluator

    ev = Nsnet2Evaluator(utts=2)
    with pytest.raises(ConfigError, match=r"the nsnet2 task's instructions objective needs its meter image "
                                          r"mpgru-nsnet2-an386 .*--build-images mpgru-nsnet2-an386 --images-dir DIR"):
        ev.instructions(gi.GruGenome.homogeneous(8, 16, 32))


def test_mpgru_instructions_without_a_target_meter():
    from bench.models.mpgru.evaluate import Evaluator

    ev = Evaluator("digits-h32", "digits")
    with pytest.raises(ConfigError, match=r"instructions need a target meter \(an mpgru image on a target\)"):
        ev.instructions(ev.qm8)


# ---- the mask probes ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """A lab's own recordings (clean/ + noisy/, no labels CSV: no noise class) and a gated model."""
    from bench.data.loader import load_set
    from bench.models.dyncp.reference import DyncpModel

    s = bench_layout(tmp_path_factory.mktemp("probes") / "set")
    return DyncpModel.load(DYNCP), list(load_set(s, 16000))


def test_probes_trained_on_utterances_without_a_noise_class(unlabelled):
    from bench.models.probes.features import set_frames
    from bench.models.probes.train import fit_probes

    model, utts = unlabelled
    fs = set_frames(model, utts)
    with pytest.raises(ConfigError, match=r"training utterances have a noise class the probes know.*train on a set made by `bench data make`"):
        fit_probes(fs, model.config.n_blocks, model.config.conv)


def test_probe_features_of_another_length_than_the_labels(unlabelled):
    from bench.models.probes.features import utterance_frames

    model, utts = unlabelled
    with pytest.raises(DataError, match=rf"{utts[0].id}: 3 mask frames but \d+ label frames at hop 256"):
        utterance_frames(model, utts[0], bits=np.zeros((3, 8), np.float32))


# ---- rooms (bench data make --reverb) ----------------------------------------------------------------

def test_room_whose_microphone_is_outside_it():
    pytest.importorskip("pyroomacoustics")
    from bench.data.rooms import Room, impulse_response

    inside = Room((3.0, 3.0, 2.5), 0.3, (1.0, 1.0, 1.2), (2.0, 1.5, 1.2))
    assert impulse_response(inside, 16000).max() == pytest.approx(1.0)
    outside = Room((3.0, 3.0, 2.5), 0.3, (1.0, 1.0, 1.2), (5.0, 5.0, 1.2))
    with pytest.raises(DataError, match=r"room Room\(.*\): empty impulse response; draw another room"):
        impulse_response(outside, 16000)
