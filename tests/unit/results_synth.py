"""Synthetic runs in the results store (the layout bench.runner writes), for the results tests and
the compare/report benchmark: run.json, frames/<utt>.parquet, summary.json, optionally
metrics.parquet + comparison.json."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.results.store import Run, write_json
from bench.results.summary import summarize_frames
from bench.targets import CounterSpec, TargetSpec, load_target

STAGES = ("stft", "gain", "istft")


def target(kind: str = "instructions") -> TargetSpec:
    t = load_target("qemu-mps2-an386")
    if kind == "cycles":
        t = replace(t, name="board-x", driver="pyocd", counter=CounterSpec(kind="cycles"))
    return t


def frames(stage_means: dict[str, float], n_utts: int = 2, n_frames: int = 50, noise: float = 0.0,
           seed: int = 0, extra: dict[tuple[str, int], int] | None = None) -> dict[str, pa.Table]:
    """Per utterance a frames table: each stage's value per frame (+ optional relative noise)."""
    rng = np.random.default_rng(seed)
    out = {}
    for u in range(n_utts):
        utt = f"utt{u:02d}"
        cols: dict[str, object] = {"utt": pa.array([utt] * n_frames), "frame": pa.array(np.arange(n_frames,
                                                                                                  dtype=np.int32))}
        total = np.zeros(n_frames, dtype=np.int64)
        for s, m in stage_means.items():
            base = m * (1 + 0.05 * np.sin(np.arange(n_frames) / 3.0 + u))
            v = base * (1 + noise * rng.standard_normal(n_frames)) if noise else base
            v = np.round(v).astype(np.int64)
            cols[f"stage_{s}"] = pa.array(v)
            total += v
        total += 24
        for (uu, fr), d in (extra or {}).items():
            if uu == utt:
                total[fr] += d
        cols["total_ticks"] = pa.array(total)
        cols["total"] = pa.array(total)
        out[utt] = pa.table(cols)
    return out


def write_run(root: Path, run_id: str, images: dict[str, dict[str, pa.Table]], *,
              started: str = "2026-01-01T00:00:00+00:00", git: str = "abc123", sha: dict[str, str] | None = None,
              kind: str = "instructions",
              quality: dict[str, dict[str, float]] | None = None, target_uid: str | None = None,
              schema_version: int | None = 2) -> Run:
    """A finished run with the given frames per image (image -> utt -> table)."""
    t = target(kind)
    run = Run.create(run_id, root)
    meta = {
        "run_id": run_id, "status": "done", "started": started, "finished": started, "options": {"limit": None},
        "target": {"name": t.name, "board": t.board, "counter": {"kind": t.counter.kind}},
        "provenance": {"git_revision": git, "toolchain": "gcc-test", "qemu_version": "qemu-test"},
        "images": {im: {"sha256": (sha or {}).get(im, "0" * 64), "build_id": "b", "model_family": "dsp-baseline",
                        "status": "done", "error": None, "utterance_errors": {}, "target_uid": target_uid}
                   for im in images},
    }
    run.write_meta(meta)
    if schema_version is None or schema_version != 2:  # write an older document by hand
        if schema_version is None:
            meta.pop("schema_version", None)
        else:
            meta["schema_version"] = schema_version
        for im in meta["images"].values():
            im.pop("target_uid", None)
        write_json(run.path / "run.json", meta)
    for im, utts in images.items():
        for utt, table in utts.items():
            run.write_frames(im, utt, table)
        summary = summarize_frames(run.frames(im), list(STAGES), t, 256, 16000)
        write_json(run.image_dir(im) / "summary.json", summary)
        q = (quality or {}).get(im)
        if q:
            rows = [{"utt": u, "condition": "target", "pesq_wb": v} for u, v in q.items()]
            pq.write_table(pa.Table.from_pylist(rows), run.image_dir(im) / "metrics.parquet")
            write_json(run.image_dir(im) / "comparison.json",
                       {"means": [{"condition": "target", "pesq_wb": float(np.mean(list(q.values())))}]})
    return run
