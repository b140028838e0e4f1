"""cycles_est per frame from a growing marks file: regions read from the last offset
(bench.cyclest.tail), matched to frames across utterances (bench.cyclest.frames), and the
runner's CycleEstimate on top. Synthetic marks files in the plugin's format."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np

from bench.cyclest.frames import FrameMatcher, FrameStream
from bench.cyclest.regions import HEADER, MAGIC, RECORD, parse_marks, regions
from bench.cyclest.tail import MarksTail
from bench.runner.stream import CycleEstimate


def _head() -> bytes:
    return HEADER.pack(MAGIC, 1, 0, 0x40000004, 0, 0, 1 | 2 << 8 | 3 << 16 | 12 << 24)


def _recs(marks: list[tuple[int, int]]) -> bytes:
    return b"".join(struct.pack("<3Q", c, i, 0x100) for c, i in marks)


def _cumulative(deltas: list[tuple[int, int]], start=(0, 0)) -> list[tuple[int, int]]:
    c, i = start
    out = []
    for dc, di in deltas:
        c, i = c + dc, i + di
        out.append((c, i))
    return out


# one "utterance": protocol noise, then frames of 2 stages + tail (cycles_est, instructions)
UTT1 = [(500, 400), (30, 20), (50, 40), (3, 2), (700, 600), (33, 21), (55, 41), (4, 3)]
UTT2 = [(900, 800), (31, 20), (52, 40), (3, 2)]
FRAMES1 = (np.array([[20, 40], [21, 41]]), np.array([62, 65]))
FRAMES2 = (np.array([[20, 40]]), np.array([62]))


def test_tail_reads_only_what_was_added(tmp_path):
    p = tmp_path / "m.bin"
    marks = _cumulative([(0, 0)] + UTT1 + UTT2)
    first, second = marks[:5], marks[5:]
    p.write_bytes(_head() + _recs(first))
    t = MarksTail(p)
    r1 = t.read()
    assert r1.cycles_est.tolist() == [500, 30, 50, 3]
    assert t.offset == HEADER.size + 5 * RECORD.itemsize
    # overwrite what was already read: a reader that starts over would see garbage
    data = bytearray(p.read_bytes())
    data[HEADER.size: t.offset] = b"\xff" * (t.offset - HEADER.size)
    p.write_bytes(bytes(data) + _recs(second))
    r2 = t.read()
    assert r2.cycles_est.tolist() == [700, 33, 55, 4, 900, 31, 52, 3]  # the first continues from the last mark
    assert t.read().cycles_est.tolist() == []  # nothing new


def test_tail_equals_a_whole_read(tmp_path):
    p = tmp_path / "m.bin"
    marks = _cumulative([(7, 5)] + UTT1 + UTT2)
    whole = _head() + _recs(marks)
    t = MarksTail(p)
    assert t.read() is None  # no file yet
    got_c, got_i = [], []
    for cut in (10, HEADER.size + 3, HEADER.size + 30, HEADER.size + 5 * RECORD.itemsize - 1, len(whole)):
        p.write_bytes(whole[:cut])  # the plugin is mid-record: the partial one waits for the next read
        r = t.read()
        if r is not None:
            got_c += r.cycles_est.tolist()
            got_i += r.instructions.tolist()
    ref = regions(parse_marks(whole))
    assert got_c == ref.cycles_est.tolist() and got_i == ref.instructions.tolist()


def test_rewritten_file_is_read_from_its_start(tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(_head() + _recs(_cumulative([(0, 0)] + UTT1 + UTT2)))
    t = MarksTail(p)
    t.read()
    p.write_bytes(_head() + _recs(_cumulative([(0, 0), (5, 4)])))  # a new emulator
    assert t.read().cycles_est.tolist() == [5]


def test_stream_matches_frames_across_utterances(tmp_path):
    p = tmp_path / "m.bin"
    marks = _cumulative([(0, 0)] + UTT1 + UTT2)
    p.write_bytes(_head() + _recs(marks[:1 + len(UTT1)]))
    fs = FrameStream(p)
    s1, t1 = fs.match(*FRAMES1)
    assert s1.tolist() == [[30, 50], [33, 55]] and t1.tolist() == [83, 92]
    assert len(fs.pending) == 0  # used regions are dropped
    p.write_bytes(_head() + _recs(marks))
    s2, t2 = fs.match(*FRAMES2)
    assert s2.tolist() == [[31, 52]] and t2.tolist() == [86]
    # the same as one matcher over the whole file
    whole = regions(parse_marks(p.read_bytes()))
    fm = FrameMatcher()
    assert fm.match(whole, *FRAMES1)[0].tolist() == s1.tolist()
    assert fm.match(whole, *FRAMES2)[0].tolist() == s2.tolist()


def test_cycle_estimate_reads_the_driver_marks_and_gives_up_on_a_miss(tmp_path):
    p = tmp_path / "cycles_est.bin"
    p.write_bytes(_head() + _recs(_cumulative([(0, 0)] + UTT1)))
    driver = SimpleNamespace(estimates_cycles=True, marks_path=p)
    est = CycleEstimate.for_driver(driver)
    assert est.frames(*FRAMES1)[1].tolist() == [83, 92]
    assert est.frames(np.array([[99, 99]]), np.array([300])) is None  # no such frame in the file
    assert est.lost and est.frames(*FRAMES2) is None
    assert CycleEstimate.for_driver(SimpleNamespace(estimates_cycles=False)) is None


def test_file_rewritten_longer_is_detected_by_its_counters(tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(_head() + _recs(_cumulative([(100, 90), (5, 4)])))
    t = MarksTail(p)
    assert t.read().cycles_est.tolist() == [5]
    # a new emulator wrote more than the old file held; its counters start from 0 again
    p.write_bytes(_head() + _recs(_cumulative([(0, 0), (7, 6), (8, 7), (9, 8)])))
    assert t.read().cycles_est.tolist() == [7, 8, 9]
