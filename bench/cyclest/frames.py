"""cycles_est per frame and stage: the plugin's regions matched to the frames the firmware reported.

Per PROCESS the agent reads the counter at the start of the measured region, at every stage mark
(``bench_mark``) and at the end, so a frame of S stages is S + 1 consecutive regions: S stages and
the short tail from the last mark to the end read. The plugin's regions also cover everything in
between frames (the protocol, the UART), so frames are found by their exact instruction counts:
the next run of S + 1 regions whose first S instruction counts equal the frame's stages and whose
sum equals its total. Instruction counts are exact on both sides, so a match is the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np

from bench.cyclest.regions import Regions
from bench.cyclest.tail import MarksTail


@dataclass
class FrameMatcher:
    """Walks the regions of one image's run in order, frame after frame."""

    cursor: int = 0  # first region not yet used

    def match(self, regions: Regions, stages: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(F, S) stage cycles_est and (F,) total cycles_est for the frames whose stage instructions
        (F, S) and totals (F,) are given, in order; None when a frame has no matching regions (a
        model that marks a stage twice, or a marks file that does not belong to these frames)."""
        ins, cyc = regions.instructions, regions.cycles_est
        n_frames, n_stages = stages.shape
        out_s = np.zeros((n_frames, n_stages), np.int64)
        out_t = np.zeros(n_frames, np.int64)
        k = self.cursor
        for f in range(n_frames):
            k = self._find(ins, stages[f], int(total[f]), k)
            if k < 0:
                return None
            out_s[f] = cyc[k: k + n_stages]
            out_t[f] = int(cyc[k: k + n_stages + 1].sum())
            k += n_stages + 1
        self.cursor = k
        return out_s, out_t

    @staticmethod
    def _find(ins: np.ndarray, stage: np.ndarray, total: int, start: int) -> int:
        s = len(stage)
        last = len(ins) - (s + 1)
        for k in range(start, last + 1):
            if ins[k] == stage[0] and np.array_equal(ins[k: k + s], stage) and int(ins[k: k + s + 1].sum()) == total:
                return k
        return -1


class FrameStream:
    """Frames matched to a growing marks file utterance after utterance: each call reads only the
    regions added since the last (bench.cyclest.tail) and keeps the ones not yet used."""

    def __init__(self, marks_path: str | PathLike[str]):
        self.tail = MarksTail(marks_path)
        self.matcher = FrameMatcher()
        self.pending: Regions | None = None

    def match(self, stages: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """As :meth:`FrameMatcher.match` over every region written so far; None also when there is
        no marks file."""
        new = self.tail.read()
        if new is not None:
            self.pending = new if self.pending is None else _concat(self.pending, new)
        if self.pending is None:
            return None
        got = self.matcher.match(self.pending, stages, total)
        if got is not None:  # drop the regions used up to the last matched frame
            self.pending = _tail(self.pending, self.matcher.cursor)
            self.matcher.cursor = 0
        return got


def _concat(a: Regions, b: Regions) -> Regions:
    return Regions(model=b.model, **{f: np.concatenate([getattr(a, f), getattr(b, f)])
                                     for f in ("cycles_est", "instructions", "start_pc", "end_pc")})


def _tail(r: Regions, k: int) -> Regions:
    return Regions(model=r.model, cycles_est=r.cycles_est[k:], instructions=r.instructions[k:],
                   start_pc=r.start_pc[k:], end_pc=r.end_pc[k:])
