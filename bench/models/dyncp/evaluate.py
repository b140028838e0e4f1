"""Quality, kept fraction and MACs of exported (DynCP) Conv-FSENet models (numpy only).

    bench evaluate models/dyncp/dyncp-small-r100 models/dyncp/dyncp-small-r25 ...   # Dyncp.evaluate

Every utterance of the test set (the shipped one by default) is enhanced by the float
reference, rounded to int16 as the target's output would be, and scored against the
clean signal with PESQ WB, STOI and SI-SDR (bench.metrics.quality); the noisy input is
scored the same way. Per model it reports the mean kept fraction per block, the mean
network MACs per frame actually executed (skipped channels cost nothing, gates are
counted), and, against the static model (``--static``, default: the ungated model among
those given), the MAC saving and the PESQ change. Writes ``<model>/eval.json`` for every
model (per-utterance scores included) and prints a Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.audio import to_int16
from bench.data.loader import load_set
from bench.errors import BenchError, ConfigError
from bench.metrics.quality import EVALUATION_METRICS
from bench.metrics.quality import METRICS as QUALITY
from bench.models.dyncp.reference import DyncpModel, enhance_offline

METRICS = {m: QUALITY[m] for m in EVALUATION_METRICS}


def _scores(clean: np.ndarray, out: np.ndarray, sr: int) -> dict[str, float]:
    return {k: float(f(clean, out, sr)) for k, f in METRICS.items()}


def _mean(rows: Sequence[dict[str, float]], key: str) -> float:
    v = [r[key] for r in rows if math.isfinite(r[key])]
    return float(np.mean(v)) if v else float("nan")


def _vad(u: Any, hop: int, t: int) -> np.ndarray:
    """Per-frame VAD labels on the model's hop grid (frame t = hop t), padded/cut to t frames."""
    v = np.asarray(u.frame_labels(hop).vad, bool)[:t]
    return np.pad(v, (0, t - v.size))


def evaluate(
    model_dirs: Sequence[str | Path],
    set_path: str | Path | None = None,
    static_dir: str | Path | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    if not model_dirs:
        raise ConfigError("give at least one exported model directory (models/dyncp/<name>)")
    models = [(Path(d), DyncpModel.load(d)) for d in model_dirs]
    static: DyncpModel | None
    if static_dir is not None:
        static = DyncpModel.load(static_dir)
    else:
        ungated = [m for _, m in models if not m.config.gated]
        static = ungated[0] if ungated else None
    sr = models[0][1].config.sample_rate
    ts = load_set(set_path, sr)
    utts = [u for u in ts if u.clean is not None][: limit or None]
    if not utts:
        raise BenchError(f"{ts.root}: no utterance with a clean reference to score against; evaluate on a set "
                         "with clean/ files (--set), e.g. the shipped one")
    noisy = [_scores(u.clean, u.noisy, sr) for u in utts if u.clean is not None]
    rows: list[dict[str, Any]] = [
        {"name": "noisy", "kind": "noisy", **{m: _mean(noisy, m) for m in METRICS}},
    ]
    for d, model in models:
        cfg = model.config
        per, kept, macs, frames = [], np.zeros(cfg.n_blocks), 0.0, 0
        by_vad = {True: [0.0, 0], False: [0.0, 0]}  # kept fraction sum, frames; speech / not
        for u in utts:
            assert u.clean is not None
            e = enhance_offline(model, u.noisy)
            per.append(_scores(u.clean, to_int16(e.audio), sr))
            t = e.macs.size
            kept += e.kept.sum(axis=0) / cfg.conv
            macs += float(e.macs.sum())
            frames += t
            vad = _vad(u, cfg.hop_len, t)
            frac = e.kept.mean(axis=1) / cfg.conv
            for v in (True, False):
                by_vad[v][0] += float(frac[vad == v].sum())
                by_vad[v][1] += int((vad == v).sum())
        row: dict[str, Any] = {
            "name": cfg.name,
            "kind": "dynamic" if cfg.gated else "static",
            "model": str(d),
            **{m: _mean(per, m) for m in METRICS},
            "mean_macs": macs / frames,
            "macs_all_kept": cfg.macs(),
            "kept_fraction_per_block": (kept / frames).round(4).tolist(),
            "kept_fraction_mean": float((kept / frames).mean()),
            "kept_fraction_speech": by_vad[True][0] / max(1, by_vad[True][1]),
            "kept_fraction_nonspeech": by_vad[False][0] / max(1, by_vad[False][1]),
            "frames": frames,
            "per_utterance": {u.id: s for u, s in zip(utts, per, strict=True)},
        }
        if static is not None:
            row["static_macs"] = static.config.macs()
            row["mac_saving"] = 1.0 - row["mean_macs"] / static.config.macs()
        rows.append(row)
        print(
            f"  {cfg.name:<22} PESQ {row['pesq_wb']:.3f}  STOI {row['stoi']:.3f}  SI-SDR {row['si_sdr']:6.2f}  "
            f"kept {row['kept_fraction_mean']:.3f}  MACs {row['mean_macs']:.0f}",
            flush=True,
        )
    base = next((r for r in rows if r["kind"] == "static"), None)
    if base is not None:
        for r in rows[1:]:
            r["pesq_change"] = (r["pesq_wb"] - base["pesq_wb"]) / base["pesq_wb"]
    return {
        "models": [str(d) for d, _ in models],
        "static": base["name"] if base else None,
        "test_set": str(ts.root),
        "utterances": [u.id for u in utts],
        "metrics": list(METRICS),
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| model | PESQ WB | STOI | SI-SDR dB | kept fraction (speech / other frames) | MACs/frame "
        "| MAC saving vs static | PESQ vs static |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r["kind"] == "noisy":
            lines.append(f"| noisy | {r['pesq_wb']:.3f} | {r['stoi']:.3f} | {r['si_sdr']:.2f} | - | - | - | - |")
            continue
        sav = f"{100 * r['mac_saving']:.1f} %" if "mac_saving" in r else "-"
        dp = f"{100 * r['pesq_change']:+.2f} %" if "pesq_change" in r else "-"
        lines.append(
            f"| {r['name']} | {r['pesq_wb']:.3f} | {r['stoi']:.3f} | {r['si_sdr']:.2f} | "
            f"{r['kept_fraction_mean']:.3f} ({r['kept_fraction_speech']:.3f} / {r['kept_fraction_nonspeech']:.3f}) | "
            f"{r['mean_macs']:,.0f} | {sav} | {dp} |"
        )
    return "\n".join(lines) + "\n"
