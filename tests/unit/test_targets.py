import numpy as np
import pytest

from bench.errors import ConfigError
from bench.targets import CounterSpec, list_targets, load_target, parse_target


def test_shipped_targets_load():
    names = {t.name for t in list_targets()}
    assert "qemu-mps2-an386" in names


def test_icount_conversion_is_exact():
    c = CounterSpec("instructions", timer_hz=25_000_000, icount_shift=7)
    # 3.2 timer ticks per instruction; +-1 tick of quantisation still rounds to the count
    n = np.arange(1, 200000, 997, dtype=np.int64)
    for off in (-1, 0, 1):
        ticks = (n * 32 + 5) // 10 + off
        assert np.array_equal(c.ticks_to_unit(ticks), n)


def test_cycles_pass_through():
    assert CounterSpec("cycles").ticks_to_unit(12345) == 12345


def test_unknown_target_lists_known():
    with pytest.raises(ConfigError, match="unknown target 'nope'.*qemu-mps2-an386"):
        load_target("nope")


def test_missing_key_is_named():
    with pytest.raises(ConfigError, match="missing required key 'clock_hz'"):
        parse_target({"name": "x", "driver": "qemu", "board": "b", "cpu": "c",
                      "counter": {"kind": "cycles"}})


def test_bad_counter_kind():
    with pytest.raises(ConfigError, match="counter.kind"):
        CounterSpec("seconds")
