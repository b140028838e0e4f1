"""`bench run --sweep AXIS`: one run per point of a family's sweep axis (bench.families: the
nsnet2-ee ``exit`` axis gives every static exit and the dynamic policy at several thresholds; the
dyncp ``keep`` axis gives the family's images at their keep ratios), nested as
``results/<sweep-id>/<point>/`` (each an ordinary run: ``bench show <sweep-id>/<point>``), and the
quality / cost trade-off in ``results/<sweep-id>/``:

* ``sweep.json`` -- one row per point: the axis' own columns, instructions per frame (mean, p99,
  per stage), MACs per frame, the share of frames per exit (when the image reports exits),
  PESQ-WB / STOI of noisy, float, golden and target, the bit-exact fraction of target vs golden
  and target vs float;
* ``sweep.md`` -- the same as a Markdown table;
* ``sweep.png`` -- PESQ-WB and STOI against instructions per frame, target and float.

No family is named here: the axis comes from the sweep image's family.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.families import SweepPoint, family_for
from bench.images import find_image, images_for_target
from bench.results.store import Run, Sweep


def _mean(doc: dict[str, Any], cond: str, metric: str) -> float | None:
    for r in doc.get("means", []):
        if r.get("condition") == cond and metric in r and r[metric] is not None:
            v = float(r[metric])
            return v if np.isfinite(v) else None
    return None


def collect_point(run: Run, image: str, point: SweepPoint) -> dict[str, Any]:
    """One table row from a finished run."""
    frames = run.frames(image)
    row: dict[str, Any] = {"point": point.label, **point.attrs, "image": image, "run": str(run.path)}
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
        row["_exits"] = frames["exit"].to_numpy().astype(np.int64)
    comp = run.read_comparison(image)
    if comp is not None:
        for cond in ("noisy", "float", "golden", "target"):
            for m in ("pesq_wb", "stoi"):
                row[f"{m}_{cond}"] = _mean(comp, cond, m)
    fid = run.read_fidelity(image)
    if fid is not None:
        for a, b in (("target", "golden"), ("target", "float")):
            vals = [(f["bit_exact"], f["n"]) for f in fid if f["a"] == a and f["b"] == b]
            if vals:
                n = sum(v[1] for v in vals)
                row[f"bit_exact_{a}_vs_{b}"] = float(sum(v[0] * v[1] for v in vals) / n) if n else None
    return row


def _exit_shares(rows: list[dict[str, Any]]) -> None:
    """The share of frames per exit 0..E, E the largest exit any point took."""
    exits = [r.pop("_exits") for r in rows if "_exits" in r]
    if not exits:
        return
    n = int(max(int(e.max()) for e in exits if e.size) + 1)
    for r, ex in zip([r for r in rows if "exit_share" not in r], exits, strict=False):
        r["exit_share"] = [float(x) for x in np.bincount(ex, minlength=n)[:n] / max(ex.size, 1)]


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
            rs = [r for r in rows if r.get("kind", "static") == kind and r.get("instr_mean") is not None]
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


def sweep_points(options: Any, axis: str, values: str | None) -> tuple[str, list[SweepPoint], str]:
    """(sweep image, points, axis doc) for ``--sweep AXIS`` over the one --image of ``options``."""
    from bench.targets import load_target

    if not options.images or len(options.images) != 1:
        raise BenchError(f"--sweep {axis} needs exactly one --image (the image whose family has the axis)")
    mdir = Path(options.manifest_dir) if options.manifest_dir else None
    image = options.images[0]
    entry = find_image(image, mdir)
    fam = family_for(entry.model_family)
    assert fam is not None
    axes = fam.sweep_axes()
    if axis not in axes:
        raise BenchError(f"--sweep {axis}: image '{image}' is of family '{entry.model_family}', whose sweep axes are "
                         f"{', '.join(axes) or 'none'}")
    ax = axes[axis]
    clash = [k for k, _ in options.configure if k in ax.sets_keys]
    if clash:
        raise BenchError(f"--sweep {axis} sets {' / '.join(ax.sets_keys)} itself; "
                         f"drop {', '.join(clash)} from --config")
    pts = ax.points(entry, values, images_for_target(load_target(options.target), mdir))
    if not pts:
        raise BenchError(f"--sweep {axis}: the axis has no points for image '{image}'")
    return image, pts, ax.doc


def run_sweep(options: Any, axis: str, values: str | None = None, progress: Any = None,
              points: Sequence[SweepPoint] | None = None) -> Sweep:
    """Runs the sweep (see the module doc); returns the sweep directory."""
    from bench.runner.run import Runner, make_run_id

    image, pts, _ = sweep_points(options, axis, values)
    pts = list(points) if points is not None else pts
    sweep = Sweep.create(options.run_id or (make_run_id(options.target) + f"-sweep-{axis}"))
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    title = f"{image} on {options.target}: sweep over {axis}"
    for p in pts:
        img = p.image or image
        opts = dataclasses.replace(options, images=(img,), configure=tuple(options.configure) + p.configure,
                                   run_id=sweep.point_run_id(p.label))
        run = Runner(opts, progress).start()
        meta = run.read_meta()
        if meta["status"] != "done":
            failed.append(f"{p.label}: {meta['images'][img].get('error') or meta['status']}")
            continue
        rows.append(collect_point(run, img, p))
    _exit_shares(rows)
    doc = {"image": image, "axis": axis, "target": options.target, "points": rows, "failed": failed}
    md = markdown(rows, title) + "".join(f"\npoint failed: {f}\n" for f in failed)
    sweep.write(doc, md)
    if rows:
        plot(rows, sweep.plot_path(), title)
    return sweep  # a failed point is in sweep.json's "failed"; the caller shows it beside the points that ran
