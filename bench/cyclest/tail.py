"""A growing marks file read from where the last read stopped.

QEMU's plugin appends one record per timer load while an image runs; the runner asks for the
new regions after every utterance. Reading the whole file each time costs O(file) per utterance
(quadratic over a long run); :class:`MarksTail` reads only the bytes past its offset, keeps the
last mark so the first new region continues from it, and leaves a record the plugin has only
partly written for the next read.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from bench.cyclest.errors import CyclestError
from bench.cyclest.regions import HEADER, RECORD, CostModel, Regions, parse_marks

_REWRITTEN = object()  # the file was rewritten since the last read


class MarksTail:
    """The regions of one marks file, handed out once each, in order."""

    def __init__(self, path: str | PathLike[str]):
        self.path = Path(path)
        self.offset = 0  # bytes consumed (header + whole records)
        self.model: CostModel | None = None
        self._last: np.ndarray | None = None  # the last record read: the next region starts there

    def read(self) -> Regions | None:
        """The regions completed since the last call (possibly none); None while the file does
        not exist. A file rewritten by a new emulator (shorter than what was read, or counters
        that go back) is read again from its start."""
        rec = self._new_records()
        if rec is _REWRITTEN:
            self.offset, self.model, self._last = 0, None, None
            rec = self._new_records()
        return None if rec is None or rec is _REWRITTEN else self._regions(rec)

    def _new_records(self) -> Any:
        """The records past the offset (the whole ones), None without a file or header, or
        _REWRITTEN."""
        try:
            with self.path.open("rb") as f:
                if f.seek(0, 2) < self.offset:
                    return _REWRITTEN
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CyclestError(f"cannot read the cycle-estimate file {self.path}: {e}") from e
        if self.model is None:
            if len(data) < HEADER.size:
                return None  # the plugin has not written its header yet
            self.model = parse_marks(data[:HEADER.size]).model
            self.offset += HEADER.size
            data = data[HEADER.size:]
        whole = len(data) - len(data) % RECORD.itemsize
        rec = np.frombuffer(data[:whole], dtype=RECORD)
        if self._last is not None and len(rec) and rec["instructions"][0] < self._last["instructions"][0]:
            return _REWRITTEN
        self.offset += whole
        if self._last is not None:
            rec = np.concatenate([self._last, rec])
        if len(rec):
            self._last = rec[-1:].copy()
        return rec

    def _regions(self, rec: np.ndarray) -> Regions:
        assert self.model is not None
        cyc = rec["cycles_est"].astype(np.int64)
        ins = rec["instructions"].astype(np.int64)
        pc = rec["pc"]
        return Regions(model=self.model, cycles_est=np.diff(cyc), instructions=np.diff(ins),
                       start_pc=pc[:-1].copy(), end_pc=pc[1:].copy())
