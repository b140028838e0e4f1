"""The error catalogue (#16, docs/errors.md), the results store: every refusal of a run, a baseline, the
index, a comparison's options or a report that a user can meet (a run that does not exist or measured
nothing, a damaged run.json or baseline, runs with nothing in common, an empty index), provoked through
the public path (`bench show/compare/report/history/baseline`, Run, read_baseline, gate_run), each
checked for what went wrong and what to do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from results_synth import frames, write_run

from bench.cli import main
from bench.errors import ResultsError
from bench.results.baseline import gate_run, read_baseline, update_baselines
from bench.results.index import load_index
from bench.results.measures import ImageMeasures, frames_to_arrays, run_measures
from bench.results.store import Run, read_json

IMG = "dsp-baseline-an386"
TARGET = "qemu-mps2-an386"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "results"
    root.mkdir()
    monkeypatch.setenv("BENCH_RESULTS", str(root))
    return root


@pytest.fixture
def cli(capsys):
    def run(*argv: str) -> str:
        rc = main(list(argv))
        out = capsys.readouterr()
        assert rc == 2, (rc, out.out[-2000:], out.err[-2000:])
        return Said(out.out + out.err)

    return run


def _run(store: Path, run_id: str = "r1", image: str = IMG) -> Run:
    return write_run(store, run_id, {image: frames({"stft": 1000, "gain": 500, "istft": 900})})


class Said(str):
    """A command's output; `text in said` ignores where the terminal wrapped the lines."""

    def __contains__(self, text: object) -> bool:
        return "".join(str(text).split()) in "".join(self.split())


# ---- runs ---------------------------------------------------------------------------------------

def test_no_such_run(store, cli):
    _run(store, "r1")
    out = cli("show", "r9")
    assert f"no run 'r9' under {store} (latest: r1)" in out


def test_run_json_with_a_damaged_schema_version(store, cli):
    run = _run(store)
    doc = json.loads((run.path / "run.json").read_text())
    doc["schema_version"] = "two"
    (run.path / "run.json").write_text(json.dumps(doc))
    assert "run.json: schema_version 'two' is not a positive integer; the file is damaged" in cli("show", "r1")


def test_json_file_missing_or_unreadable(tmp_path):
    with pytest.raises(ResultsError, match=r"x\.json not found"):
        read_json(tmp_path / "x.json")
    (tmp_path / "d.json").mkdir()
    with pytest.raises(ResultsError, match=r"d\.json cannot be read: .*Is a directory"):
        read_json(tmp_path / "d.json")


def test_run_id_taken(store):
    _run(store)
    with pytest.raises(ResultsError, match=r"r1 already exists; use --resume r1 to finish it"):
        Run.create("r1", store)


def test_frames_asked_for_that_the_run_has_not(store):
    run = _run(store)
    with pytest.raises(ResultsError, match=r"run r1 has no frames for image 'nsnet2-small-an386'$"):
        run.frames("nsnet2-small-an386")
    with pytest.raises(ResultsError, match=r"run r1 has no frames for image 'dsp-baseline-an386', utterance 'utt99'"):
        run.frames_of(IMG, "utt99")


# ---- measures -------------------------------------------------------------------------------------

def test_measures_of_an_image_the_run_has_not_or_did_not_measure(store):
    run = _run(store)
    with pytest.raises(ResultsError, match=r"run r1 has no image nsnet2-small-an386; it has dsp-baseline-an386"):
        run_measures(run, ["nsnet2-small-an386"])
    meta = run.read_meta()
    meta["images"]["passthrough-an386"] = {**meta["images"][IMG], "status": "failed"}
    run.write_meta(meta)
    with pytest.raises(ResultsError, match=r"run r1 has no frames for image 'passthrough-an386' \(status failed\); "
                                           r"pick another run or finish it with `bench run --resume`"):
        run_measures(run, ["passthrough-an386"])


def test_measures_checks():
    tot = np.arange(3)
    with pytest.raises(ResultsError, match=r"r1: image x has counter unit 'joules'; expected one of"):
        ImageMeasures(image="x", sha256="", unit="joules", frames={"total": tot}, source="r1")
    with pytest.raises(ResultsError, match=r"r1: image x: column stft has 2 rows, total has 3"):
        ImageMeasures(image="x", sha256="", unit="instructions", frames={"total": tot, "stft": tot[:2]}, source="r1")
    with pytest.raises(ResultsError, match=r"a frames table without 'utt' and 'total' columns cannot be compared"):
        frames_to_arrays(pa.table({"frame": [0, 1]}))


