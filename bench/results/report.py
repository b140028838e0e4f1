"""Reports of a run: a self-contained HTML page (matplotlib figures as base64 PNG), a Markdown
summary for a CI job page, and JUnit XML with one testcase per image/metric gate.

    bench report <run> [--against <run> | --baseline] [--out DIR]

Figures: instructions (or cycles) per frame per image, stacked by stage; per-frame traces;
quality against compute where the run scored quality; with an instrument's energy (docs/energy.md):
energy per frame, energy per frame over an utterance beside the counts and the voice-activity label,
and quality against energy; the metric's history from the index
when the index has earlier runs of the same image on the same board and set.
"""

from __future__ import annotations

import base64
import html
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.results import estimate_check as ec
from bench.results.compare import Comparison, MetricChange
from bench.results.history import Series
from bench.results.measures import ImageMeasures
from bench.results.store import Run, read_json

STATUS_MARK = {"same": "=", "changed": "~", "improvement": "better", "regression": "REGRESSION",
               "inconclusive": "?"}


@dataclass
class ReportInput:
    run: Run
    measures: dict[str, ImageMeasures]
    summaries: dict[str, dict[str, Any]]
    comparison: Comparison | None = None
    against: dict[str, ImageMeasures] | None = None
    history: list[Series] = field(default_factory=list)
    # utt -> per-frame voice-activity label (speech True); None: read from the shipped test set's labels
    vad: dict[str, np.ndarray] | None = None


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fig_per_image(inp: ReportInput) -> str:
    """One panel per image (each its own scale): mean per frame stacked by stage, p99 marked."""
    plt = _plt()
    names = sorted(inp.measures)
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.9 * ncol + 0.6, 3.2 * nrow), squeeze=False)
    sides: list[tuple[str, dict[str, ImageMeasures]]] = [("this run", inp.measures)]
    if inp.against:
        sides = [("before", inp.against), ("this run", inp.measures)]
    for k, n in enumerate(names):
        ax = axes[k // ncol, k % ncol]
        for j, (label, ms) in enumerate(sides):
            m = ms.get(n)
            if m is None:
                continue
            bottom = 0.0
            stages = [c for c in m.counter_columns if c.startswith("stage_")]
            for si, c in enumerate(stages):
                v = float(np.mean(m.frames[c]))
                ax.bar(j, v, 0.6, bottom=bottom, color=plt.cm.tab10(si % 10), alpha=0.6 if label == "before" else 1,
                       edgecolor="black", linewidth=0.4, label=c[6:] if j == len(sides) - 1 else None)
                bottom += v
            tot = float(np.mean(m.frames["total"]))
            p99 = float(np.percentile(m.frames["total"], 99))
            ax.plot([j], [p99], marker="_", ms=22, mew=2, color="black", label="p99" if j == len(sides) - 1 else None)
            ax.annotate(f"{tot:,.0f}", (j, p99), ha="center", va="bottom", fontsize=7, xytext=(0, 3),
                        textcoords="offset points")
        ax.set_xticks(range(len(sides)), [lbl for lbl, _ in sides], fontsize=8)
        ax.set_xlim(-0.6, len(sides) - 0.4)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.12)
        ax.set_title(n, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        if k % ncol == ncol - 1 or k == len(names) - 1:
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), framealpha=0.85)
    for k in range(len(names), nrow * ncol):
        axes[k // ncol, k % ncol].axis("off")
    unit = next(iter(inp.measures.values())).unit
    axes[0, 0].set_ylabel(f"{unit} per frame (mean)", fontsize=8)
    fig.suptitle(f"{unit} per frame by stage (bar: mean, line: p99)", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def fig_traces(inp: ReportInput) -> str:
    plt = _plt()
    names = sorted(inp.measures)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.1 * len(names)), squeeze=False)
    for ax, n in zip(axes[:, 0], names, strict=True):
        for label, ms, style in (("this run", inp.measures, dict(color="C0", lw=1.0)),
                                 ("before", inp.against or {}, dict(color="C3", lw=0.8, ls="--"))):
            m = ms.get(n)
            if m is None:
                continue
            ax.plot(np.asarray(m.frames["total"], dtype=np.float64), label=label, **style)
        ax.set_title(f"{n}: total per frame (utterances concatenated)", fontsize=9)
        ax.set_ylabel(inp.measures[n].unit, fontsize=8)
        ax.grid(alpha=0.3)
        if inp.against:
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("frame")
    fig.tight_layout()
    return _png(fig)


