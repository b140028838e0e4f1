"""The loopback labgrid farm (issue #14): a real labgrid coordinator and two exporters on 127.0.0.1
exporting three emulated STM32F4 boards (QEMU netduinoplus2, ser2net in front of each USART, a
`pyocd server` on each board's emulated probe), and `bench farm run` over their places, with one
board's QEMU killed mid-run and one place locked by another labgrid user. The night ends with the
healthy board's results, a clear failure for the killed one (after its reset and retry), "reserved
by ..." for the locked one, every lock of ours released (checked through labgrid; a stale lock of
ours found before the night is named by `bench farm places` and taken over), the places run in
parallel (wall time below the sum), and a merged run that `bench show`, `bench compare` and
`bench report` read. Skipped only without labgrid (CI installs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from labgrid_lab import Lab, require_labgrid  # noqa: E402

FARM = """
[farm]
name = "loopback"
limit = 1
metrics = false
timeout = 120
retries = 1
coordinator = "{address}"

[[place]]
name = "a"
target = "labgrid-netduinoplus2"
labgrid = "emu-a"
images = ["dsp-baseline-netduinoplus2"]

[[place]]
name = "b"
target = "labgrid-netduinoplus2"
labgrid = "emu-b"
images = ["dsp-baseline-netduinoplus2"]

[[place]]
name = "c"
target = "labgrid-netduinoplus2"
labgrid = "emu-c"
images = ["dsp-baseline-netduinoplus2"]
"""


def kill_when_streaming(results: Path, place: str, lab: Lab, board: str, done: threading.Event,
                        killed: list[float]) -> None:
    """SIGKILL the board's QEMU one second after its image started streaming (the run records the
    board's uid once it is flashed and running)."""
    while not done.is_set():
        for run in results.glob(f"*-{place}-labgrid-netduinoplus2/run.json"):
            try:
                images = json.loads(run.read_text())["images"]
            except (OSError, ValueError):
                continue
            if any(v.get("target_uid") for v in images.values()):
                time.sleep(1.0)
                lab.boards[board].kill()
                killed.append(time.monotonic())
                return
        time.sleep(0.05)


