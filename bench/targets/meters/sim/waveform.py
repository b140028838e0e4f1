"""The current a board would draw over one utterance, synthesised from the frames the runner recorded.

Timeline (seconds of the simulated board): ``lead_s`` of idle, then per frame a window of
cycles / clock_hz (cycles: ``cycles_est`` where the frames have it, else the counts x the stated
CPI on QEMU, DWT cycles on boards) with the frame marker high, an idle gap of ``gap_s`` (jittered,
as the host's next hop arrives), and ``tail_s`` of idle at the end. Inside a frame the stage marker
toggles at the start of the measured region and at each stage's end (docs/boards.md "Marker pins").

Power model: in a frame the board draws the target's run current, ``[energy] joules_per_cycle x
clock_hz / supply_v`` (the same datasheet figure the `model` meter uses), times an activity factor
per frame (1 +- ``activity``, seeded) and per stage (``stage_factors``); idle it draws ``idle_a`` (default 40 %
of the run current: WFI between frames with the clocks running).

An instrument samples it at ``fs`` from ``t_start``: each current sample is the mean over its
sample period (an integrating converter), plus Gaussian noise of ``noise_a``; the markers are the
levels at the sample instant. Faults to test the alignment: ``glitch_frames`` (the frame marker
drops for ``glitch_samples`` inside those frames), ``stray_after`` (a short marker pulse in the idle
time after those frames), ``gap_frames`` (the instrument loses ``gap_samples`` in the middle of those
frames), ``t_start`` > lead_s (the capture begins inside frame 0: a missing rising edge) and
``disconnect_frame`` (the instrument goes away in the middle of that frame: each simulator stops
there and drops its connection, as an unplugged USB cable or a closed application would).

The truth: every frame's energy and window, and its stages' energies, integrated exactly over the
continuous waveform (J = V x integral of I dt over [rise, fall]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.errors import ConfigError


@dataclass(frozen=True)
class SimOptions:
    lead_s: float = 2e-3
    tail_s: float = 2e-3
    gap_s: float = 1e-3
    gap_jitter: float = 0.2
    idle_a: float | None = None  # None: 40 % of the run current (WFI between frames, clocks running)
    activity: float = 0.05
    stage_factors: dict[str, float] = field(default_factory=dict)
    noise_a: float = 0.0
    seed: int | None = None  # None: fresh noise and activity every utterance, like repeated measurements
    t_start: float = 0.0
    glitch_frames: tuple[int, ...] = ()
    glitch_samples: float = 1.5
    stray_after: tuple[int, ...] = ()
    stray_samples: float = 1.2
    gap_frames: tuple[int, ...] = ()
    gap_samples: int = 10
    disconnect_frame: int | None = None  # the instrument goes away (cable pulled) in the middle of this frame

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> SimOptions:
        """The ``sim_*`` keys of a [meter.options] table."""
        kw: dict[str, Any] = {}
        for k, v in opts.items():
            if not k.startswith("sim_"):
                continue
            name = k[4:]
            if name not in cls.__dataclass_fields__:
                raise ConfigError(f"[meter.options] {k}: unknown simulator setting; known: "
                                  + ", ".join(f"sim_{n}" for n in cls.__dataclass_fields__))
            kw[name] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)


@dataclass
class Truth:
    """What the simulated board really drew, per frame (J, s) and per stage (J)."""

    joules: np.ndarray
    window_s: np.ndarray
    stage_joules: dict[str, np.ndarray]
    run_a: float
    idle_a: float
    supply_v: float


@dataclass
class Waveform:
    """Piecewise-constant current (breakpoints ``t``, current ``i`` from each breakpoint on) and the
    markers' edge times; ``sample`` turns it into an instrument's samples."""

    t: np.ndarray
    i: np.ndarray
    frame_edges: list[tuple[float, int]]
    stage_edges: list[tuple[float, int]]
    end_s: float
    truth: Truth
    options: SimOptions
    frames: int
    frame_bounds: list[tuple[float, float]]

    def _charge(self, times: np.ndarray) -> np.ndarray:
        q = np.r_[0.0, np.cumsum(np.diff(self.t) * self.i[:-1])]
        return np.interp(times, self.t, q)

    def integral(self, a: float, b: float) -> float:
        qa, qb = self._charge(np.array([a, b]))
        return float(qb - qa)

    @staticmethod
    def _levels(edges: list[tuple[float, int]], times: np.ndarray) -> np.ndarray:
        out = np.zeros(len(times), np.uint8)
        for t, level in sorted(edges):
            out[times >= t] = level
        return out

    def sample(self, fs: float) -> SampledTrace:
        """The samples an instrument at ``fs`` records from ``options.t_start`` to the end."""
        o = self.options
        n = int(np.floor((self.end_s - o.t_start) * fs))
        k = np.arange(n + 1, dtype=np.float64)
        bounds = o.t_start + k / fs
        q = self._charge(bounds)
        cur = np.diff(q) * fs
        rng = np.random.default_rng(None if o.seed is None else o.seed + 1)
        if o.noise_a:
            cur = cur + rng.normal(0.0, o.noise_a, n)
        times = bounds[:-1]
        frame = self._levels(self.frame_edges, times)
        stage = self._levels(self.stage_edges, times)
        lost = np.zeros(n, bool)
        for j in o.gap_frames:
            if j < self.frames:
                a, b = self.frame_bounds[j]
                mid = int(((a + b) / 2 - o.t_start) * fs)
                lost[max(mid - o.gap_samples // 2, 0):max(mid + (o.gap_samples + 1) // 2, 0)] = True
        cut = None
        if o.disconnect_frame is not None and o.disconnect_frame < self.frames:
            a, b = self.frame_bounds[o.disconnect_frame]
            cut = min(max(int(((a + b) / 2 - o.t_start) * fs), 0), n)
        return SampledTrace(fs=fs, current_a=cur, frame_pin=frame, stage_pin=stage, lost=lost, t_start=o.t_start,
                            disconnect_at=cut)


@dataclass
class SampledTrace:
    fs: float
    current_a: np.ndarray  # A, mean over each sample period (+ noise)
    frame_pin: np.ndarray
    stage_pin: np.ndarray
    lost: np.ndarray  # the instrument loses these samples (a gap in its stream)
    t_start: float
    disconnect_at: int | None = None  # the instrument goes away before this sample (None: it stays)


def synthesise(cycles: np.ndarray, stage_cycles: np.ndarray, stages: tuple[str, ...], clock_hz: float,
               joules_per_cycle: float, supply_v: float, fs: float, options: SimOptions) -> Waveform:
    """The waveform of one utterance (module docstring). ``stage_cycles``: frames x stages."""
    o = options
    if clock_hz <= 0 or supply_v <= 0 or joules_per_cycle <= 0:
        raise ConfigError("a simulated instrument needs the target's clock_hz, a supply_v and [energy] "
                          "joules_per_cycle > 0 to know what current to draw")
    rng = np.random.default_rng(o.seed)
    run_a = joules_per_cycle * clock_hz / supply_v
    idle_a = run_a * 0.4 if o.idle_a is None else float(o.idle_a)
    n = len(cycles)
    t: list[float] = [0.0]
    cur: list[float] = [idle_a]
    fe: list[tuple[float, int]] = []
    se: list[tuple[float, int]] = []
    bounds: list[tuple[float, float]] = []
    now = o.lead_s
    glitches = set(o.glitch_frames)
    strays = set(o.stray_after)
    for j in range(n):
        dur = max(float(cycles[j]), 1.0) / clock_hz
        act = 1.0 + (rng.uniform(-o.activity, o.activity) if o.activity else 0.0)
        rise, fall = now, now + dur
        bounds.append((rise, fall))
        fe.append((rise, 1))
        sc = stage_cycles[j] if stage_cycles.size else np.zeros(0)
        overhead = max(dur - float(np.sum(sc)) / clock_hz, 0.0)
        t0 = rise + overhead / 2
        t.append(rise)
        cur.append(run_a * act)
        toggles = [t0]
        level = 1
        se.append((t0, level))
        for k, s in enumerate(stages):
            t.append(toggles[-1])
            cur.append(run_a * act * float(o.stage_factors.get(s, 1.0)))
            nxt = toggles[-1] + float(sc[k]) / clock_hz
            toggles.append(nxt)
            level ^= 1
            se.append((nxt, level))
        if stages:
            t.append(toggles[-1])
            cur.append(run_a * act)
        if j in glitches:  # the marker drops briefly in the middle of the frame; the current does not
            g0 = rise + dur / 2
            fe.append((g0, 0))
            fe.append((g0 + o.glitch_samples / fs, 1))
        fe.append((fall, 0))
        if level:
            se.append((fall, 0))
        t.append(fall)
        cur.append(idle_a)
        gap = o.gap_s * (1.0 + (rng.uniform(-o.gap_jitter, o.gap_jitter) if o.gap_jitter else 0.0))
        if j in strays:
            s0 = fall + gap / 2
            fe.append((s0, 1))
            fe.append((s0 + o.stray_samples / fs, 0))
        now = fall + gap
    end = (bounds[-1][1] if n else o.lead_s) + o.tail_s
    t.append(end + 1.0)
    cur.append(idle_a)
    tt = np.asarray(t, np.float64)
    ii = np.asarray(cur, np.float64)
    order = np.argsort(tt, kind="stable")
    wf = Waveform(tt[order], ii[order], fe, se, end, Truth(np.zeros(n), np.zeros(n), {}, run_a, idle_a, supply_v),
                  o, n, bounds)
    # the truth, integrated over the continuous waveform
    wf.truth.joules = np.array([supply_v * wf.integral(a, b) for a, b in bounds])
    wf.truth.window_s = np.array([b - a for a, b in bounds])
    st = {s: np.zeros(n) for s in stages}
    for j, (rise, fall) in enumerate(bounds):
        sc = stage_cycles[j] if stage_cycles.size else np.zeros(0)
        dur = fall - rise
        a = rise + max(dur - float(np.sum(sc)) / clock_hz, 0.0) / 2
        for k, s in enumerate(stages):
            b = a + float(sc[k]) / clock_hz
            st[s][j] = supply_v * wf.integral(a, b)
            a = b
    wf.truth.stage_joules = st
    return wf


def from_frames(frames: Any, target: Any, supply_v: float, fs: float, options: SimOptions) -> Waveform:
    """The waveform of a frames table on a target (its clock and its [energy] power model)."""
    from bench.targets.meters.base import frame_cycles, frame_stage_cycles, frame_stage_names

    return synthesise(frame_cycles(frames, target), frame_stage_cycles(frames, target), frame_stage_names(frames),
                      float(target.clock_hz), float(target.energy_j_per_cycle), supply_v, fs, options)
