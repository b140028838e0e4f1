"""The `ppk2` meter through the real ppk2-api, against a simulated PPK2 on a pty that speaks the
PPK2's command and sample protocol (bench/targets/meters/sim/ppk2.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import check_energy, real_frames, target

from bench.errors import ConfigError
from bench.runner.stream import with_energy
from bench.targets.meters import make_meter, measure_utterance

pytest.importorskip("ppk2_api")

from bench.targets.meters.sim.ppk2 import ADC_MULT, GI, R  # noqa: E402

FS = 100_000.0
LSB_RANGE1 = 4 * ADC_MULT / R[1] * GI[1]  # ~0.43 uA: the ~2.5 mA run current sits in range 1


def _meter(**options: Any) -> Any:
    opts = {"sim_noise_a": 1e-6, "sim_seed": 0, **options}
    mode = opts.pop("mode", "ampere")
    return make_meter(target(kind="ppk2", device="sim", supply_v=3.3, marker="D0", stage_marker="D1",
                             options={"mode": mode, **opts}))


def _measure(m: Any, frames: Any) -> Any:
    m.start()
    e = measure_utterance(m, frames)  # what the runner does: feed, stop, frame_energy
    return e


def test_energy_per_frame_within_the_ppk2_resolution() -> None:
    f = real_frames(60)
    m = _meter()
    try:
        e = _measure(m, f)
        assert e.kind == "simulated" and "ppk2-api 0.9.2" in e.source
        check_energy(e, m.truth, FS, set(), lsb_a=LSB_RANGE1, noise_a=1e-6)
        for s, v in e.stage_joules.items():
            ok = np.isfinite(v)
            assert ok.sum() >= 55
            np.testing.assert_allclose(v[ok], m.truth.stage_joules[s][ok], atol=2 * m.truth.run_a * 1.06 * 3.3 / FS
                                       + 1e-8)
        # a second utterance on the same meter
        f2 = real_frames(30, start=60)
        e2 = _measure(m, f2)
        check_energy(e2, m.truth, FS, set(), lsb_a=LSB_RANGE1, noise_a=1e-6)
        sim = m._sim
        assert {0x19, 0x11, 0x0D, 0x06, 0x07} <= set(sim.commands) and sim.vdd_mv == 3300 and sim.mode == 1
    finally:
        m.close()


def test_glitch_and_lost_samples_are_excluded_and_reported() -> None:
    f = real_frames(40)
    m = _meter(sim_glitch_frames=[6], sim_gap_frames=[13])
    try:
        e = _measure(m, f)
        check_energy(e, m.truth, FS, {6, 13}, lsb_a=LSB_RANGE1, noise_a=1e-6)
        assert e.excluded[6].startswith("glitch")
        assert e.excluded[13].startswith("sample gap")
        assert any("sample counter shows 10 lost" in n for n in e.notes)
        t = with_energy(f, e)
        assert t.column("energy_kind")[0].as_py() == "simulated"
        assert t.column("energy_excluded")[13].as_py().startswith("sample gap")
    finally:
        m.close()


def test_capture_that_began_inside_a_frame() -> None:
    f = real_frames(20)
    m = _meter(sim_t_start=2.2e-3)  # frame 0 starts at 2 ms
    try:
        e = _measure(m, f)
        assert "no rising edge" in e.excluded[0]
        check_energy(e, m.truth, FS, {0}, lsb_a=LSB_RANGE1, noise_a=1e-6)
    finally:
        m.close()


def test_source_mode_powers_the_board() -> None:
    m = _meter(mode="source")
    try:
        e = _measure(m, real_frames(10))
        assert np.isfinite(e.joules).all() and m._sim.dut_power and m._sim.mode == 2
        assert "source mode" in e.source
    finally:
        m.close()


@pytest.mark.parametrize("meter,match", [
    ({"sample_rate": 50_000}, "100 kS/s only"),
    ({"marker": "D8"}, "D0..D7"),
    ({"options": {"mode": "volt"}}, "'ampere' or 'source'"),
    ({"options": {"rate": 1}}, r"unknown option\(s\) \['rate'\]"),
    ({"options": {"sim_nosie_a": 1}}, "unknown simulator setting"),
])
def test_config_errors_name_the_key(meter: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_meter(target(kind="ppk2", device="sim", supply_v=3.3, **meter))
