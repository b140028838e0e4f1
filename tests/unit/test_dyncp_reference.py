"""Numpy float reference of DynCP Conv-FSENet (numpy only: runs in the default CI).

Streaming (per-frame, history rings, skipped channels not computed) vs the vectorised
whole-utterance path, MAC accounting, gate extremes, skipped weights never read, and
the committed trained models.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.models.dyncp.config import DyncpConfig
from bench.models.dyncp.reference import DyncpModel, enhance_offline, enhance_streaming

REPO = Path(__file__).resolve().parents[2]
CFG = DyncpConfig("t", residual=10, conv=14, stacks=2, blocks_per_stack=3, gate_hidden=4)


def random_model(cfg: DyncpConfig = CFG, seed: int = 0, gate_bias: float = 0.0) -> DyncpModel:
    rng = np.random.default_rng(seed)
    p = {}
    for k, s in cfg.parameter_shapes().items():
        fan_in = s[1] * s[2] if len(s) == 3 else 1
        a = rng.standard_normal(s) / np.sqrt(fan_in)
        if k.endswith(("norm1.weight", "norm2.weight")):
            a = 1.0 + 0.2 * a
        elif k.endswith("act1.weight") or k.endswith("act2.weight"):
            a = 0.25 + 0.1 * a
        elif k.endswith("gate.out.bias"):
            a = a * 0.3 + gate_bias
        p[k] = a.astype(np.float32)
    return DyncpModel(cfg, p)


def _signal(n: int = 256 * 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 0.5 < 0.3) + 0.05 * rng.standard_normal(n)).astype(np.float32)


def test_streaming_equals_offline_and_counts_macs():
    m = random_model()
    x = _signal()
    s, o = enhance_streaming(m, x), enhance_offline(m, x)
    assert s.audio.shape == x.shape and s.masks.shape == (40, CFG.n_blocks, CFG.conv)
    assert np.array_equal(s.masks, o.masks)
    assert 0.2 < s.masks.mean() < 0.8, "the test needs mixed mask bits"
    assert np.max(np.abs(s.gains - o.gains)) < 1e-5
    assert np.max(np.abs(s.audio - o.audio)) < 1e-5
    assert np.array_equal(s.kept, s.masks.sum(axis=2))
    assert np.array_equal(s.macs, o.macs)
    assert all(mac == CFG.macs(k.tolist()) for mac, k in zip(s.macs, s.kept, strict=True))
    assert np.allclose(s.kept_fraction(), s.masks.mean(axis=(0, 2)))


def test_masks_depend_on_the_frame():
    s = enhance_streaming(random_model(), _signal())
    assert (s.masks[1:] != s.masks[:-1]).any(), "gates should switch channels between frames"


def test_all_kept_equals_the_static_network():
    gated = random_model(gate_bias=1e4)
    static_cfg = CFG.static()
    static = DyncpModel(static_cfg, {k: v for k, v in gated.params.items() if ".gate." not in k})
    x = _signal()
    a, b = enhance_streaming(gated, x), enhance_streaming(static, x)
    assert a.masks.all()
    assert np.max(np.abs(a.audio - b.audio)) < 1e-6
    assert np.all(a.macs == CFG.macs()) and np.all(b.macs == static_cfg.macs())
    assert b.masks.shape == (40, 0, CFG.conv) and np.all(b.kept == CFG.conv)


def test_all_skipped_blocks_only_add_their_bias():
    m = random_model(gate_bias=-1e4)
    e = enhance_streaming(m, _signal())
    assert not e.masks.any()
    assert np.all(e.macs == CFG.io_macs() + sum(b.gate_macs() for b in CFG.blocks()))
    # the same as a network whose blocks are x + b2
    p = dict(m.params)
    for b in CFG.blocks():
        p[f"{b.prefix}.pw2.weight"] = np.zeros_like(p[f"{b.prefix}.pw2.weight"])
    z = enhance_streaming(DyncpModel(CFG, p), _signal())
    assert np.max(np.abs(e.audio - z.audio)) < 1e-6


def test_skipped_channels_are_never_read():
    """Weights of a channel whose gate is always off may be NaN: the stream never touches them."""
    m = random_model(seed=3)
    p = {k: v.copy() for k, v in m.params.items()}
    b = CFG.blocks()[2].prefix
    p[f"{b}.gate.out.weight"][5] = 0.0
    p[f"{b}.gate.out.bias"][5] = -1.0
    ref = enhance_streaming(DyncpModel(CFG, p), _signal())
    for name in (
        "pw1.weight",
        "pw1.bias",
        "act1.weight",
        "norm1.weight",
        "norm1.bias",
        "dw.weight",
        "dw.bias",
        "act2.weight",
        "norm2.weight",
        "norm2.bias",
    ):
        p[f"{b}.{name}"][5] = np.nan
    p[f"{b}.pw2.weight"][:, 5] = np.nan
    poisoned = DyncpModel.__new__(DyncpModel)  # bypass the finite-weights check on purpose
    object.__setattr__(poisoned, "config", CFG)
    object.__setattr__(poisoned, "params", p)
    got = enhance_streaming(poisoned, _signal())
    assert not got.masks[:, 2, 5].any()
    assert np.all(np.isfinite(got.audio))
    assert np.array_equal(got.audio, ref.audio)


def test_unit_gain_reconstructs_the_input():
    m = random_model(CFG.static())
    p = dict(m.params)
    p["backend.weight"] = np.zeros_like(p["backend.weight"])
    p["backend.bias"] = np.full_like(p["backend.bias"], 40.0)  # sigmoid = 1
    x = _signal(256 * 20 + 77)
    e = enhance_streaming(DyncpModel(CFG.static(), p), x)
    assert e.audio.shape == x.shape and np.max(np.abs(e.audio - x)) < 1e-5


def test_stream_is_causal_and_resettable():
    m = random_model()
    x = _signal()
    y = _signal(seed=9)
    a = enhance_streaming(m, x)
    mix = np.concatenate([x[: 256 * 20], y[256 * 20 :]])
    b = enhance_streaming(m, mix)
    assert np.array_equal(a.masks[:20], b.masks[:20])  # frames before the change do not see it
    assert np.array_equal(a.gains[:20], b.gains[:20])
    s = m.stream()
    outs1 = [s.process(x[i * 256 : (i + 1) * 256])[0] for i in range(5)]
    s.reset()
    outs2 = [s.process(x[i * 256 : (i + 1) * 256])[0] for i in range(5)]
    assert all(np.array_equal(u, v) for u, v in zip(outs1, outs2, strict=True))
    with pytest.raises(ConfigError, match="exactly 256"):
        s.process(np.zeros(100))


def test_weight_files_are_checked(tmp_path):
    m = random_model()
    m.save(tmp_path / "m", {"result": {"x": 1}})
    back = DyncpModel.load(tmp_path / "m")
    assert back.config == CFG and all(np.array_equal(back.params[k], v) for k, v in m.params.items())
    assert json.loads((tmp_path / "m" / "config.json").read_text())["result"] == {"x": 1}
    p = dict(m.params)
    del p["backend.bias"]
    with pytest.raises(ConfigError, match="missing"):
        DyncpModel(CFG, p)
    p = dict(m.params)
    p["backend.bias"] = np.zeros(3, np.float32)
    with pytest.raises(ConfigError, match="shape"):
        DyncpModel(CFG, p)
    with pytest.raises(ConfigError, match="train and export"):
        DyncpModel.load(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="config needs"):
        DyncpModel(dataclasses.replace(CFG, conv=15), dict(m.params))
    with pytest.raises(ConfigError, match="weights do not match"):
        DyncpModel(CFG.static(), dict(m.params))


TRAINED = sorted((REPO / "models" / "dyncp").glob("dyncp-small-r*/weights.npz"))


@pytest.mark.skipif(not TRAINED, reason="no trained DynCP model exported yet")
@pytest.mark.parametrize("weights", TRAINED, ids=lambda p: p.parent.name)
def test_committed_model_keeps_its_recorded_fraction(weights):
    from bench.data.loader import load_set

    d = weights.parent
    doc = json.loads((d / "config.json").read_text())
    m = DyncpModel.load(d)
    for f in ("train.log", "COMMAND.txt"):
        assert (d / f).is_file(), f
    assert (d / "COMMAND.txt").read_text().startswith("bench train dyncp ")
    u = load_set(REPO / "bench" / "data" / "testset")[3]
    e = enhance_streaming(m, u.noisy[: 256 * 120])
    ratio = doc["train"]["keep_ratio"]
    if m.config.gated:
        assert abs(float(e.masks.mean()) - ratio) < 0.15
        assert e.mean_macs < m.config.static_macs()
    else:
        assert ratio == 1.0 and np.all(e.macs == m.config.static_macs())
    assert np.all(np.isfinite(e.audio)) and 0.0 <= e.gains.min() and e.gains.max() <= 1.0


def test_evaluate_reports_kept_fraction_and_saving(tmp_path):
    from bench.models.dyncp import evaluate as ev

    gated = random_model(seed=2)
    scfg = dataclasses.replace(CFG.static(), name="t-static")
    static = DyncpModel(scfg, {k: v for k, v in gated.params.items() if ".gate." not in k})
    gated.save(tmp_path / "g")
    static.save(tmp_path / "s")
    from bench.cli import main as bench_main

    assert bench_main(["evaluate", str(tmp_path / "s"), str(tmp_path / "g"), "--limit", "1"]) == 0
    doc = json.loads((tmp_path / "g" / "eval.json").read_text())
    rows = {r["name"]: r for r in doc["rows"]}
    assert set(rows) == {"noisy", "t", "t-static"} and doc["static"] == "t-static"
    assert "pesq_change" in rows["t"] and (tmp_path / "s" / "eval.json").is_file()
    res = ev.evaluate([tmp_path / "s", tmp_path / "g"], limit=1)
    s_row, g_row = res["rows"][1], res["rows"][2]
    assert s_row["kind"] == "static" and s_row["mac_saving"] == 0.0 and s_row["kept_fraction_mean"] == 1.0
    assert g_row["kind"] == "dynamic" and 0.0 < g_row["kept_fraction_mean"] < 1.0
    assert g_row["mac_saving"] == pytest.approx(1.0 - g_row["mean_macs"] / CFG.static_macs())
    assert len(g_row["kept_fraction_per_block"]) == CFG.n_blocks
    assert "| noisy |" in ev.markdown(res)
