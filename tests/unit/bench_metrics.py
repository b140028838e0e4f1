"""Throughput of the metrics on the shipped test set (pytest-benchmark).

Run:  .venv/bin/python -m pytest tests/unit/bench_metrics.py --benchmark-enable
(the project's addopts disable benchmarks; without --benchmark-enable each case runs
once). Prints utterances/second per metric (one process) and for the whole comparison
(noisy + float + golden + target, all quality metrics, process pool).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from bench.data import TestSet, load_set
from bench.metrics import METRICS
from bench.metrics.baselines import webrtc_vad_frames, world_f0_frames
from bench.metrics.blas import single_threaded_blas
from bench.metrics.compare import compare
from bench.metrics.pool import default_workers


@pytest.fixture(scope="module")
def shipped() -> TestSet:
    return load_set()


def _report(capsys: pytest.CaptureFixture[str], benchmark, label: str, n_utts: int, times: list[float]) -> None:
    best = min(times)
    rate = n_utts / best
    benchmark.extra_info["utterances_per_second"] = rate
    with capsys.disabled():
        print(f"\n  {label:<34} {rate:8.1f} utt/s  ({n_utts} utterances in {best:.3f} s)")


def _timed(fn: Callable[[], object], times: list[float]) -> Callable[[], object]:
    def run() -> object:
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        return out

    return run


@pytest.mark.parametrize("name", list(METRICS))
def test_metric_throughput(benchmark, capsys, shipped: TestSet, name: str) -> None:
    fn = METRICS[name]

    def score_all() -> list[float]:
        with single_threaded_blas():
            return [fn(u.clean, u.noisy, u.sample_rate) for u in shipped]

    times: list[float] = []
    values = benchmark.pedantic(_timed(score_all, times), rounds=3, iterations=1, warmup_rounds=0)
    assert len(values) == len(shipped)
    _report(capsys, benchmark, f"{name} (1 process)", len(shipped), times)


@pytest.mark.parametrize("baseline", ["webrtc_vad", "world_f0_harvest", "world_f0_dio"])
def test_baseline_throughput(benchmark, capsys, shipped: TestSet, baseline: str) -> None:
    def run_all() -> int:
        for u in shipped:
            if baseline == "webrtc_vad":
                webrtc_vad_frames(u.noisy, u.sample_rate, 160)
            else:
                world_f0_frames(u.noisy, u.sample_rate, 160, method=baseline.rsplit("_", 1)[1])
        return len(shipped)

    times: list[float] = []
    benchmark.pedantic(_timed(run_all, times), rounds=2, iterations=1)
    _report(capsys, benchmark, f"{baseline} (1 process)", len(shipped), times)


def test_comparison_throughput(benchmark, capsys, shipped: TestSet) -> None:
    fl, gold, tgt = {}, {}, {}
    rng = np.random.default_rng(0)
    for u in shipped:
        f = (0.7 * u.clean.astype(np.float64) + 0.3 * u.noisy) / 32768
        fl[u.id] = f.astype(np.float32)
        gold[u.id] = np.rint(f * 32768).astype(np.int16)
        tgt[u.id] = (gold[u.id] + rng.integers(-1, 2, f.size)).astype(np.int16)

    times: list[float] = []
    result = benchmark.pedantic(_timed(lambda: compare(shipped, tgt, fl, gold), times), rounds=1, iterations=1)
    assert len(result.scores) == 4 * len(shipped)
    _report(capsys, benchmark, f"comparison, 4 conditions ({default_workers()} workers)", len(shipped), times)
