"""bench.cyclest without QEMU: the marks file, per-region deltas, QEMU arguments, the plugin
build (cache, errors) and the instruction decoder's cost classes (through ctypes).
The plugin under QEMU: tests/qemu/test_cycles_plugin.py."""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.cyclest import CyclestError, build, parse_marks, qemu_args, read_marks, regions
from bench.cyclest.regions import HEADER, MAGIC

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")


def _file(records: list[tuple[int, int, int]], *, ws: int = 0, flash: tuple[int, int] = (0, 0),
          params: int = 1 | 2 << 8 | 3 << 16 | 12 << 24, version: int = 1, magic: bytes = MAGIC) -> bytes:
    head = HEADER.pack(magic, version, ws, 0x40000004, flash[0], flash[1], params)
    return head + b"".join(struct.pack("<3Q", *r) for r in records)


def test_marks_round_trip(tmp_path):
    p = tmp_path / "m.bin"
    p.write_bytes(_file([(10, 7, 0x100), (112, 108, 0x200), (150, 130, 0x100)], ws=5, flash=(0x08000000, 0x100000)))
    m = read_marks(p)
    assert len(m) == 3
    assert m.cycles_est.tolist() == [10, 112, 150]
    assert m.instructions.tolist() == [7, 108, 130]
    assert m.pc.tolist() == [0x100, 0x200, 0x100]
    assert (m.model.ws, m.model.flash_base, m.model.flash_size) == (5, 0x08000000, 0x100000)
    assert (m.model.p_imm, m.model.p_reg, m.model.p_load, m.model.div) == (1, 2, 3, 12)
    assert "cycles_est" in m.model.describe() and "ws=5" in m.model.describe()


def test_regions_are_deltas_of_consecutive_marks():
    r = regions(parse_marks(_file([(10, 7, 0x100), (112, 108, 0x200), (150, 130, 0x100)])))
    assert len(r) == 2
    assert r.cycles_est.dtype == np.int64
    assert r.cycles_est.tolist() == [102, 38]
    assert r.instructions.tolist() == [101, 22]
    assert r.start_pc.tolist() == [0x100, 0x200]
    assert r.end_pc.tolist() == [0x200, 0x100]


def test_large_counters_survive():
    big = 1 << 62
    r = regions(parse_marks(_file([(big, big, 0), (big + 5, big + 3, 4)])))
    assert r.cycles_est.tolist() == [5] and r.instructions.tolist() == [3]


@pytest.mark.parametrize("records", [[], [(1, 1, 0)]])
def test_fewer_than_two_marks_give_no_regions(records):
    m = parse_marks(_file(records))
    assert len(m) == len(records)
    assert len(regions(m)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"CM4CY", "shorter than"),
        (_file([], magic=b"NOTCM4CY"), "not a cm4cycles output file"),
        (_file([], version=2), "format 2 is not supported"),
        (_file([(1, 2, 3)])[:-5], "truncated"),
    ],
)
def test_bad_files_are_reported(data, message):
    with pytest.raises(CyclestError, match=message):
        parse_marks(data)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(CyclestError, match="cannot read"):
        read_marks(tmp_path / "absent.bin")


def test_qemu_args():
    assert qemu_args("/c/p.so", "/r/m.bin") == ["-plugin", "/c/p.so,out=/r/m.bin,ws=0"]
    args = qemu_args(Path("/c/p.so"), Path("/r/m.bin"), ws=5, flash=(0x08000000, 0x100000))
    assert args == ["-plugin", "/c/p.so,out=/r/m.bin,ws=5,flash=0x08000000:0x100000"]
    args = qemu_args("p.so", "m.bin", timer=0x40001004, icount=False)
    assert args[1] == "p.so,out=m.bin,ws=0,timer=0x40001004,loads=all"


def test_qemu_args_escape_commas_and_check_ranges():
    assert qemu_args("/a,b/p.so", "/x,y.bin")[1] == "/a,,b/p.so,out=/x,,y.bin,ws=0"
    with pytest.raises(CyclestError, match="ws=-1"):
        qemu_args("p.so", "m.bin", ws=-1)
    with pytest.raises(CyclestError, match="not a range"):
        qemu_args("p.so", "m.bin", flash=(0xFFFF0000, 0x20000))


