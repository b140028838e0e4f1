"""Estimate vs measured cycles per stage: a board run's DWT cycles beside QEMU's cycles_est of the
same image build.

A board (counter kind ``cycles``: DWT CYCCNT) measures cycles per stage but has no cycles_est;
a QEMU run with the cm4cycles plugin (bench.cyclest) has cycles_est per stage but no cycles. The
estimate for a board run is looked up in the store, never computed here (results never start a
run, and the estimate of a given image build on given utterances is deterministic, so a stored
one is as good as a new one): the latest run in the same results folder that ran the same ELF
(same sha256 and build id) under a counter of instructions, has ``cycles_est`` in its frames and
measured every utterance the board run measured. Frames are paired by (utterance, frame); the
figures are means over the paired frames, the ratio is measured / estimated.

:func:`estimate_check` returns None for a run whose counter is not cycles (there is nothing
measured to hold an estimate against), else a document with either the rows or, when no estimate
exists, ``missing``: what was looked for and the command that makes one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.errors import BenchError
from bench.results.store import Run

ESTIMATE_LABEL = "cycles_est (estimate: cm4cycles QEMU plugin, Cortex-M4 TRM timing; docs/cycles.md)"
MEASURED_LABEL = "cycles (measured: DWT CYCCNT on the board)"


def _frames_by_utt(run: Run, image: str) -> dict[str, pa.Table]:
    return {u: run.frames_of(image, u) for u in sorted(run.done_utterances(image))}


def _estimate_runs(root: Path, sha256: str, build_id: str | None, exclude: Path) -> list[tuple[str, Run, str]]:
    """(started, run, image name) of every run under root that ran this ELF under an instruction
    counter, newest first."""
    found = []
    for p in root.iterdir() if root.is_dir() else ():
        if not (p / "run.json").is_file() or p.resolve() == exclude.resolve():
            continue
        run = Run(p)
        try:
            meta = run.read_meta()
        except BenchError:
            continue  # a damaged run is bench index's to report, not ours
        if meta.get("target", {}).get("counter", {}).get("kind") != "instructions":
            continue
        for name, im in meta.get("images", {}).items():
            if im.get("sha256") == sha256 and (build_id is None or im.get("build_id") == build_id):
                found.append((str(meta.get("started") or ""), run, name))
    found.sort(key=lambda x: (x[0], x[1].run_id), reverse=True)
    return found


def _has_estimate(t: pa.Table, stages: list[str]) -> bool:
    return "cycles_est" in t.column_names and all(f"cycles_est_{s}" in t.column_names for s in stages)


def _suggest_targets(board: str) -> list[str]:
    """QEMU targets of this board that load the cm4cycles plugin."""
    try:
        from bench.targets.spec import list_targets

        return [t.name for t in list_targets() if t.board == board and t.driver == "qemu"
                and t.counter.kind == "instructions" and t.driver_options.get("cycles_est") is True]
    except BenchError:
        return []


def _missing(run: Run, image: str, meta: dict[str, Any], why: str) -> str:
    im = meta["images"][image]
    board = meta.get("target", {}).get("board", "?")
    opts = meta.get("options", {})
    args = f"--image {image}"
    if opts.get("set_path"):
        args += f" --set {opts['set_path']}"
    if opts.get("limit"):
        args += f" --limit {opts['limit']}"
    targets = _suggest_targets(board)
    how = (f"make one with `bench run --target {targets[0]} {args}` (a QEMU target of board {board} with the "
           f"cm4cycles plugin), then `bench show {run.run_id}` again" if targets else
           f"make one by running the same ELF under QEMU with the cm4cycles plugin: `bench run --target <T> {args}` "
           f"where <T> is a QEMU target of board {board} with `cycles_est = true` in its [qemu] table (none in "
           f"targets/ yet; docs/cycles.md), then `bench show {run.run_id}` again")
    return (f"no cycles_est for image {image} (build {im.get('build_id')}, sha256 {str(im.get('sha256'))[:12]}): "
            f"{why}; {how}")


def estimate_check(run: Run, image: str) -> dict[str, Any] | None:
    """Estimate vs measured per stage for one image of a board run (module doc), or None when the
    run's counter is not cycles."""
    meta = run.read_meta()
    if meta.get("target", {}).get("counter", {}).get("kind") != "cycles":
        return None
    im = meta.get("images", {}).get(image)
    summary = run.read_summary(image)
    if im is None or summary is None or not im.get("sha256") or not run.done_utterances(image):
        return None
    measured = _frames_by_utt(run, image)
    stages = list(summary.get("stage_order", summary["stages"]))
    candidates = _estimate_runs(run.path.parent, im["sha256"], im.get("build_id"), run.path)
    if not candidates:
        return {"image": image, "missing": _missing(run, image, meta, f"no run in {run.path.parent} ran this build "
                                                                   "under QEMU")}
    why = ""
    for _, est_run, est_image in candidates:
        est_utts = est_run.done_utterances(est_image)
        lacking = sorted(set(measured) - est_utts)
        if lacking:
            why = why or (f"run {est_run.run_id} ran this build but not utterance(s) {', '.join(lacking[:3])}"
                          + (" ..." if len(lacking) > 3 else ""))
            continue
        est = {u: est_run.frames_of(est_image, u) for u in measured}
        if not all(_has_estimate(t, stages) for t in est.values()):
            why = why or f"run {est_run.run_id} ran this build without the cm4cycles plugin (no cycles_est)"
            continue
        return _rows(image, stages, measured, est, est_run, est_image)
    return {"image": image, "missing": _missing(run, image, meta, why)}


