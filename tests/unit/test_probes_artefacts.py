"""The committed probes of models/dyncp/dyncp-small-r25 and -r50: files consistent with each
other and with the model, integer export within int32, and re-running the probes on a shipped
test utterance (float reference masks) reproduces the recorded decisions, with the C probes
bit-exact against the numpy golden on those masks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bench.data.loader import load_set
from bench.data.noises import NOISE_CLASSES
from bench.models.dyncp.reference import DyncpModel
from bench.models.probes.features import utterance_frames
from bench.models.probes.golden import probe_scores
from bench.models.probes.quant import COMMAND_FILE, JSON_FILE, headroom, load_npz, probe_names
from bench.models.probes.readout import run_probes
from bench.paths import repo_root

MODELS = ["dyncp-small-r25", "dyncp-small-r50"]


@pytest.fixture(scope="module", params=MODELS)
def art(request):
    d = repo_root() / "models" / "dyncp" / request.param
    fp, q = load_npz(d)
    doc = json.loads((d / JSON_FILE).read_text())
    return d, fp, q, doc


def test_files_agree(art):
    d, fp, q, doc = art
    cfg = DyncpModel.load(d).config
    assert (q.n_blocks, q.n_channels) == (cfg.n_blocks, cfg.conv) == (9, 128)
    assert q.classes == NOISE_CLASSES
    e = doc["export"]
    assert e["probe_order"] == list(probe_names(NOISE_CLASSES))
    assert e["shift"] == q.shift.tolist() and e["bias"] == q.bias.tolist()
    assert np.all(headroom(q.weights, q.bias) >= 0)
    assert (d / COMMAND_FILE).read_text().startswith(".venv/bin/bench probes train ")
    # the integer map is the float one up to rounding at the recorded scales
    assert np.max(np.abs(q.weights * q.scale - fp.weight) / q.scale) <= 0.5 + 1e-9


def test_recorded_figures(art):
    _, _, _, doc = art
    t = doc["test"]
    agree = t["float_vs_integer"]
    assert agree["vad_frames"] >= 0.99 and agree["class_frames"] >= 0.99 and agree["class_utts"] == 1.0
    assert agree["f0_max_abs_hz"] < 0.5
    assert t["n_utts"] == 16
    # the probes read something: better than always "speech" and than the mean F0
    v = t["integer"]["vad"]
    assert v["accuracy"] > max(v["speech_fraction_ref"], 1 - v["speech_fraction_ref"])
    assert t["integer"]["f0"]["r2"] > 0.0


@pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")
def test_rerun_on_a_test_utterance(art):
    from bench.models.probes.native import NativeProbes

    d, fp, q, doc = art
    model = DyncpModel.load(d)
    u = load_set(None, 16000)[0]
    f = utterance_frames(model, u)
    assert np.array_equal(NativeProbes(q).scores(f.bits), probe_scores(f.bits, q))
    rec = next(r for r in doc["test"]["per_utterance"] if r["utt"] == u.id)
    of, oq = run_probes(f.bits, fp), run_probes(f.bits, q)
    assert oq.utt_class == rec["integer_class"] and of.utt_class == rec["float_class"]
    assert float((of.vad == f.vad).mean()) == pytest.approx(rec["vad_accuracy"], abs=1e-12)