# ---- bench compare / report options and inputs ---------------------------------------------------------

@pytest.mark.parametrize("opt,text", [
    (["--threshold", "2000"], "--threshold 20.0 must be a fraction (0.005 = 0.5 %)"),
    (["--alpha", "1.5"], "--alpha 1.5 must lie in (0, 1)"),
    (["--min-samples", "1"], "--min-effect must be >= 0 and --min-samples >= 2"),
])
def test_compare_options(store, cli, opt, text):
    _run(store, "r1")
    _run(store, "r2")
    assert text in cli("compare", "r1", "r2", *opt)


def test_compare_runs_with_no_image_in_common(store, cli):
    _run(store, "r1", IMG)
    _run(store, "r2", "passthrough-an386")
    assert ("r1 and r2 have no image in common (dsp-baseline-an386 vs passthrough-an386)"
            in cli("compare", "r1", "r2"))


def test_report_of_a_run_that_measured_nothing(store, cli):
    write_run(store, "r0", {})
    assert "run r0 has no measured image; see `bench show r0`" in cli("report", "r0")


def test_report_against_a_run_and_the_baseline(store, cli):
    _run(store, "r1")
    _run(store, "r2")
    assert "give either --against RUN or --baseline, not both" in cli("report", "r2", "--against", "r1", "--baseline")


# ---- baselines and the gate -----------------------------------------------------------------------

def test_baseline_missing_or_damaged(store, tmp_path):
    base = tmp_path / "baselines"
    with pytest.raises(ResultsError, match=rf"no baseline for image '{IMG}' on target '{TARGET}' under .*baselines; "
                                           rf"create it with `bench baseline update --image {IMG}`"):
        read_baseline(TARGET, IMG, base)
    update_baselines(_run(store), root=base)
    jp, fp = base / TARGET / f"{IMG}.json", base / TARGET / f"{IMG}.frames.parquet"
    good = json.loads(jp.read_text())
    jp.write_text(json.dumps({**good, "baseline_version": 0}))
    with pytest.raises(ResultsError, match=rf"baseline_version 0 is not \d+; rewrite it with `bench baseline update "
                                           rf"--image {IMG}`"):
        read_baseline(TARGET, IMG, base)
    jp.write_text(json.dumps({**good, "unit": 7}))
    with pytest.raises(ResultsError, match=r"field unit is missing or not a string; rewrite it with"):
        read_baseline(TARGET, IMG, base)
    jp.write_text(json.dumps(good))
    pq.write_table(pa.table({"frame": [0]}), fp)
    with pytest.raises(ResultsError, match=r"no 'utt' and 'total' columns \(it has \['frame'\]\); rewrite it with"):
        read_baseline(TARGET, IMG, base)


def test_baseline_from_an_unfinished_run_or_one_without_frames(store, tmp_path):
    run = _run(store)
    meta = run.read_meta()
    meta["images"][IMG]["status"] = "interrupted"
    run.write_meta(meta)
    with pytest.raises(ResultsError, match=rf"run r1: image {IMG} did not finish cleanly; a baseline must come from a "
                                           r"complete run \(bench run --resume, or a new run\)"):
        update_baselines(run, root=tmp_path / "b")
    with pytest.raises(ResultsError, match=r"run r0 has no measured image to take a baseline from"):
        update_baselines(write_run(store, "r0", {}), root=tmp_path / "b")


def test_gate_of_a_run_that_measured_nothing_or_has_no_baseline(store, tmp_path):
    with pytest.raises(ResultsError, match=r"run r0 measured nothing; see `bench show r0`"):
        gate_run(write_run(store, "r0", {}), root=tmp_path / "b")
    with pytest.raises(ResultsError, match=rf"no committed baseline for {IMG} under .*b; create them with `bench "
                                           r"baseline update --run .*r1` and commit them"):
        gate_run(_run(store), root=tmp_path / "b")


# ---- the index and bench history --------------------------------------------------------------------

def test_history_of_an_empty_store(store, cli):
    assert "the index is empty: run `bench run` first" in cli("history")


def test_history_with_a_filter_that_matches_nothing(store, cli):
    _run(store)
    out = cli("history", "--image", "nope-an386")
    assert "no run in the index has 'total_mean' for image ['nope-an386'] on target any" in out
    assert "see `bench history --metric total_mean` without filters" in out


def test_index_not_built(tmp_path):
    with pytest.raises(ResultsError, match=r"no index at .*; build it with `bench index`"):
        load_index(tmp_path, update=False)
