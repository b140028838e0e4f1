"""PyTorch training model of DynCP Conv-FSENet vs the numpy reference, and the training loop.

Skipped cleanly where torch is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train_run import tiny_run  # noqa: E402

from bench.data.audio import to_float  # noqa: E402
from bench.data.loader import load_set  # noqa: E402
from bench.models.dyncp import frontend  # noqa: E402
from bench.models.dyncp.config import DyncpConfig  # noqa: E402
from bench.models.dyncp.reference import DyncpModel, enhance_offline, enhance_streaming  # noqa: E402
from bench.train import dyncp as tr  # noqa: E402
from bench.train.dyncp_model import ConvFSENet, straight_through  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TESTSET = REPO / "bench" / "data" / "testset"
CFG = DyncpConfig("t", residual=12, conv=16, stacks=2, blocks_per_stack=3, gate_hidden=4)


def _torch_out(model: ConvFSENet, cfg: DyncpConfig, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spec = frontend.stft(frontend.pad_hops(x, 1))
    f = torch.from_numpy(frontend.features(spec, cfg.compress))[None]
    with torch.no_grad():
        g, masks = model(f)
        logits = [lg[0].T.numpy() for lg in model.last_logits]
    t = spec.shape[0] - 1
    mk = np.stack([m[0].T.numpy() > 0.5 for m in masks], 1) if masks else np.zeros((t + 1, 0, cfg.conv), bool)
    lg = np.stack(logits, 1) if logits else np.zeros((t + 1, 0, cfg.conv))
    return g[0].numpy()[:t], mk[:t], lg[:t]


def _compare(model: ConvFSENet, dm: DyncpModel, utts, n_frames: int, tol: float) -> None:
    """Mask bits equal (a flip is allowed only for a logit within float noise of 0, and then
    the gains diverge legitimately); gains equal within ``tol`` wherever no bit flipped."""
    compared = 0
    for u in utts:
        x = to_float(u.noisy[: n_frames * 256]).astype(np.float32)
        g, mk, lg = _torch_out(model, dm.config, x)
        for e in (enhance_streaming(dm, x), enhance_offline(dm, x)):
            flips = e.masks != mk
            assert np.all(np.abs(lg[flips]) < 1e-4), (u.id, "mask bits differ away from the threshold")
            if not flips.any():
                assert np.max(np.abs(e.gains - g)) < tol, u.id
                compared += 1
    assert compared >= len(utts), "too many near-threshold flips to compare the gains"


def test_numpy_reference_equals_torch_random_init():
    torch.manual_seed(3)
    model = ConvFSENet(CFG, gate_init_bias=0.0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "gate.out.bias" in name:
                p.add_(0.2 * torch.randn_like(p))
    dm = DyncpModel(CFG, model.numpy_params())
    utts = load_set(TESTSET)
    _compare(model, dm, [utts[0], utts[7]], 80, 2e-5)
    e = enhance_streaming(dm, to_float(utts[0].noisy[: 80 * 256]))
    assert 0.1 < e.masks.mean() < 0.9


def test_static_model_equals_torch():
    torch.manual_seed(4)
    cfg = CFG.static()
    model = ConvFSENet(cfg)
    dm = DyncpModel(cfg, model.numpy_params())
    _compare(model, dm, [load_set(TESTSET)[2]], 60, 2e-5)


TRAINED = sorted((REPO / "models" / "dyncp").glob("dyncp-small-r*/weights.npz"))


@pytest.mark.skipif(not TRAINED, reason="no trained DynCP model exported yet")
@pytest.mark.parametrize("weights", TRAINED, ids=lambda p: p.parent.name)
def test_trained_model_numpy_equals_torch(weights):
    dm = DyncpModel.load(weights.parent)
    model = ConvFSENet(dm.config)
    model.load_numpy_params(dict(dm.params))
    utts = load_set(TESTSET)
    _compare(model, dm, [utts[1], utts[9]], 100, 1e-4)


def test_straight_through_is_binary_forward_and_sigmoid_backward():
    lg = torch.tensor([-2.0, -0.1, 0.0, 0.3, 5.0], requires_grad=True)
    m = straight_through(lg)
    assert m.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    m.sum().backward()
    s = torch.sigmoid(lg.detach())
    assert torch.allclose(lg.grad, s * (1 - s))


def test_ratio_loss_reaches_the_gates_and_the_target_anneals():
    torch.manual_seed(0)
    model = ConvFSENet(CFG)
    _, masks = model(torch.rand(2, 20, 257))
    fr = tr.kept_fractions(masks)
    assert fr.shape == (CFG.n_blocks,) and torch.all(fr > 0.5)  # gates start open (bias +1)
    tr.ratio_loss(fr, 0.25).backward()
    g = model.blocks[0].gate.out.bias.grad
    assert g is not None and torch.all(g > 0)  # gradient descent closes the gates
    last = model.blocks[-1].pw1.weight.grad  # feeds only the back end, never a gate
    assert last is None or torch.all(last == 0)
    tc = tr.TrainConfig(keep_ratio=0.25, steps=100, ratio_warmup=0.5)
    assert tc.target_ratio(0) == 1.0 and tc.target_ratio(25) == pytest.approx(0.625) and tc.target_ratio(80) == 0.25


def test_loss_is_zero_for_the_ideal_mask():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 257)) + 1j * rng.standard_normal((4, 257))).astype(np.complex64)
    xa, *tg = (torch.from_numpy(a) for a in tr.targets(x, 0.5 * x, 0.3))
    ideal = tr.spectral_loss(torch.full((4, 257), 0.5), xa, *tg, c=0.3, a=0.3)
    assert ideal < 1e-10 < tr.spectral_loss(torch.ones(4, 257), xa, *tg, c=0.3, a=0.3)


def test_asymmetric_loss_costs_suppressed_speech_more_and_leaves_residual_noise_alone():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 257)) + 1j * rng.standard_normal((4, 257))).astype(np.complex64)
    xa, *tg = (torch.from_numpy(a) for a in tr.targets(x, 0.5 * x, 0.3))

    def loss(gain: float, asym: float) -> float:
        return float(tr.spectral_loss(torch.full((4, 257), gain), xa, *tg, c=0.3, a=0.3, asym=asym))

    assert loss(0.5, 2.0) < 1e-10  # the ideal gain costs nothing either way
    assert loss(1.0, 2.0) == pytest.approx(loss(1.0, 0.0), rel=1e-6)  # noise left (over-estimate): unchanged
    sym, asym = loss(0.2, 0.0), loss(0.2, 2.0)  # speech suppressed (under-estimate)
    mag = float(torch.mean((0.2**0.3 * xa - 0.5**0.3 * xa) ** 2))
    assert asym == pytest.approx(sym + (1 - 0.3) * 2.0 * mag, rel=1e-5)  # the magnitude term has weight 1 - a


def test_model_configs_per_ratio():
    assert not tr.model_config(CFG, 1.0).gated and tr.model_config(CFG, 1.0).name == "t-r100"
    assert tr.model_config(CFG, 0.25).gated and tr.model_config(CFG, 0.25).name == "t-r25"
    with pytest.raises(Exception, match="gated config"):
        tr.model_config(CFG.static(), 0.5)


def _run(tmp_path: Path, name: str, *extra: str) -> int:
    return tiny_run(tr.main, tmp_path, name, ["--config", "dyncp-tiny", "--keep-ratio", "0.5"], 20, *extra)


def test_training_exports_and_resumes_bit_exactly(tmp_path):
    import json

    assert _run(tmp_path, "a") == 0
    out = tmp_path / "a" / "out"
    for f in ("weights.npz", "config.json", "train.log", "COMMAND.txt"):
        assert (out / f).is_file(), f
    a = DyncpModel.load(out)
    assert a.config.name == "dyncp-tiny-r50" and a.config.gated
    doc = json.loads((out / "config.json").read_text())
    assert len(doc["result"]["validation_kept_fraction_per_block"]) == a.config.n_blocks
    assert doc["result"]["validation_loss"] > 0
    assert (out / "COMMAND.txt").read_text().startswith("bench train dyncp --config dyncp-tiny")
    assert _run(tmp_path, "b", "--max-minutes", "1e-9") == 0
    assert "stopping at step 1" in (tmp_path / "b" / "out" / "train.log").read_text()
    assert _run(tmp_path, "b") == 0
    assert "resumed at step 1" in (tmp_path / "b" / "out" / "train.log").read_text()
    b = DyncpModel.load(tmp_path / "b" / "out")
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k


def test_resume_refuses_another_recipe(tmp_path, capsys):
    assert _run(tmp_path, "c") == 0
    assert _run(tmp_path, "c", "--ratio-weight", "2.0") == 1
    assert "different config or recipe" in capsys.readouterr().err


def test_distillation_targets_are_the_teachers_output_and_a_student_equal_to_it_has_zero_soft_loss(tmp_path):
    """A teacher's own gains reach zero loss against its distillation targets; another gain does not."""
    assert _run(tmp_path, "t", "--keep-ratio", "1.0") == 0
    teacher = tr.load_teacher(str(tmp_path / "t" / "out"))
    assert not any(p.requires_grad for p in teacher.parameters()) and not teacher.training
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((30, 257)) + 1j * rng.standard_normal((30, 257))).astype(np.complex64)
    xa, pr, pi, _, _ = (torch.from_numpy(a)[None] for a in tr.targets(x, 0.5 * x, 0.3))
    tr_, ti_ = tr.distil_targets(teacher, xa, pr, pi, 0.3)
    with torch.no_grad():
        gt, _ = teacher(xa)
    assert tr.spectral_loss(gt, xa, pr, pi, tr_, ti_, c=0.3, a=0.3) < 1e-10
    assert tr.spectral_loss(torch.ones_like(gt), xa, pr, pi, tr_, ti_, c=0.3, a=0.3) > 1e-4


