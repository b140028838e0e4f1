"""Candidate weights against the shipped ones, on several test sets, with bootstrap intervals.

    python -m bench.train.assess --family dyncp --shipped models/dyncp/dyncp-small-r100 \\
        --candidate models/candidates-issue18/dyncp/dyncp-small-r100 \\
        --set shipped --set build/data/real-seed0 [--json OUT.json]

For every set and model (float reference, output rounded to int16, as ``bench evaluate``):
PESQ-WB, STOI and SI-SDR per utterance; per model the mean, the improvement over the noisy
input with its 95 % percentile-bootstrap interval (bench.metrics.compare.bootstrap_mean_ci,
paired by utterance), and the candidate's change against the shipped model (paired, with
its interval). It writes nothing into the model folders (numpy only: no torch needed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.loader import load_set
from bench.errors import BenchError, ConfigError
from bench.metrics.compare import bootstrap_mean_ci
from bench.metrics.quality import EVALUATION_METRICS
from bench.metrics.quality import METRICS as QUALITY

METRICS = {m: QUALITY[m] for m in EVALUATION_METRICS}
FAMILIES = ("nsnet2", "dyncp")


def _cached(cache: Path | None, key: str, compute: Any) -> dict[str, dict[str, float]]:  # noqa: ANN401
    """``compute()``, kept in ``cache/<sha>.json`` under a key of the inputs' contents."""
    if cache is None:
        return compute()
    key = f"{key}|{','.join(METRICS)}"  # scores kept before a metric was added are not reused
    path = cache / (hashlib.sha256(key.encode()).hexdigest()[:20] + ".json")
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))["scores"]
    scores = compute()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "scores": scores}), encoding="utf-8")
    return scores


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p.is_file() else b"-")
    return h.hexdigest()[:16]


def _set_key(set_path: str | None) -> str:
    root = Path(set_path) if set_path else Path(__file__).resolve().parents[1] / "data" / "testset"
    return f"{root.resolve()}:{_digest(root / 'labels.csv')}"


def _per_utt_model(family: str, model_dir: Path, set_path: str | None) -> dict[str, dict[str, float]]:
    """Per-utterance scores of the model (nsnet2: its last exit; dyncp: the model)."""
    if family == "nsnet2":
        from bench.models.nsnet2.evaluate import evaluate as ev_nsnet2

        res = ev_nsnet2(str(model_dir), set_path, thresholds=())
        static = [r for r in res["rows"] if r["kind"] == "static"]
        return static[-1]["per_utterance"]
    from bench.models.dyncp.evaluate import evaluate as ev_dyncp

    res = ev_dyncp([model_dir], set_path)
    return next(r for r in res["rows"] if r["kind"] != "noisy")["per_utterance"]


def _per_utt_noisy(set_path: str | None) -> dict[str, dict[str, float]]:
    ts = load_set(set_path, 16000)
    return {u.id: {m: float(f(u.clean, u.noisy, 16000)) for m, f in METRICS.items()} for u in ts if u.clean is not None}


def _ci(values: Sequence[float]) -> dict[str, float]:
    mean, lo, hi = bootstrap_mean_ci(np.asarray(values, dtype=float))
    return {"mean": float(mean), "ci_low": float(lo), "ci_high": float(hi)}


