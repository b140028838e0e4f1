"""Errors of the quantisers, the probe exporter and the probe read-outs (docs/errors.md): what a model
folder, a calibration set, a genome or a caller can hand them that they cannot use. Each through the
public function that a command (`bench train`, `bench probes`, `bench search mpgru`) calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.errors import BenchError, ConfigError, MetricError
from bench.models.common import gru_int as gi
from bench.models.nsnet2.quantize import quantize_model
from bench.models.nsnet2.reference import Nsnet2Model
from bench.models.probes import quant as pq
from bench.models.probes import readout
from bench.paths import repo_root

NSNET2 = repo_root() / "models" / "nsnet2" / "nsnet2-small"


def test_nsnet2_quantisation_without_calibration_frames():
    m = Nsnet2Model.load(NSNET2)
    with pytest.raises(ConfigError, match="quantize_model: the calibration set holds no frames"):
        quantize_model(m, [np.zeros(0, np.float32)])
    with pytest.raises(ConfigError, match="calibration set holds no frames; give --calib a set with audio"):
        quantize_model(m, [])  # no utterance at all


def test_nsnet2_normalisation_of_the_wrong_size():
    m = Nsnet2Model.load(NSNET2)
    with pytest.raises(ConfigError, match=rf"{m.config.name}: norm mean/std must have shape \({m.config.n_bins},\)"):
        dataclasses.replace(m, norm_mean=m.norm_mean[:-1])


def _float_probes(n_blocks=2, n_channels=4, classes=("a", "b")) -> pq.FloatProbes:
    p = len(classes) + 2
    rng = np.random.default_rng(0)
    return pq.FloatProbes(rng.normal(size=(n_blocks * n_channels, p)), rng.normal(size=p), classes, n_blocks,
                          n_channels)


def test_probe_shapes_that_do_not_fit_the_model():
    fp = _float_probes()
    with pytest.raises(ConfigError, match=r"probe weights \(8, 4\) / bias \(4,\) do not fit 3 x 4 bits and 4 probes"):
        dataclasses.replace(fp, n_blocks=3)
    q = pq.quantize(fp)
    with pytest.raises(ConfigError, match=r"integer probe shapes \(8, 4\) / \(4,\) do not fit"):
        dataclasses.replace(q, n_channels=5)
    with pytest.raises(ConfigError, match=r"shift must be \(4,\), got \(3,\)"):
        dataclasses.replace(q, shift=q.shift[:3])


def test_probe_export_limits():
    with pytest.raises(ConfigError, match="weight_bits must be 2..16, got 1"):
        pq.quantize(_float_probes(), weight_bits=1)
    huge = np.full((8, 1), 1e12)
    with pytest.raises(ConfigError, match="probe weights too large to export even at the smallest scale"):
        pq.choose_shift(huge, np.zeros(1))


def test_a_genome_gene_that_is_not_an_int():
    g = gi.GruGenome.homogeneous(8, 16, 32)
    with pytest.raises(ConfigError, match=r"GruGenome.b_i must be an int, not 16.5"):
        dataclasses.replace(g, b_i=16.5)


def test_packing_weights_of_a_width_without_a_layout_or_out_of_range():
    with pytest.raises(ConfigError, match=r"no packed layout for 9-bit weights \(2..8\)"):
        gi.pack_weights(np.zeros((2, 8), np.int64), 9)
    with pytest.raises(ConfigError, match=r"weights out of the 4-bit range -8..7"):
        gi.pack_weights(np.full((2, 8), 9, np.int64), 4)


def test_probe_readouts_of_mismatched_lengths():
    with pytest.raises(MetricError, match="score_classes: no utterances"):
        readout.score_classes([], [])
    with pytest.raises(MetricError, match="2 outputs, 1 label sets, 2 classes"):
        readout.score_set([object(), object()], [object()], [None, None])
    with pytest.raises(MetricError, match="2 predictions but 1 label sets"):
        readout.score_vad([np.zeros(3), np.zeros(3)], [object()])


def test_fine_tuning_from_a_folder_without_weights_or_of_another_topology(tmp_path):
    torch = pytest.importorskip("torch", reason="training needs torch (pip install torch)")
    from bench.train.common import init_from

    model = torch.nn.Linear(4, 2)
    with pytest.raises(ConfigError, match=r"--init .*: no weights.npz there; give an exported model folder"):
        init_from(model, str(tmp_path))
    np.savez(tmp_path / "weights.npz", weight=np.zeros((3, 4), np.float32))
    with pytest.raises(ConfigError, match=r"not this model's topology \(missing \['bias'\], other shapes "
                                          r"\['weight'\]\); give a model of the same config"):
        init_from(model, str(tmp_path))


DYNCP = repo_root() / "models" / "dyncp" / "dyncp-small-r25"


def test_dyncp_quantisation_refusals():
    from bench.models.dyncp import quantize as dq
    from bench.models.dyncp.reference import DyncpModel

    m = DyncpModel.load(DYNCP)
    with pytest.raises(ConfigError, match="calibration set holds no frames; give --calib a set with audio"):
        dq.quantize_model(m, [])
    params = dict(m.params)
    params["blocks.0.norm1.weight"] = -np.abs(params["blocks.0.norm1.weight"])
    with pytest.raises(ConfigError, match=rf"{m.config.name} block 0: norm1 has non-positive scales; cannot fold "
                                          "them into the convolution: retrain"):
        dq.quantize_model(dataclasses.replace(m, params=params), [np.random.default_rng(0).normal(0, 0.1, 16000)])


def test_dyncp_feature_thresholds_of_a_silent_calibration():
    from bench.models.dyncp import quantize as dq

    with pytest.raises(ConfigError, match=r"not strictly increasing in float32 \(feature scale 1e-40, compress 0.3\)"
                                          ": calibrate with audio of normal level"):
        dq.feature_thresholds(1e-40, 0.3)


def test_probe_scores_of_the_wrong_width():
    from bench.models.probes import golden

    q = pq.quantize(_float_probes())
    with pytest.raises(ConfigError, match=r"expected 4 probe scores per frame, got 3"):
        golden.dequantize(np.zeros((2, 3), np.int32), q)
    with pytest.raises(ConfigError, match=r"expected 4 probe values per frame, got 5"):
        golden.split_values(np.zeros((2, 5)), 2)


def test_native_probe_scores_of_the_wrong_width():
    import shutil

    if shutil.which("gcc") is None:
        pytest.skip("the native probes need gcc")
    from bench.models.probes.native import NativeProbes

    p = NativeProbes(pq.quantize(_float_probes()))
    with pytest.raises(ConfigError, match=rf"expected {p.n_words} mask words per frame, got {p.n_words + 1}"):
        p.scores_words(np.zeros((1, p.n_words + 1), np.uint32))


def test_probing_an_ungated_model_or_no_utterances():
    from bench.data.loader import default_set_path, load_set
    from bench.models.dyncp.reference import DyncpModel
    from bench.models.probes.evaluate import evaluate_probes
    from bench.models.probes.features import utterance_frames

    static = DyncpModel.load(repo_root() / "models" / "dyncp" / "dyncp-small-r100")
    u = next(iter(load_set(default_set_path(), sample_rate=16000)))
    with pytest.raises(ConfigError, match="dyncp-small-r100: an ungated model has no keep-masks to probe"):
        utterance_frames(static, u)
    fp = _float_probes()
    with pytest.raises(BenchError, match="no utterances to evaluate the probes on"):
        evaluate_probes(DyncpModel.load(DYNCP), fp, pq.quantize(fp), [])


def test_dyncp_with_another_activation_cannot_be_quantised():
    from bench.models.dyncp import quantize as dq
    from bench.models.dyncp.reference import DyncpModel

    m = DyncpModel.load(DYNCP)
    cfg = dataclasses.replace(m.config, act="relu")
    params = {k: v for k, v in m.params.items() if ".act" not in k}
    with pytest.raises(ConfigError, match="integer model supports act 'prelu' only, not 'relu'; train the model with "
                                          "act = \"prelu\""):
        dq.quantize_model(dataclasses.replace(m, config=cfg, params=params), [])
