"""The error catalogue (#16, docs/errors.md), images: every refusal of an ELF, of the image manifest
and of an image build that a user can meet (a damaged or foreign ELF, a missing manifest, a bad
manifest field, a missing cross compiler, a source that does not compile), provoked through the public
path (check_cortex_m_elf, load_manifest, build_all), each checked for what went wrong and what to do."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from bench.errors import ImageError
from bench.images import find_image, load_manifest
from bench.targets.elfcheck import check_cortex_m_elf

REBUILD = r"rebuild it \(`bench images build`\) or pass the \.elf the firmware build produced"


def _elf(tmp_path: Path) -> Path:
    p = tmp_path / "p.elf"
    shutil.copy(find_image("passthrough-an386").path, p)
    return p


def _patch(p: Path, offset: int, fmt: str, value: int) -> None:
    raw = bytearray(p.read_bytes())
    struct.pack_into(fmt, raw, offset, value)
    p.write_bytes(bytes(raw))


# ELF32 header offsets: e_phoff 28, e_shoff 32, e_phnum 44, e_shstrndx 50

def test_missing_image(tmp_path):
    with pytest.raises(ImageError, match=r"image gone does not exist \(.*nope\.elf\); build it with `bench images "
                                         r"build` or fix the path"):
        check_cortex_m_elf(tmp_path / "nope.elf", what="gone")


@pytest.mark.parametrize("ei_class,ei_data,match", [
    (2, 1, r"is a 64-bit little-endian ARM ELF, not a 32-bit little-endian image for a Cortex-M core; build it "
           r"for the board's core \(arm-none-eabi-gcc -mcpu=\.\.\. -mthumb\)"),
    (1, 2, r"is a 32-bit big-endian ARM ELF, not a 32-bit little-endian image"),
])
def test_wrong_word_size_or_byte_order(tmp_path, ei_class, ei_data, match):
    p = _elf(tmp_path)
    raw = bytearray(p.read_bytes())
    raw[4], raw[5] = ei_class, ei_data
    struct.pack_into(">H" if ei_data == 2 else "<H", raw, 18, 40)  # still EM_ARM in its byte order
    p.write_bytes(bytes(raw))
    with pytest.raises(ImageError, match=match):
        check_cortex_m_elf(p, "cortex-m4f")


def test_program_headers_past_the_end(tmp_path):
    p = _elf(tmp_path)
    _patch(p, 28, "<I", p.stat().st_size - 8)
    with pytest.raises(ImageError, match=r"is truncated \(its program headers end at byte \d+, the file has \d+\); "
                       + REBUILD):
        check_cortex_m_elf(p, "cortex-m4f")


def test_segment_past_the_end(tmp_path):
    """Cut inside the first loadable segment, with no section headers (so only the segment shows it)."""
    from elftools.elf.elffile import ELFFile

    p = _elf(tmp_path)
    with open(p, "rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 64)
        cut = seg["p_offset"] + seg["p_filesz"] // 2
    _patch(p, 32, "<I", 0)  # e_shoff
    p.write_bytes(p.read_bytes()[:cut])
    with pytest.raises(ImageError, match=r"is truncated \(the segment at 0x[0-9a-f]{8} needs bytes up to \d+, the file "
                                         r"has \d+\); " + REBUILD):
        check_cortex_m_elf(p, "cortex-m4f")


def test_damaged_section_table(tmp_path):
    p = _elf(tmp_path)
    _patch(p, 50, "<H", 999)  # e_shstrndx: a section-name table that does not exist
    with pytest.raises(ImageError, match=r"is not a readable ELF file \(.*\); " + REBUILD):
        check_cortex_m_elf(p, "cortex-m4f")


def test_no_loadable_data(tmp_path):
    p = _elf(tmp_path)
    _patch(p, 44, "<H", 0)  # e_phnum: no program headers, nothing to load
    with pytest.raises(ImageError, match=r"has no loadable segment with data: nothing to run; " + REBUILD):
        check_cortex_m_elf(p, "cortex-m4f")


# ---- the manifest -----------------------------------------------------------------------------------

def test_no_manifest(tmp_path):
    with pytest.raises(ImageError, match=r"no image manifest at .*manifest\.json; build the images with `bench images "
                                         r"build`"):
        load_manifest(tmp_path)


def test_manifest_field_that_is_empty(tmp_path):
    from bench.paths import repo_root

    doc = json.loads((repo_root() / "firmware_images" / "manifest.json").read_text())
    doc["images"] = [dict(doc["images"][0], board="")]
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ImageError, match=r"images\[0\] \('passthrough-an386'\) field board must be a non-empty "
                                         r"string, got ''; rebuild the manifest with `bench images build`"):
        load_manifest(tmp_path)


# ---- building images ----------------------------------------------------------------------------

def test_build_without_the_cross_compiler(tmp_path, monkeypatch):
    from bench import imagebuild

    monkeypatch.setattr(imagebuild, "CC", "arm-none-eabi-gcc-not-installed")
    with pytest.raises(ImageError, match=r"arm-none-eabi-gcc-not-installed not found: apt-get install "
                                         r"gcc-arm-none-eabi libnewlib-arm-none-eabi"):
        imagebuild.build_all(out_dir=tmp_path / "out", only=["passthrough-an386"])


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_build_of_a_source_that_does_not_compile(tmp_path):
    from bench.imagebuild import build_all

    src = tmp_path / "broken.c"
    src.write_text("int bench_model_init(void) { return undeclared_name; }\n")
    spec = tmp_path / "images.toml"
    spec.write_text(f'[[image]]\nname = "broken-an386"\nboard = "mps2-an386"\nmodel_family = "passthrough"\n'
                    f'sources = ["{src}"]\n')
    with pytest.raises(ImageError) as e:
        build_all(out_dir=tmp_path / "out", spec_path=spec)
    msg = str(e.value)
    assert msg.startswith("building broken-an386 failed:\n") and "arm-none-eabi-gcc" in msg
    assert "undeclared_name" in msg  # the compiler's own words