def assess(
    family: str, models: dict[str, Path], sets: Sequence[str | None], reference: str, cache: Path | None = None
) -> dict[str, Any]:
    """Scores of ``models`` (label -> folder) on ``sets``; deltas against noisy and ``reference``.

    ``cache``: a folder keeping per-utterance scores by the contents of the weights, config
    and the set's labels, so that a second call scores only what is new."""
    if family not in FAMILIES:
        raise ConfigError(f"family must be one of {FAMILIES}, got {family!r}")
    if reference not in models:
        raise ConfigError(f"reference {reference!r} is not among the models {sorted(models)}")
    out: dict[str, Any] = {"family": family, "reference": reference, "sets": []}
    for s in sets:
        sk = _set_key(s)
        noisy = _cached(cache, f"noisy|{sk}", lambda s=s: _per_utt_noisy(s))
        utts = sorted(noisy)
        per = {
            label: _cached(
                cache,
                f"{family}|{_digest(d / 'weights.npz', d / 'config.json')}|{sk}",
                lambda d=d, s=s: _per_utt_model(family, d, s),
            )
            for label, d in models.items()
        }
        block: dict[str, Any] = {"set": s or "shipped", "utterances": len(utts), "noisy": {}, "models": {}}
        for m in METRICS:
            block["noisy"][m] = float(np.mean([noisy[u][m] for u in utts]))
        for label, sc in per.items():
            row: dict[str, Any] = {"model": str(models[label])}
            for m in METRICS:
                row[m] = float(np.mean([sc[u][m] for u in utts]))
                row[f"{m}_vs_noisy"] = _ci([sc[u][m] - noisy[u][m] for u in utts])
                if label != reference:
                    row[f"{m}_vs_{reference}"] = _ci([sc[u][m] - per[reference][u][m] for u in utts])
            block["models"][label] = row
        out["sets"].append(block)
    return out


def markdown(res: dict[str, Any]) -> str:
    ref = res["reference"]
    lines = [
        f"| set | model | PESQ-WB | vs noisy [95 % CI] | STOI | vs noisy [95 % CI] | PESQ-WB vs {ref} [95 % CI] |",
        "|---|---|---|---|---|---|---|",
    ]

    def f(d: dict[str, float], digits: int) -> str:
        return f"{d['mean']:+.{digits}f} [{d['ci_low']:+.{digits}f}, {d['ci_high']:+.{digits}f}]"

    for b in res["sets"]:
        n = b["noisy"]
        lines.append(f"| {b['set']} ({b['utterances']}) | noisy | {n['pesq_wb']:.3f} | - | {n['stoi']:.3f} | - | - |")
        for label, r in b["models"].items():
            vs = f(r[f"pesq_wb_vs_{ref}"], 3) if f"pesq_wb_vs_{ref}" in r else "-"
            lines.append(
                f"| | {label} | {r['pesq_wb']:.3f} | {f(r['pesq_wb_vs_noisy'], 3)} | {r['stoi']:.3f} | "
                f"{f(r['stoi_vs_noisy'], 4)} | {vs} |"
            )
    return "\n".join(lines) + "\n"


LABELS = {"pesq_wb": "PESQ-WB", "pesq_nb": "PESQ-NB", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR (dB)"}


def fidelity_markdown(res: dict[str, Any]) -> str:
    """Every metric per set and model: the mean and, for a model, its change against the noisy input
    with the 95 % interval (the fidelity table of docs/data.md)."""
    names = list(METRICS)
    lines = ["| set | model | " + " | ".join(LABELS.get(m, m) for m in names) + " |", "|---|---|" + "---|" * len(names)]
    for b in res["sets"]:
        lines.append(f"| {b['set']} ({b['utterances']}) | noisy | "
                     + " | ".join(f"{b['noisy'][m]:.3f}" for m in names) + " |")
        for label, r in b["models"].items():
            cells = []
            for m in names:
                d = r[f"{m}_vs_noisy"]
                cells.append(f"{r[m]:.3f} ({d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}])")
            lines.append(f"| | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.train.assess", description=__doc__.splitlines()[0])
    p.add_argument("--family", choices=FAMILIES, required=True)
    p.add_argument("--shipped", required=True, help="the shipped model folder (the reference)")
    p.add_argument("--candidate", action="append", default=[], help="a candidate model folder (repeatable)")
    p.add_argument("--set", action="append", default=[], help="a test set folder, or 'shipped' (repeatable)")
    p.add_argument("--json", help="also write the result here")
    p.add_argument("--cache", help="keep per-utterance scores here (reused when weights and set are unchanged)")
    ns = p.parse_args(argv)
    try:
        models = {"shipped": Path(ns.shipped)}
        for c in ns.candidate:
            models[f"new:{Path(c).name}"] = Path(c)
        sets = [None if s == "shipped" else s for s in (ns.set or ["shipped"])]
        res = assess(ns.family, models, sets, "shipped", Path(ns.cache) if ns.cache else None)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if ns.json:
        Path(ns.json).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    print(markdown(res))
    print(fidelity_markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
