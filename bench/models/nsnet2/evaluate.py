"""Quality and cost of an exported early-exit nsNet2 per exit and per dynamic policy (numpy only).

    bench evaluate models/nsnet2/nsnet2-small [--set DIR] [--thresholds ...]   # Nsnet2.evaluate

For every static exit and every dynamic threshold, each utterance of the test set (the
shipped one by default) is enhanced by the float reference, rounded to int16 as the
target's output would be, and scored against the clean signal with PESQ WB, STOI and
SI-SDR (bench.metrics.quality); the noisy input is scored the same way. Writes
``<model>/eval.json`` (per-utterance scores included) and prints a Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.audio import to_int16
from bench.data.loader import load_set
from bench.errors import BenchError
from bench.metrics.quality import EVALUATION_METRICS
from bench.metrics.quality import METRICS as QUALITY
from bench.models.nsnet2.reference import ExitPolicy, Nsnet2Model, enhance_offline, enhance_streaming

METRICS = {m: QUALITY[m] for m in EVALUATION_METRICS}
DEFAULT_THRESHOLDS = (0.005, 0.01, 0.02, 0.04)


def _scores(clean: np.ndarray, out: np.ndarray, sr: int) -> dict[str, float]:
    return {k: float(f(clean, out, sr)) for k, f in METRICS.items()}


def _mean(rows: Sequence[dict[str, float]], key: str) -> float:
    v = [r[key] for r in rows if math.isfinite(r[key])]
    return float(np.mean(v)) if v else float("nan")


def evaluate(
    model_dir: str | Path,
    set_path: str | Path | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    limit: int | None = None,
) -> dict:
    model = Nsnet2Model.load(model_dir)
    cfg = model.config
    ts = load_set(set_path, cfg.sample_rate)
    utts = [u for u in ts if u.clean is not None][: limit or None]
    if not utts:
        raise BenchError(f"{ts.root}: no utterance with a clean reference to score against; evaluate on a set "
                         "with clean/ files (--set), e.g. the shipped one")
    rows: list[dict] = []
    clean = {u.id: u.clean for u in utts if u.clean is not None}

    def add(
        name: str, kind: str, k: int | None, outs: list[np.ndarray], macs: list[float], hist: np.ndarray | None = None
    ) -> None:
        per = [_scores(clean[u.id], o, cfg.sample_rate) for u, o in zip(utts, outs, strict=True)]
        row: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "exit": k,
            "mean_macs": float(np.mean(macs)) if macs else 0.0,
        }
        row.update({m: _mean(per, m) for m in METRICS})
        if hist is not None:
            row["exit_fraction"] = (hist / hist.sum()).round(4).tolist()
        row["per_utterance"] = {u.id: s for u, s in zip(utts, per, strict=True)}
        rows.append(row)
        print(
            f"  {name:<28} PESQ {row['pesq_wb']:.3f}  STOI {row['stoi']:.3f}  SI-SDR {row['si_sdr']:6.2f}  "
            f"MACs {row['mean_macs']:.0f}",
            flush=True,
        )

    add("noisy", "noisy", None, [u.noisy for u in utts], [])
    for k in range(cfg.n_exits):
        outs = [to_int16(enhance_offline(model, u.noisy, k)) for u in utts]
        add(cfg.exit_name(k), "static", k, outs, [cfg.macs_for_exit(k)])
    for thr in thresholds:
        res = [enhance_streaming(model, u.noisy, ExitPolicy.dynamic(thr)) for u in utts]
        exits = np.concatenate([r.exits for r in res])
        hist = np.bincount(exits, minlength=cfg.n_exits).astype(float)
        macs = np.concatenate([r.macs for r in res]).astype(float)
        add(f"dynamic thr={thr:g}", "dynamic", None, [to_int16(r.audio) for r in res], [float(macs.mean())], hist)
    return {
        "model": str(model_dir),
        "config": cfg.name,
        "test_set": str(ts.root),
        "utterances": [u.id for u in utts],
        "metrics": list(METRICS),
        "rows": rows,
    }


def markdown(result: dict) -> str:
    lines = [
        "| output | PESQ WB | STOI | SI-SDR dB | network MACs/frame | exits taken (fraction per exit) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        macs = "-" if r["kind"] == "noisy" else f"{r['mean_macs']:,.0f}"
        frac = " / ".join(f"{f:.2f}" for f in r.get("exit_fraction", [])) or "-"
        lines.append(f"| {r['name']} | {r['pesq_wb']:.3f} | {r['stoi']:.3f} | {r['si_sdr']:.2f} | {macs} | {frac} |")
    return "\n".join(lines) + "\n"
