"""The mpgru search's instructions meter on an image of another family (docs/errors.md): refused from
the image's HELLO with what to pass instead, and the emulator it started is stopped again."""

from __future__ import annotations

import pytest

from bench.errors import TargetError
from bench.families import mpgru as fam
from bench.targets.drivers.qemu import QemuDriver

pytestmark = pytest.mark.qemu


def test_a_meter_on_an_image_of_another_family_is_refused_and_stopped(monkeypatch):
    started: list[QemuDriver] = []
    real_start = QemuDriver.start

    def start(self, image):
        started.append(self)
        return real_start(self, image)

    monkeypatch.setattr(QemuDriver, "start", start)
    with pytest.raises(TargetError) as e:
        fam.TargetMeter("passthrough-an386", "qemu-mps2-an386")
    msg = str(e.value)
    assert msg.startswith("passthrough-an386 is a passthrough image, not mpgru: pass --image an mpgru image")
    assert len(started) == 1 and (started[0].proc is None or started[0].proc.poll() is not None)
