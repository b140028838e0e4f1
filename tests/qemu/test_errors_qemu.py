"""The error catalogue (#16, docs/errors.md), errors that need a running image: a --window larger than
the image's reply cache, a target whose counter does not match the image's HELLO, and a QEMU that
exits at once (a bad argument in the target's [qemu] table), each through the public path (Runner on
the shipped images, QemuDriver) and checked for what went wrong and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import TargetError
from bench.images import find_image
from bench.runner.run import Runner, RunOptions
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver

pytestmark = pytest.mark.qemu

IMG = "passthrough-an386"


def _target(tmp_path: Path, old: str, new: str, name: str = "qemu-mps2-an386-sh") -> str:
    from bench.paths import repo_root

    text = (repo_root() / "targets" / f"{name}.toml").read_text()
    assert old in text
    p = tmp_path / f"{name}-changed.toml"
    p.write_text(text.replace(old, new))
    return str(p)


def _failed_with(tmp_path: Path, **opts: object) -> str:
    run = Runner(RunOptions(images=(IMG,), limit=1, metrics=False, **opts)).start()  # type: ignore[arg-type]
    im = run.read_meta()["images"][IMG]
    assert im["status"] == "failed", im
    return str(im["error"])


def test_window_beyond_the_reply_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    err = _failed_with(tmp_path, window=64)
    assert "--window 64 exceeds the image's reply cache (8); run with --window 8 or less" in err


def test_target_counter_that_does_not_match_the_image(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    target = _target(tmp_path, "timer_hz = 25_000_000", "timer_hz = 50_000_000")
    err = _failed_with(tmp_path, target=target)
    assert ("the image counts kind 0 at 25000000 Hz, but target qemu-mps2-an386-sh converts kind 0 (instructions) "
            "at 50000000 Hz") in err
    assert "wrong target for this image, or the board's clock was not configured" in err


def test_qemu_that_exits_at_once(tmp_path):
    t = load_target(_target(tmp_path, 'machine = "mps2-an386"',
                            'machine = "mps2-an386"\nextra_args = ["-no-such-flag"]', name="qemu-mps2-an386"))
    d = QemuDriver(t, tmp_path / "w")
    try:
        with pytest.raises(TargetError, match=r"QEMU stopped while running .*passthrough-an386\.elf.*-no-such-flag"):
            d.start(find_image(IMG).path)
    finally:
        d.stop()
