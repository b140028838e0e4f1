"""Three-way comparison, bootstrap intervals, the process pool, and the baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.data import Utterance, load_set
from bench.data.labels import n_frames
from bench.errors import MetricError
from bench.metrics.baselines import decisions_on_grid, webrtc_vad, webrtc_vad_frames, world_f0_frames
from bench.metrics.compare import bootstrap_mean_ci, compare
from bench.metrics.pool import ScoreJob, score_jobs
from bench.metrics.probes import vad_scores

SR = 16000


@pytest.fixture(scope="module")
def utts() -> list[Utterance]:
    ts = load_set()
    return [ts.by_id("test_0010"), ts.by_id("test_0015"), ts.by_id("test_0001")]


def outputs(utts: list[Utterance]) -> tuple[dict, dict, dict]:
    """A fake model: float output halfway between noisy and clean, golden = rounded float,
    target = golden with a 1-LSB error on every 10th sample."""
    fl, gold, tgt = {}, {}, {}
    for u in utts:
        assert u.clean is not None
        f = (0.6 * u.clean.astype(np.float64) + 0.4 * u.noisy) / 32768
        fl[u.id] = f.astype(np.float32)
        gold[u.id] = np.rint(f * 32768).astype(np.int16)
        t = gold[u.id].copy()
        t[::10] += 1
        tgt[u.id] = t
    return fl, gold, tgt


def test_three_way_comparison(utts: list[Utterance]) -> None:
    fl, gold, tgt = outputs(utts)
    c = compare(utts, tgt, fl, gold, metrics=("si_sdr", "seg_snr", "stoi"), max_workers=1, n_boot=500)
    assert c.conditions == ("noisy", "float", "golden", "target")
    assert c.utts == tuple(u.id for u in utts)
    # the fake model improves on the noisy input, the target is almost the float model
    for m in ("si_sdr", "seg_snr", "stoi"):
        assert c.mean("float", m) > c.mean("noisy", m)
        d = c.delta(m, "target", "noisy")
        assert d.n == 3 and d.ci_low <= d.mean <= d.ci_high and d.mean > 0
    d = c.delta("si_sdr", "target", "float")
    assert abs(d.mean) < 0.1 and d.ci_low <= d.mean <= d.ci_high
    # si_sdr of the noisy input is a pure function of the stored audio
    from bench.metrics import si_sdr

    assert c.score(utts[0].id, "noisy", "si_sdr") == pytest.approx(si_sdr(utts[0].clean, utts[0].noisy))
    rows = {(r.utt, r.a, r.b): r for r in c.fidelity}
    f = rows[(utts[0].id, "target", "golden")].fidelity
    assert f.bit_exact == pytest.approx(0.9, abs=0.001) and f.max_abs_lsb == 1.0
    assert rows[(utts[0].id, "golden", "float")].fidelity.max_abs_lsb <= 0.5
    assert len(c.to_records()) == 3 * 4
    assert "target - float" in c.format_text()
    with pytest.raises(MetricError, match="no delta"):
        c.delta("si_sdr", "noisy", "golden")


def test_missing_output_and_missing_clean(utts: list[Utterance]) -> None:
    fl, _, tgt = outputs(utts)
    del tgt[utts[1].id]
    no_clean = Utterance("nc", utts[0].noisy, None, SR)
    fl["nc"] = utts[0].noisy
    tgt["nc"] = utts[0].noisy
    c = compare([*utts, no_clean], tgt, fl, metrics=("si_sdr",), max_workers=1, n_boot=200)
    assert c.conditions == ("noisy", "float", "target")
    assert math.isnan(c.score(utts[1].id, "target", "si_sdr"))
    assert c.reasons("target", "si_sdr")[utts[1].id] == "unscorable: no target output for this utterance"
    assert c.reasons("noisy", "si_sdr")["nc"] == "unscorable: no clean reference in the test set"
    assert c.delta("si_sdr", "target", "float").n == 2  # the two utterances with every value


def test_length_checks(utts: list[Utterance]) -> None:
    fl, _, tgt = outputs(utts[:1])
    tgt[utts[0].id] = tgt[utts[0].id][:-160]
    with pytest.raises(MetricError, match="compensate the model's latency"):
        compare(utts[:1], tgt, fl, metrics=("si_sdr",))
    c = compare(utts[:1], tgt, fl, metrics=("si_sdr",), trim=True, max_workers=1)
    assert math.isfinite(c.score(utts[0].id, "target", "si_sdr"))


def test_pool_matches_inline(utts: list[Utterance]) -> None:
    jobs = [ScoreJob(u.id, "noisy", u.clean, u.noisy, SR) for u in utts]
    jobs.append(ScoreJob("silent", "noisy", np.zeros(SR, np.int16), utts[0].noisy[:SR], SR))
    names = ("pesq_wb", "estoi", "si_sdr")
    inline = score_jobs(jobs, names, max_workers=1)
    pooled = score_jobs(jobs, names, max_workers=2)
    assert [s.utt for s in pooled] == [j.utt for j in jobs]
    for a, b in zip(inline, pooled, strict=True):
        assert a.reasons == b.reasons
        for m in names:
            # BLAS may round the last bit differently in another process
            assert a.get(m) == pytest.approx(b.get(m), rel=1e-12, nan_ok=True)
    assert set(pooled[-1].reasons) == set(names)


def test_pool_rejects_bad_requests(utts: list[Utterance]) -> None:
    with pytest.raises(MetricError, match="unknown metrics"):
        score_jobs([], ("mos",))
    with pytest.raises(MetricError, match="same length"):
        ScoreJob("x", "noisy", np.zeros(10), np.zeros(9), SR)


def test_bootstrap_interval() -> None:
    v = np.arange(20, dtype=float)
    mean, lo, hi = bootstrap_mean_ci(v, n_boot=2000, seed=1)
    assert mean == 9.5 and lo < 9.5 < hi
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap_mean_ci(v, seed=1) == bootstrap_mean_ci(v, seed=1)
    one = bootstrap_mean_ci([3.0, math.nan])
    assert one[0] == 3.0 and math.isnan(one[1])
    assert math.isnan(bootstrap_mean_ci([math.nan])[0])


# -- baselines -----------------------------------------------------------------------------


def test_webrtc_vad_on_speech_and_silence(utts: list[Utterance]) -> None:
    u = utts[0]
    assert u.clean is not None
    x = np.concatenate([np.zeros(8000, np.int16), u.clean])
    raw = webrtc_vad(x, SR)
    assert raw.size == n_frames(x.size, 160)
    assert not raw[:40].any()  # the half second of silence
    lab = u.frame_labels(160)
    s = vad_scores(lab.vad, webrtc_vad_frames(u.clean, SR, 160))
    assert s.accuracy > 0.8
    assert webrtc_vad_frames(u.clean, SR, 256).size == n_frames(u.clean.size, 256)
    with pytest.raises(MetricError, match="aggressiveness"):
        webrtc_vad(x, SR, aggressiveness=4)


def test_webrtc_vad_resamples_unsupported_rates() -> None:
    x = np.random.default_rng(0).standard_normal(22050) * 0.1
    assert webrtc_vad(x, 22050).size == 100


def test_decisions_on_grid() -> None:
    d = np.array([0, 1, 1, 0, 1], dtype=bool)  # every 10 ms
    # 16 ms frames: centres at 8, 24, 40 ms -> decisions 0, 2, 4
    assert decisions_on_grid(d, 0.01, 3, 256, SR).tolist() == [False, True, True]


@pytest.mark.parametrize("method", ["harvest", "dio"])
def test_world_f0_on_harmonic_tone(method: str) -> None:
    t = np.arange(SR) / SR
    x = 0.1 * sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 40))
    f0, voiced = world_f0_frames(x, SR, 160, method=method)
    assert f0.size == 100
    assert voiced[20:80].all() and np.allclose(f0[20:80], 150, rtol=0.02)
    with pytest.raises(MetricError, match="method"):
        world_f0_frames(x, SR, 160, method="yin")