def _paired(meas: pa.Table, est: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    fm = np.asarray(meas.column("frame").to_numpy(), np.int64)
    fe = np.asarray(est.column("frame").to_numpy(), np.int64)
    _, im, ie = np.intersect1d(fm, fe, return_indices=True)
    return im, ie


def _rows(image: str, stages: list[str], measured: dict[str, pa.Table], est: dict[str, pa.Table], est_run: Run,
          est_image: str) -> dict[str, Any]:
    sums_m = dict.fromkeys(stages + ["total"], 0.0)
    sums_e = dict.fromkeys(stages + ["total"], 0.0)
    n = unpaired = 0
    for u, mt in measured.items():
        im, ie = _paired(mt, est[u])
        unpaired += mt.num_rows - len(im)
        n += len(im)
        for s in stages:
            sums_m[s] += float(np.sum(mt.column(f"stage_{s}").to_numpy()[im]))
            sums_e[s] += float(np.sum(est[u].column(f"cycles_est_{s}").to_numpy()[ie]))
        sums_m["total"] += float(np.sum(mt.column("total").to_numpy()[im]))
        sums_e["total"] += float(np.sum(est[u].column("cycles_est").to_numpy()[ie]))
    rows = []
    for s in stages + ["total"]:
        e, m = sums_e[s] / n if n else float("nan"), sums_m[s] / n if n else float("nan")
        rows.append({"stage": s, "cycles_est": e, "cycles": m, "ratio": m / e if e > 0 else float("nan")})
    meta = est_run.read_meta()
    tgt = meta.get("target", {})
    return {"image": image, "estimate_run": est_run.run_id, "estimate_image": est_image,
            "estimate_target": tgt.get("name"), "estimate_model": _model_text(tgt), "frames": n,
            "frames_unpaired": unpaired, "rows": rows, "estimate_label": ESTIMATE_LABEL,
            "measured_label": MEASURED_LABEL}


def _model_text(target: dict[str, Any]) -> str:
    o = target.get("driver_options", {})
    flash = o.get("cycles_flash")
    return f"flash wait states {o.get('cycles_ws', 0)} per taken branch" + (
        f" in [0x{flash[0]:x}, +0x{flash[1]:x})" if flash else " (all code)")


def estimate_checks(run: Run) -> dict[str, dict[str, Any]]:
    """estimate_check for every image of the run that has one."""
    out = {}
    for name in run.read_meta().get("images", {}):
        doc = estimate_check(run, name)
        if doc is not None:
            out[name] = doc
    return out


HEAD = ["stage", "cycles_est (estimate)", "cycles (measured)", "measured / estimate"]


def table_rows(doc: dict[str, Any]) -> list[list[str]]:
    """The rows of the estimate vs measured table, as text."""
    def f(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:,.0f}"

    return [[r["stage"], f(r["cycles_est"]), f(r["cycles"]),
             "-" if not np.isfinite(r["ratio"]) else f"{r['ratio']:.3f}"] for r in doc["rows"]]


def caption(doc: dict[str, Any]) -> str:
    """Where the estimate comes from, and how many frames were paired."""
    if "missing" in doc:
        return doc["missing"]
    text = (f"estimate from run {doc['estimate_run']} ({doc['estimate_target']}, {doc['estimate_model']}), same "
            f"image build; means over {doc['frames']} paired frame(s)")
    if doc["frames_unpaired"]:
        text += f", {doc['frames_unpaired']} measured frame(s) without an estimated twin left out"
    return text + f". {doc['estimate_label']}; {doc['measured_label']}."
