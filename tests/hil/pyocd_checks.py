"""The checks of the pyOCD path, shared by the emulated board (tests/qemu/test_pyocd_emulated.py,
target qemu-netduinoplus2-pyocd) and a real one (tests/hil/test_pyocd_board.py, BENCH_HIL_TARGET):
the same code runs pyOCD's ConnectHelper, session, target, programming, verify and reset against
QEMU's gdbstub in CI and against a probe on the bench.

Not a test module itself (no test_ prefix); both test files put this folder on sys.path.
"""

from __future__ import annotations

import json
import struct
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import DeviceError, ImageError, TargetError
from bench.images import load_manifest, verify_image
from bench.link import messages as m
from bench.link.session import Session
from bench.paths import repo_root
from bench.targets import load_target
from bench.targets.drivers.pyocd import PyocdDriver
from bench.targets.spec import TargetSpec

# the fault test app of tests/qemu/test_netduinoplus2.py, for any board with the stm32f4/nrf52840 port
FAULT_APP = r"""
#include <stdint.h>
#include "bench_port.h"
#include "board.h"

int main(void)
{
    board_puts("fault-test ready\r\n");
    uint8_t c = 0;
    while (bench_port_read(&c, 1) == 0) {
        bench_port_idle();
    }
    if (c == 'b') {
        return (int)*(volatile uint32_t *)0x30000000u; /* unmapped: precise BusFault */
    }
    if (c == 'u') {
        __asm volatile("udf #0"); /* UsageFault, UNDEFINSTR */
    }
    if (c == 'd') {
        volatile int zero = 0;
        return 10 / zero; /* UsageFault, DIVBYZERO (CCR.DIV_0_TRP set by the port) */
    }
    return 0;
}
"""

# how: (what the firmware's ERROR reply must say, what the debug port's decoding must say)
FAULTS = {
    "b": (["FAULT BusFault", "CFSR=00008200", "BFAR=30000000"], ["in the BusFault handler", "PRECISERR BFARVALID",
                                                                  "BFAR=30000000"]),
    "u": (["FAULT UsageFault", "CFSR=00010000"], ["in the UsageFault handler", "UsageFault: UNDEFINSTR"]),
    "d": (["FAULT UsageFault", "CFSR=02000000"], ["in the UsageFault handler", "UsageFault: DIVBYZERO"]),
}


# -- target copies ------------------------------------------------------------------------------------------

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def dump_toml(data: dict[str, Any]) -> str:
    """A target TOML (scalars, tables, one level of sub-tables) as text."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        lines += ["", f"[{name}]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for sub, st in table.items():
            if isinstance(st, dict):
                lines += ["", f"[{name}.{sub}]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in st.items()]
    return "\n".join(lines) + "\n"


def target_copy(target: str | TargetSpec, folder: Path, **pyocd: Any) -> Path:
    """A copy of a target's TOML with [pyocd] keys replaced (None removes one); returns its path."""
    spec = target if isinstance(target, TargetSpec) else load_target(target)
    assert spec.path is not None
    data = tomllib.loads(Path(spec.path).read_text())
    table = dict(data.get("pyocd", {}))
    for k, v in pyocd.items():
        if v is None:
            table.pop(k, None)
        else:
            table[k] = v
    data["pyocd"] = table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.name}.toml"
    path.write_text(dump_toml(data))
    return path


# -- images -------------------------------------------------------------------------------------------------

def board_image(board: str, family: str = "passthrough") -> Any:
    for e in load_manifest():
        if e.board == board and e.name.startswith(family + "-"):
            return e
    pytest.skip(f"no {family} image for board {board} in the manifest")


def other_board_image(board: str) -> Any:
    for e in load_manifest():
        if e.board != board:
            return e
    pytest.skip("the manifest has images for one board only")


def elf_bytes(segments: list[tuple[int, bytes]], entry: int) -> bytes:
    """A 32-bit little-endian ARM ELF with program headers only."""
    ehsize, phentsize = 52, 32
    off = ehsize + phentsize * len(segments)
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    hdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, entry, ehsize, 0, 0x0500_0400, ehsize, phentsize,
                              len(segments), 40, 0, 0)
    phdrs, blobs = b"", b""
    for addr, data in segments:
        phdrs += struct.pack("<IIIIIIII", 1, off, addr, addr, len(data), len(data), 5, 4)
        off += len(data)
        blobs += data
    return hdr + phdrs + blobs


def too_large_image(board: str, folder: Path) -> Path:
    """An image for the board's flash base that is larger than any part the bench knows (4 MiB)."""
    from bench.targets.drivers.pyocd import inspect_elf

    base = inspect_elf(board_image(board).path).segments[0][0]
    p = folder / "too-large.elf"
    p.write_bytes(elf_bytes([(base, bytes(4 << 20))], base | 1))
    return p


