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
   ``keep_ratio == 1`` trains the static (ungated) Conv-FSENet;
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
import json
import math
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.data.audio import to_float
from bench.errors import BenchError, ConfigError
from bench.models.dyncp import frontend
from bench.models.dyncp.config import DEFAULT_CONFIG, DyncpConfig, get_config
from bench.models.dyncp.reference import DyncpModel
from bench.train.dyncp_model import ConvFSENet

REPO = Path(__file__).resolve().parents[2]
CKPT = "ckpt.pt"


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
    ckpt_every: int = 200
    log_every: int = 50
    max_minutes: float = 45.0  # wall-clock guard: export what there is and stop

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ConfigError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")
        if self.steps < 1 or self.batch < 1 or self.crop_frames < 8:
            raise ConfigError("steps and batch must be >= 1, crop_frames >= 8")
        if not (0 < self.lr_final <= self.lr < 1):
            raise ConfigError(f"need 0 < lr_final <= lr < 1, got {self.lr_final}, {self.lr}")
        if not 0 < self.compress <= 1 or not 0 <= self.complex_weight <= 1:
            raise ConfigError("compress must be in (0, 1], complex_weight in [0, 1]")
        if self.ratio_weight < 0 or not 0 <= self.ratio_warmup <= 1:
            raise ConfigError("ratio_weight must be >= 0 and ratio_warmup in [0, 1]")
        if not 0 <= self.val_utts < self.n_utts:
            raise ConfigError("val_utts must be in [0, n_utts)")
        if self.ckpt_every < 1 or self.log_every < 1 or self.max_minutes <= 0:
            raise ConfigError("ckpt_every, log_every and max_minutes must be positive")

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


@dataclass(frozen=True, eq=False)
class SpecSet:
    """STFTs of a set: per utterance noisy / clean spectra (T, 257) complex64."""

    ids: tuple[str, ...]
    noisy: tuple[np.ndarray, ...]
    clean: tuple[np.ndarray, ...]


def default_data_dir(tc: TrainConfig) -> Path:
    return REPO / "build" / "dyncp" / f"train-seed{tc.data_seed}-n{tc.n_utts}"


def ensure_train_set(path: Path, tc: TrainConfig, log) -> Path:  # noqa: ANN001
    if (path / "labels.csv").is_file():
        return path
    from bench.data.generate import make_set  # espeak-ng: only when the set is missing

    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    cmd = f"bench data make --seed {tc.data_seed} --out {rel} --split train --n {tc.n_utts}"
    log(f"making the train split: {cmd}")
    make_set(path, tc.data_seed, tc.n_utts, "train", overwrite=True, command=cmd)
    return path


def load_specs(path: Path) -> SpecSet:
    from bench.data.loader import load_set

    ts = load_set(path, 16000)
    ids, noisy, clean = [], [], []
    for u in ts:
        if u.clean is None:
            raise ConfigError(f"{path}: utterance {u.id} has no clean file; training needs clean/noisy pairs")
        ids.append(u.id)
        noisy.append(frontend.stft(to_float(u.noisy)))
        clean.append(frontend.stft(to_float(u.clean)))
    return SpecSet(tuple(ids), tuple(noisy), tuple(clean))


