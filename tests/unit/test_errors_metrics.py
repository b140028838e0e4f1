"""The error catalogue (#16, docs/errors.md), metrics: every refusal of a metric call that a caller can
meet (unknown metric or condition, signals of the wrong shape or rate, an empty set, bad bootstrap or
pool settings), provoked through the public API (bench.metrics.compare, the metric functions, the
scoring pool), each checked for what went wrong and what to do. These are a caller's mistakes; an
utterance that cannot be scored gives NaN with a reason instead (tests/unit/test_metrics_*.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data import Utterance
from bench.errors import MetricError
from bench.metrics.compare import Comparison, Delta, bootstrap_mean_ci, compare
from bench.metrics.pool import ScoreJob, UtteranceScores, score_jobs

SR = 16000


def _utt(name: str = "u", sr: int = SR) -> Utterance:
    rng = np.random.default_rng(0)
    clean = (rng.standard_normal(sr) * 3000).astype(np.int16)
    noisy = (clean + rng.standard_normal(sr) * 300).astype(np.int16)
    return Utterance(id=name, noisy=noisy, clean=clean, sample_rate=sr)


def _outputs(u: Utterance, shape: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    x = u.noisy.astype(np.float64) / 32768
    return {u.id: x.reshape(shape) if shape else x}


# ---- compare: the comparison of a run's outputs ---------------------------------------------------

def test_unknown_metric():
    u = _utt()
    with pytest.raises(MetricError, match=r"unknown metrics \['pesq_xb'\]; choose from .*pesq_wb"):
        compare([u], _outputs(u), _outputs(u), metrics=["pesq_xb"])


def test_no_utterances():
    with pytest.raises(MetricError, match=r"compare: no utterances; pass a non-empty test set"):
        compare([], {}, {}, metrics=["si_sdr"])


def test_utterances_at_several_rates():
    a, b = _utt("a"), _utt("b", 8000)
    with pytest.raises(MetricError, match=r"compare: utterances at several sample rates \[8000, 16000\]; load the set "
                                          r"at one rate"):
        compare([a, b], {}, {}, metrics=["si_sdr"])


def test_output_that_is_not_mono():
    u = _utt()
    with pytest.raises(MetricError, match=r"u \(target\): output has shape \(2, 8000\); pass 1-D mono audio"):
        compare([u], _outputs(u, (2, SR // 2)), _outputs(u), metrics=["si_sdr"])


def test_delta_between_conditions_that_were_not_scored():
    u = _utt()
    with pytest.raises(MetricError, match=r"delta target - golden: conditions must be among \('noisy', 'float', "
                                          r"'target'\)"):
        compare([u], _outputs(u), _outputs(u), metrics=["si_sdr"], pairs=[("target", "golden")], max_workers=1)


def test_bootstrap_settings():
    with pytest.raises(MetricError, match=r"n_boot must be at least 1, got 0"):
        bootstrap_mean_ci([1.0, 2.0, 3.0], n_boot=0)
    with pytest.raises(MetricError, match=r"confidence must be in \(0, 1\), got 1\.5"):
        Delta("si_sdr", "target", "float", 3, 0.0, 0.0, 0.0, 1.5)
    with pytest.raises(MetricError, match=r"n must be non-negative"):
        Delta("si_sdr", "target", "float", -1, 0.0, 0.0, 0.0, 0.95)


def test_unknown_condition():
    with pytest.raises(MetricError, match=r"unknown conditions \['tflm'\]; use \("):
        Comparison(SR, ("u",), ("noisy", "tflm"), ("si_sdr",), (), (), ())


# ---- the scoring pool --------------------------------------------------------------------------------

def test_score_job_checks():
    x = np.zeros(SR)
    with pytest.raises(MetricError, match=r"u: sample_rate must be positive, got 0"):
        ScoreJob("u", "target", x, x, 0)
    with pytest.raises(MetricError, match=r"u: reasons given for metrics without values: \['stoi'\]"):
        UtteranceScores("u", "target", {"si_sdr": 1.0}, {"stoi": "too short"})


def test_pool_needs_a_worker():
    x = np.random.default_rng(0).standard_normal(SR)
    jobs = [ScoreJob("u", "target", x, x, SR)]
    with pytest.raises(MetricError, match=r"max_workers must be at least 1, got 0"):
        score_jobs(jobs, ("si_sdr",), max_workers=0)


# ---- the metric functions -----------------------------------------------------------------------------

def test_quality_metric_on_stereo_audio():
    from bench.metrics import si_sdr

    x = np.zeros((2, 100))
    with pytest.raises(MetricError, match=r"si_sdr: expects 1-D signals, got shapes \(2, 100\) and \(2, 100\); pass "
                                          r"mono audio"):
        si_sdr(x, x, SR)


def test_quality_metric_at_a_bad_rate():
    from bench.metrics import seg_snr

    x = np.random.default_rng(0).standard_normal(SR)
    with pytest.raises(MetricError, match=r"sample_rate must be positive, got 0"):
        seg_snr(x, x, 0)


def test_baseline_detectors_on_stereo_audio():
    from bench.metrics.baselines import webrtc_vad, world_f0_frames

    x = np.zeros((SR, 2))
    with pytest.raises(MetricError, match=r"webrtc_vad: expects 1-D mono audio, got shape \(16000, 2\)"):
        webrtc_vad(x, SR)
    with pytest.raises(MetricError, match=r"world_f0_frames: expects 1-D mono audio, got shape \(16000, 2\)"):
        world_f0_frames(x, SR, 160)


def test_probe_scores_on_2d_input():
    from bench.metrics.probes import vad_scores

    with pytest.raises(MetricError, match=r"vad_scores: expects 1-D arrays, got shapes \(2, 3\) and \(6,\)"):
        vad_scores(np.zeros((2, 3)), np.zeros(6))


def test_mask_tolerance():
    from bench.metrics.fidelity import mask_agreement

    m = np.ones((3, 4))
    with pytest.raises(MetricError, match=r"mask_agreement: tolerance must be >= 0, got -1"):
        mask_agreement(m, m, tolerance=-1)
