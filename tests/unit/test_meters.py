"""The energy meter seam: discovery by [meter] kind, the `model` meter's figures (exactly the
historical datasheet model), and the kind label every figure carries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from bench.errors import ConfigError
from bench.results.summary import summarize_frames
from bench.targets import list_targets, load_target, parse_target
from bench.targets.meters import (
    ENERGY_KINDS,
    FrameEnergy,
    Meter,
    MeterSpec,
    installed_meters,
    make_meter,
    meter_class,
)
from bench.targets.meters.model import ModelMeter


def frames_table(seed: int = 0, n: int = 97) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"utt": [f"u{i % 3}" for i in range(n)], "frame": np.arange(n),
                     "total": rng.integers(1_000, 5_000_000, n), "stage_a": rng.integers(0, 900, n)})


def old_energy(frames: pa.Table, target: Any) -> dict[str, Any]:
    """results.summary's energy block before the meter seam, verbatim."""
    total = np.asarray(frames.column("total").to_numpy(), dtype=np.float64)
    mean = float(total.mean()) if total.size else float("nan")
    to_cycles = target.cpi_estimate if target.counter.unit == "instructions" else 1.0
    return {"joules_per_frame_mean": mean * to_cycles * target.energy_j_per_cycle, "kind": "model",
            "model": target.energy_source}


def _target(**extra: Any) -> Any:
    data: dict[str, Any] = {"name": "m", "driver": "qemu", "board": "mps2-an386", "cpu": "cortex-m4f",
                            "clock_hz": 25_000_000, "counter": {"kind": "instructions", "timer_hz": 25_000_000,
                                                               "icount_shift": 7},
                            "cpi": {"estimate": 1.3, "source": "s"},
                            "energy": {"joules_per_cycle": 3.3e-10, "source": "datasheet"}}
    data.update(extra)
    return parse_target(data, where="test.toml", path=Path("test.toml"))


@pytest.mark.parametrize("target", list_targets(), ids=lambda t: t.name)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_model_meter_reproduces_the_old_figures_exactly(target: Any, seed: int) -> None:
    frames = frames_table(seed)
    got = summarize_frames(frames, ["a"], target, 256, 16000)["energy"]
    want = old_energy(frames, target)
    assert json.dumps(got) == json.dumps(want)  # same keys, same order, same float bits
    assert got["joules_per_frame_mean"] == want["joules_per_frame_mean"]


def test_model_meter_per_frame_figures() -> None:
    t = _target()
    frames = frames_table(5, n=10)
    e = make_meter(t).frame_energy(frames)
    counts = frames.column("total").to_numpy().astype(np.float64)
    assert isinstance(e, FrameEnergy) and e.kind == "model" and e.source == "datasheet"
    np.testing.assert_allclose(e.joules, counts * 1.3 * 3.3e-10, rtol=1e-15)
    assert e.joules.shape == (10,)
    assert e.mean_current_a is None and e.peak_current_a is None and e.window_s is None
    # counts instead of a table; a cycle-counting board applies no CPI
    assert make_meter(t).frame_energy(counts).joules_mean == e.joules_mean
    board = load_target("nucleo-f429zi")
    assert make_meter(board).frame_energy([1000, 3000]).joules_mean == 2000.0 * 1.0 * board.energy_j_per_cycle


def test_empty_frames_give_nan_like_before() -> None:
    t = _target()
    frames = frames_table(0).slice(0, 0)
    got = summarize_frames(frames, [], t, 256, 16000)["energy"]
    assert np.isnan(got["joules_per_frame_mean"]) and got["kind"] == "model"


def test_default_meter_is_the_model() -> None:
    t = _target()
    assert t.meter is None
    m = make_meter(t)
    assert isinstance(m, ModelMeter) and isinstance(m, Meter)
    assert m.name == "model" and m.energy_kind == "model"
    m.start()
    m.stop()
    t2 = _target(meter={"kind": "model", "supply_v": 3.3, "sample_rate": 100_000, "marker": "D0",
                        "device": "/dev/ttyACM3", "options": {"range": "auto"}})
    assert t2.meter == MeterSpec(kind="model", device="/dev/ttyACM3", sample_rate=100_000.0, supply_v=3.3,
                                 marker="D0", options={"range": "auto"})
    assert isinstance(make_meter(t2), ModelMeter)


