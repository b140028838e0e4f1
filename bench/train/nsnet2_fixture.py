"""Write the committed torch-vs-numpy fixtures of early-exit nsNet2 (needs torch).

    python -m bench.train.nsnet2_fixture            # -> models/nsnet2/fixtures/<exit_kind>/

For each exit kind, a very small model with PyTorch's default (seeded) initialisation and
fixed normalisation statistics is exported like a trained one (config.json, weights.npz,
norm.npz), and ``torch_out.npz`` stores a short deterministic input and the PyTorch masks
of every exit. tests/unit/test_nsnet2_reference.py checks the numpy reference against
these without torch, so the default CI (dev extra only) still compares the two.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import EXIT_KINDS, Nsnet2Config
from bench.models.nsnet2.reference import Nsnet2Model
from bench.train.nsnet2_model import EarlyExitNsnet2

REPO = Path(__file__).resolve().parents[2]
FIXTURE_DIR = REPO / "models" / "nsnet2" / "fixtures"
N_SAMPLES = 16 * 160


def fixture_input() -> np.ndarray:
    """0.16 s: a chirp plus seeded noise, float32 at about -20 dBFS."""
    t = np.arange(N_SAMPLES) / 16000
    chirp = 0.1 * np.sin(2 * np.pi * (200 * t + 6000 * t * t))
    noise = 0.03 * np.random.default_rng(7).standard_normal(N_SAMPLES)
    return (chirp + noise).astype(np.float32)


def fixture_config(kind: str) -> Nsnet2Config:
    return Nsnet2Config(
        f"fixture-{kind.replace('_', '-')}",
        fc1=8,
        gru1=6,
        gru2=6,
        fc2=10,
        fc3=10,
        exits=("fc1", "gru1", "gru2", "fc2", "fc3"),
        exit_kind=kind,
    )


def torch_masks(model: EarlyExitNsnet2, nm: Nsnet2Model, x: np.ndarray) -> list[np.ndarray]:
    spec = frontend.stft(x)
    feat = nm.normalise(frontend.log_power(spec, nm.config.log_eps))
    with torch.no_grad():
        return [m[0].numpy() for m in model(torch.from_numpy(feat)[None])]


def write(out: Path = FIXTURE_DIR) -> list[Path]:
    torch.set_num_threads(1)
    written = []
    for i, kind in enumerate(EXIT_KINDS):
        cfg = fixture_config(kind)
        torch.manual_seed(100 + i)
        model = EarlyExitNsnet2(cfg)
        mean = np.linspace(-6.0, -4.0, cfg.n_bins).astype(np.float32)
        std = np.linspace(1.5, 2.5, cfg.n_bins).astype(np.float32)
        nm = Nsnet2Model(cfg, model.numpy_params(), mean, std)
        d = out / kind
        nm.save(d, {"note": "test fixture: untrained, PyTorch default init; see bench/train/nsnet2_fixture.py"})
        x = fixture_input()
        masks = torch_masks(model, nm, x)
        arrays: dict[str, Any] = {"x": x, **{f"mask{k}": m for k, m in enumerate(masks)}}
        np.savez_compressed(d / "torch_out.npz", **arrays)
        written.append(d)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else FIXTURE_DIR
    for d in write(out):
        print(f"wrote {d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
