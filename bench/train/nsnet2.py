"""Train early-exit nsNet2 (joint training of all exits) and export the float model.

    python -m bench.train.nsnet2 --config nsnet2-small            # the lead wires: bench train nsnet2

What it does:

1. makes the train split with the bench generator if it is not there yet
   (``bench.data.generate.make_set(<data>, seed, n_utts, split="train")``; the train
   sentences are disjoint from the shipped test set's), or uses ``--data DIR``;
2. computes the STFT of every utterance with the target's front end
   (bench.models.nsnet2.frontend) and the per-bin mean / std of the noisy log power over
   all train frames (the fixed normalisation, norm.npz);
3. trains all exits jointly: loss = sum_k w_k L_k / sum_k w_k, where L_k is the power-law
   compressed (c = 0.3) spectral loss of exit k's enhanced spectrum ``g_k X`` against the
   clean spectrum S: ``(1 - a) mean(|g X|^c - |S|^c)^2 + a mean|g^c |X|^c e^{i<X} - |S|^c e^{i<S}|^2``
   with a = 0.3; Adam, cosine learning-rate decay, gradient-norm clipping; random crops of
   ``crop_frames`` frames, GRU state zero at the crop start;
4. checkpoints every ``ckpt_every`` steps (model, optimiser, RNG, step) into
   ``<work>/ckpt.pt`` and resumes from it when started again with the same arguments;
5. exports ``models/nsnet2/<config>/``: weights.npz, norm.npz, config.json (model + recipe +
   data provenance), train.log (appended as it runs) and COMMAND.txt.

Runs on one CPU thread by default (``--threads``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.errors import ConfigError
from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import DEFAULT_CONFIG, Nsnet2Config, get_config
from bench.models.nsnet2.reference import Nsnet2Model
from bench.train import common
from bench.train.common import REPO, SpecSet, spectral_loss
from bench.train.nsnet2_model import EarlyExitNsnet2

FAMILY = "nsnet2"


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (everything but the model topology)."""

    steps: int = 4000
    batch: int = 16
    crop_frames: int = 200  # 2 s
    lr: float = 1e-3
    lr_final: float = 5e-5
    clip: float = 5.0
    compress: float = 0.3
    complex_weight: float = 0.3
    exit_weights: tuple[float, ...] = ()  # empty: equal weights
    seed: int = 0
    data_seed: int = 1
    n_utts: int = 480
    val_utts: int = 24
    init: str = ""  # an exported model folder to start from (fine-tuning); "" = random initialisation
    ckpt_every: int = 200
    log_every: int = 50
    max_minutes: float = 55.0  # wall-clock guard: export what there is and stop

    def __post_init__(self) -> None:
        common.check_optim(self)
        if any(w < 0 for w in self.exit_weights) or (self.exit_weights and sum(self.exit_weights) <= 0):
            raise ConfigError(f"exit_weights must be non-negative with a positive sum, got {self.exit_weights}")
        common.check_run(self)

    def weights_for(self, n_exits: int) -> np.ndarray:
        if not self.exit_weights:
            return np.full(n_exits, 1.0 / n_exits)
        if len(self.exit_weights) != n_exits:
            raise ConfigError(f"exit_weights has {len(self.exit_weights)} entries, the model has {n_exits} exits")
        w = np.asarray(self.exit_weights, float)
        return w / w.sum()


# ---- data ------------------------------------------------------------------------------


