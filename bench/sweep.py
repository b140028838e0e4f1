"""`bench run --sweep exit`: every static exit and the dynamic policy at several thresholds of an
early-exit image, as one sweep directory of runs, and the quality / cost trade-off.

For an image of family ``nsnet2-ee`` the sweep makes one run per point (CONFIGURE ``exit=k``
for every exit k, and ``policy=1 thr_q15=T`` for every threshold T), nested in
``results/<sweep-id>/<point>/`` (each an ordinary run: ``bench show <sweep-id>/<point>``), and
writes into ``results/<sweep-id>/``:

* ``sweep.json`` -- one row per point: instructions per frame (mean, p99, per stage), MACs per
  frame, the share of frames per exit, PESQ-WB / STOI of noisy, float, golden and target,
  the bit-exact fraction of target vs golden and target vs float;
* ``sweep.md`` -- the same as a Markdown table;
* ``sweep.png`` -- PESQ-WB and STOI against instructions per frame, target and float.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.results.store import read_json, results_root, write_json

DEFAULT_THRESHOLDS = (600, 1200, 2400, 4800)  # thr_q15: mean |mask change| in Q0.15 (1/32768)
EE_FAMILY = "nsnet2-ee"


@dataclass(frozen=True)
class SweepPoint:
    label: str
    kind: str  # "static" | "dynamic"
    configure: tuple[tuple[str, int], ...]
    exit: int | None = None
    thr_q15: int | None = None


def exit_points(n_exits: int, thresholds: Sequence[int]) -> list[SweepPoint]:
    pts = [SweepPoint(f"exit{k}", "static", (("exit", k),), exit=k) for k in range(n_exits)]
    for t in thresholds:
        if not 0 <= int(t) <= 32768:
            raise BenchError(f"--thresholds: {t} is outside 0..32768 (thr_q15, the mean |mask change| x 32768)")
        pts.append(SweepPoint(f"dyn{int(t)}", "dynamic", (("policy", 1), ("thr_q15", int(t))), thr_q15=int(t)))
    return pts


def _mean(doc: dict[str, Any], cond: str, metric: str) -> float | None:
    for r in doc.get("means", []):
        if r.get("condition") == cond and metric in r and r[metric] is not None:
            v = float(r[metric])
            return v if np.isfinite(v) else None
    return None


def collect_point(run: Any, image: str, point: SweepPoint, n_exits: int) -> dict[str, Any]:
    """One table row from a finished run."""
    import pyarrow.parquet as pq

    frames = run.frames(image)
    row: dict[str, Any] = {"point": point.label, "kind": point.kind, "exit": point.exit, "thr_q15": point.thr_q15,
                           "run": str(run.path)}
    total = frames["total"].to_numpy().astype(np.float64)
    row["frames"] = int(total.size)
    row["instr_mean"] = float(total.mean()) if total.size else None
    row["instr_p99"] = float(np.percentile(total, 99)) if total.size else None
    for c in frames.column_names:
        if c.startswith("stage_"):
            row[f"{c}_mean"] = float(frames[c].to_numpy().astype(np.float64).mean())
    if "macs" in frames.column_names:
        row["macs_mean"] = float(frames["macs"].to_numpy().astype(np.float64).mean())
    if "exit" in frames.column_names:
        ex = frames["exit"].to_numpy().astype(np.int64)
        row["exit_share"] = [float(x) for x in np.bincount(ex, minlength=n_exits)[:n_exits] / max(ex.size, 1)]
    d = run.image_dir(image)
    if (d / "comparison.json").is_file():
        comp = read_json(d / "comparison.json")
        for cond in ("noisy", "float", "golden", "target"):
            for m in ("pesq_wb", "stoi"):
                row[f"{m}_{cond}"] = _mean(comp, cond, m)
    if (d / "fidelity.parquet").is_file():
        fid = pq.read_table(d / "fidelity.parquet").to_pylist()
        for a, b in (("target", "golden"), ("target", "float")):
            vals = [(f["bit_exact"], f["n"]) for f in fid if f["a"] == a and f["b"] == b]
            if vals:
                n = sum(v[1] for v in vals)
                row[f"bit_exact_{a}_vs_{b}"] = float(sum(v[0] * v[1] for v in vals) / n) if n else None
    return row


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


TABLE_COLS = (
    ("point", "point", "s"), ("instr/frame", "instr_mean", ",.0f"), ("stft", "stage_stft_mean", ",.0f"),
    ("network", "stage_network_mean", ",.0f"), ("istft", "stage_istft_mean", ",.0f"),
    ("MACs/frame", "macs_mean", ",.0f"),
    ("PESQ-WB target", "pesq_wb_target", ".3f"), ("PESQ-WB float", "pesq_wb_float", ".3f"),
    ("STOI target", "stoi_target", ".3f"), ("STOI float", "stoi_float", ".3f"),
    ("bit-exact vs golden", "bit_exact_target_vs_golden", ".4f"),
    ("bit-exact vs float", "bit_exact_target_vs_float", ".4f"),
)


def markdown(rows: Sequence[dict[str, Any]], title: str) -> str:
    head = "| " + " | ".join(c[0] for c in TABLE_COLS) + " | exits taken (share 0..E) |"
    sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(TABLE_COLS))) + "|---|"
    lines = [f"# {title}", "", head, sep]
    for r in rows:
        cells = [_f(r.get(k), f) for _, k, f in TABLE_COLS]
        share = " ".join(f"{s:.2f}" for s in r.get("exit_share", []))
        lines.append("| " + " | ".join(cells) + f" | {share} |")
    lines += ["", "Instructions: QEMU -icount (exact, not cycles), mean per frame. PESQ-WB / STOI: mean over "
              "utterances. Bit-exact: fraction of output samples equal."]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, m, name in ((axes[0], "pesq_wb", "PESQ-WB"), (axes[1], "stoi", "STOI")):
        for kind, marker in (("static", "o"), ("dynamic", "s")):
            rs = [r for r in rows if r["kind"] == kind and r.get("instr_mean") is not None]
            if not rs:
                continue
            x = [r["instr_mean"] / 1e3 for r in rs]
            for cond, style in (("target", "-"), ("float", "--")):
                y = [r.get(f"{m}_{cond}") for r in rs]
                if all(v is None for v in y):
                    continue
                ax.plot(x, [np.nan if v is None else v for v in y], style, marker=marker,
                        label=f"{kind} {cond}")
            for r, xv in zip(rs, x, strict=True):
                yv = r.get(f"{m}_target")
                if yv is not None:
                    ax.annotate(r["point"], (xv, yv), textcoords="offset points", xytext=(3, 4), fontsize=7)
        noisy = [r.get(f"{m}_noisy") for r in rows if r.get(f"{m}_noisy") is not None]
        if noisy:
            ax.axhline(noisy[0], color="grey", lw=0.8, ls=":", label="noisy input")
        ax.set_xlabel("instructions per frame (thousands, QEMU -icount)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run_exit_sweep(options: Any, thresholds: Sequence[int] = DEFAULT_THRESHOLDS, progress: Any = None,
                   points: Sequence[SweepPoint] | None = None) -> Path:
    """Runs the sweep (see the module doc); returns the sweep directory."""
    from bench.images import find_image
    from bench.runner import Runner, make_run_id

    if not options.images or len(options.images) != 1:
        raise BenchError("--sweep exit needs exactly one --image (an early-exit image, e.g. nsnet2-small-an386)")
    image = options.images[0]
    entry = find_image(image)
    if entry.model_family != EE_FAMILY:
        raise BenchError(f"--sweep exit: image '{image}' is of family '{entry.model_family}', not an early-exit "
                         f"image ({EE_FAMILY})")
    if any(k in ("exit", "policy", "thr_q15") for k, _ in options.configure):
        raise BenchError("--sweep exit sets exit / policy / thr_q15 itself; drop them from --config")
    from bench.models.nsnet2.family import _quant_model, model_dir

    n_exits = _quant_model(model_dir(entry.model_dir)).config.n_exits
    pts = list(points) if points is not None else exit_points(n_exits, thresholds)
    sweep_id = options.run_id or (make_run_id(options.target) + "-sweep-exit")
    sdir = results_root() / sweep_id
    if sdir.exists():
        raise BenchError(f"sweep directory {sdir} already exists; choose another --run-id")
    sdir.mkdir(parents=True)
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for p in pts:
        opts = dataclasses.replace(options, configure=tuple(options.configure) + p.configure,
                                   run_id=f"{sweep_id}/{p.label}")
        run = Runner(opts, progress).start()
        meta = run.read_meta()
        if meta["status"] != "done":
            failed.append(f"{p.label}: {meta['images'][image].get('error') or meta['status']}")
            continue
        rows.append(collect_point(run, image, p, n_exits))
        write_json(sdir / "sweep.json", {"image": image, "target": options.target, "points": rows, "failed": failed})
    title = f"{image} on {options.target}: exits and dynamic policy"
    write_json(sdir / "sweep.json", {"image": image, "target": options.target, "points": rows, "failed": failed})
    (sdir / "sweep.md").write_text(markdown(rows, title), encoding="utf-8")
    if rows:
        plot(rows, sdir / "sweep.png", title)
    if failed:
        raise BenchError(f"sweep {sweep_id}: points failed: {'; '.join(failed)} (the others are in {sdir})")
    return sdir


RICH_COLS = ("point", "instr/frame", "network", "MACs/frame", "PESQ-WB target", "PESQ-WB float", "STOI target",
             "STOI float", "bit-exact vs golden")


def sweep_table(doc: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title=f"{doc['image']} on {doc['target']}: exit sweep")
    cols = [c for c in TABLE_COLS if c[0] in RICH_COLS]
    short = {"instr/frame": "instr", "MACs/frame": "MACs", "PESQ-WB target": "PESQ tgt", "PESQ-WB float": "PESQ flt",
             "STOI target": "STOI tgt", "STOI float": "STOI flt", "bit-exact vs golden": "exact"}
    for name, _, _ in cols:
        t.add_column(short.get(name, name), justify="left" if name == "point" else "right", no_wrap=True)
    t.add_column("exit %", no_wrap=True)
    for r in doc["points"]:
        share = "/".join(f"{100 * s:.0f}" for s in r.get("exit_share", []))
        t.add_row(*(_f(r.get(k), f) for _, k, f in cols), share)
    t.caption = ("instructions per frame under QEMU -icount (not cycles); quality: mean over utterances; "
                 "sweep.md has the per-stage columns")
    return t
