"""A run stopped half-way through QEMU streaming (Ctrl-C, or QEMU killed) ends "interrupted" or
"failed", never "running", and `--resume` finishes it to a run identical, frame by frame, to one that
was never stopped (scripts/compare_runs.py). The passthrough image on the semihosting target; the
runner's guarantees without QEMU are in tests/unit/test_reliability_runner.py, the whole process
killed from outside in tests/qemu/test_reliability_kill.py."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from bench.errors import ResultsError
from bench.paths import repo_root
from bench.results.store import Run
from bench.runner.run import RunInterrupted, Runner, RunOptions

pytestmark = pytest.mark.qemu

TARGET = "qemu-mps2-an386-sh"
IMAGE = "passthrough-an386"


def compare_runs(a: Path, b: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location("compare_runs", repo_root() / "scripts" / "compare_runs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.compare_runs(a, b)  # type: ignore[no-any-return]


class After:
    """A progress that does `action` once `n` frames have come back."""

    def __init__(self, n: int, action: Any):
        self.n, self.action, self.frames = n, action, 0

    def image_started(self, image: str, utterances: int, frames: int) -> None:
        pass

    def advance(self, frames: int, image: str = "") -> None:
        self.frames += frames
        if self.frames == self.n:
            self.action()

    def image_finished(self, image: str, summary: Any, error: str | None) -> None:
        pass


def _ctrl_c() -> None:
    raise KeyboardInterrupt


def _qemu_children() -> list[int]:
    """qemu-system-arm processes below this one (through the bwrap sandbox too)."""
    parent, name = {}, {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        name[int(d)] = stat[stat.index("(") + 1: stat.rindex(")")]
        parent[int(d)] = int(stat[stat.rindex(")") + 2:].split()[1])

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return [p for p, n in name.items() if n.startswith("qemu-system-arm") and below(p)]


def _kill_qemu() -> None:
    (pid,) = _qemu_children()
    os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("action,status,metrics", [(_ctrl_c, "interrupted", True), (_kill_qemu, "failed", False)])
def test_stopped_mid_stream_then_resumed_equals_an_uninterrupted_run(results_dir, action, status, metrics):
    opts = RunOptions(target=TARGET, images=(IMAGE,), limit=3, metrics=metrics)
    ref = Runner(opts).start()
    assert ref.read_meta()["status"] == "done"
    try:
        Runner(dataclasses.replace(opts, run_id="stopped"), After(250, action)).start()
    except RunInterrupted:
        assert status == "interrupted"
    run = Run.open("stopped")
    meta = run.read_meta()
    assert meta["status"] == status and (meta["reason"] is not None) == (status == "interrupted")
    assert len(run.done_utterances(IMAGE)) < 3  # stopped half-way
    if status == "failed":
        assert "QEMU was killed by SIGKILL" in meta["images"][IMAGE]["error"]
    resumed = Runner(RunOptions()).resume("stopped")
    assert resumed.read_meta()["status"] == "done"
    assert compare_runs(ref.path, resumed.path) == []


def test_resume_refuses_other_options_and_a_second_holder(results_dir):
    run = Runner(RunOptions(target=TARGET, images=(IMAGE,), limit=1, metrics=False)).start()
    with pytest.raises(Exception, match=r"--limit: the run has 1, this command gives 2"):
        Runner(RunOptions(limit=2)).resume(run.run_id)
    with run.lock():
        with pytest.raises(ResultsError, match=f"run {run.run_id} is in use by pid {os.getpid()}"):
            Runner(RunOptions()).resume(run.run_id)
