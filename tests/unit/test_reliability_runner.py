"""The runner's guarantees (#16), without an emulator: a resumed run keeps its own options and refuses
others, holds its lock, ends "done"/"failed"/"interrupted" (never "running") whatever happens, leaves
no directory when refused, runs only the image it checked, checks RESULTs against HELLO, stores an
unscorable view instead of failing, and writes its files 0666 minus the umask. Streaming through QEMU
is left out here (Runner._run_image replaced); tests/qemu/test_reliability_resume.py runs it for real."""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from bench.errors import BenchError, ImageError, ResultsError, TargetError
from bench.images import find_image
from bench.link import messages as m
from bench.results.store import Run
from bench.runner import run as runmod
from bench.runner.guards import verified_copy
from bench.runner.run import RunInterrupted, Runner, RunOptions, options_for_resume
from bench.runner.stream import check_result

IMAGE = "passthrough-an386"
TARGET = "qemu-mps2-an386-sh"


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def _opts(**kw) -> RunOptions:
    return RunOptions(target=TARGET, images=(IMAGE,), metrics=False, **kw)


def _fake_image(outcome):
    """A Runner._run_image stand-in: writes one utterance's frames, then does `outcome`."""

    def run_image(self, run, entry):
        run.write_frames(entry.name, "u0", pa.table({"utt": ["u0"], "frame": [0], "total": [1]}))
        return outcome(self, run, entry)

    return run_image


def _start(monkeypatch, outcome, **kw) -> Run:
    monkeypatch.setattr(Runner, "_run_image", _fake_image(outcome))
    return Runner(_opts(**kw)).start()


def _only_run(results: Path) -> Run:
    (d,) = [p for p in results.iterdir() if p.is_dir()]
    return Run(d)


# ---- resume keeps its options -----------------------------------------------------------------

def test_resume_takes_the_recorded_options():
    rec = dataclasses.asdict(_opts(limit=4, window=2, configure=(("gain", 3),)))
    rec["images"], rec["configure"] = list(rec["images"]), [list(c) for c in rec["configure"]]  # as JSON has them
    got = options_for_resume(rec, RunOptions(), "r1")
    assert got == dataclasses.replace(_opts(limit=4, window=2, configure=(("gain", 3),)), run_id="r1")


@pytest.mark.parametrize("given,flag", [
    (RunOptions(limit=2), "--limit: the run has 4, this command gives 2"),
    (RunOptions(target="qemu-netduinoplus2"), "--target"),
    (RunOptions(images=("dsp-baseline-an386",)), "--images"),
    (RunOptions(configure=(("gain", 1),)), "--configure"),
    (RunOptions(set_path="/data/other"), "--set-path"),
])
def test_resume_refuses_a_conflicting_option(given, flag):
    rec = dataclasses.asdict(_opts(limit=4))
    with pytest.raises(BenchError, match=rf"cannot resume r1 with other options \(.*{flag}"):
        options_for_resume(rec, given, "r1")


def test_resume_accepts_an_option_equal_to_the_record():
    rec = dataclasses.asdict(_opts(limit=4))
    assert options_for_resume(rec, RunOptions(limit=4, target=TARGET), "r1").limit == 4


def test_resume_of_a_run_whose_image_changed_is_refused(results, monkeypatch):
    run = _start(monkeypatch, lambda s, r, e: True)
    meta = run.read_meta()
    meta["images"][IMAGE]["sha256"] = "0" * 64
    run.write_meta(meta)
    with pytest.raises(BenchError, match=rf"cannot resume {run.run_id}: image '{IMAGE}' changed"):
        Runner(RunOptions()).resume(run.run_id)


# ---- the lock -------------------------------------------------------------------------------------

def test_a_second_resume_while_the_first_holds_the_lock_is_refused(results, monkeypatch):
    run = _start(monkeypatch, lambda s, r, e: True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom bench.results.store import Run\n"
         f"with Run({str(run.path)!r}).lock():\n    print('locked', flush=True)\n    time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(ResultsError, match=rf"run {run.run_id} is in use by pid {holder.pid}; wait for it"):
            Runner(RunOptions()).resume(run.run_id)
        assert run.read_meta()["status"] == "done"  # the refused resume changed nothing
    finally:
        holder.kill()
        holder.wait()
    assert Runner(RunOptions()).resume(run.run_id).read_meta()["status"] == "done"  # free again


def test_the_lock_is_exclusive_within_one_process_too(results, monkeypatch):
    run = _start(monkeypatch, lambda s, r, e: True)
    with run.lock():
        with pytest.raises(ResultsError, match="is in use by pid"):
            with Run(run.path).lock():
                pass


# ---- how a run ends ---------------------------------------------------------------------------------

def test_status_after_an_exception_is_failed_with_the_reason(results, monkeypatch):
    def boom(self, run, entry):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _start(monkeypatch, boom)
    meta = _only_run(results).read_meta()
    assert meta["status"] == "failed" and meta["reason"] == "RuntimeError: boom" and meta["finished"]


def test_status_after_ctrl_c_is_interrupted(results, monkeypatch):
    def ctrl_c(self, run, entry):
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match="bench run --resume"):
        _start(monkeypatch, ctrl_c)
    meta = _only_run(results).read_meta()
    assert meta["status"] == "interrupted" and "bench run --resume" in meta["reason"]


