"""Benchmark (prints figures; asserts only that the link moved data): host-to-guest link
throughput of the runner's session against the raw UART capacity of the bare echo image.

    .venv/bin/python -m pytest tests/qemu/test_bench_link.py -s --benchmark-enable
"""

import json

import pytest

from bench.harness.link import link_benchmark
from bench.targets import load_target


def test_bench_link_throughput(capsys, request):
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("benchmark: run with --benchmark-enable")
    t = load_target("qemu-mps2-an386")
    rows = [link_benchmark(t, window=w, frames=300) for w in (1, 2, 4)]
    with capsys.disabled():
        print("\nlink throughput on qemu-mps2-an386 (UART over TCP, host->guest):")
        for r in rows:
            print(f"  window {r['window']}: session {r['session_kib_s']:.1f} KiB/s "
                  f"({r['frames_per_s']:.0f} frames/s, {r['audio_x_realtime']:.2f}x real time); raw echo "
                  f"{r['raw_echo_kib_s']:.1f} KiB/s; session/raw {r['fraction_of_raw']:.2f}")
        print(json.dumps(rows))
    assert all(r["session_kib_s"] > 0 and r["raw_echo_kib_s"] > 0 for r in rows)
