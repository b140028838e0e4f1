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
from bench.models.nsnet2 import frontend
from bench.models.nsnet2.config import DEFAULT_CONFIG, Nsnet2Config, get_config
from bench.models.nsnet2.reference import Nsnet2Model
from bench.train.nsnet2_model import EarlyExitNsnet2

REPO = Path(__file__).resolve().parents[2]
CKPT = "ckpt.pt"


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
    ckpt_every: int = 200
    log_every: int = 50
    max_minutes: float = 55.0  # wall-clock guard: export what there is and stop

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.crop_frames < 8:
            raise ConfigError("steps and batch must be >= 1, crop_frames >= 8")
        if not (0 < self.lr_final <= self.lr < 1):
            raise ConfigError(f"need 0 < lr_final <= lr < 1, got {self.lr_final}, {self.lr}")
        if not 0 < self.compress <= 1 or not 0 <= self.complex_weight <= 1:
            raise ConfigError("compress must be in (0, 1], complex_weight in [0, 1]")
        if any(w < 0 for w in self.exit_weights) or (self.exit_weights and sum(self.exit_weights) <= 0):
            raise ConfigError(f"exit_weights must be non-negative with a positive sum, got {self.exit_weights}")
        if not 0 <= self.val_utts < self.n_utts:
            raise ConfigError("val_utts must be in [0, n_utts)")
        if self.ckpt_every < 1 or self.log_every < 1 or self.max_minutes <= 0:
            raise ConfigError("ckpt_every, log_every and max_minutes must be positive")

    def weights_for(self, n_exits: int) -> np.ndarray:
        if not self.exit_weights:
            return np.full(n_exits, 1.0 / n_exits)
        if len(self.exit_weights) != n_exits:
            raise ConfigError(f"exit_weights has {len(self.exit_weights)} entries, the model has {n_exits} exits")
        w = np.asarray(self.exit_weights, float)
        return w / w.sum()


# ---- data ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpecSet:
    """STFTs of a set: per utterance noisy / clean spectra (T, 161) complex64."""

    ids: tuple[str, ...]
    noisy: tuple[np.ndarray, ...]
    clean: tuple[np.ndarray, ...]


def default_data_dir(tc: TrainConfig) -> Path:
    return REPO / "build" / "nsnet2" / f"train-seed{tc.data_seed}-n{tc.n_utts}"


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


class Batcher:
    """Random crops of ``crop`` frames; features (normalised log power) and loss targets."""

    def __init__(
        self, ss: SpecSet, idx: Sequence[int], mean: np.ndarray, std: np.ndarray, eps: float, compress: float
    ) -> None:
        self.items = []
        for i in idx:
            x, s = ss.noisy[i], ss.clean[i]
            feat = (frontend.log_power(x, eps) - mean) / std
            self.items.append((feat.astype(np.float32), *_targets(x, s, compress)))

    def batch(self, rng: np.random.Generator, batch: int, crop: int) -> tuple[torch.Tensor, ...]:
        pick = rng.integers(0, len(self.items), size=batch)
        cols: list[list[np.ndarray]] = [[] for _ in range(6)]
        for j in pick:
            it = self.items[int(j)]
            t = it[0].shape[0]
            if t >= crop:
                o = int(rng.integers(0, t - crop + 1))
                parts = [a[o : o + crop] for a in it]
            else:  # pad short utterances with zero-target silence
                parts = [np.pad(a, ((0, crop - t), (0, 0))) for a in it]
            for c, a in zip(cols, parts, strict=True):
                c.append(a)
        return tuple(torch.from_numpy(np.stack(c)) for c in cols)

    def full(self) -> list[tuple[torch.Tensor, ...]]:
        return [tuple(torch.from_numpy(a[None]) for a in it) for it in self.items]