def build_fault_app(board: str, folder: Path) -> Path:
    """The fault test app linked for a board of firmware/images.toml, built like an image."""
    from bench.imagebuild import CC, COMMON_CFLAGS, LDFLAGS

    root = repo_root()
    cfg = tomllib.loads((root / "firmware/images.toml").read_text())["boards"][board]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fault_app.c").write_text(FAULT_APP)
    elf = folder / f"fault_app-{board}.elf"
    cmd = [CC, *cfg["cflags"], *COMMON_CFLAGS, *[f"-I{root / i}" for i in cfg["include"]],
           f"-I{root / 'firmware/agent'}", *LDFLAGS, f"-T{root / cfg['ldscript']}", "-o", str(elf),
           *[str(root / s) for s in cfg["sources"]], str(root / "firmware/agent/bench_agent.c"),
           str(folder / "fault_app.c")]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    return elf


def build_misbehaving_images(folder: Path, board: str, variants: dict[str, str]) -> Path:
    """Images of firmware/tests/misbehaving_model.c (a passthrough that faults or hangs on purpose) for
    `board`, one per `variants` entry (image name -> cflag, e.g. "-DHANG_AT=70u"), in a manifest
    folder for `--manifest-dir`."""
    from bench.imagebuild import build_all, write_manifest

    src = repo_root() / "firmware/tests/misbehaving_model.c"
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "images.toml"
    spec.write_text("".join(
        f'[[image]]\nname = "{name}"\nboard = "{board}"\napp = "agent"\nmodel_family = "passthrough"\n'
        f'sources = ["{src}"]\ncflags = ["{flag}"]\ndescription = "passthrough misbehaving on purpose ({flag})"\n\n'
        for name, flag in variants.items()))
    images = folder / "images"
    write_manifest(build_all(images, spec_path=spec), images)
    return images


# -- the checks ------------------------------------------------------------------------------------------------

def driver_log(run: Any, image: str) -> str:
    p = run.image_dir(image) / "driver.log"
    return p.read_text() if p.is_file() else ""


def check_refusals(target: TargetSpec, folder: Path) -> None:
    """A wrong probe uid, an image for another board and one too large for the part: each a clear
    error before anything is programmed."""
    wrong = load_target(str(target_copy(target, folder / "wrong", probe_uid="0000DEADBEEF0000BADBAD")))
    with pytest.raises(TargetError, match=r"debug probe '0000DEADBEEF0000BADBAD' is not connected.*Probes pyOCD "
                                          r"sees.*probe_uid"):
        PyocdDriver(wrong, folder / "w").start(board_image(target.board).path)

    other = other_board_image(target.board)
    with pytest.raises(ImageError, match=rf"built for board '{other.board}', but target .* is a '{target.board}'"):
        verify_image(other, target)
    # the driver's own check on an ELF handed to it directly: an an386 image loads at 0x00000000,
    # outside this part's flash (before the probe is opened)
    an386 = next((e for e in load_manifest() if e.board == "mps2-an386"), None)
    if an386 is not None:
        d = PyocdDriver(target, folder / "o")
        with pytest.raises(ImageError, match=r"is not in the flash of .*built for another board"):
            d.start(an386.path)
        d.stop()

    d = PyocdDriver(target, folder / "l")
    with pytest.raises(ImageError, match=r"loads 4194304 bytes at 0x[0-9a-f]{8}, but 0x[0-9a-f]{8} is not in the "
                                         r"flash of"):
        d.start(too_large_image(target.board, folder))
    d.stop()


def wait_for(t: Any, text: bytes, seconds: float = 10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while text not in seen:
        assert time.monotonic() < deadline, f"{text!r} not seen; got {seen!r}"
        seen += t.read(4096, 0.05)
    return seen


def check_fault_reports(target: TargetSpec, elf: Path, folder: Path, hows: str = "bud") -> str:
    """The fault app flashed by pyOCD: each fault reaches the host as a DeviceError carrying the
    firmware's fault registers, and the debug port's post-mortem names the board and decodes them."""
    d = PyocdDriver(target, folder / "fault")
    try:
        d.start(elf)
        t = d.open_link()
        for how in hows:
            d.reset()  # the boot line arrives on the open link
            wait_for(t, b"fault-test ready")
            t.write(how.encode())
            s = Session(t, timeout=1.0, retries=2)
            with pytest.raises(DeviceError) as e:
                s.request(m.Msg.STATS_REQ)
            assert e.value.code == m.ErrorCode.INTERNAL
            link_words, port_words = FAULTS[how]
            for w in link_words:
                assert w in e.value.text, e.value.text
            report = d.inspect()
            assert report.in_fault, report.describe()
            text = report.describe()
            assert f"board {d.probe_uid}" in text, text
            for w in port_words:
                assert w in text, text
    finally:
        d.stop()
    log = d.logs()
    assert f"FAULT on board {d.probe_uid}" in log, log
    return log


def passthrough_ok(run: Any, image: str, utts: list[Any]) -> None:
    assert run.read_meta()["status"] == "done", run.read_meta()
    for u in utts:
        assert np.array_equal(run.read_audio(image, u.id), u.noisy), u.id
