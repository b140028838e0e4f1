"""A meter whose instrument records nothing (docs/errors.md): each instrument meter against its
simulated instrument (bench/targets/meters/sim/, through the maker's real package where one is
installed), armed and stopped with no current played. The capture's error does not end the run: every
frame's energy is excluded with the reason, which says what to check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import real_frames, target

from bench.targets.meters import make_meter

CASES = {
    "ppk2": ("ppk2_api", dict(kind="ppk2", device="sim", supply_v=3.3, marker="D0", options={"mode": "ampere"}),
             "the PPK2 sent no samples: check its USB cable"),
    "otii": (None, dict(kind="otii", device="sim", supply_v=3.3, sample_rate=50_000.0, marker="GPI1"),
             "the Otii recording has no main-current samples: enable the main current channel"),
    "lpm01a": (None, dict(kind="lpm01a", device="sim", supply_v=3.3, sample_rate=5000.0, marker="D7"),
               "the PowerShield sent no samples: check its USB cable"),
    "joulescope": (None, dict(kind="joulescope", device="sim", sample_rate=1e6, marker="GPI0",
                              options={"model": "js220"}),
                   "the Joulescope streamed no samples: check its USB cable"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_capture_without_samples_excludes_every_frame_with_the_reason(kind: str) -> None:
    package, table, says = CASES[kind]
    if package:
        pytest.importorskip(package)
    table = {**table, "options": {**table.get("options", {}), "sim_seed": 0}}
    m: Any = make_meter(target(**table))
    frames = real_frames(3)
    try:
        m.start()
        m.stop()  # the board ran nothing: the instrument recorded no current
        e = m.frame_energy(frames)
    finally:
        m.close()
    assert np.isnan(e.joules).all() and sorted(e.excluded) == [0, 1, 2]
    assert all(says in why for why in e.excluded.values()), e.excluded