def fig_quality(inp: ReportInput, metric: str = "pesq_wb") -> str | None:
    pts = []
    for side, ms in (("before", inp.against or {}), ("run", inp.measures)):
        for n, m in ms.items():
            if n not in inp.measures:
                continue
            q = m.quality.get(metric)
            if q:
                pts.append((side, n, float(np.mean(m.frames["total"])), float(np.mean(list(q.values())))))
    if not pts:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for side, n, x, y in pts:
        ax.scatter([x], [y], marker="o" if side == "run" else "x", s=40, color="C0" if side == "run" else "gray")
        ax.annotate(n if side == "run" else f"{n} (before)", (x, y), fontsize=7,
                    xytext=(4, 4) if side == "run" else (4, -10), textcoords="offset points")
    xs = [p[2] for p in pts]
    log = min(xs) > 0 and max(xs) / min(xs) > 10
    if log:
        ax.set_xscale("log")
    else:
        from matplotlib.ticker import MaxNLocator, StrMethodFormatter

        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel(f"{next(iter(inp.measures.values())).unit} per frame (mean{', log' if log else ''})")
    ax.set_ylabel(f"{metric} of the target output (mean)")
    ax.set_title("quality against compute")
    ax.grid(alpha=0.3)
    return _png(fig)


def fig_history(series: list[Series], max_panels: int = 8) -> str | None:
    """One panel per series (image on a board over a set), change points dashed."""
    series = [s for s in series if len(s.values) > 1][:max_panels]
    if not series:
        return None
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(len(series), 1, figsize=(8, 1.9 * len(series) + 0.4), squeeze=False)
    for ax, s in zip(axes[:, 0], series, strict=True):
        ax.plot(np.arange(len(s.values)), s.values, marker=".", ms=4, lw=0.8, color="C0")
        for st in s.steps:
            ax.axvline(st.index - 0.5, color="C3", ls="--", lw=0.8)
            ax.annotate(f"{st.rel * 100:+.2f} % @ {st.git_revision[:8]}", (st.index - 0.5, 0.05), fontsize=6,
                        color="C3", xytext=(3, 0), textcoords="offset points", xycoords=("data", "axes fraction"))
        ax.set_title(f"{s.image} on {s.target_key} (set {s.utt_set[:6]}): {s.metric}", fontsize=8)
        ax.set_ylabel(s.unit, fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("run (oldest first); dashed: change points", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v * 100:+.3f} %" if pct else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}")


def change_rows(cmp: Comparison) -> list[list[str]]:
    rows = []
    for c in cmp.changes:
        extra = (f"{c.changed_frames}/{c.n_b} frames differ" if c.kind == "exact" and c.changed_frames is not None
                 else f"p={c.p_value:.2g}, 95% CI [{_fmt(c.ci_low, True)}, {_fmt(c.ci_high, True)}]"
                 if c.p_value is not None and c.ci_low is not None else f"n={c.n_a}/{c.n_b}")
        metric = f"{c.metric} [{c.unit}]" if c.metric.startswith("energy") else c.metric  # its kind, always
        rows.append([c.image, metric, c.kind, _fmt(c.a), _fmt(c.b), _fmt(c.rel, True), c.status, extra])
    return rows


