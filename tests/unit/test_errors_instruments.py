"""The error catalogue (#16, docs/errors.md), energy-meter instruments that answer but misbehave: a
PowerShield that refuses a setting, a Joulescope gone before the first start, a simulated instrument that
cannot play its waveform, an Otii recording deleted or missing samples, a PPK2 whose calibration the
maker's package cannot decode with. Through the public path (make_meter on a target with a [meter]
table, start(), then measure_utterance as the runner calls it), with the maker's real package against
the simulated instrument (bench/targets/meters/sim/), which is the one layer changed to misbehave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_meter_common import real_frames, target

from bench.errors import TargetError
from bench.targets.meters import make_meter, measure_utterance

SUPPLY = 3.3


def _meter(**table: Any) -> Any:
    return make_meter(target(**table))


def test_powershield_that_refuses_a_setting(monkeypatch):
    """`eventsrc d7 both` is our reading of the PowerShield's protocol, unverified on a board (docs/energy.md):
    a firmware that knows only `ris` and `fal` refuses it, and the meter quotes the command and the
    instrument's reason; with [meter.options] eventsrc_edge = "fal" the same instrument starts."""
    pytest.importorskip("serial")
    from bench.targets.meters.sim import lpm01a as simlpm

    class RisFalOnly(simlpm.SimLpm01a):
        def _command(self, cmd: str) -> None:
            if cmd.startswith("eventsrc ") and cmd.split()[-1] not in ("ris", "fal"):
                return self._error(cmd, "argument not among ris, fal")
            return super()._command(cmd)

    monkeypatch.setattr(simlpm, "SimLpm01a", RisFalOnly)
    m = _meter(kind="lpm01a", device="sim", supply_v=SUPPLY, marker="D7")
    try:
        with pytest.raises(TargetError, match=r"lpm01a meter: the PowerShield refused 'eventsrc d7 both': "
                                              r"(PowerShield > )?Error detail: argument not among ris, fal"):
            m.start()
    finally:
        m.close()
    m = _meter(kind="lpm01a", device="sim", supply_v=SUPPLY, marker="D7", options={"eventsrc_edge": "fal"})
    try:
        m.start()
    finally:
        m.close()


def test_joulescope_gone_before_the_first_start(monkeypatch):
    """A Joulescope unplugged between the scan and the open: the driver's own error, with the instrument."""
    pytest.importorskip("joulescope")
    from bench.targets.meters.sim import joulescope as simjs

    class Unplugged(simjs.SimJoulescopeDriver):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.removed = True

    monkeypatch.setattr(simjs, "SimJoulescopeDriver", Unplugged)
    m = _meter(kind="joulescope", device="sim", supply_v=SUPPLY, sample_rate=100_000, marker="GPI0")
    try:
        with pytest.raises(TargetError, match=r"joulescope meter: cannot start the .*Joulescope.* \(RuntimeError: "
                                              r".*device removed \(error 19: not found\)\)"):
            m.start()
    finally:
        m.close()


def test_simulated_instrument_that_cannot_play_its_waveform():
    """A simulator setting it cannot use (a negative noise level): the utterance's energies are
    excluded with the simulator's reason, the counts stay."""
    pytest.importorskip("ppk2_api")
    m = _meter(kind="ppk2", device="sim", supply_v=SUPPLY, options={"sim_noise_a": -1e-6})
    f = real_frames(5)
    try:
        m.start()
        e = measure_utterance(m, f)
    finally:
        m.close()
    assert not np.isfinite(e.joules).any()
    assert set(e.excluded) == set(range(5))
    assert "the simulated Nordic PPK2 failed to play the waveform: ValueError: " in e.excluded[0]


def _otii(tmp_fault: Any) -> Any:
    """An Otii meter (simulated application) whose recording is changed by ``tmp_fault(sim)`` after the
    board's current was played into it; returns the utterance's FrameEnergy."""
    pytest.importorskip("otii_tcp_client")
    m = _meter(kind="otii", device="sim", supply_v=SUPPLY, sample_rate=50_000, marker="GPI1",
               options={"sim_seed": 0})
    f = real_frames(10)
    try:
        m.start()
        sim = m._sim
        play = sim.play

        def play_then_fault(trace: Any) -> None:
            play(trace)
            with sim._lock:
                tmp_fault(sim)

        sim.play = play_then_fault
        e = measure_utterance(m, f)
    finally:
        m.close()
    assert not np.isfinite(e.joules).any() and set(e.excluded) == set(range(10))
    return e


def test_otii_recording_deleted_before_it_was_read():
    """The recording deleted in the Otii application before the bench read it."""
    e = _otii(lambda sim: sim.recordings.clear())
    assert e.excluded[0] == "the meter's capture could not be read: the Otii has no recording"


def test_otii_recording_that_lost_samples():
    """The Otii's recording lacks samples its duration holds (its USB stream dropped some): they cannot
    be placed, so no frame gets a number."""
    def lose(sim: Any) -> None:
        rec = sim.recordings[-1]
        rec.current[-1] = np.delete(rec.current[-1], np.s_[100:400])

    e = _otii(lose)
    assert "the meter's capture could not be read: the Otii recording holds " in e.excluded[0]
    assert "in its duration: samples were lost and cannot be placed" in e.excluded[0]


def test_ppk2_whose_calibration_the_package_cannot_decode_with(monkeypatch, capsys):
    """A PPK2 whose calibration text carries a line ppk2-api misreads (a bare 'UG:' after the per-range
    ones): the package then drops every sample it converts; the meter counts what it got against what
    came and excludes the utterance rather than place the survivors."""
    pytest.importorskip("ppk2_api")
    from bench.targets.meters.sim import ppk2 as simppk2

    text = simppk2.metadata_text
    monkeypatch.setattr(simppk2, "metadata_text", lambda vdd_mv: text(vdd_mv).replace("END", "UG: 1.0\nEND"))
    m = _meter(kind="ppk2", device="sim", supply_v=SUPPLY, marker="D0", options={"sim_seed": 0})
    f = real_frames(3)
    try:
        m.start()
        e = measure_utterance(m, f)
    finally:
        m.close()
    capsys.readouterr()  # ppk2-api prints a line per sample it drops
    assert not np.isfinite(e.joules).any() and set(e.excluded) == set(range(3))
    assert e.excluded[0].startswith("the meter's capture could not be read: ppk2-api decoded 0 of ")
