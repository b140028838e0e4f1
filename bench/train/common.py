"""What the family trainers (bench.train.nsnet2, bench.train.dyncp) share.

The train split, its spectra, the loss targets and the compressed spectral loss, random
crops, the learning-rate schedule, the log, the checkpoint (save / resume), COMMAND.txt,
the recipe options of the parser and the error wrapper of ``main``. A family module keeps
its model, its own loss terms, its training loop and its export.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.data.audio import to_float
from bench.errors import BenchError, ConfigError

REPO = Path(__file__).resolve().parents[2]
CKPT = "ckpt.pt"
# recipe fields that may change between a checkpoint and its resume
_NOT_RECIPE = ("ckpt_every", "log_every", "max_minutes")


def rel(path: Path) -> Path:
    """``path`` relative to the repository when it lies inside it."""
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


# ---- recipe ------------------------------------------------------------------------------


def check_optim(tc: Any) -> None:  # noqa: ANN401
    """Checks of the recipe fields every family has: steps, batch, crop, lr, loss."""
    if tc.steps < 1 or tc.batch < 1 or tc.crop_frames < 8:
        raise ConfigError("steps and batch must be >= 1, crop_frames >= 8")
    if not (0 < tc.lr_final <= tc.lr < 1):
        raise ConfigError(f"need 0 < lr_final <= lr < 1, got {tc.lr_final}, {tc.lr}")
    if not 0 < tc.compress <= 1 or not 0 <= tc.complex_weight <= 1:
        raise ConfigError("compress must be in (0, 1], complex_weight in [0, 1]")


def check_run(tc: Any) -> None:  # noqa: ANN401
    """Checks of the data split and the run settings every family has."""
    if not 0 <= tc.val_utts < tc.n_utts:
        raise ConfigError("val_utts must be in [0, n_utts)")
    if tc.ckpt_every < 1 or tc.log_every < 1 or tc.max_minutes <= 0:
        raise ConfigError("ckpt_every, log_every and max_minutes must be positive")


def lr_at(tc: Any, step: int) -> float:  # noqa: ANN401
    """Linear warm-up over 100 steps times cosine decay from ``lr`` to ``lr_final``."""
    warm = min(1.0, (step + 1) / 100)
    cos = 0.5 * (1 + math.cos(math.pi * min(step, tc.steps) / tc.steps))
    return warm * (tc.lr_final + (tc.lr - tc.lr_final) * cos)


def recipe_json(text: str) -> str:
    """The recipe JSON without the logging / guard settings, keys sorted."""
    d = json.loads(text)
    for k in _NOT_RECIPE:
        d.pop(k, None)
    if not d.get("init"):  # random initialisation: as recipes were before --init existed
        d.pop("init", None)
    return json.dumps(d, sort_keys=True)


def recipe(d: dict) -> str:
    """What must match for a checkpoint to be resumed (not the logging / guard settings)."""
    return recipe_json(json.dumps(d))


def fmt(v: Sequence[float], digits: int) -> str:
    return " ".join(f"{x:.{digits}f}" for x in v)


# ---- data --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpecSet:
    """STFTs of a set: per utterance noisy / clean spectra (T, bins) complex64."""

    ids: tuple[str, ...]
    noisy: tuple[np.ndarray, ...]
    clean: tuple[np.ndarray, ...]


def default_data_dir(family: str, tc: Any) -> Path:  # noqa: ANN401
    return REPO / "build" / family / f"train-seed{tc.data_seed}-n{tc.n_utts}"


def ensure_train_set(path: Path, tc: Any, log: Callable[[str], None]) -> Path:  # noqa: ANN401
    if (path / "labels.csv").is_file():
        return path
    from bench.data.generate import make_set  # espeak-ng: only when the set is missing

    cmd = f"bench data make --seed {tc.data_seed} --out {rel(path)} --split train --n {tc.n_utts}"
    log(f"making the train split: {cmd}")
    make_set(path, tc.data_seed, tc.n_utts, "train", overwrite=True, command=cmd)
    return path


def load_specs(path: Path, stft: Callable[[np.ndarray], np.ndarray]) -> SpecSet:
    """Noisy / clean spectra of every utterance of the set at ``path`` (16 kHz)."""
    from bench.data.loader import load_set

    ts = load_set(path, 16000)
    ids, noisy, clean = [], [], []
    for u in ts:
        if u.clean is None:
            raise ConfigError(f"{path}: utterance {u.id} has no clean file; training needs clean/noisy pairs")
        ids.append(u.id)
        noisy.append(stft(to_float(u.noisy)))
        clean.append(stft(to_float(u.clean)))
    return SpecSet(tuple(ids), tuple(noisy), tuple(clean))


def split(ss: SpecSet, tc: Any, data: Path) -> tuple[list[int], list[int]]:  # noqa: ANN401
    """(validation, train) utterance indices: ``val_utts`` (at most n - 1) drawn with ``seed``."""
    n = len(ss.ids)
    if n < 2:
        raise ConfigError(f"{data}: needs at least 2 utterances to train, found {n}")
    val_n = min(tc.val_utts, n - 1)
    order = np.random.default_rng(tc.seed).permutation(n)
    return sorted(order[:val_n].tolist()), sorted(order[val_n:].tolist())


def set_command(data: Path) -> str | None:
    """The command a generated set records in its README.md (first line of its code block)."""
    readme = data / "README.md"
    if not readme.is_file():
        return None
    lines = readme.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "```" and lines[i + 1].startswith("bench data make"):
            return lines[i + 1].strip()
    return None


def data_record(data: Path, n: int, val_n: int, tc: Any) -> dict:  # noqa: ANN401
    """The "data" block of an exported config.json: the set's own command when it records one
    (a --data set such as the diverse mix), else the recipe's default split."""
    return {
        "train_set": str(rel(data)),
        "utterances": n,
        "validation_utterances": val_n,
        "generator": set_command(data) or f"bench data make --seed {tc.data_seed} --split train --n {tc.n_utts}",
    }


