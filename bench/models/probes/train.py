"""Train, export and evaluate the mask probes of exported DynCP models.

    bench probes train models/dyncp/dyncp-small-r25 models/dyncp/dyncp-small-r50

Data: the train split of the bench generator (``--data``, default
``build/dyncp/train-seed1-n480``, made by ``bench data make --split train --seed 1 --n 480
--out build/dyncp/train-seed1-n480``; sentences disjoint from the shipped test set's). Per
model: the float reference's mask bits on every noisy utterance (cached under
``build/probes/``), labels at hop 256. Every ``--holdout-every``-th utterance is held out to
choose each probe's L2 weight from a grid (VAD: held-out log-loss; noise class: held-out
cross-entropy; F0: held-out R^2 on voiced frames); the probe is then refitted on all train
utterances with that weight. Writes ``<model>/probes.npz``, ``probes.json`` (classes, probe
order, scales, training and test figures) and ``PROBES_COMMAND.txt``, then evaluates on the
test set (bench.models.probes.evaluate).

``--context K`` (default 0) fits probes on the current frame's mask bits and the previous K
frames' ((K + 1) x 1,152 features, features.context_bits; frames before an utterance's start
are zeros). The C export writes every lag's rows and the firmware keeps the last K masks
(dyncp_probes_add_lag; docs/probes.md for the on-target cost). To keep a context variant apart from the shipped
probes, train it on a copy of the model directory (config.json, weights.npz) outside models/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.loader import load_set
from bench.data.noises import NOISE_CLASSES
from bench.errors import BenchError, ConfigError
from bench.models.dyncp.reference import DyncpModel
from bench.models.probes import inputprobes, linear
from bench.models.probes.evaluate import evaluate_probes
from bench.models.probes.features import FrameSet, context_bits, load_frameset, save_frameset, set_frames
from bench.models.probes.quant import (
    COMMAND_FILE,
    JSON_FILE,
    NPZ_FILE,
    FloatProbes,
    QuantProbes,
    headroom,
    macs_per_frame,
    probe_names,
    quantize,
    save_npz,
)
from bench.paths import repo_root

DEFAULT_DATA = Path("build") / "dyncp" / "train-seed1-n480"
VAD_LAMS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5)
CLASS_LAMS = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
RIDGE_LAMS = (1e1, 3.0, 1.0, 3e-1, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3)
Log = Callable[[str], None]


def split_utts(n_utts: int, every: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) utterance indices: every ``every``-th utterance is held out."""
    if every < 2 or n_utts < every:
        raise ConfigError(f"need --holdout-every >= 2 and at least that many utterances ({n_utts})")
    idx = np.arange(n_utts)
    held = idx % every == every - 1
    return idx[~held], idx[held]


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    return 1.0 - float(np.sum((p - y) ** 2)) / float(np.sum((y - y.mean()) ** 2))


def _sweep(
    fit: Callable[[float, linear.Linear | None], linear.Linear],
    score: Callable[[linear.Linear], dict[str, float]],
    key: str,
    lams: Sequence[float],
    higher_better: bool,
    log: Log,
    name: str,
) -> tuple[float, linear.Linear, list[dict[str, float]]]:
    """Fit along ``lams`` (warm starts), score each on the held-out part, return the best."""
    rows, best, best_fit, prev = [], None, None, None
    for lam in lams:
        t0 = time.time()
        m = fit(lam, prev)
        prev = m
        s: dict[str, Any] = {"lam": lam, **score(m)}
        if m.info is not None:
            s.update(iterations=m.info.iterations, status=m.info.status)
        rows.append(s)
        figs = ", ".join(f"{k} {v:.4f}" for k, v in s.items() if isinstance(v, float) and k != "lam")
        log(f"  {name} lam {lam:g}: {figs} ({time.time() - t0:.0f} s)")
        v = s[key] if higher_better else -s[key]
        if best is None or v > best:
            best, best_fit = v, m
    assert best_fit is not None
    if best_fit.lam in (lams[0], lams[-1]) and len(lams) > 1:
        log(f"  warning: {name}: the best lam {best_fit.lam:g} is at the end of the grid")
    return best_fit.lam, best_fit, rows


