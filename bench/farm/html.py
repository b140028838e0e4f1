"""The night's report as one self-contained HTML page (report.html beside report.md and junit.xml):
the verdict first, boards failing night after night called out, then one row per place and image
with its status, attempts, times and verdict, then the failures, the reserved places, the locks the
night released and the regressions with their figures."""

from __future__ import annotations

from html import escape
from typing import Any


def failure_text(r: dict[str, Any], limit: int = 500) -> str:
    """A failed place's reason: its last attempt's error, and the earlier attempts' when they differ
    (the first one usually says what happened to the board, the retry what state it was left in)."""
    last = str(r["error"])[:limit]
    earlier = [f"attempt {k + 1}: {str(a['error'])[:limit]}" for k, a in enumerate(r["attempts"][:-1])
               if a.get("error") and a["error"] != r["error"]]
    return "; ".join(earlier + [f"attempt {len(r['attempts'])}: {last}" if earlier else last])


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:20px 0 6px}
.verdict{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#2e7d32} .regression{background:#c62828} .failed{background:#ef6c00} .reserved{background:#6d4c9f}
.callout{background:#ffebee;border-left:6px solid #c62828;padding:8px 12px;margin:10px 0;font-weight:600}
table{border-collapse:collapse;margin-top:8px} th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.st-failed td{background:#fff3e0} tr.st-reserved td{background:#f3eefa} tr.v-regression td{background:#ffebee}
code{font-size:12px} li{margin:3px 0}
"""

_CLASS = {0: "ok", 3: "regression", 4: "failed", 5: "reserved"}


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}"


def render_html(s: dict[str, Any], fail_nights: int = 3) -> str:
    e = escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Farm {e(s['farm'])}: night {e(s['night_id'])}</title><style>{STYLE}</style></head><body>",
           f"<h1>Farm {e(s['farm'])}: night {e(s['night_id'])}</h1>"]
    for place, n in s["failing_for_nights"].items():
        out.append(f"<div class='callout'>BOARD {e(place)} HAS FAILED {n} NIGHTS RUNNING (&ge; {fail_nights}): take it "
                   "out of the farm or repair it.</div>")
    t = s["timing"]
    out.append(f"<p><span class='verdict {_CLASS.get(s['exit_code'], 'failed')}'>{e(s['verdict'])}</span> "
               f"exit {s['exit_code']} &middot; {e(s['started'])} .. {e(s['finished'])} &middot; places in parallel: "
               f"{t['places_s']:.1f} s wall (their own times add up to {t.get('sum_of_places_s', 0):.1f} s)</p>")
    out.append("<table><tr><th>place</th><th>target</th><th>status</th><th>attempts</th><th>wall s</th>"
               "<th>runner s</th><th>overhead s</th><th>image</th><th>verdict</th><th>run</th><th>against</th></tr>")
    for r in s["places"]:
        rows = r["verdicts"] or {"-": {"verdict": r["status"], "changes": []}}
        for name, v in rows.items():
            out.append(f"<tr class='st-{e(r['status'])} v-{e(v['verdict'])}'><td>{e(r['place'])}</td>"
                       f"<td>{e(r['target'])}</td><td>{e(r['status'])}</td><td class='num'>{len(r['attempts'])}</td>"
                       f"<td class='num'>{_num(r.get('wall_s'))}</td><td class='num'>{_num(r.get('runner_s'))}</td>"
                       f"<td class='num'>{_num(r.get('overhead_s'))}</td><td>{e(name)}</td><td>{e(v['verdict'])}</td>"
                       f"<td><code>{e(r['run_id'] or '-')}</code></td>"
                       f"<td><code>{e(r.get('against') or '-')}</code></td>"
                       "</tr>")
    out.append("</table>")
    sections = [
        ("Failures", [(r["place"], failure_text(r, 800)) for r in s["places"]
                      if r["status"] == "failed" and r["error"]]),
        ("Reserved by others (not tested)", [(r["place"], r["error"]) for r in s["places"]
                                             if r["status"] == "reserved"]),
        ("Locks released at the end of the night", [(p, v["released"]) for p, v in s.get("locks", {}).items()
                                                    if v.get("released")]),
        ("Regressions", [(f"{r['place']} / {n}", f"{c['metric']} {c['a']:,.1f} -> {c['b']:,.1f} {c['unit']} "
                          f"({c['rel'] * 100:+.3f} %)") for r in s["places"] for n, v in r["verdicts"].items()
                         for c in v["changes"] if c["status"] == "regression"]),
    ]
    for title, items in sections:
        if items:
            out.append(f"<h2>{e(title)}</h2><ul>")
            out += [f"<li><b>{e(str(a))}</b>: {e(str(b)[:800])}</li>" for a, b in items]
            out.append("</ul>")
    held = {p: v["holder"] for p, v in s.get("locks", {}).items() if v.get("holder")}
    if s.get("locks"):
        out.append("<h2>labgrid places after the night</h2><ul>")
        out += [f"<li>{e(p)} ({e(v['labgrid_place'])}): {e('held by ' + held[p]) if p in held else 'free'}</li>"
                for p, v in s["locks"].items()]
        out.append("</ul>")
    merged = f"; the night's merged run <code>{e(s['merged_run'])}</code>" if s.get("merged_run") else ""
    out.append(f"<p>summary <code>{e(s['path'])}/farm.json</code>, report.md, junit.xml{merged}</p></body></html>")
    return "\n".join(out) + "\n"
