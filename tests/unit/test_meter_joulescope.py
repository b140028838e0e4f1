"""The `joulescope` meter through the real joulescope package (v1 device, stream buffer), with the
simulated instrument at its lowest replaceable layer, the pyjoulescope_driver Driver
(bench/targets/meters/sim/joulescope.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import check_energy, real_frames, target

from bench.targets.meters import make_meter, measure_utterance

pytest.importorskip("joulescope")

FS = 100_000.0


def _meter(model: str = "js220", **options: Any) -> Any:
    return make_meter(target(kind="joulescope", device="sim", sample_rate=FS, marker="GPI0", stage_marker="GPI1",
                             options={"model": model, "sim_noise_a": 1e-6, "sim_seed": 0, **options}))


@pytest.mark.parametrize("model", ["js220", "js110"])
def test_energy_per_frame_within_resolution(model: str) -> None:
    f = real_frames(60)
    m = _meter(model)
    try:
        m.start()
        e = measure_utterance(m, f)
        assert e.kind == "simulated" and "joulescope 1.5.0" in e.source and "V measured" in e.source
        check_energy(e, m.truth, FS, set(), rel=1e-6, noise_a=1e-6)  # float32 samples
        for v in e.stage_joules.values():
            ok = np.isfinite(v)
            assert ok.sum() >= 55
        topics = [t for t, _ in m._sim.published]
        assert any(t.endswith("/h/fs") for t in topics) and any(t.endswith("s/gpi/0/ctrl") for t in topics)
    finally:
        m.close()


def test_glitch_and_skipped_samples_are_excluded_and_reported() -> None:
    f = real_frames(40)
    m = _meter(sim_glitch_frames=[2], sim_gap_frames=[21])
    try:
        m.start()
        e = measure_utterance(m, f)
        check_energy(e, m.truth, FS, {2, 21}, rel=1e-6, noise_a=1e-6)
        assert e.excluded[2].startswith("glitch") and e.excluded[21].startswith("sample gap")
        assert any("skipped sample" in n for n in e.notes)
    finally:
        m.close()
