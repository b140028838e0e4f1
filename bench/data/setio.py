"""Writing a set in the bench layout (what every generator shares).

``clean/<utt>.wav``, ``noisy/<utt>.wav``, ``labels.csv`` (one row per utterance),
``frames_hop<H>.parquet`` (per-frame labels) and ``README.md``; see docs/testset.md.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.data.labels import FrameLabels
from bench.errors import DataError

MANAGED = ("clean", "noisy", "labels.csv", "README.md")


def prepare_out(out: Path, hops: Sequence[int], overwrite: bool, extra: Sequence[str] = ()) -> None:
    """Make ``out``; refuse (or with ``overwrite`` remove) a set already there."""
    managed = [out / m for m in (*MANAGED, *extra)] + [out / f"frames_hop{h}.parquet" for h in hops]
    existing = [p for p in managed if p.exists()] + sorted(out.glob("frames_hop*.parquet"))
    if existing and not overwrite:
        raise DataError(
            f"{out}: already holds a generated set ({existing[0].name}); pass overwrite=True "
            "(CLI: --force) to replace it, or choose another --out"
        )
    for p in existing:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def frames_table(utts: Sequence[str], labels: Sequence[FrameLabels]) -> pa.Table:
    """The per-frame label table of one hop: utt, frame, vad, f0_hz, voiced."""
    return pa.table(
        {
            "utt": pa.array(
                np.concatenate([[u] * lab.n_frames for u, lab in zip(utts, labels, strict=True)]), pa.string()
            ),
            "frame": pa.array(np.concatenate([np.arange(lab.n_frames, dtype=np.int32) for lab in labels]), pa.int32()),
            "vad": pa.array(np.concatenate([lab.vad for lab in labels]), pa.bool_()),
            "f0_hz": pa.array(np.concatenate([lab.f0_hz for lab in labels]), pa.float32()),
            "voiced": pa.array(np.concatenate([lab.voiced for lab in labels]), pa.bool_()),
        }
    )


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(r)


def write_frames(out: Path, utts: Sequence[str], per_hop: dict[int, list[FrameLabels]]) -> None:
    for h, labels in per_hop.items():
        pq.write_table(frames_table(utts, labels), out / f"frames_hop{h}.parquet", compression="zstd")