def energy_cell(s: dict[str, Any]) -> str:
    """Energy per frame with its kind ("measured", "simulated", "model"), wherever it is shown."""
    e = s.get("energy") or {}
    v = e.get("joules_per_frame_mean")
    if v is None or not np.isfinite(v):
        return f"- ({e['kind']})" if e.get("kind") else "-"
    cell = f"{v * 1e6:.4g} uJ ({e.get('kind', '?')})"
    if e.get("frames_excluded"):
        cell += f", {e['frames_excluded']} excluded"
    return cell


CHANGE_HEAD = ["image", "metric", "kind", "before", "after", "change", "verdict", "detail"]


def summary_rows(inp: ReportInput) -> list[list[str]]:
    rows = []
    for n in sorted(inp.summaries):
        s = inp.summaries[n]
        if "total" not in s:
            continue
        q = inp.measures[n].quality.get("pesq_wb") if n in inp.measures else None
        rows.append([n, s["unit"], str(s["frames"]), _fmt(s["total"]["mean"]), _fmt(s["total"]["p50"]),
                     _fmt(s["total"]["p99"]), f"{s['realtime']['rtf_mean']:.3f} ({s['realtime']['kind']})",
                     energy_cell(s), f"{np.mean(list(q.values())):.3f}" if q else "-"])
    return rows


SUMMARY_HEAD = ["image", "unit", "frames", "mean", "p50", "p99", "RTF mean", "energy/frame (kind)", "PESQ-WB (target)"]


def fig_energy(inp: ReportInput) -> str | None:
    """Per-frame energy of the images whose frames carry an instrument's figures, labelled with its kind;
    excluded frames are gaps in the trace."""
    names = [n for n in sorted(inp.measures) if "energy" in inp.measures[n].frames]
    if not names:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.1 * len(names)), squeeze=False)
    for ax, n in zip(axes[:, 0], names, strict=True):
        m = inp.measures[n]
        for label, ms, style in (("this run", inp.measures, dict(color="C2", lw=1.0)),
                                 ("before", inp.against or {}, dict(color="C3", lw=0.8, ls="--"))):
            mm = ms.get(n)
            if mm is None or "energy" not in mm.frames:
                continue
            ax.plot(np.asarray(mm.frames["energy"], np.float64) * 1e6, label=f"{label} ({mm.energy_kind})", **style)
        ax.set_title(f"{n}: energy per frame, {m.energy_kind} (gaps: excluded windows)", fontsize=9)
        ax.set_ylabel(f"uJ ({m.energy_kind})", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("frame")
    fig.tight_layout()
    return _png(fig)


def vad_labels(utts: list[str], frames_per_utt: dict[str, int], root: Path | None = None) -> dict[str, np.ndarray]:
    """Per-frame voice-activity labels of the utterances, from a generated set's frames_hop<H>.parquet
    (bench/data/testset by default): the hop whose label count equals the utterance's frame count, else
    the one closest to it (labels cut or padded with False). Utterances the set does not hold get none."""
    import pyarrow.parquet as pq

    from bench.data.loader import default_set_path

    root = root or default_set_path()
    groups: dict[int, dict[str, np.ndarray]] = {}
    for path in sorted(root.glob("frames_hop*.parquet")):
        try:
            t = pq.read_table(path, columns=["utt", "frame", "vad"])
        except Exception:  # noqa: BLE001 -- labels are optional in a report
            continue
        utt = np.asarray(t.column("utt").to_pylist(), dtype=object)
        frame = t.column("frame").to_numpy()
        vad = t.column("vad").to_numpy(zero_copy_only=False).astype(bool)
        g = {}
        for u in set(utts) & set(utt.tolist()):
            idx = np.flatnonzero(utt == u)
            g[u] = vad[idx[np.argsort(frame[idx], kind="stable")]]
        groups[len(groups)] = g
    out: dict[str, np.ndarray] = {}
    for u in utts:
        cands = [g[u] for g in groups.values() if u in g]
        if not cands:
            continue
        n = frames_per_utt.get(u, 0)
        best = min(cands, key=lambda v: abs(v.size - n))
        out[u] = np.r_[best[:n], np.zeros(max(0, n - best.size), bool)]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def fig_energy_utterance(inp: ReportInput) -> str | None:
    """Per image with an instrument's energy: one utterance (the first), energy per frame beside the
    counter (instructions or cycles) per frame, speech frames (the voice-activity label) shaded; the
    title gives the mean energy on speech and on silence frames (a dynamic model, e.g. DynCP, should
    spend less on silence)."""
    names = [n for n in sorted(inp.measures) if "energy" in inp.measures[n].frames]
    if not names:
        return None
    firsts = {n: inp.measures[n].utterances[0] for n in names}
    vad = inp.vad
    if vad is None:
        counts = {firsts[n]: int(np.count_nonzero(inp.measures[n].frames["utt"] == firsts[n])) for n in names}
        try:
            vad = vad_labels(sorted(set(firsts.values())), counts)
        except Exception:  # noqa: BLE001 -- the figure stands without labels
            vad = {}
    plt = _plt()
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.4 * len(names)), squeeze=False)
    for ax, n in zip(axes[:, 0], names, strict=True):
        m = inp.measures[n]
        u = firsts[n]
        sel = m.frames["utt"] == u
        e = np.asarray(m.frames["energy"], np.float64)[sel] * 1e6
        tot = np.asarray(m.frames["total"], np.float64)[sel]
        x = np.arange(e.size)
        lab = vad.get(u)
        title = f"{n}, {u}: energy per frame ({m.energy_kind}) and {m.unit} per frame"
        if lab is not None and lab.size == e.size:
            for a, b in _runs(lab):
                ax.axvspan(a - 0.5, b - 0.5, color="C1", alpha=0.15, lw=0)
            sp, si = e[lab & np.isfinite(e)], e[~lab & np.isfinite(e)]
            if sp.size and si.size:
                title += f"; speech {sp.mean():.1f} uJ, silence {si.mean():.1f} uJ"
            ax.plot([], [], color="C1", alpha=0.3, lw=6, label="speech (VAD label)")
        else:
            title += " (no voice-activity label for this utterance)"
        ax.plot(x, e, color="C2", lw=1.0, label=f"energy ({m.energy_kind})")
        ax.set_ylabel(f"uJ ({m.energy_kind})", fontsize=8)
        ax2 = ax.twinx()
        ax2.plot(x, tot, color="C0", lw=0.8, ls="--", label=m.unit)
        ax2.set_ylabel(f"{m.unit} per frame", fontsize=8)
        ax2.tick_params(labelsize=7)
        ax.set_title(title, fontsize=8)
        ax.grid(alpha=0.3)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="upper right")
    axes[-1, 0].set_xlabel("frame")
    fig.tight_layout()
    return _png(fig)


