"""DynCP Conv-FSENet configurations: published size, validation, shapes, cost model, JSON."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.models.dyncp import frontend
from bench.models.dyncp.config import CONFIGS, DyncpConfig, get_config


def test_full_config_has_the_published_topology_and_cost():
    cfg = get_config("dyncp-full")
    assert (cfg.residual, cfg.conv, cfg.stacks, cfg.blocks_per_stack) == (128, 256, 3, 3)
    assert [b.dilation for b in cfg.blocks()] == [1, 2, 4] * 3
    # front + back end 2 x 257 x 128; per block 256 channels x (128 + 3 + 128)
    assert cfg.static_macs() == 2 * 257 * 128 + 9 * 256 * (2 * 128 + 3) == 662_528
    assert cfg.macs() == cfg.static_macs() + 9 * 32 * (128 + 256)
    assert cfg.receptive_field() == 1 + 3 * 2 * (1 + 2 + 4)


def test_macs_count_only_kept_channels():
    cfg = get_config("dyncp-small")
    kept = [0] * cfg.n_blocks
    assert cfg.macs(kept) == cfg.io_macs() + sum(b.gate_macs() for b in cfg.blocks())
    kept[3] = 10
    assert cfg.macs(kept) - cfg.macs([0] * cfg.n_blocks) == 10 * (2 * cfg.residual + 3)
    with pytest.raises(ConfigError, match="one per block"):
        cfg.macs([1, 2])


def test_parameter_shapes_follow_the_gate_and_act_options():
    base = DyncpConfig("t", residual=8, conv=12, stacks=1, blocks_per_stack=2, gate_hidden=0, act="relu")
    s = base.parameter_shapes()
    assert s["blocks.1.gate.out.weight"] == (12, 8, 1) and "blocks.0.gate.hidden.weight" not in s
    assert "blocks.0.act1.weight" not in s
    s2 = dataclasses.replace(base, gate_hidden=3, act="prelu").parameter_shapes()
    assert s2["blocks.0.gate.hidden.weight"] == (3, 8, 1) and s2["blocks.0.gate.out.weight"] == (12, 3, 1)
    assert s2["blocks.0.dw.weight"] == (12, 1, 3) and s2["blocks.0.act2.weight"] == (12,)
    assert not any(".gate." in k for k in base.static().parameter_shapes())
    assert base.static().n_params() < base.n_params()


@pytest.mark.parametrize(
    "kw",
    [
        {"residual": 0},
        {"conv": 5000},
        {"stacks": 0},
        {"gate_hidden": -1},
        {"act": "gelu"},
        {"compress": 0.0},
        {"hop_len": 160},
        {"gated": 1},
    ],
)
def test_invalid_configs_are_refused(kw):
    with pytest.raises(ConfigError):
        DyncpConfig("bad", **kw)


def test_json_round_trip_and_lookup(tmp_path):
    for cfg in CONFIGS.values():
        p = tmp_path / f"{cfg.name}.json"
        p.write_text(cfg.to_json())
        assert DyncpConfig.load(p) == cfg
        assert get_config(str(p)) == cfg
    with pytest.raises(ConfigError, match="unknown DynCP config"):
        get_config("dyncp-huge")
    with pytest.raises(ConfigError, match="unknown keys"):
        DyncpConfig.from_dict({"name": "x", "width": 3})


def test_window_overlap_adds_to_one_and_stft_reconstructs():
    w = frontend.window().astype(np.float64)
    assert np.allclose(w[:256] ** 2 + w[256:] ** 2, 1.0, atol=1e-6)
    x = np.random.default_rng(0).standard_normal(256 * 7).astype(np.float32)
    y = frontend.overlap_add(frontend.synthesis(frontend.stft(frontend.pad_hops(x, 1))))
    assert np.allclose(y[256 : 256 + x.size], x, atol=1e-5)
    assert frontend.frames(np.ones(300)).shape == (2, 512)
