"""How long `bench compare`, `bench report`, `bench history` and the index take with 1000 synthetic
runs in the store (pytest-benchmark; prints the figures).

Run:  .venv/bin/python -m pytest tests/unit/bench_results.py --benchmark-enable -s
(without --benchmark-enable each case runs once, as a smoke test). Each run has two images
(dsp-baseline-like, 3 stages, and passthrough-like), 2 utterances x 170 frames, like the gate's subset.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from results_synth import frames, write_run

from bench.cli import main
from bench.results.index import update_index

N_RUNS = int(os.environ.get("BENCH_RESULTS_N", "1000"))
MEANS = {"stft": 43340.0, "gain": 21111.0, "istft": 45093.0}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store") / "results"
    t0 = time.perf_counter()
    base = {"dsp": frames(MEANS, n_frames=170), "pt": frames({"copy": 3359.0}, n_frames=170)}
    slow = {"dsp": frames({**MEANS, "gain": MEANS["gain"] + 700}, n_frames=170), "pt": base["pt"]}
    for i in range(N_RUNS):
        day, sec = divmod(i, 86400)
        write_run(root, f"r{i:05d}", slow if i >= N_RUNS // 2 else base,
                  started=f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:"
                          f"{sec % 60:02d}+00:00",
                  git=f"g{i:05d}", sha={"dsp": f"{i:064x}", "pt": "1" * 64})
    print(f"\nwrote {N_RUNS} synthetic runs in {time.perf_counter() - t0:.1f} s")
    return root


def _timed(benchmark, capsys, label: str, fn, rounds: int = 3) -> float:
    times: list[float] = []

    def once():
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        return r

    result = benchmark.pedantic(once, rounds=rounds, iterations=1, warmup_rounds=0)
    best = min(times)
    benchmark.extra_info["seconds"] = best
    with capsys.disabled():
        print(f"\n{label} with {N_RUNS} runs in the store: best {best:.3f} s of {len(times)}")
    return result


def test_bench_index_rebuild(benchmark, capsys, store, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(store))
    t = _timed(benchmark, capsys, "index rebuild (every run.json + summary)", lambda: update_index(rebuild=True),
               rounds=1)
    assert t.num_rows == 2 * N_RUNS


def test_bench_index_update(benchmark, capsys, store, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(store))
    update_index()
    t = _timed(benchmark, capsys, "index update (nothing changed)", update_index)
    assert t.num_rows == 2 * N_RUNS


def test_bench_compare(benchmark, capsys, store, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(store))
    update_index()
    rc = _timed(benchmark, capsys, "bench compare A B --json", lambda: main(
        ["compare", "r00000", f"r{N_RUNS - 1:05d}", "--json"]))
    capsys.readouterr()
    assert rc == 3  # the slowed half regressed


def test_bench_history(benchmark, capsys, store, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(store))
    update_index()
    rc = _timed(benchmark, capsys, "bench history --metric total_mean --json",
                lambda: main(["history", "--metric", "total_mean", "--json"]))
    out = capsys.readouterr().out
    assert rc == 0 and f'"run_id": "r{N_RUNS // 2:05d}"' in out


def test_bench_report(benchmark, capsys, store, monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_RESULTS", str(store))
    update_index()
    rc = _timed(benchmark, capsys, "bench report RUN --against RUN (with history)", lambda: main(
        ["report", f"r{N_RUNS - 1:05d}", "--against", "r00000", "--out", str(tmp_path / "rep")]))
    capsys.readouterr()
    assert rc == 0 and (tmp_path / "rep" / "report.html").stat().st_size > 10_000


def test_bench_cli_processes(capsys, store, tmp_path, request):
    """Wall time of the whole command as a user runs it (a fresh Python process: imports included)."""
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("benchmark: run with --benchmark-enable")
    import subprocess
    import sys

    env = dict(os.environ, BENCH_RESULTS=str(store))
    cmds = {
        "bench compare": ["compare", "r00000", f"r{N_RUNS - 1:05d}", "--json"],
        "bench report --against": ["report", f"r{N_RUNS - 1:05d}", "--against", "r00000", "--out",
                                   str(tmp_path / "rep")],
        "bench history": ["history", "--metric", "total_mean", "--json"],
    }
    for label, args in cmds.items():
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "bench.cli", *args], env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        assert r.returncode in (0, 3), r.stderr[-2000:]
        with capsys.disabled():
            print(f"\n{label} as a fresh process with {N_RUNS} runs in the store: {dt:.2f} s")
