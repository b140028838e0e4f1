"""Every rich table and progress display of the CLI, in one place. They read plain documents
(the store's JSON, a family's TableSpec, a Comparison); none starts anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.cli.base import console


class RichProgress:
    """The runner's progress callbacks as rich progress bars (frames, one bar per image) on stderr;
    images may run in parallel."""

    def __init__(self) -> None:
        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("frames"), TimeElapsedColumn(), console=console, transient=False)
        self._tasks: dict[str, Any] = {}
        self._p.start()

    def image_started(self, image: str, utterances: int, frames: int) -> None:
        self._tasks[image] = self._p.add_task(f"{escape(image)} ({utterances} utt)", total=frames)

    def advance(self, frames: int, image: str = "") -> None:
        task = self._tasks.get(image)
        if task is not None:
            self._p.advance(task, frames)

    def image_finished(self, image: str, summary: dict[str, Any] | None, error: str | None) -> None:
        if error:
            console.print(f"[red]{escape(image)}: {escape(error)}[/red]")

    def stop(self) -> None:
        self._p.stop()


def table(title: str, columns: Sequence[str], right: Sequence[str] = ()) -> Table:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c in right else "left")
    return t


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


# ---- a run -----------------------------------------------------------------------------------
def image_table(name: str, summary: dict[str, Any]) -> Table:
    """Counters per stage; with cycles_est (QEMU's cycle-estimate plugin) beside the instructions."""
    unit = summary["unit"]
    est = summary.get("cycles_est")
    cols = ("stage", "mean", "p50", "p99", "max") + (("cycles_est mean", "cycles_est p99") if est else ())
    t = table(escape(f"{name}: {summary['frames']} frames, {summary['utterances']} utterances ({unit} per frame)"),
              cols, right=cols[1:])
    stages = summary["stages"]

    def est_cells(st: dict[str, Any] | None) -> tuple[str, ...]:
        return () if not est else (("-", "-") if st is None else (_fmt(st["mean"]), _fmt(st["p99"])))

    for stage in summary.get("stage_order", list(stages)):
        st = stages[stage]
        t.add_row(escape(stage), _fmt(st["mean"]), _fmt(st["p50"]), _fmt(st["p99"]), _fmt(st["max"]),
                  *est_cells(est["stages"].get(stage) if est else None))
    tot = summary["total"]
    t.add_row("[bold]total[/bold]", _fmt(tot["mean"]), _fmt(tot["p50"]), _fmt(tot["p99"]), _fmt(tot["max"]),
              *est_cells(est["total"] if est else None))
    captions = [est["label"]] if est else []
    if summary.get("energy"):
        captions.append(energy_line(summary["energy"]))
    if captions:
        t.caption = escape("\n".join(captions))
    return t


def estimate_table(name: str, doc: dict[str, Any]) -> Table | str:
    """A board run's measured cycles per stage beside QEMU's cycles_est of the same image build
    (bench.results.estimate_check); without an estimate, the line that says how to make one."""
    from bench.results.estimate_check import HEAD, caption, table_rows

    if "missing" in doc:
        return f"[yellow]{escape(name)}: estimate vs measured: {escape(doc['missing'])}[/yellow]"
    t = table(escape(f"{name}: estimate vs measured cycles per frame, per stage"), HEAD, right=HEAD[1:])
    for r in table_rows(doc):
        t.add_row(*(escape(x) for x in r))
    t.caption = escape(caption(doc))
    return t


def energy_line(e: dict[str, Any]) -> str:
    """An image's energy with its kind (measured / simulated / model), current and excluded windows."""
    v = e.get("joules_per_frame_mean")
    parts = [f"energy per frame [{e.get('kind', '?')}]: " + (f"{v * 1e6:.4g} uJ mean" if v == v and v is not None
                                                            else "none measured")]
    st = e.get("joules_per_frame")
    if st and st.get("p50") == st.get("p50"):
        parts.append(f"p50 {st['p50'] * 1e6:.4g}, p99 {st['p99'] * 1e6:.4g} uJ")
    if e.get("mean_current_a") is not None:
        parts.append(f"current mean {e['mean_current_a'] * 1e3:.4g} mA, peak {e.get('peak_current_a', 0) * 1e3:.4g} mA")
    if e.get("window_s") is not None:
        parts.append(f"{e.get('frames_measured', '?')} windows, {e['window_s'] * 1e3:.4g} ms")
    if e.get("frames_excluded"):
        why = ", ".join(f"{k} {n}" for k, n in e.get("excluded_reasons", {}).items())
        parts.append(f"{e['frames_excluded']} frame(s) excluded ({why})")
    if e.get("stages"):
        parts.append("stages " + ", ".join(f"{k} {v * 1e6:.3g} uJ" for k, v in e["stages"].items()))
    return "; ".join(parts) + (f" - {e['model']}" if e.get("model") else "")


def run_table(doc: dict[str, Any]) -> Table:
    """The end of `bench run`: one row per image (counters per frame, real time, quality on target,
    fidelity, and a family's own figure such as a dynamic model's saving)."""
    from bench.families import family_for

    kinds = {im["energy"].get("kind", "?") for im in doc["images"].values() if im.get("energy")}
    one_kind = kinds.pop() if len(kinds) == 1 else None
    cols = ("image", "status", "instr", "cycles_est", "RTF", f"µJ ({one_kind})" if one_kind else "energy",
            "PESQ-WB", "STOI", "ΔPESQ vs float", "bit-exact", "saving")
    t = table(f"run {escape(doc['run_id'])} on {escape(doc['target'])}: {doc['status']}", cols, right=cols[2:])
    for c in t.columns[:6]:
        c.no_wrap = True
    for name, im in doc["images"].items():
        q = im.get("quality") or {}
        means = {r["condition"]: r for r in q.get("means", [])}
        tgt = means.get("target", {})
        d = {(x["a"], x["b"], x["metric"]): x for x in q.get("deltas", [])}
        dpesq = d.get(("target", "float", "pesq_wb"))
        fids = q.get("fidelity") or {}
        fid = fids.get("target_vs_golden") or fids.get("target_vs_float")  # a family whose float model is its spec
        est = im.get("cycles_est")
        view = im.get("view") or {}
        fam = family_for(view.get("family", ""), required=False) if view and "unscorable" not in view else None
        extra = fam.summary_figures(view) if fam is not None else {}
        unit = im.get("unit", "instructions")
        t.add_row(escape(name), im["status"],
                  _fmt(im["total"]["mean"]) if "total" in im and unit == "instructions" else
                  (f"{_fmt(im['total']['mean'])} cycles" if "total" in im else "-"),
                  _fmt(est["total"]["mean"]) if est else "-",
                  f"{im['realtime']['rtf_mean']:.3f}" if "realtime" in im else "-",
                  _energy_cell(im.get("energy"), with_kind=one_kind is None),
                  f"{tgt['pesq_wb']:.3f}" if tgt.get("pesq_wb") is not None else "-",
                  f"{tgt['stoi']:.3f}" if tgt.get("stoi") is not None else "-",
                  f"{dpesq['mean']:+.3f}" if dpesq else "-",
                  f"{fid['bit_exact_min']:.4f}" if fid else "-",
                  escape(extra.get("saving", "")))
    t.caption = ("per frame: instr = instructions (QEMU -icount, exact), cycles_est = an estimate (docs/cycles.md); "
                 "RTF at the target's nominal clock (an estimate on QEMU); energy: mean uJ per frame with its kind "
                 "(measured / simulated / model, docs/energy.md); PESQ-WB, STOI: target output, mean over "
                 "utterances; bit-exact: target vs golden (vs float where the family has no golden), the least "
                 "fraction of equal samples; saving: a dynamic image's instructions saved against its family's "
                 "static image in the same run")
    return t


def _energy_cell(e: dict[str, Any] | None, with_kind: bool = True) -> str:
    """Mean energy per frame; its kind beside it unless the column header names the one kind."""
    if not e:
        return "-"
    v = e.get("joules_per_frame_mean")
    val = f"{v * 1e6:.3g}" if v is not None and v == v else "-"
    return f"{val} µJ ({e.get('kind', '?')})" if with_kind else val


def realtime_line(summary: dict[str, Any]) -> str:
    rt = summary["realtime"]
    return (f"real-time factor at {rt['clock_hz'] / 1e6:.0f} MHz: mean {rt['rtf_mean']:.3f}, "
            f"p99 {rt['rtf_p99']:.3f}  [{rt['kind']}: {rt['model']}]")


QUALITY_COLS = ("pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr")


def quality_table(name: str, comp: dict[str, Any]) -> Table:
    t = table(f"{name}: quality (mean over utterances)", ("condition", *QUALITY_COLS), right=QUALITY_COLS)
    for row in comp["means"]:
        t.add_row(row["condition"], *(f"{row[m]:.3f}" if m in row else "-" for m in QUALITY_COLS))
    for a, b in (("target", "float"), ("target", "noisy")):
        ds = {d["metric"]: d for d in comp["deltas"] if d["a"] == a and d["b"] == b}
        if ds:
            t.add_row(f"{a} - {b}", *(f"{ds[m]['mean']:+.3f} ±{(ds[m]['ci_high'] - ds[m]['ci_low']) / 2:.3f}"
                                      if m in ds else "-" for m in QUALITY_COLS))
    fid = comp.get("fidelity", {})
    t.caption = "deltas: mean ± half-width of the 95% bootstrap interval over utterances. " + "; ".join(
        f"{k}: bit-exact min {v['bit_exact_min']:.4f}, max |err| {v['max_abs_lsb']:.0f} LSB"
        for k, v in fid.items())
    if comp.get("golden_source"):
        t.caption += f". golden = {comp['golden_source']}"
    return t


def context_table(ctx: dict[str, Any]) -> Table:
    """Reference baselines on the run's own audio (bench.metrics.context)."""
    t = table(f"reference baselines on the same audio ({ctx['utterances']} utterances)",
              ("baseline", "method", "scores"))

    def fmt(d: dict[str, Any], keys: tuple[str, ...]) -> str:
        if "unscorable" in d:
            return f"unscorable: {d['unscorable']}"
        return ", ".join(f"{k} {d[k]:.3f}" if d.get(k) is not None else f"{k} n/a" for k in keys)

    t.add_row("VAD", ctx["vad"].get("method", ""), fmt(ctx["vad"], ("accuracy", "f1")))
    t.add_row("F0", ctx["f0"].get("method", ""), fmt(ctx["f0"], ("r2_both", "gpe_both", "voicing_error")))
    if "enhancer" in ctx:
        t.add_row("enhancer", ctx["enhancer"].get("method", ""),
                  fmt(ctx["enhancer"], ("pesq_wb", "pesq_nb", "stoi", "estoi")))
    return t


def spec_table(spec: Any) -> Table:
    """A family's TableSpec (bench.families.base) as a rich table (its text is data, not markup)."""
    t = Table(title=escape(spec.title))
    for i, c in enumerate(spec.columns):
        t.add_column(escape(c), justify="left" if i == 0 else "right")
    for row in spec.rows:
        t.add_row(*(escape(str(c)) for c in row))
    t.caption = escape(spec.caption)
    return t


def view_tables(name: str, view: dict[str, Any], unit: str) -> list[Table]:
    """The family view of an image (run summary "view") as tables; none for an unknown family; a
    view that could not score its input says so."""
    from bench.families import TableSpec, family_for

    if "unscorable" in view:
        return [spec_table(TableSpec(f"{name}: {view.get('family', '')} view", ("figure", "value"),
                                     (("not scorable", str(view["unscorable"])),)))]
    fam = family_for(view.get("family", ""), required=False)
    return [spec_table(s) for s in fam.view_tables(name, view, unit)] if fam is not None else []


def sweep_table(doc: dict[str, Any]) -> Table:
    from bench.runner.sweep import TABLE_COLS, _f

    short = {"instr/frame": "instr", "MACs/frame": "MACs", "PESQ-WB target": "PESQ tgt", "PESQ-WB float": "PESQ flt",
             "STOI target": "STOI tgt", "STOI float": "STOI flt", "bit-exact vs golden": "exact"}
    t = Table(title=f"{doc['image']} on {doc['target']}: {doc.get('axis', 'exit')} sweep")
    cols = [c for c in TABLE_COLS if c[0] in ("point", "network", *short)]
    for name, _, _ in cols:
        t.add_column(short.get(name, name), justify="left" if name == "point" else "right", no_wrap=True)
    t.add_column("exit %", no_wrap=True)
    for r in doc["points"]:
        share = "/".join(f"{100 * s:.0f}" for s in r.get("exit_share", []))
        t.add_row(*(_f(r.get(k), f) for _, k, f in cols), share)
    t.caption = ("instructions per frame under QEMU -icount (not cycles); quality: mean over utterances; "
                 "sweep.md has the per-stage columns")
    return t


# ---- lists -----------------------------------------------------------------------------------
def targets_table(ts: Sequence[Any]) -> Table:
    t = table("targets", ("name", "driver", "board", "cpu", "clock", "counter"))
    for x in ts:
        t.add_row(x.name, x.driver, x.board, x.cpu, f"{x.clock_hz / 1e6:.0f} MHz", x.counter.unit)
    return t


def images_table(es: Sequence[Any]) -> Table:
    t = table("firmware_images/manifest.json", ("name", "board", "family", "flash", "ram", "sha256"))
    for e in es:
        t.add_row(e.name, e.board, e.model_family, f"{e.flash_bytes:,}", f"{e.ram_bytes:,}", e.sha256[:12])
    return t


def families_table(docs: Sequence[dict[str, Any]]) -> Table:
    t = table("model families (bench.families entry points)", ("name", "description", "CONFIGURE keys",
                                                                "sweep axes", "model steps"))
    for d in docs:
        keys = "-" if d["config_keys"] is None else (
            ", ".join(f"{k['name']} {k['lo']}..{k['hi']}" for k in d["config_keys"]) or "none")
        t.add_row(d["name"], d["description"], keys, ", ".join(a["name"] for a in d["sweep_axes"]) or "none",
                  ", ".join(d["steps"]) or "none")
    return t


# ---- regression ------------------------------------------------------------------------------
STYLE = {"regression": "bold red", "improvement": "green", "changed": "yellow", "inconclusive": "magenta",
         "same": "dim"}


def comparison_table(cmp: Any, show_all: bool = False) -> Table:
    from bench.results.report import CHANGE_HEAD, change_rows

    t = table(f"{cmp.b} against {cmp.a}", CHANGE_HEAD,
              right=[c for c in CHANGE_HEAD if c not in ("image", "metric", "kind", "verdict", "detail")])
    for row, c in zip(change_rows(cmp), cmp.changes, strict=True):
        if show_all or c.status != "same":
            t.add_row(*row, style=STYLE.get(c.status))
    return t


def history_table(s: Any, last: int) -> Table:
    """One series of `bench history`: the last ``last`` runs and every step with its neighbour."""
    t = table(f"{s.metric} of {s.image} on {s.target_key} (set {s.utt_set}, {s.unit}, "
              f"{'exact' if s.exact else 'binary segmentation'}): {len(s.values)} runs, {len(s.steps)} step(s)",
              ("run", "started", "image", "git", "value", "step"), right=("value",))
    steps = {st.index: st for st in s.steps}
    rows = list(range(len(s.values)))
    if len(rows) > last:
        keep = set(rows[-last:]) | {i for k in steps for i in (k - 1, k)}
        rows = [i for i in rows if i in keep]
    for i in rows:
        st = steps.get(i)
        t.add_row(s.run_ids[i], s.started[i], s.sha256[i][:12], s.git[i], f"{s.values[i]:,.6g}",
                  f"{st.rel * 100:+.2f} %" if st else "", style="bold" if st else None)
    return t


def baselines_table(title: str, rows: Sequence[dict[str, Any]]) -> Table:
    t = table(title, ("target", "image", "sha256", "unit", "utterances", "frames", "total mean", "from run", "git"))
    for r in rows:
        t.add_row(r["target"], r["image"], r["sha256"][:12], r["unit"], str(len(r["utterances"])),
                  str(r["frames"]), f"{r['total_mean']:,.1f}", r["from_run"], str(r["provenance"]["git_revision"]))
    return t
