"""The numpy float reference of early-exit nsNet2 (no torch needed).

* against the committed PyTorch fixtures (models/nsnet2/fixtures, written by
  bench.train.nsnet2_fixture) for every exit and exit kind;
* streaming (one hop in, one hop out) == whole-utterance processing;
* exit selection: static exits, the dynamic mask-change policy and its state hold;
* the committed trained model loads and enhances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.models.nsnet2.config import BLOCKS, EXIT_KINDS, HOP_LEN, Nsnet2Config
from bench.models.nsnet2.reference import (
    ExitPolicy,
    Nsnet2Model,
    enhance_offline,
    enhance_streaming,
    masks_offline,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "models" / "nsnet2" / "fixtures"
TRAINED = REPO / "models" / "nsnet2" / "nsnet2-small"


def random_model(kind: str = "split", exits: tuple[str, ...] = BLOCKS, seed: int = 0) -> Nsnet2Model:
    cfg = Nsnet2Config(f"rand-{kind}", fc1=12, gru1=10, gru2=9, fc2=11, fc3=8, exits=exits, exit_kind=kind)
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in cfg.parameter_shapes().items():
        fan_in = shape[-1] if len(shape) == 2 else 10
        params[name] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    mean = np.full(cfg.n_bins, -5.0, np.float32)
    std = np.full(cfg.n_bins, 2.0, np.float32)
    return Nsnet2Model(cfg, params, mean, std)


def signal(n_hops: int = 40, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_hops * HOP_LEN) / 16000
    x = 0.2 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    return (x * 32767 / 2).astype(np.int16)


# ---- numpy vs PyTorch (committed fixtures) ---------------------------------------------


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_reference_matches_torch_fixture_for_every_exit(kind):
    d = FIXTURES / kind
    model = Nsnet2Model.load(d)
    assert model.config.exit_kind == kind
    with np.load(d / "torch_out.npz") as z:
        x = z["x"]
        want = [z[f"mask{k}"] for k in range(model.config.n_exits)]
    offline = masks_offline(model, x)
    for k in range(model.config.n_exits):
        assert np.max(np.abs(offline[k] - want[k])) < 2e-5, (kind, k)
        streamed = enhance_streaming(model, x, k).masks
        assert np.max(np.abs(streamed - want[k])) < 2e-5, (kind, k)


# ---- streaming == offline ---------------------------------------------------------------


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_streaming_equals_offline(kind):
    model = random_model(kind)
    x = signal()
    offline = masks_offline(model, x)
    for k in range(model.config.n_exits):
        s = enhance_streaming(model, x, k)
        assert s.masks.shape == (40, 161)
        assert np.max(np.abs(s.masks - offline[k])) < 1e-5
        assert np.max(np.abs(s.audio - enhance_offline(model, x, k))) < 1e-5
        assert s.audio.shape == x.shape and s.audio.dtype == np.float32
        assert np.all(s.exits == k)
        assert np.all(s.macs == model.config.macs_for_exit(k))


def test_non_hop_multiple_length_and_unit_gain_reconstruction():
    model = random_model("linear")
    # gain 1 everywhere: huge positive bias on fc4, zero weights -> output == input
    params = dict(model.params)
    params["fc4.weight"] = np.zeros_like(params["fc4.weight"])
    params["fc4.bias"] = np.full(161, 100.0, np.float32)
    unit = Nsnet2Model(model.config, params, model.norm_mean, model.norm_std)
    x = signal()[: 40 * HOP_LEN - 37]
    y = enhance_streaming(unit, x, unit.config.n_exits - 1).audio
    assert y.shape == x.shape
    assert np.max(np.abs(y - x / 32768.0)) < 1e-5
    assert np.max(np.abs(enhance_offline(unit, x, unit.config.n_exits - 1) - x / 32768.0)) < 1e-5


def test_stream_hop_interface():
    model = random_model()
    s = model.stream(2)
    out, info = s.process(np.zeros(HOP_LEN, np.float32))
    assert out.shape == (HOP_LEN,) and info.exit == 2 and len(info.masks) == 1
    with pytest.raises(ConfigError, match="exactly 160"):
        s.process(np.zeros(100))
    with pytest.raises(ConfigError, match="out of range"):
        model.stream(model.config.n_exits)


# ---- dynamic policy ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_dynamic_extremes_equal_static_exits(kind):
    model = random_model(kind)
    x = signal()
    last = model.config.n_exits - 1
    never = enhance_streaming(model, x, ExitPolicy.dynamic(0.0))  # change < 0 never holds
    assert np.all(never.exits == last)
    assert np.max(np.abs(never.masks - masks_offline(model, x)[last])) < 1e-5
    always = enhance_streaming(model, x, ExitPolicy.dynamic(np.inf))  # stops at the first chance
    assert np.all(always.exits == 1)
    assert np.max(np.abs(always.masks - masks_offline(model, x)[1])) < 1e-5
    bounded = enhance_streaming(model, x, ExitPolicy.dynamic(np.inf, min_exit=3))
    assert np.all(bounded.exits == 3)
    assert np.max(np.abs(bounded.masks - masks_offline(model, x)[3])) < 1e-5
    # exits 0 and 1 are not evaluated: only exit 2 (compared with 3) and exit 3 cost extra
    cfg = model.config
    extra = sum((e.branch.macs if e.branch else 0) + e.head.macs for e in cfg.exit_specs()[2:3])
    assert np.all(bounded.macs == cfg.macs_for_exit(3) + extra)
    capped = enhance_streaming(model, x, ExitPolicy.dynamic(0.0, max_exit=2))
    assert np.all(capped.exits == 2)
    assert np.max(np.abs(capped.masks - masks_offline(model, x)[2])) < 1e-5


def test_dynamic_rule_and_macs():
    model = random_model("split")
    cfg = model.config
    x = signal(60)
    s = model.stream(ExitPolicy.dynamic(0.19))
    sig = x.astype(np.float32) / 32768.0
    seen = set()
    for i in range(60):
        _, info = s.process(sig[i * HOP_LEN : (i + 1) * HOP_LEN])
        j = info.exit
        seen.add(j)
        assert info.first == 0 and len(info.masks) == j + 1  # exits evaluated in order up to the one taken
        changes = [np.mean(np.abs(info.masks[i] - info.masks[i - 1])) for i in range(1, j + 1)]
        if j < cfg.n_exits - 1:
            assert changes[-1] < 0.19 + 1e-6
        assert all(c >= 0.19 - 1e-6 for c in changes[:-1])
        # split: trunk blocks before exit j's block, the branches and heads of exits 0..j
        layers = list(cfg.trunk()[:j]) if j < cfg.n_exits - 1 else list(cfg.trunk())
        for e in cfg.exit_specs()[: j + 1]:
            layers += [e.branch, e.head]
        assert info.macs == sum(layer.macs for layer in layers)
    assert len(seen) > 1  # the threshold actually varies the exit on this input


def test_dynamic_holds_state_of_skipped_grus():
    model = random_model("linear")
    s = model.stream(ExitPolicy.dynamic(np.inf))  # stops at exit 1 (after gru1): gru2 never runs
    sig = signal(10).astype(np.float32) / 32768.0
    for i in range(10):
        s.process(sig[i * HOP_LEN : (i + 1) * HOP_LEN])
    st = s._net.state
    assert np.any(st["gru1"] != 0)
    assert np.all(st["gru2"] == 0)


def test_policy_validation():
    with pytest.raises(ConfigError, match="min_exit"):
        ExitPolicy.dynamic(0.1, min_exit=0)
    with pytest.raises(ConfigError, match="non-negative"):
        ExitPolicy.static(-1)
    model = random_model()
    with pytest.raises(ConfigError, match="min_exit <= max_exit"):
        model.stream(ExitPolicy.dynamic(0.1, min_exit=4, max_exit=2))
    assert "dynamic" in ExitPolicy.dynamic(0.1).describe()


# ---- weights files -----------------------------------------------------------------------


def test_save_load_round_trip_and_checks(tmp_path):
    model = random_model("split_next")
    model.save(tmp_path / "m", {"note": "x"})
    back = Nsnet2Model.load(tmp_path / "m")
    assert back.config == model.config
    for k, v in model.params.items():
        assert np.array_equal(back.params[k], v)
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as z:
        assert all(z[k].dtype == np.float32 for k in z.files)
    params = dict(model.params)
    params["fc1.weight"] = params["fc1.weight"][:, :10]
    with pytest.raises(ConfigError, match="shape"):
        Nsnet2Model(model.config, params, model.norm_mean, model.norm_std)
    params = dict(model.params)
    del params["gru1.bias_hh_l0"]
    with pytest.raises(ConfigError, match="missing"):
        Nsnet2Model(model.config, params, model.norm_mean, model.norm_std)
    with pytest.raises(ConfigError, match="std must be positive"):
        Nsnet2Model(model.config, dict(model.params), model.norm_mean, np.zeros(161, np.float32))
    with pytest.raises(ConfigError, match="no config.json"):
        Nsnet2Model.load(tmp_path)


# ---- the committed trained model ---------------------------------------------------------


@pytest.mark.skipif(not (TRAINED / "weights.npz").is_file(), reason="nsnet2-small not trained/exported yet")
def test_trained_model_loads_and_enhances():
    from bench.data.loader import load_set

    model = Nsnet2Model.load(TRAINED)
    u = load_set(None)[0]
    x = u.noisy[: 50 * HOP_LEN]
    offline = masks_offline(model, x)
    for k in range(model.config.n_exits):
        s = enhance_streaming(model, x, k)
        assert np.max(np.abs(s.masks - offline[k])) < 1e-4
        assert np.all((s.masks >= 0) & (s.masks <= 1))
