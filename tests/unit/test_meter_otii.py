"""The `otii` meter through the real otii-tcp-client, against a simulated Otii application serving its
TCP/JSON protocol on loopback (bench/targets/meters/sim/otii.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import check_energy, real_frames, target

from bench.errors import ConfigError
from bench.targets.meters import make_meter, measure_utterance

pytest.importorskip("otii_tcp_client")

FS = 50_000.0


def _meter(marker: str = "GPI1", stage: str = "GPI2", **options: Any) -> Any:
    return make_meter(target(kind="otii", device="sim", supply_v=3.3, sample_rate=FS, marker=marker,
                             stage_marker=stage, options={"sim_noise_a": 1e-6, "sim_seed": 0, **options}))


@pytest.mark.parametrize("marker,stage", [("GPI1", "GPI2"), ("RX", "")], ids=["gpi", "uart-log"])
def test_energy_per_frame_within_resolution(marker: str, stage: str) -> None:
    f = real_frames(60)
    m = _meter(marker, stage)
    try:
        m.start()
        e = measure_utterance(m, f)
        assert e.kind == "simulated" and "otii-tcp-client 1.0.13" in e.source
        check_energy(e, m.truth, FS, set(), noise_a=1e-6)
        if stage:
            for s, v in e.stage_joules.items():
                ok = np.isfinite(v)
                np.testing.assert_allclose(v[ok], m.truth.stage_joules[s][ok],
                                           atol=2 * m.truth.run_a * 1.06 * 3.3 / FS + 1e-8)
        sim = m._sim
        assert {"otii_get_devices", "arc_enable_channel", "arc_set_main_voltage", "project_start_recording",
                "project_stop_recording", "recording_get_channel_data"} <= set(sim.commands)
        assert sim.main_on and sim.main_voltage == 3.3 and sim.licenses[0]["reserved_to"] == "bench"
    finally:
        m.close()
    assert sim.licenses[0]["reserved_to"] == ""  # returned on disconnect


def test_glitch_and_missing_edge_are_excluded_and_reported() -> None:
    f = real_frames(40)
    m = _meter(sim_glitch_frames=[8], sim_t_start=2.1e-3)
    try:
        m.start()
        e = measure_utterance(m, f)
        check_energy(e, m.truth, FS, {0, 8}, noise_a=1e-6)
        assert "no rising edge" in e.excluded[0] and e.excluded[8].startswith("glitch")
    finally:
        m.close()


def test_unknown_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="GPI1, GPI2, RX"):
        make_meter(target(kind="otii", device="sim", supply_v=3.3, marker="D0"))