def test_sigterm_ends_a_run_as_interrupted(results, monkeypatch):
    before = signal.getsignal(signal.SIGTERM)

    def term(self, run, entry):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        return True

    with pytest.raises(RunInterrupted):
        _start(monkeypatch, term)
    assert _only_run(results).read_meta()["status"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) == before  # the run's handler is gone again


def test_a_failed_image_ends_the_run_failed_and_resume_finishes_it(results, monkeypatch):
    run = _start(monkeypatch, lambda s, r, e: False)
    assert run.read_meta()["status"] == "failed"
    monkeypatch.setattr(Runner, "_run_image", _fake_image(lambda s, r, e: True))
    meta = Runner(RunOptions()).resume(run.run_id).read_meta()
    assert meta["status"] == "done" and meta["reason"] is None and len(meta["resumed"]) == 1


def test_a_refused_run_leaves_no_directory(results):
    with pytest.raises(ImageError, match="no image named 'nope'"):
        Runner(RunOptions(target=TARGET, images=("nope",))).start()
    with pytest.raises(BenchError):
        Runner(RunOptions(target=TARGET, images=(IMAGE,), configure=(("no_such_key", 1),))).start()
    assert not results.exists() or not any(results.iterdir())


# ---- what runs is what was checked --------------------------------------------------------------------

def test_an_image_replaced_after_the_checks_is_not_started(tmp_path):
    e = find_image(IMAGE)
    forged = dataclasses.replace(e, sha256="f" * 64)
    with pytest.raises(ImageError, match=r"changed after the run's checks .* it was not started"):
        with verified_copy(forged):
            pass
    with verified_copy(e) as copy:
        assert copy.read_bytes() == e.path.read_bytes() and copy != e.path


def _hello(hop: int = 256, stages: tuple[str, ...] = ("copy",)) -> m.Hello:
    return m.Hello(protocol_version=1, counter_kind=0, counter_hz=25_000_000, sample_rate=16000, frame_len=512,
                   hop_len=hop, capabilities=0, max_packet=4096, reply_cache=8, image_name=IMAGE,
                   model_family="passthrough", build_id="x", target_board="mps2-an386", stage_names=stages)


def test_a_result_that_breaks_the_hello_promise_is_refused():
    ok = m.Result(pcm=np.zeros(256, np.int16), stage_ticks=(5,), total_ticks=9, side=m.SideInfo())
    check_result(ok, _hello(), 0)
    short = dataclasses.replace(ok, pcm=np.zeros(100, np.int16))
    with pytest.raises(TargetError, match=r"frame 3: the image returned 100 samples and 1 stage counts, but its "
                                          r"HELLO announced hop_len 256"):
        check_result(short, _hello(), 3)
    with pytest.raises(TargetError, match=r"2 stages \(a, b\)"):
        check_result(ok, _hello(stages=("a", "b")), 0)


def test_a_view_that_cannot_score_is_stored_as_unscorable(results, monkeypatch):
    class Family:
        def write_views(self, run, images, utts):
            raise ValueError("no clean reference")

    monkeypatch.setattr(runmod, "family_for", lambda name, required=True: Family())
    runner = Runner(_opts())
    monkeypatch.setattr(runner, "utterances", lambda sr: [])
    run = Run.create("v")
    runner._views(run, [find_image(IMAGE)])
    assert run.read_view(IMAGE) == {"family": "passthrough", "unscorable": "ValueError: no clean reference"}


# ---- file modes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_are_0666_minus_the_umask(results, monkeypatch, umask, mode):
    old = os.umask(umask)
    try:
        run = _start(monkeypatch, lambda s, r, e: True)
        run.write_summary(IMAGE, {"x": 1})
    finally:
        os.umask(old)
    for p in (run.path / "run.json", run.image_dir(IMAGE) / "frames" / "u0.parquet",
              run.image_dir(IMAGE) / "summary.json"):
        assert stat.S_IMODE(p.stat().st_mode) == mode, p
