"""A device that resets in the middle of a frame, on the emulated boards (#12, #16 part 5).

* The watchdog for real: QEMU 7.2's netduinoplus2 models no IWDG, so the stm32f4 port falls back to
  SysTick, whose interrupt requests SYSRESETREQ (firmware/boards/stm32f4/board.c); QEMU resets the
  machine on it and the port's record in .noinit survives, so the next HELLO says "watchdog". An
  image variant of firmware/tests/misbehaving_model.c hangs on purpose in a given frame (the same model
  faults on purpose for test_pyocd_emulated.py).
* A real reset injected at a frame (`--link-faults reset_frame=N`): the QEMU driver's reset is QMP
  `system_reset`, which keeps the link (the UART chardev, or the semihosting FIFOs).
* The host: a boot banner where a reply was expected is a device reset; the bench re-handshakes and
  retries the utterance once from its start; a second reset of the same utterance fails it, naming
  board, utterance and frame, and the run keeps what it measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import Utt

from bench.runner import Runner, RunOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
import pyocd_checks as checks  # noqa: E402

ND = "qemu-netduinoplus2"
ND_PYOCD = "qemu-netduinoplus2-pyocd"  # the same board through pyOCD and the emulated probe: pyOCD's reset
DSP = "dsp-baseline-netduinoplus2"


@pytest.fixture(autouse=True)
def board_state(tmp_path, monkeypatch):
    """A fresh emulated board for the pyOCD target (its kept flash lives under BENCH_CACHE_DIR)."""
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_QEMU_PROBES", raising=False)


def needs(target: str) -> None:
    if target == ND_PYOCD:
        pytest.importorskip("pyocd", reason="pyOCD not installed (pip install 'bench[hw]')")

@pytest.fixture(scope="module")
def hang_images(tmp_path_factory):
    """hang-at-70 (the 70th frame since boot hangs: frame 6 of the second synthetic utterance) and
    hang-at-200 (never reached here: the same code, the clean reference), board netduinoplus2."""
    return checks.build_misbehaving_images(tmp_path_factory.mktemp("hang"), "netduinoplus2",
                                           {f"hang-at-{n}-netduinoplus2": f"-DHANG_AT={n}u" for n in (70, 200)})


def frames(run, image):
    t = run.frames(image)
    return t.select(sorted(c for c in t.column_names if not c.startswith("energy"))).to_pylist()


def meta(run, image):
    return run.read_meta()["images"][image]


@pytest.mark.parametrize("target", [ND, ND_PYOCD])
def test_the_watchdog_resets_a_hung_frame_and_the_retry_completes_it(target, hang_images, results_dir, synth_utts):
    """Frame 6 of utterance noise hangs; the SysTick fallback resets the chip, the next HELLO reports the
    watchdog, the bench retries the utterance from its start (the count since boot starts again, so it
    gets through) and the run ends identical, frame by frame, to an image that never hangs. Directly on
    QEMU and through pyOCD (flashed, reset and run by pyOCD; the guest's own SYSRESETREQ resets it)."""
    needs(target)
    opts = {"metrics": False, "manifest_dir": str(hang_images)}
    run = Runner(RunOptions(target=target, images=("hang-at-70-netduinoplus2",), **opts), utterances=synth_utts).start()
    # the reference on the direct target (the pyOCD path gives the same counts: test_pyocd_emulated.py)
    clean = Runner(RunOptions(target=ND, images=("hang-at-200-netduinoplus2",), **opts),
                   utterances=synth_utts).start()
    m = meta(run, "hang-at-70-netduinoplus2")
    assert m["status"] == "done", m
    assert m["device_resets"] == [
        "watchdog reset during frame 6 of 47 of utterance noise on board netduinoplus2 (reset cause the device "
        "reports: software, watchdog; watchdog: timer-sysresetreq 2396 ms)"], m["device_resets"]
    mc = meta(clean, "hang-at-200-netduinoplus2")
    assert mc["status"] == "done" and mc.get("device_resets") is None, (mc["error"], (
        clean.path / "hang-at-200-netduinoplus2" / "driver.log").read_text()[-3000:])
    assert frames(run, "hang-at-70-netduinoplus2") == frames(clean, "hang-at-200-netduinoplus2")
    for u in synth_utts:
        assert np.array_equal(run.read_audio("hang-at-70-netduinoplus2", u.id), u.noisy)
    hello = run.read_hello("hang-at-70-netduinoplus2")
    assert (hello["watchdog_kind"], hello["reset_cause"]) == (2, 0)  # at the start: the fallback, no reset yet
    console = (run.path / "hang-at-70-netduinoplus2" / "console.log").read_text()
    assert "watchdog (SysTick fallback): a frame hung" in console
    assert "reset: watchdog (SysTick fallback, its record in RAM)" in console


def test_a_hang_that_comes_back_after_the_retry_fails_the_utterance_and_resume_continues(
        hang_images, results_dir, synth_utts):
    """With a long second utterance the retry hangs too (frame 69: the 70th since the reset): the
    utterance fails naming board, utterance and frame; the one after it and the one before are kept.
    --resume takes up only the failed utterance (and, the image being what it is, fails it again)."""
    image = "hang-at-70-netduinoplus2"
    long_noise = np.concatenate([synth_utts[1].noisy] * 3)[:100 * 256]
    utts = [synth_utts[0], Utt("noise", long_noise), Utt("tone2", synth_utts[0].noisy[:8000])]
    run = Runner(RunOptions(target=ND, images=(image,), metrics=False, manifest_dir=str(hang_images)),
                 utterances=utts).start()
    m = meta(run, image)
    assert m["status"] == "failed" and m["error"] is None, m
    err = m["utterance_errors"]["noise"]
    assert err.startswith("watchdog reset during frame 69 of 100 of utterance noise on board netduinoplus2"), err
    assert "again after one retry of the utterance from its start (first: watchdog reset during frame 6 of " \
           "100 of utterance noise" in err and "bench run --resume" in err, err
    assert [n.split(" of utterance")[0] for n in m["device_resets"]] == [
        "watchdog reset during frame 6 of 100", "watchdog reset during frame 69 of 100"]
    kept = run.frames(image)
    assert sorted(set(kept.column("utt").to_pylist())) == ["tone", "tone2"] and kept.num_rows == 63 + 32
    before = frames(run, image)

    resumed = Runner(RunOptions(), utterances=utts).resume(run.run_id)
    m = meta(resumed, image)
    assert m["status"] == "failed" and set(m["utterance_errors"]) == {"noise"}
    assert "frame 69 of 100 of utterance noise on board netduinoplus2" in m["utterance_errors"]["noise"]
    assert len(m["device_resets"]) == 4  # two more, from the resumed attempt
    assert frames(resumed, image) == before  # tone and tone2 were not measured again


@pytest.mark.parametrize("target, image, frame", [
    (ND, DSP, 70),  # UART link: the reset takes effect at once
    (ND_PYOCD, DSP, 70),  # pyOCD's reset (reset_and_halt, resume) through the emulated probe
    ("qemu-mps2-an386-sh", "dsp-baseline-an386", 70),  # semihosting FIFOs, cycles_est: at the next request
])
def test_an_injected_reset_mid_frame_completes_identical_to_a_clean_run(target, image, frame, results_dir,
                                                                         synth_utts):
    """`--link-faults reset_frame=N`: QMP system_reset after frame N's request (image frame 70 is frame 6 of
    the second utterance); the link stays, the bench re-handshakes and retries the utterance; every frame
    and sample equals a clean run's, and the reset is recorded with the image."""
    needs(target)
    run = Runner(RunOptions(target=target, images=(image,), metrics=False, link_faults=f"reset_frame={frame}"),
                 utterances=synth_utts).start()
    clean = Runner(RunOptions(target=target, images=(image,), metrics=False), utterances=synth_utts).start()
    m = meta(run, image)
    assert m["status"] == "done", m
    (note,) = m["device_resets"]
    assert note.startswith("injected device reset (--link-faults reset_frame) during frame ") and \
        "of utterance noise on board" in note, note
    assert m["link_faults"]["query"] == f"reset_frame={frame}&seed=0"
    from bench.cli.show import run_summary_doc  # `bench show` / `bench run --json` carry it too

    assert run_summary_doc(run)["images"][image]["device_resets"] == [note]
    # every figure equal; the raw ticks of mps2-an386's 25 MHz timer may differ by one (3.2 ticks an
    # instruction under -icount shift=7: which tick edges a frame spans depends on what ran since
    # boot); the instructions they convert to may not
    a, b = frames(run, image), frames(clean, image)
    assert [{k: v for k, v in r.items() if k != "total_ticks"} for r in a] == \
        [{k: v for k, v in r.items() if k != "total_ticks"} for r in b]
    tick_slack = 1 if "an386" in image else 0
    assert max(abs(r["total_ticks"] - s["total_ticks"]) for r, s in zip(a, b, strict=True)) <= tick_slack
    for u in synth_utts:
        assert np.array_equal(run.read_audio(image, u.id), clean.read_audio(image, u.id))
    if target != ND_PYOCD:
        assert "system_reset through QMP" in (Path(run.path) / image / "driver.log").read_text()
