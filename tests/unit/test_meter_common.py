"""The energy-meter seam end to end without an emulator: helpers every meter test shares (a real
run's per-frame counts from the committed baselines, the resolution bound), the alignment core
(windows.py) on synthesised waveforms, and the records: frames columns, the image summary, compare
as a noisy metric with the kind in the unit, and the report's labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.paths import repo_root
from bench.results.compare import CompareOptions, compare_image
from bench.results.measures import ImageMeasures, energy_kind_of, frames_to_arrays
from bench.results.report import change_rows, energy_cell
from bench.results.summary import summarize_frames
from bench.runner.stream import with_energy
from bench.targets import load_target, parse_target
from bench.targets.meters import FrameEnergy, make_meter, measure_utterance, utterance_meter
from bench.targets.meters.base import frame_cycles, frame_stage_cycles, frame_stage_names
from bench.targets.meters.sim.waveform import SimOptions, Truth, synthesise
from bench.targets.meters.windows import AlignOptions, Capture, cut_windows, levels_from_edges

BASELINE = "results/baselines/qemu-mps2-an386/dyncp-small-r25-an386.frames.parquet"


def real_frames(n: int = 60, start: int = 0) -> pa.Table:
    """Per-frame counts of a real QEMU run (the committed dyncp-small-r25 baseline: a dynamic model,
    so instructions and cycles_est vary frame to frame), first utterance."""
    t = pq.read_table(repo_root() / BASELINE)
    first = t.column("utt")[0].as_py()
    t = t.filter(pa.compute.equal(t.column("utt"), first))
    return t.slice(start, n)


def target(**meter: Any) -> Any:
    """qemu-mps2-an386 (its clock, CPI and [energy] model) with a [meter] table."""
    import tomllib

    data = tomllib.loads((repo_root() / "targets/qemu-mps2-an386.toml").read_text())
    if meter:
        data["meter"] = meter
    return parse_target(data, where="test.toml", path=Path("test.toml"))


def bound(truth: Truth, fs: float, windows_s: np.ndarray, lsb_a: float = 0.0, noise_a: float = 0.0,
          rel: float = 0.0) -> np.ndarray:
    """The instrument's resolution for each frame's energy (J): a window starts and ends on a sample
    (<= one sample of the current step at each edge), each sample quantised (<= lsb/2, or a relative
    step), plus 5 sigma of the noise summed over the window."""
    v = truth.supply_v
    n = windows_s * fs + 2
    step = truth.run_a * 1.06  # activity factor <= 5 %, and the idle -> run step is below the run current
    return v / fs * (2 * step + n * (lsb_a / 2 + rel * step) + 5 * noise_a * np.sqrt(n))


def check_energy(e: FrameEnergy, truth: Truth, fs: float, excluded: set[int], **kw: Any) -> float:
    """Every frame not expected out is measured within resolution; returns the largest relative error."""
    ok = np.isfinite(e.joules)
    assert set(np.flatnonzero(~ok).tolist()) == excluded, e.excluded
    assert set(e.excluded) == excluded
    err = np.abs(e.joules[ok] - truth.joules[ok])
    lim = bound(truth, fs, truth.window_s[ok], **kw)
    assert np.all(err <= lim), (err / lim).max()
    assert e.frame_window_s is not None
    np.testing.assert_allclose(e.frame_window_s[ok], truth.window_s[ok], atol=1.0 / fs + 1e-12)
    return float(np.max(err / truth.joules[ok]))


# ---- the alignment core -------------------------------------------------------------------------
def _capture(options: SimOptions, fs: float = 100_000.0, n: int = 40) -> tuple[Capture, Truth, np.ndarray, Any]:
    import dataclasses

    options = dataclasses.replace(options, seed=0 if options.seed is None else options.seed)
    f = real_frames(n)
    t = target()
    cyc, st, names = frame_cycles(f, t), frame_stage_cycles(f, t), frame_stage_names(f)
    wf = synthesise(cyc, st, names, t.clock_hz, t.energy_j_per_cycle, 3.3, fs, options)
    tr = wf.sample(fs)
    cur = tr.current_a.copy()
    cur[tr.lost] = np.nan
    return Capture(fs, cur, tr.frame_pin, 3.3, tr.stage_pin), wf.truth, cyc, names


def test_windows_match_the_truth_and_stages_sum_up() -> None:
    cap, truth, cyc, names = _capture(SimOptions(noise_a=1e-6))
    e = cut_windows(cap, cyc, "simulated", "test", names)
    check_energy(e, truth, 100_000, set(), noise_a=1e-6)
    for s in names:
        ok = np.isfinite(e.stage_joules[s])
        assert ok.sum() >= 38
        np.testing.assert_allclose(e.stage_joules[s][ok], truth.stage_joules[s][ok],
                                   atol=2 * truth.run_a * 1.06 * 3.3 / 100_000 + 1e-9)
    assert e.kind == "simulated" and e.mean_current_a is not None and e.peak_current_a is not None
    assert e.window_s == pytest.approx(float(truth.window_s.sum()), rel=1e-3)


def test_glitch_gap_and_stray_pulse_are_excluded_and_reported() -> None:
    cap, truth, cyc, names = _capture(SimOptions(glitch_frames=(5,), gap_frames=(11,), stray_after=(20,)))
    e = cut_windows(cap, cyc, "simulated", "test", names)
    check_energy(e, truth, 100_000, {5, 11})
    assert e.excluded[5].startswith("glitch: the frame marker dropped")
    assert e.excluded[11].startswith("sample gap: 10 sample(s) lost")
    assert any("stray marker pulse" in n for n in e.notes)
    # the glitched frame is never merged into its neighbours: they are measured on their own
    assert np.isfinite(e.joules[4]) and np.isfinite(e.joules[6])


def test_missing_edges_at_the_capture_ends() -> None:
    f = real_frames(40)
    t = target()
    cyc = frame_cycles(f, t)
    first = float(cyc[0]) / t.clock_hz
    # the capture begins in the middle of frame 0 and ends in the middle of the last frame
    cap, truth, cyc, names = _capture(SimOptions(t_start=2e-3 + first / 2))
    n = len(cap.current_a)
    cut = n - int(float(cyc[-1]) / t.clock_hz * 100_000 / 2) - int(2e-3 * 100_000)
    cap = Capture(cap.fs, cap.current_a[:cut], cap.frame_pin[:cut], 3.3)
    e = cut_windows(cap, cyc, "simulated", "test")
    assert set(e.excluded) == {0, 39}
    assert "no rising edge" in e.excluded[0] and "no falling edge" in e.excluded[39]
    check_energy(e, truth, 100_000, {0, 39})


def test_a_frame_lost_before_the_capture_is_placed_by_the_lengths() -> None:
    """The capture began after frame 0: 39 pulses for 40 frames. Dynamic counts say which is missing."""
    f = real_frames(40)
    t = target()
    cyc = frame_cycles(f, t)
    cap, truth, cyc, _ = _capture(SimOptions(t_start=2e-3 + float(cyc[0]) / t.clock_hz + 0.4e-3))
    e = cut_windows(cap, cyc, "simulated", "test")
    assert 0 in e.excluded and "not captured" in e.excluded[0]
    check_energy(e, truth, 100_000, {0})


def test_equal_counts_cannot_place_a_lost_frame_so_nothing_is_guessed() -> None:
    cyc = np.full(20, 100_000.0)
    t = target()
    opts = SimOptions(activity=0.0, seed=0)
    wf = synthesise(cyc, np.zeros((20, 0)), (), t.clock_hz, t.energy_j_per_cycle, 3.3, 100_000, opts)
    tr = wf.sample(100_000)
    keep = tr.frame_pin.copy()
    a, b = wf.frame_bounds[7]
    keep[int(a * 100_000) - 2:int(b * 100_000) + 2] = 0  # frame 7's pulse never reached the instrument
    e = cut_windows(Capture(100_000, tr.current_a, keep, 3.3), cyc, "simulated", "t")
    assert len(e.excluded) >= 1 and 7 in e.excluded
    assert any("unambiguously" in n for n in e.notes)


def test_window_length_is_checked_against_the_count() -> None:
    cap, truth, cyc, _ = _capture(SimOptions())
    wrong = cyc.copy()
    wrong[9] *= 1.5  # the record says frame 9 ran 50 % longer than its marker pulse
    e = cut_windows(cap, wrong, "simulated", "t")
    assert set(e.excluded) == {9} and "disagrees with the frame's count" in e.excluded[9]


def test_levels_from_edges() -> None:
    assert levels_from_edges(6, [(2, 1), (4, 0)]).tolist() == [0, 0, 1, 1, 0, 0]
    assert levels_from_edges(4, [(3, 0)], initial=1).tolist() == [1, 1, 1, 0]
    assert AlignOptions().min_samples == 3


# ---- the records: frames columns, summary, compare, report ---------------------------------------
def _energy(f: pa.Table, kind: str = "simulated", scale: float = 1.0, seed: int = 0) -> FrameEnergy:
    rng = np.random.default_rng(seed)
    n = f.num_rows
    j = frame_cycles(f, target()) * 3.3e-10 * scale * (1 + rng.normal(0, 0.01, n))
    j[3] = np.nan
    st = {s: j * 0.3 for s in frame_stage_names(f)}
    return FrameEnergy(kind, "sim PPK2", j, float(np.nanmean(j)), 0.0025, 0.003, 1.0,
                       frame_mean_a=np.full(n, 0.0025), frame_peak_a=np.full(n, 0.003), frame_window_s=np.full(n, 0.01),
                       excluded={3: "glitch: the frame marker dropped"}, stage_joules=st)


def test_frames_carry_energy_with_its_kind_and_the_summary_reads_them() -> None:
    f = real_frames(50)
    t = with_energy(f, _energy(f))
    for c in ("energy", "energy_mean_a", "energy_peak_a", "energy_window_s", "energy_kind", "energy_source",
              "energy_excluded", "energy_stage_network"):
        assert c in t.column_names
    excl = t.column("energy_excluded")
    assert excl[3].as_py().startswith("glitch") and excl[4].as_py() is None
    assert energy_kind_of(t) == "simulated"
    s = summarize_frames(t, ["stft", "network", "probes", "istft"], load_target("qemu-mps2-an386"), 256, 16000)
    e = s["energy"]
    assert e["kind"] == "simulated" and e["model"] == "sim PPK2"
    assert e["frames_measured"] == 49 and e["frames_excluded"] == 1 and e["excluded_reasons"] == {"glitch": 1}
    assert e["joules_per_frame_mean"] == pytest.approx(float(np.nanmean(t.column("energy").to_numpy())))
    assert set(e["stages"]) == {"stft", "network", "probes", "istft"}
    assert "uJ (simulated), 1 excluded" in energy_cell(s)
    # frames without a meter's figures keep the model's, labelled "model"
    assert summarize_frames(f, ["stft"], load_target("qemu-mps2-an386"), 256, 16000)["energy"]["kind"] == "model"


def _measures(t: pa.Table, kind: str, name: str = "img") -> ImageMeasures:
    return ImageMeasures(image=name, sha256="x", unit="instructions", frames=frames_to_arrays(t), energy_kind=kind,
                         source=kind)


def test_compare_treats_energy_as_noisy_with_its_kind() -> None:
    f = real_frames(60)
    a = _measures(with_energy(f, _energy(f, seed=1)), "simulated")
    b = _measures(with_energy(f, _energy(f, scale=1.2, seed=2)), "simulated")
    changes, notes = compare_image(a, b, CompareOptions())
    by = {c.metric: c for c in changes}
    e = by["energy_median"]
    assert e.kind == "noisy" and e.unit == "J (simulated)" and e.status == "regression" and e.p_value < 0.01
    assert e.n_a == 59  # the excluded frame is left out
    assert by["energy_stage_network_median"].kind == "noisy"
    assert by["energy_mean_a_median"].unit == "A (simulated)"
    assert by["total_mean"].kind == "exact"  # the counts stay exact on QEMU
    rows = change_rows(type("C", (), {"changes": changes})())
    assert any(r[1] == "energy_median [J (simulated)]" for r in rows)
    same, _ = compare_image(a, _measures(with_energy(f, _energy(f, seed=1)), "simulated"), CompareOptions())
    assert {c.metric: c for c in same}["energy_median"].status == "same"
    # different kinds are never compared
    c2, notes2 = compare_image(a, _measures(with_energy(f, _energy(f, kind="measured")), "measured"),
                               CompareOptions())
    assert not any(c.metric.startswith("energy") for c in c2)
    assert any("not compared" in n for n in notes2)


def test_model_targets_get_no_per_utterance_meter_and_failures_keep_the_counts() -> None:
    assert utterance_meter(load_target("qemu-mps2-an386")) is None
    m = make_meter(target(kind="ppk2", device="sim", supply_v=3.3, marker="D0"))
    assert m.energy_kind == "simulated"

    class Broken:
        name, energy_kind, source = "broken", "measured", "broken meter"

        def stop(self) -> None:
            raise OSError("the instrument went away")

        def start(self) -> None: ...

        def frame_energy(self, frames: Any) -> FrameEnergy:
            raise AssertionError

    f = real_frames(10)
    e = measure_utterance(Broken(), f)
    assert np.isnan(e.joules).all() and "the instrument went away" in e.excluded[0]
    assert with_energy(f, e).num_rows == 10


def test_demo_target_is_a_simulated_ppk2() -> None:
    t = load_target("qemu-mps2-an386-sim-ppk2")
    assert t.meter is not None and t.meter.kind == "ppk2" and t.meter.device == "sim"
    pytest.importorskip("ppk2_api")
    m = make_meter(t)
    assert m.energy_kind == "simulated" and "simulated" in m.source


def test_compare_labels_cycle_estimates_as_estimates() -> None:
    """cycles_est columns compare exactly (the plugin is deterministic) but in their own unit, not
    "instructions"."""
    f = real_frames(20)
    assert "cycles_est" in f.column_names
    est = np.asarray(f.column("cycles_est"))
    b_frames = f.set_column(f.column_names.index("cycles_est"), "cycles_est", pa.array(est + 1))
    a, b = _measures(f, ""), _measures(b_frames, "")
    by = {c.metric: c for c in compare_image(a, b, CompareOptions())[0]}
    assert by["cycles_est_mean"].unit == "cycles (estimate)" and by["cycles_est_mean"].kind == "exact"
    assert by["total_mean"].unit == "instructions"
