"""A `bench run` on the demo target with a simulated PPK2 (targets/qemu-mps2-an386-sim-ppk2.toml: the real
ppk2-api over a simulated instrument on a pty, fed by the run's own per-frame cycles_est) killed right
after its first utterance's frames are stored, then `bench run --resume`: both utterances' frames carry
the energy columns, of kind "simulated", with the injected marker glitch (frame 7) excluded and every
other frame measured. The resumed process opens its own instrument; the first utterance's record is kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bench.paths import repo_root

pytestmark = pytest.mark.qemu
pytest.importorskip("ppk2_api")

TARGET = "qemu-mps2-an386-sim-ppk2"
IMAGE = "passthrough-an386"
ENERGY_COLUMNS = ("energy", "energy_mean_a", "energy_peak_a", "energy_window_s", "energy_kind", "energy_source",
                  "energy_excluded")


def bench(results: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=repo_root(), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def the_run(results: Path) -> Path | None:
    dirs = [p for p in results.iterdir() if (p / "run.json").is_file()] if results.is_dir() else []
    assert len(dirs) <= 1, dirs
    return dirs[0] if dirs else None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_killed_run_resumes_with_its_energy_records(tmp_path: Path, sig: signal.Signals) -> None:
    results = tmp_path / "results"
    args = ("run", "--target", TARGET, "--image", IMAGE, "--limit", "2", "--json")
    p = bench(results, *args)
    first: Path | None = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and p.poll() is None:
            run = the_run(results)
            done = sorted((run / IMAGE / "frames").glob("*.parquet")) if run else []
            if done:
                first = done[0]
                break
            time.sleep(0.02)
        assert first is not None, f"no utterance stored before the run ended (rc {p.poll()})"
        os.kill(p.pid, sig)
        p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate(timeout=30)
    run = the_run(results)
    assert run is not None
    meta = json.loads((run / "run.json").read_text())
    stored = sorted(x.name for x in (run / IMAGE / "frames").glob("*.parquet"))
    if len(stored) == 2 and meta["status"] == "done":
        pytest.skip("the run finished before the kill landed (a slow machine); nothing to resume")
    assert meta["status"] != "done"
    before = pq.read_table(first)

    r = bench(results, *args, "--resume", run.name)
    out, err = r.communicate(timeout=300)
    assert r.returncode == 0, err[-3000:]
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "done" and meta["images"][IMAGE]["status"] == "done"
    files = sorted((run / IMAGE / "frames").glob("*.parquet"))
    assert len(files) == 2
    for f in files:
        t = pq.read_table(f)
        for c in ENERGY_COLUMNS:
            assert c in t.column_names, (f.name, c)
        assert set(t.column("energy_kind").to_pylist()) == {"simulated"}
        assert all("ppk2-api" in s and "simulated instrument" in s for s in set(t.column("energy_source").to_pylist()))
        e = np.asarray(t.column("energy").to_numpy(zero_copy_only=False), np.float64)
        excl = t.column("energy_excluded").to_pylist()
        assert excl[7] is not None and excl[7].startswith("glitch")  # the demo's injected marker glitch
        assert np.isnan(e[7])
        ok = np.isfinite(e)
        assert ok.sum() == len(e) - 1, [x for x in excl if x]  # every other frame measured
        assert np.all(e[ok] > 0)
    # the utterance stored before the kill is kept as it was
    after = pq.read_table(files[[x.name for x in files].index(first.name)])
    assert after.column_names == before.column_names
    for c in before.column_names:  # NaN (the excluded frame) compares equal to itself here
        np.testing.assert_array_equal(after.column(c).to_numpy(zero_copy_only=False),
                                      before.column(c).to_numpy(zero_copy_only=False), err_msg=c)
    summary = json.loads((run / IMAGE / "summary.json").read_text())
    assert summary["energy"]["kind"] == "simulated" and summary["energy"]["frames_excluded"] == 2
