"""Train (DynCP) Conv-FSENet at a target keep ratio and export the float model.

    python -m bench.train.dyncp --config dyncp-small --keep-ratio 0.5   # the lead wires: bench train dyncp

What it does:

1. makes the train split with the bench generator if it is not there yet
   (``bench.data.generate.make_set(<data>, seed, n_utts, split="train")``), or uses ``--data DIR``;
2. computes the 512/256 STFT of every utterance (bench.models.dyncp.frontend) and the
   features ``|X|^0.3``;
3. trains with loss = spectral loss + ``ratio_weight`` x ratio loss. The spectral loss is
   the power-law compressed (c = 0.3) magnitude + complex MSE of ``g X`` against the clean
   spectrum S: ``(1 - a) mean(|gX|^c - |S|^c)^2 + a mean| |gX|^c e^{i<X} - |S|^c e^{i<S} |^2``,
   a = 0.3. The ratio loss is ``mean_b (k_b - rho_t)^2`` over the gated blocks b, k_b the
   kept fraction of block b in the batch (straight-through: the forward value is the
   binary fraction, the gradient the sigmoid's), rho_t the target keep ratio, annealed
   linearly from 1 to ``keep_ratio`` over the first ``ratio_warmup`` of the steps.
   ``keep_ratio == 1`` trains the static (ungated) Conv-FSENet. With ``--teacher DIR`` (an
   exported dyncp model, frozen) the spectral loss is ``(1 - w) L(gX, S) + w L(gX, g_t X)``,
   w = ``teacher_weight``: the student also matches the teacher's enhanced spectrum
   (knowledge distillation, e.g. a gated r25 from the static r100). ``asym_weight`` > 0 makes
   the magnitude term asymmetric: suppressed speech costs ``1 + asym_weight`` times as much as
   residual noise (bench.train.common.spectral_loss; against over-suppression);
4. Adam, warm-up + cosine learning rate, gradient-norm clipping; random crops of
   ``crop_frames`` frames (the causal convolutions see zeros before the crop start);
5. checkpoints every ``ckpt_every`` steps into ``<work>/ckpt.pt`` and resumes from it when
   started again with the same arguments (``--fresh`` starts over);
6. exports ``models/dyncp/<config>-r<100 keep_ratio>/``: weights.npz, config.json (model,
   recipe, data, validation loss and kept fraction per block, cost), train.log, COMMAND.txt.

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
from bench.models.common import weightsio
from bench.models.dyncp import frontend
from bench.models.dyncp.config import DEFAULT_CONFIG, DyncpConfig, get_config
from bench.models.dyncp.reference import DyncpModel
from bench.train import common
from bench.train.common import REPO, SpecSet, spectral_loss
from bench.train.dyncp_model import ConvFSENet

FAMILY = "dyncp"


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (everything but the model topology)."""

    keep_ratio: float = 1.0
    steps: int = 6000
    batch: int = 16
    crop_frames: int = 125  # 2 s at a 16 ms hop
    lr: float = 1e-3
    lr_final: float = 5e-5
    clip: float = 5.0
    compress: float = 0.3
    complex_weight: float = 0.3
    ratio_weight: float = 1.0
    ratio_warmup: float = 0.25
    gate_init_bias: float = 1.0
    seed: int = 0
    data_seed: int = 1
    n_utts: int = 480
    val_utts: int = 24
    init: str = ""  # an exported model folder to start from (fine-tuning); "" = random initialisation
    teacher: str = ""  # an exported dyncp model folder to distil from; "" = none
    teacher_weight: float = 0.5  # share of the spectral loss against the teacher's output (with teacher)
    asym_weight: float = 0.0  # extra cost of suppressed speech in the magnitude term (0 = symmetric)
    ckpt_every: int = 200
    log_every: int = 50
    max_minutes: float = 45.0  # wall-clock guard: export what there is and stop

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ConfigError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")
        common.check_optim(self)
        if self.ratio_weight < 0 or not 0 <= self.ratio_warmup <= 1:
            raise ConfigError("ratio_weight must be >= 0 and ratio_warmup in [0, 1]")
        if not 0 <= self.teacher_weight <= 1:
            raise ConfigError(f"teacher_weight must be in [0, 1], got {self.teacher_weight}")
        if self.asym_weight < 0:
            raise ConfigError(f"asym_weight must be >= 0, got {self.asym_weight}")
        common.check_run(self)

    def target_ratio(self, step: int) -> float:
        """Keep-ratio target at ``step``: 1 -> keep_ratio linearly over the warm-up."""
        n = self.ratio_warmup * self.steps
        if n <= 0:
            return self.keep_ratio
        a = min(1.0, step / n)
        return 1.0 + a * (self.keep_ratio - 1.0)


