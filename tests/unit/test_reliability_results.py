"""Nothing silently wrong in the results store (#16): a damaged Parquet, WAV or JSON file is a
ResultsError that names it, and one bad run is reported and skipped by the index instead of blocking
every run."""

from __future__ import annotations

import json
import logging

import pytest
from results_synth import frames, write_run

from bench.errors import ResultsError
from bench.results import baseline
from bench.results.index import load_index, refresh_index, update_index
from bench.results.store import Run

IMAGE = "dsp-baseline-an386"


@pytest.fixture()
def root(tmp_path):
    write_run(tmp_path, "good", {IMAGE: frames({"stft": 1000, "gain": 500, "istft": 900})},
              quality={IMAGE: {"utt00": 2.5, "utt01": 2.7}})
    return tmp_path


def _damage(path):
    path.write_bytes(b"PAR1 this is not parquet")


def test_damaged_frames_parquet_is_named(root):
    run = Run.open("good", root)
    p = run.image_dir(IMAGE) / "frames" / "utt01.parquet"
    _damage(p)
    for read in (lambda: run.frames(IMAGE), lambda: run.frames_of(IMAGE, "utt01")):
        with pytest.raises(ResultsError, match=rf"{p} cannot be read .* the file is damaged"):
            read()


def test_damaged_metrics_and_fidelity_parquet_are_named(root):
    run = Run.open("good", root)
    p = run.image_dir(IMAGE) / "metrics.parquet"
    _damage(p)
    with pytest.raises(ResultsError, match=rf"{p} cannot be read"):
        run.read_metrics(IMAGE)
    f = run.image_dir(IMAGE) / "fidelity.parquet"
    f.write_bytes(b"")
    with pytest.raises(ResultsError, match=rf"{f} cannot be read"):
        run.read_fidelity(IMAGE)


def test_frames_files_that_disagree(root):
    import pyarrow as pa

    run = Run.open("good", root)
    run.write_frames(IMAGE, "utt02", pa.table({"utt": ["utt02"], "frame": ["zero"], "total": [1]}))
    with pytest.raises(ResultsError, match=r"the frames files disagree on their columns"):
        run.frames(IMAGE)


def test_damaged_audio_and_json_are_named(root):
    run = Run.open("good", root)
    (run.image_dir(IMAGE) / "audio").mkdir(exist_ok=True)
    (run.image_dir(IMAGE) / "audio" / "utt00.wav").write_bytes(b"RIFF....WAVE")
    with pytest.raises(ResultsError, match=r"utt00\.wav cannot be read .*`bench run --resume good`"):
        run.read_audio(IMAGE, "utt00")
    (run.path / "run.json").write_bytes(b'{"run_id": "caf\xe9"}')
    with pytest.raises(ResultsError, match=r"run\.json is not valid JSON"):
        run.read_meta()


@pytest.mark.parametrize("damage", [
    lambda r: (r.path / "run.json").write_text("[1, 2]"),
    lambda r: (r.path / "run.json").write_text("{not json"),
    lambda r: (r.image_dir(IMAGE) / "summary.json").write_text(json.dumps({"total": {"mean": "fast"}})),
    lambda r: (r.image_dir(IMAGE) / "summary.json").write_text(
        json.dumps({**json.loads((r.image_dir(IMAGE) / "summary.json").read_text()), "utterances": "many"})),
    lambda r: (r.path / "run.json").write_text(
        json.dumps({**json.loads((r.path / "run.json").read_text()), "started": 20260101})),
])
def test_one_bad_run_is_reported_and_skipped_by_the_index(root, damage, caplog):
    write_run(root, "bad", {IMAGE: frames({"stft": 1000, "gain": 500, "istft": 900})},
              started="2026-01-02T00:00:00+00:00")
    damage(Run(root / "bad"))
    with caplog.at_level(logging.WARNING, logger="bench.results.index"):
        table, skipped = refresh_index(root)
    assert set(table.column("run_id").to_pylist()) == {"good"}
    assert list(skipped) == ["bad"] and skipped["bad"]
    assert any("run bad skipped" in r.getMessage() for r in caplog.records)
    # reported again on the next update (the bad run stays out, the good one stays in)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bench.results.index"):
        assert update_index(root).num_rows == 1
    assert any("run bad skipped" in r.getMessage() for r in caplog.records)


def test_a_run_that_goes_bad_leaves_the_index(root):
    assert update_index(root).num_rows == 1
    (root / "good" / "run.json").write_text("[]")
    table, skipped = refresh_index(root)
    assert table.num_rows == 0 and "good" in skipped


def test_damaged_index_is_named_or_rebuilt(root):
    update_index(root)
    _damage(root / "index.parquet")
    with pytest.raises(ResultsError, match=r"index\.parquet cannot be read .*`bench index --rebuild`"):
        load_index(root, update=False)
    assert load_index(root).num_rows == 1  # updating rebuilds it from the runs


def test_damaged_baseline_is_named(tmp_path):
    from bench.results.measures import run_measures

    run = write_run(tmp_path, "r", {IMAGE: frames({"stft": 1000, "gain": 500, "istft": 900})})
    m = run_measures(run)[IMAGE]
    bdir = tmp_path / "baselines"
    baseline.write_baseline(m, run, bdir)
    jp, fp = baseline._paths(bdir, m.target, IMAGE)
    assert baseline.read_baseline(m.target, IMAGE, bdir).image == IMAGE
    _damage(fp)
    with pytest.raises(ResultsError, match=rf"{fp} cannot be read .*`bench baseline update --image {IMAGE}`"):
        baseline.read_baseline(m.target, IMAGE, bdir)
    jp.write_text("[]")
    with pytest.raises(ResultsError, match=r"a baseline is a JSON object"):
        baseline.read_baseline(m.target, IMAGE, bdir)
