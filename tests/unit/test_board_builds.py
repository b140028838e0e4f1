"""The real-board ports (firmware/boards/stm32f4, firmware/boards/nrf52840) build without a
single warning, every image listed for them in firmware/images.toml links for its part, and
their flash / RAM use is reported (`pytest -s` prints the table). The an386 images are
covered by `bench images build --check` (tests/unit/test_images.py and CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from bench.paths import repo_root

ROOT = repo_root()
ARM_CC = "arm-none-eabi-gcc"
SPEC = tomllib.loads((ROOT / "firmware/images.toml").read_text())
PORT_BOARDS = sorted(b for b in SPEC["boards"] if b != "mps2-an386")
PORT_IMAGES = [i["name"] for i in SPEC["image"] if i["board"] in PORT_BOARDS]
# warnings beyond the images' own -Wall -Wextra -Werror that register-level code should pass
STRICT = ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes",
          "-Wdouble-promotion", "-Wcast-align", "-Wundef", "-Wpointer-arith", "-Wconversion"]

needs_arm = pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed")


def _memory(ldscript: Path) -> dict[str, int]:
    """LENGTH of each MEMORY region of a linker script, in bytes."""
    units = {"": 1, "K": 1024, "M": 1024 * 1024}
    out = {}
    for name, length, unit in re.findall(r"^\s*(\w+)\s*\([rwx]+\)\s*:.*LENGTH\s*=\s*(\d+)([KM]?)",
                                         ldscript.read_text(), re.M):
        out[name] = int(length) * units[unit]
    return out


def test_every_new_board_has_images():
    assert {"netduinoplus2", "stm32f4-discovery", "nucleo-f429zi", "nrf52840-dk"} <= set(PORT_BOARDS)
    for board in PORT_BOARDS:
        fams = {i["model_family"] for i in SPEC["image"] if i["board"] == board}
        assert {"passthrough", "dsp-baseline"} <= fams, board


# issue #12: every board carries the an386 model images that fit its part (all of them today;
# one that did not fit would be left out here and its figures given in docs/boards.md)
MODEL_IMAGES = ("nsnet2-small", "dyncp-small-r100", "dyncp-small-r25")


@pytest.mark.parametrize("board", PORT_BOARDS)
def test_every_board_has_the_model_images_of_an386(board):
    """Each board's model images are the an386 entries on the board's own table: same sources,
    model_dir and model_family."""
    by_name = {i["name"]: i for i in SPEC["image"]}
    for model in MODEL_IMAGES:
        mine, an = by_name.get(f"{model}-{board}"), by_name[f"{model}-an386"]
        assert mine is not None, f"{model}-{board} missing from firmware/images.toml"
        assert mine["board"] == board
        for k in ("sources", "model_dir", "model_family"):
            assert mine[k] == an[k], (mine["name"], k)


def test_model_images_are_in_the_manifest():
    """The board model images are committed like the QEMU images: listed in the manifest with
    the part's board, their files present and matching."""
    from bench.images import load_manifest, sha256_file

    entries = {e.name: e for e in load_manifest()}
    for board in PORT_BOARDS:
        for model in MODEL_IMAGES:
            e = entries[f"{model}-{board}"]
            assert e.board == board and e.path.is_file(), e.name
            assert sha256_file(e.path) == e.sha256, e.name


