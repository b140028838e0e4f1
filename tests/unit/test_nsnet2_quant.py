"""nsNet2 int8 quantizer and integer golden model (numpy only): front-end primitives, the
quantised parameters, golden vs float model, exits and the dynamic rule, the family glue."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import BenchError, ConfigError
from bench.models.nsnet2 import golden as G
from bench.models.nsnet2.config import get_config
from bench.models.nsnet2.refs import float_ref, golden_ref, policy_from_config
from bench.models.nsnet2.quantize import QuantModel, layer_inputs, quantize_model
from bench.models.nsnet2.reference import ExitPolicy, Nsnet2Model, enhance_streaming
from bench.paths import repo_root

MODEL_DIR = repo_root() / "models/nsnet2/nsnet2-small"


def _speechlike(seed: int, n: int = 8000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    env = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None)
    s = 7000 * env * np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * t)) * t) + rng.standard_normal(n) * 1200
    return np.clip(s, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def qm() -> QuantModel:
    return QuantModel.load(MODEL_DIR)


@pytest.fixture(scope="module")
def fm() -> Nsnet2Model:
    return Nsnet2Model.load(MODEL_DIR)


@pytest.fixture(scope="module")
def tiny() -> tuple[Nsnet2Model, QuantModel]:
    cfg = get_config("nsnet2-tiny")
    rng = np.random.default_rng(0)
    params = {k: (rng.standard_normal(s) * (0.5 / np.sqrt(s[-1]))).astype(np.float32)
              for k, s in cfg.parameter_shapes().items()}
    m = Nsnet2Model(cfg, params, np.full(161, 1.0, np.float32), np.full(161, 2.0, np.float32))
    return m, quantize_model(m, [_speechlike(1), _speechlike(2)])


# ---- front end ---------------------------------------------------------------------------

def test_fft_equals_numpy_dft():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 320)) * 5000).astype(np.float32)
    xr, xi = G.rfft320(x)
    ref = np.fft.rfft(x.astype(np.float64) * G.tables()["NN_WIN"].astype(np.float64), axis=-1)
    assert np.max(np.abs(xr + 1j * xi - ref)) / np.max(np.abs(ref)) < 1e-6
    y = G.irfft320(xr, xi)
    assert np.max(np.abs(y / 320 - x * G.tables()["NN_WIN"])) < 1e-2  # int16 units


def test_fft_stages_and_permutation():
    assert np.prod([r for r, _ in G.STAGES]) == G.FFT_N
    perm = G.tables()["NN_PERM"].astype(int)
    assert sorted(perm.tolist()) == list(range(G.FFT_N))
    z = np.zeros(G.FFT_N, np.float32)
    z[perm == 1] = 1.0  # a delta at input 1 (leaf order) -> exp(-2 pi i k / 160)
    fr, fi = G.fft160(z, np.zeros_like(z))
    k = np.arange(G.FFT_N)
    assert np.allclose(fr + 1j * fi, np.exp(-2j * np.pi * k / G.FFT_N), atol=1e-6)


def test_log2_accuracy_and_exact_powers_of_two():
    p = np.float32(2.0) ** np.arange(-20, 40, dtype=np.float32)
    assert np.array_equal(G.log2_f32(p), np.arange(-20, 40, dtype=np.float32))
    q = np.float32(np.logspace(0, 12, 5000))
    assert np.max(np.abs(G.log2_f32(q) - np.log2(q.astype(np.float64)))) < 1e-5


def test_rounding_is_half_away_from_zero_and_saturates():
    v = np.array([0.5, 1.5, -0.5, -1.5, 2.4999998, -2.4999998, 0.0, -0.0], np.float32)
    assert G.round_half_away(v).tolist() == [1, 2, -1, -2, 2, -2, 0, 0]
    assert G.f2i16(np.array([1e6, -1e6, 32766.5, -32767.5], np.float32)).tolist() == [32767, -32768, 32767, -32768]


def test_features_follow_the_float_features(qm, fm):
    x = _speechlike(3, 16000)
    fr = G.int_frames(x, 100)
    xr, xi = G.rfft320(fr)
    q = G.features_int8(xr, xi, qm.feat_a, qm.feat_b).astype(np.float64)
    spec = np.fft.rfft(fr.astype(np.float64) / 32768 * G.tables()["NN_WIN"], axis=-1)
    f = (np.log10(np.abs(spec) ** 2 + 1e-9) - fm.norm_mean) / fm.norm_std
    deq = (q - qm.feat_zero_point) * qm.feat_scale
    inside = (q > -128) & (q < 127)
    assert np.max(np.abs(deq - f)[inside]) <= 0.5 * qm.feat_scale + 1e-3


# ---- quantizer ------------------------------------------------------------------------

def test_committed_quant_model_matches_the_float_model(qm, fm):
    assert qm.config == fm.config
    assert set(qm.layers) == set(layer_inputs(qm.config))
    for name, L in qm.layers.items():
        if L.gru is None:
            w = fm.params[f"{name}.weight"]
            assert L.w.dtype == np.int8 and L.w.shape == w.shape
            assert np.all(np.abs(L.w.astype(int)).max(axis=1) == 127)  # per-channel full range
            if L.kind == "fc":
                assert L.act_min == L.out_zero_point  # fused ReLU
        else:
            assert L.gru.w_ih.shape == fm.params[f"{name}.weight_ih_l0"].shape
    assert qm.meta["calibration_frames"] > 1000


def test_save_load_round_trip(tiny, tmp_path):
    _, q = tiny
    p = q.save(tmp_path)
    back = QuantModel.load(p)
    assert back.config == q.config and back.feat_scale == q.feat_scale
    x = _speechlike(4)
    for k in range(q.config.n_exits):
        assert np.array_equal(G.enhance(back, x, k).raw, G.enhance(q, x, k).raw)
    with np.load(p, allow_pickle=False) as z:  # no pickle needed to read it
        assert "meta" in z.files


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="quantize"):
        QuantModel.load(tmp_path)


def test_tiny_all_kinds_golden_close_to_float():
    for kind in ("linear", "split", "split_next"):
        cfg = get_config("nsnet2-tiny")
        cfg = type(cfg)(**{**cfg.to_dict(), "exits": tuple(cfg.exits), "exit_kind": kind, "name": f"tiny-{kind}"})
        rng = np.random.default_rng(5)
        params = {k: (rng.standard_normal(s) * (0.6 / np.sqrt(s[-1]))).astype(np.float32)
                  for k, s in cfg.parameter_shapes().items()}
        m = Nsnet2Model(cfg, params, np.full(161, 1.0, np.float32), np.full(161, 2.0, np.float32))
        q = quantize_model(m, [_speechlike(1), _speechlike(2)])
        x = _speechlike(9)
        for k in range(cfg.n_exits):
            f = enhance_streaming(m, x, k).audio * 32768
            g = G.enhance(q, x, k).audio.astype(np.float64)
            snr = 10 * np.log10(np.sum(f**2) / np.sum((g - f) ** 2))
            assert snr > 20, (kind, k, snr)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_trained_golden_close_to_float(qm, fm, k):
    x = _speechlike(11, 24000)
    f = enhance_streaming(fm, x, k).audio * 32768
    g = G.enhance(qm, x, k)
    snr = 10 * np.log10(np.sum(f**2) / np.sum((g.audio - f) ** 2))
    assert snr > 25, snr
    assert set(g.macs.tolist()) == {qm.config.macs_for_exit(k)}
    assert set(g.exits.tolist()) == {k}


# ---- exits -------------------------------------------------------------------------------

def test_dynamic_extremes(qm):
    x = _speechlike(12)
    last = qm.config.n_exits - 1
    never = G.enhance(qm, x, ExitPolicy.dynamic(0.0))
    assert set(never.exits.tolist()) == {last}
    always = G.enhance(qm, x, ExitPolicy.dynamic(1.0))
    assert set(always.exits.tolist()) == {1}
    # exit 1 taken at once: exit0 and exit1 evaluated (their branches and heads) plus trunk fc1
    cfg = qm.config
    e0, e1 = cfg.exit_specs()[0], cfg.exit_specs()[1]
    want = e0.branch.macs + e0.head.macs + cfg.trunk()[0].macs + e1.branch.macs + e1.head.macs
    assert set(always.macs.tolist()) == {want}
    assert np.array_equal(always.audio, G.enhance(qm, x, 1).audio)


def test_dynamic_with_one_allowed_exit_equals_static(qm):
    x = _speechlike(13)
    for k in (2, 3):
        d = G.enhance(qm, x, ExitPolicy.dynamic(0.01, min_exit=k, max_exit=k))
        assert set(d.exits.tolist()) == {k}
        assert np.array_equal(d.audio, G.enhance(qm, x, k).audio)


def test_dynamic_rule_is_the_integer_sum(qm):
    """Frame by frame: the exit taken is the first j >= 1 with sum |g_j - g_{j-1}| < thr * 161."""
    x = _speechlike(14)
    thr = 900
    net = G.GoldenNet(qm, ExitPolicy.dynamic(thr / 32768))
    probe = G.GoldenNet(qm, ExitPolicy.dynamic(0.0))  # always goes to the end, same state updates
    fr = G.int_frames(x, 30)
    feats = G.features_int8(*G.rfft320(fr), qm.feat_a, qm.feat_b)
    for f in feats:
        _, info = net.frame(f)
        masks = []
        orig = probe._stop
        probe._stop = lambda k, m, _o=orig, _ms=masks: (_ms.append(m[-1].astype(np.int32)), _o(k, m))[1]  # type: ignore
        probe.frame(f)
        probe._stop = orig
        changes = [int(np.abs(masks[j] - masks[j - 1]).sum()) for j in range(1, len(masks))]
        want = next((j for j, c in enumerate(changes, start=1) if c < thr * 161), qm.config.n_exits - 1)
        assert info.exit == want
        probe.state = {k: v.copy() for k, v in net.state.items()}  # follow the policy's held states


def test_policy_from_config():
    assert policy_from_config({}, 5) == ExitPolicy.static(4)
    assert policy_from_config({"exit": 2}, 5) == ExitPolicy.static(2)
    p = policy_from_config({"policy": 1, "thr_q15": 1638, "max_exit": 3}, 5)
    assert not p.is_static and p.threshold == 1638 / 32768 and p.max_exit == 3
    assert policy_from_config({"policy": 1, "thr_q15": 5, "exit": 1}, 5) == ExitPolicy.static(1)
    for bad in ({"exit": 5}, {"thr_q15": 40000}, {"min_exit": 0}, {"bogus": 1}):
        with pytest.raises(ConfigError):
            policy_from_config(bad, 5)


def test_family_refs_return_aligned_int16():
    x = _speechlike(15, 4321)
    for fn in (float_ref, golden_ref):
        y = fn(x, {"exit": 1})
        assert y.dtype == np.int16 and y.shape == x.shape


def test_train_command_without_torch_says_what_to_do(monkeypatch):
    import sys

    from bench.cli import build_parser

    monkeypatch.setitem(sys.modules, "torch", None)
    a = build_parser().parse_args(["train", "nsnet2", "--config", "nsnet2-small"])
    assert a.args == ["--config", "nsnet2-small"]
    with pytest.raises(BenchError, match=r"pip install -e \.\[train\]"):
        a.func(a)


def test_family_is_registered_with_float_and_golden_references():
    from bench.families import refs_for

    refs = refs_for("nsnet2-ee")
    assert refs is not None and refs.golden is not None
    x = _speechlike(16, 3200)
    cfg = {"policy": 1, "thr_q15": 2400}
    want = G.enhance(QuantModel.load(MODEL_DIR), x, ExitPolicy.dynamic(2400 / 32768)).audio
    assert np.array_equal(refs.golden(x, cfg), want)
    assert refs.float_ref(x, cfg).dtype == np.int16


def test_each_image_gets_the_references_of_its_own_model():
    """An image's manifest `model_dir` (firmware/images.toml) selects the model of its references."""
    import tomllib

    from bench.models.nsnet2.refs import to_int16
    from bench.families import refs_for

    doc = tomllib.loads((repo_root() / "firmware/images.toml").read_text())
    dirs = {i["name"]: i.get("model_dir") for i in doc["image"]
            if i["model_family"] == "nsnet2-ee" and i["board"] == "mps2-an386"}
    assert dirs == {"nsnet2-small-an386": "models/nsnet2/nsnet2-small",
                    "nsnet2-small-linear-an386": "models/nsnet2/nsnet2-small-linear"}
    x = _speechlike(17, 3200)
    cfg = {"exit": 1}
    outs = {}
    for name, d in dirs.items():
        refs = refs_for("nsnet2-ee", d)
        assert refs is not None and refs.golden is not None and d in refs.note
        qm = QuantModel.load(repo_root() / d)
        assert np.array_equal(refs.golden(x, cfg), G.enhance(qm, x, 1).audio), name
        fm = Nsnet2Model.load(repo_root() / d)
        assert np.array_equal(refs.float_ref(x, cfg), to_int16(enhance_streaming(fm, x, 1).audio)), name
        outs[name] = refs.golden(x, cfg)
    assert not np.array_equal(*outs.values())  # two different models
    assert refs_for("nsnet2-ee") is not None and refs_for("passthrough", "models/x") == refs_for("passthrough")