def fig_quality_energy(inp: ReportInput, metric: str = "pesq_wb") -> str | None:
    """Quality against energy per frame (mean of the measured frames), one point per image that has both
    an instrument's energy and the quality score; images without energy are left out."""
    pts = []
    for side, ms in (("before", inp.against or {}), ("run", inp.measures)):
        for n, m in ms.items():
            if n not in inp.measures or "energy" not in m.frames:
                continue
            q = m.quality.get(metric)
            e = np.asarray(m.frames["energy"], np.float64)
            if q and np.isfinite(e).any():
                pts.append((side, n, float(np.nanmean(e)) * 1e6, float(np.mean(list(q.values()))), m.energy_kind))
    if not pts:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for side, n, x, y, _ in pts:
        ax.scatter([x], [y], marker="o" if side == "run" else "x", s=40, color="C2" if side == "run" else "gray")
        ax.annotate(n if side == "run" else f"{n} (before)", (x, y), fontsize=7,
                    xytext=(4, 4) if side == "run" else (4, -10), textcoords="offset points")
    kinds = sorted({p[4] for p in pts})
    ax.set_xlabel(f"energy per frame, uJ (mean of measured frames; {', '.join(kinds)})")
    ax.set_ylabel(f"{metric} of the target output (mean)")
    ax.set_title("quality against energy")
    ax.grid(alpha=0.3)
    return _png(fig)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(
        f"<td class='{html.escape(x)}'>{html.escape(x)}</td>" for x in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(x.replace("|", "/") for x in r) + " |" for r in rows]
    return "\n".join(lines)