def bench(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_loopback_labgrid_farm(tmp_path):
    require_labgrid()
    from bench.targets.drivers.labgrid.places import Coordinator

    lab = Lab(tmp_path / "lab", {"exp1": ["emu-a", "emu-b"], "exp2": ["emu-c"]})
    try:
        lab.start()
        env = {**lab.env, "BENCH_RESULTS": str(tmp_path / "results"), "BENCH_CACHE_DIR": str(tmp_path / "cache")}
        os.environ["BENCH_CACHE_DIR"] = env["BENCH_CACHE_DIR"]  # this process's lock book = the workers'
        # somebody else holds emu-c; a lock of ours on emu-a whose bench process is gone (stale)
        lab.client("-p", "emu-c", "acquire", user="alice")
        with Coordinator(lab.address) as c:
            c.acquire("emu-a")
            dead = subprocess.Popen(["true"])
            dead.wait()
            c.locks.path("emu-a").write_text(json.dumps({"pid": dead.pid, "since": time.time()}))
        farm = tmp_path / "farm.toml"
        farm.write_text(FARM.format(address=lab.address))
        before = bench("farm", "places", str(farm), "--json", env=env)
        assert before.returncode == 0, before.stdout + before.stderr
        states = {r["place"]: (r["state"], r["holder"]) for r in json.loads(before.stdout)}
        assert states["a"][0] == "stale" and f"bench pid {dead.pid} is gone" in states["a"][1]
        assert states["b"] == ("free", "") and states["c"][0] == "reserved" and "alice@otherhost" in states["c"][1]

        done, killed = threading.Event(), []
        watcher = threading.Thread(target=kill_when_streaming,
                                   args=(tmp_path / "results", "b", lab, "emu-b", done, killed), daemon=True)
        watcher.start()
        t0 = time.monotonic()
        p = bench("farm", "run", str(farm), "--json", env=env)
        wall = time.monotonic() - t0
        done.set()
        assert p.returncode == 4, p.stdout[-3000:] + p.stderr[-3000:]
        s = json.loads(p.stdout)
        by = {r["place"]: r for r in s["places"]}

        # the healthy board measured; the stale lock of ours was taken over (driver.log says so)
        assert by["a"]["status"] == "done", by["a"]
        run_a = tmp_path / "results" / by["a"]["run_id"]
        log_a = (run_a / "dsp-baseline-netduinoplus2" / "driver.log").read_text()
        assert "stale lock" in log_a and "released" in log_a
        meta_a = json.loads((run_a / "run.json").read_text())
        assert meta_a["images"]["dsp-baseline-netduinoplus2"]["target_uid"].startswith("labgrid:emu-a/remote:")

        # the killed board: killed while streaming, reset and retried once, then failed with a clear reason
        assert killed, "the watcher never saw board b streaming"
        assert by["b"]["status"] == "failed" and len(by["b"]["attempts"]) == 2
        assert "does not answer" in by["b"]["error"] and "QEMU" in by["b"]["error"], by["b"]["error"]
        assert s["failed_places"] == ["b"]

        # the locked place: not tried, its holder named
        assert by["c"]["status"] == "reserved" and by["c"]["attempts"] == []
        assert "reserved by alice@otherhost" in by["c"]["error"]
        assert s["reserved_places"] == ["c"]

        # every lock of ours released at the end, checked through labgrid; alice still holds hers
        with Coordinator(lab.address) as c:
            places = c.places()
            assert places["emu-a"].acquired is None and places["emu-b"].acquired is None
            assert places["emu-c"].acquired == "otherhost/alice"
        assert s["locks"]["c"]["holder"].startswith("alice@otherhost")

        # parallel: the night took less than the places' own times added up
        a_wall, b_wall = by["a"]["wall_s"], by["b"]["wall_s"]
        assert s["timing"]["places_s"] < a_wall + b_wall
        print(f"\nloopback night (simulated boards: QEMU netduinoplus2 behind labgrid): night {wall:.1f} s wall, "
              f"places {s['timing']['places_s']:.1f} s in parallel vs {a_wall + b_wall:.1f} s summed; "
              f"a {a_wall:.1f} s (runner {by['a']['runner_s']:.1f} s, overhead {by['a']['overhead_s']:.1f} s per "
              f"image), b {b_wall:.1f} s over {len(by['b']['attempts'])} attempts; report {s['path']}/report.html")

        # reports: markdown, html, junit all say the three outcomes
        night = Path(s["path"])
        md = (night / "report.md").read_text()
        assert "BOARD FAILED" in md and "reserved by alice@otherhost" in md and "does not answer" in md
        assert "attempt 1: " in md  # what happened to the board when it died, beside the retry's reason
        html = (night / "report.html").read_text()
        assert "BOARD FAILED" in html and "alice@otherhost" in html
        junit = (night / "junit.xml").read_text()
        assert 'failures="1"' in junit and 'skipped="1"' in junit

        # the merged run of the night: every board's records under its own target uid, read by the CLI
        merged = s["merged_run"]
        meta = json.loads((tmp_path / "results" / merged / "run.json").read_text())
        assert set(meta["images"]) == {"dsp-baseline-netduinoplus2@a", "dsp-baseline-netduinoplus2@b"}
        assert meta["images"]["dsp-baseline-netduinoplus2@a"]["target_uid"].startswith("labgrid:emu-a/")
        show = bench("show", merged, env=env)
        assert show.returncode == 0 and "dsp-baseline-netduinoplus2@a" in show.stdout, show.stdout + show.stderr
        cmp = bench("compare", merged, merged, env=env)
        assert cmp.returncode == 0, cmp.stdout + cmp.stderr
        rep = bench("report", merged, env=env)
        assert rep.returncode == 0, rep.stdout + rep.stderr
    finally:
        lab.close()
        os.environ.pop("BENCH_CACHE_DIR", None)
