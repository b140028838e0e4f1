"""Cutting a current trace into frame windows at the marker edges, for every instrument meter.

An instrument meter turns what its instrument recorded over one utterance into a :class:`Capture`:
current samples on the instrument's own sample grid (NaN where a sample was lost), the frame
marker's level per sample and, where wired, the stage marker's. :func:`cut_windows` then:

1. finds the frame marker's pulses (rising edge to falling edge, in samples);
2. treats a marker dip shorter than ``min_samples`` inside a pulse as a **glitch**: the pulses on
   both sides become one window, excluded and reported (never merged silently into a frame); a
   pulse shorter than ``min_samples`` between frames is a **stray pulse**: reported, no frame;
3. flags a pulse that has no rising edge (the capture began inside it) or no falling edge (it ended
   inside it) as a **missing edge**, and one that touches lost samples as a **sample gap**;
4. matches pulses to the runner's frames by their lengths: the meter's clock and the host's are not
   trusted, so only proportions count (a window's length over its frame's cycles is one scale for
   every frame of the utterance). Equal numbers match one to one; otherwise an alignment (dynamic
   programming, run from both ends, then again at the scale of its clean matches) places the pulses,
   and frames it cannot place unambiguously are excluded (frames whose shares differ by less than a
   window's two-sample resolution tie, and a tie is ambiguous); with more than ``max_unmatched``
   pulses missing or spurious (a capture cut short) nothing is guessed: every frame is excluded;
5. checks every matched window's length against its frame's cycles at the common scale (tolerance
   ``duration_tolerance``, at least two samples) and excludes a window that disagrees;
6. integrates each good window: energy = sum(I x V) / fs over its samples, with mean and peak
   current and the window's duration; where a stage marker is wired, stage k runs between its
   k-th and (k+1)-th toggle inside the window (docs/boards.md "Marker pins").

Every excluded frame keeps its counts in the record; its energy is NaN and ``FrameEnergy.excluded``
says why. Resolution: a window starts and ends on a sample, so each edge costs at most one sample
of current (|dE| <= 2 x I_peak x V / fs), plus the instrument's quantisation and noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.targets.meters.base import FrameEnergy


@dataclass
class Capture:
    """One utterance as an instrument recorded it, on the instrument's sample grid."""

    fs: float  # samples per second (the instrument's, as it states it)
    current_a: np.ndarray  # A per sample; NaN where the instrument lost the sample
    frame_pin: np.ndarray  # 0/1 per sample: the frame marker
    voltage_v: np.ndarray | float  # V: per sample (an instrument that measures it) or the supply it sets
    stage_pin: np.ndarray | None = None  # 0/1 per sample: the stage marker, where wired
    notes: list[str] = field(default_factory=list)  # what the meter saw while reading (stated in FrameEnergy)
    marker_known: np.ndarray | None = None  # where the marker level is known; default: where the current is

    def __post_init__(self) -> None:
        self.current_a = np.asarray(self.current_a, np.float64)
        self.frame_pin = np.asarray(self.frame_pin, np.uint8) & 1
        if self.stage_pin is not None:
            self.stage_pin = np.asarray(self.stage_pin, np.uint8) & 1
        if len(self.frame_pin) != len(self.current_a):
            raise ValueError(f"capture: {len(self.current_a)} current samples but {len(self.frame_pin)} marker samples")


@dataclass(frozen=True)
class AlignOptions:
    min_samples: int = 3  # a marker pulse or dip shorter than this (in samples) is a glitch
    duration_tolerance: float = 0.05  # a window may differ this much (relative) from its frame's share
    min_window_samples: int = 3  # a shorter window is below what the instrument resolves
    # more pulses missing or spurious than this (after glitches and stray pulses): the lengths are not
    # trusted to place them (a capture cut short, an instrument gone): every frame is excluded
    max_unmatched: int = 2


def levels_from_edges(n: int, edges: list[tuple[int, int]], initial: int = 0) -> np.ndarray:
    """A 0/1 level per sample from (sample index, new level) events, for instruments that report a
    digital input as timestamped edges (Otii GPI, LPM01A events)."""
    out = np.full(n, initial & 1, np.uint8)
    for idx, level in sorted(edges):
        if idx < n:
            out[max(idx, 0):] = level & 1
    return out


@dataclass
class _Pulse:
    rise: int  # first sample with the marker high
    fall: int  # first sample after it with the marker low (exclusive end)
    flags: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.fall - self.rise


