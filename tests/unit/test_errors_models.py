"""The error catalogue (#16, docs/errors.md), models and training: every refusal of a trainer's options,
a training set, a model folder (config, weights, norm, quantised file), an optional package that is
not installed, or a probe input that a user can meet, provoked through the public path (`bench train`
through bench.cli.main, the models' load(), the probes' feature functions), each checked for what went
wrong and what to do."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from test_data_loader import bench_layout, speechy, wav

from bench.cli import main
from bench.errors import BenchError, ConfigError, DataError
from bench.paths import repo_root

MODELS = repo_root() / "models"


@pytest.fixture
def train(tmp_path, capsys):
    """`bench train FAMILY ...` with its work and output in tmp_path: (exit status, stderr)."""
    pytest.importorskip("torch")

    def run(family: str, *argv: str) -> tuple[int, str]:
        rc = main(["train", family, "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), *argv])
        return rc, capsys.readouterr().err

    return run


# ---- trainer options (checked before any training) ---------------------------------------------

@pytest.mark.parametrize("family,argv,text", [
    ("dyncp", ["--threads", "0"], "--threads must be >= 1"),
    ("dyncp", ["--steps", "0"], "steps and batch must be >= 1, crop_frames >= 8"),
    ("dyncp", ["--lr", "2"], "need 0 < lr_final <= lr < 1, got 5e-05, 2.0"),
    ("dyncp", ["--compress", "0"], "compress must be in (0, 1], complex_weight in [0, 1]"),
    ("dyncp", ["--val-utts", "1000"], "val_utts must be in [0, n_utts)"),
    ("dyncp", ["--ckpt-every", "0"], "ckpt_every, log_every and max_minutes must be positive"),
    ("dyncp", ["--keep-ratio", "0"], "keep_ratio must be in (0, 1], got 0.0"),
    ("dyncp", ["--ratio-weight", "-1"], "ratio_weight must be >= 0 and ratio_warmup in [0, 1]"),
    ("nsnet2", ["--steps", "0"], "steps and batch must be >= 1, crop_frames >= 8"),
])
def test_trainer_options(train, family, argv, text):
    rc, err = train(family, *argv)
    assert rc == 1 and f"error: {text}" in err


def test_nsnet2_exit_weights():
    pytest.importorskip("torch")
    from bench.train.nsnet2 import TrainConfig

    with pytest.raises(ConfigError,
                       match=r"exit_weights must be non-negative with a positive sum, got \(1\.0, -1\.0\)"):
        TrainConfig(exit_weights=(1.0, -1.0))
    with pytest.raises(ConfigError, match=r"exit_weights has 2 entries, the model has 4 exits"):
        TrainConfig(exit_weights=(1.0, 1.0)).weights_for(4)


def test_training_set_too_small_or_without_references(train, tmp_path):
    one = bench_layout(tmp_path / "one", names=("u1",))
    rc, err = train("dyncp", "--data", str(one), "--steps", "1")
    assert rc == 1 and "needs at least 2 utterances to train, found 1" in err
    noisy_only = tmp_path / "noisy-only"
    for n in ("a", "b"):
        wav(noisy_only / "noisy" / f"{n}.wav", speechy(1))
    rc, err = train("dyncp", "--data", str(noisy_only), "--steps", "1")
    assert rc == 1 and "utterance a has no clean file; training needs clean/noisy pairs" in err


# ---- optional packages that are not installed ---------------------------------------------------

def test_train_without_torch(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails, as without the train extra
    assert main(["train", "dyncp"]) == 2
    out = capsys.readouterr()
    assert "bench train needs PyTorch: pip install -e .[train]" in out.out + out.err


def test_digits_without_scikit_learn(monkeypatch):
    from bench.data.digits import load_digits_sequences

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match=r"the digits task needs scikit-learn: pip install -e \.\[search\]"):
        load_digits_sequences("train")


def test_tflm_without_tflite_micro(monkeypatch):
    from bench import tflm

    monkeypatch.setitem(sys.modules, "tflite_micro", None)
    monkeypatch.setitem(sys.modules, "tflite_micro.python.tflite_micro", None)
    with pytest.raises(ConfigError, match=r"TFLite-Micro is not installed \(.*\); install the tflm extra: "
                                          r"\.venv/bin/pip install -e '\.\[tflm\]'"):
        tflm.require()


# ---- model folders ------------------------------------------------------------------------------

def _copy(name: str, tmp_path: Path) -> Path:
    family = "nsnet2" if name.startswith("nsnet2") else "dyncp"
    d = tmp_path / name
    shutil.copytree(MODELS / family / name, d)
    return d


def test_model_config_that_is_not_json(tmp_path):
    from bench.models.nsnet2.reference import Nsnet2Model

    d = _copy("nsnet2-small", tmp_path)
    (d / "config.json").write_text("{ not json")
    with pytest.raises(ConfigError, match=r"config\.json: cannot read the .* config JSON \(.*\)"):
        Nsnet2Model.load(d)


def test_norm_file_without_its_arrays(tmp_path):
    from bench.models.nsnet2.reference import Nsnet2Model

    d = _copy("nsnet2-small", tmp_path)
    np.savez(d / "norm.npz", mu=np.zeros(3))
    with pytest.raises(ConfigError, match=r"norm\.npz: needs arrays 'mean' and 'std'"):
        Nsnet2Model.load(d)


def test_weights_with_non_finite_values(tmp_path):
    from bench.models.nsnet2.reference import Nsnet2Model

    d = _copy("nsnet2-small", tmp_path)
    with np.load(d / "weights.npz") as z:
        w = {k: np.array(z[k]) for k in z.files}
    k = sorted(w)[0]
    w[k].flat[0] = np.nan
    np.savez(d / "weights.npz", **w)
    with pytest.raises(ConfigError, match=rf"nsnet2-small: {k} holds non-finite values"):
        Nsnet2Model.load(d)


def test_quantised_model_of_another_family(tmp_path):
    from bench.models.nsnet2.quantize import QuantModel

    d = _copy("dyncp-small-r25", tmp_path)
    with pytest.raises(ConfigError,
                       match=r"int8\.npz: format '.*dyncp.*' is not '.*nsnet2.*'; quantise the model again"):
        QuantModel.load(d)


def test_exit_policy_threshold():
    from bench.models.nsnet2.reference import ExitPolicy

    with pytest.raises(ConfigError, match=r"threshold must be a number or inf, got nan"):
        ExitPolicy(threshold=float("nan"))


# ---- probes ---------------------------------------------------------------------------------------

def test_probe_inputs():
    from bench.data import Utterance
    from bench.models.dyncp.reference import DyncpModel
    from bench.models.probes.features import class_index, utterance_frames

    with pytest.raises(DataError, match=r"noise class 'rain' is not one of \("):
        class_index("rain", ("babble", "car"))
    model = DyncpModel.load(MODELS / "dyncp" / "dyncp-small-r25")
    x = (speechy(0, 8000) * 8000).astype(np.int16)
    u = Utterance(id="u8k", noisy=x, clean=x, sample_rate=8000)
    with pytest.raises(DataError, match=r"u8k: at 8000 Hz, the model runs at 16000 Hz"):
        utterance_frames(model, u)


def test_evaluating_probes_on_nothing():
    from bench.models.probes.features import stack

    with pytest.raises(DataError, match=r"no utterances to stack"):
        stack([])


def test_config_file_that_is_not_an_object(tmp_path):
    from bench.models.common.configio import read_model_dict

    p = tmp_path / "config.json"
    p.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match=r"config\.json: must hold a JSON object"):
        read_model_dict(p, "nsnet2")
    with pytest.raises(BenchError, match=r"nope\.json: cannot read the nsnet2 config JSON"):
        read_model_dict(tmp_path / "nope.json", "nsnet2")


# ---- host evaluation and the golden models -----------------------------------------------------

@pytest.mark.parametrize("model", ["nsnet2/nsnet2-small", "dyncp/dyncp-small-r25"])
def test_evaluate_on_a_set_without_references(tmp_path, capsys, model):
    noisy_only = tmp_path / "noisy-only"
    wav(noisy_only / "noisy" / "a.wav", speechy(1))
    rc = main(["evaluate", str(MODELS / model), "--set", str(noisy_only), "--no-write"])
    out = capsys.readouterr()
    assert rc == 2
    assert ("noisy-only: no utterance with a clean reference to score against; evaluate on a set with clean/ files "
            "(--set), e.g. the shipped one") in " ".join((out.out + out.err).split())


def test_dyncp_evaluate_needs_a_model():
    from bench.models.dyncp.evaluate import evaluate

    with pytest.raises(ConfigError, match=r"give at least one exported model directory \(models/dyncp/<name>\)"):
        evaluate([])


def test_golden_exit_policy_out_of_range():
    from bench.models.nsnet2.golden import GoldenNet
    from bench.models.nsnet2.quantize import QuantModel
    from bench.models.nsnet2.reference import ExitPolicy

    qm = QuantModel.load(MODELS / "nsnet2" / "nsnet2-small")
    last = qm.config.n_exits - 1
    with pytest.raises(ConfigError, match=rf"nsnet2-small: exit 9 out of range 0\.\.{last}"):
        GoldenNet(qm, 9)
    with pytest.raises(ConfigError, match=rf"nsnet2-small: dynamic policy needs 1 <= min_exit <= max_exit <= {last}"):
        GoldenNet(qm, ExitPolicy(threshold=0.01, min_exit=2, max_exit=1))
    for thr in (2.0, float("inf")):
        with pytest.raises(ConfigError, match=r"threshold .* out of range 0\.\.1 \(the mean \|mask change\|, as "
                                              r"thr_q15 / 32768 on the device\)"):
            GoldenNet(qm, ExitPolicy(threshold=thr))


def test_model_config_name():
    import dataclasses

    from bench.models.dyncp.config import get_config

    with pytest.raises(ConfigError,
                       match=r"config name 'my model' must be non-empty letters, digits, '-', '_' or '\.'"):
        dataclasses.replace(get_config("dyncp-small"), name="my model")


def test_quantize_multiplier_of_a_scale_that_is_not_finite():
    from bench.models.common.int8ops import quantize_multiplier

    with pytest.raises(ConfigError, match=r"quantize_multiplier\(inf\): a scale is not finite; check the model's "
                                          r"calibration"):
        quantize_multiplier(float("inf"))


def test_probes_train_without_a_train_split_or_on_an_ungated_model(tmp_path, capsys):
    ungated = _copy("dyncp-small-r100", tmp_path)  # a copy: nothing is written next to the shipped models
    rc = main(["probes", "train", str(ungated), "--data", str(tmp_path / "no-split")])
    err = capsys.readouterr().err
    assert rc != 0 and f"{tmp_path / 'no-split'}: no train split; make it with `bench data make --split train " in err
    split = bench_layout(tmp_path / "split")
    (split / "labels.csv").write_text("utt,noise_class,snr_db\nu1,babble,5\nu2,babble,5\n")
    rc = main(["probes", "train", str(ungated), "--data", str(split)])
    err = capsys.readouterr().err
    assert rc != 0 and f"{ungated}: ungated model, no masks to probe" in err
