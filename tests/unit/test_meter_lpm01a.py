"""The `lpm01a` meter (our driver of the PowerShield's serial protocol) against a simulated LPM01A on
a pty (bench/targets/meters/sim/lpm01a.py). Needs only pyserial."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import check_energy, real_frames, target

from bench.errors import ConfigError
from bench.targets.meters import make_meter, measure_utterance
from bench.targets.meters.sim.lpm01a import ascii_dec

FS = 5_000.0


def _meter(**options: Any) -> Any:
    # at 5 kS/s frames need idle gaps of several samples between them: 4 ms here
    return make_meter(target(kind="lpm01a", device="sim", supply_v=3.3, sample_rate=FS, marker="D7",
                             options={"sim_noise_a": 1e-6, "sim_seed": 0, "sim_gap_s": 4e-3, **options}))


def test_ascii_dec_format() -> None:
    assert ascii_dec(np.array([640.9e-6, 2.5e-3, 0.0, 12.34])) == ["6409-07", "2500-06", "0000-00", "1234-02"]


def test_energy_per_frame_within_resolution() -> None:
    f = real_frames(40)
    m = _meter()
    try:
        m.start()
        e = measure_utterance(m, f)
        assert e.kind == "simulated" and "PowerShield protocol driver" in e.source
        check_energy(e, m.truth, FS, set(), rel=5e-4, noise_a=1e-6)  # 4 significant digits
        sim = m._sim
        assert sim.commands[:2] == ["htc", "volt 3300m"]
        want = {"freq 5k", "format ascii_dec", "output current", "eventsrc d7 both", "start", "stop"}
        assert want <= set(sim.commands)
    finally:
        m.close()
    assert sim.commands[-1] == "hrc"


def test_glitch_and_lost_samples_are_excluded_and_reported() -> None:
    f = real_frames(40)
    m = _meter(sim_glitch_frames=[3], sim_gap_frames=[30])
    try:
        m.start()
        e = measure_utterance(m, f)
        assert e.excluded[3].startswith("glitch")
        # the TimeStamp lines place a loss only within its 100 ms: every frame of that interval is out
        gap = {j for j, r in e.excluded.items() if r.startswith("sample gap")}
        assert 30 in gap and len(gap) <= 12
        assert any("TimeStamp" in n and "lost" in n for n in e.notes)
        check_energy(e, m.truth, FS, {3, *gap}, rel=5e-4, noise_a=1e-6)
    finally:
        m.close()


@pytest.mark.parametrize("meter,match", [
    ({"sample_rate": 20_000}, "at most 5 kHz"),
    ({"sample_rate": 3000}, "one of"),
    ({"supply_v": 5.0}, "1.8-3.3 V"),
    ({"marker": "D2"}, "D7"),
    ({"stage_marker": "D8"}, "one event input"),
])
def test_config_errors(meter: dict[str, Any], match: str) -> None:
    table = {"kind": "lpm01a", "device": "sim", "supply_v": 3.3, "marker": "D7", **meter}
    with pytest.raises(ConfigError, match=match):
        make_meter(target(**table))