def phasor_targets(x: np.ndarray, s: np.ndarray, c: float) -> tuple[np.ndarray, ...]:
    """Loss targets: unit phasor of X (re, im), |S|^c e^{i<S} (re, im), float32."""
    ax, as_ = np.abs(x), np.abs(s)
    px = x / np.maximum(ax, 1e-12)
    sc = as_**c * (s / np.maximum(as_, 1e-12))
    return (
        px.real.astype(np.float32),
        px.imag.astype(np.float32),
        sc.real.astype(np.float32),
        sc.imag.astype(np.float32),
    )


def spectral_loss(
    g: torch.Tensor, xa: torch.Tensor, *tg: torch.Tensor, c: float, a: float, asym: float = 0.0
) -> torch.Tensor:
    """Compressed magnitude + complex MSE of ``g X`` (xa = |X|^c) against the clean target.

    ``tg``: the unit phasor of X (re, im), |S|^c e^{i<S} (re, im) (see phasor_targets).
    ``asym`` > 0 adds ``asym * mean(max(|S|^c - |gX|^c, 0)^2)`` to the magnitude term: speech
    the gain suppresses (an under-estimate) then costs ``1 + asym`` times as much as noise it
    leaves (an over-estimate) -- the asymmetric loss of Wilson et al., "Exploring tradeoffs in
    models for low-latency speech enhancement", IWAENC 2018, against over-suppression.
    """
    pr, pi, sr, si = tg
    sa = torch.sqrt(sr * sr + si * si)
    ya = g.clamp_min(1e-12) ** c * xa  # |g X|^c = g^c |X|^c
    mag = torch.mean((ya - sa) ** 2)
    if asym:
        mag = mag + asym * torch.mean(torch.relu(sa - ya) ** 2)
    cplx = torch.mean((ya * pr - sr) ** 2 + (ya * pi - si) ** 2)
    return (1 - a) * mag + a * cplx


class CropBatcher:
    """Random crops of ``crop`` frames of per-utterance arrays (T, bins), one tuple an utterance."""

    def __init__(self, items: list[tuple[np.ndarray, ...]]) -> None:
        self.items = items

    def batch(self, rng: np.random.Generator, batch: int, crop: int) -> tuple[torch.Tensor, ...]:
        pick = rng.integers(0, len(self.items), size=batch)
        cols: list[list[np.ndarray]] = [[] for _ in self.items[0]]
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


# ---- run ---------------------------------------------------------------------------------


def init_from(model: torch.nn.Module, init_dir: str, may_add: Callable[[str], bool] = lambda k: False) -> list[str]:
    """Start ``model`` from an exported model's weights.npz (fine-tuning; the recipe's ``init``).

    Every parameter must be there with its shape: a model of another topology is refused, except
    parameters ``may_add`` accepts (e.g. DynCP's channel gates, which a static parent lacks): those
    keep their initialisation. Returns the names of the parameters so kept."""
    path = Path(init_dir) / "weights.npz"
    if not path.is_file():
        raise ConfigError(f"--init {init_dir}: no weights.npz there; give an exported model folder")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    own = model.state_dict()
    missing = sorted(set(own) - set(arrays))
    added = [k for k in missing if may_add(k)]
    missing = [k for k in missing if not may_add(k)]
    bad = sorted(k for k in own if k in arrays and tuple(arrays[k].shape) != tuple(own[k].shape))
    if missing or bad:
        raise ConfigError(
            f"--init {init_dir}: not this model's topology (missing {missing[:3]}, other shapes {bad[:3]}); "
            "give a model of the same config"
        )
    state = {k: torch.from_numpy(np.asarray(arrays[k], dtype=np.float32)) for k in own if k not in added}
    model.load_state_dict({**own, **state})
    return added


