"""How fast each simulated instrument's pipeline turns a capture into per-frame energy, against real time.

    python -m bench.targets.meters.sim.throughput [--frames 300] [--repeat 2] [--meters ppk2,joulescope,...]

Per meter (``device = "sim"``, the maker's real package over the simulated instrument): one utterance
of ``--frames`` frames (a real run's per-frame cycles, repeated: the committed dyncp-small-r25
baseline where it is present, else 200 k - 700 k cycles drawn with a fixed seed; at the target's
25 MHz, ~10-30 ms per frame plus 1 ms idle) is played, streamed, stopped, decoded and cut into frame
windows: ``start(); feed(frames); stop(); frame_energy(frames)``, what the runner does per utterance.
It prints, per meter, the instrument's sample rate, the samples captured, the wall time of the whole
pipeline and of the alignment alone (windows.cut_windows on the decoded capture), frames per second
and "x real time" (the simulated board's seconds over the wall seconds: above 1, the pipeline keeps
up with an instrument streaming at that rate). The alignment core is also timed on its own at
100 kS/s on a synthesised capture (no instrument).

The figures are of this machine; the pipeline of a simulated instrument includes the simulator's own
cost (synthesising the waveform, encoding it in the instrument's protocol and streaming it through a
pty or TCP), which a real instrument does not add. Returns 0 when every pipeline kept up with real time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

# meter -> its [meter] table (sample rates: ppk2 is fixed at 100 kS/s; lpm01a streams ascii_dec at <= 5 kS/s)
METERS: dict[str, dict[str, Any]] = {
    "ppk2": {"kind": "ppk2", "device": "sim", "supply_v": 3.3, "marker": "D0", "stage_marker": "D1",
             "options": {"mode": "ampere", "sim_noise_a": 1e-6, "sim_seed": 0}},
    "joulescope": {"kind": "joulescope", "device": "sim", "sample_rate": 100_000, "marker": "GPI0",
                   "stage_marker": "GPI1", "options": {"sim_noise_a": 1e-6, "sim_seed": 0}},
    "otii": {"kind": "otii", "device": "sim", "supply_v": 3.3, "sample_rate": 100_000, "marker": "GPI1",
             "stage_marker": "GPI2", "options": {"sim_noise_a": 1e-6, "sim_seed": 0}},
    "lpm01a": {"kind": "lpm01a", "device": "sim", "supply_v": 3.3, "sample_rate": 5_000, "marker": "D7",
               "options": {"sim_noise_a": 1e-6, "sim_seed": 0, "sim_gap_s": 4e-3}},
}
BASELINE = "results/baselines/qemu-mps2-an386/dyncp-small-r25-an386.frames.parquet"


def _target(meter: dict[str, Any] | None) -> Any:
    import tomllib

    from bench.paths import repo_root
    from bench.targets import parse_target

    data = tomllib.loads((repo_root() / "targets/qemu-mps2-an386.toml").read_text())
    if meter:
        data["meter"] = meter
    return parse_target(data, where="throughput", path=Path("throughput.toml"))


def utterance_frames(n: int) -> Any:
    """n frames of a real run (the committed baseline's first utterance, repeated), or synthetic ones."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.paths import repo_root

    path = repo_root() / BASELINE
    if path.is_file():
        t = pq.read_table(path)
        t = t.filter(pa.compute.equal(t.column("utt"), t.column("utt")[0].as_py()))
        reps = -(-n // t.num_rows)
        return pa.concat_tables([t] * reps).slice(0, n)
    rng = np.random.default_rng(0)
    cyc = rng.uniform(200_000, 700_000, n).round()
    return pa.table({"utt": ["synthetic"] * n, "frame": np.arange(n, dtype=np.int32), "total": (cyc / 1.3).round(),
                     "cycles_est": cyc})


def time_meter(name: str, frames: Any, repeat: int = 2) -> dict[str, Any]:
    """The best of ``repeat`` utterances through one simulated meter (the first opens the instrument)."""
    from bench.targets.meters import make_meter
    from bench.targets.meters.base import frame_cycles, frame_stage_names
    from bench.targets.meters.windows import cut_windows

    m: Any = make_meter(_target(METERS[name]))
    best: dict[str, Any] = {}
    try:
        for _ in range(repeat + 1):
            m.start()
            t0 = time.perf_counter()
            m.feed(frames)
            m.stop()
            e = m.frame_energy(frames)
            wall = time.perf_counter() - t0
            cap = m._capture()  # the decoded capture again, to time the alignment alone
            t1 = time.perf_counter()
            stages = frame_stage_names(frames) if m.spec.stage_marker else ()
            cut_windows(cap, frame_cycles(frames, m.target), m.energy_kind, m.source, stages, m.align)
            align = time.perf_counter() - t1
            board_s = len(cap.current_a) / cap.fs
            row = {"meter": name, "fs": cap.fs, "samples": len(cap.current_a), "board_s": board_s,
                   "frames": len(e.joules), "measured": e.measured_frames, "wall_s": wall, "align_s": align,
                   "frames_per_s": len(e.joules) / wall, "realtime_x": board_s / wall,
                   "align_frames_per_s": len(e.joules) / align, "align_samples_per_s": len(cap.current_a) / align}
            if not best or row["wall_s"] < best["wall_s"]:
                best = row
    finally:
        m.close()
    return best


def time_alignment(frames: Any, fs: float = 100_000.0) -> dict[str, Any]:
    """The alignment core alone (windows.cut_windows) on a synthesised capture at ``fs``."""
    from bench.targets.meters.base import frame_cycles, frame_stage_cycles, frame_stage_names
    from bench.targets.meters.sim.waveform import SimOptions, synthesise
    from bench.targets.meters.windows import Capture, cut_windows

    t = _target(None)
    cyc, st, names = frame_cycles(frames, t), frame_stage_cycles(frames, t), frame_stage_names(frames)
    wf = synthesise(cyc, st, names, t.clock_hz, t.energy_j_per_cycle, 3.3, fs, SimOptions(noise_a=1e-6, seed=0))
    tr = wf.sample(fs)
    cap = Capture(fs, tr.current_a, tr.frame_pin, 3.3, tr.stage_pin)
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        e = cut_windows(cap, cyc, "simulated", "throughput", names)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    return {"meter": "alignment only", "fs": fs, "samples": len(cap.current_a), "board_s": len(cap.current_a) / fs,
            "frames": len(cyc), "measured": e.measured_frames, "wall_s": wall, "align_s": wall,
            "frames_per_s": len(cyc) / wall, "realtime_x": len(cap.current_a) / fs / wall,
            "align_frames_per_s": len(cyc) / wall, "align_samples_per_s": len(cap.current_a) / wall}


def format_rows(rows: list[dict[str, Any]]) -> str:
    head = (f"{'meter':<15} {'S/s':>8} {'samples':>9} {'board s':>8} {'frames':>7} {'wall s':>7} {'frames/s':>9} "
            f"{'x real time':>11} {'align frames/s':>14} {'align MS/s':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['meter']:<15} {r['fs']:>8.0f} {r['samples']:>9d} {r['board_s']:>8.2f} "
                     f"{r['measured']:>3d}/{r['frames']:<3d} {r['wall_s']:>7.3f} {r['frames_per_s']:>9.0f} "
                     f"{r['realtime_x']:>11.1f} {r['align_frames_per_s']:>14.0f} "
                     f"{r['align_samples_per_s'] / 1e6:>10.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.targets.meters.sim.throughput",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--frames", type=int, default=300, help="frames per utterance (default 300)")
    ap.add_argument("--repeat", type=int, default=2, help="utterances timed per meter, best kept (default 2)")
    ap.add_argument("--meters", default=",".join(METERS), help=f"comma-separated, of {', '.join(METERS)}")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.meters.split(",") if s.strip()]
    for name in names:
        if name not in METERS:
            ap.error(f"unknown meter {name!r}; known: {', '.join(METERS)}")
    frames = utterance_frames(a.frames)
    rows = [time_alignment(frames)]
    for name in names:
        try:
            rows.append(time_meter(name, frames, a.repeat))
        except Exception as e:  # noqa: BLE001 -- a missing optional package: say so, time the others
            print(f"{name}: not timed ({type(e).__name__}: {e})")
    print(format_rows(rows))
    slow = [r["meter"] for r in rows if r["realtime_x"] < 1.0]
    if slow:
        print(f"slower than real time: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
