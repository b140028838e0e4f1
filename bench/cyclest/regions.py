"""The cm4cycles plugin's output: QEMU arguments, the marks file, and per-region deltas.

File format (little-endian), written by firmware/qemu_plugin/cm4cycles.c:

* header, 32 bytes: ``b"CM4CYCLE"``, then u32 format (1), ws, timer address, flash base,
  flash size (0: all memory), and ``pimm | preg << 8 | pload << 16 | div << 24``;
* one 24-byte record per 32-bit load from the timer address: u64 cumulative
  ``cycles_est``, u64 cumulative executed instructions (both including that load),
  u64 PC of the load.

A region is what ran between two consecutive timer loads: from the instruction after the
first up to and including the second. Its figures are the differences of the two records.
"""

from __future__ import annotations

import dataclasses
import struct
from os import PathLike
from pathlib import Path

import numpy as np

from bench.cyclest.errors import CyclestError

MAGIC = b"CM4CYCLE"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8s6I")
RECORD = np.dtype([("cycles_est", "<u8"), ("instructions", "<u8"), ("pc", "<u8")])
DEFAULT_TIMER = 0x40000004  # mps2-an386: CMSDK timer0 VALUE (board.c bench_port_counter)


@dataclasses.dataclass(frozen=True)
class CostModel:
    """The plugin parameters a marks file was written with (its header)."""

    ws: int
    timer: int
    flash_base: int
    flash_size: int  # 0: all memory counts as flash
    p_imm: int
    p_reg: int
    p_load: int
    div: int

    def describe(self) -> str:
        flash = "all" if self.flash_size == 0 else f"0x{self.flash_base:08x}:0x{self.flash_size:x}"
        return (f"cm4-trm cycles_est (estimate): P={self.p_imm}/{self.p_reg}/{self.p_load} div={self.div} "
                f"ws={self.ws} flash={flash}")


@dataclasses.dataclass(frozen=True)
class Marks:
    """Cumulative figures at every timer load, in execution order."""

    model: CostModel
    cycles_est: np.ndarray  # uint64
    instructions: np.ndarray  # uint64
    pc: np.ndarray  # uint64: address of the timer load

    def __len__(self) -> int:
        return int(self.cycles_est.shape[0])


@dataclasses.dataclass(frozen=True)
class Regions:
    """One entry per pair of consecutive timer loads (``len(marks) - 1`` of them)."""

    model: CostModel
    cycles_est: np.ndarray  # int64
    instructions: np.ndarray  # int64
    start_pc: np.ndarray  # uint64: the timer load that opens the region
    end_pc: np.ndarray  # uint64: the timer load that closes it (and is counted in it)

    def __len__(self) -> int:
        return int(self.cycles_est.shape[0])


def parse_marks(data: bytes) -> Marks:
    if len(data) < HEADER.size:
        raise CyclestError(f"cycle-estimate file is {len(data)} bytes, shorter than its {HEADER.size}-byte header")
    magic, version, ws, timer, flash_base, flash_size, params = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CyclestError(f"not a cm4cycles output file (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise CyclestError(f"cm4cycles output format {version} is not supported (this bench reads {FORMAT_VERSION})")
    body = len(data) - HEADER.size
    if body % RECORD.itemsize:
        raise CyclestError(
            f"cycle-estimate file is truncated: {body} record bytes is not a multiple of {RECORD.itemsize} "
            "(was QEMU killed while writing?)"
        )
    model = CostModel(ws=ws, timer=timer, flash_base=flash_base, flash_size=flash_size, p_imm=params & 0xFF,
                      p_reg=(params >> 8) & 0xFF, p_load=(params >> 16) & 0xFF, div=(params >> 24) & 0xFF)
    rec = np.frombuffer(data, dtype=RECORD, offset=HEADER.size)
    return Marks(model=model, cycles_est=rec["cycles_est"].copy(), instructions=rec["instructions"].copy(),
                 pc=rec["pc"].copy())


def read_marks(path: str | PathLike[str]) -> Marks:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CyclestError(f"cannot read the cycle-estimate file {p}: {e}") from e
    return parse_marks(data)


def regions(marks: Marks) -> Regions:
    """Per-region (cycles_est, instructions): differences of consecutive marks."""
    cyc = marks.cycles_est.astype(np.int64)
    ins = marks.instructions.astype(np.int64)
    return Regions(model=marks.model, cycles_est=np.diff(cyc), instructions=np.diff(ins),
                   start_pc=marks.pc[:-1].copy(), end_pc=marks.pc[1:].copy())


def _qemu_opt(value: str) -> str:
    return value.replace(",", ",,")  # QEMU option syntax: a literal comma is doubled


def qemu_args(plugin_so: str | PathLike[str], out_path: str | PathLike[str], ws: int = 0,
              flash: tuple[int, int] | None = None, *, timer: int = DEFAULT_TIMER, icount: bool = True) -> list[str]:
    """The extra qemu-system-arm arguments that load the plugin.

    ``ws``: flash wait states charged per taken branch in ``flash`` = (base, size) (default: all
    code). ``timer``: the address whose 32-bit loads bound the regions. ``icount``: whether QEMU
    runs with ``-icount`` (the bench always does); without it the plugin watches every 32-bit
    load (slower), because only under -icount does every I/O load end its translation block.
    """
    if not 0 <= ws <= 200:
        raise CyclestError(f"ws={ws}: flash wait states must be 0..200")
    opts = [str(plugin_so), f"out={out_path}", f"ws={ws}"]
    if flash is not None:
        base, size = flash
        if size <= 0 or base < 0 or base + size > 1 << 32:
            raise CyclestError(f"flash=(0x{base:x}, 0x{size:x}) is not a range of the 32-bit address space")
        opts.append(f"flash=0x{base:08x}:0x{size:x}")
    if timer != DEFAULT_TIMER:
        opts.append(f"timer=0x{timer:08x}")
    if not icount:
        opts.append("loads=all")
    return ["-plugin", ",".join(_qemu_opt(o) for o in opts)]
