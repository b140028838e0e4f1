"""results/index.parquet: one row per (run, image) over every run in the store.

Keys: run_id, started (UTC ISO date), target (TOML name), target_uid (the board's probe
unique id / serial when known), target_key (target_uid, else target: each physical board
its own series), board, unit (counter kind), image, image_sha256, build_id, model_family,
toolchain, qemu_version, git_revision, utt_set (a short hash of the utterance ids measured,
so that series over different sets are not mixed), utterances, frames.
Metrics (float64): total_mean/_p50/_p99, stage_<s>_mean/_p50/_p99 per stage,
energy_j_mean (modelled or measured, see energy_kind), q_<metric> (target-output quality
mean over the utterances: pesq_wb, pesq_nb, stoi, estoi, si_sdr) where the run scored it.

Updated incrementally: a row carries a signature of the files it was read from (mtime and
size of run.json and the image's summary.json / comparison.json); `update_index` re-reads
only runs whose signature changed, adds new runs and drops deleted ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.errors import ResultsError
from bench.results.store import Run, read_json, read_parquet, results_root

log = logging.getLogger(__name__)

INDEX_NAME = "index.parquet"
KEY_COLUMNS = ("run_id", "started", "status", "target", "target_uid", "target_key", "board", "unit", "image",
               "image_sha256", "build_id", "model_family", "toolchain", "qemu_version", "git_revision", "utt_set",
               "utterances", "frames", "energy_kind", "sig")


def index_path(root: Path | None = None) -> Path:
    return (root or results_root()) / INDEX_NAME


def _stat_sig(p: Path) -> str:
    try:
        st = p.stat()
    except FileNotFoundError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def run_signature(run_dir: Path) -> str:
    parts = [_stat_sig(run_dir / "run.json")]
    for d in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        parts += [_stat_sig(d / "summary.json"), _stat_sig(d / "comparison.json")]
    return "|".join(parts)


def utt_set_key(utts: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(utts)).encode()).hexdigest()[:10]


def _utts(run: Run, image: str) -> list[str]:
    return sorted(run.done_utterances(image))


def run_rows(run: Run, sig: str | None = None) -> list[dict[str, Any]]:
    """The index rows of one run: one per image that has a summary."""
    meta = run.read_meta()
    prov = meta.get("provenance", {})
    target = meta.get("target", {})
    rows = []
    for name, im in meta.get("images", {}).items():
        sp = run.image_dir(name) / "summary.json"
        if not sp.is_file():
            continue
        s = read_json(sp)
        uid = im.get("target_uid")
        row: dict[str, Any] = {
            "run_id": meta.get("run_id", run.run_id), "started": meta.get("started"), "status": im.get("status"),
            "target": target.get("name"), "target_uid": uid, "target_key": uid or target.get("name"),
            "board": target.get("board"), "unit": s.get("unit"), "image": name,
            "image_sha256": im.get("sha256"), "build_id": im.get("build_id"),
            "model_family": im.get("model_family"), "toolchain": prov.get("toolchain"),
            "qemu_version": prov.get("qemu_version"), "git_revision": prov.get("git_revision"),
            "utt_set": utt_set_key(_utts(run, name)), "utterances": s.get("utterances"), "frames": s.get("frames"),
            "energy_kind": s.get("energy", {}).get("kind"), "sig": sig or run_signature(run.path),
        }
        for k in ("mean", "p50", "p99"):
            row[f"total_{k}"] = float(s["total"][k])
        for st, v in s.get("stages", {}).items():
            for k in ("mean", "p50", "p99"):
                row[f"stage_{st}_{k}"] = float(v[k])
        if "energy" in s:
            row["energy_j_mean"] = float(s["energy"]["joules_per_frame_mean"])
        cp = run.image_dir(name) / "comparison.json"
        if cp.is_file():
            for r in read_json(cp).get("means", []):
                if r.get("condition") == "target":
                    for m, v in r.items():
                        if m not in ("condition", "n", "utterances") and isinstance(v, int | float):
                            row[f"q_{m}"] = float(v)
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    cols = sorted({k for r in rows for k in r})
    fields = []
    for c in cols:
        t = pa.int64() if c in ("utterances", "frames") else pa.string() if c in KEY_COLUMNS else pa.float64()
        fields.append(pa.field(c, t))
    schema = pa.schema(fields)
    return pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows], schema=schema)


def _run_dirs(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.name: p for p in root.iterdir() if p.is_dir() and (p / "run.json").is_file()}


def _checked_rows(run_dir: Path, sig: str) -> list[dict[str, Any]]:
    """run_rows of one run, and proof that they fit the index's columns (a run whose summary holds a
    string where a number belongs is refused here, alone, instead of breaking the whole table)."""
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict) or not isinstance(meta.get("images", {}), dict):
        raise ResultsError(f"{run_dir / 'run.json'} is not a run record (a JSON object with an 'images' object)")
    rows = run_rows(Run(run_dir), sig)
    if rows:
        _table(rows)
    return rows


def skipped_reason(e: BaseException) -> str:
    return str(e) if isinstance(e, ResultsError) else f"{type(e).__name__}: {e}"


def refresh_index(root: Path | None = None, rebuild: bool = False) -> tuple[pa.Table, dict[str, str]]:
    """update_index, and the runs it left out: {run_id: why}. A run that cannot be read (damaged
    run.json or summary, values of the wrong type, an unreadable folder) is skipped and reported,
    never blocking the others; it is read again on the next update (it has no rows, so it stays stale)."""
    skipped: dict[str, str] = {}
    return update_index(root, rebuild, skipped=skipped), skipped


def update_index(root: Path | None = None, rebuild: bool = False,
                 skipped: dict[str, str] | None = None) -> pa.Table:
    """Bring results/index.parquet up to date with the run directories and return it. Runs that cannot
    be read are left out, each logged as a warning (logger bench.results.index) and put in `skipped`."""
    root = root or results_root()
    path = index_path(root)
    old = None
    if path.is_file() and not rebuild:
        try:
            old = pq.read_table(path)
        except (OSError, pa.ArrowException):
            old = None  # a damaged index is rebuilt from the runs
        if old is not None and not {"run_id", "sig"} <= set(old.column_names):
            old = None  # an index of another version: rebuilt too
    dirs = _run_dirs(root)
    known: dict[str, str] = {}
    if old is not None and old.num_rows:
        for rid, sig in zip(old.column("run_id").to_pylist(), old.column("sig").to_pylist(), strict=True):
            known[rid] = sig
    sigs: dict[str, str] = {}
    bad: dict[str, str] = {}
    for rid, p in dirs.items():
        try:
            sigs[rid] = run_signature(p)
        except OSError as e:
            bad[rid] = f"its folder cannot be read: {e}"
    stale = {rid for rid, s in sigs.items() if known.get(rid) != s}
    gone = (set(known) - set(dirs)) | (set(known) & set(bad))
    new_rows: list[dict[str, Any]] = []
    for rid in sorted(stale):
        try:
            new_rows.extend(_checked_rows(dirs[rid], sigs[rid]))
        except Exception as e:  # noqa: BLE001 -- one bad run is reported and skipped, never blocks the others
            bad[rid] = skipped_reason(e)
    for rid, why in sorted(bad.items()):
        log.warning("bench index: run %s skipped: %s", rid, why)
    if skipped is not None:
        skipped.update(bad)
    stale = {rid for rid in stale if rid not in bad} | (set(bad) & set(known))
    if old is not None and not stale and not gone:
        return old
    parts = []
    if old is not None and old.num_rows:
        drop = pa.array(sorted(stale | gone), pa.string())
        parts.append(old.filter(pc.invert(pc.is_in(old.column("run_id"), value_set=drop))))
    if new_rows:
        parts.append(_table(new_rows))
    table = pa.concat_tables(parts, promote_options="permissive") if parts else _table([])
    if table.num_rows:
        table = table.sort_by([("started", "ascending"), ("run_id", "ascending"), ("image", "ascending")])
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table


def load_index(root: Path | None = None, update: bool = True) -> pa.Table:
    root = root or results_root()
    if update:
        return update_index(root)
    if not index_path(root).is_file():
        raise ResultsError(f"no index at {index_path(root)}; build it with `bench index`")
    return read_parquet(index_path(root), hint="rebuild it with `bench index --rebuild`")
