"""`bench train mpgru --task TASK [--hidden H] [--epochs N] ...`: trains the GRU classifier of a task
of the mixed-precision GRU family (float, PyTorch, one thread by default), then writes
models/mpgru/<name>/ (config.json, weights.npz, train.log, COMMAND.txt).

Frame-level tasks train on every frame; utterance-level tasks on the last step of random crops
(speech tasks: crops of --crop frames; digits: whole sequences). A checkpoint (build/mpgru/<name>/
ckpt.pt) is written after every epoch; --resume continues from it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from bench.errors import BenchError
from bench.models.mpgru.model import MpgruConfig, float_error, load_model, save_mpgru
from bench.models.mpgru.tasks import load_split, task_spec

REPO = Path(__file__).resolve().parents[2]


class Net(torch.nn.Module):
    def __init__(self, i: int, h: int, c: int):
        super().__init__()
        self.gru = torch.nn.GRU(i, h, batch_first=True)
        self.head = torch.nn.Linear(h, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(x)[0])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench train mpgru", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, help="digits, vad, noise or kws")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--crop", type=int, default=64, help="crop length in frames (speech tasks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", default=None, help="model name (default <task>-h<hidden>)")
    p.add_argument("--out", default=None, help="output folder (default models/mpgru/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    return p


def _batches(xs: list[np.ndarray], ys: list, level: str, crop: int, batch: int,
             rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    order = rng.permutation(len(xs))
    out = []
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        t = min(crop, min(len(xs[i]) for i in idx))
        bx, by = [], []
        for i in idx:
            start = int(rng.integers(0, len(xs[i]) - t + 1))
            bx.append(xs[i][start:start + t])
            by.append(np.asarray(ys[i])[start:start + t] if level == "frame" else ys[i])
        out.append((np.stack(bx), np.stack(by) if level == "frame" else np.array(by)))
    return out


def train(ns: argparse.Namespace, command: str) -> Path:
    spec = task_spec(ns.task)
    name = ns.name or f"{ns.task}-h{ns.hidden}"
    out = Path(ns.out) if ns.out else REPO / "models" / "mpgru" / name
    work = REPO / "build" / "mpgru" / name
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(ns.threads)
    torch.manual_seed(ns.seed)
    rng = np.random.default_rng(ns.seed)
    tr = load_split(ns.task, "train")
    allf = np.concatenate([np.asarray(x) for x in tr.xs])
    mean, std = allf.mean(axis=0), allf.std(axis=0) + 1e-6
    if ns.task == "digits":  # pixels: already 0..1
        mean, std = np.zeros(spec.input_size), np.ones(spec.input_size)
    xs = [((np.asarray(x) - mean) / std).astype(np.float32) for x in tr.xs]
    net = Net(spec.input_size, ns.hidden, spec.n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=ns.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, ns.epochs)
    crop = 10**9 if ns.task == "digits" else ns.crop
    ckpt = work / "ckpt.pt"
    start = 0
    log = []
    if ns.resume and ckpt.is_file():
        st = torch.load(ckpt, weights_only=True)
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        start = int(st["epoch"])
        rng = np.random.default_rng([ns.seed, start])
    t0 = time.time()
    for ep in range(start, ns.epochs):
        net.train()
        tot, n = 0.0, 0
        for bx, by in _batches(xs, list(tr.ys), spec.level, crop, ns.batch, rng):
            logits = net(torch.from_numpy(bx))
            if spec.level == "frame":
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, spec.n_classes),
                                                         torch.from_numpy(by.reshape(-1)))
            else:
                loss = torch.nn.functional.cross_entropy(logits[:, -1], torch.from_numpy(by))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(bx)
            n += len(bx)
        sched.step()
        line = f"epoch {ep + 1}/{ns.epochs} loss {tot / max(n, 1):.4f} ({time.time() - t0:.0f} s)"
        print(line, flush=True)
        log.append(line)
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": ep + 1}, ckpt)
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    params = {"weight_ih": sd["gru.weight_ih_l0"], "weight_hh": sd["gru.weight_hh_l0"],
              "bias_ih": sd["gru.bias_ih_l0"], "bias_hh": sd["gru.bias_hh_l0"],
              "head_weight": sd["head.weight"], "head_bias": sd["head.bias"]}
    # input range (normalised train features, 0.05 / 99.95 percentiles) and the logits' scale
    allx = np.concatenate(xs)
    lo, hi = float(np.percentile(allx, 0.05)), float(np.percentile(allx, 99.95))
    with torch.no_grad():
        lg = np.concatenate([net(torch.from_numpy(x[None]))[0].numpy() for x in xs[:200]])
    cfg = MpgruConfig(name, ns.task, spec.input_size, ns.hidden, spec.n_classes, spec.level, lo, hi,
                      float(np.abs(lg).max() * 1.5 / 32767), tuple(float(v) for v in mean),
                      tuple(float(v) for v in std))
    save_mpgru(out, cfg, params, {"train": {"epochs": ns.epochs, "seed": ns.seed, "lr": ns.lr,
                                            "batch": ns.batch, "crop": ns.crop}})
    m = load_model(out)
    te = load_split(ns.task, "test")
    err = float_error(m, te)
    log.append(f"float test error {err:.4f} ({len(te)} sequences)")
    print(log[-1])
    (out / "train.log").write_text("\n".join(log) + "\n")
    (out / "COMMAND.txt").write_text(command + "\n")
    doc = json.loads((out / "config.json").read_text())
    doc["float_test_error"] = err
    (out / "config.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)
    try:
        train(ns, "bench train mpgru " + shlex.join(args))
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
