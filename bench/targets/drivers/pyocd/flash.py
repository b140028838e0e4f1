"""Programming: the image through pyOCD's FileProgrammer, verified by reading the flash back;
with [pyocd] skip_unchanged, a flash that already holds the image byte for byte is left alone.

The skip check reads the image's identity line first (the agent's boot line "bench-agent <image>
<build id>", a string in every bench image): a board holding another build is found with one
small read. Only when the identity matches is the whole image read back and compared, so that a
skip is never taken on a half-programmed or altered flash."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from bench.errors import TargetError
from bench.targets.drivers.pyocd.elfcheck import ElfImage


def erase_hint(target_type: str) -> str:
    return (f"erase it: `pyocd erase --chip -t {target_type}` (`--mass` for a read-protected part)")


def program(api: SimpleNamespace, session: Any, elf: ElfImage, target_type: str, probe_uid: str,
            note: Callable[[str], None]) -> None:
    t0 = time.monotonic()
    try:
        api.FileProgrammer(session).program(str(elf.path), file_format="elf")
    except Exception as e:
        raise TargetError(f"programming {elf.path.name} through {probe_uid} failed "
                          f"({type(e).__name__}: {e}); if the flash is write-protected, "
                          f"{erase_hint(target_type)}") from e
    dt = time.monotonic() - t0
    note(f"programmed {elf.nbytes} bytes in {len(elf.segments)} segment(s) from {elf.path} "
         f"(sha256 {elf.sha256[:16]}) in {dt:.2f} s")


def _read_back(target: Any, addr: int, size: int) -> bytes:
    try:
        return bytes(target.read_memory_block8(addr, size))
    except Exception as e:
        raise TargetError(f"reading flash back at 0x{addr:08x} failed ({e}); "
                          "try a lower [pyocd] frequency") from e


def first_difference(elf: ElfImage, target: Any) -> tuple[int, bytes, bytes] | None:
    """(address, read, expected) of the first byte where the flash differs from the image; None
    when it holds every loadable segment exactly."""
    for addr, data in elf.segments:
        got = _read_back(target, addr, len(data))
        if got != data:
            n = min(len(got), len(data))
            off = next((i for i in range(n) if got[i] != data[i]), n)
            return addr + off, got[off:off + 4], data[off:off + 4]
    return None


def verify(session: Any, elf: ElfImage, target_type: str, note: Callable[[str], None]) -> None:
    t0 = time.monotonic()
    diff = first_difference(elf, session.target)
    if diff is not None:
        addr, got, want = diff
        raise TargetError(
            f"verify failed: flash at 0x{addr:08x} reads back {got.hex() or 'nothing'} instead of "
            f"{want.hex()} after programming {elf.path.name}; the flash may be protected (erase it: `pyocd "
            f"erase --chip -t {target_type}`, `--mass` if read-protected) or the SWD link unreliable "
            "(lower [pyocd] frequency)")
    note(f"verified {elf.nbytes} bytes by read-back in {time.monotonic() - t0:.2f} s")


IDENTITY_MARK = b"bench-agent "


def identity(elf: ElfImage) -> tuple[int, bytes] | None:
    """(address, text) of the image's identity line "bench-agent <image> <build id>", if it has one."""
    for addr, data in elf.segments:
        i = data.find(IDENTITY_MARK)
        if i < 0:
            continue
        ends = [j for j in (data.find(b"\r", i), data.find(b"\n", i), data.find(b"\0", i)) if j > i]
        end = min(ends) if ends else min(len(data), i + 96)
        return addr + i, data[i:end]
    return None


def already_holds(session: Any, elf: ElfImage, note: Callable[[str], None]) -> bool:
    """Whether the flash already holds this image byte for byte (then programming is skipped)."""
    t0 = time.monotonic()
    ident = identity(elf)
    if ident is not None:
        addr, text = ident
        got = _read_back(session.target, addr, len(text))
        if got != text:
            shown = (got.decode() if all(32 <= b < 127 for b in got)
                     else got[:16].hex() + ("..." if len(got) > 16 else ""))
            note(f"flash does not hold {text.decode(errors='replace')!r} (at 0x{addr:08x} it reads {shown!r}): "
                 "programming")
            return False
    diff = first_difference(elf, session.target)
    if diff is not None:
        note(f"flash differs from {elf.path.name} at 0x{diff[0]:08x}: programming")
        return False
    what = f"build {text.decode(errors='replace').split()[-1]} " if ident is not None else ""
    note(f"flash already holds {elf.path.name} ({what}sha256 {elf.sha256[:16]}, {elf.nbytes} bytes compared in "
         f"{time.monotonic() - t0:.2f} s): programming skipped")
    return True