def _runs(pin: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of high samples."""
    if pin.size == 0:
        return []
    d = np.diff(np.r_[0, pin.astype(np.int8), 0])
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _pulses(cap: Capture, opt: AlignOptions, notes: list[str]) -> list[_Pulse]:
    n = len(cap.frame_pin)
    fs = cap.fs
    lost = ~np.isfinite(cap.current_a)
    pin = cap.frame_pin
    unknown = lost if cap.marker_known is None else ~np.asarray(cap.marker_known, bool)
    if unknown.any():  # where the marker is unknown (samples lost): hold the last level seen
        idx = np.where(unknown, 0, np.arange(n))
        pin = pin[np.maximum.accumulate(idx)]
    runs = _runs(pin)
    pulses: list[_Pulse] = []
    for a, b in runs:
        p = _Pulse(a, b)
        if pulses and a - pulses[-1].fall < opt.min_samples:
            prev = pulses[-1]  # a dip too short to be the gap between two frames: one glitched window
            prev.flags.append(f"glitch: the frame marker dropped for {a - prev.fall} sample(s) "
                              f"at {prev.fall / fs * 1e3:.3f} ms inside the window")
            prev.fall = b
            continue
        pulses.append(p)
    out: list[_Pulse] = []
    for p in pulses:
        touches_start, touches_end = p.rise == 0, p.fall == n
        if p.length < opt.min_samples and not p.flags and not (touches_start or touches_end):
            notes.append(f"stray marker pulse of {p.length} sample(s) at {p.rise / fs * 1e3:.3f} ms: a glitch, "
                         "not a frame")
            continue
        if touches_start:
            p.flags.append("missing edge: the capture began inside this window (no rising edge)")
        if touches_end:
            p.flags.append("missing edge: the capture ended inside this window (no falling edge)")
        lo, hi = max(p.rise - 1, 0), min(p.fall + 1, n)
        k = int(np.count_nonzero(lost[lo:hi]))
        if k:
            p.flags.append(f"sample gap: {k} sample(s) lost by the instrument in or at the edge of the window")
        out.append(p)
    # gaps outside every window cost nothing, but say so
    if lost.any():
        inside = np.zeros(n, bool)
        for p in out:
            inside[max(p.rise - 1, 0):min(p.fall + 1, n)] = True
        k = int(np.count_nonzero(lost & ~inside))
        if k:
            notes.append(f"{k} sample(s) lost between frames (no window affected)")
    return out


def _align(lengths: np.ndarray, flagged: np.ndarray, cycles: np.ndarray, scale: float,
           tol: float) -> list[tuple[int, int] | None]:
    """Frame index (or None) per pulse: a minimum-cost alignment that keeps order. A clean pulse
    matches a frame at a cost growing with the log-ratio of its length to the frame's share; a
    flagged pulse (glitch, gap, missing edge) may match one frame or swallow two; a frame may have
    no pulse (lost), a pulse may have no frame (spurious)."""
    n_p, n_f = len(lengths), len(cycles)
    skip = 1.0
    inf = float("inf")
    cost = np.full((n_p + 1, n_f + 1), inf)
    move = np.zeros((n_p + 1, n_f + 1), np.int8)  # 1 match, 2 skip pulse, 3 skip frame, 4 pulse takes 2 frames
    cost[0, 0] = 0.0
    lt = max(np.log1p(tol), 1e-6)

    def m(i: int, j: int) -> float:
        expect = scale * cycles[j]
        if flagged[i]:  # its length is not exact, but it tells one frame from two
            return 0.3 if expect > 0 and lengths[i] <= 1.5 * expect else 1.5
        if expect <= 0 or lengths[i] <= 0:
            return 2.0
        # a window's length is known to two samples (one per edge): frames whose shares differ by less
        # cost the same, so the passes from both ends break the tie in opposite directions and the
        # pulse is excluded as ambiguous instead of given to whichever frame the noise favoured
        off = abs(float(np.log(lengths[i] / expect))) - float(np.log1p(2.0 / expect))
        return min(max(off, 0.0) / lt * 0.1, 2.0)

    def m2(i: int, j: int) -> float:  # a flagged pulse over frames j and j+1 (a marker lost in a gap)
        one, two = scale * cycles[j], scale * (cycles[j] + cycles[j + 1])
        return 0.6 if lengths[i] > 1.3 * one and lengths[i] >= 0.8 * two else 3.0

    for i in range(n_p + 1):
        for j in range(n_f + 1):
            c = cost[i, j]
            if c == inf:
                continue
            if i < n_p and j < n_f and c + m(i, j) < cost[i + 1, j + 1]:
                cost[i + 1, j + 1], move[i + 1, j + 1] = c + m(i, j), 1
            if i < n_p and c + skip < cost[i + 1, j]:
                cost[i + 1, j], move[i + 1, j] = c + skip, 2
            if j < n_f and c + skip < cost[i, j + 1]:
                cost[i, j + 1], move[i, j + 1] = c + skip, 3
            if i < n_p and j + 1 < n_f and flagged[i] and c + m2(i, j) < cost[i + 1, j + 2]:
                cost[i + 1, j + 2], move[i + 1, j + 2] = c + m2(i, j), 4
    out: list[tuple[int, int] | None] = [None] * n_p  # (first frame, number of frames) per pulse
    i, j = n_p, n_f
    while i or j:
        mv = move[i, j]
        if mv == 1:
            out[i - 1] = (j - 1, 1)
            i, j = i - 1, j - 1
        elif mv == 2:
            i -= 1
        elif mv == 3:
            j -= 1
        else:  # 4: the pulse covers frames j-2 and j-1
            out[i - 1] = (j - 2, 2)
            i, j = i - 1, j - 2
    return out


def _match_scale(match: list[tuple[int, int] | None], lengths: np.ndarray, flagged: np.ndarray,
                 cycles: np.ndarray) -> float | None:
    """Samples per cycle from the clean one-to-one matches (median), or None without any."""
    ratios = [lengths[i] / cycles[mt[0]] for i, mt in enumerate(match)
              if mt is not None and mt[1] == 1 and not flagged[i] and cycles[mt[0]] > 0]
    return float(np.median(ratios)) if ratios else None


def cut_windows(cap: Capture, cycles: np.ndarray, kind: str, source: str, stages: tuple[str, ...] = (),
                options: AlignOptions | None = None) -> FrameEnergy:
    """Per-frame energy of one utterance's capture (see the module docstring)."""
    opt = options or AlignOptions()
    cycles = np.asarray(cycles, np.float64)
    n_f = len(cycles)
    fs = float(cap.fs)
    notes = list(cap.notes)
    pulses = _pulses(cap, opt, notes)
    joules = np.full(n_f, np.nan)
    mean_a = np.full(n_f, np.nan)
    peak_a = np.full(n_f, np.nan)
    win_s = np.full(n_f, np.nan)
    st_j = {s: np.full(n_f, np.nan) for s in stages}
    excluded: dict[int, str] = {}
    if not n_f:
        return FrameEnergy(kind, source, joules, float("nan"), frame_mean_a=mean_a, frame_peak_a=peak_a,
                           frame_window_s=win_s, stage_joules=st_j, notes=tuple(notes))
    lengths = np.array([p.length for p in pulses], np.float64)
    flagged = np.array([bool(p.flags) for p in pulses], bool)
    clean_len = lengths[~flagged]
    # the common scale (samples per cycle); a first guess from the medians, refined on the matches
    pos = cycles[cycles > 0]
    scale = float(np.median(clean_len) / np.median(pos)) if clean_len.size and pos.size else 0.0
    if len(pulses) == n_f:
        match: list[tuple[int, int] | None] = [(j, 1) for j in range(n_f)]
    elif abs(len(pulses) - n_f) > opt.max_unmatched:
        # many frames without a pulse (or pulses without a frame): a minimum-cost alignment of lengths
        # then places pulses on frames of similar length anywhere in the utterance, not where they were
        # (a capture cut short leaves its pulses matched to the wrong frames). Nothing is guessed.
        why = (f"{len(pulses)} marker pulses for {n_f} frames: more than {opt.max_unmatched} unmatched, the "
               "lengths cannot place the pulses reliably (a capture cut short or an instrument gone?)")
        notes.append(why)
        return FrameEnergy(kind, source, joules, float("nan"), frame_mean_a=mean_a, frame_peak_a=peak_a,
                           frame_window_s=win_s, excluded={j: why for j in range(n_f)}, stage_joules=st_j,
                           notes=tuple(notes))
    else:
        def both_ends(sc: float) -> tuple[list[tuple[int, int] | None], bool]:
            fwd = _align(lengths, flagged, cycles, sc, opt.duration_tolerance)
            back = _align(lengths[::-1], flagged[::-1], cycles[::-1], sc, opt.duration_tolerance)[::-1]
            rev = [None if r is None else (n_f - r[0] - r[1], r[1]) for r in back]
            return [a if a == b else None for a, b in zip(fwd, rev, strict=True)], fwd != rev

        match, ambiguous = both_ends(scale)
        # the medians' scale can be a few samples per frame off, enough to tip a pulse onto a neighbour
        # of nearly the same length: align again at the scale of the first pass's clean matches
        first = _match_scale(match, lengths, flagged, cycles)
        if first is not None:
            match, ambiguous = both_ends(first)
        if ambiguous:
            notes.append(f"{len(pulses)} marker pulses for {n_f} frames: the lengths do not say unambiguously "
                         "which frames some pulses belong to; those are excluded")
    owner: dict[int, int] = {}
    for i, mt in enumerate(match):
        if mt is None:
            if not pulses[i].flags:
                notes.append(f"marker pulse at {pulses[i].rise / fs * 1e3:.3f} ms ({pulses[i].length} samples) "
                             "matches no frame")
            continue
        j, width = mt
        if width == 2:
            for k in (j, j + 1):
                excluded[k] = "; ".join(pulses[i].flags) + " (one window covers two frames)"
            continue
        owner[j] = i
    # refine the scale on clean one-to-one matches, then check every window's length against it
    refined = _match_scale(match, lengths, flagged, cycles)
    if refined is not None:
        scale = refined
    v = cap.voltage_v
    for j in range(n_f):
        if j in excluded:
            continue
        pi = owner.get(j)
        if pi is None:
            excluded[j] = "no marker window: the frame's pulse was not captured (before the capture began, after " \
                          "it ended, or lost)"
            continue
        p = pulses[pi]
        if p.flags:
            excluded[j] = "; ".join(p.flags)
            continue
        if p.length < opt.min_window_samples:
            excluded[j] = (f"window of {p.length} sample(s): shorter than the {opt.min_window_samples} samples the "
                           f"instrument resolves at {fs:g} S/s")
            continue
        expect = scale * cycles[j]
        if abs(p.length - expect) > max(opt.duration_tolerance * expect, 2.0):
            excluded[j] = (f"window length disagrees with the frame's count: {p.length} samples for {cycles[j]:.0f} "
                           f"cycles, expected {expect:.1f} at this utterance's common scale")
            continue
        cur = cap.current_a[p.rise:p.fall]
        volt = v[p.rise:p.fall] if isinstance(v, np.ndarray) else float(v)
        joules[j] = float(np.sum(cur * volt)) / fs
        mean_a[j] = float(cur.mean())
        peak_a[j] = float(cur.max())
        win_s[j] = p.length / fs
        if stages and cap.stage_pin is not None:
            sp = cap.stage_pin[p.rise:p.fall].astype(np.int8)
            toggles = np.flatnonzero(np.diff(np.r_[0, sp]) != 0)
            if len(toggles) == len(stages):  # the last stage's end coincides with the frame's end (a few
                toggles = np.r_[toggles, p.length]  # instructions apart): the window's end bounds it
            if len(toggles) == len(stages) + 1:
                for k, s in enumerate(stages):
                    a, b = p.rise + toggles[k], p.rise + toggles[k + 1]
                    vv = v[a:b] if isinstance(v, np.ndarray) else float(v)
                    st_j[s][j] = float(np.sum(cap.current_a[a:b] * vv)) / fs
            elif not any(n.startswith("stage marker") for n in notes):
                notes.append(f"stage marker: frame {j} has {len(toggles)} toggles inside its window, "
                             f"{len(stages) + 1} expected; its stage energies are left out")
    ok = np.isfinite(joules)
    total_s = float(np.nansum(win_s)) if ok.any() else None
    return FrameEnergy(
        kind=kind, source=source, joules=joules,
        joules_mean=float(joules[ok].mean()) if ok.any() else float("nan"),
        mean_current_a=float(np.nansum(mean_a * win_s) / total_s) if total_s else None,
        peak_current_a=float(np.nanmax(peak_a)) if ok.any() else None,
        window_s=total_s,
        frame_mean_a=mean_a, frame_peak_a=peak_a, frame_window_s=win_s, excluded=dict(sorted(excluded.items())),
        stage_joules=st_j, notes=tuple(notes),
    )