def test_source_digest_follows_the_sources(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(build.plugin_source_dir(), src)
    d0 = build.source_digest(src, "gcc 12")
    assert build.source_digest(src, "gcc 12") == d0
    assert build.source_digest(src, "gcc 13") != d0
    (src / "cm4_timing.c").write_text((src / "cm4_timing.c").read_text() + "\n/* changed */\n")
    assert build.source_digest(src, "gcc 12") != d0
    (src / "qemu_plugin_api.h").unlink()
    with pytest.raises(CyclestError, match="missing"):
        build.source_digest(src, "gcc 12")


def test_missing_compiler_is_reported(tmp_path):
    with pytest.raises(CyclestError, match="host C compiler 'no-such-cc-xyz' not found"):
        build.build_plugin(cc="no-such-cc-xyz", out_dir=tmp_path)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "c"))
    assert build.cache_dir() == tmp_path / "c" / "cyclest"
    monkeypatch.delenv("BENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert build.cache_dir() == tmp_path / "x" / "bench" / "cyclest"


def test_qemu_without_plugin_support_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "qemu-system-arm"
    fake.write_text("#!/bin/sh\necho 'usage: qemu-system-arm [options]'\necho '-icount [shift=N]'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}")
    with pytest.raises(CyclestError, match="without TCG plugin support"):
        build.check_qemu_plugin_support("qemu-system-arm")
    with pytest.raises(CyclestError, match="not found"):
        build.check_qemu_plugin_support("qemu-system-nothing")


@needs_gcc
def test_build_is_cached_and_rebuilt_on_change(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(build.plugin_source_dir(), src)
    out = tmp_path / "cache"
    so = build.build_plugin(src_dir=src, out_dir=out)
    assert so.is_file() and so.parent == out and so.name.startswith("cm4cycles-")
    mtime = so.stat().st_mtime_ns
    assert build.build_plugin(src_dir=src, out_dir=out) == so
    assert so.stat().st_mtime_ns == mtime
    (src / "cm4cycles.c").write_text((src / "cm4cycles.c").read_text() + "\n")
    so2 = build.build_plugin(src_dir=src, out_dir=out)
    assert so2 != so and so2.is_file()
    syms = subprocess.run(["nm", "-D", "--defined-only", str(so2)], capture_output=True, text=True).stdout
    assert "qemu_plugin_install" in syms and "qemu_plugin_version" in syms


@needs_gcc
def test_build_error_carries_the_compiler_message(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(build.plugin_source_dir(), src)
    (src / "cm4_timing.c").write_text("this is not C;\n")
    with pytest.raises(CyclestError, match="building the cycle-estimate plugin failed"):
        build.build_plugin(src_dir=src, out_dir=tmp_path / "cache")


@needs_gcc
def test_plugin_sources_are_warning_free(tmp_path):
    src = build.plugin_source_dir()
    r = subprocess.run(["gcc", *build.CFLAGS, "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
                        "-Wstrict-prototypes", "-o", str(tmp_path / "p.so"), *(str(src / s) for s in build.SOURCES)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


# --- the decoder's cost classes, through ctypes -------------------------------------------------


class _Insn(ctypes.Structure):  # cm4_insn in firmware/qemu_plugin/cm4_timing.h
    _fields_ = [("cycles", ctypes.c_uint8), ("refill", ctypes.c_uint8), ("it_len", ctypes.c_uint8),
                ("rt", ctypes.c_int8), ("flags", ctypes.c_uint16), ("addr_regs", ctypes.c_uint16),
                ("dst_regs", ctypes.c_uint16)]


F_MEM, F_LS1, F_LOAD, F_WORDLD, F_BRANCH, F_COND, F_IT, F_DIV = (1 << i for i in range(8))
NONE, IMM, REG, LOAD = range(4)


@pytest.fixture(scope="module")
def timing(tmp_path_factory) -> ctypes.CDLL:
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not installed")
    lib = tmp_path_factory.mktemp("dec") / "cm4_timing.so"
    src = build.plugin_source_dir() / "cm4_timing.c"
    subprocess.run(["gcc", "-std=c99", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    dll = ctypes.CDLL(str(lib))
    dll.cm4_pair_adjust.restype = ctypes.c_int
    return dll


@pytest.fixture(scope="module")
def decode(timing):
    def run(*halfwords: int) -> _Insn:
        raw = b"".join(struct.pack("<H", h) for h in halfwords)
        out = _Insn()
        timing.cm4_decode(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw)), ctypes.byref(out))
        return out

    return run


# (encoding as halfwords, cycles, refill, flags that must be set, flags that must be clear)
DECODE_CASES = {
    "adds r1, r1, r2": ((0x1889,), 1, NONE, 0, F_MEM | F_BRANCH),
    "ldr r0, [pc, #8]": ((0x4802,), 2, NONE, F_MEM | F_LS1 | F_LOAD | F_WORDLD, F_BRANCH),
    "ldrb r0, [r1, r2]": ((0x5C88,), 2, NONE, F_MEM | F_LS1 | F_LOAD, F_WORDLD),
    "str r0, [r1, #4]": ((0x6048,), 2, NONE, F_MEM | F_LS1, F_LOAD),
    "ldr.w r10, [r12]": ((0xF8DC, 0xA000), 2, NONE, F_WORDLD | F_LS1, F_BRANCH),
    "ldr.w pc, [sp], #4": ((0xF85D, 0xFB04), 2, LOAD, F_MEM | F_BRANCH, F_LS1),
    "pld [r0]": ((0xF890, 0xF000), 1, NONE, 0, F_MEM),
    "push {r4-r7, lr}": ((0xB5F0,), 6, NONE, F_MEM, F_BRANCH),
    "pop {r4, pc}": ((0xBD10,), 3, LOAD, F_MEM | F_BRANCH, F_COND),
    "ldmia.w sp!, {r4-r11, pc}": ((0xE8BD, 0x8FF0), 10, LOAD, F_BRANCH, 0),
    "ldm r3, {r4-r7}": ((0xE893, 0x00F0), 5, NONE, F_MEM, F_LS1),
    "ldrd r4, r5, [r3]": ((0xE9D3, 0x4500), 3, NONE, F_MEM, F_LS1),
    "ldrex r0, [r1]": ((0xE851, 0x0F00), 2, NONE, F_LS1 | F_LOAD | F_WORDLD, 0),
    "tbb [r0, r1]": ((0xE8D0, 0xF001), 2, LOAD, F_MEM | F_BRANCH, F_LS1),
    "bx lr": ((0x4770,), 1, REG, F_BRANCH, F_COND),
    "mov pc, r0": ((0x4687,), 1, REG, F_BRANCH, 0),
    "cmp r8, r9": ((0x45C8,), 1, NONE, 0, F_BRANCH),
    "b.n": ((0xE7FE,), 1, IMM, F_BRANCH, F_COND),
    "bne.n": ((0xD1FE,), 1, IMM, F_BRANCH | F_COND, 0),
    "cbz r0": ((0xB100,), 1, IMM, F_BRANCH | F_COND, 0),
    "beq.w": ((0xF000, 0x8000), 1, IMM, F_BRANCH | F_COND, 0),
    "b.w": ((0xF000, 0xB800), 1, IMM, F_BRANCH, F_COND),
    "bl": ((0xF000, 0xF800), 1, IMM, F_BRANCH, F_COND),
    "isb": ((0xF3BF, 0x8F6F), 1, REG, 0, F_BRANCH),
    "dsb": ((0xF3BF, 0x8F4F), 1, NONE, 0, F_BRANCH),
    "it eq": ((0xBF08,), 1, NONE, F_IT, 0),
    "nop": ((0xBF00,), 1, NONE, 0, F_IT),
    "smlad r5, r1, r2, r5": ((0xFB21, 0x5502), 1, NONE, 0, F_DIV),
    "umlal r6, r7, r1, r2": ((0xFBE1, 0x6702), 1, NONE, 0, F_DIV),
    "sdiv r4, r1, r2": ((0xFB91, 0xF4F2), 1, NONE, F_DIV, 0),
    "udiv r5, r1, r2": ((0xFBB1, 0xF5F2), 1, NONE, F_DIV, 0),
    "vadd.f32 s0, s1, s2": ((0xEE30, 0x0A81), 1, NONE, 0, F_MEM),
    "vmla.f32 s0, s1, s2": ((0xEE00, 0x0A81), 3, NONE, 0, 0),
    "vfma.f32 s6, s7, s8": ((0xEEA3, 0x3A84), 3, NONE, 0, 0),
    "vdiv.f32 s0, s1, s2": ((0xEE80, 0x0A81), 14, NONE, 0, 0),
    "vsqrt.f32 s3, s4": ((0xEEF1, 0x1AC2), 14, NONE, 0, 0),
    "vcvt.s32.f32 s13, s14": ((0xEEFD, 0x6AC7), 1, NONE, 0, 0),
    "vmov r4, s0": ((0xEE10, 0x4A10), 1, NONE, 0, F_MEM),
    "vmov r0, r1, d0": ((0xEC51, 0x0B10), 2, NONE, 0, F_MEM),
    "vldr s0, [r3]": ((0xED93, 0x0A00), 2, NONE, F_MEM, F_LS1),
    "vldr d0, [r3]": ((0xED93, 0x0B00), 3, NONE, F_MEM, F_LS1),
    "vldmia r3, {s0-s7}": ((0xEC93, 0x0A08), 9, NONE, F_MEM, 0),
    "vpush {s0-s3}": ((0xED2D, 0x0A04), 5, NONE, F_MEM, 0),
}


@pytest.mark.parametrize("name", list(DECODE_CASES))
def test_decoder_cost_classes(decode, name):
    halfwords, cycles, refill, must, must_not = DECODE_CASES[name]
    d = decode(*halfwords)
    assert (d.cycles, d.refill) == (cycles, refill), name
    assert d.flags & must == must, f"{name}: flags {d.flags:#x}"
    assert d.flags & must_not == 0, f"{name}: flags {d.flags:#x}"


def test_decoder_it_lengths(decode):
    assert [decode(hw).it_len for hw in (0xBF08, 0xBF04, 0xBF02, 0xBF01)] == [1, 2, 3, 4]


def test_decoder_registers(decode):
    assert decode(0x1D9E).dst_regs == 1 << 6  # adds r6, r3, #6
    assert decode(0x2B00).dst_regs == 0  # cmp r3, #0
    assert decode(0xB082).dst_regs == 1 << 13  # sub sp, #8
    assert decode(0xF240, 0x0C04).dst_regs == 1 << 12  # movw r12, #4
    assert decode(0xFBA1, 0x6702).dst_regs == (1 << 6) | (1 << 7)  # umull r6, r7, r1, r2
    assert decode(0xEE10, 0x4A10).dst_regs == 1 << 4  # vmov r4, s0
    assert decode(0x5C88).addr_regs == (1 << 1) | (1 << 2)  # ldrb r0, [r1, r2]
    assert decode(0xE893, 0x00F0).addr_regs == 1 << 3  # ldm r3, {r4-r7}
    assert decode(0xB5F0).addr_regs == 1 << 13  # push
    assert decode(0xED93, 0x0A00).addr_regs == 1 << 3  # vldr s0, [r3]
    assert decode(0x681C).rt == 4  # ldr r4, [r3]


# (previous, next, change to next's cost)
PAIRS = {
    "ldr r4,[r3]; ldr r5,[r3,#4]": ((0x681C,), (0x685D,), -1),
    "ldr r4,[r3]; str r4,[r3,#8]": ((0x681C,), (0x609C,), -1),
    "ldr r4,[r4]; ldr r4,[r4]": ((0x6824,), (0x6824,), 0),
    "str r4,[r3]; ldr r5,[r3,#4]": ((0x601C,), (0x685D,), 0),
    "ldr r4,[r3]; ldm r3,{r4-r7}": ((0x681C,), (0xE893, 0x00F0), 0),
    "adds r6,r3,#4; ldr r4,[r6]": ((0x1D1E,), (0x6834,), 1),
    "adds r6,r3,#4; ldr r4,[r3]": ((0x1D1E,), (0x681C,), 0),
    "sub sp,#8; push {r4-r7,lr}": ((0xB082,), (0xB5F0,), 1),
    "cmp r1,r2; it eq": ((0x4291,), (0xBF08,), -1),
    "cmp.w r1,r2; it eq": ((0xEBB1, 0x0F02), (0xBF08,), 0),
    "b.n; ldr r5,[r3,#4]": ((0xE7FE,), (0x685D,), 0),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_pair_adjust(timing, decode, name):
    prev, nxt, expected = PAIRS[name]
    p, n = decode(*prev), decode(*nxt)
    assert timing.cm4_pair_adjust(ctypes.byref(p), ctypes.c_size_t(2 * len(prev)), ctypes.byref(n)) == expected
