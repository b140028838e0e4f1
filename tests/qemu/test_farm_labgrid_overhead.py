"""Benchmark (prints figures): the farm's scheduling overhead on labgrid places, per image per board,
beyond the board's own run time: the place's wall time minus its runner's time (worker start-up,
imports, reporting), and inside the runner the labgrid lock itself (acquire + read resources +
release through the coordinator). Two emulated boards on a loopback lab (tests/qemu/labgrid_lab.py),
two images each, one utterance.

    .venv/bin/python -m pytest tests/qemu/test_farm_labgrid_overhead.py -s --benchmark-enable
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labgrid_lab import Lab, require_labgrid  # noqa: E402

IMAGES = ["passthrough-netduinoplus2", "dsp-baseline-netduinoplus2"]


def test_farm_overhead_on_labgrid_places(tmp_path, request, capsys):
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("benchmark: run with --benchmark-enable")
    require_labgrid()
    from bench.targets.drivers.labgrid.places import Coordinator

    lab = Lab(tmp_path / "lab", {"exp1": ["emu-a", "emu-b"]})
    try:
        lab.start()
        farm = tmp_path / "farm.toml"
        farm.write_text(f'[farm]\nname = "bench"\nlimit = 1\nmetrics = false\ntimeout = 300\n'
                        f'coordinator = "{lab.address}"\n' + "".join(
                            f'\n[[place]]\nname = "{p}"\ntarget = "labgrid-netduinoplus2"\nlabgrid = "emu-{p}"\n'
                            f'images = {json.dumps(IMAGES)}\n' for p in ("a", "b")))
        env = {**lab.env, "BENCH_RESULTS": str(tmp_path / "results"), "BENCH_CACHE_DIR": str(tmp_path / "cache")}
        nights = []
        for _ in range(2):  # the second night finds the images programmed (skip_unchanged)
            p = subprocess.run([sys.executable, "-m", "bench.cli", "farm", "run", str(farm), "--json"],
                               capture_output=True, text=True, env=env, timeout=600)
            assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
            nights.append(json.loads(p.stdout))
        os.environ["BENCH_CACHE_DIR"] = env["BENCH_CACHE_DIR"]
        locks = []
        with Coordinator(lab.address) as c:
            for _ in range(10):
                t0 = time.perf_counter()
                c.acquire("emu-a")
                c.resources("emu-a")
                c.release("emu-a")
                locks.append(time.perf_counter() - t0)
        os.environ.pop("BENCH_CACHE_DIR")
    finally:
        lab.close()
    with capsys.disabled():
        print("\nfarm on labgrid places (emulated boards, loopback lab): per board, per image")
        for k, s in enumerate(nights, 1):
            print(f"  night {k}: {s['timing']['places_s']:.1f} s wall for the places in parallel "
                  f"(their own times add up to {s['timing']['sum_of_places_s']:.1f} s)")
            for r in s["places"]:
                n = len(r["images"])
                print(f"    {r['place']}: wall {r['wall_s']:.2f} s, runner {r['runner_s']:.2f} s, farm overhead "
                      f"{r['overhead_s'] / n:.2f} s per image ({n} images)")
        print(f"  labgrid lock (acquire + resources + release): median {statistics.median(locks) * 1000:.0f} ms, "
              f"max {max(locks) * 1000:.0f} ms over {len(locks)} (the driver takes the lock once per image, "
              "inside the runner's time)")
    assert all(r["status"] == "done" for s in nights for r in s["places"])