def fit_probes(
    fs: FrameSet,
    n_blocks: int,
    n_channels: int,
    classes: Sequence[str] = NOISE_CLASSES,
    holdout_every: int = 5,
    vad_lams: Sequence[float] = VAD_LAMS,
    class_lams: Sequence[float] = CLASS_LAMS,
    ridge_lams: Sequence[float] = RIDGE_LAMS,
    max_iter: int = 500,
    log: Log = lambda s: None,
    context: int = 0,
) -> tuple[FloatProbes, dict[str, Any]]:
    """Fit the three probes on a FrameSet (see the module doc); returns them and the figures.
    ``context``: previous frames in the features (0: the frame's own bits, as exported)."""
    k = len(classes)
    if context:
        fs = replace(fs, bits=context_bits(fs.bits, context, fs.utt_index))
    known = fs.utt_class >= 0  # the class probe: only utterances of a class it knows

    def too_few() -> ConfigError:
        return ConfigError(f"{int(known.sum())} of {fs.n_utts} training utterances have a noise class the probes "
                           f"know ({', '.join(classes)}); the class probe needs some in both the fit and the "
                           f"held-out part (every {holdout_every}th utterance): train on a set made by "
                           "`bench data make`")

    if not known.any():
        raise too_few()
    tr_u, va_u = split_utts(fs.n_utts, holdout_every)
    tr_k, va_k = tr_u[known[tr_u]], va_u[known[va_u]]
    if tr_k.size == 0 or va_k.size == 0:
        raise too_few()
    tr, va = fs.subset(tr_u), fs.subset(va_u)
    x_tr, x_va = tr.bits.astype(np.float32), va.bits.astype(np.float32)
    if known.all():  # the usual case: the class probe sees the same frames, no second copy
        trc, vac, xc_tr, xc_va = tr, va, x_tr, x_va
    else:
        trc, vac = fs.subset(tr_k), fs.subset(va_k)
        xc_tr, xc_va = trc.bits.astype(np.float32), vac.bits.astype(np.float32)
    info: dict[str, Any] = {
        "utterances": {"train": int(tr.n_utts), "held_out": int(va.n_utts),
                       "without_known_class": int((~known).sum())},
        "frames": {"train": int(tr.bits.shape[0]), "held_out": int(va.bits.shape[0]), "all": int(fs.bits.shape[0])},
        "holdout_every": holdout_every,
    }
    x_all = fs.bits.astype(np.float32)

    # VAD: binary logistic
    def vad_score(m: linear.Linear) -> dict[str, float]:
        s = m.scores(x_va)[:, 0]
        return {"log_loss": linear.log_loss(va.vad, s), "accuracy": float(np.mean((s > 0) == va.vad))}

    lam, warm, rows = _sweep(lambda lam, w: linear.fit_logistic(x_tr, tr.vad, lam, w, max_iter), vad_score,
                             "log_loss", vad_lams, False, log, "vad")
    vad = linear.fit_logistic(x_all, fs.vad, lam, warm, max_iter)
    info["vad"] = {"grid": rows, "lam": lam, "select": "held-out log-loss", "held_out": vad_score(warm),
                   "train_accuracy": float(np.mean((vad.scores(x_all)[:, 0] > 0) == fs.vad)),
                   "fit": asdict(vad.info) if vad.info else None}

    # noise class: softmax per frame, utterance = argmax of summed logits
    def cls_score(m: linear.Linear) -> dict[str, float]:
        s = m.scores(xc_va)
        sums = np.zeros((vac.n_utts, k))
        np.add.at(sums, vac.utt_index, s)
        return {"cross_entropy": linear.cross_entropy(vac.frame_class, s),
                "frame_accuracy": float(np.mean(np.argmax(s, axis=1) == vac.frame_class)),
                "utt_accuracy": float(np.mean(np.argmax(sums, axis=1) == vac.utt_class))}

    lam, warm, rows = _sweep(lambda lam, w: linear.fit_softmax(xc_tr, trc.frame_class, k, lam, w, max_iter),
                             cls_score, "cross_entropy", class_lams, False, log, "class")
    kf = known[fs.utt_index]
    cls = (linear.fit_softmax(x_all, fs.frame_class, k, lam, warm, max_iter) if known.all()
           else linear.fit_softmax(x_all[kf], fs.frame_class[kf], k, lam, warm, max_iter))
    info["noise_class"] = {"grid": rows, "lam": lam, "select": "held-out frame cross-entropy",
                           "held_out": cls_score(warm),
                           "fit": asdict(cls.info) if cls.info else None}

    # F0: ridge on voiced frames
    vtr, vva = tr.voiced, va.voiced
    fits = linear.fit_ridge(x_tr[vtr], tr.f0_hz[vtr], ridge_lams)
    rows = []
    for m in fits:
        p = m.scores(x_va[vva])[:, 0]
        y = va.f0_hz[vva].astype(np.float64)
        rows.append({"lam": m.lam, "r2": _r2(y, p), "rmse_hz": float(np.sqrt(np.mean((p - y) ** 2)))})
        log(f"  f0 lam {m.lam:g}: r2 {rows[-1]['r2']:.4f}, rmse {rows[-1]['rmse_hz']:.2f} Hz")
    best = max(range(len(fits)), key=lambda i: rows[i]["r2"])
    f0 = linear.fit_ridge(x_all[fs.voiced], fs.f0_hz[fs.voiced], [fits[best].lam])[0]
    info["f0"] = {"grid": rows, "lam": fits[best].lam, "select": "held-out R2 on voiced frames",
                  "held_out": rows[best], "voiced_frames": int(fs.voiced.sum())}

    w = np.concatenate([vad.weight, cls.weight, f0.weight], axis=1)
    b = np.concatenate([vad.bias, cls.bias, f0.bias])
    return FloatProbes(w, b, tuple(classes), n_blocks, n_channels, context), info


