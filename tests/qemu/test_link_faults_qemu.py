"""The passthrough image over QEMU's UART behind injected faults, opened as a `faulty+socket://` URL:
at a byte error rate of 1e-3 both ways (4 in 10 PROCESS frames damaged in each direction) the
session's default settings give the clean run's output, per-frame instruction counts and side
information, and the device executes every frame once. (Raw timer ticks may differ by the one
tick of timer phase that also differs between two clean runs; the instruction counts the runner
stores are exact: docs/measurement.md.)"""

import numpy as np
import pytest

from bench.images import find_image
from bench.link.faultbench import fault_sets, table
from bench.link.faultbench import stream as bench_stream
from bench.link.session import Session
from bench.link.transport import SerialTransport
from bench.targets.drivers.qemu import QemuDriver

FRAMES = 150


@pytest.fixture()
def start_passthrough(an386, tmp_path):
    drivers = []

    def start(name: str) -> QemuDriver:
        d = QemuDriver(an386, tmp_path / name)
        d.start(find_image("passthrough-an386").path)
        drivers.append(d)
        return d

    yield start
    for d in drivers:
        d.stop()


def stream(s: Session, x: np.ndarray):
    s.hello()
    s.configure({"side": 1})
    s.reset_state()
    return list(s.process_stream(x)), s.stats()


def instructions(an386, results) -> np.ndarray:
    ticks = np.array([(*r.stage_ticks, r.total_ticks) for r in results], dtype=np.int64)
    return an386.counter.ticks_to_unit(ticks)


def test_noisy_uart_gives_the_clean_runs_output_and_counts(an386, start_passthrough):
    x = (np.random.default_rng(3).standard_normal((FRAMES, 256)) * 3000).astype(np.int16)
    clean = Session(start_passthrough("clean").open_link())
    ref, ref_stats = stream(clean, x)
    assert clean.counters.resends == 0 and ref_stats.crc_errors == 0

    d = start_passthrough("noisy")
    link = SerialTransport(f"faulty+socket://127.0.0.1:{d.port}?ber=1e-3&seed=1")
    faults = link._port.link  # the FaultyTransport inside the pyserial port: its fault counts
    try:
        noisy = Session(link)  # default window, timeout, retries, dead_after
        got, stats = stream(noisy, x)
    finally:
        link.close()

    assert np.array_equal(np.stack([r.pcm for r in got]), x)
    assert [r.side for r in got] == [r.side for r in ref]
    assert np.array_equal(instructions(an386, got), instructions(an386, ref))  # frame for frame, stage for stage
    assert stats.frames == ref_stats.frames == FRAMES  # executed once each
    assert faults.tx.counts.corrupted > 50 and faults.rx.counts.corrupted > 50
    assert stats.crc_errors > 0 and noisy.counters.resends > FRAMES // 2


def test_benchmark_qemu(start_passthrough, request, capsys):
    """The figures in docs/protocol.md ("Links under faults", QEMU): one QEMU, rows in turn."""
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("benchmark: run with --benchmark-enable")
    link = start_passthrough("bench").open_link()
    rows = [bench_stream(link, f, 200, "qemu") for f in fault_sets("0,1e-4,1e-3,1e-2", 2)]
    with capsys.disabled():
        print("\n" + table(rows))
    assert all(r.exact for r in rows if r.ber <= 1e-3) and all(r.exact or r.error for r in rows)
