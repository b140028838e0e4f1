"""The HTML report renders in a real browser: headless Chromium decodes every embedded figure
(naturalWidth > 0) and takes a screenshot. Skipped only when chromium is not installed
(Debian: apt-get install chromium; .ci/run installs it)."""

import html
import json
import re
import shutil
import subprocess

import pytest
from results_synth import frames, write_run

from bench.results.compare import compare_sets
from bench.results.history import series_from_index
from bench.results.index import update_index
from bench.results.measures import run_measures
from bench.results.report import ReportInput, run_summaries, write_report
from bench.results.store import Run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")

CHECK = """<script>window.addEventListener('load', () => {
  const r = Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt]);
  document.body.setAttribute('data-imgs', JSON.stringify(r));
});</script></body>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-dev-shm-usage"]


def _chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def test_report_renders_with_its_figures(tmp_path, monkeypatch):
    root = tmp_path / "results"
    monkeypatch.setenv("BENCH_RESULTS", str(root))
    means = {"stft": 40000.0, "gain": 20000.0, "istft": 45000.0}
    q = {"utt00": 2.0, "utt01": 2.2}
    for i in range(6):
        m = dict(means, gain=means["gain"] + (900 if i >= 3 else 0))
        write_run(root, f"r{i}", {"img": frames(m), "pt": frames({"copy": 3359.0})},
                  started=f"2026-01-0{i + 1}T00:00:00+00:00", git=f"g{i}", quality={"img": q, "pt": q})
    run = Run.open("r5")
    a, b = run_measures(Run.open("r2")), run_measures(run)
    hist = [s for s in series_from_index(update_index(), "total_mean") if "r5" in s.run_ids]
    assert hist and hist[0].steps and hist[0].steps[0].run_id == "r3"
    paths = write_report(ReportInput(run, b, run_summaries(run), compare_sets(a, b, label_a="r2", label_b="r5"),
                                     a, hist), tmp_path / "report")
    page = paths["html"].read_text()
    assert "http://" not in page and "https://" not in page  # self-contained
    n_img = page.count("<img ")
    assert n_img == 4  # counters, traces, quality against compute, history

    check = tmp_path / "report" / "check.html"
    check.write_text(page.replace("</body>", CHECK))
    r = _chromium("--virtual-time-budget=5000", "--dump-dom", check.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'data-imgs="([^"]*)"', r.stdout)
    assert m, "the page's load handler did not run: " + r.stdout[:500]
    imgs = json.loads(html.unescape(m.group(1)))
    assert len(imgs) == n_img
    for complete, w, h, alt in imgs:
        assert complete and w > 200 and h > 100, (alt, w, h)

    shot = tmp_path / "shot.png"
    r = _chromium("--window-size=1100,1800", f"--screenshot={shot}", paths["html"].as_uri())
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    from PIL import Image

    im = Image.open(shot).convert("L")
    assert im.size == (1100, 1800)
    lo, hi = im.getextrema()
    assert hi - lo > 100  # not a blank page
