"""`bench farm run` on QEMU: two good places and a dead one (a target whose QEMU binary is
`false`) in parallel; the dead place is retried once and marked failed while the others finish
(isolation); the merged summary, the per-place runs under their targets, the verdicts of a second
night against the first, and the exit codes (4 with a dead board, 0 without it). A hung board
(an emulator that never answers) is stopped at its place's timeout. Prints the farm's
scheduling overhead per image per board (wall time of each place minus its runner's own time)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from bench.cli import main
from bench.paths import targets_dir

SH = (targets_dir() / "qemu-mps2-an386-sh.toml").read_text()


def dead_target(tmp_path: Path, name: str, binary: str, hang: bool = False) -> Path:
    text = SH.replace('name = "qemu-mps2-an386-sh"', f'name = "{name}"') + f'\nbinary = "{binary}"\n'
    if hang:  # a shell script: no TCG plugin to ask, and run unconfined (bwrap's root has no /bin/sh)
        text = text.replace("cycles_est = true", "cycles_est = false") + 'sandbox = "none"\n'
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


def farm_file(tmp_path: Path, places: str) -> Path:
    f = tmp_path / "farm.toml"
    f.write_text('[farm]\nname = "ci"\nlimit = 1\nmetrics = false\ntimeout = 120\n' + places)
    return f


GOOD = """
[[place]]
name = "qa"
target = "qemu-mps2-an386-sh"
images = ["passthrough-an386"]

[[place]]
name = "qb"
target = "qemu-mps2-an386-sh"
images = ["dsp-baseline-an386"]
"""


def test_farm_isolates_a_dead_board_and_compares_nights(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    dead_target(tmp_path, "dead-an386", "false")
    f = farm_file(tmp_path, GOOD + '\n[[place]]\nname = "dead"\ntarget = "dead-an386.toml"\n'
                                   'images = ["passthrough-an386"]\ntimeout = 30\n')
    assert main(["farm", "run", str(f), "--json"]) == 4
    s1 = json.loads(capsys.readouterr().out)
    by = {r["place"]: r for r in s1["places"]}
    assert s1["failed_places"] == ["dead"] and s1["exit_code"] == 4
    assert by["qa"]["status"] == by["qb"]["status"] == "done"
    assert by["dead"]["status"] == "failed" and len(by["dead"]["attempts"]) == 2
    assert by["dead"]["attempts"][1]["resume"] is True  # the retry resumed the run the first attempt created
    assert by["dead"]["verdicts"]["passthrough-an386"]["verdict"] == "failed"
    root = tmp_path / "results"
    for p in ("qa", "qb"):
        meta = json.loads((root / by[p]["run_id"] / "run.json").read_text())
        assert meta["status"] == "done" and meta["target"]["name"] == "qemu-mps2-an386-sh"
        assert by[p]["run_id"].endswith("-qemu-mps2-an386-sh")
    assert (Path(s1["path"]) / "farm.json").is_file() and (Path(s1["path"]) / "junit.xml").is_file()

    with capsys.disabled():
        print("\nfarm scheduling overhead per image per board (place wall - runner time, / images):")
        for r in s1["places"]:
            if r["overhead_s"] is not None:
                n = len(r["images"])
                print(f"  {r['place']:>4} {r['target']}: wall {r['wall_s']:.2f} s, runner {r['runner_s']:.2f} s, "
                      f"overhead {r['overhead_s'] / n:.2f} s per image ({n} image(s), {len(r['attempts'])} attempt(s))")
        print(f"  verdicts + reports: {s1['timing']['verdicts_s']:.3f} s for the night")

    # the second night without the dead board: every image the same as the last good night -> 0
    f2 = farm_file(tmp_path, GOOD)
    assert main(["farm", "run", str(f2), "--json"]) == 0
    s2 = json.loads(capsys.readouterr().out)
    for r in s2["places"]:
        assert r["against"] == {x["place"]: x for x in s1["places"]}[r["place"]]["run_id"]
        assert {v["verdict"] for v in r["verdicts"].values()} == {"same"}


def test_a_hung_board_is_stopped_at_its_timeout(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    hang = tmp_path / "hang-qemu"
    hang.write_text("#!/bin/sh\nexec sleep 300\n")
    hang.chmod(hang.stat().st_mode | stat.S_IEXEC)
    dead_target(tmp_path, "hung-an386", str(hang), hang=True)
    f = farm_file(tmp_path, '\n[[place]]\nname = "hung"\ntarget = "hung-an386.toml"\n'
                            'images = ["passthrough-an386"]\ntimeout = 4\nretries = 1\n')
    assert main(["farm", "run", str(f), "--json"]) == 4
    s = json.loads(capsys.readouterr().out)
    r = s["places"][0]
    assert [a["status"] for a in r["attempts"]] == ["timeout", "timeout"], r["attempts"]
    assert r["wall_s"] < 40 and "timeout" in r["error"]
    assert not any(str(hang) in open(f"/proc/{p}/cmdline").read().replace("\0", " ")
                   for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{p}/cmdline")
                   and os.access(f"/proc/{p}/cmdline", os.R_OK))
