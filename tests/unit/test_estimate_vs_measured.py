"""Estimate vs measured cycles per stage (bench.results.estimate_check) in `bench show` and
`bench report`. No board is attached: the board run's DWT cycle counts below are SYNTHETIC, written
in the store's real format (the runner's own frames_table / summarize_frames / Run calls); so are
the QEMU runs' instruction counts and cycles_est."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.link import messages as m
from bench.results.estimate_check import estimate_check
from bench.results.report import ReportInput, render_markdown, run_summaries
from bench.results.store import Run
from bench.results.summary import summarize_frames
from bench.runner.stream import frames_table
from bench.targets import load_target

STAGES = ("stft", "gain", "istft")
IMAGE = "dsp-baseline-stm32f4-discovery"
SHA = "ab" * 32
UTTS = {"u1": 4, "u2": 3}  # utterance -> frames


class _Est:
    """Stands in for the runner's CycleEstimate: per-frame cycles_est of the given stages (synthetic)."""

    def __init__(self, per_stage: list[int]):
        self.per_stage = np.array(per_stage, np.int64)

    def frames(self, stages: np.ndarray, total: np.ndarray):
        n = len(total)
        s = np.tile(self.per_stage, (n, 1)) + np.arange(n)[:, None]
        return s, s.sum(axis=1) + 5


def _write(root, run_id, target_name, *, started, sha=SHA, stage_counts=(1000, 2000, 3000), est=None,
           utts=None, limit=None):
    """A finished run of IMAGE as bench.runner writes it."""
    t = load_target(target_name)
    hz = 168_000_000 if t.counter.kind == "cycles" else t.counter.timer_hz
    hello = m.Hello(1, 1 if t.counter.kind == "cycles" else 0, hz, 16000, 512, 256, 0, 1024, 8, IMAGE,
                    "dsp-baseline", "bid1", t.board, STAGES)
    run = Run.create(run_id, root)
    run.write_meta({
        "run_id": run_id, "status": "done", "started": started, "finished": started,
        "options": {"limit": limit, "set_path": None, "images": [IMAGE]},
        "target": {"name": t.name, "board": t.board, "counter": {"kind": t.counter.kind},
                   "driver_options": t.driver_options, "clock_hz": t.clock_hz},
        "provenance": {"git_revision": "g", "toolchain": "gcc", "qemu_version": "q"},
        "images": {IMAGE: {"sha256": sha, "build_id": "bid1", "model_family": "dsp-baseline", "status": "done",
                           "error": None, "utterance_errors": {}, "target_uid": None}},
    })
    run.write_hello(IMAGE, {"stage_names": list(STAGES)})
    scale = 128 if t.counter.kind == "instructions" else 1  # netduinoplus2 TIM2: 128 ticks per instruction
    for u, n in (utts or UTTS).items():
        res = []
        for f in range(n):
            ticks = tuple(scale * (c + 10 * f) for c in stage_counts)
            res.append(m.Result(np.zeros(256, np.int16), ticks, sum(ticks) + scale * 7, m.SideInfo()))
        run.write_frames(IMAGE, u, frames_table(u, res, hello, t, est))
    run.write_summary(IMAGE, summarize_frames(run.frames(IMAGE), list(STAGES), t, 256, 16000))
    return run


@pytest.fixture()
def root(tmp_path, monkeypatch):
    r = tmp_path / "results"
    monkeypatch.setenv("BENCH_RESULTS", str(r))
    return r


def _expected_means(per_stage):
    f = np.concatenate([np.arange(n) for n in UTTS.values()])
    return [float(np.mean(c + f)) for c in per_stage]