def file_logger(path: Path) -> Callable[[str], None]:
    """A log function: time-stamped lines to stdout and appended to ``path``."""

    def log(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    return log


def optimise(opt: torch.optim.Optimizer, model: torch.nn.Module, loss: torch.Tensor, clip: float) -> None:
    """One step: backward, gradient-norm clipping, update."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


@dataclass
class Checkpoint:
    """``<work>/ckpt.pt``: model, optimiser, both RNGs, step and trained time of a run."""

    path: Path
    model_config: str  # cfg.to_json()
    recipe: str  # recipe(...)

    def save(
        self, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator, step: int, elapsed: float
    ) -> None:
        tmp = self.path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "rng": json.dumps(rng.bit_generator.state),
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "elapsed_s": elapsed,
                "model_config": self.model_config,
                "train_config": self.recipe,
            },
            tmp,
        )
        tmp.replace(self.path)

    def load(
        self, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator, hint: str
    ) -> tuple[int, float]:
        """Restore the run into model, opt and rng; returns (step, seconds trained before)."""
        ck = torch.load(self.path, weights_only=True)
        if ck["model_config"] != self.model_config or recipe_json(ck["train_config"]) != self.recipe:
            raise ConfigError(f"{self.path}: checkpoint of a different config or recipe; {hint}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        rng.bit_generator.state = json.loads(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        return int(ck["step"]), float(ck["elapsed_s"])


@dataclass(frozen=True, eq=False)
class Run:
    """A started training run: its log, checkpoint, clock and data split."""

    log: Callable[[str], None]
    ckpt: Checkpoint
    t0: float  # time.monotonic() at the start
    resuming: bool
    data: Path
    ss: SpecSet
    val_idx: list[int]
    train_idx: list[int]

    def elapsed(self, before: float) -> float:
        """Seconds trained: ``before`` (from the checkpoint) plus this run's."""
        return before + time.monotonic() - self.t0

    def resume(
        self, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator, hint: str
    ) -> tuple[int, float]:
        """(step, seconds trained before): from the checkpoint when resuming, else (0, 0.0)."""
        if not self.resuming:
            return 0, 0.0
        step, before = self.ckpt.load(model, opt, rng, hint)
        self.log(f"resumed at step {step} ({before / 60:.1f} min trained before)")
        return step, before


def start_run(
    family: str,
    tc: Any,  # noqa: ANN401
    model_config: str,
    recipe_text: str,
    out_dir: Path,
    work_dir: Path,
    data_dir: Path | None,
    command: str,
    stft: Callable[[np.ndarray], np.ndarray],
) -> Run:
    """Make the directories, open the log, make / load the train set and split it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    log = file_logger(out_dir / "train.log")
    t0 = time.monotonic()
    ckpt = Checkpoint(work_dir / CKPT, model_config, recipe_text)
    resuming = ckpt.path.is_file()
    log(f"{'resume' if resuming else 'start'}: {command}")
    data = data_dir or ensure_train_set(default_data_dir(family, tc), tc, log)
    ss = load_specs(data, stft)
    val_idx, train_idx = split(ss, tc, data)
    return Run(log, ckpt, t0, resuming, data, ss, val_idx, train_idx)


def command_text(command: str, family: str, ckpt: str, seconds: float, steps: int, threads: int) -> str:
    """COMMAND.txt: the command, its module form, and how long it took here."""
    module = command.replace(f"bench train {family}", f"python -m bench.train.{family}", 1)
    return (
        f"{command}\n"
        f"# same as: {module}\n"
        f"# {steps} steps in {seconds / 60:.1f} min wall time on {threads} CPU thread(s), torch {torch.__version__}\n"
        f"# resumes from {ckpt} when run again; --fresh starts over\n"
    )


# ---- command line ------------------------------------------------------------------------


def add_run_args(p: argparse.ArgumentParser, default_config: str, out: str, work: str, data: str) -> None:
    """The options every trainer has; ``out`` / ``work`` / ``data`` are the help texts."""
    p.add_argument(
        "--config", default=default_config, help=f"model config name or config.json (default {default_config})"
    )
    p.add_argument("--out", help=out)
    p.add_argument("--work", help=work)
    p.add_argument("--data", help=data)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--fresh", action="store_true", help="delete an existing checkpoint instead of resuming")


def add_recipe_args(p: argparse.ArgumentParser, cls: type, special: dict[str, Callable[[], None]]) -> None:
    """One ``--name`` option a recipe field, typed and defaulted from ``cls()``; ``special`` adds its own."""
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name in special:
            special[f.name]()
            continue
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
            help=f"(default {getattr(defaults, f.name)})",
        )


def prepare(family: str, args: Sequence[str], ns: argparse.Namespace, work: Path) -> str:
    """--fresh (delete the checkpoint in ``work``), the --threads check; returns the command string."""
    if ns.fresh and (work / CKPT).exists():
        (work / CKPT).unlink()
    if ns.threads < 1:
        raise ConfigError("--threads must be >= 1")
    return (f"bench train {family} " + shlex.join(a for a in args if a != "--fresh")).strip()


def guarded(run: Callable[[], Any]) -> int:
    """Run ``run()``; a BenchError prints ``error: ...`` and gives status 1, else 0."""
    try:
        run()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
