"""Regression tracking on constructed histories: schema migration, the index, exact and noisy
comparison, change points, baselines + gate, reports (no emulator)."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
import pytest
from results_synth import frames, write_run

from bench.cli import main
from bench.errors import ResultsError
from bench.results.baseline import gate_run, read_baseline, update_baselines
from bench.results.compare import (
    EXIT_REGRESSION,
    CompareOptions,
    compare_sets,
    exact_change,
    noisy_change,
)
from bench.results.history import binseg_change_points, exact_change_points, series_from_index
from bench.results.index import index_path, update_index
from bench.results.measures import ImageMeasures, run_measures
from bench.results.report import ReportInput, run_summaries, write_report
from bench.results.store import SCHEMA_VERSION, Run, read_json, write_json

MEANS = {"stft": 40000.0, "gain": 20000.0, "istft": 45000.0}


@pytest.fixture()
def root(tmp_path, monkeypatch):
    r = tmp_path / "results"
    monkeypatch.setenv("BENCH_RESULTS", str(r))
    monkeypatch.setenv("BENCH_BASELINES", str(tmp_path / "baselines"))
    return r


def measures(values, unit="instructions", image="img"):
    v = np.asarray(values)
    return ImageMeasures(image=image, sha256="s", unit=unit,
                         frames={"utt": np.array(["u"] * v.size, dtype=object), "frame": np.arange(v.size),
                                 "total": v}, source=image)


# ---- store: schema version and migration -----------------------------------------------------
def test_run_without_schema_version_reads_as_v1_and_migrates(root):
    run = write_run(root, "old", {"img": frames(MEANS)}, schema_version=None)
    raw = read_json(run.path / "run.json")
    assert "schema_version" not in raw and "target_uid" not in raw["images"]["img"]
    meta = run.read_meta()
    assert meta["schema_version"] == SCHEMA_VERSION == 2
    assert meta["images"]["img"]["target_uid"] is None
    run.write_meta(meta)  # written back by the current code: the current version
    assert read_json(run.path / "run.json")["schema_version"] == SCHEMA_VERSION


def test_newer_schema_is_refused_with_advice(root):
    run = write_run(root, "new", {"img": frames(MEANS)})
    raw = read_json(run.path / "run.json")
    raw["schema_version"] = SCHEMA_VERSION + 1
    write_json(run.path / "run.json", raw)
    with pytest.raises(ResultsError, match="upgrade bench"):
        run.read_meta()


# ---- exact comparison ------------------------------------------------------------------------
def test_one_instruction_change_is_reported_but_passes_the_threshold(root):
    a = write_run(root, "a", {"img": frames(MEANS)})
    b = write_run(root, "b", {"img": frames(MEANS, extra={("utt01", 7): 1})})
    cmp = compare_sets(run_measures(a), run_measures(b), CompareOptions(threshold=0.005))
    tm = next(c for c in cmp.changes if c.metric == "total_mean")
    assert tm.kind == "exact" and tm.status == "changed"
    assert tm.changed_frames == 1 and tm.delta == pytest.approx(1 / 100)
    assert cmp.exit_code == 0 and not cmp.regressions
    assert {c.status for c in cmp.changes if c.metric.startswith("stage_")} == {"same"}
    # with a zero threshold the same single instruction fails
    strict = compare_sets(run_measures(a), run_measures(b), CompareOptions(threshold=0.0))
    assert [c.metric for c in strict.regressions] == ["total_mean"]
    assert strict.exit_code == EXIT_REGRESSION


def test_exact_verdicts():
    assert exact_change("i", "m", "instructions", 1000, 1000, 0.005).status == "same"
    assert exact_change("i", "m", "instructions", 1000, 1004, 0.005).status == "changed"
    assert exact_change("i", "m", "instructions", 1000, 1006, 0.005).status == "regression"
    assert exact_change("i", "m", "instructions", 1000, 990, 0.005).status == "improvement"
    assert exact_change("i", "m", "instructions", 0, 5, 0.005).status == "regression"


def test_compare_cli_exit_code_and_json(root, capsys):
    write_run(root, "a", {"img": frames(MEANS)})
    write_run(root, "b", {"img": frames({**MEANS, "gain": MEANS["gain"] * 1.03})})
    assert main(["compare", "a", "b", "--json"]) == EXIT_REGRESSION
    doc = json.loads(capsys.readouterr().out)
    assert doc["regression"] is True and doc["exit_code"] == EXIT_REGRESSION
    reg = {c["metric"] for c in doc["changes"] if c["status"] == "regression"}
    assert {"total_mean", "stage_gain_mean"} <= reg and "stage_stft_mean" not in reg
    assert main(["compare", "a", "b", "--threshold", "5"]) == 0  # 1.3 % total < 5 %
    assert "no regression" in capsys.readouterr().out
    assert main(["compare", "b", "a", "--json"]) == 0  # the other way round: an improvement
    doc = json.loads(capsys.readouterr().out)
    assert any(c["status"] == "improvement" for c in doc["changes"])


def test_compare_refuses_mixed_units_and_disjoint_sets(root):
    a = measures([100, 100])
    with pytest.raises(ResultsError, match="cannot be compared"):
        compare_sets({"img": a}, {"img": measures([100, 100], unit="cycles")})
    other = ImageMeasures(image="img", sha256="s", unit="instructions",
                          frames={"utt": np.array(["v", "v"], dtype=object), "total": np.array([1, 1])})
    with pytest.raises(ResultsError, match="share no utterance"):
        compare_sets({"img": a}, {"img": other})


# ---- noisy comparison ------------------------------------------------------------------------
def test_noisy_two_percent_shift_needs_enough_samples():
    rng = np.random.default_rng(3)
    opts = CompareOptions(min_effect=0.01, alpha=0.01, min_samples=20)
    big_a = 1e6 * (1 + 0.01 * rng.standard_normal(400))
    big_b = 1.02e6 * (1 + 0.01 * rng.standard_normal(400))
    c = noisy_change("img", "total_median", "cycles", big_a, big_b, "lower", opts)
    assert c.status == "regression" and c.p_value < 1e-10
    assert 0.015 < c.rel < 0.025 and c.ci_low < c.rel < c.ci_high and c.ci_low > 0.01
    # the same shift in 8 samples a side: not enough to call it
    small = noisy_change("img", "total_median", "cycles", big_a[:8], big_b[:8], "lower", opts)
    assert small.status == "inconclusive"
    # no shift, many samples: no false alarm
    same = noisy_change("img", "total_median", "cycles", big_a, 1e6 * (1 + 0.01 * rng.standard_normal(400)),
                        "lower", opts)
    assert same.status == "same"
    # significant but below the minimum effect size: reported as changed, not failed
    tiny = noisy_change("img", "total_median", "cycles", np.repeat(big_a, 10),
                        np.repeat(big_a, 10) * 1.003, "lower", opts)
    assert tiny.status == "changed"
    # quality: higher is better, a 2 % drop of PESQ over enough utterances is a regression
    q = noisy_change("img", "q_pesq_wb", "pesq_wb", 3 + 0.02 * rng.standard_normal(60),
                     2.94 + 0.02 * rng.standard_normal(60), "higher", opts)
    assert q.status == "regression"


def test_cycles_runs_compare_statistically(root):
    a = write_run(root, "a", {"img": frames(MEANS, n_frames=200, noise=0.01, seed=1)}, kind="cycles")
    b = write_run(root, "b", {"img": frames({k: v * 1.02 for k, v in MEANS.items()}, n_frames=200, noise=0.01,
                                            seed=2)}, kind="cycles")
    cmp = compare_sets(run_measures(a), run_measures(b))
    tot = next(c for c in cmp.changes if c.metric == "total_median")
    assert tot.kind == "noisy" and tot.status == "regression" and tot.p_value < 0.01


# ---- index and history -----------------------------------------------------------------------
def _series_runs(root, n=15, step_at=7, delta=1200, uid=None):
    runs = []
    for i in range(n):
        m = dict(MEANS)
        if i >= step_at:
            m["gain"] += delta
        runs.append(write_run(root, f"r{i:03d}", {"img": frames(m)}, started=f"2026-01-{i + 1:02d}T00:00:00+00:00",
                              git=f"g{i:03d}", sha={"img": f"{i:064x}"}, target_uid=uid))
    return runs


def test_index_keys_and_incremental_update(root):
    _series_runs(root, n=3, uid="0671FF48ABCD")
    t = update_index()
    assert index_path().is_file() and t.num_rows == 3
    row = t.to_pylist()[0]
    assert row["target_key"] == "0671FF48ABCD" and row["target"] == "qemu-mps2-an386"
    assert row["image_sha256"] == f"{0:064x}" and row["git_revision"] == "g000" and row["unit"] == "instructions"
    for k in ("total_mean", "total_p50", "total_p99", "stage_gain_mean", "stage_gain_p99", "toolchain",
              "model_family", "started", "utt_set"):
        assert row[k] is not None, k
    sig_before = pq.read_table(index_path()).column("sig").to_pylist()
    write_run(root, "r100", {"img": frames(MEANS)}, started="2026-02-01T00:00:00+00:00",
              quality={"img": {"utt00": 2.0, "utt01": 3.0}})
    t2 = update_index()
    assert t2.num_rows == 4 and t2.column("sig").to_pylist()[:3] == sig_before
    assert t2.column("q_pesq_wb").to_pylist()[-1] == pytest.approx(2.5)
    import shutil

    shutil.rmtree(root / "r001")
    assert update_index().column("run_id").to_pylist() == ["r000", "r002", "r100"]


def test_step_in_the_middle_is_named_exactly(root):
    _series_runs(root, n=15, step_at=7, delta=1200)
    (s,) = series_from_index(update_index(), "stage_gain_mean", ["img"])
    assert s.exact and len(s.values) == 15
    assert [st.index for st in s.steps] == [7]
    st = s.steps[0]
    assert st.run_id == "r007" and st.git_revision == "g007" and st.image_sha256 == f"{7:064x}"
    assert st.after - st.before == pytest.approx(1200, rel=0.01)
    (tot,) = series_from_index(update_index(), "total_mean", ["img"])
    assert [x.run_id for x in tot.steps] == ["r007"]


def test_history_cli(root, capsys):
    _series_runs(root, n=10, step_at=4)
    assert main(["history", "--metric", "stage_gain_mean", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (s,) = doc["series"]
    assert [st["run_id"] for st in s["steps"]] == ["r004"] and len(s["points"]) == 10
    assert main(["history", "--metric", "no_such_metric"]) == 2


def test_binary_segmentation_on_noisy_series():
    rng = np.random.default_rng(7)
    x = np.r_[100 + rng.standard_normal(30), 106 + rng.standard_normal(25), 103 + rng.standard_normal(30)]
    cps = binseg_change_points(x)
    assert len(cps) == 2 and abs(cps[0] - 30) <= 1 and abs(cps[1] - 55) <= 1
    assert binseg_change_points(100 + rng.standard_normal(80)) == []
    assert exact_change_points(np.array([5, 5, 5, 6, 6, 5])) == [3, 5]


# ---- baselines, gate, report -----------------------------------------------------------------
def test_baseline_round_trip_and_gate(root, tmp_path, capsys):
    good = write_run(root, "good", {"img": frames(MEANS), "pt": frames({"copy": 3359.0})})
    paths = update_baselines(good)
    assert sorted(p.name for p in paths) == ["img.json", "pt.json"]
    b = read_baseline("qemu-mps2-an386", "img")
    assert b.unit == "instructions" and b.utterances == ["utt00", "utt01"]
    assert gate_run(good).exit_code == 0
    slow = write_run(root, "slow", {"img": frames({**MEANS, "istft": MEANS["istft"] * 1.03}),
                                    "pt": frames({"copy": 3300.0})})
    g = gate_run(slow)
    assert g.exit_code == EXIT_REGRESSION
    assert {(c.image, c.metric) for c in g.comparison.regressions} >= {("img", "total_mean"),
                                                                       ("img", "stage_istft_mean")}
    assert all(c.image == "img" for c in g.comparison.regressions)
    assert any(c.image == "pt" and c.status == "improvement" for c in g.comparison.changes)
    assert main(["gate", "--run", "slow"]) == EXIT_REGRESSION
    text = capsys.readouterr().out.replace("\n", " ")
    assert "bench baseline update --run" in text and "--image pt" in text
    assert main(["compare", "slow", "--baseline"]) == EXIT_REGRESSION


def test_report_files(root, tmp_path):
    a = write_run(root, "a", {"img": frames(MEANS)}, quality={"img": {"utt00": 2.0, "utt01": 2.2}})
    b = write_run(root, "b", {"img": frames({**MEANS, "gain": 30000.0})}, quality={"img": {"utt00": 2.1,
                                                                                          "utt01": 2.3}})
    cmp = compare_sets(run_measures(a), run_measures(b), label_a="a", label_b="b")
    paths = write_report(ReportInput(Run.open("b"), run_measures(b), run_summaries(b), cmp, run_measures(a)),
                         tmp_path / "rep")
    page = paths["html"].read_text()
    assert page.count("<img ") == 3 and "data:image/png;base64," in page  # counters, traces, quality
    assert "REGRESSION" in page and "stage_gain_mean" in page
    suite = ET.parse(paths["junit"]).getroot()
    assert int(suite.get("failures")) == len(cmp.regressions) > 0
    failed = {tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None}
    assert "stage_gain_mean" in failed and "stage_stft_mean" not in failed
    md = paths["markdown"].read_text()
    assert md.startswith("## bench: b") and "| img | stage_gain_mean |" in md
    assert main(["report", "b", "--against", "a", "--out", str(tmp_path / "cli"), "--fail-on-regression"]) \
        == EXIT_REGRESSION
    assert (tmp_path / "cli" / "report.html").is_file()