def targets(x: np.ndarray, s: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """Features |X|^c, and the loss targets: unit phasor of X (re, im), |S|^c e^{i<S} (re, im)."""
    ax, as_ = np.abs(x), np.abs(s)
    px = x / np.maximum(ax, 1e-12)
    sc = as_**c * (s / np.maximum(as_, 1e-12))
    return (
        frontend.features(x, c),
        px.real.astype(np.float32),
        px.imag.astype(np.float32),
        sc.real.astype(np.float32),
        sc.imag.astype(np.float32),
    )


class Batcher:
    """Random crops of ``crop`` frames: features |X|^c and loss targets."""

    def __init__(self, ss: SpecSet, idx: Sequence[int], compress: float) -> None:
        self.items = [targets(ss.noisy[i], ss.clean[i], compress) for i in idx]

    def batch(self, rng: np.random.Generator, batch: int, crop: int) -> tuple[torch.Tensor, ...]:
        pick = rng.integers(0, len(self.items), size=batch)
        cols: list[list[np.ndarray]] = [[] for _ in range(5)]
        for j in pick:
            it = self.items[int(j)]
            t = it[0].shape[0]
            if t >= crop:
                o = int(rng.integers(0, t - crop + 1))
                parts = [a[o : o + crop] for a in it]
            else:  # pad short utterances with zero-target silence
                parts = [np.pad(a, ((0, crop - t), (0, 0))) for a in it]
            for col, a in zip(cols, parts, strict=True):
                col.append(a)
        return tuple(torch.from_numpy(np.stack(col)) for col in cols)

    def full(self) -> list[tuple[torch.Tensor, ...]]:
        return [tuple(torch.from_numpy(a[None]) for a in it) for it in self.items]


def spectral_loss(g: torch.Tensor, xa: torch.Tensor, *tg: torch.Tensor, c: float, a: float) -> torch.Tensor:
    """Compressed magnitude + complex MSE of ``g X`` (xa = |X|^c) against the clean target."""
    pr, pi, sr, si = tg
    sa = torch.sqrt(sr * sr + si * si)
    ya = g.clamp_min(1e-12) ** c * xa  # |g X|^c = g^c |X|^c
    mag = torch.mean((ya - sa) ** 2)
    cplx = torch.mean((ya * pr - sr) ** 2 + (ya * pi - si) ** 2)
    return (1 - a) * mag + a * cplx


def kept_fractions(masks: list[torch.Tensor]) -> torch.Tensor:
    """Kept fraction per gated block (straight-through values: binary forward, sigmoid gradient)."""
    if not masks:
        return torch.zeros(0)
    return torch.stack([m.mean() for m in masks])


def ratio_loss(fracs: torch.Tensor, target: float) -> torch.Tensor:
    if fracs.numel() == 0:
        return torch.zeros(())
    return torch.mean((fracs - target) ** 2)


# ---- training --------------------------------------------------------------------------


def _lr(tc: TrainConfig, step: int) -> float:
    warm = min(1.0, (step + 1) / 100)
    cos = 0.5 * (1 + math.cos(math.pi * min(step, tc.steps) / tc.steps))
    return warm * (tc.lr_final + (tc.lr - tc.lr_final) * cos)


def _fmt(v: Sequence[float]) -> str:
    return " ".join(f"{x:.3f}" for x in v)


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
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "train.log"

    def log(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    t0 = time.monotonic()
    ckpt_path = work_dir / CKPT
    resuming = ckpt_path.is_file()
    log(f"{'resume' if resuming else 'start'}: {command}")
    data = data_dir or ensure_train_set(default_data_dir(tc), tc, log)
    ss = load_specs(data)
    n = len(ss.ids)
    if n < 2:
        raise ConfigError(f"{data}: needs at least 2 utterances to train, found {n}")
    val_n = min(tc.val_utts, n - 1)
    order = np.random.default_rng(tc.seed).permutation(n)
    val_idx, train_idx = sorted(order[:val_n].tolist()), sorted(order[val_n:].tolist())
    frames = sum(ss.noisy[i].shape[0] for i in train_idx)
    log(f"data {data}: {len(train_idx)} train utterances ({frames} frames, {frames * 0.016:.0f} s), {val_n} validation")
    train_b = Batcher(ss, train_idx, tc.compress)
    val_b = Batcher(ss, val_idx, tc.compress) if val_n else None

    torch.manual_seed(tc.seed)
    model = ConvFSENet(cfg, tc.gate_init_bias)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = np.random.default_rng([tc.seed, 1])
    step = 0
    elapsed_before = 0.0
    if resuming:
        ck = torch.load(ckpt_path, weights_only=True)
        if ck["model_config"] != cfg.to_json() or _recipe_json(ck["train_config"]) != _recipe(tc):
            raise ConfigError(
                f"{ckpt_path}: checkpoint of a different config or recipe; delete it, use --fresh or another --work dir"
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state = json.loads(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        step = int(ck["step"])
        elapsed_before = float(ck["elapsed_s"])
        log(f"resumed at step {step} ({elapsed_before / 60:.1f} min trained before)")
    log(
        f"model {cfg.name}: {cfg.n_params()} params, {cfg.n_blocks} blocks (gated {cfg.gated}), "
        f"MACs/frame all kept {cfg.macs()}, static {cfg.static_macs()}, keep ratio {tc.keep_ratio}"
    )

    def save_ckpt() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "rng": json.dumps(rng.bit_generator.state),
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "elapsed_s": elapsed_before + time.monotonic() - t0,
                "model_config": cfg.to_json(),
                "train_config": _recipe(tc),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

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
        for gr in opt.param_groups:
            gr["lr"] = _lr(tc, step)
        xa, *tg = train_b.batch(rng, tc.batch, tc.crop_frames)
        g, masks = model(xa)
        spec = spectral_loss(g, xa, *tg, c=tc.compress, a=tc.complex_weight)
        fr = kept_fractions(masks)
        target = tc.target_ratio(step)
        rl = ratio_loss(fr, target)
        loss = spec + tc.ratio_weight * rl
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
        opt.step()
        step += 1
        sv, rv, fv = float(spec.detach()), float(rl.detach()), fr.detach()
        run_spec = sv if run_spec is None else 0.95 * run_spec + 0.05 * sv
        run_ratio = rv if run_ratio is None else 0.95 * run_ratio + 0.05 * rv
        run_kept = fv if run_kept is None else 0.95 * run_kept + 0.05 * fv
        minutes = (elapsed_before + time.monotonic() - t0) / 60
        if step % tc.log_every == 0 or step == tc.steps:
            kept_s = f" target {target:.3f} kept {float(run_kept.mean()):.3f}" if fv.numel() else ""
            log(
                f"step {step} lr {_lr(tc, step - 1):.2e} train spectral {run_spec:.5f} ratio {run_ratio:.5f}"
                f"{kept_s} ({minutes:.1f} min)"
            )
        if step % tc.ckpt_every == 0 or step == tc.steps:
            vl, vk = validate()
            log(f"step {step} validation spectral {vl:.5f} kept per block {_fmt(vk)}")
            save_ckpt()
        if minutes > tc.max_minutes and step < tc.steps:
            log(f"stopping at step {step}: over the {tc.max_minutes} min wall-clock guard")
            save_ckpt()
            stopped_early = True
            break

    val, kept = validate()
    trained = elapsed_before + time.monotonic() - t0
    dm = DyncpModel(cfg, model.numpy_params())
    rel_data = data.relative_to(REPO) if data.is_relative_to(REPO) else data
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
            "data": {
                "train_set": str(rel_data),
                "utterances": n,
                "validation_utterances": val_n,
                "generator": f"bench data make --seed {tc.data_seed} --split train --n {tc.n_utts}",
            },
            "cost": cfg.cost(),
        },
    )
    (out_dir / "COMMAND.txt").write_text(command_text(command, trained, step, threads), encoding="utf-8")
    log(
        f"exported {out_dir} after {step} steps, {trained / 60:.1f} min; validation spectral {val:.5f}, "
        f"kept per block {_fmt(kept)} (mean {mean_kept:.3f})"
    )
    return out_dir


def command_text(command: str, seconds: float, steps: int, threads: int) -> str:
    """COMMAND.txt: the command, its module form, and how long it took here."""
    module = command.replace("bench train dyncp", "python -m bench.train.dyncp", 1)
    return (
        f"{command}\n"
        f"# same as: {module}\n"
        f"# {steps} steps in {seconds / 60:.1f} min wall time on {threads} CPU thread(s), torch {torch.__version__}\n"
        "# resumes from build/dyncp/<model>/ckpt.pt when run again; --fresh starts over\n"
    )


def _recipe_json(text: str) -> str:
    d = json.loads(text)
    for k in ("ckpt_every", "log_every", "max_minutes"):
        d.pop(k, None)
    return json.dumps(d, sort_keys=True)


def _recipe(tc: TrainConfig) -> str:
    """What must match for a checkpoint to be resumed (not the logging / guard settings)."""
    return _recipe_json(json.dumps(dataclasses.asdict(tc)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench train dyncp", description="Train (DynCP) Conv-FSENet on the CPU.")
    p.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"model config name or config.json (default {DEFAULT_CONFIG})"
    )
    p.add_argument("--out", help="export directory (default models/dyncp/<config>-r<100 keep ratio>)")
    p.add_argument("--work", help="checkpoint directory (default build/dyncp/<config>-r<100 keep ratio>)")
    p.add_argument("--data", help="train set directory (default: generate build/dyncp/train-seed<S>-n<N>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--fresh", action="store_true", help="delete an existing checkpoint instead of resuming")
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
            help=f"(default {getattr(defaults, f.name)})",
        )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`bench train dyncp [--config NAME] [--keep-ratio R] [...]`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)
    try:
        cfg = get_config(ns.config)
        tc = TrainConfig(**{f.name: getattr(ns, f.name) for f in dataclasses.fields(TrainConfig)})
        name = model_name(cfg, tc.keep_ratio)
        out = Path(ns.out) if ns.out else REPO / "models" / "dyncp" / name
        work = Path(ns.work) if ns.work else REPO / "build" / "dyncp" / name
        if ns.fresh and (work / CKPT).exists():
            (work / CKPT).unlink()
        if ns.threads < 1:
            raise ConfigError("--threads must be >= 1")
        command = "bench train dyncp " + shlex.join(a for a in args if a != "--fresh")
        train(cfg, tc, out, work, Path(ns.data) if ns.data else None, command.strip(), ns.threads)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