def _targets(x: np.ndarray, s: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """|X|^c, unit phasor of X (re, im), |S|^c e^{i<S} (re, im)."""
    ax, as_ = np.abs(x), np.abs(s)
    px = x / np.maximum(ax, 1e-12)
    sc = as_**c * (s / np.maximum(as_, 1e-12))
    return (
        (ax**c).astype(np.float32),
        px.real.astype(np.float32),
        px.imag.astype(np.float32),
        sc.real.astype(np.float32),
        sc.imag.astype(np.float32),
    )


def exit_losses(masks: list[torch.Tensor], *targets: torch.Tensor, c: float, a: float) -> torch.Tensor:
    """Compressed spectral loss of every exit -> tensor (n_exits,).

    ``targets``: |X|^c, the unit phasor of X (re, im), |S|^c e^{i<S} (re, im) (see _targets).
    """
    xa, pr, pi, sr, si = targets
    sa = torch.sqrt(sr * sr + si * si)
    out = []
    for m in masks:
        ya = m.clamp_min(1e-12) ** c * xa  # |g X|^c = g^c |X|^c
        mag = torch.mean((ya - sa) ** 2)
        cplx = torch.mean((ya * pr - sr) ** 2 + (ya * pi - si) ** 2)
        out.append((1 - a) * mag + a * cplx)
    return torch.stack(out)


# ---- training --------------------------------------------------------------------------


def _lr(tc: TrainConfig, step: int) -> float:
    warm = min(1.0, (step + 1) / 100)
    cos = 0.5 * (1 + math.cos(math.pi * min(step, tc.steps) / tc.steps))
    return warm * (tc.lr_final + (tc.lr - tc.lr_final) * cos)


def _fmt(v: Sequence[float]) -> str:
    return " ".join(f"{x:.4f}" for x in v)


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
    mean, std = norm_stats([ss.noisy[i] for i in train_idx], cfg.log_eps)
    frames = sum(ss.noisy[i].shape[0] for i in train_idx)
    log(f"data {data}: {len(train_idx)} train utterances ({frames} frames, {frames / 100:.0f} s), {val_n} validation")
    train_b = Batcher(ss, train_idx, mean, std, cfg.log_eps, tc.compress)
    val_b = Batcher(ss, val_idx, mean, std, cfg.log_eps, tc.compress) if val_n else None

    torch.manual_seed(tc.seed)
    model = EarlyExitNsnet2(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    rng = np.random.default_rng([tc.seed, 1])
    step = 0
    elapsed_before = 0.0
    if resuming:
        ck = torch.load(ckpt_path, weights_only=True)
        if ck["model_config"] != cfg.to_json() or _recipe_json(ck["train_config"]) != _recipe(tc):
            raise ConfigError(
                f"{ckpt_path}: checkpoint of a different config or recipe; delete it or use another --work dir"
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state = json.loads(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        step = int(ck["step"])
        elapsed_before = float(ck["elapsed_s"])
        log(f"resumed at step {step} ({elapsed_before / 60:.1f} min trained before)")
    weights = torch.tensor(tc.weights_for(cfg.n_exits), dtype=torch.float32)
    log(
        f"model {cfg.name}: {cfg.n_params()} params, exits {cfg.exits} ({cfg.exit_kind}), MACs/frame per exit "
        f"{[cfg.macs_for_exit(k) for k in range(cfg.n_exits)]}, exit weights {_fmt(weights.tolist())}"
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
        for g in opt.param_groups:
            g["lr"] = _lr(tc, step)
        f, *tg = train_b.batch(rng, tc.batch, tc.crop_frames)
        per_exit = exit_losses(model(f), *tg, c=tc.compress, a=tc.complex_weight)
        loss = torch.sum(weights * per_exit)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
        opt.step()
        step += 1
        pe = per_exit.detach()
        run_avg = pe if run_avg is None else 0.95 * run_avg + 0.05 * pe
        minutes = (elapsed_before + time.monotonic() - t0) / 60
        if step % tc.log_every == 0 or step == tc.steps:
            log(f"step {step} lr {_lr(tc, step - 1):.2e} train per exit {_fmt(run_avg.tolist())} ({minutes:.1f} min)")
        if step % tc.ckpt_every == 0 or step == tc.steps:
            log(f"step {step} validation per exit {_fmt(validate())}")
            save_ckpt()
        if minutes > tc.max_minutes and step < tc.steps:
            log(f"stopping at step {step}: over the {tc.max_minutes} min wall-clock guard")
            save_ckpt()
            stopped_early = True
            break

    val = validate()
    trained = elapsed_before + time.monotonic() - t0
    nm = Nsnet2Model(cfg, model.numpy_params(), mean, std)
    rel_data = data.relative_to(REPO) if data.is_relative_to(REPO) else data
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
            "data": {
                "train_set": str(rel_data),
                "utterances": n,
                "validation_utterances": val_n,
                "generator": f"bench data make --seed {tc.data_seed} --split train --n {tc.n_utts}",
            },
            "cost": cfg.cost_table(),
        },
    )
    (out_dir / "COMMAND.txt").write_text(command_text(command, trained, step, threads), encoding="utf-8")
    log(f"exported {out_dir} after {step} steps, {trained / 60:.1f} min; validation per exit {_fmt(val)}")
    return out_dir


def _tc_dict(tc: TrainConfig) -> dict:
    d = dataclasses.asdict(tc)
    d["exit_weights"] = list(tc.exit_weights)
    return d


def command_text(command: str, seconds: float, steps: int, threads: int) -> str:
    """COMMAND.txt: the command, its module form, and how long it took here."""
    module = command.replace("bench train nsnet2", "python -m bench.train.nsnet2", 1)
    return (
        f"{command}\n"
        f"# same as: {module}\n"
        f"# {steps} steps in {seconds / 60:.1f} min wall time on {threads} CPU thread(s), torch {torch.__version__}\n"
        "# resumes from build/nsnet2/<config>/ckpt.pt when run again; --fresh starts over\n"
    )


def _recipe_json(text: str) -> str:
    d = json.loads(text)
    for k in ("ckpt_every", "log_every", "max_minutes"):
        d.pop(k, None)
    return json.dumps(d, sort_keys=True)


def _recipe(tc: TrainConfig) -> str:
    """What must match for a checkpoint to be resumed (not the logging / guard settings)."""
    return _recipe_json(json.dumps(_tc_dict(tc)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench train nsnet2", description="Train early-exit nsNet2 on the CPU.")
    p.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"model config name or config.json (default {DEFAULT_CONFIG})"
    )
    p.add_argument("--out", help="export directory (default models/nsnet2/<config>)")
    p.add_argument("--work", help="checkpoint directory (default build/nsnet2/<config>)")
    p.add_argument("--data", help="train set directory (default: generate build/nsnet2/train-seed<S>-n<N>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--fresh", action="store_true", help="delete an existing checkpoint instead of resuming")
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        if f.name == "exit_weights":
            p.add_argument("--exit-weights", type=float, nargs="+", default=[], help="per-exit loss weights")
            continue
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
            help=f"(default {getattr(defaults, f.name)})",
        )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`bench train nsnet2 [--config NAME] [...]`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)
    try:
        cfg = get_config(ns.config)
        kw = {f.name: getattr(ns, f.name) for f in dataclasses.fields(TrainConfig)}
        kw["exit_weights"] = tuple(kw["exit_weights"])
        tc = TrainConfig(**kw)
        out = Path(ns.out) if ns.out else REPO / "models" / "nsnet2" / cfg.name
        work = Path(ns.work) if ns.work else REPO / "build" / "nsnet2" / cfg.name
        if ns.fresh and (work / CKPT).exists():
            (work / CKPT).unlink()
        if ns.threads < 1:
            raise ConfigError("--threads must be >= 1")
        command = "bench train nsnet2 " + shlex.join(a for a in args if a != "--fresh")
        train(cfg, tc, out, work, Path(ns.data) if ns.data else None, command.strip(), ns.threads)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