@needs_arm
@pytest.mark.parametrize("board", PORT_BOARDS)
def test_board_sources_compile_warning_free(tmp_path, board):
    """Each board's own sources with the image flags plus stricter warnings: no output at all."""
    b = SPEC["boards"][board]
    incs = [f"-I{ROOT / d}" for d in [*b["include"], "firmware/agent"]]
    for src in b["sources"]:
        r = subprocess.run([ARM_CC, *b["cflags"], "-O2", "-std=c99", *STRICT, *incs, "-c", str(ROOT / src),
                            "-o", str(tmp_path / (Path(src).stem + ".o"))],
                           capture_output=True, text=True, check=False)
        assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", f"{board}: {src}\n{r.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every image for the new boards, built once by the image builder into a temp folder."""
    from bench.imagebuild import build_all

    out = tmp_path_factory.mktemp("board_images")
    return {b.entry.name: b for b in build_all(out, only=PORT_IMAGES)}


@needs_arm
def test_images_build_and_fit_their_part(built, capsys):
    """Every image for the new boards builds with the image builder (-Wall -Wextra -Werror) and
    fits the flash and RAM of its part; the table of flash / RAM use is printed."""
    from bench.imagebuild import COMMON_CFLAGS

    assert {"-Wall", "-Wextra", "-Werror"} <= set(COMMON_CFLAGS)
    assert sorted(built) == sorted(PORT_IMAGES)
    built = [built[n] for n in PORT_IMAGES]
    rows = []
    for b in built:
        e = b.entry
        mem = _memory(ROOT / SPEC["boards"][e.board]["ldscript"])
        assert 0 < e.flash_bytes <= mem["FLASH"], e.name
        assert 0 < e.ram_bytes <= mem["RAM"], e.name  # .data + .bss + the 16 KiB stack
        rows.append(f"{e.name:34s} {e.flash_bytes:8d} / {mem['FLASH']:8d}  {e.ram_bytes:7d} / {mem['RAM']:7d}")
    with capsys.disabled():
        print("\nimage                               flash / part     RAM / part (bytes)")
        print("\n".join(rows))


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (ln.split() for ln in out.splitlines()) if len(parts) == 3}


def _word(elf: Path, addr: int) -> int:
    """The 32-bit word the image loads at addr."""
    import struct

    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_paddr"] <= addr < seg["p_paddr"] + seg["p_filesz"]:
                off = addr - seg["p_paddr"]
                return int(struct.unpack_from("<I", seg.data(), off)[0])
    raise AssertionError(f"0x{addr:08x} not loaded from {elf}")


@needs_arm
@pytest.mark.parametrize("board,irq,handler", [
    ("netduinoplus2", 37, "board_usart_irq"),        # USART1
    ("stm32f4-discovery", 38, "board_usart_irq"),    # USART2
    ("nucleo-f429zi", 39, "board_usart_irq"),        # USART3
    ("nrf52840-dk", 2, "board_uarte0_irq"),          # UARTE0_UART0
])
def test_vector_table_routes_the_link_interrupt(built, board, irq, handler):
    """The link's receive interrupt sits in its slot of the vector table (a miscounted table
    would silently route it to the fault report), SysTick has the heartbeat, and the table
    starts at the part's boot address."""
    name = next(i["name"] for i in SPEC["image"] if i["board"] == board and i["model_family"] == "passthrough")
    elf = built[name].entry.path
    sym = _symbols(elf)
    base = sym["vector_table"]
    assert base == (0x08000000 if board != "nrf52840-dk" else 0x00000000)
    assert _word(elf, base + 4 * (16 + irq)) == sym[handler] | 1
    assert _word(elf, base + 4 * 15) == sym["board_systick_handler"] | 1
    assert _word(elf, base + 4 * 3) == sym["board_fault_entry"] | 1  # HardFault
    assert _word(elf, base + 4) == sym["reset_handler"] | 1


@needs_arm
@pytest.mark.parametrize("board,target_type", [("nucleo-f429zi", "stm32f429xi"), ("nrf52840-dk", "nrf52840")])
def test_images_load_into_the_flash_pyocd_knows(built, board, target_type):
    """What pyOCD would program lies in its memory map's flash for the part (pyOCD skips
    anything else silently). stm32f4-discovery needs a device pack, not checked here."""
    pytest.importorskip("pyocd")
    from elftools.elf.elffile import ELFFile
    from pyocd.target.builtin import BUILTIN_TARGETS

    mm = BUILTIN_TARGETS[target_type].MEMORY_MAP
    for name in (i["name"] for i in SPEC["image"] if i["board"] == board):
        with open(built[name].entry.path, "rb") as f:
            segs = [(s["p_paddr"], s["p_filesz"]) for s in ELFFile(f).iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0]
        assert segs, name
        for addr, size in segs:
            for a in (addr, addr + size - 1):
                region = mm.get_region_for_address(a)
                assert region is not None and region.is_flash, f"{name}: 0x{a:08x} not in {target_type} flash"


@needs_arm
@pytest.mark.parametrize("region,length", [("FLASH", "512K"), ("RAM", "48K")])
def test_a_model_too_large_for_the_part_is_refused_with_the_figures(tmp_path, region, length):
    """nsnet2-small (~656 KiB flash, ~60 KiB RAM) on a smaller variant of the F405 linker script:
    the build fails, and the error carries ld's figure (region ... overflowed by N bytes)."""
    from bench.errors import ImageError
    from bench.imagebuild import build_all

    ld = (ROOT / SPEC["boards"]["netduinoplus2"]["ldscript"]).read_text()
    small, n = re.subn(rf"^(\s*{region}\s*\([rwx]+\)\s*:.*LENGTH\s*=\s*)\w+", rf"\g<1>{length}", ld, flags=re.M)
    assert n == 1
    (tmp_path / "small.ld").write_text(small)
    an = next(i for i in SPEC["image"] if i["name"] == "nsnet2-small-an386")
    img = {k: an[k] for k in ("sources", "model_dir", "model_family")}
    spec = tmp_path / "images.toml"
    board = dict(SPEC["boards"]["netduinoplus2"], ldscript=str(tmp_path / "small.ld"))
    spec.write_text(
        "[boards.small-part]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in board.items())
        + "\n[[image]]\nname = \"nsnet2-small-small-part\"\nboard = \"small-part\"\n"
        + "".join(f"{k} = {_toml(v)}\n" for k, v in img.items()))
    with pytest.raises(ImageError) as e:
        build_all(tmp_path / "out", only=["nsnet2-small-small-part"], spec_path=spec)
    assert re.search(rf"region `{region}' overflowed by \d+ bytes", str(e.value)), str(e.value)[-2000:]


def _toml(v) -> str:
    import json

    return json.dumps(v)  # strings and lists of strings: JSON is valid TOML here
