"""Report of a search: the Pareto front against the homogeneous points (Markdown table), the
size / error plot (instructions as colour when measured) and the genome heat map (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.models.common import gru_int as gi


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _step(res: dict[str, Any]) -> str:
    """What one count covers: a GRU step, or for nsnet2 a network step (gru1's + gru2's GRU step)."""
    return "network step (gru1 + gru2)" if res.get("task") == "nsnet2" else "GRU step"


def front_table(res: dict[str, Any]) -> str:
    has_i = "instructions" in res["options"]["objectives"] or any("instructions" in b for b in res["baselines"])
    head = ("| point | genome (w ir iz in hr hz hn / act / bias) | model bits | vs 8-bit | table bytes "
            "| error (search) | error (report) |")
    sep = "|---|---|---:|---:|---:|---:|---:|"
    if has_i:
        head += f" instr/{_step(res)} | cycles_est/step | bit-exact |"
        sep += "---:|---:|---|"
    ref = next(b for b in res["baselines"] if b["weight_bits"] == 8)
    lines = [head, sep]

    def row(label: str, d: dict[str, Any]) -> str:
        g = d["genome"]
        gs = f"{' '.join(map(str, g[:6]))} / {' '.join(map(str, g[6:16]))} / {g[16]} {g[17]}"
        s = (f"| {label} | {gs} | {d['size']} | {100 * (1 - d['size'] / ref['size']):.0f} % smaller | "
             f"{_f(d.get('table_bytes'), 'd')} | {d['error']:.4f} | {_f(d.get('report_error'), '.4f')} |")
        if has_i:
            s += f" {_f(d.get('instructions'), '.0f')} | {_f(d.get('cycles_est'), '.0f')} | {d.get('bit_exact', '-')} |"
        return s

    for b in res["baselines"]:
        lines.append(row(b["label"], b))
    for i, f in enumerate(res["front"]):
        lines.append(row(f"front {i}", f))
    return "\n".join(lines)


def summary(res: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """The paper's claim on this front: the smallest genome the search evaluated (every cached
    genome, the homogeneous points included) whose search error is within ``tolerance`` of
    homogeneous 8-bit's, its size reduction, and whether its report-half error stays within the
    tolerance too (``res["chosen_report_error"]``); and, with instructions measured, the pairs of
    front genomes where the smaller one is slower on target."""
    ref = next(b for b in res["baselines"] if b["weight_bits"] == 8)
    pool = res.get("evaluated", []) + res["population"] + res["front"] + res["baselines"]
    ok = [p for p in pool if p["error"] <= ref["error"] + tolerance]
    out: dict[str, Any] = {"tolerance": tolerance, "ref_size": ref["size"], "ref_error": ref["error"],
                           "ref_report_error": ref.get("report_error")}
    if ok:
        best = min(ok, key=lambda p: (p["size"], p["error"]))
        rep = next((f.get("report_error") for f in res["front"] + res["baselines"]
                    if f["genome"] == best["genome"] and f.get("report_error") is not None),
                   res.get("chosen_report_error", {}).get(",".join(map(str, best["genome"]))))
        out.update(genome=list(best["genome"]), size=best["size"], error=best["error"], report_error=rep,
                   reduction=1 - best["size"] / ref["size"], instructions=best.get("instructions"))
        if rep is not None and ref.get("report_error") is not None:
            out["report_within"] = rep <= ref["report_error"] + tolerance
    homo = [b for b in res["baselines"] if b["error"] <= ref["error"] + tolerance]
    hb = min(homo, key=lambda b: b["size"])
    out["homogeneous"] = {"weight_bits": hb["weight_bits"], "size": hb["size"],
                          "reduction": 1 - hb["size"] / ref["size"]}
    fr = [f for f in res["front"] if f.get("instructions") is not None]
    if fr:
        pairs = [(a, b) for a in fr for b in fr if a["size"] < b["size"] and a["instructions"] > b["instructions"]]
        out["smaller_but_slower"] = len(pairs)
        if pairs:
            a, b = max(pairs, key=lambda ab: ab[0]["instructions"] - ab[1]["instructions"])
            out["example"] = {"smaller": {k: a[k] for k in ("genome", "size", "instructions")},
                              "larger": {k: b[k] for k in ("genome", "size", "instructions")}}
    return out


def summary_text(s: dict[str, Any]) -> str:
    lines = [f"Within {s['tolerance']:g} of homogeneous 8-bit's search error ({s['ref_error']:.4f}, "
             f"{s['ref_size']} bits):"]
    if "genome" in s:
        g = s["genome"]
        rep = "" if s.get("report_error") is None else (
            f"; report half {s['report_error']:.4f} vs 8-bit {s['ref_report_error']:.4f}"
            f" ({'within' if s.get('report_within') else 'NOT within'} the tolerance)")
        lines.append(f"* smallest genome {' '.join(map(str, g))}: {s['size']} bits, "
                     f"{100 * s['reduction']:.0f} % smaller, search error {s['error']:.4f}{rep}")
    h = s["homogeneous"]
    lines.append(f"* smallest homogeneous genome: {h['weight_bits']}-bit, {h['size']} bits, "
                 f"{100 * h['reduction']:.0f} % smaller")
    if "smaller_but_slower" in s:
        n = s["smaller_but_slower"]
        if n:
            e = s["example"]
            lines.append(f"* on target, {n} pair(s) of front genomes where the smaller is slower; e.g. "
                         f"{e['smaller']['size']} bits at {e['smaller']['instructions']:.0f} instructions/step vs "
                         f"{e['larger']['size']} bits at {e['larger']['instructions']:.0f}")
        else:
            lines.append("* on target, no front genome is smaller but slower than another (measured)")
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    pop = res["population"]
    fr = res["front"]
    ci = [f.get("instructions") for f in fr]
    ax.scatter([p["size"] / 8 for p in pop], [p["error"] for p in pop], s=10, c="0.8", label="final population")
    if all(v is not None for v in ci) and ci:
        sc = ax.scatter([f["size"] / 8 for f in fr], [f["error"] for f in fr], c=ci, cmap="viridis", s=40,
                        label="Pareto front", zorder=3)
        fig.colorbar(sc, ax=ax, label=f"QEMU instructions per {_step(res)}")
    else:
        ax.scatter([f["size"] / 8 for f in fr], [f["error"] for f in fr], s=40, c="C0", label="Pareto front", zorder=3)
    for b in res["baselines"]:
        ax.scatter([b["size"] / 8], [b["error"]], marker="s", s=50, c="C3", zorder=4)
        ax.annotate(f"{b['weight_bits']}-bit", (b["size"] / 8, b["error"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xlabel("model size (bytes, weights and biases at their widths)")
    ax.set_ylabel(f"task error ({res['task']}, search half of the test split)")
    ax.set_title(f"mpgru {res['task']}: NSGA-II front vs homogeneous widths")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def heatmap(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = gi.GruGenome.names()
    fr = res["front"]
    if not fr:
        return
    m = np.array([f["genome"] for f in fr], dtype=float)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(fr) + 1.6))
    im = ax.imshow(np.log2(m), aspect="auto", cmap="magma")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if np.log2(m[i, j]) < 3.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=60, fontsize=8)
    ax.set_yticks(range(len(fr)), [f"{f['size']} b / {f['error']:.3f}" for f in fr], fontsize=7)
    ax.set_title(f"mpgru {res['task']}: bit widths of the Pareto genomes (rows: size / error)")
    fig.colorbar(im, ax=ax, label="log2(bits)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(res: dict[str, Any], out: Path) -> str:
    plot(res, out / "front.png")
    heatmap(res, out / "genomes.png")
    summ = summary_text(res["summary"]) + "\n" if "summary" in res else ""
    md = (f"# mpgru search: task {res['task']}, model {res['model']}\n\n"
          f"objectives {', '.join(res['options']['objectives'])}; population {res['options']['pop']}, "
          f"{res['options']['gens']} generations, seed {res['options']['seed']}; generations "
          f"{_f(res.get('search_seconds'), '')} s wall in all (resumes included), this report {res['seconds']} s; "
          f"{res.get('evaluations', '?')} genomes evaluated\n\n"
          + front_table(res) + "\n\n" + summ + "\n![front](front.png)\n\n![genomes](genomes.png)\n")
    (out / "README.md").write_text(md)
    return front_table(res) + "\n\n" + summ
