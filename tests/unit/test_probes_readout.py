"""The runner's probe API: outputs from bits or from the target's scores, the utterance class
pooled over frame logits, and the scores against labels (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.labels import FrameLabels
from bench.errors import MetricError
from bench.models.probes.quant import FloatProbes, quantize
from bench.models.probes.readout import ProbeOutputs, agreement, run_probes, score_f0, score_set, score_vad


def _labels(vad, f0):
    f0 = np.asarray(f0, np.float32)
    return FrameLabels(256, 16000, np.asarray(vad, bool), f0, np.asarray(vad, bool) & (f0 > 0))


def test_run_probes_float_and_integer():
    rng = np.random.default_rng(0)
    fp = FloatProbes(rng.normal(0, 1, (12, 4)), np.array([0.5, 0.0, 1.0, 120.0]), ("a", "b"), 3, 4)
    bits = rng.random((9, 12)) < 0.5
    of, oq = run_probes(bits, fp), run_probes(bits, quantize(fp))
    s = fp.scores(bits)
    assert np.allclose(of.vad_logit, s[:, 0]) and np.allclose(of.f0_hz, s[:, 3])
    assert np.array_equal(of.vad, s[:, 0] > 0)
    assert np.allclose(oq.class_logits, of.class_logits, atol=1e-3)
    assert of.n_frames == 9
    with pytest.raises(MetricError):
        run_probes(bits[:, :11], fp)


def test_utterance_class_pools_logits_not_votes():
    # two frames vote "a" by a hair, one frame says "b" strongly: the summed logits say "b"
    logits = np.array([[1.0, 0.9], [1.0, 0.9], [0.0, 5.0]])
    o = ProbeOutputs(("a", "b"), np.zeros(3), logits, np.zeros(3))
    assert o.frame_class.tolist() == [0, 0, 1]
    assert o.utt_class == "b"


def test_scores_hand_computed():
    lab = _labels([0, 1, 1, 1, 0, 0], [0, 100, 200, 0, 0, 0])
    o = ProbeOutputs(
        ("a", "b"),
        np.array([-1.0, 2.0, 1.0, -1.0, 3.0, -2.0]),  # VAD: 0 1 1 0 1 0 -> 4 of 6 right
        np.tile([0.0, 1.0], (6, 1)),  # always "b"
        np.array([50.0, 110.0, 190.0, 70.0, 0.0, 0.0]),
    )
    rep = score_set([o, o], [lab, lab], ["b", "a"])
    assert rep.vad.n_frames == 12
    assert rep.vad.accuracy == pytest.approx(4 / 6)
    assert rep.vad.balanced_accuracy == pytest.approx(0.5 * (2 / 3 + 2 / 3))
    assert rep.noise_class.accuracy == pytest.approx(0.5)
    assert rep.noise_class.confusion == ((0, 1), (0, 1))  # true a -> b, true b -> b
    assert rep.noise_class.frame_accuracy == pytest.approx(0.5)
    # F0 on voiced frames 1, 2: errors 10, -10 Hz; ref mean 150, ss_tot 5000 per utterance
    assert rep.f0.n_voiced == 4
    assert rep.f0.rmse_hz == pytest.approx(10.0)
    assert rep.f0.r2 == pytest.approx(1 - 400 / 10000)
    d = rep.to_dict()
    assert d["f0"]["rmse_hz"] == pytest.approx(10.0) and d["noise_class"]["classes"] == ("a", "b")


def test_labels_are_fitted_to_the_prediction_length():
    lab = _labels([1, 1, 0, 0, 1], [0, 0, 0, 0, 0])
    assert score_vad([np.array([True, True, False])], [lab]).accuracy == 1.0
    assert score_vad([np.array([True, True, False, False, True, False, False])], [lab]).accuracy == 1.0
    r = score_f0([np.array([100.0, 0.0])], [_labels([1, 1], [100.0, 120.0])])
    assert r.n_voiced == 2 and r.n_both == 1 and r.rmse_both_hz == pytest.approx(0.0)
    assert r.rmse_hz == pytest.approx(np.sqrt(120.0**2 / 2))


def test_agreement():
    a = ProbeOutputs(("a", "b"), np.array([1.0, -1.0]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([100.0, 90.0]))
    b = ProbeOutputs(("a", "b"), np.array([1.0, 1.0]), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([100.5, 90.0]))
    g = agreement([a], [b])
    assert g["vad_frames"] == 0.5 and g["class_frames"] == 0.5 and g["class_utts"] == 1.0
    assert g["f0_max_abs_hz"] == pytest.approx(0.5)
    with pytest.raises(MetricError):
        agreement([a], [])


def test_score_set_f0_within_voice_and_vad_gated():
    # two utterances, two speakers 100 Hz apart; the F0 estimate is each speaker's mean only
    lab_lo = _labels([1, 1, 1, 1, 0], [100, 110, 90, 100, 0])
    lab_hi = _labels([1, 1, 1, 1, 0], [200, 210, 190, 200, 0])
    logits = np.tile([0.0, 1.0], (5, 1))
    # the VAD probe misses the last voiced frame of each utterance (and calls frame 4 speech)
    vad = np.array([1.0, 1.0, 1.0, -1.0, 1.0])
    lo = ProbeOutputs(("a", "b"), vad, logits, np.array([100.0, 100.0, 100.0, 100.0, 100.0]))
    hi = ProbeOutputs(("a", "b"), vad, logits, np.array([200.0, 200.0, 200.0, 200.0, 200.0]))
    rep = score_set([lo, hi], [lab_lo, lab_hi], ["b", "b"], ["v1", "v2"])
    f = rep.f0
    assert f.n_voiced == 8 and f.n_speakers == 2
    assert f.r2 == pytest.approx(1 - 400 / (400 + 8 * 2500))  # pooled: the voices' offset explains most
    assert f.r2_within_voice == pytest.approx(0.0)  # the contour: nothing
    assert f.gate is None and f.coverage is None
    g = rep.f0_vad_gated
    assert g.gate == "probe VAD" and g.n_voiced == 6 and g.coverage == pytest.approx(6 / 8)
    assert g.gate_unvoiced == pytest.approx(2 / 8)  # frame 4 of each utterance: speech by the probe, unvoiced
    assert g.r2_within_voice == pytest.approx(1 - 400 / 400) and g.n_speakers == 2
    d = rep.to_dict()
    assert d["f0_vad_gated"]["coverage"] == pytest.approx(0.75)
    # no speakers: within voice is not scored, and says why
    none = score_set([lo, hi], [lab_lo, lab_hi], ["b", "b"])
    assert none.f0.r2_within_voice is None and "no speaker" in none.f0.within_voice_unscorable
    part = score_set([lo, hi], [lab_lo, lab_hi], ["b", "b"], ["v1", None])
    assert part.f0.r2_within_voice is None and "some utterances" in part.f0.within_voice_unscorable
    assert part.f0.r2 == pytest.approx(f.r2)


def test_unknown_noise_class_is_not_scored():
    lab = _labels([1, 0], [100, 0])
    o = ProbeOutputs(("a", "b"), np.zeros(2), np.tile([0.0, 1.0], (2, 1)), np.zeros(2))
    rep = score_set([o, o, o], [lab] * 3, ["b", "recorded-music", None])
    assert rep.noise_class.n_utts == 1 and rep.noise_class.accuracy == 1.0
    assert rep.noise_class.n_other_class == 1
    assert rep.vad.n_frames == 6


def test_run_probes_with_context_uses_previous_frames():
    rng = np.random.default_rng(1)
    n = 12
    w = rng.normal(0, 1, (3 * n, 4))
    fp = FloatProbes(w, np.array([0.5, 0.0, 1.0, 120.0]), ("a", "b"), 3, 4, context=2)
    bits = rng.random((6, n)) < 0.5
    feats = np.zeros((6, 3 * n))
    for t in range(6):
        for lag in range(3):
            if t >= lag:
                feats[t, lag * n:(lag + 1) * n] = bits[t - lag]
    of, oq = run_probes(bits, fp), run_probes(bits, quantize(fp))
    s = feats @ w + fp.bias
    assert np.allclose(of.f0_hz, s[:, 3]) and np.allclose(of.vad_logit, s[:, 0])
    assert np.allclose(oq.f0_hz, of.f0_hz, atol=0.05)
    with pytest.raises(MetricError, match="12 mask bits"):
        run_probes(feats, fp)  # the context is built by run_probes, not passed in


def test_f0_scoring_refuses_misaligned_speakers_or_gates():
    lab = _labels([1, 1, 0], [100, 110, 0])
    est = [np.array([100.0, 100.0, 100.0])]
    with pytest.raises(MetricError, match=r"1 predictions but 2 speakers"):
        score_f0(est, [lab], speakers=["v1", "v2"])
    with pytest.raises(MetricError, match=r"score_f0: every gate needs one value per frame of its estimate"):
        score_f0(est, [lab], gates=[np.ones(2, bool)])
