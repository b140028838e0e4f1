"""The pyOCD path end to end against QEMU: target qemu-netduinoplus2-pyocd, whose probe is the
bench's emulated probe `qemu:netduinoplus2` (bench/targets/qemuprobe: a pyOCD probe plugin that
starts QEMU's netduinoplus2 with -S -gdb and serves pyOCD's debug-port traffic from its gdbstub).

pyOCD's own ConnectHelper, session, CoreSight discovery, Cortex-M halt/run/registers/reset,
FileProgrammer/FlashLoader/FlashBuilder and the driver's verify run for real; only the flash
algorithm (a flash controller QEMU does not model) is replaced by debug writes
(bench/targets/qemuprobe/target.py). The shipped netduinoplus2 images must give the same output as
on mps2-an386 and the same instruction counts as the direct QEMU target, run after run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.errors import TargetError
from bench.images import find_image
from bench.runner import Runner, RunOptions
from bench.targets import load_target
from bench.targets.drivers.pyocd import PyocdDriver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
import pyocd_checks as checks  # noqa: E402

pytest.importorskip("pyocd", reason="pyOCD not installed (pip install 'bench[hw]')")

TARGET = "qemu-netduinoplus2-pyocd"
DIRECT = "qemu-netduinoplus2"
PASS = "passthrough-netduinoplus2"
DSP = "dsp-baseline-netduinoplus2"
DSP_AN386 = "dsp-baseline-an386"
STAGES = ["stage_stft", "stage_gain", "stage_istft"]
COLS = ["utt", "frame", "total", *STAGES]


@pytest.fixture()
def board_state(tmp_path, monkeypatch):
    """A fresh emulated board (empty flash) for each test: its kept flash lives under BENCH_CACHE_DIR."""
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_QEMU_PROBES", raising=False)
    return tmp_path / "cache" / "qemuprobe"


@pytest.fixture()
def target():
    return load_target(TARGET)


def test_dsp_baseline_through_pyocd_bit_exact_repeatable_and_second_run_skips_the_flash(
        results_dir, synth_utts, board_state):
    """Two runs through pyOCD (the first programs, the second finds the build in flash and skips),
    one on mps2-an386, one on the direct QEMU target: identical output everywhere, identical
    instruction counts per frame and stage between both pyOCD runs and the direct target."""
    a = Runner(RunOptions(target=TARGET, images=(DSP,), metrics=False), utterances=synth_utts).start()
    b = Runner(RunOptions(target=TARGET, images=(DSP,), metrics=False), utterances=synth_utts).start()
    direct = Runner(RunOptions(target=DIRECT, images=(DSP,), metrics=False), utterances=synth_utts).start()
    an = Runner(RunOptions(target="qemu-mps2-an386-sh", images=(DSP_AN386,), metrics=False),
                utterances=synth_utts).start()
    for r in (a, b, direct, an):
        assert r.read_meta()["status"] == "done", r.read_meta()

    for u in synth_utts:
        out = a.read_audio(DSP, u.id)
        assert np.array_equal(out, an.read_audio(DSP_AN386, u.id)), u.id  # bit-exact with mps2-an386
        assert np.array_equal(out, b.read_audio(DSP, u.id)), u.id
    fa, fb, fd = (r.frames(DSP).select(COLS).to_pylist() for r in (a, b, direct))
    assert fa == fb, "instruction counts differ between two pyOCD runs"
    assert fa == fd, "the pyOCD path changed the instruction counts of the direct QEMU target"
    assert len({row["total"] for row in fa}) > 1  # real per-frame data, not a constant

    la, lb = checks.driver_log(a, DSP), checks.driver_log(b, DSP)
    assert re.search(r"programmed \d+ bytes in \d segment\(s\)", la) and "verified" in la, la
    assert "programming skipped" in lb and "programmed" not in lb, lb
    assert f"build {find_image(DSP).build_id}" in lb, lb  # the skip names the build it found in flash
    hello = a.read_meta()["images"][DSP]
    assert hello.get("target_uid") == "qemu:netduinoplus2", hello
    for log in (la, lb):
        assert "probe qemu:netduinoplus2, target type stm32f405_qemu" in log
        assert "reset, core running" in log and "no fault recorded" in log
        assert re.search(r"translated: halts \d+, resumes \d+, resets \d+, reg_reads \d+", log), log
    assert (board_state / "netduinoplus2.flash").is_file()


def test_passthrough_link_and_counts_through_pyocd(results_dir, synth_utts, board_state):
    run = Runner(RunOptions(target=TARGET, images=(PASS,), metrics=False), utterances=synth_utts).start()
    checks.passthrough_ok(run, PASS, synth_utts)
    total = run.frames(PASS).column("total").to_numpy()
    assert len(set(total.tolist())) == 1 and total[0] == 3399  # docs/boards.md: as on qemu-netduinoplus2
    log = checks.driver_log(run, PASS)
    assert re.search(r"serial link socket://127\.0\.0\.1:\d+ at 115200 baud", log), log


def test_refusals(target, tmp_path, board_state):
    """Wrong probe uid, an image for another board, an image too large for the part."""
    checks.check_refusals(target, tmp_path)


def test_no_probe_and_two_probes_without_a_uid(tmp_path, board_state, monkeypatch):
    image = checks.board_image("netduinoplus2").path
    none = load_target(str(checks.target_copy(TARGET, tmp_path / "none", probe_uid="")))
    with pytest.raises(TargetError, match=r"no debug probe is connected \(pyOCD sees none\).*probe_uid"):
        PyocdDriver(none, tmp_path / "n").start(image)

    monkeypatch.setenv("BENCH_QEMU_PROBES", "qemu:netduinoplus2,qemu:netduinoplus2/b")
    with pytest.raises(TargetError, match=r"2 debug probes are connected and probe_uid is not set.*"
                                          r"qemu:netduinoplus2 .*qemu:netduinoplus2/b"):
        PyocdDriver(none, tmp_path / "t").start(image)

    wrong = load_target(str(checks.target_copy(TARGET, tmp_path / "wrong", probe_uid="qemu:nosuchboard")))
    with pytest.raises(TargetError, match=r"debug probe 'qemu:nosuchboard' is not connected\. Probes pyOCD sees: "
                                          r"qemu:netduinoplus2 .*qemu:netduinoplus2/b"):
        PyocdDriver(wrong, tmp_path / "w").start(image)

    # with a uid, the second emulated board is a board of its own: its own QEMU and its own flash
    other = load_target(str(checks.target_copy(TARGET, tmp_path / "b", probe_uid="qemu:netduinoplus2/b")))
    d = PyocdDriver(other, tmp_path / "b1")
    try:
        d.start(image)
        assert d.probe_uid == "qemu:netduinoplus2/b"
    finally:
        d.stop()
    assert (board_state / "netduinoplus2_b.flash").is_file()
    assert not (board_state / "netduinoplus2.flash").exists()


def test_the_emulated_board_cannot_be_opened_twice(target, tmp_path, board_state):
    image = checks.board_image("netduinoplus2").path
    first = PyocdDriver(target, tmp_path / "1")
    try:
        first.start(image)
        with pytest.raises(TargetError, match="in use by another session"):
            PyocdDriver(target, tmp_path / "2").start(image)
    finally:
        first.stop()


def test_fault_reports_reach_the_host_with_decoded_registers(target, tmp_path, board_state):
    elf = checks.build_fault_app("netduinoplus2", tmp_path / "app")
    log = checks.check_fault_reports(target, elf, tmp_path)
    assert "probe: qemu:netduinoplus2" in log


@pytest.fixture()
def faulting_image(tmp_path):
    """A manifest image (board netduinoplus2, family passthrough) that faults in frame 6 of the
    second synthetic utterance (the first has 63 frames)."""
    return checks.build_misbehaving_images(tmp_path, "netduinoplus2", {"fault-at-70-netduinoplus2": "-DFAULT_AT=70u"})


def test_a_fault_during_a_run_names_the_board_and_the_registers_and_keeps_what_was_measured(
        faulting_image, results_dir, synth_utts, board_state):
    image = "fault-at-70-netduinoplus2"
    run = Runner(RunOptions(target=TARGET, images=(image,), metrics=False, manifest_dir=str(faulting_image)),
                 utterances=synth_utts).start()
    meta = run.read_meta()["images"][image]
    assert meta["status"] == "failed"
    err = meta["utterance_errors"]["noise"]
    # the firmware's report: inside the measured region interrupts are masked (PRIMASK), so the
    # BusFault escalates to a HardFault (HFSR.FORCED) with the BusFault's status kept in CFSR
    assert "FAULT HardFault CFSR=00008200 HFSR=40000000" in err and "BFAR=30000000" in err, err
    assert "tone" not in meta["utterance_errors"]
    kept = run.frames(image)
    assert set(kept.column("utt").to_pylist()) == {"tone"} and kept.num_rows == 63  # what was measured stays
    assert np.array_equal(run.read_audio(image, "tone"), synth_utts[0].noisy)
    log = checks.driver_log(run, image)
    # the debug port's post-mortem at stop: the board, the handler, the decoded registers
    assert re.search(r"FAULT on board qemu:netduinoplus2: .*in the HardFault handler.*CFSR=00008200 "
                     r"\(BusFault: PRECISERR BFARVALID\); HFSR=40000000 \(FORCED\); BFAR=30000000", log), log
    assert meta.get("target_uid") == "qemu:netduinoplus2"


def test_a_board_that_locks_up_is_reported_with_the_emulators_account(target, tmp_path, board_state):
    """A reset vector without the Thumb bit: INVSTATE, escalated to a HardFault whose vector is 0:
    lockup. A board's DHCSR would say S_LOCKUP; QEMU ends itself ("qemu: fatal: Lockup"), and the
    emulated probe says so, naming the board."""
    import struct
    import time

    elf = tmp_path / "lockup.elf"
    elf.write_bytes(checks.elf_bytes([(0x0800_0000, struct.pack("<II", 0x2000_1000, 0x0800_0008) + bytes(56))],
                                     0x0800_0008))
    d = PyocdDriver(target, tmp_path / "d")
    try:
        d.start(elf)  # programmed, verified, reset, resumed: the core locks up at its first instruction
        deadline = time.monotonic() + 10
        while True:
            try:
                d.inspect()
            except TargetError as e:
                msg = str(e)
                break
            assert time.monotonic() < deadline, "the core never locked up"
            time.sleep(0.1)
    finally:
        d.stop()
    assert "reading the core state of board qemu:netduinoplus2 failed" in msg, msg
    assert "qemu: fatal: Lockup" in msg, msg
    assert "core state at stop not readable" in d.logs()