def test_every_figure_carries_its_kind_label() -> None:
    for t in list_targets():
        s = summarize_frames(frames_table(1), ["a"], t, 256, 16000)["energy"]
        assert s["kind"] == "model"
    with pytest.raises(ConfigError, match="energy kind must be one of"):
        FrameEnergy(kind="estimate", source="", joules=np.zeros(1), joules_mean=0.0)
    measured = FrameEnergy(kind="measured", source="PPK2 (simulated trace)", joules=np.ones(2), joules_mean=1.0,
                           mean_current_a=0.01, window_s=0.02)
    assert measured.summary() == {"joules_per_frame_mean": 1.0, "kind": "measured",
                                  "model": "PPK2 (simulated trace)", "mean_current_a": 0.01, "window_s": 0.02}
    assert ENERGY_KINDS == ("measured", "simulated", "model")


def test_unknown_meter_kind_names_the_installed_ones() -> None:
    assert "model" in installed_meters()
    with pytest.raises(ConfigError, match=r"no energy meter of kind 'ppk9'; installed meters: .*model"):
        meter_class("ppk9")
    t = _target(meter={"kind": "ppk9"})
    with pytest.raises(ConfigError, match=r"target m \(test.toml\) \[meter\] kind: no energy meter of kind "
                                          r"'ppk9'; installed meters: .*model.*bench.meters"):
        make_meter(t)


def test_meter_found_through_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import bench.targets.meters as meters

    class SimMeter(ModelMeter):
        name = "sim"
        energy_kind = "simulated"

    class NotAMeter:
        def __init__(self, target: Any, spec: Any):
            pass

    monkeypatch.setitem(globals(), "SimMeter", SimMeter)
    monkeypatch.setitem(globals(), "NotAMeter", NotAMeter)
    eps = [EntryPoint("sim", f"{__name__}:SimMeter", "bench.meters"),
           EntryPoint("broken", f"{__name__}:NotAMeter", "bench.meters")]
    monkeypatch.setattr(meters, "entry_points", lambda group: [e for e in eps if e.group == group])
    assert meters.installed_meters() == ["broken", "model", "sim"]
    m = make_meter(_target(meter={"kind": "sim"}))
    assert type(m) is SimMeter
    assert m.frame_energy([10, 20]).summary()["kind"] == "simulated"
    with pytest.raises(ConfigError, match="does not implement the Meter protocol"):
        make_meter(_target(meter={"kind": "broken"}))


@pytest.mark.parametrize("table,match", [
    ({"kind": "model", "rate": 1}, r"\[meter\]: unknown key\(s\) \['rate'\]"),
    ({"kind": 3}, r"\[meter\]: kind must be a string"),
    ({"kind": ""}, r"\[meter\]: kind must name an energy meter"),
    ({"supply_v": "3.3"}, r"\[meter\]: supply_v must be a positive number"),
    ({"sample_rate": -1}, r"\[meter\]: sample_rate must be a positive number"),
    ({"marker": 0}, r"\[meter\]: marker must be a string"),
    ({"options": 1}, r"\[meter\]: options must be a table"),
])
def test_meter_table_errors_name_the_key(table: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _target(meter=table)
    with pytest.raises(ConfigError, match=r"\[meter\]: must be a table"):
        _target(meter="model")


def test_meter_is_recorded_with_the_target() -> None:
    t = _target(meter={"kind": "model", "supply_v": 1.8})
    d = dataclasses.asdict(t)
    assert d["meter"]["kind"] == "model" and d["meter"]["supply_v"] == 1.8
    assert dataclasses.asdict(load_target("qemu-mps2-an386"))["meter"] is None
