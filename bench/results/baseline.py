"""Committed baselines for the CI gate: results/baselines/<target>/<image>.json + .frames.parquet.

The JSON names the image (sha256, build id), the run it was taken from and its provenance,
the utterances measured and the counter summary; the Parquet holds the per-frame counters
(utt, frame, total, stage_<name>), a few kilobytes for the gate's subset. No pickle.

The gate compares a run against these with bench.results.compare: exact for instruction
counts, failing beyond the threshold, and names the command that updates a baseline when
a change is an improvement (or intended).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.errors import ResultsError
from bench.paths import repo_root
from bench.results.compare import CompareOptions, Comparison, compare_sets
from bench.results.measures import ImageMeasures, run_measures
from bench.results.store import Run, now_iso, read_json, read_parquet, write_json

BASELINE_VERSION = 1
GATE_IMAGES = ("passthrough-an386", "dsp-baseline-an386", "nsnet2-small-an386", "dyncp-small-r100-an386",
               "dyncp-small-r25-an386")
GATE_TARGET = "qemu-mps2-an386"
GATE_LIMIT = 2  # utterances of the shipped set


def baselines_dir() -> Path:
    env = os.environ.get("BENCH_BASELINES")
    return Path(env) if env else repo_root() / "results" / "baselines"


def _paths(root: Path, target: str, image: str) -> tuple[Path, Path]:
    d = root / target
    return d / f"{image}.json", d / f"{image}.frames.parquet"


def write_baseline(m: ImageMeasures, run: Run, root: Path | None = None) -> Path:
    root = root or baselines_dir()
    meta = run.read_meta()
    jp, fp = _paths(root, m.target, m.image)
    jp.parent.mkdir(parents=True, exist_ok=True)
    cols = {"utt": pa.array([str(u) for u in m.frames["utt"]], pa.string())}
    for c in ["frame", *m.counter_columns]:
        if c in m.frames:
            cols[c] = pa.array(np.asarray(m.frames[c]))
    tmp = fp.with_name(f".{fp.name}.{os.getpid()}")
    pq.write_table(pa.table(cols), tmp, compression="zstd")
    os.replace(tmp, fp)
    prov = meta.get("provenance", {})
    write_json(jp, {
        "baseline_version": BASELINE_VERSION,
        "image": m.image, "sha256": m.sha256, "model_family": m.model_family,
        "build_id": meta["images"][m.image].get("build_id"),
        "target": m.target, "target_uid": m.target_uid, "unit": m.unit, "stage_order": list(m.stage_order),
        "utterances": m.utterances, "frames": int(len(m.frames["total"])),
        "from_run": run.run_id, "created": now_iso(),
        "provenance": {k: prov.get(k) for k in ("git_revision", "toolchain", "qemu_version", "bench_version")},
        "options": {k: meta.get("options", {}).get(k) for k in ("set_path", "limit", "configure")},
        "quality": m.quality,
        "total_mean": float(np.mean(m.frames["total"])),
    })
    return jp


def read_baseline(target: str, image: str, root: Path | None = None) -> ImageMeasures:
    root = root or baselines_dir()
    jp, fp = _paths(root, target, image)
    if not jp.is_file() or not fp.is_file():
        raise ResultsError(f"no baseline for image '{image}' on target '{target}' under {root}; create it with "
                           f"`bench baseline update --image {image}` and commit results/baselines/")
    doc: dict[str, Any] = read_json(jp)
    if not isinstance(doc, dict):
        raise ResultsError(f"{jp}: a baseline is a JSON object, this is a {type(doc).__name__}; rewrite it with "
                           f"`bench baseline update --image {image}`")
    if doc.get("baseline_version") != BASELINE_VERSION:
        raise ResultsError(f"{jp}: baseline_version {doc.get('baseline_version')} is not {BASELINE_VERSION}; "
                           f"rewrite it with `bench baseline update --image {image}`")
    redo = f"rewrite it with `bench baseline update --image {image}`"
    t = read_parquet(fp, hint=redo)
    if "utt" not in t.column_names or "total" not in t.column_names:
        raise ResultsError(f"{fp}: no 'utt' and 'total' columns (it has {t.column_names}); {redo}")
    frames: dict[str, np.ndarray] = {c: t.column(c).to_numpy() for c in t.column_names if c != "utt"}
    frames["utt"] = np.asarray(t.column("utt").to_pylist(), dtype=object)
    for key in ("sha256", "unit"):
        if not isinstance(doc.get(key), str):
            raise ResultsError(f"{jp}: field {key} is missing or not a string; {redo}")
    return ImageMeasures(image=image, sha256=doc["sha256"], unit=doc["unit"], frames=frames,
                         stage_order=tuple(doc.get("stage_order", ())), quality=doc.get("quality", {}),
                         model_family=doc.get("model_family", ""), target=target, target_uid=doc.get("target_uid"),
                         source=f"baseline:{target}/{image}", git_revision=doc.get("provenance", {}).get(
                             "git_revision", ""))


def baseline_info(target: str, image: str, root: Path | None = None) -> dict[str, Any]:
    jp, _ = _paths(root or baselines_dir(), target, image)
    return read_json(jp)  # type: ignore[no-any-return]


def list_baselines(root: Path | None = None) -> list[tuple[str, str]]:
    root = root or baselines_dir()
    return sorted((p.parent.name, p.name[:-5]) for p in root.glob("*/*.json"))


def update_baselines(run: Run, images: list[str] | None = None, root: Path | None = None) -> list[Path]:
    meta = run.read_meta()
    bad = [n for n, im in meta["images"].items() if (not images or n in images) and im.get("status") != "done"]
    if bad:
        raise ResultsError(f"run {run.run_id}: image {', '.join(bad)} did not finish cleanly; a baseline must "
                           "come from a complete run (bench run --resume, or a new run)")
    ms = run_measures(run, images)
    if not ms:
        raise ResultsError(f"run {run.run_id} has no measured image to take a baseline from")
    return [write_baseline(m, run, root) for m in ms.values()]


@dataclass
class GateResult:
    run_id: str
    run_path: str
    comparison: Comparison
    missing: list[str] = field(default_factory=list)  # images without a baseline

    @property
    def exit_code(self) -> int:
        return self.comparison.exit_code

    def update_command(self, image: str) -> str:
        return f"bench baseline update --run {self.run_path} --image {image}"

    def to_json(self) -> dict[str, Any]:
        d = self.comparison.to_json()
        d.update({"run_id": self.run_id, "run_path": self.run_path, "missing_baselines": self.missing,
                  "update_commands": {im: self.update_command(im) for im in
                                      sorted({c.image for c in self.comparison.changes if c.status != "same"})}})
        return d


def gate_run(run: Run, images: list[str] | None = None, opts: CompareOptions | None = None,
             root: Path | None = None) -> GateResult:
    """Compare a run's images with their committed baselines (images without one are listed, not failed)."""
    got = run_measures(run, images)
    if not got:
        raise ResultsError(f"run {run.run_id} measured nothing; see `bench show {run.run_id}`")
    base: dict[str, ImageMeasures] = {}
    missing = []
    for name, m in got.items():
        try:
            base[name] = read_baseline(m.target, name, root)
        except ResultsError:
            missing.append(name)
    if not base:
        raise ResultsError(f"no committed baseline for {', '.join(sorted(got))} under {root or baselines_dir()}; "
                           f"create them with `bench baseline update --run {run.path}` and commit them")
    cmp = compare_sets(base, {k: v for k, v in got.items() if k in base}, opts, label_a="baseline",
                       label_b=run.run_id)
    return GateResult(run.run_id, str(run.path), cmp, missing)
