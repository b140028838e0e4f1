"""Energy records downstream of the meters: `bench compare` on per-frame energy with the simulated
instruments' noise (a 5 % change is flagged with enough frames, a 0.5 % one is not), and the report's
energy figures (energy per frame over an utterance beside the counts and the voice-activity label;
quality against energy per image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from results_synth import frames, target, write_run

from bench.results.compare import CompareOptions, compare_image
from bench.results.measures import ImageMeasures, frames_to_arrays, run_measures
from bench.results.report import (
    ReportInput,
    fig_energy_utterance,
    fig_quality_energy,
    run_summaries,
    vad_labels,
    write_report,
)
from bench.runner.stream import with_energy
from bench.targets.meters.base import frame_cycles
from bench.targets.meters.sim.waveform import SimOptions, synthesise
from bench.targets.meters.windows import Capture, cut_windows

MEANS = {"stft": 20_000.0, "gain": 150_000.0, "istft": 30_000.0}  # ~200 k instructions: ~10 ms per frame
FS = 100_000.0


def simulated(tables: dict[str, pa.Table], scale: float = 1.0, seed: int = 0, noise_a: float = 2e-6,
              vad: dict[str, np.ndarray] | None = None, silence: float = 1.0) -> dict[str, pa.Table]:
    """Each utterance's frames with the energy a simulated instrument measures: the waveform
    synthesiser (activity 1 +- 5 % per frame, fresh per run; Gaussian noise per sample) sampled at
    100 kS/s and cut at the marker edges by windows.py. ``scale``: the board draws that much more
    (a 5 % energy regression is scale=1.05). ``silence``: the current factor on frames whose VAD label
    is False (a dynamic model that spends less on silence)."""
    t = target()
    out = {}
    for k, (utt, tab) in enumerate(tables.items()):
        cyc = frame_cycles(tab, t)
        opts = SimOptions(noise_a=noise_a, seed=seed * 1000 + k)
        jpc = t.energy_j_per_cycle * scale
        wf = synthesise(cyc, np.zeros((len(cyc), 0)), (), t.clock_hz, jpc, 3.3, FS, opts)
        if vad is not None and silence != 1.0:  # cheaper frames where the label says silence
            cyc = np.where(vad[utt], cyc, cyc * silence)
            tab = tab.set_column(tab.column_names.index("total"), "total",
                                 pa.array(np.round(cyc / t.cpi_estimate).astype(np.int64)))
            wf = synthesise(cyc, np.zeros((len(cyc), 0)), (), t.clock_hz, jpc, 3.3, FS, opts)
        tr = wf.sample(FS)
        e = cut_windows(Capture(FS, tr.current_a, tr.frame_pin, 3.3), cyc, "simulated", "sim PPK2 (test)")
        assert e.measured_frames == len(cyc)
        out[utt] = with_energy(tab, e)
    return out


def _measures(tables: dict[str, pa.Table], name: str) -> ImageMeasures:
    t = pa.concat_tables(list(tables.values()))
    return ImageMeasures(image="img", sha256="x", unit="instructions", frames=frames_to_arrays(t),
                         energy_kind="simulated", source=name)


@pytest.mark.parametrize("n_utts,n_frames", [(2, 50), (4, 100)])
def test_compare_flags_a_5_percent_energy_change_not_a_half_percent_one(n_utts: int, n_frames: int) -> None:
    base = frames(MEANS, n_utts=n_utts, n_frames=n_frames)
    a = _measures(simulated(base, seed=1), "a")
    opts = CompareOptions()
    for scale, seed, flagged in ((1.05, 2, "regression"), (0.95, 3, "improvement"), (1.005, 4, None),
                                 (0.995, 5, None), (1.0, 6, None)):
        b = _measures(simulated(base, scale=scale, seed=seed), f"b{scale}")
        changes, _ = compare_image(a, b, opts)
        e = {c.metric: c for c in changes}["energy_median"]
        assert e.unit == "J (simulated)" and e.kind == "noisy" and e.n_a == e.n_b == n_utts * n_frames
        if flagged:
            assert e.status == flagged, (scale, e)
            assert e.p_value < opts.alpha and abs(e.rel) == pytest.approx(abs(scale - 1), abs=0.01)
            assert e.ci_low <= e.rel <= e.ci_high
        else:
            assert e.status in ("same", "changed"), (scale, e)  # never a regression or an improvement
        # the counts are the same frames: exact and unchanged, whatever the energy did
        assert {c.metric: c for c in changes}["total_mean"].status == "same"


def test_compare_with_too_few_frames_is_inconclusive() -> None:
    base = frames(MEANS, n_utts=1, n_frames=12)
    changes, _ = compare_image(_measures(simulated(base, seed=1), "a"),
                               _measures(simulated(base, scale=1.05, seed=2), "b"), CompareOptions())
    assert {c.metric: c for c in changes}["energy_median"].status == "inconclusive"


def _vad(tables: dict[str, pa.Table]) -> dict[str, np.ndarray]:
    return {u: (np.arange(t.num_rows) // 10) % 2 == 1 for u, t in tables.items()}  # 10 silence, 10 speech, ...


def test_report_writes_both_energy_figures(tmp_path: Path) -> None:
    base = frames(MEANS, n_utts=2, n_frames=60)
    vad = _vad(base)
    quality = {"utt00": 2.1, "utt01": 2.3}
    run = write_run(tmp_path, "e1", {"img": simulated(base, vad=vad, silence=0.5), "plain": frames(MEANS)},
                    quality={"img": quality, "plain": quality})
    ms = run_measures(run)
    assert ms["img"].energy_kind == "simulated" and "energy" not in ms["plain"].frames
    inp = ReportInput(run, ms, run_summaries(run), vad=vad)
    assert fig_energy_utterance(inp) is not None
    assert fig_quality_energy(inp) is not None
    paths = write_report(inp, tmp_path / "rep")
    page = paths["html"].read_text()
    for title in ("Energy per frame over an utterance", "Quality against energy", "Quality against compute"):
        assert f"<h2>{title}</h2>" in page
    assert page.count("<img ") == 6  # counters, traces, energy, energy over an utterance, quality x2
    # silence frames (half the work in this synthetic dynamic model) cost less than speech frames
    f = ms["img"].frames
    sel = f["utt"] == "utt00"
    e, lab = f["energy"][sel], vad["utt00"]
    assert e[~lab].mean() < 0.7 * e[lab].mean()


def test_report_without_energy_has_neither_energy_figure(tmp_path: Path) -> None:
    run = write_run(tmp_path, "n1", {"plain": frames(MEANS)}, quality={"plain": {"utt00": 2.0, "utt01": 2.1}})
    inp = ReportInput(run, run_measures(run), run_summaries(run))
    assert fig_energy_utterance(inp) is None and fig_quality_energy(inp) is None
    page = write_report(inp, tmp_path / "rep")["html"].read_text()
    assert "over an utterance" not in page and "Quality against energy" not in page


def test_vad_labels_come_from_the_shipped_set() -> None:
    lab = vad_labels(["test_0000", "no_such_utt"], {"test_0000": 40})
    assert set(lab) == {"test_0000"} and lab["test_0000"].dtype == bool and lab["test_0000"].size == 40


def test_energy_over_an_utterance_reads_the_set_labels_when_none_are_given(tmp_path: Path) -> None:
    base = frames(MEANS, n_utts=1, n_frames=40)
    renamed = {"test_0000": base["utt00"].set_column(0, "utt", pa.array(["test_0000"] * 40))}
    run = write_run(tmp_path, "v1", {"img": simulated(renamed)})
    inp = ReportInput(run, run_measures(run), run_summaries(run))
    assert fig_energy_utterance(inp) is not None
