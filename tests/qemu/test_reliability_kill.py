"""The kill test (#16): `bench run` killed at a random frame, ten times across three ways of dying
(SIGTERM to bench, SIGKILL to bench, SIGKILL to its QEMU), leaves no emulator behind, never leaves a
SIGTERMed run "running", and `bench run --resume` always finishes it to a run identical frame by
frame (scripts/compare_runs.py) to one that was never stopped.

Each bench runs as its own process (`python -m bench.cli run ...`) with its own BENCH_RESULTS folder
(the run is the one directory in it). While it runs, every process below it is recorded (QEMU and the
bwrap sandbox around it), so that after the kill the test can tell whether any of them outlived it,
even those that a dead bench's orphans were reparented away from. The semihosting target streams a
frame in well under a millisecond, so the whole test takes about a minute; the seed is printed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.paths import repo_root

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

TARGET = "qemu-mps2-an386-sh"
IMAGE = "passthrough-an386"
LIMIT = 4
# (how, with metrics) x 10: 4 SIGTERMs of bench, 3 SIGKILLs of bench, 3 SIGKILLs of QEMU
PLAN = [("term", True), ("kill-bench", False), ("kill-qemu", False), ("term", False), ("kill-bench", True),
        ("kill-qemu", False), ("term", False), ("kill-bench", False), ("kill-qemu", False), ("term", False)]


def _compare_runs(a: Path, b: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location("compare_runs", repo_root() / "scripts" / "compare_runs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.compare_runs(a, b)  # type: ignore[no-any-return]


def _proc_table() -> tuple[dict[int, int], dict[int, str]]:
    parent, name = {}, {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        if rest[0] == "Z":  # a zombie is dead: it only waits to be reaped
            continue
        name[int(d)] = stat[stat.index("(") + 1: stat.rindex(")")]
        parent[int(d)] = int(rest[1])
    return parent, name


def descendants(pid: int) -> dict[int, str]:
    """{pid: name} of every live process below `pid` (psutil when installed, else /proc)."""
    try:
        import psutil

        try:
            return {c.pid: c.name() for c in psutil.Process(pid).children(recursive=True)
                    if c.status() != psutil.STATUS_ZOMBIE}
        except psutil.Error:
            return {}
    except ImportError:
        parent, name = _proc_table()
        out, todo = {}, [pid]
        while todo:
            p = todo.pop()
            for c, pp in parent.items():
                if pp == p:
                    out[c] = name[c]
                    todo.append(c)
        return out


def alive(pids: dict[int, str]) -> dict[int, str]:
    """Those of `pids` still running as the same program."""
    _, name = _proc_table()
    return {p: n for p, n in pids.items() if name.get(p) == n}


def bench(results: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=repo_root(), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_args(metrics: bool) -> list[str]:
    return ["run", "--target", TARGET, "--image", IMAGE, "--limit", str(LIMIT), "--json",
            *([] if metrics else ["--no-metrics"])]


def the_run(results: Path) -> Path:
    dirs = [p for p in results.iterdir() if (p / "run.json").is_file()] if results.is_dir() else []
    assert len(dirs) <= 1, dirs
    return dirs[0] if dirs else Path("/nonexistent")


def frames_done(results: Path) -> int:
    d = the_run(results) / IMAGE / "frames"
    return len(list(d.glob("*.parquet"))) if d.is_dir() else 0


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[bool, Path]:
    """An uninterrupted run per metrics setting."""
    out = {}
    for metrics in (False, True):
        results = tmp_path_factory.mktemp(f"ref-{int(metrics)}")
        p = bench(results, *run_args(metrics))
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        out[metrics] = the_run(results)
        assert json.loads((out[metrics] / "run.json").read_text())["status"] == "done"
    return out


def kill_once(results: Path, how: str, metrics: bool, rng: np.random.Generator) -> tuple[dict[int, str], str]:
    """Start a bench, kill it (or its QEMU) at a random frame; returns every process seen below it and
    what happened. Raises LookupError when the run ended before the kill (the caller tries again)."""
    utt = int(rng.integers(0, LIMIT))  # kill during this utterance...
    delay = float(rng.uniform(0.0, 0.05))  # ...this long after the previous one was stored
    p = bench(results, *run_args(metrics))
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            kids = descendants(p.pid)
            seen.update(kids)
            # streaming has begun (the image said HELLO: QEMU runs the image, not `qemu --version` for the
            # provenance) and `utt` utterances are stored
            if (the_run(results) / IMAGE / "hello.json").is_file() and frames_done(results) >= utt \
                    and any(n.startswith("qemu-system") for n in kids.values()):
                break
            time.sleep(0.005)
        time.sleep(delay)
        seen.update(descendants(p.pid))
        qemu = [pid for pid, n in descendants(p.pid).items() if n.startswith("qemu-system")]
        if p.poll() is not None or not qemu or frames_done(results) >= LIMIT:
            raise LookupError("the run was over before the kill")
        if how == "term":
            p.send_signal(signal.SIGTERM)
        elif how == "kill-bench":
            p.send_signal(signal.SIGKILL)
        else:
            os.kill(qemu[0], signal.SIGKILL)
        _, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if json.loads((the_run(results) / "run.json").read_text())["status"] == "done":
        raise LookupError("the last frame came back before the signal")
    if frames_done(results) >= LIMIT:  # every utterance was stored before the kill landed (QEMU killed
        raise LookupError("the last utterance was stored before the kill")  # while bench wrote the last one)
    return seen, stderr


def test_bench_killed_at_random_frames_leaves_nothing_behind_and_resumes_identically(tmp_path, references):
    seed = int.from_bytes(os.urandom(4), "little")
    print(f"kill test seed {seed}")
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    retries = 0
    for i, (how, metrics) in enumerate(PLAN):
        for attempt in range(4):
            results = tmp_path / f"k{i}-{attempt}"
            try:
                seen, stderr = kill_once(results, how, metrics, rng)
                break
            except LookupError:
                retries += 1
                continue
        else:
            pytest.fail(f"iteration {i} ({how}): the run always ended before the kill")
        where = f"iteration {i} ({how}, seed {seed})"
        # no emulator (nor its sandbox) outlives the bench that started it
        deadline = time.monotonic() + 5
        while alive(seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(seen), f"{where}: left running: {alive(seen)}"
        assert any(n.startswith("qemu-system") for n in seen.values()), f"{where}: never saw QEMU"
        run = the_run(results)
        meta = json.loads((run / "run.json").read_text())
        if how == "term":
            assert meta["status"] == "interrupted", (where, meta["status"], stderr[-2000:])
            assert f"bench run --resume {run.name}" in meta["reason"]
        elif how == "kill-qemu":
            assert meta["status"] == "failed", (where, meta["status"])
            assert "QEMU was killed by SIGKILL" in meta["images"][IMAGE]["error"], meta["images"][IMAGE]["error"]
        else:
            assert meta["status"] in ("running", "interrupted", "failed"), where  # SIGKILL: no chance to say
        assert len(list((run / IMAGE / "frames").glob("*.parquet"))) < LIMIT, f"{where}: the run was complete"
        # --resume finishes it (its options come from run.json) ...
        p = bench(results, "run", "--resume", run.name, "--json")
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, (where, err[-3000:])
        assert json.loads((run / "run.json").read_text())["status"] == "done"
        # ... to a run identical frame by frame to one never stopped
        assert _compare_runs(references[metrics], run) == [], where
    print(f"kill test: {len(PLAN)} kills ({retries} tried again: the run ended first) in "
          f"{time.monotonic() - t0:.0f} s")
