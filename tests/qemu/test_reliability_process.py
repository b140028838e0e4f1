"""When QEMU dies, the bench says why (#16): a guest that locks up, one that exits at once, a QEMU killed
from outside, each reported with the real cause from qemu.stderr.log (not "Connection reset by peer"),
and the device's last text, sent without a frame delimiter, in the error and in console.log. The guests
are built here from tests/reliability_guests/ (app = "raw": startup and UART, no agent)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from bench.errors import TargetError
from bench.imagebuild import build_all, write_manifest
from bench.images import find_image
from bench.link.session import Session
from bench.runner.run import Runner, RunOptions
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver

pytestmark = pytest.mark.qemu

GUESTS = "tests/reliability_guests"
TARGETS = ["qemu-mps2-an386-sh", "qemu-mps2-an386"]


@dataclasses.dataclass
class Utt:
    id: str
    noisy: np.ndarray
    sample_rate: int = 16000
    clean: np.ndarray | None = None


@pytest.fixture(scope="module")
def guests(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("guests")
    spec = d / "images.toml"
    spec.write_text("".join(f"""
[[image]]
name = "{name}-an386"
board = "mps2-an386"
app = "raw"
model_family = "none"
sources = ["{GUESTS}/{name}.c"]
""" for name in ("lockup", "quit")))
    images = d / "images"
    write_manifest(build_all(images, spec_path=spec), images)
    return images


def _run(guests: Path, target: str, image: str):
    opts = RunOptions(target=target, images=(image,), manifest_dir=str(guests), metrics=False, timeout=1.0)
    run = Runner(opts, utterances=[Utt("u", np.zeros(1600, np.int16))]).start()
    meta = run.read_meta()
    return meta, meta["images"][image]["error"] or "", run


@pytest.mark.parametrize("target", TARGETS)
def test_a_lockup_is_reported_with_qemus_reason_and_the_devices_last_words(results_dir, guests, target):
    meta, err, run = _run(guests, target, "lockup-an386")
    assert meta["status"] == "failed" and meta["images"]["lockup-an386"]["status"] == "failed"
    assert "the emulated core locked up" in err and "qemu: fatal: Lockup: can't escalate" in err, err
    assert "Connection reset" not in err and "R00=" not in err  # the cause, not the symptom; no register dump
    assert "Device output: guest: about to lock up" in err  # text without a frame delimiter
    assert "guest: about to lock up" in (run.image_dir("lockup-an386") / "console.log").read_text()
    assert "qemu: fatal: Lockup" in (run.image_dir("lockup-an386") / "driver.log").read_text()


@pytest.mark.parametrize("target", TARGETS)
def test_an_image_that_exits_at_once_is_reported_as_such(results_dir, guests, target):
    meta, err, run = _run(guests, target, "quit-an386")
    assert "QEMU exited with status 7: the image ended itself" in err, err
    assert "guest: exiting at once" in err
    assert "guest: exiting at once" in (run.image_dir("quit-an386") / "console.log").read_text()


def _qemu_children() -> list[int]:
    """qemu-system-arm processes below this one (through the bwrap sandbox too)."""
    kids: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            names[int(d)] = stat[stat.index("(") + 1: stat.rindex(")")]
            kids.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(d))
    out, todo = [], [os.getpid()]
    while todo:
        for c in kids.get(todo.pop(), []):
            todo.append(c)
            if names.get(c, "").startswith("qemu-system-arm"):
                out.append(c)
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_qemu_killed_mid_stream_is_reported_as_killed(tmp_path, target):
    d = QemuDriver(load_target(target), tmp_path)
    d.start(find_image("passthrough-an386").path)
    try:
        s = Session(d.open_link(), timeout=1.0)
        h = s.hello()
        hops = np.zeros((2000, h.hop_len), np.int16)
        with pytest.raises(TargetError) as err:
            for i, _ in enumerate(s.process_stream(hops)):
                if i == 20:
                    (pid,) = _qemu_children()
                    os.kill(pid, signal.SIGKILL)
        msg = str(err.value)
        assert "QEMU was killed by SIGKILL" in msg and "bench run --resume" in msg, msg
    finally:
        d.stop()
    assert not _qemu_children()


def test_stop_leaves_no_emulator_behind(tmp_path):
    d = QemuDriver(load_target("qemu-mps2-an386-sh"), tmp_path)
    d.start(find_image("passthrough-an386").path)
    Session(d.open_link()).hello()
    assert len(_qemu_children()) == 1
    t0 = time.monotonic()
    d.stop()
    assert not _qemu_children() and time.monotonic() - t0 < 5
