"""The bring-up script for a real board (docs/boards.md, "Bring-up with tests/hil"): the checks CI runs
on the emulated probe (tests/qemu/test_pyocd_emulated.py), against the board of BENCH_HIL_TARGET
(a pyOCD target TOML name or path), through the same code (tests/hil/pyocd_checks.py):

    BENCH_HIL_TARGET=nucleo-f429zi pytest -m hil tests/hil -v

1. the passthrough image flashed, verified, reset and run by pyOCD; output = input; counts in the
   unit the image reports (HELLO: DWT cycles at the board's clock);
2. a second run finds the same build in flash and skips programming;
3. a wrong probe uid, an image for another board and one too large for the part are refused with
   a clear message before anything is programmed;
4. a fault app (BusFault, undefined instruction, division by zero) reaches the host as an ERROR
   with the fault registers, and the debug port's post-mortem names the board and decodes them.

Skipped without BENCH_HIL_TARGET. The board is reflashed (passthrough, then the fault app).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pyocd_checks as checks  # noqa: E402

pytestmark = pytest.mark.hil

TARGET = os.environ.get("BENCH_HIL_TARGET")
needs_board = pytest.mark.skipif(not TARGET, reason="no board: set BENCH_HIL_TARGET=<pyOCD target TOML>")


@pytest.fixture(scope="module")
def target():
    from bench.targets import load_target

    t = load_target(TARGET)  # type: ignore[arg-type]
    if t.driver != "pyocd":
        pytest.skip(f"BENCH_HIL_TARGET={TARGET} is a {t.driver} target, not a pyOCD one")
    return t


@pytest.fixture()
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture()
def utts():
    import numpy as np

    from bench.data.loader import Utterance

    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    noise = (rng.standard_normal(12000) * 2000).astype(np.int16)
    return [Utterance("tone", tone, None, 16000), Utterance("noise", noise, None, 16000)]


@needs_board
def test_1_2_flash_run_and_the_second_run_skips_the_flash(target, tmp_path, results_dir, utts):
    from bench.runner import Runner, RunOptions

    image = checks.board_image(target.board).name
    toml = checks.target_copy(target, tmp_path / "t", skip_unchanged=True)
    first = Runner(RunOptions(target=str(toml), images=(image,), metrics=False), utterances=utts).start()
    checks.passthrough_ok(first, image, utts)
    hello = first.read_hello(image)
    if hello is not None and target.counter.kind == "cycles":
        assert (hello["counter_kind"], hello["counter_hz"]) == (1, target.clock_hz), hello
    total = first.frames(image).column("total").to_numpy()
    assert (total > 0).all()
    second = Runner(RunOptions(target=str(toml), images=(image,), metrics=False), utterances=utts).start()
    checks.passthrough_ok(second, image, utts)
    assert "programming skipped" in checks.driver_log(second, image), checks.driver_log(second, image)
    print(checks.driver_log(first, image))


@needs_board
def test_3_refusals(target, tmp_path):
    checks.check_refusals(target, tmp_path)


@needs_board
def test_4_fault_reports(target, tmp_path):
    elf = checks.build_fault_app(target.board, tmp_path / "app")
    print(checks.check_fault_reports(target, elf, tmp_path))