def test_training_with_a_teacher_records_it_and_changes_the_result(tmp_path):
    import json

    assert _run(tmp_path, "t", "--keep-ratio", "1.0") == 0
    t_out = str(tmp_path / "t" / "out")
    assert _run(tmp_path, "plain") == 0
    assert _run(tmp_path, "kd", "--teacher", t_out, "--teacher-weight", "0.7") == 0
    doc = json.loads((tmp_path / "kd" / "out" / "config.json").read_text())
    assert doc["train"]["teacher"] == t_out and doc["train"]["teacher_weight"] == 0.7
    assert "distilling from" in (tmp_path / "kd" / "out" / "train.log").read_text()
    a, b = DyncpModel.load(tmp_path / "plain" / "out"), DyncpModel.load(tmp_path / "kd" / "out")
    assert any(not np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_training_with_an_asymmetric_loss_records_it_and_a_negative_weight_is_refused(tmp_path, capsys):
    import json

    assert _run(tmp_path, "s", "--asym-weight", "1.5") == 0
    doc = json.loads((tmp_path / "s" / "out" / "config.json").read_text())
    assert doc["train"]["asym_weight"] == 1.5
    assert _run(tmp_path, "n", "--asym-weight", "-1") == 1
    assert "asym_weight must be >= 0" in capsys.readouterr().err


def test_a_teacher_that_is_not_a_model_folder_is_refused(tmp_path, capsys):
    assert _run(tmp_path, "x", "--teacher", str(tmp_path)) == 1
    assert "--teacher" in capsys.readouterr().err
    assert _run(tmp_path, "y", "--teacher", str(tmp_path), "--teacher-weight", "1.5") == 1
