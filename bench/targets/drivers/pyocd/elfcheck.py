"""The image: parse the ELF before any probe is touched, and check it fits the target's flash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ImageError

ELF_MAGIC = b"\x7fELF"
EM_ARM = 40


@dataclass(frozen=True)
class ElfImage:
    """What will be programmed: the PT_LOAD segments with file data, at their load addresses."""

    path: Path
    entry: int
    segments: tuple[tuple[int, bytes], ...]  # (p_paddr, data)
    sha256: str

    @property
    def nbytes(self) -> int:
        return sum(len(d) for _, d in self.segments)


def inspect_elf(path: Path) -> ElfImage:
    """Parse an image as a 32-bit little-endian ARM ELF with loadable data, or raise ImageError."""
    from elftools.elf.elffile import ELFFile

    p = Path(path)
    if not p.is_file():
        raise ImageError(f"image {p} does not exist; build it (`bench images build`) or fix the path")
    raw = p.read_bytes()
    if raw[:4] != ELF_MAGIC:
        raise ImageError(f"{p} is not an ELF file (starts with {raw[:4]!r}); the pyOCD driver flashes "
                         "ELF images only: pass the .elf the firmware build produced")
    rebuild = "rebuild it with `bench images build`"
    try:
        with open(p, "rb") as f:
            elf = ELFFile(f)
            if elf.elfclass != 32 or not elf.little_endian or elf["e_machine"] != "EM_ARM":
                raise ImageError(
                    f"{p} is a {elf.elfclass}-bit {'little' if elf.little_endian else 'big'}-endian ELF "
                    f"for {elf['e_machine']}, not a 32-bit little-endian ARM image for a Cortex-M board; "
                    "build it for the board's core")
            segments = []
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0:
                    data = seg.data()
                    if len(data) != seg["p_filesz"]:
                        raise ImageError(f"{p} is truncated (a segment at 0x{seg['p_paddr']:08x} is "
                                         f"cut short); {rebuild}")
                    segments.append((int(seg["p_paddr"]), bytes(data)))
            entry = int(elf["e_entry"])
    except ImageError:
        raise
    except Exception as e:  # pyelftools reports damage as ELFError, struct/construct errors...
        raise ImageError(f"{p} is not a readable ELF file ({type(e).__name__}: {e}); {rebuild}") from e
    if not segments:
        raise ImageError(f"{p} has no loadable segment with data: nothing to flash; {rebuild}")
    return ElfImage(path=p, entry=entry, segments=tuple(sorted(segments)),
                    sha256=hashlib.sha256(raw).hexdigest())


def check_image_fits(target: Any, elf: ElfImage, target_type: str, note: Callable[[str], None]) -> None:
    """Every loadable segment must lie in the target's flash, or pyOCD would skip it silently."""
    mm = getattr(target, "memory_map", None)
    if mm is None:
        note("no memory map for this target: cannot check the image's load addresses")
        return
    flash = [r for r in mm if getattr(r, "is_flash", False)]
    for addr, data in elf.segments:
        a, end = addr, addr + len(data) - 1
        while a <= end:
            region = mm.get_region_for_address(a)
            if region is None or not region.is_flash:
                ranges = ", ".join(f"0x{r.start:08x}-0x{r.end:08x}" for r in flash) or "none"
                raise ImageError(
                    f"{elf.path.name} loads {len(data)} bytes at 0x{addr:08x}, but 0x{a:08x} is not in "
                    f"the flash of {target_type} (flash: {ranges}); the image was built for another "
                    "board or linker script: use an image built for this board")
            a = region.end + 1