def model_name(cfg: DyncpConfig, keep_ratio: float) -> str:
    return f"{cfg.name}-r{round(100 * keep_ratio):d}"


def model_config(cfg: DyncpConfig, keep_ratio: float) -> DyncpConfig:
    """The exported topology: ungated for keep_ratio 1 (static), gated otherwise."""
    name = model_name(cfg, keep_ratio)
    if keep_ratio >= 1.0:
        return dataclasses.replace(cfg, name=name, gated=False)
    if not cfg.gated:
        raise ConfigError(f"{cfg.name}: keep_ratio {keep_ratio} < 1 needs a gated config (gated=true)")
    return dataclasses.replace(cfg, name=name)


# ---- data ------------------------------------------------------------------------------


def targets(x: np.ndarray, s: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """Features |X|^c, and the loss targets: unit phasor of X (re, im), |S|^c e^{i<S} (re, im)."""
    return (frontend.features(x, c), *common.phasor_targets(x, s, c))


class Batcher(common.CropBatcher):
    """Random crops of ``crop`` frames: features |X|^c and loss targets."""

    def __init__(self, ss: SpecSet, idx: Sequence[int], compress: float) -> None:
        super().__init__([targets(ss.noisy[i], ss.clean[i], compress) for i in idx])


def kept_fractions(masks: list[torch.Tensor]) -> torch.Tensor:
    """Kept fraction per gated block (straight-through values: binary forward, sigmoid gradient)."""
    if not masks:
        return torch.zeros(0)
    return torch.stack([m.mean() for m in masks])


def load_teacher(folder: str) -> ConvFSENet:
    """An exported dyncp model as a frozen torch module (eval mode, no gradients)."""
    d = Path(folder)
    try:  # the same check as loading any exported model; a missing weights.npz is named too
        weightsio.require_files(d, (weightsio.CONFIG_FILE, weightsio.WEIGHTS_FILE), FAMILY)
    except ConfigError as exc:
        raise ConfigError(f"--teacher: {exc}") from None
    teacher = ConvFSENet(DyncpConfig.load(d / weightsio.CONFIG_FILE))
    common.init_from(teacher, folder)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def distil_targets(
    teacher: ConvFSENet, xa: torch.Tensor, pr: torch.Tensor, pi: torch.Tensor, c: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """|g_t X|^c e^{i<X} (re, im): the teacher's enhanced spectrum as a loss target (the teacher keeps X's phase)."""
    with torch.no_grad():
        gt, _ = teacher(xa)
        yt = gt.clamp_min(1e-12) ** c * xa
    return yt * pr, yt * pi


def ratio_loss(fracs: torch.Tensor, target: float) -> torch.Tensor:
    if fracs.numel() == 0:
        return torch.zeros(())
    return torch.mean((fracs - target) ** 2)


# ---- training --------------------------------------------------------------------------


def train(
    base: DyncpConfig,
    tc: TrainConfig,
    out_dir: Path,
    work_dir: Path,
    data_dir: Path | None,
    command: str,
    threads: int = 1,
) -> Path:
    torch.set_num_threads(threads)
    cfg = model_config(base, tc.keep_ratio)
    run = common.start_run(FAMILY, tc, cfg.to_json(), _recipe(tc), out_dir, work_dir, data_dir, command, frontend.stft)
    log, ss, data, val_idx, train_idx = run.log, run.ss, run.data, run.val_idx, run.train_idx
    n, val_n = len(ss.ids), len(val_idx)
    frames = sum(ss.noisy[i].shape[0] for i in train_idx)
    log(f"data {data}: {len(train_idx)} train utterances ({frames} frames, {frames * 0.016:.0f} s), {val_n} validation")
    train_b = Batcher(ss, train_idx, tc.compress)
    val_b = Batcher(ss, val_idx, tc.compress) if val_n else None

    torch.manual_seed(tc.seed)
    model = ConvFSENet(cfg, tc.gate_init_bias)
    if tc.init:
        added = common.init_from(model, tc.init, may_add=lambda k: ".gate." in k)  # a static parent: gates start fresh
        log(
            f"initialised from {tc.init}"
            + (f"; {len(added)} gate parameters start from their initialisation" if added else "")
        )
    teacher = load_teacher(tc.teacher) if tc.teacher else None
    if teacher is not None:
        log(f"distilling from {tc.teacher} (weight {tc.teacher_weight})")
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = np.random.default_rng([tc.seed, 1])
    step, elapsed_before = run.resume(model, opt, rng, "delete it, use --fresh or another --work dir")
    log(
        f"model {cfg.name}: {cfg.n_params()} params, {cfg.n_blocks} blocks (gated {cfg.gated}), "
        f"MACs/frame all kept {cfg.macs()}, static {cfg.static_macs()}, keep ratio {tc.keep_ratio}"
    )

    def save_ckpt() -> None:
        run.ckpt.save(model, opt, rng, step, run.elapsed(elapsed_before))

    def validate() -> tuple[float, list[float]]:
        """Validation spectral loss (frame-weighted) and the kept fraction per gated block."""
        if val_b is None:
            return float("nan"), []
        model.eval()
        tot, frames_n = 0.0, 0
        kept = torch.zeros(cfg.n_blocks if cfg.gated else 0)
        with torch.no_grad():
            for xa, *tg in val_b.full():
                g, masks = model(xa)
                t = xa.shape[1]
                tot += float(spectral_loss(g, xa, *tg, c=tc.compress, a=tc.complex_weight)) * t
                kept += kept_fractions(masks) * t
                frames_n += t
        model.train()
        return tot / frames_n, (kept / frames_n).tolist()

    run_spec = run_ratio = None
    run_kept: torch.Tensor | None = None
    stopped_early = False
    while step < tc.steps:
        common.set_lr(opt, common.lr_at(tc, step))
        xa, *tg = train_b.batch(rng, tc.batch, tc.crop_frames)
        g, masks = model(xa)
        spec = spectral_loss(g, xa, *tg, c=tc.compress, a=tc.complex_weight, asym=tc.asym_weight)
        if teacher is not None:
            tr, ti = distil_targets(teacher, xa, tg[0], tg[1], tc.compress)
            soft = spectral_loss(g, xa, tg[0], tg[1], tr, ti, c=tc.compress, a=tc.complex_weight, asym=tc.asym_weight)
            spec = (1 - tc.teacher_weight) * spec + tc.teacher_weight * soft
        fr = kept_fractions(masks)
        target = tc.target_ratio(step)
        rl = ratio_loss(fr, target)
        common.optimise(opt, model, spec + tc.ratio_weight * rl, tc.clip)
        step += 1
        sv, rv, fv = float(spec.detach()), float(rl.detach()), fr.detach()
        run_spec = sv if run_spec is None else 0.95 * run_spec + 0.05 * sv
        run_ratio = rv if run_ratio is None else 0.95 * run_ratio + 0.05 * rv
        run_kept = fv if run_kept is None else 0.95 * run_kept + 0.05 * fv
        minutes = run.elapsed(elapsed_before) / 60
        if step % tc.log_every == 0 or step == tc.steps:
            kept_s = f" target {target:.3f} kept {float(run_kept.mean()):.3f}" if fv.numel() else ""
            log(
                f"step {step} lr {common.lr_at(tc, step - 1):.2e} train spectral {run_spec:.5f} ratio {run_ratio:.5f}"
                f"{kept_s} ({minutes:.1f} min)"
            )
        if step % tc.ckpt_every == 0 or step == tc.steps:
            vl, vk = validate()
            log(f"step {step} validation spectral {vl:.5f} kept per block {common.fmt(vk, 3)}")
            save_ckpt()
        if minutes > tc.max_minutes and step < tc.steps:
            log(f"stopping at step {step}: over the {tc.max_minutes} min wall-clock guard")
            save_ckpt()
            stopped_early = True
            break

    val, kept = validate()
    trained = run.elapsed(elapsed_before)
    dm = DyncpModel(cfg, model.numpy_params())
    mean_kept = float(np.mean(kept)) if kept else 1.0
    expected = cfg.macs([round(k * cfg.conv) for k in kept]) if kept else cfg.macs()
    dm.save(
        out_dir,
        {
            "train": dataclasses.asdict(tc),
            "result": {
                "steps": step,
                "stopped_early": stopped_early,
                "wall_minutes": round(trained / 60, 2),
                "validation_loss": round(val, 6),
                "validation_kept_fraction_per_block": [round(k, 4) for k in kept],
                "validation_kept_fraction_mean": round(mean_kept, 4),
                "validation_macs_per_frame_approx": expected,
                "threads": threads,
                "torch": torch.__version__,
            },
            "data": common.data_record(data, n, val_n, tc),
            "cost": cfg.cost(),
        },
    )
    (out_dir / "COMMAND.txt").write_text(command_text(command, trained, step, threads), encoding="utf-8")
    log(
        f"exported {out_dir} after {step} steps, {trained / 60:.1f} min; validation spectral {val:.5f}, "
        f"kept per block {common.fmt(kept, 3)} (mean {mean_kept:.3f})"
    )
    return out_dir


def command_text(command: str, seconds: float, steps: int, threads: int) -> str:
    """COMMAND.txt: the command, its module form, and how long it took here."""
    return common.command_text(command, FAMILY, "build/dyncp/<model>/ckpt.pt", seconds, steps, threads)


def _recipe(tc: TrainConfig) -> str:
    """What must match for a checkpoint to be resumed (not the logging / guard settings)."""
    return common.recipe(dataclasses.asdict(tc))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench train dyncp", description="Train (DynCP) Conv-FSENet on the CPU.")
    common.add_run_args(
        p,
        DEFAULT_CONFIG,
        out="export directory (default models/dyncp/<config>-r<100 keep ratio>)",
        work="checkpoint directory (default build/dyncp/<config>-r<100 keep ratio>)",
        data="train set directory (default: generate build/dyncp/train-seed<S>-n<N>)",
    )
    common.add_recipe_args(p, TrainConfig, {})
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`bench train dyncp [--config NAME] [--keep-ratio R] [...]`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)

    def run() -> None:
        cfg = get_config(ns.config)
        tc = TrainConfig(**{f.name: getattr(ns, f.name) for f in dataclasses.fields(TrainConfig)})
        name = model_name(cfg, tc.keep_ratio)
        out = Path(ns.out) if ns.out else REPO / "models" / FAMILY / name
        work = Path(ns.work) if ns.work else REPO / "build" / FAMILY / name
        command = common.prepare(FAMILY, args, ns, work)
        train(cfg, tc, out, work, Path(ns.data) if ns.data else None, command, ns.threads)

    return common.guarded(run)


if __name__ == "__main__":
    raise SystemExit(main())