def export_info(fp: FloatProbes, q: QuantProbes) -> dict[str, Any]:
    return {
        "probe_order": list(probe_names(fp.classes)),
        "classes": list(fp.classes),
        "n_blocks": fp.n_blocks,
        "n_channels": fp.n_channels,
        "n_bits": fp.n_bits,
        "context": fp.context,
        "n_features": fp.n_features,
        "macs_per_frame": macs_per_frame(fp),
        "target": "C kernel (dyncp_probes.c)" if fp.context == 0 else
                  "host only: the C kernel scores the current frame's mask (context 0)",
        "bit_order": "bit b*C + c = channel c of gated block b; packed: bit c%32 of word b*ceil(C/32) + c//32",
        "score": "int32 bias[p] + sum over set bits i of int16 weights[i][p]",
        "value": "score * 2^-shift[p] (VAD logit > 0 = speech; class logits; F0 in Hz)",
        "shift": [int(s) for s in q.shift],
        "scale": [float(s) for s in q.scale],
        "max_abs_weight": [int(v) for v in np.abs(q.weights.astype(np.int64)).max(axis=0)],
        "bias": [int(v) for v in q.bias],
        "int32_headroom": [int(v) for v in headroom(q.weights, q.bias)],
        "max_abs_float_weight": [float(v) for v in np.abs(fp.weight).max(axis=0)],
    }


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def train_frames(model_dir: Path, model: DyncpModel, data: Path, log: Log) -> FrameSet:
    """Mask bits + labels of the train split for this model (cached by weights and labels)."""
    cache = repo_root() / "build" / "probes"
    key = _digest(model_dir / "weights.npz", data / "labels.csv", data / "frames_hop256.parquet")
    path = cache / f"{model_dir.name}-{data.name}-{key}.npz"
    if path.is_file():
        log(f"  frames from {path}")
        return load_frameset(str(path))
    t0 = time.time()
    ts = load_set(data, model.config.sample_rate)
    fs = set_frames(model, list(ts), strict=False)  # recorded-music etc.: VAD and F0 only
    cache.mkdir(parents=True, exist_ok=True)
    save_frameset(str(path), fs)
    log(f"  masks of {fs.n_utts} utterances, {fs.bits.shape[0]} frames ({time.time() - t0:.0f} s) -> {path}")
    return fs


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(repo_root()))
    except ValueError:
        return str(p)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.models.probes.train", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="exported gated models (models/dyncp/<name>)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help=f"train split (default {DEFAULT_DATA})")
    ap.add_argument("--set", dest="set_path", default=None, help="test set (default: the shipped one)")
    ap.add_argument("--holdout-every", type=int, default=5, help="hold out every N-th train utterance (5)")
    ap.add_argument("--max-iter", type=int, default=500, help="L-BFGS iterations per fit (500)")
    ap.add_argument("--context", type=int, default=0,
                    help="previous frames' mask bits in the features (0)")
    ap.add_argument("--no-input-probes", action="store_true",
                    help="skip the comparison probes on the input spectrum (float, not exported)")
    ns = ap.parse_args(argv)
    data = Path(ns.data)

    def log(s: str) -> None:
        print(s, flush=True)

    try:
        if not (data / "labels.csv").is_file():
            raise ConfigError(f"{data}: no train split; make it with `bench data make --split train --seed 1 "
                              f"--n 480 --out {data}`")
        ts = load_set(ns.set_path, 16000)
        input_probes: dict[float, dict[str, Any]] = {}
        cmd = ".venv/bin/bench probes train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        for d in map(Path, ns.models):
            t0 = time.time()
            log(f"{d}:")
            model = DyncpModel.load(d)
            cfg = model.config
            if not cfg.gated:
                raise ConfigError(f"{d}: ungated model, no masks to probe")
            fs = train_frames(d, model, data, log)
            fp, info = fit_probes(fs, cfg.n_blocks, cfg.conv, NOISE_CLASSES, ns.holdout_every,
                                  max_iter=ns.max_iter, log=log, context=ns.context)
            q = quantize(fp)
            save_npz(d / NPZ_FILE, fp, q)
            doc: dict[str, Any] = {
                "model": cfg.name,
                "model_dir": _rel(d),
                "features": "float-reference keep-mask bits of the noisy input, hop 256"
                            + (f", and those of the previous {ns.context} frames" if ns.context else ""),
                "data": {"train": _rel(data), "test": _rel(ts.root) if ts.root else None},
                "export": export_info(fp, q),
                "train": info,
            }
            log("  test set ...")
            doc["test"] = evaluate_probes(model, fp, q, ts)
            (d / JSON_FILE).write_text(json.dumps(doc, indent=1) + "\n")
            if not ns.no_input_probes:  # the same for every model with the same front end
                if cfg.compress not in input_probes:
                    log("  comparison probes on the input spectrum ...")
                    fit = partial(fit_probes, holdout_every=ns.holdout_every, max_iter=ns.max_iter)
                    input_probes[cfg.compress] = inputprobes.fit_and_score(
                        model, list(load_set(data, 16000)), list(ts), fit, log)
                doc["input_spectrum_probes"] = input_probes[cfg.compress]
            doc["wall_s"] = round(time.time() - t0, 1)
            (d / JSON_FILE).write_text(json.dumps(doc, indent=1) + "\n")
            (d / COMMAND_FILE).write_text(cmd + "\n")
            t = doc["test"]
            log(f"  test: VAD acc {t['integer']['vad']['accuracy']:.3f}, class acc "
                f"{t['integer']['noise_class']['accuracy']:.3f}, F0 R2 {t['integer']['f0']['r2']:.3f} "
                f"({doc['wall_s']:.0f} s)")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
