"""One night of the farm: every place in parallel (one thread each, each attempt a subprocess with
the place's timeout), a reset and a retry, the verdicts against each place's last good night, the
merged summary (farm.json), the reports (report.md, junit.xml) and the farm history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bench.errors import BenchError
from bench.farm import places as lab
from bench.farm.html import failure_text, render_html
from bench.farm.merge import merge_night
from bench.farm.spec import FarmSpec, PlaceSpec
from bench.results.store import now_iso, results_root

EXIT_OK = 0
EXIT_REGRESSION = 3
EXIT_BOARD_FAILED = 4
EXIT_RESERVED = 5  # nothing failed, but a place was held by somebody else and not tested
VERDICTS = {EXIT_OK: "all good", EXIT_REGRESSION: "REGRESSION", EXIT_BOARD_FAILED: "BOARD FAILED",
            EXIT_RESERVED: "PLACE RESERVED (not tested)"}
SCHEMA = 1


def farm_dir() -> Path:
    return results_root() / "farm"


def history_path(farm: str) -> Path:
    return farm_dir() / f"{farm}-history.json"


def read_history(farm: str) -> list[dict[str, Any]]:
    p = history_path(farm)
    return list(json.loads(p.read_text())["nights"]) if p.is_file() else []


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _target_name(target: str) -> str:
    from bench.targets import load_target

    try:
        return load_target(target).name
    except BenchError:
        return Path(target).stem


def _stop(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """SIGTERM to the attempt's process group (the runner marks its run interrupted, QEMU goes with
    it), SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def attempt(place: PlaceSpec, run_id: str, resume: bool, log: Path) -> dict[str, Any]:
    """One attempt of a place: the worker subprocess under the place's timeout."""
    opts = {"target": place.target, "images": list(place.images), "limit": place.limit, "set_path": place.set_path,
            "metrics": place.metrics, "run_id": run_id, "probe_uid": place.probe, "jobs": place.jobs}
    cmd = [sys.executable, "-m", "bench.farm.worker", json.dumps(opts)] + (["--resume"] if resume else [])
    t0 = time.monotonic()
    with open(log, "a") as err:
        err.write(f"--- {now_iso()} {'resume' if resume else 'start'} {run_id}\n")
        err.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
                                env=lab.worker_env(place))
        try:
            out, _ = proc.communicate(timeout=place.timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            return {"status": "timeout", "error": f"no result within the place's timeout ({place.timeout:g} s); "
                    "stopped", "wall_s": time.monotonic() - t0, "runner_s": None, "resume": resume}
    wall = time.monotonic() - t0
    try:
        doc = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        doc = {"status": "failed", "error": f"the worker exited {proc.returncode} without a result (see {log.name})",
               "runner_s": None}
    return {"status": doc["status"], "error": doc.get("error"), "wall_s": wall, "runner_s": doc.get("runner_s"),
            "resume": resume}


def run_place(place: PlaceSpec, stamp: str, night_dir: Path,
              blocked: tuple[str, str] | None = None) -> dict[str, Any]:
    """Attempts until the run is done or the retries are spent; a failed attempt is followed by a
    reset: its process group is stopped, and the retry's driver restarts QEMU or reflashes and
    resets the board, resuming the same run (what was measured is kept)."""
    from bench.results.store import Run

    target = _target_name(place.target)
    run_id = f"{stamp}-{place.name}-{target}"
    log = night_dir / f"{place.name}.log"
    attempts: list[dict[str, Any]] = []
    if blocked is not None:  # reserved by somebody else (not retried, not the board's failure), or unreachable
        status, error = blocked
        return {"place": place.name, "target": target, "run_id": None, "status": status, "attempts": [],
                "error": error, "images": {}}
    for k in range(place.retries + 1):
        resume = k > 0 and (results_root() / run_id / "run.json").is_file()
        attempts.append(attempt(place, run_id, resume, log))
        if attempts[-1]["status"] == "done":
            break
    images: dict[str, Any] = {}
    if (results_root() / run_id / "run.json").is_file():
        meta = Run.open(run_id).read_meta()
        images = {n: {"status": v.get("status"), "error": v.get("error"),
                      "utterance_errors": v.get("utterance_errors") or {}} for n, v in meta["images"].items()}
    else:  # the run was never created (the target or an image was refused before it started)
        return {"place": place.name, "target": target, "run_id": None, "status": "failed",
                "attempts": attempts, "error": attempts[-1]["error"], "images": images}
    ok = attempts[-1]["status"] == "done"
    return {"place": place.name, "target": target, "run_id": run_id, "status": "done" if ok else "failed",
            "attempts": attempts, "error": None if ok else attempts[-1]["error"], "images": images}


def last_good_run(history: list[dict[str, Any]], place: str) -> str | None:
    for night in reversed(history):
        p = night.get("places", {}).get(place)
        if p and p.get("status") == "done" and p.get("run_id") and (results_root() / p["run_id"]).is_dir():
            return str(p["run_id"])
    return None


def verdicts(res: dict[str, Any], against: str | None, opts: Any) -> dict[str, Any]:
    """Per image of a place: regression | improvement | changed | same | new | failed, with the
    changes that are not `same` (bench.results.compare on the place's last good night)."""
    from bench.results.compare import compare_sets
    from bench.results.measures import run_measures
    from bench.results.store import Run

    out: dict[str, Any] = {n: {"verdict": "failed" if im["status"] != "done" else "new", "changes": []}
                           for n, im in res["images"].items()}
    if res["run_id"] is None or against is None:
        return out
    cur = {k: v for k, v in run_measures(Run.open(res["run_id"])).items() if res["images"][k]["status"] == "done"}
    prev = run_measures(Run.open(against))
    both = {k: prev[k] for k in cur if k in prev}
    if not both:
        return out
    cmp = compare_sets(both, {k: cur[k] for k in both}, opts, label_a=against, label_b=res["run_id"])
    for name in both:
        ch = [c for c in cmp.changes if c.image == name]
        st = {c.status for c in ch}
        v = next((s for s in ("regression", "improvement", "changed") if s in st), "same")
        out[name] = {"verdict": v, "changes": [c.to_json() for c in ch if c.status != "same"]}
    return out


def consecutive_failures(history: list[dict[str, Any]], place: str) -> int:
    n = 0
    for night in reversed(history):
        p = night.get("places", {}).get(place)
        if p is None:
            continue
        if p.get("status") == "reserved":  # not tested that night: neither a failure nor a success
            continue
        if p.get("status") != "failed":
            break
        n += 1
    return n


def run_farm(spec: FarmSpec, compare_options: Any = None, stamp: str | None = None) -> dict[str, Any]:
    """The night: every place at once, then verdicts, summary, reports and history. Returns the
    summary (farm.json's document, with "exit_code")."""
    from bench.results.compare import CompareOptions

    opts = compare_options or CompareOptions()
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base, k = stamp, 1
    while (farm_dir() / f"{stamp}-{spec.name}").exists():  # two nights within one second
        k += 1
        stamp = f"{base}-{k}"
    night_id = f"{stamp}-{spec.name}"
    night_dir = farm_dir() / night_id
    night_dir.mkdir(parents=True)
    history = read_history(spec.name)
    started, t0 = now_iso(), time.monotonic()
    with ThreadPoolExecutor(len(spec.places), thread_name_prefix="bench-farm") as ex:
        held = lab.blocked(list(spec.places))  # labgrid places held by others, before any worker starts
        results = list(ex.map(lambda p: run_place(p, stamp, night_dir, held.get(p.name)), spec.places))
    places_s = time.monotonic() - t0
    locks = lab.sweep(list(spec.places))
    t1 = time.monotonic()
    for r in results:
        r["against"] = last_good_run(history, r["place"])
        try:
            r["verdicts"] = verdicts(r, r["against"], opts)
        except BenchError as e:  # an unreadable earlier night: no verdict, said so
            r["verdicts"] = {n: {"verdict": "new", "changes": []} for n in r["images"]}
            r["compare_error"] = str(e)
        w = sum(a["wall_s"] for a in r["attempts"])
        inner = [a["runner_s"] for a in r["attempts"] if a["runner_s"] is not None]
        r["wall_s"] = round(w, 3)
        r["runner_s"] = round(sum(inner), 3) if r["attempts"] and len(inner) == len(r["attempts"]) else None
        r["overhead_s"] = None if r["runner_s"] is None else round(w - r["runner_s"], 3)
    night = {"night_id": night_id, "started": started,
             "places": {r["place"]: {"status": r["status"], "run_id": r["run_id"], "target": r["target"]}
                        for r in results}}
    history.append(night)
    for r in results:
        r["failed_nights_running"] = consecutive_failures(history, r["place"])
    regression = any(v["verdict"] == "regression" for r in results for v in r["verdicts"].values())
    failed = [r["place"] for r in results if r["status"] == "failed"]
    reserved = [r["place"] for r in results if r["status"] == "reserved"]
    code = (EXIT_REGRESSION if regression else EXIT_BOARD_FAILED if failed else EXIT_RESERVED if reserved
            else EXIT_OK)
    summary: dict[str, Any] = {
        "schema": SCHEMA, "farm": spec.name, "farm_file": str(spec.path) if spec.path else None,
        "night_id": night_id, "started": started, "finished": now_iso(),
        "exit_code": code, "verdict": VERDICTS[code], "regression": regression, "failed_places": failed,
        "reserved_places": reserved, "locks": locks,
        "failing_for_nights": {r["place"]: r["failed_nights_running"] for r in results
                               if r["failed_nights_running"] >= spec.fail_nights},
        "compare_options": asdict(opts),
        "timing": {"places_s": round(places_s, 3), "sum_of_places_s": round(sum(r["wall_s"] for r in results), 3)},
        "places": results, "path": str(night_dir),
    }
    summary["merged_run"] = merge_night(f"{stamp}-farm-{spec.name}", results)
    summary["timing"]["verdicts_s"] = round(time.monotonic() - t1, 3)
    (night_dir / "report.md").write_text(render_markdown(summary, spec.fail_nights))
    (night_dir / "junit.xml").write_text(render_junit(summary))
    (night_dir / "report.html").write_text(render_html(summary, spec.fail_nights))
    _write_json(night_dir / "farm.json", summary)
    _write_json(history_path(spec.name), {"schema": SCHEMA, "farm": spec.name, "nights": history[-60:]})
    return summary


def render_markdown(s: dict[str, Any], fail_nights: int = 3) -> str:
    lines = [f"# Farm {s['farm']}: night {s['night_id']}", ""]
    for place, n in s["failing_for_nights"].items():
        lines.append(f"**BOARD {place} HAS FAILED {n} NIGHTS RUNNING** (>= {fail_nights}): take it out of the farm "
                     "or repair it.")
    if s["failing_for_nights"]:
        lines.append("")
    lines += [f"Verdict: **{VERDICTS[s['exit_code']]}** (exit {s['exit_code']}); failed places: "
              f"{', '.join(s['failed_places']) or 'none'}; reserved by others: "
              f"{', '.join(s.get('reserved_places', [])) or 'none'}", "",
              "| place | target | status | attempts | run | image | verdict | against |",
              "|---|---|---|---|---|---|---|---|"]
    for r in s["places"]:
        rows = r["verdicts"] or {"-": {"verdict": r["status"], "changes": []}}
        for name, v in rows.items():
            lines.append(f"| {r['place']} | {r['target']} | {r['status']} | {len(r['attempts'])} "
                         f"| {r['run_id'] or '-'} | {name} | {v['verdict']} | {r['against'] or '-'} |")
    errs = [(r["place"], failure_text(r)) for r in s["places"] if r["error"] and r["status"] == "failed"]
    if errs:
        lines += ["", "## Failures", ""] + [f"* {p}: {e}" for p, e in errs]
    held = [(r["place"], r["error"]) for r in s["places"] if r["status"] == "reserved"]
    if held:
        lines += ["", "## Reserved by others (not tested)", ""] + [f"* {p}: {e}" for p, e in held]
    swept = [(p, v["released"]) for p, v in s.get("locks", {}).items() if v.get("released")]
    if swept:
        lines += ["", "## Locks", ""] + [f"* {p}: {msg}" for p, msg in swept]
    regs = [(r["place"], n, c) for r in s["places"] for n, v in r["verdicts"].items() for c in v["changes"]
            if c["status"] == "regression"]
    if regs:
        lines += ["", "## Regressions", ""] + [
            f"* {p} / {n}: {c['metric']} {c['a']:,.1f} -> {c['b']:,.1f} {c['unit']} ({c['rel'] * 100:+.3f} %)"
            for p, n, c in regs]
    return "\n".join(lines) + "\n"


def render_junit(s: dict[str, Any]) -> str:
    cases: list[tuple[str, str, str | None, str]] = []
    for r in s["places"]:
        if r["status"] == "reserved":
            cases.append((r["place"], "board", "skipped", str(r["error"])))
        elif r["status"] != "done" and not r["images"]:
            cases.append((r["place"], "board", "failure", f"board failed: {r['error']}"))
        for name, v in r["verdicts"].items():
            if v["verdict"] == "failed":
                cases.append((r["place"], name, "failure", f"board failed: {r['error']}"))
            elif v["verdict"] == "regression":
                msg = "; ".join(f"{c['metric']} {c['rel'] * 100:+.3f} %" for c in v["changes"]
                                if c["status"] == "regression")
                cases.append((r["place"], name, "failure", f"regression: {msg}"))
            else:
                cases.append((r["place"], name, None, v["verdict"]))
    fails = sum(1 for c in cases if c[2] == "failure")
    skips = sum(1 for c in cases if c[2] == "skipped")
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<testsuite name={quoteattr("farm " + s["farm"])} tests="{len(cases)}" failures="{fails}" '
           f'skipped="{skips}">']
    for place, name, kind, msg in cases:
        head = f'  <testcase classname={quoteattr("farm." + place)} name={quoteattr(name)}'
        if kind == "skipped":
            out.append(f'{head}><skipped message={quoteattr(msg[:200])}/></testcase>')
        elif kind:
            out.append(f'{head}><failure message={quoteattr(msg[:200])}>{escape(msg)}</failure></testcase>')
        else:
            out.append(f'{head}><system-out>{escape(msg)}</system-out></testcase>')
    out.append("</testsuite>")
    return "\n".join(out) + "\n"