def test_board_run_gets_the_latest_estimate_of_the_same_build(root):
    # SYNTHETIC DWT cycles on the board: stage c + 10 f cycles in frame f
    board = _write(root, "board", "stm32f4-discovery", started="2026-03-01T00:00:00+00:00",
                   stage_counts=(1500, 2600, 3300))
    _write(root, "qemu-old", "qemu-netduinoplus2", started="2026-01-01T00:00:00+00:00", est=_Est([9, 9, 9]))
    _write(root, "qemu-new", "qemu-netduinoplus2", started="2026-02-01T00:00:00+00:00", est=_Est([1200, 2500, 3000]))
    _write(root, "qemu-noest", "qemu-netduinoplus2", started="2026-02-15T00:00:00+00:00")  # no plugin: skipped
    _write(root, "qemu-other", "qemu-netduinoplus2", started="2026-02-20T00:00:00+00:00", sha="cd" * 32,
           est=_Est([1, 1, 1]))  # another build: skipped
    doc = estimate_check(board, IMAGE)
    assert doc["estimate_run"] == "qemu-new" and doc["frames"] == 7 and doc["frames_unpaired"] == 0
    rows = {r["stage"]: r for r in doc["rows"]}
    est = _expected_means([1200, 2500, 3000])
    meas = [float(np.mean([c + 10 * f for n in UTTS.values() for f in range(n)])) for c in (1500, 2600, 3300)]
    for s, e, mm in zip(STAGES, est, meas, strict=True):
        assert rows[s]["cycles_est"] == pytest.approx(e)
        assert rows[s]["cycles"] == pytest.approx(mm)
        assert rows[s]["ratio"] == pytest.approx(mm / e)
    assert rows["total"]["cycles_est"] == pytest.approx(sum(est) + 5)
    assert rows["total"]["cycles"] == pytest.approx(sum(meas) + 7)


def test_show_and_report_label_estimate_and_measured(root, capsys):
    _write(root, "board", "stm32f4-discovery", started="2026-03-01T00:00:00+00:00")
    _write(root, "qemu", "qemu-netduinoplus2", started="2026-02-01T00:00:00+00:00", est=_Est([800, 1600, 2400]))
    assert main(["show", "board"]) == 0
    text = capsys.readouterr().out
    assert "estimate vs measured" in text and "cycles_est (estimate)" in text and "cycles (measured)" in text
    assert "run qemu" in text and "DWT" in text
    ratio = (1000 + 10 * np.mean([0, 1, 2, 3, 0, 1, 2])) / _expected_means([800])[0]
    assert f"{ratio:.3f}" in text
    assert main(["show", "board", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["images"][IMAGE]["estimate_vs_measured"]["estimate_run"] == "qemu"
    assert main(["report", "board", "--no-history", "--out", str(root / "rep")]) == 0
    md, page = (root / "rep" / "summary.md").read_text(), (root / "rep" / "report.html").read_text()
    for out in (md, page):
        assert "Estimate vs measured cycles" in out and "cycles_est (estimate)" in out and f"{ratio:.3f}" in out


def test_instruction_runs_get_no_table(root, capsys):
    q = _write(root, "qemu", "qemu-netduinoplus2", started="2026-02-01T00:00:00+00:00", est=_Est([800, 1600, 2400]))
    assert estimate_check(q, IMAGE) is None
    assert main(["show", "qemu"]) == 0
    assert "estimate vs measured" not in capsys.readouterr().out
    assert "Estimate vs measured" not in render_markdown(ReportInput(q, {}, run_summaries(q)))


def test_missing_estimate_says_how_to_make_one(root, capsys):
    board = _write(root, "board", "stm32f4-discovery", started="2026-03-01T00:00:00+00:00", limit=2)
    doc = estimate_check(board, IMAGE)
    assert "rows" not in doc
    msg = doc["missing"]
    assert "no cycles_est" in msg and "bid1" in msg and "no run in" in msg
    assert "bench run --target" in msg and f"--image {IMAGE} --limit 2" in msg and "cycles_est = true" in msg
    assert main(["show", "board"]) == 0
    assert "no cycles_est" in capsys.readouterr().out
    assert "no cycles_est" in render_markdown(ReportInput(board, {}, run_summaries(board)))
    # a QEMU run of the build without the plugin, and one on other utterances: each says why
    _write(root, "qemu-noest", "qemu-netduinoplus2", started="2026-02-01T00:00:00+00:00")
    assert "without the cm4cycles plugin" in estimate_check(board, IMAGE)["missing"]
    _write(root, "qemu-short", "qemu-netduinoplus2", started="2026-02-02T00:00:00+00:00", est=_Est([1, 2, 3]),
           utts={"u1": 4})
    assert "not utterance(s) u2" in estimate_check(board, IMAGE)["missing"]
