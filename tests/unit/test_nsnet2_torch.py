"""PyTorch training model vs the numpy reference, fixtures, and the training loop.

Skipped cleanly where torch is not installed (the default CI installs only the dev extra;
tests/unit/test_nsnet2_reference.py still compares numpy with the committed torch fixtures).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train_run import tiny_run  # noqa: E402

from bench.data.audio import to_float  # noqa: E402
from bench.data.loader import load_set  # noqa: E402
from bench.models.nsnet2 import frontend  # noqa: E402
from bench.models.nsnet2.config import BLOCKS, EXIT_KINDS, Nsnet2Config  # noqa: E402
from bench.models.nsnet2.reference import Nsnet2Model, enhance_streaming, masks_offline  # noqa: E402
from bench.train import nsnet2 as tr  # noqa: E402
from bench.train.nsnet2_fixture import FIXTURE_DIR, torch_masks  # noqa: E402
from bench.train.nsnet2_model import EarlyExitNsnet2  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TRAINED = REPO / "models" / "nsnet2" / "nsnet2-small"
TESTSET = REPO / "bench" / "data" / "testset"


def _torch_vs_numpy(model: EarlyExitNsnet2, nm: Nsnet2Model, utts, n_frames: int, tol: float) -> None:
    for u in utts:
        x = to_float(u.noisy[: n_frames * 160]).astype(np.float32)
        want = torch_masks(model, nm, x)
        offline = masks_offline(nm, x)
        for k in range(nm.config.n_exits):
            assert np.max(np.abs(offline[k] - want[k])) < tol, (u.id, k)
            streamed = enhance_streaming(nm, x, k).masks
            assert np.max(np.abs(streamed - want[k])) < tol, (u.id, k)


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_numpy_reference_equals_torch_random_init(kind):
    torch.manual_seed(5)
    cfg = Nsnet2Config(f"t-{kind}", fc1=24, gru1=20, gru2=16, fc2=24, fc3=20, exits=BLOCKS, exit_kind=kind)
    model = EarlyExitNsnet2(cfg)
    mean, std = np.full(161, -5.0, np.float32), np.full(161, 2.0, np.float32)
    nm = Nsnet2Model(cfg, model.numpy_params(), mean, std)
    _torch_vs_numpy(model, nm, load_set(TESTSET)[:2], 60, 2e-5)


@pytest.mark.parametrize("kind", EXIT_KINDS)
def test_committed_fixture_matches_torch(kind):
    nm = Nsnet2Model.load(FIXTURE_DIR / kind)
    model = EarlyExitNsnet2(nm.config)
    model.load_numpy_params(dict(nm.params))
    with np.load(FIXTURE_DIR / kind / "torch_out.npz") as z:
        got = torch_masks(model, nm, z["x"])
        for k, m in enumerate(got):
            assert np.max(np.abs(m - z[f"mask{k}"])) < 1e-6


@pytest.mark.skipif(not (TRAINED / "weights.npz").is_file(), reason="nsnet2-small not exported yet")
def test_trained_model_numpy_equals_torch_on_test_utterances():
    nm = Nsnet2Model.load(TRAINED)
    model = EarlyExitNsnet2(nm.config)
    model.load_numpy_params(dict(nm.params))
    utts = load_set(TESTSET)
    _torch_vs_numpy(model, nm, [utts[0], utts[5], utts[11]], 150, 1e-4)


def test_loss_is_zero_for_the_ideal_mask():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 161)) + 1j * rng.standard_normal((4, 161))).astype(np.complex64)
    tg = [torch.from_numpy(a) for a in tr._targets(x, 0.5 * x, 0.3)]
    ones, halves = torch.ones(4, 161), torch.full((4, 161), 0.5)
    losses = tr.exit_losses([ones, halves], *tg, c=0.3, a=0.3)
    assert losses[1] < 1e-10 < losses[0]


def _run(tmp_path: Path, name: str, *extra: str) -> int:
    return tiny_run(tr.main, tmp_path, name, ["--config", "nsnet2-tiny"], 30, *extra)


def test_training_exports_and_resumes_bit_exactly(tmp_path):
    assert _run(tmp_path, "a") == 0
    out = tmp_path / "a" / "out"
    for f in ("weights.npz", "norm.npz", "config.json", "train.log", "COMMAND.txt"):
        assert (out / f).is_file(), f
    a = Nsnet2Model.load(out)
    assert a.config.name == "nsnet2-tiny"
    assert (out / "COMMAND.txt").read_text().startswith("bench train nsnet2 --config nsnet2-tiny")
    # interrupted by the wall-clock guard after the first step, then resumed
    assert _run(tmp_path, "b", "--max-minutes", "1e-9") == 0
    assert "stopping at step 1" in (tmp_path / "b" / "out" / "train.log").read_text()
    assert _run(tmp_path, "b") == 0
    log = (tmp_path / "b" / "out" / "train.log").read_text()
    assert "resumed at step 1" in log
    b = Nsnet2Model.load(tmp_path / "b" / "out")
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    assert np.array_equal(a.norm_mean, b.norm_mean)


def test_resume_refuses_another_recipe(tmp_path, capsys):
    assert _run(tmp_path, "c") == 0
    assert _run(tmp_path, "c", "--lr", "0.002") == 1
    assert "different config or recipe" in capsys.readouterr().err


def test_norm_stats_match_numpy():
    x = frontend.stft(np.random.default_rng(1).standard_normal(1600).astype(np.float32))
    mean, std = tr.norm_stats([x, x[:3]], 1e-9)
    f = np.concatenate([frontend.log_power(x, 1e-9), frontend.log_power(x[:3], 1e-9)])
    assert np.allclose(mean, f.mean(0), atol=1e-5) and np.allclose(std, f.std(0), atol=1e-4)
