"""Is this file a Cortex-M image the target can boot? Checked before anything is started or flashed.

`check_cortex_m_elf(path, cpu)` parses the ELF with pyelftools and refuses, with an ImageError
that says what is wrong and what to do:

* a file that is missing, empty or not an ELF;
* a class, byte order or machine other than 32-bit little-endian ARM (an x86 or AArch64 binary);
* a truncated file (a program header, a loadable segment or the section header table reaches
  past the end of the file);
* no loadable segment with data;
* an entry point with bit 0 clear (ARM state: a Cortex-M runs Thumb code only) or outside the
  image's executable load segments;
* a vector table whose reset vector (word 1 of the lowest executable segment; what the core
  really boots from) is not a Thumb address inside the image;
* an image built for an A/R-profile core, or for a newer M-profile architecture than the
  target's `cpu` (an Armv8.1-M image on a Cortex-M4), read from the .ARM.attributes section
  where the toolchain wrote one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ImageError

ELF_MAGIC = b"\x7fELF"
PF_X = 0x1

# Tag_CPU_arch values (ARM ELF ABI addenda) of M-profile architectures
ARCH_NAMES = {10: "Armv7(-M)", 11: "Armv6-M", 12: "Armv6S-M", 13: "Armv7E-M", 16: "Armv8-M.mainline",
              17: "Armv8-M.baseline", 21: "Armv8.1-M.mainline"}
_V6M = {11, 12}
_V7M = _V6M | {10}
_V7EM = _V7M | {13}
_V8MB = _V6M | {17}
_V8MM = _V7EM | {16, 17}
_V81M = _V8MM | {21}
CPU_ARCHS = {
    "cortex-m0": _V6M, "cortex-m0plus": _V6M, "cortex-m0+": _V6M, "cortex-m1": _V6M,
    "cortex-m3": _V7M, "cortex-m4": _V7EM, "cortex-m4f": _V7EM, "cortex-m7": _V7EM, "cortex-m7f": _V7EM,
    "cortex-m23": _V8MB, "cortex-m33": _V8MM, "cortex-m33f": _V8MM, "cortex-m35p": _V8MM,
    "cortex-m55": _V81M, "cortex-m85": _V81M,
}


@dataclass(frozen=True)
class ElfSummary:
    path: Path
    entry: int
    segments: tuple[tuple[int, int, int, int], ...]  # (p_vaddr, p_memsz, p_filesz, p_flags) of PT_LOADs
    reset_vector: int | None
    cpu_arch: int | None  # Tag_CPU_arch, when the ELF has .ARM.attributes
    profile: str | None  # Tag_CPU_arch_profile: "M", "A", "R", or None

    def executable(self, addr: int) -> bool:
        return any(v <= addr < v + m and f & PF_X for v, m, _, f in self.segments)


def _attributes(elf: Any) -> tuple[int | None, str | None]:
    sec = elf.get_section_by_name(".ARM.attributes")
    if sec is None:
        return None, None
    arch = profile = None
    try:
        for sub in sec.iter_subsections():
            for ss in sub.iter_subsubsections():
                for a in ss.iter_attributes():
                    if a.tag == "TAG_CPU_ARCH":
                        arch = int(a.value)
                    elif a.tag == "TAG_CPU_ARCH_PROFILE":
                        v = int(a.value)
                        profile = chr(v) if v else None
    except Exception:  # noqa: BLE001 -- attributes are advisory: an odd section is not a broken image
        return None, None
    return arch, profile


def check_cortex_m_elf(path: Path, cpu: str | None = None, what: str | None = None) -> ElfSummary:
    """Parse and check `path` (module doc); `cpu` is the target's core (e.g. "cortex-m4f");
    `what` names the image in messages (default: the path)."""
    from elftools.elf.elffile import ELFFile

    p = Path(path)
    name = what or str(p)
    rebuild = "rebuild it (`bench images build`) or pass the .elf the firmware build produced"
    if not p.is_file():
        raise ImageError(f"image {name} does not exist ({p}); build it with `bench images build` or fix the path")
    raw = p.read_bytes()
    if len(raw) < 52 or raw[:4] != ELF_MAGIC:
        got = "is empty" if not raw else f"is not an ELF file (starts with {raw[:4]!r})"
        raise ImageError(f"{name} {got}; {rebuild}")
    bits = {1: "32", 2: "64"}.get(raw[4], "?")
    order = {1: "little", 2: "big"}.get(raw[5], "?")
    machine = struct.unpack_from(">H" if order == "big" else "<H", raw, 18)[0]
    if machine != 40:  # EM_ARM
        names = {3: "x86", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 8: "MIPS"}
        raise ImageError(f"{name} is an ELF for {names.get(machine, f'machine {machine}')} (e_machine {machine}), "
                         "not for ARM (40): it cannot run on a Cortex-M target; build it with arm-none-eabi-gcc "
                         "for the board's core")
    if bits != "32" or order != "little":
        raise ImageError(f"{name} is a {bits}-bit {order}-endian ARM ELF, not a 32-bit little-endian image for a "
                         "Cortex-M core; build it for the board's core (arm-none-eabi-gcc -mcpu=... -mthumb)")
    try:
        import io

        elf = ELFFile(io.BytesIO(raw))
        shoff, shnum, shentsize = elf["e_shoff"], elf["e_shnum"], elf["e_shentsize"]
        if shoff and shoff + shnum * shentsize > len(raw):
            raise ImageError(f"{name} is truncated ({len(raw)} bytes; its section headers end at byte "
                             f"{shoff + shnum * shentsize}); {rebuild}")
        phoff, phnum, phentsize = elf["e_phoff"], elf["e_phnum"], elf["e_phentsize"]
        if phoff + phnum * phentsize > len(raw):
            raise ImageError(f"{name} is truncated (its program headers end at byte "
                             f"{phoff + phnum * phentsize}, the file has {len(raw)}); {rebuild}")
        segs = []
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            if seg["p_offset"] + seg["p_filesz"] > len(raw):
                raise ImageError(f"{name} is truncated (the segment at 0x{seg['p_vaddr']:08x} needs bytes up to "
                                 f"{seg['p_offset'] + seg['p_filesz']}, the file has {len(raw)}); {rebuild}")
            segs.append((int(seg["p_vaddr"]), int(seg["p_memsz"]), int(seg["p_filesz"]), int(seg["p_flags"]),
                         int(seg["p_offset"])))
        entry = int(elf["e_entry"])
        arch, profile = _attributes(elf)
    except ImageError:
        raise
    except Exception as e:  # pyelftools reports damage as ELFError, struct/construct errors...
        raise ImageError(f"{name} is not a readable ELF file ({type(e).__name__}: {e}); {rebuild}") from e
    if not any(fs > 0 for _, _, fs, _, _ in segs):
        raise ImageError(f"{name} has no loadable segment with data: nothing to run; {rebuild}")
    summary_segs = tuple(sorted((v, m, fs, f) for v, m, fs, f, _ in segs))
    if profile is not None and profile not in ("M", "S"):
        raise ImageError(f"{name} was built for an Arm {profile}-profile core (.ARM.attributes), not for a "
                         f"Cortex-M; build it with -mcpu={cpu or 'cortex-m4'} -mthumb")
    allowed = CPU_ARCHS.get((cpu or "").lower())
    if arch is not None and allowed is not None and arch not in allowed and arch in ARCH_NAMES:
        raise ImageError(f"{name} was built for {ARCH_NAMES[arch]} (.ARM.attributes Tag_CPU_arch {arch}), which a "
                         f"{cpu} cannot run; build it with -mcpu={cpu.removesuffix('f') if cpu else ''} for this "
                         "target, or pick a target with that core")
    s = ElfSummary(path=p, entry=entry, segments=summary_segs, reset_vector=None, cpu_arch=arch, profile=profile)
    if not entry & 1:
        raise ImageError(f"{name}: entry point 0x{entry:08x} has bit 0 clear (ARM state), but a Cortex-M core runs "
                         "Thumb code only: the image was built for another core; build it with -mthumb "
                         f"-mcpu={cpu or 'cortex-m4'}")
    if not s.executable(entry & ~1):
        raise ImageError(f"{name}: entry point 0x{entry:08x} lies outside the image's executable load segments "
                         f"({_ranges(summary_segs)}); the linker script or the build is broken: {rebuild}")
    # the vector table: the core boots from its reset vector (word 1), not from e_entry
    execs = sorted((v, fs, off) for v, _, fs, f, off in segs if f & PF_X and fs >= 8)
    reset = None
    if execs:
        _, _, off = execs[0]
        reset = struct.unpack_from("<I", raw, off + 4)[0]
        if not reset & 1 or not s.executable(reset & ~1):
            why = "has bit 0 clear (ARM state)" if not reset & 1 else "lies outside the image's executable segments"
            raise ImageError(f"{name}: the reset vector 0x{reset:08x} (word 1 of the vector table at "
                             f"0x{execs[0][0]:08x}) {why}: the core would lock up at once; check the vector table "
                             f"and the linker script ({rebuild})")
    return ElfSummary(path=p, entry=entry, segments=summary_segs, reset_vector=reset, cpu_arch=arch, profile=profile)


def _ranges(segs: tuple[tuple[int, int, int, int], ...]) -> str:
    return ", ".join(f"0x{v:08x}-0x{v + m:08x}{' x' if f & PF_X else ''}" for v, m, _, f in segs) or "none"
