"""Probe scores and fidelity numbers on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.errors import MetricError
from bench.metrics.fidelity import bit_exact_fraction, fidelity, mask_agreement, max_abs_error, snr_of_difference
from bench.metrics.probes import class_confusion, f0_scores, r2_within, vad_scores
from bench.metrics.scores import reason_of


def test_vad_scores_by_hand() -> None:
    ref = np.array([0, 0, 1, 1, 1, 1, 0, 0, 1, 0], dtype=bool)
    pred = np.array([0, 1, 1, 1, 0, 1, 0, 0, 1, 1], dtype=bool)
    # tp 4, fp 2, fn 1, tn 3
    s = vad_scores(ref, pred)
    assert s.n_frames == 10
    assert s.accuracy == pytest.approx(0.7)
    assert s.precision == pytest.approx(4 / 6)
    assert s.recall == pytest.approx(4 / 5)
    assert s.f1 == pytest.approx(8 / 11)
    assert (s.speech_fraction_ref, s.speech_fraction_pred) == (0.5, 0.6)


def test_vad_scores_with_probabilities() -> None:
    ref = np.array([1, 1, 0, 0])
    s = vad_scores(ref, np.array([0.9, 0.4, 0.6, 0.1]), threshold=0.5)
    assert s.accuracy == 0.5 and s.f1 == pytest.approx(0.5)
    assert vad_scores(ref, np.array([0.9, 0.4, 0.6, 0.1]), threshold=0.3).recall == 1.0


def test_vad_scores_undefined_f1() -> None:
    s = vad_scores(np.zeros(5, bool), np.zeros(5, bool))
    assert s.accuracy == 1.0
    assert math.isnan(s.f1) and "no speech frame" in (reason_of(s.f1) or "")
    assert math.isnan(s.precision) and math.isnan(s.recall)


def test_vad_scores_length_mismatch() -> None:
    with pytest.raises(MetricError, match="same frame grid"):
        vad_scores(np.zeros(5, bool), np.zeros(6, bool))


def test_class_confusion_by_hand() -> None:
    ref = ["hum", "hum", "fan", "fan", "white", "white"]
    pred = ["hum", "fan", "fan", "fan", "white", "hum"]
    c = class_confusion(ref, pred, classes=["white", "hum", "fan"])
    assert c.classes == ("white", "hum", "fan")
    assert c.matrix.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    assert c.accuracy == pytest.approx(4 / 6)
    assert c.recall("fan") == 1.0 and c.recall("hum") == 0.5
    assert c.balanced_accuracy == pytest.approx((0.5 + 0.5 + 1.0) / 3)


def test_class_confusion_default_classes_and_errors() -> None:
    c = class_confusion([1, 2, 2], [2, 2, 2])
    assert c.classes == ("1", "2") and c.matrix.tolist() == [[0, 1], [0, 2]]
    assert math.isnan(class_confusion([], []).accuracy)
    with pytest.raises(MetricError, match="not in classes"):
        class_confusion(["a"], ["b"], classes=["a"])
    with pytest.raises(MetricError, match="2 reference labels"):
        class_confusion(["a", "a"], ["a"])


def test_f0_scores_by_hand() -> None:
    ref = np.array([0.0, 100.0, 200.0, 300.0, 0.0, 150.0])
    est = np.array([50.0, 110.0, 200.0, 150.0, 0.0, 0.0])
    s = f0_scores(ref, est)
    voiced_ref = np.array([100.0, 200.0, 300.0, 150.0])
    voiced_est = np.array([110.0, 200.0, 150.0, 0.0])
    ss_res = np.sum((voiced_est - voiced_ref) ** 2)
    ss_tot = np.sum((voiced_ref - voiced_ref.mean()) ** 2)
    assert s.n_voiced == 4
    assert s.r2 == pytest.approx(1 - ss_res / ss_tot)
    assert s.gpe == pytest.approx(2 / 4)  # 300->150 and 150->unvoiced are gross errors; 10 % is not
    assert s.mae_hz == pytest.approx((10 + 0 + 150 + 150) / 4)
    assert s.voicing_error == pytest.approx(2 / 6)  # frame 0 (false voicing) and frame 5 (missed)
    # frames voiced in both: 100/110, 200/200, 300/150
    assert s.n_both == 3 and s.gpe_both == pytest.approx(1 / 3)
    both_ref, both_est = voiced_ref[:3], voiced_est[:3]
    want = 1 - np.sum((both_est - both_ref) ** 2) / np.sum((both_ref - both_ref.mean()) ** 2)
    assert s.r2_both == pytest.approx(want)


def test_f0_scores_perfect_and_degenerate() -> None:
    ref = np.array([0.0, 120.0, 130.0, 140.0])
    s = f0_scores(ref, ref)
    assert (s.r2, s.gpe, s.mae_hz, s.voicing_error) == (1.0, 0.0, 0.0, 0.0)
    flat = f0_scores(np.array([100.0, 100.0]), np.array([100.0, 90.0]))
    assert math.isnan(flat.r2) and reason_of(flat.r2) is not None
    none = f0_scores(np.zeros(4), np.zeros(4))
    assert none.n_voiced == 0 and math.isnan(none.gpe) and none.voicing_error == 0.0
    unvoiced_est = f0_scores(ref, np.zeros(4))
    assert unvoiced_est.gpe == 1.0 and unvoiced_est.n_both == 0 and math.isnan(unvoiced_est.gpe_both)


def test_f0_scores_with_voiced_mask_and_nan_estimates() -> None:
    ref = np.array([100.0, 200.0, 300.0])
    s = f0_scores(ref, np.array([100.0, np.nan, 300.0]), reference_voiced=np.array([True, True, False]))
    assert s.n_voiced == 2 and s.gpe == 0.5
    with pytest.raises(MetricError, match="not positive"):
        f0_scores(np.array([0.0, 100.0]), np.array([0.0, 100.0]), reference_voiced=np.array([True, True]))


# -- fidelity ------------------------------------------------------------------------------


def test_fidelity_by_hand() -> None:
    a = np.array([0, 10, -20, 30000, -5], dtype=np.int16)
    b = np.array([0, 11, -20, 29990, -5], dtype=np.int16)
    assert bit_exact_fraction(a, b) == 0.6
    assert max_abs_error(a, b) == 10.0
    want = 10 * math.log10(float(np.sum(a.astype(float) ** 2)) / (1 + 100))
    assert snr_of_difference(a, b) == pytest.approx(want)
    f = fidelity(a, b)
    assert (f.n, f.bit_exact, f.max_abs_lsb, f.mean_abs_lsb) == (5, 0.6, 10.0, 11 / 5)
    assert fidelity(a, a).snr_db == math.inf and fidelity(a, a).bit_exact == 1.0


def test_fidelity_float_against_int_in_lsb() -> None:
    ref = np.array([0.5, -0.25], dtype=np.float32)
    out = np.array([16384, -8190], dtype=np.int16)
    assert max_abs_error(ref, out) == 2.0
    assert bit_exact_fraction(ref, out) == 0.5
    with pytest.raises(MetricError, match="shapes differ"):
        max_abs_error(ref, out[:1])


def test_mask_agreement_by_hand() -> None:
    a = np.array([[0.0, 0.2, 0.9], [1.0, 0.5, 0.6]])
    b = np.array([[0.0, 0.25, 0.9], [0.4, 0.5, 0.4]])
    m = mask_agreement(a, b)
    assert m.n == 6 and m.agreement == pytest.approx(3 / 6)
    assert m.max_abs == pytest.approx(0.6) and m.mean_abs == pytest.approx((0.05 + 0.6 + 0.2) / 6)
    assert mask_agreement(a, b, tolerance=0.1).agreement == pytest.approx(4 / 6)
    assert m.binary_agreement == pytest.approx(4 / 6)  # bins 1,0 (1.0 vs 0.4) and 1,2 (0.6 vs 0.4) differ


# -- F0 within voice, gated ----------------------------------------------------------------

def _two_voices(seed: int = 0):
    """Two speakers 100 Hz apart (110 and 210 Hz), each with a +-10 Hz pitch contour."""
    rng = np.random.default_rng(seed)
    contour = 10.0 * np.sin(np.arange(40) / 3.0)
    ref = np.concatenate([110.0 + contour, 210.0 - contour])
    spk = np.repeat(["low", "high"], 40)
    return ref, spk, contour, rng


def test_speaker_offsets_inflate_pooled_r2_not_within_voice():
    ref, spk, _, rng = _two_voices()
    # the estimate knows only who speaks: each speaker's mean pitch plus noise, no contour
    est = np.where(spk == "low", 110.0, 210.0) + rng.normal(0, 2.0, ref.size)
    s = f0_scores(ref, est, speaker=spk)
    assert s.r2 > 0.95  # pooled: the 100 Hz between the voices dominates the variance
    assert s.r2_within_voice < 0.05  # within a voice it explains nothing of the contour
    assert s.n_speakers == 2
    rc = ref - np.where(spk == "low", ref[:40].mean(), ref[40:].mean())
    ec = est - np.where(spk == "low", est[:40].mean(), est[40:].mean())
    assert s.r2_within_voice == pytest.approx(1 - np.sum((ec - rc) ** 2) / np.sum(rc**2))


def test_contour_tracked_with_wrong_offsets_scores_within_voice_only():
    ref, spk, contour, _ = _two_voices()
    # the contour exactly, but both voices put at 160 Hz (+ a per-voice offset error)
    est = 160.0 + (ref - np.where(spk == "low", 110.0, 210.0)) + np.where(spk == "low", 5.0, -5.0)
    s = f0_scores(ref, est, speaker=spk)
    assert s.r2 < 0.1
    assert s.r2_within_voice == pytest.approx(1.0)


def test_within_voice_needs_speakers_and_variance():
    ref, spk, _, _ = _two_voices()
    s = f0_scores(ref, ref)
    assert math.isnan(s.r2_within_voice) and "no speaker" in reason_of(s.r2_within_voice)
    flat = f0_scores(np.array([100.0, 100.0, 200.0, 200.0]), np.array([90.0, 95.0, 190.0, 180.0]),
                     speaker=["a", "a", "b", "b"])
    assert flat.r2 == pytest.approx(1 - (100 + 25 + 100 + 400) / 10000)
    assert math.isnan(flat.r2_within_voice) and "no variance within any speaker" in reason_of(flat.r2_within_voice)
    with pytest.raises(MetricError, match="same frame grid"):
        f0_scores(ref, ref, speaker=spk[:-1])


def test_within_voice_uses_only_the_scored_frames():
    # an unvoiced frame (ref 0) of speaker a must not shift a's means
    ref = np.array([0.0, 100.0, 120.0, 200.0, 220.0])
    est = np.array([500.0, 101.0, 119.0, 201.0, 219.0])
    spk = ["a", "a", "a", "b", "b"]
    s = f0_scores(ref, est, speaker=spk)
    assert s.n_voiced == 4 and s.n_speakers == 2
    # within: ref' = -10, 10, -10, 10; est' = -9, 9, -9, 9
    assert s.r2_within_voice == pytest.approx(1 - 4 * 1.0 / 400)
    assert r2_within([100.0, 120.0, 200.0, 220.0], [101.0, 119.0, 201.0, 219.0], ["a", "a", "b", "b"]) == \
        pytest.approx(s.r2_within_voice)


def test_gate_restricts_the_scored_frames():
    ref = np.array([100.0, 200.0, 300.0, 0.0, 150.0])
    est = np.array([100.0, 100.0, 300.0, 80.0, 150.0])
    vad = np.array([True, False, True, True, True])  # misses frame 1 (the big error), passes unvoiced 3
    all_v = f0_scores(ref, est)
    gated = f0_scores(ref, est, gate=vad)
    assert all_v.n_voiced == 4 and all_v.gpe == 0.25
    assert gated.n_voiced == 3 and gated.gpe == 0.0 and gated.r2 == 1.0  # frames 0, 2, 4
    assert gated.voicing_error == all_v.voicing_error  # over all frames, not gated
    nothing = f0_scores(ref, est, gate=np.zeros(5, bool))
    assert nothing.n_voiced == 0 and "gate" in reason_of(nothing.r2)
    with pytest.raises(MetricError):
        f0_scores(ref, est, gate=vad[:3])
