"""Validation at every boundary (#16): target TOMLs by type with the key named, the image manifest by
shape, and the ELF itself before anything is started (bench.targets.elfcheck)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bench.errors import ConfigError, ImageError
from bench.images import find_image, load_manifest, sha256_file, verify_image
from bench.targets import load_target
from bench.targets.elfcheck import check_cortex_m_elf

QEMU_TOML = """\
name = "t"
driver = "qemu"
board = "mps2-an386"
cpu = "cortex-m4f"
clock_hz = {clock}
[counter]
kind = "instructions"
timer_hz = 25_000_000
icount_shift = 7
[qemu]
{qemu}
"""


def _toml(tmp_path: Path, clock: str = "25_000_000", qemu: str = "", extra: str = "") -> str:
    p = tmp_path / "t.toml"
    p.write_text(QEMU_TOML.format(clock=clock, qemu=qemu) + extra)
    return str(p)


# ---- target TOMLs ------------------------------------------------------------------------------

@pytest.mark.parametrize("clock,qemu,match", [
    ('"25 MHz"', "", r"t\.toml: clock_hz must be an integer >= 1 \(Hz\), got '25 MHz'; write the number alone"),
    ("0", "", r"clock_hz must be an integer >= 1"),
    ("true", "", r"clock_hz must be an integer"),
    ("25_000_000", 'port = "auto"', r"\[qemu\]: port must be an integer 0..65535 .* got 'auto'"),
    ("25_000_000", 'sandbox = "docker"', r"\[qemu\]: sandbox must be one of bwrap, none"),
    ("25_000_000", 'sandbox_ro = ["relative/lib"]', r"\[qemu\]: sandbox_ro must be a list of absolute paths"),
    ("25_000_000", "prot = 5555", r"\[qemu\]: unknown key\(s\) \['prot'\]; known keys: binary, machine, port"),
])
def test_target_values_are_checked_by_type_with_the_key_named(tmp_path, clock, qemu, match):
    with pytest.raises(ConfigError, match=match):
        load_target(_toml(tmp_path, clock, qemu))


@pytest.mark.parametrize("extra,match", [
    ('[cpi]\nestimate = "1.3"\n', r"\[cpi\]: estimate must be a positive finite number, got '1.3'"),
    ("[cpi]\nestimate = nan\n", r"\[cpi\]: estimate must be a positive finite number, got nan"),
    ("[energy]\njoules = 1e-10\n", r"\[energy\]: unknown key\(s\) \['joules'\]; known keys: joules_per_cycle"),
    ('description = 3\n', None),  # a top-level key after a table belongs to that table: [qemu] here
])
def test_target_tables_are_checked(tmp_path, extra, match):
    if match is None:
        with pytest.raises(ConfigError, match=r"\[qemu\]: unknown key\(s\) \['description'\]"):
            load_target(_toml(tmp_path, extra=extra))
        return
    with pytest.raises(ConfigError, match=match):
        load_target(_toml(tmp_path, extra=extra))


def test_counter_errors_name_the_file(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text(QEMU_TOML.format(clock="25_000_000", qemu="").replace("timer_hz = 25_000_000\n", ""))
    with pytest.raises(ConfigError, match=r"t\.toml \[counter\]: .*needs timer_hz > 0"):
        load_target(str(p))
    p.write_text(QEMU_TOML.format(clock="25_000_000", qemu="").replace('timer_hz = 25_000_000', 'timer_hz = "fast"'))
    with pytest.raises(ConfigError, match=r"\[counter\]: timer_hz must be an integer >= 0"):
        load_target(str(p))


def test_target_toml_that_is_not_utf8_or_names_an_unknown_driver(tmp_path):
    p = tmp_path / "t.toml"
    p.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_target(str(p))
    with pytest.raises(ConfigError, match="no target driver named 'qemuu'"):
        load_target(_write_driver(tmp_path, "qemuu"))


def _write_driver(tmp_path: Path, driver: str) -> str:
    p = tmp_path / "d.toml"
    p.write_text(QEMU_TOML.format(clock="25_000_000", qemu="").replace('driver = "qemu"', f'driver = "{driver}"'))
    return str(p)


def test_shipped_targets_still_load():
    for name in ("qemu-mps2-an386", "qemu-mps2-an386-sh", "qemu-netduinoplus2", "nucleo-f429zi", "nrf52840-dk"):
        assert load_target(name).clock_hz > 0


# ---- the manifest ------------------------------------------------------------------------------

@pytest.fixture()
def manifest_dir(tmp_path):
    """A copy of the committed manifest and the passthrough image."""
    e = find_image("passthrough-an386")
    shutil.copy(e.path, tmp_path / e.file)
    doc = {"protocol_version": 1, "images": [e.to_json()]}
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    return tmp_path


def _write(d: Path, doc: object) -> None:
    (d / "manifest.json").write_text(json.dumps(doc))


def _entry(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text())["images"][0]


@pytest.mark.parametrize("mutate,match", [
    (lambda e: {"images": []}, r"manifest\.json lists no images \(\"images\": \[\]\)"),
    (lambda e: [e], r"manifest\.json must be a JSON object .* but it is a list"),
    (lambda e: {"images": {"a": e}}, r"manifest\.json has no list \"images\""),
    (lambda e: {"images": ["passthrough-an386"]}, r"images\[0\] must be an object"),
    (lambda e: {"images": [{k: v for k, v in e.items() if k != "sha256"}]},
     r"images\[0\] \('passthrough-an386'\) has missing field\(s\) \['sha256'\]"),
    (lambda e: {"images": [{**e, "sha": "x"}]},
     r"images\[0\] \('passthrough-an386'\) has unknown field\(s\) \['sha'\]"),
    (lambda e: {"images": [{**e, "protocol_version": "1"}]}, r"field protocol_version must be a non-negative integer"),
    (lambda e: {"images": [{**e, "sha256": "abc"}]}, r"field sha256 must be 64 lowercase hex digits"),
    (lambda e: {"images": [{**e, "file": "../../etc/passwd"}]}, r"field file must be a path inside the manifest"),
    (lambda e: {"images": [e, e]}, r"image name 'passthrough-an386' appears twice"),
    (lambda e: {"images": [{**e, "tflite": 3}]}, r"field tflite must be a string or null"),
])
def test_manifest_shape_is_checked_and_names_the_file(manifest_dir, mutate, match):
    _write(manifest_dir, mutate(_entry(manifest_dir)))
    with pytest.raises(ImageError, match=match) as err:
        load_manifest(manifest_dir)
    assert str(manifest_dir / "manifest.json") in str(err.value)


def test_manifest_that_is_not_json(manifest_dir):
    (manifest_dir / "manifest.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ImageError, match=r"manifest\.json is not valid JSON"):
        load_manifest(manifest_dir)


# ---- the ELF, before launch ---------------------------------------------------------------------

def _copy(tmp_path: Path, name: str = "p.elf") -> Path:
    p = tmp_path / name
    shutil.copy(find_image("passthrough-an386").path, p)
    return p


def _patch_u32(p: Path, offset: int, value: int) -> None:
    raw = bytearray(p.read_bytes())
    struct.pack_into("<I", raw, offset, value)
    p.write_bytes(bytes(raw))


def test_good_image_passes(tmp_path):
    s = check_cortex_m_elf(_copy(tmp_path), "cortex-m4f")
    assert s.entry & 1 and s.reset_vector is not None and s.reset_vector & 1
    assert s.cpu_arch == 13 and s.profile == "M"


def test_truncated_elf(tmp_path):
    p = _copy(tmp_path)
    p.write_bytes(p.read_bytes()[:3000])
    with pytest.raises(ImageError, match=r"is truncated"):
        check_cortex_m_elf(p, "cortex-m4f")


def test_not_arm(tmp_path):
    x86 = Path(sys.executable).resolve()
    with pytest.raises(ImageError, match=r"is an ELF for x86-64 \(e_machine 62\), not for ARM"):
        check_cortex_m_elf(x86, "cortex-m4f")


@pytest.mark.parametrize("data,match", [(b"", "is empty"), (b"MZ\x90\x00" + bytes(100), "is not an ELF file")])
def test_not_an_elf(tmp_path, data, match):
    p = tmp_path / "x.elf"
    p.write_bytes(data)
    with pytest.raises(ImageError, match=match):
        check_cortex_m_elf(p)


def test_entry_in_arm_state_or_outside_the_image(tmp_path):
    p = _copy(tmp_path)
    entry = struct.unpack_from("<I", p.read_bytes(), 24)[0]
    _patch_u32(p, 24, entry & ~1)
    with pytest.raises(ImageError, match=r"entry point 0x[0-9a-f]+ has bit 0 clear \(ARM state\)"):
        check_cortex_m_elf(p, "cortex-m4f")
    _patch_u32(p, 24, 0x30000001)
    with pytest.raises(ImageError, match=r"entry point 0x30000001 lies outside the image's executable load segments"):
        check_cortex_m_elf(p, "cortex-m4f")


def test_reset_vector_is_checked(tmp_path):
    from elftools.elf.elffile import ELFFile

    p = _copy(tmp_path)
    with open(p, "rb") as f:
        off = next(s["p_offset"] for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD" and s["p_flags"] & 1)
    reset = struct.unpack_from("<I", p.read_bytes(), off + 4)[0]
    _patch_u32(p, off + 4, reset & ~1)
    with pytest.raises(ImageError, match=r"reset vector 0x[0-9a-f]+ \(word 1 of the vector table at 0x00000000\) "
                                         r"has bit 0 clear"):
        check_cortex_m_elf(p, "cortex-m4f")


needs_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")


def _build(tmp_path: Path, flags: list[str]) -> Path:
    src = tmp_path / "f.c"
    src.write_text("int main(void) { return 0; }\nvoid _start(void) { main(); for (;;) {} }\n")
    out = tmp_path / "f.elf"
    subprocess.run(["arm-none-eabi-gcc", *flags, "-nostdlib", "-e", "_start", "-o", str(out), str(src)], check=True)
    return out


@needs_gcc
def test_wrong_cpu_elfs_are_refused(tmp_path):
    a7 = _build(tmp_path, ["-mcpu=cortex-a7", "-marm"])
    with pytest.raises(ImageError, match=r"built for an Arm A-profile core"):
        check_cortex_m_elf(a7, "cortex-m4f")
    m55 = _build(tmp_path, ["-mcpu=cortex-m55", "-mthumb"])
    with pytest.raises(ImageError, match=r"built for Armv8.1-M.mainline .* which a cortex-m4f cannot run"):
        check_cortex_m_elf(m55, "cortex-m4f")
    with pytest.raises(ImageError) as err:  # on its own core the architecture is fine; this bare ELF has no
        check_cortex_m_elf(m55, "cortex-m55")  # vector table, which the next check finds
    assert "reset vector" in str(err.value) and "cannot run" not in str(err.value)


def test_verify_image_refuses_a_truncated_image_even_with_a_matching_hash(manifest_dir):
    e = load_manifest(manifest_dir)[0]
    e.path.write_bytes(e.path.read_bytes()[:2000])
    doc = json.loads((manifest_dir / "manifest.json").read_text())
    doc["images"][0]["sha256"] = sha256_file(e.path)
    _write(manifest_dir, doc)
    with pytest.raises(ImageError, match=r"image 'passthrough-an386' .* is truncated"):
        verify_image(load_manifest(manifest_dir)[0], load_target("qemu-mps2-an386"))


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_driver_checks_the_elf_before_launch(tmp_path):
    from bench.targets.drivers.qemu import QemuDriver

    p = _copy(tmp_path)
    p.write_bytes(p.read_bytes()[:3000])
    d = QemuDriver(load_target("qemu-mps2-an386-sh"), tmp_path / "w")
    with pytest.raises(ImageError, match="is truncated"):
        d.start(p)
    assert d.proc is None and not (tmp_path / "w" / "qemu.stderr.log").exists()  # nothing was started
    with pytest.raises(ImageError, match="is an ELF for x86-64"):
        d.run_to_exit(Path(sys.executable).resolve(), timeout=5)


# ---- the images TOML (bench images build) ------------------------------------------------------

@pytest.mark.parametrize("text,match", [
    ("", r"no \[\[image\]\] entries"),
    ('[[image]]\nname = "x"\nboard = "mps2-an386"\nmodel_family = "none"\n', r"'x': missing key\(s\) \['sources'\]"),
    ('[[image]]\nname = "x"\nboard = "mps2-an386"\nmodel_family = "none"\nsources = "a.c"\n',
     r"'x': sources must be a list of strings"),
    ('[[image]]\nname = "x"\nboard = "pdp11"\nmodel_family = "none"\nsources = []\n',
     r"board 'pdp11' has no \[boards.pdp11\] table; known boards: .*mps2-an386"),
    ('[[image]]\nname = "x"\nboard = "mps2-an386"\nmodel_family = "none"\nsources = []\nap = "raw"\n',
     r"unknown key\(s\) \['ap'\]"),
    ('[[image]]\nname = "x"\nboard = "mps2-an386"\nmodel_family = "none"\nsources = []\napp = "exe"\n',
     r"app must be \"agent\" .* or \"raw\""),
    ("[[image]\n", r"not valid TOML"),
])
def test_images_toml_is_checked(tmp_path, text, match):
    from bench.imagebuild import load_spec

    p = tmp_path / "images.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        load_spec(p)
    assert str(p) in str(err.value)
