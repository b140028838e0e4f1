"""The farm's night without boards (bench.farm): the farm TOML, the verdicts against each place's
last good night, the merged summary, the reports, the history (a place failing three nights
running is called out first) and the exit codes 0 / 3 (regression) / 4 (board failed). Each
place's attempt is replaced by one that writes a synthetic run (tests/unit/results_synth.py)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import results_synth as rs  # noqa: E402

from bench.errors import ConfigError  # noqa: E402
from bench.farm import EXIT_BOARD_FAILED, EXIT_OK, EXIT_REGRESSION, load_farm, run_farm  # noqa: E402
from bench.farm import night as nightmod  # noqa: E402
from bench.farm.spec import parse_farm  # noqa: E402

FARM = """
[farm]
name = "lab"
limit = 2
metrics = false
timeout = 30

[[place]]
name = "a"
target = "qemu-mps2-an386-sh"
images = ["passthrough-an386"]

[[place]]
name = "b"
target = "qemu-mps2-an386-sh"
images = "dsp-baseline-an386"
limit = 1
retries = 0

[[place]]
name = "dead"
target = "dead.toml"
images = ["passthrough-an386"]
timeout = 5
"""


@pytest.fixture()
def farm(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    f = tmp_path / "farm.toml"
    f.write_text(FARM)
    return load_farm(f)


def test_farm_file_is_parsed_with_defaults_and_per_place_overrides(farm, tmp_path):
    a, b, dead = farm.places
    assert farm.name == "lab" and farm.fail_nights == 3
    assert (a.limit, a.timeout, a.retries, a.metrics, a.images) == (2, 30.0, 1, False, ("passthrough-an386",))
    assert (b.limit, b.retries, b.images) == (1, 0, ("dsp-baseline-an386",))
    assert dead.target == str(tmp_path / "dead.toml") and dead.timeout == 5.0


@pytest.mark.parametrize("bad, says", [
    ({}, "no [[place]]"),
    ({"place": [{"name": "a"}]}, "needs name and target"),
    ({"place": [{"name": "a", "target": "t"}, {"name": "a", "target": "t"}]}, "unique"),
    ({"place": [{"name": "a", "target": "t", "board": "x"}]}, "unknown key board"),
    ({"farm": {"nightly": 1}, "place": [{"name": "a", "target": "t"}]}, "unknown key farm.nightly"),
    ({"place": [{"name": "a", "target": "t", "timeout": 0}]}, "timeout must be positive"),
])
def test_farm_file_errors_say_what_is_wrong(bad, says):
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        parse_farm(bad)


class FakeBoards:
    """Each attempt writes a synthetic run, or fails, as the night's plan says (place -> stage means
    or "dead"); counts the attempts."""

    def __init__(self, monkeypatch):
        self.plan: dict[str, object] = {}
        self.calls: list[tuple[str, bool]] = []
        monkeypatch.setattr(nightmod, "attempt", self.attempt)

    def attempt(self, place, run_id, resume, log):
        self.calls.append((place.name, resume))
        what = self.plan[place.name]
        if what == "dead":
            return {"status": "timeout", "error": "no result within the place's timeout", "wall_s": 0.01,
                    "runner_s": None, "resume": resume}
        root = nightmod.results_root()
        if not (root / run_id).exists():
            rs.write_run(root, run_id, {place.images[0]: rs.frames(what)})
        return {"status": "done", "error": None, "wall_s": 0.02, "runner_s": 0.015, "resume": resume}


def test_nights_verdicts_history_and_exit_codes(farm, monkeypatch):
    boards = FakeBoards(monkeypatch)
    base = {"stft": 1000.0, "gain": 500.0, "istft": 900.0}
    slow = {**base, "gain": 600.0}

    # night 1: a and b measured (nothing to compare with yet), dead fails twice (a retry) -> 4
    boards.plan = {"a": base, "b": base, "dead": "dead"}
    s1 = run_farm(farm, stamp="20260101-010000")
    assert s1["exit_code"] == EXIT_BOARD_FAILED and s1["failed_places"] == ["dead"] and not s1["regression"]
    by = {r["place"]: r for r in s1["places"]}
    assert by["a"]["verdicts"] == {"passthrough-an386": {"verdict": "new", "changes": []}}
    assert by["dead"]["run_id"] is None and len(by["dead"]["attempts"]) == 2 and by["dead"]["status"] == "failed"
    assert [c for c in boards.calls if c[0] == "dead"] == [("dead", False), ("dead", False)]
    assert by["a"]["run_id"] == "20260101-010000-a-qemu-mps2-an386-sh" and by["a"]["overhead_s"] == pytest.approx(0.005)
    night = Path(s1["path"])
    assert json.loads((night / "farm.json").read_text())["exit_code"] == EXIT_BOARD_FAILED
    assert night.parent.name == "farm" and (nightmod.results_root() / by["a"]["run_id"] / "run.json").is_file()

    # night 2: a regressed against night 1 -> 3 (a regression wins over the dead board)
    boards.plan = {"a": slow, "b": base, "dead": "dead"}
    s2 = run_farm(farm, stamp="20260102-010000")
    by = {r["place"]: r for r in s2["places"]}
    assert s2["exit_code"] == EXIT_REGRESSION and s2["regression"]
    assert by["a"]["verdicts"]["passthrough-an386"]["verdict"] == "regression"
    assert by["a"]["against"] == "20260101-010000-a-qemu-mps2-an386-sh"
    assert by["b"]["verdicts"]["dsp-baseline-an386"]["verdict"] == "same"
    md = (Path(s2["path"]) / "report.md").read_text()
    assert "REGRESSION" in md and "## Regressions" in md and "HAS FAILED" not in md
    junit = ET.parse(Path(s2["path"]) / "junit.xml").getroot()
    failed = {(c.get("classname"), c.get("name")) for c in junit.iter("testcase") if c.find("failure") is not None}
    assert failed == {("farm.a", "passthrough-an386"), ("farm.dead", "board")}

    # night 3: dead fails a third night running: called out at the top of the report; a is compared
    # with night 2 (its last good night), so its slower figures are now "same" -> 4
    boards.plan = {"a": slow, "b": base, "dead": "dead"}
    s3 = run_farm(farm, stamp="20260103-010000")
    assert s3["exit_code"] == EXIT_BOARD_FAILED and s3["failing_for_nights"] == {"dead": 3}
    md = (Path(s3["path"]) / "report.md").read_text().splitlines()
    assert md[2].startswith("**BOARD dead HAS FAILED 3 NIGHTS RUNNING**")

    # night 4: all good -> 0; the history keeps the four nights
    boards.plan = {"a": slow, "b": base, "dead": base}
    s4 = run_farm(farm, stamp="20260104-010000")
    assert s4["exit_code"] == EXIT_OK and s4["failing_for_nights"] == {} and not s4["failed_places"]
    hist = json.loads(nightmod.history_path("lab").read_text())["nights"]
    assert [n["places"]["dead"]["status"] for n in hist] == ["failed", "failed", "failed", "done"]
    assert nightmod.consecutive_failures(hist, "dead") == 0


def test_a_night_in_the_same_second_gets_its_own_folder(farm, monkeypatch):
    boards = FakeBoards(monkeypatch)
    boards.plan = {"a": "dead", "b": "dead", "dead": "dead"}
    s1 = run_farm(farm, stamp="20260101-010000")
    s2 = run_farm(farm, stamp="20260101-010000")
    assert s1["path"] != s2["path"] and s2["night_id"] == "20260101-010000-2-lab"


def test_a_place_reserved_by_somebody_else_is_skipped_named_and_exit_5(farm, monkeypatch):
    """labgrid places (bench.farm.places) replaced: place b is held by alice; it is not attempted,
    the night's exit code is 5 when nothing else failed, the reports name the holder, JUnit skips
    it, and a reserved night neither counts as a failure nor ends a run of failures."""
    boards = FakeBoards(monkeypatch)
    base = {"stft": 1000.0, "gain": 500.0, "istft": 900.0}
    held = {"b": ("reserved", "labgrid place emu-b is reserved by alice@lab-pc since 2026-01-01 01:00 UTC (2 h)")}
    monkeypatch.setattr(nightmod.lab, "blocked", lambda places: held)
    monkeypatch.setattr(nightmod.lab, "sweep", lambda places: {
        "b": {"labgrid_place": "emu-b", "released": None, "holder": "alice@lab-pc since ..."}})
    boards.plan = {"a": base, "dead": base}
    s = run_farm(farm, stamp="20260201-010000")
    by = {r["place"]: r for r in s["places"]}
    assert s["exit_code"] == nightmod.EXIT_RESERVED == 5 and s["reserved_places"] == ["b"] and not s["failed_places"]
    assert by["b"]["status"] == "reserved" and by["b"]["attempts"] == [] and "b" not in {c[0] for c in boards.calls}
    night = Path(s["path"])
    md = (night / "report.md").read_text()
    assert "PLACE RESERVED" in md and "## Reserved by others (not tested)" in md and "alice@lab-pc" in md
    html = (night / "report.html").read_text()
    assert "PLACE RESERVED" in html and "alice@lab-pc" in html and "<table>" in html
    junit = ET.parse(night / "junit.xml").getroot()
    assert junit.get("skipped") == "1" and junit.get("failures") == "0"
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert [(c.get("classname"), c.get("name")) for c in skipped] == [("farm.b", "board")]
    hist = [{"places": {"b": {"status": "failed"}}}, {"places": {"b": {"status": "reserved"}}},
            {"places": {"b": {"status": "failed"}}}]
    assert nightmod.consecutive_failures(hist, "b") == 2
    assert s["merged_run"] == "20260201-010000-farm-lab"  # the places that ran, in one run
