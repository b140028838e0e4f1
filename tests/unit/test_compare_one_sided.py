"""A counter that only one side measured is named in a note, never dropped silently."""

from __future__ import annotations

import numpy as np

from bench.results.compare import CompareOptions, compare_image
from bench.results.measures import ImageMeasures


def _measures(source: str, with_estimate: bool) -> ImageMeasures:
    n = 6
    frames = {"utt": np.array(["u0"] * n), "frame": np.arange(n), "total": np.full(n, 1000),
              "stage_net": np.full(n, 900)}
    if with_estimate:
        frames["cycles_est"] = np.full(n, 1300)
        frames["cycles_est_net"] = np.full(n, 1200)
    return ImageMeasures(image="img", sha256="ab" * 32, unit="instructions", frames=frames,
                         stage_order=("net",), source=source)


def test_a_cycle_estimate_missing_from_the_run_is_named_in_a_note():
    changes, notes = compare_image(_measures("baseline", True), _measures("run-1", False), CompareOptions())
    assert {c.metric for c in changes} == {"total_mean", "total_p50", "total_p99", "stage_net_mean", "stage_net_p99"}
    assert any("cycles_est, cycles_est_net measured in only one of baseline and run-1" in n for n in notes)


def test_no_note_when_both_sides_measure_the_same_counters():
    changes, notes = compare_image(_measures("baseline", True), _measures("run-1", True), CompareOptions())
    assert not any("only one of" in n for n in notes)
    assert "cycles_est_mean" in {c.metric for c in changes}


def test_an_energy_column_on_one_side_is_named_without_the_cycle_estimate_cause():
    a, b = _measures("baseline", False), _measures("run-1", False)
    a.frames["energy"] = np.full(6, 1e-6)
    _changes, notes = compare_image(a, b, CompareOptions())
    note = next(n for n in notes if "only one of" in n)
    assert "energy measured in only one of baseline and run-1" in note
    assert "cycles_est" not in note


def test_the_cycle_estimate_cause_is_given_when_the_estimate_is_missing():
    _changes, notes = compare_image(_measures("baseline", True), _measures("run-1", False), CompareOptions())
    assert any("a QEMU run loses cycles_est" in n for n in notes)
