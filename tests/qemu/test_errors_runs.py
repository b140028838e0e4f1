"""The error catalogue (#16, docs/errors.md), errors of whole runs on QEMU: an image stopped because another
image of a parallel run was interrupted, a sweep whose points failed, `bench run` of the mpgru search's
meter image, and the nsnet2 task's meter on an image of another GRU shape. Through the public path
(Runner with a Progress, bench.cli.main, TargetMeter + nsnet2meter.measure) on the shipped images."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from bench.cli import main
from bench.errors import ConfigError
from bench.results.store import Run
from bench.runner.guards import RunInterrupted
from bench.runner.run import NullProgress, Runner, RunOptions

pytestmark = pytest.mark.qemu


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def _said(capsys: Any) -> str:
    out = capsys.readouterr()
    return " ".join((out.out + out.err).split())


class InterruptOne(NullProgress):
    """Ctrl-C while image `first` streams its first frames; the other image holds before its first
    utterance until the run has seen the interrupt (as one that was between two utterances)."""

    def __init__(self, first: str, runner_box: list[Runner]):
        self.first = first
        self.box = runner_box
        self.interrupted = threading.Event()

    def image_started(self, image: str, utterances: int, frames: int) -> None:
        if image == self.first:
            return
        assert self.interrupted.wait(60), "the other image never streamed"
        deadline = time.monotonic() + 60
        while not self.box[0]._abort.is_set():  # the run's handler of the interrupt has run
            assert time.monotonic() < deadline
            time.sleep(0.01)

    def advance(self, frames: int, image: str = "") -> None:
        if image == self.first and not self.interrupted.is_set():
            self.interrupted.set()
            raise KeyboardInterrupt


def test_parallel_image_stopped_by_another_images_interrupt(results):
    a, b = "passthrough-an386", "dsp-baseline-an386"
    box: list[Runner] = []
    progress = InterruptOne(a, box)
    runner = Runner(RunOptions(images=(a, b), jobs=2, limit=1, metrics=False), progress)
    box.append(runner)
    with pytest.raises(RunInterrupted) as e:
        runner.start()
    meta = Run.open(e.value.run_id).read_meta()
    assert meta["status"] == "interrupted"
    assert meta["images"][b]["status"] == "failed"
    assert meta["images"][b]["error"] == "stopped: another image of the run was interrupted"


def test_sweep_whose_points_failed(results, capsys):
    """Every point's run fails (a --window beyond the image's reply cache): the sweep shows its table of
    the points that ran (none), says which point failed and why, keeps sweep.json; bench run exits 1."""
    img = "dyncp-small-r25-an386"
    rc = main(["run", "--sweep", "keep", "--sweep-values", img, "--image", img, "--limit", "1", "--window", "64",
               "--no-metrics"])
    said = _said(capsys)
    assert rc == 1, said[-3000:]  # as a run with a failed image
    sweeps = [p for p in results.iterdir() if p.name.endswith("-sweep-keep")]
    assert len(sweeps) == 1
    want = (f"point failed: {img}: --window 64 exceeds the image's reply cache (8); run with --window 8 or less")
    assert "".join(want.split()) in "".join(said.split())  # the console wraps long lines anywhere
    doc = json.loads((sweeps[0] / "sweep.json").read_text())
    assert doc["points"] == [] and len(doc["failed"]) == 1 and doc["failed"][0].startswith(f"{img}: --window 64")
    assert "point failed:" in (sweeps[0] / "sweep.md").read_text()


def test_bench_run_of_the_mpgru_meter_image(results, capsys):
    """mpgru-nsnet2-an386 is the nsnet2 task's instructions meter, not a model bench run can score: refused
    with what runs it instead, before anything starts (no run directory)."""
    rc = main(["run", "--image", "mpgru-nsnet2-an386", "--limit", "1"])
    said = _said(capsys)
    assert rc == 2, said[-3000:]
    flat = "".join(said.split())
    assert "".join("models/nsnet2/nsnet2-small is not an mpgru model: its image (mpgru family) is the nsnet2 "
                   "task's instructions meter".split()) in flat
    assert "".join("bench search mpgru --task nsnet2 --objectives size,error,instructions`, not by `bench run`"
                   .split()) in flat
    assert not results.exists() or not any(results.iterdir())


def test_nsnet2_meter_on_an_image_of_another_gru_shape(tmp_path):
    """The nsnet2 task measured on an mpgru image built for another model (digits: GRUs of another input
    width): refused with the image to build."""
    from bench.data.generate import make_set
    from bench.families.mpgru import TargetMeter
    from bench.models.common import gru_int as gi
    from bench.models.mpgru import nsnet2meter
    from bench.models.mpgru.nsnet2task import Nsnet2GruTask

    d = tmp_path / "speech"
    make_set(d, 7, 2, "test", duration_range=(1.0, 1.6), overwrite=True)
    meter = TargetMeter("mpgru-digits-an386", "qemu-mps2-an386-sh", tmp_path / "w")
    try:
        with pytest.raises(ConfigError, match=rf"mpgru-digits-an386 runs GRUs with {meter.hello.hop_len} inputs; "
                                              r"gru1 has 128: build mpgru-nsnet2-an386 \(tables nsnet2-small\) for "
                                              r"this model"):
            nsnet2meter.measure(meter, Nsnet2GruTask(set_dir=d), gi.GruGenome.homogeneous(8, 16, 32))
    finally:
        meter.close()
