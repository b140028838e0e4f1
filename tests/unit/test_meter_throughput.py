"""The throughput script of the simulated instruments' pipelines (bench/targets/meters/sim/throughput.py)
runs and prints its table; the figures themselves are machine-dependent (docs/energy.md)."""

from __future__ import annotations

import pytest

from bench.targets.meters.sim import throughput


def test_throughput_script_prints_frames_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("joulescope")
    rc = throughput.main(["--frames", "20", "--repeat", "1", "--meters", "joulescope"])
    out = capsys.readouterr().out
    assert rc in (0, 1)  # 1: slower than real time on this (possibly loaded) machine
    lines = {ln.split()[0] + (" " + ln.split()[1] if ln.startswith("alignment") else ""): ln
             for ln in out.splitlines() if ln.strip()}
    assert "frames/s" in out and "x real time" in out
    assert "alignment only" in lines and "joulescope" in lines
    assert " 20/20 " in lines["joulescope"] and "100000" in lines["joulescope"]


def test_unknown_meter_is_refused() -> None:
    with pytest.raises(SystemExit):
        throughput.main(["--meters", "nosuch", "--frames", "5"])
