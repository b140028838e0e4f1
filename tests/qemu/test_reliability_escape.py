"""A guest cannot touch the host (#16): built here from tests/reliability_guests/escape.c, it tries to
write a file outside its work directory, append to its own ELF, read /etc/passwd and run a shell
command through semihosting. Inside the bwrap sandbox every attempt fails and only its link folder is
writable; the same image unconfined (sandbox = "none") does all of it, so the test can fail."""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path

import pytest

from bench.imagebuild import build_all
from bench.targets import load_target
from bench.targets.drivers.qemu import QemuDriver, sandbox

pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bwrap (bubblewrap) not installed")]

GUESTS = "tests/reliability_guests"


@pytest.fixture(scope="module")
def escape(tmp_path_factory):
    """The escape guest, its host target folder /tmp/<random>/ (outside any work directory) and its ELF."""
    d = tmp_path_factory.mktemp("escape")
    outside = Path("/tmp") / f"bench-escape-{secrets.token_hex(6)}"
    outside.mkdir()
    images = d / "images"
    spec = d / "images.toml"
    spec.write_text(f"""
[[image]]
name = "escape-an386"
board = "mps2-an386"
app = "raw"
model_family = "none"
sources = ["{GUESTS}/escape.c"]
cflags = ['-DESCAPE_PATH="{outside}/pwned"', '-DIMAGE_PATH="{images}/escape-an386.elf"',
          '-DSYSTEM_CMD="touch {outside}/pwned-by-system"']
""")
    (built,) = build_all(images, spec_path=spec)
    yield outside, built.entry.path
    for p in outside.iterdir():
        p.unlink()
    outside.rmdir()


def _run(tmp_path: Path, elf: Path, target: str, **opts: object) -> tuple[dict[str, int], QemuDriver]:
    t = load_target(target)
    t = dataclasses.replace(t, driver_options={**t.driver_options, **opts})
    d = QemuDriver(t, tmp_path / "work")
    code, text = d.run_to_exit(elf, timeout=60)
    assert code == 0, (text, d.logs())
    line = next(ln for ln in text.splitlines() if ln.startswith("escape:"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", line)}, d


@pytest.mark.parametrize("target", ["qemu-mps2-an386", "qemu-mps2-an386-sh"])
def test_guest_cannot_touch_the_host_through_semihosting(tmp_path, escape, target):
    outside, elf = escape
    before = elf.read_bytes()
    got, d = _run(tmp_path, elf, target)
    assert got["outside"] < 0, "SYS_OPEN of a host path outside the work directory succeeded"
    assert got["image"] < 0 and elf.read_bytes() == before, "the guest could write its own ELF"
    assert got["passwd"] < 0, "the guest could read /etc/passwd"
    assert got["system"] != 0, "SYS_SYSTEM ran a host command"
    assert not any(outside.iterdir()), f"the guest wrote {list(outside.iterdir())}"
    assert got["inside"] == 1 and (d.link_dir / "inside.txt").read_text() == "written by the guest\n"
    assert "confined by bwrap: the guest may write only in" in d.logs()  # the driver says how it ran


def test_unconfined_the_same_guest_escapes(tmp_path, escape):
    """The control: without the sandbox the guest does write outside (so the test above can fail)."""
    outside, elf = escape
    before = elf.read_bytes()
    try:
        got, d = _run(tmp_path, elf, "qemu-mps2-an386", sandbox="none")
    finally:
        elf.write_bytes(before)  # it appended to its own ELF
    assert got["outside"] == 1 and (outside / "pwned").is_file() and got["image"] == 1
    assert 'QEMU runs unconfined (sandbox = "none"' in d.logs()
    (outside / "pwned").unlink()
    (outside / "pwned-by-system").unlink(missing_ok=True)
