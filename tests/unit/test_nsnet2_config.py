"""Early-exit nsNet2 configurations: validation, topology, parameter shapes and cost."""

from __future__ import annotations

import json

import pytest

from bench.errors import ConfigError
from bench.models.nsnet2.config import BLOCKS, CONFIGS, EXIT_KINDS, Nsnet2Config, get_config


def test_full_config_is_the_published_nsnet2():
    c = CONFIGS["nsnet2-full"]
    widths = [(x.name, x.kind, x.n_in, x.n_out, x.act) for x in c.trunk()]
    assert widths == [
        ("fc1", "fc", 161, 400, "relu"),
        ("gru1", "gru", 400, 400, "gru"),
        ("gru2", "gru", 400, 400, "gru"),
        ("fc2", "fc", 400, 600, "relu"),
        ("fc3", "fc", 600, 600, "relu"),
        ("fc4", "fc", 600, 161, "sigmoid"),
    ]
    final = c.n_exits - 1
    assert c.macs_for_exit(final) == 2_681_000  # ~2.7 M MAC/frame, as published
    assert 2_600_000 < c.params_for_exit(final) < 2_800_000  # ~2.7 M parameters
    assert c.n_bins == 161


def test_small_default_is_about_a_tenth_of_full():
    s, f = CONFIGS["nsnet2-small"], CONFIGS["nsnet2-full"]
    assert 0.05 < s.macs_for_exit(s.n_exits - 1) / f.macs_for_exit(f.n_exits - 1) < 0.15
    assert s.exit_kind == "split"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_costs_rise_along_the_exits(name):
    c = CONFIGS[name]
    macs = [c.macs_for_exit(k) for k in range(c.n_exits)]
    assert macs == sorted(macs)
    assert macs[0] < macs[-1]
    rows = c.cost_table()
    assert [r["exit"] for r in rows] == list(range(c.n_exits))
    assert rows[-1]["name"] == "final (fc4)"


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_parameter_shapes_and_layer_chains(kind):
    c = Nsnet2Config("t", fc1=8, gru1=6, gru2=5, fc2=7, fc3=9, exits=BLOCKS, exit_kind=kind)
    shapes = c.parameter_shapes()
    assert shapes["fc1.weight"] == (8, 161)
    assert shapes["gru1.weight_ih_l0"] == (18, 8)
    assert shapes["gru2.weight_hh_l0"] == (15, 5)
    assert shapes["fc4.weight"] == (161, 9)
    for e in c.exit_specs():
        assert shapes[f"exit{e.index}.head.weight"][0] == 161
    assert c.n_params() == sum(int(__import__("math").prod(s)) for s in shapes.values())
    for k in range(c.n_exits):
        chain = c.layers_for_exit(k)
        assert chain[0].n_in == 161 and chain[-1].n_out == 161 and chain[-1].act == "sigmoid"
        for a, b in zip(chain, chain[1:], strict=False):
            assert a.n_out == b.n_in
    # split: the branch duplicates the block the exit sits after (same input and width)
    if kind == "split":
        e = c.exit_specs()[1]  # after gru1
        assert e.branch is not None and (e.branch.kind, e.branch.n_in, e.branch.n_out) == ("gru", 8, 6)
        assert [x.name for x in c.layers_for_exit(1)] == ["fc1", "exit1.branch", "exit1.head"]
    elif kind == "split_next":
        e = c.exit_specs()[1]  # after gru1: a copy of gru2
        assert e.branch is not None and (e.branch.kind, e.branch.n_in, e.branch.n_out) == ("gru", 6, 5)
        assert c.exit_specs()[4].branch is None  # the copy of fc4 is the head itself
    else:
        assert all(e.branch is None for e in c.exit_specs())
        assert [x.name for x in c.layers_for_exit(1)] == ["fc1", "gru1", "exit1.head"]


def test_json_round_trip(tmp_path):
    c = CONFIGS["nsnet2-small"]
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"model": c.to_dict(), "train": {"steps": 1}}))
    assert Nsnet2Config.load(p) == c
    assert get_config(str(p)) == c
    assert Nsnet2Config.from_dict(json.loads(c.to_json())) == c


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"fc1": 0}, "width fc1"),
        ({"gru1": 5000}, "width gru1"),
        ({"exits": ("gru1", "fc1")}, "network order"),
        ({"exits": ("fc4",)}, "distinct block names"),
        ({"exits": ("fc1", "fc1")}, "distinct block names"),
        ({"exit_kind": "tree"}, "exit_kind"),
        ({"log_eps": 0.0}, "log_eps"),
        ({"n_fft": 512}, "fixed at 16000 Hz"),
        ({"hop_len": 256}, "fixed at 16000 Hz"),
    ],
)
def test_validation(kw, match):
    with pytest.raises(ConfigError, match=match):
        Nsnet2Config("bad", **kw)


def test_bad_names_and_lookups(tmp_path):
    with pytest.raises(ConfigError, match="config name"):
        Nsnet2Config("has space")
    with pytest.raises(ConfigError, match="unknown nsNet2 config"):
        get_config("nsnet2-huge")
    with pytest.raises(ConfigError, match="unknown keys"):
        Nsnet2Config.from_dict({"name": "x", "gru3": 4})
    with pytest.raises(ConfigError, match="out of range"):
        CONFIGS["nsnet2-small"].macs_for_exit(9)
    bad = tmp_path / "c.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        Nsnet2Config.load(bad)


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        CONFIGS["nsnet2-small"].fc1 = 3  # type: ignore[misc]