def norm_stats(specs: Sequence[np.ndarray], eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and std of log10(|X|^2 + eps) over every frame (float64 sums)."""
    s1 = np.zeros(specs[0].shape[1])
    s2 = np.zeros_like(s1)
    n = 0
    for x in specs:
        f = frontend.log_power(x, eps).astype(np.float64)
        s1 += f.sum(0)
        s2 += (f * f).sum(0)
        n += f.shape[0]
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-8))
    return mean.astype(np.float32), std.astype(np.float32)


class Batcher(common.CropBatcher):
    """Random crops of ``crop`` frames; features (normalised log power) and loss targets."""

    def __init__(
        self, ss: SpecSet, idx: Sequence[int], mean: np.ndarray, std: np.ndarray, eps: float, compress: float
    ) -> None:
        items = []
        for i in idx:
            x, s = ss.noisy[i], ss.clean[i]
            feat = (frontend.log_power(x, eps) - mean) / std
            items.append((feat.astype(np.float32), *_targets(x, s, compress)))
        super().__init__(items)


def _targets(x: np.ndarray, s: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """|X|^c, unit phasor of X (re, im), |S|^c e^{i<S} (re, im)."""
    return ((np.abs(x) ** c).astype(np.float32), *common.phasor_targets(x, s, c))


def exit_losses(masks: list[torch.Tensor], *targets: torch.Tensor, c: float, a: float) -> torch.Tensor:
    """Compressed spectral loss of every exit -> tensor (n_exits,).

    ``targets``: |X|^c, the unit phasor of X (re, im), |S|^c e^{i<S} (re, im) (see _targets).
    """
    xa, *tg = targets
    return torch.stack([spectral_loss(m, xa, *tg, c=c, a=a) for m in masks])


# ---- training --------------------------------------------------------------------------


def train(
    cfg: Nsnet2Config,
    tc: TrainConfig,
    out_dir: Path,
    work_dir: Path,
    data_dir: Path | None,
    command: str,
    threads: int = 1,
) -> Path:
    torch.set_num_threads(threads)
    run = common.start_run(FAMILY, tc, cfg.to_json(), _recipe(tc), out_dir, work_dir, data_dir, command, frontend.stft)
    log, ss, data, val_idx, train_idx = run.log, run.ss, run.data, run.val_idx, run.train_idx
    n, val_n = len(ss.ids), len(val_idx)
    if tc.init:  # fine-tuning keeps the initial model's input normalisation
        with np.load(Path(tc.init) / "norm.npz") as z:
            mean, std = z["mean"], z["std"]
    else:
        mean, std = norm_stats([ss.noisy[i] for i in train_idx], cfg.log_eps)
    frames = sum(ss.noisy[i].shape[0] for i in train_idx)
    log(f"data {data}: {len(train_idx)} train utterances ({frames} frames, {frames / 100:.0f} s), {val_n} validation")
    train_b = Batcher(ss, train_idx, mean, std, cfg.log_eps, tc.compress)
    val_b = Batcher(ss, val_idx, mean, std, cfg.log_eps, tc.compress) if val_n else None

    torch.manual_seed(tc.seed)
    model = EarlyExitNsnet2(cfg)
    if tc.init:
        common.init_from(model, tc.init)
        log(f"initialised from {tc.init}")
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = np.random.default_rng([tc.seed, 1])
    step, elapsed_before = run.resume(model, opt, rng, "delete it or use another --work dir")
    weights = torch.tensor(tc.weights_for(cfg.n_exits), dtype=torch.float32)
    log(
        f"model {cfg.name}: {cfg.n_params()} params, exits {cfg.exits} ({cfg.exit_kind}), MACs/frame per exit "
        f"{[cfg.macs_for_exit(k) for k in range(cfg.n_exits)]}, exit weights {common.fmt(weights.tolist(), 4)}"
    )

    def save_ckpt() -> None:
        run.ckpt.save(model, opt, rng, step, run.elapsed(elapsed_before))

    def validate() -> list[float]:
        if val_b is None:
            return []
        model.eval()
        tot = torch.zeros(cfg.n_exits)
        with torch.no_grad():
            for f, *tg in val_b.full():
                tot += exit_losses(model(f), *tg, c=tc.compress, a=tc.complex_weight)
        model.train()
        return (tot / len(val_b.items)).tolist()

    run_avg = None
    stopped_early = False
    while step < tc.steps:
        common.set_lr(opt, common.lr_at(tc, step))
        f, *tg = train_b.batch(rng, tc.batch, tc.crop_frames)
        per_exit = exit_losses(model(f), *tg, c=tc.compress, a=tc.complex_weight)
        common.optimise(opt, model, torch.sum(weights * per_exit), tc.clip)
        step += 1
        pe = per_exit.detach()
        run_avg = pe if run_avg is None else 0.95 * run_avg + 0.05 * pe
        minutes = run.elapsed(elapsed_before) / 60
        if step % tc.log_every == 0 or step == tc.steps:
            log(f"step {step} lr {common.lr_at(tc, step - 1):.2e} train per exit "
                f"{common.fmt(run_avg.tolist(), 4)} ({minutes:.1f} min)")
        if step % tc.ckpt_every == 0 or step == tc.steps:
            log(f"step {step} validation per exit {common.fmt(validate(), 4)}")
            save_ckpt()
        if minutes > tc.max_minutes and step < tc.steps:
            log(f"stopping at step {step}: over the {tc.max_minutes} min wall-clock guard")
            save_ckpt()
            stopped_early = True
            break

    val = validate()
    trained = run.elapsed(elapsed_before)
    nm = Nsnet2Model(cfg, model.numpy_params(), mean, std)
    nm.save(
        out_dir,
        {
            "train": _tc_dict(tc),
            "result": {
                "steps": step,
                "stopped_early": stopped_early,
                "wall_minutes": round(trained / 60, 2),
                "validation_loss_per_exit": [round(v, 5) for v in val],
                "threads": threads,
                "torch": torch.__version__,
            },
            "data": common.data_record(data, n, val_n, tc),
            "cost": cfg.cost_table(),
        },
    )
    (out_dir / "COMMAND.txt").write_text(command_text(command, trained, step, threads), encoding="utf-8")
    log(f"exported {out_dir} after {step} steps, {trained / 60:.1f} min; validation per exit {common.fmt(val, 4)}")
    return out_dir


def _tc_dict(tc: TrainConfig) -> dict:
    d = dataclasses.asdict(tc)
    d["exit_weights"] = list(tc.exit_weights)
    return d


def command_text(command: str, seconds: float, steps: int, threads: int) -> str:
    """COMMAND.txt: the command, its module form, and how long it took here."""
    return common.command_text(command, FAMILY, "build/nsnet2/<config>/ckpt.pt", seconds, steps, threads)


def _recipe(tc: TrainConfig) -> str:
    """What must match for a checkpoint to be resumed (not the logging / guard settings)."""
    return common.recipe(_tc_dict(tc))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench train nsnet2", description="Train early-exit nsNet2 on the CPU.")
    common.add_run_args(
        p,
        DEFAULT_CONFIG,
        out="export directory (default models/nsnet2/<config>)",
        work="checkpoint directory (default build/nsnet2/<config>)",
        data="train set directory (default: generate build/nsnet2/train-seed<S>-n<N>)",
    )

    def exit_weights() -> None:
        p.add_argument("--exit-weights", type=float, nargs="+", default=[], help="per-exit loss weights")

    common.add_recipe_args(p, TrainConfig, {"exit_weights": exit_weights})
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`bench train nsnet2 [--config NAME] [...]`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)

    def run() -> None:
        cfg = get_config(ns.config)
        kw = {f.name: getattr(ns, f.name) for f in dataclasses.fields(TrainConfig)}
        kw["exit_weights"] = tuple(kw["exit_weights"])
        tc = TrainConfig(**kw)
        out = Path(ns.out) if ns.out else REPO / "models" / FAMILY / cfg.name
        work = Path(ns.work) if ns.work else REPO / "build" / FAMILY / cfg.name
        command = common.prepare(FAMILY, args, ns, work)
        train(cfg, tc, out, work, Path(ns.data) if ns.data else None, command, ns.threads)

    return common.guarded(run)


if __name__ == "__main__":
    raise SystemExit(main())
