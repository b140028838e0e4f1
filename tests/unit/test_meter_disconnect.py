"""An instrument that goes away in the middle of an utterance (USB cable pulled, application closed),
per meter, through the maker's real package against its simulated instrument (sim_disconnect_frame):
the utterance's frames are excluded with a reason that says what happened, or measured within the
instrument's resolution where their window was captured whole: never a wrong number; the counts stay.
The next utterance on the dead meter is excluded with a clear reason too, and closing does not hang."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from test_meter_common import bound, real_frames, target

from bench.runner.stream import with_energy
from bench.targets.meters import make_meter, measure_utterance

CUT = 20  # the instrument goes away in the middle of frame 20 of 40

METERS: dict[str, tuple[str, dict[str, Any], float]] = {
    "ppk2": ("ppk2_api", {"kind": "ppk2", "device": "sim", "supply_v": 3.3, "marker": "D0", "stage_marker": "D1"},
             100_000.0),
    "joulescope": ("joulescope", {"kind": "joulescope", "device": "sim", "sample_rate": 100_000, "marker": "GPI0",
                                  "stage_marker": "GPI1"}, 100_000.0),
    "otii": ("otii_tcp_client", {"kind": "otii", "device": "sim", "supply_v": 3.3, "sample_rate": 50_000,
                                 "marker": "GPI1", "stage_marker": "GPI2"}, 50_000.0),
    "lpm01a": ("serial", {"kind": "lpm01a", "device": "sim", "supply_v": 3.3, "sample_rate": 5000, "marker": "D7",
                          "options": {"sim_gap_s": 4e-3}}, 5_000.0),
}
LSB = {"ppk2": 0.45e-6, "joulescope": 0.0, "otii": 0.0, "lpm01a": 0.0}
REL = {"ppk2": 0.0, "joulescope": 1e-6, "otii": 0.0, "lpm01a": 5e-4}


def _meter(name: str) -> Any:
    module, table, _ = METERS[name]
    pytest.importorskip(module)
    table = dict(table)
    table["options"] = {"sim_noise_a": 1e-6, "sim_seed": 0, **table.get("options", {}), "sim_disconnect_frame": CUT}
    return make_meter(target(**table))


@pytest.mark.parametrize("name", list(METERS))
def test_instrument_gone_mid_utterance_is_excluded_never_a_wrong_number(name: str) -> None:
    f = real_frames(40)
    m = _meter(name)
    fs = METERS[name][2]
    try:
        t0 = time.monotonic()
        m.start()
        e = measure_utterance(m, f)
        assert time.monotonic() - t0 < 60, "the meter hung on a disconnected instrument"
        assert e.kind == "simulated" and len(e.joules) == 40
        ok = np.isfinite(e.joules)
        # every frame from the disconnect on is out, with a reason; none is a number
        assert not ok[CUT:].any(), np.flatnonzero(ok)
        assert set(range(CUT, 40)) <= set(e.excluded)
        assert all(e.excluded[j] for j in np.flatnonzero(~ok))
        # the frames that are numbers (captured whole before the disconnect) are right within resolution
        if ok.any():
            err = np.abs(e.joules[ok] - m.truth.joules[ok])
            assert np.all(err <= bound(m.truth, fs, m.truth.window_s[ok], lsb_a=LSB[name], rel=REL[name],
                                       noise_a=1e-6))
        reasons = " ".join(e.excluded[j] for j in range(CUT, 40))
        assert any(w in reasons.lower() for w in ("disconnect", "went away", "gone", "closed", "failed", "lost",
                                                   "no falling edge", "not captured")), reasons
        t = with_energy(f, e)  # the counts stay
        assert t.num_rows == 40 and t.column("total").to_pylist() == f.column("total").to_pylist()
        # the next utterance on the dead instrument: excluded, with a reason, not an exception
        t1 = time.monotonic()
        m.start()
        e2 = measure_utterance(m, real_frames(10, start=40))
        assert time.monotonic() - t1 < 60
        assert not np.isfinite(e2.joules).any() and len(e2.excluded) == 10
        print(name, "|", e.excluded[CUT + 1], "|", e2.excluded[0])
    finally:
        t2 = time.monotonic()
        m.close()
        assert time.monotonic() - t2 < 30


@pytest.mark.parametrize("cut", [5, 20, 33, 37, 38, 39])
@pytest.mark.parametrize("where", ["mid", "after_fall", "before_rise"])
def test_a_capture_cut_short_without_an_error_gives_no_wrong_number(cut: int, where: str) -> None:
    """An instrument whose stream simply stops (no error from its package): the alignment core never
    places the remaining pulses on frames of similar length elsewhere in the utterance. With more
    than max_unmatched frames missing every frame is excluded; a frame whose window ended before the
    cut is measured right."""
    from test_meter_common import _capture

    from bench.targets.meters.sim.waveform import SimOptions
    from bench.targets.meters.windows import Capture, cut_windows

    for seed in range(3):
        cap, truth, cyc, names = _capture(SimOptions(noise_a=1e-6, seed=seed))
        pin = cap.frame_pin.astype(np.int8)
        rises = np.flatnonzero(np.diff(pin) == 1) + 1
        falls = np.flatnonzero(np.diff(pin) == -1) + 1
        k = {"mid": (rises[cut] + falls[cut]) // 2, "after_fall": falls[cut] + 20,
             "before_rise": rises[cut] - 20}[where]
        e = cut_windows(Capture(cap.fs, cap.current_a[:k], cap.frame_pin[:k], 3.3, cap.stage_pin[:k]), cyc,
                        "simulated", "t", names)
        ok = np.isfinite(e.joules)
        last = cut if where == "after_fall" else cut - 1  # the last frame whose window was captured whole
        assert not ok[last + 1:].any()
        assert set(np.flatnonzero(~ok).tolist()) == set(e.excluded)
        err = np.abs(e.joules[ok] - truth.joules[ok])
        assert np.all(err <= bound(truth, 100_000, truth.window_s[ok], noise_a=1e-6))
        if 40 - cut > 3:
            assert not ok.any() and "cannot place the pulses reliably" in e.excluded[0]