def verdict_line(cmp: Comparison | None) -> str:
    if cmp is None:
        return "no comparison (give --against RUN or --baseline)"
    reg, imp = cmp.regressions, cmp.improvements
    changed = [c for c in cmp.changes if c.status != "same"]
    if reg:
        return (f"REGRESSION in {len(reg)} figure(s) against {cmp.a}: "
                + ", ".join(f"{c.image} {c.metric} {c.rel * 100:+.2f} %" for c in reg))
    return (f"no regression against {cmp.a} ({len(imp)} improvement(s), {len(changed)} figure(s) changed of "
            f"{len(cmp.changes)})")


def estimate_sections(run: Run) -> list[tuple[str, list[list[str]] | None, str]]:
    """(image, rows or None, caption) of the estimate vs measured tables of a board run
    (bench.results.estimate_check); none for a run whose counter is instructions."""
    return [(n, None if "missing" in d else ec.table_rows(d), ec.caption(d))
            for n, d in sorted(ec.estimate_checks(run).items())]


def render_html(inp: ReportInput) -> str:
    meta = inp.run.read_meta()
    prov = meta.get("provenance", {})
    figs: list[tuple[str, str]] = [("Counters per image", fig_per_image(inp)), ("Per-frame traces", fig_traces(inp))]
    en = fig_energy(inp)
    if en:
        figs.append(("Energy per frame", en))
    eu = fig_energy_utterance(inp)
    if eu:
        figs.append(("Energy per frame over an utterance", eu))
    q = fig_quality(inp)
    if q:
        figs.append(("Quality against compute", q))
    qe = fig_quality_energy(inp)
    if qe:
        figs.append(("Quality against energy", qe))
    h = fig_history(inp.history)
    if h:
        figs.append(("History", h))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>bench report {html.escape(inp.run.run_id)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #bbb;padding:2px 6px;"
        "text-align:right}th{background:#eee}td:first-child{text-align:left}.regression{background:#f6c0c0;"
        "font-weight:bold}.improvement{background:#c8efc8}.changed{background:#fff3b0}"
        "img{max-width:100%;border:1px solid #ddd;margin:.3em 0}.verdict{font-size:15px;padding:.4em;"
        "background:#f4f4f4}</style></head><body>",
        f"<h1>bench report: {html.escape(inp.run.run_id)}</h1>",
        f"<p>target <b>{html.escape(str(meta.get('target', {}).get('name')))}</b>, "
        f"status {html.escape(meta['status'])},"
        f" started {html.escape(str(meta.get('started')))}, git {html.escape(str(prov.get('git_revision')))}, "
        f"{html.escape(str(prov.get('qemu_version') or ''))}, {html.escape(str(prov.get('toolchain')))}</p>",
        f"<p class='verdict'>{html.escape(verdict_line(inp.comparison))}</p>",
        "<h2>Summary</h2>", _html_table(SUMMARY_HEAD, summary_rows(inp)),
        "<p>QEMU figures are instructions (exact, -icount), never cycles; real-time factors on QEMU derive cycles "
        "through the target's stated CPI model and are estimates. Energy figures carry their kind: measured (a "
        "power analyser on the board), simulated (a simulated instrument under the maker's real package) or model "
        "(datasheet energy per cycle).</p>",
    ]
    for name, rows, text in estimate_sections(inp.run):
        parts += [f"<h2>Estimate vs measured cycles: {html.escape(name)}</h2>",
                  _html_table(ec.HEAD, rows) if rows is not None else "", f"<p>{html.escape(text)}</p>"]
    if inp.comparison:
        rows = change_rows(inp.comparison)
        moved = [r for r, c in zip(rows, inp.comparison.changes, strict=True) if c.status != "same"]
        parts += [f"<h2>Changes against {html.escape(inp.comparison.a)}</h2>",
                  _html_table(CHANGE_HEAD, moved) if moved else "<p>every compared figure is identical</p>",
                  f"<details><summary>all {len(rows)} compared figures</summary>"
                  f"{_html_table(CHANGE_HEAD, rows)}</details>"]
        parts += [f"<p>{html.escape(n)}</p>" for n in inp.comparison.notes]
    for title, b64 in figs:
        parts += [f"<h2>{html.escape(title)}</h2>",
                  f"<img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'>"]
    for s in inp.history:
        for st in s.steps:
            parts.append(f"<p>step in {html.escape(s.image)} {html.escape(s.metric)} at run {html.escape(st.run_id)} "
                         f"(image {html.escape(st.image_sha256[:12])}, git {html.escape(st.git_revision)}): "
                         f"{_fmt(st.before)} -> {_fmt(st.after)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(inp: ReportInput) -> str:
    meta = inp.run.read_meta()
    lines = [f"## bench: {inp.run.run_id} ({meta.get('target', {}).get('name')}, {meta['status']})", "",
             f"**{verdict_line(inp.comparison)}**", "", _md_table(SUMMARY_HEAD, summary_rows(inp)), ""]
    for name, rows, text in estimate_sections(inp.run):
        lines += [f"### Estimate vs measured cycles: {name}", ""]
        lines += [_md_table(ec.HEAD, rows), ""] if rows is not None else []
        lines += [text, ""]
    if inp.comparison:
        interesting = [r for r, c in zip(change_rows(inp.comparison), inp.comparison.changes, strict=True)
                       if c.status != "same"]
        lines += [f"### Changes against {inp.comparison.a}", "",
                  _md_table(CHANGE_HEAD, interesting) if interesting else "every compared figure is identical", ""]
        lines += [f"* {n}" for n in inp.comparison.notes]
    for s in inp.history:
        for st in s.steps:
            lines.append(f"* step in {s.image} {s.metric} at {st.run_id} (image {st.image_sha256[:12]}, git "
                         f"{st.git_revision}): {_fmt(st.before)} -> {_fmt(st.after)}")
    return "\n".join(lines) + "\n"


def render_junit(inp: ReportInput) -> str:
    suite = ET.Element("testsuite", name=f"bench.{inp.run.run_id}")
    n = fails = 0
    meta = inp.run.read_meta()
    for name, im in sorted(meta.get("images", {}).items()):
        tc = ET.SubElement(suite, "testcase", classname=f"bench.{name}", name="run")
        n += 1
        if im.get("status") != "done":
            fails += 1
            ET.SubElement(tc, "failure", message=f"{name}: {im.get('status')}").text = str(
                im.get("error") or im.get("utterance_errors"))
    changes: list[MetricChange] = inp.comparison.changes if inp.comparison else []
    for c in changes:
        tc = ET.SubElement(suite, "testcase", classname=f"bench.{c.image}", name=c.metric)
        n += 1
        msg = f"{c.metric}: {_fmt(c.a)} -> {_fmt(c.b)} ({_fmt(c.rel, True)}), {c.status}"
        if c.status == "regression":
            fails += 1
            ET.SubElement(tc, "failure", message=msg, type="regression").text = msg
        else:
            ET.SubElement(tc, "system-out").text = msg
    suite.set("tests", str(n))
    suite.set("failures", str(fails))
    suite.set("errors", "0")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_report(inp: ReportInput, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "report.html", "markdown": out_dir / "summary.md", "junit": out_dir / "junit.xml"}
    paths["html"].write_text(render_html(inp))
    paths["markdown"].write_text(render_markdown(inp))
    paths["junit"].write_text(render_junit(inp))
    return paths


def run_summaries(run: Run) -> dict[str, dict[str, Any]]:
    out = {}
    for name in run.read_meta().get("images", {}):
        sp = run.image_dir(name) / "summary.json"
        if sp.is_file():
            out[name] = read_json(sp)
    return out
